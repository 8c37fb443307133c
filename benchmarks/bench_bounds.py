"""What the building blocks alone cost, against each target of issue 10: how much of each budget is left before
the engine does any work of its own. Runs interleaved, median of the rounds; a benchmark, not a test.

    python benchmarks/bench_bounds.py                                  # county file, 1M CSV, 1M Parquet
    python benchmarks/bench_bounds.py --rows 10000000 --rounds 1 --workdir /tmp/bench --only parquet

county   target: a 2,000-row county CSV, process start to text report ≤ 0.6 s.
         interpreter   `python -c pass`
         blocks        a process that imports duckdb and yaml (the policies are YAML; their parse trees come from
                       the cache, so lark is not imported), connects, and has DuckDB read the file into a table:
                       what every run pays before its first check
         inside DuckDB the statements of one `weipian check FILE` (in this process, imports already done): the time
                       DuckDB itself takes to plan and run them
         check         `weipian check FILE`, the whole process
csv      target: 1M patches from CSV ≤ 3 × floor.py on the Parquet of the same rows.
         floor.py      the process, on the Parquet
         read, in file order   DuckDB reads the CSV (every cell as text) into a table at the engine's memory limit,
                       keeping the file's order (a row's source line is its place in the file)
         read, any order       the same without the order: the fastest DuckDB reads the file on this machine
         check         `weipian check FILE.csv --output results.parquet`, the whole process
parquet  target: full 2023 policy ≤ 1.5 × floor.py (10^7 rows in the issue).
         floor.py      the process; and its own timing of its query
         rules alone   bench_parts' run 2: every row rule and trigger of the 2023 policy compiled into one query over
                       the typed file, each hit's patch and check to Parquet (what floor.py writes); no typing,
                       messages, assessments or export
         as the results' rows  the same hits written as the rows --output results.parquet holds (kind, year,
                       patch, region, rule, severity, level, action, cite, source, line), without the message and
                       in no order: the least any engine writes for the target's "every finding and task"
"""
from __future__ import annotations

import argparse
import contextlib
import io
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_floor import AS_OF, SHARED, csv_of, engine_cmd, parquet_of, start, timed, weipian  # noqa: E402
from bench_parts import compiled_query, floor_query  # noqa: E402

COUNTY_TARGET_S = 0.6  # issue 10: process start to text report
CSV_TARGET = 3.0  # × floor.py
PARQUET_TARGET = 1.5  # × floor.py

BLOCKS = """import duckdb, yaml
con = duckdb.connect()
con.execute("CREATE TABLE t AS SELECT * FROM read_csv({path!r}, header = true, all_varchar = true)")
con.execute("SELECT count(*) FROM t").fetchall()
"""


def county_file(workdir: Path) -> Path:
    path = workdir / "county_2000.csv"
    if not path.exists():
        import subprocess

        subprocess.run([*weipian(), "generate", "--year", "2023", "--rows", "2000", "--seed", "7", "-o", str(path)],
                       check=True, stdout=subprocess.DEVNULL)
    return path


def inside_duckdb(args: list[str]) -> float:
    """Seconds spent in DuckDB's execute() during one in-process `weipian ARGS` (its output discarded)."""
    from engine.cli.main import main
    from engine.run import runner

    spent = [0.0]

    class Timed:
        def __init__(self, con):
            self._con = con

        def execute(self, *a, **k):
            t = time.perf_counter()
            try:
                return self._con.execute(*a, **k)
            finally:
                spent[0] += time.perf_counter() - t

        def __getattr__(self, name):
            return getattr(self._con, name)

    plain = runner.connect
    runner.connect = lambda *a, **k: Timed(plain(*a, **k))
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            main(args)
    finally:
        runner.connect = plain
    return spent[0]


def read_csv_seconds(path: Path, in_order: bool) -> float:
    """DuckDB reading every cell of `path` as text into a table, on a connection as the engine opens it."""
    from engine.duck import connect
    from engine.lang.quoting import quote_str

    con = connect(keep_order=in_order)
    try:
        t = time.perf_counter()
        con.execute(f"CREATE TABLE t AS SELECT * FROM read_csv({quote_str(str(path))}, header = true, all_varchar = true)")
        return time.perf_counter() - t
    finally:
        con.close()


