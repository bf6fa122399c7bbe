//! Monitoring configuration: monitored hosts (usually assets with an address), their checks
//! (the host check and the services), parents, dependencies and templates.
//!
//! Every host has exactly one host check (a `monitor_services` row with `is_host = 1`, whose
//! state is UP, DOWN or UNREACHABLE) and any number of services (OK, WARNING, CRITICAL,
//! UNKNOWN). Both are scheduled the same way ([`schedule`]). A configuration change bumps the
//! row's `config_version` (so schedulers reload what they cached) and never touches the state
//! columns: editing a check does not reset a running problem.

pub mod alerts;
pub mod bulk;
pub mod pollers;
pub mod schedule;
pub mod status;

use crate::sql::Sql;
use crate::{audit, now, Actor, Result, StoreError};
use parc_core::audit::{creation, diff, AuditAction, ObjectType};
use parc_core::monitoring::check::CheckDefinition;
use parc_core::monitoring::templates::{self, ServiceTemplate};
use parc_core::validate::{check_text, clean, ValidationErrors};
use parc_core::{AssetId, EntityId, GroupId, HostId, PollerId, ServiceId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

/// Longest check interval accepted (a day), in seconds.
const MAX_INTERVAL_S: i64 = 86_400;
/// Longest plugin timeout accepted, in seconds.
const MAX_TIMEOUT_S: i64 = 600;
/// Most attempts before a problem is HARD.
const MAX_ATTEMPTS: i64 = 20;

/// A monitored host as pages and the API show it (its host check's state included).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Host {
    pub id: HostId,
    pub entity_id: EntityId,
    pub asset_id: Option<AssetId>,
    pub name: String,
    /// What a non-technician reads on the status wall.
    pub display_name: Option<String>,
    pub address: String,
    /// The status wall's tile group (a site, a building).
    pub wall_group: Option<String>,
    pub poller_id: Option<PollerId>,
    /// Who gets this host's alerts (a group of users).
    pub contact_group_id: Option<GroupId>,
    /// Added to the recipients from notification number `escalate_after` on.
    pub escalation_group_id: Option<GroupId>,
    pub escalate_after: Option<i64>,
    /// When notifications may go out (`mon-fri 08:00-18:00`); always when empty.
    pub notification_period: Option<String>,
    /// Minutes between re-notifications of a problem that lasts; 0 = notify once.
    pub renotify_interval_min: i64,
    /// Open a helpdesk ticket on a HARD CRITICAL/DOWN, add a follow-up on recovery.
    pub open_tickets: bool,
    pub enabled: bool,
    pub comment: Option<String>,
    pub parents: Vec<HostId>,
    /// The host check's id and current state (UP, DOWN, UNREACHABLE or PENDING).
    pub check_id: ServiceId,
    pub state: String,
    pub created_at: String,
    pub updated_at: String,
}

/// A check's configuration (host check or service).
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Service {
    pub id: ServiceId,
    pub host_id: HostId,
    pub entity_id: EntityId,
    /// The host check (UP/DOWN/UNREACHABLE) rather than a service.
    pub is_host: bool,
    pub name: String,
    pub check: CheckDefinition,
    pub check_interval_s: i64,
    pub retry_interval_s: i64,
    pub max_attempts: i64,
    pub timeout_s: i64,
    /// Active checks run on schedule; passive results are accepted either way.
    pub enabled: bool,
    pub notifications_enabled: bool,
    /// Services whose HARD failure holds this one's notifications.
    pub depends_on: Vec<ServiceId>,
    pub created_at: String,
    pub updated_at: String,
}

/// What a form or the API sends to create or change a host. Missing fields keep their value on
/// update.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HostInput {
    pub entity_id: Option<i64>,
    /// Monitor this asset: name and address default to the asset's.
    pub asset_id: Option<i64>,
    pub name: Option<String>,
    pub display_name: Option<String>,
    pub address: Option<String>,
    pub wall_group: Option<String>,
    /// Absent: kept; `null`: removed (the central nodes run the checks).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub poller_id: Option<Option<i64>>,
    /// Absent: kept; `null`: removed (alerts go to the entity's technicians).
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub contact_group_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub escalation_group_id: Option<Option<i64>>,
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<i64>)]
    pub escalate_after: Option<Option<i64>>,
    pub notification_period: Option<String>,
    pub renotify_interval_min: Option<i64>,
    pub open_tickets: Option<bool>,
    pub enabled: Option<bool>,
    pub comment: Option<String>,
    /// Replaces the parents (hosts this one is reached through).
    pub parents: Option<Vec<i64>>,
    /// The host check; a ping when creating without one.
    pub host_check: Option<CheckDefinition>,
    /// A built-in template whose services are added on creation ("linux_server", ...).
    pub template: Option<String>,
}

