"""The `weipian` console script ends its process with os._exit right after main() (no interpreter teardown): what it
printed and wrote must be complete, its exit code main()'s, and the cleanup we rely on done (spill directory)."""
from __future__ import annotations

import json
import os
import subprocess
import sys

from conftest import run_cli

from engine.paths import datasets_dir

SAMPLE = str(datasets_dir() / "sample_2023.csv")


def _script(tmp_path, *args: str) -> subprocess.CompletedProcess:
    """`python -m engine.cli.main ARGS` (the console script's entry) with its temp files under tmp_path/tmp."""
    tmp = tmp_path / "tmp"
    tmp.mkdir(exist_ok=True)
    env = dict(os.environ, TMPDIR=str(tmp))
    return subprocess.run([sys.executable, "-m", "engine.cli.main", *args], capture_output=True, env=env,
                          cwd=tmp_path, check=False)


def test_the_script_prints_and_writes_what_main_does_and_leaves_no_spill_directory(tmp_path, capsys):
    out = ["--output", "台账.xlsx", "--output", "结果.json", "--output", "结果.parquet"]
    p = _script(tmp_path, "check", SAMPLE, "--as-of", "2024-06-30", *out)
    assert p.returncode == 1, p.stderr.decode()  # the sample has error findings
    assert p.stderr == b""
    (tmp_path / "in").mkdir()
    code, text, _ = run_cli(capsys, "check", SAMPLE, "--as-of", "2024-06-30",
                            *[str(tmp_path / "in" / a) if a.startswith("结果") or a.startswith("台账") else a for a in out])
    assert code == 1
    assert p.stdout.decode().replace(str(tmp_path) + "/", "") == text.replace(str(tmp_path / "in") + "/", "")
    assert (tmp_path / "结果.json").read_bytes() == (tmp_path / "in" / "结果.json").read_bytes()
    assert json.loads((tmp_path / "结果.json").read_text(encoding="utf-8"))["summary"]
    for name in ("台账.xlsx", "结果.parquet"):
        assert (tmp_path / name).stat().st_size > 0
    assert sorted(x.name for x in tmp_path.iterdir()) == sorted(["in", "tmp", "台账.xlsx", "结果.json", "结果.parquet"])
    assert list((tmp_path / "tmp").iterdir()) == []  # the spill directory was removed


def test_the_script_streams_json_to_a_pipe_whole(tmp_path, capsys):
    p = _script(tmp_path, "check", SAMPLE, "--as-of", "2024-06-30", "--format", "json")
    assert p.returncode == 1
    code, text, _ = run_cli(capsys, "check", SAMPLE, "--as-of", "2024-06-30", "--format", "json")
    assert p.stdout.decode() == text


def test_the_script_keeps_its_exit_codes(tmp_path):
    p = _script(tmp_path, "check", str(tmp_path / "无此文件.csv"))
    assert p.returncode == 2 and "输入错误" in p.stderr.decode()
    assert _script(tmp_path, "check", "--no-such-option").returncode == 2  # argparse: SystemExit, the ordinary way
    assert _script(tmp_path, "--help").returncode == 0
    assert list((tmp_path / "tmp").iterdir()) == []
