"""The report table model shared by the xlsx ledger and the HTML page: labels for the JSON contract's keys,
region names and levels, thresholds as the assessment entries carry them, and one Table per sheet/section
(findings, tasks, assessments, regions, catalog). Nothing here knows the law or a file format."""
from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Iterator

from engine import values
from engine.data.dictionary import Dictionary
from engine.run.result import SEVERITY_WORDS

VALUE_LABELS = {
    "numerator": "分子", "denominator": "分母", "ratio": "比例", "rate": "比率",
    "numerator_gross": "扣除前分子", "denominator_gross": "扣除前分母", "deductions": "扣除", "patches": "图斑数",
    "count": "数量", "total": "总数", "area": "面积", "threshold": "阈值", "ratio_threshold": "比例阈值",
}
EXTRA_LABELS = {  # keys the core may add to findings/tasks/assessments beyond the contract
    "source": "来源文件", "file": "来源文件", "line": "来源行", "year": "年度", "region": "行政区代码",
    "region_name": "行政区名称", "name": "行政区名称", "field": "字段", "value": "值", "values": "取值",
    "due": "截止日期", "reason": "原因", "level": "级别", "period": "期间", "threshold": "阈值",
    "thresholds": "阈值", "message": "说明", "title": "名称", "not_evaluated": "未评估原因",
}
_RATIO_SUFFIXES = ("ratio", "rate", "率", "比例", "占比")


def level_order(d: Dictionary) -> dict[str, int]:
    """The dictionary's levels, the widest (省级) first: level -> rank."""
    return {lv: i for i, lv in enumerate(reversed(d.levels))}


def severity_label(s) -> str:
    return SEVERITY_WORDS.get(s, str(s or ""))


def catalog_index(catalog) -> dict[str, dict]:
    return {c.get("id"): c for c in catalog or []}


def region_label_map() -> dict[str, str]:
    """{code: name} from the region reference table; empty when it cannot be loaded."""
    try:
        from engine.data.regions import region_names
        return dict(region_names())
    except Exception:  # noqa: BLE001 - names are a nicety; codes are always shown
        return {}


def region_level_map() -> dict[str, str]:
    """{code: 级别} from the region reference table; empty when it cannot be loaded."""
    try:
        from engine.data.regions import load_regions
        return {r["代码"]: r["级别"] for r in load_regions()}
    except Exception:  # noqa: BLE001 - levels are a nicety, as names are
        return {}


def row_region(item: dict, names: dict[str, str]) -> str:
    """The 行政区代码 of a finding or task: the region it names, else the 6-digit code a 图斑编号 starts with (the
    卫片 numbering: county code, year, serial) when the region table knows that code; "" when neither says."""
    region = item.get("region")
    if region:
        return str(region)
    patch = item.get("patch")
    if isinstance(patch, str) and len(patch) > 6 and patch[:6].isdigit() and patch[:6] in names:
        return patch[:6]
    return ""


def flatten(d, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a.b": 1}; lists become JSON text."""
    out: dict = {}
    for k, v in (d or {}).items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, (list, tuple)):
            out[key] = json.dumps(v, ensure_ascii=False)
        else:
            out[key] = v
    return out


def deduction_titles(assessments, cat=None) -> dict[str, str]:
    """{deduction id: its title}: from the entries' own deductions, else the catalog."""
    out: dict[str, str] = {}
    for a in assessments or []:
        for rid, d in ((a.get("values") or {}).get("deductions") or {}).items():
            if isinstance(d, dict) and d.get("title") and rid not in out:
                out[rid] = str(d["title"])
    for rid, c in (cat or {}).items():
        if rid not in out and c.get("title"):
            out[rid] = str(c["title"])
    return out


def assessment_value_label(key: str, titles: dict[str, str]) -> str:
    """A value column's Chinese header; a deduction's column is named by its title: 扣除：<title>（图斑数）."""
    parts = key.split(".")
    if len(parts) == 3 and parts[0] == "deductions":
        return f"扣除：{titles.get(parts[1], parts[1])}（{VALUE_LABELS.get(parts[2], parts[2])}）"
    return value_label(key)


