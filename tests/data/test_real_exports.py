"""Files shaped like real county exports (issue 9): built here from hand-written content, with the expected
row counts, units, findings and tasks worked out by hand from that content (never captured from a run).

The policy used is a small test policy (tmp dir), so the expected tasks follow from one line:
a patch whose 耕地面积 is at least 100 亩 gets a 省级 实地核查 task.
"""
from __future__ import annotations

import struct

import pyarrow as pa
import pyogrio
import pytest

from engine.errors import InputError
from engine.policy.policyset import load_policies
from engine.run.runner import check, prepare
from tests.conftest import run_cli, write_policy_dir

POLICY = {
    "rules.yaml": """
        triggers:
          - id: T-big
            title: 大面积耕地
            cite: 测试条款
            level: 省级
            action: 实地核查
            when: 耕地面积 >= 100亩
            message: "{图斑编号}: 耕地 {耕地面积}"
        rules:
          - id: R-illegal
            title: 违法用地
            cite: 测试条款
            severity: error
            when: 判定结果 == "违法用地"
            message: "{图斑编号}: 违法用地"
        """,
}


@pytest.fixture
def policies(tmp_path):
    write_policy_dir(tmp_path / "pol", 2023, POLICY)
    return tmp_path / "pol"


def square(x0: float, y0: float, side_x: float, side_y: float | None = None) -> bytes:
    """WKB of an axis-aligned rectangle (little endian Polygon, one ring, closed)."""
    side_y = side_x if side_y is None else side_y
    ring = [(x0, y0), (x0 + side_x, y0), (x0 + side_x, y0 + side_y), (x0, y0 + side_y), (x0, y0)]
    return struct.pack("<BII", 1, 3, 1) + struct.pack("<I", len(ring)) + b"".join(struct.pack("<dd", *p) for p in ring)


# Three patches, areas in 平方米 (as the national platform and GIS exports give them):
#   P1  300 m × 300 m = 90000 m² = 135 亩; 耕地 70000 m² = 105 亩  -> 省级 task (>= 100 亩)
#   P2  100 m × 100 m = 10000 m² =  15 亩; 耕地  8000 m² =  12 亩
#   P3  200 m × 200 m = 40000 m² =  60 亩; 耕地 40000 m² =  60 亩
#   P4   50 m ×  50 m =  2500 m² = 3.75 亩; 耕地 0
#   P5  150 m × 150 m = 22500 m² = 33.75 亩; 耕地 22500 m² = 33.75 亩
# Read wrongly as 亩, P1, P2, P3 and P5 would be tasks.
M2_ROWS = [("P1", 300, 90000, 70000), ("P2", 100, 10000, 8000), ("P3", 200, 40000, 40000), ("P4", 50, 2500, 0),
           ("P5", 150, 22500, 22500)]
N = len(M2_ROWS)


def m2_table(geometry=None):
    cols = {
        "TBBH": [r[0] for r in M2_ROWS],
        "JCND": ["2023"] * N,
        "XZQDM": ["610902"] * N,
        "JCMJ": [str(r[2]) for r in M2_ROWS],
        "GDMJ": [str(r[3]) for r in M2_ROWS],
        "PDJG": ["合法用地"] * N,
    }
    if geometry is not None:
        cols["geometry"] = pa.array(geometry, pa.binary())
    return pa.table(cols)


def write_m2_shp(path, crs="EPSG:4547", geometry=None):
    if geometry is None:  # CGCS2000 / 3-degree Gauss-Kruger CM 114E: metres
        geometry = [square(500000 + 1000 * i, 3600000, r[1]) for i, r in enumerate(M2_ROWS)]
    pyogrio.write_arrow(m2_table(geometry), str(path), geometry_name="geometry", geometry_type="Polygon",
                        crs=crs, encoding="UTF-8")
    return path


def task_patches(result) -> list[str]:
    return sorted(t.patch for t in result.tasks)


def test_shp_in_square_metres_is_proven_from_projected_geometry(tmp_path, policies):
    r = check(write_m2_shp(tmp_path / "m2.shp"), policies, as_of="2024-01-01", assess=False)
    assert task_patches(r) == ["P1"]
    assert r.input["area_units"]["耕地面积"] == {"header": "GDMJ", "unit": "平方米", "source": "geometry"}
    assert r.input["area_units"]["监测面积"]["unit"] == "平方米"
    assert any("核实为 平方米" in w for w in r.warnings)


