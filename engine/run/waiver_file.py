"""A waivers file (`--waivers FILE`): one row per finding set aside with a stated reason — 图斑编号, 规则, 说明理由,
批准人, 有效期至 — as CSV or xlsx (read by engine.data.readers like a patch table) or YAML (a list of mappings with
the same keys, read by the policy files' safe YAML loader and its limits).

The rows are checked here, in SQL, before any is used: an empty required cell or an 有效期至 that is not a date
stops the run (exit 2) naming file, row, field and value. Whether a waiver applies (rule waivable, patch and rule
known, not expired, matching a finding) is decided later, against the run (engine.run.waivers)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa

from engine.data.dictionary import Dictionary, header_key
from engine.duck import connect
from engine.errors import InputError
from engine.lang.quoting import quote_ident

# header -> column of the waivers table, in the order the file lists them
FIELDS = {"图斑编号": "patch", "规则": "rule", "说明理由": "reason", "批准人": "approver", "有效期至": "until"}
YAML_SUFFIXES = (".yaml", ".yml")
SHOWN_ERRORS = 20  # bad rows listed in the message; the count names the rest
# 有效期至 as people write it: 2024-06-30, 2024/6/30, 2024.6.30, 2024年6月30日 (an xlsx date cell is read as 2024-06-30)
DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")


@dataclass
class WaiverFile:
    path: str
    sha256: str
    table: pa.Table  # source, line, patch, rule, reason, approver (VARCHAR), until (DATE)

    @property
    def rows(self) -> int:
        return self.table.num_rows

    def manifest(self) -> dict:
        return {"path": self.path, "sha256": self.sha256, "rows": self.rows}


def read_waivers(path, dictionary: Dictionary) -> WaiverFile:
    """Read and check a waivers file; InputError (file, row, field, value) when a row is unusable."""
    from engine.limits import LIMITS, over

    p = Path(path)
    if not p.is_file():
        raise InputError(f"找不到说明理由文件：{path}（--waivers 需要一个 CSV、xlsx 或 YAML 文件）")
    con = connect()
    try:
        if p.suffix.lower() in YAML_SUFFIXES:
            sha = _yaml_table(con, p)
        else:
            sha = _table_file(con, p, dictionary)
        n = con.execute("SELECT count(*) FROM waivers_text").fetchall()[0][0]
        if n > LIMITS.waiver_rows:
            raise InputError(f"{p.name}：" + over("说明理由文件的行数", n, LIMITS.waiver_rows, " 行"))
        _check_rows(con, p.name)
        table = con.sql(f"""
            SELECT source, line, patch, rule, reason, approver, {_date_sql('until')} AS until
            FROM waivers_text ORDER BY line""").to_arrow_table()
    finally:
        con.close()
    return WaiverFile(str(path), sha, table)


def _table_file(con, p: Path, dictionary: Dictionary) -> str:
    """CSV/xlsx through the patch readers: headers found like a patch table's, cells as trimmed text."""
    from engine.data.readers import read_input

    info = read_input(con, p, "waivers_raw", extra_headers=FIELDS, dictionary=dictionary)
    key_field = dictionary.key[0]
    found: dict[str, str] = {}
    for h in info.columns:
        for name in FIELDS:
            named = header_key(h) == header_key(name)
            if name == key_field and not named:  # the patch id under any of its dictionary names (JCBH …)
                f = dictionary.lookup_header(h)
                named = f is not None and f.name == key_field
            if named and name not in found:
                found[name] = h
    missing = [n for n in FIELDS if n not in found]
    if missing:
        raise InputError(f"{p.name}：说明理由文件缺少列「{'」「'.join(missing)}」（需要的列：{'、'.join(FIELDS)}；"
                         f"文件的列：{'、'.join(info.columns) or '无'}）")
    cols = ", ".join(f"{quote_ident(found[n])} AS {c}" for n, c in FIELDS.items())
    con.execute(f"CREATE TABLE waivers_text AS SELECT _source AS source, _line AS line, {cols} FROM waivers_raw")
    return info.sha256


