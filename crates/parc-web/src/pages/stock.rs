//! Stock pages (`/stock`, a store's page, movements, reorder levels, XLSX import and export)
//! and the rules the JSON API (`crate::api::stock`) shares with them: who sees a store (the
//! asset rights: Read to see, Update to record movements, Create/Delete for stores and items),
//! recording a movement with its reorder e-mail in the same transaction, the import's checks.
//!
//! The reorder e-mail goes to the store's manager, in their language, when a level goes below
//! its reorder level (once per crossing: `parc_core::stock::reorder`), through the mail queue of
//! the movement's transaction: it exists exactly when the movement was committed.
//!
//! Import: an XLSX (or CSV) stock file is uploaded, its columns are mapped to the fields (item,
//! quantity required; store, reference, category, unit, reorder level optional), a preview lists
//! every row's problems, and the commit writes every row or none: each quantity as an `adjust`
//! movement to the counted quantity (the item created in the store's entity's catalogue when it
//! is unknown), with its reorder level. The table travels from step to step in a hidden field,
//! checked again at commit like a new upload.

use super::io::{blocking, file_response, XLSX_TYPE};
use super::{field_errors, render_status, see_other, Page};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::{check_csrf_value, opt_id, CsrfForm, OkQuery};
use crate::i18n::Lang;
use crate::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{Multipart, Path, Query};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use parc_core::permissions::{Action, Object};
use parc_core::stock::{parse_quantity, MovementKind};
use parc_core::{EntityId, StockItemId, StockStoreId, ValidationErrors};
use parc_docs::table::{read_any, write_workbook, Cell, Limits, Row, Sheet, Table};
use parc_mail::Email;
use parc_store::stock::{self, Alert, ItemInput, Level, Movement, MovementInput, StockItem, StockStore, StoreInput};
use parc_store::{jobs, mail_settings, users, Conn, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::{HashMap, HashSet};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/stock", get(index))
        .route("/stock/stores", post(store_create))
        .route("/stock/items", post(item_create))
        .route("/stock/stores/{id}", get(store_page))
        .route("/stock/stores/{id}/movements", post(movement_create))
        .route("/stock/stores/{id}/reorder", post(reorder_set))
        .route("/stock/export.xlsx", get(export_page))
        .route("/stock/import", get(import_page).post(import_post))
        .route("/static/stock.css", get(css))
}

const CSS: &str = include_str!("../../static/stock.css");

async fn css() -> Response {
    use axum::response::IntoResponse;
    let headers = [
        (axum::http::header::CONTENT_TYPE, "text/css; charset=utf-8"),
        (axum::http::header::CACHE_CONTROL, "public, max-age=3600"),
    ];
    (headers, CSS).into_response()
}

// ---- shared rules ----

/// The entities whose stock the caller may read: those where they read every asset (a
/// requester, who only sees their own assets, sees no stock).
pub fn readable(ctx: &Ctx) -> Vec<i64> {
    ctx.scope(Object::Asset, Action::Read).full.iter().map(|e| e.0).collect()
}

/// Whether the caller sees the stock of `entity`.
fn sees(ctx: &Ctx, entity: EntityId) -> bool {
    ctx.scope(Object::Asset, Action::Read).full.contains(&entity)
}

/// A store the caller may see, else 404; `action` (beyond Read) must be allowed on its entity,
/// else 403.
pub async fn visible_store(ctx: &Ctx, c: &mut Conn, id: StockStoreId, action: Action) -> AppResult<StockStore> {
    let s = stock::get_store(c, id).await?.ok_or(AppError::NotFound)?;
    if !sees(ctx, s.entity_id) {
        return Err(AppError::NotFound);
    }
    if action != Action::Read && !ctx.can(Object::Asset, action, s.entity_id) {
        return Err(AppError::Forbidden("you cannot change this store's stock".into()));
    }
    Ok(s)
}

/// An item the caller may see (its catalogue's entity readable), else 404.
pub async fn visible_item(ctx: &Ctx, c: &mut Conn, id: StockItemId) -> AppResult<StockItem> {
    let i = stock::get_item(c, id).await?.ok_or(AppError::NotFound)?;
    // An item of an ancestor's catalogue is visible to whoever sees a store below it.
    let readable = readable(ctx);
    if readable.iter().any(|e| ctx.tree.is_within(EntityId(*e), i.entity_id)) {
        Ok(i)
    } else {
        Err(AppError::NotFound)
    }
}

/// Validation errors for a reference the caller cannot use (unknown or out of scope).
fn missing(field: &str) -> AppError {
    AppError::field(field, "not_found_ref", "no such object, or not yours to use")
}

/// Records a movement in `c` (the caller's write transaction) after the scope and rights checks,
/// and enqueues the reorder e-mails it causes.
pub async fn record_movement(ctx: &Ctx, c: &mut Conn, input: &MovementInput) -> AppResult<stock::Recorded> {
    let store = match stock::get_store(c, StockStoreId(input.store_id)).await? {
        Some(s) if sees(ctx, s.entity_id) => s,
        _ => return Err(missing("store_id")),
    };
    if !ctx.can(Object::Asset, Action::Update, store.entity_id) {
        return Err(AppError::Forbidden("you cannot change this store's stock".into()));
    }
    let item = visible_item(ctx, c, StockItemId(input.item_id)).await.map_err(|_| missing("item_id"))?;
    let to_store = match input.to_store_id {
        None => None,
        Some(id) => match stock::get_store(c, StockStoreId(id)).await? {
            Some(s) if ctx.can(Object::Asset, Action::Update, s.entity_id) => Some(s),
            _ => return Err(missing("to_store_id")),
        },
    };
    if let Some(k) = input.issued_to_ticket_id {
        let t = parc_store::helpdesk::get(c, parc_core::TicketId(k)).await?;
        if !t.is_some_and(|t| ctx.can(Object::Ticket, Action::Read, t.entity_id)) {
            return Err(missing("issued_to_ticket_id"));
        }
    }
    let target = stock::Target { store: &store, to_store: to_store.as_ref(), item: &item };
    let recorded = stock::record(c, &ctx.actor(), &ctx.tree, &target, input).await?;
    mail_alerts(ctx, c, &recorded.alerts).await?;
    Ok(recorded)
}

