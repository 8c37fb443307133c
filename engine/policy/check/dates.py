"""Last pass, absolute dates: the calendar dates and years a policy writes out as they are, located and named by
what holds them. One detection for two uses:

- lint's W003 (`window_warnings`): a date that lies outside the time the policy year's work can reach, written in
  the policy itself or inherited through `extends`; and any date inherited from another year's policy (a deadline
  of last year's work carried into a new year may still fall inside the new window: 2024-01-18 for 2024);
- `weipian new-year`'s review list (engine.policy.scaffold): what a new year inherits that does not follow it.

Found: date literals in parameters, definitions and the expressions (conditions, messages, assessments) of rules,
triggers and assessments; parameters whose value is a bare year number; year numbers compared with the data's
year field (the dictionary's second key), directly or through a parameter. A parameter marked `fixed: true` (a
date fixed by law, with its cite) is never reported: it means the same in every year.

The window of policy year Y is Y-01-01 to (Y+WINDOW_YEARS_AFTER)-12-31: a year's patches are issued during the
year and its work (half-year and annual reports, rechecks, rectification) ends in the following year. A year
compared with the year field is expected to be Y itself: every row a year-Y policy checks has year Y."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from engine.errors import Diagnostic, Loc
from engine.lang import ast
from engine.paths import display_path
from engine.policy.loader import PolicySource
from engine.policy.marks import YStr

WINDOW_YEARS_AFTER = 1
YEARS = (1949, 2100)  # a bare whole number in this range, without unit, reads as a year
_COMPARE = ("==", "!=", "<", "<=", ">", ">=")
_KIND_OF_CHECK = {"rule": "规则", "trigger": "触发条件"}


@dataclass(eq=False)
class Dated:
    """One absolute date or year: what holds it (kind and name), the literal and where it is written."""

    kind: str  # 参数 定义 规则 触发条件 评估 扣除
    name: str  # the parameter's or definition's name, or the entry's id
    node: ast.Node  # ast.DateLit, or an ast.Number holding a year
    loc: Loc
    shown: str  # as written: a parameter's whole value, else the literal
    cite: str | None = None
    fixed: bool = False
    year_compared: bool = False  # a year compared with the year field (directly or through its parameter)

    @property
    def is_date(self) -> bool:
        return isinstance(self.node, ast.DateLit)

    def line(self) -> str:
        """One line for people: `名称 = 值（文件:行，出处）` for a parameter, `定义「名称」：值（…）` otherwise."""
        cite = f"，{self.cite}" if self.cite else ""
        head = f"{self.name} = {self.shown}" if self.kind == "参数" else f"{self.kind}「{self.name}」：{self.shown}"
        return f"{head}（{display_path(self.loc.file or '')}:{self.loc.line}{cite}）"


def window(year: int) -> tuple[date, date]:
    """The first and last day the work of monitoring year `year` can reach."""
    return date(year, 1, 1), date(year + WINDOW_YEARS_AFTER, 12, 31)


def is_year(node: ast.Node) -> bool:
    return isinstance(node, ast.Number) and node.unit is None and node.value == node.value.to_integral_value() \
        and YEARS[0] <= node.value <= YEARS[1]


def _at(raw, node: ast.Node) -> Loc:
    """Where `node` is inside the marked YAML value `raw` it was parsed from."""
    if isinstance(raw, YStr):
        return raw.loc(node.start, max(node.end - node.start, 1))
    return Loc(getattr(raw, "file", None), getattr(raw, "line", None), getattr(raw, "col", None), len(str(raw)))


def _year_field_name(node: ast.Node, year_field: str) -> bool:
    return isinstance(node, ast.Name) and bool(node.ref) and node.ref[0] == "field" and node.ref[1].name == year_field


def _compared_with_year(root: ast.Node, year_field: str) -> list[ast.Node]:
    """The other sides of every comparison (or `in […]`) with the year field."""
    out: list[ast.Node] = []
    for n in ast.walk(root):
        if isinstance(n, ast.Binary) and n.op in _COMPARE:
            sides = [n.left, n.right]
        elif isinstance(n, ast.InList):
            sides = [n.operand, *n.items]
        else:
            continue
        if any(_year_field_name(s, year_field) for s in sides):
            out += [s for s in sides if not _year_field_name(s, year_field)]
    return out


def _param_of(node: ast.Node):
    return node.ref[1] if isinstance(node, ast.Name) and node.ref and node.ref[0] == "param" else None


def _expressions(defs: dict, checks: list, entries: list):
    """(kind, name, cite, marked text, parsed node) of every expression of the policy."""
    for d in defs.values():
        yield "定义", d.name, d.cite, d.text, d.expr
    for c in checks:
        kind = _KIND_OF_CHECK[c.kind]
        yield kind, c.id, c.cite, c.when_text, c.when
        for part in c.message:
            if isinstance(part, ast.Node):
                yield kind, c.id, c.cite, c.entry.get("message"), part
    for x in entries:
        if hasattr(x, "flag"):  # an assessment
            e = x.entry
            for key, node in (("scope", x.scope), ("numerator", x.numerator), ("denominator", x.denominator)):
                if node is not None:
                    yield "评估", x.id, x.cite, e.get(key), node
            for name, node in x.values:
                yield "评估", x.id, x.cite, (e.get("values") or {}).get(name), node
            yield "评估", x.id, x.cite, x.flag_text, x.flag
        else:
            yield "扣除", x.id, x.cite, x.when_text, x.when


def absolute_dates(params: dict, defs: dict, checks: list, entries: list, year_field: str) -> list[Dated]:
    """Every absolute date and year of a policy (its checked parameters, definitions, rules and triggers, and
    assessments and deductions), in file order; fixed ones are marked, not left out."""
    out: list[Dated] = []
    compared: set[str] = set()
    for kind, name, cite, text, root in _expressions(defs, checks, entries):
        for n in ast.walk(root):
            if isinstance(n, ast.DateLit):
                out.append(Dated(kind, name, n, _at(text, n), n.value.isoformat(), cite))
        for side in _compared_with_year(root, year_field):
            if is_year(side):
                out.append(Dated(kind, name, side, _at(text, side), side.text or str(side.value), cite, year_compared=True))
            elif (p := _param_of(side)) is not None:
                compared.add(p.name)
    for p in params.values():
        literals = [(p.raw, p.value)] if p.by_level is None else \
            [((p.raw or {}).get(lv), node) for lv, node in p.by_level.items()]
        for raw, node in literals:
            if isinstance(node, ast.DateLit) or is_year(node):
                out.append(Dated("参数", p.name, node, _at(raw, node), p.text, p.cite, p.fixed, p.name in compared))
    seen: set = set()
    unique = []
    for d in out:  # an assessment's `basis:` reuses the texts of another: one finding per place
        key = (d.loc.file, d.loc.line, d.loc.col)
        if key not in seen:
            seen.add(key)
            unique.append(d)
    return sorted(unique, key=lambda d: (d.loc.file or "", d.loc.line or 0, d.loc.col or 0))


def relative(value: date, written_for: int, year_field: str) -> str:
    """`value`, written for policy year `written_for`, as an expression that follows the year field."""
    k = value.year - written_for
    y = year_field if k == 0 else f"{year_field} {'+' if k > 0 else '-'} {abs(k)}"
    if value.month == 2 and value.day == 29:
        return f"month_end(date({y}, 2, 1))"
    return f"date({y}, {value.month}, {value.day})"


def _outside(d: Dated, year: int) -> bool:
    if d.is_date:
        lo, hi = window(year)
        return not lo <= d.node.value <= hi
    return d.node.value != year  # every row a year-Y policy checks has year Y


def window_warnings(dated: list[Dated], src: PolicySource, year_field: str) -> list[Diagnostic]:
    """W003 for every date (or year compared with the year field), not marked fixed, that the policy's year holds
    outside its window; or that it inherits from another year's policy (written for that year's work, it does not
    follow the year even where it falls inside the window: 2023's annual deadline 2024-01-18 in a 2024 policy)."""
    year = src.year
    if year is None:
        return []
    lo, hi = window(year)
    out = []
    for d in dated:
        if d.fixed or not (d.is_date or d.year_compared):
            continue
        origin = src.year_of(d.loc.file) or year
        inherited = origin != year
        outside = _outside(d, year)
        if not (outside or inherited):
            continue
        whose = f"参数「{d.name}」" if d.kind == "参数" else f"{d.kind}「{d.name}」中"
        if d.is_date:
            what = f"{whose}的日期 {d.node.value.isoformat()}"
            span = f"{year} 年度工作的时间范围（{lo} 至 {hi}）"
            rel = relative(d.node.value, origin, year_field)
            fix = f"改为随年度变化的定义（参数只能写常量），如 {d.name}: {{expr: '{rel}', cite: …}}" if d.kind == "参数" \
                else f"日期改写为 {rel}"
        else:
            what = f"{whose}与{year_field}比较的年份 {d.node.value}"
            span = None
            fix = f"删去这个比较，或改写为相对{year_field}的写法"
        beyond = f"不在 {span}内" if span else f"不是 {year}：{year} 年政策检查的图斑{year_field}都是 {year}，这个比较的结果是固定的"
        if inherited:
            message = f"{what} 继承自 {origin} 年政策，是为 {origin} 年度写的，不随{year_field}变化" + (f"，{beyond}" if outside else "")
            redo = "参数、定义按同名重写" if d.kind in ("参数", "定义") else "规则、评估写同一编号并加 override: true"
            fix = f"在 {year} 年政策中重写（{redo}）：{fix}"
        else:
            message = f"{what} {beyond}"
        where = f"在 {origin} 年政策的该参数中" if inherited else "在参数中"
        fixed = f"若为法定固定日期，{where}标注 fixed: true" if d.kind == "参数" \
            else "若为法定固定日期，改为带 cite 并标注 fixed: true 的参数"
        out.append(Diagnostic("W003", message, d.loc, help=f"{fix}；{fixed}", severity="warning"))
    return out


def fixed_not_dated(params: dict) -> list[Diagnostic]:
    """W004: `fixed: true` on a parameter that holds no date and no year (the mark would mean nothing)."""
    out = []
    for p in params.values():
        literals = [p.value] if p.by_level is None else list(p.by_level.values())
        if p.fixed and not any(isinstance(n, ast.DateLit) or is_year(n) for n in literals):
            k = p.key
            out.append(Diagnostic("W004", f"参数「{p.name}」标注了 fixed: true，但它的值不是日期或年份",
                                  Loc(k.file, k.line, k.col, len(k)), help="fixed 只用于法定的固定日期或年份；删去 fixed",
                                  severity="warning"))
    return out


__all__ = ["Dated", "absolute_dates", "window", "window_warnings", "fixed_not_dated", "relative"]
