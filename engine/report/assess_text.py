"""Terminal report of region assessments (weipian assess): one table per assessment kind and level, flagged regions first."""
from __future__ import annotations

from rich.console import Console
from rich.table import Table

from engine import values
from engine.run.result import Result
from engine.run.rows import AssessmentRow

MAIN_KEYS = ("numerator", "denominator", "ratio", "numerator_gross", "denominator_gross", "deductions")
LABELS = {"numerator": "分子", "denominator": "分母", "ratio": "比例", "numerator_gross": "扣除前分子", "denominator_gross": "扣除前分母"}


def _fmt(v, typ: str | None, area_unit: str) -> str:
    return values.value(v, typ, area_unit)


def _types(policy, rule: str) -> dict[str, str]:
    a = next((x for x in policy.assessments if x.id == rule), None)
    return a.output_types() if a is not None else {}


def _deductions_text(ded: dict, unit: str) -> str:
    parts = []
    for rid, x in ded.items():
        if not x.get("patches"):
            continue
        verb = "不计入" if x["effect"] == "分子分母均不计入" else "扣除"
        amounts = [f"分子{verb} {_num(x.get('numerator'))}{unit}"]
        if "denominator" in x:
            amounts.append(f"分母{verb} {_num(x.get('denominator'))}{unit}")
        parts.append(f"{x['title']}：{x['patches']} 个图斑，{'，'.join(amounts)}")
    return "\n".join(parts) or "无"


def _num(v) -> str:
    return values.number(v)


def render(result: Result, console: Console, level: str | None = None) -> None:
    rows = result.assessments_of(level)
    area_unit = result.dictionary.area_unit
    catalog = {(c["year"], c["id"]): c for c in result.catalog()}
    if not rows:
        console.print("没有区域评估结果（数据中没有评估范围内的图斑，或政策未定义评估）。")
        return
    groups: dict[tuple, list[AssessmentRow]] = {}
    for a in rows:
        year = int(str(a.period)[:4]) if str(a.period)[:4].isdigit() else None
        groups.setdefault((a.rule, a.kind, a.level, year), []).append(a)
    for (rule, kind, lv, year), items in groups.items():
        policy = result.policies.get(year) or next(iter(result.policies.values()))
        types = _types(policy, rule)
        cat = catalog.get((policy.year, rule), {})
        flagged = sum(1 for a in items if a.flagged)
        unknown = sum(1 for a in items if a.flagged is None)
        t = Table(title=f"{kind} · {lv}：{cat.get('title', rule)}（{rule}，{items[0].cite}）  达到标准 {flagged}/{len(items)}"
                  + (f"，未评估 {unknown}" if unknown else ""),
                  title_justify="left", show_lines=True)
        extra = []
        for a in items:
            for k in a.values:
                if k not in MAIN_KEYS and k not in extra:
                    extra.append(k)
        main = [k for k in MAIN_KEYS[:5] if any(k in a.values for a in items)]
        for col in ("区域", "期间", "结果", *(LABELS[k] for k in main), *extra):
            t.add_column(col, justify="right" if col not in ("区域", "期间", "结果") else "left")
        has_ded = any(a.values.get("deductions") for a in items)
        if has_ded:
            t.add_column("扣除明细")
        for a in sorted(items, key=lambda a: not a.flagged):  # flagged first, otherwise as computed (sorted)
            label = f"{a.name}（{a.region}）" if a.name else a.region
            cells = [label, str(a.period), "[bold red]达到标准[/bold red]" if a.flagged else "未达到" if a.flagged is not None
                     else f"未评估（{a.not_evaluated}）"]
            cells += [_fmt(a.values.get(k), types.get(k), area_unit) for k in main]
            cells += [_fmt(a.values.get(k), types.get(k), area_unit) for k in extra]
            if has_ded:
                cells.append(_deductions_text(a.values.get("deductions") or {}, area_unit if types.get("numerator") == "area" else ""))
            t.add_row(*cells)
        console.print(t)
    region_tasks = result.region_tasks
    if region_tasks:
        t = Table(title=f"评估生成的任务（{len(region_tasks)} 项）", title_justify="left")
        for col in ("层级", "任务", "区域", "规则", "说明", "条款"):
            t.add_column(col)
        for k in region_tasks:
            t.add_row(k.level, k.action, k.region, k.rule, k.message, k.cite)
        console.print(t)
