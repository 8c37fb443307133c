"""What an assessment's ratio is compared with, read from its flag's syntax tree (reports draw it as the threshold)."""
from __future__ import annotations

from engine.lang import ast

COMPARISONS = ("<", "<=", ">", ">=")
RATIO_NAMES = ("ratio", "比例")


def ratio_threshold(assessment) -> str | float | None:
    """The ratio threshold of an assessment (engine.policy.assessments.Assessment): the label of the parameter its
    flag compares the ratio with (each result carries that parameter's value under the label), or a percentage
    literal as a fraction (`ratio > 12.5%`: 0.125). None when the flag compares the ratio with an expression or not
    at all. The first such comparison in the flag's text counts."""
    comparisons = sorted((n for n in ast.walk(assessment.flag) if isinstance(n, ast.Binary) and n.op in COMPARISONS),
                         key=lambda n: n.start)
    for n in comparisons:
        for ratio, other in ((n.left, n.right), (n.right, n.left)):
            if _is_ratio(ratio):
                found = _threshold(other)
                if found is not None:
                    return found
    return None


def _is_ratio(node: ast.Node) -> bool:
    return isinstance(node, ast.Name) and bool(node.ref) and node.ref[0] == "value" and node.ref[1] in RATIO_NAMES


def _threshold(node: ast.Node) -> str | float | None:
    target = node.name if isinstance(node, ast.Index) else node
    if isinstance(target, ast.Name) and target.ref and target.ref[0] == "param":
        return f"{target.name}[{node.key}]" if isinstance(node, ast.Index) else target.name  # as params_in labels it
    if isinstance(node, ast.Number) and node.unit == "%":
        return float(node.value) / 100
    return None


def flag_conditions(assessment) -> list[dict]:
    """Every comparison of an assessment's flag between one of its values (ratio, numerator, a named value) and a
    threshold, in the flag's text order: {"value": name, "op": "<" | "<=" | ">" | ">=", "threshold": label or number}.
    The threshold is the label of a parameter (each result carries its value under the label) or a unitless or %
    literal; comparisons with anything else are left out. Reports draw one chart per condition (问责: ratio and area)."""
    out = []
    flip = {"<": ">", "<=": ">=", ">": "<", ">=": "<="}
    comparisons = sorted((n for n in ast.walk(assessment.flag) if isinstance(n, ast.Binary) and n.op in COMPARISONS),
                         key=lambda n: n.start)
    for n in comparisons:
        for value, other, op in ((n.left, n.right, n.op), (n.right, n.left, flip[n.op])):
            if isinstance(value, ast.Name) and value.ref and value.ref[0] == "value":
                t = _threshold(other)
                if t is None and isinstance(other, ast.Number) and other.unit is None:
                    t = float(other.value)
                if t is not None:
                    out.append({"value": value.name, "op": op, "threshold": t})
                    break
    return out