def county(rounds: int, workdir: Path) -> None:
    data = county_file(workdir)
    check = [*weipian(), "check", str(data), "--as-of", AS_OF]
    runs: dict[str, list[float]] = {"interpreter": [], "blocks": [], "inside": [], "check": []}
    inside_duckdb(["check", str(data), "--as-of", AS_OF])  # warm: bytecode, parse cache
    for _ in range(rounds):
        runs["interpreter"].append(timed([sys.executable, "-c", "pass"]).wall)
        runs["blocks"].append(timed([sys.executable, "-c", BLOCKS.format(path=str(data))]).wall)
        runs["inside"].append(inside_duckdb(["check", str(data), "--as-of", AS_OF]))
        runs["check"].append(timed(check).wall)
    m = {k: statistics.median(v) for k, v in runs.items()}
    print(f"\n## county: 2,000-row CSV, text report (target ≤ {COUNTY_TARGET_S} s)\n")
    print("| interpreter | import duckdb and yaml, connect, read the file | left of the target | "
          "inside DuckDB (one check) | weipian check |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {m['interpreter']:.2f} s | {m['blocks']:.2f} s | {COUNTY_TARGET_S - m['blocks']:.2f} s "
          f"| {m['inside']:.2f} s | {m['check']:.2f} s |", flush=True)


def csv_bounds(rows: int, rounds: int, workdir: Path, with_check: bool) -> None:
    data = parquet_of(rows, workdir)
    path = csv_of(data)
    runs: dict[str, list[float]] = {"floor": [], "ordered": [], "any": [], "check": []}
    for _ in range(rounds):
        runs["floor"].append(timed([sys.executable, str(SHARED / "floor.py"), str(data)]).wall)
        runs["ordered"].append(read_csv_seconds(path, in_order=True))
        runs["any"].append(read_csv_seconds(path, in_order=False))
        if with_check:
            runs["check"].append(timed(engine_cmd(path, workdir, "parquet")).wall)
    m = {k: statistics.median(v) for k, v in runs.items() if v}
    f = m["floor"]
    check = f"{m['check']:.2f} s ({m['check'] / f:.1f}×)" if "check" in m else "—"
    print(f"\n## csv: {rows:,} rows (target ≤ {CSV_TARGET:g} × floor.py on the Parquet)\n")
    print("| floor.py | target | read, in file order | read, any order | weipian check |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {f:.2f} s | {CSV_TARGET * f:.2f} s | {m['ordered']:.2f} s ({m['ordered'] / f:.1f}×) "
          f"| {m['any']:.2f} s ({m['any'] / f:.1f}×) | {check} |", flush=True)


def parquet_bounds(rows: int, rounds: int, workdir: Path) -> None:
    data = parquet_of(rows, workdir)
    runs: dict[str, list[float]] = {"floor": [], "query": [], "rules": [], "rows": []}
    for _ in range(rounds):
        runs["floor"].append(timed([sys.executable, str(SHARED / "floor.py"), str(data)]).wall)
        runs["query"].append(floor_query(data))
        runs["rules"].append(compiled_query(data, workdir, messages=False)[0])
        runs["rows"].append(compiled_query(data, workdir, messages=False, rows=True)[0])
    m = {k: statistics.median(v) for k, v in runs.items()}
    q = m["query"]
    print(f"\n## parquet: {rows:,} rows (target ≤ {PARQUET_TARGET:g} × floor.py)\n")
    print("| floor.py | target | floor.py's query alone | rules alone (query) | rules alone, as the results' rows |")
    print("|---:|---:|---:|---:|---:|")
    print(f"| {m['floor']:.2f} s | {PARQUET_TARGET * m['floor']:.2f} s | {q:.2f} s "
          f"| {m['rules']:.2f} s ({m['rules'] / q:.1f}×) | {m['rows']:.2f} s ({m['rows'] / q:.1f}×) |", flush=True)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="rows of the generated table (csv, parquet)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds per case (median reported)")
    ap.add_argument("--workdir", help="where generated files are kept between runs (default: a temporary folder)")
    ap.add_argument("--only", action="append", choices=["county", "csv", "parquet"], help="these cases only")
    ap.add_argument("--without-check", action="store_true", help="csv: leave out the whole weipian check")
    args = ap.parse_args()
    workdir = start(args.workdir)
    only = set(args.only or ["county", "csv", "parquet"])
    if "county" in only:
        county(args.rounds, workdir)
    if "csv" in only:
        csv_bounds(args.rows, args.rounds, workdir, not args.without_check)
    if "parquet" in only:
        parquet_bounds(args.rows, args.rounds, workdir)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
