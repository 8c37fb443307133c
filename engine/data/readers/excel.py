"""Excel (.xlsx/.xlsm/.xls) through python-calamine: header row search, two-level headers, merged cells."""
from __future__ import annotations

import datetime as _dt
import re
from decimal import Decimal
from pathlib import Path

from engine.data.dictionary import HEADER_UNIT, Dictionary
from engine.limits import LIMITS, human_bytes, over
from engine.data.readers.common import (
    TRIM, HEADER_SCAN_ROWS, MIN_KNOWN_HEADERS, InputError, InputInfo, Known, check_headers,
    register_as_table, sha256, short,
)


def read_excel(con, p: Path, staging: str, sheet: str | None, known: Known):
    import pyarrow as pa
    from python_calamine import CalamineWorkbook

    _check_zip(p)
    try:
        wb = CalamineWorkbook.from_path(str(p))
        names = [m.name for m in wb.sheets_metadata
                 if str(m.typ).endswith("WorkSheet") and str(m.visible).endswith(".Visible")] or list(wb.sheet_names)
    except Exception as e:  # noqa: BLE001 - calamine raises its own error types for broken files
        raise InputError(f"{p.name}：Excel 文件无法打开（文件可能不完整或已损坏）：{short(e)}") from None
    if sheet is not None:
        if sheet not in wb.sheet_names:
            raise InputError(f"{p.name}：没有名为“{sheet}”的工作表，现有工作表：{'、'.join(wb.sheet_names)}")
        candidates = [sheet]
    else:
        if not names:
            raise InputError(f"{p.name}：Excel 文件中没有工作表")
        candidates = names
    first_error = None
    for name in candidates:
        try:
            grid, merges = _sheet_grid(wb, p, name)
            header_at, headers, unnamed = _find_header(p, name, grid, merges, known)
        except InputError as e:
            if sheet is not None:
                raise
            first_error = first_error or e
            continue
        break
    else:
        raise first_error
    warnings = []
    if name != candidates[0]:
        warnings.append(f"{p.name}：第一个工作表“{candidates[0]}”不是图斑表，已读取工作表“{name}”")
    if header_at > 0:
        warnings.append(f"{p.name}：工作表“{name}”第 {header_at + 1} 行为表头，上方 {header_at} 行（标题等）已跳过")
    body = _body_merges(merges, header_at + 1, grid, known.d)
    if body:
        warnings.append(f"{p.name}：工作表“{name}”数据区有 {len(body)} 处合并单元格（{'、'.join(body[:5])}），"
                        f"只有左上角单元格有值，其余单元格按空值读取；请取消合并并在每一行填写")
    rows = grid[header_at + 1:]
    _serial_dates_to_text(p, name, headers, rows, warnings, known.d)
    width = len(headers)
    columns = list(zip(*rows))[:width] if rows else []
    columns += [()] * (width - len(columns))
    arrays = {h: pa.array([v if v.__class__ is str else _cell_text(v) for v in col], pa.string())
              for h, col in zip(headers, columns)}
    first = header_at + 2  # sheet row number of the first data row
    arrays["_line"] = pa.array(range(first, first + len(rows)), pa.int64())
    register_as_table(con, pa.table(arrays), staging)
    info = InputInfo(path=str(p), sha256=sha256(p), files=[str(p)], rows=0, columns=headers, warnings=warnings)
    return info, unnamed


_RATIO_FLOOR = 1 << 20  # parts smaller than this are not worth a ratio test


