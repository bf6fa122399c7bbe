//! Campaigns with scan-to-reconcile: `/api/v1/campaigns/...` — create one from an asset
//! filter or an imported list, scan codes (several technicians at once), follow the live
//! counts and scans, tick per-item steps, pair old and new machines, close with the signed
//! report, download the report.

use super::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::campaigns::{self as web, CampaignInput};
use crate::error::{AppError, AppResult, ErrorBody};
use crate::AppState;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use parc_core::assets::AssetStatus;
use parc_core::audit::ObjectType;
use parc_core::campaigns::Tally;
use parc_core::permissions::Action;
use parc_core::{CampaignId, CampaignItemId};
use parc_store::audit::{self, AuditEvent};
use parc_store::campaigns::{self, Campaign, Item, Scan, ScanResult};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(list, create, show, items, scan, scans, step, replacement, close, report, history),
    components(schemas(web::ListSource, web::ListRow))
)]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/campaigns", get(list).post(create))
        .route("/campaigns/{id}", get(show))
        .route("/campaigns/{id}/items", get(items))
        .route("/campaigns/{id}/scans", get(scans).post(scan))
        .route("/campaigns/{id}/items/{item}/step", put(step))
        .route("/campaigns/{id}/items/{item}/replacement", put(replacement))
        .route("/campaigns/{id}/close", post(close))
        .route("/campaigns/{id}/report.pdf", get(report))
        .route("/campaigns/{id}/history", get(history))
}

/// The campaigns the caller can see, open ones first.
#[utoipa::path(get, path = "/campaigns", tag = "campaigns",
    responses((status = 200, body = Vec<Campaign>), (status = 401, body = ErrorBody)))]
async fn list(ctx: Ctx) -> AppResult<Json<Vec<Campaign>>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(campaigns::list(&mut c, &web::readable(&ctx), 500).await?))
}

/// Starts a campaign with its expected list.
#[utoipa::path(post, path = "/campaigns", tag = "campaigns", request_body = CampaignInput,
    responses((status = 201, body = Campaign), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(ctx: Ctx, ApiJson(input): ApiJson<CampaignInput>) -> AppResult<(StatusCode, Json<Campaign>)> {
    let mut tx = ctx.state.store.write().await?;
    let id = web::create(&ctx, &mut tx, &input).await?;
    let campaign = campaigns::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(campaign)))
}

#[utoipa::path(get, path = "/campaigns/{id}", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = Campaign), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn show(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Campaign>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(web::visible(&ctx, &mut c, CampaignId(id), Action::Read).await?))
}

/// Every item: the expected list (found or still missing) and the unexpected codes scanned.
#[utoipa::path(get, path = "/campaigns/{id}/items", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Item>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn items(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Vec<Item>>> {
    let mut c = ctx.state.store.read().await?;
    let campaign = web::visible(&ctx, &mut c, CampaignId(id), Action::Read).await?;
    Ok(Json(campaigns::items(&mut c, campaign.id).await?))
}

/// A scanned or typed code: a serial, an IMEI, an asset tag, a name, or a Parc label's URL.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScanInput {
    pub code: String,
}

