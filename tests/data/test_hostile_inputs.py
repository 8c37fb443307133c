"""Issue 11, the input-file half: no data file, folder or --encoding crashes or exhausts the engine.
Every bad input exits 2 with a Chinese message naming the file (and row/column where it applies)."""
from __future__ import annotations

import csv
import os
import struct
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pyogrio
import pytest

from conftest import run_cli

SAMPLE = Path("datasets/sample_2023.csv")


def sample_rows(n: int = 3) -> list[list[str]]:
    with open(SAMPLE, encoding="utf-8", newline="") as fh:
        return [row for _, row in zip(range(n), csv.reader(fh))]


def write_rows(path: Path, rows) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def with_column(path: Path, header: str, values) -> Path:
    rows = sample_rows(len(values) + 1)
    rows[0].append(header)
    for r, v in zip(rows[1:], values):
        r.append(v)
    return write_rows(path, rows)


def assert_input_error(code: int, out: str, err: str, *words: str) -> None:
    assert code == 2, out + err
    assert "Traceback" not in out + err and "内部错误" not in out + err
    for w in words:
        assert w in err, err


# --------------------------------------------------------------------------- encoding names

@pytest.mark.parametrize("name", ["rot13", "base64", "zlib", "bogus", "hex", "undefined", "idna"])
def test_encoding_must_be_a_text_encoding(capsys, name):
    code, out, err = run_cli(capsys, "check", SAMPLE, "--encoding", name)
    assert_input_error(code, out, err, f"“{name}”", "utf-8", "gbk", "gb18030")


def test_encoding_is_checked_for_every_file_type(capsys, tmp_path):
    pq.write_table(pa.table({"图斑编号": ["A1"], "监测年度": ["2023"]}), tmp_path / "a.parquet")
    code, out, err = run_cli(capsys, "check", tmp_path / "a.parquet", "--encoding", "rot13")
    assert_input_error(code, out, err, "“rot13”")


def test_utf16_without_bom_is_a_located_error(capsys):
    code, out, err = run_cli(capsys, "check", SAMPLE, "--encoding", "utf-16")
    assert_input_error(code, out, err, "sample_2023.csv", "utf-16")


def test_cpg_naming_a_non_text_codec_is_an_unknown_name(tmp_path, capsys):
    tab = pa.table({"TBBH": ["C1"], "JCND": ["2023"], "XZQDM": ["610902"], "GDMJ": ["1"], "PDJG": ["合法用地"],
                    "geometry": pa.array([struct.pack("<BIdd", 1, 1, 500000.0, 3600000.0)], pa.binary())})
    pyogrio.write_arrow(tab, str(tmp_path / "c.shp"), geometry_name="geometry", geometry_type="Point",
                        crs="EPSG:4547", encoding="GBK")
    (tmp_path / "c.cpg").write_text("rot13", encoding="ascii")
    import duckdb

    from engine.data.readers import read_input

    info = read_input(duckdb.connect(), tmp_path / "c.shp", "raw")
    assert info.rows == 1
    assert any("c.cpg" in w and "rot13" in w and "无法识别" in w for w in info.warnings), info.warnings


# --------------------------------------------------------------------------- reserved column names

@pytest.mark.parametrize("header, value", [
    ("_source", "伪造.csv"), ("_Source", "伪造.csv"), ("_SOURCE", "伪造.csv"),
    ("_line", "999"), ("_LINE", "999"), ("_Line", "999"), ("_geom_m2", "1"), ("_GEOM_M2", "1"), (" _line ", "9"),
])
def test_reserved_headers_are_refused_in_any_case(tmp_path, capsys, header, value):
    path = with_column(tmp_path / "表.csv", header, [value, value])
    code, out, err = run_cli(capsys, "check", path, "--as-of", "2024-06-30")
    assert_input_error(code, out, err, "表.csv", f"“{header.strip()}”", "保留名称")
    assert "伪造" not in out + err


def test_reserved_header_in_excel_names_sheet_and_row(tmp_path, capsys):
    import xlsxwriter

    path = tmp_path / "表.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("图斑")
    for r, row in enumerate(sample_rows(3)):
        ws.write_row(r + 1, 0, row + (["_Line"] if r == 0 else ["7"]))
    ws.write(0, 0, "标题")
    wb.close()
    code, out, err = run_cli(capsys, "check", path)
    assert_input_error(code, out, err, "表.xlsx", "图斑", "第 2 行", "“_Line”")


def test_reserved_column_in_parquet_cannot_pass_for_the_polygon_area(tmp_path, capsys):
    rows = sample_rows(3)
    cols = {h: [r[i] for r in rows[1:]] for i, h in enumerate(rows[0])}
    cols["_geom_m2"] = [1.0, 2.0]
    pq.write_table(pa.table(cols), tmp_path / "a.parquet")
    code, out, err = run_cli(capsys, "check", tmp_path / "a.parquet")
    assert_input_error(code, out, err, "a.parquet", "“_geom_m2”")


