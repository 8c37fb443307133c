"""The one pass of region assessments over the patch table: every aggregate of every assessment of a policy in one
grouped query.

Every checked patch row is paired with each assessed level (its region code at that level is the prefix of the
county code, per schemas/fields.yaml `levels`) and tagged, per assessment, with whether it is in the assessment's
scope at that level (`_s*`) and the deduction that applies to it (`_d*` id, `_e*` effect; precedence: see
engine/policy/assessments.py). The rows are grouped once by level, region and month, every aggregate of every
assessment a column (`sum(CASE WHEN <where> AND <deduction filter> AND <scope> THEN <arg> END)`); GROUPING SETS —
(level, region) and (level, region, period) for each kind of period an assessment uses — then roll that small table
up (sums and counts add up). engine/run/assess_sql.py derives values, flags and deductions from the result.
Identical expressions (e.g. an assessment and its `basis:`) share their columns.
"""
from __future__ import annotations

from datetime import date

from engine.lang import ast
from engine.lang.compiler import Compiler, SqlContext
from engine.lang.quoting import quote_ident, quote_str
from engine.policy.assessments import Assessment
from engine.policy.check import fields_of
from engine.policy.model import Policy


class _Used(dict):
    """value_sql that records which names a compiled expression read."""

    def __init__(self, *args):
        super().__init__(*args)
        self.used: set[str] = set()

    def __getitem__(self, key):
        self.used.add(key)
        return super().__getitem__(key)


