//! Agent inventory pages: the inventory overview (counts, the URLs to give the agents, their
//! last contact, the import log, and for a super-admin the matching settings and entity rules),
//! the software catalogue, and the "Inventory" section of a computer's page.
//!
//! The rights rules here are shared with the API (`api::inventory`): reads use the Asset Read
//! scope; refused imports belong to no entity, so only who reads the whole organisation (every
//! top-level entity) sees them; settings and entity rules are changed by a super-admin only.

use super::admin::{require_settings_update, search_text};
use super::assets::visible_asset;
use super::{render_status, see_other, Page, Pager};
use crate::api::{ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::{opt_id, CsrfForm, CsrfOnly};
use crate::i18n::Lang;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::{get, post};
use axum::Router;
use parc_core::permissions::{Action, Object};
use parc_core::{AssetId, EntityId, ValidationErrors};
use parc_store::assets::{Asset, Page as ResultPage};
use parc_store::entities;
use parc_store::inventory::{
    self, AgentRow, ComputerInventory, EntityRule, EntityRuleKind, ImportRow, InventorySettings, InventoryStats,
    MatchRule, SoftwareDetail, SoftwareSummary,
};
use parc_store::{Conn, StoreError};
use serde::Deserialize;
use std::collections::{BTreeSet, HashMap};

/// The inventory overview (agents are given other URLs: `agents::AGENT_PATHS`).
pub const PAGE_PATH: &str = "/inventory";
/// Imports listed with one machine (page and API).
pub(crate) const IMPORTS_OF_MACHINE: i64 = 20;
/// Rows of each import list on the overview.
const IMPORTS_SHOWN: i64 = 20;
const AGENTS_PER_PAGE: u32 = 50;
const SOFTWARE_PER_PAGE: u32 = 50;
/// Machines listed on a product's page.
const INSTALLATIONS_SHOWN: i64 = 500;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PAGE_PATH, get(overview))
        .route("/inventory/settings", post(settings_save))
        .route("/inventory/entity-rules", post(rule_add))
        .route("/inventory/entity-rules/{id}/delete", post(rule_delete))
        .route("/software", get(software_list))
        .route("/software/{id}", get(software_show))
}

// ---- rights and reads, shared with the API ----

/// Reading the inventory settings and entity rules: every profile that reads settings.
pub(crate) fn require_settings_read(ctx: &Ctx) -> AppResult<()> {
    if ctx.can_anywhere(Object::Settings, Action::Read) {
        Ok(())
    } else {
        Err(AppError::Forbidden("your profile does not read the settings".into()))
    }
}

/// Whether the caller reads the assets of every top-level entity: refused imports, which carry
/// no entity, are shown to them only.
pub(crate) async fn sees_whole_organisation(ctx: &Ctx, c: &mut Conn) -> AppResult<bool> {
    let scope = ctx.scope(Object::Asset, Action::Read);
    let roots: Vec<EntityId> =
        entities::list_all(c).await?.into_iter().filter(|e| e.parent_id.is_none()).map(|e| e.id).collect();
    Ok(!roots.is_empty() && roots.iter().all(|r| scope.full.contains(r)))
}

/// The instant before which an agent's last contact makes its machine "not seen lately".
pub(crate) fn stale_cutoff(days: u32) -> String {
    parc_store::fmt_time(chrono::Utc::now() - chrono::Duration::days(i64::from(days)))
}

/// The counts a caller may see: the whole inventory for who reads the whole organisation,
/// otherwise what lies in their scope (and no refused imports).
pub(crate) async fn visible_stats(ctx: &Ctx, c: &mut Conn, whole: bool) -> AppResult<InventoryStats> {
    if whole {
        return Ok(inventory::stats(c).await?);
    }
    let scope = ctx.scope(Object::Asset, Action::Read);
    let computers = inventory::agents(c, &scope, ctx.user.id, None, 1, 1).await?.total;
    // Every product in scope in one grouped query: its versions and installations add up.
    let all = inventory::software_page(c, &scope, ctx.user.id, None, 1, u32::MAX).await?;
    Ok(InventoryStats {
        computers,
        installs: all.items.iter().map(|s| s.installs).sum(),
        software: all.total,
        versions: all.items.iter().map(|s| s.versions).sum(),
        rejected: 0,
    })
}

