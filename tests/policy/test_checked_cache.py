"""Policies known to pass every check, kept with their warnings (engine/policy/schema_cache.py CheckedPolicies): a
cached run gives the same bytes as an uncached one (text and JSON, warnings included) without running the checks
that only report; a changed file is checked again and reports the same errors as without a cache; a corrupt,
hostile or foreign cache entry is ignored."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import cache_file, rewrite_cache_file, run_cli, write_csv, write_policy_dir
from engine import cache
from engine.policy import check as check_module
from engine.policy.schema_cache import CheckedPolicies

# three warnings: W001 (never true), W002 (a parameter no rule uses), W003 (a date outside the year's window)
RULES = """
    parameters:
      没用的参数: 5亩
    rules:
      - id: T-R-never
        title: 永不成立
        cite: 一
        severity: warning
        when: 耕地面积 < 0亩
        message: "{图斑编号}"
      - id: T-R-date
        title: 固定日期
        cite: 二
        severity: error
        when: 耕地面积 >= 1亩 and 下发日期 < 2019-01-01
        message: "{图斑编号}"
    """
HEADER = ["图斑编号", "监测年度", "行政区代码", "耕地面积", "下发日期"]


def _policy(tmp_path: Path) -> Path:
    root = tmp_path / "policies"
    write_policy_dir(root, 2021, {"rules.yaml": RULES})
    return root


def _data(tmp_path: Path) -> Path:
    return write_csv(tmp_path / "d.csv", HEADER, [["P1", 2021, "110101", "2亩", "2018-05-01"]])


def _uncached(capsys, monkeypatch, *argv):
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    try:
        return run_cli(capsys, *argv)
    finally:
        monkeypatch.delenv(cache.NO_CACHE_ENV)


def _no_reporting_checks(monkeypatch):
    def refuse(*_a, **_k):
        raise AssertionError("a reporting check ran")
    for name in ("unused", "absolute_dates", "window_warnings", "fixed_not_dated", "check_waivable"):
        monkeypatch.setattr(check_module, name, refuse)


def _kept(cache_dir: Path) -> dict:
    return json.loads(cache_file(cache_dir, "checked").read_bytes().partition(b"\n")[2])["policies"]


@pytest.mark.parametrize("argv", [
    ["lint", "{root}"],
    ["lint", "{root}", "--format", "json"],
    ["check", "{data}", "--policies", "{root}", "--as-of", "2022-06-30"],
    ["check", "{data}", "--policies", "{root}", "--as-of", "2022-06-30", "--format", "json"],
])
def test_a_cached_run_is_byte_identical_and_runs_no_reporting_check(cache_dir, capsys, monkeypatch, tmp_path, argv):
    root, data = _policy(tmp_path), _data(tmp_path)
    argv = [a.format(root=root, data=data) for a in argv]
    uncached = _uncached(capsys, monkeypatch, *argv)
    assert not cache_dir.exists()
    assert run_cli(capsys, *argv) == uncached  # checks, and keeps the verdict
    (warnings,) = _kept(cache_dir).values()
    assert sorted(w[0] for w in warnings) == ["W001", "W002", "W003"]
    _no_reporting_checks(monkeypatch)
    assert run_cli(capsys, *argv) == uncached


def test_the_bundled_policies_are_kept_without_warnings(cache_dir, capsys, monkeypatch):
    argv = ["check", "datasets/sample_2023.csv", "--as-of", "2024-06-30", "--format", "json"]
    uncached = _uncached(capsys, monkeypatch, *argv)
    assert run_cli(capsys, *argv) == uncached
    assert list(_kept(cache_dir).values()) == [[], []]  # 2021 and 2023
    _no_reporting_checks(monkeypatch)
    assert run_cli(capsys, *argv) == uncached


def test_a_changed_file_is_checked_again_and_reports_the_same_errors(cache_dir, capsys, monkeypatch, tmp_path):
    root = _policy(tmp_path)
    assert run_cli(capsys, "lint", root)[0] == 0
    rules = root / "2021" / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("耕地面积 >= 1亩", "耕地面识 >= 1亩"), encoding="utf-8")
    cached = run_cli(capsys, "lint", root)
    assert cached == _uncached(capsys, monkeypatch, "lint", root)
    assert cached[0] == 1 and "E040" in cached[1] and "W002" in cached[1]  # errors and warnings, as without a cache
    assert len(_kept(cache_dir)) == 1  # a policy with errors is not kept
    rules.write_text(rules.read_text(encoding="utf-8").replace("没用的参数: 5亩", "没用的参数: 6亩"), encoding="utf-8")
    again = run_cli(capsys, "lint", root)  # one more change, one more miss: reported as without a cache
    assert again == _uncached(capsys, monkeypatch, "lint", root) and again[0] == 1 and "6亩" in again[1]


def test_a_warning_gone_from_a_file_is_gone_from_the_report(cache_dir, capsys, monkeypatch, tmp_path):
    root = _policy(tmp_path)
    assert "W002" in run_cli(capsys, "lint", root)[1]
    rules = root / "2021" / "rules.yaml"
    rules.write_text(rules.read_text(encoding="utf-8").replace("parameters:\n  没用的参数: 5亩\n", ""), encoding="utf-8")
    out = run_cli(capsys, "lint", root)
    assert out == _uncached(capsys, monkeypatch, "lint", root) and "W002" not in out[1] and "W001" in out[1]


def test_a_corrupt_cache_file_is_ignored(cache_dir, capsys, monkeypatch, tmp_path):
    root = _policy(tmp_path)
    expected = run_cli(capsys, "lint", root)
    f = cache_file(cache_dir, "checked")
    f.write_bytes(f.read_bytes().replace(b"W002", b"W009"))  # the sha256 line no longer matches
    assert run_cli(capsys, "lint", root) == expected
    assert sorted(w[0] for w in _kept(cache_dir).popitem()[1]) == ["W001", "W002", "W003"]  # checked, kept again


def _hostile(key: str, policy: str) -> list:
    good = ["W002", "x", None, None, None, 1, None, "warning"]
    return [
        {"format": 1, "key": "x", "policies": {policy: []}},  # another key: not read as ours
        {"format": 1, "key": key, "policies": {policy: "none"}},
        {"format": 1, "key": key, "policies": {policy: [good[:7]]}},  # a warning of another shape
        {"format": 1, "key": key, "policies": {policy: [[*good[:7], "error"]]}},  # an error is never kept
        {"format": 1, "key": key, "policies": {policy: [[*good[:3], "1", *good[4:]]]}},  # a line that is not a number
        {"format": 1, "key": key, "policies": {policy: [[7, *good[1:]]]}},
        {"format": 1, "key": key, "policies": []},
        {"format": 2},
        "policies",
    ]


@pytest.mark.parametrize("case", range(9))
def test_a_hostile_or_foreign_cache_entry_is_ignored(cache_dir, capsys, monkeypatch, tmp_path, case):
    root = _policy(tmp_path)
    expected = _uncached(capsys, monkeypatch, "lint", root)
    assert run_cli(capsys, "lint", root) == expected
    f = cache_file(cache_dir, "checked")
    doc = json.loads(f.read_bytes().partition(b"\n")[2])
    (policy,) = doc["policies"]
    rewrite_cache_file(f, _hostile(doc["key"], policy)[case])
    assert run_cli(capsys, "lint", root) == expected
    assert len(_kept(cache_dir)[policy]) == 3  # checked afresh and kept again


def test_the_policy_count_limit_at_and_just_over(cache_dir, monkeypatch):
    monkeypatch.setattr("engine.policy.schema_cache.LIMITS.cache_trees", 2)
    kept = CheckedPolicies(b"schema", "context")
    for key in ("a", "b"):
        kept.keep(key, [])
    assert [CheckedPolicies(b"schema", "context").warnings(k) for k in "ab"] == [[], []]  # at the limit: both kept
    kept.keep("c", [])  # one more: the oldest goes
    assert [CheckedPolicies(b"schema", "context").warnings(k) for k in "abc"] == [None, [], []]
    assert CheckedPolicies(b"schema", "another context").warnings("c") is None
