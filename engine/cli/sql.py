"""weipian sql：打印政策编译成的 SQL（一次扫描图斑表的 SELECT），不执行。"""
from __future__ import annotations

import argparse

from engine.cli.common import EXIT_OK, plain_printer

EXAMPLE = """示例：
  weipian sql                                  # 内置 policies/ 下各年度政策的 SQL
  weipian sql policies/2023 --as-of 2024-06-30 # 指定评估日期（涉及 评估日期 的条件会用到）

输出的 SELECT 读取规范化后的图斑表 patches（中文列名），每行一个命中：图斑编号、规则序号、说明。"""


def cmd_sql(args, console) -> int:
    from engine.policy.policyset import load_policies
    from engine.run.runner import as_date, row_sql

    as_of = as_date(args.as_of)
    policies = load_policies(args.path)
    for year in sorted(policies):
        p = policies[year]
        if args.year is not None and year != args.year:
            continue
        lines = [f"-- {year}年政策：{p.title}（{p.source}），评估日期 {as_of.isoformat()}"]
        lines += [f"-- 序号 {i}: {c.id}  {c.title}" for i, c in enumerate(p.checks)]
        lines.append(row_sql(p, as_of) + ";")
        plain_printer(console)("\n".join(lines) + "\n")
    return EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("sql", help="打印政策编译成的 SQL（不执行）", description="打印政策中全部规则与触发条件编译成的 DuckDB SQL（一次扫描），不执行。",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", nargs="?", metavar="政策目录", help="政策目录（默认：内置的 policies/）")
    p.add_argument("--as-of", dest="as_of", help="评估日期（默认今天），如 2024-06-30")
    p.add_argument("--year", type=int, help="只打印该年度的政策")
    p.set_defaults(func=cmd_sql)
