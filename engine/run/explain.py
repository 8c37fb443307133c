"""Explain one patch: each rule/trigger's condition with the patch's values substituted.

Every value shown (fields, parameters, definitions, function results, each clause's 是/否) is computed by
DuckDB from the same compiled SQL the checker runs, on that one row: nothing of the DSL is re-implemented here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from engine.lang import ast
from engine.lang.compiler import Compiler, SqlContext
from engine.lang.types import Type
from engine.lang.quoting import quote_ident
from engine.policy.model import Check, Policy
from engine.policy.policyset import PolicySet
from engine.run.rows import AssessmentRow


@dataclass
class Explanation:
    check: Check
    fired: bool
    message: str | None
    lines: list[tuple[int, str]] = field(default_factory=list)  # (depth, text)

    def render(self) -> str:
        c = self.check
        head = f"[{'触发' if self.fired else '未触发'}] {c.id}  {c.title}（{c.cite}）"
        if c.kind == "trigger":
            head += f"  {c.level}{c.action}"
        out = [head]
        out += ["    " * (d + 1) + text for d, text in self.lines]
        if self.fired and self.message:
            out.append(f"    说明：{self.message}")
        return "\n".join(out)

    def to_json(self) -> dict:
        return {"rule": self.check.id, "fired": self.fired, "cite": self.check.cite, "when": str(self.check.when_text),
                "message": self.message, "lines": ["    " * d + t for d, t in self.lines]}


def _valued(node: ast.Node):
    """Nodes whose value is shown inline after them: names, parameters (also indexed) and function calls."""
    if isinstance(node, (ast.Name, ast.Index, ast.Call)):
        yield node
    if isinstance(node, ast.Index):
        return
    for child in node.children():
        yield from _valued(child)


def _operands(n: ast.Node) -> list[ast.Node]:
    """Operands of an and/or chain (a and b and c -> [a, b, c]) or of not."""
    if isinstance(n, ast.Unary) and n.op == "not":
        return [n.operand]
    if isinstance(n, ast.Binary) and n.op in ("and", "or"):
        out = []
        for child in (n.left, n.right):
            out += _operands(child) if isinstance(child, ast.Binary) and child.op == n.op else [child]
        return out
    return []


def _clauses(node: ast.Node):
    """The operands of and / or / not, down to the comparisons: (node, depth)."""
    def rec(n, depth):
        for child in _operands(n):
            yield child, depth
            yield from rec(child, depth + 1)
    yield from rec(node, 0)


def _defs_in(node: ast.Node) -> list:
    out = []
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and n.ref and n.ref[0] == "def" and n.ref[1] not in out:
            out.append(n.ref[1])
    return out


class _Plan:
    """Collects SQL expressions to evaluate on the row, then renders the lines once the values are known."""

    def __init__(self, comp: Compiler):
        self.comp = comp
        self.sql: list[str] = []
        self.slot: dict[int, int] = {}

    def add(self, node: ast.Node, as_condition: bool = False) -> None:
        key = id(node) * 2 + as_condition
        if key in self.slot:
            return
        if as_condition:  # a clause: two-valued, as the checker evaluates it
            sql = f"CASE WHEN {self.comp.cond(node)} THEN '是' ELSE '否' END"
        else:
            sql = self.comp.text(node)
        self.slot[key] = len(self.sql)
        self.sql.append(sql)

    def value(self, row, node: ast.Node, as_condition: bool = False) -> str:
        return row[self.slot[id(node) * 2 + as_condition]]

    def plan_expr(self, expr: ast.Node, seen: set) -> None:
        for n in _valued(expr):
            self.add(n)
        for n, _ in _clauses(expr):
            self.add(n, as_condition=True)
        for d in _defs_in(expr):
            if d.name not in seen:
                seen.add(d.name)
                self.plan_expr(d.expr, seen)

    def lines(self, row, expr: ast.Node, text: str, depth: int, seen: set) -> list[tuple[int, str]]:
        out = [(depth, "代入：" + self.substitute(row, expr, text))]
        for n, d in _clauses(expr):
            out.append((depth + d, f"[{self.value(row, n, True)}] {text[n.start:n.end]}"))
        for d in _defs_in(expr):
            if d.name in seen:
                continue
            seen.add(d.name)
            node = next(n for n in ast.walk(expr) if isinstance(n, ast.Name) and n.ref and n.ref[0] == "def" and n.ref[1] is d)
            out.append((depth, f"定义「{d.name}」= {self.value(row, node)}：{d.text}" + (f"（{d.cite}）" if d.cite else "")))
            out += self.lines(row, d.expr, str(d.text), depth + 1, seen)
        return out

    def substitute(self, row, expr: ast.Node, text: str) -> str:
        return _substitute(expr, text, lambda n: self.value(row, n))


def _substitute(expr: ast.Node, text: str, value_of) -> str:
    """The expression text with 〔value〕 after every name, parameter and function call."""
    inserts: dict[int, list[str]] = {}
    for n in _valued(expr):
        inserts.setdefault(n.end, []).insert(0, f"〔{value_of(n)}〕")
    out, pos = [], 0
    for at in sorted(inserts):
        out.append(text[pos:at])
        out.extend(inserts[at])
        pos = at
    out.append(text[pos:])
    return "".join(out)


def explain_row(con, policy: Policy, rid: int, as_of: date, table: str = "patches", checks: list[Check] | None = None) -> list[Explanation]:
    """Explain every rule and trigger of `policy` on the row `_rid = rid` of the normalized table."""
    result = []
    for c in policy.checks if checks is None else checks:
        comp = Compiler(SqlContext(policy.dictionary.area_scale, as_of, level=c.level, units=policy.dictionary.units))
        plan = _Plan(comp)
        plan.plan_expr(c.when, set())
        fired_sql = f"COALESCE({comp.cond(c.when)}, FALSE)"
        msg_sql = comp.message(c.message, c.title)
        cols = ", ".join([fired_sql, msg_sql, *plan.sql])
        row = con.execute(f"SELECT {cols} FROM {quote_ident(table)} WHERE _rid = ?", [rid]).fetchone()
        fired, message, values = bool(row[0]), row[1], row[2:]
        lines = [(0, f"条件：{c.when_text}")] + plan.lines(values, c.when, str(c.when_text), 0, set())
        result.append(Explanation(c, fired, message, lines))
    return result


@dataclass
class RegionExplanation:
    assessment: object  # engine.policy.assessments.Assessment
    result: AssessmentRow  # the assessment's output row for this region (level, period)
    lines: list[tuple[int, str]] = field(default_factory=list)

    def render(self) -> str:
        a, r = self.assessment, self.result
        name = f"（{r.name}）" if r.name else ""
        mark = "未评估" if r.flagged is None else "列入" if r.flagged else "未列入"
        out = [f"[{mark}] {a.id}  {a.title}（{a.cite}）  {r.level} {r.region}{name} {r.period}"]
        out += ["    " * (d + 1) + text for d, text in self.lines]
        if r.not_evaluated:
            out.append(f"    未评估：{r.not_evaluated}")
        return "\n".join(out)

    def to_json(self) -> dict:
        return {**self.result.to_json(), "when": str(self.assessment.flag_text), "lines": ["    " * d + t for d, t in self.lines]}


def _show(value, typ: str | None, area_unit: str = "", exact: bool = False) -> str:
    """A value computed by the assessment SQL, for people (presentation only; engine.values formats it).
    exact: a substituted value keeps the percent digits that two decimals would round away (14.995% < 15.00%)."""
    from engine import values as fmt

    return fmt.value(value, typ, area_unit, exact=exact)


def _node_type(n, types: dict) -> str | None:
    """"percent" for a name the assessment reports as a ratio (ratio, a threshold written in %), else the node's type."""
    name = getattr(n, "name", None)
    return "percent" if isinstance(name, str) and types.get(name) == "percent" else n.type


