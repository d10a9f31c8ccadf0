//! Removing uploads that were never finished, once they expire.

use std::time::Duration;

use crate::app::App;

/// How often expired uploads are looked for.
const EVERY: Duration = Duration::from_secs(600);

/// Every ten minutes: remove every upload whose expiry has passed, objects first, then rows.
/// Idempotent, so a crash midway or several instances running it at once are harmless. An
/// expired upload already answers 404 before this runs; this only frees the space.
pub async fn expire_uploads_forever(app: App) {
    let mut tick = tokio::time::interval(EVERY);
    loop {
        tick.tick().await;
        match app.expire_uploads(app.now()).await {
            Ok(n) if n > 0 => tracing::info!(uploads = n, "removed expired uploads"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "expired-upload sweep failed"),
        }
    }
}
