"""weipian diff：比较两版政策——规则、参数、定义的增删改，以及在同一份数据上问题、任务和区域评估的变化。"""
from __future__ import annotations

import argparse
import json
import sys

from engine.cli.common import EXIT_OK, plain_printer
from engine.errors import InputError

EXAMPLE = """示例：
  weipian diff 旧政策/2023 policies/2023                          # 只比较政策文件
  weipian diff 旧政策/2023 policies/2023 上月数据.csv --as-of 2024-06-30
  weipian diff --base main policies/2023 上月数据.csv             # 旧版取自 git 的 main 分支
  weipian diff --base HEAD~1 policies 上月数据.csv --format json   # 全部年度，机器可读
  weipian diff policies/2023 policies/2024 数据.csv               # 跨年度：新年度与所继承年度逐条比较

不加 --base 时依次写：旧政策目录 新政策目录 [数据]；加 --base 时写：政策目录 [数据]（旧版为该目录在该版本中的内容）。
政策目录可以是年度目录（policies/2023）或其上级目录（policies/）；两版在同一份数据上各运行一次，数据只读取一次。
两个年度目录年度不同时为跨年度比较（经 extends 合并后逐条比较）；给出数据时，旧年度的政策按新年度的数据运行。"""

KIND_WORDS = {"rules": "规则", "triggers": "触发", "assessments": "评估", "parameters": "参数", "definitions": "定义"}
STATUS_MARKS = {"added": "+ 新增", "removed": "- 删除", "changed": "~ 修改"}


def cmd_diff(args, console) -> int:
    from engine.policy.revision import policy_at_revision

    n = len(args.paths)
    if args.base:
        if n not in (1, 2):
            raise InputError("用 --base 时写：政策目录 [数据]")
        new, data = args.paths[0], (args.paths[1] if n == 2 else None)
        with policy_at_revision(args.base, new) as old:
            return _diff(args, console, old, new, data, f"{args.base}:{new}")
    if n not in (2, 3):
        raise InputError("请写：旧政策目录 新政策目录 [数据]（或用 --base 版本 指定旧版）")
    return _diff(args, console, args.paths[0], args.paths[1], args.paths[2] if n == 3 else None, args.paths[0])


def _diff(args, console, old_dir, new_dir, data, old_label) -> int:
    from engine.policy.policyset import load_policies
    from engine.run.diff import as_year_of, data_diff, pair_sources, policy_changes

    old, new = load_policies(old_dir), load_policies(new_dir)
    years = []
    for from_year, year, a, b in pair_sources(old, new):
        if a is None or b is None:
            years.append({"year": year, "status": "added" if a is None else "removed", "changes": []})
        else:
            years.append({"year": year, "status": "both", "changes": policy_changes(a, b)})
        if from_year != year:
            years[-1]["from_year"] = from_year
    dd = data_diff(data, as_year_of(old, new), new, as_of=args.as_of, year=args.year, sheet=args.sheet,
                   encoding=args.encoding) if data else None

    if args.format == "json":
        doc = {"old": str(old_label), "new": str(new_dir),
               "policies": [{"year": y["year"], **({"from_year": y["from_year"]} if "from_year" in y else {}),
                             "status": y["status"], "changes": [c.to_json() for c in y["changes"]]} for y in years]}
        if dd is not None:
            doc["data"] = dd.to_json()
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2, default=str) + "\n")
        return EXIT_OK
    say = plain_printer(console)
    say(f"旧版：{old_label}")
    say(f"新版：{new_dir}")
    for y in years:
        _render_policy(say, y)
    if dd is not None:
        _render_data(say, dd, new)
    return EXIT_OK


