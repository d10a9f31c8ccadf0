// "Enable push notifications" on the settings page. It registers the service worker (served
// at /sw.js so that its scope is the whole site), asks the browser's permission, subscribes
// with the server's VAPID public key (data-vapid-key, base64url) and registers the
// subscription with POST /api/v1/me/push-subscriptions. That call is authenticated by the
// session cookie; a same-origin fetch sends `Origin`, which the API checks against CSRF.
(function () {
  "use strict";

  var API = "/api/v1/me/push-subscriptions";
  // The browser asks its vendor's push service for an endpoint; without a network it may
  // never answer, and the page should say so rather than wait for ever.
  var SUBSCRIBE_TIMEOUT_MS = 10000;

  function withTimeout(promise, ms, why) {
    return new Promise(function (resolve, reject) {
      var timer = setTimeout(function () { reject(new Error(why)); }, ms);
      promise.then(function (v) {
        clearTimeout(timer);
        resolve(v);
      }, function (e) {
        clearTimeout(timer);
        reject(e);
      });
    });
  }

  function supported() {
    return "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
  }

  // The applicationServerKey: the 65-byte public key from its unpadded base64url text.
  function keyBytes(b64url) {
    var b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) {
      b64 += "=";
    }
    var raw = atob(b64);
    var out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) {
      out[i] = raw.charCodeAt(i);
    }
    return out;
  }

  function register() {
    return navigator.serviceWorker.register("/sw.js", { scope: "/" });
  }

  // Sends a PushSubscription (or its JSON form: {endpoint, keys: {p256dh, auth}}) to the
  // server. Resolves with the server's answer ({id}); rejects with an Error holding the
  // server's message.
  function sendSubscription(subscription) {
    var body = typeof subscription.toJSON === "function" ? subscription.toJSON() : subscription;
    return fetch(API, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      return response.json().catch(function () { return {}; }).then(function (json) {
        if (!response.ok) {
          var message = json && json.error && json.error.message;
          throw new Error(message || "the server answered " + response.status);
        }
        return json;
      });
    });
  }

  function Outcome(state, text) {
    this.state = state;
    this.text = text;
  }

  function init() {
    var panel = document.getElementById("push-panel");
    var button = document.getElementById("push-enable");
    var status = document.getElementById("push-status");
    if (!panel || !button || !status) {
      return;
    }
    var key = panel.getAttribute("data-vapid-key") || "";

    function show(state, text) {
      status.textContent = text;
      status.setAttribute("data-state", state);
    }

    if (!supported()) {
      button.disabled = true;
      show("unsupported", "This browser cannot receive push notifications. You can still get emails.");
      return;
    }
    if (!key) {
      button.disabled = true;
      show("unsupported", "Push notifications are not set up on this server.");
      return;
    }

    // Registered on every visit, so the worker is there (and up to date) before it is needed.
    register().then(function (registration) {
      return registration.pushManager.getSubscription();
    }).then(function (existing) {
      if (existing && Notification.permission === "granted") {
        show("enabled", "Push notifications are on in this browser.");
      }
    }).catch(function () {
      // Shown when the button is pressed, with the reason.
    });

    button.addEventListener("click", function () {
      button.disabled = true;
      show("working", "Asking your browser…");
      register().then(function () {
        return Notification.requestPermission();
      }).then(function (permission) {
        if (permission === "denied") {
          throw new Outcome("denied", "Your browser blocks notifications from this site. Allow them in the browser's site settings, then press the button again.");
        }
        if (permission !== "granted") {
          throw new Outcome("denied", "Notifications were not allowed. Press the button again to be asked again.");
        }
        return navigator.serviceWorker.ready;
      }).then(function (registration) {
        return registration.pushManager.getSubscription().then(function (existing) {
          return existing || withTimeout(registration.pushManager.subscribe({
            userVisibleOnly: true,
            applicationServerKey: keyBytes(key)
          }), SUBSCRIBE_TIMEOUT_MS, "no answer");
        }).catch(function (e) {
          throw new Outcome("error", "Your browser could not reach its push service (" + (e && e.message ? e.message : e) + "). Try again later.");
        });
      }).then(sendSubscription).then(function () {
        show("enabled", "Push notifications are on in this browser.");
      }).catch(function (e) {
        if (e instanceof Outcome) {
          show(e.state, e.text);
        } else {
          show("error", "Push notifications could not be turned on: " + (e && e.message ? e.message : e) + ".");
        }
      }).then(function () {
        button.disabled = false;
      });
    });
  }

  // For tests and other scripts: the subscription call on its own.
  window.CanvassPush = { register: register, sendSubscription: sendSubscription };

  document.addEventListener("DOMContentLoaded", init);
})();
