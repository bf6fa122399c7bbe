//! Tickets: creation with priority and SLA deadlines, the lifecycle, assignment, follow-ups,
//! tasks (time spent, appointments, on-site interventions), observers and linked assets.
//! Every change is audited on the ticket in the caller's transaction.

use super::HelpdeskConfig;
use crate::sql::Sql;
use crate::{audit, fmt_time, now, Actor, Backend, Result, StoreError};
use chrono::{DateTime, Duration, Utc};
use parc_core::audit::{creation, diff, AuditAction, FieldChange, ObjectType};
use parc_core::entities::EntityTree;
use parc_core::helpdesk::{
    check_transition, is_level, is_priority, paused_business_time, SlaDeadlines, SlaFlag, TicketStatus, TicketType,
};
use parc_core::permissions::{Action, Object, Scope};
use parc_core::validate::{check_text, clean, normalize_phone, ValidationErrors};
use parc_core::{AssetId, CategoryId, EntityId, FollowupId, GroupId, LocationId, TaskId, TicketId, UserId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

/// A ticket as pages and the API show it (names of the people and things it refers to joined).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Ticket {
    pub id: TicketId,
    pub entity_id: EntityId,
    pub kind: TicketType,
    pub status: TicketStatus,
    pub title: String,
    pub description: String,
    pub requester_user_id: Option<UserId>,
    /// The requester's name: the user's display name, or the free name of a caller.
    pub requester_label: Option<String>,
    pub requester_phone: Option<String>,
    pub on_behalf_user_id: Option<UserId>,
    pub on_behalf_label: Option<String>,
    pub category_id: Option<CategoryId>,
    pub category_name: Option<String>,
    pub location_id: Option<LocationId>,
    pub location_name: Option<String>,
    pub urgency: u8,
    pub impact: u8,
    pub priority: u8,
    pub assignee_user_id: Option<UserId>,
    pub assignee_label: Option<String>,
    pub assignee_group_id: Option<GroupId>,
    pub assignee_group_name: Option<String>,
    pub created_by_user_id: Option<UserId>,
    pub created_by_label: String,
    pub source: String,
    pub solution: Option<String>,
    pub satisfaction: Option<u8>,
    pub satisfaction_comment: Option<String>,
    pub own_due_at: Option<String>,
    pub own_warn_at: Option<String>,
    pub resolve_due_at: Option<String>,
    pub resolve_warn_at: Option<String>,
    pub pending_since: Option<String>,
    pub paused_seconds: i64,
    pub owned_at: Option<String>,
    pub solved_at: Option<String>,
    pub closed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    /// The worse of the two SLA flags (time to own, time to resolve) at read time.
    pub sla: SlaFlag,
}

#[derive(sqlx::FromRow)]
struct Row {
    id: i64,
    entity_id: i64,
    kind: String,
    status: String,
    title: String,
    description: String,
    requester_user_id: Option<i64>,
    requester_display: Option<String>,
    requester_name: Option<String>,
    requester_phone: Option<String>,
    requester_user_phone: Option<String>,
    on_behalf_user_id: Option<i64>,
    on_behalf_display: Option<String>,
    category_id: Option<i64>,
    category_name: Option<String>,
    location_id: Option<i64>,
    location_name: Option<String>,
    urgency: i64,
    impact: i64,
    priority: i64,
    assignee_user_id: Option<i64>,
    assignee_display: Option<String>,
    assignee_group_id: Option<i64>,
    group_name: Option<String>,
    created_by_user_id: Option<i64>,
    created_by_label: String,
    source: String,
    solution: Option<String>,
    satisfaction: Option<i64>,
    satisfaction_comment: Option<String>,
    own_due_at: Option<String>,
    own_warn_at: Option<String>,
    resolve_due_at: Option<String>,
    resolve_warn_at: Option<String>,
    pending_since: Option<String>,
    paused_seconds: i64,
    owned_at: Option<String>,
    solved_at: Option<String>,
    closed_at: Option<String>,
    created_at: String,
    updated_at: String,
}

fn parse_time(s: &Option<String>) -> Option<DateTime<Utc>> {
    s.as_deref().and_then(|v| DateTime::parse_from_rfc3339(v).ok()).map(|d| d.with_timezone(&Utc))
}

impl From<Row> for Ticket {
    fn from(r: Row) -> Self {
        let status: TicketStatus = r.status.parse().unwrap_or(TicketStatus::New);
        let mut t = Ticket {
            id: TicketId(r.id),
            entity_id: EntityId(r.entity_id),
            kind: r.kind.parse().unwrap_or(TicketType::Incident),
            status,
            title: r.title,
            description: r.description,
            requester_user_id: r.requester_user_id.map(UserId),
            requester_label: r.requester_display.or(r.requester_name),
            requester_phone: r.requester_phone.or(r.requester_user_phone),
            on_behalf_user_id: r.on_behalf_user_id.map(UserId),
            on_behalf_label: r.on_behalf_display,
            category_id: r.category_id.map(CategoryId),
            category_name: r.category_name,
            location_id: r.location_id.map(LocationId),
            location_name: r.location_name,
            urgency: r.urgency as u8,
            impact: r.impact as u8,
            priority: r.priority as u8,
            assignee_user_id: r.assignee_user_id.map(UserId),
            assignee_label: r.assignee_display,
            assignee_group_id: r.assignee_group_id.map(GroupId),
            assignee_group_name: r.group_name,
            created_by_user_id: r.created_by_user_id.map(UserId),
            created_by_label: r.created_by_label,
            source: r.source,
            solution: r.solution,
            satisfaction: r.satisfaction.map(|s| s as u8),
            satisfaction_comment: r.satisfaction_comment,
            own_due_at: r.own_due_at,
            own_warn_at: r.own_warn_at,
            resolve_due_at: r.resolve_due_at,
            resolve_warn_at: r.resolve_warn_at,
            pending_since: r.pending_since,
            paused_seconds: r.paused_seconds,
            owned_at: r.owned_at,
            solved_at: r.solved_at,
            closed_at: r.closed_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
            sla: SlaFlag::Ok,
        };
        t.sla = t.sla_flag(Utc::now());
        t
    }
}

impl Ticket {
    fn deadlines(&self) -> SlaDeadlines {
        SlaDeadlines {
            own_due_at: parse_time(&self.own_due_at),
            own_warn_at: parse_time(&self.own_warn_at),
            resolve_due_at: parse_time(&self.resolve_due_at),
            resolve_warn_at: parse_time(&self.resolve_warn_at),
        }
    }

    /// The worse of the time-to-own and time-to-resolve flags at `now` (a pending ticket's
    /// clock stands still at the start of its pause).
    pub fn sla_flag(&self, now: DateTime<Utc>) -> SlaFlag {
        let d = self.deadlines();
        let at = parse_time(&self.pending_since).unwrap_or(now);
        let own = d.own_flag(now, parse_time(&self.owned_at));
        let resolve = d.resolve_flag(at, parse_time(&self.solved_at));
        [own, resolve].into_iter().max_by_key(|f| rank(*f)).unwrap_or(SlaFlag::Ok)
    }

    /// Whether `me` is this ticket's requester, the person it is for, or (checked elsewhere) an
    /// observer: what a requester's own-only scope admits.
    pub fn concerns(&self, me: UserId) -> bool {
        self.requester_user_id == Some(me) || self.on_behalf_user_id == Some(me)
    }
}

fn rank(f: SlaFlag) -> u8 {
    match f {
        SlaFlag::Ok => 0,
        SlaFlag::AtRisk => 1,
        SlaFlag::Breached => 2,
    }
}

