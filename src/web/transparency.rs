//! `/api/v1/transparency`: the public Merkle log of published requests, and the report.
//! Formats follow DESIGN.md so anyone can verify with their own tools.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::AppState;
use super::error::{ApiError, ErrorBody};
use super::extract::{ApiPath, ApiQuery};
use crate::app::transparency::ReportLine;

fn b64(hashes: Vec<[u8; 32]>) -> Vec<String> {
    hashes
        .iter()
        .map(|h| base64::engine::general_purpose::STANDARD.encode(h))
        .collect()
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

/// The size of the tree a proof is for.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SizeQuery {
    /// Tree size.
    pub size: u64,
}

/// The two tree sizes of a consistency proof.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ConsistencyQuery {
    /// The older size.
    pub from: u64,
    /// The newer size.
    pub to: u64,
}

/// An inclusion proof (RFC 9162 §2.1.3).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct InclusionProof {
    /// The leaf's index.
    pub index: u64,
    /// The tree size.
    pub size: u64,
    /// Base64 hashes, leaf to root.
    pub hashes: Vec<String>,
}

/// A consistency proof (RFC 9162 §2.1.4).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ConsistencyProof {
    /// The older size.
    pub from: u64,
    /// The newer size.
    pub to: u64,
    /// Base64 hashes.
    pub hashes: Vec<String>,
}

/// The public report.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Report {
    /// Requests per agency and incident type, by outcome.
    pub requests: Vec<ReportLine>,
}

/// The latest signed checkpoint (C2SP signed note: origin, size, base64 root, signature).
#[utoipa::path(get, path = "/api/v1/transparency/checkpoint", tag = "transparency",
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn checkpoint(State(state): State<AppState>) -> Result<Response, ApiError> {
    Ok(text(state.app.checkpoint().await?))
}

/// The verifier key for checkpoints: `ORIGIN+HEX(key_hash)+BASE64(0x01 ‖ public key)`.
#[utoipa::path(get, path = "/api/v1/transparency/key", tag = "transparency",
    responses((status = 200, content_type = "text/plain", body = String)))]
pub async fn key(State(state): State<AppState>) -> Response {
    text(format!("{}\n", state.app.log_verifier_key()))
}

/// A leaf's bytes exactly as hashed: the published request as canonical JSON (RFC 8785).
#[utoipa::path(get, path = "/api/v1/transparency/entries/{index}", tag = "transparency", params(("index" = u64, Path)),
    responses((status = 200, content_type = "application/json", body = Object), (status = 404, body = ErrorBody)))]
pub async fn entry(
    State(state): State<AppState>,
    ApiPath(index): ApiPath<u64>,
) -> Result<Response, ApiError> {
    let entry = state.app.log_entry(index).await?;
    Ok(([(header::CONTENT_TYPE, "application/json")], entry).into_response())
}

/// The inclusion proof of leaf `index` in the tree of `size` leaves.
#[utoipa::path(get, path = "/api/v1/transparency/proof/inclusion/{index}", tag = "transparency",
    params(("index" = u64, Path), SizeQuery),
    responses((status = 200, body = InclusionProof), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn inclusion(
    State(state): State<AppState>,
    ApiPath(index): ApiPath<u64>,
    ApiQuery(q): ApiQuery<SizeQuery>,
) -> Result<axum::Json<InclusionProof>, ApiError> {
    let proof = state.app.inclusion_proof(index, q.size).await?;
    Ok(axum::Json(InclusionProof {
        index,
        size: q.size,
        hashes: b64(proof.hashes),
    }))
}

/// The consistency proof between trees of `from` and `to` leaves.
#[utoipa::path(get, path = "/api/v1/transparency/proof/consistency", tag = "transparency", params(ConsistencyQuery),
    responses((status = 200, body = ConsistencyProof), (status = 400, body = ErrorBody), (status = 422, body = ErrorBody)))]
pub async fn consistency(
    State(state): State<AppState>,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> Result<axum::Json<ConsistencyProof>, ApiError> {
    let proof = state.app.consistency_proof(q.from, q.to).await?;
    Ok(axum::Json(ConsistencyProof {
        from: q.from,
        to: q.to,
        hashes: b64(proof.hashes),
    }))
}

/// Requests per agency and incident type, by outcome. Never residents, viewers or shares.
#[utoipa::path(get, path = "/api/v1/transparency/report", tag = "transparency",
    responses((status = 200, body = Report)))]
pub async fn report(State(state): State<AppState>) -> Result<axum::Json<Report>, ApiError> {
    Ok(axum::Json(Report {
        requests: state.app.transparency_report().await?,
    }))
}
