//! Creating accounts: residents sign themselves up; staff are added by admins.

use super::auth::hash_password;
use super::{App, AppError, Principal, Result};
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::validation::Problems;
use crate::domain::{Role, area, email, password};
use crate::store::{AuditEntry, NewUser, UserRecord};

/// What a resident gives to sign up.
#[derive(Debug, Clone)]
pub struct ResidentSignUp {
    /// Their email.
    pub email: String,
    /// Their new password.
    pub password: String,
    /// Name shown on their comments.
    pub display_name: String,
    /// Their home's street address (shared with an investigator only with a clip they share).
    pub home_address: String,
    /// Their home as (latitude, longitude); `None` when not given (refused as invalid).
    pub home: Option<(f64, f64)>,
}

/// A staff account to create.
#[derive(Debug, Clone)]
pub struct StaffAccount {
    /// Their email.
    pub email: String,
    /// Their first password.
    pub password: String,
    /// Their name, if given.
    pub display_name: Option<String>,
}

impl App {
    /// Signs a resident up (anyone may). 409 `email_taken` when the email has an account.
    pub async fn sign_up_resident(
        &self,
        input: ResidentSignUp,
        source_ip: Option<&str>,
    ) -> Result<UserRecord> {
        let mut p = Problems::new();
        p.check("email", email::validate(&input.email));
        p.check("password", password::validate(&input.password));
        p.text("display_name", &input.display_name, 100, None);
        p.text("home_address", &input.home_address, 300, None);
        match input.home {
            Some((lat, lon)) => p.check("home_location", area::validate_point(lat, lon)),
            None => p.add("home_location", "is required: {\"lat\": …, \"lon\": …}"),
        }
        p.finish("invalid_input", "The sign-up is not valid")?;
        let Some(home) = input.home else {
            // Unreachable: a missing home was refused above.
            return Err(AppError::Internal(anyhow::anyhow!(
                "sign-up without a home"
            )));
        };
        let hash = hash_password(input.password).await?;
        let email = email::normalize(&input.email);
        let new = NewUser {
            email: &email,
            password_hash: &hash,
            role: Role::Resident,
            agency_id: None,
            display_name: Some(input.display_name.trim()),
            home_address: Some(input.home_address.trim()),
            home: Some(home),
        };
        let user = self.insert_account(&new).await?;
        self.audit_account(None, &user, source_ip).await?;
        Ok(user)
    }

    /// Creates a moderator (platform admins only).
    pub async fn create_moderator(
        &self,
        who: &Principal,
        input: StaffAccount,
    ) -> Result<UserRecord> {
        self.require_role(who, &[Role::Admin], "moderators").await?;
        self.create_staff(Some(who), input, Role::Moderator, None)
            .await
    }

    /// Creates an agency member. Admins may add to any agency; an agency admin only to their own.
    pub async fn add_agency_member(
        &self,
        who: &Principal,
        agency_id: &str,
        input: StaffAccount,
        role: Role,
    ) -> Result<UserRecord> {
        self.authorize_agency_admin(who, agency_id).await?;
        if !role.is_agency_member() {
            let mut p = Problems::new();
            p.add("role", "must be investigator or agency_admin");
            p.finish("invalid_input", "The member is not valid")?;
        }
        self.create_staff(Some(who), input, role, Some(agency_id))
            .await
    }

    /// An agency's members, for the agency's admins and platform admins.
    pub async fn list_agency_members(
        &self,
        who: &Principal,
        agency_id: &str,
    ) -> Result<Vec<UserRecord>> {
        self.authorize_agency_admin(who, agency_id).await?;
        // Removed members are disabled, not deleted (the records stay for audit): they are no
        // longer members, and the list has no field that would tell them apart.
        let mut members = self.db.agency_members(agency_id).await?;
        members.retain(|m| !m.disabled);
        Ok(members)
    }

