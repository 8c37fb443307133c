"""Mistakes in policy files are reported for people: all at once, and through the CLI without a traceback.

Each single diagnostic code has its fixture file in tests/policy/diagnostics/ (test_diagnostics.py)."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from engine import PolicyError, load_policies
from engine.cli.main import main

from conftest import underlined, write_csv, write_policy_dir

RULE = """
rules:
  - id: X-R-1
    title: 标题
    cite: 一
    severity: error
    when: {when}
"""


def rule(when: str) -> str:
    return RULE.format(when=when)


def errors_of(root: Path) -> list:
    with pytest.raises(PolicyError) as info:
        load_policies(root)
    return [d for d in info.value.diagnostics if d.severity == "error"]


# ---------------------------------------------------------------- extends


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
