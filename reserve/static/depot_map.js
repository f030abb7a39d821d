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
  var scoped = showScope(map, points);
  fetch(element.dataset.boundaries).then(function (r) { return r.json(); }).then(function (geo) {
    var layer = L.geoJSON(geo, {
      style: { color: "#7a1b12", weight: 1, fillColor: "#fdf1ef", fillOpacity: 0.6 },
      onEachFeature: function (feature, l) { l.bindTooltip(text(feature.properties.name), { sticky: true }); }
    }).addTo(map);
    layer.bringToBack();
    if (!scoped) { map.fitBounds(layer.getBounds()); }
  });
  function depotMarker(p) {
    return L.circleMarker([p.lat, p.lon], { radius: 4, color: "#b42318", weight: 1, fillOpacity: 0.8 })
      .bindPopup(function () {
        var link = document.createElement("a");
        link.href = depots + "/" + p.id;
        link.textContent = p.name;  // text, never markup
        return link;
      });
  }

  // The caller's scope: a base map if configured, the view fitted to the depots shown, nearby
  // depots clustered, names beside single depots once zoomed in, and a legend.
  function showScope(map, points) {
    MapTools.tiles(map);
    var shown = points.filter(function (p) { return p.lat !== null && p.lon !== null; });
    var fitted = MapTools.fitTo(map, shown.map(function (p) { return [p.lat, p.lon]; }), 11);
    MapTools.cluster(map, shown, function (p) { return labelled(map, depotMarker(p), p.name); });
    MapTools.legend(map, element.dataset.legendTitle, [
      { colour: "#b42318", label: element.dataset.legendDepot, kind: "dot" },
      { colour: "#7a1b12", label: element.dataset.legendCluster, kind: "cluster" }]);
    return fitted;
  }

  function labelled(map, marker, name) {
    if (map.getZoom() >= 12) {  // names once depots stand apart
      var label = document.createElement("span");
      label.textContent = name;
      marker.bindTooltip(label, { permanent: true, direction: "right", className: "map-label", offset: [6, 0] });
    }
    return marker;
  }
})();