/// The entity rules whose entity the caller reads.
pub(crate) async fn visible_entity_rules(ctx: &Ctx, c: &mut Conn) -> AppResult<Vec<EntityRule>> {
    Ok(inventory::entity_rules(c)
        .await?
        .into_iter()
        .filter(|r| ctx.can(Object::Entity, Action::Read, EntityId(r.entity_id)))
        .collect())
}

/// One entity rule by id.
pub(crate) async fn entity_rule(c: &mut Conn, id: i64) -> AppResult<EntityRule> {
    inventory::entity_rules(c).await?.into_iter().find(|r| r.id == id).ok_or(AppError::NotFound)
}

/// A machine the caller may see and what its agents reported; 404 otherwise.
pub(crate) async fn inventory_of(ctx: &Ctx, c: &mut Conn, id: AssetId) -> AppResult<(Asset, ComputerInventory)> {
    let a = visible_asset(ctx, c, id, Action::Read).await?;
    let inv = inventory::computer(c, a.id).await?.ok_or(AppError::NotFound)?;
    Ok((a, inv))
}

/// A rule pattern's problems the store does not look for (its own checks follow).
fn check_pattern(pattern: &str, errors: &mut ValidationErrors) {
    let p = pattern.trim();
    if p.is_empty() {
        errors.add("pattern", "required", "is required");
    } else if p.chars().count() > 200 {
        errors.add("pattern", "too_long", "must be at most 200 characters");
    } else if p.chars().any(char::is_control) {
        errors.add("pattern", "control_chars", "control characters are not allowed");
    }
}

/// The translated message of a field's first error: `inventory.err.<code>`, then `err.<code>`,
/// then the store's English text.
fn field_error(page: &Page, errors: &ValidationErrors, field: &str) -> Option<String> {
    errors.for_field(field).map(|f| {
        for key in [format!("inventory.err.{}", f.code), format!("err.{}", f.code)] {
            let text = page.t(&key);
            if text != key {
                return text.to_owned();
            }
        }
        f.message.clone()
    })
}

/// "Département › Collège Jean Moulin": an entity as its path, for `<select>`s and lists.
fn entity_labels(ctx: &Ctx, all: &[entities::Entity]) -> Vec<(EntityId, String)> {
    let names: HashMap<EntityId, &str> = all.iter().map(|e| (e.id, e.name.as_str())).collect();
    let mut out: Vec<(EntityId, String)> = all
        .iter()
        .filter(|e| ctx.can(Object::Entity, Action::Read, e.id))
        .map(|e| {
            let path: Vec<&str> = ctx.tree.path(e.id).iter().filter_map(|id| names.get(id).copied()).collect();
            (e.id, path.join(" › "))
        })
        .collect();
    out.sort_by_key(|e| e.1.to_lowercase());
    out
}

/// Megabytes as people read them: "512 Mo", "465,8 Go".
fn size(lang: Lang, mb: u64) -> String {
    let (n, unit) = if mb >= 1024 {
        (format!("{:.1}", mb as f64 / 1024.0), if lang == Lang::Fr { "Go" } else { "GB" })
    } else {
        (mb.to_string(), if lang == Lang::Fr { "Mo" } else { "MB" })
    };
    let n = if lang == Lang::Fr { n.replace('.', ",") } else { n };
    format!("{n}\u{a0}{unit}")
}

// ---- the overview ----

/// The addresses each agent is configured with.
struct AgentUrls {
    ocs: String,
    fusion: String,
    glpi: String,
    parc: String,
}

struct AgentView {
    row: AgentRow,
    entity: String,
    stale: bool,
}

struct ImportView {
    row: ImportRow,
    /// The entity rule that placed a new machine, as "tag: COLLEGE-JM".
    entity_rule: Option<String>,
}

/// What the super-admin forms show: stored values, or what was just submitted with its errors.
struct SettingsValues {
    positions: Vec<(MatchRule, String)>,
    stale_days: String,
    prolog_freq_hours: String,
    default_entity_id: String,
}

