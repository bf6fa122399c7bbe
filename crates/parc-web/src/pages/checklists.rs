//! Checklists: the templates list and editor (`/checklists`), starting a checklist from the
//! asset page, the run page a technician ticks on a phone (`/checklists/runs/<id>`: big tap
//! targets, a value or a photo as evidence, who ticked what when) and a step's photo. The rules
//! shared with `api::checklists` live here: who sees which template ([`template_entities`],
//! [`visible_template`]), which templates an asset may use ([`usable_on`]), a run through its
//! asset ([`visible_run`]), the start ([`start`]) and the photo checks ([`photo_of`]).
//!
//! Rights are the asset's: Read to see, Update to start and tick, Create to write templates in
//! an entity, Delete to delete a template or abandon a run.

use super::attachments::{refusal_status, FormWithFiles, Upload};
use super::{render, render_status, see_other, Page};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::{CsrfForm, CsrfOnly, OkQuery};
use crate::AppState;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use parc_core::assets::AssetKind;
use parc_core::checklists::{builtin, Evidence, StepInput, TemplateDraft, TemplateInput, BUILTINS, MAX_STEPS};
use parc_core::permissions::{Action, Object};
use parc_core::{AssetId, ChecklistRunId, ChecklistTemplateId, EntityId, ValidationErrors};
use parc_store::assets::Asset;
use parc_store::checklists::{self, Photo, Run, RunSource, Template, TemplateStep, TickInput};
use parc_store::Conn;
use serde::{Deserialize, Serialize};

const CSS: &str = include_str!("../../static/checklists.css");

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/static/checklists.css", get(css))
        .route("/checklists", get(list_page))
        .route("/checklists/new", get(new_form).post(create))
        .route("/checklists/templates/{id}", get(edit_form).post(update))
        .route("/checklists/templates/{id}/delete", post(delete))
        .route("/assets/{id}/checklists", post(start_form))
        .route("/checklists/runs/{id}", get(run_page))
        .route(
            "/checklists/runs/{id}/steps/{step}/tick",
            post(tick_form).layer(axum::extract::DefaultBodyLimit::max(super::attachments::UPLOAD_BODY_MAX)),
        )
        .route("/checklists/runs/{id}/steps/{step}/untick", post(untick_form))
        .route("/checklists/runs/{id}/steps/{step}/photo", get(photo_page))
        .route("/checklists/runs/{id}/delete", post(abandon_form))
}

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], CSS)
        .into_response()
}

// ---- shared rules (pages and API) ----

/// The entities whose templates the caller sees: those where they read assets, and their
/// ancestors (a county's templates serve its schools).
pub fn template_entities(ctx: &Ctx) -> Vec<i64> {
    let s = ctx.scope(Object::Asset, Action::Read);
    let mut out: Vec<i64> = Vec::new();
    for e in s.full.iter().chain(s.own_only.iter()) {
        for p in ctx.tree.path(*e) {
            if !out.contains(&p.0) {
                out.push(p.0);
            }
        }
    }
    out
}

/// A template the caller sees (404 otherwise); for any other action than Read, the caller must
/// have that right on assets of the template's entity (403).
pub async fn visible_template(ctx: &Ctx, c: &mut Conn, id: ChecklistTemplateId, action: Action) -> AppResult<Template> {
    let t = checklists::template(c, id).await?.ok_or(AppError::NotFound)?;
    if !template_entities(ctx).contains(&t.entity_id.0) {
        return Err(AppError::NotFound);
    }
    if action != Action::Read && !ctx.can(Object::Asset, action, t.entity_id) {
        return Err(AppError::Forbidden("your profile does not allow this on this checklist".into()));
    }
    Ok(t)
}

/// Whether a template of `t_entity` may run on `asset`: it belongs to the asset's entity or an
/// ancestor of it.
pub fn usable_on(ctx: &Ctx, t_entity: EntityId, asset: &Asset) -> bool {
    ctx.tree.path(asset.entity_id).contains(&t_entity)
}

