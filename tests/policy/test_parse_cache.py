"""The parse tree cache (engine/cache.py, engine/policy/parse_cache.py): a cached run gives byte-identical output
without building the parser; a missing, corrupt, hostile, foreign or oversized cache file is ignored and never crashes;
WEIPIAN_NO_CACHE turns it off; the cache stays within its limits."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from conftest import cache_file, read_cache_file, rewrite_cache_file, run_cli
from engine import cache
from engine.lang import parser
from engine.lang.parser import ParseFailure, ast_from_data, parse, tree_data
from engine.limits import LIMITS
from engine.policy.parse_cache import FileTreeStore

ROOT = Path(__file__).resolve().parents[2]
CHECK = ["check", "datasets/sample_2023.csv", "--as-of", "2024-06-30", "--format", "json"]
SQL = ["sql", "policies/2023"]  # every expression of 2023 and 2021, compiled: cheaper than a check


def _no_parser(monkeypatch):
    """From here on, parsing an expression with lark fails the test."""
    def refuse(*_a, **_k):
        raise AssertionError("the parser ran")
    monkeypatch.setattr(parser, "_tree", refuse)


def test_a_cached_run_is_byte_identical_and_builds_no_parser(cache_dir, capsys, monkeypatch):
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    code, uncached, _ = run_cli(capsys, *CHECK)
    sql = run_cli(capsys, "sql", "policies/2023")[1]
    assert not cache_dir.exists()  # turned off: nothing written
    monkeypatch.delenv(cache.NO_CACHE_ENV)
    assert run_cli(capsys, *CHECK)[1] == uncached  # fills the cache
    assert oct(cache_file(cache_dir, "trees").stat().st_mode & 0o777) == "0o600"
    _no_parser(monkeypatch)
    assert run_cli(capsys, *CHECK)[:2] == (code, uncached)
    assert run_cli(capsys, "sql", "policies/2023")[1] == sql


def test_policy_checks_still_run_on_a_cached_load(cache_dir, capsys, monkeypatch, tmp_path):
    """An unknown name (E040) is found with every tree taken from the cache."""
    from conftest import write_policy_dir
    root = tmp_path / "policies"
    files = {"rules.yaml": """
        rules:
          - id: T-R-a
            title: 标题
            cite: 一
            severity: error
            when: 耕地面识 >= 1亩
            message: "{图斑编号}"
        """}
    write_policy_dir(root, 2021, files)
    first = run_cli(capsys, "lint", root)
    _no_parser(monkeypatch)
    second = run_cli(capsys, "lint", root)
    assert second == first and "E040" in first[1] + first[2]


HOSTILE = [
    b"",  # empty
    b"not a digest\n{}",  # no digest
    b"0" * 64 + b"\n{}",  # wrong digest
]


@pytest.mark.parametrize("raw", HOSTILE)
def test_a_corrupt_cache_file_is_ignored(cache_dir, capsys, monkeypatch, raw):
    code, expected, _ = run_cli(capsys, *SQL)
    f = cache_file(cache_dir, "trees")
    good = f.read_bytes()
    f.write_bytes(raw)
    assert run_cli(capsys, *SQL)[:2] == (code, expected)
    assert f.read_bytes() == good  # parsed afresh and written back
    f.write_bytes(good[: len(good) // 2])  # cut short
    assert run_cli(capsys, *SQL)[:2] == (code, expected)


BAD_TREES = [
    None, 1, "x", [], {"r": "os.system", "s": 0, "e": 1, "c": []},  # not a tree, unknown rule
    {"r": "name", "s": 0, "e": 10 ** 9, "c": [{"t": "NAME", "s": 0, "e": 1}]},  # position outside the text
    {"r": "name", "s": 3, "e": 1, "c": [{"t": "NAME", "s": 0, "e": 1}]},  # span backwards
    {"r": "binop", "s": 0, "e": 1, "c": []},  # wrong arity
    {"r": "quantity", "s": 0, "e": 1, "c": [{"t": "QUANTITY", "s": 0, "e": 1}]},  # not a quantity
    {"r": "date", "s": 0, "e": 1, "c": [{"t": "DATE", "s": 0, "e": 1}]},  # not a date
    {"r": "not_", "s": 0, "e": 1, "c": [{"t": "NAME", "s": True, "e": 1}]},  # a bool for a position
]


@pytest.mark.parametrize("bad", BAD_TREES)
def test_a_hostile_tree_in_a_valid_file_is_parsed_afresh(cache_dir, capsys, bad):
    code, expected, _ = run_cli(capsys, *SQL)
    f = cache_file(cache_dir, "trees")
    doc = read_cache_file(f)
    doc["trees"] = {text: bad for text in doc["trees"]}
    rewrite_cache_file(f, doc)
    assert run_cli(capsys, *SQL)[:2] == (code, expected)


def test_a_deeply_nested_tree_is_refused_without_recursion_error(cache_dir, capsys):
    code, expected, _ = run_cli(capsys, *SQL)
    f = cache_file(cache_dir, "trees")
    doc = read_cache_file(f)
    deep: dict = {"t": "NAME", "s": 0, "e": 1}
    for _ in range(LIMITS.expression_depth * 3):
        deep = {"r": "neg", "s": 0, "e": 1, "c": [deep]}
    doc["trees"] = {text: deep for text in doc["trees"]}
    rewrite_cache_file(f, doc)
    assert run_cli(capsys, *SQL)[:2] == (code, expected)


def test_a_cache_file_others_may_write_or_a_symlink_is_not_read(cache_dir, capsys, monkeypatch, tmp_path):
    run_cli(capsys, *SQL)
    f = cache_file(cache_dir, "trees")
    os.chmod(f, 0o666)
    assert cache.read_json(f.name) is None
    os.chmod(f, 0o600)
    assert cache.read_json(f.name) is not None
    os.chmod(cache_dir, 0o777)
    assert cache.read_json(f.name) is None
    os.chmod(cache_dir, 0o700)
    target = tmp_path / "elsewhere.json"
    target.write_bytes(f.read_bytes())
    os.chmod(target, 0o600)
    f.unlink()
    f.symlink_to(target)
    assert cache.read_json(f.name) is None


def test_the_file_size_limit_at_and_just_over(cache_dir, monkeypatch):
    cache.write_json("x.json", {"k": "v"})
    size = (cache_dir / "x.json").stat().st_size  # 64 hex digits + newline + {"k":"v"} = 65 + 9
    assert size == 74
    monkeypatch.setattr(LIMITS, "cache_file_bytes", 74)
    assert cache.read_json("x.json") == {"k": "v"}
    monkeypatch.setattr(LIMITS, "cache_file_bytes", 73)
    assert cache.read_json("x.json") is None
    cache.write_json("y.json", {"k": "v"})  # would be 74 bytes: not written
    assert not (cache_dir / "y.json").exists()


def test_the_tree_count_limit_keeps_only_the_trees_of_the_latest_load(cache_dir, monkeypatch, dictionary):
    units = dictionary.units
    monkeypatch.setattr(LIMITS, "cache_trees", 3)
    s = FileTreeStore(units)
    for text in ["a", "b", "c"]:
        parse(text, units, s)
    s.save()
    assert sorted(read_cache_file(cache_dir / s.name)["trees"]) == ["a", "b", "c"]  # at the limit: all kept
    s = FileTreeStore(units)
    parse("a", units, s)
    parse("d", units, s)  # a fourth: over the limit, only this load's two are kept
    s.save()
    assert sorted(read_cache_file(cache_dir / s.name)["trees"]) == ["a", "d"]


def test_no_home_and_no_cache_dir_means_no_cache(monkeypatch):
    monkeypatch.delenv(cache.CACHE_DIR_ENV, raising=False)
    monkeypatch.delenv(cache.NO_CACHE_ENV, raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", "/somewhere")
    assert cache.cache_dir() == Path("/somewhere/weipian")
    monkeypatch.setenv(cache.NO_CACHE_ENV, "1")
    assert cache.cache_dir() is None
    cache.write_json("x.json", {})  # turned off: nothing happens
    assert cache.read_json("x.json") is None


@pytest.mark.parametrize("text", [
    "耕地面积 >= 100亩 and not (判定结果 == \"合法用地\" or 审批文号 is null)",
    "if 图斑类型 in [\"新增非农建设类\", \"年度内持续变化类\"] then add_months(下发日期, 3) else month_end(下发日期)",
    "sum(耕地面积 where 判定结果 == \"违法用地\") / sum(耕地面积) >= 15%",
    "count() > 0", "-耕地面积 < 2023-01-31", "x[省级] != 6.67公顷", "f()", "a not in []",
])
def test_tree_round_trip(text, dictionary):
    """A kept tree (through JSON) gives the very AST the parser gives, without lark."""
    units = tuple(dictionary.units.longest_first())
    tree = parser._tree(text, units)
    data = json.loads(json.dumps(tree_data(tree)))
    assert repr(ast_from_data(data, text, units)) == repr(parse(text, dictionary.units))


def test_a_kept_tree_over_the_limits_goes_to_the_parser(dictionary, monkeypatch):
    """A tree at LIMITS.expression_nodes nodes is used; one node more and the parser decides (and says E071)."""
    units = tuple(dictionary.units.longest_first())
    text = "a and b"  # and_(name(a), name(b)): 3 nodes, depth 2
    data = tree_data(parser._tree(text, units))
    monkeypatch.setattr(LIMITS, "expression_nodes", 3)
    assert ast_from_data(data, text, units).op == "and"
    monkeypatch.setattr(LIMITS, "expression_nodes", 2)
    with pytest.raises(ValueError):
        ast_from_data(data, text, units)
    with pytest.raises(ParseFailure) as exc:
        parse(text, dictionary.units, _Kept(data))
    assert exc.value.code == "E071"
    monkeypatch.setattr(LIMITS, "expression_nodes", 3)
    monkeypatch.setattr(LIMITS, "expression_depth", 1)
    with pytest.raises(ValueError):
        ast_from_data(data, text, units)


class _Kept:
    def __init__(self, data):
        self.data = data

    def get(self, text):
        return self.data

    def put(self, text, data):
        pass


def test_a_tree_failing_in_the_builders_falls_back_to_the_parser(dictionary):
    """A kept tree that raises (here: a date that does not exist) is not the answer: the parser decides."""
    s = _Kept({"r": "date", "s": 0, "e": 10, "c": [{"t": "DATE", "s": 0, "e": 10}]})
    with pytest.raises(ParseFailure, match="不存在"):
        parse("2023-02-30", dictionary.units, s)
    assert parse("2023-02-28 ", dictionary.units, s).value.isoformat() == "2023-02-28"
