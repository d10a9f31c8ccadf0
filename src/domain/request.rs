//! A community request's content and the rules it must meet before a moderator sees it.
//!
//! Every limit comes from [`RequestLimits`] (the settings), and every problem names the
//! field, the limit and the value given, so an investigator can fix everything in one go.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use geo::{Contains, GeodesicArea, MultiPolygon, Polygon};
use serde::{Deserialize, Serialize};

use super::area::{self, Shape};
use super::email;
use super::validation::{FieldErrors, Problems, ValidationError};

/// Square metres in one square mile.
pub const SQ_M_PER_SQ_MI: f64 = 2_589_988.110_336;

/// The incident types a request may name. Broad categories ("suspicious activity") do not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum IncidentType {
    /// A package taken from a porch or doorstep.
    PackageTheft,
    /// A vehicle broken into.
    VehicleBreakIn,
    /// A vehicle stolen.
    VehicleTheft,
    /// A home or business broken into.
    Burglary,
    /// Theft by force or threat.
    Robbery,
    /// An assault.
    Assault,
    /// A shooting.
    Shooting,
    /// A homicide.
    Homicide,
    /// A missing person.
    MissingPerson,
    /// A driver who left the scene of a collision.
    HitAndRun,
    /// Property damage.
    Vandalism,
    /// A fire set on purpose.
    Arson,
    /// A fire.
    Fire,
    /// A kidnapping.
    Kidnapping,
    /// A threat to someone's physical safety.
    ThreatToPersonalSafety,
}

impl IncidentType {
    /// Every type, in the order DESIGN.md lists them.
    pub const ALL: [IncidentType; 15] = [
        IncidentType::PackageTheft,
        IncidentType::VehicleBreakIn,
        IncidentType::VehicleTheft,
        IncidentType::Burglary,
        IncidentType::Robbery,
        IncidentType::Assault,
        IncidentType::Shooting,
        IncidentType::Homicide,
        IncidentType::MissingPerson,
        IncidentType::HitAndRun,
        IncidentType::Vandalism,
        IncidentType::Arson,
        IncidentType::Fire,
        IncidentType::Kidnapping,
        IncidentType::ThreatToPersonalSafety,
    ];

    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            IncidentType::PackageTheft => "package_theft",
            IncidentType::VehicleBreakIn => "vehicle_break_in",
            IncidentType::VehicleTheft => "vehicle_theft",
            IncidentType::Burglary => "burglary",
            IncidentType::Robbery => "robbery",
            IncidentType::Assault => "assault",
            IncidentType::Shooting => "shooting",
            IncidentType::Homicide => "homicide",
            IncidentType::MissingPerson => "missing_person",
            IncidentType::HitAndRun => "hit_and_run",
            IncidentType::Vandalism => "vandalism",
            IncidentType::Arson => "arson",
            IncidentType::Fire => "fire",
            IncidentType::Kidnapping => "kidnapping",
            IncidentType::ThreatToPersonalSafety => "threat_to_personal_safety",
        }
    }

    /// Parses a stored or submitted name.
    pub fn parse(s: &str) -> Option<IncidentType> {
        IncidentType::ALL.into_iter().find(|t| t.as_str() == s)
    }

    /// Incidents where naming the person or place can save someone, so the victim-privacy
    /// guideline does not apply.
    pub fn is_privacy_exempt(self) -> bool {
        matches!(
            self,
            IncidentType::MissingPerson
                | IncidentType::Kidnapping
                | IncidentType::ThreatToPersonalSafety
        )
    }
}

/// The limits a request must meet (settings; defaults follow Ring's published rules).
#[derive(Debug, Clone, Copy)]
pub struct RequestLimits {
    /// Smallest area, square miles.
    pub min_area_sq_mi: f64,
    /// Largest area, square miles.
    pub max_area_sq_mi: f64,
    /// Most positions in the area's polygon (bounds the work of checking it).
    pub max_area_vertices: usize,
    /// Shortest footage timeframe.
    pub min_timeframe: Duration,
    /// Longest footage timeframe.
    pub max_timeframe: Duration,
    /// How far back the timeframe may start.
    pub max_age: Duration,
    /// Longest details text, in characters.
    pub max_details_chars: usize,
    /// Most suspects in one request.
    pub max_suspects: usize,
    /// How long uploads are accepted after publication.
    pub response_window: Duration,
}

