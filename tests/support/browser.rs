//! A real browser for tests: Debian's `chromium`, headless, driven through `chromedriver`
//! (WebDriver) with fantoccini. Each [`Browser`] starts its own chromedriver on a free port and
//! a Chromium with a fresh profile, and ends both when finished or dropped.
//!
//! Without chromium or chromedriver on the machine, [`Browser::start`] answers `None` and the
//! test reports SKIPPED, unless `CANVASS_REQUIRE_BROWSER=1` (CI), which makes that a failure.
//!
//! Include it with `#[path = "support/browser.rs"] mod browser;` next to `mod common;`.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use axum::http::Method;
use fantoccini::actions::{InputSource, MOUSE_BUTTON_LEFT, MouseActions, PointerAction};
use fantoccini::elements::Element;
use fantoccini::wd::{Capabilities, WebDriverCompatibleCommand};
use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{Value, json};

/// The server for browser tests: no map tiles (there is no network; the maps must work
/// without them).
pub async fn server() -> crate::common::TestApp {
    crate::common::TestApp::start_with(|a| a.tile_url = Some(String::new())).await
}

/// A browser for `test` on `t`, or `None` (SKIPPED) when the machine has none.
pub async fn browser(test: &str, t: &crate::common::TestApp) -> Option<Browser> {
    crate::common::announce(test);
    Browser::start(test, &t.base).await
}

/// A client that shows redirects instead of following them, as a browser's network log would.
pub fn raw_client() -> reqwest::Client {
    canvass::install_tls_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Where screenshots always go (under the target folder, ignored by git).
fn scratch_dir() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("browser-screenshots")
}