def test_reserved_field_in_a_shapefile(tmp_path, capsys):
    tab = pa.table({"TBBH": ["C1"], "JCND": ["2023"], "XZQDM": ["610902"], "_LINE": ["5"],
                    "geometry": pa.array([struct.pack("<BIdd", 1, 1, 500000.0, 3600000.0)], pa.binary())})
    pyogrio.write_arrow(tab, str(tmp_path / "s.shp"), geometry_name="geometry", geometry_type="Point",
                        crs="EPSG:4547", encoding="UTF-8")
    code, out, err = run_cli(capsys, "check", tmp_path / "s.shp")
    assert_input_error(code, out, err, "s.shp", "“_LINE”")


# --------------------------------------------------------------------------- symlinks in a data folder

@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_folder_symlinks_pointing_outside_are_not_followed(tmp_path, capsys):
    folder, outside = tmp_path / "月报", tmp_path / "外部"
    folder.mkdir()
    outside.mkdir()
    write_rows(folder / "a.csv", sample_rows(3))
    secret = sample_rows(2)
    secret[1][0] = "SECRET-FIRST-LINE"
    write_rows(outside / "secret.csv", secret)
    (folder / "b.csv").symlink_to(outside / "secret.csv")
    (folder / "c.csv").symlink_to("/etc/passwd")
    (folder / "d.csv").symlink_to("a.csv")  # a link inside the folder is read
    code, out, err = run_cli(capsys, "check", folder, "--as-of", "2024-06-30", "--format", "json")
    assert code in (0, 1), err
    assert "SECRET" not in out + err and "root:" not in out + err
    import json

    doc = json.loads(out)
    assert [Path(f).name for f in doc["input"]["files"]] == ["a.csv", "d.csv"]
    assert doc["input"]["rows"] == 4
    warnings = "\n".join(doc["warnings"])
    assert "“b.csv”是指向文件夹之外的符号链接，未读取" in warnings and "“c.csv”" in warnings
    assert "secret" not in warnings and "passwd" not in warnings  # the link is named, not where it leads


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_folder_of_only_outside_links_is_an_input_error(tmp_path, capsys):
    folder = tmp_path / "月报"
    folder.mkdir()
    (folder / "x.csv").symlink_to("/etc/passwd")
    code, out, err = run_cli(capsys, "check", folder)
    assert_input_error(code, out, err, "月报", "“x.csv”", "未读取")
    assert "root:" not in out + err


@pytest.mark.skipif(not hasattr(os, "symlink"), reason="no symlinks")
def test_shapefile_whose_dbf_links_outside_is_not_read(tmp_path, capsys):
    folder, outside = tmp_path / "月报", tmp_path / "外部"
    folder.mkdir()
    outside.mkdir()
    write_rows(folder / "a.csv", sample_rows(3))
    tab = pa.table({"TBBH": ["SECRET1"], "JCND": ["2023"], "XZQDM": ["610902"],
                    "geometry": pa.array([struct.pack("<BIdd", 1, 1, 500000.0, 3600000.0)], pa.binary())})
    pyogrio.write_arrow(tab, str(outside / "s.shp"), geometry_name="geometry", geometry_type="Point",
                        crs="EPSG:4547", encoding="UTF-8")
    (outside / "s.shp").rename(folder / "s.shp")
    (folder / "s.dbf").symlink_to(outside / "s.dbf")
    code, out, err = run_cli(capsys, "check", folder, "--format", "json")
    assert code in (0, 1), err
    assert "SECRET1" not in out + err
    assert "s.shp 未读取" in out


# --------------------------------------------------------------------------- input limits

def test_input_file_size_limit_and_its_override(tmp_path, capsys, monkeypatch):
    from engine.limits import LIMITS

    path = write_rows(tmp_path / "大.csv", sample_rows(3))
    monkeypatch.setattr(LIMITS, "input_file_bytes", 500)
    code, out, err = run_cli(capsys, "check", path)
    assert_input_error(code, out, err, "大.csv", "文件大小超出上限", "WEIPIAN_MAX_INPUT_SIZE")
    monkeypatch.setenv("WEIPIAN_MAX_INPUT_SIZE", "1MB")
    code, out, err = run_cli(capsys, "check", path, "--as-of", "2024-06-30")
    assert code in (0, 1), err
    monkeypatch.setenv("WEIPIAN_MAX_INPUT_SIZE", "很大")
    code, out, err = run_cli(capsys, "check", path)
    assert_input_error(code, out, err, "WEIPIAN_MAX_INPUT_SIZE", "很大")


