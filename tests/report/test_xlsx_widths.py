"""The ledger's column widths: each distinct text measured once, a column's measuring stops at the widest width a
column gets; the same widths as measuring every cell."""
from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from engine.report.xlsx import _widths, cell


def _widths_reference(headers, rows, sample: int = 2000) -> list[float]:
    """Every cell measured (the rule before 2026-12-02)."""
    def w(v) -> float:
        return sum(2.0 if ord(ch) > 0x2E80 else 1.1 for ch in str(cell(v))[:80])
    return [min(max(max([w(h) + 2] + [w(r[c]) for r in rows[:sample] if c < len(r)]) + 1, 6), 60)
            for c, h in enumerate(headers)]


_CELLS = st.one_of(st.none(), st.integers(-10**6, 10**6), st.text(alphabet="a1-：规则图斑 ", max_size=90),
                   st.sampled_from(["Y21-R-a", "错误", "三（二）", "x" * 52, "x" * 53, "规" * 28, "规" * 29]))


@given(rows=st.lists(st.lists(_CELLS, max_size=4), max_size=30), sample=st.integers(1, 40))
def test_widths_equal_every_cell_measured(rows, sample):
    headers = ["图斑编号", "规则", "说明", "条款"]
    assert _widths(headers, rows, sample) == _widths_reference(headers, rows, sample)


def test_width_at_and_around_the_widest():
    """1.1 per narrow character: 53 x's + 1 = 59.3 stays, 54 x's reach the cap 60; 29 wide ones 58 + 1 = 59."""
    assert _widths(["h"], [["x" * 53]]) == [_widths_reference(["h"], [["x" * 53]])[0]]
    assert _widths(["h"], [["x" * 53]])[0] < 60
    assert _widths(["h"], [["x" * 54], ["规" * 10]]) == [60]
    assert _widths(["h"], [["规" * 29]]) == [59.0]