const SELECT: &str = "SELECT t.id, t.entity_id, t.kind, t.status, t.title, t.description, \
    t.requester_user_id, ru.display_name AS requester_display, t.requester_name, t.requester_phone, \
    ru.phone AS requester_user_phone, t.on_behalf_user_id, ou.display_name AS on_behalf_display, \
    t.category_id, cat.name AS category_name, t.location_id, l.name AS location_name, \
    t.urgency, t.impact, t.priority, t.assignee_user_id, au.display_name AS assignee_display, \
    t.assignee_group_id, g.name AS group_name, t.created_by_user_id, t.created_by_label, t.source, \
    t.solution, t.satisfaction, t.satisfaction_comment, t.own_due_at, t.own_warn_at, t.resolve_due_at, \
    t.resolve_warn_at, t.pending_since, t.paused_seconds, t.owned_at, t.solved_at, t.closed_at, \
    t.created_at, t.updated_at \
    FROM tickets t \
    LEFT JOIN users ru ON ru.id = t.requester_user_id \
    LEFT JOIN users ou ON ou.id = t.on_behalf_user_id \
    LEFT JOIN users au ON au.id = t.assignee_user_id \
    LEFT JOIN user_groups g ON g.id = t.assignee_group_id \
    LEFT JOIN ticket_categories cat ON cat.id = t.category_id \
    LEFT JOIN locations l ON l.id = t.location_id";

pub async fn get(c: &mut AnyConnection, id: TicketId) -> Result<Option<Ticket>> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE t.id = $1")).bind(id.0).fetch_optional(c).await?;
    Ok(row.map(Into::into))
}

/// Whether `user` observes the ticket.
pub async fn is_observer(c: &mut AnyConnection, id: TicketId, user: UserId) -> Result<bool> {
    let row: Option<(i64,)> = sqlx::query_as("SELECT 1 FROM ticket_observers WHERE ticket_id = $1 AND user_id = $2")
        .bind(id.0)
        .bind(user.0)
        .fetch_optional(c)
        .await?;
    Ok(row.is_some())
}

/// What a ticket form or API call sends. On update, absent fields keep their value.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TicketInput {
    pub entity_id: Option<i64>,
    /// "incident" or "request".
    pub kind: Option<String>,
    pub title: Option<String>,
    pub description: Option<String>,
    pub requester_user_id: Option<i64>,
    /// A caller without an account: free name and phone.
    pub requester_name: Option<String>,
    pub requester_phone: Option<String>,
    pub on_behalf_user_id: Option<i64>,
    pub category_id: Option<i64>,
    pub location_id: Option<i64>,
    /// 1 (very low) to 5 (very high); 3 when absent.
    pub urgency: Option<i64>,
    pub impact: Option<i64>,
    /// Set by hand (1-6, 6 = major); otherwise the priority matrix decides.
    pub priority: Option<i64>,
    pub assignee_user_id: Option<i64>,
    pub assignee_group_id: Option<i64>,
    pub asset_ids: Option<Vec<i64>>,
    pub observer_ids: Option<Vec<i64>>,
    /// Where the ticket came from: web, hotline, qr, api, email.
    pub source: Option<String>,
}

/// A validated ticket, ready to store.
#[derive(Debug, Clone)]
struct Draft {
    entity_id: EntityId,
    kind: TicketType,
    title: String,
    description: String,
    requester_user_id: Option<UserId>,
    requester_name: Option<String>,
    requester_phone: Option<String>,
    on_behalf_user_id: Option<UserId>,
    category_id: Option<CategoryId>,
    location_id: Option<LocationId>,
    urgency: u8,
    impact: u8,
    priority: u8,
    assignee_user_id: Option<UserId>,
    assignee_group_id: Option<GroupId>,
    asset_ids: Vec<AssetId>,
    observer_ids: Vec<UserId>,
    source: String,
}

const SOURCES: &[&str] = &["web", "hotline", "qr", "api", "email", "monitoring"];

fn level(e: &mut ValidationErrors, field: &str, v: Option<i64>, old: Option<u8>) -> u8 {
    match v {
        Some(v) if (1..=5).contains(&v) && is_level(v as u8) => v as u8,
        Some(_) => {
            e.add(field, "level_range", "must be between 1 and 5");
            3
        }
        None => old.unwrap_or(3),
    }
}

async fn user_exists(c: &mut AnyConnection, id: i64) -> Result<bool> {
    let row: Option<(i64,)> =
        sqlx::query_as("SELECT 1 FROM users WHERE id = $1 AND active = 1").bind(id).fetch_optional(c).await?;
    Ok(row.is_some())
}

/// `id` as a user reference, noting on `field` when it is not an active user.
async fn active_user(c: &mut AnyConnection, e: &mut ValidationErrors, field: &str, id: i64) -> Result<UserId> {
    if !user_exists(c, id).await? {
        e.add(field, "not_found", "is not an active user");
    }
    Ok(UserId(id))
}

/// Marks a ticket as changed at `at` (a follow-up, a signed sheet or a file was added to it).
pub(super) async fn touch(c: &mut AnyConnection, id: TicketId, at: &str) -> Result<()> {
    sqlx::query("UPDATE tickets SET updated_at = $1 WHERE id = $2").bind(at).bind(id.0).execute(&mut *c).await?;
    Ok(())
}

/// Whether `user` may work on tickets of `entity` (a technician, hotline or admin there).
pub async fn can_handle(c: &mut AnyConnection, tree: &EntityTree, user: UserId, entity: EntityId) -> Result<bool> {
    let grants = crate::users::grants(c, user).await?;
    Ok(grants.can(tree, Object::Ticket, Action::Update, entity))
}

