"""The Excel ledger (台账) of a run: 汇总, 问题清单, 核查任务, 区域评估, 规则说明 (XlsxWriter).

Input is the JSON contract of a run (engine.run.result) plus the rule catalog. Nothing here knows the law:
labels translate the contract's own keys; thresholds are whatever the assessment entries carry.
The table model is engine.report.tables (shared with the HTML page).
"""
from __future__ import annotations

import itertools
import re
from collections import Counter

import xlsxwriter

from engine import values
from engine.report.atomic import atomic_write
from engine.report.tables import (
    Table,
    assessments_table,
    catalog_index,
    catalog_table,
    cell,
    findings_table,
    is_number,
    level_order,
    policy_years,
    region_label_map,
    region_level_map,
    regions_table,
    row_region,
    severity_label,
    tasks_table,
)
from engine.data.dictionary import Dictionary
from engine.report.waived import problems_table, waived_table

EXCEL_MAX_ROWS = 1_048_576
EXCEL_MAX_CHARS = 32_767  # characters in one cell; a longer text is cut visibly, never silently


def fit(v: str) -> str:
    if len(v) <= EXCEL_MAX_CHARS:
        return v
    mark = f"…〔已截断：原文 {len(v):,} 个字符，Excel 单元格最多 {EXCEL_MAX_CHARS:,} 个；完整内容见 JSON 输出〕"
    return v[:EXCEL_MAX_CHARS - len(mark)] + mark


# --------------------------------------------------------------------------- shared presentation helpers

def write_xlsx(doc: dict, catalog: list[dict], path, dictionary: Dictionary) -> None:
    """The ledger of a run's JSON document (every finding and task in it)."""
    from engine.report.source import from_doc

    write_ledger(from_doc(doc, region_label_map(), level_order(dictionary)), catalog, path, dictionary)


# Up to this many findings and tasks, a ledger is built in memory (a county's: ~0.1 s less than writing each sheet
# to a temporary file first); a larger one in constant-memory mode. Either way, the same cells.
IN_MEMORY_ROWS = 10_000


def write_ledger(data, catalog: list[dict], path, dictionary: Dictionary) -> None:
    """The ledger of engine.report.source.ReportData: XlsxWriter in constant-memory mode (in memory when small,
    IN_MEMORY_ROWS), the findings and tasks written row by row as they are fetched."""
    small = data.findings_total + data.tasks_total <= IN_MEMORY_ROWS
    with atomic_write(path, mode=None) as tmp:
        wb = xlsxwriter.Workbook(tmp, {"constant_memory": not small, "in_memory": small, "strings_to_numbers": False,
                                       "strings_to_formulas": False, "strings_to_urls": False})
        fmt = _formats(wb)
        cat = catalog_index(catalog)
        levels = level_order(dictionary)
        names = region_label_map()
        doc = data.doc
        _summary_sheet(wb, fmt, data, cat, levels)
        _table_sheet(wb, fmt, "问题清单", findings_table(data.findings(None), cat, names, extras=data.extras["findings"],
                                                      presorted=True))
        _table_sheet(wb, fmt, "核查任务", tasks_table(data.tasks(None), cat, levels, names, extras=data.extras["tasks"],
                                                   presorted=True))
        if doc.get("waived") is not None:  # --waivers: findings set aside, and the waivers not applied
            _table_sheet(wb, fmt, "已说明", waived_table(doc["waived"], cat, names))
            _table_sheet(wb, fmt, "说明未生效", problems_table(doc["waived"]))
        if doc.get("assessments"):
            _table_sheet(wb, fmt, "区域评估", assessments_table(doc["assessments"], names, cat))
        _table_sheet(wb, fmt, "规则说明", catalog_table(catalog))
        wb.close()


SPLIT_KEYS = ("county",)  # --split-by: one ledger per county


def split_by_county(doc: dict, names: dict[str, str] | None = None,
                    region_levels: dict[str, str] | None = None) -> dict[str, dict]:
    """The run's JSON split into one doc per county: {"610902_汉滨区": doc}. A county's doc keeps its findings and
    tasks (by the region they name or their 图斑编号's code) and its own assessments; rows whose county is not
    known go to "未识别行政区". Everything else (policy, input, run, warnings) is shared."""
    names = names if names is not None else region_label_map()
    region_levels = region_levels if region_levels is not None else region_level_map()

    def county(code: str) -> str:
        return code if code and region_levels.get(code, "县级") == "县级" else ""

    parts: dict[str, dict] = {}

    def part(code: str) -> dict:
        key = f"{code}_{names.get(code, '')}".rstrip("_") if code else "未识别行政区"
        if key not in parts:
            parts[key] = {**doc, "findings": [], "tasks": [], "assessments": []}
            if doc.get("waived") is not None:  # --waivers: each county keeps its own 已说明 and 说明未生效 rows
                parts[key]["waived"] = {**doc["waived"], "findings": [], "problems": []}
        return parts[key]

    for f in doc.get("findings") or []:
        part(county(row_region(f, names)))["findings"].append(f)
    for t in doc.get("tasks") or []:
        code = row_region(t, names)
        if code and not county(code):
            continue  # a city's or province's own task is not a county's
        part(county(code))["tasks"].append(t)
    for a in doc.get("assessments") or []:
        code = "" if a.get("region") is None else str(a.get("region"))
        if county(code):
            part(code)["assessments"].append(a)
    for key in ("findings", "problems") if doc.get("waived") is not None else ():
        for w in doc["waived"].get(key) or []:
            part(county(row_region(w, names)))["waived"][key].append(w)
    for p in parts.values():
        if "waived" in p:
            p["waived"].update(count=len(p["waived"]["findings"]), problems_count=len(p["waived"]["problems"]))
    return dict(sorted(parts.items()))


