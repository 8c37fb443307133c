"""engine.data.readers: every supported format gives the same raw table; every bad input a Chinese InputError."""
from __future__ import annotations

import csv
import datetime as dt
import hashlib
import struct

import duckdb
import pyarrow as pa
import pyogrio
import pytest
import xlsxwriter

from engine.data.dictionary import load_dictionary
from engine.data.readers import InputError, InputInfo, read_input
from engine.data.readers.common import column_types, text_sql, typed_fits
from engine.lang.quoting import quote_ident

# Headers fit a GBK .dbf (<= 10 bytes): short Chinese names, codes for the long ones.
HEADERS = ["图斑编号", "监测年度", "XZQDM", "下发日期", "图斑类型", "监测面积", "GDMJ", "判定结果", "WFLX",
           "整改状态", "审批文号", "现场照片数"]
ROWS = [
    ["610902-0001", "2023", "610902", "2023-03-05", "新增非农建设类", "12.5", "3", "违法用地", "新增建设用地违法", "未整改", None, "2"],
    ["610902-0002", "2023", "610902", "2023-03-21", "其他变化类", "0.1", "0", "合法用地", None, None,
     "陕政土批〔2020〕12号, 附\"补\"", "0"],
    ["610921-0003", "2023", "610921", "2023-04-01", "年度内持续变化类", "1234.5678", "1000.25", "其他用地", None, "整改中", None, None],
    ["610922-0004", "2023", "610922", "2023-01-31", "新增非农建设类", "66.6667", "66.6667", "违法用地", "农村宅基地违法",
     "已拆除复耕到位", None, "5"],
    ["610981-0005", "2023", "610981", "2023-12-01", "其他新增建设类", "7", "7", "违法用地", "其他违法", "已消除违法状态", None, "1"],
    ["610926-0006", "2023", "610926", "2023-06-20", "新增非农建设类", "150", "120.5", "合法用地", None, None, "安政土批〔2023〕7号", "3"],
]
TYPES = {"监测年度": "INTEGER", "下发日期": "DATE", "监测面积": "DOUBLE", "GDMJ": "DOUBLE", "现场照片数": "INTEGER"}


# --------------------------------------------------------------------------- fixture writers

def write_csv(path, encoding="utf-8", rows=ROWS, headers=HEADERS, newline="\r\n"):
    with open(path, "w", encoding=encoding, newline="") as fh:
        w = csv.writer(fh, lineterminator=newline)
        w.writerow(headers)
        w.writerows([["" if v is None else v for v in r] for r in rows])
    return path


def write_xlsx(path, title_rows=True):
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("图斑台账")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    r0 = 0
    if title_rows:
        ws.merge_range(0, 0, 0, len(HEADERS) - 1, "汉滨区2023年卫片执法图斑台账")
        ws.merge_range(1, 0, 1, 3, "填报单位：汉滨区自然资源局")
        ws.write(1, 8, "填报日期：2023年5月1日")
        r0 = 3  # a blank row between the title block and the header
    ws.write_row(r0, 0, HEADERS)
    for i, row in enumerate(ROWS, r0 + 1):
        for c, (h, v) in enumerate(zip(HEADERS, row)):
            if v is None:
                continue
            if TYPES.get(h) == "DATE":
                ws.write_datetime(i, c, dt.datetime.strptime(v, "%Y-%m-%d"), date_fmt)
            elif TYPES.get(h) in ("INTEGER", "DOUBLE"):
                ws.write_number(i, c, float(v))
            else:
                ws.write_string(i, c, v)
    wb.close()
    return path


def typed_table(con) -> pa.Table:
    con.execute("CREATE OR REPLACE TEMP TABLE fx AS SELECT * FROM (VALUES " + ", ".join(
        "(" + ", ".join("NULL" if v is None else "'" + v.replace("'", "''") + "'" for v in r) + ")" for r in ROWS)
        + ") t(" + ", ".join(f'"{h}"' for h in HEADERS) + ")")
    cols = ", ".join(f'CAST("{h}" AS {TYPES[h]}) AS "{h}"' if h in TYPES else f'"{h}"' for h in HEADERS)
    return con.sql(f"SELECT {cols} FROM fx").to_arrow_table()


def write_parquet(con, path):
    con.register("typed_fx", typed_table(con))
    con.execute(f"COPY (SELECT * FROM typed_fx) TO '{path}' (FORMAT parquet)")
    con.unregister("typed_fx")
    return path


