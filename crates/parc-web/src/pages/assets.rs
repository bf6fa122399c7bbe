//! Asset pages: dashboard, list with filters, global search, asset page (fields, links,
//! history, PUK reveal), create/edit/delete. (The QR label's `/r/<token>` is `pages::report`.)

use super::{render, render_status, see_other, Page, Pager};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::{opt_id, CsrfForm, CsrfOnly, OkQuery};
use crate::query::{parse_asset_query, with_page};
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use parc_core::assets::{AssetDraft, AssetInput, AssetKind, AssetStatus, LineType, SpecificField};
use parc_core::audit::ObjectType;
use parc_core::permissions::{Action, Object};
use parc_core::query::{AssetField, FilterOp};
use parc_core::{AssetId, ValidationErrors};
use parc_store::assets::{self, Asset, AssetLink, Page as ResultPage};
use parc_store::audit::{self, AuditEvent};
use parc_store::entities::{self, Entity};
use parc_store::locations::{self, Location};
use parc_store::users;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(dashboard))
        .route("/assets", get(list))
        .route("/assets/new", get(new_form).post(create))
        .route("/assets/{id}", get(show))
        .route("/assets/{id}/edit", get(edit_form).post(update))
        .route("/assets/{id}/delete", post(delete))
        .route("/assets/{id}/puk", post(reveal_puk))
        .route("/assets/{id}/links", post(add_link))
        .route("/assets/{id}/links/{link}/delete", post(remove_link))
        .route("/search", get(search))
}

/// The links of `a` whose other end the caller may read (a link never reveals the name of an
/// asset outside the caller's scope). Requesters, who see only their own assets, get none.
pub async fn visible_links(ctx: &Ctx, c: &mut parc_store::Conn, a: &Asset) -> AppResult<Vec<AssetLink>> {
    let read = ctx.scope(Object::Asset, Action::Read);
    Ok(assets::links_of(c, a.id)
        .await?
        .into_iter()
        .filter(|l| {
            let other = if l.from_asset_id == a.id { l.to_entity_id } else { l.from_entity_id };
            read.full.contains(&other)
        })
        .collect())
}

/// Shows an asset's history as people read it: names instead of ids (only of what the caller
/// may read; other ids stay as recorded) and translated codes.
async fn readable_history(ctx: &Ctx, c: &mut parc_store::Conn, history: &mut [AuditEvent]) -> AppResult<()> {
    use super::admin::{humanize, name_of_entity};
    let readable = ctx.entity_ids(Object::Entity, Action::Read);
    let names = entities::list_all(c)
        .await?
        .into_iter()
        .filter(|e| readable.contains(&e.id.0))
        .map(|e| (e.id, e.name))
        .collect();
    humanize(history, "entity_id", name_of_entity(&names));
    let places = locations::list(c, &ctx.entity_ids(Object::Location, Action::Read)).await?;
    humanize(history, "location_id", |v| places.iter().find(|l| l.id.to_string() == v).map(|l| l.path.clone()));
    let user_scope = ctx.entity_ids(Object::User, Action::Read);
    let mut people = std::collections::HashMap::new();
    for ch in history.iter().flat_map(|e| e.changes.iter()).filter(|ch| ch.field == "assigned_user_id") {
        for id in [&ch.old, &ch.new].into_iter().flatten().filter_map(|v| v.parse::<i64>().ok()) {
            if let Some(u) = users::get(c, parc_core::UserId(id)).await? {
                if user_scope.contains(&u.entity_id.0) || u.id == ctx.user.id {
                    people.insert(id.to_string(), u.display_name);
                }
            }
        }
    }
    humanize(history, "assigned_user_id", |v| people.get(v).cloned());
    let i18n = &ctx.state.i18n;
    for field in ["kind", "status", "line_type"] {
        humanize(history, field, |v| {
            let key = format!("{field}.{v}");
            i18n.has(ctx.lang, &key).then(|| i18n.t(ctx.lang, &key).to_owned())
        });
    }
    Ok(())
}

