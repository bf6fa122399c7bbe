//! What the monitoring views read: current states (status wall, problems, host page),
//! acknowledgements, downtimes, the state-change log and performance samples; and the
//! housekeeping that rolls samples up and purges old rows.

use crate::sql::Sql;
use crate::{audit, now, Actor, Result, StoreError};
use chrono::{DateTime, Utc};
use parc_core::audit::{AuditAction, FieldChange, ObjectType};
use parc_core::monitoring::check::CheckDefinition;
use parc_core::monitoring::PerfData;
use parc_core::validate::{check_text, clean, ValidationErrors};
use parc_core::{DowntimeId, EntityId, HostId, ServiceId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

/// The current state of a check, with its host's names, as every view shows it.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct ServiceStatus {
    pub id: ServiceId,
    pub host_id: HostId,
    pub entity_id: EntityId,
    pub host_name: String,
    pub host_display_name: Option<String>,
    pub wall_group: Option<String>,
    pub is_host: bool,
    pub name: String,
    /// `PENDING`, `OK`/`WARNING`/`CRITICAL`/`UNKNOWN`, or `UP`/`DOWN`/`UNREACHABLE`.
    pub state: String,
    /// `SOFT` or `HARD`.
    pub state_type: String,
    pub attempt: i64,
    pub max_attempts: i64,
    pub enabled: bool,
    /// Epoch milliseconds.
    pub last_check_ms: Option<i64>,
    pub next_check_ms: i64,
    pub last_state_change_ms: Option<i64>,
    pub last_duration_ms: Option<i64>,
    pub output: Option<String>,
    pub long_output: Option<String>,
    #[schema(value_type = Vec<Object>)]
    pub perfdata: Vec<PerfData>,
    pub flapping: bool,
    pub percent_state_change: Option<f64>,
    pub ack_author: Option<String>,
    pub ack_comment: Option<String>,
    pub ack_sticky: Option<bool>,
    pub in_downtime: bool,
    /// The helpdesk ticket opened for the current problem (hosts with `open_tickets`).
    pub ticket_id: Option<i64>,
    pub check_kind: String,
    pub check_summary: String,
}

impl ServiceStatus {
    /// Rank for sorting problems, worst first: 4 CRITICAL/DOWN, 3 UNKNOWN/UNREACHABLE,
    /// 2 WARNING, 1 PENDING, 0 OK/UP.
    pub fn severity(&self) -> u8 {
        match self.state.as_str() {
            "CRITICAL" | "DOWN" => 4,
            "UNKNOWN" | "UNREACHABLE" => 3,
            "WARNING" => 2,
            "PENDING" => 1,
            _ => 0,
        }
    }

    pub fn acknowledged(&self) -> bool {
        self.ack_sticky.is_some()
    }
}

#[derive(sqlx::FromRow)]
struct StatusRow {
    id: i64,
    host_id: i64,
    entity_id: i64,
    host_name: String,
    display_name: Option<String>,
    wall_group: Option<String>,
    is_host: i64,
    name: String,
    state: String,
    state_type: String,
    attempt: i64,
    max_attempts: i64,
    enabled: i64,
    last_check_ms: Option<i64>,
    next_check_ms: i64,
    due_ms: Option<i64>,
    last_state_change_ms: Option<i64>,
    last_duration_ms: Option<i64>,
    output: Option<String>,
    long_output: Option<String>,
    perfdata: Option<String>,
    flapping: i64,
    percent_state_change: Option<f64>,
    ack_author: Option<String>,
    ack_comment: Option<String>,
    ack_sticky: Option<i64>,
    in_downtime: i64,
    definition: String,
    ticket_id: Option<i64>,
}