def value_label(key: str) -> str:
    parts = key.split(".")
    return ".".join(VALUE_LABELS.get(p, p) for p in parts)


def is_ratio_key(key: str) -> bool:
    last = key.split(".")[-1].lower()
    return last.endswith(_RATIO_SUFFIXES)


def threshold_key(entry: dict, rule: dict | None = None) -> tuple[str | None, float | None]:
    """The ratio threshold of an assessment entry: (the values key holding it or None, its value).
    Never a default: it is read from the entry (threshold/thresholds.ratio, values.ratio_threshold),
    else from what the rule's catalog entry says its flag compares the ratio with (`ratio_threshold`: the name of
    a parameter whose value the entry carries, or a number). (None, None) when neither says."""
    values = entry.get("values") or {}
    for holder in (entry.get("thresholds"), entry.get("threshold"), values.get("threshold"), values.get("thresholds")):
        if isinstance(holder, dict) and is_number(holder.get("ratio")):
            return None, float(holder["ratio"])
    if is_number(values.get("ratio_threshold")):
        return "ratio_threshold", float(values["ratio_threshold"])
    if is_number(entry.get("threshold")):
        return None, float(entry["threshold"])
    named = (rule or {}).get("ratio_threshold")
    if isinstance(named, str):
        return (named, float(values[named])) if is_number(values.get(named)) else (None, None)
    if is_number(named):
        return None, float(named)
    return None, None


def threshold_of(entry: dict, rule: dict | None = None) -> float | None:
    return threshold_key(entry, rule)[1]


def policy_years(policy: dict) -> str:
    """"2023" for one policy, "2021、2023" for a run over several years."""
    if policy.get("year") is not None:
        return str(policy["year"])
    return "、".join(str(y) for y in policy.get("years") or [])


def region_name(entry: dict, names: dict[str, str]) -> str:
    region = "" if entry.get("region") is None else str(entry.get("region"))
    return entry.get("region_name") or entry.get("name") or names.get(region, "")


def assessment_values(entry: dict) -> dict:
    """values flattened to columns; a deduction's title and effect are catalog text, not values."""
    return {k: v for k, v in flatten(entry.get("values") or {}).items()
            if not (k.startswith("deductions.") and k.rsplit(".", 1)[-1] in ("title", "effect"))}


def ratio_of(entry: dict) -> float | None:
    values = entry.get("values") or {}
    for k in ("ratio", "rate"):
        if is_number(values.get(k)):
            return float(values[k])
    return None


def is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def sorted_tasks(tasks, levels: dict[str, int]) -> list[dict]:
    return sorted(tasks or [], key=lambda t: (levels.get(t.get("level"), 9), str(t.get("patch", "")),
                                              str(t.get("rule", "")), str(t.get("action", ""))))


def extra_columns(items, known) -> list[str]:
    """Flat keys (a.b) of whatever the items carry beyond the contract's keys, in first-seen order."""
    keys: dict[str, None] = {}
    for it in items:
        if any(k not in known for k in it):
            keys.update(dict.fromkeys(flatten({k: v for k, v in it.items() if k not in known})))
    return list(keys)


def extra_label(key: str) -> str:
    first, *rest = key.split(".")
    return ".".join([EXTRA_LABELS.get(first, first)] + [VALUE_LABELS.get(p, p) for p in rest])


def extra_values(item, known, keys) -> list:
    if not keys:
        return []
    flat = flatten({k: v for k, v in item.items() if k not in known})
    return [flat.get(k) for k in keys]


@dataclass
class Table:
    """One table of the report, shared by the xlsx and HTML writers. A long table (findings, tasks of a large run)
    is a stream of (row, class) pairs instead of lists: read once, in order, never held whole."""
    headers: list[str]
    rows: list[list]
    classes: list[str]  # per row: "sev-error", "sev-warning", "sev-info", "flagged" or ""
    pct_cols: list[int] = field(default_factory=list)  # columns holding ratios (shown as %)
    flag_col: int | None = None
    stream: Iterator[tuple[list, str]] | None = None

    def pairs(self) -> Iterator[tuple[list, str]]:
        return self.stream if self.stream is not None else zip(self.rows, self.classes)


