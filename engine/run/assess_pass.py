"""The one pass of region assessments over the patch table: every aggregate of every assessment of a policy in one
grouped query.

Every checked patch row is tagged once, per assessment, with whether it is in the assessment's scope (`_s*`), the
deduction that applies to it (`_d*`, its id; precedence: see engine/policy/assessments.py; a filter by effect tests
the ids of that effect) and each aggregate's `where` (`_w*`). Row expressions are compiled once per assessed level
(schemas/fields.yaml `levels`): the level is a constant there (`评估级别`, per-level parameters, a test of the level
decided while compiling) and region data is that of the row's region at that level, so an expression that reads
neither is one column for every level, and one that does is one column per distinct SQL.
The rows are grouped once by county code, month and tags (`_tg`, small: tags take few values), with their count (`_n`)
and the sum of each aggregate's argument (`_x*`). Each level then takes, per group, every aggregate of that level
(`CASE WHEN <where> AND <deduction filter> AND <scope> THEN <sum of arg> END`) with its region code (the county
code's prefix), and GROUPING SETS — (level, region) and (level, region, period) for each kind of period an assessment
uses — add them up (the DSL's aggregates are sums and counts, which add up). engine/run/assess_sql.py derives values,
flags and deductions from the result. Identical expressions (e.g. an assessment and its `basis:`) share their columns.
"""
from __future__ import annotations

from datetime import date

from engine.lang import ast
from engine.lang.compiler import Compiler, SqlContext
from engine.lang.quoting import quote_ident, quote_str
from engine.policy.assessments import Assessment
from engine.policy.check import fields_of
from engine.policy.model import Policy

PerLevel = dict  # level -> SQL of a row tag, filter or aggregate at that level; None: the level is not assessed


class _Used(dict):
    """value_sql that records which names a compiled expression read."""

    def __init__(self, *args):
        super().__init__(*args)
        self.used: set[str] = set()

    def __getitem__(self, key):
        self.used.add(key)
        return super().__getitem__(key)


def _is_level(node: ast.Node) -> bool:
    return isinstance(node, ast.Name) and node.ref == ("builtin", "评估级别")


class LevelCompiler(Compiler):
    """A row compiler for one assessed level: a condition the level alone decides (`评估级别 == "省级"`, `评估级别 in
    […]`, and `and`/`or`/`not` over them) compiles to TRUE or FALSE, and the other side of an `and`/`or` that one side
    already decides is neither compiled nor read. So an expression whose level tests agree at two levels compiles to
    the same SQL at both (one column), and region data read only under a failed level test is not joined."""

    def __init__(self, ctx: SqlContext, level: str):
        super().__init__(ctx)
        self.level = level

    def decided(self, node: ast.Node) -> bool | None:
        """The value of condition `node` if the level alone decides it, else None."""
        if isinstance(node, ast.Binary) and node.op in ("==", "!="):
            for lv, other in ((node.left, node.right), (node.right, node.left)):
                if _is_level(lv) and isinstance(other, ast.String):
                    return (self.level == other.value) == (node.op == "==")
        if isinstance(node, ast.InList) and _is_level(node.operand) and all(isinstance(i, ast.String) for i in node.items):
            return (self.level in [i.value for i in node.items]) != node.negate
        if isinstance(node, ast.Unary) and node.op == "not":
            d = self.decided(node.operand)
            return None if d is None else not d
        if isinstance(node, ast.Binary) and node.op in ("and", "or"):
            absorbing = node.op == "or"  # the value that decides the whole: TRUE for or, FALSE for and
            sides = [self.decided(node.left), self.decided(node.right)]
            if absorbing in sides:
                return absorbing
            if sides == [not absorbing, not absorbing]:
                return not absorbing
        if isinstance(node, ast.Name) and node.ref[0] == "def":
            return self.decided(node.ref[1].expr)
        return None

    def expr(self, node: ast.Node) -> str:
        d = self.decided(node)
        if d is not None:
            return "TRUE" if d else "FALSE"
        if isinstance(node, ast.Name) and node.ref[0] == "param" and node.ref[1].by_level is not None \
                and self.level not in node.ref[1].by_level:
            return "NULL"  # no value at this level: NULL, as a CASE over the levels would give
        if isinstance(node, ast.Binary) and node.op in ("and", "or"):  # one side decided, not absorbing: the other
            if self.decided(node.left) is not None:
                return self.cond(node.right)
            if self.decided(node.right) is not None:
                return self.cond(node.left)
        return super().expr(node)


