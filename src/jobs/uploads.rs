//! Removing uploads that were never finished, once they expire, and the staging files of
//! writes a crash cut short.

use std::time::Duration;

use crate::app::App;

/// How often expired uploads are looked for.
const EVERY: Duration = Duration::from_secs(600);

/// Staging files are looked for at start (after a crash, the leftovers are the restart's to
/// remove) and then once in this many sweeps (a day), since it walks the whole blob folder.
const STAGING_EVERY: u32 = 144;

/// Every ten minutes: remove every upload whose expiry has passed, objects first, then rows.
/// Idempotent, so a crash midway or several instances running it at once are harmless. An
/// expired upload already answers 404 before this runs; this only frees the space.
pub async fn expire_uploads_forever(app: App) {
    let mut tick = tokio::time::interval(EVERY);
    for sweep in 0_u32.. {
        tick.tick().await;
        if sweep % STAGING_EVERY == 0 {
            match app.remove_blob_leftovers().await {
                Ok(n) if n > 0 => {
                    tracing::info!(files = n, "removed staging files left by a crash")
                }
                Ok(_) => {}
                Err(e) => tracing::warn!(error = %e, "staging-file sweep failed"),
            }
        }
        match app.expire_uploads(app.now()).await {
            Ok(n) if n > 0 => tracing::info!(uploads = n, "removed expired uploads"),
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "expired-upload sweep failed"),
        }
    }
}
