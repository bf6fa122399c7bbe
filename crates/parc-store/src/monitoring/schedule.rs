//! The check schedule, leases and results.
//!
//! A scheduler (a Parc node, or a remote poller through the API) [`claim`]s the checks due
//! within a short horizon: in one statement their `next_check_ms` moves to the end of a lease
//! (`FOR UPDATE SKIP LOCKED` on PostgreSQL, so two nodes never claim the same row; SQLite has
//! one writer), the due time is kept in `due_ms` and `lease_owner` names the claimer. It loads
//! the configuration of what it does not have cached ([`configs`]), runs the checks, and hands
//! the results to [`record`] in batches: one transaction applies the Nagios state rules of
//! parc-core to each (SOFT/HARD, flapping, DOWN vs UNREACHABLE), writes the state, the
//! state-change log, the performance data and, when the rules say so, a notification job.
//!
//! A result is only accepted from the lease's owner: a node that was too slow and whose lease
//! was taken over by another cannot overwrite the newer state. A node that dies loses nothing:
//! its checks are due again when their leases end. Passive results (the API) need no lease.

use super::read_definition;
use crate::sql::Sql;
use crate::{jobs, Backend, Result};
use chrono::{DateTime, Duration, Utc};
use parc_core::monitoring::check::CheckDefinition;
use parc_core::monitoring::host::{host_state, HostState};
use parc_core::monitoring::notify::{self, Decision, NotificationPolicy, NotificationType, NotifyContext};
use parc_core::monitoring::{CheckSettings, CheckState, FlapThresholds, PerfData, ServiceState, StateType, Transition};
use parc_core::{HostId, ServiceId};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;
use std::collections::{HashMap, HashSet};

/// Kind of the jobs that send a monitoring notification; their payload is a [`Notice`].
pub const MONITOR_NOTIFY: &str = "monitor_notify";

/// Extra lease time beyond a check's own timeout, for the wait in the scheduler's queue and
/// the batched write of its result.
pub const LEASE_MARGIN_MS: i64 = 60_000;

/// Longest output kept on a check (the first line and the long output together).
const OUTPUT_MAX_CHARS: usize = 8_000;

/// A check handed to a scheduler.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Claimed {
    pub id: ServiceId,
    /// When it should start (epoch milliseconds).
    pub due_ms: i64,
    /// Compare with the cached configuration's; reload when different.
    pub config_version: i64,
}

/// Claims at most `limit` checks of `poller` (0 = the central nodes) due before `horizon_ms`,
/// for `owner`.
pub async fn claim(
    c: &mut AnyConnection,
    backend: Backend,
    owner: &str,
    poller: i64,
    horizon_ms: i64,
    limit: i64,
) -> Result<Vec<Claimed>> {
    let lock = match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    };
    // The lease ends after the horizon, however late the check is: a check due long ago (a
    // node was down) must not be claimable again by another node while it runs.
    let sql = format!(
        "UPDATE monitor_services SET lease_owner = $1, due_ms = next_check_ms, \
         next_check_ms = $5 + timeout_s * 1000 + {LEASE_MARGIN_MS} \
         WHERE id IN (SELECT id FROM monitor_services WHERE poller_id = $2 AND enabled = 1 AND next_check_ms <= $3 \
         ORDER BY next_check_ms LIMIT $4{lock}) \
         RETURNING id, due_ms, config_version"
    );
    let rows: Vec<(i64, i64, i64)> = sqlx::query_as(&sql)
        .bind(owner)
        .bind(poller)
        .bind(horizon_ms)
        .bind(limit)
        .bind(horizon_ms.max(chrono::Utc::now().timestamp_millis()))
        .fetch_all(c)
        .await?;
    let mut out: Vec<Claimed> =
        rows.into_iter().map(|(id, due_ms, v)| Claimed { id: ServiceId(id), due_ms, config_version: v }).collect();
    out.sort_by_key(|x| x.due_ms);
    Ok(out)
}

/// Gives back the checks `owner` claimed and has not run (a node shutting down): they are due
/// again at their due time, for any node.
pub async fn release(c: &mut AnyConnection, owner: &str) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE monitor_services SET next_check_ms = COALESCE(due_ms, next_check_ms), due_ms = NULL, lease_owner = NULL \
         WHERE lease_owner = $1",
    )
    .bind(owner)
    .execute(c)
    .await?
    .rows_affected())
}

