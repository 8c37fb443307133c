"""The result of a run: findings, tasks, assessments, and the manifest to reproduce it."""
from __future__ import annotations

import platform
from dataclasses import dataclass, field
from datetime import date

import duckdb
import orjson

from engine.data.dictionary import Dictionary
from engine.policy.model import Policy
from engine.run.rows import AssessmentRow, Finding, RegionTask, Task
from engine.version import __version__

SEVERITY_WORDS = {"error": "错误", "warning": "警告", "info": "提示"}  # for people (text, xlsx, html reports)


@dataclass
class Result:
    policies: dict[int, Policy]
    dictionary: Dictionary  # the one the policies were checked against and the data normalized with
    input: dict
    as_of: date
    findings: list[Finding] = field(default_factory=list)
    tasks: list[Task | RegionTask] = field(default_factory=list)  # by level (省级 first), patches' and regions'
    assessments: list[AssessmentRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    not_evaluated: list = field(default_factory=list)  # engine.run.partial.NotEvaluated (--allow-missing)
    rows: ResultRows | None = field(default=None, repr=False, compare=False)  # every finding and task, in DuckDB
    waived: object | None = None  # engine.run.waivers.Waived (--waivers): findings set aside, waivers not applied

    @property
    def exit_code(self) -> int:
        """0: no error finding; 1: error findings, or a run that left rules out (--allow-missing) — never 0 then."""
        return 1 if self.not_evaluated or any(f.severity == "error" for f in self.findings) else 0

    def assessments_of(self, level: str | None = None) -> list[AssessmentRow]:
        """The assessment rows of one level (all when None)."""
        return [a for a in self.assessments if level is None or a.level == level]

    @property
    def region_tasks(self) -> list[RegionTask]:
        """The tasks an assessment gave to a region (not to a patch)."""
        return [k for k in self.tasks if isinstance(k, RegionTask)]

    def assessments_json(self, level: str | None = None) -> dict:
        """The assessment output (weipian assess --format json): the run's provenance, the rows of `level`, the region tasks."""
        doc = self.to_json()
        out = {k: doc[k] for k in ("policy", "policies", "input", "run")}
        out["assessments"] = [a.to_json() for a in self.assessments_of(level)]
        out["tasks"] = [t.to_json() for t in self.region_tasks]
        if "not_evaluated" in doc:
            out["not_evaluated"] = doc["not_evaluated"]
        return out

    def catalog(self) -> list[dict]:
        out = []
        for year in sorted(self.policies):
            for item in self.policies[year].catalog():
                out.append({**item, "year": year})
        return out

    @staticmethod
    def count_by(key: str, items: list) -> dict[str, int]:
        counts: dict[str, int] = {}
        for f in items:
            counts[getattr(f, key)] = counts.get(getattr(f, key), 0) + 1
        return counts

    def _policy_json(self, p: Policy) -> dict:
        return {"year": p.year, "title": p.title, "source": p.source, "digest": p.digest}

    def to_json(self) -> dict:
        years = sorted(self.policies)
        if len(years) == 1:
            policy = self._policy_json(self.policies[years[0]])
        else:
            policy = {"years": years, "source": "；".join(self.policies[y].source for y in years),
                      "digest": "；".join(self.policies[y].digest for y in years)}
        files = {}
        for y in years:
            files.update(self.policies[y].file_hashes)
        out = {
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
            "summary": {
                "findings_by_severity": self.count_by("severity", self.findings),
                "findings_by_rule": self.count_by("rule", self.findings),
                "tasks_by_level": self.count_by("level", self.tasks),
            },
            "findings": [f.to_json() for f in self.findings],
            "tasks": [t.to_json() for t in self.tasks],
            "assessments": [a.to_json() for a in self.assessments],
            "warnings": self.warnings,
        }
        if self.not_evaluated:  # only in a --allow-missing run that left something out
            out["not_evaluated"] = [x.to_json() for x in self.not_evaluated]
        if self.waived is not None:  # only with --waivers: 已说明 findings (not in findings or counts) and problems
            out["waived"] = self.waived.to_json()
        return out

    def dumps(self) -> str:
        """The JSON document (the layout of json.dumps(indent=2, ensure_ascii=False), see dumps_indented)."""
        return dumps_indented(self.to_json())


class ResultRows:
    """Every finding and task of a run as a query on the run's DuckDB connection (the sandboxed one): read in
    Arrow batches, so an export never holds them all in Python. Columns: kind (finding, task, region_task), year,
    patch, region, rule, severity, level, action, cite, message, source, line."""

    def __init__(self, con: duckdb.DuckDBPyConnection, sql: str):
        self.con, self.sql = con, sql

    def reader(self, batch_rows: int = 65536):
        """A pyarrow RecordBatchReader over the rows."""
        return self.con.sql(self.sql).to_arrow_reader(batch_rows)

    def counts(self) -> dict[str, int]:
        """Rows by kind."""
        return dict(self.con.execute(f"SELECT kind, count(*) FROM ({self.sql}) GROUP BY 1 ORDER BY 1").fetchall())


def dumps_indented(obj) -> str:
    """The JSON contract as text: two-space indent, UTF-8 as is, anything else (dates, Decimals) as str — the
    layout of json.dumps(indent=2, ensure_ascii=False), encoded by orjson (several times faster than the stdlib's
    pure-Python indenting encoder). Numbers are the same values; a tiny float may be written 0.00001, not 1e-05."""
    return orjson.dumps(obj, option=orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS, default=str).decode()
