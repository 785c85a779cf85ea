// Sender portal, a campaign's page: while it is sending, asks for its progress every two seconds
// (same-origin JSON from PostgreSQL, /sender/campaigns/<id>/progress.json) and updates the bar and the
// counts. While its rows are being checked ("validating"), the same JSON gives "checking rows… N of M";
// once the check ends the page is loaded again (the send button, or the cells to fix). Without
// JavaScript the page shows the same figures, and a refresh updates them.
(function () {
  "use strict";
  var box = document.getElementById("campaign-progress");
  if (!box || !window.fetch) return;
  var status = box.getAttribute("data-status");
  if (status === "validating") { checking(); return; }
  if (status !== "sending") return;
  var bar = document.getElementById("campaign-bar");
  var label = document.querySelector("label[for='campaign-bar']");
  var template = label ? label.textContent : "";
  function update(data) {
    Object.keys(data).forEach(function (key) {
      var field = box.querySelector("[data-field='" + key + "']");
      if (field) field.textContent = data[key];
    });
    if (bar) { bar.max = data.total; bar.value = data.published; bar.textContent = data.percent + " %"; }
    // The label's first number is the published count in every language of the catalogue.
    if (label) label.textContent = template.replace(/\d+/, String(data.published));
  }
  function poll() {
    fetch(box.getAttribute("data-progress-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) return;
        update(data);
        var sealedAll = data.sealed + data.failed + data.cancelled >= data.total;
        if (data.status === "sending" || !sealedAll) { setTimeout(poll, 2000); return; }
        var hint = box.querySelector("[data-refresh-hint]");
        if (hint) hint.hidden = true;
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 1000);

  function checking() {
    var bar = document.getElementById("campaign-bar");
    var label = box.querySelector("[data-checking]");
    var template = label ? label.textContent : "";
    function poll() {
      fetch(box.getAttribute("data-progress-url"), { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (data) {
          if (!data) { setTimeout(poll, 5000); return; }
          if (data.status !== "validating") { window.location.reload(); return; }
          if (bar) { bar.max = data.total || 1; bar.value = data.checked; bar.textContent = String(data.checked); }
          // Checked, then total: the order of the two numbers in every language of the catalogue.
          var n = 0;
          if (label) label.textContent = template.replace(/\d+/g, function () { n += 1; return String(n === 1 ? data.checked : data.total); });
          setTimeout(poll, 1500);
        })
        .catch(function () { setTimeout(poll, 5000); });
    }
    setTimeout(poll, 1000);
  }
})();
