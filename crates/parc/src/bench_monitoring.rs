//! `parc bench monitoring`: N services on this node, run by the real scheduler against the real
//! database, and what it cost.
//!
//! The services are bulk-loaded with their first runs spread evenly over one interval, then
//! the scheduler (the one `parc serve` runs) claims, runs and records them. After a warm-up
//! (the first claims load every configuration) the bench measures for `--duration` seconds:
//! checks executed per second, the scheduling latency of each check (when it started minus
//! when it was due, as nagios4stats reports it), the CPU time of Parc and of the plugin
//! processes it reaped (from /proc, in % of the machine's cores) and the resident memory.

use anyhow::{bail, Context, Result};
use parc_core::monitoring::check::CheckDefinition;
use parc_monitor::scheduler::{Scheduler, SchedulerConfig, Stats, StoreSource};
use parc_store::Store;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

#[derive(clap::Args, Debug, Clone)]
pub struct MonitoringArgs {
    /// Services to schedule.
    #[arg(long, default_value_t = 60_000)]
    services: usize,
    /// Check interval, in seconds.
    #[arg(long, default_value_t = 60)]
    interval: i64,
    /// Measured time, in seconds (after the warm-up).
    #[arg(long, default_value_t = 120)]
    duration: u64,
    /// Warm-up before measuring, in seconds.
    #[arg(long, default_value_t = 20)]
    warmup: u64,
    /// The plugin command line every service runs.
    #[arg(long, default_value = "/usr/lib/nagios/plugins/check_dummy 0 OK")]
    plugin: String,
    /// Run a native check instead of the plugin: `tcp` (against a local listener).
    #[arg(long)]
    native: Option<String>,
    /// Most checks running at once.
    #[arg(long)]
    concurrency: Option<usize>,
}

/// CPU seconds used so far: (this process, its reaped children). /proc reports clock ticks,
/// which Linux always counts at 100 per second (USER_HZ).
fn cpu_seconds() -> Result<(f64, f64)> {
    let stat = std::fs::read_to_string("/proc/self/stat").context("reading /proc/self/stat")?;
    // Fields after the command name (which may hold spaces) start at the last ')'.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or_default();
    let f: Vec<f64> = rest.split_whitespace().map(|x| x.parse().unwrap_or(0.0)).collect();
    // rest[0] is field 3 (state): utime is field 14, stime 15, cutime 16, cstime 17.
    let get = |field: usize| f.get(field - 3).copied().unwrap_or(0.0) / 100.0;
    Ok((get(14) + get(15), get(16) + get(17)))
}

/// (current, peak) resident memory in MiB.
fn rss_mib() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kib = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    (kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0)
}

