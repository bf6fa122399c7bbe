//! The check scheduler: claims due checks, runs each at its due time, writes results in
//! batches.
//!
//! ```text
//!  claim loop (every tick)         check tasks                    writer
//!  source.claim(now + horizon) --> sleep until due --> run --> channel --> batch --> source.submit
//!  source.configs(new/changed) --> Runner::prepare (cached per config_version)
//! ```
//!
//! The same loop serves a Parc node (its [`CheckSource`] is the database, [`StoreSource`]) and a
//! remote poller (its source is the central server's API). Leases make it safe to run several
//! schedulers on one database: each check is claimed by exactly one of them per cycle.

use crate::{CheckOutcome, Macros, PreparedCheck, Runner};
use chrono::Utc;
use parc_core::monitoring::{parse_output, ServiceState};
use parc_core::ServiceId;
use parc_store::monitoring::schedule::{self, CheckConfig, CheckResult, Claimed};
use parc_store::Store;
use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::time::Instant;

/// Where checks come from and where their results go.
pub trait CheckSource: Send + Sync + 'static {
    /// Claims the checks due before `horizon_ms` (epoch milliseconds), at most `limit`.
    fn claim(&self, horizon_ms: i64, limit: i64) -> impl Future<Output = anyhow::Result<Vec<Claimed>>> + Send;
    /// The configurations of these checks.
    fn configs(&self, ids: &[ServiceId]) -> impl Future<Output = anyhow::Result<Vec<CheckConfig>>> + Send;
    /// Records results (one transaction on the database).
    fn submit(&self, results: Vec<CheckResult>) -> impl Future<Output = anyhow::Result<()>> + Send;
    /// Gives back the checks claimed but not run (on shutdown), so they run elsewhere at once.
    fn release(&self) -> impl Future<Output = anyhow::Result<()>> + Send;
}

/// The database as a check source: what a Parc node runs.
#[derive(Clone)]
pub struct StoreSource {
    pub store: Store,
    /// This node's lease name (unique per process).
    pub owner: String,
    /// 0: the checks of the central nodes.
    pub poller: i64,
}

impl CheckSource for StoreSource {
    async fn claim(&self, horizon_ms: i64, limit: i64) -> anyhow::Result<Vec<Claimed>> {
        let mut tx = self.store.write().await?;
        let claimed =
            schedule::claim(&mut tx, self.store.backend(), &self.owner, self.poller, horizon_ms, limit).await?;
        tx.commit().await?;
        Ok(claimed)
    }

    async fn configs(&self, ids: &[ServiceId]) -> anyhow::Result<Vec<CheckConfig>> {
        let mut c = self.store.read().await?;
        Ok(schedule::configs(&mut c, ids).await?)
    }

    async fn submit(&self, mut results: Vec<CheckResult>) -> anyhow::Result<()> {
        for r in &mut results {
            r.owner = Some(self.owner.clone());
        }
        let mut tx = self.store.write().await?;
        schedule::record(&mut tx, &results, Utc::now()).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn release(&self) -> anyhow::Result<()> {
        let mut tx = self.store.write().await?;
        schedule::release(&mut tx, &self.owner).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// How the scheduler paces itself.
#[derive(Debug, Clone)]
pub struct SchedulerConfig {
    /// Checks due within this window are claimed ahead and started at their due time.
    pub horizon: Duration,
    /// Pause between two claims when the last one was not full.
    pub tick: Duration,
    /// Most checks claimed at once.
    pub claim_limit: i64,
    /// Results are written when this many are waiting...
    pub batch_max: usize,
    /// ...or when the oldest has waited this long.
    pub batch_wait: Duration,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            horizon: Duration::from_millis(1500),
            tick: Duration::from_millis(100),
            claim_limit: 5000,
            batch_max: 2000,
            batch_wait: Duration::from_millis(200),
        }
    }
}

/// Counters, read by the bench and the status page.
#[derive(Debug, Default)]
pub struct Stats {
    /// Checks run.
    pub executed: AtomicU64,
    /// Results the source refused or could not take (logged).
    pub submit_errors: AtomicU64,
    /// When set, the lateness of every check (start minus due, milliseconds) is kept here.
    pub lateness_ms: Option<Mutex<Vec<i64>>>,
}

impl Stats {
    /// Counters that also keep every check's lateness (for `parc bench monitoring`).
    pub fn recording() -> Stats {
        Stats { lateness_ms: Some(Mutex::new(Vec::new())), ..Stats::default() }
    }
}

type Prepared = Result<Arc<PreparedCheck>, String>;

/// A running scheduler; dropping the handle does not stop it, [`Scheduler::shutdown`] does.
pub struct Scheduler {
    stop: tokio::sync::watch::Sender<bool>,
    done: tokio::task::JoinHandle<()>,
    pub stats: Arc<Stats>,
}

impl Scheduler {
    /// Starts claiming and running checks from `source` in the background.
    pub fn start<S: CheckSource>(source: S, runner: Arc<Runner>, cfg: SchedulerConfig, stats: Arc<Stats>) -> Scheduler {
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let source = Arc::new(source);
        let done = tokio::spawn(run(source, runner, cfg, stats.clone(), stop_rx));
        Scheduler { stop, done, stats }
    }

    /// Stops claiming, waits for the checks in flight, writes their results and gives back
    /// what was claimed but not started.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let _ = self.done.await;
    }
}

