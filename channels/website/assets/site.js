/* govpub disclosure column: remembers the reading options and runs the static search.
   Everything but the search works without this script. Results are built with
   textContent only: index data never becomes markup. */
(function () {
  "use strict";
  var store = window.localStorage;

  function restoreOptions() {
    document.querySelectorAll("input[data-pref]").forEach(function (box) {
      var key = "govpub-" + box.getAttribute("data-pref");
      try { box.checked = store.getItem(key) === "1"; } catch (e) { /* storage blocked */ }
      box.addEventListener("change", function () {
        try { store.setItem(key, box.checked ? "1" : "0"); } catch (e) { /* storage blocked */ }
      });
    });
  }

  function loadIndex(list) {
    var indexUrl = list.getAttribute("data-index");
    var base = indexUrl.replace(/index\.json$/, "");
    return fetch(indexUrl).then(function (r) { return r.json(); }).then(function (manifest) {
      // a shard's links are relative to its column (the folder holding search/): the
      // portal's manifest names every column's shards, a column's only its own
      return Promise.all(manifest.shards.map(function (name) {
        var url = base + name;
        var root = url.replace(/search\/[^\/]*$/, "");
        return fetch(url).then(function (r) { return r.json(); }).then(function (rows) {
          rows.forEach(function (row) { row.r = root; });
          return rows;
        });
      }));
    }).then(function (shards) { return [].concat.apply([], shards); });
  }

  function matches(entry, terms) {
    var text = [entry.t, entry.n, entry.c, entry.s || "", entry.g || "", entry.d].join(" ").toLowerCase();
    return terms.every(function (term) { return text.indexOf(term) !== -1; });
  }

  function show(list, status, found, query) {
    var root = list.getAttribute("data-root");
    list.textContent = "";
    found.slice(0, 200).forEach(function (entry) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.href = (entry.r === undefined ? root : entry.r) + entry.u;
      a.textContent = entry.t;
      li.appendChild(a);
      li.appendChild(document.createTextNode("（" + entry.n + "，" + entry.d + "）"));
      list.appendChild(li);
    });
    status.textContent = "“" + query + "”共找到 " + found.length + " 条信息" +
      (found.length > 200 ? "，显示前 200 条。" : "。");
  }

  function startSearch() {
    var list = document.getElementById("search-results");
    if (!list) { return; }
    var status = document.getElementById("search-status");
    var input = document.getElementById("q");
    var entries = null;
    function run(query) {
      var terms = query.toLowerCase().split(/\s+/).filter(Boolean);
      if (!terms.length) { status.textContent = "请输入关键词。"; list.textContent = ""; return; }
      status.textContent = "正在检索……";
      var ready = entries ? Promise.resolve(entries) : loadIndex(list).then(function (all) { entries = all; return all; });
      ready.then(function (all) {
        show(list, status, all.filter(function (e) { return matches(e, terms); }), query);
      }).catch(function () { status.textContent = "检索索引加载失败，请稍后再试。"; });
    }
    input.form.addEventListener("submit", function (event) {
      event.preventDefault();
      history.replaceState(null, "", "?q=" + encodeURIComponent(input.value));
      run(input.value);
    });
    var initial = new URLSearchParams(window.location.search).get("q") || "";
    input.value = initial;
    if (initial) { run(initial); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    restoreOptions();
    startSearch();
  });
}());
