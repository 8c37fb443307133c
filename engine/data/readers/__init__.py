"""Read a user's patch file (CSV/TXT, Excel, Parquet, Shapefile/DBF, GeoPackage, or a folder of them)
into a raw DuckDB table: every data column VARCHAR holding the cell text (trimmed, empty -> NULL) — except the
columns of typed files (Parquet, GeoPackage, Shapefile) whose type already fits their dictionary field (numbers for
areas, dates for dates), which stay typed —, headers as found, plus `_source` (file base name) and `_line` (the row
number a human sees). The policy set's dictionary decides which header row and columns are the patch table's.

Nothing is normalized here: the core maps headers and parses values. Nothing is dropped either:
a row that cannot be placed in the table stops the read with an InputError naming file and line.
"""
from __future__ import annotations

import contextlib
import re
from pathlib import Path

import duckdb

from engine.data.dictionary import Dictionary, header_key, load_dictionary
from engine.limits import LIMITS, human_bytes, input_file_limit, over

from engine.lang.quoting import quote_ident, quote_str
from engine.data.readers.common import (  # noqa: F401 - re-exported
    CSV_SUFFIXES, EXCEL_SUFFIXES, HEADER_SCAN_ROWS, MIN_KNOWN_HEADERS, OGR_SUFFIXES, PARQUET_SUFFIXES, SUPPORTED,
    STAGE, SUPPORTED_TEXT, GEOM_AREA, InputError, InputInfo, Known, allow_path, check_headers, clean_sql, column_types,
    digest, drop_relation, drop_staging, is_view, materialize, text_sql,
)
from engine.data.readers.columnar import read_through_view  # no pyarrow: the Parquet reader's own imports are light
# the reader of each other format is imported when a file of that format is read (Excel and Shapefile
# readers pull in calamine, pyogrio and pyarrow: a county CSV needs none of them)


# --------------------------------------------------------------------------- public entry point

def read_input(con: duckdb.DuckDBPyConnection, path, table: str, *, sheet: str | None = None,
               encoding: str | None = None, extra_headers=(), dictionary: Dictionary | None = None,
               lazy: bool = False) -> InputInfo:
    """Read `path` (a file or a folder) into the DuckDB table `table` (replaced if it exists).
    dictionary: the policy set's data dictionary (default: the bundled one); header rows are found by its names.
    extra_headers: headers a column map names; they count as known when the header row is looked for.
    lazy: a single Parquet file becomes the view `table` over the file instead of a copy (a province's 10^7 rows are
    not copied before they are typed); the file joins the connection's allowed_paths, so the view still reads it
    once the connection is locked. A single CSV file of LAZY_CSV_BYTES or more is copied once (its cells as text,
    read by DuckDB) and `table` is the view trimming them. engine.data.readers.common.materialize turns it into a table where one is needed."""
    from engine.data.readers.text import normalize_encoding

    if encoding:
        normalize_encoding(encoding)  # --encoding rot13 is refused whatever the file type
    known = Known(dictionary or load_dictionary(), frozenset(header_key(h) for h in extra_headers))
    p = Path(path)
    if not p.exists():
        raise InputError(f"找不到输入文件或文件夹：{path}")
    if p.is_dir():
        return _read_folder(con, p, str(path), table, known, sheet=sheet, encoding=encoding)
    info = _read_file(con, p, table, known, sheet=sheet, encoding=encoding, lazy=lazy)
    info.path = str(path)
    return info


# --------------------------------------------------------------------------- dispatch

# A CSV this large is read lazily (its cells copied once, `table` the view trimming them). A smaller one is copied
# trimmed: every statement reading the view binds its trimming expressions again (~0.01 s each, ~0.2 s for a
# county file's run), more than the copies cost (0.07 s for 2,000 rows; 11 s for 10^6).
LAZY_CSV_BYTES = 8 << 20

