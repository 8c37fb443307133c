"""A county CSV is checked, and `weipian --help` printed, without importing the modules other formats and outputs
need (pyarrow and numpy cost about half a second to import): each is imported where it is used."""
from __future__ import annotations

import json
import subprocess
import sys

from engine.paths import datasets_dir

HEAVY = ["pyarrow", "numpy", "pyogrio", "python_calamine", "xlsxwriter"]
PROBE = """
import contextlib, io, json, sys
from engine.cli.main import main
with contextlib.redirect_stdout(io.StringIO()):
    try:
        main(sys.argv[1:])
    except SystemExit:
        pass
print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in {heavy})))
"""


def imported(*argv: str, heavy: list[str]) -> list[str]:
    out = subprocess.run([sys.executable, "-c", PROBE.format(heavy=set(heavy)), *argv], capture_output=True,
                         text=True, check=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_a_csv_check_imports_no_reader_or_writer_of_other_formats():
    sample = str(datasets_dir() / "sample_2023.csv")
    assert imported("check", sample, "--as-of", "2024-06-30", heavy=HEAVY) == []


def test_help_imports_neither_the_engine_nor_duckdb():
    heavy = HEAVY + ["duckdb", "jsonschema", "lark"]
    assert imported("--help", heavy=heavy) == []
    assert imported("check", "--help", heavy=heavy) == []


def test_generate_imports_no_schema_validator(tmp_path):
    """jsonschema (~0.15 s) is imported only where a policy file is validated against the schema."""
    out = str(tmp_path / "g.csv")
    assert imported("generate", "--year", "2023", "--rows", "5", "--seed", "1", "-o", out, heavy=["jsonschema"]) == []


def test_a_ledger_and_a_page_import_neither_pyarrow_nor_numpy(tmp_path):
    """The ledger and the HTML page fetch findings and tasks from DuckDB as Python rows, batch by batch."""
    sample = str(datasets_dir() / "sample_2023.csv")
    assert imported("check", sample, "--as-of", "2024-06-30", "--output", str(tmp_path / "台账.xlsx"),
                    "--output", str(tmp_path / "报告.html"), heavy=["pyarrow", "numpy"]) == []


def test_a_check_with_kept_parse_trees_imports_no_lark(tmp_path, monkeypatch):
    """The first run parses (lark), validates (jsonschema) and keeps the trees and the passes; the next one builds
    its ASTs from them without lark and knows the files pass the schema without jsonschema."""
    monkeypatch.setenv("WEIPIAN_CACHE_DIR", str(tmp_path / "cache"))
    sample = str(datasets_dir() / "sample_2023.csv")
    assert {"jsonschema", "lark"} <= set(imported("check", sample, "--as-of", "2024-06-30", heavy=["lark", "jsonschema"]))
    assert imported("check", sample, "--as-of", "2024-06-30", heavy=["lark", "jsonschema"]) == []  # nor jsonschema