/// What a scheduler needs to run a check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckConfig {
    pub id: ServiceId,
    pub host_id: HostId,
    pub config_version: i64,
    pub is_host: bool,
    pub host_name: String,
    pub host_address: String,
    pub service_name: String,
    pub check: CheckDefinition,
    pub timeout_s: i64,
}

/// Those of `ids` that poller `poller` runs.
pub async fn poller_checks(c: &mut AnyConnection, poller: i64, ids: &[ServiceId]) -> Result<Vec<ServiceId>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new("SELECT id FROM monitor_services WHERE poller_id = ");
        sql.bind_int(poller).push(" AND ").in_ints("id", chunk.iter().map(|i| i.0));
        out.extend(sql.query_as::<(i64,)>().fetch_all(&mut *c).await?.into_iter().map(|r| ServiceId(r.0)));
    }
    Ok(out)
}

/// The configurations of some checks (missing ids are left out).
pub async fn configs(c: &mut AnyConnection, ids: &[ServiceId]) -> Result<Vec<CheckConfig>> {
    let mut out = Vec::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new(
            "SELECT s.id, s.host_id, s.config_version, s.is_host, h.name, h.address, s.name, s.definition, s.timeout_s \
             FROM monitor_services s JOIN monitor_hosts h ON h.id = s.host_id WHERE ",
        );
        sql.in_ints("s.id", chunk.iter().map(|i| i.0));
        type Row = (i64, i64, i64, i64, String, String, String, String, i64);
        let rows: Vec<Row> = sql.query_as().fetch_all(&mut *c).await?;
        for r in rows {
            out.push(CheckConfig {
                id: ServiceId(r.0),
                host_id: HostId(r.1),
                config_version: r.2,
                is_host: r.3 != 0,
                host_name: r.4,
                host_address: r.5,
                service_name: r.6,
                check: read_definition(&r.7)?,
                timeout_s: r.8,
            });
        }
    }
    Ok(out)
}

/// One check result to record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CheckResult {
    pub service_id: ServiceId,
    /// The lease owner that ran it; `None` for a passive result. Set by the server, never
    /// taken from a poller's request.
    #[serde(skip)]
    pub owner: Option<String>,
    /// The plugin's state (for a host check: OK/WARNING mean UP).
    #[schema(value_type = String)]
    pub state: ServiceState,
    pub summary: String,
    pub long_output: String,
    #[schema(value_type = Vec<Object>)]
    pub perfdata: Vec<PerfData>,
    /// When the check started.
    pub started_at: DateTime<Utc>,
    pub duration_ms: i64,
}

/// What [`record`] did with one result.
#[derive(Debug, Clone, PartialEq)]
pub struct Recorded {
    pub service_id: ServiceId,
    /// False when the result was refused (the lease was lost, or the check was deleted).
    pub accepted: bool,
    /// The stored state after it (`OK`... or `UP`...).
    pub state: String,
    pub state_type: StateType,
    pub hard_change: bool,
    /// The notification enqueued, if any.
    pub notified: Option<NotificationType>,
}

/// A notification to send, as queued for the job worker (which picks the recipients).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Notice {
    pub service_id: i64,
    pub host_id: i64,
    pub is_host: bool,
    /// "PROBLEM" or "RECOVERY".
    pub kind: String,
    /// The state notified (`CRITICAL`, `DOWN`, `OK`...).
    pub state: String,
    pub output: String,
    pub number: u32,
    pub escalated: bool,
    pub at_ms: i64,
}

#[derive(sqlx::FromRow)]
struct StateRow {
    id: i64,
    host_id: i64,
    is_host: i64,
    check_state: Option<String>,
    state: String,
    max_attempts: i64,
    check_interval_s: i64,
    retry_interval_s: i64,
    lease_owner: Option<String>,
    ack_sticky: Option<i64>,
    notifications_enabled: i64,
    notified_problem: i64,
    notifications_sent: i64,
    last_notification_ms: Option<i64>,
    last_hard_change_ms: Option<i64>,
}

#[derive(sqlx::FromRow)]
struct HostPolicyRow {
    id: i64,
    notification_period: Option<String>,
    renotify_interval_s: i64,
    escalate_after: Option<i64>,
}

fn millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

