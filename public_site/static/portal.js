// Portal overview: a bar chart of public reserves by category (ECharts) and a map of cities
// with a circle per city (Leaflet, city centroids only). Data from data-* attributes; the
// libraries are vendored, so nothing is requested off the machine.
(function () {
  var chartElement = document.getElementById("category-chart");
  var mapElement = document.getElementById("city-map");
  if (chartElement && window.echarts) {
    var data = JSON.parse(chartElement.dataset.chart);
    chartElement.style.height = Math.max(200, 22 * data.categories.length + 40) + "px";  // one readable row per category
    var chart = echarts.init(chartElement);
    chart.setOption({
      grid: { left: 8, right: 16, top: 8, bottom: 8, containLabel: true },
      tooltip: { trigger: "axis", axisPointer: { type: "shadow" }, renderMode: "richText" },
      xAxis: { type: "value" },
      yAxis: { type: "category", inverse: true, axisLabel: { interval: 0 },
               data: data.categories.map(function (c) { return c.name; }) },
      series: [{ type: "bar", data: data.categories.map(function (c) { return c.value; }), itemStyle: { color: "#b42318" } }]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (mapElement && window.L) {
    var cities = JSON.parse(mapElement.dataset.chart).cities;
    var map = L.map(mapElement, { zoomSnap: 0.25, attributionControl: false, scrollWheelZoom: false }).setView([37.6, 112.3], 6);
    if (window.MapTools) { MapTools.tiles(map); }
    fetch(mapElement.dataset.boundaries).then(function (r) { return r.json(); }).then(function (geo) {
      var layer = L.geoJSON(geo, { style: { color: "#7a1b12", weight: 1, fillColor: "#fdf1ef", fillOpacity: 0.6 } }).addTo(map);
      map.fitBounds(layer.getBounds());
    });
    var largest = Math.max.apply(null, cities.map(function (c) { return c.value; }).concat([1]));
    cities.forEach(function (c) {
      var marker = L.circleMarker([c.lat, c.lon], { radius: 5 + 20 * Math.sqrt(c.value / largest), color: "#b42318",
        weight: 1, fillOpacity: 0.55 }).addTo(map);
      var label = document.createElement("span");
      label.textContent = c.name + " " + c.value.toLocaleString() + " t";
      marker.bindTooltip(label);
    });
  }
})();
