"""weipian explain：逐条列出某个图斑的规则与触发条件，代入该图斑的取值，说明为什么触发或未触发。"""
from __future__ import annotations

import argparse
import json
import sys

from engine.cli.common import EXIT_OK, add_common, add_region_facts, plain_printer
from engine.errors import InputError

EXAMPLE = """示例：
  weipian explain datasets/sample_2023.csv --patch 610902202301001 --as-of 2024-06-30
  weipian explain 县上报.xlsx --patch 610902202301001 --rule Y23-T-city-suspected
  weipian explain 县上报.xlsx --patch 610902202301001 --only-fired
  weipian explain 县上报.xlsx --region 610902 --as-of 2024-06-30   # 某地区的区域评估

每条条件先原样列出，再列出「代入」后的写法：字段、参数、定义和函数后面的〔…〕是该图斑的取值；
随后逐个子条件标出 [是]/[否]，引用的定义也展开说明。所有取值由与 check 相同的 SQL 计算。
--region 解释区域评估：列入条件（flag）代入该地区的分子、分母、比例等取值，逐个子条件标出 [是]/[否]。"""


def cmd_explain(args, console) -> int:
    from engine.policy.policyset import load_policies
    from engine.run.explain import explain_patch
    from engine.run.runner import as_date, prepare

    if (args.patch is None) == (args.region is None):
        raise InputError("请用 --patch 图斑编号 或 --region 行政区代码 指定要解释的对象（二选一）")
    policies = load_policies(args.policies)
    as_of = as_date(args.as_of)
    con = prepare(args.data, policies, year=args.year, sheet=args.sheet, encoding=args.encoding, area_unit=args.area_unit,
                  columns=args.columns, region_facts=args.region_facts).con
    if args.region is not None:
        return _explain_region(args, console, con, policies, as_of)
    docs, say = [], plain_printer(console)
    for x in explain_patch(con, policies, args.patch, as_of, rules=args.rule, only_fired=args.only_fired):
        docs.append(x.to_json())
        if x.errors is not None:
            say(f"图斑 {x.patch}（{x.where}）：" + "该行数据格式有误，未做规则检查：" + "；".join(x.errors))
        elif args.format == "text":
            fired = sum(e.fired for e in x.checks)
            say(f"图斑 {x.patch}（{x.where}）按 {x.year}年政策「{x.policy.title}」检查，评估日期 {as_of.isoformat()}："
                f"{len(x.checks)} 条中触发 {fired} 条")
            say()
            for e in x.checks:
                say(e.render())
                say()
    if args.format == "json":
        sys.stdout.write(json.dumps(docs, ensure_ascii=False, indent=2) + "\n")
    return EXIT_OK


def _explain_region(args, console, con, policies, as_of) -> int:
    from engine.run.explain import explain_regions

    docs, say = [], plain_printer(console)
    for year, policy, exps in explain_regions(con, policies, args.region, as_of, only_fired=args.only_fired):
        docs += [{"year": year, **e.to_json()} for e in exps]
        if args.format == "text" and exps:
            say(f"地区 {args.region} 按 {year}年政策「{policy.title}」评估，评估日期 {as_of.isoformat()}："
                f"{len(exps)} 项中列入 {sum(1 for e in exps if e.result.flagged)} 项"
                + (f"，未评估 {n} 项" if (n := sum(1 for e in exps if e.result.flagged is None)) else ""))
            say()
            for e in exps:
                say(e.render())
                say()
    if args.format == "json":
        sys.stdout.write(json.dumps(docs, ensure_ascii=False, indent=2, default=str) + "\n")
    return EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("explain", help="解释某个图斑为什么触发（或未触发）各条规则",
                       description="逐条列出图斑所属年度政策的规则与触发条件：代入该图斑的取值，标出每个子条件的真假、结果与条款。",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(p)
    add_region_facts(p)
    p.add_argument("--patch", metavar="图斑编号", help="要解释的图斑编号")
    p.add_argument("--region", metavar="行政区代码", help="改为解释该地区的区域评估（县级、市级或省级代码）")
    p.add_argument("--rule", action="append", metavar="规则编号", help="只解释这条规则（可写多次）")
    p.add_argument("--only-fired", action="store_true", help="只列出触发的规则（--region 时：只列出被列入的评估）")
    p.add_argument("--format", choices=["text", "json"], default="text", help="输出格式（默认 text）")
    p.set_defaults(func=cmd_explain)
