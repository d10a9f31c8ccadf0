//! Delivery: claims due notifications from the outbox and sends them by email or Web Push,
//! retrying with backoff and recording each row's final state.
//!
//! A notification is checked against the resident's settings at sending time, so an opt-out
//! stops even what was queued before it.

use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::email::{Mailer, RequestNotice, incident_label, timeframe_label};
use super::push::{PushOutcome, PushSender, notification_payload};
use crate::app::App;
use crate::domain::push::PushSubscription;
use crate::domain::{cursor, delivery};
use crate::store::outbox::OutboxItem;

/// How long a claim lasts before another worker may take the row: far longer than a batch
/// takes, short enough that rows held by a crashed worker go out again within a minute.
const LEASE_SECONDS: i64 = 60;
/// Notifications sent at once by one worker. More uses more of the mail pool's connections,
/// but a crash can repeat up to this many (each under its stable Message-ID), so it is small.
pub const CONCURRENCY: usize = 4;
/// Push messages expire after a day: a request is not news after that.
const PUSH_TTL_SECS: u32 = 24 * 3600;

/// The ways out: email when an SMTP server is set, push always.
#[derive(Clone)]
pub struct Channels {
    /// Email, when `smtp_url` is set.
    pub mailer: Option<Arc<Mailer>>,
    /// Web Push.
    pub push: Arc<PushSender>,
}

/// How one attempt ended.
enum Attempt {
    Sent,
    Cancelled(&'static str),
    Retry(String),
    Failed(String),
}

/// The link in notifications: the request's share page.
fn request_url(app: &App, public_id: &str) -> String {
    format!("{}/r/{public_id}", app.settings.public_url)
}

/// The one-click unsubscribe link for a resident's community-request emails.
pub fn unsubscribe_url(app: &App, user_id: &str) -> String {
    let token = cursor::seal(&app.cursor_key, "unsubscribe", user_id);
    format!("{}/api/v1/unsubscribe/{token}", app.settings.public_url)
}

async fn attempt(app: &App, channels: &Channels, item: &OutboxItem) -> anyhow::Result<Attempt> {
    let Some(user) = app.db.user_by_id(&item.user_id).await? else {
        return Ok(Attempt::Cancelled("account gone"));
    };
    let Some(settings) = app.db.resident_settings(&item.user_id).await? else {
        return Ok(Attempt::Cancelled("not a resident"));
    };
    let wanted = match item.channel.as_str() {
        "email" => settings.email,
        _ => settings.push,
    };
    if user.disabled || !settings.community_requests || !wanted {
        return Ok(Attempt::Cancelled("opted out"));
    }
    let Some(request) = app.db.request(&item.request_id).await? else {
        return Ok(Attempt::Cancelled("request gone"));
    };
    let url = request_url(app, request.public_id.as_deref().unwrap_or_default());
    let c = &request.content;
    if item.channel == "email" {
        let Some(mailer) = &channels.mailer else {
            return Ok(Attempt::Cancelled("email is off"));
        };
        let notice = RequestNotice {
            to: user.email.clone(),
            resident_name: user.display_name.clone(),
            agency_name: request.agency_name.clone(),
            incident_type: c.incident_type.clone(),
            footage_start: c.footage_start,
            footage_end: c.footage_end,
            request_url: url,
            unsubscribe_url: unsubscribe_url(app, &user.id),
            message_key: Some(format!("{}.{}", request.id, user.id)),
        };
        return Ok(match mailer.send(&notice).await {
            Ok(()) => Attempt::Sent,
            Err(e) if e.is_permanent() => Attempt::Failed(e.to_string()),
            Err(e) => Attempt::Retry(e.to_string()),
        });
    }
    let subscriptions = app.db.push_subscriptions(&user.id).await?;
    if subscriptions.is_empty() {
        return Ok(Attempt::Cancelled("no browser registered"));
    }
    let payload = notification_payload(
        &request.agency_name,
        &incident_label(&c.incident_type),
        &timeframe_label(c.footage_start, c.footage_end),
        &url,
    );
    // Sent if any browser took it; retried if one failed for a while; gone ones are forgotten.
    let (mut delivered, mut transient) = (false, None);
    for s in subscriptions {
        let (Ok(p256dh), Ok(auth)) = (
            URL_SAFE_NO_PAD.decode(&s.p256dh),
            URL_SAFE_NO_PAD.decode(&s.auth),
        ) else {
            app.db.delete_push_subscription(&s.id).await?;
            continue;
        };
        let sub = PushSubscription {
            endpoint: s.endpoint.clone(),
            p256dh,
            auth,
        };
        match channels.push.send(&sub, &payload, PUSH_TTL_SECS).await {
            Ok(PushOutcome::Delivered) => delivered = true,
            Ok(PushOutcome::Gone) => app.db.delete_push_subscription(&s.id).await?,
            Err(e) if e.is_permanent() => {
                tracing::warn!(error = %e, "push refused");
            }
            Err(e) => transient = Some(e.to_string()),
        }
    }
    Ok(match (delivered, transient) {
        (true, _) => Attempt::Sent,
        (false, Some(e)) => Attempt::Retry(e),
        (false, None) => {
            Attempt::Failed("every push service refused or forgot the subscription".into())
        }
    })
}

/// Claims and delivers one batch; answers how many rows it settled.
pub async fn run_once(app: &App, channels: &Channels) -> anyhow::Result<usize> {
    let now = app.now();
    let items = app
        .db
        .claim_notifications(now, chrono::Duration::seconds(LEASE_SECONDS), 50)
        .await?;
    let count = items.len();
    let mut pending = items.into_iter();
    let mut running = tokio::task::JoinSet::new();
    loop {
        while running.len() < CONCURRENCY {
            let Some(item) = pending.next() else { break };
            let (app, channels) = (app.clone(), channels.clone());
            running.spawn(async move { settle(&app, &channels, item).await });
        }
        // One failure must not abort the others mid-send (dropping the set would), so it is
        // logged; the row's lease runs out and it is tried again.
        match running.join_next().await {
            Some(Ok(Ok(()))) => {}
            Some(Ok(Err(e))) => tracing::warn!(error = %e, "recording a delivery failed"),
            Some(Err(e)) => tracing::warn!(error = %e, "a delivery task failed"),
            None => break,
        }
    }
    Ok(count)
}

/// Sends one notification and records how it went.
async fn settle(app: &App, channels: &Channels, item: OutboxItem) -> anyhow::Result<()> {
    let item = &item;
    let outcome = match attempt(app, channels, item).await {
        Ok(o) => o,
        Err(e) => Attempt::Retry(e.to_string()),
    };
    let now = app.now();
    let (state, next, error) = match outcome {
        Attempt::Sent => ("sent", None, None),
        Attempt::Cancelled(why) => ("cancelled", None, Some(why.to_owned())),
        Attempt::Failed(e) => ("failed", None, Some(e)),
        Attempt::Retry(e)
            if delivery::give_up(item.attempts, app.settings.delivery_max_attempts) =>
        {
            ("failed", None, Some(e))
        }
        Attempt::Retry(e) => (
            "pending",
            Some(now + delivery::retry_delay(item.attempts)),
            Some(e),
        ),
    };
    app.db
        .settle_notification(item.id, state, next, error.as_deref(), now)
        .await?;
    Ok(())
}

/// Delivers for ever: straight on while there is work, a second's pause when there is none.
pub async fn deliver_forever(app: App, channels: Channels) {
    loop {
        match run_once(&app, &channels).await {
            Ok(0) => tokio::time::sleep(Duration::from_secs(1)).await,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "delivery pass failed; it will be retried");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
}
