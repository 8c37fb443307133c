"""Pass 3, rules and triggers: required keys, the `when` condition and the `message` template's {…} values,
each resolved and typed in the scope of its entry (a trigger's level decides per-level parameters)."""
from __future__ import annotations

import re

from engine.lang import ast
from engine.lang.scope import Scope
from engine.policy.check.context import CheckContext
from engine.policy.marks import YDict, YStr
from engine.policy.model import Check

_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


def message_parts(ctx: CheckContext, text: YStr | None, scope: Scope) -> list:
    """A message template as text pieces and typed expressions (node offsets point into the whole template)."""
    if text is None:
        return []
    parts: list = []
    pos = 0
    for m in _PLACEHOLDER.finditer(str(text)):
        parts.append(str(text)[pos : m.start()])
        offset = m.start(1)
        node = ctx.parse(m.group(1), "E070", "message 中 {…} 的内容无法解析：", where=text, offset=offset)
        pos = m.end()
        if node is None:
            continue
        for n in ast.walk(node):
            n.start += offset
            n.end += offset
        ctx.infer(node, scope.with_text(text))
        parts.append(node)
    parts.append(str(text)[pos:])
    return [p for p in parts if p != ""]


def _when(ctx: CheckContext, entry: YDict, level: str | None) -> ast.Node | None:
    text = entry["when"]
    node = ctx.parse(text, "E030", "条件语法错误：")
    if node is not None:
        ctx.want_bool(node, ctx.scope(text, level=level), "when")
    return node


def check_entries(ctx: CheckContext) -> tuple[list[Check], list[Check]]:
    """The policy's row rules and triggers."""
    rules, triggers = [], []
    for entry in ctx.src.entries["rules"]:
        if not ctx.require(entry, ("title", "cite", "severity", "when"), "规则"):
            continue
        when = _when(ctx, entry, None)
        msg = message_parts(ctx, entry.get("message"), ctx.scope(entry.get("message") or YStr("")))
        if when is not None:
            rules.append(Check(str(entry["id"]), "rule", str(entry["title"]), str(entry["cite"]), when, entry["when"], msg, entry,
                               severity=str(entry["severity"]), waivable=entry.get("waivable") is True,
                               waiver_cite=str(entry["waiver_cite"]) if entry.get("waiver_cite") else None))
    for entry in ctx.src.entries["triggers"]:
        if not ctx.require(entry, ("title", "cite", "level", "action", "when"), "触发条件"):
            continue
        level = str(entry["level"])
        when = _when(ctx, entry, level)
        msg = message_parts(ctx, entry.get("message"), ctx.scope(entry.get("message") or YStr(""), level=level))
        if when is not None:
            triggers.append(Check(str(entry["id"]), "trigger", str(entry["title"]), str(entry["cite"]), when, entry["when"], msg,
                                  entry, level=level, action=str(entry["action"])))
    return rules, triggers