fn percentile(sorted: &[i64], p: f64) -> i64 {
    if sorted.is_empty() {
        return 0;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Accepts connections and closes them at once, for the native TCP checks.
async fn tcp_listener() -> Result<u16> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let port = listener.local_addr()?.port();
    tokio::spawn(async move {
        loop {
            if let Ok((stream, _)) = listener.accept().await {
                drop(stream);
            }
        }
    });
    Ok(port)
}

pub async fn run(store: Store, args: MonitoringArgs, cfg: &crate::config::Config) -> Result<()> {
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    println!("backend: {}, cores: {cores}", store.backend().name());
    {
        let mut c = store.read().await?;
        let (n,): (i64,) = sqlx_count(&mut c).await?;
        if n > 0 {
            bail!("the database already holds {n} monitored checks: run the bench on an empty data directory");
        }
    }
    let check: CheckDefinition = match args.native.as_deref() {
        None => serde_json::from_value(serde_json::json!({"type": "plugin", "command": args.plugin}))?,
        Some("tcp") => {
            let port = tcp_listener().await?;
            println!("native TCP checks against a local listener on port {port}");
            serde_json::from_value(serde_json::json!({"type": "tcp", "port": port}))?
        }
        Some(other) => bail!("--native {other}: only 'tcp' is available"),
    };
    let (root, _) = crate::bench::ensure_entities(&store).await?;
    let start_ms = chrono::Utc::now().timestamp_millis() + 3000;
    let seeded = Instant::now();
    let mut tx = store.write().await?;
    let hosts = (args.services / 20).max(1);
    parc_store::monitoring::bulk::seed(
        &mut tx,
        store.backend(),
        root,
        hosts,
        args.services,
        &check,
        "127.0.0.1",
        args.interval,
        start_ms,
    )
    .await?;
    tx.commit().await?;
    store.analyze().await?;
    println!(
        "{} services on {hosts} hosts, every {} s ({:.0} checks/s due), seeded in {:.1} s: {}",
        args.services,
        args.interval,
        args.services as f64 / args.interval as f64,
        seeded.elapsed().as_secs_f64(),
        check.summary()
    );

    let mut limits = parc_monitor::Limits {
        max_concurrent: args.concurrency.unwrap_or(cfg.monitoring_concurrency),
        ..Default::default()
    };
    limits.user_macros.insert(1, cfg.plugin_dir.clone());
    let runner = Arc::new(parc_monitor::Runner::new(limits));
    let stats = Arc::new(Stats::recording());
    let source = StoreSource { store: store.clone(), owner: "bench".into(), poller: 0 };
    let scheduler = Scheduler::start(source, runner, SchedulerConfig::default(), stats.clone());

    tokio::time::sleep(Duration::from_secs(3 + args.warmup)).await;
    let lateness = stats.lateness_ms.as_ref().expect("recording stats");
    lateness.lock().unwrap_or_else(|p| p.into_inner()).clear();
    let executed0 = stats.executed.load(Ordering::Relaxed);
    let (own0, children0) = cpu_seconds()?;
    let t0 = Instant::now();
    tokio::time::sleep(Duration::from_secs(args.duration)).await;
    let elapsed = t0.elapsed().as_secs_f64();
    let (own1, children1) = cpu_seconds()?;
    let executed = stats.executed.load(Ordering::Relaxed) - executed0;
    let mut late: Vec<i64> = std::mem::take(&mut *lateness.lock().unwrap_or_else(|p| p.into_inner()));
    let (rss, peak) = rss_mib();
    scheduler.shutdown().await;
    late.sort_unstable();

    let recorded = {
        let mut c = store.read().await?;
        let (n,): (i64,) = sqlx_checked(&mut c).await.context("counting recorded results")?;
        n
    };
    let own = own1 - own0;
    let children = children1 - children0;
    let machine = elapsed * cores as f64;
    println!("measured {elapsed:.1} s after a {} s warm-up", args.warmup);
    println!("checks executed: {executed} ({:.1} checks/s)", executed as f64 / elapsed);
    println!(
        "scheduling latency (start - due): p50 {} ms, p99 {} ms, max {} ms, mean {:.1} ms ({} checks)",
        percentile(&late, 0.50),
        percentile(&late, 0.99),
        late.last().copied().unwrap_or(0),
        if late.is_empty() { 0.0 } else { late.iter().sum::<i64>() as f64 / late.len() as f64 },
        late.len()
    );
    println!(
        "CPU: {:.1} % of the machine ({:.1} % Parc, {:.1} % plugin processes) = {:.2} core",
        100.0 * (own + children) / machine,
        100.0 * own / machine,
        100.0 * children / machine,
        (own + children) / elapsed
    );
    println!("memory: RSS {rss:.0} MiB (peak {peak:.0} MiB)");
    println!("checks with a stored result: {recorded} of {}", args.services);
    println!("result write errors: {}", stats.submit_errors.load(Ordering::Relaxed));
    Ok(())
}

async fn sqlx_count(c: &mut parc_store::Conn) -> Result<(i64,)> {
    Ok(parc_store::monitoring::status::count_checks(c, false).await.map(|n| (n,))?)
}

async fn sqlx_checked(c: &mut parc_store::Conn) -> Result<(i64,)> {
    Ok(parc_store::monitoring::status::count_checks(c, true).await.map(|n| (n,))?)
}
