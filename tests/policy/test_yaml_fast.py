"""The libyaml path of engine.policy.marks gives what PyYAML's pure-Python loader gives: the same values, marks and
styles for the bundled policies, and PyYAML's own verdict (and message) where the two parsers are known to differ."""
from __future__ import annotations

from pathlib import Path

import pytest

import engine.policy.marks as marks
from engine.paths import policies_dir


def _dump(o):
    if isinstance(o, dict):
        return ("D", o.file, o.line, o.col, o.style, [(_dump(k), _dump(v)) for k, v in o.items()],
                [(k, _dump(v)) for k, v in o.key_marks.items()])
    if isinstance(o, list):
        return ("L", o.file, o.line, o.col, o.style, [_dump(v) for v in o])
    if isinstance(o, marks._Marked):
        return (type(o).__name__, o, o.file, o.line, o.col, o.style, o._block_indent)
    return (type(o).__name__, o)


def _load(path: Path, fast: bool, monkeypatch):
    with monkeypatch.context() as m:
        if not fast:
            m.setattr(marks, "CParser", None)
        try:
            return "ok", _dump(marks.load_yaml(str(path)))
        except marks.YamlProblem as exc:
            d = exc.diagnostic
            return "error", (d.code, d.message, d.loc, d.help)


pytestmark = pytest.mark.skipif(marks.CParser is None, reason="PyYAML without libyaml")


@pytest.mark.parametrize("path", sorted(policies_dir().glob("*/*.yaml")), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_bundled_policies_load_the_same(path, monkeypatch):
    slow = _load(path, False, monkeypatch)
    assert slow[0] == "ok"
    assert _load(path, True, monkeypatch) == slow


@pytest.mark.parametrize("text", [
    "a:\n  b: 1\n\tc: 2\n",                       # a tab libyaml accepts, PyYAML refuses
    "v: {甲: 5000亩, 乙: 500? , 丙: 100亩}\n",      # "?" inside a flow mapping: libyaml accepts, PyYAML refuses
    "id\ufeff: Y23-R\nmessage: \"x\"\n",            # a BOM inside a line: libyaml counts columns differently
    "a: [1, 2\n",                                  # an error both refuse: PyYAML's message
    "a: &x [1]\nb: *x\nc: *y\n",                   # an undefined alias
    "a: 中文\nb:\n  - \"引号\"\n  - c: |\n      块\n",  # plain, quoted and block scalars after wide characters
])
def test_known_differences_follow_pyyaml(text, tmp_path, monkeypatch):
    f = tmp_path / "p.yaml"
    f.write_text(text, encoding="utf-8")
    assert _load(f, True, monkeypatch) == _load(f, False, monkeypatch)


def test_mutated_policies_follow_pyyaml(tmp_path, monkeypatch):
    """Seeded random edits of a bundled policy (the kind of fuzzing that found the differences above)."""
    import random

    rng = random.Random(7)
    text = (policies_dir() / "2023" / "rules.yaml").read_text(encoding="utf-8")
    pieces = [": ", "\t", "-", " ", "\n", '"', "'", "|", ">", "&a ", "*a", "[", "]", "{", "}", "#", "\x07", "中", "?",
              "\ufeff", "\r", "\u2028", "{a: 1}", ", ", "!!str ", "---\n"]
    f = tmp_path / "p.yaml"
    for _ in range(150):
        s = text
        for _ in range(rng.randint(1, 3)):
            p = rng.randrange(len(s))
            s = s[:p] + rng.choice(pieces) + s[p + rng.randint(0, 3):]
        f.write_text(s, encoding="utf-8")
        assert _load(f, True, monkeypatch) == _load(f, False, monkeypatch), s
