//! The scheduled integrity sweep: every `integrity_sweep_every` (weekly by default), every
//! evidence blob is hashed again and the result recorded in its chain of custody
//! (`App::integrity_sweep`).
//!
//! When it last ran is kept in the database (`job_runs`), so a restart does not run it again at
//! once, and of several instances only the one that claims the run does it.

use std::time::Duration;

use crate::app::App;
use crate::app::export::{INTEGRITY_SWEEP_JOB, IntegrityReport};

/// How often the worker looks whether a sweep is due.
const CHECK_EVERY: Duration = Duration::from_secs(3600);
/// The first look after start: soon enough that a new deployment gets its first sweep on its
/// first day, late enough that a service restarted for a quick change does not hash every
/// blob on its way up.
const FIRST_CHECK_AFTER: Duration = Duration::from_secs(600);

/// Wakes every hour and runs the sweep when `last_run_at + integrity_sweep_every <= now`.
pub async fn integrity_forever(app: App) {
    let start = tokio::time::Instant::now() + FIRST_CHECK_AFTER;
    let mut tick = tokio::time::interval_at(start, CHECK_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        if let Err(e) = sweep_if_due(&app).await {
            tracing::error!(error = %format!("{e:#}"), "the integrity sweep failed; it will be tried again in an hour");
        }
    }
}

/// Runs the sweep when it is due and this instance wins the claim on it; answers its report,
/// or `None` when it was not due (or another instance took it). A sweep that fails gives its
/// claim back, so it is tried again at the next check.
pub async fn sweep_if_due(app: &App) -> anyhow::Result<Option<IntegrityReport>> {
    let now = app.now();
    let previous = app.db.job_last_run(INTEGRITY_SWEEP_JOB).await?;
    let due_before = now - app.settings.integrity_sweep_every;
    if previous.is_some_and(|at| at > due_before) {
        return Ok(None);
    }
    if !app
        .db
        .claim_job_run(INTEGRITY_SWEEP_JOB, now, due_before)
        .await?
    {
        return Ok(None);
    }
    match app.integrity_sweep(now).await {
        Ok(report) => Ok(Some(report)),
        Err(e) => {
            if let Err(release) = app.db.release_job_run(INTEGRITY_SWEEP_JOB, previous).await {
                tracing::error!(error = %release, "cannot give back the integrity sweep's claim");
            }
            Err(e.into())
        }
    }
}
