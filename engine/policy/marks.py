"""Load YAML keeping where every value came from (file, line, column)."""
from __future__ import annotations

import yaml

from engine.errors import Diagnostic, Loc, remember_source


class _Marked:
    file: str | None = None
    line: int | None = None  # 1-based
    col: int | None = None  # 1-based
    style: str | None = None  # YAML scalar style: None (plain), '"', "'", '|', '>'

    def loc(self, offset: int = 0, length: int = 1) -> Loc:
        """Location of character `offset` inside this scalar's text."""
        if self.line is None:
            return Loc(self.file)
        if self.style in ("|", ">") and isinstance(self, str):
            before = str.__str__(self)[:offset]
            line_no = before.count("\n")
            col_in_line = offset - (before.rfind("\n") + 1)
            return Loc(self.file, self.line + 1 + line_no, self._block_indent + 1 + col_in_line, length)
        shift = 1 if self.style in ('"', "'") else 0
        if isinstance(self, str) and "\n" not in str.__str__(self)[:offset]:
            return Loc(self.file, self.line, self.col + shift + offset, length)
        return Loc(self.file, self.line, self.col, length)

    _block_indent: int = 0


class YStr(str, _Marked):
    pass


class YInt(int, _Marked):
    pass


class YFloat(float, _Marked):
    pass


class YDict(dict, _Marked):
    text_sha256: str | None = None  # a file's top level: the sha256 of the text it was loaded from (load_yaml)

    def __init__(self, *a, **k):
        super().__init__(*a, **k)
        self.key_marks: dict = {}


class YList(list, _Marked):
    pass


def _mark(obj, node, file):
    obj.file = file
    obj.line = node.start_mark.line + 1
    obj.col = node.start_mark.column + 1
    obj.style = getattr(node, "style", None) or None  # libyaml says '' for a plain scalar, PyYAML None
    return obj


class YamlProblem(Exception):
    def __init__(self, diagnostic: Diagnostic):
        super().__init__(diagnostic.message)
        self.diagnostic = diagnostic


def _construct(node, file, text_lines):
    if isinstance(node, yaml.MappingNode):
        out = _mark(YDict(), node, file)
        for key_node, value_node in node.value:
            key = _construct(key_node, file, text_lines)
            if isinstance(key, (dict, list)):
                raise YamlProblem(Diagnostic("E001", "键必须是简单文本", Loc(file, key.line, key.col)))
            if key in out:
                raise YamlProblem(
                    Diagnostic(
                        "E002",
                        f"键「{key}」重复出现",
                        Loc(file, key.line, key.col, len(str(key))),
                        help=f"第一次出现在第 {out.key_marks[key].line} 行；删除其中一个",
                    )
                )
            out[key] = _construct(value_node, file, text_lines)
            out.key_marks[key] = key
        return out
    if isinstance(node, yaml.SequenceNode):
        out = _mark(YList(), node, file)
        out.extend(_construct(v, file, text_lines) for v in node.value)
        return out
    tag = node.tag
    value = node.value
    node.style = node.style or None  # libyaml says '' for a plain scalar, PyYAML None
    if node.style is None and tag == "tag:yaml.org,2002:int":
        try:
            return _mark(YInt(int(value.replace("_", ""), 0) if value.startswith("0") and len(value) > 1 else int(value.replace("_", ""))), node, file)
        except ValueError:
            pass
    if node.style is None and tag == "tag:yaml.org,2002:float":
        try:
            return _mark(YFloat(float(value)), node, file)
        except ValueError:
            pass
    if node.style is None and tag == "tag:yaml.org,2002:bool":
        return value.lower() in ("true", "yes", "on")
    if node.style is None and tag == "tag:yaml.org,2002:null":
        return None
    s = _mark(YStr(value), node, file)
    if node.style in ("|", ">"):
        first = node.start_mark.line + 1  # first content line (0-based index into lines)
        if first < len(text_lines):
            line = text_lines[first]
            s._block_indent = len(line) - len(line.lstrip(" "))
    return s


