"""What a policy change does: entries, parameters and definitions added/removed/changed, and on data, which patches
gain or lose findings and tasks and which regions' assessments change. Both policies run on one normalized table."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from engine.policy.loader import SECTIONS, PolicySource, load_source
from engine.policy.model import Policy

NOT_EVALUATED = "未评估"  # a result whose region fact was not given (flagged null)


def plain(value):
    """YAML values with marks -> plain Python (str/int/float/bool/list/dict); dates as ISO text."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return str(value)


def show(value) -> str:
    """A value as written in a policy file."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {show(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(show(v) for v in value) + "]"
    if value is True:
        return "true"
    if value is False:
        return "false"
    return "空" if value is None else str(value)


@dataclass
class Change:
    kind: str  # rules | triggers | assessments | parameters | definitions
    id: str
    status: str  # added | removed | changed
    title: str = ""
    changes: list[tuple[str, object, object]] = field(default_factory=list)  # (key, before, after)

    def to_json(self) -> dict:
        out = {"kind": self.kind, "id": self.id, "status": self.status, "title": self.title}
        if self.changes:
            out["changes"] = [{"key": k, "before": b, "after": a} for k, b, a in self.changes]
        return out


def _table(src: PolicySource, kind: str) -> dict[str, dict]:
    if kind in SECTIONS:
        return {str(e["id"]): {k: plain(v) for k, v in e.items() if k != "override"} for e in src.entries[kind]}
    raw = src.parameters if kind == "parameters" else src.definitions
    key = "value" if kind == "parameters" else "expr"
    return {name: (plain(v) if isinstance(v, dict) and key in v else {key: plain(v)}) for name, v in raw.items()}


def policy_changes(old: PolicySource, new: PolicySource) -> list[Change]:
    out: list[Change] = []
    for kind in (*SECTIONS, "parameters", "definitions"):
        a, b = _table(old, kind), _table(new, kind)
        for i in [*a, *(k for k in b if k not in a)]:
            title = str((b.get(i) or a.get(i) or {}).get("title", ""))
            if i not in b:
                out.append(Change(kind, i, "removed", title))
            elif i not in a:
                out.append(Change(kind, i, "added", title))
            elif a[i] != b[i]:
                keys = [*a[i], *(k for k in b[i] if k not in a[i])]
                out.append(Change(kind, i, "changed", title, [(k, a[i].get(k), b[i].get(k)) for k in keys if a[i].get(k) != b[i].get(k)]))
    return out


@dataclass
class DataDiff:
    gained_findings: list[dict]
    lost_findings: list[dict]
    gained_tasks: list[dict]
    lost_tasks: list[dict]
    assessments: list[dict]  # {rule, level, region, period, flagged: [before, after], values: {k: [before, after]}}
    meta: dict

    def to_json(self) -> dict:
        return {
            "input": self.meta,
            "counts": {"findings_gained": len(self.gained_findings), "findings_lost": len(self.lost_findings),
                       "tasks_gained": len(self.gained_tasks), "tasks_lost": len(self.lost_tasks),
                       "assessments_changed": len(self.assessments),
                       "flagged_in": sum(1 for a in self.assessments if a["flagged"] == [False, True]),
                       "flagged_out": sum(1 for a in self.assessments if a["flagged"] == [True, False])},
            "findings": {"gained": self.gained_findings, "lost": self.lost_findings},
            "tasks": {"gained": self.gained_tasks, "lost": self.lost_tasks},
            "assessments": self.assessments,
        }


FINDING_KEY = ("patch", "rule")
TASK_KEY = ("patch", "region", "rule", "level", "action")  # region tasks (from assessments) have no patch
ASSESS_KEY = ("rule", "level", "region", "period")


def _delta(before: list[dict], after: list[dict], key: tuple[str, ...]) -> tuple[list[dict], list[dict]]:
    k = lambda x: tuple(str(x.get(f)) for f in key)  # noqa: E731
    a, b = {k(x): x for x in before}, {k(x): x for x in after}
    return [b[i] for i in b if i not in a], [a[i] for i in a if i not in b]


def _flat(values: dict, prefix: str = "") -> dict:
    """Nested assessment values ({"deductions": {id: {"patches": 1}}}) as dotted keys; labels (title, effect) left out."""
    out = {}
    for k, v in values.items():
        if isinstance(v, dict):
            out.update(_flat(v, f"{prefix}{k}."))
        elif k not in ("title", "effect"):
            out[prefix + k] = v
    return out


def _flag(row: dict):
    """A result's flag for the diff: True/False, NOT_EVALUATED (a region fact not given), None when absent."""
    if not row:
        return None
    return NOT_EVALUATED if row.get("flagged") is None else bool(row["flagged"])


