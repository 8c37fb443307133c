"""weipian 命令行：校验卫片执法图斑数据（check），以及其他子命令。"""
from __future__ import annotations

import argparse
import sys

from rich.console import Console

from engine.cli import assess, check, columns, diff, explain, generate, lint, new_year, serve, sql, test
from engine.cli.common import EXIT_CODES, EXIT_INTERNAL, EXIT_UNUSABLE, Parser
from engine.errors import InputError, PolicyError

REPORT_HINT = "这是 weipian 的缺陷，不是检查结果。请用 --debug 重新运行，把完整输出连同所用命令提交给维护者。"

COMMANDS = (check, generate, assess, columns, lint, test, diff, explain, sql, new_year, serve)  # each exposes register(subparsers); in help order


def build_parser() -> argparse.ArgumentParser:
    parser = Parser(prog="weipian", description="卫片执法政策校验：按年度政策检查图斑填报数据，生成问题清单、核查任务与区域评估。",
                    epilog=EXIT_CODES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--debug", action="store_true", help="内部错误时显示完整调用栈（提交缺陷报告用）")
    sub = parser.add_subparsers(dest="command", metavar="命令", parser_class=Parser)
    for command in COMMANDS:
        command.register(sub)
    return parser


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


def entry() -> None:
    """The `weipian` console script (and `python -m engine.cli.main`): main(), then end the process at once.
    Python's teardown (clearing every module, DuckDB's connection destructors) took 0.2–0.35 s after a county file's
    report was printed; nothing it does matters here. Before leaving: stdout and stderr are flushed and the exit
    functions we rely on run (the spill directory, engine.duck; export temp files left by a failed run,
    engine.run.exports). Every output is complete by then (written and renamed in place, engine.report.atomic).
    main() itself returns normally: tests and other callers keep their process. A flush that fails (a closed pipe)
    leaves by the ordinary way, so Python reports it as before."""
    import atexit
    import os

    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        raise SystemExit(code) from None
    atexit._run_exitfuncs()  # CPython's own exit functions runner (every atexit.register, as at a normal exit)
    os._exit(code)


if __name__ == "__main__":
    entry()
