// Readiness map: the province's boundaries (vendored GeoJSON) and one circle per assessed county,
// coloured by its score. Data from data-* attributes; names reach tooltips as text nodes only.
(function () {
  var element = document.getElementById("readiness-map");
  if (!element || !window.L) { return; }
  function text(value) {
    var label = document.createElement("span");
    label.textContent = value;
    return label;
  }
  function colour(score) { return score < 50 ? "#b42318" : (score < 80 ? "#dc6803" : "#067647"); }
  var points = JSON.parse(element.dataset.points || "[]");
  var map = L.map(element, { zoomSnap: 0.25, attributionControl: false }).setView([37.6, 112.3], 6.5);
  MapTools.tiles(map);
  fetch(element.dataset.boundaries).then(function (r) { return r.json(); }).then(function (geo) {
    L.geoJSON(geo, { style: { color: "#7a1b12", weight: 1, fillColor: "#fdf1ef", fillOpacity: 0.5 } }).addTo(map).bringToBack();
  });
  points.forEach(function (p) {
    L.circleMarker([p.lat, p.lon], { radius: 7, color: colour(p.score), weight: 1, fillOpacity: 0.8 })
      .bindTooltip(text(p.name + " · " + element.dataset.scoreLabel + " " + p.score.toFixed(1)))
      .addTo(map);
  });
  MapTools.fitTo(map, points.map(function (p) { return [p.lat, p.lon]; }), 10);
})();
