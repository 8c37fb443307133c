"""The Python API (engine.load_policies / check / check_records) and `weipian check` (exit codes, JSON contract)."""
from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from datetime import date

import pytest

from engine import InputError, PolicyError, check, check_records, load_policies
from engine.run.result import Result, dumps_indented

from conftest import BIG_FARMLAND_RULE, dedent, run_cli, write_csv, write_policy_dir

AS_OF = "2024-06-30"
HEAD = ["图斑编号", "监测年度", "行政区代码", "判定结果", "耕地面积", "监测面积"]

POLICY_2021 = """
parameters:
  大面积阈值: {value: 100亩, cite: 测试条款 一}
rules:
""" + BIG_FARMLAND_RULE + """\
  - id: T-R-illegal-warning
    title: 违法用地提醒
    cite: 测试条款 二
    severity: warning
    when: 判定结果 == "违法用地"
    message: "{图斑编号}: 违法用地"
triggers:
  - id: T-T-city-check
    title: 市级实地核查
    cite: 测试条款 三
    level: 市级
    action: 实地核查
    when: 判定结果 == "违法用地" and 耕地面积 >= 核查面积
    message: "{图斑编号}: 市级核查 {耕地面积}"
  - id: T-T-province-check
    title: 省级实地核查
    cite: 测试条款 三
    level: 省级
    action: 实地核查
    when: 判定结果 == "违法用地" and 耕地面积 >= 核查面积
    message: "{图斑编号}: 省级核查 {耕地面积}"
"""
PARAMS_2021 = """
parameters:
  核查面积: {value: {省级: 100亩, 市级: 50亩}, cite: 测试条款 三}
"""
# 2023 inherits everything and lowers the threshold to 50亩
POLICY_2023 = """
parameters:
  大面积阈值: {value: 50亩, cite: 测试条款 一（2023）}
"""


@pytest.fixture
def policies_dir(policy_root):
    write_policy_dir(policy_root, 2021, {"rules.yaml": POLICY_2021, "params.yaml": PARAMS_2021})
    write_policy_dir(policy_root, 2023, {"rules.yaml": POLICY_2023}, header="extends: ../2021\n")
    return policy_root


@pytest.fixture
def policies(policies_dir):
    return load_policies(policies_dir)


def data(tmp_path, rows, name="d.csv"):
    return write_csv(tmp_path / name, HEAD, rows)


# ---------------------------------------------------------------- Python API


def test_load_bundled_policies():
    ps = load_policies()
    assert {2021, 2023} <= set(ps)
    for year, p in ps.items():
        assert p.year == year and p.rules and p.digest.startswith("sha256:")
        assert all(c.cite for c in p.checks)


def test_load_policies_of_a_directory(policies):
    assert sorted(policies) == [2021, 2023]
    p21, p23 = policies[2021], policies[2023]
    assert [c.id for c in p21.rules] == ["T-R-big-farmland", "T-R-illegal-warning"]
    assert [c.id for c in p23.triggers] == ["T-T-city-check", "T-T-province-check"]
    assert str(p21.params["大面积阈值"].value.value) == "100" and str(p23.params["大面积阈值"].value.value) == "50"


def test_check_result_object(tmp_path, policies):
    # A: 120亩 违法 -> error (>= 100亩), warning, tasks at 市级 (>= 50亩) and 省级 (>= 100亩)
    # B: 60亩 违法 -> warning, 市级 task only
    # C: 10亩 合法 -> nothing
    r = check(data(tmp_path, [["A", 2021, "140923", "违法用地", "120", "200"], ["B", 2021, "140923", "违法用地", "60", "200"],
                              ["C", 2021, "140923", "合法用地", "10", "200"]]), policies, as_of=AS_OF)
    assert isinstance(r, Result)
    assert r.as_of == date(2024, 6, 30)
    assert [(f.patch, f.rule, f.severity) for f in r.findings] == [
        ("A", "T-R-big-farmland", "error"), ("A", "T-R-illegal-warning", "warning"), ("B", "T-R-illegal-warning", "warning")]
    assert r.findings[0].to_json() == {"patch": "A", "rule": "T-R-big-farmland", "severity": "error",
                             "message": "A: 耕地面积 120亩 达到 100亩", "cite": "测试条款 一",
                             "source": "d.csv", "line": 2}  # the patch's file and row (header is row 1)
    # tasks: 省级 first, then 市级
    assert [(t.patch, t.rule, t.level, t.action) for t in r.tasks] == [
        ("A", "T-T-province-check", "省级", "实地核查"), ("A", "T-T-city-check", "市级", "实地核查"),
        ("B", "T-T-city-check", "市级", "实地核查")]
    assert r.tasks[0].message == "A: 省级核查 120亩" and r.tasks[0].cite == "测试条款 三"
    assert r.assessments == []
    assert r.exit_code == 1
    assert r.input["rows"] == 3 and r.input["rejected"] == 0


