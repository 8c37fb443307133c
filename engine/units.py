"""Area and ratio units of the DSL and of data headers. Areas are carried in 亩."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# 1 亩 = 10000/15 平方米, so 1 平方米 = 0.0015 亩 exactly; 1 公顷 = 15 亩.
AREA_FACTORS: dict[str, Decimal] = {
    "亩": Decimal(1),
    "平方米": Decimal("0.0015"),
    "m2": Decimal("0.0015"),
    "㎡": Decimal("0.0015"),
    "公顷": Decimal(15),
    "hm2": Decimal(15),
}
PERCENT_UNITS = {"%", "％"}
AREA_UNIT = "亩"


def to_mu(value: Decimal, unit: str) -> Decimal:
    return value * AREA_FACTORS[unit]


def quantize_area(value: Decimal, scale: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)  # ties away from zero, as DuckDB round()


def format_area(value) -> str:
    """100.5000 -> '100.5亩' (used by text/JSON messages)."""
    if value is None:
        return "空"
    d = Decimal(str(value)).normalize()
    text = format(d, "f")
    return f"{text}亩"