fn status_select(now_ms: i64) -> Sql {
    let mut sql = Sql::new(
        "SELECT s.id, s.host_id, s.entity_id, h.name AS host_name, h.display_name, h.wall_group, s.is_host, s.name, \
         s.state, s.state_type, s.attempt, s.max_attempts, s.enabled, s.last_check_ms, s.next_check_ms, s.due_ms, \
         s.last_state_change_ms, s.last_duration_ms, s.output, s.long_output, s.perfdata, s.flapping, \
         s.percent_state_change, s.ack_author, s.ack_comment, s.ack_sticky, \
         CASE WHEN EXISTS (SELECT 1 FROM monitor_downtimes d WHERE d.host_id = s.host_id \
           AND (d.service_id IS NULL OR d.service_id = s.id) AND d.cancelled_at IS NULL \
           AND d.start_ms <= ",
    );
    sql.bind_int(now_ms);
    sql.push(" AND d.end_ms > ");
    sql.bind_int(now_ms);
    sql.push(
        ") THEN 1 ELSE 0 END AS in_downtime, s.definition, s.ticket_id \
         FROM monitor_services s JOIN monitor_hosts h ON h.id = s.host_id",
    );
    sql
}

impl From<StatusRow> for ServiceStatus {
    fn from(r: StatusRow) -> Self {
        let def: Option<CheckDefinition> = serde_json::from_str(&r.definition).ok();
        ServiceStatus {
            id: ServiceId(r.id),
            host_id: HostId(r.host_id),
            entity_id: EntityId(r.entity_id),
            host_name: r.host_name,
            host_display_name: r.display_name,
            wall_group: r.wall_group,
            is_host: r.is_host != 0,
            name: r.name,
            state: r.state,
            state_type: r.state_type,
            attempt: r.attempt,
            max_attempts: r.max_attempts,
            enabled: r.enabled != 0,
            last_check_ms: r.last_check_ms,
            // While leased, the next check is the due time, not the lease's end.
            next_check_ms: r.due_ms.unwrap_or(r.next_check_ms),
            last_state_change_ms: r.last_state_change_ms,
            last_duration_ms: r.last_duration_ms,
            output: r.output,
            long_output: r.long_output.filter(|l| !l.is_empty()),
            perfdata: r.perfdata.and_then(|p| serde_json::from_str(&p).ok()).unwrap_or_default(),
            flapping: r.flapping != 0,
            percent_state_change: r.percent_state_change,
            ack_author: r.ack_author,
            ack_comment: r.ack_comment,
            ack_sticky: r.ack_sticky.map(|s| s != 0),
            in_downtime: r.in_downtime != 0,
            ticket_id: r.ticket_id,
            check_kind: def.as_ref().map(|d| d.kind().to_owned()).unwrap_or_default(),
            check_summary: def.as_ref().map(CheckDefinition::summary).unwrap_or_default(),
        }
    }
}

/// Which checks a list shows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatusFilter {
    /// Only these entities.
    pub entities: Vec<i64>,
    /// Only problems (not OK, UP or PENDING).
    pub problems_only: bool,
    pub host: Option<HostId>,
    pub service: Option<ServiceId>,
}

/// Current states, worst first then longest-standing first (the problems list's order), or
/// by host and name for a host page.
pub async fn statuses(c: &mut AnyConnection, f: &StatusFilter, now_ms: i64) -> Result<Vec<ServiceStatus>> {
    let mut sql = status_select(now_ms);
    sql.push(" WHERE ").in_ints("s.entity_id", f.entities.iter().copied());
    if f.problems_only {
        sql.push(" AND s.state NOT IN ('OK', 'UP', 'PENDING')");
    }
    if let Some(h) = f.host {
        sql.push(" AND s.host_id = ").bind_int(h.0);
    }
    if let Some(s) = f.service {
        sql.push(" AND s.id = ").bind_int(s.0);
    }
    sql.push(" ORDER BY lower(h.name), s.is_host DESC, lower(s.name), s.id");
    let rows: Vec<StatusRow> = sql.query_as().fetch_all(c).await?;
    let mut out: Vec<ServiceStatus> = rows.into_iter().map(Into::into).collect();
    if f.problems_only {
        out.sort_by(|a, b| {
            b.severity()
                .cmp(&a.severity())
                .then(a.last_state_change_ms.unwrap_or(0).cmp(&b.last_state_change_ms.unwrap_or(0)))
        });
    }
    Ok(out)
}

