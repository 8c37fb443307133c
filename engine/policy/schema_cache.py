"""Policy file contents known to pass the JSON schema, and policies known to pass every check (with the warnings
the checks gave), kept between runs (engine.cache), so that loading unchanged policies neither imports jsonschema
(~0.15 s) nor validates again (~0.1 s), nor runs the checks that only report (CheckedPolicies).

Whether a file passes is decided by the text the loader parsed (engine.policy.marks: a document's `text_sha256`),
the schema and weipian's version: the cache file is named after a hash of the last two and lists the sha256 of each
text that passed. Only passes are kept: a file with a schema error (E006) is validated, and its errors reported, on
every load; a changed file is a new text, so a miss. What is kept is a list of digests, never code; anything else
in the file (a corrupt or hostile entry) is ignored, and a digest is only ever compared with the digest of the text
being loaded. The cache directory is the user's own (engine.cache reads nothing others may write)."""
from __future__ import annotations

import hashlib
import re
from functools import lru_cache

from engine.cache import KeyedFile
from engine.errors import Diagnostic, Loc
from engine.limits import LIMITS
from engine.paths import schemas_dir

_DIGEST = re.compile(r"[0-9a-f]{64}")
SCHEMA_FILE = "policy.schema.json"


@lru_cache(maxsize=1)
def schema_bytes() -> bytes:
    """The policy schema file, read once per process (every policy load compares against it)."""
    return (schemas_dir() / SCHEMA_FILE).read_bytes()


class SchemaPasses:
    """The texts known to pass the schema, for one load: read at the first lookup, written back by `save` when a
    text was added (past LIMITS.cache_trees digests, the oldest are dropped)."""

    def __init__(self, schema: bytes):
        self.file = KeyedFile("schema", schema, "passed", list)
        self.key, self.name = self.file.key, self.file.name
        self.known: list[str] | None = None
        self.added = False

    def _kept(self) -> list[str]:
        if self.known is None:
            self.known = [d for d in self.file.read() if type(d) is str and _DIGEST.fullmatch(d)]
        return self.known

    def passed(self, digest: str | None) -> bool:
        return digest is not None and digest in self._kept()

    def add(self, digest: str | None) -> None:
        if digest is None or not _DIGEST.fullmatch(digest):
            return
        known = self._kept()
        if digest in known:
            known.remove(digest)
        known.append(digest)  # the most recent last
        self.added = True

    def save(self) -> None:
        if self.added:
            self.file.write(self.known[-LIMITS.cache_trees:])
            self.added = False


class CheckedPolicies:
    """Policies whose check found no error, each with the warnings it gave, for one policy load: one cache file per
    schema, checking context (`context`: the dictionary, region data and limits the checks read) and weipian version,
    mapping a policy's key (`policy_key`: its directory chain and every file's path and text) to its warnings.

    Only policies without errors are kept, so a hit means the checks that only report (lints, dates, limits) need
    not run again: their warnings are the kept ones. A changed file, schema, dictionary or version is a miss, checked
    (and reported) as before. A kept entry that is not a list of well-formed warnings is a miss too; a warning is
    only ever data to print, never code."""

    def __init__(self, schema: bytes, context: str):
        self.file = KeyedFile("checked", schema + b"\n" + context.encode("utf-8"), "policies", dict)
        self.key, self.name = self.file.key, self.file.name

    def warnings(self, key: str) -> list[Diagnostic] | None:
        """The warnings of the policy `key` when it checked without errors before; None otherwise."""
        kept = self.file.read().get(key)
        if type(kept) is not list:
            return None
        out = [_warning(x) for x in kept]
        return None if any(w is None for w in out) else out

    def keep(self, key: str, warnings: list[Diagnostic]) -> None:
        """Record that policy `key` checked without errors, giving `warnings` (past LIMITS.cache_trees policies, the
        oldest are dropped)."""
        kept = {k: v for k, v in self.file.read().items() if k != key}
        kept[key] = [_warning_data(w) for w in warnings]
        self.file.write(dict(list(kept.items())[-LIMITS.cache_trees:]))


def policy_key(chain: list[str], texts: dict[str, str | None]) -> str:
    """A policy's key: its directory chain (where its files are, which year each is from) and each file it read with
    the sha256 of its text."""
    h = hashlib.sha256()
    for part in [*chain, "", *(f"{path}\0{digest}" for path, digest in texts.items())]:
        h.update(part.encode("utf-8", "surrogatepass") + b"\n")
    return h.hexdigest()


def _warning_data(d: Diagnostic) -> list:
    return [d.code, d.message, d.loc.file, d.loc.line, d.loc.col, d.loc.length, d.help, d.severity]


def _opt(value, kind: type) -> bool:
    return value is None or type(value) is kind


def _warning(x) -> Diagnostic | None:
    """A kept warning, or None when `x` is not one (a corrupt or hostile entry)."""
    if type(x) is not list or len(x) != 8:
        return None
    code, message, file, line, col, length, help_, severity = x
    ok = type(code) is str and type(message) is str and _opt(file, str) and _opt(line, int) and _opt(col, int) \
        and type(length) is int and _opt(help_, str) and type(severity) is str and severity != "error"
    return Diagnostic(code, message, Loc(file, line, col, length), help=help_, severity=severity) if ok else None
