//! Locations: site > building > room, per entity.

use crate::{audit, now, sql::Sql, Actor, Result, StoreError};
use parc_core::audit::{creation, diff, AuditAction, ObjectType};
use parc_core::locations::LocationKind;
use parc_core::validate::{check_text, clean, ValidationErrors};
use parc_core::{EntityId, LocationId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Location {
    pub id: LocationId,
    pub entity_id: EntityId,
    pub parent_id: Option<LocationId>,
    pub kind: LocationKind,
    pub name: String,
    /// "Site > Building > Room".
    pub path: String,
    pub address: Option<String>,
    pub comment: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    entity_id: i64,
    parent_id: Option<i64>,
    kind: String,
    name: String,
    address: Option<String>,
    comment: Option<String>,
    created_at: String,
    updated_at: String,
    parent_name: Option<String>,
    grand_name: Option<String>,
}

impl From<Row> for Location {
    fn from(r: Row) -> Self {
        let path = [r.grand_name.as_deref(), r.parent_name.as_deref(), Some(r.name.as_str())]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" > ");
        Location {
            id: LocationId(r.id),
            entity_id: EntityId(r.entity_id),
            parent_id: r.parent_id.map(LocationId),
            kind: r.kind.parse().unwrap_or(LocationKind::Site),
            name: r.name,
            path,
            address: r.address,
            comment: r.comment,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LocationInput {
    pub entity_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub kind: Option<String>,
    pub name: Option<String>,
    pub address: Option<String>,
    pub comment: Option<String>,
}

const SELECT: &str =
    "SELECT l.id, l.entity_id, l.parent_id, l.kind, l.name, l.address, l.comment, l.created_at, l.updated_at, \
     p.name AS parent_name, g.name AS grand_name \
     FROM locations l LEFT JOIN locations p ON p.id = l.parent_id LEFT JOIN locations g ON g.id = p.parent_id";

/// Locations of some entities, sorted by path.
pub async fn list(c: &mut AnyConnection, entities: &[i64]) -> Result<Vec<Location>> {
    let mut sql = Sql::new(SELECT);
    sql.push(" WHERE ").in_ints("l.entity_id", entities.iter().copied());
    let rows: Vec<Row> = sql.query_as().fetch_all(c).await?;
    let mut v: Vec<Location> = rows.into_iter().map(Into::into).collect();
    v.sort_by_key(|l| l.path.to_lowercase());
    Ok(v)
}

pub async fn get(c: &mut AnyConnection, id: LocationId) -> Result<Option<Location>> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE l.id = $1")).bind(id.0).fetch_optional(c).await?;
    Ok(row.map(Into::into))
}

fn fields(l: &Location) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("entity_id", Some(l.entity_id.to_string())),
        ("parent_id", l.parent_id.map(|p| p.to_string())),
        ("kind", Some(l.kind.as_str().to_owned())),
        ("name", Some(l.name.clone())),
        ("address", l.address.clone()),
        ("comment", l.comment.clone()),
    ]
}

struct Valid {
    entity_id: EntityId,
    parent_id: Option<LocationId>,
    kind: LocationKind,
    name: String,
    address: Option<String>,
    comment: Option<String>,
}

async fn validate(c: &mut AnyConnection, i: &LocationInput, old: Option<&Location>) -> Result<Valid> {
    let mut e = ValidationErrors::new();
    check_text(&mut e, "name", i.name.as_deref(), 200, false);
    check_text(&mut e, "address", i.address.as_deref(), 500, true);
    check_text(&mut e, "comment", i.comment.as_deref(), 10_000, true);
    let entity_id = i.entity_id.map(EntityId).or(old.map(|o| o.entity_id));
    if entity_id.is_none() {
        e.add("entity_id", "required", "is required");
    }
    let kind = match i.kind.as_deref() {
        Some(k) => k.parse::<LocationKind>().ok().or_else(|| {
            e.add("kind", "unknown_value", "must be site, building or room");
            None
        }),
        None => old.map(|o| o.kind).or_else(|| {
            e.add("kind", "required", "is required");
            None
        }),
    };
    let name = match &i.name {
        Some(n) => clean(Some(n)),
        None => old.map(|o| o.name.clone()),
    };
    if name.is_none() {
        e.add("name", "required", "is required");
    }
    let parent_id = match i.parent_id {
        Some(p) if p > 0 => Some(LocationId(p)),
        Some(_) => None,
        None => old.and_then(|o| o.parent_id),
    };
    if let Some(k) = kind {
        match (k.parent_kind(), parent_id) {
            (None, Some(_)) => e.add("parent_id", "site_no_parent", "a site has no parent location"),
            (Some(_), None) => e.add("parent_id", "required", "is required for a building or a room"),
            (Some(pk), Some(p)) => match get(c, p).await? {
                None => e.add("parent_id", "not_found", "no such location"),
                Some(parent) => {
                    if parent.kind != pk {
                        e.add("parent_id", "parent_kind", "a building belongs to a site, a room to a building");
                    }
                    if Some(parent.entity_id) != entity_id {
                        e.add("parent_id", "other_entity", "the parent belongs to another entity");
                    }
                }
            },
            (None, None) => {}
        }
    }
    e.into_result()?;
    Ok(Valid {
        entity_id: entity_id.unwrap_or(EntityId(0)),
        parent_id,
        kind: kind.unwrap_or(LocationKind::Site),
        name: name.unwrap_or_default(),
        address: match &i.address {
            Some(v) => clean(Some(v)),
            None => old.and_then(|o| o.address.clone()),
        },
        comment: match &i.comment {
            Some(v) => clean(Some(v)),
            None => old.and_then(|o| o.comment.clone()),
        },
    })
}