class AssessPass:
    """The row tags and aggregates of `items` (assessments of `policy`), collected while their final stages are
    compiled (`hook`), then one grouped query (`sql`) and each assessment's slice of its result (`groups_sql`)."""

    def __init__(self, policy: Policy, as_of: date, attrs: list[str], items: list[Assessment]):
        d = self.d = policy.dictionary
        self.policy, self.as_of, self.attrs, self.items = policy, as_of, attrs, items
        self.year = int(policy.year)
        self.value_sql = _Used({n: quote_ident("_ra_" + n) for n in attrs})
        self.row = Compiler(SqlContext(d.area_scale, as_of, level_sql="_level", value_sql=self.value_sql, units=d.units))
        self.tags: dict[str, str] = {}  # row tag SQL -> column name
        self.aggs: dict[str, str] = {}  # aggregate SQL -> column name
        self.periods: dict[tuple[str, str], str] = {}  # (period, date field) -> column suffix
        self.months: dict[str, str] = {}  # date field of a period -> column of its month in the first stage
        self.levels = [lv for lv in d.levels if any(lv in a.levels for a in items)]
        self._cols: dict[int, tuple[str, str, str, str]] = {}  # id(assessment) -> (scope, ded, eff, count) columns
        for a in items:
            self._tag(a)

    def _add_tag(self, sql: str, prefix: str) -> str:
        return self.tags.setdefault(sql, f"{prefix}{len(self.tags)}")

    def _tag(self, a: Assessment):
        levels = ", ".join(quote_str(lv) for lv in a.levels)
        scope = f"_level IN ({levels})" + (f" AND ({self.row.cond(a.scope)})" if a.scope is not None else "")
        s = self._add_tag(scope, "_s")
        deds = a.ordered_deductions()
        if deds:
            ded = self._add_tag("CASE " + " ".join(f"WHEN {self.row.cond(x.when)} THEN {quote_str(x.id)}" for x in deds)
                                + " END", "_d")
            eff = self._add_tag("CASE " + " ".join(f"WHEN {self.row.cond(x.when)} THEN {quote_str(x.effect)}" for x in deds)
                                + " END", "_e")
        else:
            ded = eff = ""
        n = self.count(s)
        self._cols[id(a)] = (s, ded, eff, n)
        if a.period != "year" and a.period_date is not None:
            self.periods.setdefault((a.period, a.period_date.ref[1].name), str(len(self.periods)))
            self.months.setdefault(a.period_date.ref[1].name, f"_m{len(self.months)}")

    def add(self, sql: str) -> str:
        return self.aggs.setdefault(sql, f"_a{len(self.aggs)}")

    def count(self, cond: str) -> str:
        """The column counting the rows where `cond` holds."""
        return self.add(f"count(CASE WHEN {cond} THEN 1 END)")

    # which patches an aggregate counts, by the deduction effect its row carries (no deductions: every patch)
    def net_numerator(self, a: Assessment) -> str:
        eff = self._cols[id(a)][2]
        return f"{eff} IS NULL" if eff else "TRUE"

    def net_denominator(self, a: Assessment) -> str:
        eff = self._cols[id(a)][2]
        return f"({eff} IS NULL OR {eff} = 'numerator')" if eff else "TRUE"

    def gross(self, a: Assessment) -> str:
        eff = self._cols[id(a)][2]
        return f"{eff} IS DISTINCT FROM 'excluded'" if eff else "TRUE"

    def scope(self, a: Assessment) -> str:
        return self._cols[id(a)][0]

    def deducted(self, a: Assessment, ded_id: str) -> str:
        return f"{self._cols[id(a)][1]} = {quote_str(ded_id)}"

    def hook(self, a: Assessment, filt: str):
        """The aggregate hook of a final-stage compiler: sum/count over a's rows in scope, filtered by `filt`."""
        scope = self._cols[id(a)][0]

        def compile_aggregate(_final: Compiler, node: ast.Aggregate) -> str:
            where = self._add_tag(self.row.cond(node.where), "_w") + " AND " if node.where is not None else ""
            cond = f"{where}{filt} AND {scope}"
            if node.func == "count":
                return "a." + self.count(cond)
            return "a." + self.add(f"sum(CASE WHEN {cond} THEN {self.row.expr(node.arg)} END)")

        return compile_aggregate

    def _period_cols(self, key: tuple[str, str]) -> tuple[str, str]:
        col = self.months[key[1]]  # the month of the date (a period never splits a month)
        if key[0] == "quarter":
            return (f"COALESCE(strftime({col}, '%Y') || 'Q' || quarter({col}), '未知')",
                    f"year({col}) * 4 + quarter({col}) - 1")
        return f"COALESCE(strftime({col}, '%Y-%m'), '未知')", f"year({col}) * 12 + month({col}) - 1"

    def groups_sql(self, a: Assessment, relation: str) -> str:
        """The groups (level, region, period) of `a` with its aggregates, from the pass's result `relation`: the
        body of the final stage's `a`. A group exists where at least one row is in a's scope."""
        n = self._cols[id(a)][3]
        ks = list(self.periods.values())
        if a.period == "year" or a.period_date is None:
            period, pidx = quote_str(str(self.year)), str(self.year)
            where = " AND ".join([f"_p{k} IS NULL" for k in ks] + [f"{n} > 0"])
        else:
            k = self.periods[(a.period, a.period_date.ref[1].name)]
            period, pidx = f"_p{k}", f"_pi{k}"
            where = f"_p{k} IS NOT NULL AND {n} > 0"  # a period label is never NULL inside its own grouping set
        attrs = "".join(f", g.{quote_ident('_ra_' + x)}" for x in self.attrs)
        aggs = "".join(f", g.{c}" for c in self.aggs.values())
        return (f"SELECT g._level, g._region, {period} AS _period, {pidx} AS _pidx, g._name{attrs}{aggs} "
                f"FROM {relation} g WHERE {where}")

    def sql(self, table: str) -> str:
        """The one grouped query: per (level, region[, period]) every aggregate, with the region's name and data.
        The pass groups the rows by level, region and month (`_fine`, small); the grouping sets per period roll that
        up (sums and counts add up, so the totals are those of the rows)."""
        d = self.d
        full = max(d.levels.values())
        region_field = d.region_field  # the county-level code; each level's region code is its prefix
        lv_rows = ", ".join(f"({quote_str(lv)}, {int(d.levels[lv])})" for lv in self.levels)
        row_attrs = [x for x in self.attrs if x in self.value_sql.used]  # region data the row expressions read
        needed = set().union(*(fields_of(a.nodes()) for a in self.items)) | {region_field}
        cols_in = ", ".join(f"p.{quote_ident(f.name)}" for f in d.fields if f.name in needed)
        months = "".join(f", date_trunc('month', p.{quote_ident(name)}) AS {m}" for name, m in self.months.items())
        ra = "".join(f", r.{quote_ident('_ra_' + x)}" for x in row_attrs)
        joined = f"SELECT _rows.*{ra} FROM _rows LEFT JOIN _assess_regions r ON r.代码 = _rows._region" if ra else "SELECT * FROM _rows"
        tags = "".join(f", {sql} AS {c}" for sql, c in self.tags.items())
        fine = ",\n  ".join(f"{sql} AS {c}" for sql, c in self.aggs.items())
        # counts add up as counts (BIGINT); a sum of sums keeps its type; no row in a group's scope: 0
        rolled = ",\n  ".join((f"CAST(sum({c}) AS BIGINT) AS {c}" if sql.startswith("count(") else f"COALESCE(sum({c}), 0) AS {c}")
                              for sql, c in self.aggs.items())
        labels = "".join(f", {p} AS _p{k}, {i} AS _pi{k}" for key, k in self.periods.items() for p, i in [self._period_cols(key)])
        sets = ", ".join(["(_level, _region)"] + [f"(_level, _region, _p{k}, _pi{k})" for k in self.periods.values()])
        groups = "_level, _region" + "".join(f", _p{k}, _pi{k}" for k in self.periods.values())
        attrs_out = "".join(f", r.{quote_ident('_ra_' + x)}" for x in self.attrs)
        return f"""
WITH _lv(_level, _n) AS (VALUES {lv_rows}),
_rows AS (
  SELECT {cols_in}, _lv._level, rpad(substr(p.{quote_ident(region_field)}, 1, _lv._n), {full}, '0') AS _region{months}
  FROM {quote_ident(table)} p CROSS JOIN _lv
  WHERE p.{quote_ident(d.key[1])} = {self.year} AND len(p._errors) = 0 AND p.{quote_ident(region_field)} IS NOT NULL
),
_j AS ({joined}),
_t AS (SELECT *{tags} FROM _j),
_fine AS (
  SELECT _level, _region{''.join(', ' + m for m in self.months.values())},
  {fine}
  FROM _t GROUP BY ALL
),
g AS (
  SELECT {groups},
  {rolled}
  FROM (SELECT *{labels} FROM _fine) GROUP BY GROUPING SETS ({sets})
)
SELECT g.*, r.名称 AS _name{attrs_out} FROM g LEFT JOIN _assess_regions r ON r.代码 = g._region
"""
