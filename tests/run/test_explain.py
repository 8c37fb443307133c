"""weipian explain: each condition with the patch's values substituted, clause by clause, computed by SQL."""
import json

import pytest

from conftest import help_output, run_command, write_policy_dir

POLICY = """\
policy: 2023
title: 测试政策
parameters:
  核查耕地面积: {value: {省级: 100亩, 市级: 50亩}, cite: 三（五）}
definitions:
  疑似违法: {expr: 判定结果 == "违法用地" and 审批文号 is null, cite: 三（一）}
rules:
  - id: T-R-type
    title: 违法用地须填写违法类型
    cite: 附件4
    severity: error
    when: 判定结果 == "违法用地" and 违法类型 is null
    message: "{图斑编号}: 违法类型为空"
triggers:
  - id: T-T-province
    title: 省级实地核查
    cite: 三（五）
    level: 省级
    action: 实地核查
    when: 疑似违法 and 耕地面积 >= 核查耕地面积
  - id: T-T-deadline
    title: 下发30天后仍未填报
    cite: 三（二）
    level: 县级
    action: 内业审核意见
    when: add_days(下发日期, 30) < 评估日期
"""

DATA = """\
图斑编号,监测年度,行政区代码,下发日期,耕地面积,判定结果,违法类型,审批文号
P1,2023,610902,2024-06-01,120,违法用地,新增建设用地违法,
P2,2023,610902,2024-06-01,99.99,违法用地,,
"""


def policy_and_data(tmp_path, year: int, policy: str, data: str):
    """policies/<year>/policy.yaml and data.csv under tmp_path, from their texts: (policy dir, data file)."""
    d = write_policy_dir(tmp_path / "policies", year, {"policy.yaml": policy})
    csv = tmp_path / "data.csv"
    csv.write_text(data, encoding="utf-8")
    return d, csv


@pytest.fixture
def files(tmp_path):
    return policy_and_data(tmp_path, 2023, POLICY, DATA)


def run(capsys, *argv):
    return run_command(capsys, "explain", *argv)


def test_substituted_values_and_result(files, capsys):
    d, data = files
    code, out = run(capsys, data, "--patch", "P1", "--policies", d, "--as-of", "2024-06-30")
    assert code == 0, out
    assert "图斑 P1（data.csv 第 2 行）按 2023年政策「测试政策」检查，评估日期 2024-06-30：3 条中触发 1 条" in out
    # the trigger: 120亩 >= the 省级 value 100亩, and the definition 疑似违法 is true
    assert "[触发] T-T-province  省级实地核查（三（五））  省级实地核查" in out
    assert "代入：疑似违法〔是〕 and 耕地面积〔120亩〕 >= 核查耕地面积〔100亩〕" in out
    assert "    [是] 耕地面积 >= 核查耕地面积" in out
    assert "定义「疑似违法」= 是：判定结果 == \"违法用地\" and 审批文号 is null（三（一））" in out
    assert "代入：判定结果〔违法用地〕 == \"违法用地\" and 审批文号〔空〕 is null" in out
    # the rule does not fire: 违法类型 is filled in
    assert "[未触发] T-R-type" in out
    assert "代入：判定结果〔违法用地〕 == \"违法用地\" and 违法类型〔新增建设用地违法〕 is null" in out
    assert "[否] 违法类型 is null" in out
    # function values: 2024-06-01 + 30 days = 2024-07-01, not before 2024-06-30
    assert "代入：add_days(下发日期〔2024-06-01〕, 30)〔2024-07-01〕 < 评估日期〔2024-06-30〕" in out
    assert "[未触发] T-T-deadline" in out


def test_just_below_threshold_and_message(files, capsys):
    d, data = files
    code, out = run(capsys, data, "--patch", "P2", "--policies", d, "--as-of", "2024-07-02")
    assert "[未触发] T-T-province" in out
    assert "耕地面积〔99.99亩〕 >= 核查耕地面积〔100亩〕" in out and "    [否] 耕地面积 >= 核查耕地面积" in out
    assert "[触发] T-R-type" in out and "说明：P2: 违法类型为空" in out
    # 2024-07-01 < 2024-07-02
    assert "[触发] T-T-deadline" in out


