"""Parse DSL expressions (lark, LALR) into the AST of engine.lang.ast, with errors for people.

lark is imported only when an expression is parsed: an expression whose tree was kept (a TreeStore, see
engine.policy.parse_cache) becomes its AST without lark, through the same node builders (_Nodes)."""
from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, NamedTuple, Protocol

if TYPE_CHECKING:
    from lark import Lark, Tree
    from lark.exceptions import UnexpectedInput

from engine.lang import ast
from engine.limits import LIMITS
from engine.lang.units import Units

_GRAMMAR = Path(__file__).with_name("grammar.lark")

# What a parser state expects, said in words.
_EXPECT_WORDS = {
    "NAME": "字段名或名称",
    "NUMBER": "数字",
    "QUANTITY": "带单位的数值",
    "DATE": "日期（YYYY-MM-DD）",
    "STRING": "带引号的文本",
    "COMP_OP": "比较运算符（== != < <= > >=）",
    "_RPAR": "右括号 )",
    "_LPAR": "左括号 (",
    "RSQB": "右方括号 ]",
    "LSQB": "左方括号 [",
    "_THEN_EN": "then（则）",
    "_ELSE_EN": "else（否则）",
    "_NULL": "null",
    "_IN": "in",
    "_AND_EN": "and（且）",
    "_OR_EN": "or（或）",
    "_COMMA": "逗号",
    "_WHERE": "where",
}

# Typical mistakes, matched against the parser state (lark's match_examples).
_EXAMPLES = {
    ("比较运算符写错了", "大于等于请写 >=，小于等于请写 <="): ["a => 1", "a =< 1", "a >== 1"],
    ("括号不配对", "检查左右括号是否成对"): ["(a > 1", "((a)", "f(a"],
    ("if 表达式不完整", "写成 if 条件 then 值 else 值"): ["if a then b", "if a b else c", "if a then"],
    ("表达式不完整", "运算符后面缺少内容"): ["a and", "a or", "a ==", "not", "a +", "a in"],
    ("in 后面需要列表", '写成 字段 in ["值1", "值2"]'): ["a in b", 'a in "x"'],
    ("两个条件之间缺少 and / or", "用 and（且）或 or（或）连接条件"): ['a == "x" b == "y"', "a > 1 b > 1", 'a "x"', "a b"],
}


class ParseFailure(Exception):
    """A located problem in an expression's text. `code` is set for a limit (E071), which is not a syntax error."""

    def __init__(self, offset: int, length: int, message: str, help: str | None = None, code: str | None = None):
        super().__init__(message)
        self.offset, self.length, self.message, self.help, self.code = offset, length, message, help, code


class TreeStore(Protocol):
    """Parse trees kept between runs, by expression text, for one grammar (see grammar_key): what `tree_data` made."""

    def get(self, text: str) -> object | None: ...

    def put(self, text: str, data: object) -> None: ...


@lru_cache(maxsize=8)
def _grammar(area_units: tuple[str, ...]) -> str:
    return _GRAMMAR.read_text(encoding="utf-8").replace("%AREA_UNITS%", "|".join(re.escape(u) for u in area_units))


@lru_cache(maxsize=8)
def _parser(area_units: tuple[str, ...]) -> Lark:
    """The LALR parser for these area units (longest first), filled into the grammar's QUANTITY token."""
    from lark import Lark

    return Lark(_grammar(area_units), parser="lalr", propagate_positions=True, maybe_placeholders=True)


def grammar_key(units: Units) -> str:
    """What a parse tree depends on besides the expression's text: the grammar with these units, and lark's version
    (read from its installed metadata: importing lark would cost what the cache saves)."""
    from importlib.metadata import version

    text = f"lark {version('lark')}\n{_grammar(tuple(units.longest_first()))}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@lru_cache(maxsize=1024)
def _tree(text: str, area_units: tuple[str, ...]) -> Tree:
    """lark's tree of one expression. Policies repeat expressions (a year extending another is checked with its
    parent's entries), so trees are kept: the transformer only reads them. Failures are not cached."""
    return _parser(area_units).parse(text)


def _span(meta) -> dict:
    return {"start": meta.start_pos, "end": meta.end_pos}


def _tok_span(tok) -> dict:
    return {"start": tok.start_pos, "end": tok.end_pos}


class _Span(NamedTuple):
    """A node's place (what the builders read of lark's Meta)."""

    start_pos: int
    end_pos: int


class _Tok(str):
    """A token of a kept tree: its text, with what the builders read of lark's Token."""

    type: str
    start_pos: int
    end_pos: int


