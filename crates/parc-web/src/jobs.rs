//! The background worker that sends queued e-mail, expands ticket notifications and watches
//! the SLA deadlines.
//!
//! Requests never send e-mail themselves: they enqueue a job in their own transaction
//! ([`parc_store::jobs::enqueue_mail`], or a ticket event's notice of kind
//! [`parc_store::jobs::NOTIFY`]), and this worker, one per Parc process, works it off after
//! the commit. Each round ([`run_once`]) reads the current e-mail settings (one small query),
//! then expands up to a batch of due notices — each into one mail job per recipient, rendered
//! in the recipient's language by [`crate::notify`], in one transaction with the notice's
//! completion, so a notice gives its e-mails exactly once — then leases up to a batch of due
//! mail jobs and sends them one by one with [`parc_mail::send`]:
//!
//! - sent: the job is done;
//! - temporary failure (server down or busy, time-out): tried again later with exponential
//!   back-off, and failed only after `max_attempts` attempts;
//! - permanent failure (address refused, authentication failed, invalid message): failed at
//!   once, shown with its error on the `/admin/mail` page, where an administrator can retry it;
//! - sending off (`mail.enabled`) or no SMTP server saved yet: nothing is claimed, the jobs wait
//!   (no attempt is counted) until an administrator turns sending on.
//!
//! Every [`SLA_EVERY`] the worker also runs the SLA watcher
//! ([`parc_store::helpdesk::notify::watch_sla`]), which records the warnings and breaches
//! reached since its last pass and enqueues their notices, and the overdue-loan watcher
//! ([`crate::loans::remind_overdue`]: one reminder per loan per day, one e-mail per borrower).
//!
//! Idle, the worker polls every [`IDLE_POLL`]; a [`JobWaker`] (from [`WorkerHandle::waker`])
//! wakes it at once. `parc serve` puts the waker in every request's extensions: a handler that
//! enqueues takes `Option<axum::Extension<JobWaker>>` and calls [`JobWaker::wake`] after its
//! commit (absent in in-process tests, where the worker does not run). Several nodes may run workers on one PostgreSQL database: leases keep them
//! from sending the same job twice (short of a lease expiring mid-send: delivery is at least
//! once). Nothing here logs a message body or the SMTP password.

use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::i18n::I18n;
use crate::notify::Mailer;
use chrono::{DateTime, Utc};
use parc_mail::{Email, SmtpSettings, CONVERSATION_TIMEOUT_FACTOR};
use parc_store::helpdesk::notify::{self as notices, Notice};
use parc_store::jobs::{self, Job, Retry, MAIL, NOTIFY};
use parc_store::monitoring::alerts;
use parc_store::monitoring::schedule::{Notice as MonitorNotice, MONITOR_NOTIFY};
use parc_store::{mail_settings, settings, Store, StoreError, Tx};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;

/// Pause between two rounds when there was nothing (more) to do.
pub const IDLE_POLL: Duration = Duration::from_secs(2);
/// Jobs leased per round.
pub const BATCH: usize = 5;
/// Done jobs (whose payloads hold the messages) are deleted after this many days.
pub const DONE_RETENTION_DAYS: i64 = 30;
const PURGE_EVERY: Duration = Duration::from_secs(3600);
/// How often the SLA watcher looks for deadlines reached.
pub const SLA_EVERY: Duration = Duration::from_secs(60);
/// Lease of a batch of notices (expanding one takes a few queries).
const NOTIFY_LEASE: Duration = Duration::from_secs(120);
/// Margin added to the longest SMTP conversation when computing a lease.
const LEASE_MARGIN: Duration = Duration::from_secs(30);
/// How long [`WorkerHandle::shutdown`] lets the current round finish.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(15);

/// This process's worker id, as recorded in `jobs.locked_by`: `host:pid`.
pub fn worker_id() -> String {
    let host = hostname::get().map(|h| h.to_string_lossy().into_owned()).unwrap_or_else(|_| "unknown-host".into());
    format!("{host}:{}", std::process::id())
}

