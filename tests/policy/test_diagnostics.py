"""Every policy diagnostic code, one fixture file each (tests/policy/diagnostics/<code>.yaml).

A case writes the policy year directories it lists, loads them, and expects exactly one error: its code, its
message (exact, or containing each of `message_has`), its place (file relative to the policies root, line,
column), the source text its carets underline, and fragments of its help (`{dir}` stands for the year's
directory). Positions in the fixtures are counted by hand from the YAML text beside them. A warning's fixture
(W<code>.yaml) is read the same way: the policies load, with exactly one warning of that code.
"""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from engine import PolicyError, load_policies
from engine.policy.policyset import unique_diagnostics

from conftest import assert_at, write_policy_dir


FIXTURES = Path(__file__).with_name("diagnostics")
CASES = [(f.stem, case) for f in sorted(FIXTURES.glob("E*.yaml")) for case in yaml.safe_load(f.read_text(encoding="utf-8"))]
WARNING_CASES = [(f.stem, case) for f in sorted(FIXTURES.glob("W*.yaml")) for case in yaml.safe_load(f.read_text(encoding="utf-8"))]


@pytest.mark.parametrize(("code", "case"), CASES, ids=[f"{code}-{case['case']}" for code, case in CASES])
def test_diagnostic(code, case, policy_root):
    dirs = _write(case, policy_root)
    with pytest.raises(PolicyError) as info:
        load_policies(policy_root)
    errors = [d for d in info.value.diagnostics if d.severity == "error"]
    assert len(errors) == 1, [d.render() for d in errors]
    _expect(errors[0], code, case["expect"], policy_root, dirs)


@pytest.mark.parametrize(("code", "case"), WARNING_CASES, ids=[f"{code}-{case['case']}" for code, case in WARNING_CASES])
def test_warning(code, case, policy_root):
    """A warning fixture (W*.yaml): the policies load, and the year directories give exactly one warning of the
    fixture's code (a parent's warning is reported once, as lint does)."""
    dirs = _write(case, policy_root)
    policies = load_policies(policy_root)
    found = unique_diagnostics([w for p in policies.values() for w in p.warnings if w.code == code])
    assert len(found) == 1, [d.render() for d in found]
    assert found[0].severity == "warning"
    _expect(found[0], code, case["expect"], policy_root, dirs)


def _write(case, policy_root) -> dict:
    return {year: write_policy_dir(policy_root, year, spec.get("files", {}), header=spec.get("header"))
            for year, spec in case["policies"].items()}


def _expect(e, code, want, policy_root, dirs):
    assert e.code == want["code"] == code, e.render()
    if "message" in want:
        assert e.message == want["message"]
    for part in want.get("message_has", []):
        assert part in e.message, e.render()
    if "file" in want:
        assert_at(e, policy_root / want["file"], want["line"], want["col"], want.get("underlined"))
    year_dir = dirs[max(dirs)]
    for part in want.get("help_has", []):
        assert part.format(dir=year_dir) in e.help, e.render()