async fn validate(
    c: &mut AnyConnection,
    cfg: &HelpdeskConfig,
    tree: &EntityTree,
    i: &TicketInput,
    old: Option<&Ticket>,
) -> Result<Draft> {
    let mut e = ValidationErrors::new();
    check_text(&mut e, "title", i.title.as_deref(), 255, false);
    check_text(&mut e, "description", i.description.as_deref(), 100_000, true);
    check_text(&mut e, "requester_name", i.requester_name.as_deref(), 200, false);
    let title = match &i.title {
        Some(t) => clean(Some(t)),
        None => old.map(|o| o.title.clone()),
    };
    if title.is_none() {
        e.add("title", "required", "is required");
    }
    let entity_id = i.entity_id.map(EntityId).or(old.map(|o| o.entity_id));
    match entity_id {
        None => e.add("entity_id", "required", "is required"),
        Some(ent) if !tree.contains(ent) => e.add("entity_id", "not_found", "is not an entity"),
        _ => {}
    }
    let ent = entity_id.unwrap_or(EntityId(0));
    if let Some(o) = old {
        if o.entity_id != ent {
            e.add("entity_id", "immutable", "a ticket stays in its entity");
        }
    }
    let kind = match i.kind.as_deref() {
        Some(k) => k.parse().unwrap_or_else(|_| {
            e.add("kind", "invalid", "must be incident or request");
            TicketType::Incident
        }),
        None => old.map(|o| o.kind).unwrap_or(TicketType::Incident),
    };
    let urgency = level(&mut e, "urgency", i.urgency, old.map(|o| o.urgency));
    let impact = level(&mut e, "impact", i.impact, old.map(|o| o.impact));
    let priority = match i.priority {
        Some(p) if (1..=6).contains(&p) && is_priority(p as u8) => p as u8,
        Some(_) => {
            e.add("priority", "priority_range", "must be between 1 and 6");
            3
        }
        None => {
            let changed = old.is_none_or(|o| o.urgency != urgency || o.impact != impact);
            match (changed, old) {
                (false, Some(o)) => o.priority,
                _ => cfg.matrix.priority(urgency, impact).unwrap_or(3),
            }
        }
    };
    // Requester: a user, or a free name (a phone alone is not enough to call back someone).
    let requester_user_id = match i.requester_user_id {
        Some(u) => Some(active_user(c, &mut e, "requester_user_id", u).await?),
        None if i.requester_name.is_some() => None,
        None => old.and_then(|o| o.requester_user_id),
    };
    let requester_name = match &i.requester_name {
        Some(n) => clean(Some(n)),
        None if i.requester_user_id.is_some() => None,
        // A free-name requester keeps their name; a user requester has none of their own.
        None => old.filter(|o| o.requester_user_id.is_none()).and_then(|o| o.requester_label.clone()),
    };
    let requester_phone = match &i.requester_phone {
        Some(p) if p.trim().is_empty() => None,
        Some(p) => match normalize_phone(p) {
            Ok(v) => Some(v),
            Err(msg) => {
                e.add("requester_phone", "phone", msg);
                None
            }
        },
        None => old.filter(|o| o.requester_user_id.is_none()).and_then(|o| o.requester_phone.clone()),
    };
    if requester_user_id.is_none() && requester_name.is_none() {
        e.add("requester_name", "required", "a requester (a user or a name) is required");
    }
    let on_behalf_user_id = match i.on_behalf_user_id {
        Some(u) => Some(active_user(c, &mut e, "on_behalf_user_id", u).await?),
        None => old.and_then(|o| o.on_behalf_user_id),
    };
    let category_id = match i.category_id {
        Some(id) => {
            match super::category(c, CategoryId(id)).await? {
                Some(cat) if tree.is_within(ent, cat.entity_id) => {}
                _ => e.add("category_id", "not_found", "is not a category of this entity"),
            }
            Some(CategoryId(id))
        }
        None => old.and_then(|o| o.category_id),
    };
    let location_id = match i.location_id {
        Some(id) => {
            match crate::locations::get(c, LocationId(id)).await? {
                Some(l) if tree.is_within(l.entity_id, ent) || tree.is_within(ent, l.entity_id) => {}
                _ => e.add("location_id", "not_found", "is not a location of this entity"),
            }
            Some(LocationId(id))
        }
        None => old.and_then(|o| o.location_id),
    };
    let assignee_user_id = match i.assignee_user_id {
        Some(u) => {
            if !user_exists(c, u).await? || !can_handle(c, tree, UserId(u), ent).await? {
                e.add("assignee_user_id", "not_technician", "is not a technician of this entity");
            }
            Some(UserId(u))
        }
        None => old.and_then(|o| o.assignee_user_id),
    };
    let assignee_group_id = match i.assignee_group_id {
        Some(g) => {
            match super::group(c, GroupId(g)).await? {
                Some(gr) if tree.is_within(ent, gr.entity_id) => {}
                _ => e.add("assignee_group_id", "not_found", "is not a group of this entity"),
            }
            Some(GroupId(g))
        }
        None => old.and_then(|o| o.assignee_group_id),
    };
    let mut asset_ids = Vec::new();
    for a in i.asset_ids.iter().flatten() {
        match crate::assets::get(c, AssetId(*a)).await? {
            Some(asset) if tree.is_within(asset.entity_id, ent) => asset_ids.push(AssetId(*a)),
            _ => {
                e.add("asset_ids", "foreign_entity", "names an asset that is not in the ticket's entity");
                break;
            }
        }
    }
    asset_ids.sort();
    asset_ids.dedup();
    let mut observer_ids = Vec::new();
    for u in i.observer_ids.iter().flatten() {
        if !user_exists(c, *u).await? {
            e.add("observer_ids", "not_found", "names a user that does not exist");
            break;
        }
        observer_ids.push(UserId(*u));
    }
    observer_ids.sort();
    observer_ids.dedup();
    let source = i.source.clone().unwrap_or_else(|| old.map(|o| o.source.clone()).unwrap_or_else(|| "web".into()));
    if !SOURCES.contains(&source.as_str()) {
        e.add("source", "invalid", "is not a known source");
    }
    e.into_result()?;
    Ok(Draft {
        entity_id: ent,
        kind,
        title: title.unwrap_or_default(),
        description: match &i.description {
            Some(d) => d.trim().to_owned(),
            None => old.map(|o| o.description.clone()).unwrap_or_default(),
        },
        requester_user_id,
        requester_name,
        requester_phone,
        on_behalf_user_id,
        category_id,
        location_id,
        urgency,
        impact,
        priority,
        assignee_user_id,
        assignee_group_id,
        asset_ids,
        observer_ids,
        source,
    })
}

fn search_text(id: i64, d: &Draft) -> String {
    [Some(format!("#{id}")), Some(d.title.clone()), d.requester_name.clone(), d.requester_phone.clone()]
        .into_iter()
        .flatten()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

fn fields(t: &Ticket) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("entity_id", Some(t.entity_id.to_string())),
        ("kind", Some(t.kind.as_str().to_owned())),
        ("status", Some(t.status.as_str().to_owned())),
        ("title", Some(t.title.clone())),
        ("description", Some(t.description.clone()).filter(|d| !d.is_empty())),
        ("requester_user_id", t.requester_user_id.map(|u| u.to_string())),
        ("requester", t.requester_label.clone().filter(|_| t.requester_user_id.is_none())),
        ("requester_phone", t.requester_phone.clone().filter(|_| t.requester_user_id.is_none())),
        ("on_behalf_user_id", t.on_behalf_user_id.map(|u| u.to_string())),
        ("category_id", t.category_id.map(|x| x.to_string())),
        ("location_id", t.location_id.map(|x| x.to_string())),
        ("urgency", Some(t.urgency.to_string())),
        ("impact", Some(t.impact.to_string())),
        ("priority", Some(t.priority.to_string())),
        ("assignee_user_id", t.assignee_user_id.map(|x| x.to_string())),
        ("assignee_group_id", t.assignee_group_id.map(|x| x.to_string())),
        ("solution", t.solution.clone()),
        ("satisfaction", t.satisfaction.map(|x| x.to_string())),
    ]
}

/// The deadlines of a ticket of `entity` opened at `opened`, after `paused` business time.
fn deadlines(
    cfg: &HelpdeskConfig,
    tree: &EntityTree,
    entity: EntityId,
    priority: u8,
    opened: DateTime<Utc>,
    paused: Duration,
) -> SlaDeadlines {
    let cal = cfg.calendar_for(tree, entity);
    cfg.sla.deadlines(&cal, priority, opened, paused)
}

fn ts(t: Option<DateTime<Utc>>) -> Option<String> {
    t.map(fmt_time)
}

/// Opens a ticket. Its status is `assigned` when someone is assigned, else `new`.
pub async fn create(
    c: &mut AnyConnection,
    actor: &Actor,
    cfg: &HelpdeskConfig,
    tree: &EntityTree,
    i: &TicketInput,
) -> Result<Ticket> {
    let d = validate(c, cfg, tree, i, None).await?;
    let opened = Utc::now();
    let t = fmt_time(opened);
    let assigned = d.assignee_user_id.is_some() || d.assignee_group_id.is_some();
    let status = TicketStatus::INITIAL.after_assignment_change(assigned);
    let dl = deadlines(cfg, tree, d.entity_id, d.priority, opened, Duration::zero());
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO tickets (entity_id, kind, status, title, description, requester_user_id, requester_name, \
         requester_phone, on_behalf_user_id, category_id, location_id, urgency, impact, priority, assignee_user_id, \
         assignee_group_id, created_by_user_id, created_by_label, source, own_due_at, own_warn_at, resolve_due_at, \
         resolve_warn_at, owned_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $25) \
         RETURNING id",
    )
    .bind(d.entity_id.0)
    .bind(d.kind.as_str())
    .bind(status.as_str())
    .bind(&d.title)
    .bind(&d.description)
    .bind(d.requester_user_id.map(|u| u.0))
    .bind(&d.requester_name)
    .bind(&d.requester_phone)
    .bind(d.on_behalf_user_id.map(|u| u.0))
    .bind(d.category_id.map(|x| x.0))
    .bind(d.location_id.map(|x| x.0))
    .bind(i64::from(d.urgency))
    .bind(i64::from(d.impact))
    .bind(i64::from(d.priority))
    .bind(d.assignee_user_id.map(|x| x.0))
    .bind(d.assignee_group_id.map(|x| x.0))
    .bind(actor.user_id.map(|u| u.0))
    .bind(&actor.label)
    .bind(&d.source)
    .bind(ts(dl.own_due_at))
    .bind(ts(dl.own_warn_at))
    .bind(ts(dl.resolve_due_at))
    .bind(ts(dl.resolve_warn_at))
    .bind(assigned.then(|| t.clone()))
    .bind(&t)
    .fetch_one(&mut *c)
    .await
    .map_err(|e| StoreError::from_write(e, "ticket"))?;
    sqlx::query("UPDATE tickets SET search_text = $1 WHERE id = $2")
        .bind(search_text(id, &d))
        .bind(id)
        .execute(&mut *c)
        .await?;
    for a in &d.asset_ids {
        sqlx::query("INSERT INTO ticket_assets (ticket_id, asset_id) VALUES ($1, $2)")
            .bind(id)
            .bind(a.0)
            .execute(&mut *c)
            .await?;
    }
    for u in &d.observer_ids {
        sqlx::query("INSERT INTO ticket_observers (ticket_id, user_id) VALUES ($1, $2)")
            .bind(id)
            .bind(u.0)
            .execute(&mut *c)
            .await?;
    }
    let ticket = get(c, TicketId(id)).await?.ok_or(StoreError::NotFound)?;
    let mut changes = creation(&fields(&ticket));
    if !d.asset_ids.is_empty() {
        changes.push(FieldChange {
            field: "asset_ids".into(),
            old: None,
            new: Some(join_ids(d.asset_ids.iter().map(|a| a.0))),
        });
    }
    audit::record(c, actor, ObjectType::Ticket, id, Some(ticket.entity_id), AuditAction::Create, &changes).await?;
    super::notify::ticket_created(c, actor, &ticket).await?;
    Ok(ticket)
}

