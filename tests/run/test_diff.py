"""weipian diff: policy entries changed, and on data which patches gain or lose findings and tasks."""
import csv
import json
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.data.dictionary import load_dictionary
from engine.paths import policies_dir

from conftest import ACCOUNTABILITY_POLICY, help_output, run_command, write_policy_dir

OLD_THRESHOLD = "{省级: 100亩, 市级: 50亩}"
NEW_THRESHOLD = "{省级: 80亩, 市级: 50亩}"


def write_csv(path: Path, rows: list[dict]) -> Path:
    names = [f.name for f in load_dictionary().fields]
    with path.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=names)
        w.writeheader()
        for r in rows:
            w.writerow(r)
    return path


def suspected(tbbh: str, farmland: str) -> dict:
    # a 重点类 patch judged illegal without approval: 疑似违法 in the 2023 policy
    return {"图斑编号": tbbh, "监测年度": "2023", "行政区代码": "610902", "图斑类型": "新增非农建设类", "判定结果": "违法用地",
            "违法类型": "新增建设用地违法", "耕地面积": farmland, "永久基本农田面积": "0", "生态保护红线面积": "0"}


@pytest.fixture
def copies(tmp_path):
    old = tmp_path / "old"
    new = tmp_path / "new"
    shutil.copytree(policies_dir(), old, ignore=shutil.ignore_patterns("tests"))
    shutil.copytree(old, new)
    header = new / "2023" / "policy.yaml"
    text = header.read_text(encoding="utf-8")
    assert text.count(f"value: {OLD_THRESHOLD}") == 1, "2023 policy no longer has the 省级 100亩 farmland field-check threshold"
    header.write_text(text.replace(f"value: {OLD_THRESHOLD}", f"value: {NEW_THRESHOLD}"), encoding="utf-8")
    # 省级 threshold 100亩 -> 80亩: 79.99 below both; 80 at the new one; 90 and 99.99 between; 100 at the old one
    data = write_csv(tmp_path / "data.csv", [suspected("A", "79.99"), suspected("B", "80"), suspected("C", "90"),
                                             suspected("D", "99.99"), suspected("E", "100")])
    return old, new, data


def run(capsys, *argv):
    return run_command(capsys, "diff", *argv)


def test_threshold_100_to_80_gains_exactly_those_tasks(copies, capsys):
    old, new, data = copies
    code, out = run(capsys, old / "2023", new / "2023", data, "--as-of", "2024-06-30", "--format", "json")
    assert code == 0, out
    doc = json.loads(out)
    changes = doc["policies"][0]["changes"]
    assert changes == [{"kind": "parameters", "id": "实地核查疑似违法耕地面积", "status": "changed", "title": "",
                        "changes": [{"key": "value", "before": {"省级": "100亩", "市级": "50亩"}, "after": {"省级": "80亩", "市级": "50亩"}}]}]
    d = doc["data"]
    assert [(t["patch"], t["rule"], t["level"]) for t in d["tasks"]["gained"]] == [
        ("B", "Y23-T-province-suspected", "省级"), ("C", "Y23-T-province-suspected", "省级"), ("D", "Y23-T-province-suspected", "省级")]
    assert d["tasks"]["lost"] == []
    assert d["findings"] == {"gained": [], "lost": []}
    assert d["counts"]["tasks_gained"] == 3 and d["counts"]["tasks_lost"] == 0


def test_text_report(copies, capsys):
    old, new, data = copies
    code, out = run(capsys, old / "2023", new / "2023", data, "--as-of", "2024-06-30")
    assert code == 0
    assert "~ 修改参数 实地核查疑似违法耕地面积" in out
    assert "value：{省级: 100亩, 市级: 50亩}\n        → {省级: 80亩, 市级: 50亩}" in out
    assert "任务：新增 3 条，减少 0 条" in out
    assert "+ Y23-T-province-suspected 省级实地核查：3 个图斑：B、C、D" in out
    assert "合计：问题 +0/-0，任务 +3/-0" in out


def test_reverse_direction_loses_tasks(copies, capsys):
    old, new, data = copies
    code, out = run(capsys, new / "2023", old / "2023", data, "--as-of", "2024-06-30", "--format", "json")
    d = json.loads(out)["data"]
    assert d["tasks"]["gained"] == [] and [t["patch"] for t in d["tasks"]["lost"]] == ["B", "C", "D"]


