"""Deterministic generator of synthetic 卫片执法 patch tables (图斑表).

``generate(year, rows, seed, out_path, violation_share=0.1)`` writes a CSV (UTF-8, Chinese
headers = the field names of schemas/fields.yaml, in dictionary order) or a Parquet file,
chosen by the suffix of ``out_path``. ``year`` may also be a list (e.g. ``[2021, 2023]``):
each year then gets ``rows`` rows and the file mixes them. CLI: ``weipian generate``.

How it works
------------
One DuckDB query per year over a temporary table of row numbers (a table scan runs on all
cores; ``range()`` would not), streamed straight into ``COPY ... TO``: no Python loop over
rows, nothing else materialised; 10 million rows take well under a minute. Randomness is a
hash of (row index, seed, year, draw name): a 32-bit murmur3 finaliser on the row index, then
a short multiply/xor-shift mix per named draw, in plain integer SQL (no ``random()``, no
DuckDB ``hash()``): the same arguments give the same bytes whatever the thread count, and do
not depend on DuckDB's internal hash function. Each named draw is one column, computed once.

Rows are realistic and, unless injected, clean: counties of the year's city (2021: the 14
counties of 忻州市, weighted towards 代县 140923; 2023: the 10 of 安康市, weighted towards
汉滨区), 下发日期 spread over March..December, areas in 亩 with 2 decimals drawn log-normal
(median ≈ 2.5亩, a few over 100亩) with 耕地/永久基本农田/生态保护红线 ≤ 监测面积, a coherent
story per row (合法用地 with an approval, 其他用地 with its type and papers, 违法用地 with
its type and a rectification state with evidence), filed on time (2021 月清: the 20th of the
next month, city audit by the 27th; 省级 patches claimed within 1 day and checked within 3;
2023 月清: the 20th of the next month, or the one after when issued after the 20th, and no
later than 07-15 for patches issued by 06-20 nor than 01-18 of the next year).

Injected violations
-------------------
Violation rows are spread evenly: row i carries one when
``floor((i+o+1)·p) > floor((i+o)·p)`` (p = violation_share, o = a seed-derived phase), so
``rows·p`` rows (±1) carry one; the n-th of them gets kind ``cycle[n mod W]``, a smooth
weighted round-robin over the year's kinds (weight 1 each, ``unreasonable_filing`` 2): each
kind's share is exact. With at least W violation rows (W = sum of weights), every kind occurs. Each violation row carries
exactly one injected kind (one kind may of course break more than one rule, e.g. a missing
filing also leaves the city audit date empty). ``expect`` says what a correct engine does.

Both years (2021 附件4/附件5 and 三（二）, 2023 附件3):

=========================== ========================================================== ==========
kind                        row                                                        expect
=========================== ========================================================== ==========
temp_no_permit              其他用地/临时用地 without 临时用地批复文号                    error
facility_no_filing_flag     其他用地/设施农业用地 with 设施农业是否备案 empty             error
facility_unfiled            设施农业用地 with 设施农业是否备案 = 否                      info
facility_on_farmland        设施农业用地 on 永久基本农田 (>0) without 是否同意补划 = 是   error
poverty_after_2021          深度贫困地区 合法用地 without approval, 开工日期 ≥ 2021-01-01 error
restored_no_photo           已拆除复耕到位 with 现场照片数 0 or empty                    error
eliminated_no_photo         已消除违法状态 with 现场照片数 0 or empty                    error
legalized_no_approval       已补办完善用地手续 without 审批文号 or 批准时间               error
legal_no_approval           合法用地 (not deep poverty) without 审批文号 or 批准时间      error
illegal_no_type             违法用地 without 违法类型                                    error
other_no_type               其他用地 without 其他用地类型                                error
stock_old_as_illegal        存量 built < 1999-01-01, no plan violation, judged 存量违法  error
stock_old_plan_as_pseudo    存量 built < 1999-01-01 violating the plan, judged 实地伪变化 error
stock_new_as_pseudo         存量 built ≥ 1999-01-01 without approval, judged 实地伪变化  error
late_filing                 填报日期 after the 月清 due date (often exactly 1 day)         error
missing_filing              not filed (填报日期 and the county's fields empty)           error
final_override              最终判定结果 differs from 判定结果 (合法⇄违法)                 assessment
accountability_heavy        60–150亩 耕地 新增建设用地违法, 未整改, in the focus county    assessment
                            (代县 / 汉滨区), so that 问责评估 flags it
=========================== ========================================================== ==========

2021 only (代县): ``city_audit_late`` 市级审核日期 after the 27th (error);
``prov_claim_late`` 省级 patch claimed 2–3 days after 下发日期 (error); ``prov_check_late``
省级 patch checked ≥ 4 days after 下发日期 (error); ``recheck_untrue`` 复检结论 = 不真实
(assessment 复检真实性).

2023 only (安康): ``military_unfiled`` 军用土地 not filed in 月清 (none: exempt);
``category_other`` 新增非农建设类/年度内持续变化类 judged 其他用地 (warning);
``farmland_house_flag_missing`` 违法用地 with 耕地 but 是否新增农村乱占耕地建房 empty (error);
``farmland_facility_legalized`` 农业设施/光伏 on 永久基本农田 illegal, 已补办完善用地手续
(error); ``restored_no_review`` 已拆除复耕到位 with 永农/红线 ≥ 5亩 or 耕地 ≥ 10亩 and no
内业审核意见 (error); ``rectified_no_inspector`` 已拆除复耕到位/已补办 without
自查验收负责人 (error); field-check triggers (tasks): ``fieldcheck_a_farmland_province``
(耕地 ≥ 100亩: 省级+市级), ``fieldcheck_a_farmland_city`` (50–100亩: 市级),
``fieldcheck_a_protected_province`` (永农 or 红线 ≥ 50亩), ``fieldcheck_a_protected_city``
(30–50亩), ``fieldcheck_b_mining`` (开采面积 ≥ 10亩: 省级+市级), ``fieldcheck_c_province``
(复耕 永农/红线 ≥ 10亩 or 耕地 ≥ 50亩), ``fieldcheck_c_city`` (复耕 耕地 30–50亩);
``unreasonable_filing`` 明显填报不合理 = 是 on 20–90亩 of 耕地, weight 2 (assessment 差错率,
通报, 约谈).

Thresholds are hit exactly (100.00, 50.00, 10.00, 5.00, 1999-01-01, 2021-01-01, due + 1
day ...) in about 30% of the rows of a kind, so boundaries get exercised.

The generator is a data synthesiser: it carries the domain knowledge it needs (due dates,
thresholds, the 深度贫困 county list, which is illustrative). The engine that checks data
must not: it reads all of that from policies/. Field names come from schemas/fields.yaml
and every enum value written here is checked against it before a file is generated.
"""
from __future__ import annotations

import argparse
import re
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Sequence

import yaml

from engine.paths import schemas_dir
from engine.data.regions import load_regions

# --------------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class Kind:
    id: str
    code: int
    years: tuple[int, ...]
    title: str  # 中文说明
    expect: str  # error | warning | info | task | assessment | none
    weight: int = 1


