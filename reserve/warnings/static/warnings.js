// Warning dashboard: the depot map coloured by worst active warning, and the charts. Data come
// from data-* attributes (no inline script); the boundaries are the vendored GeoJSON.
(function () {
  "use strict";
  var COLOURS = { red: "#d92d20", orange: "#f79009", yellow: "#eaaa08", blue: "#2e90fa", none: "#98a2b3" };
  var RANK = { red: 0, orange: 1, yellow: 2, blue: 3 };
  // Names reach tooltips and popups as text nodes, never as markup.
  function text(value) {
    var label = document.createElement("span");
    label.textContent = value;
    return label;
  }
  var mapElement = document.getElementById("warning-map");
  if (mapElement && window.L) {
    var points = JSON.parse(mapElement.dataset.points || "[]");
    var labels = JSON.parse(mapElement.dataset.labels || "{}");
    var map = L.map(mapElement, { zoomSnap: 0.25, attributionControl: false }).setView([37.6, 112.3], 6.5);
    fetch(mapElement.dataset.boundaries).then(function (r) { return r.json(); }).then(function (geo) {
      var layer = L.geoJSON(geo, { style: { color: "#7a1b12", weight: 1, fillColor: "#fdf1ef", fillOpacity: 0.5 },
        onEachFeature: function (f, l) { l.bindTooltip(text(f.properties.name), { sticky: true }); } }).addTo(map);
      layer.bringToBack();
      if (!scoped) { map.fitBounds(layer.getBounds()); }
    });
    var scoped = showScope(map, points);
    points.sort(function (a, b) { return (RANK[b.severity] === undefined ? 9 : RANK[b.severity]) - (RANK[a.severity] === undefined ? 9 : RANK[a.severity]); });
    points.forEach(function (p) {
      var severity = p.severity || "none";
      var marker = L.circleMarker([p.lat, p.lon], { radius: p.severity ? 6 : 3, color: COLOURS[severity], weight: 1,
        fillColor: COLOURS[severity], fillOpacity: 0.85 }).addTo(map);
      marker.bindPopup(function () {
        var box = document.createElement("div");
        var title = document.createElement("strong");
        title.textContent = p.name;
        var link = document.createElement("a");
        link.href = "/warnings?depot_id=" + p.id + "#list";
        link.textContent = (labels[severity] || "") + (p.count ? " × " + p.count : "");
        box.appendChild(title); box.appendChild(document.createElement("br")); box.appendChild(link);
        return box;
      });
    });
  }
  // The caller's scope: a base map if configured, the view fitted to the depots shown, a legend
  // of the severities.
  function showScope(map, points) {
    if (!window.MapTools) { return false; }
    MapTools.tiles(map);
    MapTools.legend(map, null, ["red", "orange", "yellow", "blue", "none"].map(function (s) {
      return { colour: COLOURS[s], label: (JSON.parse(mapElement.dataset.labels || "{}")[s]) || s, kind: "dot" };
    }));
    return MapTools.fitTo(map, points.map(function (p) { return [p.lat, p.lon]; }), 11);
  }
  var data = document.getElementById("chart-data");
  if (!data || !window.echarts) { return; }
  var chart = JSON.parse(data.dataset.chart);
  function bars(id, rows, nameOf) {
    var element = document.getElementById(id);
    if (!element) { return; }
    var instance = echarts.init(element);
    instance.setOption({
      tooltip: { trigger: "axis", renderMode: "richText" }, legend: { top: 0 }, grid: { left: 60, right: 10, top: 30, bottom: 60 },
      xAxis: { type: "category", data: rows.map(nameOf), axisLabel: { rotate: 30, interval: 0 } },
      yAxis: { type: "value" },
      series: [
        { name: chart.labels.required, type: "bar", data: rows.map(function (r) { return Math.round(r.required); }), itemStyle: { color: "#98a2b3" } },
        { name: chart.labels.available, type: "bar", data: rows.map(function (r) { return r.available; }), itemStyle: { color: "#b42318" } }
      ]
    });
    window.addEventListener("resize", function () { instance.resize(); });
  }
  bars("chart-category", chart.by_category, function (r) { return r.name; });
  bars("chart-region", chart.by_region, function (r) { return r.name; });
  var trend = document.getElementById("chart-trend");
  if (trend) {
    var t = echarts.init(trend);
    t.setOption({
      tooltip: { trigger: "axis", renderMode: "richText" }, grid: { left: 50, right: 10, top: 20, bottom: 40 },
      xAxis: { type: "category", data: chart.trend.map(function (p) { return p.day.slice(5); }) },
      yAxis: { type: "value", minInterval: 1 },
      series: [{ name: chart.labels.active, type: "line", data: chart.trend.map(function (p) { return p.active; }),
        areaStyle: { opacity: 0.15 }, itemStyle: { color: "#b42318" } }]
    });
    window.addEventListener("resize", function () { t.resize(); });
  }
}());