/// A run and its asset, the caller seeing the asset (404) and allowed `action` on it (403).
pub async fn visible_run(ctx: &Ctx, c: &mut Conn, id: ChecklistRunId, action: Action) -> AppResult<(Asset, Run)> {
    let run = checklists::run(c, id).await?.ok_or(AppError::NotFound)?;
    let asset = super::assets::visible_asset(ctx, c, run.asset_id, action).await?;
    Ok((asset, run))
}

/// A built-in template in the caller's language.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct BuiltinView {
    /// The key to start it with: `mobile_phone`, `time_clock_pc`.
    pub key: String,
    pub name: String,
    pub asset_kind: Option<AssetKind>,
    pub steps: Vec<TemplateStep>,
}

pub fn builtins(ctx: &Ctx) -> Vec<BuiltinView> {
    BUILTINS
        .iter()
        .map(|b| {
            let d = b.draft(ctx.lang.code());
            let steps = steps_of(&d);
            BuiltinView { key: b.key.to_owned(), name: d.name, asset_kind: d.asset_kind, steps }
        })
        .collect()
}

fn steps_of(d: &TemplateDraft) -> Vec<TemplateStep> {
    d.steps
        .iter()
        .enumerate()
        .map(|(i, s)| TemplateStep {
            position: i as i64 + 1,
            label: s.label.clone(),
            mandatory: s.mandatory,
            evidence: s.evidence,
            hint: s.hint.clone(),
        })
        .collect()
}

/// Starts a checklist on an asset (the caller may update it) from one of the templates it may
/// use, or from a built-in in the caller's language. Errors name `template_id` or `builtin`.
pub async fn start(
    ctx: &Ctx,
    c: &mut Conn,
    asset: &Asset,
    template_id: Option<i64>,
    builtin_key: Option<&str>,
) -> AppResult<ChecklistRunId> {
    let (source, draft) = match (template_id, builtin_key.map(str::trim).filter(|k| !k.is_empty())) {
        (Some(t), None) => {
            let tpl = checklists::template(c, ChecklistTemplateId(t)).await?;
            let tpl = tpl.filter(|tpl| usable_on(ctx, tpl.entity_id, asset)).ok_or_else(|| {
                AppError::field("template_id", "not_found", "no such checklist for this asset's entity")
            })?;
            (RunSource::Template(tpl.id), tpl.draft())
        }
        (None, Some(k)) => {
            let b = builtin(k).ok_or_else(|| AppError::field("builtin", "not_found", "no such built-in checklist"))?;
            (RunSource::Builtin(b.key), b.draft(ctx.lang.code()))
        }
        _ => return Err(AppError::field("template_id", "required", "give either template_id or builtin")),
    };
    Ok(checklists::start_run(c, &ctx.actor(), asset, source, &draft).await?)
}

/// The type of an image from its first bytes (PNG, JPEG, GIF, WebP), or `None`.
pub fn image_type(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xff, 0xd8, 0xff]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"GIF87a") || bytes.starts_with(b"GIF89a") {
        Some("image/gif")
    } else if bytes.len() > 12 && bytes.starts_with(b"RIFF") && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// The one photo of an upload, checked: an image (PNG, JPEG, GIF, WebP) of at most 10 MiB.
/// Errors are on `photo` (413 for a file too large, 422 otherwise).
pub fn photo_of(files: &[Upload]) -> Result<Option<(&Upload, &'static str)>, ValidationErrors> {
    match files {
        [] => Ok(None),
        [f] => match image_type(&f.bytes) {
            Some(t) => Ok(Some((f, t))),
            None => Err(ValidationErrors::single(
                "photo",
                "not_an_image",
                "the photo must be a PNG, JPEG, GIF or WebP image",
            )),
        },
        _ => Err(ValidationErrors::single("photo", "too_many_files", "one photo per step")),
    }
}

/// Renames the upload's errors from `file` to `photo`.
pub fn photo_errors(mut e: ValidationErrors) -> ValidationErrors {
    for f in &mut e.fields {
        if f.field == super::attachments::FILE_FIELD {
            f.field = "photo".into();
        }
    }
    e
}

