"""Pass 4, region assessments and deductions (the entry shapes are described in engine.policy.assessments)."""
from __future__ import annotations

from engine.data.dictionary import fact_fields
from engine.errors import suggest
from engine.lang import ast
from engine.lang.types import Type
from engine.policy.assessments import (EFFECTS, INHERITED_BY_BASIS, KIND_DEDUCTION, PERIODS, ROLLUP_COUNTS,
                                       VALUE_ALIASES, Assessment, Deduction, Rollup, region_attr_types)
from engine.policy.check.context import CheckContext
from engine.policy.check.region_exprs import grouped, row_condition
from engine.policy.marks import YDict, YStr


def _period(ctx: CheckContext, entry: YDict) -> tuple[str, ast.Name | None]:
    raw = entry.get("period", "年度")
    if str(raw) not in PERIODS:
        ctx.diag("E105", f"period 的值「{raw}」不认识", raw if isinstance(raw, YStr) else entry["id"], help="可选：" + "、".join(PERIODS))
        return "year", None
    code = PERIODS[str(raw)]
    if code == "year":
        return code, None
    date_name = entry.get("period_date")
    if date_name is None:
        ctx.diag("E106", f"按{raw}评估需要写明 period_date（按哪个日期字段分期）", entry["id"], help="例如 period_date: 下发日期")
        return code, None
    f = ctx.dict.lookup(str(date_name))
    if f is None or f.type != "date":
        ctx.diag("E106", f"period_date「{date_name}」不是日期字段", date_name, help="例如 period_date: 下发日期")
        return code, None
    node = ast.Name(f.name)
    node.ref, node.type = ("field", f), Type.DATE
    return code, node


def _with_basis(ctx: CheckContext, entry: YDict, known: dict[str, Assessment]) -> YDict | None:
    """The entry with what it does not say taken from its `basis:` assessment."""
    basis = entry.get("basis")
    if basis is None:
        return entry
    if str(basis) not in known:
        ctx.diag("E107", f"basis 指向的评估「{basis}」不存在（或写在本评估之后）", basis, help="basis 只能引用写在前面的评估")
        return None
    base = known[str(basis)].entry
    merged = YDict(entry)
    merged.key_marks = dict(entry.key_marks)
    merged.file, merged.line, merged.col = entry.file, entry.line, entry.col
    for k in INHERITED_BY_BASIS:
        if k not in entry and k in base:
            merged[k] = base[k]
    return merged


def _rollups(ctx: CheckContext, entry: YDict, known: dict[str, Assessment], values: dict[str, Type]) -> list[Rollup]:
    rollups = []
    for name, spec in (entry.get("rollup") or {}).items():
        of = spec.get("of") if isinstance(spec, dict) else None
        count = spec.get("count") if isinstance(spec, dict) else None
        if of is None or str(of) not in known:
            ctx.diag("E110", f"rollup「{name}」的 of 指向的评估「{of}」不存在（或写在本评估之后）",
                     of if of is not None else entry["id"], help="of 只能引用写在前面的评估")
            continue
        if str(count) not in ROLLUP_COUNTS:
            ctx.diag("E111", f"rollup「{name}」的 count「{count}」不认识", count if count is not None else entry["id"],
                     help="可选：regions（达到标准的下级区域数）、periods（达到标准的期数）、consecutive_periods（最长连续期数）")
            continue
        rollups.append(Rollup(str(name), str(of), str(count)))
        values[str(name)] = Type.NUMBER
    return rollups


def _facts(ctx: CheckContext, entry: YDict) -> dict[str, Type] | None:
    """The region facts an assessment declares (`facts: [...]`, names of schemas/fields.yaml `region_facts:`), and
    their types; None when one is not a known fact (E118)."""
    raw = entry.get("facts")
    if raw is None:
        return {}
    known = fact_fields()
    types, ok = {}, True  # the policy schema has made it a list of names
    for item in raw:
        if str(item) not in known:
            hint = suggest(str(item), known)
            ctx.diag("E118", f"「{item}」不是区域事实表中的事实", item if isinstance(item, YStr) else raw,
                     help=(hint + "；" if hint else "") + "可用的事实（schemas/fields.yaml region_facts）："
                     + ("、".join(known) or "无"))
            ok = False
            continue
        types[str(item)] = Type(known[str(item)])
    return types if ok else None


