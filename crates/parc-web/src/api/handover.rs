//! /api/v1/handovers: phone hand-over receipts (record one with both signatures, list, read,
//! download the signed PDF) and /api/v1/contacts/vcard (the contacts helper of a phone change).
//! The rules are the pages': see `crate::handover` and `pages::contacts`.

use super::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::handover::{self as work, Submission};
use crate::pages::contacts::{self, Mode};
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use parc_core::permissions::{Action, Object};
use parc_core::{AssetId, LocationId, UserId};
use parc_docs::vcard::MAX_VCARD_BYTES;
use parc_store::handover::{self, Handover, HandoverDraft};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(handover_list, handover_create, handover_get, handover_receipt, vcard_process),
    components(schemas(Handover, HandoverBody, ContactsSummary))
)]
pub struct Doc;

pub fn routes() -> Router<crate::AppState> {
    Router::new()
        .route("/handovers", get(handover_list).post(handover_create))
        .route("/handovers/{id}", get(handover_get))
        .route("/handovers/{id}/receipt.pdf", get(handover_receipt))
        .route("/contacts/vcard", post(vcard_process).layer(DefaultBodyLimit::max(MAX_VCARD_BYTES + 1024)))
}

/// A hand-over to record. At least a delivered or a returned device (mobile phone or tablet);
/// SIM cards and lines of the same entity as the device; accessories among `charger`,
/// `car_charger`, `hands_free`, `case`, `manual`, `box`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HandoverBody {
    /// The user who receives (or returns) the device.
    pub recipient_user_id: i64,
    /// The technician (the caller by default).
    pub technician_user_id: Option<i64>,
    /// Department or service (the recipient's entity by default).
    pub department: Option<String>,
    /// The site (a location); the delivered device moves there.
    pub location_id: Option<i64>,
    pub reason: Option<String>,
    pub delivered_asset_id: Option<i64>,
    /// A SIM card that goes into the delivered device (possibly taken out of the returned one).
    pub delivered_sim_id: Option<i64>,
    /// A line carried by the delivered SIM card.
    pub delivered_line_id: Option<i64>,
    pub returned_asset_id: Option<i64>,
    /// A SIM card given back (not moved into the new device).
    pub returned_sim_id: Option<i64>,
    pub returned_line_id: Option<i64>,
    #[serde(default)]
    pub accessories_delivered: Vec<String>,
    #[serde(default)]
    pub accessories_returned: Vec<String>,
    /// The returned device was reset by the technician.
    #[serde(default)]
    pub returned_reset: bool,
    /// The user's signature: a PNG in base64 (a `data:image/png;base64,` URL is accepted), at
    /// most 2 MiB and 2000 × 2000 pixels.
    pub user_signature: String,
    /// The technician's signature, as `user_signature`.
    pub technician_signature: String,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// At most this many (1 to 1000, 200 by default), newest first.
    pub limit: Option<i64>,
}

