"""Parquet, and the typed table -> raw table step shared with the geo readers."""
from __future__ import annotations

from pathlib import Path

import duckdb

from engine.lang.quoting import quote_ident, quote_str
from engine.data.readers.common import (
    GEOM_AREA, InputError, InputInfo, Known, check_headers, duck_msg, refuse_reserved, sha256, text_sql, typed_fits,
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
    """Replace the typed table `staging` by the raw table's shape: the columns and `_line`. A column whose type
    already fits its dictionary field (numbers for areas, dates for dates) stays typed and is parsed no more; every
    other column is rendered as the text a person would have typed."""
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
    exprs = []
    for (name, typ), h in zip(kept, headers):
        f = known.d.match_header(h)[0]
        keep = f is not None and typed_fits(f.type, typ)
        exprs.append(f"{quote_ident(name) if keep else text_sql(quote_ident(name), typ)} AS {quote_ident(h)}")
    con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(staging)} AS "
                f"SELECT {', '.join(exprs)}{geom}, {line_sql} AS _line FROM {quote_ident(staging)}")
    info = InputInfo(path=str(p), sha256="", files=[str(p)], rows=0, columns=headers, warnings=warnings)
    return info, unnamed
