// Depot map: Shanxi's city boundaries (vendored GeoJSON) and one marker per depot.
// Data comes from the element's data-* attributes: no inline script, no request off the machine.
(function () {
  // Names reach tooltips and popups as text nodes, never as markup.
  function text(value) {
    var label = document.createElement("span");
    label.textContent = value;
    return label;
  }
  var element = document.getElementById("depot-map");
  if (!element || !window.L) { return; }
  var points = JSON.parse(element.dataset.points || "[]");
  var depots = element.dataset.depotsUrl;  // a depot's page is <depots>/<id>
  var map = L.map(element, { zoomSnap: 0.25, attributionControl: false }).setView([37.6, 112.3], 6.5);
  fetch(element.dataset.boundaries).then(function (r) { return r.json(); }).then(function (geo) {
    var layer = L.geoJSON(geo, {
      style: { color: "#7a1b12", weight: 1, fillColor: "#fdf1ef", fillOpacity: 0.6 },
      onEachFeature: function (feature, l) { l.bindTooltip(text(feature.properties.name), { sticky: true }); }
    }).addTo(map);
    map.fitBounds(layer.getBounds());
  });
  points.forEach(function (p) {
    L.circleMarker([p.lat, p.lon], { radius: 4, color: "#b42318", weight: 1, fillOpacity: 0.8 })
      .bindPopup(function () {
        var link = document.createElement("a");
        link.href = depots + "/" + p.id;
        link.textContent = p.name;  // text, never markup
        return link;
      })
      .addTo(map);
  });
})();
