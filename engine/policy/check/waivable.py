"""Waivable rules: `waivable: true` marks a row rule whose clause allows an exception with a stated reason
(e.g. "一般不得……"), and `waiver_cite` names that clause. Only row rules accept a waiver: a field-check task or a
region assessment is not a finding a reason can set aside. One code, E026, for every misuse."""
from __future__ import annotations

from engine.errors import Diagnostic, Loc
from engine.policy.check.context import CheckContext
from engine.policy.marks import YDict

CODE = "E026"
KEYS = ("waivable", "waiver_cite")
_WHAT = {"triggers": "触发条件", "assessments": "区域评估"}


def _key_loc(entry: YDict, key: str) -> Loc:
    mark = entry.key_marks.get(key)
    if mark is None:
        eid = entry["id"]
        return Loc(eid.file, eid.line, eid.col, len(eid))
    return Loc(mark.file, mark.line, mark.col, len(key))


def check_waivable(ctx: CheckContext) -> None:
    """E026 for `waivable`/`waiver_cite` outside row rules, and for a rule whose waivability is not cited. A
    `waiver_cite` without `waivable: true` is allowed: a year may override an inherited rule with `waivable: false`."""
    for section, what in _WHAT.items():
        for entry in ctx.src.entries[section]:
            for key in KEYS:
                if key in entry:
                    ctx.diags.append(Diagnostic(
                        CODE, f"{what}「{entry['id']}」不能写「{key}」：只有逐图斑规则（rules）可以说明理由", _key_loc(entry, key),
                        help="核查任务和区域评估不接受说明理由，删去这一行；如果原文允许说明理由的是某条规则，"
                             "把 waivable: true 和 waiver_cite 写在那条规则上"))
    for entry in ctx.src.entries["rules"]:
        if entry.get("waivable") is True and entry.get("waiver_cite") in (None, ""):
            ctx.diags.append(Diagnostic(
                CODE, f"规则「{entry['id']}」写了 waivable: true，但没有写 waiver_cite（允许说明理由的条款）",
                _key_loc(entry, "waivable"),
                help="写明原文允许例外的条款和原话，例如 waiver_cite: 三（二）2（“一般不得……”）；原文没有例外时删去 waivable"))
