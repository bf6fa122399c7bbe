//! /api/v1/stock: stores, the consumables catalogue, levels with reorder levels, movements,
//! and the XLSX export and import. The rules are the pages' (`crate::pages::stock`): the asset
//! rights (Read to see, Update to record movements and reorder levels, Create/Delete for stores
//! and items), a store outside the caller's entities answers 404.

use super::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::pages::stock::{self as pages, Mapping, RowError, IMPORT_FIELDS};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post, put};
use axum::{Json, Router};
use parc_core::permissions::{Action, Object};
use parc_core::stock::{check_quantity, MovementKind};
use parc_core::{StockItemId, StockStoreId, ValidationErrors};
use parc_store::stock::{
    self, ItemInput, Level, Movement, MovementInput, StockItem, StockStore, StockedAsset, StoreInput,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(
        stores_list,
        store_create,
        store_get,
        store_delete,
        items_list,
        item_create,
        levels_list,
        reorder_put,
        movements_list,
        movement_create,
        export,
        import
    ),
    components(schemas(
        StockStore,
        StoreInput,
        StoreDetail,
        StockItem,
        ItemInput,
        Level,
        ReorderBody,
        Movement,
        MovementKind,
        MovementBody,
        StockedAsset,
        ImportReport,
        RowError
    ))
)]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/stock/stores", get(stores_list).post(store_create))
        .route("/stock/stores/{id}", get(store_get).delete(store_delete))
        .route("/stock/stores/{id}/levels/{item_id}", put(reorder_put))
        .route("/stock/items", get(items_list).post(item_create))
        .route("/stock/levels", get(levels_list))
        .route("/stock/movements", get(movements_list).post(movement_create))
        .route("/stock/export", get(export))
        .route("/stock/import", post(import))
}

/// The stores the caller sees, by name.
#[utoipa::path(get, path = "/stock/stores", tag = "stock",
    responses((status = 200, body = [StockStore]), (status = 401, body = ErrorBody)))]
async fn stores_list(ctx: Ctx) -> AppResult<Json<Vec<StockStore>>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(stock::list_stores(&mut c, &pages::readable(&ctx)).await?))
}

/// Creates a store in an entity where the caller may create assets.
#[utoipa::path(post, path = "/stock/stores", tag = "stock", request_body = StoreInput,
    responses((status = 201, body = StockStore), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn store_create(ctx: Ctx, ApiJson(input): ApiJson<StoreInput>) -> AppResult<Response> {
    let mut tx = ctx.state.store.write().await?;
    let s = pages::create_store(&ctx, &mut tx, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(s)).into_response())
}

/// A store with its levels and the tracked assets in stock at its location.
#[derive(Serialize, ToSchema)]
pub struct StoreDetail {
    pub store: StockStore,
    pub levels: Vec<Level>,
    /// Assets with status `in_stock` at the store's location.
    pub assets: Vec<StockedAsset>,
}

#[utoipa::path(get, path = "/stock/stores/{id}", tag = "stock", params(("id" = i64, Path)),
    responses((status = 200, body = StoreDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn store_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<StoreDetail>> {
    let mut c = ctx.state.store.read().await?;
    let store = pages::visible_store(&ctx, &mut c, StockStoreId(id), Action::Read).await?;
    let entities = pages::readable(&ctx);
    let levels = stock::list_levels(&mut c, &entities, Some(store.id), false).await?;
    let assets = match store.location_id {
        Some(l) => stock::assets_in_stock(&mut c, &entities, l).await?,
        None => Vec::new(),
    };
    Ok(Json(StoreDetail { store, levels, assets }))
}

/// Deletes a store that never had a movement (409 otherwise).
#[utoipa::path(delete, path = "/stock/stores/{id}", tag = "stock", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn store_delete(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    let mut tx = ctx.state.store.write().await?;
    let store = pages::visible_store(&ctx, &mut tx, StockStoreId(id), Action::Delete).await?;
    stock::delete_store(&mut tx, &ctx.actor(), &store).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The catalogue items the caller sees, by name.
#[utoipa::path(get, path = "/stock/items", tag = "stock",
    responses((status = 200, body = [StockItem]), (status = 401, body = ErrorBody)))]
async fn items_list(ctx: Ctx) -> AppResult<Json<Vec<StockItem>>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(stock::list_items(&mut c, &pages::readable(&ctx)).await?))
}

