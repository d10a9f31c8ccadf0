//! Email address syntax, strict enough to catch typos, loose enough for real addresses.

/// Normalizes an address for storage and look-up: trimmed and lowercased.
pub fn normalize(email: &str) -> String {
    email.trim().to_lowercase()
}

/// Checks the form `local@domain.tld`. Deliverability is not checked here.
pub fn validate(email: &str) -> Result<(), String> {
    let email = email.trim();
    if email.is_empty() {
        return Err("is required".into());
    }
    if email.len() > 254 {
        return Err(format!(
            "is {} characters long; the limit is 254",
            email.len()
        ));
    }
    let Some((local, domain)) = email.rsplit_once('@') else {
        return Err("is not an email address (no @)".into());
    };
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c));
    let labels: Vec<&str> = domain.split('.').collect();
    let domain_ok = labels.len() >= 2
        && labels.iter().all(|l| {
            !l.is_empty()
                && l.len() <= 63
                && !l.starts_with('-')
                && !l.ends_with('-')
                && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        });
    if local_ok && domain_ok {
        Ok(())
    } else {
        Err(format!("{email:?} is not a valid email address"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_real_addresses() {
        for e in [
            "a@b.co",
            "arivera@pd.example",
            "first.last+tag@mail.city.gov",
        ] {
            assert_eq!(validate(e), Ok(()), "{e}");
        }
    }

    #[test]
    fn refuses_malformed_addresses() {
        for e in [
            "",
            "plain",
            "@pd.example",
            "a@",
            "a@b",
            "a..b@c.de",
            "a@-b.de",
            "a b@c.de",
        ] {
            assert!(validate(e).is_err(), "{e}");
        }
    }

    #[test]
    fn normalizes_case_and_space() {
        assert_eq!(normalize("  A@B.Example "), "a@b.example");
    }
}
