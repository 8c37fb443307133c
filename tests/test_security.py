"""Issue 11: a policy change cannot reach outside its folder; no input crashes the engine."""
from __future__ import annotations

import pytest

from engine.cli import main as cli_main
from conftest import help_output, run_cli

SAMPLE = "datasets/sample_2023.csv"


# --- a crash is not a result --------------------------------------------------------------------------------

@pytest.mark.parametrize("exc", [RuntimeError("boom /etc/passwd"), RecursionError(), MemoryError()])
def test_unexpected_exception_exits_3_without_traceback(capsys, monkeypatch, exc):
    import engine.run.runner as runner  # the check command imports the runner's check when it runs

    def crash(*a, **k):
        raise exc

    monkeypatch.setattr(runner, "check", crash)
    code, out, err = run_cli(capsys, "check", SAMPLE, "--as-of", "2024-06-30")
    assert code == 3
    assert "内部错误" in err and "--debug" in err
    assert "Traceback" not in err + out and "/etc/passwd" not in err + out


def test_debug_shows_the_traceback(capsys, monkeypatch):
    import engine.run.runner as runner  # the check command imports the runner's check when it runs

    monkeypatch.setattr(runner, "check", lambda *a, **k: 1 / 0)
    code, out, err = run_cli(capsys, "check", SAMPLE, "--debug")
    assert code == 3
    assert "Traceback" in err and "ZeroDivisionError" in err and "内部错误" in err


def test_exit_codes_in_help(capsys):
    with pytest.raises(SystemExit):
        cli_main.main(["--help"])
    text = capsys.readouterr().out
    for word in ("0", "1", "2", "3", "内部错误"):
        assert word in text
    assert "3 内部错误" in help_output(capsys, "check")


# --- diff --base takes a revision, never an option ----------------------------------------------------------

def test_diff_base_is_never_an_option(tmp_path, capsys):
    import shutil
    import subprocess

    repo = tmp_path / "repo"
    shutil.copytree("policies", repo / "policies")
    run = lambda *a: subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *a],  # noqa: E731
                                    cwd=repo, check=True, capture_output=True)
    run("init", "-q")
    run("add", ".")
    run("commit", "-q", "-m", "base")
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me", encoding="utf-8")
    for base in (f"--output={victim}", "--remote=/nonexistent", "-o"):
        code, out, err = run_cli(capsys, "diff", f"--base={base}", repo / "policies" / "2023")
        assert code == 2, err
        assert "只接受 git 版本" in err
    assert victim.read_text(encoding="utf-8") == "keep me"
    code, out, err = run_cli(capsys, "diff", "--base", "HEAD", repo / "policies" / "2023")
    assert code == 0, err


# --- DuckDB is locked before any policy SQL runs -------------------------------------------------------------

def _prepared(threshold_policies):
    from engine.run.runner import prepare

    return prepare(SAMPLE, threshold_policies)


@pytest.mark.parametrize("sql", [
    "SELECT * FROM read_csv('{inside}')",
    "SELECT * FROM read_text('/etc/hostname')",
    "COPY (SELECT 1) TO '{out}'",
    "ATTACH '{db}' AS other",
    "INSTALL httpfs",
    "LOAD httpfs",
    "SET enable_external_access = true",
    "SET lock_configuration = false",
    "SET memory_limit = '100GB'",
])
def test_sql_cannot_touch_files_after_the_lock(threshold_policies, tmp_path, sql):
    import duckdb

    con = _prepared(threshold_policies).con
    assert con.execute("SELECT count(*) FROM patches").fetchone()[0] == 300  # the input itself is there
    stmt = sql.format(inside=SAMPLE, out=tmp_path / "leak.csv", db=tmp_path / "x.duckdb")
    with pytest.raises(duckdb.Error):
        con.execute(stmt)
    assert not (tmp_path / "leak.csv").exists() and not (tmp_path / "x.duckdb").exists()


def test_records_connection_is_locked_too(threshold_policies):
    import duckdb

    from engine.run.runner import prepare_records

    con = prepare_records([{"图斑编号": "A", "监测年度": "2021", "行政区代码": "610902", "耕地面积": "1"}], threshold_policies).con
    with pytest.raises(duckdb.Error):
        con.execute(f"SELECT * FROM read_csv('{SAMPLE}')")


