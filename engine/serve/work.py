"""What the page asks of the engine, through its public functions only: the policy choices, the column preview of
`weipian columns` and the check with its HTML report and xlsx ledger. Nothing here imports the web framework."""
from __future__ import annotations

import base64
import threading
from pathlib import Path

from engine.data.preview import preview
from engine.errors import InputError
from engine.policy.policyset import PolicySet
from engine.report.html import render_html
from engine.report.tables import severity_label
from engine.report.xlsx import write_xlsx
from engine.run.runner import as_date, check

ALL_YEARS = ""  # the choice "every row with its own 监测年度's policy"
_ONE_AT_A_TIME = threading.Lock()  # one check at a time: each run may use the whole DuckDB memory limit


def choices(policies: PolicySet) -> dict:
    """The page's options: every policy year found, and the area units of the data dictionary."""
    years = [{"value": ALL_YEARS, "label": "全部年度（每行按其监测年度的政策检查）"}] if len(policies) > 1 else []
    years += [{"value": str(y), "label": f"{y}年 {p.title}（{p.source}）"} for y, p in sorted(policies.items(), reverse=True)]
    units = list(dict.fromkeys(name for name, _factor in policies.dictionary.units.factors))
    return {"years": years, "area_units": units}


def chosen(policies: PolicySet, year: str | None) -> tuple[PolicySet, int | None]:
    """The policy set of the chosen year (and that year for rows without 监测年度), or every year."""
    if not year:
        return policies, None
    try:
        y = int(year)
        return PolicySet({y: policies[y]}, policies.dictionary), y
    except (ValueError, KeyError):
        raise InputError(f"没有 {year} 年度的政策（可用年度：{'、'.join(str(y) for y in sorted(policies))}）") from None


def area_unit_of(policies: PolicySet, unit: str | None) -> str | None:
    if not unit:
        return None
    if unit not in choices(policies)["area_units"]:
        raise InputError(f"面积单位「{unit}」不在数据字典中（可用：{'、'.join(choices(policies)['area_units'])}）")
    return unit


def column_preview(path: Path, shown: str, policies: PolicySet, year: str | None, area_unit: str | None) -> dict:
    """What `weipian columns` shows for the file, as JSON-ready data (`input` names the uploaded file)."""
    used, y = chosen(policies, year)
    out = preview(path, policies.dictionary, needed_by_year={k: set(p.fields_used) for k, p in used.items()},
                  area_unit=area_unit_of(policies, area_unit), year=y)
    out["input"] = shown
    out["samples_note"] = "样例为文件中前几个不同的值"
    return out


def run_check(path: Path, shown: str, policies: PolicySet, year: str | None, as_of: str | None,
              area_unit: str | None, workdir: Path) -> dict:
    """Check the file; the HTML report as text and the ledger as base64 (nothing is kept on the server)."""
    used, y = chosen(policies, year)
    as_of = as_date(as_of or None)
    with _ONE_AT_A_TIME:
        result = check(path, used, as_of=as_of, year=y, area_unit=area_unit_of(policies, area_unit))
        doc = result.to_json()
        doc["input"] = {**doc["input"], "path": shown, "files": [Path(f).name for f in doc["input"].get("files") or []]}
        catalog, d = result.catalog(), result.dictionary
        ledger = workdir / "台账.xlsx"
        write_xlsx(doc, catalog, ledger, d)
        report = render_html(doc, catalog, d)
    summary = doc.get("summary") or {}
    sev = summary.get("findings_by_severity") or {}
    levels = summary.get("tasks_by_level") or {}
    inp = doc["input"]
    line = (f"读取 {inp.get('rows_read', inp.get('rows'))} 行，检查 {inp.get('checked', inp.get('rows'))} 行；"
            + "问题：" + "、".join(f"{severity_label(k)} {sev.get(k, 0)} 条" for k in ("error", "warning", "info"))
            + "；核查任务：" + ("、".join(f"{k} {v} 项" for k, v in levels.items()) or "无"))
    stem = Path(shown).stem
    return {"summary": line, "exit_code": result.exit_code, "as_of": str(as_of), "report": report,
            "report_name": f"{stem}_报告.html", "ledger_name": f"{stem}_台账.xlsx",
            "ledger": base64.b64encode(ledger.read_bytes()).decode("ascii")}
