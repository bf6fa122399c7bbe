//! Stock (migration `0011_stock.sql`): stores of an entity on a site, the catalogue of
//! consumables of an entity (usable in the stores of its sub-entities), the quantity on hand per
//! store and item, and the movements that changed it.
//!
//! Every change of a quantity goes through [`record`], which writes the level and the movement
//! in the caller's transaction, so the quantity on hand is always the sum of its movements. An
//! issue takes stock with a conditional `UPDATE … WHERE quantity >= n`: of two concurrent
//! issues on PostgreSQL, the second one waits for the first's row lock, re-reads the quantity and
//! is refused when it is no longer enough (rows affected 0); the `CHECK (quantity >= 0)` stops
//! anything that would slip through. An adjustment sets the counted quantity only if the
//! quantity is still the one it was computed from (else a conflict: count again).
//!
//! After each change the reorder rule of parc-core ([`parc_core::stock::reorder`]) decides
//! whether the store's manager is to be told; [`Recorded::alerts`] lists those alerts, which the
//! caller turns into e-mails in the same transaction.

use crate::{audit, now, Actor, Result, StoreError};
use parc_core::audit::{AuditAction, FieldChange, ObjectType};
use parc_core::entities::EntityTree;
use parc_core::stock::{self as rules, MovementError, MovementKind};
use parc_core::validate::{check_text, clean};
use parc_core::{
    AssetId, EntityId, LocationId, MovementId, StockItemId, StockStoreId, TicketId, UserId, ValidationErrors,
};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

/// Most movements one list returns.
pub const MOVEMENTS_MAX: i64 = 5000;

// ---- stores ----

/// A store (a cupboard, a stock room) of an entity, on a site.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StockStore {
    pub id: StockStoreId,
    pub entity_id: EntityId,
    pub name: String,
    /// The site (or building, room) where the store is.
    pub location_id: Option<LocationId>,
    pub location_name: Option<String>,
    /// Who is told when an item goes below its reorder level.
    pub manager_user_id: Option<UserId>,
    pub manager_name: Option<String>,
    pub comment: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

type StoreRow =
    (i64, i64, String, Option<i64>, Option<String>, Option<i64>, Option<String>, Option<String>, String, String);

const STORE_SELECT: &str =
    "SELECT s.id, s.entity_id, s.name, s.location_id, l.name, s.manager_user_id, u.display_name, \
     s.comment, s.created_at, s.updated_at FROM stock_stores s LEFT JOIN locations l ON l.id = s.location_id \
     LEFT JOIN users u ON u.id = s.manager_user_id";

fn stock_store(r: StoreRow) -> StockStore {
    StockStore {
        id: StockStoreId(r.0),
        entity_id: EntityId(r.1),
        name: r.2,
        location_id: r.3.map(LocationId),
        location_name: r.4,
        manager_user_id: r.5.map(UserId),
        manager_name: r.6,
        comment: r.7,
        created_at: r.8,
        updated_at: r.9,
    }
}

/// What creating a store sends.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct StoreInput {
    pub entity_id: Option<i64>,
    pub name: Option<String>,
    /// A location of the store's entity.
    pub location_id: Option<i64>,
    /// An active user who receives the reorder alerts.
    pub manager_user_id: Option<i64>,
    pub comment: Option<String>,
}

fn ids_list(ids: &[i64]) -> String {
    if ids.is_empty() {
        "NULL".into()
    } else {
        ids.iter().map(i64::to_string).collect::<Vec<_>>().join(",")
    }
}

/// The stores of the given entities, by name.
pub async fn list_stores(c: &mut AnyConnection, entity_ids: &[i64]) -> Result<Vec<StockStore>> {
    let sql = format!("{STORE_SELECT} WHERE s.entity_id IN ({}) ORDER BY s.name, s.id", ids_list(entity_ids));
    let rows: Vec<StoreRow> = sqlx::query_as(&sql).fetch_all(c).await?;
    Ok(rows.into_iter().map(stock_store).collect())
}

pub async fn get_store(c: &mut AnyConnection, id: StockStoreId) -> Result<Option<StockStore>> {
    let rows: Option<StoreRow> =
        sqlx::query_as(&format!("{STORE_SELECT} WHERE s.id = $1")).bind(id.0).fetch_optional(c).await?;
    Ok(rows.map(stock_store))
}