FINDING_KNOWN = ("patch", "rule", "severity", "message", "cite", "region")
TASK_KNOWN = ("patch", "rule", "level", "action", "cite", "region")


def _with_extras(items, known, extras: list[str] | None, base: list[str]) -> tuple[list[str], list[str], list[int]]:
    """The extra keys of a findings or tasks table (found in `items` unless given), its headers (the base columns,
    then each extra's label) and the positions of its ratio columns."""
    if extras is None:
        extras = extra_columns(items, known)
    pct = [len(base) + i for i, k in enumerate(extras) if is_ratio_key(k)]
    return extras, base + [extra_label(k) for k in extras], pct


def findings_table(findings, cat, names: dict[str, str] | None = None, *, extras: list[str] | None = None,
                   presorted: bool = False) -> Table:
    """Findings by county: 行政区代码 and 行政区名称 first, sorted by region (stable within a region).
    presorted: `findings` is an iterator already in that order (engine.report.source) with the given extra keys;
    the table streams it."""
    names = names if names is not None else region_label_map()
    known = FINDING_KNOWN
    extras, headers, pct = _with_extras(findings, known, extras,
                                        ["行政区代码", "行政区名称", "图斑编号", "规则编号", "规则名称", "严重程度", "问题说明", "条款"])

    def pair(f, region):
        return ([region, names.get(region, ""), f.get("patch"), f.get("rule"), cat.get(f.get("rule"), {}).get("title", ""),
                 severity_label(f.get("severity")), f.get("message"), f.get("cite")] + extra_values(f, known, extras),
                f"sev-{f.get('severity')}")

    if presorted:
        return Table(headers, [], [], pct, stream=(pair(f, row_region(f, names)) for f in findings))
    regions = [row_region(f, names) for f in findings]
    order = sorted(range(len(findings)), key=lambda i: (regions[i] == "", regions[i]))
    pairs = [pair(findings[i], regions[i]) for i in order]
    return Table(headers, [r for r, _ in pairs], [c for _, c in pairs], pct)


def tasks_table(tasks, cat, levels: dict[str, int], names: dict[str, str] | None = None, *,
                extras: list[str] | None = None, presorted: bool = False) -> Table:
    """Tasks by level (省级 first), then county. presorted: as findings_table."""
    names = names if names is not None else region_label_map()
    known = TASK_KNOWN
    extras, headers, pct = _with_extras(tasks, known, extras,
                                        ["核查级别", "行政区代码", "行政区名称", "任务", "图斑编号", "规则编号", "规则名称", "条款"])

    def row(t, region):
        return ([t.get("level"), region, names.get(region, ""), t.get("action"), t.get("patch"), t.get("rule"),
                 cat.get(t.get("rule"), {}).get("title", ""), t.get("cite")] + extra_values(t, known, extras))

    if presorted:
        return Table(headers, [], [], pct, stream=((row(t, row_region(t, names)), "") for t in tasks))
    keyed = [(t, row_region(t, names)) for t in tasks or []]
    keyed.sort(key=lambda tr: (levels.get(tr[0].get("level"), 9), tr[1] == "", tr[1], str(tr[0].get("patch") or ""),
                               str(tr[0].get("rule", "")), str(tr[0].get("action", ""))))
    rows = [row(t, region) for t, region in keyed]
    return Table(headers, rows, [""] * len(rows), pct)