/// What a form or the API sends to create or change a check.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceInput {
    pub name: Option<String>,
    pub check: Option<CheckDefinition>,
    pub check_interval_s: Option<i64>,
    pub retry_interval_s: Option<i64>,
    pub max_attempts: Option<i64>,
    pub timeout_s: Option<i64>,
    pub enabled: Option<bool>,
    pub notifications_enabled: Option<bool>,
    pub depends_on: Option<Vec<i64>>,
}

/// Reads a field that may be absent (`None`, keep), `null` (`Some(None)`, clear) or a value.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

#[derive(sqlx::FromRow)]
struct HostRow {
    id: i64,
    entity_id: i64,
    asset_id: Option<i64>,
    name: String,
    display_name: Option<String>,
    address: String,
    wall_group: Option<String>,
    poller_id: Option<i64>,
    contact_group_id: Option<i64>,
    escalation_group_id: Option<i64>,
    escalate_after: Option<i64>,
    notification_period: Option<String>,
    renotify_interval_s: i64,
    open_tickets: i64,
    enabled: i64,
    comment: Option<String>,
    check_id: i64,
    state: String,
    created_at: String,
    updated_at: String,
}

const HOST_SELECT: &str = "SELECT h.id, h.entity_id, h.asset_id, h.name, h.display_name, h.address, h.wall_group, \
     h.poller_id, h.contact_group_id, h.escalation_group_id, h.escalate_after, h.notification_period, \
     h.renotify_interval_s, h.open_tickets, h.enabled, h.comment, s.id AS check_id, s.state, h.created_at, h.updated_at \
     FROM monitor_hosts h JOIN monitor_services s ON s.host_id = h.id AND s.is_host = 1";

impl HostRow {
    fn into_host(self, parents: Vec<HostId>) -> Host {
        Host {
            id: HostId(self.id),
            entity_id: EntityId(self.entity_id),
            asset_id: self.asset_id.map(AssetId),
            name: self.name,
            display_name: self.display_name,
            address: self.address,
            wall_group: self.wall_group,
            poller_id: self.poller_id.map(PollerId),
            contact_group_id: self.contact_group_id.map(GroupId),
            escalation_group_id: self.escalation_group_id.map(GroupId),
            escalate_after: self.escalate_after,
            notification_period: self.notification_period,
            renotify_interval_min: self.renotify_interval_s / 60,
            open_tickets: self.open_tickets != 0,
            enabled: self.enabled != 0,
            comment: self.comment,
            parents,
            check_id: ServiceId(self.check_id),
            state: self.state,
            created_at: self.created_at,
            updated_at: self.updated_at,
        }
    }
}

async fn parents_of(c: &mut AnyConnection, host: HostId) -> Result<Vec<HostId>> {
    let rows: Vec<(i64,)> =
        sqlx::query_as("SELECT parent_id FROM monitor_host_parents WHERE host_id = $1 ORDER BY parent_id")
            .bind(host.0)
            .fetch_all(c)
            .await?;
    Ok(rows.into_iter().map(|r| HostId(r.0)).collect())
}

pub async fn host(c: &mut AnyConnection, id: HostId) -> Result<Option<Host>> {
    let row: Option<HostRow> =
        sqlx::query_as(&format!("{HOST_SELECT} WHERE h.id = $1")).bind(id.0).fetch_optional(&mut *c).await?;
    match row {
        Some(r) => {
            let parents = parents_of(c, id).await?;
            Ok(Some(r.into_host(parents)))
        }
        None => Ok(None),
    }
}

/// The host that monitors an asset, if any.
pub async fn host_of_asset(c: &mut AnyConnection, asset: AssetId) -> Result<Option<Host>> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT id FROM monitor_hosts WHERE asset_id = $1")
        .bind(asset.0)
        .fetch_optional(&mut *c)
        .await?;
    match row {
        Some((id,)) => host(c, HostId(id)).await,
        None => Ok(None),
    }
}

/// Hosts of some entities, by name (parents not loaded: see [`host`]).
pub async fn hosts(c: &mut AnyConnection, entities: &[i64]) -> Result<Vec<Host>> {
    let mut sql = Sql::new(HOST_SELECT);
    sql.push(" WHERE ").in_ints("h.entity_id", entities.iter().copied()).push(" ORDER BY lower(h.name), h.id");
    let rows: Vec<HostRow> = sql.query_as().fetch_all(c).await?;
    Ok(rows.into_iter().map(|r| r.into_host(Vec::new())).collect())
}

