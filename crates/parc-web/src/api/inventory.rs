//! /api/v1/assets/{id}/inventory, /api/v1/software and /api/v1/inventory/*: what agents
//! reported, the software catalogue, the agents' last contact, the import log, and the
//! inventory settings and entity rules (changed by a super-admin only).
//!
//! Reads are scoped like the asset API (the Asset Read scope); the rights rules are those of the
//! inventory page (`pages::inventory`).

use super::{ApiJson, ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::pages::admin::{require_settings_update, search_text};
use crate::pages::inventory::{
    entity_rule, inventory_of, require_settings_read, sees_whole_organisation, stale_cutoff, visible_entity_rules,
    visible_stats, IMPORTS_OF_MACHINE,
};
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get};
use axum::{Json, Router};
use parc_core::permissions::{Action, Object};
use parc_core::{AssetId, EntityId};
use parc_store::inventory::{
    self, AgentRow, ComputerInventory, EntityRule, EntityRuleKind, ImportRow, Installation, InstalledSoftware,
    InventorySettings, InventoryStats, MatchRule, NetworkRow, SoftwareDetail, SoftwareSummary, VersionCount,
};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(
    paths(
        asset_inventory,
        software_list,
        software_get,
        agent_list,
        import_list,
        stats_get,
        settings_get,
        settings_put,
        rule_list,
        rule_create,
        rule_delete
    ),
    components(schemas(
        AssetInventory,
        ComputerInventory,
        NetworkRow,
        InstalledSoftware,
        ImportRow,
        ImportList,
        ImportOutcomeFilter,
        SoftwareList,
        SoftwareSummary,
        SoftwareDetail,
        VersionCount,
        Installation,
        AgentList,
        AgentRow,
        InventoryStats,
        InventorySettings,
        MatchRule,
        EntityRule,
        EntityRuleKind,
        EntityRuleList,
        EntityRuleInput
    ))
)]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/assets/{id}/inventory", get(asset_inventory))
        .route("/software", get(software_list))
        .route("/software/{id}", get(software_get))
        .route("/inventory/agents", get(agent_list))
        .route("/inventory/imports", get(import_list))
        .route("/inventory/stats", get(stats_get))
        .route("/inventory/settings", get(settings_get).put(settings_put))
        .route("/inventory/entity-rules", get(rule_list).post(rule_create))
        .route("/inventory/entity-rules/{id}", delete(rule_delete))
}

/// Default and largest page sizes of the lists.
const PER_PAGE: u32 = 50;
const PER_PAGE_MAX: u32 = 500;
/// Machines listed with one product.
const INSTALLATIONS_MAX: i64 = 1000;

fn paging(page: Option<u32>, per_page: Option<u32>) -> (u32, u32) {
    (page.unwrap_or(1).max(1), per_page.unwrap_or(PER_PAGE).clamp(1, PER_PAGE_MAX))
}

// ---- one machine ----

/// What the agents reported about a machine, and its latest imports (newest first, at most 20).
#[derive(Serialize, ToSchema)]
pub struct AssetInventory {
    #[serde(flatten)]
    pub inventory: ComputerInventory,
    pub imports: Vec<ImportRow>,
}

