"""The result of a run: findings, tasks, assessments, and the manifest to reproduce it."""
from __future__ import annotations

import json
import platform
from dataclasses import dataclass, field
from datetime import date
from json.encoder import encode_basestring as _encode_str  # the C one when built (ensure_ascii=False)

import duckdb

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
    rows: ResultRows | None = field(default=None, repr=False, compare=False)  # every finding and task, in DuckDB

    @property
    def exit_code(self) -> int:
        return 1 if any(f.severity == "error" for f in self.findings) else 0

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

    def dumps(self) -> str:
        """The JSON document: byte for byte json.dumps(to_json(), ensure_ascii=False, indent=2, default=str)."""
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


_INDENT = 2


def _float_text(o: float) -> str:
    if o != o:
        return "NaN"
    if o == float("inf"):
        return "Infinity"
    if o == float("-inf"):
        return "-Infinity"
    return float.__repr__(o)


def dumps_indented(obj) -> str:
    """json.dumps(obj, ensure_ascii=False, indent=2, default=str), byte for byte, several times faster: the
    stdlib's indenting encoder is pure Python generators; this is one recursive function appending to a list,
    with strings escaped by the C encoder."""
    parts: list[str] = []
    app = parts.append
    enc_str = _encode_str

    def key_text(k) -> str:
        if isinstance(k, str):
            return k
        if isinstance(k, float):
            return _float_text(k)
        if k is True:
            return "true"
        if k is False:
            return "false"
        if k is None:
            return "null"
        if isinstance(k, int):
            return int.__repr__(k)
        raise TypeError(f"keys must be str, int, float, bool or None, not {k.__class__.__name__}")

    def enc(o, ind: str) -> None:
        if isinstance(o, str):
            app(enc_str(o))
        elif o is None:
            app("null")
        elif o is True:
            app("true")
        elif o is False:
            app("false")
        elif isinstance(o, int):
            app(int.__repr__(o))
        elif isinstance(o, float):
            app(_float_text(o))
        elif isinstance(o, (list, tuple)):
            if not o:
                app("[]")
                return
            inner = ind + "  "
            sep = ",\n" + inner
            app("[\n" + inner)
            first = True
            for v in o:
                if first:
                    first = False
                else:
                    app(sep)
                if type(v) is str:
                    app(enc_str(v))
                else:
                    enc(v, inner)
            app("\n" + ind + "]")
        elif isinstance(o, dict):
            if not o:
                app("{}")
                return
            inner = ind + "  "
            sep = ",\n" + inner
            app("{\n" + inner)
            first = True
            for k, v in o.items():
                if first:
                    first = False
                else:
                    app(sep)
                app(enc_str(k if type(k) is str else key_text(k)) + ": ")
                if type(v) is str:
                    app(enc_str(v))
                elif v is None:
                    app("null")
                else:
                    enc(v, inner)
            app("\n" + ind + "}")
        else:
            enc(str(o), ind)  # default=str

    enc(obj, "")
    return "".join(parts)
