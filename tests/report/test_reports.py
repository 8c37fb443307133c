"""engine.report.xlsx, engine.report.html (static checks) and engine.report.atomic."""
from __future__ import annotations

import re
import zipfile

import pytest
from python_calamine import CalamineWorkbook

from engine.data.dictionary import load_dictionary
from engine.report.atomic import atomic_write
from engine.report.html import render_html, write_html
from engine.report.tables import threshold_of
from engine.report.xlsx import write_xlsx

DICTIONARY = load_dictionary()  # the bundled one; the reports take the run's dictionary

CATALOG = [
    {"id": "T-R-evidence", "kind": "规则", "title": "已拆除复耕到位需有现场照片", "cite": "三（二）", "severity": "error",
     "when": "整改状态 == \"已拆除复耕到位\" and 现场照片数 < 1"},
    {"id": "T-R-category", "kind": "规则", "title": "重点类图斑一般不得判定为其他用地", "cite": "三（二）2", "severity": "warning",
     "when": "重点类 and 判定结果 == \"其他用地\""},
    {"id": "T-R-filing", "kind": "规则", "title": "设施农业未备案", "cite": "附件4 三", "severity": "info",
     "when": "设施农业是否备案 == 否"},
    {"id": "T-T-province", "kind": "触发", "title": "省级实地核查", "cite": "三（五）", "level": "省级", "action": "实地核查",
     "when": "疑似违法 and 耕地面积 >= 100亩"},
    {"id": "T-T-county", "kind": "触发", "title": "县级逐一核实", "cite": "三（五）", "level": "县级", "action": "逐一核实确认",
     "when": "整改状态 == \"已拆除复耕到位\""},
    {"id": "T-A-accountability", "kind": "评估", "title": "问责评估", "cite": "附件3", "level": "县级、市级、省级",
     "when": "ratio >= 问责比例 and numerator >= 问责面积", "ratio_threshold": "问责比例",
     "conditions": [{"value": "ratio", "op": ">=", "threshold": "问责比例"},
                    {"value": "numerator", "op": ">=", "threshold": "问责面积"}]},
    {"id": "T-A-errors", "kind": "评估", "title": "月度差错率", "cite": "附件2", "level": "县级", "when": "ratio > 差错率上限",
     "ratio_threshold": "差错率上限"},
]


def make_doc(assessments=True, threshold=0.15):
    doc = {
        "policy": {"year": 2023, "source": "测试〔2023〕1号", "digest": "sha256:" + "ab" * 32},
        "input": {"path": "提交/汉滨区.xlsx", "sha256": "cd" * 32, "rows": 5, "rejected": 0},
        "run": {"as_of": "2024-06-30", "engine": "0.1.0", "duckdb": "2.0.0"},
        "findings": [
            {"patch": "P-001", "rule": "T-R-evidence", "severity": "error", "message": "P-001: 已拆除复耕到位但无现场照片",
             "cite": "三（二）"},
            {"patch": "P-002", "rule": "T-R-evidence", "severity": "error", "message": "P-002: <b>无照片</b> & \"引号\"",
             "cite": "三（二）"},
            {"patch": "P-003", "rule": "T-R-category", "severity": "warning", "message": "P-003: 新增非农建设类判定为其他用地",
             "cite": "三（二）2"},
            {"patch": "P-004", "rule": "T-R-filing", "severity": "info", "message": "</script><script>alert(1)</script><!--",
             "cite": "附件4 三"},
        ],
        "tasks": [
            {"patch": "P-005", "rule": "T-T-county", "level": "县级", "action": "逐一核实确认", "cite": "三（五）"},
            {"patch": "P-001", "rule": "T-T-province", "level": "省级", "action": "实地核查", "cite": "三（五）"},
            {"patch": "P-002", "rule": "T-T-city", "level": "市级", "action": "实地核查", "cite": "三（五）"},
        ],
        "assessments": [],
    }
    if assessments:
        values = {"numerator": 30.0, "denominator": 150.0, "ratio": 0.2, "问责面积": 100.0}
        if threshold is not None:
            values["问责比例"] = threshold  # a policy parameter, named by the policy
        doc["assessments"] = [
            {"rule": "T-A-accountability", "kind": "问责评估", "level": "县级", "region": "610902", "period": "2023",
             "values": dict(values), "flagged": False, "cite": "附件3"},
            {"rule": "T-A-accountability", "kind": "问责评估", "level": "县级", "region": "610921", "name": "汉阴县",
             "period": "2023",
             "values": {**values, "numerator": 150.0, "ratio": 0.5}, "flagged": True, "cite": "附件3"},
            {"rule": "T-A-errors", "kind": "月度差错率", "level": "县级", "region": "610902", "period": "2023-03",
             "values": {"numerator": 1.0, "denominator": 100.0, "ratio": 0.01}, "threshold": {"ratio": 0.1},
             "flagged": False, "cite": "附件2"},
        ]
    return doc