fn join_ids(ids: impl Iterator<Item = i64>) -> String {
    ids.map(|i| i.to_string()).collect::<Vec<_>>().join(",")
}

async fn write_row(
    c: &mut AnyConnection,
    id: TicketId,
    d: &Draft,
    status: TicketStatus,
    dl: &SlaDeadlines,
    keep_resolve: bool,
) -> Result<()> {
    let mut sql = Sql::new("UPDATE tickets SET kind = ");
    sql.bind_text(d.kind.as_str())
        .push(", status = ")
        .bind_text(status.as_str())
        .push(", title = ")
        .bind_text(d.title.clone())
        .push(", description = ")
        .bind_text(d.description.clone())
        .push(", requester_user_id = ")
        .bind_opt_int(d.requester_user_id.map(|u| u.0))
        .push(", requester_name = ")
        .bind_opt_text(d.requester_name.clone())
        .push(", requester_phone = ")
        .bind_opt_text(d.requester_phone.clone())
        .push(", on_behalf_user_id = ")
        .bind_opt_int(d.on_behalf_user_id.map(|u| u.0))
        .push(", category_id = ")
        .bind_opt_int(d.category_id.map(|x| x.0))
        .push(", location_id = ")
        .bind_opt_int(d.location_id.map(|x| x.0))
        .push(", urgency = ")
        .bind_int(i64::from(d.urgency))
        .push(", impact = ")
        .bind_int(i64::from(d.impact))
        .push(", priority = ")
        .bind_int(i64::from(d.priority))
        .push(", assignee_user_id = ")
        .bind_opt_int(d.assignee_user_id.map(|x| x.0))
        .push(", assignee_group_id = ")
        .bind_opt_int(d.assignee_group_id.map(|x| x.0))
        .push(", own_due_at = ")
        .bind_opt_text(ts(dl.own_due_at))
        .push(", own_warn_at = ")
        .bind_opt_text(ts(dl.own_warn_at));
    if !keep_resolve {
        sql.push(", resolve_due_at = ")
            .bind_opt_text(ts(dl.resolve_due_at))
            .push(", resolve_warn_at = ")
            .bind_opt_text(ts(dl.resolve_warn_at));
    }
    sql.push(", search_text = ")
        .bind_text(search_text(id.0, d))
        .push(", updated_at = ")
        .bind_text(now())
        .push(" WHERE id = ")
        .bind_int(id.0);
    sql.execute(c).await.map_err(|e| StoreError::from_write(e, "ticket"))?;
    Ok(())
}

/// Changes a ticket's fields (absent ones are kept). A changed urgency/impact recomputes the
/// priority through the matrix; a changed priority recomputes the SLA deadlines. Assigning the
/// first technician moves a new ticket to `assigned` (and removing the last one back to `new`).
pub async fn update(
    c: &mut AnyConnection,
    actor: &Actor,
    cfg: &HelpdeskConfig,
    tree: &EntityTree,
    id: TicketId,
    i: &TicketInput,
) -> Result<Ticket> {
    let old = get(c, id).await?.ok_or(StoreError::NotFound)?;
    if old.status == TicketStatus::Closed {
        return Err(ValidationErrors::single("status", "closed", "a closed ticket cannot be changed").into());
    }
    if i.asset_ids.is_some() || i.observer_ids.is_some() {
        return Err(ValidationErrors::single(
            "asset_ids",
            "separate",
            "link assets and observers with their own calls",
        )
        .into());
    }
    let mut input = i.clone();
    // Explicit clearing of the assignment: the API sends 0 to unassign.
    let clear_user = input.assignee_user_id == Some(0);
    let clear_group = input.assignee_group_id == Some(0);
    if clear_user {
        input.assignee_user_id = None;
    }
    if clear_group {
        input.assignee_group_id = None;
    }
    let mut d = validate(c, cfg, tree, &input, Some(&old)).await?;
    if clear_user {
        d.assignee_user_id = None;
    }
    if clear_group {
        d.assignee_group_id = None;
    }
    let assigned = d.assignee_user_id.is_some() || d.assignee_group_id.is_some();
    let status = old.status.after_assignment_change(assigned);
    let opened = parse_time(&Some(old.created_at.clone())).unwrap_or_else(Utc::now);
    let paused = Duration::seconds(old.paused_seconds);
    let dl = deadlines(cfg, tree, old.entity_id, d.priority, opened, paused);
    write_row(c, id, &d, status, &dl, old.status == TicketStatus::Pending).await?;
    if assigned && old.owned_at.is_none() {
        sqlx::query("UPDATE tickets SET owned_at = $1 WHERE id = $2").bind(now()).bind(id.0).execute(&mut *c).await?;
    }
    let new = get(c, id).await?.ok_or(StoreError::NotFound)?;
    let changes = diff(&fields(&old), &fields(&new));
    if !changes.is_empty() {
        audit::record(c, actor, ObjectType::Ticket, id.0, Some(new.entity_id), AuditAction::Update, &changes).await?;
    }
    super::notify::ticket_updated(c, actor, &old, &new).await?;
    Ok(new)
}

/// Moves a ticket through its lifecycle. `solved` needs a solution text; leaving `pending`
/// adds the pause (in business time) to the ticket and pushes its resolution deadlines back.
pub async fn set_status(
    c: &mut AnyConnection,
    actor: &Actor,
    cfg: &HelpdeskConfig,
    tree: &EntityTree,
    id: TicketId,
    to: TicketStatus,
    solution: Option<&str>,
) -> Result<Ticket> {
    let old = get(c, id).await?.ok_or(StoreError::NotFound)?;
    check_transition(old.status, to).map_err(ValidationErrors::from)?;
    let now_t = Utc::now();
    let n = fmt_time(now_t);
    let mut sql = Sql::new("UPDATE tickets SET status = ");
    sql.bind_text(to.as_str()).push(", updated_at = ").bind_text(n.clone());
    // Leaving a pause: count it and move the resolution deadlines.
    if old.status == TicketStatus::Pending {
        let cal = cfg.calendar_for(tree, old.entity_id);
        let since = parse_time(&old.pending_since).unwrap_or(now_t);
        let paused = Duration::seconds(old.paused_seconds) + paused_business_time(&cal, since, now_t);
        let opened = parse_time(&Some(old.created_at.clone())).unwrap_or(now_t);
        let dl = cfg.sla.deadlines(&cal, old.priority, opened, paused);
        sql.push(", pending_since = NULL, paused_seconds = ")
            .bind_int(paused.num_seconds())
            .push(", resolve_due_at = ")
            .bind_opt_text(ts(dl.resolve_due_at))
            .push(", resolve_warn_at = ")
            .bind_opt_text(ts(dl.resolve_warn_at));
    }
    match to {
        TicketStatus::Pending => {
            sql.push(", pending_since = ").bind_text(n.clone());
        }
        TicketStatus::Solved => {
            let mut e = ValidationErrors::new();
            check_text(&mut e, "solution", solution, 100_000, true);
            let text = clean(solution);
            if text.is_none() {
                e.add("solution", "required", "describe the solution");
            }
            e.into_result()?;
            sql.push(", solution = ")
                .bind_opt_text(text)
                .push(", solved_at = ")
                .bind_text(n.clone())
                .push(", solved_by_user_id = ")
                .bind_opt_int(actor.user_id.map(|u| u.0));
        }
        TicketStatus::Closed => {
            sql.push(", closed_at = ").bind_text(n.clone());
        }
        TicketStatus::New | TicketStatus::Assigned | TicketStatus::Planned => {
            if old.status == TicketStatus::Solved {
                // A refused solution reopens the ticket: it is no longer solved.
                sql.push(", solved_at = NULL");
            }
            if to != TicketStatus::New && old.owned_at.is_none() {
                sql.push(", owned_at = ").bind_text(n.clone());
            }
        }
    }
    sql.push(" WHERE id = ").bind_int(id.0);
    sql.execute(&mut *c).await?;
    let new = get(c, id).await?.ok_or(StoreError::NotFound)?;
    audit::record(
        c,
        actor,
        ObjectType::Ticket,
        id.0,
        Some(new.entity_id),
        AuditAction::Update,
        &diff(&fields(&old), &fields(&new)),
    )
    .await?;
    super::notify::status_changed(c, actor, old.status, &new).await?;
    Ok(new)
}