/// Creates a store, audited.
pub async fn create_store(c: &mut AnyConnection, actor: &Actor, input: &StoreInput) -> Result<StockStore> {
    let mut errors = ValidationErrors::new();
    let name = clean(input.name.as_deref());
    if name.is_none() {
        errors.add("name", "required", "a store needs a name");
    }
    check_text(&mut errors, "name", name.as_deref(), 200, false);
    let comment = clean(input.comment.as_deref());
    check_text(&mut errors, "comment", comment.as_deref(), 2000, true);
    let Some(entity) = input.entity_id.map(EntityId) else {
        errors.add("entity_id", "required", "a store belongs to an entity");
        return Err(errors.into());
    };
    if crate::entities::get(c, entity).await?.is_none() {
        errors.add("entity_id", "not_found_ref", "no such entity");
    }
    if let Some(l) = input.location_id {
        match crate::locations::get(c, LocationId(l)).await? {
            Some(loc) if loc.entity_id == entity => {}
            Some(_) => errors.add("location_id", "other_entity", "the location belongs to another entity"),
            None => errors.add("location_id", "not_found_ref", "no such location"),
        }
    }
    if let Some(u) = input.manager_user_id {
        if !crate::users::get(c, UserId(u)).await?.is_some_and(|u| u.active) {
            errors.add("manager_user_id", "not_found_ref", "no such active user");
        }
    }
    errors.into_result()?;
    let name = name.unwrap_or_default();
    let at = now();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO stock_stores (entity_id, location_id, name, manager_user_id, comment, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(entity.0)
    .bind(input.location_id)
    .bind(&name)
    .bind(input.manager_user_id)
    .bind(&comment)
    .bind(&at)
    .fetch_one(&mut *c)
    .await
    .map_err(|e| match StoreError::from_write(e, "a store with this name") {
        StoreError::Conflict(_) => {
            ValidationErrors::single("name", "taken", "a store of this entity has this name").into()
        }
        other => other,
    })?;
    let changes = parc_core::audit::creation(&[
        ("name", Some(name)),
        ("location_id", input.location_id.map(|l| l.to_string())),
        ("manager_user_id", input.manager_user_id.map(|u| u.to_string())),
    ]);
    audit::record(c, actor, ObjectType::StockStore, id, Some(entity), AuditAction::Create, &changes).await?;
    get_store(c, StockStoreId(id)).await?.ok_or(StoreError::NotFound)
}

/// Deletes a store that never had a movement; a store with history answers a conflict.
pub async fn delete_store(c: &mut AnyConnection, actor: &Actor, store: &StockStore) -> Result<()> {
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM stock_movements WHERE store_id = $1 OR other_store_id = $1")
            .bind(store.id.0)
            .fetch_one(&mut *c)
            .await?;
    if n > 0 {
        return Err(StoreError::Conflict("the store has movements; it cannot be deleted".into()));
    }
    sqlx::query("DELETE FROM stock_levels WHERE store_id = $1").bind(store.id.0).execute(&mut *c).await?;
    sqlx::query("DELETE FROM stock_stores WHERE id = $1").bind(store.id.0).execute(&mut *c).await?;
    let change = FieldChange { field: "name".into(), old: Some(store.name.clone()), new: None };
    audit::record(c, actor, ObjectType::StockStore, store.id.0, Some(store.entity_id), AuditAction::Delete, &[change])
        .await
}

// ---- items ----

/// A consumable of an entity's catalogue, usable in the stores of the entity and its
/// sub-entities.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StockItem {
    pub id: StockItemId,
    pub entity_id: EntityId,
    pub name: String,
    /// The supplier's or manufacturer's reference.
    pub reference: Option<String>,
    pub category: Option<String>,
    /// The unit counted (piece, box, roll).
    pub unit: Option<String>,
    pub created_at: String,
}

type ItemRow = (i64, i64, String, Option<String>, Option<String>, Option<String>, String);
const ITEM_SELECT: &str = "SELECT id, entity_id, name, reference, category, unit, created_at FROM stock_items";

fn stock_item(r: ItemRow) -> StockItem {
    StockItem {
        id: StockItemId(r.0),
        entity_id: EntityId(r.1),
        name: r.2,
        reference: r.3,
        category: r.4,
        unit: r.5,
        created_at: r.6,
    }
}

/// What creating a catalogue item sends.
#[derive(Debug, Clone, Default, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ItemInput {
    pub entity_id: Option<i64>,
    pub name: Option<String>,
    pub reference: Option<String>,
    pub category: Option<String>,
    pub unit: Option<String>,
}