def _with_points(tab: pa.Table) -> pa.Table:
    wkb = struct.pack("<BIdd", 1, 1, 109.0, 32.7)
    return tab.append_column("geometry", pa.array([wkb] * tab.num_rows, pa.binary()))


def write_shp(con, path, encoding="GBK"):
    pyogrio.write_arrow(_with_points(typed_table(con)), str(path), geometry_name="geometry",
                        geometry_type="Point", crs="EPSG:4490", encoding=encoding)
    return path


def write_gpkg(con, path):
    pyogrio.write_arrow(_with_points(typed_table(con)), str(path), layer="图斑", geometry_name="geometry",
                        geometry_type="Point", crs="EPSG:4490")
    return path


@pytest.fixture
def con():
    c = duckdb.connect()
    yield c
    c.close()


def data_of(con, table="raw"):
    """The data columns as text: a typed column (numbers, dates of a Parquet/GeoPackage/Shapefile) as a person
    would have typed it, so every format is compared cell by cell with the same text."""
    types = column_types(con, table)
    cols = ", ".join(text_sql(quote_ident(c), t) for c, t in types.items() if c not in ("_source", "_line"))
    return con.execute(f'SELECT {cols} FROM "{table}" ORDER BY "图斑编号"').fetchall()


EXPECTED = sorted(tuple(r) for r in ROWS)


# --------------------------------------------------------------------------- same table from every format

FORMATS = {
    "csv_utf8": lambda con, d: write_csv(d / "图斑.csv"),
    "csv_bom": lambda con, d: write_csv(d / "图斑.csv", "utf-8-sig"),
    "csv_gbk": lambda con, d: write_csv(d / "图斑.csv", "gbk"),
    "csv_gb18030_lf": lambda con, d: write_csv(d / "图斑.txt", "gb18030", newline="\n"),
    "xlsx_title_merged": lambda con, d: write_xlsx(d / "图斑.xlsx"),
    "parquet": lambda con, d: write_parquet(con, d / "图斑.parquet"),
    "shp_gbk_cpg": lambda con, d: write_shp(con, d / "图斑.shp"),
    "gpkg": lambda con, d: write_gpkg(con, d / "图斑.gpkg"),
}


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_gives_the_same_raw_table(con, tmp_path, fmt):
    path = FORMATS[fmt](con, tmp_path)
    info = read_input(con, path, "raw")
    assert isinstance(info, InputInfo)
    assert info.rows == len(ROWS)
    assert info.columns == HEADERS
    assert info.path == str(path)
    assert data_of(con) == EXPECTED
    types = dict(con.execute("SELECT column_name, data_type FROM information_schema.columns "
                             "WHERE table_name = 'raw'").fetchall())
    d = load_dictionary()
    typed = {h for h in HEADERS if types[h] != "VARCHAR"}
    # text stays text; a typed source keeps the columns whose type fits their field (read without text)
    assert all(typed_fits(d.match_header(h)[0].type, types[h]) for h in typed)
    assert (typed == set()) if fmt.startswith(("csv", "xlsx")) else ({"监测面积", "GDMJ", "下发日期"} <= typed)
    assert types["_source"] == "VARCHAR" and types["_line"] == "BIGINT"
    assert {r[0] for r in con.execute("SELECT DISTINCT _source FROM raw").fetchall()} == {path.name}
    lines = [r[0] for r in con.execute("SELECT _line FROM raw ORDER BY _line").fetchall()]
    first = {"xlsx_title_merged": 5, "parquet": 1, "shp_gbk_cpg": 1, "gpkg": 1}.get(fmt, 2)
    assert lines == list(range(first, first + len(ROWS)))


def test_sha256_of_a_file_is_the_file_hash(con, tmp_path):
    path = write_csv(tmp_path / "a.csv")
    info = read_input(con, path, "raw")
    assert info.sha256 == hashlib.sha256(path.read_bytes()).hexdigest()
    assert info.files == [str(path)]


def test_gbk_is_detected_and_reported(con, tmp_path):
    info = read_input(con, write_csv(tmp_path / "g.csv", "gbk"), "raw")
    assert any("GBK" in w for w in info.warnings)


def test_explicit_encoding(con, tmp_path):
    path = write_csv(tmp_path / "g.csv", "gbk")
    read_input(con, path, "raw", encoding="gbk")
    assert data_of(con) == EXPECTED