BOTH = (2021, 2023)
KINDS: tuple[Kind, ...] = (
    Kind("temp_no_permit", 1, BOTH, "临时用地无临时用地批复文号", "error"),
    Kind("facility_no_filing_flag", 2, BOTH, "设施农业用地未填设施农业是否备案", "error"),
    Kind("facility_unfiled", 3, BOTH, "设施农业用地未备案（应标注未备案、督促备案）", "info"),
    Kind("facility_on_farmland", 4, BOTH, "设施农业占用永久基本农田且未同意补划，却判为其他用地", "error"),
    Kind("poverty_after_2021", 5, BOTH, "深度贫困地区2021年1月1日起开工项目无审批文号判定为合法用地", "error"),
    Kind("restored_no_photo", 6, BOTH, "已拆除复耕到位无现场照片", "error"),
    Kind("eliminated_no_photo", 7, BOTH, "已消除违法状态无现场照片", "error"),
    Kind("legalized_no_approval", 8, BOTH, "已补办完善用地手续缺审批文号或批准时间", "error"),
    Kind("legal_no_approval", 9, BOTH, "合法用地缺审批文号或批准时间", "error"),
    Kind("illegal_no_type", 10, BOTH, "违法用地未填违法类型", "error"),
    Kind("other_no_type", 11, BOTH, "其他用地未填其他用地类型", "error"),
    Kind("stock_old_as_illegal", 12, BOTH, "1999年前存量建设用地且不违反规划，却判为存量建设用地违法", "error"),
    Kind("stock_old_plan_as_pseudo", 13, BOTH, "1999年前存量建设用地违反规划，却判为实地伪变化", "error"),
    Kind("stock_new_as_pseudo", 14, BOTH, "1999年后存量建设用地无批准，却判为实地伪变化", "error"),
    Kind("late_filing", 15, BOTH, "月清逾期填报", "error"),
    Kind("missing_filing", 16, BOTH, "月清到期未填报", "error"),
    Kind("final_override", 17, BOTH, "最终判定结果与县级判定结果不一致", "assessment"),
    Kind("accountability_heavy", 18, BOTH, "重点县大面积新增建设违法占用耕地且未整改（推高问责比例）", "assessment"),
    Kind("city_audit_late", 20, (2021,), "市级审核晚于次月27日", "error"),
    Kind("prov_claim_late", 21, (2021,), "省级卫片超过1天认领", "error"),
    Kind("prov_check_late", 22, (2021,), "省级卫片超过3天完成核查", "error"),
    Kind("recheck_untrue", 23, (2021,), "复检结论不真实", "assessment"),
    Kind("military_unfiled", 30, (2023,), "军用土地单独上报、不参加月清（不应报错）", "none"),
    Kind("category_other", 31, (2023,), "新增非农建设类/年度内持续变化类图斑判定为其他用地", "warning"),
    Kind("farmland_house_flag_missing", 32, (2023,), "违法占用耕地未判定是否新增农村乱占耕地建房", "error"),
    Kind("farmland_facility_legalized", 33, (2023,), "农业设施/光伏违法占用永久基本农田以补办手续整改", "error"),
    Kind("restored_no_review", 34, (2023,), "拆除复耕达到面积标准但无县级内业审核意见", "error"),
    Kind("rectified_no_inspector", 35, (2023,), "拆除复耕/补办手续图斑未明确自查验收负责人", "error"),
    Kind("fieldcheck_a_farmland_province", 36, (2023,), "疑似违法占用耕地100亩以上（省级、市级实地核查）", "task"),
    Kind("fieldcheck_a_farmland_city", 37, (2023,), "疑似违法占用耕地50亩以上不足100亩（市级实地核查）", "task"),
    Kind("fieldcheck_a_protected_province", 38, (2023,), "疑似违法占用永久基本农田或生态保护红线50亩以上（省级、市级）", "task"),
    Kind("fieldcheck_a_protected_city", 39, (2023,), "疑似违法占用永久基本农田或生态保护红线30亩以上不足50亩（市级）", "task"),
    Kind("fieldcheck_b_mining", 40, (2023,), "疑似违法开采面积10亩以上（省级、市级实地核查）", "task"),
    Kind("fieldcheck_c_province", 41, (2023,), "拆除复耕涉及永农或红线10亩以上、耕地50亩以上（省级、市级）", "task"),
    Kind("fieldcheck_c_city", 42, (2023,), "拆除复耕涉及耕地30亩以上不足50亩（市级实地核查）", "task"),
    Kind("unreasonable_filing", 43, (2023,), "明显填报不合理（耕地20～90亩，双倍份额）", "assessment", weight=2),
)
KIND_BY_ID = {k.id: k for k in KINDS}
YEARS = (2021, 2023)


def kinds_for(year: int) -> list[Kind]:
    return [k for k in KINDS if year in k.years]


# --------------------------------------------------------------------------- the year's region

@dataclass(frozen=True)
class YearSetup:
    city: str  # 市级代码
    focus: str  # 重点县：accountability_heavy 的图斑都落在这里
    county_weights: dict[str, float]  # 未列出的县权重为 1
    poverty: tuple[str, ...]  # 深度贫困县（示意）
    approval_prefix: str  # 审批文号前缀
    sources: tuple[tuple[str, float], ...]  # 图斑来源及比例


SETUP = {
    2021: YearSetup("140900", "140923", {"140923": 6.0, "140902": 1.5, "140981": 1.5},
                    ("140926", "140927", "140928", "140929"), "晋政地字",
                    (("部级", 0.8), ("省级", 0.2))),
    2023: YearSetup("610900", "610902", {"610902": 3.0, "610981": 2.0, "610921": 1.5, "610924": 1.5,
                               "610926": 1.2, "610923": 0.7, "610927": 0.5},
                    ("610924", "610925", "610929"), "陕政土批",
                    (("部级", 0.92), ("补充", 0.08))),
}
MONTH_WEIGHTS = {3: 6, 4: 9, 5: 11, 6: 12, 7: 12, 8: 11, 9: 11, 10: 10, 11: 9, 12: 9}
INSPECTORS = ("王建国", "李卫东", "张海涛", "刘志强", "陈晓峰", "杨红梅", "赵立新", "黄文斌",
              "周振华", "吴晓明", "徐俊杰", "孙丽娟", "马国庆", "朱永平", "胡晓东", "郭建军")

# scenarios: the story of a clean row (and the base of an injected one)
S = {
    "L_APPROVED": 1, "L_POVERTY_OLD": 2, "L_MINING": 3,
    "O_PSEUDO": 10, "O_STOCK_OLD": 11, "O_FACILITY": 12, "O_FACILITY_JBNT_OK": 13,
    "O_TEMP": 14, "O_AGRI": 15, "O_OTHER": 16,
    "I_NEW": 20, "I_STOCK_NEW": 21, "I_STOCK_OLD_PLAN": 22, "I_AGRI": 23, "I_HOMESTEAD": 24,
    "I_OTHER": 25, "I_INFRA": 26, "I_MINING": 27,
}
CLEAN_WEIGHTS = {
    2021: {"L_APPROVED": 30, "L_POVERTY_OLD": 1.5, "L_MINING": 1, "O_PSEUDO": 10, "O_STOCK_OLD": 3,
           "O_FACILITY": 6, "O_FACILITY_JBNT_OK": 1.5, "O_TEMP": 3, "O_AGRI": 2, "O_OTHER": 2,
           "I_NEW": 12, "I_STOCK_NEW": 3, "I_STOCK_OLD_PLAN": 1, "I_AGRI": 3, "I_HOMESTEAD": 6,
           "I_OTHER": 2, "I_INFRA": 3, "I_MINING": 1},
}
CLEAN_WEIGHTS[2023] = dict(CLEAN_WEIGHTS[2021], L_POVERTY_OLD=0.5)

STOCK = ("O_STOCK_OLD", "I_STOCK_NEW", "I_STOCK_OLD_PLAN")
# fields a county fills in; all empty on a patch not yet filed
COUNTY_FIELDS = ("判定结果", "其他用地类型", "违法类型", "是否新增农村乱占耕地建房", "用地用途", "审批文号",
                 "批准时间", "临时用地批复文号", "设施农业是否备案", "建设时间", "是否同意补划", "开工日期",
                 "整改状态", "现场照片数", "自查验收负责人", "内业审核意见", "基础设施类型", "项目级别",
                 "已履行监管服务职责", "填报日期", "市级审核日期", "明显填报不合理", "复检结论",
                 "最终判定结果", "移交部门")


# --------------------------------------------------------------------------- SQL helpers

