"""The HTML report in headless Chromium: tables and SVG charts render, sorting and filtering work,
no JavaScript error, no network request. CI needs the Debian package `chromium`."""
from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from engine.report.html import write_html

# the sample run of test_reports.py, loaded by path so this works under any pytest import mode
_spec = importlib.util.spec_from_file_location("_weipian_report_samples", Path(__file__).with_name("test_reports.py"))
_samples = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_samples)
CATALOG, DICTIONARY, make_doc = _samples.CATALOG, _samples.DICTIONARY, _samples.make_doc

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="需要 headless Chromium（CI: apt-get install -y chromium）")

PROBE_HEAD = """<script>window.__errors=[];
window.addEventListener("error",function(e){window.__errors.push(String(e.message||e));});</script>"""

PROBE_BODY = r"""<script>
window.addEventListener("load", function(){
  var out = {errors: window.__errors};
  try {
    function rows(id){ return document.querySelectorAll("#" + id + " tbody tr"); }
    function firstCell(id, col){ var r = rows(id)[0]; return r ? r.children[col || 0].textContent : null; }
    out.sections = Array.prototype.map.call(document.querySelectorAll("main > section"), function(s){ return s.id; });
    out.accBars = Array.prototype.map.call(
      document.querySelectorAll('figure[data-rule="T-A-accountability"] .cond g.bar'), function(g){
        return {label: g.querySelector("text").textContent, fill: g.querySelector("rect").getAttribute("fill"),
                flagged: g.classList.contains("flagged"),
                cond: g.closest(".cond").getAttribute("data-value")};
      });
    out.summary = document.querySelector("#summary").textContent;
    // a real CJK glyph: with no Chinese font every character is the same box, so two characters drawn in the
    // page's own font differ only when a font has them
    function glyph(ch){
      var c = document.createElement("canvas"); c.width = 40; c.height = 40;
      var ctx = c.getContext("2d"); ctx.font = "28px " + getComputedStyle(document.body).fontFamily;
      ctx.fillStyle = "#000"; ctx.fillText(ch, 4, 32);
      var d = ctx.getImageData(0, 0, 40, 40).data, ink = 0, sig = [];
      for (var i = 3; i < d.length; i += 4) { if (d[i] > 0) ink++; sig.push(d[i] > 127 ? 1 : 0); }
      return {ink: ink, sig: sig.join("")};
    }
    var g1 = glyph("汉"), g2 = glyph("滨"), g3 = glyph("\uE000");
    out.cjk = {ink: g1.ink, differ: g1.sig !== g2.sig, notBox: g1.sig !== g3.sig,
               fontFamily: getComputedStyle(document.body).fontFamily};
    out.tables = document.querySelectorAll("table").length;
    out.flaggedTable = document.querySelectorAll("#flagged tbody tr").length;
    out.rows = {findings: rows("findings").length, tasks: rows("tasks").length,
                assessments: rows("assessments").length, catalog: rows("catalog").length};
    out.headers = Array.prototype.map.call(document.querySelectorAll("#findings th"), function(t){ return t.textContent; });
    out.taskHeaders = Array.prototype.map.call(document.querySelectorAll("#tasks th"), function(t){ return t.textContent; });
    out.svgs = document.querySelectorAll("svg").length;
    out.bars = document.querySelectorAll("svg rect").length;
    out.thresholds = document.querySelectorAll("svg .threshold").length;
    out.errorRows = document.querySelectorAll("#findings tr.sev-error").length;
    out.flaggedRows = document.querySelectorAll("#assessments tr.flagged").length;
    var th = document.querySelectorAll("#findings th")[2];
    th.click(); out.sortAsc = firstCell("findings", 2); out.ariaSort = th.getAttribute("aria-sort");
    th.click(); out.sortDesc = firstCell("findings", 2);
    var input = document.querySelector("#findings input");
    input.value = "P-003"; input.dispatchEvent(new Event("input"));
    out.filtered = rows("findings").length; out.filteredFirst = firstCell("findings", 2);
    input.value = "错误 P-00"; input.dispatchEvent(new Event("input"));
    out.filteredTwoTerms = rows("findings").length;
    input.value = "没有这个"; input.dispatchEvent(new Event("input"));
    out.filteredNone = rows("findings").length;
    out.count = document.querySelector("#findings .count").textContent;
    out.tasksFirst = firstCell("tasks");
    out.assessText = document.querySelector("#assessments tbody").textContent;
    input.value = ""; input.dispatchEvent(new Event("input"));
    out.messages = Array.prototype.map.call(rows("findings"), function(r){ return r.children[6].textContent; });
    out.resources = performance.getEntriesByType("resource").map(function(r){ return r.name; });
  } catch (e) { out.errors.push("probe: " + e); }
  var pre = document.createElement("pre"); pre.id = "__probe"; pre.textContent = JSON.stringify(out);
  document.body.appendChild(pre);
});
</script>"""


