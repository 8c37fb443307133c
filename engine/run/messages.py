"""The message of a hit as SQL: rendered by DuckDB only for the rows a report shows or an export writes (the
results view, the waived findings), never in the scan."""
from __future__ import annotations

from datetime import date

from engine.lang.compiler import Compiler, SqlContext
from engine.policy.model import Policy


def message_sql(used: dict[int, Policy], as_of: date, year: str = "_y", idx: str = "_i",
                only: set[tuple[int, int]] | None = None) -> str:
    """The message of hit (year, idx) as one SQL expression over the patch's columns: evaluated only for the rows
    a report shows or an export writes, never in the scan. only: the (year, idx) of the hits it is for (NULL for
    any other); binding every check's message costs DuckDB ~0.05 s, the few of a report's first rows much less."""
    years = []
    for y, policy in used.items():
        whens = []
        for i, c in enumerate(policy.checks):
            if only is not None and (int(y), i) not in only:
                continue
            comp = Compiler(SqlContext(policy.dictionary.area_scale, as_of, level=c.level, units=policy.dictionary.units))
            whens.append(f"WHEN {i} THEN {comp.message(c.message, c.title)}")
        if whens:  # a simple CASE per year: one comparison chain on idx, not a conjunction per check
            years.append(f"WHEN {int(y)} THEN CASE {idx} {' '.join(whens)} END")
    return f"CASE {year} {' '.join(years)} END" if years else "NULL::VARCHAR"
