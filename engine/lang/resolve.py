"""Name resolution: what a name in an expression refers to, looked up in its Scope (assessment-local values,
then the caller's names, then the language's builtins); per-level parameters and their [级别] index."""
from __future__ import annotations

from typing import Callable

from engine.errors import suggest
from engine.lang import ast
from engine.lang.scope import ASSESSMENT_BUILTINS, BUILTINS, Problem, Scope, Symbol
from engine.lang.types import Type


class NameResolver:
    def __init__(self, levels: tuple[str, ...], report: Callable[[Problem], None]):
        self.levels = levels
        self.report = report
        self._fields: dict[int, Symbol] = {}  # id(Name node) -> the field symbol it resolved to

    def _error(self, code: str, message: str, scope: Scope, node: ast.Node, help: str | None = None):
        self.report(Problem(code, message, scope.text, node, help))

    def field_of(self, node: ast.Node) -> Symbol | None:
        """The dictionary field a resolved Name refers to."""
        return self._fields.get(id(node)) if isinstance(node, ast.Name) else None

    def name(self, node: ast.Name, scope: Scope, index_key: str | None = None) -> Type:
        n = node.name
        if n in scope.values:
            node.ref = ("value", n)
            return scope.values[n]
        sym = scope.names.lookup(n)
        if sym is not None:
            node.ref = (sym.kind, sym.target)
            if sym.kind == "param":
                return self._param(node, sym, scope, index_key)
            if sym.kind == "field":
                self._fields[id(node)] = sym
            return sym.type
        if n in BUILTINS:
            node.ref = ("builtin", n)
            return BUILTINS[n]
        if n in ASSESSMENT_BUILTINS and (scope.aggregates or scope.dynamic_level):
            node.ref = ("builtin", n)
            return ASSESSMENT_BUILTINS[n]
        candidates = [*scope.names.candidates(), *BUILTINS, *scope.values]
        hint = None
        for word in ("非", "且", "或"):  # 非重点类 is one name: a missing space, not a typo of 重点类
            if n.startswith(word) and (n[1:] in candidates):
                hint = f"关键字「{word}」后面要加空格：{word} {n[1:]}"
        hint = hint or suggest(n, candidates)
        self._error("E040", f"未知名称「{n}」", scope, node, help=hint or "名称应为数据字典中的字段、参数或定义")
        return Type.ERROR

    def _param(self, node: ast.Name, sym: Symbol, scope: Scope, index_key: str | None) -> Type:
        n, levels = node.name, sym.levels
        if levels is not None and index_key is None and scope.level is None and not scope.dynamic_level:
            self._error("E032", f"参数「{n}」按级别取值，这里无法确定用哪一级", scope, node,
                        help=f"写成 {n}[{levels[0]}]，或在带 level 的触发条件中使用")
            return Type.ERROR
        if levels is not None:
            wanted = index_key or scope.level
            if wanted is not None and wanted not in levels:
                self._error("E033", f"参数「{n}」没有「{wanted}」的取值", scope, node, help="已有：" + "、".join(levels))
                return Type.ERROR
        elif index_key is not None:
            self._error("E034", f"参数「{n}」不按级别取值，不能写 [{index_key}]", scope, node)
            return Type.ERROR
        return sym.type

    def index(self, node: ast.Index, scope: Scope) -> Type:
        if node.key not in self.levels:
            self._error("E035", f"「{node.key}」不是级别", scope, node, help="级别为：" + "、".join(self.levels))
            return Type.ERROR
        t = self.name(node.name, scope, index_key=node.key)
        node.name.type = t
        return t

    def enum_field(self, node: ast.Node) -> Symbol | None:
        sym = self.field_of(node)
        return sym if sym is not None and sym.choices else None

    def check_choice(self, sym: Symbol, lit: ast.Node, scope: Scope):
        if isinstance(lit, ast.String) and lit.value not in sym.choices:
            hint = suggest(lit.value, sym.choices)
            self._error("E041", f"「{lit.value}」不是字段「{sym.target.name}」的取值", scope, lit,
                        help=(hint + "；" if hint else "") + "可选：" + "、".join(sym.choices))
