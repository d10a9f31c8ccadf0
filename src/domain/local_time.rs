//! An agency's local time: its time zone (an IANA name such as `America/Los_Angeles`) and the
//! conversion of a wall-clock time typed in a form into the UTC instant that is stored.
//!
//! Investigators think in their own clock ("between 1 and 3 am last night"), the API and the
//! database speak UTC. The conversion is explicit about the two hours a year where the wall
//! clock is ambiguous (it repeats when clocks go back) or does not exist (it is skipped when
//! they go forward): both are errors the form shows next to the field, rather than a guess.

use chrono::{DateTime, LocalResult, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Tz;

/// The time zone of an agency created without one.
pub const DEFAULT_TIME_ZONE: &str = "UTC";

/// Why a wall-clock time does not name one instant.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LocalTimeError {
    /// Not an IANA time zone name.
    #[error("{0:?} is not a time zone name such as America/Los_Angeles")]
    UnknownZone(String),
    /// The clock skips this time (the spring-forward hour).
    #[error("{0} does not exist in {1}: the clocks skip it; pick a time outside that hour")]
    Skipped(NaiveDateTime, String),
    /// The clock shows this time twice (the fall-back hour).
    #[error("{0} happens twice in {1} as the clocks go back; pick a time outside that hour")]
    Ambiguous(NaiveDateTime, String),
}

/// The time zone named `name` (IANA names, case as published).
pub fn zone(name: &str) -> Result<Tz, LocalTimeError> {
    name.trim()
        .parse::<Tz>()
        .map_err(|_| LocalTimeError::UnknownZone(name.to_owned()))
}

/// The UTC instant of wall-clock time `local` in `zone`.
pub fn to_utc(local: NaiveDateTime, zone: Tz) -> Result<DateTime<Utc>, LocalTimeError> {
    match zone.from_local_datetime(&local) {
        LocalResult::Single(t) => Ok(t.with_timezone(&Utc)),
        LocalResult::None => Err(LocalTimeError::Skipped(local, zone.name().to_owned())),
        LocalResult::Ambiguous(..) => Err(LocalTimeError::Ambiguous(local, zone.name().to_owned())),
    }
}

/// The wall-clock time in `zone` of the UTC instant `t` (to fill a form's pickers).
pub fn to_local(t: DateTime<Utc>, zone: Tz) -> NaiveDateTime {
    t.with_timezone(&zone).naive_local()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, mo, d)
            .and_then(|d| d.and_hms_opt(h, mi, 0))
            .expect("valid date")
    }

    #[test]
    fn names_parse_and_unknown_ones_do_not() {
        assert_eq!(
            zone("America/Los_Angeles").map(|z| z.name()),
            Ok("America/Los_Angeles")
        );
        assert_eq!(zone("UTC").map(|z| z.name()), Ok("UTC"));
        assert!(matches!(
            zone("Mars/Olympus"),
            Err(LocalTimeError::UnknownZone(_))
        ));
        assert!(zone("").is_err());
    }

    #[test]
    fn wall_clock_converts_to_utc_and_back() {
        let la = zone("America/Los_Angeles").expect("zone");
        // Winter: UTC-8. Summer: UTC-7.
        let winter = to_utc(at(2026, 1, 10, 1, 30), la).expect("single");
        assert_eq!(winter.to_rfc3339(), "2026-01-10T09:30:00+00:00");
        let summer = to_utc(at(2026, 7, 10, 1, 30), la).expect("single");
        assert_eq!(summer.to_rfc3339(), "2026-07-10T08:30:00+00:00");
        assert_eq!(to_local(summer, la), at(2026, 7, 10, 1, 30));
    }

    #[test]
    fn the_skipped_and_repeated_hours_are_errors() {
        let la = zone("America/Los_Angeles").expect("zone");
        // 2026-03-08: 02:00 jumps to 03:00. 2026-11-01: 01:00–02:00 happens twice.
        assert!(matches!(
            to_utc(at(2026, 3, 8, 2, 30), la),
            Err(LocalTimeError::Skipped(..))
        ));
        assert!(matches!(
            to_utc(at(2026, 11, 1, 1, 30), la),
            Err(LocalTimeError::Ambiguous(..))
        ));
        // UTC has neither.
        assert!(to_utc(at(2026, 3, 8, 2, 30), chrono_tz::UTC).is_ok());
    }
}
