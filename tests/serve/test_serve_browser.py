"""`weipian serve` end to end in headless Chromium: the server runs as a separate process on a free port, the
browser (driven through the DevTools protocol over a pipe, no extra package) uploads the bundled sample and a
malformed file through the page's file input and reads what a clerk sees. CI needs the Debian package `chromium`.

WEIPIAN_SCREENSHOTS=docs/images also saves the README's screenshots of the page."""
from __future__ import annotations

import base64
import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

pytest.importorskip("starlette")

from engine.paths import datasets_dir  # noqa: E402

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="需要 headless Chromium（CI: apt-get install -y chromium）")

SAMPLE = datasets_dir() / "sample_2023.csv"


class Browser:
    """Headless Chromium with --remote-debugging-pipe: DevTools messages are JSON texts ended by NUL on fds 3 (in)
    and 4 (out). One page target, attached in flat mode; `call` sends a command and waits for its answer."""

    def __init__(self, profile: Path):
        cmd_r, self._cmd_w = os.pipe()
        self._res_r, res_w = os.pipe()

        def fds():  # the child's fd 3 reads our commands, its fd 4 writes the answers
            a, b = fcntl.fcntl(cmd_r, fcntl.F_DUPFD, 10), fcntl.fcntl(res_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        self.proc = subprocess.Popen(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--remote-debugging-pipe",
             "--window-size=1280,900", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            preexec_fn=fds, pass_fds=(3, 4))
        os.close(cmd_r)
        os.close(res_w)
        self._id = 0
        self._answers: dict[int, dict] = {}
        self.events: list[dict] = []
        self._cv = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()
        targets = self.call("Target.getTargets")["targetInfos"]
        page = next(t for t in targets if t["type"] == "page")
        self.session = self.call("Target.attachToTarget", targetId=page["targetId"], flatten=True)["sessionId"]

    def _read(self):
        buf = b""
        while True:
            chunk = os.read(self._res_r, 1 << 16)
            if not chunk:
                return
            buf += chunk
            while b"\0" in buf:
                raw, buf = buf.split(b"\0", 1)
                msg = json.loads(raw)
                with self._cv:
                    if "id" in msg:
                        self._answers[msg["id"]] = msg
                    else:
                        self.events.append(msg)
                    self._cv.notify_all()

    def call(self, method: str, session: str | None = None, **params) -> dict:
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._cmd_w, json.dumps(msg).encode() + b"\0")
        with self._cv:
            assert self._cv.wait_for(lambda: self._id in self._answers, timeout=60), f"no answer to {method}"
            answer = self._answers.pop(self._id)
        assert "error" not in answer, answer
        return answer["result"]

    def page(self, method: str, **params) -> dict:
        return self.call(method, session=self.session, **params)

    def frame_session(self) -> str:
        """The session of the page's one iframe (the report): Chromium runs a sandboxed frame in its own process,
        a target of its own."""
        end = time.monotonic() + 60
        while True:  # the frame's process starts after the page sets its srcdoc
            frames = [t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "iframe"]
            if frames or time.monotonic() > end:
                break
            time.sleep(0.2)
        assert len(frames) == 1, frames
        return self.call("Target.attachToTarget", targetId=frames[0]["targetId"], flatten=True)["sessionId"]

    def js(self, expr: str, session: str | None = None):
        out = self.call("Runtime.evaluate", session=session or self.session, expression=expr, returnByValue=True,
                        awaitPromise=True)
        assert "exceptionDetails" not in out, out["exceptionDetails"]
        return out["result"].get("value")

    def wait(self, expr: str, timeout: float = 90, session: str | None = None):
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            value = self.js(expr, session)
            if value:
                return value
            time.sleep(0.2)
        raise AssertionError(f"timed out waiting for {expr}")

    def upload(self, selector: str, path: Path) -> None:
        root = self.page("DOM.getDocument")["root"]["nodeId"]
        node = self.page("DOM.querySelector", nodeId=root, selector=selector)["nodeId"]
        self.page("DOM.setFileInputFiles", files=[str(path)], nodeId=node)

    def screenshot(self, path: Path) -> None:
        png = self.page("Page.captureScreenshot", format="png", captureBeyondViewport=False)["data"]
        path.write_bytes(base64.b64decode(png))

    def close(self):
        try:
            self.call("Browser.close")
        except (AssertionError, OSError):
            pass
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._cmd_w)


