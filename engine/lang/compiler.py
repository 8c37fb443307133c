"""Generate DuckDB SQL from typed DSL expressions: one method per node class, looked up by type (as sqlglot's
generator). Identifiers are quoted, literals escaped; function templates come from engine.lang.functions."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Callable

from engine.lang import ast
from engine.lang.functions import FUNCTIONS
from engine.lang.quoting import quote_ident, quote_str
from engine.lang.types import Type
from engine.lang.units import Units, quantize_area

COMPARE = {"==": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
LITERALS = (ast.Number, ast.String, ast.DateLit, ast.Bool, ast.Null)
_NULL_AS = {Type.DATE: "DATE", Type.NUMBER: "BIGINT"}  # the SQL type of a null argument where a function wants one
MAYBE_NULL_CONDITIONS = (ast.Name, ast.Index, ast.If, ast.Call)  # conditions whose SQL may yield NULL


def decimal_text(sql: str, scale: int) -> str:
    """A DECIMAL(18, scale) value as text without trailing zeros (12.5000 -> '12.5', 3.0000 -> '3'): cast at the
    fewest decimals that hold it exactly, by comparisons of numbers (a third of the time of trimming the text)."""
    whens = " ".join(f"WHEN {sql} = round({sql}, {k}) THEN CAST(CAST({sql} AS DECIMAL(18,{k})) AS VARCHAR)"
                     for k in range(scale))
    return f"(CASE {whens} ELSE CAST({sql} AS VARCHAR) END)" if whens else f"CAST({sql} AS VARCHAR)"


@dataclass
class SqlContext:
    area_scale: int
    as_of: date
    level: str | None = None  # static level (triggers)
    level_sql: str | None = None  # dynamic level expression (assessments)
    column: Callable[[str], str] = quote_ident  # field name -> SQL
    value_sql: dict[str, str] = field(default_factory=dict)  # assessment-local names -> SQL
    aggregate: Callable | None = None  # hook for sum/count in assessments
    units: Units = field(kw_only=True)  # area units of the dictionary in use


_GENERATORS: dict[type, Callable] = {}


def generates(*classes):
    """Register the decorated Compiler method as the SQL generator of these node classes."""
    def register(method):
        for cls in classes:
            _GENERATORS[cls] = method
        return method
    return register


class Compiler:
    def __init__(self, ctx: SqlContext):
        self.ctx = ctx

    def expr(self, node: ast.Node) -> str:
        return _GENERATORS[type(node)](self, node)

    def cond(self, node: ast.Node) -> str:
        """SQL for a condition, two-valued: NULL never leaks out of a condition."""
        sql = self.expr(node)
        if isinstance(node, MAYBE_NULL_CONDITIONS):
            return f"COALESCE({sql}, FALSE)"
        return sql

    # ---- literals ----
    def literal(self, node: ast.Node) -> str:
        if not isinstance(node, LITERALS):
            raise AssertionError(node)
        return self.expr(node)

    @generates(ast.Number)
    def number_sql(self, node: ast.Number) -> str:
        units = self.ctx.units
        if node.unit is not None and node.unit in units:
            mu = quantize_area(node.value * units.factor(node.unit), self.ctx.area_scale)
            return f"CAST('{mu}' AS DECIMAL(18,{self.ctx.area_scale}))"
        value = node.value / 100 if node.unit == "%" else node.value
        text = format(value.normalize(), "f") if value != value.to_integral() else str(int(value))
        return text if "." not in text else f"CAST('{text}' AS DECIMAL(18,{max(len(text.split('.')[1]), 1)}))"

    @generates(ast.String)
    def string_sql(self, node: ast.String) -> str:
        return quote_str(node.value)

    @generates(ast.DateLit)
    def date_sql(self, node: ast.DateLit) -> str:
        return f"DATE '{node.value.isoformat()}'"

    @generates(ast.Bool)
    def bool_sql(self, node: ast.Bool) -> str:
        return "TRUE" if node.value else "FALSE"

    @generates(ast.Null)
    def null_sql(self, node: ast.Null) -> str:
        return "NULL"

    # ---- names ----
    @generates(ast.Name)
    def name_sql(self, node: ast.Name, key: str | None = None) -> str:
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

    @generates(ast.Index)
    def index_sql(self, node: ast.Index) -> str:
        return self.name_sql(node.name, node.key)

    # ---- operations ----
    @generates(ast.Call)
    def call_sql(self, node: ast.Call) -> str:
        fn = FUNCTIONS[node.func]
        args = [f"CAST(NULL AS {_NULL_AS[want]})" if isinstance(a, ast.Null) and want in _NULL_AS else self.expr(a)
                for a, want in zip(node.args, fn.params)]  # a bare NULL leaves DuckDB no overload to choose
        return "(" + fn.sql.format(*args) + ")"

    @generates(ast.Aggregate)
    def aggregate_sql(self, node: ast.Aggregate) -> str:
        if self.ctx.aggregate is None:
            raise AssertionError("aggregate outside an assessment")
        return self.ctx.aggregate(self, node)

    @generates(ast.Unary)
    def unary_sql(self, node: ast.Unary) -> str:
        if node.op == "not":
            return f"(NOT {self.cond(node.operand)})"
        return f"(-{self.expr(node.operand)})"

    @generates(ast.Binary)
    def binary_sql(self, node: ast.Binary) -> str:
        op = node.op
        if op in ("and", "or"):
            return f"({self.cond(node.left)} {op.upper()} {self.cond(node.right)})"
        a, b = self.expr(node.left), self.expr(node.right)
        if op == "!=":
            return f"({a} IS DISTINCT FROM {b})"
        if op in COMPARE:
            return f"COALESCE({a} {COMPARE[op]} {b}, FALSE)"
        if op == "/":
            if node.left.type == Type.AREA and node.right.type == Type.AREA:
                return f"round(CAST({a} AS DOUBLE) / NULLIF(CAST({b} AS DOUBLE), 0), 12)"
            return f"(CAST({a} AS DOUBLE) / NULLIF(CAST({b} AS DOUBLE), 0))"
        if node.left.type == Type.DATE and op in "+-" and node.right.type == Type.NUMBER:
            return f"CAST({a} {op} CAST({b} AS INTEGER) AS DATE)"
        return f"({a} {op} {b})"

    @generates(ast.InList)
    def inlist_sql(self, node: ast.InList) -> str:
        items = ", ".join(self.expr(i) for i in node.items)
        inner = f"COALESCE({self.expr(node.operand)} IN ({items}), FALSE)"
        return f"(NOT {inner})" if node.negate else inner

    @generates(ast.IsNull)
    def isnull_sql(self, node: ast.IsNull) -> str:
        return f"({self.expr(node.operand)} IS {'NOT ' if node.negate else ''}NULL)"

    @generates(ast.If)
    def if_sql(self, node: ast.If) -> str:
        return f"(CASE WHEN {self.cond(node.cond)} THEN {self.expr(node.then)} ELSE {self.expr(node.else_)} END)"

    # ---- messages ----
    def text(self, node: ast.Node) -> str:
        """SQL rendering a value for people: areas with the carried unit, dates ISO, booleans 是/否, null '空'."""
        sql = self.expr(node)
        t = node.type
        if t == Type.AREA:
            if isinstance(node, ast.Name) and node.ref[0] == "field":  # a column: DECIMAL(18, area_scale)
                body = f"{decimal_text(sql, self.ctx.area_scale)} || {quote_str(self.ctx.units.carried)}"
            else:  # an expression may be DOUBLE (a division): its text, trailing zeros dropped
                s = f"CAST({sql} AS VARCHAR)"
                body = f"(CASE WHEN contains({s}, '.') THEN rtrim(rtrim({s}, '0'), '.') ELSE {s} END) || {quote_str(self.ctx.units.carried)}"
        elif t == Type.NUMBER:
            s = f"CAST({sql} AS VARCHAR)"
            body = f"(CASE WHEN contains({s}, '.') AND NOT contains({s}, 'e') THEN rtrim(rtrim({s}, '0'), '.') ELSE {s} END)"
        elif t == Type.DATE:
            body = f"strftime({sql}, '%Y-%m-%d')"
        elif t == Type.BOOL:
            body = f"(CASE WHEN {sql} THEN '是' WHEN NOT {sql} THEN '否' END)"
        else:
            body = f"CAST({sql} AS VARCHAR)"
        return f"COALESCE({body}, '空')"

    def message(self, parts: list, fallback: str) -> str:
        if not parts:
            return quote_str(fallback)
        pieces = [quote_str(p) if isinstance(p, str) else self.text(p) for p in parts]
        return "concat(" + ", ".join(pieces) + ")"
