//! Remote pollers: their administration (`/api/v1/monitoring/pollers`, technicians of the
//! poller's entity) and the endpoints a running `parc poller` calls with its own token
//! (`/api/v1/monitoring/poller/...`): claim its due checks, read their configuration, push
//! results, give back what it did not run. A poller only ever sees and reports the checks of
//! the hosts assigned to it.

use super::{ApiJson, ApiPath};
use crate::auth::{ClientAddr, Ctx};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::monitoring::{readable, require_create};
use crate::AppState;
use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{header, StatusCode};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use parc_core::permissions::{Action, Object};
use parc_core::{EntityId, PollerId, ServiceId};
use parc_store::monitoring::pollers::{self, Poller, PollerInput};
use parc_store::monitoring::schedule::{self, CheckConfig, CheckResult, Claimed};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(paths(pollers_list, poller_create, poller_delete, claim, configs, results, release))]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/monitoring/pollers", get(pollers_list).post(poller_create))
        .route("/monitoring/pollers/{id}", delete(poller_delete))
        .route("/monitoring/poller/claim", post(claim))
        .route("/monitoring/poller/configs", post(configs))
        .route("/monitoring/poller/results", post(results))
        .route("/monitoring/poller/release", post(release))
}

#[utoipa::path(get, path = "/monitoring/pollers", tag = "monitoring",
    responses((status = 200, body = Vec<Poller>), (status = 401, body = ErrorBody)))]
async fn pollers_list(ctx: Ctx) -> AppResult<Json<Vec<Poller>>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(pollers::pollers(&mut c, &readable(&ctx)).await?))
}

/// A new poller and its token, shown this once.
#[derive(Debug, Serialize, ToSchema)]
pub struct NewPoller {
    pub poller: Poller,
    /// Give it to `parc poller --token`; only its hash is kept.
    pub token: String,
}

/// Creates a poller for a site; assign hosts to it with their `poller_id`.
#[utoipa::path(post, path = "/monitoring/pollers", tag = "monitoring", request_body = PollerInput,
    responses((status = 201, body = NewPoller), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn poller_create(ctx: Ctx, ApiJson(input): ApiJson<PollerInput>) -> AppResult<(StatusCode, Json<NewPoller>)> {
    let entity =
        input.entity_id.map(EntityId).ok_or_else(|| AppError::field("entity_id", "required", "is required"))?;
    require_create(&ctx, entity)?;
    let mut tx = ctx.state.store.write().await?;
    let (poller, token) = pollers::create_poller(&mut tx, &ctx.actor(), &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(NewPoller { poller, token })))
}

