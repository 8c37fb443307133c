"""Absolute dates that do not follow the monitoring year (lint W003), `fixed: true` for dates fixed by law, and
new-year's review list built on the same detection.

The window of a policy for year Y is Y-01-01 to (Y+1)-12-31. For the 2023 policies below, by hand:
first day 2023-01-01, last day 2024-12-31, one day before 2022-12-31, one day after 2025-01-01."""
from __future__ import annotations

import pytest

from conftest import assert_at, run_command, write_policy_dir
from engine.policy.lint import lint
from engine.policy.policyset import load_policies
from engine.policy.scaffold import dated_items

RULE = """\
rules:
  - id: R-late
    title: 逾期填报
    cite: 一
    severity: error
    when: {when}
"""


def warnings(*paths, code="W003"):
    diags, _ = lint(list(paths))
    assert not [d for d in diags if d.severity == "error"], [d.render() for d in diags]
    return [d for d in diags if d.code == code]


def param_policy(root, value: str, extra: str = "", year: int = 2023):
    """Year `year` with the parameter 截止日 = value (line 5, the value at column 19) used by one rule."""
    return write_policy_dir(root, year, {"policy.yaml": f"policy: {year}\ntitle: 测试\nsource: 测试\nparameters:\n"
                                                       f"  截止日: {{value: {value}, cite: 一{extra}}}\n"
                                                       + RULE.format(when="填报日期 > 截止日")})


@pytest.mark.parametrize(("value", "warns"), [
    ("2023-01-01", False),  # the window's first day
    ("2024-12-31", False),  # its last day
    ("2022-12-31", True),   # one day before
    ("2025-01-01", True),   # one day after
])
def test_parameter_date_at_the_window_boundaries(policy_root, value, warns):
    d = param_policy(policy_root, value)
    found = warnings(d)
    assert len(found) == warns
    if warns:
        w = found[0]
        assert w.severity == "warning"
        assert w.message == f"参数「截止日」的日期 {value} 不在 2023 年度工作的时间范围（2023-01-01 至 2024-12-31）内"
        #   截止日: {value: 2022-12-31, ...}: 2 spaces + 截止日 (3) + ": {value: " (10) -> the date at column 16
        assert_at(w, d / "policy.yaml", 5, 16, value)
        assert "fixed: true" in w.help and "date(监测年度" in w.help


@pytest.mark.parametrize(("value", "warns", "relative"), [
    ("2023-01-01", False, None),
    ("2024-12-31", False, None),
    ("2022-12-31", True, "date(监测年度 - 1, 12, 31)"),
    ("2025-01-01", True, "date(监测年度 + 2, 1, 1)"),
])
def test_date_in_an_expression_at_the_window_boundaries(policy_root, value, warns, relative):
    d = write_policy_dir(policy_root, 2023, {"rules.yaml": RULE.format(when=f"填报日期 > {value}")})
    found = warnings(d)
    assert len(found) == warns
    if warns:
        w = found[0]
        assert w.message == f"规则「R-late」中的日期 {value} 不在 2023 年度工作的时间范围（2023-01-01 至 2024-12-31）内"
        # "    when: 填报日期 > " : 10 columns, 4 characters, " > " -> the date starts at column 18
        assert_at(w, d / "rules.yaml", 6, 18, value)
        assert f"日期改写为 {relative}" in w.help


def test_fixed_dates_never_warn_own_or_inherited(policy_root):
    base = param_policy(policy_root, "1999-01-01", ", fixed: true", year=2021)
    child = write_policy_dir(policy_root, 2024, {}, header="extends: ../2021\n")
    assert warnings(base, child) == []
    assert dated_items(load_policies(policy_root)[2024]) == []  # nor listed for review


def test_fixed_needs_a_cite(policy_root):
    d = write_policy_dir(policy_root, 2021, {"policy.yaml": "policy: 2021\nparameters:\n  施行日: {value: 1999-01-01, fixed: true}\n"})
    diags, _ = lint([d])
    [e] = [x for x in diags if x.severity == "error"]
    assert e.code == "E006" and e.message == "parameters/施行日 写了「fixed」，还须写「cite」"


def test_fixed_on_a_parameter_without_a_date_warns(policy_root):
    d = write_policy_dir(policy_root, 2023, {"policy.yaml": "policy: 2023\nparameters:\n  面积: {value: 5亩, cite: 一, fixed: true}\n"
                                                          + RULE.format(when="耕地面积 >= 面积")})
    [w] = warnings(d, code="W004")
    assert w.message == "参数「面积」标注了 fixed: true，但它的值不是日期或年份"
    assert_at(w, d / "policy.yaml", 3, 3, "面积")


def test_an_inherited_deadline_of_last_year_warns_in_the_new_year(policy_root):
    """2023 writes its annual deadline as 2024-01-18: inside 2023's window, and inside 2024's (2024-01-01 to
    2025-12-31) too, but written for 2023's work; 2024 inherits it and is warned, naming 2023 and the parameter."""
    base = param_policy(policy_root, "2024-01-18")
    assert warnings(base) == []
    child = write_policy_dir(policy_root, 2024, {}, header="extends: ../2023\n")
    [w] = warnings(child)
    assert w.message == "参数「截止日」的日期 2024-01-18 继承自 2023 年政策，是为 2023 年度写的，不随监测年度变化"
    assert_at(w, base.resolve() / "policy.yaml", 5, 16, "2024-01-18")
    assert "在 2024 年政策中重写" in w.help and "date(监测年度 + 1, 1, 18)" in w.help
    assert "在 2023 年政策的该参数中标注 fixed: true" in w.help


