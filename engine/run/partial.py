"""Files that lack some columns a policy reads: which rules need each missing column, and with --allow-missing
the part of the policy that can run on the file, and every entry left out with the columns it lacks.

A rule or trigger is left out when its condition or message reads a missing field (through definitions); an
assessment when it or one of its deductions does, or when it rolls up an assessment that was left out. Leaving
out a deduction alone would change its assessment's numbers, so the assessment goes with it."""
from __future__ import annotations

from dataclasses import dataclass, replace

from engine.policy.check import fields_of
from engine.policy.model import Check, Policy


@dataclass
class NotEvaluated:
    year: int
    rule: str
    kind: str  # 规则 | 触发 | 评估
    title: str
    missing: list[str]  # the fields it reads that the file lacks (or the assessments it rolls up)

    def line(self) -> str:
        return f"未检查：{self.year}年 {self.kind} {self.rule}（{self.title}）缺少 {'、'.join(self.missing)}"

    def to_json(self) -> dict:
        return {"year": self.year, "rule": self.rule, "kind": self.kind, "title": self.title, "missing": self.missing}


def _check_fields(c: Check) -> set[str]:
    return fields_of([c.when, *(n for n in c.message if not isinstance(n, str))])


def needed_by(policy: Policy) -> dict[str, list[str]]:
    """Field -> ids of the rules, triggers and assessments that read it."""
    out: dict[str, list[str]] = {}
    for c in policy.checks:
        for f in sorted(_check_fields(c)):
            out.setdefault(f, []).append(c.id)
    for a in policy.assessments:
        for f in sorted(fields_of(a.nodes())):
            out.setdefault(f, []).append(a.id)
    return out


def without_missing(policy: Policy, missing: set[str]) -> tuple[Policy, list[NotEvaluated]]:
    """The policy with every entry that reads a missing field left out, and what was left out."""
    dropped: list[NotEvaluated] = []
    kept: dict[str, list[Check]] = {"rule": [], "trigger": []}
    for c in policy.checks:
        lacks = sorted(_check_fields(c) & missing)
        if lacks:
            dropped.append(NotEvaluated(policy.year, c.id, "规则" if c.kind == "rule" else "触发", c.title, lacks))
        else:
            kept[c.kind].append(c)
    assessments, gone = [], set()
    for a in policy.assessments:  # file order: a rollup names an earlier assessment
        lacks = sorted(fields_of(a.nodes()) & missing) + sorted({r.of for r in a.rollups} & gone)
        if lacks:
            gone.add(a.id)
            dropped.append(NotEvaluated(policy.year, a.id, "评估", a.title, lacks))
        else:
            assessments.append(a)
    deductions = [x for x in policy.deductions if x.of not in gone]
    return replace(policy, rules=kept["rule"], triggers=kept["trigger"], assessments=assessments,
                   deductions=deductions), dropped
