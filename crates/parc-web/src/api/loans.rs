//! /api/v1/loans: the pool of loanable assets, reservations with conflict prevention,
//! check-out (one or many assets, one signature), check-in (one, or many by scanned codes),
//! open and overdue loans, and the "who has what" export. The rules are `crate::loans`'.

use super::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::loans::{self as web, BulkCheckin, CheckoutRequest, ReserveInput};
use crate::pages::assets::visible_asset;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::{Json, Router};
use chrono::{Duration, Utc};
use parc_core::permissions::Action;
use parc_core::AssetId;
use parc_store::documents::Document;
use parc_store::loans::{self, Item, Loan, Reservation};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(
        items_list,
        item_add,
        item_remove,
        item_reservations,
        reservations_list,
        reservation_create,
        reservation_delete,
        checkout,
        checkin_one,
        checkin_bulk,
        open_list,
        export
    ),
    components(schemas(
        Item,
        Reservation,
        Loan,
        ReservationBody,
        CheckoutBody,
        CheckedOut,
        CheckinBody,
        BulkCheckinBody,
        BulkCheckin,
        Document
    ))
)]
pub struct Doc;

pub fn routes() -> Router<crate::AppState> {
    Router::new()
        .route("/loans", get(open_list))
        .route("/loans/export", get(export))
        .route("/loans/items", get(items_list))
        .route("/loans/items/{asset_id}", put(item_add).delete(item_remove))
        .route("/loans/items/{asset_id}/reservations", get(item_reservations))
        .route("/loans/reservations", get(reservations_list).post(reservation_create))
        .route("/loans/reservations/{id}", delete(reservation_delete))
        .route("/loans/checkout", post(checkout))
        .route("/loans/checkin", post(checkin_bulk))
        .route("/loans/{id}/checkin", post(checkin_one))
}