impl SettingsValues {
    fn from_settings(s: &InventorySettings) -> SettingsValues {
        SettingsValues {
            positions: MatchRule::ALL
                .iter()
                .map(|r| {
                    let pos = s.match_rules.iter().position(|x| x == r).map(|p| (p + 1).to_string());
                    (*r, pos.unwrap_or_else(|| "off".into()))
                })
                .collect(),
            stale_days: s.stale_days.to_string(),
            prolog_freq_hours: s.prolog_freq_hours.to_string(),
            default_entity_id: s.default_entity_id.map(|e| e.to_string()).unwrap_or_default(),
        }
    }
}

#[derive(Default)]
struct RuleValues {
    kind: String,
    pattern: String,
    entity_id: String,
}

/// Forms of a refused POST, shown again with their errors.
#[derive(Default)]
struct Submitted {
    settings: Option<(SettingsValues, ValidationErrors)>,
    rule: Option<(RuleValues, ValidationErrors)>,
}

#[derive(Template)]
#[template(path = "inventory/overview.html")]
struct OverviewPage {
    page: Page,
    stats: InventoryStats,
    whole: bool,
    urls: AgentUrls,
    agents: Vec<AgentView>,
    stale_only: bool,
    stale_text: String,
    count_text: String,
    pager: Pager,
    accepted: Vec<ImportView>,
    rejected: Vec<ImportRow>,
    admin: bool,
    settings: SettingsValues,
    settings_errors: ValidationErrors,
    positions: Vec<String>,
    entities: Vec<(EntityId, String)>,
    rules: Vec<EntityRule>,
    rule: RuleValues,
    rule_errors: ValidationErrors,
    rule_kinds: Vec<EntityRuleKind>,
}

impl OverviewPage {
    fn err(&self, field: &str) -> Option<String> {
        field_error(&self.page, &self.settings_errors, field)
    }

    fn rule_err(&self, field: &str) -> Option<String> {
        field_error(&self.page, &self.rule_errors, field)
    }
}

#[derive(Deserialize)]
struct OverviewQuery {
    ok: Option<String>,
    /// "1": only the machines not seen for `stale_days`.
    stale: Option<String>,
    page: Option<u32>,
}

async fn overview(ctx: Ctx, headers: HeaderMap, ApiQuery(q): ApiQuery<OverviewQuery>) -> AppResult<Response> {
    overview_page(&ctx, &headers, &q, Submitted::default(), StatusCode::OK).await
}