def run_chromium(html_path, tmp_path):
    profile = tmp_path / "profile"
    cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-dev-shm-usage", f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0",
           "--virtual-time-budget=5000", "--dump-dom", html_path.as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    m = re.search(r'<pre id="__probe">(.*?)</pre>', proc.stdout, re.S)
    assert m, f"probe result missing; rc={proc.returncode}\nstderr:\n{proc.stderr[-3000:]}"
    text = m.group(1).replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&amp;", "&")
    return json.loads(text), proc.stderr


def test_html_report_renders_in_chromium(tmp_path):
    page = tmp_path / "报告.html"
    write_html(make_doc(), CATALOG, page, DICTIONARY)
    html = page.read_text(encoding="utf-8")
    html = html.replace("</head>", PROBE_HEAD + "</head>", 1).replace("</body>", PROBE_BODY + "</body>", 1)
    probe_page = tmp_path / "probe.html"
    probe_page.write_text(html, encoding="utf-8")

    out, stderr = run_chromium(probe_page, tmp_path)

    assert out["errors"] == []
    assert not re.search(r"Uncaught|SyntaxError|TypeError|ReferenceError", stderr), stderr[-3000:]
    assert out["resources"] == []  # nothing fetched: no CDN, no font, no image
    assert out["tables"] == 5  # flagged regions + four data tables
    assert out["flaggedTable"] == 1
    assert out["rows"] == {"findings": 4, "tasks": 3, "assessments": 3, "catalog": len(CATALOG)}
    assert out["headers"][:6] == ["行政区代码", "行政区名称", "图斑编号", "规则编号", "规则名称", "严重程度"]
    assert out["taskHeaders"][:3] == ["核查级别", "行政区代码", "行政区名称"]
    assert out["svgs"] >= 4 and out["bars"] >= 3 + 2 * 2 + 1
    # 15% ratio and 100 area lines of the accountability entries, 10% of the error-rate entry
    assert out["thresholds"] == 3
    assert out["errorRows"] == 2 and out["flaggedRows"] == 1
    assert (out["sortAsc"], out["ariaSort"], out["sortDesc"]) == ("P-001", "ascending", "P-004")
    assert (out["filtered"], out["filteredFirst"]) == (1, "P-003")
    assert out["filteredTwoTerms"] == 2 and out["filteredNone"] == 0
    assert "共 4 条" in out["count"]
    assert out["tasksFirst"] == "省级"
    assert "20.00%" in out["assessText"] and "15.00%" in out["assessText"]  # ratio and its threshold as %
    assert "</script><script>alert(1)</script><!--" in out["messages"]  # shown as text, not run
    assert "P-002: <b>无照片</b> & \"引号\"" in out["messages"]


def test_html_report_reads_in_an_officials_order(tmp_path):
    page = tmp_path / "报告.html"
    write_html(make_doc(), CATALOG, page, DICTIONARY)
    html = page.read_text(encoding="utf-8").replace("</head>", PROBE_HEAD + "</head>", 1)
    page.write_text(html.replace("</body>", PROBE_BODY + "</body>", 1), encoding="utf-8")
    out, _ = run_chromium(page, tmp_path)
    assert out["errors"] == []
    # flagged regions and tasks first, findings next, the rule chart and provenance last
    assert out["sections"] == ["summary", "flagged", "assessment-charts", "tasks", "findings", "assessments",
                               "by-rule", "catalog", "provenance"]
    assert "县级" in out["summary"] and "问责评估列入 1 个：汉阴县（610921）" in out["summary"]
    # the 问责 chart has one panel per condition (ratio and area) and colours every bar by the flag itself:
    # 汉滨区 is above the 15% ratio line but under the 100 area line, so it is not flagged and not red
    bars = out["accBars"]
    assert sorted({b["cond"] for b in bars}) == ["numerator", "ratio"] and len(bars) == 4
    for b in bars:
        assert b["fill"] == ("#d64545" if b["flagged"] else "#4a7fb5"), b
        assert b["flagged"] == (b["label"] == "汉阴县"), b
    # Chinese text renders with real glyphs (CI installs fonts-noto-cjk), not one box for every character
    assert "Noto Sans CJK SC" in out["cjk"]["fontFamily"] and "Microsoft YaHei" in out["cjk"]["fontFamily"]
    assert out["cjk"]["ink"] > 20 and out["cjk"]["differ"] and out["cjk"]["notBox"], out["cjk"]


def test_html_report_paginates_large_tables(tmp_path):
    doc = make_doc()
    doc["findings"] = [{"patch": f"P-{i:05d}", "rule": "T-R-evidence", "severity": "error", "message": "m",
                        "cite": "三（二）"} for i in range(1234)]
    page = tmp_path / "big.html"
    write_html(doc, CATALOG, page, DICTIONARY)
    html = page.read_text(encoding="utf-8").replace("</head>", PROBE_HEAD + "</head>", 1)
    html = html.replace("</body>", PROBE_BODY + "</body>", 1)
    page.write_text(html, encoding="utf-8")
    out, _ = run_chromium(page, tmp_path)
    assert out["errors"] == []
    assert out["rows"]["findings"] == 500
    assert "共 1234 条" in out["count"] or "1234" in out["count"]