def sheets_of(path):
    wb = CalamineWorkbook.from_path(str(path))
    return wb, wb.sheet_names


def rows_of(wb, name):
    return wb.get_sheet_by_name(name).to_python()


# --------------------------------------------------------------------------- xlsx

def test_xlsx_sheets_headers_and_order(tmp_path):
    path = tmp_path / "台账.xlsx"
    write_xlsx(make_doc(), CATALOG, path, DICTIONARY)
    wb, names = sheets_of(path)
    assert names == ["汇总", "问题清单", "核查任务", "区域评估", "规则说明"]
    findings = rows_of(wb, "问题清单")
    assert findings[0][:8] == ["行政区代码", "行政区名称", "图斑编号", "规则编号", "规则名称", "严重程度", "问题说明", "条款"]
    assert len(findings) == 1 + 4
    assert findings[1][4] == "已拆除复耕到位需有现场照片" and findings[1][5] == "错误"
    tasks = rows_of(wb, "核查任务")
    assert tasks[0][:5] == ["核查级别", "行政区代码", "行政区名称", "任务", "图斑编号"]
    assert [r[0] for r in tasks[1:]] == ["省级", "市级", "县级"]
    assessments = rows_of(wb, "区域评估")
    head = assessments[0]
    assert head[:6] == ["规则编号", "评估类型", "评估级别", "行政区代码", "行政区名称", "期间"]
    assert "分子" in head and "比例" in head and "问责比例" in head and "是否预警/超限" in head
    flagged = head.index("是否预警/超限")
    assert [r[flagged] for r in assessments[1:]] == ["否", "是", "否"]
    assert assessments[2][head.index("比例")] == pytest.approx(0.5)
    assert assessments[1][head.index("行政区名称")] == "汉滨区"  # from datasets/regions.csv
    assert assessments[3][head.index("阈值.比例")] == pytest.approx(0.1)  # an extra key, flattened
    catalog = rows_of(wb, "规则说明")
    assert catalog[0] == ["规则编号", "类别", "名称", "严重程度/核查级别", "任务", "条款", "条件"]
    assert [r[0] for r in catalog[1:]] == [c["id"] for c in CATALOG]
    summary = rows_of(wb, "汇总")
    flat = [c for r in summary for c in r]
    assert "错误" in flat and (2 in flat or 2.0 in flat)


def test_xlsx_frozen_header_autofilter_and_highlight(tmp_path):
    path = tmp_path / "台账.xlsx"
    write_xlsx(make_doc(), CATALOG, path, DICTIONARY)
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        sheets = sorted(n for n in names if re.match(r"xl/worksheets/sheet\d+\.xml", n))
        assert len(sheets) == 5
        for n in sheets[1:]:  # every table sheet
            xml = z.read(n).decode()
            assert 'state="frozen"' in xml and "<autoFilter" in xml
        styles = z.read("xl/styles.xml").decode()
        assert "FFFFD7D7" in styles  # the highlight fill exists


def test_xlsx_without_assessments_has_no_assessment_sheet(tmp_path):
    path = tmp_path / "a.xlsx"
    write_xlsx(make_doc(assessments=False), CATALOG, path, DICTIONARY)
    assert sheets_of(path)[1] == ["汇总", "问题清单", "核查任务", "规则说明"]


