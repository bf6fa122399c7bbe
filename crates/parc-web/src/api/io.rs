//! /api/v1/assets/export, /api/v1/assets/import and /api/v1/labels.pdf: the same work as the
//! pages of `crate::pages::io`, for scripts.

use super::ApiQuery;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::pages::io::{self as io, Format, ImportError, Selection, MAX_ERRORS};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::RawQuery;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(paths(export, import, labels), components(schemas(ImportReport, ImportError)))]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/export", get(export))
        .route("/assets/import", post(import))
        .route("/labels.pdf", get(labels))
}

/// Which assets: the filters of `GET /assets` (any `<field>=value` or `<field>__<op>=value`
/// also filters), or `id` repeated for given assets, the other filters being then ignored.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct SelectionParams {
    /// These assets only (repeatable: `id=1&id=2`).
    id: Option<Vec<i64>>,
    /// Free text over tag, serial, name, IP, MAC, IMEI, model and user.
    q: Option<String>,
    kind: Option<String>,
    status: Option<String>,
    entity_id: Option<i64>,
    /// id, name, asset_tag, serial, kind, status, updated_at, created_at, warranty_end, purchase_date, ip.
    sort: Option<String>,
    desc: Option<bool>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ExportParams {
    /// `csv` (default: UTF-8 with BOM, comma-separated) or `xlsx`.
    format: Option<String>,
}

/// Every selected asset in the caller's scope (at most 200 000), one column per field headed by
/// its stable name: id, kind, name, asset_tag, serial, manufacturer, model, status, entity,
/// location, assigned_user, purchase_date, warranty_end, supplier, comment, imei, iccid,
/// line_number, line_type, ip, mac. The file can be sent back to `POST /assets/import`.
#[utoipa::path(get, path = "/assets/export", tag = "import-export", params(ExportParams, SelectionParams),
    responses(
        (status = 200, description = "The file, as an attachment", content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn export(ctx: Ctx, RawQuery(raw): RawQuery) -> AppResult<Response> {
    let sel = Selection::parse(raw.as_deref())?;
    let format = Format::parse(sel.get("format"))?;
    io::export(&ctx, &sel, format).await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// The entity of rows without an `entity` value (name or id); you must be allowed to create
    /// assets there.
    entity_id: Option<i64>,
    /// Check only, write nothing (default false).
    dry_run: Option<bool>,
}

/// What an import found and did.
#[derive(Serialize, ToSchema)]
pub struct ImportReport {
    /// Assets created: 0 for a dry run or when there are errors.
    pub created: usize,
    /// Data rows in the file.
    pub rows: usize,
    /// Rows that passed every check.
    pub valid: usize,
    pub dry_run: bool,
    /// The problems found (the first 1000); nothing is written when there is any.
    pub errors: Vec<ImportError>,
    /// How many problems there are in all.
    pub error_count: usize,
}

/// Creates one asset per row of a CSV or XLSX file sent as the request body. Columns are found
/// by their stable names (as exported) or their French or English labels. Every row is checked
/// first (rules, unique asset tags in the file and the entity, locations and users resolved in
/// the row's entity, the right to create there); then all are created in one transaction, or
/// none. Answers 201 when created, 200 for a dry run without errors, 422 with the errors (and
/// nothing written), 400 for a file that cannot be read.
#[utoipa::path(post, path = "/assets/import", tag = "import-export", params(ImportParams),
    request_body(description = "The file itself", content(("text/csv"), ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
    responses(
        (status = 200, body = ImportReport, description = "Dry run: every row is valid"),
        (status = 201, body = ImportReport, description = "Every row was created"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody),
        (status = 422, body = ImportReport, description = "Some rows are invalid; nothing was written")))]
async fn import(
    ctx: Ctx,
    ApiQuery(p): ApiQuery<ImportParams>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> AppResult<Response> {
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            AppError::TooLarge
        } else {
            AppError::BadRequest(e.body_text())
        }
    })?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if ["multipart/", "application/x-www-form-urlencoded", "application/json"]
        .iter()
        .any(|t| content_type.starts_with(t))
    {
        return Err(AppError::BadRequest(
            "send the file itself as the request body, with Content-Type text/csv or the xlsx type".into(),
        ));
    }
    let default = io::default_entity(&ctx, p.entity_id)?;
    if body.is_empty() {
        return Err(AppError::BadRequest("the request body is empty: send the CSV or XLSX file".into()));
    }
    let table = io::read_table(body).await??;
    let dry_run = p.dry_run.unwrap_or(false);
    let mut out = io::run_import(&ctx, &table, default, !dry_run).await?;
    let status = if !out.errors.is_empty() {
        StatusCode::UNPROCESSABLE_ENTITY
    } else if dry_run {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let error_count = out.errors.len();
    out.errors.truncate(MAX_ERRORS);
    let report = ImportReport {
        created: out.created,
        rows: out.rows,
        valid: out.valid.len(),
        dry_run,
        errors: out.errors,
        error_count,
    };
    Ok((status, Json(report)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct LabelParams {
    /// The sheet: `3x8` (default, 70 × 37 mm) or `2x7` (99.1 × 38.1 mm).
    layout: Option<String>,
    /// Positions already used on the first sheet (default 0).
    skip: Option<usize>,
}

/// A PDF of A4 label sheets for the selected assets (at most 5000): asset tag (or `#id`), name,
/// organisation, hotline number and a QR code of the asset's public `/r/<token>` URL.
#[utoipa::path(get, path = "/labels.pdf", tag = "import-export", params(LabelParams, SelectionParams),
    responses(
        (status = 200, description = "The PDF", content(("application/pdf"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn labels(ctx: Ctx, headers: HeaderMap, RawQuery(raw): RawQuery) -> AppResult<Response> {
    io::labels_pdf(&ctx, &headers, raw.as_deref()).await
}
