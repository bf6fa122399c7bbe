//! Ticket categories (a tree per entity, visible in its sub-entities) and groups of
//! technicians (assignment targets).

use crate::{audit, now, sql::Sql, Actor, Result, StoreError};
use parc_core::audit::{creation, diff, AuditAction, ObjectType};
use parc_core::entities::EntityTree;
use parc_core::validate::{check_text, clean, ValidationErrors};
use parc_core::{CategoryId, EntityId, GroupId, UserId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Category {
    pub id: CategoryId,
    pub entity_id: EntityId,
    pub parent_id: Option<CategoryId>,
    pub name: String,
    /// "Téléphonie > Poste fixe".
    pub path: String,
    pub comment: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    pub entity_id: Option<i64>,
    pub parent_id: Option<i64>,
    pub name: Option<String>,
    pub comment: Option<String>,
}

type CategoryRow = (i64, i64, Option<i64>, String, Option<String>);

fn with_paths(rows: Vec<CategoryRow>) -> Vec<Category> {
    let by_id: std::collections::HashMap<i64, &CategoryRow> = rows.iter().map(|r| (r.0, r)).collect();
    let mut out: Vec<Category> = rows
        .iter()
        .map(|r| {
            let mut names = vec![r.3.clone()];
            let mut cur = r.2;
            while let Some(p) = cur.and_then(|p| by_id.get(&p)) {
                if names.len() > 20 {
                    break;
                }
                names.push(p.3.clone());
                cur = p.2;
            }
            names.reverse();
            Category {
                id: CategoryId(r.0),
                entity_id: EntityId(r.1),
                parent_id: r.2.map(CategoryId),
                name: r.3.clone(),
                path: names.join(" > "),
                comment: r.4.clone(),
            }
        })
        .collect();
    out.sort_by_key(|c| c.path.to_lowercase());
    out
}

/// Categories defined on some entities, sorted by path.
pub async fn categories(c: &mut AnyConnection, entities: &[i64]) -> Result<Vec<Category>> {
    let mut sql = Sql::new("SELECT id, entity_id, parent_id, name, comment FROM ticket_categories WHERE ");
    sql.in_ints("entity_id", entities.iter().copied());
    let rows: Vec<CategoryRow> = sql.query_as().fetch_all(c).await?;
    Ok(with_paths(rows))
}

/// The categories usable for a ticket of `entity`: those of the entity and its ancestors.
pub async fn categories_for(c: &mut AnyConnection, tree: &EntityTree, entity: EntityId) -> Result<Vec<Category>> {
    let path: Vec<i64> = tree.path(entity).into_iter().map(|e| e.0).collect();
    categories(c, &path).await
}

pub async fn category(c: &mut AnyConnection, id: CategoryId) -> Result<Option<Category>> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT entity_id FROM ticket_categories WHERE id = $1")
        .bind(id.0)
        .fetch_optional(&mut *c)
        .await?;
    let Some((entity,)) = row else { return Ok(None) };
    Ok(categories(c, &[entity]).await?.into_iter().find(|x| x.id == id))
}

fn category_fields(x: &Category) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("entity_id", Some(x.entity_id.to_string())),
        ("parent_id", x.parent_id.map(|p| p.to_string())),
        ("name", Some(x.name.clone())),
        ("comment", x.comment.clone()),
    ]
}

/// Whether category `cat` is `ancestor` or lies somewhere below it.
async fn is_within(c: &mut AnyConnection, cat: CategoryId, ancestor: CategoryId) -> Result<bool> {
    let mut cur = Some(cat);
    for _ in 0..100 {
        match cur {
            None => return Ok(false),
            Some(id) if id == ancestor => return Ok(true),
            Some(id) => {
                let row: Option<(Option<i64>,)> =
                    sqlx::query_as("SELECT parent_id FROM ticket_categories WHERE id = $1")
                        .bind(id.0)
                        .fetch_optional(&mut *c)
                        .await?;
                cur = row.and_then(|r| r.0).map(CategoryId);
            }
        }
    }
    Ok(true)
}

