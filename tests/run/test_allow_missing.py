"""A file lacking columns a policy reads: the refusal names the rules that need each missing column;
--allow-missing runs the rest and names, in every output, the rules it did not evaluate; such a run never exits 0."""
from __future__ import annotations

import json

from conftest import run_cli, write_csv

HEADER = ["图斑编号", "监测年度", "行政区代码", "判定结果"]  # no 耕地面积: T-R-big-farmland cannot run
ROWS = [["A", 2021, "140923", "违法用地"], ["B", 2021, "140923", "合法用地"]]


def test_missing_column_refusal_names_the_rules_that_need_it(threshold_policies, policy_root, tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", HEADER, ROWS)
    code, out, err = run_cli(capsys, "check", data, "--policies", policy_root, "--as-of", "2024-06-30")
    assert code == 2
    assert "缺少本年度政策需要的列：耕地面积（规则 T-R-big-farmland 需要" in err and "--allow-missing" in err


def test_allow_missing_runs_the_rest_and_names_what_it_left_out(threshold_policies, policy_root, tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", HEADER, ROWS)
    code, out, _ = run_cli(capsys, "check", data, "--policies", policy_root, "--as-of", "2024-06-30", "--allow-missing",
                           "--format", "json")
    doc = json.loads(out)
    # only an info finding (A is 违法用地), so a full run would exit 0; a partial run never does
    assert code == 1
    assert [(f["patch"], f["rule"]) for f in doc["findings"]] == [("A", "T-R-illegal-info")]
    assert doc["not_evaluated"] == [{"year": 2021, "rule": "T-R-big-farmland", "kind": "规则", "title": "耕地面积达到阈值",
                                     "missing": ["耕地面积"]}]
    assert "未检查：2021年 规则 T-R-big-farmland（耕地面积达到阈值）缺少 耕地面积" in doc["warnings"]
    code, out, _ = run_cli(capsys, "check", data, "--policies", policy_root, "--as-of", "2024-06-30", "--allow-missing",
                           "--output", tmp_path / "r.html")
    assert code == 1 and "未检查：2021年 规则 T-R-big-farmland" in out
    assert "未检查：2021年 规则 T-R-big-farmland" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_a_complete_file_has_no_not_evaluated_field(threshold_policies, policy_root, tmp_path, capsys):
    data = write_csv(tmp_path / "d.csv", [*HEADER, "耕地面积"], [[*r, "100"] for r in ROWS])
    code, out, _ = run_cli(capsys, "check", data, "--policies", policy_root, "--as-of", "2024-06-30", "--allow-missing",
                           "--format", "json")
    doc = json.loads(out)
    assert "not_evaluated" not in doc and code == 1  # A and B are at 100亩: two error findings
    assert sorted(f["patch"] for f in doc["findings"] if f["rule"] == "T-R-big-farmland") == ["A", "B"]
