//! Signing in and out, sessions, and the staff second factor.

use base64::Engine;
use sha2::{Digest, Sha256};

use super::{App, AppError, Principal, Result, STAFF};
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::lockout::LockoutPolicy;
use crate::domain::{email, mfa, password};
use crate::store::{AuditEntry, UserRecord};

/// A successful login.
#[derive(Debug, Clone)]
pub struct LoginOutcome {
    /// The bearer token (also set as the session cookie). Shown once, stored only hashed.
    pub token: String,
    /// The account.
    pub user: UserRecord,
    /// The token may only enroll a second factor.
    pub mfa_enrollment_required: bool,
    /// How long the session lasts at most, in seconds (for the cookie's Max-Age).
    pub max_age_secs: i64,
}

/// A second factor being set up.
#[derive(Debug, Clone)]
pub struct MfaEnrollment {
    /// Base32 secret to type into an authenticator app.
    pub secret: String,
    /// The `otpauth://` URI (for a QR code).
    pub otpauth_uri: String,
}

/// The SHA-256 of a token, hex: what the sessions table keys on.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

fn new_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::fill(&mut bytes);
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

async fn verify_password(password: String, phc: String) -> Result<bool> {
    tokio::task::spawn_blocking(move || password::verify(&password, &phc))
        .await
        .map_err(|e| AppError::Internal(e.into()))
}

/// Hashes a new password off the async threads.
pub(crate) async fn hash_password(password: String) -> Result<String> {
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .map_err(|e| AppError::Internal(e.into()))?
        .map_err(|e| AppError::Internal(anyhow::anyhow!("argon2: {e}")))
}

fn login_entry<'a>(
    user: Option<&'a UserRecord>,
    email: &'a str,
    source_ip: Option<&'a str>,
    outcome: Outcome,
    detail: &'a str,
) -> AuditEntry<'a> {
    AuditEntry {
        actor_id: user.map(|u| u.id.as_str()),
        actor_email: Some(email),
        action: AuditAction::Login,
        target: None,
        source_ip,
        outcome,
        detail: Some(detail),
    }
}

impl App {
    /// Signs in with email, password and (for staff with a second factor) a TOTP code.
    pub async fn login(
        &self,
        email_given: &str,
        password_given: &str,
        totp: Option<&str>,
        source_ip: Option<&str>,
    ) -> Result<LoginOutcome> {
        let email_norm = email::normalize(email_given);
        let now = self.now();
        let Some(user) = self.db.user_by_email(&email_norm).await? else {
            // Same work as for a real account, so timing does not reveal which emails exist.
            verify_password(password_given.to_owned(), password::decoy_hash().to_owned()).await?;
            self.audit(login_entry(
                None,
                &email_norm,
                source_ip,
                Outcome::Failure,
                "unknown_email",
            ))
            .await?;
            return Err(AppError::InvalidCredentials);
        };
        if LockoutPolicy::is_locked(user.locked_until, now) {
            self.audit(login_entry(
                Some(&user),
                &email_norm,
                source_ip,
                Outcome::Failure,
                "account_locked",
            ))
            .await?;
            return Err(AppError::Locked {
                until: user.locked_until.unwrap_or(now),
            });
        }
        let password_ok =
            verify_password(password_given.to_owned(), user.password_hash.clone()).await?;
        if !password_ok || user.disabled {
            let detail = if user.disabled {
                "account_disabled"
            } else {
                "wrong_password"
            };
            return Err(self
                .count_failure(&user, detail, source_ip, AppError::InvalidCredentials)
                .await);
        }

        let needs_mfa = user.role.is_staff() && self.settings.require_staff_mfa;
        let mut mfa_pending = false;
        if needs_mfa && user.totp_enabled {
            let Some(code) = totp.filter(|c| !c.trim().is_empty()) else {
                self.audit(login_entry(
                    Some(&user),
                    &email_norm,
                    source_ip,
                    Outcome::Failure,
                    "mfa_required",
                ))
                .await?;
                return Err(AppError::MfaRequired);
            };
            if !self.consume_totp(&user, code).await? {
                return Err(self
                    .count_failure(&user, "wrong_totp", source_ip, AppError::InvalidTotp)
                    .await);
            }
        } else if needs_mfa {
            mfa_pending = true;
        }

        self.db.record_login_success(&user.id).await?;
        let token = new_token();
        let expires_at = self.settings.sessions.absolute_expiry(user.role, now);
        self.db
            .insert_session(&token_hash(&token), &user.id, mfa_pending, now, expires_at)
            .await?;
        let detail = if mfa_pending {
            "mfa_enrollment_required"
        } else {
            "signed_in"
        };
        self.audit(login_entry(
            Some(&user),
            &email_norm,
            source_ip,
            Outcome::Success,
            detail,
        ))
        .await?;
        Ok(LoginOutcome {
            token,
            user,
            mfa_enrollment_required: mfa_pending,
            max_age_secs: (expires_at - now).num_seconds(),
        })
    }

