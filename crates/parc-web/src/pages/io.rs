//! Import, export and QR labels of assets. The JSON API (`crate::api::io`) calls the same
//! functions, so both faces behave alike.
//!
//! * Export: `/export/assets.csv` and `/export/assets.xlsx` take the asset list's query string
//!   and write every matching asset in the caller's scope, one column per [`COLUMNS`] entry
//!   headed by its stable name, so that an export can be imported back (the PUK never leaves).
//! * Import: `/import` reads one CSV or XLSX upload and checks every row: domain rules, asset
//!   tags unique in the file and in the entity, entity / location / user names resolved within
//!   the row's entity, and the caller's right to create there. The first step is a preview that
//!   writes nothing; the second creates every row in one transaction, or none.
//!
//!   Preview -> commit: the preview page carries the parsed table (headers and cells, no
//!   derived data) in a hidden field of the commit form, as JSON of at most [`MAX_CARRY`] bytes;
//!   a bigger table asks for the file again. At commit the carried table is treated exactly like
//!   a new upload and checked again inside the write transaction, so editing the hidden field
//!   can do nothing that uploading another file could not.
//! * Labels: `/labels` shows how many assets a selection holds and offers the sheet layouts;
//!   `/labels.pdf` renders them, each with a QR code of its public `/r/<token>` URL.
//!
//! A selection is the asset list's query string, or `id=` (repeatable) for given assets, in
//! which case the other filters are ignored.

use super::assets::visible_asset;
use super::{render, render_status, see_other, Page};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::constant_time_eq;
use crate::i18n::{I18n, Lang};
use crate::query::parse_asset_query;
use crate::AppState;
use askama::Template;
use axum::body::Bytes;
use axum::extract::multipart::{MultipartError, MultipartRejection};
use axum::extract::{Multipart, Query, RawQuery};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use parc_core::assets::{AssetDraft, AssetInput, AssetKind, AssetStatus, LineType};
use parc_core::permissions::{Action, Object};
use parc_core::{AssetId, EntityId, FieldError, LocationId, UserId};
use parc_docs::labels::{render_labels, Label, LabelLayout};
use parc_docs::table::{read_any, write_csv, write_xlsx, Limits, Row, Table};
use parc_docs::DocError;
use parc_store::assets::{self, Asset};
use parc_store::entities::{self, Entity};
use parc_store::locations::{self, Location};
use parc_store::users;
use parc_store::{Conn, StoreError};
use serde::{Deserialize, Serialize};
use std::collections::hash_map::Entry;
use std::collections::{BTreeSet, HashMap, HashSet};

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/export/assets.csv", get(export_csv))
        .route("/export/assets.xlsx", get(export_xlsx))
        .route("/import", get(import_page).post(import_upload))
        .route("/labels", get(labels_page))
        .route("/labels.pdf", get(labels_pdf_page))
}

/// Most assets in one export.
pub const MAX_EXPORT: usize = 200_000;
/// Most labels in one PDF.
pub const MAX_LABELS: usize = 5_000;
/// Most errors listed in an import report.
pub const MAX_ERRORS: usize = 1_000;
/// Largest table (as JSON) the preview page carries to the commit form.
pub const MAX_CARRY: usize = 5 * 1024 * 1024;
/// Rows shown in a preview without errors.
const PREVIEW_ROWS: usize = 200;

pub const CSV_TYPE: &str = "text/csv; charset=utf-8";
pub const XLSX_TYPE: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

// ---- columns ----

/// A column of exports and imports: its stable name (the export header), the catalogue key of
/// its label (accepted at import in French and English) and other accepted headers.
struct Column {
    name: &'static str,
    label: &'static str,
    aliases: &'static [&'static str],
}

const fn col(name: &'static str, label: &'static str, aliases: &'static [&'static str]) -> Column {
    Column { name, label, aliases }
}

/// Export columns, in order. At import `id` is ignored (rows are always created).
const COLUMNS: &[Column] = &[
    col("id", "field.id", &[]),
    col("kind", "field.kind", &[]),
    col("name", "field.name", &[]),
    col("asset_tag", "field.asset_tag", &["tag", "gpi", "n° d'inventaire", "inventory number"]),
    col("serial", "field.serial", &["serial_number", "numéro de série", "n° série"]),
    col("manufacturer", "field.manufacturer", &["marque", "brand"]),
    col("model", "field.model", &[]),
    col("status", "field.status", &["état"]),
    col("entity", "field.entity_id", &["entity_id"]),
    col("location", "field.location_id", &["location_id", "emplacement"]),
    col("assigned_user", "field.assigned_user_id", &["assigned_user_id", "user", "login"]),
    col("purchase_date", "field.purchase_date", &[]),
    col("warranty_end", "field.warranty_end", &[]),
    col("supplier", "field.supplier", &[]),
    col("comment", "field.comment", &[]),
    col("imei", "field.imei", &[]),
    col("iccid", "field.iccid", &["iccid"]),
    col("line_number", "field.line_number", &[]),
    col("line_type", "field.line_type", &[]),
    col("ip", "field.ip", &[]),
    col("mac", "field.mac", &[]),
];