/// Enqueues one reorder e-mail per alert to the store's manager (active, with an address), in
/// their language, while e-mail sending is on.
pub async fn mail_alerts(ctx: &Ctx, c: &mut Conn, alerts: &[Alert]) -> AppResult<()> {
    if alerts.is_empty() || !mail_settings::enabled(c).await? {
        return Ok(());
    }
    let settings = ctx.state.settings().await;
    let base = settings.public_url.trim().trim_end_matches('/').to_owned();
    for a in alerts {
        let Some(manager) = a.manager_user_id else { continue };
        let Some(user) = users::get(c, manager).await?.filter(|u| u.active) else { continue };
        let Some(address) = user.email.clone().filter(|e| !e.trim().is_empty()) else { continue };
        let lang = user.language.as_deref().and_then(Lang::parse).or(Lang::parse(&settings.default_language));
        let lang = lang.unwrap_or_default();
        let (quantity, level) = (a.quantity.to_string(), a.reorder_level.to_string());
        let args = [
            ("item", a.item_name.as_str()),
            ("store", a.store_name.as_str()),
            ("quantity", quantity.as_str()),
            ("level", level.as_str()),
            ("link", &format!("{base}/stock/stores/{}", a.store_id)),
        ];
        let i18n = &ctx.state.i18n;
        let email = Email {
            to: vec![address],
            subject: i18n.tf(lang, "stock.mail.subject", &args),
            text: i18n.tf(lang, "stock.mail.body", &args),
            ..Email::default()
        };
        jobs::enqueue_mail(c, &email).await?;
    }
    Ok(())
}

/// Sets a reorder level after the checks, mailing the alert it may cause.
pub async fn set_reorder(
    ctx: &Ctx,
    c: &mut Conn,
    store: StockStoreId,
    item: StockItemId,
    level: Option<i64>,
) -> AppResult<()> {
    let store = visible_store(ctx, c, store, Action::Update).await?;
    let item = visible_item(ctx, c, item).await.map_err(|_| missing("item_id"))?;
    let alert = stock::set_reorder_level(c, &ctx.actor(), &ctx.tree, &store, &item, level).await?;
    mail_alerts(ctx, c, &alert.into_iter().collect::<Vec<_>>()).await
}

/// Creates a store where the caller may create assets.
pub async fn create_store(ctx: &Ctx, c: &mut Conn, input: &StoreInput) -> AppResult<StockStore> {
    if let Some(e) = input.entity_id {
        if !sees(ctx, EntityId(e)) {
            return Err(missing("entity_id"));
        }
        if !ctx.can(Object::Asset, Action::Create, EntityId(e)) {
            return Err(AppError::Forbidden("you cannot create stock here".into()));
        }
    }
    Ok(stock::create_store(c, &ctx.actor(), input).await?)
}

/// Creates a catalogue item where the caller may create assets.
pub async fn create_item(ctx: &Ctx, c: &mut Conn, input: &ItemInput) -> AppResult<StockItem> {
    if let Some(e) = input.entity_id {
        if !sees(ctx, EntityId(e)) {
            return Err(missing("entity_id"));
        }
        if !ctx.can(Object::Asset, Action::Create, EntityId(e)) {
            return Err(AppError::Forbidden("you cannot create stock here".into()));
        }
    }
    Ok(stock::create_item(c, &ctx.actor(), input).await?)
}

/// The items usable in `store`: its entity's catalogue and its ancestors'.
pub async fn store_items(ctx: &Ctx, c: &mut Conn, store: &StockStore) -> AppResult<Vec<StockItem>> {
    let path: Vec<i64> = ctx.tree.path(store.entity_id).into_iter().map(|e| e.0).collect();
    Ok(stock::list_items(c, &path).await?)
}

// ---- export ----

/// The stock levels and the movements of the caller's scope as one workbook of two sheets.
pub async fn export(ctx: &Ctx) -> AppResult<Response> {
    let entities = readable(ctx);
    let mut c = ctx.state.store.read().await?;
    let levels = stock::list_levels(&mut c, &entities, None, false).await?;
    let movements = stock::list_movements(&mut c, &entities, None, None, stock::MOVEMENTS_MAX).await?;
    drop(c);
    let (i, l) = (&ctx.state.i18n, ctx.lang);
    let h = |keys: &[&str]| keys.iter().map(|k| i.t(l, &format!("stock.col.{k}")).to_owned()).collect::<Vec<_>>();
    let level_headers = h(&["store", "item", "reference", "unit", "quantity", "reorder_level"]);
    let move_headers = h(&["at", "kind", "store", "item", "delta", "quantity_after", "reason", "actor"]);
    let kinds: HashMap<MovementKind, String> =
        MovementKind::ALL.iter().map(|k| (*k, i.t(l, &format!("stock.kind.{k}")).to_owned())).collect();
    let times: Vec<String> = movements.iter().map(|m| super::local_time(l, &m.at)).collect();
    let bytes = blocking(move || {
        let level_rows = levels
            .iter()
            .map(|v| {
                vec![
                    Cell::Text(&v.store_name),
                    Cell::Text(&v.item_name),
                    Cell::Text(v.reference.as_deref().unwrap_or_default()),
                    Cell::Text(v.unit.as_deref().unwrap_or_default()),
                    Cell::Number(v.quantity as f64),
                    v.reorder_level.map_or(Cell::Text(""), |r| Cell::Number(r as f64)),
                ]
            })
            .collect();
        let move_rows = movements
            .iter()
            .zip(&times)
            .map(|(m, at)| {
                vec![
                    Cell::Text(at),
                    Cell::Text(&kinds[&m.kind]),
                    Cell::Text(&m.store_name),
                    Cell::Text(&m.item_name),
                    Cell::Number(m.delta as f64),
                    Cell::Number(m.quantity_after as f64),
                    Cell::Text(m.reason.as_deref().unwrap_or_default()),
                    Cell::Text(&m.actor_label),
                ]
            })
            .collect();
        write_workbook(&[
            Sheet { name: "Stock", headers: &level_headers, rows: level_rows },
            Sheet { name: "Mouvements", headers: &move_headers, rows: move_rows },
        ])
    })
    .await??;
    Ok(file_response(bytes, XLSX_TYPE, "attachment", "parc-stock", "xlsx"))
}

