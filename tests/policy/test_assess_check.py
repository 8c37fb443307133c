"""Assessment entries in the DSL: mistakes get file:line:col diagnostics; the generic mechanics on a small policy."""
from __future__ import annotations

import pytest

from engine import PolicyError, check_records, load_policies
from engine.policy.thresholds import ratio_threshold

from conftest import write_policy_dir

GOOD = """
parameters:
  面积门槛: {value: {县级: 10亩, 市级: 20亩}, cite: 测试 一}
assessments:
  - id: T-A-share
    kind: 测试评估
    title: 违法耕地占比
    cite: 测试 一
    levels: [县级, 市级]
    period: 季度
    period_date: 下发日期
    scope: 耕地面积 > 0亩
    numerator: sum(耕地面积 where 判定结果 == "违法用地")
    denominator: sum(耕地面积)
    values:
      违法图斑数: count(where 判定结果 == "违法用地")
      余量: denominator - numerator
    flag: numerator >= 面积门槛 and ratio >= 50%
  - id: T-A-share-out
    kind: 扣除
    of: T-A-share
    effect: 分子分母均不计入
    title: 县级评估不计已整改
    cite: 测试 二
    when: 评估级别 == "县级" and 整改状态 == "已拆除复耕到位"
"""


def _errors(root, text):
    write_policy_dir(root, 2021, {"assessments.yaml": text})
    with pytest.raises(PolicyError) as exc:
        load_policies(root)
    return exc.value.diagnostics


def test_small_policy_levels_quarters_and_level_dependent_deduction(policy_root):
    write_policy_dir(policy_root, 2021, {"assessments.yaml": GOOD})
    pols = load_policies(policy_root)
    recs = [
        {"图斑编号": "A", "监测年度": 2021, "行政区代码": "140923", "下发日期": "2021-02-01", "判定结果": "违法用地", "耕地面积": "12亩"},
        {"图斑编号": "B", "监测年度": 2021, "行政区代码": "140921", "下发日期": "2021-03-31", "判定结果": "违法用地", "耕地面积": "9亩",
         "整改状态": "已拆除复耕到位"},
        {"图斑编号": "C", "监测年度": 2021, "行政区代码": "140923", "下发日期": "2021-04-01", "判定结果": "合法用地", "耕地面积": "5亩"},
    ]
    r = check_records(recs, pols, as_of="2022-01-01")
    got = {(a.level, a.region, a.period): a for a in r.assessments}
    assert sorted(got) == [("县级", "140921", "2021Q1"), ("县级", "140923", "2021Q1"), ("县级", "140923", "2021Q2"),
                           ("市级", "140900", "2021Q1"), ("市级", "140900", "2021Q2")]
    # 140923 Q1: A only: num 12 >= 10, ratio 100% -> flagged; 违法图斑数 1; 余量 0
    a = got[("县级", "140923", "2021Q1")]
    assert (a.values["numerator"], a.values["违法图斑数"], a.values["余量"], a.values["面积门槛"], a.flagged) == (12, 1, 0, 10, True)
    # 140921 Q1 at 县级: B is not counted (deduction only at 县级): num 0, den 0, ratio null -> not flagged
    b = got[("县级", "140921", "2021Q1")]
    assert (b.values["numerator"], b.values["denominator"], b.values["ratio"], b.flagged) == (0, 0, None, False)
    assert b.values["deductions"]["T-A-share-out"] == {"title": "县级评估不计已整改", "effect": "分子分母均不计入", "patches": 1,
                                                          "numerator": 9, "denominator": 9}
    # 市级 Q1: A + B (no deduction at 市级): num 21 >= 20, den 21 -> flagged
    c = got[("市级", "140900", "2021Q1")]
    assert (c.values["numerator"], c.values["denominator"], c.values["面积门槛"], c.flagged) == (21, 21, 20, True)
    # 市级 Q2: C only: num 0 -> not flagged
    assert got[("市级", "140900", "2021Q2")].flagged is False


def test_field_outside_aggregate(policy_root):
    d = _errors(policy_root, GOOD.replace("denominator: sum(耕地面积)", "denominator: sum(耕地面积) + 耕地面积"))
    e = next(x for x in d if x.code == "E103")
    assert "耕地面积" in e.message and (e.loc.line, e.loc.col) == (13, 30) and e.loc.file.endswith("assessments.yaml")
    assert "+ 耕地面积" in e.render() and "^^^^" in e.render()


