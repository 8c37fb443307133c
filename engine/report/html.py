"""The HTML report of a run: one self-contained page (inline CSS, inline SVG charts, vanilla JS;
no network request). Summary, findings by rule, assessment ratios against the thresholds the
assessment entries carry, and sortable / filterable tables of findings, tasks and assessments."""
from __future__ import annotations

import json
from collections import Counter
from html import escape

from engine.data.dictionary import Dictionary
from engine import values
from engine.report.atomic import atomic_write
from engine.report.xlsx import (
    VALUE_LABELS,
    Table,
    is_ratio_key,
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
    threshold_of,
)

SEV_COLORS = {"error": "#d64545", "warning": "#e5a00d", "info": "#3d8fd1"}
BAR_BLUE, BAR_RED, LINE = "#4a7fb5", "#d64545", "#333"


def write_html(doc: dict, catalog: list[dict], path, dictionary: Dictionary) -> None:
    page = render_html(doc, catalog, dictionary)
    with atomic_write(path, "w", encoding="utf-8", newline="\n") as fh:
        fh.write(page)


def render_html(doc: dict, catalog: list[dict], dictionary: Dictionary) -> str:
    """Sections in the order an official reads: 概况 by level, flagged regions with their numbers and deductions,
    threshold charts, field-check tasks by level and county, findings by county, then the full assessment table,
    the rule chart, the rule catalog and provenance."""
    cat = catalog_index(catalog)
    levels = level_order(dictionary)
    names = region_label_map()
    policy, inp, run = doc.get("policy") or {}, doc.get("input") or {}, doc.get("run") or {}
    findings, tasks, assessments = doc.get("findings") or [], doc.get("tasks") or [], doc.get("assessments") or []
    title = f"卫片执法校验报告 · {policy_years(policy)}年度政策"
    sub = "　".join(x for x in (f"评估基准日 {run['as_of']}" if run.get("as_of") else "",
                               f"输入 {inp['path']}" if inp.get("path") else "") if x)
    parts = [
        "<!doctype html>",
        '<html lang="zh-CN"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<link rel="icon" href="data:,">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f'<header><h1>{escape(title)}</h1><p class="sub">{escape(sub)}</p></header>',
        "<main>",
        _summary(findings, tasks, assessments, levels, names),
        _warnings(doc.get("warnings") or []),
    ]
    if assessments:
        parts.append(_flagged(assessments, names, cat))
        parts.append(_assessment_charts(assessments, names, cat))
    parts.append(_table_section("tasks", "核查任务（按级别、县）", tasks_table(tasks, cat, levels, names)))
    parts.append(_table_section("findings", "问题清单（按县）", findings_table(findings, cat, names)))
    if assessments:
        parts.append(_table_section("assessments", "区域评估（全部）", assessments_table(assessments, names, cat)))
    parts.append(_by_rule(findings, cat))
    parts.append(_table_section("catalog", "规则说明", catalog_table(catalog)))
    parts.append(_provenance(policy, inp, run))
    parts += ["</main>", '<noscript><p class="note">表格的排序与筛选需要启用 JavaScript。</p></noscript>',
              f"<script>{_JS}</script></body></html>"]
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


def _summary(findings, tasks, assessments, levels: dict[str, int], names) -> str:
    """One line per level: which regions each assessment lists (问责, 超限, 约谈, 冻结 …) and how many tasks that
    level checks; then the findings by severity."""
    by_level_tasks = Counter(t.get("level") for t in tasks)
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
    by_sev = Counter(f.get("severity") for f in findings)
    sev = "、".join(f"{severity_label(s)} {by_sev.get(s, 0)} 条" for s in ("error", "warning", "info"))
    lines.append(f'<li><span class="lv">问题</span>共 {len(findings)} 条：{escape(sev)}</li>')
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
        for cond in _conditions(a, cat.get(a.get("rule"))):
            t = _threshold_value(a, cond)
            if t is not None:
                thresholds.append(f"{value_label(cond['value'])} {cond['op']} {_fmt_of(cond['value'])(t)}")
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


