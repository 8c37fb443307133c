"""Pass 2, definitions: parsed, sorted by dependency (a cycle is reported here, once, at the definition where
the depth-first walk in file order comes back), then type-checked in that order, dependencies first."""
from __future__ import annotations

from engine.lang import ast
from engine.policy.check.context import CheckContext
from engine.policy.model import Definition


def _parse_definitions(ctx: CheckContext) -> None:
    for name, raw in ctx.src.definitions.items():
        key = ctx.src.def_keys[name]
        cite = note = None
        text = raw
        if isinstance(raw, dict):
            text, cite, note = raw["expr"], raw.get("cite"), raw.get("note")
        if ctx.dict.lookup(name) is not None:
            ctx.error("E023", f"定义「{name}」与数据字典中的字段同名", key, help="换一个名称，避免混淆")
            continue
        node = ctx.parse(text, "E030", f"定义「{name}」语法错误：")
        if node is not None:
            ctx.defs[name] = Definition(name, node, text, key, cite, note)


def dependencies(d: Definition, defs: dict[str, Definition]) -> list[str]:
    """Definitions `d` refers to, in order of first mention."""
    out: list[str] = []
    for n in ast.walk(d.expr):
        if isinstance(n, ast.Name) and n.name in defs and n.name not in out:
            out.append(n.name)
    return out


def sort_definitions(ctx: CheckContext) -> list[str]:
    """Definition names, each after the ones it refers to; E031 for each cycle."""
    order: list[str] = []
    state: dict[str, str] = {}

    def visit(name: str) -> None:
        if state.get(name) == "done":
            return
        d = ctx.defs[name]
        if state.get(name) == "active":
            ctx.error("E031", f"定义「{name}」直接或间接引用了自身", d.text, help="检查定义之间的引用关系，去掉循环")
            return
        state[name] = "active"
        for dep in dependencies(d, ctx.defs):
            visit(dep)
        state[name] = "done"
        order.append(name)

    for name in list(ctx.defs):
        visit(name)
    return order


def check_definitions(ctx: CheckContext) -> None:
    _parse_definitions(ctx)
    for name in sort_definitions(ctx):
        d = ctx.defs[name]
        ctx.types.infer(d.expr, ctx.scope(d.text))
        ctx.expansion(d.expr, d.text, name)
