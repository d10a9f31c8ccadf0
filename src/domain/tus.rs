//! The rules of the tus 1.0.0 resumable upload protocol (core, creation, creation-with-upload,
//! termination, checksum, expiration) that need no I/O: header values, `Upload-Metadata`, and
//! what a recording's metadata must say before any byte is stored.
//!
//! The web layer reads the headers and calls these; the use cases call
//! [`recording_meta`] so the same rules hold whoever sends the upload.

use std::collections::BTreeMap;

use base64::Engine;
use chrono::{DateTime, Duration, Utc};

use super::validation::{Problems, ValidationError};

/// The protocol version this server speaks (`Tus-Resumable`, `Tus-Version`).
pub const TUS_VERSION: &str = "1.0.0";
/// The extensions announced in `Tus-Extension`.
pub const TUS_EXTENSIONS: &str = "creation,creation-with-upload,termination,checksum,expiration";
/// The checksum algorithms announced in `Tus-Checksum-Algorithm`.
pub const CHECKSUM_ALGORITHMS: &str = "sha1,sha256";
/// The content type of a `PATCH` body (and of a creation-with-upload `POST` body).
pub const OFFSET_OCTET_STREAM: &str = "application/offset+octet-stream";
/// The longest `Upload-Metadata` header accepted, in bytes: room for a 255-byte file name and
/// the keys browser clients add (`filetype`, `relativePath`), far below anything abusive.
pub const MAX_METADATA_BYTES: usize = 8 * 1024;
/// The longest file name kept, in bytes (the usual file-system limit).
pub const MAX_FILENAME_BYTES: usize = 255;
/// The longest camera id accepted in metadata (ids are UUIDs; this only bounds garbage).
const MAX_DEVICE_ID_CHARS: usize = 100;

/// The longest recording accepted: a day.
pub fn max_recording() -> Duration {
    Duration::hours(24)
}

/// How far in the future a recording may start: camera clocks drift a little, not more.
pub fn max_clock_skew() -> Duration {
    Duration::minutes(5)
}

/// A tus header that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TusError {
    /// `Upload-Offset` or `Upload-Length` is not a non-negative decimal integer.
    #[error("{header} must be a non-negative whole number of bytes; found {value:?}")]
    BadNumber {
        /// The header.
        header: &'static str,
        /// What it held.
        value: String,
    },
    /// `Upload-Checksum` is not `<algorithm> <base64 digest>` of the right length.
    #[error("Upload-Checksum must be `<algorithm> <base64 digest>`: {0}")]
    BadChecksum(String),
    /// The checksum algorithm is not one this server computes.
    #[error("the checksum algorithm {0:?} is not supported; use one of: sha1, sha256")]
    UnsupportedChecksumAlgorithm(String),
}

/// Reads `Upload-Offset` or `Upload-Length`: digits only, as tus requires.
pub fn parse_size(header: &'static str, value: &str) -> Result<u64, TusError> {
    let v = value.trim();
    if v.is_empty() || !v.bytes().all(|b| b.is_ascii_digit()) {
        return Err(TusError::BadNumber {
            header,
            value: value.to_owned(),
        });
    }
    v.parse::<u64>().map_err(|_| TusError::BadNumber {
        header,
        value: value.to_owned(),
    })
}

/// A checksum algorithm of the checksum extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChecksumAlgorithm {
    /// SHA-1 (20 bytes); weak, but what many tus clients send.
    Sha1,
    /// SHA-256 (32 bytes).
    Sha256,
}

impl ChecksumAlgorithm {
    /// The digest's length in bytes.
    pub fn digest_len(self) -> usize {
        match self {
            ChecksumAlgorithm::Sha1 => 20,
            ChecksumAlgorithm::Sha256 => 32,
        }
    }

    /// Its name in `Upload-Checksum`.
    pub fn as_str(self) -> &'static str {
        match self {
            ChecksumAlgorithm::Sha1 => "sha1",
            ChecksumAlgorithm::Sha256 => "sha256",
        }
    }
}