async fn export_page(ctx: Ctx) -> AppResult<Response> {
    export(&ctx).await
}

// ---- index ----

struct LevelView {
    level: Level,
}

#[derive(Template)]
#[template(path = "stock/index.html")]
struct IndexPage {
    page: Page,
    stores: Vec<StockStore>,
    below: Vec<LevelView>,
    items: Vec<StockItem>,
    /// Entities where the caller may create stores and items: (id, name).
    entities: Vec<(i64, String)>,
    locations: Vec<(i64, String)>,
    managers: Vec<(i64, String)>,
    errors: ValidationErrors,
    form: HashMap<String, String>,
}

field_errors!(message; IndexPage, StorePage, ImportPage);

fn message(page: &Page, f: &parc_core::FieldError) -> String {
    page.field_message("stock", f)
}

impl IndexPage {
    fn v(&self, k: &str) -> String {
        self.form.get(k).cloned().unwrap_or_default()
    }

    /// The problem with `field` of the form `which` ("store" or "item") that was sent.
    fn fe(&self, which: &str, field: &str) -> Option<String> {
        let sent = self.form.keys().any(|k| k.starts_with(which) && k.as_bytes().get(which.len()) == Some(&b'_'));
        if sent {
            self.err(field)
        } else {
            None
        }
    }
}

async fn index_view(
    ctx: &Ctx,
    status: StatusCode,
    errors: ValidationErrors,
    form: HashMap<String, String>,
    ok: Option<&str>,
) -> AppResult<Response> {
    let entities = readable(ctx);
    let mut c = ctx.state.store.read().await?;
    let stores = stock::list_stores(&mut c, &entities).await?;
    let below = stock::list_levels(&mut c, &entities, None, true).await?;
    let items = stock::list_items(&mut c, &entities).await?;
    let creatable = ctx.entity_ids(Object::Asset, Action::Create);
    let all = parc_store::entities::list_all(&mut c).await?;
    let entity_opts = all.iter().filter(|e| creatable.contains(&e.id.0)).map(|e| (e.id.0, e.name.clone())).collect();
    let locations = if creatable.is_empty() {
        Vec::new()
    } else {
        parc_store::locations::list(&mut c, &creatable).await?.into_iter().map(|l| (l.id.0, l.path)).collect()
    };
    let managers = if creatable.is_empty() { Vec::new() } else { managers(&mut c, &creatable).await? };
    drop(c);
    let page = Page::new(ctx, "stock.title").await.with_flash(ok).with_form_errors(&errors);
    Ok(render_status(
        status,
        &IndexPage {
            page,
            stores,
            below: below.into_iter().map(|level| LevelView { level }).collect(),
            items,
            entities: entity_opts,
            locations,
            managers,
            errors,
            form,
        },
    ))
}

/// Active users of the given entities, as (id, "name (login)").
async fn managers(c: &mut Conn, entities: &[i64]) -> AppResult<Vec<(i64, String)>> {
    let list = users::list(c, entities, None, 1000).await?;
    Ok(list.into_iter().filter(|u| u.active).map(|u| (u.id.0, format!("{} ({})", u.display_name, u.login))).collect())
}

async fn index(ctx: Ctx, Query(q): Query<OkQuery>) -> AppResult<Response> {
    index_view(&ctx, StatusCode::OK, ValidationErrors::new(), HashMap::new(), q.ok.as_deref()).await
}

#[derive(Deserialize)]
struct StoreForm {
    entity_id: Option<String>,
    name: Option<String>,
    location_id: Option<String>,
    manager_user_id: Option<String>,
    comment: Option<String>,
}

async fn store_create(CsrfForm(ctx, f): CsrfForm<StoreForm>) -> AppResult<Response> {
    let mut errors = ValidationErrors::new();
    let input = StoreInput {
        entity_id: opt_id("entity_id", &f.entity_id, &mut errors),
        name: f.name.clone(),
        location_id: opt_id("location_id", &f.location_id, &mut errors),
        manager_user_id: opt_id("manager_user_id", &f.manager_user_id, &mut errors),
        comment: f.comment.clone(),
    };
    let form: HashMap<String, String> = [
        ("store_entity_id", &f.entity_id),
        ("store_name", &f.name),
        ("store_location_id", &f.location_id),
        ("store_manager_user_id", &f.manager_user_id),
        ("store_comment", &f.comment),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.clone().unwrap_or_default()))
    .collect();
    if errors.is_empty() {
        let mut tx = ctx.state.store.write().await?;
        match create_store(&ctx, &mut tx, &input).await {
            Ok(s) => {
                tx.commit().await?;
                return Ok(see_other(&format!("/stock/stores/{}", s.id), Some("stock.store_created")));
            }
            Err(AppError::Validation(v)) => errors = v,
            Err(e) => return Err(e),
        }
    }
    index_view(&ctx, StatusCode::UNPROCESSABLE_ENTITY, errors, form, None).await
}

