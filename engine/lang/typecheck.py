"""Type checking of expressions: infer types and units, check operators and function signatures (from
engine.lang.functions), report Problems. Names are resolved by engine.lang.resolve. One method per node class,
looked up by type."""
from __future__ import annotations

from typing import Callable

from engine.errors import suggest
from engine.lang import ast, constants
from engine.lang.functions import FUNCTIONS, SAME
from engine.lang.resolve import NameResolver
from engine.lang.scope import Problem, Scope
from engine.lang.types import QUANTITIES, Type, type_word
from engine.lang.units import Units

COMPARISONS = ("==", "!=", "<", "<=", ">", ">=")
_E, _B = Type.ERROR, Type.BOOL
_INFER: dict[type, Callable] = {}


def infers(*classes):
    """Register the decorated TypeChecker method as the inference of these node classes."""
    def register(method):
        for cls in classes:
            _INFER[cls] = method
        return method
    return register


class TypeChecker:
    def __init__(self, units: Units, levels: tuple[str, ...], report: Callable[[Problem], None], area_scale: int = 4):
        self.units = units
        self.area_scale = area_scale
        self.levels = levels
        self.report = report
        self.resolver = NameResolver(levels, report)

    def error(self, code: str, message: str, scope: Scope, node: ast.Node | None = None, help: str | None = None,
              severity: str = "error"):
        self.report(Problem(code, message, scope.text, node, help, severity))

    def infer(self, node: ast.Node, scope: Scope) -> Type:
        """The type of `node` (also stored in node.type); names get their `ref`."""
        t = _INFER[type(node)](self, node, scope)
        node.type = t
        return t

    def want_bool(self, node: ast.Node, scope: Scope, where: str) -> None:
        t = self.infer(node, scope)
        if t not in (_B, _E):
            self.error("E054", f"{where}应为条件（是/否），这里是{type_word(t)}", scope, node,
                       help="例如 字段名 > 数值 或 字段名 == \"取值\"")

    # ---- literals ----------------------------------------------------------
    def literal_type(self, node: ast.Node) -> Type:
        if isinstance(node, ast.Number):
            node.type = Type.AREA if node.unit is not None and node.unit in self.units else Type.NUMBER
        else:
            node.type = {ast.String: Type.STRING, ast.DateLit: Type.DATE, ast.Bool: Type.BOOL, ast.Null: Type.NULL}[type(node)]
        return node.type

    def check_literal(self, node: ast.Node, scope: Scope) -> Type:
        """The type of a literal; E072 for a number or area its SQL type cannot hold."""
        t = self.literal_type(node)
        if isinstance(node, ast.Number):
            found = constants.literal_problem(node, self.units, self.area_scale)
            if found is not None:
                self.error("E072", found[0], scope, node, help=found[1])
                return _E
        return t

    @infers(ast.Number, ast.String, ast.DateLit, ast.Bool, ast.Null)
    def _literal(self, node: ast.Node, scope: Scope) -> Type:
        return self.check_literal(node, scope)

    def _constants(self, found: list, scope: Scope) -> bool:
        """Report constant arguments DuckDB would reject at run time (engine.lang.constants); True if any."""
        for node, code, message, help in found:
            self.error(code, message, scope, node, help=help)
        return bool(found)

    # ---- names ---------------------------------------------------------------
    @infers(ast.Name)
    def _name(self, node: ast.Name, scope: Scope) -> Type:
        return self.resolver.name(node, scope)

    @infers(ast.Index)
    def _index(self, node: ast.Index, scope: Scope) -> Type:
        return self.resolver.index(node, scope)

    # ---- aggregates, functions ---------------------------------------------------
    @infers(ast.Aggregate)
    def _aggregate(self, node: ast.Aggregate, scope: Scope) -> Type:
        if not scope.aggregates:
            self.error("E036", f"{node.func}(…) 只能用在区域评估（assessments）中", scope, node,
                       help="逐图斑的规则直接比较字段的值，例如 字段名 >= 数值")
            return _E
        if node.where is not None:
            self.want_bool(node.where, scope, "where 后面")
        if node.func == "count":
            return Type.NUMBER
        t = self.infer(node.arg, scope)
        if t not in (*QUANTITIES, _E):
            self.error("E037", f"sum 只能对数值或面积求和，这里是{type_word(t)}", scope, node.arg)
            return _E
        return t

    @infers(ast.Call)
    def _call(self, node: ast.Call, scope: Scope) -> Type:
        fn = FUNCTIONS.get(node.func)
        if fn is None:
            self.error("E060", f"未知函数「{node.func}」", scope, node,
                       help=suggest(node.func, FUNCTIONS) or "可用函数：" + "、".join(FUNCTIONS))
            for a in node.args:
                self.infer(a, scope)
            return _E
        if len(node.args) != len(fn.params):
            self.error("E061", f"函数 {node.func} 需要 {len(fn.params)} 个参数，这里有 {len(node.args)} 个", scope, node)
            return _E
        types = [self.infer(a, scope) for a in node.args]
        if _E in types:
            return _E
        first = types[0]
        if fn.same is not None and first not in (*fn.same, Type.NULL):
            self.error("E062", f"函数 {node.func} 的参数应为{'或'.join(type_word(t) for t in fn.same)}，这里是{type_word(first)}",
                       scope, node.args[0])
            return _E
        for a, t, w in zip(node.args, types, fn.params):
            w = first if w == SAME else w
            if t != w and t != Type.NULL:
                self.error("E062", f"函数 {node.func} 的参数应为{type_word(w)}，这里是{type_word(t)}", scope, a,
                           help=unit_help(self.units, t, w))
                return _E
        if self._constants(constants.date_call(node, scope.text, scope.level), scope):
            return _E
        return first if fn.result == SAME else fn.result

    # ---- operators -----------------------------------------------------------------
    @infers(ast.Unary)
    def _unary(self, node: ast.Unary, scope: Scope) -> Type:
        if node.op == "not":
            self.want_bool(node.operand, scope, "not 后面")
            return _B
        t = self.infer(node.operand, scope)
        if t not in (*QUANTITIES, _E):
            self.error("E050", f"不能对{type_word(t)}取负", scope, node)
            return _E
        return t

    @infers(ast.InList)
    def _in_list(self, node: ast.InList, scope: Scope) -> Type:
        t = self.infer(node.operand, scope)
        sym = self.resolver.enum_field(node.operand)
        if not node.items:
            self.error("E051", "in 后面的列表为空", scope, node)
        for item in node.items:
            it = self.infer(item, scope)
            if _E not in (t, it) and it != t:
                self.error("E052", f"列表中的{type_word(it)}不能与{type_word(t)}比较", scope, item,
                           help=unit_help(self.units, t, it, item))
            if sym is not None:
                self.resolver.check_choice(sym, item, scope)
        return _B

    @infers(ast.IsNull)
    def _is_null(self, node: ast.IsNull, scope: Scope) -> Type:
        self.infer(node.operand, scope)
        return _B

    @infers(ast.If)
    def _if(self, node: ast.If, scope: Scope) -> Type:
        self.want_bool(node.cond, scope, "if 后面")
        a = self.infer(node.then, scope)
        b = self.infer(node.else_, scope)
        if _E in (a, b):
            return _E
        if a == Type.NULL:
            return b
        if b == Type.NULL or a == b:
            return a
        self.error("E053", f"then 与 else 的类型不一致：{type_word(a)} 与 {type_word(b)}", scope, node, help=unit_help(self.units, a, b))
        return _E

    @infers(ast.Binary)
    def _binary(self, node: ast.Binary, scope: Scope) -> Type:
        op = node.op
        if op in ("and", "or"):
            self.want_bool(node.left, scope, f"{op} 左边")
            self.want_bool(node.right, scope, f"{op} 右边")
            return _B
        a = self.infer(node.left, scope)
        b = self.infer(node.right, scope)
        if _E in (a, b):
            return _B if op in COMPARISONS else _E
        if op in COMPARISONS:
            return self._compare(node, a, b, scope)
        return self._arithmetic(node, a, b, scope)

    def _compare(self, node: ast.Binary, a: Type, b: Type, scope: Scope) -> Type:
        op = node.op
        if Type.NULL in (a, b):
            self.error("E055", "不能用比较运算判断空值", scope, node, help=unit_help(self.units, a, b))
            return _B
        if a != b:
            self.error("E056", f"{type_word(a)}不能与{type_word(b)}比较", scope, node,
                       help=unit_help(self.units, a, b, node.left, node.right))
            return _B
        if op not in ("==", "!=") and a in (Type.STRING, Type.BOOL):
            self.error("E057", f"{type_word(a)}不能比较大小，只能用 == 或 !=", scope, node)
        for side, other in ((node.left, node.right), (node.right, node.left)):
            sym = self.resolver.enum_field(side)
            if sym is not None:
                self.resolver.check_choice(sym, other, scope)
        self._never_true(node, scope)
        return _B

    def _arithmetic(self, node: ast.Binary, a: Type, b: Type, scope: Scope) -> Type:
        op = node.op
        if a == Type.DATE and b == Type.NUMBER and op in "+-":
            if self._constants(constants.date_arithmetic(node, scope.level), scope):
                return _E
            return Type.DATE
        if a == Type.DATE and b == Type.DATE and op == "-":
            return Type.NUMBER
        if a == b == Type.NUMBER and self._constants(constants.constant_overflow(node, scope.level), scope):
            return _E
        if a in QUANTITIES and b in QUANTITIES:
            if op in "+-":
                if a != b:
                    self.error("E058", f"单位不一致：{type_word(a)} {op} {type_word(b)}", scope, node,
                               help=unit_help(self.units, a, b, node.left, node.right))
                    return _E
                return a
            if op == "*":
                if a == b == Type.AREA:
                    self.error("E059", "面积不能与面积相乘", scope, node)
                    return _E
                return Type.AREA if Type.AREA in (a, b) else Type.NUMBER
            if op == "/":
                if a == Type.AREA and b == Type.AREA:
                    return Type.NUMBER
                if b == Type.AREA:
                    self.error("E059", "数字不能除以面积", scope, node)
                    return _E
                return a
        self.error("E058", f"不能对{type_word(a)}和{type_word(b)}做「{op}」运算", scope, node, help=unit_help(self.units, a, b))
        return _E

    def _never_true(self, node: ast.Binary, scope: Scope) -> None:
        """Warn about comparisons that can never be true (areas and counts are never negative)."""
        left, right, op = node.left, node.right, node.op
        sym = self.resolver.field_of(left)
        if sym is not None and sym.never_negative and isinstance(right, ast.Number):
            if (op == "<" and right.value <= 0) or (op in ("<=", "==") and right.value < 0):
                self.error("W001", f"条件「{scope.text[node.start:node.end]}」永远不成立：{sym.target.name} 不会小于 0", scope, node,
                           help="检查比较方向或阈值", severity="warning")


def unit_help(units: Units, a: Type, b: Type, *nodes: ast.Node) -> str | None:
    """A hint for two types that do not go together (a bare number beside an area, a quoted date, null)."""
    if {a, b} == {Type.AREA, Type.NUMBER}:
        names = units.names
        bare = next((n for n in nodes if isinstance(n, ast.Number) and n.unit is None), None)
        example = f"写成 {bare.text}{names[0]}，" if bare is not None else ""
        return f"面积要带单位：{example}可用单位 " + "、".join(names)
    if {a, b} == {Type.DATE, Type.STRING}:
        return "日期直接写 YYYY-MM-DD，不加引号"
    if Type.NULL in (a, b):
        return "判断是否为空请写 字段 is null / is not null"
    return None
