"""Run region assessments as grouped DuckDB queries.

One pass over the patch table computes every aggregate of every assessment of a policy per level, region and
period (engine/run/assess_pass.py) into the small table `_assess_agg`. Then, per assessment in policy order, a final
query over that table derives values, deductions, thresholds and the flag; its result rows (regions × periods, never
patches) are fetched once and become the output rows and region tasks. The flagged rows of an assessment that a later
one rolls up (count of flagged sub-regions or periods) go to the `_assess_out` table, one INSERT before that rollup.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal


from engine.policy.assessments import Assessment, region_attr_types
from engine.lang.compiler import Compiler, SqlContext
from engine.lang.quoting import quote_ident, quote_str
from engine.lang.types import Type
from engine.policy.model import Policy
from engine.data.region_facts import facts_dictionary, facts_relation
from engine.data.regions import load_regions
from engine.run.assess_pass import AssessPass
from engine.run.insert_rows import insert_rows
from engine.run.rows import AssessmentRow, RegionTask

def region_table(con) -> list[str]:
    """Create `_assess_regions` once per connection: code, name, and region data (inherited from the nearest
    ancestor that has a value, so a county sees its province's 用地审批权委托试点省)."""
    attrs = region_attr_types()
    rows = load_regions()
    by_code = {r["代码"]: r for r in rows}

    def inherited(code, col):
        seen = set()
        while code and code not in seen:
            seen.add(code)
            r = by_code.get(code)
            if r is None:
                return None
            if r[col] is not None:
                return r[col]
            code = r["上级代码"]
        return None

    # one statement, lists as parameters zipped by unnest: no pyarrow (and numpy) to import for a small table
    sql_type = {Type.NUMBER: "DOUBLE", Type.BOOL: "BOOLEAN", Type.STRING: "VARCHAR"}
    columns = {"代码": ("VARCHAR", [r["代码"] for r in rows]), "名称": ("VARCHAR", [r["名称"] for r in rows])}
    for a, t in attrs.items():
        columns["_ra_" + a] = (sql_type[t], [inherited(r["代码"], a) for r in rows])
    select = ", ".join(f"unnest(CAST(? AS {typ}[])) AS {quote_ident(name)}" for name, (typ, _v) in columns.items())
    con.execute(f"CREATE TEMP TABLE IF NOT EXISTS _assess_regions AS SELECT {select}", [v for _t, v in columns.values()])
    return list(attrs)


def _facts_sql(a: Assessment, facts: tuple[str, bool], year: int) -> tuple[str, str]:
    """(why a region is not evaluated — NULL when every fact it declares is given —, the join of the facts)."""
    relation, given = facts
    d = facts_dictionary()
    code, fyear = (quote_ident(k) for k in d.key)
    join = f"LEFT JOIN {relation} _f ON _f.{code} = a._region AND _f.{fyear} = {int(year)}"
    if not given:
        return quote_str("未提供区域事实表（--region-facts）"), join
    empty = ", ".join(f"CASE WHEN _f.{quote_ident(n)} IS NULL THEN {quote_str(n)} END" for n in a.facts)
    why = (f"CASE WHEN _f.{code} IS NULL THEN {quote_str(f'区域事实表中没有该区域{int(year)}年度的行')} "
           f"WHEN concat_ws('、', {empty}) <> '' THEN '区域事实表中「' || concat_ws('、', {empty}) || '」为空' END")
    return why, join


def assessment_sql(a: Assessment, policy: Policy, as_of: date, table: str, attrs: list[str],
                   con_facts: tuple[str, bool] = ("", False)) -> tuple[str, list[tuple]]:
    """SQL of one assessment on its own (its pass over `table` and its final stage) and its output columns
    [(path, type)], path = ("numerator",) or ("deductions", id, key).
    con_facts: the region facts relation and whether facts were given (engine.data.region_facts.facts_relation)."""
    plan = AssessPass(policy, as_of, attrs, [a])
    return _final_sql(a, plan, policy, "_assess_g", con_facts, table=table)


def _final_sql(a: Assessment, plan: AssessPass, policy: Policy, relation: str, con_facts: tuple[str, bool],
               table: str | None = None) -> tuple[str, list[tuple]]:
    """The final stage of one assessment over the pass's result `relation` (values, flag, deductions, rollups of
    earlier results in `_assess_out`); with `table`, the pass itself is a CTE of the query."""
    d = policy.dictionary
    full = max(d.levels.values())
    year = int(policy.year)
    level_n = "CASE a._level " + " ".join(f"WHEN {quote_str(lv)} THEN {int(n)}" for lv, n in d.levels.items()) + " END"
    rank = "CASE a._level " + " ".join(f"WHEN {quote_str(lv)} THEN {i}" for i, lv in enumerate(a.levels)) + " END"

    values_sql: dict[str, str] = {n: f"a.{quote_ident('_ra_' + n)}" for n in plan.attrs}
    values_sql.update({n: f"_f.{quote_ident(n)}" for n in a.facts})

    def final(filt: str) -> Compiler:
        return Compiler(SqlContext(d.area_scale, plan.as_of, level_sql="a._level", value_sql=values_sql,
                                   aggregate=plan.hook(a, filt), units=d.units))

    cols: list[tuple[tuple, str, str]] = []  # (path, sql, type)

    def value(name: str, sql: str, typ: str, into: list | None = None):
        values_sql[name] = f"({sql})"
        (cols if into is None else into).append(((name,), sql, typ))

    rollup_cols: list[tuple[tuple, str, str]] = []  # shown after numerator/denominator/ratio

    ctes: list[str] = []
    joins: list[str] = []
    missing_sql = "CAST(NULL AS VARCHAR)"  # why the region was not evaluated (a fact not given), else NULL
    if a.facts:
        missing_sql, fact_join = _facts_sql(a, con_facts, year)
        joins.append(fact_join)
    for i, r in enumerate(a.rollups):
        child = next(x for x in policy.assessments if x.id == r.of)
        finest = max(child.levels, key=lambda lv: d.levels[lv])
        base = (f"SELECT a._level, a._region, a._period, c.region AS _child, c.period AS _cp, c.pidx AS _cpidx "
                f"FROM a JOIN _assess_out c ON c.year = {year} AND c.rule = {quote_str(r.of)} AND c.flagged "
                f"AND c.level = {quote_str(finest)} AND rpad(substr(c.region, 1, {level_n}), {full}, '0') = a._region "
                f"AND starts_with(c.period, a._period)")
        if r.count == "regions":
            body = f"SELECT _level, _region, _period, count(DISTINCT _child) AS n FROM ({base}) GROUP BY ALL"
        elif r.count == "periods":
            body = f"SELECT _level, _region, _period, count(DISTINCT _cp) AS n FROM ({base}) GROUP BY ALL"
        else:
            body = (f"SELECT _level, _region, _period, max(run) AS n FROM ("
                    f"SELECT _level, _region, _period, isl, count(*) AS run FROM ("
                    f"SELECT *, _cpidx - row_number() OVER (PARTITION BY _level, _region, _period ORDER BY _cpidx) AS isl "
                    f"FROM (SELECT DISTINCT _level, _region, _period, _cpidx FROM ({base}) WHERE _cpidx IS NOT NULL)) "
                    f"GROUP BY ALL) GROUP BY ALL")
        ctes.append(f"_r{i} AS ({body})")
        joins.append(f"LEFT JOIN _r{i} ON _r{i}._level = a._level AND _r{i}._region = a._region AND _r{i}._period = a._period")
        value(r.name, f"COALESCE(_r{i}.n, 0)", Type.NUMBER, rollup_cols)

    net_num, net_den = plan.net_numerator(a), plan.net_denominator(a)
    if a.numerator is not None:
        value("numerator", final(net_num).expr(a.numerator), a.numerator.type)
    if a.denominator is not None:
        value("denominator", final(net_den).expr(a.denominator), a.denominator.type)
        value("ratio", f"round(CAST({values_sql['numerator']} AS DOUBLE) / NULLIF(CAST({values_sql['denominator']} AS DOUBLE), 0), 12)",
              Type.NUMBER)
    cols += rollup_cols
    for n, typ in a.facts.items():
        cols.append(((n,), values_sql[n], typ))
    for alias, name in (("分子", "numerator"), ("分母", "denominator"), ("比例", "ratio")):
        if name in values_sql:
            values_sql[alias] = values_sql[name]
    if a.deductions:
        if a.numerator is not None:
            cols.append((("numerator_gross",), final(plan.gross(a)).expr(a.numerator), a.numerator.type))
        if a.denominator is not None:
            cols.append((("denominator_gross",), final(plan.gross(a)).expr(a.denominator), a.denominator.type))
        for x in a.deductions:  # in listed order
            filt = plan.deducted(a, x.id)
            cols.append((("deductions", x.id, "patches"), "a." + plan.count(a, filt),
                         Type.NUMBER))
            if a.numerator is not None:
                cols.append((("deductions", x.id, "numerator"), final(filt).expr(a.numerator), a.numerator.type))
            if a.denominator is not None and x.effect != "numerator":
                cols.append((("deductions", x.id, "denominator"), final(filt).expr(a.denominator), a.denominator.type))
    for name, node in a.values:
        value(name, final(net_den).expr(node), node.type)
    for label, node in a.thresholds():
        cols.append(((label,), final(net_den).expr(node), node.type))
    flag_sql = final(net_den).cond(a.flag)
    if a.facts:  # a fact not given: not evaluated (NULL), never "no"
        flag_sql = f"CASE WHEN {missing_sql} IS NULL THEN {flag_sql} END"

    out_cols = "".join(f",\n  {sql} AS _c{i}" for i, (_, sql, _) in enumerate(cols))
    pass_cte = f"{relation} AS ({plan.sql(table)}),\n" if table is not None else ""
    sql = f"""
WITH {pass_cte}a AS ({plan.groups_sql(a, relation)}){''.join(', ' + c for c in ctes)}
SELECT {year} AS year, {quote_str(a.id)} AS rule, a._level, a._region, a._period, a._pidx, a._name,
  {flag_sql} AS flagged, {missing_sql} AS _missing{out_cols},
  {rank} AS _rank
FROM a {' '.join(joins)}
ORDER BY _rank, a._region, a._pidx NULLS LAST, a._period
"""
    return sql, [(path, typ) for path, _, typ in cols]


def _json_value(v):
    if isinstance(v, Decimal):
        return float(v)
    return v


def _flush(con, pending: list[tuple]) -> None:
    """Write the fetched result rows `pending` (then emptied) into _assess_out, in one statement."""
    insert_rows(con, "_assess_out", [r[:6] + (r[7],) for r in pending])  # year … pidx, flagged
    pending.clear()


def _region_tasks(a: Assessment, recs: list[tuple]) -> list[RegionTask]:
    """One task per region flagged by `a` (ordered by region), naming its flagged periods in order (by period index,
    none last, then label), from the assessment's fetched rows (level, region, period, pidx, name, flagged …)."""
    by_region: dict[str, list[tuple]] = {}
    for _y, _rule, _level, region, period, pidx, name, flagged, *_ in recs:
        if flagged is True:
            by_region.setdefault(region, []).append((pidx is None, pidx or 0, period, name))
    out = []
    for region in sorted(by_region):
        rows = sorted(by_region[region], key=lambda r: r[:3])
        name = next((r[3] for r in rows if r[3] is not None), None)
        periods = "、".join(r[2] for r in rows if r[2] is not None)
        label = f"{name}（{region}）" if name else region
        out.append(RegionTask(region, a.id, a.task["level"], a.task["action"], a.task["cite"],
                              f"{label}：{a.title}（{periods}）→ {a.task['title']}"))
    return out


def run_assessments(con, table: str, policy: Policy, as_of: date) -> tuple[list[AssessmentRow], list[RegionTask]]:
    """Every assessment of `policy` over `table`: (rows of the output contract, region tasks: one per flagged
    region of an assessment that has a `task:`)."""
    items = policy.assessments
    if not items:
        return [], []
    attrs = region_table(con)
    facts = facts_relation(con) if any(a.facts for a in items) else ("", False)
    con.execute("CREATE TEMP TABLE IF NOT EXISTS _assess_out (year INTEGER, rule VARCHAR, level VARCHAR, region VARCHAR, "
                "period VARCHAR, pidx BIGINT, flagged BOOLEAN)")
    con.execute(f"DELETE FROM _assess_out WHERE year = {int(policy.year)}")
    plan = AssessPass(policy, as_of, attrs, items)
    finals = [_final_sql(a, plan, policy, "_assess_agg", facts) for a in items]  # registers every aggregate first
    con.execute(f"CREATE OR REPLACE TEMP TABLE _assess_agg AS {plan.sql(table)}")  # the one pass over the table
    out: list[AssessmentRow] = []
    tasks: list[RegionTask] = []
    counted = {r.of for a in items for r in a.rollups}  # assessments whose flagged rows a rollup counts
    pending: list[tuple] = []  # such rows not yet in _assess_out: written before a rollup reads them, and at the end
    for a, (sql, cols) in zip(items, finals):
        if a.rollups:
            _flush(con, pending)
        recs = con.execute(sql).fetchall()  # in the output's order; one statement per assessment (each costs planning)
        if a.id in counted:
            pending += [r for r in recs if r[7] is True]  # flagged
        titles = {x.id: (x.title, x.effect_word) for x in a.deductions}
        for rec in recs:
            _, rule, level, region, period, _pidx, name, flagged, missing, *vals = rec[:-1]  # without _rank
            values: dict = {}
            for (path, _typ), v in zip(cols, vals):
                if path[0] == "deductions":
                    title, effect = titles[path[1]]
                    slot = values.setdefault("deductions", {}).setdefault(path[1], {"title": title, "effect": effect})
                    slot[path[2]] = _json_value(v)
                else:
                    values[path[0]] = _json_value(v)
            out.append(AssessmentRow(rule, a.kind, level, region, name, period, values,
                                     None if missing else bool(flagged), a.cite, missing))
        if a.task:
            tasks += _region_tasks(a, recs)
    _flush(con, pending)  # what explain's assessments read
    con.execute("DROP TABLE _assess_agg")
    return out, tasks
