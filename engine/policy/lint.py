"""Lint policy directories: every diagnostic (errors and warnings) at once, loaded and checked as load_policies does."""
from __future__ import annotations

from pathlib import Path

from engine.data.dictionary import Dictionary, load_dictionary
from engine.errors import Diagnostic, PolicyError
from engine.policy.loader import load_source
from engine.policy.policyset import check_source, no_directory, no_policies, policy_dirs, unique_diagnostics


def lint(paths: list[str | Path], dictionary: Dictionary | None = None) -> tuple[list[Diagnostic], int]:
    """Every diagnostic of the policies under `paths`, deduplicated and sorted; and the number of policy dirs."""
    dictionary = dictionary or load_dictionary()
    diags: list[Diagnostic] = []
    count = 0
    for root in map(Path, paths):
        if not root.is_dir():
            diags.append(no_directory(root))
            continue
        dirs = policy_dirs(root)
        if not dirs:
            diags.append(no_policies(root))
        for d in dirs:
            count += 1
            try:
                policy = check_source(load_source(d), dictionary)
            except PolicyError as exc:
                diags.extend(exc.diagnostics)
                continue
            diags.extend(policy.warnings)
    return sorted(unique_diagnostics(diags), key=lambda d: (d.loc.file or "", d.loc.line or 0, d.loc.col or 0, d.code)), count


def summary(diags: list[Diagnostic], dirs: int) -> str:
    errors = sum(d.severity == "error" for d in diags)
    warnings = len(diags) - errors
    if not diags:
        return f"检查了 {dirs} 套政策：没有发现问题。"
    return f"检查了 {dirs} 套政策：{errors} 处错误，{warnings} 处警告。"
