//! Cameras and tus 1.0 uploads: a client for the protocol, and the one-request upload
//! (creation-with-upload) of a whole recording.

use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::{Reply, Session, TestApp, fixture, ts};

/// Standard base64 with padding, as tus metadata and checksums carry values.
pub fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// An `Upload-Metadata` value from (key, value) pairs, in order.
pub fn metadata(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k} {}", b64(v.as_bytes())))
        .collect::<Vec<_>>()
        .join(",")
}

/// The value of header `name`; panics (showing the reply) when it is missing.
pub fn header<'a>(r: &'a Reply, name: &str) -> &'a str {
    r.headers
        .get(name)
        .unwrap_or_else(|| panic!("no {name} header: {:?} {}", r.headers, r.text))
        .to_str()
        .unwrap()
}

/// The reply's `Upload-Offset`.
pub fn offset(r: &Reply) -> u64 {
    header(r, "upload-offset").parse().unwrap()
}

/// A tus client: every request carries `Tus-Resumable: 1.0.0` and the caller's bearer token.
pub struct Tus<'a> {
    t: &'a TestApp,
    token: String,
}

impl<'a> Tus<'a> {
    /// A client for `t` that authenticates with `token` (a session's or a camera's).
    pub fn new(t: &'a TestApp, token: &str) -> Self {
        Self {
            t,
            token: token.to_owned(),
        }
    }

    /// A request to `path` with the tus version and the token, to add to and send.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.t
            .client
            .request(method, format!("{}{path}", self.t.base))
            .header("Tus-Resumable", "1.0.0")
            .bearer_auth(&self.token)
    }

    /// `POST` without a body.
    pub async fn create(&self, length: u64, metadata: &str) -> Reply {
        let r = self
            .request(reqwest::Method::POST, "/api/v1/uploads")
            .header("Upload-Length", length.to_string())
            .header("Upload-Metadata", metadata);
        TestApp::reply(r.send().await.unwrap()).await
    }

    /// `POST` with the first bytes (creation-with-upload).
    pub async fn create_with(&self, length: u64, metadata: &str, body: Vec<u8>) -> Reply {
        let r = self
            .request(reqwest::Method::POST, "/api/v1/uploads")
            .header("Upload-Length", length.to_string())
            .header("Upload-Metadata", metadata)
            .header("Content-Type", "application/offset+octet-stream")
            .body(body);
        TestApp::reply(r.send().await.unwrap()).await
    }

    /// Creates an upload (201 expected) and answers its location.
    pub async fn created(&self, length: u64, metadata: &str) -> String {
        let r = self.create(length, metadata).await;
        r.expect(201, None);
        assert_eq!(offset(&r), 0);
        header(&r, "location").to_owned()
    }

    /// `PATCH` of `bytes` at `offset`, with an `Upload-Checksum` when given and this
    /// `Content-Type`.
    pub async fn patch_as(
        &self,
        location: &str,
        offset: u64,
        bytes: Vec<u8>,
        checksum: Option<&str>,
        content_type: &str,
    ) -> Reply {
        let mut r = self
            .request(reqwest::Method::PATCH, location)
            .header("Upload-Offset", offset.to_string())
            .header("Content-Type", content_type)
            .body(bytes);
        if let Some(c) = checksum {
            r = r.header("Upload-Checksum", c);
        }
        TestApp::reply(r.send().await.unwrap()).await
    }

    /// A plain `PATCH` of `bytes` at `offset`.
    pub async fn patch(&self, location: &str, offset: u64, bytes: &[u8]) -> Reply {
        self.patch_as(
            location,
            offset,
            bytes.to_vec(),
            None,
            "application/offset+octet-stream",
        )
        .await
    }

    /// `HEAD` of an upload.
    pub async fn head(&self, location: &str) -> Reply {
        let r = self.request(reqwest::Method::HEAD, location);
        TestApp::reply(r.send().await.unwrap()).await
    }

    /// `DELETE` (termination) of an upload.
    pub async fn delete(&self, location: &str) -> Reply {
        let r = self.request(reqwest::Method::DELETE, location);
        TestApp::reply(r.send().await.unwrap()).await
    }

    /// Creates an upload and sends `bytes` in `PATCH`es of `chunk` bytes, each expected to
    /// move the offset on; stops at the first answer other than 204. Answers the location and
    /// the last reply.
    pub async fn upload(&self, bytes: &[u8], metadata: &str, chunk: usize) -> (String, Reply) {
        let location = self.created(bytes.len() as u64, metadata).await;
        let mut at = 0;
        let mut last = None;
        for piece in bytes.chunks(chunk) {
            let r = self.patch(&location, at, piece).await;
            if r.status.as_u16() != 204 {
                return (location, r);
            }
            at += piece.len() as u64;
            assert_eq!(offset(&r), at);
            last = Some(r);
        }
        (location, last.unwrap())
    }
}

/// Registers a camera of `owner` named `name` at (`lat`, `lon`) (201 expected); answers its id
/// and its upload token.
pub async fn camera(
    t: &TestApp,
    owner: &Session,
    name: &str,
    (lat, lon): (f64, f64),
) -> (String, String) {
    let r = t
        .post(
            "/api/v1/devices",
            Some(&owner.token),
            json!({"name": name, "location": {"lat": lat, "lon": lon}}),
        )
        .await;
    r.expect(201, None);
    (
        r.body["id"].as_str().unwrap().to_owned(),
        r.body["token"].as_str().unwrap().to_owned(),
    )
}

/// Uploads `bytes` as `who`'s recording `filename` from camera `device`, made from `started`
/// to `ended`, in one tus creation-with-upload (201 expected); answers the recording's id.
pub async fn upload_recording(
    t: &TestApp,
    who: &Session,
    device: &str,
    filename: &str,
    bytes: Vec<u8>,
    (started, ended): (DateTime<Utc>, DateTime<Utc>),
) -> String {
    let meta = metadata(&[
        ("device_id", device),
        ("started_at", &ts(started)),
        ("ended_at", &ts(ended)),
        ("filename", filename),
    ]);
    let r = Tus::new(t, &who.token)
        .create_with(bytes.len() as u64, &meta, bytes)
        .await;
    r.expect(201, None);
    header(&r, "canvass-recording-id").to_owned()
}

/// [`upload_recording`] of the fixture `file`, under its own name.
pub async fn upload_fixture(
    t: &TestApp,
    who: &Session,
    device: &str,
    file: &str,
    during: (DateTime<Utc>, DateTime<Utc>),
) -> String {
    upload_recording(t, who, device, file, fixture(file), during).await
}
