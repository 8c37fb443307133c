"""Region assessments on the live policies, with numbers computed by hand (arithmetic in the comments)."""
from __future__ import annotations

import pytest

from engine import check_records, load_policies

AS_OF = "2024-06-30"


@pytest.fixture(scope="module")
def policies():
    return load_policies()


def run(policies, year, patches, **defaults):
    base = {"监测年度": year, "下发日期": f"{year}-03-05", "监测面积": "100000亩", **defaults}
    recs = [{"图斑编号": f"P{i + 1}", **base, **p} for i, p in enumerate(patches)]
    return check_records(recs, {year: policies[year]}, as_of=AS_OF)


def one(result, rule, level, region, period=None):
    rows = [a for a in result.assessments if a.rule == rule and a.level == level and a.region == region
            and (period is None or a.period == period)]
    assert len(rows) == 1, (rule, level, region, period, [(a.rule, a.level, a.region, a.period) for a in result.assessments])
    return rows[0]


def illegal(gd, **kw):
    return {"判定结果": "违法用地", "违法类型": "新增建设用地违法", "耕地面积": gd, **kw}


# ---- 问责评估: each deduction once -------------------------------------------------------------

DEDUCTION_CASE = [
    illegal("50亩", 整改状态="未整改"),                                          # P1 counted: num 50, den 50
    illegal("10亩", 整改状态="已补办完善用地手续"),                              # P2 只扣分子: num -10
    illegal("20亩", 整改状态="已拆除复耕到位"),                                  # P3 同时扣除: num -20, den -20
    illegal("30亩", 基础设施类型="交通", 已履行监管服务职责="是", 项目级别="省级"),  # P4 county: -30/-30; 省级: stays
    {"判定结果": "违法用地", "违法类型": "存量建设用地违法", "耕地面积": "40亩"},  # P5 均不计入 (not in gross)
    {"判定结果": "合法用地", "耕地面积": "100亩"},                                # P6 den 100
    {"判定结果": "其他用地", "耕地面积": "0亩"},                                  # P7 no 耕地: out of scope
    {"判定结果": "合法用地", "最终判定结果": "违法用地", "违法类型": "新增建设用地违法", "耕地面积": "60亩"},  # P8 最终判定 wins: num 60
]


def test_each_deduction_once_county(policies):
    r = run(policies, 2021, DEDUCTION_CASE, 行政区代码="140923")
    a = one(r, "Y21-A-accountability", "县级", "140923", "2021")
    v = a.values
    # gross (excluded P5 never counted): num = 50+10+20+30+60 = 170; den = 50+10+20+30+100+60 = 270
    assert v["numerator_gross"] == 170 and v["denominator_gross"] == 270
    d = v["deductions"]
    assert d["Y21-A-accountability-supplemented"] == {"title": d["Y21-A-accountability-supplemented"]["title"],
                                                      "effect": "只扣分子", "patches": 1, "numerator": 10}
    assert (d["Y21-A-accountability-restored"]["numerator"], d["Y21-A-accountability-restored"]["denominator"]) == (20, 20)
    assert (d["Y21-A-accountability-infrastructure"]["numerator"], d["Y21-A-accountability-infrastructure"]["denominator"]) == (30, 30)
    assert (d["Y21-A-accountability-not-counted"]["numerator"], d["Y21-A-accountability-not-counted"]["denominator"]) == (40, 40)
    # num = 170 - 10 - 20 - 30 = 110; den = 270 - 20 - 30 = 220; ratio = 110 / 220 = 0.5
    assert (v["numerator"], v["denominator"], v["ratio"]) == (110, 220, 0.5)
    # 2021 county: 110 > 100亩 and 50% >= 15% -> 问责
    assert a.flagged is True and v["问责面积"] == 100 and v["问责比例"] == 0.15