def test_check_accepts_a_policy_directory(tmp_path, policies_dir):
    r = check(data(tmp_path, [["C", 2021, "140923", "合法用地", "10", "200"]]), policies_dir, as_of=AS_OF)
    assert r.findings == [] and r.exit_code == 0


def test_warnings_alone_exit_0(tmp_path, policies):
    r = check(data(tmp_path, [["B", 2021, "140923", "违法用地", "1", "200"]]), policies, as_of=AS_OF)
    assert [f.severity for f in r.findings] == ["warning"] and r.exit_code == 0


def test_check_records(policies):
    r = check_records([{"图斑编号": "A", "监测年度": 2021, "XZQDM": "140923", "pdjg": "合法用地", "耕地面积": "66666.67平方米"}],
                      policies, as_of=date(2024, 6, 30))
    assert [(f.patch, f.rule) for f in r.findings] == [("A", "T-R-big-farmland")]
    assert r.input["path"] == "<records>" and r.input["rows"] == 1


def test_mixed_year_file_uses_each_rows_policy(tmp_path, policies):
    # 60亩: below 2021's 100亩, above 2023's 50亩; 100亩 is above both
    rows = [["A", 2021, "140923", "合法用地", "60", "200"], ["B", 2023, "610902", "合法用地", "60", "200"],
            ["C", 2021, "140923", "合法用地", "100", "200"], ["D", 2023, "610902", "合法用地", "49.9999", "200"]]
    r = check(data(tmp_path, rows), policies, as_of=AS_OF)
    assert [(f.patch, f.message) for f in r.findings] == [
        ("B", "B: 耕地面积 60亩 达到 50亩"), ("C", "C: 耕地面积 100亩 达到 100亩")]
    assert r.input["years"] == [2021, 2023]
    assert sorted(r.policies) == [2021, 2023]
    out = r.to_json()
    assert out["policy"]["years"] == [2021, 2023]
    assert [p["year"] for p in out["policies"]] == [2021, 2023]


def test_bad_as_of_is_an_input_error(tmp_path, policies):
    with pytest.raises(InputError, match="评估日期「2024-13-01」不是有效日期"):
        check(data(tmp_path, [["C", 2021, "140923", "合法用地", "10", "200"]]), policies, as_of="2024-13-01")


def test_missing_file_is_an_input_error(tmp_path, policies):
    with pytest.raises(InputError, match="找不到输入文件"):
        check(tmp_path / "nope.csv", policies, as_of=AS_OF)


def test_bad_policy_dir_is_a_policy_error(tmp_path):
    with pytest.raises(PolicyError) as info:
        load_policies(tmp_path / "nothing")
    assert info.value.diagnostics[0].code == "E010"


# ---------------------------------------------------------------- CLI


def test_cli_clean_exits_0(tmp_path, policies_dir, capsys):
    f = data(tmp_path, [["C", 2021, "140923", "合法用地", "10", "200"]])
    code, out, err = run_cli(capsys, "check", f, "--policies", policies_dir, "--format", "json", "--as-of", AS_OF)
    assert code == 0
    assert json.loads(out)["findings"] == []


def test_cli_error_finding_exits_1(tmp_path, policies_dir, capsys):
    f = data(tmp_path, [["A", 2021, "140923", "合法用地", "100", "200"]])
    code, out, err = run_cli(capsys, "check", f, "--policies", policies_dir, "--format", "json", "--as-of", AS_OF)
    assert code == 1
    assert [x["rule"] for x in json.loads(out)["findings"]] == ["T-R-big-farmland"]