/// Wakes the worker at once (after enqueueing a job, or retrying a failed one), instead of at
/// its next poll. Cheap to clone; waking a busy worker makes it run one more round.
#[derive(Debug, Clone, Default)]
pub struct JobWaker(Arc<Notify>);

impl JobWaker {
    pub fn wake(&self) {
        self.0.notify_one();
    }
}

/// How a worker runs.
#[derive(Debug, Clone)]
pub struct WorkerOptions {
    /// Name recorded on the jobs it leases (see [`worker_id`]).
    pub id: String,
    /// Jobs leased per round.
    pub batch: usize,
    /// Pause between rounds when idle.
    pub idle_poll: Duration,
}

impl Default for WorkerOptions {
    fn default() -> Self {
        WorkerOptions { id: worker_id(), batch: BATCH, idle_poll: IDLE_POLL }
    }
}

/// Why a round sent nothing without looking at the queue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Paused {
    /// Sending is turned off (`mail.enabled`).
    Disabled,
    /// Sending is on but no SMTP server is saved.
    NotConfigured,
}

/// What one round did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Round {
    /// Set when the round did not claim anything because sending is paused.
    pub paused: Option<Paused>,
    /// Notices (ticket events) expanded into mail jobs.
    pub notices: usize,
    /// Jobs leased.
    pub claimed: usize,
    /// E-mails the server accepted.
    pub sent: usize,
    /// Temporary failures, scheduled again.
    pub retried: usize,
    /// Permanent failures, and temporary ones at their last attempt.
    pub failed: usize,
}