def test_province_keeps_provincial_infrastructure(policies):
    r = run(policies, 2021, DEDUCTION_CASE, 行政区代码="140923")
    v = one(r, "Y21-A-accountability", "省级", "140000").values
    # 省级: P4 (项目级别 省级) is not deducted: num = 170 - 10 - 20 = 140; den = 270 - 20 = 250; ratio = 0.56
    assert (v["numerator"], v["denominator"], v["ratio"]) == (140, 250, 0.56)
    assert v["deductions"]["Y21-A-accountability-infrastructure"]["patches"] == 0
    # city: P4 deducted as at county: 110 / 220; 110 < 500亩 -> not flagged
    c = one(r, "Y21-A-accountability", "市级", "140900")
    assert (c.values["numerator"], c.flagged) == (110, False)


def test_pilot_province_keeps_national_infrastructure_2023(policies):
    # 110101 is in 北京市 (用地审批权委托试点省 in datasets/regions.csv); 610902 in 陕西省 (not a pilot)
    patches = [
        {"图斑类型": "新增非农建设类", **illegal("30亩", 基础设施类型="能源", 已履行监管服务职责="是", 项目级别="国家级")},
        {"图斑类型": "新增非农建设类", "判定结果": "合法用地", "耕地面积": "70亩"},
    ]
    for code, province, kept in (("110101", "110000", True), ("610902", "610000", False)):
        r = run(policies, 2023, patches, 行政区代码=code)
        v = one(r, "Y21-A-accountability", "省级", province).values
        # pilot: national project stays: num 30, den 100; otherwise deducted from both: num 0, den 70
        assert (v["numerator"], v["denominator"]) == ((30, 100) if kept else (0, 70))
        # at county level the project is deducted either way: num 0, den 70
        county = one(r, "Y21-A-accountability", "县级", code).values
        assert (county["numerator"], county["denominator"]) == (0, 70)
    # 2021 has no pilot clause: the national project is deducted at 省级 even in a pilot province
    r = run(policies, 2021, [illegal("30亩", 基础设施类型="能源", 已履行监管服务职责="是", 项目级别="国家级"),
                             {"判定结果": "合法用地", "耕地面积": "70亩"}], 行政区代码="110101")
    v = one(r, "Y21-A-accountability", "省级", "110000").values
    assert (v["numerator"], v["denominator"]) == (0, 70)


def test_deduction_precedence(policies):
    patches = [
        # 已补办 (只扣分子) and infrastructure (同时扣除): the stronger effect wins -> out of both
        illegal("10亩", 整改状态="已补办完善用地手续", 基础设施类型="水利", 已履行监管服务职责="是"),
        # 已拆除复耕到位 (同时扣除) and 存量建设用地违法 (均不计入): not counted at all
        {"判定结果": "违法用地", "违法类型": "存量建设用地违法", "耕地面积": "20亩", "整改状态": "已拆除复耕到位"},
        {"判定结果": "合法用地", "耕地面积": "100亩"},
    ]
    r = run(policies, 2021, patches, 行政区代码="140923")
    v = one(r, "Y21-A-accountability", "县级", "140923").values
    d = v["deductions"]
    assert d["Y21-A-accountability-infrastructure"]["patches"] == 1 and d["Y21-A-accountability-supplemented"]["patches"] == 0
    assert d["Y21-A-accountability-not-counted"]["patches"] == 1 and d["Y21-A-accountability-restored"]["patches"] == 0
    # gross: num 10, den 10 + 100 = 110; net: num 0, den 100
    assert (v["numerator_gross"], v["denominator_gross"], v["numerator"], v["denominator"]) == (10, 110, 0, 100)


# ---- 问责评估: thresholds -------------------------------------------------------------------------


@pytest.mark.parametrize("year, area, flagged", [
    (2021, "100亩", False),      # 正文六（三）“大于100亩”: 100 > 100 is false
    (2021, "100.0001亩", True),
    (2023, "100亩", True),       # 附件3 “100亩以上”: 100 >= 100
    (2023, "99.9999亩", False),
])
def test_county_area_threshold(policies, year, area, flagged):
    # ratio = area / (area + 100) ~ 50% >= 15%, so only the area decides
    extra = {"图斑类型": "新增非农建设类"} if year == 2023 else {}
    r = run(policies, year, [{**extra, **illegal(area)}, {**extra, "判定结果": "合法用地", "耕地面积": "100亩"}], 行政区代码="610902" if year == 2023 else "140923")
    a = one(r, "Y21-A-accountability", "县级", "610902" if year == 2023 else "140923")
    assert a.flagged is flagged


