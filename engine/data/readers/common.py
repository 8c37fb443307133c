"""Shared pieces of the readers: the error type, InputInfo, suffix lists, header checks, hashing, small helpers."""
from __future__ import annotations

import hashlib
import re
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from engine.lang.quoting import quote_ident, quote_str
from engine.data.dictionary import Dictionary, header_key
from engine.errors import InputError as _InputError
from engine.limits import LIMITS, over


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
    skipped: list[dict] = field(default_factory=list)  # rows that are not patches: {source, line, reason, text}


CSV_SUFFIXES = (".csv", ".txt")
EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xls")
PARQUET_SUFFIXES = (".parquet",)
OGR_SUFFIXES = (".shp", ".dbf", ".gpkg")
SUPPORTED = CSV_SUFFIXES + EXCEL_SUFFIXES + PARQUET_SUFFIXES + OGR_SUFFIXES
SUPPORTED_TEXT = "CSV/TXT、Excel(.xlsx/.xls)、Parquet、Shapefile(.shp/.dbf)、GeoPackage(.gpkg) 或包含这些文件的文件夹"

MIN_KNOWN_HEADERS = 2  # a header row must name at least this many dictionary fields
HEADER_SCAN_ROWS = 50  # how far down an Excel sheet the header row is looked for
CHUNK = 1 << 20
GEOM_AREA = "_geom_m2"  # hidden column: area of the row's polygon in m² (geo files only)
TRIM = " \t\r\n\u3000\u00a0\ufeff"  # ASCII whitespace, ideographic space, NBSP, stray BOM
_UNIT_SUFFIX = re.compile(r"^(.+?)\s*[(（][^)）]*[)）]\s*$")


def clean_sql(col: str) -> str:
    """Trimmed cell text, empty -> NULL. Only cells that start or end with white space pay for the
    (slow) multi-character trim. One regex test per cell: byte tests at either end are ~20% cheaper on 1M rows
    but make the expression 14 calls long, and planning those for every column cost a county file 0.4 s."""
    edge = quote_str(f"^[{TRIM}]|[{TRIM}]$")
    return (f"CASE WHEN regexp_matches({col}, {edge}) THEN NULLIF(trim({col}, {quote_str(TRIM)}), '') "
            f"ELSE NULLIF({col}, '') END")


@dataclass(frozen=True)
class Known:
    """What marks a header row: the dictionary's field names, codes and aliases (a unit suffix like '(平方米)'
    allowed), the national headers it knows, and the headers a column map names (`extra`, header_keys).
    The readers get the policy set's dictionary through it, never the bundled one by themselves."""
    d: Dictionary
    extra: frozenset[str] = frozenset()

    def __call__(self, header) -> bool:
        if header is None:
            return False
        h = str(header).strip(TRIM)
        if not h:
            return False
        return self.d.match_header(h)[0] is not None or self.d.is_known_unused(h) or header_key(h) in self.extra

    def count(self, headers) -> int:
        """How many of `headers` are known."""
        return sum(1 for h in headers if self(h))


_INTEGER_TYPES = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "UTINYINT", "USMALLINT", "UINTEGER",
                  "UBIGINT", "UHUGEINT")
_NUMBER_TYPES = _INTEGER_TYPES + ("FLOAT", "REAL", "DOUBLE")


def typed_fits(field_type: str, sql_type: str) -> bool:
    """Does a typed column (Parquet, GeoPackage, Shapefile) already hold values of the dictionary type `field_type`?
    Such a column is read as it is, without a round trip through text: numbers for areas, integers for integers,
    dates and timestamps without a time zone for dates, booleans for 是/否 fields."""
    if field_type == "area":
        return sql_type in _NUMBER_TYPES or sql_type.startswith("DECIMAL")
    if field_type == "int":
        return sql_type in _INTEGER_TYPES
    if field_type == "date":
        return sql_type == "DATE" or (sql_type.startswith("TIMESTAMP") and "TIME ZONE" not in sql_type)
    if field_type == "bool":
        return sql_type == "BOOLEAN"
    return False


def text_sql(col: str, typ: str) -> str:
    """SQL rendering a column of type `typ` as the text a person would have typed (same as Excel cells)."""
    if typ == "VARCHAR":
        return col
    if typ in ("DOUBLE", "FLOAT", "REAL"):
        return (f"CASE WHEN isfinite({col}) AND {col} = trunc({col}) AND abs({col}) < 1e15 "
                f"THEN CAST(CAST({col} AS BIGINT) AS VARCHAR) ELSE CAST({col} AS VARCHAR) END")
    if typ.startswith("TIMESTAMP") and "TIME ZONE" not in typ:
        return (f"CASE WHEN CAST({col} AS TIME) = TIME '00:00:00' THEN strftime({col}, '%Y-%m-%d') "
                f"ELSE strftime({col}, '%Y-%m-%d %H:%M:%S') END")
    return f"CAST({col} AS VARCHAR)"


def is_view(con, name: str) -> bool:
    return bool(con.execute("SELECT count(*) FROM duckdb_views() WHERE view_name = ? AND NOT internal",
                            [name]).fetchall()[0][0])


def drop_relation(con, name: str) -> None:
    """Drop the table or view `name`, if there is one."""
    if is_view(con, name):
        con.execute(f"DROP VIEW {quote_ident(name)}")
    else:
        con.execute(f"DROP TABLE IF EXISTS {quote_ident(name)}")


