"""Rows made in Python (a policy's checks, fetched assessment results, region tasks: tens to hundreds) into a DuckDB
table in one statement: each column one list parameter, unnested. executemany plans one INSERT per row (~2 ms each)
and a VALUES list of literals is slow to bind; this is neither."""
from __future__ import annotations

from engine.lang.quoting import quote_ident


def insert_rows(con, table: str, rows: list[tuple]) -> None:
    """Append `rows` (tuples in the table's column order) to `table`, in their order."""
    if not rows:
        return
    columns = [list(c) for c in zip(*rows)]
    select = ", ".join(f"unnest(${i + 1})" for i in range(len(columns)))
    con.execute(f"INSERT INTO {quote_ident(table)} SELECT {select}", columns)