def _read_file(con, p: Path, table: str, known: Known, *, sheet, encoding, lazy: bool = False) -> InputInfo:
    suffix = p.suffix.lower()
    if suffix not in SUPPORTED:
        raise InputError(f"{p.name}：不支持的文件类型“{p.suffix or '(无后缀)'}”，支持 {SUPPORTED_TEXT}")
    if p.stat().st_size == 0:
        raise InputError(f"{p.name}：文件为空（0 字节）")
    _check_file_size(p)
    staging = table + STAGE
    try:
        if suffix in CSV_SUFFIXES:
            from engine.data.readers.text import read_csv
            info, unnamed = read_csv(con, p, staging, encoding, known)
        elif suffix in EXCEL_SUFFIXES:
            from engine.data.readers.excel import read_excel
            info, unnamed = read_excel(con, p, staging, sheet, known)
        elif suffix in PARQUET_SUFFIXES:
            from engine.data.readers.columnar import read_parquet
            info, unnamed = read_parquet(con, p, staging, known)
        else:
            from engine.data.readers.geo import read_ogr
            info, unnamed = read_ogr(con, p, staging, encoding, sheet, known)
        # lazy: `table` is a view over the staging (a CSV's one copy of its cells; a Parquet file itself)
        lazy = lazy and ((suffix in CSV_SUFFIXES and p.stat().st_size >= LAZY_CSV_BYTES)
                         or (suffix in PARQUET_SUFFIXES and is_view(con, staging)))
        if lazy and suffix in PARQUET_SUFFIXES:
            allow_path(con, str(p))
        with read_through_view(p) if suffix in PARQUET_SUFFIXES else contextlib.nullcontext():
            _finalize(con, staging, table, p.name, info, unnamed, known.d, view=lazy)
    finally:
        if not is_view(con, table):  # the view `table` reads its staging
            drop_staging(con, staging)
    return info


def _outside_links(d: Path) -> set[str]:
    """Names of the folder's entries that are symbolic links leading outside it (their real path is not in
    the folder's real path). Their content is never read: a link to /etc/passwd is not a county's data."""
    root = d.resolve()
    out = set()
    for f in d.iterdir():
        if f.is_symlink():
            try:
                inside = f.resolve().is_relative_to(root)
            except (OSError, RuntimeError):  # a loop of links
                inside = False
            if not inside:
                out.add(f.name)
    return out


def _check_file_size(p: Path) -> None:
    """Each file read (a Shapefile's .dbf too) within the input file size limit, before a byte of it is parsed."""
    limit = input_file_limit()
    files = [p] + [s for s in (p.with_suffix(".dbf"),) if p.suffix.lower() == ".shp" and s.exists()]
    for f in files:
        size = f.stat().st_size
        if size > limit:
            raise InputError(f"{f.name}：" + over("文件大小", human_bytes(size), human_bytes(limit))
                             + "，未读取；确需读取更大的文件时，可用环境变量 WEIPIAN_MAX_INPUT_SIZE 调高上限（如 4GB）")


