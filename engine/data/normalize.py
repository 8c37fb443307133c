"""Raw input table (all text) -> typed patch table in canonical field names, areas in 亩.

Every cell that cannot be read as its dictionary type becomes a 数据格式 problem for that row and
field; such rows are counted as rejected and not checked by the rules. Nothing is dropped.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import duckdb

from engine.lang.compiler import quote_ident as q
from engine.lang.compiler import quote_str as s
from engine.data.dictionary import HEADER_UNIT, Dictionary, Field
from engine.errors import InputError

FORMAT_RULE = "数据格式"
FORMAT_CITE = "数据字典 schemas/fields.yaml"


@dataclass
class Normalized:
    table: str
    rows: int
    rejected: int
    mapping: dict[str, str] = field(default_factory=dict)  # canonical field -> header as found
    warnings: list[str] = field(default_factory=list)


def map_headers(columns: list[str], d: Dictionary) -> tuple[dict[str, tuple[str, str | None]], list[str]]:
    """Header -> (field, unit). Returns the mapping and the unknown headers."""
    mapping: dict[str, tuple[str, str | None]] = {}
    unknown: list[str] = []
    seen: dict[str, str] = {}
    for col in columns:
        if col in ("_source", "_line"):
            continue
        f, unit = d.match_header(col)
        if f is None:
            m = HEADER_UNIT.match(col.strip())
            base = d.lookup(m.group("name").strip()) if m else None
            if base is not None and base.type == "area":
                raise InputError(f"列「{col}」的面积单位「{m.group('unit')}」无法识别（可用：{'、'.join(d.area_units)}）")
            unknown.append(col)
            continue
        if f.name in seen:
            raise InputError(f"列「{seen[f.name]}」与「{col}」都对应字段「{f.name}」，请删除其中一列")
        seen[f.name] = col
        mapping[f.name] = (col, unit)
    return mapping, unknown


def _cast(f: Field, raw: str, unit: str | None, d: Dictionary) -> str:
    if f.type == "string":
        return raw
    if f.type == "int":
        dbl = f"TRY_CAST({raw} AS DOUBLE)"  # '2023.0' (from Excel) is 2023; '2.023e3' is not an integer as written
        return (f"(CASE WHEN regexp_full_match({raw}, '[+-]?[0-9]+(\\.0*)?') AND abs({dbl}) < 1e15 "
                f"THEN CAST({dbl} AS BIGINT) END)")
    if f.type == "area":
        factor = d.area_units[unit or d.area_unit]
        return (f"CAST(round(TRY_CAST(replace({raw}, ',', '') AS DECIMAL(38,10)) * CAST('{factor}' AS DECIMAL(20,6)), {d.area_scale})"
                f" AS DECIMAL(18,{d.area_scale}))")
    if f.type == "date":
        tries = ", ".join(f"TRY_STRPTIME({raw}, {s(fmt)})" for fmt in d.date_formats)
        parsed = f"CAST(COALESCE({tries}) AS DATE)"
        return f"(CASE WHEN year({parsed}) >= 1000 THEN {parsed} END)"  # %Y means four digits: DuckDB reads '23-3-1' as year 23
    if f.type == "bool":
        t = ", ".join(s(v) for v in d.bool_true)
        fl = ", ".join(s(v) for v in d.bool_false)
        return f"(CASE WHEN {raw} IN ({t}) THEN TRUE WHEN {raw} IN ({fl}) THEN FALSE END)"
    if f.type == "enum":
        return f"(CASE WHEN {raw} IN ({', '.join(s(v) for v in f.values)}) THEN {raw} END)"
    raise AssertionError(f.type)


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
    return f"{{'field': {s(field_name)}, 'value': CAST({value_sql} AS VARCHAR), 'reason': {reason_sql}}}"


def normalize(con: duckdb.DuckDBPyConnection, raw: str, d: Dictionary, columns: list[str], *,
              required: set[str], default_year: int | None = None, table: str = "patches") -> Normalized:
    mapping, unknown = map_headers(columns, d)
    warnings = []
    if unknown:
        warnings.append("以下列不在数据字典中，未使用：" + "、".join(unknown))
    year_field = d.key[1]  # 监测年度: --year fills it where the data leaves it empty
    need = set(required) | set(d.always_required)
    if default_year is not None:
        need.discard(year_field)
    missing = [f.name for f in d.fields if f.name in need and f.name not in mapping]
    if missing:
        raise InputError("缺少必需的列：" + "、".join(missing) + "（表头可用中文字段名或代码，如 耕地面积 / GDMJ）")

    selects, problems = [], []
    for f in d.fields:
        if f.name in mapping:
            header, unit = mapping[f.name]
            rawcol = f"NULLIF(trim(CAST({q(header)} AS VARCHAR)), '')"
            typed = _cast(f, rawcol, unit, d)
            if f.name == year_field and default_year is not None:
                typed = f"COALESCE({typed}, {int(default_year)})"
            selects.append(f"{typed} AS {q(f.name)}")
            selects.append(f"{rawcol} AS {q('_raw_' + f.name)}")
            problems.append(
                f"CASE WHEN {q('_raw_' + f.name)} IS NOT NULL AND {q(f.name)} IS NULL THEN "
                + _problem(f.name, q("_raw_" + f.name), s(_reason(f))) + " END"
            )
        else:
            sqltype = {"string": "VARCHAR", "enum": "VARCHAR", "int": "BIGINT", "date": "DATE", "bool": "BOOLEAN",
                       "area": f"DECIMAL(18,{d.area_scale})"}[f.type]
            value = str(int(default_year)) if (f.name == year_field and default_year is not None) else "NULL"
            selects.append(f"CAST({value} AS {sqltype}) AS {q(f.name)}")
            selects.append(f"CAST(NULL AS VARCHAR) AS {q('_raw_' + f.name)}")
        col = q(f.name)
        shown = f"COALESCE({q('_raw_' + f.name)}, CAST({col} AS VARCHAR))"  # the value as the user wrote it
        if f.pattern:
            problems.append(f"CASE WHEN {col} IS NOT NULL AND NOT regexp_full_match({col}, {s(f.pattern)}) THEN "
                            + _problem(f.name, col, s("格式不对（" + f.description + "）" if f.description else "格式不对")) + " END")
        if f.type == "area":
            problems.append(f"CASE WHEN {col} < 0 THEN " + _problem(f.name, shown, s("面积不能为负数")) + " END")
        if f.minimum is not None:
            problems.append(f"CASE WHEN {col} < {int(f.minimum)} THEN " + _problem(f.name, shown, s(f"不能小于 {f.minimum}")) + " END")
        if f.max_field:
            problems.append(f"CASE WHEN {col} > {q(f.max_field)} THEN "
                            + _problem(f.name, shown,
                                       f"'大于' || {s(f.max_field)} || '（' || COALESCE({q('_raw_' + f.max_field)}, CAST({q(f.max_field)} AS VARCHAR)) || '）'") + " END")
        if f.name in d.always_required:
            problems.append(f"CASE WHEN {q('_raw_' + f.name)} IS NULL AND {col} IS NULL THEN " + _problem(f.name, "''", s("必填，不能为空")) + " END")
    key = ", ".join(q(k) for k in d.key)
    problems.append(
        f"CASE WHEN _dup_rank > 1 THEN " + _problem(d.key[0], q(d.key[0]), "'与 ' || _dup_source || ' 第' || _dup_line || '行重复（同一监测年度内图斑编号应唯一）'") + " END"
    )
    con.execute(f"""
        CREATE OR REPLACE TABLE {q(table)} AS
        WITH src AS (SELECT row_number() OVER (ORDER BY _source, _line) AS _rid, * FROM {q(raw)}),
        typed AS (SELECT _rid, _source, _line, {', '.join(selects)} FROM src),
        ranked AS (
            SELECT *,
                CASE WHEN {' AND '.join(q(k) + ' IS NOT NULL' for k in d.key)}
                     THEN row_number() OVER (PARTITION BY {key} ORDER BY _rid) ELSE 1 END AS _dup_rank,
                first_value(_source) OVER (PARTITION BY {key} ORDER BY _rid) AS _dup_source,
                first_value(_line) OVER (PARTITION BY {key} ORDER BY _rid) AS _dup_line
            FROM typed)
        SELECT * EXCLUDE (_dup_rank, _dup_source, _dup_line),
               list_filter([{', '.join(problems)}], lambda x: x IS NOT NULL) AS _errors
        FROM ranked ORDER BY _rid
    """)
    rows, rejected = con.execute(f"SELECT count(*), count(*) FILTER (WHERE len(_errors) > 0) FROM {q(table)}").fetchone()
    return Normalized(table, rows, rejected, {k: v[0] for k, v in mapping.items()}, warnings)


def format_findings_sql(table: str, key_field: str) -> str:
    """SQL listing one 数据格式 finding per problem cell."""
    return f"""
        SELECT _rid, COALESCE({q('_raw_' + key_field)}, '第' || _line || '行') AS patch,
               {s(FORMAT_RULE)} AS rule, 'error' AS severity,
               _source || ' 第' || _line || '行 字段「' || e.field || '」值「' || COALESCE(e.value, '') || '」' || e.reason AS message,
               {s(FORMAT_CITE)} AS cite
        FROM (SELECT _rid, _source, _line, {q('_raw_' + key_field)}, unnest(_errors) AS e FROM {q(table)} WHERE len(_errors) > 0)
    """