def test_input_file_size_limit_covers_a_shapefiles_dbf(tmp_path, capsys, monkeypatch):
    from engine.limits import LIMITS

    tab = pa.table({"TBBH": ["C1"], "JCND": ["2023"], "XZQDM": ["610902"], "BZ": ["x" * 200],
                    "geometry": pa.array([struct.pack("<BIdd", 1, 1, 500000.0, 3600000.0)], pa.binary())})
    pyogrio.write_arrow(tab, str(tmp_path / "s.shp"), geometry_name="geometry", geometry_type="Point",
                        crs="EPSG:4547", encoding="UTF-8")
    monkeypatch.setattr(LIMITS, "input_file_bytes", (tmp_path / "s.shp").stat().st_size + 1)
    code, out, err = run_cli(capsys, "check", tmp_path / "s.shp")
    assert_input_error(code, out, err, "s.dbf", "文件大小超出上限")


def xlsx_with_shared_string(path: Path, text_bytes: bytes) -> Path:
    """An .xlsx whose one extra cell is a shared string of the given bytes (written straight into the zip)."""
    import zipfile

    import xlsxwriter

    plain = path.with_name("plain.xlsx")
    wb = xlsxwriter.Workbook(str(plain))
    ws = wb.add_worksheet("图斑")
    rows = sample_rows(3)
    for r, row in enumerate(rows):
        ws.write_row(r, 0, row)
    ws.write_string(1, len(rows[0]), "PLACEHOLDER")
    wb.close()
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/sharedStrings.xml":
                data = data.replace(b"PLACEHOLDER", text_bytes)
            zout.writestr(info.filename, data)
    return path


def test_xlsx_decompression_bomb_is_refused_from_the_zip_directory(tmp_path, capsys, monkeypatch):
    import time

    import python_calamine

    path = xlsx_with_shared_string(tmp_path / "炸弹.xlsx", b"A" * (256 << 20))
    assert path.stat().st_size < 400_000

    def never(*a, **k):
        raise AssertionError("calamine must not open a decompression bomb")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", never)
    t = time.monotonic()
    code, out, err = run_cli(capsys, "check", path)
    assert time.monotonic() - t < 10
    assert_input_error(code, out, err, "炸弹.xlsx", "xl/sharedStrings.xml", "压缩比", "疑似压缩炸弹")


def test_xlsx_uncompressed_size_limit(tmp_path, capsys, monkeypatch):
    from engine.limits import LIMITS

    path = xlsx_with_shared_string(tmp_path / "大.xlsx", b"short")
    monkeypatch.setattr(LIMITS, "xlsx_uncompressed_bytes", 2_000)
    code, out, err = run_cli(capsys, "check", path)
    assert_input_error(code, out, err, "大.xlsx", "解压后大小超出上限")


def test_xlsx_whose_zip_directory_lies_is_a_located_error(tmp_path, capsys):
    """The declared size of sharedStrings.xml is 1,000 bytes; its content inflates to 64 MiB."""
    import zipfile

    path = xlsx_with_shared_string(tmp_path / "谎报.xlsx", b"A" * (64 << 20))
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        info = z.getinfo("xl/sharedStrings.xml")
    struct.pack_into("<I", data, info.header_offset + 22, 1000)  # local header: uncompressed size
    name = info.filename.encode()
    pos = data.find(b"PK\x01\x02")
    while pos >= 0:  # central directory entry of the part
        if bytes(data[pos + 46:pos + 46 + struct.unpack_from("<H", data, pos + 28)[0]]) == name:
            struct.pack_into("<I", data, pos + 24, 1000)
        pos = data.find(b"PK\x01\x02", pos + 4)
    path.write_bytes(bytes(data))
    code, out, err = run_cli(capsys, "check", path)
    assert_input_error(code, out, err, "谎报.xlsx", "无法打开")


def test_long_cell_is_refused_with_file_row_and_column(tmp_path, capsys):
    rows = sample_rows(4)
    col = rows[0].index("图斑类型")
    rows[2][col] = "长" * 40_000
    path = write_rows(tmp_path / "长.csv", rows)
    code, out, err = run_cli(capsys, "check", path)
    assert_input_error(code, out, err, "长.csv", "第 3 行", "「图斑类型」", "40,000", "32,767")
    assert "长" * 100 not in err  # the cell is not printed


def test_long_cell_in_xlsx_is_refused_not_cut(tmp_path, capsys):
    path = xlsx_with_shared_string(tmp_path / "长.xlsx", "长".encode() * 40_000)
    code, out, err = run_cli(capsys, "check", path)
    assert_input_error(code, out, err, "长.xlsx", "第 2 行", "40,000")


