//! Planning: a technician's appointments (tasks with a planned start and end), with the ones
//! that overlap flagged, and the technician's private calendar feed token.
//!
//! Appointments are read by technician and time range through the `(technician_user_id,
//! planned_end)` index (migration `0005_planning.sql`): `planned_end > from` skips the past
//! appointments, which are most of them. The feed token is random (32 bytes, URL-safe) and
//! stored only as its SHA-256, like API tokens; one feed per user, regenerating replaces it.

use crate::secrets::{random_token, token_hash};
use crate::{audit, fmt_time, now, Actor, Result, StoreError};
use chrono::{DateTime, Utc};
use parc_core::audit::{AuditAction, FieldChange, ObjectType};
use parc_core::helpdesk::TicketStatus;
use parc_core::{EntityId, TaskId, TicketId, UserId};
use serde::Serialize;
use sqlx::AnyConnection;

/// Most appointments one query returns (a year of a busy technician's planning fits).
pub const APPOINTMENTS_MAX: i64 = 5000;
/// Characters of a feed token: 32 random bytes in unpadded URL-safe base64.
pub const FEED_TOKEN_CHARS: usize = 43;

/// One appointment of a technician, with what its ticket says about it.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Appointment {
    pub task_id: TaskId,
    pub ticket_id: TicketId,
    pub entity_id: EntityId,
    pub technician_user_id: UserId,
    pub ticket_title: String,
    pub ticket_status: TicketStatus,
    pub location_name: Option<String>,
    pub location_address: Option<String>,
    /// The task's description (what is to be done).
    pub description: String,
    pub is_private: bool,
    pub on_site: bool,
    /// UTC RFC 3339.
    pub planned_start: String,
    pub planned_end: String,
    pub done: bool,
    /// The intervention sheet was signed.
    pub signed: bool,
    pub updated_at: String,
    /// Another live appointment of the same technician overlaps this one.
    pub overlaps: bool,
}

impl Appointment {
    /// Not done while its ticket is solved or closed: the appointment will not take place.
    pub fn cancelled(&self) -> bool {
        !self.done && matches!(self.ticket_status, TicketStatus::Solved | TicketStatus::Closed)
    }
}

type Row = (
    i64,
    i64,
    i64,
    i64,
    String,
    String,
    Option<String>,
    Option<String>,
    String,
    i64,
    i64,
    String,
    String,
    i64,
    Option<String>,
    String,
);

fn appointment(r: Row) -> Appointment {
    Appointment {
        task_id: TaskId(r.0),
        ticket_id: TicketId(r.1),
        entity_id: EntityId(r.2),
        technician_user_id: UserId(r.3),
        ticket_title: r.4,
        ticket_status: r.5.parse().unwrap_or(TicketStatus::New),
        location_name: r.6,
        location_address: r.7,
        description: r.8,
        is_private: r.9 != 0,
        on_site: r.10 != 0,
        planned_start: r.11,
        planned_end: r.12,
        done: r.13 != 0,
        signed: r.14.is_some(),
        updated_at: r.15,
        overlaps: false,
    }
}

