"""Where the bundled policies, schemas and datasets live (source checkout or installed wheel)."""
from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path

_REPO = Path(__file__).resolve().parent.parent


def _bundled(dirname: str, package: str) -> Path:
    local = _REPO / dirname
    if local.is_dir():
        return local
    return Path(str(resources.files(package)))


def policies_dir() -> Path:
    return _bundled("policies", "engine._policies")


def schemas_dir() -> Path:
    return _bundled("schemas", "engine._schemas")


def datasets_dir() -> Path:
    return _bundled("datasets", "engine._datasets")


def display_path(path: str | Path) -> str:
    """A path as people typed it: relative to the working directory when it lies below it, else as is."""
    try:
        return str(Path(path).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def temp_beside(path: str | Path) -> tuple[int, str]:
    """A new empty temp file in the folder of `path` (made if missing), hidden and named after it: (fd, its path).
    Written there, it replaces `path` by a rename on the same file system (engine.report.atomic)."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    return tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
