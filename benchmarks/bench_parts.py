"""Where the gap to the yardstick goes: the same generated Parquet file, run four ways, interleaved.

    python benchmarks/bench_parts.py                        # 1,000,000 rows, 3 rounds
    python benchmarks/bench_parts.py --rows 10000000 --rounds 1 --workdir /tmp/bench

1. floor      ../shared/bench/floor.py: 18 of the 2023 row rules and triggers, hand-written as one query (its own
              timing of that query).
2. rules      the bundled 2023 policy's every row rule and trigger, compiled by the engine (runner.row_sql) into the
              same shape of query over the file as it is (typed, canonical names: no reading rules, no 数据格式
              checks), each hit's patch and check written to Parquet. 2 − 1: the checks the floor does not have,
              and compiled against hand-written conditions.
3. messages   2, with each hit's message rendered in the scan (what the engine writes for every finding and task).
              3 − 2: the messages.
4. check      `weipian check FILE --output results.parquet`, the whole process. 4 − 3: start, reading and typing
              every cell (数据格式 checks, duplicate keys), the assessments, the export in its order, the report.

Times 1–3 are of the query alone (as floor.py times itself), 4 of the process. A benchmark, not a test.
"""
from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench_floor import AS_OF, SHARED, engine_cmd, parquet_of, start, timed  # noqa: E402

YEAR = 2023


def floor_query(data: Path) -> float:
    """floor.py's own timing of its query (seconds)."""
    out = subprocess.run([sys.executable, str(SHARED / "floor.py"), str(data)], capture_output=True, text=True,
                         check=True).stdout
    return float(re.search(r"hits, ([0-9.]+) s", out).group(1))


def compiled_query(data: Path, workdir: Path, messages: bool, rows: bool = False) -> tuple[float, int]:
    """(seconds, hits) of the 2023 policy's row rules and triggers as one query over the file, written to Parquet.
    rows: each hit written as the results' row (kind, year, patch, region, rule, severity, level, action, cite,
    source, line; the message only with `messages`), the check's labels joined from a catalog, in no order."""
    from datetime import date

    from engine.duck import connect
    from engine.lang.quoting import quote_ident, quote_str
    from engine.policy.policyset import load_policies
    from engine.run.runner import row_sql

    policy = load_policies()[YEAR]
    con = connect(threads=2, keep_order=False)
    try:
        # the file as the engine's table `patches` would hold it: _rid and an empty list of format problems
        con.execute(f"CREATE VIEW src AS SELECT *, file_row_number AS _rid, []::INTEGER[] AS _errors "
                    f"FROM read_parquet({quote_str(str(data))}, file_row_number = true)")
        out = workdir / f"parts_{'messages' if messages else 'rules'}{'_rows' if rows else ''}.parquet"
        carry = ()
        columns = "patch, idx" + (", message" if messages else "")
        if rows:
            con.execute("CREATE TABLE catalog (idx INTEGER, kind VARCHAR, rule VARCHAR, severity VARCHAR, "
                        "level VARCHAR, action VARCHAR, cite VARCHAR)")
            con.executemany("INSERT INTO catalog VALUES (?, ?, ?, ?, ?, ?, ?)",
                            [(i, "finding" if c.kind == "rule" else "task", c.id, c.severity, c.level, c.action, c.cite)
                             for i, c in enumerate(policy.checks)])
            carry = ((f"CAST({quote_ident(policy.dictionary.region_field)} AS VARCHAR)", "region"),
                     (quote_str(data.name), "source"), ("_rid + 2", "line"))
            columns = ("c.kind, 2023 AS year, h.patch, h.region, c.rule, c.severity, c.level, c.action, c.cite, "
                       + ("h.message, " if messages else "") + "h.source, h.line")
        scan = row_sql(policy, date.fromisoformat(AS_OF), table="src", carry=carry, messages=messages)
        source = f"({scan}) h JOIN catalog c USING (idx)" if rows else f"({scan})"
        t = time.perf_counter()
        con.execute(f"COPY (SELECT {columns} FROM {source}) TO {quote_str(str(out))} (FORMAT parquet)")
        dt = time.perf_counter() - t
        return dt, con.execute(f"SELECT count(*) FROM read_parquet({quote_str(str(out))})").fetchall()[0][0]
    finally:
        con.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, action="append", help="rows of the generated table (repeatable; default 1000000)")
    ap.add_argument("--rounds", type=int, default=3, help="rounds of the four runs per size (median reported)")
    ap.add_argument("--workdir", help="where generated files are kept between runs (default: a temporary folder)")
    ap.add_argument("--without-check", action="store_true", help="leave out run 4 (the whole check, minutes at 10^7 rows)")
    args = ap.parse_args()
    workdir = start(args.workdir)
    print("| rows | 1 floor (18 checks) | 2 compiled rules (all checks) | 3 + messages | 4 weipian check | hits 2 / 3 |")
    print("|---:|---:|---:|---:|---:|---:|")
    for rows in args.rows or [1_000_000]:
        data = parquet_of(rows, workdir)
        runs: dict[str, list[float]] = {"floor": [], "rules": [], "messages": [], "check": []}
        hits = {}
        for _ in range(args.rounds):  # interleaved: all four see the same machine load
            runs["floor"].append(floor_query(data))
            for key, msg in (("rules", False), ("messages", True)):
                dt, hits[key] = compiled_query(data, workdir, msg)
                runs[key].append(dt)
            if not args.without_check:
                runs["check"].append(timed(engine_cmd(data, workdir, "parquet")).wall)
        m = {k: statistics.median(v) for k, v in runs.items() if v}
        f = m["floor"]
        shown = {k: f"{m[k]:.2f} s ({m[k] / f:.1f}×)" if k in m else "—" for k in ("rules", "messages", "check")}
        print(f"| {rows:,} | {f:.2f} s | {shown['rules']} | {shown['messages']} | {shown['check']} "
              f"| {hits['rules']:,} / {hits['messages']:,} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
