//! Starting the service: data folder, database, HTTP listener and background jobs.

use std::net::SocketAddr;
use std::time::Instant;

use anyhow::Context;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::config::{Settings, redact_url};
use crate::web::{self, AppState};

/// A running service.
#[derive(Debug)]
pub struct Running {
    /// The address it listens on (useful with port 0).
    pub addr: SocketAddr,
    /// The use cases, for seeding and tests.
    pub app: App,
    stop: oneshot::Sender<()>,
    served: JoinHandle<std::io::Result<()>>,
    sweeper: JoinHandle<()>,
    workers: Vec<JoinHandle<()>>,
}

/// Opens the database (running migrations), binds the listener and starts serving.
pub async fn start(settings: Settings) -> anyhow::Result<Running> {
    let started = Instant::now();
    let listener = tokio::net::TcpListener::bind(settings.listen)
        .await
        .with_context(|| format!("cannot listen on {}", settings.listen))?;
    let addr = listener.local_addr()?;
    let mut settings = settings;
    if settings.listen.port() == 0 && settings.public_url == format!("http://{}", settings.listen) {
        // The default public URL follows the address actually bound.
        settings.public_url = format!("http://{addr}");
    }
    let app = App::open(settings).await?;
    // Every published request is in the feed's index before the first feed read.
    let indexed = app
        .feed_index
        .catch_up(&app.db)
        .await
        .context("cannot load the published requests for the feed")?;
    tracing::debug!(requests = indexed, "feed index loaded");
    let channels = delivery_channels(&app)?;
    let mut state = AppState::new(app.clone());
    state.push_public_key = std::sync::Arc::new(channels.push.public_key_base64url());
    let sweeper = tokio::spawn(crate::jobs::sweep_forever(
        app.clone(),
        Some(state.limits.clone()),
    ));
    let workers = vec![
        tokio::spawn(crate::jobs::fanout::fanout_forever(app.clone())),
        tokio::spawn(crate::jobs::delivery::deliver_forever(
            app.clone(),
            channels,
        )),
        tokio::spawn(crate::jobs::uploads::expire_uploads_forever(app.clone())),
        tokio::spawn(crate::jobs::integrity::integrity_forever(app.clone())),
        tokio::spawn(crate::jobs::feed_index::catch_up_forever(app.clone())),
    ];
    let router = web::router(state);
    let (stop, stopped) = oneshot::channel::<()>();
    let served = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async {
            let _ = stopped.await;
        })
        .await
    });
    tracing::info!(
        %addr,
        database = %redact_url(&app.settings.database_url),
        ms = started.elapsed().as_millis() as u64,
        "canvass is serving"
    );
    if app.settings.smtp_url.is_none() {
        tracing::info!("email is off: no smtp_url is set");
    }
    Ok(Running {
        addr,
        app,
        stop,
        served,
        sweeper,
        workers,
    })
}

/// Email when an SMTP server is set; Web Push with the VAPID key kept in the data folder.
fn delivery_channels(app: &App) -> anyhow::Result<crate::jobs::delivery::Channels> {
    let s = &app.settings;
    let mailer = match &s.smtp_url {
        Some(url) => Some(std::sync::Arc::new(
            crate::jobs::email::Mailer::from_settings(url, &s.smtp_from).context("smtp_url")?,
        )),
        None => None,
    };
    let push = crate::jobs::push::PushSender::load_or_create(&s.data_dir, s.public_url.clone())
        .context("cannot read or create the Web Push (VAPID) key")?;
    Ok(crate::jobs::delivery::Channels {
        mailer,
        push: std::sync::Arc::new(push),
    })
}

impl Running {
    /// Waits until the server stops on its own (it does not, unless it fails).
    pub async fn wait(self) -> anyhow::Result<()> {
        let result = self.served.await;
        self.sweeper.abort();
        self.workers.iter().for_each(JoinHandle::abort);
        result??;
        Ok(())
    }

    /// Stops accepting, finishes requests in flight, and closes the database.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let _ = self.stop.send(());
        self.sweeper.abort();
        self.workers.iter().for_each(JoinHandle::abort);
        self.served.await??;
        self.app.db.close().await;
        Ok(())
    }
}