/// The latest hand-overs of the entities where the caller sees every asset, newest first.
#[utoipa::path(get, path = "/handovers", tag = "handover", params(ListQuery),
    responses((status = 200, body = Vec<Handover>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn handover_list(ctx: Ctx, ApiQuery(q): ApiQuery<ListQuery>) -> AppResult<Json<Vec<Handover>>> {
    // Entities seen in full only (a requester sees their own assets, not the receipts).
    let entities: Vec<i64> = ctx.scope(Object::Asset, Action::Read).full.iter().map(|e| e.0).collect();
    let limit = q.limit.unwrap_or(200).clamp(1, 1000);
    let mut c = ctx.state.store.read().await?;
    Ok(Json(handover::list(&mut c, &entities, limit).await?))
}

/// Records a hand-over: the signed receipt (PDF) is stored immutably with its SHA-256 in the
/// audit trail and e-mailed to the user; the devices, SIM card and line are updated (status,
/// user, site, links) in the same transaction. Nothing is written when anything is refused.
#[utoipa::path(post, path = "/handovers", tag = "handover", request_body = HandoverBody,
    responses((status = 201, body = Handover), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn handover_create(ctx: Ctx, ApiJson(b): ApiJson<HandoverBody>) -> AppResult<Response> {
    let draft = HandoverDraft {
        recipient_user_id: Some(UserId(b.recipient_user_id)),
        technician_user_id: Some(UserId(b.technician_user_id.unwrap_or(ctx.user.id.0))),
        department: b.department,
        location_id: b.location_id.map(LocationId),
        reason: b.reason,
        delivered_asset_id: b.delivered_asset_id.map(AssetId),
        delivered_sim_id: b.delivered_sim_id.map(AssetId),
        delivered_line_id: b.delivered_line_id.map(AssetId),
        returned_asset_id: b.returned_asset_id.map(AssetId),
        returned_sim_id: b.returned_sim_id.map(AssetId),
        returned_line_id: b.returned_line_id.map(AssetId),
        accessories_delivered: b.accessories_delivered,
        accessories_returned: b.accessories_returned,
        returned_reset: b.returned_reset,
    };
    let submission =
        Submission { draft, user_signature: b.user_signature, technician_signature: b.technician_signature };
    let mut tx = ctx.state.store.write().await?;
    let h = work::record(&ctx, &mut tx, &submission).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(h)).into_response())
}

/// One hand-over.
#[utoipa::path(get, path = "/handovers/{id}", tag = "handover", params(("id" = i64, Path)),
    responses((status = 200, body = Handover), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn handover_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Handover>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(work::visible(&ctx, &mut c, id).await?))
}

/// The signed receipt of a hand-over (the stored PDF; its SHA-256 is the hand-over's).
#[utoipa::path(get, path = "/handovers/{id}/receipt.pdf", tag = "handover", params(("id" = i64, Path)),
    responses((status = 200, description = "The PDF", content(("application/pdf"))), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn handover_receipt(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    work::receipt_response(&ctx, id).await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct VcardQuery {
    /// `summary` (JSON, the default), `merged` (one vCard 3.0 file) or `batches` (a ZIP of
    /// files of at most 250 contacts, for a SIM card).
    pub mode: Option<String>,
}

/// What a vCard file holds.
#[derive(Serialize, ToSchema)]
pub struct ContactsSummary {
    /// Contacts read.
    pub parsed: usize,
    /// Exact duplicates removed.
    pub duplicates: usize,
    /// Contacts kept.
    pub unique: usize,
    /// Files of at most 250 contacts.
    pub batches: usize,
}

/// Reads a vCard export (2.1, 3.0 or 4.0; the request body is the `.vcf` file), removes exact
/// duplicates and answers a summary, one merged file or SIM-sized batches. Nothing is stored.
#[utoipa::path(post, path = "/contacts/vcard", tag = "handover", params(VcardQuery),
    request_body(content = String, content_type = "text/vcard", description = "The .vcf file"),
    responses((status = 200, body = ContactsSummary, description = "The summary, a text/vcard file or a ZIP archive",
            content((ContactsSummary = "application/json"), (String = "text/vcard"), (String = "application/zip"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn vcard_process(
    ctx: Ctx,
    ApiQuery(q): ApiQuery<VcardQuery>,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    contacts::require(&ctx)?;
    let mode = Mode::parse(q.mode.as_deref())
        .ok_or_else(|| AppError::field("mode", "unknown_value", "expected summary, merged or batches"))?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge
        } else {
            AppError::BadRequest(e.body_text())
        }
    })?;
    let (list, summary) = contacts::read(body.to_vec()).await?;
    if let Some(resp) = contacts::file_response(mode, &list)? {
        return Ok(resp);
    }
    let s = ContactsSummary {
        parsed: summary.parsed,
        duplicates: summary.duplicates,
        unique: summary.unique,
        batches: summary.batches,
    };
    Ok(Json(s).into_response())
}
