"""Raw input table (all text) -> typed patch table in canonical field names, areas in the dictionary's carried unit.

Every cell that cannot be read as its dictionary type becomes a 数据格式 problem for that row and
field; such rows are counted as rejected and not checked by the rules. Nothing is dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from engine.lang.quoting import quote_ident, quote_str
from engine.data.area_units import resolve as resolve_area_units
from engine.data.dictionary import HEADER_UNIT, Dictionary, Field, header_key
from engine.data.readers.common import column_types, materialize, text_sql, typed_fits
from engine.data.serial_dates import serial_sql, serial_warnings
from engine.errors import InputError

FORMAT_RULE = "数据格式"
FORMAT_CITE = "数据字典 schemas/fields.yaml"
RID_FILE_STRIDE = 1 << 32  # _rid = (file index) * stride + line: no file has 2^32 lines


@dataclass
class Normalized:
    table: str
    rows: int
    rejected: int
    mapping: dict[str, str] = field(default_factory=dict)  # canonical field -> header as found
    units: dict[str, str] = field(default_factory=dict)  # canonical field -> declared area unit
    area_units: dict[str, dict] = field(default_factory=dict)  # field -> {header, unit, source}: how each unit was decided
    warnings: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)  # the file's headers, as found
    sources: list[str] = field(default_factory=list)  # the file names read (for messages)


def map_headers(columns: list[str], d: Dictionary, con=None, raw: str | None = None, column_map=None
                ) -> tuple[dict[str, tuple[str, str | None]], list[str]]:
    """Header -> (field, unit). Returns the mapping and the unknown headers.
    Two headers naming one field (审批文号 beside its alias 批准文号): with `con`/`raw`, an entirely empty one
    gives way to the other; otherwise, or when both have values, an InputError names both."""
    mapping: dict[str, tuple[str, str | None]] = {}
    unknown: list[str] = []
    seen: dict[str, str] = {}
    for col in columns:
        if col in ("_source", "_line") or col.startswith("_geom"):
            continue
        mapped = column_map.lookup(col) if column_map is not None else None
        f, unit = (d.by_name[mapped[0]], mapped[1]) if mapped else d.match_header(col)
        if f is None:
            m = HEADER_UNIT.match(col.strip())
            base = d.lookup_header(m.group("name").strip()) if m else None
            if base is not None and base.type == "area":
                raise InputError(f"列「{col}」的面积单位「{m.group('unit')}」无法识别（可用：{'、'.join(d.area_units)}）")
            unknown.append(col)
            continue
        if f.name in seen:
            keep = _keep_one(con, raw, f.name, seen[f.name], col)
            if keep == col:
                seen[f.name] = col
                mapping[f.name] = (col, unit)
            continue
        seen[f.name] = col
        mapping[f.name] = (col, unit)
    return mapping, unknown


def _keep_one(con, raw, field_name: str, first: str, second: str) -> str:
    if con is not None and raw is not None:
        n1, n2 = con.execute(f"SELECT count({quote_ident(first)}), count({quote_ident(second)}) FROM {quote_ident(raw)}").fetchone()
        if n1 == 0 or n2 == 0:
            return second if n1 == 0 else first
    raise InputError(f"列「{first}」与「{second}」都对应字段「{field_name}」且都有值，请删除其中一列"
                     f"（或在列映射中只保留一列）")


def alias_units(mapping: dict[str, tuple[str, str | None]], d: Dictionary) -> dict[str, str]:
    """Default units of the aliases that matched (fields.yaml aliases with `unit`)."""
    out = {}
    for name, (header, unit) in mapping.items():
        m = d.match(header)
        if unit is None and m is not None and m.unit:
            out[name] = m.unit
    return out


def missing_message(what: str, missing: list[str], columns: list[str], d: Dictionary, needed_by: dict | None = None,
                    sources: list[str] | None = None) -> str:
    """'缺少…的列：X（…需要；最接近的表头：Y）…。文件中的表头：…' — suggestions only, never used as a mapping."""
    import difflib

    found = [c for c in columns if c not in ("_source", "_line") and not c.startswith("_geom")]
    unmatched = [c for c in found if d.match_header(c)[0] is None]
    parts = []
    for name in missing:
        f = d.by_name[name]
        names = [f.name, f.code] + [a for a, _u in d.aliases.get(f.name, [])]
        close: list[str] = []
        for n in names:
            for c in difflib.get_close_matches(header_key(n), [header_key(u) for u in unmatched], n=3, cutoff=0.6):
                h = next(u for u in unmatched if header_key(u) == c)
                if h not in close:
                    close.append(h)
        extra = []
        if needed_by and needed_by.get(name):
            extra.append("规则 " + "、".join(needed_by[name][:5]) + (" 等" if len(needed_by[name]) > 5 else "") + " 需要")
        if close:
            extra.append("是否是「" + "」或「".join(close[:3]) + "」？")
        parts.append(name + (f"（{'；'.join(extra)}）" if extra else ""))
    shown = "、".join(found[:40]) + ("…" if len(found) > 40 else "")
    where = ("、".join(sources[:3]) + (" 等" if len(sources) > 3 else "") + "：") if sources else ""
    return (f"{where}{what}：" + "、".join(parts) + "。文件中的表头：" + (shown or "（无）")
            + "。表头可用中文字段名、代码或数据字典中的别名，如 耕地面积 / GDMJ（见 schemas/fields.yaml）")


def _area(value: str, factor, scale: int) -> str:
    """An area number (text or typed) in the carried unit: read to 10 decimals, times the unit's factor, rounded
    half away from zero to `scale` decimals. In the carried unit itself (factor 1) a value below 10^8 is read in
    64-bit decimals (the 38-digit ones cost ~20× more); larger values, and other units, take the 38-digit path."""
    wide = (f"CAST(round(TRY_CAST({value} AS DECIMAL(38,10)) * CAST('{factor}' AS DECIMAL(20,6)), {scale})"
            f" AS DECIMAL(18,{scale}))")
    if factor != 1:
        return wide
    return f"COALESCE(CAST(round(TRY_CAST({value} AS DECIMAL(18,10)), {scale}) AS DECIMAL(18,{scale})), {wide})"


def _cast_typed(f: Field, col: str, typ: str, unit: str | None, d: Dictionary) -> str:
    """A typed column's value as its field's type (typed_fits(f.type, typ)): numbers and dates as they are."""
    if f.type == "area":
        return _area(col, d.area_units[unit or d.area_unit], d.area_scale)
    if f.type == "int":
        return f"(CASE WHEN abs({col}) < 1e15 THEN CAST({col} AS BIGINT) END)"
    if f.type == "bool":
        return col
    if f.type == "date":  # a TIMESTAMP, like _cast's; a time of day other than midnight is not a date
        if typ == "DATE":
            return f"CAST({col} AS TIMESTAMP)"
        return f"(CASE WHEN CAST({col} AS TIME) = TIME '00:00:00' THEN CAST({col} AS TIMESTAMP) END)"
    raise AssertionError(f.type)


def _cast(f: Field, raw: str, unit: str | None, d: Dictionary) -> str:
    if f.type == "string":
        return raw
    if f.type == "int":
        dbl = f"TRY_CAST({raw} AS DOUBLE)"  # '2023.0' (from Excel) is 2023; '2.023e3' is not an integer as written
        return (f"(CASE WHEN regexp_full_match({raw}, '[+-]?[0-9]+(\\.0*)?') AND abs({dbl}) < 1e15 "
                f"THEN CAST({dbl} AS BIGINT) END)")
    if f.type == "area":
        return _area(f"replace({raw}, ',', '')", d.area_units[unit or d.area_unit], d.area_scale)
    if f.type == "date":  # a TIMESTAMP: the caller keeps years >= 1000 and casts to DATE
        parsed = f"TRY_STRPTIME({raw}, [{', '.join(quote_str(fmt) for fmt in d.date_formats)}])"
        return f"COALESCE({parsed}, {serial_sql(raw, d)})" if d.serial_date_years else parsed
    if f.type == "bool":
        t = ", ".join(quote_str(v) for v in d.bool_true)
        fl = ", ".join(quote_str(v) for v in d.bool_false)
        return f"(CASE WHEN {raw} IN ({t}) THEN TRUE WHEN {raw} IN ({fl}) THEN FALSE END)"
    if f.type == "enum":
        return f"(CASE WHEN {raw} IN ({', '.join(quote_str(v) for v in f.values)}) THEN {raw} END)"
    raise AssertionError(f.type)


_SCI = "[+-]?[0-9]+([.][0-9]+)?[eE][+]?[0-9]+"


def _reason(f: Field) -> str:
    return {
        "int": "不是整数",
        "area": "不是有效的面积数值",
        "date": "不是有效日期（应写成 2023-03-01）",
        "bool": "不是 是/否",
        "enum": "不在可选值中（" + "、".join(f.values) + "）",
        "string": "格式不对",
    }[f.type]


def _problem(field_name: str, value_sql: str, reason_sql: str) -> str:
    return f"{{'field': {quote_str(field_name)}, 'value': CAST({value_sql} AS VARCHAR), 'reason': {reason_sql}}}"


def normalize(con: duckdb.DuckDBPyConnection, raw: str, d: Dictionary, columns: list[str], *,
              required: set[str], default_year: int | None = None, table: str = "patches",
              area_unit: str | None = None, unit_check: bool = False, column_map=None,
              trimmed: bool = False) -> Normalized:
    """unit_check: prove area units from geometry / check their plausibility (files; not hand-written records).
    trimmed: the raw text cells are trimmed already (the readers' tables, records), not trimmed again here.
    column_map: engine.data.column_map.ColumnMap (headers -> fields, units, fixed values)."""
    mapping, unknown = map_headers(columns, d, con, raw, column_map)
    map_units = {n: "map" for n, (h, u) in mapping.items() if u and column_map is not None and column_map.lookup(h)}
    if column_map is not None:
        if column_map.values:  # fixed values are written into the raw table
            materialize(con, raw)
        types = column_types(con, raw)
        for name, value in column_map.values.items():
            if name in mapping:  # the file has the column: the fixed value fills its empty cells
                header = quote_ident(mapping[name][0])
                if types[mapping[name][0]] != "VARCHAR":  # a typed column takes the text value as text
                    con.execute(f"ALTER TABLE {quote_ident(raw)} ALTER {header} SET DATA TYPE VARCHAR "
                                f"USING {text_sql(header, types[mapping[name][0]])}")
                con.execute(f"UPDATE {quote_ident(raw)} SET {header} = {quote_str(value)} WHERE {header} IS NULL")
            else:
                col = f"{name}（列映射固定值）"
                con.execute(f"ALTER TABLE {quote_ident(raw)} ADD COLUMN {quote_ident(col)} VARCHAR DEFAULT {quote_str(value)}")
                mapping[name] = (col, None)
    warnings = []
    unused = [c for c in unknown if d.is_known_unused(c)]
    unknown = [c for c in unknown if c not in unused]
    if unknown:
        warnings.append("以下列不在数据字典中，未使用：" + "、".join(unknown))
    if unused:
        warnings.append("以下列是已知的国家平台字段，本程序不使用：" + "、".join(unused))
    year_field = d.key[1]  # 监测年度: --year fills it where the data leaves it empty
    need = set(required) | set(d.always_required)
    if default_year is not None:
        need.discard(year_field)
    missing = [f.name for f in d.fields if f.name in need and f.name not in mapping]
    if missing:
        raise InputError(missing_message("缺少必需的列", missing, columns, d, sources=_named(_sources(con, raw))))
    unit_notes, unit_warnings = resolve_area_units(con, raw, d, mapping, area_unit=area_unit, check=unit_check,
                                                   alias_units=alias_units(mapping, d), sources=map_units)
    warnings += unit_warnings

    # Three layers, each expression written once: the cell text (trimmed, empty -> NULL), the value parsed from it
    # once (dates by one try_strptime over the dictionary's formats, then Excel serials), and the year test on dates.
    # A typed column whose type fits its field (Parquet numbers, dates) is cast as it is; its text is rendered only
    # where a message shows it.
    types = column_types(con, raw)
    cells: dict[str, str] = {}  # field -> the cell layer's expression of `_raw_<field>`
    values: dict[str, str] = {}  # field -> its typed value, read from the cell layer
    checked_dates: dict[str, str] = {}  # date field -> its year test
    problems: list[tuple[str, str]] = []  # (condition, the problem struct)
    typed_as = {f.name: types[mapping[f.name][0]] for f in d.fields
                if f.name in mapping and typed_fits(f.type, types.get(mapping[f.name][0], "VARCHAR"))}
    # field -> SQL of the cell as text (for messages), from the first layer's column `_raw_<field>`
    text_of = {f.name: text_sql(quote_ident("_raw_" + f.name), typed_as.get(f.name, "VARCHAR")) for f in d.fields}
    for f in d.fields:
        col, raw_col = quote_ident(f.name), quote_ident("_raw_" + f.name)
        if f.name in mapping:
            header, unit = mapping[f.name]
            typ = types.get(header, "VARCHAR")
            if f.name in typed_as:
                cells[f.name] = quote_ident(header)
                typed = _cast_typed(f, raw_col, typ, unit, d)
            else:
                text = text_sql(quote_ident(header), typ)  # trimmed once: ~0.15 s per text column per 1M rows
                cells[f.name] = f"NULLIF({text if trimmed else f'trim({text})'}, '')"
                typed = _cast(f, raw_col, unit, d)
            if f.name == year_field and default_year is not None:
                typed = f"COALESCE({typed}, {int(default_year)})"
            values[f.name] = typed
            if f.type == "date":  # %Y means four digits: DuckDB reads '23-3-1' as year 23
                checked_dates[f.name] = f"CASE WHEN year({col}) >= 1000 THEN CAST({col} AS DATE) END AS {col}"
            problems.append((f"{raw_col} IS NOT NULL AND {col} IS NULL",
                             _problem(f.name, text_of[f.name], quote_str(_reason(f)))))
        else:
            sqltype = {"string": "VARCHAR", "enum": "VARCHAR", "int": "BIGINT", "date": "DATE", "bool": "BOOLEAN",
                       "area": f"DECIMAL(18,{d.area_scale})"}[f.type]
            value = str(int(default_year)) if (f.name == year_field and default_year is not None) else "NULL"
            cells[f.name] = "CAST(NULL AS VARCHAR)"
            values[f.name] = f"CAST({value} AS {sqltype})"
        shown = f"COALESCE({text_of[f.name]}, CAST({col} AS VARCHAR))"  # the value as the user wrote it
        if f.text_id:
            problems.append((f"regexp_full_match({raw_col}, {quote_str(_SCI)})",
                             _problem(f.name, raw_col,
                                      quote_str("是以数字形式保存的编号（科学计数法）：Excel 把编号当作数字保存时只保留 15 位有效数字，"
                                                "其余位已丢失；请在 Excel 中把该列设置为“文本”格式后重新录入编号"))))
        if f.pattern:
            problems.append((f"{col} IS NOT NULL AND NOT regexp_full_match({col}, {quote_str(f.pattern)})",
                             _problem(f.name, col, quote_str("格式不对（" + f.description + "）" if f.description else "格式不对"))))
        if f.type == "area":
            problems.append((f"{col} < 0", _problem(f.name, shown, quote_str("面积不能为负数"))))
        if f.minimum is not None:
            problems.append((f"{col} < {int(f.minimum)}", _problem(f.name, shown, quote_str(f"不能小于 {f.minimum}"))))
        if f.max_field:
            problems.append((f"{col} > {quote_ident(f.max_field)}",
                             _problem(f.name, shown,
                                      f"'大于' || {quote_str(f.max_field)} || '（' || COALESCE({text_of[f.max_field]}, CAST({quote_ident(f.max_field)} AS VARCHAR)) || '）'")))
        if f.name in d.always_required:
            problems.append((f"{raw_col} IS NULL AND {col} IS NULL", _problem(f.name, "''", quote_str("必填，不能为空"))))

    # _rid: the row's place in the input, the same on every run whatever order the (parallel) reading left the raw
    # table in: its line, after the lines of the files before it (a folder's files by name). No sort numbers the rows.
    sources = _sources(con, raw)
    rid = "_line"
    if len(sources) > 1:
        rid = (f"(CASE _source {' '.join(f'WHEN {quote_str(s)} THEN {i}' for i, s in enumerate(sources))} END)"
               f" * {RID_FILE_STRIDE} + _line")

    def layers(fields) -> str:
        """The typed rows of `fields`: cell text (empty -> NULL) -> value parsed once -> year test on dates."""
        cell = ", ".join(f"{cells[n]} AS {quote_ident('_raw_' + n)}" for n in fields)
        value = ", ".join(f"{values[n]} AS {quote_ident(n)}" for n in fields)
        dates = ", ".join(checked_dates[n] for n in fields if n in checked_dates)
        return (f"SELECT *{f' REPLACE ({dates})' if dates else ''} FROM (SELECT *, {value} FROM ("
                f"SELECT CAST({rid} AS BIGINT) AS _rid, _source, _line, {cell} FROM {quote_ident(raw)}))")

    # Keys given more than once, found on the key columns alone: their first row (a duplicate names it).
    key = ", ".join(quote_ident(k) for k in d.key)
    dups = quote_ident("_dups_" + table)
    con.execute(f"""
        CREATE OR REPLACE TEMP TABLE {dups} AS
        SELECT {key}, min(_rid) AS _dup_first, arg_min(_source, _rid) AS _dup_source, arg_min(_line, _rid) AS _dup_line
        FROM ({layers(d.key)}) WHERE {' AND '.join(quote_ident(k) + ' IS NOT NULL' for k in d.key)}
        GROUP BY {key} HAVING count(*) > 1""")
    if con.execute(f"SELECT count(*) FROM {dups}").fetchall()[0][0]:
        source = f"({layers([f.name for f in d.fields])}) t LEFT JOIN {dups} USING ({key})"
        problems.append(("t._rid > _dup_first",
                         _problem(d.key[0], quote_ident(d.key[0]), "'与 ' || _dup_source || ' 第' || _dup_line || "
                                  + quote_str(f"行重复（同一{d.key[1]}内{d.key[0]}应唯一）"))))
    else:  # no duplicate key: no join
        source = f"({layers([f.name for f in d.fields])}) t"
    # the text as written is kept only where it is read later: the key (数据格式 findings name the patch by it)
    # and dates (Excel serial warnings); the other columns' text was needed only for this statement's problems
    keep_raw = {d.key[0]} | {f.name for f in d.fields if f.type == "date"}
    kept = []
    for f in d.fields:
        kept.append(quote_ident(f.name))
        if f.name in keep_raw:  # a typed column's text: only where its value did not parse (its message names it)
            raw_col = quote_ident("_raw_" + f.name)
            kept.append(f"CASE WHEN {quote_ident(f.name)} IS NULL THEN {text_of[f.name]} END AS {raw_col}"
                        if f.name in typed_as else raw_col)
    # The problem list is built only for the rows that have a problem, found by one test of the conditions per row
    # (a CASE chain, which stops at the first condition that holds)
    listed = ", ".join(f"CASE WHEN {c} THEN {s} END" for c, s in problems)
    any_problem = "CASE " + " ".join(f"WHEN {c} THEN TRUE" for c, _ in problems) + " ELSE FALSE END"
    errors = f"CASE WHEN {any_problem} THEN list_filter([{listed}], lambda x: x IS NOT NULL) ELSE [] END"
    # One statement from the raw table, streamed: no intermediate table of the wide typed rows, no ORDER BY
    # (readers of `patches` that need an order ask for it)
    con.execute(f"""
        CREATE OR REPLACE TABLE {quote_ident(table)} AS
        SELECT t._rid AS _rid, t._source AS _source, t._line AS _line, {', '.join(kept)}, {errors} AS _errors
        FROM {source}""")
    con.execute(f"DROP TABLE {dups}")
    # fetchall: a result fetched with fetchone stays open in DuckDB 2.0 and blocks a later con.register
    rows, rejected = con.execute(f"SELECT count(*), count(*) FILTER (WHERE len(_errors) > 0) FROM {quote_ident(table)}").fetchall()[0]
    warnings += serial_warnings(con, table, d, mapping, set(typed_as))
    return Normalized(table, rows, rejected, {k: v[0] for k, v in mapping.items()}, {k: v[1] for k, v in mapping.items() if v[1]},
                      unit_notes, warnings, list(columns), _named(sources))


def format_findings_sql(table: str, key_field: str, carry: tuple[tuple[str, str], ...] = ()) -> str:
    """SQL listing one 数据格式 finding per problem cell: _rid, patch, rule, severity, message, cite, source, line,
    and the `carry` columns ((SQL expression over `table`, name) pairs) of the finding's row."""
    inner = "".join(f", {expr} AS {quote_ident(name)}" for expr, name in carry)
    outer = "".join(f", {quote_ident(name)}" for _, name in carry)
    return f"""
        SELECT _rid, COALESCE({quote_ident('_raw_' + key_field)}, '第' || _line || '行') AS patch,
               {quote_str(FORMAT_RULE)} AS rule, 'error' AS severity,
               _source || ' 第' || _line || '行 字段「' || e.field || '」值「' || COALESCE(e.value, '') || '」' || e.reason AS message,
               {quote_str(FORMAT_CITE)} AS cite, _source AS source, _line AS line{outer}
        FROM (SELECT _rid, _source, _line, {quote_ident('_raw_' + key_field)}{inner}, unnest(_errors) AS e
              FROM {quote_ident(table)} WHERE len(_errors) > 0)
    """


def _sources(con, raw: str) -> list[str]:
    """Every `_source` of the raw table, by name (a folder's files in the order their rows are numbered)."""
    return [r[0] for r in con.execute(f"SELECT DISTINCT _source FROM {quote_ident(raw)} ORDER BY 1").fetchall()]


def _named(sources: list[str]) -> list[str]:
    """The file names among `sources` (for messages): not hand-written records."""
    return [s for s in sources if s and s != "<records>"]