/// The loanable assets of the caller's entities, with their open loan.
#[utoipa::path(get, path = "/loans/items", tag = "loans",
    responses((status = 200, body = [Item]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn items_list(ctx: Ctx) -> AppResult<Json<Vec<Item>>> {
    web::require_reader(&ctx)?;
    let mut c = ctx.state.store.read().await?;
    Ok(Json(loans::items(&mut c, &web::readable(&ctx)).await?))
}

/// Makes an asset loanable (idempotent).
#[utoipa::path(put, path = "/loans/items/{asset_id}", tag = "loans", params(("asset_id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn item_add(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    let mut tx = ctx.state.store.write().await?;
    let a = visible_asset(&ctx, &mut tx, AssetId(id), Action::Update).await?;
    loans::set_loanable(&mut tx, &ctx.actor(), &a, true).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Takes an asset out of the loans (refused while it is lent or reserved for the future).
#[utoipa::path(delete, path = "/loans/items/{asset_id}", tag = "loans", params(("asset_id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn item_remove(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    let mut tx = ctx.state.store.write().await?;
    let a = visible_asset(&ctx, &mut tx, AssetId(id), Action::Update).await?;
    if !loans::set_loanable(&mut tx, &ctx.actor(), &a, false).await? {
        return Err(AppError::NotFound);
    }
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct PeriodQuery {
    /// Start: a date (midnight, Europe/Paris) or an RFC 3339 instant; now by default.
    pub from: Option<String>,
    /// End (excluded); `from` + 366 days by default, at most 366 days after `from`.
    pub to: Option<String>,
}

/// The reservations of one asset over a period (its calendar), by start.
#[utoipa::path(get, path = "/loans/items/{asset_id}/reservations", tag = "loans",
    params(("asset_id" = i64, Path), PeriodQuery),
    responses((status = 200, body = [Reservation]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn item_reservations(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiQuery(q): ApiQuery<PeriodQuery>,
) -> AppResult<Json<Vec<Reservation>>> {
    let from = match q.from.as_deref().filter(|v| !v.trim().is_empty()) {
        Some(v) => web::parse_instant("from", v)?,
        None => Utc::now(),
    };
    let to = match q.to.as_deref().filter(|v| !v.trim().is_empty()) {
        Some(v) => web::parse_instant("to", v)?,
        None => from + Duration::days(366),
    };
    if to <= from || to - from > Duration::days(366) {
        return Err(AppError::field("to", "range_days", "the period is 1 to 366 days long"));
    }
    let mut c = ctx.state.store.read().await?;
    let a = visible_asset(&ctx, &mut c, AssetId(id), Action::Read).await?;
    Ok(Json(loans::reservations_of(&mut c, a.id, from, to).await?))
}

/// The reservations not over yet of the caller's entities, by start.
#[utoipa::path(get, path = "/loans/reservations", tag = "loans",
    responses((status = 200, body = [Reservation]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn reservations_list(ctx: Ctx) -> AppResult<Json<Vec<Reservation>>> {
    web::require_reader(&ctx)?;
    let mut c = ctx.state.store.read().await?;
    Ok(Json(loans::upcoming_reservations(&mut c, &web::readable(&ctx), Utc::now()).await?))
}

/// A new reservation.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReservationBody {
    pub asset_id: i64,
    pub borrower_user_id: i64,
    /// RFC 3339, or `YYYY-MM-DDTHH:MM` in Paris time.
    pub starts_at: String,
    /// Excluded: a reservation ending at 10:00 and one starting at 10:00 do not overlap.
    pub ends_at: String,
    pub note: Option<String>,
}

/// Reserves a loanable asset. Refused (409, nothing written) when it overlaps another
/// reservation or a loan of the asset; the message says which.
#[utoipa::path(post, path = "/loans/reservations", tag = "loans", request_body = ReservationBody,
    responses((status = 201, body = Reservation), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn reservation_create(ctx: Ctx, ApiJson(b): ApiJson<ReservationBody>) -> AppResult<Response> {
    let mut tx = ctx.state.store.write().await?;
    let input = ReserveInput {
        asset: AssetId(b.asset_id),
        borrower: Some(b.borrower_user_id),
        starts_at: &b.starts_at,
        ends_at: &b.ends_at,
        note: b.note.as_deref(),
    };
    let r = web::reserve(&ctx, &mut tx, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(r)).into_response())
}

/// Cancels a reservation.
#[utoipa::path(delete, path = "/loans/reservations/{id}", tag = "loans", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn reservation_delete(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    let mut tx = ctx.state.store.write().await?;
    let r = web::visible_reservation(&ctx, &mut tx, id, true).await?;
    loans::cancel_reservation(&mut tx, &ctx.actor(), &r).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A check-out of one or several assets to one borrower.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CheckoutBody {
    /// Assets by id.
    #[serde(default)]
    pub asset_ids: Vec<i64>,
    /// And/or assets by tag or serial number.
    #[serde(default)]
    pub codes: Vec<String>,
    pub borrower_user_id: i64,
    /// Expected return: RFC 3339, or `YYYY-MM-DDTHH:MM` in Paris time.
    pub due_at: String,
    pub note: Option<String>,
    /// The borrower's signature: a PNG in base64 (a `data:image/png;base64,` URL is accepted),
    /// at most 2 MiB and 2000 × 2000 pixels.
    pub signature_png: String,
}

/// What a check-out recorded.
#[derive(Serialize, ToSchema)]
pub struct CheckedOut {
    pub loans: Vec<Loan>,
    /// The signed loan sheet (one for all the assets).
    pub document: Document,
}

/// Checks out assets to a borrower with their signature: one signed sheet stored (SHA-256 in
/// each asset's trail), the assets `loaned` to the borrower, ONE e-mail with the sheet. All or
/// nothing: 409 when an asset is not free (the message says why), 422 for bad input.
#[utoipa::path(post, path = "/loans/checkout", tag = "loans", request_body = CheckoutBody,
    responses((status = 201, body = CheckedOut), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn checkout(ctx: Ctx, ApiJson(b): ApiJson<CheckoutBody>) -> AppResult<Response> {
    if b.asset_ids.len() + b.codes.len() > parc_core::loans::MAX_BULK {
        return Err(AppError::field("codes", "too_many", "at most 500 assets at once"));
    }
    let codes = b.codes.join("\n");
    let request = CheckoutRequest {
        asset_ids: b.asset_ids,
        codes: &codes,
        borrower: Some(b.borrower_user_id),
        due_at: &b.due_at,
        note: b.note.as_deref(),
        signature: &b.signature_png,
        signature_field: "signature_png",
    };
    let mut tx = ctx.state.store.write().await?;
    let (loans, document) = web::checkout(&ctx, &mut tx, &request).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(CheckedOut { loans, document })).into_response())
}

/// A check-in's condition notes.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct CheckinBody {
    /// The asset's condition on return (scratches, missing charger…).
    pub condition_notes: Option<String>,
}

/// Checks an open loan back in: the asset goes back in stock. 409 if already returned.
#[utoipa::path(post, path = "/loans/{id}/checkin", tag = "loans", params(("id" = i64, Path)), request_body = CheckinBody,
    responses((status = 200, body = Loan), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn checkin_one(ctx: Ctx, ApiPath(id): ApiPath<i64>, ApiJson(b): ApiJson<CheckinBody>) -> AppResult<Json<Loan>> {
    let mut tx = ctx.state.store.write().await?;
    let l = web::checkin(&ctx, &mut tx, id, b.condition_notes.as_deref()).await?;
    tx.commit().await?;
    Ok(Json(l))
}

/// A bulk check-in.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BulkCheckinBody {
    /// Tags or serial numbers of the returned assets.
    pub codes: Vec<String>,
    pub condition_notes: Option<String>,
}

/// Checks in many assets at once by tag or serial number (a class set of Chromebooks): codes
/// that match nothing or no open loan are listed in the answer, the others are checked in.
#[utoipa::path(post, path = "/loans/checkin", tag = "loans", request_body = BulkCheckinBody,
    responses((status = 200, body = BulkCheckin), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn checkin_bulk(ctx: Ctx, ApiJson(b): ApiJson<BulkCheckinBody>) -> AppResult<Json<BulkCheckin>> {
    web::require_reader(&ctx)?;
    if b.codes.len() > parc_core::loans::MAX_BULK {
        return Err(AppError::field("codes", "too_many", "at most 500 assets at once"));
    }
    let mut tx = ctx.state.store.write().await?;
    let out = web::bulk_checkin(&ctx, &mut tx, &b.codes.join("\n"), b.condition_notes.as_deref()).await?;
    tx.commit().await?;
    Ok(Json(out))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OpenQuery {
    /// Only the overdue loans.
    pub overdue: Option<bool>,
}

/// "Who has what": the open loans of the caller's entities, by due time, overdue flagged.
#[utoipa::path(get, path = "/loans", tag = "loans", params(OpenQuery),
    responses((status = 200, body = [Loan]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn open_list(ctx: Ctx, ApiQuery(q): ApiQuery<OpenQuery>) -> AppResult<Json<Vec<Loan>>> {
    web::require_reader(&ctx)?;
    let mut c = ctx.state.store.read().await?;
    Ok(Json(loans::open_loans(&mut c, &web::readable(&ctx), q.overdue.unwrap_or(false), Utc::now()).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ExportQuery {
    /// `csv` (default) or `xlsx`.
    pub format: Option<String>,
    pub overdue: Option<bool>,
}

/// "Who has what" as a CSV or XLSX file, in the caller's language.
#[utoipa::path(get, path = "/loans/export", tag = "loans", params(ExportQuery),
    responses((status = 200, description = "The file", content(("text/csv"),
        ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn export(ctx: Ctx, ApiQuery(q): ApiQuery<ExportQuery>) -> AppResult<Response> {
    export_file(&ctx, q.format.as_deref().unwrap_or("csv"), q.overdue.unwrap_or(false)).await
}

/// The export file (shared with the page).
pub async fn export_file(ctx: &Ctx, format: &str, overdue: bool) -> AppResult<Response> {
    web::require_reader(ctx)?;
    let xlsx = match format {
        "csv" => false,
        "xlsx" => true,
        _ => return Err(AppError::field("format", "unknown_value", "csv or xlsx")),
    };
    let mut c = ctx.state.store.read().await?;
    let list = loans::open_loans(&mut c, &web::readable(ctx), overdue, Utc::now()).await?;
    drop(c);
    let (headers, rows) = web::table(&ctx.state.i18n, ctx.lang, &list);
    let (bytes, ctype, ext) = if xlsx {
        let b = parc_docs::table::write_xlsx("Prêts", &headers, &rows)
            .map_err(|e| AppError::Internal(format!("loans export: {e}")))?;
        (b, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx")
    } else {
        (parc_docs::table::write_csv(&headers, &rows), "text/csv; charset=utf-8", "csv")
    };
    let disposition = format!("attachment; filename=\"prets-{}.{ext}\"", Utc::now().format("%Y%m%d"));
    Ok(([(header::CONTENT_TYPE, ctype.to_owned()), (header::CONTENT_DISPOSITION, disposition)], bytes).into_response())
}