async fn check_category(
    c: &mut AnyConnection,
    i: &CategoryInput,
    old: Option<&Category>,
) -> Result<(EntityId, Option<CategoryId>, String, Option<String>)> {
    let mut e = ValidationErrors::new();
    check_text(&mut e, "name", i.name.as_deref(), 200, false);
    check_text(&mut e, "comment", i.comment.as_deref(), 5000, true);
    let name = clean(i.name.as_deref()).or_else(|| old.map(|o| o.name.clone()));
    if name.is_none() {
        e.add("name", "required", "is required");
    }
    let entity = i.entity_id.map(EntityId).or(old.map(|o| o.entity_id));
    if entity.is_none() {
        e.add("entity_id", "required", "is required");
    }
    let parent = match i.parent_id {
        Some(p) => Some(CategoryId(p)),
        None if i.name.is_none() => old.and_then(|o| o.parent_id),
        None => None,
    };
    if let (Some(p), Some(ent)) = (parent, entity) {
        match category(c, p).await? {
            Some(pc) if pc.entity_id == ent => {
                let inside = match old {
                    Some(o) => is_within(c, p, o.id).await?,
                    None => false,
                };
                if inside || pc.path.split(" > ").count() > 10 {
                    e.add("parent_id", "cycle", "a category cannot be inside itself");
                }
            }
            _ => e.add("parent_id", "not_found", "is not a category of this entity"),
        }
    }
    e.into_result()?;
    Ok((entity.unwrap_or(EntityId(0)), parent, name.unwrap_or_default(), clean(i.comment.as_deref())))
}

pub async fn create_category(c: &mut AnyConnection, actor: &Actor, i: &CategoryInput) -> Result<Category> {
    let (entity, parent, name, comment) = check_category(c, i, None).await?;
    let t = now();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO ticket_categories (entity_id, parent_id, name, comment, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $5) RETURNING id",
    )
    .bind(entity.0)
    .bind(parent.map(|p| p.0))
    .bind(&name)
    .bind(&comment)
    .bind(&t)
    .fetch_one(&mut *c)
    .await
    .map_err(|e| StoreError::from_write(e, "a category with this name"))?;
    let x = category(c, CategoryId(id)).await?.ok_or(StoreError::NotFound)?;
    audit::record(
        c,
        actor,
        ObjectType::TicketCategory,
        id,
        Some(entity),
        AuditAction::Create,
        &creation(&category_fields(&x)),
    )
    .await?;
    Ok(x)
}

pub async fn update_category(
    c: &mut AnyConnection,
    actor: &Actor,
    id: CategoryId,
    i: &CategoryInput,
) -> Result<Category> {
    let old = category(c, id).await?.ok_or(StoreError::NotFound)?;
    let (entity, parent, name, comment) = check_category(c, i, Some(&old)).await?;
    if entity != old.entity_id {
        return Err(ValidationErrors::single("entity_id", "immutable", "a category stays in its entity").into());
    }
    sqlx::query("UPDATE ticket_categories SET parent_id = $1, name = $2, comment = $3, updated_at = $4 WHERE id = $5")
        .bind(parent.map(|p| p.0))
        .bind(&name)
        .bind(&comment)
        .bind(now())
        .bind(id.0)
        .execute(&mut *c)
        .await
        .map_err(|e| StoreError::from_write(e, "a category with this name"))?;
    let new = category(c, id).await?.ok_or(StoreError::NotFound)?;
    let changes = diff(&category_fields(&old), &category_fields(&new));
    if !changes.is_empty() {
        audit::record(c, actor, ObjectType::TicketCategory, id.0, Some(entity), AuditAction::Update, &changes).await?;
    }
    Ok(new)
}

