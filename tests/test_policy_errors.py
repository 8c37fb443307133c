"""Mistakes in policy files are reported for people: code, Chinese message, file:line:col, a caret, a suggestion."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from rich.cells import cell_len

from engine import PolicyError, load_policies
from engine.cli.main import main

from conftest import dedent, write_csv, write_policy_dir

RULE = """
rules:
  - id: X-R-1
    title: 标题
    cite: 一
    severity: error
    when: {when}
"""
# line numbers inside RULE once dedented: 1 rules:, 2 - id, 3 title, 4 cite, 5 severity, 6 when
WHEN_LINE, WHEN_COL = 6, 11  # `    when: ` is 10 characters


def rule(when: str) -> str:
    return RULE.format(when=when)


def yaml(*parts: str) -> str:
    return "".join(dedent(p) for p in parts)


def errors_of(root: Path) -> list:
    with pytest.raises(PolicyError) as info:
        load_policies(root)
    return [d for d in info.value.diagnostics if d.severity == "error"]


def one_error(root: Path):
    errs = errors_of(root)
    assert len(errs) == 1, [d.render() for d in errs]
    return errs[0]


def rules_error(root: Path, text: str):
    """Write `text` as the 2021 policy's rules.yaml under root and load it: (that file, its one error)."""
    d = write_policy_dir(root, 2021, {"rules.yaml": text})
    return d / "rules.yaml", one_error(root)


def underlined(d) -> str:
    """The text that render() puts carets under (mapped back through terminal cell widths)."""
    lines = d.render().splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.startswith(f"{d.loc.line} | "))
    source = lines[i][len(f"{d.loc.line} | "):]
    carets = lines[i + 1][len(" " * len(str(d.loc.line)) + " | "):]
    first, last = carets.index("^"), carets.rindex("^") + 1
    out, pos = [], 0
    for ch in source:
        w = cell_len(ch)
        if pos >= first and pos + w <= last:
            out.append(ch)
        pos += w
    return "".join(out)


def assert_at(d, file: Path, line: int, col: int, text: str | None = None):
    assert Path(d.loc.file) == file, d.render()
    assert (d.loc.line, d.loc.col) == (line, col), d.render()
    rendered = d.render()
    assert f"{file}:{line}:{col}" in rendered
    if text is not None:
        assert underlined(d) == text, rendered


# ---------------------------------------------------------------- YAML and schema


def test_yaml_over_indented_key(policy_root):
    f, e = rules_error(policy_root, """
        rules:
          - id: X-R-1
            title: 标题
             cite: 一
        """)
    assert e.code == "E004" and "YAML 语法错误" in e.message
    # YAML reads `标题 cite` as one value and trips on the `: ` after it (line 4, column 10)
    assert_at(e, f, 4, 10, ":")
    assert "缩进" in e.help


def test_yaml_under_indented_key(policy_root):
    f, e = rules_error(policy_root, """
        rules:
          - id: X-R-1
            title: 标题
           cite: 一
        """)
    assert e.code == "E004" and "缩进不一致" in e.message
    assert_at(e, f, 4, 4, "c")


def test_yaml_colon_in_unquoted_value(policy_root):
    f, e = rules_error(policy_root, rule('判定结果 == "违法用地"') + "    message: 违法: {图斑编号}\n")
    assert e.code == "E004" and "此处不能出现「: 」" in e.message
    assert_at(e, f, 7, 16, ":")  # `    message: ` is 13 characters, 违法 is columns 14-15
    assert "引号" in e.help


def test_yaml_tab_indent(policy_root):
    f, e = rules_error(policy_root, "rules:\n  - id: X-R-1\n\ttitle: 标题\n")
    assert e.code == "E004" and "Tab" in e.message
    assert_at(e, f, 3, 1)


def test_yaml_duplicate_key(policy_root):
    f, e = rules_error(policy_root, rule('判定结果 == "违法用地"') + "    title: 又一个标题\n")
    assert e.code == "E002" and "键「title」重复出现" in e.message
    assert_at(e, f, 7, 5, "title")
    assert "第 3 行" in e.help


def test_unknown_top_level_key(policy_root):
    f, e = rules_error(policy_root, RULE.replace("rules:", "rule:").format(when="是否矿产图斑"))
    assert e.code == "E006" and "不认识的键「rule」" in e.message
    assert_at(e, f, 1, 1, "r")
    assert "rules" in e.help


