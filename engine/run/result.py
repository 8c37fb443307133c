"""The result of a run: findings, tasks, assessments, and the manifest to reproduce it."""
from __future__ import annotations

import io
import itertools
import platform
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cached_property
from datetime import date

import duckdb
import orjson

from engine.data.dictionary import Dictionary
from engine.lang.quoting import quote_str
from engine.policy.model import Policy
from engine.run.rows import (FINDING_KEYS, REGION_TASK_KEYS, TASK_KEYS, AssessmentRow, Finding, RegionTask, Task,
                              json_item_sql)
from engine.version import __version__

SEVERITY_WORDS = {"error": "错误", "warning": "警告", "info": "提示"}  # for people (text, xlsx, html reports)


# The orders of the JSON contract ("the same input gives the same bytes"): findings by patch, rule and row;
# tasks by level (省级 first), a level's patch tasks by patch, rule and row, then its region tasks as assessed.
FINDINGS_ORDER = "patch, rule, _rid, _tie"
TASKS_ORDER = "_rank, kind = 'region_task', patch, rule, _rid, _ord"
UNRANKED = 99  # the _rank of a task whose level the dictionary does not list (engine.run.runner.results_sql)
EXPORT_COLUMNS = "kind, year, patch, region, rule, severity, level, action, cite, message, source, line"
EXPORT_ROW = "COALESCE(_rid, _ord)"  # the export's second sort key: a patch row's id, a region task's position
EXPORT_ORDER = f"kind, {EXPORT_ROW}, rule, _tie"
_SHOWN = itertools.count(1)  # temp tables of the rows a report lists (ResultRows._first)
# Up to this many rows, a report's first rows are chosen on their keys and then fetched by an IN list of their
# _rid (a text report's 20): DuckDB tests such a list constant by constant (10^7 hits: 100 values 0.05 s, 2,000 11 s)
_NARROWED = 100