def _read_folder(con, d: Path, given: str, table: str, known: Known, *, sheet, encoding) -> InputInfo:
    outside = _outside_links(d)
    link_warnings = [f"{d.name}：“{name}”是指向文件夹之外的符号链接，未读取" for name in sorted(outside)
                     if Path(name).suffix.lower() in SUPPORTED + (".shx", ".prj", ".cpg")]
    entries = sorted(
        (f for f in d.iterdir()
         if f.name not in outside and f.is_file() and f.suffix.lower() in SUPPORTED
         and not f.name.startswith(("~$", ".", "._"))),
        key=lambda f: f.name,
    )
    for f in [f for f in entries if f.suffix.lower() == ".shp"]:  # GDAL would open the sidecars by name
        linked = sorted(n for n in outside if Path(n).stem == f.stem)
        if linked:
            entries.remove(f)
            link_warnings.append(f"{d.name}：{f.name} 的附属文件 {'、'.join(linked)} 指向文件夹之外，{f.name} 未读取")
    shp_stems = {f.stem for f in entries if f.suffix.lower() == ".shp"}
    entries = [f for f in entries if not (f.suffix.lower() == ".dbf" and f.stem in shp_stems)]
    if not entries:
        why = f"；{'；'.join(link_warnings)}" if link_warnings else ""
        raise InputError(f"{d.name}：文件夹中没有可读取的图斑文件（支持 {SUPPORTED_TEXT}）{why}")
    if len(entries) > LIMITS.folder_files:
        raise InputError(f"{d.name}：文件夹中的数据文件" + over("个数", f"{len(entries):,}", f"{LIMITS.folder_files:,}", " 个")
                         + "；请分批检查或合并文件")
    names = [f.name for f in entries]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"{d.name}：文件名重复 {dupes}")
    parts, infos = [], []
    try:
        for i, f in enumerate(entries):
            part = f"{table}__part{i}"
            parts.append(part)
            infos.append(_read_file(con, f, part, known, sheet=sheet, encoding=encoding))
        columns: list[str] = []
        for info in infos:
            columns += [c for c in info.columns if c not in columns]
        part_types = [column_types(con, t) for t in parts]
        mixed = {c for c in columns if len({ts[c] for ts in part_types if c in ts}) > 1}  # e.g. DOUBLE here, VARCHAR there
        union = " UNION ALL BY NAME ".join(
            f"SELECT * REPLACE ({', '.join(f'{text_sql(quote_ident(c), ts[c])} AS {quote_ident(c)}' for c in mixed if c in ts)}) "
            f"FROM {quote_ident(t)}" if mixed & set(ts) else f"SELECT * FROM {quote_ident(t)}"
            for t, ts in zip(parts, part_types))
        geom = [GEOM_AREA] if any(GEOM_AREA in ts for ts in part_types) else []
        order = ", ".join(quote_ident(c) for c in columns + geom + ["_source", "_line"])
        con.execute(f"CREATE OR REPLACE TABLE {quote_ident(table)} AS SELECT {order} FROM ({union}) "
                    f"ORDER BY _source, _line")
    finally:
        for t in parts:
            con.execute(f"DROP TABLE IF EXISTS {quote_ident(t)}")
    files = [f for info in infos for f in info.files]
    skipped = [s for info in infos for s in info.skipped]
    warnings = link_warnings + [w for info in infos for w in info.warnings]
    for info in infos:
        missing = [c for c in columns if c not in info.columns]
        if missing and len(infos) > 1:
            warnings.append(f"{Path(info.path).name}：缺少其他文件中的列 {'、'.join(missing)}，这些列记为空")
    return InputInfo(path=given, sha256=digest((n, info.sha256) for n, info in zip(names, infos)), files=files, rows=sum(i.rows for i in infos),
                     columns=columns, warnings=warnings, skipped=skipped)


# --------------------------------------------------------------------------- common finishing step

def _finalize(con, staging: str, table: str, source: str, info: InputInfo, unnamed: list[str], d: Dictionary, *,
              view: bool = False) -> None:
    """staging has the data columns (VARCHAR, or typed where the type fits the field, see typed_to_text) and `_line`.
    Trim every text cell, turn empty cells into NULL, add `_source`. Columns without a header
    (named 列N) are dropped when empty, kept with a warning otherwise. view: `table` is a view over staging."""
    types = column_types(con, staging)
    if unnamed:
        counts = con.execute("SELECT " + ", ".join(
            f"count({clean_sql(quote_ident(c))})" for c in unnamed)
            + f" FROM {quote_ident(staging)}").fetchall()[0]
        for c, n in zip(unnamed, counts):
            if n == 0:
                info.columns.remove(c)
            else:
                info.warnings.append(f"{source}：第 {c[1:]} 列没有表头但有 {n} 个非空单元格，已按“{c}”保留")
    cols = ", ".join(f"{clean_sql(quote_ident(c)) if types[c] == 'VARCHAR' else quote_ident(c)} AS {quote_ident(c)}"
                     for c in info.columns)
    if GEOM_AREA in types:
        cols += (", " if cols else "") + quote_ident(GEOM_AREA)
    sep = ", " if cols else ""
    drop_relation(con, table)
    con.execute(
        f"CREATE {'VIEW' if view else 'TABLE'} {quote_ident(table)} AS SELECT {cols}{sep}"
        f"{quote_str(source)} AS _source, CAST(_line AS BIGINT) AS _line FROM {quote_ident(staging)}"
    )
    text = [c for c in info.columns if types[c] == "VARCHAR"]
    _check_cell_length(con, table, source, text, untrimmed=staging)
    _skip_non_patch_rows(con, table, source, info, d, types)
    info.rows = con.execute(f"SELECT count(*) FROM {quote_ident(table)}").fetchall()[0][0]
    if info.rows == 0:
        extra = f"（{len(info.skipped)} 行不是图斑，已跳过）" if info.skipped else ""
        raise InputError(f"{source}：只有表头，没有数据行{extra}")


