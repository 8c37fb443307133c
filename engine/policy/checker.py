"""Check a loaded policy: resolve every name, infer types and units, report mistakes with positions."""
from __future__ import annotations

import re
from pathlib import Path
from dataclasses import dataclass, field

from engine.lang import ast
from engine.data.dictionary import Dictionary, Field
from engine.errors import Diagnostic, Loc, PolicyError, suggest
from engine.policy.loader import PolicySource
from engine.lang.parser import ParseFailure, parse
from engine.policy.model import Check, Definition, Param, Policy
from engine.policy.marks import YDict, YStr

TYPE_WORDS = {"number": "数字", "area": "面积", "date": "日期", "string": "文本", "bool": "是/否", "null": "空值"}

# name: (argument types, result type); "T" = same type as the first argument
FUNCTIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "day": (("date",), "number"),
    "month": (("date",), "number"),
    "year": (("date",), "number"),
    "quarter": (("date",), "number"),
    "month_end": (("date",), "date"),
    "add_days": (("date", "number"), "date"),
    "add_months": (("date", "number"), "date"),
    "with_day": (("date", "number"), "date"),
    "date": (("number", "number", "number"), "date"),
    "days_between": (("date", "date"), "number"),
    "abs": (("T",), "T"),
    "min": (("T", "T"), "T"),
    "max": (("T", "T"), "T"),
    "coalesce": (("T", "T"), "T"),
}
BUILTINS = {"评估日期": "date"}  # the evaluation date (--as-of)
ASSESSMENT_BUILTINS = {"评估级别": "string"}
_PLACEHOLDER = re.compile(r"\{([^{}]*)\}")


@dataclass
class Scope:
    """What names mean where an expression is written."""

    text: YStr
    level: str | None = None  # a trigger's level: per-level parameters resolve to it
    dynamic_level: bool = False  # assessments: per-level parameters resolve per row
    aggregates: bool = False
    values: dict[str, str] = field(default_factory=dict)  # assessment-local names -> type
    levels: tuple[str, ...] = ()


