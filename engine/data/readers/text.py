"""CSV / TXT: encoding detection (UTF-8, UTF-16 BOM, GBK/GB18030, a guesser as last resort), delimiter, physical line numbers."""
from __future__ import annotations

import codecs
import csv
import hashlib
import re
import shutil
import tempfile
from pathlib import Path

import duckdb

from engine.lang.quoting import quote_ident, quote_str
from engine.data.readers.common import (
    CHUNK, TRIM, MIN_KNOWN_HEADERS, InputError, InputInfo, Known, check_headers, duck_msg, insertion_order,
    register_as_table, sha256,
)
from engine.limits import over


def decodes(p: Path, enc: str, start: int = 0, limit: int | None = None) -> tuple[bool, int | None]:
    """Does the whole file (from byte `start`) decode strictly as `enc`? Returns (ok, bad byte offset).
    limit: only its first `limit` bytes (a character cut at the limit is no error)."""
    dec = codecs.getincrementaldecoder(enc)(errors="strict")
    pos = start
    with open(p, "rb") as fh:
        fh.seek(start)
        while limit is None or pos - start < limit:
            chunk = fh.read(CHUNK if limit is None else min(CHUNK, limit - (pos - start)))
            if not chunk:
                break
            try:
                dec.decode(chunk)
            except UnicodeError as e:  # UnicodeDecodeError, or utf-16's plain UnicodeError (no BOM)
                return False, pos + getattr(e, "start", 0)
            pos += len(chunk)
        else:
            return True, None  # the limit reached
        try:
            dec.decode(b"", final=True)
        except UnicodeError as e:
            return False, pos + getattr(e, "start", 0)
    return True, None


_ENCODING_EXAMPLES = "utf-8、gbk、gb18030、gb2312、big5、utf-16"
# Python codecs that are "text encodings" by their flag but not character sets a file is written in.
_NOT_FILE_ENCODINGS = {"idna", "punycode", "undefined", "unicode-escape", "raw-unicode-escape", "unicode-internal"}


def normalize_encoding(name: str) -> str:
    """The codec name of a user-given text encoding. rot13, base64, zlib … are codecs but not text
    encodings (bytes-to-bytes or str-to-str): refused like unknown names, with examples."""
    try:
        info = codecs.lookup(name)
    except (LookupError, TypeError, ValueError):
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True) or info.name in _NOT_FILE_ENCODINGS:
        what = f"不认识的编码名称“{name}”" if info is None else f"“{name}”不是文本文件的字符编码"
        raise InputError(f"{what}：--encoding 只接受字符编码，如 {_ENCODING_EXAMPLES}") from None
    return info.name


def _detect_encoding(p: Path, known: Known, start: int = 0) -> str:
    """Strict UTF-8; else a UTF-16 BOM (Excel "Unicode 文本"); else GB18030 (a superset of GBK/GB2312)
    when the header then names patch fields; else charset-normalizer's guess on the same condition;
    else GB18030 if it decodes at all. InputError when nothing decodes."""
    if decodes(p, "utf-8", start)[0]:
        return "utf-8"
    with open(p, "rb") as fh:
        head = fh.read(2)
    if head in (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE) and decodes(p, "utf-16")[0]:
        return "utf-16"
    gb_ok = decodes(p, "gb18030", start)[0]
    if gb_ok and _header_is_known(p, "gb18030", known):
        return "gb18030"
    try:
        from charset_normalizer import from_path
        best = from_path(p).best()
    except Exception:  # noqa: BLE001 - a guesser failing is the same as no guess
        best = None
    if best is not None and best.encoding:
        enc = normalize_encoding(best.encoding)
        if _can_hold_chinese(enc) and decodes(p, enc, start)[0] and _header_is_known(p, enc, known):
            return enc
    if gb_ok:
        return "gb18030"
    raise InputError(f"{p.name}：无法识别文件编码（不是 UTF-8，也不是 GBK/GB18030），请另存为 UTF-8 后重试")