def _assessment_delta(before: list[dict], after: list[dict], params: set[str]) -> list[dict]:
    """Regions whose flag or values changed. Parameter values shown with each result (thresholds) are left out:
    they are the same for every region and the parameter change itself is listed with the policy changes."""
    k = lambda x: tuple(str(x.get(f)) for f in ASSESS_KEY)  # noqa: E731
    a, b = {k(x): x for x in before}, {k(x): x for x in after}
    out = []
    for i in [*a, *(j for j in b if j not in a)]:
        x, y = a.get(i) or {}, b.get(i) or {}
        fa, fb = _flag(x), _flag(y)
        va, vb = _flat(x.get("values") or {}), _flat(y.get("values") or {})
        names = [n for n in [*va, *(m for m in vb if m not in va)] if n.split("[")[0] not in params]
        values = {n: [va.get(n), vb.get(n)] for n in names if va.get(n) != vb.get(n)}
        if fa != fb or values:
            out.append({**{f: (y or x).get(f) for f in ASSESS_KEY}, "flagged": [fa, fb], "values": values})
    return out


def data_diff(data, old: dict[int, Policy], new: dict[int, Policy], *, as_of=None, year=None, sheet=None,
              encoding=None) -> DataDiff:
    from engine.run.runner import check_variants

    before, after = check_variants(data, [old, new], as_of=as_of, year=year, sheet=sheet, encoding=encoding)
    rows = lambda items: [x.to_json() for x in items]  # noqa: E731  the diff compares rows of the JSON contract
    gf, lf = _delta(rows(before.findings), rows(after.findings), FINDING_KEY)
    gt, lt = _delta(rows(before.tasks), rows(after.tasks), TASK_KEY)
    meta = {"path": before.input.get("path"), "rows": before.input.get("rows"), "checked": before.input.get("checked"),
            "rejected": before.input.get("rejected"), "as_of": before.as_of.isoformat()}
    params = {n for p in (*old.values(), *new.values()) for n in p.params}
    return DataDiff(gf, lf, gt, lt, _assessment_delta(rows(before.assessments), rows(after.assessments), params), meta)


def across_years(old: dict[int, Policy], new: dict[int, Policy]) -> bool:
    """Two single policies of different years (policies/2023 against policies/2024): the new year is compared with
    the year it follows, rule by rule and parameter by parameter, through `extends`."""
    return len(old) == 1 and len(new) == 1 and set(old) != set(new)


def pair_sources(old: dict[int, Policy], new: dict[int, Policy]) -> list[tuple[int, int, PolicySource | None, PolicySource | None]]:
    """(old year, new year, old source, new source) for each year to compare; a side is None when that year is absent."""
    if across_years(old, new):
        (a_year, a), = old.items()
        (b_year, b), = new.items()
        return [(a_year, b_year, load_source(a.dir), load_source(b.dir))]
    years = sorted(set(old) | set(new))
    return [(y, y, load_source(old[y].dir) if y in old else None, load_source(new[y].dir) if y in new else None) for y in years]


def as_year_of(old: dict[int, Policy], new: dict[int, Policy]) -> dict[int, Policy]:
    """The old policies keyed for running on the new policies' data: across years, the old year's policy judges the
    new year's rows (what the new year's rules change); otherwise unchanged."""
    if across_years(old, new):
        year = next(iter(new))
        return {year: replace(next(iter(old.values())), year=year)}
    return old


def by_rule(items: list[dict]) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for x in items:
        out.setdefault(str(x["rule"]), []).append(x)
    return out