/// Read at import (for SIM cards), never exported.
const PUK: Column = col("puk", "field.puk", &[]);

/// Case-insensitive, with runs of spaces (non-breaking ones too) counted as one.
fn norm(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ").to_lowercase()
}

fn find_column(i18n: &I18n, header: &str) -> Option<&'static Column> {
    let h = norm(header);
    COLUMNS.iter().chain([&PUK]).find(|c| {
        h == c.name
            || h == norm(i18n.t(Lang::Fr, c.label))
            || h == norm(i18n.t(Lang::En, c.label))
            || c.aliases.iter().any(|a| h == norm(a))
    })
}

/// Which file column holds which field.
struct Layout {
    index: HashMap<&'static str, usize>,
    headers: Vec<String>,
}

impl Layout {
    /// Maps the headers, reporting unknown, repeated and missing required columns.
    fn new(i18n: &I18n, table: &Table) -> (Layout, Vec<ImportError>) {
        let mut index = HashMap::new();
        let mut errors = Vec::new();
        for (i, h) in table.headers.iter().enumerate() {
            match find_column(i18n, h) {
                // An unnamed column is ignored while it holds nothing.
                None if h.is_empty() && table.rows.iter().all(|r| r.cells[i].is_empty()) => {}
                None => {
                    let name = if h.is_empty() { format!("#{}", i + 1) } else { h.clone() };
                    errors.push(ImportError::new(1, &name, "unknown_column", "unknown column: rename or remove it"))
                }
                Some(c) if index.contains_key(c.name) => {
                    errors.push(ImportError::new(1, h, "duplicate_column", "another column holds the same field"))
                }
                Some(c) => {
                    index.insert(c.name, i);
                }
            }
        }
        for required in ["kind", "name"] {
            if !index.contains_key(required) {
                errors.push(ImportError::new(1, required, "missing_column", "this column is required"));
            }
        }
        (Layout { index, headers: table.headers.clone() }, errors)
    }

    /// The cell of `column` in `row`, when the file has that column. The quote that CSV exports
    /// put before formula-like text (`'=…`) is taken off again.
    fn cell<'r>(&self, row: &'r Row, column: &str) -> Option<&'r str> {
        let v = self.index.get(column).and_then(|&i| row.cells.get(i))?;
        let unquoted = v.strip_prefix('\'').filter(|r| r.starts_with(['=', '+', '-', '@', '\t', '\r']));
        Some(unquoted.unwrap_or(v))
    }

    /// A non-empty cell.
    fn value<'r>(&self, row: &'r Row, column: &str) -> Option<&'r str> {
        self.cell(row, column).filter(|v| !v.is_empty())
    }

    /// The column as the file heads it, for error reports.
    fn header(&self, column: &str) -> String {
        self.index.get(column).map_or_else(|| column.to_owned(), |&i| self.headers[i].clone())
    }
}

// ---- selections ----

/// A query string split into explicit asset ids and the asset-list filters.
pub struct Selection {
    pub ids: Vec<AssetId>,
    /// The filters, as a query string for [`parse_asset_query`].
    pub filters: String,
    pub pairs: Vec<(String, String)>,
}

impl Selection {
    pub fn parse(raw: Option<&str>) -> AppResult<Selection> {
        let pairs: Vec<(String, String)> = serde_urlencoded::from_str(raw.unwrap_or(""))
            .map_err(|_| AppError::BadRequest("malformed query string".into()))?;
        let mut ids = Vec::new();
        let mut rest = Vec::new();
        for (k, v) in &pairs {
            if k == "id" {
                let id = v
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| AppError::field("id", "not_a_number", "must be an asset id"))?;
                ids.push(AssetId(id));
            } else {
                rest.push((k.as_str(), v.as_str()));
            }
        }
        let filters = serde_urlencoded::to_string(rest).unwrap_or_default();
        Ok(Selection { ids, filters, pairs })
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
    }

    /// The label sheet and the number of already used positions (`layout`, `skip`).
    pub fn label_options(&self) -> AppResult<(LabelLayout, usize)> {
        let layout = self.get("layout").filter(|l| !l.is_empty()).unwrap_or("3x8").parse::<LabelLayout>()?;
        let skip = match self.get("skip").map(str::trim).filter(|s| !s.is_empty()) {
            None => 0,
            Some(s) => s.parse().map_err(|_| AppError::field("skip", "not_a_number", "must be a number"))?,
        };
        Ok((layout, skip))
    }
}

fn too_many(max: usize) -> AppError {
    AppError::BadRequest(format!("more than {max} assets match; narrow the selection"))
}

/// The selected assets the caller may see, refusing more than `max`.
async fn select(ctx: &Ctx, c: &mut Conn, sel: &Selection, max: usize) -> AppResult<Vec<Asset>> {
    if !sel.ids.is_empty() {
        if sel.ids.len() > max {
            return Err(too_many(max));
        }
        let mut found = Vec::with_capacity(sel.ids.len());
        for id in &sel.ids {
            found.push(visible_asset(ctx, c, *id, Action::Read).await?);
        }
        return Ok(found);
    }
    let q = parse_asset_query(Some(&sel.filters))?;
    let scope = ctx.scope(Object::Asset, Action::Read);
    let found = assets::list_all(c, ctx.state.store.backend(), &scope, ctx.user.id, &q, max as i64 + 1).await?;
    if found.len() > max {
        return Err(too_many(max));
    }
    Ok(found)
}

