"""The paths that keep a province's volume fast and bounded (issue 10): a Parquet input read through a view instead
of copied, row ids from file and line, areas in 64-bit decimals where they fit, typed booleans kept as they are.
Each gives the same values as the general path; expected values are worked out by hand in the comments."""
from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from engine.data.normalize import RID_FILE_STRIDE, normalize
from engine.data.readers import read_input
from engine.data.readers.common import is_view
from engine.errors import InputError
from engine.duck import connect
from engine.run.runner import lock

from conftest import write_csv


def _parquet(path, select: str):
    con = duckdb.connect()
    con.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
    con.close()
    return path


ROWS = """SELECT * FROM (VALUES
    ('A1', 2023, '610902', 12.5::DOUBLE, DATE '2023-03-01', true),
    ('A2', 2023, '610902', 99999999.99999::DOUBLE, DATE '2023-03-02', false),
    ('A3', 2023, '610902', 100000000.5::DOUBLE, DATE '2023-03-03', NULL)
) t("图斑编号", "监测年度", "行政区代码", "监测面积", "下发日期", "是否矿产图斑")"""


def test_parquet_is_read_through_a_view_the_locked_connection_may_read(tmp_path):
    p = _parquet(tmp_path / "图斑.parquet", ROWS)
    other = _parquet(tmp_path / "other.parquet", "SELECT 1 AS x")
    con = connect(keep_order=False)
    info = read_input(con, p, "raw", lazy=True)
    lock(con)
    assert is_view(con, "raw") and info.rows == 3
    assert con.execute("SELECT list(_line ORDER BY _line) FROM raw").fetchone()[0] == [1, 2, 3]  # file rows from 1
    with pytest.raises(duckdb.Error, match="disabled by configuration"):  # only the input itself is allowed
        con.execute(f"SELECT * FROM read_parquet('{other}')")


def test_parquet_without_lazy_is_copied(tmp_path):
    con = duckdb.connect()
    read_input(con, _parquet(tmp_path / "图斑.parquet", ROWS), "raw")
    assert not is_view(con, "raw")


def test_parquet_total_row_is_skipped_from_the_view(tmp_path):
    p = _parquet(tmp_path / "图斑.parquet", ROWS + " UNION ALL SELECT '合计', NULL, NULL, 200000013.0, NULL, NULL")
    con = connect(keep_order=False)
    info = read_input(con, p, "raw", lazy=True)
    assert [(s["line"], s["reason"]) for s in info.skipped] == [(4, "合计行")]
    assert info.rows == 3 and con.execute("SELECT count(*) FROM raw").fetchone()[0] == 3


def test_parquet_with_a_column_named_like_the_row_number(tmp_path):
    p = _parquet(tmp_path / "图斑.parquet", f"SELECT *, 7 AS file_row_number FROM ({ROWS})")
    con = connect(keep_order=False)
    info = read_input(con, p, "raw", lazy=True)
    assert "file_row_number" in info.columns
    assert con.execute("SELECT list(_line ORDER BY _line), min(file_row_number) FROM raw").fetchone() == ([1, 2, 3], "7")  # as text


