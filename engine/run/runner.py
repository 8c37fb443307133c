"""Run policies over a patch table: normalize once, then one scan per policy year for all row rules and triggers."""
from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb

from engine.run.assess_sql import run_assessments
from engine.lang.compiler import Compiler, SqlContext
from engine.lang.quoting import quote_ident, quote_str
from engine.data.dictionary import Dictionary
from engine.duck import connect
from engine.errors import InputError
from engine.data.normalize import Normalized, format_findings_sql, missing_message, normalize
from engine.data.readers.columnar import read_through_view
from engine.data.readers.common import PARQUET_SUFFIXES, allow_path, is_view
from engine.data.region_facts import load_region_facts, unused_facts
from engine.policy.model import Check, Policy
from engine.policy.policyset import PolicySet, load_policies
from engine.run.failures import run_located
from engine.run.insert_rows import insert_rows
from engine.run.messages import check_message_sql, message_fields, message_sql
from engine.run.partial import NotEvaluated, needed_by, without_missing
from engine.run.result import UNRANKED, Result, ResultRows
from engine.run.rows import AssessmentRow, RegionTask
from engine.lang.units import quantize_area


def as_date(value) -> date:
    """An evaluation date (评估日期): a date, ISO text, or None for today."""
    if value is None:
        return date.today()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise InputError(f"评估日期「{value}」不是有效日期（应写成 2024-06-30）") from None


_MSG_COLUMN = "_msg_"  # prefix of the fields a hit carries for its message (no clash with a field's own name)


def row_sql(policy: Policy, as_of: date, table: str = "patches", checks: list[Check] | None = None,
            carry: tuple[tuple[str, str], ...] = (), messages: bool = False) -> str:
    """One SELECT evaluating every row rule and trigger of `policy` in a single scan of `table`: one (row, check)
    pair per hit, with columns _rid, patch, the carried ones, idx (the check's position) and message.
    carry: (SQL expression, name) pairs of the patch passed through with each hit (the results' own columns).
    messages: render each hit's message here, from the row being scanned (a run that writes every row's message:
    no join back to the patches later); otherwise message is NULL and message_sql renders only the rows shown."""
    checks = policy.checks if checks is None else checks
    items = []
    for i, c in enumerate(checks):
        comp = Compiler(SqlContext(policy.dictionary.area_scale, as_of, level=c.level, units=policy.dictionary.units))
        items.append(f"CASE WHEN {comp.cond(c.when)} THEN {i} END")
    key = quote_ident(policy.dictionary.key[0])
    year_col = quote_ident(policy.dictionary.key[1])
    body = ",\n    ".join(items) if items else ""
    msg = "NULL::VARCHAR"
    if messages and checks:  # the fields the messages show ride along with each hit, under names of their own
        shown = message_fields(checks)
        carry = (*carry, *((quote_ident(f), _MSG_COLUMN + f) for f in shown))
        column = lambda f: quote_ident(_MSG_COLUMN + f)  # noqa: E731
        whens = " ".join(f"WHEN {i} THEN {check_message_sql(policy, c, as_of, column)}" for i, c in enumerate(checks))
        msg = f"CASE hit {whens} END"
    inner = "".join(f", {expr} AS {quote_ident(name)}" for expr, name in carry)
    outer = "".join(f", {quote_ident(name)}" for _, name in carry if not name.startswith(_MSG_COLUMN))
    return (
        f"SELECT _rid, {key} AS patch{outer}, hit AS idx, {msg} AS message FROM (\n"
        f"  SELECT _rid, {key}{inner}, unnest(list_filter([\n    {body}\n  ]::INTEGER[], lambda x: x IS NOT NULL)) AS hit\n"
        f"  FROM {quote_ident(table)} WHERE {year_col} = {int(policy.year)} AND len(_errors) = 0\n)"
    )


_RUNS = itertools.count(1)


def lock(con: duckdb.DuckDBPyConnection, writable=()) -> None:
    """Sandbox `con` (opened by engine.duck.connect: memory limit and spill directory already set) once the input is in it,
    before any policy SQL runs: no file, network or extension access, and a configuration nobody can change.
    writable: the temp files of its exports (engine.run.exports.reserve); with a Parquet input read through a view
    (read_input lazy=True, already in allowed_paths), the only files it may still access."""
    for p in writable:
        allow_path(con, str(p))
    con.execute("SET autoinstall_known_extensions = false")
    con.execute("SET autoload_known_extensions = false")
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")


