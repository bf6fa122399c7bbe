//! Agent inventories: matching an incoming inventory to an asset, storing what the agent
//! reports (hardware details, network cards, the shared software catalogue, monitors as linked
//! assets), one grouped history entry per inventory, the import log and the entity rules.
//!
//! Agent-owned fields on the asset are name, serial, manufacturer, model, IP and MAC; what a
//! technician keeps by hand (tag, location, user, status, entity, dates, comment) is never written
//! here after creation.

pub mod rules;

use crate::assets::{self, Asset, Page};
use crate::sql::Sql;
use crate::{audit, now, Actor, Cipher, Result, StoreError};
use parc_core::assets::{AssetDraft, AssetKind, AssetStatus};
use parc_core::audit::{AuditAction, FieldChange, ObjectType};
use parc_core::permissions::Scope;
use parc_core::validate::ValidationErrors;
use parc_core::{AssetId, EntityId, UserId};
use parc_inventory::{is_junk_serial, is_junk_uuid, Inventory};
use rules::{clip, clip_opt, contradicts, Identity, SoftwareKey};
pub use rules::{EntityRuleKind, MatchRule};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;
use std::collections::{BTreeSet, HashMap};

/// Inventory settings, kept in `settings` under `inventory.*`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InventorySettings {
    /// Matching rules, in the order they are tried.
    pub match_rules: Vec<MatchRule>,
    /// Where a new machine goes when no entity rule matches (`None`: the root entity).
    pub default_entity_id: Option<i64>,
    /// A machine whose agent has not reported for this many days is listed as not seen.
    pub stale_days: u32,
    /// Hours between two agent runs, as told to OCS/FusionInventory agents (PROLOG_FREQ).
    pub prolog_freq_hours: u32,
}

impl Default for InventorySettings {
    fn default() -> Self {
        InventorySettings {
            match_rules: MatchRule::DEFAULT.to_vec(),
            default_entity_id: None,
            stale_days: 30,
            prolog_freq_hours: 24,
        }
    }
}

impl InventorySettings {
    pub fn validate(&self) -> std::result::Result<(), ValidationErrors> {
        let mut e = ValidationErrors::new();
        let distinct: BTreeSet<&str> = self.match_rules.iter().map(|r| r.as_str()).collect();
        if distinct.len() != self.match_rules.len() {
            e.add("match_rules", "duplicate", "a rule is listed twice");
        }
        if self.stale_days == 0 || self.stale_days > 3650 {
            e.add("stale_days", "range", "must be between 1 and 3650");
        }
        if self.prolog_freq_hours == 0 || self.prolog_freq_hours > 8760 {
            e.add("prolog_freq_hours", "range", "must be between 1 and 8760");
        }
        e.into_result()
    }
}

pub async fn settings(c: &mut AnyConnection) -> Result<InventorySettings> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT key, value FROM settings WHERE key LIKE 'inventory.%'").fetch_all(c).await?;
    let mut s = InventorySettings::default();
    for (k, v) in rows {
        match k.as_str() {
            "inventory.match_rules" => s.match_rules = rules::parse_match_rules(&v).unwrap_or(s.match_rules),
            "inventory.default_entity_id" => s.default_entity_id = v.parse().ok(),
            "inventory.stale_days" => s.stale_days = v.parse().unwrap_or(s.stale_days),
            "inventory.prolog_freq" => s.prolog_freq_hours = v.parse().unwrap_or(s.prolog_freq_hours),
            _ => {}
        }
    }
    Ok(s)
}

fn settings_pairs(s: &InventorySettings) -> [(&'static str, String); 4] {
    [
        ("inventory.match_rules", s.match_rules.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(",")),
        ("inventory.default_entity_id", s.default_entity_id.map(|e| e.to_string()).unwrap_or_default()),
        ("inventory.stale_days", s.stale_days.to_string()),
        ("inventory.prolog_freq", s.prolog_freq_hours.to_string()),
    ]
}

/// Replaces the inventory settings, auditing each changed value.
pub async fn put_settings(c: &mut AnyConnection, actor: &Actor, new: &InventorySettings) -> Result<()> {
    new.validate()?;
    if let Some(e) = new.default_entity_id {
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM entities WHERE id = $1").bind(e).fetch_one(&mut *c).await?;
        if n == 0 {
            return Err(ValidationErrors::single("default_entity_id", "not_found", "no such entity").into());
        }
    }
    let old = settings(c).await?;
    let mut changes = Vec::new();
    for ((k, o), (_, n)) in settings_pairs(&old).into_iter().zip(settings_pairs(new)) {
        if o == n {
            continue;
        }
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(k)
        .bind(&n)
        .execute(&mut *c)
        .await?;
        changes.push(FieldChange { field: k.into(), old: Some(o), new: Some(n) });
    }
    if !changes.is_empty() {
        audit::record(c, actor, ObjectType::Settings, 0, None, AuditAction::Update, &changes).await?;
    }
    Ok(())
}

/// One entity assignment rule.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct EntityRule {
    pub id: i64,
    pub position: i64,
    pub kind: EntityRuleKind,
    pub pattern: String,
    pub entity_id: i64,
    pub entity_name: String,
}

pub async fn entity_rules(c: &mut AnyConnection) -> Result<Vec<EntityRule>> {
    let rows: Vec<(i64, i64, String, String, i64, String)> = sqlx::query_as(
        "SELECT r.id, r.position, r.kind, r.pattern, r.entity_id, e.name FROM inventory_entity_rules r \
         JOIN entities e ON e.id = r.entity_id ORDER BY r.position, r.id",
    )
    .fetch_all(c)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|(id, position, kind, pattern, entity_id, entity_name)| {
            Some(EntityRule { id, position, kind: EntityRuleKind::parse(&kind)?, pattern, entity_id, entity_name })
        })
        .collect())
}

/// Adds a rule at the end of the list.
pub async fn add_entity_rule(
    c: &mut AnyConnection,
    actor: &Actor,
    kind: EntityRuleKind,
    pattern: &str,
    entity: EntityId,
) -> Result<i64> {
    if let Err(m) = rules::check_pattern(kind, pattern) {
        return Err(ValidationErrors::single("pattern", "pattern", m).into());
    }
    let (n,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM entities WHERE id = $1").bind(entity.0).fetch_one(&mut *c).await?;
    if n == 0 {
        return Err(ValidationErrors::single("entity_id", "not_found", "no such entity").into());
    }
    let (pos,): (i64,) =
        sqlx::query_as("SELECT COALESCE(MAX(position), 0) + 1 FROM inventory_entity_rules").fetch_one(&mut *c).await?;
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO inventory_entity_rules (position, kind, pattern, entity_id, created_at) \
         VALUES ($1, $2, $3, $4, $5) RETURNING id",
    )
    .bind(pos)
    .bind(kind.as_str())
    .bind(pattern.trim())
    .bind(entity.0)
    .bind(now())
    .fetch_one(&mut *c)
    .await?;
    let change = FieldChange {
        field: "inventory.entity_rule".into(),
        old: None,
        new: Some(format!("{} {} -> {}", kind.as_str(), pattern.trim(), entity.0)),
    };
    audit::record(c, actor, ObjectType::Settings, 0, None, AuditAction::Create, &[change]).await?;
    Ok(id)
}

