"""ResultRows: the summary's keys come in the order each value first occurs in the findings' (tasks') order, computed
without taking the minimum of the whole sort key over every row; the first rows come with their messages."""
from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from engine.run.result import FINDINGS_ORDER, TASKS_ORDER, UNRANKED, ResultRows
from engine.run.runner import check

ROOT = Path(__file__).resolve().parents[2]


def _rows(values: str) -> ResultRows:
    con = duckdb.connect()
    con.execute(f"""CREATE TABLE k AS SELECT * FROM (VALUES {values}) t(kind, severity, rule, patch, _rid, _tie, level,
                    _rank, _ord)""")
    return ResultRows(con, "k", "k", "NULL")


def test_findings_order_ties_on_the_patch_and_null_patches_come_last():
    rows = _rows("""
        ('finding', 'warning', 'R-b', 'P1', 5, NULL, NULL, NULL, NULL),
        ('finding', 'error', 'R-a', 'P1', 5, NULL, NULL, NULL, NULL),
        ('finding', 'info', 'R-c', 'P0', 9, NULL, NULL, NULL, NULL),
        ('finding', 'error', '数据格式', 'P1', 3, 'x', NULL, NULL, NULL),
        ('finding', 'error', 'R-d', NULL, 7, NULL, NULL, NULL, NULL)""")
    by = rows.summary()
    # first rows: info (P0, R-c) < error (P1, R-a, 5) < warning (P1, R-b, 5); 'R' (0x52) sorts before '数' (0xE6…)
    assert list(by["severity"].items()) == [("info", 1), ("error", 3), ("warning", 1)]
    assert list(by["rule"].items()) == [("R-c", 1), ("R-a", 1), ("R-b", 1), ("数据格式", 1), ("R-d", 1)]
    assert by["level"] == {}


def test_levels_by_rank_then_unranked_levels_by_their_first_task():
    u = UNRANKED
    rows = _rows(f"""
        ('task', NULL, 'T-1', 'P0', 1, NULL, '市级', 1, NULL),
        ('task', NULL, 'T-2', 'P9', 2, NULL, '省级', 0, NULL),
        ('task', NULL, 'T-3', 'P9', 3, NULL, '省级', 0, NULL),
        ('region_task', NULL, 'A-1', NULL, NULL, NULL, 'Y级', {u}, 0),
        ('task', NULL, 'T-4', 'P7', 4, NULL, NULL, {u}, NULL),
        ('task', NULL, 'T-5', 'P5', 5, NULL, 'X级', {u}, NULL)""")
    # 省级 (rank 0), 市级 (1); rank ties: patch tasks before region tasks, then by patch: X级 (P5), NULL (P7), Y级
    assert list(rows.summary()["level"].items()) == [("省级", 2), ("市级", 1), ("X级", 1), (None, 1), ("Y级", 1)]


@pytest.mark.parametrize("sample", ["2021", "2023", "mixed"])
def test_summary_equals_the_first_occurrence_by_the_whole_sort_key(sample):
    rows = check(ROOT / f"datasets/sample_{sample}.csv", as_of="2024-06-30").rows

    def count_by(column: str, kinds: str, order: str) -> list:
        return rows.con.execute(f"SELECT {column}, count(*) FROM {rows.keys} WHERE kind IN ({kinds}) "
                                f"GROUP BY 1 ORDER BY min(({order}))").fetchall()

    by = rows.summary()
    assert list(by["severity"].items()) == count_by("severity", "'finding'", FINDINGS_ORDER)
    assert list(by["rule"].items()) == count_by("rule", "'finding'", FINDINGS_ORDER)
    assert list(by["level"].items()) == count_by("level", "'task', 'region_task'", TASKS_ORDER)
    assert len(by["rule"]) > 3


@pytest.mark.parametrize("sample", ["2023", "mixed"])
def test_the_first_findings_and_tasks_are_the_first_of_all_with_the_same_messages(sample):
    """The first rows get the messages of their own checks only (message_sql(only=…)): the same texts."""
    rows = check(ROOT / f"datasets/sample_{sample}.csv", as_of="2024-06-30").rows
    findings, tasks = rows.findings(), rows.tasks()
    for n in (1, 7, 20, len(findings), len(findings) + 1):
        assert rows.findings(n) == findings[:n]
    for n in (1, 9, 20, len(tasks), len(tasks) + 1):
        assert rows.tasks(n) == tasks[:n]
    assert all(f.message for f in rows.findings(7))
    assert rows.tasks(0) == rows.findings(0) == []
    assert rows.con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE '_shown_%'").fetchone()[0] == 0


def test_a_text_report_does_not_create_the_results_view(capsys):
    """The view with every message is bound at its first use (an export, JSON): a text report never reads it."""
    from rich.console import Console

    from engine.report.text import render

    result = check(ROOT / "datasets/sample_2023.csv", as_of="2024-06-30")
    views = "SELECT count(*) FROM duckdb_views() WHERE view_name = ?"
    render(result, Console(width=180))
    assert result.rows.con.execute(views, [result.rows._view]).fetchone()[0] == 0
    assert result.rows.con.execute(f"SELECT count(*) FROM {result.rows.view}").fetchone()[0] > 0
    assert result.rows.con.execute(views, [result.rows._view]).fetchone()[0] == 1


@pytest.mark.parametrize("severities", [("warning", "info"), ("warning", "error"), ()])
def test_has_errors_from_the_counts_equals_the_query(severities):
    """exit codes: has_errors reads the summary's counts once a report made them, else asks DuckDB; same answer."""
    values = ", ".join(f"('finding', '{s}', 'R-{i}', 'P{i}', {i}, NULL, NULL, NULL, NULL)" for i, s in enumerate(severities))
    rows = _rows(values or "('task', NULL, 'T-1', 'P0', 1, NULL, '省级', 0, NULL)")
    asked = rows.has_errors()
    rows.summary()
    assert rows.has_errors() == asked == ("error" in severities)
