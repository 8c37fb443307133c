"""Exact area arithmetic: 亩 / 平方米 / 公顷 in rules and in data compare equal at thresholds (area_scale 4)."""
from __future__ import annotations

from decimal import Decimal

import pytest

import duckdb

from engine import PolicyError, check, check_records, load_policies
from engine.data.dictionary import load_dictionary
from engine.lang import ast
from engine.lang.compiler import Compiler, SqlContext
from engine.lang.parser import parse
from engine.lang.types import Type
from engine.lang.units import quantize_area

from conftest import write_csv, write_policy_dir

UNITS = load_dictionary().units
BASE = {"监测年度": 2021, "行政区代码": "140923", "判定结果": "合法用地", "监测面积": "200亩"}


def to_mu(value: Decimal, unit: str) -> Decimal:
    return value * UNITS.factor(unit)


def fired(result, rule="T-R-big-farmland") -> set[str]:
    return {f.patch for f in result.findings if f.rule == rule}


# ---------------------------------------------------------------- conversion


def test_factors():
    # 1亩 = 10000/15 平方米 = 666.666…平方米, so 1平方米 = 15/10000 = 0.0015亩 exactly; 1公顷 = 10000平方米 = 15亩
    assert UNITS.factor("平方米") == Decimal("0.0015")
    assert UNITS.factor("公顷") == Decimal(15)
    assert UNITS.factor("亩") == Decimal(1)
    assert UNITS.carried == "亩"


@pytest.mark.parametrize(
    "value, unit, expected",
    [
        ("100", "亩", "100.0000"),
        ("66666.67", "平方米", "100.0000"),  # 66666.67 * 0.0015 = 100.000005 -> 100.0000
        ("66666.66", "平方米", "100.0000"),  # 66666.66 * 0.0015 = 99.99999 -> 100.0000
        ("6.6666667", "公顷", "100.0000"),  # 6.6666667 * 15 = 100.0000005 -> 100.0000
        ("6.67", "公顷", "100.0500"),  # no: 6.67 * 15 = 100.05
    ],
)
def test_conversions_quantize_to_scale_4(value, unit, expected):
    assert quantize_area(to_mu(Decimal(value), unit), 4) == Decimal(expected)


def test_literals_compile_to_the_same_decimal():
    ctx = SqlContext(4, None, units=UNITS)
    sqls = {Compiler(ctx).literal(parse(t, UNITS)) for t in ("100亩", "66666.67平方米", "6.6666667公顷")}
    assert sqls == {"CAST('100.0000' AS DECIMAL(18,4))"}
    assert Compiler(ctx).literal(parse("99.99亩", UNITS)) == "CAST('99.9900' AS DECIMAL(18,4))"
    assert Compiler(ctx).literal(parse("15%", UNITS)) == "CAST('0.15' AS DECIMAL(18,2))"


@pytest.mark.parametrize("value, shown", [("100.0000", "100亩"), ("100.5000", "100.5亩"), (None, "空")])
def test_areas_shown_with_the_carried_unit(value, shown):
    node = ast.Name("耕地面积", type=Type.AREA)
    node.ref = ("field", load_dictionary().lookup("耕地面积"))
    sql = Compiler(SqlContext(4, None, units=UNITS)).text(node)
    con = duckdb.connect()
    con.execute('CREATE TABLE t AS SELECT CAST(? AS DECIMAL(18,4)) AS "耕地面积"', [value])
    assert con.execute(f"SELECT {sql} FROM t").fetchone()[0] == shown


# ---------------------------------------------------------------- thresholds through check_records


@pytest.mark.parametrize(
    "area, fires",
    [
        ("100亩", True),  # exactly at the threshold
        ("100", True),  # no unit: 亩
        ("66666.67平方米", True),  # 100.000005亩 -> 100.0000亩
        ("6.6666667公顷", True),  # 100.0000005亩 -> 100.0000亩
        ("100.0001亩", True),  # just inside
        ("99.99亩", False),  # just outside
        ("99.9999亩", False),
        ("66659.99平方米", False),  # 66659.99 * 0.0015 = 99.989985 -> 99.9900亩
        ("66666.6平方米", False),  # 66666.6 * 0.0015 = 99.9999亩
        ("6.666公顷", False),  # 6.666 * 15 = 99.99亩
    ],
)
def test_threshold_in_any_unit(threshold_policies, area, fires):
    r = check_records([{**BASE, "图斑编号": "P1", "耕地面积": area}], threshold_policies, as_of="2024-06-30")
    assert r.input["rejected"] == 0
    assert fired(r) == ({"P1"} if fires else set())