/// How many assets a selection holds, without loading them.
async fn count(ctx: &Ctx, c: &mut Conn, sel: &Selection) -> AppResult<i64> {
    if !sel.ids.is_empty() {
        return Ok(select(ctx, c, sel, MAX_LABELS).await?.len() as i64);
    }
    let mut q = parse_asset_query(Some(&sel.filters))?;
    q.per_page = 1;
    let scope = ctx.scope(Object::Asset, Action::Read);
    Ok(assets::list(c, ctx.state.store.backend(), &scope, ctx.user.id, &q).await?.total)
}

/// Runs a document function on a blocking thread.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, DocError> + Send + 'static,
) -> AppResult<Result<T, DocError>> {
    tokio::task::spawn_blocking(f).await.map_err(|e| AppError::Internal(format!("document worker: {e}")))
}

/// A download named `<stem>-<today>.<ext>`.
pub(crate) fn file_response(
    bytes: Vec<u8>,
    content_type: &'static str,
    disposition: &str,
    stem: &str,
    ext: &str,
) -> Response {
    let date = chrono::Local::now().format("%Y-%m-%d");
    let disposition = HeaderValue::from_str(&format!("{disposition}; filename=\"{stem}-{date}.{ext}\""))
        .unwrap_or(HeaderValue::from_static("attachment"));
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        bytes,
    )
        .into_response()
}

// ---- export ----

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn parse(s: Option<&str>) -> AppResult<Format> {
        match s.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
            None | Some("") | Some("csv") => Ok(Format::Csv),
            Some("xlsx") => Ok(Format::Xlsx),
            Some(_) => Err(AppError::field("format", "unknown_value", "must be csv or xlsx")),
        }
    }
}

/// The selected assets as a CSV or XLSX attachment.
pub async fn export(ctx: &Ctx, sel: &Selection, format: Format) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let list = select(ctx, &mut c, sel, MAX_EXPORT).await?;
    let entity_ids: BTreeSet<i64> = list.iter().map(|a| a.entity_id.0).collect();
    let entity_ids: Vec<i64> = entity_ids.into_iter().collect();
    let paths: HashMap<LocationId, String> = if list.iter().any(|a| a.location_id.is_some()) {
        locations::list(&mut c, &entity_ids).await?.into_iter().map(|l| (l.id, l.path)).collect()
    } else {
        HashMap::new()
    };
    let user_ids: BTreeSet<UserId> = list.iter().filter_map(|a| a.assigned_user_id).collect();
    let user_ids: Vec<UserId> = user_ids.into_iter().collect();
    let logins: HashMap<UserId, String> = assets::user_logins(&mut c, &user_ids).await?.into_iter().collect();
    drop(c);
    let headers: Vec<String> = COLUMNS.iter().map(|c| c.name.to_owned()).collect();
    let rows: Vec<Vec<String>> = list.iter().map(|a| export_row(a, &paths, &logins)).collect();
    let bytes = blocking(move || match format {
        Format::Csv => Ok(write_csv(&headers, &rows)),
        Format::Xlsx => write_xlsx("Parc", &headers, &rows),
    })
    .await??;
    Ok(match format {
        Format::Csv => file_response(bytes, CSV_TYPE, "attachment", "parc-assets", "csv"),
        Format::Xlsx => file_response(bytes, XLSX_TYPE, "attachment", "parc-assets", "xlsx"),
    })
}

/// One asset in [`COLUMNS`] order.
fn export_row(a: &Asset, paths: &HashMap<LocationId, String>, logins: &HashMap<UserId, String>) -> Vec<String> {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    let location = a.location_id.and_then(|l| paths.get(&l).cloned()).or_else(|| a.location_name.clone());
    let user = a.assigned_user_id.and_then(|u| logins.get(&u).cloned()).or_else(|| a.assigned_user_name.clone());
    vec![
        a.id.to_string(),
        a.kind.as_str().to_owned(),
        a.name.clone(),
        s(&a.asset_tag),
        s(&a.serial),
        s(&a.manufacturer),
        s(&a.model),
        a.status.as_str().to_owned(),
        a.entity_name.clone(),
        location.unwrap_or_default(),
        user.unwrap_or_default(),
        s(&a.purchase_date),
        s(&a.warranty_end),
        s(&a.supplier),
        s(&a.comment),
        s(&a.imei),
        s(&a.iccid),
        s(&a.line_number),
        a.line_type.map(|t| t.as_str().to_owned()).unwrap_or_default(),
        s(&a.ip),
        s(&a.mac),
    ]
}

async fn export_csv(ctx: Ctx, RawQuery(raw): RawQuery) -> AppResult<Response> {
    export(&ctx, &Selection::parse(raw.as_deref())?, Format::Csv).await
}

