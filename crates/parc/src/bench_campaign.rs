//! `parc bench campaign`: a tablet collection scanned by several technicians at once, over real
//! HTTP on loopback. N tablets are created in one school, a campaign is opened with their
//! serials as the expected list (as an MDM export would give), then S clients scan every tablet
//! (each its share, plus 5 % scanned again by another technician and 1 % codes that are on no
//! list) as fast as the server answers. Reports scans/s and the scan-to-screen latency (the
//! POST until its answer, which carries the outcome and the counts the screen shows) p50/p99/
//! max, and checks the final counts: every tablet found once, no scan lost.

use anyhow::{ensure, Context, Result};
use clap::Args;
use parc_core::assets::AssetInput;
use parc_store::{assets, Actor, Store};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

#[derive(Args, Debug, Clone)]
pub struct CampaignArgs {
    /// Tablets on the expected list.
    #[arg(long, default_value_t = 5000)]
    pub items: usize,
    /// Technicians scanning at the same time.
    #[arg(long, default_value_t = 4)]
    pub scanners: usize,
}

pub async fn run(store: Store, args: CampaignArgs) -> Result<()> {
    let (items, scanners) = (args.items, args.scanners);
    ensure!((1..=50_000).contains(&items), "--items must be between 1 and 50000");
    ensure!((1..=64).contains(&scanners), "--scanners must be between 1 and 64");
    println!("backend: {}", store.backend().name());
    let (root, schools) = crate::bench::ensure_entities(&store).await?;
    let school = schools[0];
    // A run prefix keeps serials distinct when the bench runs again on the same database.
    let run = chrono::Utc::now().format("%H%M%S").to_string();
    let serial = |i: usize| format!("BT{run}{i:05}");
    let started = Instant::now();
    let actor = Actor::system("bench");
    for chunk in (0..items).collect::<Vec<_>>().chunks(1000) {
        let mut tx = store.write().await?;
        for &i in chunk {
            let input = AssetInput {
                kind: Some("tablet".into()),
                entity_id: Some(school.0),
                name: Some(format!("Tablette bench {i:05}")),
                serial: Some(serial(i)),
                status: Some("loaned".into()),
                ..Default::default()
            };
            let draft = input.validate(None).map_err(|e| anyhow::anyhow!("{e:?}"))?;
            assets::create(&mut tx, &actor, store.cipher(), &draft).await?;
        }
        tx.commit().await?;
    }
    println!("{items} tablets created in {:.1} s", started.elapsed().as_secs_f64());
    let token = crate::bench::bench_token(&store, root).await?;

    let state = parc_web::AppState::new(store.clone(), parc_web::WebConfig::default()).await?;
    let app = parc_web::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
    });
    let base = format!("http://{addr}/api/v1");
    let http = reqwest::Client::builder().pool_max_idle_per_host(scanners * 2).build()?;

    let rows: Vec<serde_json::Value> = (0..items).map(|i| serde_json::json!({ "serial": serial(i) })).collect();
    let body = serde_json::json!({
        "name": format!("Bench collection {run}"),
        "kind": "tablet_collection",
        "entity_id": school.0,
        "source": { "rows": rows },
    });
    let t = Instant::now();
    let resp = http.post(format!("{base}/campaigns")).bearer_auth(&token).json(&body).send().await?;
    let status = resp.status();
    let created: serde_json::Value = resp.json().await?;
    ensure!(status.as_u16() == 201, "campaign creation: HTTP {status}: {created}");
    let id = created["id"].as_i64().context("campaign id")?;
    println!("campaign {id} opened with {items} expected items in {:.0} ms", t.elapsed().as_secs_f64() * 1e3);

    // Each scanner's codes: its share of the list, then 5 % of another share (duplicates) and
    // 1 % unknown codes (unexpected), interleaved.
    let dups = items / 20;
    let unknown = items / 100;
    let mut plans: Vec<Vec<String>> = vec![Vec::new(); scanners];
    for i in 0..items {
        plans[i % scanners].push(serial(i));
    }
    for d in 0..dups {
        let i = (d * 20 + 7) % items;
        plans[(i + 1) % scanners].push(serial(i).to_lowercase());
    }
    for u in 0..unknown {
        plans[u % scanners].push(format!("UNKNOWN-{run}-{u:05}"));
    }
    for (s, plan) in plans.iter_mut().enumerate() {
        // A deterministic shuffle so duplicates and unknowns are spread over the run.
        let n = plan.len();
        for k in 0..n {
            let j = (k * 7919 + s * 31) % n;
            plan.swap(k, j);
        }
    }
    let total: usize = plans.iter().map(Vec::len).sum();
    println!("{scanners} scanners, {total} scans ({items} expected, {dups} duplicates, {unknown} unexpected)");

    let start = Instant::now();
    let mut tasks = Vec::new();
    for plan in plans {
        let http = http.clone();
        let url = format!("{base}/campaigns/{id}/scans");
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(plan.len());
            for code in plan {
                let t = Instant::now();
                let resp =
                    http.post(&url).bearer_auth(&token).json(&serde_json::json!({ "code": code })).send().await?;
                let status = resp.status();
                let body: serde_json::Value = resp.json().await?;
                ensure!(status.is_success(), "scan {code}: HTTP {status}: {body}");
                ensure!(body["tally"]["found"].is_i64(), "scan answer without counts");
                lat.push(t.elapsed());
            }
            Ok::<_, anyhow::Error>(lat)
        }));
    }
    let mut latencies: Vec<Duration> = Vec::with_capacity(total);
    for t in tasks {
        latencies.extend(t.await??);
    }
    let elapsed = start.elapsed();
    latencies.sort();
    let q = |f: f64| {
        latencies[((latencies.len() as f64 * f).ceil() as usize).saturating_sub(1).min(latencies.len() - 1)]
            .as_secs_f64()
            * 1e3
    };
    println!(
        "scans: {:.1} scans/s   scan-to-screen p50 {:.2} ms   p99 {:.2} ms   max {:.2} ms",
        total as f64 / elapsed.as_secs_f64(),
        q(0.50),
        q(0.99),
        latencies.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );

    // What another technician's screen fetches every two seconds.
    let t = Instant::now();
    let feed: serde_json::Value = http
        .get(format!("{base}/campaigns/{id}/scans?after=0&limit=1000"))
        .bearer_auth(&token)
        .send()
        .await?
        .json()
        .await?;
    println!("live view poll (1000 scans + counts): {:.2} ms", t.elapsed().as_secs_f64() * 1e3);
    let tally = &feed["tally"];
    ensure!(tally["found"].as_u64() == Some(items as u64), "found {} of {items}", tally["found"]);
    ensure!(tally["unexpected"].as_u64() == Some(unknown as u64), "unexpected {}", tally["unexpected"]);
    ensure!(tally["duplicates"].as_u64() == Some(dups as u64), "duplicates {}", tally["duplicates"]);
    let mut c = store.read().await?;
    let scans = parc_store::campaigns::scan_count(&mut c, parc_core::CampaignId(id)).await?;
    drop(c);
    ensure!(scans == total as i64, "{scans} scans stored, {total} sent");
    println!("verified: {items} found once each, {dups} duplicates, {unknown} unexpected, {scans} scans stored");
    if let Some(rss) = crate::bench::rss_mb() {
        println!("process RSS after the run: {rss:.1} MB");
    }
    server.abort();
    store.close().await;
    Ok(())
}
