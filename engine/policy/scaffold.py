"""A new policy year from an existing one: `policies/<year>/` extending `policies/<base>/`, and the inherited
parameters that hold a date or a year, which policy staff must review before the new year's rows are checked."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from engine.errors import InputError
from engine.lang import ast
from engine.policy.loader import HEADER_FILE
from engine.policy.model import Param, Policy

_DATED_TEXT = re.compile(r"\b(19|20)\d\d\b")  # a year or a date anywhere in a test case


@dataclass
class DatedParam:
    """An inherited parameter whose value names a calendar date or a year."""

    name: str
    value: str  # as written in the policy file
    cite: str | None
    where: str  # file:line of the parameter

    def line(self) -> str:
        cite = f"，{self.cite}" if self.cite else ""
        return f"{self.name} = {self.value}（{self.where}{cite}）"


@dataclass
class NewYear:
    dir: Path
    files: list[Path]
    dated: list[DatedParam]
    example_from: str | None  # the base test case copied as the example, "file: name"


def _literals(p: Param) -> list[ast.Node]:
    return [p.value] if p.value is not None else list((p.by_level or {}).values())


def _is_dated(node: ast.Node) -> bool:
    if isinstance(node, ast.DateLit):
        return True
    # a bare integer that reads as a year (1949–2100) and carries no unit
    return isinstance(node, ast.Number) and node.unit is None and node.value == node.value.to_integral_value() \
        and 1949 <= node.value <= 2100


def _shown(file: str) -> str:
    """A path relative to the working directory when it lies below it (as the user typed it), else as is."""
    try:
        return str(Path(file).resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(file)


def dated_parameters(policy: Policy) -> list[DatedParam]:
    """The policy's parameters (own and inherited) whose value is a date or a year, in file order."""
    out = [DatedParam(p.name, p.text, p.cite, f"{_shown(p.key.file)}:{p.key.line}")
           for p in policy.params.values() if any(_is_dated(n) for n in _literals(p))]
    return sorted(out, key=lambda d: d.where)


def _example_case(base_dir: Path) -> tuple[dict, str] | None:
    """The first test case of the base year that holds no date and no year (so it means the same in any year)."""
    for f in sorted((base_dir / "tests").glob("*.yaml")):
        try:
            doc = yaml.safe_load(f.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError:
            continue
        if not isinstance(doc, dict) or "as_of" in doc or _DATED_TEXT.search(repr(doc.get("defaults", ""))):
            continue
        for case in doc.get("cases") or []:
            if isinstance(case, dict) and "expect" in case and "assessments" not in case \
                    and not _DATED_TEXT.search(yaml.safe_dump(case, allow_unicode=True)):
                out = {"cases": [case]}
                if doc.get("defaults"):
                    out = {"defaults": doc["defaults"], **out}
                return out, f"{f.name}：{case.get('name', '')}"
    return None


def new_year(root: Path, year: int, base: Policy, *, today: dt.date | None = None) -> NewYear:
    """Write root/<year>/ extending base's directory: policy.yaml, rules.yaml and tests/ with one example case."""
    target = root / str(year)
    if target.exists():
        raise InputError(f"{target} 已存在，未改动任何文件")
    if base.dir.resolve().parent != root.resolve():
        raise InputError(f"{base.dir} 不在 {root} 下：新年度须与被继承的年度放在同一政策目录中")
    dated = dated_parameters(base)
    stamp = (today or dt.date.today()).isoformat()
    review = "".join(f"#   {d.line()}\n" for d in dated) or "#   （无）\n"
    region = f'region: "{base.region}"\n' if base.region else ""
    header = (
        "# yaml-language-server: $schema=../../schemas/policy.schema.json\n"
        f"# 由 weipian new-year {year} --from {base.year} 于 {stamp} 生成：继承 {base.year} 年政策的全部规则、触发条件、评估与参数。\n"
        f"policy: {year}\n"
        f"title: {year}年卫片执法工作（待填写：文件标题）\n"
        "source: 待填写（文号）\n"
        f"{region}"
        f"extends: ../{base.dir.name}\n"
        "\n"
        f"# 请复核：以下继承的参数写的是具体日期或年份，多半是 {base.year} 年工作的日期，不会随年度变化。\n"
        f"# 需要改的，在本文件加 parameters: 按同名重写（新值 + cite），例如「某截止日期: {{value: {year + 1}-01-18, cite: 三（二）3}}」：\n"
        f"{review}"
    )
    rules = (
        f"# {year} 年新增或修改的规则、触发条件与评估。\n"
        "# 修改继承的规则：写同一 id 并加 override: true，只写要改的键；删除继承的规则：在 policy.yaml 的 drop: 中列出 id。\n"
        "rules: []\n"
    )
    example = _example_case(base.dir)
    target.mkdir(parents=True)
    (target / "tests").mkdir()
    files = [target / HEADER_FILE, target / "rules.yaml"]
    files[0].write_text(header, encoding="utf-8")
    files[1].write_text(rules, encoding="utf-8")
    if example is not None:
        doc, origin = example
        body = yaml.safe_dump(doc, allow_unicode=True, sort_keys=False, width=200)
        t = target / "tests" / "example_test.yaml"
        t.write_text(f"# 示例用例：复制自 {base.dir.name}/tests/{origin}，在 {year} 年政策下运行（监测年度默认为 {year}）。\n"
                     f"# 按 {year} 年的规则改写或增加用例；每条新规则都要有触发与不触发的用例。\n" + body, encoding="utf-8")
        files.append(t)
    return NewYear(target, files, dated, example[1] if example else None)
