"""What the xlsx ledger and the HTML page read from a run, whatever holds it: a JSON document (small runs, tests,
one county of --split-by) or a Result whose findings and tasks stay in DuckDB. Counts come whole (GROUP BYs for a
Result); findings and tasks come as an iterator in the report's order (by region), fetched batch by batch, with
their messages rendered only for the rows fetched."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from engine.lang.quoting import quote_str
from engine.report.tables import row_region
from engine.run.result import Result
from engine.run.rows import FINDING_KEYS, REGION_TASK_KEYS, TASK_KEYS

# A run with at most this many findings (tasks) has them fetched once and kept for every report that lists them
# (the ledger and the page: one query each instead of two); a bigger one streams them batch by batch to each.
KEEP_ITEMS = 2000
FINDING_CONTRACT = [k for k, _ in FINDING_KEYS]
TASK_CONTRACT = list(dict.fromkeys([k for k, _ in TASK_KEYS] + [k for k, _ in REGION_TASK_KEYS]))


@dataclass
class ReportData:
    """doc: the run's document without its findings and tasks (policy, input, run, assessments, warnings …).
    findings(limit) / tasks(limit): items (JSON contract dicts) in the report's order — findings by region, then
    as the contract orders them; tasks by level, region, patch, rule, action — at most `limit` of them."""

    doc: dict
    findings_total: int
    by_severity: dict[str, int]
    by_rule: list[tuple[str, str | None, int]]  # (rule, severity, findings), most findings first
    tasks_total: int
    tasks_by_level: dict[str, int]
    tasks_by_action: list[tuple[str, str, int]]  # (level, action, tasks)
    by_region: dict[str, dict] = field(default_factory=dict)  # code -> {"sev": Counter, "tasks": Counter}
    findings: Callable[[int | None], Iterable[dict]] = lambda limit=None: []
    tasks: Callable[[int | None], Iterable[dict]] = lambda limit=None: []
    extras: dict[str, list[str] | None] = field(default_factory=lambda: {"findings": None, "tasks": None})


def from_doc(doc: dict, names: dict[str, str], levels: dict[str, int]) -> ReportData:
    """A document holding every finding and task as Python objects."""
    findings, tasks = doc.get("findings") or [], doc.get("tasks") or []
    regions = [row_region(f, names) for f in findings]
    order = sorted(range(len(findings)), key=lambda i: (regions[i] == "", regions[i]))
    by_region: dict[str, dict] = {}
    for f, code in zip(findings, regions):
        by_region.setdefault(code, {"sev": Counter(), "tasks": Counter()})["sev"][f.get("severity")] += 1
    keyed = [(t, row_region(t, names)) for t in tasks]
    for t, code in keyed:
        by_region.setdefault(code, {"sev": Counter(), "tasks": Counter()})["tasks"][t.get("level")] += 1
    keyed.sort(key=lambda tr: (levels.get(tr[0].get("level"), 9), tr[1] == "", tr[1], str(tr[0].get("patch") or ""),
                               str(tr[0].get("rule", "")), str(tr[0].get("action", ""))))
    sev_of: dict = {}
    for f in findings:
        sev_of.setdefault(f.get("rule"), f.get("severity"))
    by_rule = sorted(Counter(f.get("rule") for f in findings).items(), key=lambda kv: (-kv[1], str(kv[0])))
    by_action = Counter((t.get("level"), t.get("action")) for t in tasks)
    return ReportData(
        doc={k: v for k, v in doc.items() if k not in ("findings", "tasks")},
        findings_total=len(findings), by_severity=dict(Counter(f.get("severity") for f in findings)),
        by_rule=[(rule, sev_of.get(rule), n) for rule, n in by_rule],
        tasks_total=len(tasks), tasks_by_level=dict(Counter(t.get("level") for t in tasks)),
        tasks_by_action=[(lv, action, n) for (lv, action), n in by_action.items()],
        by_region=by_region,
        findings=lambda limit=None: [findings[i] for i in order[:limit]],
        tasks=lambda limit=None: [t for t, _ in keyed[:limit]],
    )


def _region_sql(names: dict[str, str]) -> str:
    """row_region in SQL: the region a region task names, else the county code a 图斑编号 starts with when the
    region table knows it, else ''."""
    known = ", ".join(quote_str(c) for c in sorted(names) if len(c) == 6 and c.isdigit()) or "NULL"
    prefix = "substr(patch, 1, 6)"
    return (f"CASE WHEN kind = 'region_task' THEN COALESCE(region, '') "
            f"WHEN length(patch) > 6 AND {prefix} IN ({known}) THEN {prefix} ELSE '' END")


def from_result(result: Result, names: dict[str, str], levels: dict[str, int], batch_rows: int = 8192) -> ReportData:
    """A run whose findings and tasks stay in DuckDB: counts by GROUP BY, items fetched in batches."""
    doc = {k: v for k, v in result.document([], []).items() if k not in ("findings", "tasks")}
    rows = result.rows
    if rows is None:
        return from_doc(doc, names, levels)
    con, keys, region = rows.con, rows.keys, _region_sql(names)
    summary = doc["summary"]
    by_region: dict[str, dict] = {}
    for code, kind, key, n in con.execute(
            f"SELECT {region} AS r, kind, CASE WHEN kind = 'finding' THEN severity ELSE level END, count(*) "
            f"FROM {keys} GROUP BY ALL").fetchall():
        st = by_region.setdefault(code, {"sev": Counter(), "tasks": Counter()})
        st["sev" if kind == "finding" else "tasks"][key] += n
    by_action = con.execute(f"SELECT level, action, count(*) FROM {keys} WHERE kind <> 'finding' "
                            f"GROUP BY ALL ORDER BY min((_rank, kind = 'region_task', patch, rule, _rid, _ord))").fetchall()

    def stream(columns: list[str], where: str, order: str, total: int):
        kept: list[dict] = []  # every item, when there are at most KEEP_ITEMS: fetched once for the ledger and the page

        def items(limit=None) -> Iterator[dict]:
            if total <= KEEP_ITEMS:
                if len(kept) < total:
                    kept[:] = fetch(None)
                return iter(kept[:limit])
            return fetch(limit)

        def fetch(limit=None) -> Iterator[dict]:
            cols = ", ".join(f"CAST({c} AS VARCHAR) AS {c}" if c == "region" else c for c in columns)
            chosen = f"SELECT *, {region} AS _region FROM {rows.keys} WHERE {where}"
            if limit is not None:  # messages only for the rows listed
                chosen += f" ORDER BY {order} LIMIT {int(limit)}"
            cur = con.execute(f"SELECT kind, {cols} FROM ({rows.with_messages(chosen)}) ORDER BY {order}")
            names = [d[0] for d in cur.description]  # fetched in batches as Python rows: no pyarrow (~0.4 s to import)
            while batch := cur.fetchmany(batch_rows):
                for rec in batch:
                    item = dict(zip(names, rec))
                    if item.pop("kind") == "region_task":
                        yield {k: item[k] for k, _ in REGION_TASK_KEYS}
                    else:
                        yield {k: item[k] for k in columns if k != "region"}
        return items

    findings_total, tasks_total = sum(summary["findings_by_severity"].values()), sum(summary["tasks_by_level"].values())
    findings = stream(FINDING_CONTRACT, "kind = 'finding'", "_region = '', _region, patch, rule, _rid, _tie", findings_total)
    tasks = stream(TASK_CONTRACT, "kind <> 'finding'",
                   "_rank, _region = '', _region, COALESCE(patch, ''), rule, action, _rid, _ord", tasks_total)
    known = {"findings": ("patch", "rule", "severity", "message", "cite", "region"),
             "tasks": ("patch", "rule", "level", "action", "cite", "region")}
    return ReportData(
        doc=doc, findings_total=findings_total,
        by_severity=summary["findings_by_severity"], by_rule=[(r, s, n) for r, s, _, n in rows.by_rule()],
        tasks_total=tasks_total, tasks_by_level=summary["tasks_by_level"],
        tasks_by_action=[tuple(r) for r in by_action], by_region=by_region, findings=findings, tasks=tasks,
        extras={"findings": [k for k in FINDING_CONTRACT if k not in known["findings"]],
                "tasks": [k for k in TASK_CONTRACT if k not in known["tasks"]]},
    )