fn host_fields(h: &Host) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("name", Some(h.name.clone())),
        ("display_name", h.display_name.clone()),
        ("address", Some(h.address.clone())),
        ("asset_id", h.asset_id.map(|a| a.to_string())),
        ("wall_group", h.wall_group.clone()),
        ("poller_id", h.poller_id.map(|p| p.to_string())),
        ("contact_group_id", h.contact_group_id.map(|g| g.to_string())),
        ("escalation_group_id", h.escalation_group_id.map(|g| g.to_string())),
        ("escalate_after", h.escalate_after.map(|n| n.to_string())),
        ("notification_period", h.notification_period.clone()),
        ("renotify_interval_min", Some(h.renotify_interval_min.to_string())),
        ("open_tickets", Some(h.open_tickets.to_string())),
        ("enabled", Some(h.enabled.to_string())),
        ("comment", h.comment.clone()),
        ("parents", Some(h.parents.iter().map(|p| p.to_string()).collect::<Vec<_>>().join(","))),
    ]
}

/// A host address: an IP address or a DNS name, nothing a plugin could take for an option.
pub fn check_address(e: &mut ValidationErrors, field: &str, address: &str) {
    let ok = address.parse::<std::net::IpAddr>().is_ok()
        || (address.len() <= 253
            && !address.starts_with('-')
            && !address.starts_with('.')
            && address.split('.').all(|l| {
                !l.is_empty()
                    && l.len() <= 63
                    && l.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_')
            }));
    if !ok {
        e.add(field, "monitor_address_invalid", "must be an IP address or a host name");
    }
}

/// The validated values of a host input, with `old` for what is missing.
struct HostValues {
    entity: EntityId,
    asset: Option<AssetId>,
    name: String,
    display_name: Option<String>,
    address: String,
    wall_group: Option<String>,
    poller: Option<i64>,
    contact_group: Option<i64>,
    escalation_group: Option<i64>,
    escalate_after: Option<i64>,
    period: Option<String>,
    renotify_s: i64,
    open_tickets: bool,
    enabled: bool,
    comment: Option<String>,
    parents: Vec<i64>,
}

fn keep<T: Clone>(new: Option<T>, old: Option<T>) -> Option<T> {
    new.or(old)
}

