"""weipian lint: every problem of every file in one run, located, with a summary and exit codes."""
import json
import re

from conftest import help_output, run_command, write_policy_dir

HEADER = "policy: 2021\ntitle: 测试政策\n"
# a parameter no rule uses (W002), then a rules list for the test to complete
UNUSED_PARAMETER = HEADER + "parameters:\n  没用的参数: 5亩\nrules:\n"


def run(capsys, *argv):
    return run_command(capsys, "lint", *argv)


FIVE_MISTAKES = HEADER + """\
rules:
  - id: R-typo
    title: 字段拼错
    cite: 一
    severity: error
    when: 耕地面识 > 1亩
  - id: R-unit
    title: 面积缺单位
    cite: 二
    severity: error
    when: 耕地面积 >= 100
  - id: R-nocite
    title: 没有出处
    severity: error
    when: 耕地面积 > 1亩
  - id: R-syntax
    title: 语法错误
    cite: 三
    severity: error
    when: 耕地面积 >= (1亩
  - id: R-enum
    title: 取值拼错
    cite: 四
    severity: error
    when: 判定结果 == "违法用帝"
"""


def test_five_mistakes_five_located_messages(tmp_path, capsys):
    d = write_policy_dir(tmp_path, "p", {"policy.yaml": FIVE_MISTAKES})
    code, out = run(capsys, d)
    assert code == 1
    f = str(d / "policy.yaml")
    located = re.findall(r"错误\[(E\d+)\]: .*\n  --> (.+):(\d+):(\d+)", out)
    assert [(c, int(line)) for c, file, line, col in located] == [
        ("E040", 8), ("E056", 13), ("E024", 14), ("E030", 22), ("E041", 27)]
    assert all(file == f for _, file, _, _ in located)
    assert "是否要写「耕地面积」？" in out  # suggestion for the typo
    assert "是否要写「违法用地」？" in out
    assert "面积要带单位" in out
    # a caret under the unknown name: 4 Chinese characters = 8 columns
    assert "8 |     when: 耕地面识 > 1亩\n  |           ^^^^^^^^\n" in out
    assert "5 处错误" in out


def test_warnings_pass_unless_strict(tmp_path, capsys):
    d = write_policy_dir(tmp_path, "p", {"policy.yaml": UNUSED_PARAMETER + """\
  - id: R-never
    title: 永不成立
    cite: 一
    severity: warning
    when: 耕地面积 < 0亩
"""})
    code, out = run(capsys, d)
    assert code == 0
    assert "警告[W001]" in out and "警告[W002]" in out and "0 处错误，2 处警告" in out
    code, _ = run(capsys, d, "--strict")
    assert code == 1


def test_unused_reported_together_with_errors(tmp_path, capsys):
    d = write_policy_dir(tmp_path, "p", {"policy.yaml": UNUSED_PARAMETER + """\
  - id: R-typo
    title: 字段拼错
    cite: 一
    severity: error
    when: 耕地面识 > 1亩
"""})
    code, out = run(capsys, d)
    assert code == 1 and "E040" in out and "W002" in out and "「没用的参数」" in out


def test_yaml_and_schema_problems_in_two_files_at_once(tmp_path, capsys):
    d = write_policy_dir(tmp_path, "p", {"policy.yaml": HEADER,
                                         "a.yaml": "rules:\n  - id: R-a\n    when: [unclosed\n",
                                         "b.yaml": "rules:\n  - id: R-b\n    severty: error\n"})
    code, out = run(capsys, d)
    assert code == 1
    assert re.search(r"--> .*a\.yaml:\d+:\d+", out)
    assert re.search(r"错误\[E006\]: .*「severty」\n  --> .*b\.yaml:2:5", out)
    assert "是否要写「severity」？" in out


def test_duplicate_ids(tmp_path, capsys):
    rule = "  - id: R-dup\n    title: 重复\n    cite: 一\n    severity: error\n    when: 耕地面积 > 1亩\n"
    d = write_policy_dir(tmp_path, "p", {"policy.yaml": HEADER + "rules:\n" + rule, "more.yaml": "rules:\n" + rule})
    code, out = run(capsys, d)
    assert code == 1 and "E014" in out and "规则编号「R-dup」重复" in out and "more.yaml:2:9" in out


def test_extends_cycle(tmp_path, capsys):
    write_policy_dir(tmp_path, "a", {"policy.yaml": "policy: 2021\nextends: ../b\n"})
    write_policy_dir(tmp_path, "b", {"policy.yaml": "policy: 2022\nextends: ../a\n"})
    code, out = run(capsys, tmp_path / "a")
    assert code == 1 and "E011" in out and "extends 形成循环" in out


def test_override_and_drop_of_missing_ids(tmp_path, capsys):
    write_policy_dir(tmp_path, "base", {"policy.yaml": HEADER + "rules:\n  - id: R-base\n    title: 基础\n    cite: 一\n"
                                                         "    severity: error\n    when: 耕地面积 > 1亩\n"})
    write_policy_dir(tmp_path, "child", {"policy.yaml": "policy: 2023\nextends: ../base\ndrop: [R-bsae]\n"
                                                          "rules:\n  - id: R-bass\n    override: true\n    cite: 二\n"})
    code, out = run(capsys, tmp_path / "child")
    assert code == 1
    assert "E015" in out and "override 的规则「R-bass」在继承的政策中不存在" in out
    assert "E017" in out and "drop 的规则「R-bsae」在继承的政策中不存在" in out and "R-base" in out


def test_json_format(tmp_path, capsys):
    d = write_policy_dir(tmp_path, "p", {"policy.yaml": FIVE_MISTAKES})
    code, out = run(capsys, d, "--format", "json")
    doc = json.loads(out)
    assert code == 1 and doc["ok"] is False and doc["errors"] == 5
    first = doc["diagnostics"][0]
    assert first["code"] == "E040" and first["line"] == 8 and first["col"] == 11 and first["file"].endswith("policy.yaml")


def test_missing_dir(tmp_path, capsys):
    code, out = run(capsys, tmp_path / "nope")
    assert code == 1 and "政策目录不存在" in out


def test_bundled_policies_have_no_errors(capsys):
    code, out = run(capsys)
    assert code == 0, out


def test_help_has_example(capsys):
    assert "示例：" in help_output(capsys, "lint")
