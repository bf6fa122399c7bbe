//! Remote pollers (`parc poller`): a Parc process inside a school's network that runs the
//! checks of the hosts assigned to it and pushes their results, as Centreon's pollers do.
//!
//! A poller authenticates with a token shown once at creation and stored as its SHA-256. It
//! claims and reports only its own checks: its lease owner is `poller:<id>`, set by the server
//! from the token, never by the poller.

use crate::secrets::{random_token, token_hash};
use crate::{audit, now, Actor, Result, StoreError};
use parc_core::audit::{creation, AuditAction, ObjectType};
use parc_core::validate::{check_text, clean, ValidationErrors};
use parc_core::{EntityId, PollerId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Poller {
    pub id: PollerId,
    pub entity_id: EntityId,
    pub name: String,
    pub last_seen_at: Option<String>,
    pub last_address: Option<String>,
    pub created_at: String,
}

impl Poller {
    /// The lease owner of this poller's checks.
    pub fn owner(&self) -> String {
        format!("poller:{}", self.id)
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PollerInput {
    pub entity_id: Option<i64>,
    pub name: Option<String>,
}

type Row = (i64, i64, String, Option<String>, Option<String>, String);
const SELECT: &str = "SELECT id, entity_id, name, last_seen_at, last_address, created_at FROM monitor_pollers";

fn of(r: Row) -> Poller {
    Poller {
        id: PollerId(r.0),
        entity_id: EntityId(r.1),
        name: r.2,
        last_seen_at: r.3,
        last_address: r.4,
        created_at: r.5,
    }
}

pub async fn poller(c: &mut AnyConnection, id: PollerId) -> Result<Option<Poller>> {
    let r: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE id = $1")).bind(id.0).fetch_optional(c).await?;
    Ok(r.map(of))
}

pub async fn pollers(c: &mut AnyConnection, entities: &[i64]) -> Result<Vec<Poller>> {
    let mut sql = crate::sql::Sql::new(SELECT);
    sql.push(" WHERE ").in_ints("entity_id", entities.iter().copied()).push(" ORDER BY lower(name), id");
    let rows: Vec<Row> = sql.query_as().fetch_all(c).await?;
    Ok(rows.into_iter().map(of).collect())
}

/// Creates a poller; returns it with its token (shown once, only its hash is kept).
pub async fn create_poller(c: &mut AnyConnection, actor: &Actor, i: &PollerInput) -> Result<(Poller, String)> {
    let mut e = ValidationErrors::new();
    check_text(&mut e, "name", i.name.as_deref(), 100, false);
    let name = clean(i.name.as_deref());
    if name.is_none() {
        e.add("name", "required", "is required");
    }
    if i.entity_id.is_none() {
        e.add("entity_id", "required", "is required");
    }
    e.into_result()?;
    let token = format!("parcpoll_{}", random_token(24));
    let t = now();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO monitor_pollers (entity_id, name, token_hash, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
    )
    .bind(i.entity_id.unwrap_or_default())
    .bind(&name)
    .bind(token_hash(&token))
    .bind(&t)
    .fetch_one(&mut *c)
    .await
    .map_err(|e| StoreError::from_write(e, "a poller with this name"))?;
    let p = poller(c, PollerId(id)).await?.ok_or(StoreError::NotFound)?;
    let fields = [("name", Some(p.name.clone())), ("entity_id", Some(p.entity_id.to_string()))];
    audit::record(c, actor, ObjectType::Poller, id, Some(p.entity_id), AuditAction::Create, &creation(&fields)).await?;
    Ok((p, token))
}

/// Removes a poller: its hosts go back to the central nodes.
pub async fn delete_poller(c: &mut AnyConnection, actor: &Actor, id: PollerId) -> Result<()> {
    let p = poller(c, id).await?.ok_or(StoreError::NotFound)?;
    sqlx::query("UPDATE monitor_services SET poller_id = 0, lease_owner = NULL, due_ms = NULL, config_version = config_version + 1 WHERE poller_id = $1")
        .bind(id.0)
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM monitor_pollers WHERE id = $1").bind(id.0).execute(&mut *c).await?;
    audit::record(c, actor, ObjectType::Poller, id.0, Some(p.entity_id), AuditAction::Delete, &[]).await?;
    Ok(())
}

/// The poller holding `token`, if any (and records that it was seen, from `address`).
pub async fn authenticate(c: &mut AnyConnection, token: &str, address: &str) -> Result<Option<Poller>> {
    if !token.starts_with("parcpoll_") || token.len() > 100 {
        return Ok(None);
    }
    let r: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE token_hash = $1"))
        .bind(token_hash(token))
        .fetch_optional(&mut *c)
        .await?;
    let Some(p) = r.map(of) else { return Ok(None) };
    sqlx::query("UPDATE monitor_pollers SET last_seen_at = $1, last_address = $2 WHERE id = $3")
        .bind(now())
        .bind(address.chars().take(100).collect::<String>())
        .bind(p.id.0)
        .execute(&mut *c)
        .await?;
    Ok(Some(p))
}
