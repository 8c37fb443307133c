"""Applying a waivers file to a run, in SQL against the run's hits table before findings are collected.

A waiver is valid when its rule is a waivable row rule (`waivable: true`), its patch is in the input, its
有效期至 is on or after the run's as-of date, and no earlier-listed valid waiver covers the same patch and rule
(the one with the latest 有效期至 is used). A valid waiver moves every finding of its rule on its patch out of
the hits table into the waived table: such findings are shown apart (已说明) with reason and approver, and are not
counted in the findings, their counts or the exit code.

Every other waiver is a problem, reported with a Chinese message: an unknown rule, a rule that does not accept
a reason, an unknown patch, an expired waiver, a duplicate, or one that matches no finding. Problems do not
change the exit code by themselves: the findings they fail to set aside stay findings and count as usual."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date

from engine.data.dictionary import Dictionary
from engine.errors import suggest
from engine.lang.quoting import quote_ident, quote_str
from engine.policy.model import Policy
from engine.run.messages import message_sql
from engine.run.waiver_file import WaiverFile

PROBLEMS = ("unknown_rule", "not_waivable", "unknown_patch", "expired", "duplicate", "no_match")


@dataclass
class WaivedFinding:
    """A finding set aside by a valid waiver (已说明)."""

    patch: str
    rule: str
    severity: str
    message: str
    cite: str
    waiver_cite: str | None
    reason: str
    approver: str
    until: date
    source: str  # the waivers file and row that set it aside
    line: int

    def to_json(self) -> dict:
        return {"patch": self.patch, "rule": self.rule, "severity": self.severity, "message": self.message,
                "cite": self.cite, "waiver_cite": self.waiver_cite, "reason": self.reason, "approver": self.approver,
                "until": self.until.isoformat(), "source": self.source, "line": self.line}


@dataclass
class WaiverProblem:
    """A waiver that was not applied, and why."""

    source: str
    line: int
    patch: str
    rule: str
    until: date
    problem: str  # one of PROBLEMS
    message: str

    def to_json(self) -> dict:
        return {"source": self.source, "line": self.line, "patch": self.patch, "rule": self.rule,
                "until": self.until.isoformat(), "problem": self.problem, "message": self.message}


@dataclass
class Waived:
    """The outcome of --waivers: the file, the findings set aside, the waivers not applied."""

    file: dict  # path, sha256, rows
    findings: list[WaivedFinding] = field(default_factory=list)
    problems: list[WaiverProblem] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"file": self.file, "count": len(self.findings), "problems_count": len(self.problems),
                "findings": [f.to_json() for f in self.findings], "problems": [p.to_json() for p in self.problems]}


def apply_waivers(con, waivers: WaiverFile, policies: dict[int, Policy], used: dict[int, Policy], hits: str,
                  d: Dictionary, as_of: date, run: int) -> Waived:
    """Move the hits that valid waivers cover out of `hits`; return them and the waivers not applied.
    policies: every loaded year (a rule is known if any year has it); used: the years run on this input, with the
    checks whose positions `hits.idx` refers to."""
    w, rules, known, waived = f"waivers_{run}", f"waiver_rules_{run}", f"waiver_known_{run}", f"waived_{run}"
    con.register(f"{w}_in", waivers.table)
    con.execute(f"CREATE TABLE {w} AS SELECT row_number() OVER (ORDER BY line) AS wid, * FROM {w}_in")
    con.unregister(f"{w}_in")
    con.execute(f"CREATE TABLE {rules} (year INTEGER, idx INTEGER, rule VARCHAR, severity VARCHAR, cite VARCHAR, "
                f"waiver_cite VARCHAR)")
    rows = [(y, i, c.id, c.severity, c.cite, c.waiver_cite)
            for y, p in used.items() for i, c in enumerate(p.checks) if c.kind == "rule" and c.waivable]
    if rows:
        con.executemany(f"INSERT INTO {rules} VALUES (?, ?, ?, ?, ?, ?)", rows)
    ids = {c.id: c.kind == "rule" and c.waivable for p in policies.values() for c in p.checks}
    ids.update({x.id: False for p in policies.values() for x in p.assessment_entries()})
    con.execute(f"CREATE TABLE {known} (rule VARCHAR, waivable BOOLEAN)")
    if ids:
        con.executemany(f"INSERT INTO {known} VALUES (?, ?)", sorted(ids.items()))
    key = quote_ident(d.key[0])
    con.execute(f"""
        CREATE TABLE {w}_status AS
        WITH checked AS (
            SELECT w.*, CASE
                WHEN k.rule IS NULL THEN 'unknown_rule'
                WHEN NOT k.waivable THEN 'not_waivable'
                WHEN w.patch NOT IN (SELECT {key} FROM patches WHERE {key} IS NOT NULL) THEN 'unknown_patch'
                WHEN w.until < DATE {quote_str(as_of.isoformat())} THEN 'expired'
            END AS problem
            FROM {w} w LEFT JOIN {known} k USING (rule)
        ), ranked AS (
            SELECT *, CASE WHEN problem IS NULL THEN row_number() OVER (
                PARTITION BY patch, rule, problem IS NULL ORDER BY until DESC, wid) END AS rank,
                first_value(line) OVER (PARTITION BY patch, rule, problem IS NULL ORDER BY until DESC, wid) AS kept_line
            FROM checked
        )
        SELECT * REPLACE (CASE WHEN problem IS NULL AND rank > 1 THEN 'duplicate' ELSE problem END AS problem)
        FROM ranked
    """)
    con.execute(f"""
        CREATE TABLE {waived} AS
        SELECT h._y AS year, h._i AS idx, h._rid, p.{key} AS patch, {message_sql(used, as_of, "h._y", "h._i")} AS message,
               r.rule, r.severity, r.cite, r.waiver_cite, s.reason, s.approver, s.until, s.source, s.line, s.wid
        FROM {hits} h JOIN {rules} r ON r.year = h._y AND r.idx = h._i
        JOIN patches p USING (_rid)
        JOIN {w}_status s ON s.patch = p.{key} AND s.rule = r.rule AND s.problem IS NULL
    """)
    con.execute(f"DELETE FROM {hits} h USING {waived} x WHERE h._y = x.year AND h._i = x.idx AND h._rid = x._rid")
    findings = con.execute(f"""
        SELECT patch, rule, severity, message, cite, waiver_cite, reason, approver, until, source, line
        FROM {waived} ORDER BY patch, rule, _rid, message""").fetchall()
    problems = con.execute(f"""
        SELECT source, line, patch, rule, until,
               coalesce(problem, CASE WHEN wid NOT IN (SELECT wid FROM {waived}) THEN 'no_match' END) AS problem,
               kept_line
        FROM {w}_status WHERE problem IS NOT NULL OR wid NOT IN (SELECT wid FROM {waived}) ORDER BY line""").fetchall()
    candidates = sorted(ids)
    return Waived(waivers.manifest(), [WaivedFinding(*r) for r in findings],
                  [WaiverProblem(*r[:6], _message(r, as_of, candidates)) for r in problems])


def _message(row, as_of: date, candidates: list[str]) -> str:
    source, line, patch, rule, until, problem, kept_line = row
    at = f"{source} 第 {line} 行"
    if problem == "unknown_rule":
        near = suggest(rule, candidates)
        return f"{at}：规则「{rule}」在政策中不存在，说明未生效" + (f"（{near}）" if near else "")
    if problem == "not_waivable":
        return (f"{at}：规则「{rule}」不接受说明理由（只有原文允许例外、政策中写明 waivable 的规则可以），"
                "说明未生效，问题照常计入")
    if problem == "unknown_patch":
        hint = ("；Excel 把图斑编号存成了数字，末几位已丢失，请把该列设为文本后重新填写"
                if re.fullmatch(r"[0-9.]+E\+?[0-9]+", patch, re.IGNORECASE) else "")
        return f"{at}：图斑「{patch}」不在输入数据中，说明未生效{hint}"
    if problem == "expired":
        return f"{at}：有效期至 {until.isoformat()}，早于评估日期 {as_of.isoformat()}，说明已过期，问题照常计入"
    if problem == "duplicate":
        return f"{at}：图斑「{patch}」规则「{rule}」已由第 {kept_line} 行说明（有效期更晚或列在前面），本行未使用"
    return f"{at}：图斑「{patch}」没有规则「{rule}」的问题，说明未用上（问题可能已整改，可从说明文件中删去）"