def test_message_shows_area_in_mu(threshold_policies):
    r = check_records([{**BASE, "图斑编号": "P1", "耕地面积": "66666.67平方米"}], threshold_policies, as_of="2024-06-30")
    (f,) = [f for f in r.findings if f.rule == "T-R-big-farmland"]
    assert f.message == "P1: 耕地面积 100亩 达到 100亩"
    assert f.cite == "测试条款 一" and f.severity == "error"


# ---------------------------------------------------------------- thresholds through CSV files with unit headers

HEAD = ["图斑编号", "监测年度", "行政区代码", "判定结果"]


def test_csv_in_square_metres_at_threshold(tmp_path, threshold_policies):
    # header 耕地面积(平方米): 66666.67平方米 = 100.0000亩 is >= 100亩; 66659.99平方米 = 99.9900亩 is not
    csv = write_csv(tmp_path / "m2.csv", HEAD + ["耕地面积(平方米)", "监测面积(平方米)"], [
        ["A", 2021, "140923", "合法用地", "66666.67", "100000"],
        ["B", 2021, "140923", "合法用地", "66659.99", "100000"],
    ])
    r = check(csv, threshold_policies, as_of="2024-06-30")
    assert r.input["rows"] == 2 and r.input["rejected"] == 0
    assert fired(r) == {"A"}


def test_csv_in_hectares_full_width_parens(tmp_path, threshold_policies):
    csv = write_csv(tmp_path / "ha.csv", HEAD + ["耕地面积（公顷）"], [
        ["A", 2021, "140923", "合法用地", "6.6666667"],  # 100.0000亩
        ["B", 2021, "140923", "合法用地", "6.666"],  # 99.99亩
    ])
    r = check(csv, threshold_policies, as_of="2024-06-30")
    assert fired(r) == {"A"}


def test_same_findings_in_mu_and_square_metres(tmp_path, threshold_policies):
    # the same patches, once in 亩 and once in 平方米 (value * 10000/15, to 2 decimals)
    mu = [("A", "100"), ("B", "99.99"), ("C", "150"), ("D", "0.5"), ("E", "100.01")]
    m2 = [("A", "66666.67"), ("B", "66660.00"), ("C", "100000"), ("D", "333.33"), ("E", "66673.33")]
    # 99.99亩 = 66660平方米; 150亩 = 100000平方米; 0.5亩 = 333.333…; 100.01亩 = 66673.33平方米 (66673.33*0.0015 = 100.009995 -> 100.0100)
    rows_mu = [[p, 2021, "140923", "违法用地", a, "200"] for p, a in mu]
    rows_m2 = [[p, 2021, "140923", "违法用地", a, "133333.33"] for p, a in m2]
    # every 监测面积 is 200: a median that large needs its unit said (issue 9), here by --area-unit
    a = check(write_csv(tmp_path / "mu.csv", HEAD + ["耕地面积", "监测面积"], rows_mu), threshold_policies, as_of="2024-06-30",
              area_unit="亩")
    b = check(write_csv(tmp_path / "m2.csv", HEAD + ["耕地面积(平方米)", "监测面积(平方米)"], rows_m2), threshold_policies,
              as_of="2024-06-30")
    assert fired(a) == fired(b) == {"A", "C", "E"}
    strip = lambda r: [(f.patch, f.rule, f.severity, f.message, f.cite) for f in r.findings]  # noqa: E731
    # identical findings, messages included: the firing areas convert exactly (A 100亩, C 150亩, E 100.01亩);
    # D (333.33平方米 = 0.499995 -> 0.5000亩) only fires the info rule, whose message has no area
    assert strip(a) == strip(b)


