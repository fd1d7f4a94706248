// Keyboard shortcuts of the inbox list, and its small helpers. No dependencies; loaded
// deferred. Everything here has a plain equivalent: rows have links and buttons, the help is
// also the "Shortcuts" button, the bulk bar is a form.
//
//   j / k   next / previous row          o, Enter   open the item
//   a       assign to me                 e          resolve
//   r       reply (item page, #reply)    x          select the row
//   /       focus the search             ?          this help (a <dialog>)
//
// Keys are ignored while typing in a field, with Ctrl/Alt/Meta held, and while a dialog is
// open. The current row keeps its place (by id) when htmx swaps the list or the row.
(function () {
  "use strict";

  var currentId = null;

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#inbox-items tbody tr.inbox-row"));
  }

  function currentRow() {
    return currentId ? document.getElementById(currentId) : null;
  }

  function setCurrent(row, focus) {
    rows().forEach(function (r) { r.classList.remove("is-current"); r.removeAttribute("aria-current"); });
    if (!row) { currentId = null; return; }
    currentId = row.id;
    row.classList.add("is-current");
    row.setAttribute("aria-current", "true");
    if (focus) {
      row.focus({ preventScroll: true });
      row.scrollIntoView({ block: "nearest" });
    }
  }

  function move(step) {
    var all = rows();
    if (!all.length) return;
    var index = all.indexOf(currentRow());
    var next = index < 0 ? (step > 0 ? 0 : all.length - 1) : Math.min(Math.max(index + step, 0), all.length - 1);
    setCurrent(all[next], true);
  }

  function notice(text) {
    var box = document.getElementById("inbox-notice");
    if (!box) return;
    box.textContent = text;
    box.hidden = !text;
  }

  function rowAction(name, missing) {
    var row = currentRow();
    if (!row) { notice("Choose an item first: j and k move through the list."); return; }
    var button = row.querySelector('[data-row-action="' + name + '"]');
    if (button) { notice(""); button.click(); } else { notice(missing); }
  }

  function typing(target) {
    if (!target || !target.closest) return false;
    return Boolean(target.isContentEditable || target.closest("input, textarea, select, [contenteditable]"));
  }

  function openHelp() {
    var help = document.getElementById("inbox-help");
    if (help && !help.open) help.showModal();
  }

  function onKey(event) {
    if (event.defaultPrevented || event.ctrlKey || event.altKey || event.metaKey) return;
    if (typing(event.target) || document.querySelector("dialog[open]")) return;
    var row = currentRow();
    switch (event.key) {
      case "j": move(1); break;
      case "k": move(-1); break;
      case "o":
        if (row) window.location.href = row.dataset.itemUrl;
        break;
      case "Enter":
        // Links and buttons answer Enter themselves; only a focused row opens here.
        if (!row || event.target !== row) return;
        window.location.href = row.dataset.itemUrl;
        break;
      case "a": rowAction("assign", "This item is already yours, or you may not change it."); break;
      case "e": rowAction("resolve", "This item is already resolved, or you may not change it."); break;
      case "r":
        if (row) window.location.href = row.dataset.itemUrl + "#reply";
        break;
      case "x":
        var box = row && row.querySelector('input[type="checkbox"][name="items"]');
        if (!box) return;
        box.checked = !box.checked;
        box.dispatchEvent(new Event("change", { bubbles: true }));
        break;
      case "/":
        var search = document.getElementById("inbox-search");
        if (!search) return;
        search.focus();
        search.select();
        break;
      case "?": openHelp(); break;
      default: return;
    }
    event.preventDefault();
  }

  function countSelected() {
    var count = document.querySelectorAll('input[name="items"][form="inbox-bulk"]:checked').length;
    document.querySelectorAll("[data-bulk-count]").forEach(function (label) {
      label.textContent = count ? "(" + count + " selected)" : "(select rows with the boxes or x)";
    });
    document.querySelectorAll(".inbox-bulk").forEach(function (bar) {
      bar.classList.toggle("is-idle", count === 0);
    });
  }

  // A refused or failed request says so where the list is, instead of nothing happening.
  function onResponseError(event) {
    var status = event.detail.xhr ? event.detail.xhr.status : 0;
    var text = status === 403 ? "You may not change this (403): only agents and above of this team can."
      : status === 404 ? "That item is gone or belongs to another team (404). Reload the list."
      : status >= 500 ? "The server failed (" + status + "); nothing may have changed. Reload the list."
      : "The request was refused (" + status + ").";
    notice(text);
  }

  // The filter form sends every field; the address (pushed into the history, shared, saved
  // as a view) keeps only the filters that filter: no blanks, no defaults.
  var DEFAULTS = { ordering: "priority", snoozed: "hide" };
  function dropBlankFilters(event) {
    var form = event.detail.elt && event.detail.elt.closest && event.detail.elt.closest("#inbox-filters");
    if (!form || event.detail.verb !== "get") return;
    var params = event.detail.parameters;
    Object.keys(params).forEach(function (name) {
      var value = params[name];
      if (value === "" || DEFAULTS[name] === value) delete params[name];
    });
  }

  // A bulk action's results come back at the top of the list, which on a phone is far above
  // the card selected and the bar at the bottom of the screen: bring them into view and focus
  // them (the screen reader already hears them through role="status"), once per answer.
  function showBulkResults() {
    var results = document.querySelector(".inbox-bulk-results:not([data-shown])");
    if (!results) return;
    results.setAttribute("data-shown", "");
    results.tabIndex = -1;
    results.focus({ preventScroll: true });
    results.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", onKey);
  document.addEventListener("htmx:configRequest", dropBlankFilters);
  document.addEventListener("change", function (event) {
    if (event.target.matches && event.target.matches('input[name="items"]')) countSelected();
  });
  document.addEventListener("click", function (event) {
    var row = event.target.closest && event.target.closest("#inbox-items tr.inbox-row");
    if (row) setCurrent(row, false);
    if (event.target.closest && event.target.closest("[data-inbox-help]")) openHelp();
  });
  document.addEventListener("htmx:afterSettle", function () {
    showBulkResults();
    var row = currentRow();
    if (row) setCurrent(row, document.activeElement === document.body);
    countSelected();
  });
  document.addEventListener("htmx:responseError", onResponseError);
  document.addEventListener("htmx:sendError", function () {
    notice("The portal could not be reached; check the connection and try again.");
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-inbox-help]").forEach(function (button) { button.hidden = false; });
    countSelected();
  });
})();
