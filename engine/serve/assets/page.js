// The page of `weipian serve`: preview the dropped file's columns, then check it and show the report.
// The file is sent as the request body; every value from the server is put in the page as text, never as HTML.
(function () {
  "use strict";
  var $ = function (id) { return document.getElementById(id); };
  var state = {file: null, maxUpload: 0, urls: []};

  function show(id, on) { $(id).hidden = !on; }
  function message(text) { $("message").textContent = text || ""; show("message", !!text); }
  function cell(row, text) { var td = document.createElement("td"); td.textContent = text; row.appendChild(td); }
  function today() {
    var d = new Date(), p = function (n) { return (n < 10 ? "0" : "") + n; };
    return d.getFullYear() + "-" + p(d.getMonth() + 1) + "-" + p(d.getDate());
  }

  function send(kind) {
    var q = new URLSearchParams({name: state.file.name, year: $("year").value, as_of: $("as-of").value,
                                 area_unit: $("area-unit").value});
    return fetch("/api/" + kind + "?" + q.toString(), {method: "POST", body: state.file,
        headers: {"X-Weipian": "1", "Content-Type": "application/octet-stream"}})
      .then(function (res) {
        return res.json().catch(function () { return {error: "服务器返回了无法识别的内容（状态 " + res.status + "）"}; })
          .then(function (data) {
            if (!res.ok || data.error) { throw new Error(data.error || ("请求失败（状态 " + res.status + "）")); }
            return data;
          });
      }, function () { throw new Error("无法连接到 weipian serve：请确认启动它的终端窗口仍在运行"); });
  }

  function busy(on) {
    show("busy", on);
    $("run").disabled = on || $("run").dataset.blocked === "1";
    $("file").disabled = on;
  }

  function choose(file) {
    if (!file) { return; }
    state.file = file;
    message("");
    show("preview", false); show("result", false);
    if (state.maxUpload && file.size > state.maxUpload) {
      message(file.name + "：文件大小超出上限 " + $("limit").dataset.text + "，未上传；可用 weipian serve --max-upload 调高上限");
      return;
    }
    preview();
  }

  function preview() {
    busy(true);
    send("preview").then(function (p) { renderPreview(p); }, function (e) { message(e.message); })
      .then(function () { busy(false); });
  }

  function renderPreview(p) {
    $("preview-file").textContent = p.input;
    $("preview-rows").textContent = "读取 " + p.rows_read + " 行，其中跳过 " + p.skipped + " 行（非图斑行）";
    var body = $("preview-columns");
    body.textContent = "";
    p.columns.forEach(function (c) {
      var tr = document.createElement("tr");
      if (!c.field) { tr.className = "unknown"; }
      cell(tr, c.header); cell(tr, c.field || "（不使用）"); cell(tr, c.unit || "");
      cell(tr, c.how); cell(tr, (c.samples || []).join("、") || "（全空）");
      cell(tr, c.bad_cells ? c.bad_cells + " 个单元格" : "");
      body.appendChild(tr);
    });
    var notes = $("preview-notes");
    notes.textContent = "";
    function note(text, cls) { var li = document.createElement("li"); li.textContent = text; if (cls) { li.className = cls; } notes.appendChild(li); }
    (p.skipped_rows || []).forEach(function (s) { note("跳过：" + s.source + " 第 " + s.line + " 行（" + s.reason + "）" + s.text); });
    (p.warnings || []).forEach(function (w) { note("注意：" + w); });
    if (p.missing && p.missing.length) { note("政策需要但文件缺少的字段：" + p.missing.join("、") + "（请在表格中补上这些列后重新选择文件）", "stop"); }
    if (p.stop) { note("检查会停止：" + p.stop, "stop"); }
    var blocked = !!(p.stop || (p.missing && p.missing.length));
    $("run").dataset.blocked = blocked ? "1" : "0";
    $("run-note").textContent = blocked ? "请先处理上面标红的问题（如选择面积单位后重新选择文件）" : "";
    show("preview", true);
  }

  function download(link, name, blob) {
    var url = URL.createObjectURL(blob);
    state.urls.push(url);
    link.href = url; link.download = name;
  }

  function runCheck() {
    busy(true);
    message("");
    state.urls.forEach(function (u) { URL.revokeObjectURL(u); });
    state.urls = [];
    send("check").then(function (r) {
      $("summary").textContent = r.summary + "（评估日期 " + r.as_of + "）";
      var bytes = Uint8Array.from(atob(r.ledger), function (ch) { return ch.charCodeAt(0); });
      download($("ledger"), r.ledger_name,
               new Blob([bytes], {type: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}));
      download($("report-file"), r.report_name, new Blob([r.report], {type: "text/html"}));
      $("report").srcdoc = r.report;
      show("result", true);
    }, function (e) { message(e.message); }).then(function () { busy(false); });
  }

  function init(cfg) {
    cfg.years.forEach(function (y) {
      var o = document.createElement("option"); o.value = y.value; o.textContent = y.label; $("year").appendChild(o);
    });
    cfg.area_units.forEach(function (u) {
      var o = document.createElement("option"); o.value = u; o.textContent = u; $("area-unit").appendChild(o);
    });
    state.maxUpload = cfg.max_upload;
    $("limit").textContent = "；单个文件不超过 " + cfg.max_upload_text;
    $("limit").dataset.text = cfg.max_upload_text;
    document.body.dataset.ready = "1";
  }

  $("as-of").value = today();
  $("file").addEventListener("change", function () { choose($("file").files[0]); $("file").value = ""; });
  ["year", "area-unit"].forEach(function (id) { $(id).addEventListener("change", function () { if (state.file) { choose(state.file); } }); });
  $("run").addEventListener("click", runCheck);
  var drop = $("drop");
  drop.addEventListener("dragover", function (e) { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
  drop.addEventListener("drop", function (e) {
    e.preventDefault(); drop.classList.remove("over");
    if (e.dataTransfer.files.length > 1) { message("一次只能检查一个文件；Shapefile 请把 .shp .dbf .shx .prj .cpg 打包成一个 .zip"); return; }
    choose(e.dataTransfer.files[0]);
  });
  drop.addEventListener("keydown", function (e) { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); $("file").click(); } });
  fetch("/api/config").then(function (r) { return r.json(); }).then(init, function () { message("无法读取配置：请刷新页面"); });
})();
