"""Excel serial dates in text date cells (44986 -> 2023-03-01): the SQL that reads one, and the warning that says
which columns held them and how one was read. The accepted years are the dictionary's serial_date_years."""
from __future__ import annotations

import datetime as dt

from engine.data.dictionary import Dictionary
from engine.lang.quoting import quote_ident, quote_str

EXCEL_EPOCH_1900 = "1899-12-30"  # Excel's 1900 date system, its 1900-02-29 bug included: serial 1 = 1900-01-01
SERIAL = quote_str("[0-9]{5}([.]0+)?")  # a serial as a cell's text: five digits, maybe a zero fraction


def _serial_range(d: Dictionary) -> tuple[int, int]:
    lo, hi = d.serial_date_years
    base = dt.date.fromisoformat(EXCEL_EPOCH_1900)
    return (dt.date(lo, 1, 1) - base).days, (dt.date(hi, 12, 31) - base).days


def serial_sql(raw: str, d: Dictionary) -> str:
    """An Excel serial date (44986 -> 2023-03-01) within serial_date_years, as a TIMESTAMP; else NULL."""
    lo, hi = _serial_range(d)
    n = f"TRY_CAST({raw} AS DOUBLE)"
    return (f"(CASE WHEN regexp_full_match({raw}, {SERIAL}) AND {n} BETWEEN {lo} AND {hi} "
            f"THEN CAST(DATE '{EXCEL_EPOCH_1900}' + CAST({n} AS INTEGER) AS TIMESTAMP) END)")


def serial_warnings(con, table: str, d: Dictionary, mapping: dict, typed: set[str]) -> list[str]:
    """Say which date columns of the normalized `table` held Excel serial numbers, and how one was read (one pass
    for every date column). A typed column (`typed`: a Parquet or Excel date read as it is) has none: its text is
    kept only where its value did not parse."""
    if not d.serial_date_years:
        return []
    fields = [f.name for f in d.fields if f.type == "date" and f.name in mapping and f.name not in typed]
    if not fields:
        return []
    parts = []
    for name in fields:
        raw = quote_ident("_raw_" + name)
        serial = f"regexp_full_match({raw}, {SERIAL}) AND {quote_ident(name)} IS NOT NULL"
        parts.append(f"count(*) FILTER (WHERE {serial}), min({raw}) FILTER (WHERE {serial}), "
                     f"arg_min({quote_ident(name)}, {raw}) FILTER (WHERE {serial})")
    found = con.execute(f"SELECT {', '.join(parts)} FROM {quote_ident(table)}").fetchall()[0]
    out = []
    for i, name in enumerate(fields):
        n, example, value = found[3 * i:3 * i + 3]
        if n:
            out.append(f"列「{mapping[name][0]}」有 {n} 个 Excel 日期序号，已按 Excel 1900 日期系统换算为日期"
                       f"（如 {example} = {value}）")
    return out