async fn overview_page(
    ctx: &Ctx,
    headers: &HeaderMap,
    q: &OverviewQuery,
    submitted: Submitted,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let settings = inventory::settings(&mut c).await?;
    let whole = sees_whole_organisation(ctx, &mut c).await?;
    let stats = visible_stats(ctx, &mut c, whole).await?;
    let scope = ctx.scope(Object::Asset, Action::Read);
    let cutoff = stale_cutoff(settings.stale_days);
    let stale_only = q.stale.as_deref() == Some("1");
    let page_no = q.page.unwrap_or(1).max(1);
    let found =
        inventory::agents(&mut c, &scope, ctx.user.id, stale_only.then_some(cutoff.as_str()), page_no, AGENTS_PER_PAGE)
            .await?;
    let all_entities = entities::list_all(&mut c).await?;
    let names: HashMap<i64, String> = all_entities.iter().map(|e| (e.id.0, e.name.clone())).collect();
    let full: Vec<i64> = scope.full.iter().map(|e| e.0).collect();
    let admin = ctx.can_anywhere(Object::Settings, Action::Update);
    // Rules are named in the import log by id; shown as "kind: pattern".
    let all_rules = inventory::entity_rules(&mut c).await?;
    let rule_text: HashMap<String, String> =
        all_rules.iter().map(|r| (r.id.to_string(), format!("{}: {}", r.kind.as_str(), r.pattern))).collect();
    let accepted = inventory::imports(&mut c, false, &full, IMPORTS_SHOWN)
        .await?
        .into_iter()
        .map(|row| ImportView { entity_rule: row.entity_rule.as_ref().and_then(|r| rule_text.get(r).cloned()), row })
        .collect();
    let rejected = if whole { inventory::imports(&mut c, true, &[], IMPORTS_SHOWN).await? } else { Vec::new() };
    drop(c);

    let base = super::base_url(&ctx.state.settings().await.public_url, headers);
    let urls = AgentUrls {
        ocs: format!("{base}/ocsinventory"),
        fusion: format!("{base}/plugins/fusioninventory/"),
        glpi: format!("{base}/front/inventory.php"),
        parc: format!("parc agent --server {base}/"),
    };
    let mut page = Page::new(ctx, "inventory.title").await.with_flash(q.ok.as_deref());
    let has_errors = submitted.settings.as_ref().is_some_and(|s| !s.1.is_empty())
        || submitted.rule.as_ref().is_some_and(|r| !r.1.is_empty());
    if has_errors {
        page.flash = Some(ctx.tr("common.form_errors").to_owned());
    }
    let stale_param = if stale_only { "stale=1&" } else { "" };
    let pager = Pager::new(&page, &found, |p| format!("{PAGE_PATH}?{stale_param}page={p}#agents"));
    let stale_text = page.tf("inventory.stale_filter", &[("days", &settings.stale_days.to_string())]);
    let count_text = page.tf("common.results", &[("count", &found.total.to_string())]);
    let agents = found
        .items
        .into_iter()
        .map(|row| AgentView {
            entity: names.get(&row.entity_id).cloned().unwrap_or_default(),
            stale: row.last_contact_at < cutoff,
            row,
        })
        .collect();
    let (settings_values, settings_errors) =
        submitted.settings.unwrap_or_else(|| (SettingsValues::from_settings(&settings), ValidationErrors::new()));
    let (rule, rule_errors) = submitted.rule.unwrap_or_default();
    Ok(render_status(
        status,
        &OverviewPage {
            page,
            stats,
            whole,
            urls,
            agents,
            stale_only,
            stale_text,
            count_text,
            pager,
            accepted,
            rejected,
            admin,
            settings: settings_values,
            settings_errors,
            positions: (1..=MatchRule::ALL.len()).map(|p| p.to_string()).collect(),
            entities: if admin { entity_labels(ctx, &all_entities) } else { Vec::new() },
            rules: if admin { all_rules } else { Vec::new() },
            rule,
            rule_errors,
            rule_kinds: EntityRuleKind::ALL.to_vec(),
        },
    ))
}

/// The settings form: `rule_<name>` = a position (1..5) or "off" for each matching rule.
fn settings_from_form(form: &HashMap<String, String>) -> (SettingsValues, Result<InventorySettings, ValidationErrors>) {
    let value = |k: &str| form.get(k).map(|v| v.trim().to_owned()).unwrap_or_default();
    let values = SettingsValues {
        positions: MatchRule::ALL
            .iter()
            .map(|r| {
                let v = value(&format!("rule_{}", r.as_str()));
                (*r, if v.is_empty() { "off".to_owned() } else { v })
            })
            .collect(),
        stale_days: value("stale_days"),
        prolog_freq_hours: value("prolog_freq_hours"),
        default_entity_id: value("default_entity_id"),
    };
    let mut errors = ValidationErrors::new();
    let mut chosen: Vec<(usize, MatchRule)> = Vec::new();
    for (rule, pos) in &values.positions {
        if pos == "off" {
            continue;
        }
        match pos.parse::<usize>() {
            Ok(p) if (1..=MatchRule::ALL.len()).contains(&p) => chosen.push((p, *rule)),
            _ => errors.add("match_rules", "unknown_value", "a position is 1 to 5, or off"),
        }
    }
    let distinct: BTreeSet<usize> = chosen.iter().map(|(p, _)| *p).collect();
    if distinct.len() != chosen.len() {
        errors.add("match_rules", "duplicate_position", "two rules have the same position");
    }
    chosen.sort_by_key(|(p, _)| *p);
    let number = |field: &str, v: &str, errors: &mut ValidationErrors| match v.parse::<u32>() {
        Ok(n) => n,
        Err(_) => {
            errors.add(field, "range", "must be a whole number");
            0
        }
    };
    let stale_days = number("stale_days", &values.stale_days, &mut errors);
    let prolog_freq_hours = number("prolog_freq_hours", &values.prolog_freq_hours, &mut errors);
    let default_entity_id = opt_id("default_entity_id", &Some(values.default_entity_id.clone()), &mut errors);
    let s = InventorySettings {
        match_rules: chosen.into_iter().map(|(_, r)| r).collect(),
        default_entity_id,
        stale_days,
        prolog_freq_hours,
    };
    // The store's own checks too, so that every problem shows at once.
    if let Err(e) = s.validate() {
        for f in e.fields {
            if errors.for_field(&f.field).is_none() {
                errors.fields.push(f);
            }
        }
    }
    let result = if errors.is_empty() { Ok(s) } else { Err(errors) };
    (values, result)
}