#[derive(Deserialize)]
struct ItemForm {
    entity_id: Option<String>,
    name: Option<String>,
    reference: Option<String>,
    category: Option<String>,
    unit: Option<String>,
}

async fn item_create(CsrfForm(ctx, f): CsrfForm<ItemForm>) -> AppResult<Response> {
    let mut errors = ValidationErrors::new();
    let input = ItemInput {
        entity_id: opt_id("entity_id", &f.entity_id, &mut errors),
        name: f.name.clone(),
        reference: f.reference.clone(),
        category: f.category.clone(),
        unit: f.unit.clone(),
    };
    let form: HashMap<String, String> = [
        ("item_entity_id", &f.entity_id),
        ("item_name", &f.name),
        ("item_reference", &f.reference),
        ("item_category", &f.category),
        ("item_unit", &f.unit),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.clone().unwrap_or_default()))
    .collect();
    if errors.is_empty() {
        let mut tx = ctx.state.store.write().await?;
        match create_item(&ctx, &mut tx, &input).await {
            Ok(_) => {
                tx.commit().await?;
                return Ok(see_other("/stock", Some("stock.item_created")));
            }
            Err(AppError::Validation(v)) => errors = v,
            Err(e) => return Err(e),
        }
    }
    index_view(&ctx, StatusCode::UNPROCESSABLE_ENTITY, errors, form, None).await
}

// ---- a store ----

struct MoveView {
    at: String,
    kind: String,
    item: String,
    delta: String,
    after: i64,
    detail: String,
    actor: String,
}

#[derive(Template)]
#[template(path = "stock/store.html")]
struct StorePage {
    page: Page,
    store: StockStore,
    levels: Vec<Level>,
    items: Vec<StockItem>,
    others: Vec<StockStore>,
    locations: Vec<(i64, String)>,
    movements: Vec<MoveView>,
    assets: Vec<stock::StockedAsset>,
    can_move: bool,
    errors: ValidationErrors,
    form: HashMap<String, String>,
}

impl StorePage {
    fn v(&self, k: &str) -> String {
        self.form.get(k).cloned().unwrap_or_default()
    }
}

fn move_view(page: &Page, m: &Movement, stores: &HashMap<StockStoreId, String>) -> MoveView {
    let mut detail = Vec::new();
    if let Some(o) = m.other_store_id {
        let key = if m.delta < 0 { "stock.to_store" } else { "stock.from_store" };
        detail.push(page.tf(key, &[("store", stores.get(&o).map_or("?", String::as_str))]));
    }
    if let Some(u) = m.issued_to_user_id {
        detail.push(page.tf("stock.to_user", &[("id", &u.to_string())]));
    }
    if let Some(t) = m.issued_to_ticket_id {
        detail.push(page.tf("stock.to_ticket", &[("id", &t.to_string())]));
    }
    if let Some(r) = &m.reason {
        detail.push(r.clone());
    }
    MoveView {
        at: page.when(&m.at),
        kind: page.tk("stock.kind", m.kind.as_str()),
        item: m.item_name.clone(),
        delta: if m.delta > 0 { format!("+{}", m.delta) } else { m.delta.to_string() },
        after: m.quantity_after,
        detail: detail.join(" · "),
        actor: m.actor_label.clone(),
    }
}

async fn store_view(
    ctx: &Ctx,
    id: StockStoreId,
    status: StatusCode,
    errors: ValidationErrors,
    form: HashMap<String, String>,
    ok: Option<&str>,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let store = visible_store(ctx, &mut c, id, Action::Read).await?;
    let entities = readable(ctx);
    let levels = stock::list_levels(&mut c, &entities, Some(store.id), false).await?;
    let items = store_items(ctx, &mut c, &store).await?;
    let updatable = ctx.entity_ids(Object::Asset, Action::Update);
    let others: Vec<StockStore> =
        stock::list_stores(&mut c, &updatable).await?.into_iter().filter(|s| s.id != store.id).collect();
    let locations = parc_store::locations::list(&mut c, &[store.entity_id.0])
        .await?
        .into_iter()
        .map(|l| (l.id.0, l.path))
        .collect();
    let movements = stock::list_movements(&mut c, &entities, Some(store.id), None, 100).await?;
    let assets = match store.location_id {
        Some(l) => stock::assets_in_stock(&mut c, &entities, l).await?,
        None => Vec::new(),
    };
    let names: HashMap<StockStoreId, String> =
        stock::list_stores(&mut c, &entities).await?.into_iter().map(|s| (s.id, s.name)).collect();
    drop(c);
    let page = Page::new(ctx, "stock.title").await.with_flash(ok).with_form_errors(&errors);
    let page = page.with_title(store.name.clone());
    let movements = movements.iter().map(|m| move_view(&page, m, &names)).collect();
    let can_move = ctx.can(Object::Asset, Action::Update, store.entity_id);
    Ok(render_status(
        status,
        &StorePage { page, store, levels, items, others, locations, movements, assets, can_move, errors, form },
    ))
}

async fn store_page(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<OkQuery>) -> AppResult<Response> {
    store_view(&ctx, StockStoreId(id), StatusCode::OK, ValidationErrors::new(), HashMap::new(), q.ok.as_deref()).await
}

