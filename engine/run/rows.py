"""The typed rows of a run: findings, tasks (of a patch or of a region) and assessment results. Each serialises
to its row of the JSON contract (to_json), keys in contract order; the same rows are written by DuckDB as JSON
text (json_item_sql), byte for byte what to_json gives after indenting, for runs too large for Python objects."""
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
    source: str | None = None  # the file the patch was read from (within a folder input: its name there)
    line: int | None = None  # the patch's row in that file

    def to_json(self) -> dict:
        return {"patch": self.patch, "rule": self.rule, "severity": self.severity, "message": self.message,
                "cite": self.cite, "source": self.source, "line": self.line}


@dataclass
class Task:
    """A trigger that fired on a patch: who (level) checks it and how (action)."""

    patch: str | None
    rule: str
    level: str
    action: str
    cite: str
    message: str
    source: str | None = None
    line: int | None = None

    region = None  # a patch's task names no region

    def to_json(self) -> dict:
        return {"patch": self.patch, "rule": self.rule, "level": self.level, "action": self.action, "cite": self.cite,
                "message": self.message, "source": self.source, "line": self.line}


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


# The JSON items as columns of the run's result view (engine.run.runner): key, column, "str" or "int", in the
# order of to_json above. A region task has no source or line.
FINDING_KEYS = [("patch", "str"), ("rule", "str"), ("severity", "str"), ("message", "str"), ("cite", "str"),
                ("source", "str"), ("line", "int")]
TASK_KEYS = [("patch", "str"), ("rule", "str"), ("level", "str"), ("action", "str"), ("cite", "str"),
             ("message", "str"), ("source", "str"), ("line", "int")]
REGION_TASK_KEYS = [("patch", "str"), ("region", "str"), ("rule", "str"), ("level", "str"), ("action", "str"),
                    ("cite", "str"), ("message", "str")]

# to_json escapes control characters with upper-case hex (\u001B); Python's json and orjson with lower case
_UPPER_HEX = [0x0B, 0x0E, 0x0F, *range(0x1A, 0x20)]


def json_text_sql(expr: str, kind: str) -> str:
    """SQL giving `expr` as JSON text, as json.dumps(ensure_ascii=False) writes it ('null' for NULL)."""
    if kind == "int":
        return f"COALESCE(CAST({expr} AS VARCHAR), 'null')"
    fixed = f"to_json({expr})::VARCHAR"
    for c in _UPPER_HEX:
        fixed = f"replace({fixed}, '\\u{c:04X}', '\\u{c:04x}')"
    return (f"CASE WHEN {expr} IS NULL THEN 'null' WHEN regexp_matches({expr}, '[\\x0b\\x0e\\x0f\\x1a-\\x1f]') "
            f"THEN {fixed} ELSE to_json({expr})::VARCHAR END")


def json_item_sql(keys: list[tuple[str, str]], indent: int = 4) -> str:
    """SQL text of one item of a list at depth 2 of the document, indented as orjson's OPT_INDENT_2 writes it."""
    pad, inner = " " * indent, " " * (indent + 2)
    parts = [f"'{pad}{{\n'"]
    for n, (key, kind) in enumerate(keys):
        sep = "," if n < len(keys) - 1 else ""
        parts.append(f"'{inner}\"{key}\": '")
        parts.append(json_text_sql(key, kind))
        parts.append(f"'{sep}\n'")
    parts.append(f"'{pad}}}'")
    return " || ".join(parts)


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