async fn export_xlsx(ctx: Ctx, RawQuery(raw): RawQuery) -> AppResult<Response> {
    export(&ctx, &Selection::parse(raw.as_deref())?, Format::Xlsx).await
}

// ---- import ----

/// One problem of an import, located in the file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ImportError {
    /// Line in the file (the header is on line 1), or row number in the spreadsheet.
    pub line: usize,
    /// The column as the file heads it (its stable name when the file lacks it).
    pub column: String,
    /// A stable code: the validation codes of assets (`imei_luhn`, `tag_taken`, `unknown_value`…)
    /// and `unknown_column`, `duplicate_column`, `missing_column`, `duplicate_in_file`,
    /// `ambiguous`, `unknown_entity`, `not_found_ref`, `forbidden_entity`, `forbidden_secret`.
    pub code: String,
    /// An English explanation.
    pub message: String,
}

impl ImportError {
    fn new(line: usize, column: &str, code: &str, message: &str) -> ImportError {
        ImportError { line, column: column.to_owned(), code: code.to_owned(), message: message.to_owned() }
    }

    fn from_field(line: usize, layout: &Layout, f: FieldError) -> ImportError {
        let column = match f.field.as_str() {
            "entity_id" => "entity",
            "location_id" => "location",
            "assigned_user_id" => "assigned_user",
            other => other,
        };
        ImportError { line, column: layout.header(column), code: f.code, message: f.message }
    }

    /// The reason in the caller's language: `io.err.<code>`, else `err.<code>`, else English.
    pub fn reason(&self, i18n: &I18n, lang: Lang) -> String {
        [format!("io.err.{}", self.code), format!("err.{}", self.code)]
            .into_iter()
            .find(|k| i18n.has(lang, k))
            .map_or_else(|| self.message.clone(), |k| i18n.t(lang, &k).to_owned())
    }
}

/// What an import found, and did.
pub struct Outcome {
    /// Data rows in the file.
    pub rows: usize,
    /// Assets created (0 unless committed without errors).
    pub created: usize,
    /// Valid rows, by line.
    pub valid: Vec<(usize, AssetDraft)>,
    /// Every problem; nothing was written when there is any.
    pub errors: Vec<ImportError>,
}

/// Reads an upload (CSV or XLSX) on a blocking thread; a file without data rows is empty.
pub async fn read_table(bytes: Bytes) -> AppResult<Result<Table, DocError>> {
    blocking(move || {
        let table = read_any(&bytes, &Limits::default())?;
        if table.rows.is_empty() {
            return Err(DocError::Empty);
        }
        Ok(table)
    })
    .await
}

/// The entity for rows without one, which the caller must be allowed to create assets in.
pub fn default_entity(ctx: &Ctx, id: Option<i64>) -> AppResult<Option<EntityId>> {
    match id.map(EntityId) {
        Some(e) if !ctx.can(Object::Asset, Action::Create, e) => {
            Err(AppError::Forbidden("you cannot create assets in this entity".into()))
        }
        other => Ok(other),
    }
}

/// Checks every row and, when `commit` and all are valid, creates them in one transaction:
/// every asset or none.
pub async fn run_import(ctx: &Ctx, table: &Table, default: Option<EntityId>, commit: bool) -> AppResult<Outcome> {
    let store = &ctx.state.store;
    if !commit {
        let mut c = store.read().await?;
        return check(ctx, &mut c, table, default).await;
    }
    let mut tx = store.write().await?;
    let mut out = check(ctx, &mut tx, table, default).await?;
    if !out.errors.is_empty() {
        return Ok(out);
    }
    let actor = ctx.actor();
    for (line, draft) in &out.valid {
        match assets::create(&mut tx, &actor, store.cipher(), draft).await {
            Ok(_) => out.created += 1,
            Err(StoreError::Validation(v)) => {
                // Dropping the transaction rolls back the rows already created.
                let (layout, _) = Layout::new(&ctx.state.i18n, table);
                out.errors = v.fields.into_iter().map(|f| ImportError::from_field(*line, &layout, f)).collect();
                out.created = 0;
                return Ok(out);
            }
            Err(e) => return Err(e.into()),
        }
    }
    tx.commit().await?;
    Ok(out)
}

/// Values of a string enum written as their stable name or their French or English label.
fn stable_value(i18n: &I18n, prefix: &str, names: impl Iterator<Item = &'static str>, raw: &str) -> String {
    let v = norm(raw);
    names
        .into_iter()
        .find(|n| {
            let key = format!("{prefix}.{n}");
            v == *n || v == norm(i18n.t(Lang::Fr, &key)) || v == norm(i18n.t(Lang::En, &key))
        })
        .map_or_else(|| raw.to_owned(), str::to_owned)
}

/// French spreadsheets write dates as DD/MM/YYYY.
fn iso_date(raw: &str) -> String {
    chrono::NaiveDate::parse_from_str(raw.trim(), "%d/%m/%Y")
        .map_or_else(|_| raw.to_owned(), |d| d.format("%Y-%m-%d").to_string())
}

