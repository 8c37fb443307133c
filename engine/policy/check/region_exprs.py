"""Expressions of region assessments: row conditions (per patch) and grouped expressions (per region, with
sum/count over its patches), checked in the scope of region data and the assessment's own values."""
from __future__ import annotations

from engine.lang import ast
from engine.lang.types import Type, type_word
from engine.policy.check.context import CheckContext
from engine.policy.check.lints import fields_of


def parse_expr(ctx: CheckContext, text) -> ast.Node | None:
    if not isinstance(text, str) or not text.strip():
        ctx.diag("E030", "表达式为空", text, help="写一个表达式，例如 sum(面积字段 where 条件)")
        return None
    return ctx.parse(text, "E030", "表达式语法错误：")


def row_condition(ctx: CheckContext, region: dict[str, Type], text, levels: list[str]) -> ast.Node | None:
    """A condition on one patch (scope:, a deduction's when:): no aggregates; 评估级别 and region data allowed."""
    node = parse_expr(ctx, text)
    if node is None:
        return None
    aggs = [n for n in ast.walk(node) if isinstance(n, ast.Aggregate)]
    if aggs:
        ctx.error("E115", "这里的条件逐图斑判断，不能用 sum(…)/count(…)", text, aggs[0],
                  help="汇总值写在 numerator、denominator、values 或 flag 中")
        return None
    ctx.want_bool(node, ctx.scope(text, dynamic_level=True, aggregates=False, values=dict(region)), "条件")
    levels_used(ctx, node, text, levels)
    return node


def levels_used(ctx: CheckContext, node: ast.Node, text, levels: list[str]):
    """Per-level parameters need a value for every assessed level; 评估级别 compares with level names."""
    for n in ast.walk(node):
        if isinstance(n, ast.Name) and n.ref and n.ref[0] == "param" and n.ref[1].by_level is not None:
            missing = [lv for lv in levels if lv not in n.ref[1].by_level]
            if missing:
                ctx.error("E116", f"参数「{n.name}」没有「{'、'.join(missing)}」的取值，而本评估要评估该级别", text, n,
                          help="在参数中补上该级别的取值，或从 levels 中去掉该级别")
        if isinstance(n, (ast.Binary, ast.InList)):
            sides = [n.left, n.right] if isinstance(n, ast.Binary) else [n.operand, *n.items]
            if any(isinstance(x, ast.Name) and x.ref == ("builtin", "评估级别") for x in sides):
                for x in sides:
                    if isinstance(x, ast.String) and x.value not in ctx.levels:
                        ctx.error("E117", f"「{x.value}」不是级别", text, x, help="级别为：" + "、".join(ctx.levels))


def grouped(ctx: CheckContext, region: dict[str, Type], text, values: dict[str, Type], want: tuple[Type, ...] | None,
            what: str, levels: list[str]) -> ast.Node | None:
    """An expression over the region's patches: aggregates, the assessment's values, region data, parameters."""
    node = parse_expr(ctx, text)
    if node is None:
        return None
    scope = ctx.scope(text, dynamic_level=True, aggregates=True, values={**region, **values})
    if want == (Type.BOOL,):
        ctx.want_bool(node, scope, what)
    else:
        t = ctx.infer(node, scope)
        if want and t not in (*want, Type.ERROR):
            ctx.error("E101", f"{what}应为数值或面积，这里是{type_word(t)}", text, node,
                      help="例如 sum(面积字段 where 条件) 或 count(where 条件)")
    _outside_aggregates(ctx, node, text, set(values), inside=False)
    levels_used(ctx, node, text, levels)
    return node


def _outside_aggregates(ctx: CheckContext, node: ast.Node, text, local: set[str], inside: bool):
    if isinstance(node, ast.Aggregate):
        if inside:
            ctx.error("E102", "sum/count 不能嵌套", text, node)
            return
        for ch in node.children():
            _outside_aggregates(ctx, ch, text, local, True)
        return
    if isinstance(node, ast.Name) and node.ref:
        kind, ref = node.ref
        if kind == "field" and not inside:
            ctx.error("E103", f"字段「{ref.name}」按图斑取值，要写在 sum(…) 或 count(…) 里", text, node,
                      help=f"例如 sum({ref.name} where …) 或 count(where {ref.name} …)")
        elif kind == "def" and not inside and fields_of([ref.expr]):
            ctx.error("E103", f"定义「{ref.name}」按图斑取值，要写在 sum(…) 或 count(…) 的 where 里", text, node,
                      help=f"例如 count(where {ref.name})")
        elif kind == "value" and inside and ref in local:
            ctx.error("E104", f"评估取值「{ref}」是区域汇总值，不能写在 sum(…)/count(…) 里", text, node)
    for ch in node.children():
        _outside_aggregates(ctx, ch, text, local, inside)
