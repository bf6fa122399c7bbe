//! /api/v1/ticket-categories/{id} and /api/v1/groups/{id}: read, change and delete one entry
//! of the helpdesk catalogue (lists and creation are in `api/helpdesk.rs`). Same rights as the
//! pages (`crate::pages::helpdesk_admin`): out of sight 404, not allowed 403.

use super::{ApiJson, ApiPath};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::pages::helpdesk_admin::{member_errors, visible_category, visible_group};
use crate::AppState;
use axum::http::StatusCode;
use axum::routing::get;
use axum::{Json, Router};
use parc_store::helpdesk::{self, Category, CategoryInput, Group, GroupInput};
use utoipa::OpenApi;

#[derive(OpenApi)]
#[openapi(paths(category_get, category_update, category_delete, group_get, group_update))]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/ticket-categories/{id}", get(category_get).patch(category_update).delete(category_delete))
        .route("/groups/{id}", get(group_get).patch(group_update))
}

#[utoipa::path(get, path = "/ticket-categories/{id}", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = Category), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn category_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Category>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(visible_category(&ctx, &mut c, id, false).await?))
}

/// Renames, moves (`parent_id`, within its entity, never under itself) or comments a category
/// (administrators of its entity). Absent fields are kept; it stays in its entity.
#[utoipa::path(patch, path = "/ticket-categories/{id}", tag = "tickets", params(("id" = i64, Path)), request_body = CategoryInput,
    responses((status = 200, body = Category), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn category_update(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<CategoryInput>,
) -> AppResult<Json<Category>> {
    let mut tx = ctx.state.store.write().await?;
    let x = visible_category(&ctx, &mut tx, id, true).await?;
    if input.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        return Err(AppError::field("name", "required", "is required"));
    }
    let x = helpdesk::update_category(&mut tx, &ctx.actor(), x.id, &input).await?;
    tx.commit().await?;
    Ok(Json(x))
}

/// Deletes an unused category: one that tickets use or that holds other categories is refused
/// (409) and stays.
#[utoipa::path(delete, path = "/ticket-categories/{id}", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn category_delete(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    let mut tx = ctx.state.store.write().await?;
    let x = visible_category(&ctx, &mut tx, id, true).await?;
    helpdesk::delete_category(&mut tx, &ctx.actor(), x.id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/groups/{id}", tag = "tickets", params(("id" = i64, Path)),
    responses((status = 200, body = Group), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn group_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Group>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(visible_group(&ctx, &mut c, id, false).await?))
}

/// Changes a group's name, comment or members (`member_ids` replaces the list; anyone added
/// must be a technician of the group's entity). Absent fields are kept; it stays in its entity.
#[utoipa::path(patch, path = "/groups/{id}", tag = "tickets", params(("id" = i64, Path)), request_body = GroupInput,
    responses((status = 200, body = Group), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn group_update(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<GroupInput>,
) -> AppResult<Json<Group>> {
    let mut tx = ctx.state.store.write().await?;
    let g = visible_group(&ctx, &mut tx, id, true).await?;
    let mut errors = member_errors(&ctx, &mut tx, &g, input.member_ids.as_deref()).await?;
    if input.name.as_deref().is_some_and(|n| n.trim().is_empty()) {
        errors.add("name", "required", "is required");
    }
    if !errors.is_empty() {
        return Err(errors.into());
    }
    let g = helpdesk::update_group(&mut tx, &ctx.actor(), g.id, &input).await?;
    tx.commit().await?;
    Ok(Json(g))
}