/// Ticks a step with a value and an optional photo, in the caller's transaction.
pub async fn tick(
    ctx: &Ctx,
    c: &mut Conn,
    asset: &Asset,
    run: &Run,
    step: i64,
    value: Option<String>,
    photo: Option<(&Upload, &'static str)>,
) -> AppResult<checklists::RunStep> {
    let filename = photo.map(|(f, _)| parc_store::helpdesk::sanitize_filename(&f.filename));
    let input = TickInput {
        value,
        photo: photo.map(|(f, t)| Photo {
            filename: filename.as_deref().unwrap_or("photo"),
            content_type: t,
            content: &f.bytes,
        }),
    };
    Ok(checklists::tick(c, &ctx.actor(), asset, run, step, &input).await?)
}

/// A step's photo, for whoever may read the asset.
pub async fn photo_response(ctx: &Ctx, run: ChecklistRunId, step: i64) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let (_, run) = visible_run(ctx, &mut c, run, Action::Read).await?;
    let doc = run.steps.iter().find(|s| s.id == step).and_then(|s| s.photo_document_id).ok_or(AppError::NotFound)?;
    let d = parc_store::documents::document(&mut c, doc).await?.ok_or(AppError::NotFound)?;
    let bytes = parc_store::documents::document_content(&mut c, doc).await?.ok_or(AppError::NotFound)?;
    let ct = image_type(&bytes).unwrap_or("application/octet-stream");
    let disposition = format!("inline; filename=\"{}\"", d.filename.replace(['"', '\\'], "_"));
    Ok((
        [
            (header::CONTENT_TYPE, ct.to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::HeaderName::from_static("x-content-type-options"), "nosniff".to_owned()),
            (header::CACHE_CONTROL, "private, max-age=3600".to_owned()),
        ],
        bytes,
    )
        .into_response())
}

// ---- templates list and editor ----

#[derive(askama::Template)]
#[template(path = "checklists/list.html")]
struct ListPage {
    page: Page,
    templates: Vec<Template>,
    builtins: Vec<BuiltinView>,
    can_create: bool,
}

async fn list_page(ctx: Ctx, Query(q): Query<OkQuery>) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let templates = checklists::templates(&mut c, &template_entities(&ctx)).await?;
    let page = Page::new(&ctx, "checklists.title").await.with_flash(q.ok.as_deref());
    let can_create = !ctx.scope(Object::Asset, Action::Create).full.is_empty();
    Ok(render(&ListPage { page, templates, builtins: builtins(&ctx), can_create }))
}

/// One row of the editor.
#[derive(Default, Clone)]
struct Row {
    pos: String,
    label: String,
    mandatory: bool,
    evidence: String,
    hint: String,
}

#[derive(askama::Template)]
#[template(path = "checklists/form.html")]
struct FormPage {
    page: Page,
    action: String,
    is_new: bool,
    entities: Vec<(i64, String)>,
    entity_id: String,
    name: String,
    asset_kind: String,
    kinds: Vec<AssetKind>,
    evidences: Vec<Evidence>,
    rows: Vec<Row>,
    errors: ValidationErrors,
}

impl FormPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.for_field(field).map(|f| self.page.field_message("checklists", f))
    }

    /// The problems with row `i`'s fields.
    fn row_err(&self, i: &usize) -> Vec<String> {
        let prefix = format!("steps[{i}].");
        self.errors
            .fields
            .iter()
            .filter(|f| f.field.starts_with(&prefix))
            .map(|f| self.page.field_message("checklists", f))
            .collect()
    }
}

const BLANK_ROWS: usize = 3;

fn rows_of(steps: &[TemplateStep]) -> Vec<Row> {
    let mut rows: Vec<Row> = steps
        .iter()
        .map(|s| Row {
            pos: s.position.to_string(),
            label: s.label.clone(),
            mandatory: s.mandatory,
            evidence: s.evidence.as_str().into(),
            hint: s.hint.clone().unwrap_or_default(),
        })
        .collect();
    let n = rows.len();
    rows.extend((0..BLANK_ROWS).map(|i| Row { pos: (n + i + 1).to_string(), mandatory: true, ..Default::default() }));
    rows
}

