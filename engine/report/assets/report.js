(function(){
  "use strict";
  var PAGE = 500;
  function fmt(v, pct){
    if (typeof v === "number") {
      if (pct) return (v * 100).toFixed(2) + "%";
      return Number.isInteger(v) ? String(v) : String(Math.round(v * 10000) / 10000);
    }
    return v == null ? "" : String(v);
  }
  var collator = new Intl.Collator("zh-CN", {numeric: true, sensitivity: "base"});
  function cmp(a, b){
    if (typeof a === "number" && typeof b === "number") return a - b;
    if (a === "" && b !== "") return 1;
    if (b === "" && a !== "") return -1;
    return collator.compare(String(a), String(b));
  }
  function build(host){
    var data = JSON.parse(document.getElementById(host.getAttribute("data-source")).textContent);
    var pct = {}; (data.pct || []).forEach(function(i){ pct[i] = true; });
    var all = data.rows.map(function(r, i){
      return {cells: r, cls: (data.classes || [])[i] || "",
              text: r.map(function(v, j){ return fmt(v, pct[j]); }).join("\u0001").toLowerCase()};
    });
    var view = all.slice(), page = 0, sortCol = -1, sortDir = 1;
    var bar = document.createElement("div"); bar.className = "toolbar";
    var input = document.createElement("input"); input.type = "search"; input.placeholder = "筛选（空格分隔多个关键词）";
    input.setAttribute("aria-label", "筛选");
    var prev = document.createElement("button"); prev.type = "button"; prev.textContent = "上一页";
    var next = document.createElement("button"); next.type = "button"; next.textContent = "下一页";
    var count = document.createElement("span"); count.className = "count";
    bar.appendChild(input); bar.appendChild(prev); bar.appendChild(next); bar.appendChild(count);
    var scroll = document.createElement("div"); scroll.className = "scroll";
    var table = document.createElement("table"), thead = document.createElement("thead"), tbody = document.createElement("tbody");
    var hr = document.createElement("tr");
    data.columns.forEach(function(c, j){
      var th = document.createElement("th"); th.textContent = c; th.scope = "col"; th.title = "点击排序";
      th.addEventListener("click", function(){ sortBy(j); });
      hr.appendChild(th);
    });
    thead.appendChild(hr); table.appendChild(thead); table.appendChild(tbody); scroll.appendChild(table);
    host.appendChild(bar); host.appendChild(scroll);
    function render(){
      var pages = Math.max(1, Math.ceil(view.length / PAGE));
      if (page >= pages) page = pages - 1;
      var frag = document.createDocumentFragment();
      view.slice(page * PAGE, page * PAGE + PAGE).forEach(function(r){
        var tr = document.createElement("tr"); if (r.cls) tr.className = r.cls;
        r.cells.forEach(function(v, j){
          var td = document.createElement("td"); td.textContent = fmt(v, pct[j]);
          if (typeof v === "number") td.className = "num";
          tr.appendChild(td);
        });
        frag.appendChild(tr);
      });
      tbody.textContent = ""; tbody.appendChild(frag);
      count.textContent = (view.length === all.length ? "共 " + all.length + " 条" : "筛选出 " + view.length + " 条 / 共 " + all.length + " 条")
        + (pages > 1 ? "，第 " + (page + 1) + "/" + pages + " 页" : "");
      prev.disabled = page === 0; next.disabled = page >= pages - 1;
      prev.hidden = next.hidden = pages <= 1;
    }
    function sortBy(j){
      sortDir = (sortCol === j) ? -sortDir : 1; sortCol = j;
      Array.prototype.forEach.call(hr.children, function(th, k){
        if (k === j) th.setAttribute("aria-sort", sortDir > 0 ? "ascending" : "descending"); else th.removeAttribute("aria-sort");
      });
      view.sort(function(a, b){ return sortDir * cmp(a.cells[j], b.cells[j]); });
      page = 0; render();
    }
    function filter(){
      var terms = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      view = all.filter(function(r){ return terms.every(function(t){ return r.text.indexOf(t) >= 0; }); });
      if (sortCol >= 0) view.sort(function(a, b){ return sortDir * cmp(a.cells[sortCol], b.cells[sortCol]); });
      page = 0; render();
    }
    input.addEventListener("input", filter);
    prev.addEventListener("click", function(){ page--; render(); });
    next.addEventListener("click", function(){ page++; render(); });
    render();
  }
  function init(){ Array.prototype.forEach.call(document.querySelectorAll(".datatable"), build); }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init); else init();
})();