def test_wrong_explicit_encoding_names_file_and_line(con, tmp_path):
    path = write_csv(tmp_path / "g.csv", "gbk")
    with pytest.raises(InputError, match=r"g\.csv.*第 1 行.*utf-8"):
        read_input(con, path, "raw", encoding="utf-8")


def test_shapefile_gbk_without_cpg_is_detected(con, tmp_path):
    path = write_shp(con, tmp_path / "s.shp")
    (tmp_path / "s.cpg").unlink()
    info = read_input(con, path, "raw")
    assert data_of(con) == EXPECTED
    assert any("GBK" in w for w in info.warnings)


def test_shapefile_encoding_parameter(con, tmp_path):
    path = write_shp(con, tmp_path / "s.shp")
    (tmp_path / "s.cpg").unlink()
    read_input(con, path, "raw", encoding="gbk")
    assert data_of(con) == EXPECTED


def test_standalone_dbf(con, tmp_path):
    write_shp(con, tmp_path / "s.shp")
    info = read_input(con, tmp_path / "s.dbf", "raw")
    assert info.rows == len(ROWS) and data_of(con) == EXPECTED


def test_gpkg_layers(con, tmp_path):
    path = write_gpkg(con, tmp_path / "k.gpkg")
    wkb = struct.pack("<BIdd", 1, 1, 1.0, 2.0)
    pyogrio.write_arrow(pa.table({"TBBH": ["Z1"], "XZQDM": ["610902"], "geometry": pa.array([wkb], pa.binary())}),
                        str(path), layer="补充图斑", geometry_name="geometry", geometry_type="Point", crs="EPSG:4490")
    info = read_input(con, path, "raw")
    assert info.rows == len(ROWS) and any("补充图斑" in w for w in info.warnings)
    assert read_input(con, path, "raw", sheet="补充图斑").rows == 1
    with pytest.raises(InputError, match=r"k\.gpkg.*没有名为“无”的图层"):
        read_input(con, path, "raw", sheet="无")


def test_shapefile_hash_covers_its_sidecar_files(con, tmp_path):
    path = write_shp(con, tmp_path / "s.shp")
    info = read_input(con, path, "raw")
    assert {p.rsplit(".", 1)[1] for p in info.files} >= {"shp", "dbf", "cpg"}
    before = info.sha256
    (tmp_path / "s.cpg").write_text("GB18030")
    assert read_input(con, path, "raw").sha256 != before


# --------------------------------------------------------------------------- CSV details

def test_csv_quoted_newline_blank_lines_and_short_row_keep_every_record(con, tmp_path):
    path = tmp_path / "q.csv"
    path.write_text(
        "图斑编号,行政区代码,审批文号\r\n"          # 1
        "A1,610902,\"多行\r\n文号\"\r\n"            # 2-3
        "\r\n"                                       # 4 blank
        "A2,610921\r\n"                              # 5 short row
        " A3 ,\u3000610922\u3000,\"\"\r\n"           # 6 padded, empty quoted
        "A4,610923,\"逗号,在引号内\"",                # 7 no final newline
        encoding="utf-8")
    info = read_input(con, path, "raw")
    assert info.rows == 4
    got = con.execute('SELECT "图斑编号", "行政区代码", "审批文号", _line FROM raw ORDER BY _line').fetchall()
    assert got == [("A1", "610902", "多行\r\n文号", 2), ("A2", "610921", None, 5), ("A3", "610922", None, 6),
                   ("A4", "610923", "逗号,在引号内", 7)]


def test_excel_unicode_text_export_utf16_tab(con, tmp_path):
    path = tmp_path / "导出.txt"  # Excel "Unicode 文本": UTF-16 LE with BOM, tab separated
    path.write_bytes("图斑编号\t行政区代码\r\nA1\t610902\r\n".encode("utf-16"))
    info = read_input(con, path, "raw")
    assert con.execute("SELECT * EXCLUDE (_source) FROM raw").fetchall() == [("A1", "610902", 2)]
    assert info.rows == 1


def test_csv_tab_separated_txt(con, tmp_path):
    path = tmp_path / "t.txt"
    path.write_text("TBBH\tXZQDM\tJCND\nA1\t610902\t2023\n", encoding="utf-8")
    read_input(con, path, "raw")
    assert con.execute("SELECT TBBH, XZQDM, JCND, _line FROM raw").fetchall() == [("A1", "610902", "2023", 2)]


def test_csv_header_with_units_and_codes_is_a_patch_table(con, tmp_path):
    path = tmp_path / "u.csv"
    path.write_text("tbbh,耕地面积(平方米)\nA1,666.67\n", encoding="utf-8")
    info = read_input(con, path, "raw")
    assert info.columns == ["tbbh", "耕地面积(平方米)"]