/// One check's current state.
pub async fn status(c: &mut AnyConnection, id: ServiceId, now_ms: i64) -> Result<Option<ServiceStatus>> {
    let mut sql = status_select(now_ms);
    sql.push(" WHERE s.id = ").bind_int(id.0);
    let row: Option<StatusRow> = sql.query_as().fetch_optional(c).await?;
    Ok(row.map(Into::into))
}

/// An acknowledgement as the API takes it.
#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AckInput {
    pub comment: Option<String>,
    /// Kept until recovery even if the problem changes (WARNING -> CRITICAL); default true.
    pub sticky: Option<bool>,
}

/// Acknowledges a current problem: its re-notifications stop until it recovers.
pub async fn acknowledge(c: &mut AnyConnection, actor: &Actor, id: ServiceId, i: &AckInput) -> Result<ServiceStatus> {
    let now_ms = Utc::now().timestamp_millis();
    let st = status(c, id, now_ms).await?.ok_or(StoreError::NotFound)?;
    let mut e = ValidationErrors::new();
    check_text(&mut e, "comment", i.comment.as_deref(), 2000, true);
    let comment = clean(i.comment.as_deref());
    if comment.is_none() {
        e.add("comment", "required", "is required");
    }
    e.into_result()?;
    if st.severity() < 2 {
        return Err(StoreError::Conflict("only a problem can be acknowledged".into()));
    }
    let sticky = i.sticky.unwrap_or(true);
    sqlx::query(
        "UPDATE monitor_services SET ack_author = $1, ack_comment = $2, ack_sticky = $3, ack_at_ms = $4 WHERE id = $5",
    )
    .bind(&actor.label)
    .bind(&comment)
    .bind(i64::from(sticky))
    .bind(now_ms)
    .bind(id.0)
    .execute(&mut *c)
    .await?;
    let change = FieldChange { field: "acknowledged".into(), old: None, new: comment.clone() };
    audit::record(c, actor, ObjectType::MonitorService, id.0, Some(st.entity_id), AuditAction::Acknowledge, &[change])
        .await?;
    status(c, id, now_ms).await?.ok_or(StoreError::NotFound)
}

/// Removes an acknowledgement.
pub async fn unacknowledge(c: &mut AnyConnection, actor: &Actor, id: ServiceId) -> Result<ServiceStatus> {
    let now_ms = Utc::now().timestamp_millis();
    let st = status(c, id, now_ms).await?.ok_or(StoreError::NotFound)?;
    sqlx::query(
        "UPDATE monitor_services SET ack_author = NULL, ack_comment = NULL, ack_sticky = NULL, ack_at_ms = NULL WHERE id = $1",
    )
    .bind(id.0)
    .execute(&mut *c)
    .await?;
    let change = FieldChange { field: "acknowledged".into(), old: st.ack_comment.clone(), new: None };
    audit::record(c, actor, ObjectType::MonitorService, id.0, Some(st.entity_id), AuditAction::Acknowledge, &[change])
        .await?;
    status(c, id, now_ms).await?.ok_or(StoreError::NotFound)
}

/// A scheduled downtime.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Downtime {
    pub id: DowntimeId,
    pub host_id: HostId,
    pub entity_id: EntityId,
    pub host_name: String,
    /// `None`: the host and all its services.
    pub service_id: Option<ServiceId>,
    pub service_name: Option<String>,
    pub start_ms: i64,
    pub end_ms: i64,
    pub author: String,
    pub comment: String,
    pub cancelled_at: Option<String>,
    pub created_at: String,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DowntimeInput {
    pub host_id: Option<i64>,
    /// One service of the host; the whole host when absent.
    pub service_id: Option<i64>,
    /// RFC 3339 times.
    pub start: Option<String>,
    pub end: Option<String>,
    pub comment: Option<String>,
}

