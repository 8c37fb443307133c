"""Inline SVG charts of the HTML page: horizontal bars against a threshold line, one chart per condition of an
assessment's flag (ratio and area for 问责), bars coloured by the flag itself, far-from-threshold bars folded."""
from __future__ import annotations

from html import escape

from engine import values
from engine.report.tables import is_ratio_key, ratio_of, region_name, threshold_of, value_label

BAR_BLUE, BAR_RED, LINE = "#4a7fb5", "#d64545", "#333"
def conditions(entry: dict, rule: dict | None) -> list[dict]:
    """The flag's conditions the catalog lists (value op threshold), else the ratio against its threshold."""
    conds = [c for c in (rule or {}).get("conditions") or [] if isinstance(c, dict) and c.get("value")]
    if conds:
        return conds
    t = threshold_of(entry, rule)
    return [{"value": "ratio", "op": ">=", "threshold": t}] if ratio_of(entry) is not None else []


def threshold_value(entry: dict, cond: dict) -> float | None:
    t = cond.get("threshold")
    if isinstance(t, str):
        v = (entry.get("values") or {}).get(t)
        return float(v) if values.is_number(v) else None
    return float(t) if values.is_number(t) else None


def cond_value(entry: dict, key: str) -> float | None:
    v = (entry.get("values") or {}).get(key)
    if key in ("ratio", "rate") and not values.is_number(v):
        return ratio_of(entry)
    return float(v) if values.is_number(v) else None


def fmt_of(key: str):
    return values.pct if is_ratio_key(key) else (lambda v: values.number(v, ""))


def closeness(entry: dict, conds: list[dict]) -> float:
    """How near the entry is to being flagged: the smallest value/threshold over the conditions (threshold/value for
    < and <=); 1 or more means the condition holds. Unknown thresholds count as near."""
    scores = []
    for c in conds:
        v, t = cond_value(entry, c["value"]), threshold_value(entry, c)
        if v is None or t is None:
            continue
        if c.get("op") in ("<", "<="):
            scores.append(float("inf") if v == 0 else t / v)
        else:
            scores.append(float("inf") if t == 0 else v / t)
    return min(scores) if scores else float("inf")


NEAR = 0.5  # an entry below half of a threshold is folded behind 显示全部
FOLD_MIN = 8  # charts with fewer bars are never folded


def assessment_charts(assessments, names, cat) -> str:
    """One chart per condition of each assessment's flag (问责: ratio and area), bars coloured by the flag itself;
    regions and periods far from every threshold are folded behind 显示全部."""
    groups: dict[tuple, list] = {}
    for a in assessments:
        if ratio_of(a) is None and not conditions(a, cat.get(a.get("rule"))):
            continue
        groups.setdefault((a.get("rule"), a.get("kind"), a.get("level")), []).append(a)
    if not groups:
        return ""
    out = ['<section id="assessment-charts"><h2>区域评估与阈值</h2>',
           f'<div class="legend"><span><i style="background:{BAR_RED}"></i>列入（达到评估标准）</span>'
           f'<span><i style="background:{BAR_BLUE}"></i>未列入</span><span>竖线：阈值</span></div>']
    for (rule, kind, level), entries in groups.items():
        conds = conditions(entries[0], cat.get(rule)) or [{"value": "ratio", "op": ">=", "threshold": None}]
        periods = {a.get("period") for a in entries}
        entries = sorted(entries, key=lambda a: (not a.get("flagged"), -closeness(a, conds)))
        near = [a for a in entries if a.get("flagged") or closeness(a, conds) >= NEAR]
        fold = len(entries) >= FOLD_MIN and len(near) < len(entries)
        cite = entries[0].get("cite")
        flagged_n = sum(1 for a in entries if a.get("flagged"))
        head = (f"{escape(str(kind))}（{escape(str(level))}）<small>{escape(str(rule))}"
                + (f" · {escape(str(cite))}" if cite else "") + f" · 列入 {flagged_n}/{len(entries)}</small>")
        cond_text = " 且 ".join(f"{value_label(c['value'])} {c.get('op', '')} "
                               f"{c['threshold'] if isinstance(c.get('threshold'), str) else fmt_of(c['value'])(c.get('threshold'))}"
                               for c in conds if c.get("threshold") is not None)

        def charts(items, conds=conds, periods=periods, kind=kind, level=level):
            html = []
            for c in conds:
                key, fmt = c["value"], fmt_of(c["value"])
                bars, marks = [], []
                for a in items:
                    label = region_name(a, names) or str(a.get("region", ""))
                    if len(periods) > 1:
                        label = f"{label} {a.get('period', '')}"
                    v = cond_value(a, key)
                    tip = f"{label}：{value_label(key)} {fmt(v)}" + ("（列入）" if a.get("flagged") else "（未列入）")
                    bars.append((label, v or 0.0, BAR_RED if a.get("flagged") else BAR_BLUE, tip,
                                 "flagged" if a.get("flagged") else "not-flagged"))
                    marks.append(threshold_value(a, c))
                uniform = set(marks)
                line = next(iter(uniform)) if len(uniform) == 1 else None
                html.append(f'<div class="cond" data-value="{escape(key)}"><div class="cond-head">{escape(value_label(key))}'
                            + (f" {escape(c.get('op', ''))} 阈值" if any(m is not None for m in marks) else "") + "</div>"
                            + hbar_chart(bars, fmt=fmt, line=line, marks=None if len(uniform) <= 1 else marks,
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


def pct(v) -> str:
    return values.pct(v)


def hbar_chart(bars, *, fmt, label: str, line: float | None = None, marks=None) -> str:
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
