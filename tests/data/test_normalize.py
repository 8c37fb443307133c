"""Normalization: headers (Chinese names, codes, units) -> typed patch table; bad cells -> 数据格式 findings, row rejected."""
from __future__ import annotations

from decimal import Decimal

import duckdb
import pytest

from engine import InputError, check, load_policies
from engine.data.normalize import FORMAT_RULE, map_headers, normalize

from conftest import THRESHOLD_RULES, write_csv, write_policy_dir

AS_OF = "2024-06-30"
HEAD = ["图斑编号", "监测年度", "行政区代码", "判定结果", "耕地面积", "监测面积"]


def ok_row(patch="A", year=2021, area="1", total="10", result="合法用地"):
    return [patch, year, "140923", result, area, total]


def formats(r) -> list[dict]:
    return [f for f in r.findings if f.rule == FORMAT_RULE]


def rule_hits(r) -> set[tuple[str, str]]:
    return {(f.patch, f.rule) for f in r.findings if f.rule != FORMAT_RULE}


@pytest.fixture
def two_years(policy_root):
    write_policy_dir(policy_root, 2021, {"rules.yaml": THRESHOLD_RULES})
    write_policy_dir(policy_root, 2023, {}, header="extends: ../2021\n")
    return load_policies(policy_root)


# ---------------------------------------------------------------- headers


def test_headers_by_code_case_insensitive(tmp_path, threshold_policies):
    csv = write_csv(tmp_path / "codes.csv", ["tbbh", "JCND", "Xzqdm", "pdjg", "gdmj", "JCMJ"],
                    [["A", 2021, "140923", "违法用地", "100", "200"]])
    r = check(csv, threshold_policies, as_of=AS_OF)
    assert r.input["rejected"] == 0
    assert rule_hits(r) == {("A", "T-R-big-farmland"), ("A", "T-R-illegal-info")}


def test_header_units_and_full_width_parens(dictionary):
    mapping, unknown = map_headers(["图斑编号", "耕地面积（公顷）", "监测面积(平方米)", "永久基本农田面积 ( 亩 )", "备注"], dictionary)
    assert mapping == {"图斑编号": ("图斑编号", None), "耕地面积": ("耕地面积（公顷）", "公顷"),
                       "监测面积": ("监测面积(平方米)", "平方米"), "永久基本农田面积": ("永久基本农田面积 ( 亩 )", "亩")}
    assert unknown == ["备注"]


def test_header_in_hectares_converts(tmp_path, threshold_policies):
    # 6.6666667公顷 * 15 = 100.0000005亩 -> 100.0000亩 (fires); 6.666公顷 = 99.99亩 (does not)
    csv = write_csv(tmp_path / "ha.csv", ["图斑编号", "监测年度", "行政区代码", "判定结果", "耕地面积（公顷）"],
                    [["A", 2021, "140923", "合法用地", "6.6666667"], ["B", 2021, "140923", "合法用地", "6.666"]])
    r = check(csv, threshold_policies, as_of=AS_OF)
    assert rule_hits(r) == {("A", "T-R-big-farmland")}


def test_unknown_column_is_a_warning(tmp_path, threshold_policies):
    csv = write_csv(tmp_path / "extra.csv", HEAD + ["备注"], [ok_row() + ["x"]])
    r = check(csv, threshold_policies, as_of=AS_OF)
    assert any("备注" in w and "未使用" in w for w in r.warnings)


def test_unknown_area_unit_is_an_input_error(tmp_path, threshold_policies):
    csv = write_csv(tmp_path / "acre.csv", ["图斑编号", "监测年度", "行政区代码", "判定结果", "耕地面积(英亩)"],
                    [["A", 2021, "140923", "合法用地", "1"]])
    with pytest.raises(InputError, match="列「耕地面积\\(英亩\\)」的面积单位「英亩」无法识别"):
        check(csv, threshold_policies, as_of=AS_OF)


def test_two_columns_for_one_field(tmp_path, threshold_policies):
    csv = write_csv(tmp_path / "twice.csv", HEAD + ["GDMJ"], [ok_row() + ["1"]])
    with pytest.raises(InputError, match="都对应字段「耕地面积」"):
        check(csv, threshold_policies, as_of=AS_OF)


# ---------------------------------------------------------------- bad values


