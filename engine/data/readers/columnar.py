"""Parquet, and the typed-table -> text rendering shared with the geo readers."""
from __future__ import annotations

from pathlib import Path

import duckdb

from engine.lang.quoting import quote_ident, quote_str
from engine.data.readers.common import (
    GEOM_AREA, InputError, InputInfo, Known, check_headers, duck_msg, refuse_reserved, sha256,
)


def read_parquet(con, p: Path, staging: str, known: Known):
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(staging)} AS "
                    f"SELECT * FROM read_parquet({quote_str(str(p))})")
    except duckdb.Error as e:
        raise InputError(f"{p.name}：Parquet 文件无法读取（文件可能不完整或已损坏）：{duck_msg(e)}") from None
    for name, *_ in con.execute(f"DESCRIBE {quote_ident(staging)}").fetchall():  # a file's `_geom_m2` is no area
        refuse_reserved(p.name, name)
    info, unnamed = typed_to_text(con, p, staging, "rowid + 1", known)
    info.sha256 = sha256(p)
    return info, unnamed


def typed_to_text(con, p: Path, staging: str, line_sql: str, known: Known):
    """Replace the typed table `staging` by one with every column rendered as text and `_line`."""
    described = con.execute(f"DESCRIBE {quote_ident(staging)}").fetchall()
    warnings: list[str] = []
    kept = []
    geom = ""
    for name, typ, *_ in described:
        if name == GEOM_AREA:  # computed by the geo reader, carried as a number
            geom = f", {quote_ident(GEOM_AREA)}"
            continue
        if typ in ("BLOB", "GEOMETRY") or typ.startswith(("STRUCT", "MAP")) or typ.endswith("[]"):
            warnings.append(f"{p.name}：列“{name}”（{typ}）不是属性值，已忽略")
            continue
        kept.append((name, typ))
    headers, unnamed = check_headers(p.name, [n for n, _ in kept], known)
    exprs = [f"{_render_sql(quote_ident(name), typ)} AS {quote_ident(h)}" for (name, typ), h in zip(kept, headers)]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(staging)} AS "
                f"SELECT {', '.join(exprs)}{geom}, {line_sql} AS _line FROM {quote_ident(staging)}")
    info = InputInfo(path=str(p), sha256="", files=[str(p)], rows=0, columns=headers, warnings=warnings)
    return info, unnamed


def _render_sql(col: str, typ: str) -> str:
    """SQL rendering a typed column as the text a person would have typed (same as Excel cells)."""
    if typ in ("DOUBLE", "FLOAT", "REAL"):
        return (f"CASE WHEN isfinite({col}) AND {col} = trunc({col}) AND abs({col}) < 1e15 "
                f"THEN CAST(CAST({col} AS BIGINT) AS VARCHAR) ELSE CAST({col} AS VARCHAR) END")
    if typ.startswith("TIMESTAMP") and "TIME ZONE" not in typ:
        return (f"CASE WHEN CAST({col} AS TIME) = TIME '00:00:00' THEN strftime({col}, '%Y-%m-%d') "
                f"ELSE strftime({col}, '%Y-%m-%d %H:%M:%S') END")
    return f"CAST({col} AS VARCHAR)"
