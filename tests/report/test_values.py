"""engine.values: one formatter for 亩, %, dates, 是/否 and 空."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

from engine import values as V


def test_percentages_have_two_decimals():
    assert V.pct(0.825689884978) == "82.57%"
    assert V.pct(0.15) == "15.00%" and V.pct(0) == "0.00%" and V.pct(1) == "100.00%"
    assert V.pct(None) == "" and V.pct("x") == ""
    assert V.pct(0.14995, exact=True) == "14.995%" and V.pct(0.15, exact=True) == "15.00%"


def test_numbers_areas_dates_and_truth():
    assert V.number(100.0) == "100" and V.number(12.5) == "12.5" and V.number(0.1234567) == "0.1235"
    assert V.number(Decimal("3.10")) == "3.1" and V.number(None) == "空"
    assert V.area(12.3456, "亩") == "12.3456亩" and V.area(None, "亩") == "空"
    assert V.yes_no(True) == "是" and V.yes_no(False) == "否" and V.yes_no(None) == "空"
    assert V.date(dt.date(2024, 6, 30)) == "2024-06-30" and V.date(dt.datetime(2024, 6, 30, 8)) == "2024-06-30"
    assert V.parse_date("2024-06-30") == dt.date(2024, 6, 30) and V.parse_date("2024-13-01") is None
    assert V.parse_date("P-001") is None


def test_value_by_type():
    assert V.value(0.3, "percent", "亩") == "30.00%"
    assert V.value(15.0, "area", "亩") == "15亩"
    assert V.value(True, None, "亩") == "是" and V.value(None, None, "亩") == "空" and V.value("文本", None, "亩") == "文本"
