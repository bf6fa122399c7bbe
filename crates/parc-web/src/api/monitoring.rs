//! /api/v1/monitoring/...: hosts and their checks, current states, acknowledgements,
//! downtimes, the state-change log, performance data, availability, and passive results.
//! Same rights as the pages (`crate::monitoring`): out of sight 404, not allowed 403.

use super::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::monitoring::{
    now_ms, readable, require_create, visible_downtime, visible_host, visible_service, visible_status,
};
use crate::pages::monitoring_admin::monitor_assets;
use crate::AppState;
use axum::http::StatusCode;
use axum::routing::{get, post};
use axum::{Json, Router};
use parc_core::monitoring::availability::{self as avail, AvailabilityState, StateChange};
use parc_core::monitoring::host::HostState;
use parc_core::monitoring::templates::{self, HostTemplate};
use parc_core::monitoring::{parse_output, truncate_output, ServiceState};
use parc_core::permissions::Action;
use parc_core::{EntityId, HostId};
use parc_store::monitoring::schedule::{self, CheckResult, Recorded};
use parc_store::monitoring::status::{
    self, AckInput, Downtime, DowntimeInput, Series, ServiceStatus, StateEvent, StatusFilter,
};
use parc_store::monitoring::{self, Host, HostInput, Service, ServiceInput};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(paths(
    hosts_list,
    host_create,
    hosts_bulk,
    host_get,
    host_update,
    host_delete,
    services_list,
    service_create,
    service_get,
    service_update,
    service_delete,
    states,
    acknowledge,
    unacknowledge,
    downtimes_list,
    downtime_create,
    downtime_cancel,
    events,
    series,
    availability,
    passive_result,
    templates_list
))]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/monitoring/hosts", get(hosts_list).post(host_create))
        .route("/monitoring/hosts/bulk", post(hosts_bulk))
        .route("/monitoring/hosts/{id}", get(host_get).patch(host_update).delete(host_delete))
        .route("/monitoring/hosts/{id}/services", get(services_list).post(service_create))
        .route("/monitoring/services/{id}", get(service_get).patch(service_update).delete(service_delete))
        .route("/monitoring/services/{id}/acknowledgement", post(acknowledge).delete(unacknowledge))
        .route("/monitoring/services/{id}/events", get(events))
        .route("/monitoring/services/{id}/series", get(series))
        .route("/monitoring/services/{id}/availability", get(availability))
        .route("/monitoring/services/{id}/result", post(passive_result))
        .route("/monitoring/states", get(states))
        .route("/monitoring/downtimes", get(downtimes_list).post(downtime_create))
        .route("/monitoring/downtimes/{id}", axum::routing::delete(downtime_cancel))
        .route("/monitoring/templates", get(templates_list))
}

/// Monitored hosts the caller can see, by name.
#[utoipa::path(get, path = "/monitoring/hosts", tag = "monitoring",
    responses((status = 200, body = Vec<Host>), (status = 401, body = ErrorBody)))]
async fn hosts_list(ctx: Ctx) -> AppResult<Json<Vec<Host>>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(monitoring::hosts(&mut c, &readable(&ctx)).await?))
}

/// Monitors a host: an asset (`asset_id`: name and address default to the asset's) or any
/// address. A ping host check is added unless `host_check` is given, and the services of
/// `template` (see `/monitoring/templates`).
#[utoipa::path(post, path = "/monitoring/hosts", tag = "monitoring", request_body = HostInput,
    responses((status = 201, body = Host), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn host_create(ctx: Ctx, ApiJson(input): ApiJson<HostInput>) -> AppResult<(StatusCode, Json<Host>)> {
    let mut tx = ctx.state.store.write().await?;
    let entity = entity_of_input(&mut tx, &input).await?;
    require_create(&ctx, entity)?;
    let h = monitoring::create_host(&mut tx, &ctx.actor(), &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(h)))
}

/// The entity a new host goes to: its asset's, or the one given.
async fn entity_of_input(c: &mut parc_store::Conn, input: &HostInput) -> AppResult<EntityId> {
    if let Some(a) = input.asset_id {
        let asset = parc_store::assets::get(c, parc_core::AssetId(a)).await?.ok_or(AppError::NotFound)?;
        return Ok(asset.entity_id);
    }
    input.entity_id.map(EntityId).ok_or_else(|| AppError::field("entity_id", "required", "is required"))
}

