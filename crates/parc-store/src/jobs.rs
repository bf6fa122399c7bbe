//! The job queue: work done after the commit of the change that caused it (e-mail
//! notifications), retried with exponential back-off, shared by several Parc nodes.
//!
//! A job is written with [`enqueue`] inside the caller's write transaction, so it exists if and
//! only if the change that caused it was committed. A worker then [`claim`]s due jobs: it leases
//! them (`locked_by`, `locked_until`) in one write transaction — `FOR UPDATE SKIP LOCKED` on
//! PostgreSQL, so that two nodes never take the same job; SQLite has a single writer anyway. The
//! worker ends each job with [`complete`], [`retry_later`] (a temporary failure: attempts + 1,
//! run again after [`backoff`], failed for good after `max_attempts`) or [`fail`] (a permanent
//! failure). A worker that dies holding a lease loses nothing: the job is claimable again when
//! the lease expires. Delivery is therefore "at least once".
//!
//! Failed jobs stay, with their last error, until an administrator retries them
//! ([`retry_failed`]); done jobs are purged after a while ([`purge_done`]).
//!
//! Times are UTC RFC 3339 text ([`crate::fmt_time`]), so text order is time order. A payload
//! may hold personal data (an e-mail's body): [`Job`]'s `Debug` leaves it out and nothing here
//! logs it.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Serialize;
use sqlx::AnyConnection;

use crate::sql::Sql;
use crate::{fmt_time, Backend, Result, Store, StoreError, ValidationErrors};

/// Kind of the jobs that send one e-mail; their payload is a serialised [`parc_mail::Email`].
pub const MAIL: &str = "mail";

/// Kind of the jobs that announce a ticket event; their payload is a serialised
/// [`crate::helpdesk::notify::Notice`], expanded by the worker into one mail job per recipient.
pub const NOTIFY: &str = "notify";

/// Attempts allowed to a mail job: with the back-off, about a day of retries (the first eight
/// within an hour, then one an hour), so a mail server down overnight loses nothing even before
/// an administrator steps in. Other jobs get the table's default (10, about three hours).
pub const MAIL_MAX_ATTEMPTS: i64 = 30;

/// Delay before the second attempt; each further failure doubles it, up to [`RETRY_MAX`].
pub const RETRY_BASE: Duration = Duration::from_secs(30);
/// Longest delay between two attempts.
pub const RETRY_MAX: Duration = Duration::from_secs(3600);

/// Longest error message kept on a job (longer ones are cut).
const ERROR_MAX_CHARS: usize = 2000;

const COLS: &str =
    "id, kind, payload, run_at, attempts, max_attempts, locked_by, locked_until, last_error, done_at, failed_at, created_at";

/// One job, as stored.
#[derive(Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Job {
    pub id: i64,
    pub kind: String,
    /// JSON text; read it with [`Job::payload`].
    pub payload: String,
    /// When the job is due (UTC RFC 3339).
    pub run_at: String,
    /// Attempts made so far (successful or not).
    pub attempts: i64,
    /// After this many failed attempts the job fails for good.
    pub max_attempts: i64,
    /// The worker holding the lease, if any.
    pub locked_by: Option<String>,
    /// End of the lease; past it, another worker may take the job.
    pub locked_until: Option<String>,
    /// Error of the last failed attempt.
    pub last_error: Option<String>,
    pub done_at: Option<String>,
    pub failed_at: Option<String>,
    pub created_at: String,
}

impl Job {
    /// The payload decoded as `T`.
    pub fn payload<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(&self.payload)
    }

    /// Neither done nor failed.
    pub fn is_pending(&self) -> bool {
        self.done_at.is_none() && self.failed_at.is_none()
    }
}