    /// Removes a member: the account is disabled and every session ends. Records stay, for audit.
    pub async fn remove_agency_member(
        &self,
        who: &Principal,
        agency_id: &str,
        user_id: &str,
    ) -> Result<()> {
        self.authorize_agency_admin(who, agency_id).await?;
        let target = format!("user:{user_id}");
        let member = self.db.user_by_id(user_id).await?;
        let Some(member) = member.filter(|m| m.agency_id.as_deref() == Some(agency_id)) else {
            return Err(self.not_found_for(who, &target, "member").await);
        };
        if member.id == who.user_id {
            return Err(AppError::Conflict {
                code: "cannot_remove_self",
                message: "ask another agency admin or a platform admin to remove you".into(),
            });
        }
        let now = self.now();
        self.db.disable_user(&member.id, now).await?;
        self.db.revoke_user_sessions(&member.id, now).await?;
        self.audit(who.audit_entry(
            AuditAction::MemberRemove,
            Some(&target),
            Outcome::Success,
            Some(member.role.as_str()),
        ))
        .await
    }

    /// Bootstraps a platform admin from the command line (no principal: the operator is trusted).
    pub async fn create_admin(&self, input: StaffAccount) -> Result<UserRecord> {
        self.create_staff(None, input, Role::Admin, None).await
    }

    /// Platform admins manage any agency; agency admins only their own (others answer 404).
    async fn authorize_agency_admin(&self, who: &Principal, agency_id: &str) -> Result<()> {
        self.require_role(who, &[Role::Admin, Role::AgencyAdmin], "agency_members")
            .await?;
        let target = format!("agency:{agency_id}");
        let visible = match who.role {
            Role::Admin => true,
            _ => who.agency_id.as_deref() == Some(agency_id),
        };
        if !visible || self.db.agency(agency_id).await?.is_none() {
            return Err(self.not_found_for(who, &target, "agency").await);
        }
        Ok(())
    }

    async fn create_staff(
        &self,
        who: Option<&Principal>,
        input: StaffAccount,
        role: Role,
        agency_id: Option<&str>,
    ) -> Result<UserRecord> {
        let mut p = Problems::new();
        p.check("email", email::validate(&input.email));
        p.check("password", password::validate(&input.password));
        if let Some(name) = &input.display_name {
            p.text("display_name", name, 100, None);
        }
        p.finish("invalid_input", "The account is not valid")?;
        let hash = hash_password(input.password).await?;
        let email = email::normalize(&input.email);
        let new = NewUser {
            email: &email,
            password_hash: &hash,
            role,
            agency_id,
            display_name: input.display_name.as_deref().map(str::trim),
            home_address: None,
            home: None,
        };
        let user = self.insert_account(&new).await?;
        self.audit_account(who, &user, who.and_then(|w| w.source_ip.as_deref()))
            .await?;
        Ok(user)
    }

    async fn insert_account(&self, new: &NewUser<'_>) -> Result<UserRecord> {
        match self.db.insert_user(new, self.now()).await {
            Ok(u) => Ok(u),
            Err(e) if e.is_unique_violation() => Err(AppError::Conflict {
                code: "email_taken",
                message: format!("{} already has an account; sign in instead", new.email),
            }),
            Err(e) => Err(e.into()),
        }
    }

    /// Records the new account and the role it was given.
    async fn audit_account(
        &self,
        who: Option<&Principal>,
        user: &UserRecord,
        source_ip: Option<&str>,
    ) -> Result<()> {
        let target = format!("user:{}", user.id);
        let actor_id = who.map_or(user.id.as_str(), |w| w.user_id.as_str());
        let actor_email = who.map_or(user.email.as_str(), |w| w.email.as_str());
        let mut entry = AuditEntry {
            actor_id: Some(actor_id),
            actor_email: Some(actor_email),
            action: AuditAction::AccountCreate,
            target: Some(&target),
            source_ip,
            outcome: Outcome::Success,
            detail: Some(&user.email),
        };
        self.audit(entry.clone()).await?;
        let role_detail = match &user.agency_id {
            Some(agency) => format!("{} of agency:{agency}", user.role.as_str()),
            None => user.role.as_str().to_owned(),
        };
        entry.action = AuditAction::RoleGrant;
        entry.detail = Some(&role_detail);
        self.audit(entry).await
    }
}

impl App {
    /// Every moderator account, oldest first, disabled ones included (platform admins only).
    pub async fn list_moderators(&self, who: &Principal) -> Result<Vec<UserRecord>> {
        self.require_role(who, &[Role::Admin], "moderators").await?;
        Ok(self.db.users_with_role(Role::Moderator).await?)
    }
}
