//! /api/v1/planning (a technician's appointments over a period, the caller's private calendar
//! feed), intervention sheets and signatures (/api/v1/tickets/{id}/tasks/{task_id}/sheet.pdf and
//! /signature) and stored documents (/api/v1/documents/{id}). The rules are the pages': see
//! `pages::planning` and `crate::intervention`.

use super::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::error::{AppResult, ErrorBody};
use crate::helpdesk::{require_handler, visible_ticket};
use crate::intervention;
use crate::pages::base_url;
use crate::pages::planning::{feed_url, item, period, planning_owner, require_planner, PlanningItem};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use parc_core::permissions::{Action, Object};
use parc_core::{TaskId, TicketId, UserId};
use parc_store::helpdesk::{self, Document, SignatureInput};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(planning_get, feed_create, feed_revoke, sheet_pdf, signature_add, document_get),
    components(schemas(Planning, PlanningItem, FeedCreated, SignatureBody, Document))
)]
pub struct Doc;

pub fn routes() -> Router<crate::AppState> {
    Router::new()
        .route("/planning", get(planning_get))
        .route("/planning/feed", post(feed_create).delete(feed_revoke))
        .route("/tickets/{id}/tasks/{task_id}/sheet.pdf", get(sheet_pdf))
        .route("/tickets/{id}/tasks/{task_id}/signature", post(signature_add))
        .route("/documents/{id}", get(document_get))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PlanningQuery {
    /// The technician (the caller by default).
    pub user: Option<i64>,
    /// Start: a date (midnight, Europe/Paris) or an RFC 3339 instant; this week's Monday by default.
    pub from: Option<String>,
    /// End (excluded), at most 366 days after `from`; `from` + 7 days by default.
    pub to: Option<String>,
}

/// A technician's appointments over a period, by start.
#[derive(Serialize, ToSchema)]
pub struct Planning {
    pub user_id: UserId,
    pub user_name: String,
    /// UTC RFC 3339.
    pub from: String,
    pub to: String,
    pub items: Vec<PlanningItem>,
}

/// The appointments of a technician (the caller, or a colleague who handles tickets in an entity
/// the caller handles). Appointments on tickets outside the caller's scope only show as busy.
#[utoipa::path(get, path = "/planning", tag = "planning", params(PlanningQuery),
    responses((status = 200, body = Planning), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn planning_get(ctx: Ctx, ApiQuery(q): ApiQuery<PlanningQuery>) -> AppResult<Json<Planning>> {
    require_planner(&ctx)?;
    let (from, to) = period(q.from.as_deref(), q.to.as_deref())?;
    let mut c = ctx.state.store.read().await?;
    let owner = planning_owner(&ctx, &mut c, q.user).await?;
    let list = helpdesk::appointments(&mut c, owner.id, from, to).await?;
    let scope = ctx.scope(Object::Ticket, Action::Read);
    Ok(Json(Planning {
        user_id: owner.id,
        user_name: owner.display_name,
        from: parc_store::fmt_time(from),
        to: parc_store::fmt_time(to),
        items: list.iter().map(|a| item(&scope, a)).collect(),
    }))
}

/// The caller's private calendar feed, just created.
#[derive(Serialize, ToSchema)]
pub struct FeedCreated {
    /// `{public_url}/ical/{token}.ics`: shown this once; only its hash is kept.
    pub url: String,
}

/// Creates the caller's private iCal feed, or regenerates it (the old URL stops working).
#[utoipa::path(post, path = "/planning/feed", tag = "planning",
    responses((status = 201, body = FeedCreated), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn feed_create(ctx: Ctx, headers: HeaderMap) -> AppResult<Response> {
    require_planner(&ctx)?;
    let mut tx = ctx.state.store.write().await?;
    let token = helpdesk::create_feed(&mut tx, &ctx.actor(), ctx.user.id).await?;
    tx.commit().await?;
    let url = feed_url(&base_url(&ctx.state.settings().await.public_url, &headers), &token);
    Ok((StatusCode::CREATED, [(axum::http::header::CACHE_CONTROL, "no-store")], Json(FeedCreated { url }))
        .into_response())
}

/// Deletes the caller's feed: its URL stops working.
#[utoipa::path(delete, path = "/planning/feed", tag = "planning",
    responses((status = 204), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn feed_revoke(ctx: Ctx) -> AppResult<StatusCode> {
    require_planner(&ctx)?;
    let mut tx = ctx.state.store.write().await?;
    if !helpdesk::revoke_feed(&mut tx, &ctx.actor(), ctx.user.id).await? {
        return Err(crate::AppError::NotFound);
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SheetQuery {
    /// The blank sheet to print and sign on paper (no time spent, report nor signature).
    pub blank: Option<bool>,
}

/// The intervention sheet of a task as a PDF: the stored signed sheet once signed (unless
/// `blank`), else the sheet as it stands.
#[utoipa::path(get, path = "/tickets/{id}/tasks/{task_id}/sheet.pdf", tag = "planning",
    params(("id" = i64, Path), ("task_id" = i64, Path), SheetQuery),
    responses((status = 200, description = "The PDF", content(("application/pdf"))), (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn sheet_pdf(
    ctx: Ctx,
    ApiPath((id, task)): ApiPath<(i64, i64)>,
    ApiQuery(q): ApiQuery<SheetQuery>,
) -> AppResult<Response> {
    intervention::sheet_pdf(&ctx, TicketId(id), TaskId(task), q.blank.unwrap_or(false)).await
}

/// What signing an intervention sends.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SignatureBody {
    /// The name of the person who signs (the user on site).
    pub signer_name: String,
    /// Time spent, 1 to 100000 minutes.
    pub duration_minutes: i64,
    /// Report of the work done.
    pub report: Option<String>,
    /// The signature: a PNG image in base64 (a `data:image/png;base64,` URL is accepted), at
    /// most 2 MiB and 2000 × 2000 pixels.
    pub signature_png: String,
}

/// Signs an on-site intervention: the signed sheet is stored (immutable) with its SHA-256 in the
/// ticket's audit trail, and the task is done with its time spent, report and signer.
#[utoipa::path(post, path = "/tickets/{id}/tasks/{task_id}/signature", tag = "planning",
    params(("id" = i64, Path), ("task_id" = i64, Path)), request_body = SignatureBody,
    responses((status = 201, body = Document), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn signature_add(
    ctx: Ctx,
    ApiPath((id, task)): ApiPath<(i64, i64)>,
    ApiJson(body): ApiJson<SignatureBody>,
) -> AppResult<Response> {
    let mut tx = ctx.state.store.write().await?;
    let (t, _) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    require_handler(&ctx, &t)?;
    let input =
        SignatureInput { signer_name: body.signer_name, duration_minutes: body.duration_minutes, report: body.report };
    let doc = intervention::sign(&ctx, &mut tx, &t, TaskId(task), &input, &body.signature_png, "signature_png").await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(doc)).into_response())
}

/// A stored document (a signed intervention sheet, or a ticket's attachment with the type
/// sniffed from its bytes), for whoever may read its ticket.
#[utoipa::path(get, path = "/documents/{id}", tag = "planning", params(("id" = i64, Path)),
    responses((status = 200, description = "The document", content(("application/pdf"), ("image/png"), ("image/jpeg"),
        ("image/gif"), ("image/webp"), ("application/zip"), ("text/plain"), ("application/octet-stream"))),
        (status = 400, body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn document_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    intervention::document_response(&ctx, id).await
}
