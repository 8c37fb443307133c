"""The patch data dictionary (schemas/fields.yaml): fields, header mapping, cerberus contract."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import yaml

from engine.paths import schemas_dir

TYPES = ("string", "int", "date", "bool", "area", "enum")
HEADER_UNIT = re.compile(r"^(?P<name>.+?)\s*[(（]\s*(?P<unit>[^)）]+?)\s*[)）]\s*$")


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
    by_name: dict[str, Field] = field(default_factory=dict)
    by_code: dict[str, Field] = field(default_factory=dict)

    def __post_init__(self):
        self.by_name = {f.name: f for f in self.fields}
        self.by_code = {f.code.upper(): f for f in self.fields}

    @property
    def area_unit(self) -> str:
        return next(iter(self.area_units))

    def lookup(self, name: str) -> Field | None:
        """A field by Chinese name or code (codes case-insensitive)."""
        return self.by_name.get(name) or self.by_code.get(name.upper())

    def match_header(self, header: str) -> tuple[Field | None, str | None]:
        """Map a file header to (field, area unit). '耕地面积(平方米)' -> (耕地面积, '平方米')."""
        h = header.strip().lstrip("\ufeff")
        f = self.lookup(h)
        if f is not None:
            return f, None
        m = HEADER_UNIT.match(h)
        if m:
            f = self.lookup(m.group("name").strip())
            unit = m.group("unit")
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


@lru_cache(maxsize=4)
def _load(path: str) -> Dictionary:
    with open(path, encoding="utf-8") as fh:
        doc = yaml.safe_load(fh)
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
    )