/// Removes a poller: its hosts are checked by the central nodes again.
#[utoipa::path(delete, path = "/monitoring/pollers/{id}", tag = "monitoring", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn poller_delete(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    let mut tx = ctx.state.store.write().await?;
    let p = pollers::poller(&mut tx, PollerId(id)).await?.ok_or(AppError::NotFound)?;
    if !ctx.can(Object::Monitoring, Action::Read, p.entity_id) {
        return Err(AppError::NotFound);
    }
    ctx.require(Object::Monitoring, Action::Delete, p.entity_id)?;
    pollers::delete_poller(&mut tx, &ctx.actor(), p.id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A request authenticated by a poller's token (`Authorization: Bearer parcpoll_...`).
pub struct PollerAuth(pub Poller);

impl FromRequestParts<AppState> for PollerAuth {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let token = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
            .map(|t| t.trim().to_owned())
            .ok_or(AppError::Unauthorized)?;
        let ClientAddr(addr) = ClientAddr::from_request_parts(parts, state).await.unwrap_or(ClientAddr("-".into()));
        let mut c = state.store.write().await?;
        let p = pollers::authenticate(&mut c, &token, &addr).await?.ok_or(AppError::Unauthorized)?;
        c.commit().await?;
        Ok(PollerAuth(p))
    }
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ClaimInput {
    /// Checks due before this time (epoch milliseconds)...
    pub horizon_ms: i64,
    /// ...at most this many (1 to 5000).
    pub limit: i64,
}

/// Claims the poller's checks due within its horizon (leased to it).
#[utoipa::path(post, path = "/monitoring/poller/claim", tag = "monitoring", request_body = ClaimInput,
    responses((status = 200, body = Vec<Claimed>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn claim(
    State(state): State<AppState>,
    PollerAuth(p): PollerAuth,
    ApiJson(input): ApiJson<ClaimInput>,
) -> AppResult<Json<Vec<Claimed>>> {
    if !(1..=5000).contains(&input.limit) {
        return Err(AppError::field("limit", "out_of_range", "must be between 1 and 5000"));
    }
    // A poller's clock may drift: never claim more than a minute ahead of the server's.
    let horizon = input.horizon_ms.min(chrono::Utc::now().timestamp_millis() + 60_000);
    let mut tx = state.store.write().await?;
    let claimed = schedule::claim(&mut tx, state.store.backend(), &p.owner(), p.id.0, horizon, input.limit).await?;
    tx.commit().await?;
    Ok(Json(claimed))
}

#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConfigsInput {
    pub ids: Vec<i64>,
}

/// The configuration of some of the poller's checks (others are left out).
#[utoipa::path(post, path = "/monitoring/poller/configs", tag = "monitoring", request_body = ConfigsInput,
    responses((status = 200, body = Vec<CheckConfig>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn configs(
    State(state): State<AppState>,
    PollerAuth(p): PollerAuth,
    ApiJson(input): ApiJson<ConfigsInput>,
) -> AppResult<Json<Vec<CheckConfig>>> {
    if input.ids.len() > 5000 {
        return Err(AppError::field("ids", "too_many", "at most 5000 ids"));
    }
    let ids: Vec<ServiceId> = input.ids.into_iter().map(ServiceId).collect();
    let mut c = state.store.read().await?;
    let mine = schedule::poller_checks(&mut c, p.id.0, &ids).await?;
    let list = schedule::configs(&mut c, &mine).await?;
    Ok(Json(list))
}

/// How many results were recorded.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ResultsOutcome {
    pub accepted: usize,
    /// Results for checks the poller no longer holds (lease lost, reassigned, deleted).
    pub refused: usize,
}

/// Records the poller's results, in one transaction.
#[utoipa::path(post, path = "/monitoring/poller/results", tag = "monitoring", request_body = Vec<CheckResult>,
    responses((status = 200, body = ResultsOutcome), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn results(
    State(state): State<AppState>,
    PollerAuth(p): PollerAuth,
    ApiJson(mut input): ApiJson<Vec<CheckResult>>,
) -> AppResult<Json<ResultsOutcome>> {
    if input.len() > 10_000 {
        return Err(AppError::field("results", "too_many", "at most 10000 results at once"));
    }
    let owner = p.owner();
    for r in &mut input {
        r.owner = Some(owner.clone());
        r.summary = parc_core::monitoring::truncate_output(r.summary.as_bytes(), 8_000);
        r.long_output = parc_core::monitoring::truncate_output(r.long_output.as_bytes(), 64 * 1024);
        r.perfdata.truncate(100);
    }
    let mut tx = state.store.write().await?;
    let recorded = schedule::record(&mut tx, &input, chrono::Utc::now()).await?;
    tx.commit().await?;
    let accepted = recorded.iter().filter(|r| r.accepted).count();
    Ok(Json(ResultsOutcome { accepted, refused: recorded.len() - accepted }))
}

/// Gives back the checks the poller claimed and did not run (it is stopping).
#[utoipa::path(post, path = "/monitoring/poller/release", tag = "monitoring",
    responses((status = 204), (status = 401, body = ErrorBody)))]
async fn release(State(state): State<AppState>, PollerAuth(p): PollerAuth) -> AppResult<StatusCode> {
    let mut tx = state.store.write().await?;
    schedule::release(&mut tx, &p.owner()).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}
