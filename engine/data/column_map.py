"""A column map (`--columns map.yaml`): how a clerk tells weipian, once, what a strange file's headers mean.

    columns:                       # header as in the file -> dictionary field (name or code)
      图斑号: 图斑编号
      面积: {field: 监测面积, unit: 平方米}
    values:                        # a fixed value for a field the file does not carry (or leaves empty)
      监测年度: 2023

Headers are matched like dictionary names (full/half width, case and spaces do not matter), exactly.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from engine.data.dictionary import Dictionary, header_key
from engine.errors import InputError, suggest


@dataclass
class ColumnMap:
    path: str
    sha256: str
    columns: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # header_key -> (field, unit)
    headers: dict[str, str] = field(default_factory=dict)  # header_key -> header as written in the map
    values: dict[str, str] = field(default_factory=dict)  # field -> fixed value (text)

    def lookup(self, header: str) -> tuple[str, str | None] | None:
        return self.columns.get(header_key(header))

    def manifest(self) -> dict:
        return {"path": self.path, "sha256": self.sha256,
                "columns": {self.headers[k]: {"field": f, "unit": u} for k, (f, u) in self.columns.items()},
                "values": dict(self.values)}


def load_column_map(path, d: Dictionary) -> ColumnMap:
    p = Path(path)
    where = f"列映射文件 {p.name}"
    try:
        raw = p.read_bytes()
    except OSError:
        raise InputError(f"找不到列映射文件：{path}") from None
    try:
        doc = yaml.safe_load(raw.decode("utf-8-sig")) or {}
    except (UnicodeDecodeError, yaml.YAMLError) as e:
        mark = getattr(e, "problem_mark", None)
        at = f"第 {mark.line + 1} 行" if mark is not None else ""
        raise InputError(f"{where}{at}：不是有效的 UTF-8 YAML 文件") from None
    if not isinstance(doc, dict) or not set(doc) <= {"columns", "values"}:
        raise InputError(f"{where}：应只有 columns（表头 -> 字段）和 values（字段 -> 固定值）两部分")
    cm = ColumnMap(str(path), hashlib.sha256(raw).hexdigest())

    def field_of(name, what: str) -> str:
        f = d.lookup(str(name))
        if f is None:
            hint = suggest(str(name), [x.name for x in d.fields]) or ""
            raise InputError(f"{where}：{what}中的字段「{name}」不在数据字典中。{hint}")
        return f.name

    for header, target in (doc.get("columns") or {}).items():
        unit = None
        if isinstance(target, dict):
            unit = target.get("unit")
            target = target.get("field")
        name = field_of(target, f"列「{header}」")
        if unit is not None:
            unit = str(unit)
            if d.by_name[name].type != "area":
                raise InputError(f"{where}：列「{header}」对应的字段「{name}」不是面积，不能写单位")
            if unit not in d.area_units:
                raise InputError(f"{where}：列「{header}」的单位「{unit}」无法识别（可用：{'、'.join(d.area_units)}）")
        cm.columns[header_key(header)] = (name, unit)
        cm.headers[header_key(header)] = str(header)
    for name, value in (doc.get("values") or {}).items():
        cm.values[field_of(name, "values ")] = "是" if value is True else "否" if value is False else str(value)
    return cm