async fn settings_save(
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm(ctx, form): CsrfForm<HashMap<String, String>>,
) -> AppResult<Response> {
    require_settings_update(&ctx)?;
    let (values, parsed) = settings_from_form(&form);
    let refused = match parsed {
        Err(e) => e,
        Ok(s) => {
            let mut tx = state.store.write().await?;
            match inventory::put_settings(&mut tx, &ctx.actor(), &s).await {
                Ok(()) => {
                    tx.commit().await?;
                    state.inventory_changed().await;
                    return Ok(see_other(PAGE_PATH, Some("common.saved")));
                }
                Err(StoreError::Validation(e)) => e,
                Err(e) => return Err(e.into()),
            }
        }
    };
    let submitted = Submitted { settings: Some((values, refused)), rule: None };
    let q = OverviewQuery { ok: None, stale: None, page: None };
    overview_page(&ctx, &headers, &q, submitted, StatusCode::UNPROCESSABLE_ENTITY).await
}

#[derive(Deserialize)]
struct RuleForm {
    kind: Option<String>,
    pattern: Option<String>,
    entity_id: Option<String>,
}

async fn rule_add(
    State(state): State<AppState>,
    headers: HeaderMap,
    CsrfForm(ctx, f): CsrfForm<RuleForm>,
) -> AppResult<Response> {
    require_settings_update(&ctx)?;
    let values = RuleValues {
        kind: f.kind.clone().unwrap_or_default(),
        pattern: f.pattern.clone().unwrap_or_default(),
        entity_id: f.entity_id.clone().unwrap_or_default(),
    };
    let mut errors = ValidationErrors::new();
    let kind = EntityRuleKind::parse(&values.kind);
    if kind.is_none() {
        errors.add("kind", "unknown_value", "tag, subnet or name");
    }
    check_pattern(&values.pattern, &mut errors);
    let entity = opt_id("entity_id", &f.entity_id, &mut errors);
    if entity.is_none() && errors.for_field("entity_id").is_none() {
        errors.add("entity_id", "required", "is required");
    }
    let refused = match (kind, entity) {
        (Some(kind), Some(entity)) if errors.is_empty() => {
            let mut tx = state.store.write().await?;
            match inventory::add_entity_rule(&mut tx, &ctx.actor(), kind, &values.pattern, EntityId(entity)).await {
                Ok(_) => {
                    tx.commit().await?;
                    state.inventory_changed().await;
                    return Ok(see_other(PAGE_PATH, Some("inventory.rule_added")));
                }
                Err(StoreError::Validation(e)) => e,
                Err(e) => return Err(e.into()),
            }
        }
        _ => errors,
    };
    let submitted = Submitted { settings: None, rule: Some((values, refused)) };
    let q = OverviewQuery { ok: None, stale: None, page: None };
    overview_page(&ctx, &headers, &q, submitted, StatusCode::UNPROCESSABLE_ENTITY).await
}

async fn rule_delete(
    State(state): State<AppState>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    require_settings_update(&ctx)?;
    let mut tx = state.store.write().await?;
    inventory::delete_entity_rule(&mut tx, &ctx.actor(), id).await?;
    tx.commit().await?;
    state.inventory_changed().await;
    Ok(see_other(PAGE_PATH, Some("inventory.rule_deleted")))
}

