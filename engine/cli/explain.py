"""weipian explain：逐条列出某个图斑的规则与触发条件，代入该图斑的取值，说明为什么触发或未触发。"""
from __future__ import annotations

import argparse
import json
import sys

from engine.errors import InputError

EXAMPLE = """示例：
  weipian explain datasets/sample_2023.csv --patch 610902202301001 --as-of 2024-06-30
  weipian explain 县上报.xlsx --patch 610902202301001 --rule Y23-T-city-suspected
  weipian explain 县上报.xlsx --patch 610902202301001 --only-fired
  weipian explain 县上报.xlsx --region 610902 --as-of 2024-06-30   # 某地区的区域评估

每条条件先原样列出，再列出「代入」后的写法：字段、参数、定义和函数后面的〔…〕是该图斑的取值；
随后逐个子条件标出 [是]/[否]，引用的定义也展开说明。所有取值由与 check 相同的 SQL 计算。
--region 解释区域评估：列入条件（flag）代入该地区的分子、分母、比例等取值，逐个子条件标出 [是]/[否]。"""


def cmd_explain(args, console) -> int:
    from engine.cli.main import plain_printer
    from engine.lang.quoting import quote_ident
    from engine.run.explain import explain_row
    from engine.policy.policyset import load_policies
    from engine.run.runner import _as_date, prepare

    if (args.patch is None) == (args.region is None):
        raise InputError("请用 --patch 图斑编号 或 --region 行政区代码 指定要解释的对象（二选一）")
    policies = load_policies(args.policies)
    as_of = _as_date(args.as_of)
    prepared = prepare(args.data, policies, year=args.year, sheet=args.sheet, encoding=args.encoding,
                       area_unit=args.area_unit, columns=args.columns)
    con, d = prepared.con, prepared.dictionary
    key, year_col = quote_ident(d.key[0]), quote_ident(d.key[1])
    if args.region is not None:
        return _explain_region(args, console, con, policies, year_col, as_of)
    rows = con.execute(f"SELECT _rid, {year_col}, _source, _line, _errors FROM patches WHERE {key} = ? ORDER BY _rid",
                       [args.patch]).fetchall()
    if not rows:
        near = [r[0] for r in con.execute(
            f"SELECT DISTINCT {key} FROM patches WHERE {key} IS NOT NULL "
            f"ORDER BY jaro_winkler_similarity({key}, ?) DESC, {key} LIMIT 3", [args.patch]).fetchall()]
        hint = f"；相近的图斑编号：{'、'.join(near)}" if near else ""
        raise InputError(f"数据中没有图斑编号为「{args.patch}」的图斑{hint}")
    docs, say = [], plain_printer(console)
    for rid, year, source, line, errors in rows:
        where = f"{source} 第 {line} 行" if source else f"第 {line} 行"
        if errors:
            msg = "该行数据格式有误，未做规则检查：" + "；".join(str(e) for e in errors)
            docs.append({"patch": args.patch, "year": year, "row": where, "rejected": True, "errors": [str(e) for e in errors]})
            say(f"图斑 {args.patch}（{where}）：{msg}")
            continue
        policy = policies.get(year)
        if policy is None:
            raise InputError(f"图斑 {args.patch}（{where}）的监测年度 {year} 没有对应的政策（可用年度：{'、'.join(map(str, sorted(policies)))}）")
        checks = policy.checks
        if args.rule:
            checks = [c for c in checks if c.id in args.rule]
            unknown = set(args.rule) - {c.id for c in checks}
            if unknown:
                from engine.errors import suggest

                hint = suggest(next(iter(unknown)), [c.id for c in policy.checks])
                raise InputError(f"{year}年政策中没有规则「{'、'.join(sorted(unknown))}」" + (f"；{hint}" if hint else ""))
        exps = explain_row(con, policy, rid, as_of, checks=checks)
        if args.only_fired:
            exps = [e for e in exps if e.fired]
        docs.append({"patch": args.patch, "year": year, "row": where, "as_of": as_of.isoformat(),
                     "checks": [e.to_json() for e in exps]})
        if args.format == "text":
            fired = sum(e.fired for e in exps)
            say(f"图斑 {args.patch}（{where}）按 {year}年政策「{policy.title}」检查，评估日期 {as_of.isoformat()}："
                f"{len(exps)} 条中触发 {fired} 条")
            say()
            for e in exps:
                say(e.render())
                say()
    if args.format == "json":
        sys.stdout.write(json.dumps(docs, ensure_ascii=False, indent=2) + "\n")
    return 0


def _explain_region(args, console, con, policies, year_col, as_of) -> int:
    from engine.cli.main import plain_printer
    from engine.run.explain import explain_region

    years = [y for (y,) in con.execute(f"SELECT DISTINCT {year_col} FROM patches WHERE len(_errors) = 0 ORDER BY 1").fetchall()]
    docs, say = [], plain_printer(console)
    for year in years:
        policy = policies.get(year)
        if policy is None:
            continue
        exps = explain_region(con, policy, args.region, as_of)
        if args.only_fired:
            exps = [e for e in exps if e.result["flagged"]]
        docs += [{"year": year, **e.to_json()} for e in exps]
        if args.format == "text" and exps:
            say(f"地区 {args.region} 按 {year}年政策「{policy.title}」评估，评估日期 {as_of.isoformat()}："
                f"{len(exps)} 项中列入 {sum(bool(e.result['flagged']) for e in exps)} 项")
            say()
            for e in exps:
                say(e.render())
                say()
    if not docs and not (args.only_fired and years):
        raise InputError(f"数据中没有地区「{args.region}」的评估结果（写县级、市级或省级的 6 位行政区代码）")
    if args.format == "json":
        sys.stdout.write(json.dumps(docs, ensure_ascii=False, indent=2, default=str) + "\n")
    return 0


def register(sub) -> None:
    from engine.cli.main import _add_common

    p = sub.add_parser("explain", help="解释某个图斑为什么触发（或未触发）各条规则",
                       description="逐条列出图斑所属年度政策的规则与触发条件：代入该图斑的取值，标出每个子条件的真假、结果与条款。",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_common(p)
    p.add_argument("--patch", metavar="图斑编号", help="要解释的图斑编号")
    p.add_argument("--region", metavar="行政区代码", help="改为解释该地区的区域评估（县级、市级或省级代码）")
    p.add_argument("--rule", action="append", metavar="规则编号", help="只解释这条规则（可写多次）")
    p.add_argument("--only-fired", action="store_true", help="只列出触发的规则（--region 时：只列出被列入的评估）")
    p.add_argument("--format", choices=["text", "json"], default="text", help="输出格式（默认 text）")
    p.set_defaults(func=cmd_explain)
