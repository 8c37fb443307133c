"""weipian columns：检查之前预览文件的表头如何对应数据字典字段（单位、样例值、无法解析的单元格、跳过的行、缺少的字段）。"""
from __future__ import annotations

import argparse
import json
import sys

from rich.console import Console

from engine.cli.common import EXIT_OK, EXIT_UNUSABLE, add_common, plain_printer

EXAMPLE = """示例：
  weipian columns 县上报.xlsx
  weipian columns 台账.shp --columns 列映射.yaml
  weipian columns 县上报.csv --format json

列映射文件（--columns，检查时同样可用）：
  columns:
    图斑号: 图斑编号
    面积: {field: 监测面积, unit: 平方米}
  values:
    监测年度: 2023

退出码：0 可以直接检查；2 检查会停止（缺少字段、单位需确认、文件不可读等）。"""


def register(sub) -> None:
    p = sub.add_parser("columns", help="预览表头与字段的对应（检查前用）",
                       description="检查之前预览：每个表头对应的字段和单位（依据哪个名称、别名或列映射）、样例值、"
                                   "无法解析的单元格数、将跳过的行、政策需要而文件缺少的字段。",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    add_common(p)
    p.add_argument("--format", choices=["text", "json"], default="text", help="输出格式（默认 text）")
    p.set_defaults(func=cmd_columns)


def cmd_columns(args, console: Console) -> int:
    from engine.data.column_map import load_column_map
    from engine.data.preview import preview
    from engine.policy.policyset import load_policies

    policies = load_policies(args.policies)
    d = policies.dictionary
    cmap = load_column_map(args.columns, d) if args.columns else None
    out = preview(args.data, d, needed_by_year={y: set(p.fields_used) for y, p in policies.items()}, sheet=args.sheet,
                  encoding=args.encoding, area_unit=args.area_unit, column_map=cmap, year=args.year)
    code = EXIT_UNUSABLE if (out["stop"] or out["missing"]) else EXIT_OK
    if args.format == "json":
        sys.stdout.write(json.dumps(out, ensure_ascii=False, indent=2, default=str) + "\n")
        return code
    say = plain_printer(console)
    say(f"文件：{out['input']}  读取 {out['rows_read']} 行，其中跳过 {out['skipped']} 行（非图斑行）")
    say("表头 → 字段：")
    for c in out["columns"]:
        target = c["field"] or "（不使用）"
        unit = f"，单位 {c['unit']}" if c.get("unit") else ""
        bad = f"，{c['bad_cells']} 个单元格无法解析" if c.get("bad_cells") else ""
        samples = "、".join(str(v) for v in c["samples"]) or "（全空）"
        say(f"  {c['header']} → {target}{unit}（{c['how']}）  样例：{samples}{bad}")
    for s in out["skipped_rows"]:
        say(f"  跳过：{s['source']} 第 {s['line']} 行（{s['reason']}）{s['text']}")
    if out["missing"]:
        say("政策需要但文件缺少的字段：" + "、".join(out["missing"]) + "（可在列映射文件中指定对应的列或固定值）")
    for w in out["warnings"]:
        say(f"注意：{w}")
    if out["stop"]:
        say(f"检查会停止：{out['stop']}")
    if code == EXIT_OK:
        say("可以检查：weipian check " + str(args.data) + (f" --columns {args.columns}" if args.columns else ""))
    return code
