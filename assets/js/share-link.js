// "Copy link": copies a request's public link (/r/{public_id}) from the read-only field the
// button names in data-share-link. Without the Clipboard API (or when the browser refuses it)
// the field stays as the fallback: its text is selected, and the status line says how to copy
// it by hand. The button stays hidden when this script does not run; the field is always there.
(function () {
  "use strict";

  function wire(button) {
    var input = document.getElementById(button.getAttribute("data-share-link"));
    if (!input) {
      return;
    }
    var status = document.getElementById("copy-status");
    function say(text) {
      if (status) {
        status.textContent = text;
      }
    }
    function byHand() {
      input.focus();
      input.select();
      say("Copying is not available here: the link is selected, copy it with Ctrl+C (⌘C on a Mac) or your menu.");
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      if (!navigator.clipboard || !navigator.clipboard.writeText) {
        byHand();
        return;
      }
      navigator.clipboard.writeText(input.value).then(function () {
        button.textContent = "Copied";
        say("Link copied. Paste it wherever you want to share it.");
      }, byHand);
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("button[data-share-link]").forEach(wire);
  });
})();