impl fmt::Debug for Job {
    /// Everything but the payload (which may hold an e-mail body): only its size.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Job")
            .field("id", &self.id)
            .field("kind", &self.kind)
            .field("payload_len", &self.payload.len())
            .field("run_at", &self.run_at)
            .field("attempts", &self.attempts)
            .field("max_attempts", &self.max_attempts)
            .field("locked_by", &self.locked_by)
            .field("locked_until", &self.locked_until)
            .field("last_error", &self.last_error)
            .field("done_at", &self.done_at)
            .field("failed_at", &self.failed_at)
            .field("created_at", &self.created_at)
            .finish()
    }
}

/// Queue counts for the administration page and `/api/v1/jobs/stats`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct JobStats {
    /// Jobs waiting to run (due or not), leased ones included.
    pub pending: i64,
    /// Pending jobs that already failed at least once and wait for another attempt.
    pub retrying: i64,
    /// Jobs that failed for good and wait for an administrator.
    pub failed: i64,
    /// Jobs done in the last 24 hours.
    pub done_last_24h: i64,
}

/// What [`retry_later`] decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Retry {
    /// The job runs again at this time.
    Scheduled(DateTime<Utc>),
    /// That was the last allowed attempt: the job is now failed.
    GaveUp,
}

/// Adds a job, due at `run_at` (now when `None`), and returns its id.
///
/// Call it with the caller's write transaction (`&mut tx`), never a separate one: the job is
/// then committed, or rolled back, with the change that caused it.
pub async fn enqueue(
    c: &mut AnyConnection,
    kind: &str,
    payload: &serde_json::Value,
    run_at: Option<DateTime<Utc>>,
) -> Result<i64> {
    insert(c, kind, payload, run_at, None).await
}

/// [`enqueue`] with `max_attempts` (the table's default when `None`).
async fn insert(
    c: &mut AnyConnection,
    kind: &str,
    payload: &serde_json::Value,
    run_at: Option<DateTime<Utc>>,
    max_attempts: Option<i64>,
) -> Result<i64> {
    if kind.trim().is_empty() {
        return Err(ValidationErrors::single("kind", "required", "a job needs a kind").into());
    }
    let now = Utc::now();
    let sql = match max_attempts {
        None => "INSERT INTO jobs (kind, payload, run_at, created_at) VALUES ($1, $2, $3, $4) RETURNING id",
        Some(_) => {
            "INSERT INTO jobs (kind, payload, run_at, created_at, max_attempts) VALUES ($1, $2, $3, $4, $5) RETURNING id"
        }
    };
    let mut q = sqlx::query_as(sql)
        .bind(kind)
        .bind(payload.to_string())
        .bind(fmt_time(run_at.unwrap_or(now)))
        .bind(fmt_time(now));
    if let Some(m) = max_attempts {
        q = q.bind(m);
    }
    let (id,): (i64,) = q.fetch_one(c).await?;
    tracing::debug!(job = id, kind, "job enqueued");
    Ok(id)
}

/// Enqueues one e-mail, due now, in the caller's write transaction (see [`enqueue`]), with
/// [`MAIL_MAX_ATTEMPTS`] attempts.
///
/// The message is stored whole (attachments as base64) until it is sent. Sending is off until
/// an administrator turns it on ([`crate::mail_settings::enabled`]): jobs enqueued meanwhile
/// wait, so callers that notify should not build messages while it is off.
pub async fn enqueue_mail(c: &mut AnyConnection, email: &parc_mail::Email) -> Result<i64> {
    if email.to.is_empty() && email.cc.is_empty() {
        return Err(ValidationErrors::single("to", "required", "an e-mail needs a recipient").into());
    }
    let payload = serde_json::to_value(email).map_err(|e| StoreError::Config(format!("cannot encode e-mail: {e}")))?;
    insert(c, MAIL, &payload, None, Some(MAIL_MAX_ATTEMPTS)).await
}

