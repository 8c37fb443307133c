"""AST of the policy DSL: one small dataclass per node; every node knows its span in the source."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from engine.lang.types import Type


@dataclass(eq=False)
class Node:
    start: int = field(default=0, kw_only=True)
    end: int = field(default=0, kw_only=True)
    type: Type | None = field(default=None, kw_only=True, repr=False)  # set by the type checker

    def children(self) -> list["Node"]:
        return []


@dataclass(eq=False)
class Number(Node):
    value: Decimal
    unit: str | None = None  # 亩 平方米 公顷 % or None
    text: str = ""


@dataclass(eq=False)
class String(Node):
    value: str


@dataclass(eq=False)
class DateLit(Node):
    value: date


@dataclass(eq=False)
class Bool(Node):
    value: bool


@dataclass(eq=False)
class Null(Node):
    pass


@dataclass(eq=False)
class Name(Node):
    name: str
    ref: tuple | None = field(default=None, kw_only=True, repr=False)  # (kind, target), set by the type checker


@dataclass(eq=False)
class Index(Node):
    name: Name
    key: str

    def children(self):
        return [self.name]


@dataclass(eq=False)
class Call(Node):
    func: str
    args: list[Node]

    def children(self):
        return list(self.args)


@dataclass(eq=False)
class Aggregate(Node):
    func: str  # sum | count
    arg: Node | None
    where: Node | None

    def children(self):
        return [n for n in (self.arg, self.where) if n is not None]


@dataclass(eq=False)
class Unary(Node):
    op: str  # not | neg
    operand: Node

    def children(self):
        return [self.operand]


@dataclass(eq=False)
class Binary(Node):
    op: str  # and or == != < <= > >= + - * /
    left: Node
    right: Node

    def children(self):
        return [self.left, self.right]


@dataclass(eq=False)
class InList(Node):
    operand: Node
    items: list[Node]
    negate: bool = False

    def children(self):
        return [self.operand, *self.items]


@dataclass(eq=False)
class IsNull(Node):
    operand: Node
    negate: bool = False

    def children(self):
        return [self.operand]


@dataclass(eq=False)
class If(Node):
    cond: Node
    then: Node
    else_: Node

    def children(self):
        return [self.cond, self.then, self.else_]


def walk(node: Node):
    yield node
    for child in node.children():
        yield from walk(child)


def sexpr(node: Node) -> str:
    """A compact S-expression of a tree, e.g. (and (>= a 100) (in b ['x'])): for tests and debugging."""
    return _PRINT[type(node)](node)


def _opt(node: Node | None) -> str:
    return sexpr(node) if node is not None else "_"


_PRINT = {
    Number: lambda n: f"{n.value}{n.unit or ''}",
    String: lambda n: repr(n.value),
    DateLit: lambda n: f"#{n.value.isoformat()}",
    Bool: lambda n: "是" if n.value else "否",
    Null: lambda n: "null",
    Name: lambda n: n.name,
    Index: lambda n: f"{n.name.name}[{n.key}]",
    Call: lambda n: f"({n.func} {' '.join(sexpr(a) for a in n.args)})".replace(" )", ")"),
    Aggregate: lambda n: f"({n.func} {_opt(n.arg)} {_opt(n.where)})",
    Unary: lambda n: f"({n.op} {sexpr(n.operand)})",
    Binary: lambda n: f"({n.op} {sexpr(n.left)} {sexpr(n.right)})",
    InList: lambda n: f"({'not-in' if n.negate else 'in'} {sexpr(n.operand)} [{' '.join(sexpr(i) for i in n.items)}])",
    IsNull: lambda n: f"({'is-not-null' if n.negate else 'is-null'} {sexpr(n.operand)})",
    If: lambda n: f"(if {sexpr(n.cond)} {sexpr(n.then)} {sexpr(n.else_)})",
}