impl Default for RequestLimits {
    fn default() -> Self {
        Self {
            min_area_sq_mi: 0.025,
            max_area_sq_mi: 0.5,
            max_area_vertices: 10_000,
            min_timeframe: Duration::minutes(15),
            max_timeframe: Duration::hours(12),
            max_age: Duration::days(30),
            max_details_chars: 2_000,
            max_suspects: 10,
            response_window: Duration::days(60),
        }
    }
}

/// The investigator to contact about the request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Contact {
    /// Name and rank, e.g. "Det. A. Rivera".
    pub name: String,
    /// Phone number, e.g. "+1-555-0100".
    pub phone: String,
    /// Email address.
    pub email: String,
}

/// The descriptors that alone are too general to identify anyone.
pub const GENERAL_DESCRIPTORS: [&str; 5] = ["race", "sex", "age", "height", "build"];

/// One suspect: general descriptors and the distinctive features that make them identifiable.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Suspect {
    /// Any of race, sex, age, height, build.
    #[serde(default)]
    pub descriptors: BTreeMap<String, String>,
    /// Clothing, vehicle, tattoo, …
    #[serde(default)]
    pub distinctive_features: Vec<String>,
}

/// A request as submitted: times still text, so a missing zone is caught here.
#[derive(Debug, Clone)]
pub struct Draft {
    /// An [`IncidentType`] name.
    pub incident_type: String,
    /// What happened and what footage helps.
    pub details: String,
    /// RFC 3339 with a zone.
    pub footage_start: String,
    /// RFC 3339 with a zone.
    pub footage_end: String,
    /// Who to contact.
    pub investigator: Contact,
    /// GeoJSON Polygon.
    pub area: serde_json::Value,
    /// The agency's own case number.
    pub investigation_code: String,
    /// An ongoing threat to physical safety (lifts the victim-privacy guideline).
    pub ongoing_threat: bool,
    /// Suspects, if any.
    pub suspects: Vec<Suspect>,
}

/// A request that meets every rule.
#[derive(Debug, Clone)]
pub struct ValidRequest {
    /// The incident type.
    pub incident_type: IncidentType,
    /// The details, trimmed.
    pub details: String,
    /// Start of the footage wanted.
    pub footage_start: DateTime<Utc>,
    /// End of the footage wanted.
    pub footage_end: DateTime<Utc>,
    /// Who to contact.
    pub investigator: Contact,
    /// The area, as GeoJSON.
    pub area: serde_json::Value,
    /// The area as a polygon (for targeting).
    pub area_polygon: Polygon<f64>,
    /// The area's geodesic size, square miles.
    pub area_sq_mi: f64,
    /// The agency's case number, trimmed.
    pub investigation_code: String,
    /// An ongoing threat to physical safety.
    pub ongoing_threat: bool,
    /// Suspects.
    pub suspects: Vec<Suspect>,
}

/// Field codes: problems that have their own error code when they are the only kind found.
const OUTSIDE_JURISDICTION: &str = "outside_jurisdiction";
const SUSPECT_TOO_GENERAL: &str = "suspect_description_too_general";

fn parse_time(field: &str, value: &str, p: &mut Problems) -> Option<DateTime<Utc>> {
    if value.trim().is_empty() {
        p.add(field, "is required");
        return None;
    }
    match DateTime::parse_from_rfc3339(value.trim()) {
        Ok(t) => Some(t.with_timezone(&Utc)),
        Err(_) => {
            p.add(
                field,
                format!("{value:?} is not an RFC 3339 time with a zone, like 2026-11-20T21:00:00Z"),
            );
            None
        }
    }
}

