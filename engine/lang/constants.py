"""Static checks of constants that DuckDB would otherwise reject at run time (stopping the whole run): literal
numbers and areas out of the range of their SQL types (E072), and constant arguments of the date functions
(E073). The limits themselves are in engine.limits. Constants are folded from literals, parameters (a
per-level one at a known level) and + - * of them; anything else is left to run time."""
from __future__ import annotations

import calendar
from datetime import date
from decimal import Decimal, InvalidOperation

from engine.lang import ast
from engine.limits import LIMITS
from engine.lang.units import Units, quantize_area

# a located problem: (node, code, message, help)
Found = tuple[ast.Node, str, str, str | None]


def _digits(value: Decimal) -> tuple[int, int]:
    """(integer digits, fraction digits) of a number written without exponent, as the compiler writes it."""
    value = abs(value)
    if value == value.to_integral_value():
        return len(str(int(value))), 0
    text = format(value.normalize(), "f")
    whole, frac = text.split(".")
    return (len(whole.lstrip("0")), len(frac))


def literal_problem(node: ast.Number, units: Units, area_scale: int) -> tuple[str, str] | None:
    """Why a number or area literal does not fit its SQL type (message, help), or None."""
    if node.unit is not None and node.unit in units:
        room = LIMITS.number_digits - area_scale  # integer digits of DECIMAL(18, scale)
        big = node.value.adjusted() + units.factor(node.unit).adjusted() + 2 > room + 1  # surely too big
        if not big:
            try:
                mu = quantize_area(node.value * units.factor(node.unit), area_scale)
                big = _digits(mu)[0] > room
            except InvalidOperation:
                big = True
        if big:
            return (f"面积 {node.text} 超出可表示的范围：折合{units.carried}后整数部分最多 {room} 位",
                    "检查是否多写了数字或写错了单位")
        return None
    value = node.value / 100 if node.unit == "%" else node.value
    whole, frac = _digits(value) if value.adjusted() < 100 else (value.adjusted() + 1, 0)
    if whole + frac > LIMITS.number_digits:
        return (f"数值 {node.text or value} 超出可表示的范围：整数与小数合计最多 {LIMITS.number_digits} 位数字",
                "检查是否多写了数字")
    return None


def fold(node: ast.Node, level: str | None = None) -> Decimal | None:
    """The value of a constant number expression, or None (not constant, or not a plain number)."""
    if isinstance(node, ast.Number):
        return node.value if node.unit is None else None
    if isinstance(node, ast.Unary) and node.op == "neg":
        v = fold(node.operand, level)
        return -v if v is not None else None
    if isinstance(node, ast.Binary) and node.op in ("+", "-", "*"):
        a, b = fold(node.left, level), fold(node.right, level)
        if a is None or b is None or max(abs(a), abs(b)).adjusted() > 100:
            return None
        return a + b if node.op == "+" else a - b if node.op == "-" else a * b
    if isinstance(node, (ast.Name, ast.Index)):
        name = node.name if isinstance(node, ast.Index) else node
        key = node.key if isinstance(node, ast.Index) else level
        if not name.ref or name.ref[0] != "param":
            return None
        param = name.ref[1]
        by_level = getattr(param, "by_level", None)
        value = getattr(param, "value", None) if by_level is None else (by_level.get(key) if key else None)
        return fold(value) if isinstance(value, ast.Node) else None
    return None


def _fold_date(node: ast.Node, level: str | None) -> date | None:
    if isinstance(node, ast.DateLit):
        return node.value
    if isinstance(node, ast.Name) and node.ref and node.ref[0] == "param" and getattr(node.ref[1], "by_level", 1) is None:
        value = getattr(node.ref[1], "value", None)
        return value.value if isinstance(value, ast.DateLit) else None
    return None


def _num(v: Decimal) -> str:
    return str(int(v)) if v == v.to_integral_value() else format(v.normalize(), "f")


def _count(node: ast.Node, v: Decimal | None, what: str, limit: int, unit: str) -> list[Found]:
    if v is None:
        return []
    if v != v.to_integral_value():
        return [(node, "E073", f"{what}应为整数，这里是 {_num(v)}", "写一个整数")]
    if abs(v) > limit:
        return [(node, "E073", f"{what} {_num(v)} 超出范围：最多 ±{limit} {unit}", "检查是否多写了数字")]
    return []


def date_arithmetic(node: ast.Binary, level: str | None) -> list[Found]:
    """日期 ± n with a constant n."""
    return _count(node.right, fold(node.right, level), "加减的天数", LIMITS.days, "天")


