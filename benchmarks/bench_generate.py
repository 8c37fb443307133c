"""Time the patch generator: python benchmarks/bench_generate.py [--rows N] [--year Y] [--format csv|parquet ...]

Writes into a temporary directory and prints rows, seconds, rows/second and file size per format."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from engine.cli.generate import load_generator  # noqa: E402

generate = load_generator().generate


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description="生成器计时（默认 100 万行，CSV 与 Parquet 各一次）")
    p.add_argument("--rows", type=int, default=1_000_000, help="行数（默认 1000000）")
    p.add_argument("--year", type=int, default=2023, choices=(2021, 2023), help="监测年度（默认 2023）")
    p.add_argument("--format", action="append", choices=("csv", "parquet"), help="输出格式，可重复（默认两种都测）")
    p.add_argument("--threads", type=int, help="DuckDB 线程数（默认全部核心）")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory() as d:
        for fmt in args.format or ["csv", "parquet"]:
            out = Path(d) / f"bench.{fmt}"
            t0, c0 = time.perf_counter(), time.process_time()
            generate(args.year, args.rows, 1, out, threads=args.threads)
            dt, cpu = time.perf_counter() - t0, time.process_time() - c0
            size = out.stat().st_size / 1e6
            print(f"{fmt:8} {args.rows:>12,} 行  {dt:7.1f} 秒（CPU {cpu:7.1f} 秒）  {args.rows / dt:>12,.0f} 行/秒"
                  f"  {size:9.1f} MB  （{os.cpu_count()} 核，负载 {os.getloadavg()[0]:.1f}）")
            out.unlink()
    return 0


if __name__ == "__main__":
    sys.exit(main())
