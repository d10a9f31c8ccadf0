//! Reading the audit log (platform admins only). Nothing here, or anywhere, changes it.

use super::{App, Principal, Result};
use crate::domain::Role;
use crate::store::AuditRecord;

/// The most entries one page holds.
pub const MAX_PAGE: i64 = 200;

impl App {
    /// Audit entries, newest first, before the entry `before` when given.
    pub async fn list_audit(
        &self,
        who: &Principal,
        before: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Vec<AuditRecord>> {
        self.require_role(who, &[Role::Admin], "audit_log").await?;
        let limit = limit.unwrap_or(50).clamp(1, MAX_PAGE);
        Ok(self.db.audit_page(before, limit).await?)
    }
}
