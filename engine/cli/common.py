"""What every command shares: the argument parser class (errors exit 2, in Chinese), the data arguments, the plain
printer and the exit codes."""
from __future__ import annotations

import argparse
import sys

from rich.console import Console

EXIT_OK, EXIT_FINDINGS, EXIT_UNUSABLE, EXIT_INTERNAL = 0, 1, 2, 3

EXIT_CODES = """退出码：0 无错误级问题；1 有错误级问题；2 政策、输入或参数不可用（给出位置与原因）；
3 内部错误（引擎缺陷，不是检查结果；加 --debug 显示调用栈）。"""


class Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse errors exit 2, in Chinese
        self.print_usage(sys.stderr)
        sys.stderr.write(f"参数错误：{message}\n")
        raise SystemExit(EXIT_UNUSABLE)


def add_common(p: argparse.ArgumentParser) -> None:
    """The arguments of a command that reads patch data: the data, the policies, the year, the date, sheet, encoding,
    DuckDB's memory limit, the area unit of unmarked area columns and a column map."""
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


def add_region_facts(p: argparse.ArgumentParser) -> None:
    """--region-facts FILE, for the commands that run region assessments."""
    p.add_argument("--region-facts", dest="region_facts", metavar="FILE",
                   help="区域事实表（CSV/xlsx，每个区域每个年度一行，如 矿产违法连续年数、部通报批评、省政府约谈）；"
                        "不提供时依赖这些事实的评估显示“未评估”")


def plain_printer(console: Console):
    """say(text=""): print without rich markup, highlighting or hard wrapping (ids, paths and carets stay intact)."""
    return lambda text="": console.print(text, markup=False, highlight=False, soft_wrap=True)
