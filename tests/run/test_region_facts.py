"""The region facts table (--region-facts): read and validated like patch data (every problem named by file, row,
field and value, the run refused with exit 2, no traceback), and the 2023 roads that read it end to end: flagged,
not flagged, and 未评估 (flagged null with the reason) where a fact is not given — never "no".

The expected values are by hand from datasets/region_facts_2023.csv: 汉滨区 3 years (>= 3: flagged), 汉阴县 2 (not),
紫阳县 4 (flagged), 安康市 1 (not); 部通报批评 是 only for 汉阴县; 省政府约谈 是 only for 汉滨区, empty for 镇坪县;
白河县 (610929) has no row."""
from __future__ import annotations

import json

import pytest

from conftest import run_cli, write_csv
from engine.paths import datasets_dir

SAMPLE = datasets_dir() / "sample_2023.csv"
FACTS = datasets_dir() / "region_facts_2023.csv"
HEADER = ["行政区代码", "年度", "矿产违法连续年数", "部通报批评", "省政府约谈"]


def assess_json(capsys, *extra):
    code, out, err = run_cli(capsys, "assess", SAMPLE, "--as-of", "2024-06-30", "--format", "json", *extra)
    return code, json.loads(out), err


def row(doc, rule, region):
    return next(a for a in doc["assessments"] if a["rule"] == rule and a["region"] == region)


def test_sample_facts_flag_each_road_by_hand(capsys):
    code, doc, _ = assess_json(capsys, "--region-facts", FACTS)
    assert code == 1
    mining = "Y23-A-interview-mining-3-years"
    assert row(doc, mining, "610902")["flagged"] is True  # 3 >= 3: the threshold itself
    assert row(doc, mining, "610921")["flagged"] is False  # 2 < 3
    assert row(doc, mining, "610924")["flagged"] is True  # 4 >= 3
    assert row(doc, mining, "610900")["flagged"] is False  # the city: 1 < 3
    assert row(doc, mining, "610902")["values"] == {"矿产违法连续年数": 3, "约谈矿产违法持续年数": 3}
    ministry = "Y23-A-interview-ministry-criticism"
    assert row(doc, ministry, "610921")["flagged"] is True and row(doc, ministry, "610902")["flagged"] is False
    again = "Y23-A-county-reinterview"
    assert row(doc, again, "610902")["flagged"] is True and row(doc, again, "610921")["flagged"] is False
    empty = row(doc, again, "610927")  # 镇坪县: 省政府约谈 left empty
    assert empty["flagged"] is None and empty["not_evaluated"] == "区域事实表中「省政府约谈」为空"
    absent = row(doc, mining, "610929")  # 白河县: no row
    assert absent["flagged"] is None and absent["not_evaluated"] == "区域事实表中没有该区域2023年度的行"
    assert "not_evaluated" not in row(doc, mining, "610902")
    assert doc["input"]["region_facts"]["path"] == str(FACTS) and doc["input"]["region_facts"]["rows"] == 10
    tasks = {(t["rule"], t["region"], t["level"], t["action"]) for t in doc["tasks"] if t["rule"] in (mining, ministry, again)}
    assert tasks == {(mining, "610902", "省级", "报请省政府约谈"), (mining, "610924", "省级", "报请省政府约谈"),
                     (ministry, "610921", "省级", "报请省政府约谈"), (again, "610902", "市级", "再约谈问责")}


def test_without_facts_every_fact_road_is_not_evaluated_never_false(capsys):
    code, doc, _ = assess_json(capsys)
    assert code == 1
    roads = {"Y23-A-interview-mining-3-years", "Y23-A-interview-ministry-criticism", "Y23-A-county-reinterview"}
    rows = [a for a in doc["assessments"] if a["rule"] in roads]
    assert rows and all(a["flagged"] is None for a in rows)
    assert {a["not_evaluated"] for a in rows} == {"未提供区域事实表（--region-facts）"}
    assert not any(t["rule"] in roads for t in doc["tasks"])
    assert all("not_evaluated" not in a for a in doc["assessments"] if a["rule"] not in roads)