def _by_rule(findings, cat) -> str:
    counts = Counter(f.get("rule") for f in findings)
    sev_of = {}
    for f in findings:
        sev_of.setdefault(f.get("rule"), f.get("severity"))
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], str(kv[0])))
    if not rows:
        return '<section id="by-rule"><h2>问题数（按规则）</h2><p class="note">没有发现问题。</p></section>'
    bars = []
    for rule, n in rows:
        entry = cat.get(rule, {})
        sev = entry.get("severity") or sev_of.get(rule)
        title = entry.get("title") or ""
        tip = f"{rule} {title}：{n} 条（{severity_label(sev)}，{entry.get('cite', '')}）"
        bars.append((title or str(rule), n, SEV_COLORS.get(sev, BAR_BLUE), tip))
    svg = _hbar_chart(bars, fmt=lambda v: str(int(v)), label="问题数（按规则）")
    legend = "".join(f'<span><i style="background:{c}"></i>{severity_label(s)}</span>' for s, c in SEV_COLORS.items())
    return (f'<section id="by-rule"><h2>问题数（按规则）</h2><div class="legend">{legend}</div>'
            f'<div class="chart">{svg}</div></section>')


def _conditions(entry: dict, rule: dict | None) -> list[dict]:
    """The flag's conditions the catalog lists (value op threshold), else the ratio against its threshold."""
    conds = [c for c in (rule or {}).get("conditions") or [] if isinstance(c, dict) and c.get("value")]
    if conds:
        return conds
    t = threshold_of(entry, rule)
    return [{"value": "ratio", "op": ">=", "threshold": t}] if ratio_of(entry) is not None else []


def _threshold_value(entry: dict, cond: dict) -> float | None:
    t = cond.get("threshold")
    if isinstance(t, str):
        v = (entry.get("values") or {}).get(t)
        return float(v) if values.is_number(v) else None
    return float(t) if values.is_number(t) else None


def _cond_value(entry: dict, key: str) -> float | None:
    v = (entry.get("values") or {}).get(key)
    if key in ("ratio", "rate") and not values.is_number(v):
        return ratio_of(entry)
    return float(v) if values.is_number(v) else None


def _fmt_of(key: str):
    return values.pct if is_ratio_key(key) else (lambda v: values.number(v, ""))


def _closeness(entry: dict, conds: list[dict]) -> float:
    """How near the entry is to being flagged: the smallest value/threshold over the conditions (threshold/value for
    < and <=); 1 or more means the condition holds. Unknown thresholds count as near."""
    scores = []
    for c in conds:
        v, t = _cond_value(entry, c["value"]), _threshold_value(entry, c)
        if v is None or t is None:
            continue
        if c.get("op") in ("<", "<="):
            scores.append(float("inf") if v == 0 else t / v)
        else:
            scores.append(float("inf") if t == 0 else v / t)
    return min(scores) if scores else float("inf")


NEAR = 0.5  # an entry below half of a threshold is folded behind 显示全部
FOLD_MIN = 8  # charts with fewer bars are never folded


def _assessment_charts(assessments, names, cat) -> str:
    """One chart per condition of each assessment's flag (问责: ratio and area), bars coloured by the flag itself;
    regions and periods far from every threshold are folded behind 显示全部."""
    groups: dict[tuple, list] = {}
    for a in assessments:
        if ratio_of(a) is None and not _conditions(a, cat.get(a.get("rule"))):
            continue
        groups.setdefault((a.get("rule"), a.get("kind"), a.get("level")), []).append(a)
    if not groups:
        return ""
    out = ['<section id="assessment-charts"><h2>区域评估与阈值</h2>',
           f'<div class="legend"><span><i style="background:{BAR_RED}"></i>列入（达到评估标准）</span>'
           f'<span><i style="background:{BAR_BLUE}"></i>未列入</span><span>竖线：阈值</span></div>']
    for (rule, kind, level), entries in groups.items():
        conds = _conditions(entries[0], cat.get(rule)) or [{"value": "ratio", "op": ">=", "threshold": None}]
        periods = {a.get("period") for a in entries}
        entries = sorted(entries, key=lambda a: (not a.get("flagged"), -_closeness(a, conds)))
        near = [a for a in entries if a.get("flagged") or _closeness(a, conds) >= NEAR]
        fold = len(entries) >= FOLD_MIN and len(near) < len(entries)
        cite = entries[0].get("cite")
        flagged_n = sum(1 for a in entries if a.get("flagged"))
        head = (f"{escape(str(kind))}（{escape(str(level))}）<small>{escape(str(rule))}"
                + (f" · {escape(str(cite))}" if cite else "") + f" · 列入 {flagged_n}/{len(entries)}</small>")
        cond_text = " 且 ".join(f"{value_label(c['value'])} {c.get('op', '')} "
                               f"{c['threshold'] if isinstance(c.get('threshold'), str) else _fmt_of(c['value'])(c.get('threshold'))}"
                               for c in conds if c.get("threshold") is not None)

        def charts(items, conds=conds, periods=periods, kind=kind, level=level):
            html = []
            for c in conds:
                key, fmt = c["value"], _fmt_of(c["value"])
                bars, marks = [], []
                for a in items:
                    label = region_name(a, names) or str(a.get("region", ""))
                    if len(periods) > 1:
                        label = f"{label} {a.get('period', '')}"
                    v = _cond_value(a, key)
                    tip = f"{label}：{value_label(key)} {fmt(v)}" + ("（列入）" if a.get("flagged") else "（未列入）")
                    bars.append((label, v or 0.0, BAR_RED if a.get("flagged") else BAR_BLUE, tip,
                                 "flagged" if a.get("flagged") else "not-flagged"))
                    marks.append(_threshold_value(a, c))
                uniform = set(marks)
                line = next(iter(uniform)) if len(uniform) == 1 else None
                html.append(f'<div class="cond" data-value="{escape(key)}"><div class="cond-head">{escape(value_label(key))}'
                            + (f" {escape(c.get('op', ''))} 阈值" if any(m is not None for m in marks) else "") + "</div>"
                            + _hbar_chart(bars, fmt=fmt, line=line, marks=None if len(uniform) <= 1 else marks,
                                          label=f"{kind} {level} {value_label(key)}") + "</div>")
            return "".join(html)

        body = charts(near if fold else entries)
        if fold:
            hidden = len(entries) - len(near)
            if not near:
                body = '<p class="note">没有接近阈值的区域。</p>'
            body += (f'<details class="more"><summary>显示全部（另有 {hidden} 项远低于阈值，共 {len(entries)} 项）</summary>'
                     f"{charts(entries)}</details>")
        note = f'<p class="note">列入条件：{escape(cond_text)}；红色为列入，颜色按评估结果本身。</p>' if cond_text else \
            '<p class="note">红色为列入（达到评估标准）。</p>'
        out.append(f'<figure class="chart" data-rule="{escape(str(rule))}"><figcaption>{head}</figcaption>{body}{note}</figure>')
    out.append("</section>")
    return "".join(out)