/// Entities where the caller may create templates, with their paths.
fn creatable_entities(ctx: &Ctx, names: &[parc_store::entities::Entity]) -> Vec<(i64, String)> {
    let s = ctx.scope(Object::Asset, Action::Create);
    let mut out: Vec<(i64, String)> = names
        .iter()
        .filter(|e| s.full.contains(&e.id))
        .map(|e| {
            let path = ctx
                .tree
                .path(e.id)
                .iter()
                .rev()
                .filter_map(|p| names.iter().find(|n| n.id == *p).map(|n| n.name.clone()))
                .collect::<Vec<_>>()
                .join(" › ");
            (e.id.0, path)
        })
        .collect();
    out.sort_by(|a, b| a.1.cmp(&b.1));
    out
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    ctx: &Ctx,
    action: String,
    is_new: bool,
    entity_id: String,
    name: String,
    asset_kind: String,
    rows: Vec<Row>,
    errors: ValidationErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let all = parc_store::entities::list_all(&mut c).await?;
    let entities = creatable_entities(ctx, &all);
    let title = if is_new { "checklists.new" } else { "checklists.edit" };
    let page = Page::new(ctx, title).await.with_form_errors(&errors);
    let p = FormPage {
        page,
        action,
        is_new,
        entities,
        entity_id,
        name,
        asset_kind,
        kinds: AssetKind::ALL.to_vec(),
        evidences: Evidence::ALL.to_vec(),
        rows,
        errors,
    };
    Ok(render_status(status, &p))
}

async fn new_form(ctx: Ctx) -> AppResult<Response> {
    if ctx.scope(Object::Asset, Action::Create).full.is_empty() {
        return Err(AppError::Forbidden("your profile cannot create checklists".into()));
    }
    let rows = rows_of(&[]);
    form_page(
        &ctx,
        "/checklists/new".into(),
        true,
        String::new(),
        String::new(),
        String::new(),
        rows,
        ValidationErrors::new(),
        StatusCode::OK,
    )
    .await
}

/// The editor's fields: entity, name, kind, and per row `pos_N`, `label_N`, `mandatory_N`,
/// `evidence_N`, `hint_N`; `more` asks for more blank rows instead of saving.
struct EditorForm {
    entity_id: String,
    name: String,
    asset_kind: String,
    rows: Vec<Row>,
    more: bool,
}

fn editor_form(fields: &[(String, String)]) -> EditorForm {
    let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let mut rows = Vec::new();
    for i in 0..(MAX_STEPS + 20) {
        let key = |f: &str| format!("{f}_{i}");
        if !fields.iter().any(|(n, _)| n == &key("label") || n == &key("pos")) {
            continue;
        }
        rows.push(Row {
            pos: get(&key("pos")),
            label: get(&key("label")),
            mandatory: fields.iter().any(|(n, _)| n == &key("mandatory")),
            evidence: get(&key("evidence")),
            hint: get(&key("hint")),
        });
    }
    EditorForm {
        entity_id: get("entity_id"),
        name: get("name"),
        asset_kind: get("asset_kind"),
        rows,
        more: fields.iter().any(|(n, _)| n == "more"),
    }
}

/// The rows in the order their position numbers give (blank labels dropped), as the template's
/// steps: a step moves by changing its number, goes by emptying its label.
fn ordered_input(f: &EditorForm) -> (TemplateInput, Vec<Row>) {
    let mut rows: Vec<(f64, usize, Row)> = f
        .rows
        .iter()
        .enumerate()
        .filter(|(_, r)| !r.label.trim().is_empty())
        .map(|(i, r)| (r.pos.trim().replace(',', ".").parse::<f64>().unwrap_or(i as f64 + 1.0), i, r.clone()))
        .collect();
    rows.sort_by(|a, b| a.0.partial_cmp(&b.0).unwrap_or(std::cmp::Ordering::Equal).then(a.1.cmp(&b.1)));
    let kept: Vec<Row> = rows.into_iter().map(|(_, _, r)| r).collect();
    let input = TemplateInput {
        name: Some(f.name.clone()),
        asset_kind: Some(f.asset_kind.clone()),
        steps: kept
            .iter()
            .map(|r| StepInput {
                label: Some(r.label.clone()),
                mandatory: r.mandatory,
                evidence: Some(r.evidence.clone()),
                hint: Some(r.hint.clone()),
            })
            .collect(),
    };
    (input, kept)
}