type DowntimeRow =
    (i64, i64, i64, String, Option<i64>, Option<String>, i64, i64, String, String, Option<String>, String);

const DOWNTIME_SELECT: &str = "SELECT d.id, d.host_id, h.entity_id, h.name, d.service_id, s.name, d.start_ms, d.end_ms, \
     d.author, d.comment, d.cancelled_at, d.created_at FROM monitor_downtimes d JOIN monitor_hosts h ON h.id = d.host_id \
     LEFT JOIN monitor_services s ON s.id = d.service_id";

fn downtime_of(r: DowntimeRow) -> Downtime {
    Downtime {
        id: DowntimeId(r.0),
        host_id: HostId(r.1),
        entity_id: EntityId(r.2),
        host_name: r.3,
        service_id: r.4.map(ServiceId),
        service_name: r.5,
        start_ms: r.6,
        end_ms: r.7,
        author: r.8,
        comment: r.9,
        cancelled_at: r.10,
        created_at: r.11,
    }
}

pub async fn downtime(c: &mut AnyConnection, id: DowntimeId) -> Result<Option<Downtime>> {
    let row: Option<DowntimeRow> =
        sqlx::query_as(&format!("{DOWNTIME_SELECT} WHERE d.id = $1")).bind(id.0).fetch_optional(c).await?;
    Ok(row.map(downtime_of))
}

/// Downtimes not yet over (and not cancelled) of some entities, by start.
pub async fn downtimes(
    c: &mut AnyConnection,
    entities: &[i64],
    host: Option<HostId>,
    now_ms: i64,
) -> Result<Vec<Downtime>> {
    let mut sql = Sql::new(DOWNTIME_SELECT);
    sql.push(" WHERE d.cancelled_at IS NULL AND d.end_ms > ").bind_int(now_ms);
    sql.push(" AND ").in_ints("h.entity_id", entities.iter().copied());
    if let Some(h) = host {
        sql.push(" AND d.host_id = ").bind_int(h.0);
    }
    sql.push(" ORDER BY d.start_ms, d.id");
    let rows: Vec<DowntimeRow> = sql.query_as().fetch_all(c).await?;
    Ok(rows.into_iter().map(downtime_of).collect())
}

fn parse_time(e: &mut ValidationErrors, field: &str, v: Option<&str>) -> Option<DateTime<Utc>> {
    match v.map(str::trim).filter(|v| !v.is_empty()) {
        None => {
            e.add(field, "required", "is required");
            None
        }
        Some(t) => match DateTime::parse_from_rfc3339(t) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(_) => {
                e.add(field, "invalid_datetime", "must be a date and time such as 2026-12-24T08:00:00+01:00");
                None
            }
        },
    }
}

