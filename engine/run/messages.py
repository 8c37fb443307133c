"""The message of a hit as SQL: rendered by DuckDB only for the rows a report shows or an export writes (the
results view, the waived findings), never in the scan."""
from __future__ import annotations

from datetime import date

from engine.lang.compiler import Compiler, SqlContext
from engine.policy.model import Policy


def message_sql(used: dict[int, Policy], as_of: date, year: str = "_y", idx: str = "_i") -> str:
    """The message of hit (year, idx) as one SQL expression over the patch's columns: evaluated only for the rows
    a report shows or an export writes, never in the scan."""
    whens = []
    for y, policy in used.items():
        for i, c in enumerate(policy.checks):
            comp = Compiler(SqlContext(policy.dictionary.area_scale, as_of, level=c.level, units=policy.dictionary.units))
            whens.append(f"WHEN {year} = {int(y)} AND {idx} = {i} THEN {comp.message(c.message, c.title)}")
    return f"CASE {' '.join(whens)} END" if whens else "NULL::VARCHAR"
