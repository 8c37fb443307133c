"""--output results.parquet / .jsonl: every finding and task, one row each, written by DuckDB from the run's rows."""
from __future__ import annotations

import json
from pathlib import Path

import duckdb
import pytest

from conftest import run_cli
from engine.run.result import dumps_indented

ROOT = Path(__file__).resolve().parents[2]
COLUMNS = ["kind", "year", "patch", "region", "rule", "severity", "level", "action", "cite", "message", "source", "line"]


@pytest.mark.parametrize("sample", ["2021", "2023", "mixed"])
def test_parquet_and_jsonl_rows_equal_the_summary_counts(sample, tmp_path, capsys):
    pq, jl = tmp_path / "results.parquet", tmp_path / "results.jsonl"
    code, out, _ = run_cli(capsys, "check", str(ROOT / f"datasets/sample_{sample}.csv"), "--as-of", "2024-06-30",
                           "--format", "json", "--output", str(pq), "--output", str(jl))
    assert code == 1
    doc = json.loads(out)
    con = duckdb.connect()
    assert [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{pq}')").fetchall()] == COLUMNS
    by_kind = dict(con.execute(f"SELECT kind, count(*) FROM read_parquet('{pq}') GROUP BY 1").fetchall())
    findings = sum(doc["summary"]["findings_by_severity"].values())
    tasks = sum(doc["summary"]["tasks_by_level"].values())
    assert by_kind.get("finding", 0) == findings == len(doc["findings"])
    assert by_kind.get("task", 0) + by_kind.get("region_task", 0) == tasks == len(doc["tasks"])
    by_severity = dict(con.execute(f"SELECT severity, count(*) FROM read_parquet('{pq}') WHERE kind = 'finding' GROUP BY 1").fetchall())
    assert by_severity == doc["summary"]["findings_by_severity"]
    by_rule = dict(con.execute(f"SELECT rule, count(*) FROM read_parquet('{pq}') WHERE kind = 'finding' GROUP BY 1").fetchall())
    assert by_rule == doc["summary"]["findings_by_rule"]
    by_level = dict(con.execute(f"SELECT level, count(*) FROM read_parquet('{pq}') WHERE kind <> 'finding' GROUP BY 1").fetchall())
    assert by_level == doc["summary"]["tasks_by_level"]
    # the same rows as the JSON document, and every patch row names its source file and line
    got = sorted(con.execute(f"SELECT patch, rule, severity, message, cite FROM read_parquet('{pq}') WHERE kind = 'finding'").fetchall(),
                 key=repr)
    want = sorted([(f["patch"], f["rule"], f["severity"], f["message"], f["cite"]) for f in doc["findings"]], key=repr)
    assert got == want
    assert con.execute(f"SELECT count(*) FROM read_parquet('{pq}') WHERE kind <> 'region_task' AND (source IS NULL OR line IS NULL)").fetchone() == (0,)
    lines = jl.read_text(encoding="utf-8").splitlines()
    assert len(lines) == findings + tasks
    assert list(json.loads(lines[0])) == COLUMNS


def test_json_output_file_equals_stdout(tmp_path, capsys):
    out_file = tmp_path / "x.json"
    code, out, _ = run_cli(capsys, "check", str(ROOT / "datasets/sample_2023.csv"), "--as-of", "2024-06-30",
                           "--format", "json", "--output", str(out_file))
    assert out_file.read_text(encoding="utf-8") == out


@pytest.mark.parametrize("value", [
    {}, [], "", {"a": [], "b": {}, "c": [1, 2.5, -0.0, 1e16, 10**15, True, False, None, "中\"\\\n\x01\u2028"]},
    {1: "int key", 2.5: "float key", True: "t", None: "n", "k": ({"x": (1, 2)},)},
])
def test_dumps_indented_is_json_dumps(value):
    """Same layout as json.dumps(indent=2, ensure_ascii=False, default=str), byte for byte, on the contract's kinds of
    values (the bundled samples' full documents are compared byte for byte by tests/cli/test_snapshots.py)."""
    import datetime
    import decimal

    value = [value, datetime.date(2024, 6, 30), decimal.Decimal("1.50")]
    assert dumps_indented(value) == json.dumps(value, ensure_ascii=False, indent=2, default=str)