/// Loads an asset the caller may see, or 404.
pub async fn visible_asset(ctx: &Ctx, c: &mut parc_store::Conn, id: AssetId, action: Action) -> AppResult<Asset> {
    let a = assets::get(c, id).await?.ok_or(AppError::NotFound)?;
    let own = a.assigned_user_id == Some(ctx.user.id);
    if !ctx.scope(Object::Asset, Action::Read).admits(a.entity_id, own) {
        return Err(AppError::NotFound);
    }
    if action != Action::Read && !ctx.can(Object::Asset, action, a.entity_id) {
        return Err(AppError::Forbidden("your profile does not allow this on this asset".into()));
    }
    Ok(a)
}

// ---- dashboard ----

#[derive(Template)]
#[template(path = "dashboard.html")]
struct Dashboard {
    page: Page,
    total: i64,
    by_kind: Vec<(AssetKind, i64)>,
    by_status: Vec<(AssetStatus, i64)>,
    recent: Vec<AuditEvent>,
    /// Open tickets, at risk and breached (for those who read tickets).
    helpdesk: Option<parc_store::helpdesk::reports::Summary>,
    /// Stock levels below their reorder level in the reader's scope.
    stock_below: Vec<parc_store::stock::Level>,
}

async fn dashboard(ctx: Ctx) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let scope = ctx.scope(Object::Asset, Action::Read);
    let counts = assets::counts(&mut c, &scope, ctx.user.id).await?;
    let by_kind = AssetKind::ALL
        .iter()
        .map(|k| (*k, counts.iter().filter(|(ck, _, _)| ck == k).map(|x| x.2).sum()))
        .filter(|(_, n)| *n > 0)
        .collect();
    let by_status =
        AssetStatus::ALL.iter().map(|s| (*s, counts.iter().filter(|(_, cs, _)| cs == s).map(|x| x.2).sum())).collect();
    let total = counts.iter().map(|x| x.2).sum();
    let full: Vec<i64> = scope.full.iter().map(|e| e.0).collect();
    let recent = if full.is_empty() { Vec::new() } else { audit::recent(&mut c, &full, false, 15).await? };
    let helpdesk = super::reports::summary(&ctx, &mut c).await?;
    let stock_below = super::stock::below_reorder(&ctx, &mut c).await?;
    let page = Page::new(&ctx, "dash.title").await;
    Ok(render(&Dashboard { page, total, by_kind, by_status, recent, helpdesk, stock_below }))
}

// ---- list ----

#[derive(Template)]
#[template(path = "assets/list.html")]
struct ListPage {
    page: Page,
    result: ResultPage<Asset>,
    pager: Pager,
    query: String,
    text: String,
    kind: String,
    status: String,
    entity: String,
    sort: String,
    desc: bool,
    entities: Vec<Entity>,
    fields: Vec<AssetField>,
    ops: Vec<FilterOp>,
    extra_field: String,
    extra_op: String,
    extra_value: String,
    can_create: bool,
    kinds: Vec<AssetKind>,
    statuses: Vec<AssetStatus>,
    count_text: String,
}

fn eq_value(q: &parc_core::query::AssetQuery, f: AssetField) -> String {
    q.filters.iter().find(|x| x.field == f && x.op == FilterOp::Eq).map(|x| x.value.clone()).unwrap_or_default()
}

async fn list(ctx: Ctx, RawQuery(raw): RawQuery) -> AppResult<Response> {
    let q = parse_asset_query(raw.as_deref())?;
    let mut c = ctx.state.store.read().await?;
    let scope = ctx.scope(Object::Asset, Action::Read);
    let result = assets::list(&mut c, ctx.state.store.backend(), &scope, ctx.user.id, &q).await?;
    let entity_ids = ctx.entity_ids(Object::Entity, Action::Read);
    let entities = entities::list_all(&mut c).await?.into_iter().filter(|e| entity_ids.contains(&e.id.0)).collect();
    let extra = q.filters.iter().find(|f| {
        !(f.op == FilterOp::Eq && matches!(f.field, AssetField::Kind | AssetField::Status | AssetField::EntityId))
    });
    let page = Page::new(&ctx, "assets.title").await;
    let query = raw.clone().unwrap_or_default();
    let count_text = page.tf("common.results", &[("count", &result.total.to_string())]);
    let pager = Pager::new(&page, &result, |p| format!("/assets?{}", with_page(raw.as_deref(), p)));
    Ok(render(&ListPage {
        page,
        pager,
        query,
        text: q.text.clone().unwrap_or_default(),
        kind: eq_value(&q, AssetField::Kind),
        status: eq_value(&q, AssetField::Status),
        entity: eq_value(&q, AssetField::EntityId),
        sort: q.sort.as_str().to_owned(),
        desc: q.desc,
        entities,
        fields: AssetField::ALL.to_vec(),
        ops: FilterOp::ALL.to_vec(),
        extra_field: extra.map(|f| f.field.as_str().to_owned()).unwrap_or_default(),
        extra_op: extra.map(|f| f.op.as_str().to_owned()).unwrap_or_default(),
        extra_value: extra.map(|f| f.value.clone()).unwrap_or_default(),
        can_create: ctx.can_anywhere(Object::Asset, Action::Create),
        kinds: AssetKind::ALL.to_vec(),
        statuses: AssetStatus::ALL.to_vec(),
        count_text,
        result,
    }))
}