def test_damaged_parquet_read_through_the_view_is_an_input_error(tmp_path):
    p = _parquet(tmp_path / "t.parquet", "SELECT 'A' || i AS 图斑编号, i AS 监测年度 FROM range(100000) r(i)")
    data = p.read_bytes()
    p.write_bytes(data[:4] + b"\0" * (len(data) // 2) + data[4 + len(data) // 2:])  # footer kept, pages broken
    con = connect(keep_order=False)
    with pytest.raises(InputError, match=r"t\.parquet.*损坏"):
        read_input(con, p, "raw", lazy=True)


def test_typed_values_from_parquet(tmp_path, dictionary):
    con = connect(keep_order=False)
    cols = read_input(con, _parquet(tmp_path / "图斑.parquet", ROWS), "raw", lazy=True).columns
    lock(con)
    normalize(con, "raw", dictionary, cols, required=set(), trimmed=True)
    got = con.execute('SELECT "图斑编号", "监测面积", "是否矿产图斑", len(_errors) FROM patches ORDER BY _rid').fetchall()
    assert got == [
        ("A1", Decimal("12.5000"), True, 0),
        # 99999999.99999 -> 4 decimals, half away from zero: 100000000.0000 (read in 64-bit decimals, < 10^8)
        ("A2", Decimal("100000000.0000"), False, 0),
        # 100000000.5 is beyond 64-bit decimals with 10 places: read by the 38-digit path, same rounding
        ("A3", Decimal("100000000.5000"), None, 0),
    ]


@pytest.mark.parametrize("text,want", [
    ("1.00005", Decimal("1.0001")),  # exactly half: away from zero
    ("1.000049999", Decimal("1.0000")),  # just below half
    ("-1.00005", Decimal("-1.0001")),  # rejected as negative, but read the same way
    ("99999999.99995", Decimal("100000000.0000")),  # the largest 64-bit path value rounds up across 10^8
    ("123456789.12345", Decimal("123456789.1235")),  # the 38-digit path, half away from zero too
    ("1,234.5", Decimal("1234.5000")),  # thousands separator
])
def test_area_text_rounding_on_both_paths(dictionary, text, want):
    con = duckdb.connect()
    con.execute("CREATE TABLE raw AS SELECT 'A' AS 图斑编号, '2023' AS 监测年度, '610902' AS 行政区代码, ? AS 监测面积, "
                "'f.csv' AS _source, 2::BIGINT AS _line", [text])
    normalize(con, "raw", dictionary, ["图斑编号", "监测年度", "行政区代码", "监测面积"], required=set())
    assert con.execute('SELECT "监测面积" FROM patches').fetchone()[0] == want


H, C = ["图斑编号", "监测年度", "行政区代码"], "610902"


def test_row_ids_follow_file_and_line_whatever_the_table_order(tmp_path, dictionary):
    folder = tmp_path / "市"
    folder.mkdir()
    write_csv(folder / "a.csv", H, [["A1", 2023, C], ["A2", 2023, C], ["A3", 2023, C]])
    write_csv(folder / "b.csv", H, [["B1", 2023, C], ["B2", 2023, C]])
    con = duckdb.connect()
    cols = read_input(con, folder, "raw").columns
    normalize(con, "raw", dictionary, cols, required=set(), trimmed=True)
    got = con.execute('SELECT "图斑编号", _rid FROM patches ORDER BY _rid').fetchall()
    # a.csv's data lines are 2..4 (file 0); b.csv's are 2..3 after 2^32 (file 1): 4294967298, 4294967299
    assert RID_FILE_STRIDE == 4294967296
    assert got == [("A1", 2), ("A2", 3), ("A3", 4), ("B1", 4294967298), ("B2", 4294967299)]


def test_duplicate_key_named_with_its_first_row_across_files(tmp_path, dictionary):
    folder = tmp_path / "市"
    folder.mkdir()
    write_csv(folder / "a.csv", H, [["A1", 2023, C], ["X", 2023, C]])
    write_csv(folder / "b.csv", H, [["X", 2023, C], ["X", 2022, C]])
    con = duckdb.connect()
    cols = read_input(con, folder, "raw").columns
    normalize(con, "raw", dictionary, cols, required=set(), trimmed=True)
    got = con.execute('SELECT _source, _line, [e.reason FOR e IN _errors IF e.field = \'图斑编号\'] FROM patches '
                      'ORDER BY _rid').fetchall()
    assert got == [("a.csv", 2, []), ("a.csv", 3, []),
                   ("b.csv", 2, ["与 a.csv 第3行重复（同一监测年度内图斑编号应唯一）"]),  # X 2023 first given in a.csv line 3
                   ("b.csv", 3, [])]  # X in 2022 is another patch


def test_parquet_damaged_in_a_number_column_is_an_input_error(tmp_path):
    """A lazily read file is not copied: a damaged page of a number column is still found and reported as the
    file's error (exit 2), not an internal one. (prepare also turns such an error met later, in normalize, into
    the same message.)"""
    from engine import check

    p = _parquet(tmp_path / "t.parquet", "SELECT 'A' || i AS 图斑编号, 2023 AS 监测年度, '610902' AS 行政区代码, "
                                          "hash(i) % 1000 / 7.0 AS 耕地面积 FROM range(200000) r(i)")
    data = bytearray(p.read_bytes())
    con = duckdb.connect()
    pages = con.execute(f"SELECT data_page_offset, total_compressed_size FROM parquet_metadata('{p}') "
                        "WHERE path_in_schema = '耕地面积'").fetchall()
    start, size = pages[0]
    data[start + 16:start + size - 16] = b"\xff" * (size - 32)
    p.write_bytes(bytes(data))
    with pytest.raises(InputError, match=r"t\.parquet.*损坏"):
        check(p, year=2023, as_of="2024-06-30")


def test_a_normalize_error_on_a_lazy_parquet_is_the_files(tmp_path, monkeypatch):
    """prepare: DuckDB failing while normalize reads a Parquet through its view is the file's error (exit 2); the same
    failure on a copied input (CSV) stays an internal error."""
    from engine import check
    from engine.run import runner

    def broken(*a, **k):
        raise duckdb.IOException("Invalid page header")

    monkeypatch.setattr(runner, "normalize", broken)
    with pytest.raises(InputError, match=r"图斑\.parquet.*损坏.*Invalid page header"):
        check(_parquet(tmp_path / "图斑.parquet", ROWS), year=2023, as_of="2024-06-30")
    csv = write_csv(tmp_path / "图斑.csv", H, [["A1", 2023, C]])
    with pytest.raises(duckdb.IOException):
        check(csv, year=2023, as_of="2024-06-30")


def test_lazy_parquet_input_and_a_parquet_output_both_pass_the_lock(tmp_path, capsys):
    """The locked connection reads its Parquet input through allowed_paths and writes its reserved export: adding
    the export's temp file keeps the input's entry. The bundled 2023 sample as Parquet gives the CSV's rows."""
    from pathlib import Path

    from conftest import run_cli

    sample = Path(__file__).resolve().parents[2] / "datasets/sample_2023.csv"
    p = _parquet(tmp_path / "图斑.parquet", f"SELECT * FROM read_csv('{sample}', all_varchar = true)")
    rows = {}
    for name, data in (("csv", sample), ("parquet", p)):
        out = tmp_path / f"{name}.parquet"
        code, _, err = run_cli(capsys, "check", data, "--as-of", "2024-06-30", "--output", out)
        assert code == 1, err
        rows[name] = duckdb.connect().execute(f"SELECT kind, patch, rule FROM read_parquet('{out}')").fetchall()
    assert rows["parquet"] == rows["csv"] and len(rows["csv"]) > 10