def test_shp_in_square_metres_is_proven_from_geographic_geometry(tmp_path, policies):
    # CGCS2000 geographic (EPSG:4490) near 安康 (32.7°N). One degree of latitude ≈ 110.9 km, of longitude
    # ≈ 111.3 km × cos 32.7° ≈ 93.7 km: sides in degrees giving the same m² as above within 1 %.
    geometry = [square(109.0 + 0.01 * i, 32.7, r[1] / 93_700, r[1] / 110_900) for i, r in enumerate(M2_ROWS)]
    r = check(write_m2_shp(tmp_path / "geo.shp", crs="EPSG:4490", geometry=geometry), policies,
              as_of="2024-01-01", assess=False)
    assert task_patches(r) == ["P1"]
    assert r.input["area_units"]["耕地面积"]["unit"] == "平方米"


def test_geopackage_in_square_metres_is_proven(tmp_path, policies):
    geometry = [square(109.0 + 0.01 * i, 32.7, r[1] / 93_700, r[1] / 110_900) for i, r in enumerate(M2_ROWS)]
    pyogrio.write_arrow(m2_table(geometry), str(tmp_path / "m2.gpkg"), layer="图斑", geometry_name="geometry",
                        geometry_type="Polygon", crs="EPSG:4490")
    r = check(tmp_path / "m2.gpkg", policies, as_of="2024-01-01", assess=False)
    assert task_patches(r) == ["P1"] and r.input["area_units"]["耕地面积"]["source"] == "geometry"


def test_shp_area_in_mu_is_proven_too(tmp_path, policies):
    # the same polygons with 亩 values: 90000 m² = 135 亩 etc.; tasks: 耕地 105 亩 -> P1
    tab = m2_table([square(500000 + 1000 * i, 3600000, r[1]) for i, r in enumerate(M2_ROWS)])
    tab = tab.set_column(3, "JCMJ", pa.array(["135", "15", "60", "3.75", "33.75"]))
    tab = tab.set_column(4, "GDMJ", pa.array(["105", "12", "60", "0", "33.75"]))
    pyogrio.write_arrow(tab, str(tmp_path / "mu.shp"), geometry_name="geometry", geometry_type="Polygon",
                        crs="EPSG:4547", encoding="UTF-8")
    r = check(tmp_path / "mu.shp", policies, as_of="2024-01-01", assess=False)
    assert task_patches(r) == ["P1"]
    assert r.input["area_units"]["耕地面积"]["unit"] == "亩"


def test_declared_unit_contradicted_by_geometry_stops(tmp_path, policies, capsys):
    path = write_m2_shp(tmp_path / "m2.shp")
    code, out, err = run_cli(capsys, "check", path, "--policies", policies, "--area-unit", "亩")
    assert code == 2
    assert "Traceback" not in err
    assert "m2.shp" in err and "JCMJ" in err and "亩" in err and "平方米" in err and "第 1 行" in err


def write_m2_csv(path, header_suffix=""):
    lines = [f"TBBH,JCND,XZQDM,JCMJ{header_suffix},GDMJ{header_suffix},PDJG"]
    lines += [f"{r[0]},2023,610902,{r[2]},{r[3]},合法用地" for r in M2_ROWS]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_csv_in_square_metres_without_unit_stops_with_a_question(tmp_path, policies, capsys):
    path = write_m2_csv(tmp_path / "县上报.csv")
    code, out, err = run_cli(capsys, "check", path, "--policies", policies)
    assert code == 2
    assert "Traceback" not in err
    # JCMJ: 2500 10000 22500 40000 90000 -> median 22500 (line 6, P5)
    assert "县上报.csv" in err and "JCMJ" in err and "22500" in err and "第 6 行" in err
    assert "平方米" in err and "亩" in err and "--area-unit" in err


def test_csv_unit_from_option_or_header(tmp_path, policies):
    r = check(write_m2_csv(tmp_path / "a.csv"), policies, as_of="2024-01-01", assess=False, area_unit="平方米")
    assert task_patches(r) == ["P1"]
    assert r.input["area_units"]["耕地面积"] == {"header": "GDMJ", "unit": "平方米", "source": "option"}
    r = check(write_m2_csv(tmp_path / "b.csv", "(平方米)"), policies, as_of="2024-01-01", assess=False)
    assert task_patches(r) == ["P1"]
    assert r.input["area_units"]["耕地面积"]["source"] == "header"


