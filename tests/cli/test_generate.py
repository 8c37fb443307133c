"""The synthetic patch generator (datasets/generator.py), the bundled samples and the region table."""
from __future__ import annotations

import csv
import re
from collections import Counter
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
import yaml

from engine.cli.generate import load_generator

gen = load_generator()
from engine.paths import datasets_dir, schemas_dir
from engine.data.regions import load_regions, region_names

DATASETS = datasets_dir()
# the exact parameters of datasets/README.md
SAMPLES = {
    "sample_2021.csv": dict(year=2021, rows=300, seed=2021, violation_share=0.3),
    "sample_2023.csv": dict(year=2023, rows=300, seed=2023, violation_share=0.3),
    "sample_mixed.csv": dict(year=[2021, 2023], rows=100, seed=7, violation_share=0.3),
}
CITY = {2021: "140900", 2023: "610900"}
KEY_CATEGORIES = ("新增非农建设类", "年度内持续变化类")


# --------------------------------------------------------------------------- helpers

def _fields() -> list[dict]:
    return yaml.safe_load((schemas_dir() / "fields.yaml").read_text(encoding="utf-8"))["fields"]


def read_rows(path) -> list[dict]:
    """CSV rows with values typed the way the dictionary says (empty -> None)."""
    types = {f["name"]: f["type"] for f in _fields()}
    out = []
    with open(path, encoding="utf-8", newline="") as fh:
        for raw in csv.DictReader(fh):
            row = {}
            for k, v in raw.items():
                if v == "":
                    row[k] = None
                elif types[k] == "area":
                    row[k] = Decimal(v)
                elif types[k] == "int":
                    row[k] = int(v)
                elif types[k] == "date":
                    row[k] = date.fromisoformat(v)
                else:
                    row[k] = v
            out.append(row)
    return out


def read_truth(path) -> dict[str, str]:
    with open(path, encoding="utf-8", newline="") as fh:
        return {r["图斑编号"]: r["注入类型"] for r in csv.DictReader(fh)}