class AssessPass:
    """The row tags and aggregates of `items` (assessments of `policy`), collected while their final stages are
    compiled (`hook`, `count`), then one grouped query (`sql`) and each assessment's slice of its result
    (`groups_sql`). Filters and scopes are PerLevel: one SQL per assessed level."""

    def __init__(self, policy: Policy, as_of: date, attrs: list[str], items: list[Assessment]):
        d = self.d = policy.dictionary
        self.policy, self.as_of, self.attrs, self.items = policy, as_of, attrs, items
        self.year = int(policy.year)
        self.levels = [lv for lv in d.levels if any(lv in a.levels for a in items)]
        # per level: its compiler; region data of the row's region at level i is column _ra<i>_<name>
        self.rows = {lv: LevelCompiler(SqlContext(d.area_scale, as_of, level=lv, level_sql=quote_str(lv),
                                                  value_sql=_Used({n: quote_ident(f"_ra{i}_{n}") for n in attrs}),
                                                  units=d.units), lv)
                     for i, lv in enumerate(self.levels)}
        self.tags: dict[str, str] = {}  # row tag SQL -> column name
        self.args: dict[str, str] = {}  # row SQL of an aggregate's argument -> column of its sum per group of _tg
        self.aggs: dict[tuple, str] = {}  # (count|sum, SQL over _tg per level or None) -> column name
        self.periods: dict[tuple[str, str], str] = {}  # (period, date field) -> column suffix
        self.months: dict[str, str] = {}  # date field of a period -> column of its month in the first stage
        self._cols: dict[int, tuple[PerLevel, PerLevel, str]] = {}  # id(a) -> scope, deduction, count column
        for a in items:
            self._tag(a)

    def _add_tag(self, per: PerLevel) -> PerLevel:
        """Row tag columns of per-level SQL (a constant stays itself)."""
        return {lv: sql if sql in (None, "TRUE", "FALSE") else self.tags.setdefault(sql, f"{prefix}{len(self.tags)}")
                for lv, (prefix, sql) in per.items()}

    def _each(self, a: Assessment, prefix: str, sql) -> PerLevel:
        """The tag sql(level compiler) at each level a assesses; None at the others."""
        return self._add_tag({lv: (prefix, sql(row) if lv in a.levels else None) for lv, row in self.rows.items()})

    def _tag(self, a: Assessment):
        s = self._each(a, "_s", lambda row: row.cond(a.scope) if a.scope is not None else "TRUE")
        deds = a.ordered_deductions()
        ded = self._each(a, "_d", lambda row: "CASE " + " ".join(
            f"WHEN {row.cond(x.when)} THEN {quote_str(x.id)}" for x in deds) + " END") if deds else {}
        self._cols[id(a)] = (s, ded, self._add("count", s))  # the rows in scope
        if a.period != "year" and a.period_date is not None:
            self.periods.setdefault((a.period, a.period_date.ref[1].name), str(len(self.periods)))
            self.months.setdefault(a.period_date.ref[1].name, f"_m{len(self.months)}")

    def _add(self, kind: str, cond: PerLevel, arg: PerLevel | None = None) -> str:
        """The column of an aggregate: per level, the count of the rows where `cond` holds, or the sum of `arg`
        (row SQL) over them; cond None: no row counts at that level."""
        def at(lv: str) -> str | None:
            if cond[lv] is None:
                return None
            if arg is None:
                return f"CASE WHEN {cond[lv]} THEN _n ELSE 0 END"
            return f"CASE WHEN {cond[lv]} THEN {self.args.setdefault(arg[lv], f'_x{len(self.args)}')} END"

        return self.aggs.setdefault((kind, tuple(at(lv) for lv in self.levels)), f"_a{len(self.aggs)}")

    def count(self, a: Assessment, filt: PerLevel) -> str:
        """The column counting a's rows in scope where `filt` holds."""
        return self._add("count", {lv: s and f"{filt[lv]} AND {s}" for lv, s in self._cols[id(a)][0].items()})

    # which patches an aggregate counts, by the effect of the deduction its row carries (none: every patch)
    def _without(self, a: Assessment, effects: tuple[str, ...]) -> PerLevel:
        """The rows that carry no deduction of these effects."""
        ded = self._cols[id(a)][1]
        kept = [quote_str(x.id) for x in a.deductions if x.effect not in effects]

        def rows(c: str | None) -> str:  # c: the row's deduction id, NULL or one of a's
            if not c or len(kept) == len(a.deductions):
                return "TRUE"
            return f"({c} IS NULL OR {c} IN ({', '.join(kept)}))" if kept else f"{c} IS NULL"

        return {lv: rows(ded.get(lv)) for lv in self.levels}

    def net_numerator(self, a: Assessment) -> PerLevel:
        return self._without(a, ("excluded", "both", "numerator"))

    def net_denominator(self, a: Assessment) -> PerLevel:
        return self._without(a, ("excluded", "both"))

    def gross(self, a: Assessment) -> PerLevel:
        return self._without(a, ("excluded",))

    def deducted(self, a: Assessment, ded_id: str) -> PerLevel:
        return {lv: c and f"{c} = {quote_str(ded_id)}" for lv, c in self._cols[id(a)][1].items()}

    def hook(self, a: Assessment, filt: PerLevel):
        """The aggregate hook of a final-stage compiler: sum/count over a's rows in scope, filtered by `filt`."""
        scope = self._cols[id(a)][0]

        def compile_aggregate(_final: Compiler, node: ast.Aggregate) -> str:
            cond: PerLevel = {}
            for lv, row in self.rows.items():
                if scope[lv] is None:
                    cond[lv] = None
                    continue
                where = self._add_tag({lv: ("_w", row.cond(node.where))})[lv] + " AND " if node.where is not None else ""
                cond[lv] = f"{where}{filt[lv]} AND {scope[lv]}"
            if node.func == "count":
                return "a." + self._add("count", cond)
            return "a." + self._add("sum", cond, {lv: row.expr(node.arg) for lv, row in self.rows.items() if cond[lv]})

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
        n = self._cols[id(a)][2]
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
        The rows are grouped by county code, month and tags (`_tg`, small); each level takes its aggregates of each
        group with its region code; the grouping sets per period add those up (sums and counts add up, so the totals
        are those of the rows)."""
        d = self.d
        full = max(d.levels.values())
        code = quote_ident(d.region_field)  # the county-level code; each level's region code is its prefix

        def region(lv: str, col: str) -> str:
            return f"rpad(substr({col}, 1, {int(d.levels[lv])}), {full}, '0')"

        needed = set().union(*(fields_of(a.nodes()) for a in self.items)) | {d.region_field}
        cols_in = ", ".join(f"p.{quote_ident(f.name)}" for f in d.fields if f.name in needed)
        months = "".join(f", date_trunc('month', p.{quote_ident(name)}) AS {m}" for name, m in self.months.items())
        # region data the row expressions read at each level: looked up once per county code (few), joined to the
        # rows by the code itself
        names, picks, joins = [], [], ""
        for i, (lv, row) in enumerate(self.rows.items()):
            used = [x for x in self.attrs if x in row.ctx.value_sql.used]
            names += [quote_ident(f"_ra{i}_{x}") for x in used]
            picks += [f"r{i}.{quote_ident('_ra_' + x)}" for x in used]
            joins += f" LEFT JOIN _assess_regions r{i} ON r{i}.代码 = {region(lv, 'c.' + code)}" if used else ""
        data = "".join(f", {n}" for n in names)
        codes = (f" LEFT JOIN (SELECT c.{code}, {', '.join(f'{x} AS {n}' for x, n in zip(picks, names))} "
                 f"FROM (SELECT DISTINCT {code} FROM {quote_ident(table)}) c{joins}) _codes ON _codes.{code} = p.{code}"
                 if names else "")
        tags = "".join(f", {sql} AS {c}" for sql, c in self.tags.items())
        m = "".join(", " + c for c in self.months.values())
        keys = m + "".join(", " + c for c in self.tags.values())
        sums = "".join(f", sum({sql}) AS {c}" for sql, c in self.args.items())
        per_level = "\nUNION ALL ".join(
            f"SELECT {quote_str(lv)} AS _level, {region(lv, code)} AS _region{m}, "
            + ", ".join(f"{sqls[i] or ('0' if kind == 'count' else 'NULL')} AS {c}" for (kind, sqls), c in self.aggs.items())
            + " FROM _tg" for i, lv in enumerate(self.levels))
        # counts add up as counts (BIGINT); a sum of sums keeps its type; no row in a group's scope: 0
        rolled = ",\n  ".join((f"CAST(sum({c}) AS BIGINT) AS {c}" if kind == "count" else f"COALESCE(sum({c}), 0) AS {c}")
                              for (kind, _sqls), c in self.aggs.items())
        labels = "".join(f", {p} AS _p{k}, {i} AS _pi{k}" for key, k in self.periods.items() for p, i in [self._period_cols(key)])
        sets = ", ".join(["(_level, _region)"] + [f"(_level, _region, _p{k}, _pi{k})" for k in self.periods.values()])
        groups = "_level, _region" + "".join(f", _p{k}, _pi{k}" for k in self.periods.values())
        attrs_out = "".join(f", r.{quote_ident('_ra_' + x)}" for x in self.attrs)
        return f"""
WITH _rows AS (
  SELECT {cols_in}{months}{data}
  FROM {quote_ident(table)} p{codes}
  WHERE p.{quote_ident(d.key[1])} = {self.year} AND len(p._errors) = 0 AND p.{code} IS NOT NULL
),
_t AS (SELECT *{tags} FROM _rows),
_tg AS (SELECT {code}{keys}, count(*) AS _n{sums} FROM _t GROUP BY ALL),
_lv AS ({per_level}),
g AS (
  SELECT {groups},
  {rolled}
  FROM (SELECT *{labels} FROM _lv) GROUP BY GROUPING SETS ({sets})
)
SELECT g.*, r.名称 AS _name{attrs_out} FROM g LEFT JOIN _assess_regions r ON r.代码 = g._region
"""
