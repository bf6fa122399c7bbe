//! Who receives a monitoring notification, and the watcher that re-notifies problems that
//! last (and sends the ones that were held: outside the notification period, in a downtime
//! that has ended, during the first delay).
//!
//! A notice ([`super::schedule::Notice`]) is queued by [`super::schedule::record`] in the
//! result's transaction; the job worker expands it with [`prepare`]: the members of the host's
//! contact group (plus its escalation group from notification number `escalate_after` on), or,
//! when the host has no contact group, the technicians of its entity. Inactive users and users
//! without an e-mail address are skipped; each address gets one message.

use super::schedule::{enqueue_notice, Notice};
use crate::helpdesk::notify::{handlers_of, Recipient};
use crate::sql::Sql;
use crate::{Result, Store};
use chrono::{DateTime, Duration, Utc};
use parc_core::monitoring::notify::{self, Decision, NotificationPolicy, NotificationType, NotifyContext};
use parc_core::monitoring::ServiceState;
use parc_core::{EntityId, UserId};
use sqlx::AnyConnection;
use std::collections::HashSet;

/// Everything the e-mails of one monitoring notice are made of.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub notice: Notice,
    pub host_name: String,
    pub host_display_name: Option<String>,
    pub address: String,
    pub service_name: String,
    pub long_output: Option<String>,
    pub recipients: Vec<Recipient>,
}

/// The alert of `notice` as things stand now; `None` when its check no longer exists.
pub async fn prepare(c: &mut AnyConnection, notice: &Notice) -> Result<Option<Alert>> {
    type Row = (String, Option<String>, String, String, Option<String>, i64, Option<i64>, Option<i64>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT h.name, h.display_name, h.address, s.name, s.long_output, h.entity_id, h.contact_group_id, \
         CASE WHEN $1 = 1 THEN h.escalation_group_id ELSE NULL END \
         FROM monitor_services s JOIN monitor_hosts h ON h.id = s.host_id WHERE s.id = $2",
    )
    .bind(i64::from(notice.escalated))
    .bind(notice.service_id)
    .fetch_optional(&mut *c)
    .await?;
    let Some((host_name, host_display_name, address, service_name, long_output, entity, group, escalation)) = row
    else {
        return Ok(None);
    };
    let mut ids: Vec<UserId> = Vec::new();
    for g in [group, escalation].into_iter().flatten() {
        let members: Vec<(i64,)> =
            sqlx::query_as("SELECT user_id FROM user_group_members WHERE group_id = $1 ORDER BY user_id")
                .bind(g)
                .fetch_all(&mut *c)
                .await?;
        ids.extend(members.into_iter().map(|(u,)| UserId(u)));
    }
    if group.is_none() {
        let tree = crate::entities::tree(c).await?;
        ids.extend(handlers_of(c, &tree, EntityId(entity)).await?);
    }
    let recipients = reachable(c, &ids).await?;
    Ok(Some(Alert {
        notice: notice.clone(),
        host_name,
        host_display_name,
        address,
        service_name,
        long_output: long_output.filter(|l| !l.is_empty()),
        recipients,
    }))
}

