"""weipian test：运行政策测试（policies/<年度>/tests/*.yaml），逐个用例报告 PASS/FAIL，可统计规则覆盖率。"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from engine.cli.common import EXIT_FINDINGS, EXIT_OK, plain_printer
from engine.errors import InputError
from engine.paths import display_path, policies_dir

EXAMPLE = """示例：
  weipian test                              # 运行内置 policies/ 下全部政策测试
  weipian test policies/2023                # 只运行 2023 年政策的测试
  weipian test policies/2023/tests/a.yaml   # 只运行一个测试文件
  weipian test --coverage --min 100         # 统计覆盖率，低于 100% 返回 1（适合 CI）

覆盖率：每条规则、触发条件都要有用例在 fires: 中断言它触发，也有用例在 not_fires: 中断言它不触发，才算覆盖
（在别的用例里碰巧触发不算）；评估要有用例断言 flagged: true 和 flagged: false；扣除要有用例断言评估的数值，
且其中有扣除了图斑的、也有没有扣除的。没有测试的年度也列出，覆盖率 0%。
退出码：0 全部通过（且覆盖率达标）；1 有失败的用例、没有找到测试，或覆盖率低于 --min。"""


def cmd_test(args, console) -> int:
    from engine.testing.cases import describe_failures, run_tests
    from engine.testing.coverage import KIND_WORDS, coverage, percent

    root = Path(args.path) if args.path else policies_dir()
    if not root.exists():
        raise InputError(f"测试目录不存在：{root}")
    groups = run_tests(root)
    results = [r for _, files in groups for _, rs in files for r in rs]
    passed = sum(r.passed for r in results)
    cov = [(policy, coverage(policy, [r for _, rs in files for r in rs])) for policy, files in groups] if args.coverage else []
    all_items = [i for _, items in cov for i in items]
    total_pct = percent(all_items)
    below = args.coverage and args.min is not None and total_pct + 1e-9 < args.min
    failed = passed < len(results) or not results or below

    if args.format == "json":
        doc = {
            "ok": not failed,
            "passed": passed,
            "total": len(results),
            "cases": [{"file": display_path(r.file), "line": r.line, "name": r.name, "passed": r.passed, "failures": r.failures}
                      for r in results],
        }
        if args.coverage:
            doc["coverage"] = {"percent": round(total_pct, 2), "min": args.min,
                               "policies": [{"year": p.year, "percent": round(percent(items), 2),
                                             "items": [i.to_json() for i in items]} for p, items in cov]}
        sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
        return EXIT_FINDINGS if failed else EXIT_OK

    say = plain_printer(console)
    for policy, files in groups:
        if not files:
            say(f"{display_path(policy.dir)}（{policy.year}年政策）：没有测试用例（tests/*.yaml）")
        for f, rs in files:
            if args.quiet and all(r.passed for r in rs):
                continue
            say(f"{display_path(f)}（{policy.year}年政策）")
            for r in rs:
                if r.passed:
                    if not args.quiet:
                        say(f"  PASS  {r.name}")
                    continue
                say(f"  FAIL  {r.name}（{display_path(r.file)}:{r.line}）")
                for line in describe_failures(r, indent="        "):
                    say(line)
    if not results:
        say(f"在 {root} 下没有找到政策测试（policies/<年度>/tests/*.yaml）。")
        return EXIT_FINDINGS
    say("-" * 60)
    say(f"PASS: {passed}/{len(results)}")
    if passed < len(results):
        say(f"FAIL: {len(results) - passed}/{len(results)}")
    if args.coverage:
        say()
        for policy, items in cov:
            n = sum(i.covered for i in items)
            say(f"覆盖率（{policy.year}年政策）：{n}/{len(items)} = {percent(items):.1f}%")
            for i in items:
                if i.covered and not args.verbose:
                    continue
                mark = "已覆盖" if i.covered else "未覆盖：" + i.missing()
                say(f"  {KIND_WORDS[i.kind]} {i.id}（{i.title}）{mark}  {display_path(i.where) if i.where else ''}".rstrip())
        if len(cov) > 1:
            say(f"总覆盖率：{sum(i.covered for i in all_items)}/{len(all_items)} = {total_pct:.1f}%")
        if below:
            say(f"覆盖率 {total_pct:.1f}% 低于要求的 {args.min:g}%。")
    return EXIT_FINDINGS if failed else EXIT_OK


def register(sub) -> None:
    p = sub.add_parser("test", help="运行政策测试用例（可统计覆盖率）",
                       description="运行政策目录下 tests/*.yaml 中的测试用例：逐个用例显示 PASS/FAIL；"
                                   "失败时列出期望与实际、图斑取值和规则条件。",
                       epilog=EXAMPLE, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("path", nargs="?", metavar="目录", help="政策目录、其上级目录或单个测试文件（默认：内置的 policies/）")
    p.add_argument("--coverage", action="store_true", help="统计每条规则、触发条件、评估的覆盖情况")
    p.add_argument("--min", type=float, metavar="百分比", help="与 --coverage 同用：覆盖率低于此值（如 100）返回 1")
    p.add_argument("--format", choices=["text", "json"], default="text", help="输出格式（默认 text）")
    p.add_argument("-q", "--quiet", action="store_true", help="只列出失败的用例")
    p.add_argument("-v", "--verbose", action="store_true", help="覆盖率中也列出已覆盖的项")
    p.set_defaults(func=cmd_test)
