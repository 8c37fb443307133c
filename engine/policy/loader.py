"""Load a policy directory: YAML files with marks, schema validation, merging and `extends`."""
from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from engine.errors import Diagnostic, Loc, PolicyError
from engine.policy.marks import YDict, YStr, YamlProblem, load_yaml
from engine.policy.schema_cache import SchemaPasses, schema_bytes

SECTIONS = ("rules", "triggers", "assessments")
HEADER_FILE = "policy.yaml"

if TYPE_CHECKING:
    import jsonschema


@dataclass
class PolicySource:
    """A policy directory after loading and merging, before any expression is checked."""

    dir: Path
    year: int | None = None
    title: str = ""
    source: str = ""
    region: str | None = None
    files: list[Path] = field(default_factory=list)
    parameters: dict[str, object] = field(default_factory=dict)
    param_keys: dict[str, YStr] = field(default_factory=dict)
    definitions: dict[str, object] = field(default_factory=dict)
    def_keys: dict[str, YStr] = field(default_factory=dict)
    entries: dict[str, list[YDict]] = field(default_factory=lambda: {s: [] for s in SECTIONS})
    chain: list[Path] = field(default_factory=list)  # this dir, then the dirs it extends
    chain_years: list[int | None] = field(default_factory=list)  # the policy year of each dir of `chain`

    def year_of(self, file: str | Path | None) -> int | None:
        """The policy year of the directory along `chain` that holds `file` (None when none does)."""
        if file is None:
            return None
        holder = Path(file).resolve().parent
        return next((y for d, y in zip(self.chain, self.chain_years) if d.resolve() == holder), None)

    def digest(self) -> str:
        h = hashlib.sha256()
        for f in sorted(self.files):
            h.update(f.name.encode())
            h.update(hashlib.sha256(f.read_bytes()).digest())
        return "sha256:" + h.hexdigest()

    def file_hashes(self) -> dict[str, str]:
        return {str(f): "sha256:" + hashlib.sha256(f.read_bytes()).hexdigest() for f in self.files}


@lru_cache(maxsize=1)
def _validator():
    import jsonschema  # ~0.15 s to import: only where a policy file is validated

    schema = json.loads(schema_bytes().decode("utf-8"))
    return jsonschema.Draft202012Validator(schema)


def _schema_errors(doc: YDict, passes: SchemaPasses) -> list:
    """The schema errors of a file's document, sorted by path; none without validating (nor importing
    jsonschema) when this very text passed before (engine.policy.schema_cache)."""
    if passes.passed(doc.text_sha256):
        return []
    errors = sorted(_validator().iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))
    if not errors:
        passes.add(doc.text_sha256)
    return errors


def boundary_of(directory: str | Path) -> Path:
    """The policy root of a policy directory: the real path of the folder holding it (policies/ for policies/2023).
    Nothing a policy names — its files, `extends` targets — may resolve outside it."""
    return Path(os.path.realpath(Path(os.path.abspath(directory)).parent))


def inside(path: str | Path, root: Path) -> bool:
    """`path`, with every symlink and `..` resolved, is `root` or below it."""
    real = Path(os.path.realpath(path))
    return real == root or root in real.parents


def _outside(what: str, loc: Loc) -> Diagnostic:
    # names the entry only: never the outside file's content, nor whether it exists
    return Diagnostic("E019", f"{what}在政策根目录之外，未读取", loc,
                      help="政策文件、extends 只能指向政策根目录（如 policies/）之内；不能用绝对路径、离开根目录的 ..，或指向外部的符号链接")


def _over_limits(doc: YDict) -> list[Diagnostic]:
    """Message templates over the limits of engine.limits (size, number of {field} placeholders)."""
    from engine.limits import LIMITS, over

    out = []
    for section in SECTIONS:
        for entry in doc.get(section) or []:
            msg = entry.get("message") if isinstance(entry, dict) else None
            if not isinstance(msg, YStr):
                continue
            loc = Loc(msg.file, msg.line, msg.col, 1)
            if len(msg) > LIMITS.message_chars:
                out.append(Diagnostic("E082", over(f"规则「{entry.get('id')}」的 message 长度", len(msg), LIMITS.message_chars, " 字"), loc))
            elif msg.count("{") > LIMITS.message_fields:
                out.append(Diagnostic("E082", over(f"规则「{entry.get('id')}」的 message 中 {{字段}} 个数", msg.count("{"),
                                                   LIMITS.message_fields, " 个"), loc))
    return out