def test_only_fired_rule_filter_and_json(files, capsys):
    d, data = files
    code, out = run(capsys, data, "--patch", "P1", "--policies", d, "--as-of", "2024-06-30", "--only-fired")
    assert "T-T-province" in out and "T-R-type" not in out
    code, out = run(capsys, data, "--patch", "P1", "--policies", d, "--as-of", "2024-06-30", "--rule", "T-T-province",
                    "--format", "json")
    doc = json.loads(out)
    assert [c["rule"] for c in doc[0]["checks"]] == ["T-T-province"] and doc[0]["checks"][0]["fired"] is True


def test_unknown_patch_and_rule(files, capsys):
    d, data = files
    code, out = run(capsys, data, "--patch", "P3", "--policies", d)
    assert code == 2 and "没有图斑编号为「P3」的图斑" in out and "P1" in out
    code, out = run(capsys, data, "--patch", "P1", "--policies", d, "--rule", "T-T-provinse")
    assert code == 2 and "没有规则「T-T-provinse」" in out and "T-T-province" in out


def test_help_has_example(capsys):
    assert "示例：" in help_output(capsys, "explain")


ASSESS_POLICY = """\
policy: 2021
title: 测试政策
parameters:
  问责比例: {value: 15%, cite: 六}
  问责面积: {value: {县级: 10亩, 市级: 50亩}, cite: 六}
assessments:
  - id: T-A-acc
    kind: 问责评估
    title: 违法占用耕地问责
    cite: 六
    levels: [县级, 市级]
    period: 年度
    numerator: sum(耕地面积 where 判定结果 == "违法用地")
    denominator: sum(耕地面积)
    flag: ratio >= 问责比例 and numerator >= 问责面积
  - id: T-A-acc-restored
    kind: 扣除
    of: T-A-acc
    effect: 分子分母同时扣除
    title: 已拆除复耕到位
    cite: 附件5
    when: 整改状态 == "已拆除复耕到位"
"""

# 610902: numerator 15 (A1), denominator 15 + 85 = 100, ratio 0.15 >= 15%, 15亩 >= 10亩 (县级): flagged.
# 610921: B3 deducted from both; 14.99 / (14.99 + 85.01) = 0.1499 < 15%: not flagged.
# 610900 (市级): numerator 15 + 14.99 = 29.99 < 50亩: not flagged; ratio 29.99 / 200 = 0.14995.
ASSESS_DATA = """\
图斑编号,监测年度,行政区代码,耕地面积,判定结果,整改状态
A1,2021,610902,15,违法用地,
A2,2021,610902,85,合法用地,
B1,2021,610921,14.99,违法用地,
B2,2021,610921,85.01,合法用地,
B3,2021,610921,50,违法用地,已拆除复耕到位
"""


@pytest.fixture
def assess_files(tmp_path):
    return policy_and_data(tmp_path, 2021, ASSESS_POLICY, ASSESS_DATA)


def test_region_assessment(assess_files, capsys):
    d, data = assess_files
    code, out = run(capsys, data, "--region", "610902", "--policies", d, "--as-of", "2022-06-30")
    assert code == 0, out
    assert "[列入] T-A-acc  违法占用耕地问责（六）  县级 610902（汉滨区） 2021" in out
    assert "代入：ratio〔15.00%〕 >= 问责比例〔15.00%〕 and numerator〔15亩〕 >= 问责面积〔10亩〕" in out
    assert "    [是] ratio >= 问责比例\n    [是] numerator >= 问责面积" in out
    code, out = run(capsys, data, "--region", "610921", "--policies", d, "--as-of", "2022-06-30")
    assert "[未列入] T-A-acc" in out and "ratio〔14.99%〕 >= 问责比例〔15.00%〕" in out and "[否] ratio >= 问责比例" in out
    assert "扣除 T-A-acc-restored（分子分母同时扣除）：1 个图斑" in out
    # the city level takes the 市级 value of the per-level parameter
    code, out = run(capsys, data, "--region", "610900", "--policies", d, "--as-of", "2022-06-30", "--format", "json")
    doc = json.loads(out)
    assert doc[0]["level"] == "市级" and doc[0]["flagged"] is False
    assert "代入：ratio〔14.995%〕 >= 问责比例〔15.00%〕 and numerator〔29.99亩〕 >= 问责面积〔50亩〕" in doc[0]["lines"]


def test_region_unknown_and_patch_or_region_required(assess_files, capsys):
    d, data = assess_files
    code, out = run(capsys, data, "--region", "999999", "--policies", d)
    assert code == 2 and "没有地区「999999」的评估结果" in out
    code, out = run(capsys, data, "--policies", d)
    assert code == 2 and "二选一" in out