fn minutes(d: Duration) -> String {
    if d.num_minutes() % 60 == 0 {
        format!("{} h", d.num_hours())
    } else {
        format!("{} min", d.num_minutes())
    }
}

fn check_timeframe(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
    limits: &RequestLimits,
    p: &mut Problems,
) {
    if end <= start {
        p.add(
            "footage_end",
            format!("{end} is not after footage_start {start}"),
        );
        return;
    }
    let span = end - start;
    if span < limits.min_timeframe {
        p.add(
            "footage_end",
            format!(
                "the timeframe is {}; the shortest allowed is {} (request_min_minutes)",
                minutes(span),
                minutes(limits.min_timeframe)
            ),
        );
    }
    if span > limits.max_timeframe {
        p.add(
            "footage_end",
            format!(
                "the timeframe is {}; the longest allowed is {} (request_max_hours)",
                minutes(span),
                minutes(limits.max_timeframe)
            ),
        );
    }
    if end > now {
        p.add(
            "footage_end",
            format!("{end} is in the future; footage must already exist"),
        );
    }
    if start < now - limits.max_age {
        p.add(
            "footage_start",
            format!(
                "{start} is more than {} days ago (request_max_age_days)",
                limits.max_age.num_days()
            ),
        );
    }
}

/// A phone number: digits with the usual separators, 7 to 15 digits, optional extension.
pub fn validate_phone(phone: &str) -> Result<(), String> {
    if phone.trim().is_empty() {
        return Err("is required".into());
    }
    let main = phone
        .split_once(" ext")
        .or_else(|| phone.split_once(" x"))
        .map_or(phone, |(m, _)| m)
        .trim();
    let allowed = main
        .chars()
        .all(|c| c.is_ascii_digit() || " +-().".contains(c));
    let digits = main.chars().filter(char::is_ascii_digit).count();
    if allowed && (7..=15).contains(&digits) && !main.contains("++") {
        Ok(())
    } else {
        Err(format!("{phone:?} is not a phone number like +1-555-0100"))
    }
}

fn check_contact(c: &Contact, p: &mut Problems) {
    p.text("investigator.name", &c.name, 100, None);
    p.check("investigator.phone", validate_phone(&c.phone));
    p.check("investigator.email", email::validate(&c.email));
}

fn check_code(code: &str, p: &mut Problems) {
    let code = code.trim();
    let ok_chars = code
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "-_/.#".contains(c));
    if code.is_empty() {
        p.add("investigation_code", "is required");
    } else if code.chars().count() > 64 || !ok_chars {
        p.add(
            "investigation_code",
            format!("{code:?} must be 1 to 64 letters, digits or - _ / . #"),
        );
    }
}

fn check_suspects(suspects: &[Suspect], limits: &RequestLimits, p: &mut Problems) {
    if suspects.len() > limits.max_suspects {
        p.add(
            "suspects",
            format!(
                "{} suspects given; the limit is {}",
                suspects.len(),
                limits.max_suspects
            ),
        );
    }
    for (i, s) in suspects.iter().enumerate() {
        let field = format!("suspects.{i}");
        for (key, value) in &s.descriptors {
            if !GENERAL_DESCRIPTORS.contains(&key.as_str()) {
                p.add(
                    &format!("{field}.descriptors"),
                    format!("{key:?} is not one of {}", GENERAL_DESCRIPTORS.join(", ")),
                );
            } else if value.trim().is_empty() || value.chars().count() > 100 {
                p.add(
                    &format!("{field}.descriptors.{key}"),
                    "must be 1 to 100 characters",
                );
            }
        }
        let features: Vec<&String> = s
            .distinctive_features
            .iter()
            .filter(|f| !f.trim().is_empty())
            .collect();
        if features.iter().any(|f| f.chars().count() > 200) {
            p.add(
                &format!("{field}.distinctive_features"),
                "each feature is at most 200 characters",
            );
        }
        let has_general = s.descriptors.values().any(|v| !v.trim().is_empty());
        if has_general && features.len() < 2 {
            p.add(
                &format!("{field}.distinctive_features"),
                format!(
                    "{SUSPECT_TOO_GENERAL}: race, height, age and sex describe too many people; \
                     give at least 2 distinctive features (clothing, vehicle, tattoo, …), {} given",
                    features.len()
                ),
            );
        }
        if !has_general && features.is_empty() {
            p.add(
                &field,
                "describe the suspect with at least one distinctive feature",
            );
        }
    }
}