/// The expected digest of one request's bytes (`Upload-Checksum`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checksum {
    /// How it was computed.
    pub algorithm: ChecksumAlgorithm,
    /// The digest.
    pub digest: Vec<u8>,
}

/// Reads `Upload-Checksum: <algorithm> <base64>`.
pub fn parse_checksum(value: &str) -> Result<Checksum, TusError> {
    let (name, b64) = value
        .trim()
        .split_once(' ')
        .ok_or_else(|| TusError::BadChecksum("no space between algorithm and digest".into()))?;
    let algorithm = match name.to_ascii_lowercase().as_str() {
        "sha1" => ChecksumAlgorithm::Sha1,
        "sha256" => ChecksumAlgorithm::Sha256,
        _ => return Err(TusError::UnsupportedChecksumAlgorithm(name.to_owned())),
    };
    let digest = decode_base64(b64.trim())
        .ok_or_else(|| TusError::BadChecksum("the digest is not base64".into()))?;
    if digest.len() != algorithm.digest_len() {
        return Err(TusError::BadChecksum(format!(
            "a {} digest is {} bytes; this one is {}",
            algorithm.as_str(),
            algorithm.digest_len(),
            digest.len()
        )));
    }
    Ok(Checksum { algorithm, digest })
}

/// Standard base64, padded or not (clients differ).
fn decode_base64(s: &str) -> Option<Vec<u8>> {
    let e = base64::engine::general_purpose::STANDARD;
    let n = base64::engine::general_purpose::STANDARD_NO_PAD;
    e.decode(s).ok().or_else(|| n.decode(s).ok())
}

/// `Upload-Metadata` decoded: each key with its value's bytes (`None` for a key sent alone).
pub type Metadata = BTreeMap<String, Option<Vec<u8>>>;

/// Reads `Upload-Metadata`: comma-separated pairs of a key and a base64 value (the value may be
/// left out). Keys must be non-empty, unique, without spaces or commas. Every problem is
/// reported under the field `Upload-Metadata`.
pub fn parse_metadata(header: &str) -> Result<Metadata, ValidationError> {
    const FIELD: &str = "Upload-Metadata";
    let mut p = Problems::new();
    let mut out = Metadata::new();
    if header.len() > MAX_METADATA_BYTES {
        return Err(ValidationError::field(
            "invalid_input",
            FIELD,
            format!(
                "is {} bytes long; the limit is {MAX_METADATA_BYTES}",
                header.len()
            ),
        ));
    }
    if header.trim().is_empty() {
        return Ok(out);
    }
    for (i, pair) in header.split(',').enumerate() {
        let pair = pair.trim();
        let mut parts = pair.split(' ').filter(|s| !s.is_empty());
        let (key, value) = (parts.next(), parts.next());
        let Some(key) = key else {
            p.add(FIELD, format!("pair {} is empty", i + 1));
            continue;
        };
        if parts.next().is_some() {
            p.add(
                FIELD,
                format!("pair {:?} has more than a key and one value", key),
            );
            continue;
        }
        if !key.is_ascii() || key.chars().any(|c| c.is_ascii_control()) {
            p.add(
                FIELD,
                format!("key {key:?} must be printable ASCII without spaces or commas"),
            );
            continue;
        }
        let decoded = match value {
            None => None,
            Some(v) => match decode_base64(v) {
                Some(bytes) => Some(bytes),
                None => {
                    p.add(FIELD, format!("the value of {key:?} is not base64"));
                    continue;
                }
            },
        };
        if out.insert(key.to_owned(), decoded).is_some() {
            p.add(FIELD, format!("key {key:?} appears more than once"));
        }
    }
    p.finish("invalid_input", "The upload's metadata is not valid")?;
    Ok(out)
}

