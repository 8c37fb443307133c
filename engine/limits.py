"""Every resource limit of the engine, in one place (documented, with the error codes, in docs/安全说明.md).

Policy files arrive in merge requests and data files from counties: a few hundred hostile bytes must not
exhaust memory or time. Each limit is checked where the input is read; going over it is a located error
(exit 2) naming what was too big and where. The values are engine safety margins, not thresholds of any law;
the bundled policies use a small fraction of each.

Expressions of the policy language (checked by engine.lang before the stage each protects; located diagnostics):

| limit                 | value      | code | why                                                                      |
|-----------------------|------------|------|--------------------------------------------------------------------------|
| expression_chars      | 10,000     | E071 | checked before lark runs: a huge text costs time before anything else    |
| expression_nodes      | 2,000      | E071 | nodes of one expression (counted on lark's tree, without recursion)      |
| expression_depth      | 100        | E071 | nesting (`not not …`, a chain of 300 `or`, parentheses): the AST walkers |
|                       |            |      | (transformer, checker, compiler) recurse once or more per level          |
| number_digits         | 18         | E072 | a number literal must fit DECIMAL(18, s): integer + fraction digits      |
| area: (as carried)    | DECIMAL(18, area_scale) | E072 | an area literal in the carried unit, after conversion     |
| constant + - *        | INTEGER / BIGINT | E072 | whole-number constants: DuckDB types them INTEGER (BIGINT when a literal  |
|                       |            |      | needs it) and fails on overflow (100000 * 100000)                        |
| definition_nodes      | 20,000     | E074 | size of an expression with its definitions expanded: the compiler       |
|                       |            |      | inlines each definition where it is used, so 30 definitions each using  |
|                       |            |      | the previous one twice would be 2^30 nodes of SQL                        |
| days                  | 3,650,000  | E073 | a constant day count (add_days, date ± n): about 10,000 years            |
| months                | 120,000    | E073 | a constant month count (add_months): 10,000 years                        |
| years (date(…))       | 1 – 9999   | E073 | a constant year of date(y, m, d)                                         |

Constant arguments of the date functions (literals, parameters, and + - * of them) are checked as well
(E073), since DuckDB would stop the whole run on the first row:
- `date(y, m, d)`: month 1–12, day 1–31, and when all three are constants, a day that exists (2023-02-30 does not);
- `with_day(日期, d)`: d a whole number 1–31. Days 29–31 are an **error** too unless the date is itself a
  constant whose month has that day: some months lack them (February has no 30), and make_date fails on such a
  row rather than yielding nothing. The last day of a month is written `month_end(日期)`.
- `add_days` / `add_months` / `日期 ± n`: whole numbers within `days` / `months` above.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from engine.errors import InputError


@dataclass
class Limits:
    # YAML aliases (*name) in one policy file. Policies have no need for them; a handful is allowed for
    # hand-written anchors, but an alias bomb (aliases of aliases, exponential expansion) is refused.
    yaml_aliases: int = 50
    # Nodes that aliases may add when expanded (an alias of a list of aliases … grows exponentially).
    yaml_alias_nodes: int = 10_000
    # Nesting of lists and mappings in one policy file (policies use fewer than 10 levels).
    yaml_depth: int = 100
    # Size of one policy file (policy.yaml, rules.yaml …) in bytes; the bundled ones are a few tens of KB.
    policy_file_bytes: int = 1_000_000
    # Characters in one message template (`message:` of a rule or trigger).
    message_chars: int = 2_000
    # `{field}` placeholders in one message template.
    message_fields: int = 100
    # DuckDB memory limit for one run (`--memory-limit`, or the WEIPIAN_MEMORY_LIMIT environment variable).
    memory_limit: str = "512MB"
    # Expressions (see the table above).
    expression_chars: int = 10_000
    expression_nodes: int = 2_000
    expression_depth: int = 100
    number_digits: int = 18
    definition_nodes: int = 20_000
    days: int = 3_650_000
    months: int = 120_000
    min_year: int = 1
    max_year: int = 9999

    # Rows of a waivers file (--waivers): a hand-kept list of explained findings, read whole into memory.
    waiver_rows: int = 100_000

    # --- input data files (engine/data/readers) ---
    # Size of one input data file in bytes (each file of a folder; for a Shapefile also its .dbf).
    # The WEIPIAN_MAX_INPUT_SIZE environment variable (e.g. 4GB) overrides it for provincial exports.
    input_file_bytes: int = 2_000_000_000
    # Data files in one input folder (a county's monthly folder has tens; each file becomes a table to union).
    folder_files: int = 1_000
    # .xlsx/.xlsm are zip archives: the sum of their parts' uncompressed sizes, read from the zip directory
    # before any cell is parsed (Excel files of a county are a few MB; 500 MB of XML is millions of cells).
    xlsx_uncompressed_bytes: int = 500_000_000
    # Compression ratio (uncompressed / compressed) of one part of an .xlsx bigger than 1 MiB: worksheet XML
    # compresses 5-20 times; a 257 KB file holding one 256 MiB shared string compresses 1,000 times.
    xlsx_ratio: int = 100
    # Cells of one worksheet as the reader lays it out: (last row) × (last column), counted in the XML before
    # calamine allocates the grid. A 6 KB file with one cell at row 1,000,001, column 901 would otherwise make
    # it allocate 900 million cells. 100,000 patches × 60 columns is 6 million.
    xlsx_cells: int = 20_000_000
    # Characters in one cell. Excel itself holds at most 32,767; a longer cell is refused with its file, row
    # and column (never cut silently, never kept to be cut later in the xlsx ledger).
    cell_chars: int = 32_767
    # Columns of one table (county tables have 40-80; Excel allows 16,384 but each column costs SQL).
    columns: int = 1_000

    # --- the user's cache (engine/cache.py) ---
    # One cache file in bytes (the parse trees of both bundled policy years take about 0.3 MB); a bigger file is
    # ignored when read and not written.
    cache_file_bytes: int = 8_000_000
    # Expressions kept in the parse tree cache; past it, only the ones of the latest load are kept.
    cache_trees: int = 5_000

    # --- `weipian serve` (engine/serve): uploads from the local web page ---
    # One upload in bytes, counted while it streams to disk (`weipian serve --max-upload 500MB`).
    upload_bytes: int = 200_000_000
    # Members of an uploaded .zip (a zipped Shapefile has 4-6; a county folder a few dozen).
    zip_members: int = 200
    # Bytes an uploaded .zip may unpack to, counted while extracting (a lying zip directory is no help).
    zip_uncompressed_bytes: int = 1_000_000_000


LIMITS = Limits()

_MEMORY = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(KB|MB|GB|KIB|MIB|GIB)\s*$", re.IGNORECASE)


def set_memory_limit(text: str | None) -> None:
    """Set the DuckDB memory limit from user text such as 512MB or 2GB; InputError if it is not a size."""
    if text is None or text == "":
        return
    m = _MEMORY.match(str(text))
    if not m:
        raise InputError(f"内存上限「{text}」写法不对，应写成 512MB、2GB 这样的大小")
    LIMITS.memory_limit = f"{m.group(1)}{m.group(2).upper().replace('I', 'i')}"


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(B|KB|MB|GB|TB|KIB|MIB|GIB|TIB)?\s*$", re.IGNORECASE)
_UNITS = {"": 1, "B": 1, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4,
          "KIB": 1024, "MIB": 1024**2, "GIB": 1024**3, "TIB": 1024**4}


def input_file_limit() -> int:
    """The input file size limit in bytes: WEIPIAN_MAX_INPUT_SIZE (e.g. 4GB) if set, else LIMITS.input_file_bytes."""
    import os

    text = os.environ.get("WEIPIAN_MAX_INPUT_SIZE", "").strip()
    if not text:
        return LIMITS.input_file_bytes
    return parse_size(text, "环境变量 WEIPIAN_MAX_INPUT_SIZE 的值")


def parse_size(text: str, what: str) -> int:
    """Bytes of a size people write (500MB, 4GB, 1.5GiB, 1000); InputError naming `what` otherwise."""
    m = _SIZE.match(str(text))
    if not m:
        raise InputError(f"{what}「{text}」写法不对，应写成 500MB、4GB 这样的大小")
    return int(float(m.group(1)) * _UNITS[(m.group(2) or "").upper()])


def memory_limit_bytes() -> int:
    """LIMITS.memory_limit in bytes."""
    return parse_size(LIMITS.memory_limit, "内存上限")


def human_bytes(n: int) -> str:
    """A byte count for people: 2,000,000,000 字节 → 2.0 GB (decimal units, as file managers show)."""
    for unit, size in (("GB", 1000**3), ("MB", 1000**2), ("KB", 1000)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} 字节"


def over(what: str, size, limit, unit: str = "") -> str:
    """The Chinese words of a limit exceeded: what, how big, and the limit."""
    return f"{what}超出上限：{size}{unit}，上限 {limit}{unit}"