class ResultRows:
    """Every finding and task of a run, kept in DuckDB: the view `view` of the run's (sandboxed) connection, and
    `keys`, the same rows without the message column (engine.run.runner.results_sql). Counts, sorts and the choice
    of the rows a report lists read `keys` (no join with the patches); messages are rendered by DuckDB only for the
    rows fetched (with_messages), or by the scan itself when the run writes every row (`rendered`). Exports read
    Arrow batches. Nothing here holds all rows in Python."""

    def __init__(self, con: duckdb.DuckDBPyConnection, view: str, keys: str, message: str | Callable[..., str],
                 exports: dict[str, str] | None = None, rendered: bool = False):
        """view: the name of the results view, created at its first use (`view`); message(only=None): the SQL of
        the message of hit (k._y, k._i), of every check or of the (year, idx) pairs `only` (runner.message_sql),
        or that SQL itself. rendered: the scan rendered every hit's message (runner.row_sql messages=True)."""
        self.con, self._view, self.keys = con, view, keys
        self.message_of = message if callable(message) else lambda only=None: message
        self.exports = exports if exports is not None else {}  # output -> temp file con may write (run.exports)
        self.rendered = rendered
        self._view_made = False
        self._summary: dict | None = None  # the rows do not change after the run: their counts are computed once
        self._by_rule: list | None = None

    @property
    def view(self) -> str:
        """The results view (every row, with its message); created when first read: binding the message of every
        check costs DuckDB ~0.05 s, and a text report never reads it."""
        if not self._view_made:
            self.con.execute(f"CREATE VIEW {self._view} AS {self.with_messages(f'SELECT * FROM {self.keys}')}")
            self._view_made = True
        return self._view

    @cached_property
    def message(self) -> str:
        """The message of every check, as SQL over k._y, k._i and the patch p."""
        return self.message_of()

    def with_messages(self, sub: str, only: set[tuple[int, int]] | None = None) -> str:
        """The rows of `sub` (a query over `keys`) with their message column, rendered from each hit's patch (or
        as the scan rendered it, `rendered`); in no particular order. only: the (year, idx) of every hit in `sub`,
        when known (a smaller expression)."""
        if self.rendered:  # every row has its message already: no join
            return f"SELECT k.* EXCLUDE (_y, _i, _msg), k._msg AS message FROM ({sub}) k"
        message = self.message if only is None else self.message_of(only)
        return (f"SELECT k.* EXCLUDE (_y, _i, _msg), CASE WHEN k._i IS NULL THEN k._msg ELSE {message} END "
                f"AS message FROM ({sub}) k LEFT JOIN patches p ON k._i IS NOT NULL AND p._rid = k._rid")

    def _first(self, columns: str, where: str, order: str, limit: int | None) -> list[tuple]:
        """`columns` of the rows of `where` in `order`; with a limit, the first rows are chosen on `keys` and kept
        in a temp table, and only their checks' messages are bound and rendered."""
        if limit is None:
            return self.con.execute(self.ordered(columns, where, order)).fetchall()
        table = f"_shown_{next(_SHOWN)}"
        among = "TRUE"
        if limit <= _NARROWED:
            # chosen on the order's own columns first (the scan reads no message), then fetched whole: the rows of
            # those patch rows and region tasks, among which the same order and limit give the same rows
            first = self.con.execute(f"SELECT _rid, _ord FROM {self.keys} WHERE {where} "
                                     f"ORDER BY {order}{_limit(limit)}").fetchall()
            rids, ords = sorted({r for r, _ in first if r is not None}), sorted({o for _, o in first if o is not None})
            among = " OR ".join([f"_rid IN ({', '.join(map(str, rids))})"] * bool(rids)
                                + [f"_ord IN ({', '.join(map(str, ords))})"] * bool(ords)) or "FALSE"
        self.con.execute(f"CREATE TEMP TABLE {table} AS "
                         f"SELECT * FROM {self.keys} WHERE ({where}) AND ({among}) ORDER BY {order}{_limit(limit)}")
        try:
            return self.con.execute(self.ordered(columns, "TRUE", order, rows=table)).fetchall()
        finally:
            self.con.execute(f"DROP TABLE {table}")

    def ordered(self, columns: str, where: str, order: str, rows: str | None = None) -> str:
        """The SQL of `columns` of the rows of `where` (over `rows`, default `keys`) in `order`, with their messages:
        as the scan rendered them (`rendered`), else bound only for the checks that have such rows. Binding every
        check's message costs DuckDB ~0.05 s in each statement that reads the view: a policy test case's whole
        query."""
        rows = rows or self.keys
        only = None if self.rendered else {(int(y), int(i)) for y, i in self.con.execute(
            f"SELECT DISTINCT _y, _i FROM {rows} WHERE ({where}) AND _i IS NOT NULL").fetchall()}
        with_messages = self.with_messages(f"SELECT * FROM {rows} WHERE {where}", only)
        return f"SELECT {columns} FROM ({with_messages}) ORDER BY {order}"

    @property
    def sql(self) -> str:
        """Every finding and task for --output results.parquet / .jsonl: kind (finding, task, region_task), year,
        patch, region, rule, severity, level, action, cite, message, source, line."""
        return f"SELECT {EXPORT_COLUMNS} FROM {self.view} ORDER BY {EXPORT_ORDER}"

    def export_pieces(self, rows: int, whole: int | None = None) -> list[str]:
        """The export (`sql`) as queries of about `rows` rows each, in order: one after the other they give the
        export's rows in the export's order. Each kind's rows are cut at approximate quantiles of the row id (the
        sort's second key) and each piece is sorted on its own: one sort of 10^7 rows with their messages does not
        fit the memory limit. A run within `whole` rows (default `rows`) is one piece, `sql` itself."""
        counts = self.counts()
        if sum(counts.values()) <= (rows if whole is None else whole):
            return [self.sql]
        key = EXPORT_ROW
        pieces = []
        for kind, n in counts.items():  # ordered by kind, as the export
            k = -(-n // rows)
            cuts: list[int] = []
            if k > 1:
                qs = ", ".join(str(i / k) for i in range(1, k))
                cuts = sorted({c for c in self.con.execute(
                    f"SELECT approx_quantile({key}, [{qs}]) FROM {self.keys} WHERE kind = {quote_str(kind)}"
                ).fetchall()[0][0] if c is not None})
            bounds = [None, *cuts, None]
            # a patch row's finding or task has its _rid (= EXPORT_ROW): a filter on the column itself is applied in
            # the hits table's scan (one column read per piece, row groups outside the range skipped), not after
            # the join with the catalog
            col = key if kind == "region_task" else "_rid"
            for lo, hi in zip(bounds, bounds[1:]):
                where = [f"kind = {quote_str(kind)}"]
                if lo is not None:
                    where.append(f"({key} > {int(lo)} OR {key} IS NULL)" if hi is None and col == key
                                 else f"{col} > {int(lo)}")
                if hi is not None:
                    where.append(f"{col} <= {int(hi)}")
                pieces.append(f"SELECT {EXPORT_COLUMNS} FROM {self.view} WHERE {' AND '.join(where)} "
                              f"ORDER BY {EXPORT_ORDER}")
        return pieces

    def reader(self, batch_rows: int = 65536, sql: str | None = None):
        """A pyarrow RecordBatchReader over the rows (of `sql`, default: the export's)."""
        return self.con.sql(sql or self.sql).to_arrow_reader(batch_rows)

    def counts(self) -> dict[str, int]:
        """Rows by kind."""
        return dict(self.con.execute(f"SELECT kind, count(*) FROM {self.keys} GROUP BY 1 ORDER BY 1").fetchall())

    def findings(self, limit: int | None = None, where: str = "TRUE") -> list[Finding]:
        """Findings in the contract's order (the first `limit` of them), messages rendered for these rows only."""
        rows = self._first("patch, rule, severity, message, cite, source, line",
                           f"kind = 'finding' AND ({where})", FINDINGS_ORDER, limit)
        return [Finding(*r) for r in rows]

    def tasks(self, limit: int | None = None, kinds: tuple[str, ...] = ("task", "region_task")) -> list[Task | RegionTask]:
        rows = self._first("kind, patch, region, rule, level, action, cite, message, source, line",
                           f"kind IN ({', '.join(repr(k) for k in kinds)})", TASKS_ORDER, limit)
        return [RegionTask(r[2], *r[3:8]) if r[0] == "region_task" else Task(r[1], *r[3:10]) for r in rows]

    def summary(self) -> dict[str, dict]:
        """summary_counts(), computed once (the text report, the ledger and the page each show it)."""
        if self._summary is None:
            self._summary = self.summary_counts()
        return {k: dict(v) for k, v in self._summary.items()}

    def summary_counts(self) -> dict[str, dict]:
        """Findings by severity and by rule, tasks by level: {value: rows} of each, in the order each value first
        occurs in the findings' (the tasks') order. Cheap passes over `keys` instead of the minimum of the whole sort
        key over every row: a findings group's first row holds the group's least patch (the first sort key), so only
        the rows holding that patch are compared; a task's level decides its rank (runner.results_sql), so levels
        compare by rank and only unranked ones by their first row."""
        out: dict[str, dict] = {"severity": {}, "rule": {}, "level": {}}
        keys = [k.strip() for k in FINDINGS_ORDER.split(",")]
        lead, order = keys[0], ", ".join(f"f.{k}" for k in keys)  # lead: the findings' first sort key, patch
        for by_severity, value, n in self.con.execute(f"""
                WITH f AS (SELECT * FROM {self.keys} WHERE kind = 'finding'),
                g AS (SELECT GROUPING(severity) = 0 AS by_severity,
                             CASE WHEN GROUPING(severity) = 0 THEN severity ELSE rule END AS value,
                             count(*) AS n, min({lead}) AS lead
                      FROM f GROUP BY GROUPING SETS ((severity), (rule)))
                SELECT g.by_severity, g.value, g.n FROM g JOIN f
                    ON f.{lead} IS NOT DISTINCT FROM g.lead
                   AND (CASE WHEN g.by_severity THEN f.severity ELSE f.rule END) IS NOT DISTINCT FROM g.value
                GROUP BY ALL ORDER BY g.by_severity, min(({order}))""").fetchall():
            out["severity" if by_severity else "rule"][value] = n
        out["level"] = dict((v, n) for v, n, *_ in self.con.execute(f"""
                SELECT level, count(*), min(_rank) AS r, min(CASE WHEN _rank = {UNRANKED} THEN ({TASKS_ORDER}) END) AS t
                FROM {self.keys} WHERE kind <> 'finding' GROUP BY 1 ORDER BY r, t""").fetchall())
        return out

    def by_rule(self) -> list[tuple[str, str, str, int]]:
        """(rule, severity, cite, findings) for each rule with findings, most findings first (computed once)."""
        if self._by_rule is None:
            self._by_rule = self._by_rule_counts()
        return list(self._by_rule)

    def _by_rule_counts(self) -> list[tuple[str, str, str, int]]:
        return self.con.execute(f"SELECT rule, any_value(severity), any_value(cite), count(*) AS n FROM {self.keys} "
                                f"WHERE kind = 'finding' GROUP BY 1 ORDER BY n DESC, rule").fetchall()

    def has_errors(self) -> bool:
        if self._summary is not None:  # a report has counted them already
            return self._summary["severity"].get("error", 0) > 0
        return self.con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {self.keys} "
                                f"WHERE kind = 'finding' AND severity = 'error' LIMIT 1)").fetchone()[0] > 0

    def write_json_items(self, write, kind: str, batch_rows: int = 8192) -> None:
        """The JSON list of the findings (kind "finding") or tasks ("task": patches' and regions'), written as
        orjson's OPT_INDENT_2 writes it at depth 1, batch by batch: DuckDB renders each item's text."""
        if kind == "finding":
            item, where, order = json_item_sql(FINDING_KEYS), "kind = 'finding'", FINDINGS_ORDER
        else:
            item = f"CASE WHEN kind = 'region_task' THEN {json_item_sql(REGION_TASK_KEYS)} ELSE {json_item_sql(TASK_KEYS)} END"
            where, order = "kind IN ('task', 'region_task')", TASKS_ORDER
        reader = self.reader(batch_rows, self.ordered(item, where, order))
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
        by = self.rows.summary()
        return {"findings_by_severity": by["severity"], "findings_by_rule": by["rule"], "tasks_by_level": by["level"]}

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
