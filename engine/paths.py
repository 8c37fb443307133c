"""Where the bundled policies, schemas and datasets live (source checkout or installed wheel)."""
from __future__ import annotations

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