def _flat_values(values: dict, types: dict | None = None, area_unit: str = "") -> list[str]:
    types = types or {}
    out = []
    for k, v in values.items():
        if isinstance(v, dict):
            if k == "deductions":
                out += [f"扣除 {i}（{x.get('effect', '')}）：{x.get('patches', 0)} 个图斑" for i, x in v.items()]
            continue
        out.append(f"{k}={_show(v, types.get(k), area_unit)}")
    return out


def explain_region(con, policy: Policy, region: str, as_of: date, table: str = "patches") -> list[RegionExplanation]:
    """Explain every assessment of `policy` for one region: the flag with the region's values substituted and each
    clause's 是/否. The values are columns added to the assessment's own grouped SQL (engine.run.assess_sql)."""
    import dataclasses

    from engine.data.region_facts import facts_relation
    from engine.run.assess_sql import assessment_sql, region_table, run_assessments

    results, _ = run_assessments(con, table, policy, as_of)  # also fills _assess_out
    attrs = region_table(con)
    facts = facts_relation(con) if any(a.facts for a in policy.assessments) else ("", False)
    out = []
    for a in policy.assessments:
        rows_of = [r for r in results if r.rule == a.id and r.region == region]
        if not rows_of:
            continue
        nodes = list(_valued(a.flag)) + [n for n, _ in _clauses(a.flag)]
        extras = [(f"_explain{i}", n) for i, n in enumerate(nodes)]
        sql, cols = assessment_sql(dataclasses.replace(a, values=[*a.values, *extras]), policy, as_of, table, attrs, facts)
        names = [path[0] for path, _ in cols]  # the query's value columns are _c0, _c1, … in this order
        cur = con.execute(f"SELECT * FROM ({sql}) WHERE _region = ?", [region])
        header = [c[0] for c in cur.description]
        by_key = {(g[header.index("_level")], g[header.index("_period")]): g for g in cur.fetchall()}
        slots = {id(n): header.index(f"_c{names.index(f'_explain{i}')}") for i, n in enumerate(nodes)}
        types = a.output_types()
        for r in rows_of:
            g = by_key.get((r.level, r.period))
            if g is None:
                continue
            lines = [(0, f"条件：{a.flag_text}"),
                     (0, "代入：" + _substitute(a.flag, str(a.flag_text), lambda n, g=g: _show(g[slots[id(n)]], _node_type(n, types), policy.dictionary.area_unit, exact=True)))]
            # a clause's NULL counts as 否, as in the checker's two-valued conditions
            lines += [(d, f"[{'是' if g[slots[id(n)]] else '否'}] {str(a.flag_text)[n.start:n.end]}") for n, d in _clauses(a.flag)]
            lines.append((0, "取值：" + "；".join(_flat_values(r.values or {}, types, policy.dictionary.area_unit))))
            out.append(RegionExplanation(a, r, lines))
    return out