/// Monitors every asset of an asset-list filter at once.
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkInput {
    /// The asset list's query string, e.g. `kind=server&status=in_use`.
    pub filter: String,
    /// Template applied to each new host.
    pub template: Option<String>,
    pub contact_group_id: Option<i64>,
    pub wall_group: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct BulkOutcome {
    /// Hosts created.
    pub created: Vec<Host>,
    /// Assets skipped: already monitored, or without an IP address.
    pub already_monitored: Vec<i64>,
    pub without_address: Vec<i64>,
}

/// Monitors the assets matching a filter (those with an IP address that are not monitored
/// yet), all in one transaction: any invalid host refuses the whole request. At most 2000
/// assets per request.
#[utoipa::path(post, path = "/monitoring/hosts/bulk", tag = "monitoring", request_body = BulkInput,
    responses((status = 201, body = BulkOutcome), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn hosts_bulk(ctx: Ctx, ApiJson(input): ApiJson<BulkInput>) -> AppResult<(StatusCode, Json<BulkOutcome>)> {
    let mut tx = ctx.state.store.write().await?;
    let r =
        monitor_assets(&ctx, &mut tx, &input.filter, input.template, input.contact_group_id, input.wall_group).await?;
    tx.commit().await?;
    let ids = |v: Vec<parc_store::assets::Asset>| v.into_iter().map(|a| a.id.0).collect();
    let out = BulkOutcome {
        created: r.created,
        already_monitored: ids(r.already_monitored),
        without_address: ids(r.without_address),
    };
    Ok((StatusCode::CREATED, Json(out)))
}

#[utoipa::path(get, path = "/monitoring/hosts/{id}", tag = "monitoring", params(("id" = i64, Path)),
    responses((status = 200, body = Host), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn host_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Host>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(visible_host(&ctx, &mut c, id, Action::Read).await?))
}

/// Changes a host; absent fields are kept. Its checks' states are kept too.
#[utoipa::path(patch, path = "/monitoring/hosts/{id}", tag = "monitoring", params(("id" = i64, Path)),
    request_body = HostInput,
    responses((status = 200, body = Host), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn host_update(ctx: Ctx, ApiPath(id): ApiPath<i64>, ApiJson(input): ApiJson<HostInput>) -> AppResult<Json<Host>> {
    let mut tx = ctx.state.store.write().await?;
    let h = visible_host(&ctx, &mut tx, id, Action::Update).await?;
    let h = monitoring::update_host(&mut tx, &ctx.actor(), h.id, &input).await?;
    tx.commit().await?;
    Ok(Json(h))
}

/// Stops monitoring a host (its checks, history and downtimes go with it).
#[utoipa::path(delete, path = "/monitoring/hosts/{id}", tag = "monitoring", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn host_delete(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    let mut tx = ctx.state.store.write().await?;
    let h = visible_host(&ctx, &mut tx, id, Action::Delete).await?;
    monitoring::delete_host(&mut tx, &ctx.actor(), h.id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A host's checks: the host check first, then its services.
#[utoipa::path(get, path = "/monitoring/hosts/{id}/services", tag = "monitoring", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Service>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn services_list(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Vec<Service>>> {
    let mut c = ctx.state.store.read().await?;
    let h = visible_host(&ctx, &mut c, id, Action::Read).await?;
    Ok(Json(monitoring::services_of(&mut c, h.id).await?))
}

/// Adds a service: a plugin command line (`{"type":"plugin","command":"$USER1$/check_disk -w
/// 10% -c 5% -p /"}`) or a native check (`tcp`, `http`, `tls_certificate`, `ping`). Invalid
/// commands and macros are refused with per-field messages.
#[utoipa::path(post, path = "/monitoring/hosts/{id}/services", tag = "monitoring", params(("id" = i64, Path)),
    request_body = ServiceInput,
    responses((status = 201, body = Service), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn service_create(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ServiceInput>,
) -> AppResult<(StatusCode, Json<Service>)> {
    let mut tx = ctx.state.store.write().await?;
    let h = visible_host(&ctx, &mut tx, id, Action::Create).await?;
    let s = monitoring::create_service(&mut tx, &ctx.actor(), h.id, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(s)))
}

#[utoipa::path(get, path = "/monitoring/services/{id}", tag = "monitoring", params(("id" = i64, Path)),
    responses((status = 200, body = Service), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn service_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Service>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(visible_service(&ctx, &mut c, id, Action::Read).await?))
}

/// Changes a check's configuration; its current state, acknowledgement and schedule are kept.
#[utoipa::path(patch, path = "/monitoring/services/{id}", tag = "monitoring", params(("id" = i64, Path)),
    request_body = ServiceInput,
    responses((status = 200, body = Service), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn service_update(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<ServiceInput>,
) -> AppResult<Json<Service>> {
    let mut tx = ctx.state.store.write().await?;
    let s = visible_service(&ctx, &mut tx, id, Action::Update).await?;
    let s = monitoring::update_service(&mut tx, &ctx.actor(), s.id, &input).await?;
    tx.commit().await?;
    Ok(Json(s))
}

/// Removes a service (a host check goes with its host: 409).
#[utoipa::path(delete, path = "/monitoring/services/{id}", tag = "monitoring", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn service_delete(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    let mut tx = ctx.state.store.write().await?;
    let s = visible_service(&ctx, &mut tx, id, Action::Delete).await?;
    monitoring::delete_service(&mut tx, &ctx.actor(), s.id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct StatesQuery {
    /// Only problems (anything but OK, UP and PENDING), worst and oldest first.
    pub problems: Option<bool>,
    pub host_id: Option<i64>,
}

/// Current states of the checks the caller can see.
#[utoipa::path(get, path = "/monitoring/states", tag = "monitoring", params(StatesQuery),
    responses((status = 200, body = Vec<ServiceStatus>), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody)))]