def _pct(v) -> str:
    return values.pct(v)


def _hbar_chart(bars, *, fmt, label: str, line: float | None = None, marks=None) -> str:
    """A horizontal bar chart as inline SVG. bars: (label, value, color, tooltip)."""
    label_w, bar_w, row_h, top, right = 310, 440, 24, 26, 80
    width = label_w + bar_w + right
    height = top + row_h * len(bars) + 8
    values = [b[1] for b in bars] + ([line] if line is not None else []) + [m for m in (marks or []) if m is not None]
    vmax = max([v for v in values if v is not None] + [0]) or 1
    vmax *= 1.08

    def x(v):
        return label_w + bar_w * (v / vmax)

    out = [f'<svg class="bars" role="img" aria-label="{escape(label)}" width="{width}" height="{height}" '
           f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
           f'<line x1="{label_w}" y1="{top - 6}" x2="{label_w}" y2="{height - 4}" stroke="#999"/>']
    for i, (text, v, color, tip, *cls) in enumerate(bars):
        y = top + i * row_h
        shown = text if len(text) <= 24 else text[:23] + "…"
        w = max(x(v) - label_w, 0 if v == 0 else 1)
        out.append(f'<g class="bar{" " + cls[0] if cls else ""}"><title>{escape(tip)}</title>'
                   f'<text x="{label_w - 8}" y="{y + 15}" text-anchor="end">{escape(shown)}</text>'
                   f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 8}" fill="{color}" rx="2"/>'
                   f'<text x="{label_w + w + 6:.1f}" y="{y + 15}" class="val">{escape(fmt(v))}</text></g>')
        if marks and marks[i] is not None:
            mx = x(marks[i])
            out.append(f'<line class="threshold" x1="{mx:.1f}" y1="{y + 1}" x2="{mx:.1f}" y2="{y + row_h - 3}" '
                       f'stroke="{LINE}" stroke-width="2"><title>阈值 {escape(fmt(marks[i]))}</title></line>')
    if line is not None:
        lx = x(line)
        out.append(f'<line class="threshold" x1="{lx:.1f}" y1="{top - 8}" x2="{lx:.1f}" y2="{height - 4}" '
                   f'stroke="{LINE}" stroke-dasharray="5,4" stroke-width="1.5"/>'
                   f'<text x="{lx + 4:.1f}" y="{top - 10}" class="val">阈值 {escape(fmt(line))}</text>')
    out.append("</svg>")
    return "".join(out)


# --------------------------------------------------------------------------- tables (data as JSON, drawn by JS)