async fn check_host(c: &mut AnyConnection, i: &HostInput, old: Option<&Host>) -> Result<HostValues> {
    let mut e = ValidationErrors::new();
    for (field, value, max, multi) in [
        ("name", &i.name, 200, false),
        ("display_name", &i.display_name, 200, false),
        ("wall_group", &i.wall_group, 100, false),
        ("comment", &i.comment, 5000, true),
    ] {
        check_text(&mut e, field, value.as_deref(), max, multi);
    }
    // Name and address default to the asset's.
    let mut asset_defaults: Option<(i64, String, Option<String>)> = None;
    if let Some(a) = i.asset_id {
        if old.is_some_and(|o| o.asset_id != Some(AssetId(a))) {
            e.add("asset_id", "immutable", "a host stays on its asset");
        }
        let row: Option<(i64, String, Option<String>)> =
            sqlx::query_as("SELECT entity_id, name, ip FROM assets WHERE id = $1")
                .bind(a)
                .fetch_optional(&mut *c)
                .await?;
        match row {
            Some(r) => asset_defaults = Some(r),
            None => e.add("asset_id", "not_found", "is not an asset"),
        }
    }
    let entity = i.entity_id.or(asset_defaults.as_ref().map(|a| a.0)).map(EntityId).or(old.map(|o| o.entity_id));
    match (entity, &asset_defaults) {
        (None, _) => e.add("entity_id", "required", "is required"),
        (Some(ent), Some(a)) if ent.0 != a.0 => {
            e.add("entity_id", "monitor_asset_entity", "must be the asset's entity")
        }
        (Some(ent), _) if old.is_some_and(|o| o.entity_id != ent) => {
            e.add("entity_id", "immutable", "a host stays in its entity")
        }
        _ => {}
    }
    let name = clean(i.name.as_deref())
        .or_else(|| asset_defaults.as_ref().map(|a| a.1.clone()))
        .or_else(|| old.map(|o| o.name.clone()));
    if name.is_none() {
        e.add("name", "required", "is required");
    }
    let address = clean(i.address.as_deref())
        .or_else(|| asset_defaults.as_ref().and_then(|a| a.2.clone()))
        .or_else(|| old.map(|o| o.address.clone()));
    match &address {
        None => e.add("address", "required", "is required (the asset has no IP address)"),
        Some(a) => check_address(&mut e, "address", a),
    }
    let period = if i.notification_period.is_some() {
        clean(i.notification_period.as_deref())
    } else {
        old.and_then(|o| o.notification_period.clone())
    };
    if let Some(p) = &period {
        if let Err(err) = p.parse::<parc_core::monitoring::timeperiod::TimePeriod>() {
            e.add("notification_period", "monitor_period_invalid", err.to_string());
        }
    }
    let renotify_min = i.renotify_interval_min.or(old.map(|o| o.renotify_interval_min)).unwrap_or(0);
    if !(0..=10_080).contains(&renotify_min) {
        e.add("renotify_interval_min", "out_of_range", "must be between 0 and 10080 minutes");
    }
    let escalate_after = keep(i.escalate_after, old.map(|o| o.escalate_after)).flatten();
    if escalate_after.is_some_and(|n| !(1..=1000).contains(&n)) {
        e.add("escalate_after", "out_of_range", "must be between 1 and 1000");
    }
    let contact_group = keep(i.contact_group_id, old.map(|o| o.contact_group_id.map(|g| g.0))).flatten();
    let escalation_group = keep(i.escalation_group_id, old.map(|o| o.escalation_group_id.map(|g| g.0))).flatten();
    for (field, group) in [("contact_group_id", contact_group), ("escalation_group_id", escalation_group)] {
        if let Some(g) = group {
            let found: Option<(i64,)> =
                sqlx::query_as("SELECT id FROM user_groups WHERE id = $1").bind(g).fetch_optional(&mut *c).await?;
            if found.is_none() {
                e.add(field, "not_found", "is not a group");
            }
        }
    }
    let poller = keep(i.poller_id, old.map(|o| o.poller_id.map(|p| p.0))).flatten();
    if let Some(p) = poller {
        let found: Option<(i64,)> =
            sqlx::query_as("SELECT id FROM monitor_pollers WHERE id = $1").bind(p).fetch_optional(&mut *c).await?;
        if found.is_none() {
            e.add("poller_id", "not_found", "is not a poller");
        }
    }
    let parents: Vec<i64> = match &i.parents {
        Some(p) => {
            let mut p = p.clone();
            p.sort_unstable();
            p.dedup();
            p
        }
        None => old.map(|o| o.parents.iter().map(|p| p.0).collect()).unwrap_or_default(),
    };
    if parents.len() > 50 {
        e.add("parents", "too_many", "at most 50 parents");
    }
    if let Some(ent) = entity {
        if !parents.is_empty() {
            let mut sql = Sql::new("SELECT id, entity_id FROM monitor_hosts WHERE ");
            sql.in_ints("id", parents.iter().copied());
            let found: Vec<(i64, i64)> = sql.query_as().fetch_all(&mut *c).await?;
            if found.len() != parents.len() {
                e.add("parents", "not_found", "every parent must be a monitored host");
            }
            // A parent of another entity is allowed (a county switch in front of a school's
            // servers) as long as it exists: its state is what matters, not its details.
            let _ = ent;
        }
        if let (Some(o), false) = (old, parents.is_empty()) {
            if parents.contains(&o.id.0) {
                e.add("parents", "monitor_parent_cycle", "a host cannot be its own parent");
            } else {
                let mut edges: Vec<(i64, i64)> =
                    sqlx::query_as("SELECT host_id, parent_id FROM monitor_host_parents WHERE host_id <> $1")
                        .bind(o.id.0)
                        .fetch_all(&mut *c)
                        .await?;
                edges.extend(parents.iter().map(|p| (o.id.0, *p)));
                if parc_core::monitoring::host::parent_cycle(&edges).is_some() {
                    e.add("parents", "monitor_parent_cycle", "these parents would make a loop");
                }
            }
        }
    }
    if let Some(t) = &i.template {
        if templates::find(t).is_none() {
            e.add("template", "not_found", "is not a known template");
        }
    }
    if let Some(check) = &i.host_check {
        if let Err(errs) = check.validate() {
            e.fields.extend(errs.fields.into_iter().map(|mut f| {
                f.field = format!("host_{}", f.field);
                f
            }));
        }
    }
    e.into_result()?;
    Ok(HostValues {
        entity: entity.unwrap_or(EntityId(0)),
        asset: i.asset_id.map(AssetId).or(old.and_then(|o| o.asset_id)),
        name: name.unwrap_or_default(),
        display_name: if i.display_name.is_some() {
            clean(i.display_name.as_deref())
        } else {
            old.and_then(|o| o.display_name.clone())
        },
        address: address.unwrap_or_default(),
        wall_group: if i.wall_group.is_some() {
            clean(i.wall_group.as_deref())
        } else {
            old.and_then(|o| o.wall_group.clone())
        },
        poller,
        contact_group,
        escalation_group,
        escalate_after,
        period,
        renotify_s: renotify_min * 60,
        open_tickets: i.open_tickets.or(old.map(|o| o.open_tickets)).unwrap_or(false),
        enabled: i.enabled.or(old.map(|o| o.enabled)).unwrap_or(true),
        comment: if i.comment.is_some() { clean(i.comment.as_deref()) } else { old.and_then(|o| o.comment.clone()) },
        parents,
    })
}

