"""insert_rows: Python rows into a DuckDB table in one statement, in order, NULLs and quotes kept."""
from __future__ import annotations

import duckdb

from engine.run.insert_rows import insert_rows


def test_rows_in_order_with_nulls_and_quotes():
    con = duckdb.connect()
    con.execute("CREATE TABLE t (a INTEGER, b VARCHAR, c BOOLEAN, d BIGINT)")
    insert_rows(con, "t", [(1, None, None, None)])  # a column of NULLs only
    insert_rows(con, "t", [])  # nothing
    insert_rows(con, "t", [(2, "x", True, None), (3, "it's '); DROP TABLE t; --", False, 5)])
    assert con.execute("SELECT * FROM t").fetchall() == [
        (1, None, None, None), (2, "x", True, None), (3, "it's '); DROP TABLE t; --", False, 5)]
