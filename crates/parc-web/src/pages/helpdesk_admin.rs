//! The helpdesk catalogue pages: ticket categories (a tree per entity, usable in its
//! sub-entities: create, rename, move, delete when unused) and groups of technicians (create,
//! edit name, comment and members).
//!
//! The rights are shared with the API (`api/helpdesk_admin.rs`) and match its create calls: the
//! catalogue of an entity where the caller reads no tickets (nor below it) does not exist for
//! them (404); categories are changed by the entity's administrators, groups by those who manage
//! its users (403 otherwise). Every POST is one transaction; a refusal re-renders the form.

use super::admin::{entity_choice, entity_options, indented};
use super::tickets::{message, technicians};
use super::{field_errors, render_status, see_other, Page};
use crate::api::helpdesk::ticket_entities_and_ancestors;
use crate::api::{ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::{attempt, commit_or, opt_id, CsrfForm, CsrfOnly, OkQuery};
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use parc_core::permissions::{Action, Object};
use parc_core::{CategoryId, EntityId, GroupId, UserId, ValidationErrors};
use parc_store::helpdesk::{self, Category, CategoryInput, Group, GroupInput};
use parc_store::{entities, Conn, StoreError};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/helpdesk/categories", get(category_list).post(category_create))
        .route("/helpdesk/categories/{id}", get(category_edit).post(category_update))
        .route("/helpdesk/categories/{id}/delete", post(category_delete))
        .route("/helpdesk/groups", get(group_list).post(group_create))
        .route("/helpdesk/groups/{id}", get(group_edit).post(group_update))
}

// ---- rights, shared with the API ----

fn seen(ctx: &Ctx, entity: EntityId) -> bool {
    ticket_entities_and_ancestors(ctx).contains(&entity.0)
}

/// A category the caller sees; with `change`, one they may change.
pub(crate) async fn visible_category(ctx: &Ctx, c: &mut Conn, id: i64, change: bool) -> AppResult<Category> {
    let x =
        helpdesk::category(c, CategoryId(id)).await?.filter(|x| seen(ctx, x.entity_id)).ok_or(AppError::NotFound)?;
    if change && !ctx.can(Object::Entity, Action::Update, x.entity_id) {
        return Err(AppError::Forbidden("only an administrator of its entity changes a category".into()));
    }
    Ok(x)
}

/// A group the caller sees; with `change`, one they may change.
pub(crate) async fn visible_group(ctx: &Ctx, c: &mut Conn, id: i64, change: bool) -> AppResult<Group> {
    let g = helpdesk::group(c, GroupId(id)).await?.filter(|g| seen(ctx, g.entity_id)).ok_or(AppError::NotFound)?;
    if change && !ctx.can(Object::User, Action::Update, g.entity_id) {
        return Err(AppError::Forbidden("only a manager of its entity's users changes a group".into()));
    }
    Ok(g)
}

/// The problems of a group's new member list: anyone added must be a technician of the group's
/// entity whom the caller sees (members already in the group may stay).
pub(crate) async fn member_errors(
    ctx: &Ctx,
    c: &mut Conn,
    g: &Group,
    ids: Option<&[i64]>,
) -> AppResult<ValidationErrors> {
    let mut e = ValidationErrors::new();
    let Some(ids) = ids else { return Ok(e) };
    let old: BTreeSet<i64> = g.members.iter().map(|m| m.user_id.0).collect();
    let added: Vec<i64> = ids.iter().copied().filter(|i| !old.contains(i)).collect();
    if !added.is_empty() {
        let techs: BTreeSet<i64> = technicians(ctx, c, Some(g.entity_id)).await?.into_iter().map(|t| t.0 .0).collect();
        if added.iter().any(|i| !techs.contains(i)) {
            e.add("member_ids", "not_technician", "names someone who is not a technician of this entity");
        }
    }
    Ok(e)
}