class _Nodes:
    """The AST node of each rule the grammar leaves in a tree, from its place (meta) and its children (tokens, None
    for an absent optional part, nodes already built)."""

    def __init__(self, area_units: tuple[str, ...]):
        self.area_units = area_units

    def quantity(self, meta, children):
        tok = children[0]
        text = str(tok)
        unit = next(u for u in [*self.area_units, "%", "％"] if text.endswith(u))
        num = text[: -len(unit)].strip()
        unit = "%" if unit == "％" else unit
        return ast.Number(Decimal(num), unit, text, **_span(meta))

    def number(self, meta, children):
        return ast.Number(Decimal(str(children[0])), None, str(children[0]), **_span(meta))

    def date(self, meta, children):
        y, m, d = (int(p) for p in str(children[0]).split("-"))
        try:
            value = date(y, m, d)
        except ValueError:
            raise ParseFailure(meta.start_pos, meta.end_pos - meta.start_pos, f"日期 {children[0]} 不存在", "检查年、月、日")
        return ast.DateLit(value, **_span(meta))

    def string(self, meta, children):
        return ast.String(str(children[0])[1:-1], **_span(meta))

    def true(self, meta, children):
        return ast.Bool(True, **_span(meta))

    def false(self, meta, children):
        return ast.Bool(False, **_span(meta))

    def null(self, meta, children):
        return ast.Null(**_span(meta))

    def name(self, meta, children):
        return ast.Name(str(children[0]), **_span(meta))

    def index(self, meta, children):
        base, key = children
        return ast.Index(ast.Name(str(base), **_tok_span(base)), str(key), **_span(meta))

    def call(self, meta, children):
        func, *args = children
        return ast.Call(str(func), [a for a in args if a is not None], **_span(meta))

    def sum_agg(self, meta, children):
        arg, where = children
        return ast.Aggregate("sum", arg, where, **_span(meta))

    def count_agg(self, meta, children):
        (where,) = children
        return ast.Aggregate("count", None, where, **_span(meta))

    def neg(self, meta, children):
        return ast.Unary("neg", children[0], **_span(meta))

    def not_(self, meta, children):
        return ast.Unary("not", children[-1], **_span(meta))

    def and_(self, meta, children):
        return ast.Binary("and", children[0], children[-1], **_span(meta))

    def or_(self, meta, children):
        return ast.Binary("or", children[0], children[-1], **_span(meta))

    def compare(self, meta, children):
        left, op, right = children
        op = {"=": "==", "≥": ">=", "≤": "<=", "≠": "!="}.get(str(op), str(op))
        return ast.Binary(op, left, right, **_span(meta))

    def binop(self, meta, children):
        left, op, right = children
        return ast.Binary(str(op), left, right, **_span(meta))

    def list(self, meta, children):
        return [c for c in children if c is not None]

    def in_(self, meta, children):
        return ast.InList(children[0], children[-1], False, **_span(meta))

    def not_in(self, meta, children):
        return ast.InList(children[0], children[-1], True, **_span(meta))

    def is_null(self, meta, children):
        return ast.IsNull(children[0], False, **_span(meta))

    def is_not_null(self, meta, children):
        return ast.IsNull(children[0], True, **_span(meta))

    def if_expr(self, meta, children):
        return ast.If(*children, **_span(meta))


_RULES = frozenset(n for n in vars(_Nodes) if not n.startswith("_"))  # every rule the grammar leaves in a tree


@lru_cache(maxsize=8)
def _transformer(area_units: tuple[str, ...]):
    """A lark Transformer applying _Nodes bottom-up (every rule goes to __default__)."""
    from lark import Transformer

    nodes = _Nodes(area_units)

    class ToAst(Transformer):
        def __default__(self, data, children, meta):
            return getattr(nodes, data)(meta, children)

    return ToAst()


def _transform(tree: Tree, area_units: tuple[str, ...]) -> ast.Node:
    return _transformer(area_units).transform(tree)


def parse(text: str, units: Units, store: TreeStore | None = None) -> ast.Node:
    """Parse one expression (quantities may carry one of `units`); raises ParseFailure with an offset into `text`.
    With `store` (trees of the grammar of `units`), a kept tree is used instead of the parser when it is well formed
    for `text`, and a new tree is kept."""
    if not text or not str(text).strip():
        raise ParseFailure(0, 1, "表达式为空", "写一个条件，例如 字段名 >= 数值")
    text = str(text)
    if len(text) > LIMITS.expression_chars:
        raise ParseFailure(LIMITS.expression_chars, 1, f"表达式过长：{len(text)} 个字符，上限 {LIMITS.expression_chars} 个",
                           "把条件拆成几个定义（definitions），再在规则中引用", code="E071")
    area_units = tuple(units.longest_first())
    kept = store.get(text) if store is not None else None
    if kept is not None:
        try:  # anything amiss (a tree not of this text, over a limit, a failure) and the parser decides
            return ast_from_data(kept, text, area_units)
        except Exception:
            pass
    from lark.exceptions import UnexpectedInput

    try:
        tree = _tree(text, area_units)
    except UnexpectedInput as exc:
        raise _explain(text, exc, _parser(area_units)) from None
    _within_limits(text, tree)
    try:
        node = _transform(tree, area_units)
    except Exception as exc:  # lark wraps errors raised in callbacks
        inner = getattr(exc, "orig_exc", exc)
        if isinstance(inner, ParseFailure):
            raise inner from None
        raise
    if store is not None:
        store.put(text, tree_data(tree))
    return node


