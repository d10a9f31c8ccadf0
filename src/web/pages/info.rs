//! Public pages: the landing page, "How Canvass protects residents", and the transparency page
//! (the log's latest checkpoint, its entries, and the report). None of them looks the session up.

use std::collections::BTreeMap;

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde::{Deserialize, Serialize};

use super::render::{Layout, PageError, humanize, render};
use crate::app::transparency::ReportLine;
use crate::domain::checkpoint::verify_note;
use crate::web::AppState;
use crate::web::error::ApiError;
use crate::web::extract::ApiQuery;

/// `GET /`: what Canvass is, and the ways in.
pub async fn landing_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let layout = Layout::public(&state, &headers, "Community video canvass", "/");
    render("landing.html", &layout, minijinja::context! {}).into_response()
}

/// `GET /privacy`: DESIGN's privacy rules in plain words.
pub async fn privacy_page(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let layout = Layout::public(
        &state,
        &headers,
        "How Canvass protects residents",
        "/privacy",
    );
    let s = &state.app.settings;
    render(
        "privacy.html",
        &layout,
        minijinja::context! {
            window_days => s.requests.response_window.num_days(),
            lock_minutes => s.lockout.lock_for.num_minutes(),
        },
    )
    .into_response()
}

/// The transparency page's query: a search and a position in the log.
#[derive(Debug, Default, Deserialize)]
pub struct TransparencyQuery {
    /// A request id, a share link's id, or part of an agency's name.
    #[serde(default)]
    q: String,
    /// Show entries older than this index.
    #[serde(default)]
    before: Option<u64>,
}

/// Entries shown per page.
const PAGE: usize = 25;

/// One published request as the log holds it.
#[derive(Debug, Serialize)]
struct EntryRow {
    index: u64,
    id: String,
    agency: String,
    incident: String,
    published_at: String,
    footage_start: String,
    footage_end: String,
}

fn entry_row(index: u64, text: &str) -> Option<EntryRow> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let s = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
    Some(EntryRow {
        index,
        id: s("id"),
        agency: s("agency"),
        incident: humanize(&s("incident_type")),
        published_at: s("published_at"),
        footage_start: s("footage_start"),
        footage_end: s("footage_end"),
    })
}

/// A bar of the chart: one agency's requests by outcome, with the geometry drawn.
#[derive(Debug, Serialize)]
struct Bar {
    agency: String,
    /// The name, shortened to fit beside the bar.
    label: String,
    published: i64,
    rejected: i64,
    withdrawn: i64,
    total: i64,
    y: u32,
    /// Widths in the chart's units, and where each segment starts.
    published_w: f64,
    rejected_x: f64,
    rejected_w: f64,
    withdrawn_x: f64,
    withdrawn_w: f64,
}

/// Where the bars start and how wide the longest is, in the SVG's units (600 wide); each
/// agency takes a row: its name above its bar.
const BAR_X: f64 = 0.0;
const BAR_MAX: f64 = 540.0;
const BAR_STEP: u32 = 52;

fn bars(report: &[ReportLine]) -> Vec<Bar> {
    let mut per_agency: BTreeMap<&str, (i64, i64, i64)> = BTreeMap::new();
    for line in report {
        let e = per_agency.entry(line.agency.as_str()).or_default();
        e.0 += line.published;
        e.1 += line.rejected;
        e.2 += line.withdrawn;
    }
    let max = per_agency
        .values()
        .map(|(p, r, w)| p + r + w)
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: i64| (n as f64) * BAR_MAX / (max as f64);
    per_agency
        .into_iter()
        .zip(0_u32..)
        .map(|((agency, (p, r, w)), i)| Bar {
            agency: agency.to_owned(),
            label: if agency.chars().count() > 60 {
                format!("{}…", agency.chars().take(59).collect::<String>())
            } else {
                agency.to_owned()
            },
            published: p,
            rejected: r,
            withdrawn: w,
            total: p + r + w,
            y: i * BAR_STEP,
            published_w: scale(p),
            rejected_x: BAR_X + scale(p),
            rejected_w: scale(r),
            withdrawn_x: BAR_X + scale(p) + scale(r),
            withdrawn_w: scale(w),
        })
        .collect()
}