def _check_cell_length(con, table: str, source: str, columns: list[str], untrimmed: str) -> None:
    """No cell longer than LIMITS.cell_chars (Excel's own 32,767): refused with file, row and column,
    never cut silently. untrimmed: the same cells before trimming; no cell there over the limit in bytes proves
    the check (a trimmed cell is no longer, a character at least one byte) without trimming a cell."""
    if not columns:
        return
    limit = LIMITS.cell_chars
    if not con.execute(f"SELECT count(*) FROM (SELECT 1 FROM {quote_ident(untrimmed)} WHERE "
                       + " OR ".join(f"strlen({quote_ident(c)}) > {limit}" for c in columns) + " LIMIT 1)").fetchall()[0][0]:
        return
    lengths = ", ".join(f"length({quote_ident(c)})" for c in columns)
    test = " OR ".join(f"length({quote_ident(c)}) > {limit}" for c in columns)
    rows = con.execute(f"SELECT _line, {lengths} FROM {quote_ident(table)} WHERE {test} ORDER BY _line LIMIT 1").fetchall()
    if not rows:
        return
    line, *sizes = rows[0]
    col, size = next((c, n) for c, n in zip(columns, sizes) if n is not None and n > limit)
    raise InputError(f"{source}：第 {line} 行「{col}」列的单元格" + over("长度", f"{size:,}", f"{limit:,}", " 个字符")
                     + "（Excel 单元格最多 32,767 个字符）；请检查该单元格是否误粘贴了内容，整个文件未导入")


_WS = "[\\s\u3000\u00a0]"


def _words_re(words: list[str]) -> str:
    alt = "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))
    return f"^(?:{alt})(?:[(（][^)）]*[)）])?(?:[:：].*)?$"


