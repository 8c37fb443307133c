"""SQL quoting: identifiers and string literals, the only two ways text reaches generated SQL."""
from __future__ import annotations


def quote_ident(name: str) -> str:
    """A DuckDB identifier: "name", inner quotes doubled."""
    return '"' + name.replace('"', '""') + '"'


def quote_str(value: str) -> str:
    """A DuckDB string literal: 'value', inner quotes doubled."""
    return "'" + value.replace("'", "''") + "'"
