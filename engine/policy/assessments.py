"""Region assessments (grouped numerators, denominators, ratios and flags per region and period): check the `assessments:` entries of a policy.

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
deductions (e.g. an early warning with its own flag). Execution lives in engine/assess_sql.py.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.lang import ast
from engine.policy.checker import TYPE_WORDS, Checker, Scope
from engine.errors import Diagnostic, Loc, suggest
from engine.lang.parser import ParseFailure, parse
from engine.data.regions import COLUMNS, load_regions
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


def region_attr_types() -> dict[str, str]:
    """Region data usable in assessment expressions: every regions.csv column but the identity ones."""
    rows = load_regions()
    out: dict[str, str] = {}
    for col in COLUMNS:
        if col in REGION_KEYS:
            continue
        kinds = {type(r[col]) for r in rows if r[col] is not None}
        out[col] = "bool" if kinds == {bool} else "number" if kinds <= {int, float} and kinds else "string"
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

    def catalog(self) -> dict:
        out = {"id": self.id, "kind": "评估", "assessment": self.kind, "title": self.title, "cite": self.cite,
               "level": "、".join(self.levels), "period": {v: k for k, v in PERIODS.items()}[self.period], "when": str(self.flag_text),
               "deductions": [d.id for d in self.deductions]}
        if self.task:
            out["task"] = dict(self.task)
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
        """Type of each output value: area | percent | number | bool | string | date (for reports)."""
        out: dict[str, str] = {}
        for name, node in (("numerator", self.numerator), ("denominator", self.denominator)):
            if node is not None:
                out[name] = out[name + "_gross"] = node.type
        if self.denominator is not None:
            out["ratio"] = "percent"
        for r in self.rollups:
            out[r.name] = "number"
        for name, node in self.values:
            out[name] = "percent" if isinstance(node, ast.Binary) and node.op == "/" and node.type == "number" else node.type
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


# ---- checking -----------------------------------------------------------------------------------


def _loc(text) -> Loc:
    if isinstance(text, YStr):
        return Loc(text.file, text.line, text.col, max(len(text), 1))
    return Loc(getattr(text, "file", None), getattr(text, "line", None), getattr(text, "col", None))


class _AssessChecker:
    def __init__(self, c: Checker):
        self.c = c
        self.region = region_attr_types()
        self.levels = tuple(c.dict.levels)

    def diag(self, code: str, message: str, where, help: str | None = None):
        self.c.diags.append(Diagnostic(code, message, _loc(where), help=help))

    def parse(self, text) -> ast.Node | None:
        if not isinstance(text, str) or not text.strip():
            self.diag("E030", "表达式为空", text, help="写一个表达式，例如 sum(面积字段 where 条件)")
            return None
        try:
            return parse(str(text))
        except ParseFailure as exc:
            loc = text.loc(exc.offset, exc.length) if isinstance(text, YStr) else Loc()
            self.c.diags.append(Diagnostic("E030", f"表达式语法错误：{exc.message}", loc, help=exc.help))
            return None

    def row_scope(self, text) -> Scope:
        return Scope(text, dynamic_level=True, aggregates=False, values=dict(self.region), levels=self.levels)

    def row_condition(self, text, levels: list[str]) -> ast.Node | None:
        node = self.parse(text)
        if node is None:
            return None
        aggs = [n for n in ast.walk(node) if isinstance(n, ast.Aggregate)]
        if aggs:
            self.c.error("E115", "这里的条件逐图斑判断，不能用 sum(…)/count(…)", text, aggs[0],
                         help="汇总值写在 numerator、denominator、values 或 flag 中")
            return None
        self.c.want_bool(node, self.row_scope(text), "条件")
        self.levels_used(node, text, levels)
        return node

    def levels_used(self, node: ast.Node, text, levels: list[str]):
        """Per-level parameters need a value for every assessed level; 评估级别 compares with level names."""
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.ref and n.ref[0] == "param" and n.ref[1].by_level is not None:
                missing = [lv for lv in levels if lv not in n.ref[1].by_level]
                if missing:
                    self.c.error("E116", f"参数「{n.name}」没有「{'、'.join(missing)}」的取值，而本评估要评估该级别", text, n,
                                 help="在参数中补上该级别的取值，或从 levels 中去掉该级别")
            if isinstance(n, (ast.Binary, ast.InList)):
                sides = [n.left, n.right] if isinstance(n, ast.Binary) else [n.operand, *n.items]
                if any(isinstance(x, ast.Name) and x.ref == ("builtin", "评估级别") for x in sides):
                    for x in sides:
                        if isinstance(x, ast.String) and x.value not in self.levels:
                            self.c.error("E117", f"「{x.value}」不是级别", text, x, help="级别为：" + "、".join(self.levels))

    def grouped(self, text, values: dict[str, str], want: tuple[str, ...] | None, what: str, levels: list[str]) -> ast.Node | None:
        """An expression over the region's patches: aggregates, the assessment's values, region data, parameters."""
        node = self.parse(text)
        if node is None:
            return None
        scope = Scope(text, dynamic_level=True, aggregates=True, values={**self.region, **values}, levels=self.levels)
        if want == ("bool",):
            self.c.want_bool(node, scope, what)
        else:
            t = self.c.expr(node, scope)
            if want and t not in (*want, "error"):
                self.c.error("E101", f"{what}应为数值或面积，这里是{_type_word(t)}", text, node,
                             help="例如 sum(面积字段 where 条件) 或 count(where 条件)")
        self._outside_aggregates(node, text, set(values), inside=False)
        self.levels_used(node, text, levels)
        return node

    def _outside_aggregates(self, node: ast.Node, text, local: set[str], inside: bool):
        if isinstance(node, ast.Aggregate):
            if inside:
                self.c.error("E102", "sum/count 不能嵌套", text, node)
                return
            for ch in node.children():
                self._outside_aggregates(ch, text, local, True)
            return
        if isinstance(node, ast.Name) and node.ref:
            kind, ref = node.ref
            if kind == "field" and not inside:
                self.c.error("E103", f"字段「{ref.name}」按图斑取值，要写在 sum(…) 或 count(…) 里", text, node,
                             help=f"例如 sum({ref.name} where …) 或 count(where {ref.name} …)")
            elif kind == "def" and not inside and self.c._def_fields.get(ref.name):
                self.c.error("E103", f"定义「{ref.name}」按图斑取值，要写在 sum(…) 或 count(…) 的 where 里", text, node,
                             help=f"例如 count(where {ref.name})")
            elif kind == "value" and inside and ref in local:
                self.c.error("E104", f"评估取值「{ref}」是区域汇总值，不能写在 sum(…)/count(…) 里", text, node)
        for ch in node.children():
            self._outside_aggregates(ch, text, local, inside)

    def period(self, entry: YDict) -> tuple[str, ast.Name | None]:
        raw = entry.get("period", "年度")
        if str(raw) not in PERIODS:
            self.diag("E105", f"period 的值「{raw}」不认识", raw if isinstance(raw, YStr) else entry["id"],
                      help="可选：" + "、".join(PERIODS))
            return "year", None
        code = PERIODS[str(raw)]
        if code == "year":
            return code, None
        date_name = entry.get("period_date")
        if date_name is None:
            self.diag("E106", f"按{raw}评估需要写明 period_date（按哪个日期字段分期）", entry["id"], help="例如 period_date: 下发日期")
            return code, None
        f = self.c.dict.lookup(str(date_name))
        if f is None or f.type != "date":
            self.diag("E106", f"period_date「{date_name}」不是日期字段", date_name, help="例如 period_date: 下发日期")
            return code, None
        node = ast.Name(f.name)
        node.ref, node.type = ("field", f), "date"
        self.c._use_field(f)
        return code, node

    def assessment(self, entry: YDict, known: dict[str, Assessment]) -> Assessment | None:
        basis = entry.get("basis")
        if basis is not None:
            if str(basis) not in known:
                self.diag("E107", f"basis 指向的评估「{basis}」不存在（或写在本评估之后）", basis,
                          help="basis 只能引用写在前面的评估")
                return None
            base = known[str(basis)].entry
            merged = YDict(entry)
            merged.key_marks = dict(entry.key_marks)
            merged.file, merged.line, merged.col = entry.file, entry.line, entry.col
            for k in INHERITED_BY_BASIS:
                if k not in entry and k in base:
                    merged[k] = base[k]
            entry = merged
        if not self.c.require(entry, ("title", "cite", "kind", "levels", "flag"), "评估"):
            return None
        levels = [str(lv) for lv in entry["levels"]]
        for lv in levels:
            if lv not in self.levels:
                self.diag("E108", f"「{lv}」不是级别", entry["levels"], help="级别为：" + "、".join(self.levels))
                return None
        period, period_date = self.period(entry)
        scope = self.row_condition(entry["scope"], levels) if entry.get("scope") is not None else None
        values: dict[str, str] = {}
        numerator = denominator = None
        if entry.get("numerator") is not None:
            numerator = self.grouped(entry["numerator"], {}, ("number", "area"), "numerator（分子）", levels)
            values["numerator"] = numerator.type if numerator is not None else "error"
        if entry.get("denominator") is not None:
            if numerator is None and entry.get("numerator") is None:
                self.diag("E109", "有 denominator（分母）就要有 numerator（分子）", entry["denominator"])
            denominator = self.grouped(entry["denominator"], {}, ("number", "area"), "denominator（分母）", levels)
            values["denominator"] = denominator.type if denominator is not None else "error"
            values["ratio"] = "number"
        for alias, name in VALUE_ALIASES.items():
            if name in values:
                values[alias] = values[name]
        rollups = []
        for name, spec in (entry.get("rollup") or {}).items():
            of = spec.get("of") if isinstance(spec, dict) else None
            count = spec.get("count") if isinstance(spec, dict) else None
            if of is None or str(of) not in known:
                self.diag("E110", f"rollup「{name}」的 of 指向的评估「{of}」不存在（或写在本评估之后）",
                          of if of is not None else entry["id"], help="of 只能引用写在前面的评估")
                continue
            if str(count) not in ROLLUP_COUNTS:
                self.diag("E111", f"rollup「{name}」的 count「{count}」不认识", count if count is not None else entry["id"],
                          help="可选：regions（达到标准的下级区域数）、periods（达到标准的期数）、consecutive_periods（最长连续期数）")
                continue
            rollups.append(Rollup(str(name), str(of), str(count)))
            values[str(name)] = "number"
        own: list[tuple[str, ast.Node]] = []
        for name, text in (entry.get("values") or {}).items():
            if str(name) in values or str(name) in self.region:
                self.diag("E112", f"评估取值「{name}」重名", name if isinstance(name, YStr) else entry["id"])
                continue
            node = self.grouped(text, values, None, f"取值「{name}」", levels)
            if node is None:
                continue
            own.append((str(name), node))
            values[str(name)] = node.type or "error"
        flag = self.grouped(entry["flag"], values, ("bool",), "flag", levels)
        task = None
        if entry.get("task") is not None:
            t = entry["task"]
            task = {"level": str(t["level"]), "action": str(t["action"]), "title": str(t.get("title") or entry["title"]),
                    "cite": str(t.get("cite") or entry["cite"])}
        if flag is None:
            return None
        return Assessment(str(entry["id"]), str(entry["kind"]), str(entry["title"]), str(entry["cite"]), levels, period,
                          period_date, scope, numerator, denominator, own, rollups, flag, entry["flag"], task, entry,
                          note=str(entry["note"]) if entry.get("note") else None)

    def deduction(self, entry: YDict, position: int, levels: list[str]) -> Deduction | None:
        if not self.c.require(entry, ("title", "cite", "of", "effect", "when"), "扣除"):
            return None
        word = str(entry["effect"])
        if word not in EFFECTS:
            self.diag("E113", f"扣除「{entry['id']}」的 effect「{word}」不认识", entry["effect"], help="可选：" + "、".join(EFFECTS))
            return None
        when = self.row_condition(entry["when"], levels)
        if when is None:
            return None
        return Deduction(str(entry["id"]), str(entry["title"]), str(entry["cite"]), str(entry["of"]), EFFECTS[word], word,
                         when, entry["when"], entry, position)


def _type_word(t: str) -> str:
    return TYPE_WORDS.get(t, t)


def check_assessments(checker: Checker, entries: list[YDict]) -> list:
    """Check every assessment and deduction entry; return Assessment and Deduction objects (in file order)."""
    ac = _AssessChecker(checker)
    known: dict[str, Assessment] = {}
    found: list[tuple[int, object]] = []
    for i, entry in enumerate(entries):
        if str(entry.get("kind")) != KIND_DEDUCTION:
            a = ac.assessment(entry, known)
            if a is not None:
                known[a.id] = a
                found.append((i, a))
    ids = {str(e["id"]) for e in entries}
    for i, entry in enumerate(entries):
        if str(entry.get("kind")) != KIND_DEDUCTION:
            continue
        of = str(entry.get("of"))
        if entry.get("of") is not None and of not in ids:
            ac.diag("E114", f"扣除「{entry['id']}」的 of 指向的评估「{of}」不存在", entry["of"],
                    help="of 写所属评估的编号" + (("；" + h) if (h := suggest(of, known)) else ""))
            continue
        target = known.get(of)
        d = ac.deduction(entry, i, target.levels if target else list(ac.levels))
        if d is not None:
            found.append((i, d))
            if target is not None:
                target.deductions.append(d)
    for a in known.values():  # basis: reuse the deductions of the assessment it is based on
        basis = a.entry.get("basis")
        if basis is not None and not a.deductions and str(basis) in known:
            a.deductions = list(known[str(basis)].deductions)
    return [x for _, x in sorted(found, key=lambda t: t[0])]