def _skip_non_patch_rows(con, table: str, source: str, info: InputInfo, d: Dictionary, types: dict[str, str]) -> None:
    """Delete the rows that are not patches (blank, 合计, signature, repeated header) and list them in info.skipped.
    Blank rows after the last row with content are not rows at all: dropped without a word.
    types: column -> type (a typed column holds no footer words and no header)."""
    cols = info.columns
    if not cols:
        return
    text_cols = [c for c in cols if types[c] == "VARCHAR"]
    clean = {c: f"regexp_replace({quote_ident(c)}, {quote_str(_WS)}, '', 'g')" for c in text_cols}
    key = next((c for c in text_cols if (d.match_header(c)[0] or None) and d.match_header(c)[0].name == d.key[0]), None)
    blank = " AND ".join(f"{quote_ident(c)} IS NULL" for c in cols)

    def words(kind: str) -> str:
        ws = d.non_patch_rows.get(kind) or []
        if not ws:
            return "FALSE"
        rx = quote_str(_words_re(ws))
        any_cell = " OR ".join(f"regexp_full_match({clean[c]}, {rx})" for c in text_cols) or "FALSE"
        if key is None:
            return f"({any_cell})"
        return f"(({quote_ident(key)} IS NULL OR regexp_full_match({clean[key]}, {rx})) AND ({any_cell}))"

    same = " + ".join(f"CAST(lower({clean[c]}) = {quote_str(header_key(c))} AS INTEGER)" for c in text_cols) or "0"
    reason = (f"CASE WHEN {blank} THEN '空行' WHEN {words('total')} THEN '合计行' "
              f"WHEN {words('signature')} THEN '签字、日期等表尾行' "
              f"WHEN COALESCE({same}, 0) >= {MIN_KNOWN_HEADERS} THEN '重复的表头行' END")
    text = "concat_ws(' ', " + ", ".join(text_sql(quote_ident(c), types[c]) for c in cols) + ")"
    candidates = "TRUE"
    if key is not None:  # a patch row has an id that is neither a footer word nor the header: one cheap test
        words = [w for k in ("total", "signature") for w in d.non_patch_rows.get(k, [])] or ["合计"]
        k, hk = quote_ident(key), quote_str(header_key(key))
        test = f"regexp_full_match({clean[key]}, {quote_str(_words_re(words))}) OR lower({clean[key]}) = {hk}"
        if not any(w.isascii() for w in words):  # an id of printable ASCII is no footer word: only the header test
            test = f"CASE WHEN regexp_full_match({k}, '[!-~]+') THEN lower({k}) = {hk} ELSE {test} END"
        candidates = f"{k} IS NULL OR {test}"
    # the candidates first, on the key column alone (a lazily read file is not trimmed column by column for it)
    con.execute(f"CREATE OR REPLACE TEMP TABLE __weipian_skip AS SELECT _line FROM {quote_ident(table)} WHERE {candidates}")
    rows = []
    if con.execute("SELECT count(*) FROM __weipian_skip").fetchall()[0][0]:
        rows = con.execute(f"SELECT _line, reason, text FROM (SELECT _line, {reason} AS reason, left({text}, 60) AS text "
                           f"FROM {quote_ident(table)} WHERE _line IN (SELECT _line FROM __weipian_skip)) "
                           "WHERE reason IS NOT NULL ORDER BY _line").fetchall()
    con.execute("DROP TABLE __weipian_skip")
    if not rows:
        return
    last = None  # the last line with content: blank lines after it are no rows (asked only if there are blank lines)
    if any(r[1] == "空行" for r in rows):
        last = con.execute(f"SELECT max(_line) FROM {quote_ident(table)} WHERE NOT ({blank})").fetchall()[0][0]
    _drop_lines(con, table, [int(r[0]) for r in rows])
    listed = [r for r in rows if not (r[1] == "空行" and (last is None or r[0] > last))]
    info.skipped += [{"source": source, "line": int(line), "reason": why, "text": txt or ""} for line, why, txt in listed]
    if listed:
        shown = "、".join(f"第 {line} 行（{why}{'：' + txt if txt else ''}）" for line, why, txt in listed[:10])
        more = f" 等 {len(listed)} 行" if len(listed) > 10 else ""
        info.warnings.append(f"{source}：跳过不是图斑的行 {shown}{more}")


_LISTED_LINES = 16  # up to this many dropped lines are compared in place; more are looked up in a table


def _drop_lines(con, table: str, lines: list[int]) -> None:
    """Drop the rows of `lines` from `table`. A view (a lazily read input) is not copied for it: it becomes a view
    leaving those lines out of the view it was (renamed `table` + STAGE + "__all", dropped with its staging)."""
    if not is_view(con, table):
        con.execute(f"DELETE FROM {quote_ident(table)} WHERE _line IN ({', '.join(str(n) for n in lines)})")
        return
    whole, skipped = table + STAGE + "__all", table + STAGE + "__skipped"
    con.execute(f"ALTER VIEW {quote_ident(table)} RENAME TO {quote_ident(whole)}")
    if len(lines) <= _LISTED_LINES:
        con.execute(f"CREATE VIEW {quote_ident(table)} AS SELECT * FROM {quote_ident(whole)} "
                    f"WHERE _line NOT IN ({', '.join(str(n) for n in lines)})")
        return
    con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(skipped)} AS SELECT unnest(?::BIGINT[]) AS _line", [lines])
    con.execute(f"CREATE VIEW {quote_ident(table)} AS SELECT w.* FROM {quote_ident(whole)} w "
                f"ANTI JOIN {quote_ident(skipped)} s ON w._line = s._line")