def _can_hold_chinese(enc: str) -> bool:
    """A single-byte guess (latin-1, cp1252 …) decodes any bytes into mojibake: a patch table with
    Chinese values cannot be in it, so such a guess is no evidence."""
    try:
        "中文".encode(enc)
    except (UnicodeEncodeError, LookupError):
        return False
    return True


def _header_is_known(p: Path, enc: str, known: Known) -> bool:
    """A guessed encoding is only believed when the first line then names patch fields."""
    with open(p, "rb") as fh:
        sample = fh.read(1 << 16)
    text = sample.decode(enc, errors="ignore").lstrip("\ufeff")
    first = text.splitlines()[0] if text else ""
    return known.count(re.split(r"[,\t;|]", first)) >= MIN_KNOWN_HEADERS


def _line_of_offset(p: Path, offset: int) -> int:
    with open(p, "rb") as fh:
        return fh.read(offset).count(b"\n") + 1


def read_csv(con, p: Path, staging: str, encoding: str | None, known: Known):
    with open(p, "rb") as fh:
        head = fh.read(4)
    bom = 3 if head.startswith(codecs.BOM_UTF8) else 0
    unchecked = False  # UTF-8 as far as Python read; DuckDB checks every cell of the rest as it reads them
    if encoding:
        enc = normalize_encoding(encoding)
        if enc == "utf-8-sig":
            enc = "utf-8"
        ok, bad = decodes(p, enc, bom if enc == "utf-8" else 0)
        if not ok:
            raise InputError(f"{p.name}：第 {_line_of_offset(p, bad)} 行无法按 {encoding} 编码解码，请确认文件编码")
    elif bom:
        enc = "utf-8"
        ok, bad = decodes(p, "utf-8", bom)
        if not ok:
            raise InputError(f"{p.name}：文件声明为 UTF-8（带 BOM），但第 {_line_of_offset(p, bad)} 行不是有效的 UTF-8")
    elif decodes(p, "utf-8", limit=_HEAD_BYTES)[0]:  # decoding 273 MB of Chinese text in Python takes 1.5 s
        enc, unchecked = "utf-8", True
    else:
        enc = _detect_encoding(p, known)
    try:
        return _read_as(con, p, staging, enc, bom, known)
    except InputError:
        # a cell DuckDB found not to be UTF-8 (or any other refusal): decided as before, on the whole file
        if not unchecked or decodes(p, "utf-8")[0]:
            raise
    return _read_as(con, p, staging, _detect_encoding(p, known), bom, known)


def _read_as(con, p: Path, staging: str, enc: str, bom: int, known: Known):
    """Read the CSV `p` in the encoding `enc` (`bom`: bytes of a UTF-8 BOM) into the staging view."""
    warnings: list[str] = []
    tmpdir = None
    src = p
    try:
        if enc != "utf-8" or bom:
            tmpdir = tempfile.mkdtemp(prefix="weipian-")
            src = Path(tmpdir) / "input.csv"
            _transcode(p, src, enc, bom)
        header_text = _first_line(src, p.name)
        if header_text is None or not header_text.strip(TRIM + ",\t;|"):
            raise InputError(f"{p.name}：文件没有表头（第 1 行为空）")
        delim = _sniff_delimiter(header_text)
        try:
            raw_headers = next(csv.reader([header_text], delimiter=delim, quotechar='"'))
        except csv.Error as e:  # one header cell over the csv module's 128K characters
            raise InputError(f"{p.name}：第 1 行（表头）无法解析：{e}") from None
        headers, unnamed = check_headers(p.name, raw_headers, known, "（第 1 行表头）")
        # the file's SHA-256 and line count in one pass; from _SCAN_ALONGSIDE_BYTES on, on the other core while
        # DuckDB reads the cells (in file order it reads with one thread; hashlib and DuckDB release the GIL)
        if src.stat().st_size < _SCAN_ALONGSIDE_BYTES:
            _csv_to_staging(con, p, src, staging + "__file", headers, delim)
            digest, physical = _digest_and_lines(src, src == p)
        else:
            from concurrent.futures import ThreadPoolExecutor

            with ThreadPoolExecutor(max_workers=1) as pool:
                scan = pool.submit(_digest_and_lines, src, src == p)
                _csv_to_staging(con, p, src, staging + "__file", headers, delim)
                digest, physical = scan.result()
        _attach_csv_lines(con, p, src, staging, delim, physical, warnings)
    finally:
        if tmpdir:
            shutil.rmtree(tmpdir, ignore_errors=True)
    if enc != "utf-8":
        warnings.append(f"{p.name}：按 {'GBK/GB18030' if enc == 'gb18030' else enc} 编码读取")
    info = InputInfo(path=str(p), sha256=digest or sha256(p), files=[str(p)], rows=0, columns=headers, warnings=warnings)
    return info, unnamed


