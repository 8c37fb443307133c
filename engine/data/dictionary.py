"""The patch data dictionary (schemas/fields.yaml): fields, header mapping, cerberus contract."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import yaml

from engine.lang.units import Units
from engine.paths import schemas_dir

TYPES = ("string", "int", "date", "bool", "area", "enum")
HEADER_UNIT = re.compile(r"^(?P<name>.+?)\s*[(（]\s*(?P<unit>[^)）]+?)\s*[)）]\s*$")
DBF_NAME_BYTES = 10  # a DBF field name holds 10 bytes: a GBK Shapefile keeps 5 Chinese characters


def header_key(text: str) -> str:
    """What header matching compares: full width -> half width (NFKC), case folded, no white space at all."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(text))).casefold().lstrip("\ufeff")


def dbf_truncation(name: str) -> str | None:
    """`name` as a GBK DBF stores it (first 10 bytes, whole characters), or None when it fits."""
    try:
        raw = name.encode("gbk")
    except UnicodeEncodeError:
        return None
    if len(raw) <= DBF_NAME_BYTES:
        return None
    return raw[:DBF_NAME_BYTES].decode("gbk", errors="ignore")


@dataclass(frozen=True)
class Match:
    """How a header matched: the field, the unit it carries by default (alias), and by what (for people)."""
    field: "Field"
    how: str
    unit: str | None = None


@dataclass(frozen=True)
class Field:
    name: str
    code: str
    type: str
    values: tuple[str, ...] = ()
    pattern: str | None = None
    minimum: int | None = None
    max_field: str | None = None
    description: str = ""
    text_id: bool = False  # an identifier that Excel must keep as text (图斑编号, 行政区代码)

    @property
    def dsl_type(self) -> str:
        """Type as seen by the DSL checker."""
        return {"int": "number", "enum": "string"}.get(self.type, self.type)


@dataclass
class Dictionary:
    fields: list[Field]
    area_scale: int
    key: list[str]
    always_required: list[str]
    bool_true: list[str]
    bool_false: list[str]
    date_formats: list[str]
    levels: dict[str, int]
    area_units: dict[str, Decimal]  # unit -> factor to the carried unit (the first one)
    region_field: str
    area_check: dict = field(default_factory=dict)
    aliases: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)  # field -> [(alias, default unit)]
    known_unused: list[str] = field(default_factory=list)  # national headers recognised but not used
    non_patch_rows: dict[str, list[str]] = field(default_factory=dict)  # total / signature words
    serial_date_years: tuple[int, int] | None = None  # Excel serial dates accepted in date columns
    by_key: dict[str, Match] = field(default_factory=dict)
    by_name: dict[str, Field] = field(default_factory=dict)
    by_code: dict[str, Field] = field(default_factory=dict)

    def __post_init__(self):
        self.by_name = {f.name: f for f in self.fields}
        self.by_code = {f.code.upper(): f for f in self.fields}
        self.by_key = _match_table(self)

    @property
    def area_unit(self) -> str:
        return next(iter(self.area_units))

    @property
    def units(self) -> Units:
        """The area units, as the expression language takes them."""
        return Units.of(self.area_units)

    def lookup(self, name: str) -> Field | None:
        """A field by Chinese name or code (codes case-insensitive). Policies name fields this way only."""
        return self.by_name.get(name) or self.by_code.get(name.upper())

    def lookup_header(self, name: str) -> Field | None:
        """A field by a file header: name, code or alias (see header_key: case, width and spaces do not matter)."""
        f = self.lookup(name)
        if f is not None:
            return f
        m = self.by_key.get(header_key(name))
        return m.field if m is not None else None

    def match(self, header: str) -> Match | None:
        """How `header` (without a unit suffix) names a field, or None."""
        return self.by_key.get(header_key(header))

    def is_known_unused(self, header: str) -> bool:
        key = header_key(header)
        return any(header_key(h) == key for h in self.known_unused)

    def match_header(self, header: str) -> tuple[Field | None, str | None]:
        """Map a file header to (field, area unit). '耕地面积(平方米)' -> (耕地面积, '平方米')."""
        h = header.strip().lstrip("\ufeff")
        f = self.lookup_header(h)
        if f is not None:
            return f, None
        m = HEADER_UNIT.match(unicodedata.normalize("NFKC", h))
        if m:
            f = self.lookup_header(m.group("name").strip())
            unit = _unit_name(self, m.group("unit"))
            if f is not None and f.type == "area" and unit in self.area_units:
                return f, unit
        return None, None

    def cerberus_schema(self) -> dict:
        """The dictionary as a cerberus record contract (one patch, canonical names, areas in 亩)."""
        py = {"string": "string", "int": "integer", "date": "date", "bool": "boolean", "area": "number", "enum": "string"}
        schema: dict = {}
        for f in self.fields:
            rule: dict = {"type": py[f.type], "nullable": True}
            if f.type == "enum":
                rule["allowed"] = list(f.values)
            if f.pattern:
                rule["regex"] = f.pattern
            if f.type == "area":
                rule["min"] = 0
            if f.minimum is not None:
                rule["min"] = f.minimum
            if f.name in self.always_required:
                rule["required"] = True
                rule["nullable"] = False
            schema[f.name] = rule
        return schema