def test_an_inherited_date_outside_the_new_window_says_both(policy_root):
    write_policy_dir(policy_root, 2023, {"rules.yaml": RULE.format(when="填报日期 > 2023-06-30")})
    child = write_policy_dir(policy_root, 2025, {}, header="extends: ../2023\n")
    [w] = warnings(child)
    # 2025's window: 2025-01-01 to 2026-12-31; 2023-06-30 is before it
    assert w.message == ("规则「R-late」中的日期 2023-06-30 继承自 2023 年政策，是为 2023 年度写的，不随监测年度变化，"
                         "不在 2025 年度工作的时间范围（2025-01-01 至 2026-12-31）内")
    assert "override: true" in w.help and "date(监测年度, 6, 30)" in w.help


def test_overriding_the_inherited_date_with_a_relative_definition_silences_it(policy_root):
    param_policy(policy_root, "2024-01-18")
    child = write_policy_dir(policy_root, 2024, {"rules.yaml": "definitions:\n  截止日: {expr: 'date(监测年度 + 1, 1, 18)', cite: 一}\n"},
                             header="extends: ../2023\n")
    assert warnings(child) == []


@pytest.mark.parametrize(("year", "warns"), [(2022, True), (2023, False), (2024, True)])
def test_a_year_compared_with_the_year_field_must_be_the_policy_year(policy_root, year, warns):
    d = write_policy_dir(policy_root, 2023, {"rules.yaml": RULE.format(when=f"监测年度 == {year}")})
    found = warnings(d)
    assert len(found) == warns
    if warns:
        assert found[0].message == (f"规则「R-late」中与监测年度比较的年份 {year} 不是 2023：2023 年政策检查的图斑监测年度都是 2023，"
                                    "这个比较的结果是固定的")
        # "    when: 监测年度 == ": 10 columns, 4 characters, " == " -> column 19
        assert_at(found[0], d / "rules.yaml", 6, 19, str(year))


def test_a_year_parameter_compared_with_the_year_field_warns_at_its_value(policy_root):
    d = write_policy_dir(policy_root, 2023, {"policy.yaml": "policy: 2023\nparameters:\n  起始年度: {value: 2021, cite: 一}\n"
                                                          + RULE.format(when="监测年度 >= 起始年度")})
    [w] = warnings(d)
    assert w.message.startswith("参数「起始年度」与监测年度比较的年份 2021 不是 2023")
    #   起始年度: {value: 2021 ...: 2 + 4 + 10 -> column 17
    assert_at(w, d / "policy.yaml", 3, 17, "2021")


def test_new_year_lists_what_lint_would_warn_and_skips_fixed(policy_root, monkeypatch, capsys):
    write_policy_dir(policy_root, 2023, {"policy.yaml": "policy: 2023\ntitle: 测试\nsource: 测试\nparameters:\n"
                                                        "  截止日: {value: 2024-01-18, cite: 一}\n"
                                                        "  施行日: {value: 1999-01-01, cite: 二, fixed: true}\n"
                                                        + RULE.format(when="填报日期 > 截止日 and 建设时间 >= 施行日 and 下发日期 < 2023-12-01")})
    monkeypatch.chdir(policy_root.parent)
    code, out = run_command(capsys, "new-year", "2024", "--from", "2023")
    assert code == 0, out
    assert "请复核继承的日期与年份（2 项，法定固定日期除外）" in out
    assert "截止日 = 2024-01-18（policies/2023/policy.yaml:5，一）" in out
    assert "规则「R-late」：2023-12-01（policies/2023/policy.yaml:12，一）" in out
    assert "施行日" not in out.split("lint：")[0]
    # and lint, run on the new year, warns about both (2023-12-01 lies before 2024's window)
    assert out.count("警告[W003]") == 2 and "0 处错误，2 处警告" in out
    head = (policy_root / "2024" / "policy.yaml").read_text(encoding="utf-8")
    assert "#   截止日 = 2024-01-18" in head and "施行日" not in head


def test_bundled_policies_hold_no_unfixed_date_outside_their_year(capsys):
    for path in ("policies/2021", "policies/2023"):
        code, out = run_command(capsys, "lint", path)
        assert code == 0 and "没有发现问题" in out, out


def test_dates_in_assessments_deductions_and_messages_are_found_where_written(policy_root):
    d = write_policy_dir(policy_root, 2023, {"policy.yaml": """\
        policy: 2023
        assessments:
          - id: A1
            kind: 问责评估
            title: t
            cite: 一
            levels: [县级]
            scope: 下发日期 >= 2020-01-01
            numerator: sum(耕地面积 where 判定结果 == "违法用地")
            denominator: sum(耕地面积)
            flag: ratio >= 15%
          - id: D1
            kind: 扣除
            of: A1
            effect: 只扣分子
            title: t
            cite: 一
            when: 填报日期 > 2030-01-01
        triggers:
          - id: T1
            title: t
            cite: 一
            level: 省级
            action: 实地核查
            when: 耕地面积 > 1亩
            message: "{图斑编号}: {if 下发日期 > 2031-01-01 then 1 else 2}"
        """})
    found = warnings(d)
    assert [w.message.split("中的日期")[0] for w in found] == ["评估「A1」", "扣除「D1」", "触发条件「T1」"]
    f = d / "policy.yaml"
    assert_at(found[0], f, 8, 20, "2020-01-01")   # "    scope: 下发日期 >= ": 11 columns + 4 + 4
    assert_at(found[1], f, 18, 18, "2030-01-01")  # "    when: 填报日期 > ": 10 + 4 + 3
    # '    message: "{图斑编号}: {if 下发日期 > ': 13 + 1 (quote) + 6 ({图斑编号}) + 2 + 4 ({if ) + 4 + 3 = 33
    assert_at(found[2], f, 26, 34, "2031-01-01")