def _transcode(src: Path, dst: Path, enc: str, skip: int) -> None:
    dec = codecs.getincrementaldecoder(enc)(errors="strict")
    with open(src, "rb") as fin, open(dst, "w", encoding="utf-8", newline="") as fout:
        fin.seek(skip)
        for chunk in iter(lambda: fin.read(CHUNK), b""):
            fout.write(dec.decode(chunk))
        fout.write(dec.decode(b"", final=True))


# a smaller file is hashed and its lines counted after DuckDB read it (~1 ms per MB): a thread pool (its import,
# its thread) costs more than it saves
_SCAN_ALONGSIDE_BYTES = 4 << 20
_LINE_CHARS = 2_000_000  # DuckDB's own maximum line size (bytes): no CSV line is read beyond it
# the header line is read by Python (at most _LINE_CHARS characters of up to 4 bytes): checked before it is read
_HEAD_BYTES = 4 * _LINE_CHARS + 8


def _first_line(p: Path, name: str = "") -> str | None:
    """The header line (up to its line break: \\n, \\r\\n or \\r), decoded from the file's first _HEAD_BYTES at most:
    the bytes the encoding check looked at (a text stream would decode a buffer more)."""
    dec = codecs.getincrementaldecoder("utf-8")(errors="strict")
    text, done = "", 0
    with open(p, "rb") as fh:
        while done < _HEAD_BYTES:
            chunk = fh.read(min(1 << 16, _HEAD_BYTES - done))
            done += len(chunk)
            new = dec.decode(chunk, final=not chunk)
            text += new
            # a break in the new text (or a \r before it); a last \r may be followed by \n in the next chunk
            if not chunk or re.search("\r\n|\n|\r(?=.)", text[-len(new) - 1:], re.S):
                break
    brk = re.search("\r\n?|\n", text)
    line = (text[:brk.end()] if brk else text)[:_LINE_CHARS + 1]
    if len(line) > _LINE_CHARS:
        raise InputError(f"{name or p.name}：第 1 行（表头）" + over("长度", f"{len(line) - 1:,}+", f"{_LINE_CHARS:,}", " 个字符")
                         + "，不是图斑数据表的表头")
    return line.rstrip("\r\n") if line else None