def _table_section(key: str, title: str, table: Table) -> str:
    data = {"columns": table.headers, "rows": [[_json_cell(v) for v in r] for r in table.rows],
            "classes": table.classes, "pct": table.pct_cols}
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    payload = payload.replace("<", "\\u003c")  # "<" only occurs inside JSON strings: nothing can close the script
    return (f'<section id="{key}"><h2>{escape(title)} <small>{len(table.rows)} 条</small></h2>'
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


_CSS = """
:root{--cjk:"Microsoft YaHei","微软雅黑","PingFang SC","Hiragino Sans GB","Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei","SimSun","宋体",sans-serif;--fg:#1f2328;--muted:#667085;--line:#d0d7de;--head:#eef3f8;--err:#fde2e2;--warn:#fff4d6;--accent:#1f4e79}
*{box-sizing:border-box}
body{margin:0;font:14px/1.55 var(--cjk);color:var(--fg);background:#f6f8fa}
header{background:var(--accent);color:#fff;padding:18px 28px}
header h1{margin:0 0 8px;font-size:22px}
dl.meta{display:flex;flex-wrap:wrap;gap:4px 22px;margin:0;font-size:13px}
dl.meta div{display:flex;gap:6px}dl.meta dt{opacity:.75}dl.meta dd{margin:0;word-break:break-all}
main{padding:8px 28px 40px;max-width:1400px}
section{background:#fff;border:1px solid var(--line);border-radius:6px;padding:14px 18px;margin:16px 0}
h2{font-size:17px;margin:0 0 10px;color:var(--accent)}h2 small,figcaption small{color:var(--muted);font-weight:normal;font-size:13px;margin-left:8px}
.cards{display:flex;flex-wrap:wrap;gap:12px}
.card{min-width:110px;padding:10px 14px;border-radius:6px;background:var(--head);border-left:5px solid #8aa}
.card .n{font-size:24px;font-weight:600}.card .l{color:var(--muted);font-size:13px}
.card.sev-error{border-color:#d64545}.card.sev-warning{border-color:#e5a00d}.card.sev-info{border-color:#3d8fd1}
.card.flag{border-color:#d64545}.card.task{border-color:#4a7fb5}
.chart{overflow-x:auto;margin:6px 0 14px}figure.chart{margin:0 0 18px}figcaption{font-weight:600;margin-bottom:4px}
svg.bars text{font-size:12px;fill:#333;font-family:var(--cjk)}
header .sub{margin:0;font-size:13px;opacity:.85}
ul.levels{list-style:none;margin:0;padding:0}ul.levels li{padding:6px 0;border-bottom:1px dashed var(--line)}
ul.levels .lv{display:inline-block;min-width:3.5em;font-weight:600;color:var(--accent);margin-right:8px}
ul.levels b.n{font-size:16px}ul.levels b.flag{color:#d64545}
.cond{margin:4px 0 8px}.cond-head{font-size:12px;color:var(--muted)}
details.more summary{cursor:pointer;color:var(--accent);margin:6px 0}
table.static td.num{text-align:right}table.static td:not(:last-child){white-space:nowrap}svg.bars text.val{fill:#555}
.legend{display:flex;gap:14px;font-size:12px;color:var(--muted)}.legend i{display:inline-block;width:10px;height:10px;margin-right:4px;border-radius:2px}
.note{color:var(--muted);font-size:12px;margin:4px 0}
.toolbar{display:flex;flex-wrap:wrap;align-items:center;gap:10px;margin-bottom:8px}
.toolbar input{padding:5px 8px;border:1px solid var(--line);border-radius:4px;min-width:260px;font:inherit}
.toolbar button{padding:4px 10px;border:1px solid var(--line);border-radius:4px;background:#fff;cursor:pointer;font:inherit}
.toolbar button:disabled{opacity:.4;cursor:default}.toolbar .count{color:var(--muted);font-size:13px}
.scroll{overflow-x:auto;max-height:70vh;overflow-y:auto;border:1px solid var(--line);border-radius:4px}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{border-bottom:1px solid var(--line);padding:5px 8px;text-align:left;vertical-align:top}
th{background:var(--head);position:sticky;top:0;cursor:pointer;white-space:nowrap;user-select:none}
th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
@page{size:A4;margin:12mm}
@media print{
 body{background:#fff;font-size:11px}header{background:#fff;color:#000;padding:0 0 6px;border-bottom:2px solid #000}
 main{padding:0;max-width:none}section{border:0;padding:0;margin:0 0 8px;break-before:page}
 #summary,#warnings{break-before:auto}
 .toolbar,noscript{display:none}.scroll{max-height:none;overflow:visible;border:0}
 th{position:static}tr{break-inside:avoid}figure.chart{break-inside:avoid}
 details.more{display:none}.chart{overflow:visible}svg.bars{max-width:100%;height:auto}
}
tr.sev-error td{background:var(--err)}tr.sev-warning td{background:var(--warn)}tr.flagged td{background:var(--err)}
"""

_JS = r"""
(function(){
  "use strict";
  var PAGE = 500;
  function fmt(v, pct){
    if (typeof v === "number") {
      if (pct) return (v * 100).toFixed(2) + "%";
      return Number.isInteger(v) ? String(v) : String(Math.round(v * 10000) / 10000);
    }
    return v == null ? "" : String(v);
  }
  var collator = new Intl.Collator("zh-CN", {numeric: true, sensitivity: "base"});
  function cmp(a, b){
    if (typeof a === "number" && typeof b === "number") return a - b;
    if (a === "" && b !== "") return 1;
    if (b === "" && a !== "") return -1;
    return collator.compare(String(a), String(b));
  }
  function build(host){
    var data = JSON.parse(document.getElementById(host.getAttribute("data-source")).textContent);
    var pct = {}; (data.pct || []).forEach(function(i){ pct[i] = true; });
    var all = data.rows.map(function(r, i){
      return {cells: r, cls: (data.classes || [])[i] || "",
              text: r.map(function(v, j){ return fmt(v, pct[j]); }).join("\u0001").toLowerCase()};
    });
    var view = all.slice(), page = 0, sortCol = -1, sortDir = 1;
    var bar = document.createElement("div"); bar.className = "toolbar";
    var input = document.createElement("input"); input.type = "search"; input.placeholder = "筛选（空格分隔多个关键词）";
    input.setAttribute("aria-label", "筛选");
    var prev = document.createElement("button"); prev.type = "button"; prev.textContent = "上一页";
    var next = document.createElement("button"); next.type = "button"; next.textContent = "下一页";
    var count = document.createElement("span"); count.className = "count";
    bar.appendChild(input); bar.appendChild(prev); bar.appendChild(next); bar.appendChild(count);
    var scroll = document.createElement("div"); scroll.className = "scroll";
    var table = document.createElement("table"), thead = document.createElement("thead"), tbody = document.createElement("tbody");
    var hr = document.createElement("tr");
    data.columns.forEach(function(c, j){
      var th = document.createElement("th"); th.textContent = c; th.scope = "col"; th.title = "点击排序";
      th.addEventListener("click", function(){ sortBy(j); });
      hr.appendChild(th);
    });
    thead.appendChild(hr); table.appendChild(thead); table.appendChild(tbody); scroll.appendChild(table);
    host.appendChild(bar); host.appendChild(scroll);
    function render(){
      var pages = Math.max(1, Math.ceil(view.length / PAGE));
      if (page >= pages) page = pages - 1;
      var frag = document.createDocumentFragment();
      view.slice(page * PAGE, page * PAGE + PAGE).forEach(function(r){
        var tr = document.createElement("tr"); if (r.cls) tr.className = r.cls;
        r.cells.forEach(function(v, j){
          var td = document.createElement("td"); td.textContent = fmt(v, pct[j]);
          if (typeof v === "number") td.className = "num";
          tr.appendChild(td);
        });
        frag.appendChild(tr);
      });
      tbody.textContent = ""; tbody.appendChild(frag);
      count.textContent = (view.length === all.length ? "共 " + all.length + " 条" : "筛选出 " + view.length + " 条 / 共 " + all.length + " 条")
        + (pages > 1 ? "，第 " + (page + 1) + "/" + pages + " 页" : "");
      prev.disabled = page === 0; next.disabled = page >= pages - 1;
      prev.hidden = next.hidden = pages <= 1;
    }
    function sortBy(j){
      sortDir = (sortCol === j) ? -sortDir : 1; sortCol = j;
      Array.prototype.forEach.call(hr.children, function(th, k){
        if (k === j) th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending"); else th.removeAttribute("aria-sort");
      });
      view.sort(function(a, b){ return sortDir * cmp(a.cells[j], b.cells[j]); });
      page = 0; render();
    }
    function filter(){
      var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      view = all.filter(function(r){ return terms.every(function(t){ return r.text.indexOf(t) >= 0; }); });
      if (sortCol >= 0) view.sort(function(a, b){ return sortDir * cmp(a.cells[sortCol], b.cells[sortCol]); });
      page = 0; render();
    }
    input.addEventListener("input", filter);
    prev.addEventListener("click", function(){ page--; render(); });
    next.addEventListener("click", function(){ page++; render(); });
    render();
  }
  function init(){ Array.prototype.forEach.call(document.querySelectorAll(".datatable"), build); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
"""
