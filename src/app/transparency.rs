//! The public transparency log and report: readable by anyone, changeable by no one.

use std::collections::BTreeMap;

use super::{App, AppError, Result};
use crate::domain::checkpoint::Checkpoint;
use crate::domain::merkle::{self, Hash};

/// A proof, with the sizes it is for.
#[derive(Debug, Clone)]
pub struct Proof {
    /// The hashes, in RFC 9162 order.
    pub hashes: Vec<Hash>,
}

/// One row of the report: an agency's requests of one type, by outcome.
#[derive(Debug, Clone, Default, serde::Serialize, utoipa::ToSchema)]
pub struct ReportLine {
    /// The agency.
    pub agency: String,
    /// The incident type.
    pub incident_type: String,
    /// Requests published.
    pub published: i64,
    /// Requests rejected by moderators (and not since published).
    pub rejected: i64,
    /// Requests withdrawn by the agency.
    pub withdrawn: i64,
}

fn bad_proof_request(message: String) -> AppError {
    AppError::Invalid(crate::domain::ValidationError::field(
        "invalid_proof_request",
        "size",
        message,
    ))
}

impl App {
    /// The current root, signed: a C2SP checkpoint.
    pub async fn checkpoint(&self) -> Result<String> {
        let size = self.db.log_size().await?;
        let root = self.log_root(size).await?;
        Ok(self.log_signer.sign(&Checkpoint {
            origin: self.log_signer.origin().to_owned(),
            size,
            root,
        }))
    }

    /// The key that verifies checkpoints, in signed-note form.
    pub fn log_verifier_key(&self) -> String {
        self.log_signer.verifier_key()
    }

    async fn log_root(&self, size: u64) -> Result<Hash> {
        if size == 0 {
            return Ok(merkle::empty_root());
        }
        let known = self.db.log_nodes(&merkle::root_needs(size)).await?;
        merkle::root(size, &known).map_err(|e| AppError::Internal(e.into()))
    }

    /// A leaf's bytes exactly as hashed.
    pub async fn log_entry(&self, index: u64) -> Result<String> {
        self.db
            .log_entry(index)
            .await?
            .ok_or(AppError::NotFound("log entry"))
    }

    /// Up to `limit` log entries older than index `before` (all with `None`), newest first,
    /// as (index, entry), filtered by `search`: a request id, a share link id, or part of an
    /// agency's name or of an incident type.
    pub async fn log_entries(
        &self,
        search: &str,
        before: Option<u64>,
        limit: u32,
    ) -> Result<Vec<(u64, String)>> {
        let before = match before {
            Some(b) => b,
            None => self.db.log_size().await?,
        };
        Ok(self.db.log_entries(search, before, limit).await?)
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    pub async fn inclusion_proof(&self, index: u64, size: u64) -> Result<Proof> {
        let current = self.db.log_size().await?;
        if size > current || index >= size {
            return Err(bad_proof_request(format!(
                "need index < size <= {current} (the log's size); got index {index}, size {size}"
            )));
        }
        let needs =
            merkle::inclusion_needs(index, size).map_err(|e| bad_proof_request(e.to_string()))?;
        let known = self.db.log_nodes(&needs).await?;
        let hashes = merkle::inclusion_proof(index, size, &known)
            .map_err(|e| AppError::Internal(e.into()))?;
        Ok(Proof { hashes })
    }

    /// The consistency proof between the trees of `from` and `to` leaves.
    pub async fn consistency_proof(&self, from: u64, to: u64) -> Result<Proof> {
        let current = self.db.log_size().await?;
        if from > to || to > current {
            return Err(bad_proof_request(format!(
                "need from <= to <= {current} (the log's size); got from {from}, to {to}"
            )));
        }
        let needs =
            merkle::consistency_needs(from, to).map_err(|e| bad_proof_request(e.to_string()))?;
        let known = self.db.log_nodes(&needs).await?;
        let hashes = merkle::consistency_proof(from, to, &known)
            .map_err(|e| AppError::Internal(e.into()))?;
        Ok(Proof { hashes })
    }

    /// Requests per agency and incident type, by outcome. Never residents, viewers or shares.
    pub async fn transparency_report(&self) -> Result<Vec<ReportLine>> {
        let mut lines: BTreeMap<(String, String), ReportLine> = BTreeMap::new();
        for row in self.db.request_report().await? {
            let line = lines
                .entry((row.agency.clone(), row.incident_type.clone()))
                .or_insert_with(|| ReportLine {
                    agency: row.agency.clone(),
                    incident_type: row.incident_type.clone(),
                    ..ReportLine::default()
                });
            match row.outcome.as_str() {
                "published" => line.published = row.count,
                "rejected" => line.rejected = row.count,
                "withdrawn" => line.withdrawn = row.count,
                _ => {}
            }
        }
        Ok(lines.into_values().collect())
    }
}
