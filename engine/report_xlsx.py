"""The Excel ledger (台账) of a run: 汇总, 问题清单, 核查任务, 区域评估, 规则说明 (XlsxWriter).

Input is the JSON contract of a run (DESIGN.md) plus the rule catalog. Nothing here knows the law:
labels translate the contract's own keys; thresholds are whatever the assessment entries carry.
The label helpers are shared with report_html.
"""
from __future__ import annotations

import json
from collections import Counter

import xlsxwriter

from .atomic import atomic_write

SEVERITY_LABELS = {"error": "错误", "warning": "警告", "info": "提示"}
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}
LEVEL_ORDER = {"省级": 0, "市级": 1, "县级": 2}
VALUE_LABELS = {
    "numerator": "分子(亩)", "denominator": "分母(亩)", "ratio": "比例", "rate": "比率",
    "count": "数量", "total": "总数", "area": "面积(亩)", "ratio_threshold": "比例阈值",
    "numerator_threshold": "分子阈值(亩)", "threshold": "阈值", "near": "接近", "near_ratio": "接近比例",
}
EXTRA_LABELS = {  # keys the core may add to findings/tasks/assessments beyond the contract
    "source": "来源文件", "file": "来源文件", "line": "行号", "year": "监测年度", "region": "行政区代码",
    "region_name": "行政区名称", "field": "字段", "value": "值", "values": "取值", "due": "截止日期",
    "reason": "原因", "level": "级别", "period": "期间",
}
EXCEL_MAX_ROWS = 1_048_576


# --------------------------------------------------------------------------- shared presentation helpers

def severity_label(s) -> str:
    return SEVERITY_LABELS.get(s, str(s or ""))


def catalog_index(catalog) -> dict[str, dict]:
    return {c.get("id"): c for c in catalog or []}


def region_label_map() -> dict[str, str]:
    """{code: name} from the region reference table; empty when it cannot be loaded."""
    try:
        from .regions import region_names
        return dict(region_names())
    except Exception:  # noqa: BLE001 - names are a nicety; codes are always shown
        return {}


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


def value_label(key: str) -> str:
    parts = key.split(".")
    return ".".join(VALUE_LABELS.get(p, p) for p in parts)


def is_ratio_key(key: str) -> bool:
    last = key.split(".")[-1].lower()
    return last in ("ratio", "rate", "ratio_threshold", "near_ratio") or last.endswith(("_ratio", "_rate")) \
        or last.endswith(("率", "比例"))


def threshold_of(entry: dict) -> float | None:
    """The ratio threshold an assessment entry carries, if any (never a default).
    Looked up in: entry.threshold(s).ratio, entry.values.ratio_threshold / threshold_ratio / threshold.ratio,
    a numeric entry.threshold."""
    values = entry.get("values") or {}
    for holder in (entry.get("thresholds"), entry.get("threshold"), values.get("threshold"),
                   values.get("thresholds")):
        if isinstance(holder, dict):
            for k in ("ratio", "rate", "比例"):
                if _is_number(holder.get(k)):
                    return float(holder[k])
    for k in ("ratio_threshold", "threshold_ratio", "rate_threshold", "比例阈值"):
        if _is_number(values.get(k)):
            return float(values[k])
    if _is_number(entry.get("threshold")):
        return float(entry["threshold"])
    return None


def ratio_of(entry: dict) -> float | None:
    values = entry.get("values") or {}
    for k in ("ratio", "rate"):
        if _is_number(values.get(k)):
            return float(values[k])
    return None


