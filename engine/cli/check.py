"""weipian check：按政策检查图斑数据，输出问题、核查任务与区域评估。"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from engine.cli.common import EXIT_CODES, add_common, add_region_facts
from engine.errors import InputError

EXAMPLE = """示例：
  weipian check datasets/sample_2023.csv --as-of 2024-06-30
  weipian check 县上报.xlsx --format json --output 结果.json
  weipian check 月报/ --policies policies --output 台账.xlsx --output 报告.html
  weipian check 月报/ --split-by county 各县台账/
  weipian check datasets/sample_2023.csv --as-of 2024-06-30 --waivers datasets/waivers_2023.csv

""" + EXIT_CODES

EVERY_ROW_SUFFIXES = (".json", ".jsonl", ".parquet", ".csv", ".xlsx")  # outputs with every row's message


def cmd_check(args, console: Console) -> int:
    from engine.policy.policyset import load_policies
    from engine.report.outputs import refuse_overwrite, write_outputs
    from engine.report.text import render
    from engine.run.exports import reserve
    from engine.run.runner import check

    policies = load_policies(args.policies)
    split_dir = args.split_by[1] if args.split_by else None
    if args.split_by:  # xlsxwriter is imported only for ledgers
        from engine.report.xlsx import SPLIT_KEYS, write_xlsx_split
    if args.split_by and args.split_by[0] not in SPLIT_KEYS:
        raise InputError(f"--split-by 只支持 {'、'.join(SPLIT_KEYS)}（如 --split-by county 台账/），不能是「{args.split_by[0]}」")
    refuse_overwrite(args.output + ([split_dir] if split_dir else []), args.data,
                     [f for p in policies.values() for f in p.files])
    if args.waivers:  # the waivers file is an input too
        refuse_overwrite(args.output + ([split_dir] if split_dir else []), args.waivers, [])
    # outputs that list every finding and task (the text report and the page list the first ones)
    every = (args.format == "json" or bool(split_dir)
             or any(Path(o).suffix.lower() in EVERY_ROW_SUFFIXES for o in args.output))
    result = check(args.data, policies, as_of=args.as_of, year=args.year, sheet=args.sheet, encoding=args.encoding,
                   assess=not args.no_assess, area_unit=args.area_unit, columns=args.columns, allow_missing=args.allow_missing,
                   waivers=args.waivers, region_facts=args.region_facts, exports=reserve(args.output),
                   every_message=every)
    write_outputs(result, args.output, stdout=sys.stdout.buffer if args.format == "json" else None)
    split = write_xlsx_split(result.to_json(), result.catalog(), split_dir, result.dictionary) if split_dir else []
    if args.format != "json":
        render(result, console, limit=args.limit)
        for out in args.output:
            console.print(f"已写出：{out}", markup=False)
        if split:
            console.print(f"已按县写出 {len(split)} 个台账到 {split_dir}", markup=False)
    return result.exit_code


def register(sub) -> None:
    p = sub.add_parser("check", help="按政策检查图斑数据", description="按政策检查图斑数据，输出问题、核查任务与区域评估。",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(p)
    add_region_facts(p)
    p.add_argument("--format", choices=["text", "json"], default="text", help="屏幕输出格式（默认 text）")
    p.add_argument("--output", action="append", default=[], metavar="FILE",
                   help="写出结果文件，按后缀：.json .csv .xlsx .html，.parquet/.jsonl（全部问题与任务明细，每条一行）；可写多次")
    p.add_argument("--split-by", nargs=2, metavar=("county", "DIR"), default=None,
                   help="按县分别写出台账：--split-by county 目录/（每县一个 目录/610902_汉滨区.xlsx）")
    p.add_argument("--no-assess", action="store_true", help="不做区域评估")
    p.add_argument("--allow-missing", action="store_true",
                   help="文件缺少政策需要的列时，只运行不需要这些列的规则，并在各输出中列出未检查的规则（此时退出码不为 0）")
    p.add_argument("--waivers", metavar="FILE",
                   help="说明理由文件（CSV、xlsx 或 YAML，列：图斑编号、规则、说明理由、批准人、有效期至）：有效的说明使问题"
                        "转为「已说明」，单列显示，不计入问题数和退出码；过期、规则不接受说明、图斑或规则不存在、"
                        "没有对应问题的说明单独列出")
    p.add_argument("--limit", type=int, default=20, help="屏幕上最多列出的问题条数（默认 20）")
    p.set_defaults(func=cmd_check)
