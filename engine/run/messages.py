"""The message of a hit as SQL: rendered by DuckDB only for the rows a report shows or an export writes (the
results view, the waived findings), or in the scan itself when a run writes every row (runner.row_sql)."""
from __future__ import annotations

from datetime import date

from engine.lang.compiler import Compiler, SqlContext
from engine.policy.model import Check, Policy


def check_message_sql(policy: Policy, check: Check, as_of: date) -> str:
    """The message of a hit of `check` as SQL over the patch's columns."""
    comp = Compiler(SqlContext(policy.dictionary.area_scale, as_of, level=check.level, units=policy.dictionary.units))
    return comp.message(check.message, check.title)


def message_sql(used: dict[int, Policy], as_of: date, year: str = "_y", idx: str = "_i") -> str:
    """The message of hit (year, idx) as one SQL expression over the patch's columns, for the rows a report shows
    or an export writes."""
    years = []
    for y, policy in used.items():
        whens = [f"WHEN {i} THEN {check_message_sql(policy, c, as_of)}" for i, c in enumerate(policy.checks)]
        if whens:  # a simple CASE per year: one comparison chain on idx, not a conjunction per check
            years.append(f"WHEN {int(y)} THEN CASE {idx} {' '.join(whens)} END")
    return f"CASE {year} {' '.join(years)} END" if years else "NULL::VARCHAR"
