//! The pages' static files, embedded by `build.rs`: the npm packages' dist files under
//! `vendor/`, and our own `assets/`. Served at `/assets/VERSION/PATH`; VERSION is a hash of every
//! asset, so a URL never changes meaning and browsers may keep it for a year.

use axum::extract::Path;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

mod generated {
    include!(concat!(env!("OUT_DIR"), "/assets.rs"));
}

/// A hash of every embedded asset; part of every asset URL.
pub const VERSION: &str = generated::VERSION;

/// The embedded file at `path` (`css/site.css`, `vendor/leaflet/leaflet.js`): its bytes and
/// gzipped bytes.
pub fn find(path: &str) -> Option<(&'static [u8], &'static [u8])> {
    generated::ASSETS
        .binary_search_by(|(p, _, _)| (*p).cmp(path))
        .ok()
        .and_then(|i| generated::ASSETS.get(i))
        .map(|(_, raw, gz)| (*raw, *gz))
}

/// Every embedded asset's path.
pub fn paths() -> impl Iterator<Item = &'static str> {
    generated::ASSETS.iter().map(|(p, _, _)| *p)
}

/// The URL of an asset, or `None` when there is no such file.
pub fn url(path: &str) -> Option<String> {
    find(path).map(|_| format!("/assets/{VERSION}/{path}"))
}

fn content_type(path: &str) -> &'static str {
    match path.rsplit_once('.').map(|(_, ext)| ext) {
        Some("js") => "text/javascript; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("svg") => "image/svg+xml",
        Some("png") => "image/png",
        Some("ico") => "image/x-icon",
        Some("webmanifest") => "application/manifest+json",
        Some("json") => "application/json",
        Some("woff2") => "font/woff2",
        Some("txt") => "text/plain; charset=utf-8",
        _ => "application/octet-stream",
    }
}

fn accepts_gzip(headers: &HeaderMap) -> bool {
    headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|coding| {
            let mut parts = coding.split(';');
            let name = parts.next().unwrap_or_default().trim();
            let refused = parts.any(|p| {
                p.trim()
                    .strip_prefix("q=")
                    .is_some_and(|q| q.trim().parse::<f32>().is_ok_and(|q| q <= 0.0))
            });
            name.eq_ignore_ascii_case("gzip") && !refused
        })
}

/// An embedded asset. The current version is cached for a year (`immutable`); a URL with
/// another version (a page rendered by an older or newer instance during a deploy) still gets
/// today's file, but not cached, so nothing stale sticks.
pub async fn get(Path((version, path)): Path<(String, String)>, headers: HeaderMap) -> Response {
    let Some((raw, gz)) = find(&path) else {
        return (StatusCode::NOT_FOUND, "no such asset").into_response();
    };
    let cache = if version == VERSION {
        "public, max-age=31536000, immutable"
    } else {
        "no-cache"
    };
    let mut response = if accepts_gzip(&headers) && gz.len() < raw.len() {
        let mut r = gz.into_response();
        r.headers_mut()
            .insert(header::CONTENT_ENCODING, HeaderValue::from_static("gzip"));
        r
    } else {
        raw.into_response()
    };
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(content_type(&path)),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
    h.insert(header::VARY, HeaderValue::from_static("Accept-Encoding"));
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_packages_and_our_files_are_embedded() {
        for path in [
            "vendor/leaflet/leaflet.js",
            "vendor/leaflet/leaflet.css",
            "vendor/geoman/leaflet-geoman.js",
            "vendor/htmx/htmx.js",
            "vendor/tus/tus.js",
            "css/site.css",
        ] {
            let (raw, gz) = find(path).unwrap_or_else(|| panic!("{path} is not embedded"));
            assert!(!raw.is_empty() && gz.starts_with(&[0x1f, 0x8b]), "{path}");
        }
        // Only dist files: no sources, maps or package manifests.
        assert!(
            paths().all(|p| !p.ends_with(".map") && !p.ends_with("package.json")),
            "{:?}",
            paths().collect::<Vec<_>>()
        );
        assert_eq!(VERSION.len(), 12);
    }

    #[test]
    fn source_map_comments_are_stripped() {
        let (raw, _) = find("vendor/leaflet/leaflet.js").unwrap_or_default();
        let text = String::from_utf8_lossy(raw);
        assert!(!text.contains("sourceMappingURL"));
    }

    #[test]
    fn gzip_is_chosen_only_when_accepted() {
        let mut h = HeaderMap::new();
        assert!(!accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("gzip, deflate, br"),
        );
        assert!(accepts_gzip(&h));
        h.insert(
            header::ACCEPT_ENCODING,
            HeaderValue::from_static("br, gzip;q=0"),
        );
        assert!(!accepts_gzip(&h));
    }
}
