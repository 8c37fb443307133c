"""A DuckDB error while a policy runs on data, turned into a located diagnostic.

Lint checks constants (engine.lang.constants), but a value that comes from the data can still make DuckDB stop
(`with_day(下发日期, day(填报日期))` on 2023-02-10 with a 31st). Such an error is not an engine crash and not a
result: the run stops (exit 2) naming the rule, its cite and the place of its condition, and what DuckDB said."""
from __future__ import annotations

import duckdb

from engine.errors import Diagnostic, Loc, PolicyError
from engine.policy.model import Check, Policy

CODE = "E075"


def run_located(con: duckdb.DuckDBPyConnection, sql: str, policy: Policy, sql_of_check) -> None:
    """Run `sql` (every check of `policy` in one scan); on a DuckDB error find the check that fails alone
    (`sql_of_check(check)`) and raise a PolicyError located at its condition."""
    try:
        con.execute(sql)
    except (duckdb.ConversionException, duckdb.OutOfRangeException, duckdb.InvalidInputException,
            duckdb.BinderException) as exc:
        culprit = _first_failing(con, policy, sql_of_check)
        raise PolicyError([diagnostic(culprit, policy, exc)]) from None


def _first_failing(con, policy: Policy, sql_of_check) -> Check | None:
    for c in policy.checks:
        try:
            con.execute(f"SELECT count(*) FROM ({sql_of_check(c)})").fetchone()
        except duckdb.Error:
            return c
    return None


def diagnostic(check: Check | None, policy: Policy, exc: Exception) -> Diagnostic:
    said = str(exc).splitlines()[0][:300]
    help_ = ("检查条件中函数的参数：数据中的取值可能使日期不存在（如某月没有 31 日）或数字越界；"
             "可用 month_end(…)、min(…)、if … then … else … 避开这些取值")
    if check is None:
        return Diagnostic(CODE, f"{policy.year}年政策在数据上运行出错：{said}", Loc(str(policy.dir)), help=help_)
    w = check.when_text
    kind = "规则" if check.kind == "rule" else "触发条件"
    return Diagnostic(CODE, f"{kind}「{check.id}」（{check.cite}）在数据上运行出错：{said}",
                      Loc(w.file, w.line, w.col, len(w)), help=help_)
