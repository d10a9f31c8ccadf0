//! The use-case error. `web::error` maps it to the JSON error shape in one place.

use chrono::{DateTime, Utc};

use crate::domain::ValidationError;
use crate::store::StoreError;

/// Why a use case refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum AppError {
    /// The input broke rules; `details` lists each field.
    #[error("{0}")]
    Invalid(#[from] ValidationError),
    /// No valid session.
    #[error("sign in first")]
    Unauthenticated,
    /// Wrong email or password (never says which).
    #[error("the email or password is wrong")]
    InvalidCredentials,
    /// The account has a second factor and the login carried no code.
    #[error("this account needs a one-time code from its authenticator app (field `totp`)")]
    MfaRequired,
    /// The one-time code is wrong, expired or already used.
    #[error("the one-time code is wrong, expired or already used")]
    InvalidTotp,
    /// The session may only enroll a second factor.
    #[error("set up the second factor first: POST /api/v1/me/mfa/enroll, then /confirm")]
    MfaEnrollmentRequired,
    /// Authorization refused.
    #[error("{0}")]
    Forbidden(&'static str),
    /// Authorization allows the role, but the state of the caller's account or agency does
    /// not (an unverified agency, say).
    #[error("{message}")]
    Refused {
        /// Stable code.
        code: &'static str,
        /// What to do about it.
        message: String,
    },
    /// No such object, or another tenant's.
    #[error("{0} not found")]
    NotFound(&'static str),
    /// The change conflicts with the current state.
    #[error("{message}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// What to do about it.
        message: String,
    },
    /// Locked after repeated failed logins.
    #[error("the account is locked after repeated failed logins until {until}")]
    Locked {
        /// When the lock ends.
        until: DateTime<Utc>,
    },
    /// A body or file is larger than a limit allows (413).
    #[error("{message}")]
    TooLarge {
        /// Stable code.
        code: &'static str,
        /// What the limit is and what was given.
        message: String,
        /// The limit, in bytes.
        limit: u64,
        /// The size given, in bytes.
        given: u64,
    },
    /// The content is not of a kind accepted here (415), e.g. an upload that is not a video.
    #[error("{0}")]
    UnsupportedMedia(String),
    /// The bytes received do not match the checksum sent with them (tus: 460).
    #[error("{0}")]
    ChecksumMismatch(String),
    /// The object is still there but its time for this action has passed (410), e.g. a
    /// request whose response window closed.
    #[error("{message}")]
    Gone {
        /// Stable code.
        code: &'static str,
        /// What closed, and when.
        message: String,
    },
    /// Too much of one kind of work is under way; try again after `retry_after` seconds (429).
    #[error("{message}")]
    Busy {
        /// Stable code.
        code: &'static str,
        /// What is busy, and when to try again.
        message: String,
        /// Seconds to wait.
        retry_after: u64,
    },
    /// A byte range that starts past the end of the content (416).
    #[error("the range asked for starts past the end of the content, which is {size} bytes long")]
    RangeNotSatisfiable {
        /// The content's length, for `Content-Range: bytes */size`.
        size: u64,
    },
    /// Persistence failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// Anything else that is our fault.
    #[error(transparent)]
    Internal(#[from] anyhow::Error),
}

impl AppError {
    /// The stable snake_case code clients see.
    pub fn code(&self) -> &'static str {
        match self {
            AppError::Invalid(v) => v.code,
            AppError::Unauthenticated => "unauthenticated",
            AppError::InvalidCredentials => "invalid_credentials",
            AppError::MfaRequired => "mfa_required",
            AppError::InvalidTotp => "invalid_totp",
            AppError::MfaEnrollmentRequired => "mfa_enrollment_required",
            AppError::Forbidden(_) => "forbidden",
            AppError::NotFound(_) => "not_found",
            AppError::Conflict { code, .. } | AppError::Refused { code, .. } => code,
            AppError::Locked { .. } => "account_locked",
            AppError::TooLarge { code, .. } => code,
            AppError::UnsupportedMedia(_) => "unsupported_media_type",
            AppError::ChecksumMismatch(_) => "checksum_mismatch",
            AppError::Gone { code, .. } | AppError::Busy { code, .. } => code,
            AppError::RangeNotSatisfiable { .. } => "range_not_satisfiable",
            AppError::Store(_) | AppError::Internal(_) => "internal",
        }
    }
}

/// Shorthand for use-case results.
pub type Result<T, E = AppError> = std::result::Result<T, E>;