def test_unknown_key_in_rule(policy_root):
    _, e = rules_error(policy_root, rule("是否矿产图斑") + "    serverity: error\n")
    assert e.code == "E006" and "serverity" in e.message
    assert "severity" in e.help


def test_missing_cite(policy_root):
    f, e = rules_error(policy_root, rule("是否矿产图斑").replace("    cite: 一\n", ""))
    assert e.code == "E024" and e.message == "规则「X-R-1」缺少「cite」"
    assert_at(e, f, 2, 9, "X-R-1")
    assert "cite:" in e.help


def test_bad_severity(policy_root):
    f, e = rules_error(policy_root, rule("是否矿产图斑").replace("severity: error", "severity: fatal"))
    assert e.code == "E006" and "「fatal」不在可选范围内" in e.message
    assert_at(e, f, 5, 15, "fatal")
    assert "error、warning、info" in e.help


def test_bad_rule_id(policy_root):
    f, e = rules_error(policy_root, rule("是否矿产图斑").replace("X-R-1", "X R 1"))
    assert e.code == "E006" and "格式不对" in e.message
    assert_at(e, f, 2, 9, "X R 1")


# ---------------------------------------------------------------- expressions


def test_dsl_syntax_error(policy_root):
    f, e = rules_error(policy_root, rule("耕地面积 => 1亩"))
    assert e.code == "E030" and "比较运算符写错了" in e.message
    # `耕地面积 =` is 6 characters into the expression: the error is at the `>`
    assert_at(e, f, WHEN_LINE, WHEN_COL + 6, ">")
    assert ">=" in e.help


def test_unknown_field_with_suggestion(policy_root):
    f, e = rules_error(policy_root, rule("耕地面识 >= 1亩"))
    assert e.code == "E040" and e.message == "未知名称「耕地面识」"
    assert_at(e, f, WHEN_LINE, WHEN_COL, "耕地面识")
    assert "耕地面积" in e.help


def test_keyword_glued_to_name(policy_root):
    # 非重点类 is one name; the help says to put a space after 非
    _, e = rules_error(policy_root, yaml("""
        definitions:
          重点类: {expr: '图斑类型 in ["新增非农建设类"]', cite: 三（一）}
        """, rule("非重点类")))
    assert e.code == "E040" and "非重点类" in e.message
    assert "非 重点类" in e.help


def test_enum_literal_typo(policy_root):
    f, e = rules_error(policy_root, rule('判定结果 == "违法用 地"'))
    assert e.code == "E041" and e.message == "「违法用 地」不是字段「判定结果」的取值"
    assert_at(e, f, WHEN_LINE, WHEN_COL + 8, '"违法用 地"')  # `判定结果 == ` is 8 characters
    assert "违法用地" in e.help and "可选：合法用地、违法用地、其他用地" in e.help


def test_enum_literal_typo_in_list(policy_root):
    f, e = rules_error(policy_root, rule('判定结果 in ["合法用地", "违法用第"]'))
    assert e.code == "E041" and "违法用第" in e.message
    assert_at(e, f, WHEN_LINE, WHEN_COL + 17, '"违法用第"')  # `判定结果 in ["合法用地", ` is 17 characters


def test_unit_mismatch(policy_root):
    f, e = rules_error(policy_root, rule("耕地面积 >= 100"))
    assert e.code == "E056" and e.message == "面积不能与数字比较"
    assert_at(e, f, WHEN_LINE, WHEN_COL, "耕地面积 >= 100")
    assert "100亩" in e.help


def test_date_compared_with_string(policy_root):
    f, e = rules_error(policy_root, rule('下发日期 < "2023-01-01"'))
    assert e.code == "E056" and e.message == "日期不能与文本比较"
    assert_at(e, f, WHEN_LINE, WHEN_COL, '下发日期 < "2023-01-01"')
    assert "不加引号" in e.help


def test_when_is_not_a_condition(policy_root):
    f, e = rules_error(policy_root, rule("耕地面积"))
    assert e.code == "E054" and "这里是面积" in e.message
    assert_at(e, f, WHEN_LINE, WHEN_COL, "耕地面积")


def test_unknown_name_in_message(policy_root):
    f, e = rules_error(policy_root, rule("是否矿产图斑") + '    message: "{图斑编号}: {耕地面识}"\n')
    assert e.code == "E040" and "耕地面识" in e.message
    # `    message: "` is 14 characters, then `{图斑编号}: {` is 9 more
    assert_at(e, f, 7, 24, "耕地面识")


