"""Parse trees of policy expressions kept between runs (engine.cache), so that loading unchanged policies neither
builds the lark parser nor parses again. A tree depends only on the expression's text, the grammar (with the
dictionary's area units), lark's version and weipian's: the file is named after a hash of the last three and maps
text to tree. Only parsing is skipped — every check of the policy runs on every load — and a kept tree is validated
by engine.lang.parser before use (one that does not fit is parsed afresh)."""
from __future__ import annotations

from engine.cache import KeyedFile
from engine.lang.parser import grammar_key
from engine.lang.units import Units
from engine.limits import LIMITS


class FileTreeStore:
    """engine.lang.parser.TreeStore over one cache file for one policy load: read at the first lookup, written back
    by `save` when a tree was added."""

    def __init__(self, units: Units):
        self.file = KeyedFile("trees", grammar_key(units).encode("utf-8"), "trees", dict)
        self.key, self.name = self.file.key, self.file.name
        self.trees: dict | None = None  # read at the first lookup
        self.used: dict = {}
        self.added = False

    def _kept(self) -> dict:
        if self.trees is None:
            self.trees = self.file.read()
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
            self.file.write(trees)
        self.added = False
