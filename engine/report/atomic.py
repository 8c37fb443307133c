"""Atomic file writes: a reader never sees a half-written report."""
from __future__ import annotations

import contextlib
import os
from pathlib import Path

from engine.paths import temp_beside


@contextlib.contextmanager
def atomic_write(path, mode: str = "w", encoding: str | None = "utf-8", newline: str | None = None,
                 tmp: str | None = None):
    """Yield a file object (mode "w" or "wb") for a temp file beside `path`; on success it replaces
    `path` with os.replace, on error the temp file is removed and `path` is left untouched.
    For libraries that want a file name (XlsxWriter), open with mode=None: the temp path is yielded.
    tmp: with mode=None, the temp file to use, created beside `path` before (engine.run.exports.reserve)."""
    target = Path(path)
    if tmp is None:
        fd, tmp = temp_beside(target)
    else:
        assert mode is None, "a reserved temp file is written by name"
        fd = None
    try:
        if mode is None:
            if fd is not None:
                os.close(fd)
            yield tmp
        else:
            binary = "b" in mode
            with os.fdopen(fd, mode, encoding=None if binary else encoding,
                           newline=None if binary else newline) as fh:
                yield fh
                fh.flush()
                os.fsync(fh.fileno())
        with contextlib.suppress(OSError):
            os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