@dataclass
class Prepared:
    """An input read and normalized once into the typed table `patches` of `con`; `evaluate` may run on it many times."""

    con: duckdb.DuckDBPyConnection
    dictionary: Dictionary
    norm: Normalized
    meta: dict
    warnings: list[str]
    exports: dict[str, str] = field(default_factory=dict)  # output -> temp file this connection may write


def _policies(policies) -> PolicySet:
    """A policy set as given ({year: Policy} or PolicySet), or loaded from a directory (None: the bundled one)."""
    return PolicySet.of(policies) if isinstance(policies, dict) else load_policies(policies)


def check(data, policies: dict[int, Policy] | str | Path | None = None, *, as_of=None, year: int | None = None,
          sheet: str | None = None, encoding: str | None = None, assess: bool = True, area_unit: str | None = None,
          columns=None, allow_missing: bool = False, waivers=None, region_facts=None, exports=None,
          every_message: bool = False) -> Result:
    """Check a patch file (or folder) against the policies of each row's 监测年度. allow_missing: run the rules
    whose columns the file has and name the others (Result.not_evaluated) instead of refusing the file.
    waivers: a waivers file (--waivers, see engine.run.waivers): findings it validly explains go to Result.waived.
    region_facts: the region facts file (--region-facts), see engine.data.region_facts.
    exports: {output: temp file} from engine.run.exports.reserve, the files the run's connection may write.
    every_message: the caller will write every finding's and task's message (JSON, ledger, CSV): the scan renders
    them (a run with exports always does)."""
    return check_variants(data, [policies], as_of=as_of, year=year, sheet=sheet, encoding=encoding, assess=assess,
                          area_unit=area_unit, columns=columns, allow_missing=allow_missing, waivers=waivers,
                          region_facts=region_facts, exports=exports, every_message=every_message)[0]


def check_variants(data, variants: list, *, as_of=None, year: int | None = None, sheet: str | None = None,
                   encoding: str | None = None, assess: bool = True, area_unit: str | None = None,
                   columns=None, allow_missing: bool = False, waivers=None, region_facts=None,
                   exports=None, every_message: bool = False) -> list[Result]:
    """Run several policy sets on the same input, read and normalized once (e.g. the old and new policy of a diff)."""
    variants = [_policies(v) for v in variants]
    if waivers is not None:
        from engine.run.waiver_file import read_waivers

        waivers = read_waivers(waivers, variants[0].dictionary)  # checked before the (larger) input is read
    prepared = prepare(data, variants[0], year=year, sheet=sheet, encoding=encoding, area_unit=area_unit, columns=columns,
                       region_facts=region_facts, exports=exports)
    as_of = as_date(as_of)
    return [evaluate(prepared, v, as_of, year=year, assess=assess, allow_missing=allow_missing, waivers=waivers,
                     every_message=every_message)
            for v in variants]


def check_records(records: list[dict], policies: dict[int, Policy] | str | Path | None = None, *, as_of=None,
                  year: int | None = None, assess: bool = True, dictionary: Dictionary | None = None,
                  waivers=None, region_facts: list[dict] | None = None) -> Result:
    """Check patches given as dicts (field name or code -> value). Areas may carry a unit of the dictionary's area_units, e.g. '12.5' followed by the unit.
    region_facts: region facts as dicts (a policy test case's), None for none given."""
    as_of = as_date(as_of)
    policies = _policies(policies)
    if waivers is not None:
        from engine.run.waiver_file import read_waivers

        waivers = read_waivers(waivers, policies.dictionary)
    prepared = prepare_records(records, policies, year=year, dictionary=dictionary)
    if region_facts is not None:
        prepared.meta["region_facts"] = load_region_facts(prepared.con, region_facts).manifest()
    # fields the records do not give are empty; only given columns are parsed (fast for small test cases)
    return evaluate(prepared, policies, as_of, year=year, assess=assess, require_columns=False, waivers=waivers)