_MASK = 0xFFFFFFFF
INDEX_TABLE = "_wp_row_index"  # row numbers 0..rows-1; a table scan runs in parallel, range() does not
_MACROS = """
CREATE OR REPLACE TEMP MACRO _xs16(h) AS xor(h, h >> 16);
CREATE OR REPLACE TEMP MACRO _xs13(h) AS xor(h, h >> 13);
CREATE OR REPLACE TEMP MACRO _m1(h) AS (h * 2246822507::UBIGINT) & 4294967295::UBIGINT;
CREATE OR REPLACE TEMP MACRO _m2(h) AS (h * 3266489909::UBIGINT) & 4294967295::UBIGINT;
CREATE OR REPLACE TEMP MACRO fmix32(h) AS _xs16(_m2(_xs13(_m1(_xs16(h)))));
CREATE OR REPLACE TEMP MACRO u(r, s) AS _m2(_xs13(_m1(xor(r, s::UBIGINT)))) / 4294967296.0;
CREATE OR REPLACE TEMP MACRO dplus(d, n) AS d + CAST(n AS INTEGER);
CREATE OR REPLACE TEMP MACRO thr(x, lo, hi) AS
    CASE WHEN x < 0.3 THEN lo ELSE lo + CAST(floor((hi - lo) * (x - 0.3) / 0.7) AS BIGINT) END;
CREATE OR REPLACE TEMP MACRO mu(c) AS CAST(c / 100.0 AS DECIMAL(12, 2));
"""


