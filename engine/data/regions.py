"""The region reference table (datasets/regions.csv): codes, names, levels, parents,
county-level division counts and the 用地审批权委托试点省 flag. Data, not code."""
from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

from engine.paths import datasets_dir

COLUMNS = ("代码", "名称", "级别", "上级代码", "县级区划数", "用地审批权委托试点省")


def default_path() -> Path:
    return datasets_dir() / "regions.csv"


def load_regions(path: str | Path | None = None) -> list[dict]:
    """Rows of regions.csv as dicts (keys = COLUMNS); empty cells become None,
    县级区划数 an int, 用地审批权委托试点省 a bool (None when not a province)."""
    return [dict(r) for r in _load(str(path or default_path()))]


def region_names(path: str | Path | None = None) -> dict[str, str]:
    """{代码: 名称} for every region."""
    return {r["代码"]: r["名称"] for r in _load(str(path or default_path()))}


@lru_cache(maxsize=4)
def _load(path: str) -> tuple[dict, ...]:
    with open(path, encoding="utf-8-sig", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
        if missing:
            raise ValueError(f"{path}: 行政区表缺少列 {'、'.join(missing)}")
        rows = []
        for r in reader:
            row = {c: (r[c].strip() or None) if r[c] is not None else None for c in COLUMNS}
            if row["县级区划数"] is not None:
                row["县级区划数"] = int(row["县级区划数"])
            if row["用地审批权委托试点省"] is not None:
                row["用地审批权委托试点省"] = row["用地审批权委托试点省"] == "是"
            rows.append(row)
    return tuple(rows)
