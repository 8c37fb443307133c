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


@pytest.mark.parametrize("keep", [0, 2000])
def test_reports_streamed_from_duckdb_equal_the_reports_of_the_document(tmp_path, monkeypatch, keep):
    """The ledger and the page written from a run's DuckDB rows (engine.report.source.from_result) are the ones
    written from its JSON document (from_doc): same cells in the same order — with the rows streamed to each
    (keep 0) or fetched once and kept for both (a run within KEEP_ITEMS)."""
    from datetime import date

    from engine.report import source

    monkeypatch.setattr(source, "KEEP_ITEMS", keep)

    openpyxl = pytest.importorskip("openpyxl")
    from engine.policy.policyset import load_policies
    from engine.report.html import render_html
    from engine.report.outputs import write_outputs
    from engine.report.xlsx import write_xlsx
    from engine.run.runner import check

    r = check(ROOT / "datasets/sample_mixed.csv", load_policies(), as_of=date(2024, 6, 30))
    doc = r.to_json()
    write_xlsx(doc, r.catalog(), tmp_path / "doc.xlsx", r.dictionary)
    write_outputs(r, [tmp_path / "run.xlsx", tmp_path / "run.html"])
    a, b = openpyxl.load_workbook(tmp_path / "doc.xlsx"), openpyxl.load_workbook(tmp_path / "run.xlsx")
    assert a.sheetnames == b.sheetnames
    for name in a.sheetnames:
        assert list(a[name].iter_rows(values_only=True)) == list(b[name].iter_rows(values_only=True)), name
    head = next(b["问题清单"].iter_rows(values_only=True))
    assert head[-2:] == ("来源文件", "来源行")
    assert render_html(doc, r.catalog(), r.dictionary) == (tmp_path / "run.html").read_text(encoding="utf-8")


def test_html_embeds_a_bounded_number_of_rows(tmp_path, monkeypatch):
    from datetime import date

    from engine.policy.policyset import load_policies
    from engine.report import html
    from engine.report.outputs import write_outputs
    from engine.run.runner import check

    monkeypatch.setattr(html, "HTML_MAX_ROWS", 5)
    r = check(ROOT / "datasets/sample_2023.csv", load_policies(), as_of=date(2024, 6, 30))
    write_outputs(r, [tmp_path / "r.xlsx", tmp_path / "r.html"])  # the ledger takes every kept row, the page 5
    page = (tmp_path / "r.html").read_text(encoding="utf-8")
    total = len(r.findings)
    assert total > 5
    assert f"共 {total:,} 条，本页只列出前 5 条" in page and "--output 台账.xlsx" in page
    data = json.loads(page.split('id="data-findings">', 1)[1].split("</script>", 1)[0])
    assert len(data["rows"]) == 5


def test_the_runs_own_connection_writes_a_reserved_export_as_the_stream_would(tmp_path):
    """--output results.parquet is written by one COPY on the run's locked connection, into the temp file reserved
    before the lock; the rows (and their order) are those of the Arrow stream a caller without a reservation gets,
    messages included (rendered in the scan there, from each hit's patch afterwards here)."""
    from engine.report.outputs import write_rows
    from engine.run.exports import reserve
    from engine.run.runner import check

    sample = ROOT / "datasets/sample_mixed.csv"
    a, b = tmp_path / "out" / "a.parquet", tmp_path / "b.parquet"
    exports = reserve([a, tmp_path / "x.csv"])
    assert list(exports) == [str(a)] and Path(exports[str(a)]).parent == a.parent  # only what DuckDB writes
    reserved = check(sample, as_of="2024-06-30", exports=exports)
    # a run that exports every row renders the messages in its scan: writing them joins nothing back to the patches
    assert reserved.rows.rendered
    reserved.rows.con.execute("DROP TABLE patches")
    write_rows(reserved, a, "parquet")
    streamed = check(sample, as_of="2024-06-30")
    assert not streamed.rows.rendered  # messages rendered (joined) only for the rows written
    write_rows(streamed, b, "parquet")
    con = duckdb.connect()
    rows = [con.execute(f"SELECT * FROM read_parquet('{p}')").fetchall() for p in (a, b)]
    assert rows[0] == rows[1] and len(rows[0]) > 50
    assert sorted(p.name for p in a.parent.iterdir()) == ["a.parquet"]  # the temp file became the output
    # the lock still holds: neither the output itself nor any other file
    for target in (a, tmp_path / "y.parquet"):
        with pytest.raises(duckdb.PermissionException, match="file system operations are disabled"):
            reserved.rows.con.execute(f"COPY (SELECT 1 AS x) TO '{target}' (FORMAT parquet, USE_TMP_FILE false)")