fn count_positions(value: &serde_json::Value) -> usize {
    match value {
        serde_json::Value::Array(items)
            if items.first().is_some_and(serde_json::Value::is_number) =>
        {
            1
        }
        serde_json::Value::Array(items) => items.iter().map(count_positions).sum(),
        _ => 0,
    }
}

/// Parses, measures and places the area. Answers the polygon and its size in square miles.
fn check_area(
    value: &serde_json::Value,
    jurisdiction: &MultiPolygon<f64>,
    limits: &RequestLimits,
    p: &mut Problems,
) -> Option<(Polygon<f64>, f64)> {
    if value.is_null() {
        p.add("area", "is required");
        return None;
    }
    // Counted before anything else, so a huge polygon is refused at once, not checked.
    let positions = count_positions(&value["coordinates"]);
    if positions > limits.max_area_vertices {
        p.add(
            "area",
            format!(
                "has {positions} positions; the limit is {} (request_max_area_vertices)",
                limits.max_area_vertices
            ),
        );
        return None;
    }
    let multi = match area::parse(value, Shape::Polygon) {
        Ok(m) => m,
        Err(e) => {
            p.add("area", e);
            return None;
        }
    };
    let polygon = multi.0.into_iter().next()?;
    let sq_mi = polygon.geodesic_area_unsigned() / SQ_M_PER_SQ_MI;
    if sq_mi < limits.min_area_sq_mi {
        p.add(
            "area",
            format!(
                "covers {sq_mi:.4} square miles; the smallest allowed is {} (request_min_area_sq_mi)",
                limits.min_area_sq_mi
            ),
        );
    } else if sq_mi > limits.max_area_sq_mi {
        p.add(
            "area",
            format!(
                "covers {sq_mi:.3} square miles; the largest allowed is {} (request_max_area_sq_mi)",
                limits.max_area_sq_mi
            ),
        );
    }
    if !jurisdiction.contains(&polygon) {
        p.add(
            "area",
            format!(
                "{OUTSIDE_JURISDICTION}: the area is not entirely inside the agency's jurisdiction"
            ),
        );
    }
    Some((polygon, sq_mi))
}

/// The error code for a set of problems: a specific code when every problem is of that kind.
fn error_code(details: &FieldErrors) -> &'static str {
    let all = |prefix: &str| {
        details
            .values()
            .flatten()
            .all(|problem| problem.starts_with(prefix))
    };
    if all(OUTSIDE_JURISDICTION) {
        OUTSIDE_JURISDICTION
    } else if all(SUSPECT_TOO_GENERAL) {
        SUSPECT_TOO_GENERAL
    } else {
        "invalid_request"
    }
}