/// The requester accepts the solution: the ticket closes.
pub async fn accept_solution(
    c: &mut AnyConnection,
    actor: &Actor,
    cfg: &HelpdeskConfig,
    tree: &EntityTree,
    id: TicketId,
) -> Result<Ticket> {
    set_status(c, actor, cfg, tree, id, TicketStatus::Closed, None).await
}

/// The requester refuses the solution, saying why: the ticket reopens (to its technician if it
/// has one) and the reason becomes a public follow-up.
pub async fn refuse_solution(
    c: &mut AnyConnection,
    actor: &Actor,
    cfg: &HelpdeskConfig,
    tree: &EntityTree,
    id: TicketId,
    reason: &str,
) -> Result<Ticket> {
    let old = get(c, id).await?.ok_or(StoreError::NotFound)?;
    if old.status != TicketStatus::Solved {
        return Err(
            ValidationErrors::single("status", "not_solved", "only a solved ticket's solution can be refused").into()
        );
    }
    if clean(Some(reason)).is_none() {
        return Err(ValidationErrors::single("reason", "required", "say why the solution does not fit").into());
    }
    let to = TicketStatus::reopened(old.assignee_user_id.is_some() || old.assignee_group_id.is_some());
    let t = set_status(c, actor, cfg, tree, id, to, None).await?;
    add_followup(c, actor, id, reason, false).await?;
    Ok(t)
}

/// The requester rates a closed ticket (1-5, optional comment).
pub async fn rate(
    c: &mut AnyConnection,
    actor: &Actor,
    id: TicketId,
    score: i64,
    comment: Option<&str>,
) -> Result<Ticket> {
    let old = get(c, id).await?.ok_or(StoreError::NotFound)?;
    let mut e = ValidationErrors::new();
    if old.status != TicketStatus::Closed {
        e.add("satisfaction", "not_closed", "a ticket is rated once closed");
    }
    if !(1..=5).contains(&score) {
        e.add("satisfaction", "level_range", "must be between 1 and 5");
    }
    check_text(&mut e, "comment", comment, 5000, true);
    e.into_result()?;
    sqlx::query("UPDATE tickets SET satisfaction = $1, satisfaction_comment = $2, updated_at = $3 WHERE id = $4")
        .bind(score)
        .bind(clean(comment))
        .bind(now())
        .bind(id.0)
        .execute(&mut *c)
        .await?;
    let new = get(c, id).await?.ok_or(StoreError::NotFound)?;
    audit::record(
        c,
        actor,
        ObjectType::Ticket,
        id.0,
        Some(new.entity_id),
        AuditAction::Update,
        &diff(&fields(&old), &fields(&new)),
    )
    .await?;
    Ok(new)
}

/// A follow-up: a message on the ticket, public (the requester sees it) or private.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Followup {
    pub id: FollowupId,
    pub ticket_id: TicketId,
    pub author_user_id: Option<UserId>,
    pub author_label: String,
    pub is_private: bool,
    pub body: String,
    pub created_at: String,
}

type FollowupRow = (i64, i64, Option<i64>, String, i64, String, String);

fn followup_of(r: FollowupRow) -> Followup {
    Followup {
        id: FollowupId(r.0),
        ticket_id: TicketId(r.1),
        author_user_id: r.2.map(UserId),
        author_label: r.3,
        is_private: r.4 != 0,
        body: r.5,
        created_at: r.6,
    }
}

pub async fn add_followup(
    c: &mut AnyConnection,
    actor: &Actor,
    id: TicketId,
    body: &str,
    private: bool,
) -> Result<Followup> {
    let t = get(c, id).await?.ok_or(StoreError::NotFound)?;
    let mut e = ValidationErrors::new();
    check_text(&mut e, "body", Some(body), 100_000, true);
    if body.trim().is_empty() {
        e.add("body", "required", "is required");
    }
    if t.status == TicketStatus::Closed {
        e.add("body", "closed", "a closed ticket takes no more follow-ups");
    }
    e.into_result()?;
    let at = now();
    let (fid,): (i64,) = sqlx::query_as(
        "INSERT INTO ticket_followups (ticket_id, author_user_id, author_label, is_private, body, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) RETURNING id",
    )
    .bind(id.0)
    .bind(actor.user_id.map(|u| u.0))
    .bind(&actor.label)
    .bind(i64::from(private))
    .bind(body.trim())
    .bind(&at)
    .fetch_one(&mut *c)
    .await?;
    touch(c, id, &at).await?;
    audit::record(
        c,
        actor,
        ObjectType::Ticket,
        id.0,
        Some(t.entity_id),
        AuditAction::Followup,
        &[FieldChange {
            field: "followup".into(),
            old: None,
            new: Some(format!("#{fid}{}", if private { " (private)" } else { "" })),
        }],
    )
    .await?;
    let f = Followup {
        id: FollowupId(fid),
        ticket_id: id,
        author_user_id: actor.user_id,
        author_label: actor.label.clone(),
        is_private: private,
        body: body.trim().to_owned(),
        created_at: at,
    };
    super::notify::followup_added(c, actor, &f).await?;
    Ok(f)
}

/// The follow-ups of a ticket, oldest first; private ones only when `with_private`.
pub async fn followups(c: &mut AnyConnection, id: TicketId, with_private: bool) -> Result<Vec<Followup>> {
    let rows: Vec<FollowupRow> = sqlx::query_as(
        "SELECT id, ticket_id, author_user_id, author_label, is_private, body, created_at FROM ticket_followups \
         WHERE ticket_id = $1 AND (is_private = 0 OR $2 = 1) ORDER BY id",
    )
    .bind(id.0)
    .bind(i64::from(with_private))
    .fetch_all(c)
    .await?;
    Ok(rows.into_iter().map(followup_of).collect())
}

/// Work on a ticket: time spent, an appointment, an on-site intervention.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Task {
    pub id: TaskId,
    pub ticket_id: TicketId,
    pub author_user_id: Option<UserId>,
    pub technician_user_id: Option<UserId>,
    pub technician_label: Option<String>,
    pub description: String,
    pub is_private: bool,
    pub on_site: bool,
    pub hardware_needed: Option<String>,
    pub duration_minutes: i64,
    pub planned_start: Option<String>,
    pub planned_end: Option<String>,
    pub done: bool,
    pub done_at: Option<String>,
    pub report: Option<String>,
    pub signer_name: Option<String>,
    pub created_at: String,
    pub updated_at: String,
}

#[derive(sqlx::FromRow)]
struct TaskRow {
    id: i64,
    ticket_id: i64,
    author_user_id: Option<i64>,
    technician_user_id: Option<i64>,
    technician_label: Option<String>,
    description: String,
    is_private: i64,
    on_site: i64,
    hardware_needed: Option<String>,
    duration_minutes: i64,
    planned_start: Option<String>,
    planned_end: Option<String>,
    done: i64,
    done_at: Option<String>,
    report: Option<String>,
    signer_name: Option<String>,
    created_at: String,
    updated_at: String,
}