/// Deletes an unused category: one that tickets name or that holds other categories is refused
/// (`Conflict`), since deleting it would silently strip tickets of their category.
pub async fn delete_category(c: &mut AnyConnection, actor: &Actor, id: CategoryId) -> Result<()> {
    let old = category(c, id).await?.ok_or(StoreError::NotFound)?;
    for (sql, why) in [
        ("SELECT 1 FROM tickets WHERE category_id = $1 LIMIT 1", "tickets use this category"),
        ("SELECT 1 FROM ticket_categories WHERE parent_id = $1 LIMIT 1", "this category holds other categories"),
    ] {
        let found: Option<(i64,)> = sqlx::query_as(sql).bind(id.0).fetch_optional(&mut *c).await?;
        if found.is_some() {
            return Err(StoreError::Conflict(why.into()));
        }
    }
    sqlx::query("DELETE FROM ticket_categories WHERE id = $1")
        .bind(id.0)
        .execute(&mut *c)
        .await
        .map_err(|e| StoreError::from_write(e, "this category"))?;
    audit::record(
        c,
        actor,
        ObjectType::TicketCategory,
        id.0,
        Some(old.entity_id),
        AuditAction::Delete,
        &diff(&category_fields(&old), &[]),
    )
    .await?;
    Ok(())
}

/// A group of technicians tickets can be assigned to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Group {
    pub id: GroupId,
    pub entity_id: EntityId,
    pub name: String,
    pub comment: Option<String>,
    pub members: Vec<GroupMember>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct GroupMember {
    pub user_id: UserId,
    pub display_name: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct GroupInput {
    pub entity_id: Option<i64>,
    pub name: Option<String>,
    pub comment: Option<String>,
    pub member_ids: Option<Vec<i64>>,
}

/// Groups defined on some entities, with their members, sorted by name.
pub async fn groups(c: &mut AnyConnection, entities: &[i64]) -> Result<Vec<Group>> {
    let mut sql = Sql::new("SELECT id, entity_id, name, comment FROM user_groups WHERE ");
    sql.in_ints("entity_id", entities.iter().copied());
    sql.push(" ORDER BY lower(name), id");
    let rows: Vec<(i64, i64, String, Option<String>)> = sql.query_as().fetch_all(&mut *c).await?;
    let mut members = Sql::new(
        "SELECT m.group_id, u.id, u.display_name FROM user_group_members m JOIN users u ON u.id = m.user_id WHERE ",
    );
    members.in_ints("m.group_id", rows.iter().map(|r| r.0));
    members.push(" ORDER BY lower(u.display_name)");
    let ms: Vec<(i64, i64, String)> = members.query_as().fetch_all(c).await?;
    Ok(rows
        .into_iter()
        .map(|(id, entity, name, comment)| Group {
            id: GroupId(id),
            entity_id: EntityId(entity),
            name,
            comment,
            members: ms
                .iter()
                .filter(|m| m.0 == id)
                .map(|m| GroupMember { user_id: UserId(m.1), display_name: m.2.clone() })
                .collect(),
        })
        .collect())
}

pub async fn group(c: &mut AnyConnection, id: GroupId) -> Result<Option<Group>> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT entity_id FROM user_groups WHERE id = $1").bind(id.0).fetch_optional(&mut *c).await?;
    let Some((entity,)) = row else { return Ok(None) };
    Ok(groups(c, &[entity]).await?.into_iter().find(|g| g.id == id))
}

fn group_fields(g: &Group) -> Vec<(&'static str, Option<String>)> {
    let members: Vec<String> = g.members.iter().map(|m| m.user_id.to_string()).collect();
    vec![
        ("entity_id", Some(g.entity_id.to_string())),
        ("name", Some(g.name.clone())),
        ("comment", g.comment.clone()),
        ("members", Some(members.join(","))),
    ]
}

