"""weipian lint：一次列出政策文件中的全部问题（YAML、结构、语法、名称、类型、重复编号、未使用的参数……）。"""
from __future__ import annotations

import argparse
import json
import sys

from engine.cli.common import EXIT_FINDINGS, EXIT_OK, plain_printer
from engine.paths import policies_dir

EXAMPLE = """示例：
  weipian lint                         # 检查内置的 policies/ 下所有年度
  weipian lint policies/2023           # 只检查 2023 年政策（连同它 extends 的政策）
  weipian lint policies --strict       # 有警告也算失败（适合 CI）
  weipian lint policies --format json  # 机器可读输出

退出码：0 没有错误（或仅有警告）；1 有错误，或 --strict 时有警告。"""


def cmd_lint(args, console) -> int:
    from engine.policy.lint import lint

    paths = args.paths or [policies_dir()]
    diags, dirs = lint(paths)
    errors = sum(d.severity == "error" for d in diags)
    failed = errors > 0 or (args.strict and diags)
    if args.format == "json":
        doc = {"ok": not failed, "errors": errors, "warnings": len(diags) - errors, "diagnostics": [d.to_json() for d in diags]}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    else:
        show(plain_printer(console), diags, dirs)
    return EXIT_FINDINGS if failed else EXIT_OK


def show(say, diags, dirs: int) -> None:
    """Every diagnostic with its caret, then the count line (also after `weipian new-year`)."""
    from engine.policy.lint import summary

    for d in diags:
        say(d.render())
        say()
    say(summary(diags, dirs))


def register(sub) -> None:
    p = sub.add_parser("lint", help="检查政策文件，一次列出全部问题",
                       description="检查政策文件：YAML 语法、文件结构、条件语法、名称与类型、重复编号、缺少条款出处、"
                                   "未使用的参数与定义、extends 循环、override/drop 的编号不存在、永远不成立的条件、"
                                   "不随年度变化的具体日期（超出本年度范围或继承自别的年度，标注 fixed: true 的法定日期除外）。",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="*", metavar="政策目录", help="政策目录（年度目录或其上级目录，默认：内置的 policies/）")
    p.add_argument("--format", choices=["text", "json"], default="text", help="输出格式（默认 text）")
    p.add_argument("--strict", action="store_true", help="有警告也返回 1")
    p.set_defaults(func=cmd_lint)
