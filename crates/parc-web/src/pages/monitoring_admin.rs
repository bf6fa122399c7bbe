//! Monitoring configuration pages: the list of monitored hosts and the bulk "monitor a selection
//! of assets" form, the host and check forms, and remote pollers; plus the "Supervision" box of
//! the asset page ([`asset_box`]).
//!
//! Rights are those of the API (`crate::monitoring`): out of sight 404, visible but not allowed
//! 403. Every POST is one transaction; a refused form is shown again with its per-field messages
//! and nothing is written.

use super::admin::entity_options;
use super::{base_url, field_errors, render_status, see_other, Page};
use crate::api::{ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::{attempt, commit_or, opt_id, CsrfForm, CsrfOnly, OkQuery};
use crate::monitoring::{now_ms, readable, require_create, visible_host, visible_service};
use crate::query::parse_asset_query;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use parc_core::monitoring::check::CheckDefinition;
use parc_core::monitoring::templates;
use parc_core::permissions::{Action, Object};
use parc_core::validate::FieldError;
use parc_core::{AssetId, EntityId, GroupId, HostId, PollerId, ServiceId, ValidationErrors};
use parc_store::assets::Asset;
use parc_store::monitoring::pollers::{self, Poller, PollerInput};
use parc_store::monitoring::status::{self, StatusFilter};
use parc_store::monitoring::{self, Host, HostInput, Service, ServiceInput};
use parc_store::{entities, helpdesk, Conn};
use serde::Deserialize;
use serde_json::{json, Map, Value};
use std::collections::HashMap;
use std::str::FromStr;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/monitoring/hosts", get(host_list))
        .route("/monitoring/hosts/bulk", post(bulk))
        .route("/monitoring/hosts/new", get(host_new).post(host_create))
        .route("/monitoring/hosts/{id}/edit", get(host_edit).post(host_update))
        .route("/monitoring/hosts/{id}/delete", post(host_delete))
        .route("/monitoring/hosts/{id}/services/new", get(service_new).post(service_create))
        .route("/monitoring/services/{id}/edit", get(service_edit).post(service_update))
        .route("/monitoring/services/{id}/delete", post(service_delete))
        .route("/monitoring/pollers", get(poller_list).post(poller_create))
        .route("/monitoring/pollers/{id}/delete", post(poller_delete))
}

// ---- shared helpers ----

/// A field problem in the caller's language: `monadm.err.<code>`, then `err.<code>`, then the
/// store's English text.
fn message(page: &Page, f: &FieldError) -> String {
    page.field_message("monadm", f)
}

field_errors!(message; HostsPage, HostPage, ServicePage, PollersPage);

/// The forms are for those who may monitor equipment somewhere: 403 for other readers of
/// monitoring, 404 for the rest.
fn require_creator(ctx: &Ctx) -> AppResult<()> {
    if ctx.can_anywhere(Object::Monitoring, Action::Create) {
        Ok(())
    } else if ctx.can_anywhere(Object::Monitoring, Action::Read) {
        Err(AppError::Forbidden("only a technician can configure monitoring".into()))
    } else {
        Err(AppError::NotFound)
    }
}

fn require_reader(ctx: &Ctx) -> AppResult<()> {
    if ctx.can_anywhere(Object::Monitoring, Action::Read) {
        Ok(())
    } else {
        Err(AppError::Forbidden("your profile does not read monitoring".into()))
    }
}

async fn entity_names(c: &mut Conn) -> AppResult<HashMap<EntityId, String>> {
    Ok(entities::list_all(c).await?.into_iter().map(|e| (e.id, e.name)).collect())
}

/// A number typed in a form: empty is none; anything else must read as `T`.
fn num<T: FromStr>(errors: &mut ValidationErrors, field: &str, value: &str) -> Option<T> {
    let v = value.trim();
    if v.is_empty() {
        return None;
    }
    match v.parse::<T>() {
        Ok(n) => Some(n),
        Err(_) => {
            errors.add(field, "monadm_number", "must be a whole number in range");
            None
        }
    }
}

fn id_of(errors: &mut ValidationErrors, field: &str, value: &str) -> Option<i64> {
    opt_id(field, &Some(value.to_owned()), errors)
}

/// The built-in templates: (key, translated name).
fn template_options(page: &Page) -> Vec<(String, String)> {
    templates::all().into_iter().map(|t| (t.key.to_owned(), page.tk("monitor.template", t.key))).collect()
}

/// The user groups of `entities` and their ancestors: (id, "group (entity)").
async fn group_options(
    ctx: &Ctx,
    c: &mut Conn,
    entities: &[EntityId],
    names: &HashMap<EntityId, String>,
) -> AppResult<Vec<(GroupId, String)>> {
    let mut ids: Vec<i64> = entities.iter().flat_map(|e| ctx.tree.path(*e)).map(|e| e.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let groups = helpdesk::groups(c, &ids).await?;
    Ok(groups
        .into_iter()
        .map(|g| {
            let label = format!("{} ({})", g.name, names.get(&g.entity_id).cloned().unwrap_or_default());
            (g.id, label)
        })
        .collect())
}

// ---- the hosts list and the bulk form ----

struct HostRow {
    h: Host,
    entity: String,
    checks: usize,
    poller: String,
}

/// The bulk form as posted.
#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct BulkForm {
    filter: String,
    template: String,
    contact_group_id: String,
}

