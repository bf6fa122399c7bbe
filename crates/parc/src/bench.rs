//! `parc bench assets`: seeds N assets and measures the latency of the asset list (first page,
//! filtered, sorted, free text), the HTML list page and the global search, through the whole
//! HTTP stack (router, auth, scoping, SQL, JSON/HTML rendering) in-process.

use crate::config::Config;
use anyhow::{Context, Result};
use axum::body::Body;
use axum::http::{Method, Request};
use clap::Subcommand;
use http_body_util::BodyExt;
use parc_core::assets::AssetInput;
use parc_core::permissions::{Grant, Profile};
use parc_core::EntityId;
use parc_store::entities::{self, EntityInput};
use parc_store::users::{self, UserInput};
use parc_store::{assets, Actor};
use std::time::{Duration, Instant};
use tower::ServiceExt;

#[derive(Subcommand)]
pub enum BenchCommand {
    /// Seed assets (up to --count) and report p50/p99 latencies of lists and search.
    Assets {
        #[arg(long, default_value_t = 200_000)]
        count: usize,
        /// Requests per scenario.
        #[arg(long, default_value_t = 200)]
        iterations: usize,
    },
    /// Seed tickets (up to --tickets) with follow-ups and tasks, then report p50/p99 of ticket
    /// lists, the ticket page, hotline suggestions and ticket creation.
    Helpdesk {
        #[arg(long, default_value_t = 1_000_000)]
        tickets: usize,
        /// Requests per scenario.
        #[arg(long, default_value_t = 200)]
        iterations: usize,
    },
    /// Post N distinct OCS inventories over HTTP, then re-post each with one upgrade; report
    /// inventories/s and p50/p99 of both phases (use an empty database).
    Inventory {
        #[arg(long, default_value_t = 1000)]
        machines: usize,
        /// Software entries per machine.
        #[arg(long, default_value_t = 200)]
        software: usize,
        /// Requests in flight.
        #[arg(long, default_value_t = 4)]
        concurrency: usize,
    },
    /// Schedule N services on this node and report checks/s, scheduling latency (start versus
    /// due time) p50/p99/max, CPU used and memory (use an empty database).
    Monitoring(crate::bench_monitoring::MonitoringArgs),
    /// Open a tablet collection of --items and scan it from --scanners concurrent clients over
    /// HTTP; report scans/s and scan-to-screen latency p50/p99/max, then check the counts.
    Campaign(crate::bench_campaign::CampaignArgs),
}

const SCHOOLS: usize = 20;

/// The URL of a scenario's i-th request.
pub(crate) type UrlFor = Box<dyn Fn(usize) -> String>;

/// A scenario's i-th request: method, URI and JSON body (if any).
pub(crate) type RequestFor = Box<dyn Fn(usize) -> (Method, String, Option<String>)>;

/// A named series of requests whose latencies are measured.
pub(crate) struct Scenario {
    pub name: String,
    pub request: RequestFor,
}

/// GET requests to the URLs `url` gives.
pub(crate) fn get(url: UrlFor) -> RequestFor {
    Box::new(move |i| (Method::GET, url(i), None))
}

