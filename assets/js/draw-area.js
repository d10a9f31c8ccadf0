// Draw one area (a GeoJSON Polygon) on a Leaflet map with Leaflet-Geoman, into a form field.
// Used by the new-request page and by the admin pages that draw agency jurisdictions.
//
// Contract (every data-* attribute on the map element; the ones in [brackets] are optional):
//
//   <input type="hidden" id="area" name="area" value="{existing GeoJSON or empty}">
//   <div class="draw-map"
//        data-input="#area"                  the hidden input holding the Polygon geometry
//        data-tiles="{{ layout.tile_url }}"  a {z}/{x}/{y} tile URL; empty draws on a plain grid
//        [data-bounds='GeoJSON']             a (Multi)Polygon to outline and fit (the jurisdiction)
//        [data-readout="#ID"]                an element that shows the drawn area's size
//        [data-min-sq-mi="0.025" data-max-sq-mi="0.5"]  the allowed range, shown in the read-out
//        [data-paste="#ID"]></div>           a textarea to type or paste GeoJSON into (the
//                                            keyboard path; kept in step with the drawing)
//
// - On load the input's value, if it holds a Polygon, is drawn (so a form shown again with
//   problems keeps its drawing).
// - Drawing, editing or removing the shape writes the Polygon geometry (GeoJSON, lon/lat, 6
//   decimals) into the input, or empties it; the input then fires `change`.
// - Only one shape at a time: drawing a new one replaces the old.
// - The size is geodesic, on the sphere of the Earth's mean (authalic) radius, which agrees
//   with the server's ellipsoidal measure to within about half a percent; the server's figure
//   is the one that counts, and the read-out says "about".
(function () {
  "use strict";

  var SQ_M_PER_SQ_MI = 2589988.110336;
  var RADIUS = 6371007.181;

  function rad(d) {
    return (d * Math.PI) / 180;
  }

  // Area of one ring of [lon, lat] positions, square metres (spherical excess).
  function ringArea(ring) {
    var total = 0;
    var n = ring.length;
    for (var i = 0; i < n; i++) {
      var a = ring[i];
      var b = ring[(i + 1) % n];
      total += rad(b[0] - a[0]) * (2 + Math.sin(rad(a[1])) + Math.sin(rad(b[1])));
    }
    return Math.abs((total * RADIUS * RADIUS) / 2);
  }

  // Area of a Polygon geometry (outer ring less its holes), square miles.
  function polygonSqMi(geometry) {
    var rings = geometry.coordinates;
    var m2 = ringArea(rings[0]);
    for (var i = 1; i < rings.length; i++) {
      m2 -= ringArea(rings[i]);
    }
    return m2 / SQ_M_PER_SQ_MI;
  }

  function isPolygon(g) {
    return (
      g &&
      g.type === "Polygon" &&
      Array.isArray(g.coordinates) &&
      Array.isArray(g.coordinates[0]) &&
      g.coordinates[0].length >= 4 &&
      g.coordinates[0].every(function (p) {
        return Array.isArray(p) && typeof p[0] === "number" && typeof p[1] === "number";
      })
    );
  }

  function parse(text) {
    if (!text || !text.trim()) {
      return null;
    }
    try {
      var v = JSON.parse(text);
      if (v && v.type === "Feature") {
        v = v.geometry;
      }
      return isPolygon(v) ? v : undefined;
    } catch (e) {
      return undefined;
    }
  }

  function format(n) {
    return n < 0.01 ? n.toFixed(4) : n.toFixed(3);
  }

  function setup(el) {
    var input = document.querySelector(el.getAttribute("data-input"));
    if (!input) {
      return;
    }
    var readout = el.hasAttribute("data-readout")
      ? document.querySelector(el.getAttribute("data-readout"))
      : null;
    var paste = el.hasAttribute("data-paste")
      ? document.querySelector(el.getAttribute("data-paste"))
      : null;
    var min = parseFloat(el.getAttribute("data-min-sq-mi"));
    var max = parseFloat(el.getAttribute("data-max-sq-mi"));
    var range = !isNaN(min) && !isNaN(max) ? " Allowed: " + min + " to " + max + " square miles." : "";

    var map = L.map(el, { scrollWheelZoom: false });
    var tiles = el.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, { maxZoom: 19, attribution: "&copy; OpenStreetMap contributors" }).addTo(map);
    } else {
      el.classList.add("no-tiles");
    }

    var outline = null;
    var boundsText = el.getAttribute("data-bounds");
    if (boundsText) {
      try {
        outline = L.geoJSON(JSON.parse(boundsText), {
          pmIgnore: true,
          interactive: false,
          style: { color: "#4a5360", weight: 2, dashArray: "6 6", fill: false }
        }).addTo(map);
      } catch (e) {
        outline = null;
      }
    }

    var drawn = null;
    var style = { color: "#0b4f8a", weight: 3, fillColor: "#1f78c8", fillOpacity: 0.2 };

    function show(text, state) {
      if (!readout) {
        return;
      }
      readout.textContent = text;
      readout.classList.remove("readout-ok", "readout-bad");
      if (state) {
        readout.classList.add("readout-" + state);
      }
    }

    function report(geometry) {
      if (!geometry) {
        show("No area drawn yet." + range, null);
        return;
      }
      var sq = polygonSqMi(geometry);
      var text = "Area: about " + format(sq) + " square miles.";
      var state = null;
      if (!isNaN(min) && sq < min) {
        text += " Too small: the smallest allowed is " + min + ".";
        state = "bad";
      } else if (!isNaN(max) && sq > max) {
        text += " Too large: the largest allowed is " + max + ".";
        state = "bad";
      } else if (range) {
        text += range;
        state = "ok";
      }
      show(text, state);
    }

    function changed() {
      input.dispatchEvent(new Event("change", { bubbles: true }));
    }

    // The drawn layer's geometry into the input (and the paste box).
    function write() {
      var geometry = drawn ? drawn.toGeoJSON(6).geometry : null;
      input.value = geometry ? JSON.stringify(geometry) : "";
      if (paste && document.activeElement !== paste) {
        paste.value = input.value;
      }
      report(geometry);
      changed();
    }

    function watch(layer) {
      layer.on("pm:edit", write);
      layer.on("pm:dragend", write);
    }

    function replace(layer) {
      if (drawn && drawn !== layer) {
        map.removeLayer(drawn);
      }
      drawn = layer;
      if (drawn) {
        drawn.setStyle(style);
        watch(drawn);
      }
    }

    function draw(geometry) {
      var layer = L.polygon(L.GeoJSON.coordsToLatLngs(geometry.coordinates, 1)).addTo(map);
      replace(layer);
      return layer;
    }

    // The view first: Leaflet draws a shape only on a map that has one.
    var initial = parse(input.value);
    if (outline && outline.getLayers().length) {
      map.fitBounds(outline.getBounds(), { padding: [12, 12] });
    } else if (initial) {
      map.fitBounds(L.geoJSON(initial).getBounds(), { padding: [24, 24] });
    } else {
      map.setView([20, 0], 2);
    }
    if (initial) {
      draw(initial);
    }
    report(initial || null);

    if (map.pm) {
      map.pm.setGlobalOptions({ pathOptions: style, snappable: false });
      map.pm.addControls({
        position: "topleft",
        drawMarker: false,
        drawCircleMarker: false,
        drawPolyline: false,
        drawCircle: false,
        drawText: false,
        drawRectangle: true,
        drawPolygon: true,
        editMode: true,
        dragMode: true,
        cutPolygon: false,
        rotateMode: false,
        removalMode: true
      });
      // Geoman names its buttons only by the container's tooltip; screen readers and keyboard
      // users need the name on the button itself.
      el.querySelectorAll(".button-container[title] > .leaflet-buttons-control-button").forEach(function (a) {
        a.setAttribute("aria-label", a.parentNode.getAttribute("title"));
      });
      map.on("pm:create", function (e) {
        replace(e.layer);
        write();
      });
      map.on("pm:remove", function (e) {
        if (e.layer === drawn) {
          drawn = null;
          write();
        }
      });
    }

    if (paste) {
      paste.addEventListener("input", function () {
        input.value = paste.value;
        var geometry = parse(paste.value);
        if (geometry) {
          draw(geometry);
          map.fitBounds(drawn.getBounds(), { padding: [24, 24], maxZoom: 17 });
          report(geometry);
        } else if (geometry === null) {
          if (drawn) {
            map.removeLayer(drawn);
            drawn = null;
          }
          report(null);
        } else {
          show("Not a GeoJSON Polygon yet: { \"type\": \"Polygon\", \"coordinates\": [[[lon, lat], …]] }.", "bad");
        }
        changed();
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (typeof L === "undefined") {
      return;
    }
    document.querySelectorAll(".draw-map[data-input]").forEach(setup);
  });
})();