/// Refuses (on `entity_id`) an entity where the caller may not create entries of `object`.
fn check_entity(ctx: &Ctx, object: Object, entity: Option<i64>, errors: &mut ValidationErrors) {
    if let Some(Err(e)) = entity.map(|e| entity_choice(ctx, object, Action::Update, EntityId(e), "entity_id")) {
        errors.fields.extend(e.fields);
    }
}

async fn entity_names(c: &mut Conn) -> AppResult<HashMap<EntityId, String>> {
    Ok(entities::list_all(c).await?.into_iter().map(|e| (e.id, e.name)).collect())
}

fn depth(x: &Category) -> usize {
    x.path.split(" > ").count().saturating_sub(1)
}

/// A name form field: required, since the store keeps the old name when given an empty one.
fn required_name(errors: &mut ValidationErrors, name: &str) -> Option<String> {
    if name.trim().is_empty() {
        errors.add("name", "required", "is required");
    }
    Some(name.to_owned())
}

fn optional(v: &str) -> Option<String> {
    Some(v.to_owned())
}

field_errors!(message; CategoriesPage, CategoryPage, GroupsPage, GroupPage);

/// The lists' refusal: without reading tickets anywhere, there is no catalogue to see.
fn require_ticket_reader(ctx: &Ctx) -> AppResult<()> {
    if ctx.scope(Object::Ticket, Action::Read).is_empty() {
        return Err(AppError::Forbidden("your profile does not read tickets".into()));
    }
    Ok(())
}

/// What a catalogue list starts from: the entities whose catalogue the caller sees (those where
/// they read tickets, and their ancestors), every entity's name, and the seen entities where
/// they may create entries (by their `object` rights: `Entity` for categories, `User` for groups).
struct ListScope {
    seen: Vec<i64>,
    names: HashMap<EntityId, String>,
    creatable: Vec<(EntityId, String)>,
}

impl ListScope {
    async fn of(ctx: &Ctx, c: &mut Conn, object: Object) -> AppResult<ListScope> {
        let seen = ticket_entities_and_ancestors(ctx);
        let names = entity_names(c).await?;
        let creatable = entity_options(ctx, c, object, Action::Update)
            .await?
            .into_iter()
            .filter(|(e, _)| seen.contains(&e.0))
            .collect();
        Ok(ListScope { seen, names, creatable })
    }

    fn name_of(&self, e: EntityId) -> String {
        self.names.get(&e).cloned().unwrap_or_default()
    }
}

// ---- categories ----

#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct CategoryForm {
    entity_id: String,
    parent_id: String,
    name: String,
    comment: String,
}

impl CategoryForm {
    fn of(x: &Category) -> Self {
        CategoryForm {
            entity_id: x.entity_id.to_string(),
            parent_id: x.parent_id.map(|p| p.to_string()).unwrap_or_default(),
            name: x.name.clone(),
            comment: x.comment.clone().unwrap_or_default(),
        }
    }

    fn input(&self, errors: &mut ValidationErrors, new: bool) -> CategoryInput {
        CategoryInput {
            entity_id: if new { opt_id("entity_id", &Some(self.entity_id.clone()), errors) } else { None },
            parent_id: opt_id("parent_id", &Some(self.parent_id.clone()), errors),
            name: required_name(errors, &self.name),
            comment: optional(&self.comment),
        }
    }
}

struct CategoryRow {
    id: CategoryId,
    label: String,
    comment: String,
    editable: bool,
}

struct EntityCategories {
    name: String,
    rows: Vec<CategoryRow>,
}

#[derive(Template)]
#[template(path = "helpdesk/categories.html")]
struct CategoriesPage {
    page: Page,
    trees: Vec<EntityCategories>,
    /// Where the caller may create categories.
    entities: Vec<(EntityId, String)>,
    /// Parents for a new category: (id, "Entity — path").
    parents: Vec<(CategoryId, String)>,
    v: CategoryForm,
    errors: ValidationErrors,
}