def test_rule_added_removed_changed(tmp_path, capsys):
    rule = ("  - id: {id}\n    title: {title}\n    cite: 一\n    severity: error\n    when: {when}\n")
    head = "policy: 2021\nparameters:\n  面积: 5亩\nrules:\n"
    old = write_policy_dir(tmp_path, "old", {"policy.yaml": head + rule.format(id="R-keep", title="保留", when="耕地面积 > 面积")
                                             + rule.format(id="R-gone", title="删除", when="耕地面积 > 1亩")})
    new = write_policy_dir(tmp_path, "new", {"policy.yaml": head + rule.format(id="R-keep", title="保留", when="耕地面积 >= 面积")
                                             + rule.format(id="R-new", title="新增", when="耕地面积 > 2亩")})
    code, out = run(capsys, old, new)
    assert code == 0
    assert "2021年政策：3 处变化" in out
    assert "~ 修改规则 R-keep（保留）\n      when：耕地面积 > 面积\n        → 耕地面积 >= 面积" in out
    assert "- 删除规则 R-gone（删除）" in out and "+ 新增规则 R-new（新增）" in out
    assert "在数据" not in out  # no data given: policy changes only


def git(cwd, *args):
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args], cwd=cwd, check=True,
                   capture_output=True)


def committed_repo(tmp_path, policies: Path) -> Path:
    """A git repository at tmp_path/repo with `policies` committed as policies/; returns the repository."""
    repo = tmp_path / "repo"
    shutil.copytree(policies, repo / "policies")
    git(repo, "init", "-q")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "base")
    return repo


def test_base_revision_keeps_extends_working(copies, tmp_path, capsys):
    old, new, data = copies
    repo = committed_repo(tmp_path, old)
    shutil.copy(new / "2023" / "policy.yaml", repo / "policies" / "2023" / "policy.yaml")  # working-tree change
    code, out = run(capsys, "--base", "HEAD", repo / "policies" / "2023", data, "--as-of", "2024-06-30", "--format", "json")
    assert code == 0, out
    doc = json.loads(out)
    assert [c["id"] for c in doc["policies"][0]["changes"]] == ["实地核查疑似违法耕地面积"]
    assert [t["patch"] for t in doc["data"]["tasks"]["gained"]] == ["B", "C", "D"]


def test_base_bad_revision(copies, tmp_path, capsys):
    old, _, _ = copies
    repo = committed_repo(tmp_path, old)
    code, out = run(capsys, "--base", "no-such-branch", repo / "policies" / "2023")
    assert code == 2 and "无法从 git 版本「no-such-branch」取出" in out


def test_wrong_argument_count(capsys):
    code, out = run(capsys, "policies/2023")
    assert code == 2 and "旧政策目录 新政策目录" in out


def test_help_has_example(capsys):
    assert "示例：" in help_output(capsys, "diff")


def test_assessment_flagged_in(tmp_path, capsys):
    old = write_policy_dir(tmp_path, "old", {"policy.yaml": ACCOUNTABILITY_POLICY})
    new = write_policy_dir(tmp_path, "new", {"policy.yaml": ACCOUNTABILITY_POLICY.replace("15%", "14.99%")})
    row = {"监测年度": "2021", "判定结果": "违法用地"}
    # 610902: 15 / 100 = 15%, flagged under both; 610921: 14.99 / 100 = 14.99%, flagged only at 14.99%
    data = write_csv(tmp_path / "data.csv", [
        {**row, "图斑编号": "A1", "行政区代码": "610902", "耕地面积": "15"},
        {**row, "图斑编号": "A2", "行政区代码": "610902", "耕地面积": "85", "判定结果": "合法用地"},
        {**row, "图斑编号": "B1", "行政区代码": "610921", "耕地面积": "14.99"},
        {**row, "图斑编号": "B2", "行政区代码": "610921", "耕地面积": "85.01", "判定结果": "合法用地"},
    ])
    code, out = run(capsys, old, new, data, "--as-of", "2022-06-30", "--format", "json")
    doc = json.loads(out)
    assert doc["data"]["assessments"] == [{"rule": "T-A-acc", "level": "县级", "region": "610921", "period": "2021",
                                           "flagged": [False, True], "values": {}}]
    assert doc["data"]["counts"]["flagged_in"] == 1 and doc["data"]["counts"]["flagged_out"] == 0
    code, out = run(capsys, old, new, data, "--as-of", "2022-06-30")
    assert "区域评估：1 项变化" in out and "~ T-A-acc 县级 610921 2021：列入 否 → 是" in out