async fn run<S: CheckSource>(
    source: Arc<S>,
    runner: Arc<Runner>,
    cfg: SchedulerConfig,
    stats: Arc<Stats>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let (tx, rx) = mpsc::unbounded_channel::<CheckResult>();
    let writer = tokio::spawn(write_results(source.clone(), rx, cfg.clone(), stats.clone()));
    let mut cache: HashMap<ServiceId, (i64, Prepared)> = HashMap::new();
    let mut tasks = tokio::task::JoinSet::new();
    loop {
        if *stop.borrow() {
            break;
        }
        let horizon_ms = Utc::now().timestamp_millis() + cfg.horizon.as_millis() as i64;
        let claimed = match source.claim(horizon_ms, cfg.claim_limit).await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "monitoring: cannot claim checks");
                Vec::new()
            }
        };
        let full = claimed.len() as i64 >= cfg.claim_limit;
        load_configs(source.as_ref(), &runner, &mut cache, &claimed).await;
        for c in claimed {
            let prepared = match cache.get(&c.id) {
                Some((_, p)) => p.clone(),
                None => Err("the check's configuration could not be read".to_owned()),
            };
            let runner = runner.clone();
            let tx = tx.clone();
            let stats = stats.clone();
            let mut stopping = stop.clone();
            tasks.spawn(async move {
                let wait = c.due_ms - Utc::now().timestamp_millis();
                if wait > 0 {
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
                        // Stopping: not started, given back by `release` below.
                        _ = stopping.wait_for(|s| *s) => return,
                    }
                }
                let result = run_one(&runner, c, prepared, &stats).await;
                let _ = tx.send(result);
            });
        }
        // Reap finished tasks without waiting.
        while tasks.try_join_next().is_some() {}
        if !full {
            tokio::select! {
                _ = tokio::time::sleep(cfg.tick) => {}
                _ = stop.changed() => {}
            }
        }
    }
    // Checks waiting for their due time return at once (the stop flag is set); the running
    // ones finish and their results are written.
    while tasks.join_next().await.is_some() {}
    drop(tx);
    let _ = writer.await;
    if let Err(e) = source.release().await {
        tracing::warn!(error = %e, "monitoring: cannot release claimed checks");
    }
}

async fn load_configs<S: CheckSource>(
    source: &S,
    runner: &Runner,
    cache: &mut HashMap<ServiceId, (i64, Prepared)>,
    claimed: &[Claimed],
) {
    let missing: Vec<ServiceId> =
        claimed.iter().filter(|c| cache.get(&c.id).is_none_or(|(v, _)| *v != c.config_version)).map(|c| c.id).collect();
    if missing.is_empty() {
        return;
    }
    match source.configs(&missing).await {
        Ok(configs) => {
            for cfg in configs {
                cache.insert(cfg.id, (cfg.config_version, prepare(runner, &cfg)));
            }
        }
        Err(e) => tracing::warn!(error = %e, "monitoring: cannot read check configurations"),
    }
}

fn prepare(runner: &Runner, cfg: &CheckConfig) -> Prepared {
    let macros = Macros {
        host_name: cfg.host_name.clone(),
        host_address: cfg.host_address.clone(),
        service_description: cfg.service_name.clone(),
    };
    let timeout = Duration::from_secs(cfg.timeout_s.clamp(1, 3600) as u64);
    runner.prepare(&cfg.check, &macros, Some(timeout)).map(Arc::new).map_err(|e| e.to_string())
}

async fn run_one(runner: &Runner, c: Claimed, prepared: Prepared, stats: &Stats) -> CheckResult {
    let started = Utc::now();
    if let Some(l) = &stats.lateness_ms {
        let late = started.timestamp_millis() - c.due_ms;
        l.lock().unwrap_or_else(|p| p.into_inner()).push(late);
    }
    let outcome = match prepared {
        Ok(p) => runner.run(&p).await,
        Err(message) => CheckOutcome {
            state: ServiceState::Unknown,
            output: parse_output(&format!("UNKNOWN: cannot prepare the check: {message}")),
            exit_code: None,
            started_at: started,
            duration: Duration::ZERO,
        },
    };
    stats.executed.fetch_add(1, Ordering::Relaxed);
    CheckResult {
        service_id: c.id,
        owner: None,
        state: outcome.state,
        summary: outcome.output.summary,
        long_output: outcome.output.long_output,
        perfdata: outcome.output.perfdata,
        started_at: outcome.started_at,
        duration_ms: outcome.duration.as_millis() as i64,
    }
}

async fn write_results<S: CheckSource>(
    source: Arc<S>,
    mut rx: mpsc::UnboundedReceiver<CheckResult>,
    cfg: SchedulerConfig,
    stats: Arc<Stats>,
) {
    let mut batch: Vec<CheckResult> = Vec::new();
    let mut oldest: Option<Instant> = None;
    loop {
        let deadline = oldest.map(|o| o + cfg.batch_wait);
        let next = match deadline {
            Some(d) => tokio::select! {
                r = rx.recv() => Some(r),
                _ = tokio::time::sleep_until(d) => None,
            },
            None => Some(rx.recv().await),
        };
        match next {
            Some(Some(r)) => {
                oldest.get_or_insert_with(Instant::now);
                batch.push(r);
                if batch.len() < cfg.batch_max {
                    continue;
                }
            }
            Some(None) => {
                flush(source.as_ref(), &mut batch, &stats).await;
                return;
            }
            None => {}
        }
        flush(source.as_ref(), &mut batch, &stats).await;
        oldest = None;
    }
}

async fn flush<S: CheckSource>(source: &S, batch: &mut Vec<CheckResult>, stats: &Stats) {
    if batch.is_empty() {
        return;
    }
    let results = std::mem::take(batch);
    let n = results.len() as u64;
    if let Err(e) = source.submit(results).await {
        stats.submit_errors.fetch_add(n, Ordering::Relaxed);
        tracing::warn!(error = %e, results = n, "monitoring: cannot record check results");
    }
}
