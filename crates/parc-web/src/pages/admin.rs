//! Administration pages: the entity tree, locations, users (profiles, passwords, API tokens)
//! and the organisation settings with the logo upload.
//!
//! The rights checks live here too and are shared with the JSON API (`api/admin.rs`), so both
//! faces apply the same rules: an object out of read scope does not exist (404), a visible
//! object the caller may not change is forbidden (403), and a choice the caller may not make
//! in a form (an entity, a profile) is a per-field error (422).

use super::{render_status, see_other, Page};
use crate::api::{ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::{constant_time_eq, opt_id, CsrfForm, CsrfOnly, OkQuery};
use crate::AppState;
use askama::Template;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use parc_core::audit::ObjectType;
use parc_core::locations::LocationKind;
use parc_core::permissions::{Action, Grant, Grants, Object, Profile};
use parc_core::{EntityId, LocationId, TokenId, UserId, ValidationErrors};
use parc_store::audit::{self, AuditEvent};
use parc_store::entities::{self, Entity, EntityInput, EntityUsage};
use parc_store::locations::{self, Location, LocationInput};
use parc_store::settings::{self, Settings};
use parc_store::users::{self, ApiToken, User, UserInput};
use parc_store::{secrets, Conn, StoreError};
use serde::Deserialize;
use std::collections::{HashMap, HashSet};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/entities", get(entity_list))
        .route("/entities/new", get(entity_new).post(entity_create))
        .route("/entities/{id}", get(entity_show))
        .route("/entities/{id}/edit", get(entity_edit).post(entity_update))
        .route("/entities/{id}/delete", post(entity_delete))
        .route("/locations", get(location_list))
        .route("/locations/new", get(location_new).post(location_create))
        .route("/locations/{id}", get(location_show))
        .route("/locations/{id}/edit", get(location_edit).post(location_update))
        .route("/locations/{id}/delete", post(location_delete))
        .route("/users", get(user_list))
        .route("/users/new", get(user_new).post(user_create))
        .route("/users/{id}", get(user_show))
        .route("/users/{id}/edit", get(user_edit).post(user_update))
        .route("/users/{id}/grants", post(user_grants))
        .route("/users/{id}/password", post(user_password))
        .route("/users/{id}/tokens/{token}/revoke", post(user_revoke_token))
        .route("/settings", get(settings_form).post(settings_save))
        .route("/settings/logo/delete", post(settings_remove_logo))
}

// ---- rights, shared with the API ----

fn forbidden(why: &str) -> AppError {
    AppError::Forbidden(why.into())
}

/// Whether the caller may do `action` on `object` in a chosen `entity` (a form field): an
/// entity out of read scope does not exist for them.
pub(crate) fn entity_choice(
    ctx: &Ctx,
    object: Object,
    action: Action,
    entity: EntityId,
    field: &str,
) -> Result<(), ValidationErrors> {
    if !ctx.can(object, Action::Read, entity) {
        Err(ValidationErrors::single(field, "not_found", "no such entity"))
    } else if !ctx.can(object, action, entity) {
        Err(ValidationErrors::single(field, "forbidden_entity", "your profile does not allow this in this entity"))
    } else {
        Ok(())
    }
}

/// An entity the caller may see, with `action` checked on the entity itself.
pub(crate) async fn visible_entity(ctx: &Ctx, c: &mut Conn, id: EntityId, action: Action) -> AppResult<Entity> {
    if !ctx.can(Object::Entity, Action::Read, id) {
        return Err(AppError::NotFound);
    }
    let e = entities::get(c, id).await?.ok_or(AppError::NotFound)?;
    if !ctx.can(Object::Entity, action, id) {
        return Err(forbidden("your profile does not allow this on this entity"));
    }
    Ok(e)
}

/// The parent an entity input leads to: a positive id, the top level for 0 or less, and the
/// current parent when the field is absent.
pub(crate) fn entity_parent(input: &EntityInput, old: Option<&Entity>) -> Option<EntityId> {
    match input.parent_id {
        Some(p) if p > 0 => Some(EntityId(p)),
        Some(_) => None,
        None => old.and_then(|o| o.parent_id),
    }
}

/// Where the caller may place an entity: below one where they create entities, or at the top
/// level for a super-admin only. Only checked when the parent is new.
pub(crate) fn check_entity_parent(
    ctx: &Ctx,
    input: &EntityInput,
    old: Option<&Entity>,
) -> Result<(), ValidationErrors> {
    let parent = entity_parent(input, old);
    if old.is_some_and(|o| o.parent_id == parent) {
        return Ok(());
    }
    match parent {
        Some(p) => entity_choice(ctx, Object::Entity, Action::Create, p, "parent_id"),
        None if ctx.grants.is_super_admin() => Ok(()),
        None => Err(ValidationErrors::single(
            "parent_id",
            "forbidden_root",
            "only a super-administrator creates top-level entities",
        )),
    }
}

/// Creates an entity (rights already checked). Profiles are scoped to subtrees, so a new
/// top-level entity would be invisible even to the super-admin who creates it: their
/// super-admin profile is extended to it, in the same transaction (and audited).
pub(crate) async fn create_entity(ctx: &Ctx, c: &mut Conn, input: &EntityInput) -> Result<Entity, StoreError> {
    let e = entities::create(c, &ctx.actor(), input).await?;
    if e.parent_id.is_none() {
        let mut grants = users::grants(c, ctx.user.id).await?.0;
        grants.push(Grant { entity_id: e.id, profile: Profile::SuperAdmin, recursive: true });
        users::set_grants(c, &ctx.actor(), ctx.user.id, &grants).await?;
    }
    Ok(e)
}

/// Deletes an empty entity (rights already checked). The caller's own profiles on it (such as
/// the one `create_entity` gave) would otherwise block the deletion: they go with it. Anything
/// else still in it, other users' profiles included, is a conflict and rolls everything back.
pub(crate) async fn delete_entity(ctx: &Ctx, c: &mut Conn, id: EntityId) -> Result<(), StoreError> {
    let mine = users::grants(c, ctx.user.id).await?.0;
    if mine.iter().any(|g| g.entity_id == id) {
        let kept: Vec<Grant> = mine.into_iter().filter(|g| g.entity_id != id).collect();
        users::set_grants(c, &ctx.actor(), ctx.user.id, &kept).await?;
    }
    entities::delete(c, &ctx.actor(), id).await
}

/// A location the caller may see, with `action` checked on its entity.
pub(crate) async fn visible_location(ctx: &Ctx, c: &mut Conn, id: LocationId, action: Action) -> AppResult<Location> {
    let l = locations::get(c, id).await?.ok_or(AppError::NotFound)?;
    if !ctx.can(Object::Location, Action::Read, l.entity_id) {
        return Err(AppError::NotFound);
    }
    if !ctx.can(Object::Location, action, l.entity_id) {
        return Err(forbidden("your profile does not allow this on this location"));
    }
    Ok(l)
}

/// A location may be created in (or moved to) an entity where the caller creates locations.
pub(crate) fn check_location_entity(
    ctx: &Ctx,
    input: &LocationInput,
    old: Option<&Location>,
) -> Result<(), ValidationErrors> {
    match input.entity_id {
        Some(e) if old.map(|o| o.entity_id.0) != Some(e) => {
            entity_choice(ctx, Object::Location, Action::Create, EntityId(e), "entity_id")
        }
        _ => Ok(()),
    }
}

/// A user the caller may see (their entity is in the caller's user read scope).
pub(crate) async fn visible_user(ctx: &Ctx, c: &mut Conn, id: UserId) -> AppResult<User> {
    let u = users::get(c, id).await?.ok_or(AppError::NotFound)?;
    if !ctx.can(Object::User, Action::Read, u.entity_id) {
        return Err(AppError::NotFound);
    }
    Ok(u)
}

