"""Terminal report in Chinese (rich): counts by severity and rule, first findings, tasks by level."""
from __future__ import annotations

from rich.console import Console
from engine.report.terminal import shown
from rich.table import Table

from engine.run.result import SEVERITY_WORDS, Result

_STYLE = {"error": "red", "warning": "yellow", "info": "cyan"}


def render(result: Result, console: Console, limit: int = 20) -> None:
    """Counts are GROUP BYs in DuckDB; only the findings and tasks printed are fetched (their messages rendered)."""
    inp = result.input
    pol = "；".join(f"{y}年 {shown(p.title)}（{shown(p.source)}）" for y, p in sorted(result.policies.items())) or "无"
    console.print(f"[bold]政策[/bold]：{pol}")
    skipped = f" + 跳过 {inp['skipped']} 行（非图斑行）" if inp.get("skipped") else ""
    console.print(f"[bold]输入[/bold]：{shown(inp['path'])}  读取 {inp.get('rows_read', inp['rows'])} 行 = 检查 {inp['checked']} 行 + "
                  f"拒收 {inp['rejected']} 行{skipped}  评估日期 {result.as_of.isoformat()}")
    for w in result.warnings:
        console.print(f"[yellow]注意[/yellow]：{shown(w)}")

    summary = result.summary()
    by_sev = summary["findings_by_severity"]
    console.print("[bold]问题[/bold]：" + ("、".join(f"{SEVERITY_WORDS.get(k, k)} {by_sev[k]} 条" for k in ("error", "warning", "info") if k in by_sev) or "无"))
    titles = {c["id"]: c for c in result.catalog()}
    total = sum(by_sev.values())
    if total and result.rows is not None:
        t = Table(title="按规则统计", show_lines=False)
        for col in ("规则", "标题", "级别", "条款", "数量"):
            t.add_column(col, justify="right" if col == "数量" else "left")
        for rule, sev, cite, n in result.rows.by_rule():
            t.add_row(shown(rule), shown(titles.get(rule, {}).get("title", "数据格式错误" if rule == "数据格式" else "")),
                      SEVERITY_WORDS.get(sev, sev), shown(cite), str(n))
        console.print(t)
        console.print(f"[bold]前 {min(limit, total)} 条问题（共 {total} 条）[/bold]")
        for f in result.rows.findings(limit):
            console.print(f"  [{_STYLE.get(f.severity, '')}]{SEVERITY_WORDS.get(f.severity, f.severity)}[/] "
                          f"{shown(f.rule)}（{shown(f.cite)}）：{shown(f.message)}", soft_wrap=True)
    if result.waived is not None:  # --waivers: the ledger's tables module is imported only then
        from engine.report.waived import render_waived

        render_waived(result.waived.to_json(), console, limit)
    by_level = summary["tasks_by_level"]
    n_tasks = sum(by_level.values())
    console.print("[bold]核查任务[/bold]：" + ("、".join(f"{lv} {n} 项" for lv, n in by_level.items()) or "无"))
    if n_tasks and result.rows is not None:
        console.print(f"[bold]前 {min(limit, n_tasks)} 项任务（共 {n_tasks} 项）[/bold]")
        for k in result.rows.tasks(limit):
            where = "区域 " + str(k.region) if k.region else "图斑 " + str(k.patch)
            console.print(f"  {shown(k.level)} {shown(k.action)} {shown(where)} ← {shown(k.rule)}（{shown(k.cite)}）"
                          + (f"：{shown(k.message)}" if k.message else ""), soft_wrap=True)
    if result.assessments:
        flagged = sum(1 for a in result.assessments if a.flagged)
        unknown = sum(1 for a in result.assessments if a.flagged is None)  # a region fact not given (--region-facts)
        console.print(f"[bold]区域评估[/bold]：{len(result.assessments)} 项，其中达到标准（flagged）{flagged} 项"
                      + (f"，未评估 {unknown} 项（缺少区域事实）" if unknown else "") + "；详见 weipian assess")
