// Command board: the map (depots -> demand points) and a poll of the board's JSON every 15 s
// that refreshes the tiles and alerts without reloading the page. Data from data-* attributes.
(function () {
  "use strict";
  var mapElement = document.getElementById("incident-map");
  if (mapElement && window.L) {
    var data = JSON.parse(mapElement.dataset.map);
    var map = L.map(mapElement, { zoomSnap: 0.25, attributionControl: false }).setView([37.6, 112.3], 6.5);
    fetch(mapElement.dataset.boundaries).then(function (r) { return r.json(); }).then(function (geo) {
      L.geoJSON(geo, { style: { color: "#7a1b12", weight: 1, fillColor: "#fdf1ef", fillOpacity: 0.4 } }).addTo(map);
    });
    var bounds = [];
    if (data.incident[0] !== null) {
      L.circleMarker(data.incident, { radius: 9, color: "#b42318", fillOpacity: 0.3 }).addTo(map);
      bounds.push(data.incident);
    }
    data.points.forEach(function (p) {
      L.circleMarker([p.lat, p.lon], { radius: 6, color: "#b42318", fillColor: "#b42318", fillOpacity: 0.9 })
        .bindTooltip(p.name).addTo(map);
      bounds.push([p.lat, p.lon]);
    });
    data.routes.forEach(function (r) {
      L.polyline([r.from, r.to], { color: "#2e90fa", weight: 2, opacity: 0.8 }).bindTooltip(r.label).addTo(map);
      L.circleMarker(r.from, { radius: 4, color: "#2e90fa", fillOpacity: 1 }).addTo(map);
      bounds.push(r.from);
    });
    if (bounds.length > 1) { map.fitBounds(bounds, { padding: [30, 30], maxZoom: 10 }); }
    showDirections(map, data, mapElement);
  }

  // Which way the materials go: an arrowhead on each route, a base map if configured, a legend.
  function showDirections(map, data, element) {
    if (!window.MapTools) { return; }
    MapTools.tiles(map);
    data.routes.forEach(function (r) { MapTools.arrowhead(map, r.from, r.to, "#2e90fa"); });
    MapTools.legend(map, element.dataset.legendTitle, [
      { colour: "#b42318", label: element.dataset.legendPoint, kind: "dot" },
      { colour: "#2e90fa", label: element.dataset.legendDepot, kind: "dot" },
      { colour: "#2e90fa", label: element.dataset.legendRoute, kind: "line" }]);
  }
  var board = document.getElementById("board");
  if (!board || !window.fetch) { return; }
  function set(name, value) {
    var element = board.querySelector('[data-live="' + name + '"]');
    if (element) { element.textContent = value; }
  }
  function refresh() {
    fetch(board.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (b) {
        if (!b) { return; }
        set("demands", b.demands.count);
        set("departed", b.shipments.departed);
        set("received", b.shipments.received);
        set("alerts", b.alerts.length);
        set("updated", new Date(b.updated_at + "Z").toLocaleTimeString());
        var list = board.querySelector('[data-live-list="alerts"]');
        list.textContent = "";
        b.alerts.slice(0, 8).forEach(function (a) {
          var item = document.createElement("li");
          var label = a.kind === "late" ? list.dataset.late : a.kind === "unmet" ? list.dataset.unmet : list.dataset.overdue;
          item.textContent = label + " " + (a.batch_no || a.number || (a.quantity ? "× " + a.quantity : ""));
          list.appendChild(item);
        });
      }).catch(function () { /* keep the last figures; the next poll retries */ });
  }
  refresh();
  window.setInterval(refresh, 15000);
}());