/// Whether the caller manages `user` holding `grants`: they update users of the user's entity
/// and could have given every profile the user holds. The second rule stops an admin from
/// taking over (password, tokens) an account that holds more than they do.
pub(crate) fn manages(ctx: &Ctx, user: &User, grants: &Grants) -> bool {
    ctx.can(Object::User, Action::Update, user.entity_id) && grants.0.iter().all(|g| ctx.grants.may_grant(&ctx.tree, g))
}

/// A user the caller may change, with their profiles.
pub(crate) async fn managed_user(ctx: &Ctx, c: &mut Conn, id: UserId) -> AppResult<(User, Grants)> {
    let u = visible_user(ctx, c, id).await?;
    let g = users::grants(c, id).await?;
    if !manages(ctx, &u, &g) {
        return Err(forbidden("this user is outside what your profile manages"));
    }
    Ok((u, g))
}

/// Rules on a user's fields: the entity must be one where the caller creates users, and nobody
/// deactivates their own account (they would lock themselves out).
pub(crate) fn check_user_input(ctx: &Ctx, input: &UserInput, old: Option<&User>) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::new();
    if let Some(e) = input.entity_id.filter(|e| old.map(|o| o.entity_id.0) != Some(*e)) {
        if let Err(v) = entity_choice(ctx, Object::User, Action::Create, EntityId(e), "entity_id") {
            errors.fields.extend(v.fields);
        }
    }
    if old.is_some_and(|o| o.id == ctx.user.id) && input.active == Some(false) {
        errors.add("active", "self_deactivate", "you cannot deactivate your own account");
    }
    errors.into_result()
}

/// Every profile given must be one the caller may grant; errors name `grants[<index>]`.
/// Profiles the user keeps pass (`managed_user` required the caller could grant them all), so
/// removing a profile needs no more right than giving it.
pub(crate) fn check_grants(ctx: &Ctx, grants: &[Grant]) -> Result<(), ValidationErrors> {
    let mut errors = ValidationErrors::new();
    for (i, g) in grants.iter().enumerate() {
        let field = format!("grants[{i}]");
        let out_of_scope = !ctx.can(Object::User, Action::Read, g.entity_id) && !ctx.grants.is_super_admin();
        if !ctx.tree.contains(g.entity_id) || out_of_scope {
            errors.add(&field, "not_found", "no such entity");
        } else if !ctx.grants.may_grant(&ctx.tree, g) {
            errors.add(&field, "forbidden_grant", "you cannot grant this profile on this entity");
        }
    }
    errors.into_result()
}

/// Checks the password policy and hashes (argon2id, on a blocking thread).
pub(crate) async fn hash_new_password(password: String) -> AppResult<String> {
    if let Err(code) = secrets::check_password_policy(&password) {
        let msg = if code == "too_long" { "must be at most 256 characters" } else { "must be at least 10 characters" };
        return Err(AppError::field("password", code, msg));
    }
    tokio::task::spawn_blocking(move || secrets::hash_password(&password))
        .await
        .map_err(|e| AppError::Internal(format!("password hashing task: {e}")))?
        .map_err(Into::into)
}

/// The largest logo accepted.
pub(crate) const LOGO_MAX_BYTES: usize = 500 * 1024;

/// The image type of a logo, from its content (never from a file name or a declared type).
fn logo_mime(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if is_safe_svg(bytes) {
        Some("image/svg+xml")
    } else {
        None
    }
}

/// An SVG document without active content. Browsers run no script in an `<img>`, but the
/// data URL is also printed on labels and could be opened elsewhere, so scripts, event
/// handlers and entity declarations are refused rather than trusted.
fn is_safe_svg(bytes: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(bytes) else {
        return false;
    };
    let t = text.trim_start_matches('\u{feff}').trim_start().to_ascii_lowercase();
    let svg_start = ["<?xml", "<svg", "<!--", "<!doctype svg"].iter().any(|p| t.starts_with(p));
    let active = ["<script", "javascript:", "<!entity", "<foreignobject"].iter().any(|p| t.contains(p));
    let handler = t.match_indices("on").any(|(i, _)| {
        let before = t[..i].chars().next_back();
        let rest = &t[i + 2..];
        let name_len = rest.chars().take_while(char::is_ascii_alphabetic).count();
        before.is_some_and(|c| c.is_whitespace() || c == '/' || c == '"' || c == '\'')
            && name_len > 0
            && rest[name_len..].trim_start().starts_with('=')
    });
    svg_start && t.contains("<svg") && !active && !handler
}

/// A logo file as the `data:` URL stored in the settings; errors name the `logo` field.
pub(crate) fn logo_data_url(bytes: &[u8]) -> Result<String, ValidationErrors> {
    if bytes.len() > LOGO_MAX_BYTES {
        return Err(ValidationErrors::single("logo", "too_large", "must be at most 500 KB"));
    }
    let mime = logo_mime(bytes)
        .ok_or_else(|| ValidationErrors::single("logo", "image_format", "must be a PNG, JPEG or SVG image"))?;
    Ok(format!("data:{mime};base64,{}", STANDARD.encode(bytes)))
}

/// Checks a logo given as a `data:` URL (the API) the same way as an upload: the decoded
/// content must be the image it claims to be.
pub(crate) fn check_logo_url(url: &str) -> Result<String, ValidationErrors> {
    if url.is_empty() {
        return Ok(String::new());
    }
    let bad =
        || ValidationErrors::single("logo", "image_format", "must be a PNG, JPEG or SVG image as a base64 data: URL");
    let (head, data) = url.split_once(',').ok_or_else(bad)?;
    let declared = head.strip_prefix("data:").and_then(|h| h.strip_suffix(";base64")).ok_or_else(bad)?;
    let bytes = STANDARD.decode(data.trim()).map_err(|_| bad())?;
    let canonical = logo_data_url(&bytes)?;
    if !canonical.starts_with(&format!("data:{declared};")) {
        return Err(bad());
    }
    Ok(canonical)
}

/// Only a super-admin changes the settings.
pub(crate) fn require_settings_update(ctx: &Ctx) -> AppResult<()> {
    if ctx.can_anywhere(Object::Settings, Action::Update) {
        Ok(())
    } else {
        Err(forbidden("only a super-administrator changes the settings"))
    }
}

// ---- page helpers ----

/// The translated message of a field's first error: `admin.err.<code>`, then `err.<code>`,
/// then the store's English text.
fn field_error(page: &Page, errors: &ValidationErrors, field: &str) -> Option<String> {
    errors.for_field(field).map(|f| error_text(page, &f.code, &f.message))
}

fn error_text(page: &Page, code: &str, fallback: &str) -> String {
    for key in [format!("admin.err.{code}"), format!("err.{code}")] {
        let text = page.t(&key);
        if text != key {
            return text.to_owned();
        }
    }
    fallback.to_owned()
}

/// Splits a store result: validation problems go back to the form, anything else is an error.
pub(crate) fn form_result<T>(r: Result<T, StoreError>) -> AppResult<Result<T, ValidationErrors>> {
    match r {
        Ok(v) => Ok(Ok(v)),
        Err(StoreError::Validation(v)) => Ok(Err(v)),
        Err(e) => Err(e.into()),
    }
}

/// Adds the problems of `b` on fields `a` does not mention yet.
fn merge(mut a: ValidationErrors, b: ValidationErrors) -> ValidationErrors {
    for f in b.fields {
        if a.for_field(&f.field).is_none() {
            a.fields.push(f);
        }
    }
    a
}