/// One match or an error code.
fn unique<T: Copy>(mut found: impl Iterator<Item = T>) -> Result<T, &'static str> {
    match (found.next(), found.next()) {
        (Some(x), None) => Ok(x),
        (None, _) => Err("not_found_ref"),
        (Some(_), Some(_)) => Err("ambiguous"),
    }
}

/// Lookups shared by the rows of one import.
struct Resolver<'a> {
    ctx: &'a Ctx,
    entities: Vec<Entity>,
    locations: HashMap<EntityId, Vec<Location>>,
    users: HashMap<(EntityId, String), Result<UserId, &'static str>>,
    readable_users: HashSet<i64>,
}

impl Resolver<'_> {
    /// By id or name.
    fn entity(&self, v: &str) -> Result<EntityId, &'static str> {
        let id = v.parse::<i64>().ok();
        let n = norm(v);
        unique(self.entities.iter().filter(|e| Some(e.id.0) == id || norm(&e.name) == n).map(|e| e.id)).map_err(
            |code| match code {
                "not_found_ref" => "unknown_entity",
                other => other,
            },
        )
    }

    /// By path ("Site > Building > Room") or, when unique, name, in the entity.
    async fn location(
        &mut self,
        c: &mut Conn,
        entity: EntityId,
        v: &str,
    ) -> AppResult<Result<LocationId, &'static str>> {
        if let Entry::Vacant(slot) = self.locations.entry(entity) {
            slot.insert(locations::list(c, &[entity.0]).await?);
        }
        let list = &self.locations[&entity];
        let n = norm(v);
        Ok(unique(list.iter().filter(|l| norm(&l.path) == n).map(|l| l.id))
            .or_else(|_| unique(list.iter().filter(|l| norm(&l.name) == n).map(|l| l.id))))
    }

    /// By login or, when unique, display name: a user the caller may see, belonging to the
    /// entity or to one above it.
    async fn user(&mut self, c: &mut Conn, entity: EntityId, v: &str) -> AppResult<Result<UserId, &'static str>> {
        let key = (entity, norm(v));
        if let Some(r) = self.users.get(&key) {
            return Ok(*r);
        }
        let ctx = self.ctx;
        let readable = &self.readable_users;
        let fits = |u: &users::User| {
            (u.id == ctx.user.id || readable.contains(&u.entity_id.0)) && ctx.tree.is_within(entity, u.entity_id)
        };
        let found = match users::by_login(c, v).await? {
            Some((u, _)) if fits(&u) => Ok(u.id),
            _ => {
                let above: Vec<i64> = ctx.tree.path(entity).into_iter().map(|e| e.0).collect();
                let named = users::list(c, &above, Some(v), 50).await?;
                unique(named.iter().filter(|u| norm(&u.display_name) == key.1 && fits(u)).map(|u| u.id))
            }
        };
        self.users.insert(key, found);
        Ok(found)
    }
}

