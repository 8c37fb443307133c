"""Issue 11: a policy change cannot reach outside its folder; no input crashes the engine."""
from __future__ import annotations

import pytest

from engine.cli import main as cli_main
from conftest import help_output, run_cli

SAMPLE = "datasets/sample_2023.csv"


# --- a crash is not a result --------------------------------------------------------------------------------

@pytest.mark.parametrize("exc", [RuntimeError("boom /etc/passwd"), RecursionError(), MemoryError()])
def test_unexpected_exception_exits_3_without_traceback(capsys, monkeypatch, exc):
    import engine.run.runner as runner

    def crash(*a, **k):
        raise exc

    monkeypatch.setattr(runner, "check", crash)
    code, out, err = run_cli(capsys, "check", SAMPLE, "--as-of", "2024-06-30")
    assert code == 3
    assert "内部错误" in err and "--debug" in err
    assert "Traceback" not in err + out and "/etc/passwd" not in err + out


def test_debug_shows_the_traceback(capsys, monkeypatch):
    import engine.run.runner as runner

    monkeypatch.setattr(runner, "check", lambda *a, **k: 1 / 0)
    code, out, err = run_cli(capsys, "check", SAMPLE, "--debug")
    assert code == 3
    assert "Traceback" in err and "ZeroDivisionError" in err and "内部错误" in err


def test_exit_codes_in_help(capsys):
    with pytest.raises(SystemExit):
        cli_main.main(["--help"])
    text = capsys.readouterr().out
    for word in ("0", "1", "2", "3", "内部错误"):
        assert word in text
    assert "3 内部错误" in help_output(capsys, "check")


# --- diff --base takes a revision, never an option ----------------------------------------------------------

def test_diff_base_is_never_an_option(tmp_path, capsys):
    import shutil
    import subprocess

    repo = tmp_path / "repo"
    shutil.copytree("policies", repo / "policies")
    run = lambda *a: subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *a],  # noqa: E731
                                    cwd=repo, check=True, capture_output=True)
    run("init", "-q")
    run("add", ".")
    run("commit", "-q", "-m", "base")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    for base in (f"--output={victim}", "--remote=/nonexistent", "-o"):
        code, out, err = run_cli(capsys, "diff", f"--base={base}", repo / "policies" / "2023")
        assert code == 2, err
        assert "只接受 git 版本" in err
    assert victim.read_text(encoding="utf-8") == "keep me"
    code, out, err = run_cli(capsys, "diff", "--base", "HEAD", repo / "policies" / "2023")
    assert code == 0, err
