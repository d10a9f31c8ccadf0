// The feed's small maps: each card's area (GeoJSON in data-feed-area) on a Leaflet map that
// is only looked at, never moved. A feed holds many cards, so a map is built when its card
// comes near the screen (IntersectionObserver), not all at once on load. Tiles come from
// data-tiles (the tile_url setting); without tiles the area still draws on a plain background.
(function () {
  "use strict";

  function draw(el) {
    if (el.getAttribute("data-drawn")) {
      return;
    }
    el.setAttribute("data-drawn", "1");
    var area;
    try {
      area = JSON.parse(el.getAttribute("data-feed-area"));
    } catch (e) {
      return;
    }
    var tiles = el.getAttribute("data-tiles");
    // A picture, not a widget: no dragging, zooming or keyboard focus to trap a scroll or a Tab.
    var map = L.map(el, {
      attributionControl: Boolean(tiles),
      zoomControl: false,
      dragging: false,
      touchZoom: false,
      doubleClickZoom: false,
      scrollWheelZoom: false,
      boxZoom: false,
      keyboard: false
    });
    if (tiles) {
      L.tileLayer(tiles, {
        maxZoom: 19,
        attribution: "&copy; OpenStreetMap contributors"
      }).addTo(map);
    } else {
      el.classList.add("no-tiles");
    }
    var shape = L.geoJSON(area, {
      interactive: false,
      style: { color: "#0b4f8a", weight: 3, fillColor: "#1f78c8", fillOpacity: 0.18 }
    }).addTo(map);
    map.fitBounds(shape.getBounds(), { padding: [12, 12] });
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof L === "undefined") {
      return;
    }
    var maps = document.querySelectorAll("[data-feed-area]");
    if (!("IntersectionObserver" in window)) {
      maps.forEach(draw);
      return;
    }
    var seen = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        if (entry.isIntersecting) {
          seen.unobserve(entry.target);
          draw(entry.target);
        }
      });
    }, { rootMargin: "300px 0px" });
    maps.forEach(function (el) { seen.observe(el); });
  });
})();
