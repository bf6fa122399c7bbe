//! /api/v1/helpdesk/suggest: the hotline's quick-entry suggestions (people and assets matching
//! what was typed, with what each fills on a new ticket) and /api/v1/entities/{id}/helpdesk: an
//! entity's own business calendar and anonymous-report switch, and those in force. The rules
//! are the pages' (`pages::hotline`, `pages::entity_helpdesk`).

use super::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::pages::entity_helpdesk::{put, require_admin, settings_view, SettingsView};
use crate::pages::hotline::{hotline_entities, suggest_scope};
use axum::routing::get;
use axum::{Json, Router};
use parc_core::helpdesk::BusinessCalendar;
use parc_core::permissions::{Action, Object};
use parc_core::{EntityId, ValidationErrors};
use parc_store::helpdesk::suggest::{
    self, MatchedField, SuggestedAsset, SuggestedEntity, SuggestedLocation, SuggestedUser, Suggestion, SuggestionKind,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(suggest_list, entity_settings_get, entity_settings_put),
    components(schemas(
        SuggestionList,
        Suggestion,
        SuggestionKind,
        MatchedField,
        SuggestedUser,
        SuggestedAsset,
        SuggestedLocation,
        SuggestedEntity,
        EntityHelpdesk,
        EntityHelpdeskInput
    ))
)]
pub struct Doc;

pub fn routes() -> Router<crate::AppState> {
    Router::new()
        .route("/helpdesk/suggest", get(suggest_list))
        .route("/entities/{id}/helpdesk", get(entity_settings_get).put(entity_settings_put))
}

/// Suggestions per call unless `limit` says otherwise.
const DEFAULT_LIMIT: u32 = 10;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SuggestQuery {
    /// What the hotline typed: a name, login or phone number, an asset tag, a computer name, a
    /// serial number, an IP address or a line number (two characters at least).
    pub q: Option<String>,
    /// How many suggestions at most (1-20, default 10).
    pub limit: Option<u32>,
}

#[derive(Serialize, ToSchema)]
pub struct SuggestionList {
    pub items: Vec<Suggestion>,
}

/// People and assets matching the typed text, best first, each with what it fills on a new
/// ticket (requester, asset, location, entity). For those who open tickets for others.
#[utoipa::path(get, path = "/helpdesk/suggest", tag = "tickets", params(SuggestQuery),
    responses((status = 200, body = SuggestionList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn suggest_list(ctx: Ctx, ApiQuery(q): ApiQuery<SuggestQuery>) -> AppResult<Json<SuggestionList>> {
    hotline_entities(&ctx)?;
    let text = q.q.unwrap_or_default();
    let limit = q.limit.unwrap_or(DEFAULT_LIMIT) as usize;
    let mut c = ctx.state.store.read().await?;
    let items = suggest::suggest(&mut c, ctx.state.store.backend(), &suggest_scope(&ctx), &text, limit).await?;
    Ok(Json(SuggestionList { items }))
}

/// An entity's helpdesk settings: its own (null: inherited) and those in force.
#[derive(Serialize, ToSchema)]
pub struct EntityHelpdesk {
    pub entity_id: EntityId,
    /// The entity's own business calendar (the JSON of the calendar: `tz`, `week`,
    /// `french_holidays`, `alsace_moselle`, `closures`); null: inherited.
    #[schema(value_type = Option<Object>)]
    pub calendar: Option<serde_json::Value>,
    /// The entity's own anonymous-report switch; null: inherited.
    pub anonymous_reports: Option<bool>,
    /// The calendar in force: the entity's, the nearest ancestor's, or the default.
    #[schema(value_type = Object)]
    pub effective_calendar: serde_json::Value,
    /// The entity whose calendar is in force; null: the default calendar.
    pub calendar_from: Option<EntityId>,
    /// Whether the QR labels of this entity take anonymous reports.
    pub effective_anonymous_reports: bool,
    /// The entity whose switch is in force; null: the default (no).
    pub anonymous_reports_from: Option<EntityId>,
}

impl EntityHelpdesk {
    fn new(entity: EntityId, v: SettingsView) -> EntityHelpdesk {
        let json = |c: &BusinessCalendar| serde_json::to_value(c).unwrap_or_default();
        EntityHelpdesk {
            entity_id: entity,
            calendar: v.own_calendar.as_ref().map(json),
            anonymous_reports: v.own_anonymous,
            effective_calendar: json(&v.calendar),
            calendar_from: v.calendar_from,
            effective_anonymous_reports: v.anonymous,
            anonymous_reports_from: v.anonymous_from,
        }
    }
}

/// Replaces an entity's own settings; null (or absent) goes back to inheriting.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityHelpdeskInput {
    /// The entity's own business calendar, or null to inherit it.
    #[schema(value_type = Option<Object>)]
    #[serde(default)]
    pub calendar: Option<serde_json::Value>,
    /// Whether anonymous reports are taken, or null to inherit it.
    #[serde(default)]
    pub anonymous_reports: Option<bool>,
}

async fn entity_settings(ctx: &Ctx, entity: EntityId) -> AppResult<EntityHelpdesk> {
    let mut c = ctx.state.store.read().await?;
    Ok(EntityHelpdesk::new(entity, settings_view(&mut c, &ctx.tree, entity).await?))
}

#[utoipa::path(get, path = "/entities/{id}/helpdesk", tag = "entities", params(("id" = i64, Path)),
    responses((status = 200, body = EntityHelpdesk), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn entity_settings_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<EntityHelpdesk>> {
    let entity = EntityId(id);
    ctx.require(Object::Entity, Action::Read, entity)?;
    Ok(Json(entity_settings(&ctx, entity).await?))
}

/// Sets an entity's own business calendar and anonymous-report switch (administrators of the
/// entity). Audited on the entity.
#[utoipa::path(put, path = "/entities/{id}/helpdesk", tag = "entities", params(("id" = i64, Path)),
    request_body = EntityHelpdeskInput,
    responses((status = 200, body = EntityHelpdesk), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn entity_settings_put(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(input): ApiJson<EntityHelpdeskInput>,
) -> AppResult<Json<EntityHelpdesk>> {
    let entity = EntityId(id);
    require_admin(&ctx, entity)?;
    let calendar = match &input.calendar {
        None => None,
        Some(v) if v.is_object() => Some(BusinessCalendar::from_json(&v.to_string()).map_err(AppError::Validation)?),
        Some(_) => {
            return Err(AppError::Validation(ValidationErrors::single(
                "calendar",
                "json_format",
                "must be a calendar object, or null to inherit",
            )))
        }
    };
    put(&ctx, entity, calendar.as_ref(), input.anonymous_reports).await?;
    Ok(Json(entity_settings(&ctx, entity).await?))
}
