"""The files the run's own DuckDB connection writes (--output results.parquet / .jsonl): every finding and task by
one COPY, no second connection, no rows through Python.

The run's connection is locked before any policy SQL runs (runner.lock: no file access). An export is allowed
through that lock as exactly one file: a temp file created beside the output before the lock (as atomic writes
create theirs), listed in DuckDB's `allowed_paths`. The COPY writes it, then it replaces the output
(report.outputs.write_rows). A temp file still there when the process ends (the run failed) is removed."""
from __future__ import annotations

import atexit
import contextlib
import os
from pathlib import Path

from engine.paths import temp_beside

SUFFIXES = {".parquet": "parquet", ".jsonl": "json"}  # output suffix -> DuckDB COPY format

_RESERVED: list[str] = []


def reserve(outputs) -> dict[str, str]:
    """{str(Path(output)): its temp file} for each output DuckDB writes itself (by suffix), created now, empty."""
    out: dict[str, str] = {}
    for path in outputs:
        target = Path(path)
        if target.suffix.lower() not in SUFFIXES or str(target) in out:
            continue
        fd, tmp = temp_beside(target)
        os.close(fd)
        if not _RESERVED:
            atexit.register(_remove_left)
        _RESERVED.append(tmp)
        out[str(target)] = tmp
    return out


def _remove_left() -> None:
    for tmp in _RESERVED:
        with contextlib.suppress(OSError):
            os.unlink(tmp)


def release(tmp: str) -> None:
    """`tmp` was moved into place (or removed): nothing to remove at exit."""
    with contextlib.suppress(ValueError):
        _RESERVED.remove(tmp)
