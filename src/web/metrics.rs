//! Prometheus metrics: requests by method, route and status, and their latency; and the
//! evidence integrity figures, read from the database at each scrape.

use std::sync::Mutex;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::AppState;
use crate::app::App;
use crate::app::export::INTEGRITY_SWEEP_JOB;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    method: String,
    route: String,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: String,
}

/// The service's metrics.
#[derive(Debug)]
pub struct Metrics {
    registry: Mutex<Registry>,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RouteLabels, Histogram, fn() -> Histogram>,
    integrity_failures: Gauge,
    integrity_last_run: Gauge,
}

fn latency_histogram() -> Histogram {
    Histogram::new(exponential_buckets(0.0005, 2.0, 16))
}

impl Metrics {
    /// Registers the metrics.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("canvass");
        let requests = Family::<RequestLabels, Counter>::default();
        let latency = Family::<RouteLabels, Histogram, fn() -> Histogram>::new_with_constructor(
            latency_histogram,
        );
        registry.register("http_requests", "HTTP requests answered", requests.clone());
        registry.register(
            "http_request_duration_seconds",
            "Time to answer, by route",
            latency.clone(),
        );
        let integrity_failures = Gauge::default();
        registry.register(
            "evidence_integrity_failures",
            "Evidence items whose latest integrity check (sweep or export) found them altered or missing",
            integrity_failures.clone(),
        );
        let integrity_last_run = Gauge::default();
        registry.register(
            "evidence_integrity_last_run_timestamp_seconds",
            "When the integrity sweep last ran (Unix time; 0: never)",
            integrity_last_run.clone(),
        );
        Self {
            registry: Mutex::new(registry),
            requests,
            latency,
            integrity_failures,
            integrity_last_run,
        }
    }

    /// Reads the integrity figures from the database: custody events and `job_runs` are the
    /// truth, so the figures survive restarts and agree on every instance. A failed read
    /// leaves the last figures and is logged.
    pub async fn refresh_integrity(&self, app: &App) {
        match app.db.integrity_failures().await {
            Ok(n) => {
                self.integrity_failures.set(n);
            }
            Err(e) => tracing::warn!(error = %e, "cannot read the integrity failures for /metrics"),
        }
        match app.db.job_last_run(INTEGRITY_SWEEP_JOB).await {
            Ok(at) => {
                self.integrity_last_run.set(at.map_or(0, |t| t.timestamp()));
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot read the integrity sweep's last run for /metrics")
            }
        }
    }

    /// The text exposition format.
    pub fn render(&self) -> Result<String, std::fmt::Error> {
        let mut out = String::new();
        let registry = self.registry.lock().map_err(|_| std::fmt::Error)?;
        prometheus_client::encoding::text::encode(&mut out, &registry)?;
        Ok(out)
    }
}

impl Default for Metrics {
    fn default() -> Self {
        Self::new()
    }
}

/// Middleware that counts and times each request by its route template (never the raw path,
/// which would carry ids).
pub async fn track(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = req.method().to_string();
    if route == "/metrics" {
        // Figures that live in the database are read just before they are rendered.
        state.metrics.refresh_integrity(&state.app).await;
    }
    let start = Instant::now();
    let response = next.run(req).await;
    let labels = RequestLabels {
        method,
        route: route.clone(),
        status: response.status().as_u16(),
    };
    state.metrics.requests.get_or_create(&labels).inc();
    state
        .metrics
        .latency
        .get_or_create(&RouteLabels { route })
        .observe(start.elapsed().as_secs_f64());
    response
}