#[derive(Template)]
#[template(path = "monitoring_admin/hosts.html")]
struct HostsPage {
    page: Page,
    rows: Vec<HostRow>,
    can_create: bool,
    templates: Vec<(String, String)>,
    groups: Vec<(GroupId, String)>,
    b: BulkForm,
    errors: ValidationErrors,
}

#[derive(Debug, Default, Deserialize)]
struct ListQuery {
    filter: Option<String>,
    ok: Option<String>,
}

async fn hosts_page(
    ctx: &Ctx,
    b: BulkForm,
    errors: ValidationErrors,
    flash: Option<&str>,
    status: StatusCode,
) -> AppResult<Response> {
    let seen = readable(ctx);
    let mut c = ctx.state.store.read().await?;
    let hosts = monitoring::hosts(&mut c, &seen).await?;
    let checks =
        status::statuses(&mut c, &StatusFilter { entities: seen.clone(), ..Default::default() }, now_ms()).await?;
    let poller_names: HashMap<PollerId, String> =
        pollers::pollers(&mut c, &seen).await?.into_iter().map(|p| (p.id, p.name)).collect();
    let names = entity_names(&mut c).await?;
    let creatable: Vec<EntityId> =
        ctx.entity_ids(Object::Monitoring, Action::Create).into_iter().map(EntityId).collect();
    let groups = group_options(ctx, &mut c, &creatable, &names).await?;
    drop(c);
    let mut count: HashMap<HostId, usize> = HashMap::new();
    for s in &checks {
        *count.entry(s.host_id).or_default() += 1;
    }
    let page = Page::new(ctx, "monadm.hosts").await.with_flash(flash).with_form_errors(&errors);
    let rows = hosts
        .into_iter()
        .map(|h| HostRow {
            entity: names.get(&h.entity_id).cloned().unwrap_or_default(),
            checks: count.get(&h.id).copied().unwrap_or(0),
            poller: h.poller_id.and_then(|p| poller_names.get(&p).cloned()).unwrap_or_default(),
            h,
        })
        .collect();
    let templates = template_options(&page);
    let can_create = !creatable.is_empty();
    Ok(render_status(status, &HostsPage { page, rows, can_create, templates, groups, b, errors }))
}

async fn host_list(ctx: Ctx, ApiQuery(q): ApiQuery<ListQuery>) -> AppResult<Response> {
    require_reader(&ctx)?;
    let b = BulkForm { filter: q.filter.unwrap_or_default(), ..BulkForm::default() };
    hosts_page(&ctx, b, ValidationErrors::new(), q.ok.as_deref(), StatusCode::OK).await
}

/// What a bulk request did.
pub struct BulkResult {
    pub created: Vec<Host>,
    /// Matching assets that were monitored already.
    pub already_monitored: Vec<Asset>,
    /// Matching assets without an IP address.
    pub without_address: Vec<Asset>,
}

/// At most this many assets are monitored by one bulk request.
pub const BULK_MAX: i64 = 2000;

/// Monitors the assets of an asset-list filter (`kind=server&status=in_use`) that have an IP
/// address and are not monitored yet, in the caller's transaction: the page and the API share
/// it. A host the caller may not create refuses the whole request (403).
pub async fn monitor_assets(
    ctx: &Ctx,
    c: &mut Conn,
    filter: &str,
    template: Option<String>,
    contact_group_id: Option<i64>,
    wall_group: Option<String>,
) -> AppResult<BulkResult> {
    let q = parse_asset_query(Some(filter))?;
    let scope = ctx.scope(Object::Asset, Action::Read);
    let assets = parc_store::assets::list_all(c, ctx.state.store.backend(), &scope, ctx.user.id, &q, BULK_MAX).await?;
    let mut out = BulkResult { created: Vec::new(), already_monitored: Vec::new(), without_address: Vec::new() };
    for a in assets {
        if a.ip.is_none() {
            out.without_address.push(a);
            continue;
        }
        if monitoring::host_of_asset(c, a.id).await?.is_some() {
            out.already_monitored.push(a);
            continue;
        }
        require_create(ctx, a.entity_id)?;
        let hi = HostInput {
            asset_id: Some(a.id.0),
            template: template.clone(),
            contact_group_id: Some(contact_group_id),
            wall_group: wall_group.clone().or(a.location_name.clone()),
            ..HostInput::default()
        };
        out.created.push(monitoring::create_host(c, &ctx.actor(), &hi).await?);
    }
    Ok(out)
}

#[derive(Template)]
#[template(path = "monitoring_admin/bulk_result.html")]
struct BulkResultPage {
    page: Page,
    created: Vec<Host>,
    already: Vec<Asset>,
    without: Vec<Asset>,
}