/// Schedules a downtime: no notification for the host (or service) while it lasts.
pub async fn create_downtime(c: &mut AnyConnection, actor: &Actor, i: &DowntimeInput) -> Result<Downtime> {
    let mut e = ValidationErrors::new();
    let start = parse_time(&mut e, "start", i.start.as_deref());
    let end = parse_time(&mut e, "end", i.end.as_deref());
    check_text(&mut e, "comment", i.comment.as_deref(), 2000, true);
    let comment = clean(i.comment.as_deref());
    if comment.is_none() {
        e.add("comment", "required", "is required");
    }
    if let (Some(s), Some(en)) = (start, end) {
        if en <= s {
            e.add("end", "downtime_end_before_start", "must be after the start");
        } else if en - s > chrono::Duration::days(366) {
            e.add("end", "downtime_too_long", "a downtime lasts at most a year");
        }
    }
    let host_id = match i.host_id {
        Some(h) => Some(h),
        None => match i.service_id {
            Some(s) => sqlx::query_as::<_, (i64,)>("SELECT host_id FROM monitor_services WHERE id = $1")
                .bind(s)
                .fetch_optional(&mut *c)
                .await?
                .map(|r| r.0),
            None => {
                e.add("host_id", "required", "is required");
                None
            }
        },
    };
    if let (Some(h), Some(s)) = (host_id, i.service_id) {
        let ok: Option<(i64,)> = sqlx::query_as("SELECT id FROM monitor_services WHERE id = $1 AND host_id = $2")
            .bind(s)
            .bind(h)
            .fetch_optional(&mut *c)
            .await?;
        if ok.is_none() {
            e.add("service_id", "not_found", "is not a check of this host");
        }
    }
    e.into_result()?;
    let host_id = host_id.ok_or(StoreError::NotFound)?;
    let (entity,): (i64,) = sqlx::query_as("SELECT entity_id FROM monitor_hosts WHERE id = $1")
        .bind(host_id)
        .fetch_optional(&mut *c)
        .await?
        .ok_or(StoreError::NotFound)?;
    let (start, end) = (start.unwrap_or_default(), end.unwrap_or_default());
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO monitor_downtimes (host_id, service_id, start_ms, end_ms, author, comment, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(host_id)
    .bind(i.service_id)
    .bind(start.timestamp_millis())
    .bind(end.timestamp_millis())
    .bind(&actor.label)
    .bind(&comment)
    .bind(now())
    .fetch_one(&mut *c)
    .await?;
    let change = FieldChange {
        field: "downtime".into(),
        old: None,
        new: Some(format!("{} → {}: {}", start.to_rfc3339(), end.to_rfc3339(), comment.unwrap_or_default())),
    };
    audit::record(c, actor, ObjectType::MonitorHost, host_id, Some(EntityId(entity)), AuditAction::Downtime, &[change])
        .await?;
    downtime(c, DowntimeId(id)).await?.ok_or(StoreError::NotFound)
}

/// Ends a downtime now (or cancels one that has not started).
pub async fn cancel_downtime(c: &mut AnyConnection, actor: &Actor, id: DowntimeId) -> Result<()> {
    let d = downtime(c, id).await?.ok_or(StoreError::NotFound)?;
    if d.cancelled_at.is_some() {
        return Err(StoreError::Conflict("this downtime is already cancelled".into()));
    }
    sqlx::query("UPDATE monitor_downtimes SET cancelled_at = $1 WHERE id = $2")
        .bind(now())
        .bind(id.0)
        .execute(&mut *c)
        .await?;
    let change = FieldChange { field: "downtime".into(), old: Some(d.comment.clone()), new: None };
    audit::record(c, actor, ObjectType::MonitorHost, d.host_id.0, Some(d.entity_id), AuditAction::Downtime, &[change])
        .await?;
    Ok(())
}

/// One line of the state-change log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct StateEvent {
    pub service_id: ServiceId,
    pub host_name: String,
    pub service_name: String,
    pub is_host: bool,
    pub at_ms: i64,
    pub state: String,
    pub state_type: String,
    pub attempt: i64,
    pub output: Option<String>,
}

/// State changes, newest first: of one check, or of some entities.
pub async fn events(
    c: &mut AnyConnection,
    entities: &[i64],
    service: Option<ServiceId>,
    before_ms: Option<i64>,
    limit: i64,
) -> Result<Vec<StateEvent>> {
    let mut sql = Sql::new(
        "SELECT e.service_id, h.name, s.name, s.is_host, e.at_ms, e.state, e.state_type, e.attempt, e.output \
         FROM monitor_events e JOIN monitor_services s ON s.id = e.service_id JOIN monitor_hosts h ON h.id = s.host_id WHERE ",
    );
    sql.in_ints("s.entity_id", entities.iter().copied());
    if let Some(s) = service {
        sql.push(" AND e.service_id = ").bind_int(s.0);
    }
    if let Some(b) = before_ms {
        sql.push(" AND e.at_ms < ").bind_int(b);
    }
    sql.push(" ORDER BY e.at_ms DESC, e.id DESC LIMIT ").bind_int(limit.clamp(1, 1000));
    type Row = (i64, String, String, i64, i64, String, String, i64, Option<String>);
    let rows: Vec<Row> = sql.query_as().fetch_all(c).await?;
    Ok(rows
        .into_iter()
        .map(|r| StateEvent {
            service_id: ServiceId(r.0),
            host_name: r.1,
            service_name: r.2,
            is_host: r.3 != 0,
            at_ms: r.4,
            state: r.5,
            state_type: r.6,
            attempt: r.7,
            output: r.8,
        })
        .collect())
}