def test_csv_row_with_too_many_fields_names_the_line(con, tmp_path):
    rows = [list(r) for r in ROWS]
    path = write_csv(tmp_path / "r.csv", rows=rows)
    text = path.read_bytes().decode("utf-8").split("\r\n")
    text[3] += ",多出来的值"
    path.write_bytes("\r\n".join(text).encode("utf-8"))
    with pytest.raises(InputError, match=r"r\.csv.*第 4 行.*字段数多于表头"):
        read_input(con, path, "raw")


def test_csv_trailing_empty_field_is_not_an_error(con, tmp_path):
    path = tmp_path / "t.csv"
    path.write_text("TBBH,XZQDM\nA1,610902,\nA2,610921\n", encoding="utf-8")
    assert read_input(con, path, "raw").rows == 2


def test_csv_header_without_name_is_dropped_when_empty_kept_when_not(con, tmp_path):
    path = tmp_path / "e.csv"
    path.write_text("TBBH,XZQDM,\nA1,610902,\n", encoding="utf-8")
    assert read_input(con, path, "raw").columns == ["TBBH", "XZQDM"]
    path.write_text("TBBH,XZQDM,\nA1,610902,备注\n", encoding="utf-8")
    info = read_input(con, path, "raw")
    assert info.columns == ["TBBH", "XZQDM", "列3"]
    assert any("列3" in w for w in info.warnings)


# --------------------------------------------------------------------------- Excel details

def test_xlsx_two_level_header_with_merged_cells(con, tmp_path):
    path = tmp_path / "two.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.merge_range("A1:E1", "图斑核查情况表")
    ws.merge_range("A2:A3", "图斑编号")
    ws.merge_range("B2:B3", "行政区代码")
    ws.merge_range("C2:E2", "面积（亩）")
    ws.write_row("C3", ["监测面积", "耕地面积", "永久基本农田面积"])
    ws.write_row("A4", ["A1", "610902", 10, 5.5, 0])
    ws.merge_range("B5:B6", "610921")  # a merged data cell: only its top-left cell has the value (issue 9)
    ws.write("A5", "A2")
    ws.write("A6", "A3")
    ws.write_row("C5", [1, 1])
    wb.close()
    info = read_input(con, path, "raw")
    # the unit written once above the area columns belongs to each of them (issue 9)
    assert info.columns == ["图斑编号", "行政区代码", "监测面积(亩)", "耕地面积(亩)", "永久基本农田面积(亩)"]
    assert con.execute("SELECT * EXCLUDE (_source) FROM raw ORDER BY _line").fetchall() == [
        ("A1", "610902", "10", "5.5", "0", 4), ("A2", "610921", "1", "1", None, 5), ("A3", None, None, None, None, 6)]
    assert any("合并单元格" in w and "B5:B6" in w for w in info.warnings)


def test_xlsx_other_sheet_and_sheet_parameter(con, tmp_path):
    path = tmp_path / "s.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    wb.add_worksheet("填表说明").write("A1", "请按要求填写")
    ws = wb.add_worksheet("数据")
    ws.write_row(0, 0, ["TBBH", "XZQDM"])
    ws.write_row(1, 0, ["A1", "610902"])
    wb.close()
    info = read_input(con, path, "raw")
    assert info.rows == 1 and any("填表说明" in w for w in info.warnings)
    assert read_input(con, path, "raw", sheet="数据").rows == 1
    with pytest.raises(InputError, match=r"s\.xlsx.*没有名为“不存在”的工作表.*填表说明、数据"):
        read_input(con, path, "raw", sheet="不存在")
    with pytest.raises(InputError, match=r"s\.xlsx.*填表说明.*不是图斑数据表"):
        read_input(con, path, "raw", sheet="填表说明")


def test_xlsx_cell_rendering(con, tmp_path):
    path = tmp_path / "c.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["TBBH", "JCND", "XFRQ", "TBRQ", "SFKC", "JCMJ", "GDMJ"])
    ws.write_string(1, 0, "00123")
    ws.write_number(1, 1, 2023)
    ws.write_datetime(1, 2, dt.datetime(2023, 3, 5), wb.add_format({"num_format": "yyyy/m/d"}))
    ws.write_datetime(1, 3, dt.datetime(2023, 3, 5, 14, 30), wb.add_format({"num_format": "yyyy-mm-dd hh:mm"}))
    ws.write_boolean(1, 4, True)
    ws.write_number(1, 5, 1234.5678)
    ws.write_number(1, 6, 1e-05)
    wb.close()
    read_input(con, path, "raw")
    assert con.execute("SELECT * EXCLUDE (_source, _line) FROM raw").fetchall() == [
        ("00123", "2023", "2023-03-05", "2023-03-05 14:30:00", "true", "1234.5678", "0.00001")]