// ---- search ----

#[derive(Template)]
#[template(path = "assets/search.html")]
struct SearchPage {
    page: Page,
    q: String,
    results: Vec<Asset>,
    count_text: String,
    none_text: String,
}

#[derive(Deserialize)]
struct SearchQuery {
    q: Option<String>,
}

async fn search(ctx: Ctx, Query(sq): Query<SearchQuery>) -> AppResult<Response> {
    let q = sq.q.unwrap_or_default().trim().chars().take(200).collect::<String>();
    let mut c = ctx.state.store.read().await?;
    let scope = ctx.scope(Object::Asset, Action::Read);
    let results = assets::search(&mut c, ctx.state.store.backend(), &scope, ctx.user.id, &q, 50).await?;
    // One exact hit on a tag, serial, IP or MAC: go straight to it (the hotline's usual case).
    if results.len() == 1 {
        let a = &results[0];
        let lq = q.to_lowercase();
        let exact =
            [a.asset_tag.as_deref(), a.serial.as_deref(), a.ip.as_deref(), a.mac.as_deref(), Some(a.name.as_str())]
                .into_iter()
                .flatten()
                .any(|v| v.to_lowercase() == lq);
        if exact {
            return Ok(see_other(&format!("/assets/{}", a.id), None));
        }
    }
    let page = Page::new(&ctx, "assets.search_title").await;
    let count_text = page.tf("common.results", &[("count", &results.len().to_string())]);
    let none_text = page.tf("assets.search_none", &[("q", &q)]);
    Ok(render(&SearchPage { page, q, results, count_text, none_text }))
}

// ---- asset page ----

#[derive(Template)]
#[template(path = "assets/show.html")]
struct ShowPage {
    page: Page,
    a: Asset,
    links: Vec<AssetLink>,
    history: Vec<AuditEvent>,
    puk: Option<String>,
    can_edit: bool,
    can_delete: bool,
    can_reveal: bool,
    can_link: bool,
    public_url: String,
    link_error: Option<String>,
    /// What inventory agents reported, for a computer or server they know.
    inv: Option<super::inventory::ComputerView>,
    /// The asset's tickets the caller reads (`None`: the caller reads no tickets).
    tickets: Option<Vec<parc_store::helpdesk::Ticket>>,
    can_open_ticket: bool,
    /// The "Supervision" box (`None`: the caller does not read monitoring there).
    monitoring: Option<super::monitoring_admin::AssetMonitoring>,
    /// The "Checklists" box: runs, hand-over blockers, start.
    cl: super::checklists::AssetChecklists,
}

fn public_url(state_url: &str, headers: &HeaderMap, token: &str) -> String {
    format!("{}/r/{token}", super::base_url(state_url, headers))
}

