// Berth console behaviour. No inline scripts anywhere: everything is wired from here,
// so a strict Content-Security-Policy holds.
(function () {
  "use strict";

  // Invalid forms come back as 422 with the re-rendered form; conflicts (409), stale
  // saves (412) and refusals (403) come back with a message fragment. Swap them like a 200.
  htmx.config.responseHandling = [
    { code: "204", swap: false },
    { code: "[23]..", swap: true },
    { code: "(403|409|412|422)", swap: true, error: false },
    { code: "[45]..", swap: false, error: true },
  ];
  // Keep the back button honest: history restores ask the server for the whole page.
  htmx.config.historyCacheSize = 0;
  htmx.config.refreshOnHistoryMiss = true;

  function showToast(message, level) {
    const region = document.getElementById("toasts");
    if (!region || !message) return;
    const item = document.createElement("div");
    item.className = "toast toast-" + (level || "success");
    item.setAttribute("role", "status");
    item.textContent = message;
    region.appendChild(item);
    setTimeout(function () { item.remove(); }, 5000);
  }

  document.body.addEventListener("toast", function (event) {
    showToast(event.detail.message, event.detail.level);
  });
  document.body.addEventListener("htmx:responseError", function (event) {
    showToast("Something went wrong (" + event.detail.xhr.status + "). Please try again.", "error");
  });

  // Dialogs: server-rendered <dialog> elements are opened when swapped in and closed by
  // any element with data-close-dialog.
  document.body.addEventListener("htmx:afterSwap", function () {
    document.querySelectorAll("dialog[data-open]:not([open])").forEach(function (d) {
      d.showModal();
    });
  });
  document.body.addEventListener("click", function (event) {
    const closer = event.target.closest("[data-close-dialog]");
    if (closer) {
      const dialog = closer.closest("dialog");
      if (dialog) { dialog.close(); dialog.remove(); }
    }
    const copier = event.target.closest("[data-copy-target]");
    if (copier) {
      const source = document.getElementById(copier.getAttribute("data-copy-target"));
      if (source && navigator.clipboard) {
        navigator.clipboard.writeText(source.textContent).then(function () {
          showToast("Copied to the clipboard.");
        });
      }
    }
  });

  // Messages set by full-page responses (after a redirect) arrive as data attributes.
  document.querySelectorAll("[data-toast]").forEach(function (el) {
    showToast(el.getAttribute("data-toast"), el.getAttribute("data-toast-level"));
  });
})();

// Suggestions (the sharing form's recipient search): a button with data-fill copies its
// data-fill-<name> attributes into the fields of that name in its form, then the list
// of suggestions empties.
(function () {
  "use strict";
  document.body.addEventListener("click", function (event) {
    const pick = event.target.closest("[data-fill]");
    if (!pick) return;
    const form = pick.closest("form");
    if (!form) return;
    let first = null;
    Array.prototype.forEach.call(pick.attributes, function (attribute) {
      if (!attribute.name.startsWith("data-fill-")) return;
      const field = form.elements.namedItem(attribute.name.slice("data-fill-".length));
      if (!field) return;
      field.value = attribute.value;
      first = first || field;
    });
    pick.parentElement.replaceChildren();
    if (first) first.focus();
  });
})();
