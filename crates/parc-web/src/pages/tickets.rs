//! Helpdesk pages: the ticket list (filters, sort, pager), the form that opens a ticket, and
//! the ticket page (fields, SLA, linked assets, observers, the timeline of follow-ups and tasks,
//! the technician's and the requester's forms, the history).
//!
//! Who may see and change what is `crate::helpdesk` (shared with the API): a ticket outside the
//! reader's scope answers 404; a visible one the reader may not change, 403. Every POST is one
//! transaction and answers 303 back to the ticket, or re-renders the page with the refusal.

use super::assets::visible_asset;
use super::attachments::{self, FormWithFiles};
use super::{render_status, see_other, Page, Pager};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::{opt_id, CsrfForm, CsrfOnly};
use crate::helpdesk::{check_create, require_follow, require_handler, visible_ticket, TicketAccess};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use chrono::{NaiveDateTime, TimeZone, Utc};
use parc_core::audit::{AuditAction, ObjectType};
use parc_core::helpdesk::{TicketStatus, TicketType};
use parc_core::permissions::{Action, Object};
use parc_core::validate::FieldError;
use parc_core::{AssetId, EntityId, TicketId, UserId, ValidationErrors};
use parc_store::assets::Page as ResultPage;
use parc_store::audit::{self, AuditEvent};
use parc_store::helpdesk::{self, Followup, Group, Task, TaskInput, Ticket, TicketInput, TicketQuery};
use parc_store::locations::{self, Location};
use parc_store::{entities, users, Conn, StoreError};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tickets", get(list))
        .route(
            "/tickets/new",
            get(new_form).post(create).layer(axum::extract::DefaultBodyLimit::max(attachments::UPLOAD_BODY_MAX)),
        )
        .route("/tickets/{id}", get(show))
        .route(
            "/tickets/{id}/followups",
            post(add_followup).layer(axum::extract::DefaultBodyLimit::max(attachments::UPLOAD_BODY_MAX)),
        )
        .route("/tickets/{id}/tasks", post(add_task))
        .route("/tickets/{id}/status", post(change_status))
        .route("/tickets/{id}/assign", post(assign))
        .route("/tickets/{id}/edit", post(edit))
        .route("/tickets/{id}/accept", post(accept))
        .route("/tickets/{id}/refuse", post(refuse))
        .route("/tickets/{id}/rate", post(rate))
}

/// Users listed in a requester or technician `<select>` at most.
const USERS_LISTED: i64 = 500;
/// Tickets shown on an asset's page.
pub const TICKETS_OF_ASSET: i64 = 20;
pub(crate) const LEVELS: [u8; 5] = [1, 2, 3, 4, 5];
const PRIORITIES: [u8; 6] = [1, 2, 3, 4, 5, 6];
const SORTS: [&str; 5] = ["priority", "updated", "created", "due", "id"];

// ---- shared helpers ----

/// The translated message of a field error: `helpdesk.err.<code>`, then `err.<code>`, then
/// the store's English text.
pub(crate) fn message(page: &Page, f: &FieldError) -> String {
    page.field_message("helpdesk", f)
}

/// The badge classes of a priority (`prio-<n>`: grey, blue, orange, red, solid red).
pub fn priority_class(p: u8) -> String {
    format!("badge prio-{p}")
}

/// The badge classes of an SLA flag (`sla-<flag>`: green, orange when at risk, red when breached).
pub fn sla_class(flag: &str) -> String {
    format!("badge sla-{flag}")
}

/// A `datetime-local` value (wall-clock time in Europe/Paris) as a stored UTC instant. A time
/// that does not exist (the spring-forward gap) is refused; an ambiguous one (the autumn
/// fall-back hour) takes the earlier instant.
fn paris_to_utc(errors: &mut ValidationErrors, field: &str, value: Option<&str>) -> Option<String> {
    let s = value.map(str::trim).filter(|s| !s.is_empty())?;
    let naive = NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M")
        .or_else(|_| NaiveDateTime::parse_from_str(s, "%Y-%m-%dT%H:%M:%S"))
        .ok();
    match naive.and_then(|n| chrono_tz::Europe::Paris.from_local_datetime(&n).earliest()) {
        Some(t) => Some(parc_store::fmt_time(t.with_timezone(&Utc))),
        None => {
            errors.add(field, "datetime", "must be a date and time");
            None
        }
    }
}

/// A form's text, `None` when empty.
pub(crate) fn text(v: &Option<String>) -> Option<String> {
    v.as_deref().map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned)
}

/// A 1-5 level from a `<select>`: empty is none, anything else must be in range.
fn level(errors: &mut ValidationErrors, field: &str, v: &Option<String>) -> Option<i64> {
    let s = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    match s.parse::<i64>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add(field, "level_range", "must be between 1 and 5");
            None
        }
    }
}

pub(crate) fn merge(mut a: ValidationErrors, b: ValidationErrors) -> ValidationErrors {
    for f in b.fields {
        if a.for_field(&f.field).is_none() {
            a.fields.push(f);
        }
    }
    a
}

/// Entities and every entity above and below them: where the people, locations and
/// categories of their tickets may come from.
fn near(ctx: &Ctx, entities: &[EntityId]) -> BTreeSet<i64> {
    let mut out = BTreeSet::new();
    for e in entities {
        out.extend(ctx.tree.path(*e).into_iter().map(|x| x.0));
        out.extend(ctx.tree.subtree(*e).into_iter().map(|x| x.0));
    }
    out
}

/// "Département › Collège Jean Moulin": entities as their path, sorted.
pub(crate) async fn entity_labels(
    ctx: &Ctx,
    c: &mut Conn,
    ids: &BTreeSet<EntityId>,
) -> AppResult<Vec<(EntityId, String)>> {
    let names: HashMap<EntityId, String> = entities::list_all(c).await?.into_iter().map(|e| (e.id, e.name)).collect();
    let mut out: Vec<(EntityId, String)> = ids
        .iter()
        .map(|id| {
            let path: Vec<&str> = ctx.tree.path(*id).iter().filter_map(|e| names.get(e).map(String::as_str)).collect();
            (*id, path.join(" › "))
        })
        .collect();
    out.sort_by_key(|e| e.1.to_lowercase());
    Ok(out)
}

