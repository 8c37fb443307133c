"""Shared fixtures for the engine tests: temporary policy directories and data files written from strings."""
from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings
from rich.cells import cell_len

from engine import load_policies
from engine.cli.main import main
from engine.data.dictionary import load_dictionary

# Hypothesis profiles: a short default run; `--hypothesis-profile=long` (or WEIPIAN_HYPOTHESIS=long) runs 10,000
# cases per property (tests/lang/test_fuzz.py). Tests that set max_examples themselves keep their own count.
settings.register_profile("weipian", max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("long", max_examples=10_000, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.load_profile(os.environ.get("WEIPIAN_HYPOTHESIS", "weipian"))  # --hypothesis-profile loads after this

HEADER = "# yaml-language-server: $schema=../../schemas/policy.schema.json\n"


def dedent(text: str) -> str:
    return textwrap.dedent(text).lstrip("\n")


def write_policy_dir(root: Path, year: int | str, files: dict[str, str], *, header: str | None = None) -> Path:
    """Write policies/<year>/ under `root`: `files` maps file name -> YAML text (dedented).

    Without a `policy.yaml` in `files`, a minimal one (`policy: <year>`) is written, plus `header` if given
    (extra top-level lines for policy.yaml such as `extends: ../2021`). A name may have a folder
    (`tests/cases.yaml`); the folder is created."""
    d = Path(root) / str(year)
    d.mkdir(parents=True, exist_ok=True)
    if "policy.yaml" not in files:
        body = f"policy: {year}\ntitle: 测试政策{year}\nsource: 测试\n" + (dedent(header) if header else "")
        (d / "policy.yaml").write_text(body, encoding="utf-8")
    for name, text in files.items():
        (d / name).parent.mkdir(parents=True, exist_ok=True)
        (d / name).write_text(dedent(text), encoding="utf-8")
    return d


def write_csv(path: Path, header: list[str], rows: list[list]) -> Path:
    """A UTF-8 CSV with the given header; None cells are written empty."""
    lines = [",".join(header)]
    for r in rows:
        lines.append(",".join("" if v is None else str(v) for v in r))
    Path(path).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return Path(path)


def run_cli(capsys, *args) -> tuple[int, str, str]:
    """Run `weipian *args` in-process (arguments str()-ed): (exit code, stdout, stderr)."""
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, out.out, out.err


def run_command(capsys, *args) -> tuple[int, str]:
    """run_cli with stdout and stderr joined: (exit code, everything the command printed)."""
    code, out, err = run_cli(capsys, *args)
    return code, out + err


def help_output(capsys, command: str) -> str:
    """What `weipian <command> --help` prints (argparse exits after printing)."""
    with pytest.raises(SystemExit):
        main([command, "--help"])
    return capsys.readouterr().out


def underlined(d) -> str:
    """The text that render() puts carets under (mapped back through terminal cell widths)."""
    lines = d.render().splitlines()
    i = next(i for i, ln in enumerate(lines) if ln.startswith(f"{d.loc.line} | "))
    source = lines[i][len(f"{d.loc.line} | "):]
    carets = lines[i + 1][len(" " * len(str(d.loc.line)) + " | "):]
    first, last = carets.index("^"), carets.rindex("^") + 1
    out, pos = [], 0
    for ch in source:
        w = cell_len(ch)
        if pos >= first and pos + w <= last:
            out.append(ch)
        pos += w
    return "".join(out)


def assert_at(d, file: Path, line: int, col: int, text: str | None = None):
    assert Path(d.loc.file) == file, d.render()
    assert (d.loc.line, d.loc.col) == (line, col), d.render()
    rendered = d.render()
    assert f"{file}:{line}:{col}" in rendered
    if text is not None:
        assert underlined(d) == text, rendered


# The error rule 耕地面积 >= 大面积阈值, as an item of a `rules:` list (the policy defines 大面积阈值).
BIG_FARMLAND_RULE = """\
  - id: T-R-big-farmland
    title: 耕地面积达到阈值
    cite: 测试条款 一
    severity: error
    when: 耕地面积 >= 大面积阈值
    message: "{图斑编号}: 耕地面积 {耕地面积} 达到 {大面积阈值}"
"""

# A small threshold policy, independent of the live policies/ tree.
THRESHOLD_RULES = """
parameters:
  大面积阈值: {value: 100亩, cite: 测试条款 一, note: 测试用阈值}
rules:
""" + BIG_FARMLAND_RULE + """\
  - id: T-R-illegal-info
    title: 违法用地提示
    cite: 测试条款 二
    severity: info
    when: 判定结果 == "违法用地"
    message: "{图斑编号}: 违法用地"
"""


# A whole policy.yaml with one county-level accountability assessment: flagged when the illegal share of
# farmland reaches 15%.
ACCOUNTABILITY_POLICY = """\
policy: 2021
title: 测试政策
parameters:
  问责比例: {value: 15%, cite: 六}
assessments:
  - id: T-A-acc
    kind: 问责评估
    title: 违法占用耕地问责
    cite: 六
    levels: [县级]
    period: 年度
    numerator: sum(耕地面积 where 判定结果 == "违法用地")
    denominator: sum(耕地面积)
    flag: ratio >= 问责比例
"""


@pytest.fixture
def policy_root(tmp_path) -> Path:
    """An empty directory to write policy year directories into."""
    root = tmp_path / "policies"
    root.mkdir()
    return root


@pytest.fixture
def threshold_policies(policy_root):
    """{2021: Policy} with the rule 耕地面积 >= 100亩 (and an info rule)."""
    write_policy_dir(policy_root, 2021, {"rules.yaml": THRESHOLD_RULES})
    return load_policies(policy_root)


@pytest.fixture(scope="session")
def dictionary():
    return load_dictionary()


# ---- the user cache (engine/cache.py): tests point it at a folder of their own

@pytest.fixture
def cache_dir(tmp_path, monkeypatch) -> Path:
    """An empty cache directory of this test's own (WEIPIAN_CACHE_DIR), caching on, run from the repository."""
    from engine import cache

    d = tmp_path / "cache"
    monkeypatch.setenv(cache.CACHE_DIR_ENV, str(d))
    monkeypatch.delenv(cache.NO_CACHE_ENV, raising=False)
    monkeypatch.chdir(Path(__file__).resolve().parent.parent)
    return d


def cache_file(d: Path, prefix: str) -> Path:
    """The one cache file `prefix`-*.json in `d`."""
    (f,) = d.glob(f"{prefix}-*.json")
    return f


def read_cache_file(f: Path):
    """A cache file's document (the line after its sha256 line)."""
    import json

    return json.loads(f.read_bytes().partition(b"\n")[2])


def rewrite_cache_file(f: Path, doc) -> None:
    """Replace a cache file's document, with a valid sha256 line (as a hostile writer would)."""
    import hashlib
    import json

    body = json.dumps(doc, ensure_ascii=False).encode("utf-8")
    f.write_bytes(hashlib.sha256(body).hexdigest().encode() + b"\n" + body)
    os.chmod(f, 0o600)