/// Checks every rule at once. The jurisdiction is the agency's, already validated.
pub fn validate(
    draft: &Draft,
    jurisdiction: &MultiPolygon<f64>,
    now: DateTime<Utc>,
    limits: &RequestLimits,
) -> Result<ValidRequest, ValidationError> {
    let mut p = Problems::new();
    let incident_type = IncidentType::parse(draft.incident_type.trim());
    if incident_type.is_none() {
        p.add(
            "incident_type",
            format!(
                "{:?} is not a specific incident type; use one of {}",
                draft.incident_type,
                IncidentType::ALL.map(IncidentType::as_str).join(", ")
            ),
        );
    }
    p.text(
        "details",
        &draft.details,
        limits.max_details_chars,
        Some("request_max_details_chars"),
    );
    let start = parse_time("footage_start", &draft.footage_start, &mut p);
    let end = parse_time("footage_end", &draft.footage_end, &mut p);
    if let (Some(s), Some(e)) = (start, end) {
        check_timeframe(s, e, now, limits, &mut p);
    }
    check_contact(&draft.investigator, &mut p);
    check_code(&draft.investigation_code, &mut p);
    check_suspects(&draft.suspects, limits, &mut p);
    let area = check_area(&draft.area, jurisdiction, limits, &mut p);

    let details = p.into_details();
    if !details.is_empty() {
        let code = error_code(&details);
        let fields: Vec<&str> = details.keys().map(String::as_str).collect();
        return Err(ValidationError {
            code,
            message: format!(
                "The request does not meet the rules: check {}",
                fields.join(", ")
            ),
            details,
        });
    }
    match (incident_type, start, end, area) {
        (
            Some(incident_type),
            Some(footage_start),
            Some(footage_end),
            Some((area_polygon, area_sq_mi)),
        ) => Ok(ValidRequest {
            incident_type,
            details: draft.details.trim().to_owned(),
            footage_start,
            footage_end,
            investigator: Contact {
                name: draft.investigator.name.trim().to_owned(),
                phone: draft.investigator.phone.trim().to_owned(),
                email: email::normalize(&draft.investigator.email),
            },
            area: draft.area.clone(),
            area_polygon,
            area_sq_mi,
            investigation_code: draft.investigation_code.trim().to_owned(),
            ongoing_threat: draft.ongoing_threat,
            suspects: draft.suspects.clone(),
        }),
        // Every None above recorded a problem, so this is unreachable in practice.
        _ => Err(ValidationError::field(
            "invalid_request",
            "body",
            "is incomplete",
        )),
    }
}

