"""Area units: the data dictionary's table (schemas/fields.yaml `area_units`) as Decimal arithmetic.
Areas are carried in the dictionary's first unit; the engine itself names no unit."""
from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from engine.data.dictionary import load_dictionary

PERCENT_UNITS = {"%", "％"}  # DSL syntax: N% is N/100
AREA_FACTORS: dict[str, Decimal] = load_dictionary().area_units
AREA_UNIT: str = load_dictionary().area_unit


def to_mu(value: Decimal, unit: str) -> Decimal:
    """An area in `unit` expressed in the carried unit."""
    return value * AREA_FACTORS[unit]


def quantize_area(value: Decimal, scale: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)  # ties away from zero, as DuckDB round()


def format_area(value) -> str:
    """Decimal('100.5000') -> '100.5' followed by the carried unit (used by text/JSON messages)."""
    if value is None:
        return "空"
    d = Decimal(str(value)).normalize()
    return f"{format(d, 'f')}{AREA_UNIT}"