fn from_millis(ms: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

fn host_state_of(text: &str) -> HostState {
    text.parse().unwrap_or(HostState::Up)
}

/// The context maps of a batch: what the rules need beyond the row itself.
struct BatchContext {
    /// Current host-check state per host (UP when pending).
    host_states: HashMap<i64, HostState>,
    /// Parents of each host of the batch.
    parents: HashMap<i64, Vec<i64>>,
    /// (host, service or None for the whole host) with an active downtime.
    downtimes: HashSet<(i64, Option<i64>)>,
    /// Services whose master is in a HARD failure state.
    dependency_failed: HashSet<i64>,
    policies: HashMap<i64, HostPolicyRow>,
}

async fn batch_context(c: &mut AnyConnection, rows: &HashMap<i64, StateRow>, now_ms: i64) -> Result<BatchContext> {
    let hosts: Vec<i64> = {
        let mut h: Vec<i64> = rows.values().map(|r| r.host_id).collect();
        h.sort_unstable();
        h.dedup();
        h
    };
    let mut parents: HashMap<i64, Vec<i64>> = HashMap::new();
    let mut sql = Sql::new("SELECT host_id, parent_id FROM monitor_host_parents WHERE ");
    sql.in_ints("host_id", hosts.iter().copied());
    for (h, p) in sql.query_as::<(i64, i64)>().fetch_all(&mut *c).await? {
        parents.entry(h).or_default().push(p);
    }
    let mut wanted: Vec<i64> = hosts.clone();
    wanted.extend(parents.values().flatten().copied());
    wanted.sort_unstable();
    wanted.dedup();
    let mut sql = Sql::new("SELECT host_id, state FROM monitor_services WHERE is_host = 1 AND ");
    sql.in_ints("host_id", wanted.iter().copied());
    let host_states: HashMap<i64, HostState> = sql
        .query_as::<(i64, String)>()
        .fetch_all(&mut *c)
        .await?
        .into_iter()
        .map(|(h, s)| (h, host_state_of(&s)))
        .collect();
    let mut sql =
        Sql::new("SELECT host_id, service_id FROM monitor_downtimes WHERE cancelled_at IS NULL AND start_ms <= ");
    sql.bind_int(now_ms).push(" AND end_ms > ").bind_int(now_ms).push(" AND ");
    sql.in_ints("host_id", hosts.iter().copied());
    let downtimes: HashSet<(i64, Option<i64>)> =
        sql.query_as::<(i64, Option<i64>)>().fetch_all(&mut *c).await?.into_iter().collect();
    let mut sql = Sql::new(
        "SELECT d.service_id, m.state, m.state_type FROM monitor_service_deps d \
         JOIN monitor_services m ON m.id = d.master_id WHERE ",
    );
    sql.in_ints("d.service_id", rows.keys().copied());
    let mut dependency_failed = HashSet::new();
    for (sid, state, state_type) in sql.query_as::<(i64, String, String)>().fetch_all(&mut *c).await? {
        let hard = state_type == "HARD";
        let failed = match state.parse::<ServiceState>() {
            Ok(s) => matches!(s, ServiceState::Critical | ServiceState::Unknown),
            Err(_) => matches!(state.as_str(), "DOWN" | "UNREACHABLE"),
        };
        if hard && failed {
            dependency_failed.insert(sid);
        }
    }
    let mut sql =
        Sql::new("SELECT id, notification_period, renotify_interval_s, escalate_after FROM monitor_hosts WHERE ");
    sql.in_ints("id", hosts.iter().copied());
    let policies: HashMap<i64, HostPolicyRow> =
        sql.query_as::<HostPolicyRow>().fetch_all(&mut *c).await?.into_iter().map(|p| (p.id, p)).collect();
    Ok(BatchContext { host_states, parents, downtimes, dependency_failed, policies })
}

fn policy_of(p: Option<&HostPolicyRow>, enabled: bool) -> NotificationPolicy {
    let mut policy = NotificationPolicy { enabled, ..NotificationPolicy::default() };
    // Notify once unless the host asks for reminders.
    policy.interval = None;
    if let Some(p) = p {
        policy.interval = (p.renotify_interval_s > 0).then(|| Duration::seconds(p.renotify_interval_s));
        policy.period = p.notification_period.as_deref().and_then(|t| t.parse().ok());
        policy.escalate_after = p.escalate_after.and_then(|n| u32::try_from(n).ok());
    }
    policy
}

fn clip(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        text.chars().take(max).collect()
    }
}