def test_plausible_mu_csv_reads_as_mu_and_says_so(tmp_path, policies):
    path = tmp_path / "mu.csv"
    path.write_text("TBBH,JCND,XZQDM,JCMJ,GDMJ,PDJG\nA,2023,610902,135,105,合法用地\nB,2023,610902,15,12,违法用地\n",
                    encoding="utf-8")
    r = check(path, policies, as_of="2024-01-01", assess=False)
    assert task_patches(r) == ["A"]
    assert [f.patch for f in r.findings] == ["B"]
    assert r.input["area_units"]["耕地面积"]["source"] == "default"


def test_unknown_area_unit_option(tmp_path, policies, capsys):
    code, out, err = run_cli(capsys, "check", write_m2_csv(tmp_path / "a.csv"), "--policies", policies,
                             "--area-unit", "平方公里")
    assert code == 2 and "平方公里" in err and "Traceback" not in err


def test_few_large_rows_without_unit_warn_naming_both_units(tmp_path, policies):
    # two rows only: too little evidence to stop, but the reading is said, with the other unit
    path = tmp_path / "two.csv"
    path.write_text("TBBH,JCND,XZQDM,JCMJ,GDMJ,PDJG\nA,2023,610902,90000,70000,合法用地\n"
                    "B,2023,610902,40000,0,合法用地\n", encoding="utf-8")
    r = check(path, policies, as_of="2024-01-01", assess=False)
    assert any("JCMJ" in w and "平方米" in w and "按 亩 读取" in w for w in r.warnings)


@pytest.mark.parametrize("x3, x4, median", [
    ("90", "110", None),  # three of six above 100 亩: the median is (90 + 110) / 2 = 100, not above: read as 亩
    ("89.98", "110", None),  # (89.98 + 110) / 2 = 99.99
    ("90", "110.02", "100.01"),  # (90 + 110.02) / 2 = 100.01: above, the run stops naming it
    ("150", "160", "155"),  # four of six above: (150 + 160) / 2 = 155
])
def test_area_median_at_the_plausibility_bound(tmp_path, policies, x3, x4, median):
    """schemas/fields.yaml area_check: max_median 100 (亩), min_rows 5. JCMJ of six rows: 10, 20, x3, x4, 500, 600
    (the median of an even count is the mean of the two middle values); GDMJ is 1 on every row."""
    path = tmp_path / "six.csv"
    rows = [("A", "10"), ("B", "20"), ("C", x3), ("D", x4), ("E", "500"), ("F", "600")]
    path.write_text("TBBH,JCND,XZQDM,JCMJ,GDMJ,PDJG\n" + "".join(f"{p},2023,610902,{a},1,合法用地\n" for p, a in rows),
                    encoding="utf-8")
    if median is None:
        r = check(path, policies, as_of="2024-01-01", assess=False)
        assert r.input["area_units"]["监测面积"]["source"] == "default"
    else:
        with pytest.raises(InputError) as e:
            check(path, policies, as_of="2024-01-01", assess=False)
        assert "JCMJ" in str(e.value) and f"数值中位数为 {median}（" in str(e.value)


# --------------------------------------------------------------------------- aliases: national codes, DBF truncations