/// Whether uploads are still accepted at `now` for a request published with this deadline.
pub fn is_open(response_deadline: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    now < response_deadline
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn now() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-11-25T12:00:00Z")
            .unwrap()
            .with_timezone(&Utc)
    }

    fn jurisdiction() -> MultiPolygon<f64> {
        let j = json!({"type": "Polygon", "coordinates": [[[-122.69, 45.50], [-122.63, 45.50], [-122.63, 45.53], [-122.69, 45.53], [-122.69, 45.50]]]});
        area::parse(&j, Shape::PolygonOrMulti).unwrap()
    }

    /// A square of `side` degrees of longitude (and the same in metres of latitude) at Riverton.
    fn square(lon: f64, lat: f64, side: f64) -> serde_json::Value {
        json!({"type": "Polygon", "coordinates": [[[lon, lat], [lon + side, lat], [lon + side, lat + side * 0.7], [lon, lat + side * 0.7], [lon, lat]]]})
    }

    fn draft() -> Draft {
        Draft {
            incident_type: "package_theft".into(),
            details: "A package was taken from a porch on the 400 block of Elm St.".into(),
            footage_start: "2026-11-20T21:00:00Z".into(),
            footage_end: "2026-11-20T23:00:00Z".into(),
            investigator: Contact {
                name: "Det. A. Rivera".into(),
                phone: "+1-555-0100".into(),
                email: "arivera@pd.example".into(),
            },
            area: square(-122.67, 45.51, 0.006),
            investigation_code: "2026-004512".into(),
            ongoing_threat: false,
            suspects: vec![Suspect {
                descriptors: BTreeMap::from([
                    ("sex".into(), "male".into()),
                    ("age".into(), "20s".into()),
                ]),
                distinctive_features: vec!["red hooded jacket".into(), "black BMX bicycle".into()],
            }],
        }
    }

    fn problems(d: &Draft) -> ValidationError {
        validate(d, &jurisdiction(), now(), &RequestLimits::default()).unwrap_err()
    }

    #[test]
    fn a_good_request_is_valid_and_measured() {
        let v = validate(&draft(), &jurisdiction(), now(), &RequestLimits::default()).unwrap();
        assert_eq!(v.incident_type, IncidentType::PackageTheft);
        assert!(
            v.area_sq_mi > 0.025 && v.area_sq_mi < 0.5,
            "{}",
            v.area_sq_mi
        );
    }

    #[test]
    fn broad_incident_types_do_not_exist() {
        let mut d = draft();
        d.incident_type = "suspicious_activity".into();
        let e = problems(&d);
        assert_eq!(e.code, "invalid_request");
        assert!(e.details["incident_type"][0].contains("not a specific incident type"));
    }

    #[test]
    fn every_problem_is_listed_at_once() {
        let mut d = draft();
        d.incident_type = "other".into();
        d.details = String::new();
        d.investigator.phone = "call me".into();
        d.investigator.email = "nope".into();
        d.investigation_code = String::new();
        let e = problems(&d);
        for f in [
            "incident_type",
            "details",
            "investigator.phone",
            "investigator.email",
            "investigation_code",
        ] {
            assert!(e.details.contains_key(f), "{f} missing in {:?}", e.details);
        }
    }

    #[test]
    fn details_over_the_limit_name_the_limit_and_value() {
        let mut d = draft();
        d.details = "x".repeat(2001);
        let e = problems(&d);
        assert!(
            e.details["details"][0].contains("2001") && e.details["details"][0].contains("2000")
        );
    }

    #[test]
    fn timeframe_rules() {
        let cases = [
            ("2026-11-20T23:00:00Z", "2026-11-20T21:00:00Z", "not after"),
            (
                "2026-11-20T21:00:00Z",
                "2026-11-20T21:10:00Z",
                "shortest allowed is 15 min",
            ),
            (
                "2026-11-20T08:00:00Z",
                "2026-11-20T21:00:00Z",
                "longest allowed is 12 h",
            ),
            (
                "2026-11-25T11:00:00Z",
                "2026-11-25T13:00:00Z",
                "in the future",
            ),
            (
                "2026-10-20T21:00:00Z",
                "2026-10-20T23:00:00Z",
                "more than 30 days ago",
            ),
            ("2026-11-20T21:00:00", "2026-11-20T23:00:00Z", "with a zone"),
        ];
        for (start, end, expected) in cases {
            let mut d = draft();
            d.footage_start = start.into();
            d.footage_end = end.into();
            let e = problems(&d);
            let all: Vec<&String> = e.details.values().flatten().collect();
            assert!(
                all.iter().any(|m| m.contains(expected)),
                "{start}..{end}: {all:?}"
            );
        }
    }

    #[test]
    fn other_zones_are_converted_to_utc() {
        let mut d = draft();
        d.footage_start = "2026-11-20T13:00:00-08:00".into();
        d.footage_end = "2026-11-20T15:00:00-08:00".into();
        let v = validate(&d, &jurisdiction(), now(), &RequestLimits::default()).unwrap();
        assert_eq!(v.footage_start.to_rfc3339(), "2026-11-20T21:00:00+00:00");
    }

    #[test]
    fn area_size_limits_are_geodesic() {
        let mut d = draft();
        d.area = square(-122.67, 45.51, 0.001);
        assert!(problems(&d).details["area"][0].contains("smallest allowed is 0.025"));
        d.area = square(-122.68, 45.505, 0.02);
        assert!(problems(&d).details["area"][0].contains("largest allowed is 0.5"));
    }

    #[test]
    fn a_clockwise_area_measures_the_same_as_a_counter_clockwise_one() {
        // Map tools draw either winding; a clockwise ring must not read as the rest of the
        // Earth.
        let mut d = draft();
        d.area = square(-122.67, 45.51, 0.006);
        let ccw = validate(&d, &jurisdiction(), now(), &RequestLimits::default())
            .expect("valid")
            .area_sq_mi;
        let ring = d.area["coordinates"][0].as_array().expect("ring").clone();
        let reversed: Vec<_> = ring.into_iter().rev().collect();
        d.area = json!({"type": "Polygon", "coordinates": [reversed]});
        let cw = validate(&d, &jurisdiction(), now(), &RequestLimits::default())
            .expect("valid")
            .area_sq_mi;
        assert!((cw - ccw).abs() < 1e-9, "{cw} vs {ccw}");
        assert!(cw > 0.025 && cw < 0.5, "{cw}");
    }

    #[test]
    fn area_outside_the_jurisdiction_has_its_own_code() {
        let mut d = draft();
        d.area = square(-122.62, 45.51, 0.006);
        let e = problems(&d);
        assert_eq!(e.code, "outside_jurisdiction");
        d.area = square(-122.634, 45.51, 0.006);
        assert_eq!(
            problems(&d).code,
            "outside_jurisdiction",
            "straddling the edge"
        );
    }

    #[test]
    fn bad_geometry_is_refused() {
        for bad in [
            json!({"type": "Point", "coordinates": [-122.66, 45.51]}),
            json!({"type": "Polygon", "coordinates": [[[-122.67, 45.51], [-122.66, 45.51], [-122.66, 45.52], [-122.67, 45.52]]]}),
            json!({"type": "Polygon", "coordinates": [[[-122.67, 45.51], [-122.66, 45.52], [-122.66, 45.51], [-122.67, 45.52], [-122.67, 45.51]]]}),
            json!({"type": "Polygon", "coordinates": [[[45.51, -122.67], [45.52, -122.67], [45.52, -122.66], [45.51, -122.67]]]}),
        ] {
            let mut d = draft();
            d.area = bad.clone();
            assert!(problems(&d).details.contains_key("area"), "{bad}");
        }
    }

    #[test]
    fn a_huge_polygon_is_refused_by_count_before_any_geometry_work() {
        let n = 100_000;
        let ring: Vec<[f64; 2]> = (0..=n)
            .map(|i| {
                let a = std::f64::consts::TAU * (i % n) as f64 / n as f64;
                [-122.66 + 0.003 * a.cos(), 45.515 + 0.002 * a.sin()]
            })
            .collect();
        let mut d = draft();
        d.area = json!({"type": "Polygon", "coordinates": [ring]});
        let started = std::time::Instant::now();
        let e = problems(&d);
        assert!(e.details["area"][0].contains("100001 positions; the limit is 10000"));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
    }

    #[test]
    fn general_descriptors_need_two_distinctive_features() {
        let mut d = draft();
        d.suspects[0].distinctive_features = vec!["red jacket".into()];
        let e = problems(&d);
        assert_eq!(e.code, "suspect_description_too_general");
        d.suspects[0].distinctive_features.clear();
        d.suspects[0].descriptors = BTreeMap::from([("race".into(), "white".into())]);
        assert_eq!(problems(&d).code, "suspect_description_too_general");
        d.suspects[0].descriptors = BTreeMap::from([("eye_colour".into(), "blue".into())]);
        assert_eq!(problems(&d).code, "invalid_request");
    }

    #[test]
    fn phones_are_checked() {
        for ok in [
            "+1-555-0100",
            "(503) 555-0100",
            "503.555.0100 ext 12",
            "5550100",
        ] {
            assert!(validate_phone(ok).is_ok(), "{ok}");
        }
        for bad in [
            "call me",
            "123",
            "+1-555-0100-0000-0000-99",
            "555-0100; DROP",
        ] {
            assert!(validate_phone(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn privacy_exempt_incidents() {
        assert!(IncidentType::MissingPerson.is_privacy_exempt());
        assert!(IncidentType::Kidnapping.is_privacy_exempt());
        assert!(IncidentType::ThreatToPersonalSafety.is_privacy_exempt());
        assert!(!IncidentType::Burglary.is_privacy_exempt());
        for t in IncidentType::ALL {
            assert_eq!(IncidentType::parse(t.as_str()), Some(t));
        }
    }
}
