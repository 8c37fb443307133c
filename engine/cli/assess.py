"""weipian assess：区域评估（问责评估、差错率、通报约谈、预警、耕地指标冻结……），每类每级一张表，达到标准的区域在前。"""
from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console

from engine.cli.common import EXIT_FINDINGS, EXIT_OK, add_common, add_region_facts
from engine.data.dictionary import load_dictionary

EXAMPLE = """示例：
  weipian assess datasets/sample_2023.csv --as-of 2024-06-30
  weipian assess 月报.xlsx --level 县级
  weipian assess 月报.csv --format json > 评估.json

每行一个区域（及期间）：分子、分母、比例、扣除明细（哪条扣除减了多少亩）、所用阈值，以及是否达到标准。
依赖区域事实的评估（如矿产违法持续三年、部通报批评、省政府约谈后的再约谈）需要 --region-facts 区域事实表；
没有提供的区域显示“未评估”，不当作“否”。
退出码：0 没有区域达到标准；1 有区域达到标准（问责、超限、通报、约谈、预警、需冻结指标）或有区域未评估；2 政策、输入或参数不可用。"""


def register(subparsers) -> None:
    p = subparsers.add_parser("assess", help="区域评估：问责、差错率、通报约谈、预警、耕地指标冻结",
                              description="按政策对各县、市、省做区域评估，列出分子、分母、比例、扣除明细与是否达到标准。",
                              epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(p)
    add_region_facts(p)
    p.add_argument("--format", choices=["text", "json"], default="text", help="输出格式（默认 text）")
    p.add_argument("--level", choices=list(load_dictionary().levels)[::-1], help="只看这一级的区域")
    p.add_argument("--allow-missing", action="store_true",
                   help="文件缺少政策需要的列时，只做不需要这些列的评估，并列出未做的评估（此时退出码不为 0）")
    p.set_defaults(func=cmd_assess)


def cmd_assess(args, console: Console) -> int:
    from engine.policy.policyset import load_policies
    from engine.report.assess_text import render
    from engine.run.runner import check

    policies = load_policies(args.policies)
    result = check(args.data, policies, as_of=args.as_of, year=args.year, sheet=args.sheet, encoding=args.encoding,
                   area_unit=args.area_unit, columns=args.columns, allow_missing=args.allow_missing,
                   region_facts=args.region_facts)
    if args.format == "json":
        sys.stdout.write(json.dumps(result.assessments_json(args.level), ensure_ascii=False, indent=2, default=str) + "\n")
    else:
        render(result, console, args.level)
    rows = result.assessments_of(args.level)  # a region not evaluated (未评估) is not "no": never exit 0 then
    return EXIT_FINDINGS if result.not_evaluated or any(a.flagged is not False for a in rows) else EXIT_OK