pub async fn delete_entity_rule(c: &mut AnyConnection, actor: &Actor, id: i64) -> Result<()> {
    let row: Option<(String, String, i64)> =
        sqlx::query_as("SELECT kind, pattern, entity_id FROM inventory_entity_rules WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *c)
            .await?;
    let (kind, pattern, entity) = row.ok_or(StoreError::NotFound)?;
    sqlx::query("DELETE FROM inventory_entity_rules WHERE id = $1").bind(id).execute(&mut *c).await?;
    let change = FieldChange {
        field: "inventory.entity_rule".into(),
        old: Some(format!("{kind} {pattern} -> {entity}")),
        new: None,
    };
    audit::record(c, actor, ObjectType::Settings, 0, None, AuditAction::Delete, &[change]).await?;
    Ok(())
}

/// Everything an import needs besides the inventory: read once, cacheable by the caller.
#[derive(Debug, Clone, Default)]
pub struct ImportConfig {
    pub settings: InventorySettings,
    pub entity_rules: Vec<EntityRule>,
    /// Where a machine no rule places goes: the configured default if it exists, else the root.
    pub default_entity: Option<EntityId>,
}

pub async fn import_config(c: &mut AnyConnection) -> Result<ImportConfig> {
    let settings = settings(&mut *c).await?;
    let entity_rules = entity_rules(&mut *c).await?;
    let default_entity = default_entity(c, &settings).await?;
    Ok(ImportConfig { settings, entity_rules, default_entity })
}

async fn default_entity(c: &mut AnyConnection, settings: &InventorySettings) -> Result<Option<EntityId>> {
    if let Some(e) = settings.default_entity_id {
        let found: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM entities WHERE id = $1").bind(e).fetch_optional(&mut *c).await?;
        if let Some((id,)) = found {
            return Ok(Some(EntityId(id)));
        }
    }
    let root: Option<(i64,)> = sqlx::query_as("SELECT id FROM entities WHERE parent_id IS NULL ORDER BY id LIMIT 1")
        .fetch_optional(&mut *c)
        .await?;
    Ok(root.map(|(id,)| EntityId(id)))
}

/// Where a request came from, as the web layer saw it.
#[derive(Debug, Clone, Default)]
pub struct ImportSource {
    pub source_ip: Option<String>,
    /// The agent's own name and version (User-Agent or the protocol's field).
    pub agent: Option<String>,
}

/// What an import did.
#[derive(Debug, Clone, Serialize)]
pub struct ImportOutcome {
    pub asset_id: AssetId,
    pub created: bool,
    pub matched_rule: Option<MatchRule>,
    /// The entity rule that placed a new machine (`None`: default entity, or an existing machine).
    pub entity_rule_id: Option<i64>,
    /// Changes written to the machine's history.
    pub changes: usize,
}

/// The details shown on the computer's page and never queried.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct Details {
    cpus: Vec<serde_json::Value>,
    memory_modules: Vec<serde_json::Value>,
    disks: Vec<serde_json::Value>,
    volumes: Vec<serde_json::Value>,
    printers: Vec<serde_json::Value>,
    #[serde(default)]
    monitors: Vec<serde_json::Value>,
}

fn to_values<T: Serialize>(items: &[T]) -> Vec<serde_json::Value> {
    items.iter().filter_map(|i| serde_json::to_value(i).ok()).collect()
}

