"""The unit of each area column, decided before any value is read — never guessed silently.

Where a unit comes from, strongest first: the header (耕地面积(平方米)); `--area-unit`; the data
dictionary's default for the alias that matched. A file with polygons proves (or disproves) the unit
of its geometry_field column from the polygons' own area; without polygons, an undeclared column whose
median is implausible in the carried unit stops the run with a question naming both units.
The bounds live in schemas/fields.yaml (`area_check`).
"""
from __future__ import annotations

import math
from decimal import Decimal

from engine.data.dictionary import Dictionary
from engine.data.readers.common import GEOM_AREA, column_types, text_sql, typed_fits
from engine.errors import InputError
from engine.lang.quoting import quote_ident

SOURCES = {"header": "表头", "map": "列映射文件", "option": "--area-unit 参数", "alias": "数据字典别名默认单位",
           "geometry": "图形面积核实", "default": "未注明，按数据字典统一单位读取（数值合理）"}


def _num(col: str, typ: str = "VARCHAR") -> str:
    """A column's numbers as DOUBLE: a typed number as it is, text without its thousands separators."""
    if typed_fits("area", typ):
        return f"CAST({quote_ident(col)} AS DOUBLE)"
    return f"TRY_CAST(replace(trim(CAST({quote_ident(col)} AS VARCHAR)), ',', '') AS DOUBLE)"


def _fmt(x: float) -> str:
    return f"{x:.4f}".rstrip("0").rstrip(".") if abs(x) < 1e6 else f"{x:.0f}"


def _m2_per(d: Dictionary, unit: str) -> float:
    sq = d.area_check.get("square_metre")
    return float(d.area_units[unit] / d.area_units[sq])


def _unit_names(d: Dictionary) -> list[str]:
    """One name per distinct factor, in dictionary order (亩, 平方米, 公顷)."""
    seen, out = set(), []
    for u, f in d.area_units.items():
        if f not in seen:
            seen.add(f)
            out.append(u)
    return out


def resolve(con, raw: str, d: Dictionary, mapping: dict, *, area_unit: str | None = None,
            alias_units: dict | None = None, check: bool = True, sources: dict | None = None):
    """mapping: field -> (header, unit or None), updated in place with the decided units.
    Returns (notes {field: {"header", "unit", "source"}}, warnings). Raises InputError on a unit conflict or question."""
    area = [f.name for f in d.fields if f.type == "area" and f.name in mapping]
    if not area:
        return {}, []
    if area_unit is not None and area_unit not in d.area_units:
        raise InputError(f"--area-unit「{area_unit}」不是可用的面积单位（可用：{'、'.join(d.area_units)}）")
    notes: dict[str, dict] = {}
    for name in area:
        header, unit = mapping[name]
        source = ((sources or {}).get(name) or "header") if unit else None
        if unit is None and area_unit is not None:
            unit, source = area_unit, "option"
        if unit is None and alias_units and alias_units.get(name):
            unit, source = alias_units[name], "alias"
        mapping[name] = (header, unit)
        if unit:
            notes[name] = {"header": header, "unit": unit, "source": source}
    warnings: list[str] = []
    if not check:
        return notes, warnings
    columns = {r[0] for r in con.execute(f"DESCRIBE {quote_ident(raw)}").fetchall()}
    gfield = d.area_check.get("geometry_field")
    if GEOM_AREA in columns and gfield in mapping and d.area_check.get("square_metre") in d.area_units:
        _prove_from_geometry(con, raw, d, mapping, notes, warnings, gfield)
    undeclared = [n for n in area if mapping[n][1] is None]
    _plausible(con, raw, d, [mapping[n][0] for n in undeclared], warnings)
    for name in undeclared:
        notes[name] = {"header": mapping[name][0], "unit": d.area_unit, "source": "default"}
    return notes, warnings