def _splitmix32(x: int) -> int:
    """SplitMix64 step, folded to 32 bits (seed mixing, done in Python)."""
    x = (x + 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
    x ^= x >> 31
    return (x ^ (x >> 32)) & _MASK


def q(v) -> str:
    """SQL literal."""
    if v is None:
        return "NULL"
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return repr(v)
    return "'" + str(v).replace("'", "''") + "'"


class _Year:
    """SQL builder for one year's SELECT."""

    def __init__(self, year: int, rows: int, seed: int, share: float, template: int | None = None):
        base = year if template is None else template
        if base not in SETUP:
            raise ValueError(f"不支持的监测年度 {base}（可选：{'、'.join(map(str, YEARS))}）")
        self.year, self.rows, self.seed, self.share = year, rows, seed, share
        self.base = base  # the year whose region, kinds and scenarios are used; dates follow self.year
        self.setup = SETUP[base]
        self.mix = _splitmix32((seed & 0xFFFFFFFFFFFF) * 10007 + year)
        regions = load_regions()
        self.counties = [r for r in regions if r["级别"] == "县级" and r["上级代码"] == self.setup.city]
        if not self.counties:
            raise ValueError(f"行政区表中没有 {self.setup.city} 的县级区划")
        self.kinds = kinds_for(base)
        self.cycle = _weighted_cycle(self.kinds)
        self.ppm = int(round(share * 1_000_000))
        self.phase = self.mix % 997
        self.draws: dict[str, int] = {}

    # random draws -----------------------------------------------------------
    def U(self, name: str) -> str:
        """A uniform draw in [0, 1), one column per name, computed once per row in stage s0."""
        if name not in self.draws:
            self.draws[name] = _splitmix32(zlib.crc32(name.encode()) ^ (self.mix << 1)) & _MASK
        return f"d_{name}"

    def pick(self, name: str, options: Sequence[tuple[str, float]]) -> str:
        """Weighted choice; options are (sql_expr, weight)."""
        total = float(sum(w for _, w in options))
        x = self.U(name)
        parts, acc = [], 0.0
        for expr, w in options[:-1]:
            acc += w / total
            parts.append(f"WHEN {x} < {acc!r} THEN {expr}")
        return f"(CASE {' '.join(parts)} ELSE {options[-1][0]} END)"

    # (x = a OR x = b ...) rather than IN: DuckDB rewrites long IN lists into joins
    @staticmethod
    def K(*ids: str) -> str:
        return _any_of("kind", [KIND_BY_ID[i].code for i in ids])

    @staticmethod
    def S(*names: str) -> str:
        return _any_of("scen", [S[n] for n in names])

    def has(self, kind_id: str) -> bool:
        return self.base in KIND_BY_ID[kind_id].years

    # the query ---------------------------------------------------------------
    def select(self) -> tuple[str, dict[str, str]]:
        y = self.year
        U, K, Sc, pick = self.U, self.K, self.S, self.pick
        codes = [c["代码"] for c in self.counties]
        weights = [self.setup.county_weights.get(c, 1.0) for c in codes]
        pov = [c in self.setup.poverty for c in codes]

        def county_pick(mask):
            opts = [(str(i + 1), w) for i, (w, m) in enumerate(zip(weights, mask)) if m]
            return self.pick("county", opts)

        cycle = "[" + ", ".join(str(k.code) for k in self.cycle) + "]"
        W = len(self.cycle)
        ok = bool(self.ppm)
        clean = CLEAN_WEIGHTS[self.base]
        clean_pick = pick("scenario", [(str(S[n]), w) for n, w in clean.items()])

        # --- stage 1: scenario, county, issue date, source, use
        v = U("variant")
        forced = {
            "temp_no_permit": S["O_TEMP"], "facility_no_filing_flag": S["O_FACILITY"],
            "facility_unfiled": S["O_FACILITY"], "facility_on_farmland": S["O_FACILITY_JBNT_OK"],
            "poverty_after_2021": S["L_POVERTY_OLD"],
            "restored_no_photo": f"CASE WHEN {v} < 0.6 THEN {S['I_NEW']} ELSE {S['I_HOMESTEAD']} END",
            "eliminated_no_photo": f"CASE WHEN {v} < 0.6 THEN {S['I_NEW']} ELSE {S['I_HOMESTEAD']} END",
            "legalized_no_approval": f"CASE WHEN {v} < 0.6 THEN {S['I_NEW']} ELSE {S['I_HOMESTEAD']} END",
            "legal_no_approval": S["L_APPROVED"], "illegal_no_type": S["I_NEW"],
            "other_no_type": f"CASE WHEN {v} < 0.6 THEN {S['O_PSEUDO']} ELSE {S['O_OTHER']} END",
            "stock_old_as_illegal": S["O_STOCK_OLD"], "stock_old_plan_as_pseudo": S["I_STOCK_OLD_PLAN"],
            "stock_new_as_pseudo": S["I_STOCK_NEW"],
            "final_override": f"CASE WHEN {v} < 0.5 THEN {S['L_APPROVED']} ELSE {S['I_NEW']} END",
            "accountability_heavy": S["I_NEW"],
            "category_other": f"CASE WHEN {v} < 0.5 THEN {S['O_PSEUDO']} WHEN {v} < 0.8 THEN {S['O_OTHER']} ELSE {S['O_FACILITY']} END",
            "farmland_house_flag_missing": f"CASE WHEN {v} < 0.5 THEN {S['I_NEW']} ELSE {S['I_HOMESTEAD']} END",
            "farmland_facility_legalized": f"CASE WHEN {v} < 0.5 THEN {S['I_AGRI']} ELSE {S['I_NEW']} END",
            "restored_no_review": f"CASE WHEN {v} < 0.6 THEN {S['I_NEW']} ELSE {S['I_HOMESTEAD']} END",
            "rectified_no_inspector": f"CASE WHEN {v} < 0.6 THEN {S['I_NEW']} ELSE {S['I_HOMESTEAD']} END",
            "fieldcheck_a_farmland_province": S["I_NEW"], "fieldcheck_a_farmland_city": S["I_NEW"],
            "fieldcheck_a_protected_province": S["I_NEW"], "fieldcheck_a_protected_city": S["I_NEW"],
            "fieldcheck_b_mining": S["I_MINING"], "fieldcheck_c_province": S["I_NEW"],
            "fieldcheck_c_city": S["I_NEW"],
            "unreasonable_filing": f"CASE WHEN {v} < 0.4 THEN {S['L_APPROVED']} WHEN {v} < 0.8 THEN {S['I_NEW']} ELSE {S['O_PSEUDO']} END",
        }
        scen_cases = " ".join(f"WHEN {KIND_BY_ID[k].code} THEN {e}" for k, e in forced.items() if self.has(k))
        month = pick("month", [(str(m), MONTH_WEIGHTS[m]) for m in sorted(MONTH_WEIGHTS)])
        src_opts = [(q(s), w) for s, w in self.setup.sources]
        if self.base == 2021:
            source = (f"CASE WHEN {K('prov_claim_late', 'prov_check_late')} THEN '省级' "
                      f"WHEN {K('late_filing', 'missing_filing', 'city_audit_late')} THEN '部级' "
                      f"ELSE {pick('source', src_opts)} END")
        else:
            source = pick("source", src_opts)
        use_by_scen = {
            "L_APPROVED": [("'住宅'", 20), ("'工矿仓储'", 20), ("'商服'", 15), ("'交通水利'", 20),
                           ("'公共服务'", 15), ("'光伏'", 5), ("'其他'", 5)],
            "L_POVERTY_OLD": [("'交通水利'", 40), ("'公共服务'", 30), ("'住宅'", 30)],
            "I_NEW": [("'住宅'", 10), ("'工矿仓储'", 25), ("'商服'", 25), ("'公共服务'", 10), ("'光伏'", 10),
                      ("'其他'", 20)],
            "I_STOCK_NEW": [("'住宅'", 50), ("'商服'", 30), ("'工矿仓储'", 20)],
            "I_STOCK_OLD_PLAN": [("'住宅'", 50), ("'商服'", 30), ("'工矿仓储'", 20)],
        }
        fixed_use = {"L_MINING": "'工矿仓储'", "I_MINING": "'工矿仓储'", "O_STOCK_OLD": "'住宅'",
                     "O_FACILITY": "'农业设施'", "O_FACILITY_JBNT_OK": "'农业设施'", "O_AGRI": "'农业设施'",
                     "O_TEMP": "'其他'", "I_AGRI": "'农业设施'", "I_HOMESTEAD": "'住宅'", "I_OTHER": "'其他'"}
        use_cases = [f"WHEN {S[n]} THEN {pick('use', o)}" for n, o in use_by_scen.items()]
        use_cases += [f"WHEN {S[n]} THEN {e}" for n, e in fixed_use.items()]
        infra = pick("infra", [("'交通'", 50), ("'水利'", 25), ("'能源'", 25)])
        # kinds that need a particular use
        use_kind = []
        if self.has("farmland_facility_legalized"):
            use_kind.append(f"WHEN {K('farmland_facility_legalized')} AND {Sc('I_NEW')} THEN '光伏'")
        s1 = f"""
        SELECT *, make_date({y}, month, 1) AS m1,
               dplus(make_date({y}, month, 1), floor({U('day')} * day(last_day(make_date({y}, month, 1))))) AS xfrq,
               {codes_list(codes)}[ci] AS xzqdm,
               {codes_list([c['名称'][:-1] if len(c['名称']) > 2 else c['名称'][:1] for c in self.counties])}[ci] AS cshort,
               {codes_list(['是' if p else '否' for p in pov])}[ci] AS sfpk
        FROM (
          SELECT *, CAST(CASE WHEN {Sc('L_POVERTY_OLD')} THEN {county_pick(pov)}
                              WHEN {K('legal_no_approval')} THEN {county_pick([not p for p in pov])}
                              WHEN {K('accountability_heavy')} THEN {codes.index(self.setup.focus) + 1}
                              ELSE {county_pick([True] * len(codes))} END AS INTEGER) AS ci,
                 {month} AS month,
                 {source} AS tbly,
                 CASE {' '.join(use_kind)}
                      WHEN {Sc('I_INFRA')} THEN CASE WHEN infra = '能源' THEN '工矿仓储' ELSE '交通水利' END
                      ELSE CASE scen {' '.join(use_cases)} ELSE NULL END END AS ydyt
          FROM (SELECT *, CASE kind {scen_cases} ELSE {clean_pick} END AS scen,
                          {infra} AS infra
                FROM s0))"""

        # --- stage 2: determination, areas (in 0.01亩 integers), rectification
        pd = (f"CASE WHEN {K('stock_old_as_illegal')} THEN '违法用地' "
              f"WHEN {K('stock_old_plan_as_pseudo', 'stock_new_as_pseudo')} THEN '其他用地' "
              f"WHEN scen < 10 THEN '合法用地' WHEN scen < 20 THEN '其他用地' ELSE '违法用地' END")
        z = f"sqrt(-2 * ln(1 - {U('area1')})) * cos(2 * pi() * {U('area2')})"
        jc0 = f"CAST(round(least(greatest(exp(ln(2.5) + 1.25 * {z}), 0.1), 3000) * 100) AS BIGINT)"
        gd_frac = (f"CASE WHEN {Sc(*STOCK)} THEN 0 "
                   f"WHEN {Sc('I_AGRI', 'O_FACILITY_JBNT_OK')} THEN 0.4 + 0.6 * {U('gd2')} "
                   f"WHEN {Sc('O_FACILITY', 'O_AGRI', 'I_HOMESTEAD')} THEN CASE WHEN {U('gd1')} < 0.2 THEN 0 ELSE 0.3 + 0.7 * {U('gd2')} END "
                   f"ELSE CASE WHEN {U('gd1')} < 0.35 THEN 0 WHEN {U('gd1')} < 0.55 THEN 1 ELSE {U('gd2')} END END")
        need_gd = ["farmland_house_flag_missing", "unreasonable_filing", "farmland_facility_legalized"]
        need_gd = [k for k in need_gd if self.has(k)]
        gd0 = (f"CASE WHEN {Sc('I_AGRI', 'O_FACILITY_JBNT_OK')}"
               + (f" OR {K(*need_gd)}" if need_gd else "")
               + f" THEN greatest(1, CAST(floor(jc0 * (0.3 + 0.7 * {U('gd2')})) AS BIGINT))"
               + f" ELSE CAST(floor(jc0 * ({gd_frac})) AS BIGINT) END")
        jb_on = ["farmland_facility_legalized"] if self.has("farmland_facility_legalized") else []
        jbnt0 = (f"CASE WHEN {Sc('I_AGRI', 'O_FACILITY_JBNT_OK')}"
                 + (f" OR {K(*jb_on)}" if jb_on else "")
                 + f" THEN greatest(1, CAST(floor(gd0 * (0.3 + 0.7 * {U('jb2')})) AS BIGINT)) "
                 f"WHEN {Sc(*STOCK, 'O_FACILITY', 'O_AGRI')} OR ydyt = '农业设施' OR ydyt = '光伏' THEN 0 "
                 f"WHEN {U('jb1')} < 0.75 THEN 0 ELSE CAST(floor(gd0 * (0.2 + 0.8 * {U('jb2')})) AS BIGINT) END")
        hx0 = (f"CASE WHEN {Sc(*STOCK)} OR {U('hx1')} < 0.92 THEN 0 "
               f"ELSE CAST(floor(jc0 * (0.05 + 0.5 * {U('hx2')})) AS BIGINT) END")
        kc0 = (f"CASE WHEN {Sc('I_MINING')} THEN CAST(floor(jc0 * (0.2 + 0.7 * {U('kc')})) AS BIGINT) "
               f"WHEN {Sc('L_MINING')} THEN 0 ELSE NULL END")
        # injected areas: (gd, jbnt, hx, kc) in 0.01亩; the monitored area covers them plus extra
        a, t = U("avar"), U("athr")
        inj = {"accountability_heavy": (f"thr({t}, 6000, 15000)", "0", "0", "NULL")}
        if self.base == 2023:
            inj |= {
                "restored_no_review": (
                    f"CASE WHEN {a} < 0.34 THEN thr({t}, 500, 1000) WHEN {a} < 0.67 THEN CAST(floor({U('gdsmall')} * 999) AS BIGINT) ELSE thr({t}, 1000, 3000) END",
                    f"CASE WHEN {a} < 0.34 THEN thr({t}, 500, 1000) ELSE 0 END",
                    f"CASE WHEN {a} >= 0.34 AND {a} < 0.67 THEN thr({t}, 500, 1000) ELSE 0 END", "NULL"),
                "fieldcheck_a_farmland_province": (f"thr({t}, 10000, 40000)", "0", "0", "NULL"),
                "fieldcheck_a_farmland_city": (f"thr({t}, 5000, 10000)", "0", "0", "NULL"),
                "fieldcheck_a_protected_province": (
                    f"CASE WHEN {a} < 0.5 THEN thr({t}, 5000, 12000) ELSE 0 END",
                    f"CASE WHEN {a} < 0.5 THEN thr({t}, 5000, 12000) ELSE 0 END",
                    f"CASE WHEN {a} >= 0.5 THEN thr({t}, 5000, 12000) ELSE 0 END", "NULL"),
                "fieldcheck_a_protected_city": (
                    f"CASE WHEN {a} < 0.5 THEN thr({t}, 3000, 5000) ELSE 0 END",
                    f"CASE WHEN {a} < 0.5 THEN thr({t}, 3000, 5000) ELSE 0 END",
                    f"CASE WHEN {a} >= 0.5 THEN thr({t}, 3000, 5000) ELSE 0 END", "NULL"),
                "fieldcheck_b_mining": ("0", "0", "0", f"thr({t}, 1000, 6000)"),
                "fieldcheck_c_province": (
                    f"CASE WHEN {a} < 0.34 THEN thr({t}, 1000, 4000) WHEN {a} < 0.67 THEN 0 ELSE thr({t}, 5000, 15000) END",
                    f"CASE WHEN {a} < 0.34 THEN thr({t}, 1000, 4000) ELSE 0 END",
                    f"CASE WHEN {a} >= 0.34 AND {a} < 0.67 THEN thr({t}, 1000, 4000) ELSE 0 END", "NULL"),
                "fieldcheck_c_city": (f"thr({t}, 3000, 5000)", "0", "0", "NULL"),
                "unreasonable_filing": (f"2000 + CAST(floor({t} * 7000) AS BIGINT)", "0", "0", "NULL"),
            }
        extra = f"CAST(floor({U('extra')} * 2000) AS BIGINT)"

        def area(idx: int, base: str) -> str:
            if not inj:
                return base
            cases = " ".join(f"WHEN {KIND_BY_ID[k].code} THEN {v[idx]}" for k, v in inj.items())
            return f"CASE kind {cases} ELSE {base} END"

        jc_inj = (f"CASE WHEN {K(*inj)} "
                  f"THEN greatest(gd1, jbnt1, hx1, coalesce(kc1, 0)) + {extra} + 1 ELSE jc0 END") if inj else "jc0"
        zg_clean = pick("zgzt", [("'未整改'", 25), ("'整改中'", 25), ("'已拆除复耕到位'", 25),
                                 ("'已补办完善用地手续'", 15), ("'已消除违法状态'", 10)])
        zg_kind = [
            (("restored_no_photo", "restored_no_review", "fieldcheck_c_province", "fieldcheck_c_city"), "'已拆除复耕到位'"),
            (("eliminated_no_photo",), "'已消除违法状态'"),
            (("legalized_no_approval", "farmland_facility_legalized"), "'已补办完善用地手续'"),
            (("rectified_no_inspector",), f"CASE WHEN {U('zgv')} < 0.5 THEN '已拆除复耕到位' ELSE '已补办完善用地手续' END"),
            (("fieldcheck_a_farmland_province", "fieldcheck_a_farmland_city", "fieldcheck_a_protected_province",
              "fieldcheck_a_protected_city", "fieldcheck_b_mining", "stock_old_as_illegal", "accountability_heavy"),
             f"CASE WHEN {U('zgv')} < 0.5 THEN '未整改' ELSE '整改中' END"),
        ]
        zg_cases = " ".join(f"WHEN {K(*[k for k in ks if self.has(k)])} THEN {e}"
                            for ks, e in zg_kind if any(self.has(k) for k in ks))
        keep_legalized = "kind = " + str(KIND_BY_ID["farmland_facility_legalized"].code) if self.has(
            "farmland_facility_legalized") else "FALSE"
        s2 = f"""
        SELECT *,
               CASE WHEN pdjg <> '违法用地' THEN NULL
                    WHEN zg0 = '已补办完善用地手续' AND (ydyt = '农业设施' OR ydyt = '光伏') AND jbnt_c > 0 AND NOT ({keep_legalized})
                         THEN '已拆除复耕到位'
                    ELSE zg0 END AS zgzt
        FROM (
          SELECT *, {jc_inj} AS jc_c, gd1 AS gd_c, jbnt1 AS jbnt_c, hx1 AS hx_c, kc1 AS kc_c
          FROM (
            SELECT *, {area(0, 'gd0')} AS gd1, {area(1, 'jbnt0')} AS jbnt1, {area(2, 'hx0')} AS hx1,
                   {area(3, 'kc0')} AS kc1
            FROM (
              SELECT *, {jbnt0} AS jbnt0
              FROM (
                SELECT *, {gd0} AS gd0, {hx0} AS hx0, {kc0} AS kc0,
                       {pd} AS pdjg,
                       CASE {zg_cases if zg_cases else 'WHEN FALSE THEN NULL'} ELSE {zg_clean} END AS zg0
                FROM (SELECT *, {jc0} AS jc0 FROM s1)))))"""

        # --- stage 3: dates
        if self.base == 2021:
            due = "CAST(m1 + INTERVAL 1 MONTH + INTERVAL 19 DAY AS DATE)"
        else:
            # 月清 (issued by the 20th → next month's 20th, else the month after), capped by the
            # half-year self-check (issued by 06-20 → filed by 07-15) and the annual report (next 01-18)
            monthly = ("CAST(m1 + CASE WHEN day(xfrq) <= 20 THEN INTERVAL 1 MONTH ELSE INTERVAL 2 MONTH END "
                       "+ INTERVAL 19 DAY AS DATE)")
            cap = f"CASE WHEN xfrq <= DATE '{y}-06-20' THEN DATE '{y}-07-15' ELSE DATE '{y + 1}-01-18' END"
            due = f"CASE WHEN {monthly} < {cap} THEN {monthly} ELSE {cap} END"
        on_time = (f"CASE WHEN {U('tb1')} < 0.05 THEN due "
                   f"ELSE dplus(xfrq, 1 + floor({U('tb2')} * (due - xfrq))) END")
        late = f"dplus(due, 1 + CASE WHEN {U('late')} < 0.3 THEN 0 ELSE floor({U('late2')} * 45) END)"
        tbrq_cases = [f"WHEN {K('missing_filing')} THEN NULL", f"WHEN {K('late_filing')} THEN {late}"]
        if self.base == 2023:
            tbrq_cases.append(f"WHEN {K('military_unfiled')} THEN NULL")
        if self.base == 2021:
            tbrq_cases.append("WHEN tbly = '省级' THEN hcrq")
            rl = (f"CASE WHEN {K('prov_claim_late')} THEN dplus(xfrq, 2 + CASE WHEN {U('rl')} < 0.6 THEN 0 ELSE 1 END) "
                  f"WHEN {K('prov_check_late')} THEN xfrq "
                  f"WHEN tbly = '省级' THEN dplus(xfrq, CASE WHEN {U('rl')} < 0.6 THEN 0 ELSE 1 END) END")
            hc = (f"CASE WHEN {K('prov_claim_late')} THEN dplus(xfrq, 3) "
                  f"WHEN {K('prov_check_late')} THEN dplus(xfrq, 4 + CASE WHEN {U('hc')} < 0.3 THEN 0 ELSE floor({U('hc2')} * 7) END) "
                  f"WHEN tbly = '省级' THEN dplus(rlrq, floor({U('hc')} * (dplus(xfrq, 3) - rlrq + 1))) END")
            sj = (f"CASE WHEN tbrq IS NULL THEN NULL "
                  f"WHEN {K('city_audit_late')} THEN dplus(dplus(due, 7), 1 + CASE WHEN {U('sj')} < 0.3 THEN 0 ELSE floor({U('sj2')} * 20) END) "
                  f"WHEN tbrq > dplus(due, 7) THEN dplus(tbrq, floor({U('sj')} * 4)) "
                  f"ELSE dplus(tbrq, floor({U('sj')} * (dplus(due, 7) - tbrq + 1))) END")
        else:
            rl = hc = sj = "NULL::DATE"
        s3 = f"""
        SELECT *, {sj} AS sjshrq
        FROM (SELECT *, CASE {' '.join(tbrq_cases)} ELSE {on_time} END AS tbrq
              FROM (SELECT *, {hc} AS hcrq
                    FROM (SELECT *, {rl} AS rlrq
                          FROM (SELECT *, {due} AS due FROM s2))))"""

        # --- stage 4: output fields
        out = self._fields(pd="pdjg")
        s4 = "SELECT " + ",\n               ".join(f"{e} AS {_ident(n)}" for n, e in out.items()) + " FROM s3"
        # --- stage 0: row hash, injected kind and every named draw (built last: it needs them all)
        draws = "".join(f", u(r, {salt}) AS d_{name}" for name, salt in self.draws.items())
        s0 = f"""
        SELECT i, r, CASE WHEN {ok} AND v1 > v0 THEN {cycle}[CAST(v0 % {W} AS BIGINT) + 1] ELSE 0 END AS kind{draws}
        FROM (SELECT i, fmix32((i::UBIGINT * 2654435761::UBIGINT + {self.mix}::UBIGINT) & 4294967295::UBIGINT) AS r,
                     ((i + {self.phase}) * {self.ppm}) // 1000000 AS v0,
                     ((i + {self.phase} + 1) * {self.ppm}) // 1000000 AS v1
              FROM {INDEX_TABLE} WHERE i < {self.rows})"""
        return (f"WITH s0 AS ({s0}),\n s1 AS ({s1}),\n s2 AS ({s2}),\n s3 AS ({s3})\n {s4}"), out

    def _fields(self, pd: str) -> dict[str, str]:
        y = self.year
        U, K, Sc, pick = self.U, self.K, self.S, self.pick
        has = self.has
        width = max(8, len(str(self.rows)))
        legal = f"{pd} = '合法用地'"
        f: dict[str, str] = {}
        f["图斑编号"] = f"concat(xzqdm, '{y}', lpad(CAST(i + 1 AS VARCHAR), {width}, '0'))"
        f["监测年度"] = str(y)
        f["行政区代码"] = "xzqdm"
        f["下发日期"] = "xfrq"
        f["图斑来源"] = "tbly"
        if self.base == 2023:
            key = pick("tblx", [("'新增非农建设类'", 55), ("'年度内持续变化类'", 15), ("'其他新增建设类'", 30)])
            key_only = pick("tblx", [("'新增非农建设类'", 70), ("'年度内持续变化类'", 30)])
            other = pick("tblx", [("'其他新增建设类'", 50), ("'其他变化类'", 50)])
            f["图斑类型"] = (f"CASE WHEN {K('category_other', 'accountability_heavy', 'fieldcheck_a_farmland_province', 'fieldcheck_a_farmland_city', 'fieldcheck_a_protected_province', 'fieldcheck_a_protected_city')} THEN {key_only} "
                            f"WHEN {K('fieldcheck_b_mining', 'fieldcheck_c_province', 'fieldcheck_c_city')} THEN '其他新增建设类' "
                            f"WHEN {pd} = '其他用地' THEN {other} ELSE {key} END")
        else:
            f["图斑类型"] = "NULL"
        f["是否矿产图斑"] = f"CASE WHEN {Sc('L_MINING', 'I_MINING')} THEN '是' ELSE '否' END"
        f["监测面积"] = "mu(jc_c)"
        f["耕地面积"] = "mu(gd_c)"
        f["永久基本农田面积"] = "mu(jbnt_c)"
        f["生态保护红线面积"] = "mu(hx_c)"
        f["开采面积"] = "mu(kc_c)"
        f["判定结果"] = pd
        f["其他用地类型"] = (f"CASE WHEN {pd} <> '其他用地' OR {K('other_no_type')} THEN NULL "
                         f"WHEN {Sc('O_FACILITY', 'O_FACILITY_JBNT_OK')} THEN '设施农业用地' "
                         f"WHEN {Sc('O_TEMP')} THEN '临时用地' WHEN {Sc('O_AGRI')} THEN '农业设施建设用地' "
                         f"WHEN {Sc('O_OTHER')} THEN '其他' ELSE '实地伪变化' END")
        f["违法类型"] = (f"CASE WHEN {pd} <> '违法用地' OR {K('illegal_no_type')} THEN NULL "
                     f"WHEN {Sc(*STOCK)} THEN '存量建设用地违法' WHEN {Sc('I_AGRI')} THEN '农业项目破坏耕地' "
                     f"WHEN {Sc('I_HOMESTEAD')} THEN '农村宅基地违法' WHEN {Sc('I_OTHER')} THEN '其他违法' "
                     f"ELSE '新增建设用地违法' END")
        f["最终判定结果"] = (f"CASE WHEN {K('final_override')} THEN CASE WHEN {legal} THEN '违法用地' ELSE '合法用地' END "
                       f"WHEN {U('final')} < 0.15 THEN {pd} END")
        if self.base == 2023:
            f["是否新增农村乱占耕地建房"] = (f"CASE WHEN {pd} <> '违法用地' OR gd_c = 0 OR {K('farmland_house_flag_missing')} THEN NULL "
                                   f"WHEN {Sc('I_HOMESTEAD')} THEN '是' ELSE '否' END")
        else:
            f["是否新增农村乱占耕地建房"] = "NULL"
        f["用地用途"] = "ydyt"
        # approvals
        before = f"dplus(xfrq, -(60 + floor({U('pz')} * 1400)))"
        after = f"dplus(xfrq, floor({U('pz')} * (coalesce(tbrq, due) - xfrq)))"
        approved = f"({Sc('L_APPROVED', 'L_MINING')} AND {legal})"
        legalized = "zgzt = '已补办完善用地手续'"
        pz_date = f"CASE WHEN {approved} THEN {before} WHEN {legalized} THEN {after} END"
        drop_no = f"{K('legal_no_approval', 'legalized_no_approval')} AND {U('drop')} < 0.4"
        drop_date = f"{K('legal_no_approval', 'legalized_no_approval')} AND {U('drop')} >= 0.3"
        f["审批文号"] = (f"CASE WHEN {drop_no} THEN NULL WHEN {approved} OR {legalized} THEN "
                     f"concat('{self.setup.approval_prefix}〔', year({pz_date}), '〕', 1 + CAST(floor({U('pzn')} * 300) AS INTEGER), '号') END")
        f["批准时间"] = f"CASE WHEN {drop_date} THEN NULL ELSE {pz_date} END"
        f["临时用地批复文号"] = (f"CASE WHEN {Sc('O_TEMP')} AND NOT {K('temp_no_permit')} THEN "
                         f"concat(cshort, '自然资临〔', year(xfrq) - CASE WHEN month(xfrq) < 6 THEN 1 ELSE 0 END, '〕', "
                         f"1 + CAST(floor({U('lsn')} * 60) AS INTEGER), '号') END")
        f["设施农业是否备案"] = (f"CASE WHEN {K('facility_no_filing_flag')} THEN NULL WHEN {K('facility_unfiled')} THEN '否' "
                         f"WHEN {Sc('O_FACILITY', 'O_FACILITY_JBNT_OK')} THEN '是' END")
        f["现状地类全为建设用地"] = f"CASE WHEN {Sc(*STOCK)} THEN '是' ELSE '否' END"
        old = (f"CASE WHEN {U('js')} < 0.05 THEN DATE '1998-12-31' ELSE "
               f"dplus(DATE '1965-01-01', floor({U('js2')} * (DATE '1998-12-31' - DATE '1965-01-01'))) END")
        new = (f"CASE WHEN {U('js')} < (CASE WHEN {K('stock_new_as_pseudo')} THEN 0.3 ELSE 0.05 END) THEN DATE '1999-01-01' "
               f"ELSE dplus(DATE '1999-01-01', floor({U('js2')} * (dplus(xfrq, -400) - DATE '1999-01-01'))) END")
        f["建设时间"] = f"CASE WHEN {Sc('O_STOCK_OLD', 'I_STOCK_OLD_PLAN')} THEN {old} WHEN {Sc('I_STOCK_NEW')} THEN {new} END"
        f["是否违反国土空间规划"] = (f"CASE WHEN {Sc('I_STOCK_OLD_PLAN')} THEN '是' WHEN {Sc('O_STOCK_OLD')} THEN '否' "
                           f"WHEN {Sc('I_STOCK_NEW', 'I_NEW')} AND {U('gh')} < 0.3 THEN '是' ELSE '否' END")
        f["是否同意补划"] = (f"CASE WHEN {K('facility_on_farmland')} THEN CASE WHEN {U('bh')} < 0.5 THEN '否' END "
                       f"WHEN {Sc('O_FACILITY_JBNT_OK')} THEN '是' WHEN {Sc('I_AGRI')} THEN '否' END")
        f["是否深度贫困地区"] = "sfpk"
        pov_new = (f"CASE WHEN {U('kg')} < 0.3 THEN DATE '2021-01-01' "
                   f"ELSE dplus(DATE '2021-01-01', floor({U('kg2')} * (dplus(xfrq, -15) - DATE '2021-01-01'))) END")
        pov_old = f"dplus(DATE '2018-06-01', floor({U('kg')} * (DATE '2020-12-31' - DATE '2018-06-01' + 1)))"
        f["开工日期"] = (f"CASE WHEN {K('poverty_after_2021')} THEN {pov_new} WHEN {Sc('L_POVERTY_OLD')} THEN {pov_old} "
                     f"WHEN scen < 10 OR (scen >= 20 AND NOT {Sc(*STOCK)}) THEN dplus(xfrq, -(15 + floor({U('kg')} * 385))) END")
        f["是否军用土地"] = f"CASE WHEN {K('military_unfiled')} THEN '是' ELSE '否' END" if self.base == 2023 else "'否'"
        f["整改状态"] = "zgzt"
        photos = f"1 + CAST(floor({U('zp')} * 8) AS INTEGER)"
        f["现场照片数"] = (f"CASE WHEN {K('restored_no_photo', 'eliminated_no_photo')} THEN "
                      f"CASE WHEN {U('zp0')} < 0.7 THEN 0 END ELSE {photos} END")
        rect = "(zgzt = '已拆除复耕到位' OR zgzt = '已补办完善用地手续')"
        no_insp = f" AND NOT {K('rectified_no_inspector')}" if has("rectified_no_inspector") else ""
        insp = "[" + ", ".join(q(n) for n in INSPECTORS) + "]"
        f["自查验收负责人"] = f"CASE WHEN {rect}{no_insp} THEN {insp}[1 + CAST(floor({U('insp')} * {len(INSPECTORS)}) AS INTEGER)] END"
        if self.base == 2023:
            required = "zgzt = '已拆除复耕到位' AND (jbnt_c >= 500 OR hx_c >= 500 OR gd_c >= 1000)"
            f["内业审核意见"] = (f"CASE WHEN {K('restored_no_review')} THEN NULL "
                           f"WHEN ({required}) OR (zgzt = '已拆除复耕到位' AND {U('ny')} < 0.3) THEN "
                           f"{q(REVIEW_OPINION)} END")
        else:
            f["内业审核意见"] = "NULL"
        f["基础设施类型"] = f"CASE WHEN {Sc('I_INFRA')} THEN infra END"
        f["项目级别"] = f"CASE WHEN {Sc('I_INFRA')} THEN {pick('xmjb', [(q('国家级'), 40), (q('省级'), 60)])} END"
        f["已履行监管服务职责"] = f"CASE WHEN {Sc('I_INFRA')} THEN CASE WHEN {U('lx')} < 0.85 THEN '是' ELSE '否' END END"
        f["填报日期"] = "tbrq"
        f["认领日期"] = "rlrq"
        f["核查完成日期"] = "hcrq"
        f["市级审核日期"] = "sjshrq"
        if self.base == 2023:
            f["明显填报不合理"] = f"CASE WHEN {K('unreasonable_filing')} THEN '是' ELSE '否' END"
            f["复检结论"] = "NULL"
        else:
            f["明显填报不合理"] = "NULL"
            f["复检结论"] = f"CASE WHEN {K('recheck_untrue')} THEN '不真实' WHEN {U('fj')} < 0.15 THEN '真实' END"
        f["移交部门"] = f"CASE WHEN {Sc('I_HOMESTEAD')} AND {U('yj')} < 0.6 THEN {q(TRANSFER_DEPARTMENT)} END"
        # a patch not filed yet: every county-filled field empty
        for name in COUNTY_FIELDS:
            f[name] = f"CASE WHEN {K('missing_filing')} THEN NULL ELSE {f[name]} END"
        return f


def _any_of(column: str, values: Sequence) -> str:
    return "(" + " OR ".join(f"{column} = {q(v)}" for v in values) + ")"


def codes_list(values: Sequence[str]) -> str:
    return "[" + ", ".join(q(v) for v in values) + "]"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _weighted_cycle(kinds: Sequence[Kind]) -> list[Kind]:
    """Smooth weighted round-robin: each kind appears weight times per cycle, spread out."""
    current = [0] * len(kinds)
    total = sum(k.weight for k in kinds)
    out = []
    for _ in range(total):
        for j, k in enumerate(kinds):
            current[j] += k.weight
        best = max(range(len(kinds)), key=lambda j: current[j])
        current[best] -= total
        out.append(kinds[best])
    return out


# --------------------------------------------------------------------------- dictionary checks

def _dictionary() -> list[dict]:
    with open(schemas_dir() / "fields.yaml", encoding="utf-8") as fh:
        return yaml.safe_load(fh)["fields"]


REVIEW_OPINION = "经内业审核，拆除复耕到位，现场照片与影像一致"
TRANSFER_DEPARTMENT = "农业农村局"
FREE_TEXT = (REVIEW_OPINION, TRANSFER_DEPARTMENT)  # the only non-enum literals a CASE may produce


def _check_against_dictionary(fields: list[dict], sql: str, produced: Iterable[str]) -> None:
    """Every field we write exists in fields.yaml, and every text literal a CASE can produce
    (THEN '…' / ELSE '…') is an enum value of the dictionary, 是/否, or one of FREE_TEXT:
    a mistyped or renamed enum value stops generation instead of producing bad data."""
    names = {f["name"] for f in fields}
    unknown = [n for n in produced if n not in names]
    if unknown:
        raise ValueError(f"生成器字段不在数据字典中：{'、'.join(unknown)}")
    allowed = {"是", "否", *FREE_TEXT}
    for fd in fields:
        allowed.update(fd.get("values", ()))
    literals = set(re.findall(r"(?:THEN|ELSE)\s+'([^']*)'", sql))
    bad = sorted(literals - allowed)
    if bad:
        raise ValueError(f"生成器使用的枚举值不在数据字典中：{'、'.join(bad)}")


# --------------------------------------------------------------------------- public API

def build_sql(years: Sequence[int], rows: int, seed: int, violation_share: float,
              templates: dict[int, int] | None = None) -> tuple[str, list[str]]:
    """The SELECT producing the table (all years UNION ALL), and the output column names.

    `templates` maps a year the generator has no setup for to a year it has (e.g. {2024: 2023}: a 2024 policy
    extending 2023's): that year's region, kinds and scenarios, with every date in the new year."""
    fields = _dictionary()
    names = [f["name"] for f in fields]
    selects = []
    for y in years:
        sql, produced = _Year(y, rows, seed, violation_share, (templates or {}).get(y)).select()
        _check_against_dictionary(fields, sql, produced)
        cols = ", ".join((_ident(n) if n in produced else f"NULL AS {_ident(n)}") for n in names)
        selects.append(f"SELECT {cols} FROM ({sql})")
    return "\nUNION ALL\n".join(selects), names


def kind_counts(year: int, rows: int, seed: int, violation_share: float, template: int | None = None) -> dict[str, int]:
    """How many rows of each injected kind generate() writes (computed, not scanned)."""
    b = _Year(year, rows, seed, violation_share, template)
    counts = {k.id: 0 for k in b.kinds}
    if not b.ppm:
        return counts
    v_start = (b.phase * b.ppm) // 1_000_000
    v_end = ((rows + b.phase) * b.ppm) // 1_000_000
    W = len(b.cycle)
    full, rest = divmod(v_end - v_start, W)
    for k in b.cycle:
        counts[k.id] += full
    for n in range(v_start, v_start + rest):
        counts[b.cycle[n % W].id] += 1
    return counts


def generate(year: int | Sequence[int], rows: int, seed: int, out_path, violation_share: float = 0.1,
             truth_path=None, threads: int | None = None, templates: dict[int, int] | None = None) -> dict:
    """Write `rows` synthetic patches per year to out_path (.csv or .parquet).

    Returns a summary: {"path", "rows", "years", "kinds": {year: {kind: n}}}. When truth_path is
    given, also writes a CSV 图斑编号,监测年度,注入类型,说明 of the injected rows. `templates`: see build_sql."""
    import duckdb

    years = [year] if isinstance(year, int) else list(year)
    if not years:
        raise ValueError("至少指定一个监测年度")
    if len(set(years)) != len(years):
        raise ValueError("监测年度重复")
    if rows < 0:
        raise ValueError("行数不能为负")
    if not 0.0 <= violation_share <= 1.0:
        raise ValueError("违规比例应在 0 到 1 之间")
    out = Path(out_path)
    suffix = out.suffix.lower()
    if suffix not in (".csv", ".parquet"):
        raise ValueError(f"输出文件须以 .csv 或 .parquet 结尾：{out}")
    templates = templates or {}
    sql, _names = build_sql(years, rows, seed, violation_share, templates)
    con = duckdb.connect()
    try:
        if threads:
            con.execute(f"SET threads = {int(threads)}")
        con.execute("SET preserve_insertion_order = true")
        con.execute("SET enable_progress_bar = false")
        con.execute(_MACROS)
        con.execute(f"CREATE TEMP TABLE {INDEX_TABLE} AS SELECT range AS i FROM range({int(rows)})")
        out.parent.mkdir(parents=True, exist_ok=True)
        opts = "(FORMAT parquet, COMPRESSION zstd)" if suffix == ".parquet" else "(FORMAT csv, HEADER, DELIMITER ',')"
        con.execute(f"COPY ({sql}) TO {q(str(out))} {opts}")
        if truth_path is not None:
            _write_truth(con, years, rows, seed, violation_share, truth_path, templates)
    finally:
        con.close()
    return {"path": str(out), "rows": rows * len(years), "years": years,
            "kinds": {y: kind_counts(y, rows, seed, violation_share, templates.get(y)) for y in years}}


def _write_truth(con, years, rows, seed, share, truth_path, templates) -> None:
    parts = []
    for y in years:
        b = _Year(y, rows, seed, share, templates.get(y))
        sql, _ = b.select()
        labels = " ".join(f"WHEN {k.code} THEN {q(k.id)}" for k in b.kinds)
        titles = " ".join(f"WHEN {k.code} THEN {q(k.title)}" for k in b.kinds)
        parts.append(
            f"SELECT 图斑编号, 监测年度, CASE _kind {labels} END AS 注入类型, CASE _kind {titles} END AS 说明 "
            f"FROM ({_with_kind(sql)}) WHERE _kind > 0")
    con.execute(f"COPY ({' UNION ALL '.join(parts)}) TO {q(str(truth_path))} (FORMAT csv, HEADER)")


def _with_kind(sql: str) -> str:
    """The year's query with the injected kind kept as column _kind."""
    head, sep, tail = sql.rpartition("\n SELECT ")
    return f"{head}{sep}kind AS _kind, {tail}"


# --------------------------------------------------------------------------- CLI

DESCRIPTION = ("生成可复现的卫片执法图斑模拟数据（CSV 或 Parquet，表头为数据字典中文字段名）。"
               "同一参数总是生成逐字节相同的文件；少量行按比例注入一种违规，便于检验政策规则。")


def _epilog() -> str:
    kinds = "\n".join(f"  {k.id:<32} {'/'.join(map(str, k.years)):<10} {k.expect:<10} {k.title}" for k in KINDS)
    return ("示例：\n"
            "  weipian generate --year 2023 --rows 300 --seed 2023 --violation-share 0.3 -o sample_2023.csv\n"
            "  weipian generate --year 2021 --year 2023 --rows 100 --seed 7 -o mixed.csv\n"
            "  weipian generate --year 2023 --rows 10000000 --seed 1 -o big.parquet --truth big_truth.csv\n\n"
            "注入的违规类型（类型 年度 预期结果 说明）：\n" + kinds)


def _add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--year", type=int, action="append", required=True, metavar="年度",
                   help=f"监测年度（{'、'.join(map(str, YEARS))}，或政策目录中继承它们的年度）；可重复给出以生成混合年度文件，"
                        "每个年度各生成 --rows 行")
    p.add_argument("--policies", metavar="目录", help="政策目录（默认：内置的 policies/），用于查找其他年度继承自哪一年")
    p.add_argument("--rows", type=int, required=True, metavar="N", help="每个年度生成的图斑行数")
    p.add_argument("--seed", type=int, default=0, metavar="S", help="随机种子（默认 0）")
    p.add_argument("-o", "--output", required=True, metavar="文件", help="输出文件，后缀 .csv 或 .parquet")
    p.add_argument("--violation-share", type=float, default=0.1, metavar="P",
                   help="注入违规的行所占比例，0～1（默认 0.1）；每行至多注入一种违规")
    p.add_argument("--truth", metavar="文件", help="另存注入清单 CSV（图斑编号、监测年度、注入类型、说明）")
    p.add_argument("--threads", type=int, metavar="N", help="DuckDB 线程数（默认全部核心；不影响生成结果）")