async fn show_page(
    ctx: &Ctx,
    headers: &HeaderMap,
    id: AssetId,
    flash: Option<&str>,
    puk: Option<String>,
    link_error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let a = visible_asset(ctx, &mut c, id, Action::Read).await?;
    let links = visible_links(ctx, &mut c, &a).await?;
    let mut history = audit::for_object(&mut c, ObjectType::Asset, id.0, 200).await?;
    readable_history(ctx, &mut c, &mut history).await?;
    let inv =
        if parc_store::inventory::is_machine(&a) { parc_store::inventory::computer(&mut c, a.id).await? } else { None };
    let tickets = if ctx.can_anywhere(Object::Ticket, Action::Read) {
        Some(super::tickets::of_asset(ctx, &mut c, a.id).await?)
    } else {
        None
    };
    let monitoring = super::monitoring_admin::asset_box(ctx, &mut c, &a).await?;
    let cl = super::checklists::asset_box(ctx, &mut c, &a).await?;
    let settings = ctx.state.settings().await;
    let page = Page::new(ctx, "assets.title").await.with_flash(flash).with_title(a.name.clone());
    let inv = inv.map(|i| super::inventory::ComputerView::new(i, &page));
    let can_open_ticket = ctx.tree.path(a.entity_id).into_iter().any(|e| super::tickets::may_open_in(ctx, e));
    let can_link = parc_core::assets::LinkKind::for_from_kind(a.kind).is_some()
        && ctx.can(Object::Asset, Action::Update, a.entity_id);
    Ok(render_status(
        status,
        &ShowPage {
            page,
            can_edit: ctx.can(Object::Asset, Action::Update, a.entity_id),
            can_delete: ctx.can(Object::Asset, Action::Delete, a.entity_id),
            can_reveal: a.has_puk && ctx.can(Object::Asset, Action::RevealSecret, a.entity_id),
            can_link,
            public_url: public_url(&settings.public_url, headers, &a.public_token),
            a,
            links,
            history,
            puk,
            link_error,
            inv,
            can_open_ticket,
            tickets,
            monitoring,
            cl,
        },
    ))
}

async fn show(ctx: Ctx, headers: HeaderMap, Path(id): Path<i64>, Query(q): Query<OkQuery>) -> AppResult<Response> {
    show_page(&ctx, &headers, AssetId(id), q.ok.as_deref(), None, None, StatusCode::OK).await
}

async fn reveal_puk(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let a = visible_asset(&ctx, &mut tx, AssetId(id), Action::RevealSecret).await?;
    let puk = assets::reveal_puk(&mut tx, &ctx.actor(), state.store.cipher(), &a).await?;
    tx.commit().await?;
    let mut r = show_page(&ctx, &headers, a.id, None, puk, None, StatusCode::OK).await?;
    r.headers_mut().insert(axum::http::header::CACHE_CONTROL, axum::http::HeaderValue::from_static("no-store"));
    Ok(r)
}

#[derive(Deserialize)]
struct LinkForm {
    target: String,
}

