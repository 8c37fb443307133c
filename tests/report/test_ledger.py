"""The xlsx 台账 by county, read back with openpyxl: every sheet, region codes on every finding and task row,
Chinese headers, dates typed as dates, numbers with formats, and the per-county split (--split-by county DIR)."""
from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path

import pytest

openpyxl = pytest.importorskip("openpyxl")

from engine.policy.policyset import load_policies  # noqa: E402
from engine.report.xlsx import write_xlsx, write_xlsx_split  # noqa: E402
from engine.run.runner import check  # noqa: E402

ROOT = Path(__file__).resolve().parents[2]
SAMPLE = ROOT / "datasets" / "sample_2023.csv"

_spec = importlib.util.spec_from_file_location("_weipian_report_samples_l", Path(__file__).with_name("test_reports.py"))
_samples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_samples)
CATALOG, DICTIONARY, make_doc = _samples.CATALOG, _samples.DICTIONARY, _samples.make_doc


@pytest.fixture(scope="module")
def sample_run():
    result = check(SAMPLE, load_policies(), as_of=dt.date(2024, 6, 30))
    return result.to_json(), result.catalog(), result.dictionary


def sheet_rows(ws):
    return [list(r) for r in ws.iter_rows(values_only=True)]


def table(ws):
    rows = sheet_rows(ws)
    return rows[0], rows[1:]


def region_block(ws):
    """The 按行政区 table of the 汇总 sheet: (headers, rows)."""
    rows = sheet_rows(ws)
    start = next(i for i, r in enumerate(rows) if isinstance(r[0], str) and r[0].startswith("按行政区"))
    head = rows[start + 1]
    body = []
    for r in rows[start + 2:]:
        if r[0] is None:
            break
        body.append(r)
    return head, body


def test_ledger_of_the_sample_by_county(sample_run, tmp_path):
    doc, catalog, dictionary = sample_run
    path = tmp_path / "台账.xlsx"
    write_xlsx(doc, catalog, path, dictionary)
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == ["汇总", "问题清单", "核查任务", "区域评估", "规则说明"]
    for ws in wb.worksheets[1:]:  # every header is Chinese text, none a dotted key
        head, _ = table(ws)
        assert all(isinstance(h, str) and h and "." not in h for h in head), (ws.title, head)
        assert not any(h.isascii() for h in head), (ws.title, head)
    head, rows = table(wb["问题清单"])
    assert head[:2] == ["行政区代码", "行政区名称"] and len(rows) == len(doc["findings"])
    assert all(r[0] and len(r[0]) == 6 and r[1] for r in rows)  # every finding row names its county
    head, rows = table(wb["核查任务"])
    assert head[:3] == ["核查级别", "行政区代码", "行政区名称"] and len(rows) == len(doc["tasks"])
    assert all(r[1] and r[2] for r in rows)  # every task row: a patch's county or the region the task names
    head, rows = table(wb["区域评估"])
    assert any(h.startswith("扣除：已拆除复耕到位") for h in head)  # deductions named by their titles
    ratio = head.index("比例")
    cells = [c for c in wb["区域评估"].iter_cols(min_col=ratio + 1, max_col=ratio + 1, min_row=2)][0]
    assert all(c.number_format == "0.00%" for c in cells if isinstance(c.value, float))
    num = head.index("分子")
    cells = [c for c in wb["区域评估"].iter_cols(min_col=num + 1, max_col=num + 1, min_row=2)][0]
    assert any(isinstance(c.value, float) and c.number_format != "General" for c in cells)
    # 汇总: one row per region with findings by severity, tasks by level and each flag
    summary = wb["汇总"]
    as_of = next(r for r in summary.iter_rows() if r[0].value == "评估基准日")[1]
    assert as_of.is_date and as_of.value.date() == dt.date(2024, 6, 30)
    head, body = region_block(summary)
    assert head[:7] == ["行政区代码", "行政区名称", "级别", "问题数", "错误", "警告", "提示"]
    assert "省级核查任务" in head and "县级核查任务" in head and "问责评估（是否列入）" in head
    by_code = {r[0]: dict(zip(head, r)) for r in body}
    assert "610902" in by_code and by_code["610902"]["行政区名称"] == "汉滨区"
    assert sum(r["问题数"] for r in by_code.values()) == len(doc["findings"])
    task_cols = [h for h in head if h.endswith("核查任务")]
    assert sum(r[h] for r in by_code.values() for h in task_cols) == len(doc["tasks"])
    flagged = {a["region"] for a in doc["assessments"] if a["kind"] == "问责评估" and a["flagged"]}
    assert {c for c, r in by_code.items() if r["问责评估（是否列入）"] == "是"} == flagged