/// What an upload says about the recording it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordingMeta {
    /// The camera's id, when given (a camera's own token may leave it out).
    pub device_id: Option<String>,
    /// When the recording starts.
    pub started_at: DateTime<Utc>,
    /// When it ends (after the start, at most [`max_recording`] later).
    pub ended_at: DateTime<Utc>,
    /// The file's name on the camera, for display only: never used as a path.
    pub filename: Option<String>,
}

/// Checks an upload's metadata against the recording rules, at `now`: `started_at` and
/// `ended_at` are required RFC 3339 times, the end after the start, at most a day apart, the
/// start at most five minutes in the future; `filename`, when given, is a plain name. Keys this
/// server does not know (clients add `filetype`, `relativePath`, …) are ignored.
pub fn recording_meta(
    header: Option<&str>,
    now: DateTime<Utc>,
) -> Result<RecordingMeta, ValidationError> {
    let meta = parse_metadata(header.unwrap_or_default())?;
    let mut p = Problems::new();
    let text = |p: &mut Problems, key: &str| -> Option<String> {
        match meta.get(key) {
            None => None,
            Some(None) => {
                p.add(key, "has no value");
                None
            }
            Some(Some(bytes)) => match String::from_utf8(bytes.clone()) {
                Ok(s) => Some(s),
                Err(_) => {
                    p.add(key, "is not UTF-8 text");
                    None
                }
            },
        }
    };
    let device_id = text(&mut p, "device_id");
    if let Some(id) = &device_id
        && (id.trim().is_empty()
            || id.chars().count() > MAX_DEVICE_ID_CHARS
            || id.chars().any(char::is_control))
    {
        p.add("device_id", "is not a camera id");
    }
    let time = |p: &mut Problems, key: &str| -> Option<DateTime<Utc>> {
        let present = meta.contains_key(key);
        let value = text(p, key);
        match value {
            None if !present => {
                p.add(key, "is required (an RFC 3339 time, base64-encoded)");
                None
            }
            None => None,
            Some(s) => match DateTime::parse_from_rfc3339(s.trim()) {
                Ok(t) => Some(t.with_timezone(&Utc)),
                Err(e) => {
                    p.add(key, format!("{s:?} is not an RFC 3339 time: {e}"));
                    None
                }
            },
        }
    };
    let started_at = time(&mut p, "started_at");
    let ended_at = time(&mut p, "ended_at");
    if let (Some(start), Some(end)) = (started_at, ended_at) {
        if end <= start {
            p.add("started_at", "is not before ended_at");
            p.add("ended_at", "is not after started_at");
        } else if end - start > max_recording() {
            let minutes = (end - start).num_minutes();
            p.add(
                "ended_at",
                format!(
                    "makes the recording {}h{:02}m long; the limit is 24 hours",
                    minutes / 60,
                    minutes % 60
                ),
            );
        }
    }
    if let Some(start) = started_at
        && start > now + max_clock_skew()
    {
        p.add(
            "started_at",
            format!("{start} is in the future (more than 5 minutes after {now})"),
        );
    }
    let filename = text(&mut p, "filename");
    if let Some(name) = &filename {
        p.check("filename", check_filename(name));
    }
    p.finish("invalid_input", "The upload's metadata is not valid")?;
    match (started_at, ended_at) {
        (Some(started_at), Some(ended_at)) => Ok(RecordingMeta {
            device_id,
            started_at,
            ended_at,
            filename,
        }),
        // Unreachable: a missing time was reported above.
        _ => Err(ValidationError::field(
            "invalid_input",
            "started_at",
            "is required",
        )),
    }
}

/// A file name is shown, never used as a path, but one that looks like a path is refused so
/// no later consumer (an export, a download's `Content-Disposition`) is tempted.
pub fn check_filename(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is empty".into());
    }
    if name.len() > MAX_FILENAME_BYTES {
        return Err(format!(
            "is {} bytes long; the limit is {MAX_FILENAME_BYTES}",
            name.len()
        ));
    }
    if name.contains('/') || name.contains('\\') {
        return Err("must be a file name, not a path (no / or \\)".into());
    }
    if name.contains("..") {
        return Err("must not contain \"..\"".into());
    }
    if name.chars().any(char::is_control) {
        return Err("contains control characters".into());
    }
    Ok(())
}

