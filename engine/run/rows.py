"""The typed rows of a run: findings, tasks (of a patch or of a region) and assessment results. Each serialises
to its row of the JSON contract (to_json), keys in contract order."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Finding:
    """A row rule that fired on a patch, or a 数据格式 problem of a row."""

    patch: str | None
    rule: str
    severity: str  # error | warning | info
    message: str
    cite: str

    def to_json(self) -> dict:
        return {"patch": self.patch, "rule": self.rule, "severity": self.severity, "message": self.message, "cite": self.cite}


@dataclass
class Task:
    """A trigger that fired on a patch: who (level) checks it and how (action)."""

    patch: str | None
    rule: str
    level: str
    action: str
    cite: str
    message: str

    region = None  # a patch's task names no region

    def to_json(self) -> dict:
        return {"patch": self.patch, "rule": self.rule, "level": self.level, "action": self.action, "cite": self.cite,
                "message": self.message}


@dataclass
class RegionTask:
    """The task an assessment gives to a flagged region (its `task:`)."""

    region: str
    rule: str
    level: str
    action: str
    cite: str
    message: str

    patch = None  # a region's task names no patch

    def to_json(self) -> dict:
        return {"patch": None, "region": self.region, "rule": self.rule, "level": self.level, "action": self.action,
                "cite": self.cite, "message": self.message}


@dataclass
class AssessmentRow:
    """One assessment's result for one region (at one level) and period."""

    rule: str
    kind: str
    level: str
    region: str
    name: str | None  # the region's name, when the region table knows it
    period: str
    values: dict  # numerator, denominator, ratio, deductions {id: {...}}, values, thresholds: by name
    flagged: bool | None  # None: not evaluated (a region fact it needs was not given; see not_evaluated)
    cite: str
    not_evaluated: str | None = None  # why the region was not evaluated (未评估), for people

    def to_json(self) -> dict:
        out = {"rule": self.rule, "kind": self.kind, "level": self.level, "region": self.region, "name": self.name,
               "period": self.period, "values": self.values, "flagged": self.flagged, "cite": self.cite}
        if self.not_evaluated is not None:  # only on a row that was not evaluated: flagged is null, never false
            out["not_evaluated"] = self.not_evaluated
        return out