@pytest.mark.parametrize("illegal_area, flagged", [
    ("150亩", True),        # 150 / 1000 = 15% exactly: 达到15%以上
    ("149.9999亩", False),  # 149.9999 / 999.9999 < 15%
])
def test_ratio_exactly_15_percent(policies, illegal_area, flagged):
    # den = illegal + 850 legal: 150 + 850 = 1000; numerator 150 > 100亩
    patches = [{"图斑类型": "新增非农建设类", **illegal(illegal_area)},
               {"图斑类型": "新增非农建设类", "判定结果": "合法用地", "耕地面积": "850亩"}]
    r = run(policies, 2023, patches, 行政区代码="610902")
    assert one(r, "Y21-A-accountability", "县级", "610902").flagged is flagged


def test_city_threshold_inclusive_in_2021(policies):
    # 附件5 二 “设区市……500亩以上”: 500 >= 500 at 市级 (the body text's “大于” is about counties only)
    r = run(policies, 2021, [illegal("500亩"), {"判定结果": "合法用地", "耕地面积": "500亩"}], 行政区代码="140923")
    assert one(r, "Y21-A-accountability", "市级", "140900").flagged is True


def test_2023_scope_new_construction_and_supplementary(policies):
    patches = [
        {"图斑类型": "新增非农建设类", **illegal("10亩")},               # in scope (重点类)
        {"图斑类型": "其他变化类", **illegal("20亩")},                   # out: 县级判定 only, not 重点类
        {"图斑类型": "其他变化类", "判定结果": "合法用地", "最终判定结果": "违法用地",
         "违法类型": "新增建设用地违法", "耕地面积": "30亩"},            # in: 审核最终判定新增建设违法 (三（七）1)
        {"图斑来源": "补充", **illegal("40亩")},                         # in: 补充图斑 judged 新增建设违法
        {"图斑类型": "其他新增建设类", "判定结果": "合法用地", "耕地面积": "50亩"},  # out
    ]
    v = one(run(policies, 2023, patches, 行政区代码="610902"), "Y21-A-accountability", "县级", "610902").values
    # num = den = 10 + 30 + 40 = 80
    assert (v["numerator"], v["denominator"]) == (80, 80)


# ---- 耕地指标冻结 ------------------------------------------------------------------------------------


def test_farmland_quota_freeze(policies):
    patches = [
        illegal("30亩", 整改状态="未整改"),
        illegal("20亩", 整改状态="整改中"),
        illegal("5亩"),                                 # 整改状态 empty: not rectified
        illegal("10亩", 整改状态="已拆除复耕到位"),
        illegal("7亩", 整改状态="已消除违法状态"),
        {"判定结果": "违法用地", "违法类型": "农业项目破坏耕地", "耕地面积": "8亩"},
        {"判定结果": "合法用地", "耕地面积": "100亩"},
    ]
    # 2021: 30 + 20 + 5 + 8 = 63; 2023 (非农建设 only): 30 + 20 + 5 = 55
    a21 = one(run(policies, 2021, patches, 行政区代码="140923"), "Y21-A-farmland-quota-freeze", "县级", "140923")
    a23 = one(run(policies, 2023, patches, 行政区代码="610902"), "Y21-A-farmland-quota-freeze", "县级", "610902")
    assert (a21.values["numerator"], a21.flagged) == (63, True)
    assert (a23.values["numerator"], a23.flagged) == (55, True)
    none = one(run(policies, 2023, [illegal("10亩", 整改状态="已拆除复耕到位")], 行政区代码="610902"),
               "Y21-A-farmland-quota-freeze", "县级", "610902")
    assert (none.values["numerator"], none.flagged) == (0, False)


# ---- 2023 差错率, 通报, 约谈 ----------------------------------------------------------------------------


