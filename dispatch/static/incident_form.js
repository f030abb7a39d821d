// The incident form: only the subtypes of the chosen incident type can be picked (the server
// checks the pair again: core of the rule is dispatch/services/incidents.py).
(function () {
  "use strict";
  var form = document.getElementById("incident-form");
  if (!form) { return; }
  var type = form.elements.incident_type, subtype = form.elements.subtype;
  function filter() {
    Array.prototype.forEach.call(subtype.querySelectorAll("optgroup"), function (group) {
      var match = group.dataset.type === type.value;
      group.hidden = !match;
      group.disabled = !match;
    });
    var chosen = subtype.selectedOptions[0];
    if (chosen && chosen.parentElement.tagName === "OPTGROUP" && chosen.parentElement.disabled) { subtype.value = ""; }
  }
  type.addEventListener("change", filter);
  filter();
}());