def test_a_failed_run_leaves_no_reserved_temp_file(tmp_path):
    import subprocess
    import sys

    bad = tmp_path / "bad.csv"
    bad.write_text("图斑编号,监测年度\nA1,1999\n", encoding="utf-8")
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-c", "import sys; from engine.cli.main import main; sys.exit(main())",
                          "check", str(bad), "--output", str(out / "r.parquet")], capture_output=True, text=True,
                         cwd=ROOT)
    assert run.returncode == 2, run.stderr
    assert list(out.iterdir()) == []


@pytest.mark.parametrize("piece_rows", [1, 7, 10**9])
def test_export_in_pieces_gives_the_same_rows_in_the_same_order(piece_rows, tmp_path):
    """A large export is written piece by piece (each piece sorted alone, in the export's order): the file is the one
    the single sort gives. Pieces of 1 and 7 rows cut the mixed sample's findings, tasks and region tasks many times."""
    from engine import check
    from engine.report.outputs import write_rows

    result = check(ROOT / "datasets/sample_mixed.csv", as_of="2024-06-30")
    whole, cut = tmp_path / "whole.parquet", tmp_path / "cut.parquet"
    write_rows(result, whole, "parquet", piece_rows=10**9)
    write_rows(result, cut, "parquet", piece_rows=piece_rows)
    con = duckdb.connect()
    rows = [con.execute(f"SELECT * FROM read_parquet('{p}')").fetchall() for p in (whole, cut)]
    assert rows[0] == rows[1] and len(rows[0]) > 20
    n = len(rows[0])
    pieces = result.rows.export_pieces(piece_rows)
    assert (len(pieces) == 1) == (piece_rows >= n)  # one piece exactly when the rows fit one sort


def test_every_message_rendered_in_the_scan_gives_the_same_document():
    """A run whose outputs list every row (JSON, ledger, CSV: `every_message`) renders the messages in its scan; the
    document is the one whose messages are rendered afterwards from each hit's patch, byte for byte."""
    from engine.run.runner import check

    sample = ROOT / "datasets/sample_mixed.csv"
    scanned = check(sample, as_of="2024-06-30", every_message=True)
    joined = check(sample, as_of="2024-06-30")
    assert scanned.rows.rendered and not joined.rows.rendered
    assert dumps_indented(scanned.to_json()) == dumps_indented(joined.to_json())
    assert len(scanned.findings) > 20


def test_every_row_fetched_binds_only_the_messages_of_checks_with_rows():
    """Fetching every finding (a policy test case, the ledger, the JSON list) binds the messages of the checks that
    have findings, not every check's: binding them all cost DuckDB ~0.05 s in each statement."""
    from engine.run.result import FINDINGS_ORDER
    from engine.run.runner import check

    joined = check(ROOT / "datasets/sample_mixed.csv", as_of="2024-06-30")
    rows = joined.rows
    hit = {(int(y), int(i)) for y, i in rows.con.execute(
        f"SELECT DISTINCT _y, _i FROM {rows.keys} WHERE kind = 'finding' AND _i IS NOT NULL").fetchall()}
    every = {(y, i) for y, p in joined.policies.items() for i in range(len(p.checks))}
    assert hit and hit < every
    sql = rows.ordered("message", "kind = 'finding'", FINDINGS_ORDER)
    assert rows.message_of(hit) in sql and rows.message_of() not in sql


def test_json_format_renders_every_message_in_the_scan(monkeypatch, capsys):
    import engine.run.runner as runner

    seen = []
    real = runner.evaluate
    monkeypatch.setattr(runner, "evaluate", lambda *a, **k: seen.append(k.get("every_message")) or real(*a, **k))
    run_cli(capsys, "check", str(ROOT / "datasets/sample_2023.csv"), "--as-of", "2024-06-30", "--format", "json")
    run_cli(capsys, "check", str(ROOT / "datasets/sample_2023.csv"), "--as-of", "2024-06-30")
    assert seen == [True, False]


@pytest.mark.parametrize("narrowed", [0, 5, 100])
def test_first_rows_are_the_head_of_every_row(narrowed, monkeypatch):
    """A report's first rows (ResultRows._first): up to _NARROWED chosen on their keys and fetched by _rid, more in
    one query; either way the head of the whole list, messages included."""
    import engine.run.result as result_module
    from engine.run.runner import check

    monkeypatch.setattr(result_module, "_NARROWED", narrowed)
    result = check(ROOT / "datasets/sample_mixed.csv", as_of="2024-06-30")
    findings, tasks = result.rows.findings(), result.rows.tasks()
    assert len(findings) > 40 and len(tasks) > 7
    for limit in (1, 7, 40, 10**6):
        assert result.rows.findings(limit) == findings[:limit]
        assert result.rows.tasks(limit) == tasks[:limit]