/// Records a batch of results in the caller's transaction (see the module documentation).
pub async fn record(c: &mut AnyConnection, results: &[CheckResult], now: DateTime<Utc>) -> Result<Vec<Recorded>> {
    if results.is_empty() {
        return Ok(Vec::new());
    }
    let now_ms = millis(now);
    let mut ids: Vec<i64> = results.iter().map(|r| r.service_id.0).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut rows: HashMap<i64, StateRow> = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(500) {
        let mut sql = Sql::new(
            "SELECT id, host_id, is_host, check_state, state, max_attempts, check_interval_s, retry_interval_s, \
             lease_owner, ack_sticky, notifications_enabled, notified_problem, notifications_sent, \
             last_notification_ms, last_hard_change_ms FROM monitor_services WHERE ",
        );
        sql.in_ints("id", chunk.iter().copied());
        for r in sql.query_as::<StateRow>().fetch_all(&mut *c).await? {
            rows.insert(r.id, r);
        }
    }
    let ctx = batch_context(c, &rows, now_ms).await?;
    let mut out = Vec::with_capacity(results.len());
    let mut samples: Vec<(i64, i64, &PerfData)> = Vec::new();
    for result in results {
        let Some(row) = rows.get_mut(&result.service_id.0) else {
            out.push(refused(result));
            continue;
        };
        if let Some(owner) = &result.owner {
            if row.lease_owner.as_deref() != Some(owner.as_str()) {
                out.push(refused(result));
                continue;
            }
        }
        let rec = apply_one(c, row, result, &ctx, now).await?;
        samples.extend(result.perfdata.iter().map(|p| (row.id, result.started_at.timestamp(), p)));
        out.push(rec);
    }
    write_samples(c, &samples).await?;
    Ok(out)
}

fn refused(result: &CheckResult) -> Recorded {
    Recorded {
        service_id: result.service_id,
        accepted: false,
        state: String::new(),
        state_type: StateType::Hard,
        hard_change: false,
        notified: None,
    }
}

