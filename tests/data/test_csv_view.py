"""A CSV read for a run (read_input lazy=True) is copied once: its cells into a table built in file order, and `raw`
is a view trimming them. The line of every record (来源行 in every message) must be the physical line, also when
DuckDB reads a large file in parallel, and also with line breaks inside cells, blank lines and 合计 rows."""
from __future__ import annotations

import pytest

from engine.data.readers import read_input
from engine.data.readers.common import is_view
from engine.duck import connect
from engine.run.runner import lock

HEADER = "图斑编号,监测年度,行政区代码,备注\n"


def _con():
    return connect(keep_order=False)  # as a run opens it: DuckDB may reorder what has no ORDER BY


@pytest.fixture(autouse=True)
def every_csv_lazy(monkeypatch):
    """The small files here read as a province's large one is (a county's is copied, see LAZY_CSV_BYTES)."""
    from engine.data import readers

    monkeypatch.setattr(readers, "LAZY_CSV_BYTES", 0)


def test_a_county_csv_is_copied_a_large_one_is_a_view(tmp_path, monkeypatch):
    from engine.data import readers

    p = tmp_path / "c.csv"
    p.write_text(HEADER + "A1,2023,610902,\n", encoding="utf-8")
    monkeypatch.setattr(readers, "LAZY_CSV_BYTES", p.stat().st_size + 1)  # one byte short of it: copied
    con = _con()
    read_input(con, p, "raw", lazy=True)
    assert not is_view(con, "raw") and con.execute("SELECT _line FROM raw").fetchall() == [(2,)]
    assert con.execute("SELECT list(table_name) FROM duckdb_tables()").fetchone()[0] == ["raw"]
    monkeypatch.setattr(readers, "LAZY_CSV_BYTES", p.stat().st_size)  # at it: a view
    con = _con()
    read_input(con, p, "raw", lazy=True)
    assert is_view(con, "raw") and con.execute("SELECT _line FROM raw").fetchall() == [(2,)]


def test_small_csv_is_a_view_with_the_lines_and_trimmed_cells(tmp_path):
    p = tmp_path / "q.csv"
    p.write_text(HEADER + "A1,2023,610902,\"两行\n备注\"\n"  # lines 2-3
                 "\n"  # 4 blank: not a record
                 " A2 ,2023,\u3000610921\u3000,\n"  # 5 padded cells, empty last cell
                 "A3,2023,610922,\"\"", encoding="utf-8")  # 6, no final newline
    con = _con()
    info = read_input(con, p, "raw", lazy=True)
    lock(con)  # the view reads a table of the connection, no file
    assert is_view(con, "raw") and info.rows == 3 and info.skipped == []
    got = con.execute('SELECT "图斑编号", "行政区代码", "备注", _source, _line FROM raw ORDER BY _line').fetchall()
    assert got == [("A1", "610902", "两行\n备注", "q.csv", 2), ("A2", "610921", None, "q.csv", 5),
                   ("A3", "610922", None, "q.csv", 6)]


