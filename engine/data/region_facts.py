"""The region facts table (`--region-facts FILE`): one row per region and year holding facts the patch table does
not (the `region_facts:` section of schemas/fields.yaml names them, e.g. how many years running a region's mining
patches showed illegal activity). Read by the patch readers, typed by `normalize` like patch data (headers, aliases,
values), then checked: a bad value, a region the region table does not know and a (region, year) given twice stop
the run with file, row, field and value — every problem at once, nothing dropped. The result is the DuckDB table
FACTS_TABLE, which the assessments that declare `facts:` join (engine/run/assess_sql.py)."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date

from engine.data.dictionary import Dictionary, load_facts_dictionary
from engine.data.normalize import normalize
from engine.data.regions import load_regions
from engine.errors import InputError
from engine.lang.quoting import quote_ident

FACTS_TABLE = "_region_facts"  # key columns under the dictionary's names, one column per fact, typed
RECORDS_SOURCE = "<区域事实>"  # the _source of facts given as records (policy test cases)
KNOWN_UNUSED_NOTE = "以下列是已知的"  # normalize's note on the dictionary's known_unused columns: here 名称, 备注 (for people)
MAX_LISTED = 20  # problems listed in one message (the count says how many more)


@dataclass
class FactsInfo:
    path: str
    sha256: str
    rows: int
    warnings: list[str] = field(default_factory=list)

    def manifest(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "rows": self.rows}


def facts_dictionary() -> Dictionary:
    d = load_facts_dictionary()
    if d is None:
        raise InputError("数据字典 schemas/fields.yaml 中没有 region_facts 部分，不能读取区域事实表")
    return d


def load_region_facts(con, source) -> FactsInfo:
    """Read the facts file `source` (a path), or facts given as dicts (a list), into FACTS_TABLE of `con`.
    Raises InputError naming every problem (file, row, field, value)."""
    d = facts_dictionary()
    raw, stage = "_facts_raw", "_facts_stage"
    if isinstance(source, list):
        columns, info = _records(con, raw, source, d)
    else:
        from engine.data.readers import read_input  # the readers import their dictionary at call time

        headers = [h for f in d.fields for h in (f.name, f.code, *(a for a, _u in d.aliases.get(f.name, [])))]
        try:
            read = read_input(con, source, raw, extra_headers=headers + list(d.known_unused))
        except InputError as exc:
            raise InputError(f"区域事实表：{exc}") from None
        columns = read.columns
        info = FactsInfo(str(source), read.sha256, read.rows, [f"区域事实表：{w}" for w in read.warnings])
    try:
        norm = normalize(con, raw, d, columns, required=set(d.key), table=stage)
    except InputError as exc:
        raise InputError(f"区域事实表 {info.path}：{exc}") from None
    info.warnings += [f"区域事实表：{w}" for w in norm.warnings if not w.startswith(KNOWN_UNUSED_NOTE)]
    problems = _problems(con, stage, d)
    if problems:
        shown = "\n".join("  " + p for p in problems[:MAX_LISTED])
        more = f"\n  …另有 {len(problems) - MAX_LISTED} 处" if len(problems) > MAX_LISTED else ""
        raise InputError(f"区域事实表 {info.path} 有 {len(problems)} 处问题，整个文件未使用，请改正后重新运行：\n{shown}{more}")
    cols = ", ".join(quote_ident(f.name) for f in d.fields)
    con.execute(f"CREATE OR REPLACE TEMP TABLE {FACTS_TABLE} AS SELECT {cols} FROM {quote_ident(stage)}")
    for t in (raw, stage):
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(t)}")
    return info


def _problems(con, stage: str, d: Dictionary) -> list[str]:
    """Every bad cell and duplicate (from normalize), then every region code the region table does not know."""
    code = quote_ident(d.key[0])
    out = con.execute(
        f"SELECT _source, _line, e.field, e.value, e.reason FROM (SELECT _source, _line, unnest(_errors) AS e "
        f"FROM {quote_ident(stage)} WHERE len(_errors) > 0)").fetchall()
    import pyarrow as pa  # imported when a facts table is read, not at start

    con.register("_facts_known", pa.table({"code": pa.array([r["代码"] for r in load_regions()], pa.string())}))
    try:
        unknown = con.execute(
            f"SELECT _source, _line, {code} FROM {quote_ident(stage)} WHERE len(_errors) = 0 AND {code} NOT IN "
            f"(SELECT code FROM _facts_known)").fetchall()
    finally:
        con.unregister("_facts_known")
    out += [(src, line, d.key[0], value, "不在行政区表中（datasets/regions.csv）") for src, line, value in unknown]
    return [f"{src} 第 {line} 行 字段「{name}」值「{value or ''}」{reason}" for src, line, name, value, reason in sorted(out)]


def _records(con, raw: str, records: list[dict], d: Dictionary) -> tuple[list[str], FactsInfo]:
    """Facts given as dicts (field name or code -> value) as the all-text table `raw`."""
    import pyarrow as pa

    def name(k) -> str:
        f = d.lookup_header(str(k))
        return f.name if f is not None else str(k)

    def text(v):
        if v is None:
            return None
        if isinstance(v, bool):
            return d.bool_true[0] if v else d.bool_false[0]
        return v.isoformat() if isinstance(v, date) else str(v)

    rows = [{name(k): text(v) for k, v in r.items()} for r in records]
    columns = list(dict.fromkeys(k for r in rows for k in r))
    data = {c: pa.array([r.get(c) for r in rows], pa.string()) for c in columns}
    data["_source"] = pa.array([RECORDS_SOURCE] * len(rows), pa.string())
    data["_line"] = pa.array(range(1, len(rows) + 1), pa.int64())
    con.register("_facts_arrow", pa.table(data))
    con.execute(f"CREATE OR REPLACE TABLE {quote_ident(raw)} AS SELECT * FROM _facts_arrow")
    con.unregister("_facts_arrow")
    blob = json.dumps(rows, ensure_ascii=False, sort_keys=True).encode()
    return columns, FactsInfo(RECORDS_SOURCE, hashlib.sha256(blob).hexdigest(), len(rows))


def _given(con) -> bool:
    """Whether facts were read into `con` (--region-facts, or a test case's region_facts)."""
    return bool(con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [FACTS_TABLE]).fetchall()[0][0])


