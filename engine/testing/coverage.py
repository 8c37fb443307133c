"""Policy test coverage: is each rule/trigger/assessment/deduction asserted both ways by the policy's test cases?

An item is covered when some case names it as expected to fire (`fires:`; for an assessment `flagged: true`; for a
deduction, asserted values of a result it deducted from) and some case names it as expected not to fire. Firing by
accident in a case that asserts something else does not count."""
from __future__ import annotations

from dataclasses import dataclass

from engine.policy.model import Policy
from engine.testing.cases import CaseResult

KIND_WORDS = {"rule": "规则", "trigger": "触发", "assessment": "评估", "deduction": "扣除"}


@dataclass
class CoverageItem:
    id: str
    kind: str  # rule | trigger | assessment | deduction
    title: str
    where: str  # file:line of the entry
    fired: bool = False  # some case asserts that it fires (assessments: a region flagged; deductions: a patch removed)
    silent: bool = False  # some case asserts that it does not fire

    @property
    def covered(self) -> bool:
        return self.fired and self.silent

    def missing(self) -> str:
        parts = []
        if not self.fired:
            parts.append("没有用例断言它触发")
        if not self.silent:
            parts.append("没有用例断言它不触发")
        return "；".join(parts)

    def to_json(self) -> dict:
        return {"id": self.id, "kind": self.kind, "title": self.title, "where": self.where, "fired": self.fired,
                "silent": self.silent, "covered": self.covered}


def _where(entry) -> str:
    if entry is None or getattr(entry, "file", None) is None:
        return ""
    return f"{entry.file}:{entry.line}"


def items_of(policy: Policy) -> list[CoverageItem]:
    out = [CoverageItem(c.id, c.kind, c.title, _where(c.entry)) for c in policy.checks]
    out += [CoverageItem(x.id, "deduction" if x in policy.deductions else "assessment", x.title, _where(x.entry))
            for x in policy.assessment_entries()]
    return out


def coverage(policy: Policy, results: list[CaseResult]) -> list[CoverageItem]:
    items = items_of(policy)
    for item in items:
        item.fired = any(True in r.asserted.get(item.id, ()) for r in results)
        item.silent = any(False in r.asserted.get(item.id, ()) for r in results)
    return items


def percent(items: list[CoverageItem]) -> float:
    return 100.0 if not items else 100.0 * sum(i.covered for i in items) / len(items)
