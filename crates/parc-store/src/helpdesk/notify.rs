//! E-mail notifications of ticket events: what happened, and who is told.
//!
//! A ticket write that causes an event (opening, assignment, follow-up, solution, a planned
//! intervention) calls one of the hooks below in its own transaction. When sending is on
//! ([`crate::mail_settings::enabled`]) the hook enqueues one job of kind [`NOTIFY`] holding a
//! [`Notice`] (event, ticket, actor, follow-up or task): the notification exists exactly when
//! its cause was committed. When sending is off nothing is queued (no backlog of stale news
//! when it is turned on). The worker later expands the notice ([`prepare`]) into one e-mail per
//! [`Recipient`], rendered in the recipient's language by the web layer.
//!
//! Recipients, as a GLPI user expects them: the requester (a user; a free-text caller has no
//! address), the person the ticket is for, the observers, the assigned technician and the
//! members of the assigned group — each event takes its part of them (a private follow-up
//! only reaches the handlers). Never the actor, never an inactive user or one without an
//! address, never a user who opted out of that event kind, never one address twice.
//!
//! The SLA watcher ([`watch_sla`]) runs periodically: for open, not pending tickets whose
//! time-to-own or time-to-resolve warning or due instant has passed, it records the level in
//! `tickets.sla_notified` (tokens such as `own_warning`, `resolve_breach`) with a conditional
//! UPDATE, so each level is notified once even with several nodes, and enqueues the notice in
//! the same transaction. A breach found before its warning was sent marks both levels.

use super::tickets::{followups, get, observers, task, Followup, Task, Ticket};
use crate::jobs::{self, NOTIFY};
use crate::sql::Sql;
use crate::{audit, fmt_time, mail_settings, Actor, Result, Store, StoreError};
use chrono::{DateTime, Utc};
use parc_core::audit::{AuditAction, FieldChange, ObjectType};
use parc_core::entities::EntityTree;
use parc_core::helpdesk::TicketStatus;
use parc_core::permissions::{Action, Object, Profile};
use parc_core::{EntityId, FollowupId, TaskId, TicketId, UserId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use std::collections::HashSet;

/// What a notification is about; also the unit of a user's opt-outs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    /// A ticket was opened.
    NewTicket,
    /// The technician or the group of a ticket changed.
    Assignment,
    /// A follow-up was added (private ones reach the handlers only).
    Followup,
    /// The ticket was solved.
    Solution,
    /// A time-to-own or time-to-resolve deadline is near (its warning instant passed).
    SlaWarning,
    /// A deadline passed.
    SlaBreach,
    /// A task got (or changed) its appointment with a technician.
    Planning,
}

impl EventKind {
    pub const ALL: &'static [EventKind] = &[
        EventKind::NewTicket,
        EventKind::Assignment,
        EventKind::Followup,
        EventKind::Solution,
        EventKind::SlaWarning,
        EventKind::SlaBreach,
        EventKind::Planning,
    ];

    /// The stable name, as stored in `notification_optouts.event` and used by the API.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::NewTicket => "new_ticket",
            EventKind::Assignment => "assignment",
            EventKind::Followup => "followup",
            EventKind::Solution => "solution",
            EventKind::SlaWarning => "sla_warning",
            EventKind::SlaBreach => "sla_breach",
            EventKind::Planning => "planning",
        }
    }

    pub fn parse(s: &str) -> Option<EventKind> {
        EventKind::ALL.iter().copied().find(|k| k.as_str() == s)
    }
}

/// Which SLA clock an SLA event is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Clock {
    /// Time to own: until a technician takes the ticket.
    Own,
    /// Time to resolve: until the ticket is solved.
    Resolve,
}

/// The payload of a [`NOTIFY`] job: an event, with what the e-mails need to find.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub event: EventKind,
    pub ticket_id: TicketId,
    /// Who caused the event (never notified); `None` for Parc itself or an anonymous caller.
    #[serde(default)]
    pub actor_user_id: Option<UserId>,
    #[serde(default)]
    pub followup_id: Option<FollowupId>,
    #[serde(default)]
    pub task_id: Option<TaskId>,
    /// For SLA events.
    #[serde(default)]
    pub clock: Option<Clock>,
}

