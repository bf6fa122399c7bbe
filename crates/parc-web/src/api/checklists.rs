//! /api/v1/checklists: templates (CRUD), the built-in templates in the caller's language, runs
//! on assets (start, read, abandon), ticking and un-ticking steps (a value as JSON, a photo as
//! multipart), a step's photo, and the hand-over blockers of an asset. The rules are the
//! pages': see `pages::checklists`.

use super::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult, ErrorBody, ErrorContent};
use crate::pages::assets::visible_asset;
use crate::pages::attachments::{read_multipart, refusal_status, UPLOAD_BODY_MAX};
use crate::pages::checklists::{
    builtins, photo_errors, photo_of, photo_response, start, template_entities, tick, visible_run, visible_template,
    BuiltinView,
};
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use parc_core::checklists::{Evidence, StepInput};
use parc_core::permissions::{Action, Object};
use parc_core::{AssetId, ChecklistRunId, ChecklistTemplateId, EntityId, ValidationErrors};
use parc_store::checklists::{self, OpenStep, Run, RunStep, Template, TemplateStep};
use serde::Deserialize;
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(
        builtins_list,
        templates_list,
        template_create,
        template_get,
        template_update,
        template_delete,
        runs_list,
        run_start,
        run_get,
        run_delete,
        step_tick,
        step_tick_photo,
        step_untick,
        step_photo,
        blockers
    ),
    components(schemas(
        BuiltinView,
        Template,
        TemplateStep,
        TemplateBody,
        StepInput,
        Evidence,
        Run,
        RunStep,
        StartBody,
        TickBody,
        PhotoUpload,
        OpenStep
    ))
)]
pub struct Doc;

pub fn routes() -> Router<crate::AppState> {
    Router::new()
        .route("/checklists/builtins", get(builtins_list))
        .route("/checklists/templates", get(templates_list).post(template_create))
        .route("/checklists/templates/{id}", get(template_get).put(template_update).delete(template_delete))
        .route("/checklists/runs", get(runs_list).post(run_start))
        .route("/checklists/runs/{id}", get(run_get).delete(run_delete))
        .route("/checklists/runs/{id}/steps/{step_id}/tick", post(step_tick))
        .route(
            "/checklists/runs/{id}/steps/{step_id}/photo",
            get(step_photo).post(step_tick_photo).layer(DefaultBodyLimit::max(UPLOAD_BODY_MAX)),
        )
        .route("/checklists/runs/{id}/steps/{step_id}/untick", post(step_untick))
        .route("/checklists/blockers", get(blockers))
}

/// The built-in templates (usable in every entity without any setup), in the caller's language.
#[utoipa::path(get, path = "/checklists/builtins", tag = "checklists",
    responses((status = 200, body = [BuiltinView]), (status = 401, body = ErrorBody)))]
async fn builtins_list(ctx: Ctx) -> Json<Vec<BuiltinView>> {
    Json(builtins(&ctx))
}

/// The templates of the entities where the caller reads assets, and of their ancestors.
#[utoipa::path(get, path = "/checklists/templates", tag = "checklists",
    responses((status = 200, body = [Template]), (status = 401, body = ErrorBody)))]
async fn templates_list(ctx: Ctx) -> AppResult<Json<Vec<Template>>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(checklists::templates(&mut c, &template_entities(&ctx)).await?))
}

/// A template: its entity (on creation only), name, optional kind of asset and its steps in order.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TemplateBody {
    /// The entity it belongs to (creation; ignored on update). Its sub-entities use it too.
    pub entity_id: Option<i64>,
    pub name: Option<String>,
    /// computer, mobile_phone...; any kind when empty.
    pub asset_kind: Option<String>,
    /// 1 to 100 steps, in order.
    #[serde(default)]
    pub steps: Vec<StepInput>,
}

impl TemplateBody {
    fn input(self) -> parc_core::checklists::TemplateInput {
        parc_core::checklists::TemplateInput { name: self.name, asset_kind: self.asset_kind, steps: self.steps }
    }
}

/// Creates a template in an entity where the caller may create assets.
#[utoipa::path(post, path = "/checklists/templates", tag = "checklists", request_body = TemplateBody,
    responses((status = 201, body = Template), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn template_create(ctx: Ctx, ApiJson(body): ApiJson<TemplateBody>) -> AppResult<Response> {
    let entity = body.entity_id;
    let draft = body.input().validate();
    let entity = match entity {
        Some(e) if ctx.can(Object::Asset, Action::Create, EntityId(e)) => EntityId(e),
        Some(_) => {
            return Err(AppError::field("entity_id", "forbidden_grant", "you cannot create checklists in this entity"))
        }
        None => return Err(AppError::field("entity_id", "required", "give the entity of the checklist")),
    };
    let draft = draft?;
    let mut tx = ctx.state.store.write().await?;
    let id = checklists::create_template(&mut tx, &ctx.actor(), entity, &draft).await?;
    let t = checklists::template(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(t)).into_response())
}

