"""Area units as Decimal arithmetic. The table comes from the caller (the data dictionary's `area_units`);
areas are carried in its first unit, and the language itself names no unit."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal


@dataclass(frozen=True)
class Units:
    """Area units: unit -> factor to the carried unit (the first one)."""

    factors: tuple[tuple[str, Decimal], ...]

    @classmethod
    def of(cls, area_units: dict[str, Decimal]) -> "Units":
        return cls(tuple((str(u), Decimal(f)) for u, f in area_units.items()))

    @property
    def carried(self) -> str:
        return self.factors[0][0]

    @property
    def names(self) -> list[str]:
        return [u for u, _ in self.factors]

    def longest_first(self) -> list[str]:
        """Unit names, longest first (so a long unit is not read as a shorter one it ends with)."""
        return sorted(self.names, key=len, reverse=True)

    def __contains__(self, unit) -> bool:
        return any(u == unit for u, _ in self.factors)

    def factor(self, unit: str) -> Decimal:
        return dict(self.factors)[unit]


def quantize_area(value: Decimal, scale: int) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)  # ties away from zero, as DuckDB round()