def prepare(data, policies: dict[int, Policy], *, year: int | None = None, sheet: str | None = None,
            encoding: str | None = None, area_unit: str | None = None, columns=None, region_facts=None,
            exports: dict[str, str] | None = None) -> Prepared:
    """columns: a column map file (--columns map.yaml), see engine.data.column_map."""
    """Read a patch file once into a DuckDB connection and normalize it into the typed table `patches`."""
    from engine.data.readers import read_input  # its InputError is an engine.errors.InputError

    d = PolicySet.of(policies).dictionary
    cmap = None
    if columns is not None:
        from engine.data.column_map import load_column_map

        cmap = load_column_map(columns, d)
    con = connect(keep_order=False)  # bounded while the input is read too
    info = read_input(con, data, "raw", sheet=sheet, encoding=encoding, dictionary=d, lazy=True,
                      extra_headers=cmap.headers.values() if cmap else ())
    facts = load_region_facts(con, region_facts) if region_facts is not None else None  # read before the lock
    lock(con, (exports or {}).values())
    meta = {"path": str(data), "sha256": info.sha256, "files": info.files,
            "rows_read": info.rows + len(info.skipped), "skipped": len(info.skipped), "skipped_rows": info.skipped}
    if cmap is not None:
        meta["column_map"] = cmap.manifest()
    if facts is not None:
        meta["region_facts"] = facts.manifest()
    # a Parquet file read through a view: normalize reads the file itself (a CSV's view reads its copy)
    lazy = is_view(con, "raw") and Path(str(data)).suffix.lower() in PARQUET_SUFFIXES
    with read_through_view(Path(str(data))) if lazy else contextlib.nullcontext():
        prepared = _normalized(con, info.columns, meta, info.warnings + (facts.warnings if facts else []), d, year,
                               area_unit=area_unit, unit_check=True, column_map=cmap)
    prepared.exports = dict(exports or {})
    return prepared


def prepare_records(records: list[dict], policies: dict[int, Policy], *, year: int | None = None,
                    dictionary: Dictionary | None = None) -> Prepared:
    """Patches given as dicts, normalized into the typed table `patches` of a new connection."""
    d = PolicySet.of(policies).dictionary
    con, columns, meta = records_table(records, dictionary or d)
    return _normalized(con, columns, meta, [], d, year)


def _normalized(con, columns: list[str], meta: dict, warnings: list[str], d: Dictionary, year: int | None, *,
                area_unit: str | None = None, unit_check: bool = False, column_map=None) -> Prepared:
    norm = normalize(con, "raw", d, columns, required=set(), default_year=year, area_unit=area_unit, unit_check=unit_check,
                     column_map=column_map, trimmed=True)
    if unit_check:
        meta["area_units"] = norm.area_units  # how each area column's unit was decided
    return Prepared(con, d, norm, meta, list(warnings) + norm.warnings)


def records_table(records: list[dict], d: Dictionary):
    """Patches given as dicts, as the all-text table `raw` of a new connection: (con, columns, meta)."""
    canon = lambda k: d.lookup(k).name if d.lookup(k) is not None else k  # noqa: E731
    records = [{canon(k): v for k, v in r.items()} for r in records]
    columns: list[str] = []
    for r in records:
        for k in r:
            if k not in columns:
                columns.append(k)
    data = {c: [_text(d, c, r.get(c)) for r in records] for c in columns}
    data["_source"] = ["<records>"] * len(records)
    data["_line"] = list(range(1, len(records) + 1))
    import pyarrow as pa  # only for records (the CLI reads files)

    con = connect(keep_order=False)  # bounded while the input is read too
    con.register("raw_arrow", pa.table(data) if records else pa.table({"_source": pa.array([], pa.string()), "_line": pa.array([], pa.int64())}))
    con.execute("CREATE TABLE raw AS SELECT * FROM raw_arrow")
    lock(con)
    blob = json.dumps(records, ensure_ascii=False, sort_keys=True, default=str).encode()
    meta = {"path": "<records>", "sha256": hashlib.sha256(blob).hexdigest(), "files": []}
    return con, columns, meta


def _text(d: Dictionary, column: str, value) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, date):
        return value.isoformat()
    f = d.lookup(column)
    text = str(value).strip()
    if f is not None and f.type == "area":
        for unit in sorted(d.area_units, key=len, reverse=True):
            if text.endswith(unit):
                return str(quantize_area(Decimal(text[: -len(unit)].strip()) * d.area_units[unit], d.area_scale))
    return text