/// The items of the given entities' catalogues, by name.
pub async fn list_items(c: &mut AnyConnection, entity_ids: &[i64]) -> Result<Vec<StockItem>> {
    let sql = format!("{ITEM_SELECT} WHERE entity_id IN ({}) ORDER BY name, id", ids_list(entity_ids));
    let rows: Vec<ItemRow> = sqlx::query_as(&sql).fetch_all(c).await?;
    Ok(rows.into_iter().map(stock_item).collect())
}

pub async fn get_item(c: &mut AnyConnection, id: StockItemId) -> Result<Option<StockItem>> {
    let row: Option<ItemRow> =
        sqlx::query_as(&format!("{ITEM_SELECT} WHERE id = $1")).bind(id.0).fetch_optional(c).await?;
    Ok(row.map(stock_item))
}

/// The item of `entity`'s catalogue with this name (case as stored).
pub async fn find_item(c: &mut AnyConnection, entity: EntityId, name: &str) -> Result<Option<StockItem>> {
    let row: Option<ItemRow> = sqlx::query_as(&format!("{ITEM_SELECT} WHERE entity_id = $1 AND name = $2"))
        .bind(entity.0)
        .bind(name)
        .fetch_optional(c)
        .await?;
    Ok(row.map(stock_item))
}

/// An item's cleaned fields: name, reference, category, unit.
pub type ItemFields = (String, Option<String>, Option<String>, Option<String>);

/// Checks an item's fields.
pub fn check_item(input: &ItemInput) -> Result<ItemFields> {
    let mut errors = ValidationErrors::new();
    let name = clean(input.name.as_deref());
    if name.is_none() {
        errors.add("name", "required", "an item needs a name");
    }
    let fields = [("reference", &input.reference), ("category", &input.category), ("unit", &input.unit)]
        .map(|(f, v)| (f, clean(v.as_deref())));
    check_text(&mut errors, "name", name.as_deref(), 200, false);
    for (f, v) in &fields {
        check_text(&mut errors, f, v.as_deref(), 100, false);
    }
    errors.into_result()?;
    let [r, k, u] = fields.map(|(_, v)| v);
    Ok((name.unwrap_or_default(), r, k, u))
}

/// Creates a catalogue item, audited.
pub async fn create_item(c: &mut AnyConnection, actor: &Actor, input: &ItemInput) -> Result<StockItem> {
    let checked = check_item(input);
    let Some(entity) = input.entity_id.map(EntityId) else {
        let mut errors = match checked {
            Err(StoreError::Validation(v)) => v,
            _ => ValidationErrors::new(),
        };
        errors.add("entity_id", "required", "an item belongs to an entity's catalogue");
        return Err(errors.into());
    };
    let (name, reference, category, unit) = checked?;
    if crate::entities::get(c, entity).await?.is_none() {
        return Err(ValidationErrors::single("entity_id", "not_found_ref", "no such entity").into());
    }
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO stock_items (entity_id, name, reference, category, unit, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $6) RETURNING id",
    )
    .bind(entity.0)
    .bind(&name)
    .bind(&reference)
    .bind(&category)
    .bind(&unit)
    .bind(now())
    .fetch_one(&mut *c)
    .await
    .map_err(|e| match StoreError::from_write(e, "an item with this name") {
        StoreError::Conflict(_) => {
            ValidationErrors::single("name", "taken", "the entity's catalogue has an item of this name").into()
        }
        other => other,
    })?;
    let changes = parc_core::audit::creation(&[("name", Some(name)), ("reference", reference), ("unit", unit)]);
    audit::record(c, actor, ObjectType::StockItem, id, Some(entity), AuditAction::Create, &changes).await?;
    get_item(c, StockItemId(id)).await?.ok_or(StoreError::NotFound)
}

// ---- levels ----

/// The quantity on hand of an item in a store, with its reorder level.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Level {
    pub store_id: StockStoreId,
    pub store_name: String,
    pub entity_id: EntityId,
    pub item_id: StockItemId,
    pub item_name: String,
    pub reference: Option<String>,
    pub unit: Option<String>,
    /// Always the sum of the level's movements.
    pub quantity: i64,
    pub reorder_level: Option<i64>,
    /// The quantity is below the reorder level.
    pub below: bool,
    pub updated_at: String,
}

type LevelRow = (i64, String, i64, i64, String, Option<String>, Option<String>, i64, Option<i64>, String);

