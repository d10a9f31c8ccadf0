//! Agencies: created and verified by platform admins; seen by their own members.

use super::{App, AppError, Principal, Result, STAFF};
use crate::domain::Role;
use crate::domain::area::{self, Shape};
use crate::domain::audit::{AuditAction, Outcome};
use crate::domain::local_time;
use crate::domain::validation::Problems;
use crate::store::{AgencyChanges, AgencyRecord, NewAgency};

/// The kinds of agency that may ask for footage.
pub const AGENCY_KINDS: [&str; 2] = ["law_enforcement", "fire"];

/// A new agency, as given by an admin.
#[derive(Debug, Clone)]
pub struct AgencyInput {
    /// Public name, e.g. "Riverton Police Department".
    pub name: String,
    /// `law_enforcement` or `fire`.
    pub kind: String,
    /// GeoJSON Polygon or MultiPolygon.
    pub jurisdiction: serde_json::Value,
    /// Verified now.
    pub verified: bool,
    /// Evidence account enabled now.
    pub evidence_enabled: bool,
    /// IANA time zone name; `None` is UTC.
    pub time_zone: Option<String>,
}

/// A change to an agency; absent fields stay as they are.
#[derive(Debug, Clone, Default)]
pub struct AgencyUpdate {
    /// New name.
    pub name: Option<String>,
    /// New jurisdiction.
    pub jurisdiction: Option<serde_json::Value>,
    /// Verify or unverify.
    pub verified: Option<bool>,
    /// Enable or disable the evidence account.
    pub evidence_enabled: Option<bool>,
    /// New IANA time zone name.
    pub time_zone: Option<String>,
}

impl App {
    /// Creates an agency (platform admins only).
    pub async fn create_agency(&self, who: &Principal, input: AgencyInput) -> Result<AgencyRecord> {
        self.require_role(who, &[Role::Admin], "agencies").await?;
        let mut p = Problems::new();
        p.text("name", &input.name, 200, None);
        if !AGENCY_KINDS.contains(&input.kind.as_str()) {
            p.add(
                "kind",
                format!("{:?} is not one of {}", input.kind, AGENCY_KINDS.join(", ")),
            );
        }
        p.check(
            "jurisdiction",
            area::parse(&input.jurisdiction, Shape::PolygonOrMulti).map(|_| ()),
        );
        let time_zone = input
            .time_zone
            .as_deref()
            .unwrap_or(local_time::DEFAULT_TIME_ZONE);
        p.check(
            "time_zone",
            local_time::zone(time_zone)
                .map(|_| ())
                .map_err(|e| e.to_string()),
        );
        p.finish("invalid_input", "The agency is not valid")?;
        let agency = self
            .db
            .insert_agency(
                &NewAgency {
                    name: input.name.trim(),
                    kind: &input.kind,
                    jurisdiction: &input.jurisdiction,
                    verified: input.verified,
                    evidence_enabled: input.evidence_enabled,
                    time_zone: time_zone.trim(),
                },
                self.now(),
            )
            .await?;
        let detail = format!(
            "name={:?} verified={} evidence_enabled={}",
            agency.name, agency.verified, agency.evidence_enabled
        );
        self.audit(who.audit_entry(
            AuditAction::AgencyCreate,
            Some(&format!("agency:{}", agency.id)),
            Outcome::Success,
            Some(&detail),
        ))
        .await?;
        Ok(agency)
    }

    /// Verifies an agency, enables its evidence account, renames it or redraws its
    /// jurisdiction (platform admins only).
    pub async fn update_agency(
        &self,
        who: &Principal,
        id: &str,
        update: AgencyUpdate,
    ) -> Result<AgencyRecord> {
        self.require_role(who, &[Role::Admin], "agencies").await?;
        let mut p = Problems::new();
        if let Some(name) = &update.name {
            p.text("name", name, 200, None);
        }
        if let Some(j) = &update.jurisdiction {
            p.check(
                "jurisdiction",
                area::parse(j, Shape::PolygonOrMulti).map(|_| ()),
            );
        }
        if let Some(z) = &update.time_zone {
            p.check(
                "time_zone",
                local_time::zone(z).map(|_| ()).map_err(|e| e.to_string()),
            );
        }
        p.finish("invalid_input", "The change is not valid")?;
        let changes = AgencyChanges {
            name: update.name.map(|n| n.trim().to_owned()),
            jurisdiction: update.jurisdiction,
            verified: update.verified,
            evidence_enabled: update.evidence_enabled,
            time_zone: update.time_zone.map(|z| z.trim().to_owned()),
        };
        let agency = self
            .db
            .update_agency(id, &changes, self.now())
            .await?
            .ok_or(AppError::NotFound("agency"))?;
        let mut parts = Vec::new();
        if let Some(v) = changes.verified {
            parts.push(format!("verified={v}"));
        }
        if let Some(v) = changes.evidence_enabled {
            parts.push(format!("evidence_enabled={v}"));
        }
        if changes.name.is_some() {
            parts.push(format!("name={:?}", agency.name));
            // Feeds show the new name from the next read.
            self.refresh_feed_index().await;
        }
        if changes.jurisdiction.is_some() {
            parts.push("jurisdiction".into());
        }
        if let Some(z) = &changes.time_zone {
            parts.push(format!("time_zone={z}"));
        }
        self.audit(who.audit_entry(
            AuditAction::AgencyUpdate,
            Some(&format!("agency:{}", agency.id)),
            Outcome::Success,
            Some(&parts.join(" ")),
        ))
        .await?;
        Ok(agency)
    }

    /// Agencies the caller may see: all for admins and moderators, their own for members.
    pub async fn list_agencies(&self, who: &Principal) -> Result<Vec<AgencyRecord>> {
        self.require_role(who, STAFF, "agencies").await?;
        match (who.role, &who.agency_id) {
            (Role::Admin | Role::Moderator, _) => Ok(self.db.agencies().await?),
            (_, Some(own)) => Ok(self.db.agency(own).await?.into_iter().collect()),
            (_, None) => Ok(Vec::new()),
        }
    }

    /// One agency; another agency's answers 404 to agency members.
    pub async fn get_agency(&self, who: &Principal, id: &str) -> Result<AgencyRecord> {
        self.require_role(who, STAFF, "agencies").await?;
        let visible = matches!(who.role, Role::Admin | Role::Moderator)
            || who.agency_id.as_deref() == Some(id);
        let agency = self.db.agency(id).await?;
        match agency {
            Some(a) if visible => Ok(a),
            _ => Err(self
                .not_found_for(who, &format!("agency:{id}"), "agency")
                .await),
        }
    }
}