async fn reachable(c: &mut AnyConnection, ids: &[UserId]) -> Result<Vec<Recipient>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let mut sql = Sql::new("SELECT id, display_name, email, language FROM users WHERE ");
    sql.in_ints("id", ids.iter().map(|u| u.0));
    sql.push(" AND active = 1 AND email IS NOT NULL AND email <> ''");
    let rows: Vec<(i64, String, String, Option<String>)> = sql.query_as().fetch_all(c).await?;
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for id in ids {
        let Some((_, name, email, language)) = rows.iter().find(|r| r.0 == id.0) else { continue };
        let email = email.trim();
        if seen.insert(email.to_lowercase()) {
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

/// What one watcher pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WatchPass {
    /// Notifications queued (re-notifications and held ones).
    pub sent: usize,
}

#[derive(sqlx::FromRow)]
struct WatchRow {
    id: i64,
    host_id: i64,
    is_host: i64,
    state: String,
    ack_sticky: Option<i64>,
    notified_problem: i64,
    notifications_sent: i64,
    last_notification_ms: Option<i64>,
    last_hard_change_ms: Option<i64>,
    flapping: i64,
    notification_period: Option<String>,
    renotify_interval_s: i64,
    escalate_after: Option<i64>,
    in_downtime: i64,
    output: Option<String>,
    host_state: Option<String>,
}

/// Looks at the HARD problems that may need a notification now: a re-notification after the
/// host's interval, or a first one that was held. Each is decided by parc-core's rules; a
/// compare-and-set on `last_notification_ms` makes sure that with several nodes only one sends.
pub async fn watch(store: &Store, now: DateTime<Utc>) -> Result<WatchPass> {
    let now_ms = now.timestamp_millis();
    let rows: Vec<WatchRow> = {
        let mut c = store.read().await?;
        sqlx::query_as(
            "SELECT s.id, s.host_id, s.is_host, s.state, s.ack_sticky, s.notified_problem, s.notifications_sent, \
             s.last_notification_ms, s.last_hard_change_ms, s.flapping, h.notification_period, h.renotify_interval_s, \
             h.escalate_after, \
             CASE WHEN EXISTS (SELECT 1 FROM monitor_downtimes d WHERE d.host_id = s.host_id \
               AND (d.service_id IS NULL OR d.service_id = s.id) AND d.cancelled_at IS NULL \
               AND d.start_ms <= $1 AND d.end_ms > $2) THEN 1 ELSE 0 END AS in_downtime, s.output, \
             hs.state AS host_state \
             FROM monitor_services s JOIN monitor_hosts h ON h.id = s.host_id \
             LEFT JOIN monitor_services hs ON hs.host_id = s.host_id AND hs.is_host = 1 \
             WHERE s.state_type = 'HARD' AND s.state NOT IN ('OK', 'UP', 'PENDING') AND s.notifications_enabled = 1 \
             AND h.enabled = 1 AND (s.notified_problem = 0 OR h.renotify_interval_s > 0) \
             ORDER BY s.id LIMIT 5000",
        )
        .bind(now_ms)
        .bind(now_ms)
        .fetch_all(&mut *c)
        .await?
    };
    let mut pass = WatchPass::default();
    for r in rows {
        let WatchRow {
            id,
            host_id,
            is_host,
            state,
            ack_sticky: ack,
            notified_problem: notified,
            notifications_sent: sent,
            last_notification_ms: last_ms,
            last_hard_change_ms: since_ms,
            flapping,
            notification_period: period,
            renotify_interval_s: renotify_s,
            escalate_after,
            in_downtime: downtime,
            output,
            host_state,
        } = r;
        // Only the host alerts while it is not UP.
        let host_not_up = is_host == 0 && host_state.is_some_and(|s| s != "UP" && s != "PENDING");
        let current = match state.parse::<ServiceState>() {
            Ok(s) => s,
            Err(_) => match state.as_str() {
                "DOWN" => ServiceState::Critical,
                _ => ServiceState::Unknown,
            },
        };
        let ctx = NotifyContext {
            is_host: is_host != 0,
            state_hard: true,
            in_downtime: downtime != 0,
            acknowledged: ack.is_some(),
            flapping: flapping != 0,
            host_not_up,
            unreachable: state == "UNREACHABLE",
            dependency_failed: false,
            last_notification_at: last_ms.and_then(DateTime::from_timestamp_millis),
            notifications_sent: u32::try_from(sent).unwrap_or(0),
            problem_notified: notified != 0,
            problem_since: since_ms.and_then(DateTime::from_timestamp_millis).unwrap_or(now),
        };
        let policy = NotificationPolicy {
            enabled: true,
            interval: (renotify_s > 0).then(|| Duration::seconds(renotify_s)),
            period: period.as_deref().and_then(|p| p.parse().ok()),
            escalate_after: escalate_after.and_then(|n| u32::try_from(n).ok()),
            ..NotificationPolicy::default()
        };
        let Decision::Send { kind: NotificationType::Problem, number, escalated } =
            notify::renotify(current, &ctx, &policy, now)
        else {
            continue;
        };
        let mut tx = store.write().await?;
        // Only if nobody notified it meanwhile (another node, or a new result).
        let mut cas = Sql::new("UPDATE monitor_services SET notified_problem = 1, notifications_sent = ");
        cas.bind_int(i64::from(number)).push(", last_notification_ms = ").bind_int(now_ms);
        cas.push(" WHERE id = ").bind_int(id).push(" AND notifications_sent = ").bind_int(sent);
        match last_ms {
            Some(l) => cas.push(" AND last_notification_ms = ").bind_int(l),
            None => cas.push(" AND last_notification_ms IS NULL"),
        };
        if cas.execute(&mut tx).await? != 1 {
            continue;
        }
        let notice = Notice {
            service_id: id,
            host_id,
            is_host: is_host != 0,
            kind: "PROBLEM".into(),
            state: state.clone(),
            output: output.unwrap_or_default().chars().take(1000).collect(),
            number,
            escalated,
            at_ms: now_ms,
        };
        enqueue_notice(&mut tx, &notice).await?;
        tx.commit().await?;
        pass.sent += 1;
    }
    Ok(pass)
}

/// Kind of the jobs that open a helpdesk ticket for a HARD CRITICAL/DOWN problem of a host whose
/// `open_tickets` is set, or add the recovery to it; their payload is a [`Notice`].
pub const MONITOR_TICKET: &str = "monitor_ticket";

/// Queues the ticket work of a notice when the host asks for tickets: a PROBLEM in CRITICAL or
/// DOWN opens one (once per problem), a RECOVERY follows up on it. In the result's transaction.
pub(crate) async fn enqueue_ticket(c: &mut AnyConnection, notice: &Notice) -> Result<()> {
    let wanted = match notice.kind.as_str() {
        "PROBLEM" => matches!(notice.state.as_str(), "CRITICAL" | "DOWN") && notice.number == 1,
        _ => true,
    };
    if !wanted {
        return Ok(());
    }
    let row: Option<(i64, Option<i64>)> = sqlx::query_as(
        "SELECT h.open_tickets, s.ticket_id FROM monitor_services s JOIN monitor_hosts h ON h.id = s.host_id WHERE s.id = $1",
    )
    .bind(notice.service_id)
    .fetch_optional(&mut *c)
    .await?;
    let Some((open_tickets, ticket)) = row else { return Ok(()) };
    let needed = match notice.kind.as_str() {
        "PROBLEM" => open_tickets != 0 && ticket.is_none(),
        _ => ticket.is_some(),
    };
    if needed {
        crate::jobs::enqueue(c, MONITOR_TICKET, &serde_json::to_value(notice).unwrap_or_default(), None).await?;
    }
    Ok(())
}

/// The texts of a monitoring ticket, written by the caller in the organisation's language.
#[derive(Debug, Clone)]
pub struct TicketTexts {
    /// The requester's name on the ticket ("Supervision").
    pub requester: String,
    pub title: String,
    pub description: String,
    pub followup: String,
}

/// What [`apply_ticket`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TicketOutcome {
    Opened(parc_core::TicketId),
    FollowedUp(parc_core::TicketId),
    /// Nothing to do any more (a ticket is already open, the check or its ticket is gone).
    Nothing,
}

