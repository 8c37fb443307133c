"""engine.lang on its own: no policy, no YAML, no dictionary file; units and names are given by the caller."""
from __future__ import annotations

import ast as pyast
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

import engine.lang
from engine.lang import ast
from engine.lang.compiler import _GENERATORS, Compiler, SqlContext
from engine.lang.functions import FUNCTIONS, SAME
from engine.lang.parser import parse
from engine.lang.scope import Scope, Symbol
from engine.lang.typecheck import _INFER, TypeChecker
from engine.lang.types import Type
from engine.lang.units import Units

UNITS = Units.of({"亩": Decimal(1), "公顷": Decimal(15)})
LEVELS = ("县级", "市级")


class Field:
    def __init__(self, name):
        self.name = name


class Names:
    """A caller's names: two fields and one per-level parameter."""

    def __init__(self):
        self.symbols = {"面积": Symbol("field", Field("面积"), Type.AREA, never_negative=True),
                        "结果": Symbol("field", Field("结果"), Type.STRING, choices=("甲", "乙")),
                        "日期": Symbol("field", Field("日期"), Type.DATE)}

    def lookup(self, name):
        return self.symbols.get(name)

    def candidates(self):
        return list(self.symbols)


def check(text: str, **scope):
    problems = []
    node = parse(text, UNITS)
    t = TypeChecker(UNITS, LEVELS, problems.append).infer(node, Scope(text, Names(), **scope))
    return node, t, problems


def test_every_node_class_has_a_generator_and_an_inference():
    classes = {c for c in vars(ast).values() if isinstance(c, type) and issubclass(c, ast.Node) and c is not ast.Node}
    assert set(_GENERATORS) == classes
    assert set(_INFER) == classes


def test_units_are_the_callers():
    n = parse("2公顷", UNITS)
    assert (n.value, n.unit) == (Decimal(2), "公顷")
    assert Compiler(SqlContext(4, None, units=UNITS)).literal(n) == "CAST('30.0000' AS DECIMAL(18,4))"
    with pytest.raises(Exception):
        parse("2平方米", UNITS)  # not a unit of this table


def test_names_types_and_problems_without_a_policy():
    node, t, problems = check('面积 >= 1公顷 and 结果 == "丙"')
    assert t == Type.BOOL and node.left.left.ref[0] == "field"
    assert [(p.code, p.text[p.node.start:p.node.end]) for p in problems] == [("E041", '"丙"')]
    _, t, problems = check("面职 > 1亩")
    assert t == Type.BOOL and problems[0].code == "E040" and "面积" in problems[0].help
    _, t, problems = check("面积 + 1")
    assert t == Type.ERROR and problems[0].code == "E058" and "1亩" in problems[0].help
    _, _, problems = check("面积 < 0亩")
    assert [(p.code, p.severity) for p in problems] == [("W001", "warning")]


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_each_function_is_typed_and_compiled_from_its_registry_entry(name):
    fn = FUNCTIONS[name]
    sample = {Type.DATE: "日期", Type.NUMBER: "3", Type.AREA: "面积"}
    args = [sample[Type.NUMBER if p == SAME else p] for p in fn.params]
    node, t, problems = check(f"{name}({', '.join(args)})")
    assert not problems
    assert t == (Type.NUMBER if fn.result == SAME else fn.result)
    sql = Compiler(SqlContext(4, date(2024, 6, 30), units=UNITS)).expr(node)
    con = duckdb.connect()
    con.execute("CREATE TABLE patches AS SELECT DATE '2024-02-10' AS \"日期\", CAST(2 AS DECIMAL(18,4)) AS \"面积\"")
    con.execute(f"SELECT {sql} FROM patches").fetchone()
