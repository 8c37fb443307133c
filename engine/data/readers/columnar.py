"""Parquet, and the typed table -> raw table step shared with the geo readers."""
from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import duckdb

from engine.lang.quoting import quote_ident, quote_str
from engine.data.readers.common import (
    GEOM_AREA, InputError, InputInfo, Known, check_headers, duck_msg, insertion_order, refuse_reserved, sha256, text_sql,
    typed_fits,
)


def read_parquet(con, p: Path, staging: str, known: Known):
    """The Parquet file as the view `staging`, read once by the step that copies it into the raw table
    (a damaged file is refused there). `_line` is the row's place in the file (its first row is 1)."""
    try:
        described = con.execute(f"DESCRIBE SELECT * FROM read_parquet({quote_str(str(p))})").fetchall()
    except duckdb.Error as e:
        raise InputError(unreadable(p, e)) from None
    for name, *_ in described:  # a file's `_geom_m2` is no area
        refuse_reserved(p.name, name)
    if any(name == "file_row_number" for name, *_ in described):  # the row number's own name is taken: copy
        copy = quote_ident(staging + "__file")
        with insertion_order(con):  # rowid is then the file's order
            con.execute(f"CREATE OR REPLACE TEMP TABLE {copy} AS SELECT * FROM read_parquet({quote_str(str(p))})")
        info, unnamed = typed_to_text(con, p, staging, "rowid + 1", known, source=copy)
    else:
        info, unnamed = typed_to_text(con, p, staging, "file_row_number + 1", known, described=described, view=True,
                                      source=f"read_parquet({quote_str(str(p))}, file_row_number = true)")
    info.sha256 = sha256(p)
    return info, unnamed


def unreadable(p: Path, e: Exception) -> str:
    return f"{p.name}：Parquet 文件无法读取（文件可能不完整或已损坏）：{duck_msg(e)}"


@contextmanager
def read_through_view(p: Path):
    """The Parquet file `p` is read in this block through its view (read_input lazy=True): a page damaged past those
    the reader checked makes DuckDB fail here, and that is the file's fault (InputError), not ours. Running out of
    memory is not the file's."""
    try:
        yield
    except duckdb.OutOfMemoryException:
        raise
    except duckdb.Error as e:
        raise InputError(unreadable(p, e)) from None


def typed_to_text(con, p: Path, staging: str, line_sql: str, known: Known, *, source: str | None = None,
                  described=None, view: bool = False):
    """Replace the typed table `staging` — or read `source` (SQL of a table or table function) — by the raw
    table's shape: the columns and `_line`, as a table or (view=True) a view read once by the next step. A column
    whose type already fits its dictionary field (numbers for areas, dates for dates) stays typed and is parsed no
    more; every other column is rendered as the text a person would have typed."""
    source = source or quote_ident(staging)
    if described is None:
        described = con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()
    warnings: list[str] = []
    kept = []
    geom = ""
    for name, typ, *_ in described:
        if name == "_line":  # numbered by the reader (a file's own `_line` is refused as reserved)
            continue
        if name == GEOM_AREA:  # computed by the geo reader, carried as a number
            geom = f", {quote_ident(GEOM_AREA)}"
            continue
        if typ in ("BLOB", "GEOMETRY") or typ.startswith(("STRUCT", "MAP")) or typ.endswith("[]"):
            warnings.append(f"{p.name}：列“{name}”（{typ}）不是属性值，已忽略")
            continue
        kept.append((name, typ))
    headers, unnamed = check_headers(p.name, [n for n, _ in kept], known)
    exprs = []
    for (name, typ), h in zip(kept, headers):
        f = known.d.match_header(h)[0]
        keep = f is not None and typed_fits(f.type, typ)
        exprs.append(f"{quote_ident(name) if keep else text_sql(quote_ident(name), typ)} AS {quote_ident(h)}")
    con.execute(f"CREATE OR REPLACE TEMP {'VIEW' if view else 'TABLE'} {quote_ident(staging)} AS "
                f"SELECT {', '.join(exprs)}{geom}, {line_sql} AS _line FROM {source}")
    info = InputInfo(path=str(p), sha256="", files=[str(p)], rows=0, columns=headers, warnings=warnings)
    return info, unnamed
