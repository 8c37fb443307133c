"""All policy years in a policies directory: one subdirectory per year (e.g. policies/2021, policies/2023), with the
data dictionary they were checked against."""
from __future__ import annotations

from pathlib import Path

from engine.data.dictionary import Dictionary, load_dictionary
from engine.errors import Diagnostic, Loc, PolicyError
from engine.paths import policies_dir
from engine.policy.check import check_policy
from engine.policy.loader import HEADER_FILE, PolicySource, load_source
from engine.policy.model import Policy


class PolicySet(dict):
    """Policies by year (a dict) and the data dictionary they were checked against: the one the runner, the
    normalizer and the reports use."""

    def __init__(self, policies: dict[int, Policy], dictionary: Dictionary):
        super().__init__(policies)
        self.dictionary = dictionary

    @classmethod
    def of(cls, policies: dict[int, Policy]) -> PolicySet:
        """A policy set as given, or plain {year: Policy} with the dictionary its policies carry."""
        if isinstance(policies, PolicySet):
            return policies
        first = next(iter(policies.values()), None)
        return cls(policies, first.dictionary if first is not None else load_dictionary())


def check_source(src: PolicySource, dictionary: Dictionary) -> Policy:
    """A loaded policy source checked into a typed Policy; PolicyError listing every problem."""
    return check_policy(src, dictionary)


def load_policy(directory: str | Path, dictionary: Dictionary | None = None, loaded: dict | None = None) -> Policy:
    """Load, merge and check one policy directory (`loaded`: see load_source)."""
    return check_source(load_source(directory, loaded=loaded), dictionary or load_dictionary())


def policy_dirs(root: Path) -> list[Path]:
    if (root / HEADER_FILE).exists():
        return [root]
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / HEADER_FILE).exists())


def no_policies(root: Path) -> Diagnostic:
    return Diagnostic("E010", f"{root} 下没有政策（每个年度一个子目录，内含 {HEADER_FILE}）", Loc(str(root)))


def no_directory(root: Path) -> Diagnostic:
    return Diagnostic("E010", f"政策目录不存在：{root}", Loc(str(root)))


def unique_diagnostics(diags: list[Diagnostic]) -> list[Diagnostic]:
    """A parent policy's problems are reported once, not once per policy that extends it."""
    seen, out = set(), []
    for x in diags:
        k = (x.code, x.message, str(x.loc))
        if k not in seen:
            seen.add(k)
            out.append(x)
    return out


def load_policies(root: str | Path | None = None, dictionary: Dictionary | None = None) -> PolicySet:
    """Every policy under `root` (a directory of year directories, or one policy directory), by year."""
    root = Path(root) if root is not None else policies_dir()
    if not root.is_dir():
        raise PolicyError([no_directory(root)])
    dictionary = dictionary or load_dictionary()
    out: dict[int, Policy] = {}
    diags: list[Diagnostic] = []
    dirs = policy_dirs(root)
    if not dirs:
        raise PolicyError([no_policies(root)])
    loaded: dict = {}  # each directory read once, also when another year extends it
    for d in dirs:
        try:
            p = load_policy(d, dictionary, loaded)
        except PolicyError as exc:
            diags.extend(exc.diagnostics)
            continue
        if p.year in out:
            diags.append(Diagnostic("E018", f"年度 {p.year} 有两套政策：{out[p.year].dir} 与 {d}", Loc(str(d / HEADER_FILE), 1, 1)))
            continue
        out[p.year] = p
    if diags:
        raise PolicyError(unique_diagnostics(diags))
    return PolicySet(out, dictionary)