def test_total_and_repeated_header_rows_are_listed_with_their_lines_and_dropped(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(HEADER + "A1,2023,610902,\"跨\n行\"\n"  # lines 2-3
                 "图斑编号,监测年度,行政区代码,备注\n"  # 4 repeated header
                 "A2,2023,610902,\n"  # 5
                 "\n"  # 6 blank line: no record
                 "合计,,,\n", encoding="utf-8")  # 7
    con = _con()
    info = read_input(con, p, "raw", lazy=True)
    assert [(s["line"], s["reason"]) for s in info.skipped] == [(4, "重复的表头行"), (7, "合计行")]
    assert is_view(con, "raw") and info.rows == 2  # left out by the view, not copied
    assert con.execute("SELECT list(_line ORDER BY _line) FROM raw").fetchone()[0] == [2, 5]


def test_many_rows_left_out_and_a_view_made_a_table_drops_its_staging(tmp_path):
    from engine.data.readers.common import materialize

    p = tmp_path / "e.csv"
    # lines 2..21: 20 rows of empty cells (more than are compared in place), 22: A1, 23: 合计
    p.write_text(HEADER + ",,,\n" * 20 + "A1,2023,610902,\n合计,,,\n", encoding="utf-8")
    con = _con()
    info = read_input(con, p, "raw", lazy=True)
    assert [s["line"] for s in info.skipped] == list(range(2, 22)) + [23]
    assert {s["reason"] for s in info.skipped[:20]} == {"空行"} and info.skipped[20]["reason"] == "合计行"
    assert is_view(con, "raw") and con.execute("SELECT list(_line) FROM raw").fetchone()[0] == [22]
    materialize(con, "raw")  # e.g. a column map's fixed values are written into it
    assert not is_view(con, "raw") and con.execute("SELECT list(_line) FROM raw").fetchone()[0] == [22]
    assert con.execute("SELECT list(table_name ORDER BY table_name) FROM duckdb_tables()").fetchone()[0] == ["raw"]
    assert not con.execute("SELECT count(*) FROM duckdb_views() WHERE NOT internal").fetchone()[0]


def _big(tmp_path, name: str, middle: str = "") -> tuple:
    """A CSV over DuckDB's 32 MB read buffer (read by both threads, out of order unless kept in order): 900,000
    records A0000000.. whose id gives its place; `middle` is inserted after record 450,000 (line 450,001)."""
    pad = "x" * 20
    first = "".join(f"A{i:07d},2023,610902,{pad}\n" for i in range(450_000))
    second = "".join(f"A{i:07d},2023,610902,{pad}\n" for i in range(450_000, 900_000))
    p = tmp_path / name
    p.write_text(HEADER + first + middle + second + "合计,,,\n", encoding="utf-8")
    assert p.stat().st_size > 33_000_000
    return p


@pytest.mark.parametrize("middle,shift", [
    ("", 0),  # one line per record: line = place + 2
    ("\nB0,2023,610902,\"第一行\n第二行\"\n", 3),  # a blank line (450,002) and a two-line record (450,003-450,004)
])
def test_large_csv_read_in_parallel_keeps_every_records_line(tmp_path, middle, shift):
    p = _big(tmp_path, "省.csv", middle)
    con = _con()
    info = read_input(con, p, "raw", lazy=True)
    extra = 1 if middle else 0  # the record B0
    assert info.rows == 900_000 + extra
    # A{i}: line i + 2 before the middle, i + 2 + shift after it (the blank line and B0's two lines)
    wrong = con.execute("SELECT count(*) FROM raw WHERE 图斑编号 LIKE 'A%' AND _line <> "
                        "CAST(substr(图斑编号, 2) AS BIGINT) + 2 + CASE WHEN 图斑编号 >= 'A0450000' THEN ? ELSE 0 END",
                        [shift]).fetchone()[0]
    assert wrong == 0
    if middle:  # B0 starts on line 450,003: 450,000 records + the header + the blank line 450,002
        assert con.execute("SELECT _line FROM raw WHERE 图斑编号 = 'B0'").fetchone()[0] == 450_003
    # 合计 is the last line: 900,000 records + header + the middle's lines
    assert [(s["line"], s["reason"]) for s in info.skipped] == [(900_002 + shift, "合计行")]


def test_utf8_checked_by_python_only_at_the_head_a_gbk_body_is_still_found(tmp_path, monkeypatch):
    """Python decodes only the head as UTF-8 (_HEAD_BYTES, 8 MB; 40 bytes here); DuckDB checks the rest while it reads.
    A file UTF-8 (ASCII) at the head and GBK further on is then read as before: as GB18030, with the warning."""
    from engine.data.readers import text

    monkeypatch.setattr(text, "_HEAD_BYTES", 40)
    p = tmp_path / "g.csv"
    head = b"TBBH,JCND,XZQDM,BZ\nA1,2023,610902,ok\n"  # 38 bytes of ASCII
    p.write_bytes(head + "A2,2023,610921,违法用地\n".encode("gbk"))
    con = _con()
    info = read_input(con, p, "raw", lazy=True)
    assert any("GBK/GB18030" in w for w in info.warnings)
    assert con.execute("SELECT list(BZ ORDER BY _line), list(_line ORDER BY _line) FROM raw").fetchone() == (
        ["ok", "违法用地"], [2, 3])
    # bytes that are no encoding at all past the head: refused as before, naming the file
    p.write_bytes(head + b"A2,2023,610921,\xff\xfe\xff\n")
    with pytest.raises(Exception) as e:
        read_input(_con(), p, "raw", lazy=True)
    assert e.type.__name__ == "InputError" and "g.csv" in str(e.value)


@pytest.mark.parametrize("brk", ["\n", "\r\n", "\r"])
def test_header_line_ends_at_any_line_break_also_across_read_chunks(tmp_path, brk):
    from engine.data.readers.text import _first_line

    p = tmp_path / "h.csv"
    head = "图斑编号," + "x" * (65_536 - len("图斑编号,".encode()) - 1)  # the break straddles the first 64 KB chunk
    p.write_bytes((head + brk + "A1,2\r\n").encode())
    assert _first_line(p) == head
    p.write_bytes(b"TBBH,XZQDM")  # no line break at all
    assert _first_line(p) == "TBBH,XZQDM"
