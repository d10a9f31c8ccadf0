//! The staff second factor: TOTP (RFC 6238), 6 digits, 30-second steps, one step of skew.
//! A code is accepted once: its time step must be later than the last step accepted.

use totp_rs::{Builder, Secret, Totp};

/// Shown in authenticator apps next to the account.
pub const ISSUER: &str = "Canvass";

/// A fresh random secret (160 bits), base32 as authenticator apps expect.
pub fn new_secret() -> String {
    Secret::generate().to_base32()
}

fn totp(secret_b32: &str, account: &str) -> Result<Totp, String> {
    let secret = Secret::try_from_base32(secret_b32).map_err(|e| format!("{e:?}"))?;
    Builder::new()
        .with_secret(secret)
        .with_account_name(account.replace(':', "_"))
        .with_issuer(Some(ISSUER))
        .build()
        .map_err(|e| format!("{e:?}"))
}

/// The `otpauth://` URI for an authenticator app (usually shown as a QR code).
pub fn otpauth_uri(secret_b32: &str, account: &str) -> Result<String, String> {
    totp(secret_b32, account)?
        .to_url()
        .map_err(|e| format!("{e:?}"))
}

/// The code an authenticator shows at `unix_time` (for tests and the demo).
pub fn code_at(secret_b32: &str, unix_time: u64) -> Result<String, String> {
    Ok(totp(secret_b32, "x")?.generate(unix_time).to_string())
}

/// Checks `code` at `unix_time`. Answers the time step it belongs to when it is right and
/// later than `last_step` (so a code seen once, or an older one, is refused).
pub fn verify(secret_b32: &str, code: &str, unix_time: u64, last_step: Option<i64>) -> Option<i64> {
    let code = code.trim();
    if code.len() != 6 || !code.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let step = totp(secret_b32, "x").ok()?.check(code, unix_time)?;
    let step = i64::try_from(step).ok()?;
    match last_step {
        Some(last) if step <= last => None,
        _ => Some(step),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_800_000_000;

    #[test]
    fn right_code_is_accepted_once() {
        let s = new_secret();
        let code = code_at(&s, T).unwrap();
        let step = verify(&s, &code, T, None).expect("fresh code");
        assert_eq!(step, (T / 30) as i64);
        assert_eq!(verify(&s, &code, T + 5, Some(step)), None, "replay refused");
    }

    #[test]
    fn neighbouring_steps_are_accepted_for_clock_skew() {
        let s = new_secret();
        let previous = code_at(&s, T - 30).unwrap();
        assert!(verify(&s, &previous, T, None).is_some());
        let stale = code_at(&s, T - 90).unwrap();
        assert_eq!(verify(&s, &stale, T, None), None);
    }

    #[test]
    fn an_older_code_after_a_newer_one_is_refused() {
        let s = new_secret();
        let newer = verify(&s, &code_at(&s, T).unwrap(), T, None).unwrap();
        let older = code_at(&s, T - 30).unwrap();
        assert_eq!(verify(&s, &older, T, Some(newer)), None);
    }

    #[test]
    fn malformed_codes_are_refused() {
        let s = new_secret();
        for c in ["", "12345", "1234567", "abcdef"] {
            assert_eq!(verify(&s, c, T, None), None, "{c}");
        }
    }

    #[test]
    fn uri_names_issuer_and_account() {
        let s = new_secret();
        let uri = otpauth_uri(&s, "det@pd.example").unwrap();
        assert!(uri.starts_with("otpauth://totp/Canvass:"), "{uri}");
        assert!(uri.contains(&s));
    }
}