impl Notice {
    pub fn new(event: EventKind, ticket: TicketId, actor: Option<UserId>) -> Notice {
        Notice { event, ticket_id: ticket, actor_user_id: actor, followup_id: None, task_id: None, clock: None }
    }
}

/// Enqueues `notice` in the caller's transaction when sending is on; returns the job's id.
pub async fn record(c: &mut AnyConnection, notice: &Notice) -> Result<Option<i64>> {
    if !mail_settings::enabled(c).await? {
        return Ok(None);
    }
    enqueue(c, notice).await.map(Some)
}

async fn enqueue(c: &mut AnyConnection, notice: &Notice) -> Result<i64> {
    let payload =
        serde_json::to_value(notice).map_err(|e| StoreError::Config(format!("cannot encode a notice: {e}")))?;
    jobs::enqueue(c, NOTIFY, &payload, None).await
}

// ---- hooks called by the ticket writes (tickets.rs), in their transaction ----

/// A ticket was opened.
pub async fn ticket_created(c: &mut AnyConnection, actor: &Actor, t: &Ticket) -> Result<()> {
    record(c, &Notice::new(EventKind::NewTicket, t.id, actor.user_id)).await.map(drop)
}

/// A ticket changed: an assignment when its technician or group changed to someone.
pub async fn ticket_updated(c: &mut AnyConnection, actor: &Actor, old: &Ticket, new: &Ticket) -> Result<()> {
    let changed = old.assignee_user_id != new.assignee_user_id || old.assignee_group_id != new.assignee_group_id;
    let assigned = new.assignee_user_id.is_some() || new.assignee_group_id.is_some();
    if changed && assigned {
        record(c, &Notice::new(EventKind::Assignment, new.id, actor.user_id)).await?;
    }
    Ok(())
}

/// A ticket moved through its lifecycle: a solution when it became solved.
pub async fn status_changed(c: &mut AnyConnection, actor: &Actor, old: TicketStatus, new: &Ticket) -> Result<()> {
    if new.status == TicketStatus::Solved && old != TicketStatus::Solved {
        record(c, &Notice::new(EventKind::Solution, new.id, actor.user_id)).await?;
    }
    Ok(())
}

/// A follow-up was added.
pub async fn followup_added(c: &mut AnyConnection, actor: &Actor, f: &Followup) -> Result<()> {
    let notice = Notice { followup_id: Some(f.id), ..Notice::new(EventKind::Followup, f.ticket_id, actor.user_id) };
    record(c, &notice).await.map(drop)
}

/// A task was saved: a planned intervention when it got an appointment with a technician, or
/// its appointment or technician changed.
pub async fn task_saved(c: &mut AnyConnection, actor: &Actor, old: Option<&Task>, new: &Task) -> Result<()> {
    let planned = new.planned_start.is_some() && new.technician_user_id.is_some();
    let changed =
        old.is_none_or(|o| o.planned_start != new.planned_start || o.technician_user_id != new.technician_user_id);
    if planned && changed {
        let notice = Notice { task_id: Some(new.id), ..Notice::new(EventKind::Planning, new.ticket_id, actor.user_id) };
        record(c, &notice).await?;
    }
    Ok(())
}

// ---- expansion: who receives a notice ----

/// One person to write to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Recipient {
    pub user_id: UserId,
    pub name: String,
    pub email: String,
    /// "fr", "en", or none (the organisation's default).
    pub language: Option<String>,
}

/// Everything the e-mails of one notice are made of.
#[derive(Debug, Clone)]
pub struct Notification {
    pub notice: Notice,
    pub ticket: Ticket,
    /// The actor's display name (or login), when a user caused the event.
    pub actor_name: Option<String>,
    pub followup: Option<Followup>,
    pub task: Option<Task>,
    pub recipients: Vec<Recipient>,
}

