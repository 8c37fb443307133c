"""Policy file contents known to pass the JSON schema, kept between runs (engine.cache), so that loading unchanged
policies neither imports jsonschema (~0.15 s) nor validates again (~0.1 s).

Whether a file passes is decided by the text the loader parsed (engine.policy.marks: a document's `text_sha256`),
the schema and weipian's version: the cache file is named after a hash of the last two and lists the sha256 of each
text that passed. Only passes are kept: a file with a schema error (E006) is validated, and its errors reported, on
every load; a changed file is a new text, so a miss. What is kept is a list of digests, never code; anything else
in the file (a corrupt or hostile entry) is ignored, and a digest is only ever compared with the digest of the text
being loaded. The cache directory is the user's own (engine.cache reads nothing others may write)."""
from __future__ import annotations

import re
from functools import lru_cache

from engine.cache import KeyedFile
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