@pytest.mark.parametrize(
    "column, value, reason",
    [
        ("监测年度", "2021.5", "不是整数"),
        ("现场照片数", "三张", "不是整数"),
        ("监测年度", "2.021e3", "不是整数"),  # DuckDB would read it as a DOUBLE 2021
        ("现场照片数", "-1", "不能小于 0"),
        ("下发日期", "2023-02-30", "不是有效日期"),
        ("下发日期", "昨天", "不是有效日期"),
        ("下发日期", "23-3-1", "不是有效日期"),  # a two-digit year is not year 23
        ("是否矿产图斑", "可能", "不是 是/否"),
        ("判定结果", "违法 用地", "不在可选值中（合法用地、违法用地、其他用地）"),
        ("耕地面积", "abc", "不是有效的面积数值"),
        ("耕地面积", "-1", "面积不能为负数"),
        ("行政区代码", "14092", "格式不对"),
    ],
)
def test_bad_value_rejects_the_row(tmp_path, threshold_policies, column, value, reason):
    header = ["图斑编号", "监测年度", "行政区代码", "判定结果", "耕地面积", "监测面积", "下发日期", "是否矿产图斑", "现场照片数"]
    good = ["G", "2021", "140923", "违法用地", "100", "200", "2023-03-01", "否", "3"]
    bad = dict(zip(header, good))
    bad["图斑编号"] = "B"
    bad[column] = value
    csv = write_csv(tmp_path / "bad.csv", header, [good, list(bad.values())])
    r = check(csv, threshold_policies, as_of=AS_OF)
    assert r.input["rows"] == 2 and r.input["rejected"] == 1 and r.input["checked"] == 1
    assert r.input["rows"] == r.input["checked"] + r.input["rejected"]
    (f,) = formats(r)
    assert f.patch == "B" and f.severity == "error"
    # names file, row (line 3: header is line 1, G is line 2), field and value
    assert f.message.startswith(f"bad.csv 第3行 字段「{column}」值「")
    assert reason in f.message
    if column not in ("耕地面积",):  # areas are shown converted (see test_area_problem_messages)
        assert f"值「{value}」" in f.message
    # the rejected row is not checked by the rules; the good one is
    assert {p for p, _ in rule_hits(r)} == {"G"}


def test_area_problem_messages(tmp_path, threshold_policies):
    csv = write_csv(tmp_path / "area.csv", HEAD, [ok_row("N", area="-1"), ok_row("M", area="10.5", total="10")])
    r = check(csv, threshold_policies, as_of=AS_OF)
    msgs = {f.patch: f.message for f in formats(r)}
    assert "面积不能为负数" in msgs["N"] and "耕地面积" in msgs["N"]
    assert "大于监测面积" in msgs["M"] and "area.csv 第3行" in msgs["M"]
    assert r.input["rejected"] == 2 and r.input["checked"] == 0


@pytest.mark.parametrize("farmland, total, rejected", [("10", "10", 0), ("10.0001", "10", 1), ("9.9999", "10", 0)])
def test_farmland_at_most_monitored_area(tmp_path, threshold_policies, farmland, total, rejected):
    csv = write_csv(tmp_path / "max.csv", HEAD, [ok_row(area=farmland, total=total)])
    r = check(csv, threshold_policies, as_of=AS_OF)
    assert r.input["rejected"] == rejected


def test_several_problems_in_one_row_all_reported(tmp_path, threshold_policies):
    header = HEAD + ["下发日期", "是否矿产图斑"]
    csv = write_csv(tmp_path / "many.csv", header, [["B", "2021", "14092", "违法 用地", "abc", "2", "2023-02-30", "可能"]])
    r = check(csv, threshold_policies, as_of=AS_OF)
    fields = sorted(f.message.split("字段「")[1].split("」")[0] for f in formats(r))
    assert fields == sorted(["行政区代码", "判定结果", "耕地面积", "下发日期", "是否矿产图斑"])
    assert r.input["rows"] == 1 and r.input["rejected"] == 1