fn renumbered(rows: Vec<Row>, blank: usize) -> Vec<Row> {
    let n = rows.len();
    let mut out: Vec<Row> = rows.into_iter().enumerate().map(|(i, r)| Row { pos: (i + 1).to_string(), ..r }).collect();
    out.extend((0..blank).map(|i| Row { pos: (n + i + 1).to_string(), mandatory: true, ..Default::default() }));
    out
}

async fn create(
    State(state): State<AppState>,
    CsrfForm(ctx, fields): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = editor_form(&fields);
    let (input, kept) = ordered_input(&f);
    let action = "/checklists/new".to_owned();
    if f.more {
        let rows = renumbered(kept, BLANK_ROWS + 5);
        return form_page(
            &ctx,
            action,
            true,
            f.entity_id,
            f.name,
            f.asset_kind,
            rows,
            ValidationErrors::new(),
            StatusCode::OK,
        )
        .await;
    }
    let mut errors = ValidationErrors::new();
    let entity = match f.entity_id.trim().parse::<i64>() {
        Ok(e) if ctx.can(Object::Asset, Action::Create, EntityId(e)) => Some(EntityId(e)),
        _ => {
            errors.add("entity_id", "forbidden_grant", "choose an entity where you may create checklists");
            None
        }
    };
    let draft = input.validate();
    let result = match (entity, draft) {
        (Some(e), Ok(d)) if errors.is_empty() => {
            let mut tx = state.store.write().await?;
            match checklists::create_template(&mut tx, &ctx.actor(), e, &d).await {
                Ok(id) => {
                    tx.commit().await?;
                    return Ok(see_other(&format!("/checklists/templates/{}", id), Some("common.saved")));
                }
                Err(parc_store::StoreError::Validation(v)) => v,
                Err(e) => return Err(e.into()),
            }
        }
        (_, Err(v)) => {
            errors.fields.extend(v.fields);
            errors
        }
        _ => errors,
    };
    let rows = renumbered(kept, BLANK_ROWS);
    form_page(&ctx, action, true, f.entity_id, f.name, f.asset_kind, rows, result, StatusCode::UNPROCESSABLE_ENTITY)
        .await
}

async fn edit_form(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<OkQuery>) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let t = visible_template(&ctx, &mut c, ChecklistTemplateId(id), Action::Read).await?;
    drop(c);
    if !ctx.can(Object::Asset, Action::Create, t.entity_id) {
        return Err(AppError::Forbidden("your profile cannot change this checklist".into()));
    }
    let kind = t.asset_kind.map(|k| k.as_str().to_owned()).unwrap_or_default();
    let mut r = form_page(
        &ctx,
        format!("/checklists/templates/{id}"),
        false,
        t.entity_id.to_string(),
        t.name.clone(),
        kind,
        rows_of(&t.steps),
        ValidationErrors::new(),
        StatusCode::OK,
    )
    .await?;
    if q.ok.is_some() {
        r.headers_mut().insert(header::CACHE_CONTROL, header::HeaderValue::from_static("no-store"));
    }
    Ok(r)
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(ctx, fields): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = editor_form(&fields);
    let (input, kept) = ordered_input(&f);
    let action = format!("/checklists/templates/{id}");
    let mut tx = state.store.write().await?;
    let old = visible_template(&ctx, &mut tx, ChecklistTemplateId(id), Action::Create).await?;
    let entity = old.entity_id.to_string();
    if f.more {
        drop(tx);
        let rows = renumbered(kept, BLANK_ROWS + 5);
        return form_page(
            &ctx,
            action,
            false,
            entity,
            f.name,
            f.asset_kind,
            rows,
            ValidationErrors::new(),
            StatusCode::OK,
        )
        .await;
    }
    let errors = match input.validate() {
        Ok(d) => match checklists::update_template(&mut tx, &ctx.actor(), &old, &d).await {
            Ok(()) => {
                tx.commit().await?;
                return Ok(see_other("/checklists", Some("common.saved")));
            }
            Err(parc_store::StoreError::Validation(v)) => v,
            Err(e) => return Err(e.into()),
        },
        Err(v) => v,
    };
    drop(tx);
    let rows = renumbered(kept, BLANK_ROWS);
    form_page(&ctx, action, false, entity, f.name, f.asset_kind, rows, errors, StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let t = visible_template(&ctx, &mut tx, ChecklistTemplateId(id), Action::Delete).await?;
    checklists::delete_template(&mut tx, &ctx.actor(), &t).await?;
    tx.commit().await?;
    Ok(see_other("/checklists", Some("checklists.deleted")))
}

