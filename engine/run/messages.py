"""The message of a hit as SQL: rendered by DuckDB only for the rows a report shows or an export writes (the
results view, the waived findings), or in the scan itself when a run writes every row (runner.row_sql)."""
from __future__ import annotations

from datetime import date

from engine.lang.compiler import Compiler, SqlContext
from engine.lang.quoting import quote_ident
from engine.policy.check import fields_of
from engine.policy.model import Check, Policy


def check_message_sql(policy: Policy, check: Check, as_of: date, column=quote_ident) -> str:
    """The message of a hit of `check` as SQL over the patch's columns (column: field name -> SQL)."""
    comp = Compiler(SqlContext(policy.dictionary.area_scale, as_of, level=check.level, units=policy.dictionary.units,
                               column=column))
    return comp.message(check.message, check.title)


def message_fields(checks: list[Check]) -> list[str]:
    """The fields the messages of `checks` show (through definitions), sorted."""
    return sorted(fields_of(n for c in checks for n in c.message if not isinstance(n, str)))


def message_sql(used: dict[int, Policy], as_of: date, year: str = "_y", idx: str = "_i",
                only: set[tuple[int, int]] | None = None) -> str:
    """The message of hit (year, idx) as one SQL expression over the patch's columns, for the rows a report shows
    or an export writes. only: the (year, idx) of the hits it is for (NULL for any other); binding every check's
    message costs DuckDB ~0.05 s, the few of a report's first rows much less."""
    years = []
    for y, policy in used.items():
        whens = [f"WHEN {i} THEN {check_message_sql(policy, c, as_of)}" for i, c in enumerate(policy.checks)
                 if only is None or (int(y), i) in only]
        if whens:  # a simple CASE per year: one comparison chain on idx, not a conjunction per check
            years.append(f"WHEN {int(y)} THEN CASE {idx} {' '.join(whens)} END")
    return f"CASE {year} {' '.join(years)} END" if years else "NULL::VARCHAR"