fn text_of(v: &serde_json::Value, key: &str) -> Option<String> {
    match v.get(key)? {
        serde_json::Value::String(s) if !s.is_empty() => Some(s.clone()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

/// "Samsung SSD 860 (S3Z...) 476940 MB": how a disk reads in the history.
fn disk_labels(disks: &[serde_json::Value]) -> Vec<String> {
    disks
        .iter()
        .map(|d| {
            let mut s = text_of(d, "model").or_else(|| text_of(d, "name")).unwrap_or_else(|| "disk".into());
            if let Some(serial) = text_of(d, "serial") {
                s.push_str(&format!(" ({serial})"));
            }
            if let Some(size) = text_of(d, "size_mb") {
                s.push_str(&format!(" {size} MB"));
            }
            s
        })
        .collect()
}

fn cpu_labels(cpus: &[serde_json::Value]) -> Vec<String> {
    cpus.iter().map(|c| text_of(c, "name").unwrap_or_else(|| "CPU".into())).collect()
}

/// Physical cards' addresses, sorted: what "IP changed" is about.
fn ip_labels(inv: &Inventory) -> Vec<String> {
    let set: BTreeSet<String> =
        inv.networks.iter().filter(|n| !n.r#virtual).flat_map(|n| n.ips.iter().cloned()).collect();
    set.into_iter().collect()
}

fn identity_of(inv: &Inventory) -> Identity {
    Identity { uuid: inv.usable_uuid().map(str::to_lowercase), serial: inv.usable_serial().map(str::to_owned) }
}

fn content_hash(inv: &Inventory) -> String {
    let json = serde_json::to_vec(inv).unwrap_or_default();
    hex::encode(Sha256::digest(&json))
}

/// The entity a new machine goes to, and the rule that chose it.
async fn target_entity(
    c: &mut AnyConnection,
    config: &ImportConfig,
    inv: &Inventory,
    src: &ImportSource,
) -> Result<(EntityId, Option<i64>)> {
    for r in &config.entity_rules {
        if rules::entity_rule_matches(r.kind, &r.pattern, inv, src.source_ip.as_deref()) {
            return Ok((EntityId(r.entity_id), Some(r.id)));
        }
    }
    match config.default_entity {
        Some(e) => Ok((e, None)),
        None => {
            let e = default_entity(c, &config.settings).await?;
            let e = e.ok_or_else(|| StoreError::Config("no entity to place a new machine in".into()))?;
            Ok((e, None))
        }
    }
}

const MACHINE_KINDS: &str = "('computer', 'server')";

/// The first candidate of the first rule that finds one not contradicted by a stronger identifier.
/// Every rule's candidates come back from one statement (a UNION ALL tagged with the rule's rank).
async fn find_match(
    c: &mut AnyConnection,
    settings: &InventorySettings,
    inv: &Inventory,
    entity: EntityId,
) -> Result<Option<(AssetId, MatchRule)>> {
    let me = identity_of(inv);
    let macs = inv.physical_macs();
    let name = inv.name.as_deref().map(str::trim).filter(|n| !n.is_empty()).map(str::to_lowercase);
    let mut sql = Sql::default();
    for (rank, rule) in settings.match_rules.iter().enumerate() {
        let mut part = Sql::new("");
        let cond = |part: &mut Sql| {
            part.push(&format!("SELECT {rank} AS r, a.id, a.serial, ic.uuid FROM assets a "));
            part.push("LEFT JOIN inventory_computers ic ON ic.asset_id = a.id WHERE ");
        };
        match rule {
            MatchRule::Uuid => {
                let Some(u) = &me.uuid else { continue };
                cond(&mut part);
                part.push("a.id IN (SELECT asset_id FROM inventory_computers WHERE uuid = ").bind_text(u.clone());
                part.push(")");
            }
            MatchRule::Serial => {
                let Some(serial) = &me.serial else { continue };
                cond(&mut part);
                part.push("a.serial = ").bind_text(serial.clone());
                part.push(&format!(" AND a.kind IN {MACHINE_KINDS}"));
            }
            MatchRule::Mac => {
                if macs.is_empty() {
                    continue;
                }
                cond(&mut part);
                part.push(&format!("a.kind IN {MACHINE_KINDS} AND a.id IN (SELECT id FROM assets WHERE mac IN ("));
                push_texts(&mut part, &macs);
                part.push(") UNION SELECT asset_id FROM inventory_networks WHERE is_virtual = 0 AND mac IN (");
                push_texts(&mut part, &macs);
                part.push("))");
            }
            MatchRule::Name => {
                let Some(n) = &name else { continue };
                cond(&mut part);
                part.push("a.entity_id = ").bind_int(entity.0);
                part.push(" AND lower(a.name) = ").bind_text(n.clone());
                part.push(&format!(" AND a.kind IN {MACHINE_KINDS}"));
            }
            MatchRule::DeviceId => {
                cond(&mut part);
                part.push("a.id IN (SELECT asset_id FROM inventory_computers WHERE device_id = ")
                    .bind_text(clip(&inv.device_id, 200));
                part.push(")");
            }
        }
        if !sql.text.is_empty() {
            sql.push(" UNION ALL ");
        }
        sql.append(&part);
    }
    if sql.text.is_empty() {
        return Ok(None);
    }
    sql.push(" ORDER BY 1, 2");
    let rows: Vec<(i64, i64, Option<String>, Option<String>)> = sql.query_as().fetch_all(&mut *c).await?;
    for (rank, id, serial, uuid) in rows {
        let known = Identity { uuid: uuid.filter(|u| !is_junk_uuid(u)), serial: serial.filter(|s| !is_junk_serial(s)) };
        if !contradicts(&me, &known) {
            let rule = usize::try_from(rank).ok().and_then(|r| settings.match_rules.get(r)).copied();
            return Ok(rule.map(|r| (AssetId(id), r)));
        }
    }
    Ok(None)
}

fn push_texts(sql: &mut Sql, values: &[String]) {
    for (i, v) in values.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind_text(v.clone());
    }
}

#[derive(sqlx::FromRow)]
struct ComputerRow {
    device_id: String,
    uuid: Option<String>,
    domain: Option<String>,
    os_name: Option<String>,
    os_version: Option<String>,
    os_arch: Option<String>,
    bios_version: Option<String>,
    bios_date: Option<String>,
    memory_mb: Option<i64>,
    logged_user: Option<String>,
    agent: Option<String>,
    agent_version: Option<String>,
    tag: Option<String>,
    source_ip: Option<String>,
    matched_rule: String,
    details: String,
    software: String,
    content_hash: String,
    first_inventory_at: String,
    last_inventory_at: String,
    last_contact_at: String,
}

const COMPUTER_COLUMNS: &str = "device_id, uuid, domain, os_name, os_version, os_arch, bios_version, bios_date, \
     memory_mb, logged_user, agent, agent_version, tag, source_ip, matched_rule, details, software, content_hash, \
     first_inventory_at, last_inventory_at, last_contact_at";

async fn computer_row(c: &mut AnyConnection, asset: AssetId) -> Result<Option<ComputerRow>> {
    Ok(sqlx::query_as(&format!("SELECT {COMPUTER_COLUMNS} FROM inventory_computers WHERE asset_id = $1"))
        .bind(asset.0)
        .fetch_optional(c)
        .await?)
}

/// "Debian GNU/Linux 12", "Microsoft Windows 11 Pro 10.0.22631": the version only when the
/// name does not already carry it.
fn os_label(name: Option<&str>, version: Option<&str>) -> Option<String> {
    match (name, version) {
        (Some(n), Some(v)) if n.contains(v) => Some(n.to_owned()),
        (Some(n), Some(v)) => Some(format!("{n} {v}")),
        (Some(n), None) => Some(n.to_owned()),
        (None, Some(v)) => Some(v.to_owned()),
        (None, None) => None,
    }
}

/// Stores one inventory in the caller's transaction: matches or creates the machine, updates
/// what the agent owns, writes one grouped history entry and one import log row.
pub async fn import(
    c: &mut AnyConnection,
    cipher: &Cipher,
    config: &ImportConfig,
    inv: &Inventory,
    src: &ImportSource,
) -> Result<ImportOutcome> {
    let settings = &config.settings;
    if inv.device_id.trim().is_empty() {
        return Err(ValidationErrors::single("device_id", "required", "the inventory has no DEVICEID").into());
    }
    let actor = Actor::system(&format!("agent {}", clip(&inv.device_id, 120)));
    let (entity, entity_rule) = target_entity(c, config, inv, src).await?;
    let matched = find_match(c, settings, inv, entity).await?;
    let name = clip_opt(inv.name.as_deref(), 200).unwrap_or_else(|| clip(&inv.device_id, 200));
    let serial = inv.usable_serial().map(|s| clip(s, 100));
    let manufacturer = clip_opt(inv.manufacturer.as_deref(), 100);
    let model = clip_opt(inv.model.as_deref(), 100);
    let ip = inv.primary_ip().map(str::to_owned);
    // The MAC of the card that carries the main address, else of the first physical card.
    let mac = ip
        .as_deref()
        .and_then(|ip| inv.networks.iter().find(|n| !n.r#virtual && n.ips.iter().any(|i| i == ip)))
        .and_then(|n| n.mac.clone())
        .or_else(|| inv.physical_macs().into_iter().next());
    let t = now();

    // `host` is the machine as it stands after this import (the template of its monitors).
    let (asset_id, host, created, mut changes) = match matched {
        Some((id, _)) => {
            let old = assets::get(c, id).await?.ok_or(StoreError::NotFound)?;
            let mut d = old.to_draft();
            d.name = name;
            d.serial = serial.or(d.serial);
            d.manufacturer = manufacturer.or(d.manufacturer);
            d.model = model.or(d.model);
            d.ip = ip.or(d.ip);
            d.mac = mac.or(d.mac);
            d.puk = None;
            let changes = assets::update_row(c, cipher, &old, &d).await?;
            (id, d, false, changes)
        }
        None => {
            let server = inv.os_name.as_deref().is_some_and(|o| o.to_lowercase().contains("server"));
            let d = AssetDraft {
                kind: if server { AssetKind::Server } else { AssetKind::Computer },
                entity_id: entity,
                name,
                asset_tag: None,
                serial,
                manufacturer,
                model,
                status: AssetStatus::InUse,
                location_id: None,
                assigned_user_id: None,
                purchase_date: None,
                warranty_end: None,
                supplier: None,
                comment: None,
                imei: None,
                iccid: None,
                puk: None,
                line_number: None,
                line_type: None,
                ip,
                mac,
            };
            let id = assets::create(c, &actor, cipher, &d).await?;
            (id, d, true, Vec::new())
        }
    };

    // A machine created just now has no inventory yet; one matched may have been entered by hand.
    let old = if created { None } else { computer_row(c, asset_id).await? };
    let hash = content_hash(inv);
    let unchanged = old.as_ref().is_some_and(|o| o.content_hash == hash && o.device_id == inv.device_id);
    let details = Details {
        cpus: to_values(&inv.cpus),
        memory_modules: to_values(&inv.memory_modules),
        disks: to_values(&inv.disks),
        volumes: to_values(&inv.volumes),
        printers: to_values(&inv.printers),
        monitors: to_values(&inv.monitors),
    };
    let old_details: Details = old.as_ref().and_then(|o| serde_json::from_str(&o.details).ok()).unwrap_or_default();
    let uuid = inv.uuid.as_deref().map(|u| clip(u, 100).to_lowercase()).filter(|u| !u.is_empty());
    let os_name = clip_opt(inv.os_name.as_deref(), 200);
    let os_version = clip_opt(inv.os_version.as_deref(), 100);
    let memory_mb = inv.memory_mb.map(|m| m.min(i64::MAX as u64) as i64);
    if let Some(o) = &old {
        let mut scalar = |field: &str, old: Option<String>, new: Option<String>| {
            if old != new {
                changes.push(FieldChange { field: field.into(), old, new });
            }
        };
        scalar(
            "os",
            os_label(o.os_name.as_deref(), o.os_version.as_deref()),
            os_label(os_name.as_deref(), os_version.as_deref()),
        );
        scalar("memory_mb", o.memory_mb.map(|m| m.to_string()), memory_mb.map(|m| m.to_string()));
        scalar("domain", o.domain.clone(), clip_opt(inv.domain.as_deref(), 200));
        scalar("uuid", o.uuid.clone(), uuid.clone());
        scalar("bios_version", o.bios_version.clone(), clip_opt(inv.bios_version.as_deref(), 100));
        scalar("agent_version", o.agent_version.clone(), clip_opt(inv.agent_version.as_deref(), 100));
        scalar("device_id", Some(o.device_id.clone()), Some(clip(&inv.device_id, 200)));
        if !inv.partial || !inv.cpus.is_empty() {
            changes.extend(rules::set_changes("cpu", &cpu_labels(&old_details.cpus), &cpu_labels(&details.cpus)));
        }
        if !inv.partial || !inv.disks.is_empty() {
            changes.extend(rules::set_changes("disk", &disk_labels(&old_details.disks), &disk_labels(&details.disks)));
        }
    }
    let details_json = serde_json::to_string(&details).unwrap_or_else(|_| "{}".into());
    let old_software = old.as_ref().map(|o| o.software.as_str());
    let (software_json, software_count) = if !unchanged && (!inv.partial || !inv.software.is_empty()) {
        store_software(c, asset_id, inv, old_software, &mut changes).await?
    } else {
        (old_software.unwrap_or("[]").to_owned(), 0)
    };
    let matched_rule = matched.map(|(_, r)| r.as_str()).unwrap_or("new");
    sqlx::query(
        "INSERT INTO inventory_computers (asset_id, device_id, uuid, domain, os_name, os_version, os_arch, bios_version, \
         bios_date, memory_mb, logged_user, agent, agent_version, tag, source_ip, matched_rule, details, content_hash, \
         software, first_inventory_at, last_inventory_at, last_contact_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $20, $20) \
         ON CONFLICT (asset_id) DO UPDATE SET device_id = excluded.device_id, uuid = excluded.uuid, \
         domain = excluded.domain, os_name = excluded.os_name, os_version = excluded.os_version, \
         os_arch = excluded.os_arch, bios_version = excluded.bios_version, bios_date = excluded.bios_date, \
         memory_mb = excluded.memory_mb, logged_user = excluded.logged_user, agent = excluded.agent, \
         agent_version = excluded.agent_version, tag = excluded.tag, source_ip = excluded.source_ip, \
         matched_rule = excluded.matched_rule, details = excluded.details, content_hash = excluded.content_hash, \
         software = excluded.software, last_inventory_at = excluded.last_inventory_at, last_contact_at = excluded.last_contact_at",
    )
    .bind(asset_id.0)
    .bind(clip(&inv.device_id, 200))
    .bind(&uuid)
    .bind(clip_opt(inv.domain.as_deref(), 200))
    .bind(&os_name)
    .bind(&os_version)
    .bind(clip_opt(inv.os_arch.as_deref(), 50))
    .bind(clip_opt(inv.bios_version.as_deref(), 100))
    .bind(clip_opt(inv.bios_date.as_deref(), 50))
    .bind(memory_mb)
    .bind(clip_opt(inv.logged_user.as_deref(), 200))
    .bind(clip_opt(src.agent.as_deref(), 200))
    .bind(clip_opt(inv.agent_version.as_deref(), 100))
    .bind(clip_opt(inv.tag.as_deref(), 200))
    .bind(&src.source_ip)
    .bind(matched_rule)
    .bind(details_json)
    .bind(&hash)
    .bind(&software_json)
    .bind(&t)
    .execute(&mut *c)
    .await?;

    if !unchanged {
        if !inv.partial || !inv.networks.is_empty() {
            store_networks(c, asset_id, inv, !created, old.is_some(), &mut changes).await?;
        }
        // Monitors are only reconciled when the agent's list changed: a technician who unplugs one
        // in Parc is not contradicted by every following inventory.
        if old.is_none() || old_details.monitors != details.monitors {
            store_monitors(c, &actor, cipher, asset_id, &host, inv).await?;
        }
    }
    let entity_now = (host.entity_id.0,);
    if created {
        let summary = [
            FieldChange { field: "device_id".into(), old: None, new: Some(clip(&inv.device_id, 200)) },
            FieldChange { field: "os".into(), old: None, new: os_label(os_name.as_deref(), os_version.as_deref()) },
            FieldChange { field: "software".into(), old: None, new: Some(format!("{software_count}")) },
        ];
        audit::record(
            c,
            &actor,
            ObjectType::Asset,
            asset_id.0,
            Some(EntityId(entity_now.0)),
            AuditAction::Inventory,
            &summary,
        )
        .await?;
    } else if !changes.is_empty() {
        audit::record(
            c,
            &actor,
            ObjectType::Asset,
            asset_id.0,
            Some(EntityId(entity_now.0)),
            AuditAction::Inventory,
            &changes,
        )
        .await?;
    }
    sqlx::query(
        "INSERT INTO inventory_imports (at, source_ip, device_id, name, agent, outcome, asset_id, entity_id, \
         matched_rule, entity_rule, error) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, NULL)",
    )
    .bind(&t)
    .bind(&src.source_ip)
    .bind(clip(&inv.device_id, 200))
    .bind(clip_opt(inv.name.as_deref(), 200))
    .bind(clip_opt(src.agent.as_deref(), 200))
    .bind(if created {
        "created"
    } else if unchanged {
        "unchanged"
    } else {
        "updated"
    })
    .bind(asset_id.0)
    .bind(entity_now.0)
    .bind(matched_rule)
    .bind(entity_rule.filter(|_| created).map(|r| r.to_string()))
    .execute(&mut *c)
    .await?;
    Ok(ImportOutcome {
        asset_id,
        created,
        matched_rule: matched.map(|(_, r)| r),
        entity_rule_id: entity_rule.filter(|_| created),
        changes: changes.len(),
    })
}

async fn store_networks(
    c: &mut AnyConnection,
    asset: AssetId,
    inv: &Inventory,
    may_have_rows: bool,
    had_inventory: bool,
    changes: &mut Vec<FieldChange>,
) -> Result<()> {
    let old: Vec<NetworkRow> = if !may_have_rows {
        Vec::new()
    } else {
        sqlx::query_as(
            "SELECT description, mac, ips, mask, subnet, vlan, is_virtual FROM inventory_networks \
         WHERE asset_id = $1 ORDER BY id",
        )
        .bind(asset.0)
        .fetch_all(&mut *c)
        .await?
    };
    if had_inventory {
        let old_ips: BTreeSet<String> = old
            .iter()
            .filter(|n| n.is_virtual == 0)
            .flat_map(|n| n.ips.split(' ').filter(|s| !s.is_empty()).map(str::to_owned))
            .collect();
        let old_ips: Vec<String> = old_ips.into_iter().collect();
        changes.extend(rules::set_changes("ip", &old_ips, &ip_labels(inv)));
    }
    let rows: Vec<NetworkRow> = inv
        .networks
        .iter()
        .take(200)
        .map(|n| NetworkRow {
            description: clip_opt(n.description.as_deref(), 200),
            mac: n.mac.clone(),
            ips: clip(&n.ips.join(" "), 2000),
            mask: clip_opt(n.mask.as_deref(), 50),
            subnet: clip_opt(n.subnet.as_deref(), 60),
            vlan: n.vlan.map(i64::from),
            is_virtual: i64::from(n.r#virtual),
        })
        .collect();
    if old == rows {
        return Ok(());
    }
    if !old.is_empty() {
        sqlx::query("DELETE FROM inventory_networks WHERE asset_id = $1").bind(asset.0).execute(&mut *c).await?;
    }
    for chunk in rows.chunks(100) {
        let mut sql = Sql::new(
            "INSERT INTO inventory_networks (asset_id, description, mac, ips, mask, subnet, vlan, is_virtual) VALUES ",
        );
        for (i, n) in chunk.iter().enumerate() {
            if i > 0 {
                sql.push(", ");
            }
            sql.push("(").bind_int(asset.0);
            sql.push(", ").bind_opt_text(n.description.clone());
            sql.push(", ").bind_opt_text(n.mac.clone());
            sql.push(", ").bind_text(n.ips.clone());
            sql.push(", ").bind_opt_text(n.mask.clone());
            sql.push(", ").bind_opt_text(n.subnet.clone());
            sql.push(", ").bind_opt_int(n.vlan);
            sql.push(", ").bind_int(n.is_virtual).push(")");
        }
        sql.execute(&mut *c).await?;
    }
    Ok(())
}

/// One stored installation, as kept in `inventory_computers.software`.
type StoredInstall = (i64, String, String, String, Option<String>);

fn is_postgres(c: &AnyConnection) -> bool {
    c.backend_name().eq_ignore_ascii_case("postgresql")
}

/// Replaces the machine's installed software by the inventory's, touching only what changed.
/// Returns the new stored list (JSON) and how many distinct installations the machine has.
///
/// Lists travel to the database as one JSON parameter and come back as one JSON row: a
/// 200-package inventory costs a handful of statements, not hundreds.
async fn store_software(
    c: &mut AnyConnection,
    asset: AssetId,
    inv: &Inventory,
    old_json: Option<&str>,
    changes: &mut Vec<FieldChange>,
) -> Result<(String, usize)> {
    let mut wanted: HashMap<SoftwareKey, Option<String>> = HashMap::new();
    for s in &inv.software {
        let name = clip(&s.name, 255);
        if name.is_empty() {
            continue;
        }
        let key = SoftwareKey {
            name,
            publisher: clip_opt(s.publisher.as_deref(), 255).unwrap_or_default(),
            version: clip_opt(s.version.as_deref(), 100).unwrap_or_default(),
        };
        wanted.entry(key).or_insert_with(|| clip_opt(s.install_date.as_deref(), 30));
    }
    let existing: Vec<StoredInstall> = old_json.and_then(|j| serde_json::from_str(j).ok()).unwrap_or_default();
    let have: HashMap<SoftwareKey, (i64, Option<String>)> = existing
        .into_iter()
        .map(|(id, name, publisher, version, date)| (SoftwareKey { name, publisher, version }, (id, date)))
        .collect();
    if old_json.is_some() {
        let old_keys: Vec<SoftwareKey> = have.keys().cloned().collect();
        let new_keys: Vec<SoftwareKey> = wanted.keys().cloned().collect();
        changes.extend(rules::software_changes(&old_keys, &new_keys));
    }
    let pg = is_postgres(c);
    let gone: Vec<i64> = have.iter().filter(|(k, _)| !wanted.contains_key(*k)).map(|(_, (id, _))| *id).collect();
    if !gone.is_empty() {
        let sql = if pg {
            "DELETE FROM software_installs WHERE asset_id = $1 \
             AND version_id IN (SELECT (json_array_elements_text($2::json))::bigint)"
        } else {
            "DELETE FROM software_installs WHERE asset_id = $1 AND version_id IN (SELECT value FROM json_each($2))"
        };
        sqlx::query(sql).bind(asset.0).bind(serde_json::to_string(&gone).unwrap_or_default()).execute(&mut *c).await?;
    }
    let mut new_keys: Vec<&SoftwareKey> = wanted.keys().filter(|k| !have.contains_key(*k)).collect();
    // One order for every transaction: concurrent imports on PostgreSQL never wait on each other in a cycle.
    new_keys.sort();
    let ids = version_ids(c, &new_keys).await?;
    let rows: Vec<(i64, Option<String>)> =
        new_keys.iter().zip(ids).map(|(k, id)| (id, wanted.get(*k).cloned().flatten())).collect();
    if !rows.is_empty() {
        let sql = if pg {
            "INSERT INTO software_installs (asset_id, version_id, install_date) \
             SELECT $1, (e->>0)::bigint, e->>1 FROM json_array_elements($2::json) e"
        } else {
            "INSERT INTO software_installs (asset_id, version_id, install_date) \
             SELECT $1, json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each($2)"
        };
        sqlx::query(sql).bind(asset.0).bind(serde_json::to_string(&rows).unwrap_or_default()).execute(&mut *c).await?;
    }
    let mut stored: Vec<StoredInstall> = Vec::with_capacity(wanted.len());
    for (k, (id, date)) in &have {
        if wanted.contains_key(k) {
            stored.push((*id, k.name.clone(), k.publisher.clone(), k.version.clone(), date.clone()));
        }
    }
    for (k, (id, date)) in new_keys.iter().zip(rows) {
        stored.push((id, k.name.clone(), k.publisher.clone(), k.version.clone(), date));
    }
    stored.sort_by(|a, b| (&a.1, &a.2, &a.3).cmp(&(&b.1, &b.2, &b.3)));
    Ok((serde_json::to_string(&stored).unwrap_or_else(|_| "[]".into()), wanted.len()))
}

type CatalogueRow = (i64, String, String, Option<i64>, Option<String>);

/// Every product named in `names` (JSON array) with each of its versions, in one row.
async fn catalogue_lookup(c: &mut AnyConnection, names: &str) -> Result<Vec<CatalogueRow>> {
    let sql = if is_postgres(c) {
        "SELECT COALESCE(json_agg(json_build_array(s.id, s.name, s.publisher, v.id, v.version)), '[]')::text \
         FROM software s LEFT JOIN software_versions v ON v.software_id = s.id \
         WHERE s.name IN (SELECT json_array_elements_text($1::json))"
    } else {
        "SELECT json_group_array(json_array(s.id, s.name, s.publisher, v.id, v.version)) \
         FROM software s LEFT JOIN software_versions v ON v.software_id = s.id \
         WHERE s.name IN (SELECT value FROM json_each($1))"
    };
    let (json,): (String,) = sqlx::query_as(sql).bind(names).fetch_one(&mut *c).await?;
    serde_json::from_str(&json).map_err(|e| StoreError::Config(format!("software catalogue lookup: {e}")))
}

/// The catalogue ids of these (sorted) versions, creating the missing products and versions
/// in bulk: at most five statements whatever the number of packages.
async fn version_ids(c: &mut AnyConnection, keys: &[&SoftwareKey]) -> Result<Vec<i64>> {
    if keys.is_empty() {
        return Ok(Vec::new());
    }
    let pg = is_postgres(c);
    let names: BTreeSet<&str> = keys.iter().map(|k| k.name.as_str()).collect();
    let names = serde_json::to_string(&names).unwrap_or_default();
    let mut rows = catalogue_lookup(c, &names).await?;
    let products = |rows: &[CatalogueRow]| -> HashMap<(String, String), i64> {
        rows.iter().map(|(sid, n, p, _, _)| ((n.clone(), p.clone()), *sid)).collect()
    };
    let known = |rows: &[CatalogueRow]| -> HashMap<(String, String, String), i64> {
        rows.iter().filter_map(|(_, n, p, vid, v)| Some(((n.clone(), p.clone(), v.clone()?), (*vid)?))).collect()
    };
    let have = products(&rows);
    let missing_products: BTreeSet<(&str, &str)> = keys
        .iter()
        .filter(|k| !have.contains_key(&(k.name.clone(), k.publisher.clone())))
        .map(|k| (k.name.as_str(), k.publisher.as_str()))
        .collect();
    if !missing_products.is_empty() {
        let sql = if pg {
            "INSERT INTO software (name, publisher) SELECT e->>0, e->>1 FROM json_array_elements($1::json) e \
             ON CONFLICT (name, publisher) DO NOTHING"
        } else {
            "INSERT INTO software (name, publisher) SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') \
             FROM json_each($1) WHERE true ON CONFLICT (name, publisher) DO NOTHING"
        };
        sqlx::query(sql).bind(serde_json::to_string(&missing_products).unwrap_or_default()).execute(&mut *c).await?;
        rows = catalogue_lookup(c, &names).await?;
    }
    let have = products(&rows);
    let versions = known(&rows);
    let mut missing_versions: Vec<(i64, &str)> = keys
        .iter()
        .filter(|k| !versions.contains_key(&(k.name.clone(), k.publisher.clone(), k.version.clone())))
        .filter_map(|k| Some((*have.get(&(k.name.clone(), k.publisher.clone()))?, k.version.as_str())))
        .collect();
    missing_versions.sort();
    missing_versions.dedup();
    if !missing_versions.is_empty() {
        let sql = if pg {
            "INSERT INTO software_versions (software_id, version) SELECT (e->>0)::bigint, e->>1 \
             FROM json_array_elements($1::json) e ON CONFLICT (software_id, version) DO NOTHING"
        } else {
            "INSERT INTO software_versions (software_id, version) \
             SELECT json_extract(value, '$[0]'), json_extract(value, '$[1]') FROM json_each($1) WHERE true \
             ON CONFLICT (software_id, version) DO NOTHING"
        };
        sqlx::query(sql).bind(serde_json::to_string(&missing_versions).unwrap_or_default()).execute(&mut *c).await?;
        rows = catalogue_lookup(c, &names).await?;
    }
    let versions = known(&rows);
    keys.iter()
        .map(|k| {
            versions.get(&(k.name.clone(), k.publisher.clone(), k.version.clone())).copied().ok_or_else(|| {
                StoreError::Config(format!(
                    "software '{}' {} missing from the catalogue after insert",
                    k.name, k.version
                ))
            })
        })
        .collect()
}

/// Monitors with a real serial become monitor assets linked to the computer (found again by
/// serial, and moved to this computer when they were plugged elsewhere).
async fn store_monitors(
    c: &mut AnyConnection,
    actor: &Actor,
    cipher: &Cipher,
    computer: AssetId,
    host: &AssetDraft,
    inv: &Inventory,
) -> Result<()> {
    for m in &inv.monitors {
        let Some(serial) = m.serial.as_deref().map(str::trim).filter(|s| !is_junk_serial(s)) else { continue };
        let serial = clip(serial, 100);
        let found: Option<(i64, Option<i64>)> = sqlx::query_as(
            "SELECT a.id, l.to_asset_id FROM assets a \
             LEFT JOIN asset_links l ON l.from_asset_id = a.id AND l.kind = 'monitor_on' \
             WHERE a.kind = 'monitor' AND a.serial = $1 ORDER BY a.id LIMIT 1",
        )
        .bind(&serial)
        .fetch_optional(&mut *c)
        .await?;
        match found {
            Some((_, Some(to))) if to == computer.0 => {}
            Some((id, _)) => {
                // Plugged elsewhere before, or unlinked: move it here (the previous link is audited).
                let monitor = assets::get(c, AssetId(id)).await?.ok_or(StoreError::NotFound)?;
                let host = assets::get(c, computer).await?.ok_or(StoreError::NotFound)?;
                assets::link(c, actor, &monitor, &host).await?;
            }
            None => {
                let manufacturer = clip_opt(m.manufacturer.as_deref(), 100);
                let model = clip_opt(m.model.as_deref(), 100);
                let name =
                    [manufacturer.as_deref(), model.as_deref()].into_iter().flatten().collect::<Vec<_>>().join(" ");
                let d = AssetDraft {
                    kind: AssetKind::Monitor,
                    entity_id: host.entity_id,
                    name: if name.is_empty() { format!("Monitor {serial}") } else { clip(&name, 200) },
                    asset_tag: None,
                    serial: Some(serial.clone()),
                    manufacturer,
                    model,
                    status: AssetStatus::InUse,
                    location_id: host.location_id,
                    assigned_user_id: host.assigned_user_id,
                    purchase_date: None,
                    warranty_end: None,
                    supplier: None,
                    comment: None,
                    imei: None,
                    iccid: None,
                    puk: None,
                    line_number: None,
                    line_type: None,
                    ip: None,
                    mac: None,
                };
                let id = assets::create(c, actor, cipher, &d).await?;
                let kind = parc_core::assets::LinkKind::MonitorOn;
                assets::insert_link(c, actor, kind, (id, host.entity_id), (computer, host.entity_id)).await?;
            }
        }
    }
    Ok(())
}

/// Records a refused import in its own transaction (the inventory's own one was rolled back).
pub async fn record_rejection(
    c: &mut AnyConnection,
    src: &ImportSource,
    device_id: Option<&str>,
    name: Option<&str>,
    error: &str,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO inventory_imports (at, source_ip, device_id, name, agent, outcome, error) \
         VALUES ($1, $2, $3, $4, $5, 'rejected', $6)",
    )
    .bind(now())
    .bind(&src.source_ip)
    .bind(clip_opt(device_id, 200))
    .bind(clip_opt(name, 200))
    .bind(clip_opt(src.agent.as_deref(), 200))
    .bind(clip(error, 1000))
    .execute(c)
    .await?;
    Ok(())
}

/// Notes that an agent asked in (PROLOG / contact) without sending an inventory.
pub async fn touch_contact(c: &mut AnyConnection, device_id: &str) -> Result<()> {
    sqlx::query("UPDATE inventory_computers SET last_contact_at = $1 WHERE device_id = $2")
        .bind(now())
        .bind(clip(device_id, 200))
        .execute(c)
        .await?;
    Ok(())
}

/// Totals, for the benchmark and the inventory page.
#[derive(Debug, Clone, Default, Serialize, utoipa::ToSchema)]
pub struct InventoryStats {
    pub computers: i64,
    pub installs: i64,
    pub software: i64,
    pub versions: i64,
    pub rejected: i64,
}

pub async fn stats(c: &mut AnyConnection) -> Result<InventoryStats> {
    let (computers, installs, software, versions, rejected): (i64, i64, i64, i64, i64) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM inventory_computers), (SELECT COUNT(*) FROM software_installs), \
         (SELECT COUNT(*) FROM software), (SELECT COUNT(*) FROM software_versions), \
         (SELECT COUNT(*) FROM inventory_imports WHERE outcome = 'rejected')",
    )
    .fetch_one(c)
    .await?;
    Ok(InventoryStats { computers, installs, software, versions, rejected })
}

/// How many machines have this exact version of a product (any publisher).
pub async fn software_installs_of_version(c: &mut AnyConnection, name: &str, version: &str) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "SELECT COUNT(*) FROM software_installs i JOIN software_versions v ON v.id = i.version_id \
         JOIN software s ON s.id = v.software_id WHERE s.name = $1 AND v.version = $2",
    )
    .bind(name)
    .bind(version)
    .fetch_one(c)
    .await?;
    Ok(n)
}

/// What an agent reported about one machine, for its page and the API.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct ComputerInventory {
    pub asset_id: i64,
    pub device_id: String,
    pub uuid: Option<String>,
    pub domain: Option<String>,
    pub os_name: Option<String>,
    pub os_version: Option<String>,
    pub os_arch: Option<String>,
    pub bios_version: Option<String>,
    pub bios_date: Option<String>,
    pub memory_mb: Option<i64>,
    pub logged_user: Option<String>,
    pub agent: Option<String>,
    pub agent_version: Option<String>,
    pub tag: Option<String>,
    pub source_ip: Option<String>,
    pub matched_rule: String,
    pub first_inventory_at: String,
    pub last_inventory_at: String,
    pub last_contact_at: String,
    #[schema(value_type = Vec<Object>)]
    pub cpus: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub memory_modules: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub disks: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub volumes: Vec<serde_json::Value>,
    #[schema(value_type = Vec<Object>)]
    pub printers: Vec<serde_json::Value>,
    pub networks: Vec<NetworkRow>,
    pub software: Vec<InstalledSoftware>,
}