/// Checks every row against the rules and the database; writes nothing.
async fn check(ctx: &Ctx, c: &mut Conn, table: &Table, default: Option<EntityId>) -> AppResult<Outcome> {
    let i18n = &ctx.state.i18n;
    let (layout, header_errors) = Layout::new(i18n, table);
    let mut out = Outcome { rows: table.rows.len(), created: 0, valid: Vec::new(), errors: header_errors };
    if !out.errors.is_empty() {
        return Ok(out);
    }
    let mut r = Resolver {
        ctx,
        entities: entities::list_all(c).await?,
        locations: HashMap::new(),
        users: HashMap::new(),
        readable_users: ctx.entity_ids(Object::User, Action::Read).into_iter().collect(),
    };
    let mut tags: HashMap<(EntityId, String), usize> = HashMap::new();
    for row in &table.rows {
        let line = row.line;
        let mut errors = Vec::new();
        let mut fail = |column: &str, code: &str, message: &str| {
            errors.push(ImportError::new(line, &layout.header(column), code, message));
        };
        let entity = match layout.value(row, "entity") {
            Some(v) => r.entity(v).map_err(|code| fail("entity", code, "no such entity")).ok(),
            None if default.is_some() => default,
            None => {
                fail("entity", "required", "is required");
                None
            }
        };
        let entity = entity.filter(|e| {
            let allowed = ctx.can(Object::Asset, Action::Create, *e);
            if !allowed {
                fail("entity", "forbidden_entity", "you cannot create assets in this entity");
            }
            allowed
        });
        let (mut location, mut user) = (None, None);
        if let Some(e) = entity {
            if let Some(v) = layout.value(row, "location") {
                location = r.location(c, e, v).await?.map_err(|code| fail("location", code, "no such location")).ok();
            }
            if let Some(v) = layout.value(row, "assigned_user") {
                user = r.user(c, e, v).await?.map_err(|code| fail("assigned_user", code, "no such user")).ok();
            }
            if layout.value(row, "puk").is_some() && !ctx.can(Object::Asset, Action::RevealSecret, e) {
                fail("puk", "forbidden_secret", "your profile cannot set secrets");
            }
        }
        let text = |column: &str| layout.cell(row, column).map(str::to_owned);
        let named = |column: &str, prefix: &str, names: Vec<&'static str>| {
            layout.cell(row, column).map(|v| stable_value(i18n, prefix, names.into_iter(), v))
        };
        let input = AssetInput {
            kind: named("kind", "kind", AssetKind::ALL.iter().map(|k| k.as_str()).collect()),
            entity_id: Some(entity.map_or(0, |e| e.0)),
            name: text("name"),
            asset_tag: text("asset_tag"),
            serial: text("serial"),
            manufacturer: text("manufacturer"),
            model: text("model"),
            status: named("status", "status", AssetStatus::ALL.iter().map(|s| s.as_str()).collect()),
            location_id: location.map(|l| l.0),
            assigned_user_id: user.map(|u| u.0),
            purchase_date: layout.cell(row, "purchase_date").map(iso_date),
            warranty_end: layout.cell(row, "warranty_end").map(iso_date),
            supplier: text("supplier"),
            comment: text("comment"),
            imei: text("imei"),
            iccid: text("iccid"),
            puk: layout.value(row, "puk").map(str::to_owned),
            line_number: text("line_number"),
            line_type: named("line_type", "line_type", LineType::ALL.iter().map(|t| t.as_str()).collect()),
            ip: text("ip"),
            mac: text("mac"),
        };
        let draft = input.validate(None);
        if let Err(v) = &draft {
            errors.extend(v.fields.iter().cloned().map(|f| ImportError::from_field(line, &layout, f)));
        }
        // Tags are checked whatever else is wrong with the row, to report everything at once.
        let tag = layout.value(row, "asset_tag").map(str::trim).filter(|t| !t.is_empty());
        if let (Some(e), Some(tag)) = (entity, tag) {
            let column = layout.header("asset_tag");
            match tags.entry((e, tag.to_owned())) {
                Entry::Occupied(first) => {
                    let msg = format!("the same asset tag is on line {}", first.get());
                    errors.push(ImportError::new(line, &column, "duplicate_in_file", &msg));
                }
                Entry::Vacant(slot) => {
                    slot.insert(line);
                    if assets::id_by_tag(c, e, tag).await?.is_some() {
                        let msg = "another asset of this entity already has this asset tag";
                        errors.push(ImportError::new(line, &column, "tag_taken", msg));
                    }
                }
            }
        }
        match draft {
            Ok(draft) if errors.is_empty() => out.valid.push((line, draft)),
            _ => out.errors.extend(errors),
        }
    }
    Ok(out)
}

/// The parsed table as a preview page carries it to its commit form (asset and stock imports).
#[derive(Serialize, Deserialize)]
pub(crate) struct Carried {
    headers: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

impl Carried {
    pub(crate) fn of(table: &Table) -> Carried {
        Carried { headers: table.headers.clone(), rows: table.rows.iter().map(|r| (r.line, r.cells.clone())).collect() }
    }