/// A name indented by its depth in the tree, with characters rather than CSS so that it also
/// works inside `<option>`s.
pub(crate) fn indented(name: &str, depth: usize) -> String {
    if depth == 0 {
        name.to_owned()
    } else {
        format!("{}└\u{a0}{name}", "\u{a0}\u{a0}\u{a0}".repeat(depth - 1))
    }
}

/// The shown entities depth-first (siblings by name) with their depth; one whose parent is
/// not shown starts a tree of its own.
fn tree_order(all: &[Entity], shown: impl Fn(EntityId) -> bool) -> Vec<(&Entity, usize)> {
    let ids: HashSet<EntityId> = all.iter().map(|e| e.id).filter(|id| shown(*id)).collect();
    let mut children: HashMap<Option<EntityId>, Vec<&Entity>> = HashMap::new();
    for e in all.iter().filter(|e| ids.contains(&e.id)) {
        children.entry(e.parent_id.filter(|p| ids.contains(p))).or_default().push(e);
    }
    let mut out = Vec::with_capacity(ids.len());
    let mut stack: Vec<(&Entity, usize)> =
        children.get(&None).map(|v| v.iter().rev().map(|e| (*e, 0)).collect()).unwrap_or_default();
    while let Some((e, depth)) = stack.pop() {
        out.push((e, depth));
        if let Some(kids) = children.get(&Some(e.id)) {
            stack.extend(kids.iter().rev().map(|k| (*k, depth + 1)));
        }
    }
    out
}

/// `(id, indented name)` of the entities where `action` on `object` is allowed, for `<select>`s.
pub(crate) async fn entity_options(
    ctx: &Ctx,
    c: &mut Conn,
    object: Object,
    action: Action,
) -> AppResult<Vec<(EntityId, String)>> {
    let all = entities::list_all(c).await?;
    Ok(tree_order(&all, |id| ctx.can(object, action, id))
        .into_iter()
        .map(|(e, d)| (e.id, indented(&e.name, d)))
        .collect())
}

async fn entity_names(c: &mut Conn) -> AppResult<HashMap<EntityId, String>> {
    Ok(entities::list_all(c).await?.into_iter().map(|e| (e.id, e.name)).collect())
}

/// A user search as typed: trimmed, bounded, without control characters (PostgreSQL refuses
/// a NUL in text).
pub(crate) fn search_text(q: Option<&str>) -> String {
    q.unwrap_or_default().trim().chars().filter(|c| !c.is_control()).take(200).collect()
}

/// Shows the history's ids and codes as people read them: the values of `field` through `show`
/// (a value `show` does not know stays as recorded).
pub(crate) fn humanize(history: &mut [AuditEvent], field: &str, show: impl Fn(&str) -> Option<String>) {
    for ch in history.iter_mut().flat_map(|e| e.changes.iter_mut()).filter(|c| c.field == field) {
        for v in [&mut ch.old, &mut ch.new].into_iter().flatten() {
            if let Some(s) = show(v) {
                *v = s;
            }
        }
    }
}

pub(crate) fn name_of_entity(names: &HashMap<EntityId, String>) -> impl Fn(&str) -> Option<String> + '_ {
    |v| v.parse::<i64>().ok().and_then(|id| names.get(&EntityId(id)).cloned())
}

/// A form posts every field as text; this reads an optional id that may be empty.
fn id_field(field: &str, value: &str, errors: &mut ValidationErrors) -> Option<i64> {
    opt_id(field, &Some(value.to_owned()), errors)
}

// ---- entities ----

struct EntityRow {
    id: EntityId,
    label: String,
    usage: EntityUsage,
    children: usize,
}

#[derive(Template)]
#[template(path = "admin/entities.html")]
struct EntitiesPage {
    page: Page,
    rows: Vec<EntityRow>,
    can_create: bool,
}

async fn entity_list(ctx: Ctx, ApiQuery(q): ApiQuery<OkQuery>) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let all = entities::list_all(&mut c).await?;
    let usage = entities::usage(&mut c).await?;
    drop(c);
    let rows = tree_order(&all, |id| ctx.can(Object::Entity, Action::Read, id))
        .into_iter()
        .map(|(e, d)| EntityRow {
            id: e.id,
            label: indented(&e.name, d),
            usage: usage.get(&e.id).copied().unwrap_or_default(),
            children: ctx.tree.children(e.id).len(),
        })
        .collect();
    let page = Page::new(&ctx, "nav.entities").await.with_flash(q.ok.as_deref());
    Ok(render_status(
        StatusCode::OK,
        &EntitiesPage { page, rows, can_create: ctx.can_anywhere(Object::Entity, Action::Create) },
    ))
}

#[derive(Template)]
#[template(path = "admin/entity.html")]
struct EntityPage {
    page: Page,
    e: Entity,
    parent: Option<(EntityId, String)>,
    /// Whether the parent is in the caller's scope (a link) or only named.
    parent_readable: bool,
    children: Vec<(EntityId, String)>,
    usage: EntityUsage,
    history: Vec<AuditEvent>,
    can_edit: bool,
    can_delete: bool,
    can_add_child: bool,
    error: Option<String>,
}

async fn entity_page(
    ctx: &Ctx,
    id: EntityId,
    flash: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let e = visible_entity(ctx, &mut c, id, Action::Read).await?;
    let names = entity_names(&mut c).await?;
    let usage = entities::usage(&mut c).await?.get(&id).copied().unwrap_or_default();
    let mut history = audit::for_object(&mut c, ObjectType::Entity, id.0, 200).await?;
    drop(c);
    humanize(&mut history, "parent_id", name_of_entity(&names));
    let parent = e.parent_id.map(|p| (p, names.get(&p).cloned().unwrap_or_default()));
    let parent_readable = e.parent_id.is_some_and(|p| ctx.can(Object::Entity, Action::Read, p));
    let mut children: Vec<(EntityId, String)> = ctx
        .tree
        .children(id)
        .iter()
        .filter(|k| ctx.can(Object::Entity, Action::Read, **k))
        .map(|k| (*k, names.get(k).cloned().unwrap_or_default()))
        .collect();
    children.sort_by_key(|(_, n)| n.to_lowercase());
    let page = Page::new(ctx, "nav.entities").await.with_flash(flash).with_title(e.name.clone());
    let p = EntityPage {
        page,
        parent,
        parent_readable,
        children,
        usage,
        history,
        can_edit: ctx.can(Object::Entity, Action::Update, id),
        can_delete: ctx.can(Object::Entity, Action::Delete, id),
        can_add_child: ctx.can(Object::Entity, Action::Create, id),
        error,
        e,
    };
    Ok(render_status(status, &p))
}

async fn entity_show(ctx: Ctx, ApiPath(id): ApiPath<i64>, ApiQuery(q): ApiQuery<OkQuery>) -> AppResult<Response> {
    entity_page(&ctx, EntityId(id), q.ok.as_deref(), None, StatusCode::OK).await
}

/// The entity form as a browser sends it.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct EntityForm {
    name: String,
    parent_id: String,
    comment: String,
}

impl EntityForm {
    fn from_entity(e: &Entity) -> Self {
        EntityForm {
            name: e.name.clone(),
            parent_id: e.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            comment: e.comment.clone().unwrap_or_default(),
        }
    }

