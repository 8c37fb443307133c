"""What names mean where an expression is written: the scope an expression is checked in, the symbols a caller
provides for its names, and the problems checking reports (positions are offsets into the scope's text)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from engine.lang import ast
from engine.lang.types import Type

# names the language itself defines
BUILTINS = {"评估日期": Type.DATE}  # the evaluation date (--as-of)
ASSESSMENT_BUILTINS = {"评估级别": Type.STRING}  # the level a region is assessed at


@dataclass(frozen=True)
class Symbol:
    """A name a caller defines. `kind` is field | def | param | broken (defined but unusable, already reported);
    the resolved node gets `ref = (kind, target)`."""

    kind: str
    target: object
    type: Type
    levels: tuple[str, ...] | None = None  # a per-level parameter: the levels it has values for
    choices: tuple[str, ...] = ()  # an enumerated field: its allowed values
    never_negative: bool = False  # a field that cannot be below 0 (areas, counts)


class Names(Protocol):
    def lookup(self, name: str) -> Symbol | None: ...

    def candidates(self) -> list[str]: ...


@dataclass
class Scope:
    text: str  # the source the nodes' offsets point into
    names: Names
    level: str | None = None  # a trigger's level: per-level parameters resolve to it
    dynamic_level: bool = False  # assessments: per-level parameters resolve per row
    aggregates: bool = False
    values: dict[str, Type] = field(default_factory=dict)  # assessment-local names -> type

    def with_text(self, text: str) -> "Scope":
        return Scope(text, self.names, self.level, self.dynamic_level, self.aggregates, self.values)


@dataclass
class Problem:
    """A diagnostic found in an expression; `node` is None for the whole text."""

    code: str
    message: str
    text: str
    node: ast.Node | None = None
    help: str | None = None
    severity: str = "error"
