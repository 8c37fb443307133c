"""Policy tests: YAML cases beside each policy (policies/<year>/tests/*.yaml), run against that policy.

    as_of: 2024-06-30            # evaluation date for deadlines (optional)
    defaults: {行政区代码: "610902"} # fields every patch gets unless it sets them
    cases:
      - name: 临时用地无批复文号
        patches:
          - {图斑编号: T1, 判定结果: 其他用地, 其他用地类型: 临时用地}
        expect:
          T1: {fires: [Y21-R-temporary-approval], not_fires: [Y21-R-other]}
        assessments:               # expected region assessment values (optional)
          - {rule: Y23-A-accountability, level: 县级, region: "610902", period: "2023",
             values: {numerator: 12.5}, flagged: true}
        region_facts:              # the region facts table of the case (optional; 年度 defaults to the policy's year)
          - {行政区代码: "610902", 矿产违法连续年数: 3}

A case without `region_facts:` has no facts table, as a run without --region-facts: the assessments that read a
fact give 未评估, asserted with `flagged: null`.

Patches only carry the fields that matter; the rest are empty and 监测年度 is the policy's year.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from engine.errors import Diagnostic, Loc, PolicyError
from engine.policy.loader import HEADER_FILE
from engine.policy.model import Policy
from engine.policy.policyset import load_policy, policy_dirs
from engine.policy.marks import YamlProblem, load_yaml
from engine.data.normalize import FORMAT_RULE
from engine.run.rows import AssessmentRow


DEFAULT_AS_OF = "2099-12-31"  # cases without as_of: every deadline has passed


@dataclass
class Mismatch:
    """An expectation about one patch and one rule that did not hold."""

    patch: str
    rule: str
    expected: bool  # True: expected to fire
    row: dict  # the patch as the test gave it (with defaults)
    when: str | None  # the rule's condition
    message: str = ""  # the line in CaseResult.failures
    explain: list[str] = field(default_factory=list)  # the condition with the patch's values (engine.run.explain)


@dataclass
class CaseResult:
    file: str
    line: int | None
    name: str
    failures: list[str] = field(default_factory=list)
    mismatches: list[Mismatch] = field(default_factory=list)
    # what the case asserts, by item id: True = expected to fire (flagged, deducted), False = expected not to
    asserted: dict[str, set[bool]] = field(default_factory=dict)

    def assert_side(self, rid: str, fires: bool) -> None:
        self.asserted.setdefault(rid, set()).add(fires)

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class TestCase:
    file: str
    line: int | None
    name: str
    patches: list[dict]
    expect: dict
    assessments: list
    as_of: str | None
    region_facts: list[dict] | None = None


def policy_dir_of(test_file: Path) -> Path | None:
    """policies/2023/tests/x.yaml -> policies/2023 (the nearest ancestor with a policy.yaml)."""
    for parent in Path(os.path.abspath(test_file)).parents:  # lexical: a symlinked test file stays in its folder
        if (parent / HEADER_FILE).exists():
            return parent
    return None


def test_files(root: Path) -> list[Path]:
    root = Path(root)
    if root.is_file():
        return [root]
    return sorted(p for p in root.rglob("tests/*.yaml") if policy_dir_of(p) is not None)


def load_cases(path: Path, policy: Policy) -> list[TestCase]:
    from engine.policy.loader import boundary_of, inside

    if not inside(path, boundary_of(policy.dir)):  # a tests/*.yaml symlink pointing out of the policy root
        raise PolicyError([Diagnostic("E019", f"测试文件 {Path(path).name}（符号链接）在政策根目录之外，未读取", Loc(str(path)))])
    try:
        doc = load_yaml(str(path))
    except YamlProblem as exc:
        raise PolicyError([exc.diagnostic]) from None
    if not isinstance(doc, dict) or not isinstance(doc.get("cases"), list):
        raise PolicyError([Diagnostic("E090", "测试文件应包含 cases: 列表", Loc(str(path), 1, 1))])
    defaults = dict(doc.get("defaults") or {})
    as_of = doc.get("as_of")
    out = []
    for i, case in enumerate(doc["cases"]):
        name = str(case.get("name") or f"case {i + 1}")
        patches = []
        for j, p in enumerate(case.get("patches") or []):
            row = {"监测年度": policy.year, **defaults, **p}
            row.setdefault("图斑编号", f"P{j + 1}")
            patches.append(row)
        facts = case.get("region_facts")
        if facts is not None:
            facts = [{"年度": policy.year, **f} for f in facts]
        out.append(TestCase(str(path), getattr(case, "line", None), name, patches, dict(case.get("expect") or {}),
                            list(case.get("assessments") or []), str(case.get("as_of") or as_of or "") or None, facts))
    return out


def run_case(case: TestCase, policy: Policy) -> CaseResult:
    from engine.run.runner import check_records

    res = CaseResult(case.file, case.line, case.name)
    known = {c.id for c in policy.checks} | {x.id for x in policy.assessment_entries()}
    from engine.errors import InputError

    try:
        result = check_records(case.patches, {policy.year: policy}, as_of=case.as_of or DEFAULT_AS_OF,
                               assess=bool(case.assessments), region_facts=case.region_facts)
    except InputError as exc:  # the case's region facts are unusable: a failure of the case, located by its name
        res.failures.append(f"测试数据有误：{exc}")
        return res
    bad = [f for f in result.findings if f.rule == FORMAT_RULE]
    for f in bad:
        res.failures.append(f"测试数据有误：{f.message}")
    fired: dict[str, set[str]] = {}
    for f in [*result.findings, *result.tasks]:
        fired.setdefault(f.rule, set()).add(str(f.patch))
    rows = {str(r["图斑编号"]): r for r in case.patches}
    whens = {c.id: str(c.when_text) for c in policy.checks}
    for patch, exp in case.expect.items():
        exp = exp or {}
        for want_fire, key in ((True, "fires"), (False, "not_fires")):
            for rid in exp.get(key) or []:
                if rid not in known:
                    res.failures.append(f"未知规则编号「{rid}」")
                    continue
                res.assert_side(rid, want_fire)
                if (str(patch) in fired.get(rid, set())) != want_fire:
                    msg = f"图斑 {patch}：期望{'触发' if want_fire else '不触发'} {rid}，实际{'未触发' if want_fire else '触发了'}"
                    res.failures.append(msg)
                    m = Mismatch(str(patch), rid, want_fire, rows.get(str(patch), {}), whens.get(rid), msg)
                    m.explain = _explain(policy, rid, m.row, case.as_of or DEFAULT_AS_OF) if rid in whens else []
                    res.mismatches.append(m)
    for want in case.assessments:
        res.failures += _compare_assessment(want, result.assessments)
        _record_assertions(res, want, result.assessments)
    return res


def _record_assertions(res: CaseResult, want: dict, got: list[AssessmentRow]) -> None:
    """An assessment expectation asserts its rule's side when it states `flagged`; stating values asserts, for each
    deduction of that result, whether it removed some patch (the values could not match otherwise)."""
    a = _find_assessment(want, got)
    if a is None:
        return
    if "flagged" in want and want["flagged"] is not None:  # flagged: null (未评估) asserts neither side
        res.assert_side(str(a.rule), bool(want["flagged"]))
    if want.get("values"):
        for did, v in (a.values.get("deductions") or {}).items():
            res.assert_side(str(did), bool(v.get("patches")))


def _explain(policy: Policy, rule: str, row: dict, as_of: str) -> list[str]:
    """The rule's condition with this patch's values substituted, clause by clause (as `weipian explain` shows it)."""
    from engine.run.explain import explain_row
    from engine.run.runner import as_date, prepare_records

    if not row:
        return []
    con = prepare_records([row], {policy.year: policy}).con
    rid, errors = con.execute("SELECT _rid, _errors FROM patches").fetchone()
    if errors:
        return []
    check = next(c for c in policy.checks if c.id == rule)
    return ["    " * d + text for d, text in explain_row(con, policy, rid, as_date(as_of), checks=[check])[0].lines[1:]]


def run_tests(root: Path):
    """Run every test file under `root`; return [(policy, [(file, [CaseResult])])] grouped by policy directory."""
    files = test_files(root)
    groups: dict[Path, list[Path]] = {}
    for f in files:
        groups.setdefault(policy_dir_of(f), []).append(f)
    if Path(root).is_dir():  # every policy year found is listed: one without tests shows at 0% coverage
        for d in policy_dirs(Path(root)):
            groups.setdefault(d.resolve(), [])
    out = []
    for pdir, fs in sorted(groups.items()):
        policy = load_policy(pdir)
        out.append((policy, [(f, [run_case(case, policy) for case in load_cases(f, policy)]) for f in fs]))
    return out


def describe_failures(res: CaseResult, indent: str = "  ") -> list[str]:
    """The failures of a case for people: expected vs got, the patch, and the rule's condition."""
    detailed = {m.message for m in res.mismatches}
    lines = [indent + f for f in res.failures if f not in detailed]
    for m in res.mismatches:
        lines.append(f"{indent}图斑 {m.patch}，规则 {m.rule}：期望 {'触发' if m.expected else '不触发'}，实际 {'未触发' if m.expected else '触发'}")
        if m.row:
            lines.append(f"{indent}  图斑：" + "，".join(f"{k}={v}" for k, v in m.row.items()))
        if m.when:
            lines.append(f"{indent}  条件：{m.when}")
        lines += [f"{indent}  {text}" for text in m.explain]
    return lines