    fn to_input(&self, errors: &mut ValidationErrors) -> EntityInput {
        EntityInput {
            name: Some(self.name.clone()),
            // An empty choice means the top level.
            parent_id: Some(id_field("parent_id", &self.parent_id, errors).unwrap_or(0)),
            comment: Some(self.comment.clone()),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/entity_form.html")]
struct EntityFormPage {
    page: Page,
    action: String,
    cancel: String,
    is_new: bool,
    v: EntityForm,
    errors: ValidationErrors,
    parents: Vec<(EntityId, String)>,
    root_allowed: bool,
}

impl EntityFormPage {
    fn err(&self, field: &str) -> Option<String> {
        field_error(&self.page, &self.errors, field)
    }
}

async fn entity_form(
    ctx: &Ctx,
    old: Option<&Entity>,
    v: EntityForm,
    errors: ValidationErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let mut parents = entity_options(ctx, &mut c, Object::Entity, Action::Create).await?;
    if let Some(o) = old {
        // Not below itself; and the current parent stays choosable, or saving would move it.
        let below: HashSet<EntityId> = ctx.tree.subtree(o.id).into_iter().collect();
        parents.retain(|(id, _)| !below.contains(id));
        if let Some(p) = o.parent_id.filter(|p| !parents.iter().any(|(id, _)| id == p)) {
            let name = entities::get(&mut c, p).await?.map(|e| e.name).unwrap_or_default();
            parents.insert(0, (p, name));
        }
    }
    let root_allowed = ctx.grants.is_super_admin() || old.is_some_and(|o| o.parent_id.is_none());
    let (action, cancel, title) = match old {
        Some(o) => (format!("/entities/{}/edit", o.id), format!("/entities/{}", o.id), "admin.entity_edit"),
        None => ("/entities/new".to_owned(), "/entities".to_owned(), "admin.entity_new"),
    };
    let mut page = Page::new(ctx, title).await;
    if !errors.is_empty() {
        page.flash = Some(ctx.tr("common.form_errors").to_owned());
    }
    Ok(render_status(
        status,
        &EntityFormPage { page, action, cancel, is_new: old.is_none(), v, errors, parents, root_allowed },
    ))
}

#[derive(Deserialize)]
struct NewEntityQuery {
    parent_id: Option<i64>,
}

async fn entity_new(ctx: Ctx, ApiQuery(q): ApiQuery<NewEntityQuery>) -> AppResult<Response> {
    if !ctx.can_anywhere(Object::Entity, Action::Create) {
        return Err(forbidden("your profile cannot create entities"));
    }
    let parent = q.parent_id.or_else(|| (!ctx.grants.is_super_admin()).then_some(ctx.user.entity_id.0));
    let v = EntityForm { parent_id: parent.map(|p| p.to_string()).unwrap_or_default(), ..Default::default() };
    entity_form(&ctx, None, v, ValidationErrors::new(), StatusCode::OK).await
}

async fn entity_create(State(state): State<AppState>, CsrfForm(ctx, f): CsrfForm<EntityForm>) -> AppResult<Response> {
    let mut errors = ValidationErrors::new();
    let input = f.to_input(&mut errors);
    if let (true, Err(e)) = (errors.is_empty(), check_entity_parent(&ctx, &input, None)) {
        errors = e;
    }
    if !errors.is_empty() {
        return entity_form(&ctx, None, f, errors, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let mut tx = state.store.write().await?;
    match form_result(create_entity(&ctx, &mut tx, &input).await)? {
        Ok(e) => {
            tx.commit().await?;
            Ok(see_other(&format!("/entities/{}", e.id), Some("admin.entity_created")))
        }
        Err(v) => {
            drop(tx);
            entity_form(&ctx, None, f, v, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

async fn entity_edit(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let e = visible_entity(&ctx, &mut c, EntityId(id), Action::Update).await?;
    drop(c);
    entity_form(&ctx, Some(&e), EntityForm::from_entity(&e), ValidationErrors::new(), StatusCode::OK).await
}

async fn entity_update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, f): CsrfForm<EntityForm>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let old = visible_entity(&ctx, &mut tx, EntityId(id), Action::Update).await?;
    let mut errors = ValidationErrors::new();
    let input = f.to_input(&mut errors);
    if let (true, Err(e)) = (errors.is_empty(), check_entity_parent(&ctx, &input, Some(&old))) {
        errors = e;
    }
    let result = if errors.is_empty() {
        form_result(entities::update(&mut tx, &ctx.actor(), old.id, &input).await)?
    } else {
        Err(errors)
    };
    match result {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(&format!("/entities/{id}"), Some("common.saved")))
        }
        Err(v) => {
            drop(tx);
            entity_form(&ctx, Some(&old), f, v, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

async fn entity_delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let e = visible_entity(&ctx, &mut tx, EntityId(id), Action::Delete).await?;
    match delete_entity(&ctx, &mut tx, e.id).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(see_other("/entities", Some("admin.entity_deleted")))
        }
        Err(StoreError::Conflict(_)) => {
            drop(tx);
            let msg = ctx.tr("admin.entity_not_empty").to_owned();
            entity_page(&ctx, e.id, None, Some(msg), StatusCode::CONFLICT).await
        }
        Err(err) => Err(err.into()),
    }
}

// ---- locations ----

struct LocationRow {
    l: Location,
    entity_name: String,
}

#[derive(Template)]
#[template(path = "admin/locations.html")]
struct LocationsPage {
    page: Page,
    rows: Vec<LocationRow>,
    entities: Vec<(EntityId, String)>,
    entity: String,
    can_create: bool,
    count_text: String,
}

#[derive(Deserialize)]
struct LocationListQuery {
    entity_id: Option<String>,
    ok: Option<String>,
}

async fn location_list(ctx: Ctx, ApiQuery(q): ApiQuery<LocationListQuery>) -> AppResult<Response> {
    let entity = q.entity_id.unwrap_or_default();
    let mut scope = ctx.entity_ids(Object::Location, Action::Read);
    if let Ok(e) = entity.trim().parse::<i64>() {
        scope.retain(|x| *x == e);
    }
    let mut c = ctx.state.store.read().await?;
    let names = entity_names(&mut c).await?;
    let entities = entity_options(&ctx, &mut c, Object::Location, Action::Read).await?;
    let rows: Vec<LocationRow> = locations::list(&mut c, &scope)
        .await?
        .into_iter()
        .map(|l| LocationRow { entity_name: names.get(&l.entity_id).cloned().unwrap_or_default(), l })
        .collect();
    drop(c);
    let page = Page::new(&ctx, "nav.locations").await.with_flash(q.ok.as_deref());
    let count_text = page.tf("common.results", &[("count", &rows.len().to_string())]);
    let can_create = ctx.can_anywhere(Object::Location, Action::Create);
    Ok(render_status(StatusCode::OK, &LocationsPage { page, rows, entities, entity, can_create, count_text }))
}

#[derive(Template)]
#[template(path = "admin/location.html")]
struct LocationPage {
    page: Page,
    l: Location,
    entity_name: String,
    /// The parent's id and path.
    parent: Option<(LocationId, String)>,
    children: Vec<Location>,
    history: Vec<AuditEvent>,
    can_edit: bool,
    can_delete: bool,
    error: Option<String>,
}

async fn location_page(
    ctx: &Ctx,
    id: LocationId,
    flash: Option<&str>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let l = visible_location(ctx, &mut c, id, Action::Read).await?;
    let names = entity_names(&mut c).await?;
    let entity_name = names.get(&l.entity_id).cloned().unwrap_or_default();
    let same_entity = locations::list(&mut c, &[l.entity_id.0]).await?;
    let parent = same_entity.iter().find(|x| Some(x.id) == l.parent_id).map(|x| (x.id, x.path.clone()));
    let mut history = audit::for_object(&mut c, ObjectType::Location, id.0, 200).await?;
    drop(c);
    humanize(&mut history, "entity_id", name_of_entity(&names));
    humanize(&mut history, "parent_id", |v| same_entity.iter().find(|x| x.id.to_string() == v).map(|x| x.path.clone()));
    humanize(&mut history, "kind", |v| {
        Some(ctx.state.i18n.t(ctx.lang, &format!("admin.location_kind.{v}")).to_owned())
    });
    let children = same_entity.into_iter().filter(|x| x.parent_id == Some(id)).collect();
    let page = Page::new(ctx, "nav.locations").await.with_flash(flash).with_title(l.path.clone());
    let p = LocationPage {
        page,
        entity_name,
        parent,
        children,
        history,
        can_edit: ctx.can(Object::Location, Action::Update, l.entity_id),
        can_delete: ctx.can(Object::Location, Action::Delete, l.entity_id),
        error,
        l,
    };
    Ok(render_status(status, &p))
}

async fn location_show(ctx: Ctx, ApiPath(id): ApiPath<i64>, ApiQuery(q): ApiQuery<OkQuery>) -> AppResult<Response> {
    location_page(&ctx, LocationId(id), q.ok.as_deref(), None, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct LocationForm {
    entity_id: String,
    kind: String,
    parent_id: String,
    name: String,
    address: String,
    comment: String,
}

impl LocationForm {
    fn from_location(l: &Location) -> Self {
        LocationForm {
            entity_id: l.entity_id.to_string(),
            kind: l.kind.as_str().to_owned(),
            parent_id: l.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            name: l.name.clone(),
            address: l.address.clone().unwrap_or_default(),
            comment: l.comment.clone().unwrap_or_default(),
        }
    }

    fn to_input(&self, errors: &mut ValidationErrors) -> LocationInput {
        LocationInput {
            entity_id: id_field("entity_id", &self.entity_id, errors),
            parent_id: Some(id_field("parent_id", &self.parent_id, errors).unwrap_or(0)),
            kind: Some(self.kind.clone()).filter(|k| !k.is_empty()),
            name: Some(self.name.clone()),
            address: Some(self.address.clone()),
            comment: Some(self.comment.clone()),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/location_form.html")]
struct LocationFormPage {
    page: Page,
    action: String,
    cancel: String,
    is_new: bool,
    v: LocationForm,
    errors: ValidationErrors,
    entities: Vec<(EntityId, String)>,
    /// Sites and buildings that can hold the location: (id, "Entity — Site > Building").
    parents: Vec<(LocationId, String)>,
    kinds: Vec<LocationKind>,
}

impl LocationFormPage {
    fn err(&self, field: &str) -> Option<String> {
        field_error(&self.page, &self.errors, field)
    }
}

async fn location_form(
    ctx: &Ctx,
    old: Option<&Location>,
    v: LocationForm,
    errors: ValidationErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let mut entities = entity_options(ctx, &mut c, Object::Location, Action::Create).await?;
    if let Some(o) = old.filter(|o| !entities.iter().any(|(id, _)| *id == o.entity_id)) {
        let name = entities::get(&mut c, o.entity_id).await?.map(|e| e.name).unwrap_or_default();
        entities.insert(0, (o.entity_id, name));
    }
    let ids: Vec<i64> = entities.iter().map(|(id, _)| id.0).collect();
    let names = entity_names(&mut c).await?;
    let parents = locations::list(&mut c, &ids)
        .await?
        .into_iter()
        .filter(|l| l.kind != LocationKind::Room && old.is_none_or(|o| o.id != l.id))
        .map(|l| (l.id, format!("{} — {}", names.get(&l.entity_id).map(String::as_str).unwrap_or_default(), l.path)))
        .collect();
    drop(c);
    let (action, cancel, title) = match old {
        Some(o) => (format!("/locations/{}/edit", o.id), format!("/locations/{}", o.id), "admin.location_edit"),
        None => ("/locations/new".to_owned(), "/locations".to_owned(), "admin.location_new"),
    };
    let mut page = Page::new(ctx, title).await;
    if !errors.is_empty() {
        page.flash = Some(ctx.tr("common.form_errors").to_owned());
    }
    let p = LocationFormPage {
        page,
        action,
        cancel,
        is_new: old.is_none(),
        v,
        errors,
        entities,
        parents,
        kinds: LocationKind::ALL.to_vec(),
    };
    Ok(render_status(status, &p))
}

#[derive(Deserialize)]
struct NewLocationQuery {
    entity_id: Option<i64>,
    parent_id: Option<i64>,
    kind: Option<String>,
}

async fn location_new(ctx: Ctx, ApiQuery(q): ApiQuery<NewLocationQuery>) -> AppResult<Response> {
    if !ctx.can_anywhere(Object::Location, Action::Create) {
        return Err(forbidden("your profile cannot create locations"));
    }
    let v = LocationForm {
        entity_id: q.entity_id.unwrap_or(ctx.user.entity_id.0).to_string(),
        parent_id: q.parent_id.map(|p| p.to_string()).unwrap_or_default(),
        kind: q.kind.unwrap_or_else(|| "site".into()),
        ..Default::default()
    };
    location_form(&ctx, None, v, ValidationErrors::new(), StatusCode::OK).await
}

async fn location_create(
    State(state): State<AppState>,
    CsrfForm(ctx, f): CsrfForm<LocationForm>,
) -> AppResult<Response> {
    let mut errors = ValidationErrors::new();
    let mut input = f.to_input(&mut errors);
    // A site has no parent: ignore a parent left selected in the form.
    if input.kind.as_deref() == Some("site") {
        input.parent_id = Some(0);
    }
    if let Err(e) = check_location_entity(&ctx, &input, None) {
        errors = merge(errors, e);
    }
    let mut tx = state.store.write().await?;
    let result = if errors.is_empty() {
        form_result(locations::create(&mut tx, &ctx.actor(), &input).await)?
    } else {
        Err(errors)
    };
    match result {
        Ok(l) => {
            tx.commit().await?;
            Ok(see_other(&format!("/locations/{}", l.id), Some("admin.location_created")))
        }
        Err(v) => {
            drop(tx);
            location_form(&ctx, None, f, v, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

async fn location_edit(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let l = visible_location(&ctx, &mut c, LocationId(id), Action::Update).await?;
    drop(c);
    location_form(&ctx, Some(&l), LocationForm::from_location(&l), ValidationErrors::new(), StatusCode::OK).await
}

async fn location_update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, f): CsrfForm<LocationForm>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let old = visible_location(&ctx, &mut tx, LocationId(id), Action::Update).await?;
    let mut errors = ValidationErrors::new();
    let mut input = f.to_input(&mut errors);
    if input.kind.as_deref() == Some("site") {
        input.parent_id = Some(0);
    }
    if let Err(e) = check_location_entity(&ctx, &input, Some(&old)) {
        errors = merge(errors, e);
    }
    let result = if errors.is_empty() {
        form_result(locations::update(&mut tx, &ctx.actor(), old.id, &input).await)?
    } else {
        Err(errors)
    };
    match result {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(&format!("/locations/{id}"), Some("common.saved")))
        }
        Err(v) => {
            drop(tx);
            location_form(&ctx, Some(&old), f, v, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

async fn location_delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let l = visible_location(&ctx, &mut tx, LocationId(id), Action::Delete).await?;
    match locations::delete(&mut tx, &ctx.actor(), l.id).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(see_other("/locations", Some("admin.location_deleted")))
        }
        Err(StoreError::Conflict(_)) => {
            drop(tx);
            let msg = ctx.tr("admin.location_not_empty").to_owned();
            location_page(&ctx, l.id, None, Some(msg), StatusCode::CONFLICT).await
        }
        Err(err) => Err(err.into()),
    }
}

// ---- users ----

/// How many users the list shows at most; beyond that the search must be refined.
const USER_LIST_MAX: i64 = 200;

struct UserRow {
    u: User,
    entity_name: String,
}

#[derive(Template)]
#[template(path = "admin/users.html")]
struct UsersPage {
    page: Page,
    q: String,
    entity: String,
    entities: Vec<(EntityId, String)>,
    rows: Vec<UserRow>,
    truncated: bool,
    can_create: bool,
    count_text: String,
}

#[derive(Deserialize)]
struct UserListQuery {
    q: Option<String>,
    entity_id: Option<String>,
    ok: Option<String>,
}

async fn user_list(ctx: Ctx, ApiQuery(q): ApiQuery<UserListQuery>) -> AppResult<Response> {
    let text = search_text(q.q.as_deref());
    let entity = q.entity_id.unwrap_or_default();
    let mut scope = ctx.entity_ids(Object::User, Action::Read);
    if let Ok(e) = entity.trim().parse::<i64>() {
        scope.retain(|x| *x == e);
    }
    let mut c = ctx.state.store.read().await?;
    let names = entity_names(&mut c).await?;
    let entities = entity_options(&ctx, &mut c, Object::User, Action::Read).await?;
    // One more than shown, to know whether the list is cut.
    let mut found = users::list(&mut c, &scope, Some(&text), USER_LIST_MAX + 1).await?;
    drop(c);
    let truncated = found.len() as i64 > USER_LIST_MAX;
    found.truncate(USER_LIST_MAX as usize);
    let rows: Vec<UserRow> = found
        .into_iter()
        .map(|u| UserRow { entity_name: names.get(&u.entity_id).cloned().unwrap_or_default(), u })
        .collect();
    let page = Page::new(&ctx, "nav.users").await.with_flash(q.ok.as_deref());
    let count_text = page.tf("common.results", &[("count", &rows.len().to_string())]);
    let can_create = ctx.can_anywhere(Object::User, Action::Create);
    Ok(render_status(
        StatusCode::OK,
        &UsersPage { page, q: text, entity, entities, rows, truncated, can_create, count_text },
    ))
}

/// One row of the profiles form.
#[derive(Debug, Default, Clone)]
struct GrantRow {
    entity: String,
    profile: String,
    recursive: bool,
    remove: bool,
    error: Option<String>,
}

#[derive(Template)]
#[template(path = "admin/user.html")]
struct UserPage {
    page: Page,
    u: User,
    entity_name: String,
    /// Read-only view of the profiles, as sentences.
    grants: Vec<String>,
    can_manage: bool,
    rows: Vec<GrantRow>,
    grant_entities: Vec<(EntityId, String)>,
    profiles: Vec<Profile>,
    grant_error: Option<String>,
    password_errors: ValidationErrors,
    tokens: Vec<ApiToken>,
    history: Vec<AuditEvent>,
}

impl UserPage {
    fn perr(&self, field: &str) -> Option<String> {
        field_error(&self.page, &self.password_errors, field)
    }
}

/// What the user page shows besides the stored data after a failed form.
#[derive(Default)]
struct UserPageState {
    flash: Option<String>,
    rows: Option<Vec<GrantRow>>,
    grant_error: Option<String>,
    password_errors: ValidationErrors,
}

async fn user_page(ctx: &Ctx, id: UserId, st: UserPageState, status: StatusCode) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let u = visible_user(ctx, &mut c, id).await?;
    let held = users::grants(&mut c, id).await?;
    let names = entity_names(&mut c).await?;
    let can_manage = manages(ctx, &u, &held);
    let (tokens, grant_entities) = if can_manage {
        (users::tokens_of(&mut c, id).await?, entity_options(ctx, &mut c, Object::User, Action::Update).await?)
    } else {
        (Vec::new(), Vec::new())
    };
    let mut history = audit::for_object(&mut c, ObjectType::User, id.0, 200).await?;
    drop(c);
    humanize(&mut history, "entity_id", name_of_entity(&names));
    humanize(&mut history, "active", |v| Some(ctx.tr(if v == "true" { "common.yes" } else { "common.no" }).to_owned()));
    let name_of = |e: &EntityId| names.get(e).cloned().unwrap_or_else(|| e.to_string());
    let grants = held
        .0
        .iter()
        .map(|g| {
            let profile = ctx.state.i18n.t(ctx.lang, &format!("admin.profile_name.{}", g.profile.as_str())).to_owned();
            let below = if g.recursive { format!(" ({})", ctx.tr("admin.and_below")) } else { String::new() };
            format!("{profile} — {}{below}", name_of(&g.entity_id))
        })
        .collect();
    let mut rows = st.rows.unwrap_or_else(|| {
        held.0
            .iter()
            .map(|g| GrantRow {
                entity: g.entity_id.to_string(),
                profile: g.profile.as_str().to_owned(),
                recursive: g.recursive,
                ..Default::default()
            })
            .collect()
    });
    // Always one blank row to add a profile.
    if rows.last().is_none_or(|r| !r.entity.is_empty() || !r.profile.is_empty()) {
        rows.push(GrantRow::default());
    }
    let profiles =
        Profile::ALL.iter().copied().filter(|p| *p != Profile::SuperAdmin || ctx.grants.is_super_admin()).collect();
    let mut page = Page::new(ctx, "nav.users").await.with_title(u.display_name.clone());
    page = page.with_flash(st.flash.as_deref());
    let p = UserPage {
        page,
        entity_name: name_of(&u.entity_id),
        grants,
        can_manage,
        rows,
        grant_entities,
        profiles,
        grant_error: st.grant_error,
        password_errors: st.password_errors,
        tokens,
        history,
        u,
    };
    Ok(render_status(status, &p))
}

async fn user_show(ctx: Ctx, ApiPath(id): ApiPath<i64>, ApiQuery(q): ApiQuery<OkQuery>) -> AppResult<Response> {
    user_page(&ctx, UserId(id), UserPageState { flash: q.ok, ..Default::default() }, StatusCode::OK).await
}

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct UserForm {
    login: String,
    display_name: String,
    email: String,
    phone: String,
    entity_id: String,
    language: String,
    /// A checkbox: present ("1") when ticked.
    active: String,
    /// Only on creation; empty for an account without a password (directory sign-in, tokens).
    password: String,
}

impl UserForm {
    fn from_user(u: &User) -> Self {
        UserForm {
            login: u.login.clone(),
            display_name: u.display_name.clone(),
            email: u.email.clone().unwrap_or_default(),
            phone: u.phone.clone().unwrap_or_default(),
            entity_id: u.entity_id.to_string(),
            language: u.language.clone().unwrap_or_default(),
            active: if u.active { "1".into() } else { String::new() },
            password: String::new(),
        }
    }

    fn to_input(&self, errors: &mut ValidationErrors) -> UserInput {
        UserInput {
            login: Some(self.login.clone()),
            display_name: Some(self.display_name.clone()),
            email: Some(self.email.clone()),
            phone: Some(self.phone.clone()),
            entity_id: id_field("entity_id", &self.entity_id, errors),
            language: Some(self.language.clone()),
            active: Some(!self.active.is_empty()),
        }
    }
}

#[derive(Template)]
#[template(path = "admin/user_form.html")]
struct UserFormPage {
    page: Page,
    action: String,
    cancel: String,
    is_new: bool,
    v: UserForm,
    errors: ValidationErrors,
    entities: Vec<(EntityId, String)>,
}

impl UserFormPage {
    fn err(&self, field: &str) -> Option<String> {
        field_error(&self.page, &self.errors, field)
    }
}

async fn user_form(
    ctx: &Ctx,
    old: Option<&User>,
    mut v: UserForm,
    errors: ValidationErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let mut entities = entity_options(ctx, &mut c, Object::User, Action::Create).await?;
    if let Some(o) = old.filter(|o| !entities.iter().any(|(id, _)| *id == o.entity_id)) {
        let name = entities::get(&mut c, o.entity_id).await?.map(|e| e.name).unwrap_or_default();
        entities.insert(0, (o.entity_id, name));
    }
    drop(c);
    // A password is never sent back to the browser.
    v.password.clear();
    let (action, cancel, title) = match old {
        Some(o) => (format!("/users/{}/edit", o.id), format!("/users/{}", o.id), "admin.user_edit"),
        None => ("/users/new".to_owned(), "/users".to_owned(), "admin.user_new"),
    };
    let mut page = Page::new(ctx, title).await;
    if !errors.is_empty() {
        page.flash = Some(ctx.tr("common.form_errors").to_owned());
    }
    Ok(render_status(status, &UserFormPage { page, action, cancel, is_new: old.is_none(), v, errors, entities }))
}

async fn user_new(ctx: Ctx) -> AppResult<Response> {
    if !ctx.can_anywhere(Object::User, Action::Create) {
        return Err(forbidden("your profile cannot create users"));
    }
    let v = UserForm { entity_id: ctx.user.entity_id.to_string(), active: "1".into(), ..Default::default() };
    user_form(&ctx, None, v, ValidationErrors::new(), StatusCode::OK).await
}

async fn user_create(State(state): State<AppState>, CsrfForm(ctx, f): CsrfForm<UserForm>) -> AppResult<Response> {
    let mut errors = ValidationErrors::new();
    let input = f.to_input(&mut errors);
    if let Err(e) = check_user_input(&ctx, &input, None) {
        errors = merge(errors, e);
    }
    let hash = if f.password.is_empty() {
        None
    } else {
        match hash_new_password(f.password.clone()).await {
            Ok(h) => Some(h),
            Err(AppError::Validation(v)) => {
                errors = merge(errors, v);
                None
            }
            Err(e) => return Err(e),
        }
    };
    let mut tx = state.store.write().await?;
    let result = if errors.is_empty() {
        form_result(users::create(&mut tx, &ctx.actor(), &input, hash.as_deref()).await)?
    } else {
        Err(errors)
    };
    match result {
        Ok(u) => {
            tx.commit().await?;
            Ok(see_other(&format!("/users/{}", u.id), Some("admin.user_created")))
        }
        Err(v) => {
            drop(tx);
            user_form(&ctx, None, f, v, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

async fn user_edit(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let (u, _) = managed_user(&ctx, &mut c, UserId(id)).await?;
    drop(c);
    user_form(&ctx, Some(&u), UserForm::from_user(&u), ValidationErrors::new(), StatusCode::OK).await
}

async fn user_update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, f): CsrfForm<UserForm>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let (old, _) = managed_user(&ctx, &mut tx, UserId(id)).await?;
    let mut errors = ValidationErrors::new();
    let input = f.to_input(&mut errors);
    if let Err(e) = check_user_input(&ctx, &input, Some(&old)) {
        errors = merge(errors, e);
    }
    let result = if errors.is_empty() {
        form_result(users::update(&mut tx, &ctx.actor(), old.id, &input).await)?
    } else {
        Err(errors)
    };
    match result {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(&format!("/users/{id}"), Some("common.saved")))
        }
        Err(v) => {
            drop(tx);
            user_form(&ctx, Some(&old), f, v, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// Most rows the profiles form may post.
const MAX_GRANT_ROWS: usize = 200;

/// Reads the profiles form (`entity_<i>`, `profile_<i>`, `recursive_<i>`, `remove_<i>`, and
/// `rows`): the rows to show again, the grants kept and, for each grant, its row.
fn parse_grant_rows(
    page_err: impl Fn(&str) -> String,
    pairs: &[(String, String)],
) -> (Vec<GrantRow>, Vec<Grant>, Vec<usize>) {
    let map: HashMap<&str, &str> = pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let count = map.get("rows").and_then(|n| n.parse::<usize>().ok()).unwrap_or(0).min(MAX_GRANT_ROWS);
    let (mut rows, mut grants, mut row_of) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..count {
        let get = |k: &str| map.get(format!("{k}_{i}").as_str()).map(|v| v.trim().to_owned()).unwrap_or_default();
        let mut row = GrantRow {
            entity: get("entity"),
            profile: get("profile"),
            recursive: !get("recursive").is_empty(),
            remove: !get("remove").is_empty(),
            error: None,
        };
        if row.remove || (row.entity.is_empty() && row.profile.is_empty()) {
            rows.push(row);
            continue;
        }
        let entity = row.entity.parse::<i64>().ok().filter(|e| *e > 0);
        let profile = row.profile.parse::<Profile>().ok();
        match (entity, profile) {
            (Some(e), Some(p)) => {
                row_of.push(rows.len());
                grants.push(Grant { entity_id: EntityId(e), profile: p, recursive: row.recursive });
            }
            _ => row.error = Some(page_err("required")),
        }
        rows.push(row);
    }
    (rows, grants, row_of)
}

async fn user_grants(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let (u, _) = managed_user(&ctx, &mut tx, UserId(id)).await?;
    let i18n = &ctx.state.i18n;
    let text = |code: &str| {
        let key = format!("admin.err.{code}");
        if i18n.has(ctx.lang, &key) {
            i18n.t(ctx.lang, &key).to_owned()
        } else {
            i18n.t(ctx.lang, &format!("err.{code}")).to_owned()
        }
    };
    let (mut rows, grants, row_of) = parse_grant_rows(text, &pairs);
    let mut failed = rows.iter().any(|r| r.error.is_some());
    if let Err(v) = check_grants(&ctx, &grants) {
        failed = true;
        for f in v.fields {
            let row = f
                .field
                .trim_start_matches("grants[")
                .trim_end_matches(']')
                .parse::<usize>()
                .ok()
                .and_then(|i| row_of.get(i));
            if let Some(r) = row.and_then(|r| rows.get_mut(*r)) {
                r.error = Some(text(&f.code));
            }
        }
    }
    if failed {
        drop(tx);
        let st = UserPageState {
            rows: Some(rows),
            grant_error: Some(ctx.tr("common.form_errors").to_owned()),
            ..Default::default()
        };
        return user_page(&ctx, u.id, st, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    users::set_grants(&mut tx, &ctx.actor(), u.id, &grants).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/users/{id}"), Some("admin.grants_saved")))
}

#[derive(Deserialize)]
struct PasswordForm {
    password: String,
    confirm: String,
}

async fn user_password(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, f): CsrfForm<PasswordForm>,
) -> AppResult<Response> {
    let mut c = state.store.read().await?;
    let (u, _) = managed_user(&ctx, &mut c, UserId(id)).await?;
    drop(c);
    let fail = |v: ValidationErrors| UserPageState { password_errors: v, ..Default::default() };
    if f.password != f.confirm {
        let v = ValidationErrors::single("confirm", "mismatch", "the two passwords differ");
        return user_page(&ctx, u.id, fail(v), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let hash = match hash_new_password(f.password).await {
        Ok(h) => h,
        Err(AppError::Validation(v)) => return user_page(&ctx, u.id, fail(v), StatusCode::UNPROCESSABLE_ENTITY).await,
        Err(e) => return Err(e),
    };
    let mut tx = state.store.write().await?;
    // Changing one's own password here keeps the current session, as on the account page.
    let keep = if u.id == ctx.user.id { ctx.session_token.as_deref() } else { None };
    users::set_password(&mut tx, &ctx.actor(), u.id, &hash, keep).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/users/{id}"), Some("admin.password_set")))
}

async fn user_revoke_token(
    State(state): State<AppState>,
    ApiPath((id, token)): ApiPath<(i64, i64)>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let (u, _) = managed_user(&ctx, &mut tx, UserId(id)).await?;
    users::revoke_token(&mut tx, &ctx.actor(), u.id, TokenId(token)).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/users/{id}"), Some("admin.token_revoked")))
}

// ---- settings ----

#[derive(Template)]
#[template(path = "admin/settings.html")]
struct SettingsPage {
    page: Page,
    v: Settings,
    errors: ValidationErrors,
    history: Vec<AuditEvent>,
    logo_hint: String,
}

impl SettingsPage {
    fn err(&self, field: &str) -> Option<String> {
        field_error(&self.page, &self.errors, field)
    }
}

async fn settings_page(
    ctx: &Ctx,
    v: Settings,
    errors: ValidationErrors,
    flash: Option<&str>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let history = audit::for_object(&mut c, ObjectType::Settings, 0, 100).await?;
    drop(c);
    let mut page = Page::new(ctx, "nav.settings").await.with_flash(flash);
    if !errors.is_empty() {
        page.flash = Some(ctx.tr("common.form_errors").to_owned());
    }
    let logo_hint = page.tf("admin.logo_hint", &[("kb", &(LOGO_MAX_BYTES / 1024).to_string())]);
    Ok(render_status(status, &SettingsPage { page, v, errors, history, logo_hint }))
}

async fn settings_form(ctx: Ctx, ApiQuery(q): ApiQuery<OkQuery>) -> AppResult<Response> {
    require_settings_update(&ctx)?;
    let mut c = ctx.state.store.read().await?;
    let s = settings::get(&mut c).await?;
    drop(c);
    settings_page(&ctx, s, ValidationErrors::new(), q.ok.as_deref(), StatusCode::OK).await
}

fn multipart_error(e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge
    } else {
        AppError::BadRequest(format!("invalid form: {}", e.body_text()))
    }
}

/// The settings form is `multipart/form-data` (it carries the logo file), which `CsrfForm`
/// does not read: the CSRF field is checked here, after reading the parts and before any change.
async fn settings_save(
    State(state): State<AppState>,
    ctx: Ctx,
    mp: Result<Multipart, MultipartRejection>,
) -> AppResult<Response> {
    require_settings_update(&ctx)?;
    let mut mp = mp.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let mut text: HashMap<String, String> = HashMap::new();
    let mut logo: Vec<u8> = Vec::new();
    let mut logo_too_large = false;
    while let Some(mut field) = mp.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "logo" {
            // Stop keeping bytes past the limit; the rest of the part is skipped.
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                if logo.len() + chunk.len() > LOGO_MAX_BYTES {
                    logo_too_large = true;
                    break;
                }
                logo.extend_from_slice(&chunk);
            }
        } else if matches!(
            name.as_str(),
            "csrf" | "organisation_name" | "hotline_number" | "default_language" | "public_url"
        ) {
            let value = field.text().await.map_err(multipart_error)?;
            text.insert(name, value);
        }
    }
    let csrf_ok = match (&ctx.csrf, text.get("csrf")) {
        (Some(expected), Some(sent)) => constant_time_eq(expected.as_bytes(), sent.as_bytes()),
        _ => false,
    };
    if !csrf_ok {
        return Err(forbidden("the form has expired or did not come from Parc; reload the page"));
    }
    let mut tx = state.store.write().await?;
    let old = settings::get(&mut tx).await?;
    let value = |k: &str| text.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let mut new = Settings {
        organisation_name: value("organisation_name"),
        hotline_number: value("hotline_number"),
        default_language: value("default_language"),
        public_url: value("public_url"),
        logo_data_url: old.logo_data_url.clone(),
    };
    // An empty file part means "no new file chosen": the logo stays.
    let logo_result = if logo_too_large {
        Err(ValidationErrors::single("logo", "too_large", "must be at most 500 KB"))
    } else if logo.is_empty() {
        Ok(())
    } else {
        logo_data_url(&logo).map(|url| new.logo_data_url = url)
    };
    let result = match logo_result {
        Ok(()) => form_result(settings::put(&mut tx, &ctx.actor(), &new).await)?,
        Err(v) => Err(v),
    };
    match result {
        Ok(()) => {
            tx.commit().await?;
            state.settings_changed(new).await;
            Ok(see_other("/settings", Some("common.saved")))
        }
        Err(v) => {
            drop(tx);
            // Show what was typed, with the logo still stored.
            new.logo_data_url = old.logo_data_url;
            settings_page(&ctx, new, v, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

async fn settings_remove_logo(
    State(state): State<AppState>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    require_settings_update(&ctx)?;
    let mut tx = state.store.write().await?;
    let new = Settings { logo_data_url: String::new(), ..settings::get(&mut tx).await? };
    settings::put(&mut tx, &ctx.actor(), &new).await?;
    tx.commit().await?;
    state.settings_changed(new).await;
    Ok(see_other("/settings", Some("admin.logo_removed")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn logo_types_come_from_content() {
        assert_eq!(logo_mime(b"\x89PNG\r\n\x1a\nrest"), Some("image/png"));
        assert_eq!(logo_mime(&[0xFF, 0xD8, 0xFF, 0xE0, 0]), Some("image/jpeg"));
        assert_eq!(
            logo_mime(b"<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"/>"),
            Some("image/svg+xml")
        );
        assert_eq!(logo_mime(b"GIF89a"), None);
        assert_eq!(logo_mime(b"<html><svg></svg></html>"), None);
        assert_eq!(logo_mime(b"<svg><script>alert(1)</script></svg>"), None);
        assert_eq!(logo_mime(b"<svg onload=\"alert(1)\"></svg>"), None);
        assert_eq!(logo_mime(b"<svg><g font=\"mono\"/></svg>"), Some("image/svg+xml"));
        assert!(logo_data_url(&vec![0u8; LOGO_MAX_BYTES + 1]).is_err());
    }

    #[test]
    fn logo_urls_are_checked_like_uploads() {
        let png = format!("data:image/png;base64,{}", STANDARD.encode(b"\x89PNG\r\n\x1a\nxx"));
        assert_eq!(check_logo_url(&png).unwrap(), png);
        let liar = format!("data:image/jpeg;base64,{}", STANDARD.encode(b"\x89PNG\r\n\x1a\nxx"));
        assert!(check_logo_url(&liar).is_err());
        assert!(check_logo_url("data:image/png;base64,!!!").is_err());
        assert_eq!(check_logo_url("").unwrap(), "");
    }

    #[test]
    fn tree_is_depth_first_with_hidden_parents_as_roots() {
        let e = |id: i64, parent: Option<i64>, name: &str| Entity {
            id: EntityId(id),
            parent_id: parent.map(EntityId),
            name: name.into(),
            comment: None,
            created_at: String::new(),
            updated_at: String::new(),
        };
        let all =
            vec![e(3, Some(1), "A school"), e(1, None, "County"), e(2, Some(1), "B school"), e(4, Some(2), "Annex")];
        let order: Vec<(i64, usize)> = tree_order(&all, |_| true).into_iter().map(|(e, d)| (e.id.0, d)).collect();
        assert_eq!(order, vec![(1, 0), (3, 1), (2, 1), (4, 2)]);
        let hidden: Vec<(i64, usize)> =
            tree_order(&all, |id| id.0 != 1).into_iter().map(|(e, d)| (e.id.0, d)).collect();
        assert_eq!(hidden, vec![(3, 0), (2, 0), (4, 1)]);
        assert_eq!(indented("Annex", 2), "\u{a0}\u{a0}\u{a0}└\u{a0}Annex");
    }
}