const LEVEL_SELECT: &str =
    "SELECT v.store_id, s.name, s.entity_id, v.item_id, i.name, i.reference, i.unit, v.quantity, \
     v.reorder_level, v.updated_at FROM stock_levels v JOIN stock_stores s ON s.id = v.store_id \
     JOIN stock_items i ON i.id = v.item_id";

fn level(r: LevelRow) -> Level {
    Level {
        store_id: StockStoreId(r.0),
        store_name: r.1,
        entity_id: EntityId(r.2),
        item_id: StockItemId(r.3),
        item_name: r.4,
        reference: r.5,
        unit: r.6,
        quantity: r.7,
        reorder_level: r.8,
        below: rules::below(r.7, r.8),
        updated_at: r.9,
    }
}

/// The levels of the stores of the given entities (or of one store), by store and item name.
pub async fn list_levels(
    c: &mut AnyConnection,
    entity_ids: &[i64],
    store: Option<StockStoreId>,
    below_only: bool,
) -> Result<Vec<Level>> {
    let mut sql = format!("{LEVEL_SELECT} WHERE s.entity_id IN ({})", ids_list(entity_ids));
    if let Some(s) = store {
        sql.push_str(&format!(" AND v.store_id = {}", s.0));
    }
    if below_only {
        sql.push_str(" AND v.reorder_level IS NOT NULL AND v.quantity < v.reorder_level");
    }
    sql.push_str(" ORDER BY s.name, s.id, i.name, i.id");
    let rows: Vec<LevelRow> = sqlx::query_as(&sql).fetch_all(c).await?;
    Ok(rows.into_iter().map(level).collect())
}

pub async fn get_level(c: &mut AnyConnection, store: StockStoreId, item: StockItemId) -> Result<Option<Level>> {
    let row: Option<LevelRow> = sqlx::query_as(&format!("{LEVEL_SELECT} WHERE v.store_id = $1 AND v.item_id = $2"))
        .bind(store.0)
        .bind(item.0)
        .fetch_optional(c)
        .await?;
    Ok(row.map(level))
}

/// A level that just went below its reorder level: its store's manager is to be told.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    pub store_id: StockStoreId,
    pub store_name: String,
    pub item_id: StockItemId,
    pub item_name: String,
    pub quantity: i64,
    pub reorder_level: i64,
    pub manager_user_id: Option<UserId>,
}

/// Applies the reorder rule to a level as it now is, records the alerted flag, and returns the
/// alert to send, if any.
async fn apply_reorder(c: &mut AnyConnection, store: &StockStore, item: &StockItem) -> Result<Option<Alert>> {
    let (quantity, reorder_level, alerted): (i64, Option<i64>, i64) = sqlx::query_as(
        "SELECT quantity, reorder_level, alerted FROM stock_levels WHERE store_id = $1 AND item_id = $2",
    )
    .bind(store.id.0)
    .bind(item.id.0)
    .fetch_one(&mut *c)
    .await?;
    let r = rules::reorder(alerted != 0, quantity, reorder_level);
    if r.alerted != (alerted != 0) {
        sqlx::query("UPDATE stock_levels SET alerted = $1 WHERE store_id = $2 AND item_id = $3")
            .bind(i64::from(r.alerted))
            .bind(store.id.0)
            .bind(item.id.0)
            .execute(&mut *c)
            .await?;
    }
    Ok(r.send.then(|| Alert {
        store_id: store.id,
        store_name: store.name.clone(),
        item_id: item.id,
        item_name: item.name.clone(),
        quantity,
        reorder_level: reorder_level.unwrap_or_default(),
        manager_user_id: store.manager_user_id,
    }))
}

/// Whether `item` may be kept in `store`: its catalogue is the store's entity's or an ancestor's.
pub fn item_usable(tree: &EntityTree, item: &StockItem, store: &StockStore) -> bool {
    tree.is_within(store.entity_id, item.entity_id)
}

async fn ensure_level(c: &mut AnyConnection, store: StockStoreId, item: StockItemId) -> Result<i64> {
    sqlx::query(
        "INSERT INTO stock_levels (store_id, item_id, quantity, alerted, updated_at) VALUES ($1, $2, 0, 0, $3) \
         ON CONFLICT (store_id, item_id) DO NOTHING",
    )
    .bind(store.0)
    .bind(item.0)
    .bind(now())
    .execute(&mut *c)
    .await?;
    let (q,): (i64,) = sqlx::query_as("SELECT quantity FROM stock_levels WHERE store_id = $1 AND item_id = $2")
        .bind(store.0)
        .bind(item.0)
        .fetch_one(&mut *c)
        .await?;
    Ok(q)
}