def _render_policy(say, y: dict) -> None:
    from engine.run.diff import show

    if y["status"] != "both":
        say(f"\n{y['year']}年政策：{'新增' if y['status'] == 'added' else '删除'}整套政策")
        return
    changes = y["changes"]
    label = f"{y['from_year']}年 → {y['year']}年" if "from_year" in y else f"{y['year']}年"
    say(f"\n{label}政策：" + ("无变化" if not changes else f"{len(changes)} 处变化"))
    for c in changes:
        title = f"（{c.title}）" if c.title else ""
        say(f"  {STATUS_MARKS[c.status]}{KIND_WORDS[c.kind]} {c.id}{title}")
        for key, before, after in c.changes:
            say(f"      {key}：{show(before)}")
            say(f"        → {show(after)}")


def _render_data(say, dd, policies) -> None:
    from engine.run.diff import by_rule

    m = dd.meta
    say(f"\n在数据 {m['path']} 上（评估日期 {m['as_of']}，检查 {m['checked']} 行）：")
    titles = {c.id: c for p in policies.values() for c in p.checks}
    for what, gained, lost in (("问题", dd.gained_findings, dd.lost_findings), ("任务", dd.gained_tasks, dd.lost_tasks)):
        say(f"  {what}：新增 {len(gained)} 条，减少 {len(lost)} 条")
        for sign, items in (("+", gained), ("-", lost)):
            for rule, xs in by_rule(items).items():
                c = titles.get(rule)
                extra = f" {c.level}{c.action}" if c is not None and c.kind == "trigger" else ""
                if c is None and all(x.get("patch") is None for x in xs):  # region tasks of an assessment
                    extra = f" {xs[0]['level']}{xs[0]['action']}" if "action" in xs[0] else ""
                    say(f"    {sign} {rule}{extra}：{len(xs)} 个地区：" + "、".join(str(x.get("region")) for x in xs))
                    continue
                patches = "、".join(str(x["patch"]) for x in xs)
                say(f"    {sign} {rule}{extra}：{len(xs)} 个图斑：{patches}")
    if dd.assessments:
        say(f"  区域评估：{len(dd.assessments)} 项变化")
        for a in dd.assessments:
            label = " ".join(str(a[k]) for k in ("rule", "level", "region", "period") if a.get(k) is not None)
            parts = []
            fa, fb = a["flagged"]
            if fa != fb:
                word = {True: "是", False: "否", None: "无", "未评估": "未评估"}
                parts.append(f"列入 {word[fa]} → {word[fb]}")
            parts += [f"{k} {v[0]} → {v[1]}" for k, v in a["values"].items()]
            say(f"    ~ {label}：" + "；".join(parts))
    c = dd.to_json()["counts"]
    say(f"合计：问题 +{c['findings_gained']}/-{c['findings_lost']}，任务 +{c['tasks_gained']}/-{c['tasks_lost']}，"
        f"评估变化 {c['assessments_changed']} 项（新列入 {c['flagged_in']}，移出 {c['flagged_out']}）")


def register(sub) -> None:
    p = sub.add_parser("diff", help="比较两版政策及其在数据上的影响",
                       description="比较两版政策：规则、触发条件、评估、参数、定义的新增/删除/修改（修改前 → 修改后）；"
                                   "给出数据时，两版在同一份数据上各运行一次，列出哪些图斑新增或减少了问题与任务、哪些区域的评估发生变化。",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("paths", nargs="+", metavar="路径", help="旧政策目录 新政策目录 [数据]；用 --base 时：政策目录 [数据]")
    p.add_argument("--base", metavar="版本", help="旧版取自 git 版本（分支、标签或提交，如 main、HEAD~1）")
    p.add_argument("--as-of", dest="as_of", help="评估日期（默认今天），如 2024-06-30")
    p.add_argument("--year", type=int, help="数据缺少监测年度时按此年度")
    p.add_argument("--sheet", help="Excel 工作表名（默认第一个）")
    p.add_argument("--encoding", help="CSV/Shapefile 编码（默认自动识别）")
    p.add_argument("--format", choices=["text", "json"], default="text", help="输出格式（默认 text）")
    p.set_defaults(func=cmd_diff)
