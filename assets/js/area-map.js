// Draws a request's area (GeoJSON in data-area) on a Leaflet map. Tiles come from data-tiles
// (the tile_url setting); without tiles the area still draws on a plain background.
(function () {
  "use strict";

  function draw(el) {
    var area;
    try {
      area = JSON.parse(el.getAttribute("data-area"));
    } catch (e) {
      return;
    }
    var map = L.map(el, { scrollWheelZoom: false, attributionControl: true });
    var tiles = el.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, {
        maxZoom: 19,
        attribution: "&copy; OpenStreetMap contributors"
      }).addTo(map);
    } else {
      el.classList.add("no-tiles");
    }
    var shape = L.geoJSON(area, {
      style: { color: "#0b4f8a", weight: 3, fillColor: "#1f78c8", fillOpacity: 0.18 }
    }).addTo(map);
    map.fitBounds(shape.getBounds(), { padding: [16, 16] });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof L === "undefined") {
      return;
    }
    document.querySelectorAll(".area-map[data-area]").forEach(draw);
  });
})();