def test_split_by_county(sample_run, tmp_path):
    doc, catalog, dictionary = sample_run
    paths = write_xlsx_split(doc, catalog, tmp_path / "各县", dictionary)
    names = sorted(p.name for p in paths)
    assert names == sorted(p.name for p in (tmp_path / "各县").iterdir())
    assert "610902_汉滨区.xlsx" in names and all(n[:6].isdigit() and n.endswith(".xlsx") for n in names)
    findings = tasks = 0
    for p in paths:
        wb = openpyxl.load_workbook(p)
        code = p.name[:6]
        _, rows = table(wb["问题清单"])
        assert all(r[0] == code for r in rows)
        findings += len(rows)
        _, rows = table(wb["核查任务"])
        assert all(r[1] == code for r in rows)
        tasks += len(rows)
        if "区域评估" in wb.sheetnames:
            head, rows = table(wb["区域评估"])
            assert {r[head.index("行政区代码")] for r in rows} == {code}
    assert findings == len(doc["findings"])  # every finding lands in its county's ledger
    county_tasks = [t for t in doc["tasks"] if not t.get("region") or len(str(t["region"])) == 6
                    and not str(t["region"]).endswith("00")]
    assert tasks == len(county_tasks)  # a city's or province's own tasks stay in the full ledger


def test_dates_and_unknown_regions(tmp_path):
    doc = make_doc()
    doc["tasks"][0]["due"] = "2024-07-15"
    doc["findings"][0]["patch"] = "610921202300000001"
    path = tmp_path / "t.xlsx"
    write_xlsx(doc, CATALOG, path, DICTIONARY)
    wb = openpyxl.load_workbook(path)
    head, rows = table(wb["核查任务"])
    due = head.index("截止日期")
    assert [r[due] for r in rows if r[due] is not None] == [dt.datetime(2024, 7, 15)]
    head, rows = table(wb["问题清单"])
    assert rows[0][:3] == ["610921", "汉阴县", "610921202300000001"]  # by county: known regions first
    assert all(r[0] is None for r in rows[1:])  # "P-00x" names no region: left empty, never guessed
    paths = write_xlsx_split(doc, CATALOG, tmp_path / "split", DICTIONARY)
    assert sorted(p.name for p in paths) == ["610902_汉滨区.xlsx", "610921_汉阴县.xlsx", "未识别行政区.xlsx"]


def test_cli_split_by_county(tmp_path, capsys):
    from conftest import run_command

    out_dir = tmp_path / "各县台账"
    code, out = run_command(capsys, "check", str(SAMPLE), "--as-of", "2024-06-30", "--split-by", "county", str(out_dir))
    assert code in (0, 1), out
    assert "已按县写出 10 个台账" in out and (out_dir / "610902_汉滨区.xlsx").is_file()
    code, out = run_command(capsys, "check", str(SAMPLE), "--split-by", "city", str(tmp_path / "x"))
    assert code == 2 and "--split-by 只支持 county" in out and not (tmp_path / "x").exists()


@pytest.mark.parametrize("limit", [0, 10**9])  # constant-memory mode; in memory (as the small sample is by default)
def test_a_ledger_in_memory_and_in_constant_memory_has_the_same_cells(sample_run, tmp_path, monkeypatch, limit):
    import engine.report.xlsx as xlsx

    doc, catalog, dictionary = sample_run
    write_xlsx(doc, catalog, tmp_path / "默认.xlsx", dictionary)  # the sample is small: in memory
    monkeypatch.setattr(xlsx, "IN_MEMORY_ROWS", limit)
    write_xlsx(doc, catalog, tmp_path / "台账.xlsx", dictionary)

    def cells(path):
        wb = openpyxl.load_workbook(path)
        return {ws.title: ([[(c.value, c.number_format, c.fill.fgColor.rgb) for c in r] for r in ws.iter_rows()],
                           [(c, d.width) for c, d in sorted(ws.column_dimensions.items())],
                           ws.freeze_panes, ws.auto_filter.ref) for ws in wb.worksheets}
    assert cells(tmp_path / "台账.xlsx") == cells(tmp_path / "默认.xlsx")