async fn bulk(State(state): State<AppState>, CsrfForm(ctx, b): CsrfForm<BulkForm>) -> AppResult<Response> {
    require_creator(&ctx)?;
    let mut errors = ValidationErrors::new();
    if b.filter.trim().is_empty() {
        errors.add("filter", "required", "is required");
    }
    let template = Some(b.template.trim().to_owned()).filter(|t| !t.is_empty());
    if template.as_deref().is_some_and(|t| templates::find(t).is_none()) {
        errors.add("template", "unknown_value", "is not a known template");
    }
    let group = id_of(&mut errors, "contact_group_id", &b.contact_group_id);
    if !errors.is_empty() {
        return hosts_page(&ctx, b, errors, None, StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let mut tx = state.store.write().await?;
    match monitor_assets(&ctx, &mut tx, &b.filter, template, group, None).await {
        Ok(r) => {
            tx.commit().await?;
            let page = Page::new(&ctx, "monadm.bulk_done").await;
            let out =
                BulkResultPage { page, created: r.created, already: r.already_monitored, without: r.without_address };
            Ok(render_status(StatusCode::OK, &out))
        }
        Err(AppError::Validation(mut v)) => {
            drop(tx);
            // The filter's own problems (`query`, a field of the asset list) go under the filter.
            for f in &mut v.fields {
                if !["template", "contact_group_id"].contains(&f.field.as_str()) {
                    f.field = "filter".into();
                }
            }
            hosts_page(&ctx, b, v, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e),
    }
}

// ---- host form ----

/// A host form as posted (`parents` repeats, checkboxes are present when ticked).
#[derive(Debug, Default, Clone)]
struct HostForm {
    entity_id: String,
    asset_id: String,
    name: String,
    display_name: String,
    address: String,
    wall_group: String,
    poller_id: String,
    contact_group_id: String,
    escalation_group_id: String,
    escalate_after: String,
    notification_period: String,
    renotify_interval_min: String,
    open_tickets: bool,
    enabled: bool,
    comment: String,
    parents: Vec<String>,
    template: String,
}

fn opt_text<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(|x| x.to_string()).unwrap_or_default()
}

impl HostForm {
    fn of(h: &Host) -> Self {
        HostForm {
            entity_id: h.entity_id.to_string(),
            asset_id: opt_text(&h.asset_id),
            name: h.name.clone(),
            display_name: opt_text(&h.display_name),
            address: h.address.clone(),
            wall_group: opt_text(&h.wall_group),
            poller_id: opt_text(&h.poller_id),
            contact_group_id: opt_text(&h.contact_group_id),
            escalation_group_id: opt_text(&h.escalation_group_id),
            escalate_after: opt_text(&h.escalate_after),
            notification_period: opt_text(&h.notification_period),
            renotify_interval_min: h.renotify_interval_min.to_string(),
            open_tickets: h.open_tickets,
            enabled: h.enabled,
            comment: opt_text(&h.comment),
            parents: h.parents.iter().map(|p| p.to_string()).collect(),
            template: String::new(),
        }
    }

    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = HostForm::default();
        for (k, v) in pairs {
            match k.as_str() {
                "entity_id" => f.entity_id = v,
                "asset_id" => f.asset_id = v,
                "name" => f.name = v,
                "display_name" => f.display_name = v,
                "address" => f.address = v,
                "wall_group" => f.wall_group = v,
                "poller_id" => f.poller_id = v,
                "contact_group_id" => f.contact_group_id = v,
                "escalation_group_id" => f.escalation_group_id = v,
                "escalate_after" => f.escalate_after = v,
                "notification_period" => f.notification_period = v,
                "renotify_interval_min" => f.renotify_interval_min = v,
                "open_tickets" => f.open_tickets = true,
                "enabled" => f.enabled = true,
                "comment" => f.comment = v,
                "parents" => f.parents.push(v),
                "template" => f.template = v,
                _ => {}
            }
        }
        f
    }

    /// The input for the store. `old` is the host being edited: its entity and asset stay; an
    /// emptied poller, group or escalation field is removed.
    fn input(&self, errors: &mut ValidationErrors, old: Option<&Host>) -> HostInput {
        let mut parents = Vec::new();
        for p in &self.parents {
            parents.extend(id_of(errors, "parents", p));
        }
        let poller_id = id_of(errors, "poller_id", &self.poller_id);
        let contact_group_id = id_of(errors, "contact_group_id", &self.contact_group_id);
        let escalation_group_id = id_of(errors, "escalation_group_id", &self.escalation_group_id);
        let escalate_after = num::<i64>(errors, "escalate_after", &self.escalate_after);
        if old.is_some() {
            for (field, value) in [("name", &self.name), ("address", &self.address)] {
                if value.trim().is_empty() {
                    errors.add(field, "required", "is required");
                }
            }
        }
        let renotify = num::<i64>(errors, "renotify_interval_min", &self.renotify_interval_min);
        let new = old.is_none();
        let template = self.template.trim();
        HostInput {
            entity_id: if new { id_of(errors, "entity_id", &self.entity_id) } else { None },
            asset_id: if new { id_of(errors, "asset_id", &self.asset_id) } else { None },
            name: Some(self.name.clone()),
            display_name: Some(self.display_name.clone()),
            address: Some(self.address.clone()),
            wall_group: Some(self.wall_group.clone()),
            // An emptied select clears the value.
            poller_id: Some(poller_id),
            contact_group_id: Some(contact_group_id),
            escalation_group_id: Some(escalation_group_id),
            escalate_after: Some(escalate_after),
            notification_period: Some(self.notification_period.clone()),
            renotify_interval_min: Some(renotify.unwrap_or(0)),
            open_tickets: Some(self.open_tickets),
            enabled: Some(self.enabled),
            comment: Some(self.comment.clone()),
            parents: Some(parents),
            host_check: None,
            template: (new && !template.is_empty()).then(|| template.to_owned()),
        }
    }

    fn has_parent(&self, id: &HostId) -> bool {
        self.parents.contains(&id.to_string())
    }
}

/// A check of the host, for the list under its form.
struct CheckRow {
    s: Service,
    summary: String,
}

#[derive(Template)]
#[template(path = "monitoring_admin/host_form.html")]
struct HostPage {
    page: Page,
    /// The host being edited; none for a new one.
    host: Option<Host>,
    checks: Vec<CheckRow>,
    entities: Vec<(EntityId, String)>,
    pollers: Vec<(PollerId, String)>,
    groups: Vec<(GroupId, String)>,
    parents: Vec<(HostId, String)>,
    templates: Vec<(String, String)>,
    can_delete: bool,
    can_add_check: bool,
    v: HostForm,
    errors: ValidationErrors,
}

async fn host_page(
    ctx: &Ctx,
    host: Option<Host>,
    v: HostForm,
    errors: ValidationErrors,
    flash: Option<&str>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let names = entity_names(&mut c).await?;
    let entities = entity_options(ctx, &mut c, Object::Monitoring, Action::Create).await?;
    let group_entities: Vec<EntityId> = match &host {
        Some(h) => vec![h.entity_id],
        None => entities.iter().map(|(e, _)| *e).collect(),
    };
    let groups = group_options(ctx, &mut c, &group_entities, &names).await?;
    let seen = readable(ctx);
    let pollers = pollers::pollers(&mut c, &seen)
        .await?
        .into_iter()
        .map(|p| {
            let label = format!("{} ({})", p.name, names.get(&p.entity_id).cloned().unwrap_or_default());
            (p.id, label)
        })
        .collect();
    let parents = monitoring::hosts(&mut c, &seen)
        .await?
        .into_iter()
        .filter(|p| host.as_ref().is_none_or(|h| h.id != p.id))
        .map(|p| (p.id, format!("{} ({})", p.name, p.address)))
        .collect();
    let checks = match &host {
        Some(h) => monitoring::services_of(&mut c, h.id)
            .await?
            .into_iter()
            .map(|s| CheckRow { summary: s.check.summary(), s })
            .collect(),
        None => Vec::new(),
    };
    drop(c);
    let (title, can_delete, can_add_check) = match &host {
        Some(h) => (
            h.name.clone(),
            ctx.can(Object::Monitoring, Action::Delete, h.entity_id),
            ctx.can(Object::Monitoring, Action::Create, h.entity_id),
        ),
        None => (ctx.tr("monadm.host_new").to_owned(), false, false),
    };
    let page = Page::new(ctx, "monadm.host_new").await.with_flash(flash).with_title(title).with_form_errors(&errors);
    let templates = template_options(&page);
    let p = HostPage {
        page,
        host,
        checks,
        entities,
        pollers,
        groups,
        parents,
        templates,
        can_delete,
        can_add_check,
        v,
        errors,
    };
    Ok(render_status(status, &p))
}

#[derive(Debug, Default, Deserialize)]
struct NewHostQuery {
    asset_id: Option<i64>,
}

async fn host_new(ctx: Ctx, ApiQuery(q): ApiQuery<NewHostQuery>) -> AppResult<Response> {
    require_creator(&ctx)?;
    let mut v = HostForm { enabled: true, renotify_interval_min: "0".into(), ..HostForm::default() };
    if let Some(id) = q.asset_id {
        let mut c = ctx.state.store.read().await?;
        let a = super::assets::visible_asset(&ctx, &mut c, AssetId(id), Action::Read).await?;
        drop(c);
        require_create(&ctx, a.entity_id)?;
        v.entity_id = a.entity_id.to_string();
        v.asset_id = a.id.to_string();
        v.name = a.name.clone();
        v.address = a.ip.clone().unwrap_or_default();
        v.wall_group = a.location_name.clone().unwrap_or_default();
    }
    host_page(&ctx, None, v, ValidationErrors::new(), None, StatusCode::OK).await
}

async fn host_create(
    State(state): State<AppState>,
    CsrfForm(ctx, pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    require_creator(&ctx)?;
    let f = HostForm::from_pairs(pairs);
    let mut errors = ValidationErrors::new();
    let input = f.input(&mut errors, None);
    let mut tx = state.store.write().await?;
    if let Some(a) = input.asset_id {
        let a = super::assets::visible_asset(&ctx, &mut tx, AssetId(a), Action::Read).await?;
        require_create(&ctx, a.entity_id)?;
    }
    if let Some(e) = input.entity_id {
        if let Err(e) = super::admin::entity_choice(&ctx, Object::Monitoring, Action::Create, EntityId(e), "entity_id")
        {
            errors.fields.extend(e.fields);
        }
    }
    let result = attempt(errors, monitoring::create_host(&mut tx, &ctx.actor(), &input)).await?;
    match commit_or(tx, result, |h| format!("/monitoring/hosts/{}/edit", h.id), "monadm.host_created").await? {
        Ok(r) => Ok(r),
        Err((status, e)) => host_page(&ctx, None, f, e, None, status).await,
    }
}

async fn host_edit(ctx: Ctx, ApiPath(id): ApiPath<i64>, ApiQuery(q): ApiQuery<OkQuery>) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let h = visible_host(&ctx, &mut c, id, Action::Update).await?;
    drop(c);
    let v = HostForm::of(&h);
    host_page(&ctx, Some(h), v, ValidationErrors::new(), q.ok.as_deref(), StatusCode::OK).await
}

async fn host_update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = HostForm::from_pairs(pairs);
    let mut tx = state.store.write().await?;
    let h = visible_host(&ctx, &mut tx, id, Action::Update).await?;
    let mut errors = ValidationErrors::new();
    let input = f.input(&mut errors, Some(&h));
    let result = attempt(errors, monitoring::update_host(&mut tx, &ctx.actor(), h.id, &input)).await?;
    match commit_or(tx, result, |h| format!("/monitoring/hosts/{}/edit", h.id), "common.saved").await? {
        Ok(r) => Ok(r),
        Err((status, e)) => host_page(&ctx, Some(h), f, e, None, status).await,
    }
}