def test_cli_text_output(tmp_path, policies_dir, capsys):
    f = data(tmp_path, [["A", 2021, "140923", "违法用地", "100", "200"]])
    code, out, err = run_cli(capsys, "check", f, "--policies", policies_dir, "--as-of", AS_OF)
    assert code == 1
    assert "T-R-big-farmland" in out and "耕地面积达到阈值" in out and "错误 1 条" in out


@pytest.mark.parametrize("case", ["missing file", "bad policy", "bad as-of", "bad year", "no policy for year", "missing column"])
def test_cli_unusable_exits_2(tmp_path, policies_dir, policy_root, capsys, case):
    f = data(tmp_path, [["A", 2021, "140923", "合法用地", "100", "200"]])
    args = ["check", f, "--policies", policies_dir, "--format", "json", "--as-of", AS_OF]
    expect = None
    if case == "missing file":
        args[1] = tmp_path / "nope.csv"
        expect = "找不到输入文件"
    elif case == "bad policy":
        (policies_dir / "2021" / "rules.yaml").write_text(dedent(POLICY_2021).replace("耕地面积 >= 大面积阈值", "耕地面识 >= 大面积阈值"),
                                                          encoding="utf-8")
        expect = "未知名称「耕地面识」"
    elif case == "bad as-of":
        args[-1] = "2024-02-30"
        expect = "评估日期「2024-02-30」不是有效日期"
    elif case == "bad year":
        args += ["--year", "二〇二一"]
        expect = "参数错误"
    elif case == "no policy for year":
        args[1] = data(tmp_path, [["A", 2022, "140923", "合法用地", "100", "200"]], "y.csv")
        expect = "可用年度：2021、2023"
    elif case == "missing column":
        args[1] = write_csv(tmp_path / "c.csv", ["图斑编号", "监测年度"], [["A", 2021]])
        expect = "缺少必需的列：行政区代码"
    try:
        code, out, err = run_cli(capsys, *args)
    except SystemExit as exc:  # argparse errors
        code, out, err = exc.code, *capsys.readouterr()
    assert code == 2
    assert out == ""
    assert expect in err and "Traceback" not in err


JSON_KEYS = {"policy", "input", "run", "findings", "tasks", "assessments"}


