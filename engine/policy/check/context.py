"""What every checking pass shares: the source, the dictionary, the diagnostics found so far, the names
defined so far (parameters, definitions, dictionary fields) and the expression type checker."""
from __future__ import annotations

from dataclasses import dataclass, field

from engine.data.dictionary import Dictionary, Field
from engine.errors import Diagnostic, Loc
from engine.lang import ast
from engine.limits import LIMITS
from engine.lang.parser import ParseFailure, parse
from engine.lang.scope import Problem, Scope, Symbol
from engine.lang.typecheck import TypeChecker
from engine.lang.types import Type
from engine.policy.loader import PolicySource
from engine.policy.marks import YDict, YStr
from engine.policy.parse_cache import FileTreeStore
from engine.policy.model import Definition, Param


def loc_of(text, node: ast.Node | None = None) -> Loc:
    """Where `node` (or, without one, the whole text) is inside a marked YAML scalar; unknown otherwise."""
    if not isinstance(text, YStr):
        return Loc()
    if node is not None:
        return text.loc(node.start, max(node.end - node.start, 1))
    return text.loc(0, len(text))


def whole(value) -> Loc:
    """Where a marked YAML value (a scalar, or a mapping's start) is."""
    if isinstance(value, YStr):
        return Loc(value.file, value.line, value.col, max(len(value), 1))
    return Loc(getattr(value, "file", None), getattr(value, "line", None), getattr(value, "col", None))


def field_symbol(f: Field) -> Symbol:
    return Symbol("field", f, Type(f.dsl_type), choices=f.values if f.type == "enum" else (),
                  never_negative=f.type in ("area", "int"))


@dataclass
class PolicyNames:
    """The names of one policy, in lookup order: definitions, parameters, names defined but broken
    (already reported), dictionary fields. Remembers which parameters and definitions are used."""

    src: PolicySource
    dictionary: Dictionary
    params: dict[str, Param] = field(default_factory=dict)
    defs: dict[str, Definition] = field(default_factory=dict)
    used: set[str] = field(default_factory=set)

    def lookup(self, name: str) -> Symbol | None:
        if name in self.defs:
            self.used.add(name)
            d = self.defs[name]
            return Symbol("def", d, d.expr.type or Type.ERROR)  # not typed yet: on a cycle, already reported
        if name in self.params:
            self.used.add(name)
            p = self.params[name]
            return Symbol("param", p, p.type, levels=tuple(p.by_level) if p.by_level is not None else None)
        if name in self.src.parameters or name in self.src.definitions:
            return Symbol("broken", name, Type.ERROR)
        f = self.dictionary.lookup(name)
        return field_symbol(f) if f is not None else None

    def candidates(self) -> list[str]:
        return [*self.defs, *self.params, *self.dictionary.by_name]


class CheckContext:
    def __init__(self, src: PolicySource, dictionary: Dictionary):
        self.src = src
        self.dict = dictionary
        self.units = dictionary.units
        self.levels = tuple(dictionary.levels)
        self.diags: list[Diagnostic] = []
        self.names = PolicyNames(src, dictionary)
        self.expanded: dict[str, tuple[int, list[str]]] = {}  # definition -> (size expanded, heaviest chain)
        self.types = TypeChecker(self.units, self.levels, self.problem, area_scale=dictionary.area_scale)
        self.trees = FileTreeStore(self.units)  # parse trees kept between runs; saved by check_policy

    @property
    def params(self) -> dict[str, Param]:
        return self.names.params

    @property
    def defs(self) -> dict[str, Definition]:
        return self.names.defs

    # ---- diagnostics ----
    def diag(self, code: str, message: str, where, help: str | None = None, severity: str = "error"):
        self.diags.append(Diagnostic(code, message, whole(where), help=help, severity=severity))

    def error(self, code: str, message: str, text, node: ast.Node | None = None, help: str | None = None):
        """A problem in an expression: at `node` inside `text`, or the whole text."""
        self.diags.append(Diagnostic(code, message, loc_of(text, node), help=help))

    def problem(self, p: Problem):
        self.diags.append(Diagnostic(p.code, p.message, loc_of(p.text, p.node), help=p.help, severity=p.severity))

    def parse(self, text, code: str, what: str, where=None, offset: int = 0) -> ast.Node | None:
        """Parse `text`; on a syntax error report `code` with `what` before the parser's message (positions in
        `where`, the YAML scalar `text` was cut from at `offset`) and return None."""
        where = text if where is None else where
        try:
            return parse(str(text), self.units, self.trees)
        except ParseFailure as exc:
            loc = where.loc(offset + exc.offset, exc.length) if isinstance(where, YStr) else Loc()
            if exc.code is not None:  # a limit, not a syntax error
                self.diags.append(Diagnostic(exc.code, exc.message, loc, help=exc.help))
            else:
                self.diags.append(Diagnostic(code, f"{what}{exc.message}", loc, help=exc.help))
            return None

    def require(self, entry: YDict, keys, what: str) -> bool:
        """Every key of `keys` is given in `entry` (E024 for a missing cite, E025 for anything else)."""
        ok = True
        for k in keys:
            if entry.get(k) in (None, ""):
                eid = entry["id"]
                hint = {"cite": "写明条款出处，例如 cite: 附件4 二", "title": "写一个中文标题"}.get(k)
                self.diags.append(Diagnostic("E024" if k == "cite" else "E025", f"{what}「{eid}」缺少「{k}」",
                                             Loc(eid.file, eid.line, eid.col, len(eid)), help=hint))
                ok = False
        return ok

    # ---- expressions ----
    def scope(self, text, **kw) -> Scope:
        return Scope(text, self.names, **kw)

    def infer(self, node: ast.Node, scope: Scope) -> Type:
        t = self.types.infer(node, scope)
        self.expansion(node, scope.text)
        return t

    def want_bool(self, node: ast.Node, scope: Scope, where: str) -> None:
        self.types.want_bool(node, scope, where)
        self.expansion(node, scope.text)

    def expansion(self, node: ast.Node, text, name: str | None = None) -> int:
        """Size of a typed expression with its definitions expanded, as the compiler inlines them; E074 (once,
        where it first goes over the limit, naming the chain of definitions) above LIMITS.definition_nodes."""
        size, heaviest, over_already = 0, None, False
        for n in ast.walk(node):
            if isinstance(n, ast.Name) and n.ref and n.ref[0] == "def" and n.ref[1].name in self.expanded:
                sub, _ = self.expanded[n.ref[1].name]
                size += sub
                over_already |= sub > LIMITS.definition_nodes
                if heaviest is None or sub > self.expanded[heaviest.ref[1].name][0]:
                    heaviest = n
            else:
                size += 1
        chain = [heaviest.ref[1].name, *self.expanded[heaviest.ref[1].name][1]] if heaviest is not None else []
        if name is not None:
            self.expanded[name] = (size, chain)
        if size > LIMITS.definition_nodes and not over_already:
            names = ([name] if name else []) + chain
            shown = names if len(names) <= 8 else [*names[:4], "…", *names[-3:]]
            self.error("E074", f"{'定义「' + name + '」' if name else '表达式'}展开定义后过大：{size} 个节点，上限 {LIMITS.definition_nodes} 个"
                       f"（定义链：{' → '.join(shown)}）", text, heaviest,
                       help="定义在每处引用时都会展开：避免一个定义多次引用另一个大的定义，或把条件拆小")
        return size
