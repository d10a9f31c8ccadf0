//! The password policy (NIST SP 800-63B style): length, not a known common password.

/// The shortest password accepted.
pub const MIN_LEN: usize = 8;
/// The longest password accepted. Long enough for passphrases, short enough to bound Argon2 work.
pub const MAX_LEN: usize = 128;

static COMMON: &str = include_str!("common_passwords.txt");

/// Is `password` among the 10,000 most common passwords (compared case-insensitively)?
pub fn is_common(password: &str) -> bool {
    let candidate = password.to_lowercase();
    COMMON.lines().any(|line| line == candidate)
}

/// Checks a new password against the policy.
pub fn validate(password: &str) -> Result<(), String> {
    let chars = password.chars().count();
    if chars < MIN_LEN {
        return Err(format!(
            "is {chars} characters long; at least {MIN_LEN} are needed"
        ));
    }
    if chars > MAX_LEN {
        return Err(format!(
            "is {chars} characters long; the limit is {MAX_LEN}"
        ));
    }
    if is_common(password) {
        return Err("is one of the most common passwords; choose another".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_passwords_are_refused() {
        assert!(validate("Ab3$xyz").unwrap_err().contains("at least 8"));
    }

    #[test]
    fn long_passphrases_are_accepted() {
        let p = "correct horse battery staple ".repeat(2);
        assert!(p.chars().count() >= 58);
        assert_eq!(
            validate(&"x7".repeat(32)),
            Ok(()),
            "64 characters must be allowed"
        );
        assert_eq!(validate(&p), Ok(()));
    }

    #[test]
    fn overlong_passwords_are_refused() {
        assert!(validate(&"a1".repeat(65)).is_err());
    }

    #[test]
    fn common_passwords_are_refused_in_any_case() {
        for p in [
            "password",
            "Password1",
            "12345678",
            "qwertyuiop",
            "SUNSHINE",
        ] {
            assert!(validate(p).is_err(), "{p}");
        }
        assert_eq!(validate("blue-tandem-otter-42"), Ok(()));
    }
}

/// Hashes a password with Argon2id (the crate's defaults: 19 MiB, 2 passes) and a random salt.
/// CPU-heavy: call it off the async threads.
pub fn hash(password: &str) -> Result<String, String> {
    use argon2::password_hash::{PasswordHasher, SaltString, rand_core::OsRng};
    let salt = SaltString::generate(&mut OsRng);
    argon2::Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| e.to_string())
}

/// Checks a password against a stored Argon2 PHC string. CPU-heavy, like [`hash`].
pub fn verify(password: &str, phc: &str) -> bool {
    use argon2::password_hash::{PasswordHash, PasswordVerifier};
    PasswordHash::new(phc).is_ok_and(|h| {
        argon2::Argon2::default()
            .verify_password(password.as_bytes(), &h)
            .is_ok()
    })
}

/// A valid hash of a random password, verified against when an email is unknown so that
/// the answer takes as long as for a known one.
pub fn decoy_hash() -> &'static str {
    static DECOY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    DECOY.get_or_init(|| hash(&uuid::Uuid::new_v4().to_string()).unwrap_or_default())
}

#[cfg(test)]
mod hash_tests {
    use super::*;

    #[test]
    fn hash_is_argon2id_and_verifies() {
        let h = hash("blue-tandem-otter-42").unwrap();
        assert!(h.starts_with("$argon2id$"), "{h}");
        assert!(verify("blue-tandem-otter-42", &h));
        assert!(!verify("blue-tandem-otter-43", &h));
        assert!(!verify("x", "not a hash"));
    }
}