#[derive(Deserialize, Serialize)]
struct MovementForm {
    kind: Option<String>,
    item_id: Option<String>,
    quantity: Option<String>,
    to_store_id: Option<String>,
    issued_to_user: Option<String>,
    issued_to_ticket_id: Option<String>,
    issued_to_location_id: Option<String>,
    reason: Option<String>,
}

async fn movement_create(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<MovementForm>) -> AppResult<Response> {
    let mut errors = ValidationErrors::new();
    let kind = match f.kind.as_deref().unwrap_or_default().parse::<MovementKind>() {
        Ok(k) => Some(k),
        Err(_) => {
            errors.add("kind", "unknown_value", "choose a kind of movement");
            None
        }
    };
    let item = opt_id("item_id", &f.item_id, &mut errors);
    if item.is_none() && !errors.fields.iter().any(|e| e.field == "item_id") {
        errors.add("item_id", "required", "choose an item");
    }
    let quantity = match parse_quantity(f.quantity.as_deref().unwrap_or_default()) {
        Ok(q) => Some(q),
        Err(code) => {
            errors.add("quantity", code, "a whole number of 0 or more");
            None
        }
    };
    let to_store = opt_id("to_store_id", &f.to_store_id, &mut errors);
    let ticket = opt_id("issued_to_ticket_id", &f.issued_to_ticket_id, &mut errors);
    let location = opt_id("issued_to_location_id", &f.issued_to_location_id, &mut errors);
    let mut tx = ctx.state.store.write().await?;
    let store = visible_store(&ctx, &mut tx, StockStoreId(id), Action::Update).await?;
    let user = match f.issued_to_user.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(login) => match users::by_login(&mut tx, login).await? {
            Some((u, _)) => Some(u.id.0),
            None => {
                errors.add("issued_to_user", "not_found_ref", "no user with this login");
                None
            }
        },
    };
    let issue = kind == Some(MovementKind::Issue);
    let result = match (kind, item, quantity) {
        (Some(kind), Some(item_id), Some(quantity)) if errors.is_empty() => {
            let input = MovementInput {
                kind,
                store_id: store.id.0,
                item_id,
                quantity,
                to_store_id: to_store.filter(|_| kind == MovementKind::Transfer),
                issued_to_user_id: user.filter(|_| issue),
                issued_to_ticket_id: ticket.filter(|_| issue),
                issued_to_location_id: location.filter(|_| issue),
                reason: f.reason.clone(),
            };
            match record_movement(&ctx, &mut tx, &input).await {
                Ok(_) => Ok(()),
                Err(AppError::Validation(v)) => Err(v),
                Err(AppError::Conflict(m)) => Err(ValidationErrors::single("quantity", "count_changed", m)),
                Err(e) => return Err(e),
            }
        }
        _ => Err(errors),
    };
    match result {
        Ok(()) => {
            tx.commit().await?;
            Ok(see_other(&format!("/stock/stores/{}", store.id), Some("stock.movement_recorded")))
        }
        Err(errors) => {
            drop(tx);
            let form = serde_json::to_value(&f)
                .ok()
                .and_then(|v| serde_json::from_value::<HashMap<String, Option<String>>>(v).ok())
                .unwrap_or_default()
                .into_iter()
                .map(|(k, v)| (k, v.unwrap_or_default()))
                .collect();
            store_view(&ctx, store.id, StatusCode::UNPROCESSABLE_ENTITY, errors, form, None).await
        }
    }
}

#[derive(Deserialize)]
struct ReorderForm {
    item_id: Option<String>,
    reorder_level: Option<String>,
}

async fn reorder_set(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<ReorderForm>) -> AppResult<Response> {
    let mut errors = ValidationErrors::new();
    let item = opt_id("item_id", &f.item_id, &mut errors);
    let level = match f.reorder_level.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => None,
        Some(raw) => match parse_quantity(raw) {
            Ok(q) => Some(q),
            Err(code) => {
                errors.add("reorder_level", code, "a whole number of 0 or more");
                None
            }
        },
    };
    let Some(item) = item.filter(|_| errors.is_empty()) else {
        if errors.is_empty() {
            errors.add("item_id", "required", "choose an item");
        }
        return store_view(&ctx, StockStoreId(id), StatusCode::UNPROCESSABLE_ENTITY, errors, HashMap::new(), None)
            .await;
    };
    let mut tx = ctx.state.store.write().await?;
    match set_reorder(&ctx, &mut tx, StockStoreId(id), StockItemId(item), level).await {
        Ok(()) => {
            tx.commit().await?;
            Ok(see_other(&format!("/stock/stores/{id}"), Some("common.saved")))
        }
        Err(AppError::Validation(v)) => {
            drop(tx);
            store_view(&ctx, StockStoreId(id), StatusCode::UNPROCESSABLE_ENTITY, v, HashMap::new(), None).await
        }
        Err(e) => Err(e),
    }
}

// ---- import ----

/// The fields a stock file's columns map to: (field, required, accepted header names).
pub const IMPORT_FIELDS: &[(&str, bool, &[&str])] = &[
    ("store", false, &["store", "magasin", "stock", "lieu de stockage"]),
    ("item", true, &["item", "article", "name", "nom", "désignation", "designation", "produit"]),
    ("reference", false, &["reference", "référence", "ref", "réf"]),
    ("category", false, &["category", "catégorie", "categorie", "famille"]),
    ("unit", false, &["unit", "unité", "unite"]),
    ("quantity", true, &["quantity", "quantité", "quantite", "qty", "qté", "stock"]),
    ("reorder_level", false, &["reorder_level", "reorder level", "seuil", "seuil de réapprovisionnement", "minimum"]),
];

/// Which column (index in the table's headers) holds each field.
pub type Mapping = HashMap<String, usize>;