def facts_relation(con) -> tuple[str, bool]:
    """SQL of the facts relation for assessments, and whether facts were given (--region-facts, or a test case's):
    FACTS_TABLE, or an empty relation of the same columns."""
    if _given(con):
        return FACTS_TABLE, True
    d = facts_dictionary()
    sql_type = {"string": "VARCHAR", "enum": "VARCHAR", "int": "BIGINT", "date": "DATE", "bool": "BOOLEAN",
                "area": f"DECIMAL(18,{d.area_scale})"}
    cols = ", ".join(f"CAST(NULL AS {sql_type[f.type]}) AS {quote_ident(f.name)}" for f in d.fields)
    return f"(SELECT {cols} WHERE FALSE)", False


def unused_facts(con, used: set[tuple[str, int]]) -> str | None:
    """A warning naming the facts rows no assessment read — (region, year) pairs outside `used`, e.g. a region
    without patches in the input — or None. A row of the table is never passed over without a word."""
    if not _given(con):
        return None
    d = facts_dictionary()
    code, year = (quote_ident(k) for k in d.key)
    rows = [(c, int(y)) for c, y in con.execute(f"SELECT {code}, {year} FROM {FACTS_TABLE} ORDER BY 2, 1").fetchall()
            if (c, int(y)) not in used]
    if not rows:
        return None
    shown = "、".join(f"{c}（{y}年度）" for c, y in rows[:10]) + (f" 等 {len(rows)} 行" if len(rows) > 10 else "")
    return f"区域事实表中 {shown} 没有用于任何评估：输入数据中没有该区域该年度的图斑，或该年度政策没有引用区域事实的评估"