// ---- software catalogue ----

#[derive(Template)]
#[template(path = "inventory/software_list.html")]
struct SoftwareListPage {
    page: Page,
    q: String,
    result: ResultPage<SoftwareSummary>,
    count_text: String,
    pager: Pager,
}

#[derive(Deserialize)]
struct SoftwareQuery {
    q: Option<String>,
    page: Option<u32>,
}

async fn software_list(ctx: Ctx, ApiQuery(sq): ApiQuery<SoftwareQuery>) -> AppResult<Response> {
    let q = search_text(sq.q.as_deref());
    let mut c = ctx.state.store.read().await?;
    let scope = ctx.scope(Object::Asset, Action::Read);
    let page_no = sq.page.unwrap_or(1).max(1);
    let result = inventory::software_page(&mut c, &scope, ctx.user.id, Some(&q), page_no, SOFTWARE_PER_PAGE).await?;
    drop(c);
    let page = Page::new(&ctx, "inventory.software_title").await;
    let pager = Pager::new(&page, &result, |p| format!("/software?q={}&page={p}", urlencoding::encode(&q)));
    let count_text = page.tf("common.results", &[("count", &result.total.to_string())]);
    Ok(render_status(StatusCode::OK, &SoftwareListPage { page, pager, q, result, count_text }))
}

#[derive(Template)]
#[template(path = "inventory/software.html")]
struct SoftwareShowPage {
    page: Page,
    d: SoftwareDetail,
    total_text: String,
    more_text: Option<String>,
}

async fn software_show(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let scope = ctx.scope(Object::Asset, Action::Read);
    let d = inventory::software_detail(&mut c, &scope, ctx.user.id, id, INSTALLATIONS_SHOWN)
        .await?
        .ok_or(AppError::NotFound)?;
    drop(c);
    let page = Page::new(&ctx, "inventory.software_title").await.with_title(d.name.clone());
    let total_text = page.tf("inventory.installations_count", &[("count", &d.total_installations.to_string())]);
    let shown = d.installations.len() as i64;
    let more_text = (d.total_installations > shown)
        .then(|| page.tf("inventory.installations_more", &[("count", &(d.total_installations - shown).to_string())]));
    Ok(render_status(StatusCode::OK, &SoftwareShowPage { page, d, total_text, more_text }))
}

// ---- the "Inventory" section of a computer's page ----