    /// Counts a failed login, locks the account when the policy says so, and answers the error.
    async fn count_failure(
        &self,
        user: &UserRecord,
        detail: &'static str,
        source_ip: Option<&str>,
        error: AppError,
    ) -> AppError {
        let now = self.now();
        let failures = u32::try_from(user.failed_logins).unwrap_or(u32::MAX);
        let next = self
            .settings
            .lockout
            .after_failure(failures, user.first_failed_at, now);
        let result = async {
            self.db
                .record_login_failure(
                    &user.id,
                    next.failures,
                    next.window_start,
                    next.locked_until,
                )
                .await?;
            let mut entry = AuditEntry {
                actor_id: Some(&user.id),
                actor_email: Some(&user.email),
                action: AuditAction::Login,
                target: None,
                source_ip,
                outcome: Outcome::Failure,
                detail: Some(detail),
            };
            self.audit(entry.clone()).await?;
            if let Some(until) = next.locked_until {
                entry.action = AuditAction::AccountLocked;
                entry.detail = Some("too_many_failed_logins");
                entry.target = Some(&user.id);
                self.audit(entry).await?;
                return Ok::<_, AppError>(AppError::Locked { until });
            }
            Ok(error)
        }
        .await;
        result.unwrap_or_else(|e| e)
    }

    async fn consume_totp(&self, user: &UserRecord, code: &str) -> Result<bool> {
        let Some(secret) = user.totp_secret.as_deref() else {
            return Ok(false);
        };
        let unix = u64::try_from(self.now().timestamp()).unwrap_or(0);
        let Some(step) = mfa::verify(secret, code, unix, user.totp_last_step) else {
            return Ok(false);
        };
        Ok(self.db.consume_totp_step(&user.id, step).await?)
    }

    /// Finds the principal behind a bearer token, or 401.
    pub async fn authenticate(&self, token: &str, source_ip: Option<String>) -> Result<Principal> {
        let hash = token_hash(token);
        let (session, user) = self
            .db
            .session_with_user(&hash)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let now = self.now();
        let policy = &self.settings.sessions;
        if session.revoked
            || user.disabled
            || !policy.is_alive(user.role, session.expires_at, session.last_seen_at, now)
        {
            return Err(AppError::Unauthenticated);
        }
        if policy.needs_touch(session.last_seen_at, now) {
            self.db.touch_session(&hash, now).await?;
        }
        Ok(Principal {
            user_id: user.id,
            email: user.email,
            role: user.role,
            agency_id: user.agency_id,
            display_name: user.display_name,
            session_hash: hash,
            mfa_pending: session.mfa_pending,
            source_ip,
            home: user.home,
            community_requests: user.community_requests,
        })
    }

    /// Ends the caller's session.
    pub async fn logout(&self, who: &Principal) -> Result<()> {
        self.db
            .revoke_session(&who.session_hash, self.now())
            .await?;
        self.audit(who.audit_entry(AuditAction::Logout, None, Outcome::Success, None))
            .await
    }

    /// The caller's account, when it is staff without a confirmed second factor.
    async fn staff_without_mfa(&self, who: &Principal) -> Result<UserRecord> {
        self.require_role(who, STAFF, "mfa").await?;
        let user = self
            .db
            .user_by_id(&who.user_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if user.totp_enabled {
            return Err(AppError::Conflict {
                code: "mfa_already_enabled",
                message: "this account already has a second factor".into(),
            });
        }
        Ok(user)
    }

    /// Starts (or restarts) second-factor enrollment for a staff account.
    pub async fn mfa_enroll(&self, who: &Principal) -> Result<MfaEnrollment> {
        let user = self.staff_without_mfa(who).await?;
        let secret = mfa::new_secret();
        let otpauth_uri = mfa::otpauth_uri(&secret, &user.email)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("otpauth uri: {e}")))?;
        self.db
            .set_totp_secret(&user.id, &secret, self.now())
            .await?;
        self.audit(who.audit_entry(
            AuditAction::MfaEnroll,
            Some(&who.user_id),
            Outcome::Success,
            None,
        ))
        .await?;
        Ok(MfaEnrollment {
            secret,
            otpauth_uri,
        })
    }

    /// Confirms enrollment with a first code; from then on login needs a code.
    pub async fn mfa_confirm(&self, who: &Principal, code: &str) -> Result<()> {
        let user = self.staff_without_mfa(who).await?;
        if user.totp_secret.is_none() {
            return Err(AppError::Conflict {
                code: "mfa_not_enrolled",
                message: "start with POST /api/v1/me/mfa/enroll".into(),
            });
        }
        if !self.consume_totp(&user, code).await? {
            self.audit(who.audit_entry(
                AuditAction::MfaConfirm,
                Some(&who.user_id),
                Outcome::Failure,
                Some("wrong_totp"),
            ))
            .await?;
            return Err(AppError::InvalidTotp);
        }
        self.db.enable_totp(&user.id, self.now()).await?;
        self.audit(who.audit_entry(
            AuditAction::MfaConfirm,
            Some(&who.user_id),
            Outcome::Success,
            None,
        ))
        .await
    }
}
