"""`weipian serve` through Starlette's test client: the sample gives the same numbers as `weipian check`, a too
large, malformed or hostile upload gets a Chinese message (never a traceback), and nothing is kept on disk."""
from __future__ import annotations

import asyncio
import base64
import importlib.util
import io
import logging
import subprocess
import sys
import zipfile
from pathlib import Path

import openpyxl
import pytest

pytest.importorskip("starlette")
from starlette.testclient import TestClient  # noqa: E402

import engine.serve.upload as upload_mod  # noqa: E402
from engine import check, load_policies  # noqa: E402
from engine.limits import LIMITS  # noqa: E402
from engine.paths import datasets_dir  # noqa: E402
from engine.serve.app import create_app  # noqa: E402
from engine.serve.upload import UploadError, save_stream  # noqa: E402

SAMPLE = datasets_dir() / "sample_2023.csv"
AS_OF = "2024-06-30"
API = {"X-Weipian": "1"}

_spec = importlib.util.spec_from_file_location("_weipian_formats", Path(__file__).parents[1] / "data" / "test_formats_e2e.py")
_formats = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_formats)


@pytest.fixture(scope="module")
def policies():
    return load_policies()


@pytest.fixture(scope="module")
def expected(policies):
    """The CLI's numbers for the sample: the page must show the same run."""
    doc = check(SAMPLE, policies, as_of=AS_OF).to_json()
    return doc["summary"], doc["input"]


@pytest.fixture
def folders(monkeypatch, tmp_path):
    """Every request folder made, under a private temp dir (so the test sees everything the server wrote)."""
    made = []
    real = upload_mod.request_folder.__wrapped__

    def recording():
        gen = real()
        return _Recording(gen, made)

    temp = tmp_path / "tmp"
    temp.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(temp))
    monkeypatch.setattr("engine.serve.app.request_folder", recording)
    return made, temp


class _Recording:
    def __init__(self, gen, made):
        self.gen, self.made = gen, made

    def __enter__(self):
        folder = next(self.gen)
        self.made.append(folder)
        return folder

    def __exit__(self, *exc):
        try:
            self.gen.throw(*exc) if exc[0] else next(self.gen)
        except StopIteration:
            pass
        return False


@pytest.fixture
def client(policies):
    return TestClient(create_app(policies), base_url="http://127.0.0.1", raise_server_exceptions=False)


def post(client, kind, content, name, **params):
    return client.post(f"/api/{kind}", params={"name": name, **params}, content=content, headers=API)


def assert_clean(made, temp):
    assert made, "no request folder was made"
    for folder in made:
        assert folder.parent == temp and folder.name.startswith("weipian-serve-")
        assert not folder.exists(), f"{folder} left behind"
    assert not [p for p in temp.iterdir() if p.name.startswith("weipian-serve-")]


# --------------------------------------------------------------------------- the sample, end to end

def test_page_and_config(client, policies):
    page = client.get("/")
    assert page.status_code == 200 and "卫片执法数据检查" in page.text
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "connect-src 'self'" in csp  # the page loads nothing from elsewhere
    assert "http" not in page.text.replace("http-equiv", "")  # no external asset
    cfg = client.get("/api/config").json()
    assert [y["value"] for y in cfg["years"]] == [""] + [str(y) for y in sorted(policies, reverse=True)]
    assert "平方米" in cfg["area_units"] and cfg["max_upload"] == LIMITS.upload_bytes
    assert client.get("/page.js").headers["content-type"].startswith("text/javascript")


def test_sample_csv_preview_then_report_and_ledger(client, folders, expected):
    made, temp = folders
    summary, inp = expected
    data = SAMPLE.read_bytes()
    p = post(client, "preview", data, "sample_2023.csv", year="2023")
    assert p.status_code == 200, p.text
    pv = p.json()
    assert pv["input"] == "sample_2023.csv" and pv["rows_read"] == inp["rows_read"] and pv["missing"] == []
    assert pv["stop"] is None
    assert {c["header"]: c["field"] for c in pv["columns"]}["图斑编号"] == "图斑编号"

    r = post(client, "check", data, "sample_2023.csv", year="2023", as_of=AS_OF)
    assert r.status_code == 200, r.text
    out = r.json()
    sev, levels = summary["findings_by_severity"], summary["tasks_by_level"]
    assert out["summary"] == (f"读取 {inp['rows_read']} 行，检查 {inp['checked']} 行；问题：错误 {sev['error']} 条、"
                              f"警告 {sev['warning']} 条、提示 {sev['info']} 条；核查任务："
                              + "、".join(f"{k} {v} 项" for k, v in levels.items()))
    assert out["exit_code"] == 1 and out["as_of"] == AS_OF
    assert '<section id="tasks">' in out["report"] and "核查任务（按级别、县）" in out["report"]
    assert "sample_2023.csv" in out["report"] and str(temp) not in r.text  # the file's name, never the temp folder
    assert out["ledger_name"] == "sample_2023_台账.xlsx"
    wb = openpyxl.load_workbook(io.BytesIO(base64.b64decode(out["ledger"])), read_only=True)
    assert wb.sheetnames[:3] == ["汇总", "问题清单", "核查任务"]
    assert wb["问题清单"].max_row - 1 == sum(sev.values())
    assert_clean(made, temp)


