//! `/api/v1/me`: the signed-in account.

use serde::Serialize;

use super::error::ErrorBody;
use super::extract::Auth;
use crate::domain::Role;
use crate::store::UserRecord;

/// An account as the API shows it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct UserView {
    /// Its id.
    pub id: String,
    /// Its email.
    pub email: String,
    /// Its role.
    pub role: Role,
    /// The agency, for agency members.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub agency_id: Option<String>,
    /// Name shown to others.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
}

impl From<&UserRecord> for UserView {
    fn from(u: &UserRecord) -> Self {
        Self {
            id: u.id.clone(),
            email: u.email.clone(),
            role: u.role,
            agency_id: u.agency_id.clone(),
            display_name: u.display_name.clone(),
        }
    }
}

/// The signed-in account.
#[utoipa::path(get, path = "/api/v1/me", tag = "accounts",
    responses((status = 200, body = UserView), (status = 401, body = ErrorBody)))]
pub async fn get(Auth(who): Auth) -> axum::Json<UserView> {
    // The session look-up already read the account; nothing more to fetch.
    axum::Json(UserView {
        id: who.user_id,
        email: who.email,
        role: who.role,
        agency_id: who.agency_id,
        display_name: who.display_name,
    })
}