/// The committed screenshots, refreshed only with `CANVASS_UPDATE_SCREENSHOTS=1` (so a test
/// run leaves the working tree as it was).
pub fn docs_dir() -> Option<PathBuf> {
    (std::env::var("CANVASS_UPDATE_SCREENSHOTS").as_deref() == Ok("1"))
        .then(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/screenshots"))
}

fn find_program(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    for dir in std::env::split_paths(&path) {
        for name in names {
            let candidate = dir.join(name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    None
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// One browser's network use on one page, from the Resource Timing API.
#[derive(Debug, Clone, Default)]
pub struct PageWeight {
    /// Bytes of the page and its assets as sent (compressed bodies), tiles excluded.
    pub encoded: u64,
    /// The same, uncompressed.
    pub decoded: u64,
    /// How many files (the page included).
    pub files: u64,
}

/// chromedriver's (non-W3C) log endpoint: the browser's console and network errors since the
/// last call. fantoccini has no command for it.
#[derive(Debug)]
struct GetBrowserLog;

/// A Chrome DevTools Protocol command through chromedriver, which fantoccini has no call for.
#[derive(Debug)]
struct Cdp {
    cmd: &'static str,
    params: Value,
}

impl WebDriverCompatibleCommand for Cdp {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!(
            "session/{}/goog/cdp/execute",
            session_id.unwrap_or_default()
        ))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        (
            Method::POST,
            Some(json!({"cmd": self.cmd, "params": self.params}).to_string()),
        )
    }
}

impl WebDriverCompatibleCommand for GetBrowserLog {
    fn endpoint(
        &self,
        base_url: &url::Url,
        session_id: Option<&str>,
    ) -> Result<url::Url, url::ParseError> {
        base_url.join(&format!("session/{}/log", session_id.unwrap_or_default()))
    }

    fn method_and_body(&self, _: &url::Url) -> (Method, Option<String>) {
        (Method::POST, Some(r#"{"type":"browser"}"#.to_owned()))
    }
}

/// A headless Chromium and its chromedriver.
pub struct Browser {
    /// The WebDriver session.
    pub driver: Client,
    /// The server's base URL (`http://127.0.0.1:PORT`).
    pub base: String,
    chromedriver: Option<Child>,
    profile: PathBuf,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium with a fresh profile, for the server at
    /// `base`. `None` (after printing SKIPPED) when they are not installed, unless
    /// `CANVASS_REQUIRE_BROWSER=1`.
    pub async fn start(test: &str, base: &str) -> Option<Browser> {
        // `wait_ready` polls with the service's reqwest client, on rustls.
        canvass::install_tls_provider();
        let chromium = find_program(&["chromium", "chromium-browser", "google-chrome"]);
        let driver = find_program(&["chromedriver"]);
        let (Some(chromium), Some(chromedriver)) = (chromium, driver) else {
            let why = "chromium and chromedriver are not installed (Debian: apt-get install chromium chromium-driver)";
            if std::env::var("CANVASS_REQUIRE_BROWSER").as_deref() == Ok("1") {
                panic!("CANVASS_REQUIRE_BROWSER=1 but {why}");
            }
            eprintln!("SKIPPED {test}: {why}");
            return None;
        };
        let port = free_port();
        let profile = std::env::temp_dir().join(format!(
            "canvass-chromium-{}",
            uuid::Uuid::new_v4().simple()
        ));
        std::fs::create_dir_all(&profile).unwrap();
        let log = std::fs::File::create(profile.with_extension("chromedriver.log")).unwrap();
        let mut cmd = Command::new(&chromedriver);
        cmd.arg(format!("--port={port}"))
            // Times on the pages and in screenshots read the same on every machine.
            .env("TZ", "UTC")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        {
            // Its own process group, so ending it ends the Chromium it started too.
            use std::os::unix::process::CommandExt;
            cmd.process_group(0);
        }
        let child = cmd.spawn().expect("start chromedriver");
        let mut browser_guard = Guard {
            child: Some(child),
            profile: profile.clone(),
        };
        let driver_url = format!("http://127.0.0.1:{port}");
        wait_ready(&driver_url).await;

        let profile_arg = format!("--user-data-dir={}", profile.display());
        let args = [
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-first-run",
            "--disable-dev-shm-usage",
            "--disable-extensions",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
            "--lang=en-US",
            "--window-size=1200,900",
            &profile_arg,
        ];
        let caps: Capabilities = serde_json::from_value(json!({
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": chromium.display().to_string(), "args": args},
            // Without this chromedriver keeps no console log for `GetBrowserLog`.
            "goog:loggingPrefs": {"browser": "ALL"},
        }))
        .unwrap();
        let driver = ClientBuilder::new(HttpConnector::new())
            .capabilities(caps)
            .connect(&driver_url)
            .await
            .expect("a Chromium session through chromedriver");
        Some(Browser {
            driver,
            base: base.trim_end_matches('/').to_owned(),
            chromedriver: browser_guard.child.take(),
            profile,
        })
    }

    /// Closes the browser and stops chromedriver.
    pub async fn finish(mut self) {
        let _ = self.driver.clone().close().await;
        stop(self.chromedriver.take());
        let _ = std::fs::remove_dir_all(&self.profile);
        let _ = std::fs::remove_file(self.profile.with_extension("chromedriver.log"));
    }

    /// Signs the browser in with a session token from the API's login (the session cookie holds
    /// the same token), so a test reaches a role's pages without the sign-in form: TOTP codes
    /// are single-use, and the account's login already used the current one. The cookie is set
    /// through the DevTools protocol, as the server sets it (HttpOnly, SameSite=Lax):
    /// chromedriver refuses WebDriver's Add Cookie on a bare 127.0.0.1 host.
    pub async fn use_session(&self, token: &str) {
        self.cdp(
            "Network.setCookie",
            json!({
                "name": "canvass_session",
                "value": token,
                "url": format!("{}/", self.base),
                "path": "/",
                "httpOnly": true,
                "sameSite": "Lax",
            }),
        )
        .await;
    }

    /// Runs a Chrome DevTools Protocol command (chromedriver's `goog/cdp/execute`).
    pub async fn cdp(&self, cmd: &'static str, params: Value) -> Value {
        self.driver.issue_cmd(Cdp { cmd, params }).await.unwrap()
    }

    /// Polls `script` (a function body) until it answers `true`, up to 15 s.
    pub async fn wait_js(&self, what: &str, script: &str) {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if self.js(script, vec![]).await == json!(true) {
                return;
            }
            assert!(Instant::now() < deadline, "timed out waiting for {what}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Waits until the element matching `css` holds `needle` (after a form posted to the
    /// page's own address, where waiting for the path proves nothing), up to 15 s; its text.
    pub async fn wait_text(&self, css: &str, needle: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            let v = self
                .js(
                    "const e = document.querySelector(arguments[0]); return e ? e.innerText : '';",
                    vec![json!(css)],
                )
                .await;
            if let Some(text) = v.as_str().filter(|t| t.contains(needle)) {
                return text.to_owned();
            }
            assert!(
                Instant::now() < deadline,
                "{css} never said {needle:?}; it says {v}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Sets a field's value from a script, with the `input` event typing would fire (a
    /// `datetime-local` picker takes typed keys in its own segments, which differ by locale).
    pub async fn set_value(&self, css: &str, value: &str) {
        self.js(
            "const e = document.querySelector(arguments[0]); e.value = arguments[1]; e.dispatchEvent(new Event('input', {bubbles: true}));",
            vec![json!(css), json!(value)],
        )
        .await;
    }

    /// Draws a rectangle on the Leaflet map `map_css` with Leaflet-Geoman's rectangle tool, as
    /// a person does: two clicks, 40 × 30 px up-left of the map's centre and 20 × 10 px
    /// down-right of it.
    pub async fn draw_rectangle(&self, map_css: &str) {
        self.js(
            "document.querySelector(arguments[0]).scrollIntoView({block: 'center'});",
            vec![json!(map_css)],
        )
        .await;
        self.click(&format!(
            "{map_css} .button-container[title='Draw Rectangle'] a"
        ))
        .await;
        let map = self.find(map_css).await;
        let left = MOUSE_BUTTON_LEFT;
        let clicks = MouseActions::new("mouse".into())
            .then(PointerAction::MoveToElement {
                element: map.clone(),
                duration: None,
                x: -40.0,
                y: -30.0,
            })
            .then(PointerAction::Down { button: left })
            .then(PointerAction::Up { button: left })
            .then(PointerAction::MoveToElement {
                element: map,
                duration: Some(Duration::from_millis(200)),
                x: 20.0,
                y: 10.0,
            })
            .then(PointerAction::Down { button: left })
            .then(PointerAction::Up { button: left });
        self.driver.perform_actions(clicks).await.unwrap();
    }

    /// Opens `path` on the server.
    pub async fn open(&self, path: &str) {
        self.driver
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap();
    }

    /// The path (and query) of the page shown.
    pub async fn path(&self) -> String {
        let url = self.driver.current_url().await.unwrap();
        match url.query() {
            Some(q) => format!("{}?{q}", url.path()),
            None => url.path().to_owned(),
        }
    }

    /// The element matching `css`, waiting for it up to 10 s.
    pub async fn find(&self, css: &str) -> Element {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.driver.find(Locator::Css(css)).await {
                Ok(e) => return e,
                Err(e) if Instant::now() > deadline => panic!("no element {css}: {e}"),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Whether an element matches `css` now.
    pub async fn has(&self, css: &str) -> bool {
        !self
            .driver
            .find_all(Locator::Css(css))
            .await
            .unwrap()
            .is_empty()
    }

    /// The text of the element matching `css`, waiting for it up to 10 s. Read in one script
    /// call, so an element that htmx swaps out meanwhile is never half-read.
    pub async fn text(&self, css: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let v = self
                .js(
                    "const e = document.querySelector(arguments[0]); return e ? e.innerText : null;",
                    vec![json!(css)],
                )
                .await;
            if let Some(text) = v.as_str() {
                return text.to_owned();
            }
            assert!(Instant::now() < deadline, "no element {css}");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The current value of the field matching `css`.
    pub async fn value(&self, css: &str) -> Option<String> {
        self.find(css).await.prop("value").await.unwrap()
    }

    /// Types `text` into the field matching `css`, after clearing it.
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        e.clear().await.unwrap();
        if !text.is_empty() {
            e.send_keys(text).await.unwrap();
        }
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.find(css).await.click().await.unwrap();
    }

    /// Clicks the link whose text is `text`.
    pub async fn click_link(&self, text: &str) {
        self.driver
            .find(fantoccini::Locator::LinkText(text))
            .await
            .unwrap()
            .click()
            .await
            .unwrap();
    }

    /// Waits until the page's path is `path` (after a form post and its redirect).
    pub async fn wait_for_path(&self, path: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let now = self.driver.current_url().await.unwrap();
            if now.path() == path {
                return;
            }
            if Instant::now() > deadline {
                let main = match self.driver.find(Locator::Css("main")).await {
                    Ok(m) => m.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                panic!("still on {now}, expected {path}; the page says: {main}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and answers its JSON result.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.driver.execute(script, args).await.unwrap()
    }

    /// The browser's log since the last call: console messages, JavaScript errors, failed
    /// loads and CSP violations, as (level, message).
    pub async fn log(&self) -> Vec<(String, String)> {
        let entries = self.driver.issue_cmd(GetBrowserLog).await.unwrap();
        entries
            .as_array()
            .map(|list| {
                list.iter()
                    .map(|e| {
                        let field = |k: &str| e[k].as_str().unwrap_or_default().to_owned();
                        (field("level"), field("message"))
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Checks the page shown, after its scripts ran: no console error or CSP violation, no
    /// inline script, an `<html lang>`, one `<h1>`, a label for every field, alt text for
    /// every image, a name for every button and link, text contrast (WCAG AA), and nothing
    /// wider than the window.
    /// `allowed` lists substrings of log errors this page expects (a refused form's status).
    pub async fn assert_clean(&self, page: &str, allowed: &[&str]) {
        // Let deferred scripts and late loads finish.
        self.js(
            "return new Promise(r => { if (document.readyState === 'complete') { setTimeout(r, 150); } else { addEventListener('load', () => setTimeout(r, 150)); } });",
            vec![],
        )
        .await;
        let errors: Vec<_> = self
            .log()
            .await
            .into_iter()
            .filter(|(level, msg)| {
                (level == "SEVERE" || msg.contains("Content Security Policy"))
                    && !allowed.iter().any(|a| msg.contains(a))
            })
            .collect();
        assert!(errors.is_empty(), "{page}: browser errors: {errors:#?}");
        let problems = self.js(AUDIT, vec![]).await;
        assert_eq!(problems, json!([]), "{page}: page problems");
    }

    /// The page's weight as transferred: the document and every file it loaded from this
    /// server (map tiles and anything else from elsewhere are left out).
    pub async fn weight(&self) -> PageWeight {
        let v = self.js(WEIGHT, vec![]).await;
        PageWeight {
            encoded: v["encoded"].as_u64().unwrap(),
            decoded: v["decoded"].as_u64().unwrap(),
            files: v["files"].as_u64().unwrap(),
        }
    }

    /// Resizes the window (phone and desktop layouts).
    pub async fn window(&self, width: u32, height: u32) {
        self.driver.set_window_size(width, height).await.unwrap();
    }

    /// Saves a screenshot of the window as `NAME.png`: always under the target folder, and
    /// in `docs/screenshots/` with `CANVASS_UPDATE_SCREENSHOTS=1`.
    pub async fn screenshot(&self, name: &str) {
        let png = self.driver.screenshot().await.unwrap();
        let mut dirs = vec![scratch_dir()];
        dirs.extend(docs_dir());
        for dir in dirs {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{name}.png")), &png).unwrap();
        }
    }
}

/// Checks run in the page. Answers a list of problems, empty when there are none.
const AUDIT: &str = r#"
const problems = [];
if (!document.documentElement.lang) problems.push('no lang on <html>');
const h1 = document.querySelectorAll('h1').length;
if (h1 !== 1) problems.push(h1 + ' <h1> elements');
for (const s of document.querySelectorAll('script')) {
  if (!s.src && s.type !== 'application/json') problems.push('inline script: ' + s.outerHTML.slice(0, 80));
}
for (const el of document.querySelectorAll('input, select, textarea')) {
  if (el.type === 'hidden') continue;
  const named = (el.labels && el.labels.length > 0) || el.getAttribute('aria-label') || el.getAttribute('aria-labelledby');
  if (!named) problems.push('field without a label: ' + el.outerHTML.slice(0, 80));
}
for (const img of document.querySelectorAll('img')) {
  if (!img.hasAttribute('alt')) problems.push('image without alt: ' + img.outerHTML.slice(0, 80));
}
for (const el of document.querySelectorAll('button, a[href]')) {
  const name = (el.textContent || '').trim() || el.getAttribute('aria-label') || el.getAttribute('title');
  if (!name && !el.hidden && el.offsetParent !== null) problems.push('unnamed control: ' + el.outerHTML.slice(0, 80));
}
// Text contrast (WCAG 2 AA): 4.5:1, or 3:1 for large text, against the nearest opaque
// background. The map's own controls (Leaflet's) are left out.
const rgb = c => { const m = c.match(/rgba?\(([^)]+)\)/); if (!m) return null; const p = m[1].split(',').map(parseFloat); return {c: p.slice(0, 3), a: p.length > 3 ? p[3] : 1}; };
const lum = c => { const f = v => { v /= 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); }; return 0.2126 * f(c[0]) + 0.7152 * f(c[1]) + 0.0722 * f(c[2]); };
const background = el => { for (let e = el; e; e = e.parentElement) { const b = rgb(getComputedStyle(e).backgroundColor); if (b && b.a > 0.5) return b.c; } return [255, 255, 255]; };
for (const el of document.querySelectorAll('body *')) {
  if (el.closest('.leaflet-container') || el.closest('svg')) continue;
  const text = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
  if (!text || el.offsetParent === null) continue;
  const s = getComputedStyle(el);
  const fg = rgb(s.color).c, bg = background(el);
  const [hi, lo] = [lum(fg), lum(bg)].sort((a, b) => b - a);
  const ratio = (hi + 0.05) / (lo + 0.05);
  const size = parseFloat(s.fontSize), bold = parseInt(s.fontWeight, 10) >= 700;
  const needed = (size >= 24 || (size >= 18.66 && bold)) ? 3 : 4.5;
  if (ratio < needed) problems.push('contrast ' + ratio.toFixed(2) + ' < ' + needed + ': ' + el.textContent.trim().slice(0, 40));
}
if (document.documentElement.scrollWidth > window.innerWidth + 1) {
  problems.push('wider than the window: ' + document.documentElement.scrollWidth + ' > ' + window.innerWidth);
}
return problems;
"#;

/// Sums the Resource Timing entries of this origin. `encodedBodySize` is the body as sent
/// (gzipped where it was), and is reported even when the file came from the cache, so each
/// page is weighed as a first visit.
const WEIGHT: &str = r#"
const nav = performance.getEntriesByType('navigation')[0];
let encoded = nav.encodedBodySize, decoded = nav.decodedBodySize, files = 1;
for (const r of performance.getEntriesByType('resource')) {
  if (new URL(r.name).origin !== location.origin) continue;
  encoded += r.encodedBodySize; decoded += r.decodedBodySize; files += 1;
}
return {encoded, decoded, files};
"#;

async fn wait_ready(url: &str) {
    let client = canvass::http_client();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(r) = client.get(format!("{url}/status")).send().await
            && r.status().is_success()
        {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver did not answer on {url}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Ends chromedriver's process group (chromedriver and the Chromium it started).
fn stop(child: Option<Child>) {
    let Some(mut child) = child else {
        return;
    };
    let group = format!("-{}", child.id());
    let _ = Command::new("kill")
        .args(["-TERM", "--", &group])
        .stderr(Stdio::null())
        .status();
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = child.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let _ = Command::new("kill")
        .args(["-KILL", "--", &group])
        .stderr(Stdio::null())
        .status();
    let _ = child.wait();
}

/// Stops chromedriver if starting the session failed half-way.
struct Guard {
    child: Option<Child>,
    profile: PathBuf,
}

impl Drop for Guard {
    fn drop(&mut self) {
        if self.child.is_some() {
            stop(self.child.take());
            let _ = std::fs::remove_dir_all(&self.profile);
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A test that panicked never called `finish`: do not leave Chromium running.
        stop(self.chromedriver.take());
        let _ = std::fs::remove_dir_all(&self.profile);
    }
}
