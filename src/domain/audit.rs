//! What the audit log records. The log is append-only; the database refuses changes too.

use serde::Serialize;

/// The kinds of event the audit log records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// A login attempt, successful or not.
    Login,
    /// A session ended by its owner.
    Logout,
    /// An account locked after repeated failures.
    AccountLocked,
    /// A second factor started (secret issued).
    MfaEnroll,
    /// A second factor confirmed and switched on.
    MfaConfirm,
    /// An account created.
    AccountCreate,
    /// A role given to an account.
    RoleGrant,
    /// An agency created.
    AgencyCreate,
    /// An agency's verification, evidence account, name or jurisdiction changed.
    AgencyUpdate,
    /// A member removed from an agency.
    MemberRemove,
    /// A request refused by authorization.
    AccessDenied,
    /// A request's evidence exported (or an export stopped by a failed integrity check).
    EvidenceExport,
    /// A camera registered by a resident.
    DeviceCreate,
    /// A camera's upload token issued (a new one replaces the old).
    DeviceTokenIssue,
    /// A camera's upload token revoked.
    DeviceTokenRevoke,
    /// A camera removed, with its unfinished uploads and recordings.
    DeviceRemove,
}

impl AuditAction {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditAction::Login => "login",
            AuditAction::Logout => "logout",
            AuditAction::AccountLocked => "account_locked",
            AuditAction::MfaEnroll => "mfa_enroll",
            AuditAction::MfaConfirm => "mfa_confirm",
            AuditAction::AccountCreate => "account_create",
            AuditAction::RoleGrant => "role_grant",
            AuditAction::AgencyCreate => "agency_create",
            AuditAction::AgencyUpdate => "agency_update",
            AuditAction::MemberRemove => "member_remove",
            AuditAction::AccessDenied => "access_denied",
            AuditAction::EvidenceExport => "evidence_export",
            AuditAction::DeviceCreate => "device_create",
            AuditAction::DeviceTokenIssue => "device_token_issue",
            AuditAction::DeviceTokenRevoke => "device_token_revoke",
            AuditAction::DeviceRemove => "device_remove",
        }
    }
}

/// How the audited attempt ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// It happened.
    Success,
    /// It was attempted and failed (wrong password, bad code).
    Failure,
    /// Authorization refused it.
    Denied,
}

impl Outcome {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
            Outcome::Denied => "denied",
        }
    }
}
