"""Shapefile / DBF / GeoPackage through pyogrio: sidecar files, DBF completeness and encoding."""
from __future__ import annotations

import contextlib
import warnings as _py_warnings
from dataclasses import dataclass
from pathlib import Path

from engine.data.readers.columnar import typed_to_text
from engine.data.geometry import areas_m2, crs_kind, first_xy
from engine.data.readers.common import (
    GEOM_AREA, InputError, Known, refuse_reserved, register_as_table, sha256, sha256_of, short,
)
from engine.data.readers.text import decodes, normalize_encoding


_SHP_SIDECARS = (".shp", ".shx", ".dbf", ".cpg", ".prj")


def read_ogr(con, p: Path, staging: str, encoding: str | None, layer: str | None, known: Known):
    import pyarrow as pa
    import pyogrio

    suffix = p.suffix.lower()
    warnings: list[str] = []
    files = [p]
    enc = None
    if suffix in (".shp", ".dbf"):
        files = [s for s in (p.with_suffix(x) for x in _SHP_SIDECARS) if s.exists()] or [p]
        dbf = p.with_suffix(".dbf")
        if not dbf.exists():
            raise InputError(f"{p.name}：缺少属性表文件 {dbf.name}（Shapefile 的属性保存在 .dbf 中）")
        _check_dbf_complete(dbf)
        if encoding:
            enc = normalize_encoding(encoding)
        elif not p.with_suffix(".cpg").exists():
            enc = _detect_dbf_encoding(dbf)
            if enc != "utf-8":
                warnings.append(f"{p.name}：没有 .cpg 文件，按 GBK/GB18030 编码读取属性")
        else:
            enc = _cpg_encoding(p.with_suffix(".cpg"), dbf, warnings)
        _check_dbf_decodes(dbf, enc, encoding)
        layer = None
    if suffix == ".gpkg" and layer is None:
        try:
            with _quiet():
                layers = [str(name) for name, _geom in pyogrio.list_layers(str(p))]
        except Exception as e:  # noqa: BLE001
            raise InputError(f"{p.name}：文件无法读取（文件可能不完整或已损坏）：{short(e)}") from None
        if not layers:
            raise InputError(f"{p.name}：GeoPackage 中没有图层")
        layer = layers[0]
        if len(layers) > 1:
            warnings.append(f"{p.name}：有 {len(layers)} 个图层（{'、'.join(layers)}），已读取第一个“{layer}”；"
                            f"可指定工作表/图层名读取其他图层")
    try:
        kwargs = {"read_geometry": True}
        if enc:
            kwargs["encoding"] = enc
        if layer is not None:
            kwargs["layer"] = layer
        with _quiet():
            meta, tab = pyogrio.read_arrow(str(p), **kwargs)
    except UnicodeDecodeError:
        raise InputError(f"{p.name}：属性表字段名或内容无法解码（字段名可能被截断，或编码不对）；"
                         f"请确认 .cpg 文件或指定编码（如 --encoding gbk）") from None
    except Exception as e:  # noqa: BLE001 - pyogrio/GDAL errors for broken or truncated files
        if layer is not None and "layer" in str(e).lower():
            raise InputError(f"{p.name}：没有名为“{layer}”的图层") from None
        raise InputError(f"{p.name}：文件无法读取（文件可能不完整或已损坏）：{short(e)}") from None
    if tab.num_rows == 0:
        raise InputError(f"{p.name}：属性表没有记录（只有字段定义，没有数据行）")
    for name in tab.column_names:  # before the engine adds its own `_geom_m2`
        refuse_reserved(p.name, name)
    tab = _with_geometry_area(tab, meta, p, warnings)
    # the record's place in the file, numbered here: the staging table is built in parallel, so its rowid is not it
    tab = tab.append_column("_line", pa.array(range(1, tab.num_rows + 1), pa.int64()))
    register_as_table(con, tab, staging)
    info, unnamed = typed_to_text(con, p, staging, "_line", known)
    info.files = [str(f) for f in files]
    info.sha256 = sha256(p) if len(files) == 1 else sha256_of(files)
    info.warnings = warnings + info.warnings
    return info, unnamed


@contextlib.contextmanager
def _quiet():
    """GDAL's RuntimeWarnings (a damaged GeoPackage's application_id …) would reach stderr as Python warnings
    with the full path and a source line; the reader reports what matters itself."""
    with _py_warnings.catch_warnings():
        _py_warnings.simplefilter("ignore", RuntimeWarning)
        yield


def _with_geometry_area(tab, meta, p: Path, warnings: list[str]):
    """Replace the geometry column (WKB) by GEOM_AREA, the polygon's area in m² (NULL when unknown)."""
    import pyarrow as pa

    gname = meta.get("geometry_name") or "wkb_geometry"
    if gname not in tab.column_names:
        gname = next((n for n in ("wkb_geometry", "geometry") if n in tab.column_names), None)
    if gname is None:
        return tab
    wkbs = tab.column(gname).to_pylist()
    tab = tab.drop_columns([gname])
    sample = next((xy for xy in (first_xy(b) for b in wkbs[:50] if b) if xy), None)
    kind = crs_kind(meta.get("crs"), sample)
    areas = areas_m2(wkbs, kind)
    if kind is None and sample is not None:
        warnings.append(f"{p.name}：图形的坐标系未知或不是以米为单位（缺少 .prj？），无法用图形面积核实面积单位")
    if any(a is not None for a in areas):
        tab = tab.append_column(GEOM_AREA, pa.array(areas, pa.float64()))
    return tab