def test_xlsx_empty_run(tmp_path):
    doc = make_doc(assessments=False)
    doc["findings"], doc["tasks"] = [], []
    path = tmp_path / "e.xlsx"
    write_xlsx(doc, [], path, DICTIONARY)
    wb, names = sheets_of(path)
    assert rows_of(wb, "问题清单") == [["行政区代码", "行政区名称", "图斑编号", "规则编号", "规则名称", "严重程度", "问题说明",
                                      "条款"]]


def test_xlsx_keeps_extra_keys_as_columns(tmp_path):
    doc = make_doc(assessments=False)
    doc["findings"][0]["line"] = 12
    doc["findings"][0]["source"] = "汉滨区.xlsx"
    path = tmp_path / "x.xlsx"
    write_xlsx(doc, CATALOG, path, DICTIONARY)
    wb, _ = sheets_of(path)
    rows = rows_of(wb, "问题清单")
    assert rows[0][8:] == ["来源行", "来源文件"]  # the header the ledger gives a patch's source row
    assert rows[1][8:] == [12, "汉滨区.xlsx"]


def test_xlsx_patch_ids_stay_text(tmp_path):
    doc = make_doc(assessments=False)
    doc["findings"][0]["patch"] = "000123"
    path = tmp_path / "t.xlsx"
    write_xlsx(doc, CATALOG, path, DICTIONARY)
    wb, _ = sheets_of(path)
    assert rows_of(wb, "问题清单")[1][2] == "000123"


# --------------------------------------------------------------------------- HTML (static; the browser test runs it)

def test_html_is_self_contained(tmp_path):
    path = tmp_path / "r.html"
    write_html(make_doc(), CATALOG, path, DICTIONARY)
    html = path.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    for pattern in (r"""(src|href)\s*=\s*["']?(https?:)?//""", r"@import", r"url\(", r"<link[^>]+stylesheet",
                    r"<script[^>]+src="):
        assert not re.search(pattern, html, re.I), pattern
    assert html.count("<svg") >= 3  # findings by rule + two assessment groups


def test_html_escapes_user_text():
    html = render_html(make_doc(), CATALOG, DICTIONARY)
    assert "</script><script>alert(1)" not in html
    assert "<b>无照片</b>" not in html


def test_html_threshold_lines_come_from_the_entries():
    html = render_html(make_doc(threshold=0.15), CATALOG, DICTIONARY)
    assert "阈值 15.00%" in html and "阈值 10.00%" in html
    html = render_html(make_doc(threshold=0.2), CATALOG, DICTIONARY)
    assert "阈值 20.00%" in html and "15.00%" not in html
    html = render_html(make_doc(threshold=None), CATALOG, DICTIONARY)
    # the accountability entries carry no ratio threshold: no ratio line for them (their area condition keeps its
    # 100 line); the error-rate entry still has its own
    assert "阈值 10.00%" in html and "阈值 100<" in html and html.count('class="threshold"') == 2


def test_threshold_lookup():
    assert threshold_of({"values": {"ratio_threshold": 0.15}}) == 0.15
    assert threshold_of({"threshold": {"ratio": 0.1}}) == 0.1
    assert threshold_of({"thresholds": {"ratio": 0.95, "numerator": 100}}) == 0.95
    assert threshold_of({"values": {"ratio": 0.3}}) is None
    # else what the rule's catalog entry says its flag compares the ratio with (tests/test_assess_check.py: how the
    # policy finds it); never the `when` text
    entry = {"values": {"ratio": 0.3, "差错率上限": 0.1, "问责比例": 0.15, "系数": 0.8}}
    assert threshold_of(entry, {"ratio_threshold": "差错率上限"}) == 0.1
    assert threshold_of(entry, {"ratio_threshold": 0.125}) == 0.125
    assert threshold_of(entry, {"when": "ratio >= 问责比例 * 系数"}) is None  # no ratio_threshold: no line
    assert threshold_of(entry, {"when": "ratio > 差错率上限"}) is None  # the text is not parsed
    assert threshold_of({"values": {"ratio": 0.3}}, {"ratio_threshold": "问责比例"}) is None  # value not in the entry