def test_aggregate_in_row_condition(policy_root):
    d = _errors(policy_root, GOOD.replace('when: 评估级别 == "县级" and', 'when: sum(耕地面积) > 0亩 and'))
    assert [x.code for x in d if x.severity == "error"] == ["E115"]


def test_missing_level_value_and_bad_level_name(policy_root):
    d = _errors(policy_root, GOOD.replace("levels: [县级, 市级]", "levels: [县级, 市级, 省级]")
                .replace('评估级别 == "县级"', '评估级别 == "县"'))
    codes = [x.code for x in d if x.severity == "error"]
    assert "E116" in codes and "E117" in codes


def test_unknown_references(policy_root):
    text = GOOD.replace("of: T-A-share\n", "of: T-A-shar\n") + """
  - id: T-A-roll
    kind: 测试汇总
    title: 汇总
    cite: 测试 三
    levels: [市级]
    rollup:
      数: {of: T-A-nothing, count: regions}
    flag: 数 > 0
"""
    d = _errors(policy_root, text)
    codes = {x.code: x for x in d if x.severity == "error"}
    assert "E114" in codes and "T-A-share" in codes["E114"].help
    assert "E110" in codes


def test_schema_rejects_unknown_effect(policy_root):
    d = _errors(policy_root, GOOD.replace("effect: 分子分母均不计入", "effect: 扣分子"))
    assert any(x.code == "E006" and "扣分子" in x.message for x in d)


def test_assessment_fields_are_required_columns(policy_root):
    write_policy_dir(policy_root, 2021, {"assessments.yaml": GOOD})
    pols = load_policies(policy_root)
    assert {"耕地面积", "判定结果", "整改状态", "下发日期"} <= pols[2021].fields_used
    cat = [c for c in pols[2021].catalog() if c["id"].startswith("T-A")]
    assert [(c["id"], c["kind"]) for c in cat] == [("T-A-share", "评估"), ("T-A-share-out", "扣除")]


THRESHOLDS = """
parameters:
  差错率上限: {value: 10%, cite: 测试 一}
  问责比例: {value: 15%, cite: 测试 一}
  系数: {value: 0.8, cite: 测试 一}
assessments:
  - id: T-A-x
    kind: 测试评估
    title: 测试
    cite: 测试 一
    levels: [县级]
    numerator: sum(耕地面积 where 判定结果 == "违法用地")
    denominator: sum(耕地面积)
    values:
      占比: numerator / denominator
    flag: FLAG
"""


@pytest.mark.parametrize("flag, want", [
    ("占比 > 差错率上限 or ratio > 差错率上限", "差错率上限"),
    ("差错率上限 < ratio", "差错率上限"),
    ("比例 >= 问责比例", "问责比例"),
    ("ratio > 12.5%", 0.125),
    ("ratio >= 问责比例 * 系数", None),  # an expression: no threshold line
    ("numerator > 0亩", None),
])
def test_ratio_threshold_is_read_from_the_flag(policy_root, flag, want):
    write_policy_dir(policy_root, 2021, {"assessments.yaml": THRESHOLDS.replace("FLAG", flag)})
    policy = load_policies(policy_root)[2021]
    assert ratio_threshold(policy.assessments[0]) == want
    item = next(c for c in policy.catalog() if c["id"] == "T-A-x")
    assert item.get("ratio_threshold") == want  # what the xlsx and HTML reports draw


def test_ratio_thresholds_of_the_bundled_policies():
    pols = load_policies()
    got = {(y, a.id): ratio_threshold(a) for y, p in pols.items() for a in p.assessments}
    assert got[(2021, "Y21-A-accountability")] == "问责比例"
    assert got[(2021, "Y21-A-farmland-quota-freeze")] is None
    assert got[(2023, "Y23-A-annual-error-city")] == "差错率上限"
    assert got[(2023, "Y23-A-early-warning")] is None


def test_catalog_lists_every_condition_of_a_flag():
    """The reports draw one chart per condition of a flag: 问责 compares both the ratio and the area."""
    policies = load_policies()
    found = {}
    for p in policies.values():
        for item in p.catalog():
            if item.get("conditions"):
                found[item["id"]] = item["conditions"]
    acc = found["Y21-A-accountability"]
    assert [c["value"] for c in acc] == ["ratio", "numerator"] and all(c["op"] == ">=" for c in acc)
    assert acc[0]["threshold"] == "问责比例" and acc[1]["threshold"] == "问责面积"
