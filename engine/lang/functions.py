"""The DSL's functions, each described once: argument types, result type and DuckDB SQL template.
Read by the type checker (signatures) and the SQL generator (templates). A new function goes here only.
`sum(… where …)` and `count(where …)` are aggregates with their own syntax (ast.Aggregate), not functions."""
from __future__ import annotations

from dataclasses import dataclass

from engine.lang.types import Type

SAME = "T"  # in a signature: the type of the first argument


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple[Type | str, ...]  # a Type, or SAME
    result: Type | str  # a Type, or SAME
    sql: str  # str.format template over the compiled arguments {0}, {1}, …
    same: tuple[Type, ...] | None = None  # the types SAME may stand for (None: any)


D, N = Type.DATE, Type.NUMBER
FUNCTIONS: dict[str, Function] = {f.name: f for f in (
    Function("day", (D,), N, "day({0})"),
    Function("month", (D,), N, "month({0})"),
    Function("year", (D,), N, "year({0})"),
    Function("quarter", (D,), N, "quarter({0})"),
    Function("month_end", (D,), D, "last_day({0})"),
    Function("add_days", (D, N), D, "CAST({0} + CAST({1} AS INTEGER) AS DATE)"),
    Function("add_months", (D, N), D, "CAST({0} + to_months(CAST({1} AS INTEGER)) AS DATE)"),
    Function("with_day", (D, N), D, "make_date(year({0}), month({0}), CAST({1} AS INTEGER))"),
    Function("date", (N, N, N), D, "make_date(CAST({0} AS INTEGER), CAST({1} AS INTEGER), CAST({2} AS INTEGER))"),
    Function("days_between", (D, D), N, "date_diff('day', {0}, {1})"),
    Function("abs", (SAME,), SAME, "abs({0})", same=(N, Type.AREA)),
    Function("min", (SAME, SAME), SAME, "least({0}, {1})"),
    Function("max", (SAME, SAME), SAME, "greatest({0}, {1})"),
    Function("coalesce", (SAME, SAME), SAME, "coalesce({0}, {1})"),
)}
del D, N