pub async fn create(c: &mut AnyConnection, actor: &Actor, i: &LocationInput) -> Result<Location> {
    let v = validate(c, i, None).await?;
    let t = now();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO locations (entity_id, parent_id, kind, name, address, comment, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7) RETURNING id",
    )
    .bind(v.entity_id.0)
    .bind(v.parent_id.map(|p| p.0))
    .bind(v.kind.as_str())
    .bind(&v.name)
    .bind(&v.address)
    .bind(&v.comment)
    .bind(&t)
    .fetch_one(&mut *c)
    .await
    .map_err(|e| StoreError::from_write(e, "location"))?;
    let loc = get(c, LocationId(id)).await?.ok_or(StoreError::NotFound)?;
    audit::record(
        c,
        actor,
        ObjectType::Location,
        id,
        Some(loc.entity_id),
        AuditAction::Create,
        &creation(&fields(&loc)),
    )
    .await?;
    Ok(loc)
}

pub async fn update(c: &mut AnyConnection, actor: &Actor, id: LocationId, i: &LocationInput) -> Result<Location> {
    let old = get(c, id).await?.ok_or(StoreError::NotFound)?;
    let v = validate(c, i, Some(&old)).await?;
    if v.entity_id != old.entity_id {
        let (children,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM locations WHERE parent_id = $1").bind(id.0).fetch_one(&mut *c).await?;
        if children > 0 {
            return Err(
                ValidationErrors::single("entity_id", "has_children", "move the locations inside it first").into()
            );
        }
    }
    sqlx::query(
        "UPDATE locations SET entity_id = $1, parent_id = $2, kind = $3, name = $4, address = $5, comment = $6, updated_at = $7 WHERE id = $8",
    )
    .bind(v.entity_id.0)
    .bind(v.parent_id.map(|p| p.0))
    .bind(v.kind.as_str())
    .bind(&v.name)
    .bind(&v.address)
    .bind(&v.comment)
    .bind(now())
    .bind(id.0)
    .execute(&mut *c)
    .await
    .map_err(|e| StoreError::from_write(e, "location"))?;
    let new = get(c, id).await?.ok_or(StoreError::NotFound)?;
    let changes = diff(&fields(&old), &fields(&new));
    if !changes.is_empty() {
        audit::record(c, actor, ObjectType::Location, id.0, Some(new.entity_id), AuditAction::Update, &changes).await?;
    }
    Ok(new)
}

pub async fn delete(c: &mut AnyConnection, actor: &Actor, id: LocationId) -> Result<()> {
    let old = get(c, id).await?.ok_or(StoreError::NotFound)?;
    let (children,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM locations WHERE parent_id = $1").bind(id.0).fetch_one(&mut *c).await?;
    if children > 0 {
        return Err(StoreError::Conflict("this location still contains other locations".into()));
    }
    sqlx::query("DELETE FROM locations WHERE id = $1")
        .bind(id.0)
        .execute(&mut *c)
        .await
        .map_err(|e| StoreError::from_write(e, "location"))?;
    audit::record(
        c,
        actor,
        ObjectType::Location,
        id.0,
        Some(old.entity_id),
        AuditAction::Delete,
        &diff(&fields(&old), &[]),
    )
    .await?;
    Ok(())
}
