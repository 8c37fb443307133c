"""The checked, typed policy: parameters, definitions, rules, triggers (what the compiler consumes)."""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from engine.lang import ast
from engine.lang.types import Type
from engine.data.dictionary import Dictionary, Field
from engine.errors import Diagnostic
from engine.policy.marks import YDict, YStr
from engine.policy.thresholds import flag_conditions, ratio_threshold


@dataclass(eq=False)
class Param:
    name: str
    value: ast.Node | None  # literal, when not per level
    by_level: dict[str, ast.Node] | None  # per-level literals
    type: Type
    key: YStr
    cite: str | None = None
    note: str | None = None
    text: str = ""
    raw: object = None  # the value as loaded (marked YAML scalar, or {level: scalar}): where its literals are
    fixed: bool = False  # `fixed: true`: a date (or year) fixed by law, not one of the monitoring year


@dataclass(eq=False)
class Definition:
    name: str
    expr: ast.Node
    text: YStr
    key: YStr
    cite: str | None = None
    note: str | None = None

    @property
    def type(self) -> Type | None:
        return self.expr.type


@dataclass(eq=False)
class Check:
    """A row rule (kind 'rule') or a trigger (kind 'trigger'): evaluated on every patch."""

    id: str
    kind: str
    title: str
    cite: str
    when: ast.Node
    when_text: YStr
    message: list  # str pieces and (ast.Node, YStr, offset) placeholders
    entry: YDict
    severity: str | None = None  # rules
    level: str | None = None  # triggers
    action: str | None = None  # triggers
    waivable: bool = False  # rules: a finding may be set aside with a stated reason (--waivers)
    waiver_cite: str | None = None  # the clause that allows the reasoned exception

    def catalog(self) -> dict:
        out = {"id": self.id, "kind": "规则" if self.kind == "rule" else "触发", "title": self.title, "cite": self.cite, "when": str(self.when_text)}
        if self.kind == "rule":
            out["severity"] = self.severity
        else:
            out["level"], out["action"] = self.level, self.action
        return out


@dataclass(eq=False)
class Policy:
    year: int
    title: str
    source: str
    dir: Path
    files: list[Path]
    digest: str
    file_hashes: dict[str, str]
    dictionary: Dictionary
    params: dict[str, Param]
    definitions: dict[str, Definition]
    rules: list[Check]
    triggers: list[Check]
    assessments: list = field(default_factory=list)  # engine.policy.assessments.Assessment, in file order
    deductions: list = field(default_factory=list)  # engine.policy.assessments.Deduction, in file order
    entry_positions: dict[str, int] = field(default_factory=dict)  # assessment/deduction id -> place in the file(s)
    fields_used: set[str] = field(default_factory=set)
    warnings: list[Diagnostic] = field(default_factory=list)
    region: str | None = None

    def __repr__(self) -> str:
        return f"Policy({self.year}, {self.source}, rules={len(self.rules)}, triggers={len(self.triggers)}, assessments={len(self.assessments)}, deductions={len(self.deductions)})"

    @property
    def checks(self) -> list[Check]:
        return [*self.rules, *self.triggers]

    def field(self, name: str) -> Field | None:
        return self.dictionary.lookup(name)

    def assessment_entries(self) -> list:
        """Assessments and deductions in the order the policy files list them."""
        return sorted([*self.assessments, *self.deductions], key=lambda x: self.entry_positions.get(x.id, 0))

    def catalog(self) -> list[dict]:
        """Every entry for people (reports): rules, triggers, then assessments (with the ratio threshold their flag
        compares with, when there is one) and deductions in file order."""
        items = [c.catalog() for c in self.checks]
        for x in self.assessment_entries():
            item = x.catalog()
            if x in self.assessments and (t := ratio_threshold(x)) is not None:
                item["ratio_threshold"] = t
            if x in self.assessments and (conditions := flag_conditions(x)):
                item["conditions"] = conditions
            items.append(item)
        return items
