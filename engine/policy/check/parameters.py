"""Pass 1, parameters: each value (or per-level values) parsed as one constant and typed."""
from __future__ import annotations

from engine.lang import ast
from engine.lang.types import TYPE_WORDS, Type
from engine.policy.check.context import CheckContext
from engine.policy.marks import YDict, YStr
from engine.policy.model import Param


def _constant(ctx: CheckContext, raw, key: YStr) -> ast.Node | None:
    text = raw if isinstance(raw, YStr) else YStr(str(raw))
    if not isinstance(raw, YStr):
        text.file, text.line, text.col = key.file, key.line, key.col
    node = ctx.parse(text, "E020", f"参数「{key}」的值无法解析：")
    if node is None:
        return None
    if isinstance(node, ast.Unary) and node.op == "neg" and isinstance(node.operand, ast.Number):
        node.operand.value = -node.operand.value
        node = node.operand
    if not isinstance(node, (ast.Number, ast.String, ast.DateLit, ast.Bool)):
        ctx.error("E021", f"参数「{key}」的值必须是一个常量（数值、文本、日期或 是/否）", text,
                  help="条件表达式请写在 definitions（定义）中")
        return None
    if ctx.types.check_literal(node, ctx.scope(text)) == Type.ERROR:  # E072: out of range
        return None
    return node


def check_parameters(ctx: CheckContext) -> None:
    for name, raw in ctx.src.parameters.items():
        key = ctx.src.param_keys[name]
        cite = note = None
        value, fixed = raw, False
        if isinstance(raw, dict) and "value" in raw:
            value, cite, note, fixed = raw["value"], raw.get("cite"), raw.get("note"), raw.get("fixed") is True
        if isinstance(value, dict):
            by_level = {}
            for lv, v in value.items():
                node = _constant(ctx, v, value.key_marks[lv] if isinstance(value, YDict) else key)
                if node is not None:
                    by_level[str(lv)] = node
            types = {n.type for n in by_level.values()}
            if len(types) > 1:
                ctx.error("E022", f"参数「{name}」各级别的取值类型不一致：{'、'.join(TYPE_WORDS[t] for t in types)}", key)
            if by_level:
                ctx.params[name] = Param(name, None, by_level, next(iter(by_level.values())).type, key, cite, note,
                                         "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}", value, fixed)
        else:
            node = _constant(ctx, value, key)
            if node is not None:
                ctx.params[name] = Param(name, node, None, node.type, key, cite, note, str(value), value, fixed)
