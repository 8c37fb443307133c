"""`weipian columns`: what a file's headers will be read as, before any check — for clerks.

For each header: the field and unit it maps to and by which name, alias, truncation or map entry;
sample values; how many cells of it fail to parse. Then the rows that would be skipped, the fields
the policies need that the file lacks, and any stop (unit question, duplicate columns) the check would hit.
"""
from __future__ import annotations

import difflib

from engine.data.dictionary import Dictionary, header_key
from engine.duck import connect
from engine.errors import InputError
from engine.lang.quoting import quote_ident


def _how(d: Dictionary, header: str, cmap) -> tuple[str | None, str | None, str]:
    """(field, unit from the header or map, how) for one header."""
    if cmap is not None and cmap.lookup(header):
        name, unit = cmap.lookup(header)
        return name, unit, "列映射文件"
    f, unit = d.match_header(header)
    if f is not None:
        m = d.match(header)
        if m is None:  # matched with a unit suffix: say by what the name part matched
            base = header[: max(header.rfind("("), header.rfind("（"))].strip()
            m = d.match(base)
        how = m.how if m is not None else "字段名"
        return f.name, unit, how + ("，单位来自表头" if unit else "")
    if d.is_known_unused(header):
        return None, None, "已知的国家平台字段，本程序不使用"
    names = {}
    for fld in d.fields:
        for n in [fld.name, fld.code] + [a for a, _u in d.aliases.get(fld.name, [])]:
            names[header_key(n)] = fld.name
    close = difflib.get_close_matches(header_key(header), list(names), n=3, cutoff=0.6)
    hint = ("；是否是「" + "」或「".join(dict.fromkeys(names[c] for c in close)) + "」？可在列映射文件中指定") if close else ""
    return None, None, "不在数据字典中" + hint


def preview(path, d: Dictionary, *, needed_by_year: dict[int, set[str]], sheet=None, encoding=None,
            area_unit=None, column_map=None, year=None) -> dict:
    from engine.data.normalize import map_headers, normalize
    from engine.data.readers import read_input
    from engine.data.readers.common import column_types, text_sql

    con = connect()
    info = read_input(con, path, "raw", sheet=sheet, encoding=encoding, dictionary=d,
                      extra_headers=column_map.headers.values() if column_map is not None else ())
    headers = list(info.columns)
    out: dict = {"input": str(path), "rows_read": info.rows + len(info.skipped), "skipped": len(info.skipped),
                 "skipped_rows": info.skipped, "columns": [], "missing": [], "stop": None,
                 "warnings": list(info.warnings)}
    if column_map is not None:
        out["column_map"] = column_map.manifest()
    fields_of = {}
    types = column_types(con, "raw")
    for h in headers:
        name, unit, how = _how(d, h, column_map)
        fields_of[h] = name
        cell = text_sql(quote_ident(h), types[h])  # a typed column's values as the text a person would have typed
        samples = [r[0] for r in con.execute(
            f"SELECT DISTINCT v FROM (SELECT {cell} AS v, _line FROM raw WHERE {quote_ident(h)} IS NOT NULL ORDER BY _line LIMIT 50) "
            f"LIMIT 3").fetchall()]
        out["columns"].append({"header": h, "field": name, "unit": unit, "how": how, "samples": samples,
                               "bad_cells": None})
    years = sorted(needed_by_year)
    try:
        mapping, _unknown = map_headers(headers, d, con, "raw", column_map)
        norm = normalize(con, "raw", d, headers, required=set(), default_year=year, area_unit=area_unit,
                         unit_check=True, column_map=column_map, trimmed=True)
    except InputError as e:
        out["stop"] = str(e)
        mapping = {name: (h, None) for h, name in fields_of.items() if name}
        mapping.update({name: ("", None) for name in (column_map.values if column_map is not None else {})})
        norm = None
    if norm is not None:
        out["warnings"] += norm.warnings
        bad = dict(con.execute("SELECT e.field, count(*) FROM (SELECT unnest(_errors) AS e FROM patches) "
                               "GROUP BY 1").fetchall())
        data_years = [r[0] for r in con.execute(f"SELECT DISTINCT {quote_ident(d.key[1])} FROM patches WHERE "
                                                f"{quote_ident(d.key[1])} IS NOT NULL ORDER BY 1").fetchall()]
        years = [y for y in data_years if y in needed_by_year] or years
        for col in out["columns"]:
            if col["field"] and norm.mapping.get(col["field"]) == col["header"]:
                col["bad_cells"] = bad.get(col["field"], 0)
                if col["field"] in norm.area_units:
                    col["unit"] = norm.area_units[col["field"]]["unit"]
                    col["unit_source"] = norm.area_units[col["field"]]["source"]
        mapping = norm.mapping
        out["rows"] = norm.rows
        out["rejected"] = norm.rejected
    needed = set(d.always_required).union(*(needed_by_year[y] for y in years)) if years else set(d.always_required)
    out["missing"] = [f.name for f in d.fields if f.name in needed and f.name not in mapping
                      and not (year is not None and f.name == d.key[1])]
    out["years"] = years
    return out
