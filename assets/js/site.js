// Small enhancements shared by every page. The pages work without them.
(function () {
  "use strict";

  // Times in the reader's own time zone: the server writes UTC into each <time data-local>.
  function localizeTimes(root) {
    var fmt;
    try {
      fmt = new Intl.DateTimeFormat(undefined, {
        year: "numeric", month: "short", day: "numeric",
        hour: "numeric", minute: "2-digit", timeZoneName: "short"
      });
    } catch (e) {
      return;
    }
    root.querySelectorAll("time[data-local]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d.getTime())) {
        el.textContent = fmt.format(d);
        el.title = d.toISOString().replace(".000Z", "Z");
      }
    });
  }

  // "Copy link" buttons: data-copy names the input whose value is copied.
  function wireCopyButtons(root) {
    root.querySelectorAll("button[data-copy]").forEach(function (button) {
      var input = document.getElementById(button.getAttribute("data-copy"));
      if (!input || !navigator.clipboard) {
        return;
      }
      button.hidden = false;
      button.addEventListener("click", function () {
        navigator.clipboard.writeText(input.value).then(function () {
          button.textContent = "Copied";
        }, function () {
          input.select();
        });
      });
    });
  }

  function init(root) {
    localizeTimes(root);
    wireCopyButtons(root);
  }

  document.addEventListener("DOMContentLoaded", function () { init(document); });
  // Content swapped in by htmx gets the same treatment.
  document.addEventListener("htmx:afterSettle", function (e) { init(e.target); });
})();