/// The state changes of one check within [from, to), oldest first, plus the last one before
/// `from` (the state the period starts in), for availability.
pub async fn events_in(
    c: &mut AnyConnection,
    service: ServiceId,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<(i64, String)>> {
    let before: Option<(i64, String)> = sqlx::query_as(
        "SELECT at_ms, state FROM monitor_events WHERE service_id = $1 AND at_ms < $2 ORDER BY at_ms DESC, id DESC LIMIT 1",
    )
    .bind(service.0)
    .bind(from_ms)
    .fetch_optional(&mut *c)
    .await?;
    let mut rows: Vec<(i64, String)> = sqlx::query_as(
        "SELECT at_ms, state FROM monitor_events WHERE service_id = $1 AND at_ms >= $2 AND at_ms < $3 ORDER BY at_ms, id",
    )
    .bind(service.0)
    .bind(from_ms)
    .bind(to_ms)
    .fetch_all(&mut *c)
    .await?;
    if let Some(b) = before {
        rows.insert(0, b);
    }
    Ok(rows)
}

/// Downtime windows of a check (its own and its host's) overlapping [from, to).
pub async fn downtime_windows(
    c: &mut AnyConnection,
    service: ServiceId,
    from_ms: i64,
    to_ms: i64,
) -> Result<Vec<(i64, i64)>> {
    let rows: Vec<(i64, i64)> = sqlx::query_as(
        "SELECT d.start_ms, d.end_ms FROM monitor_downtimes d JOIN monitor_services s ON s.host_id = d.host_id \
         WHERE s.id = $1 AND (d.service_id IS NULL OR d.service_id = s.id) AND d.start_ms < $2 AND d.end_ms > $3 \
         ORDER BY d.start_ms",
    )
    .bind(service.0)
    .bind(to_ms)
    .bind(from_ms)
    .fetch_all(c)
    .await?;
    Ok(rows)
}

/// One performance data series with its points.
#[derive(Debug, Clone, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Series {
    pub label: String,
    pub uom: String,
    pub warn: Option<String>,
    pub crit: Option<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// Resolution of the points in seconds (0 = raw samples).
    pub step_s: i64,
    /// (epoch seconds, average, minimum, maximum).
    pub points: Vec<(i64, f64, f64, f64)>,
}

/// Raw samples are kept this long, then only roll-ups.
pub const RAW_RETENTION_S: i64 = 2 * 86_400;
/// Five-minute roll-ups are kept this long.
pub const ROLLUP_5M_RETENTION_S: i64 = 35 * 86_400;
/// Hourly roll-ups are kept this long.
pub const ROLLUP_1H_RETENTION_S: i64 = 400 * 86_400;

