//! Cameras: what a resident's camera must be, and how its upload token looks.

use super::area;
use super::validation::{Problems, ValidationError};

/// Every camera upload token starts with this, so a leaked one is recognisable (secret
/// scanners, logs) and is never confused with a session token.
pub const TOKEN_PREFIX: &str = "cvd_";
/// The longest camera name, in characters.
pub const NAME_MAX_CHARS: usize = 100;

/// Whether a bearer token is a camera's upload token (by its prefix alone).
pub fn is_device_token(token: &str) -> bool {
    token.starts_with(TOKEN_PREFIX)
}

/// Checks a camera's name: 1–100 characters after trimming, no control characters.
pub fn check_name(p: &mut Problems, name: &str) {
    p.text("name", name, NAME_MAX_CHARS, None);
    if name.chars().any(char::is_control) {
        p.add("name", "contains control characters");
    }
}

/// Checks a new camera: its name, and its location as a point on Earth (like a home).
pub fn validate(name: &str, location: Option<(f64, f64)>) -> Result<(), ValidationError> {
    let mut p = Problems::new();
    check_name(&mut p, name);
    match location {
        Some((lat, lon)) => p.check("location", area::validate_point(lat, lon)),
        None => p.add("location", "is required: {\"lat\": …, \"lon\": …}"),
    }
    p.finish("invalid_input", "The camera is not valid")
}

/// Checks a new name for a camera.
pub fn validate_name(name: &str) -> Result<(), ValidationError> {
    let mut p = Problems::new();
    check_name(&mut p, name);
    p.finish("invalid_input", "The camera is not valid")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_locations_are_checked() {
        assert!(validate("Porch", Some((45.5, -122.6))).is_ok());
        let e = validate("", Some((91.0, 0.0))).unwrap_err();
        assert_eq!(e.details.len(), 2);
        assert!(validate(&"x".repeat(101), Some((0.0, 0.0))).is_err());
        assert!(validate(&"x".repeat(100), Some((0.0, 0.0))).is_ok());
        assert!(validate("a\u{1b}b", Some((0.0, 0.0))).is_err());
        assert!(validate("ok", Some((f64::NAN, 0.0))).is_err());
        assert!(validate("ok", Some((0.0, 180.5))).is_err());
        assert!(validate("ok", None).is_err());
        assert!(validate_name("  ").is_err());
    }

    #[test]
    fn device_tokens_are_recognised() {
        assert!(is_device_token("cvd_abc"));
        assert!(!is_device_token("abc"));
    }
}
