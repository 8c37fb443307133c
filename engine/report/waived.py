"""The 已说明 part of a report (--waivers): findings set aside with a stated reason, and the waivers that were not
applied. Tables for the xlsx ledger (sheets 已说明 and 说明未生效) and the HTML page (their own sections), and lines
for the terminal. Reads the JSON contract's `waived` section only."""
from __future__ import annotations

from rich.console import Console

from engine.report.tables import Table, region_label_map, row_region, severity_label
from engine.report.terminal import shown

PROBLEM_WORDS = {"unknown_rule": "规则不存在", "not_waivable": "规则不接受说明理由", "unknown_patch": "图斑不存在",
                 "expired": "已过期", "duplicate": "重复", "no_match": "没有对应问题"}


def waived_table(waived: dict, cat: dict, names: dict[str, str] | None = None) -> Table:
    """One row per finding set aside: region, patch, rule, the finding, then who explained it, why and until when."""
    names = names if names is not None else region_label_map()
    headers = ["行政区代码", "行政区名称", "图斑编号", "规则编号", "规则名称", "原严重程度", "问题说明", "条款",
               "允许说明的条款", "说明理由", "批准人", "有效期至", "说明文件", "行号"]
    rows = []
    for f in waived.get("findings") or []:
        region = row_region(f, names)
        rows.append([region, names.get(region, ""), f.get("patch"), f.get("rule"), cat.get(f.get("rule"), {}).get("title", ""),
                     severity_label(f.get("severity")), f.get("message"), f.get("cite"), f.get("waiver_cite"),
                     f.get("reason"), f.get("approver"), f.get("until"), f.get("source"), f.get("line")])
    return Table(headers, rows, [""] * len(rows))


def problems_table(waived: dict) -> Table:
    """One row per waiver not applied, with its reason in Chinese."""
    headers = ["说明文件", "行号", "图斑编号", "规则编号", "有效期至", "未生效原因", "说明"]
    rows = [[p.get("source"), p.get("line"), p.get("patch"), p.get("rule"), p.get("until"),
             PROBLEM_WORDS.get(p.get("problem"), p.get("problem")), p.get("message")]
            for p in waived.get("problems") or []]
    return Table(headers, rows, ["sev-warning"] * len(rows))


def render_waived(waived: dict | None, console: Console, limit: int = 20) -> None:
    """The terminal's 已说明 lines: counts, the first findings set aside, every waiver not applied (up to limit)."""
    if waived is None:
        return
    findings, problems = waived.get("findings") or [], waived.get("problems") or []
    console.print(f"[bold]已说明[/bold]（不计入问题数和退出码）：{len(findings)} 条；说明文件 {shown(waived['file']['path'])} "
                  f"共 {waived['file']['rows']} 行，未生效 {len(problems)} 行")
    for f in findings[:limit]:
        console.print(f"  已说明 {shown(f['rule'])}（{shown(f['cite'])}）图斑 {shown(f['patch'])}：{shown(f['reason'])}"
                      f"（批准人 {shown(f['approver'])}，有效期至 {shown(f['until'])}）", soft_wrap=True)
    for p in problems[:limit]:
        console.print(f"  [yellow]说明未生效[/yellow]：{shown(p['message'])}", soft_wrap=True)
    if len(problems) > limit:
        console.print(f"  …另有 {len(problems) - limit} 行未生效，见 JSON 的 waived.problems 或台账的「说明未生效」表")