def tree_data(tree) -> object:
    """lark's tree as JSON values: {"r": rule, "s": start, "e": end, "c": children}, a token {"t": type, "s", "e"}
    (its text is the expression's text there), an absent optional part null."""
    if tree is None:
        return None
    if isinstance(tree, str):  # a Token
        return {"t": tree.type, "s": tree.start_pos, "e": tree.end_pos}
    meta = tree.meta
    s, e = (None, None) if meta.empty else (meta.start_pos, meta.end_pos)
    return {"r": str(tree.data), "s": s, "e": e, "c": [tree_data(c) for c in tree.children]}


def ast_from_data(data, text: str, area_units: tuple[str, ...]) -> ast.Node:
    """The AST of `text` from the tree `tree_data` made of it, checked on the way: known rules, positions inside
    `text`, within the limits of lark's trees (nodes, depth); ValueError otherwise (a kept tree is never trusted
    blindly), or what the node builders raise."""
    nodes = _Nodes(area_units)
    count = [0]

    def pos(v) -> int:
        if type(v) is not int or not 0 <= v <= len(text):
            raise ValueError("position")
        return v

    def build(d, depth: int):
        if d is None:
            return None
        if type(d) is not dict:
            raise ValueError("node")
        s, e = pos(d.get("s")), pos(d.get("e"))
        if s > e:
            raise ValueError("span")
        if d.keys() == {"t", "s", "e"} and type(d["t"]) is str:
            tok = _Tok(text[s:e])
            tok.type, tok.start_pos, tok.end_pos = d["t"], s, e
            return tok
        count[0] += 1
        if count[0] > LIMITS.expression_nodes or depth > LIMITS.expression_depth:
            raise ValueError("limits")  # lark's tree would be refused too: the parser says how
        if d.keys() != {"r", "s", "e", "c"} or d["r"] not in _RULES or type(d["c"]) is not list:
            raise ValueError("tree")
        return getattr(nodes, d["r"])(_Span(s, e), [build(c, depth + 1) for c in d["c"]])

    node = build(data, 1)
    if not isinstance(node, ast.Node):
        raise ValueError("root")
    return node


def _within_limits(text: str, tree) -> None:
    """Depth and node count of lark's tree, walked without recursion (before the recursive transformer runs)."""
    from lark import Tree

    nodes = 0
    stack = [(tree, 1)]
    while stack:
        t, depth = stack.pop()
        if not isinstance(t, Tree):
            continue
        nodes += 1
        if depth > LIMITS.expression_depth:
            start = getattr(t.meta, "start_pos", 0) if not t.meta.empty else 0
            raise ParseFailure(start, 1, f"表达式嵌套过深：超过 {LIMITS.expression_depth} 层",
                               "减少括号和 not 的嵌套；一长串 or 可写成 字段 in [\"值1\", \"值2\"]，或拆成几个定义", code="E071")
        stack.extend((c, depth + 1) for c in t.children)
    if nodes > LIMITS.expression_nodes:
        raise ParseFailure(0, len(text), f"表达式过大：{nodes} 个节点，上限 {LIMITS.expression_nodes} 个",
                           "把条件拆成几个定义（definitions），再在规则中引用", code="E071")


def _expected(exc) -> str:
    names = sorted(getattr(exc, "expected", None) or getattr(exc, "allowed", None) or [])
    words = []
    for n in names:
        w = _EXPECT_WORDS.get(n)
        if w and w not in words:
            words.append(w)
    return "、".join(words[:6])


def _explain(text: str, exc: UnexpectedInput, parser: Lark) -> ParseFailure:
    from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedToken

    offset = exc.pos_in_stream if exc.pos_in_stream is not None else len(text)
    length = 1
    if isinstance(exc, UnexpectedToken) and exc.token is not None and exc.token.type != "$END":
        length = max(len(str(exc.token)), 1)
    if isinstance(exc, UnexpectedEOF) or (isinstance(exc, UnexpectedToken) and exc.token.type == "$END"):
        offset = len(text.rstrip())
    label = None
    try:
        label = exc.match_examples(parser.parse, _EXAMPLES, use_accepts=True)
    except Exception:
        label = None
    expected = _expected(exc)
    if isinstance(exc, UnexpectedCharacters):
        ch = text[offset] if offset < len(text) else ""
        hint = None
        if ch in "‘’":
            hint = '文本请用英文双引号 "…" 或中文引号 “…”'
        elif ch == "=":
            hint = "比较相等请写 =="
        elif ch in "&|!":
            hint = "逻辑运算请写 and / or / not（或 且 / 或 / 非）"
        elif ch == '"' or ch == "“":
            hint = "文本缺少结尾的引号"
        return ParseFailure(offset, 1, f"无法识别的字符「{ch}」", hint or (f"此处应为：{expected}" if expected else None))
    if label:
        message, hint = label
        return ParseFailure(offset, length, message, hint + (f"；此处应为：{expected}" if expected else ""))
    found = "表达式结尾" if length == 1 and offset >= len(text.rstrip()) else f"「{text[offset:offset+length]}」"
    return ParseFailure(offset, length, f"此处不应出现{found}", f"此处应为：{expected}" if expected else None)