    /// Back to a table with the shape a reader produces, or a 400.
    pub(crate) fn into_table(self) -> AppResult<Table> {
        let bad = || AppError::BadRequest("the carried table is malformed; upload the file again".into());
        let width = self.headers.len();
        if width == 0 || self.rows.is_empty() || self.rows.len() > Limits::default().max_rows {
            return Err(bad());
        }
        let rows = self
            .rows
            .into_iter()
            .map(|(line, cells)| (cells.len() == width).then_some(Row { line, cells }))
            .collect::<Option<Vec<Row>>>()
            .ok_or_else(bad)?;
        Ok(Table { headers: self.headers, rows })
    }
}

/// A problem of a file as the preview lists it.
struct ErrorView {
    line: usize,
    column: String,
    reason: String,
}

/// A valid row as the preview lists it.
struct RowView {
    line: usize,
    tag: String,
    name: String,
    kind: String,
    entity: String,
}

struct Preview {
    summary: String,
    errors: Vec<ErrorView>,
    rows: Vec<RowView>,
    more: Option<String>,
    /// The table for the commit form, when there is no error and it is small enough.
    carry: Option<String>,
    commit_label: String,
}

#[derive(Template)]
#[template(path = "io/import.html")]
struct ImportPage {
    page: Page,
    can_import: bool,
    entities: Vec<Entity>,
    entity_id: i64,
    error: Option<String>,
    preview: Option<Preview>,
    created: Option<String>,
    columns: Vec<(&'static str, String)>,
}

/// A document error in the caller's language.
fn doc_error_text(ctx: &Ctx, e: &DocError) -> String {
    let (i, l) = (&ctx.state.i18n, ctx.lang);
    match e {
        DocError::TooLarge { limit } => i.tf(l, "io.doc.too_large", &[("mib", &(limit / (1024 * 1024)).to_string())]),
        DocError::InvalidUtf8 { line } => i.tf(l, "io.doc.invalid_utf8", &[("line", &line.to_string())]),
        DocError::ExtraCells { line, columns } => {
            i.tf(l, "io.doc.extra_cells", &[("line", &line.to_string()), ("columns", &columns.to_string())])
        }
        DocError::TooManyRows { limit } => i.tf(l, "io.doc.too_many_rows", &[("limit", &limit.to_string())]),
        DocError::Empty => i.t(l, "io.doc.empty").to_owned(),
        DocError::UnsupportedFormat(_) => i.t(l, "io.doc.unsupported").to_owned(),
        DocError::UnsafeArchive(_) => i.t(l, "io.doc.unsafe_archive").to_owned(),
        other => i.tf(l, "io.doc.malformed", &[("detail", &other.to_string())]),
    }
}

struct ImportView {
    status: StatusCode,
    entity_id: Option<i64>,
    error: Option<String>,
    preview: Option<Preview>,
    created: Option<String>,
}

async fn import_view(ctx: &Ctx, v: ImportView) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let allowed = ctx.scope(Object::Asset, Action::Create).full;
    let entities: Vec<Entity> =
        entities::list_all(&mut c).await?.into_iter().filter(|e| allowed.contains(&e.id)).collect();
    drop(c);
    let page = Page::new(ctx, "io.title").await;
    let columns = COLUMNS.iter().skip(1).chain([&PUK]).map(|c| (c.name, page.t(c.label).to_owned())).collect();
    let entity_id = v.entity_id.unwrap_or(ctx.user.entity_id.0);
    Ok(render_status(
        v.status,
        &ImportPage {
            page,
            can_import: !entities.is_empty(),
            entities,
            entity_id,
            error: v.error,
            preview: v.preview,
            created: v.created,
            columns,
        },
    ))
}

#[derive(Deserialize)]
struct ImportQuery {
    created: Option<String>,
}

async fn import_page(ctx: Ctx, Query(q): Query<ImportQuery>) -> AppResult<Response> {
    let created = q
        .created
        .and_then(|n| n.parse::<usize>().ok())
        .map(|n| ctx.state.i18n.tf(ctx.lang, "io.created", &[("count", &n.to_string())]));
    import_view(&ctx, ImportView { status: StatusCode::OK, entity_id: None, error: None, preview: None, created }).await
}

/// The fields of the import forms (upload and commit).
#[derive(Default)]
struct ImportForm {
    csrf: String,
    entity_id: Option<i64>,
    file: Option<Bytes>,
    data: Option<String>,
    commit: bool,
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
        match name.as_str() {
            "file" => {
                let bytes = field.bytes().await.map_err(multipart_error)?;
                f.file = (!bytes.is_empty()).then_some(bytes);
            }
            "csrf" => f.csrf = field.text().await.map_err(multipart_error)?,
            "entity_id" => f.entity_id = field.text().await.map_err(multipart_error)?.trim().parse().ok(),
            "data" => f.data = Some(field.text().await.map_err(multipart_error)?).filter(|d| !d.is_empty()),
            "commit" => f.commit = field.text().await.map_err(multipart_error)? == "1",
            _ => {}
        }
    }
    Ok(f)
}

/// Preview (step 1) or commit (step 2) of an import from the page.
async fn import_upload(ctx: Ctx, mp: Result<Multipart, MultipartRejection>) -> AppResult<Response> {
    let form = read_form(mp).await?;
    match &ctx.csrf {
        Some(expected) if constant_time_eq(expected.as_bytes(), form.csrf.as_bytes()) => {}
        _ => return Err(AppError::Forbidden("the form has expired or did not come from Parc; reload the page".into())),
    }
    let default = default_entity(&ctx, form.entity_id)?;
    let failed = |error: String| ImportView {
        status: StatusCode::BAD_REQUEST,
        entity_id: form.entity_id,
        error: Some(error),
        preview: None,
        created: None,
    };
    let table = match (form.file, form.data) {
        (Some(bytes), _) => match read_table(bytes).await? {
            Ok(t) => t,
            Err(e) => return import_view(&ctx, failed(doc_error_text(&ctx, &e))).await,
        },
        (None, Some(data)) if data.len() <= MAX_CARRY => serde_json::from_str::<Carried>(&data)
            .map_err(|_| AppError::BadRequest("the carried table is malformed; upload the file again".into()))?
            .into_table()?,
        (None, Some(_)) => return Err(AppError::TooLarge),
        (None, None) => return import_view(&ctx, failed(ctx.tr("io.no_file").to_owned())).await,
    };
    let out = run_import(&ctx, &table, default, form.commit).await?;
    if form.commit && out.errors.is_empty() {
        return Ok(see_other(&format!("/import?created={}", out.created), None));
    }
    let preview = preview(&ctx, &table, &out).await?;
    let status = if out.errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    import_view(
        &ctx,
        ImportView { status, entity_id: form.entity_id, error: None, preview: Some(preview), created: None },
    )
    .await
}

