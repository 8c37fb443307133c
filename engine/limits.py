"""Every resource limit of the engine, in one place (documented, with the error codes, in docs/安全说明.md).

Policy files arrive in merge requests and data files from counties: a few hundred hostile bytes must not
exhaust memory or time. Each limit is checked where the input is read; going over it is a located error
(exit 2) naming what was too big and where. The values are engine safety margins, not thresholds of any law;
the bundled policies use a small fraction of each."""
from __future__ import annotations

import re
from dataclasses import dataclass

from engine.errors import InputError


@dataclass
class Limits:
    # YAML aliases (*name) in one policy file. Policies have no need for them; a handful is allowed for
    # hand-written anchors, but an alias bomb (aliases of aliases, exponential expansion) is refused.
    yaml_aliases: int = 50
    # Nodes that aliases may add when expanded (an alias of a list of aliases … grows exponentially).
    yaml_alias_nodes: int = 10_000
    # Nesting of lists and mappings in one policy file (policies use fewer than 10 levels).
    yaml_depth: int = 100
    # Size of one policy file (policy.yaml, rules.yaml …) in bytes; the bundled ones are a few tens of KB.
    policy_file_bytes: int = 1_000_000
    # Characters in one message template (`message:` of a rule or trigger).
    message_chars: int = 2_000
    # `{field}` placeholders in one message template.
    message_fields: int = 100
    # DuckDB memory limit for one run (`--memory-limit`, or the WEIPIAN_MEMORY_LIMIT environment variable).
    memory_limit: str = "512MB"


LIMITS = Limits()

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|KIB|MIB|GIB)\s*$", re.IGNORECASE)


def set_memory_limit(text: str | None) -> None:
    """Set the DuckDB memory limit from user text such as 512MB or 2GB; InputError if it is not a size."""
    if text is None or text == "":
        return
    m = _MEMORY.match(str(text))
    if not m:
        raise InputError(f"内存上限「{text}」写法不对，应写成 512MB、2GB 这样的大小")
    LIMITS.memory_limit = f"{m.group(1)}{m.group(2).upper().replace('I', 'i')}"


def over(what: str, size, limit, unit: str = "") -> str:
    """The Chinese words of a limit exceeded: what, how big, and the limit."""
    return f"{what}超出上限：{size}{unit}，上限 {limit}{unit}"