/// Leases up to `max` due jobs of the given kinds to `worker` for `lease`, oldest first.
///
/// Due: not done nor failed, `run_at` reached, and no lease or an expired one. The jobs are
/// taken in one write transaction; on PostgreSQL the rows are selected `FOR UPDATE SKIP
/// LOCKED`, so concurrent claimers (on several nodes) get disjoint jobs without waiting for
/// each other. `lease` must cover the work on all the returned jobs: past it, another worker
/// may run them again.
pub async fn claim(store: &Store, worker: &str, kinds: &[&str], lease: Duration, max: usize) -> Result<Vec<Job>> {
    claim_at(store, worker, kinds, lease, max, Utc::now()).await
}

/// [`claim`] as if it were `now` (tests move time forward with it instead of sleeping).
pub async fn claim_at(
    store: &Store,
    worker: &str,
    kinds: &[&str],
    lease: Duration,
    max: usize,
    now: DateTime<Utc>,
) -> Result<Vec<Job>> {
    if kinds.is_empty() || max == 0 {
        return Ok(Vec::new());
    }
    let now_text = fmt_time(now);
    let until = fmt_time(now + chrono::Duration::from_std(lease).unwrap_or(chrono::Duration::days(1)));
    let due = |columns: &str| {
        let mut q =
            Sql::new(&format!("SELECT {columns} FROM jobs WHERE done_at IS NULL AND failed_at IS NULL AND run_at <= "));
        q.bind_text(now_text.as_str())
            .push(" AND (locked_until IS NULL OR locked_until <= ")
            .bind_text(now_text.as_str())
            .push(") AND kind IN (");
        for (i, kind) in kinds.iter().enumerate() {
            if i > 0 {
                q.push(", ");
            }
            q.bind_text(*kind);
        }
        q.push(") ORDER BY run_at, id LIMIT ");
        q
    };

    // Idle polls only read: no write transaction (and no SQLite write lock) when nothing is due.
    {
        let mut c = store.read().await?;
        let mut probe = due("id");
        probe.bind_int(1);
        let any: Option<(i64,)> = probe.query_as().fetch_optional(&mut *c).await?;
        if any.is_none() {
            return Ok(Vec::new());
        }
    }

    let mut tx = store.write().await?;
    let mut pick = due("id");
    pick.bind_int(i64::try_from(max).unwrap_or(i64::MAX));
    if store.backend() == Backend::Postgres {
        pick.push(" FOR UPDATE SKIP LOCKED");
    }
    let ids: Vec<(i64,)> = pick.query_as().fetch_all(&mut *tx).await?;
    if ids.is_empty() {
        tx.commit().await?;
        return Ok(Vec::new());
    }
    let mut lease_q = Sql::new("UPDATE jobs SET locked_by = ");
    lease_q
        .bind_text(worker)
        .push(", locked_until = ")
        .bind_text(until)
        .push(" WHERE ")
        .in_ints("id", ids.into_iter().map(|(id,)| id))
        .push(" RETURNING ")
        .push(COLS);
    let mut jobs: Vec<Job> = lease_q.query_as().fetch_all(&mut *tx).await?;
    tx.commit().await?;
    jobs.sort_by(|a, b| (a.run_at.as_str(), a.id).cmp(&(b.run_at.as_str(), b.id)));
    tracing::debug!(worker, count = jobs.len(), "jobs claimed");
    Ok(jobs)
}

/// Marks a job done (and releases its lease). `NotFound` when the job is unknown or no longer
/// pending (another worker finished it after this one's lease expired).
pub async fn complete(store: &Store, id: i64) -> Result<()> {
    let mut tx = store.write().await?;
    complete_in(&mut tx, id).await?;
    tx.commit().await?;
    Ok(())
}