/// Sets (or with `None` clears) the reorder level of an item in a store; the alert to send if
/// the level is now below it.
pub async fn set_reorder_level(
    c: &mut AnyConnection,
    actor: &Actor,
    tree: &EntityTree,
    store: &StockStore,
    item: &StockItem,
    reorder_level: Option<i64>,
) -> Result<Option<Alert>> {
    if !item_usable(tree, item, store) {
        return Err(
            ValidationErrors::single("item_id", "other_entity", "the item is not in this store's catalogue").into()
        );
    }
    if let Some(r) = reorder_level {
        let mut errors = ValidationErrors::new();
        rules::check_quantity(&mut errors, "reorder_level", r, false);
        errors.into_result()?;
    }
    ensure_level(c, store.id, item.id).await?;
    let (old,): (Option<i64>,) =
        sqlx::query_as("SELECT reorder_level FROM stock_levels WHERE store_id = $1 AND item_id = $2")
            .bind(store.id.0)
            .bind(item.id.0)
            .fetch_one(&mut *c)
            .await?;
    if old == reorder_level {
        return Ok(None);
    }
    sqlx::query("UPDATE stock_levels SET reorder_level = $1, updated_at = $2 WHERE store_id = $3 AND item_id = $4")
        .bind(reorder_level)
        .bind(now())
        .bind(store.id.0)
        .bind(item.id.0)
        .execute(&mut *c)
        .await?;
    let changes = [
        FieldChange { field: "item".into(), old: None, new: Some(item.name.clone()) },
        FieldChange {
            field: "reorder_level".into(),
            old: old.map(|v| v.to_string()),
            new: reorder_level.map(|v| v.to_string()),
        },
    ];
    audit::record(c, actor, ObjectType::StockStore, store.id.0, Some(store.entity_id), AuditAction::Update, &changes)
        .await?;
    apply_reorder(c, store, item).await
}

// ---- movements ----

/// What recording a movement sends.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MovementInput {
    pub kind: MovementKind,
    pub store_id: i64,
    pub item_id: i64,
    /// Units moved (at least 1); for `adjust`, the quantity counted (0 or more).
    pub quantity: i64,
    /// For `transfer`: the receiving store.
    pub to_store_id: Option<i64>,
    /// For `issue`: to whom, for which ticket, to which location (any of them).
    pub issued_to_user_id: Option<i64>,
    pub issued_to_ticket_id: Option<i64>,
    pub issued_to_location_id: Option<i64>,
    /// Why (a delivery note, the count, what it is for).
    pub reason: Option<String>,
}

/// One movement of stock. A transfer is two movements, one per store, each naming the other.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Movement {
    pub id: MovementId,
    pub kind: MovementKind,
    pub store_id: StockStoreId,
    pub store_name: String,
    pub item_id: StockItemId,
    pub item_name: String,
    /// The signed change of the quantity on hand.
    pub delta: i64,
    /// The quantity on hand right after.
    pub quantity_after: i64,
    /// For a transfer: the other store.
    pub other_store_id: Option<StockStoreId>,
    pub issued_to_user_id: Option<UserId>,
    pub issued_to_ticket_id: Option<TicketId>,
    pub issued_to_location_id: Option<LocationId>,
    pub reason: Option<String>,
    pub actor_user_id: Option<UserId>,
    pub actor_label: String,
    /// UTC RFC 3339.
    pub at: String,
}

type MoveRow = (
    i64,
    String,
    i64,
    String,
    i64,
    String,
    i64,
    i64,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<i64>,
    Option<String>,
    Option<i64>,
    String,
    String,
);

const MOVE_SELECT: &str = "SELECT m.id, m.kind, m.store_id, s.name, m.item_id, i.name, m.delta, m.quantity_after, \
     m.other_store_id, m.issued_to_user_id, m.issued_to_ticket_id, m.issued_to_location_id, m.reason, m.actor_user_id, \
     m.actor_label, m.at FROM stock_movements m JOIN stock_stores s ON s.id = m.store_id JOIN stock_items i ON i.id = m.item_id";