async fn categories_page(
    ctx: &Ctx,
    v: CategoryForm,
    errors: ValidationErrors,
    flash: Option<&str>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let scope = ListScope::of(ctx, &mut c, Object::Entity).await?;
    let all = helpdesk::categories(&mut c, &scope.seen).await?;
    drop(c);
    let mut trees: Vec<EntityCategories> = Vec::new();
    for e in all.iter().map(|x| x.entity_id).collect::<BTreeSet<_>>() {
        let rows = all
            .iter()
            .filter(|x| x.entity_id == e)
            .map(|x| CategoryRow {
                id: x.id,
                label: indented(&x.name, depth(x)),
                comment: x.comment.clone().unwrap_or_default(),
                editable: ctx.can(Object::Entity, Action::Update, e),
            })
            .collect();
        trees.push(EntityCategories { name: scope.name_of(e), rows });
    }
    trees.sort_by_key(|t| t.name.to_lowercase());
    let parents = all
        .iter()
        .filter(|x| scope.creatable.iter().any(|(e, _)| *e == x.entity_id))
        .map(|x| (x.id, format!("{} — {}", scope.name_of(x.entity_id), x.path)))
        .collect();
    let page = Page::new(ctx, "hdcat.categories").await.with_flash(flash).with_form_errors(&errors);
    let entities = scope.creatable;
    Ok(render_status(status, &CategoriesPage { page, trees, entities, parents, v, errors }))
}

async fn category_list(ctx: Ctx, ApiQuery(q): ApiQuery<OkQuery>) -> AppResult<Response> {
    require_ticket_reader(&ctx)?;
    categories_page(&ctx, CategoryForm::default(), ValidationErrors::new(), q.ok.as_deref(), StatusCode::OK).await
}

async fn category_create(
    State(state): State<AppState>,
    CsrfForm(ctx, f): CsrfForm<CategoryForm>,
) -> AppResult<Response> {
    let mut errors = ValidationErrors::new();
    let input = f.input(&mut errors, true);
    check_entity(&ctx, Object::Entity, input.entity_id, &mut errors);
    let mut tx = state.store.write().await?;
    let result = attempt(errors, helpdesk::create_category(&mut tx, &ctx.actor(), &input)).await?;
    match commit_or(tx, result, |_| "/helpdesk/categories".into(), "hdcat.category_created").await? {
        Ok(r) => Ok(r),
        Err((status, e)) => categories_page(&ctx, f, e, None, status).await,
    }
}

#[derive(Template)]
#[template(path = "helpdesk/category.html")]
struct CategoryPage {
    page: Page,
    x: Category,
    entity_name: String,
    /// Where it may move: categories of its entity outside its own branch.
    parents: Vec<(CategoryId, String)>,
    v: CategoryForm,
    errors: ValidationErrors,
    /// Why it cannot be deleted, after a refused delete.
    refusal: Option<String>,
}

/// Whether `id` is `root` or below it, by the parents in `parent_of`.
fn in_branch(parent_of: &HashMap<CategoryId, Option<CategoryId>>, id: CategoryId, root: CategoryId) -> bool {
    let mut cur = Some(id);
    for _ in 0..=parent_of.len() {
        match cur {
            Some(c) if c == root => return true,
            Some(c) => cur = parent_of.get(&c).copied().flatten(),
            None => return false,
        }
    }
    true
}

async fn category_page(
    ctx: &Ctx,
    x: Category,
    v: CategoryForm,
    errors: ValidationErrors,
    refusal: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let same = helpdesk::categories(&mut c, &[x.entity_id.0]).await?;
    let entity_name = entity_names(&mut c).await?.remove(&x.entity_id).unwrap_or_default();
    drop(c);
    let parent_of: HashMap<CategoryId, Option<CategoryId>> = same.iter().map(|k| (k.id, k.parent_id)).collect();
    let parents = same.into_iter().filter(|k| !in_branch(&parent_of, k.id, x.id)).map(|k| (k.id, k.path)).collect();
    let page = Page::new(ctx, "hdcat.category_edit").await.with_title(x.path.clone()).with_form_errors(&errors);
    Ok(render_status(status, &CategoryPage { page, x, entity_name, parents, v, errors, refusal }))
}

