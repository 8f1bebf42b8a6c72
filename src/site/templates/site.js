/* mcp-catalogue site: sortable/filterable tables, copy buttons, tool search.
   No dependencies; works from file://. Text from servers is only ever put in
   the page with textContent, never as HTML. */
(function () {
  "use strict";
  var params = new URLSearchParams(window.location.search);
  var hashParams = new URLSearchParams(window.location.hash.replace(/^#/, ""));
  function param(name) { return params.get(name) || hashParams.get(name) || ""; }

  /* Sortable tables: click a header button; numeric columns sort by data-v. */
  function cellKey(row, i, numeric) {
    var c = row.cells[i];
    if (!c) return numeric ? 0 : "";
    var v = c.hasAttribute("data-v") ? c.getAttribute("data-v") : c.textContent;
    return numeric ? parseFloat(v) || 0 : v.toLowerCase();
  }
  function sortBy(table, th) {
    var ths = Array.prototype.slice.call(th.parentNode.children);
    var i = ths.indexOf(th);
    var numeric = th.getAttribute("data-sort") === "num";
    var asc = th.getAttribute("aria-sort") !== "ascending";
    ths.forEach(function (h) { h.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", asc ? "ascending" : "descending");
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = cellKey(a, i, numeric), y = cellKey(b, i, numeric);
      var r = x < y ? -1 : x > y ? 1 : 0;
      if (r === 0) { r = cellKey(a, 0, false) < cellKey(b, 0, false) ? -1 : 1; }
      return asc ? r : -r;
    });
    var frag = document.createDocumentFragment();
    rows.forEach(function (r) { frag.appendChild(r); });
    body.appendChild(frag);
  }
  /* ?sort=<column>&order=desc sorts on load, the same as clicking. */
  var sortParam = param("sort").toLowerCase(), descParam = param("order") === "desc";
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    Array.prototype.forEach.call(table.querySelectorAll("thead th[data-sort]"), function (th) {
      var b = th.querySelector("button") || th;
      b.addEventListener("click", function () { sortBy(table, th); });
      if (sortParam && th.textContent.trim().toLowerCase() === sortParam) {
        if (th.getAttribute("aria-sort") !== "ascending") sortBy(table, th);
        if (descParam) sortBy(table, th);
      }
    });
  });

  /* Filters above a table: rows carry data-risk / data-kind. */
  Array.prototype.forEach.call(document.querySelectorAll("form.filters"), function (form) {
    var table = document.getElementById(form.getAttribute("data-filter-for"));
    if (!table) return;
    var shown = form.querySelector(".shown");
    function apply() {
      var risk = form.elements.risk ? form.elements.risk.value : "";
      var kind = form.elements.kind ? form.elements.kind.value : "";
      var text = form.elements.text ? form.elements.text.value.toLowerCase().trim() : "";
      var n = 0, total = 0;
      Array.prototype.forEach.call(table.tBodies[0].rows, function (row) {
        total++;
        var ok = (!risk || row.getAttribute("data-risk") === risk) &&
          (!kind || row.getAttribute("data-kind") === kind) &&
          (!text || row.cells[0].textContent.toLowerCase().indexOf(text) >= 0);
        row.hidden = !ok;
        if (ok) n++;
      });
      if (shown) shown.textContent = n + " of " + total + " shown";
    }
    ["risk", "kind", "text"].forEach(function (k) {
      var el = form.elements[k];
      if (!el) return;
      var v = param(k);
      if (v) el.value = v;
      el.addEventListener(el.tagName === "SELECT" ? "change" : "input", apply);
    });
    apply();
  });

  /* Copy buttons on policy snippets. */
  Array.prototype.forEach.call(document.querySelectorAll(".snippet"), function (s) {
    var b = s.querySelector("button.copy"), code = s.querySelector("code");
    if (!b || !code) return;
    b.hidden = false;
    b.addEventListener("click", function () {
      var text = code.textContent;
      function selectIt() {
        var r = document.createRange(); r.selectNodeContents(code);
        var sel = window.getSelection(); sel.removeAllRanges(); sel.addRange(r);
      }
      if (navigator.clipboard && window.isSecureContext) {
        navigator.clipboard.writeText(text).then(function () { b.textContent = "Copied"; }, selectIt);
      } else { selectIt(); b.textContent = "Selected"; }
    });
  });

  /* Search over search-index.js (a global, since file:// cannot fetch). */
  var input = document.getElementById("q");
  if (!input) return;
  var results = document.getElementById("results");
  var status = document.getElementById("search-status");
  var index = null, loading = false, pending = null;
  var SAFE_URL = /^tools\/[a-z0-9._-]+\/[a-z0-9._-]+\.html$/;
  var MAX = 50;

  function prepare(list) {
    for (var i = 0; i < list.length; i++) {
      var e = list[i];
      e._n = String(e.n).toLowerCase();
      e._h = [e.n, e.s, e.p || "", e.c || "", e.d || ""].join("\n").toLowerCase();
    }
    return list;
  }
  function load(then) {
    if (index) { then(); return; }
    pending = then;
    if (loading) return;
    loading = true;
    status.textContent = "Loading the tool index…";
    var s = document.createElement("script");
    s.src = input.getAttribute("data-index") || "search-index.js";
    s.onload = function () {
      index = prepare(window.MCP_CATALOGUE_INDEX || []);
      status.textContent = "";
      if (pending) pending();
    };
    s.onerror = function () { status.textContent = "The search index could not be loaded."; };
    document.body.appendChild(s);
  }
  function el(tag, cls, text) {
    var e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text) e.textContent = text;
    return e;
  }
  function run() {
    var q = input.value.trim().toLowerCase();
    while (results.firstChild) results.removeChild(results.firstChild);
    if (!q) { status.textContent = ""; return; }
    var terms = q.split(/\s+/), hits = [];
    for (var i = 0; i < index.length; i++) {
      var e = index[i], ok = true;
      for (var t = 0; t < terms.length && ok; t++) ok = e._h.indexOf(terms[t]) >= 0;
      if (!ok) continue;
      var score = e._n === q ? 0 : e._n.indexOf(terms[0]) === 0 ? 1 : e._n.indexOf(terms[0]) >= 0 ? 2 : 3;
      hits.push([score, e]);
    }
    hits.sort(function (a, b) { return a[0] - b[0] || (a[1]._n < b[1]._n ? -1 : a[1]._n > b[1]._n ? 1 : 0); });
    status.textContent = hits.length === 0 ? "No tool matches." :
      hits.length + (hits.length === 1 ? " tool matches" : " tools match") + (hits.length > MAX ? " (showing the first " + MAX + ")" : "") + ".";
    hits.slice(0, MAX).forEach(function (h) {
      var e = h[1], li = el("li");
      var a = el("a", "hit", String(e.n));
      if (SAFE_URL.test(e.u)) a.setAttribute("href", e.u);
      li.appendChild(a);
      if (e.r) { li.appendChild(document.createTextNode(" ")); var r = String(e.r);
        li.appendChild(el("span", "badge risk-" + r.replace(/[^a-z]/g, ""), r.charAt(0).toUpperCase() + r.slice(1))); }
      li.appendChild(el("span", "where", e.s + (e.p ? " · " + e.p : "") + (e.k ? " · " + e.k : "")));
      if (e.d) li.appendChild(el("span", "snip", String(e.d)));
      results.appendChild(li);
    });
  }
  function update() {
    load(run);
    try {
      var u = new URL(window.location.href);
      if (input.value) u.searchParams.set("q", input.value); else u.searchParams.delete("q");
      window.history.replaceState(null, "", u.toString());
    } catch (err) { /* file:// may refuse; the search still works */ }
  }
  input.addEventListener("input", update);
  input.addEventListener("focus", function () { load(function () {}); }, { once: true });
  var q0 = param("q");
  if (q0) { input.value = q0; load(run); }
})();