fn movement(r: MoveRow) -> Movement {
    Movement {
        id: MovementId(r.0),
        kind: r.1.parse().unwrap_or(MovementKind::Adjust),
        store_id: StockStoreId(r.2),
        store_name: r.3,
        item_id: StockItemId(r.4),
        item_name: r.5,
        delta: r.6,
        quantity_after: r.7,
        other_store_id: r.8.map(StockStoreId),
        issued_to_user_id: r.9.map(UserId),
        issued_to_ticket_id: r.10.map(TicketId),
        issued_to_location_id: r.11.map(LocationId),
        reason: r.12,
        actor_user_id: r.13.map(UserId),
        actor_label: r.14,
        at: r.15,
    }
}

/// The movements of the stores of the given entities (or of one store, of one item), newest
/// first, at most `limit` (capped at [`MOVEMENTS_MAX`]).
pub async fn list_movements(
    c: &mut AnyConnection,
    entity_ids: &[i64],
    store: Option<StockStoreId>,
    item: Option<StockItemId>,
    limit: i64,
) -> Result<Vec<Movement>> {
    let mut sql = format!("{MOVE_SELECT} WHERE s.entity_id IN ({})", ids_list(entity_ids));
    if let Some(s) = store {
        sql.push_str(&format!(" AND m.store_id = {}", s.0));
    }
    if let Some(i) = item {
        sql.push_str(&format!(" AND m.item_id = {}", i.0));
    }
    sql.push_str(&format!(" ORDER BY m.id DESC LIMIT {}", limit.clamp(1, MOVEMENTS_MAX)));
    let rows: Vec<MoveRow> = sqlx::query_as(&sql).fetch_all(c).await?;
    Ok(rows.into_iter().map(movement).collect())
}

/// What [`record`] did.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The movements written (two for a transfer: out of the source, into the target).
    pub movements: Vec<Movement>,
    /// Levels that just went below their reorder level.
    pub alerts: Vec<Alert>,
}

/// The other end of a movement, already loaded and checked by the caller (scope, rights).
pub struct Target<'a> {
    pub store: &'a StockStore,
    pub to_store: Option<&'a StockStore>,
    pub item: &'a StockItem,
}

