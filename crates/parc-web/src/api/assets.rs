//! /api/v1/assets, /api/v1/search and /api/v1/me.

use super::{ApiJson, ApiPath};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::pages::assets::visible_asset;
use crate::query::parse_asset_query;
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use parc_core::assets::AssetInput;
use parc_core::audit::{FieldChange, ObjectType};
use parc_core::permissions::{Action, Grant, Object};
use parc_core::AssetId;
use parc_store::assets::{self, Asset, AssetLink};
use parc_store::audit::{self, AuditEvent};
use parc_store::users::User;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(list, create, get_one, update, remove, reveal_puk, history, links, add_link, remove_link, search, me),
    components(schemas(
        Asset,
        AssetInput,
        AssetList,
        AssetLink,
        LinkInput,
        PukReveal,
        AuditEvent,
        FieldChange,
        SearchResult,
        Me,
        User,
        Grant
    ))
)]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets", get(list).post(create))
        .route("/assets/{id}", get(get_one).patch(update).delete(remove))
        .route("/assets/{id}/reveal-puk", post(reveal_puk))
        .route("/assets/{id}/history", get(history))
        .route("/assets/{id}/links", get(links).post(add_link))
        .route("/assets/{id}/links/{link_id}", delete(remove_link))
        .route("/search", get(search))
        .route("/me", get(me))
}