/// Guesses the mapping from the headers' names.
pub fn guess_mapping(table: &Table) -> Mapping {
    let mut m = Mapping::new();
    let mut used = HashSet::new();
    for (field, _, names) in IMPORT_FIELDS {
        let found = table.headers.iter().enumerate().find(|(i, h)| {
            let h = h.trim().to_lowercase();
            !used.contains(i) && names.iter().any(|n| *n == h)
        });
        if let Some((i, _)) = found {
            used.insert(i);
            m.insert((*field).to_owned(), i);
        }
    }
    m
}

/// Mapping problems: a required field without a column, a column used twice, an index past
/// the headers. Codes `missing_column`, `duplicate_column`, `unknown_column`.
pub fn check_mapping(table: &Table, m: &Mapping) -> ValidationErrors {
    let mut errors = ValidationErrors::new();
    let mut seen = HashSet::new();
    for (field, required, _) in IMPORT_FIELDS {
        match m.get(*field) {
            None if *required => errors.add(field, "missing_column", "no column holds this field"),
            None => {}
            Some(i) if *i >= table.headers.len() => errors.add(field, "unknown_column", "no such column"),
            Some(i) if !seen.insert(*i) => errors.add(field, "duplicate_column", "this column is mapped twice"),
            Some(_) => {}
        }
    }
    for k in m.keys() {
        if !IMPORT_FIELDS.iter().any(|(f, _, _)| f == k) {
            errors.add(k, "unknown_column", "no such field");
        }
    }
    errors
}

/// One problem of an import row.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct RowError {
    /// The row as the spreadsheet numbers it.
    pub line: usize,
    /// The field (store, item, quantity, reorder_level…).
    pub field: String,
    /// A stable code: required, not_integer, negative, too_large, unknown_store, duplicate_in_file…
    pub code: String,
    pub message: String,
}

/// A checked import row.
#[derive(Debug, Clone)]
pub struct ImportRow {
    pub line: usize,
    pub store: StockStore,
    pub item: String,
    pub reference: Option<String>,
    pub category: Option<String>,
    pub unit: Option<String>,
    pub quantity: i64,
    pub reorder_level: Option<i64>,
}

/// What an import found (and did).
pub struct ImportOutcome {
    pub rows: Vec<ImportRow>,
    pub errors: Vec<RowError>,
    pub written: usize,
}

/// Checks every row: store known and changeable by the caller (the row's `store` column by
/// name, else `default_store`), item name, whole non-negative quantities, one row per (store,
/// item).
async fn check_rows(
    ctx: &Ctx,
    c: &mut Conn,
    table: &Table,
    m: &Mapping,
    default_store: Option<StockStoreId>,
) -> AppResult<ImportOutcome> {
    let stores = stock::list_stores(c, &ctx.entity_ids(Object::Asset, Action::Update)).await?;
    let default = default_store.and_then(|d| stores.iter().find(|s| s.id == d)).cloned();
    if default_store.is_some() && default.is_none() {
        return Err(missing("store_id"));
    }
    fn cell<'a>(m: &Mapping, r: &'a Row, f: &str) -> Option<&'a str> {
        m.get(f).and_then(|i| r.cells.get(*i)).map(|v| v.trim()).filter(|v| !v.is_empty())
    }
    let mut errors = Vec::new();
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for r in &table.rows {
        let mut err = |field: &str, code: &str, message: &str| {
            errors.push(RowError { line: r.line, field: field.into(), code: code.into(), message: message.into() })
        };
        let store = match cell(m, r, "store") {
            Some(name) => match stores.iter().filter(|s| s.name.eq_ignore_ascii_case(name)).collect::<Vec<_>>()[..] {
                [one] => Some(one.clone()),
                [] => {
                    err("store", "unknown_store", "no store of this name that you may change");
                    None
                }
                _ => {
                    err("store", "ambiguous", "several stores have this name");
                    None
                }
            },
            None => match &default {
                Some(d) => Some(d.clone()),
                None => {
                    err("store", "required", "no store for this row");
                    None
                }
            },
        };
        let item = cell(m, r, "item");
        if item.is_none() {
            err("item", "required", "the item is empty");
        }
        if item.is_some_and(|i| i.chars().count() > 200) {
            err("item", "too_long", "must be at most 200 characters");
        }
        let quantity = match parse_quantity(cell(m, r, "quantity").unwrap_or_default()) {
            Ok(q) => Some(q),
            Err(code) => {
                err("quantity", code, "a whole number of 0 or more");
                None
            }
        };
        let reorder = match cell(m, r, "reorder_level").map(parse_quantity) {
            None => Ok(None),
            Some(Ok(q)) => Ok(Some(q)),
            Some(Err(code)) => {
                err("reorder_level", code, "a whole number of 0 or more");
                Err(())
            }
        };
        let text = |f: &str| cell(m, r, f).map(|v| v.chars().take(100).collect::<String>());
        if let (Some(store), Some(item), Some(quantity), Ok(reorder_level)) = (store, item, quantity, reorder) {
            if !seen.insert((store.id, item.to_lowercase())) {
                err("item", "duplicate_in_file", "this item of this store is on another row too");
                continue;
            }
            rows.push(ImportRow {
                line: r.line,
                store,
                item: item.to_owned(),
                reference: text("reference"),
                category: text("category"),
                unit: text("unit"),
                quantity,
                reorder_level,
            });
        }
    }
    Ok(ImportOutcome { rows, errors, written: 0 })
}

