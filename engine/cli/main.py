"""weipian 命令行：校验卫片执法图斑数据（check），以及其他子命令。"""
from __future__ import annotations

import argparse
import sys

from rich.console import Console

from engine.cli import assess, check, diff, explain, generate, lint, sql, test
from engine.cli.common import EXIT_UNUSABLE, Parser
from engine.errors import InputError, PolicyError

COMMANDS = (check, generate, assess, lint, test, diff, explain, sql)  # each exposes register(subparsers); in help order


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="weipian", description="卫片执法政策校验：按年度政策检查图斑填报数据，生成问题清单、核查任务与区域评估。")
    sub = parser.add_subparsers(dest="command", metavar="命令", parser_class=Parser)
    for command in COMMANDS:
        command.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_UNUSABLE
    console = Console(highlight=False, width=None if sys.stdout.isatty() else 180)  # files and pipes get wide tables
    err = Console(stderr=True, highlight=False, soft_wrap=True)  # no hard wrap: paths and carets stay intact
    try:
        return args.func(args, console)
    except PolicyError as exc:
        for d in exc.diagnostics:
            err.print(d.render(), markup=False)
            err.print()
        n = sum(1 for d in exc.diagnostics if d.severity == "error")
        err.print(f"政策文件有 {n} 处错误，未执行检查。", markup=False)
        return EXIT_UNUSABLE
    except InputError as exc:
        err.print(f"输入错误：{exc}", markup=False)
        return EXIT_UNUSABLE
    except KeyboardInterrupt:
        return 130
    except OSError as exc:  # unwritable output, disk full …: a user's environment, not a bug
        err.print(f"文件错误：{exc.strerror or exc}：{exc.filename or ''}", markup=False)
        return EXIT_UNUSABLE


if __name__ == "__main__":
    raise SystemExit(main())
