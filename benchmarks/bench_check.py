"""Benchmark of `weipian check`: read, normalize, the one-scan row query, and end to end.

    python benchmarks/bench_check.py                 # 1,000,000 rows of 2023, CSV input
    python benchmarks/bench_check.py --rows 200000 --format parquet --year 2021

Data: `datasets/generator.py` (deterministic synthetic patches, 10% with an injected violation) when it exists,
else a DuckDB-SQL synthetic table with the same Chinese headers. Timings are wall clock on this machine; each stage
runs once on a fresh DuckDB connection (the file system cache is warm after generation).
"""
from __future__ import annotations

import argparse
import os
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine import check, load_policies  # noqa: E402
from engine.data.normalize import normalize  # noqa: E402
from engine.data.readers import read_input  # noqa: E402
from engine.run.runner import row_sql  # noqa: E402


def make_data(path: Path, rows: int, year: int, seed: int, synthetic: bool = False) -> str:
    try:
        from engine.cli.generate import load_generator
        generate = load_generator().generate
    except ImportError:
        generate = None
    if generate is not None and not synthetic:
        generate(year, rows, seed, path, violation_share=0.1)
        return "datasets/generator.py"
    _fallback(path, rows, year)
    return "DuckDB SQL 合成表" + ("" if synthetic else "（未找到 datasets/generator.py）")


def _fallback(path: Path, rows: int, year: int) -> None:
    """A plain synthetic table: every dictionary column (most empty), a few filled so that rules fire."""
    from engine.data.dictionary import load_dictionary

    filled = {
        "图斑编号": "'T' || lpad(i::VARCHAR, 8, '0')",
        "监测年度": str(year),
        "行政区代码": "['610902', '610921', '610922'][1 + i % 3]",
        "下发日期": f"DATE '{year}-03-01' + CAST(i % 280 AS INTEGER)",
        "图斑类型": "['新增非农建设类', '其他新增建设类', '其他变化类', '年度内持续变化类'][1 + i % 4]",
        "图斑来源": "['部级', '省级', '补充'][1 + i % 3]",
        "监测面积": "round(1 + (i * 7919 % 20000) / 100.0, 2)",
        "耕地面积": "round((i * 7919 % 20000) / 200.0, 2)",
        "判定结果": "['合法用地', '违法用地', '其他用地'][1 + i % 3]",
        "其他用地类型": "CASE WHEN i % 3 = 2 THEN ['临时用地', '设施农业用地', '实地伪变化'][1 + (i // 3) % 3] END",
        "审批文号": f"CASE WHEN i % 10 = 0 THEN NULL ELSE 'X〔{year}〕' || i || '号' END",
        "现状地类全为建设用地": "CASE WHEN i % 2 = 0 THEN '是' ELSE '否' END",
    }
    cols = ", ".join(f"{filled.get(f.name, 'NULL')} AS \"{f.name}\"" for f in load_dictionary().fields)
    fmt = "(FORMAT parquet)" if path.suffix == ".parquet" else "(FORMAT csv, HEADER)"
    duckdb.execute(f"COPY (SELECT {cols} FROM range({rows}) t(i)) TO '{path}' {fmt}")


def timed(label: str, fn, rows: int, results: list):
    """Run fn once; print wall time, rows/s, and CPU time of this process (all DuckDB threads)."""
    t0, c0 = time.perf_counter(), time.process_time()
    out = fn()
    dt, cpu = time.perf_counter() - t0, time.process_time() - c0
    results.append((label, dt, cpu))
    print(f"  {label:<30}\t墙钟 {dt:7.2f} s\t{rows / dt:>11,.0f} 行/秒\tCPU {cpu:7.2f} s", flush=True)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="weipian 检查性能测试（读取、规范化、一次扫描的逐图斑规则、端到端）")
    ap.add_argument("--rows", type=int, default=1_000_000, help="行数（默认 1,000,000）")
    ap.add_argument("--year", type=int, default=2023, help="监测年度（默认 2023：规则与触发条件最多）")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--format", choices=["csv", "parquet"], default="csv", help="输入文件格式（默认 csv）")
    ap.add_argument("--as-of", default="2024-06-30")
    ap.add_argument("--no-assess", action="store_true", help="端到端不含区域评估")
    ap.add_argument("--keep", metavar="DIR", help="把生成的数据留在此目录")
    ap.add_argument("--synthetic", action="store_true", help="不用 datasets/generator.py，改用简单的 SQL 合成表")
    args = ap.parse_args(argv)

    as_of = date.fromisoformat(args.as_of)
    policies = load_policies()
    policy = policies[args.year]
    d = policy.dictionary
    tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="weipian-bench-"))
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / f"bench_{args.year}_{args.rows}.{args.format}"

    print(f"weipian 性能测试：{args.rows:,} 行，监测年度 {args.year}，{args.format.upper()}，评估日期 {as_of}")
    print(f"  机器：{platform.machine()} {os.cpu_count()} 核，Python {platform.python_version()}，DuckDB {duckdb.__version__}，"
          f"开始时负载 {os.getloadavg()[0]:.1f}")
    print(f"  政策：{len(policy.rules)} 条规则、{len(policy.triggers)} 个触发条件、{len(policy.assessments)} 项评估")
    results: list = []
    t0 = time.perf_counter()
    source = make_data(path, args.rows, args.year, args.seed, args.synthetic)
    print(f"  数据：{source}，{path.stat().st_size / 1e6:,.0f} MB，生成用时 {time.perf_counter() - t0:.1f} s")

    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    info = timed("读取（read_input）", lambda: read_input(con, path, "raw"), args.rows, results)
    norm = timed("规范化（normalize）", lambda: normalize(con, "raw", d, info.columns, required=set()), args.rows, results)
    assert norm.rows == args.rows, (norm.rows, args.rows)
    sql = row_sql(policy, as_of)
    hits = timed(f"逐图斑规则一次扫描（{len(policy.checks)} 项）",
                 lambda: con.execute(f"CREATE TABLE hits AS {sql}").execute("SELECT count(*) FROM hits").fetchone()[0],
                 args.rows, results)
    con.close()
    print(f"    规范化拒收 {norm.rejected:,} 行；规则与触发命中 {hits:,} 条")

    result = timed("端到端 engine.check" + ("（不含评估）" if args.no_assess else "（含评估）"),
                   lambda: check(path, policies, as_of=as_of, assess=not args.no_assess), args.rows, results)
    print(f"    问题 {len(result.findings):,} 条，任务 {len(result.tasks):,} 项，评估 {len(result.assessments):,} 项")
    if not args.keep:
        path.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
