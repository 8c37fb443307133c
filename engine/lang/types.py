"""Types of DSL values. A StrEnum: members compare equal to (and serialize as) their lowercase names."""
from __future__ import annotations

from enum import StrEnum


class Type(StrEnum):
    NUMBER = "number"
    AREA = "area"  # a number carrying the dictionary's area unit
    DATE = "date"
    STRING = "string"
    BOOL = "bool"
    NULL = "null"  # the literal null
    ERROR = "error"  # already reported: suppresses follow-on diagnostics


# the words people read in diagnostics
TYPE_WORDS = {Type.NUMBER: "数字", Type.AREA: "面积", Type.DATE: "日期", Type.STRING: "文本", Type.BOOL: "是/否", Type.NULL: "空值"}

QUANTITIES = (Type.NUMBER, Type.AREA)


def type_word(t: Type | str) -> str:
    return TYPE_WORDS.get(t, str(t))
