"""All policy years in a policies directory: one subdirectory per year (e.g. policies/2021, policies/2023)."""
from __future__ import annotations

from pathlib import Path

from engine.policy.check import check_policy
from engine.data.dictionary import Dictionary, load_dictionary
from engine.errors import Diagnostic, Loc, PolicyError
from engine.policy.loader import HEADER_FILE, load_source
from engine.paths import policies_dir
from engine.policy.model import Policy


def load_policy(directory: str | Path, dictionary: Dictionary | None = None) -> Policy:
    """Load, merge and check one policy directory."""
    return check_policy(load_source(directory), dictionary or load_dictionary())


def policy_dirs(root: Path) -> list[Path]:
    if (root / HEADER_FILE).exists():
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / HEADER_FILE).exists())


def load_policies(root: str | Path | None = None, dictionary: Dictionary | None = None) -> dict[int, Policy]:
    """Every policy under `root` (a directory of year directories, or one policy directory), by year."""
    root = Path(root) if root is not None else policies_dir()
    if not root.is_dir():
        raise PolicyError([Diagnostic("E010", f"政策目录不存在：{root}", Loc(str(root)))])
    dictionary = dictionary or load_dictionary()
    out: dict[int, Policy] = {}
    diags: list[Diagnostic] = []
    dirs = policy_dirs(root)
    if not dirs:
        raise PolicyError([Diagnostic("E010", f"{root} 下没有政策（每个年度一个子目录，内含 {HEADER_FILE}）", Loc(str(root)))])
    for d in dirs:
        try:
            p = load_policy(d, dictionary)
        except PolicyError as exc:
            diags.extend(exc.diagnostics)
            continue
        if p.year in out:
            diags.append(Diagnostic("E018", f"年度 {p.year} 有两套政策：{out[p.year].dir} 与 {d}", Loc(str(d / HEADER_FILE), 1, 1)))
            continue
        out[p.year] = p
    if diags:
        seen, unique = set(), []
        for x in diags:  # a parent policy's problems are reported once, not once per child
            k = (x.code, x.message, str(x.loc))
            if k not in seen:
                seen.add(k)
                unique.append(x)
        raise PolicyError(unique)
    return out
