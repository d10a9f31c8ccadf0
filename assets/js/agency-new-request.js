// The new-request form: "Add another suspect" copies the last suspect row, empty, with the next
// row number in its names and ids (the server reads rows as suspect-N-FIELD). Without scripts
// the form already shows one empty row after those typed.
(function () {
  "use strict";

  function renumber(row, from, to) {
    var re = new RegExp("^suspect-" + from + "(?=-|$)");
    var next = "suspect-" + to;
    row.id = next;
    row.setAttribute("data-row", String(to));
    row.querySelectorAll("[id], [name], [for], [aria-describedby]").forEach(function (el) {
      ["id", "name", "for"].forEach(function (attr) {
        var v = el.getAttribute(attr);
        if (v) {
          el.setAttribute(attr, v.replace(re, next));
        }
      });
      el.removeAttribute("aria-describedby");
      el.removeAttribute("aria-invalid");
    });
    var legend = row.querySelector("legend");
    if (legend) {
      legend.textContent = "Suspect " + (to + 1);
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("add-suspect");
    var rows = document.querySelector(".suspect-rows");
    if (!button || !rows) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var all = rows.querySelectorAll("fieldset.suspect");
      var last = all[all.length - 1];
      if (!last) {
        return;
      }
      var from = parseInt(last.getAttribute("data-row"), 10);
      var copy = last.cloneNode(true);
      renumber(copy, from, from + 1);
      copy.querySelectorAll("input, textarea").forEach(function (el) {
        el.value = "";
      });
      copy.querySelectorAll(".field-error").forEach(function (el) {
        el.remove();
      });
      rows.appendChild(copy);
      var first = copy.querySelector("input, textarea");
      if (first) {
        first.focus();
      }
    });
  });
})();