def test_required_cells_empty(tmp_path, threshold_policies):
    csv = write_csv(tmp_path / "req.csv", HEAD, [ok_row(), ["", "2021", "", "合法用地", "1", "10"]])
    r = check(csv, threshold_policies, as_of=AS_OF)
    f = formats(r)
    assert {x.patch for x in f} == {"第3行"}  # no 图斑编号: the row number stands in
    assert sorted(x.message for x in f) == [
        "req.csv 第3行 字段「图斑编号」值「」必填，不能为空",
        "req.csv 第3行 字段「行政区代码」值「」必填，不能为空",
    ]
    assert r.input["rejected"] == 1


def test_accepted_spellings(tmp_path, threshold_policies):
    header = HEAD + ["下发日期", "是否矿产图斑"]
    rows = [
        ["A", "2021", "140923", "合法用地", '"1,000"', '"2,000"', "2023/03/01", "Y"],
        ["B", "2021", "140923", "合法用地", " 1 ", "2", "20230301", "false"],
        ["C", "2021", "140923", "合法用地", "1", "2", "2023年3月1日", "是"],
        ["D", "2021", "140923", "合法用地", "1", "2", "2023.03.01", "0"],
    ]
    r = check(write_csv(tmp_path / "ok.csv", header, rows), threshold_policies, as_of=AS_OF)
    assert formats(r) == [] and r.input["rejected"] == 0


# ---------------------------------------------------------------- duplicates


def test_duplicate_patch_within_a_year(tmp_path, threshold_policies):
    csv = write_csv(tmp_path / "dup.csv", HEAD, [ok_row("A", area="100", total="200"), ok_row("B"), ok_row("A", area="1")])
    r = check(csv, threshold_policies, as_of=AS_OF)
    (f,) = formats(r)
    assert f.patch == "A"
    assert f.message == "dup.csv 第4行 字段「图斑编号」值「A」与 dup.csv 第2行重复（同一监测年度内图斑编号应唯一）"
    # the first occurrence is checked, the repeat rejected
    assert r.input == {**r.input, "rows": 3, "rejected": 1, "checked": 2}
    assert ("A", "T-R-big-farmland") in rule_hits(r)


def test_same_patch_in_two_years_is_not_a_duplicate(tmp_path, two_years):
    csv = write_csv(tmp_path / "years.csv", HEAD, [ok_row("A", 2021), ok_row("A", 2023)])
    r = check(csv, two_years, as_of=AS_OF)
    assert formats(r) == [] and r.input["rejected"] == 0


# ---------------------------------------------------------------- missing columns and years


def test_missing_required_columns(tmp_path, threshold_policies):
    csv = write_csv(tmp_path / "cols.csv", ["图斑编号", "判定结果", "耕地面积"], [["A", "违法用地", "1"]])
    with pytest.raises(InputError) as info:
        check(csv, threshold_policies, as_of=AS_OF)
    assert "缺少必需的列：监测年度、行政区代码" in str(info.value)


def test_missing_column_the_policy_needs(tmp_path, threshold_policies):
    csv = write_csv(tmp_path / "need.csv", ["图斑编号", "监测年度", "行政区代码", "耕地面积"], [["A", 2021, "140923", "1"]])
    with pytest.raises(InputError, match="缺少本年度政策需要的列：判定结果"):
        check(csv, threshold_policies, as_of=AS_OF)


def test_year_without_policy(tmp_path, two_years):
    csv = write_csv(tmp_path / "y.csv", HEAD, [ok_row("A", 2022), ok_row("B", 2021)])
    with pytest.raises(InputError) as info:
        check(csv, two_years, as_of=AS_OF)
    msg = str(info.value)
    assert "监测年度 2022 有 1 行" in msg and "可用年度：2021、2023" in msg


def test_year_option_fills_missing_year(tmp_path, two_years):
    header = ["图斑编号", "行政区代码", "判定结果", "耕地面积"]
    csv = write_csv(tmp_path / "noyear.csv", header, [["A", "140923", "违法用地", "100"]])
    with pytest.raises(InputError, match="缺少必需的列：监测年度"):
        check(csv, two_years, as_of=AS_OF)
    r = check(csv, two_years, as_of=AS_OF, year=2023)
    assert r.input["years"] == [2023] and list(r.policies) == [2023]
    assert rule_hits(r) == {("A", "T-R-big-farmland"), ("A", "T-R-illegal-info")}


