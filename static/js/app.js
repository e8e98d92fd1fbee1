/*
 * app.js - small progressive enhancements for cityos pages.  Every page works
 * without it; the CSP forbids inline handlers, so behaviour is attached here
 * from data- attributes:
 *
 *   data-confirm="text"   on a button, link or form: asks before going on
 *   data-autosubmit       on a select (or any field): submits its form on
 *                         change, for filters; keep a submit button too
 *   data-print            on a button (rendered hidden): shown when this
 *                         script runs, prints the page (the pull list)
 *
 * It also sends the page's CSRF token with htmx requests that change state,
 * moves focus to a form's error summary so screen readers hear it first,
 * and closes the small-screen menu with Escape.
 */
(function () {
  "use strict";

  function csrfToken() {
    var input = document.querySelector('input[name="csrf"]');
    return input ? input.value : "";
  }

  function showPrintButtons() {
    var buttons = document.querySelectorAll("[data-print]");
    for (var i = 0; i < buttons.length; i++) {
      buttons[i].hidden = false;
    }
  }

  function onClick(event) {
    if (event.target.closest("[data-print]")) {
      window.print();
      return;
    }
    var el = event.target.closest("[data-confirm]");
    if (!el || el.tagName === "FORM") {
      return;
    }
    if (!window.confirm(el.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }

  function onSubmit(event) {
    var form = event.target;
    if (form.hasAttribute("data-confirm") &&
        !window.confirm(form.getAttribute("data-confirm"))) {
      event.preventDefault();
      event.stopImmediatePropagation();
    }
  }

  function onChange(event) {
    var el = event.target;
    if (!el.hasAttribute || !el.hasAttribute("data-autosubmit") || !el.form) {
      return;
    }
    if (typeof el.form.requestSubmit === "function") {
      el.form.requestSubmit();
    } else {
      el.form.submit();
    }
  }

  function onKeydown(event) {
    if (event.key !== "Escape") {
      return;
    }
    var menu = document.querySelector("details.mobile-menu[open]");
    if (menu) {
      menu.removeAttribute("open");
      menu.querySelector("summary").focus();
    }
  }

  /* htmx requests other than GET carry the token as the form field the
   * server already checks. */
  function onHtmxConfig(event) {
    var d = event.detail;
    if (!d || !d.verb || d.verb.toLowerCase() === "get") {
      return;
    }
    var params = d.parameters;
    var token = csrfToken();
    if (!token || !params) {
      return;
    }
    if (typeof params.has === "function") {
      if (!params.has("csrf")) {
        params.set("csrf", token);
      }
    } else if (!params.csrf) {
      params.csrf = token;
    }
  }

  function focusErrorSummary(root) {
    var summary = (root || document).querySelector(".error-summary");
    if (summary) {
      summary.focus();
    }
  }

  document.addEventListener("click", onClick, true);
  document.addEventListener("submit", onSubmit, true);
  document.addEventListener("change", onChange);
  document.addEventListener("keydown", onKeydown);
  document.addEventListener("htmx:configRequest", onHtmxConfig);
  document.addEventListener("htmx:afterSwap", function (event) {
    focusErrorSummary(event.target);
  });
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () {
      focusErrorSummary(document);
      showPrintButtons();
    });
  } else {
    focusErrorSummary(document);
    showPrintButtons();
  }
})();
