"""Write a result to files chosen by suffix (.json .csv .xlsx .html), atomically."""
from __future__ import annotations

import contextlib
import csv
import functools
import os
import sys
from pathlib import Path

from engine.report.atomic import atomic_write
from engine.errors import InputError
from engine.lang.quoting import quote_str
from engine.limits import memory_limit_bytes
from engine.duck import connect
from engine.run.result import FINDINGS_ORDER, Result

FINDING_HEADERS = {"patch": "图斑编号", "rule": "规则", "severity": "严重程度", "message": "说明", "cite": "条款"}

# OWASP CSV injection: a cell a spreadsheet would read as a formula starts with one of these.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(value):
    """A CSV cell that no spreadsheet runs as a formula: text starting with = + - @ tab or CR gets a leading
    apostrophe (the JSON output keeps the raw value)."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def refuse_overwrite(outputs, data, policy_files) -> None:
    """InputError when an --output would replace the input (or a file in the input folder) or a policy file."""
    inputs = Path(os.path.realpath(data)) if data is not None else None
    protected = {Path(os.path.realpath(f)) for f in policy_files}
    for out in outputs:
        target = Path(os.path.realpath(out))
        if inputs is not None and (target == inputs or inputs in target.parents):
            raise InputError(f"输出文件 {Path(out).name} 会覆盖输入数据（或写进输入文件夹），请换一个位置")
        if target in protected:
            raise InputError(f"输出文件 {Path(out).name} 会覆盖政策文件，请换一个位置")


def write_outputs(result: Result, paths: list[str | Path], stdout=None) -> None:
    """Every output by suffix. The JSON document is encoded once, streamed to every .json output and to `stdout`
    (a binary stream, for --format json) at the same time."""
    paths = [Path(p) for p in paths]
    for path in paths:
        if path.suffix.lower() not in SUFFIXES:
            raise InputError(f"不支持的输出文件类型：{path.name}（可用 .json .csv .xlsx .html .parquet .jsonl）")
    json_paths = [p for p in paths if p.suffix.lower() == ".json"]
    for path in paths:
        if path.suffix.lower() in (".parquet", ".jsonl"):
            write_rows(result, path, "parquet" if path.suffix.lower() == ".parquet" else "json")
    if json_paths or stdout is not None:
        write_json(result, json_paths, stdout)
    data = functools.cache(lambda: _report_data(result))  # the ledger and the page read the same counts and rows
    for path in paths:
        if path.suffix.lower() not in (".parquet", ".jsonl", ".json"):
            write_output(result, path, data)


SUFFIXES = (".json", ".parquet", ".jsonl", ".csv", ".xlsx", ".html", ".htm")


def write_json(result: Result, paths: list[Path], stdout=None) -> None:
    """The JSON document to every path (atomically) and to the binary stream `stdout`, encoded once."""
    with contextlib.ExitStack() as stack:
        sinks = [stack.enter_context(atomic_write(p, "wb")) for p in paths]
        if stdout is not None:
            sys.stdout.flush()
            sinks.append(stdout)

        def write(chunk: bytes) -> None:
            for fh in sinks:
                fh.write(chunk)

        result.write_json(write)
        write(b"\n")
        if stdout is not None:
            stdout.flush()


def write_output(result: Result, path: Path, data=None) -> None:
    """data(): the ReportData of `result` (_report_data), when already made for another output."""
    data = data or (lambda: _report_data(result))
    suffix = path.suffix.lower()
    if suffix == ".json":
        write_json(result, [path])
    elif suffix in (".parquet", ".jsonl"):
        write_rows(result, path, "parquet" if suffix == ".parquet" else "json")
    elif suffix == ".csv":
        with atomic_write(path, encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(FINDING_HEADERS.values())
            if result.rows is not None:
                cols = ", ".join(FINDING_HEADERS)
                sql = result.rows.ordered(cols, "kind = 'finding'", FINDINGS_ORDER)
                for batch in result.rows.reader(8192, sql):
                    w.writerows([csv_cell(v) for v in row] for row in zip(*batch.to_pydict().values()))
    elif suffix == ".xlsx":
        from engine.report.xlsx import write_ledger

        write_ledger(data(), result.catalog(), path, result.dictionary)
    elif suffix in (".html", ".htm"):
        from engine.report.html import write_html

        write_html(None, result.catalog(), path, result.dictionary, data())
    else:
        raise InputError(f"不支持的输出文件类型：{path.name}（可用 .json .csv .xlsx .html .parquet .jsonl）")


def _report_data(result: Result):
    """What the ledger and the page read: counts by GROUP BY, rows fetched in batches."""
    from engine.report.source import from_result
    from engine.report.tables import level_order, region_label_map

    return from_result(result, region_label_map(), level_order(result.dictionary))


WRITER_MEMORY = "128MB"
# Rows an export sorts at once, per byte of the run's memory limit (engine.run.result.ResultRows.export_pieces).
# Measured (2026-12-01): one sort of 1.03M rows with their messages fits 512MB, of 1M rows not 128MB; at 10M patches
# (14M rows) pieces of 500k rows did not fit 488MB, of 200k did; at 1M, pieces of 50k fit 128MB.
WHOLE_ROWS_PER_BYTE, PIECE_ROWS_PER_BYTE = 1 / 256, 1 / 2560


def write_rows(result: Result, path: Path, fmt: str, piece_rows: int | None = None) -> None:
    """Every finding and task (rule, severity, level, cite, region, source file and line) written by DuckDB's COPY:
    bounded memory, no Python object per row. When the run reserved this output (engine.run.exports) and its rows
    fit one sort, the run's own connection writes it, the one file its lock allows; otherwise the rows stream in
    Arrow batches — piece by piece in the export's order, each piece sorted on its own — from the run's (sandboxed)
    connection to a fresh connection that only sees the stream and writes the file."""
    from engine.run.exports import release

    if result.rows is None:
        raise InputError(f"{path.name}：此结果没有可导出的明细行")
    reserved = result.rows.exports.pop(str(Path(path)), None)
    try:
        if piece_rows is None:
            limit = memory_limit_bytes()
            pieces = result.rows.export_pieces(max(int(limit * PIECE_ROWS_PER_BYTE), 1), int(limit * WHOLE_ROWS_PER_BYTE))
        else:
            pieces = result.rows.export_pieces(max(piece_rows, 1))
        if reserved is not None and len(pieces) == 1:
            with atomic_write(path, mode=None, tmp=reserved) as tmp:
                result.rows.con.execute(f"COPY ({pieces[0]}) TO {quote_str(tmp)} (FORMAT {fmt}, USE_TMP_FILE false)")
            return
        # a second DuckDB instance beside the run's: it only buffers a row group or two, so it gets a small share
        # of the memory limit, not a second limit of its own (peak RSS = run's + writer's); it keeps the rows' order
        out = connect(WRITER_MEMORY, threads=1)
        try:
            out.register("result_rows", _stream(result, pieces))
            with atomic_write(path, mode=None, tmp=reserved) as tmp:
                out.execute(f"COPY result_rows TO {quote_str(str(tmp))} (FORMAT {fmt})")
        finally:
            out.close()
    finally:
        if reserved is not None:
            release(reserved)


def _stream(result: Result, pieces: list[str]):
    """One Arrow stream of the pieces' rows, one piece after the other."""
    import pyarrow as pa

    first = result.rows.reader(sql=pieces[0])

    def batches():
        yield from first
        for sql in pieces[1:]:
            yield from result.rows.reader(sql=sql)

    return pa.RecordBatchReader.from_batches(first.schema, batches())