/// Adds an item to an entity's catalogue (usable in the stores of the entity and below).
#[utoipa::path(post, path = "/stock/items", tag = "stock", request_body = ItemInput,
    responses((status = 201, body = StockItem), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn item_create(ctx: Ctx, ApiJson(input): ApiJson<ItemInput>) -> AppResult<Response> {
    let mut tx = ctx.state.store.write().await?;
    let i = pages::create_item(&ctx, &mut tx, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(i)).into_response())
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LevelsQuery {
    /// One store only.
    pub store_id: Option<i64>,
    /// Only the levels below their reorder level.
    pub below: Option<bool>,
}

/// Quantities on hand (each the sum of its movements) with reorder levels.
#[utoipa::path(get, path = "/stock/levels", tag = "stock", params(LevelsQuery),
    responses((status = 200, body = [Level]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn levels_list(ctx: Ctx, ApiQuery(q): ApiQuery<LevelsQuery>) -> AppResult<Json<Vec<Level>>> {
    let mut c = ctx.state.store.read().await?;
    let store = match q.store_id {
        Some(id) => Some(pages::visible_store(&ctx, &mut c, StockStoreId(id), Action::Read).await?.id),
        None => None,
    };
    Ok(Json(stock::list_levels(&mut c, &pages::readable(&ctx), store, q.below.unwrap_or(false)).await?))
}

/// A reorder level to set.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReorderBody {
    /// Below this quantity the store's manager is e-mailed (once per crossing); null clears it.
    pub reorder_level: Option<i64>,
}

/// Sets (or clears) the reorder level of an item in a store. When the quantity is already
/// below it, the manager is e-mailed.
#[utoipa::path(put, path = "/stock/stores/{id}/levels/{item_id}", tag = "stock",
    params(("id" = i64, Path), ("item_id" = i64, Path)), request_body = ReorderBody,
    responses((status = 200, body = Level), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn reorder_put(
    ctx: Ctx,
    ApiPath((id, item)): ApiPath<(i64, i64)>,
    ApiJson(body): ApiJson<ReorderBody>,
) -> AppResult<Json<Level>> {
    let mut tx = ctx.state.store.write().await?;
    pages::set_reorder(&ctx, &mut tx, StockStoreId(id), StockItemId(item), body.reorder_level).await?;
    let level = stock::get_level(&mut tx, StockStoreId(id), StockItemId(item)).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(Json(level))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct MovementsQuery {
    pub store_id: Option<i64>,
    pub item_id: Option<i64>,
    /// At most this many, newest first (default 100, at most 5000).
    pub limit: Option<i64>,
}

/// Movements, newest first.
#[utoipa::path(get, path = "/stock/movements", tag = "stock", params(MovementsQuery),
    responses((status = 200, body = [Movement]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn movements_list(ctx: Ctx, ApiQuery(q): ApiQuery<MovementsQuery>) -> AppResult<Json<Vec<Movement>>> {
    let mut c = ctx.state.store.read().await?;
    let store = match q.store_id {
        Some(id) => Some(pages::visible_store(&ctx, &mut c, StockStoreId(id), Action::Read).await?.id),
        None => None,
    };
    let limit = q.limit.unwrap_or(100);
    let list = stock::list_movements(&mut c, &pages::readable(&ctx), store, q.item_id.map(StockItemId), limit).await?;
    Ok(Json(list))
}

/// What recording a movement sends.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovementBody {
    pub kind: MovementKind,
    pub store_id: i64,
    pub item_id: i64,
    /// Units moved, a whole number of at least 1; for `adjust`, the quantity counted (0 or
    /// more). A fraction or a negative number is refused (422).
    #[schema(value_type = i64)]
    pub quantity: serde_json::Number,
    /// For `transfer`: the receiving store.
    pub to_store_id: Option<i64>,
    /// For `issue`: to whom, for which ticket, to which location.
    pub issued_to_user_id: Option<i64>,
    pub issued_to_ticket_id: Option<i64>,
    pub issued_to_location_id: Option<i64>,
    /// Why: a delivery note, the count, what it is for.
    pub reason: Option<String>,
}

/// Records a movement: receive, issue (never more than on hand, even for concurrent requests),
/// transfer to another store, or adjust to a counted quantity. The quantity on hand is the sum
/// of the movements; going below the reorder level e-mails the store's manager once.
#[utoipa::path(post, path = "/stock/movements", tag = "stock", request_body = MovementBody,
    responses((status = 201, body = [Movement], description = "The movements written (two for a transfer)"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn movement_create(ctx: Ctx, ApiJson(b): ApiJson<MovementBody>) -> AppResult<Response> {
    let Some(quantity) = b.quantity.as_i64() else {
        let code = if b.quantity.as_f64().is_some_and(|f| f < 0.0) { "negative" } else { "not_integer" };
        return Err(AppError::field("quantity", code, "must be a whole number"));
    };
    let mut errors = ValidationErrors::new();
    check_quantity(&mut errors, "quantity", quantity, b.kind != MovementKind::Adjust);
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let input = MovementInput {
        kind: b.kind,
        store_id: b.store_id,
        item_id: b.item_id,
        quantity,
        to_store_id: b.to_store_id,
        issued_to_user_id: b.issued_to_user_id,
        issued_to_ticket_id: b.issued_to_ticket_id,
        issued_to_location_id: b.issued_to_location_id,
        reason: b.reason,
    };
    let mut tx = ctx.state.store.write().await?;
    let recorded = pages::record_movement(&ctx, &mut tx, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(recorded.movements)).into_response())
}

/// The stock levels and movements the caller sees, as an XLSX workbook (sheets "Stock" and
/// "Mouvements").
#[utoipa::path(get, path = "/stock/export", tag = "stock",
    responses((status = 200, description = "The workbook", content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 401, body = ErrorBody)))]
async fn export(ctx: Ctx) -> AppResult<Response> {
    pages::export(&ctx).await
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    /// The store of rows without a store column.
    pub store_id: Option<i64>,
    /// Check only, write nothing.
    pub dry_run: Option<bool>,
    /// The header of the column holding the store's name (default: guessed from the headers).
    pub store: Option<String>,
    /// The header of the item's name column.
    pub item: Option<String>,
    pub reference: Option<String>,
    pub category: Option<String>,
    pub unit: Option<String>,
    /// The header of the quantity column (the quantity counted).
    pub quantity: Option<String>,
    pub reorder_level: Option<String>,
}

/// What an import found and did.
#[derive(Serialize, ToSchema)]
#[schema(as = StockImportReport)]
pub struct ImportReport {
    /// Data rows in the file.
    pub rows: usize,
    /// Rows written: 0 for a dry run or when there are errors.
    pub imported: usize,
    pub dry_run: bool,
    /// Every problem (the first 1000); nothing is written when there is any.
    pub errors: Vec<RowError>,
}

/// Imports a stock file (XLSX or CSV) sent as the body. Columns are mapped by the query's header
/// names (or guessed from them: item/article/désignation, quantity/quantité…); each row sets the
/// counted quantity of an item in a store (an `adjust` movement; unknown items are added to the
/// store's entity's catalogue) and optionally its reorder level. All rows or none: 422 with every
/// row's errors and nothing written.
#[utoipa::path(post, path = "/stock/import", tag = "stock", params(ImportParams),
    request_body(description = "The file itself", content(("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"), ("text/csv"))),
    responses((status = 200, body = ImportReport, description = "Dry run: every row is valid"),
        (status = 201, body = ImportReport, description = "Every row was imported"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ImportReport, description = "Some rows are invalid, or the columns are wrong; nothing was written")))]
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
        return Err(AppError::BadRequest("send the file itself as the request body (XLSX or CSV)".into()));
    }
    if body.is_empty() {
        return Err(AppError::BadRequest("the request body is empty: send the XLSX file".into()));
    }
    if !ctx.can_anywhere(Object::Asset, Action::Update) {
        return Err(AppError::Forbidden("you cannot change any stock".into()));
    }
    let table = pages::read_table(body).await??;
    let given = [
        ("store", &p.store),
        ("item", &p.item),
        ("reference", &p.reference),
        ("category", &p.category),
        ("unit", &p.unit),
        ("quantity", &p.quantity),
        ("reorder_level", &p.reorder_level),
    ];
    let mut mapping: Mapping =
        if given.iter().all(|(_, v)| v.is_none()) { pages::guess_mapping(&table) } else { Mapping::new() };
    let mut errors = ValidationErrors::new();
    for (field, header) in given {
        if let Some(h) = header {
            match table.column(h) {
                Some(i) => {
                    mapping.insert(field.to_owned(), i);
                }
                None => errors.add(field, "unknown_column", format!("the file has no column '{h}'")),
            }
        }
    }
    debug_assert!(IMPORT_FIELDS.len() == given.len());
    let dry_run = p.dry_run.unwrap_or(false);
    let report = |errors: Vec<RowError>, imported: usize| ImportReport {
        rows: table.rows.len(),
        imported,
        dry_run,
        errors: errors.into_iter().take(1000).collect(),
    };
    if !errors.is_empty() {
        let rows = errors
            .fields
            .into_iter()
            .map(|f| RowError { line: 1, field: f.field, code: f.code, message: f.message })
            .collect();
        return Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(report(rows, 0))).into_response());
    }
    let default = p.store_id.map(StockStoreId);
    match pages::run_import(&ctx, &table, &mapping, default, !dry_run).await {
        Ok(out) if !out.errors.is_empty() => {
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(report(out.errors, 0))).into_response())
        }
        Ok(out) => {
            let status = if dry_run { StatusCode::OK } else { StatusCode::CREATED };
            Ok((status, Json(report(Vec::new(), out.written))).into_response())
        }
        Err(AppError::Validation(v)) => {
            let rows = v
                .fields
                .into_iter()
                .map(|f| RowError { line: 1, field: f.field, code: f.code, message: f.message })
                .collect();
            Ok((StatusCode::UNPROCESSABLE_ENTITY, Json(report(rows, 0))).into_response())
        }
        Err(e) => Err(e),
    }
}
