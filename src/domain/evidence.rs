//! The rules of "Choose videos to share": which of a resident's recordings may answer a
//! request, what the resident agrees to, what a selection may hold, and the small parsing that
//! serving evidence needs (byte ranges, a safe download name, an access reason). Playing back a
//! resident's own recording reads its `Range` header with the same [`parse_range`].
//!
//! Pure: no I/O. The app layer feeds it stored facts and acts on the answers.

use std::ops::Range;

use chrono::{DateTime, Utc};
use geo::Polygon;
use serde_json::Value;

use super::geo_index;
use super::validation::{Problems, ValidationError};
use super::video::Container;

/// The most recordings one submission may share.
pub const MAX_RECORDINGS_PER_SUBMISSION: usize = 20;

/// The longest reason an investigator may give for opening a clip, in characters.
pub const REASON_MAX_CHARS: usize = 500;

/// A playback records one `viewed` custody event per account and clip in this many minutes.
///
/// A browser's video element fetches a clip in many `Range` requests (and again on every seek),
/// so one person watching once would otherwise add dozens of identical events. Downloads are
/// never folded together: each one puts a copy somewhere new.
pub const VIEW_DEDUP_MINUTES: i64 = 10;

/// When and where a recording was made: what eligibility depends on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RecordingFacts {
    /// When recording started.
    pub started_at: DateTime<Utc>,
    /// When recording ended.
    pub ended_at: DateTime<Utc>,
    /// The camera's latitude.
    pub camera_lat: f64,
    /// The camera's longitude.
    pub camera_lon: f64,
}

/// What a request asks for: its footage timeframe and its area.
#[derive(Debug, Clone)]
pub struct Wanted<'a> {
    /// Start of the footage wanted.
    pub footage_start: DateTime<Utc>,
    /// End of the footage wanted.
    pub footage_end: DateTime<Utc>,
    /// The request's area.
    pub area: &'a Polygon<f64>,
}

/// Why a recording cannot answer a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Ineligible {
    /// It ended before the footage wanted starts.
    #[error("it ended before the footage the request asks for starts")]
    EndedBefore,
    /// It started after the footage wanted ends.
    #[error("it started after the footage the request asks for ends")]
    StartedAfter,
    /// Its camera is not inside the request's area.
    #[error("its camera is outside the request's area")]
    CameraOutsideArea,
}

/// Whether two closed time intervals share at least one instant. A clip that ends at the very
/// second the wanted footage starts still shows that second, so touching counts.
pub fn overlaps(
    a_start: DateTime<Utc>,
    a_end: DateTime<Utc>,
    b_start: DateTime<Utc>,
    b_end: DateTime<Utc>,
) -> bool {
    a_start <= b_end && b_start <= a_end
}

/// Whether a recording may answer a request: it overlaps the footage wanted and its camera is
/// inside the area (exact point-in-polygon, the boundary counting as inside, as for homes).
pub fn eligibility(rec: &RecordingFacts, wanted: &Wanted<'_>) -> Result<(), Ineligible> {
    if rec.ended_at < wanted.footage_start {
        return Err(Ineligible::EndedBefore);
    }
    if rec.started_at > wanted.footage_end {
        return Err(Ineligible::StartedAfter);
    }
    if !geo_index::contains_home(wanted.area, rec.camera_lat, rec.camera_lon) {
        return Err(Ineligible::CameraOutsideArea);
    }
    Ok(())
}

/// Who the resident is, as the agency will receive it.
#[derive(Debug, Clone, Copy)]
pub struct Submitter<'a> {
    /// The name the resident shows.
    pub display_name: &'a str,
    /// The resident's home address.
    pub home_address: &'a str,
    /// The resident's email.
    pub email: &'a str,
}

/// The plain words a resident accepts before sharing. The exact text is kept with the
/// submission, so what was agreed to can be shown later.
pub fn consent_notice(agency_name: &str, who: &Submitter<'_>) -> String {
    format!(
        "When you share, the videos you selected go to the investigator of {agency_name} together \
         with your name ({name}), your home address ({address}) and your email address ({email}), \
         so that the investigator can contact you. {agency_name} keeps its own copy of each video \
         as evidence, even if you later delete the recording from Canvass. Sharing is voluntary: \
         {agency_name} is not told about residents who do not share.",
        name = who.display_name,
        address = who.home_address,
        email = who.email,
    )
}

/// The message of a share without consent: it says what sharing sends, so the resident can
/// decide.
pub fn consent_required_message(agency_name: &str) -> String {
    format!(
        "sharing needs your consent (\"consent\": true): your name, home address and email go to \
         the investigator of {agency_name} with the videos, and {agency_name} keeps a copy of each \
         video as evidence even if you later delete the recording"
    )
}

