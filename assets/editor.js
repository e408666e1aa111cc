// A light code editor over a <textarea data-editor>: line numbers, Tab and
// Shift-Tab indentation, and Enter keeping the indentation. Without this
// file the textarea still works.
(function () {
  "use strict";
  function setup(ta) {
    if (ta.dataset.ready) return;
    ta.dataset.ready = "1";
    var wrap = ta.parentNode;
    var gutter = document.createElement("div");
    gutter.className = "gutter";
    gutter.setAttribute("aria-hidden", "true");
    wrap.insertBefore(gutter, ta);
    wrap.classList.add("with-gutter");
    function numbers() {
      var n = ta.value.split("\n").length, out = [];
      for (var i = 1; i <= n; i++) out.push(i);
      gutter.textContent = out.join("\n");
      gutter.scrollTop = ta.scrollTop;
    }
    function edit(text, start, end) {
      ta.setRangeText(text, start, end, "end");
      numbers();
    }
    ta.addEventListener("input", numbers);
    ta.addEventListener("scroll", function () { gutter.scrollTop = ta.scrollTop; });
    ta.addEventListener("keydown", function (e) {
      var s = ta.selectionStart, en = ta.selectionEnd, v = ta.value;
      if (e.key === "Tab" && !e.ctrlKey && !e.metaKey && !e.altKey) {
        e.preventDefault();
        var ls = v.lastIndexOf("\n", s - 1) + 1;
        if (s === en && !e.shiftKey) { edit("\t", s, en); return; }
        var block = v.slice(ls, en), lines = block.split("\n");
        lines = lines.map(function (l) { return e.shiftKey ? l.replace(/^\t/, "") : "\t" + l; });
        ta.setRangeText(lines.join("\n"), ls, en, "select");
        numbers();
      } else if (e.key === "Enter" && !e.shiftKey) {
        var start = v.lastIndexOf("\n", s - 1) + 1;
        var indent = v.slice(start, s).match(/^[\t ]*/)[0];
        if (v.charAt(s - 1) === "{") indent += "\t";
        e.preventDefault();
        edit("\n" + indent, s, en);
      }
    });
    numbers();
  }
  function all() { document.querySelectorAll("textarea[data-editor]").forEach(setup); }
  if (document.readyState !== "loading") all(); else document.addEventListener("DOMContentLoaded", all);
  document.addEventListener("htmx:afterSwap", all);
})();
