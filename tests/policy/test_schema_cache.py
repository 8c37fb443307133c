"""Policy file contents known to pass the schema (engine/policy/schema_cache.py): a cached run gives the same bytes as
an uncached one (text and JSON) without validating; a changed file, a file with schema errors and any corrupt or
hostile cache entry are validated as before, and report the same E006 errors."""
from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from conftest import cache_file, read_cache_file, rewrite_cache_file, run_cli, write_policy_dir
from engine import cache
from engine.limits import LIMITS
from engine.policy import loader
from engine.policy.schema_cache import SchemaPasses, schema_bytes

ROOT = Path(__file__).resolve().parents[2]
CHECK = ["check", "datasets/sample_2023.csv", "--as-of", "2024-06-30"]


def _no_validation(monkeypatch):
    def refuse():
        raise AssertionError("the schema validator ran")
    monkeypatch.setattr(loader, "_validator", refuse)


def _digests(root: Path) -> list[str]:
    # what load_yaml reads: the text with universal newlines, as UTF-8
    return [hashlib.sha256(p.read_text(encoding="utf-8").encode("utf-8")).hexdigest() for p in sorted(root.rglob("*.yaml"))]


@pytest.mark.parametrize("fmt", [[], ["--format", "json"]])
def test_a_cached_run_is_byte_identical_and_validates_nothing(cache_dir, capsys, monkeypatch, fmt):
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    uncached = run_cli(capsys, *CHECK, *fmt)
    assert not cache_dir.exists()
    monkeypatch.delenv(cache.NO_CACHE_ENV)
    assert run_cli(capsys, *CHECK, *fmt) == uncached  # validates, and keeps the passes
    f = cache_file(cache_dir, "schema")
    assert oct(f.stat().st_mode & 0o777) == "0o600"
    bundled = [p for d in ("policies/2021", "policies/2023") for p in (ROOT / d).glob("*.yaml")]
    assert len(read_cache_file(f)["passed"]) == len(bundled)
    _no_validation(monkeypatch)
    assert run_cli(capsys, *CHECK, *fmt) == uncached


RULES = """
    rules:
      - id: T-R-a
        title: 标题
        cite: 一
        severity: error
        when: 耕地面积 >= 1亩
        message: "{图斑编号}"
    """


def test_a_changed_file_is_validated_and_reports_the_same_errors(cache_dir, capsys, monkeypatch, tmp_path):
    root = tmp_path / "policies"
    d = write_policy_dir(root, 2021, {"rules.yaml": RULES})
    assert run_cli(capsys, "lint", root)[0] == 0
    assert sorted(read_cache_file(cache_file(cache_dir, "schema"))["passed"]) == sorted(_digests(root))
    (d / "rules.yaml").write_text((d / "rules.yaml").read_text(encoding="utf-8").replace("severity: error", "severity: fatal"),
                                  encoding="utf-8")
    cached = run_cli(capsys, "lint", root)
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    assert cached == run_cli(capsys, "lint", root)
    assert cached[0] != 0 and "E006" in cached[1] + cached[2]
    monkeypatch.delenv(cache.NO_CACHE_ENV)
    assert run_cli(capsys, "lint", root) == cached  # a failing text is never kept: reported again
    passed = read_cache_file(cache_file(cache_dir, "schema"))["passed"]
    assert _digests(root)[1] not in passed and _digests(root)[0] in passed  # rules.yaml (changed) out, policy.yaml in


HOSTILE = [
    {"format": 1, "key": "x", "passed": []},  # another key: not read as ours
    {"format": 1, "key": None, "passed": "all"},
    {"format": 2},
    [],
    "passed",
]


@pytest.mark.parametrize("doc", HOSTILE)
def test_a_hostile_or_foreign_cache_file_is_ignored(cache_dir, capsys, monkeypatch, tmp_path, doc):
    root = tmp_path / "policies"
    d = write_policy_dir(root, 2021, {"rules.yaml": RULES.replace("severity: error", "severity: fatal")})
    expected = run_cli(capsys, "lint", root)
    f = cache_file(cache_dir, "schema")
    rewrite_cache_file(f, doc)
    assert run_cli(capsys, "lint", root) == expected
    passes = SchemaPasses(schema_bytes())
    rewrite_cache_file(f, {"format": 1, "key": passes.key, "passed": ["../../etc", 7, None, "A" * 64, _digests(root)[1][:63]]})
    assert run_cli(capsys, "lint", root) == expected and "E006" in expected[1] + expected[2]
    assert (d / "rules.yaml").exists()


def test_the_digest_count_limit_at_and_just_over(cache_dir, monkeypatch):
    monkeypatch.setattr(LIMITS, "cache_trees", 3)
    digests = [hashlib.sha256(str(i).encode()).hexdigest() for i in range(4)]
    p = SchemaPasses(schema_bytes())
    for x in digests[:3]:
        p.add(x)
    p.save()
    assert all(SchemaPasses(schema_bytes()).passed(x) for x in digests[:3])  # at the limit: all kept
    p = SchemaPasses(schema_bytes())
    p.add(digests[3])  # one more: the oldest goes
    p.save()
    kept = SchemaPasses(schema_bytes())
    assert [kept.passed(x) for x in digests] == [False, True, True, True]


def test_another_schema_is_another_cache(cache_dir):
    p = SchemaPasses(schema_bytes())
    p.add("a" * 64)
    p.save()
    assert SchemaPasses(schema_bytes()).passed("a" * 64)
    assert not SchemaPasses(schema_bytes() + b" ").passed("a" * 64)