async fn category_edit(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let x = visible_category(&ctx, &mut c, id, true).await?;
    drop(c);
    let v = CategoryForm::of(&x);
    category_page(&ctx, x, v, ValidationErrors::new(), None, StatusCode::OK).await
}

async fn category_update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, f): CsrfForm<CategoryForm>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let x = visible_category(&ctx, &mut tx, id, true).await?;
    let mut errors = ValidationErrors::new();
    let input = f.input(&mut errors, false);
    let result = attempt(errors, helpdesk::update_category(&mut tx, &ctx.actor(), x.id, &input)).await?;
    match commit_or(tx, result, |_| "/helpdesk/categories".into(), "common.saved").await? {
        Ok(r) => Ok(r),
        Err((status, e)) => category_page(&ctx, x, f, e, None, status).await,
    }
}

async fn category_delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let x = visible_category(&ctx, &mut tx, id, true).await?;
    match helpdesk::delete_category(&mut tx, &ctx.actor(), x.id).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(see_other("/helpdesk/categories", Some("hdcat.category_deleted")))
        }
        Err(StoreError::Conflict(_)) => {
            drop(tx);
            let v = CategoryForm::of(&x);
            let why = ctx.tr("hdcat.category_in_use").to_owned();
            category_page(&ctx, x, v, ValidationErrors::new(), Some(why), StatusCode::CONFLICT).await
        }
        Err(e) => Err(e.into()),
    }
}

// ---- groups ----

/// A group form as posted (members repeat `member_ids`).
#[derive(Debug, Default)]
struct GroupForm {
    entity_id: String,
    name: String,
    comment: String,
    member_ids: Vec<String>,
}

impl GroupForm {
    fn of(g: &Group) -> Self {
        GroupForm {
            entity_id: g.entity_id.to_string(),
            name: g.name.clone(),
            comment: g.comment.clone().unwrap_or_default(),
            member_ids: g.members.iter().map(|m| m.user_id.to_string()).collect(),
        }
    }

    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = GroupForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "entity_id" => f.entity_id = v,
                "name" => f.name = v,
                "comment" => f.comment = v,
                "member_ids" => f.member_ids.push(v),
                _ => {}
            }
        }
        f
    }

    /// The input: a new group takes its entity (members are chosen on its page); an existing
    /// one, its members.
    fn input(&self, errors: &mut ValidationErrors, new: bool) -> GroupInput {
        let mut ids = Vec::new();
        for m in &self.member_ids {
            ids.extend(opt_id("member_ids", &Some(m.clone()), errors));
        }
        GroupInput {
            entity_id: if new { opt_id("entity_id", &Some(self.entity_id.clone()), errors) } else { None },
            name: required_name(errors, &self.name),
            comment: optional(&self.comment),
            member_ids: (!new).then_some(ids),
        }
    }

    fn has(&self, id: &UserId) -> bool {
        self.member_ids.contains(&id.to_string())
    }
}

struct GroupRow {
    g: Group,
    entity_name: String,
    editable: bool,
}

#[derive(Template)]
#[template(path = "helpdesk/groups.html")]
struct GroupsPage {
    page: Page,
    rows: Vec<GroupRow>,
    /// Where the caller may create groups.
    entities: Vec<(EntityId, String)>,
    v: GroupForm,
    errors: ValidationErrors,
}