#[derive(Debug, Clone, PartialEq, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct NetworkRow {
    pub description: Option<String>,
    pub mac: Option<String>,
    /// Space-separated addresses.
    pub ips: String,
    pub mask: Option<String>,
    pub subnet: Option<String>,
    pub vlan: Option<i64>,
    pub is_virtual: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct InstalledSoftware {
    pub software_id: i64,
    pub name: String,
    pub publisher: String,
    pub version: String,
    pub install_date: Option<String>,
}

impl ComputerInventory {
    /// The operating system as one label.
    pub fn os(&self) -> Option<String> {
        os_label(self.os_name.as_deref(), self.os_version.as_deref())
    }
}

/// The machine's inventory, if an agent ever reported it.
pub async fn computer(c: &mut AnyConnection, asset: AssetId) -> Result<Option<ComputerInventory>> {
    let Some(r) = computer_row(c, asset).await? else { return Ok(None) };
    let networks: Vec<NetworkRow> = sqlx::query_as(
        "SELECT description, mac, ips, mask, subnet, vlan, is_virtual FROM inventory_networks \
         WHERE asset_id = $1 ORDER BY is_virtual, id",
    )
    .bind(asset.0)
    .fetch_all(&mut *c)
    .await?;
    let software: Vec<InstalledSoftware> = sqlx::query_as(
        "SELECT s.id AS software_id, s.name, s.publisher, v.version, i.install_date FROM software_installs i \
         JOIN software_versions v ON v.id = i.version_id JOIN software s ON s.id = v.software_id \
         WHERE i.asset_id = $1 ORDER BY lower(s.name), v.version",
    )
    .bind(asset.0)
    .fetch_all(&mut *c)
    .await?;
    let d: Details = serde_json::from_str(&r.details).unwrap_or_default();
    Ok(Some(ComputerInventory {
        asset_id: asset.0,
        device_id: r.device_id,
        uuid: r.uuid,
        domain: r.domain,
        os_name: r.os_name,
        os_version: r.os_version,
        os_arch: r.os_arch,
        bios_version: r.bios_version,
        bios_date: r.bios_date,
        memory_mb: r.memory_mb,
        logged_user: r.logged_user,
        agent: r.agent,
        agent_version: r.agent_version,
        tag: r.tag,
        source_ip: r.source_ip,
        matched_rule: r.matched_rule,
        first_inventory_at: r.first_inventory_at,
        last_inventory_at: r.last_inventory_at,
        last_contact_at: r.last_contact_at,
        cpus: d.cpus,
        memory_modules: d.memory_modules,
        disks: d.disks,
        volumes: d.volumes,
        printers: d.printers,
        networks,
        software,
    }))
}