def test_cli_json_contract(tmp_path, policies_dir, capsys):
    f = data(tmp_path, [["A", 2021, "140923", "违法用地", "120", "200"], ["B", 2021, "140923", "x", "1", "2"]])
    code, out, _ = run_cli(capsys, "check", f, "--policies", policies_dir, "--format", "json", "--as-of", AS_OF)
    assert code == 1
    doc = json.loads(out)
    assert JSON_KEYS <= set(doc)
    assert {"year", "source", "digest"} <= set(doc["policy"]) and doc["policy"]["year"] == 2021
    inp = doc["input"]
    assert {"path", "sha256", "rows", "rejected"} <= set(inp)
    assert inp["path"] == str(f) and inp["rows"] == 2 and inp["rejected"] == 1
    assert inp["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()
    run = doc["run"]
    assert {"as_of", "engine", "duckdb", "policy_files"} <= set(run)
    assert run["as_of"] == AS_OF
    assert set(run["policy_files"]) == {str(p) for p in (policies_dir / "2021").glob("*.yaml")}
    assert all(v.startswith("sha256:") for v in run["policy_files"].values())
    for finding in doc["findings"]:  # the contract's keys, and the patch's file and row
        assert set(finding) == {"patch", "rule", "severity", "message", "cite", "source", "line"}
    assert [(x["source"], x["line"]) for x in doc["findings"]] == [(f.name, 2), (f.name, 2), (f.name, 3)]
    assert [(x["patch"], x["rule"]) for x in doc["findings"]] == [
        ("A", "T-R-big-farmland"), ("A", "T-R-illegal-warning"), ("B", "数据格式")]
    for task in doc["tasks"]:
        assert {"patch", "rule", "level", "action", "cite", "message"} <= set(task)
    assert [(t["patch"], t["level"]) for t in doc["tasks"]] == [("A", "省级"), ("A", "市级")]
    assert doc["assessments"] == []


def test_cli_json_is_byte_identical_across_runs(tmp_path, policies_dir):
    rows = [["A", 2021, "140923", "违法用地", "120", "200"], ["B", 2023, "610902", "违法用地", "60", "200"],
            ["C", 2023, "610902", "合法用地", "x", "200"]]
    f = data(tmp_path, rows)
    cmd = [sys.executable, "-m", "engine.cli.main", "check", str(f), "--policies", str(policies_dir), "--format", "json", "--as-of", AS_OF]
    a = subprocess.run(cmd, capture_output=True)
    b = subprocess.run(cmd, capture_output=True)
    assert a.returncode == b.returncode == 1
    assert a.stdout == b.stdout and len(a.stdout) > 0
    assert b"Traceback" not in a.stderr


def test_cli_json_bundled_policies_on_sample(capsys):
    """The bundled policies on the bundled sample: the run is reproducible and the contract holds."""
    from engine.paths import datasets_dir

    sample = datasets_dir() / "sample_mixed.csv"  # committed with the repository: a missing file is a failure
    code1, out1, _ = run_cli(capsys, "check", sample, "--format", "json", "--as-of", AS_OF)
    code2, out2, _ = run_cli(capsys, "check", sample, "--format", "json", "--as-of", AS_OF)
    assert code1 == code2 and code1 in (0, 1)
    assert out1 == out2
    doc = json.loads(out1)
    assert JSON_KEYS <= set(doc)
    assert doc["input"]["rows"] == doc["input"]["checked"] + doc["input"]["rejected"]


def test_the_policy_sets_dictionary_is_the_one_used(tmp_path, policies_dir):
    """load_policies(dictionary=) is carried by the policy set to the run and its result (reports read it there)."""
    import shutil

    from engine.data.dictionary import load_dictionary
    from engine.paths import schemas_dir

    copy = tmp_path / "fields.yaml"
    shutil.copy(schemas_dir() / "fields.yaml", copy)
    custom = load_dictionary(copy)
    assert custom is not load_dictionary()
    pols = load_policies(policies_dir, dictionary=custom)
    assert pols.dictionary is custom and all(p.dictionary is custom for p in pols.values())
    r = check_records([{"图斑编号": "A", "监测年度": 2021, "行政区代码": "140923", "耕地面积": "120"}], pols, as_of=AS_OF)
    assert r.dictionary is custom
    r = check(data(tmp_path, [["C", 2021, "140923", "合法用地", "10", "200"]]), pols, as_of=AS_OF)
    assert r.dictionary is custom


def _records():
    # control characters and quotes in a 图斑编号 reach the messages: the streamed JSON must escape them as
    # json.dumps does (DuckDB's to_json writes \u001B in upper case, Python in lower case)
    return [{"图斑编号": "A\x1b\x0b\"\\\u2028中", "监测年度": 2021, "XZQDM": "140923", "pdjg": "违法用地", "耕地面积": "120"},
            {"图斑编号": "B", "监测年度": 2021, "XZQDM": "140923", "pdjg": "违法用地", "耕地面积": "60"},
            {"图斑编号": "C", "监测年度": 2021, "XZQDM": "140923", "pdjg": "合法用地", "耕地面积": "x"}]


def test_streamed_json_is_dumps_of_the_whole_document(policies):
    r = check_records(_records(), policies, as_of=date(2024, 6, 30))
    chunks: list[bytes] = []
    r.write_json(chunks.append)
    text = b"".join(chunks).decode()
    assert text == dumps_indented(r.to_json()) == r.dumps()
    doc = json.loads(text)
    assert doc["findings"][0]["patch"] == "A\x1b\x0b\"\\\u2028中" and "\\u001b" in text and "\\u000b" in text
    # A (120亩 违法): error and warning; B (60亩 违法): warning; C: 耕地面积 "x" is a 数据格式 error
    assert [(f["rule"], f["line"]) for f in doc["findings"]] == [
        ("T-R-big-farmland", 1), ("T-R-illegal-warning", 1), ("T-R-illegal-warning", 2), ("数据格式", 3)]
    assert {f["source"] for f in doc["findings"]} == {"<records>"}
    assert list(doc["summary"]["findings_by_severity"].items()) == [("error", 2), ("warning", 2)]  # first occurrence

