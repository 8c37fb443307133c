"""Expression limits (engine/limits.py): inputs that used to end in a RecursionError, a DuckDB error at run
time or an exponential SQL text are located diagnostics at load time (E071, E073, E074)."""
from __future__ import annotations

import time

import pytest

from engine import PolicyError, load_policies
from engine.limits import LIMITS
from engine.lang.parser import ParseFailure, parse

from conftest import write_policy_dir


def _rule(when: str, pre: str = "") -> dict:
    return {"rules.yaml": pre + "rules:\n  - id: X-R-1\n    title: 标题\n    cite: 一\n    severity: error\n"
                                f"    when: {when}\n"}


def _errors(policy_root, files) -> list:
    write_policy_dir(policy_root, 2021, files)
    with pytest.raises(PolicyError) as info:
        load_policies(policy_root)
    return [d for d in info.value.diagnostics if d.severity == "error"]


@pytest.mark.parametrize(("when", "words"), [
    ("not " * 5000 + "耕地面积 > 0亩", "过长"),  # 20,000 characters
    ("not " * 2000 + "耕地面积 > 0亩", "嵌套过深"),
    (" or ".join(["耕地面积 > 0亩"] * 300), "嵌套过深"),
    ("耕地面积 > " + "-" * 500 + "1亩", "嵌套过深"),
    ("监测年度 in [" + ", ".join(["1"] * 2500) + "]", "过大"),
    ("监测年度 > 1" + "0" * 20000, "过长"),
])
def test_huge_expressions_are_located_errors(policy_root, when, words):
    errors = _errors(policy_root, _rule(when))
    assert [e.code for e in errors] == ["E071"], [e.render() for e in errors]
    e = errors[0]
    assert words in e.message
    assert (e.loc.line, e.loc.col is not None) == (6, True)
    assert e.help


def test_parse_checks_length_before_lark():
    from engine.lang.units import Units
    from decimal import Decimal

    text = "a and " * 100_000 + "a"  # 600,000 characters: refused at once
    start = time.perf_counter()
    with pytest.raises(ParseFailure) as info:
        parse(text, Units.of({"亩": Decimal(1)}))
    assert time.perf_counter() - start < 0.5
    assert info.value.code == "E071" and info.value.offset == LIMITS.expression_chars


def test_limit_in_a_message_placeholder_is_located_in_the_template(policy_root):
    deep = "-" * 150 + "1"
    files = {"rules.yaml": "rules:\n  - id: X-R-1\n    title: 标题\n    cite: 一\n    severity: error\n"
                           "    when: 耕地面积 > 0亩\n"
                           f"    message: 面积 {{{deep}}}\n"}
    errors = _errors(policy_root, files)
    assert [e.code for e in errors] == ["E071"]
    assert errors[0].loc.line == 7


def _doubling(n: int) -> str:
    return "definitions:\n  d0: 耕地面积 > 1亩\n" + "".join(f"  d{i}: d{i-1} and d{i-1}\n" for i in range(1, n + 1))


def test_thirty_doubling_definitions_fail_fast_naming_the_chain(policy_root):
    start = time.perf_counter()
    errors = _errors(policy_root, _rule("d30", _doubling(30)))
    assert time.perf_counter() - start < 10
    assert [e.code for e in errors] == ["E074"], [e.render() for e in errors]
    assert "d13 → d12 → d11" in errors[0].message and errors[0].loc.line == 15


def test_a_rule_using_a_big_definition_many_times(policy_root):
    when = " or ".join(["d11"] * 10)  # d11 = 8191 nodes, within the limit; ten of them are not
    errors = _errors(policy_root, _rule(when, _doubling(11)))
    assert [e.code for e in errors] == ["E074"]
    assert errors[0].message.startswith("表达式展开定义后过大") and "d11 → d10" in errors[0].message


def test_twelve_doubling_definitions_compile_thirteen_do_not(tmp_path):
    from engine.run.runner import check_records

    errors = _errors(tmp_path / "13", _rule("d13", _doubling(13)))
    assert [e.code for e in errors] == ["E074"]
    write_policy_dir(tmp_path / "12", 2021, _rule("d12", _doubling(12)))
    policies = load_policies(tmp_path / "12")
    result = check_records([{"图斑编号": "A", "监测年度": 2021, "行政区代码": "140923", "耕地面积": "2亩"}], policies, as_of="2024-01-01")
    assert [f.rule for f in result.findings] == ["X-R-1"]


@pytest.mark.parametrize(("bad", "good", "code"), [
    ("with_day(下发日期, 29) > 下发日期", "with_day(下发日期, 28) > 下发日期", "E073"),
    ("with_day(2023-02-05, 30) > 下发日期", "with_day(2023-01-05, 31) > 下发日期", "E073"),  # January has a 31st
    ("with_day(下发日期, 1.5) > 下发日期", "with_day(下发日期, 2) > 下发日期", "E073"),
    ("date(监测年度, 2, 29) > 下发日期", "date(2024, 2, 29) > 下发日期", "E073"),
    ("date(监测年度, 4, 31) > 下发日期", "date(监测年度, 1, 31) > 下发日期", "E073"),
    ("date(0, 1, 1) > 下发日期", "date(1, 1, 1) > 下发日期", "E073"),
    ("add_days(下发日期, 3650001) > 下发日期", "add_days(下发日期, -3650000) < 下发日期", "E073"),
    ("下发日期 - (10000 * 1000) < 下发日期", "下发日期 - (1000 * 1000) < 下发日期", "E073"),
    ("add_months(下发日期, -120001) < 下发日期", "add_months(下发日期, 120000) > 下发日期", "E073"),
    ("监测年度 < 1000000000000000000", "监测年度 < 999999999999999999", "E072"),
    ("监测年度 < 0.0000000000000000001", "监测年度 < 0.000000000000000001", "E072"),
    ("监测年度 < 12345678901234567890%", "监测年度 < 1234567890123456%", "E072"),
    ("耕地面积 < 100000000000000亩", "耕地面积 < 99999999999999亩", "E072"),
    ("耕地面积 < 10000000000000公顷", "耕地面积 < 1000000000000公顷", "E072"),
    ("监测年度 < 100000 * 100000", "监测年度 < 46340 * 46340", "E072"),  # INTEGER * INTEGER overflows in DuckDB
])
def test_constants_out_of_range_are_errors_at_the_boundary(tmp_path, bad, good, code):
    errors = _errors(tmp_path / "bad", _rule(bad))
    assert [e.code for e in errors] == [code], [e.render() for e in errors]
    assert errors[0].loc.line == 6 and errors[0].help
    write_policy_dir(tmp_path / "good", 2021, _rule(good))
    load_policies(tmp_path / "good")


@pytest.mark.parametrize("when", ["add_months(null, 1) > 下发日期", "day(null) == 1", "date(null, 1, 1) > 下发日期"])
def test_null_argument_of_a_function_runs(policy_root, when):
    from engine.run.runner import check_records

    write_policy_dir(policy_root, 2021, _rule(when))
    result = check_records([{"图斑编号": "A", "监测年度": 2021, "行政区代码": "140923", "下发日期": "2023-01-31"}],
                           load_policies(policy_root), as_of="2024-01-01")
    assert result.findings == []


def test_abs_of_a_condition_is_a_type_error_not_a_duckdb_error(policy_root):
    errors = _errors(policy_root, _rule("abs(耕地面积 < 0亩) == 是"))
    assert [e.code for e in errors] == ["E062"] and "数字或面积" in errors[0].message