/// The notification of `notice` as things stand now; `None` when its ticket (or its follow-up
/// or task) no longer exists.
pub async fn prepare(c: &mut AnyConnection, notice: &Notice) -> Result<Option<Notification>> {
    let Some(ticket) = get(c, notice.ticket_id).await? else { return Ok(None) };
    let followup = match notice.followup_id {
        Some(id) => match followups(c, ticket.id, true).await?.into_iter().find(|f| f.id == id) {
            Some(f) => Some(f),
            None => return Ok(None),
        },
        None => None,
    };
    let task = match notice.task_id {
        Some(id) => match task(c, id).await?.filter(|k| k.ticket_id == ticket.id) {
            Some(k) => Some(k),
            None => return Ok(None),
        },
        None => None,
    };
    let actor_name = match notice.actor_user_id {
        Some(u) => crate::users::get(c, u).await?.map(|u| u.display_name),
        None => None,
    };
    let tree = crate::entities::tree(c).await?;
    let private = followup.as_ref().is_some_and(|f| f.is_private) || task.as_ref().is_some_and(|k| k.is_private);
    let audience = Audience::of(notice.event, private, task.as_ref());
    let recipients = recipients(c, &tree, notice, &ticket, &audience).await?;
    Ok(Some(Notification { notice: notice.clone(), ticket, actor_name, followup, task, recipients }))
}

/// Which of a ticket's people an event reaches.
struct Audience {
    /// The requester, the person it is for, the observers.
    requesters: bool,
    /// The assigned technician and the members of the assigned group.
    handlers: bool,
    /// Without any assignment: the users who handle tickets in the ticket's entity.
    fallback: bool,
    /// The technician of the task (planned interventions).
    technician: Option<UserId>,
}

impl Audience {
    fn of(event: EventKind, private: bool, task: Option<&Task>) -> Audience {
        let none = Audience { requesters: false, handlers: false, fallback: false, technician: None };
        match event {
            EventKind::NewTicket => Audience { requesters: true, handlers: true, fallback: true, ..none },
            EventKind::Assignment | EventKind::Solution => Audience { requesters: true, handlers: true, ..none },
            EventKind::Followup => Audience { requesters: !private, handlers: true, ..none },
            EventKind::SlaWarning | EventKind::SlaBreach => Audience { handlers: true, fallback: true, ..none },
            // An on-site intervention's technician gets the intervention sheet instead.
            EventKind::Planning => Audience {
                requesters: !private,
                technician: task.filter(|k| !k.on_site).and_then(|k| k.technician_user_id),
                ..none
            },
        }
    }
}

/// The recipients of `notice` about `t`, in a stable order (requester side first).
async fn recipients(
    c: &mut AnyConnection,
    tree: &EntityTree,
    notice: &Notice,
    t: &Ticket,
    audience: &Audience,
) -> Result<Vec<Recipient>> {
    let mut ids: Vec<UserId> = Vec::new();
    if audience.requesters {
        ids.extend(t.requester_user_id);
        ids.extend(t.on_behalf_user_id);
        ids.extend(observers(c, t.id).await?.into_iter().map(|(u, _)| u));
    }
    let unassigned = t.assignee_user_id.is_none() && t.assignee_group_id.is_none();
    if audience.handlers {
        ids.extend(t.assignee_user_id);
        if let Some(g) = t.assignee_group_id {
            let members: Vec<(i64,)> = sqlx::query_as("SELECT user_id FROM user_group_members WHERE group_id = $1")
                .bind(g.0)
                .fetch_all(&mut *c)
                .await?;
            ids.extend(members.into_iter().map(|(u,)| UserId(u)));
        }
    }
    if audience.fallback && unassigned {
        ids.extend(handlers_of(c, tree, t.entity_id).await?);
    }
    ids.extend(audience.technician);
    ids.retain(|u| Some(*u) != notice.actor_user_id);
    // Nor the actor under another account sharing their address.
    let actor_email = match notice.actor_user_id {
        Some(a) => crate::users::get(c, a).await?.and_then(|u| u.email),
        None => None,
    };
    reachable(c, &ids, notice.event, actor_email.as_deref()).await
}

