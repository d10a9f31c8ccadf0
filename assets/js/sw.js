// Canvass's service worker, served at /sw.js with the whole site as its scope. It shows the
// Web Push notifications the server sends when a Community Request is published for the
// resident's area, and opens the request when one is clicked. It caches nothing: the pages
// are always fetched fresh.
//
// The payload (see `jobs::push::notification_payload`) is JSON:
// {"title": "Community Request from <agency>", "body": "<incident> — <timeframe>", "url": "<link>"};
// `url` is left out when it would be too long, and then the feed opens.
/* global self, clients */
(function () {
  "use strict";

  function feedUrl() {
    return new URL("/feed", self.location.origin).href;
  }

  // Only web links open; anything else opens the feed.
  function openable(url) {
    if (typeof url !== "string" || !url) {
      return feedUrl();
    }
    try {
      var parsed = new URL(url, self.location.origin);
      if (parsed.protocol === "https:" || parsed.protocol === "http:") {
        return parsed.href;
      }
    } catch (e) {
      // Not a URL.
    }
    return feedUrl();
  }

  self.addEventListener("install", function () {
    self.skipWaiting();
  });

  self.addEventListener("activate", function (event) {
    event.waitUntil(self.clients.claim());
  });

  self.addEventListener("push", function (event) {
    var data = {};
    if (event.data) {
      try {
        data = event.data.json() || {};
      } catch (e) {
        data = { body: event.data.text() };
      }
    }
    var url = openable(data.url);
    var options = {
      body: typeof data.body === "string" ? data.body : "A new Community Request for your area.",
      data: { url: url },
      tag: url,
      lang: "en"
    };
    if (self.CANVASS_ICON) {
      options.icon = self.CANVASS_ICON;
    }
    var title = typeof data.title === "string" && data.title ? data.title : "Canvass";
    event.waitUntil(self.registration.showNotification(title, options));
  });

  self.addEventListener("notificationclick", function (event) {
    event.notification.close();
    var url = openable(event.notification.data && event.notification.data.url);
    event.waitUntil(
      clients.matchAll({ type: "window", includeUncontrolled: true }).then(function (windows) {
        for (var i = 0; i < windows.length; i++) {
          if (windows[i].url === url && "focus" in windows[i]) {
            return windows[i].focus();
          }
        }
        return clients.openWindow(url);
      })
    );
  });
})();
