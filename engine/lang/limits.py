"""Limits of the expression language, in one table: what a policy expression may be, so that no text crashes
or exhausts the parser, the checker or the SQL it compiles to. Each limit is checked before the stage it
protects, and going over it is a located diagnostic (Chinese message, caret, help), never a traceback.

These are engine safety margins, not thresholds of any law; the bundled policies use a small fraction of each.

| limit                 | value      | code | why                                                                      |
|-----------------------|------------|------|--------------------------------------------------------------------------|
| expression_chars      | 10,000     | E071 | checked before lark runs: a huge text costs time before anything else    |
| expression_nodes      | 2,000      | E071 | nodes of one expression (counted on lark's tree, without recursion)      |
| expression_depth      | 100        | E071 | nesting (`not not …`, a chain of 300 `or`, parentheses): the AST walkers |
|                       |            |      | (transformer, checker, compiler) recurse once or more per level          |
| number_digits         | 18         | E072 | a number literal must fit DECIMAL(18, s): integer + fraction digits      |
| area: (as carried)    | DECIMAL(18, area_scale) | E072 | an area literal in the carried unit (亩), after conversion  |
| constant + - *        | INTEGER / BIGINT | E072 | whole-number constants: DuckDB types them INTEGER (BIGINT when a literal  |
|                       |            |      | needs it) and fails on overflow (100000 * 100000)                        |
| definition_nodes      | 20,000     | E074 | size of an expression with its definitions expanded: the compiler       |
|                       |            |      | inlines each definition where it is used, so 30 definitions each using  |
|                       |            |      | the previous one twice would be 2^30 nodes of SQL                        |
| days                  | 3,650,000  | E073 | a constant day count (add_days, date ± n): about 10,000 years            |
| months                | 120,000    | E073 | a constant month count (add_months): 10,000 years                        |
| years (date(…))       | 1 – 9999   | E073 | a constant year of date(y, m, d)                                         |

Constant arguments of the date functions (literals, parameters, and + - * of them) are checked as well
(E073), since DuckDB would stop the whole run on the first row:
- `date(y, m, d)`: month 1–12, day 1–31, and when all three are constants, a day that exists (2023-02-30 does not);
- `with_day(日期, d)`: d a whole number 1–31. Days 29–31 are an **error** too unless the date is itself a
  constant whose month has that day: some months lack them (February has no 30), and make_date fails on such a
  row rather than yielding nothing. The last day of a month is written `month_end(日期)`.
- `add_days` / `add_months` / `日期 ± n`: whole numbers within `days` / `months` above.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class ExpressionLimits:
    expression_chars: int = 10_000
    expression_nodes: int = 2_000
    expression_depth: int = 100
    number_digits: int = 18
    definition_nodes: int = 20_000
    days: int = 3_650_000
    months: int = 120_000
    min_year: int = 1
    max_year: int = 9999


LIMITS = ExpressionLimits()
