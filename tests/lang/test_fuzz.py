"""Fuzzing the expression language (issue 11).

1. Generated expression texts — random tokens, deep nesting, unicode, huge literals — never crash parsing,
   checking or compiling: each ends in success or in located diagnostics; and the SQL of an accepted
   expression runs in DuckDB (on an empty table, where DuckDB still folds constants).
2. Differential: generated well-typed conditions and values over a few fields (numbers, areas with units at
   thresholds, dates at month ends, NULLs, texts and enums) give in DuckDB what a small pure-Python evaluator
   of the AST gives, row by row — NULLs in three-valued logic as SQL does, conditions two-valued as rules are.

The default run is short (the `weipian` Hypothesis profile of tests/conftest.py); `--hypothesis-profile=long`
or WEIPIAN_HYPOTHESIS=long runs 10,000 cases per property.
"""
from __future__ import annotations

import calendar
import functools
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest
from hypothesis import assume, given, note, settings
from hypothesis import strategies as st

from engine.data.dictionary import load_dictionary
from engine.errors import Diagnostic
from engine.lang import ast
from engine.lang.compiler import Compiler, SqlContext
from engine.lang.types import Type
from engine.policy.check import CheckContext
from engine.policy.check.definitions import check_definitions
from engine.policy.check.entries import message_parts
from engine.policy.check.parameters import check_parameters
from engine.policy.loader import PolicySource
from engine.policy.marks import YStr

D = load_dictionary()
AS_OF = date(2024, 6, 30)
SQL_TYPES = {"string": "VARCHAR", "enum": "VARCHAR", "int": "BIGINT", "date": "DATE", "bool": "BOOLEAN"}
PARAMS = {"阈值": "100亩", "天数": "30", "日": "20", "大日": "31", "年": "2023"}
DEFS = {"大面积": "耕地面积 >= 阈值", "截止": "add_days(下发日期, 天数)"}


def _marked(text: str) -> YStr:
    y = YStr(text)
    y.file, y.line, y.col = "<fuzz>", 1, 1
    return y


def _context() -> CheckContext:
    src = PolicySource(dir=Path("."))
    for name, value in PARAMS.items():
        src.parameters[name], src.param_keys[name] = _marked(value), _marked(name)
    for name, expr in DEFS.items():
        src.definitions[name], src.def_keys[name] = _marked(expr), _marked(name)
    ctx = CheckContext(src, D)
    check_parameters(ctx)
    check_definitions(ctx)
    assert not ctx.diags, [d.render() for d in ctx.diags]
    return ctx


def _empty_table(con) -> None:
    cols = [f'CAST(NULL AS {SQL_TYPES.get(f.type, f"DECIMAL(18,{D.area_scale})")}) AS "{f.name}"' for f in D.fields]
    con.execute("CREATE TABLE patches AS SELECT " + ", ".join(cols) + " LIMIT 0")


CON = duckdb.connect()
_empty_table(CON)
CON2 = duckdb.connect()


def _located(diags: list[Diagnostic]) -> None:
    for d in diags:
        assert d.code and d.message and d.loc.file == "<fuzz>" and d.loc.line is not None, d
        d.render()  # the caret line is drawn without error


def check_and_compile(text: str, level: str | None = None) -> tuple[ast.Node | None, list[Diagnostic]]:
    """What `weipian lint` and `check` do with a `when:` text: parse, check, and (when clean) compile and run."""
    ctx = _context()
    y = _marked(text)
    node = ctx.parse(y, "E030", "条件语法错误：")
    if node is not None:
        ctx.want_bool(node, ctx.scope(y, level=level), "when")
    message_parts(ctx, _marked("说明{" + text + "}"), ctx.scope(_marked("说明{" + text + "}"), level=level))
    _located(ctx.diags)
    if node is None or any(d.severity == "error" for d in ctx.diags):
        return None, ctx.diags
    comp = Compiler(SqlContext(D.area_scale, AS_OF, level=level, units=D.units))
    sql = comp.cond(node)
    CON.execute(f"SELECT {sql} FROM patches").fetchall()
    return node, ctx.diags