/// Records a movement in the caller's transaction: the level changes, the movement row (two for
/// a transfer), the audit entry on the store, the reorder rule. A refused movement (a quantity
/// that is negative, zero, too large, or more than on hand) writes nothing.
pub async fn record(
    c: &mut AnyConnection,
    actor: &Actor,
    tree: &EntityTree,
    t: &Target<'_>,
    input: &MovementInput,
) -> Result<Recorded> {
    let mut errors = ValidationErrors::new();
    let reason = clean(input.reason.as_deref());
    check_text(&mut errors, "reason", reason.as_deref(), 2000, true);
    if !item_usable(tree, t.item, t.store) {
        errors.add("item_id", "other_entity", "the item is not in this store's catalogue");
    }
    let to_store = match (input.kind, t.to_store) {
        (MovementKind::Transfer, None) => {
            errors.add("to_store_id", "required", "a transfer needs a receiving store");
            None
        }
        (MovementKind::Transfer, Some(to)) if to.id == t.store.id => {
            errors.add("to_store_id", "same_store", "the receiving store must be another store");
            None
        }
        (MovementKind::Transfer, Some(to)) => {
            if !item_usable(tree, t.item, to) {
                errors.add("to_store_id", "other_entity", "the item is not in the receiving store's catalogue");
            }
            Some(to)
        }
        (_, _) => None,
    };
    let issue = input.kind == MovementKind::Issue;
    let related = |e: EntityId| tree.is_within(e, t.store.entity_id) || tree.is_within(t.store.entity_id, e);
    let issued_user = if issue { input.issued_to_user_id } else { None };
    let issued_ticket = if issue { input.issued_to_ticket_id } else { None };
    let issued_location = if issue { input.issued_to_location_id } else { None };
    if !issue
        && (input.issued_to_user_id.is_some()
            || input.issued_to_ticket_id.is_some()
            || input.issued_to_location_id.is_some())
    {
        errors.add("issued_to_user_id", "only_for_issue", "only an issue goes to a user, ticket or location");
    }
    if let Some(u) = issued_user {
        if !crate::users::get(c, UserId(u)).await?.is_some_and(|u| related(u.entity_id)) {
            errors.add("issued_to_user_id", "not_found_ref", "no such user");
        }
    }
    if let Some(k) = issued_ticket {
        let e: Option<(i64,)> =
            sqlx::query_as("SELECT entity_id FROM tickets WHERE id = $1").bind(k).fetch_optional(&mut *c).await?;
        if !e.is_some_and(|e| related(EntityId(e.0))) {
            errors.add("issued_to_ticket_id", "not_found_ref", "no such ticket");
        }
    }
    if let Some(l) = issued_location {
        if !crate::locations::get(c, LocationId(l)).await?.is_some_and(|l| related(l.entity_id)) {
            errors.add("issued_to_location_id", "not_found_ref", "no such location");
        }
    }
    let probe = if input.kind == MovementKind::Receive { 0 } else { rules::MAX_QUANTITY };
    if let Err(e) = rules::plan(input.kind, input.quantity, probe) {
        errors.add("quantity", e.code(), e.message());
    }
    errors.into_result()?;

    let store = t.store;
    let item = t.item;
    let before = ensure_level(c, store.id, item.id).await?;
    let at = now();
    let delta = match input.kind {
        MovementKind::Receive => {
            rules::plan(input.kind, input.quantity, before).map_err(|e| e.into_errors("quantity"))?;
            sqlx::query(
                "UPDATE stock_levels SET quantity = quantity + $1, updated_at = $2 WHERE store_id = $3 AND item_id = $4",
            )
            .bind(input.quantity)
            .bind(&at)
            .bind(store.id.0)
            .bind(item.id.0)
            .execute(&mut *c)
            .await?;
            input.quantity
        }
        MovementKind::Issue | MovementKind::Transfer => {
            let done = sqlx::query(
                "UPDATE stock_levels SET quantity = quantity - $1, updated_at = $2 \
                 WHERE store_id = $3 AND item_id = $4 AND quantity >= $1",
            )
            .bind(input.quantity)
            .bind(&at)
            .bind(store.id.0)
            .bind(item.id.0)
            .execute(&mut *c)
            .await?;
            if done.rows_affected() == 0 {
                let on_hand = current(c, store.id, item.id).await?;
                return Err(MovementError::Insufficient { on_hand }.into_errors("quantity").into());
            }
            -input.quantity
        }
        MovementKind::Adjust => {
            let delta = rules::plan(input.kind, input.quantity, before).map_err(|e| e.into_errors("quantity"))?;
            let done = sqlx::query(
                "UPDATE stock_levels SET quantity = $1, updated_at = $2 WHERE store_id = $3 AND item_id = $4 AND quantity = $5",
            )
            .bind(input.quantity)
            .bind(&at)
            .bind(store.id.0)
            .bind(item.id.0)
            .bind(before)
            .execute(&mut *c)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict("the quantity changed while it was counted; count again".into()));
            }
            delta
        }
    };
    let after = current(c, store.id, item.id).await?;
    let row = NewMovement {
        kind: input.kind,
        store: store.id,
        item: item.id,
        delta,
        after,
        other: to_store.map(|s| s.id),
        user: issued_user,
        ticket: issued_ticket,
        location: issued_location,
        reason: reason.as_deref(),
        at: &at,
    };
    let mut ids = vec![insert_movement(c, actor, &row).await?];
    let mut alerts: Vec<Alert> = apply_reorder(c, store, item).await?.into_iter().collect();
    let mut changes = vec![
        FieldChange { field: "kind".into(), old: None, new: Some(input.kind.as_str().into()) },
        FieldChange { field: "item".into(), old: None, new: Some(item.name.clone()) },
        FieldChange { field: "quantity".into(), old: Some(before.to_string()), new: Some(after.to_string()) },
    ];
    if let Some(r) = &reason {
        changes.push(FieldChange { field: "reason".into(), old: None, new: Some(r.clone()) });
    }
    if let Some(to) = to_store {
        let to_before = ensure_level(c, to.id, item.id).await?;
        sqlx::query(
            "UPDATE stock_levels SET quantity = quantity + $1, updated_at = $2 WHERE store_id = $3 AND item_id = $4",
        )
        .bind(input.quantity)
        .bind(&at)
        .bind(to.id.0)
        .bind(item.id.0)
        .execute(&mut *c)
        .await
        .map_err(|e| StoreError::from_write(e, "stock level"))?;
        let to_after = current(c, to.id, item.id).await?;
        let row = NewMovement { store: to.id, delta: input.quantity, after: to_after, other: Some(store.id), ..row };
        ids.push(insert_movement(c, actor, &row).await?);
        alerts.extend(apply_reorder(c, to, item).await?);
        changes.push(FieldChange { field: "to_store".into(), old: None, new: Some(to.name.clone()) });
        let to_changes = [
            FieldChange { field: "kind".into(), old: None, new: Some(input.kind.as_str().into()) },
            FieldChange { field: "item".into(), old: None, new: Some(item.name.clone()) },
            FieldChange { field: "quantity".into(), old: Some(to_before.to_string()), new: Some(to_after.to_string()) },
            FieldChange { field: "from_store".into(), old: None, new: Some(store.name.clone()) },
        ];
        audit::record(
            c,
            actor,
            ObjectType::StockStore,
            to.id.0,
            Some(to.entity_id),
            AuditAction::Movement,
            &to_changes,
        )
        .await?;
    }
    audit::record(c, actor, ObjectType::StockStore, store.id.0, Some(store.entity_id), AuditAction::Movement, &changes)
        .await?;
    let mut movements = Vec::with_capacity(ids.len());
    for id in ids {
        let row: MoveRow =
            sqlx::query_as(&format!("{MOVE_SELECT} WHERE m.id = $1")).bind(id).fetch_one(&mut *c).await?;
        movements.push(movement(row));
    }
    Ok(Recorded { movements, alerts })
}

