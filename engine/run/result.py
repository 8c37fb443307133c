"""The result of a run: findings, tasks, assessments, and the manifest to reproduce it."""
from __future__ import annotations

import io
import platform
import uuid
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date

import duckdb
import orjson

from engine.data.dictionary import Dictionary
from engine.policy.model import Policy
from engine.run.rows import (FINDING_KEYS, REGION_TASK_KEYS, TASK_KEYS, AssessmentRow, Finding, RegionTask, Task,
                              json_item_sql)
from engine.version import __version__

SEVERITY_WORDS = {"error": "错误", "warning": "警告", "info": "提示"}  # for people (text, xlsx, html reports)


# The orders of the JSON contract ("the same input gives the same bytes"): findings by patch, rule and row;
# tasks by level (省级 first), a level's patch tasks by patch, rule and row, then its region tasks as assessed.
FINDINGS_ORDER = "patch, rule, _rid, _tie"
TASKS_ORDER = "_rank, kind = 'region_task', patch, rule, _rid, _ord"
EXPORT_COLUMNS = "kind, year, patch, region, rule, severity, level, action, cite, message, source, line"


class ResultRows:
    """Every finding and task of a run, kept in DuckDB: the view `view` of the run's (sandboxed) connection,
    engine.run.runner.results_sql. Reports fetch only what they show; exports read Arrow batches; counts are
    GROUP BYs. Nothing here holds all rows in Python."""

    def __init__(self, con: duckdb.DuckDBPyConnection, view: str):
        self.con, self.view = con, view

    @property
    def sql(self) -> str:
        """Every finding and task for --output results.parquet / .jsonl: kind (finding, task, region_task), year,
        patch, region, rule, severity, level, action, cite, message, source, line."""
        return f"SELECT {EXPORT_COLUMNS} FROM {self.view} ORDER BY kind, COALESCE(_rid, _ord), rule, _tie"

    def reader(self, batch_rows: int = 65536, sql: str | None = None):
        """A pyarrow RecordBatchReader over the rows (of `sql`, default: the export's)."""
        return self.con.sql(sql or self.sql).to_arrow_reader(batch_rows)

    def counts(self) -> dict[str, int]:
        """Rows by kind."""
        return dict(self.con.execute(f"SELECT kind, count(*) FROM {self.view} GROUP BY 1 ORDER BY 1").fetchall())

    def findings(self, limit: int | None = None, where: str = "TRUE") -> list[Finding]:
        """Findings in the contract's order (the first `limit` of them), messages rendered for these rows only."""
        rows = self.con.execute(
            f"SELECT patch, rule, severity, message, cite, source, line FROM {self.view} "
            f"WHERE kind = 'finding' AND ({where}) ORDER BY {FINDINGS_ORDER}{_limit(limit)}").fetchall()
        return [Finding(*r) for r in rows]

    def tasks(self, limit: int | None = None, kinds: tuple[str, ...] = ("task", "region_task")) -> list[Task | RegionTask]:
        rows = self.con.execute(
            f"SELECT kind, patch, region, rule, level, action, cite, message, source, line FROM {self.view} "
            f"WHERE kind IN ({', '.join(repr(k) for k in kinds)}) ORDER BY {TASKS_ORDER}{_limit(limit)}").fetchall()
        return [RegionTask(r[2], *r[3:8]) if r[0] == "region_task" else Task(r[1], *r[3:10]) for r in rows]

    def count_by(self, column: str, kinds: tuple[str, ...], order: str) -> dict[str, int]:
        """{value: rows} of `column` over rows of `kinds`, in the order each value first occurs in `order`."""
        return dict(self.con.execute(
            f"SELECT {column}, count(*) FROM {self.view} WHERE kind IN ({', '.join(repr(k) for k in kinds)}) "
            f"GROUP BY 1 ORDER BY min(({order}))").fetchall())

    def by_rule(self) -> list[tuple[str, str, str, int]]:
        """(rule, severity, cite, findings) for each rule with findings, most findings first."""
        return self.con.execute(f"SELECT rule, any_value(severity), any_value(cite), count(*) AS n FROM {self.view} "
                                f"WHERE kind = 'finding' GROUP BY 1 ORDER BY n DESC, rule").fetchall()

    def has_errors(self) -> bool:
        return self.con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {self.view} "
                                f"WHERE kind = 'finding' AND severity = 'error' LIMIT 1)").fetchone()[0] > 0

    def write_json_items(self, write, kind: str, batch_rows: int = 8192) -> None:
        """The JSON list of the findings (kind "finding") or tasks ("task": patches' and regions'), written as
        orjson's OPT_INDENT_2 writes it at depth 1, batch by batch: DuckDB renders each item's text."""
        if kind == "finding":
            item, where, order = json_item_sql(FINDING_KEYS), "kind = 'finding'", FINDINGS_ORDER
        else:
            item = f"CASE WHEN kind = 'region_task' THEN {json_item_sql(REGION_TASK_KEYS)} ELSE {json_item_sql(TASK_KEYS)} END"
            where, order = "kind IN ('task', 'region_task')", TASKS_ORDER
        reader = self.reader(batch_rows, f"SELECT {item} FROM {self.view} WHERE {where} ORDER BY {order}")
        first = True
        for batch in reader:
            if batch.num_rows == 0:
                continue
            write((b"[\n" if first else b",\n") + ",\n".join(batch.column(0).to_pylist()).encode())
            first = False
        write(b"[]" if first else b"\n  ]")


