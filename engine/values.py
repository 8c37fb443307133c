"""Values for people, formatted once: areas (in the unit the caller gives, the data dictionary's), ratios (percentages with two decimals), dates, 是/否 and 空.
The text report, `weipian explain`, the xlsx ledger and the HTML report all format through here, so a ratio reads
82.57% everywhere. Presentation only: the JSON contract keeps the raw values."""
from __future__ import annotations

import datetime as _dt
from decimal import Decimal

EMPTY = "空"
YES, NO = "是", "否"
PCT_DECIMALS = 2
NUM_DECIMALS = 4  # areas and other numbers: at most four decimals, trailing zeros dropped
XLSX_PCT = "0.00%"
XLSX_AREA = "#,##0.00##"
XLSX_NUMBER = "General"
XLSX_DATE = "yyyy-mm-dd"


def is_number(v) -> bool:
    return isinstance(v, (int, float, Decimal)) and not isinstance(v, bool)


def yes_no(v) -> str:
    """是/否 for a truth value; 空 for a missing one."""
    if v is None:
        return EMPTY
    return YES if v else NO


def pct(v, empty: str = "", exact: bool = False) -> str:
    """A ratio as a percentage with two decimals: 0.825689 -> 82.57%. exact=True (explain: a value compared with a
    threshold) keeps the digits two decimals would round away, up to six: 0.14995 -> 14.995%, not 15.00%."""
    if v is None or not is_number(v):
        return empty
    text = f"{float(v) * 100:.{PCT_DECIMALS}f}"
    if exact:
        full = f"{float(v) * 100:.6f}".rstrip("0")
        if len(full.split(".")[1]) > PCT_DECIMALS:
            text = full
    return text + "%"


def number(v, empty: str = EMPTY) -> str:
    """A number without float noise: 12.5 -> 12.5, 100.0 -> 100, 0.1234567 -> 0.1235."""
    if v is None:
        return empty
    if isinstance(v, bool):
        return yes_no(v)
    d = Decimal(str(v)).quantize(Decimal(1).scaleb(-NUM_DECIMALS)) if not isinstance(v, int) else Decimal(v)
    if d == d.to_integral():
        return str(int(d))
    return format(d.normalize(), "f")


def area(v, unit: str, empty: str = EMPTY) -> str:
    """An area followed by its unit (the data dictionary's carried unit): 12.3456 -> "12.3456" + unit."""
    if v is None:
        return empty
    return number(v) + unit


def date(v, empty: str = EMPTY) -> str:
    """A date as YYYY-MM-DD (a datetime's time of day is dropped)."""
    if v is None or v == "":
        return empty
    if isinstance(v, _dt.datetime):
        v = v.date()
    if isinstance(v, _dt.date):
        return v.isoformat()
    return str(v)


def parse_date(v):
    """A date from an ISO text (YYYY-MM-DD, optionally with a time) or a date; None when it is not one."""
    if isinstance(v, _dt.datetime):
        return v.date()
    if isinstance(v, _dt.date):
        return v
    if isinstance(v, str) and len(v) >= 10 and v[4] == "-" and v[7] == "-":
        try:
            return _dt.date.fromisoformat(v[:10])
        except ValueError:
            return None
    return None


def value(v, typ: str | None, area_unit: str, empty: str = EMPTY, exact: bool = False) -> str:
    """Any value by its type: "percent" -> %, "area" -> with the area unit, "date", "bool"; else numbers and text."""
    if v is None:
        return empty
    if isinstance(v, bool):
        return yes_no(v)
    typ = str(typ) if typ is not None else None
    if typ == "percent" and is_number(v):
        return pct(v, exact=exact)
    if typ == "area" and is_number(v):
        return area(v, area_unit)
    if typ == "date" or isinstance(v, (_dt.date, _dt.datetime)):
        return date(v)
    if is_number(v):
        return number(v)
    return str(v)
