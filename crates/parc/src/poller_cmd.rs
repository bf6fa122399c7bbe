//! `parc poller --server URL --token T`: runs the checks of the hosts assigned to this poller
//! (inside a school's network, say) and pushes their results to the central server, as a
//! Centreon poller does. No database and no configuration file: the server holds the checks,
//! the poller claims them through `/api/v1/monitoring/poller/...` with its token.

use anyhow::{bail, Context, Result};
use parc_core::ServiceId;
use parc_monitor::scheduler::{CheckSource, Scheduler, SchedulerConfig, Stats};
use parc_store::monitoring::schedule::{CheckConfig, CheckResult, Claimed};
use std::sync::Arc;
use std::time::Duration;

#[derive(clap::Args, Debug)]
pub struct PollerArgs {
    /// The central Parc server, e.g. https://parc.example.org/
    #[arg(long)]
    server: String,
    /// The poller's token (from the monitoring pollers page or `POST /api/v1/monitoring/pollers`).
    #[arg(long, env = "PARC_POLLER_TOKEN", hide_env_values = true)]
    token: String,
    /// Most checks running at once.
    #[arg(long, default_value_t = 256)]
    concurrency: usize,
    /// `$USER1$`: where the Nagios plugins are.
    #[arg(long, default_value = "/usr/lib/nagios/plugins")]
    plugin_dir: String,
}

/// The central server's API as a check source.
struct HttpSource {
    client: reqwest::Client,
    base: String,
    token: String,
}

impl HttpSource {
    async fn post<T: serde::de::DeserializeOwned>(&self, path: &str, body: &impl serde::Serialize) -> Result<T> {
        let url = format!("{}/api/v1/monitoring/poller/{path}", self.base);
        let resp = self
            .client
            .post(&url)
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST {url}"))?;
        let status = resp.status();
        if !status.is_success() {
            let text = resp.text().await.unwrap_or_default();
            bail!("POST {url}: {status}: {}", text.chars().take(300).collect::<String>());
        }
        if status == reqwest::StatusCode::NO_CONTENT {
            return Ok(serde_json::from_str("null")?);
        }
        resp.json().await.with_context(|| format!("POST {url}: unreadable answer"))
    }
}

impl CheckSource for HttpSource {
    async fn claim(&self, horizon_ms: i64, limit: i64) -> Result<Vec<Claimed>> {
        self.post("claim", &serde_json::json!({ "horizon_ms": horizon_ms, "limit": limit.min(5000) })).await
    }

    async fn configs(&self, ids: &[ServiceId]) -> Result<Vec<CheckConfig>> {
        let mut out = Vec::new();
        for chunk in ids.chunks(5000) {
            let ids: Vec<i64> = chunk.iter().map(|i| i.0).collect();
            let part: Vec<CheckConfig> = self.post("configs", &serde_json::json!({ "ids": ids })).await?;
            out.extend(part);
        }
        Ok(out)
    }

    async fn submit(&self, results: Vec<CheckResult>) -> Result<()> {
        for chunk in results.chunks(5000) {
            let _: serde_json::Value = self.post("results", &chunk).await?;
        }
        Ok(())
    }

    async fn release(&self) -> Result<()> {
        let _: Option<serde_json::Value> = self.post("release", &serde_json::json!({})).await?;
        Ok(())
    }
}

pub fn main(args: PollerArgs) -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()))
        .init();
    let rt = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    rt.block_on(run(args))
}

async fn run(args: PollerArgs) -> Result<()> {
    let base = args.server.trim_end_matches('/').to_owned();
    if !(base.starts_with("http://") || base.starts_with("https://")) {
        bail!("--server must be an http:// or https:// URL");
    }
    let client = reqwest::Client::builder().timeout(Duration::from_secs(30)).build()?;
    let source = HttpSource { client, base: base.clone(), token: args.token };
    // Fail fast on a wrong token or server; this also gives back what a previous run of this
    // poller had claimed and not run (it was stopped hard), so it runs at once.
    source.release().await.context("the server refused this poller")?;
    let mut limits = parc_monitor::Limits { max_concurrent: args.concurrency, ..Default::default() };
    limits.user_macros.insert(1, args.plugin_dir);
    let runner = Arc::new(parc_monitor::Runner::new(limits));
    let scheduler = Scheduler::start(source, runner, SchedulerConfig::default(), Arc::new(Stats::default()));
    println!("Parc poller running for {base} (Ctrl-C to stop)");
    tokio::signal::ctrl_c().await?;
    scheduler.shutdown().await;
    Ok(())
}
