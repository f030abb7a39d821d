// The menu's "More" list closes on a click elsewhere or on Escape (it opens and closes without
// this script too: it is a <details> element).
document.addEventListener("click", function (event) {
  document.querySelectorAll("details.more[open]").forEach(function (menu) {
    if (!menu.contains(event.target)) { menu.removeAttribute("open"); }
  });
});
document.addEventListener("keydown", function (event) {
  if (event.key !== "Escape") { return; }
  document.querySelectorAll("details.more[open]").forEach(function (menu) {
    menu.removeAttribute("open");
    menu.querySelector("summary").focus();
  });
});