def test_per_level_parameter_without_level(policy_root):
    f, e = rules_error(policy_root, yaml("""
        parameters:
          核查面积: {value: {省级: 100亩, 市级: 50亩}, cite: 三（五）}
        """, rule("耕地面积 >= 核查面积")))
    assert e.code == "E032" and "按级别取值" in e.message
    assert_at(e, f, 2 + WHEN_LINE, WHEN_COL + 8, "核查面积")  # `耕地面积 >= ` is 8 characters
    assert "核查面积[省级]" in e.help


def test_per_level_parameter_missing_level(policy_root):
    _, e = rules_error(policy_root, yaml("""
        parameters:
          核查面积: {value: {省级: 100亩, 市级: 50亩}, cite: 三（五）}
        """, rule("耕地面积 >= 核查面积[县级]")))
    assert e.code == "E033" and "没有「县级」的取值" in e.message
    assert "省级、市级" in e.help


def test_aggregate_in_row_rule(policy_root):
    f, e = rules_error(policy_root, rule("sum(耕地面积) > 100亩"))
    assert e.code == "E036" and "只能用在区域评估" in e.message
    assert_at(e, f, WHEN_LINE, WHEN_COL, "sum(耕地面积)")


def test_unknown_function(policy_root):
    _, e = rules_error(policy_root, rule("mnth(下发日期) == 3"))
    assert e.code == "E060" and "mnth" in e.message
    assert "month" in e.help


def test_definition_cycle(policy_root):
    f, e = rules_error(policy_root, yaml("""
        definitions:
          甲: 乙 and 耕地面积 > 0亩
          乙: not 甲
        """, rule("甲")))
    assert e.code == "E031" and "引用了自身" in e.message
    assert_at(e, f, 2, 6, "乙 and 耕地面积 > 0亩")


def test_bad_parameter_value(policy_root):
    f, e = rules_error(policy_root, yaml("""
        parameters:
          阈值: {value: 100 mu, cite: 一}
        """, rule("耕地面积 > 阈值")))
    assert e.code == "E020" and "阈值" in e.message
    assert_at(e, f, 2, 19, "mu")


# ---------------------------------------------------------------- ids, extends, override, drop


def test_duplicate_id_across_files(policy_root):
    d = write_policy_dir(policy_root, 2021, {"a.yaml": rule("是否矿产图斑"), "b.yaml": rule("是否军用土地")})
    e = one_error(policy_root)
    assert e.code == "E014" and "规则编号「X-R-1」重复" in e.message
    assert_at(e, d / "b.yaml", 2, 9, "X-R-1")
    assert f"{d / 'a.yaml'}:2" in e.help


def test_bad_extends_path(policy_root):
    d = write_policy_dir(policy_root, 2023, {"rules.yaml": rule("是否矿产图斑")}, header="extends: ../2020\n")
    e = one_error(policy_root)
    assert e.code == "E012" and "../2020" in e.message
    # policy.yaml: policy, title, source, extends -> line 4, value after `extends: `
    assert_at(e, d / "policy.yaml", 4, 10, "../2020")


def test_extends_cycle(policy_root):
    a = write_policy_dir(policy_root, 2021, {"rules.yaml": rule("是否矿产图斑")}, header="extends: ../2023\n")
    b = write_policy_dir(policy_root, 2023, {}, header="extends: ../2021\n")
    errs = errors_of(policy_root)
    assert {e.code for e in errs} == {"E011"}
    assert all("extends 形成循环" in e.message for e in errs)
    # each extends that closes the cycle is pointed at
    assert {(Path(e.loc.file), e.loc.line, e.loc.col) for e in errs} == {(a / "policy.yaml", 4, 10), (b / "policy.yaml", 4, 10)}
    for e in errs:
        assert underlined(e) in ("../2021", "../2023")


def test_override_of_missing_id(policy_root):
    write_policy_dir(policy_root, 2021, {"rules.yaml": rule("是否矿产图斑")})
    d = write_policy_dir(policy_root, 2023, {"rules.yaml": """
        rules:
          - id: X-R-2
            override: true
            severity: warning
        """}, header="extends: ../2021\n")
    e = one_error(policy_root)
    assert e.code == "E015" and "override 的规则「X-R-2」在继承的政策中不存在" in e.message
    assert_at(e, d / "rules.yaml", 2, 9, "X-R-2")
    assert "X-R-1" in e.help