/// Active users who handle tickets of `entity`: a profile that updates tickets in full, held
/// on the entity or, recursively, on one of its ancestors (what `tickets::can_handle` checks).
pub async fn handlers_of(c: &mut AnyConnection, tree: &EntityTree, entity: EntityId) -> Result<Vec<UserId>> {
    let profiles: Vec<&str> = Profile::ALL
        .iter()
        .filter(|p| p.allows(Object::Ticket, Action::Update) && !p.own_only_on(Object::Ticket))
        .map(|p| p.as_str())
        .collect();
    let ancestors: Vec<i64> = tree.path(entity).into_iter().filter(|e| *e != entity).map(|e| e.0).collect();
    let mut sql = Sql::new("SELECT DISTINCT g.user_id FROM user_grants g JOIN users u ON u.id = g.user_id WHERE u.active = 1 AND g.profile IN (");
    for (i, p) in profiles.iter().enumerate() {
        if i > 0 {
            sql.push(", ");
        }
        sql.bind_text(*p);
    }
    sql.push(") AND (g.entity_id = ").bind_int(entity.0).push(" OR (g.recursive = 1 AND ");
    sql.in_ints("g.entity_id", ancestors).push(")) ORDER BY g.user_id");
    let rows: Vec<(i64,)> = sql.query_as().fetch_all(c).await?;
    Ok(rows.into_iter().map(|(u,)| UserId(u)).collect())
}

/// The users of `ids` that can be written to about `event`: active, with an address (other
/// than `skip`), not opted out; in the order of `ids`, each address once.
async fn reachable(
    c: &mut AnyConnection,
    ids: &[UserId],
    event: EventKind,
    skip: Option<&str>,
) -> Result<Vec<Recipient>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT u.id, u.display_name, u.email, u.language FROM users u WHERE ");
    sql.in_ints("u.id", ids.iter().map(|u| u.0));
    sql.push(" AND u.active = 1 AND u.email IS NOT NULL AND u.email <> ''");
    sql.push(" AND NOT EXISTS (SELECT 1 FROM notification_optouts o WHERE o.user_id = u.id AND o.event = ")
        .bind_text(event.as_str())
        .push(")");
    let rows: Vec<(i64, String, String, Option<String>)> = sql.query_as().fetch_all(c).await?;
    let mut seen: HashSet<String> = skip.map(|s| s.trim().to_lowercase()).into_iter().collect();
    let mut out = Vec::new();
    for id in ids {
        let Some((_, name, email, language)) = rows.iter().find(|r| r.0 == id.0) else { continue };
        let email = email.trim();
        if !email.is_empty() && seen.insert(email.to_lowercase()) {
            out.push(Recipient {
                user_id: *id,
                name: name.clone(),
                email: email.to_owned(),
                language: language.clone(),
            });
        }
    }
    Ok(out)
}

// ---- per-user opt-outs ----

/// The event kinds `user` does not want to be told about.
pub async fn optouts(c: &mut AnyConnection, user: UserId) -> Result<Vec<EventKind>> {
    let rows: Vec<(String,)> =
        sqlx::query_as("SELECT event FROM notification_optouts WHERE user_id = $1").bind(user.0).fetch_all(c).await?;
    let stored: Vec<EventKind> = rows.iter().filter_map(|(e,)| EventKind::parse(e)).collect();
    Ok(EventKind::ALL.iter().copied().filter(|k| stored.contains(k)).collect())
}

/// Replaces the event kinds `user` opted out of; the change is audited on the user.
pub async fn set_optouts(c: &mut AnyConnection, actor: &Actor, user: UserId, off: &[EventKind]) -> Result<()> {
    let u = crate::users::get(c, user).await?.ok_or(StoreError::NotFound)?;
    let old = optouts(c, user).await?;
    let new: Vec<EventKind> = EventKind::ALL.iter().copied().filter(|k| off.contains(k)).collect();
    if old == new {
        return Ok(());
    }
    sqlx::query("DELETE FROM notification_optouts WHERE user_id = $1").bind(user.0).execute(&mut *c).await?;
    for k in &new {
        sqlx::query("INSERT INTO notification_optouts (user_id, event) VALUES ($1, $2)")
            .bind(user.0)
            .bind(k.as_str())
            .execute(&mut *c)
            .await?;
    }
    let names = |v: &[EventKind]| Some(v.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(","));
    let change = FieldChange { field: "notification_optouts".into(), old: names(&old), new: names(&new) };
    audit::record(c, actor, ObjectType::User, user.0, Some(u.entity_id), AuditAction::Update, &[change]).await
}