async fn add_link(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<i64>,
    CsrfForm(ctx, f): CsrfForm<LinkForm>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let from = visible_asset(&ctx, &mut tx, AssetId(id), Action::Update).await?;
    let target = f.target.trim();
    let to_id = match target.trim_start_matches('#').parse::<i64>() {
        Ok(n) => Some(AssetId(n)),
        Err(_) => assets::id_by_tag(&mut tx, from.entity_id, target).await?,
    };
    let to = match to_id {
        Some(t) => visible_asset(&ctx, &mut tx, t, Action::Update).await.ok(),
        None => None,
    };
    let Some(to) = to else {
        drop(tx);
        let msg = ctx.tr("err.not_found_ref").to_owned();
        return show_page(&ctx, &headers, from.id, None, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
    };
    match assets::link(&mut tx, &ctx.actor(), &from, &to).await {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(&format!("/assets/{id}"), Some("common.saved")))
        }
        Err(parc_store::StoreError::Validation(v)) => {
            drop(tx);
            let code = v.fields.first().map(|f| f.code.clone()).unwrap_or_default();
            let msg = ctx.state.i18n.t(ctx.lang, &format!("err.{code}")).to_owned();
            show_page(&ctx, &headers, from.id, None, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(e) => Err(e.into()),
    }
}

async fn remove_link(
    State(state): State<AppState>,
    Path((id, link)): Path<(i64, i64)>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let a = visible_asset(&ctx, &mut tx, AssetId(id), Action::Update).await?;
    let l = assets::links_of(&mut tx, a.id).await?.into_iter().find(|l| l.id == link).ok_or(AppError::NotFound)?;
    let other = if l.from_asset_id == a.id { l.to_asset_id } else { l.from_asset_id };
    visible_asset(&ctx, &mut tx, other, Action::Update).await?;
    assets::unlink(&mut tx, &ctx.actor(), &l).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/assets/{id}"), Some("common.saved")))
}

// ---- create / edit ----

/// The asset form as a browser sends it: every field text.
#[derive(Debug, Default, Deserialize)]
pub struct AssetForm {
    kind: Option<String>,
    entity_id: Option<String>,
    name: Option<String>,
    asset_tag: Option<String>,
    serial: Option<String>,
    manufacturer: Option<String>,
    model: Option<String>,
    status: Option<String>,
    location_id: Option<String>,
    assigned_user: Option<String>,
    purchase_date: Option<String>,
    warranty_end: Option<String>,
    supplier: Option<String>,
    comment: Option<String>,
    imei: Option<String>,
    iccid: Option<String>,
    puk: Option<String>,
    line_number: Option<String>,
    line_type: Option<String>,
    ip: Option<String>,
    mac: Option<String>,
}

#[derive(Template)]
#[template(path = "assets/form.html")]
struct FormPage {
    page: Page,
    action: String,
    is_new: bool,
    v: FormValues,
    errors: ValidationErrors,
    entities: Vec<Entity>,
    locations: Vec<Location>,
    kinds: Vec<AssetKind>,
    statuses: Vec<AssetStatus>,
    line_types: Vec<LineType>,
    has_puk: bool,
}

/// Values to show in the form (what was stored, or what was just submitted).
#[derive(Default)]
struct FormValues {
    kind: String,
    entity_id: String,
    name: String,
    asset_tag: String,
    serial: String,
    manufacturer: String,
    model: String,
    status: String,
    location_id: String,
    assigned_user: String,
    purchase_date: String,
    warranty_end: String,
    supplier: String,
    comment: String,
    imei: String,
    iccid: String,
    line_number: String,
    line_type: String,
    ip: String,
    mac: String,
}

impl FormPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.for_field(field).map(|f| {
            let key = format!("err.{}", f.code);
            if self.page.t(&key) == key {
                f.message.clone()
            } else {
                self.page.t(&key).to_owned()
            }
        })
    }

    /// Whether the kind-specific field group applies to the chosen kind (all shown for a new asset).
    fn shows(&self, field: &str) -> bool {
        let Ok(kind) = self.v.kind.parse::<AssetKind>() else { return true };
        kind.specific_fields().iter().any(|f| f.name() == field)
    }
}

impl FormValues {
    fn from_asset(a: &Asset, user_login: Option<String>) -> FormValues {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        FormValues {
            kind: a.kind.as_str().into(),
            entity_id: a.entity_id.to_string(),
            name: a.name.clone(),
            asset_tag: s(&a.asset_tag),
            serial: s(&a.serial),
            manufacturer: s(&a.manufacturer),
            model: s(&a.model),
            status: a.status.as_str().into(),
            location_id: a.location_id.map(|l| l.to_string()).unwrap_or_default(),
            assigned_user: user_login.unwrap_or_default(),
            purchase_date: s(&a.purchase_date),
            warranty_end: s(&a.warranty_end),
            supplier: s(&a.supplier),
            comment: s(&a.comment),
            imei: s(&a.imei),
            iccid: s(&a.iccid),
            line_number: s(&a.line_number),
            line_type: a.line_type.map(|l| l.as_str().to_owned()).unwrap_or_default(),
            ip: s(&a.ip),
            mac: s(&a.mac),
        }
    }

    fn from_form(f: &AssetForm) -> FormValues {
        let s = |v: &Option<String>| v.clone().unwrap_or_default();
        FormValues {
            kind: s(&f.kind),
            entity_id: s(&f.entity_id),
            name: s(&f.name),
            asset_tag: s(&f.asset_tag),
            serial: s(&f.serial),
            manufacturer: s(&f.manufacturer),
            model: s(&f.model),
            status: s(&f.status),
            location_id: s(&f.location_id),
            assigned_user: s(&f.assigned_user),
            purchase_date: s(&f.purchase_date),
            warranty_end: s(&f.warranty_end),
            supplier: s(&f.supplier),
            comment: s(&f.comment),
            imei: s(&f.imei),
            iccid: s(&f.iccid),
            line_number: s(&f.line_number),
            line_type: s(&f.line_type),
            ip: s(&f.ip),
            mac: s(&f.mac),
        }
    }
}