impl From<TaskRow> for Task {
    fn from(r: TaskRow) -> Self {
        Task {
            id: TaskId(r.id),
            ticket_id: TicketId(r.ticket_id),
            author_user_id: r.author_user_id.map(UserId),
            technician_user_id: r.technician_user_id.map(UserId),
            technician_label: r.technician_label,
            description: r.description,
            is_private: r.is_private != 0,
            on_site: r.on_site != 0,
            hardware_needed: r.hardware_needed,
            duration_minutes: r.duration_minutes,
            planned_start: r.planned_start,
            planned_end: r.planned_end,
            done: r.done != 0,
            done_at: r.done_at,
            report: r.report,
            signer_name: r.signer_name,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

const TASK_SELECT: &str =
    "SELECT k.id, k.ticket_id, k.author_user_id, k.technician_user_id, u.display_name AS technician_label, \
    k.description, k.is_private, k.on_site, k.hardware_needed, k.duration_minutes, k.planned_start, k.planned_end, \
    k.done, k.done_at, k.report, k.signer_name, k.created_at, k.updated_at \
    FROM ticket_tasks k LEFT JOIN users u ON u.id = k.technician_user_id";

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskInput {
    pub description: Option<String>,
    pub technician_user_id: Option<i64>,
    pub is_private: Option<bool>,
    pub on_site: Option<bool>,
    pub hardware_needed: Option<String>,
    /// Time spent, in minutes.
    pub duration_minutes: Option<i64>,
    /// RFC 3339 instants of the appointment (both or neither).
    pub planned_start: Option<String>,
    pub planned_end: Option<String>,
    pub done: Option<bool>,
    pub report: Option<String>,
}

pub async fn task(c: &mut AnyConnection, id: TaskId) -> Result<Option<Task>> {
    let row: Option<TaskRow> =
        sqlx::query_as(&format!("{TASK_SELECT} WHERE k.id = $1")).bind(id.0).fetch_optional(c).await?;
    Ok(row.map(Into::into))
}

pub async fn tasks(c: &mut AnyConnection, id: TicketId, with_private: bool) -> Result<Vec<Task>> {
    let rows: Vec<TaskRow> =
        sqlx::query_as(&format!("{TASK_SELECT} WHERE k.ticket_id = $1 AND (k.is_private = 0 OR $2 = 1) ORDER BY k.id"))
            .bind(id.0)
            .bind(i64::from(with_private))
            .fetch_all(c)
            .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

fn parse_instant(e: &mut ValidationErrors, field: &str, v: &Option<String>) -> Option<DateTime<Utc>> {
    let s = v.as_deref().map(str::trim).filter(|s| !s.is_empty())?;
    match DateTime::parse_from_rfc3339(s) {
        Ok(d) => Some(d.with_timezone(&Utc)),
        Err(_) => {
            e.add(field, "datetime", "must be a date and time (RFC 3339)");
            None
        }
    }
}

fn task_fields(k: &Task) -> Vec<(&'static str, Option<String>)> {
    vec![
        ("technician_user_id", k.technician_user_id.map(|u| u.to_string())),
        ("on_site", Some(k.on_site.to_string())),
        ("is_private", Some(k.is_private.to_string())),
        ("duration_minutes", Some(k.duration_minutes.to_string())),
        ("planned_start", k.planned_start.clone()),
        ("planned_end", k.planned_end.clone()),
        ("done", Some(k.done.to_string())),
        ("hardware_needed", k.hardware_needed.clone()),
    ]
}

/// Adds a task, or changes one (`id`), checking the technician and the appointment. Planning a
/// task moves an open ticket to `planned`; the first task by a technician marks it owned.
pub async fn save_task(
    c: &mut AnyConnection,
    actor: &Actor,
    tree: &EntityTree,
    ticket: TicketId,
    id: Option<TaskId>,
    i: &TaskInput,
) -> Result<Task> {
    let t = get(c, ticket).await?.ok_or(StoreError::NotFound)?;
    let old = match id {
        Some(id) => Some(task(c, id).await?.filter(|k| k.ticket_id == ticket).ok_or(StoreError::NotFound)?),
        None => None,
    };
    let mut e = ValidationErrors::new();
    if t.status == TicketStatus::Closed {
        e.add("ticket", "closed", "a closed ticket takes no more tasks");
    }
    if old.as_ref().is_some_and(|k| k.signer_name.is_some()) {
        e.add("ticket", "signed", "a signed intervention cannot be changed");
    }
    check_text(&mut e, "description", i.description.as_deref(), 50_000, true);
    check_text(&mut e, "hardware_needed", i.hardware_needed.as_deref(), 2000, true);
    check_text(&mut e, "report", i.report.as_deref(), 50_000, true);
    let description = match &i.description {
        Some(d) => clean(Some(d)),
        None => old.as_ref().map(|k| k.description.clone()),
    };
    if description.is_none() {
        e.add("description", "required", "is required");
    }
    let duration = i.duration_minutes.unwrap_or(old.as_ref().map_or(0, |k| k.duration_minutes));
    if !(0..=100_000).contains(&duration) {
        e.add("duration_minutes", "range", "must be between 0 and 100000 minutes");
    }
    let technician = match i.technician_user_id {
        Some(u) => {
            if !user_exists(c, u).await? || !can_handle(c, tree, UserId(u), t.entity_id).await? {
                e.add("technician_user_id", "not_technician", "is not a technician of this entity");
            }
            Some(UserId(u))
        }
        None => old.as_ref().and_then(|k| k.technician_user_id).or(actor.user_id),
    };
    let start = if i.planned_start.is_some() {
        parse_instant(&mut e, "planned_start", &i.planned_start)
    } else {
        old.as_ref().and_then(|k| parse_time(&k.planned_start))
    };
    let end = if i.planned_end.is_some() {
        parse_instant(&mut e, "planned_end", &i.planned_end)
    } else {
        old.as_ref().and_then(|k| parse_time(&k.planned_end))
    };
    match (start, end) {
        (Some(s), Some(en)) if en <= s => e.add("planned_end", "before_start", "must be after the start"),
        (Some(_), None) => e.add("planned_end", "required", "an appointment needs an end"),
        (None, Some(_)) => e.add("planned_start", "required", "an appointment needs a start"),
        _ => {}
    }
    if start.is_some() && technician.is_none() {
        e.add("technician_user_id", "required", "an appointment needs a technician");
    }
    e.into_result()?;
    let on_site = i.on_site.unwrap_or(old.as_ref().is_some_and(|k| k.on_site));
    let private = i.is_private.unwrap_or(old.as_ref().is_some_and(|k| k.is_private));
    let done = i.done.unwrap_or(old.as_ref().is_some_and(|k| k.done));
    let hardware = match &i.hardware_needed {
        Some(h) => clean(Some(h)),
        None => old.as_ref().and_then(|k| k.hardware_needed.clone()),
    };
    let report = match &i.report {
        Some(r) => clean(Some(r)),
        None => old.as_ref().and_then(|k| k.report.clone()),
    };
    let n = now();
    let done_at = if done { old.as_ref().and_then(|k| k.done_at.clone()).or(Some(n.clone())) } else { None };
    let tid = match &old {
        Some(k) => {
            sqlx::query(
                "UPDATE ticket_tasks SET description = $1, technician_user_id = $2, is_private = $3, on_site = $4, \
                 hardware_needed = $5, duration_minutes = $6, planned_start = $7, planned_end = $8, done = $9, done_at = $10, \
                 report = $11, updated_at = $12 WHERE id = $13",
            )
            .bind(description.clone().unwrap_or_default())
            .bind(technician.map(|u| u.0))
            .bind(i64::from(private))
            .bind(i64::from(on_site))
            .bind(&hardware)
            .bind(duration)
            .bind(ts(start))
            .bind(ts(end))
            .bind(i64::from(done))
            .bind(&done_at)
            .bind(&report)
            .bind(&n)
            .bind(k.id.0)
            .execute(&mut *c)
            .await?;
            k.id
        }
        None => {
            let (id,): (i64,) = sqlx::query_as(
                "INSERT INTO ticket_tasks (ticket_id, author_user_id, technician_user_id, description, is_private, on_site, \
                 hardware_needed, duration_minutes, planned_start, planned_end, done, done_at, report, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $14) RETURNING id",
            )
            .bind(ticket.0)
            .bind(actor.user_id.map(|u| u.0))
            .bind(technician.map(|u| u.0))
            .bind(description.clone().unwrap_or_default())
            .bind(i64::from(private))
            .bind(i64::from(on_site))
            .bind(&hardware)
            .bind(duration)
            .bind(ts(start))
            .bind(ts(end))
            .bind(i64::from(done))
            .bind(&done_at)
            .bind(&report)
            .bind(&n)
            .fetch_one(&mut *c)
            .await?;
            TaskId(id)
        }
    };
    // An appointment on an open, not pending ticket makes it planned; any task owns it.
    let mut sql = Sql::new("UPDATE tickets SET updated_at = ");
    sql.bind_text(n.clone());
    if t.owned_at.is_none() {
        sql.push(", owned_at = ").bind_text(n.clone());
    }
    // `can_move_to` is false for the same status, so an already planned ticket stays as it is.
    let to_planned =
        start.is_some() && t.status.can_move_to(TicketStatus::Planned) && t.status != TicketStatus::Pending;
    if to_planned {
        sql.push(", status = 'planned'");
    }
    sql.push(" WHERE id = ").bind_int(ticket.0);
    sql.execute(&mut *c).await?;
    let new = task(c, tid).await?.ok_or(StoreError::NotFound)?;
    let changes = match &old {
        Some(o) => diff(&task_fields(o), &task_fields(&new)),
        None => creation(&task_fields(&new)),
    };
    let mut changes = changes;
    changes.insert(0, FieldChange { field: "task".into(), old: None, new: Some(format!("#{}", tid.0)) });
    audit::record(c, actor, ObjectType::Ticket, ticket.0, Some(t.entity_id), AuditAction::Task, &changes).await?;
    if to_planned {
        audit::record(
            c,
            actor,
            ObjectType::Ticket,
            ticket.0,
            Some(t.entity_id),
            AuditAction::Update,
            &[FieldChange { field: "status".into(), old: Some(t.status.as_str().into()), new: Some("planned".into()) }],
        )
        .await?;
    }
    super::notify::task_saved(c, actor, old.as_ref(), &new).await?;
    Ok(new)
}

/// Assets linked to a ticket (ids and names; the caller filters by its scope).
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct LinkedAsset {
    pub asset_id: AssetId,
    pub entity_id: EntityId,
    pub name: String,
    pub asset_tag: Option<String>,
    pub kind: String,
    pub model: Option<String>,
}

pub async fn assets_of(c: &mut AnyConnection, id: TicketId) -> Result<Vec<LinkedAsset>> {
    type AssetRow = (i64, i64, String, Option<String>, String, Option<String>);
    let rows: Vec<AssetRow> = sqlx::query_as(
        "SELECT a.id, a.entity_id, a.name, a.asset_tag, a.kind, a.model FROM ticket_assets ta JOIN assets a ON a.id = ta.asset_id \
         WHERE ta.ticket_id = $1 ORDER BY a.name, a.id",
    )
    .bind(id.0)
    .fetch_all(c)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| LinkedAsset {
            asset_id: AssetId(r.0),
            entity_id: EntityId(r.1),
            name: r.2,
            asset_tag: r.3,
            kind: r.4,
            model: r.5,
        })
        .collect())
}

/// Links (or, with `link = false`, unlinks) an asset, which must be in the ticket's entity tree.
pub async fn link_asset(
    c: &mut AnyConnection,
    actor: &Actor,
    tree: &EntityTree,
    id: TicketId,
    asset: AssetId,
    link: bool,
) -> Result<()> {
    let t = get(c, id).await?.ok_or(StoreError::NotFound)?;
    if link {
        match crate::assets::get(c, asset).await? {
            Some(a) if tree.is_within(a.entity_id, t.entity_id) => {}
            _ => {
                return Err(ValidationErrors::single(
                    "asset_id",
                    "foreign_entity",
                    "the asset is not in the ticket's entity",
                )
                .into())
            }
        }
        sqlx::query("INSERT INTO ticket_assets (ticket_id, asset_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id.0)
            .bind(asset.0)
            .execute(&mut *c)
            .await?;
    } else {
        sqlx::query("DELETE FROM ticket_assets WHERE ticket_id = $1 AND asset_id = $2")
            .bind(id.0)
            .bind(asset.0)
            .execute(&mut *c)
            .await?;
    }
    let (action, old, new) = if link {
        (AuditAction::Link, None, Some(asset.to_string()))
    } else {
        (AuditAction::Unlink, Some(asset.to_string()), None)
    };
    audit::record(
        c,
        actor,
        ObjectType::Ticket,
        id.0,
        Some(t.entity_id),
        action,
        &[FieldChange { field: "asset_id".into(), old, new }],
    )
    .await?;
    Ok(())
}

/// The observers of a ticket (id and display name).
pub async fn observers(c: &mut AnyConnection, id: TicketId) -> Result<Vec<(UserId, String)>> {
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT u.id, u.display_name FROM ticket_observers o JOIN users u ON u.id = o.user_id WHERE o.ticket_id = $1 ORDER BY lower(u.display_name)",
    )
    .bind(id.0)
    .fetch_all(c)
    .await?;
    Ok(rows.into_iter().map(|(i, n)| (UserId(i), n)).collect())
}

/// Adds or removes an observer.
pub async fn set_observer(
    c: &mut AnyConnection,
    actor: &Actor,
    id: TicketId,
    user: UserId,
    observe: bool,
) -> Result<()> {
    let t = get(c, id).await?.ok_or(StoreError::NotFound)?;
    if observe {
        if !user_exists(c, user.0).await? {
            return Err(ValidationErrors::single("user_id", "not_found", "is not an active user").into());
        }
        sqlx::query("INSERT INTO ticket_observers (ticket_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
            .bind(id.0)
            .bind(user.0)
            .execute(&mut *c)
            .await?;
    } else {
        sqlx::query("DELETE FROM ticket_observers WHERE ticket_id = $1 AND user_id = $2")
            .bind(id.0)
            .bind(user.0)
            .execute(&mut *c)
            .await?;
    }
    let (old, new) = if observe { (None, Some(user.to_string())) } else { (Some(user.to_string()), None) };
    audit::record(
        c,
        actor,
        ObjectType::Ticket,
        id.0,
        Some(t.entity_id),
        AuditAction::Update,
        &[FieldChange { field: "observer".into(), old, new }],
    )
    .await?;
    Ok(())
}

/// Ticket lists: filters as domain values, translated here.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema, utoipa::IntoParams)]
pub struct TicketQuery {
    /// Free text: ticket number, title, caller name or phone.
    pub q: Option<String>,
    /// "open" (default), "all", or one status.
    pub status: Option<String>,
    /// A technician's tickets; 0: tickets without a technician.
    pub assignee_user_id: Option<i64>,
    /// A group's tickets; 0: tickets without a group.
    pub assignee_group_id: Option<i64>,
    pub requester_user_id: Option<i64>,
    pub priority: Option<i64>,
    pub category_id: Option<i64>,
    pub entity_id: Option<i64>,
    /// "at_risk" or "breached".
    pub sla: Option<String>,
    /// "priority" (default), "updated", "created", "due", "id".
    pub sort: Option<String>,
    pub desc: Option<bool>,
    pub page: Option<u32>,
    pub per_page: Option<u32>,
}

impl TicketQuery {
    pub fn page(&self) -> u32 {
        self.page.unwrap_or(1).max(1)
    }
    pub fn per_page(&self) -> u32 {
        self.per_page.unwrap_or(50).clamp(1, 200)
    }
}

/// Restricts `t` to the scope: full entities, plus the caller's own tickets (requester, on
/// behalf, observer) in own-only entities.
pub(super) fn push_scope(sql: &mut Sql, scope: &Scope, me: UserId, sorted: bool) {
    let col = if sorted && scope.full.len() + scope.own_only.len() > 1 { "+t.entity_id" } else { "t.entity_id" };
    sql.push("(");
    sql.in_ints(col, scope.full.iter().map(|e| e.0));
    if !scope.own_only.is_empty() {
        sql.push(" OR (");
        sql.in_ints(col, scope.own_only.iter().map(|e| e.0));
        sql.push(" AND (t.requester_user_id = ").bind_int(me.0);
        sql.push(" OR t.on_behalf_user_id = ").bind_int(me.0);
        sql.push(" OR t.id IN (SELECT ticket_id FROM ticket_observers WHERE user_id = ").bind_int(me.0).push(")))");
    }
    sql.push(")");
}

/// Restricts `t` to the tickets whose SLA is at risk or breached at `now` (stored form), as the
/// list shows them: a pending ticket's resolution clock is stopped. `Ok` adds nothing.
pub(super) fn push_sla(sql: &mut Sql, flag: SlaFlag, now: &str) {
    match flag {
        SlaFlag::Ok => {}
        SlaFlag::Breached => {
            sql.push(" AND ((t.status IN ('new', 'assigned', 'planned') AND t.resolve_due_at < ").bind_text(now);
            sql.push(") OR (t.owned_at IS NULL AND t.own_due_at < ").bind_text(now).push("))");
        }
        SlaFlag::AtRisk => {
            sql.push(" AND t.status IN ('new', 'assigned', 'planned') AND ((t.resolve_warn_at <= ").bind_text(now);
            sql.push(" AND t.resolve_due_at >= ").bind_text(now);
            sql.push(") OR (t.owned_at IS NULL AND t.own_warn_at <= ").bind_text(now);
            sql.push(" AND t.own_due_at >= ").bind_text(now).push("))");
        }
    }
}

fn push_filters(sql: &mut Sql, backend: Backend, q: &TicketQuery) -> std::result::Result<(), ValidationErrors> {
    let mut e = ValidationErrors::new();
    match q.status.as_deref().unwrap_or("open") {
        "open" => {
            sql.push(" AND t.status IN ('new', 'assigned', 'planned', 'pending')");
        }
        "all" | "" => {}
        s => match s.parse::<TicketStatus>() {
            Ok(st) => {
                sql.push(" AND t.status = ").bind_text(st.as_str());
            }
            Err(_) => e.add("status", "invalid", "is not a ticket status"),
        },
    }
    for (col, v) in [
        ("t.assignee_user_id", q.assignee_user_id),
        ("t.assignee_group_id", q.assignee_group_id),
        ("t.requester_user_id", q.requester_user_id),
        ("t.priority", q.priority),
        ("t.category_id", q.category_id),
        ("t.entity_id", q.entity_id),
    ] {
        match v {
            // No technician / no group.
            Some(0) if col.starts_with("t.assignee") => {
                sql.push(&format!(" AND {col} IS NULL"));
            }
            Some(v) => {
                sql.push(&format!(" AND {col} = ")).bind_int(v);
            }
            None => {}
        }
    }
    match q.sla.as_deref() {
        None | Some("") => {}
        Some(flag) => match flag.parse::<SlaFlag>() {
            Ok(f) if f != SlaFlag::Ok => push_sla(sql, f, &now()),
            _ => e.add("sla", "invalid", "must be at_risk or breached"),
        },
    }
    if let Some(text) = q.q.as_deref().map(str::trim).filter(|t| !t.is_empty()) {
        let numbered = text.starts_with('#');
        let t = text.trim_start_matches('#').to_lowercase();
        if let Ok(n) = t.parse::<i64>() {
            // "#42" is a ticket number; bare digits may also be part of a caller's phone.
            sql.push(" AND (t.id = ").bind_int(n);
            if !numbered && t.len() >= 4 {
                sql.push(" OR t.search_text LIKE ").bind_text(format!("%{t}%"));
            }
            sql.push(")");
        } else if t.chars().count() < 3 {
            sql.push(" AND lower(t.title) LIKE ")
                .bind_text(format!("{}%", crate::assets::escape_like(&t)))
                .push(" ESCAPE '\\'");
        } else {
            match backend {
                Backend::Sqlite => {
                    sql.push(" AND t.id IN (SELECT rowid FROM tickets_fts WHERE tickets_fts MATCH ")
                        .bind_text(format!("\"{}\"", t.replace('"', "\"\"")))
                        .push(")");
                }
                Backend::Postgres => {
                    sql.push(" AND t.search_text LIKE ")
                        .bind_text(format!("%{}%", crate::assets::escape_like(&t)))
                        .push(" ESCAPE '\\'");
                }
            }
        }
    }
    e.into_result()
}

fn order_by(q: &TicketQuery) -> std::result::Result<String, ValidationErrors> {
    let desc = q.desc.unwrap_or(true);
    let dir = if desc { "DESC" } else { "ASC" };
    let col = match q.sort.as_deref().unwrap_or("priority") {
        "priority" => "t.priority",
        "updated" => "t.updated_at",
        "created" | "id" => "t.id",
        "due" => "t.resolve_due_at",
        _ => return Err(ValidationErrors::single("sort", "invalid", "cannot sort by this")),
    };
    Ok(if col == "t.id" { format!(" ORDER BY t.id {dir}") } else { format!(" ORDER BY {col} {dir}, t.id {dir}") })
}

/// Whether a list is best read from the partial index of open tickets in priority order
/// (migration 0008): the default list (open, by priority, highest first) over several entities
/// with no filter narrower than a priority. The index also holds the entity, so the scope is
/// checked without reading the tickets it skips.
fn walks_open_index(scope: &Scope, q: &TicketQuery) -> bool {
    let open = q.status.as_deref().is_none_or(|s| s == "open");
    let by_priority = q.sort.as_deref().is_none_or(|s| s == "priority");
    let narrower = q.assignee_user_id.is_some()
        || q.assignee_group_id.is_some()
        || q.requester_user_id.is_some()
        || q.category_id.is_some()
        || q.entity_id.is_some()
        || q.sla.as_deref().is_some_and(|s| !s.is_empty())
        || q.q.as_deref().is_some_and(|s| !s.trim().is_empty());
    open && by_priority && !narrower && scope.own_only.is_empty() && scope.full.len() > 1
}

/// A page of tickets in scope, with the total.
pub async fn list(
    c: &mut AnyConnection,
    backend: Backend,
    scope: &Scope,
    me: UserId,
    q: &TicketQuery,
) -> Result<crate::assets::Page<Ticket>> {
    let mut filter = Sql::new("");
    push_filters(&mut filter, backend, q)?;
    let order = order_by(q)?;
    let mut count = Sql::new("SELECT COUNT(*) FROM tickets t WHERE ");
    push_scope(&mut count, scope, me, false);
    count.append(&filter);
    let (total,): (i64,) = count.query_as().fetch_one(&mut *c).await?;
    let mut page = if backend == Backend::Sqlite && walks_open_index(scope, q) {
        // SQLite's planner prefers merging the status ranges and sorting every open ticket.
        Sql::new(&SELECT.replacen("FROM tickets t ", "FROM tickets t INDEXED BY tickets_open_priority ", 1))
    } else {
        Sql::new(SELECT)
    };
    page.push(" WHERE ");
    push_scope(&mut page, scope, me, true);
    page.append(&filter);
    page.push(&order);
    page.push(" LIMIT ").bind_int(i64::from(q.per_page()));
    page.push(" OFFSET ").bind_int(i64::from(q.page() - 1) * i64::from(q.per_page()));
    let rows: Vec<Row> = page.query_as().fetch_all(c).await?;
    Ok(crate::assets::Page {
        items: rows.into_iter().map(Into::into).collect(),
        total,
        page: q.page(),
        per_page: q.per_page(),
    })
}

/// Open tickets of an asset (for the asset's page and the hotline).
pub async fn of_asset(c: &mut AnyConnection, asset: AssetId, limit: i64) -> Result<Vec<Ticket>> {
    let rows: Vec<Row> = sqlx::query_as(&format!(
        "{SELECT} WHERE t.id IN (SELECT ticket_id FROM ticket_assets WHERE asset_id = $1) ORDER BY t.id DESC LIMIT $2"
    ))
    .bind(asset.0)
    .bind(limit)
    .fetch_all(c)
    .await?;
    Ok(rows.into_iter().map(Into::into).collect())
}

/// Counts of open tickets in scope by status and priority (dashboard).
pub async fn open_counts(c: &mut AnyConnection, scope: &Scope, me: UserId) -> Result<Vec<(TicketStatus, u8, i64)>> {
    let mut sql = Sql::new("SELECT t.status, t.priority, COUNT(*) FROM tickets t WHERE ");
    push_scope(&mut sql, scope, me, false);
    sql.push(" AND t.status IN ('new', 'assigned', 'planned', 'pending') GROUP BY t.status, t.priority");
    let rows: Vec<(String, i64, i64)> = sql.query_as().fetch_all(c).await?;
    Ok(rows.into_iter().filter_map(|(s, p, n)| Some((s.parse().ok()?, p as u8, n))).collect())
}
