//! Entities: the organisation tree.

use crate::{audit, now, Actor, Result, StoreError};
use parc_core::audit::{creation, diff, AuditAction, ObjectType};
use parc_core::entities::EntityTree;
use parc_core::validate::{check_text, clean, ValidationErrors};
use parc_core::EntityId;
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Entity {
    pub id: EntityId,
    pub parent_id: Option<EntityId>,
    pub name: String,
    pub comment: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    parent_id: Option<i64>,
    name: String,
    comment: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<Row> for Entity {
    fn from(r: Row) -> Self {
        Entity {
            id: EntityId(r.id),
            parent_id: r.parent_id.map(EntityId),
            name: r.name,
            comment: r.comment,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// What a user submits to create or update an entity.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EntityInput {
    pub name: Option<String>,
    pub parent_id: Option<i64>,
    pub comment: Option<String>,
}

const COLS: &str = "id, parent_id, name, comment, created_at, updated_at";

pub async fn list_all(c: &mut AnyConnection) -> Result<Vec<Entity>> {
    let rows: Vec<Row> = sqlx::query_as(&format!("SELECT {COLS} FROM entities ORDER BY name, id")).fetch_all(c).await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

pub async fn tree(c: &mut AnyConnection) -> Result<EntityTree> {
    let rows: Vec<(i64, Option<i64>)> = sqlx::query_as("SELECT id, parent_id FROM entities").fetch_all(c).await?;
    Ok(EntityTree::new(rows.into_iter().map(|(id, p)| (EntityId(id), p.map(EntityId)))))
}

pub async fn get(c: &mut AnyConnection, id: EntityId) -> Result<Option<Entity>> {
    let row: Option<Row> =
        sqlx::query_as(&format!("SELECT {COLS} FROM entities WHERE id = $1")).bind(id.0).fetch_optional(c).await?;
    Ok(row.map(Into::into))
}

fn fields(e: &Entity) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("name", Some(e.name.clone())),
        ("parent_id", e.parent_id.map(|p| p.to_string())),
        ("comment", e.comment.clone()),
    ]
}

async fn validate(
    c: &mut AnyConnection,
    input: &EntityInput,
    existing: Option<&Entity>,
) -> Result<(String, Option<EntityId>, Option<String>)> {
    let mut e = ValidationErrors::new();
    check_text(&mut e, "name", input.name.as_deref(), 200, false);
    check_text(&mut e, "comment", input.comment.as_deref(), 10_000, true);
    let name = match &input.name {
        Some(n) => clean(Some(n)),
        None => existing.map(|x| x.name.clone()),
    };
    if name.is_none() {
        e.add("name", "required", "is required");
    }
    let parent = match input.parent_id {
        Some(p) if p > 0 => Some(EntityId(p)),
        Some(_) => None,
        None => existing.and_then(|x| x.parent_id),
    };
    if let Some(p) = parent {
        let t = tree(c).await?;
        if !t.contains(p) {
            e.add("parent_id", "not_found", "no such entity");
        } else if let Some(x) = existing {
            if t.would_cycle(x.id, p) {
                e.add("parent_id", "cycle", "an entity cannot be placed below itself");
            }
        }
    }
    let comment = match &input.comment {
        Some(v) => clean(Some(v)),
        None => existing.and_then(|x| x.comment.clone()),
    };
    e.into_result()?;
    Ok((name.unwrap_or_default(), parent, comment))
}

pub async fn create(c: &mut AnyConnection, actor: &Actor, input: &EntityInput) -> Result<Entity> {
    let (name, parent, comment) = validate(c, input, None).await?;
    let t = now();
    let row: Row = sqlx::query_as(&format!(
        "INSERT INTO entities (parent_id, name, comment, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING {COLS}"
    ))
    .bind(parent.map(|p| p.0))
    .bind(&name)
    .bind(&comment)
    .bind(&t)
    .fetch_one(&mut *c)
    .await
    .map_err(name_taken)?;
    let ent: Entity = row.into();
    audit::record(c, actor, ObjectType::Entity, ent.id.0, Some(ent.id), AuditAction::Create, &creation(&fields(&ent)))
        .await?;
    Ok(ent)
}

fn name_taken(e: sqlx::Error) -> StoreError {
    match StoreError::from_write(e, "entity") {
        StoreError::Conflict(_) => StoreError::Validation(ValidationErrors::single(
            "name",
            "name_taken",
            "another entity with this name has the same parent",
        )),
        other => other,
    }
}

pub async fn update(c: &mut AnyConnection, actor: &Actor, id: EntityId, input: &EntityInput) -> Result<Entity> {
    let old = get(c, id).await?.ok_or(StoreError::NotFound)?;
    let (name, parent, comment) = validate(c, input, Some(&old)).await?;
    let row: Row = sqlx::query_as(&format!(
        "UPDATE entities SET parent_id = $1, name = $2, comment = $3, updated_at = $4 WHERE id = $5 RETURNING {COLS}"
    ))
    .bind(parent.map(|p| p.0))
    .bind(&name)
    .bind(&comment)
    .bind(now())
    .bind(id.0)
    .fetch_one(&mut *c)
    .await
    .map_err(name_taken)?;
    let new: Entity = row.into();
    let changes = diff(&fields(&old), &fields(&new));
    if !changes.is_empty() {
        audit::record(c, actor, ObjectType::Entity, id.0, Some(id), AuditAction::Update, &changes).await?;
    }
    Ok(new)
}

/// Deletes an empty entity; one that still holds sub-entities, locations, users or assets is refused.
pub async fn delete(c: &mut AnyConnection, actor: &Actor, id: EntityId) -> Result<()> {
    let old = get(c, id).await?.ok_or(StoreError::NotFound)?;
    let (n,): (i64,) = sqlx::query_as(
        "SELECT (SELECT COUNT(*) FROM entities WHERE parent_id = $1) + (SELECT COUNT(*) FROM locations WHERE entity_id = $1) \
         + (SELECT COUNT(*) FROM users WHERE entity_id = $1) + (SELECT COUNT(*) FROM assets WHERE entity_id = $1) \
         + (SELECT COUNT(*) FROM user_grants WHERE entity_id = $1)",
    )
    .bind(id.0)
    .fetch_one(&mut *c)
    .await?;
    if n > 0 {
        return Err(StoreError::Conflict(
            "this entity still holds sub-entities, locations, users, rights or assets".into(),
        ));
    }
    sqlx::query("DELETE FROM entities WHERE id = $1")
        .bind(id.0)
        .execute(&mut *c)
        .await
        .map_err(|e| StoreError::from_write(e, "entity"))?;
    audit::record(c, actor, ObjectType::Entity, id.0, old.parent_id, AuditAction::Delete, &diff(&fields(&old), &[]))
        .await?;
    Ok(())
}

/// What an entity holds, for the entity tree.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EntityUsage {
    pub locations: i64,
    pub users: i64,
}

/// Locations and users per entity: two grouped counts over small tables indexed by entity
/// (assets are not counted here, their table can be large).
pub async fn usage(c: &mut AnyConnection) -> Result<std::collections::HashMap<EntityId, EntityUsage>> {
    let mut out: std::collections::HashMap<EntityId, EntityUsage> = std::collections::HashMap::new();
    let locs: Vec<(i64, i64)> =
        sqlx::query_as("SELECT entity_id, COUNT(*) FROM locations GROUP BY entity_id").fetch_all(&mut *c).await?;
    for (e, n) in locs {
        out.entry(EntityId(e)).or_default().locations = n;
    }
    let users: Vec<(i64, i64)> =
        sqlx::query_as("SELECT entity_id, COUNT(*) FROM users GROUP BY entity_id").fetch_all(&mut *c).await?;
    for (e, n) in users {
        out.entry(EntityId(e)).or_default().users = n;
    }
    Ok(out)
}