// ---- the asset page's box ----

/// The asset page's "Checklists" box: its runs with their progress, and what may be started.
pub struct AssetChecklists {
    pub runs: Vec<Run>,
    /// `(value, name)`: `t:<id>` for a template, `b:<key>` for a built-in; empty when the caller
    /// may not start one.
    pub choices: Vec<(String, String)>,
    pub blockers: Vec<checklists::OpenStep>,
}

impl AssetChecklists {
    pub fn blocker_names(&self) -> String {
        self.blockers.iter().map(|b| b.label.as_str()).collect::<Vec<_>>().join(", ")
    }
}

/// The box of the asset page (the caller reads the asset).
pub async fn asset_box(ctx: &Ctx, c: &mut Conn, a: &Asset) -> AppResult<AssetChecklists> {
    let runs = checklists::runs_of(c, a.id).await?;
    let blockers = checklists::handover_blockers(c, a.id).await?;
    let mut choices = Vec::new();
    if ctx.can(Object::Asset, Action::Update, a.entity_id) {
        let path: Vec<i64> = ctx.tree.path(a.entity_id).iter().map(|e| e.0).collect();
        let mut fitting = Vec::new();
        let mut other = Vec::new();
        for b in BUILTINS {
            let item = (format!("b:{}", b.key), b.name.get(ctx.lang.code()).to_owned());
            if b.asset_kind.is_none_or(|k| k == a.kind) {
                fitting.push(item)
            } else {
                other.push(item)
            }
        }
        for t in checklists::templates(c, &path).await? {
            let item = (format!("t:{}", t.id), t.name.clone());
            if t.asset_kind.is_none_or(|k| k == a.kind) {
                fitting.push(item)
            } else {
                other.push(item)
            }
        }
        choices = fitting;
        choices.extend(other);
    }
    Ok(AssetChecklists { runs, choices, blockers })
}

#[derive(Deserialize)]
struct StartForm {
    source: String,
}

async fn start_form(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(ctx, f): CsrfForm<StartForm>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let a = super::assets::visible_asset(&ctx, &mut tx, AssetId(id), Action::Update).await?;
    let (t, b) = match f.source.split_once(':') {
        Some(("t", v)) => (Some(v.parse::<i64>().map_err(|_| AppError::BadRequest("invalid checklist".into()))?), None),
        Some(("b", k)) => (None, Some(k)),
        _ => (None, None),
    };
    let run = start(&ctx, &mut tx, &a, t, b).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/checklists/runs/{run}"), None))
}

// ---- the run page ----

#[derive(askama::Template)]
#[template(path = "checklists/run.html")]
struct RunPage {
    page: Page,
    a: Asset,
    run: Run,
    can_tick: bool,
    can_abandon: bool,
    /// The step whose tick was refused, and why.
    refused: Option<(i64, ValidationErrors)>,
    /// The value typed in the refused tick.
    typed: String,
}

impl RunPage {
    fn step_errors(&self, step: &i64) -> Vec<String> {
        match &self.refused {
            Some((s, e)) if s == step => e.fields.iter().map(|f| self.page.field_message("checklists", f)).collect(),
            _ => Vec::new(),
        }
    }

