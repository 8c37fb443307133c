"""A small cache of JSON documents in the user's cache directory, for work whose result is fully determined by its
key (e.g. the parse trees of unchanged policy expressions). Never code and never pickle: a cache file is JSON behind
a sha256 line, read only if it is the user's own and not writable by others, and below LIMITS.cache_file_bytes; a
missing, foreign, corrupt or oversized file is ignored, and a failed write is skipped. Callers validate what they
read as if it came from anywhere.

Where: $WEIPIAN_CACHE_DIR, else $XDG_CACHE_HOME/weipian, else ~/.cache/weipian. WEIPIAN_NO_CACHE=1 turns it off."""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import stat
from pathlib import Path

from engine.limits import LIMITS
from engine.paths import temp_beside
from engine.version import __version__

CACHE_DIR_ENV = "WEIPIAN_CACHE_DIR"
NO_CACHE_ENV = "WEIPIAN_NO_CACHE"


def cache_dir() -> Path | None:
    """The cache directory, or None when caching is turned off or no home is known."""
    if os.environ.get(NO_CACHE_ENV, "").strip() not in ("", "0"):
        return None
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV])
    base = os.environ.get("XDG_CACHE_HOME") or (os.path.join(os.path.expanduser("~"), ".cache")
                                                if os.path.expanduser("~") != "~" else "")
    return Path(base) / "weipian" if base else None


def _private(st: os.stat_result) -> bool:
    """Owned by this user and writable by nobody else (where the platform knows owners)."""
    if not hasattr(os, "getuid"):
        return True
    return st.st_uid == os.getuid() and not st.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def read_json(name: str):
    """The document stored under `name`, or None (absent, turned off, not private, too big, corrupt)."""
    d = cache_dir()
    if d is None:
        return None
    try:
        if not _private(os.stat(d)):
            return None
        fd = os.open(d / name, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            st = os.fstat(fh.fileno())
            if not stat.S_ISREG(st.st_mode) or not _private(st) or st.st_size > LIMITS.cache_file_bytes:
                return None
            raw = fh.read(LIMITS.cache_file_bytes + 1)
        digest, _, body = raw.partition(b"\n")
        if digest.decode("ascii", "replace") != hashlib.sha256(body).hexdigest():
            return None
        return json.loads(body)
    except (OSError, ValueError, RecursionError, MemoryError):
        return None


def write_json(name: str, value) -> None:
    """Store `value` under `name` atomically (a reader sees the old file or the new one); best effort."""
    d = cache_dir()
    if d is None:
        return
    try:
        body = json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        if len(body) + 65 > LIMITS.cache_file_bytes:
            return
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
        if not _private(os.stat(d)):
            return
        fd, tmp = temp_beside(d / name)  # mode 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(hashlib.sha256(body).hexdigest().encode("ascii") + b"\n" + body)
            os.replace(tmp, d / name)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except (OSError, ValueError, RecursionError):
        return


_FORMAT = 1  # of the documents KeyedFile writes


class KeyedFile:
    """One cache file holding one JSON value (of type `kind`) for one key: named `prefix`-<hash of weipian's version
    and `key`>.json, stored with the full hash; a document of another format or key, or a value of another type,
    reads as an empty one. Callers still validate the value's contents."""

    def __init__(self, prefix: str, key: bytes, field: str, kind: type):
        self.key = hashlib.sha256(f"weipian {__version__}\n".encode() + key).hexdigest()
        self.name = f"{prefix}-{self.key[:32]}.json"
        self.field, self.kind = field, kind

    def read(self):
        doc = read_json(self.name)
        ok = type(doc) is dict and doc.get("format") == _FORMAT and doc.get("key") == self.key \
            and type(doc.get(self.field)) is self.kind
        return doc[self.field] if ok else self.kind()

    def write(self, value) -> None:
        write_json(self.name, {"format": _FORMAT, "key": self.key, self.field: value})