/// One machine an agent reports, for the inventory page.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct AgentRow {
    pub asset_id: i64,
    pub name: String,
    pub entity_id: i64,
    pub device_id: String,
    pub agent: Option<String>,
    pub agent_version: Option<String>,
    pub source_ip: Option<String>,
    pub os_name: Option<String>,
    pub last_inventory_at: String,
    pub last_contact_at: String,
}

/// Machines reported by agents in scope, the longest silent first; `stale_before` keeps only
/// those whose last contact is older.
pub async fn agents(
    c: &mut AnyConnection,
    scope: &Scope,
    me: UserId,
    stale_before: Option<&str>,
    page: u32,
    per_page: u32,
) -> Result<Page<AgentRow>> {
    let mut filter = Sql::new(" FROM inventory_computers ic JOIN assets a ON a.id = ic.asset_id WHERE ");
    assets::push_scope(&mut filter, scope, me);
    if let Some(t) = stale_before {
        filter.push(" AND ic.last_contact_at < ").bind_text(t);
    }
    let select = "SELECT a.id AS asset_id, a.name, a.entity_id, ic.device_id, ic.agent, ic.agent_version, \
         ic.source_ip, ic.os_name, ic.last_inventory_at, ic.last_contact_at";
    paged(c, ("COUNT(*)", select), &filter, " ORDER BY ic.last_contact_at, a.id", page, per_page).await
}