# ---------------------------------------------------------------- 1. no crash on any text

NAMES = ["耕地面积", "监测面积", "下发日期", "批准时间", "监测年度", "现场照片数", "判定结果", "审批文号", "是否矿产图斑",
         "阈值", "天数", "日", "大日", "年", "大面积", "截止", "评估日期", "未知名", "非法", "且慢"]
FUNCS = ["day", "month", "year", "quarter", "month_end", "add_days", "add_months", "with_day", "date", "days_between",
         "abs", "min", "max", "coalesce", "sum", "count", "nosuch"]
TOKENS = [*NAMES, *FUNCS, "and", "or", "not", "且", "或", "非", "if", "then", "else", "如果", "则", "否则", "in", "is",
          "null", "是", "否", "where", "(", ")", "（", "）", "[", "]", ",", "，", "、", "==", "!=", "<", "<=", ">", ">=",
          "=", "≥", "≤", "≠", "+", "-", "*", "/", "%", "亩", "平方米", "公顷", '"违法用地"', "“合法用地”", "'x'", '"',
          "2023-02-29", "2024-02-29", "2023-13-01", "0", "1", "28", "29", "31", "0.5", "12345678901234567890",
          "99999999999", "1" + "0" * 40, "0." + "0" * 30 + "1", "1e5", "⁵", "١٢", "𝟙", "\u200b", "\n", "\t", "{", "}", "$", "'"]

huge_number = st.integers(0, 10**40).map(str) | st.decimals(allow_nan=False, allow_infinity=False, places=8).map(lambda d: format(abs(d), "f"))
token_soup = st.lists(st.sampled_from(TOKENS) | huge_number, max_size=40).map(" ".join)
deep = st.tuples(st.sampled_from(["not ", "非", "-", "(", "abs(", "if 是 then ", "耕地面积 > 0亩 or "]), st.integers(0, 1200),
                 st.sampled_from(["耕地面积 > 0亩", "1", "下发日期", "是"])).map(lambda t: t[0] * t[1] + t[2] + (")" * t[1] if "(" in t[0] else "" if "then" not in t[0] else " else 否" * t[1]))
unicode_text = st.text(max_size=60)
calls = st.tuples(st.sampled_from(FUNCS), st.lists(st.sampled_from(["下发日期", "监测年度", "31", "-1", "2023", "13", "0", "99999999999",
                                                                  "1.5", "大日", "日", "天数", "null", "2023-01-31"]), max_size=4)).map(
    lambda t: f"{t[0]}({', '.join(t[1])}) > 下发日期")