async fn groups_page(
    ctx: &Ctx,
    v: GroupForm,
    errors: ValidationErrors,
    flash: Option<&str>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let scope = ListScope::of(ctx, &mut c, Object::User).await?;
    let groups = helpdesk::groups(&mut c, &scope.seen).await?;
    drop(c);
    let rows = groups
        .into_iter()
        .map(|g| GroupRow {
            entity_name: scope.name_of(g.entity_id),
            editable: ctx.can(Object::User, Action::Update, g.entity_id),
            g,
        })
        .collect();
    let page = Page::new(ctx, "hdcat.groups").await.with_flash(flash).with_form_errors(&errors);
    let entities = scope.creatable;
    Ok(render_status(status, &GroupsPage { page, rows, entities, v, errors }))
}

async fn group_list(ctx: Ctx, ApiQuery(q): ApiQuery<OkQuery>) -> AppResult<Response> {
    require_ticket_reader(&ctx)?;
    groups_page(&ctx, GroupForm::default(), ValidationErrors::new(), q.ok.as_deref(), StatusCode::OK).await
}

async fn group_create(
    State(state): State<AppState>,
    CsrfForm(ctx, pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = GroupForm::from_pairs(pairs);
    let mut errors = ValidationErrors::new();
    let input = f.input(&mut errors, true);
    check_entity(&ctx, Object::User, input.entity_id, &mut errors);
    let mut tx = state.store.write().await?;
    let result = attempt(errors, helpdesk::create_group(&mut tx, &ctx.actor(), &input)).await?;
    match commit_or(tx, result, |g| format!("/helpdesk/groups/{}", g.id), "hdcat.group_created").await? {
        Ok(r) => Ok(r),
        Err((status, e)) => groups_page(&ctx, f, e, None, status).await,
    }
}

#[derive(Template)]
#[template(path = "helpdesk/group.html")]
struct GroupPage {
    page: Page,
    g: Group,
    entity_name: String,
    /// Technicians of the group's entity, and its current members.
    candidates: Vec<(UserId, String)>,
    v: GroupForm,
    errors: ValidationErrors,
}

async fn group_page(
    ctx: &Ctx,
    g: Group,
    v: GroupForm,
    errors: ValidationErrors,
    flash: Option<&str>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let mut candidates = technicians(ctx, &mut c, Some(g.entity_id)).await?;
    let entity_name = entity_names(&mut c).await?.remove(&g.entity_id).unwrap_or_default();
    drop(c);
    for m in &g.members {
        if !candidates.iter().any(|(u, _)| *u == m.user_id) {
            candidates.push((m.user_id, m.display_name.clone()));
        }
    }
    candidates.sort_by_key(|(_, n)| n.to_lowercase());
    let page = Page::new(ctx, "hdcat.group_edit").await.with_flash(flash).with_title(g.name.clone());
    let page = page.with_form_errors(&errors);
    Ok(render_status(status, &GroupPage { page, g, entity_name, candidates, v, errors }))
}

async fn group_edit(ctx: Ctx, ApiPath(id): ApiPath<i64>, ApiQuery(q): ApiQuery<OkQuery>) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let g = visible_group(&ctx, &mut c, id, true).await?;
    drop(c);
    let v = GroupForm::of(&g);
    group_page(&ctx, g, v, ValidationErrors::new(), q.ok.as_deref(), StatusCode::OK).await
}

async fn group_update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = GroupForm::from_pairs(pairs);
    let mut tx = state.store.write().await?;
    let g = visible_group(&ctx, &mut tx, id, true).await?;
    let mut errors = ValidationErrors::new();
    let input = f.input(&mut errors, false);
    errors.fields.extend(member_errors(&ctx, &mut tx, &g, input.member_ids.as_deref()).await?.fields);
    let result = attempt(errors, helpdesk::update_group(&mut tx, &ctx.actor(), g.id, &input)).await?;
    match commit_or(tx, result, |_| "/helpdesk/groups".into(), "common.saved").await? {
        Ok(r) => Ok(r),
        Err((status, e)) => group_page(&ctx, g, f, e, None, status).await,
    }
}