def _prove_from_geometry(con, raw, d: Dictionary, mapping, notes, warnings, gfield: str) -> None:
    header, declared = mapping[gfield]
    v = _num(header)
    rows = con.execute(f"""
        SELECT _source, median({quote_ident(GEOM_AREA)} / {v}), count(*),
               arg_min(_line, _line), arg_min({text_sql(quote_ident(header), column_types(con, raw)[header])}, _line),
               arg_min({quote_ident(GEOM_AREA)}, _line)
        FROM {quote_ident(raw)} WHERE {quote_ident(GEOM_AREA)} > 0 AND {v} > 0 GROUP BY _source ORDER BY _source""").fetchall()
    if not rows:
        return
    tol = float(d.area_check.get("tolerance", 0.1))
    sq = d.area_check["square_metre"]
    proven: dict[str, str] = {}
    for source, ratio, _n, line, value, geom in rows:
        unit = next((u for u in _unit_names(d) if abs(math.log(ratio / _m2_per(d, u))) <= math.log1p(tol)), None)
        example = f"如第 {line} 行：{header} 为 {value}，图形面积为 {_fmt(geom)} {sq}"
        if unit is None:
            warnings.append(f"{source}：列「{header}」与图形面积的比值约为 {_fmt(ratio)}，不是任何面积单位的换算关系，"
                            f"无法用图形核实面积单位（{example}）")
            continue
        if declared is not None and d.area_units[declared] != d.area_units[unit]:
            how = SOURCES[notes[gfield]["source"]]
            raise InputError(
                f"{source}：列「{header}」的面积单位为 {declared}（来自{how}），但与图形面积对比，数值是 {unit}"
                f"（{example}）。请改正表头单位或 --area-unit 参数后重试")
        proven[source] = unit
    if not proven:
        return
    units = sorted(set(proven.values()), key=_unit_names(d).index)
    if len(units) > 1:
        detail = "；".join(f"{s} 为 {u}" for s, u in proven.items())
        raise InputError(f"各文件的列「{header}」面积单位不一致（由图形面积核实：{detail}），请分别检查或统一单位后重试")
    unit = units[0]
    if declared is not None:
        return
    changed = []
    for name, (h, u) in list(mapping.items()):
        if name in notes or u is not None or not _is_area(d, name):
            continue
        mapping[name] = (h, unit)
        notes[name] = {"header": h, "unit": unit, "source": "geometry"}
        changed.append(h)
    warnings.append(f"{'、'.join(sorted(proven))}：面积列 {'、'.join(changed)} 未注明单位，"
                    f"与图形面积对比核实为 {unit}，已按 {unit} 读取")


def _is_area(d: Dictionary, name: str) -> bool:
    f = d.by_name.get(name)
    return f is not None and f.type == "area"


def _plausible(con, raw, d: Dictionary, headers: list[str], warnings: list[str]) -> None:
    """Each undeclared area column's median (of its positive values) within area_check.max_median, decided for
    every column in one pass by counting: of n values, the median exceeds the bound when more than n/2 of them
    do, and does not when fewer than n/2 do. Only a column whose median exceeds the bound (its message shows it),
    or one with exactly n/2 values above it (the median is then the mean of the two middle values), has its exact
    median computed: that holds the column's values in memory (80 MB per 10M rows), one column per query."""
    bound = d.area_check.get("max_median")
    if bound is None or not headers:
        return
    types = column_types(con, raw)
    nums = [_num(h, types[h]) for h in headers]
    b = float(bound)
    counted = ", ".join(f"count(*) FILTER (WHERE {v} > 0), count(*) FILTER (WHERE {v} > 0 AND {v} > {b!r})" for v in nums)
    counts = con.execute(f"SELECT {counted} FROM {quote_ident(raw)}").fetchall()[0]
    for i, (header, v) in enumerate(zip(headers, nums)):
        n, above = counts[2 * i], counts[2 * i + 1]
        if 2 * above < n or not n:
            continue
        median = con.execute(f"SELECT median({v}) FROM {quote_ident(raw)} WHERE {v} > 0").fetchall()[0][0]
        if median > b:
            _implausible(con, raw, d, header, v, types[header], median, n, warnings)


def _implausible(con, raw, d: Dictionary, header: str, v: str, typ: str, median: float, n: int,
                 warnings: list[str]) -> None:
    bound = d.area_check["max_median"]
    line, source, value = con.execute(
        f"SELECT _line, _source, {text_sql(quote_ident(header), typ)} FROM {quote_ident(raw)} WHERE {v} > 0 "
        f"ORDER BY abs({v} - {median}), _source, _line LIMIT 1").fetchone()
    carried = d.area_unit
    sq = d.area_check.get("square_metre")
    alt = ""
    if sq in d.area_units:
        alt = f"；如果是 {sq}，则中位数为 {_fmt(float(Decimal(str(median)) * d.area_units[sq]))} {carried}"
    if n < int(d.area_check.get("min_rows", 1)):
        warnings.append(f"{source}：列「{header}」没有注明面积单位，按 {carried} 读取；数值偏大（如第 {line} 行：{value}），"
                        f"如果是 {sq}，请在表头注明「{header}({sq})」或加参数 --area-unit {sq}")
        return
    raise InputError(
        f"{source}：列「{header}」没有注明面积单位，数值中位数为 {_fmt(median)}（如第 {line} 行：{value}）。"
        f"按 {carried} 读取，图斑中位面积为 {_fmt(median)} {carried}，远大于常见图斑（不超过 {bound} {carried}）{alt}。"
        f"请确认单位是 {carried} 还是 {sq}：在表头注明，如「{header}({sq})」或「{header}({carried})」，"
        f"或加参数 --area-unit {sq} / --area-unit {carried}")
