"""The assessment pass (engine/run/assess_pass.py) groups the rows once by county, month and tags and adds the levels
up from there, with row expressions compiled once per level. These tests hold it to assessing each level on its own
(a level-dependent deduction next to level-independent assessments, several counties per city and province), and to
numbers computed by hand where a deduction depends on the level and on region data."""
from __future__ import annotations

import dataclasses
import random
from datetime import date
from decimal import Decimal

import pytest

from engine import check_records, load_policies
from engine.lang import ast
from engine.lang.types import Type
from engine.policy.model import Param
from engine.data.region_facts import facts_relation
from engine.run.assess_pass import AssessPass
from engine.run.assess_sql import assessment_sql, region_table, run_assessments
from engine.run.runner import prepare_records

AS_OF = date(2024, 6, 30)
# 110101: a county of 北京市 (a pilot province in datasets/regions.csv; the county itself is not in the table);
# 140902/140923 in 忻州市, 山西省; 610902/610921 in 安康市, 陕西省 (not pilots)
COUNTIES = ["110101", "140902", "140923", "610902", "610921"]


@pytest.fixture(scope="module")
def policies():
    return load_policies()


def random_patches(year: int, n: int, seed: int) -> list[dict]:
    rnd = random.Random(seed)
    pick = rnd.choice
    out = []
    for i in range(n):
        out.append({
            "图斑编号": f"R{i}", "监测年度": year, "行政区代码": pick(COUNTIES), "监测面积": "100000亩",
            "下发日期": f"{year}-{rnd.randint(1, 12):02d}-{rnd.randint(1, 28):02d}",
            "图斑类型": pick(["新增非农建设类", "年度内持续变化类", "其他变化类", None]),
            "图斑来源": pick(["补充", None]),
            "判定结果": pick(["违法用地", "合法用地", "其他用地"]),
            "最终判定结果": pick(["违法用地", "合法用地", None, None]),
            "违法类型": pick(["新增建设用地违法", "存量建设用地违法", "农业项目破坏耕地", None]),
            "整改状态": pick(["已拆除复耕到位", "已补办完善用地手续", "未整改", None]),
            "基础设施类型": pick(["交通", "能源", None]),
            "已履行监管服务职责": pick(["是", "否", None]),
            "项目级别": pick(["省级", "国家级", None]),
            "耕地面积": pick(["0亩", f"{rnd.randint(1, 400) / 4}亩", f"{rnd.randint(1, 9000)}平方米"]),
            "明显填报不合理": pick(["是", "否", None]),
            "复检结论": pick(["真实", "不真实", None]),
        })
    return out


@pytest.mark.parametrize("year, seed", [(2021, 1), (2023, 2), (2023, 3)])
def test_levels_together_equal_each_level_alone(policies, year, seed):
    """Every assessment of the policy in the one pass equals the same assessment run at one level only (its own
    pass: nothing shared across levels), row for row and value for value."""
    policy = policies[year]
    prepared = prepare_records(random_patches(year, 400, seed), {year: policy})
    con = prepared.con
    together, _tasks = run_assessments(con, "patches", policy, AS_OF)  # also fills _assess_out for the rollups
    attrs = region_table(con)
    facts = facts_relation(con) if any(a.facts for a in policy.assessments) else ("", False)
    checked = 0
    for a in policy.assessments:
        for lv in a.levels:
            sql, cols = assessment_sql(dataclasses.replace(a, levels=[lv]), policy, AS_OF, "patches", attrs, facts)
            alone = con.execute(sql).fetchall()
            mine = [r for r in together if r.rule == a.id and r.level == lv]
            assert [(r[3], r[4]) for r in alone] == [(r.region, r.period) for r in mine], (a.id, lv)
            for rec, row in zip(alone, mine):
                for (path, _typ), v in zip(cols, rec[9:-1]):
                    got = row.values
                    for key in path:
                        got = got[key]
                    assert got == (float(v) if isinstance(v, Decimal) else v), (a.id, lv, rec[3], rec[4], path)
                assert row.flagged == (None if rec[8] else bool(rec[7])), (a.id, lv, rec[3], rec[4])
                checked += 1
    # the random data reach every level of the accountability assessment, with each of its deductions
    acc = [r for r in together if r.rule == "Y21-A-accountability"]
    assert {r.level for r in acc} == {"县级", "市级", "省级"} and checked >= 20
    assert all(any(r.values["deductions"][x]["patches"] for r in acc) for x in acc[0].values["deductions"])


def illegal(gd, **kw):
    return {"图斑类型": "新增非农建设类", "判定结果": "违法用地", "违法类型": "新增建设用地违法", "耕地面积": gd, **kw}


INFRA = {"已履行监管服务职责": "是"}
HAND_CASE = [
    illegal("40亩", 行政区代码="610902", 基础设施类型="交通", 项目级别="省级", **INFRA),  # A1: kept at 省级 only
    {"图斑类型": "新增非农建设类", "判定结果": "合法用地", "耕地面积": "60亩", "行政区代码": "610902"},  # A2
    illegal("25亩", 行政区代码="610921", 基础设施类型="能源", 项目级别="国家级", **INFRA),  # A3: 陕西 no pilot: deducted
    illegal("15亩", 行政区代码="610921", 整改状态="未整改"),  # A4: counted
    illegal("30亩", 行政区代码="110101", 基础设施类型="能源", 项目级别="国家级", **INFRA),  # B1: 北京 pilot: kept at 省级
    {"图斑类型": "新增非农建设类", "判定结果": "合法用地", "耕地面积": "70亩", "行政区代码": "110101"},  # B2
]