/// Records a scan: found, duplicate (counted once) or unexpected, with the counts after it.
/// An asset of an entity outside the campaign's is refused (422) and nothing is written.
#[utoipa::path(post, path = "/campaigns/{id}/scans", tag = "campaigns", params(("id" = i64, Path)), request_body = ScanInput,
    responses((status = 200, body = ScanResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn scan(ctx: Ctx, ApiPath(id): ApiPath<i64>, ApiJson(input): ApiJson<ScanInput>) -> AppResult<Json<ScanResult>> {
    let code = web::read_code(&input.code)?;
    let mut tx = ctx.state.store.write().await?;
    let campaign = web::visible(&ctx, &mut tx, CampaignId(id), Action::Update).await?;
    let mut result = campaigns::scan(&mut tx, &ctx.actor(), &campaign, &web::tree(&ctx, &campaign), &code).await?;
    tx.commit().await?;
    result.scan.user_name = Some(ctx.user.display_name.clone());
    Ok(Json(result))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ScansQuery {
    /// Scans after this scan id (0: from the start).
    #[serde(default)]
    pub after: i64,
    /// At most this many (1 to 1000, default 200).
    pub limit: Option<i64>,
}

/// New scans since the last one a screen has, and the counts: what the live view polls.
#[derive(Debug, Serialize, ToSchema)]
pub struct ScanFeed {
    pub scans: Vec<Scan>,
    pub tally: Tally,
    pub open: bool,
}

#[utoipa::path(get, path = "/campaigns/{id}/scans", tag = "campaigns", params(("id" = i64, Path), ScansQuery),
    responses((status = 200, body = ScanFeed), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn scans(ctx: Ctx, ApiPath(id): ApiPath<i64>, ApiQuery(q): ApiQuery<ScansQuery>) -> AppResult<Json<ScanFeed>> {
    let limit = q.limit.unwrap_or(200);
    if !(1..=1000).contains(&limit) {
        return Err(AppError::field("limit", "out_of_range", "limit is between 1 and 1000"));
    }
    let mut c = ctx.state.store.read().await?;
    let campaign = web::visible(&ctx, &mut c, CampaignId(id), Action::Read).await?;
    let scans = campaigns::scans_after(&mut c, campaign.id, q.after.max(0), limit).await?;
    Ok(Json(ScanFeed {
        scans,
        tally: campaign.tally,
        open: campaign.status == parc_core::campaigns::CampaignStatus::Open,
    }))
}

async fn item_of(ctx: &Ctx, c: &mut parc_store::Conn, id: i64, item: i64) -> AppResult<(Campaign, Item)> {
    let campaign = web::visible(ctx, c, CampaignId(id), Action::Update).await?;
    let item = campaigns::item(c, campaign.id, CampaignItemId(item)).await?.ok_or(AppError::NotFound)?;
    Ok((campaign, item))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CampaignStepInput)]
pub struct StepInput {
    /// Done (wiped via the MDM, re-imaged) or not.
    pub done: bool,
}

/// Ticks or unticks a found item's step (tablet collection: wiped via the MDM; PC
/// replacement: re-imaged).
#[utoipa::path(put, path = "/campaigns/{id}/items/{item}/step", tag = "campaigns",
    params(("id" = i64, Path), ("item" = i64, Path)), request_body = StepInput,
    responses((status = 200, body = Item), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn step(
    ctx: Ctx,
    ApiPath((id, item)): ApiPath<(i64, i64)>,
    ApiJson(input): ApiJson<StepInput>,
) -> AppResult<Json<Item>> {
    let mut tx = ctx.state.store.write().await?;
    let (campaign, item) = item_of(&ctx, &mut tx, id, item).await?;
    let item = campaigns::set_step(&mut tx, &ctx.actor(), &campaign, &item, input.done).await?;
    tx.commit().await?;
    Ok(Json(item))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReplacementInput {
    /// The new machine: its asset tag, serial or label URL; `null` removes the pairing.
    pub code: Option<String>,
}

/// Pairs an old machine of the list with the new machine that replaces it (PC replacement).
/// At closing, the new machine goes in use with the old one's user and location.
#[utoipa::path(put, path = "/campaigns/{id}/items/{item}/replacement", tag = "campaigns",
    params(("id" = i64, Path), ("item" = i64, Path)), request_body = ReplacementInput,
    responses((status = 200, body = Item), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn replacement(
    ctx: Ctx,
    ApiPath((id, item)): ApiPath<(i64, i64)>,
    ApiJson(input): ApiJson<ReplacementInput>,
) -> AppResult<Json<Item>> {
    let mut tx = ctx.state.store.write().await?;
    let (campaign, item) = item_of(&ctx, &mut tx, id, item).await?;
    let tree = web::tree(&ctx, &campaign);
    let new = match input.code.as_deref() {
        Some(code) => Some(web::asset_by_code(&ctx, &mut tx, code, "code").await?),
        None => None,
    };
    let item = campaigns::set_replacement(&mut tx, &ctx.actor(), &campaign, &item, new.as_ref(), &tree).await?;
    tx.commit().await?;
    Ok(Json(item))
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CloseInput {
    /// Who signs the report (e.g. the school principal).
    pub signer_name: String,
    /// The signature: a PNG image in base64 (a `data:image/png;base64,` URL is accepted).
    pub signature: String,
    /// The status found items take; absent: the kind's default (tablet collection: wiped when
    /// ticked, else returned; PC replacement: returned; count: unchanged).
    pub found_status: Option<AssetStatus>,
    /// Leave every asset's status as it is.
    #[serde(default)]
    pub keep_statuses: bool,
}

/// Closes the campaign: the reconciliation report signed by `signer_name` is stored
/// (its SHA-256 in the trail) and the found assets' statuses are set, in one transaction.
#[utoipa::path(post, path = "/campaigns/{id}/close", tag = "campaigns", params(("id" = i64, Path)), request_body = CloseInput,
    responses((status = 200, body = Campaign), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn close(ctx: Ctx, ApiPath(id): ApiPath<i64>, ApiJson(input): ApiJson<CloseInput>) -> AppResult<Json<Campaign>> {
    let mut tx = ctx.state.store.write().await?;
    let campaign = web::visible(&ctx, &mut tx, CampaignId(id), Action::Update).await?;
    let closing = web::Closing {
        signer_name: &input.signer_name,
        signature: &input.signature,
        found_status: input.found_status,
        keep_statuses: input.keep_statuses,
    };
    web::close(&ctx, &mut tx, &campaign, &closing).await?;
    let campaign = campaigns::get(&mut tx, campaign.id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(Json(campaign))
}

/// The signed reconciliation report of a closed campaign.
#[utoipa::path(get, path = "/campaigns/{id}/report.pdf", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, description = "The PDF", content(("application/pdf"))), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn report(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let campaign = web::visible(&ctx, &mut c, CampaignId(id), Action::Read).await?;
    web::report_response(&mut c, &campaign).await
}

/// The campaign's trail: creation, steps, pairs, and the closing with the report's SHA-256.
#[utoipa::path(get, path = "/campaigns/{id}/history", tag = "campaigns", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AuditEvent>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn history(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Vec<AuditEvent>>> {
    let mut c = ctx.state.store.read().await?;
    let campaign = web::visible(&ctx, &mut c, CampaignId(id), Action::Read).await?;
    Ok(Json(audit::for_object(&mut c, ObjectType::Campaign, campaign.id.0, 1000).await?))
}
