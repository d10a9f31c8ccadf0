//! HTTP: where a request enters. Handlers are thin: parse, call one `app` function, render.

pub mod agencies;
pub mod audit;
pub mod auth;
pub mod comments;
pub mod devices;
pub mod error;
pub mod evidence;
pub mod export;
pub mod extract;
pub mod feed;
pub mod limits;
pub mod me;
pub mod metrics;
pub mod moderation;
pub mod ops;
pub mod pages;
pub mod public;
pub mod ranges;
pub mod recordings;
pub mod requests;
pub mod residents;
pub mod transparency;
pub mod uploads;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::app::App;
use error::ApiError;
use limits::RateLimits;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    /// The use cases.
    pub app: App,
    /// Per-address rate limits.
    pub limits: Arc<RateLimits>,
    /// Request metrics.
    pub metrics: Arc<metrics::Metrics>,
    /// The OpenAPI document, rendered once at start.
    pub openapi: Arc<String>,
    /// The VAPID public key browsers subscribe with (base64url).
    pub push_public_key: Arc<String>,
    /// Feed items rendered as JSON (see [`feed::RenderedItems`]).
    pub feed_items: Arc<feed::RenderedItems>,
}

#[derive(OpenApi)]
#[openapi(
    info(title = "Canvass", description = "Verified agencies ask one neighbourhood for camera footage of one incident; residents share clips voluntarily."),
    components(schemas(error::ErrorBody)),
    tags((name = "auth"), (name = "accounts"), (name = "agencies"), (name = "audit"), (name = "requests"), (name = "moderation"), (name = "transparency"), (name = "residents"), (name = "public"), (name = "operations"))
)]
struct ApiDoc;

/// Every route, with its OpenAPI entry. A route added here is documented by construction.
fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(auth::login))
        .routes(routes!(auth::logout))
        .routes(routes!(auth::mfa_enroll))
        .routes(routes!(auth::mfa_confirm))
        .routes(routes!(me::get))
        .routes(routes!(residents::create))
        .routes(routes!(agencies::create, agencies::list))
        .routes(routes!(agencies::get, agencies::update))
        .routes(routes!(agencies::add_member, agencies::list_members))
        .routes(routes!(agencies::remove_member))
        .routes(routes!(agencies::create_moderator))
        .routes(routes!(audit::list))
        .routes(routes!(requests::create, requests::list))
        .routes(routes!(requests::get, requests::revise, requests::withdraw))
        .routes(routes!(requests::history))
        .routes(routes!(moderation::queue))
        .routes(routes!(moderation::decide))
        .routes(routes!(transparency::checkpoint))
        .routes(routes!(transparency::key))
        .routes(routes!(transparency::entry))
        .routes(routes!(transparency::inclusion))
        .routes(routes!(transparency::consistency))
        .routes(routes!(transparency::report))
        .routes(routes!(feed::get))
        .routes(routes!(feed::get_settings, feed::put_settings))
        .routes(routes!(feed::add_push_subscription))
        .routes(routes!(feed::push_key))
        .routes(routes!(comments::list, comments::create))
        .routes(routes!(evidence::shareable))
        .routes(routes!(
            evidence::list_submissions,
            evidence::create_submission
        ))
        .routes(routes!(evidence::my_submissions))
        .routes(routes!(evidence::get))
        .routes(routes!(evidence::content))
        .routes(routes!(evidence::custody))
        .routes(routes!(export::export))
        .routes(routes!(public::get))
        .routes(routes!(public::page))
        .routes(routes!(public::unsubscribe, public::unsubscribe_page))
        .routes(routes!(devices::create, devices::list))
        .routes(routes!(devices::get, devices::rename, devices::delete))
        .routes(routes!(devices::issue_token, devices::revoke_token))
        .routes(routes!(uploads::options, uploads::create))
        .routes(routes!(uploads::head, uploads::patch, uploads::terminate))
        .routes(routes!(recordings::list))
        .routes(routes!(recordings::get, recordings::delete))
        .routes(routes!(recordings::content))
        .routes(routes!(ops::healthz))
        .routes(routes!(ops::metrics))
        .routes(routes!(ops::openapi))
}

/// The OpenAPI document as JSON.
pub fn openapi_json() -> String {
    let (_, api) = routes().split_for_parts();
    api.to_pretty_json()
        .unwrap_or_else(|e| format!("{{\"error\": \"{e}\"}}"))
}

async fn no_route() -> ApiError {
    ApiError::no_route()
}

async fn wrong_method() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "this endpoint does not take that method; see /api/openapi.json",
    )
}

fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a handler panicked");
    ApiError::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "something went wrong on our side; it has been logged",
    )
    .into_response()
}

fn content_security_policy(tile_url: &str) -> String {
    // Map tiles are the only third-party content the pages load.
    let tiles = tile_url
        .split_once("://")
        .and_then(|(scheme, rest)| {
            rest.split('/')
                .next()
                .map(|host| format!("{scheme}://{host}"))
        })
        .unwrap_or_default();
    format!(
        "default-src 'self'; img-src 'self' data: {tiles}; script-src 'self'; style-src 'self'; \
         connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )
}

impl AppState {
    /// The state for `app`, with fresh limits and metrics.
    pub fn new(app: App) -> Self {
        Self {
            limits: Arc::new(RateLimits::new(&app.settings)),
            metrics: Arc::new(metrics::Metrics::new()),
            feed_items: Arc::new(feed::RenderedItems::new(feed::RENDERED_ITEMS)),
            openapi: Arc::new(openapi_json()),
            push_public_key: Arc::new(String::new()),
            app,
        }
    }
}

/// Builds the router with every layer.
pub fn router(state: AppState) -> Router {
    let settings = state.app.settings.clone();
    let (api_router, _) = routes().split_for_parts();
    let csp = HeaderValue::from_str(&content_security_policy(&settings.tile_url)).unwrap_or(
        HeaderValue::from_static("default-src 'self'; frame-ancestors 'none'"),
    );
    let request_id = HeaderName::from_static("x-request-id");
    api_router
        .merge(pages::router())
        .fallback(no_route)
        .method_not_allowed_fallback(wrong_method)
        .layer(axum::middleware::from_fn_with_state(state.clone(), metrics::track))
        .with_state(state.clone())
        .layer(DefaultBodyLimit::max(settings.max_json_bytes))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, csp))
        .layer(SetResponseHeaderLayer::overriding(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")))
        .layer(SetResponseHeaderLayer::overriding(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer")))
        .layer(SetResponseHeaderLayer::overriding(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(SetResponseHeaderLayer::if_not_present(header::CACHE_CONTROL, HeaderValue::from_static("no-store")))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            tracing::info_span!("request", method = %req.method(), uri = %req.uri().path(), request_id = %id)
        }))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}