/// Checks a selection of recordings: a JSON array of 1 to [`MAX_RECORDINGS_PER_SUBMISSION`]
/// distinct id strings. Answers the ids in the order given.
pub fn validate_selection(ids: Option<&Value>) -> Result<Vec<String>, ValidationError> {
    let mut p = Problems::new();
    let mut out: Vec<String> = Vec::new();
    match ids {
        None | Some(Value::Null) => p.add("recording_ids", "is required"),
        Some(Value::Array(items)) => {
            if items.is_empty() {
                p.add("recording_ids", "is empty; select at least one recording");
            } else if items.len() > MAX_RECORDINGS_PER_SUBMISSION {
                p.add(
                    "recording_ids",
                    format!(
                        "holds {} recordings; the limit is {MAX_RECORDINGS_PER_SUBMISSION} per \
                         submission",
                        items.len()
                    ),
                );
            }
            for (i, item) in items.iter().enumerate() {
                match item.as_str().map(str::trim) {
                    Some(id) if !id.is_empty() => {
                        if out.iter().any(|o| o == id) {
                            p.add(
                                &format!("recording_ids.{i}"),
                                format!("{id:?} is selected twice"),
                            );
                        } else {
                            out.push(id.to_owned());
                        }
                    }
                    _ => p.add(&format!("recording_ids.{i}"), "must be a recording id"),
                }
            }
        }
        Some(_) => p.add("recording_ids", "must be a list of recording ids"),
    }
    p.finish("invalid_input", "The selection is not valid")?;
    Ok(out)
}

/// The reason recorded for an access: the one given (trimmed), or `default` when none was.
pub fn access_reason(given: Option<&str>, default: &str) -> Result<String, ValidationError> {
    let Some(text) = given.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(default.to_owned());
    };
    let mut p = Problems::new();
    let len = text.chars().count();
    if len > REASON_MAX_CHARS {
        p.add(
            "reason",
            format!("is {len} characters long; the limit is {REASON_MAX_CHARS}"),
        );
    }
    if text.chars().any(char::is_control) {
        p.add("reason", "contains control characters");
    }
    p.finish("invalid_input", "The reason is not valid")?;
    Ok(text.to_owned())
}

/// What part of a clip (or of a resident's recording) a `Range` header asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ByteRange {
    /// The whole clip (no header, or one this server ignores: several ranges, another unit,
    /// or a malformed one, as RFC 9110 §14.2 allows).
    Full,
    /// One range, end exclusive, within the clip.
    Partial(Range<u64>),
    /// One well-formed range that lies wholly past the end (or a suffix of nothing): 416.
    Unsatisfiable,
}

/// Reads a `Range` header against a clip of `size` bytes (RFC 9110 §14.1.2: `bytes=a-b`,
/// `bytes=a-`, `bytes=-n`). A last position past the end, however large, means the end.
pub fn parse_range(header: Option<&str>, size: u64) -> ByteRange {
    let Some(spec) = header.and_then(|h| h.trim().strip_prefix("bytes=")) else {
        return ByteRange::Full;
    };
    let spec = spec.trim();
    if spec.contains(',') {
        return ByteRange::Full;
    }
    let Some((first, last)) = spec.split_once('-') else {
        return ByteRange::Full;
    };
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
    let (first, last) = (first.trim(), last.trim());
    match (digits(first), digits(last)) {
        // A suffix: the last n bytes.
        (false, true) if first.is_empty() => {
            let Ok(n) = last.parse::<u64>() else {
                return ByteRange::Full;
            };
            if n == 0 || size == 0 {
                ByteRange::Unsatisfiable
            } else {
                ByteRange::Partial(size.saturating_sub(n)..size)
            }
        }
        (true, end_given) if end_given || last.is_empty() => {
            let Ok(start) = first.parse::<u64>() else {
                return ByteRange::Full;
            };
            let end = if end_given {
                match last.parse::<u64>() {
                    Ok(e) if e >= start => e.saturating_add(1).min(size),
                    Ok(_) => return ByteRange::Full,
                    // Larger than u64: past any end.
                    Err(_) => size,
                }
            } else {
                size
            };
            if start >= size {
                ByteRange::Unsatisfiable
            } else {
                ByteRange::Partial(start..end)
            }
        }
        _ => ByteRange::Full,
    }
}

/// The file extension for a clip's content type (`video/mp4` → `mp4`; parameters and case do
/// not matter), or `bin` for a type that is not one of the containers uploads accept. Stored
/// clips always carry the type sniffed from their container on upload.
pub fn content_type_extension(content_type: &str) -> &'static str {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or_default()
        .trim()
        .to_ascii_lowercase();
    [
        Container::Mp4,
        Container::QuickTime,
        Container::Matroska,
        Container::WebM,
        Container::MpegTs,
    ]
    .into_iter()
    .find(|c| c.content_type() == essence)
    .map_or("bin", Container::extension)
}