/// Active users who may work on tickets of `entity` (or, without one, of an entity the caller
/// handles), among the users the caller reads near those entities.
pub(crate) async fn technicians(ctx: &Ctx, c: &mut Conn, entity: Option<EntityId>) -> AppResult<Vec<(UserId, String)>> {
    let handled: Vec<EntityId> = match entity {
        Some(e) => vec![e],
        None => ctx.scope(Object::Ticket, Action::Update).full.into_iter().collect(),
    };
    if handled.is_empty() {
        return Ok(Vec::new());
    }
    let around = near(ctx, &handled);
    let readable: Vec<i64> =
        ctx.entity_ids(Object::User, Action::Read).into_iter().filter(|e| around.contains(e)).collect();
    // Grants that can cover `handled` sit on those entities or their ancestors.
    let covering: Vec<i64> =
        handled.iter().flat_map(|e| ctx.tree.path(*e)).map(|e| e.0).collect::<BTreeSet<_>>().into_iter().collect();
    let handles = |grants: &parc_core::permissions::Grants| {
        handled.iter().any(|e| grants.can(&ctx.tree, Object::Ticket, Action::Update, *e))
    };
    let mut out: Vec<(UserId, String)> = users::with_grants_on(c, &covering, &readable, USERS_LISTED * 4)
        .await?
        .into_iter()
        .filter(|(_, _, grants)| handles(grants))
        .map(|(id, name, _)| (id, name))
        .collect();
    if ctx.user.active && !out.iter().any(|u| u.0 == ctx.user.id) && handles(&ctx.grants) {
        out.push((ctx.user.id, ctx.user.display_name.clone()));
    }
    out.sort_by_key(|u| u.1.to_lowercase());
    Ok(out)
}

/// Groups a ticket of `entity` may be assigned to (defined on it or above), or those of every
/// entity the caller handles.
async fn groups_for(ctx: &Ctx, c: &mut Conn, entity: Option<EntityId>) -> AppResult<Vec<Group>> {
    let ids: Vec<i64> = match entity {
        Some(e) => ctx.tree.path(e).into_iter().map(|x| x.0).collect(),
        None => {
            let handled: Vec<EntityId> = ctx.scope(Object::Ticket, Action::Update).full.into_iter().collect();
            handled.iter().flat_map(|e| ctx.tree.path(*e)).map(|x| x.0).collect::<BTreeSet<_>>().into_iter().collect()
        }
    };
    Ok(helpdesk::groups(c, &ids).await?)
}

/// Categories usable for a ticket of `entity`, or (no entity chosen yet) those of every
/// entity in `entities`, as (id, label) with their path.
async fn category_options(
    ctx: &Ctx,
    c: &mut Conn,
    entity: Option<EntityId>,
    entities: &[(EntityId, String)],
) -> AppResult<Vec<(i64, String)>> {
    let cats = match entity {
        Some(e) => helpdesk::categories_for(c, &ctx.tree, e).await?,
        None => {
            let ids: BTreeSet<i64> = entities.iter().flat_map(|(e, _)| ctx.tree.path(*e)).map(|x| x.0).collect();
            helpdesk::categories(c, &ids.into_iter().collect::<Vec<_>>()).await?
        }
    };
    let several = cats.iter().map(|x| x.entity_id).collect::<BTreeSet<_>>().len() > 1;
    let names: HashMap<EntityId, String> = if several {
        entities::list_all(c).await?.into_iter().map(|e| (e.id, e.name)).collect()
    } else {
        HashMap::new()
    };
    Ok(cats
        .into_iter()
        .map(|x| {
            let label = match names.get(&x.entity_id) {
                Some(n) => format!("{} ({n})", x.path),
                None => x.path,
            };
            (x.id.0, label)
        })
        .collect())
}

/// Locations a ticket of these entities may name, among those the caller reads.
async fn location_options(ctx: &Ctx, c: &mut Conn, entities: &[EntityId]) -> AppResult<Vec<Location>> {
    let around = near(ctx, entities);
    let ids: Vec<i64> =
        ctx.entity_ids(Object::Location, Action::Read).into_iter().filter(|e| around.contains(e)).collect();
    Ok(locations::list(c, &ids).await?)
}

/// Whether the caller may read an asset of `entity` (assigned to `assigned`): only then does a
/// ticket page link to it.
fn reads_asset(ctx: &Ctx, entity: EntityId, assigned: Option<UserId>) -> bool {
    ctx.scope(Object::Asset, Action::Read).admits(entity, assigned == Some(ctx.user.id))
}

/// The tickets of an asset the caller may read (for the asset's page).
pub async fn of_asset(ctx: &Ctx, c: &mut Conn, asset: AssetId) -> AppResult<Vec<Ticket>> {
    let scope = ctx.scope(Object::Ticket, Action::Read);
    if scope.is_empty() {
        return Ok(Vec::new());
    }
    Ok(helpdesk::of_asset(c, asset, TICKETS_OF_ASSET)
        .await?
        .into_iter()
        .filter(|t| scope.admits(t.entity_id, t.concerns(ctx.user.id)))
        .collect())
}

/// Whether the caller may open a ticket in `entity` (for themselves at least).
pub fn may_open_in(ctx: &Ctx, entity: EntityId) -> bool {
    let s = ctx.scope(Object::Ticket, Action::Create);
    s.full.contains(&entity) || s.own_only.contains(&entity)
}

// ---- list ----

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    q: Option<String>,
    status: Option<String>,
    mine: Option<String>,
    priority: Option<String>,
    sla: Option<String>,
    /// A technician's id, or `none` (the dashboard's links).
    technician: Option<String>,
    /// A group's id, or `none`.
    group: Option<String>,
    sort: Option<String>,
    order: Option<String>,
    page: Option<String>,
}

/// An assignee filter: an id, or `none` for nobody (0 for the store).
fn assignee(field: &str, v: &Option<String>) -> AppResult<Option<i64>> {
    match text(v).as_deref() {
        None => Ok(None),
        Some("none") => Ok(Some(0)),
        Some(id) => match id.parse::<i64>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(AppError::field(field, "not_a_number", "must be an id or none")),
        },
    }
}

impl ListQuery {
    /// The query string of these filters at page `page`.
    fn link(&self, page: u32) -> String {
        let mut pairs: Vec<(&str, String)> = Vec::new();
        for (k, v) in [
            ("q", &self.q),
            ("status", &self.status),
            ("mine", &self.mine),
            ("priority", &self.priority),
            ("sla", &self.sla),
            ("technician", &self.technician),
            ("group", &self.group),
            ("sort", &self.sort),
            ("order", &self.order),
        ] {
            if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
                pairs.push((k, v.to_owned()));
            }
        }
        pairs.push(("page", page.to_string()));
        format!("/tickets?{}", serde_urlencoded::to_string(&pairs).unwrap_or_default())
    }

    fn to_store(&self, me: UserId) -> AppResult<TicketQuery> {
        let priority = match text(&self.priority) {
            Some(p) => Some(
                p.parse::<i64>()
                    .map_err(|_| ValidationErrors::single("priority", "priority_range", "must be between 1 and 6"))?,
            ),
            None => None,
        };
        let page = match text(&self.page) {
            Some(p) => Some(p.parse::<u32>().map_err(|_| AppError::BadRequest("page must be a number".into()))?),
            None => None,
        };
        Ok(TicketQuery {
            q: text(&self.q).map(|q| q.chars().filter(|c| !c.is_control()).take(200).collect()),
            status: Some(text(&self.status).unwrap_or_else(|| "open".into())),
            assignee_user_id: text(&self.mine).map(|_| me.0).or(assignee("technician", &self.technician)?),
            assignee_group_id: assignee("group", &self.group)?,
            priority,
            sla: text(&self.sla),
            sort: text(&self.sort),
            desc: Some(self.order.as_deref() != Some("asc")),
            page,
            ..Default::default()
        })
    }
}