#[derive(Clone, Copy)]
struct NewMovement<'a> {
    kind: MovementKind,
    store: StockStoreId,
    item: StockItemId,
    delta: i64,
    after: i64,
    other: Option<StockStoreId>,
    user: Option<i64>,
    ticket: Option<i64>,
    location: Option<i64>,
    reason: Option<&'a str>,
    at: &'a str,
}

async fn current(c: &mut AnyConnection, store: StockStoreId, item: StockItemId) -> Result<i64> {
    let q: Option<(i64,)> = sqlx::query_as("SELECT quantity FROM stock_levels WHERE store_id = $1 AND item_id = $2")
        .bind(store.0)
        .bind(item.0)
        .fetch_optional(c)
        .await?;
    Ok(q.map_or(0, |q| q.0))
}

async fn insert_movement(c: &mut AnyConnection, actor: &Actor, m: &NewMovement<'_>) -> Result<i64> {
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO stock_movements (kind, store_id, item_id, delta, quantity_after, other_store_id, issued_to_user_id, \
         issued_to_ticket_id, issued_to_location_id, reason, actor_user_id, actor_label, at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) RETURNING id",
    )
    .bind(m.kind.as_str())
    .bind(m.store.0)
    .bind(m.item.0)
    .bind(m.delta)
    .bind(m.after)
    .bind(m.other.map(|s| s.0))
    .bind(m.user)
    .bind(m.ticket)
    .bind(m.location)
    .bind(m.reason)
    .bind(actor.user_id.map(|u| u.0))
    .bind(&actor.label)
    .bind(m.at)
    .fetch_one(c)
    .await
    .map_err(|e| StoreError::from_write(e, "movement"))?;
    Ok(id)
}

/// Each level's quantity next to the sum of its movements, for the invariant's tests:
/// (store, item, quantity, sum of deltas).
pub async fn level_sums(c: &mut AnyConnection) -> Result<Vec<(i64, i64, i64, i64)>> {
    Ok(sqlx::query_as(
        "SELECT v.store_id, v.item_id, v.quantity, \
         CAST(COALESCE((SELECT SUM(m.delta) FROM stock_movements m WHERE m.store_id = v.store_id AND m.item_id = v.item_id), 0) AS BIGINT) \
         FROM stock_levels v ORDER BY v.store_id, v.item_id",
    )
    .fetch_all(c)
    .await?)
}

// ---- tracked assets in stock ----

/// An asset with status "in stock" at a store's location.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct StockedAsset {
    pub id: AssetId,
    pub name: String,
    pub asset_tag: Option<String>,
    pub kind: String,
    pub serial: Option<String>,
}

/// The assets of the given entities with status `in_stock` at `location`, by name.
pub async fn assets_in_stock(
    c: &mut AnyConnection,
    entity_ids: &[i64],
    location: LocationId,
) -> Result<Vec<StockedAsset>> {
    let sql = format!(
        "SELECT id, name, asset_tag, kind, serial FROM assets WHERE location_id = $1 AND status = 'in_stock' \
         AND entity_id IN ({}) ORDER BY name, id LIMIT 1000",
        ids_list(entity_ids)
    );
    type AssetRow = (i64, String, Option<String>, String, Option<String>);
    let rows: Vec<AssetRow> = sqlx::query_as(&sql).bind(location.0).fetch_all(c).await?;
    Ok(rows
        .into_iter()
        .map(|r| StockedAsset { id: AssetId(r.0), name: r.1, asset_tag: r.2, kind: r.3, serial: r.4 })
        .collect())
}