class _Counting:
    """Composes nodes counting aliases (*name) as it meets them and refusing nesting over the limit."""

    def _start_counting(self, path: str) -> None:
        self.path = path
        self.alias_marks: list = []
        self.depth = 0

    def compose_node(self, parent, index):
        from engine.limits import LIMITS, over

        if self.check_event(yaml.AliasEvent):
            self.alias_marks.append(self.peek_event().start_mark)
        self.depth += 1
        if self.depth > LIMITS.yaml_depth:  # the composer recurses: refuse before Python's stack runs out
            m = self.peek_event().start_mark
            raise YamlProblem(Diagnostic("E080", over("YAML 嵌套层数", f"超过 {LIMITS.yaml_depth}", LIMITS.yaml_depth, " 层"),
                                         Loc(self.path, m.line + 1, m.column + 1)))
        try:
            return yaml.composer.Composer.compose_node(self, parent, index)
        finally:
            self.depth -= 1


class _Loader(_Counting, yaml.SafeLoader):
    """PyYAML's pure-Python SafeLoader: its error messages are the ones explained to people (_yaml_words)."""

    def __init__(self, stream, path: str):
        yaml.SafeLoader.__init__(self, stream)
        self._start_counting(path)


try:
    from yaml._yaml import CParser
except ImportError:  # PyYAML built without libyaml
    CParser = None

if CParser is not None:
    class _FastLoader(_Counting, yaml.composer.Composer, CParser, yaml.resolver.Resolver):
        """libyaml's parser (C) feeding PyYAML's composer, with the same counting: the same nodes and marks as
        _Loader, several times faster. Used for documents it accepts; on any error the file is parsed again by
        _Loader so that the messages stay PyYAML's."""

        def __init__(self, stream, path: str):
            yaml.reader.Reader(stream)  # PyYAML's check for characters YAML does not allow (raises ReaderError)
            CParser.__init__(self, stream)
            yaml.composer.Composer.__init__(self)
            yaml.resolver.Resolver.__init__(self)
            self._start_counting(path)


def _compose(text: str, path: str):
    """yaml.compose with the alias limits of engine.limits: an alias bomb is refused before it is expanded."""
    from engine.limits import LIMITS, over

    node, loader = None, None
    # Where libyaml and PyYAML were seen to differ (fuzzing the bundled policies), the file goes the slow way:
    # libyaml accepts some tabs and a "?" inside a flow {…} that PyYAML refuses, and counts columns differently
    # after a BOM.
    if CParser is not None and not any(c in text for c in ("\t", "\ufeff", "?")):
        try:
            loader = _FastLoader(text, path)
            node = loader.get_single_node()
        except (yaml.YAMLError, YamlProblem):  # parse again below for PyYAML's own message
            loader = None
    if loader is None:
        loader = _Loader(text, path)
        try:
            node = loader.get_single_node()
        finally:
            loader.dispose()
    marks = loader.alias_marks
    if not marks or node is None:
        return node
    at = lambda m: Loc(path, m.line + 1, m.column + 1)  # noqa: E731
    if len(marks) > LIMITS.yaml_aliases:
        m = marks[LIMITS.yaml_aliases]
        raise YamlProblem(Diagnostic("E080", over("YAML 别名（*名称）个数", len(marks), LIMITS.yaml_aliases, " 个"), at(m),
                                     help="政策文件不需要别名；把被引用的内容直接写出来"))
    sizes: dict[int, int] = {}
    budget = LIMITS.yaml_alias_nodes

    def size(n, active: frozenset) -> int:  # nodes after expanding every alias, memoized; stops early over budget
        if id(n) in sizes:
            return sizes[id(n)]
        if id(n) in active:
            raise YamlProblem(Diagnostic("E080", "YAML 别名引用了包含它自己的内容", at(marks[0])))
        children = [c for kv in n.value for c in kv] if isinstance(n, yaml.MappingNode) else \
            list(n.value) if isinstance(n, yaml.SequenceNode) else []
        total = 1
        for c in children:
            total += size(c, active | {id(n)})
            if total > budget + distinct:
                break
        sizes[id(n)] = total
        return total

    distinct = _count_distinct(node)
    expanded = size(node, frozenset())
    if expanded > distinct + budget:
        raise YamlProblem(Diagnostic("E080", f"YAML 别名展开后新增的节点超出上限（上限 {budget} 个）", at(marks[0]),
                                     help="别名层层引用会成倍展开；把被引用的内容直接写出来"))
    return node


def _count_distinct(node) -> int:
    seen: set[int] = set()
    stack = [node]
    while stack:
        n = stack.pop()
        if id(n) in seen:
            continue
        seen.add(id(n))
        if isinstance(n, yaml.MappingNode):
            stack.extend(c for kv in n.value for c in kv)
        elif isinstance(n, yaml.SequenceNode):
            stack.extend(n.value)
    return len(seen)


