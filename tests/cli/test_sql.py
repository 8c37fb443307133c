"""weipian sql prints the one-scan SELECT a policy compiles to, without running it."""
from engine.cli.main import main

from conftest import help_output, write_policy_dir

POLICY = """\
policy: 2021
title: 测试政策
triggers:
  - id: T-T-farmland
    title: 耕地面积达到 100 亩
    cite: 三（五）
    level: 省级
    action: 实地核查
    when: 耕地面积 >= 100亩 and 批准时间 < 评估日期
"""


def test_sql_prints_select(tmp_path, capsys):
    d = write_policy_dir(tmp_path, 2021, {"policy.yaml": POLICY})
    assert main(["sql", str(d), "--as-of", "2024-06-30"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("-- 2021年政策：测试政策")
    assert "-- 序号 0: T-T-farmland" in out
    assert "SELECT _rid, \"图斑编号\" AS patch" in out
    assert "COALESCE(\"耕地面积\" >= CAST('100.0000' AS DECIMAL(18,4)), FALSE)" in out
    assert "DATE '2024-06-30'" in out
    assert "WHERE \"监测年度\" = 2021" in out


def test_bundled_policies_compile(capsys):
    assert main(["sql", "--as-of", "2024-06-30"]) == 0
    assert capsys.readouterr().out.count("SELECT _rid") >= 1


def test_help_has_example(capsys):
    assert "示例：" in help_output(capsys, "sql")