/// Checks the table and, with `commit` and no error, writes every row in one transaction: the
/// item found in the store's catalogues (its entity's, then its ancestors') or created in the
/// store's entity, an `adjust` movement to the counted quantity, the reorder level.
pub async fn run_import(
    ctx: &Ctx,
    table: &Table,
    m: &Mapping,
    default_store: Option<StockStoreId>,
    commit: bool,
) -> AppResult<ImportOutcome> {
    let mapping_errors = check_mapping(table, m);
    if !mapping_errors.is_empty() {
        return Err(AppError::Validation(mapping_errors));
    }
    if !commit {
        let mut c = ctx.state.store.read().await?;
        return check_rows(ctx, &mut c, table, m, default_store).await;
    }
    let mut tx = ctx.state.store.write().await?;
    let mut out = check_rows(ctx, &mut tx, table, m, default_store).await?;
    if !out.errors.is_empty() {
        return Ok(out);
    }
    let reason = ctx.state.i18n.t(ctx.lang, "stock.import_reason").to_owned();
    for row in &out.rows {
        let row_error = |v: ValidationErrors| {
            v.fields
                .into_iter()
                .map(|f| RowError { line: row.line, field: f.field, code: f.code, message: f.message })
                .collect::<Vec<_>>()
        };
        let mut found = None;
        for e in ctx.tree.path(row.store.entity_id).into_iter().rev() {
            if let Some(i) = stock::find_item(&mut tx, e, &row.item).await? {
                found = Some(i);
                break;
            }
        }
        let item = match found {
            Some(i) => i,
            None => {
                let input = ItemInput {
                    entity_id: Some(row.store.entity_id.0),
                    name: Some(row.item.clone()),
                    reference: row.reference.clone(),
                    category: row.category.clone(),
                    unit: row.unit.clone(),
                };
                match stock::create_item(&mut tx, &ctx.actor(), &input).await {
                    Ok(i) => i,
                    Err(StoreError::Validation(v)) => {
                        out.errors = row_error(v);
                        return Ok(out);
                    }
                    Err(e) => return Err(e.into()),
                }
            }
        };
        let input = MovementInput {
            kind: MovementKind::Adjust,
            store_id: row.store.id.0,
            item_id: item.id.0,
            quantity: row.quantity,
            to_store_id: None,
            issued_to_user_id: None,
            issued_to_ticket_id: None,
            issued_to_location_id: None,
            reason: Some(reason.clone()),
        };
        let target = stock::Target { store: &row.store, to_store: None, item: &item };
        let mut alerts = match stock::record(&mut tx, &ctx.actor(), &ctx.tree, &target, &input).await {
            Ok(r) => r.alerts,
            Err(StoreError::Validation(v)) => {
                out.errors = row_error(v);
                return Ok(out);
            }
            Err(e) => return Err(e.into()),
        };
        if row.reorder_level.is_some() {
            alerts.extend(
                stock::set_reorder_level(&mut tx, &ctx.actor(), &ctx.tree, &row.store, &item, row.reorder_level)
                    .await?,
            );
        }
        mail_alerts(ctx, &mut tx, &alerts).await?;
        out.written += 1;
    }
    tx.commit().await?;
    Ok(out)
}

/// Reads an uploaded stock file on a blocking thread.
pub async fn read_table(bytes: Bytes) -> AppResult<Result<Table, parc_docs::DocError>> {
    blocking(move || {
        let table = read_any(&bytes, &Limits::default())?;
        if table.rows.is_empty() {
            return Err(parc_docs::DocError::Empty);
        }
        Ok(table)
    })
    .await
}

struct FieldView {
    name: &'static str,
    label: String,
    required: bool,
    selected: Option<usize>,
}

impl FieldView {
    fn is_selected(&self, i: impl std::borrow::Borrow<usize>) -> bool {
        self.selected == Some(*i.borrow())
    }
}

struct PreviewRow {
    line: usize,
    store: String,
    item: String,
    quantity: i64,
    reorder_level: String,
}

struct ErrorView {
    line: usize,
    field: String,
    reason: String,
}

#[derive(Template)]
#[template(path = "stock/import.html")]
struct ImportPage {
    page: Page,
    stores: Vec<StockStore>,
    store_id: i64,
    error: Option<String>,
    /// The mapping step: headers and fields.
    headers: Vec<String>,
    fields: Vec<FieldView>,
    data: String,
    /// The preview step.
    preview: bool,
    rows: Vec<PreviewRow>,
    row_errors: Vec<ErrorView>,
    done: Option<String>,
    errors: ValidationErrors,
}

#[derive(Default)]
struct ImportForm {
    csrf: String,
    store_id: Option<i64>,
    file: Option<Bytes>,
    data: Option<String>,
    step: String,
    mapping: Mapping,
}

fn multipart_error(e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge
    } else {
        AppError::BadRequest(e.body_text())
    }
}

async fn read_form(mp: Result<Multipart, MultipartRejection>) -> AppResult<ImportForm> {
    let mut mp = mp.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let mut f = ImportForm::default();
    while let Some(field) = mp.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == "file" {
            let bytes = field.bytes().await.map_err(multipart_error)?;
            f.file = (!bytes.is_empty()).then_some(bytes);
            continue;
        }
        let text = field.text().await.map_err(multipart_error)?;
        match name.as_str() {
            "csrf" => f.csrf = text,
            "store_id" => f.store_id = text.trim().parse().ok(),
            "data" => f.data = Some(text).filter(|d| !d.is_empty()),
            "step" => f.step = text,
            other => {
                if let Some(field) = other.strip_prefix("map_") {
                    if let Ok(i) = text.trim().parse::<usize>() {
                        f.mapping.insert(field.to_owned(), i);
                    }
                }
            }
        }
    }
    Ok(f)
}

struct ImportState {
    status: StatusCode,
    store_id: Option<i64>,
    error: Option<String>,
    table: Option<Table>,
    mapping: Mapping,
    outcome: Option<ImportOutcome>,
    done: Option<String>,
    errors: ValidationErrors,
}