/// The series of a check over [from, to), at the finest resolution still kept for that period
/// and at most about `max_points` points.
pub async fn series(
    c: &mut AnyConnection,
    service: ServiceId,
    from_s: i64,
    to_s: i64,
    now_s: i64,
) -> Result<Vec<Series>> {
    type Meta = (i64, String, String, Option<String>, Option<String>, Option<f64>, Option<f64>);
    let metas: Vec<Meta> = sqlx::query_as(
        "SELECT id, label, uom, warn, crit, min, max FROM monitor_series WHERE service_id = $1 ORDER BY id",
    )
    .bind(service.0)
    .fetch_all(&mut *c)
    .await?;
    let step = if from_s >= now_s - RAW_RETENTION_S && to_s - from_s <= 2 * 86_400 {
        0
    } else if from_s >= now_s - ROLLUP_5M_RETENTION_S && to_s - from_s <= 14 * 86_400 {
        300
    } else {
        3600
    };
    let mut out = Vec::with_capacity(metas.len());
    for (id, label, uom, warn, crit, min, max) in metas {
        let points: Vec<(i64, f64, f64, f64)> = if step == 0 {
            let rows: Vec<(i64, f64)> = sqlx::query_as(
                "SELECT at_s, value FROM monitor_samples WHERE series_id = $1 AND at_s >= $2 AND at_s < $3 ORDER BY at_s",
            )
            .bind(id)
            .bind(from_s)
            .bind(to_s)
            .fetch_all(&mut *c)
            .await?;
            rows.into_iter().map(|(t, v)| (t, v, v, v)).collect()
        } else {
            sqlx::query_as(
                "SELECT at_s, avg, min, max FROM monitor_rollups WHERE series_id = $1 AND step_s = $2 \
                 AND at_s >= $3 AND at_s < $4 ORDER BY at_s",
            )
            .bind(id)
            .bind(step)
            .bind(from_s)
            .bind(to_s)
            .fetch_all(&mut *c)
            .await?
        };
        out.push(Series { label, uom, warn, crit, min, max, step_s: step, points });
    }
    Ok(out)
}

/// Housekeeping, run by one node at a time (the caller's transaction): rolls raw samples older
/// than [`RAW_RETENTION_S`] up into five-minute and hourly averages, deletes them, and purges
/// roll-ups, state changes and notifications past their retention. Returns the raw samples
/// rolled up.
pub async fn maintain(c: &mut AnyConnection, now_s: i64) -> Result<u64> {
    let cut = (now_s - RAW_RETENTION_S) / 3600 * 3600;
    for step in [300_i64, 3600] {
        sqlx::query(&format!(
            "INSERT INTO monitor_rollups (series_id, step_s, at_s, avg, min, max, n) \
             SELECT series_id, {step}, (at_s / {step}) * {step}, AVG(value), MIN(value), MAX(value), COUNT(*) \
             FROM monitor_samples WHERE at_s < $1 GROUP BY series_id, (at_s / {step}) * {step} \
             ON CONFLICT DO NOTHING"
        ))
        .bind(cut)
        .execute(&mut *c)
        .await?;
    }
    let rolled =
        sqlx::query("DELETE FROM monitor_samples WHERE at_s < $1").bind(cut).execute(&mut *c).await?.rows_affected();
    sqlx::query("DELETE FROM monitor_rollups WHERE step_s = 300 AND at_s < $1")
        .bind(now_s - ROLLUP_5M_RETENTION_S)
        .execute(&mut *c)
        .await?;
    sqlx::query("DELETE FROM monitor_rollups WHERE step_s = 3600 AND at_s < $1")
        .bind(now_s - ROLLUP_1H_RETENTION_S)
        .execute(&mut *c)
        .await?;
    for table in ["monitor_events", "monitor_notifications"] {
        sqlx::query(&format!("DELETE FROM {table} WHERE at_ms < $1"))
            .bind((now_s - ROLLUP_1H_RETENTION_S) * 1000)
            .execute(&mut *c)
            .await?;
    }
    Ok(rolled)
}

/// How many services (host checks aside) exist, or have a result when `checked`.
pub async fn count_checks(c: &mut AnyConnection, checked: bool) -> Result<i64> {
    let sql = if checked {
        "SELECT COUNT(*) FROM monitor_services WHERE is_host = 0 AND last_check_ms IS NOT NULL"
    } else {
        "SELECT COUNT(*) FROM monitor_services WHERE is_host = 0"
    };
    let (n,): (i64,) = sqlx::query_as(sql).fetch_one(c).await?;
    Ok(n)
}