/// A delete button's form: the `confirm` box must be ticked (the page works without the
/// script that asks first).
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct DeleteForm {
    confirm: Option<String>,
}

async fn host_delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, f): CsrfForm<DeleteForm>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let h = visible_host(&ctx, &mut tx, id, Action::Delete).await?;
    if f.confirm.is_none() {
        return Ok(see_other(&format!("/monitoring/hosts/{}/edit", h.id), Some("monadm.confirm_needed")));
    }
    monitoring::delete_host(&mut tx, &ctx.actor(), h.id).await?;
    tx.commit().await?;
    Ok(see_other("/monitoring/hosts", Some("monadm.host_deleted")))
}

// ---- check form ----

/// The kinds of check, in the select's order.
const KINDS: [&str; 5] = ["plugin", "tcp", "http", "tls_certificate", "ping"];

/// A check form as posted: every kind's fields are on the page (it works without JavaScript),
/// `kind` says which apply.
#[derive(Debug, Default, Clone)]
struct ServiceForm {
    name: String,
    kind: String,
    command: String,
    args: String,
    tcp_port: String,
    tcp_send: String,
    tcp_expect: String,
    tcp_warning: String,
    tcp_critical: String,
    http_tls: bool,
    http_port: String,
    http_path: String,
    http_host_header: String,
    http_expect_status: String,
    http_content: String,
    http_warning: String,
    http_critical: String,
    http_verify: bool,
    tls_port: String,
    tls_server_name: String,
    tls_warning_days: String,
    tls_critical_days: String,
    ping_warning: String,
    ping_critical: String,
    ping_packets: String,
    check_interval_s: String,
    retry_interval_s: String,
    max_attempts: String,
    timeout_s: String,
    enabled: bool,
    notifications_enabled: bool,
    depends_on: Vec<String>,
}