async fn states(ctx: Ctx, ApiQuery(q): ApiQuery<StatesQuery>) -> AppResult<Json<Vec<ServiceStatus>>> {
    let mut c = ctx.state.store.read().await?;
    let filter = StatusFilter {
        entities: readable(&ctx),
        problems_only: q.problems.unwrap_or(false),
        host: q.host_id.map(HostId),
        service: None,
    };
    Ok(Json(status::statuses(&mut c, &filter, now_ms()).await?))
}

/// Acknowledges a problem: no more notifications until it recovers (a non-sticky
/// acknowledgement also ends when the problem changes state).
#[utoipa::path(post, path = "/monitoring/services/{id}/acknowledgement", tag = "monitoring",
    params(("id" = i64, Path)), request_body = AckInput,
    responses((status = 200, body = ServiceStatus), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn acknowledge(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<AckInput>,
) -> AppResult<Json<ServiceStatus>> {
    let mut tx = ctx.state.store.write().await?;
    let s = visible_service(&ctx, &mut tx, id, Action::Update).await?;
    let st = status::acknowledge(&mut tx, &ctx.actor(), s.id, &input).await?;
    tx.commit().await?;
    Ok(Json(st))
}

#[utoipa::path(delete, path = "/monitoring/services/{id}/acknowledgement", tag = "monitoring",
    params(("id" = i64, Path)),
    responses((status = 200, body = ServiceStatus), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn unacknowledge(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<ServiceStatus>> {
    let mut tx = ctx.state.store.write().await?;
    let s = visible_service(&ctx, &mut tx, id, Action::Update).await?;
    let st = status::unacknowledge(&mut tx, &ctx.actor(), s.id).await?;
    tx.commit().await?;
    Ok(Json(st))
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct DowntimesQuery {
    pub host_id: Option<i64>,
}

/// Downtimes not yet over, by start.
#[utoipa::path(get, path = "/monitoring/downtimes", tag = "monitoring", params(DowntimesQuery),
    responses((status = 200, body = Vec<Downtime>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn downtimes_list(ctx: Ctx, ApiQuery(q): ApiQuery<DowntimesQuery>) -> AppResult<Json<Vec<Downtime>>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(status::downtimes(&mut c, &readable(&ctx), q.host_id.map(HostId), now_ms()).await?))
}

/// Schedules a downtime of a host (and all its services) or of one service: no notification
/// while it lasts.
#[utoipa::path(post, path = "/monitoring/downtimes", tag = "monitoring", request_body = DowntimeInput,
    responses((status = 201, body = Downtime), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn downtime_create(ctx: Ctx, ApiJson(input): ApiJson<DowntimeInput>) -> AppResult<(StatusCode, Json<Downtime>)> {
    let mut tx = ctx.state.store.write().await?;
    match (input.host_id, input.service_id) {
        (Some(h), _) => {
            visible_host(&ctx, &mut tx, h, Action::Update).await?;
        }
        (None, Some(s)) => {
            visible_service(&ctx, &mut tx, s, Action::Update).await?;
        }
        (None, None) => return Err(AppError::field("host_id", "required", "is required")),
    }
    let d = status::create_downtime(&mut tx, &ctx.actor(), &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(d)))
}

/// Ends a downtime now.
#[utoipa::path(delete, path = "/monitoring/downtimes/{id}", tag = "monitoring", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn downtime_cancel(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    let mut tx = ctx.state.store.write().await?;
    let d = visible_downtime(&ctx, &mut tx, id, Action::Update).await?;
    status::cancel_downtime(&mut tx, &ctx.actor(), d.id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct EventsQuery {
    /// Only changes before this time (epoch milliseconds), for paging back.
    pub before_ms: Option<i64>,
    pub limit: Option<i64>,
}

/// A check's state changes, newest first.
#[utoipa::path(get, path = "/monitoring/services/{id}/events", tag = "monitoring", params(("id" = i64, Path), EventsQuery),
    responses((status = 200, body = Vec<StateEvent>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn events(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<EventsQuery>,
) -> AppResult<Json<Vec<StateEvent>>> {
    let mut c = ctx.state.store.read().await?;
    let s = visible_service(&ctx, &mut c, id, Action::Read).await?;
    let list = status::events(&mut c, &[s.entity_id.0], Some(s.id), q.before_ms, q.limit.unwrap_or(100)).await?;
    Ok(Json(list))
}

#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct PeriodQuery {
    /// Start (RFC 3339); a day ago by default.
    pub from: Option<String>,
    /// End (RFC 3339); now by default.
    pub to: Option<String>,
}

fn period(q: &PeriodQuery, default_days: i64) -> AppResult<(i64, i64)> {
    let parse = |field: &str, v: &Option<String>| -> AppResult<Option<i64>> {
        match v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            None => Ok(None),
            Some(t) => chrono::DateTime::parse_from_rfc3339(t)
                .map(|t| Some(t.timestamp_millis()))
                .map_err(|_| AppError::field(field, "invalid_datetime", "must be an RFC 3339 date and time")),
        }
    };
    let to = parse("to", &q.to)?.unwrap_or_else(now_ms);
    let from = parse("from", &q.from)?.unwrap_or(to - default_days * 86_400_000);
    if from >= to {
        return Err(AppError::field("to", "downtime_end_before_start", "must be after the start"));
    }
    if to - from > 400 * 86_400_000 {
        return Err(AppError::field("from", "out_of_range", "a period lasts at most 400 days"));
    }
    Ok((from, to))
}

/// A check's performance data over a period, at the finest resolution still kept.
#[utoipa::path(get, path = "/monitoring/services/{id}/series", tag = "monitoring", params(("id" = i64, Path), PeriodQuery),
    responses((status = 200, body = Vec<Series>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn series(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> AppResult<Json<Vec<Series>>> {
    let (from, to) = period(&q, 1)?;
    let mut c = ctx.state.store.read().await?;
    let s = visible_service(&ctx, &mut c, id, Action::Read).await?;
    Ok(Json(status::series(&mut c, s.id, from / 1000, to / 1000, now_ms() / 1000).await?))
}

/// Availability of a check over a period.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Availability {
    pub from_ms: i64,
    pub to_ms: i64,
    /// Milliseconds spent in each state (`OK`, `CRITICAL`, `UP`...), and `PENDING` for the
    /// time before the first result.
    pub durations_ms: std::collections::BTreeMap<String, i64>,
    /// Share of the known time spent OK (or UP), in percent.
    pub availability_percent: Option<f64>,
    /// The same, counting the time in scheduled downtime as available.
    pub availability_with_downtime_percent: Option<f64>,
}

/// The share of a period a check spent OK (UP for a host), from its state changes.
#[utoipa::path(get, path = "/monitoring/services/{id}/availability", tag = "monitoring",
    params(("id" = i64, Path), PeriodQuery),
    responses((status = 200, body = Availability), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn availability(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> AppResult<Json<Availability>> {
    let (from, to) = period(&q, 30)?;
    let mut c = ctx.state.store.read().await?;
    let s = visible_service(&ctx, &mut c, id, Action::Read).await?;
    Ok(Json(compute_availability(&mut c, s.id, from, to).await?))
}

/// Availability of one check over [from, to) (shared with the pages).
pub async fn compute_availability(
    c: &mut parc_store::Conn,
    id: parc_core::ServiceId,
    from: i64,
    to: i64,
) -> AppResult<Availability> {
    let changes = status::events_in(c, id, from, to).await?;
    let downtimes = status::downtime_windows(c, id, from, to).await?;
    let is_host = changes.iter().any(|(_, s)| s.parse::<HostState>().is_ok());
    Ok(if is_host {
        availability_of::<HostState>(&changes, &downtimes, from, to)
    } else {
        availability_of::<ServiceState>(&changes, &downtimes, from, to)
    })
}

fn availability_of<S>(changes: &[(i64, String)], downtimes: &[(i64, i64)], from: i64, to: i64) -> Availability
where
    S: AvailabilityState + std::str::FromStr + std::fmt::Display,
{
    let at = |ms: i64| chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default();
    let changes: Vec<StateChange<S>> = changes
        .iter()
        .filter_map(|(t, s)| s.parse::<S>().ok().map(|state| StateChange { at: at(*t), state }))
        .collect();
    let windows: Vec<_> = downtimes.iter().map(|(a, b)| (at(*a), at(*b))).collect();
    let a = avail::availability(None, &changes, &windows, at(from), at(to));
    let mut durations_ms: std::collections::BTreeMap<String, i64> =
        a.by_state.iter().map(|(s, d)| (s.to_string(), d.num_milliseconds())).collect();
    if a.unknown > chrono::Duration::zero() {
        durations_ms.insert("PENDING".into(), a.unknown.num_milliseconds());
    }
    Availability {
        from_ms: from,
        to_ms: to,
        durations_ms,
        availability_percent: a.known_ok_percent(),
        availability_with_downtime_percent: {
            let known = (a.period() - a.unknown).num_milliseconds();
            (known > 0).then(|| (a.ok_time() + a.problem_in_downtime).num_milliseconds() as f64 * 100.0 / known as f64)
        },
    }
}

/// A plugin-style result sent by a script (a passive check).
#[derive(Debug, Clone, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PassiveInput {
    /// The plugin exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN (for a host check, 0 and 1
    /// mean UP).
    pub exit_code: i32,
    /// The plugin output: first line, long output, `|` performance data.
    pub output: String,
}

/// Largest passive output accepted (as a plugin's, longer is refused rather than cut).
const PASSIVE_MAX_BYTES: usize = 64 * 1024;

/// Records a result for a check, as a plugin would print it: the state rules, notifications
/// and performance data apply as for an active check.
#[utoipa::path(post, path = "/monitoring/services/{id}/result", tag = "monitoring", params(("id" = i64, Path)),
    request_body = PassiveInput,
    responses((status = 200, body = ServiceStatus), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn passive_result(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<PassiveInput>,
) -> AppResult<Json<ServiceStatus>> {
    if !(0..=3).contains(&input.exit_code) {
        return Err(AppError::field("exit_code", "monitor_exit_code", "must be 0, 1, 2 or 3"));
    }
    if input.output.len() > PASSIVE_MAX_BYTES {
        return Err(AppError::field("output", "too_long", "must be at most 64 KiB"));
    }
    if input.output.trim().is_empty() {
        return Err(AppError::field("output", "required", "is required"));
    }
    let text = truncate_output(input.output.as_bytes(), PASSIVE_MAX_BYTES);
    let out = parse_output(&text);
    let mut tx = ctx.state.store.write().await?;
    let s = visible_service(&ctx, &mut tx, id, Action::Update).await?;
    let now = chrono::Utc::now();
    let result = CheckResult {
        service_id: s.id,
        owner: None,
        state: ServiceState::from_exit_code(input.exit_code),
        summary: out.summary,
        long_output: out.long_output,
        perfdata: out.perfdata,
        started_at: now,
        duration_ms: 0,
    };
    let recorded: Vec<Recorded> = schedule::record(&mut tx, &[result], now).await?;
    if !recorded.first().is_some_and(|r| r.accepted) {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    let mut c = ctx.state.store.read().await?;
    Ok(Json(visible_status(&ctx, &mut c, id, now_ms()).await?))
}

/// The built-in host templates and their services.
#[utoipa::path(get, path = "/monitoring/templates", tag = "monitoring",
    responses((status = 200, body = Vec<HostTemplate>), (status = 401, body = ErrorBody)))]
async fn templates_list(_ctx: Ctx) -> Json<Vec<HostTemplate>> {
    Json(templates::all())
}