STAGE = "__stage"  # read_input's `table` + STAGE: the reader's staging relation, which a lazy `table` reads
# staging + part: what a lazy input's view reads besides its staging: a CSV's cells and line numbers, and once rows
# that are not patches are left out, the view that still has them and their lines (readers/__init__.py _drop_lines)
STAGE_PARTS = ("__file", "__lines", "__all", "__skipped")


def drop_staging(con, staging: str) -> None:
    """Drop the staging relation `staging` and the tables it reads."""
    for name in (staging, *(staging + part for part in STAGE_PARTS)):
        drop_relation(con, name)


def materialize(con, name: str) -> None:
    """Make the view `name` (a lazily read input, see read_input) a table of the same name and rows, to change it.
    The staging it read (a CSV's cells) is dropped: one copy of the rows, not two."""
    if not is_view(con, name):
        return
    copy = quote_ident(name + "__copy")
    con.execute(f"CREATE OR REPLACE TABLE {copy} AS SELECT * FROM {quote_ident(name)}")
    con.execute(f"DROP VIEW {quote_ident(name)}")
    con.execute(f"ALTER TABLE {copy} RENAME TO {quote_ident(name)}")
    drop_staging(con, name + STAGE)


@contextmanager
def insertion_order(con):
    """Within the block, tables are built in their source's order (preserve_insertion_order = true): a table built
    from read_csv or read_parquet then has each row's place in the file as its rowid. The setting is put back after."""
    keep = con.execute("SELECT current_setting('preserve_insertion_order')").fetchall()[0][0]
    con.execute("SET preserve_insertion_order = true")
    try:
        yield
    finally:
        con.execute(f"SET preserve_insertion_order = {'true' if keep else 'false'}")


def allow_path(con, path: str) -> None:
    """Let the connection read the file `path` after it is locked (enable_external_access = false): added to its
    allowed_paths, which nothing can change once the configuration is locked."""
    have = con.execute("SELECT current_setting('allowed_paths')").fetchall()[0][0] or []
    con.execute("SET allowed_paths = [" + ", ".join(quote_str(x) for x in [*have, path]) + "]")


def column_types(con, table: str) -> dict[str, str]:
    """Column name -> DuckDB type of `table`."""
    return {r[0]: r[1] for r in con.execute(f"DESCRIBE {quote_ident(table)}").fetchall()}


def check_headers(name: str, headers: list, known: Known, where: str = "") -> tuple[list[str], list[str]]:
    """Trim headers, name empty ones 列N, reject duplicates and non-patch tables.
    Returns (headers, the names given to empty headers)."""
    out, unnamed = [], []
    for i, h in enumerate(headers, 1):
        h = "" if h is None else str(h).strip(TRIM)
        if not h:
            h = f"列{i}"
            unnamed.append(h)
        out.append(h)
    if len(out) == 0:
        raise InputError(f"{name}{where}：没有表头")
    if len(out) > LIMITS.columns:
        raise InputError(f"{name}{where}：" + over("列数", f"{len(out):,}", f"{LIMITS.columns:,}", " 列")
                         + "；图斑表通常只有几十列，请确认文件内容")
    seen: set[str] = set()
    for h in out:
        if h in seen:
            raise InputError(f"{name}{where}：表头“{h}”重复出现")
        refuse_reserved(name, h, where)
        seen.add(h)
    if known.count(out) < MIN_KNOWN_HEADERS:
        raise InputError(
            f"{name}{where}：不是图斑数据表（表头中没有找到至少 {MIN_KNOWN_HEADERS} 个数据字典中的字段名或代码，"
            f"如 图斑编号/TBBH、行政区代码/XZQDM）。表头为：{'、'.join(out[:12])}"
        )
    return out, unnamed


def _reserved_name(header: str) -> str | None:
    """The engine's own column a header would stand for: `_source`, `_line` or `_geom_m2`, in any case.
    DuckDB names are case-insensitive, so `_LINE` or `_Source` would collide with (or forge) the engine's
    provenance columns in messages, or pass for the area of the polygon."""
    key = str(header).strip(TRIM).casefold()
    return key if key in ("_source", "_line", GEOM_AREA) else None


def refuse_reserved(name: str, header, where: str = "") -> None:
    own = _reserved_name(header)
    if own is not None:
        raise InputError(f"{name}{where}：表头“{header}”与引擎内部的列名 {own} 相同（不区分大小写），"
                         f"是保留名称，不能作为数据列；请在文件中改名后重试")


def sha256(p: Path) -> str:
    h = hashlib.sha256()
    with open(p, "rb") as fh:
        for chunk in iter(lambda: fh.read(CHUNK), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_of(files: list[Path]) -> str:
    return digest((f.name, sha256(f)) for f in files)


def digest(named) -> str:
    """One SHA-256 over several files: their (unique) names and SHA-256s, by name."""
    digest = hashlib.sha256()
    for name, sha in sorted(named):
        digest.update(f"{name}\t{sha}\n".encode())
    return digest.hexdigest()


def register_as_table(con, tab, name: str) -> None:
    """A pyarrow table as the temp table `name`."""
    view = f"__weipian_arrow_{name}"
    con.register(view, tab)
    try:
        con.execute(f"CREATE OR REPLACE TEMP TABLE {quote_ident(name)} AS SELECT * FROM {quote_ident(view)}")
    finally:
        con.unregister(view)


def short(e: Exception) -> str:
    text = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    return text[:200]


def duck_msg(e: Exception) -> str:
    return str(e).strip().splitlines()[0][:200]
