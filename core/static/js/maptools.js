// Map helpers shared by the depot, warning, portal and command-board maps (Leaflet, vendored):
// grid clustering, a legend, fitting the view to what is shown, a configured tile layer, and
// arrowheads on routes. Written here, not vendored: a few dozen lines cover what the maps need
// (leaflet.markercluster would be 40 KB more). Every text reaches the page as a text node.
window.MapTools = (function () {
  "use strict";

  function el(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  // The configured base map (config MAP_TILE_URL, shown under the offline boundaries), if any.
  function tiles(map) {
    var url = document.querySelector('meta[name="map-tile-url"]');
    if (!url || !url.content) { return null; }
    var attribution = document.querySelector('meta[name="map-tile-attribution"]');
    map.attributionControl || map.addControl(L.control.attribution({ prefix: false }));
    return L.tileLayer(url.content, { attribution: attribution ? attribution.content : "", maxZoom: 18 }).addTo(map);
  }

  // Fit the view to the points shown (the caller's scope), not to the whole province.
  function fitTo(map, latlngs, maxZoom) {
    if (!latlngs.length) { return false; }
    if (latlngs.length === 1) { map.setView(latlngs[0], Math.min(maxZoom || 11, 11)); return true; }
    map.fitBounds(L.latLngBounds(latlngs), { padding: [24, 24], maxZoom: maxZoom || 12 });
    return true;
  }

  // Markers grouped by a screen grid of `cell` pixels, regrouped at every zoom: a cell with one
  // point shows `single(point)` (the page's own marker), a cell with more a numbered circle
  // that zooms in on click.
  function cluster(map, points, single, cell) {
    var layer = L.layerGroup().addTo(map);
    var size = cell || 56;
    function draw() {
      layer.clearLayers();
      var cells = {};
      points.forEach(function (p) {
        var at = map.project([p.lat, p.lon], map.getZoom());
        var key = Math.floor(at.x / size) + ":" + Math.floor(at.y / size);
        (cells[key] = cells[key] || []).push(p);
      });
      Object.keys(cells).forEach(function (key) {
        var group = cells[key];
        if (group.length === 1 || map.getZoom() >= map.getMaxZoom()) {
          group.forEach(function (p) { layer.addLayer(single(p)); });
          return;
        }
        layer.addLayer(clusterMarker(map, group));
      });
    }
    map.on("zoomend", draw);
    draw();
    return layer;
  }

  function clusterMarker(map, group) {
    var lat = 0, lon = 0;
    group.forEach(function (p) { lat += p.lat; lon += p.lon; });
    var icon = el("span", "map-cluster", String(group.length));
    var diameter = group.length < 10 ? 28 : group.length < 100 ? 34 : 40;
    var marker = L.marker([lat / group.length, lon / group.length], {
      icon: L.divIcon({ html: icon, className: "map-cluster-icon", iconSize: [diameter, diameter] }),
      keyboard: true, title: String(group.length)
    });
    marker.on("click", function () {
      map.fitBounds(L.latLngBounds(group.map(function (p) { return [p.lat, p.lon]; })), { padding: [30, 30] });
    });
    return marker;
  }

  // A legend in a map corner: items are {colour, label} (a swatch and a text).
  function legend(map, title, items) {
    var control = L.control({ position: "bottomright" });
    control.onAdd = function () {
      var box = el("div", "map-legend");
      if (title) { box.appendChild(el("strong", "", title)); }
      items.forEach(function (item) {
        var row = el("div", "map-legend-row");
        var swatch = el("span", "map-legend-swatch" + (item.kind ? " " + item.kind : ""));
        swatch.style.background = item.colour;  // CSSOM, which the CSP allows
        row.appendChild(swatch);
        row.appendChild(document.createTextNode(item.label));
        box.appendChild(row);
      });
      return box;
    };
    control.addTo(map);
    return control;
  }

  // An arrowhead at two thirds of a route from `from` to `to`, pointing along it.
  function arrowhead(map, from, to, colour) {
    var head = el("span", "map-arrow", "\u25B6");
    head.style.color = colour;
    var at = [from[0] + (to[0] - from[0]) * 2 / 3, from[1] + (to[1] - from[1]) * 2 / 3];
    var marker = L.marker(at, { icon: L.divIcon({ html: head, className: "map-arrow-icon", iconSize: [16, 16] }),
                                interactive: false, keyboard: false });
    function turn() {
      var a = map.latLngToLayerPoint(from), b = map.latLngToLayerPoint(to);
      head.style.transform = "rotate(" + Math.atan2(b.y - a.y, b.x - a.x) + "rad)";
    }
    map.on("zoomend", turn);
    marker.on("add", turn);
    return marker.addTo(map);
  }

  return { el: el, tiles: tiles, fitTo: fitTo, cluster: cluster, legend: legend, arrowhead: arrowhead };
}());
