"""AST of the policy DSL: one small dataclass per node; every node knows its span in the source."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal


@dataclass(eq=False)
class Node:
    start: int = field(default=0, kw_only=True)
    end: int = field(default=0, kw_only=True)
    type: str | None = field(default=None, kw_only=True, repr=False)  # set by the checker
    enum: tuple[str, ...] | None = field(default=None, kw_only=True, repr=False)

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
    ref: object = field(default=None, kw_only=True, repr=False)  # set by the checker


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
