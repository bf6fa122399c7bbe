//! The append-only audit trail: who, when, what, old -> new. Database triggers refuse any
//! UPDATE or DELETE of recorded events.

use crate::{now, Actor, Result};
use parc_core::audit::{AuditAction, FieldChange, ObjectType};
use parc_core::EntityId;
use serde::Serialize;
use sqlx::AnyConnection;

/// One recorded event.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct AuditEvent {
    pub id: i64,
    pub at: String,
    pub actor_user_id: Option<i64>,
    pub actor_label: String,
    pub object_type: String,
    pub object_id: i64,
    pub entity_id: Option<i64>,
    pub action: String,
    pub changes: Vec<FieldChange>,
    pub request_id: Option<String>,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    at: String,
    actor_user_id: Option<i64>,
    actor_label: String,
    object_type: String,
    object_id: i64,
    entity_id: Option<i64>,
    action: String,
    changes: String,
    request_id: Option<String>,
}

impl From<Row> for AuditEvent {
    fn from(r: Row) -> Self {
        AuditEvent {
            id: r.id,
            at: r.at,
            actor_user_id: r.actor_user_id,
            actor_label: r.actor_label,
            object_type: r.object_type,
            object_id: r.object_id,
            entity_id: r.entity_id,
            action: r.action,
            changes: serde_json::from_str(&r.changes).unwrap_or_default(),
            request_id: r.request_id,
        }
    }
}

/// Appends one event. Call inside the same transaction as the change it records.
pub async fn record(
    c: &mut AnyConnection,
    actor: &Actor,
    object_type: ObjectType,
    object_id: i64,
    entity_id: Option<EntityId>,
    action: AuditAction,
    changes: &[FieldChange],
) -> Result<()> {
    let changes = serde_json::to_string(changes).unwrap_or_else(|_| "[]".into());
    sqlx::query(
        "INSERT INTO audit_events (at, actor_user_id, actor_label, object_type, object_id, entity_id, action, changes, request_id) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(now())
    .bind(actor.user_id.map(|u| u.0))
    .bind(&actor.label)
    .bind(object_type.as_str())
    .bind(object_id)
    .bind(entity_id.map(|e| e.0))
    .bind(action.as_str())
    .bind(changes)
    .bind(&actor.request_id)
    .execute(c)
    .await?;
    Ok(())
}

/// The history of one object, newest first.
pub async fn for_object(
    c: &mut AnyConnection,
    object_type: ObjectType,
    object_id: i64,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT id, at, actor_user_id, actor_label, object_type, object_id, entity_id, action, changes, request_id \
         FROM audit_events WHERE object_type = $1 AND object_id = $2 ORDER BY id DESC LIMIT $3",
    )
    .bind(object_type.as_str())
    .bind(object_id)
    .bind(limit)
    .fetch_all(c)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// The latest changes in some entities (and global ones when `include_global`), newest first.
/// Sign-ins are events, not changes: they stay on the user's own history.
pub async fn recent(
    c: &mut AnyConnection,
    entities: &[i64],
    include_global: bool,
    limit: i64,
) -> Result<Vec<AuditEvent>> {
    let mut sql = crate::sql::Sql::new(
        "SELECT id, at, actor_user_id, actor_label, object_type, object_id, entity_id, action, changes, request_id \
         FROM audit_events WHERE (",
    );
    sql.in_ints("entity_id", entities.iter().copied());
    if include_global {
        sql.push(" OR entity_id IS NULL");
    }
    sql.push(") AND action <> ").bind_text(AuditAction::Login.as_str());
    sql.push(" ORDER BY id DESC LIMIT ").bind_int(limit);
    let rows: Vec<Row> = sql.query_as().fetch_all(c).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}