#[derive(Template)]
#[template(path = "tickets/list.html")]
struct ListPage {
    page: Page,
    result: ResultPage<Ticket>,
    pager: Pager,
    count_text: String,
    f: ListQuery,
    status: String,
    statuses: Vec<TicketStatus>,
    priorities: [u8; 6],
    sorts: [&'static str; 5],
    sla_flags: [&'static str; 2],
    handler: bool,
    can_create: bool,
}

impl ListPage {
    fn prio(&self, p: &u8) -> String {
        priority_class(*p)
    }

    fn sla(&self, flag: &str) -> String {
        sla_class(flag)
    }

    /// Whether the filter `v` has the value `s` (a selected option).
    fn is(&self, v: &Option<String>, s: &str) -> bool {
        v.as_deref() == Some(s)
    }
}

async fn list(ctx: Ctx, Query(f): Query<ListQuery>) -> AppResult<Response> {
    let q = f.to_store(ctx.user.id)?;
    let mut c = ctx.state.store.read().await?;
    let scope = ctx.scope(Object::Ticket, Action::Read);
    let result = helpdesk::list(&mut c, ctx.state.store.backend(), &scope, ctx.user.id, &q).await?;
    drop(c);
    let page = Page::new(&ctx, "helpdesk.title").await;
    let count_text = page.tf("common.results", &[("count", &result.total.to_string())]);
    let pager = Pager::new(&page, &result, |p| f.link(p));
    let create = ctx.scope(Object::Ticket, Action::Create);
    Ok(render_status(
        StatusCode::OK,
        &ListPage {
            page,
            pager,
            count_text,
            status: q.status.clone().unwrap_or_default(),
            statuses: TicketStatus::ALL.to_vec(),
            priorities: PRIORITIES,
            sorts: SORTS,
            sla_flags: ["at_risk", "breached"],
            handler: !ctx.scope(Object::Ticket, Action::Update).full.is_empty(),
            can_create: !create.is_empty(),
            result,
            f,
        },
    ))
}

// ---- new ticket ----

/// The new-ticket form as a browser sends it: every field text.
#[derive(Debug, Default, Deserialize)]
pub struct TicketForm {
    pub(crate) entity_id: Option<String>,
    pub(crate) kind: Option<String>,
    pub(crate) title: Option<String>,
    pub(crate) description: Option<String>,
    pub(crate) requester_user_id: Option<String>,
    pub(crate) requester_name: Option<String>,
    pub(crate) requester_phone: Option<String>,
    pub(crate) category_id: Option<String>,
    pub(crate) location_id: Option<String>,
    pub(crate) urgency: Option<String>,
    pub(crate) impact: Option<String>,
    pub(crate) assignee_user_id: Option<String>,
    pub(crate) assignee_group_id: Option<String>,
    pub(crate) asset_id: Option<String>,
}

/// Values shown in the form (what was just submitted, or the defaults).
#[derive(Default)]
struct FormValues {
    entity_id: String,
    kind: String,
    title: String,
    description: String,
    requester_user_id: String,
    requester_name: String,
    requester_phone: String,
    category_id: String,
    location_id: String,
    urgency: String,
    impact: String,
    assignee_user_id: String,
    assignee_group_id: String,
    asset_id: String,
}

impl FormValues {
    fn from_form(f: &TicketForm) -> FormValues {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        FormValues {
            entity_id: s(&f.entity_id),
            kind: s(&f.kind),
            title: s(&f.title),
            description: s(&f.description),
            requester_user_id: s(&f.requester_user_id),
            requester_name: s(&f.requester_name),
            requester_phone: s(&f.requester_phone),
            category_id: s(&f.category_id),
            location_id: s(&f.location_id),
            urgency: s(&f.urgency),
            impact: s(&f.impact),
            assignee_user_id: s(&f.assignee_user_id),
            assignee_group_id: s(&f.assignee_group_id),
            asset_id: s(&f.asset_id),
        }
    }
}

#[derive(Template)]
#[template(path = "tickets/form.html")]
struct FormPage {
    page: Page,
    v: FormValues,
    errors: ValidationErrors,
    entities: Vec<(EntityId, String)>,
    /// The caller opens tickets for others and assigns them (a technician, hotline or admin).
    staff: bool,
    users: Vec<(UserId, String)>,
    technicians: Vec<(UserId, String)>,
    groups: Vec<Group>,
    categories: Vec<(i64, String)>,
    locations: Vec<Location>,
    kinds: Vec<TicketType>,
    levels: [u8; 5],
    asset_label: Option<String>,
}

impl FormPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.for_field(field).map(|f| message(&self.page, f))
    }

    /// Errors of fields the form does not show (for a requester: who the ticket is for, the
    /// assignment), "Field: message".
    fn other_errors(&self) -> Vec<String> {
        let mut shown = vec![
            "entity_id",
            "kind",
            "title",
            "description",
            "category_id",
            "location_id",
            "urgency",
            "impact",
            "asset_id",
            attachments::FILE_FIELD,
        ];
        if self.staff {
            shown.extend([
                "requester_user_id",
                "requester_name",
                "requester_phone",
                "assignee_user_id",
                "assignee_group_id",
            ]);
        }
        self.errors
            .fields
            .iter()
            .filter(|f| !shown.contains(&f.field.as_str()))
            .map(|f| format!("{} : {}", self.page.tk("field", &f.field), message(&self.page, f)))
            .collect()
    }
}

/// Entities where the caller may open tickets (for others or for themselves).
fn creatable(ctx: &Ctx) -> BTreeSet<EntityId> {
    let s = ctx.scope(Object::Ticket, Action::Create);
    s.full.into_iter().chain(s.own_only).collect()
}