def test_gbk_shapefile_with_truncated_names_and_no_cpg(tmp_path, policies):
    # GDAL cuts the GBK field names to 10 bytes as a real export does: 监测图斑编号 -> 监测图斑编,
    # 占用耕地面积 -> 占用耕地面, 合法性判定结果 -> 合法性判定, 是否新增农村乱占耕地建房 -> 是否新增农,
    # 自查验收负责人 -> 自查验收负. Points (no area to prove); 耕地 in 亩: 105, 12, 3, 0.5 (median 7.5: plausible).
    tab = pa.table({
        "监测图斑编号": ["G1", "G2", "G3", "G4"],
        "监测年度": ["2023"] * 4,
        "行政区代码": ["610921"] * 4,
        "占用耕地面积": ["105", "12", "3", "0.5"],
        "合法性判定结果": ["合法用地", "违法用地", "违法用地", "合法用地"],
        "是否新增农村乱占耕地建房": ["否", "是", "否", "否"],
        "自查验收负责人": ["张三", "", "李四", ""],
        "geometry": pa.array([struct.pack("<BIdd", 1, 1, 500000 + i, 3600000) for i in range(4)], pa.binary()),
    })
    with pytest.warns(RuntimeWarning):  # GDAL says it truncated the names
        pyogrio.write_arrow(tab, str(tmp_path / "台账.shp"), geometry_name="geometry", geometry_type="Point",
                            crs="EPSG:4547", encoding="GBK")
    (tmp_path / "台账.cpg").unlink(missing_ok=True)
    import pyogrio as _p
    names = _p.read_info(str(tmp_path / "台账.shp"), encoding="GBK")["fields"].tolist()
    assert "监测图斑编" in names and "是否新增农" in names and "自查验收负" in names  # the file is shaped right
    r = check(tmp_path / "台账.shp", policies, as_of="2024-01-01", assess=False)
    assert r.input["rows"] == 4 and r.input["rejected"] == 0
    assert task_patches(r) == ["G1"]  # 105 亩 >= 100 亩
    assert sorted(f.patch for f in r.findings) == ["G2", "G3"]  # 违法用地
    assert any("GBK" in w for w in r.warnings)
    mapping = prepare(tmp_path / "台账.shp", load_policies(policies)).norm.mapping
    assert mapping["是否新增农村乱占耕地建房"] == "是否新增农" and mapping["自查验收负责人"] == "自查验收负"
    assert mapping["图斑编号"] == "监测图斑编" and mapping["耕地面积"] == "占用耕地面" and mapping["判定结果"] == "合法性判定"


def test_national_codes_full_width_and_spaces(tmp_path, policies):
    # 审批文号 empty beside a filled 批准文号 (both map to 审批文号): the empty one gives way, no false error
    text = ("ＪＣＢＨ, jcnd ,XZQDM,XFSJ,GDMJ,YJJBNTMJ,STBHHXMJ,SFSK,PDJG,审批文号,批准文号,QSX,HSX\n"
            "N1,2023,610902,2023-03-01,120,0,0,否,合法用地,,陕政土批〔2023〕1号,2022-10-01,2023-02-01\n"
            "N2,2023,610902,2023-03-01,5,0,0,是,违法用地,,,2022-10-01,2023-02-01\n")
    (tmp_path / "国家平台.csv").write_text(text, encoding="utf-8")
    r = check(tmp_path / "国家平台.csv", policies, as_of="2024-01-01", assess=False)
    assert r.input["rows"] == 2 and r.input["rejected"] == 0
    assert task_patches(r) == ["N1"]
    assert [f.patch for f in r.findings] == ["N2"]
    assert any("QSX" in w and "HSX" in w and "不使用" in w for w in r.warnings)
    assert not any("不在数据字典中" in w for w in r.warnings)


def test_both_alias_columns_filled_is_refused(tmp_path, policies, capsys):
    text = "TBBH,JCND,XZQDM,GDMJ,PDJG,审批文号,批准文号\nA,2023,610902,1,合法用地,文号1,文号2\n"
    (tmp_path / "两列.csv").write_text(text, encoding="utf-8")
    code, out, err = run_cli(capsys, "check", tmp_path / "两列.csv", "--policies", policies)
    assert code == 2 and "审批文号" in err and "批准文号" in err and "Traceback" not in err


def test_missing_column_lists_headers_and_close_ones(tmp_path, policies, capsys):
    text = "图斑编码,JCND,XZQDM,GDMJ,PDJG\nA,2023,610902,1,合法用地\n"
    (tmp_path / "错列.csv").write_text(text, encoding="utf-8")
    code, out, err = run_cli(capsys, "check", tmp_path / "错列.csv", "--policies", policies)
    assert code == 2 and "Traceback" not in err
    assert "错列.csv：缺少必需的列" in err and "图斑编号" in err
    assert "是否是「图斑编码」" in err
    assert "文件中的表头：图斑编码、JCND、XZQDM、GDMJ、PDJG" in err


# --------------------------------------------------------------------------- rows that are not patches