/// [`complete`] in the caller's write transaction, so that the job ends with the work it
/// committed (the notify jobs' e-mails). `NotFound` as for [`complete`].
pub async fn complete_in(c: &mut AnyConnection, id: i64) -> Result<()> {
    let n = sqlx::query(
        "UPDATE jobs SET done_at = $1, attempts = attempts + 1, locked_by = NULL, locked_until = NULL \
         WHERE id = $2 AND done_at IS NULL AND failed_at IS NULL",
    )
    .bind(crate::now())
    .bind(id)
    .execute(c)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Records a temporary failure: one more attempt, `error` kept, the lease released and the job
/// due again after [`backoff`]; when that was attempt `max_attempts`, the job fails for good.
/// `NotFound` when the job is unknown or no longer pending.
pub async fn retry_later(store: &Store, id: i64, error: &str) -> Result<Retry> {
    let mut tx = store.write().await?;
    let row: Option<(i64, i64)> = sqlx::query_as(
        "SELECT attempts, max_attempts FROM jobs WHERE id = $1 AND done_at IS NULL AND failed_at IS NULL",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let (attempts, max_attempts) = row.ok_or(StoreError::NotFound)?;
    let attempts = attempts + 1;
    let now = Utc::now();
    // Given up: failed now. Otherwise: run again after the back-off.
    let (column, at, outcome) = if attempts >= max_attempts {
        ("failed_at", now, Retry::GaveUp)
    } else {
        let at = now + chrono::Duration::from_std(backoff(attempts)).unwrap_or(chrono::Duration::hours(1));
        ("run_at", at, Retry::Scheduled(at))
    };
    sqlx::query(&format!(
        "UPDATE jobs SET attempts = $1, last_error = $2, {column} = $3, locked_by = NULL, locked_until = NULL \
         WHERE id = $4"
    ))
    .bind(attempts)
    .bind(cut(error))
    .bind(fmt_time(at))
    .bind(id)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(outcome)
}

/// Records a permanent failure: one more attempt, `error` kept, the job failed now (it waits
/// for an administrator, see [`retry_failed`]). `NotFound` when the job is unknown or no longer
/// pending.
pub async fn fail(store: &Store, id: i64, error: &str) -> Result<()> {
    let mut tx = store.write().await?;
    let n = sqlx::query(
        "UPDATE jobs SET attempts = attempts + 1, last_error = $1, failed_at = $2, locked_by = NULL, locked_until = NULL \
         WHERE id = $3 AND done_at IS NULL AND failed_at IS NULL",
    )
    .bind(cut(error))
    .bind(crate::now())
    .bind(id)
    .execute(&mut *tx)
    .await?
    .rows_affected();
    tx.commit().await?;
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Delay before the next attempt after `attempts` failed ones: [`RETRY_BASE`] after the
/// first, doubling each time, never more than [`RETRY_MAX`] (30 s, 1 min, 2 min, … 32 min, 1 h).
pub fn backoff(attempts: i64) -> Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 16)).unwrap_or(16);
    RETRY_BASE.saturating_mul(1 << doublings).min(RETRY_MAX)
}

/// Queue counts.
pub async fn stats(c: &mut AnyConnection) -> Result<JobStats> {
    let since = fmt_time(Utc::now() - chrono::Duration::hours(24));
    let count = |sql: &'static str| sqlx::query_as::<_, (i64,)>(sql);
    let (pending,) =
        count("SELECT COUNT(*) FROM jobs WHERE done_at IS NULL AND failed_at IS NULL").fetch_one(&mut *c).await?;
    let (retrying,) = count("SELECT COUNT(*) FROM jobs WHERE done_at IS NULL AND failed_at IS NULL AND attempts > 0")
        .fetch_one(&mut *c)
        .await?;
    let (failed,) = count("SELECT COUNT(*) FROM jobs WHERE failed_at IS NOT NULL").fetch_one(&mut *c).await?;
    let (done_last_24h,) =
        count("SELECT COUNT(*) FROM jobs WHERE done_at >= $1").bind(since).fetch_one(&mut *c).await?;
    Ok(JobStats { pending, retrying, failed, done_last_24h })
}

/// The most recently failed jobs, newest first.
pub async fn recent_failures(c: &mut AnyConnection, limit: i64) -> Result<Vec<Job>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLS} FROM jobs WHERE failed_at IS NOT NULL ORDER BY failed_at DESC, id DESC LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(c)
    .await?)
}