# --------------------------------------------------------------------------- folders

def test_folder_unions_by_name_and_keeps_sources(con, tmp_path):
    d = tmp_path / "提交"
    d.mkdir()
    write_csv(d / "b_汉阴.csv", "gbk", rows=ROWS[:2])
    write_csv(d / "a_汉滨.csv", rows=ROWS[2:], headers=HEADERS)
    (d / "说明.doc").write_bytes(b"ignored")
    (d / "~$lock.xlsx").write_bytes(b"ignored")
    write_xlsx(d / "c.xlsx")
    info = read_input(con, d, "raw")
    assert info.rows == len(ROWS) * 2
    assert info.path == str(d)
    assert [p.rsplit("/", 1)[1] for p in info.files] == ["a_汉滨.csv", "b_汉阴.csv", "c.xlsx"]
    got = con.execute("SELECT _source, count(*) FROM raw GROUP BY 1 ORDER BY 1").fetchall()
    assert got == [("a_汉滨.csv", 4), ("b_汉阴.csv", 2), ("c.xlsx", 6)]
    assert con.execute("SELECT _source, _line FROM raw LIMIT 1").fetchall() == [("a_汉滨.csv", 2)]
    expected = hashlib.sha256("".join(
        f"{n}\t{hashlib.sha256((d / n).read_bytes()).hexdigest()}\n"
        for n in ["a_汉滨.csv", "b_汉阴.csv", "c.xlsx"]).encode()).hexdigest()
    assert info.sha256 == expected


def test_folder_with_different_columns(con, tmp_path):
    (tmp_path / "a.csv").write_text("TBBH,XZQDM\nA1,610902\n", encoding="utf-8")
    (tmp_path / "b.csv").write_text("TBBH,JCND,XZQDM\nB1,2023,610921\n", encoding="utf-8")
    info = read_input(con, tmp_path, "raw")
    assert info.columns == ["TBBH", "XZQDM", "JCND"]
    assert con.execute("SELECT TBBH, XZQDM, JCND FROM raw ORDER BY TBBH").fetchall() == [
        ("A1", "610902", None), ("B1", "610921", "2023")]
    assert any("a.csv" in w and "JCND" in w for w in info.warnings)


def test_folder_shapefile_counted_once(con, tmp_path):
    write_shp(con, tmp_path / "s.shp")
    info = read_input(con, tmp_path, "raw")
    assert info.rows == len(ROWS)


# --------------------------------------------------------------------------- bad input -> InputError naming the file