def evaluate(prepared: Prepared, policies: dict[int, Policy], as_of: date, *, year: int | None = None,
             assess: bool = True, require_columns: bool = True, allow_missing: bool = False, waivers=None,
             every_message: bool = False) -> Result:
    """Run the policies on the normalized table `patches` (may be called again on the same connection).
    waivers: an engine.run.waiver_file.WaiverFile; the hits it validly explains leave the findings (Result.waived).
    every_message: render every hit's message in the scan (see check)."""
    con, d, norm = prepared.con, prepared.dictionary, prepared.norm
    year_col = quote_ident(d.key[1])
    years = dict(con.execute(f"SELECT {year_col}, count(*) FROM patches WHERE len(_errors) = 0 GROUP BY 1 ORDER BY 1").fetchall())
    unknown = {y: n for y, n in years.items() if y not in policies}
    if unknown:
        have = "、".join(str(y) for y in sorted(policies)) or "无"
        what = "；".join(f"监测年度 {y} 有 {n} 行" for y, n in unknown.items())
        raise InputError(f"{what}，没有对应年度的政策（可用年度：{have}）。请检查 监测年度 列，或用 --year 指定")
    used = {y: policies[y] for y in years}
    needed = set().union(*(p.fields_used for p in used.values())) if used else set()
    missing = [f.name for f in d.fields if f.name in needed and f.name not in norm.mapping]
    not_evaluated: list[NotEvaluated] = []
    if missing and require_columns and allow_missing:  # run what the file allows, name what it does not
        for y in used:
            used[y], dropped = without_missing(used[y], set(missing))
            not_evaluated += dropped
    elif missing and require_columns:
        by = {f: ids for p in used.values() for f, ids in needed_by(p).items()}
        raise InputError(missing_message("缺少本年度政策需要的列", missing, norm.headers, d, needed_by=by,
                                         sources=norm.sources) + "。可用 --allow-missing 只运行不需要这些列的规则")

    run = next(_RUNS)  # each evaluation keeps its own tables and view: its Result streams its rows from them
    hits, catalog, region_table, view = f"hits_{run}", f"catalog_{run}", f"region_tasks_{run}", f"results_{run}"
    formats = f"formats_{run}"
    # each hit carries the patch's own columns of the results (counts, sorts and the rows a report lists read
    # them without joining the patches back; only a message does)
    have = {r[0] for r in con.execute("SELECT column_name FROM (DESCRIBE patches)").fetchall()}
    carry = ((_region_sql(d, have), "region"), ("_source", "source"), ("_line", "line"))
    # a run that exports every row renders every message: in the scan, from the row at hand, not by joining each
    # hit back to its patch afterwards (at 10^7 patches, a join per export piece with a table far over memory)
    scan_messages = every_message or bool(prepared.exports)
    con.execute(f"CREATE TABLE {hits} (_y INTEGER, _i INTEGER, _rid BIGINT, patch VARCHAR, region VARCHAR, "
                f"source VARCHAR, line BIGINT, message VARCHAR)")
    for y, policy in used.items():
        run_located(con, f"INSERT INTO {hits} SELECT {int(y)}, idx, _rid, patch, region, source, line, message "
                         f"FROM ({row_sql(policy, as_of, carry=carry, messages=scan_messages)})",
                    policy, lambda c, policy=policy: row_sql(policy, as_of, checks=[c], messages=scan_messages))
    # the 数据格式 findings, once: every count, sort and export reads them, none rescans the patches for them
    con.execute(f"CREATE TABLE {formats} AS {format_rows_sql(d, have)}")
    waived = None
    if waivers is not None:  # before the results view: a waived hit is no finding, in any count or output
        from engine.run.waivers import apply_waivers

        waived = apply_waivers(con, waivers, policies, used, hits, d, as_of, run)
    assessments: list[AssessmentRow] = []
    region_tasks: list[RegionTask] = []
    fact_regions: set[tuple[str, int]] = set()  # (region, year) of every result that read region facts
    if assess:
        for y, policy in used.items():
            rows, tasks = run_assessments(con, "patches", policy, as_of)
            assessments += rows
            with_facts = {a.id for a in policy.assessments if a.facts}
            fact_regions |= {(r.region, int(y)) for r in rows if r.rule in with_facts}
            region_tasks += tasks
    _catalog_table(con, used, catalog)
    _region_table(con, region_table, region_tasks)
    rows = ResultRows(con, view, f"{view}_keys", lambda only=None: message_sql(used, as_of, "k._y", "k._i", only),
                      prepared.exports, rendered=scan_messages)  # the view itself is created when first read
    con.execute(f"CREATE VIEW {rows.keys} AS {results_sql(d, have, hits, catalog, region_table, formats)}")
    meta = {**prepared.meta, "rows": norm.rows, "rejected": norm.rejected, "checked": norm.rows - norm.rejected,
            "years": sorted(years)}
    policies_used = used or ({year: policies[year]} if year in policies else {})
    warnings = list(prepared.warnings) + [x.line() for x in not_evaluated]  # every output shows the warnings
    if assess and (unused := unused_facts(con, fact_regions)):
        warnings.append(unused)
    return Result(policies_used, d, meta, as_of, rows, assessments, warnings, not_evaluated,
                  waived=waived)