impl ImportState {
    fn new(status: StatusCode) -> ImportState {
        ImportState {
            status,
            store_id: None,
            error: None,
            table: None,
            mapping: Mapping::new(),
            outcome: None,
            done: None,
            errors: ValidationErrors::new(),
        }
    }
}

async fn import_view(ctx: &Ctx, s: ImportState) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let stores = stock::list_stores(&mut c, &ctx.entity_ids(Object::Asset, Action::Update)).await?;
    drop(c);
    let page = Page::new(ctx, "stock.import_title").await.with_form_errors(&s.errors);
    let (i, l) = (&ctx.state.i18n, ctx.lang);
    let (headers, data) = match &s.table {
        Some(t) => (t.headers.clone(), serde_json::to_string(&super::io::Carried::of(t)).unwrap_or_default()),
        None => (Vec::new(), String::new()),
    };
    let fields = IMPORT_FIELDS
        .iter()
        .map(|(name, required, _)| FieldView {
            name,
            label: i.t(l, &format!("stock.col.{name}")).to_owned(),
            required: *required,
            selected: s.mapping.get(*name).copied(),
        })
        .collect();
    let (preview, rows, row_errors) = match &s.outcome {
        Some(o) => (
            true,
            o.rows
                .iter()
                .take(200)
                .map(|r| PreviewRow {
                    line: r.line,
                    store: r.store.name.clone(),
                    item: r.item.clone(),
                    quantity: r.quantity,
                    reorder_level: r.reorder_level.map(|v| v.to_string()).unwrap_or_default(),
                })
                .collect(),
            o.errors
                .iter()
                .take(1000)
                .map(|e| ErrorView {
                    line: e.line,
                    field: i.t(l, &format!("stock.col.{}", e.field)).to_owned(),
                    reason: page.field_message(
                        "stock",
                        &parc_core::FieldError {
                            field: e.field.clone(),
                            code: e.code.clone(),
                            message: e.message.clone(),
                        },
                    ),
                })
                .collect(),
        ),
        None => (false, Vec::new(), Vec::new()),
    };
    let store_id = s.store_id.unwrap_or_default();
    Ok(render_status(
        s.status,
        &ImportPage {
            page,
            stores,
            store_id,
            error: s.error,
            headers,
            fields,
            data,
            preview,
            rows,
            row_errors,
            done: s.done,
            errors: s.errors,
        },
    ))
}

#[derive(Deserialize)]
struct DoneQuery {
    imported: Option<usize>,
}

async fn import_page(ctx: Ctx, Query(q): Query<DoneQuery>) -> AppResult<Response> {
    let mut s = ImportState::new(StatusCode::OK);
    s.done = q.imported.map(|n| ctx.state.i18n.tf(ctx.lang, "stock.imported", &[("count", &n.to_string())]));
    import_view(&ctx, s).await
}

/// The import's steps: upload -> mapping (`step=map`) -> preview (`step=preview`) -> commit
/// (`step=commit`).
async fn import_post(ctx: Ctx, mp: Result<Multipart, MultipartRejection>) -> AppResult<Response> {
    let form = read_form(mp).await?;
    check_csrf_value(&ctx, Some(&form.csrf))?;
    let mut s = ImportState::new(StatusCode::OK);
    s.store_id = form.store_id;
    let table = match (form.file, form.data) {
        (Some(bytes), _) => match read_table(bytes).await? {
            Ok(t) => t,
            Err(e) => {
                s.status = StatusCode::BAD_REQUEST;
                s.error = Some(ctx.state.i18n.tf(ctx.lang, "stock.bad_file", &[("detail", &e.to_string())]));
                return import_view(&ctx, s).await;
            }
        },
        (None, Some(data)) if data.len() <= super::io::MAX_CARRY => serde_json::from_str::<super::io::Carried>(&data)
            .map_err(|_| AppError::BadRequest("the carried table is malformed; upload the file again".into()))?
            .into_table()?,
        (None, Some(_)) => return Err(AppError::TooLarge),
        (None, None) => {
            s.status = StatusCode::BAD_REQUEST;
            s.error = Some(ctx.tr("stock.no_file").to_owned());
            return import_view(&ctx, s).await;
        }
    };
    let default_store = form.store_id.filter(|i| *i > 0).map(StockStoreId);
    if form.step != "preview" && form.step != "commit" {
        // Just uploaded: the mapping step, guessed from the headers.
        s.mapping = guess_mapping(&table);
        s.table = Some(table);
        return import_view(&ctx, s).await;
    }
    s.mapping = form.mapping.clone();
    let commit = form.step == "commit";
    match run_import(&ctx, &table, &form.mapping, default_store, commit).await {
        Ok(out) if commit && out.errors.is_empty() => {
            Ok(see_other(&format!("/stock/import?imported={}", out.written), None))
        }
        Ok(out) => {
            if !out.errors.is_empty() {
                s.status = StatusCode::UNPROCESSABLE_ENTITY;
            }
            s.outcome = Some(out);
            s.table = Some(table);
            import_view(&ctx, s).await
        }
        Err(AppError::Validation(v)) => {
            s.status = StatusCode::UNPROCESSABLE_ENTITY;
            s.errors = v;
            s.table = Some(table);
            import_view(&ctx, s).await
        }
        Err(e) => Err(e),
    }
}

/// The dashboard's list: levels below their reorder level in the reader's scope.
pub async fn below_reorder(ctx: &Ctx, c: &mut Conn) -> AppResult<Vec<Level>> {
    Ok(stock::list_levels(c, &readable(ctx), None, true).await?)
}