#[allow(clippy::too_many_arguments)]
async fn form_page(
    ctx: &Ctx,
    action: String,
    is_new: bool,
    v: FormValues,
    errors: ValidationErrors,
    has_puk: bool,
    title: &str,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let allowed = ctx.entity_ids(Object::Asset, if is_new { Action::Create } else { Action::Update });
    let entities = entities::list_all(&mut c).await?.into_iter().filter(|e| allowed.contains(&e.id.0)).collect();
    let locations = locations::list(&mut c, &allowed).await?;
    let mut page = Page::new(ctx, title).await;
    if !errors.is_empty() {
        page.flash = Some(ctx.tr("common.form_errors").to_owned());
    }
    Ok(render_status(
        status,
        &FormPage {
            page,
            action,
            is_new,
            v,
            errors,
            entities,
            locations,
            kinds: AssetKind::ALL.to_vec(),
            statuses: AssetStatus::ALL.to_vec(),
            line_types: LineType::ALL.to_vec(),
            has_puk,
        },
    ))
}

#[derive(Deserialize)]
struct NewQuery {
    kind: Option<String>,
    entity_id: Option<String>,
}

async fn new_form(ctx: Ctx, Query(q): Query<NewQuery>) -> AppResult<Response> {
    if !ctx.can_anywhere(Object::Asset, Action::Create) {
        return Err(AppError::Forbidden("your profile cannot create assets".into()));
    }
    let v = FormValues {
        kind: q.kind.unwrap_or_default(),
        entity_id: q.entity_id.unwrap_or_else(|| ctx.user.entity_id.to_string()),
        status: "in_use".into(),
        ..Default::default()
    };
    form_page(&ctx, "/assets/new".into(), true, v, ValidationErrors::new(), false, "assets.new", StatusCode::OK).await
}

/// Converts the browser's text into an API-shaped input, resolving the user by login.
async fn to_input(
    c: &mut parc_store::Conn,
    ctx: &Ctx,
    f: &AssetForm,
    errors: &mut ValidationErrors,
) -> AppResult<AssetInput> {
    // An absent field keeps the stored value; an empty one clears it.
    let assigned = match f.assigned_user.as_deref().map(str::trim) {
        None => None,
        Some("") => Some(0),
        Some(login) => match users::by_login(c, login).await? {
            Some((u, _))
                if ctx.entity_ids(Object::User, Action::Read).contains(&u.entity_id.0) || u.id == ctx.user.id =>
            {
                Some(u.id.0)
            }
            _ => {
                errors.add("assigned_user_id", "not_found_ref", "no such user");
                None
            }
        },
    };
    let puk = match f.puk.as_deref().map(str::trim) {
        None | Some("") => None,
        Some("-") => Some(String::new()),
        Some(p) => Some(p.to_owned()),
    };
    Ok(AssetInput {
        kind: f.kind.clone(),
        entity_id: opt_id("entity_id", &f.entity_id, errors),
        name: f.name.clone(),
        asset_tag: f.asset_tag.clone(),
        serial: f.serial.clone(),
        manufacturer: f.manufacturer.clone(),
        model: f.model.clone(),
        status: f.status.clone(),
        location_id: f.location_id.as_ref().map(|_| opt_id("location_id", &f.location_id, errors).unwrap_or(0)),
        assigned_user_id: assigned,
        purchase_date: f.purchase_date.clone(),
        warranty_end: f.warranty_end.clone(),
        supplier: f.supplier.clone(),
        comment: f.comment.clone(),
        imei: f.imei.clone(),
        iccid: f.iccid.clone(),
        puk,
        line_number: f.line_number.clone(),
        line_type: f.line_type.clone(),
        ip: f.ip.clone(),
        mac: f.mac.clone(),
    })
}

fn merge(mut a: ValidationErrors, b: ValidationErrors) -> ValidationErrors {
    for f in b.fields {
        if a.for_field(&f.field).is_none() {
            a.fields.push(f);
        }
    }
    a
}

/// Re-displays the submitted form with its errors (422).
async fn refused(
    ctx: &Ctx,
    action: String,
    f: &AssetForm,
    errors: ValidationErrors,
    has_puk: bool,
) -> AppResult<Response> {
    let is_new = action == "/assets/new";
    let title = if is_new { "assets.new" } else { "assets.edit" };
    let values = FormValues::from_form(f);
    form_page(ctx, action, is_new, values, errors, has_puk, title, StatusCode::UNPROCESSABLE_ENTITY).await
}