def date_call(node: ast.Call, text: str, level: str | None) -> list[Found]:
    """Constant arguments of add_days, add_months, with_day and date(y, m, d)."""
    args = node.args
    if node.func == "add_days":
        return _count(args[1], fold(args[1], level), "add_days 的天数", LIMITS.days, "天")
    if node.func == "add_months":
        return _count(args[1], fold(args[1], level), "add_months 的月数", LIMITS.months, "个月")
    if node.func == "with_day":
        return _with_day(node, text, level)
    if node.func == "date":
        return _date(node, level)
    return []


def _with_day(node: ast.Call, text: str, level: str | None) -> list[Found]:
    arg, day_node = node.args
    day = fold(day_node, level)
    if day is None:
        return []
    if day != day.to_integral_value() or not 1 <= day <= 31:
        return [(day_node, "E073", f"with_day 的日应为 1–31 的整数，这里是 {_num(day)}", "取月末请写 month_end(日期)")]
    if day <= 28:
        return []
    d, n = int(day), text[arg.start:arg.end] or "日期"
    fixed = _fold_date(arg, level)
    if fixed is not None:
        if d > calendar.monthrange(fixed.year, fixed.month)[1]:
            return [(day_node, "E073", f"{fixed.year} 年 {fixed.month} 月没有 {d} 日", f"取月末请写 month_end({n})")]
        return []
    return [(day_node, "E073", f"并非每个月都有 {d} 日（如 2 月），遇到这样的日期运行会中止",
             f"取月末请写 month_end({n})；要「当月 {d} 日，没有则取月末」可写 "
             f"min(add_days(month_end(add_months({n}, -1)), {d}), month_end({n}))")]


def _date(node: ast.Call, level: str | None) -> list[Found]:
    y_node, m_node, d_node = node.args
    y, m, d = (fold(a, level) for a in node.args)
    out: list[Found] = []
    for a, v, what, lo, hi in ((y_node, y, "年", LIMITS.min_year, LIMITS.max_year), (m_node, m, "月", 1, 12), (d_node, d, "日", 1, 31)):
        if v is not None and (v != v.to_integral_value() or not lo <= v <= hi):
            out.append((a, "E073", f"date 的{what}应为 {lo}–{hi} 的整数，这里是 {_num(v)}", "写成 date(年, 月, 日)，例如 date(2023, 6, 30)"))
    if out or m is None or d is None:
        return out
    m, d = int(m), int(d)
    if y is not None:
        if d > calendar.monthrange(int(y), m)[1]:
            return [(d_node, "E073", f"日期 {int(y)}-{m}-{d} 不存在：{int(y)} 年 {m} 月只有 {calendar.monthrange(int(y), m)[1]} 日",
                     f"月末请写 month_end(date({int(y)}, {m}, 1))")]
        return []
    if d > calendar.monthrange(2000, m)[1] or (m == 2 and d == 29):  # 2000: a leap year
        return [(d_node, "E073", f"{m} 月没有 {d} 日" if d > calendar.monthrange(2000, m)[1] else "并非每年 2 月都有 29 日",
                 f"月末请写 month_end(date(年, {m}, 1))")]
    return []


_INT32, _INT64 = 2**31 - 1, 2**63 - 1


def _int_limit(node: ast.Node) -> int:
    """The largest value of the SQL integer type DuckDB gives a constant integer expression: INTEGER unless one
    of its literals needs BIGINT (DuckDB types a literal by its value and does not widen on overflow)."""
    leaves = [n for n in ast.walk(node) if isinstance(n, ast.Number)]
    params = [n for n in ast.walk(node) if isinstance(n, ast.Name) and n.ref and n.ref[0] == "param"]
    values = [abs(n.value) for n in leaves] + [abs(v) for n in params if (v := fold(n)) is not None]
    return _INT32 if all(v <= _INT32 for v in values) else _INT64


def constant_overflow(node: ast.Binary, level: str | None) -> list[Found]:
    """n + m, n - m, n * m of constant whole numbers whose result DuckDB's integer type cannot hold."""
    if node.op not in ("+", "-", "*"):
        return []
    a, b = fold(node.left, level), fold(node.right, level)
    if a is None or b is None or a != a.to_integral_value() or b != b.to_integral_value():
        return []
    v = fold(node, level)
    limit = max(_int_limit(node.left), _int_limit(node.right))
    if v is None or abs(v) <= limit:
        return []
    return [(node, "E072", f"常量运算结果 {_num(v)} 超出整数范围（最大 {limit}）", "直接写出计算结果，或检查是否多写了数字")]