def test_year_option_does_not_override_a_given_year(tmp_path, two_years):
    csv = write_csv(tmp_path / "mixed.csv", HEAD, [ok_row("A", ""), ok_row("B", 2021)])
    r = check(csv, two_years, as_of=AS_OF, year=2023)
    assert r.input["years"] == [2021, 2023]


# ---------------------------------------------------------------- the typed table itself


def test_normalize_typed_table(dictionary):
    con = duckdb.connect()
    con.execute("""CREATE TABLE raw AS SELECT * FROM (VALUES
        ('A', '2021', '140923', '66666.67', '2023-03-01', '是', 'f.csv', 2),
        ('B', 'x', '140923', '', NULL, '', 'f.csv', 3)
    ) t("TBBH", "监测年度", "行政区代码", "耕地面积(平方米)", "下发日期", "是否矿产图斑", _source, _line)""")
    cols = ["TBBH", "监测年度", "行政区代码", "耕地面积(平方米)", "下发日期", "是否矿产图斑"]
    n = normalize(con, "raw", dictionary, cols, required=set())
    assert (n.rows, n.rejected) == (2, 1)
    assert n.mapping["图斑编号"] == "TBBH" and n.mapping["耕地面积"] == "耕地面积(平方米)"  # the unit shows in the values below
    rows = con.execute('SELECT "图斑编号", "监测年度", "耕地面积", "下发日期"::VARCHAR, "是否矿产图斑", len(_errors), _line '
                       "FROM patches ORDER BY _rid").fetchall()
    # 66666.67平方米 * 0.0015 = 100.000005亩 -> 100.0000
    assert rows[0] == ("A", 2021, Decimal("100.0000"), "2023-03-01", True, 0, 2)
    assert rows[1] == ("B", None, None, None, None, 1, 3)  # one problem: 监测年度 'x' is not an int (not also "required")


def test_normalize_typed_columns_without_text(dictionary):
    """Typed columns (as a Parquet file gives them) whose type fits the field are cast as they are; a cell that does
    not fit is a problem that shows the value as a person would have typed it."""
    con = duckdb.connect()
    con.execute("""CREATE TABLE raw AS SELECT "TBBH", CAST(y AS INTEGER) AS "监测年度", "行政区代码",
            CAST(m2 AS DOUBLE) AS "耕地面积(平方米)", CAST(ts AS TIMESTAMP) AS "下发日期", _source, _line FROM (VALUES
        ('A', 2021, '140923', '66666.67', '2023-03-01 00:00:00', 'f.parquet', 1),
        ('B', 2021, '140923', '66666.6', '2023-03-01 08:30:00', 'f.parquet', 2),
        ('C', 2021, '140923', 'nan', '2023-03-02 00:00:00', 'f.parquet', 3),
        ('D', 2021, '140923', '-1', NULL, 'f.parquet', 4)
    ) t("TBBH", y, "行政区代码", m2, ts, _source, _line)""")
    cols = ["TBBH", "监测年度", "行政区代码", "耕地面积(平方米)", "下发日期"]
    n = normalize(con, "raw", dictionary, cols, required=set())
    assert (n.rows, n.rejected) == (4, 3)
    rows = con.execute('SELECT "图斑编号", "监测年度", "耕地面积", "下发日期"::VARCHAR, _errors FROM patches ORDER BY _rid').fetchall()
    # 66666.67平方米 * 0.0015 = 100.000005亩 -> 100.0000 (at the 100亩 line); 66666.6 * 0.0015 = 99.9999 (just below)
    assert rows[0] == ("A", 2021, Decimal("100.0000"), "2023-03-01", [])
    assert rows[1][:4] == ("B", 2021, Decimal("99.9999"), None)
    assert [(e["field"], e["value"]) for e in rows[1][4]] == [("下发日期", "2023-03-01 08:30:00")]  # a time of day: no date
    assert rows[2][:4] == ("C", 2021, None, "2023-03-02")
    assert [(e["field"], e["value"], e["reason"]) for e in rows[2][4]] == [("耕地面积", "nan", "不是有效的面积数值")]
    # -1平方米 = -0.0015亩; the message shows the cell as written: -1
    assert rows[3][:4] == ("D", 2021, Decimal("-0.0015"), None)
    assert [(e["field"], e["value"], e["reason"]) for e in rows[3][4]] == [("耕地面积", "-1", "面积不能为负数")]
