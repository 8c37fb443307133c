"""Fuzz (issue 11): generated DSL expressions never crash the parser, checker or compiler — a policy holding any of
them either loads and compiles to SQL, or is refused with located diagnostics (file and line).

The default run is short; WEIPIAN_FUZZ_EXAMPLES=10000 runs a long one."""
from __future__ import annotations

import json
import os
from datetime import date

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from conftest import write_policy_dir
from engine.errors import PolicyError
from engine.policy.policyset import load_policies
from engine.run.runner import row_sql

EXAMPLES = int(os.environ.get("WEIPIAN_FUZZ_EXAMPLES", "60"))

NAMES = ["耕地面积", "永久基本农田面积", "判定结果", "审批文号", "下发日期", "整改状态", "监测年度", "图斑编号",
         "阈值", "日期参数", "重点", "未知字段", "耕地面识", "非法", "否则x"]
FUNCS = ["day", "month_end", "add_days", "add_months", "with_day", "date", "sum", "count", "f", "len"]
WORDS = ["and", "or", "not", "且", "或", "非", "if", "then", "else", "如果", "则", "否则", "in", "not in", "is", "is not",
         "null", "是", "否", "where", "==", "!=", "<", "<=", ">", ">=", "=", "≥", "≤", "≠", "+", "-", "*", "/"]
PUNCT = ["(", ")", "[", "]", ",", "{", "}", "“", "”", '"', "'", ":", "#", "\\"]

number = st.one_of(st.integers(-10**22, 10**22).map(str), st.decimals(allow_nan=False, allow_infinity=False, places=3).map(str))
unit = st.sampled_from(["", "亩", "平方米", "公顷", "%", "米", "天"])
literal = st.one_of(
    st.tuples(number, unit).map("".join),
    st.text(max_size=6).map(lambda s: "“" + s + "”"),
    st.dates(min_value=date(1, 1, 1)).map(date.isoformat),
    st.sampled_from(["2023-02-30", "2023-13-01", "9999-12-31", "0000-01-01", "是", "否", "null"]),
)
atom = st.one_of(st.sampled_from(NAMES), literal, st.sampled_from(NAMES[:4]).map(lambda n: n + "[省级]"))


def _tree(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(WORDS[:16] + WORDS[20:]), children).map(lambda t: f"{t[0]} {t[1]} {t[2]}"),
        children.map(lambda c: f"({c})"),
        children.map(lambda c: f"not {c}"),
        st.tuples(children, children, children).map(lambda t: f"if {t[0]} then {t[1]} else {t[2]}"),
        st.tuples(children, st.lists(children, max_size=3)).map(lambda t: f"{t[0]} in [{', '.join(t[1])}]"),
        st.tuples(st.sampled_from(FUNCS), st.lists(children, max_size=3)).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        st.tuples(st.sampled_from(["sum", "count"]), children, children).map(lambda t: f"{t[0]}({t[1]} where {t[2]})"),
    )


structured = st.recursive(atom, _tree, max_leaves=10)

# well-typed conditions, so that many examples get past the checker to the compiler
area = st.one_of(st.tuples(st.integers(0, 10**6), st.sampled_from(["亩", "平方米", "公顷"])).map(lambda t: f"{t[0]}{t[1]}"),
                 st.just("阈值"))
day = st.one_of(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)).map(date.isoformat), st.just("日期参数"),
                st.integers(-400, 400).map(lambda n: f"add_days(下发日期, {n})"), st.just("month_end(下发日期)"),
                st.integers(1, 31).map(lambda n: f"with_day(下发日期, {n})"), st.integers(-24, 24).map(lambda n: f"add_months(下发日期, {n})"))
comparison = st.one_of(
    st.tuples(st.sampled_from(["耕地面积", "永久基本农田面积"]), st.sampled_from(["<", "<=", ">", ">=", "==", "!="]), area).map(" ".join),
    st.tuples(st.sampled_from(["下发日期"]), st.sampled_from(["<", "<=", ">", ">=", "=="]), day).map(" ".join),
    st.lists(st.sampled_from(["违法用地", "合法用地", "其他用地", "x'y"]), min_size=1, max_size=3).map(
        lambda xs: "判定结果 in [" + ", ".join(f"“{x}”" for x in xs) + "]"),
    st.sampled_from(["审批文号 is null", "审批文号 is not null", "重点", "是", "否", "判定结果 == “违法用地”"]),
)
typed = st.recursive(comparison, lambda c: st.one_of(
    st.tuples(c, st.sampled_from(["and", "or", "且", "或"]), c).map(lambda t: f"({t[0]} {t[1]} {t[2]})"),
    c.map(lambda x: f"not {x}"),
    st.tuples(c, c, c).map(lambda t: f"(if {t[0]} then {t[1]} else {t[2]})")), max_leaves=8)
soup = st.lists(st.one_of(atom, st.sampled_from(WORDS + PUNCT + FUNCS)), min_size=1, max_size=12).map(" ".join)
expressions = st.one_of(typed, typed, structured, soup, st.text(max_size=30))

POLICY = """\
policy: 2021
title: 模糊测试
source: 测试
parameters:
  阈值: {{value: 100亩, cite: 一}}
  日期参数: {{value: 2021-06-30, cite: 一}}
definitions:
  重点: {{expr: {defn}, cite: 二}}
rules:
  - id: F-R-1
    title: 规则
    cite: 三
    severity: error
    when: {when}
    message: {message}
"""


@settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(when=expressions, defn=typed, message_expr=structured)
def test_generated_expressions_never_crash(tmp_path_factory, when, defn, message_expr):
    root = tmp_path_factory.mktemp("fuzz") / "policies"
    q = lambda s: json.dumps(s, ensure_ascii=False)  # noqa: E731  (a JSON string is a YAML double-quoted scalar)
    text = POLICY.format(when=q(when), defn=q(defn), message=q("{图斑编号} " + message_expr.replace("{", "").replace("}", "")))
    write_policy_dir(root, 2021, {"policy.yaml": text})
    try:
        policies = load_policies(root)
    except PolicyError as exc:
        event("refused with diagnostics")
        assert exc.diagnostics
        for d in exc.diagnostics:
            assert d.loc.file and d.loc.line, d.render()
            d.render()
        return
    event("loaded and compiled")
    for policy in policies.values():
        assert "SELECT" in row_sql(policy, date(2024, 6, 30))


@pytest.mark.parametrize("when", ["not " * 50 + "是", "(" * 40 + "是" + ")" * 40, " or ".join(["是"] * 100)])
def test_moderately_deep_expressions_compile(tmp_path, when):
    root = tmp_path / "policies"
    write_policy_dir(root, 2021, {"policy.yaml": POLICY.format(when=json.dumps(when, ensure_ascii=False), defn="是",
                                                                 message='"{图斑编号}"')})
    try:
        policies = load_policies(root)
    except PolicyError as exc:
        assert all(d.loc.file and d.loc.line for d in exc.diagnostics)
        return
    assert "SELECT" in row_sql(policies[2021], date(2024, 6, 30))