async fn preview(ctx: &Ctx, table: &Table, out: &Outcome) -> AppResult<Preview> {
    let (i, l) = (&ctx.state.i18n, ctx.lang);
    let rows_text = out.rows.to_string();
    if !out.errors.is_empty() {
        let errors = out
            .errors
            .iter()
            .take(MAX_ERRORS)
            .map(|e| ErrorView { line: e.line, column: e.column.clone(), reason: e.reason(i, l) })
            .collect();
        let more =
            (out.errors.len() > MAX_ERRORS).then(|| i.tf(l, "io.more_errors", &[("count", &MAX_ERRORS.to_string())]));
        let summary = i.tf(l, "io.summary_errors", &[("rows", &rows_text), ("errors", &out.errors.len().to_string())]);
        return Ok(Preview { summary, errors, rows: Vec::new(), more, carry: None, commit_label: String::new() });
    }
    let mut c = ctx.state.store.read().await?;
    let names: HashMap<EntityId, String> =
        entities::list_all(&mut c).await?.into_iter().map(|e| (e.id, e.name)).collect();
    drop(c);
    let rows = out
        .valid
        .iter()
        .take(PREVIEW_ROWS)
        .map(|(line, d)| RowView {
            line: *line,
            tag: d.asset_tag.clone().unwrap_or_default(),
            name: d.name.clone(),
            kind: i.t(l, &format!("kind.{}", d.kind.as_str())).to_owned(),
            entity: names.get(&d.entity_id).cloned().unwrap_or_default(),
        })
        .collect();
    let hidden = out.valid.len().saturating_sub(PREVIEW_ROWS);
    let more = (hidden > 0).then(|| i.tf(l, "io.more_rows", &[("count", &hidden.to_string())]));
    let carry = serde_json::to_string(&Carried::of(table)).ok().filter(|d| d.len() <= MAX_CARRY);
    Ok(Preview {
        summary: i.tf(l, "io.summary_ok", &[("rows", &rows_text)]),
        errors: Vec::new(),
        rows,
        more,
        carry,
        commit_label: i.tf(l, "io.commit", &[("count", &out.valid.len().to_string())]),
    })
}

// ---- labels ----

/// The selected assets' labels as a PDF.
pub async fn labels_pdf(ctx: &Ctx, headers: &HeaderMap, raw: Option<&str>) -> AppResult<Response> {
    let sel = Selection::parse(raw)?;
    let (layout, skip) = sel.label_options()?;
    let mut c = ctx.state.store.read().await?;
    let list = select(ctx, &mut c, &sel, MAX_LABELS).await?;
    drop(c);
    if list.is_empty() {
        return Err(AppError::BadRequest("no asset matches the selection".into()));
    }
    let settings = ctx.state.settings().await;
    let base = super::base_url(&settings.public_url, headers);
    let hotline = if settings.hotline_number.is_empty() {
        String::new()
    } else {
        ctx.state.i18n.tf(ctx.lang, "io.hotline", &[("number", &settings.hotline_number)])
    };
    let labels: Vec<Label> = list
        .into_iter()
        .map(|a| Label {
            asset_tag: a.asset_tag.unwrap_or_else(|| format!("#{}", a.id)),
            name: a.name,
            organisation: settings.organisation_name.clone(),
            hotline: hotline.clone(),
            url: format!("{base}/r/{}", a.public_token),
        })
        .collect();
    let pdf = blocking(move || render_labels(layout, &labels, skip)).await??;
    Ok(file_response(pdf, "application/pdf", "inline", "parc-labels", "pdf"))
}

async fn labels_pdf_page(ctx: Ctx, headers: HeaderMap, RawQuery(raw): RawQuery) -> AppResult<Response> {
    labels_pdf(&ctx, &headers, raw.as_deref()).await
}

#[derive(Template)]
#[template(path = "io/labels.html")]
struct LabelsPage {
    page: Page,
    count_text: String,
    warning: Option<String>,
    printable: bool,
    hidden: Vec<(String, String)>,
    /// (id, description, selected)
    layouts: Vec<(&'static str, &'static str, bool)>,
    skip: usize,
    list_query: String,
}

async fn labels_page(ctx: Ctx, RawQuery(raw): RawQuery) -> AppResult<Response> {
    let sel = Selection::parse(raw.as_deref())?;
    let (layout, skip) = sel.label_options()?;
    let mut c = ctx.state.store.read().await?;
    let n = count(&ctx, &mut c, &sel).await?;
    drop(c);
    let page = Page::new(&ctx, "io.labels_title").await;
    let warning = if n == 0 {
        Some(page.t("io.labels_none").to_owned())
    } else if n > MAX_LABELS as i64 {
        Some(page.tf("io.labels_too_many", &[("max", &MAX_LABELS.to_string())]))
    } else {
        None
    };
    const OWN: &[&str] = &["layout", "skip", "ok", "page", "per_page"];
    let hidden = sel.pairs.iter().filter(|(k, _)| !OWN.contains(&k.as_str())).cloned().collect();
    Ok(render(&LabelsPage {
        count_text: page.tf("io.labels_count", &[("count", &n.to_string())]),
        page,
        printable: warning.is_none(),
        warning,
        hidden,
        layouts: LabelLayout::all().iter().map(|l| (l.id(), l.description(), *l == layout)).collect(),
        skip,
        list_query: sel.filters,
    }))
}