/// A page of assets.
#[derive(Serialize, ToSchema)]
pub struct AssetList {
    pub items: Vec<Asset>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// Documented list parameters; any other asset field also filters: `<field>=value` (equals)
/// or `<field>__<op>=value` with op among eq, ne, contains, starts_with, lt, gt, empty, not_empty.
#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[allow(dead_code)]
pub struct ListParams {
    /// Free text over tag, serial, name, IP, MAC, IMEI, model and user.
    q: Option<String>,
    /// computer, server, monitor, printer, network_equipment, desk_phone, mobile_phone, tablet,
    /// sim_card, phone_line, projector, peripheral.
    kind: Option<String>,
    /// in_stock, in_use, loaned, in_repair, retired, returned, wiped.
    status: Option<String>,
    entity_id: Option<i64>,
    location_id: Option<i64>,
    assigned_user_id: Option<i64>,
    /// id, name, asset_tag, serial, kind, status, updated_at, created_at, warranty_end, purchase_date, ip.
    sort: Option<String>,
    desc: Option<bool>,
    #[param(minimum = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 500)]
    per_page: Option<u32>,
}

#[utoipa::path(get, path = "/assets", tag = "assets", params(ListParams),
    responses((status = 200, body = AssetList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn list(ctx: Ctx, RawQuery(raw): RawQuery) -> AppResult<Json<AssetList>> {
    let q = parse_asset_query(raw.as_deref())?;
    let mut c = ctx.state.store.read().await?;
    let scope = ctx.scope(Object::Asset, Action::Read);
    let p = assets::list(&mut c, ctx.state.store.backend(), &scope, ctx.user.id, &q).await?;
    Ok(Json(AssetList { items: p.items, total: p.total, page: p.page, per_page: p.per_page }))
}

#[utoipa::path(post, path = "/assets", tag = "assets", request_body = AssetInput,
    responses((status = 201, body = Asset), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn create(State(state): State<AppState>, ctx: Ctx, ApiJson(input): ApiJson<AssetInput>) -> AppResult<Response> {
    let draft = input.validate(None)?;
    if !ctx.can(Object::Asset, Action::Create, draft.entity_id) {
        return Err(AppError::field("entity_id", "forbidden_grant", "you cannot create assets in this entity"));
    }
    if matches!(draft.puk, Some(Some(_))) && !ctx.can(Object::Asset, Action::RevealSecret, draft.entity_id) {
        return Err(AppError::field("puk", "forbidden_grant", "your profile cannot set secrets"));
    }
    let mut tx = state.store.write().await?;
    let id = assets::create(&mut tx, &ctx.actor(), state.store.cipher(), &draft).await?;
    let a = assets::get(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(a)).into_response())
}

#[utoipa::path(get, path = "/assets/{id}", tag = "assets", params(("id" = i64, Path)),
    responses((status = 200, body = Asset), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn get_one(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Asset>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(visible_asset(&ctx, &mut c, AssetId(id), Action::Read).await?))
}

#[utoipa::path(patch, path = "/assets/{id}", tag = "assets", params(("id" = i64, Path)), request_body = AssetInput,
    responses((status = 200, body = Asset), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn update(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<AssetInput>,
) -> AppResult<Json<Asset>> {
    let mut tx = state.store.write().await?;
    let old = visible_asset(&ctx, &mut tx, AssetId(id), Action::Update).await?;
    let draft = input.validate(Some(&old.to_draft()))?;
    if draft.entity_id != old.entity_id && !ctx.can(Object::Asset, Action::Create, draft.entity_id) {
        return Err(AppError::field("entity_id", "forbidden_grant", "you cannot move assets to this entity"));
    }
    if draft.puk.is_some() && !ctx.can(Object::Asset, Action::RevealSecret, old.entity_id) {
        return Err(AppError::field("puk", "forbidden_grant", "your profile cannot change secrets"));
    }
    assets::update(&mut tx, &ctx.actor(), state.store.cipher(), &old, &draft).await?;
    let a = assets::get(&mut tx, old.id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(Json(a))
}

#[utoipa::path(delete, path = "/assets/{id}", tag = "assets", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove(State(state): State<AppState>, ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    let mut tx = state.store.write().await?;
    let a = visible_asset(&ctx, &mut tx, AssetId(id), Action::Delete).await?;
    assets::delete(&mut tx, &ctx.actor(), &a).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// A revealed PUK code (each reveal is audited).
#[derive(Serialize, ToSchema)]
pub struct PukReveal {
    pub puk: Option<String>,
}

#[utoipa::path(post, path = "/assets/{id}/reveal-puk", tag = "assets", params(("id" = i64, Path)),
    responses((status = 200, body = PukReveal), (status = 400, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn reveal_puk(State(state): State<AppState>, ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let a = visible_asset(&ctx, &mut tx, AssetId(id), Action::RevealSecret).await?;
    let puk = assets::reveal_puk(&mut tx, &ctx.actor(), state.store.cipher(), &a).await?;
    tx.commit().await?;
    let mut r = Json(PukReveal { puk }).into_response();
    r.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(r)
}

#[utoipa::path(get, path = "/assets/{id}/history", tag = "assets", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AuditEvent>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn history(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Vec<AuditEvent>>> {
    let mut c = ctx.state.store.read().await?;
    let a = visible_asset(&ctx, &mut c, AssetId(id), Action::Read).await?;
    Ok(Json(audit::for_object(&mut c, ObjectType::Asset, a.id.0, 1000).await?))
}

#[utoipa::path(get, path = "/assets/{id}/links", tag = "assets", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AssetLink>), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn links(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Vec<AssetLink>>> {
    let mut c = ctx.state.store.read().await?;
    let a = visible_asset(&ctx, &mut c, AssetId(id), Action::Read).await?;
    Ok(Json(crate::pages::assets::visible_links(&ctx, &mut c, &a).await?))
}

/// The asset to link to. The link kind follows from the kinds: a monitor goes on a computer or
/// server, a SIM card in a mobile phone or tablet, a phone line on a SIM card or desk phone.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkInput {
    pub to_asset_id: i64,
}

#[utoipa::path(post, path = "/assets/{id}/links", tag = "assets", params(("id" = i64, Path)), request_body = LinkInput,
    responses((status = 201, body = AssetLink), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn add_link(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<LinkInput>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let from = visible_asset(&ctx, &mut tx, AssetId(id), Action::Update).await?;
    let to = visible_asset(&ctx, &mut tx, AssetId(input.to_asset_id), Action::Update)
        .await
        .map_err(|_| AppError::field("to_asset_id", "not_found_ref", "no such asset"))?;
    let l = assets::link(&mut tx, &ctx.actor(), &from, &to).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(l)).into_response())
}

#[utoipa::path(delete, path = "/assets/{id}/links/{link_id}", tag = "assets", params(("id" = i64, Path), ("link_id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn remove_link(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath((id, link_id)): ApiPath<(i64, i64)>,
) -> AppResult<StatusCode> {
    let mut tx = state.store.write().await?;
    let a = visible_asset(&ctx, &mut tx, AssetId(id), Action::Update).await?;
    let l = assets::links_of(&mut tx, a.id).await?.into_iter().find(|l| l.id == link_id).ok_or(AppError::NotFound)?;
    let other = if l.from_asset_id == a.id { l.to_asset_id } else { l.from_asset_id };
    visible_asset(&ctx, &mut tx, other, Action::Update).await?;
    assets::unlink(&mut tx, &ctx.actor(), &l).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SearchParams {
    /// Asset tag, serial, name, IP, MAC, IMEI or user.
    q: Option<String>,
    #[param(minimum = 1, maximum = 100)]
    limit: Option<i64>,
}

#[derive(Serialize, ToSchema)]
pub struct SearchResult {
    pub items: Vec<Asset>,
}

#[utoipa::path(get, path = "/search", tag = "assets", params(SearchParams),
    responses((status = 200, body = SearchResult), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn search(ctx: Ctx, super::ApiQuery(p): super::ApiQuery<SearchParams>) -> AppResult<Json<SearchResult>> {
    let q: String = p.q.unwrap_or_default().chars().take(200).collect();
    let limit = p.limit.unwrap_or(20).clamp(1, 100);
    let mut c = ctx.state.store.read().await?;
    let scope = ctx.scope(Object::Asset, Action::Read);
    let items = assets::search(&mut c, ctx.state.store.backend(), &scope, ctx.user.id, &q, limit).await?;
    Ok(Json(SearchResult { items }))
}

/// The caller and their profiles.
#[derive(Serialize, ToSchema)]
pub struct Me {
    pub user: User,
    pub grants: Vec<Grant>,
}

#[utoipa::path(get, path = "/me", tag = "users", responses((status = 200, body = Me), (status = 401, body = ErrorBody)))]
async fn me(ctx: Ctx) -> Json<Me> {
    Json(Me { user: ctx.user.clone(), grants: ctx.grants.0.clone() })
}