def test_text_reports_say_not_evaluated(capsys, tmp_path):
    code, out, _ = run_cli(capsys, "assess", SAMPLE, "--as-of", "2024-06-30", "--level", "县级")
    assert "未评估（未提供区域事实表（--region-facts））" in out
    code, out, _ = run_cli(capsys, "check", SAMPLE, "--as-of", "2024-06-30", "--output", tmp_path / "r.html")
    assert "未评估" in out and "缺少区域事实" in out
    assert "未评估" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_header_aliases_and_xlsx(capsys, tmp_path):
    xlsxwriter = pytest.importorskip("xlsxwriter")
    path = tmp_path / "事实.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["行政区划代码", "监测年度", "矿产违法持续年数", "是否被部通报批评", "备注"])
    ws.write_row(1, 0, ["610902", 2023, 3, "是", "说明"])
    wb.close()
    code, doc, _ = assess_json(capsys, "--region-facts", path)
    assert row(doc, "Y23-A-interview-mining-3-years", "610902")["flagged"] is True
    assert row(doc, "Y23-A-interview-ministry-criticism", "610902")["flagged"] is True
    reinterview = row(doc, "Y23-A-county-reinterview", "610902")  # no 省政府约谈 column at all
    assert reinterview["flagged"] is None and reinterview["not_evaluated"] == "区域事实表中「省政府约谈」为空"


@pytest.mark.parametrize(("rows", "says"), [
    ([["610902", 2023, "三", "否", "否"]], "第 2 行 字段「矿产违法连续年数」值「三」不是整数"),
    ([["610902", 2023, 3, "也许", "否"]], "第 2 行 字段「部通报批评」值「也许」不是 是/否"),
    ([["610902", 2023, -1, "否", "否"]], "第 2 行 字段「矿产违法连续年数」值「-1」不能小于 0"),
    ([["619999", 2023, 3, "否", "否"]], "第 2 行 字段「行政区代码」值「619999」不在行政区表中（datasets/regions.csv）"),
    ([["610902", 2023, 3, "否", "否"], ["610902", 2023, 1, "否", "否"]],
     "第 3 行 字段「行政区代码」值「610902」与 facts.csv 第2行重复（同一年度内行政区代码应唯一）"),
    ([["610902", None, 3, "否", "否"]], "第 2 行 字段「年度」值「」必填，不能为空"),
])
def test_bad_facts_refuse_the_run_with_file_row_field_value(capsys, tmp_path, rows, says):
    path = write_csv(tmp_path / "facts.csv", HEADER, rows)
    code, out, err = run_cli(capsys, "check", SAMPLE, "--as-of", "2024-06-30", "--region-facts", path)
    assert code == 2
    assert f"区域事实表 {path} 有 1 处问题" in err and f"facts.csv {says}" in err
    assert "Traceback" not in out + err


def test_every_problem_listed_at_once(capsys, tmp_path):
    path = write_csv(tmp_path / "facts.csv", HEADER, [["610902", 2023, "x", "否", "否"], ["619999", 2023, 1, "否", "否"]])
    code, _, err = run_cli(capsys, "assess", SAMPLE, "--region-facts", path)
    assert code == 2 and "有 2 处问题" in err and "第 2 行" in err and "第 3 行" in err


@pytest.mark.parametrize(("make", "says"), [
    (lambda d: d / "没有.csv", "找不到输入文件或文件夹"),
    (lambda d: write_csv(d / "f.csv", ["年度", "矿产违法连续年数"], [[2023, 1]]), "缺少必需的列"),
])
def test_unusable_facts_file_is_a_located_chinese_message(capsys, tmp_path, make, says):
    code, out, err = run_cli(capsys, "check", SAMPLE, "--region-facts", make(tmp_path))
    assert code == 2 and says in err and "Traceback" not in out + err


def test_facts_rows_no_assessment_read_are_warned(capsys, tmp_path):
    # 2022 is not a year of the input (all 2023): its row is read by nothing and named in the warnings
    path = write_csv(tmp_path / "facts.csv", HEADER, [["610902", 2023, 3, "否", "否"], ["610929", 2022, 5, "否", "否"]])
    from engine.run.runner import check

    result = check(SAMPLE, as_of="2024-06-30", region_facts=path)
    assert [w for w in result.warnings if "没有用于任何评估" in w] == [
        "区域事实表中 610929（2022年度） 没有用于任何评估：输入数据中没有该区域该年度的图斑，或该年度政策没有引用区域事实的评估"]


def test_explain_region_says_not_evaluated_and_why(capsys):
    code, out, _ = run_cli(capsys, "explain", SAMPLE, "--region", "610927", "--as-of", "2024-06-30",
                           "--region-facts", FACTS)
    assert code == 0
    assert "未评估 1 项" in out
    assert "[未评估] Y23-A-county-reinterview" in out and "未评估：区域事实表中「省政府约谈」为空" in out
