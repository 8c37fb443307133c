"""weipian test: PASS/FAIL per case, failure details, coverage and --min; the same files as pytest items."""
import json
from pathlib import Path

from conftest import ACCOUNTABILITY_POLICY, help_output, run_command, write_policy_dir

POLICY = """\
policy: 2021
title: 测试政策
parameters:
  核查耕地面积: {value: 100亩, cite: 三（五）}
rules:
  - id: T-R-temporary
    title: 临时用地须有批复文号
    cite: 附件4 二
    severity: error
    when: 其他用地类型 == "临时用地" and 临时用地批复文号 is null
triggers:
  - id: T-T-farmland
    title: 耕地面积达到核查面积
    cite: 三（五）
    level: 省级
    action: 实地核查
    when: 耕地面积 >= 核查耕地面积
"""

TEMPORARY_CASE = """\
  - name: 临时用地无批复文号
    patches:
      - {图斑编号: T1, 判定结果: 其他用地, 其他用地类型: 临时用地}
      - {图斑编号: T2, 判定结果: 其他用地, 其他用地类型: 临时用地, 临时用地批复文号: 代临字〔2021〕3号}
    expect:
      T1: {fires: [T-R-temporary]}
      T2: {not_fires: [T-R-temporary]}
"""

# threshold 100亩: 100亩 is at it (fires), 99.99亩 just below (does not), 100.01亩 just above (fires)
FARMLAND_CASE = """\
  - name: 耕地面积阈值 100亩
    patches:
      - {图斑编号: A, 耕地面积: 100亩}
      - {图斑编号: B, 耕地面积: 99.99亩}
      - {图斑编号: C, 耕地面积: 100.01亩}
    expect:
      A: {fires: [T-T-farmland]}
      B: {not_fires: [T-T-farmland]}
      C: {fires: [T-T-farmland]}
"""

HEAD = 'defaults: {行政区代码: "140923"}\ncases:\n'


def make_policy(root: Path, cases: str) -> Path:
    return write_policy_dir(root, 2021, {"policy.yaml": POLICY, "tests/rules_test.yaml": HEAD + cases})


def run(capsys, *argv):
    return run_command(capsys, "test", *argv)


def test_all_pass_and_full_coverage(tmp_path, capsys):
    d = make_policy(tmp_path, TEMPORARY_CASE + FARMLAND_CASE)
    code, out = run(capsys, d, "--coverage", "--min", "100")
    assert code == 0, out
    assert "  PASS  临时用地无批复文号\n" in out and "  PASS  耕地面积阈值 100亩\n" in out
    assert "PASS: 2/2" in out
    assert "覆盖率（2021年政策）：2/2 = 100.0%" in out


def test_deleting_a_case_drops_coverage_and_fails_min(tmp_path, capsys):
    d = make_policy(tmp_path, TEMPORARY_CASE)  # the farmland threshold case is gone
    code, out = run(capsys, d, "--coverage", "--min", "100")
    assert code == 1
    assert "PASS: 1/1" in out
    assert "覆盖率（2021年政策）：1/2 = 50.0%" in out
    assert "触发 T-T-farmland（耕地面积达到核查面积）未覆盖：没有用例断言它触发；没有用例断言它不触发" in out
    assert "覆盖率 50.0% 低于要求的 100%" in out
    # without --min the same run passes
    assert run(capsys, d, "--coverage")[0] == 0


def test_fires_only_is_not_covered(tmp_path, capsys):
    only_firing = TEMPORARY_CASE.replace(
        "      - {图斑编号: T2, 判定结果: 其他用地, 其他用地类型: 临时用地, 临时用地批复文号: 代临字〔2021〕3号}\n", "").replace(
        "      T2: {not_fires: [T-R-temporary]}\n", "")
    # T1 asserts that the rule fires; the farmland patches A, B, C do not fire it, but no case says they must not:
    # not firing by accident is not an assertion
    d = make_policy(tmp_path, only_firing + FARMLAND_CASE)
    code, out = run(capsys, d, "--coverage", "--min", "100")
    assert code == 1 and "1/2 = 50.0%" in out, out
    assert "规则 T-R-temporary（临时用地须有批复文号）未覆盖：没有用例断言它不触发" in out