def _catalog_table(con, used: dict[int, Policy], catalog: str) -> None:
    """Each check of each year's policy by (year, idx): what a hit of it is (rule or trigger) and its labels."""
    rows = [(y, i, c.id, c.kind, c.severity, c.level, c.action, c.cite)
            for y, policy in used.items() for i, c in enumerate(policy.checks)]
    con.execute(f"CREATE TABLE {catalog} (_y INTEGER, _i INTEGER, rule VARCHAR, kind VARCHAR, severity VARCHAR, "
                f"level VARCHAR, action VARCHAR, cite VARCHAR)")
    insert_rows(con, catalog, rows)


def _region_table(con, table: str, region_tasks: list[RegionTask]) -> None:
    """The tasks the assessments gave to regions (few), in their order."""
    con.execute(f"CREATE TABLE {table} (region VARCHAR, rule VARCHAR, level VARCHAR, action VARCHAR, "
                f"cite VARCHAR, message VARCHAR, ord INTEGER)")
    insert_rows(con, table, [(t.region, t.rule, t.level, t.action, t.cite, t.message, i) for i, t in enumerate(region_tasks)])


def _region_sql(d: Dictionary, have: set[str]) -> str:
    """A patch's region code as text (NULL when the table patches, whose columns are `have`, has none)."""
    return f"CAST({quote_ident(d.region_field)} AS VARCHAR)" if d.region_field in have else "NULL::VARCHAR"


def format_rows_sql(d: Dictionary, have: set[str]) -> str:
    """The 数据格式 findings of the table patches (whose columns are `have`) with the columns of the results."""
    year = f"CAST({quote_ident(d.key[1])} AS INTEGER)" if d.key[1] in have else "NULL::INTEGER"
    return (f"SELECT year, patch, region, rule, severity, cite, source, line, _rid, message FROM "
            f"({format_findings_sql('patches', d.key[0], ((year, 'year'), (_region_sql(d, have), 'region')))})")


def results_sql(d: Dictionary, have: set[str], hits: str, catalog: str, region_table: str, formats: str) -> str:
    """Every finding and task of one evaluation, one row each, without the messages of the hits (unless the scan
    rendered them): what counts, sorts and a report's choice of rows read (ResultRows.keys);
    ResultRows.with_messages adds the message column (the results view, the one place a report or export reads
    rows from, where a later status can be joined in).
    Columns: kind (finding, task, region_task), year, patch, region, rule, severity, level, action, cite, source,
    line, and the sort keys _rid, _tie (a 数据格式 finding's own text), _ord (a region task's position) and _rank
    (the level's, 省级 first); _y, _i: the hit's check (NULL on other rows), _msg: the message of other rows and
    of hits whose message the scan rendered. `have`: the columns of the table patches; `formats`: the table of
    format_rows_sql."""
    ranks = " ".join(f"WHEN {quote_str(lv)} THEN {i}" for i, lv in enumerate(list(d.levels)[::-1]))  # 省级 first
    rank = f"CASE level {ranks} ELSE {UNRANKED} END" if ranks else str(UNRANKED)  # a function of level only
    return f"""
        SELECT *, {rank} AS _rank FROM (
            SELECT CASE c.kind WHEN 'rule' THEN 'finding' ELSE 'task' END AS kind, h._y AS year, h.patch, h.region,
                   c.rule, c.severity, c.level, c.action, c.cite, h.source, h.line,
                   h._rid AS _rid, NULL::VARCHAR AS _tie, NULL::INTEGER AS _ord, h._y AS _y, h._i AS _i,
                   h.message AS _msg
            FROM {hits} h JOIN {catalog} c USING (_y, _i)
            UNION ALL
            SELECT 'finding', year, patch, region, rule, severity, NULL, NULL, cite, source, line, _rid, message,
                   NULL, NULL, NULL, message
            FROM {formats}
            UNION ALL
            SELECT 'region_task', NULL, NULL, region, rule, NULL, level, action, cite, NULL, NULL,
                   NULL, NULL, ord, NULL, NULL, message
            FROM {region_table}
        )"""