/// The appointments of `technician` that meet `[from, to)`, by start, with overlaps flagged.
pub async fn appointments(
    c: &mut AnyConnection,
    technician: UserId,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<Appointment>> {
    let rows: Vec<Row> = sqlx::query_as(
        "SELECT k.id, k.ticket_id, t.entity_id, k.technician_user_id, t.title, t.status, l.name, l.address, \
         k.description, k.is_private, k.on_site, k.planned_start, k.planned_end, k.done, k.signer_name, k.updated_at \
         FROM ticket_tasks k JOIN tickets t ON t.id = k.ticket_id LEFT JOIN locations l ON l.id = t.location_id \
         WHERE k.technician_user_id = $1 AND k.planned_end > $2 AND k.planned_start < $3 \
         ORDER BY k.planned_start, k.id LIMIT $4",
    )
    .bind(technician.0)
    .bind(fmt_time(from))
    .bind(fmt_time(to))
    .bind(APPOINTMENTS_MAX)
    .fetch_all(c)
    .await?;
    let mut list: Vec<Appointment> = rows.into_iter().map(appointment).collect();
    flag_overlaps(&mut list);
    Ok(list)
}

/// Flags every live (not cancelled) appointment that overlaps another live one. `list` is
/// sorted by start; stored instants share one format, so their text order is time order.
pub fn flag_overlaps(list: &mut [Appointment]) {
    for i in 0..list.len() {
        if list[i].cancelled() {
            continue;
        }
        for j in i + 1..list.len() {
            if list[j].planned_start >= list[i].planned_end {
                break;
            }
            if !list[j].cancelled() {
                list[i].overlaps = true;
                list[j].overlaps = true;
            }
        }
    }
}

/// Whether `token` has the shape of a feed token (checked before any lookup).
pub fn is_feed_token(token: &str) -> bool {
    token.len() == FEED_TOKEN_CHARS && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

async fn user_entity(c: &mut AnyConnection, user: UserId) -> Result<EntityId> {
    Ok(crate::users::get(c, user).await?.ok_or(StoreError::NotFound)?.entity_id)
}

/// Creates `user`'s feed, or replaces it (the old URL stops working), and returns the token:
/// the only time it exists in clear. Audited on the user.
pub async fn create_feed(c: &mut AnyConnection, actor: &Actor, user: UserId) -> Result<String> {
    let entity = user_entity(c, user).await?;
    let existed = feed_created_at(c, user).await?.is_some();
    let token = random_token(32);
    sqlx::query(
        "INSERT INTO calendar_feeds (user_id, token_hash, created_at) VALUES ($1, $2, $3) \
         ON CONFLICT (user_id) DO UPDATE SET token_hash = excluded.token_hash, created_at = excluded.created_at",
    )
    .bind(user.0)
    .bind(token_hash(&token))
    .bind(now())
    .execute(&mut *c)
    .await
    .map_err(|e| StoreError::from_write(e, "calendar feed"))?;
    let what = if existed { "regenerated" } else { "created" };
    let change = FieldChange { field: "calendar_feed".into(), old: None, new: Some(what.into()) };
    audit::record(c, actor, ObjectType::User, user.0, Some(entity), AuditAction::TokenCreate, &[change]).await?;
    Ok(token)
}

/// Removes `user`'s feed; whether there was one. Audited on the user.
pub async fn revoke_feed(c: &mut AnyConnection, actor: &Actor, user: UserId) -> Result<bool> {
    let entity = user_entity(c, user).await?;
    let done = sqlx::query("DELETE FROM calendar_feeds WHERE user_id = $1").bind(user.0).execute(&mut *c).await?;
    if done.rows_affected() == 0 {
        return Ok(false);
    }
    let change = FieldChange { field: "calendar_feed".into(), old: Some("active".into()), new: None };
    audit::record(c, actor, ObjectType::User, user.0, Some(entity), AuditAction::TokenRevoke, &[change]).await?;
    Ok(true)
}

/// When `user`'s current feed was created, if they have one.
pub async fn feed_created_at(c: &mut AnyConnection, user: UserId) -> Result<Option<String>> {
    let row: Option<(String,)> = sqlx::query_as("SELECT created_at FROM calendar_feeds WHERE user_id = $1")
        .bind(user.0)
        .fetch_optional(c)
        .await?;
    Ok(row.map(|r| r.0))
}

/// The active user whose feed `token` opens.
pub async fn feed_owner(c: &mut AnyConnection, token: &str) -> Result<Option<UserId>> {
    if !is_feed_token(token) {
        return Ok(None);
    }
    let row: Option<(i64,)> = sqlx::query_as(
        "SELECT f.user_id FROM calendar_feeds f JOIN users u ON u.id = f.user_id WHERE f.token_hash = $1 AND u.active = 1",
    )
    .bind(token_hash(token))
    .fetch_optional(c)
    .await?;
    Ok(row.map(|r| UserId(r.0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn appt(id: i64, start: &str, end: &str, status: TicketStatus, done: bool) -> Appointment {
        Appointment {
            task_id: TaskId(id),
            ticket_id: TicketId(1),
            entity_id: EntityId(1),
            technician_user_id: UserId(1),
            ticket_title: String::new(),
            ticket_status: status,
            location_name: None,
            location_address: None,
            description: String::new(),
            is_private: false,
            on_site: true,
            planned_start: format!("2026-03-09T{start}:00.000Z"),
            planned_end: format!("2026-03-09T{end}:00.000Z"),
            done,
            signed: false,
            updated_at: String::new(),
            overlaps: false,
        }
    }

    #[test]
    fn overlaps_are_flagged_on_both_sides_and_touching_ones_are_not() {
        use TicketStatus::*;
        let mut list = vec![
            appt(1, "08:00", "12:00", Planned, false),
            appt(2, "09:00", "09:30", Planned, false),
            appt(3, "12:00", "13:00", Planned, false),
            appt(4, "12:30", "14:00", Solved, false),
            appt(5, "15:00", "16:00", Planned, true),
            appt(6, "15:30", "17:00", Closed, true),
        ];
        flag_overlaps(&mut list);
        let flagged: Vec<i64> = list.iter().filter(|a| a.overlaps).map(|a| a.task_id.0).collect();
        // 1-2 overlap; 3 only touches 1 and meets 4, which is cancelled; 5 and 6 are done (they happened).
        assert_eq!(flagged, vec![1, 2, 5, 6]);
        assert!(list[3].cancelled() && !list[5].cancelled());
    }

    #[test]
    fn feed_token_shape() {
        let t = random_token(32);
        assert!(is_feed_token(&t), "{t}");
        assert!(!is_feed_token(&t[1..]));
        assert!(!is_feed_token(&format!("{}.", &t[1..])));
        assert!(!is_feed_token("../../etc/passwd"));
    }
}