def year_templates(years: Sequence[int], policies=None) -> dict[int, int]:
    """For each asked year the generator has no setup for, the year it is generated like: the nearest year with
    a setup along its policy's `extends` chain (policies/2024 extends ../2023 -> 2023). ValueError otherwise."""
    from engine.policy.loader import load_source
    from engine.policy.policyset import policy_dirs
    from engine.paths import policies_dir
    from engine.errors import PolicyError

    out: dict[int, int] = {}
    missing = [y for y in years if y not in SETUP]
    if not missing:
        return out
    root = Path(policies) if policies else policies_dir()
    found: dict[int, list[int]] = {}
    for d in policy_dirs(root) if root.is_dir() else []:
        try:
            src = load_source(d)
        except PolicyError:
            continue
        if src.year is not None:
            found[src.year] = [y for y in src.chain_years if y is not None]
    for y in missing:
        base = next((c for c in found.get(y, []) if c in SETUP), None)
        if base is None:
            known = sorted(set(SETUP) | {k for k, c in found.items() if any(x in SETUP for x in c)})
            raise ValueError(f"不支持的监测年度 {y}：{root} 中没有继承 {'、'.join(map(str, YEARS))} 年政策的 {y} 年政策"
                             f"（可选：{'、'.join(map(str, known))}）")
        out[y] = base
    return out