async fn form_page(ctx: &Ctx, v: FormValues, errors: ValidationErrors, status: StatusCode) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let allowed = creatable(ctx);
    let entities = entity_labels(ctx, &mut c, &allowed).await?;
    let entity = v.entity_id.parse::<i64>().ok().map(EntityId).filter(|e| allowed.contains(e));
    let staff = match entity {
        Some(e) => ctx.can(Object::Ticket, Action::Create, e),
        None => !ctx.scope(Object::Ticket, Action::Create).full.is_empty(),
    };
    let (users, technicians, groups) = if staff {
        let list = users::list(&mut c, &ctx.entity_ids(Object::User, Action::Read), None, USERS_LISTED).await?;
        let users = list.into_iter().filter(|u| u.active).map(|u| (u.id, u.display_name)).collect();
        (users, technicians(ctx, &mut c, entity).await?, groups_for(ctx, &mut c, entity).await?)
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    let categories = category_options(ctx, &mut c, entity, &entities).await?;
    let scope_entities: Vec<EntityId> = match entity {
        Some(e) => vec![e],
        None => allowed.iter().copied().collect(),
    };
    let locations = location_options(ctx, &mut c, &scope_entities).await?;
    let asset_label = match v.asset_id.trim().trim_start_matches('#').parse::<i64>() {
        Ok(id) => match visible_asset(ctx, &mut c, AssetId(id), Action::Read).await {
            Ok(a) => Some(match &a.asset_tag {
                Some(t) => format!("{} ({t})", a.name),
                None => a.name.clone(),
            }),
            Err(AppError::NotFound) => None,
            Err(e) => return Err(e),
        },
        Err(_) => None,
    };
    drop(c);
    let mut page = Page::new(ctx, "helpdesk.new").await;
    if !errors.is_empty() {
        page.flash = Some(ctx.tr("common.form_errors").to_owned());
    }
    let asset_label = asset_label.map(|n| page.tf("helpdesk.asset_for", &[("name", &n)]));
    Ok(render_status(
        status,
        &FormPage {
            page,
            v,
            errors,
            entities,
            staff,
            users,
            technicians,
            groups,
            categories,
            locations,
            kinds: TicketType::ALL.to_vec(),
            levels: LEVELS,
            asset_label,
        },
    ))
}

#[derive(Deserialize)]
struct NewQuery {
    asset: Option<String>,
    entity_id: Option<String>,
}

async fn new_form(ctx: Ctx, Query(q): Query<NewQuery>) -> AppResult<Response> {
    let allowed = creatable(&ctx);
    if allowed.is_empty() {
        return Err(AppError::Forbidden("your profile cannot open tickets".into()));
    }
    let mut v = FormValues {
        kind: TicketType::Incident.as_str().into(),
        urgency: "3".into(),
        impact: "3".into(),
        requester_user_id: ctx.user.id.to_string(),
        ..Default::default()
    };
    let mut entity = q.entity_id.as_deref().and_then(|e| e.parse::<i64>().ok()).map(EntityId);
    // From an asset's page: its entity (or the nearest one above where tickets may be opened)
    // and its location.
    if let Some(id) = q.asset.as_deref().and_then(|a| a.trim().parse::<i64>().ok()) {
        let mut c = ctx.state.store.read().await?;
        let a = visible_asset(&ctx, &mut c, AssetId(id), Action::Read).await?;
        v.asset_id = a.id.to_string();
        v.location_id = a.location_id.map(|l| l.to_string()).unwrap_or_default();
        entity = entity.or_else(|| ctx.tree.path(a.entity_id).into_iter().rev().find(|e| allowed.contains(e)));
    }
    if entity.is_none() && allowed.len() == 1 {
        entity = allowed.iter().next().copied();
    }
    if let Some(e) = entity.filter(|e| allowed.contains(e)) {
        v.entity_id = e.to_string();
    }
    form_page(&ctx, v, ValidationErrors::new(), StatusCode::OK).await
}

/// The browser's text as an API-shaped input, with the form's own errors (ids, levels).
fn to_input(f: &TicketForm, source: &str, errors: &mut ValidationErrors) -> TicketInput {
    TicketInput {
        entity_id: opt_id("entity_id", &f.entity_id, errors),
        kind: text(&f.kind),
        title: Some(f.title.clone().unwrap_or_default()),
        description: f.description.clone(),
        requester_user_id: opt_id("requester_user_id", &f.requester_user_id, errors),
        requester_name: text(&f.requester_name),
        requester_phone: text(&f.requester_phone),
        category_id: opt_id("category_id", &f.category_id, errors),
        location_id: opt_id("location_id", &f.location_id, errors),
        urgency: level(errors, "urgency", &f.urgency),
        impact: level(errors, "impact", &f.impact),
        assignee_user_id: opt_id("assignee_user_id", &f.assignee_user_id, errors),
        assignee_group_id: opt_id("assignee_group_id", &f.assignee_group_id, errors),
        source: Some(source.into()),
        ..Default::default()
    }
}

/// Opens a ticket from a browser form (this page's form, the hotline's) in `tx`: the form's
/// own checks (ids and levels, an asset the caller sees, an entity where they may open tickets,
/// a requester they read), then `check_create` and the store's validation. The refusal comes
/// back with the form's field names, to show on the form; nothing is committed here.
pub(crate) async fn open_from_form(
    ctx: &Ctx,
    tx: &mut Conn,
    f: &TicketForm,
    source: &str,
) -> AppResult<Result<Ticket, ValidationErrors>> {
    let mut errors = ValidationErrors::new();
    let mut input = to_input(f, source, &mut errors);
    // The asset must be one the caller sees; the store checks it is in the ticket's entity.
    if let Some(raw) = text(&f.asset_id) {
        match raw.trim_start_matches('#').parse::<i64>() {
            Ok(id) => match visible_asset(ctx, tx, AssetId(id), Action::Read).await {
                Ok(a) => input.asset_ids = Some(vec![a.id.0]),
                Err(AppError::NotFound) => errors.add("asset_id", "not_found", "is not an asset you can see"),
                Err(e) => return Err(e),
            },
            Err(_) => errors.add("asset_id", "invalid", "must be an asset number"),
        }
    }
    match input.entity_id {
        None => {
            if errors.for_field("entity_id").is_none() {
                errors.add("entity_id", "required", "is required");
            }
        }
        Some(e) if !may_open_in(ctx, EntityId(e)) => {
            errors.add("entity_id", "forbidden_entity", "you cannot open tickets in this entity")
        }
        Some(_) => match check_create(ctx, &mut input) {
            Ok(()) => {}
            Err(AppError::Validation(v)) => errors = merge(errors, v),
            Err(e) => return Err(e),
        },
    }
    // A requester chosen from the list is someone the caller reads (as on the asset form).
    if let Some(u) = input.requester_user_id.filter(|u| *u != ctx.user.id.0) {
        let readable = ctx.entity_ids(Object::User, Action::Read);
        if !users::get(tx, UserId(u)).await?.is_some_and(|x| readable.contains(&x.entity_id.0)) {
            errors.add("requester_user_id", "not_found", "is not a user you can see");
        }
    }
    if !errors.is_empty() {
        return Ok(Err(errors));
    }
    let cfg = helpdesk::config(tx).await?;
    match helpdesk::create(tx, &ctx.actor(), &cfg, &ctx.tree, &input).await {
        Ok(t) => Ok(Ok(t)),
        Err(StoreError::Validation(mut e)) => {
            // The store names the linked assets `asset_ids`; the form has one `asset_id`.
            for fe in &mut e.fields {
                if fe.field == "asset_ids" {
                    fe.field = "asset_id".into();
                }
            }
            Ok(Err(e))
        }
        Err(e) => Err(e.into()),
    }
}