/// One page of `select` + `filter` + `tail` (ordering), with the total that `count` over the same
/// filter gives.
async fn paged<T>(
    c: &mut AnyConnection,
    (count, select): (&str, &str),
    filter: &Sql,
    tail: &str,
    page: u32,
    per_page: u32,
) -> Result<Page<T>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow> + Send + Unpin,
{
    let mut count_sql = Sql::new(&format!("SELECT {count}"));
    count_sql.append(filter);
    let (total,): (i64,) = count_sql.query_as().fetch_one(&mut *c).await?;
    let mut q = Sql::new(select);
    q.append(filter);
    q.push(tail).push(" LIMIT ").bind_int(i64::from(per_page));
    q.push(" OFFSET ").bind_int(i64::from(page.saturating_sub(1)) * i64::from(per_page));
    let items: Vec<T> = q.query_as().fetch_all(&mut *c).await?;
    Ok(Page { items, total, page, per_page })
}

/// One line of the import log.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ImportRow {
    pub id: i64,
    pub at: String,
    pub source_ip: Option<String>,
    pub device_id: Option<String>,
    pub name: Option<String>,
    pub agent: Option<String>,
    pub outcome: String,
    pub asset_id: Option<i64>,
    pub entity_id: Option<i64>,
    pub matched_rule: Option<String>,
    pub entity_rule: Option<String>,
    pub error: Option<String>,
}