/// The facts the caller needs to write a ticket's texts: (host, display name, address, check
/// name).
pub async fn ticket_subject(
    c: &mut AnyConnection,
    notice: &Notice,
) -> Result<Option<(String, Option<String>, String, String)>> {
    Ok(sqlx::query_as(
        "SELECT h.name, h.display_name, h.address, s.name FROM monitor_services s JOIN monitor_hosts h ON h.id = s.host_id \
         WHERE s.id = $1",
    )
    .bind(notice.service_id)
    .fetch_optional(c)
    .await?)
}

/// Opens the ticket of a problem, or follows up on it at the recovery, in the caller's
/// transaction (the job worker's). The ticket is an incident of the host's entity, from
/// "monitoring", linked to the host's asset, assigned to its contact group when that group
/// handles tickets there.
pub async fn apply_ticket(c: &mut AnyConnection, notice: &Notice, texts: &TicketTexts) -> Result<TicketOutcome> {
    type Row = (Option<i64>, i64, Option<i64>, Option<i64>);
    let row: Option<Row> = sqlx::query_as(
        "SELECT s.ticket_id, h.entity_id, h.asset_id, h.contact_group_id FROM monitor_services s \
         JOIN monitor_hosts h ON h.id = s.host_id WHERE s.id = $1",
    )
    .bind(notice.service_id)
    .fetch_optional(&mut *c)
    .await?;
    let Some((ticket, entity, asset, group)) = row else { return Ok(TicketOutcome::Nothing) };
    let actor = crate::Actor::system("monitoring");
    if notice.kind == "RECOVERY" {
        let Some(t) = ticket else { return Ok(TicketOutcome::Nothing) };
        sqlx::query("UPDATE monitor_services SET ticket_id = NULL WHERE id = $1")
            .bind(notice.service_id)
            .execute(&mut *c)
            .await?;
        let id = parc_core::TicketId(t);
        if crate::helpdesk::get(c, id).await?.is_none_or(|t| !t.status.is_open()) {
            return Ok(TicketOutcome::Nothing);
        }
        crate::helpdesk::add_followup(c, &actor, id, &texts.followup, false).await?;
        return Ok(TicketOutcome::FollowedUp(id));
    }
    if ticket.is_some() {
        return Ok(TicketOutcome::Nothing);
    }
    let cfg = crate::helpdesk::config(c).await?;
    let tree = crate::entities::tree(c).await?;
    let mut input = crate::helpdesk::TicketInput {
        entity_id: Some(entity),
        kind: Some("incident".into()),
        title: Some(texts.title.chars().take(250).collect()),
        description: Some(texts.description.clone()),
        urgency: Some(4),
        impact: Some(3),
        asset_ids: asset.map(|a| vec![a]),
        assignee_group_id: group,
        source: Some("monitoring".into()),
        requester_name: Some(texts.requester.clone()),
        ..Default::default()
    };
    let t = match crate::helpdesk::create(c, &actor, &cfg, &tree, &input).await {
        Ok(t) => t,
        // The contact group may not handle tickets in this entity: open it unassigned.
        Err(crate::StoreError::Validation(_)) if group.is_some() => {
            input.assignee_group_id = None;
            crate::helpdesk::create(c, &actor, &cfg, &tree, &input).await?
        }
        Err(e) => return Err(e),
    };
    sqlx::query("UPDATE monitor_services SET ticket_id = $1 WHERE id = $2")
        .bind(t.id.0)
        .bind(notice.service_id)
        .execute(&mut *c)
        .await?;
    Ok(TicketOutcome::Opened(t.id))
}
