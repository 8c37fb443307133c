"""Process start to output for a county-size file: `weipian --help`, `weipian check FILE` (text report) and the same
with `--output 台账.xlsx --output 报告.html`, each a fresh process. With `--before DIR` (a source snapshot, e.g. from
`git archive`) the same commands run from DIR too, interleaved (before, after, before, …), so that both see the same
machine load. Prints the median wall time of each; a benchmark, not a test.

    python benchmarks/bench_start.py --rounds 3 --before /tmp/before
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


def _run(args: list[str], src: Path, cwd: Path) -> float:
    env = dict(os.environ, PYTHONPATH=str(src))
    start = time.perf_counter()
    subprocess.run([sys.executable, "-m", "engine.cli.main", *args], cwd=cwd, env=env,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--before", type=Path, help="source snapshot of the version to compare with")
    ap.add_argument("--as-of", default="2024-06-30")
    a = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        subprocess.run([sys.executable, "-m", "engine.cli.main", "generate", "--year", "2023", "--rows", str(a.rows),
                        "--seed", "7", "-o", "county.csv"], cwd=work, env=dict(os.environ, PYTHONPATH=str(REPO)),
                       stdout=subprocess.DEVNULL, check=True)
        cases = {
            "--help": ["--help"],
            "check（文本报告）": ["check", "county.csv", "--as-of", a.as_of],
            "check + 台账.xlsx + 报告.html": ["check", "county.csv", "--as-of", a.as_of,
                                               "--output", "台账.xlsx", "--output", "报告.html"],
        }
        versions = {"after": REPO} if a.before is None else {"before": a.before.resolve(), "after": REPO}
        times: dict[tuple[str, str], list[float]] = {}
        print(f"load average at start: {os.getloadavg()}")
        for _ in range(a.rounds):
            for name, args in cases.items():
                for version, src in versions.items():
                    times.setdefault((name, version), []).append(_run(args, src, work))
        print(f"load average at end:   {os.getloadavg()}")
        for name in cases:
            cells = [f"{v} {statistics.median(times[(name, v)]):.2f} s" for v in versions]
            print(f"{name}: " + " · ".join(cells) + f"  (median of {a.rounds})")


if __name__ == "__main__":
    main()