def test_memory_limit_is_set_and_settable(threshold_policies, capsys, monkeypatch):
    con = _prepared(threshold_policies).con
    assert con.execute("SELECT current_setting('memory_limit')").fetchone()[0] == "488.2 MiB"  # 512MB
    code, out, err = run_cli(capsys, "check", SAMPLE, "--as-of", "2024-06-30", "--memory-limit", "lots")
    assert code == 2 and "内存上限「lots」" in err
    monkeypatch.setenv("WEIPIAN_MEMORY_LIMIT", "1GB")
    code, out, err = run_cli(capsys, "check", SAMPLE, "--as-of", "2024-06-30", "--memory-limit", "256MB", "--format", "json")
    assert code == 1


# --- the policy root is a boundary ---------------------------------------------------------------------------

SECRET = "TOP-SECRET-LINE-42"


@pytest.fixture
def outside(tmp_path):
    """A folder beside policies/ holding a policy-looking directory and a file with a secret line that is bad YAML."""
    out = tmp_path / "outside"
    (out / "2021").mkdir(parents=True)
    (out / "2021" / "policy.yaml").write_text(f"policy: 2021\ntitle: {SECRET}\n  bad: [{SECRET}\n", encoding="utf-8")
    (out / "secret.yaml").write_text(f"rules:\n  - {SECRET}: :\n", encoding="utf-8")
    return out


def _lint(capsys, root):
    code, out, err = run_cli(capsys, "lint", root)
    return code, out + err


@pytest.mark.parametrize("target", ["abs", "dotdot", "abs-missing", "dotdot-missing"])
def test_extends_cannot_leave_the_policy_root(capsys, policy_root, outside, target):
    from conftest import write_policy_dir

    ext = {"abs": str(outside / "2021"), "dotdot": "../../outside/2021",
           "abs-missing": str(outside / "nope"), "dotdot-missing": "../../outside/nope"}[target]
    write_policy_dir(policy_root, 2023, {}, header=f"extends: {ext}\n")
    code, text = _lint(capsys, policy_root)
    assert code != 0
    assert "E019" in text and "政策根目录之外" in text and f"extends 的目标「{ext}」" in text
    assert SECRET not in text
    assert "不存在" not in text  # no oracle on whether an outside directory exists
    code, out, err = run_cli(capsys, "check", SAMPLE, "--policies", policy_root)
    assert code == 2 and "E019" in err and SECRET not in out + err


def test_symlinked_policy_file_pointing_out_is_not_read(capsys, policy_root, outside):
    from conftest import write_policy_dir

    d = write_policy_dir(policy_root, 2023, {})
    (d / "rules.yaml").symlink_to(outside / "secret.yaml")
    code, text = _lint(capsys, policy_root)
    assert code != 0 and "E019" in text and "政策文件 rules.yaml" in text
    assert SECRET not in text


def test_symlinked_year_directory_pointing_out_is_not_read(capsys, policy_root, outside):
    (policy_root / "2021").symlink_to(outside / "2021", target_is_directory=True)
    code, text = _lint(capsys, policy_root)
    assert code != 0 and "E019" in text
    assert SECRET not in text


def test_links_and_extends_inside_the_root_still_work(capsys, policy_root):
    from conftest import THRESHOLD_RULES, write_policy_dir

    write_policy_dir(policy_root, 2021, {"rules.yaml": THRESHOLD_RULES})
    d = write_policy_dir(policy_root, 2023, {}, header="extends: ../2021\n")
    (d / "more.yaml").symlink_to(policy_root / "2021" / "rules.yaml")  # inside the root: allowed
    from engine import load_policies

    # the linked file repeats 2021's rule ids in 2023, so the loader reports them as duplicates — i.e. it read it
    with pytest.raises(Exception) as exc:
        load_policies(policy_root)
    assert "E016" in str(exc.value) and "E019" not in str(exc.value)


def test_messages_never_quote_files_the_loader_did_not_read(tmp_path):
    from engine.errors import Diagnostic, Loc

    f = tmp_path / "other.txt"
    f.write_text(f"{SECRET}\n", encoding="utf-8")
    assert SECRET not in Diagnostic("E999", "x", Loc(str(f), 1, 1)).render()


def test_symlinked_test_file_pointing_out_is_not_read(capsys, policy_root, outside):
    from conftest import THRESHOLD_RULES, write_policy_dir

    d = write_policy_dir(policy_root, 2021, {"rules.yaml": THRESHOLD_RULES})
    (d / "tests").mkdir()
    (outside / "2021" / "tests").mkdir()
    (outside / "2021" / "tests" / "x.yaml").write_text(f"cases: [{SECRET}\n", encoding="utf-8")
    (d / "tests" / "x.yaml").symlink_to(outside / "2021" / "tests" / "x.yaml")
    code, out, err = run_cli(capsys, "test", policy_root)
    assert code != 0 and "E019" in out + err
    assert SECRET not in out + err


