// Sender portal, "Send a letter": checks the recipient's number as it is typed and says which channel the
// letter will take (same-origin JSON, /sender/send/recipient/). Without JavaScript the server checks it
// when the form is submitted, and the preview shows the channel.
(function () {
  "use strict";
  var input = document.querySelector("[data-recipient-check]");
  var output = document.getElementById("recipient-channel");
  if (!input || !output || !window.fetch) return;
  var timer = null;
  var last = "";
  function check() {
    var digits = input.value.replace(/\D/g, "");
    if (digits === last) return;
    last = digits;
    if (digits.length < 10) { output.textContent = ""; return; }
    fetch(output.getAttribute("data-check-url") + "?number=" + encodeURIComponent(digits), {
      credentials: "same-origin", headers: { "Accept": "application/json" }
    }).then(function (r) { return r.ok ? r.json() : null; }).then(function (data) {
      if (!data || digits !== last) return;
      output.textContent = data.message;
      output.className = data.valid ? "hint" : "error-message";
      input.setAttribute("aria-invalid", data.valid ? "false" : "true");
    }).catch(function () {});
  }
  input.setAttribute("aria-describedby", (input.getAttribute("aria-describedby") || "") + " recipient-channel");
  input.addEventListener("input", function () { clearTimeout(timer); timer = setTimeout(check, 250); });
  input.addEventListener("blur", check);
})();
