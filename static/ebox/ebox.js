// Progressive enhancement only: every page works without it.
(function () {
  // The header's menu button (GOV.UK's pattern): without JavaScript the menu is simply always shown.
  var button = document.querySelector(".menu-toggle");
  var menu = document.getElementById("site-menu");
  if (button && menu) {
    document.documentElement.classList.add("js-enabled");
    button.addEventListener("click", function () {
      var open = button.getAttribute("aria-expanded") !== "true";
      button.setAttribute("aria-expanded", open ? "true" : "false");
      menu.classList.toggle("is-open", open);
    });
  }
  // A form came back with errors: the focus goes to their summary (GOV.UK's error summary),
  // whose links move the focus to each field.
  document.addEventListener("DOMContentLoaded", function () {
    var summary = document.querySelector("[data-error-summary]");
    if (summary) summary.focus();
  });
})();
