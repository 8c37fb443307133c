"""The HTML report of a run: one self-contained page (inline CSS, inline SVG charts, vanilla JS;
no network request). Summary, findings by rule, assessment ratios against the thresholds the
assessment entries carry, and sortable / filterable tables of findings, tasks and assessments."""
from __future__ import annotations

import json
from html import escape
from pathlib import Path

from engine.data.dictionary import Dictionary
from engine import values
from engine.report.atomic import atomic_write
from engine.report.waived import problems_table, waived_table
from engine.report.charts import BAR_BLUE, assessment_charts, conditions, fmt_of, hbar_chart, threshold_value
from engine.report.tables import (
    VALUE_LABELS,
    Table,
    value_label,
    assessments_table,
    catalog_index,
    catalog_table,
    level_order,
    cell,
    findings_table,
    ratio_of,
    region_label_map,
    severity_label,
    tasks_table,
    policy_years,
    region_name,
)

SEV_COLORS = {"error": "#d64545", "warning": "#e5a00d", "info": "#3d8fd1"}


HTML_MAX_ROWS = 2000  # findings and tasks embedded in the page, each; the ledger and exports hold every row


def write_html(doc: dict, catalog: list[dict], path, dictionary: Dictionary, data=None) -> None:
    """data: engine.report.source.ReportData of the run (a Result's, streamed); else read from doc."""
    page = render_html(doc, catalog, dictionary, data)
    with atomic_write(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(page)


def render_html(doc: dict | None, catalog: list[dict], dictionary: Dictionary, data=None) -> str:
    """Sections in the order an official reads: 概况 by level, flagged regions with their numbers and deductions,
    threshold charts, field-check tasks by level and county, findings by county, then the full assessment table,
    the rule chart, the rule catalog and provenance. At most HTML_MAX_ROWS findings and tasks are embedded."""
    from engine.report.source import from_doc

    cat = catalog_index(catalog)
    levels = level_order(dictionary)
    names = region_label_map()
    data = data if data is not None else from_doc(doc, names, levels)
    doc = data.doc
    policy, inp, run = doc.get("policy") or {}, doc.get("input") or {}, doc.get("run") or {}
    assessments = doc.get("assessments") or []
    title = f"卫片执法校验报告 · {policy_years(policy)}年度政策"
    sub = "　".join(x for x in (f"评估基准日 {run['as_of']}" if run.get("as_of") else "",
                               f"输入 {inp['path']}" if inp.get("path") else "") if x)
    tasks = tasks_table(list(data.tasks(HTML_MAX_ROWS)), cat, levels, names, extras=data.extras["tasks"], presorted=True)
    findings = findings_table(list(data.findings(HTML_MAX_ROWS)), cat, names, extras=data.extras["findings"],
                              presorted=True)
    parts = [
        "<!doctype html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>{escape(title)}</title><style>{_asset('report.css')}</style></head><body>",
        f'<header><h1>{escape(title)}</h1><p class="sub">{escape(sub)}</p></header>',
        "<main>",
        _summary(data, assessments, levels, names),
        _warnings(doc.get("warnings") or []),
    ]
    if assessments:
        parts.append(_flagged(assessments, names, cat))
        parts.append(assessment_charts(assessments, names, cat))
    parts.append(_table_section("tasks", "核查任务（按级别、县）", tasks, data.tasks_total))
    parts.append(_table_section("findings", "问题清单（按县）", findings, data.findings_total))
    if doc.get("waived") is not None:  # --waivers: findings set aside, and the waivers not applied
        parts.append(_table_section("waived", "已说明（不计入问题数）", waived_table(doc["waived"], cat, names)))
        parts.append(_table_section("waiver-problems", "说明未生效", problems_table(doc["waived"])))
    if assessments:
        parts.append(_table_section("assessments", "区域评估（全部）", assessments_table(assessments, names, cat)))
    parts.append(_by_rule(data.by_rule, cat))
    parts.append(_table_section("catalog", "规则说明", catalog_table(catalog)))
    parts.append(_provenance(policy, inp, run))
    parts += ["</main>", '<noscript><p class="note">表格的排序与筛选需要启用 JavaScript。</p></noscript>',
              f"<script>{_asset('report.js')}</script></body></html>"]
    return "\n".join(parts) + "\n"


# --------------------------------------------------------------------------- sections

def _provenance(policy, inp, run) -> str:
    return f'<section id="provenance"><h2>数据与政策来源</h2>{_meta(policy, inp, run)}</section>'


def _meta(policy, inp, run) -> str:
    items = [("政策来源", policy.get("source")), ("政策摘要", _short_hash(policy.get("digest"))),
             ("输入文件", inp.get("path")), ("SHA-256", _short_hash(inp.get("sha256"))),
             ("数据行数", inp.get("rows")), ("无法读取的行", inp.get("rejected")),
             ("评估基准日", run.get("as_of")), ("引擎", run.get("engine")), ("DuckDB", run.get("duckdb"))]
    dl = "".join(f"<div><dt>{escape(k)}</dt><dd>{escape(str(cell(v)))}</dd></div>" for k, v in items if v is not None)
    return f'<dl class="meta">{dl}</dl>'


def _warnings(warnings) -> str:
    if not warnings:
        return ""
    items = "".join(f"<li>{escape(str(w))}</li>" for w in warnings)
    return f'<section id="warnings"><h2>读取与检查提示 <small>{len(warnings)} 条</small></h2><ul>{items}</ul></section>'


def _short_hash(h):
    if not h:
        return h
    h = str(h)
    return h if len(h) <= 23 else h[:23] + "…"


def _region_label(entry: dict, names) -> str:
    region = "" if entry.get("region") is None else str(entry.get("region"))
    name = region_name(entry, names)
    return f"{name}（{region}）" if name and region else (name or region)


def _summary(data, assessments, levels: dict[str, int], names) -> str:
    """One line per level: which regions each assessment lists (问责, 超限, 约谈, 冻结 …) and how many tasks that
    level checks; then the findings by severity."""
    by_level_tasks = data.tasks_by_level
    flagged: dict[str, dict[str, list[str]]] = {}
    for a in assessments:
        if a.get("flagged"):
            kinds = flagged.setdefault(a.get("level"), {})
            label = _region_label(a, names)
            regions = kinds.setdefault(str(a.get("kind") or a.get("rule")), [])
            if label not in regions:
                regions.append(label)
    all_levels = sorted(set(by_level_tasks) | set(flagged) | ({lv for lv in levels} if assessments else set()),
                        key=lambda x: (levels.get(x, 9), str(x)))
    lines = []
    for lv in all_levels:
        bits = [f'<b class="n">{by_level_tasks.get(lv, 0)}</b> 项核查任务']
        for kind, regions in (flagged.get(lv) or {}).items():
            bits.append(f'{escape(kind)}列入 <b class="n flag">{len(regions)}</b> 个：'
                        f'<span class="regions">{escape("、".join(regions))}</span>')
        if assessments and not flagged.get(lv):
            bits.append("无区域列入")
        lines.append(f'<li data-level="{escape(str(lv))}"><span class="lv">{escape(str(lv))}</span>'
                     f'{"；".join(bits)}</li>')
    by_sev = data.by_severity
    sev = "、".join(f"{severity_label(s)} {by_sev.get(s, 0)} 条" for s in ("error", "warning", "info"))
    lines.append(f'<li><span class="lv">问题</span>共 {data.findings_total} 条：{escape(sev)}</li>')
    return f'<section id="summary"><h2>概况</h2><ul class="levels">{"".join(lines)}</ul></section>'


def _flagged(assessments, names, cat) -> str:
    """The flagged regions with their numbers, thresholds and deductions (by title)."""
    rows = [a for a in assessments if a.get("flagged")]
    if not rows:
        return '<section id="flagged"><h2>列入的区域</h2><p class="note">没有区域达到评估标准。</p></section>'
    head = ["评估", "级别", "行政区", "期间", "分子", "分母", "比例", "阈值", "扣除"]
    body = []
    for a in rows:
        v = a.get("values") or {}
        thresholds = []
        for cond in conditions(a, cat.get(a.get("rule"))):
            t = threshold_value(a, cond)
            if t is not None:
                thresholds.append(f"{value_label(cond['value'])} {cond['op']} {fmt_of(cond['value'])(t)}")
        deds = []
        for d in (v.get("deductions") or {}).values():
            if isinstance(d, dict) and d.get("patches"):
                amounts = "，".join(f"{VALUE_LABELS.get(k, k)} {values.number(d[k])}" for k in ("numerator", "denominator")
                                   if values.is_number(d.get(k)))
                deds.append(f"{d.get('title', '')}：{d['patches']} 个图斑" + (f"（{amounts}）" if amounts else ""))
        cells = [a.get("kind") or a.get("rule"), a.get("level"), _region_label(a, names), a.get("period"),
                 values.number(v.get("numerator"), ""), values.number(v.get("denominator"), ""),
                 values.pct(ratio_of(a)), "；".join(thresholds), "；".join(deds) or "无"]
        body.append("<tr>" + "".join(f'<td{" class=num" if 4 <= i <= 6 else ""}>{escape(str(c or ""))}</td>'
                                     for i, c in enumerate(cells)) + "</tr>")
    th = "".join(f"<th>{h}</th>" for h in head)
    return (f'<section id="flagged"><h2>列入的区域 <small>{len(rows)} 项</small></h2><div class="scroll">'
            f'<table class="static"><thead><tr>{th}</tr></thead><tbody>{"".join(body)}</tbody></table></div></section>')


def _by_rule(by_rule, cat) -> str:
    """by_rule: (rule, severity of its first finding, findings), most findings first."""
    sev_of = {rule: sev for rule, sev, _ in by_rule}
    rows = [(rule, n) for rule, _, n in by_rule]
    if not rows:
        return '<section id="by-rule"><h2>问题数（按规则）</h2><p class="note">没有发现问题。</p></section>'
    bars = []
    for rule, n in rows:
        entry = cat.get(rule, {})
        sev = entry.get("severity") or sev_of.get(rule)
        title = entry.get("title") or ""
        tip = f"{rule} {title}：{n} 条（{severity_label(sev)}，{entry.get('cite', '')}）"
        bars.append((title or str(rule), n, SEV_COLORS.get(sev, BAR_BLUE), tip))
    svg = hbar_chart(bars, fmt=lambda v: str(int(v)), label="问题数（按规则）")
    legend = "".join(f'<span><i style="background:{c}"></i>{severity_label(s)}</span>' for s, c in SEV_COLORS.items())
    return (f'<section id="by-rule"><h2>问题数（按规则）</h2><div class="legend">{legend}</div>'
            f'<div class="chart">{svg}</div></section>')


def _table_section(key: str, title: str, table: Table, total: int | None = None) -> str:
    """total: the rows the run has, when the table holds only the first of them (HTML_MAX_ROWS): the heading says
    so and points to the ledger and the row exports."""
    pairs = list(table.pairs())
    data = {"columns": table.headers, "rows": [[_json_cell(v) for v in r] for r, _ in pairs],
            "classes": [c for _, c in pairs], "pct": table.pct_cols}
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    payload = payload.replace("<", "\\u003c")  # "<" only occurs inside JSON strings: nothing can close the script
    total = len(pairs) if total is None else total
    note = ""
    if total > len(pairs):
        note = (f'<p class="note">共 {total:,} 条，本页只列出前 {len(pairs):,} 条；完整清单见台账（--output 台账.xlsx）'
                f'或明细文件（--output 结果.parquet / 结果.jsonl）。</p>')
    return (f'<section id="{key}"><h2>{escape(title)} <small>{total} 条</small></h2>{note}'
            f'<div class="datatable" data-source="data-{key}"></div>'
            f'<script type="application/json" id="data-{key}">{payload}</script></section>')


def _json_cell(v):
    if v is None:
        return ""
    if isinstance(v, bool):
        return values.yes_no(v)
    if isinstance(v, (int, float)):
        return v
    return str(cell(v))


def _asset(name: str) -> str:
    """The page's inline CSS and JS (engine/report/assets/), read when a page is rendered."""
    return (Path(__file__).with_name("assets") / name).read_text(encoding="utf-8")