def _truncate(path, keep=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
    return path


BAD = {
    "missing": (lambda con, d: d / "没有.csv", r"没有\.csv"),
    "empty_csv": (lambda con, d: (d / "空.csv").write_bytes(b"") and None or d / "空.csv", r"空\.csv.*文件为空"),
    "header_only_csv": (lambda con, d: write_csv(d / "h.csv", rows=[]), r"h\.csv.*只有表头"),
    "header_only_xlsx": (lambda con, d: _xlsx_rows(d / "h.xlsx", [["TBBH", "XZQDM"]]), r"h\.xlsx.*只有表头"),
    "not_patch_csv": (lambda con, d: _text(d / "n.csv", "姓名,年龄\n张三,30\n"), r"n\.csv.*不是图斑数据表"),
    "not_patch_xlsx": (lambda con, d: _xlsx_rows(d / "n.xlsx", [["姓名", "年龄"], ["张三", 30]]), r"n\.xlsx.*不是图斑数据表"),
    "unsupported": (lambda con, d: _text(d / "a.docx", "x"), r"a\.docx.*不支持的文件类型"),
    "undecodable": (lambda con, d: _bytes(d / "b.csv", "TBBH,XZQDM\n".encode() + b"\xff\xfe\xff\x80\n"), r"b\.csv.*编码"),
    "unterminated_quote": (lambda con, d: _text(d / "q.csv", 'TBBH,XZQDM\nA1,"610902\n'), r"q\.csv"),
    "truncated_xlsx": (lambda con, d: _truncate(write_xlsx(d / "t.xlsx")), r"t\.xlsx.*损坏"),
    "garbage_xlsx": (lambda con, d: _text(d / "g.xlsx", "TBBH,XZQDM\n"), r"g\.xlsx.*损坏"),
    "truncated_parquet": (lambda con, d: _truncate(write_parquet(con, d / "t.parquet")), r"t\.parquet.*损坏"),
    "truncated_shp": (lambda con, d: _truncate_dbf(write_shp(con, d / "t.shp")), r"t\.(shp|dbf)"),
    "shp_without_dbf": (lambda con, d: _drop_dbf(write_shp(con, d / "x.shp")), r"x\.shp.*\.dbf"),
    "empty_folder": (lambda con, d: _mkdir(d / "空文件夹"), r"空文件夹.*没有可读取"),
    "empty_sheet": (lambda con, d: _xlsx_rows(d / "e.xlsx", []), r"e\.xlsx.*空"),
    "duplicate_header": (lambda con, d: _text(d / "dup.csv", "TBBH,XZQDM,TBBH\n1,2,3\n"), r"dup\.csv.*TBBH.*重复"),
}


def _text(path, s):
    path.write_text(s, encoding="utf-8")
    return path


def _bytes(path, b):
    path.write_bytes(b)
    return path


def _mkdir(path):
    path.mkdir()
    return path


def _xlsx_rows(path, rows):
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    for i, r in enumerate(rows):
        ws.write_row(i, 0, r)
    wb.close()
    return path


def _truncate_dbf(shp):
    _truncate(shp.with_suffix(".dbf"), 0.3)
    return shp


def _drop_dbf(shp):
    shp.with_suffix(".dbf").unlink()
    return shp


@pytest.mark.parametrize("case", BAD)
def test_bad_input_raises_input_error_naming_the_file(con, tmp_path, case):
    make, pattern = BAD[case]
    path = make(con, tmp_path)
    with pytest.raises(InputError, match=pattern) as exc:
        read_input(con, path, "raw")
    msg = str(exc.value)
    assert "Traceback" not in msg
    assert any("\u4e00" <= ch <= "\u9fff" for ch in msg), msg  # a Chinese message


def test_failed_read_leaves_no_staging_tables(con, tmp_path):
    path = _text(tmp_path / "n.csv", "姓名,年龄\n张三,30\n")
    with pytest.raises(InputError):
        read_input(con, path, "raw")
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name LIKE 'raw%'").fetchall() == [(0,)]


# --------------------------------------------------------------------------- the policy set's dictionary

def _custom_dictionary(tmp_path):
    """The bundled dictionary plus aliases 斑号 (图斑编号) and 区划码 (行政区代码), which the bundled one does not know."""
    import yaml

    from engine.data.dictionary import load_dictionary
    from engine.paths import schemas_dir

    doc = yaml.safe_load((schemas_dir() / "fields.yaml").read_text(encoding="utf-8"))
    doc["aliases"]["图斑编号"] = list(doc["aliases"]["图斑编号"]) + ["斑号"]
    doc["aliases"]["行政区代码"] = list(doc["aliases"].get("行政区代码") or []) + ["区划码"]
    path = tmp_path / "fields.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_dictionary(path)


def test_header_detection_uses_the_dictionary_it_is_given(con, tmp_path):
    """A header row named only by a custom dictionary's aliases: refused as no patch table with the bundled
    dictionary, found (below a title row in Excel, as the first line of a CSV) with the custom one."""
    custom = _custom_dictionary(tmp_path)
    headers, row = ["斑号", "区划码", "备注"], ["A-1", "610902", "x"]
    csv_path = write_csv(tmp_path / "c.csv", rows=[row], headers=headers)
    xlsx_path = tmp_path / "c.xlsx"
    wb = xlsxwriter.Workbook(str(xlsx_path))
    ws = wb.add_worksheet("图斑")
    ws.write_row(0, 0, ["某县卫片图斑表"])
    ws.write_row(1, 0, headers)
    ws.write_row(2, 0, row)
    wb.close()
    for path in (csv_path, xlsx_path):
        with pytest.raises(InputError, match="不是图斑数据表"):
            read_input(con, path, "raw")
        info = read_input(con, path, "raw", dictionary=custom)
        assert info.columns == headers and info.rows == 1
        assert con.execute('SELECT "斑号", "区划码", _line FROM raw').fetchall() == [("A-1", "610902", 2 if path == csv_path else 3)]