/// A JSON detail's text field ("" when absent).
fn text(v: &serde_json::Value, key: &str) -> String {
    match v.get(key) {
        Some(serde_json::Value::String(s)) => s.clone(),
        Some(serde_json::Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

fn number(v: &serde_json::Value, key: &str) -> Option<u64> {
    v.get(key).and_then(serde_json::Value::as_u64)
}

pub struct CpuView {
    pub name: String,
    pub manufacturer: String,
    pub arch: String,
    pub cores: String,
    pub threads: String,
    pub speed: String,
}

pub struct ModuleView {
    pub slot: String,
    pub capacity: String,
    pub kind: String,
    pub speed: String,
    pub manufacturer: String,
    pub serial: String,
}

pub struct DiskView {
    pub name: String,
    pub manufacturer: String,
    pub serial: String,
    pub interface: String,
    pub size: String,
}

pub struct VolumeView {
    pub mount: String,
    pub filesystem: String,
    pub total: String,
    pub free: String,
    /// Free space in percent of the total, when both are known.
    pub free_percent: Option<u64>,
}

impl VolumeView {
    /// Under 10 % free: shown as a warning.
    pub fn low(&self) -> bool {
        self.free_percent.is_some_and(|p| p < 10)
    }
}

pub struct PrinterView {
    pub name: String,
    pub driver: String,
    pub port: String,
}

/// A machine's inventory as its page shows it: the stored values with the details decoded and
/// sizes written for people.
pub struct ComputerView {
    pub inv: ComputerInventory,
    pub memory: String,
    pub cpus: Vec<CpuView>,
    pub modules: Vec<ModuleView>,
    pub disks: Vec<DiskView>,
    pub volumes: Vec<VolumeView>,
    pub printers: Vec<PrinterView>,
    pub software_text: String,
}

impl ComputerView {
    pub fn new(inv: ComputerInventory, page: &Page) -> ComputerView {
        let lang = page.lang;
        let mb = |v: &serde_json::Value, key: &str| number(v, key).map(|n| size(lang, n)).unwrap_or_default();
        let cpus = inv
            .cpus
            .iter()
            .map(|c| CpuView {
                name: text(c, "name"),
                manufacturer: text(c, "manufacturer"),
                arch: text(c, "arch"),
                cores: text(c, "cores"),
                threads: text(c, "threads"),
                speed: number(c, "speed_mhz").map(|s| format!("{s}\u{a0}MHz")).unwrap_or_default(),
            })
            .collect();
        let modules = inv
            .memory_modules
            .iter()
            .map(|m| ModuleView {
                slot: text(m, "slot"),
                capacity: mb(m, "capacity_mb"),
                kind: text(m, "kind"),
                speed: text(m, "speed"),
                manufacturer: text(m, "manufacturer"),
                serial: text(m, "serial"),
            })
            .collect();
        let disks = inv
            .disks
            .iter()
            .map(|d| {
                let model = text(d, "model");
                DiskView {
                    name: if model.is_empty() { text(d, "name") } else { model },
                    manufacturer: text(d, "manufacturer"),
                    serial: text(d, "serial"),
                    interface: text(d, "interface"),
                    size: mb(d, "size_mb"),
                }
            })
            .collect();
        let volumes = inv
            .volumes
            .iter()
            .map(|v| VolumeView {
                mount: text(v, "mount"),
                filesystem: text(v, "filesystem"),
                total: mb(v, "total_mb"),
                free: mb(v, "free_mb"),
                free_percent: match (number(v, "free_mb"), number(v, "total_mb")) {
                    (Some(f), Some(t)) if t > 0 => Some(f.min(t) * 100 / t),
                    _ => None,
                },
            })
            .collect();
        let printers = inv
            .printers
            .iter()
            .map(|p| PrinterView { name: text(p, "name"), driver: text(p, "driver"), port: text(p, "port") })
            .collect();
        let memory = inv.memory_mb.and_then(|m| u64::try_from(m).ok()).map(|m| size(lang, m)).unwrap_or_default();
        let software_text = page.tf("inventory.software_count", &[("count", &inv.software.len().to_string())]);
        ComputerView { memory, cpus, modules, disks, volumes, printers, software_text, inv }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect()
    }

    #[test]
    fn positions_order_the_rules_and_off_leaves_one_out() {
        let (_, s) = settings_from_form(&form(&[
            ("rule_uuid", "2"),
            ("rule_serial", "1"),
            ("rule_mac", "off"),
            ("rule_name", "3"),
            ("rule_device_id", "off"),
            ("stale_days", "30"),
            ("prolog_freq_hours", "24"),
            ("default_entity_id", ""),
        ]));
        let s = s.unwrap();
        assert_eq!(s.match_rules, vec![MatchRule::Serial, MatchRule::Uuid, MatchRule::Name]);
        assert_eq!(s.default_entity_id, None);
    }

    #[test]
    fn a_shared_position_and_bad_numbers_are_refused() {
        let (values, s) = settings_from_form(&form(&[
            ("rule_uuid", "1"),
            ("rule_serial", "1"),
            ("stale_days", "0"),
            ("prolog_freq_hours", "many"),
        ]));
        let e = s.unwrap_err();
        assert_eq!(e.for_field("match_rules").unwrap().code, "duplicate_position");
        assert_eq!(e.for_field("stale_days").unwrap().code, "range");
        assert_eq!(e.for_field("prolog_freq_hours").unwrap().code, "range");
        assert_eq!(values.positions[2], (MatchRule::Mac, "off".to_owned()), "absent means off");
    }

    #[test]
    fn sizes_read_well() {
        assert_eq!(size(Lang::Fr, 512), "512\u{a0}Mo");
        assert_eq!(size(Lang::Fr, 476940), "465,8\u{a0}Go");
        assert_eq!(size(Lang::En, 16384), "16.0\u{a0}GB");
    }
}