    fn typed_for(&self, step: &checklists::RunStep) -> String {
        match &self.refused {
            Some((s, _)) if *s == step.id => self.typed.clone(),
            _ => step.value.clone().unwrap_or_default(),
        }
    }

    fn started(&self) -> String {
        let when = self.page.when(&self.run.started_at);
        self.page.tf("checklists.started", &[("who", &self.run.started_by_label), ("when", &when)])
    }

    fn done_by(&self, s: &checklists::RunStep) -> String {
        let when = self.page.when(s.done_at.as_deref().unwrap_or_default());
        self.page.tf("checklists.done_by", &[("who", s.done_by_label.as_deref().unwrap_or_default()), ("when", &when)])
    }

    fn progress(&self) -> String {
        self.page.tf(
            "checklists.progress",
            &[("done", &self.run.done_count.to_string()), ("total", &self.run.steps.len().to_string())],
        )
    }
}

async fn run_view(
    ctx: &Ctx,
    id: ChecklistRunId,
    flash: Option<&str>,
    refused: Option<(i64, ValidationErrors)>,
    typed: String,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let (a, run) = visible_run(ctx, &mut c, id, Action::Read).await?;
    let page =
        Page::new(ctx, "checklists.title").await.with_flash(flash).with_title(format!("{} · {}", run.name, a.name));
    let page = match &refused {
        Some((_, e)) => page.with_form_errors(e),
        None => page,
    };
    let can_tick = ctx.can(Object::Asset, Action::Update, a.entity_id);
    let can_abandon = ctx.can(Object::Asset, Action::Delete, a.entity_id);
    Ok(render_status(status, &RunPage { page, a, run, can_tick, can_abandon, refused, typed }))
}

async fn run_page(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<OkQuery>) -> AppResult<Response> {
    run_view(&ctx, ChecklistRunId(id), q.ok.as_deref(), None, String::new(), StatusCode::OK).await
}

#[derive(Deserialize)]
struct TickForm {
    value: Option<String>,
}

async fn tick_form(
    State(state): State<AppState>,
    Path((id, step)): Path<(i64, i64)>,
    FormWithFiles(ctx, f, files): FormWithFiles<TickForm>,
) -> AppResult<Response> {
    let run_id = ChecklistRunId(id);
    let typed = f.value.clone().unwrap_or_default();
    let files = match files {
        Ok(files) => files,
        Err(e) => {
            let status = refusal_status(&e);
            return run_view(&ctx, run_id, None, Some((step, photo_errors(e))), typed, status).await;
        }
    };
    let mut tx = state.store.write().await?;
    let (a, run) = visible_run(&ctx, &mut tx, run_id, Action::Update).await?;
    let photo = match photo_of(&files) {
        Ok(p) => p,
        Err(e) => {
            drop(tx);
            return run_view(&ctx, run_id, None, Some((step, e)), typed, StatusCode::UNPROCESSABLE_ENTITY).await;
        }
    };
    match tick(&ctx, &mut tx, &a, &run, step, f.value, photo).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(&format!("/checklists/runs/{id}#step-{step}"), None))
        }
        Err(AppError::Validation(e)) => {
            drop(tx);
            run_view(&ctx, run_id, None, Some((step, e)), typed, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

async fn untick_form(
    State(state): State<AppState>,
    Path((id, step)): Path<(i64, i64)>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let (a, run) = visible_run(&ctx, &mut tx, ChecklistRunId(id), Action::Update).await?;
    checklists::untick(&mut tx, &ctx.actor(), &a, &run, step).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/checklists/runs/{id}#step-{step}"), None))
}

async fn abandon_form(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let (a, run) = visible_run(&ctx, &mut tx, ChecklistRunId(id), Action::Delete).await?;
    checklists::delete_run(&mut tx, &ctx.actor(), &a, &run).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/assets/{}", a.id), Some("checklists.abandoned")))
}

async fn photo_page(ctx: Ctx, Path((id, step)): Path<(i64, i64)>) -> AppResult<Response> {
    photo_response(&ctx, ChecklistRunId(id), step).await
}