async fn write_parents(c: &mut AnyConnection, host: i64, parents: &[i64]) -> Result<()> {
    sqlx::query("DELETE FROM monitor_host_parents WHERE host_id = $1").bind(host).execute(&mut *c).await?;
    for p in parents {
        sqlx::query("INSERT INTO monitor_host_parents (host_id, parent_id) VALUES ($1, $2)")
            .bind(host)
            .bind(*p)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// Creates a host with its host check (a ping unless given) and the services of its template.
pub async fn create_host(c: &mut AnyConnection, actor: &Actor, i: &HostInput) -> Result<Host> {
    let v = check_host(c, i, None).await?;
    let t = now();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO monitor_hosts (entity_id, asset_id, name, display_name, address, wall_group, poller_id, \
         contact_group_id, escalation_group_id, escalate_after, notification_period, renotify_interval_s, \
         open_tickets, enabled, comment, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $16) RETURNING id",
    )
    .bind(v.entity.0)
    .bind(v.asset.map(|a| a.0))
    .bind(&v.name)
    .bind(&v.display_name)
    .bind(&v.address)
    .bind(&v.wall_group)
    .bind(v.poller)
    .bind(v.contact_group)
    .bind(v.escalation_group)
    .bind(v.escalate_after)
    .bind(&v.period)
    .bind(v.renotify_s)
    .bind(i64::from(v.open_tickets))
    .bind(i64::from(v.enabled))
    .bind(&v.comment)
    .bind(&t)
    .fetch_one(&mut *c)
    .await
    .map_err(|e| StoreError::from_write(e, "a monitored host with this name or asset"))?;
    write_parents(c, id, &v.parents).await?;
    let host_check = i.host_check.clone().unwrap_or_else(templates::host_check);
    let host_tpl = ServiceTemplate {
        name: "Host".to_owned(),
        check: host_check,
        check_interval_s: 300,
        retry_interval_s: 60,
        max_attempts: 3,
    };
    insert_service(c, HostId(id), v.entity, v.poller, true, &service_input(&host_tpl)).await?;
    if let Some(tpl) = i.template.as_deref().and_then(templates::find) {
        for s in &tpl.services {
            insert_service(c, HostId(id), v.entity, v.poller, false, &service_input(s)).await?;
        }
    }
    let h = host(c, HostId(id)).await?.ok_or(StoreError::NotFound)?;
    audit::record(
        c,
        actor,
        ObjectType::MonitorHost,
        id,
        Some(h.entity_id),
        AuditAction::Create,
        &creation(&host_fields(&h)),
    )
    .await?;
    Ok(h)
}

/// The default host check (a ping), for the bulk loader.
pub(crate) fn templates_host_check() -> CheckDefinition {
    templates::host_check()
}

fn service_input(t: &ServiceTemplate) -> ServiceInput {
    ServiceInput {
        name: Some(t.name.clone()),
        check: Some(t.check.clone()),
        check_interval_s: Some(t.check_interval_s),
        retry_interval_s: Some(t.retry_interval_s),
        max_attempts: Some(t.max_attempts),
        ..ServiceInput::default()
    }
}

pub async fn update_host(c: &mut AnyConnection, actor: &Actor, id: HostId, i: &HostInput) -> Result<Host> {
    let old = host(c, id).await?.ok_or(StoreError::NotFound)?;
    if i.template.is_some() {
        return Err(
            ValidationErrors::single("template", "monitor_template_on_create", "templates apply on creation").into()
        );
    }
    let v = check_host(c, i, Some(&old)).await?;
    sqlx::query(
        "UPDATE monitor_hosts SET name = $1, display_name = $2, address = $3, wall_group = $4, poller_id = $5, \
         contact_group_id = $6, escalation_group_id = $7, escalate_after = $8, notification_period = $9, \
         renotify_interval_s = $10, open_tickets = $11, enabled = $12, comment = $13, updated_at = $14 WHERE id = $15",
    )
    .bind(&v.name)
    .bind(&v.display_name)
    .bind(&v.address)
    .bind(&v.wall_group)
    .bind(v.poller)
    .bind(v.contact_group)
    .bind(v.escalation_group)
    .bind(v.escalate_after)
    .bind(&v.period)
    .bind(v.renotify_s)
    .bind(i64::from(v.open_tickets))
    .bind(i64::from(v.enabled))
    .bind(&v.comment)
    .bind(now())
    .bind(id.0)
    .execute(&mut *c)
    .await
    .map_err(|e| StoreError::from_write(e, "a monitored host with this name"))?;
    write_parents(c, id.0, &v.parents).await?;
    // The checks run where the host is polled from; their cached commands see the new address.
    sqlx::query(
        "UPDATE monitor_services SET poller_id = $1, config_version = config_version + 1, \
         enabled = CASE WHEN $2 = 0 THEN 0 ELSE enabled END WHERE host_id = $3",
    )
    .bind(v.poller.unwrap_or(0))
    .bind(i64::from(v.enabled))
    .bind(id.0)
    .execute(&mut *c)
    .await?;
    if let Some(check) = &i.host_check {
        let hc = ServiceInput { check: Some(check.clone()), ..ServiceInput::default() };
        update_service(c, actor, old.check_id, &hc).await?;
    }
    let new = host(c, id).await?.ok_or(StoreError::NotFound)?;
    let changes = diff(&host_fields(&old), &host_fields(&new));
    if !changes.is_empty() {
        audit::record(c, actor, ObjectType::MonitorHost, id.0, Some(new.entity_id), AuditAction::Update, &changes)
            .await?;
    }
    Ok(new)
}

pub async fn delete_host(c: &mut AnyConnection, actor: &Actor, id: HostId) -> Result<()> {
    let old = host(c, id).await?.ok_or(StoreError::NotFound)?;
    sqlx::query("DELETE FROM monitor_hosts WHERE id = $1").bind(id.0).execute(&mut *c).await?;
    audit::record(c, actor, ObjectType::MonitorHost, id.0, Some(old.entity_id), AuditAction::Delete, &[]).await?;
    Ok(())
}

#[derive(sqlx::FromRow)]
struct ServiceRow {
    id: i64,
    host_id: i64,
    entity_id: i64,
    is_host: i64,
    name: String,
    definition: String,
    check_interval_s: i64,
    retry_interval_s: i64,
    max_attempts: i64,
    timeout_s: i64,
    enabled: i64,
    notifications_enabled: i64,
    created_at: String,
    updated_at: String,
}

const SERVICE_COLS: &str = "id, host_id, entity_id, is_host, name, definition, check_interval_s, retry_interval_s, \
     max_attempts, timeout_s, enabled, notifications_enabled, created_at, updated_at";

/// Reads a stored check definition. Stored definitions were validated when saved; one that no
/// longer reads (a definition from a newer version) is reported as a database error.
pub(crate) fn read_definition(text: &str) -> Result<CheckDefinition> {
    serde_json::from_str(text)
        .map_err(|e| StoreError::Db(sqlx::Error::Decode(format!("stored check definition: {e}").into())))
}

impl ServiceRow {
    fn into_service(self, depends_on: Vec<ServiceId>) -> Result<Service> {
        Ok(Service {
            id: ServiceId(self.id),
            host_id: HostId(self.host_id),
            entity_id: EntityId(self.entity_id),
            is_host: self.is_host != 0,
            name: self.name,
            check: read_definition(&self.definition)?,
            check_interval_s: self.check_interval_s,
            retry_interval_s: self.retry_interval_s,
            max_attempts: self.max_attempts,
            timeout_s: self.timeout_s,
            enabled: self.enabled != 0,
            notifications_enabled: self.notifications_enabled != 0,
            depends_on,
            created_at: self.created_at,
            updated_at: self.updated_at,
        })
    }
}

pub async fn service(c: &mut AnyConnection, id: ServiceId) -> Result<Option<Service>> {
    let row: Option<ServiceRow> = sqlx::query_as(&format!("SELECT {SERVICE_COLS} FROM monitor_services WHERE id = $1"))
        .bind(id.0)
        .fetch_optional(&mut *c)
        .await?;
    let Some(row) = row else { return Ok(None) };
    let deps: Vec<(i64,)> =
        sqlx::query_as("SELECT master_id FROM monitor_service_deps WHERE service_id = $1 ORDER BY master_id")
            .bind(id.0)
            .fetch_all(&mut *c)
            .await?;
    row.into_service(deps.into_iter().map(|d| ServiceId(d.0)).collect()).map(Some)
}

/// A host's checks: the host check first, then the services by name.
pub async fn services_of(c: &mut AnyConnection, host: HostId) -> Result<Vec<Service>> {
    let rows: Vec<ServiceRow> = sqlx::query_as(&format!(
        "SELECT {SERVICE_COLS} FROM monitor_services WHERE host_id = $1 ORDER BY is_host DESC, lower(name), id"
    ))
    .bind(host.0)
    .fetch_all(&mut *c)
    .await?;
    rows.into_iter().map(|r| r.into_service(Vec::new())).collect()
}

fn service_fields(s: &Service) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("name", Some(s.name.clone())),
        ("check", serde_json::to_string(&s.check).ok()),
        ("check_interval_s", Some(s.check_interval_s.to_string())),
        ("retry_interval_s", Some(s.retry_interval_s.to_string())),
        ("max_attempts", Some(s.max_attempts.to_string())),
        ("timeout_s", Some(s.timeout_s.to_string())),
        ("enabled", Some(s.enabled.to_string())),
        ("notifications_enabled", Some(s.notifications_enabled.to_string())),
        ("depends_on", Some(s.depends_on.iter().map(|d| d.to_string()).collect::<Vec<_>>().join(","))),
    ]
}

