//! The helpdesk's storage: groups of technicians, ticket categories, tickets with their
//! follow-ups and tasks, and the helpdesk settings (priority matrix and SLA targets in
//! `settings` under `helpdesk.*`, a business calendar and the anonymous-report switch per
//! entity in `helpdesk_entity_settings`, inherited down the entity tree).
//!
//! The rules themselves (lifecycle, matrix, business time) are `parc_core::helpdesk`; this
//! module applies them inside the caller's transaction and keeps the SLA deadlines they compute
//! in columns, so lists filter at-risk and breached tickets in SQL.

pub mod bulk;
mod catalog;
mod documents;
pub mod notify;
mod planning;
pub mod reports;
pub mod suggest;
mod tickets;

pub use catalog::*;
pub use documents::*;
pub use planning::*;
pub use tickets::*;

use crate::{audit, now, Actor, Result};
use parc_core::audit::{AuditAction, FieldChange, ObjectType};
use parc_core::entities::EntityTree;
use parc_core::helpdesk::{BusinessCalendar, PriorityMatrix, SlaTargets};
use parc_core::EntityId;
use sqlx::AnyConnection;
use std::collections::HashMap;

const KEY_MATRIX: &str = "helpdesk.priority_matrix";
const KEY_SLA: &str = "helpdesk.sla";

/// Everything a ticket write needs to compute its priority and deadlines.
#[derive(Debug, Clone, Default)]
pub struct HelpdeskConfig {
    pub matrix: PriorityMatrix,
    pub sla: SlaTargets,
    /// Entities with their own settings row; the others inherit from their parent.
    pub entities: HashMap<EntityId, EntitySettings>,
}

/// An entity's own helpdesk settings (absent values are inherited).
#[derive(Debug, Clone, Default)]
pub struct EntitySettings {
    pub calendar: Option<BusinessCalendar>,
    pub anonymous_reports: Option<bool>,
}

impl HelpdeskConfig {
    /// The calendar in force for `entity`: its own, else its nearest ancestor's, else the default.
    pub fn calendar_for(&self, tree: &EntityTree, entity: EntityId) -> BusinessCalendar {
        self.inherited(tree, entity, |s| s.calendar.clone()).unwrap_or_default()
    }

    /// Whether anonymous "report a problem" forms are accepted for `entity` (default: no).
    pub fn anonymous_reports_for(&self, tree: &EntityTree, entity: EntityId) -> bool {
        self.inherited(tree, entity, |s| s.anonymous_reports).unwrap_or(false)
    }

    fn inherited<T>(&self, tree: &EntityTree, entity: EntityId, f: impl Fn(&EntitySettings) -> Option<T>) -> Option<T> {
        // `path` runs from the root down to the entity: the nearest setting wins.
        tree.path(entity).into_iter().rev().find_map(|e| self.entities.get(&e).and_then(&f))
    }
}

/// Loads the helpdesk settings. Stored values that no longer parse fall back to the defaults
/// (they were validated when written, so this only happens after a manual edit).
pub async fn config(c: &mut AnyConnection) -> Result<HelpdeskConfig> {
    let rows: Vec<(String, String)> =
        sqlx::query_as("SELECT key, value FROM settings WHERE key LIKE 'helpdesk.%'").fetch_all(&mut *c).await?;
    let mut cfg = HelpdeskConfig::default();
    for (k, v) in rows {
        match k.as_str() {
            KEY_MATRIX => cfg.matrix = PriorityMatrix::from_json(&v).unwrap_or_default(),
            KEY_SLA => cfg.sla = SlaTargets::from_json(&v).unwrap_or_default(),
            _ => {}
        }
    }
    let rows: Vec<(i64, Option<String>, Option<i64>)> =
        sqlx::query_as("SELECT entity_id, calendar, anonymous_reports FROM helpdesk_entity_settings")
            .fetch_all(c)
            .await?;
    for (e, cal, anon) in rows {
        cfg.entities.insert(
            EntityId(e),
            EntitySettings {
                calendar: cal.and_then(|j| BusinessCalendar::from_json(&j).ok()),
                anonymous_reports: anon.map(|a| a != 0),
            },
        );
    }
    Ok(cfg)
}

async fn put_setting(c: &mut AnyConnection, key: &str, value: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
    )
    .bind(key)
    .bind(value)
    .execute(c)
    .await?;
    Ok(())
}

/// Replaces the priority matrix and the SLA targets (validated), audited as settings changes.
pub async fn put_config(c: &mut AnyConnection, actor: &Actor, matrix: &PriorityMatrix, sla: &SlaTargets) -> Result<()> {
    matrix.validate()?;
    sla.validate()?;
    let old = config(c).await?;
    let mut changes = Vec::new();
    for (key, o, n) in
        [(KEY_MATRIX, old.matrix.to_json(), matrix.to_json()), (KEY_SLA, old.sla.to_json(), sla.to_json())]
    {
        if o != n {
            put_setting(c, key, &n).await?;
            changes.push(FieldChange { field: key.to_owned(), old: Some(o), new: Some(n) });
        }
    }
    if !changes.is_empty() {
        audit::record(c, actor, ObjectType::Settings, 0, None, AuditAction::Update, &changes).await?;
    }
    Ok(())
}

/// Sets (or, with `None`, removes so it is inherited again) an entity's own calendar and
/// anonymous-report switch. Audited on the entity.
pub async fn put_entity_settings(
    c: &mut AnyConnection,
    actor: &Actor,
    entity: EntityId,
    calendar: Option<&BusinessCalendar>,
    anonymous_reports: Option<bool>,
) -> Result<()> {
    if let Some(cal) = calendar {
        cal.validate()?;
    }
    let old: Option<(Option<String>, Option<i64>)> =
        sqlx::query_as("SELECT calendar, anonymous_reports FROM helpdesk_entity_settings WHERE entity_id = $1")
            .bind(entity.0)
            .fetch_optional(&mut *c)
            .await?;
    let (old_cal, old_anon) = old.unwrap_or((None, None));
    let new_cal = calendar.map(BusinessCalendar::to_json);
    let new_anon = anonymous_reports.map(i64::from);
    if calendar.is_none() && anonymous_reports.is_none() {
        sqlx::query("DELETE FROM helpdesk_entity_settings WHERE entity_id = $1")
            .bind(entity.0)
            .execute(&mut *c)
            .await?;
    } else {
        sqlx::query(
            "INSERT INTO helpdesk_entity_settings (entity_id, calendar, anonymous_reports, updated_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (entity_id) DO UPDATE SET calendar = excluded.calendar, \
             anonymous_reports = excluded.anonymous_reports, updated_at = excluded.updated_at",
        )
        .bind(entity.0)
        .bind(&new_cal)
        .bind(new_anon)
        .bind(now())
        .execute(&mut *c)
        .await?;
    }
    let mut changes = Vec::new();
    if old_cal != new_cal {
        changes.push(FieldChange { field: "helpdesk.calendar".into(), old: old_cal, new: new_cal });
    }
    if old_anon != new_anon {
        changes.push(FieldChange {
            field: "helpdesk.anonymous_reports".into(),
            old: old_anon.map(|v| v.to_string()),
            new: new_anon.map(|v| v.to_string()),
        });
    }
    if !changes.is_empty() {
        audit::record(c, actor, ObjectType::Entity, entity.0, Some(entity), AuditAction::Update, &changes).await?;
    }
    Ok(())
}