/// Opens a ticket from the form, with the files attached to it (the ticket and its files are
/// written together or not at all).
async fn create(
    State(state): State<AppState>,
    FormWithFiles(ctx, f, files): FormWithFiles<TicketForm>,
) -> AppResult<Response> {
    let files = match files {
        Ok(files) => files,
        Err(e) => {
            let status = attachments::refusal_status(&e);
            return form_page(&ctx, FormValues::from_form(&f), e, status).await;
        }
    };
    let mut tx = state.store.write().await?;
    let refused = match open_from_form(&ctx, &mut tx, &f, "web").await? {
        Ok(t) => match attachments::attach(&mut tx, &ctx.actor(), &t, None, &files).await {
            Ok(_) => {
                tx.commit().await?;
                return Ok(see_other(&format!("/tickets/{}", t.id), Some("helpdesk.created")));
            }
            Err(StoreError::Validation(e)) => e,
            Err(e) => return Err(e.into()),
        },
        Err(e) => e,
    };
    drop(tx);
    let status = attachments::refusal_status(&refused);
    form_page(&ctx, FormValues::from_form(&f), refused, status).await
}

// ---- the ticket page ----

/// One line of the timeline: a follow-up or a task.
struct Entry {
    at: String,
    followup: Option<Followup>,
    task: Option<Task>,
}

/// A linked asset: its name, and a link only when the reader may open it.
struct AssetRef {
    label: String,
    href: Option<String>,
}

/// A refused action: which form, its errors, and what was typed (shown again).
#[derive(Default)]
struct Refusal {
    form: &'static str,
    errors: ValidationErrors,
    values: HashMap<String, String>,
}

#[derive(Template)]
#[template(path = "tickets/show.html")]
struct ShowPage {
    page: Page,
    t: Ticket,
    entity_name: String,
    /// Works on the ticket: status, assignment, fields, tasks, private follow-ups.
    handler: bool,
    /// May add a public follow-up.
    follower: bool,
    /// The ticket is theirs: accept or refuse the solution, rate.
    requester: bool,
    next: Vec<TicketStatus>,
    timeline: Vec<Entry>,
    assets: Vec<AssetRef>,
    observers: Vec<String>,
    history: Vec<AuditEvent>,
    technicians: Vec<(UserId, String)>,
    groups: Vec<Group>,
    categories: Vec<(i64, String)>,
    kinds: Vec<TicketType>,
    levels: [u8; 5],
    priorities: [u8; 6],
    stars: [u8; 5],
    /// The caller's id: the default technician of a new task.
    me: String,
    refusal: Refusal,
    /// Signed intervention sheets the reader may open.
    documents: Vec<helpdesk::Document>,
    /// Files attached to the ticket and its follow-ups the reader may open.
    attachments: Vec<helpdesk::Attachment>,
}

impl ShowPage {
    fn prio(&self, p: &u8) -> String {
        priority_class(*p)
    }

    fn sla(&self, flag: &str) -> String {
        sla_class(flag)
    }

    /// The messages of the refused form, "Field: message".
    fn refusal_messages(&self) -> Vec<String> {
        self.refusal
            .errors
            .fields
            .iter()
            .map(|f| format!("{} : {}", self.page.tk("field", &f.field), message(&self.page, f)))
            .collect()
    }

    /// What was typed in the refused form's `field`, else `default`.
    fn val(&self, form: &str, field: &str, default: &str) -> String {
        if self.refusal.form == form {
            if let Some(v) = self.refusal.values.get(field) {
                return v.clone();
            }
        }
        default.to_owned()
    }

    /// The files that came with follow-up `id`.
    fn files_of(&self, id: &parc_core::FollowupId) -> Vec<&helpdesk::Attachment> {
        self.attachments.iter().filter(|a| a.followup_id == Some(*id)).collect()
    }

    fn size(&self, bytes: &i64) -> String {
        attachments::size_text(&self.page, *bytes)
    }

    fn when_opt(&self, v: &Option<String>) -> String {
        match v {
            Some(s) => self.page.when(s),
            None => self.page.t("helpdesk.no_deadline").to_owned(),
        }
    }

    /// "1 h 30 min", "45 min".
    fn duration(&self, minutes: &i64) -> String {
        crate::intervention::duration_text(*minutes)
    }

    fn can_solve(&self) -> bool {
        self.next.contains(&TicketStatus::Solved)
    }

    fn is_category(&self, id: &i64) -> bool {
        let current = self.t.category_id.map(|c| c.0.to_string()).unwrap_or_default();
        self.val("edit", "category_id", &current) == id.to_string()
    }

    fn priority_now(&self) -> String {
        let p = self.t.priority.to_string();
        let label = self.page.tk("helpdesk.priority", &p);
        self.page.tf("helpdesk.priority_now", &[("p", &format!("{p} – {label}"))])
    }

    fn in_group(&self, id: &parc_core::GroupId) -> bool {
        self.t.assignee_group_id == Some(*id)
    }

    fn assigned_to(&self, id: &UserId) -> bool {
        self.t.assignee_user_id == Some(*id)
    }

    /// The current technician when the select would not list them (left the entity, say).
    fn assignee_missing(&self) -> bool {
        self.t.assignee_user_id.is_some_and(|a| !self.technicians.iter().any(|(u, _)| *u == a))
    }
}

