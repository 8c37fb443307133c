"""A policy directory as it was at a git revision (weipian diff --base): extracted to a temporary directory."""
from __future__ import annotations

import io
import subprocess
import tarfile
import tempfile
from contextlib import contextmanager
from pathlib import Path

from engine.errors import InputError
from engine.policy.loader import HEADER_FILE


def _git(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    try:
        return subprocess.run(["git", *args], cwd=cwd, capture_output=True)
    except FileNotFoundError:
        raise InputError("找不到 git 命令，--base 需要 git") from None


def _revision(rev: str, top_dir: Path, rel_root) -> str:
    """The commit id `rev` names. `rev` is only ever a revision: never an option, passed after --end-of-options."""
    if not rev or rev.startswith("-") or any(ord(ch) < 32 or ord(ch) == 127 for ch in rev):
        raise InputError(f"--base 只接受 git 版本（分支、标签或提交，如 main、HEAD~1），不能是「{_shown(rev)}」")
    found = _git(["rev-parse", "--verify", "--quiet", "--end-of-options", f"{rev}^{{commit}}"], top_dir)
    if found.returncode != 0:
        raise InputError(f"无法从 git 版本「{_shown(rev)}」取出 {rel_root}：没有这个版本")
    return found.stdout.decode().strip()


def _shown(text: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in text)


@contextmanager
def policy_at_revision(rev: str, path: str | Path):
    """The policy directory `path` as it was at git revision `rev`, extracted to a temporary directory.

    The whole policies root (the parent of a year directory) is extracted, so `extends: ../2021` keeps working."""
    path = Path(path).resolve()
    if not path.is_dir():
        raise InputError(f"政策目录不存在：{path}")
    top = _git(["rev-parse", "--show-toplevel"], path)
    if top.returncode != 0:
        raise InputError(f"{path} 不在 git 仓库中，不能用 --base")
    top_dir = Path(top.stdout.decode().strip()).resolve()
    root = path.parent if (path / HEADER_FILE).exists() else path
    rel_root = root.relative_to(top_dir)
    commit = _revision(rev, top_dir, rel_root)
    archive = _git(["archive", "--format=tar", commit, "--", str(rel_root) if str(rel_root) != "." else "."], top_dir)
    if archive.returncode != 0:
        msg = archive.stderr.decode(errors="replace").strip()
        raise InputError(f"无法从 git 版本「{_shown(rev)}」取出 {rel_root}：{_shown(msg)}")
    with tempfile.TemporaryDirectory(prefix="weipian-diff-") as tmp:
        with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
            tar.extractall(tmp, filter="data")
        old = Path(tmp) / path.relative_to(top_dir)
        if not old.is_dir():
            raise InputError(f"git 版本「{rev}」中没有 {path.relative_to(top_dir)}")
        yield old
