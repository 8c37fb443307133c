"""The same 2023 sample as xlsx (with a title row), GBK CSV, Parquet and Shapefile gives identical results."""
from __future__ import annotations

import json

import duckdb
import pyarrow as pa
import pyogrio
import pytest
import xlsxwriter

from engine import check, load_policies
from engine.data.dictionary import load_dictionary
from engine.paths import datasets_dir

SAMPLE = datasets_dir() / "sample_2023.csv"
AS_OF = "2024-06-30"


@pytest.fixture(scope="module")
def policies():
    return load_policies()


@pytest.fixture(scope="module")
def sample_rows():
    con = duckdb.connect()
    tab = con.sql(f"SELECT * FROM read_csv('{SAMPLE}', all_varchar=true)").to_arrow_table()
    return tab


def _comparable(result) -> dict:
    doc = result.to_json()
    for item in doc["findings"] + doc["tasks"]:  # where a patch was read (file name, row) differs by format
        item.pop("source", None)
        item.pop("line", None)
    return {k: doc[k] for k in ("findings", "tasks", "assessments")} | {"rows": doc["input"]["rows"], "rejected": doc["input"]["rejected"]}


def write_gbk_csv(tab: pa.Table, path):
    lines = [",".join(tab.column_names)]
    for row in tab.to_pylist():
        lines.append(",".join("" if v is None else str(v) for v in row.values()))
    path.write_bytes(("\r\n".join(lines) + "\r\n").encode("gbk"))


def write_xlsx_with_title(tab: pa.Table, path):
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("图斑")
    ws.merge_range(0, 0, 0, 5, "安康市2023年卫片执法图斑核查填报表")
    ws.write_row(1, 0, tab.column_names)
    for i, row in enumerate(tab.to_pylist()):
        ws.write_row(i + 2, 0, ["" if v is None else v for v in row.values()])
    wb.close()


def write_parquet(tab: pa.Table, path):
    con = duckdb.connect()
    con.register("t", tab)
    con.execute(f"COPY t TO '{path}' (FORMAT parquet)")


def write_shapefile(tab: pa.Table, path):
    # dBASE field names hold at most 10 bytes: shapefiles carry the field codes (TBBH, GDMJ …)
    d = load_dictionary()
    renamed = tab.rename_columns([d.lookup(c).code if d.lookup(c) else c for c in tab.column_names])
    wkb = bytes.fromhex("0101000000000000000000f03f0000000000000040")
    renamed = renamed.append_column("geometry", pa.array([wkb] * renamed.num_rows, pa.binary()))
    pyogrio.write_arrow(renamed, str(path), geometry_name="geometry", geometry_type="Point", crs="EPSG:4490", encoding="GBK")


@pytest.mark.parametrize("fmt", ["gbk.csv", "xlsx", "parquet", "shp"])
def test_every_format_gives_the_same_results(fmt, tmp_path, policies, sample_rows):
    expected = _comparable(check(SAMPLE, policies, as_of=AS_OF))
    assert expected["findings"] and expected["tasks"], "the sample must exercise rules and triggers"
    path = tmp_path / f"sample.{fmt}"
    {"gbk.csv": write_gbk_csv, "xlsx": write_xlsx_with_title, "parquet": write_parquet, "shp": write_shapefile}[fmt](sample_rows, path)
    got = _comparable(check(path, policies, as_of=AS_OF))
    assert json.dumps(got, ensure_ascii=False, sort_keys=True, default=str) == json.dumps(expected, ensure_ascii=False, sort_keys=True, default=str)