def policy_files(directory: Path) -> list[Path]:
    files = sorted(p for p in directory.glob("*.yaml") if p.is_file())
    files += sorted(p for p in directory.glob("*.yml") if p.is_file())
    head = [p for p in files if p.name == HEADER_FILE]
    return head + [p for p in files if p.name != HEADER_FILE]


def _locate(doc, path) -> Loc:
    """Mark of the value at a jsonschema error path (or of the closest container)."""
    node = doc
    key_mark = None
    for step in path:
        try:
            child = node[step]
        except (KeyError, IndexError, TypeError):
            break
        if isinstance(node, YDict):
            key_mark = node.key_marks.get(step)
        node = child
    target = node if getattr(node, "line", None) is not None else key_mark
    if target is None:
        return Loc(getattr(doc, "file", None))
    length = len(str(target)) if isinstance(target, str) else 1
    return Loc(target.file, target.line, target.col, length)


def _schema_message(err: jsonschema.ValidationError) -> tuple[str, str | None]:
    v = err.validator
    where = "/".join(str(p) for p in err.absolute_path) or "文件顶层"
    if v == "additionalProperties":
        extra = [k for k in err.instance if k not in err.schema.get("properties", {})]
        allowed = list(err.schema.get("properties", {}))
        from engine.errors import suggest

        hint = suggest(str(extra[0]), allowed) if extra else None
        return f"{where} 中不认识的键「{'、'.join(map(str, extra))}」", hint or ("可用的键：" + "、".join(allowed))
    if v == "required":
        return f"{where} 缺少必填的键「{err.message.split(chr(39))[1]}」", None
    if v == "enum":
        return f"{where} 的值「{err.instance}」不在可选范围内", "可选：" + "、".join(map(str, err.validator_value))
    if v == "type":
        names = {"string": "文本", "integer": "整数", "number": "数字", "array": "列表", "object": "键值表", "boolean": "true/false"}
        want = err.validator_value if isinstance(err.validator_value, list) else [err.validator_value]
        return f"{where} 应为{'或'.join(names.get(w, w) for w in want)}", None
    if v == "dependentRequired":
        key = next((k for k, deps in err.validator_value.items() if k in err.instance and any(d not in err.instance for d in deps)), "")
        missing = [d for d in err.validator_value.get(key, []) if d not in err.instance]
        return f"{where} 写了「{key}」，还须写「{'、'.join(missing)}」", None
    if v == "pattern":
        return f"{where} 的值「{err.instance}」格式不对", f"应匹配 {err.validator_value}"
    if v == "oneOf" and (inner := next((c for c in err.context or [] if c.validator == "dependentRequired"), None)):
        return _schema_message(inner)  # the object form was meant: say what it lacks
    if v == "oneOf":
        return f"{where} 的写法不对", "参数写成数值、带单位的面积、百分比或日期（YYYY-MM-DD），或按级别写 {级别: 值, …}"
    return f"{where}：{err.message}", None


