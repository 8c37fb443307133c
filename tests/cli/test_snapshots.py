"""`weipian check/assess --format json` on the bundled samples is byte-identical to the stored snapshots.

The snapshots were written before the engine was split into stage subpackages; a refactoring that changes a
single byte of the JSON contract fails here. Only the checkout's path and the Python version are masked.
Regenerate deliberately (when the output is meant to change) with WEIPIAN_UPDATE_SNAPSHOTS=1.
"""
from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from conftest import run_cli

ROOT = Path(__file__).resolve().parents[2]
SNAPSHOTS = Path(__file__).with_name("snapshots")


def _masked(text: str) -> str:
    text = text.replace(f"{ROOT.as_posix()}/", "<root>/")
    return re.sub(r'"python": "[^"]*"', '"python": "<python>"', text)


@pytest.mark.parametrize("command", ["check", "assess"])
@pytest.mark.parametrize("sample", ["2021", "2023", "mixed"])
def test_json_output_is_unchanged(command, sample, monkeypatch, capsys):
    monkeypatch.chdir(ROOT)
    code, out, _ = run_cli(capsys, command, f"datasets/sample_{sample}.csv", "--as-of", "2024-06-30", "--format", "json")
    assert code == 1  # the samples hold error findings on purpose
    snapshot = SNAPSHOTS / f"{command}_{sample}.json"
    if os.environ.get("WEIPIAN_UPDATE_SNAPSHOTS"):
        snapshot.write_text(_masked(out), encoding="utf-8")
    assert _masked(out) == snapshot.read_text(encoding="utf-8")
