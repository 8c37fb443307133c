"""Polygon areas in square metres from WKB, to prove (or disprove) the unit of a file's area column.

No GIS library is needed: a small WKB walker and the shoelace formula. Projected CRS: planar area
in the CRS's linear unit (only metres are trusted). Geographic CRS (e.g. CGCS2000 EPSG:4490, WGS 84):
the polygon is projected with the ellipsoidal Lambert cylindrical equal-area projection
(x = a·λ, y = a·q(φ)/2), whose planar area is the ellipsoidal area, then the shoelace formula applies.
"""
from __future__ import annotations

import math
import re
import struct

import numpy as np

# GRS 80 / CGCS2000 (WGS 84 differs in the 11th digit of f: irrelevant here)
_A = 6378137.0
_F = 1 / 298.257222101
_E2 = _F * (2 - _F)
_E = math.sqrt(_E2)


def crs_kind(crs: str | None, sample_xy: tuple[float, float] | None) -> str | None:
    """'projected' (metres), 'geographic', or None (unknown: no area is computed)."""
    text = (crs or "").upper()
    if text:
        if re.match(r"^EPSG:(4326|4490|4214|4610|4547|4555)$", text):
            return "geographic" if text.split(":")[1] in ("4326", "4490", "4214", "4610") else "projected"
        if "PROJCS" in text or "PROJCRS" in text or "PROJECTEDCRS" in text:
            # the last LENGTHUNIT/UNIT of a projected CRS is its axis unit
            units = re.findall(r'(?:LENGTHUNIT|UNIT)\["([^"]+)"', text)
            return "projected" if units and units[-1] in ("METRE", "METER", "M") else None
        if "GEOGCS" in text or "GEOGCRS" in text or "GEODCRS" in text:
            return "geographic"
        if text.startswith("EPSG:"):
            return None
    if sample_xy is not None:  # no .prj: coordinates that can only be degrees are degrees
        x, y = sample_xy
        return "geographic" if abs(x) <= 180 and abs(y) <= 90 else None
    return None


def _q(phi: np.ndarray) -> np.ndarray:
    s = np.sin(phi)
    es = _E * s
    return (1 - _E2) * (s / (1 - _E2 * s * s) - (1 / (2 * _E)) * np.log((1 - es) / (1 + es)))


def _ring_area(xy: np.ndarray, geographic: bool) -> float:
    if len(xy) < 3:
        return 0.0
    x, y = xy[:, 0], xy[:, 1]
    if geographic:
        x = _A * np.radians(x)
        y = _A * _q(np.radians(y)) / 2
    x = x - x.mean()  # shoelace on centred coordinates keeps precision for large easting/northing values
    y = y - y.mean()
    return abs(float(np.dot(x, np.roll(y, -1)) - np.dot(np.roll(x, -1), y))) / 2


class _Wkb:
    def __init__(self, data: bytes, geographic: bool):
        self.b, self.i, self.geo = data, 0, geographic
        self.first: tuple[float, float] | None = None

    def _u32(self, fmt: str) -> int:
        v = struct.unpack_from(fmt + "I", self.b, self.i)[0]
        self.i += 4
        return v

    def area(self) -> float | None:
        """Area of the next geometry; None when it is not polygonal."""
        order = "<" if self.b[self.i] == 1 else ">"
        self.i += 1
        code = self._u32(order)
        dims = 2
        if code & 0x80000000:
            dims += 1
        if code & 0x40000000:
            dims += 1
        if code & 0x20000000:  # EWKB SRID
            self.i += 4
        code &= 0x0FFFFFFF
        if code >= 1000:  # ISO Z / M / ZM
            dims += {1: 1, 2: 1, 3: 2}.get(code // 1000, 0)
            code %= 1000
        if code == 3:
            return self._polygon(order, dims)
        if code in (6, 7):  # MultiPolygon, GeometryCollection
            total, any_poly = 0.0, False
            for _ in range(self._u32(order)):
                a = self.area()
                if a is not None:
                    total, any_poly = total + a, True
            return total if any_poly else None
        return None  # points and lines: no area (and the rest of the buffer is not needed)

    def _polygon(self, order: str, dims: int) -> float:
        total = 0.0
        for r in range(self._u32(order)):
            n = self._u32(order)
            pts = np.frombuffer(self.b, dtype=np.dtype(np.float64).newbyteorder(order), count=n * dims,
                                offset=self.i).reshape(n, dims)[:, :2]
            self.i += n * dims * 8
            if self.first is None and n:
                self.first = (float(pts[0, 0]), float(pts[0, 1]))
            a = _ring_area(pts, self.geo)
            total += a if r == 0 else -a  # holes
        return total


def first_xy(wkb: bytes) -> tuple[float, float] | None:
    """The first coordinate of a polygonal WKB (to tell degrees from metres when there is no CRS)."""
    w = _Wkb(wkb, False)
    try:
        w.area()
    except (struct.error, ValueError, IndexError):
        return None
    return w.first


def areas_m2(wkbs, kind: str | None) -> list[float | None]:
    """Area in m² of each WKB (None: empty, not polygonal, unreadable, or unknown CRS)."""
    out: list[float | None] = []
    for b in wkbs:
        if b is None or kind is None:
            out.append(None)
            continue
        try:
            out.append(_Wkb(bytes(b), kind == "geographic").area())
        except (struct.error, ValueError, IndexError):
            out.append(None)
    return out