/// Pending jobs, the next due first.
pub async fn pending(c: &mut AnyConnection, limit: i64) -> Result<Vec<Job>> {
    Ok(sqlx::query_as(&format!(
        "SELECT {COLS} FROM jobs WHERE done_at IS NULL AND failed_at IS NULL ORDER BY run_at, id LIMIT $1"
    ))
    .bind(limit)
    .fetch_all(c)
    .await?)
}

/// One job by id.
pub async fn get(c: &mut AnyConnection, id: i64) -> Result<Job> {
    sqlx::query_as(&format!("SELECT {COLS} FROM jobs WHERE id = $1"))
        .bind(id)
        .fetch_optional(c)
        .await?
        .ok_or(StoreError::NotFound)
}

/// Puts a failed job back in the queue, due now with its attempts reset (its last error stays
/// until the next attempt). `NotFound` unless the job exists and is failed.
pub async fn retry_failed(c: &mut AnyConnection, id: i64) -> Result<()> {
    let n = sqlx::query(
        "UPDATE jobs SET failed_at = NULL, attempts = 0, run_at = $1, locked_by = NULL, locked_until = NULL \
         WHERE id = $2 AND failed_at IS NOT NULL",
    )
    .bind(crate::now())
    .bind(id)
    .execute(c)
    .await?
    .rows_affected();
    if n == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// [`retry_failed`] for every failed job of `kind`; returns how many were put back.
pub async fn retry_all_failed(c: &mut AnyConnection, kind: &str) -> Result<u64> {
    Ok(sqlx::query(
        "UPDATE jobs SET failed_at = NULL, attempts = 0, run_at = $1, locked_by = NULL, locked_until = NULL \
         WHERE failed_at IS NOT NULL AND kind = $2",
    )
    .bind(crate::now())
    .bind(kind)
    .execute(c)
    .await?
    .rows_affected())
}

/// Deletes the jobs done before `before` (their payloads may hold personal data); returns how
/// many.
pub async fn purge_done(c: &mut AnyConnection, before: DateTime<Utc>) -> Result<u64> {
    Ok(sqlx::query("DELETE FROM jobs WHERE done_at IS NOT NULL AND done_at < $1")
        .bind(fmt_time(before))
        .execute(c)
        .await?
        .rows_affected())
}

/// `error` on one line, at most [`ERROR_MAX_CHARS`] characters.
fn cut(error: &str) -> String {
    let one_line: String = error.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    match one_line.char_indices().nth(ERROR_MAX_CHARS) {
        Some((at, _)) => format!("{}…", &one_line[..at]),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_from_30_s_up_to_an_hour() {
        let secs: Vec<u64> = (1..=10).map(|a| backoff(a).as_secs()).collect();
        assert_eq!(secs, vec![30, 60, 120, 240, 480, 960, 1920, 3600, 3600, 3600]);
        assert_eq!(backoff(0), RETRY_BASE);
        assert_eq!(backoff(i64::MAX), RETRY_MAX);
    }

    #[test]
    fn errors_are_kept_on_one_bounded_line() {
        assert_eq!(cut("refused\r\nby server"), "refused  by server");
        let long = "é".repeat(ERROR_MAX_CHARS + 10);
        assert_eq!(cut(&long).chars().count(), ERROR_MAX_CHARS + 1);
    }

    #[test]
    fn debug_leaves_the_payload_out() {
        let job = Job {
            id: 1,
            kind: MAIL.into(),
            payload: r#"{"text":"corps confidentiel"}"#.into(),
            run_at: String::new(),
            attempts: 0,
            max_attempts: 10,
            locked_by: None,
            locked_until: None,
            last_error: None,
            done_at: None,
            failed_at: None,
            created_at: String::new(),
        };
        let shown = format!("{job:?}");
        assert!(!shown.contains("confidentiel") && shown.contains("payload_len"), "{shown}");
    }
}