def load_yaml(path: str) -> object:
    """Load one YAML file into Y* objects carrying marks; raises YamlProblem on syntax errors and over a limit."""
    import os

    from engine.limits import LIMITS, over

    try:
        size = os.path.getsize(path)
    except OSError:
        size = 0
    if size > LIMITS.policy_file_bytes:
        raise YamlProblem(Diagnostic("E081", over("文件大小", size, LIMITS.policy_file_bytes, " 字节"), Loc(path),
                                     help="政策文件通常只有几十 KB；请检查是否误提交了数据文件"))
    try:
        with open(path, encoding="utf-8") as fh:
            text = fh.read(LIMITS.policy_file_bytes + 1)
        if len(text.encode("utf-8")) > LIMITS.policy_file_bytes:
            raise YamlProblem(Diagnostic("E081", over("文件大小", f"超过 {LIMITS.policy_file_bytes}", LIMITS.policy_file_bytes, " 字节"),
                                         Loc(path)))
    except UnicodeDecodeError as exc:
        raise YamlProblem(Diagnostic("E003", "文件不是 UTF-8 编码", Loc(path), help="用 UTF-8 保存政策文件")) from None
    remember_source(path, text)
    try:
        node = _compose(text, path)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or "YAML 语法错误"
        help_text = _yaml_help(problem, text, mark)
        raise YamlProblem(
            Diagnostic(
                "E004",
                f"YAML 语法错误：{_yaml_words(problem)}",
                Loc(path, mark.line + 1 if mark else None, mark.column + 1 if mark else None),
                help=help_text,
            )
        ) from None
    except yaml.reader.ReaderError as exc:  # a character YAML does not allow (control characters, DEL …)
        before = text[: exc.position]
        line, col = before.count("\n") + 1, exc.position - (before.rfind("\n") + 1) + 1
        raise YamlProblem(Diagnostic("E004", f"YAML 语法错误：不允许的字符 U+{exc.character:04X}", Loc(path, line, col),
                                     help="删除这个控制字符（可能来自复制粘贴）")) from None
    except yaml.YAMLError as exc:
        raise YamlProblem(Diagnostic("E004", "YAML 语法错误", Loc(path, 1, 1))) from None
    if node is None:
        return None
    doc = _construct(node, path, text.splitlines())
    if isinstance(doc, YDict):  # what the document was built from (engine.policy.schema_cache)
        import hashlib

        doc.text_sha256 = hashlib.sha256(text.encode("utf-8")).hexdigest()
    return doc


def _yaml_words(problem: str) -> str:
    table = {
        "mapping values are not allowed here": "此处不能出现「: 」",
        "could not find expected ':'": "缺少「:」",
        "found character '\\t' that cannot start any token": "不能用 Tab 缩进",
        "did not find expected key": "缩进不一致，找不到预期的键",
        "found undefined alias": "未定义的别名",
        "expected <block end>, but found '-'": "列表项缩进不一致",
        "expected <block end>": "缩进不一致",
        "did not find expected '-' indicator": "列表项缩进不一致",
    }
    for k, v in table.items():
        if problem.startswith(k):
            return v
    return problem


def _yaml_help(problem: str, text: str, mark) -> str | None:
    if problem.startswith("mapping values are not allowed") and _deeper_than_previous(text, mark):
        return "这一行比上一行缩进得多；同一层的键要对齐（用空格缩进）"
    if problem.startswith("mapping values are not allowed"):
        return "值里含有「: 」时请用引号把整个值括起来，例如 message: \"{图斑编号}: …\""
    if "\\t" in problem or "'\\t'" in problem:
        return "用空格缩进"
    if "indent" in problem or "expected key" in problem or "block end" in problem:
        return "检查这一行与上一行的缩进（用空格，同级对齐）"
    return None


def _deeper_than_previous(text: str, mark) -> bool:
    """The error line is indented more than the previous non-blank line, which is not a `key:` opening a block."""
    lines = text.splitlines()
    if mark is None or not 0 < mark.line < len(lines):
        return False
    prev = next((ln for ln in reversed(lines[: mark.line]) if ln.strip()), None)
    if prev is None or prev.rstrip().endswith(":"):
        return False
    indent = lambda ln: len(ln) - len(ln.lstrip(" "))  # noqa: E731
    return indent(lines[mark.line]) > indent(prev)
