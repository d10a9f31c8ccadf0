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

/// What to look for in the audit log; each field given narrows the search.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter {
    /// Part of the actor's email, or the actor's account id.
    pub actor: Option<String>,
    /// The action's stored name (`agency_create`), exactly.
    pub action: Option<String>,
    /// Part of what it happened to (`agency:ID`, `user:ID`).
    pub target: Option<String>,
    /// From this time on.
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Before this time.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
}

impl App {
    /// Audit entries matching `filter`, newest first, before the entry `before` when given
    /// (platform admins only): the admin pages' search.
    pub async fn search_audit(
        &self,
        who: &Principal,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: Option<i64>,
    ) -> Result<Vec<AuditRecord>> {
        self.require_role(who, &[Role::Admin], "audit_log").await?;
        let limit = limit.unwrap_or(50).clamp(1, MAX_PAGE);
        Ok(self
            .db
            .audit_search(
                filter.actor.as_deref(),
                filter.action.as_deref(),
                filter.target.as_deref(),
                (filter.from, filter.until),
                before,
                limit,
            )
            .await?)
    }
}