def _sniff_delimiter(header: str) -> str:
    counts = {d: header.count(d) for d in (",", "\t", ";", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def _csv_to_staging(con, p: Path, src: Path, staging: str, headers: list[str], delim: str) -> None:
    rejects, scan = f"{staging}__rejects", f"{staging}__rejects_scan"
    columns = "{" + ", ".join(f"{quote_str(h)}: 'VARCHAR'" for h in headers) + "}"
    opts = (f"header=true, delim={quote_str(delim)}, quote='\"', escape='\"', "
            f"columns={columns}, null_padding=true, strict_mode=true, auto_detect=false, "
            f"store_rejects=true, rejects_table={quote_str(rejects)}, rejects_scan={quote_str(scan)}")
    sql = f"CREATE OR REPLACE TEMP TABLE {quote_ident(staging)} AS SELECT * FROM read_csv({quote_str(str(src))}, {{opts}})"
    try:
        with insertion_order(con):  # the records in file order: rowid is each record's place (_attach_csv_lines)
            try:
                con.execute(sql.format(opts=opts))
            except duckdb.Error as e:
                if "parallel" not in str(e):
                    raise
                # quoted newlines + null padding need the single-threaded scanner
                con.execute(sql.format(opts=opts + ", parallel=false"))
        bad = con.execute(
            f"SELECT byte_position, error_type, column_name, error_message FROM {quote_ident(rejects)} "
            f"ORDER BY byte_position LIMIT 5").fetchall()
        n_bad = con.execute(f"SELECT count(*) FROM {quote_ident(rejects)}").fetchall()[0][0]
    except duckdb.Error as e:
        raise InputError(f"{p.name}：CSV 文件无法解析（文件可能不完整或已损坏）：{duck_msg(e)}") from None
    finally:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(rejects)}")
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(scan)}")
    if n_bad:
        parts = []
        for pos, kind, _col, msg in bad:
            line = _line_of_offset(src, pos) if pos is not None else "?"
            what = {"TOO MANY COLUMNS": f"字段数多于表头的 {len(headers)} 列",
                    "UNQUOTED VALUE": "引号使用不正确",
                    "INVALID ENCODING": "编码无效",
                    "LINE SIZE OVER MAXIMUM": "超过单行长度上限 2,000,000 字节"}.get(kind, f"{kind}（{msg}）")
            parts.append(f"第 {line} 行{what}")
        more = f"，共 {n_bad} 行" if n_bad > len(bad) else ""
        raise InputError(f"{p.name}：以下行无法读取，整个文件未导入：{'；'.join(parts)}{more}")


def _digest_and_lines(p: Path, digest: bool) -> tuple[str | None, int]:
    """(SHA-256 of the file if `digest`, its number of physical lines: a last line without a line break counts)."""
    h = hashlib.sha256() if digest else None
    physical = 0
    last = b"\n"
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            if h is not None:
                h.update(chunk)
            physical += chunk.count(b"\n")
            last = chunk[-1:]
    return (h.hexdigest() if h is not None else None), physical + (last != b"\n")


def _attach_csv_lines(con, p: Path, src: Path, staging: str, delim: str, physical: int, warnings: list[str]) -> None:
    """The view `staging`: the records of the table `staging__file` (built in file order, so its rowid is the
    record's place) with `_line`, the physical line number of each record (header = line 1). No copy of the cells.
    physical: the file's number of lines."""
    cells = quote_ident(staging + "__file")
    rows = con.execute(f"SELECT count(*) FROM {cells}").fetchall()[0][0]
    if physical == rows + 1:  # every line is exactly one record: line = position + 2
        con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(staging)} AS SELECT *, rowid + 2 AS _line FROM {cells}")
        return
    # blank lines or line breaks inside quoted cells: count lines with Python's csv module
    lines = []
    field_limit = csv.field_size_limit(_LINE_CHARS)  # DuckDB read every cell already; the csv module's 128K must not fail
    try:
        with open(src, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, delimiter=delim, quotechar='"')
            next(reader, None)  # the header record
            start = reader.line_num + 1
            for rec in reader:
                if rec:  # blank lines are not records (DuckDB skips them too)
                    lines.append(start)
                start = reader.line_num + 1
    except csv.Error:
        lines = []  # numbered by record order below, with a warning
    finally:
        csv.field_size_limit(field_limit)
    if len(lines) != rows:
        warnings.append(f"{p.name}：无法精确对应物理行号，行号按记录顺序给出")
        lines = list(range(2, rows + 2))
    import pyarrow as pa  # only for files with blank lines or line breaks inside cells

    # lines ascend with the records: record i (its rowid) has the i-th line
    numbered = staging + "__lines"
    register_as_table(con, pa.table({"__i": pa.array(range(rows), pa.int64()), "_line": pa.array(lines, pa.int64())}),
                      numbered)
    con.execute(f"CREATE OR REPLACE TEMP VIEW {quote_ident(staging)} AS SELECT s.*, l._line FROM {cells} s "
                f"JOIN {quote_ident(numbered)} l ON s.rowid = l.__i")