const IMPORT_COLUMNS: &str =
    "id, at, source_ip, device_id, name, agent, outcome, asset_id, entity_id, matched_rule, entity_rule, error";

/// The latest imports, newest first: refused ones (no entity) when `rejected`, else the
/// accepted ones of the given entities.
pub async fn imports(c: &mut AnyConnection, rejected: bool, entities: &[i64], limit: i64) -> Result<Vec<ImportRow>> {
    let mut q = Sql::new(&format!("SELECT {IMPORT_COLUMNS} FROM inventory_imports WHERE "));
    if rejected {
        q.push("outcome = 'rejected'");
    } else {
        q.push("outcome <> 'rejected' AND ");
        q.in_ints("entity_id", entities.iter().copied());
    }
    q.push(" ORDER BY id DESC LIMIT ").bind_int(limit);
    Ok(q.query_as().fetch_all(c).await?)
}

/// The imports of one machine, newest first.
pub async fn imports_of(c: &mut AnyConnection, asset: AssetId, limit: i64) -> Result<Vec<ImportRow>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {IMPORT_COLUMNS} FROM inventory_imports WHERE asset_id = $1 ORDER BY id DESC LIMIT $2"
    ))
    .bind(asset.0)
    .bind(limit)
    .fetch_all(c)
    .await?)
}

