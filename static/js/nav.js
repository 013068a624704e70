// The navigation's groups are <details> elements: they work without this script. With it, they behave
// like menus: opening one closes the others, and a click elsewhere or Escape closes them.
(function () {
  "use strict";
  function groups() { return document.querySelectorAll("details.nav-group"); }
  function closeAll(except) {
    groups().forEach(function (group) { if (group !== except) { group.open = false; } });
  }
  document.addEventListener("toggle", function (event) {
    var target = event.target;
    if (target.matches && target.matches("details.nav-group") && target.open) { closeAll(target); }
  }, true);
  document.addEventListener("click", function (event) {
    if (!event.target.closest("details.nav-group")) { closeAll(null); }
  });
  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { closeAll(null); }
  });
}());
