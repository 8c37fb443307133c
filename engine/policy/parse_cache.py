"""Parse trees of policy expressions kept between runs (engine.cache), so that loading unchanged policies neither
builds the lark parser nor parses again. A tree depends only on the expression's text, the grammar (with the
dictionary's area units), lark's version and weipian's: the file is named after a hash of the last three and maps
text to tree. Only parsing is skipped — every check of the policy runs on every load — and a kept tree is validated
by engine.lang.parser before use (one that does not fit is parsed afresh)."""
from __future__ import annotations

import hashlib

from engine.cache import read_json, write_json
from engine.lang.parser import grammar_key
from engine.lang.units import Units
from engine.limits import LIMITS
from engine.version import __version__

_FORMAT = 1


class FileTreeStore:
    """engine.lang.parser.TreeStore over one cache file for one policy load: read at the first lookup, written back
    by `save` when a tree was added."""

    def __init__(self, units: Units):
        key = hashlib.sha256(f"weipian {__version__}\n{grammar_key(units)}".encode("utf-8")).hexdigest()
        self.name = f"trees-{key[:32]}.json"
        self.key = key
        self.trees: dict | None = None  # read at the first lookup
        self.used: dict = {}
        self.added = False

    def _kept(self) -> dict:
        if self.trees is None:
            doc = read_json(self.name)
            ok = type(doc) is dict and doc.get("format") == _FORMAT and doc.get("key") == self.key \
                and type(doc.get("trees")) is dict
            self.trees = doc["trees"] if ok else {}
        return self.trees

    def get(self, text: str):
        data = self._kept().get(text)
        if data is not None:
            self.used[text] = data
        return data

    def put(self, text: str, data) -> None:
        self._kept()[text] = data
        self.used[text] = data
        self.added = True

    def save(self) -> None:
        """Write the trees back if any was added (past LIMITS.cache_trees, only those used since this store opened)."""
        if not self.added:
            return
        trees = self.trees if len(self.trees) <= LIMITS.cache_trees else self.used
        if len(trees) <= LIMITS.cache_trees:
            write_json(self.name, {"format": _FORMAT, "key": self.key, "trees": trees})
        self.added = False