def test_year_choice_and_mixed_years(client):
    mixed = (datasets_dir() / "sample_mixed.csv").read_bytes()
    ok = post(client, "check", mixed, "sample_mixed.csv", year="", as_of=AS_OF)
    assert ok.status_code == 200
    one = post(client, "check", mixed, "sample_mixed.csv", year="2023", as_of=AS_OF)
    assert one.status_code == 400 and "没有对应年度的政策" in one.json()["error"]
    bad = post(client, "check", mixed, "sample_mixed.csv", year="1999")
    assert bad.status_code == 400 and "没有 1999 年度的政策" in bad.json()["error"]
    unit = post(client, "preview", mixed, "sample_mixed.csv", area_unit="光年")
    assert unit.status_code == 400 and "面积单位「光年」" in unit.json()["error"]


# --------------------------------------------------------------------------- limits and hostile uploads

def test_oversize_upload_is_refused_with_413(client, folders, monkeypatch):
    made, temp = folders
    monkeypatch.setattr(LIMITS, "upload_bytes", 1000)
    r = post(client, "check", b"x" * 5000, "big.csv")
    assert r.status_code == 413
    assert "上传文件大小超出上限：5.0 KB，上限 1.0 KB" in r.json()["error"] and "--max-upload" in r.json()["error"]

    def chunks():  # no Content-Length: the body is counted while it streams
        for _ in range(10):
            yield b"y" * 600

    r = client.post("/api/check", params={"name": "big.csv"}, content=chunks(), headers=API)
    assert r.status_code == 413 and "上传文件大小超出上限 1.0 KB（已停止接收）" in r.json()["error"]
    assert_clean(made, temp)


def test_the_limit_stops_the_stream_not_after_it(tmp_path, monkeypatch):
    monkeypatch.setattr(LIMITS, "upload_bytes", 1000)
    pulled = []

    async def body():
        for i in range(100):
            pulled.append(i)
            yield b"z" * 400

    with pytest.raises(UploadError) as e:
        asyncio.run(save_stream(body(), tmp_path / "a.csv"))
    assert e.value.status == 413 and len(pulled) == 3  # 400 + 400 + 400 > 1000: the fourth chunk is never read
    assert (tmp_path / "a.csv").stat().st_size <= 1000
    with pytest.raises(UploadError):
        asyncio.run(save_stream(body(), tmp_path / "b.csv", declared=5000))
    assert len(pulled) == 3  # refused on the declared length alone


@pytest.mark.parametrize("name, content, words", [
    ("bad.xlsx", b"this is not a workbook", ["bad.xlsx", "损坏"]),
    ("empty.csv", b"", ["empty.csv", "文件为空"]),
    ("only_header.csv", "图斑编号,监测年度\n".encode(), ["only_header.csv", "没有数据行"]),
    ("virus.exe", b"MZ", ["virus.exe", "不支持的文件类型"]),
    ("bad.zip", b"PK\x03\x04broken", ["bad.zip", "压缩包已损坏"]),
])
def test_malformed_upload_gives_a_chinese_message(client, folders, name, content, words):
    made, temp = folders
    for kind in ("preview", "check"):
        r = post(client, kind, content, name)
        assert r.status_code == 400, r.text
        msg = r.json()["error"]
        assert all(w in msg for w in words), msg
        assert "Traceback" not in msg and str(temp) not in msg
    assert not [p for p in temp.iterdir() if p.name.startswith("weipian-serve-")]