def _find_assessment(want: dict, got: list[AssessmentRow]) -> AssessmentRow | None:
    keys = [k for k in ("rule", "kind", "level", "region", "period") if k in want]
    for a in got:
        if all(str(getattr(a, k)) == str(want[k]) for k in keys):
            return a
    return None


def _compare_assessment(want: dict, got: list[AssessmentRow]) -> list[str]:
    from decimal import Decimal

    label = "、".join(f"{k}={want[k]}" for k in ("rule", "level", "region", "period") if k in want)
    a = _find_assessment(want, got)
    if a is None:
        return [f"没有找到评估结果（{label}）"]
    failures = []
    for k, v in (want.get("values") or {}).items():
        actual = a.values.get(k)
        try:
            same = actual is not None and abs(Decimal(str(actual)) - Decimal(str(v))) <= Decimal("0.0001")
        except Exception:
            same = str(actual) == str(v)
        if not same:
            failures.append(f"评估（{label}）{k}：期望 {v}，实际 {actual}")
    expected = None if want.get("flagged") is None else bool(want["flagged"])  # null: not evaluated (未评估)
    if "flagged" in want and expected != (None if a.flagged is None else bool(a.flagged)):
        failures.append(f"评估（{label}）flagged：期望 {_flag_word(want['flagged'])}，实际 {_flag_word(a.flagged)}")
    return failures


def _flag_word(flag) -> str:
    return "未评估（null）" if flag is None else str(flag)
