//! /api/v1/account/notifications: which ticket notifications the caller receives by e-mail.
//! Everyone manages their own (the same choices as the account page's "Notifications"
//! fieldset); the change is audited on the user.

use super::ApiJson;
use crate::auth::Ctx;
use crate::error::{AppResult, ErrorBody};
use crate::AppState;
use axum::routing::get;
use axum::{Json, Router};
use parc_store::helpdesk::notify::{self, EventKind};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(notifications_get, notifications_put),
    components(schemas(NotificationSettings, NotificationSettingsInput, EventKind))
)]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new().route("/account/notifications", get(notifications_get).put(notifications_put))
}

/// The caller's notification choices.
#[derive(Debug, Serialize, ToSchema)]
pub struct NotificationSettings {
    /// Every kind of event Parc notifies by e-mail.
    pub events: Vec<EventKind>,
    /// The kinds the caller does not want; the others are sent.
    pub opted_out: Vec<EventKind>,
    /// Where the notifications go; without an address the caller receives none.
    pub email: Option<String>,
}

/// New choices: they replace the stored ones.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettingsInput {
    /// The kinds of event not to be told about (an empty list: all of them).
    pub opted_out: Vec<EventKind>,
}

async fn current(ctx: &Ctx, c: &mut parc_store::Conn) -> AppResult<NotificationSettings> {
    Ok(NotificationSettings {
        events: EventKind::ALL.to_vec(),
        opted_out: notify::optouts(c, ctx.user.id).await?,
        email: ctx.user.email.clone().filter(|e| !e.trim().is_empty()),
    })
}

#[utoipa::path(get, path = "/account/notifications", tag = "account",
    responses((status = 200, body = NotificationSettings), (status = 401, body = ErrorBody)))]
async fn notifications_get(ctx: Ctx) -> AppResult<Json<NotificationSettings>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(current(&ctx, &mut c).await?))
}

/// Replaces the caller's opt-outs.
#[utoipa::path(put, path = "/account/notifications", tag = "account", request_body = NotificationSettingsInput,
    responses((status = 200, body = NotificationSettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn notifications_put(
    ctx: Ctx,
    ApiJson(input): ApiJson<NotificationSettingsInput>,
) -> AppResult<Json<NotificationSettings>> {
    let mut tx = ctx.state.store.write().await?;
    notify::set_optouts(&mut tx, &ctx.actor(), ctx.user.id, &input.opted_out).await?;
    let now = current(&ctx, &mut tx).await?;
    tx.commit().await?;
    Ok(Json(now))
}