# --- limits ---------------------------------------------------------------------------------------------------

def _bomb(levels: int, width: int) -> str:
    lines = ["policy: 2021", "title: t", "x-a0: &a0 [lol, lol]"]
    for i in range(1, levels + 1):
        lines.append(f"x-a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * width) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels,width", [(9, 9), (25, 2)])  # too many aliases; few aliases, exponential expansion
def test_yaml_alias_bomb_is_refused_before_expansion(tmp_path, capsys, levels, width):
    import resource

    d = tmp_path / "policies" / "2021"
    d.mkdir(parents=True)
    text = _bomb(levels, width)
    assert len(text.encode()) < 700
    (d / "policy.yaml").write_text(text, encoding="utf-8")
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    code, out, err = run_cli(capsys, "check", SAMPLE, "--policies", tmp_path / "policies")
    assert code == 2
    assert "E080" in err and "别名" in err and "policy.yaml:" in err and "超出上限" in err
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 200_000  # KiB: no blow-up


def test_recursive_alias_is_refused(tmp_path):
    from engine.policy.marks import YamlProblem, load_yaml

    f = tmp_path / "x.yaml"
    f.write_text("a: &a [1, *a]\n", encoding="utf-8")
    with pytest.raises(YamlProblem) as exc:
        load_yaml(str(f))
    assert exc.value.diagnostic.code == "E080"


def test_a_few_aliases_are_fine(tmp_path):
    from engine.policy.marks import load_yaml

    f = tmp_path / "x.yaml"
    f.write_text("a: &a {value: 1, cite: x}\nb: *a\nc: *a\n", encoding="utf-8")
    assert load_yaml(str(f))["c"] == {"value": 1, "cite": "x"}


def test_policy_file_size_limit(tmp_path, capsys, monkeypatch):
    from conftest import THRESHOLD_RULES, write_policy_dir

    from engine.limits import LIMITS

    root = tmp_path / "policies"
    write_policy_dir(root, 2021, {"rules.yaml": THRESHOLD_RULES + "#" + "x" * 2000 + "\n"})
    monkeypatch.setattr(LIMITS, "policy_file_bytes", 1000)
    code, out, err = run_cli(capsys, "check", SAMPLE, "--policies", root)
    assert code == 2 and "E081" in err and "rules.yaml" in err and "文件大小超出上限" in err


def test_message_template_limit(tmp_path, capsys):
    from conftest import write_policy_dir

    rules = ("rules:\n  - id: T-R-long\n    title: t\n    cite: c\n    severity: error\n    when: 耕地面积 > 1亩\n"
             '    message: "' + "{耕地面积}" * 20000 + '"\n')
    root = tmp_path / "policies"
    write_policy_dir(root, 2021, {"rules.yaml": rules})
    code, out, err = run_cli(capsys, "check", SAMPLE, "--policies", root)
    assert code == 2 and "E082" in err and "T-R-long" in err and "rules.yaml:7:" in err


# --- safe outputs ---------------------------------------------------------------------------------------------

EVIL_ID = '=HYPERLINK("http://evil.example","x")'
ESC_ID = "[/x]\x1b]8;;http://evil.example\x1b\\click\x1b]8;;\x1b\\\x07:x:"


def _evil_data(tmp_path, name="data.csv"):
    from conftest import write_csv

    header = ["图斑编号", "监测年度", "行政区代码", "耕地面积", "判定结果"]
    rows = [[f'"{EVIL_ID.replace(chr(34), chr(34) * 2)}"', 2021, "610902", "150", "违法用地"],
            ["+1-2", 2021, "610902", "150", "合法用地"],
            [ESC_ID, 2021, "610902", "150", "合法用地"]]
    return write_csv(tmp_path / name, header, rows)


