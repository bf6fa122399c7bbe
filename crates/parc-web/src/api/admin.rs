//! /api/v1/entities, /api/v1/locations, /api/v1/users and /api/v1/settings.
//!
//! The rights rules are those of the administration pages (`pages::admin`); every write runs in
//! one transaction, so a refused or failed request changes nothing.

use super::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::error::{AppResult, ErrorBody};
use crate::pages::admin::{
    check_entity_parent, check_grants, check_location_entity, check_logo_url, check_user_input, create_entity,
    delete_entity, hash_new_password, managed_user, require_settings_update, search_text, visible_entity,
    visible_location, visible_user,
};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, put};
use axum::{Json, Router};
use parc_core::audit::ObjectType;
use parc_core::permissions::{Action, Grant, Object};
use parc_core::{EntityId, LocationId, TokenId, UserId};
use parc_store::audit::{self, AuditEvent};
use parc_store::entities::{self, Entity, EntityInput};
use parc_store::locations::{self, Location, LocationInput};
use parc_store::settings::{self, Settings};
use parc_store::users::{self, ApiToken, User, UserInput};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(
        entity_list,
        entity_create,
        entity_get,
        entity_update,
        entity_delete,
        entity_history,
        location_list,
        location_create,
        location_get,
        location_update,
        location_delete,
        location_history,
        user_list,
        user_create,
        user_get,
        user_update,
        grants_get,
        grants_put,
        password_put,
        user_history,
        tokens_get,
        token_delete,
        settings_get,
        settings_put
    ),
    components(schemas(
        Entity,
        EntityInput,
        EntityList,
        Location,
        LocationInput,
        LocationList,
        User,
        UserInput,
        NewUserInput,
        UserList,
        PasswordInput,
        Grant,
        ApiToken,
        Settings,
        AuditEvent
    ))
)]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/entities", get(entity_list).post(entity_create))
        .route("/entities/{id}", get(entity_get).patch(entity_update).delete(entity_delete))
        .route("/entities/{id}/history", get(entity_history))
        .route("/locations", get(location_list).post(location_create))
        .route("/locations/{id}", get(location_get).patch(location_update).delete(location_delete))
        .route("/locations/{id}/history", get(location_history))
        .route("/users", get(user_list).post(user_create))
        .route("/users/{id}", get(user_get).patch(user_update))
        .route("/users/{id}/grants", get(grants_get).put(grants_put))
        .route("/users/{id}/password", put(password_put))
        .route("/users/{id}/history", get(user_history))
        .route("/users/{id}/tokens", get(tokens_get))
        .route("/users/{id}/tokens/{token_id}", delete(token_delete))
        .route("/settings", get(settings_get).put(settings_put))
}

const HISTORY_MAX: i64 = 1000;

// ---- entities ----

/// The entities the caller may see, sorted by name.
#[derive(Serialize, ToSchema)]
pub struct EntityList {
    pub items: Vec<Entity>,
}

#[utoipa::path(get, path = "/entities", tag = "entities",
    responses((status = 200, body = EntityList), (status = 401, body = ErrorBody)))]
async fn entity_list(ctx: Ctx) -> AppResult<Json<EntityList>> {
    let mut c = ctx.state.store.read().await?;
    let items =
        entities::list_all(&mut c).await?.into_iter().filter(|e| ctx.can(Object::Entity, Action::Read, e.id)).collect();
    Ok(Json(EntityList { items }))
}

/// Creates an entity below `parent_id` (where the caller creates entities); a top-level entity
/// (no `parent_id`) is for a super-admin only, whose super-admin profile then covers it too.
#[utoipa::path(post, path = "/entities", tag = "entities", request_body = EntityInput,
    responses((status = 201, body = Entity), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn entity_create(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(input): ApiJson<EntityInput>,
) -> AppResult<Response> {
    check_entity_parent(&ctx, &input, None)?;
    let mut tx = state.store.write().await?;
    let e = create_entity(&ctx, &mut tx, &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(e)).into_response())
}

#[utoipa::path(get, path = "/entities/{id}", tag = "entities", params(("id" = i64, Path)),
    responses((status = 200, body = Entity), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn entity_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Entity>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(visible_entity(&ctx, &mut c, EntityId(id), Action::Read).await?))
}