def write_ledger(path, unit="亩", areas=((150, 120), (20, 10), (8, 8), (130, 101), (308, 239))):
    """An xlsx ledger as a county keeps it: title, unit line, two-level merged header, a blank separator,
    a header repeated at a page break, a 合计 row merged over three columns, signature and date rows."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("台账")
    ws.merge_range("A1:G1", "汉阴县2023年卫片执法图斑核查台账")
    ws.merge_range("A2:D2", "填报单位：汉阴县自然资源局")
    for col, name in zip("ABCFG", ["监测图斑编号", "监测年度", "行政区代码", "合法性判定结果", "批准文号"]):
        ws.merge_range(f"{col}3:{col}4", name)
    ws.merge_range("D3:E3", f"面积（{unit}）")
    ws.write_row("D4", ["监测面积", "占用耕地面积"])
    ws.write_row("A5", ["H1", "2023", "610921", *areas[0], "违法用地", ""])
    ws.write_row("A6", ["H2", "2023", "610921", *areas[1], "合法用地", "陕政土批〔2023〕5号"])
    # row 7 left blank
    ws.write_row("A8", ["H3", "2023", "610921", *areas[2], "违法用地", ""])
    ws.write_row("A9", ["监测图斑编号", "监测年度", "行政区代码", "监测面积", "占用耕地面积", "合法性判定结果", "批准文号"])
    ws.write_row("A10", ["H4", "2023", "610921", *areas[3], "合法用地", "陕政土批〔2023〕9号"])
    ws.merge_range("A11:C11", "合计")
    ws.write_row("D11", list(areas[4]))
    ws.merge_range("A12:C12", "填表人：王五")
    ws.write("E12", "审核人：赵六")
    ws.write("A13", "日期：2023年5月1日")
    wb.close()
    return path


def test_ledger_skips_total_signature_blank_and_repeated_header_rows(tmp_path, policies, capsys):
    path = write_ledger(tmp_path / "汉阴县台账.xlsx")
    code, out, err = run_cli(capsys, "check", path, "--policies", policies, "--as-of", "2024-01-01",
                             "--format", "json", "--no-assess")
    assert code == 1, err  # two 违法用地 errors
    doc = __import__("json").loads(out)
    inp = doc["input"]
    # data rows 5, 6, 8, 10; skipped 7 (blank), 9 (header again), 11 (合计), 12 and 13 (signature, date)
    assert (inp["rows_read"], inp["checked"], inp["rejected"], inp["skipped"]) == (9, 4, 0, 5)
    assert inp["rows_read"] == inp["checked"] + inp["rejected"] + inp["skipped"]
    assert [(s["line"], s["reason"]) for s in inp["skipped_rows"]] == [
        (7, "空行"), (9, "重复的表头行"), (11, "合计行"), (12, "签字、日期等表尾行"), (13, "签字、日期等表尾行")]
    assert all(s["source"] == "汉阴县台账.xlsx" for s in inp["skipped_rows"])
    assert sorted(f["patch"] for f in doc["findings"]) == ["H1", "H3"]
    assert sorted(t["patch"] for t in doc["tasks"]) == ["H1", "H4"]  # 耕地 120 and 101 亩
    code, out, err = run_cli(capsys, "check", path, "--policies", policies, "--as-of", "2024-01-01", "--no-assess")
    text = (out + err).replace("\n", "")
    assert "读取 9 行 = 检查 4 行 + 拒收 0 行 + 跳过 5 行" in text
    assert "第 11 行（合计行" in text and "第 12 行（签字" in text


def test_ledger_with_square_metres_over_two_level_header(tmp_path, policies):
    # 面积（平方米） over 监测面积 / 占用耕地面积: 耕地 80000 m² = 120 亩 (H1), 6666.67 m² ≈ 10 亩 (H2),
    # 5333.33 m² = 8 亩 (H3), 67400 m² = 101.1 亩 (H4) -> tasks H1 and H4, as in the 亩 ledger
    areas = ((100000, 80000), (13333.33, 6666.67), (5333.33, 5333.33), (86666.67, 67400), (205333.33, 159400))
    r = check(write_ledger(tmp_path / "平方米台账.xlsx", unit="平方米", areas=areas), policies,
              as_of="2024-01-01", assess=False)
    assert task_patches(r) == ["H1", "H4"]
    assert r.input["area_units"]["耕地面积"] == {"header": "占用耕地面积(平方米)", "unit": "平方米", "source": "header"}


def test_total_row_only_in_a_csv(tmp_path, policies):
    text = ("TBBH,JCND,XZQDM,GDMJ,PDJG\nA,2023,610902,101,合法用地\nB,2023,610902,3,合法用地\n"
            "小计（2处）,,,104,\n,,,,\n填报人：张三,,,,\n")
    (tmp_path / "c.csv").write_text(text, encoding="utf-8")
    r = check(tmp_path / "c.csv", policies, as_of="2024-01-01", assess=False)
    # lines 4 (小计), 5 (all empty, but nothing follows it but a signature: still a row between rows), 6 (签字)
    assert [(s["line"], s["reason"]) for s in r.input["skipped_rows"]] == [(4, "合计行"), (5, "空行"), (6, "签字、日期等表尾行")]
    assert (r.input["checked"], r.input["rejected"]) == (2, 0)
    assert task_patches(r) == ["A"]


def test_a_patch_row_with_a_note_is_not_skipped(tmp_path, policies):
    # 图斑编号 filled: a cell saying 合计 elsewhere does not make it a total row
    text = "TBBH,JCND,XZQDM,GDMJ,PDJG,备注\nA,2023,610902,1,合法用地,合计\n"
    (tmp_path / "n.csv").write_text(text, encoding="utf-8")
    r = check(tmp_path / "n.csv", policies, as_of="2024-01-01", assess=False)
    assert r.input["skipped"] == 0 and r.input["checked"] == 1


# --------------------------------------------------------------------------- Excel dates and numeric ids

def dates_of(path, policies, field="下发日期"):
    pr = prepare(path, load_policies(policies))
    return pr.con.execute(f"SELECT 图斑编号, CAST({field} AS VARCHAR), len(_errors) FROM patches ORDER BY _line").fetchall(), pr


def test_xlsx_serial_dates_1900_and_date_cells(tmp_path, policies):
    import datetime as dt
    import xlsxwriter

    path = tmp_path / "序号.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["TBBH", "JCND", "XZQDM", "XFSJ", "GDMJ", "PDJG"])
    ws.write_row(1, 0, ["S1", "2023", "610902", 44986, 1, "合法用地"])  # 1899-12-30 + 44986 days = 2023-03-01
    ws.write_row(2, 0, ["S2", "2023", "610902", 44866, 1, "合法用地"])  # 2022-11-01
    ws.write_datetime(3, 3, dt.datetime(2023, 5, 20), wb.add_format({"num_format": "yyyy-mm-dd"}))
    ws.write_row(3, 0, ["S3", "2023", "610902"])
    ws.write_row(3, 4, [1, "合法用地"])
    wb.close()
    rows, pr = dates_of(path, policies)
    assert rows == [("S1", "2023-03-01", 0), ("S2", "2022-11-01", 0), ("S3", "2023-05-20", 0)]
    assert any("日期序号" in w and "1900" in w and "44986 = 2023-03-01" in w for w in pr.warnings)


def test_xlsx_serial_dates_1904_system(tmp_path, policies):
    import xlsxwriter

    path = tmp_path / "mac.xlsx"
    wb = xlsxwriter.Workbook(str(path), {"date_1904": True})
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["TBBH", "JCND", "XZQDM", "XFSJ", "GDMJ", "PDJG"])
    ws.write_row(1, 0, ["M1", "2023", "610902", 43524, 1, "合法用地"])  # 1904-01-01 + 43524 days = 2023-03-01
    wb.close()
    rows, pr = dates_of(path, policies)
    assert rows == [("M1", "2023-03-01", 0)]
    assert any("1904" in w for w in pr.warnings)


def test_csv_date_times_with_zero_time_and_serials(tmp_path, policies):
    text = ("TBBH,JCND,XZQDM,XFSJ,GDMJ,PDJG\n"
            "D1,2023,610902,2023-03-01 00:00:00,1,合法用地\n"
            "D2,2023,610902,2022/11/3 0:00,1,合法用地\n"
            "D3,2023,610902,44986,1,合法用地\n"
            "D4,2023,610902,2023-03-01 14:30,1,合法用地\n")  # a real time of day: not a date as the dictionary says
    (tmp_path / "d.csv").write_text(text, encoding="utf-8")
    rows, pr = dates_of(tmp_path / "d.csv", policies)
    assert rows == [("D1", "2023-03-01", 0), ("D2", "2022-11-03", 0), ("D3", "2023-03-01", 0), ("D4", None, 1)]
    assert any("XFSJ" in w and "44986 = 2023-03-01" in w for w in pr.warnings)


def test_ids_stored_as_numbers_are_rejected_with_a_text_format_hint(tmp_path, policies, capsys):
    import xlsxwriter

    path = tmp_path / "编号.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["图斑编号", "监测年度", "行政区代码", "耕地面积", "判定结果"])
    ws.write_row(1, 0, [610922123456789012, "2023", "610902", 120, "合法用地"])  # 18 digits as a number
    ws.write_row(2, 0, [610922123456789013, "2023", "610902", 1, "合法用地"])   # the same after 15 digits
    ws.write_row(3, 0, ["610922123456789014", "2023", 610902, 1, "合法用地"])   # text id; a 6-digit number is exact
    wb.close()
    code, out, err = run_cli(capsys, "check", path, "--policies", policies, "--as-of", "2024-01-01",
                             "--format", "json", "--no-assess")
    doc = __import__("json").loads(out)
    assert code == 1 and (doc["input"]["checked"], doc["input"]["rejected"]) == (1, 2)
    bad = [f for f in doc["findings"] if f["rule"] == "数据格式"]
    assert len([f for f in bad if "文本" in f["message"] and "15 位" in f["message"]]) == 2
    assert all("编号.xlsx 第" in f["message"] and "图斑编号" in f["message"] for f in bad)
    assert doc["tasks"] == []  # the 120 亩 row is rejected, not a 省级 task

    (tmp_path / "sci.csv").write_text("TBBH,JCND,XZQDM,GDMJ,PDJG\n6.10922E+14,2023,610902,1,合法用地\n", encoding="utf-8")
    r = check(tmp_path / "sci.csv", policies, as_of="2024-01-01", assess=False)
    assert r.input["rejected"] == 1 and "文本" in r.findings[0].message and "第2行" in r.findings[0].message


# --------------------------------------------------------------------------- .cpg encodings

def write_gbk_shp(path, encoding="GBK"):
    tab = pa.table({"TBBH": ["C1"], "JCND": ["2023"], "XZQDM": ["610902"], "GDMJ": ["1"], "PDJG": ["合法用地"],
                    "备注": ["汉滨区五里镇"],
                    "geometry": pa.array([struct.pack("<BIdd", 1, 1, 500000.0, 3600000.0)], pa.binary())})
    pyogrio.write_arrow(tab, str(path), geometry_name="geometry", geometry_type="Point", crs="EPSG:4547",
                        encoding=encoding)
    path.with_suffix(".cpg").unlink(missing_ok=True)
    return path


@pytest.mark.parametrize("said, data", [("oem", "GBK"), ("ansi", "GBK"), ("936", "GBK"), ("cp936", "GBK"),
                                        ("GBK", "GBK"), ("UTF-8", "UTF-8"), ("OEM", "UTF-8"), ("某编码", "GBK")])
def test_cpg_values_are_decided(tmp_path, policies, said, data):
    path = write_gbk_shp(tmp_path / "c.shp", encoding=data)
    path.with_suffix(".cpg").write_bytes(said.encode("gbk"))
    pr = prepare(path, load_policies(policies))
    assert pr.con.execute("SELECT 备注 FROM raw").fetchall() == [("汉滨区五里镇",)]
    if said.lower() in ("oem", "ansi") or said == "某编码":
        assert any(".cpg" in w and ("GBK" in w or "UTF-8" in w) for w in pr.warnings)


def test_cpg_that_lies_is_a_located_error(tmp_path, policies, capsys):
    path = write_gbk_shp(tmp_path / "lie.shp", encoding="GBK")
    path.with_suffix(".cpg").write_text("UTF-8", encoding="ascii")
    code, out, err = run_cli(capsys, "check", path, "--policies", policies)
    assert code == 2 and "Traceback" not in err
    assert "lie.dbf" in err and "第 6 个字段" in err and "备注" in err and "--encoding" in err
    # the same with an ASCII field name: the first record that does not decode is named, with its field
    tab = pa.table({"TBBH": ["C1", "C2"], "JCND": ["2023"] * 2, "XZQDM": ["610902"] * 2, "GDMJ": ["1"] * 2,
                    "PDJG": ["合法用地"] * 2, "BZ": ["ok", "汉滨区"],
                    "geometry": pa.array([struct.pack("<BIdd", 1, 1, 500000.0, 3600000.0)] * 2, pa.binary())})
    pyogrio.write_arrow(tab, str(tmp_path / "lie2.shp"), geometry_name="geometry", geometry_type="Point",
                        crs="EPSG:4547", encoding="GBK")
    (tmp_path / "lie2.cpg").write_text("UTF-8", encoding="ascii")
    code, out, err = run_cli(capsys, "check", tmp_path / "lie2.shp", "--policies", policies)
    assert code == 2 and "Traceback" not in err
    assert "lie2.dbf" in err and "第 1 条记录的字段“PDJG”" in err  # 合法用地: the first non-ASCII value


# --------------------------------------------------------------------------- column map and `weipian columns`

ODD = "图斑号,区划,耕地占用,结论\nZ1,610902,70000,合法用地\nZ2,610902,8000,违法用地\n"
MAP = """
columns:
  图斑号: 图斑编号
  区划: 行政区代码
  耕地占用: {field: 耕地面积, unit: 平方米}
  结论: 判定结果
