"""Last pass, lints: parameters and definitions no rule uses (W002); and the data fields expressions read."""
from __future__ import annotations

from pathlib import Path

from engine.errors import Diagnostic, Loc
from engine.lang import ast
from engine.policy.check.context import CheckContext


def unused(ctx: CheckContext) -> list[Diagnostic]:
    out = []
    src = ctx.src
    own = src.dir.resolve()
    for name, key in {**src.param_keys, **src.def_keys}.items():
        inherited = key.file is not None and Path(key.file).resolve().parent != own
        if inherited:  # an inherited name may be unused because its rules were dropped: the parent's lint reports it
            continue
        if name not in ctx.names.used and (name in src.parameters or name in src.definitions):
            kind = "参数" if name in src.parameters else "定义"
            out.append(Diagnostic("W002", f"{kind}「{name}」没有被任何规则使用", Loc(key.file, key.line, key.col, len(key)),
                                  help="删除它，或在规则中引用", severity="warning"))
    return out


def fields_of(nodes) -> set[str]:
    """Data fields read by these expressions, through definitions."""
    out: set[str] = set()
    seen: set[str] = set()
    stack = list(nodes)
    while stack:
        for n in ast.walk(stack.pop()):
            ref = getattr(n, "ref", None)
            if not ref:
                continue
            if ref[0] == "field":
                out.add(ref[1].name)
            elif ref[0] == "def" and ref[1].name not in seen:
                seen.add(ref[1].name)
                stack.append(ref[1].expr)
    return out