pub async fn run(cmd: BenchCommand, cfg: &Config) -> Result<()> {
    let (count, iterations) = match cmd {
        BenchCommand::Assets { count, iterations } => (count, iterations),
        BenchCommand::Helpdesk { tickets, iterations } => {
            let store = crate::open_store(cfg).await?;
            return crate::bench_helpdesk::run(store, tickets, iterations).await;
        }
        BenchCommand::Inventory { machines, software, concurrency } => {
            let store = crate::open_store(cfg).await?;
            return crate::bench_inventory::run(store, machines, software, concurrency).await;
        }
        BenchCommand::Monitoring(args) => {
            let store = crate::open_store(cfg).await?;
            return crate::bench_monitoring::run(store, args, cfg).await;
        }
        BenchCommand::Campaign(args) => {
            let store = crate::open_store(cfg).await?;
            return crate::bench_campaign::run(store, args).await;
        }
    };
    let store = crate::open_store(cfg).await?;
    println!("backend: {}", store.backend().name());
    let (root, entity_ids) = ensure_entities(&store).await?;
    let before = Instant::now();
    let seeded = seed(&store, &entity_ids, count).await?;
    println!("assets in the bench entities: {seeded}");
    // As autovacuum / PRAGMA optimize would after a bulk load: plans need statistics.
    store.analyze().await?;
    println!("statistics refreshed ({:.1} s including seeding)", before.elapsed().as_secs_f64());
    let token = bench_token(&store, root).await?;

    let state = parc_web::AppState::new(store.clone(), parc_web::WebConfig::default()).await?;
    let app = parc_web::router(state);
    let session = bench_session(&store).await?;

    let e0 = entity_ids[3].0;
    let scenarios: Vec<(&str, UrlFor)> = vec![
        ("list: first page", Box::new(|_| "/api/v1/assets?per_page=50".to_owned())),
        (
            "list: filtered (kind+status+entity)",
            Box::new(move |_| format!("/api/v1/assets?kind=computer&status=in_use&entity_id={e0}")),
        ),
        (
            "list: sorted (updated_at desc), page 3",
            Box::new(|_| "/api/v1/assets?sort=updated_at&desc=1&page=3".to_owned()),
        ),
        ("list: free text", Box::new(|i| format!("/api/v1/assets?q=salle-{}", 100 + i % 50))),
        ("list: HTML page", Box::new(|_| "/assets".to_owned())),
        ("search: asset tag", Box::new(move |i| format!("/api/v1/search?q=GPI-{:07}", (i * 7919) % count.max(1)))),
        ("search: IP", Box::new(|i| format!("/api/v1/search?q=192.168.{}.{}", 200 + i % 20, 10 + i % 200))),
        ("search: MAC fragment", Box::new(|i| format!("/api/v1/search?q={:02x}:{:02x}", (i / 256) % 256, i % 256))),
        ("search: serial fragment", Box::new(|i| format!("/api/v1/search?q=SN{:05}", (i * 31) % 99_999))),
        ("search: name fragment", Box::new(|i| format!("/api/v1/search?q=pc-{:04}", (i * 13) % 9_999))),
    ];
    let scenarios: Vec<Scenario> =
        scenarios.into_iter().map(|(name, url)| Scenario { name: name.to_owned(), request: get(url) }).collect();
    measure(&app, &token, &session, &scenarios, iterations).await?;
    if let Some(rss) = rss_mb() {
        println!("process RSS after the run: {rss:.1} MB");
    }
    store.close().await;
    Ok(())
}