/// Changes the fields given; `parent_id` 0 moves the entity to the top level (super-admin).
#[utoipa::path(patch, path = "/entities/{id}", tag = "entities", params(("id" = i64, Path)), request_body = EntityInput,
    responses((status = 200, body = Entity), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn entity_update(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<EntityInput>,
) -> AppResult<Json<Entity>> {
    let mut tx = state.store.write().await?;
    let old = visible_entity(&ctx, &mut tx, EntityId(id), Action::Update).await?;
    check_entity_parent(&ctx, &input, Some(&old))?;
    let e = entities::update(&mut tx, &ctx.actor(), old.id, &input).await?;
    tx.commit().await?;
    Ok(Json(e))
}

/// Deletes an empty entity; one holding sub-entities, locations, users, profiles or assets
/// answers 409.
#[utoipa::path(delete, path = "/entities/{id}", tag = "entities", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn entity_delete(State(state): State<AppState>, ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    let mut tx = state.store.write().await?;
    let e = visible_entity(&ctx, &mut tx, EntityId(id), Action::Delete).await?;
    delete_entity(&ctx, &mut tx, e.id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/entities/{id}/history", tag = "entities", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AuditEvent>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn entity_history(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Vec<AuditEvent>>> {
    let mut c = ctx.state.store.read().await?;
    let e = visible_entity(&ctx, &mut c, EntityId(id), Action::Read).await?;
    Ok(Json(audit::for_object(&mut c, ObjectType::Entity, e.id.0, HISTORY_MAX).await?))
}

// ---- locations ----

/// Locations sorted by path ("Site > Building > Room").
#[derive(Serialize, ToSchema)]
pub struct LocationList {
    pub items: Vec<Location>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LocationListParams {
    /// Only the locations of this entity.
    entity_id: Option<i64>,
}

#[utoipa::path(get, path = "/locations", tag = "locations", params(LocationListParams),
    responses((status = 200, body = LocationList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn location_list(ctx: Ctx, ApiQuery(p): ApiQuery<LocationListParams>) -> AppResult<Json<LocationList>> {
    let mut scope = ctx.entity_ids(Object::Location, Action::Read);
    if let Some(e) = p.entity_id {
        scope.retain(|x| *x == e);
    }
    let mut c = ctx.state.store.read().await?;
    Ok(Json(LocationList { items: locations::list(&mut c, &scope).await? }))
}

/// Creates a site (no parent), a building (in a site) or a room (in a building), in an entity
/// where the caller creates locations.
#[utoipa::path(post, path = "/locations", tag = "locations", request_body = LocationInput,
    responses((status = 201, body = Location), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn location_create(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(input): ApiJson<LocationInput>,
) -> AppResult<Response> {
    check_location_entity(&ctx, &input, None)?;
    let mut tx = state.store.write().await?;
    let l = locations::create(&mut tx, &ctx.actor(), &input).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(l)).into_response())
}

#[utoipa::path(get, path = "/locations/{id}", tag = "locations", params(("id" = i64, Path)),
    responses((status = 200, body = Location), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn location_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Location>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(visible_location(&ctx, &mut c, LocationId(id), Action::Read).await?))
}

/// Changes the fields given; `parent_id` 0 removes the parent (for a site).
#[utoipa::path(patch, path = "/locations/{id}", tag = "locations", params(("id" = i64, Path)), request_body = LocationInput,
    responses((status = 200, body = Location), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn location_update(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<LocationInput>,
) -> AppResult<Json<Location>> {
    let mut tx = state.store.write().await?;
    let old = visible_location(&ctx, &mut tx, LocationId(id), Action::Update).await?;
    check_location_entity(&ctx, &input, Some(&old))?;
    let l = locations::update(&mut tx, &ctx.actor(), old.id, &input).await?;
    tx.commit().await?;
    Ok(Json(l))
}

/// Deletes a location that contains no other location (409 otherwise).
#[utoipa::path(delete, path = "/locations/{id}", tag = "locations", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody)))]
async fn location_delete(State(state): State<AppState>, ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    let mut tx = state.store.write().await?;
    let l = visible_location(&ctx, &mut tx, LocationId(id), Action::Delete).await?;
    locations::delete(&mut tx, &ctx.actor(), l.id).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/locations/{id}/history", tag = "locations", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AuditEvent>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn location_history(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Vec<AuditEvent>>> {
    let mut c = ctx.state.store.read().await?;
    let l = visible_location(&ctx, &mut c, LocationId(id), Action::Read).await?;
    Ok(Json(audit::for_object(&mut c, ObjectType::Location, l.id.0, HISTORY_MAX).await?))
}

// ---- users ----

/// Users sorted by display name.
#[derive(Serialize, ToSchema)]
pub struct UserList {
    pub items: Vec<User>,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct UserListParams {
    /// Part of the display name, login or phone number.
    q: Option<String>,
    /// At most this many users (default 50).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
    /// Only the users of this entity.
    entity_id: Option<i64>,
}

#[utoipa::path(get, path = "/users", tag = "users", params(UserListParams),
    responses((status = 200, body = UserList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn user_list(ctx: Ctx, ApiQuery(p): ApiQuery<UserListParams>) -> AppResult<Json<UserList>> {
    let mut scope = ctx.entity_ids(Object::User, Action::Read);
    if let Some(e) = p.entity_id {
        scope.retain(|x| *x == e);
    }
    let q = search_text(p.q.as_deref());
    let limit = p.limit.unwrap_or(50).clamp(1, 500);
    let mut c = ctx.state.store.read().await?;
    Ok(Json(UserList { items: users::list(&mut c, &scope, Some(&q), limit).await? }))
}

/// A new user: the user fields, an optional initial password (at least 10 characters) and
/// optional profiles.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewUserInput {
    pub login: Option<String>,
    pub display_name: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub entity_id: Option<i64>,
    /// "fr", "en", or empty for the browser's choice.
    pub language: Option<String>,
    pub active: Option<bool>,
    pub password: Option<String>,
    pub grants: Option<Vec<Grant>>,
}

impl NewUserInput {
    fn user_input(&self) -> UserInput {
        UserInput {
            login: self.login.clone(),
            display_name: self.display_name.clone(),
            email: self.email.clone(),
            phone: self.phone.clone(),
            entity_id: self.entity_id,
            language: self.language.clone(),
            active: self.active,
        }
    }
}

/// Creates a user in an entity where the caller creates users; each profile given must be one
/// the caller may grant (`forbidden_grant` on `grants[<index>]` otherwise).
#[utoipa::path(post, path = "/users", tag = "users", request_body = NewUserInput,
    responses((status = 201, body = User), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn user_create(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(body): ApiJson<NewUserInput>,
) -> AppResult<Response> {
    let input = body.user_input();
    check_user_input(&ctx, &input, None)?;
    let grants = body.grants.unwrap_or_default();
    check_grants(&ctx, &grants)?;
    let hash = match body.password {
        Some(p) => Some(hash_new_password(p).await?),
        None => None,
    };
    let mut tx = state.store.write().await?;
    let u = users::create(&mut tx, &ctx.actor(), &input, hash.as_deref()).await?;
    if !grants.is_empty() {
        users::set_grants(&mut tx, &ctx.actor(), u.id, &grants).await?;
    }
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(u)).into_response())
}

#[utoipa::path(get, path = "/users/{id}", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn user_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<User>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(visible_user(&ctx, &mut c, UserId(id)).await?))
}

/// Changes the fields given. Deactivating one's own account is refused (422 on `active`);
/// deactivating a user ends their sessions.
#[utoipa::path(patch, path = "/users/{id}", tag = "users", params(("id" = i64, Path)), request_body = UserInput,
    responses((status = 200, body = User), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn user_update(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<UserInput>,
) -> AppResult<Json<User>> {
    let mut tx = state.store.write().await?;
    let (old, _) = managed_user(&ctx, &mut tx, UserId(id)).await?;
    check_user_input(&ctx, &input, Some(&old))?;
    let u = users::update(&mut tx, &ctx.actor(), old.id, &input).await?;
    tx.commit().await?;
    Ok(Json(u))
}

#[utoipa::path(get, path = "/users/{id}/grants", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<Grant>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn grants_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Vec<Grant>>> {
    let mut c = ctx.state.store.read().await?;
    let u = visible_user(&ctx, &mut c, UserId(id)).await?;
    Ok(Json(users::grants(&mut c, u.id).await?.0))
}

/// Replaces the user's profiles. Each must be one the caller may grant: they manage users on
/// that entity and hold at least that profile there (only a super-admin makes super-admins).
#[utoipa::path(put, path = "/users/{id}/grants", tag = "users", params(("id" = i64, Path)), request_body = Vec<Grant>,
    responses((status = 200, body = Vec<Grant>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn grants_put(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(grants): ApiJson<Vec<Grant>>,
) -> AppResult<Json<Vec<Grant>>> {
    let mut tx = state.store.write().await?;
    let (u, _) = managed_user(&ctx, &mut tx, UserId(id)).await?;
    check_grants(&ctx, &grants)?;
    users::set_grants(&mut tx, &ctx.actor(), u.id, &grants).await?;
    let saved = users::grants(&mut tx, u.id).await?.0;
    tx.commit().await?;
    Ok(Json(saved))
}

/// A new password set by an administrator (at least 10 characters).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PasswordInput {
    pub password: String,
}

/// Sets the user's password and ends their sessions (except the caller's own current one).
#[utoipa::path(put, path = "/users/{id}/password", tag = "users", params(("id" = i64, Path)), request_body = PasswordInput,
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn password_put(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<PasswordInput>,
) -> AppResult<StatusCode> {
    let mut c = state.store.read().await?;
    let (u, _) = managed_user(&ctx, &mut c, UserId(id)).await?;
    drop(c);
    let hash = hash_new_password(body.password).await?;
    let mut tx = state.store.write().await?;
    // Checked again inside the transaction: rights may have changed while hashing.
    managed_user(&ctx, &mut tx, u.id).await?;
    let keep = if u.id == ctx.user.id { ctx.session_token.as_deref() } else { None };
    users::set_password(&mut tx, &ctx.actor(), u.id, &hash, keep).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[utoipa::path(get, path = "/users/{id}/history", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<AuditEvent>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn user_history(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Vec<AuditEvent>>> {
    let mut c = ctx.state.store.read().await?;
    let u = visible_user(&ctx, &mut c, UserId(id)).await?;
    Ok(Json(audit::for_object(&mut c, ObjectType::User, u.id.0, HISTORY_MAX).await?))
}

/// The user's API tokens (never their secret), for a caller who manages the user.
#[utoipa::path(get, path = "/users/{id}/tokens", tag = "users", params(("id" = i64, Path)),
    responses((status = 200, body = Vec<ApiToken>), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn tokens_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Vec<ApiToken>>> {
    let mut c = ctx.state.store.read().await?;
    let (u, _) = managed_user(&ctx, &mut c, UserId(id)).await?;
    Ok(Json(users::tokens_of(&mut c, u.id).await?))
}

/// Revokes one of the user's API tokens (404 when unknown or already revoked).
#[utoipa::path(delete, path = "/users/{id}/tokens/{token_id}", tag = "users", params(("id" = i64, Path), ("token_id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn token_delete(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiPath((id, token_id)): ApiPath<(i64, i64)>,
) -> AppResult<StatusCode> {
    let mut tx = state.store.write().await?;
    let (u, _) = managed_user(&ctx, &mut tx, UserId(id)).await?;
    users::revoke_token(&mut tx, &ctx.actor(), u.id, TokenId(token_id)).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

// ---- settings ----

#[utoipa::path(get, path = "/settings", tag = "settings",
    responses((status = 200, body = Settings), (status = 401, body = ErrorBody)))]
async fn settings_get(ctx: Ctx) -> AppResult<Json<Settings>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(settings::get(&mut c).await?))
}

/// Replaces the settings (super-admin only). The logo is a base64 `data:` URL of a PNG, JPEG
/// or SVG image of at most 500 KB, checked on its content; empty for no logo.
#[utoipa::path(put, path = "/settings", tag = "settings", request_body = Settings,
    responses((status = 200, body = Settings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn settings_put(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(mut s): ApiJson<Settings>,
) -> AppResult<Json<Settings>> {
    require_settings_update(&ctx)?;
    s.logo_data_url = check_logo_url(&s.logo_data_url)?;
    let mut tx = state.store.write().await?;
    settings::put(&mut tx, &ctx.actor(), &s).await?;
    tx.commit().await?;
    state.settings_changed(s.clone()).await;
    Ok(Json(s))
}