struct ServiceValues {
    name: String,
    check: CheckDefinition,
    check_interval_s: i64,
    retry_interval_s: i64,
    max_attempts: i64,
    timeout_s: i64,
    enabled: bool,
    notifications_enabled: bool,
}

fn check_service(i: &ServiceInput, old: Option<&Service>) -> Result<ServiceValues, ValidationErrors> {
    let mut e = ValidationErrors::new();
    check_text(&mut e, "name", i.name.as_deref(), 200, false);
    let name = clean(i.name.as_deref()).or_else(|| old.map(|o| o.name.clone()));
    if name.is_none() {
        e.add("name", "required", "is required");
    }
    let check = i.check.clone().or_else(|| old.map(|o| o.check.clone()));
    match &check {
        None => e.add("check", "required", "is required"),
        Some(def) => {
            if let Err(errs) = def.validate() {
                e.fields.extend(errs.fields);
            }
        }
    }
    let num = |new: Option<i64>, old: Option<i64>, default: i64| new.or(old).unwrap_or(default);
    let check_interval_s = num(i.check_interval_s, old.map(|o| o.check_interval_s), 300);
    let retry_interval_s = num(i.retry_interval_s, old.map(|o| o.retry_interval_s), 60);
    let max_attempts = num(i.max_attempts, old.map(|o| o.max_attempts), 3);
    let timeout_s = num(i.timeout_s, old.map(|o| o.timeout_s), 30);
    for (field, value, min, max) in [
        ("check_interval_s", check_interval_s, 10, MAX_INTERVAL_S),
        ("retry_interval_s", retry_interval_s, 5, MAX_INTERVAL_S),
        ("max_attempts", max_attempts, 1, MAX_ATTEMPTS),
        ("timeout_s", timeout_s, 1, MAX_TIMEOUT_S),
    ] {
        if !(min..=max).contains(&value) {
            e.add(field, "out_of_range", format!("must be between {min} and {max}"));
        }
    }
    e.into_result()?;
    Ok(ServiceValues {
        name: name.unwrap_or_default(),
        check: check.expect("validated above"),
        check_interval_s,
        retry_interval_s,
        max_attempts,
        timeout_s,
        enabled: i.enabled.or(old.map(|o| o.enabled)).unwrap_or(true),
        notifications_enabled: i.notifications_enabled.or(old.map(|o| o.notifications_enabled)).unwrap_or(true),
    })
}

