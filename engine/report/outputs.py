"""Write a result to files chosen by suffix (.json .csv .xlsx .html), atomically."""
from __future__ import annotations

import csv
from pathlib import Path

from engine.report.atomic import atomic_write
from engine.errors import InputError
from engine.run.result import Result

FINDING_HEADERS = {"patch": "图斑编号", "rule": "规则", "severity": "严重程度", "message": "说明", "cite": "条款"}


def write_outputs(result: Result, paths: list[str | Path]) -> None:
    for path in paths:
        write_output(result, Path(path))


def write_output(result: Result, path: Path) -> None:
    suffix = path.suffix.lower()
    if suffix == ".json":
        with atomic_write(path) as fh:
            fh.write(result.dumps() + "\n")
    elif suffix == ".csv":
        with atomic_write(path, encoding="utf-8-sig", newline="") as fh:
            w = csv.writer(fh)
            w.writerow(FINDING_HEADERS.values())
            for f in result.findings:
                w.writerow([getattr(f, k) for k in FINDING_HEADERS])
    elif suffix == ".xlsx":
        from engine.report.xlsx import write_xlsx

        write_xlsx(result.to_json(), result.catalog(), path, result.dictionary)
    elif suffix in (".html", ".htm"):
        from engine.report.html import write_html

        write_html(result.to_json(), result.catalog(), path, result.dictionary)
    else:
        raise InputError(f"不支持的输出文件类型：{path.name}（可用 .json .csv .xlsx .html）")