def err(code, day, gd, bad):
    return {"行政区代码": code, "下发日期": day, "耕地面积": gd, "明显填报不合理": "是" if bad else "否",
            "判定结果": "合法用地", "图斑类型": "其他变化类"}


ERROR_CASE = [
    err("610902", "2023-03-02", "10亩", True), err("610902", "2023-03-02", "90亩", False),            # 10/100 = 10%: not 超限
    err("610921", "2023-03-05", "10.0001亩", True), err("610921", "2023-03-05", "89.9999亩", False),  # 10.0001/100 > 10%
    err("610922", "2023-04-05", "20亩", True), err("610922", "2023-04-05", "80亩", False),            # 20%
    err("610923", "2023-04-05", "1000亩", False),                                                     # 0%
]


def test_error_rate_boundary(policies):
    r = run(policies, 2023, ERROR_CASE)
    at = one(r, "Y23-A-monthly-error", "县级", "610902", "2023-03")
    above = one(r, "Y23-A-monthly-error", "县级", "610921", "2023-03")
    assert (at.values["ratio"], at.flagged) == (0.1, False)
    assert above.values["ratio"] == pytest.approx(0.100001) and above.flagged is True
    # the ministry's quarterly rate over the same patches: 2023Q1
    assert one(r, "Y23-A-daily-error", "县级", "610902", "2023Q1").flagged is False
    assert one(r, "Y23-A-daily-error", "县级", "610921", "2023Q1").flagged is True


def test_city_over_limit_by_county_share(policies):
    r = run(policies, 2023, ERROR_CASE)
    a = one(r, "Y23-A-annual-error-city", "市级", "610900", "2023")
    v = a.values
    # 超限 counties: 610921 (2023-03), 610922 (2023-04) = 2 of 安康市's 10 -> 20% > 10%
    # own area rate: (10 + 10.0001 + 20) / (100 + 100 + 100 + 1000) = 40.0001 / 1300 ≈ 3.08% < 10%
    assert (v["超限县数"], v["超限县占比"]) == (2, 0.2)
    assert v["ratio"] == pytest.approx(40.0001 / 1300) and v["ratio"] < 0.1
    assert a.flagged is True
    # province (ministry rule, quarterly counties): 2 of 陕西省's 107 ≈ 1.87%; area 3.08% -> not 超限
    p = one(r, "Y23-A-annual-error-province", "省级", "610000", "2023")
    assert p.values["超限县数"] == 2 and p.flagged is False


def test_one_county_of_ten_is_not_over_limit(policies):
    # 1 of 10 = 10% exactly: not 超限 (“超过10%”)
    r = run(policies, 2023, ERROR_CASE[2:4] + [ERROR_CASE[-1]])
    a = one(r, "Y23-A-annual-error-city", "市级", "610900", "2023")
    assert (a.values["超限县数"], a.values["超限县占比"], a.flagged) == (1, 0.1, False)


def test_full_check_task_per_over_limit_county(policies):
    r = run(policies, 2023, ERROR_CASE)
    tasks = [t for t in r.tasks if t.rule == "Y23-A-monthly-error"]
    assert [(t.region, t.level, t.action) for t in tasks] == [("610921", "省级", "全面核查"), ("610922", "省级", "全面核查")]
    assert "2023-03" in tasks[0].message


@pytest.mark.parametrize("months, consecutive, flagged", [
    (["2023-03", "2023-04"], 2, True),             # 连续两次
    (["2023-03", "2023-05"], 1, False),            # two, not consecutive
    (["2023-03", "2023-05", "2023-07"], 1, True),  # 累计三次
])
def test_escalation(policies, months, consecutive, flagged):
    patches = []
    for m in months:  # one 超限 county-month each (汉阴县 30/100 = 30%)
        patches += [err("610921", f"{m}-10", "30亩", True), err("610921", f"{m}-10", "70亩", False)]
    patches.append(err("610902", "2023-06-10", "100亩", False))  # a clean month: no notice
    r = run(policies, 2023, patches)
    notices = [a.period for a in r.assessments if a.rule == "Y23-A-monthly-error-notice" and a.flagged]
    assert notices == months
    a = one(r, "Y23-A-city-interview", "市级", "610900", "2023")
    assert (a.values["通报次数"], a.values["最长连续通报次数"], a.flagged) == (len(months), consecutive, flagged)