def write_xlsx_split(doc: dict, catalog: list[dict], folder, dictionary: Dictionary, by: str = "county") -> list:
    """One ledger per county in `folder` (created): folder/610902_汉滨区.xlsx …; returns the paths written."""
    from pathlib import Path

    if by not in SPLIT_KEYS:
        raise ValueError(f"--split-by 只支持 {'、'.join(SPLIT_KEYS)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for key, part in split_by_county(doc).items():
        path = folder / (re.sub(r'[\\/:*?"<>|\x00-\x1f]', "_", key) + ".xlsx")
        write_xlsx(part, catalog, path, dictionary)
        out.append(path)
    return out


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
        "pct_warning": wb.add_format({**base, "num_format": "0.00%", "bg_color": "#FFF2CC"}),
        "num": wb.add_format({**base, "num_format": values.XLSX_AREA}),
        "date": wb.add_format({**base, "num_format": values.XLSX_DATE}),
        "date_flag": wb.add_format({**base, "num_format": values.XLSX_DATE, "bg_color": "#FFD7D7"}),
        "date_warning": wb.add_format({**base, "num_format": values.XLSX_DATE, "bg_color": "#FFF2CC"}),
        "num_flag": wb.add_format({**base, "num_format": values.XLSX_AREA, "bg_color": "#FFD7D7"}),
        "num_warning": wb.add_format({**base, "num_format": values.XLSX_AREA, "bg_color": "#FFF2CC"}),
    }


def _write_table(wb, fmt, name: str, headers: list[str], pairs, *, col_formats=None) -> None:
    """(row, kind) pairs as one sheet (several when over Excel's row limit): header frozen, autofilter. Read once
    and in order (constant-memory mode); column widths from the first rows. kind names a row format ("error",
    "warning", "flag") or None; col_formats[c](value, kind) may return a cell format (numbers, percentages)."""
    per_sheet = EXCEL_MAX_ROWS - 1
    pairs = iter(pairs)
    head = list(itertools.islice(pairs, 2000))
    widths = _widths(headers, [row for row, _ in head])

    def sheet(n: int):
        ws = wb.add_worksheet(name if n == 0 else f"{name}({n + 1})")
        for c, w in enumerate(widths):
            ws.set_column(c, c, w)
        ws.freeze_panes(1, 0)
        ws.set_row(0, 20)
        ws.write_row(0, 0, headers, fmt["head"])
        return ws

    n, r, ws = 0, 0, sheet(0)
    for row, kind in itertools.chain(head, pairs):
        if r == per_sheet:
            ws.autofilter(0, 0, r, len(headers) - 1)
            n, r = n + 1, 0
            ws = sheet(n)
        r += 1
        _write_row(ws, fmt, r, row, kind, col_formats)
    ws.autofilter(0, 0, max(r, 1), len(headers) - 1)


def _write_row(ws, fmt, r: int, row: list, kind, col_formats) -> None:
    row_fmt = fmt[kind] if kind else None
    for c, v in enumerate(row):
        if v is None or v == "":
            if row_fmt:
                ws.write_blank(r, c, None, row_fmt)
        elif v.__class__ is str:
            d = _iso_date(v)
            if d is None:
                ws.write_string(r, c, fit(v), row_fmt)
            else:
                ws.write_datetime(r, c, d, fmt["date" + {"flag": "_flag", "error": "_flag",
                                                          "warning": "_warning"}.get(kind, "")])
        else:
            f = col_formats[c](v, kind) if col_formats and col_formats[c] else None
            ws.write(r, c, cell(v), f or row_fmt)


def _iso_date(v: str):
    """A date when the whole text is one (2024-06-30, or with a time of day); else None: text that only starts
    with a date stays text."""
    if len(v) == 10 or (len(v) >= 16 and v[10] in "T "):
        return values.parse_date(v)
    return None