def test_reports_of_a_run_over_two_years(tmp_path):
    doc = make_doc()
    doc["policy"] = {"years": [2021, 2023], "source": "甲；乙", "digest": "sha256:1；sha256:2"}
    doc["warnings"] = ["汉滨区.xlsx：工作表“台账”第 3 行为表头，上方 2 行（标题等）已跳过"]
    html = render_html(doc, CATALOG, DICTIONARY)
    assert "2021、2023年度政策" in html and "第 3 行为表头" in html
    write_xlsx(doc, CATALOG, tmp_path / "two.xlsx", DICTIONARY)
    wb, _ = sheets_of(tmp_path / "two.xlsx")
    flat = [c for r in rows_of(wb, "汇总") for c in r]
    assert "卫片执法校验结果（2021、2023年度政策）" in flat
    assert any("第 3 行为表头" in str(c) for c in flat)


def test_html_without_assessments_or_findings():
    doc = make_doc(assessments=False)
    doc["findings"] = []
    html = render_html(doc, CATALOG, DICTIONARY)
    assert "没有发现问题" in html and 'id="assessments"' not in html


# --------------------------------------------------------------------------- atomic_write

def test_atomic_write_replaces_only_on_success(tmp_path):
    path = tmp_path / "out.json"
    path.write_text("old", encoding="utf-8")
    with pytest.raises(RuntimeError):
        with atomic_write(path) as fh:
            fh.write("half")
            raise RuntimeError("boom")
    assert path.read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]
    with atomic_write(path) as fh:
        fh.write("新内容")
    assert path.read_text(encoding="utf-8") == "新内容"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_atomic_write_binary_and_path_mode(tmp_path):
    with atomic_write(tmp_path / "sub" / "b.bin", "wb") as fh:
        fh.write(b"\x00\x01")
    assert (tmp_path / "sub" / "b.bin").read_bytes() == b"\x00\x01"
    with atomic_write(tmp_path / "p.txt", mode=None) as tmp:
        with open(tmp, "w") as fh:
            fh.write("x")
    assert (tmp_path / "p.txt").read_text() == "x"


def test_html_prints_on_a4_with_a_cjk_font_stack():
    html = render_html(make_doc(), CATALOG, DICTIONARY)
    assert "@page{size:A4" in html and "break-before:page" in html
    for font in ("Microsoft YaHei", "PingFang SC", "Noto Sans CJK SC", "WenQuanYi Micro Hei", "SimSun"):
        assert f'"{font}"' in html
    assert html.index('id="flagged"') < html.index('id="tasks"') < html.index('id="findings"') \
        < html.index('id="by-rule"') < html.index('id="provenance"')


def test_html_folds_regions_far_from_the_threshold():
    doc = make_doc()
    far = [{"rule": "T-A-errors", "kind": "月度差错率", "level": "县级", "region": "610902", "period": f"2023-{m:02d}",
            "values": {"numerator": 0.0, "denominator": 100.0, "ratio": 0.0}, "threshold": {"ratio": 0.1},
            "flagged": False, "cite": "附件2"} for m in range(1, 12)]
    near = {**far[0], "period": "2023-12", "values": {"numerator": 9.0, "denominator": 100.0, "ratio": 0.09}}
    doc["assessments"] = doc["assessments"][:2] + far + [near]
    html = render_html(doc, CATALOG, DICTIONARY)
    chart = html[html.index('data-rule="T-A-errors"'):]
    chart = chart[:chart.index("</figure>")]
    shown, folded = chart.split('<details class="more">')
    assert "显示全部（另有 11 项远低于阈值，共 12 项）" in folded
    assert shown.count('<g class="bar') == 1 and "2023-12" in shown  # only the one near its threshold
    assert folded.count('<g class="bar') == 12
