"""--waivers: a valid waiver (waivable rule, known patch and rule, 有效期至 on or after the as-of date) moves a finding
to 已说明, out of the findings, their counts and the exit code; every other waiver is reported as a problem.
Expected numbers are worked out by hand from the policy and rows below (as-of date 2024-06-30)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import xlsxwriter

from engine import load_policies
from engine.run.runner import check

from conftest import run_cli, write_csv, write_policy_dir

AS_OF = "2024-06-30"
RULES = """
rules:
  - id: W-R-other
    title: 一般不得判定为其他用地
    cite: 一
    severity: warning
    when: 判定结果 == "其他用地"
    message: "{图斑编号}: 判定为其他用地"
    waivable: true
    waiver_cite: 一（“一般不得……”）
  - id: W-R-big
    title: 耕地面积达到100亩
    cite: 二
    severity: error
    when: 耕地面积 >= 100亩
    message: "{图斑编号}: 耕地{耕地面积}"
    waivable: true
    waiver_cite: 二（“确需……的，说明理由”）
  - id: W-R-illegal
    title: 违法用地
    cite: 三
    severity: error
    when: 判定结果 == "违法用地"
    message: "{图斑编号}: 违法用地"
"""
TRIGGERS = """
triggers:
  - id: W-T-field
    title: 实地核查
    cite: 四
    level: 县级
    action: 实地核查
    when: 耕地面积 >= 100亩
