"""Write a result to files chosen by suffix (.json .csv .xlsx .html), atomically."""
from __future__ import annotations

import csv
import os
from pathlib import Path

from engine.report.atomic import atomic_write
from engine.errors import InputError
from engine.run.result import Result

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


def write_outputs(result: Result, paths: list[str | Path], json_text: str | None = None) -> None:
    """json_text: the result's JSON document when the caller already has it (encoded once for stdout and files)."""
    for path in paths:
        write_output(result, Path(path), json_text)


def write_output(result: Result, path: Path, json_text: str | None = None) -> None:
    suffix = path.suffix.lower()
    if suffix == ".json":
        with atomic_write(path) as fh:
            fh.write(result.dumps() if json_text is None else json_text)
            fh.write("\n")
    elif suffix in (".parquet", ".jsonl"):
        write_rows(result, path, "parquet" if suffix == ".parquet" else "json")
    elif suffix == ".csv":
        with atomic_write(path, encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(FINDING_HEADERS.values())
            for f in result.findings:
                w.writerow([csv_cell(getattr(f, k)) for k in FINDING_HEADERS])
    elif suffix == ".xlsx":
        from engine.report.xlsx import write_xlsx

        write_xlsx(result.to_json(), result.catalog(), path, result.dictionary)
    elif suffix in (".html", ".htm"):
        from engine.report.html import write_html

        write_html(result.to_json(), result.catalog(), path, result.dictionary)
    else:
        raise InputError(f"不支持的输出文件类型：{path.name}（可用 .json .csv .xlsx .html .parquet .jsonl）")


def write_rows(result: Result, path: Path, fmt: str) -> None:
    """Every finding and task (rule, severity, level, cite, region, source file and line) written by DuckDB's COPY,
    streamed in Arrow batches from the run's connection: bounded memory, no Python object per row. The run's
    connection stays sandboxed (no file access); a fresh connection that only sees the stream writes the file."""
    import duckdb

    from engine.limits import LIMITS

    if result.rows is None:
        raise InputError(f"{path.name}：此结果没有可导出的明细行")
    out = duckdb.connect()
    try:
        out.execute(f"SET memory_limit = '{LIMITS.memory_limit}'")
        out.execute("SET preserve_insertion_order = true")
        reader = result.rows.reader()
        out.register("result_rows", reader)
        with atomic_write(path, mode=None) as tmp:
            target = str(tmp).replace("'", "''")
            out.execute(f"COPY result_rows TO '{target}' (FORMAT {fmt})")
    finally:
        out.close()