/// The history as people read it: names instead of ids (of what the reader may see), labels
/// instead of codes. A reader who does not see private follow-ups and tasks does not see their
/// events either.
async fn readable_history(ctx: &Ctx, c: &mut Conn, t: &Ticket, full: bool) -> AppResult<Vec<AuditEvent>> {
    use super::admin::{humanize, name_of_entity};
    let mut history = audit::for_object(c, ObjectType::Ticket, t.id.0, 200).await?;
    if !full {
        let hidden = [AuditAction::Followup.as_str(), AuditAction::Task.as_str()];
        history.retain(|e| !hidden.contains(&e.action.as_str()));
    }
    let readable = ctx.entity_ids(Object::Entity, Action::Read);
    let names = entities::list_all(c)
        .await?
        .into_iter()
        .filter(|e| readable.contains(&e.id.0) || e.id == t.entity_id)
        .map(|e| (e.id, e.name))
        .collect();
    humanize(&mut history, "entity_id", name_of_entity(&names));
    let mut people: HashMap<String, String> = HashMap::new();
    let person_fields =
        ["requester_user_id", "on_behalf_user_id", "assignee_user_id", "technician_user_id", "observer"];
    let ids: BTreeSet<i64> = history
        .iter()
        .flat_map(|e| e.changes.iter())
        .filter(|ch| person_fields.contains(&ch.field.as_str()))
        .flat_map(|ch| [&ch.old, &ch.new])
        .flatten()
        .filter_map(|v| v.parse::<i64>().ok())
        .collect();
    for id in ids {
        if let Some(u) = users::get(c, UserId(id)).await? {
            people.insert(id.to_string(), u.display_name);
        }
    }
    for field in person_fields {
        humanize(&mut history, field, |v| people.get(v).cloned());
    }
    let mut groups: HashMap<String, String> = HashMap::new();
    let mut cats: HashMap<String, String> = HashMap::new();
    for ch in history.iter().flat_map(|e| e.changes.iter()) {
        for v in [&ch.old, &ch.new].into_iter().flatten() {
            let Ok(id) = v.parse::<i64>() else { continue };
            if ch.field == "assignee_group_id" && !groups.contains_key(v) {
                if let Some(g) = helpdesk::group(c, parc_core::GroupId(id)).await? {
                    groups.insert(v.clone(), g.name);
                }
            } else if ch.field == "category_id" && !cats.contains_key(v) {
                if let Some(x) = helpdesk::category(c, parc_core::CategoryId(id)).await? {
                    cats.insert(v.clone(), x.path);
                }
            }
        }
    }
    humanize(&mut history, "assignee_group_id", |v| groups.get(v).cloned());
    humanize(&mut history, "category_id", |v| cats.get(v).cloned());
    let places = locations::list(c, &ctx.entity_ids(Object::Location, Action::Read)).await?;
    humanize(&mut history, "location_id", |v| places.iter().find(|l| l.id.to_string() == v).map(|l| l.path.clone()));
    let i18n = &ctx.state.i18n;
    for (field, prefix) in [
        ("status", "ticket_status"),
        ("kind", "ticket_type"),
        ("urgency", "helpdesk.level"),
        ("impact", "helpdesk.level"),
        ("priority", "helpdesk.priority"),
        ("satisfaction", "helpdesk.stars"),
    ] {
        humanize(&mut history, field, |v| {
            let key = format!("{prefix}.{v}");
            i18n.has(ctx.lang, &key).then(|| i18n.t(ctx.lang, &key).to_owned())
        });
    }
    Ok(history)
}

async fn show_page(
    ctx: &Ctx,
    id: TicketId,
    flash: Option<&str>,
    refusal: Refusal,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let (t, access) = visible_ticket(ctx, &mut c, id).await?;
    let full = access == TicketAccess::Full;
    let handler = require_handler(ctx, &t).is_ok();
    let follower = require_follow(ctx, &t, access).is_ok();
    let mine = t.concerns(ctx.user.id);
    let entity_name = entities::get(&mut c, t.entity_id).await?.map(|e| e.name).unwrap_or_default();
    let mut timeline: Vec<Entry> = helpdesk::followups(&mut c, t.id, full)
        .await?
        .into_iter()
        .map(|f| Entry { at: f.created_at.clone(), followup: Some(f), task: None })
        .collect();
    timeline.extend(helpdesk::tasks(&mut c, t.id, full).await?.into_iter().map(|k| Entry {
        at: k.created_at.clone(),
        followup: None,
        task: Some(k),
    }));
    timeline.sort_by(|a, b| a.at.cmp(&b.at));
    let shown_tasks: Vec<parc_core::TaskId> = timeline.iter().filter_map(|e| e.task.as_ref().map(|k| k.id)).collect();
    let mut documents = helpdesk::documents_of(&mut c, t.id).await?;
    documents.retain(|d| d.kind == helpdesk::SIGNED_SHEET);
    let documents = crate::intervention::readable_documents(documents, &shown_tasks, access);
    let attachments = helpdesk::attachments_of(&mut c, t.id, full).await?;
    // People by their names rather than their logins (the audit label).
    let authors: BTreeSet<UserId> = timeline
        .iter()
        .filter_map(|e| e.followup.as_ref().and_then(|f| f.author_user_id))
        .chain(t.created_by_user_id)
        .collect();
    let mut names: HashMap<UserId, String> = HashMap::new();
    for id in authors {
        if let Some(u) = users::get(&mut c, id).await? {
            names.insert(id, u.display_name);
        }
    }
    for f in timeline.iter_mut().filter_map(|e| e.followup.as_mut()) {
        if let Some(n) = f.author_user_id.and_then(|u| names.get(&u)) {
            f.author_label = n.clone();
        }
    }
    let mut t = t;
    if let Some(n) = t.created_by_user_id.and_then(|u| names.get(&u)) {
        t.created_by_label = n.clone();
    }
    let mut assets = Vec::new();
    for a in helpdesk::assets_of(&mut c, t.id).await? {
        let assigned = if ctx.scope(Object::Asset, Action::Read).full.contains(&a.entity_id) {
            None
        } else {
            parc_store::assets::get(&mut c, a.asset_id).await?.and_then(|x| x.assigned_user_id)
        };
        let label = match &a.asset_tag {
            Some(tag) => format!("{} ({tag})", a.name),
            None => a.name.clone(),
        };
        // An asset outside the reader's scope is not named at all (as everywhere else).
        if !reads_asset(ctx, a.entity_id, assigned) {
            continue;
        }
        let href = Some(format!("/assets/{}", a.asset_id));
        assets.push(AssetRef { label, href });
    }
    let observers = helpdesk::observers(&mut c, t.id).await?.into_iter().map(|(_, n)| n).collect();
    let history = readable_history(ctx, &mut c, &t, full).await?;
    let open_for_work = handler && t.status != TicketStatus::Closed;
    let (technicians, groups, categories) = if open_for_work {
        let cats = helpdesk::categories_for(&mut c, &ctx.tree, t.entity_id)
            .await?
            .into_iter()
            .map(|x| (x.id.0, x.path))
            .collect();
        (technicians(ctx, &mut c, Some(t.entity_id)).await?, groups_for(ctx, &mut c, Some(t.entity_id)).await?, cats)
    } else {
        (Vec::new(), Vec::new(), Vec::new())
    };
    let mut technicians = technicians;
    if open_for_work && refusal.form == "task" {
        super::planning::add_booked(&mut c, &ctx.tree, &mut technicians, &refusal.values, t.entity_id).await?;
    }
    drop(c);
    let mut page =
        Page::new(ctx, "helpdesk.title").await.with_flash(flash).with_title(format!("#{} {}", t.id, t.title));
    if !refusal.errors.is_empty() {
        page.flash = Some(ctx.tr("common.form_errors").to_owned());
    }
    let next = if handler { t.status.allowed_next().to_vec() } else { Vec::new() };
    Ok(render_status(
        status,
        &ShowPage {
            page,
            entity_name,
            handler,
            follower,
            requester: mine && follower,
            next,
            timeline,
            assets,
            observers,
            history,
            technicians,
            groups,
            categories,
            kinds: TicketType::ALL.to_vec(),
            levels: LEVELS,
            priorities: PRIORITIES,
            stars: LEVELS,
            me: ctx.user.id.to_string(),
            refusal,
            documents,
            attachments,
            t,
        },
    ))
}

