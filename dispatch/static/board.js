// Command board: the map (depots -> demand points) and a poll of the board's JSON every 15 s
// that refreshes the tiles and alerts without reloading the page; a planning job's progress bar.
// Data from data-* attributes.
(function () {
  "use strict";
  // Names come from the registry: a tooltip gets them as a text node, never as markup.
  function text(value) {
    var label = document.createElement("span");
    label.textContent = value;
    return label;
  }
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
        .bindTooltip(text(p.name)).addTo(map);
      bounds.push([p.lat, p.lon]);
    });
    data.routes.forEach(function (r) {
      L.polyline([r.from, r.to], { color: "#2e90fa", weight: 2, opacity: 0.8 }).bindTooltip(text(r.label)).addTo(map);
      L.circleMarker(r.from, { radius: 4, color: "#2e90fa", fillOpacity: 1 }).addTo(map);
      bounds.push(r.from);
    });
    // The 装车方案: each trip (or proposed route) drawn stop by stop from its depot, the stops
    // numbered in the order driven; labels are text nodes, never markup.
    (data.trips || []).forEach(function (t) {
      L.polyline(t.path, { color: "#7a5af8", weight: 3, opacity: 0.85, dashArray: "6 4", className: "trip-route" })
        .bindTooltip(text(t.label)).addTo(map);
      t.path.slice(1).forEach(function (stop, i) {
        L.circleMarker(stop, { radius: 5, color: "#7a5af8", fillColor: "#fff", fillOpacity: 1, className: "trip-stop" })
          .bindTooltip(text(t.label + " · " + (i + 1))).addTo(map);
      });
      bounds.push(t.path[0]);
    });
    if (bounds.length > 1) { map.fitBounds(bounds, { padding: [30, 30], maxZoom: 10 }); }
    placePoints(map, document.getElementById("point-form"));
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
      { colour: "#2e90fa", label: element.dataset.legendRoute, kind: "line" }].concat(
        (data.trips || []).length ? [{ colour: "#7a5af8", label: element.dataset.legendTrip, kind: "line" }] : []));
  }
  // A planning job (large problems run in the worker): poll its status every 2 s, move the
  // <progress> bar, and come back to the board when it ends (the plan, or the reason it failed).
  var job = document.getElementById("plan-job");
  if (job && window.fetch && (job.dataset.status === "queued" || job.dataset.status === "running")) {
    var bar = job.querySelector("progress");
    var poll = function () {
      fetch(job.dataset.url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (j) {
          if (!j) { window.setTimeout(poll, 5000); return; }
          bar.value = j.progress;
          bar.textContent = j.progress + "%";
          job.querySelector('[data-job="percent"]').textContent = j.progress + "%";
          job.querySelector('[data-job="step"]').textContent = j.step || "";
          if (j.status === "done" || j.status === "failed" || j.status === "cancelled") {
            var target = new URL(job.dataset.outcomeUrl, window.location.href);
            if (target.pathname + target.search === window.location.pathname + window.location.search) {
              window.location.reload();
            } else {
              window.location.assign(target.href);
            }
            return;
          }
          window.setTimeout(poll, 2000);
        }).catch(function () { window.setTimeout(poll, 5000); });
    };
    window.setTimeout(poll, 1000);
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

  // Placing a new demand point: a click on the map, a region picked from the list (the map
  // centres on it) or coordinates typed in put one draggable marker; the marker writes the
  // form's latitude and longitude back, rounded to 6 decimals (about 0.1 m).
  function placePoints(map, form) {
    if (!form) { return; }
    var lat = form.querySelector("[data-point-lat]");
    var lon = form.querySelector("[data-point-lon]");
    var region = form.querySelector("[data-point-region]");
    var details = form.closest("details");
    var marker = null;
    function write(latlng) {
      lat.value = latlng.lat.toFixed(6);
      lon.value = latlng.lng.toFixed(6);
    }
    function place(latlng, centre) {
      if (marker) {
        marker.setLatLng(latlng);
      } else {
        marker = L.marker(latlng, { draggable: true, autoPan: true, title: form.dataset.markerTitle || "" }).addTo(map);
        marker.on("dragend", function () { write(marker.getLatLng()); });
      }
      if (centre) { map.setView(latlng, Math.max(map.getZoom(), 10)); }
    }
    map.getContainer().classList.add("placing");
    map.on("click", function (event) {
      if (details && !details.open) { details.open = true; }  // a click on the map starts a new point
      write(event.latlng);
      place(event.latlng, false);
    });
    if (region) {
      region.addEventListener("change", function () {
        var option = region.options[region.selectedIndex];
        if (!option || !option.dataset.lat) { return; }
        var latlng = L.latLng(parseFloat(option.dataset.lat), parseFloat(option.dataset.lon));
        write(latlng);
        place(latlng, true);
      });
    }
    function typed() {
      var y = parseFloat(lat.value), x = parseFloat(lon.value);
      if (isFinite(y) && isFinite(x) && Math.abs(y) <= 90 && Math.abs(x) <= 180) { place(L.latLng(y, x), true); }
    }
    lat.addEventListener("change", typed);
    lon.addEventListener("change", typed);
    if (lat.value && lon.value && (!details || details.open)) {  // the incident's own position until a click moves it
      var y = parseFloat(lat.value), x = parseFloat(lon.value);
      if (isFinite(y) && isFinite(x)) { place(L.latLng(y, x), false); }
    }
  }
}());
