"""An area column's text in messages: trailing zeros dropped by comparing numbers (decimal_text), the same text as
trimming the cast text, on every kind of DECIMAL(18, scale) value."""
from __future__ import annotations

import duckdb
import pytest

from engine.lang.compiler import decimal_text

VALUES = ["0", "1", "-1", "10", "100", "3.0000", "12.5000", "12.5", "0.5", "-0.5", "0.0001", "-0.0001", "7.1200",
          "7.1230", "7.1234", "1000000", "99999999999999.9999", "-99999999999999.9999", "20.0500", "0.1000"]


def trimmed(value: str, scale: int) -> str:
    """The text as the generic formula gives it: cast, then zeros and a last point trimmed (computed here by hand)."""
    con = duckdb.connect()
    text = con.execute(f"SELECT CAST(CAST('{value}' AS DECIMAL(18,{scale})) AS VARCHAR)").fetchone()[0]
    return text.rstrip("0").rstrip(".") if "." in text else text


@pytest.mark.parametrize("scale", [0, 1, 2, 4])
def test_decimal_text_is_the_trimmed_text(scale):
    con = duckdb.connect()
    for v in VALUES:
        if scale < 4 and v.startswith(("99999999999999", "-99999999999999")):
            continue  # does not fit DECIMAL(18, scale) with 14 integer digits and fewer decimals: rounded, same below
        x = f"CAST('{v}' AS DECIMAL(18,{scale}))"
        got = con.execute(f"SELECT {decimal_text(x, scale)}").fetchone()[0]
        assert got == trimmed(v, scale), (v, scale)


@pytest.mark.parametrize("value, text", [("12.5000", "12.5"), ("3.0000", "3"), ("0.0000", "0"), ("-0.5000", "-0.5"),
                                         ("7.1234", "7.1234"), ("100.0000", "100")])
def test_decimal_text_by_hand(value, text):
    x = f"CAST('{value}' AS DECIMAL(18,4))"
    assert duckdb.connect().execute(f"SELECT {decimal_text(x, 4)}").fetchone()[0] == text


def test_null_stays_null():
    assert duckdb.connect().execute(f"SELECT {decimal_text('CAST(NULL AS DECIMAL(18,4))', 4)}").fetchone()[0] is None
