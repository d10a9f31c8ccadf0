//! Field-by-field validation problems, collected so one answer can list them all.

use std::collections::BTreeMap;

/// Problems found in an input, keyed by the field's path (`home_location.lat`).
pub type FieldErrors = BTreeMap<String, Vec<String>>;

/// An input that broke one or more rules. `details` names every field at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ValidationError {
    /// Stable snake_case code for clients.
    pub code: &'static str,
    /// A sentence a person can act on.
    pub message: String,
    /// Each field with its problems.
    pub details: FieldErrors,
}

impl ValidationError {
    /// One problem with one field.
    pub fn field(code: &'static str, field: &str, problem: impl Into<String>) -> Self {
        let mut details = FieldErrors::new();
        details.insert(field.to_owned(), vec![problem.into()]);
        let message = format!("{field}: {}", details[field][0]);
        Self {
            code,
            message,
            details,
        }
    }
}

/// Collects problems across fields, then turns into one [`ValidationError`] or `Ok`.
#[derive(Debug, Default)]
pub struct Problems {
    details: FieldErrors,
}

impl Problems {
    /// An empty collection.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records one problem with `field`.
    pub fn add(&mut self, field: &str, problem: impl Into<String>) {
        self.details
            .entry(field.to_owned())
            .or_default()
            .push(problem.into());
    }

    /// Checks required text of at most `max` characters (after trimming). `setting` names the
    /// setting behind the limit, when there is one, so the message says what to change.
    pub fn text(&mut self, field: &str, value: &str, max: usize, setting: Option<&str>) {
        let len = value.trim().chars().count();
        if len == 0 {
            self.add(field, "is required");
        } else if len > max {
            let from = setting.map(|s| format!(" ({s})")).unwrap_or_default();
            self.add(
                field,
                format!("is {len} characters long; the limit is {max}{from}"),
            );
        }
    }

    /// Records the problem of a failed check, if any.
    pub fn check(&mut self, field: &str, result: Result<(), String>) {
        if let Err(problem) = result {
            self.add(field, problem);
        }
    }

    /// The problems found so far, by field.
    pub fn into_details(self) -> FieldErrors {
        self.details
    }

    /// `Ok` when nothing was found; otherwise one error listing every field.
    pub fn finish(self, code: &'static str, summary: &str) -> Result<(), ValidationError> {
        if self.details.is_empty() {
            return Ok(());
        }
        let fields: Vec<&str> = self.details.keys().map(String::as_str).collect();
        Err(ValidationError {
            code,
            message: format!("{summary}: check {}", fields.join(", ")),
            details: self.details,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_problems_is_ok() {
        assert!(Problems::new().finish("invalid_input", "bad").is_ok());
    }

    #[test]
    fn every_field_is_listed() {
        let mut p = Problems::new();
        p.add("email", "is not an email address");
        p.add("password", "is too short");
        p.add("password", "is too common");
        let err = p
            .finish("invalid_input", "The account is not valid")
            .unwrap_err();
        assert_eq!(err.details.len(), 2);
        assert_eq!(err.details["password"].len(), 2);
        assert!(err.message.contains("email, password"));
    }
}