@dataclass
class PatchExplanation:
    """One row of a patch in the data: its rules and triggers explained, or the format errors that kept it unchecked."""

    patch: str
    year: int | None
    where: str  # "file 第 n 行"
    as_of: date
    policy: Policy | None = None
    checks: list[Explanation] = field(default_factory=list)
    errors: list[str] | None = None  # the row was rejected (not checked)

    def to_json(self) -> dict:
        if self.errors is not None:
            return {"patch": self.patch, "year": self.year, "row": self.where, "rejected": True, "errors": self.errors}
        return {"patch": self.patch, "year": self.year, "row": self.where, "as_of": self.as_of.isoformat(),
                "checks": [e.to_json() for e in self.checks]}


def explain_patch(con, policies: dict[int, Policy], patch: str, as_of: date, *, rules: list[str] | None = None,
                  only_fired: bool = False, table: str = "patches"):
    """Every row of `patch` in the normalized table, explained with its year's policy (one PatchExplanation per row,
    yielded in data order). InputError when the patch is not in the data, its year has no policy or a rule is unknown."""
    from engine.errors import InputError, suggest
    from engine.lang.compiler import quote_ident as q

    d = PolicySet.of(policies).dictionary
    key, year_col, t = q(d.key[0]), q(d.key[1]), q(table)
    rows = con.execute(f"SELECT _rid, {year_col}, _source, _line, _errors FROM {t} WHERE {key} = ? ORDER BY _rid",
                       [patch]).fetchall()
    if not rows:
        near = [r[0] for r in con.execute(
            f"SELECT DISTINCT {key} FROM {t} WHERE {key} IS NOT NULL "
            f"ORDER BY jaro_winkler_similarity({key}, ?) DESC, {key} LIMIT 3", [patch]).fetchall()]
        hint = f"；相近的图斑编号：{'、'.join(near)}" if near else ""
        raise InputError(f"数据中没有图斑编号为「{patch}」的图斑{hint}")
    for rid, year, source, line, errors in rows:
        where = f"{source} 第 {line} 行" if source else f"第 {line} 行"
        if errors:
            yield PatchExplanation(patch, year, where, as_of, errors=[str(e) for e in errors])
            continue
        policy = policies.get(year)
        if policy is None:
            raise InputError(f"图斑 {patch}（{where}）的监测年度 {year} 没有对应的政策（可用年度：{'、'.join(map(str, sorted(policies)))}）")
        checks = policy.checks
        if rules:
            checks = [c for c in checks if c.id in rules]
            unknown = set(rules) - {c.id for c in checks}
            if unknown:
                hint = suggest(next(iter(unknown)), [c.id for c in policy.checks])
                raise InputError(f"{year}年政策中没有规则「{'、'.join(sorted(unknown))}」" + (f"；{hint}" if hint else ""))
        exps = explain_row(con, policy, rid, as_of, table, checks=checks)
        if only_fired:
            exps = [e for e in exps if e.fired]
        yield PatchExplanation(patch, year, where, as_of, policy, exps)


def explain_regions(con, policies: dict[int, Policy], region: str, as_of: date, *, only_fired: bool = False,
                    table: str = "patches"):
    """The assessments of `region` for every year in the data: (year, policy, [RegionExplanation]) per year with a
    policy, yielded in year order. InputError when no assessment has a result for the region."""
    from engine.errors import InputError
    from engine.lang.compiler import quote_ident as q

    d = PolicySet.of(policies).dictionary
    years = [y for (y,) in con.execute(f"SELECT DISTINCT {q(d.key[1])} FROM {q(table)} WHERE len(_errors) = 0 ORDER BY 1").fetchall()]
    found = False
    for year in years:
        policy = policies.get(year)
        if policy is None:
            continue
        exps = explain_region(con, policy, region, as_of, table)
        if only_fired:
            exps = [e for e in exps if e.result.flagged]
        found = found or bool(exps)
        yield year, policy, exps
    if not found and not (only_fired and years):
        raise InputError(f"数据中没有地区「{region}」的评估结果（写县级、市级或省级的 6 位行政区代码）")
