"""Issue 11: a text longer than an Excel cell holds (32,767 characters) is marked as cut in the xlsx ledger,
never cut silently (xlsxwriter cut it without a word)."""
from __future__ import annotations

from python_calamine import CalamineWorkbook

from engine.report.xlsx import EXCEL_MAX_CHARS, write_xlsx


def test_over_long_message_is_marked_as_cut(tmp_path, dictionary):
    long = "P-001: " + "长" * 40_000
    doc = {
        "policy": {"year": 2023, "source": "测试〔2023〕1号", "digest": "sha256:" + "ab" * 32},
        "input": {"path": "汉滨区.csv", "sha256": "cd" * 32, "rows": 1, "rejected": 0},
        "run": {"as_of": "2024-06-30", "engine": "0.1.0", "duckdb": "2.0.0"},
        "findings": [{"patch": "P-001", "rule": "R1", "severity": "error", "message": long, "cite": "三"},
                     {"patch": "P-002", "rule": "R1", "severity": "error", "message": "短", "cite": "三"}],
        "tasks": [],
    }
    path = tmp_path / "台账.xlsx"
    write_xlsx(doc, [], path, dictionary)
    rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_name("问题清单").to_python()
    cut = next(c for c in rows[1] if isinstance(c, str) and c.startswith("P-001: 长"))
    assert len(cut) == EXCEL_MAX_CHARS
    assert cut.endswith("〕") and "已截断" in cut and "40,007" in cut and "JSON" in cut
    assert "短" in rows[2]