/// A product of the catalogue with its installations in scope.
#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct SoftwareSummary {
    pub id: i64,
    pub name: String,
    pub publisher: String,
    pub versions: i64,
    pub installs: i64,
}

/// The software catalogue as seen from a scope: products installed on at least one machine in
/// scope, by name, with how many versions and installations.
pub async fn software_page(
    c: &mut AnyConnection,
    scope: &Scope,
    me: UserId,
    text: Option<&str>,
    page: u32,
    per_page: u32,
) -> Result<Page<SoftwareSummary>> {
    let mut filter = Sql::new(
        " FROM software s JOIN software_versions v ON v.software_id = s.id \
         JOIN software_installs i ON i.version_id = v.id JOIN assets a ON a.id = i.asset_id WHERE ",
    );
    assets::push_scope(&mut filter, scope, me);
    if let Some(t) = text.map(str::trim).filter(|t| !t.is_empty()) {
        filter
            .push(" AND (lower(s.name) LIKE ")
            .bind_text(format!("%{}%", assets::escape_like(&t.to_lowercase())))
            .push(" ESCAPE '\\' OR lower(s.publisher) LIKE ")
            .bind_text(format!("%{}%", assets::escape_like(&t.to_lowercase())))
            .push(" ESCAPE '\\')");
    }
    let select = "SELECT s.id, s.name, s.publisher, COUNT(DISTINCT v.id) AS versions, COUNT(*) AS installs";
    let tail = " GROUP BY s.id, s.name, s.publisher ORDER BY lower(s.name), s.id";
    paged(c, ("COUNT(DISTINCT s.id)", select), &filter, tail, page, per_page).await
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct VersionCount {
    pub version_id: i64,
    pub version: String,
    pub installs: i64,
}

#[derive(Debug, Clone, Serialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct Installation {
    pub asset_id: i64,
    pub name: String,
    pub version: String,
    pub install_date: Option<String>,
}

/// One product: its versions with counts and the machines that have it, in scope.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct SoftwareDetail {
    pub id: i64,
    pub name: String,
    pub publisher: String,
    pub versions: Vec<VersionCount>,
    pub installations: Vec<Installation>,
    pub total_installations: i64,
}

pub async fn software_detail(
    c: &mut AnyConnection,
    scope: &Scope,
    me: UserId,
    id: i64,
    limit: i64,
) -> Result<Option<SoftwareDetail>> {
    let row: Option<(String, String)> =
        sqlx::query_as("SELECT name, publisher FROM software WHERE id = $1").bind(id).fetch_optional(&mut *c).await?;
    let Some((name, publisher)) = row else { return Ok(None) };
    let mut filter = Sql::new(
        " FROM software_versions v JOIN software_installs i ON i.version_id = v.id \
         JOIN assets a ON a.id = i.asset_id WHERE v.software_id = ",
    );
    filter.bind_int(id).push(" AND ");
    assets::push_scope(&mut filter, scope, me);
    let mut vq = Sql::new("SELECT v.id AS version_id, v.version, COUNT(*) AS installs");
    vq.append(&filter);
    vq.push(" GROUP BY v.id, v.version ORDER BY v.version");
    let versions: Vec<VersionCount> = vq.query_as().fetch_all(&mut *c).await?;
    if versions.is_empty() {
        return Ok(None);
    }
    let total_installations = versions.iter().map(|v| v.installs).sum();
    let mut iq = Sql::new("SELECT a.id AS asset_id, a.name, v.version, i.install_date");
    iq.append(&filter);
    iq.push(" ORDER BY lower(a.name), a.id LIMIT ").bind_int(limit);
    let installations: Vec<Installation> = iq.query_as().fetch_all(&mut *c).await?;
    Ok(Some(SoftwareDetail { id, name, publisher, versions, installations, total_installations }))
}

/// Whether an asset (seen through `scope`) is one an agent feeds — used by pages to show the section.
pub fn is_machine(asset: &Asset) -> bool {
    matches!(asset.kind, AssetKind::Computer | AssetKind::Server)
}