@dataclass
class _DbfHeader:
    records: int  # as the header declares them
    header_len: int
    record_len: int
    fields: list[tuple[bytes, int, int]]  # (raw name, offset in a record, length); offset 0 is the deletion flag


def _dbf_header(dbf: Path) -> _DbfHeader:
    """The .dbf header and field descriptors, read once by every check below; a cut header is an InputError."""
    with open(dbf, "rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            raise InputError(f"{dbf.name}：属性表文件不完整（文件头被截断）")
        header_len = int.from_bytes(head[8:10], "little")
        descriptors = fh.read(max(0, header_len - 32))
    fields, offset = [], 1
    for i in range(0, len(descriptors) - 31, 32):
        d = descriptors[i:i + 32]
        if d[0] == 0x0D:
            break
        fields.append((d[:11].split(b"\0", 1)[0], offset, d[16]))
        offset += d[16]
    return _DbfHeader(int.from_bytes(head[4:8], "little"), header_len, int.from_bytes(head[10:12], "little"), fields)


def _check_dbf_complete(dbf: Path) -> None:
    """GDAL reads a truncated .dbf without complaint (fewer records): compare with its header."""
    h = _dbf_header(dbf)
    size = dbf.stat().st_size
    if h.record_len and size < h.header_len + h.records * h.record_len:
        complete = max(0, (size - h.header_len) // h.record_len)
        raise InputError(f"{dbf.name}：属性表文件不完整（文件头声明 {h.records} 条记录，实际只有 {complete} 条完整记录），"
                         f"请重新导出或拷贝")


_CPG_NAMES = {  # what .cpg files say -> the codec used (GB18030 reads all of GBK/GB2312/CP936)
    "utf-8": "utf-8", "utf8": "utf-8", "65001": "utf-8",
    "gbk": "gb18030", "936": "gb18030", "cp936": "gb18030", "ms936": "gb18030", "gb2312": "gb18030",
    "gb18030": "gb18030", "54936": "gb18030", "ansi 936": "gb18030",
}
_CPG_SYSTEM = {"ansi", "oem", "system", "default", "local", ""}  # "the machine's code page": not a name


def _enc_label(enc: str) -> str:
    return "GBK/GB18030" if enc == "gb18030" else ("UTF-8" if enc == "utf-8" else enc)


def _cpg_encoding(cpg: Path, dbf: Path, warnings: list[str]) -> str:
    """The encoding a .cpg names, decided: a known name is used as is; 'ANSI'/'OEM' (the writer's code page,
    936 on Chinese Windows) and unknown names are settled by the data (UTF-8 if it decodes, else GBK/GB18030)."""
    raw = cpg.read_bytes()[:200]
    said = raw.decode("ascii", errors="replace").strip().strip("\x00").strip()
    key = said.lower()
    if key in _CPG_NAMES:
        return _CPG_NAMES[key]
    if key not in _CPG_SYSTEM:
        try:  # a text encoding only: a .cpg saying rot13 or base64 is an unknown name
            name = normalize_encoding(("cp" + key) if key.isdigit() else key)
            return "gb18030" if name in ("gbk", "gb2312", "cp936") else name
        except InputError:
            pass
    enc = _detect_dbf_encoding(dbf)
    what = f"写的是“{said}”（指导出电脑的系统编码，不是具体编码）" if key in _CPG_SYSTEM else f"中的编码“{said}”无法识别"
    warnings.append(f"{cpg.name}：{what}，按内容判断为 {_enc_label(enc)} 读取属性")
    return enc


def _check_dbf_decodes(dbf: Path, enc: str, given: str | None) -> None:
    """Every field name and record of the .dbf decodes as `enc`; else an error naming the record and field."""
    h = _dbf_header(dbf)
    header_len, record_len, fields = h.header_len, h.record_len, h.fields
    how = f"按 --encoding {given} " if given else f"按 {_enc_label(enc)} "
    for i, (name, _off, _len) in enumerate(fields, 1):
        try:
            name.decode(enc)
        except UnicodeDecodeError:
            alt = "gb18030" if enc != "gb18030" else "utf-8"
            shown = name.decode(alt, errors="replace")
            raise InputError(f"{dbf.name}：第 {i} 个字段的字段名（按 {_enc_label(alt)} 读作“{shown}”）无法{how}解码；"
                             f"请确认 .cpg 文件或用 --encoding 指定编码（如 gbk、utf-8）") from None
    ok, bad = decodes(dbf, enc, header_len)
    if ok or not record_len:
        return
    record, within = divmod(bad - header_len, record_len)
    field = next((n for n, o, ln in fields if o <= within < o + ln), None)
    where = f"第 {record + 1} 条记录" + (f"的字段“{field.decode(enc, errors='replace')}”" if field else "")
    raise InputError(f"{dbf.name}：{where}无法{how}解码；请确认 .cpg 文件或用 --encoding 指定编码（如 gbk、utf-8）")


def _detect_dbf_encoding(dbf: Path) -> str:
    """UTF-8 if the field names and records decode as UTF-8, else gb18030."""
    h = _dbf_header(dbf)
    header_len = h.header_len
    names = b"".join(name for name, _offset, _length in h.fields)
    try:
        names.decode("utf-8")
        names_ok = True
    except UnicodeDecodeError:
        names_ok = False
    if names_ok and decodes(dbf, "utf-8", header_len)[0]:
        return "utf-8"
    return "gb18030"