# a syntax error costs lark's error matching ~0.1-0.3 s: a third of the profile's examples (50 by default, 3,333 long)
FEW = settings(max_examples=max(settings.default.max_examples // 3, 20))


@FEW
@given(token_soup | deep | unicode_text | calls)
def test_any_text_is_success_or_located_diagnostics(text):
    note(repr(text[:300]))
    check_and_compile(text)


@FEW
@given(calls, st.sampled_from([None, "县级", "省级"]))
def test_date_function_calls_never_fail_in_duckdb_once_accepted(text, level):
    check_and_compile(text, level)


# ---------------------------------------------------------------- 2. differential: DuckDB vs a reference evaluator

FACTORS = {u: Decimal(str(f)) for u, f in D.area_units.items()}
Q = Decimal(1).scaleb(-D.area_scale)


def _area_literal(value: Decimal, unit: str) -> Decimal:
    return (value * FACTORS[unit]).quantize(Q, rounding=ROUND_HALF_UP)


def _add_months(d: date, n: int) -> date:
    m = d.month - 1 + n
    y, m = d.year + m // 12, m % 12 + 1
    return date(y, m, min(d.day, calendar.monthrange(y, m)[1]))


def _num(f):
    return lambda *a: None if any(x is None for x in a) else f(*a)


def _least(a, b):
    vals = [x for x in (a, b) if x is not None]  # DuckDB's least/greatest skip NULLs
    return min(vals) if vals else None


def _greatest(a, b):
    vals = [x for x in (a, b) if x is not None]
    return max(vals) if vals else None


REF_FUNCS = {
    "day": _num(lambda d: d.day), "month": _num(lambda d: d.month), "year": _num(lambda d: d.year),
    "quarter": _num(lambda d: (d.month - 1) // 3 + 1),
    "month_end": _num(lambda d: date(d.year, d.month, calendar.monthrange(d.year, d.month)[1])),
    "add_days": _num(lambda d, n: d + timedelta(days=int(n))), "add_months": _num(lambda d, n: _add_months(d, int(n))),
    "with_day": _num(lambda d, n: date(d.year, d.month, int(n))), "date": _num(lambda y, m, d: date(int(y), int(m), int(d))),
    "days_between": _num(lambda a, b: (b - a).days), "abs": _num(abs), "min": _least, "max": _greatest,
    "coalesce": lambda a, b: a if a is not None else b,
}


def ref(n: ast.Node, row: dict):
    """The value of a typed expression on one row: None for NULL, as SQL."""
    if isinstance(n, ast.Number):
        if n.unit in FACTORS:
            return _area_literal(n.value, n.unit)
        return n.value / 100 if n.unit == "%" else n.value
    if isinstance(n, (ast.String, ast.DateLit, ast.Bool)):
        return n.value
    if isinstance(n, ast.Null):
        return None
    if isinstance(n, ast.Name):
        kind, target = n.ref
        if kind == "field":
            return row.get(target.name)
        if kind == "def":
            return ref(target.expr, row)
        if kind == "param":
            return ref(target.value, row)
        if kind == "builtin":
            return AS_OF
        raise AssertionError(n.ref)
    if isinstance(n, ast.Call):
        return REF_FUNCS[n.func](*(ref(a, row) for a in n.args))
    if isinstance(n, ast.Unary):
        if n.op == "not":
            return not cond(n.operand, row)
        v = ref(n.operand, row)
        return None if v is None else -v
    if isinstance(n, ast.InList):
        x = ref(n.operand, row)
        hit = x is not None and any((v := ref(i, row)) is not None and x == v for i in n.items)
        return hit != n.negate
    if isinstance(n, ast.IsNull):
        return (ref(n.operand, row) is None) != n.negate
    if isinstance(n, ast.If):
        return ref(n.then, row) if cond(n.cond, row) else ref(n.else_, row)
    if isinstance(n, ast.Binary):
        op = n.op
        if op == "and":
            return cond(n.left, row) and cond(n.right, row)
        if op == "or":
            return cond(n.left, row) or cond(n.right, row)
        a, b = ref(n.left, row), ref(n.right, row)
        if op == "!=":
            return (a is None) != (b is None) or (a is not None and a != b)
        if op in ("==", "<", "<=", ">", ">="):
            if a is None or b is None:
                return False
            return {"==": a == b, "<": a < b, "<=": a <= b, ">": a > b, ">=": a >= b}[op]
        if a is None or b is None:
            return None
        if isinstance(a, date) and isinstance(b, date):
            return (a - b).days
        if isinstance(a, date):
            return a + timedelta(days=int(b)) if op == "+" else a - timedelta(days=int(b))
        return a + b if op == "+" else a - b if op == "-" else a * b
    raise AssertionError(n)


def cond(n: ast.Node, row: dict) -> bool:
    return ref(n, row) is True  # a condition is two-valued: NULL counts as not met


# rows: areas at and around thresholds, dates at month ends, NULLs
AREAS = [None, Decimal("0"), Decimal("99.9999"), Decimal("100"), Decimal("100.0001"), Decimal("14.9999"), Decimal("15"), Decimal("0.0015")]
DATES = [None, date(2023, 1, 31), date(2023, 2, 28), date(2024, 2, 29), date(2023, 3, 31), date(2023, 4, 30), date(2023, 12, 31), date(2024, 1, 1)]
rows = st.fixed_dictionaries({
    "耕地面积": st.sampled_from(AREAS), "监测面积": st.sampled_from(AREAS),
    "下发日期": st.sampled_from(DATES), "批准时间": st.sampled_from(DATES),
    "监测年度": st.sampled_from([None, 2021, 2023, 2024]), "现场照片数": st.sampled_from([None, 0, 1, 2, 31]),
    "判定结果": st.sampled_from([None, "合法用地", "违法用地", "其他用地"]), "审批文号": st.sampled_from([None, "", "x", "O'Brien"]),
    "是否矿产图斑": st.sampled_from([None, True, False]),
})

# typed expression texts, fully parenthesized
AREA_LITERALS = ["0亩", "100亩", "99.9999亩", "100.0001亩", "66666.67平方米", "66666.66平方米", "6.6666667公顷", "1公顷", "0.00005亩", "15亩"]
DATE_LITERALS = ["2023-01-31", "2023-02-28", "2024-02-29", "2023-03-01", "2023-12-31", "评估日期"]


def _leaf(t: str):
    return {
        "num": st.sampled_from(["监测年度", "现场照片数", "0", "1", "2", "20", "31", "2023", "天数", "日"]),
        "area": st.sampled_from(["耕地面积", "监测面积", "阈值", *AREA_LITERALS]),
        "date": st.sampled_from(["下发日期", "批准时间", "截止", *DATE_LITERALS]),
        "text": st.sampled_from(["审批文号", '"x"', '""', "“O'Brien”"]),
        "bool": st.sampled_from(["是否矿产图斑", "是", "否", "大面积"]),
    }[t]


@functools.lru_cache(maxsize=None)  # strategies built once: building them per example is slow
def expr(t: str, depth: int):
    if depth <= 0:
        return _leaf(t)
    sub = lambda u: expr(u, depth - 1)  # noqa: E731
    f = lambda fmt, *parts: st.tuples(*parts).map(lambda p: fmt.format(*p))  # noqa: E731
    small = st.sampled_from(["0", "1", "2", "12", "30", "-1", "-31", "现场照片数", "天数"])
    options = [_leaf(t), f("(if {} then {} else {})", sub("bool"), sub(t), sub(t)), f("coalesce({}, {})", sub(t), sub(t))]
    if t == "num":
        options += [f("({} + {})", sub("num"), sub("num")), f("({} - {})", sub("num"), sub("num")),
                    f("({} * {})", _leaf("num"), st.sampled_from(["0", "1", "3", "-2"])), f("(-{})", sub("num")),
                    f("abs({})", sub("num")), f("min({}, {})", sub("num"), sub("num")), f("max({}, {})", sub("num"), sub("num")),
                    f("{}({})", st.sampled_from(["day", "month", "year", "quarter"]), sub("date")),
                    f("days_between({}, {})", sub("date"), sub("date")), f("({} - {})", sub("date"), sub("date"))]
    if t == "area":
        options += [f("({} + {})", sub("area"), sub("area")), f("({} - {})", sub("area"), sub("area")),
                    f("({} * {})", sub("area"), st.sampled_from(["0", "1", "2", "-1"])), f("(-{})", sub("area")),
                    f("abs({})", sub("area")), f("min({}, {})", sub("area"), sub("area")), f("max({}, {})", sub("area"), sub("area"))]
    if t == "date":
        options += [f("add_days({}, {})", sub("date"), small), f("add_months({}, {})", sub("date"), small),
                    f("({} + {})", sub("date"), small), f("({} - {})", sub("date"), small),
                    f("with_day({}, {})", sub("date"), st.sampled_from(["1", "15", "28", "日"])), f("month_end({})", sub("date")),
                    f("date({}, {}, {})", st.sampled_from(["2023", "年", "监测年度"]), st.sampled_from(["1", "2", "12"]),
                      st.sampled_from(["1", "28"])),
                    f("min({}, {})", sub("date"), sub("date")), f("max({}, {})", sub("date"), sub("date"))]
    if t == "bool":
        cmp = st.sampled_from(["==", "!=", "<", "<=", ">", ">="])
        options += [f("({} {} {})", sub(u), cmp, sub(u)) for u in ("num", "area", "date")]
        options += [f("({} {} {})", sub("text"), st.sampled_from(["==", "!="]), sub("text")),
                    f("({} {} {})", sub("bool"), st.sampled_from(["==", "!="]), sub("bool")),
                    f("(判定结果 {} {})", st.sampled_from(["==", "!="]), st.sampled_from(['"违法用地"', '"合法用地"'])),
                    f("(判定结果 {} [{}])", st.sampled_from(["in", "not in"]), st.sampled_from(['"违法用地"', '"违法用地", "其他用地"'])),
                    f("({} {} [{}, {}])", sub("num"), st.sampled_from(["in", "not in"]), sub("num"), sub("num")),
                    f("({} {} [{}])", sub("area"), st.sampled_from(["in", "not in"]), sub("area")),
                    f("({} and {})", sub("bool"), sub("bool")), f("({} or {})", sub("bool"), sub("bool")),
                    f("(not {})", sub("bool")), f("({} is {}null)", sub("num"), st.sampled_from(["", "not "])),
                    f("({} is {}null)", sub("date"), st.sampled_from(["", "not "])),
                    f("({} is {}null)", sub("bool"), st.sampled_from(["", "not "]))]
    return st.one_of(options)


typed = st.one_of([expr(t, d).map(lambda s, t=t: (t, s)) for t in ("bool", "bool", "num", "area", "date") for d in range(4)])


def _table(con, data: list[dict]) -> None:
    con.execute("CREATE OR REPLACE TABLE patches (_i INTEGER, " + ", ".join(
        f'"{f.name}" {SQL_TYPES.get(f.type, f"DECIMAL(18,{D.area_scale})")}' for f in D.fields) + ")")
    names = ["_i", *data[0]]
    con.executemany(f"INSERT INTO patches ({', '.join(chr(34) + n + chr(34) for n in names)}) VALUES ({', '.join('?' * len(names))})",
                    [[i, *(r[n] for n in names[1:])] for i, r in enumerate(data)])


@given(typed, st.lists(rows, min_size=1, max_size=6))
def test_sql_equals_the_reference_evaluator(case, data):
    t, text = case
    note(text)
    ctx = _context()
    y = _marked(text)
    node = ctx.parse(y, "E030", "")
    assert node is not None, [d.render() for d in ctx.diags]
    if t == "bool":
        ctx.want_bool(node, ctx.scope(y), "when")
    else:
        ctx.infer(node, ctx.scope(y))
    errors = [d for d in ctx.diags if d.severity == "error"]
    assume(not errors or all(d.code == "E073" for d in errors))  # a constant date argument refused: nothing to compare
    if errors:
        return
    expected = []
    for r in data:
        try:
            expected.append(cond(node, r) if t == "bool" else ref(node, r))
        except (ValueError, OverflowError):  # a date out of range (year 0 or 10000): DuckDB differs, not compared
            assume(False)
    comp = Compiler(SqlContext(D.area_scale, AS_OF, units=D.units))
    sql = comp.cond(node) if t == "bool" else comp.expr(node)
    con = CON2
    _table(con, data)
    got = [v for (v,) in con.execute(f"SELECT {sql} FROM patches ORDER BY _i").fetchall()]
    assert got == expected, (sql, data)