def zip_of(members: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in members.items():
            z.writestr(name, data)
    return buf.getvalue()


def test_zip_with_parent_member_is_refused(client, folders, tmp_path):
    made, temp = folders
    for evil in ("../escaped.csv", "ok/../../escaped.csv", "/abs/escaped.csv", "..\\escaped.csv", "C:/escaped.csv"):
        r = post(client, "preview", zip_of({"a/sample.csv": SAMPLE.read_bytes(), evil: b"owned"}), "county.zip")
        assert r.status_code == 400 and "指向压缩包之外" in r.json()["error"], (evil, r.text)
    assert not list(tmp_path.rglob("escaped.csv"))
    assert_clean(made, temp)


def test_zip_symlink_encrypted_and_limits(client, folders, monkeypatch):
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        link = zipfile.ZipInfo("data.csv")
        link.external_attr = 0o120777 << 16
        z.writestr(link, "/etc/passwd")
    r = post(client, "preview", buf.getvalue(), "link.zip")
    assert r.status_code == 400 and "符号链接" in r.json()["error"]

    monkeypatch.setattr(LIMITS, "zip_members", 3)
    r = post(client, "preview", zip_of({f"{i}.csv": b"a" for i in range(4)}), "many.zip")
    assert r.status_code == 400 and "文件个数超出上限：4 个，上限 3 个" in r.json()["error"]

    monkeypatch.setattr(LIMITS, "zip_uncompressed_bytes", 10_000)
    r = post(client, "preview", zip_of({"big.csv": b"0" * 20_000}), "bomb.zip")
    assert r.status_code == 400 and "解压后大小超出上限：20.0 KB，上限 10.0 KB" in r.json()["error"]
    monkeypatch.setattr(LIMITS, "zip_uncompressed_bytes", 1_000_000)
    r = post(client, "preview", zip_of({"readme.md": b"hello"}), "nothing.zip")
    assert r.status_code == 400 and "没有可读取的图斑文件" in r.json()["error"]
    r = post(client, "preview", zip_of({"a/x.csv": SAMPLE.read_bytes(), "b/y.csv": SAMPLE.read_bytes()}), "two.zip")
    assert r.status_code == 400 and "分在几个文件夹" in r.json()["error"]


class _GbkName(zipfile.ZipInfo):
    """A member name as Windows' zip writes it: in the local code page (GBK), without the UTF-8 flag."""

    def _encodeFilenameFlags(self):
        return self.filename.encode("gbk"), self.flag_bits


def test_zipped_shapefile_with_chinese_names(client, folders, expected, tmp_path):
    """A county's Shapefile zipped by Windows (GBK member names, in a folder) gives the CSV's numbers."""
    made, temp = folders
    summary, _inp = expected
    shp = tmp_path / "shp" / "汉滨区图斑.shp"
    shp.parent.mkdir()
    _formats.write_shapefile(_formats.sample_rows.__wrapped__(), shp)
    contents = []
    for info_class in (zipfile.ZipInfo, _GbkName):
        buf = io.BytesIO()
        with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
            for f in sorted(shp.parent.iterdir()):
                z.writestr(info_class(f"汉滨区/{f.name}"), f.read_bytes())
        contents.append(buf.getvalue())
    for content in contents:
        r = post(client, "check", content, "汉滨区.zip", year="2023", as_of=AS_OF)
        assert r.status_code == 200, r.text
        sev = summary["findings_by_severity"]
        assert f"错误 {sev['error']} 条" in r.json()["summary"]
    assert_clean(made, temp)


# --------------------------------------------------------------------------- requests from elsewhere, bugs

def test_foreign_pages_and_hosts_are_refused(client):
    r = client.post("/api/check", params={"name": "a.csv"}, content=b"a")  # no X-Weipian: a form on another site
    assert r.status_code == 403 and "X-Weipian" in r.json()["error"]
    r = client.get("/", headers={"Host": "evil.example:8765"})  # DNS rebinding
    assert r.status_code == 400 and "主机名「evil.example」不是本服务器的地址" in r.text
    for local in ("127.0.0.1:8765", "localhost", "[::1]:8765"):
        assert client.get("/", headers={"Host": local}).status_code == 200, local
    r = client.get("/没有这个页面")
    assert r.status_code == 404 and "找不到这个页面" in r.text


def test_unexpected_error_gives_a_generic_page_and_logs_the_detail(client, folders, monkeypatch, caplog):
    made, temp = folders

    def boom(*a, **k):
        raise RuntimeError("secret detail")

    monkeypatch.setattr("engine.serve.app.run_check", boom)
    with caplog.at_level(logging.ERROR, logger="weipian.serve"):
        r = post(client, "check", SAMPLE.read_bytes(), "sample_2023.csv")
    assert r.status_code == 500
    assert "服务器内部错误" in r.json()["error"] and "secret" not in r.text
    assert "secret detail" in caplog.text and "Traceback" in caplog.text
    assert_clean(made, temp)


# --------------------------------------------------------------------------- the command

def test_serve_without_the_extra_says_how_to_install(capsys, monkeypatch):
    from conftest import run_cli

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "starlette" else real(name, *a))
    code, out, err = run_cli(capsys, "serve")
    assert code == 2 and "pip install 'weipian[serve]'" in err and "Traceback" not in err + out


def test_serve_refuses_a_remote_host_without_the_flag(capsys):
    from conftest import run_cli

    code, _out, err = run_cli(capsys, "serve", "--host", "0.0.0.0")
    assert code == 2 and "--allow-remote" in err
    code, _out, err = run_cli(capsys, "serve", "--max-upload", "很大")
    assert code == 2 and "--max-upload 的值「很大」" in err


def test_core_does_not_import_the_framework():
    code = ("import sys, engine, engine.cli.main; engine.cli.main.build_parser(); "
            "print(sorted(m for m in ('starlette', 'uvicorn', 'engine.serve.app') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_serve_says_when_the_port_is_taken(capsys):
    import socket

    from conftest import run_cli

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, _out, err = run_cli(capsys, "serve", "--port", port)
    assert code == 2 and f"无法监听 127.0.0.1:{port}" in err and "--port" in err and "Traceback" not in err