def assessments_table(assessments, names, cat=None) -> Table:
    cat = cat or {}
    known = ("rule", "kind", "level", "region", "period", "values", "flagged", "cite", "region_name", "name")
    flat = [assessment_values(a) for a in assessments]
    keys: dict[str, None] = {}
    for fv in flat:
        keys.update(dict.fromkeys(fv))
    value_keys = sorted(keys, key=lambda k: k.startswith("deductions."))  # stable: deductions last
    ratio_keys = {k for k in value_keys if is_ratio_key(k)}
    for a in assessments:
        key, _ = threshold_key(a, cat.get(a.get("rule")))
        if key:
            ratio_keys.add(key)
    extras = extra_columns(assessments, known)
    titles = deduction_titles(assessments, cat)
    headers = (["规则编号", "评估类型", "评估级别", "行政区代码", "行政区名称", "期间"]
               + [assessment_value_label(k, titles) for k in value_keys] + ["是否预警/超限", "条款"] + [extra_label(k) for k in extras])
    rows = []
    for a, fv in zip(assessments, flat):
        region = "" if a.get("region") is None else str(a.get("region"))
        rows.append([a.get("rule"), a.get("kind"), a.get("level"), region, region_name(a, names), a.get("period")]
                    + [fv.get(k) for k in value_keys] + ["未评估" if a.get("flagged") is None else bool(a.get("flagged")), a.get("cite")]
                    + extra_values(a, known, extras))
    n = 6 + len(value_keys)
    pct = [6 + i for i, k in enumerate(value_keys) if k in ratio_keys]
    pct += [n + 2 + i for i, k in enumerate(extras) if is_ratio_key(k)]
    classes = ["flagged" if a.get("flagged") else "" for a in assessments]
    return Table(headers, rows, classes, pct, flag_col=n)


def regions_table(doc: dict, levels: dict[str, int], names: dict[str, str] | None = None,
                  region_levels: dict[str, str] | None = None, by_region: dict[str, dict] | None = None) -> Table:
    """One row per region the run names (findings and tasks by their region, assessments by theirs): code, name,
    level, findings by severity, tasks by level, and each assessment kind's flag (是 when any period is listed,
    否 when assessed and never listed, empty when not assessed there). by_region: the findings and tasks already
    counted ({code: {"sev": Counter, "tasks": Counter}}, engine.report.source), else counted from the doc."""
    names = names if names is not None else region_label_map()
    region_levels = region_levels if region_levels is not None else region_level_map()
    findings, tasks, assessments = doc.get("findings") or [], doc.get("tasks") or [], doc.get("assessments") or []
    kinds = list(dict.fromkeys(str(a.get("kind") or a.get("rule")) for a in assessments))
    stats: dict[str, dict] = {}

    def at(code):
        return stats.setdefault(code, {"sev": Counter(), "tasks": Counter(), "flags": {}, "level": None})

    if by_region is None:
        for f in findings:
            at(row_region(f, names))["sev"][f.get("severity")] += 1
        for t in tasks:
            at(row_region(t, names))["tasks"][t.get("level")] += 1
    else:
        for code, st in by_region.items():
            at(code)["sev"].update(st["sev"])
            at(code)["tasks"].update(st["tasks"])
    task_levels = sorted({lv for st in stats.values() for lv in st["tasks"]} | set(levels),
                         key=lambda x: (levels.get(x, 9), str(x)))
    for a in assessments:
        st = at("" if a.get("region") is None else str(a.get("region")))
        kind = str(a.get("kind") or a.get("rule"))
        st["flags"][kind] = st["flags"].get(kind, False) or bool(a.get("flagged"))
        st["level"] = st["level"] or a.get("level")
    headers = (["行政区代码", "行政区名称", "级别", "问题数", "错误", "警告", "提示"]
               + [f"{lv}核查任务" for lv in task_levels] + [f"{k}（是否列入）" for k in kinds])
    rows, classes = [], []
    for code in sorted(stats, key=lambda c: (c == "", c)):
        st = stats[code]
        sev = st["sev"]
        rows.append([code, names.get(code, "") if code else "（未识别行政区）", region_levels.get(code) or st["level"] or "",
                     sum(sev.values()), sev.get("error", 0), sev.get("warning", 0), sev.get("info", 0)]
                    + [st["tasks"].get(lv, 0) for lv in task_levels]
                    + [st["flags"].get(k) for k in kinds])
        classes.append("flagged" if any(st["flags"].values()) else "")
    return Table(headers, rows, classes)


def catalog_table(catalog) -> Table:
    headers = ["规则编号", "类别", "名称", "严重程度/核查级别", "任务", "条款", "条件"]
    rows = [[c.get("id"), c.get("kind"), c.get("title"),
             severity_label(c.get("severity")) if c.get("severity") else c.get("level"),
             c.get("action"), c.get("cite"), c.get("when")] for c in catalog or []]
    return Table(headers, rows, [""] * len(rows))


def cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return values.yes_no(v)
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, ensure_ascii=False)
    return v


# --------------------------------------------------------------------------- workbook