def one(result, rule, level, region):
    rows = [a for a in result.assessments if a.rule == rule and a.level == level and a.region == region]
    assert len(rows) == 1, (rule, level, region)
    return rows[0].values


def test_level_dependent_deduction_summed_over_counties_by_hand(policies):
    recs = [{"图斑编号": f"P{i}", "监测年度": 2023, "下发日期": "2023-03-05", "监测面积": "100000亩", **p}
            for i, p in enumerate(HAND_CASE)]
    r = check_records(recs, {2023: policies[2023]}, as_of=AS_OF)
    expected = {
        # 610902: gross num 40 (A1), den 40 + 60 = 100; A1 deducted from both: num 0, den 60
        ("县级", "610902"): (0, 60, 0.0),
        # 610921: gross num 25 + 15 = 40, den 40; A3 deducted from both: num 15, den 15, ratio 1
        ("县级", "610921"): (15, 15, 1.0),
        # 安康市 = both counties, the same deductions: num 0 + 15 = 15, den 60 + 15 = 75, ratio 0.2
        ("市级", "610900"): (15, 75, 0.2),
        # 陕西省: A1 (省级 project) not deducted, A3 (national, no pilot) deducted: num 40 + 15 = 55,
        # den 100 + 15 = 115, ratio 55 / 115 = 0.478260869565 (12 places)
        ("省级", "610000"): (55, 115, 0.478260869565),
        # 110101 and its city 110100: B1 deducted: num 0, den 70
        ("县级", "110101"): (0, 70, 0.0),
        ("市级", "110100"): (0, 70, 0.0),
        # 北京市 (pilot): B1 (national) kept: num 30, den 30 + 70 = 100, ratio 0.3
        ("省级", "110000"): (30, 100, 0.3),
    }
    for rule in ("Y21-A-accountability", "Y23-A-early-warning"):  # the warning has the same basis
        for (level, region), want in expected.items():
            v = one(r, rule, level, region)
            assert (v["numerator"], v["denominator"], v["ratio"]) == want, (rule, level, region)
    # the infrastructure deduction's patches: A1 and A3 at 县级/市级 of 陕西, only A3 at 省级; B1 not at 北京市
    infra = "Y21-A-accountability-infrastructure"
    assert one(r, "Y21-A-accountability", "市级", "610900")["deductions"][infra]["patches"] == 2
    assert one(r, "Y21-A-accountability", "省级", "610000")["deductions"][infra]["patches"] == 1
    assert one(r, "Y21-A-accountability", "省级", "110000")["deductions"][infra]["patches"] == 0
    # level-independent next to it (县级 only): 未消除违法状态 (整改状态 empty or 未整改), not 农业项目:
    # 610902: A1 40; 610921: A3 25 + A4 15 = 40; 110101: B1 30
    for county, num in (("610902", 40), ("610921", 40), ("110101", 30)):
        assert one(r, "Y21-A-farmland-quota-freeze", "县级", county)["numerator"] == num


def test_row_expressions_compiled_once_per_distinct_sql(policies):
    """2023's infrastructure deduction tests 评估级别 == "省级" (and region data under it): decided while compiling, it
    reads the same at 县级 and 市级 (one deduction column for both), and region data is joined for 省级 only."""
    policy = policies[2023]
    plan = AssessPass(policy, AS_OF, ["用地审批权委托试点省", "县级区划数"], policy.assessments)
    sql = plan.sql("patches")
    assert "CROSS JOIN" not in sql
    assert len([c for c in plan.tags.values() if c.startswith("_d")]) == 2
    assert sql.count("LEFT JOIN _assess_regions") == 2  # 省级's region data for the rows; names of the result


def test_level_decided_while_compiling(policies):
    policy = policies[2023]
    plan = AssessPass(policy, AS_OF, ["用地审批权委托试点省"], policy.assessments)
    infra = next(x for a in policy.assessments for x in a.deductions if x.id == "Y21-A-accountability-infrastructure")
    county, province = plan.rows["县级"], plan.rows["省级"]
    assert "用地审批权委托试点省" not in county.cond(infra.when)  # not (FALSE and …): the rest is not compiled
    assert "用地审批权委托试点省" in province.cond(infra.when)
    assert county.cond(infra.when) == plan.rows["市级"].cond(infra.when)


def test_per_level_parameter_without_this_level_is_null(policies):
    """A per-level parameter read at a level it has no value for is NULL (as the CASE over the levels it replaces)."""
    policy = policies[2023]
    plan = AssessPass(policy, AS_OF, ["用地审批权委托试点省", "县级区划数"], policy.assessments)
    p = Param("门槛", None, {"省级": ast.Number(Decimal(5), "亩")}, Type.AREA, "门槛")
    node = ast.Name("门槛", ref=("param", p))
    assert plan.rows["县级"].expr(node) == "NULL"
    assert plan.rows["省级"].expr(node) != "NULL"