async fn apply_one(
    c: &mut AnyConnection,
    row: &mut StateRow,
    result: &CheckResult,
    ctx: &BatchContext,
    now: DateTime<Utc>,
) -> Result<Recorded> {
    let now_ms = millis(now);
    let is_host = row.is_host != 0;
    let mut cs: CheckState =
        row.check_state.as_deref().and_then(|j| serde_json::from_str(j).ok()).unwrap_or_else(|| CheckState::new(now));
    let settings = CheckSettings {
        max_attempts: u32::try_from(row.max_attempts).unwrap_or(1),
        check_interval: Duration::seconds(row.check_interval_s),
        retry_interval: Duration::seconds(row.retry_interval_s),
        flap: FlapThresholds::default(),
    };
    // A host check's result becomes UP, DOWN or UNREACHABLE (parents), kept in the CheckState
    // as OK, CRITICAL or UNKNOWN.
    let (effective, host_now) = if is_host {
        let parents: Vec<HostState> = ctx
            .parents
            .get(&row.host_id)
            .map(|ps| ps.iter().map(|p| ctx.host_states.get(p).copied().unwrap_or(HostState::Up)).collect())
            .unwrap_or_default();
        let hs = host_state(result.state, &parents);
        (hs.to_service_state(), Some(hs))
    } else {
        (result.state, None)
    };
    let was_pending = row.state == "PENDING";
    let t: Transition = cs.apply(effective, &settings, now);
    let state_text = match host_now {
        Some(h) => h.as_str().to_owned(),
        None => effective.as_str().to_owned(),
    };
    let state_changed = t.state_changed || was_pending;

    // Acknowledgement: removed on recovery; a non-sticky one on any change of problem state.
    let mut clear_ack = false;
    if row.ack_sticky.is_some() && (!effective.is_problem() || (row.ack_sticky == Some(0) && t.state_changed)) {
        clear_ack = true;
    }
    let acknowledged = row.ack_sticky.is_some() && !clear_ack;

    let host_not_up = !is_host && ctx.host_states.get(&row.host_id).is_some_and(|h| *h != HostState::Up);
    let in_downtime =
        ctx.downtimes.contains(&(row.host_id, None)) || ctx.downtimes.contains(&(row.host_id, Some(row.id)));
    let nctx = NotifyContext {
        is_host,
        state_hard: cs.state_type == StateType::Hard,
        in_downtime,
        acknowledged,
        flapping: cs.flapping,
        host_not_up,
        unreachable: host_now == Some(HostState::Unreachable),
        dependency_failed: ctx.dependency_failed.contains(&row.id),
        last_notification_at: row.last_notification_ms.map(from_millis),
        notifications_sent: u32::try_from(row.notifications_sent).unwrap_or(0),
        problem_notified: row.notified_problem != 0,
        problem_since: row.last_hard_change_ms.map(from_millis).unwrap_or(now),
    };
    let policy = policy_of(ctx.policies.get(&row.host_id), row.notifications_enabled != 0);
    let mut notified = None;
    if t.hard_change {
        // A new problem (or a recovery) starts a new notification count.
        row.notifications_sent = 0;
        row.last_notification_ms = None;
    }
    let decision = if t.hard_change {
        notify::on_transition(&t, &nctx, &policy, now)
    } else {
        Decision::Hold(notify::HoldReason::Soft)
    };
    let send = match decision {
        Decision::Send { kind: kind @ (NotificationType::Problem | NotificationType::Recovery), number, escalated } => {
            Some((kind, number, escalated))
        }
        _ => None,
    };
    if let Some((kind, number, escalated)) = send {
        let recovery = kind == NotificationType::Recovery;
        let notice = Notice {
            service_id: row.id,
            host_id: row.host_id,
            is_host,
            kind: if recovery { "RECOVERY" } else { "PROBLEM" }.to_owned(),
            state: state_text.clone(),
            output: clip(&result.summary, 1000),
            number,
            escalated,
            at_ms: now_ms,
        };
        enqueue_notice(c, &notice).await?;
        notified = Some(kind);
        row.notified_problem = i64::from(!recovery);
        row.notifications_sent = if recovery { 0 } else { i64::from(number) };
        row.last_notification_ms = Some(now_ms);
    } else if t.hard_change && !effective.is_problem() {
        // A recovery that was not notified (the problem never was) still ends the problem.
        row.notified_problem = 0;
    }

    let next_ms = millis(now) + t.next_check_in.num_milliseconds().max(1000);
    let summary = clip(&result.summary, OUTPUT_MAX_CHARS);
    let long_output = clip(&result.long_output, OUTPUT_MAX_CHARS);
    let perfdata = serde_json::to_string(&result.perfdata).unwrap_or_else(|_| "[]".into());
    let state_json = serde_json::to_string(&cs).unwrap_or_default();
    let state_type = match cs.state_type {
        StateType::Soft => "SOFT",
        StateType::Hard => "HARD",
    };
    // An active result moves the schedule and ends the lease; a passive one leaves both.
    let schedule = if result.owner.is_some() { ", next_check_ms = $18, due_ms = NULL, lease_owner = NULL" } else { "" };
    let ack =
        if clear_ack { ", ack_author = NULL, ack_comment = NULL, ack_sticky = NULL, ack_at_ms = NULL" } else { "" };
    let sql = format!(
        "UPDATE monitor_services SET state = $1, state_type = $2, attempt = $3, check_state = $4, last_check_ms = $5, \
         last_duration_ms = $6, last_state_change_ms = $7, last_hard_change_ms = $8, output = $9, long_output = $10, \
         perfdata = $11, flapping = $12, percent_state_change = $13, notified_problem = $14, notifications_sent = $15, \
         last_notification_ms = $16{schedule}{ack} WHERE id = $17"
    );
    let mut q = sqlx::query(&sql)
        .bind(&state_text)
        .bind(state_type)
        .bind(i64::from(cs.attempt))
        .bind(&state_json)
        .bind(millis(result.started_at))
        .bind(result.duration_ms)
        .bind(millis(cs.last_state_change))
        .bind(millis(cs.last_hard_state_change))
        .bind(&summary)
        .bind(&long_output)
        .bind(&perfdata)
        .bind(i64::from(cs.flapping))
        .bind(t.percent_state_change)
        .bind(row.notified_problem)
        .bind(row.notifications_sent)
        .bind(row.last_notification_ms)
        .bind(row.id);
    if result.owner.is_some() {
        q = q.bind(next_ms);
    }
    q.execute(&mut *c).await?;
    if state_changed {
        sqlx::query(
            "INSERT INTO monitor_events (service_id, at_ms, state, state_type, attempt, output) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(row.id)
        .bind(now_ms)
        .bind(&state_text)
        .bind(state_type)
        .bind(i64::from(cs.attempt))
        .bind(clip(&result.summary, 1000))
        .execute(&mut *c)
        .await?;
    }
    row.state = state_text.clone();
    row.check_state = Some(state_json);
    row.last_hard_change_ms = Some(millis(cs.last_hard_state_change));
    if clear_ack {
        row.ack_sticky = None;
    }
    if result.owner.is_some() {
        row.lease_owner = None;
    }
    Ok(Recorded {
        service_id: result.service_id,
        accepted: true,
        state: state_text,
        state_type: cs.state_type,
        hard_change: t.hard_change,
        notified,
    })
}

pub(crate) async fn enqueue_notice(c: &mut AnyConnection, notice: &Notice) -> Result<()> {
    sqlx::query(
        "INSERT INTO monitor_notifications (service_id, at_ms, kind, state, number, escalated, output) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(notice.service_id)
    .bind(notice.at_ms)
    .bind(&notice.kind)
    .bind(&notice.state)
    .bind(i64::from(notice.number))
    .bind(i64::from(notice.escalated))
    .bind(&notice.output)
    .execute(&mut *c)
    .await?;
    let payload = serde_json::to_value(notice).unwrap_or_default();
    jobs::enqueue(c, MONITOR_NOTIFY, &payload, None).await?;
    super::alerts::enqueue_ticket(c, notice).await?;
    Ok(())
}

/// Writes performance samples, creating their series on first sight. A second sample of a
/// series within the same second is dropped (the graphs' resolution is the second).
async fn write_samples(c: &mut AnyConnection, samples: &[(i64, i64, &PerfData)]) -> Result<()> {
    if samples.is_empty() {
        return Ok(());
    }
    let mut services: Vec<i64> = samples.iter().map(|s| s.0).collect();
    services.sort_unstable();
    services.dedup();
    let mut series: HashMap<(i64, String), i64> = HashMap::new();
    for chunk in services.chunks(500) {
        let mut sql = Sql::new("SELECT id, service_id, label FROM monitor_series WHERE ");
        sql.in_ints("service_id", chunk.iter().copied());
        for (id, sid, label) in sql.query_as::<(i64, i64, String)>().fetch_all(&mut *c).await? {
            series.insert((sid, label), id);
        }
    }
    let mut values: Vec<(i64, i64, f64)> = Vec::with_capacity(samples.len());
    for (sid, at_s, p) in samples {
        let key = (*sid, p.label.clone());
        let id = match series.get(&key) {
            Some(id) => *id,
            None => {
                // A missing minimum or maximum is written as a NULL literal rather than bound:
                // PostgreSQL keeps the parameter types of a cached statement from its first use,
                // and sqlx's Any driver does not type a NULL float as one.
                let mut text = String::from(
                    "INSERT INTO monitor_series (service_id, label, uom, warn, crit, min, max) VALUES ($1, $2, $3, $4, $5",
                );
                let mut n = 5;
                for v in [p.min, p.max] {
                    match v {
                        Some(_) => {
                            n += 1;
                            text.push_str(&format!(", ${n}"));
                        }
                        None => text.push_str(", NULL"),
                    }
                }
                text.push_str(") RETURNING id");
                let mut q = sqlx::query_as::<_, (i64,)>(&text)
                    .bind(sid)
                    .bind(clip(&p.label, 200))
                    .bind(p.uom.as_str().to_owned())
                    .bind(p.warn.map(|r| r.to_string()))
                    .bind(p.crit.map(|r| r.to_string()));
                for v in [p.min, p.max].into_iter().flatten() {
                    q = q.bind(v);
                }
                let (id,) = q.fetch_one(&mut *c).await?;
                series.insert(key, id);
                id
            }
        };
        if let Some(v) = p.value.filter(|v| v.is_finite()) {
            values.push((id, *at_s, v));
        }
    }
    values.sort_by_key(|v| (v.0, v.1));
    values.dedup_by_key(|v| (v.0, v.1));
    for chunk in values.chunks(300) {
        let mut text = String::from("INSERT INTO monitor_samples (series_id, at_s, value) VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                text.push_str(", ");
            }
            text.push_str(&format!("(${}, ${}, ${})", 3 * i + 1, 3 * i + 2, 3 * i + 3));
        }
        text.push_str(" ON CONFLICT DO NOTHING");
        let mut q = sqlx::query(&text);
        for (id, at, v) in chunk {
            q = q.bind(*id).bind(*at).bind(*v);
        }
        q.execute(&mut *c).await?;
    }
    Ok(())
}
