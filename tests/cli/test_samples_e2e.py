"""`weipian check` end to end on the bundled samples: exit 1, the contract, every rule and trigger fires."""
from __future__ import annotations

import json

import pytest

from engine import load_policies
from engine.cli.main import main
from engine.paths import datasets_dir

AS_OF = {2021: "2022-06-30", 2023: "2024-06-30"}


def run_json(capsys, path, as_of):
    code = main(["check", str(path), "--format", "json", "--as-of", as_of])
    return code, json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("year", [2021, 2023])
def test_sample_fires_every_rule_and_trigger_with_its_clause(year, capsys):
    policy = load_policies()[year]
    code, doc = run_json(capsys, datasets_dir() / f"sample_{year}.csv", AS_OF[year])
    assert code == 1  # the samples carry error-level findings
    assert doc["policy"]["year"] == year and doc["policy"]["digest"].startswith("sha256:")
    assert doc["input"]["rows"] == doc["input"]["checked"] + doc["input"]["rejected"] == 300
    assert doc["run"]["as_of"] == AS_OF[year] and doc["run"]["policy_files"]
    fired = {f["rule"] for f in doc["findings"]} | {t["rule"] for t in doc["tasks"]}
    assert {r.id for r in policy.rules} <= fired
    assert {t.id for t in policy.triggers} <= fired
    cites = {c.id: c.cite for c in policy.checks}
    for item in doc["findings"] + doc["tasks"]:
        if item["rule"] in cites:
            assert item["cite"] == cites[item["rule"]] and item["cite"]
    flagged = {a["rule"] for a in doc["assessments"] if a["flagged"]}
    assert flagged, "some region is flagged in the sample"
    # most rows are clean
    assert len({f["patch"] for f in doc["findings"]}) < 300 / 2


def test_mixed_sample_checks_each_row_with_its_own_year(capsys):
    code, doc = run_json(capsys, datasets_dir() / "sample_mixed.csv", "2024-06-30")
    assert code == 1
    assert doc["input"]["years"] == [2021, 2023]
    assert [p["year"] for p in doc["policies"]] == [2021, 2023]
    rules_2023_only = {r.id for r in load_policies()[2023].checks} - {r.id for r in load_policies()[2021].checks}
    rules_2021_only = {r.id for r in load_policies()[2021].checks} - {r.id for r in load_policies()[2023].checks}
    by_patch_year = {}
    for f in doc["findings"] + doc["tasks"]:
        year = 2021 if "2021" in str(f["patch"])[6:10] else 2023
        by_patch_year.setdefault(year, set()).add(f["rule"])
    assert by_patch_year[2021] and by_patch_year[2023]
    assert not (by_patch_year.get(2021, set()) & rules_2023_only)
    assert not (by_patch_year.get(2023, set()) & rules_2021_only)