def test_redefining_inherited_id_without_override(policy_root):
    write_policy_dir(policy_root, 2021, {"rules.yaml": rule("是否矿产图斑")})
    d = write_policy_dir(policy_root, 2023, {"rules.yaml": rule("是否军用土地")}, header="extends: ../2021\n")
    e = one_error(policy_root)
    assert e.code == "E016"
    assert_at(e, d / "rules.yaml", 2, 9, "X-R-1")
    assert "override: true" in e.help


def test_drop_of_missing_id(policy_root):
    write_policy_dir(policy_root, 2021, {"rules.yaml": rule("是否矿产图斑")})
    d = write_policy_dir(policy_root, 2023, {}, header="extends: ../2021\ndrop: [X-R-9]\n")
    e = one_error(policy_root)
    assert e.code == "E017" and "drop 的规则「X-R-9」在继承的政策中不存在" in e.message
    assert_at(e, d / "policy.yaml", 5, 8, "X-R-9")
    assert "X-R-1" in e.help


def test_header_key_outside_policy_yaml(policy_root):
    f, e = rules_error(policy_root, "extends: ../2020\n" + rule("是否矿产图斑"))
    assert e.code == "E008" and "只能写在 policy.yaml 中" in e.message
    assert_at(e, f, 1, 1, "extends")


# ---------------------------------------------------------------- several mistakes at once


SEVERAL = """
rules:
  - id: X-R-1
    title: 一
    cite: 一
    severity: error
    when: 耕地面识 >= 1亩
  - id: X-R-2
    title: 二
    cite: 二
    severity: error
    when: 判定结果 == "违法用 地"
  - id: X-R-3
    title: 三
    cite: 三
    severity: error
    when: 耕地面积 >= 100
  - id: X-R-4
    title: 四
    severity: error
    when: 是否矿产图斑
  - id: X-R-5
    title: 五
    cite: 五
    severity: error
    when: 耕地面积 => 1亩
"""


def test_all_mistakes_reported_at_once(policy_root):
    d = write_policy_dir(policy_root, 2021, {"rules.yaml": SEVERAL})
    errs = errors_of(policy_root)
    got = [(e.code, e.loc.line) for e in errs]
    assert sorted(got) == sorted([("E040", 6), ("E041", 11), ("E056", 16), ("E024", 17), ("E030", 25)])
    assert all(Path(e.loc.file) == d / "rules.yaml" for e in errs)


def test_mistakes_in_several_files_reported_at_once(policy_root):
    write_policy_dir(policy_root, 2021, {
        "a.yaml": rule("是否矿产图斑").replace("severity: error", "severity: fatal"),
        "b.yaml": "rules:\n  - id: X-R-2\n     title: 标题: 二\n",
    })
    assert sorted(e.code for e in errors_of(policy_root)) == ["E004", "E006"]


def test_cli_bad_policy_exits_2_without_traceback(policy_root, tmp_path):
    write_policy_dir(policy_root, 2021, {"rules.yaml": SEVERAL})
    data = write_csv(tmp_path / "d.csv", ["图斑编号", "监测年度", "行政区代码"], [["A", 2021, "140923"]])
    proc = subprocess.run([sys.executable, "-m", "engine.cli.main", "check", str(data), "--policies", str(policy_root),
                           "--as-of", "2024-06-30"], capture_output=True, text=True, encoding="utf-8")
    assert proc.returncode == 2
    assert proc.stdout == ""
    err = proc.stderr
    assert "Traceback" not in err
    for code in ("E040", "E041", "E056", "E024", "E030"):
        assert f"错误[{code}]" in err
    assert "未知名称「耕地面识」" in err and "是否要写「耕地面积」" in err
    assert "rules.yaml:6:11" in err
    assert "政策文件有 5 处错误，未执行检查。" in err


def test_cli_main_renders_carets(policy_root, tmp_path, capsys):
    write_policy_dir(policy_root, 2021, {"rules.yaml": rule("耕地面识 >= 1亩")})
    data = write_csv(tmp_path / "d.csv", ["图斑编号", "监测年度", "行政区代码"], [["A", 2021, "140923"]])
    assert main(["check", str(data), "--policies", str(policy_root), "--as-of", "2024-06-30"]) == 2
    err = capsys.readouterr().err
    assert "6 |     when: 耕地面识 >= 1亩" in err
    # 4 spaces + `when: ` = 10 characters = 10 cells before the name; 耕地面识 is 4 wide characters = 8 cells
    assert "  |           ^^^^^^^^\n" in err