impl ServiceForm {
    /// A new check's form: a plugin, with the other kinds' usual values ready.
    fn new() -> Self {
        ServiceForm {
            kind: "plugin".into(),
            http_path: "/".into(),
            tls_port: "443".into(),
            tls_warning_days: "30".into(),
            tls_critical_days: "7".into(),
            ping_warning: "100,20%".into(),
            ping_critical: "500,60%".into(),
            ping_packets: "3".into(),
            check_interval_s: "300".into(),
            retry_interval_s: "60".into(),
            max_attempts: "3".into(),
            timeout_s: "30".into(),
            enabled: true,
            notifications_enabled: true,
            ..ServiceForm::default()
        }
    }

    fn of(s: &Service) -> Self {
        let mut f = ServiceForm {
            name: s.name.clone(),
            kind: s.check.kind().to_owned(),
            check_interval_s: s.check_interval_s.to_string(),
            retry_interval_s: s.retry_interval_s.to_string(),
            max_attempts: s.max_attempts.to_string(),
            timeout_s: s.timeout_s.to_string(),
            enabled: s.enabled,
            notifications_enabled: s.notifications_enabled,
            depends_on: s.depends_on.iter().map(|d| d.to_string()).collect(),
            ..ServiceForm::new()
        };
        match &s.check {
            CheckDefinition::Plugin { command, args } => {
                f.command = command.clone();
                f.args = args.join("\n");
            }
            CheckDefinition::Tcp { port, send, expect, warning, critical } => {
                f.tcp_port = port.to_string();
                f.tcp_send = opt_text(send);
                f.tcp_expect = opt_text(expect);
                f.tcp_warning = opt_text(warning);
                f.tcp_critical = opt_text(critical);
            }
            CheckDefinition::Http {
                tls,
                port,
                path,
                host_header,
                expect_status,
                content,
                warning,
                critical,
                verify_certificate,
            } => {
                f.http_tls = *tls;
                f.http_port = opt_text(port);
                f.http_path = path.clone();
                f.http_host_header = opt_text(host_header);
                f.http_expect_status = opt_text(expect_status);
                f.http_content = opt_text(content);
                f.http_warning = opt_text(warning);
                f.http_critical = opt_text(critical);
                f.http_verify = *verify_certificate;
            }
            CheckDefinition::TlsCertificate { port, server_name, warning_days, critical_days } => {
                f.tls_port = port.to_string();
                f.tls_server_name = opt_text(server_name);
                f.tls_warning_days = warning_days.to_string();
                f.tls_critical_days = critical_days.to_string();
            }
            CheckDefinition::Ping { warning, critical, packets } => {
                f.ping_warning = warning.clone();
                f.ping_critical = critical.clone();
                f.ping_packets = packets.to_string();
            }
        }
        f
    }