values:
  监测年度: 2023
"""


def test_column_map_maps_headers_units_and_fixed_values(tmp_path, policies, capsys):
    (tmp_path / "怪表.csv").write_text(ODD, encoding="utf-8")
    (tmp_path / "map.yaml").write_text(MAP, encoding="utf-8")
    code, out, err = run_cli(capsys, "check", tmp_path / "怪表.csv", "--policies", policies, "--columns",
                             tmp_path / "map.yaml", "--as-of", "2024-01-01", "--format", "json", "--no-assess")
    doc = __import__("json").loads(out)
    assert code == 1, err  # Z2 违法用地
    # 耕地 70000 m² = 105 亩 -> task; 8000 m² = 12 亩
    assert [t["patch"] for t in doc["tasks"]] == ["Z1"] and [f["patch"] for f in doc["findings"]] == ["Z2"]
    assert doc["input"]["area_units"]["耕地面积"] == {"header": "耕地占用", "unit": "平方米", "source": "map"}
    cm = doc["input"]["column_map"]
    assert cm["path"].endswith("map.yaml") and cm["values"] == {"监测年度": "2023"}
    assert cm["columns"]["耕地占用"] == {"field": "耕地面积", "unit": "平方米"}


def test_column_map_errors_are_named(tmp_path, policies, capsys):
    (tmp_path / "怪表.csv").write_text(ODD, encoding="utf-8")
    (tmp_path / "bad.yaml").write_text("columns:\n  图斑号: 图斑编码\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "check", tmp_path / "怪表.csv", "--policies", policies, "--columns", tmp_path / "bad.yaml")
    assert code == 2 and "bad.yaml" in err and "图斑编码" in err and "图斑编号" in err and "Traceback" not in err


def test_columns_preview_of_a_ledger(tmp_path, policies, capsys):
    path = write_ledger(tmp_path / "台账.xlsx")
    code, out, err = run_cli(capsys, "columns", path, "--policies", policies, "--format", "json")
    doc = __import__("json").loads(out)
    assert code == 0, out + err
    by = {c["header"]: c for c in doc["columns"]}
    # 面积（亩） over the two area columns gives them its unit
    assert by["占用耕地面积(亩)"]["field"] == "耕地面积" and "别名" in by["占用耕地面积(亩)"]["how"]
    assert by["占用耕地面积(亩)"]["unit"] == "亩" and by["占用耕地面积(亩)"]["unit_source"] == "header"
    assert by["监测图斑编号"]["samples"] == ["H1", "H2", "H3"]
    assert by["监测图斑编号"]["bad_cells"] == 0
    assert (doc["rows_read"], doc["skipped"]) == (9, 5) and doc["missing"] == []


def test_columns_preview_of_an_odd_file_without_and_with_map(tmp_path, policies, capsys):
    (tmp_path / "怪表.csv").write_text(ODD, encoding="utf-8")
    (tmp_path / "map.yaml").write_text(MAP, encoding="utf-8")
    # without the map, no header names a dictionary field: not a patch table yet
    code, out, err = run_cli(capsys, "columns", tmp_path / "怪表.csv", "--policies", policies)
    assert code == 2 and "不是图斑数据表" in err
    code, out, err = run_cli(capsys, "columns", tmp_path / "怪表.csv", "--policies", policies, "--columns", tmp_path / "map.yaml")
    assert code == 0, out + err
    assert "耕地占用 → 耕地面积，单位 平方米（列映射文件）" in out