def _widths(headers, rows, sample: int = 2000) -> list[float]:
    seen: dict[str, float] = {}  # a column repeats its values (rules, levels, regions): each text measured once

    def w(v) -> float:
        s = str(cell(v))[:80]
        if s not in seen:
            seen[s] = sum(2.0 if ord(ch) > 0x2E80 else 1.1 for ch in s)
        return seen[s]
    out = []
    for c, h in enumerate(headers):
        longest = w(h) + 2
        for r in rows[:sample]:
            if longest + 1 >= _MAX_WIDTH:  # the widest a column gets: the rest cannot change it
                break
            if c < len(r):
                longest = max(longest, w(r[c]))
        out.append(min(max(longest + 1, 6), _MAX_WIDTH))
    return out


_MAX_WIDTH = 60


def _summary_sheet(wb, fmt, data, cat, levels: dict[str, int]) -> None:
    doc = data.doc
    ws = wb.add_worksheet("汇总")
    ws.set_column(0, 0, 22)
    ws.set_column(1, 1, 44)
    ws.set_column(2, 5, 14)
    policy, inp, run = doc.get("policy") or {}, doc.get("input") or {}, doc.get("run") or {}
    assessments = doc.get("assessments") or []
    r = 0
    ws.write(r, 0, f"卫片执法校验结果（{policy_years(policy)}年度政策）", fmt["title"])
    r += 2
    meta = [("政策来源", policy.get("source")), ("政策摘要", policy.get("digest")),
            ("输入文件", inp.get("path")), ("输入文件 SHA-256", inp.get("sha256")),
            ("数据行数", inp.get("rows")), ("无法读取的行", inp.get("rejected")),
            ("评估基准日", run.get("as_of")), ("引擎版本", run.get("engine")), ("DuckDB 版本", run.get("duckdb"))]
    for k, v in meta:
        ws.write(r, 0, k, fmt["key"])
        d = values.parse_date(v) if k == "评估基准日" else None
        if d is not None:
            ws.write_datetime(r, 1, d, fmt["date"])
        else:
            ws.write(r, 1, cell(v), fmt["text"])
        r += 1
    r += 1
    regions = regions_table(doc, levels, by_region=data.by_region)
    ws.write(r, 0, f"按行政区（{len(regions.rows)} 个）", fmt["h2"])
    r += 1
    ws.write_row(r, 0, regions.headers, fmt["head"])
    r += 1
    for row, kind in zip(regions.rows, regions.classes):
        row_fmt = fmt["flag"] if kind else fmt["text"]
        for c, v in enumerate(row):
            if v is None:
                ws.write_blank(r, c, None, row_fmt)
            elif isinstance(v, str):
                ws.write_string(r, c, v, row_fmt)
            else:
                ws.write(r, c, cell(v), row_fmt)
        r += 1
    r += 1
    ws.write(r, 0, "问题数（按严重程度）", fmt["h2"])
    r += 1
    by_sev = data.by_severity
    for sev in ("error", "warning", "info"):
        ws.write(r, 0, severity_label(sev), fmt[sev] if sev in fmt else fmt["text"])
        ws.write(r, 1, by_sev.get(sev, 0), fmt["text"])
        r += 1
    ws.write(r, 0, "合计", fmt["key"])
    ws.write(r, 1, data.findings_total, fmt["text"])
    r += 2
    ws.write(r, 0, "问题数（按规则）", fmt["h2"])
    r += 1
    ws.write_row(r, 0, ["规则编号", "规则名称", "严重程度", "问题数", "条款"], fmt["head"])
    r += 1
    for rule, first_sev, n in data.by_rule:
        c = cat.get(rule, {})
        sev = c.get("severity") or first_sev
        ws.write_row(r, 0, [rule, c.get("title", ""), severity_label(sev), n, c.get("cite", "")], fmt["text"])
        r += 1
    r += 1
    ws.write(r, 0, "核查任务（按级别）", fmt["h2"])
    r += 1
    ws.write_row(r, 0, ["级别", "任务", "数量"], fmt["head"])
    r += 1
    by_task = data.tasks_by_action
    for level, action, n in sorted(by_task, key=lambda x: (levels.get(x[0], 9), str(x[1]))):
        ws.write_row(r, 0, [level, action, n], fmt["text"])
        r += 1
    warnings = doc.get("warnings") or []
    if warnings:
        r += 1
        ws.write(r, 0, f"读取与检查提示（{len(warnings)} 条）", fmt["h2"])
        r += 1
        for w in warnings:
            ws.write(r, 0, str(w), fmt["text"])
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


def _table_sheet(wb, fmt, name: str, table: Table) -> None:
    pct = set(table.pct_cols)

    def number_format(col):
        def f(v, kind):
            if not is_number(v):
                return None
            suffix = {"flag": "_flag", "error": "_flag", "warning": "_warning"}.get(kind, "")
            if col not in pct and isinstance(v, int):
                return None  # counts and row numbers: as they are
            return fmt[("pct" if col in pct else "num") + suffix]
        return f

    kinds = {"sev-error": "error", "sev-warning": "warning", "flagged": "flag"}
    _write_table(wb, fmt, name, table.headers, ((row, kinds.get(c)) for row, c in table.pairs()),
                 col_formats=[number_format(c) for c in range(len(table.headers))])