/// 404 when the asset is out of the caller's scope or no agent ever reported it.
#[utoipa::path(get, path = "/assets/{id}/inventory", tag = "inventory", params(("id" = i64, Path)),
    responses((status = 200, body = AssetInventory), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn asset_inventory(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<AssetInventory>> {
    let mut c = ctx.state.store.read().await?;
    let (_, inventory) = inventory_of(&ctx, &mut c, AssetId(id)).await?;
    let imports = inventory::imports_of(&mut c, AssetId(id), IMPORTS_OF_MACHINE).await?;
    Ok(Json(AssetInventory { inventory, imports }))
}

// ---- software catalogue ----

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SoftwareParams {
    /// Part of the product's name or publisher.
    q: Option<String>,
    #[param(minimum = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 500)]
    per_page: Option<u32>,
}

/// A page of the catalogue.
#[derive(Serialize, ToSchema)]
pub struct SoftwareList {
    pub items: Vec<SoftwareSummary>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
}

/// The products installed on at least one machine in the caller's scope, by name, with their
/// number of versions and installations in that scope.
#[utoipa::path(get, path = "/software", tag = "inventory", params(SoftwareParams),
    responses((status = 200, body = SoftwareList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn software_list(ctx: Ctx, ApiQuery(p): ApiQuery<SoftwareParams>) -> AppResult<Json<SoftwareList>> {
    let (page, per_page) = paging(p.page, p.per_page);
    let q = search_text(p.q.as_deref());
    let mut c = ctx.state.store.read().await?;
    let scope = ctx.scope(Object::Asset, Action::Read);
    let r = inventory::software_page(&mut c, &scope, ctx.user.id, Some(&q), page, per_page).await?;
    Ok(Json(SoftwareList { items: r.items, total: r.total, page: r.page, per_page: r.per_page }))
}

/// One product: its versions with their counts and the machines having it (at most 1000),
/// within the caller's scope; 404 when no machine in scope has it.
#[utoipa::path(get, path = "/software/{id}", tag = "inventory", params(("id" = i64, Path)),
    responses((status = 200, body = SoftwareDetail), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn software_get(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<SoftwareDetail>> {
    let mut c = ctx.state.store.read().await?;
    let scope = ctx.scope(Object::Asset, Action::Read);
    let d = inventory::software_detail(&mut c, &scope, ctx.user.id, id, INSTALLATIONS_MAX).await?;
    Ok(Json(d.ok_or(AppError::NotFound)?))
}

// ---- agents, imports, counts ----

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AgentParams {
    /// `true`: only the machines whose agent has not been in contact for the `stale_days` of the
    /// inventory settings; otherwise every machine.
    stale: Option<bool>,
    #[param(minimum = 1)]
    page: Option<u32>,
    #[param(minimum = 1, maximum = 500)]
    per_page: Option<u32>,
}

/// Machines reported by agents, the longest silent first.
#[derive(Serialize, ToSchema)]
pub struct AgentList {
    pub items: Vec<AgentRow>,
    pub total: i64,
    pub page: u32,
    pub per_page: u32,
    /// The setting the `stale` filter uses.
    pub stale_days: u32,
    /// A machine whose last contact is before this instant (UTC, RFC 3339) is not seen lately.
    pub stale_before: String,
}

#[utoipa::path(get, path = "/inventory/agents", tag = "inventory", params(AgentParams),
    responses((status = 200, body = AgentList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody)))]
async fn agent_list(ctx: Ctx, ApiQuery(p): ApiQuery<AgentParams>) -> AppResult<Json<AgentList>> {
    let (page, per_page) = paging(p.page, p.per_page);
    let mut c = ctx.state.store.read().await?;
    let stale_days = inventory::settings(&mut c).await?.stale_days;
    let stale_before = stale_cutoff(stale_days);
    let scope = ctx.scope(Object::Asset, Action::Read);
    let filter = p.stale.unwrap_or(false).then_some(stale_before.as_str());
    let r = inventory::agents(&mut c, &scope, ctx.user.id, filter, page, per_page).await?;
    Ok(Json(AgentList { items: r.items, total: r.total, page: r.page, per_page: r.per_page, stale_days, stale_before }))
}

/// Which imports to list.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImportOutcomeFilter {
    /// Stored inventories (created, updated or unchanged machines) in the caller's scope.
    #[default]
    Accepted,
    /// Refused requests; they belong to no entity, so only a caller who reads the assets of the
    /// whole organisation (every top-level entity) sees them.
    Rejected,
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ImportParams {
    #[param(inline)]
    outcome: Option<ImportOutcomeFilter>,
    /// At most this many rows (default 100).
    #[param(minimum = 1, maximum = 500)]
    limit: Option<i64>,
}

/// The import log, newest first.
#[derive(Serialize, ToSchema)]
pub struct ImportList {
    pub items: Vec<ImportRow>,
}

#[utoipa::path(get, path = "/inventory/imports", tag = "inventory", params(ImportParams),
    responses((status = 200, body = ImportList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody)))]
async fn import_list(ctx: Ctx, ApiQuery(p): ApiQuery<ImportParams>) -> AppResult<Json<ImportList>> {
    let limit = p.limit.unwrap_or(100).clamp(1, 500);
    let mut c = ctx.state.store.read().await?;
    let items = match p.outcome.unwrap_or_default() {
        ImportOutcomeFilter::Rejected => {
            if !sees_whole_organisation(&ctx, &mut c).await? {
                return Err(AppError::Forbidden(
                    "refused inventories belong to no entity: only who reads the whole organisation sees them".into(),
                ));
            }
            inventory::imports(&mut c, true, &[], limit).await?
        }
        ImportOutcomeFilter::Accepted => {
            let full: Vec<i64> = ctx.scope(Object::Asset, Action::Read).full.iter().map(|e| e.0).collect();
            inventory::imports(&mut c, false, &full, limit).await?
        }
    };
    Ok(Json(ImportList { items }))
}

/// Inventory counts: for a caller who reads the whole organisation, every machine, product,
/// version and installation plus the refused requests; for others the counts within their scope
/// (and 0 refused requests, which they cannot see).
#[utoipa::path(get, path = "/inventory/stats", tag = "inventory",
    responses((status = 200, body = InventoryStats), (status = 401, body = ErrorBody)))]
