"""weipian 命令行：校验卫片执法图斑数据（check），以及其他子命令。"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.console import Console

from engine.errors import InputError, PolicyError

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE, EXIT_INTERNAL = 0, 1, 2, 3

EXIT_CODES = """退出码：0 无错误级问题；1 有错误级问题；2 政策、输入或参数不可用（给出位置与原因）；
3 内部错误（引擎缺陷，不是检查结果；加 --debug 显示调用栈）。"""

REPORT_HINT = "这是 weipian 的缺陷，不是检查结果。请用 --debug 重新运行，把完整输出连同所用命令提交给维护者。"

CHECK_EXAMPLE = """示例：
  weipian check datasets/sample_2023.csv --as-of 2024-06-30
  weipian check 县上报.xlsx --format json --output 结果.json
  weipian check 月报/ --policies policies --output 台账.xlsx --output 报告.html

""" + EXIT_CODES


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse errors exit 2, in Chinese
        self.print_usage(sys.stderr)
        sys.stderr.write(f"参数错误：{message}\n")
        raise SystemExit(EXIT_UNUSABLE)


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument("data", help="图斑数据：CSV、Excel、Parquet、Shapefile 文件或文件夹")
    p.add_argument("--policies", help="政策目录（默认：内置的 policies/）")
    p.add_argument("--year", type=int, help="数据缺少监测年度时按此年度检查")
    p.add_argument("--as-of", dest="as_of", help="评估日期，判断是否逾期（默认今天），如 2024-06-30")
    p.add_argument("--sheet", help="Excel 工作表名（默认第一个）")
    p.add_argument("--encoding", help="CSV/Shapefile 编码（默认自动识别，如 gbk、utf-8）")
    p.add_argument("--memory-limit", dest="memory_limit", metavar="大小",
                   help="DuckDB 内存上限，如 512MB、2GB（默认 512MB，或环境变量 WEIPIAN_MEMORY_LIMIT）")
    p.add_argument("--area-unit", dest="area_unit", help="表头未注明单位的面积列的单位，如 平方米、亩、公顷")
    p.add_argument("--columns", metavar="MAP.yaml", help="列映射文件：表头 -> 字段、单位、固定值（见 weipian columns）")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="weipian", description="卫片执法政策校验：按年度政策检查图斑填报数据，生成问题清单、核查任务与区域评估。",
                     epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="内部错误时显示完整调用栈（提交缺陷报告用）")
    sub = parser.add_subparsers(dest="command", metavar="命令", parser_class=_Parser)
    p = sub.add_parser("check", help="按政策检查图斑数据", description="按政策检查图斑数据，输出问题、核查任务与区域评估。",
                       epilog=CHECK_EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(p)
    p.add_argument("--format", choices=["text", "json"], default="text", help="屏幕输出格式（默认 text）")
    p.add_argument("--output", action="append", default=[], metavar="FILE",
                   help="写出结果文件，按后缀：.json .csv .xlsx .html；可写多次")
    p.add_argument("--no-assess", action="store_true", help="不做区域评估")
    p.add_argument("--limit", type=int, default=20, help="屏幕上最多列出的问题条数（默认 20）")
    p.set_defaults(func=cmd_check)
    for register in _extra_commands():
        register(sub)
    return parser


def _extra_commands():
    """Subcommands living in their own modules (each exposes register(subparsers)), in help order."""
    from engine.cli import assess, columns, diff, explain, generate, lint, new_year, sql, test

    return [m.register for m in (generate, assess, columns, lint, test, diff, explain, sql, new_year)]


def plain_printer(console: Console):
    """say(text=""): print without rich markup, highlighting or hard wrapping (ids, paths and carets stay intact)."""
    return lambda text="": console.print(text, markup=False, highlight=False, soft_wrap=True)


def refuse_overwrite(outputs: list[str], data, policies) -> None:
    from engine.report.outputs import refuse_overwrite as refuse

    refuse(outputs, data, [f for p in policies.values() for f in p.files])


def write_outputs(result, outputs: list[str]) -> None:
    from engine.report.outputs import write_output

    for out in outputs:
        write_output(result, Path(out))


def cmd_check(args, console: Console) -> int:
    from engine.report.text import render
    from engine.run.runner import check

    from engine.policy.policyset import load_policies

    policies = load_policies(args.policies)
    refuse_overwrite(args.output, args.data, policies)
    result = check(args.data, policies, as_of=args.as_of, year=args.year, sheet=args.sheet, encoding=args.encoding,
                   assess=not args.no_assess, area_unit=args.area_unit,
                   columns=args.columns)
    write_outputs(result, args.output)
    if args.format == "json":
        sys.stdout.write(result.dumps() + "\n")
    else:
        render(result, console, limit=args.limit)
        for out in args.output:
            console.print(f"已写出：{out}", markup=False)
    return result.exit_code


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in argv  # accepted anywhere on the line, e.g. after the command's arguments
    args = parser.parse_args([a for a in argv if a != "--debug"] if debug else argv)
    args.debug = debug
    if not getattr(args, "func", None):
        parser.print_help()
        return EXIT_UNUSABLE
    from engine.report.terminal import SafeConsole  # no escape sequences, control characters or emoji from data

    console = SafeConsole(highlight=False, width=None if sys.stdout.isatty() else 180)  # files and pipes get wide tables
    err = SafeConsole(stderr=True, highlight=False, soft_wrap=True)  # no hard wrap: paths and carets stay intact
    try:
        _apply_limits(args)
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
    except (Exception, RecursionError, MemoryError) as exc:  # a crash is not a result: never exit 1
        return _internal_error(exc, err, getattr(args, "debug", False))


def _apply_limits(args) -> None:
    import os

    from engine.limits import LIMITS, Limits, set_memory_limit

    LIMITS.memory_limit = Limits().memory_limit  # each run starts from the defaults (in-process callers, tests)
    set_memory_limit(os.environ.get("WEIPIAN_MEMORY_LIMIT"))
    set_memory_limit(getattr(args, "memory_limit", None))


def _internal_error(exc: BaseException, err: Console, debug: bool) -> int:
    """Exit 3 with one line on how to report it; the traceback only with --debug."""
    import traceback

    if debug:
        err.print("".join(traceback.format_exception(exc)), markup=False, highlight=False)
    err.print(f"内部错误：{type(exc).__name__}。{REPORT_HINT}", markup=False, highlight=False)
    return EXIT_INTERNAL


if __name__ == "__main__":
    raise SystemExit(main())
