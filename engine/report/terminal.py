"""Text for the terminal: no escape sequences or control characters from data, and rich markup only where the
engine put it. Patch ids, file names, headers and policy titles come from counties and merge requests; printed
as they are, `\\x1b]8;;…` would plant a hyperlink in a CI log and `[/x]` would crash rich's markup parser."""
from __future__ import annotations

import re

from rich.console import Console
from rich.errors import MarkupError
from rich.markup import escape

# ESC sequences (CSI, OSC up to BEL/ST, other two-byte escapes), C0 controls except tab and newline, DEL, C1
# controls, and Unicode bidi overrides that reorder what a reader sees.
_UNSAFE = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?"
    r"|\x1b[@-_]?"
    r"|[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]"
)


def clean(text: str) -> str:
    """`text` without escape sequences and control characters (tab and newline kept)."""
    return _UNSAFE.sub("", text)


def shown(value) -> str:
    """A data value for a markup string: cleaned and escaped, so it prints literally."""
    return escape(clean(str(value)))


class SafeConsole(Console):
    """A rich Console that cleans every string it renders; text that is not valid markup prints literally
    instead of raising. Emoji codes (`:x:`) are never replaced."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("emoji", False)
        super().__init__(*args, **kwargs)

    def render_str(self, text: str, **kwargs):
        text = clean(text)
        try:
            return super().render_str(text, **kwargs)
        except MarkupError:
            return super().render_str(text, **{**kwargs, "markup": False})
