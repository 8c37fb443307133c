"""A new policy year from an existing one: `policies/<year>/` extending `policies/<base>/`, and what it inherits
that holds an absolute date or year (parameters, definitions, rules; not the ones marked fixed), which policy
staff must review before the new year's rows are checked."""
from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import yaml

from engine.errors import InputError
from engine.policy.check.dates import Dated, absolute_dates
from engine.policy.loader import HEADER_FILE
from engine.policy.model import Policy

_DATED_TEXT = re.compile(r"\b(19|20)\d\d\b")  # a year or a date anywhere in a test case


@dataclass
class NewYear:
    dir: Path
    files: list[Path]
    dated: list[Dated]
    example_from: str | None  # the base test case copied as the example, "file: name"


def dated_items(policy: Policy) -> list[Dated]:
    """What the policy (with what it inherits) writes as an absolute date or year and is not marked fixed, in file
    order: the same detection as lint's W003 (engine.policy.check.dates)."""
    found = absolute_dates(policy.params, policy.definitions, policy.checks, policy.assessment_entries(),
                           policy.dictionary.key[1])
    return [d for d in found if not d.fixed]


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
    dated = dated_items(base)
    year_field = base.dictionary.key[1]
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
        f"# 请复核：以下继承的参数、定义或规则写的是具体日期或年份（标注 fixed: true 的法定日期除外），多半是 {base.year} 年工作的日期，\n"
        "# 不会随年度变化。需要改的，在本文件按同名重写为随年度变化的定义（规则写同一编号并加 override: true），例如\n"
        f"# definitions: {{某截止日期: {{expr: 'date({year_field} + 1, 1, 18)', cite: …}}}}；法定的固定日期在参数中标注 fixed: true：\n"
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
