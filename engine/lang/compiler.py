"""Compile typed DSL expressions to DuckDB SQL. Identifiers are quoted, literals escaped."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Callable

from engine.lang import ast
from engine.lang.quoting import quote_ident, quote_str
from engine.lang.units import AREA_FACTORS, AREA_UNIT, quantize_area

COMPARE = {"==": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
CALLS = {
    "day": "day({0})",
    "month": "month({0})",
    "year": "year({0})",
    "quarter": "quarter({0})",
    "month_end": "last_day({0})",
    "add_days": "CAST({0} + CAST({1} AS INTEGER) AS DATE)",
    "add_months": "CAST({0} + to_months(CAST({1} AS INTEGER)) AS DATE)",
    "with_day": "make_date(year({0}), month({0}), CAST({1} AS INTEGER))",
    "date": "make_date(CAST({0} AS INTEGER), CAST({1} AS INTEGER), CAST({2} AS INTEGER))",
    "days_between": "date_diff('day', {0}, {1})",
    "abs": "abs({0})",
    "min": "least({0}, {1})",
    "max": "greatest({0}, {1})",
    "coalesce": "coalesce({0}, {1})",
}


@dataclass
class SqlContext:
    area_scale: int
    as_of: date
    level: str | None = None  # static level (triggers)
    level_sql: str | None = None  # dynamic level expression (assessments)
    column: Callable[[str], str] = quote_ident  # field name -> SQL
    value_sql: dict[str, str] = field(default_factory=dict)  # assessment-local names -> SQL
    aggregate: Callable | None = None  # hook for sum/count in assessments


class Compiler:
    def __init__(self, ctx: SqlContext):
        self.ctx = ctx

    # ---- literals ----
    def literal(self, node: ast.Node) -> str:
        if isinstance(node, ast.Number):
            if node.unit in AREA_FACTORS:
                mu = quantize_area(node.value * AREA_FACTORS[node.unit], self.ctx.area_scale)
                return f"CAST('{mu}' AS DECIMAL(18,{self.ctx.area_scale}))"
            value = node.value / 100 if node.unit == "%" else node.value
            text = format(value.normalize(), "f") if value != value.to_integral() else str(int(value))
            return text if "." not in text else f"CAST('{text}' AS DECIMAL(18,{max(len(text.split('.')[1]), 1)}))"
        if isinstance(node, ast.String):
            return quote_str(node.value)
        if isinstance(node, ast.DateLit):
            return f"DATE '{node.value.isoformat()}'"
        if isinstance(node, ast.Bool):
            return "TRUE" if node.value else "FALSE"
        if isinstance(node, ast.Null):
            return "NULL"
        raise AssertionError(node)

    # ---- names ----
    def name(self, node: ast.Name, key: str | None = None) -> str:
        kind, ref = node.ref
        if kind == "field":
            return self.ctx.column(ref.name)
        if kind == "def":
            return f"({self.expr(ref.expr)})"
        if kind == "param":
            if ref.by_level is None:
                return self.literal(ref.value)
            wanted = key or self.ctx.level
            if wanted is not None:
                return self.literal(ref.by_level[wanted])
            cases = " ".join(f"WHEN {quote_str(lv)} THEN {self.literal(v)}" for lv, v in ref.by_level.items())
            return f"(CASE {self.ctx.level_sql} {cases} END)"
        if kind == "builtin":
            if ref == "评估日期":
                return f"DATE '{self.ctx.as_of.isoformat()}'"
            if ref == "评估级别":
                return self.ctx.level_sql
        if kind == "value":
            return self.ctx.value_sql[ref]
        raise AssertionError(node.ref)

    # ---- expressions ----
    def cond(self, node: ast.Node) -> str:
        """SQL for a condition, two-valued: NULL never leaks out of a condition."""
        sql = self.expr(node)
        if isinstance(node, (ast.Name, ast.Index, ast.If, ast.Call)):
            return f"COALESCE({sql}, FALSE)"
        return sql

    def expr(self, node: ast.Node) -> str:
        if isinstance(node, (ast.Number, ast.String, ast.DateLit, ast.Bool, ast.Null)):
            return self.literal(node)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.Index):
            return self.name(node.name, node.key)
        if isinstance(node, ast.Call):
            return "(" + CALLS[node.func].format(*(self.expr(a) for a in node.args)) + ")"
        if isinstance(node, ast.Aggregate):
            if self.ctx.aggregate is None:
                raise AssertionError("aggregate outside an assessment")
            return self.ctx.aggregate(self, node)
        if isinstance(node, ast.Unary):
            if node.op == "not":
                return f"(NOT {self.cond(node.operand)})"
            return f"(-{self.expr(node.operand)})"
        if isinstance(node, ast.Binary):
            op = node.op
            if op in ("and", "or"):
                return f"({self.cond(node.left)} {op.upper()} {self.cond(node.right)})"
            a, b = self.expr(node.left), self.expr(node.right)
            if op == "!=":
                return f"({a} IS DISTINCT FROM {b})"
            if op in COMPARE:
                return f"COALESCE({a} {COMPARE[op]} {b}, FALSE)"
            if op == "/":
                if node.left.type == "area" and node.right.type == "area":
                    return f"round(CAST({a} AS DOUBLE) / NULLIF(CAST({b} AS DOUBLE), 0), 12)"
                return f"(CAST({a} AS DOUBLE) / NULLIF(CAST({b} AS DOUBLE), 0))"
            if node.left.type == "date" and op in "+-" and node.right.type == "number":
                return f"CAST({a} {op} CAST({b} AS INTEGER) AS DATE)"
            return f"({a} {op} {b})"
        if isinstance(node, ast.InList):
            items = ", ".join(self.expr(i) for i in node.items)
            inner = f"COALESCE({self.expr(node.operand)} IN ({items}), FALSE)"
            return f"(NOT {inner})" if node.negate else inner
        if isinstance(node, ast.IsNull):
            return f"({self.expr(node.operand)} IS {'NOT ' if node.negate else ''}NULL)"
        if isinstance(node, ast.If):
            return f"(CASE WHEN {self.cond(node.cond)} THEN {self.expr(node.then)} ELSE {self.expr(node.else_)} END)"
        raise AssertionError(node)

    # ---- messages ----
    def text(self, node: ast.Node) -> str:
        """SQL rendering a value for people: areas with the carried unit, dates ISO, booleans 是/否, null '空'."""
        sql = self.expr(node)
        t = node.type
        if t == "area":
            s = f"CAST({sql} AS VARCHAR)"
            body = f"(CASE WHEN contains({s}, '.') THEN rtrim(rtrim({s}, '0'), '.') ELSE {s} END) || {quote_str(AREA_UNIT)}"
        elif t == "number":
            s = f"CAST({sql} AS VARCHAR)"
            body = f"(CASE WHEN contains({s}, '.') AND NOT contains({s}, 'e') THEN rtrim(rtrim({s}, '0'), '.') ELSE {s} END)"
        elif t == "date":
            body = f"strftime({sql}, '%Y-%m-%d')"
        elif t == "bool":
            body = f"(CASE WHEN {sql} THEN '是' WHEN NOT {sql} THEN '否' END)"
        else:
            body = f"CAST({sql} AS VARCHAR)"
        return f"COALESCE({body}, '空')"

    def message(self, parts: list, fallback: str) -> str:
        if not parts:
            return quote_str(fallback)
        pieces = [quote_str(p) if isinstance(p, str) else self.text(p) for p in parts]
        return "concat(" + ", ".join(pieces) + ")"