#[utoipa::path(get, path = "/checklists/templates/{id}", tag = "checklists", params(("id" = i64, Path)),
    responses((status = 200, body = Template), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn template_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Template>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(visible_template(&ctx, &mut c, ChecklistTemplateId(id), Action::Read).await?))
}

/// Replaces a template's name, kind and steps (the runs already started keep their copy).
#[utoipa::path(put, path = "/checklists/templates/{id}", tag = "checklists", params(("id" = i64, Path)),
    request_body = TemplateBody,
    responses((status = 200, body = Template), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn template_update(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    ApiJson(body): ApiJson<TemplateBody>,
) -> AppResult<Json<Template>> {
    let mut tx = ctx.state.store.write().await?;
    let old = visible_template(&ctx, &mut tx, ChecklistTemplateId(id), Action::Create).await?;
    let draft = body.input().validate()?;
    checklists::update_template(&mut tx, &ctx.actor(), &old, &draft).await?;
    let t = checklists::template(&mut tx, old.id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok(Json(t))
}

/// Deletes a template; the runs started from it stay as they are.
#[utoipa::path(delete, path = "/checklists/templates/{id}", tag = "checklists", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn template_delete(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    let mut tx = ctx.state.store.write().await?;
    let t = visible_template(&ctx, &mut tx, ChecklistTemplateId(id), Action::Delete).await?;
    checklists::delete_template(&mut tx, &ctx.actor(), &t).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AssetQuery {
    /// The asset.
    pub asset_id: i64,
}

/// The checklists run on an asset, newest first.
#[utoipa::path(get, path = "/checklists/runs", tag = "checklists", params(AssetQuery),
    responses((status = 200, body = [Run]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn runs_list(ctx: Ctx, ApiQuery(q): ApiQuery<AssetQuery>) -> AppResult<Json<Vec<Run>>> {
    let mut c = ctx.state.store.read().await?;
    let a = visible_asset(&ctx, &mut c, AssetId(q.asset_id), Action::Read).await?;
    Ok(Json(checklists::runs_of(&mut c, a.id).await?))
}

/// What to start on an asset: one of `template_id` (a template of the asset's entity or of an
/// ancestor) or `builtin` (`mobile_phone`, `time_clock_pc`, in the caller's language).
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StartBody {
    pub asset_id: i64,
    pub template_id: Option<i64>,
    pub builtin: Option<String>,
}

/// Starts a checklist on an asset: its steps are copied from the template.
#[utoipa::path(post, path = "/checklists/runs", tag = "checklists", request_body = StartBody,
    responses((status = 201, body = Run), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn run_start(ctx: Ctx, ApiJson(body): ApiJson<StartBody>) -> AppResult<Response> {
    let mut tx = ctx.state.store.write().await?;
    let a = visible_asset(&ctx, &mut tx, AssetId(body.asset_id), Action::Update).await?;
    let id = start(&ctx, &mut tx, &a, body.template_id, body.builtin.as_deref()).await?;
    let run = checklists::run(&mut tx, id).await?.ok_or(AppError::NotFound)?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(run)).into_response())
}

#[utoipa::path(get, path = "/checklists/runs/{id}", tag = "checklists", params(("id" = i64, Path)),
    responses((status = 200, body = Run), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn run_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Run>> {
    let mut c = ctx.state.store.read().await?;
    Ok(Json(visible_run(&ctx, &mut c, ChecklistRunId(id), Action::Read).await?.1))
}

/// Abandons a checklist (it no longer gates the hand-over); audited on the asset.
#[utoipa::path(delete, path = "/checklists/runs/{id}", tag = "checklists", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn run_delete(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    let mut tx = ctx.state.store.write().await?;
    let (a, run) = visible_run(&ctx, &mut tx, ChecklistRunId(id), Action::Delete).await?;
    checklists::delete_run(&mut tx, &ctx.actor(), &a, &run).await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The evidence of a tick without a photo.
#[derive(Deserialize, ToSchema, Default)]
#[serde(deny_unknown_fields)]
pub struct TickBody {
    /// Required (non-empty) for a step whose evidence is `value`.
    pub value: Option<String>,
}

/// Ticks a step (audited on the asset with who, when and the value). A `photo` step is ticked
/// with a multipart POST to `.../photo`.
#[utoipa::path(post, path = "/checklists/runs/{id}/steps/{step_id}/tick", tag = "checklists",
    params(("id" = i64, Path), ("step_id" = i64, Path)), request_body = TickBody,
    responses((status = 200, body = RunStep), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn step_tick(
    ctx: Ctx,
    ApiPath((id, step)): ApiPath<(i64, i64)>,
    ApiJson(body): ApiJson<TickBody>,
) -> AppResult<Json<RunStep>> {
    let mut tx = ctx.state.store.write().await?;
    let (a, run) = visible_run(&ctx, &mut tx, ChecklistRunId(id), Action::Update).await?;
    let s = tick(&ctx, &mut tx, &a, &run, step, body.value, None).await?;
    tx.commit().await?;
    Ok(Json(s))
}

/// The multipart body of a photo tick.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documents the multipart body; the handler reads the parts one by one")]
pub struct PhotoUpload {
    /// One PNG, JPEG, GIF or WebP image of at most 10 MiB.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// A value, for a step that asks for one.
    value: Option<String>,
}

/// Ticks a step with a photo as evidence (stored as an immutable document; its SHA-256 goes in
/// the asset's audit trail).
#[utoipa::path(post, path = "/checklists/runs/{id}/steps/{step_id}/photo", tag = "checklists",
    params(("id" = i64, Path), ("step_id" = i64, Path)),
    request_body(content = PhotoUpload, content_type = "multipart/form-data"),
    responses((status = 200, body = RunStep), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn step_tick_photo(
    ctx: Ctx,
    ApiPath((id, step)): ApiPath<(i64, i64)>,
    mp: Result<Multipart, MultipartRejection>,
) -> AppResult<Response> {
    let mp = mp.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let (fields, files) = read_multipart(mp).await?;
    let value = fields.iter().find(|(k, _)| k == "value").map(|(_, v)| v.clone());
    let mut tx = ctx.state.store.write().await?;
    let (a, run) = visible_run(&ctx, &mut tx, ChecklistRunId(id), Action::Update).await?;
    let files = match files {
        Ok(f) => f,
        Err(e) if refusal_status(&e) == StatusCode::PAYLOAD_TOO_LARGE => return Ok(too_large(photo_errors(e))),
        Err(e) => return Err(AppError::Validation(photo_errors(e))),
    };
    let photo = photo_of(&files).map_err(AppError::Validation)?;
    if photo.is_none() {
        return Err(AppError::field("photo", "required", "send the photo in the \"file\" field"));
    }
    let s = tick(&ctx, &mut tx, &a, &run, step, value, photo).await?;
    tx.commit().await?;
    Ok(Json(s).into_response())
}

fn too_large(e: ValidationErrors) -> Response {
    let message = e.fields.first().map(|f| f.message.clone()).unwrap_or_else(|| AppError::TooLarge.to_string());
    let body = ErrorBody {
        error: ErrorContent { code: "too_large".into(), message, details: serde_json::json!({ "fields": e.fields }) },
    };
    (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
}

/// Opens a done step again (audited on the asset).
#[utoipa::path(post, path = "/checklists/runs/{id}/steps/{step_id}/untick", tag = "checklists",
    params(("id" = i64, Path), ("step_id" = i64, Path)),
    responses((status = 200, body = RunStep), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn step_untick(ctx: Ctx, ApiPath((id, step)): ApiPath<(i64, i64)>) -> AppResult<Json<RunStep>> {
    let mut tx = ctx.state.store.write().await?;
    let (a, run) = visible_run(&ctx, &mut tx, ChecklistRunId(id), Action::Update).await?;
    let s = checklists::untick(&mut tx, &ctx.actor(), &a, &run, step).await?;
    tx.commit().await?;
    Ok(Json(s))
}

/// The photo given as a step's evidence.
#[utoipa::path(get, path = "/checklists/runs/{id}/steps/{step_id}/photo", tag = "checklists",
    params(("id" = i64, Path), ("step_id" = i64, Path)),
    responses((status = 200, description = "The photo", content(("image/png"), ("image/jpeg"), ("image/gif"), ("image/webp"))),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 404, body = ErrorBody)))]
async fn step_photo(ctx: Ctx, ApiPath((id, step)): ApiPath<(i64, i64)>) -> AppResult<Response> {
    photo_response(&ctx, ChecklistRunId(id), step).await
}

/// The open mandatory steps that keep an asset from being handed over (status `in_use`); empty
/// when it may be.
#[utoipa::path(get, path = "/checklists/blockers", tag = "checklists", params(AssetQuery),
    responses((status = 200, body = [OpenStep]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn blockers(ctx: Ctx, ApiQuery(q): ApiQuery<AssetQuery>) -> AppResult<Json<Vec<OpenStep>>> {
    let mut c = ctx.state.store.read().await?;
    let a = visible_asset(&ctx, &mut c, AssetId(q.asset_id), Action::Read).await?;
    Ok(Json(checklists::handover_blockers(&mut c, a.id).await?))
}
