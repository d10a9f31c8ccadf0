//! Roles and what each may do in general (object-level checks live in `app`).

use serde::{Deserialize, Serialize};

/// The role of an account. Every account has exactly one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Platform admin: verifies agencies, appoints moderators.
    Admin,
    /// Platform staff who review requests before publication.
    Moderator,
    /// Manages one agency's members.
    AgencyAdmin,
    /// Creates community requests for one agency and reviews evidence.
    Investigator,
    /// A member of the public with a home in the service area.
    Resident,
}

impl Role {
    /// Every role, for matrices and parsing.
    pub const ALL: [Role; 5] = [
        Role::Admin,
        Role::Moderator,
        Role::AgencyAdmin,
        Role::Investigator,
        Role::Resident,
    ];

    /// The stored and serialized name.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "admin",
            Role::Moderator => "moderator",
            Role::AgencyAdmin => "agency_admin",
            Role::Investigator => "investigator",
            Role::Resident => "resident",
        }
    }

    /// Parses a stored name.
    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }

    /// Staff accounts carry more power, so they need a second factor and shorter sessions.
    pub fn is_staff(self) -> bool {
        !matches!(self, Role::Resident)
    }

    /// Roles that belong to exactly one agency.
    pub fn is_agency_member(self) -> bool {
        matches!(self, Role::AgencyAdmin | Role::Investigator)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for r in Role::ALL {
            assert_eq!(Role::parse(r.as_str()), Some(r));
        }
        assert_eq!(Role::parse("root"), None);
    }

    #[test]
    fn only_residents_are_not_staff() {
        let staff: Vec<Role> = Role::ALL.into_iter().filter(|r| r.is_staff()).collect();
        assert_eq!(staff.len(), 4);
        assert!(!Role::Resident.is_staff());
    }
}