def test_a_rule_firing_incidentally_is_not_covered(tmp_path, capsys):
    # a new rule without a case of its own fires on the farmland patches A and C (100亩, 100.01亩) and not on B:
    # under "fired somewhere and silent somewhere" it would count as covered; nothing asserts it, so it is not
    policy = POLICY.replace("triggers:\n", """  - id: T-R-big-farmland
    title: 新规则：耕地面积达到100亩
    cite: 三（五）
    severity: warning
    when: 耕地面积 >= 核查耕地面积
triggers:
""")
    d = write_policy_dir(tmp_path, 2021, {"policy.yaml": policy, "tests/rules_test.yaml": HEAD + TEMPORARY_CASE + FARMLAND_CASE})
    code, out = run(capsys, d, "--coverage", "--min", "100")
    assert code == 1, out
    assert "PASS: 2/2" in out and "覆盖率（2021年政策）：2/3 = 66.7%" in out
    assert "规则 T-R-big-farmland（新规则：耕地面积达到100亩）未覆盖：没有用例断言它触发；没有用例断言它不触发" in out


def test_a_policy_year_without_tests_is_listed_at_zero(tmp_path, capsys):
    make_policy(tmp_path, TEMPORARY_CASE + FARMLAND_CASE)
    write_policy_dir(tmp_path, 2024, {"rules.yaml": """
        rules:
          - id: T-R-new
            title: 新年度规则
            cite: 一
            severity: error
            when: 耕地面积 > 0亩
        """})
    code, out = run(capsys, tmp_path, "--coverage", "--min", "100")
    assert code == 1
    assert "（2024年政策）：没有测试用例" in out
    assert "覆盖率（2021年政策）：2/2 = 100.0%" in out and "覆盖率（2024年政策）：0/1 = 0.0%" in out
    assert "总覆盖率：2/3 = 66.7%" in out


def test_failure_shows_expected_got_patch_and_condition(tmp_path, capsys):
    wrong = FARMLAND_CASE.replace("B: {not_fires: [T-T-farmland]}", "B: {fires: [T-T-farmland]}")
    d = make_policy(tmp_path, TEMPORARY_CASE + wrong)
    code, out = run(capsys, d)
    assert code == 1
    assert "  FAIL  耕地面积阈值 100亩（" in out
    assert "图斑 B，规则 T-T-farmland：期望 触发，实际 未触发" in out
    assert "图斑：监测年度=2021，行政区代码=140923，图斑编号=B，耕地面积=99.99亩" in out
    assert "条件：耕地面积 >= 核查耕地面积" in out
    assert "代入：耕地面积〔99.99亩〕 >= 核查耕地面积〔100亩〕" in out  # the values, as weipian explain shows them
    assert "PASS: 1/2" in out and "FAIL: 1/2" in out


def test_unknown_rule_id_fails(tmp_path, capsys):
    d = make_policy(tmp_path, TEMPORARY_CASE.replace("T2: {not_fires: [T-R-temporary]}", "T2: {not_fires: [T-R-temporray]}"))
    code, out = run(capsys, d)
    assert code == 1 and "未知规则编号「T-R-temporray」" in out


def test_json(tmp_path, capsys):
    d = make_policy(tmp_path, TEMPORARY_CASE)
    code, out = run(capsys, d, "--coverage", "--format", "json")
    doc = json.loads(out)
    assert code == 0 and doc["passed"] == doc["total"] == 1
    items = {i["id"]: i for i in doc["coverage"]["policies"][0]["items"]}
    assert items["T-R-temporary"]["covered"] is True
    assert items["T-T-farmland"] == {**items["T-T-farmland"], "fired": False, "silent": False, "covered": False}
    assert doc["coverage"]["percent"] == 50.0


def test_no_tests_found_fails(tmp_path, capsys):
    write_policy_dir(tmp_path, 2021, {"policy.yaml": POLICY})
    code, out = run(capsys, tmp_path)
    assert code == 1 and "没有找到政策测试" in out