/// `Upload-Metadata` for the given recording fields, for a `HEAD` on a finished upload (the
/// header as first sent is not kept once the upload becomes a recording).
pub fn encode_metadata(pairs: &[(&str, &str)]) -> String {
    let e = base64::engine::general_purpose::STANDARD;
    pairs
        .iter()
        .map(|(k, v)| format!("{k} {}", e.encode(v.as_bytes())))
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 12, 0, 0).unwrap()
    }

    fn header(pairs: &[(&str, &str)]) -> String {
        pairs
            .iter()
            .map(|(k, v)| format!("{k} {}", b64(v)))
            .collect::<Vec<_>>()
            .join(",")
    }

    fn valid() -> Vec<(&'static str, &'static str)> {
        vec![
            ("device_id", "cam-1"),
            ("started_at", "2026-11-20T10:00:00Z"),
            ("ended_at", "2026-11-20T10:05:00Z"),
            ("filename", "porch.mp4"),
        ]
    }

    fn with(key: &'static str, value: &'static str) -> String {
        let mut v = valid();
        v.retain(|(k, _)| *k != key);
        v.push((key, value));
        header(&v)
    }

    fn fields(h: &str) -> Vec<String> {
        recording_meta(Some(h), now())
            .unwrap_err()
            .details
            .keys()
            .cloned()
            .collect()
    }

    #[test]
    fn sizes_are_digits_only() {
        assert_eq!(parse_size("Upload-Length", "42"), Ok(42));
        assert_eq!(parse_size("Upload-Length", "0"), Ok(0));
        for bad in [
            "",
            "-1",
            "+1",
            "1.5",
            "0x10",
            "1 2",
            "99999999999999999999999",
        ] {
            assert!(parse_size("Upload-Offset", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn checksums_parse_and_check_length() {
        let sha1 = b64(&"a".repeat(20));
        let c = parse_checksum(&format!("sha1 {sha1}")).unwrap();
        assert_eq!(c.algorithm, ChecksumAlgorithm::Sha1);
        let sha256 = b64(&"b".repeat(32));
        assert_eq!(
            parse_checksum(&format!("SHA256 {sha256}"))
                .unwrap()
                .algorithm,
            ChecksumAlgorithm::Sha256
        );
        assert!(matches!(
            parse_checksum(&format!("md5 {sha1}")),
            Err(TusError::UnsupportedChecksumAlgorithm(_))
        ));
        assert!(matches!(
            parse_checksum(&format!("sha256 {sha1}")),
            Err(TusError::BadChecksum(_))
        ));
        assert!(matches!(
            parse_checksum("sha1 not*base64"),
            Err(TusError::BadChecksum(_))
        ));
        assert!(matches!(
            parse_checksum("sha1"),
            Err(TusError::BadChecksum(_))
        ));
    }

    #[test]
    fn metadata_pairs_decode() {
        let m = parse_metadata(&format!("filename {},is_confidential", b64("a b.mp4"))).unwrap();
        assert_eq!(m["filename"], Some(b"a b.mp4".to_vec()));
        assert_eq!(m["is_confidential"], None);
        assert!(parse_metadata("").unwrap().is_empty());
    }

    #[test]
    fn malformed_metadata_is_refused() {
        for bad in [
            "filename %%%".to_owned(),
            format!("a {},a {}", b64("x"), b64("y")),
            format!("a {} extra", b64("x")),
            format!("a {},,b {}", b64("x"), b64("y")),
            "x".repeat(MAX_METADATA_BYTES + 1),
        ] {
            let e = parse_metadata(&bad).unwrap_err();
            assert!(e.details.contains_key("Upload-Metadata"), "{bad}");
        }
    }

    #[test]
    fn valid_metadata_passes() {
        let m = recording_meta(Some(&header(&valid())), now()).unwrap();
        assert_eq!(m.device_id.as_deref(), Some("cam-1"));
        assert_eq!(m.filename.as_deref(), Some("porch.mp4"));
        assert_eq!(m.ended_at - m.started_at, Duration::minutes(5));
        // Unknown keys, such as the ones browser clients add, are ignored.
        let mut v = valid();
        v.push(("filetype", "video/mp4"));
        v.retain(|(k, _)| *k != "filename" && *k != "device_id");
        let m = recording_meta(Some(&header(&v)), now()).unwrap();
        assert_eq!(m.device_id, None);
        assert_eq!(m.filename, None);
    }

    #[test]
    fn times_are_required_and_ordered() {
        assert_eq!(
            fields(&header(&[("device_id", "x")])),
            ["ended_at", "started_at"]
        );
        assert_eq!(
            fields(&with("ended_at", "2026-11-20T09:00:00Z")),
            ["ended_at", "started_at"]
        );
        assert_eq!(
            fields(&with("ended_at", "2026-11-20T10:00:00Z")),
            ["ended_at", "started_at"]
        );
        assert_eq!(fields(&with("ended_at", "yesterday")), ["ended_at"]);
        assert!(recording_meta(None, now()).is_err());
    }

    #[test]
    fn recordings_are_at_most_a_day_and_not_from_the_future() {
        assert_eq!(
            fields(&with("ended_at", "2026-11-21T10:00:01Z")),
            ["ended_at"]
        );
        assert!(recording_meta(Some(&with("ended_at", "2026-11-21T10:00:00Z")), now()).is_ok());
        let future = header(&[
            ("started_at", "2026-11-20T12:06:00Z"),
            ("ended_at", "2026-11-20T12:10:00Z"),
        ]);
        assert_eq!(fields(&future), ["started_at"]);
        let skew = header(&[
            ("started_at", "2026-11-20T12:04:00Z"),
            ("ended_at", "2026-11-20T12:10:00Z"),
        ]);
        assert!(recording_meta(Some(&skew), now()).is_ok());
    }

    #[test]
    fn filenames_that_look_like_paths_are_refused() {
        for bad in [
            "a/b.mp4",
            "a\\b.mp4",
            "..mp4",
            "../../etc/passwd",
            "bad\u{7}.mp4",
            "nul\0.mp4",
            "",
        ] {
            let h = header(&[
                ("started_at", "2026-11-20T10:00:00Z"),
                ("ended_at", "2026-11-20T10:05:00Z"),
                ("filename", bad),
            ]);
            assert_eq!(fields(&h), ["filename"], "{bad:?}");
        }
        assert!(check_filename(&"a".repeat(MAX_FILENAME_BYTES)).is_ok());
        assert!(check_filename(&"a".repeat(MAX_FILENAME_BYTES + 1)).is_err());
        assert!(check_filename("ok-clip 2026.11.20.mp4").is_ok());
    }

    #[test]
    fn non_utf8_values_are_refused() {
        let e = base64::engine::general_purpose::STANDARD;
        let h = format!(
            "started_at {},ended_at {},filename {}",
            b64("2026-11-20T10:00:00Z"),
            b64("2026-11-20T10:05:00Z"),
            e.encode([0xff, 0xfe])
        );
        assert_eq!(fields(&h), ["filename"]);
    }

    #[test]
    fn encoded_metadata_reads_back() {
        let h = encode_metadata(&[("filename", "a.mp4"), ("device_id", "d")]);
        let m = parse_metadata(&h).unwrap();
        assert_eq!(m["filename"], Some(b"a.mp4".to_vec()));
        assert_eq!(m["device_id"], Some(b"d".to_vec()));
    }
}
