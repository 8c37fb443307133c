"""Region assessments (grouped numerators, denominators, ratios and flags per region and period): the checked
`assessments:` entries of a policy.

An entry is either an assessment or a deduction (kind 扣除) attached to one by `of:`.

    - id: <assessment id>
      kind: <label shown in the output>
      title: …
      cite: …
      levels: [<levels of schemas/fields.yaml>]
      period: 年度                      # 年度 | 季度 | 月度 (季度/月度 need period_date: <a date field>)
      scope: <row condition>            # which patches count (may use 评估级别 and region data)
      numerator: sum(<area field> where <condition>)
      denominator: sum(<area field>)    # ratio = numerator / denominator is then available
      values: {…}                       # more named values (aggregates, earlier values, region data)
      rollup: {<name>: {of: <earlier assessment id>, count: regions}}   # regions | periods | consecutive_periods
      flag: <condition on numerator, denominator, ratio, values, parameters>
      task: {level: …, action: …, title: …, cite: …}   # one task per flagged region
      facts: [<fact>, …]                # region facts read in values/flag (schemas/fields.yaml region_facts:)
    - id: <deduction id>
      kind: 扣除
      of: <assessment id>
      effect: 分子分母同时扣除            # 只扣分子 | 分子分母同时扣除 | 分子分母均不计入
      title: …
      cite: …
      when: <row condition>

The live examples are policies/2021/assessments.yaml and policies/2023/assessments.yaml.
Deduction precedence (a patch matched by several deductions is attributed to exactly one): the strongest
effect wins — 分子分母均不计入, then 分子分母同时扣除, then 只扣分子 — and among equal effects the first listed.
`basis: <id>` makes an assessment reuse another's levels, period, scope, numerator, denominator, values and
deductions (e.g. an early warning with its own flag).
A region fact comes from the region facts table the user passes (--region-facts): where it is not given (no table,
no row for the region and year, an empty cell) the region's result is 未评估 (flagged null), never 否. Checking lives in engine/policy/check/assessments.py,
execution in engine/run/assess_sql.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.lang import ast
from engine.data.regions import COLUMNS, load_regions
from engine.lang.types import Type
from engine.policy.marks import YDict, YStr

KIND_DEDUCTION = "扣除"
# DSL words for deduction effects and periods (the policy file's vocabulary) -> engine codes
EFFECTS = {"分子分母均不计入": "excluded", "分子分母同时扣除": "both", "只扣分子": "numerator"}
EFFECT_RANK = {"excluded": 0, "both": 1, "numerator": 2}
PERIODS = {"年度": "year", "季度": "quarter", "月度": "month"}
ROLLUP_COUNTS = ("regions", "periods", "consecutive_periods")
VALUE_ALIASES = {"分子": "numerator", "分母": "denominator", "比例": "ratio"}
INHERITED_BY_BASIS = ("levels", "period", "period_date", "scope", "numerator", "denominator", "values")
REGION_KEYS = ("代码", "名称", "级别", "上级代码")  # identity columns of regions.csv; the others are region data


def region_attr_types() -> dict[str, Type]:
    """Region data usable in assessment expressions: every regions.csv column but the identity ones."""
    rows = load_regions()
    out: dict[str, Type] = {}
    for col in COLUMNS:
        if col in REGION_KEYS:
            continue
        kinds = {type(r[col]) for r in rows if r[col] is not None}
        out[col] = Type.BOOL if kinds == {bool} else Type.NUMBER if kinds <= {int, float} and kinds else Type.STRING
    return out


@dataclass(eq=False)
class Deduction:
    id: str
    title: str
    cite: str
    of: str
    effect: str  # excluded | both | numerator
    effect_word: str
    when: ast.Node
    when_text: YStr
    entry: YDict
    position: int

    kind = KIND_DEDUCTION

    def catalog(self) -> dict:
        return {"id": self.id, "kind": "扣除", "title": self.title, "cite": self.cite, "of": self.of,
                "effect": self.effect_word, "when": str(self.when_text)}

    def nodes(self) -> list[ast.Node]:
        return [self.when]


@dataclass(eq=False)
class Rollup:
    name: str
    of: str
    count: str


@dataclass(eq=False)
class Assessment:
    id: str
    kind: str
    title: str
    cite: str
    levels: list[str]
    period: str  # year | quarter | month
    period_date: ast.Name | None
    scope: ast.Node | None
    numerator: ast.Node | None
    denominator: ast.Node | None
    values: list[tuple[str, ast.Node]]
    rollups: list[Rollup]
    flag: ast.Node
    flag_text: YStr
    task: dict | None
    entry: YDict
    note: str | None = None
    deductions: list[Deduction] = field(default_factory=list)
    facts: dict[str, Type] = field(default_factory=dict)  # region facts it reads (from --region-facts): name -> type

    def catalog(self) -> dict:
        out = {"id": self.id, "kind": "评估", "assessment": self.kind, "title": self.title, "cite": self.cite,
               "level": "、".join(self.levels), "period": {v: k for k, v in PERIODS.items()}[self.period], "when": str(self.flag_text),
               "deductions": [d.id for d in self.deductions]}
        if self.task:
            out["task"] = dict(self.task)
        if self.facts:
            out["facts"] = list(self.facts)
        return out

    def nodes(self) -> list[ast.Node]:
        out = [n for n in (self.period_date, self.scope, self.numerator, self.denominator, self.flag) if n is not None]
        out += [n for _, n in self.values]
        out += [d.when for d in self.deductions]
        return out

    def thresholds(self) -> list[tuple[str, ast.Node]]:
        """Parameters the flag and values compare against (shown with each result)."""
        return params_in([self.flag, *(n for _, n in self.values)])

    def output_types(self) -> dict[str, str]:
        """Type of each output value (for reports): a Type, or "percent" for a ratio or a threshold written in %."""
        out: dict[str, Type] = {}
        for name, node in (("numerator", self.numerator), ("denominator", self.denominator)):
            if node is not None:
                out[name] = out[name + "_gross"] = node.type
        if self.denominator is not None:
            out["ratio"] = "percent"
        for r in self.rollups:
            out[r.name] = Type.NUMBER
        out.update(self.facts)
        for name, node in self.values:
            out[name] = "percent" if isinstance(node, ast.Binary) and node.op == "/" and node.type == Type.NUMBER else node.type
        for label, node in self.thresholds():
            p = (node.name if isinstance(node, ast.Index) else node).ref[1]
            lit = p.by_level[node.key] if isinstance(node, ast.Index) else (p.value or next(iter(p.by_level.values())))
            out[label] = "percent" if getattr(lit, "unit", None) == "%" else p.type
        return out

    def ordered_deductions(self) -> list[Deduction]:
        """Deductions in precedence order: strongest effect first, then as listed."""
        return sorted(self.deductions, key=lambda d: (EFFECT_RANK[d.effect], d.position))


def params_in(nodes) -> list[tuple[str, ast.Node]]:
    """Parameter references (Name or Index) in these expressions: (label, node), first occurrence of each."""
    out: list[tuple[str, ast.Node]] = []
    seen: set[str] = set()

    def visit(n: ast.Node):
        target = n.name if isinstance(n, ast.Index) else n
        if isinstance(target, ast.Name) and target.ref and target.ref[0] == "param":
            label = f"{target.name}[{n.key}]" if isinstance(n, ast.Index) else target.name
            if label not in seen:
                seen.add(label)
                out.append((label, n))
            return
        for ch in n.children():
            visit(ch)

    for root in nodes:
        visit(root)
    return out