def _assessment(ctx: CheckContext, region: dict[str, Type], entry: YDict, known: dict[str, Assessment]) -> Assessment | None:
    entry = _with_basis(ctx, entry, known)
    if entry is None or not ctx.require(entry, ("title", "cite", "kind", "levels", "flag"), "评估"):
        return None
    fact_types = _facts(ctx, entry)
    if fact_types is None:
        return None
    levels = [str(lv) for lv in entry["levels"]]
    for lv in levels:
        if lv not in ctx.levels:
            ctx.diag("E108", f"「{lv}」不是级别", entry["levels"], help="级别为：" + "、".join(ctx.levels))
            return None
    period, period_date = _period(ctx, entry)
    scope = row_condition(ctx, region, entry["scope"], levels) if entry.get("scope") is not None else None
    values: dict[str, Type] = dict(fact_types)  # a declared fact is a region value: in values and flag, not per patch
    numerator = denominator = None
    quantity = (Type.NUMBER, Type.AREA)
    if entry.get("numerator") is not None:
        numerator = grouped(ctx, region, entry["numerator"], {}, quantity, "numerator（分子）", levels)
        values["numerator"] = numerator.type if numerator is not None else Type.ERROR
    if entry.get("denominator") is not None:
        if numerator is None and entry.get("numerator") is None:
            ctx.diag("E109", "有 denominator（分母）就要有 numerator（分子）", entry["denominator"])
        denominator = grouped(ctx, region, entry["denominator"], {}, quantity, "denominator（分母）", levels)
        values["denominator"] = denominator.type if denominator is not None else Type.ERROR
        values["ratio"] = Type.NUMBER
    for alias, name in VALUE_ALIASES.items():
        if name in values:
            values[alias] = values[name]
    rollups = _rollups(ctx, entry, known, values)
    own: list[tuple[str, ast.Node]] = []
    for name, text in (entry.get("values") or {}).items():
        if str(name) in values or str(name) in region:
            ctx.diag("E112", f"评估取值「{name}」重名", name if isinstance(name, YStr) else entry["id"])
            continue
        node = grouped(ctx, region, text, values, None, f"取值「{name}」", levels)
        if node is None:
            continue
        own.append((str(name), node))
        values[str(name)] = node.type or Type.ERROR
    flag = grouped(ctx, region, entry["flag"], values, (Type.BOOL,), "flag", levels)
    task = None
    if entry.get("task") is not None:
        t = entry["task"]
        task = {"level": str(t["level"]), "action": str(t["action"]), "title": str(t.get("title") or entry["title"]),
                "cite": str(t.get("cite") or entry["cite"])}
    if flag is None:
        return None
    return Assessment(str(entry["id"]), str(entry["kind"]), str(entry["title"]), str(entry["cite"]), levels, period,
                      period_date, scope, numerator, denominator, own, rollups, flag, entry["flag"], task, entry,
                      note=str(entry["note"]) if entry.get("note") else None, facts=fact_types)


def _deduction(ctx: CheckContext, region: dict[str, Type], entry: YDict, position: int, levels: list[str]) -> Deduction | None:
    if not ctx.require(entry, ("title", "cite", "of", "effect", "when"), "扣除"):
        return None
    word = str(entry["effect"])
    if word not in EFFECTS:
        ctx.diag("E113", f"扣除「{entry['id']}」的 effect「{word}」不认识", entry["effect"], help="可选：" + "、".join(EFFECTS))
        return None
    when = row_condition(ctx, region, entry["when"], levels)
    if when is None:
        return None
    return Deduction(str(entry["id"]), str(entry["title"]), str(entry["cite"]), str(entry["of"]), EFFECTS[word], word,
                     when, entry["when"], entry, position)


def check_assessments(ctx: CheckContext, entries: list[YDict]) -> list:
    """Every assessment and deduction entry: Assessment and Deduction objects (in file order)."""
    region = region_attr_types()
    known: dict[str, Assessment] = {}
    found: list[tuple[int, object]] = []
    for i, entry in enumerate(entries):
        if str(entry.get("kind")) != KIND_DEDUCTION:
            a = _assessment(ctx, region, entry, known)
            if a is not None:
                known[a.id] = a
                found.append((i, a))
    ids = {str(e["id"]) for e in entries}
    for i, entry in enumerate(entries):
        if str(entry.get("kind")) != KIND_DEDUCTION:
            continue
        of = str(entry.get("of"))
        if entry.get("of") is not None and of not in ids:
            ctx.diag("E114", f"扣除「{entry['id']}」的 of 指向的评估「{of}」不存在", entry["of"],
                     help="of 写所属评估的编号" + (("；" + h) if (h := suggest(of, known)) else ""))
            continue
        target = known.get(of)
        d = _deduction(ctx, region, entry, i, target.levels if target else list(ctx.levels))
        if d is not None:
            found.append((i, d))
            if target is not None:
                target.deductions.append(d)
    for a in known.values():  # basis: reuse the deductions of the assessment it is based on
        basis = a.entry.get("basis")
        if basis is not None and not a.deductions and str(basis) in known:
            a.deductions = list(known[str(basis)].deductions)
    return [x for _, x in sorted(found, key=lambda t: t[0])]