@pytest.fixture
def server(tmp_path):
    """`weipian serve --port 0` in its own process, its temp folder private to the test; yields (url, temp)."""
    temp = tmp_path / "tmp"
    temp.mkdir()
    env = {**os.environ, "TMPDIR": str(temp), "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "engine.cli.main", "serve", "--port", "0"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        m = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert m, f"server did not start: {line!r} {proc.stderr.read() if proc.poll() is not None else ''}"
        yield m.group(0), temp
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        err = proc.stderr.read()
        assert "Traceback" not in err, err


@pytest.fixture
def browser(tmp_path):
    b = Browser(tmp_path / "profile")
    yield b
    b.close()


def visible(id_: str) -> str:
    return f"!document.getElementById('{id_}').hidden"


def test_clerk_uploads_the_sample_and_a_malformed_file(server, browser, tmp_path):
    url, temp = server
    shots = os.environ.get("WEIPIAN_SCREENSHOTS")
    b = browser
    b.page("Page.enable")
    b.page("Network.enable")
    b.page("Page.navigate", url=url)
    b.wait("document.body && document.body.dataset.ready === '1'")
    years = b.js("Array.from(document.querySelectorAll('#year option')).map(o => o.textContent)")
    assert years[0].startswith("全部年度") and any(y.startswith("2023年") for y in years) and any(y.startswith("2021年") for y in years)
    b.js("document.getElementById('year').value = '2023'; document.getElementById('as-of').value = '2024-06-30'")

    # the sample: column preview first
    b.upload("#file", SAMPLE)
    b.wait(visible("preview") + f" || {visible('message')}")
    assert b.js(visible("message")) is False, b.js("document.getElementById('message').textContent")
    preview = b.js("""({file: document.getElementById('preview-file').textContent,
        rows: document.getElementById('preview-rows').textContent,
        columns: Array.from(document.querySelectorAll('#preview-columns tr')).map(r => [r.children[0].textContent, r.children[1].textContent]),
        run: document.getElementById('run').disabled})""")
    assert preview["file"] == "sample_2023.csv" and preview["rows"].startswith("读取 300 行")
    assert ["图斑编号", "图斑编号"] in preview["columns"] and preview["run"] is False
    if shots:
        b.screenshot(Path(shots) / "serve-2-表头预览.png")

    # then the check: the report in the page, the ledger to download
    b.js("document.getElementById('run').click()")
    b.wait(visible("result") + f" || {visible('message')}", timeout=180)
    assert b.js(visible("message")) is False, b.js("document.getElementById('message').textContent")
    result = b.js("""(async () => {
        const a = document.getElementById('ledger');
        const bytes = new Uint8Array(await (await fetch(a.href)).arrayBuffer());
        return {summary: document.getElementById('summary').textContent, href: a.href, name: a.download,
                size: bytes.length, magic: String.fromCharCode(bytes[0], bytes[1]), text: a.textContent};
    })()""")
    assert result["summary"].startswith("读取 300 行，检查 300 行；问题：错误 ") and "评估日期 2024-06-30" in result["summary"]
    assert result["href"].startswith("blob:") and result["name"] == "sample_2023_台账.xlsx"
    assert result["text"] == "下载台账（xlsx）" and result["size"] > 5000 and result["magic"] == "PK"

    # the report renders inside its sandboxed frame: read its section headings there
    frame = b.frame_session()
    headings = b.wait("document.readyState === 'complete' && Array.from(document.querySelectorAll('main > section > h2'))"
                      ".map(h => h.firstChild.textContent.trim())", session=frame)
    assert headings[0].startswith("概况") and headings[-1].startswith("数据与政策来源"), headings
    order = [next(i for i, h in enumerate(headings) if h.startswith(word)) for word in ("核查任务", "问题清单", "数据与政策来源")]
    assert order == sorted(order), headings
    if shots:
        b.js("document.getElementById('result').scrollIntoView()")
        time.sleep(2)  # the frame paints after its content is ready
        b.screenshot(Path(shots) / "serve-3-检查结果.png")

    # a malformed file: a clear Chinese message, the previous result gone, no traceback
    bad = tmp_path / "坏文件.xlsx"
    bad.write_bytes(b"PK\x03\x04 this is not a workbook")
    b.upload("#file", bad)
    msg = b.wait(f"{visible('message')} && document.getElementById('message').textContent")
    assert "坏文件.xlsx" in msg and "损坏" in msg and "Traceback" not in msg and str(temp) not in msg, msg
    assert b.js(visible("preview")) is False and b.js(visible("result")) is False
    if shots:
        b.js("window.scrollTo(0, 0)")
        b.screenshot(Path(shots) / "serve-4-文件有误.png")

    # nothing fetched from elsewhere, nothing kept on the server
    urls = [e["params"]["request"]["url"] for e in b.events if e.get("method") == "Network.requestWillBeSent"]
    assert urls and all(u.startswith((url, "blob:", "data:", "about:")) for u in urls), urls
    assert not list(temp.glob("weipian-serve-*")), list(temp.iterdir())