    fn from_pairs(pairs: Vec<(String, String)>) -> Self {
        let mut f = ServiceForm::default();
        for (k, v) in pairs {
            let slot = match k.as_str() {
                "name" => &mut f.name,
                "kind" => &mut f.kind,
                "command" => &mut f.command,
                "args" => &mut f.args,
                "tcp_port" => &mut f.tcp_port,
                "tcp_send" => &mut f.tcp_send,
                "tcp_expect" => &mut f.tcp_expect,
                "tcp_warning" => &mut f.tcp_warning,
                "tcp_critical" => &mut f.tcp_critical,
                "http_port" => &mut f.http_port,
                "http_path" => &mut f.http_path,
                "http_host_header" => &mut f.http_host_header,
                "http_expect_status" => &mut f.http_expect_status,
                "http_content" => &mut f.http_content,
                "http_warning" => &mut f.http_warning,
                "http_critical" => &mut f.http_critical,
                "tls_port" => &mut f.tls_port,
                "tls_server_name" => &mut f.tls_server_name,
                "tls_warning_days" => &mut f.tls_warning_days,
                "tls_critical_days" => &mut f.tls_critical_days,
                "ping_warning" => &mut f.ping_warning,
                "ping_critical" => &mut f.ping_critical,
                "ping_packets" => &mut f.ping_packets,
                "check_interval_s" => &mut f.check_interval_s,
                "retry_interval_s" => &mut f.retry_interval_s,
                "max_attempts" => &mut f.max_attempts,
                "timeout_s" => &mut f.timeout_s,
                "http_tls" => {
                    f.http_tls = true;
                    continue;
                }
                "http_verify" => {
                    f.http_verify = true;
                    continue;
                }
                "enabled" => {
                    f.enabled = true;
                    continue;
                }
                "notifications_enabled" => {
                    f.notifications_enabled = true;
                    continue;
                }
                "depends_on" => {
                    f.depends_on.push(v);
                    continue;
                }
                _ => continue,
            };
            *slot = v;
        }
        f
    }

    /// The definition of the chosen kind, built from that kind's fields only; `None` (with
    /// errors) when a number does not read or the kind is unknown. The rules of each kind are
    /// the store's ([`CheckDefinition::validate`]).
    fn check(&self, errors: &mut ValidationErrors) -> Option<CheckDefinition> {
        let before = errors.fields.len();
        let mut m = Map::new();
        m.insert("type".into(), json!(self.kind));
        let text = |m: &mut Map<String, Value>, key: &str, v: &str| {
            let v = v.trim();
            if !v.is_empty() {
                m.insert(key.into(), json!(v));
            }
        };
        let required = |errors: &mut ValidationErrors, field: &str, v: &str| {
            if v.trim().is_empty() {
                errors.add(field, "required", "is required");
            }
        };
        match self.kind.as_str() {
            "plugin" => {
                required(errors, "check.command", &self.command);
                m.insert("command".into(), json!(self.command.trim()));
                let args: Vec<&str> =
                    self.args.lines().map(|l| l.trim_end_matches('\r')).filter(|l| !l.trim().is_empty()).collect();
                m.insert("args".into(), json!(args));
            }
            "tcp" => {
                required(errors, "check.port", &self.tcp_port);
                m.insert("port".into(), json!(num::<u16>(errors, "check.port", &self.tcp_port)));
                text(&mut m, "send", &self.tcp_send);
                text(&mut m, "expect", &self.tcp_expect);
                text(&mut m, "warning", &self.tcp_warning);
                text(&mut m, "critical", &self.tcp_critical);
            }
            "http" => {
                m.insert("tls".into(), json!(self.http_tls));
                if let Some(p) = num::<u16>(errors, "check.port", &self.http_port) {
                    m.insert("port".into(), json!(p));
                }
                text(&mut m, "path", &self.http_path);
                text(&mut m, "host_header", &self.http_host_header);
                text(&mut m, "expect_status", &self.http_expect_status);
                text(&mut m, "content", &self.http_content);
                text(&mut m, "warning", &self.http_warning);
                text(&mut m, "critical", &self.http_critical);
                m.insert("verify_certificate".into(), json!(self.http_verify));
            }
            "tls_certificate" => {
                for (field, v) in [
                    ("check.port", &self.tls_port),
                    ("check.warning_days", &self.tls_warning_days),
                    ("check.critical_days", &self.tls_critical_days),
                ] {
                    required(errors, field, v);
                }
                m.insert("port".into(), json!(num::<u16>(errors, "check.port", &self.tls_port)));
                text(&mut m, "server_name", &self.tls_server_name);
                let w = num::<u32>(errors, "check.warning_days", &self.tls_warning_days);
                let c = num::<u32>(errors, "check.critical_days", &self.tls_critical_days);
                m.insert("warning_days".into(), json!(w));
                m.insert("critical_days".into(), json!(c));
            }
            "ping" => {
                text(&mut m, "warning", &self.ping_warning);
                text(&mut m, "critical", &self.ping_critical);
                if let Some(p) = num::<u8>(errors, "check.packets", &self.ping_packets) {
                    m.insert("packets".into(), json!(p));
                }
            }
            _ => errors.add("kind", "unknown_value", "is not a kind of check"),
        }
        if errors.fields.len() > before {
            return None;
        }
        match serde_json::from_value::<CheckDefinition>(Value::Object(m)) {
            Ok(d) => Some(d),
            Err(e) => {
                errors.add("kind", "unknown_value", e.to_string());
                None
            }
        }
    }