async fn stats_get(ctx: Ctx) -> AppResult<Json<InventoryStats>> {
    let mut c = ctx.state.store.read().await?;
    let whole = sees_whole_organisation(&ctx, &mut c).await?;
    Ok(Json(visible_stats(&ctx, &mut c, whole).await?))
}

// ---- settings and entity rules ----

#[utoipa::path(get, path = "/inventory/settings", tag = "inventory",
    responses((status = 200, body = InventorySettings), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn settings_get(ctx: Ctx) -> AppResult<Json<InventorySettings>> {
    require_settings_read(&ctx)?;
    let mut c = ctx.state.store.read().await?;
    Ok(Json(inventory::settings(&mut c).await?))
}

/// Replaces the inventory settings (super-admin only). `match_rules` lists the matching rules
/// in the order they are tried, each at most once (a rule left out is off); `default_entity_id`
/// null sends new machines to the top-level entity.
#[utoipa::path(put, path = "/inventory/settings", tag = "inventory", request_body = InventorySettings,
    responses((status = 200, body = InventorySettings), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn settings_put(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(s): ApiJson<InventorySettings>,
) -> AppResult<Json<InventorySettings>> {
    require_settings_update(&ctx)?;
    let mut tx = state.store.write().await?;
    inventory::put_settings(&mut tx, &ctx.actor(), &s).await?;
    let saved = inventory::settings(&mut tx).await?;
    tx.commit().await?;
    state.inventory_changed().await;
    Ok(Json(saved))
}

/// The entity rules, in the order they are tried (the first that matches a new machine places it).
#[derive(Serialize, ToSchema)]
pub struct EntityRuleList {
    pub items: Vec<EntityRule>,
}

/// The rules whose entity the caller may read (all of them for a super-admin).
#[utoipa::path(get, path = "/inventory/entity-rules", tag = "inventory",
    responses((status = 200, body = EntityRuleList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn rule_list(ctx: Ctx) -> AppResult<Json<EntityRuleList>> {
    require_settings_read(&ctx)?;
    let mut c = ctx.state.store.read().await?;
    Ok(Json(EntityRuleList { items: visible_entity_rules(&ctx, &mut c).await? }))
}

/// A new entity rule: `tag` compares the agent's TAG without case, `subnet` a CIDR subnet
/// (e.g. 192.168.207.0/24) with the request's source address or the machine's addresses, `name`
/// the machine name with `*` and `?` wildcards.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityRuleInput {
    pub kind: EntityRuleKind,
    pub pattern: String,
    pub entity_id: i64,
}

/// Adds a rule at the end of the list (super-admin only).
#[utoipa::path(post, path = "/inventory/entity-rules", tag = "inventory", request_body = EntityRuleInput,
    responses((status = 201, body = EntityRule), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn rule_create(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(input): ApiJson<EntityRuleInput>,
) -> AppResult<Response> {
    require_settings_update(&ctx)?;
    let mut tx = state.store.write().await?;
    let id = inventory::add_entity_rule(&mut tx, &ctx.actor(), input.kind, &input.pattern, EntityId(input.entity_id))
        .await?;
    let rule = entity_rule(&mut tx, id).await?;
    tx.commit().await?;
    state.inventory_changed().await;
    Ok((StatusCode::CREATED, Json(rule)).into_response())
}

/// Deletes a rule (super-admin only); machines it placed stay where they are.
#[utoipa::path(delete, path = "/inventory/entity-rules/{id}", tag = "inventory", params(("id" = i64, Path)),
    responses((status = 204), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn rule_delete(State(state): State<AppState>, ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<StatusCode> {
    require_settings_update(&ctx)?;
    let mut tx = state.store.write().await?;
    inventory::delete_entity_rule(&mut tx, &ctx.actor(), id).await?;
    tx.commit().await?;
    state.inventory_changed().await;
    Ok(StatusCode::NO_CONTENT)
}