def test_csv_output_neutralises_formulas_json_keeps_raw(tmp_path, capsys, threshold_policies, policy_root):
    import csv
    import json

    data = _evil_data(tmp_path)
    out_csv, out_json = tmp_path / "out.csv", tmp_path / "out.json"
    code, out, err = run_cli(capsys, "check", data, "--policies", policy_root, "--as-of", "2024-06-30",
                             "--output", out_csv, "--output", out_json, "--no-assess")
    assert code == 1, err
    with open(out_csv, encoding="utf-8-sig", newline="") as fh:
        cells = [c for row in csv.reader(fh) for c in row]
    risky = [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert risky == []
    assert "'" + EVIL_ID in cells and "'+1-2" in cells
    patches = {f["patch"] for f in json.loads(out_json.read_text(encoding="utf-8"))["findings"]}
    assert EVIL_ID in patches and "+1-2" in patches


def test_terminal_output_is_escaped_and_stripped(tmp_path, capsys, policy_root):
    from conftest import THRESHOLD_RULES, write_policy_dir

    write_policy_dir(policy_root, 2021, {"policy.yaml": "policy: 2021\ntitle: '[/bold] :x: 标题'\nsource: \"来源\\e[31m\"\n",
                                         "rules.yaml": THRESHOLD_RULES})
    data = _evil_data(tmp_path, "[red]数据.csv")
    code, out, err = run_cli(capsys, "check", data, "--policies", policy_root, "--as-of", "2024-06-30", "--no-assess")
    assert code == 1, err
    text = out + err
    assert "\x1b" not in text and "\x07" not in text
    assert "[red]数据.csv" in text and "[/bold] :x: 标题" in text and "[/x]" in text
    assert "❌" not in text


def test_output_refuses_to_overwrite_the_input(tmp_path, capsys, policy_root, threshold_policies):
    data = _evil_data(tmp_path)
    before = data.read_bytes()
    code, out, err = run_cli(capsys, "check", data, "--policies", policy_root, "--output", data)
    assert code == 2 and "覆盖输入数据" in err
    code, out, err = run_cli(capsys, "check", tmp_path, "--policies", policy_root, "--output", tmp_path / "x.json")
    assert code == 2 and "覆盖输入数据" in err
    assert data.read_bytes() == before
    link = tmp_path / "p.json"
    link.symlink_to(policy_root / "2021" / "rules.yaml")
    code, out, err = run_cli(capsys, "check", SAMPLE, "--policies", policy_root, "--output", link)
    assert code == 2 and "覆盖政策文件" in err


def test_control_character_in_policy_is_a_located_error(tmp_path, capsys):
    d = tmp_path / "policies" / "2021"
    d.mkdir(parents=True)
    (d / "policy.yaml").write_text("policy: 2021\ntitle: \"a\x7fb\"\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "lint", tmp_path / "policies")
    assert code != 3 and "E004" in err + out and "policy.yaml:2:" in err + out and "U+007F" in err + out


def test_deeply_nested_yaml_is_a_located_error(tmp_path, capsys):
    d = tmp_path / "policies" / "2021"
    d.mkdir(parents=True)
    (d / "policy.yaml").write_text("policy: 2021\nx: " + "[" * 50000 + "]" * 50000 + "\n", encoding="utf-8")
    code, out, err = run_cli(capsys, "check", SAMPLE, "--policies", tmp_path / "policies")
    assert code == 2 and "E080" in err and "嵌套层数" in err and "policy.yaml:2:" in err


def test_a_duckdb_error_on_data_values_is_located_at_the_rule(tmp_path, capsys):
    """A value from the data can make DuckDB stop where lint cannot see it: with_day(下发日期, day(填报日期)) on a
    February date with a 31st asks for 2023-02-31. The run stops with exit 2 at the rule's condition, not exit 3."""
    from conftest import write_csv, write_policy_dir

    d = write_policy_dir(tmp_path / "p", 2023, {"rules.yaml": """
        rules:
          - id: T-R-runtime
            title: 按填报日的日期
            cite: 一
            severity: error
            when: with_day(下发日期, day(填报日期)) > 下发日期
        """})
    data = write_csv(tmp_path / "d.csv", ["图斑编号", "监测年度", "行政区代码", "下发日期", "填报日期"],
                     [["A", 2023, "610902", "2023-03-10", "2023-03-31"], ["B", 2023, "610902", "2023-02-10", "2023-03-31"]])
    code, out, err = run_cli(capsys, "check", data, "--policies", d.parent, "--as-of", "2024-06-30")
    assert code == 2, err
    assert "错误[E075]" in err and "规则「T-R-runtime」（一）在数据上运行出错" in err and "2023-2-31" in err
    assert f"{d / 'rules.yaml'}:6:11" in err and "内部错误" not in err and "Traceback" not in err