    fn input(&self, errors: &mut ValidationErrors) -> ServiceInput {
        if self.name.trim().is_empty() {
            errors.add("name", "required", "is required");
        }
        let check = self.check(errors);
        let mut depends_on = Vec::new();
        for d in &self.depends_on {
            depends_on.extend(id_of(errors, "depends_on", d));
        }
        ServiceInput {
            name: Some(self.name.clone()),
            check,
            check_interval_s: num(errors, "check_interval_s", &self.check_interval_s),
            retry_interval_s: num(errors, "retry_interval_s", &self.retry_interval_s),
            max_attempts: num(errors, "max_attempts", &self.max_attempts),
            timeout_s: num(errors, "timeout_s", &self.timeout_s),
            enabled: Some(self.enabled),
            notifications_enabled: Some(self.notifications_enabled),
            depends_on: Some(depends_on),
        }
    }

    fn depends(&self, id: &ServiceId) -> bool {
        self.depends_on.contains(&id.to_string())
    }
}

#[derive(Template)]
#[template(path = "monitoring_admin/service_form.html")]
struct ServicePage {
    page: Page,
    host: Host,
    /// The check being edited; none for a new one.
    service: Option<Service>,
    kinds: [&'static str; 5],
    /// Other checks of the host's entity: (id, "host / check").
    others: Vec<(ServiceId, String)>,
    can_delete: bool,
    v: ServiceForm,
    errors: ValidationErrors,
}

impl ServicePage {
    /// A problem with a field of one kind's group: shown only under the chosen kind's fields
    /// (several kinds have a port or thresholds).
    fn kerr(&self, kind: &str, field: &str) -> Option<String> {
        if self.v.kind == kind {
            self.err(field)
        } else {
            None
        }
    }
}

async fn service_page(
    ctx: &Ctx,
    host: Host,
    service: Option<Service>,
    v: ServiceForm,
    errors: ValidationErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let filter = StatusFilter { entities: vec![host.entity_id.0], ..Default::default() };
    let others = status::statuses(&mut c, &filter, now_ms())
        .await?
        .into_iter()
        .filter(|s| service.as_ref().is_none_or(|x| x.id != s.id))
        .map(|s| (s.id, format!("{} / {}", s.host_name, s.name)))
        .collect();
    drop(c);
    let title = match &service {
        Some(s) => format!("{} / {}", host.name, s.name),
        None => format!("{} / {}", host.name, ctx.tr("monadm.service_new")),
    };
    let can_delete =
        service.as_ref().is_some_and(|s| !s.is_host && ctx.can(Object::Monitoring, Action::Delete, s.entity_id));
    let page = Page::new(ctx, "monadm.service_new").await.with_title(title).with_form_errors(&errors);
    let p = ServicePage { page, host, service, kinds: KINDS, others, can_delete, v, errors };
    Ok(render_status(status, &p))
}

async fn service_new(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let h = visible_host(&ctx, &mut c, id, Action::Create).await?;
    drop(c);
    service_page(&ctx, h, None, ServiceForm::new(), ValidationErrors::new(), StatusCode::OK).await
}

async fn service_create(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = ServiceForm::from_pairs(pairs);
    let mut tx = state.store.write().await?;
    let h = visible_host(&ctx, &mut tx, id, Action::Create).await?;
    let mut errors = ValidationErrors::new();
    let input = f.input(&mut errors);
    let result = attempt(errors, monitoring::create_service(&mut tx, &ctx.actor(), h.id, &input)).await?;
    match commit_or(tx, result, |s| format!("/monitoring/hosts/{}/edit", s.host_id), "monadm.service_created").await? {
        Ok(r) => Ok(r),
        Err((status, e)) => service_page(&ctx, h, None, f, e, status).await,
    }
}

async fn service_edit(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let s = visible_service(&ctx, &mut c, id, Action::Update).await?;
    let h = monitoring::host(&mut c, s.host_id).await?.ok_or(AppError::NotFound)?;
    drop(c);
    let v = ServiceForm::of(&s);
    service_page(&ctx, h, Some(s), v, ValidationErrors::new(), StatusCode::OK).await
}

async fn service_update(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, pairs): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let f = ServiceForm::from_pairs(pairs);
    let mut tx = state.store.write().await?;
    let s = visible_service(&ctx, &mut tx, id, Action::Update).await?;
    let h = monitoring::host(&mut tx, s.host_id).await?.ok_or(AppError::NotFound)?;
    let mut errors = ValidationErrors::new();
    let input = f.input(&mut errors);
    let result = attempt(errors, monitoring::update_service(&mut tx, &ctx.actor(), s.id, &input)).await?;
    match commit_or(tx, result, |s| format!("/monitoring/hosts/{}/edit", s.host_id), "common.saved").await? {
        Ok(r) => Ok(r),
        Err((status, e)) => service_page(&ctx, h, Some(s), f, e, status).await,
    }
}