"""
HEADER = ["图斑编号", "监测年度", "行政区代码", "判定结果", "耕地面积"]
# A: W-R-other (warning); B: W-R-big (error), W-R-illegal (error), task W-T-field; C: nothing; D: W-R-big, task
ROWS = [["A", 2021, "140923", "其他用地", "10"], ["B", 2021, "140923", "违法用地", "120"],
        ["C", 2021, "140923", "合法用地", "5"], ["D", 2021, "140923", "合法用地", "150"]]
REPO = Path(__file__).resolve().parents[2]
WAIVER_HEADER = ["图斑编号", "规则", "说明理由", "批准人", "有效期至"]


@pytest.fixture
def policies(policy_root):
    write_policy_dir(policy_root, 2021, {"rules.yaml": RULES, "triggers.yaml": TRIGGERS})
    return load_policies(policy_root)


@pytest.fixture
def data(tmp_path):
    return write_csv(tmp_path / "d.csv", HEADER, ROWS)


def run(policies, data, tmp_path, rows, name="w.csv"):
    waivers = write_csv(tmp_path / name, WAIVER_HEADER, rows)
    return check(data, policies, as_of=AS_OF, waivers=waivers)


def pairs(items):
    return sorted((f.patch, f.rule) for f in items)


def problems(result):
    return [(p.line, p.problem) for p in result.waived.problems]


def test_without_waivers_every_finding_counts(policies, data):
    r = check(data, policies, as_of=AS_OF)
    assert pairs(r.findings) == [("A", "W-R-other"), ("B", "W-R-big"), ("B", "W-R-illegal"), ("D", "W-R-big")]
    assert r.waived is None and "waived" not in r.to_json()
    assert r.exit_code == 1


@pytest.mark.parametrize(("until", "valid"), [("2024-06-30", True), ("2024-07-01", True), ("2024-06-29", False)],
                         ids=["on_the_as_of_day", "day_after", "day_before_expired"])
def test_until_boundary(policies, data, tmp_path, until, valid):
    r = run(policies, data, tmp_path, [["A", "W-R-other", "设施农业，已备案", "张三", until]])
    if valid:
        assert pairs(r.waived.findings) == [("A", "W-R-other")]
        assert ("A", "W-R-other") not in pairs(r.findings)
        assert r.to_json()["summary"]["findings_by_severity"] == {"error": 3}  # the one warning is gone
        assert problems(r) == []
        f = r.waived.findings[0]
        assert (f.reason, f.approver, f.until.isoformat(), f.line, f.severity) == ("设施农业，已备案", "张三", until, 2, "warning")
        assert f.waiver_cite == "一（“一般不得……”）"
    else:
        assert r.waived.findings == []
        assert ("A", "W-R-other") in pairs(r.findings)
        assert problems(r) == [(2, "expired")]
        assert r.waived.problems[0].message == ("w.csv 第 2 行：有效期至 2024-06-29，早于评估日期 2024-06-30，"
                                                "说明已过期，问题照常计入")


def test_non_waivable_rule_and_trigger_are_reported_and_stay(policies, data, tmp_path):
    r = run(policies, data, tmp_path, [["B", "W-R-illegal", "理由", "张三", "2024-12-31"],
                                       ["B", "W-T-field", "理由", "张三", "2024-12-31"]])
    assert problems(r) == [(2, "not_waivable"), (3, "not_waivable")]
    assert "规则「W-R-illegal」不接受说明理由" in r.waived.problems[0].message
    assert ("B", "W-R-illegal") in pairs(r.findings) and len(r.tasks) == 2  # B and D keep their tasks
    assert r.waived.findings == []


def test_unknown_patch_unknown_rule_and_no_match(policies, data, tmp_path):
    r = run(policies, data, tmp_path, [["Z", "W-R-other", "理由", "张三", "2024-12-31"],
                                       ["A", "W-R-othr", "理由", "张三", "2024-12-31"],
                                       ["C", "W-R-other", "理由", "张三", "2024-12-31"]])
    assert problems(r) == [(2, "unknown_patch"), (3, "unknown_rule"), (4, "no_match")]
    msgs = [p.message for p in r.waived.problems]
    assert msgs[0] == "w.csv 第 2 行：图斑「Z」不在输入数据中，说明未生效"
    assert "规则「W-R-othr」在政策中不存在" in msgs[1] and "W-R-other" in msgs[1]  # with a suggestion
    assert msgs[2].startswith("w.csv 第 4 行：图斑「C」没有规则「W-R-other」的问题")
    assert len(r.findings) == 4 and r.waived.findings == []


def test_duplicate_waivers_use_the_latest_until(policies, data, tmp_path):
    r = run(policies, data, tmp_path, [["A", "W-R-other", "第一次", "张三", "2024-12-31"],
                                       ["A", "W-R-other", "第二次", "李四", "2025-01-31"]])
    assert [(f.reason, f.line) for f in r.waived.findings] == [("第二次", 3)]
    assert problems(r) == [(2, "duplicate")]
    assert "已由第 3 行说明" in r.waived.problems[0].message


def test_all_errors_waived_exits_0(policies, tmp_path):
    data = write_csv(tmp_path / "d.csv", HEADER, [ROWS[3]])  # D only: one error, W-R-big
    assert check(data, policies, as_of=AS_OF).exit_code == 1
    r = run(policies, data, tmp_path, [["D", "W-R-big", "国家重点项目先行用地", "张三", AS_OF]])
    assert r.findings == [] and r.exit_code == 0
    assert r.to_json()["summary"]["findings_by_severity"] == {}
    assert [t.patch for t in r.tasks] == ["D"]  # a waiver sets aside a finding, never a field-check task


def test_problems_alone_do_not_change_the_exit_code(policies, tmp_path):
    data = write_csv(tmp_path / "d.csv", HEADER, [ROWS[2]])  # C: no finding
    r = run(policies, data, tmp_path, [["C", "W-R-other", "理由", "张三", "2024-01-01"]])
    assert problems(r) == [(2, "expired")] and r.exit_code == 0


def test_xlsx_waivers_file(policies, data, tmp_path):
    path = tmp_path / "w.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, WAIVER_HEADER)
    ws.write_row(1, 0, ["A", "W-R-other", "理由", "张三"])
    ws.write_datetime(1, 4, __import__("datetime").datetime(2024, 6, 30), wb.add_format({"num_format": "yyyy-mm-dd"}))
    wb.close()
    r = check(data, policies, as_of=AS_OF, waivers=path)
    assert pairs(r.waived.findings) == [("A", "W-R-other")] and r.waived.findings[0].until.isoformat() == AS_OF


def test_yaml_waivers_file(policies, data, tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text("waivers:\n"
                    "  - 图斑编号: A\n    规则: W-R-other\n    说明理由: 理由\n    批准人: 张三\n    有效期至: 2024-06-30\n"
                    "  - 图斑编号: A\n    规则: W-R-other\n    说明理由: 理由\n    批准人: 张三\n    有效期至: 2025年1月31日\n",
                    encoding="utf-8")
    r = check(data, policies, as_of=AS_OF, waivers=path)
    assert [(f.line, f.until.isoformat()) for f in r.waived.findings] == [(7, "2025-01-31")]  # the YAML line of the entry
    assert problems(r) == [(2, "duplicate")]


@pytest.mark.parametrize(("rows", "said"), [
    ([["A", "W-R-other", "", "张三", "2024-06-30"]], "w.csv 第 2 行，字段「说明理由」：为空，必须填写"),
    ([["A", "W-R-other", "理由", "", "2024-06-30"]], "w.csv 第 2 行，字段「批准人」：为空，必须填写"),
    ([["A", "W-R-other", "理由", "张三", "2024-13-01"]], "w.csv 第 2 行，字段「有效期至」：「2024-13-01」不是日期"),
], ids=["no_reason", "no_approver", "bad_date"])
def test_bad_rows_stop_the_run_with_file_row_field_value(policies, data, tmp_path, capsys, rows, said, policy_root):
    waivers = write_csv(tmp_path / "w.csv", WAIVER_HEADER, rows)
    code, out, err = run_cli(capsys, "check", data, "--policies", policy_root, "--as-of", AS_OF, "--waivers", waivers)
    assert code == 2 and said in err and "Traceback" not in err


def test_missing_column_and_bad_yaml(policies, data, tmp_path, capsys, policy_root):
    waivers = write_csv(tmp_path / "w.csv", ["图斑编号", "规则", "说明理由", "有效期至"], [["A", "W-R-other", "理由", AS_OF]])
    code, _, err = run_cli(capsys, "check", data, "--policies", policy_root, "--waivers", waivers)
    assert code == 2 and "缺少列「批准人」" in err
    bad = tmp_path / "w.yaml"
    bad.write_text("- 图斑编号: A\n  规矩: W-R-other\n", encoding="utf-8")
    code, _, err = run_cli(capsys, "check", data, "--policies", policy_root, "--waivers", bad)
    assert code == 2 and "w.yaml 第 1 行：不认识的键「规矩」" in err
    code, _, err = run_cli(capsys, "check", data, "--policies", policy_root, "--waivers", tmp_path / "none.csv")
    assert code == 2 and "找不到说明理由文件" in err


def test_cli_end_to_end(policies, tmp_path, capsys, policy_root):
    data = write_csv(tmp_path / "d.csv", HEADER, [ROWS[0], ROWS[3]])  # A: warning W-R-other; D: error W-R-big
    waivers = write_csv(tmp_path / "w.csv", WAIVER_HEADER, [["D", "W-R-big", "重点项目先行用地", "张三", "2024-12-31"],
                                                            ["A", "W-R-other", "理由", "李四", "2024-06-29"]])
    out_dir = tmp_path / "out"
    out_dir.mkdir()
    code, out, _ = run_cli(capsys, "check", data, "--policies", policy_root, "--as-of", AS_OF, "--waivers", waivers,
                           "--output", out_dir / "r.json", "--output", out_dir / "r.xlsx", "--output", out_dir / "r.html")
    assert code == 0  # D's only error is waived; A's warning stays (expired waiver) and warnings do not fail a run
    assert "已说明（不计入问题数和退出码）：1 条" in out and "说明未生效：w.csv 第 3 行：有效期至 2024-06-29" in out
    doc = json.loads((out_dir / "r.json").read_text(encoding="utf-8"))
    assert doc["summary"]["findings_by_severity"] == {"warning": 1}
    assert doc["waived"]["count"] == 1 and doc["waived"]["findings"][0]["reason"] == "重点项目先行用地"
    assert [p["problem"] for p in doc["waived"]["problems"]] == ["expired"]
    import openpyxl

    wb = openpyxl.load_workbook(out_dir / "r.xlsx", read_only=True)
    assert {"已说明", "说明未生效"} <= set(wb.sheetnames)
    rows = list(wb["已说明"].iter_rows(values_only=True))
    assert rows[1][2:4] == ("D", "W-R-big") and rows[1][9:11] == ("重点项目先行用地", "张三")
    html = (out_dir / "r.html").read_text(encoding="utf-8")
    assert 'id="waived"' in html and "重点项目先行用地" in html and 'id="waiver-problems"' in html


def test_bundled_policies_mark_only_rules_whose_text_allows_a_reason():
    ps = load_policies()
    waivable = {y: sorted(c.id for c in p.rules if c.waivable) for y, p in ps.items()}
    assert waivable == {2021: ["Y21-R-monthly-county-filing"], 2023: ["Y23-R-key-category-other"]}
    assert all(c.waiver_cite for p in ps.values() for c in p.rules if c.waivable)


def test_sample_waivers_file_from_the_guide(capsys):
    """datasets/waivers_2023.csv: row 2 explains 610922202300000108 (valid until 2024-12-31), row 3 expired on
    2024-03-31, row 4 names a rule that accepts no reason."""
    code, out, _ = run_cli(capsys, "check", REPO / "datasets/sample_2023.csv", "--as-of", AS_OF,
                           "--waivers", REPO / "datasets/waivers_2023.csv", "--format", "json")
    doc = json.loads(out)
    assert code == 1
    assert [(f["patch"], f["rule"]) for f in doc["waived"]["findings"]] == [("610922202300000108", "Y23-R-key-category-other")]
    assert [(p["line"], p["problem"]) for p in doc["waived"]["problems"]] == [(3, "expired"), (4, "not_waivable")]
    assert doc["summary"]["findings_by_severity"]["warning"] == 1  # 2 without the file (README), one explained


def test_split_ledgers_keep_each_countys_waived_rows(policies, tmp_path):
    from engine.report.xlsx import split_by_county

    rows = [["140923202100000001", 2021, "140923", "其他用地", "10"], ["140922202100000001", 2021, "140922", "其他用地", "10"]]
    data = write_csv(tmp_path / "d.csv", HEADER, rows)
    r = run(policies, data, tmp_path, [["140923202100000001", "W-R-other", "理由", "张三", AS_OF],
                                       ["140922202100000001", "W-R-other", "理由", "张三", "2024-06-29"]])
    parts = split_by_county(r.to_json(), names={"140923": "甲县", "140922": "乙县"},
                            region_levels={"140923": "县级", "140922": "县级"})
    assert [(k, [f["patch"] for f in p["waived"]["findings"]], [x["line"] for x in p["waived"]["problems"]])
            for k, p in parts.items()] == [("140922_乙县", [], [3]), ("140923_甲县", ["140923202100000001"], [])]


def test_waiver_rows_over_the_limit_are_refused(policies, data, tmp_path, monkeypatch):
    from engine.errors import InputError
    from engine.limits import LIMITS

    monkeypatch.setattr(LIMITS, "waiver_rows", 2)
    rows = [["A", "W-R-other", "理由", "张三", AS_OF]] * 3
    with pytest.raises(InputError, match="说明理由文件的行数超出上限：3 行，上限 2 行"):
        run(policies, data, tmp_path, rows)


def test_an_output_may_not_replace_the_waivers_file(policies, data, tmp_path, capsys, policy_root):
    waivers = write_csv(tmp_path / "w.csv", WAIVER_HEADER, [["A", "W-R-other", "理由", "张三", AS_OF]])
    before = waivers.read_bytes()
    code, _, err = run_cli(capsys, "check", data, "--policies", policy_root, "--waivers", waivers, "--output", waivers)
    assert code == 2 and "会覆盖输入数据" in err and waivers.read_bytes() == before


def test_a_year_may_withdraw_an_inherited_waivable(policies, policy_root):
    write_policy_dir(policy_root, 2022, {"rules.yaml": "rules:\n  - id: W-R-other\n    override: true\n    waivable: false\n"},
                     header="extends: ../2021\n")
    ps = load_policies(policy_root)
    assert [c.waivable for c in ps[2022].rules if c.id == "W-R-other"] == [False]
    assert [c.waivable for c in ps[2021].rules if c.id == "W-R-other"] == [True]


def test_a_patch_id_excel_stored_as_a_number_gets_a_hint(policies, data, tmp_path):
    path = tmp_path / "w.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, WAIVER_HEADER)
    ws.write_row(1, 0, [610922202300000108, "W-R-other", "理由", "张三", AS_OF])  # 18 digits: Excel keeps 15
    wb.close()
    r = check(data, policies, as_of=AS_OF, waivers=path)
    assert problems(r) == [(2, "unknown_patch")]
    assert "Excel 把图斑编号存成了数字" in r.waived.problems[0].message
