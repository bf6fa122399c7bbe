//! `parc agent`: inventory this machine and send it to a Parc (or GLPI) server, or write it to a file.
//! Needs neither the database nor the server configuration.
use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use clap::{ArgGroup, Args};

#[derive(Args)]
#[command(group(ArgGroup::new("target").required(true).args(["server", "local"])))]
pub struct AgentArgs {
    /// Server URL; `/front/inventory.php` is appended when the URL has no path.
    #[arg(long, value_name = "URL")]
    server: Option<String>,
    /// Write the inventory as pretty JSON to FILE (`-` = standard output) instead of sending it.
    #[arg(long, value_name = "FILE")]
    local: Option<PathBuf>,
    /// Tag sent with the inventory (the server may use it to choose the entity).
    #[arg(long)]
    tag: Option<String>,
    /// Where the agent keeps its device id [default: /var/lib/parc-agent when writable, else
    /// $XDG_STATE_HOME/parc-agent or ~/.local/state/parc-agent].
    #[arg(long, value_name = "DIR")]
    state_dir: Option<PathBuf>,
}

/// Run on a small runtime of its own: called before the server configuration is loaded.
pub fn main(args: AgentArgs) -> Result<()> {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(run(args))
}

pub async fn run(args: AgentArgs) -> Result<()> {
    if let Some(server) = &args.server {
        parc_agent::inventory_url(server)?; // a typo is reported before the inventory is collected
    }
    let state_dir = args.state_dir.clone().unwrap_or_else(parc_agent::default_state_dir);
    let opts = parc_agent::CollectOptions { tag: args.tag.clone(), state_dir };
    let doc = tokio::task::spawn_blocking(move || parc_agent::collect(&opts)).await??;
    if let Some(file) = &args.local {
        let mut json = serde_json::to_string_pretty(&doc)?;
        json.push('\n');
        if file.as_os_str() == "-" {
            match std::io::stdout().lock().write_all(json.as_bytes()) {
                // `parc agent --local - | head` is not a failure.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => {}
                other => other.context("writing to standard output")?,
            }
        } else {
            std::fs::write(file, json).with_context(|| format!("writing {}", file.display()))?;
            eprintln!("inventory {} written to {}", doc["deviceid"].as_str().unwrap_or(""), file.display());
        }
        return Ok(());
    }
    let server = args.server.as_deref().context("--server or --local is required")?;
    let report = parc_agent::send(server, &doc, args.tag.as_deref()).await?;
    let expiration = report.expiration_hours.map(|h| format!(", next inventory in {h} h")).unwrap_or_default();
    println!(
        "inventory {} sent to {} ({} bytes compressed){expiration}",
        doc["deviceid"].as_str().unwrap_or(""),
        report.url,
        report.inventory_bytes
    );
    Ok(())
}