# ---- 2023 预警 -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("num, den, flagged", [
    ("80亩", "320亩", True),        # 80 >= 100 × 80% and 80/400 = 20% >= 12%
    ("79.9999亩", "320亩", False),  # just below 80亩
    ("120亩", "880亩", True),       # 120 >= 80; 120/1000 = 12% = 15% × 80%
    ("119.99亩", "880.01亩", False),  # 119.99/1000 < 12%
])
def test_early_warning(policies, num, den, flagged):
    patches = [{"图斑类型": "新增非农建设类", **illegal(num)}, {"图斑类型": "新增非农建设类", "判定结果": "合法用地", "耕地面积": den}]
    r = run(policies, 2023, patches, 行政区代码="610902")
    a = one(r, "Y23-A-early-warning", "县级", "610902")
    assert a.flagged is flagged and a.kind == "预警"
    assert one(r, "Y21-A-accountability", "县级", "610902").flagged is False  # near, not at, the standard


# ---- 2021 复检真实性 -------------------------------------------------------------------------------------


@pytest.mark.parametrize("true_count, flagged", [(19, False), (18, True)])
def test_recheck_authenticity(policies, true_count, flagged):
    # 19/20 = 95%: not below 95% -> no 通报; 18/20 = 90% -> 通报
    patches = [{"复检结论": "真实" if i < true_count else "不真实"} for i in range(20)] + [{}]  # one not re-checked
    r = run(policies, 2021, patches, 行政区代码="140923")
    a = one(r, "Y21-A-recheck-authenticity", "县级", "140923")
    assert (a.values["numerator"], a.values["denominator"], a.flagged) == (true_count, 20, flagged)
    assert one(r, "Y21-A-recheck-authenticity", "市级", "140900").flagged is flagged
    assert not any(x.rule == "Y21-A-recheck-authenticity" for x in run(policies, 2023, [{"复检结论": "不真实"}], 行政区代码="610902").assessments)


def test_output_sorted_and_json_ready(policies):
    import json

    r = run(policies, 2023, ERROR_CASE)
    again = run(policies, 2023, list(reversed(ERROR_CASE)))
    strip = lambda rows: [a.to_json() for a in rows]  # noqa: E731
    assert json.dumps(strip(r.assessments), ensure_ascii=False) .count("Y23-A-monthly-error") > 0
    assert [(a.rule, a.level, a.region, a.period, a.flagged) for a in r.assessments] == \
           [(a.rule, a.level, a.region, a.period, a.flagged) for a in again.assessments]
    json.dumps(r.to_json(), ensure_ascii=False)


def test_region_tasks_from_fetched_rows():
    """One task per flagged region, regions in order; its flagged periods ordered by period index (none last), then
    label; unflagged (FALSE) and not evaluated (NULL) rows name no period."""
    from types import SimpleNamespace

    from engine.run.assess_sql import _region_tasks

    a = SimpleNamespace(id="T-A", title="预警", task={"level": "市级", "action": "约谈", "cite": "六", "title": "约谈"})
    # (year, rule, level, region, period, pidx, name, flagged, missing)
    recs = [(2023, "T-A", "县级", "610902", "2023-03", 2, "汉滨区", True, None),
            (2023, "T-A", "县级", "610902", "未知", None, "汉滨区", True, None),
            (2023, "T-A", "县级", "610902", "2023-01", 0, "汉滨区", True, None),
            (2023, "T-A", "县级", "610902", "2023-02", 1, "汉滨区", False, None),
            (2023, "T-A", "县级", "610901", "2023-05", 4, None, True, None),
            (2023, "T-A", "县级", "610903", "2023-05", 4, "x", None, "未提供")]
    tasks = _region_tasks(a, recs)
    assert [(t.region, t.message) for t in tasks] == [
        ("610901", "610901：预警（2023-05）→ 约谈"),
        ("610902", "汉滨区（610902）：预警（2023-01、2023-03、未知）→ 约谈")]