/// A running worker: keep it for the life of the server and call [`WorkerHandle::shutdown`]
/// at the end (dropping it also stops the worker, after its current round).
pub struct WorkerHandle {
    waker: JobWaker,
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl WorkerHandle {
    /// A handle that wakes this worker.
    pub fn waker(&self) -> JobWaker {
        self.waker.clone()
    }

    /// Stops the worker: lets its current round finish for a few seconds, then aborts it (the
    /// jobs it still holds are claimable again when their lease ends: nothing is lost).
    pub async fn shutdown(mut self) {
        let _ = self.stop.send(true);
        if tokio::time::timeout(SHUTDOWN_GRACE, &mut self.task).await.is_err() {
            tracing::warn!("mail worker still sending at shutdown: stopped; its jobs will be sent again later");
            self.task.abort();
        }
    }
}

/// Starts the mail worker with the default options on the current Tokio runtime.
pub fn spawn_worker(store: Store) -> WorkerHandle {
    spawn_worker_with(store, WorkerOptions::default())
}

/// Starts a mail worker with `options`.
pub fn spawn_worker_with(store: Store, options: WorkerOptions) -> WorkerHandle {
    let waker = JobWaker::default();
    let (stop, stopped) = watch::channel(false);
    let task = tokio::spawn(worker_loop(store, options, waker.clone(), stopped));
    WorkerHandle { waker, stop, task }
}

async fn worker_loop(store: Store, options: WorkerOptions, waker: JobWaker, mut stop: watch::Receiver<bool>) {
    tracing::info!(worker = %options.id, "mail worker started");
    let i18n = I18n::load();
    let mut next_purge = Instant::now();
    let mut next_sla = Instant::now();
    let mut paused: Option<Paused> = None;
    // The last round's error, logged once rather than every poll while it lasts.
    let mut failing: Option<String> = None;
    while !*stop.borrow() {
        let mut busy = false;
        if Instant::now() >= next_sla {
            next_sla = Instant::now() + SLA_EVERY;
            busy = watch_sla(&store).await;
            busy |= watch_alerts(&store).await;
            busy |= remind_loans(&store, &i18n).await;
        }
        busy |= match monitor_tickets(&store, &i18n, &options.id, options.batch, Utc::now()).await {
            Ok(n) => n >= options.batch,
            Err(e) => {
                tracing::warn!(error = %e, "monitoring ticket round failed; trying again at the next poll");
                false
            }
        };
        busy |= match round(&store, &i18n, &options.id, options.batch, Utc::now()).await {
            Ok(round) => {
                if failing.take().is_some() {
                    tracing::info!("mail queue rounds work again");
                }
                if round.paused != paused {
                    match round.paused {
                        Some(Paused::Disabled) => tracing::info!("e-mail sending is off: queued e-mails wait"),
                        Some(Paused::NotConfigured) => {
                            tracing::warn!("e-mail sending is on but no SMTP server is configured: queued e-mails wait")
                        }
                        None => tracing::info!("e-mail sending is on"),
                    }
                    paused = round.paused;
                }
                round.claimed >= options.batch || round.notices >= options.batch
            }
            Err(e) => {
                let error = e.to_string();
                if failing.as_deref() != Some(error.as_str()) {
                    tracing::warn!(%error, "mail queue round failed; trying again at each poll");
                    failing = Some(error);
                }
                false
            }
        };
        if Instant::now() >= next_purge {
            next_purge = Instant::now() + PURGE_EVERY;
            if let Err(e) = purge(&store).await {
                tracing::warn!(error = %e, "cannot purge old done jobs");
            }
        }
        if busy {
            continue;
        }
        tokio::select! {
            _ = tokio::time::sleep(options.idle_poll) => {}
            _ = waker.0.notified() => {}
            changed = stop.changed() => {
                if changed.is_err() {
                    break; // the handle was dropped
                }
            }
        }
    }
    tracing::info!(worker = %options.id, "mail worker stopped");
}

/// One pass of the SLA watcher; whether it recorded anything (its notices are then due).
async fn watch_sla(store: &Store) -> bool {
    match notices::watch_sla(store, Utc::now()).await {
        Ok(pass) if pass.warnings + pass.breaches > 0 => {
            tracing::info!(warnings = pass.warnings, breaches = pass.breaches, "SLA deadlines reached");
            true
        }
        Ok(_) => false,
        Err(e) => {
            tracing::warn!(error = %e, "SLA watcher pass failed; trying again at the next one");
            false
        }
    }
}

/// One pass of the overdue-loan watcher ([`crate::loans::remind_overdue`]): at most one
/// reminder per loan per day; whether it queued anything.
async fn remind_loans(store: &Store, i18n: &I18n) -> bool {
    match crate::loans::remind_overdue(store, i18n, Utc::now()).await {
        Ok(pass) if pass.emails > 0 => {
            tracing::info!(loans = pass.loans, emails = pass.emails, "overdue loan reminders queued");
            true
        }
        Ok(_) => false,
        Err(e) => {
            tracing::warn!(error = %e, "overdue loan watcher pass failed; trying again at the next one");
            false
        }
    }
}

/// Opens the helpdesk tickets of HARD CRITICAL/DOWN problems (hosts with `open_tickets`) and
/// follows up on them at recovery: up to `batch` due `monitor_ticket` jobs, each in one
/// transaction, written in the organisation's language. Runs whether e-mail is on or not.
pub async fn monitor_tickets(
    store: &Store,
    i18n: &I18n,
    worker: &str,
    batch: usize,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let claimed = jobs::claim_at(store, worker, &[alerts::MONITOR_TICKET], NOTIFY_LEASE, batch, now).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    let lang = {
        let mut c = store.read().await?;
        crate::i18n::Lang::parse(&settings::get(&mut c).await?.default_language).unwrap_or_default()
    };
    let mut done = 0;
    for job in &claimed {
        let Ok(notice) = payload_of::<MonitorNotice>(store, job, "a monitoring notice").await? else {
            continue;
        };
        let mut tx = store.write().await?;
        let Some((host, display, address, service)) = alerts::ticket_subject(&mut tx, &notice).await? else {
            finished(jobs::complete_in(&mut tx, job.id).await, job, Outcome::Sent)?;
            tx.commit().await?;
            continue;
        };
        let host = display.unwrap_or(host);
        let state = i18n.t(lang, &format!("alerts.state.{}", notice.state)).to_owned();
        let what = if notice.is_host {
            host.clone()
        } else {
            i18n.tf(lang, "alerts.service_what", &[("host", &host), ("service", &service)])
        };
        let args = [
            ("what", what.as_str()),
            ("host", host.as_str()),
            ("address", address.as_str()),
            ("service", service.as_str()),
            ("state", state.as_str()),
            ("output", notice.output.as_str()),
        ];
        let texts = alerts::TicketTexts {
            requester: i18n.t(lang, "alerts.ticket.requester").to_owned(),
            title: i18n.tf(lang, "alerts.ticket.title", &args),
            description: i18n.tf(lang, "alerts.ticket.description", &args),
            followup: i18n.tf(lang, "alerts.ticket.recovered", &args),
        };
        match alerts::apply_ticket(&mut tx, &notice, &texts).await {
            Ok(outcome) => {
                finished(jobs::complete_in(&mut tx, job.id).await, job, Outcome::Sent)?;
                tx.commit().await?;
                tracing::info!(job = job.id, service = notice.service_id, ?outcome, "monitoring ticket work done");
                done += 1;
            }
            Err(e) => {
                drop(tx);
                tracing::warn!(job = job.id, error = %e, "cannot open or follow up a monitoring ticket, will retry");
                finished(jobs::retry_later(store, job.id, &e.to_string()).await.map(drop), job, Outcome::Retried)?;
            }
        }
    }
    Ok(done)
}

/// One pass of the monitoring re-notification watcher; whether it queued anything.
async fn watch_alerts(store: &Store) -> bool {
    match alerts::watch(store, Utc::now()).await {
        Ok(pass) if pass.sent > 0 => {
            tracing::info!(sent = pass.sent, "monitoring problems re-notified");
            true
        }
        Ok(_) => false,
        Err(e) => {
            tracing::warn!(error = %e, "monitoring re-notification pass failed; trying again at the next one");
            false
        }
    }
}

async fn purge(store: &Store) -> Result<(), StoreError> {
    let mut tx = store.write().await?;
    let n = jobs::purge_done(&mut tx, Utc::now() - chrono::Duration::days(DONE_RETENTION_DAYS)).await?;
    // Monitoring's performance data: raw samples rolled up, old roll-ups and logs purged.
    let rolled = parc_store::monitoring::status::maintain(&mut tx, Utc::now().timestamp()).await?;
    tx.commit().await?;
    if rolled > 0 {
        tracing::info!(samples = rolled, "monitoring samples rolled up");
    }
    if n > 0 {
        tracing::info!(count = n, "old done jobs purged");
    }
    Ok(())
}

/// One round, as if it were `now`: loads the e-mail settings, expands up to `batch` due
/// notices into mail jobs, then leases up to `batch` due mail jobs for `worker` and sends them.
/// The worker loop runs the same round with the current time; tests call this directly, with a
/// later `now` to make a postponed job due.
///
/// A store error ends the round (the jobs leased and not finished are claimable again when
/// their lease ends); a job finished meanwhile by another worker is skipped with a warning.
pub async fn run_once(store: &Store, worker: &str, batch: usize, now: DateTime<Utc>) -> Result<Round, StoreError> {
    round(store, &I18n::load(), worker, batch, now).await
}

async fn round(
    store: &Store,
    i18n: &I18n,
    worker: &str,
    batch: usize,
    now: DateTime<Utc>,
) -> Result<Round, StoreError> {
    let settings = {
        let mut c = store.read().await?;
        mail_settings::get(&mut c, store.cipher()).await?
    };
    let smtp = match (settings.enabled, settings.smtp) {
        (false, _) => return Ok(Round { paused: Some(Paused::Disabled), ..Round::default() }),
        (true, None) => return Ok(Round { paused: Some(Paused::NotConfigured), ..Round::default() }),
        (true, Some(smtp)) => smtp,
    };
    let notices = expand_notices(store, i18n, &smtp.from, worker, batch, now).await?;
    // The e-mails just made are due now: send them in this round.
    let now = if notices > 0 { now.max(Utc::now()) } else { now };
    let lease = job_time(&smtp).saturating_mul(u32::try_from(batch.max(1)).unwrap_or(u32::MAX));
    let claimed = jobs::claim_at(store, worker, &[MAIL], lease, batch, now).await?;
    let mut round = Round { notices, claimed: claimed.len(), ..Round::default() };
    for job in &claimed {
        match deliver(store, &smtp, job).await? {
            Outcome::Sent => round.sent += 1,
            Outcome::Retried => round.retried += 1,
            Outcome::Failed => round.failed += 1,
            Outcome::Gone => {}
        }
    }
    Ok(round)
}

/// Leases up to `batch` due notices and expands each into its e-mails, sent from `sender`;
/// returns how many were expanded.
async fn expand_notices(
    store: &Store,
    i18n: &I18n,
    sender: &str,
    worker: &str,
    batch: usize,
    now: DateTime<Utc>,
) -> Result<usize, StoreError> {
    let claimed = jobs::claim_at(store, worker, &[NOTIFY, MONITOR_NOTIFY], NOTIFY_LEASE, batch, now).await?;
    if claimed.is_empty() {
        return Ok(0);
    }
    // The organisation's settings (public URL, default language), read only when there is work.
    let site = {
        let mut c = store.read().await?;
        settings::get(&mut c).await?
    };
    let mailer = Mailer::new(i18n, &site, sender);
    let mut done = 0;
    for job in &claimed {
        // `Sent`: expanded (its e-mails are queued).
        let outcome = if job.kind == MONITOR_NOTIFY {
            expand_alert(store, &mailer, job).await?
        } else {
            expand(store, &mailer, job).await?
        };
        if let Outcome::Sent = outcome {
            done += 1;
        }
    }
    Ok(done)
}

/// Turns one ticket notice into one mail job per recipient and completes it, in one
/// transaction.
async fn expand(store: &Store, mailer: &Mailer<'_>, job: &Job) -> Result<Outcome, StoreError> {
    let notice: Notice = match payload_of(store, job, "a notice").await? {
        Ok(n) => n,
        Err(outcome) => return Ok(outcome),
    };
    let mut tx = store.write().await?;
    let emails = match notices::prepare(&mut tx, &notice).await {
        Ok(Some(n)) => mailer.emails(&n, job.id),
        // The ticket (or its follow-up or task) is gone: nothing to tell.
        Ok(None) => Vec::new(),
        Err(e) => return retry_expansion(store, tx, job, e).await,
    };
    let outcome = queue_emails(tx, job, &emails).await?;
    if let Outcome::Sent = outcome {
        tracing::info!(
            job = job.id,
            event = notice.event.as_str(),
            ticket = notice.ticket_id.0,
            emails = emails.len(),
            "notice expanded"
        );
    }
    Ok(outcome)
}

/// Turns one monitoring notice into one mail job per recipient and completes it, in one
/// transaction.
async fn expand_alert(store: &Store, mailer: &Mailer<'_>, job: &Job) -> Result<Outcome, StoreError> {
    let notice: MonitorNotice = match payload_of(store, job, "a monitoring notice").await? {
        Ok(n) => n,
        Err(outcome) => return Ok(outcome),
    };
    let mut tx = store.write().await?;
    let emails = match alerts::prepare(&mut tx, &notice).await {
        Ok(Some(a)) => mailer.alert_mailer().emails(&a, job.id),
        // The check is gone: nothing to tell.
        Ok(None) => Vec::new(),
        Err(e) => return retry_expansion(store, tx, job, e).await,
    };
    let outcome = queue_emails(tx, job, &emails).await?;
    if let Outcome::Sent = outcome {
        tracing::info!(job = job.id, kind = %notice.kind, service = notice.service_id, emails = emails.len(), "alert expanded");
    }
    Ok(outcome)
}

/// The job's payload read as `what`; one that does not read fails the job for good (only its
/// position is kept: serde's message may quote personal data).
async fn payload_of<T: serde::de::DeserializeOwned>(
    store: &Store,
    job: &Job,
    what: &str,
) -> Result<Result<T, Outcome>, StoreError> {
    match job.payload() {
        Ok(n) => Ok(Ok(n)),
        Err(e) => {
            let why = format!("the job's payload is not {what} (line {}, column {})", e.line(), e.column());
            tracing::error!(job = job.id, "{why}");
            finished(jobs::fail(store, job.id, &why).await, job, Outcome::Failed).map(Err)
        }
    }
}

/// A notice that could not be expanded now: nothing written, tried again later.
async fn retry_expansion(store: &Store, tx: Tx, job: &Job, e: StoreError) -> Result<Outcome, StoreError> {
    drop(tx);
    tracing::warn!(job = job.id, error = %e, "cannot expand a notice, will retry");
    finished(jobs::retry_later(store, job.id, &e.to_string()).await.map(drop), job, Outcome::Retried)
}

/// Queues `emails` and completes the notice in `tx`, committed when the notice was still ours.
async fn queue_emails(mut tx: Tx, job: &Job, emails: &[Email]) -> Result<Outcome, StoreError> {
    for email in emails {
        jobs::enqueue_mail(&mut tx, email).await?;
    }
    let outcome = finished(jobs::complete_in(&mut tx, job.id).await, job, Outcome::Sent)?;
    if let Outcome::Sent = outcome {
        tx.commit().await?;
    }
    Ok(outcome)
}

/// The longest one job may take: the whole SMTP conversation, plus a margin.
fn job_time(smtp: &SmtpSettings) -> Duration {
    Duration::from_secs(smtp.timeout_secs).saturating_mul(CONVERSATION_TIMEOUT_FACTOR) + LEASE_MARGIN
}

enum Outcome {
    Sent,
    Retried,
    Failed,
    /// Finished by another worker meanwhile.
    Gone,
}

/// Sends one job's e-mail and records the outcome.
async fn deliver(store: &Store, smtp: &SmtpSettings, job: &Job) -> Result<Outcome, StoreError> {
    let attempt = job.attempts + 1;
    let email: Email = match job.payload() {
        Ok(email) => email,
        Err(e) => {
            // serde's message may quote a value of the payload: only its position is kept.
            let why = format!("the job's payload is not an e-mail (line {}, column {})", e.line(), e.column());
            tracing::error!(job = job.id, "{why}");
            return finished(jobs::fail(store, job.id, &why).await, job, Outcome::Failed);
        }
    };
    match parc_mail::send(smtp, &email).await {
        Ok(()) => {
            tracing::info!(job = job.id, attempt, "e-mail sent");
            finished(jobs::complete(store, job.id).await, job, Outcome::Sent)
        }
        Err(e) if e.is_retryable() => match jobs::retry_later(store, job.id, &e.to_string()).await {
            Ok(Retry::Scheduled(at)) => {
                tracing::warn!(job = job.id, attempt, error = %e, next_attempt = %parc_store::fmt_time(at), "e-mail not sent, will retry");
                Ok(Outcome::Retried)
            }
            Ok(Retry::GaveUp) => {
                tracing::error!(job = job.id, attempt, error = %e, "e-mail not sent, no attempt left: failed");
                Ok(Outcome::Failed)
            }
            Err(other) => finished(Err(other), job, Outcome::Retried),
        },
        Err(e) => {
            tracing::error!(job = job.id, attempt, error = %e, "e-mail refused: failed");
            finished(jobs::fail(store, job.id, &e.to_string()).await, job, Outcome::Failed)
        }
    }
}

/// `outcome` once the job is recorded; a job no longer pending was finished by another worker.
fn finished(recorded: Result<(), StoreError>, job: &Job, outcome: Outcome) -> Result<Outcome, StoreError> {
    match recorded {
        Ok(()) => Ok(outcome),
        Err(StoreError::NotFound) => {
            tracing::warn!(job = job.id, "job finished by another worker meanwhile (its lease had expired)");
            Ok(Outcome::Gone)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worker_id_names_host_and_process() {
        let id = worker_id();
        assert!(id.ends_with(&format!(":{}", std::process::id())), "{id}");
        assert!(id.len() > 2);
    }

    #[test]
    fn a_lease_covers_the_longest_conversation() {
        let smtp = SmtpSettings { timeout_secs: 10, ..SmtpSettings::default() };
        assert_eq!(job_time(&smtp), Duration::from_secs(10 * u64::from(CONVERSATION_TIMEOUT_FACTOR) + 30));
    }
}