def load_source(directory: str | Path, _seen: tuple = (), root: Path | None = None,
                loaded: dict | None = None) -> PolicySource:
    """Load and merge a policy directory; raise PolicyError with every problem found.

    Everything is read inside the policy root (default: the folder holding `directory`, see boundary_of).
    `loaded` ({(real dir, root): PolicySource}, filled here) lets one load_policies() read each directory once:
    a year's own load and its use as another year's `extends` share the source (merging only reads a parent)."""
    directory = Path(directory)
    diags: list[Diagnostic] = []
    src = PolicySource(dir=directory)
    root = boundary_of(directory) if root is None else Path(os.path.realpath(root))
    if not inside(directory, root):
        raise PolicyError([_outside(f"政策目录 {directory.name}（符号链接）", Loc(str(directory)))])
    if not directory.is_dir():
        raise PolicyError([Diagnostic("E010", f"政策目录不存在：{directory}", Loc(str(directory)))])
    resolved = directory.resolve()
    if resolved in _seen:
        chain = " → ".join(str(p) for p in (*_seen, resolved))
        raise PolicyError([Diagnostic("E011", f"extends 形成循环：{chain}", Loc(str(directory / HEADER_FILE), 1, 1))])
    if loaded is not None and (resolved, root) in loaded:
        return loaded[(resolved, root)]
    files = policy_files(directory)
    if not files:
        raise PolicyError([Diagnostic("E010", f"目录 {directory} 中没有政策文件（*.yaml）", Loc(str(directory)))])
    docs: list[tuple[Path, YDict]] = []
    passes = SchemaPasses(schema_bytes())
    for path in files:
        if not inside(path, root):
            diags.append(_outside(f"政策文件 {path.name}（符号链接）", Loc(str(path))))
            continue
        try:
            doc = load_yaml(str(path))
        except YamlProblem as exc:
            diags.append(exc.diagnostic)
            continue
        if doc is None:
            continue
        if not isinstance(doc, YDict):
            diags.append(Diagnostic("E005", "政策文件顶层应为键值表（policy:、rules: 等）", Loc(str(path), 1, 1)))
            continue
        errors = _schema_errors(doc, passes)
        for err in errors:
            msg, hint = _schema_message(err)
            diags.append(Diagnostic("E006", msg, _locate(doc, err.absolute_path), help=hint))
        if not errors:
            diags.extend(_over_limits(doc))
            docs.append((path, doc))
    passes.save()
    src.files = [p for p in files if inside(p, root)]

    header = next((d for p, d in docs if p.name == HEADER_FILE), None)
    if header is None and not (directory / HEADER_FILE).exists():
        diags.append(Diagnostic("E007", f"目录 {directory} 缺少 {HEADER_FILE}（写明 policy: 年度）", Loc(str(directory))))
    parent: PolicySource | None = None
    if header is not None:
        if "policy" not in header:
            diags.append(Diagnostic("E007", "policy.yaml 缺少 policy: 年度", Loc(header.file, 1, 1)))
        else:
            src.year = int(header["policy"])
        src.title = str(header.get("title", ""))
        src.source = str(header.get("source", ""))
        src.region = header.get("region")
        ext = header.get("extends")
        if ext is not None:
            target = (directory / ext).resolve()
            ext_loc = Loc(ext.file, ext.line, ext.col, len(ext))
            if os.path.isabs(ext) or not inside(directory / ext, root):
                diags.append(_outside(f"extends 的目标「{ext}」", ext_loc))
            elif not target.is_dir():
                diags.append(
                    Diagnostic("E012", f"extends 指向的目录不存在：{ext}", Loc(ext.file, ext.line, ext.col, len(ext)),
                               help="写相对于本目录的路径，如 ../2021")
                )
            elif target in (*_seen, resolved):
                chain = " → ".join(str(p) for p in (*_seen, resolved, target))
                diags.append(Diagnostic("E011", f"extends 形成循环：{chain}", Loc(ext.file, ext.line, ext.col, len(ext)),
                                        help="政策只能沿一个方向继承（如 2023 继承 2021），去掉其中一个 extends"))
            else:
                try:
                    parent = load_source(target, (*_seen, resolved), root, loaded)
                except PolicyError as exc:
                    diags.extend(exc.diagnostics)
    for path, doc in docs:
        if path.name != HEADER_FILE:
            for key in ("policy", "extends", "drop", "title", "source", "region"):
                if key in doc:
                    k = doc.key_marks[key]
                    diags.append(Diagnostic("E008", f"「{key}」只能写在 {HEADER_FILE} 中", Loc(k.file, k.line, k.col, len(k))))
    if diags:
        raise PolicyError(diags)

    # Start from the parent, then apply this directory's files.
    if parent is not None:
        src.parameters = dict(parent.parameters)
        src.param_keys = dict(parent.param_keys)
        src.definitions = dict(parent.definitions)
        src.def_keys = dict(parent.def_keys)
        src.entries = {s: list(parent.entries[s]) for s in SECTIONS}
        src.files = src.files + parent.files
        src.chain = [directory, *parent.chain]
        src.chain_years = [src.year, *parent.chain_years]
    else:
        src.chain = [directory]
        src.chain_years = [src.year]
    own_names: dict[str, YStr] = {}
    for path, doc in docs:
        for table, keys, target in (("parameters", src.param_keys, src.parameters), ("definitions", src.def_keys, src.definitions)):
            for name, value in (doc.get(table) or {}).items():
                key = doc[table].key_marks[name]
                if name in own_names:
                    first = own_names[name]
                    diags.append(Diagnostic("E013", f"名称「{name}」重复定义", Loc(key.file, key.line, key.col, len(key)),
                                            help=f"第一次定义在 {first.file}:{first.line}"))
                    continue
                own_names[name] = key
                # a name is either a parameter or a definition: a new one replaces an inherited one of either kind
                (src.definitions if table == "parameters" else src.parameters).pop(name, None)
                target[name] = value
                keys[name] = key
    drops = header.get("drop") if header is not None else None
    index = {s: {str(e["id"]): i for i, e in enumerate(src.entries[s])} for s in SECTIONS}
    own_ids: dict[str, YStr] = {}
    for path, doc in docs:
        for section in SECTIONS:
            for entry in doc.get(section) or []:
                eid = entry["id"]
                if str(eid) in own_ids:
                    first = own_ids[str(eid)]
                    diags.append(Diagnostic("E014", f"规则编号「{eid}」重复", Loc(eid.file, eid.line, eid.col, len(eid)),
                                            help=f"第一次出现在 {first.file}:{first.line}；每条规则的编号必须唯一"))
                    continue
                own_ids[str(eid)] = eid
                inherited = next((s for s in SECTIONS if str(eid) in index[s]), None)
                if entry.get("override"):
                    if inherited != section:
                        diags.append(Diagnostic("E015", f"override 的规则「{eid}」在继承的政策中不存在", Loc(eid.file, eid.line, eid.col, len(eid)),
                                                help="去掉 override: true 以新增规则，或检查编号拼写" + _near(eid, index[section])))
                        continue
                    merged = YDict(src.entries[section][index[section][str(eid)]])
                    merged.key_marks = dict(src.entries[section][index[section][str(eid)]].key_marks)
                    for k, v in entry.items():
                        if k != "override":
                            merged[k] = v
                            merged.key_marks[k] = entry.key_marks[k]
                    merged.file, merged.line, merged.col = entry.file, entry.line, entry.col
                    src.entries[section][index[section][str(eid)]] = merged
                elif inherited is not None:
                    diags.append(Diagnostic("E016", f"规则「{eid}」与继承的政策中的规则重名", Loc(eid.file, eid.line, eid.col, len(eid)),
                                            help="要修改继承的规则，加上 override: true；要新增规则，换一个编号"))
                else:
                    src.entries[section].append(entry)
    if drops:
        for d in drops:
            section = next((s for s in SECTIONS if str(d) in index[s]), None)
            if section is None:
                diags.append(Diagnostic("E017", f"drop 的规则「{d}」在继承的政策中不存在", Loc(d.file, d.line, d.col, len(d)),
                                        help="检查编号拼写" + _near(d, {k for s in SECTIONS for k in index[s]})))
                continue
            src.entries[section] = [e for e in src.entries[section] if str(e["id"]) != str(d)]
    if diags:
        raise PolicyError(diags)
    if loaded is not None:
        loaded[(resolved, root)] = src
    return src


def _near(name: str, candidates) -> str:
    from engine.errors import suggest

    s = suggest(str(name), candidates)
    return f"；{s}" if s else ""
