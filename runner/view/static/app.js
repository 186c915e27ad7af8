// rubric view: the little the pages do in the browser. Everything works
// without it; it only submits a filter form when one of its lists changes.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("form.filters select.auto").forEach(function (sel) {
    sel.addEventListener("change", function () { sel.form.requestSubmit(); });
  });
});
document.addEventListener("submit", function (ev) {
  // A GET filter leaves its empty fields out of the URL.
  var form = ev.target;
  if (!form.classList.contains("filters") || form.method.toLowerCase() !== "get") return;
  form.querySelectorAll("select, input[type=search], input[type=number]").forEach(function (el) {
    if (el.value === "") el.disabled = true;
  });
  setTimeout(function () {
    form.querySelectorAll(":disabled").forEach(function (el) { el.disabled = false; });
  }, 0);
});