def test_area_with_thousands_separator(tmp_path, threshold_policies):
    csv = tmp_path / "sep.csv"
    csv.write_text("图斑编号,监测年度,行政区代码,判定结果,耕地面积(平方米)\nA,2021,140923,合法用地,\"66,666.67\"\n", encoding="utf-8")
    r = check(csv, threshold_policies, as_of="2024-06-30")
    assert r.input["rejected"] == 0
    assert fired(r) == {"A"}


# ---------------------------------------------------------------- rounding ties: the same rule for literals and data

TIE_RULES = """
rules:
  - id: T-R-tie
    title: 面积等于阈值
    cite: 测试条款 三
    severity: error
    when: 耕地面积 == 1000.3平方米
"""


def test_rounding_ties_agree_between_literals_and_data(tmp_path, policy_root):
    # 1000.3平方米 * 0.0015 = 1.50045亩: a tie at the 5th decimal. The literal, a CSV cell in 平方米 and a record
    # '1000.3平方米' must round it the same way (half away from zero, as DuckDB's round: 1.5005亩).
    write_policy_dir(policy_root, 2021, {"rules.yaml": TIE_RULES})
    policies = load_policies(policy_root)
    csv = write_csv(tmp_path / "tie.csv", ["图斑编号", "监测年度", "行政区代码", "耕地面积(平方米)"], [["A", 2021, "140923", "1000.3"]])
    assert fired(check(csv, policies, as_of="2024-06-30"), "T-R-tie") == {"A"}
    r = check_records([{"图斑编号": "A", "监测年度": 2021, "行政区代码": "140923", "耕地面积": "1000.3平方米"}], policies, as_of="2024-06-30")
    assert fired(r, "T-R-tie") == {"A"}
    r = check_records([{"图斑编号": "A", "监测年度": 2021, "行政区代码": "140923", "耕地面积": "1.5005亩"}], policies, as_of="2024-06-30")
    assert fired(r, "T-R-tie") == {"A"}
    assert quantize_area(to_mu(Decimal("1000.3"), "平方米"), 4) == Decimal("1.5005")


# ---------------------------------------------------------------- units come from the dictionary passed in

KM2_RULES = """
rules:
  - id: T-R-km2
    title: 耕地面积达到 1 平方千米
    cite: 测试条款 四
    severity: error
    when: 耕地面积 >= 1平方千米
"""


def test_a_dictionary_with_another_unit_is_used_end_to_end(tmp_path, policy_root):
    # a copy of the bundled dictionary with one more area unit: 1平方千米 = 1500亩
    from engine.paths import schemas_dir

    text = (schemas_dir() / "fields.yaml").read_text(encoding="utf-8")
    custom = tmp_path / "fields.yaml"
    custom.write_text(text.replace('area_units:\n  亩: "1"\n', 'area_units:\n  亩: "1"\n  平方千米: "1500"\n'), encoding="utf-8")
    d = load_dictionary(custom)
    assert d.units.factor("平方千米") == Decimal(1500)
    n = parse("2平方千米", d.units)
    assert (n.value, n.unit) == (Decimal(2), "平方千米")
    assert Compiler(SqlContext(4, None, units=d.units)).literal(n) == "CAST('3000.0000' AS DECIMAL(18,4))"
    with pytest.raises(Exception):
        parse("2平方千米", UNITS)  # the bundled dictionary has no such unit: 平方千米 is not a quantity there

    write_policy_dir(policy_root, 2021, {"rules.yaml": KM2_RULES})
    with pytest.raises(PolicyError):
        load_policies(policy_root)  # with the bundled dictionary the rule does not parse
    policies = load_policies(policy_root, dictionary=d)
    big = {**BASE, "监测面积": "3平方千米"}
    rows = [{**big, "图斑编号": "A", "耕地面积": "1500亩"}, {**big, "图斑编号": "B", "耕地面积": "0.9平方千米"},
            {**big, "图斑编号": "C", "耕地面积": "1.2平方千米"}]
    assert fired(check_records(rows, policies, as_of="2024-06-30"), "T-R-km2") == {"A", "C"}