def _run(args, say) -> int:
    import time

    t0 = time.perf_counter()
    try:
        templates = year_templates(args.year, args.policies)
        for year, base in templates.items():
            say(f"{year} 年：按其政策继承的 {base} 年情形生成（行政区、注入类型沿用 {base} 年，日期在 {year} 年）")
        summary = generate(args.year, args.rows, args.seed, args.output, args.violation_share,
                           truth_path=args.truth, threads=args.threads, templates=templates)
    except ValueError as e:
        print(f"错误：{e}", file=sys.stderr)
        return 2
    dt = time.perf_counter() - t0
    injected = sum(sum(c.values()) for c in summary["kinds"].values())
    say(f"已生成 {summary['path']}：{summary['rows']} 行（年度 {'、'.join(map(str, summary['years']))}），"
        f"其中注入违规 {injected} 行，用时 {dt:.1f} 秒")
    return 0


def register(sub) -> None:
    """`weipian generate` (engine.cli.main picks this up)."""
    p = sub.add_parser("generate", help="生成可复现的图斑模拟数据", description=DESCRIPTION, epilog=_epilog(),
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(p)
    p.set_defaults(func=lambda args, console: _run(args, lambda m: console.print(m, markup=False, highlight=False)))


def main(argv: Sequence[str] | None = None) -> int:
    """Standalone entry point: python datasets/generator.py ..."""
    p = argparse.ArgumentParser(prog="weipian generate", description=DESCRIPTION, epilog=_epilog(),
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_arguments(p)
    return _run(p.parse_args(argv), print)


if __name__ == "__main__":
    sys.exit(main())
