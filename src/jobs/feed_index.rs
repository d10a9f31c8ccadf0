//! Keeps the feed's in-memory index current with what other servers on the same database
//! publish, and with agencies renamed there (this server updates it itself as it publishes).

use std::time::Duration;

use crate::app::App;

/// How often the index catches up: a request published by another server reaches this
/// server's feeds within about this long.
pub const CATCH_UP_EVERY: Duration = Duration::from_secs(1);

/// Catches the feed index up once a second, for ever.
pub async fn catch_up_forever(app: App) {
    let mut tick = tokio::time::interval(CATCH_UP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        match app.feed_index.catch_up(&app.db).await {
            Ok(n) if n > 0 => tracing::debug!(requests = n, "feed index caught up"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "feed index catch-up failed; it will retry"),
        }
    }
}