/// The form's own errors (user, ids) merged with the domain's validation.
async fn draft_from(
    c: &mut parc_store::Conn,
    ctx: &Ctx,
    f: &AssetForm,
    existing: Option<&AssetDraft>,
) -> AppResult<Result<AssetDraft, ValidationErrors>> {
    let mut errors = ValidationErrors::new();
    let input = to_input(c, ctx, f, &mut errors).await?;
    Ok(match input.validate(existing) {
        Ok(d) if errors.is_empty() => Ok(d),
        Ok(_) => Err(errors),
        Err(e) => Err(merge(errors, e)),
    })
}

async fn create(State(state): State<AppState>, CsrfForm(ctx, f): CsrfForm<AssetForm>) -> AppResult<Response> {
    let action = "/assets/new".to_owned();
    let mut tx = state.store.write().await?;
    let refusal = match draft_from(&mut tx, &ctx, &f, None).await? {
        Err(e) => Err(e),
        Ok(d) if !ctx.can(Object::Asset, Action::Create, d.entity_id) => {
            Err(ValidationErrors::single("entity_id", "forbidden_grant", "you cannot create assets in this entity"))
        }
        Ok(d) => match assets::create(&mut tx, &ctx.actor(), state.store.cipher(), &d).await {
            Ok(id) => Ok(id),
            Err(parc_store::StoreError::Validation(e)) => Err(e),
            Err(e) => return Err(e.into()),
        },
    };
    match refusal {
        Ok(id) => {
            tx.commit().await?;
            Ok(see_other(&format!("/assets/{id}"), Some("assets.created")))
        }
        Err(e) => {
            drop(tx);
            refused(&ctx, action, &f, e, false).await
        }
    }
}

async fn edit_form(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let a = visible_asset(&ctx, &mut c, AssetId(id), Action::Update).await?;
    let login = match a.assigned_user_id {
        Some(u) => users::get(&mut c, u).await?.map(|u| u.login),
        None => None,
    };
    drop(c);
    let v = FormValues::from_asset(&a, login);
    form_page(
        &ctx,
        format!("/assets/{id}/edit"),
        false,
        v,
        ValidationErrors::new(),
        a.has_puk,
        "assets.edit",
        StatusCode::OK,
    )
    .await
}

async fn update(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(ctx, f): CsrfForm<AssetForm>,
) -> AppResult<Response> {
    let action = format!("/assets/{id}/edit");
    let mut tx = state.store.write().await?;
    let old = visible_asset(&ctx, &mut tx, AssetId(id), Action::Update).await?;
    let refusal = match draft_from(&mut tx, &ctx, &f, Some(&old.to_draft())).await? {
        Err(e) => Err(e),
        Ok(d) if d.entity_id != old.entity_id && !ctx.can(Object::Asset, Action::Create, d.entity_id) => {
            Err(ValidationErrors::single("entity_id", "forbidden_grant", "you cannot move assets to this entity"))
        }
        Ok(d) if d.puk.is_some() && !ctx.can(Object::Asset, Action::RevealSecret, old.entity_id) => {
            Err(ValidationErrors::single("puk", "forbidden_grant", "your profile cannot change secrets"))
        }
        Ok(d) => match assets::update(&mut tx, &ctx.actor(), state.store.cipher(), &old, &d).await {
            Ok(()) => Ok(()),
            Err(parc_store::StoreError::Validation(e)) => Err(e),
            Err(e) => return Err(e.into()),
        },
    };
    match refusal {
        Ok(()) => {
            tx.commit().await?;
            Ok(see_other(&format!("/assets/{id}"), Some("common.saved")))
        }
        Err(e) => {
            drop(tx);
            refused(&ctx, action, &f, e, old.has_puk).await
        }
    }
}

async fn delete(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let a = visible_asset(&ctx, &mut tx, AssetId(id), Action::Delete).await?;
    assets::delete(&mut tx, &ctx.actor(), &a).await?;
    tx.commit().await?;
    Ok(see_other("/assets", Some("assets.deleted")))
}