async fn service_delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, f): CsrfForm<DeleteForm>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let s = visible_service(&ctx, &mut tx, id, Action::Delete).await?;
    if f.confirm.is_none() {
        return Ok(see_other(&format!("/monitoring/services/{}/edit", s.id), Some("monadm.confirm_needed")));
    }
    monitoring::delete_service(&mut tx, &ctx.actor(), s.id).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/monitoring/hosts/{}/edit", s.host_id), Some("monadm.service_deleted")))
}

// ---- pollers ----

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(default)]
struct PollerForm {
    name: String,
    entity_id: String,
}

struct PollerRow {
    p: Poller,
    entity: String,
    can_delete: bool,
}

/// A poller just created: its token, shown this once, and the command that starts it.
struct NewPoller {
    name: String,
    token: String,
    command: String,
}

#[derive(Template)]
#[template(path = "monitoring_admin/pollers.html")]
struct PollersPage {
    page: Page,
    rows: Vec<PollerRow>,
    entities: Vec<(EntityId, String)>,
    created: Option<NewPoller>,
    v: PollerForm,
    errors: ValidationErrors,
}

async fn pollers_page(
    ctx: &Ctx,
    v: PollerForm,
    errors: ValidationErrors,
    created: Option<NewPoller>,
    flash: Option<&str>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let names = entity_names(&mut c).await?;
    let list = pollers::pollers(&mut c, &readable(ctx)).await?;
    let entities = entity_options(ctx, &mut c, Object::Monitoring, Action::Create).await?;
    drop(c);
    let rows = list
        .into_iter()
        .map(|p| PollerRow {
            entity: names.get(&p.entity_id).cloned().unwrap_or_default(),
            can_delete: ctx.can(Object::Monitoring, Action::Delete, p.entity_id),
            p,
        })
        .collect();
    let page = Page::new(ctx, "monadm.pollers").await.with_flash(flash).with_form_errors(&errors);
    let mut r = render_status(status, &PollersPage { page, rows, entities, created, v, errors });
    if let Ok(v) = axum::http::HeaderValue::from_str("no-store") {
        r.headers_mut().insert(axum::http::header::CACHE_CONTROL, v);
    }
    Ok(r)
}

async fn poller_list(ctx: Ctx, ApiQuery(q): ApiQuery<OkQuery>) -> AppResult<Response> {
    require_reader(&ctx)?;
    pollers_page(&ctx, PollerForm::default(), ValidationErrors::new(), None, q.ok.as_deref(), StatusCode::OK).await
}

async fn poller_create(
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm(ctx, f): CsrfForm<PollerForm>,
) -> AppResult<Response> {
    require_creator(&ctx)?;
    let mut errors = ValidationErrors::new();
    let entity = id_of(&mut errors, "entity_id", &f.entity_id);
    if let Some(e) = entity {
        if let Err(e) = super::admin::entity_choice(&ctx, Object::Monitoring, Action::Create, EntityId(e), "entity_id")
        {
            errors.fields.extend(e.fields);
        }
    }
    if f.name.trim().is_empty() {
        errors.add("name", "required", "is required");
    }
    let input = PollerInput { entity_id: entity, name: Some(f.name.clone()) };
    let mut tx = state.store.write().await?;
    match attempt(errors, pollers::create_poller(&mut tx, &ctx.actor(), &input)).await? {
        Ok((p, token)) => {
            tx.commit().await?;
            let settings = state.settings().await;
            let command = format!("parc poller --server {} --token {token}", base_url(&settings.public_url, &headers));
            let created = NewPoller { name: p.name, token, command };
            let v = PollerForm::default();
            pollers_page(&ctx, v, ValidationErrors::new(), Some(created), None, StatusCode::CREATED).await
        }
        Err((status, e)) => {
            drop(tx);
            pollers_page(&ctx, f, e, None, None, status).await
        }
    }
}

async fn poller_delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let p = pollers::poller(&mut tx, PollerId(id)).await?.ok_or(AppError::NotFound)?;
    if !ctx.can(Object::Monitoring, Action::Read, p.entity_id) {
        return Err(AppError::NotFound);
    }
    ctx.require(Object::Monitoring, Action::Delete, p.entity_id)?;
    pollers::delete_poller(&mut tx, &ctx.actor(), p.id).await?;
    tx.commit().await?;
    Ok(see_other("/monitoring/pollers", Some("monadm.poller_deleted")))
}

// ---- the asset page's box ----

/// The "Supervision" box of an asset's page: the host monitoring it, or whether the caller may
/// start monitoring it.
pub struct AssetMonitoring {
    pub host: Option<Host>,
    /// The asset has an IP address and the caller may monitor its entity's equipment.
    pub can_monitor: bool,
}

/// The box for `a`, or none when the caller does not read monitoring in its entity.
pub async fn asset_box(ctx: &Ctx, c: &mut Conn, a: &Asset) -> AppResult<Option<AssetMonitoring>> {
    if !ctx.can(Object::Monitoring, Action::Read, a.entity_id) {
        return Ok(None);
    }
    let host = monitoring::host_of_asset(c, a.id).await?;
    let can_monitor = a.ip.is_some() && ctx.can(Object::Monitoring, Action::Create, a.entity_id);
    Ok(Some(AssetMonitoring { host, can_monitor }))
}
