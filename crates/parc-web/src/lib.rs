//! Parc's HTTP face: server-rendered HTML pages, the JSON API under /api/v1 with its OpenAPI
//! document, sign-in, sessions, CSRF and i18n.
//!
//! Architecture invariant: only parc-web knows HTTP; it never writes SQL (it calls parc-store).

pub mod agents;
pub mod alerts;
pub mod api;
pub mod auth;
pub mod campaigns;
pub mod error;
pub mod forms;
pub mod handover;
pub mod helpdesk;
pub mod i18n;
pub mod intervention;
pub mod jobs;
pub mod loans;
pub mod monitoring;
pub mod notify;
pub mod pages;
pub mod query;

use axum::extract::{MatchedPath, Request};
use axum::http::{header, HeaderValue};
use axum::routing::get;
use axum::Router;
use parc_store::settings::Settings;
use parc_store::Store;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::RwLock;
use tower_http::request_id::{MakeRequestId, PropagateRequestIdLayer, RequestId, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;

pub use error::{AppError, AppResult};
pub use jobs::{spawn_worker, JobWaker, WorkerHandle};

/// Web-layer settings that come from the configuration.
#[derive(Debug, Clone)]
pub struct WebConfig {
    /// Mark cookies `Secure`: set when Parc is served over TLS (directly or behind a proxy).
    pub secure_cookies: bool,
    pub session_hours: i64,
    /// Largest request body accepted (uploads included).
    pub max_body_bytes: usize,
}

impl Default for WebConfig {
    fn default() -> Self {
        WebConfig { secure_cookies: false, session_hours: 12, max_body_bytes: 25 * 1024 * 1024 }
    }
}

/// Shared state of every handler.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

pub struct Inner {
    pub store: Store,
    pub config: WebConfig,
    pub i18n: i18n::I18n,
    settings: RwLock<(Instant, Settings)>,
    inventory: RwLock<Option<(Instant, Arc<parc_store::inventory::ImportConfig>)>>,
}

impl std::ops::Deref for AppState {
    type Target = Inner;
    fn deref(&self) -> &Inner {
        &self.0
    }
}

const SETTINGS_TTL: Duration = Duration::from_secs(10);

impl AppState {
    pub async fn new(store: Store, config: WebConfig) -> Result<AppState, parc_store::StoreError> {
        let s = {
            let mut c = store.read().await?;
            parc_store::settings::get(&mut c).await?
        };
        Ok(AppState(Arc::new(Inner {
            store,
            config,
            i18n: i18n::I18n::load(),
            settings: RwLock::new((Instant::now(), s)),
            inventory: RwLock::new(None),
        })))
    }

    /// Organisation settings, cached a few seconds (other nodes' changes show up within the TTL).
    pub async fn settings(&self) -> Settings {
        {
            let g = self.settings.read().await;
            if g.0.elapsed() < SETTINGS_TTL {
                return g.1.clone();
            }
        }
        let fresh = async {
            let mut c = self.store.read().await?;
            parc_store::settings::get(&mut c).await
        }
        .await;
        let mut g = self.settings.write().await;
        if let Ok(s) = fresh {
            *g = (Instant::now(), s);
        }
        g.1.clone()
    }

    /// Inventory settings and entity rules, read for every agent request: cached a few seconds
    /// (other nodes' changes show up within the TTL; this node's at once, see `inventory_changed`).
    pub async fn inventory_config(&self) -> Result<Arc<parc_store::inventory::ImportConfig>, parc_store::StoreError> {
        if let Some((at, cfg)) = self.inventory.read().await.as_ref() {
            if at.elapsed() < SETTINGS_TTL {
                return Ok(cfg.clone());
            }
        }
        let fresh = {
            let mut c = self.store.read().await?;
            Arc::new(parc_store::inventory::import_config(&mut c).await?)
        };
        *self.inventory.write().await = Some((Instant::now(), fresh.clone()));
        Ok(fresh)
    }

    /// Forgets the cached inventory configuration after a change of settings or entity rules.
    pub async fn inventory_changed(&self) {
        *self.inventory.write().await = None;
    }

    pub async fn settings_changed(&self, s: Settings) {
        *self.settings.write().await = (Instant::now(), s);
    }
}

#[derive(Clone, Default)]
struct MakeId;

impl MakeRequestId for MakeId {
    fn make_request_id<B>(&mut self, _req: &axum::http::Request<B>) -> Option<RequestId> {
        HeaderValue::from_str(&parc_store::secrets::random_token(9)).ok().map(RequestId::new)
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let max_body = state.config.max_body_bytes;
    let csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; \
               media-src 'self' data:; object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'";
    Router::new()
        .route("/healthz", get(healthz))
        .nest("/api/v1", api::routes())
        .merge(pages::routes(state.clone()))
        .merge(agents::routes())
        .layer(axum::extract::DefaultBodyLimit::max(max_body))
        .layer(SetResponseHeaderLayer::if_not_present(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(csp)))
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        .layer(SetResponseHeaderLayer::if_not_present(header::REFERRER_POLICY, HeaderValue::from_static("same-origin")))
        .layer(SetResponseHeaderLayer::if_not_present(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY")))
        .layer(axum::middleware::from_fn(auth::cross_origin_guard))
        .layer(axum::middleware::from_fn(error::with_request_id))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request| {
            let route =
                req.extensions().get::<MatchedPath>().map(|m| m.as_str().to_owned()).unwrap_or_else(|| "-".into());
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned();
            if route == "/healthz" {
                tracing::debug_span!("request", method = %req.method(), route, request_id = id)
            } else {
                tracing::info_span!("request", method = %req.method(), route, request_id = id)
            }
        }))
        .layer(SetRequestIdLayer::x_request_id(MakeId))
        .with_state(state)
}

/// 200 when the database answers, 503 otherwise.
async fn healthz(
    axum::extract::State(state): axum::extract::State<AppState>,
) -> (axum::http::StatusCode, &'static str) {
    match state.store.ping().await {
        Ok(()) => (axum::http::StatusCode::OK, "ok"),
        Err(e) => {
            tracing::warn!(error = %e, "health check failed");
            (axum::http::StatusCode::SERVICE_UNAVAILABLE, "database unreachable")
        }
    }
}
