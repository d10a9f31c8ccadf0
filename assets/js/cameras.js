// "My cameras": the map that places a new camera, and uploads from the browser.
//
// The map fills the form's latitude and longitude fields when clicked; typing in them moves
// the marker, so keyboard users place the camera by typing. Tiles come from data-tiles (the
// tile_url setting); without tiles the marker still shows on a plain background.
//
// Each camera's upload form sends a file with tus-js-client to /api/v1/uploads, with the
// camera's id, the recording's start and end and the file's name as tus metadata. The
// session cookie authenticates it (same-origin requests carry `Origin`, which the server
// checks). A dropped connection is retried, and an upload that stopped (closed tab, lost
// network, Pause) resumes from where it stopped when the same file is chosen again for the
// same camera and times: tus-js-client keeps the upload's URL in localStorage under a
// fingerprint of those.
(function () {
  "use strict";

  var UPLOADS = "/api/v1/uploads";
  var CHUNK = 8 * 1024 * 1024;

  // ---- The map that places a new camera ----

  function number(text) {
    var v = parseFloat(String(text).trim().replace(",", "."));
    return isFinite(v) ? v : null;
  }

  function initMap() {
    var el = document.getElementById("camera-map");
    var latInput = document.getElementById("camera-lat");
    var lonInput = document.getElementById("camera-lon");
    if (!el || !latInput || !lonInput || typeof L === "undefined") {
      return;
    }
    var home = [number(el.getAttribute("data-lat")) || 0, number(el.getAttribute("data-lon")) || 0];
    var map = L.map(el, { scrollWheelZoom: false, attributionControl: true });
    var tiles = el.getAttribute("data-tiles");
    if (tiles) {
      L.tileLayer(tiles, { maxZoom: 19, attribution: "&copy; OpenStreetMap contributors" }).addTo(map);
    } else {
      el.classList.add("no-tiles");
    }
    // The home, for orientation.
    L.circleMarker(home, { radius: 5, color: "#4a5360", weight: 2, fillOpacity: 0.4 })
      .bindTooltip("Your home")
      .addTo(map);
    // The cameras already added, for orientation.
    var existing = [];
    try {
      existing = JSON.parse(el.getAttribute("data-cameras") || "[]");
    } catch (e) {
      existing = [];
    }
    existing.forEach(function (c) {
      L.circleMarker([c.lat, c.lon], { radius: 6, color: "#1d6b35", weight: 2, fillOpacity: 0.5 })
        .bindTooltip(String(c.name))
        .addTo(map);
    });
    var marker = null;

    function place(lat, lon, pan) {
      if (marker) {
        marker.setLatLng([lat, lon]);
      } else {
        marker = L.circleMarker([lat, lon], {
          radius: 9, color: "#0b4f8a", weight: 3, fillColor: "#1f78c8", fillOpacity: 0.6
        }).bindTooltip("The camera").addTo(map);
      }
      if (pan) {
        map.panTo([lat, lon]);
      }
    }

    var lat0 = number(latInput.value);
    var lon0 = number(lonInput.value);
    if (lat0 !== null && lon0 !== null) {
      map.setView([lat0, lon0], 17);
      place(lat0, lon0, false);
    } else {
      map.setView(home, 17);
    }

    map.on("click", function (e) {
      var lat = e.latlng.lat;
      var lon = L.Util.wrapNum(e.latlng.lng, [-180, 180], true);
      latInput.value = lat.toFixed(6);
      lonInput.value = lon.toFixed(6);
      place(lat, lon, false);
    });

    function typed() {
      var lat = number(latInput.value);
      var lon = number(lonInput.value);
      if (lat !== null && lon !== null && Math.abs(lat) <= 90 && Math.abs(lon) <= 180) {
        place(lat, lon, true);
      }
    }
    latInput.addEventListener("change", typed);
    lonInput.addEventListener("change", typed);
  }

  // ---- Uploads ----

  // `datetime-local` text (the device's time zone) as an RFC 3339 UTC time, or null.
  function isoTime(value) {
    if (!value) {
      return null;
    }
    var d = new Date(value);
    return isNaN(d.getTime()) ? null : d.toISOString();
  }

  // The server refuses paths, "..", control characters and long names; the name is only
  // shown to the resident, so a tidied one will do.
  function safeName(name) {
    var clean = String(name || "")
      .replace(/[\u0000-\u001f\u007f]/g, " ")
      .replace(/[\\/]/g, "_")
      .replace(/\.{2,}/g, ".")
      .trim();
    return clean.slice(0, 200) || "recording";
  }

  function percent(sent, total) {
    return total > 0 ? Math.floor((sent / total) * 100) : 0;
  }

  function megabytes(n) {
    return (n / 1e6).toFixed(n < 1e7 ? 1 : 0) + " MB";
  }

  // The server's JSON error message, if the answer has one.
  function serverMessage(response) {
    if (!response) {
      return "";
    }
    try {
      var body = JSON.parse(response.getBody() || "{}");
      return (body && body.error && body.error.message) || "";
    } catch (e) {
      return "";
    }
  }

  function explain(err) {
    var response = err && err.originalResponse;
    var status = response ? response.getStatus() : 0;
    var detail = serverMessage(response);
    switch (status) {
      case 415:
        return "This file is not a video Canvass can take: it accepts recordings in MP4, MOV, MKV, WebM or MPEG-TS containers. Choose the video file your camera saved." +
          (detail ? " (" + detail + ")" : "");
      case 413:
        return "This file is too large to upload." + (detail ? " " + detail : "");
      case 401:
        return "Your session has ended. Sign in again, then choose the file again: the upload goes on where it stopped.";
      case 403:
        return "The upload was refused." + (detail ? " " + detail : "");
      case 404:
        return "This camera no longer exists. Reload the page.";
      case 422:
      case 400:
        return "The upload was refused: " + (detail || "check the file and the times") + ".";
      default:
        if (status >= 500) {
          return "The server had a problem; the upload stopped. Choose the file again later to go on where it stopped.";
        }
        return "The upload stopped (the connection was lost?). Choose the same file again to go on where it stopped.";
    }
  }

  function initUpload(form) {
    var deviceId = form.getAttribute("data-device-id");
    var fileInput = form.querySelector("input[type=file]");
    var startInput = form.querySelector("input[name=started_at]");
    var endInput = form.querySelector("input[name=ended_at]");
    var submit = form.querySelector("button[type=submit]");
    var pause = form.querySelector("button[data-action=pause]");
    var progressBox = form.querySelector(".upload-progress");
    var progress = form.querySelector("progress");
    var status = form.querySelector(".upload-status");
    var upload = null;
    var paused = false;

    function say(state, text) {
      status.textContent = text;
      status.setAttribute("data-state", state);
    }

    function busy(on) {
      submit.disabled = on;
      fileInput.disabled = on;
      startInput.disabled = on;
      endInput.disabled = on;
      pause.hidden = !on;
    }

    pause.addEventListener("click", function () {
      if (!upload) {
        return;
      }
      if (paused) {
        paused = false;
        pause.textContent = "Pause";
        say("working", "Resuming…");
        upload.start();
      } else {
        paused = true;
        pause.textContent = "Resume";
        upload.abort();
        say("paused", "Paused. Press Resume, or choose the same file again later: the upload goes on where it stopped.");
      }
    });

    form.addEventListener("submit", function (event) {
      event.preventDefault();
      var file = fileInput.files && fileInput.files[0];
      var startedAt = isoTime(startInput.value);
      var endedAt = isoTime(endInput.value);
      if (!file) {
        say("error", "Choose a video file first.");
        fileInput.focus();
        return;
      }
      if (!startedAt || !endedAt) {
        say("error", "Enter when the recording started and ended.");
        (startedAt ? endInput : startInput).focus();
        return;
      }
      if (endedAt <= startedAt) {
        say("error", "The recording must end after it starts.");
        endInput.focus();
        return;
      }
      paused = false;
      pause.textContent = "Pause";
      progress.value = 0;
      progressBox.hidden = false;
      busy(true);
      say("working", "Starting the upload…");
      upload = new tus.Upload(file, {
        endpoint: window.location.origin + UPLOADS,
        chunkSize: CHUNK,
        retryDelays: [0, 1000, 3000, 5000, 10000],
        metadata: {
          device_id: deviceId,
          started_at: startedAt,
          ended_at: endedAt,
          filename: safeName(file.name)
        },
        // The same file for another camera or other times is another upload.
        fingerprint: function (f) {
          return Promise.resolve(["canvass", deviceId, f.name, f.type, f.size, f.lastModified, startedAt, endedAt].join("|"));
        },
        removeFingerprintOnSuccess: true,
        onProgress: function (sent, total) {
          var p = percent(sent, total);
          progress.value = p;
          say("working", "Uploading: " + p + "% (" + megabytes(sent) + " of " + megabytes(total) + ")");
        },
        onSuccess: function () {
          progress.value = 100;
          say("done", "Uploaded. Updating the list…");
          window.location.assign("/cameras?done=uploaded#camera-" + encodeURIComponent(deviceId));
        },
        onError: function (err) {
          busy(false);
          say("error", explain(err));
        }
      });
      upload.findPreviousUploads().then(function (previous) {
        if (previous.length > 0) {
          upload.resumeFromPreviousUpload(previous[0]);
          say("working", "Going on with an earlier upload of this file…");
        }
        upload.start();
      }, function () {
        upload.start();
      });
    });

    form.hidden = false;
  }

  function initUploads() {
    var forms = document.querySelectorAll("form.upload-form[data-device-id]");
    if (typeof tus === "undefined" || !tus.isSupported) {
      return;
    }
    forms.forEach(initUpload);
  }

  document.addEventListener("DOMContentLoaded", function () {
    initMap();
    initUploads();
  });
})();