def _add_months(d: date, n: int, day: int) -> date:
    m = d.month - 1 + n
    return date(d.year + m // 12, m % 12 + 1, day)


def due(r) -> date:
    """月清 due date, written independently of the generator's SQL."""
    x = r["下发日期"]
    if r["监测年度"] == 2021:
        return _add_months(x, 1, 20)
    monthly = _add_months(x, 1 if x.day <= 20 else 2, 20)
    cap = date(x.year, 7, 15) if x <= date(x.year, 6, 20) else date(x.year + 1, 1, 18)
    return min(monthly, cap)


def area(r, name) -> Decimal:
    return r[name] if r[name] is not None else Decimal(0)


def suspected(r) -> bool:
    return r["图斑类型"] in KEY_CATEGORIES and not (r["判定结果"] == "合法用地" and r["审批文号"] is not None)


RESTORED, LEGALIZED = "已拆除复耕到位", "已补办完善用地手续"

# What each injected kind looks like in the data (an oracle independent of the generator's SQL).
DETECT = {
    "temp_no_permit": lambda r: r["判定结果"] == "其他用地" and r["其他用地类型"] == "临时用地" and r["临时用地批复文号"] is None,
    "facility_no_filing_flag": lambda r: r["其他用地类型"] == "设施农业用地" and r["设施农业是否备案"] is None,
    "facility_unfiled": lambda r: r["其他用地类型"] == "设施农业用地" and r["设施农业是否备案"] == "否",
    "facility_on_farmland": lambda r: (r["其他用地类型"] in ("设施农业用地", "农业设施建设用地") or r["用地用途"] == "农业设施")
    and area(r, "永久基本农田面积") > 0 and r["是否同意补划"] != "是" and r["违法类型"] != "农业项目破坏耕地",
    "poverty_after_2021": lambda r: r["是否深度贫困地区"] == "是" and r["判定结果"] == "合法用地" and r["审批文号"] is None
    and r["开工日期"] is not None and r["开工日期"] >= date(2021, 1, 1),
    "restored_no_photo": lambda r: r["整改状态"] == RESTORED and (r["现场照片数"] or 0) < 1,
    "eliminated_no_photo": lambda r: r["整改状态"] == "已消除违法状态" and (r["现场照片数"] or 0) < 1,
    "legalized_no_approval": lambda r: r["整改状态"] == LEGALIZED and (r["审批文号"] is None or r["批准时间"] is None),
    "legal_no_approval": lambda r: r["判定结果"] == "合法用地" and r["是否深度贫困地区"] == "否"
    and (r["审批文号"] is None or r["批准时间"] is None),
    "illegal_no_type": lambda r: r["判定结果"] == "违法用地" and r["违法类型"] is None,
    "other_no_type": lambda r: r["判定结果"] == "其他用地" and r["其他用地类型"] is None,
    "stock_old_as_illegal": lambda r: r["现状地类全为建设用地"] == "是" and r["建设时间"] is not None
    and r["建设时间"] < date(1999, 1, 1) and r["是否违反国土空间规划"] == "否" and r["其他用地类型"] != "实地伪变化",
    "stock_old_plan_as_pseudo": lambda r: r["现状地类全为建设用地"] == "是" and r["建设时间"] is not None
    and r["建设时间"] < date(1999, 1, 1) and r["是否违反国土空间规划"] == "是" and r["违法类型"] != "存量建设用地违法",
    "stock_new_as_pseudo": lambda r: r["现状地类全为建设用地"] == "是" and r["建设时间"] is not None
    and r["建设时间"] >= date(1999, 1, 1) and r["审批文号"] is None and r["违法类型"] != "存量建设用地违法",
    "late_filing": lambda r: r["填报日期"] is not None and r["填报日期"] > due(r),
    "missing_filing": lambda r: r["填报日期"] is None and r["是否军用土地"] != "是",
    "final_override": lambda r: r["最终判定结果"] is not None and r["最终判定结果"] != r["判定结果"],
    "accountability_heavy": lambda r: r["行政区代码"] in ("140923", "610902") and r["违法类型"] == "新增建设用地违法"
    and area(r, "耕地面积") >= 60 and r["整改状态"] in ("未整改", "整改中"),
    "city_audit_late": lambda r: r["市级审核日期"] is not None and r["市级审核日期"] > date.fromordinal(due(r).toordinal() + 7),
    "prov_claim_late": lambda r: r["图斑来源"] == "省级" and (r["认领日期"] - r["下发日期"]).days > 1,
    "prov_check_late": lambda r: r["图斑来源"] == "省级" and (r["核查完成日期"] - r["下发日期"]).days > 3,
    "recheck_untrue": lambda r: r["复检结论"] == "不真实",
    "military_unfiled": lambda r: r["是否军用土地"] == "是" and r["填报日期"] is None,
    "category_other": lambda r: r["图斑类型"] in KEY_CATEGORIES and r["判定结果"] == "其他用地",
    "farmland_house_flag_missing": lambda r: r["判定结果"] == "违法用地" and area(r, "耕地面积") > 0
    and r["是否新增农村乱占耕地建房"] is None,
    "farmland_facility_legalized": lambda r: r["用地用途"] in ("农业设施", "光伏") and area(r, "永久基本农田面积") > 0
    and r["判定结果"] == "违法用地" and r["整改状态"] == LEGALIZED,
    "restored_no_review": lambda r: r["整改状态"] == RESTORED and r["内业审核意见"] is None
    and (area(r, "永久基本农田面积") >= 5 or area(r, "生态保护红线面积") >= 5 or area(r, "耕地面积") >= 10),
    "rectified_no_inspector": lambda r: r["整改状态"] in (RESTORED, LEGALIZED) and r["自查验收负责人"] is None,
    "fieldcheck_a_farmland_province": lambda r: suspected(r) and area(r, "耕地面积") >= 100,
    "fieldcheck_a_farmland_city": lambda r: suspected(r) and 50 <= area(r, "耕地面积") < 100,
    "fieldcheck_a_protected_province": lambda r: suspected(r)
    and max(area(r, "永久基本农田面积"), area(r, "生态保护红线面积")) >= 50,
    "fieldcheck_a_protected_city": lambda r: suspected(r)
    and 30 <= max(area(r, "永久基本农田面积"), area(r, "生态保护红线面积")) < 50,
    "fieldcheck_b_mining": lambda r: r["是否矿产图斑"] == "是" and area(r, "开采面积") >= 10,
    "fieldcheck_c_province": lambda r: r["整改状态"] == RESTORED and (
        max(area(r, "永久基本农田面积"), area(r, "生态保护红线面积")) >= 10 or area(r, "耕地面积") >= 50),
    "fieldcheck_c_city": lambda r: r["整改状态"] == RESTORED and 30 <= area(r, "耕地面积") < 50,
    "unreasonable_filing": lambda r: r["明显填报不合理"] == "是",
}


@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    """Each bundled sample regenerated (with its truth file) next to the committed copy."""
    d = tmp_path_factory.mktemp("samples")
    out = {}
    for name, kw in SAMPLES.items():
        path, truth = d / name, d / f"truth_{name}"
        summary = gen.generate(out_path=path, truth_path=truth, **kw)
        out[name] = (path, truth, summary)
    return out


# --------------------------------------------------------------------------- regions.csv

def test_regions_counties_and_counts():
    regions = load_regions()
    by_code = {r["代码"]: r for r in regions}
    assert len(by_code) == len(regions), "代码重复"
    counties = Counter(r["上级代码"] for r in regions if r["级别"] == "县级")
    assert counties["610900"] == 10 and counties["140900"] == 14
    assert set(counties) == {"610900", "140900"}
    expected = {"610000": 107, "610900": 10, "140000": 117, "140900": 14, "110000": 16, "120000": 16,
                "310000": 16, "320000": 95, "330000": 90, "340000": 104, "440000": 122, "500000": 38}
    assert {c: by_code[c]["县级区划数"] for c in expected} == expected
    assert all(r["县级区划数"] is None for r in regions if r["级别"] == "县级")
    # the counted counties of a city are all there
    for city in ("610900", "140900"):
        assert by_code[city]["县级区划数"] == counties[city]


def test_regions_pilot_provinces_and_hierarchy():
    regions = load_regions()
    by_code = {r["代码"]: r for r in regions}
    pilots = {r["代码"] for r in regions if r["用地审批权委托试点省"] is True}
    assert pilots == {"110000", "120000", "310000", "320000", "330000", "340000", "440000", "500000"}
    assert by_code["610000"]["用地审批权委托试点省"] is False and by_code["140000"]["用地审批权委托试点省"] is False
    for r in regions:
        assert re.fullmatch(r"[0-9]{6}", r["代码"])
        assert r["级别"] in ("省级", "市级", "县级")
        if r["级别"] == "省级":
            assert r["代码"].endswith("0000") and r["上级代码"] is None and r["用地审批权委托试点省"] is not None
        else:
            assert r["用地审批权委托试点省"] is None
            parent = by_code[r["上级代码"]]
            assert parent["级别"] == {"市级": "省级", "县级": "市级"}[r["级别"]]
            # city = first 4 digits + "00", province = first 2 + "0000"
            n = 4 if r["级别"] == "县级" else 2
            assert r["上级代码"] == r["代码"][:n] + "0" * (6 - n)


def test_region_names_match_domain():
    names = region_names()
    assert names["140923"] == "代县" and names["610981"] == "旬阳市" and names["610902"] == "汉滨区"
    assert names["610000"] == "陕西省" and names["140900"] == "忻州市"
    assert [names[c] for c in ("610921", "610922", "610923", "610924", "610925", "610926", "610927", "610929")] == [
        "汉阴县", "石泉县", "宁陕县", "紫阳县", "岚皋县", "平利县", "镇坪县", "白河县"]
    assert [names[c] for c in ("140902", "140921", "140922", "140924", "140925", "140926", "140927", "140928",
                               "140929", "140930", "140931", "140932", "140981")] == [
        "忻府区", "定襄县", "五台县", "繁峙县", "宁武县", "静乐县", "神池县", "五寨县", "岢岚县", "河曲县", "保德县",
        "偏关县", "原平市"]


# --------------------------------------------------------------------------- determinism and size

def test_same_seed_same_bytes(tmp_path):
    a, b, c = tmp_path / "a.csv", tmp_path / "b.csv", tmp_path / "c.csv"
    gen.generate(2023, 3000, 42, a)
    gen.generate(2023, 3000, 42, b, threads=1)  # thread count does not matter
    gen.generate(2023, 3000, 43, c)
    assert a.read_bytes() == b.read_bytes()
    assert a.read_bytes() != c.read_bytes()


def test_committed_samples_are_generator_output(samples):
    for name, (path, _truth, _s) in samples.items():
        assert (DATASETS / name).read_bytes() == path.read_bytes(), f"{name} 与生成器输出不一致，请按 datasets/README.md 重新生成"


def test_readme_gives_the_exact_commands():
    text = (DATASETS / "README.md").read_text(encoding="utf-8")
    for name, kw in SAMPLES.items():
        years = kw["year"] if isinstance(kw["year"], list) else [kw["year"]]
        cmd = ("weipian generate " + " ".join(f"--year {y}" for y in years)
               + f" --rows {kw['rows']} --seed {kw['seed']} --violation-share {kw['violation_share']} -o datasets/{name}")
        assert cmd in text, cmd


@pytest.mark.parametrize("rows", [0, 1, 7, 1234])
def test_row_count(tmp_path, rows):
    out = tmp_path / "p.csv"
    summary = gen.generate(2021, rows, 5, out)
    lines = out.read_text(encoding="utf-8").splitlines()
    assert len(lines) == rows + 1 and summary["rows"] == rows
    assert lines[0].split(",") == [f["name"] for f in _fields()]


def test_mixed_years_and_parquet(tmp_path):
    import duckdb

    csv_path, pq_path = tmp_path / "m.csv", tmp_path / "m.parquet"
    gen.generate([2021, 2023], 500, 9, csv_path)
    gen.generate([2021, 2023], 500, 9, pq_path)
    con = duckdb.connect()
    n = dict(con.execute(f"SELECT 监测年度, count(*) FROM read_parquet('{pq_path}') GROUP BY ALL").fetchall())
    assert n == {2021: 500, 2023: 500}
    a = con.execute(f"SELECT * FROM read_csv('{csv_path}', all_varchar=true)").fetchall()
    b = con.execute(f"SELECT COLUMNS(*)::VARCHAR FROM read_parquet('{pq_path}')").fetchall()
    assert a == b
    keys = [r["图斑编号"] for r in read_rows(csv_path)]
    assert len(keys) == len(set(keys))


def test_violation_share_is_controlled(tmp_path):
    rows, share = 20000, 0.1
    summary = gen.generate(2023, rows, 11, tmp_path / "s.csv", share, truth_path=tmp_path / "t.csv")
    counts = summary["kinds"][2023]
    assert abs(sum(counts.values()) - rows * share) <= 1
    assert set(counts) == {k.id for k in gen.kinds_for(2023)}
    # each kind gets its weight's share of the injected rows (within one row per weight unit)
    weights = {k.id: k.weight for k in gen.kinds_for(2023)}
    total = sum(weights.values())
    for kind, n in counts.items():
        assert abs(n - rows * share * weights[kind] / total) <= weights[kind], kind
    assert Counter(read_truth(tmp_path / "t.csv").values()) == Counter({k: v for k, v in counts.items() if v})


def test_zero_share_is_all_clean(tmp_path):
    summary = gen.generate(2021, 2000, 3, tmp_path / "c.csv", 0.0, truth_path=tmp_path / "t.csv")
    assert sum(summary["kinds"][2021].values()) == 0
    assert read_truth(tmp_path / "t.csv") == {}
    rows = read_rows(tmp_path / "c.csv")
    for kind in gen.kinds_for(2021):
        if kind.expect in ("error", "warning", "info"):
            assert not [r["图斑编号"] for r in rows if DETECT[kind.id](r)], kind.id


def test_bad_arguments(tmp_path):
    with pytest.raises(ValueError):
        gen.generate(2023, 10, 1, tmp_path / "x.txt")
    with pytest.raises(ValueError):
        gen.generate(2022, 10, 1, tmp_path / "x.csv")
    with pytest.raises(ValueError):
        gen.generate(2023, 10, 1, tmp_path / "x.csv", violation_share=1.5)
    assert gen.main(["--year", "2023", "--rows", "3", "-o", str(tmp_path / "x.txt")]) == 2
    assert gen.main(["--year", "2023", "--rows", "3", "-o", str(tmp_path / "ok.csv")]) == 0


# --------------------------------------------------------------------------- injected kinds

def test_every_kind_present_and_recognisable(samples):
    for name in ("sample_2021.csv", "sample_2023.csv"):
        path, truth_path, summary = samples[name]
        year = SAMPLES[name]["year"]
        rows = {r["图斑编号"]: r for r in read_rows(path)}
        truth = read_truth(truth_path)
        got = Counter(truth.values())
        assert got == Counter({k: v for k, v in summary["kinds"][year].items() if v})
        for kind in gen.kinds_for(year):
            assert got[kind.id] >= 1, f"{name}: 缺少注入类型 {kind.id}"
            ids = [t for t, k in truth.items() if k == kind.id]
            misses = [t for t in ids if not DETECT[kind.id](rows[t])]
            assert not misses, f"{name}: {kind.id} 的行不符合该类型：{misses}"
        # most rows are clean, and clean rows trip no row rule (triggers may fire on big clean patches)
        clean = [r for t, r in rows.items() if t not in truth]
        assert len(clean) >= 0.6 * len(rows)
        for kind in gen.kinds_for(year):
            if kind.expect in ("error", "warning", "info"):
                bad = [r["图斑编号"] for r in clean if DETECT[kind.id](r)]
                assert not bad, f"{name}: 干净行符合 {kind.id}：{bad}"


def test_enum_values_checked_against_dictionary():
    fields = [dict(f) for f in _fields()]
    for f in fields:
        if f["name"] == "用地用途":
            f["values"] = [v for v in f["values"] if v != "光伏"]
    sql, produced = gen._Year(2023, 10, 1, 0.3).select()
    gen._check_against_dictionary(_fields(), sql, produced)
    with pytest.raises(ValueError, match="光伏"):
        gen._check_against_dictionary(fields, sql, produced)
    with pytest.raises(ValueError, match="不存在的字段"):
        gen._check_against_dictionary(_fields(), sql, [*produced, "不存在的字段"])


def test_kind_catalogue():
    ids = [k.id for k in gen.KINDS]
    assert len(ids) == len(set(ids)) and len({k.code for k in gen.KINDS}) == len(ids)
    assert set(DETECT) == set(ids)
    for k in gen.KINDS:
        assert k.expect in ("error", "warning", "info", "task", "assessment", "none")
        assert k.id in gen.__doc__, f"{k.id} 未写入模块说明"


# --------------------------------------------------------------------------- consistency invariants

def test_invariants(samples):
    fields = {f["name"]: f for f in _fields()}
    regions = {r["代码"]: r for r in load_regions()}
    for name, (path, _truth, _s) in samples.items():
        rows = read_rows(path)
        seen = set()
        for r in rows:
            y = r["监测年度"]
            key = (r["图斑编号"], y)
            assert key not in seen
            seen.add(key)
            code = r["行政区代码"]
            assert code in regions and regions[code]["级别"] == "县级" and regions[code]["上级代码"] == CITY[y]
            assert r["图斑编号"].startswith(code + str(y))
            assert date(y, 3, 1) <= r["下发日期"] <= date(y, 12, 31)
            jc = r["监测面积"]
            assert jc > 0
            for a in ("耕地面积", "永久基本农田面积", "生态保护红线面积"):
                assert 0 <= r[a] <= jc, (r["图斑编号"], a)
            for k, v in r.items():
                f = fields[k]
                if v is None:
                    continue
                if f["type"] == "enum":
                    assert v in f["values"], (k, v)
                elif f["type"] == "bool":
                    assert v in ("是", "否"), (k, v)
                elif f["type"] == "area":
                    assert v >= 0 and v == v.quantize(Decimal("0.01")), (k, v)
            if r["填报日期"] is not None:
                assert r["填报日期"] > r["下发日期"] or r["图斑来源"] == "省级"
            if r["市级审核日期"] is not None:
                assert r["市级审核日期"] >= r["填报日期"]
            if r["判定结果"] == "其他用地":
                assert r["违法类型"] is None
            if r["判定结果"] == "违法用地":
                assert r["其他用地类型"] is None and r["整改状态"] is not None
            if r["现状地类全为建设用地"] == "是":
                assert r["耕地面积"] == 0
            # the year's own fields only
            if y == 2021:
                assert r["图斑类型"] is None and r["明显填报不合理"] is None and r["内业审核意见"] is None
            else:
                assert r["认领日期"] is None and r["市级审核日期"] is None and r["复检结论"] is None
                assert r["图斑类型"] is not None


def test_realistic_distributions(tmp_path):
    rows = read_rows(gen.generate(2021, 20000, 1, tmp_path / "d.csv")["path"])
    by_county = Counter(r["行政区代码"] for r in rows)
    assert by_county.most_common(1)[0][0] == "140923" and len(by_county) == 14
    assert {r["下发日期"].month for r in rows} == set(range(3, 13))
    big = sum(1 for r in rows if r["监测面积"] > 100)
    assert 0 < big < 0.02 * len(rows)
    small = sum(1 for r in rows if r["监测面积"] < 10)
    assert small > 0.7 * len(rows)
    assert Counter(r["图斑来源"] for r in rows).keys() == {"部级", "省级"}
    rows23 = read_rows(gen.generate(2023, 5000, 1, tmp_path / "e.csv")["path"])
    assert len({r["行政区代码"] for r in rows23}) == 10
    assert Counter(r["图斑来源"] for r in rows23).keys() == {"部级", "补充"}