#[derive(Debug, Serialize)]
struct CheckpointView {
    origin: String,
    size: u64,
    root: String,
    note: String,
    verifier_key: String,
    signature_ok: bool,
}

#[derive(Debug, Serialize)]
struct TransparencyView {
    checkpoint: CheckpointView,
    q: String,
    entries: Vec<EntryRow>,
    /// The link to older matches, when there are some.
    older_href: Option<String>,
    report: Vec<ReportLine>,
    bars: Vec<Bar>,
    chart_height: u32,
    bar_x: f64,
}

/// `GET /transparency`: the latest signed checkpoint (checked here against the log's key),
/// the log's entries newest first, searchable by request id, share-link id or agency (`?q=`),
/// and the per-agency report with a chart. All from the same `app` functions as
/// `/api/v1/transparency/*`.
pub async fn transparency_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    query: Result<ApiQuery<TransparencyQuery>, ApiError>,
) -> Result<Response, PageError> {
    let ApiQuery(query) = query?;
    let app = &state.app;
    let note = app.checkpoint().await?;
    let verifier_key = app.log_verifier_key();
    let checked = verify_note(&note, &verifier_key);
    let (origin, size, root) = match &checked {
        Ok(cp) => (
            cp.origin.clone(),
            cp.size,
            base64::engine::general_purpose::STANDARD.encode(cp.root),
        ),
        Err(e) => {
            tracing::error!(error = %e, "the log's own checkpoint does not verify");
            return Err(PageError::internal());
        }
    };

    let q = query.q.trim().to_owned();
    let before = query.before.map(|b| b.min(size)).unwrap_or(size);
    // One more than a page tells whether there are older matches.
    let mut found = app.log_entries(&q, Some(before), PAGE as u32 + 1).await?;
    let older = (found.len() > PAGE).then(|| found[PAGE - 1].0);
    found.truncate(PAGE);
    let entries: Vec<EntryRow> = found
        .iter()
        .filter_map(|(index, text)| entry_row(*index, text))
        .collect();

    let report = app.transparency_report().await?;
    let bars = bars(&report);
    let chart_height = u32::try_from(bars.len()).unwrap_or(0) * BAR_STEP + 4;
    let layout = Layout::public(&state, &headers, "Transparency", "/transparency");
    let older_href = older.map(|before| {
        let query: String = url::form_urlencoded::Serializer::new(String::new())
            .append_pair("q", &q)
            .append_pair("before", &before.to_string())
            .finish();
        format!("/transparency?{query}")
    });
    let view = TransparencyView {
        checkpoint: CheckpointView {
            origin,
            size,
            root,
            note,
            verifier_key,
            signature_ok: checked.is_ok(),
        },
        q,
        entries,
        older_href,
        report,
        bars,
        chart_height,
        bar_x: BAR_X,
    };
    Ok(render("transparency.html", &layout, view)?.into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_agency() {
        let line = |agency: &str, p, r, w| ReportLine {
            agency: agency.into(),
            incident_type: "burglary".into(),
            published: p,
            rejected: r,
            withdrawn: w,
        };
        let b = bars(&[line("A", 2, 1, 1), line("A", 0, 0, 0), line("B", 1, 0, 0)]);
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].total, 4);
        assert!((b[0].published_w - BAR_MAX / 2.0).abs() < 1e-9);
        assert!((b[0].withdrawn_x + b[0].withdrawn_w - (BAR_X + BAR_MAX)).abs() < 1e-9);
        assert!((b[1].published_w - BAR_MAX / 4.0).abs() < 1e-9);
        assert_eq!(b[1].y, BAR_STEP);
        assert!(bars(&[]).is_empty());
    }

    #[test]
    fn log_entries_read_as_rows() {
        let row = entry_row(
            3,
            r#"{"agency":"Riverton PD","id":"r1","incident_type":"package_theft","published_at":"2026-11-20T10:00:00Z","footage_start":"x","footage_end":"y"}"#,
        )
        .unwrap();
        assert_eq!(row.incident, "Package theft");
        assert_eq!(row.index, 3);
        assert!(entry_row(0, "not json").is_none());
    }
}
