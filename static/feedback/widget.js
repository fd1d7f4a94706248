/*
 * The portal's feedback widget: a "Feedback" button that opens a small form in a dialog and
 * posts it to the portal. Embed it with
 *
 *   <script src="https://portal.example.com/static/feedback/widget.js"
 *           data-portal-key="PUBLIC_KEY" async></script>
 *
 * The site's origin must be among the widget channel's allowed origins. No dependencies, no
 * cookies; everything lives in a shadow root, so the site's styles and this widget's leave
 * each other alone. See docs/widget.md.
 */
(function () {
  "use strict";

  var script = document.currentScript;
  if (!script || !script.getAttribute("data-portal-key") || !window.fetch) {
    return;
  }
  var key = script.getAttribute("data-portal-key");
  var portal = new URL(script.src, window.location.href).origin;
  var endpoint = portal + "/api/v1/widget/" + encodeURIComponent(key) + "/submissions/";
  var formPage = portal + "/w/" + encodeURIComponent(key) + "/";

  var STYLE =
    ":host{all:initial}" +
    "*{box-sizing:border-box;font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif}" +
    ".open{position:fixed;right:1rem;bottom:1rem;z-index:2147483000;padding:.6rem 1rem;" +
    "border:0;border-radius:2rem;background:#1d4ed8;color:#fff;font-size:1rem;cursor:pointer;" +
    "box-shadow:0 2px 8px rgba(0,0,0,.3)}" +
    ".open:focus-visible,button:focus-visible,input:focus-visible,textarea:focus-visible{" +
    "outline:3px solid #f59e0b;outline-offset:2px}" +
    "dialog{width:min(28rem,calc(100vw - 1.5rem));max-height:calc(100vh - 1.5rem);" +
    "overflow:auto;padding:1.25rem;border:0;border-radius:.75rem;background:#fff;color:#111;" +
    "box-shadow:0 10px 40px rgba(0,0,0,.35)}" +
    "dialog::backdrop{background:rgba(0,0,0,.45)}" +
    "h2{margin:0 0 .75rem;font-size:1.25rem}" +
    "label{display:block;margin:0 0 .75rem;font-size:.95rem}" +
    "input,textarea{display:block;width:100%;margin-top:.25rem;padding:.5rem;font-size:1rem;" +
    "border:1px solid #6b7280;border-radius:.375rem;background:#fff;color:#111}" +
    "input[type=file]{border:0;padding:.25rem 0}" +
    "textarea{resize:vertical;min-height:6rem}" +
    ".trap{position:absolute;left:-10000px;width:1px;height:1px;overflow:hidden}" +
    ".status{margin:.25rem 0 .75rem;color:#b91c1c;font-weight:600}" +
    ".status:empty{display:none}" +
    ".actions{display:flex;gap:.5rem;justify-content:flex-end}" +
    ".actions button,.done button{padding:.5rem 1rem;font-size:1rem;border-radius:.375rem;" +
    "cursor:pointer;border:1px solid #1d4ed8}" +
    "button[type=submit]{background:#1d4ed8;color:#fff}" +
    "button.cancel{background:#fff;color:#1d4ed8}" +
    "button[disabled]{opacity:.6;cursor:progress}" +
    ".done p{font-size:1.05rem;margin:0 0 1rem}";

  var MARKUP =
    '<button type="button" class="open" aria-haspopup="dialog">Feedback</button>' +
    '<dialog aria-labelledby="portal-feedback-title">' +
    '<h2 id="portal-feedback-title">Send us feedback</h2>' +
    '<form novalidate>' +
    '<label>Your message<textarea name="message" maxlength="5000" required></textarea></label>' +
    '<label>Your e-mail address<input type="email" name="email" maxlength="254" ' +
    'autocomplete="email" required></label>' +
    '<label>Your name (optional)<input name="name" maxlength="200" autocomplete="name"></label>' +
    '<label>Screenshot (optional)<input type="file" name="screenshot" ' +
    'accept="image/png,image/jpeg,image/gif,image/webp"></label>' +
    '<div class="trap" aria-hidden="true"><label>Leave this field empty' +
    '<input name="website" tabindex="-1" autocomplete="off"></label></div>' +
    '<p class="status" role="alert"></p>' +
    '<div class="actions"><button type="button" class="cancel">Close</button>' +
    '<button type="submit">Send feedback</button></div>' +
    "</form>" +
    '<div class="done" hidden><p role="status"></p>' +
    '<button type="button" class="cancel">Close</button></div>' +
    "</dialog>";

  var MESSAGE_REQUIRED = "Write your message.";
  var EMAIL_REQUIRED = "Enter your e-mail address, so that we can answer you.";
  var NOT_SENT =
    "Your message could not be sent. Check your connection and try again, or use the form at ";
  // A key no enabled channel has: the form at formPage is gone too, so no link to it.
  var NO_SUCH_FORM = "No feedback form has this address.";

  function errorText(answer) {
    if (!answer || typeof answer !== "object") {
      return "";
    }
    if (typeof answer.detail === "string") {
      return answer.detail;
    }
    var parts = [];
    Object.keys(answer).forEach(function (field) {
      [].concat(answer[field]).forEach(function (text) {
        if (typeof text === "string") {
          parts.push(text);
        }
      });
    });
    return parts.join(" ");
  }

  function start() {
    var host = document.createElement("div");
    host.setAttribute("data-portal-feedback", "");
    var root = host.attachShadow({ mode: "open" });
    var style = document.createElement("style");
    style.textContent = STYLE;
    root.appendChild(style);
    var shell = document.createElement("div");
    shell.innerHTML = MARKUP;
    while (shell.firstChild) {
      root.appendChild(shell.firstChild);
    }
    document.body.appendChild(host);

    var opener = root.querySelector(".open");
    var dialog = root.querySelector("dialog");
    var form = root.querySelector("form");
    var status = root.querySelector(".status");
    var done = root.querySelector(".done");
    var submit = root.querySelector("button[type=submit]");

    function reset() {
      form.reset();
      form.hidden = false;
      done.hidden = true;
      status.textContent = "";
    }

    opener.addEventListener("click", function () {
      if (!done.hidden) {
        reset();
      }
      dialog.showModal();
      form.elements.message.focus();
    });
    root.querySelectorAll(".cancel").forEach(function (button) {
      button.addEventListener("click", function () {
        dialog.close();
      });
    });
    dialog.addEventListener("close", function () {
      opener.focus();
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      if (!form.elements.message.value.trim()) {
        status.textContent = MESSAGE_REQUIRED;
        form.elements.message.focus();
        return;
      }
      if (!form.elements.email.value.trim()) {
        status.textContent = EMAIL_REQUIRED;
        form.elements.email.focus();
        return;
      }
      var data = new FormData(form);
      if (!(form.elements.screenshot.files || []).length) {
        data.delete("screenshot");
      }
      if (/^https?:$/.test(window.location.protocol)) {
        data.append("page_url", window.location.href);
      }
      status.textContent = "";
      submit.disabled = true;
      fetch(endpoint, { method: "POST", body: data, mode: "cors", credentials: "omit" })
        .then(function (response) {
          return response
            .json()
            .catch(function () {
              return null;
            })
            .then(function (answer) {
              if (response.ok) {
                form.hidden = true;
                done.hidden = false;
                done.querySelector("p").textContent = (answer && answer.detail) || "Thanks!";
                done.querySelector("button").focus();
              } else if (response.status === 404) {
                status.textContent = errorText(answer) || NO_SUCH_FORM;
              } else {
                status.textContent = errorText(answer) || NOT_SENT + formPage;
              }
            });
        })
        .catch(function () {
          status.textContent = NOT_SENT + formPage;
        })
        .then(function () {
          submit.disabled = false;
        });
    });
  }

  if (document.body) {
    start();
  } else {
    document.addEventListener("DOMContentLoaded", start);
  }
})();