/// The ticket page's query: a notice after a redirect, or a slot picked on the planning
/// (`book_user`, `book_start`) that fills the task form in.
#[derive(Deserialize)]
struct ShowQuery {
    ok: Option<String>,
    book_user: Option<String>,
    book_start: Option<String>,
}

async fn show(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<ShowQuery>) -> AppResult<Response> {
    let values = super::planning::booking_values(q.book_user.as_deref(), q.book_start.as_deref());
    let refusal = Refusal { form: if values.is_empty() { "" } else { "task" }, values, ..Refusal::default() };
    show_page(&ctx, TicketId(id), q.ok.as_deref(), refusal, StatusCode::OK).await
}

/// Ends a POST: commit and 303 to the ticket with a notice, or drop the transaction (nothing
/// changed) and show the ticket again with the refusal (422).
async fn finish<T>(
    ctx: &Ctx,
    tx: parc_store::Tx,
    id: TicketId,
    result: Result<T, StoreError>,
    form: &'static str,
    values: HashMap<String, String>,
    ok: &str,
) -> AppResult<Response> {
    match result {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(&format!("/tickets/{id}"), Some(ok)))
        }
        Err(StoreError::Validation(errors)) => {
            drop(tx);
            refused(ctx, id, form, errors, values).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn refused(
    ctx: &Ctx,
    id: TicketId,
    form: &'static str,
    errors: ValidationErrors,
    values: HashMap<String, String>,
) -> AppResult<Response> {
    show_page(ctx, id, None, Refusal { form, errors, values }, StatusCode::UNPROCESSABLE_ENTITY).await
}

fn values(pairs: &[(&str, &Option<String>)]) -> HashMap<String, String> {
    pairs.iter().filter_map(|(k, v)| v.as_ref().map(|v| ((*k).to_owned(), v.clone()))).collect()
}

#[derive(Deserialize)]
struct FollowupForm {
    body: Option<String>,
    private: Option<String>,
}

/// A follow-up with the files that come with it (multipart), all in one transaction: a refused
/// file refuses the follow-up too (413 for an oversized one, else 422).
async fn add_followup(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    FormWithFiles(ctx, f, files): FormWithFiles<FollowupForm>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let (t, access) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    let private = f.private.is_some();
    if private {
        require_handler(&ctx, &t)?;
    } else {
        require_follow(&ctx, &t, access)?;
    }
    let v = values(&[("body", &f.body), ("private", &f.private)]);
    let files = match files {
        Ok(files) => files,
        Err(errors) => {
            drop(tx);
            let status = attachments::refusal_status(&errors);
            return show_page(&ctx, t.id, None, Refusal { form: "followup", errors, values: v }, status).await;
        }
    };
    let body = f.body.clone().unwrap_or_default();
    let r = match helpdesk::add_followup(&mut tx, &ctx.actor(), t.id, &body, private).await {
        Ok(fu) => attachments::attach(&mut tx, &ctx.actor(), &t, Some(fu.id), &files).await,
        Err(e) => Err(e),
    };
    finish(&ctx, tx, t.id, r, "followup", v, "helpdesk.followup_saved").await
}

#[derive(Deserialize)]
struct TaskForm {
    description: Option<String>,
    duration_minutes: Option<String>,
    on_site: Option<String>,
    planned_start: Option<String>,
    planned_end: Option<String>,
    hardware_needed: Option<String>,
    technician_user_id: Option<String>,
    private: Option<String>,
}

async fn add_task(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(ctx, f): CsrfForm<TaskForm>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let (t, _) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    require_handler(&ctx, &t)?;
    let v = values(&[
        ("description", &f.description),
        ("duration_minutes", &f.duration_minutes),
        ("on_site", &f.on_site),
        ("planned_start", &f.planned_start),
        ("planned_end", &f.planned_end),
        ("hardware_needed", &f.hardware_needed),
        ("technician_user_id", &f.technician_user_id),
        ("private", &f.private),
    ]);
    let mut errors = ValidationErrors::new();
    let duration = match text(&f.duration_minutes) {
        None => None,
        Some(d) => match d.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.add("duration_minutes", "range", "must be a number of minutes");
                None
            }
        },
    };
    let input = TaskInput {
        description: Some(f.description.clone().unwrap_or_default()),
        technician_user_id: opt_id("technician_user_id", &f.technician_user_id, &mut errors),
        is_private: Some(f.private.is_some()),
        on_site: Some(f.on_site.is_some()),
        hardware_needed: text(&f.hardware_needed),
        duration_minutes: duration,
        planned_start: paris_to_utc(&mut errors, "planned_start", f.planned_start.as_deref()),
        planned_end: paris_to_utc(&mut errors, "planned_end", f.planned_end.as_deref()),
        done: None,
        report: None,
    };
    if !errors.is_empty() {
        drop(tx);
        return refused(&ctx, t.id, "task", errors, v).await;
    }
    let r = helpdesk::save_task(&mut tx, &ctx.actor(), &ctx.tree, t.id, None, &input).await;
    if let Ok(k) = &r {
        crate::intervention::mail_sheet_if_due(&ctx, &mut tx, None, k).await?;
    }
    finish(&ctx, tx, t.id, r, "task", v, "helpdesk.task_saved").await
}

#[derive(Deserialize)]
struct StatusForm {
    status: Option<String>,
    solution: Option<String>,
}