async fn save_group(c: &mut AnyConnection, actor: &Actor, id: Option<GroupId>, i: &GroupInput) -> Result<Group> {
    let old = match id {
        Some(id) => Some(group(c, id).await?.ok_or(StoreError::NotFound)?),
        None => None,
    };
    let mut e = ValidationErrors::new();
    check_text(&mut e, "name", i.name.as_deref(), 200, false);
    check_text(&mut e, "comment", i.comment.as_deref(), 5000, true);
    let name = clean(i.name.as_deref()).or_else(|| old.as_ref().map(|o| o.name.clone()));
    if name.is_none() {
        e.add("name", "required", "is required");
    }
    let entity = i.entity_id.map(EntityId).or(old.as_ref().map(|o| o.entity_id));
    if entity.is_none() {
        e.add("entity_id", "required", "is required");
    }
    if let (Some(o), Some(ent)) = (&old, entity) {
        if o.entity_id != ent {
            e.add("entity_id", "immutable", "a group stays in its entity");
        }
    }
    let members: Option<Vec<i64>> = i.member_ids.clone().map(|mut m| {
        m.sort_unstable();
        m.dedup();
        m
    });
    if let Some(m) = &members {
        let mut q = Sql::new("SELECT COUNT(*) FROM users WHERE ");
        q.in_ints("id", m.iter().copied());
        let (n,): (i64,) = q.query_as().fetch_one(&mut *c).await?;
        if n != m.len() as i64 {
            e.add("member_ids", "not_found", "names a user that does not exist");
        }
    }
    e.into_result()?;
    let (name, entity) = (name.unwrap_or_default(), entity.unwrap_or(EntityId(0)));
    let comment = clean(i.comment.as_deref()).or_else(|| {
        if i.comment.is_some() {
            None
        } else {
            old.as_ref().and_then(|o| o.comment.clone())
        }
    });
    let gid = match id {
        Some(id) => {
            sqlx::query("UPDATE user_groups SET name = $1, comment = $2, updated_at = $3 WHERE id = $4")
                .bind(&name)
                .bind(&comment)
                .bind(now())
                .bind(id.0)
                .execute(&mut *c)
                .await
                .map_err(|e| StoreError::from_write(e, "a group with this name"))?;
            id
        }
        None => {
            let t = now();
            let (gid,): (i64,) = sqlx::query_as(
                "INSERT INTO user_groups (entity_id, name, comment, created_at, updated_at) VALUES ($1, $2, $3, $4, $4) RETURNING id",
            )
            .bind(entity.0)
            .bind(&name)
            .bind(&comment)
            .bind(&t)
            .fetch_one(&mut *c)
            .await
            .map_err(|e| StoreError::from_write(e, "a group with this name"))?;
            GroupId(gid)
        }
    };
    if let Some(m) = members {
        sqlx::query("DELETE FROM user_group_members WHERE group_id = $1").bind(gid.0).execute(&mut *c).await?;
        for u in m {
            sqlx::query("INSERT INTO user_group_members (group_id, user_id) VALUES ($1, $2)")
                .bind(gid.0)
                .bind(u)
                .execute(&mut *c)
                .await?;
        }
    }
    let new = group(c, gid).await?.ok_or(StoreError::NotFound)?;
    let changes = match &old {
        Some(o) => diff(&group_fields(o), &group_fields(&new)),
        None => creation(&group_fields(&new)),
    };
    if !changes.is_empty() {
        let action = if old.is_some() { AuditAction::Update } else { AuditAction::Create };
        audit::record(c, actor, ObjectType::Group, gid.0, Some(entity), action, &changes).await?;
    }
    Ok(new)
}

pub async fn create_group(c: &mut AnyConnection, actor: &Actor, i: &GroupInput) -> Result<Group> {
    save_group(c, actor, None, i).await
}

pub async fn update_group(c: &mut AnyConnection, actor: &Actor, id: GroupId, i: &GroupInput) -> Result<Group> {
    save_group(c, actor, Some(id), i).await
}