def _limit(n: int | None) -> str:
    return "" if n is None else f" LIMIT {int(n)}"


@dataclass
class Result:
    """One run. Findings and tasks stay in DuckDB (rows); `findings` and `tasks` fetch them all as Python objects
    (fine for a county's file and for tests), the CLI's outputs stream them instead."""

    policies: dict[int, Policy]
    dictionary: Dictionary  # the one the policies were checked against and the data normalized with
    input: dict
    as_of: date
    rows: ResultRows | None = field(default=None, repr=False, compare=False)  # every finding and task, in DuckDB
    assessments: list[AssessmentRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    not_evaluated: list = field(default_factory=list)  # engine.run.partial.NotEvaluated (--allow-missing)
    waived: object | None = None  # engine.run.waivers.Waived (--waivers): findings set aside, waivers not applied

    @cached_property
    def findings(self) -> list[Finding]:
        return self.rows.findings() if self.rows is not None else []

    @cached_property
    def tasks(self) -> list[Task | RegionTask]:
        """By level (省级 first), patches' and regions'."""
        return self.rows.tasks() if self.rows is not None else []

    @property
    def exit_code(self) -> int:
        """0: no error finding; 1: error findings, or a run that left rules out (--allow-missing) — never 0 then."""
        return 1 if self.not_evaluated or (self.rows is not None and self.rows.has_errors()) else 0

    def assessments_of(self, level: str | None = None) -> list[AssessmentRow]:
        """The assessment rows of one level (all when None)."""
        return [a for a in self.assessments if level is None or a.level == level]

    @property
    def region_tasks(self) -> list[RegionTask]:
        """The tasks an assessment gave to a region (not to a patch)."""
        return self.rows.tasks(kinds=("region_task",)) if self.rows is not None else []

    def assessments_json(self, level: str | None = None) -> dict:
        """The assessment output (weipian assess --format json): the run's provenance, the rows of `level`, the region tasks."""
        doc = self._head()
        out = {k: doc[k] for k in ("policy", "policies", "input", "run")}
        out["assessments"] = [a.to_json() for a in self.assessments_of(level)]
        out["tasks"] = [t.to_json() for t in self.region_tasks]
        if self.not_evaluated:
            out["not_evaluated"] = [x.to_json() for x in self.not_evaluated]
        return out

    def catalog(self) -> list[dict]:
        out = []
        for year in sorted(self.policies):
            for item in self.policies[year].catalog():
                out.append({**item, "year": year})
        return out

    def summary(self) -> dict:
        """Findings by severity and by rule, tasks by level: GROUP BYs, keys in the order they first occur in the
        findings and tasks."""
        if self.rows is None:
            return {"findings_by_severity": {}, "findings_by_rule": {}, "tasks_by_level": {}}
        return {
            "findings_by_severity": self.rows.count_by("severity", ("finding",), FINDINGS_ORDER),
            "findings_by_rule": self.rows.count_by("rule", ("finding",), FINDINGS_ORDER),
            "tasks_by_level": self.rows.count_by("level", ("task", "region_task"), TASKS_ORDER),
        }

    def _policy_json(self, p: Policy) -> dict:
        return {"year": p.year, "title": p.title, "source": p.source, "digest": p.digest}

    def _head(self) -> dict:
        """The document up to its summary (no findings or tasks)."""
        years = sorted(self.policies)
        if len(years) == 1:
            policy = self._policy_json(self.policies[years[0]])
        else:
            policy = {"years": years, "source": "；".join(self.policies[y].source for y in years),
                      "digest": "；".join(self.policies[y].digest for y in years)}
        files = {}
        for y in years:
            files.update(self.policies[y].file_hashes)
        return {
            "policy": policy,
            "policies": [self._policy_json(self.policies[y]) for y in years],
            "input": self.input,
            "run": {
                "as_of": self.as_of.isoformat(),
                "engine": __version__,
                "duckdb": duckdb.__version__,
                "python": platform.python_version(),
                "policy_files": dict(sorted(files.items())),
            },
            "summary": self.summary(),
        }

    def document(self, findings, tasks) -> dict:
        """The document with the given findings and tasks lists (or placeholders) in their places."""
        out = {**self._head(), "findings": findings, "tasks": tasks,
               "assessments": [a.to_json() for a in self.assessments], "warnings": self.warnings}
        if self.not_evaluated:  # only in a --allow-missing run that left something out
            out["not_evaluated"] = [x.to_json() for x in self.not_evaluated]
        if self.waived is not None:  # only with --waivers: 已说明 findings (not in findings or counts) and problems
            out["waived"] = self.waived.to_json()
        return out

    def to_json(self) -> dict:
        """The whole document as Python objects (every finding and task: for small runs, tests and the reports)."""
        return self.document([f.to_json() for f in self.findings], [t.to_json() for t in self.tasks])

    def write_json(self, write) -> None:
        """Write the JSON document through write(bytes), encoded once and incrementally: the findings and tasks
        are streamed from DuckDB batch by batch, never held whole. Same bytes as dumps_indented(to_json())."""
        slots = {kind: f"@weipian-{kind}-{uuid.uuid4().hex}@" for kind in ("finding", "task")}
        text = orjson.dumps(self.document(slots["finding"], slots["task"]), option=_JSON_OPTIONS, default=str)
        before, rest = text.split(orjson.dumps(slots["finding"]), 1)
        between, after = rest.split(orjson.dumps(slots["task"]), 1)
        write(before)
        for kind, tail in (("finding", between), ("task", after)):
            if self.rows is None:
                write(b"[]")
            else:
                self.rows.write_json_items(write, kind)
            write(tail)

    def dumps(self) -> str:
        """The JSON document (the layout of json.dumps(indent=2, ensure_ascii=False), see dumps_indented)."""
        buf = io.BytesIO()
        self.write_json(buf.write)
        return buf.getvalue().decode()


_JSON_OPTIONS = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS


def dumps_indented(obj) -> str:
    """The JSON contract as text: two-space indent, UTF-8 as is, anything else (dates, Decimals) as str — the
    layout of json.dumps(indent=2, ensure_ascii=False), encoded by orjson (several times faster than the stdlib's
    pure-Python indenting encoder). Numbers are the same values; a tiny float may be written 0.00001, not 1e-05."""
    return orjson.dumps(obj, option=_JSON_OPTIONS, default=str).decode()
