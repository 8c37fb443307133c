"""weipian new-year：以上一年度政策为基础新建一个年度（继承全部规则），列出需复核的日期参数并检查。"""
from __future__ import annotations

import argparse
from pathlib import Path

from engine.errors import InputError

EXAMPLE = """示例：
  weipian new-year 2024 --from 2023                     # 在 ./policies 下新建 2024/，继承 2023 年政策
  weipian new-year 2025 --from 2024 --policies 政策库/

生成 <目录>/<年度>/：policy.yaml（extends 上一年度，标题与文号待填写）、rules.yaml（空）、
tests/example_test.yaml（复制上一年度一条不含日期的用例）；列出继承的、写有具体日期或年份的参数、定义与规则供复核
（标注 fixed: true 的法定固定日期除外）；随后运行 lint（超出新年度范围的日期报警告 W003）。
退出码：0 已生成且 lint 无错误；1 已生成但 lint 有错误；2 参数或政策不可用（未生成任何文件）。"""


def cmd_new_year(args, console) -> int:
    from engine.cli.common import EXIT_FINDINGS, EXIT_OK, plain_printer
    from engine.cli.lint import show
    from engine.policy.lint import lint
    from engine.policy.policyset import load_policies
    from engine.policy.scaffold import new_year

    root = Path(args.policies) if args.policies else Path("policies")
    if not root.is_dir():
        raise InputError(f"政策目录不存在：{root}（在仓库根目录运行，或用 --policies 指定）")
    policies = load_policies(root)
    if args.base not in policies:
        raise InputError(f"{root} 中没有 {args.base} 年政策（现有：{'、'.join(map(str, sorted(policies)))}）")
    if args.year in policies:
        raise InputError(f"{root} 中已有 {args.year} 年政策：{policies[args.year].dir}")
    made = new_year(root, args.year, policies[args.base])
    say = plain_printer(console)
    say(f"已新建 {made.dir}（继承 {args.base} 年政策）：")
    for f in made.files:
        say(f"  {f}")
    if made.example_from:
        say(f"示例用例复制自 {args.base} 年：{made.example_from}")
    say(f"\n请复核继承的日期与年份（{len(made.dated)} 项，法定固定日期除外）：需要改的，在 {made.dir / 'policy.yaml'} 中按同名重写")
    for d in made.dated:
        say(f"  {d.line()}")
    say("\nlint：")
    diags, count = lint([made.dir])
    show(say, diags, count)
    return EXIT_FINDINGS if any(d.severity == "error" for d in diags) else EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("new-year", help="新建一个年度的政策（继承上一年度）", description="以已有年度为基础新建一个年度的政策目录，"
                       "列出继承的日期与年份供复核，并运行 lint。", epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("year", type=int, metavar="年度", help="新年度，如 2024")
    p.add_argument("--from", dest="base", type=int, required=True, metavar="年度", help="继承的年度，如 2023")
    p.add_argument("--policies", metavar="目录", help="政策目录（默认：当前目录下的 policies/）")
    p.set_defaults(func=cmd_new_year)