class Checker:
    def __init__(self, src: PolicySource, dictionary: Dictionary):
        self.src = src
        self.dict = dictionary
        self.diags: list[Diagnostic] = []
        self.params: dict[str, Param] = {}
        self.defs: dict[str, Definition] = {}
        self._def_state: dict[str, str] = {}
        self.used: set[str] = set()  # parameter/definition names referenced
        self.fields_used: set[str] = set()
        self._def_fields: dict[str, set[str]] = {}
        self._current_fields: set[str] | None = None

    # ---- diagnostics -------------------------------------------------
    def error(self, code: str, message: str, text: YStr, node: ast.Node | None = None, help: str | None = None, offset: int = 0,
              severity: str = "error"):
        if isinstance(text, YStr):
            if node is not None:
                loc = text.loc(offset + node.start, max(node.end - node.start, 1))
            else:
                loc = text.loc(offset, len(text) if offset == 0 else 1)
        else:
            loc = Loc()
        self.diags.append(Diagnostic(code, message, loc, help=help, severity=severity))

    def _levels(self) -> tuple[str, ...]:
        return tuple(self.dict.levels)

    # ---- parameters ----------------------------------------------------
    def literal(self, raw, key: YStr) -> ast.Node | None:
        text = raw if isinstance(raw, YStr) else YStr(str(raw))
        if not isinstance(raw, YStr):
            text.file, text.line, text.col = key.file, key.line, key.col
        try:
            node = parse(str(text))
        except ParseFailure as exc:
            self.diags.append(Diagnostic("E020", f"参数「{key}」的值无法解析：{exc.message}", text.loc(exc.offset, exc.length), help=exc.help))
            return None
        if isinstance(node, ast.Unary) and node.op == "neg" and isinstance(node.operand, ast.Number):
            node.operand.value = -node.operand.value
            node = node.operand
        if not isinstance(node, (ast.Number, ast.String, ast.DateLit, ast.Bool)):
            self.error("E021", f"参数「{key}」的值必须是一个常量（数值、文本、日期或 是/否）", text,
                       help="条件表达式请写在 definitions（定义）中")
            return None
        self.type_of_literal(node)
        return node

    def load_params(self):
        for name, raw in self.src.parameters.items():
            key = self.src.param_keys[name]
            cite = note = None
            value = raw
            if isinstance(raw, dict) and "value" in raw:
                value, cite, note = raw["value"], raw.get("cite"), raw.get("note")
            if isinstance(value, dict):
                by_level = {}
                for lv, v in value.items():
                    node = self.literal(v, value.key_marks[lv] if isinstance(value, YDict) else key)
                    if node is not None:
                        by_level[str(lv)] = node
                types = {n.type for n in by_level.values()}
                if len(types) > 1:
                    self.error("E022", f"参数「{name}」各级别的取值类型不一致：{'、'.join(TYPE_WORDS[t] for t in types)}", key)
                if by_level:
                    self.params[name] = Param(name, None, by_level, next(iter(by_level.values())).type, key, cite, note,
                                              "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}")
            else:
                node = self.literal(value, key)
                if node is not None:
                    self.params[name] = Param(name, node, None, node.type, key, cite, note, str(value))

    # ---- definitions ---------------------------------------------------
    def load_definitions(self):
        for name, raw in self.src.definitions.items():
            key = self.src.def_keys[name]
            cite = note = None
            text = raw
            if isinstance(raw, dict):
                text, cite, note = raw["expr"], raw.get("cite"), raw.get("note")
            if self.dict.lookup(name) is not None:
                self.error("E023", f"定义「{name}」与数据字典中的字段同名", key, help="换一个名称，避免混淆")
                continue
            try:
                node = parse(str(text))
            except ParseFailure as exc:
                self.diags.append(Diagnostic("E030", f"定义「{name}」语法错误：{exc.message}", text.loc(exc.offset, exc.length), help=exc.help))
                continue
            self.defs[name] = Definition(name, node, text, key, cite, note)
        for name in list(self.defs):
            self.check_definition(name)

    def check_definition(self, name: str) -> None:
        state = self._def_state.get(name)
        if state == "done":
            return
        d = self.defs[name]
        if state == "active":
            self.error("E031", f"定义「{name}」直接或间接引用了自身", d.text, help="检查定义之间的引用关系，去掉循环")
            d.expr.type = "error"
            return
        self._def_state[name] = "active"
        saved = self._current_fields
        self._current_fields = set()
        self.expr(d.expr, Scope(d.text, levels=self._levels()))
        self._def_fields[name] = self._current_fields
        self._current_fields = saved
        self._def_state[name] = "done"

    # ---- expressions -----------------------------------------------------
    def type_of_literal(self, node: ast.Node) -> str:
        if isinstance(node, ast.Number):
            node.type = "area" if node.unit in self.dict.area_units else "number"
        elif isinstance(node, ast.String):
            node.type = "string"
        elif isinstance(node, ast.DateLit):
            node.type = "date"
        elif isinstance(node, ast.Bool):
            node.type = "bool"
        elif isinstance(node, ast.Null):
            node.type = "null"
        return node.type

    def _use_field(self, f: Field):
        self.fields_used.add(f.name)
        if self._current_fields is not None:
            self._current_fields.add(f.name)

    def name(self, node: ast.Name, scope: Scope, index_key: str | None = None) -> str:
        n = node.name
        if n in scope.values:
            node.ref = ("value", n)
            return scope.values[n]
        if n in self.defs:
            self.used.add(n)
            self.check_definition(n)
            node.ref = ("def", self.defs[n])
            if self._current_fields is not None:
                self._current_fields |= self._def_fields.get(n, set())
            return self.defs[n].expr.type or "error"
        if n in self.params:
            self.used.add(n)
            p = self.params[n]
            node.ref = ("param", p)
            if p.by_level is not None and index_key is None and scope.level is None and not scope.dynamic_level:
                self.error("E032", f"参数「{n}」按级别取值，这里无法确定用哪一级", scope.text, node,
                           help=f"写成 {n}[{next(iter(p.by_level))}]，或在带 level 的触发条件中使用")
                return "error"
            if p.by_level is not None:
                wanted = index_key or scope.level
                if wanted is not None and wanted not in p.by_level:
                    self.error("E033", f"参数「{n}」没有「{wanted}」的取值", scope.text, node,
                               help="已有：" + "、".join(p.by_level))
                    return "error"
            elif index_key is not None:
                self.error("E034", f"参数「{n}」不按级别取值，不能写 [{index_key}]", scope.text, node)
                return "error"
            return p.type
        if n in self.src.parameters or n in self.src.definitions:
            node.ref = ("broken", n)
            return "error"  # already reported where it is defined
        f = self.dict.lookup(n)
        if f is not None:
            node.ref = ("field", f)
            self._use_field(f)
            return f.dsl_type
        if n in BUILTINS:
            node.ref = ("builtin", n)
            return BUILTINS[n]
        if n in ASSESSMENT_BUILTINS and (scope.aggregates or scope.dynamic_level):
            node.ref = ("builtin", n)
            return ASSESSMENT_BUILTINS[n]
        candidates = [*self.defs, *self.params, *self.dict.by_name, *BUILTINS, *scope.values]
        hint = None
        for word in ("非", "且", "或"):  # 非重点类 is one name: a missing space, not a typo of 重点类
            if n.startswith(word) and (n[1:] in candidates):
                hint = f"关键字「{word}」后面要加空格：{word} {n[1:]}"
        hint = hint or suggest(n, candidates)
        self.error("E040", f"未知名称「{n}」", scope.text, node, help=hint or "名称应为数据字典中的字段、参数或定义")
        return "error"

    def expr(self, node: ast.Node, scope: Scope) -> str:
        t = self._expr(node, scope)
        node.type = t
        return t

    def _enum_of(self, node: ast.Node):
        if isinstance(node, ast.Name) and node.ref and node.ref[0] == "field" and node.ref[1].type == "enum":
            return node.ref[1]
        return None

    def _check_enum_literal(self, f: Field, lit: ast.Node, scope: Scope):
        if isinstance(lit, ast.String) and lit.value not in f.values:
            hint = suggest(lit.value, f.values)
            self.error("E041", f"「{lit.value}」不是字段「{f.name}」的取值", scope.text, lit,
                       help=(hint + "；" if hint else "") + "可选：" + "、".join(f.values))

    def _expr(self, node: ast.Node, scope: Scope) -> str:
        if isinstance(node, (ast.Number, ast.String, ast.DateLit, ast.Bool, ast.Null)):
            return self.type_of_literal(node)
        if isinstance(node, ast.Name):
            return self.name(node, scope)
        if isinstance(node, ast.Index):
            if node.key not in self._levels():
                self.error("E035", f"「{node.key}」不是级别", scope.text, node, help="级别为：" + "、".join(self._levels()))
                return "error"
            t = self.name(node.name, scope, index_key=node.key)
            node.name.type = t
            return t
        if isinstance(node, ast.Call):
            return self.call(node, scope)
        if isinstance(node, ast.Aggregate):
            if not scope.aggregates:
                self.error("E036", f"{node.func}(…) 只能用在区域评估（assessments）中", scope.text, node,
                           help="逐图斑的规则直接比较字段的值，例如 字段名 >= 数值")
                return "error"
            if node.where is not None:
                self.want_bool(node.where, scope, "where 后面")
            if node.func == "count":
                return "number"
            t = self.expr(node.arg, scope)
            if t not in ("number", "area", "error"):
                self.error("E037", f"sum 只能对数值或面积求和，这里是{TYPE_WORDS.get(t, t)}", scope.text, node.arg)
                return "error"
            return t
        if isinstance(node, ast.Unary):
            if node.op == "not":
                self.want_bool(node.operand, scope, "not 后面")
                return "bool"
            t = self.expr(node.operand, scope)
            if t not in ("number", "area", "error"):
                self.error("E050", f"不能对{TYPE_WORDS.get(t, t)}取负", scope.text, node)
                return "error"
            return t
        if isinstance(node, ast.Binary):
            return self.binary(node, scope)
        if isinstance(node, ast.InList):
            t = self.expr(node.operand, scope)
            f = self._enum_of(node.operand)
            if not node.items:
                self.error("E051", "in 后面的列表为空", scope.text, node)
            for item in node.items:
                it = self.expr(item, scope)
                if "error" not in (t, it) and it != t:
                    self.error("E052", f"列表中的{TYPE_WORDS.get(it, it)}不能与{TYPE_WORDS.get(t, t)}比较", scope.text, item,
                               help=self._unit_help(t, it, item))
                if f is not None:
                    self._check_enum_literal(f, item, scope)
            return "bool"
        if isinstance(node, ast.IsNull):
            self.expr(node.operand, scope)
            return "bool"
        if isinstance(node, ast.If):
            self.want_bool(node.cond, scope, "if 后面")
            a = self.expr(node.then, scope)
            b = self.expr(node.else_, scope)
            if "error" in (a, b):
                return "error"
            if a == "null":
                return b
            if b == "null" or a == b:
                return a
            self.error("E053", f"then 与 else 的类型不一致：{TYPE_WORDS.get(a, a)} 与 {TYPE_WORDS.get(b, b)}", scope.text, node,
                       help=self._unit_help(a, b))
            return "error"
        raise AssertionError(node)

    def _unit_help(self, a: str, b: str, *nodes: ast.Node) -> str | None:
        if {a, b} == {"area", "number"}:
            units = list(self.dict.area_units)
            bare = next((n for n in nodes if isinstance(n, ast.Number) and n.unit is None), None)
            example = f"写成 {bare.text}{units[0]}，" if bare is not None else ""
            return f"面积要带单位：{example}可用单位 " + "、".join(units)
        if {a, b} == {"date", "string"}:
            return "日期直接写 YYYY-MM-DD，不加引号"
        if "null" in (a, b):
            return "判断是否为空请写 字段 is null / is not null"
        return None

    def want_bool(self, node: ast.Node, scope: Scope, where: str) -> None:
        t = self.expr(node, scope)
        if t not in ("bool", "error"):
            self.error("E054", f"{where}应为条件（是/否），这里是{TYPE_WORDS.get(t, t)}", scope.text, node,
                       help="例如 字段名 > 数值 或 字段名 == \"取值\"")

    def binary(self, node: ast.Binary, scope: Scope) -> str:
        op = node.op
        if op in ("and", "or"):
            self.want_bool(node.left, scope, f"{op} 左边")
            self.want_bool(node.right, scope, f"{op} 右边")
            return "bool"
        a = self.expr(node.left, scope)
        b = self.expr(node.right, scope)
        if "error" in (a, b):
            return "bool" if op in ("==", "!=", "<", "<=", ">", ">=") else "error"
        if op in ("==", "!=", "<", "<=", ">", ">="):
            if "null" in (a, b):
                self.error("E055", "不能用比较运算判断空值", scope.text, node, help=self._unit_help(a, b))
                return "bool"
            if a != b:
                self.error("E056", f"{TYPE_WORDS.get(a, a)}不能与{TYPE_WORDS.get(b, b)}比较", scope.text, node,
                           help=self._unit_help(a, b, node.left, node.right))
                return "bool"
            if op not in ("==", "!=") and a in ("string", "bool"):
                self.error("E057", f"{TYPE_WORDS[a]}不能比较大小，只能用 == 或 !=", scope.text, node)
            for side, other in ((node.left, node.right), (node.right, node.left)):
                f = self._enum_of(side)
                if f is not None:
                    self._check_enum_literal(f, other, scope)
            self._obvious(node, scope)
            return "bool"
        # arithmetic
        if a == "date" and b == "number" and op in "+-":
            return "date"
        if a == "date" and b == "date" and op == "-":
            return "number"
        if a in ("number", "area") and b in ("number", "area"):
            if op in "+-":
                if a != b:
                    self.error("E058", f"单位不一致：{TYPE_WORDS[a]} {op} {TYPE_WORDS[b]}", scope.text, node,
                               help=self._unit_help(a, b, node.left, node.right))
                    return "error"
                return a
            if op == "*":
                if a == b == "area":
                    self.error("E059", "面积不能与面积相乘", scope.text, node)
                    return "error"
                return "area" if "area" in (a, b) else "number"
            if op == "/":
                if a == "area" and b == "area":
                    return "number"
                if b == "area":
                    self.error("E059", "数字不能除以面积", scope.text, node)
                    return "error"
                return a
        self.error("E058", f"不能对{TYPE_WORDS.get(a, a)}和{TYPE_WORDS.get(b, b)}做「{op}」运算", scope.text, node, help=self._unit_help(a, b))
        return "error"

    def _obvious(self, node: ast.Binary, scope: Scope) -> None:
        """Warn about comparisons that can never be true (areas and counts are never negative)."""
        left, right, op = node.left, node.right, node.op
        if isinstance(left, ast.Name) and left.ref and left.ref[0] == "field" and isinstance(right, ast.Number):
            f = left.ref[1]
            if f.type in ("area", "int") and ((op == "<" and right.value <= 0) or (op in ("<=", "==") and right.value < 0)):
                self.error("W001", f"条件「{scope.text[node.start:node.end]}」永远不成立：{f.name} 不会小于 0", scope.text, node,
                           help="检查比较方向或阈值", severity="warning")

    def call(self, node: ast.Call, scope: Scope) -> str:
        spec = FUNCTIONS.get(node.func)
        if spec is None:
            self.error("E060", f"未知函数「{node.func}」", scope.text, node,
                       help=suggest(node.func, FUNCTIONS) or "可用函数：" + "、".join(FUNCTIONS))
            for a in node.args:
                self.expr(a, scope)
            return "error"
        want, result = spec
        if len(node.args) != len(want):
            self.error("E061", f"函数 {node.func} 需要 {len(want)} 个参数，这里有 {len(node.args)} 个", scope.text, node)
            return "error"
        types = [self.expr(a, scope) for a in node.args]
        if "error" in types:
            return "error"
        first = types[0]
        for a, t, w in zip(node.args, types, want):
            w = first if w == "T" else w
            if t != w and t != "null":
                self.error("E062", f"函数 {node.func} 的参数应为{TYPE_WORDS.get(w, w)}，这里是{TYPE_WORDS.get(t, t)}", scope.text, a,
                           help=self._unit_help(t, w))
                return "error"
        return first if result == "T" else result

    # ---- messages --------------------------------------------------------
    def message(self, text: YStr | None, scope: Scope) -> list:
        if text is None:
            return []
        parts: list = []
        pos = 0
        for m in _PLACEHOLDER.finditer(str(text)):
            parts.append(str(text)[pos : m.start()])
            inner = m.group(1)
            offset = m.start(1)
            try:
                node = parse(inner)
            except ParseFailure as exc:
                self.diags.append(Diagnostic("E070", f"message 中 {{…}} 的内容无法解析：{exc.message}",
                                             text.loc(offset + exc.offset, exc.length), help=exc.help))
                pos = m.end()
                continue
            sub = Scope(text, scope.level, scope.dynamic_level, scope.aggregates, scope.values, scope.levels)
            self._shift(node, offset)
            self.expr(node, sub)
            parts.append(node)
            pos = m.end()
        parts.append(str(text)[pos:])
        return [p for p in parts if p != ""]

    def _shift(self, node: ast.Node, offset: int):
        for n in ast.walk(node):
            n.start += offset
            n.end += offset

    # ---- entries ---------------------------------------------------------
    def require(self, entry: YDict, keys, what: str) -> bool:
        ok = True
        for k in keys:
            if entry.get(k) in (None, ""):
                eid = entry["id"]
                hint = {"cite": "写明条款出处，例如 cite: 附件4 二", "title": "写一个中文标题"}.get(k)
                self.diags.append(Diagnostic("E024" if k == "cite" else "E025", f"{what}「{eid}」缺少「{k}」",
                                             Loc(eid.file, eid.line, eid.col, len(eid)), help=hint))
                ok = False
        return ok

    def when(self, entry: YDict, scope_level: str | None) -> tuple[ast.Node, YStr] | None:
        text = entry["when"]
        try:
            node = parse(str(text))
        except ParseFailure as exc:
            self.diags.append(Diagnostic("E030", f"条件语法错误：{exc.message}", text.loc(exc.offset, exc.length), help=exc.help))
            return None
        self.want_bool(node, Scope(text, level=scope_level, levels=self._levels()), "when")
        return node, text

    def checks(self) -> tuple[list[Check], list[Check]]:
        rules, triggers = [], []
        for entry in self.src.entries["rules"]:
            if not self.require(entry, ("title", "cite", "severity", "when"), "规则"):
                continue
            w = self.when(entry, None)
            msg = self.message(entry.get("message"), Scope(entry.get("message") or YStr(""), levels=self._levels()))
            if w:
                rules.append(Check(str(entry["id"]), "rule", str(entry["title"]), str(entry["cite"]), w[0], w[1], msg, entry,
                                   severity=str(entry["severity"])))
        for entry in self.src.entries["triggers"]:
            if not self.require(entry, ("title", "cite", "level", "action", "when"), "触发条件"):
                continue
            level = str(entry["level"])
            w = self.when(entry, level)
            msg = self.message(entry.get("message"), Scope(entry.get("message") or YStr(""), level=level, levels=self._levels()))
            if w:
                triggers.append(Check(str(entry["id"]), "trigger", str(entry["title"]), str(entry["cite"]), w[0], w[1], msg, entry,
                                      level=level, action=str(entry["action"])))
        return rules, triggers

    def unused(self) -> list[Diagnostic]:
        out = []
        own = self.src.dir.resolve()
        for name, key in {**self.src.param_keys, **self.src.def_keys}.items():
            inherited = key.file is not None and Path(key.file).resolve().parent != own
            if inherited:  # an inherited name may be unused because its rules were dropped: the parent's lint reports it
                continue
            if name not in self.used and (name in self.src.parameters or name in self.src.definitions):
                kind = "参数" if name in self.src.parameters else "定义"
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


def check_policy(src: PolicySource, dictionary: Dictionary, assessment_checker=None) -> Policy:
    """Turn a loaded PolicySource into a typed Policy; raise PolicyError listing every problem."""
    c = Checker(src, dictionary)
    c.load_params()
    c.load_definitions()
    rules, triggers = c.checks()
    assessments = []
    if assessment_checker is not None:
        assessments = assessment_checker(c, src.entries["assessments"])
    errors = [d for d in c.diags if d.severity == "error"]
    if errors:
        raise PolicyError(errors + [d for d in c.diags if d.severity != "error"] + c.unused())
    return Policy(
        year=src.year,
        title=src.title,
        source=src.source,
        dir=src.dir,
        files=src.files,
        digest=src.digest(),
        file_hashes=src.file_hashes(),
        dictionary=dictionary,
        params=c.params,
        definitions=c.defs,
        rules=rules,
        triggers=triggers,
        assessments=assessments,
        fields_used=fields_of([*(x.when for x in rules + triggers), *(n for x in rules + triggers for n in x.message if not isinstance(n, str))]
                              + [n for a in assessments for n in getattr(a, "nodes", lambda: [])()]),
        warnings=[d for d in c.diags if d.severity != "error"] + c.unused(),
        region=src.region,
    )