/// The file extension for a clip: the original name's when it is short and plain, else one
/// from its content type.
fn extension(filename: Option<&str>, content_type: &str) -> &'static str {
    const KNOWN: [&str; 7] = ["mp4", "m4v", "mov", "webm", "mkv", "ts", "avi"];
    let from_name = filename
        .and_then(|f| f.rsplit_once('.'))
        .map(|(_, ext)| ext.to_ascii_lowercase());
    if let Some(ext) = from_name
        && let Some(known) = KNOWN.iter().find(|e| **e == ext)
    {
        return known;
    }
    content_type_extension(content_type)
}

/// The name a download is saved under: `evidence-<id>.<ext>`. Never the resident's own file
/// name, which may say where they live, and never anything a header could misread.
pub fn download_filename(evidence_id: &str, filename: Option<&str>, content_type: &str) -> String {
    let id: String = evidence_id
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(64)
        .collect();
    format!("evidence-{id}.{}", extension(filename, content_type))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use chrono::{Duration, TimeZone};
    use geo::polygon;
    use serde_json::json;

    fn t(h: i64, m: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 20, 0, 0, 0).unwrap()
            + Duration::hours(h)
            + Duration::minutes(m)
    }

    fn area() -> Polygon<f64> {
        polygon![
            (x: -122.663, y: 45.513),
            (x: -122.657, y: 45.513),
            (x: -122.657, y: 45.517),
            (x: -122.663, y: 45.517),
            (x: -122.663, y: 45.513),
        ]
    }

    /// Footage from 21:00 to 23:00 in `area`.
    fn wanted(area: &Polygon<f64>) -> Wanted<'_> {
        Wanted {
            footage_start: t(21, 0),
            footage_end: t(23, 0),
            area,
        }
    }

    fn rec(start: DateTime<Utc>, end: DateTime<Utc>, lat: f64, lon: f64) -> RecordingFacts {
        RecordingFacts {
            started_at: start,
            ended_at: end,
            camera_lat: lat,
            camera_lon: lon,
        }
    }

    #[test]
    fn overlapping_recording_from_a_camera_inside_is_eligible() {
        let a = area();
        let w = wanted(&a);
        for (s, e) in [
            (t(20, 0), t(21, 30)),
            (t(22, 0), t(22, 10)),
            (t(22, 50), t(23, 30)),
            (t(20, 0), t(24, 0)),
            // Touching either end counts.
            (t(20, 0), t(21, 0)),
            (t(23, 0), t(23, 10)),
        ] {
            assert_eq!(eligibility(&rec(s, e, 45.515, -122.66), &w), Ok(()));
        }
    }

    #[test]
    fn recording_outside_the_timeframe_is_not_eligible() {
        let a = area();
        let w = wanted(&a);
        assert_eq!(
            eligibility(&rec(t(19, 0), t(20, 59), 45.515, -122.66), &w),
            Err(Ineligible::EndedBefore)
        );
        assert_eq!(
            eligibility(&rec(t(23, 1), t(23, 30), 45.515, -122.66), &w),
            Err(Ineligible::StartedAfter)
        );
    }

    #[test]
    fn camera_outside_the_area_is_not_eligible_and_the_boundary_is_inside() {
        let a = area();
        let w = wanted(&a);
        assert_eq!(
            eligibility(&rec(t(21, 0), t(22, 0), 45.505, -122.68), &w),
            Err(Ineligible::CameraOutsideArea)
        );
        // On the western edge and on a corner.
        assert_eq!(
            eligibility(&rec(t(21, 0), t(22, 0), 45.515, -122.663), &w),
            Ok(())
        );
        assert_eq!(
            eligibility(&rec(t(21, 0), t(22, 0), 45.513, -122.657), &w),
            Ok(())
        );
    }

    #[test]
    fn overlap_is_symmetric_and_inclusive() {
        assert!(overlaps(t(1, 0), t(2, 0), t(2, 0), t(3, 0)));
        assert!(overlaps(t(2, 0), t(3, 0), t(1, 0), t(2, 0)));
        assert!(!overlaps(t(1, 0), t(2, 0), t(2, 1), t(3, 0)));
        assert!(overlaps(t(1, 0), t(5, 0), t(2, 0), t(3, 0)));
    }

    #[test]
    fn consent_notice_names_the_agency_and_what_goes_to_it() {
        let who = Submitter {
            display_name: "Sam Porter",
            home_address: "1200 Elm St, Riverton",
            email: "sam@example.org",
        };
        let text = consent_notice("Riverton Police Department", &who);
        for needle in [
            "Riverton Police Department",
            "1200 Elm St, Riverton",
            "sam@example.org",
            "Sam Porter",
            "even if you later delete",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from {text}");
        }
        let msg = consent_required_message("Riverton Police Department");
        assert!(msg.contains("home address and email"));
        assert!(msg.contains("Riverton Police Department"));
    }

    #[test]
    fn selection_must_be_one_to_twenty_distinct_ids() {
        assert_eq!(
            validate_selection(Some(&json!(["a", "b"]))).unwrap(),
            vec!["a".to_owned(), "b".to_owned()]
        );
        let twenty: Vec<String> = (0..20).map(|i| format!("r{i}")).collect();
        assert_eq!(validate_selection(Some(&json!(twenty))).unwrap().len(), 20);
        for bad in [
            json!([]),
            json!(["a", "a"]),
            json!((0..21).map(|i| format!("r{i}")).collect::<Vec<_>>()),
            json!("a"),
            json!([1]),
            json!([""]),
            Value::Null,
        ] {
            let e = validate_selection(Some(&bad)).unwrap_err();
            assert_eq!(e.code, "invalid_input", "{bad}");
        }
        assert_eq!(validate_selection(None).unwrap_err().code, "invalid_input");
        let dup = validate_selection(Some(&json!(["a", "b", "a"]))).unwrap_err();
        assert!(dup.details.contains_key("recording_ids.2"), "{dup:?}");
    }

    #[test]
    fn reason_defaults_and_is_limited() {
        assert_eq!(access_reason(None, "download").unwrap(), "download");
        assert_eq!(access_reason(Some("  "), "download").unwrap(), "download");
        assert_eq!(
            access_reason(Some(" case review "), "x").unwrap(),
            "case review"
        );
        assert!(access_reason(Some(&"a".repeat(500)), "x").is_ok());
        assert!(access_reason(Some(&"a".repeat(501)), "x").is_err());
        assert!(access_reason(Some("a\u{7}b"), "x").is_err());
    }

    #[test]
    fn ranges_follow_rfc_9110() {
        use ByteRange::{Full, Partial, Unsatisfiable};
        assert_eq!(parse_range(None, 100), Full);
        for (header, size, want) in [
            ("bytes=0-9", 100, Partial(0..10)),
            ("bytes=90-", 100, Partial(90..100)),
            ("bytes=90-500", 100, Partial(90..100)),
            ("bytes=-10", 100, Partial(90..100)),
            ("bytes=-500", 100, Partial(0..100)),
            ("bytes=99-99", 100, Partial(99..100)),
            (" bytes= 5 - 9 ", 100, Partial(5..10)),
            ("bytes=0-99999999999999999999999", 100, Partial(0..100)),
            ("bytes=100-", 100, Unsatisfiable),
            ("bytes=200-300", 100, Unsatisfiable),
            ("bytes=-0", 100, Unsatisfiable),
            ("bytes=-5", 0, Unsatisfiable),
            ("bytes=0-", 0, Unsatisfiable),
            // Ignored: several ranges, other units, nonsense, an inverted range.
            ("bytes=0-1,5-6", 100, Full),
            ("items=0-1", 100, Full),
            ("bytes=a-b", 100, Full),
            ("bytes=5-1", 100, Full),
            ("bytes=", 100, Full),
            ("bytes=-", 100, Full),
            ("bytes=99999999999999999999999-", 100, Full),
        ] {
            assert_eq!(parse_range(Some(header), size), want, "{header} of {size}");
        }
    }

    #[test]
    fn content_types_give_container_extensions() {
        for (content_type, ext) in [
            ("video/mp4", "mp4"),
            ("video/quicktime", "mov"),
            ("Video/WebM; codecs=vp9", "webm"),
            ("video/x-matroska", "mkv"),
            ("video/mp2t", "ts"),
            ("application/octet-stream", "bin"),
        ] {
            assert_eq!(content_type_extension(content_type), ext, "{content_type}");
        }
    }

    #[test]
    fn download_names_are_safe() {
        assert_eq!(
            download_filename("abc-123", Some("porch cam.MP4"), "video/mp4"),
            "evidence-abc-123.mp4"
        );
        assert_eq!(
            download_filename("abc", Some("x.exe"), "video/webm"),
            "evidence-abc.webm"
        );
        assert_eq!(
            download_filename("a\"b\r\nc", None, "application/octet-stream"),
            "evidence-abc.bin"
        );
        assert_eq!(
            download_filename("id", None, "video/mp2t"),
            "evidence-id.ts"
        );
    }
}