// ---- the SLA watcher ----

/// Tickets looked at per clock and pass (a backlog is worked off over the next passes).
const SLA_BATCH: i64 = 500;

impl Clock {
    /// (condition for the clock to run, warning column, due column, warning token, breach token).
    /// The condition and the breach test match the partial indexes of migration 0007.
    fn columns(self) -> (&'static str, &'static str, &'static str, &'static str, &'static str) {
        match self {
            Clock::Own => ("owned_at IS NULL AND ", "own_warn_at", "own_due_at", "own_warning", "own_breach"),
            Clock::Resolve => ("", "resolve_warn_at", "resolve_due_at", "resolve_warning", "resolve_breach"),
        }
    }
}

/// What one SLA pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SlaPass {
    /// Warnings recorded (and notified when sending is on).
    pub warnings: usize,
    /// Breaches recorded (and notified when sending is on).
    pub breaches: usize,
}

type Candidate = (i64, String, Option<String>);

/// Tickets of `clock` with a level to record at `now`: (id, sla_notified, due instant).
async fn sla_candidates(c: &mut AnyConnection, clock: Clock, now: &str) -> Result<Vec<Candidate>> {
    let (running, warn, due, warning, breach) = clock.columns();
    let sql = format!(
        "SELECT id, sla_notified, {due} FROM tickets WHERE {running}status IN ('new', 'assigned', 'planned') \
         AND sla_notified NOT LIKE '%{breach}%' AND {warn} <= $1 AND (sla_notified NOT LIKE '%{warning}%' OR {due} <= $1) \
         ORDER BY {warn} LIMIT $2"
    );
    Ok(sqlx::query_as(&sql).bind(now).bind(SLA_BATCH).fetch_all(c).await?)
}

/// One pass of the SLA watcher, as if it were `now`: records (and, when sending is on,
/// notifies) every warning or breach reached and not yet recorded. Safe to run on several
/// nodes at once: a level is recorded by a conditional UPDATE that only one of them wins.
pub async fn watch_sla(store: &Store, now: DateTime<Utc>) -> Result<SlaPass> {
    let now = fmt_time(now);
    let mut found = Vec::new();
    {
        let mut c = store.read().await?;
        for clock in [Clock::Own, Clock::Resolve] {
            found.extend(sla_candidates(&mut c, clock, &now).await?.into_iter().map(|t| (clock, t)));
        }
    }
    let mut pass = SlaPass::default();
    if found.is_empty() {
        return Ok(pass);
    }
    let mut tx = store.write().await?;
    let enabled = mail_settings::enabled(&mut tx).await?;
    for (clock, (id, notified, due)) in found {
        let (running, _, _, warning, breach) = clock.columns();
        let breached = due.as_deref().is_some_and(|d| d <= now.as_str());
        let mut tokens: Vec<&str> = notified.split(',').filter(|s| !s.is_empty()).collect();
        tokens.push(warning);
        if breached {
            tokens.push(breach);
        }
        tokens.sort_unstable();
        tokens.dedup();
        let won = sqlx::query(&format!(
            "UPDATE tickets SET sla_notified = $1 WHERE id = $2 AND sla_notified = $3 AND {running}status IN ('new', 'assigned', 'planned')"
        ))
        .bind(tokens.join(","))
        .bind(id)
        .bind(&notified)
        .execute(&mut *tx)
        .await?
        .rows_affected()
            == 1;
        if !won {
            continue;
        }
        let event = if breached { EventKind::SlaBreach } else { EventKind::SlaWarning };
        if breached {
            pass.breaches += 1;
        } else {
            pass.warnings += 1;
        }
        if enabled {
            enqueue(&mut tx, &Notice { clock: Some(clock), ..Notice::new(event, TicketId(id), None) }).await?;
        }
    }
    tx.commit().await?;
    Ok(pass)
}
