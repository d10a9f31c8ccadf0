//! Background work that runs beside the HTTP server.

pub mod delivery;
pub mod email;
pub mod fanout;
pub mod feed_index;
pub mod integrity;
pub mod push;
pub mod uploads;

use std::sync::Arc;
use std::time::Duration;

use crate::app::App;
use crate::web::limits::RateLimits;

/// Every ten minutes: delete sessions that can never be used again, and forget rate-limit
/// buckets that are full again. Both are idempotent, so a crash or a second instance is harmless.
pub async fn sweep_forever(app: App, limits: Option<Arc<RateLimits>>) {
    let mut tick = tokio::time::interval(Duration::from_secs(600));
    loop {
        tick.tick().await;
        let cutoff = app.now() - chrono::Duration::days(1);
        match app.db.delete_sessions_ended_before(cutoff).await {
            Ok(n) if n > 0 => tracing::info!(sessions = n, "deleted ended sessions"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "session sweep failed"),
        }
        if let Some(l) = &limits {
            l.sweep();
        }
    }
}