ASSESS_POLICY = ACCOUNTABILITY_POLICY + """\
  - id: T-A-acc-restored
    kind: 扣除
    of: T-A-acc
    effect: 分子分母同时扣除
    title: 已拆除复耕到位的分子分母同时扣除
    cite: 附件5
    when: 整改状态 == "已拆除复耕到位"
"""

# 610902: 15 / (15 + 85) = 15%, at the 15% threshold: flagged.
# 610921: B3 (50亩, 已拆除复耕到位) is deducted from both: 14.99 / (14.99 + 85.01) = 14.99% < 15%: not flagged.
ASSESS_CASE = """\
cases:
  - name: 问责比例 15%
    patches:
      - {图斑编号: A1, 行政区代码: "610902", 耕地面积: 15亩, 判定结果: 违法用地}
      - {图斑编号: A2, 行政区代码: "610902", 耕地面积: 85亩, 判定结果: 合法用地}
      - {图斑编号: B1, 行政区代码: "610921", 耕地面积: 14.99亩, 判定结果: 违法用地}
      - {图斑编号: B2, 行政区代码: "610921", 耕地面积: 85.01亩, 判定结果: 合法用地}
      - {图斑编号: B3, 行政区代码: "610921", 耕地面积: 50亩, 判定结果: 违法用地, 整改状态: 已拆除复耕到位}
    assessments:
      - {rule: T-A-acc, level: 县级, region: "610902", period: "2021", values: {numerator: 15, denominator: 100}, flagged: true}
      - {rule: T-A-acc, level: 县级, region: "610921", period: "2021", values: {numerator: 14.99, denominator: 100}, flagged: false}
"""


def test_assessment_and_deduction_coverage(tmp_path, capsys):
    d = write_policy_dir(tmp_path, 2021, {"policy.yaml": ASSESS_POLICY, "tests/acc_test.yaml": ASSESS_CASE})
    code, out = run(capsys, d, "--coverage", "--min", "100", "-v")
    assert code == 0, out
    assert "评估 T-A-acc（违法占用耕地问责）已覆盖" in out
    assert "扣除 T-A-acc-restored（已拆除复耕到位的分子分母同时扣除）已覆盖" in out
    # without the restored patch B3 the deduction never removes anything (610921 stays 14.99/100: not flagged)
    no_b3 = ASSESS_CASE.replace('      - {图斑编号: B3, 行政区代码: "610921", 耕地面积: 50亩, 判定结果: 违法用地, 整改状态: 已拆除复耕到位}\n', "")
    (d / "tests" / "acc_test.yaml").write_text(no_b3, encoding="utf-8")
    code, out = run(capsys, d, "--coverage", "--min", "100")
    assert code == 1
    assert "扣除 T-A-acc-restored（已拆除复耕到位的分子分母同时扣除）未覆盖：没有用例断言它触发" in out


pytest_plugins = ["pytester"]


def test_same_files_are_pytest_items(tmp_path, pytester):
    wrong = FARMLAND_CASE.replace("B: {not_fires: [T-T-farmland]}", "B: {fires: [T-T-farmland]}")
    make_policy(pytester.path, TEMPORARY_CASE + wrong)
    res = pytester.runpytest_inprocess(str(pytester.path / "2021"))
    res.assert_outcomes(passed=1, failed=1)
    res.stdout.fnmatch_lines(["*图斑 B，规则 T-T-farmland：期望 触发，实际 未触发*", "*条件：耕地面积 >= 核查耕地面积*",
                             "*代入：耕地面积〔99.99亩〕 >= 核查耕地面积〔100亩〕*"])


def test_help_has_example(capsys):
    assert "示例：" in help_output(capsys, "test")


def test_shipped_policies_reach_full_coverage(capsys):
    """The bundled 2021 and 2023 policies: every rule, trigger, assessment and deduction both fires
    and stays silent in some case of its own year's tests (issue 4: 100%)."""
    from engine.paths import policies_dir

    code, out = run(capsys, str(policies_dir()), "--coverage", "--min", "100")
    assert code == 0, out
    assert "100.0%" in out