def _is_number(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def sorted_tasks(tasks) -> list[dict]:
    return sorted(tasks or [], key=lambda t: (LEVEL_ORDER.get(t.get("level"), 9), str(t.get("patch", "")),
                                              str(t.get("rule", "")), str(t.get("action", ""))))


def extra_keys(items, known) -> list[str]:
    keys: list[str] = []
    for it in items:
        for k, v in it.items():
            if k not in known and k not in keys and not isinstance(v, dict):
                keys.append(k)
    return keys


def cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return "是" if v else "否"
    if isinstance(v, (list, tuple, dict)):
        return json.dumps(v, ensure_ascii=False)
    return v


# --------------------------------------------------------------------------- workbook

def write_xlsx(doc: dict, catalog: list[dict], path) -> None:
    with atomic_write(path, mode=None) as tmp:
        wb = xlsxwriter.Workbook(tmp, {"constant_memory": True, "strings_to_numbers": False,
                                       "strings_to_formulas": False, "strings_to_urls": False})
        fmt = _formats(wb)
        cat = catalog_index(catalog)
        _summary_sheet(wb, fmt, doc, cat)
        _findings_sheet(wb, fmt, doc.get("findings") or [], cat)
        _tasks_sheet(wb, fmt, doc.get("tasks") or [], cat)
        if doc.get("assessments"):
            _assessments_sheet(wb, fmt, doc["assessments"], cat)
        _catalog_sheet(wb, fmt, catalog or [])
        wb.close()


def _formats(wb):
    base = {"font_name": "等线", "font_size": 10.5, "valign": "top"}
    return {
        "title": wb.add_format({**base, "bold": True, "font_size": 14}),
        "h2": wb.add_format({**base, "bold": True, "font_size": 11, "font_color": "#1F4E79"}),
        "key": wb.add_format({**base, "bold": True, "font_color": "#555555"}),
        "head": wb.add_format({**base, "bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True}),
        "text": wb.add_format({**base}),
        "error": wb.add_format({**base, "bg_color": "#FFD7D7"}),
        "warning": wb.add_format({**base, "bg_color": "#FFF2CC"}),
        "flag": wb.add_format({**base, "bg_color": "#FFD7D7"}),
        "pct": wb.add_format({**base, "num_format": "0.00%"}),
        "pct_flag": wb.add_format({**base, "num_format": "0.00%", "bg_color": "#FFD7D7"}),
        "num": wb.add_format({**base, "num_format": "#,##0.####"}),
        "num_flag": wb.add_format({**base, "num_format": "#,##0.####", "bg_color": "#FFD7D7"}),
    }


def _write_table(wb, fmt, name: str, headers: list[str], rows, *, row_format=None, col_formats=None,
                 widths=None) -> None:
    """Rows as one sheet (or several when over Excel's row limit): header frozen, autofilter."""
    rows = list(rows)
    per_sheet = EXCEL_MAX_ROWS - 1
    chunks = [rows[i:i + per_sheet] for i in range(0, len(rows), per_sheet)] or [[]]
    widths = widths or _widths(headers, rows)
    for n, chunk in enumerate(chunks):
        ws = wb.add_worksheet(name if n == 0 else f"{name}({n + 1})")
        for c, w in enumerate(widths):
            ws.set_column(c, c, w)
        ws.freeze_panes(1, 0)
        ws.set_row(0, 20)
        ws.write_row(0, 0, headers, fmt["head"])
        for r, row in enumerate(chunk, 1):
            rf = row_format(row) if row_format else None
            for c, v in enumerate(row):
                f = (col_formats[c](v, rf) if col_formats and col_formats[c] else None) or (fmt[rf] if rf else None)
                ws.write(r, c, cell(v), f)
        ws.autofilter(0, 0, max(len(chunk), 1), len(headers) - 1)


def _widths(headers, rows, sample: int = 2000) -> list[float]:
    def w(v) -> float:
        s = str(cell(v))
        return sum(2.0 if ord(ch) > 0x2E80 else 1.1 for ch in s[:80])
    out = []
    for c, h in enumerate(headers):
        longest = max([w(h) + 2] + [w(r[c]) for r in rows[:sample] if c < len(r)])
        out.append(min(max(longest + 1, 6), 60))
    return out


def _summary_sheet(wb, fmt, doc, cat) -> None:
    ws = wb.add_worksheet("汇总")
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 44)
    ws.set_column(2, 5, 14)
    policy, inp, run = doc.get("policy") or {}, doc.get("input") or {}, doc.get("run") or {}
    findings, tasks, assessments = doc.get("findings") or [], doc.get("tasks") or [], doc.get("assessments") or []
    r = 0
    ws.write(r, 0, f"卫片执法校验结果（{policy.get('year', '')}年度政策）", fmt["title"])
    r += 2
    meta = [("政策来源", policy.get("source")), ("政策摘要", policy.get("digest")),
            ("输入文件", inp.get("path")), ("输入文件 SHA-256", inp.get("sha256")),
            ("数据行数", inp.get("rows")), ("无法读取的行", inp.get("rejected")),
            ("评估基准日", run.get("as_of")), ("引擎版本", run.get("engine")), ("DuckDB 版本", run.get("duckdb"))]
    for k, v in meta:
        ws.write(r, 0, k, fmt["key"])
        ws.write(r, 1, cell(v), fmt["text"])
        r += 1
    r += 1
    ws.write(r, 0, "问题数（按严重程度）", fmt["h2"])
    r += 1
    by_sev = Counter(f.get("severity") for f in findings)
    for sev in ("error", "warning", "info"):
        ws.write(r, 0, severity_label(sev), fmt[sev] if sev in fmt else fmt["text"])
        ws.write(r, 1, by_sev.get(sev, 0), fmt["text"])
        r += 1
    ws.write(r, 0, "合计", fmt["key"])
    ws.write(r, 1, len(findings), fmt["text"])
    r += 2
    ws.write(r, 0, "问题数（按规则）", fmt["h2"])
    r += 1
    ws.write_row(r, 0, ["规则编号", "规则名称", "严重程度", "问题数", "条款"], fmt["head"])
    r += 1
    by_rule = Counter(f.get("rule") for f in findings)
    for rule, n in sorted(by_rule.items(), key=lambda kv: (-kv[1], str(kv[0]))):
        c = cat.get(rule, {})
        sev = c.get("severity") or next((f.get("severity") for f in findings if f.get("rule") == rule), None)
        ws.write_row(r, 0, [rule, c.get("title", ""), severity_label(sev), n, c.get("cite", "")], fmt["text"])
        r += 1
    r += 1
    ws.write(r, 0, "核查任务（按级别）", fmt["h2"])
    r += 1
    ws.write_row(r, 0, ["级别", "任务", "数量"], fmt["head"])
    r += 1
    by_task = Counter((t.get("level"), t.get("action")) for t in tasks)
    for (level, action), n in sorted(by_task.items(), key=lambda kv: (LEVEL_ORDER.get(kv[0][0], 9), str(kv[0][1]))):
        ws.write_row(r, 0, [level, action, n], fmt["text"])
        r += 1
    if assessments:
        r += 1
        ws.write(r, 0, "区域评估", fmt["h2"])
        r += 1
        ws.write_row(r, 0, ["评估类型", "评估数", "预警/超限数"], fmt["head"])
        r += 1
        kinds = Counter(a.get("kind") for a in assessments)
        flagged = Counter(a.get("kind") for a in assessments if a.get("flagged"))
        for kind, n in kinds.items():
            ws.write_row(r, 0, [kind, n, flagged.get(kind, 0)], fmt["flag"] if flagged.get(kind) else fmt["text"])
            r += 1


def _findings_sheet(wb, fmt, findings, cat) -> None:
    known = ("patch", "rule", "severity", "message", "cite")
    extras = extra_keys(findings, known)
    headers = ["图斑编号", "规则编号", "规则名称", "严重程度", "问题说明", "条款"] + [EXTRA_LABELS.get(k, k) for k in extras]
    rows = [[f.get("patch"), f.get("rule"), cat.get(f.get("rule"), {}).get("title", ""), severity_label(f.get("severity")),
             f.get("message"), f.get("cite")] + [f.get(k) for k in extras] for f in findings]
    sev = {v: k for k, v in SEVERITY_LABELS.items()}
    _write_table(wb, fmt, "问题清单", headers, rows,
                 row_format=lambda row: {"error": "error", "warning": "warning"}.get(sev.get(row[3])))


def _tasks_sheet(wb, fmt, tasks, cat) -> None:
    known = ("patch", "rule", "level", "action", "cite")
    tasks = sorted_tasks(tasks)
    extras = extra_keys(tasks, known)
    headers = ["核查级别", "任务", "图斑编号", "规则编号", "规则名称", "条款"] + [EXTRA_LABELS.get(k, k) for k in extras]
    rows = [[t.get("level"), t.get("action"), t.get("patch"), t.get("rule"), cat.get(t.get("rule"), {}).get("title", ""),
             t.get("cite")] + [t.get(k) for k in extras] for t in tasks]
    _write_table(wb, fmt, "核查任务", headers, rows)


def _assessments_sheet(wb, fmt, assessments, cat) -> None:
    names = region_label_map()
    known = ("rule", "kind", "level", "region", "period", "values", "flagged", "cite", "region_name")
    value_keys: list[str] = []
    flat = []
    for a in assessments:
        fv = flatten(a.get("values") or {})
        flat.append(fv)
        value_keys += [k for k in fv if k not in value_keys]
    extras = extra_keys(assessments, known)
    headers = (["规则编号", "评估类型", "评估级别", "行政区代码", "行政区名称", "期间"]
               + [value_label(k) for k in value_keys] + ["是否预警/超限", "条款"]
               + [EXTRA_LABELS.get(k, k) for k in extras])
    rows = []
    for a, fv in zip(assessments, flat):
        region = a.get("region")
        rows.append([a.get("rule"), a.get("kind"), a.get("level"), region,
                     a.get("region_name") or names.get(str(region), ""), a.get("period")]
                    + [fv.get(k) for k in value_keys] + [bool(a.get("flagged")), a.get("cite")]
                    + [a.get(k) for k in extras])
    n_fixed = 6

    def value_format(key):
        def f(v, rf):
            if not _is_number(v):
                return None
            if is_ratio_key(key):
                return fmt["pct_flag"] if rf else fmt["pct"]
            return fmt["num_flag"] if rf else fmt["num"]
        return f

    col_formats = [None] * n_fixed + [value_format(k) for k in value_keys] + [None] * (2 + len(extras))
    flag_col = n_fixed + len(value_keys)
    _write_table(wb, fmt, "区域评估", headers, rows, col_formats=col_formats,
                 row_format=lambda row: "flag" if row[flag_col] else None)


def _catalog_sheet(wb, fmt, catalog) -> None:
    headers = ["规则编号", "类别", "名称", "严重程度/核查级别", "任务", "条款", "条件"]
    rows = []
    for c in catalog:
        grade = severity_label(c.get("severity")) if c.get("severity") else (c.get("level") or "")
        rows.append([c.get("id"), c.get("kind"), c.get("title"), grade, c.get("action") or "",
                     c.get("cite"), c.get("when")])
    _write_table(wb, fmt, "规则说明", headers, rows)