def _check_zip(p: Path) -> None:
    """An .xlsx/.xlsm is a zip archive: refuse a decompression bomb from its directory, before calamine parses
    (and allocates) a cell. A directory that lies (a part bigger than declared) is caught by calamine's zip
    reader, which stops at the declared size: "文件无法打开"."""
    import zipfile
    import zlib

    if p.suffix.lower() not in (".xlsx", ".xlsm"):
        return
    try:
        z = zipfile.ZipFile(p)
    except (zipfile.BadZipFile, OSError, ValueError):
        return  # not a zip: calamine says what is wrong with it
    with z:
        parts = z.infolist()
        total = sum(i.file_size for i in parts)
        if total > LIMITS.xlsx_uncompressed_bytes:
            raise InputError(f"{p.name}：Excel 文件解压后" + over("大小", human_bytes(total),
                             human_bytes(LIMITS.xlsx_uncompressed_bytes)) + "，未读取；请拆分文件或另存为 CSV")
        for i in parts:
            if i.file_size > _RATIO_FLOOR and i.file_size > LIMITS.xlsx_ratio * max(i.compress_size, 1):
                ratio = i.file_size // max(i.compress_size, 1)
                raise InputError(f"{p.name}：Excel 文件中的“{i.filename}”压缩比为 {ratio:,} 倍，超出上限 "
                                 f"{LIMITS.xlsx_ratio:,} 倍（{human_bytes(i.compress_size)} 解压后为 "
                                 f"{human_bytes(i.file_size)}），疑似压缩炸弹，未读取")
        try:
            for i in parts:
                if i.filename.lower().endswith(".xml"):
                    _check_extent(p, z, i)
        except (zipfile.BadZipFile, zlib.error, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as e:
            # a part bigger than its declared size fails the CRC; an unknown compression method or encryption
            raise InputError(f"{p.name}：Excel 文件无法打开（压缩内容与目录不符，文件可能不完整或已损坏）：{short(e)}") from None


_NS = rb"<(?:[A-Za-z_][\w.-]*:)?"  # <row …> or <x:row …>
_TOKEN = re.compile(_NS + rb'(row|c)([\s/>][^>]*)')
_R_ATTR = re.compile(rb'\br="([A-Z]{0,4})(\d{0,10})"')
_ROW_R = re.compile(rb'<row r="(\d{1,10})"')
_CELL_R = re.compile(rb'<c r="([A-Z]{1,4})')


def _col_number(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n


def _chunks(z, info):
    """The part's bytes in 4 MiB pieces, each cut after its last '<' … so that no tag is split."""
    carry = b""
    with z.open(info) as fh:
        while True:
            chunk = fh.read(1 << 22)
            data = carry + chunk
            if not chunk:
                yield data
                return
            cut = max(data.rfind(b"<"), len(data) - 4096)
            yield data[:cut]
            carry = data[cut:]


def _check_extent(p: Path, z, info) -> None:
    """The grid calamine would allocate for one worksheet part is (last row) × (last column): read the cell
    references from the XML in a stream (constant memory) and refuse a sheet over LIMITS.xlsx_cells.
    Fast path for what Excel and WPS write (`<row r="5"`, `<c r="B5"`); anything else (cells placed by
    position, other attribute order, namespace prefixes) is laid out tag by tag."""
    rows = cols = cells = with_r = n_rows = 0
    odd = False
    for data in _chunks(z, info):
        rows = max([rows] + [int(r) for r in _ROW_R.findall(data)])
        letters = _CELL_R.findall(data)
        with_r += len(letters)
        if letters:
            cols = max(cols, max(_col_number(c) for c in set(letters)))
        cells += data.count(b"<c ") + data.count(b"<c>") + data.count(b"<c/>")
        n_rows += data.count(b"<row ") + data.count(b"<row>")
        odd = odd or b":c " in data or b":row " in data or b":c>" in data or b":row>" in data
    if cells > with_r or n_rows > rows or odd:
        rows, cols = _extent_by_position(z, info)
    if rows * cols > LIMITS.xlsx_cells:
        raise InputError(f"{p.name}：Excel 文件中的“{info.filename}”有 {rows:,} 行 × {cols:,} 列，"
                         + over("单元格数", f"{rows * cols:,}", f"{LIMITS.xlsx_cells:,}", " 个")
                         + "（含中间的空单元格）；请删除远处的空白单元格或拆分文件")


def _extent_by_position(z, info) -> tuple[int, int]:
    rows = cols = row = col = 0
    for data in _chunks(z, info):
        for m in _TOKEN.finditer(data):
            r = _R_ATTR.search(m.group(2))
            if m.group(1) == b"row":
                row = int(r.group(2)) if r and r.group(2) else row + 1
                col = 0
                rows = max(rows, row)
            else:
                col = _col_number(r.group(1)) if r and r.group(1) else col + 1
                cols = max(cols, col)
    return rows, cols


def _sheet_grid(wb, p: Path, name: str):
    try:
        sh = wb.get_sheet_by_name(name)
        grid = sh.to_python(skip_empty_area=False)  # row i of the list is sheet row i + 1
        merges = list(getattr(sh, "merged_cell_ranges", None) or [])
    except Exception as e:  # noqa: BLE001
        raise InputError(f"{p.name}：工作表“{name}”无法读取（文件可能已损坏）：{short(e)}") from None
    if not any(v != "" and _cell_text(v) is not None for row in grid for v in row):
        raise InputError(f"{p.name}：工作表“{name}”是空的")
    return grid, merges


def _find_header(p: Path, name: str, grid, merges, known: Known):
    """The header row: the first row whose cells name >= MIN_KNOWN_HEADERS dictionary fields.
    A second header row right below (two-level header with merged cells) is folded in."""
    header_grid = _filled(grid, merges, HEADER_SCAN_ROWS + 1)
    for r, row in enumerate(header_grid[:HEADER_SCAN_ROWS]):
        texts = [_cell_text(v) for v in row]
        if known.count(t for t in texts if t) < MIN_KNOWN_HEADERS:
            continue
        if r + 1 < len(header_grid):
            below = [_cell_text(v) for v in header_grid[r + 1]]
            raw_below = grid[r + 1]
            if (known.count(t for t in below if t) >= 1
                    and all(isinstance(v, str) for v in raw_below)
                    and known.count(b or t for b, t in zip(below, texts)) > known.count(texts)):
                texts = [_with_parent_unit(b, _parent_text(texts, merges, r, c), known.d) if b else t
                         for c, (b, t) in enumerate(zip(below, texts))]
                r += 1
        width = max((i + 1 for i, t in enumerate(texts) if t), default=0)
        data_width = max((len(row) for row in grid[r + 1:]), default=0)
        texts = texts + [None] * max(0, data_width - len(texts))
        used = max((c + 1 for c in range(width, data_width)
                    if any(row[c] != "" for row in grid[r + 1:] if c < len(row))), default=width)
        texts = texts[:used]
        headers, unnamed = check_headers(p.name, texts, known, f"（工作表“{name}”第 {r + 1} 行表头）")
        return r, headers, unnamed
    raise InputError(
        f"{p.name}：工作表“{name}”不是图斑数据表（前 {HEADER_SCAN_ROWS} 行中没有一行包含至少 "
        f"{MIN_KNOWN_HEADERS} 个数据字典中的字段名或代码，如 图斑编号/TBBH、行政区代码/XZQDM）")


def _parent_text(texts, merges, r: int, c: int) -> str | None:
    """The upper-level header over column c of header row r: its own cell, or the merged range spanning it."""
    for (r0, c0), (r1, c1) in merges:
        if r0 <= r <= r1 and c0 <= c <= c1:
            return texts[c0] if c0 < len(texts) else None
    return texts[c] if c < len(texts) else None


def _with_parent_unit(child: str, parent: str | None, d: Dictionary) -> str:
    """'面积（平方米）' over '耕地面积' gives '耕地面积(平方米)': the unit written once above the area columns
    belongs to each of them (a unit of the child's own wins)."""
    if not parent:
        return child
    pm = HEADER_UNIT.match(parent.strip())
    if pm is None or HEADER_UNIT.match(child.strip()):
        return child
    f = d.match_header(child)[0]
    if f is None or f.type != "area":
        return child
    return f"{child}({pm.group('unit')})"


def _filled(grid, merges, limit: int):
    """A copy of the first `limit` rows where a cell merged over several rows (a header spanning two
    header rows) carries its value down. Horizontal spans are not copied: that would repeat a name."""
    out = [list(row) for row in grid[:limit]]
    for (r0, c0), (r1, _c1) in merges:
        if r0 >= len(out) or r0 == r1 or c0 >= len(out[r0]):
            continue
        for r in range(r0 + 1, min(r1, len(out) - 1) + 1):
            if c0 < len(out[r]):
                out[r][c0] = out[r0][c0]
    return out


def _body_merges(merges, start: int, grid, d: Dictionary) -> list[str]:
    """Merged ranges below the header, as Excel names them (B5:B6). They are not filled: a merged 合计
    cell copied into 图斑编号 made patches of total rows. Ranges of 合计 and signature rows (skipped
    later) are not worth a word."""
    import re

    words = [w for k in ("total", "signature") for w in d.non_patch_rows.get(k, [])]
    footer = re.compile("^(?:" + "|".join(map(re.escape, words)) + ")(?:[(（][^)）]*[)）])?(?:[:：].*)?$") if words else None
    out = []
    for (r0, c0), (r1, c1) in merges:
        if r1 < start or (r0 == r1 and c0 == c1):
            continue
        top = _cell_text(grid[r0][c0]) if r0 < len(grid) and c0 < len(grid[r0]) else None
        if footer is not None and top and footer.match(re.sub(r"\s", "", top)):
            continue
        out.append(f"{_col_name(c0)}{r0 + 1}:{_col_name(c1)}{r1 + 1}")
    return out


def _col_name(c: int) -> str:
    name = ""
    c += 1
    while c:
        c, rem = divmod(c - 1, 26)
        name = chr(65 + rem) + name
    return name


def _cell_text(v) -> str | None:
    """An Excel cell as text: integers without '.0', dates as YYYY-MM-DD, empty -> None."""
    if v is None:
        return None
    if isinstance(v, str):
        v = v.strip(TRIM)
        return v or None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
        if abs(v) >= 1e15:  # past Excel's 15 significant digits: show it as Excel does, digits are lost
            return f"{v:.14E}"
        text = repr(v)
        return format(Decimal(text), "f") if "e" in text else text  # 1e-05 -> 0.00001
    if isinstance(v, int):
        return str(v)
    if isinstance(v, _dt.datetime):
        if v.time() == _dt.time(0):
            return v.date().isoformat()
        return v.isoformat(sep=" ", timespec="seconds")
    if isinstance(v, (_dt.date, _dt.time)):
        return v.isoformat()
    return str(v)


def _date1904(p: Path) -> bool:
    """Does the workbook use Excel's 1904 date system (workbookPr date1904)? Only .xlsx/.xlsm say so readably."""
    import re
    import zipfile
    import zlib

    if p.suffix.lower() not in (".xlsx", ".xlsm"):
        return False
    try:
        with zipfile.ZipFile(p) as z:
            xml = z.read("xl/workbook.xml")[:20000].decode("utf-8", errors="ignore")
    except (OSError, KeyError, zipfile.BadZipFile):
        return False
    return re.search(r'date1904\s*=\s*"(1|true)"', xml) is not None


def _serial_dates_to_text(p: Path, sheet: str, headers: list[str], rows, warnings: list[str], d: Dictionary) -> None:
    """Numbers in date columns that are Excel serial dates become YYYY-MM-DD (in place), by the workbook's
    date system. Cells typed as dates arrive as dates already."""
    if not d.serial_date_years:
        return
    lo_year, hi_year = d.serial_date_years
    base = _dt.date(1904, 1, 1) if _date1904(p) else _dt.date(1899, 12, 30)
    lo, hi = (_dt.date(lo_year, 1, 1) - base).days, (_dt.date(hi_year, 12, 31) - base).days
    for c, h in enumerate(headers):
        f = d.match_header(h)[0]
        if f is None or f.type != "date":
            continue
        n, example = 0, None
        for row in rows:
            v = row[c] if c < len(row) else None
            if isinstance(v, (int, float)) and not isinstance(v, bool) and float(v).is_integer() and lo <= v <= hi:
                text = (base + _dt.timedelta(days=int(v))).isoformat()
                example = example or (int(v), text)
                row[c] = text
                n += 1
        if n:
            system = "1904" if base.year == 1904 else "1900"
            warnings.append(f"{p.name}：工作表“{sheet}”列「{h}」有 {n} 个 Excel 日期序号，已按工作簿的 {system} 日期系统"
                            f"换算为日期（如 {example[0]} = {example[1]}）")
