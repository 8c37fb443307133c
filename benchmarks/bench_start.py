"""Process start to output for a county-size file: `weipian --help`, `weipian check FILE` (text report) and the same
with `--output 台账.xlsx --output 报告.html`, each a fresh process. With `--before DIR` (a source snapshot, e.g. from
`git archive`) the same commands run from DIR too, interleaved (before, after, before, …), so that both see the same
machine load. Prints the median wall time and the median CPU time (user + system, steadier than wall time on a busy
machine) and peak RSS of each; a benchmark, not a test. Every timing runs from process start to process exit.

Each version runs with its bytecode compiled once (as an installed package has it, even when the environment sets
PYTHONDONTWRITEBYTECODE) and its own cache (parse trees, schema passes: WEIPIAN_CACHE_DIR in a temporary folder), both warmed by an untimed
first run; "check（无解析缓存）" runs with WEIPIAN_NO_CACHE=1, the first run after a policy change.

    python benchmarks/bench_start.py --rounds 3 --before /tmp/before
    python benchmarks/bench_start.py --data /tmp/county_2000.csv --year 2023 --only check   # a given file, some cases
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def _run(args: list[str], src: Path, cwd: Path, env: dict) -> tuple[float, float, float]:
    """(wall seconds, CPU seconds, peak RSS in MiB) of one fresh process, from process start to its exit (the
    interpreter's teardown included: that is what a user waits for)."""
    start = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli.main", *args], cwd=cwd, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _pid, _status, usage = os.wait4(proc.pid, 0)  # this child's own rusage (peak RSS of this process alone)
    wall = time.perf_counter() - start
    proc.returncode = 0  # reaped above
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def _env(src: Path, work: Path, name: str, **extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONDONTWRITEBYTECODE", "WEIPIAN_NO_CACHE")}
    return dict(env, PYTHONPATH=str(src), PYTHONPYCACHEPREFIX=str(work / f"pyc-{name}"),
                WEIPIAN_CACHE_DIR=str(work / f"cache-{name}"), **extra)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--before", type=Path, help="source snapshot of the version to compare with")
    ap.add_argument("--as-of", default="2024-06-30")
    ap.add_argument("--data", type=Path, help="this county file instead of a generated one (--rows is then unused)")
    ap.add_argument("--year", help="--year for check (the generated file is 2023's; a given one may hold several)")
    ap.add_argument("--only", action="append", default=[], help="only the cases whose name contains this (repeatable)")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        if a.data is None:
            subprocess.run([sys.executable, "-m", "engine.cli.main", "generate", "--year", "2023", "--rows", str(a.rows),
                            "--seed", "7", "-o", "county.csv"], cwd=work, env=dict(os.environ, PYTHONPATH=str(REPO)),
                           stdout=subprocess.DEVNULL, check=True)
        data = "county.csv" if a.data is None else str(a.data.resolve())
        check = ["check", data, "--as-of", a.as_of, *(["--year", a.year] if a.year else [])]
        cases = {
            "--help": (["--help"], {}),
            "check（文本报告）": (check, {}),
            "check（无解析缓存）": (check, {"WEIPIAN_NO_CACHE": "1"}),
            "check + 台账.xlsx + 报告.html": ([*check, "--output", "台账.xlsx", "--output", "报告.html"], {}),
        }
        cases = {k: v for k, v in cases.items() if not a.only or any(o in k for o in a.only)}
        versions = {"after": REPO} if a.before is None else {"before": a.before.resolve(), "after": REPO}
        for version, src in versions.items():  # compile the bytecode and fill the parse cache, untimed
            _run(check, src, work, _env(src, work, version))
        times: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        print(f"load average at start: {os.getloadavg()}")
        for _ in range(a.rounds):
            for name, (args, extra) in cases.items():
                for version, src in versions.items():
                    times.setdefault((name, version), []).append(_run(args, src, work, _env(src, work, version, **extra)))
        print(f"load average at end:   {os.getloadavg()}")
        for name in cases:
            cells = [f"{v} {statistics.median(w for w, _, _ in times[(name, v)]):.2f} s"
                     f"（CPU {statistics.median(c for _, c, _ in times[(name, v)]):.2f} s，"
                     f"峰值 RSS {statistics.median(m for _, _, m in times[(name, v)]):.0f} MiB）" for v in versions]
            print(f"{name}: " + " · ".join(cells) + f"  (median of {a.rounds})")


if __name__ == "__main__":
    main()