async fn change_status(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(ctx, f): CsrfForm<StatusForm>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let (t, _) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    require_handler(&ctx, &t)?;
    let v = values(&[("solution", &f.solution)]);
    let Some(to) = f.status.as_deref().and_then(|s| s.trim().parse::<TicketStatus>().ok()) else {
        drop(tx);
        let e = ValidationErrors::single("status", "invalid", "is not a ticket status");
        return refused(&ctx, t.id, "status", e, v).await;
    };
    let cfg = helpdesk::config(&mut tx).await?;
    let r = helpdesk::set_status(&mut tx, &ctx.actor(), &cfg, &ctx.tree, t.id, to, f.solution.as_deref()).await;
    finish(&ctx, tx, t.id, r, "status", v, "helpdesk.status_saved").await
}

#[derive(Deserialize)]
struct AssignForm {
    assignee_user_id: Option<String>,
    assignee_group_id: Option<String>,
}

async fn assign(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(ctx, f): CsrfForm<AssignForm>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let (t, _) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    require_handler(&ctx, &t)?;
    let v = values(&[("assignee_user_id", &f.assignee_user_id), ("assignee_group_id", &f.assignee_group_id)]);
    let mut errors = ValidationErrors::new();
    // An empty choice unassigns (0, as the API says it).
    let input = TicketInput {
        assignee_user_id: Some(opt_id("assignee_user_id", &f.assignee_user_id, &mut errors).unwrap_or(0)),
        assignee_group_id: Some(opt_id("assignee_group_id", &f.assignee_group_id, &mut errors).unwrap_or(0)),
        ..Default::default()
    };
    if !errors.is_empty() {
        drop(tx);
        return refused(&ctx, t.id, "assign", errors, v).await;
    }
    let cfg = helpdesk::config(&mut tx).await?;
    let r = helpdesk::update(&mut tx, &ctx.actor(), &cfg, &ctx.tree, t.id, &input).await;
    finish(&ctx, tx, t.id, r, "assign", v, "common.saved").await
}

#[derive(Deserialize)]
struct EditForm {
    title: Option<String>,
    kind: Option<String>,
    urgency: Option<String>,
    impact: Option<String>,
    priority: Option<String>,
    category_id: Option<String>,
}

async fn edit(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(ctx, f): CsrfForm<EditForm>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let (t, _) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    require_handler(&ctx, &t)?;
    let v = values(&[
        ("title", &f.title),
        ("kind", &f.kind),
        ("urgency", &f.urgency),
        ("impact", &f.impact),
        ("priority", &f.priority),
        ("category_id", &f.category_id),
    ]);
    let mut errors = ValidationErrors::new();
    let priority = match text(&f.priority) {
        None => None,
        Some(p) => match p.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.add("priority", "priority_range", "must be between 1 and 6");
                None
            }
        },
    };
    let input = TicketInput {
        title: f.title.clone(),
        kind: text(&f.kind),
        urgency: level(&mut errors, "urgency", &f.urgency),
        impact: level(&mut errors, "impact", &f.impact),
        priority,
        category_id: opt_id("category_id", &f.category_id, &mut errors),
        ..Default::default()
    };
    if !errors.is_empty() {
        drop(tx);
        return refused(&ctx, t.id, "edit", errors, v).await;
    }
    let cfg = helpdesk::config(&mut tx).await?;
    let r = helpdesk::update(&mut tx, &ctx.actor(), &cfg, &ctx.tree, t.id, &input).await;
    finish(&ctx, tx, t.id, r, "edit", v, "common.saved").await
}

async fn accept(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let (t, access) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    require_follow(&ctx, &t, access)?;
    if t.status != TicketStatus::Solved {
        drop(tx);
        let e = ValidationErrors::single("status", "not_solved", "the ticket is not solved");
        return refused(&ctx, t.id, "accept", e, HashMap::new()).await;
    }
    let cfg = helpdesk::config(&mut tx).await?;
    let r = helpdesk::accept_solution(&mut tx, &ctx.actor(), &cfg, &ctx.tree, t.id).await;
    finish(&ctx, tx, t.id, r, "accept", HashMap::new(), "helpdesk.accepted").await
}

#[derive(Deserialize)]
struct RefuseForm {
    reason: Option<String>,
}

async fn refuse(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(ctx, f): CsrfForm<RefuseForm>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let (t, access) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    require_follow(&ctx, &t, access)?;
    let cfg = helpdesk::config(&mut tx).await?;
    let reason = f.reason.clone().unwrap_or_default();
    let r = helpdesk::refuse_solution(&mut tx, &ctx.actor(), &cfg, &ctx.tree, t.id, &reason).await;
    finish(&ctx, tx, t.id, r, "refuse", values(&[("reason", &f.reason)]), "helpdesk.refused").await
}

#[derive(Deserialize)]
struct RateForm {
    score: Option<String>,
    comment: Option<String>,
}

async fn rate(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(ctx, f): CsrfForm<RateForm>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let (t, access) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    require_follow(&ctx, &t, access)?;
    let v = values(&[("score", &f.score), ("comment", &f.comment)]);
    let Some(score) = text(&f.score).and_then(|s| s.parse::<i64>().ok()) else {
        drop(tx);
        let e = ValidationErrors::single("satisfaction", "level_range", "must be between 1 and 5");
        return refused(&ctx, t.id, "rate", e, v).await;
    };
    let comment = text(&f.comment);
    let r = helpdesk::rate(&mut tx, &ctx.actor(), t.id, score, comment.as_deref()).await;
    finish(&ctx, tx, t.id, r, "rate", v, "helpdesk.rated").await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paris_wall_clock_to_utc() {
        let mut e = ValidationErrors::new();
        // Winter: UTC+1; summer: UTC+2.
        assert_eq!(paris_to_utc(&mut e, "s", Some("2026-01-15T09:30")).as_deref(), Some("2026-01-15T08:30:00.000Z"));
        assert_eq!(paris_to_utc(&mut e, "s", Some("2026-07-15T09:30")).as_deref(), Some("2026-07-15T07:30:00.000Z"));
        assert!(e.is_empty());
        assert_eq!(paris_to_utc(&mut e, "s", Some("")), None);
        assert!(e.is_empty());
        // 29 March 2026, 02:30 does not exist in Paris.
        assert_eq!(paris_to_utc(&mut e, "s", Some("2026-03-29T02:30")), None);
        assert_eq!(e.for_field("s").unwrap().code, "datetime");
        let mut e = ValidationErrors::new();
        assert_eq!(paris_to_utc(&mut e, "s", Some("demain")), None);
        assert_eq!(e.for_field("s").unwrap().code, "datetime");
    }

    #[test]
    fn badge_classes() {
        assert!(priority_class(6).contains("prio-6"));
        assert!(sla_class("breached").contains("sla-breached"));
        assert!(sla_class("at_risk").contains("sla-at_risk"));
    }
}
