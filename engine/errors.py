"""Diagnostics for people: file:line:col, the source line, a caret, and a suggestion."""
from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from rich.cells import cell_len

_SOURCES: dict[str, list[str]] = {}


def remember_source(path: str, text: str) -> None:
    _SOURCES[str(path)] = text.splitlines()


def source_line(path: str | None, line: int | None) -> str | None:
    if path is None or line is None:
        return None
    lines = _SOURCES.get(str(path))  # only files the loader read (inside the policy root) are ever quoted
    if lines is None:
        return None
    if 1 <= line <= len(lines):
        return lines[line - 1]
    return None


@dataclass
class Loc:
    file: str | None = None
    line: int | None = None  # 1-based
    col: int | None = None  # 1-based, in characters
    length: int = 1

    def __str__(self) -> str:
        parts = [self.file or "<输入>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.col is not None:
                parts.append(str(self.col))
        return ":".join(parts)


@dataclass
class Diagnostic:
    code: str
    message: str
    loc: Loc = field(default_factory=Loc)
    help: str | None = None
    severity: str = "error"  # error | warning

    def render(self) -> str:
        label = "错误" if self.severity == "error" else "警告"
        out = [f"{label}[{self.code}]: {self.message}", f"  --> {self.loc}"]
        text = source_line(self.loc.file, self.loc.line)
        if text is not None and self.loc.col is not None:
            num = str(self.loc.line)
            pad = " " * len(num)
            prefix = text[: self.loc.col - 1]
            marked = text[self.loc.col - 1 : self.loc.col - 1 + max(self.loc.length, 1)]
            width = max(cell_len(marked), 1)
            out += [f"{pad} |", f"{num} | {text}", f"{pad} | {' ' * cell_len(prefix)}{'^' * width}"]
        if self.help:
            out.append(f"  = 帮助: {self.help}")
        return "\n".join(out)

    def to_json(self) -> dict:
        return {
            "severity": self.severity,
            "code": self.code,
            "message": self.message,
            "file": self.loc.file,
            "line": self.loc.line,
            "col": self.loc.col,
            "help": self.help,
        }


class PolicyError(Exception):
    """One or more problems in policy files; carries every diagnostic found."""

    def __init__(self, diagnostics: list[Diagnostic]):
        self.diagnostics = diagnostics
        super().__init__("\n\n".join(d.render() for d in diagnostics))


class InputError(Exception):
    """Unusable input data (file, arguments); the message is for people, in Chinese."""


def suggest(name: str, candidates, n: int = 1) -> str | None:
    matches = difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.5)
    if not matches:
        return None
    return "是否要写「" + "」或「".join(matches) + "」？"