def load_dictionary(path: str | Path | None = None) -> Dictionary:
    return _load(str(path or schemas_dir() / "fields.yaml"))


def load_facts_dictionary(path: str | Path | None = None) -> Dictionary | None:
    """The region facts table's dictionary (the `region_facts:` section of schemas/fields.yaml), or None when the
    dictionary has no such section. It shares the patch dictionary's value words (是/否, date formats, levels, units);
    its key is (region code, year), both always required; every other field is a fact a policy may name."""
    return _load_facts(str(path or schemas_dir() / "fields.yaml"))


def fact_fields(path: str | Path | None = None) -> dict[str, str]:
    """Each region fact's name -> its DSL type word (number, bool, string, date); {} when none is declared."""
    d = load_facts_dictionary(path)
    if d is None:
        return {}
    return {f.name: f.dsl_type for f in d.fields if f.name not in d.key}


@lru_cache(maxsize=4)
def _load_facts(path: str) -> Dictionary | None:
    doc = _document(path)
    section = doc.get("region_facts")
    if not section:
        return None
    merged = {**doc, "fields": section["fields"], "key": section["key"], "always_required": section["key"],
              "region_field": section["key"][0], "aliases": section.get("aliases") or {},
              "known_unused": section.get("known_unused") or []}
    return _from_doc(path, merged)


@lru_cache(maxsize=4)
def _load(path: str) -> Dictionary:
    return _from_doc(path, _document(path))


@lru_cache(maxsize=4)
def _document(path: str) -> dict:
    """The dictionary file parsed once per process: the patch and the region facts dictionaries both read it
    (neither changes it)."""
    with open(path, encoding="utf-8") as fh:  # libyaml when PyYAML has it (~10× faster), the same document
        return yaml.load(fh, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _from_doc(path: str, doc: dict) -> Dictionary:
    fields = [
        Field(
            name=f["name"],
            code=f["code"],
            type=f["type"],
            values=tuple(f.get("values", ())),
            pattern=f.get("pattern"),
            minimum=f.get("min"),
            max_field=f.get("max_field"),
            description=f.get("description", ""),
            text_id=bool(f.get("text_id", False)),
        )
        for f in doc["fields"]
    ]
    for f in fields:
        if f.type not in TYPES:
            raise ValueError(f"{path}: 字段 {f.name} 的类型 {f.type} 无效")
    bools = doc["bool_values"]
    return Dictionary(
        fields=fields,
        area_scale=int(doc["area_scale"]),
        key=list(doc["key"]),
        always_required=list(doc["always_required"]),
        bool_true=[str(v) for v in bools[True]],
        bool_false=[str(v) for v in bools[False]],
        date_formats=list(doc["date_formats"]),
        levels=dict(doc["levels"]),
        area_units={str(k): Decimal(str(v)) for k, v in doc["area_units"].items()},
        region_field=str(doc["region_field"]),
        area_check=dict(doc.get("area_check") or {}),
        aliases={str(k): [(a, None) if isinstance(a, str) else (str(a["name"]), a.get("unit"))
                          for a in (v or [])] for k, v in (doc.get("aliases") or {}).items()},
        known_unused=[str(h) for h in doc.get("known_unused") or []],
        serial_date_years=tuple(doc["serial_date_years"]) if doc.get("serial_date_years") else None,
        non_patch_rows={str(k): [str(w) for w in v] for k, v in (doc.get("non_patch_rows") or {}).items()},
    )


def _match_table(d: Dictionary) -> dict[str, Match]:
    """header_key -> Match for names, codes, aliases and their GBK DBF truncations. A key claimed by two
    fields is an error in the dictionary; a truncation claimed by two fields is dropped (ambiguous)."""
    table: dict[str, Match] = {}
    for f in d.fields:
        entries = [(f.name, "字段名", None), (f.code, "代码", None)]
        entries += [(a, f"别名「{a}」", u) for a, u in d.aliases.get(f.name, [])]
        for text, how, unit in entries:
            key = header_key(text)
            other = table.get(key)
            if other is not None and other.field.name != f.name:
                raise ValueError(f"数据字典：表头「{text}」同时对应字段 {other.field.name} 和 {f.name}")
            table.setdefault(key, Match(f, how, unit))
    for name in d.aliases:
        if name not in d.by_name:
            raise ValueError(f"数据字典 aliases：没有字段「{name}」")
    truncated: dict[str, set] = {}
    for f in d.fields:
        for text, unit in [(f.name, None)] + list(d.aliases.get(f.name, [])):
            t = dbf_truncation(text)
            if t:
                truncated.setdefault(header_key(t), set()).add((f.name, text, unit))
    for key, claims in truncated.items():
        if key in table or len({c[0] for c in claims}) > 1:
            continue
        name, text, unit = sorted(claims)[0]
        table[key] = Match(d.by_name[name], f"「{text}」的 DBF 截断（10 字节）", unit)
    return table


def _unit_name(d: Dictionary, text: str) -> str:
    """A unit as written in a header, as the dictionary names it (NFKC turns ㎡ into m2)."""
    t = text.strip()
    if t in d.area_units:
        return t
    for u in d.area_units:
        if unicodedata.normalize("NFKC", u).casefold() == t.casefold():
            return u
    return t