/// Sends each scenario's requests through the in-process router (API calls with the bearer
/// `token`, pages with the `session` cookie), after 5 warm-up requests, and prints p50/p99/max.
/// Any non-2xx answer stops the bench.
pub(crate) async fn measure(
    app: &axum::Router,
    token: &str,
    session: &str,
    scenarios: &[Scenario],
    iterations: usize,
) -> Result<()> {
    println!("{:<42} {:>9} {:>9} {:>9}", "scenario", "p50 ms", "p99 ms", "max ms");
    for s in scenarios {
        let mut times = Vec::with_capacity(iterations);
        for i in 0..iterations + 5 {
            let (method, uri, body) = (s.request)(i);
            let mut req = Request::builder().method(method).uri(&uri);
            if uri.starts_with("/api/") {
                req = req.header("authorization", format!("Bearer {token}"));
            } else {
                req = req.header("cookie", format!("parc_session={session}"));
            }
            let req = match body {
                Some(json) => req.header("content-type", "application/json").body(Body::from(json))?,
                None => req.body(Body::empty())?,
            };
            let start = Instant::now();
            let resp = app.clone().oneshot(req).await?;
            let status = resp.status();
            let bytes = resp.into_body().collect().await?.to_bytes();
            let took = start.elapsed();
            anyhow::ensure!(status.is_success(), "{uri}: HTTP {status}: {}", String::from_utf8_lossy(&bytes));
            if i >= 5 {
                times.push(took); // the first requests warm the caches
            }
        }
        times.sort();
        let p = |q: f64| ms(times[((times.len() as f64 * q).ceil() as usize).saturating_sub(1).min(times.len() - 1)]);
        println!(
            "{:<42} {:>9.2} {:>9.2} {:>9.2}",
            s.name,
            p(0.50),
            p(0.99),
            ms(*times.last().unwrap_or(&Duration::ZERO))
        );
    }
    Ok(())
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

pub(crate) fn rss_mb() -> Option<f64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let kb: f64 = s.lines().find(|l| l.starts_with("VmRSS:"))?.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

pub(crate) async fn ensure_entities(store: &parc_store::Store) -> Result<(EntityId, Vec<EntityId>)> {
    let mut tx = store.write().await?;
    let all = entities::list_all(&mut tx).await?;
    let actor = Actor::system("bench");
    let root = match all.iter().find(|e| e.name == "Bench" && e.parent_id.is_none()) {
        Some(e) => e.id,
        None => {
            entities::create(
                &mut tx,
                &actor,
                &EntityInput { name: Some("Bench".into()), parent_id: None, comment: None },
            )
            .await?
            .id
        }
    };
    let mut ids = Vec::new();
    for i in 0..SCHOOLS {
        let name = format!("Collège bench {i:02}");
        let id = match all.iter().find(|e| e.name == name && e.parent_id == Some(root)) {
            Some(e) => e.id,
            None => {
                entities::create(
                    &mut tx,
                    &actor,
                    &EntityInput { name: Some(name), parent_id: Some(root.0), comment: None },
                )
                .await?
                .id
            }
        };
        ids.push(id);
    }
    tx.commit().await?;
    Ok((root, ids))
}

/// Adds assets until the bench entities hold `count`, in transactions of 5000.
pub(crate) async fn seed(store: &parc_store::Store, entity_ids: &[EntityId], count: usize) -> Result<usize> {
    let mut c = store.read().await?;
    let scope =
        parc_core::permissions::Scope { full: entity_ids.iter().copied().collect(), own_only: Default::default() };
    let have: i64 = assets::counts(&mut c, &scope, parc_core::UserId(0)).await?.iter().map(|x| x.2).sum();
    drop(c);
    let mut n = have as usize;
    if n >= count {
        return Ok(n);
    }
    let kinds = [
        "computer",
        "computer",
        "computer",
        "monitor",
        "printer",
        "desk_phone",
        "network_equipment",
        "server",
        "projector",
        "peripheral",
    ];
    let statuses = ["in_use", "in_use", "in_use", "in_stock", "in_repair", "loaned", "retired"];
    let makers = [
        ("Dell", "OptiPlex 7010"),
        ("HP", "ProDesk 400 G7"),
        ("Lenovo", "ThinkCentre M70q"),
        ("Dell", "Latitude 5440"),
    ];
    let actor = Actor::system("bench");
    let started = Instant::now();
    while n < count {
        let mut tx = store.write().await?;
        let end = (n + 5000).min(count);
        for i in n..end {
            let kind = kinds[i % kinds.len()];
            let with_net = matches!(kind, "computer" | "printer" | "desk_phone" | "network_equipment" | "server");
            let (maker, model) = makers[i % makers.len()];
            let entity = entity_ids[i % entity_ids.len()];
            let input = AssetInput {
                kind: Some(kind.into()),
                entity_id: Some(entity.0),
                name: Some(format!("PC-{:04}-SALLE-{}", i % 10_000, 100 + i % 50)),
                asset_tag: Some(format!("GPI-{i:07}")),
                serial: Some(format!("SN{:05}X{i}", (i * 31) % 99_999)),
                manufacturer: Some(maker.into()),
                model: Some(model.into()),
                status: Some(statuses[i % statuses.len()].into()),
                ip: with_net.then(|| format!("192.168.{}.{}", 200 + (i / 250) % 20, 10 + i % 240)),
                mac: with_net.then(|| {
                    format!(
                        "02:00:{:02x}:{:02x}:{:02x}:{:02x}",
                        (i >> 24) & 255,
                        (i >> 16) & 255,
                        (i >> 8) & 255,
                        i & 255
                    )
                }),
                purchase_date: Some(format!("20{:02}-0{}-1{}", 17 + i % 8, 1 + i % 9, i % 10)),
                ..Default::default()
            };
            let draft = input.validate(None).map_err(|e| anyhow::anyhow!("bench asset {i}: {e}"))?;
            assets::create(&mut tx, &actor, store.cipher(), &draft).await?;
        }
        tx.commit().await?;
        n = end;
        eprint!(
            "\rseeding: {n}/{count} ({:.0} assets/s)",
            (n - have as usize) as f64 / started.elapsed().as_secs_f64()
        );
    }
    eprintln!();
    Ok(n)
}

/// A one-hour session of the bench user (made by [`bench_token`]) for HTML pages.
pub(crate) async fn bench_session(store: &parc_store::Store) -> Result<String> {
    let mut tx = store.write().await?;
    let (u, _) = users::by_login(&mut tx, "bench").await?.context("bench user")?;
    let (s, _) = users::create_session(&mut tx, u.id, chrono::Duration::hours(1)).await?;
    tx.commit().await?;
    Ok(s)
}

pub(crate) async fn bench_token(store: &parc_store::Store, root: EntityId) -> Result<String> {
    let mut tx = store.write().await?;
    let actor = Actor::system("bench");
    let user = match users::by_login(&mut tx, "bench").await? {
        Some((u, _)) => u,
        None => {
            let u = users::create(
                &mut tx,
                &actor,
                &UserInput { login: Some("bench".into()), entity_id: Some(root.0), ..Default::default() },
                None,
            )
            .await?;
            users::set_grants(
                &mut tx,
                &actor,
                u.id,
                &[Grant { entity_id: root, profile: Profile::Technician, recursive: true }],
            )
            .await?;
            u
        }
    };
    let (_t, token) = users::create_token(&mut tx, &actor, user.id, "bench").await?;
    tx.commit().await?;
    Ok(token)
}
