"""weipian assess：区域评估（问责评估、差错率、通报约谈、预警、耕地指标冻结……），每类每级一张表，达到标准的区域在前。"""
from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console
from rich.table import Table

from engine.data.bundled import AREA_UNIT

EXAMPLE = """示例：
  weipian assess datasets/sample_2023.csv --as-of 2024-06-30
  weipian assess 月报.xlsx --level 县级
  weipian assess 月报.csv --format json > 评估.json

每行一个区域（及期间）：分子、分母、比例、扣除明细（哪条扣除减了多少亩）、所用阈值，以及是否达到标准。
退出码：0 没有区域达到标准；1 有区域达到标准（问责、超限、通报、约谈、预警、需冻结指标）；2 政策、输入或参数不可用。"""

MAIN_KEYS = ("numerator", "denominator", "ratio", "numerator_gross", "denominator_gross", "deductions")
LABELS = {"numerator": "分子", "denominator": "分母", "ratio": "比例", "numerator_gross": "扣除前分子", "denominator_gross": "扣除前分母"}


def register(subparsers) -> None:
    from engine.cli.main import _add_common

    p = subparsers.add_parser("assess", help="区域评估：问责、差错率、通报约谈、预警、耕地指标冻结",
                              description="按政策对各县、市、省做区域评估，列出分子、分母、比例、扣除明细与是否达到标准。",
                              epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(p)
    p.add_argument("--format", choices=["text", "json"], default="text", help="输出格式（默认 text）")
    from engine.data.dictionary import load_dictionary

    p.add_argument("--level", choices=list(load_dictionary().levels)[::-1], help="只看这一级的区域")
    p.set_defaults(func=cmd_assess)


def _fmt(v, typ: str | None) -> str:
    if v is None:
        return "空"
    if isinstance(v, bool):
        return "是" if v else "否"
    if typ == "percent":
        return f"{float(v) * 100:.2f}".rstrip("0").rstrip(".") + "%"
    if isinstance(v, float):
        return _num(v) + (AREA_UNIT if typ == "area" else "")
    return str(v)


def _types(policy, rule: str) -> dict[str, str]:
    from engine.policy.assessments import Assessment

    a = next((x for x in policy.assessments if isinstance(x, Assessment) and x.id == rule), None)
    return a.output_types() if a is not None else {}


def _deductions_text(ded: dict, area: bool) -> str:
    unit = AREA_UNIT if area else ""
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
    if v is None:
        return "空"
    return f"{float(v):.4f}".rstrip("0").rstrip(".")


def render(result, console: Console, level: str | None = None) -> None:
    rows = [a for a in result.assessments if level is None or a["level"] == level]
    catalog = {(c["year"], c["id"]): c for c in result.catalog()}
    if not rows:
        console.print("没有区域评估结果（数据中没有评估范围内的图斑，或政策未定义评估）。")
        return
    groups: dict[tuple, list[dict]] = {}
    for a in rows:
        year = int(str(a["period"])[:4]) if str(a["period"])[:4].isdigit() else None
        groups.setdefault((a["rule"], a["kind"], a["level"], year), []).append(a)
    for (rule, kind, lv, year), items in groups.items():
        policy = result.policies.get(year) or next(iter(result.policies.values()))
        types = _types(policy, rule)
        cat = catalog.get((policy.year, rule), {})
        flagged = sum(1 for a in items if a["flagged"])
        t = Table(title=f"{kind} · {lv}：{cat.get('title', rule)}（{rule}，{items[0]['cite']}）  达到标准 {flagged}/{len(items)}",
                  title_justify="left", show_lines=True)
        extra = []
        for a in items:
            for k in a["values"]:
                if k not in MAIN_KEYS and k not in extra:
                    extra.append(k)
        main = [k for k in MAIN_KEYS[:5] if any(k in a["values"] for a in items)]
        for col in ("区域", "期间", "结果", *(LABELS[k] for k in main), *extra):
            t.add_column(col, justify="right" if col not in ("区域", "期间", "结果") else "left")
        has_ded = any(a["values"].get("deductions") for a in items)
        if has_ded:
            t.add_column("扣除明细")
        for a in sorted(items, key=lambda a: not a["flagged"]):  # flagged first, otherwise as computed (sorted)
            label = f"{a['name']}（{a['region']}）" if a.get("name") else a["region"]
            cells = [label, str(a["period"]), "[bold red]达到标准[/bold red]" if a["flagged"] else "未达到"]
            cells += [_fmt(a["values"].get(k), types.get(k)) for k in main]
            cells += [_fmt(a["values"].get(k), types.get(k)) for k in extra]
            if has_ded:
                cells.append(_deductions_text(a["values"].get("deductions") or {}, types.get("numerator") == "area"))
            t.add_row(*cells)
        console.print(t)
    region_tasks = [k for k in result.tasks if k.get("region")]
    if region_tasks:
        t = Table(title=f"评估生成的任务（{len(region_tasks)} 项）", title_justify="left")
        for col in ("层级", "任务", "区域", "规则", "说明", "条款"):
            t.add_column(col)
        for k in region_tasks:
            t.add_row(k["level"], k["action"], k["region"], k["rule"], k["message"], k["cite"])
        console.print(t)


def cmd_assess(args, console: Console) -> int:
    from engine.policy.policyset import load_policies
    from engine.run.runner import check

    policies = load_policies(args.policies)
    result = check(args.data, policies, as_of=args.as_of, year=args.year, sheet=args.sheet, encoding=args.encoding,
                   area_unit=args.area_unit, columns=args.columns)
    rows = [a for a in result.assessments if args.level is None or a["level"] == args.level]
    if args.format == "json":
        doc = result.to_json()
        out = {k: doc[k] for k in ("policy", "policies", "input", "run")}
        out["assessments"] = rows
        out["tasks"] = [k for k in result.tasks if k.get("region")]
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        render(result, console, args.level)
    return 1 if any(a["flagged"] for a in rows) else 0
