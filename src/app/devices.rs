//! Residents' cameras: registering one, renaming it, its upload token, and removing it with
//! everything it uploaded (except evidence already shared, which is the agency's own copy).

use base64::Engine;

use super::auth::token_hash;
use super::uploads::Uploader;
use super::{App, AppError, Principal, Result};
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::{Role, device, geo_index};
use crate::store::{DeviceRecord, NewDevice, cell_i64};

/// A fresh upload token: the prefix and 32 random bytes, base64url. Shown once; only its
/// SHA-256 is kept.
fn new_device_token() -> String {
    let mut bytes = [0_u8; 32];
    rand::fill(&mut bytes);
    format!(
        "{}{}",
        device::TOKEN_PREFIX,
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

impl App {
    /// The caller's camera `id`: residents only; another resident's camera answers 404.
    pub(crate) async fn owned_device(&self, who: &Principal, id: &str) -> Result<DeviceRecord> {
        self.require_role(who, &[Role::Resident], "devices").await?;
        match self.db.device(id).await? {
            Some(d) if d.owner_id == who.user_id => Ok(d),
            Some(_) => Err(self
                .not_found_for(who, &format!("device:{id}"), "camera")
                .await),
            None => Err(AppError::NotFound("camera")),
        }
    }

    /// Registers a camera at `location` (latitude, longitude) and answers it with its upload
    /// token, which is never shown again.
    pub async fn create_device(
        &self,
        who: &Principal,
        name: &str,
        location: Option<(f64, f64)>,
    ) -> Result<(DeviceRecord, String)> {
        self.require_role(who, &[Role::Resident], "devices").await?;
        device::validate(name, location)?;
        let Some((lat, lon)) = location else {
            // Unreachable: a missing location was refused above.
            return Err(AppError::Internal(anyhow::anyhow!(
                "camera without a location"
            )));
        };
        let cell = geo_index::home_cell(lat, lon)
            .map_err(|e| AppError::Internal(anyhow::anyhow!("camera cell: {e}")))?;
        let token = new_device_token();
        let record = self
            .db
            .insert_device(
                &NewDevice {
                    owner_id: &who.user_id,
                    name: name.trim(),
                    lat,
                    lon,
                    cell: cell_i64(cell)?,
                    token_hash: &token_hash(&token),
                },
                self.now(),
            )
            .await?;
        self.audit(who.audit_entry(
            AuditAction::DeviceCreate,
            Some(&format!("device:{}", record.id)),
            Outcome::Success,
            None,
        ))
        .await?;
        Ok((record, token))
    }

    /// The caller's cameras, oldest first.
    pub async fn devices(&self, who: &Principal) -> Result<Vec<DeviceRecord>> {
        self.require_role(who, &[Role::Resident], "devices").await?;
        Ok(self.db.devices_of(&who.user_id).await?)
    }

    /// One of the caller's cameras.
    pub async fn device(&self, who: &Principal, id: &str) -> Result<DeviceRecord> {
        self.owned_device(who, id).await
    }

    /// Renames one of the caller's cameras.
    pub async fn rename_device(
        &self,
        who: &Principal,
        id: &str,
        name: &str,
    ) -> Result<DeviceRecord> {
        let d = self.owned_device(who, id).await?;
        device::validate_name(name)?;
        self.db.rename_device(&d.id, name.trim()).await?;
        self.owned_device(who, id).await
    }

    /// Revokes a camera's upload token: it stops working at once. Revoking twice is harmless.
    pub async fn revoke_device_token(&self, who: &Principal, id: &str) -> Result<()> {
        let d = self.owned_device(who, id).await?;
        self.db.set_device_token(&d.id, None).await?;
        self.audit(who.audit_entry(
            AuditAction::DeviceTokenRevoke,
            Some(&format!("device:{}", d.id)),
            Outcome::Success,
            None,
        ))
        .await
    }

    /// Issues a new upload token for a camera, revoking the one before; answers it (shown once).
    pub async fn issue_device_token(&self, who: &Principal, id: &str) -> Result<String> {
        let d = self.owned_device(who, id).await?;
        let token = new_device_token();
        self.db
            .set_device_token(&d.id, Some(&token_hash(&token)))
            .await?;
        self.audit(who.audit_entry(
            AuditAction::DeviceTokenIssue,
            Some(&format!("device:{}", d.id)),
            Outcome::Success,
            None,
        ))
        .await?;
        Ok(token)
    }

    /// Removes a camera with its unfinished uploads and its recordings, bytes included.
    /// Evidence already shared stays: it is a separate copy that belongs to the agency.
    pub async fn delete_device(&self, who: &Principal, id: &str) -> Result<()> {
        let d = self.owned_device(who, id).await?;
        let before = self.db.device_segments(&d.id).await?;
        self.delete_objects_then_rows(&before, self.db.delete_device(&d.id))
            .await?;
        self.audit(who.audit_entry(
            AuditAction::DeviceRemove,
            Some(&format!("device:{}", d.id)),
            Outcome::Success,
            None,
        ))
        .await
    }

    /// The camera (and its owner, as the acting principal) that an upload token belongs to.
    /// An unknown or revoked token, or an owner who can no longer sign in, answers 401.
    pub async fn authenticate_device(
        &self,
        token: &str,
        source_ip: Option<String>,
    ) -> Result<Uploader> {
        let d = self
            .db
            .device_by_token_hash(&token_hash(token))
            .await?
            .ok_or(AppError::Unauthenticated)?;
        let owner = self
            .db
            .user_by_id(&d.owner_id)
            .await?
            .ok_or(AppError::Unauthenticated)?;
        if owner.disabled || owner.role != Role::Resident {
            return Err(AppError::Unauthenticated);
        }
        Ok(Uploader {
            // No session: the camera's token is not one, and cannot log out.
            principal: Principal::without_session(owner, source_ip),
            device_id: Some(d.id),
        })
    }
}
