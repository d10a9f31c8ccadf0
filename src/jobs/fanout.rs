//! Fan-out: after a publication, queue one notification per resident in the area and channel.
//!
//! It runs apart from the moderator's approval, so the approval answers the same whether the
//! area holds nobody or ten thousand people. Re-running a job after a crash is harmless: the
//! outbox's unique key keeps each (request, resident, channel) once.

use std::time::Duration;

use geo::BoundingRect;

use crate::app::App;
use crate::domain::geo_index;
use crate::store::cell_i64;

/// What a fan-out pass did.
#[derive(Debug, Default, Clone, Copy)]
pub struct FanoutReport {
    /// Publications handled.
    pub jobs: usize,
    /// Notifications newly queued.
    pub queued: u64,
}

/// Handles every pending fan-out job once.
pub async fn run_once(app: &App) -> anyhow::Result<FanoutReport> {
    let mut report = FanoutReport::default();
    for request_id in app.db.pending_fanout_jobs(20).await? {
        report.queued += fan_out(app, &request_id).await?;
        app.db.finish_fanout_job(&request_id, app.now()).await?;
        report.jobs += 1;
    }
    Ok(report)
}

/// The home-cell ranges that hold every home of `area`, as the store looks them up.
pub fn home_cell_ranges(area: &geo::Polygon<f64>) -> anyhow::Result<Vec<(i64, i64)>> {
    geo_index::home_ranges(&geo_index::area_cover(area)?)?
        .into_iter()
        .map(|(lo, hi)| Ok((cell_i64(lo)?, cell_i64(hi)?)))
        .collect()
}

/// Queues the notifications of one published request and answers how many were new.
pub async fn fan_out(app: &App, request_id: &str) -> anyhow::Result<u64> {
    let Some(record) = app.db.request(request_id).await? else {
        return Ok(0);
    };
    let area =
        crate::domain::area::parse(&record.content.area, crate::domain::area::Shape::Polygon)
            .map_err(|e| anyhow::anyhow!("request {request_id}: stored area is invalid: {e}"))?;
    let polygon = area
        .0
        .first()
        .ok_or_else(|| anyhow::anyhow!("request {request_id}: empty area"))?;
    let ranges = home_cell_ranges(polygon)?;
    let email_on = app.settings.smtp_url.is_some();
    let bounds = polygon
        .bounding_rect()
        .ok_or_else(|| anyhow::anyhow!("request {request_id}: empty area"))?;
    // The area is parsed once above; parsing it per candidate cost 40 times more.
    let inside: Vec<_> = app
        .db
        .recipients_in_ranges(&ranges, bounds)
        .await?
        .into_iter()
        .filter(|r| geo_index::contains_home(polygon, r.lat, r.lon))
        .collect();
    let wants_push: Vec<&str> = inside
        .iter()
        .filter(|r| r.push)
        .map(|r| r.user_id.as_str())
        .collect();
    let browsers = app.db.with_push_subscription(&wants_push).await?;
    let mut rows = Vec::new();
    for r in &inside {
        if r.email && email_on {
            rows.push((r.user_id.clone(), "email"));
        }
        if r.push && browsers.contains(&r.user_id) {
            rows.push((r.user_id.clone(), "push"));
        }
    }
    Ok(app
        .db
        .enqueue_notifications(request_id, &rows, app.now())
        .await?)
}

/// Runs fan-out passes for ever, a second apart.
pub async fn fanout_forever(app: App) {
    loop {
        match run_once(&app).await {
            Ok(r) if r.jobs > 0 => tracing::info!(jobs = r.jobs, queued = r.queued, "fan-out"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "fan-out failed; it will be retried"),
        }
        tokio::time::sleep(Duration::from_secs(1)).await;
    }
}
