"""weipian against the yardstick (../shared/bench): the same generated Parquet file, floor.py and `weipian check`
run interleaved, wall time and peak RSS of each process, and the ratio of the medians.

    python benchmarks/bench_floor.py                       # 1,000,000 rows, 3 rounds
    python benchmarks/bench_floor.py --rows 100000 --rows 1000000 --rows 10000000 --rounds 3
    python benchmarks/bench_floor.py --county              # also a 2,000-row county CSV, end to end
    python benchmarks/bench_floor.py --engine-output json  # the engine's JSON on stdout instead of results.parquet
    python benchmarks/bench_floor.py --csv                 # the engine reads the same rows as CSV

The engine runs the full 2023 policy (every row rule and trigger, every assessment) and, as floor.py does, writes
every finding and task to Parquet (`--output results.parquet`, the text report to stdout, discarded); with
`--engine-output json` it prints the JSON document instead (discarded). floor.py runs 18 of those checks as one
hand-written query and writes its hits to Parquet. A benchmark, not a test: nothing here fails on a slow machine.
"""
from __future__ import annotations

import argparse
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parent.parent
SHARED = ROOT.parent / "shared" / "bench"
AS_OF = "2024-06-30"


class Run(NamedTuple):
    wall: float  # seconds
    rss: float  # peak RSS, MiB
    code: int  # exit code
    cpu: float  # user + system CPU seconds: steadier than wall time on a machine others share


def timed(cmd: list[str], stdout=subprocess.DEVNULL) -> Run:
    """Wall time, peak RSS, exit code and CPU time of one process."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if proc.returncode not in (0, 1):  # 1: error findings, a normal result
        raise SystemExit(f"{cmd[:3]}… exited {proc.returncode}:\n{err[-2000:]}")
    return Run(wall, usage.ru_maxrss / 1024, proc.returncode, usage.ru_utime + usage.ru_stime)


def weipian() -> list[str]:
    exe = Path(sys.executable).with_name("weipian")
    return [str(exe)] if exe.exists() else [sys.executable, "-m", "engine.cli.main"]


def parquet_of(rows: int, workdir: Path) -> Path:
    path = workdir / f"patches_{rows}.parquet"
    if not path.exists():
        subprocess.run([sys.executable, str(SHARED / "gen.py"), str(rows), str(path), "2023"], check=True)
    return path


def engine_cmd(data: Path, workdir: Path, output: str) -> list[str]:
    cmd = [*weipian(), "check", str(data), "--as-of", AS_OF]
    return cmd + (["--format", "json"] if output == "json" else ["--output", str(workdir / "results.parquet")])


def csv_of(parquet: Path) -> Path:
    """The same rows as CSV (UTF-8, header), as a county or province would export them."""
    path = parquet.with_suffix(".csv")
    if not path.exists():
        import duckdb

        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        con.execute(f"COPY (SELECT * FROM read_parquet('{parquet}')) TO '{path}' (FORMAT csv, HEADER)")
    return path


def compare(rows: int, rounds: int, workdir: Path, output: str = "parquet", csv: bool = False) -> dict:
    data = parquet_of(rows, workdir)
    source = csv_of(data) if csv else data  # floor.py always reads the Parquet
    floor, engine = [], []
    for _ in range(rounds):  # interleaved: both see the same machine load
        floor.append(timed([sys.executable, str(SHARED / "floor.py"), str(data)]))
        engine.append(timed(engine_cmd(source, workdir, output)))
    f, e = statistics.median(r.wall for r in floor), statistics.median(r.wall for r in engine)
    return {"rows": rows, "floor_s": f, "engine_s": e, "ratio": e / f,
            "floor_cpu": statistics.median(r.cpu for r in floor), "engine_cpu": statistics.median(r.cpu for r in engine),
            "floor_rss": max(r.rss for r in floor), "engine_rss": max(r.rss for r in engine)}


def county(rounds: int, workdir: Path) -> dict:
    csv = workdir / "county_2000.csv"
    if not csv.exists():
        subprocess.run([*weipian(), "generate", "--year", "2023", "--rows", "2000", "--seed", "7", "-o", str(csv)],
                       check=True, stdout=subprocess.DEVNULL)
    text = [timed([*weipian(), "check", str(csv), "--as-of", AS_OF]) for _ in range(rounds)]
    files = [timed([*weipian(), "check", str(csv), "--as-of", AS_OF, "--output", str(workdir / "台账.xlsx"),
                    "--output", str(workdir / "报告.html")]) for _ in range(rounds)]
    return {"text_s": statistics.median(r.wall for r in text), "files_s": statistics.median(r.wall for r in files),
            "text_cpu": statistics.median(r.cpu for r in text), "files_cpu": statistics.median(r.cpu for r in files),
            "rss": max(r.rss for r in text + files)}


def start(workdir: str | None) -> Path:
    """The folder generated files are kept in (`workdir`, default a temporary one), once floor.py is found; prints
    the machine line every result table starts with."""
    if not (SHARED / "floor.py").exists():
        raise SystemExit(f"找不到 {SHARED}/floor.py：基准需要仓库旁的 ../shared/bench")
    path = Path(workdir or tempfile.mkdtemp(prefix="weipian-bench-"))
    path.mkdir(parents=True, exist_ok=True)
    print(f"# {time.strftime('%Y-%m-%d')} · {platform.machine()} · {os.cpu_count()} cores · Python {platform.python_version()}")
    return path


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, action="append", help="rows of the generated table (repeatable; default 1000000)")
    ap.add_argument("--rounds", type=int, default=3, help="runs of each program per size (median reported)")
    ap.add_argument("--county", action="store_true", help="also time a 2,000-row county CSV end to end")
    ap.add_argument("--engine-output", choices=["parquet", "json"], default="parquet",
                    help="what weipian writes: every finding and task to results.parquet (default) or JSON to stdout")
    ap.add_argument("--csv", action="store_true",
                    help="weipian reads the same rows as CSV (floor.py still reads the Parquet): the 1M-CSV target")
    ap.add_argument("--workdir", help="where generated files are kept between runs (default: a temporary folder)")
    args = ap.parse_args()
    workdir = start(args.workdir)
    what = f"weipian check {'CSV' if args.csv else 'Parquet'} ({args.engine_output})"
    print(f"| rows | floor.py (Parquet) | {what} | ratio | CPU floor / weipian | floor peak RSS | weipian peak RSS |")
    print("|---:|---:|---:|---:|---:|---:|---:|")
    for rows in args.rows or [1_000_000]:
        r = compare(rows, args.rounds, workdir, args.engine_output, args.csv)
        print(f"| {rows:,} | {r['floor_s']:.2f} s | {r['engine_s']:.2f} s | {r['ratio']:.1f}× "
              f"| {r['floor_cpu']:.1f} / {r['engine_cpu']:.1f} s | {r['floor_rss']:.0f} MiB | {r['engine_rss']:.0f} MiB |",
              flush=True)
    if args.county:
        c = county(args.rounds, workdir)
        print(f"\n2,000-row county CSV: text report {c['text_s']:.2f} s (CPU {c['text_cpu']:.2f} s); with 台账.xlsx + "
              f"报告.html {c['files_s']:.2f} s (CPU {c['files_cpu']:.2f} s); peak RSS {c['rss']:.0f} MiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