def _yaml_table(con, p: Path) -> str:
    """A YAML list of mappings (or `waivers:` holding one), with the policy loader's size, depth and alias limits."""
    import hashlib

    from engine.policy.marks import YamlProblem, load_yaml

    try:
        doc = load_yaml(str(p))
    except YamlProblem as exc:
        d = exc.diagnostic
        where = f"第 {d.loc.line} 行" if d.loc.line else ""
        raise InputError(f"{p.name}{where}：{d.message}" + (f"（{d.help}）" if d.help else "")) from None
    if isinstance(doc, dict) and set(doc) == {"waivers"}:
        doc = doc["waivers"]
    if not isinstance(doc, list):
        raise InputError(f"{p.name}：说明理由文件应为列表，每项写 {'、'.join(FIELDS)}（如 - 图斑编号: …），"
                         "或写在 waivers: 下")
    columns: dict[str, list] = {"source": [], "line": [], **{c: [] for c in FIELDS.values()}}
    for i, entry in enumerate(doc, 1):  # a small hand-written list, bounded by the policy file size limit
        line = getattr(entry, "line", None) or i
        if not isinstance(entry, dict):
            raise InputError(f"{p.name} 第 {line} 行：每项应为「{'、'.join(FIELDS)}」的键值表，这里是「{entry}」")
        unknown = [str(k) for k in entry if k not in FIELDS]
        if unknown:
            raise InputError(f"{p.name} 第 {line} 行：不认识的键「{'、'.join(unknown)}」（可用的键：{'、'.join(FIELDS)}）")
        columns["source"].append(p.name)
        columns["line"].append(int(line))
        for name, c in FIELDS.items():
            v = entry.get(name)
            if isinstance(v, (dict, list)):
                raise InputError(f"{p.name} 第 {line} 行，字段「{name}」：应为一个值，这里是「{v}」")
            text = None if v is None else str(v).strip()
            columns[c].append(text or None)
    con.register("waivers_yaml", pa.table({k: pa.array(v, pa.int64() if k == "line" else pa.string())
                                          for k, v in columns.items()}))
    con.execute("CREATE TABLE waivers_text AS SELECT * FROM waivers_yaml")
    return hashlib.sha256(p.read_bytes()).hexdigest()


def _date_sql(col: str) -> str:
    tries = ", ".join(f"try_strptime({col}, '{f}')" for f in DATE_FORMATS)
    return f"CAST(coalesce({tries}) AS DATE)"


def _check_rows(con, name: str) -> None:
    """Every required cell filled and 有效期至 a date; else one InputError listing the bad cells."""
    checks = [f"SELECT source, line, '{n}' AS field, NULL AS value, 1 AS k FROM waivers_text WHERE {c} IS NULL"
              for n, c in FIELDS.items()]
    checks.append(f"SELECT source, line, '有效期至', until, 2 FROM waivers_text "
                  f"WHERE until IS NOT NULL AND {_date_sql('until')} IS NULL")
    union = " UNION ALL ".join(checks)
    total = con.execute(f"SELECT count(*) FROM ({union})").fetchall()[0][0]
    if not total:
        return
    bad = con.execute(f"SELECT source, line, field, value, k FROM ({union}) ORDER BY line, field LIMIT {SHOWN_ERRORS}").fetchall()
    lines = []
    for source, line, field, value, kind in bad:
        if kind == 1:
            lines.append(f"{source} 第 {line} 行，字段「{field}」：为空，必须填写")
        else:
            lines.append(f"{source} 第 {line} 行，字段「{field}」：「{value}」不是日期（应写成 2024-06-30）")
    more = f"\n…另有 {total - len(bad)} 处" if total > len(bad) else ""
    raise InputError(f"说明理由文件 {name} 有 {total} 处无法使用，未做检查：\n" + "\n".join(lines) + more)
