"""`weipian new-year`: a new policy year extending an existing one, with the dated parameters listed for review;
`weipian generate --year` for such a year."""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from conftest import run_cli, run_command, write_csv
from engine.paths import policies_dir

# The parameters of the bundled policies whose value is a date (read from policies/2021/policy.yaml by hand): both
# are dates in law marked `fixed: true`, so they are not listed; the 2023 deadlines are definitions computed from
# 监测年度 and follow the year, so they are not listed either.
FIXED = ["土地管理法实施日期", "深度贫困新建项目起始日"]


@pytest.fixture
def policies(tmp_path, monkeypatch) -> Path:
    """A copy of the bundled 2021 and 2023 policies, as ./policies of the working directory."""
    root = tmp_path / "policies"
    for year in ("2021", "2023"):
        shutil.copytree(policies_dir() / year, root / year)
    monkeypatch.chdir(tmp_path)
    return root


def test_new_year_scaffold_extends_lists_dates_and_passes_lint_and_its_test(policies, capsys):
    code, out = run_command(capsys, "new-year", "2024", "--from", "2023")
    assert code == 0, out
    d = policies / "2024"
    assert sorted(p.relative_to(d).as_posix() for p in d.rglob("*.yaml")) == ["policy.yaml", "rules.yaml", "tests/example_test.yaml"]
    head = (d / "policy.yaml").read_text(encoding="utf-8")
    assert "policy: 2024\n" in head and "extends: ../2023\n" in head
    assert "请复核继承的日期与年份（0 项，法定固定日期除外）" in out and "截止日期" not in out
    assert "#   （无）\n" in head
    for name in FIXED:
        assert name not in out and name not in head  # neither on screen nor as a comment in policy.yaml
    assert "没有发现问题" in out  # lint ran on the new year: no W003 either
    code, out = run_command(capsys, "test", str(d))
    assert code == 0 and "PASS: 1/1" in out, out


def test_new_year_refuses_existing_year_or_missing_base_and_writes_nothing(policies, capsys):
    before = sorted(policies.rglob("*"))
    code, out = run_command(capsys, "new-year", "2023", "--from", "2021")
    assert code == 2 and "已有 2023 年政策" in out
    code, out = run_command(capsys, "new-year", "2024", "--from", "2022")
    assert code == 2 and "没有 2022 年政策" in out and "现有：2021、2023" in out
    assert sorted(policies.rglob("*")) == before


def test_generate_accepts_a_policy_year_that_extends_a_known_one(policies, tmp_path, capsys):
    assert run_cli(capsys, "new-year", "2024", "--from", "2023")[0] == 0
    out_csv = tmp_path / "d24.csv"
    code, out = run_command(capsys, "generate", "--year", "2024", "--rows", "5", "--seed", "1", "-o", out_csv, "--policies", policies)
    assert code == 0, out
    assert "按其政策继承的 2023 年情形生成" in out
    lines = out_csv.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 6
    year_col = lines[0].split(",").index("监测年度")
    assert {ln.split(",")[year_col] for ln in lines[1:]} == {"2024"}


def test_generate_unknown_year_is_refused_in_chinese(policies, tmp_path, capsys):
    code, out = run_command(capsys, "generate", "--year", "2025", "--rows", "5", "-o", tmp_path / "x.csv", "--policies", policies)
    assert code == 2
    assert "不支持的监测年度 2025" in out and "invalid choice" not in out
    assert not (tmp_path / "x.csv").exists()


def test_cross_year_diff_compares_the_new_year_with_the_year_it_extends(policies, tmp_path, capsys, dictionary):
    assert run_cli(capsys, "new-year", "2024", "--from", "2023")[0] == 0
    with (policies / "2024" / "policy.yaml").open("a", encoding="utf-8") as f:
        f.write("definitions:\n  年度成果上报截止日期: {expr: 'date(监测年度 + 1, 1, 31)', cite: 三（二）3}\n")
    # Y23-R-annual-deadline fires when 填报日期 > 年度成果上报截止日期 (not 军用). For 2024 rows the inherited
    # deadline is 2025-01-18 (date(监测年度 + 1, 1, 18)), the new one 2025-01-31. By hand:
    #   D1 filed 2025-01-18: not after either -> no change
    #   D2 filed 2025-01-19: after 2025-01-18, not after 2025-01-31 -> lost
    #   D3 filed 2025-01-31: after 2025-01-18, not after 2025-01-31 (the day itself counts) -> lost
    #   D4 filed 2025-02-01: after both -> no change
    rows = [("D1", "2025-01-18"), ("D2", "2025-01-19"), ("D3", "2025-01-31"), ("D4", "2025-02-01")]
    given = ["图斑编号", "监测年度", "行政区代码", "下发日期", "填报日期", "是否军用土地"]
    header = given + [f.name for f in dictionary.fields if f.name not in given]  # every column, the rest empty
    data = write_csv(tmp_path / "d.csv", header, [[p, 2024, "610902", "2024-01-05", d, "否"] for p, d in rows])
    code, out, _ = run_cli(capsys, "diff", policies / "2023", policies / "2024", data, "--as-of", "2025-06-30", "--format", "json")
    assert code == 0
    doc = json.loads(out)
    [year] = doc["policies"]
    assert (year["from_year"], year["year"], year["status"]) == (2023, 2024, "both")
    changes = {(c["kind"], c["id"], c["status"]) for c in year["changes"]}
    assert changes == {("definitions", "年度成果上报截止日期", "changed")}
    findings = doc["data"]["findings"]
    assert findings["gained"] == []
    assert sorted((f["patch"], f["rule"]) for f in findings["lost"]) == [("D2", "Y23-R-annual-deadline"), ("D3", "Y23-R-annual-deadline")]
    code, out = run_command(capsys, "diff", policies / "2023", policies / "2024")
    assert "2023年 → 2024年政策：1 处变化" in out and "删除整套政策" not in out


def test_a_new_year_row_is_judged_by_its_own_year_deadline(policies, tmp_path, capsys, dictionary):
    """2024 inherits Y23-R-annual-deadline; its deadline is date(监测年度 + 1, 1, 18): 2025-01-18 for a 2024 row,
    never 2023's 2024-01-18. By hand: filed 2024-06-01 and 2025-01-18 are on time, 2025-01-19 is late."""
    assert run_cli(capsys, "new-year", "2024", "--from", "2023")[0] == 0
    given = ["图斑编号", "监测年度", "行政区代码", "下发日期", "填报日期", "是否军用土地"]
    header = given + [f.name for f in dictionary.fields if f.name not in given]
    rows = [("E1", "2024-06-01"), ("E2", "2025-01-18"), ("E3", "2025-01-19")]
    data = write_csv(tmp_path / "d.csv", header, [[p, 2024, "610902", "2024-05-25", d, "否"] for p, d in rows])
    _, out, _ = run_cli(capsys, "check", data, "--policies", policies, "--as-of", "2025-06-30", "--format", "json")
    late = sorted(f["patch"] for f in json.loads(out)["findings"] if f["rule"] == "Y23-R-annual-deadline")
    assert late == ["E3"]
    assert "2025-01-18" in next(f["message"] for f in json.loads(out)["findings"] if f["rule"] == "Y23-R-annual-deadline")
