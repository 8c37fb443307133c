"""The SQL normalizer against a reference: Dictionary.cerberus_schema() (the record contract) validated by cerberus.

Random records (seeded) with some invalid cells are (1) converted to Python values by a small independent parser
and validated by cerberus, and (2) loaded as raw text into DuckDB and normalized. Both must reject the same rows,
for the same fields.
"""
from __future__ import annotations

import random
import re
from datetime import date, datetime

import cerberus
import duckdb
import pyarrow as pa
import pytest

from engine.data.dictionary import load_dictionary
from engine.data.normalize import normalize

D = load_dictionary()
SCHEMA = D.cerberus_schema()
N = 200
INVALID_SHARE = 0.08  # chance that a cell is invalid

# ---------------------------------------------------------------- the reference: text -> Python values


class Reference(cerberus.Validator):
    """cerberus plus `max_field` (耕地面积 <= 监测面积 …), which the plain contract cannot say."""

    def _validate_max_field(self, other, field, value):
        """{'type': 'string'}"""
        limit = self.document.get(other)
        if value is not None and isinstance(value, float) and isinstance(limit, float) and value > limit:
            self._error(field, f"greater than {other}")


def reference_schema() -> dict:
    schema = {k: dict(v) for k, v in SCHEMA.items()}
    for f in D.fields:
        if f.max_field:
            schema[f.name]["max_field"] = f.max_field
    return schema


def to_python(field, text: str | None):
    """Cell text -> the Python value the contract is about; unreadable text stays a str (cerberus then rejects its type)."""
    if text is None or text.strip() == "":
        return None
    t = text.strip()
    if field.type in ("string", "enum"):
        return t
    if field.type == "int":
        return int(t.split(".")[0]) if re.fullmatch(r"-?\d+(\.0+)?", t) else t
    if field.type == "area":
        u = t.replace(",", "")
        return float(u) if re.fullmatch(r"-?\d+(\.\d+)?", u) else t
    if field.type == "bool":
        if t in D.bool_true:
            return True
        if t in D.bool_false:
            return False
        return t
    if field.type == "date":
        for fmt in D.date_formats:
            try:
                return datetime.strptime(t, fmt).date()
            except ValueError:
                pass
        return t
    raise AssertionError(field.type)


# ---------------------------------------------------------------- random records


def valid_text(rng: random.Random, field, i: int, record: dict) -> str | None:
    if field.name == "图斑编号":
        return f"P{i:05d}"  # unique: duplicates are a table rule, not a record rule
    if field.name == "监测年度":
        return rng.choice(["2021", "2023", " 2023 ", "2023.0"])
    if field.name == "行政区代码":
        return rng.choice(["140923", "610902", "610921"])
    if rng.random() < 0.3:
        return None  # optional fields are often empty
    if field.type == "enum":
        return rng.choice(field.values)
    if field.type == "int":
        return str(rng.randint(field.minimum or 0, 12))
    if field.type == "date":
        d = date(2023, rng.randint(1, 12), rng.randint(1, 28))
        return d.strftime(rng.choice(D.date_formats))
    if field.type == "bool":
        return rng.choice(D.bool_true + D.bool_false)
    if field.type == "area":
        top = 2000
        limit = to_python(D.lookup(field.max_field), record.get(field.max_field)) if field.max_field else None
        if isinstance(limit, float) and limit >= 0:
            top = int(round(limit * 100))  # at most the limit
        return f"{rng.randint(0, top) / 100:.2f}"  # two decimals: exact in 亩 and as float
    return rng.choice(["甲", "X〔2021〕12号", "自然资源局", "a b"])


def invalid_text(rng: random.Random, field) -> str | None:
    if field.name in D.always_required and rng.random() < 0.3:
        return None  # required but empty
    if field.pattern:
        return rng.choice(["14092", "1409231", "14O923"])
    if field.type == "enum":
        v = rng.choice(field.values)
        return rng.choice([v + "类", v[:-1] + " " + v[-1], "其它"])
    if field.type == "int":
        choices = ["三", "1.5", "2023年", "1e1"]
        if field.minimum is not None:
            choices.append(str(field.minimum - 1))
        return rng.choice(choices)
    if field.type == "date":
        return rng.choice(["2023-02-30", "2023-13-01", "昨天", "23-3-1"])
    if field.type == "bool":
        return rng.choice(["可能", "2", "yes?"])
    if field.type == "area":
        return rng.choice(["-1", "-0.5", "abc", "1.2.3", "十亩"])
    return None  # plain strings have no invalid text


def records(seed: int) -> list[dict[str, str | None]]:
    rng = random.Random(seed)
    out = []
    for i in range(N):
        r = {}
        for f in D.fields:
            bad = rng.random() < INVALID_SHARE
            r[f.name] = invalid_text(rng, f) if bad else valid_text(rng, f, i, r)
            if bad and r[f.name] is None and f.name not in D.always_required:
                r[f.name] = valid_text(rng, f, i, r)
        # some rows break 耕地面积 <= 监测面积 on purpose
        if rng.random() < 0.05:
            r["监测面积"], r["耕地面积"] = "1.00", "1.01"
        out.append(r)
    return out


# ---------------------------------------------------------------- both sides


def cerberus_problems(rows) -> set[tuple[int, str]]:
    v = Reference(reference_schema())
    out = set()
    for i, r in enumerate(rows, start=1):
        doc = {f.name: to_python(f, r[f.name]) for f in D.fields}
        if not v.validate(doc):
            out |= {(i, name) for name in v.errors}
    return out


def normalizer_problems(rows) -> tuple[set[tuple[int, str]], int]:
    con = duckdb.connect()
    cols = [f.name for f in D.fields]
    table = {c: pa.array([r[c] for r in rows], pa.string()) for c in cols}
    table["_source"] = pa.array(["gen.csv"] * len(rows))
    table["_line"] = pa.array(range(1, len(rows) + 1), pa.int64())
    con.register("raw_arrow", pa.table(table))
    con.execute("CREATE TABLE raw AS SELECT * FROM raw_arrow")
    n = normalize(con, "raw", D, cols, required=set())
    got = con.execute("SELECT _line, e.field FROM (SELECT _line, unnest(_errors) AS e FROM patches)").fetchall()
    return {(int(line), name) for line, name in got}, n.rejected


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_normalizer_rejects_what_cerberus_rejects(seed):
    rows = records(seed)
    want = cerberus_problems(rows)
    got, rejected = normalizer_problems(rows)
    assert want, "the generator should produce invalid records"
    assert len({r for r, _ in want}) < N, "and valid ones"
    assert got == want, {"only normalizer": sorted(got - want), "only cerberus": sorted(want - got)}
    assert rejected == len({r for r, _ in want})


def test_valid_records_pass_both():
    rng = random.Random(7)
    rows = []
    for i in range(50):
        r: dict = {}
        for f in D.fields:
            r[f.name] = valid_text(rng, f, i, r)
        rows.append(r)
    assert cerberus_problems(rows) == set()
    assert normalizer_problems(rows) == (set(), 0)


def test_contract_shape():
    assert SCHEMA["图斑编号"] == {"type": "string", "nullable": False, "required": True}
    assert SCHEMA["判定结果"]["allowed"] == ["合法用地", "违法用地", "其他用地"]
    assert SCHEMA["耕地面积"]["type"] == "number" and SCHEMA["耕地面积"]["min"] == 0
    assert SCHEMA["行政区代码"]["regex"] == "^[0-9]{6}$"
    assert SCHEMA["现场照片数"] == {"type": "integer", "nullable": True, "min": 0}
    assert set(SCHEMA) == {f.name for f in D.fields}