def test_long_cell_with_line_breaks_in_csv_is_located_not_a_crash(tmp_path, capsys):
    rows = sample_rows(4)
    rows[2][5] = "甲\n" + "乙" * 200_000  # a quoted cell over the csv module's 128K field limit
    path = write_rows(tmp_path / "换行.csv", rows)
    code, out, err = run_cli(capsys, "check", path)
    assert_input_error(code, out, err, "换行.csv", "第 3 行", "200,002")


def test_overlong_lines_are_located(tmp_path, capsys):
    rows = sample_rows(3)
    rows[2][5] = "c" * 3_000_000
    code, out, err = run_cli(capsys, "check", write_rows(tmp_path / "行.csv", rows))
    assert_input_error(code, out, err, "行.csv", "第 3 行", "单行长度上限")
    (tmp_path / "头.csv").write_text("图斑编号,监测年度," + "x" * 3_000_000, encoding="utf-8")
    code, out, err = run_cli(capsys, "check", tmp_path / "头.csv")
    assert_input_error(code, out, err, "头.csv", "第 1 行（表头）")
    (tmp_path / "引号.csv").write_text('图斑编号,监测年度,"' + "x" * 200_000 + '"\n1,2,3\n', encoding="utf-8")
    code, out, err = run_cli(capsys, "check", tmp_path / "引号.csv")
    assert_input_error(code, out, err, "引号.csv")


def test_number_of_columns_limit(tmp_path, capsys):
    rows = sample_rows(3)
    rows[0] += [f"X{i}" for i in range(1_200)]
    code, out, err = run_cli(capsys, "check", write_rows(tmp_path / "宽.csv", rows))
    assert_input_error(code, out, err, "宽.csv", "列数超出上限", "1,2", "1,000")


def test_xlsx_with_one_far_away_cell_is_refused_before_the_grid_is_allocated(tmp_path, capsys, monkeypatch):
    """A 6 KB file with one cell at row 1,000,001, column 901 made calamine allocate 900 million cells."""
    import python_calamine
    import xlsxwriter

    path = tmp_path / "远.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("图斑")
    for r, row in enumerate(sample_rows(3)):
        ws.write_row(r, 0, row)
    ws.write(1_000_000, 900, "x")
    wb.close()
    assert path.stat().st_size < 20_000

    def never(*a, **k):
        raise AssertionError("calamine must not lay out this sheet")

    monkeypatch.setattr(python_calamine.CalamineWorkbook, "from_path", never)
    code, out, err = run_cli(capsys, "check", path)
    assert_input_error(code, out, err, "远.xlsx", "1,000,001 行 × 901 列", "单元格数超出上限")


def test_xlsx_extent_counts_cells_placed_by_position(tmp_path, capsys, monkeypatch):
    """Cells without an `r` attribute (and namespace-prefixed tags) follow the previous one."""
    import zipfile

    from engine.limits import LIMITS

    plain = xlsx_with_shared_string(tmp_path / "p.xlsx", b"x")
    path = tmp_path / "无引用.xlsx"
    with zipfile.ZipFile(plain) as zin, zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = data.replace(b"</sheetData>", b'<x:row r="40"><x:c t="n"><x:v>1</x:v></x:c>'
                                    + b"<c/>" * 59 + b"<c><v>2</v></c></x:row></sheetData>")
            zout.writestr(info.filename, data)
    monkeypatch.setattr(LIMITS, "xlsx_cells", 40 * 60)
    code, out, err = run_cli(capsys, "check", path)
    assert_input_error(code, out, err, "无引用.xlsx", "40 行 × 61 列")
    monkeypatch.setattr(LIMITS, "xlsx_cells", 40 * 61)
    code, out, err = run_cli(capsys, "check", path)
    assert "单元格数超出上限" not in err


def test_number_of_files_in_a_folder_limit(tmp_path, capsys, monkeypatch):
    from engine.limits import LIMITS

    folder = tmp_path / "月报"
    folder.mkdir()
    for i in range(4):
        write_rows(folder / f"{i}.csv", sample_rows(2))
    monkeypatch.setattr(LIMITS, "folder_files", 3)
    code, out, err = run_cli(capsys, "check", folder)
    assert_input_error(code, out, err, "月报", "个数超出上限", "4 个", "3 个")


def test_damaged_geopackage_prints_no_python_warning(tmp_path):
    import subprocess
    import sys

    (tmp_path / "坏.gpkg").write_bytes(b"SQLite format 3\x00" + bytes(range(256)) * 20)
    run = subprocess.run([sys.executable, "-c", "import sys; from engine.cli.main import main; sys.exit(main(sys.argv[1:]))",
                          "check", str(tmp_path / "坏.gpkg")], capture_output=True, text=True, timeout=120)
    assert_input_error(run.returncode, run.stdout, run.stderr, "坏.gpkg")
    assert "RuntimeWarning" not in run.stderr and "core.py" not in run.stderr
