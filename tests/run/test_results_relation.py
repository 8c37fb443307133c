"""A small run keeps its results in a table (messages rendered once), a large one in a view (messages rendered only
for the rows fetched): the outputs are byte-identical either way."""
from __future__ import annotations

from pathlib import Path

import pytest

from conftest import run_cli, write_csv
from engine.run import runner

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("sample", ["2023", "mixed"])
def test_table_and_view_give_the_same_output(sample, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    args = ["check", f"datasets/sample_{sample}.csv", "--as-of", "2024-06-30"]
    table_json = run_cli(capsys, *args, "--format", "json")
    table_text = run_cli(capsys, *args)
    monkeypatch.setattr(runner, "SMALL_RESULTS", -1)  # every run above the bound: a view
    assert run_cli(capsys, *args, "--format", "json") == table_json
    assert run_cli(capsys, *args) == table_text


def test_the_bound_at_and_just_over(monkeypatch, threshold_policies, tmp_path):
    """SMALL_RESULTS rows: a table; one row more: a view. Two patches at 100亩 (at the rule's threshold) and 120亩,
    both 违法用地: each a hit of the 100亩 rule and of the info rule, 4 findings and no tasks."""
    data = write_csv(tmp_path / "d.csv", ["图斑编号", "监测年度", "行政区代码", "判定结果", "耕地面积"],
                     [["A", 2021, "140923", "违法用地", "100"], ["B", 2021, "140923", "违法用地", "120"]])
    kinds = []
    for bound in (4, 3):
        monkeypatch.setattr(runner, "SMALL_RESULTS", bound)
        r = runner.check(data, threshold_policies, as_of="2024-06-30", assess=False)
        kinds.append(r.rows.con.execute("SELECT table_type FROM information_schema.tables WHERE table_name = ?",
                                        [r.rows.view]).fetchone()[0])
        assert r.rows.counts() == {"finding": 4}
    assert kinds == ["LOCAL TEMPORARY", "VIEW"]