/// The first check of a new service: spread over its interval so that a thousand services
/// created at once do not all run in the same second (Nagios' inter-check delay).
fn first_check_ms(id_hint: i64, interval_s: i64) -> i64 {
    let now = chrono::Utc::now().timestamp_millis();
    let spread = (interval_s * 1000).max(1);
    // A cheap, well-mixed offset (splitmix64 of the hint), stable for a given hint.
    let mut z = (id_hint as u64).wrapping_add(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^= z >> 31;
    now + (z % spread as u64) as i64
}

async fn insert_service(
    c: &mut AnyConnection,
    host: HostId,
    entity: EntityId,
    poller: Option<i64>,
    is_host: bool,
    i: &ServiceInput,
) -> Result<ServiceId> {
    let v = check_service(i, None)?;
    let t = now();
    let hint = rand::random::<i64>();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO monitor_services (host_id, entity_id, is_host, name, definition, check_interval_s, \
         retry_interval_s, max_attempts, timeout_s, enabled, notifications_enabled, poller_id, next_check_ms, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
    )
    .bind(host.0)
    .bind(entity.0)
    .bind(i64::from(is_host))
    .bind(&v.name)
    .bind(serde_json::to_string(&v.check).unwrap_or_default())
    .bind(v.check_interval_s)
    .bind(v.retry_interval_s)
    .bind(v.max_attempts)
    .bind(v.timeout_s)
    .bind(i64::from(v.enabled))
    .bind(i64::from(v.notifications_enabled))
    .bind(poller.unwrap_or(0))
    .bind(first_check_ms(hint, v.check_interval_s))
    .bind(&t)
    .fetch_one(&mut *c)
    .await
    .map_err(|e| StoreError::from_write(e, "a check with this name on this host"))?;
    if let Some(deps) = &i.depends_on {
        write_deps(c, ServiceId(id), deps).await?;
    }
    Ok(ServiceId(id))
}

async fn write_deps(c: &mut AnyConnection, id: ServiceId, deps: &[i64]) -> Result<()> {
    let mut deps = deps.to_vec();
    deps.sort_unstable();
    deps.dedup();
    let mut e = ValidationErrors::new();
    if deps.contains(&id.0) {
        e.add("depends_on", "monitor_dependency_cycle", "a check cannot depend on itself");
    }
    if !deps.is_empty() {
        let mut sql = Sql::new("SELECT id FROM monitor_services WHERE ");
        sql.in_ints("id", deps.iter().copied());
        let found: Vec<(i64,)> = sql.query_as().fetch_all(&mut *c).await?;
        if found.len() != deps.len() {
            e.add("depends_on", "not_found", "every dependency must be a check");
        }
        let mut edges: Vec<(i64, i64)> =
            sqlx::query_as("SELECT service_id, master_id FROM monitor_service_deps WHERE service_id <> $1")
                .bind(id.0)
                .fetch_all(&mut *c)
                .await?;
        edges.extend(deps.iter().map(|d| (id.0, *d)));
        if parc_core::monitoring::host::parent_cycle(&edges).is_some() {
            e.add("depends_on", "monitor_dependency_cycle", "these dependencies would make a loop");
        }
    }
    e.into_result()?;
    sqlx::query("DELETE FROM monitor_service_deps WHERE service_id = $1").bind(id.0).execute(&mut *c).await?;
    for d in deps {
        sqlx::query("INSERT INTO monitor_service_deps (service_id, master_id) VALUES ($1, $2)")
            .bind(id.0)
            .bind(d)
            .execute(&mut *c)
            .await?;
    }
    Ok(())
}

/// Adds a service to a host.
pub async fn create_service(
    c: &mut AnyConnection,
    actor: &Actor,
    host_id: HostId,
    i: &ServiceInput,
) -> Result<Service> {
    let h = host(c, host_id).await?.ok_or(StoreError::NotFound)?;
    let id = insert_service(c, host_id, h.entity_id, h.poller_id.map(|p| p.0), false, i).await?;
    let s = service(c, id).await?.ok_or(StoreError::NotFound)?;
    audit::record(
        c,
        actor,
        ObjectType::MonitorService,
        id.0,
        Some(s.entity_id),
        AuditAction::Create,
        &creation(&service_fields(&s)),
    )
    .await?;
    Ok(s)
}

/// Changes a check's configuration; its state, schedule and acknowledgement stay.
pub async fn update_service(c: &mut AnyConnection, actor: &Actor, id: ServiceId, i: &ServiceInput) -> Result<Service> {
    let old = service(c, id).await?.ok_or(StoreError::NotFound)?;
    let v = check_service(i, Some(&old))?;
    sqlx::query(
        "UPDATE monitor_services SET name = $1, definition = $2, check_interval_s = $3, retry_interval_s = $4, \
         max_attempts = $5, timeout_s = $6, enabled = $7, notifications_enabled = $8, \
         config_version = config_version + 1, updated_at = $9 WHERE id = $10",
    )
    .bind(&v.name)
    .bind(serde_json::to_string(&v.check).unwrap_or_default())
    .bind(v.check_interval_s)
    .bind(v.retry_interval_s)
    .bind(v.max_attempts)
    .bind(v.timeout_s)
    .bind(i64::from(v.enabled))
    .bind(i64::from(v.notifications_enabled))
    .bind(now())
    .bind(id.0)
    .execute(&mut *c)
    .await
    .map_err(|e| StoreError::from_write(e, "a check with this name on this host"))?;
    if let Some(deps) = &i.depends_on {
        write_deps(c, id, deps).await?;
    }
    let new = service(c, id).await?.ok_or(StoreError::NotFound)?;
    let changes = diff(&service_fields(&old), &service_fields(&new));
    if !changes.is_empty() {
        audit::record(c, actor, ObjectType::MonitorService, id.0, Some(new.entity_id), AuditAction::Update, &changes)
            .await?;
    }
    Ok(new)
}

/// Removes a service (a host check goes with its host only).
pub async fn delete_service(c: &mut AnyConnection, actor: &Actor, id: ServiceId) -> Result<()> {
    let old = service(c, id).await?.ok_or(StoreError::NotFound)?;
    if old.is_host {
        return Err(StoreError::Conflict("the host check goes with its host: delete the host".into()));
    }
    sqlx::query("DELETE FROM monitor_services WHERE id = $1").bind(id.0).execute(&mut *c).await?;
    audit::record(c, actor, ObjectType::MonitorService, id.0, Some(old.entity_id), AuditAction::Delete, &[]).await?;
    Ok(())
}
