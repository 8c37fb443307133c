"""Read a user's patch file (CSV/TXT, Excel, Parquet, Shapefile/DBF, GeoPackage, or a folder of them)
into a raw DuckDB table: every data column VARCHAR holding the cell text (trimmed, empty -> NULL),
headers as found, plus `_source` (file base name) and `_line` (the row number a human sees).

Nothing is normalized here: the core maps headers and parses values. Nothing is dropped either:
a row that cannot be placed in the table stops the read with an InputError naming file and line.
"""
from __future__ import annotations

import codecs
import csv
import datetime as _dt
import hashlib
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import duckdb
import pyarrow as pa

from engine.lang.quoting import quote_ident as _q
from engine.lang.quoting import quote_str as _sql_str
from engine.data.dictionary import load_dictionary
from engine.errors import InputError as _InputError


class InputError(_InputError):
    """Unusable input. str(e) is a Chinese message naming the file (and row/field when relevant).
    A subclass of engine.errors.InputError, so the CLI's handler catches it as is."""


@dataclass
class InputInfo:
    path: str
    sha256: str
    files: list[str]
    rows: int
    columns: list[str]
    warnings: list[str] = field(default_factory=list)


CSV_SUFFIXES = (".csv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
PARQUET_SUFFIXES = (".parquet",)
OGR_SUFFIXES = (".shp", ".dbf", ".gpkg")
SUPPORTED = CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES + OGR_SUFFIXES
SUPPORTED_TEXT = "CSV/TXT、Excel(.xlsx/.xls)、Parquet、Shapefile(.shp/.dbf)、GeoPackage(.gpkg) 或包含这些文件的文件夹"

MIN_KNOWN_HEADERS = 2  # a header row must name at least this many dictionary fields
HEADER_SCAN_ROWS = 50  # how far down an Excel sheet the header row is looked for
_CHUNK = 1 << 20
_TRIM = " \t\r\n\u3000\u00a0\ufeff"  # ASCII whitespace, ideographic space, NBSP, stray BOM
_UNIT_SUFFIX = re.compile(r"^(.+?)\s*[(（][^)）]*[)）]\s*$")


# --------------------------------------------------------------------------- public entry point

def read_input(con: duckdb.DuckDBPyConnection, path, table: str, *, sheet: str | None = None,
               encoding: str | None = None) -> InputInfo:
    """Read `path` (a file or a folder) into the DuckDB table `table` (replaced if it exists)."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"找不到输入文件或文件夹：{path}")
    if p.is_dir():
        return _read_folder(con, p, str(path), table, sheet=sheet, encoding=encoding)
    info = _read_file(con, p, table, sheet=sheet, encoding=encoding)
    info.path = str(path)
    return info


# --------------------------------------------------------------------------- dispatch

def _read_file(con, p: Path, table: str, *, sheet, encoding) -> InputInfo:
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED:
        raise InputError(f"{p.name}：不支持的文件类型“{p.suffix or '(无后缀)'}”，支持 {SUPPORTED_TEXT}")
    if p.stat().st_size == 0:
        raise InputError(f"{p.name}：文件为空（0 字节）")
    staging = f"{table}__stage"
    try:
        if suffix in CSV_SUFFIXES:
            info, unnamed = _read_csv(con, p, staging, encoding)
        elif suffix in EXCEL_SUFFIXES:
            info, unnamed = _read_excel(con, p, staging, sheet)
        elif suffix in PARQUET_SUFFIXES:
            info, unnamed = _read_parquet(con, p, staging)
        else:
            info, unnamed = _read_ogr(con, p, staging, encoding, sheet)
        _finalize(con, staging, table, p.name, info, unnamed)
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_q(staging)}")
    return info


def _read_folder(con, d: Path, given: str, table: str, *, sheet, encoding) -> InputInfo:
    entries = sorted(
        (f for f in d.iterdir()
         if f.is_file() and f.suffix.lower() in SUPPORTED and not f.name.startswith(("~$", ".", "._"))),
        key=lambda f: f.name,
    )
    shp_stems = {f.stem for f in entries if f.suffix.lower() == ".shp"}
    entries = [f for f in entries if not (f.suffix.lower() == ".dbf" and f.stem in shp_stems)]
    if not entries:
        raise InputError(f"{d.name}：文件夹中没有可读取的图斑文件（支持 {SUPPORTED_TEXT}）")
    names = [f.name for f in entries]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"{d.name}：文件名重复 {dupes}")
    parts, infos = [], []
    try:
        for i, f in enumerate(entries):
            part = f"{table}__part{i}"
            parts.append(part)
            infos.append(_read_file(con, f, part, sheet=sheet, encoding=encoding))
        columns: list[str] = []
        for info in infos:
            columns += [c for c in info.columns if c not in columns]
        union = " UNION ALL BY NAME ".join(f"SELECT * FROM {_q(t)}" for t in parts)
        order = ", ".join(_q(c) for c in columns + ["_source", "_line"])
        con.execute(f"CREATE OR REPLACE TABLE {_q(table)} AS SELECT {order} FROM ({union}) "
                    f"ORDER BY _source, _line")
    finally:
        for t in parts:
            con.execute(f"DROP TABLE IF EXISTS {_q(t)}")
    files = [f for info in infos for f in info.files]
    warnings = [w for info in infos for w in info.warnings]
    for info in infos:
        missing = [c for c in columns if c not in info.columns]
        if missing and len(infos) > 1:
            warnings.append(f"{Path(info.path).name}：缺少其他文件中的列 {'、'.join(missing)}，这些列记为空")
    return InputInfo(path=given, sha256=_digest((n, info.sha256) for n, info in zip(names, infos)), files=files, rows=sum(i.rows for i in infos),
                     columns=columns, warnings=warnings)


# --------------------------------------------------------------------------- common finishing step

def _finalize(con, staging: str, table: str, source: str, info: InputInfo, unnamed: list[str]) -> None:
    """staging has the data columns (any type already rendered to VARCHAR) and `_line`.
    Trim every cell, turn empty cells into NULL, add `_source`. Columns without a header
    (named 列N) are dropped when empty, kept with a warning otherwise."""
    if unnamed:
        counts = con.execute("SELECT " + ", ".join(
            f"count({_clean_sql(_q(c))})" for c in unnamed)
            + f" FROM {_q(staging)}").fetchall()[0]
        for c, n in zip(unnamed, counts):
            if n == 0:
                info.columns.remove(c)
            else:
                info.warnings.append(f"{source}：第 {c[1:]} 列没有表头但有 {n} 个非空单元格，已按“{c}”保留")
    cols = ", ".join(f"{_clean_sql(_q(c))} AS {_q(c)}" for c in info.columns)
    sep = ", " if cols else ""
    con.execute(  # staging is in file order already; a plain scan keeps it
        f"CREATE OR REPLACE TABLE {_q(table)} AS SELECT {cols}{sep}"
        f"{_sql_str(source)} AS _source, CAST(_line AS BIGINT) AS _line FROM {_q(staging)}"
    )
    info.rows = con.execute(f"SELECT count(*) FROM {_q(table)}").fetchall()[0][0]
    if info.rows == 0:
        raise InputError(f"{source}：只有表头，没有数据行")


def _clean_sql(col: str) -> str:
    """Trimmed cell text, empty -> NULL. Only cells that start or end with white space pay for the
    (slow) multi-character trim; the regex test is cheap."""
    edge = _sql_str(f"^[{_TRIM}]|[{_TRIM}]$")
    return (f"CASE WHEN regexp_matches({col}, {edge}) THEN NULLIF(trim({col}, {_sql_str(_TRIM)}), '') "
            f"ELSE NULLIF({col}, '') END")


def _check_headers(name: str, headers: list, where: str = "") -> tuple[list[str], list[str]]:
    """Trim headers, name empty ones 列N, reject duplicates and non-patch tables.
    Returns (headers, the names given to empty headers)."""
    out, unnamed = [], []
    for i, h in enumerate(headers, 1):
        h = "" if h is None else str(h).strip(_TRIM)
        if not h:
            h = f"列{i}"
            unnamed.append(h)
        out.append(h)
    if len(out) == 0:
        raise InputError(f"{name}{where}：没有表头")
    seen: set[str] = set()
    for h in out:
        if h in seen:
            raise InputError(f"{name}{where}：表头“{h}”重复出现")
        if h in ("_source", "_line"):
            raise InputError(f"{name}{where}：表头“{h}”是保留名称，请改名")
        seen.add(h)
    if known_count(out) < MIN_KNOWN_HEADERS:
        raise InputError(
            f"{name}{where}：不是图斑数据表（表头中没有找到至少 {MIN_KNOWN_HEADERS} 个数据字典中的字段名或代码，"
            f"如 图斑编号/TBBH、行政区代码/XZQDM）。表头为：{'、'.join(out[:12])}"
        )
    return out, unnamed


@lru_cache(maxsize=1)
def _known_names() -> frozenset[str]:
    """Field names and codes of the data dictionary, casefolded."""
    return frozenset(n.casefold() for f in load_dictionary().fields for n in (f.name, f.code) if n)


def _is_known(header) -> bool:
    if header is None:
        return False
    h = str(header).strip(_TRIM)
    if h.casefold() in _known_names():
        return True
    m = _UNIT_SUFFIX.match(h)
    return bool(m) and m.group(1).strip(_TRIM).casefold() in _known_names()


def known_count(headers) -> int:
    """How many of `headers` are dictionary field names or codes (a unit suffix like '(平方米)' allowed)."""
    return sum(1 for h in headers if _is_known(h))


# --------------------------------------------------------------------------- hashing and encodings

def _sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def _decodes(p: Path, enc: str, start: int = 0) -> tuple[bool, int | None]:
    """Does the whole file (from byte `start`) decode strictly as `enc`? Returns (ok, bad byte offset)."""
    dec = codecs.getincrementaldecoder(enc)(errors="strict")
    pos = start
    with open(p, "rb") as fh:
        fh.seek(start)
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as e:
                return False, pos + e.start
            pos += len(chunk)
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError as e:
            return False, pos + e.start
    return True, None


def _normalize_encoding(name: str) -> str:
    try:
        return codecs.lookup(name).name
    except LookupError:
        raise InputError(f"不认识的编码名称“{name}”（可用 utf-8、gbk、gb18030 等）") from None


def _detect_encoding(p: Path, start: int = 0) -> str:
    """Strict UTF-8; else a UTF-16 BOM (Excel "Unicode 文本"); else GB18030 (a superset of GBK/GB2312)
    when the header then names patch fields; else charset-normalizer's guess on the same condition;
    else GB18030 if it decodes at all. InputError when nothing decodes."""
    if _decodes(p, "utf-8", start)[0]:
        return "utf-8"
    with open(p, "rb") as fh:
        head = fh.read(2)
    if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) and _decodes(p, "utf-16")[0]:
        return "utf-16"
    gb_ok = _decodes(p, "gb18030", start)[0]
    if gb_ok and _header_is_known(p, "gb18030"):
        return "gb18030"
    try:
        from charset_normalizer import from_path
        best = from_path(p).best()
    except Exception:  # noqa: BLE001 - a guesser failing is the same as no guess
        best = None
    if best is not None and best.encoding:
        enc = _normalize_encoding(best.encoding)
        if _can_hold_chinese(enc) and _decodes(p, enc, start)[0] and _header_is_known(p, enc):
            return enc
    if gb_ok:
        return "gb18030"
    raise InputError(f"{p.name}：无法识别文件编码（不是 UTF-8，也不是 GBK/GB18030），请另存为 UTF-8 后重试")


def _can_hold_chinese(enc: str) -> bool:
    """A single-byte guess (latin-1, cp1252 …) decodes any bytes into mojibake: a patch table with
    Chinese values cannot be in it, so such a guess is no evidence."""
    try:
        "耕地".encode(enc)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _header_is_known(p: Path, enc: str) -> bool:
    """A guessed encoding is only believed when the first line then names patch fields."""
    with open(p, "rb") as fh:
        sample = fh.read(1 << 16)
    text = sample.decode(enc, errors="ignore").lstrip("\ufeff")
    first = text.splitlines()[0] if text else ""
    return known_count(re.split(r"[,\t;|]", first)) >= MIN_KNOWN_HEADERS


def _line_of_offset(p: Path, offset: int) -> int:
    with open(p, "rb") as fh:
        return fh.read(offset).count(b"\n") + 1


# --------------------------------------------------------------------------- CSV / TXT

def _read_csv(con, p: Path, staging: str, encoding: str | None):
    with open(p, "rb") as fh:
        head = fh.read(4)
    bom = 3 if head.startswith(codecs.BOM_UTF8) else 0
    if encoding:
        enc = _normalize_encoding(encoding)
        if enc == "utf-8-sig":
            enc = "utf-8"
        ok, bad = _decodes(p, enc, bom if enc == "utf-8" else 0)
        if not ok:
            raise InputError(f"{p.name}：第 {_line_of_offset(p, bad)} 行无法按 {encoding} 编码解码，请确认文件编码")
    else:
        enc = "utf-8" if bom else _detect_encoding(p)
        if bom:
            ok, bad = _decodes(p, "utf-8", bom)
            if not ok:
                raise InputError(f"{p.name}：文件声明为 UTF-8（带 BOM），但第 {_line_of_offset(p, bad)} 行不是有效的 UTF-8")
    warnings: list[str] = []
    tmpdir = None
    src = p
    try:
        if enc != "utf-8" or bom:
            tmpdir = tempfile.mkdtemp(prefix="weipian-")
            src = Path(tmpdir) / "input.csv"
            _transcode(p, src, enc, bom)
        header_text = _first_line(src)
        if header_text is None or not header_text.strip(_TRIM + ",\t;|"):
            raise InputError(f"{p.name}：文件没有表头（第 1 行为空）")
        delim = _sniff_delimiter(header_text)
        raw_headers = next(csv.reader([header_text], delimiter=delim, quotechar='"'))
        headers, unnamed = _check_headers(p.name, raw_headers, "（第 1 行表头）")
        _csv_to_staging(con, p, src, staging, headers, delim)
        _attach_csv_lines(con, p, src, staging, delim, warnings)
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    if enc != "utf-8":
        warnings.append(f"{p.name}：按 {'GBK/GB18030' if enc == 'gb18030' else enc} 编码读取")
    info = InputInfo(path=str(p), sha256=_sha256(p), files=[str(p)], rows=0, columns=headers, warnings=warnings)
    return info, unnamed


def _transcode(src: Path, dst: Path, enc: str, skip: int) -> None:
    dec = codecs.getincrementaldecoder(enc)(errors="strict")
    with open(src, "rb") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        fin.seek(skip)
        for chunk in iter(lambda: fin.read(_CHUNK), b""):
            fout.write(dec.decode(chunk))
        fout.write(dec.decode(b"", final=True))


def _first_line(p: Path) -> str | None:
    with open(p, encoding="utf-8", newline="") as fh:
        line = fh.readline()
    return line.rstrip("\r\n") if line else None


def _sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _csv_to_staging(con, p: Path, src: Path, staging: str, headers: list[str], delim: str) -> None:
    rejects, scan = f"{staging}__rejects", f"{staging}__rejects_scan"
    columns = "{" + ", ".join(f"{_sql_str(h)}: 'VARCHAR'" for h in headers) + "}"
    opts = (f"header=true, delim={_sql_str(delim)}, quote='\"', escape='\"', "
            f"columns={columns}, null_padding=true, strict_mode=true, auto_detect=false, "
            f"store_rejects=true, rejects_table={_sql_str(rejects)}, rejects_scan={_sql_str(scan)}")
    sql = f"CREATE OR REPLACE TEMP TABLE {_q(staging)} AS SELECT * FROM read_csv({_sql_str(str(src))}, {{opts}})"
    try:
        try:
            con.execute(sql.format(opts=opts))
        except duckdb.Error as e:
            if "parallel" not in str(e):
                raise
            # quoted newlines + null padding need the single-threaded scanner
            con.execute(sql.format(opts=opts + ", parallel=false"))
        bad = con.execute(
            f"SELECT byte_position, error_type, column_name, error_message FROM {_q(rejects)} "
            f"ORDER BY byte_position LIMIT 5").fetchall()
        n_bad = con.execute(f"SELECT count(*) FROM {_q(rejects)}").fetchall()[0][0]
    except duckdb.Error as e:
        raise InputError(f"{p.name}：CSV 文件无法解析（文件可能不完整或已损坏）：{_duck_msg(e)}") from None
    finally:
        con.execute(f"DROP TABLE IF EXISTS {_q(rejects)}")
        con.execute(f"DROP TABLE IF EXISTS {_q(scan)}")
    if n_bad:
        parts = []
        for pos, kind, _col, msg in bad:
            line = _line_of_offset(src, pos) if pos is not None else "?"
            what = {"TOO MANY COLUMNS": f"字段数多于表头的 {len(headers)} 列",
                    "UNQUOTED VALUE": "引号使用不正确",
                    "INVALID ENCODING": "编码无效"}.get(kind, f"{kind}（{msg}）")
            parts.append(f"第 {line} 行{what}")
        more = f"，共 {n_bad} 行" if n_bad > len(bad) else ""
        raise InputError(f"{p.name}：以下行无法读取，整个文件未导入：{'；'.join(parts)}{more}")


def _attach_csv_lines(con, p: Path, src: Path, staging: str, delim: str, warnings: list[str]) -> None:
    """Add `_line`: the physical line number of each record (header = line 1)."""
    rows = con.execute(f"SELECT count(*) FROM {_q(staging)}").fetchall()[0][0]
    physical = 0
    last = b"\n"
    with open(src, "rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            physical += chunk.count(b"\n")
            last = chunk[-1:]
    if last != b"\n":
        physical += 1
    if physical == rows + 1:  # every line is exactly one record: line = position + 2
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(staging)} AS "
                    f"SELECT *, rowid + 2 AS _line FROM {_q(staging)}")
        return
    # blank lines or line breaks inside quoted cells: count lines with Python's csv module
    lines = []
    with open(src, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh, delimiter=delim, quotechar='"')
        next(reader, None)  # the header record
        start = reader.line_num + 1
        for rec in reader:
            if rec:  # blank lines are not records (DuckDB skips them too)
                lines.append(start)
            start = reader.line_num + 1
    if len(lines) != rows:
        warnings.append(f"{p.name}：无法精确对应物理行号，行号按记录顺序给出")
        lines = list(range(2, rows + 2))
    con.register("__weipian_lines", pa.table({"_line": pa.array(lines, pa.int64())}))
    try:
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {_q(staging)} AS SELECT s.*, l._line FROM "
            f"(SELECT *, rowid AS __i FROM {_q(staging)}) s JOIN "
            f"(SELECT _line, row_number() OVER (ORDER BY _line) - 1 AS __i FROM __weipian_lines) l USING (__i) "
            f"ORDER BY __i")
        con.execute(f"ALTER TABLE {_q(staging)} DROP COLUMN __i")
    finally:
        con.unregister("__weipian_lines")


# --------------------------------------------------------------------------- Excel (python-calamine)

def _read_excel(con, p: Path, staging: str, sheet: str | None):
    from python_calamine import CalamineWorkbook

    try:
        wb = CalamineWorkbook.from_path(str(p))
        names = [m.name for m in wb.sheets_metadata
                 if str(m.typ).endswith("WorkSheet") and str(m.visible).endswith(".Visible")] or list(wb.sheet_names)
    except Exception as e:  # noqa: BLE001 - calamine raises its own error types for broken files
        raise InputError(f"{p.name}：Excel 文件无法打开（文件可能不完整或已损坏）：{_short(e)}") from None
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
            header_at, headers, unnamed = _find_header(p, name, grid, merges)
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
    filled = _fill_data_merges(grid, merges, header_at + 1)
    if filled:
        warnings.append(f"{p.name}：工作表“{name}”数据区有 {filled} 处合并单元格，已按合并区左上角的值填充")
    rows = grid[header_at + 1:]
    width = len(headers)
    columns = list(zip(*rows))[:width] if rows else []
    columns += [()] * (width - len(columns))
    arrays = {h: pa.array([v if v.__class__ is str else _cell_text(v) for v in col], pa.string())
              for h, col in zip(headers, columns)}
    first = header_at + 2  # sheet row number of the first data row
    arrays["_line"] = pa.array(range(first, first + len(rows)), pa.int64())
    _register_as_table(con, pa.table(arrays), staging)
    # rows with no content at all are not records: drop them, say how many
    blank = con.execute(f"DELETE FROM {_q(staging)} WHERE " + " AND ".join(
        f"{_clean_sql(_q(h))} IS NULL" for h in headers)).fetchall()[0][0]
    if blank and blank < len(rows):
        warnings.append(f"{p.name}：工作表“{name}”中有 {blank} 个空行，已跳过")
    where = f"{p.name}（工作表“{name}”）" if len(names) > 1 or sheet else p.name
    info = InputInfo(path=str(p), sha256=_sha256(p), files=[str(p)], rows=0, columns=headers, warnings=warnings)
    if blank == len(rows):
        raise InputError(f"{where}：只有表头，没有数据行")
    return info, unnamed


def _sheet_grid(wb, p: Path, name: str):
    try:
        sh = wb.get_sheet_by_name(name)
        grid = sh.to_python(skip_empty_area=False)  # row i of the list is sheet row i + 1
        merges = list(getattr(sh, "merged_cell_ranges", None) or [])
    except Exception as e:  # noqa: BLE001
        raise InputError(f"{p.name}：工作表“{name}”无法读取（文件可能已损坏）：{_short(e)}") from None
    if not any(v != "" and _cell_text(v) is not None for row in grid for v in row):
        raise InputError(f"{p.name}：工作表“{name}”是空的")
    return grid, merges


def _find_header(p: Path, name: str, grid, merges):
    """The header row: the first row whose cells name >= MIN_KNOWN_HEADERS dictionary fields.
    A second header row right below (two-level header with merged cells) is folded in."""
    header_grid = _filled(grid, merges, HEADER_SCAN_ROWS + 1)
    for r, row in enumerate(header_grid[:HEADER_SCAN_ROWS]):
        texts = [_cell_text(v) for v in row]
        if known_count(t for t in texts if t) < MIN_KNOWN_HEADERS:
            continue
        if r + 1 < len(header_grid):
            below = [_cell_text(v) for v in header_grid[r + 1]]
            raw_below = grid[r + 1]
            if (known_count(t for t in below if t) >= 1
                    and all(isinstance(v, str) for v in raw_below)
                    and known_count(b or t for b, t in zip(below, texts)) > known_count(texts)):
                texts = [b or t for b, t in zip(below, texts)]
                r += 1
        width = max((i + 1 for i, t in enumerate(texts) if t), default=0)
        data_width = max((len(row) for row in grid[r + 1:]), default=0)
        texts = texts + [None] * max(0, data_width - len(texts))
        used = max((c + 1 for c in range(width, data_width)
                    if any(row[c] != "" for row in grid[r + 1:] if c < len(row))), default=width)
        texts = texts[:used]
        headers, unnamed = _check_headers(p.name, texts, f"（工作表“{name}”第 {r + 1} 行表头）")
        return r, headers, unnamed
    raise InputError(
        f"{p.name}：工作表“{name}”不是图斑数据表（前 {HEADER_SCAN_ROWS} 行中没有一行包含至少 "
        f"{MIN_KNOWN_HEADERS} 个数据字典中的字段名或代码，如 图斑编号/TBBH、行政区代码/XZQDM）")


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


def _fill_data_merges(grid, merges, start: int) -> int:
    """Give every cell of a merged range below the header its top-left value (in place).
    Returns how many ranges were filled."""
    n = 0
    for (r0, c0), (r1, c1) in merges:
        if r1 < start or (r0 == r1 and c0 == c1) or r0 >= len(grid):
            continue
        value = grid[r0][c0] if c0 < len(grid[r0]) else ""
        for r in range(max(r0, start), min(r1, len(grid) - 1) + 1):
            row = grid[r]
            for c in range(c0, min(c1, len(row) - 1) + 1):
                row[c] = value
        n += 1
    return n


def _cell_text(v) -> str | None:
    """An Excel cell as text: integers without '.0', dates as YYYY-MM-DD, empty -> None."""
    if v is None:
        return None
    if isinstance(v, str):
        v = v.strip(_TRIM)
        return v or None
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float):
        if v.is_integer() and abs(v) < 1e15:
            return str(int(v))
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


# --------------------------------------------------------------------------- Parquet

def _read_parquet(con, p: Path, staging: str):
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(staging)} AS "
                    f"SELECT * FROM read_parquet({_sql_str(str(p))})")
    except duckdb.Error as e:
        raise InputError(f"{p.name}：Parquet 文件无法读取（文件可能不完整或已损坏）：{_duck_msg(e)}") from None
    info, unnamed = _typed_to_text(con, p, staging, "rowid + 1")
    info.sha256 = _sha256(p)
    return info, unnamed


def _typed_to_text(con, p: Path, staging: str, line_sql: str):
    """Replace the typed table `staging` by one with every column rendered as text and `_line`."""
    described = con.execute(f"DESCRIBE {_q(staging)}").fetchall()
    warnings: list[str] = []
    kept = []
    for name, typ, *_ in described:
        if typ in ("BLOB", "GEOMETRY") or typ.startswith(("STRUCT", "MAP")) or typ.endswith("[]"):
            warnings.append(f"{p.name}：列“{name}”（{typ}）不是属性值，已忽略")
            continue
        kept.append((name, typ))
    headers, unnamed = _check_headers(p.name, [n for n, _ in kept])
    exprs = [f"{_render_sql(_q(name), typ)} AS {_q(h)}" for (name, typ), h in zip(kept, headers)]
    con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(staging)} AS "
                f"SELECT {', '.join(exprs)}, {line_sql} AS _line FROM {_q(staging)}")
    info = InputInfo(path=str(p), sha256="", files=[str(p)], rows=0, columns=headers, warnings=warnings)
    return info, unnamed


def _render_sql(col: str, typ: str) -> str:
    """SQL rendering a typed column as the text a person would have typed (same as Excel cells)."""
    if typ in ("DOUBLE", "FLOAT", "REAL"):
        return (f"CASE WHEN isfinite({col}) AND {col} = trunc({col}) AND abs({col}) < 1e15 "
                f"THEN CAST(CAST({col} AS BIGINT) AS VARCHAR) ELSE CAST({col} AS VARCHAR) END")
    if typ.startswith("TIMESTAMP") and "TIME ZONE" not in typ:
        return (f"CASE WHEN CAST({col} AS TIME) = TIME '00:00:00' THEN strftime({col}, '%Y-%m-%d') "
                f"ELSE strftime({col}, '%Y-%m-%d %H:%M:%S') END")
    return f"CAST({col} AS VARCHAR)"


# --------------------------------------------------------------------------- Shapefile / DBF / GeoPackage (pyogrio)

_SHP_SIDECARS = (".shp", ".shx", ".dbf", ".cpg", ".prj")


def _read_ogr(con, p: Path, staging: str, encoding: str | None, layer: str | None):
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
            enc = _normalize_encoding(encoding)
        elif not p.with_suffix(".cpg").exists():
            enc = _detect_dbf_encoding(dbf)
            if enc != "utf-8":
                warnings.append(f"{p.name}：没有 .cpg 文件，按 GBK/GB18030 编码读取属性")
        layer = None
    if suffix == ".gpkg" and layer is None:
        try:
            layers = [str(name) for name, _geom in pyogrio.list_layers(str(p))]
        except Exception as e:  # noqa: BLE001
            raise InputError(f"{p.name}：文件无法读取（文件可能不完整或已损坏）：{_short(e)}") from None
        if not layers:
            raise InputError(f"{p.name}：GeoPackage 中没有图层")
        layer = layers[0]
        if len(layers) > 1:
            warnings.append(f"{p.name}：有 {len(layers)} 个图层（{'、'.join(layers)}），已读取第一个“{layer}”；"
                            f"可指定工作表/图层名读取其他图层")
    try:
        kwargs = {"read_geometry": False}
        if enc:
            kwargs["encoding"] = enc
        if layer is not None:
            kwargs["layer"] = layer
        _meta, tab = pyogrio.read_arrow(str(p), **kwargs)
    except UnicodeDecodeError:
        raise InputError(f"{p.name}：属性表字段名或内容无法解码（字段名可能被截断，或编码不对）；"
                         f"请确认 .cpg 文件或指定编码（如 --encoding gbk）") from None
    except Exception as e:  # noqa: BLE001 - pyogrio/GDAL errors for broken or truncated files
        if layer is not None and "layer" in str(e).lower():
            raise InputError(f"{p.name}：没有名为“{layer}”的图层") from None
        raise InputError(f"{p.name}：文件无法读取（文件可能不完整或已损坏）：{_short(e)}") from None
    if tab.num_rows == 0:
        raise InputError(f"{p.name}：属性表没有记录（只有字段定义，没有数据行）")
    _register_as_table(con, tab, staging)
    info, unnamed = _typed_to_text(con, p, staging, "rowid + 1")
    info.files = [str(f) for f in files]
    info.sha256 = _sha256(p) if len(files) == 1 else _sha256_of(files)
    info.warnings = warnings + info.warnings
    return info, unnamed


def _check_dbf_complete(dbf: Path) -> None:
    """GDAL reads a truncated .dbf without complaint (fewer records): compare with its header."""
    with open(dbf, "rb") as fh:
        head = fh.read(12)
    if len(head) < 12:
        raise InputError(f"{dbf.name}：属性表文件不完整（文件头被截断）")
    declared = int.from_bytes(head[4:8], "little")
    header_len = int.from_bytes(head[8:10], "little")
    record_len = int.from_bytes(head[10:12], "little")
    size = dbf.stat().st_size
    if record_len and size < header_len + declared * record_len:
        complete = max(0, (size - header_len) // record_len)
        raise InputError(f"{dbf.name}：属性表文件不完整（文件头声明 {declared} 条记录，实际只有 {complete} 条完整记录），"
                         f"请重新导出或拷贝")


def _detect_dbf_encoding(dbf: Path) -> str:
    """UTF-8 if the field names and records decode as UTF-8, else gb18030."""
    with open(dbf, "rb") as fh:
        head = fh.read(32)
        if len(head) < 32:
            raise InputError(f"{dbf.name}：属性表文件不完整")
        header_len = int.from_bytes(head[8:10], "little")
        descriptors = fh.read(max(0, header_len - 32))
    names = b"".join(descriptors[i:i + 11].split(b"\0", 1)[0] for i in range(0, len(descriptors) - 31, 32))
    try:
        names.decode("utf-8")
        names_ok = True
    except UnicodeDecodeError:
        names_ok = False
    if names_ok and _decodes(dbf, "utf-8", header_len)[0]:
        return "utf-8"
    return "gb18030"


def _sha256_of(files: list[Path]) -> str:
    return _digest((f.name, _sha256(f)) for f in files)


def _digest(named) -> str:
    """One SHA-256 over several files: their (unique) names and SHA-256s, by name."""
    digest = hashlib.sha256()
    for name, sha in sorted(named):
        digest.update(f"{name}\t{sha}\n".encode())
    return digest.hexdigest()


# --------------------------------------------------------------------------- helpers

def _register_as_table(con, tab: pa.Table, name: str) -> None:
    view = f"__weipian_arrow_{name}"
    con.register(view, tab)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {_q(name)} AS SELECT * FROM {_q(view)}")
    finally:
        con.unregister(view)


def _short(e: Exception) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:200]


def _duck_msg(e: Exception) -> str:
    return str(e).strip().splitlines()[0][:200]
