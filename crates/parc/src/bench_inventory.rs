//! `parc bench inventory`: the daily life of an inventory server, over real HTTP on loopback.
//!
//! Phase 1 posts N distinct zlib-compressed OCS XML inventories (S software each, drawn from a
//! shared catalogue, like office PCs) with C requests in flight; phase 2 re-posts each with one
//! software upgraded (the daily re-inventory). Reports inventories/s and p50/p99 latency for both,
//! then checks that every software row is really stored.

use anyhow::{ensure, Context, Result};
use futures::StreamExt;
use parc_store::{inventory, Store};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

/// Distinct products in the shared catalogue the machines draw from.
const CATALOGUE: usize = 1500;

pub async fn run(store: Store, machines: usize, software: usize, concurrency: usize) -> Result<()> {
    ensure!(machines > 0 && software > 0 && concurrency > 0, "--machines, --software and --concurrency must be > 0");
    ensure!(software <= CATALOGUE, "--software must be at most {CATALOGUE}");
    let before = {
        let mut c = store.read().await?;
        inventory::stats(&mut c).await?
    };
    ensure!(before.computers == 0, "bench inventory needs an empty inventory: use a fresh --data-dir or database");
    crate::bench::ensure_entities(&store).await?;

    let state = parc_web::AppState::new(store.clone(), parc_web::WebConfig::default()).await?;
    let app = parc_web::router(state);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = tokio::spawn(async move {
        let _ = axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await;
    });
    let url = format!("http://{addr}/ocsinventory");
    let http = reqwest::Client::builder().pool_max_idle_per_host(concurrency).build()?;

    println!("backend: {}", store.backend().name());
    println!("{machines} machines x {software} software, {concurrency} in flight, POST {url}");
    let first: Vec<Vec<u8>> = (0..machines).map(|m| body(m, software, false)).collect();
    let avg = first.iter().map(Vec::len).sum::<usize>() / machines;
    println!("average compressed body: {:.1} KB", avg as f64 / 1024.0);

    let p1 = post_all(&http, &url, first, concurrency).await?;
    report("phase 1: first inventory", &p1);
    let after1 = {
        let mut c = store.read().await?;
        inventory::stats(&mut c).await?
    };
    ensure!(after1.computers == machines as i64, "{} computers stored, expected {machines}", after1.computers);
    let expected = (machines * software) as i64;
    ensure!(after1.installs == expected, "{} software installations stored, expected {expected}", after1.installs);
    println!(
        "stored: {} computers, {} installations, {} products, {} versions",
        after1.computers, after1.installs, after1.software, after1.versions
    );

    let second: Vec<Vec<u8>> = (0..machines).map(|m| body(m, software, true)).collect();
    let p2 = post_all(&http, &url, second, concurrency).await?;
    report("phase 2: re-inventory, one upgrade each", &p2);
    let after2 = {
        let mut c = store.read().await?;
        inventory::stats(&mut c).await?
    };
    ensure!(after2.computers == machines as i64, "re-inventory created duplicates: {} computers", after2.computers);
    ensure!(after2.installs == expected, "{} installations after re-inventory, expected {expected}", after2.installs);
    let (upgraded,): (i64,) = {
        let mut c = store.read().await?;
        sqlx_count_upgraded(&mut c).await?
    };
    ensure!(upgraded == machines as i64, "{upgraded} machines carry the upgraded version, expected {machines}");
    println!(
        "verified: {} computers, {} installations, every machine carries its upgrade",
        after2.computers, after2.installs
    );
    if let Some(rss) = crate::bench::rss_mb() {
        println!("process RSS after the run: {rss:.1} MB");
    }
    server.abort();
    store.close().await;
    Ok(())
}

async fn sqlx_count_upgraded(c: &mut parc_store::Conn) -> Result<(i64,)> {
    let found = inventory::software_installs_of_version(c, "Bench App 0000", "2.0-upgraded").await?;
    Ok((found,))
}

struct Phase {
    elapsed: Duration,
    latencies: Vec<Duration>,
}

async fn post_all(http: &reqwest::Client, url: &str, bodies: Vec<Vec<u8>>, concurrency: usize) -> Result<Phase> {
    let start = Instant::now();
    let results: Vec<Result<Duration>> = futures::stream::iter(bodies)
        .map(|b| async move {
            let t = Instant::now();
            let resp = http
                .post(url)
                .header("content-type", "application/x-compress")
                .header("user-agent", "OCS-NG_unified_unix_agent_v2.10.0")
                .body(b)
                .send()
                .await?;
            let status = resp.status();
            let reply = resp.bytes().await?;
            ensure!(status.is_success(), "HTTP {status}: {}", String::from_utf8_lossy(&reply));
            let text = parc_inventory::decode_body(&reply, 1 << 20).context("reply")?;
            ensure!(String::from_utf8_lossy(&text).contains("NO_ACCOUNT_UPDATE"), "unexpected reply");
            Ok(t.elapsed())
        })
        .buffer_unordered(concurrency)
        .collect()
        .await;
    let elapsed = start.elapsed();
    let latencies = results.into_iter().collect::<Result<Vec<_>>>()?;
    Ok(Phase { elapsed, latencies })
}

fn report(name: &str, p: &Phase) {
    let mut l = p.latencies.clone();
    l.sort();
    let q = |f: f64| l[((l.len() as f64 * f).ceil() as usize).saturating_sub(1).min(l.len() - 1)].as_secs_f64() * 1e3;
    println!(
        "{name:<42} {:>8.1} inventories/s   p50 {:>6.2} ms   p99 {:>6.2} ms   max {:>7.2} ms",
        l.len() as f64 / p.elapsed.as_secs_f64(),
        q(0.50),
        q(0.99),
        l.last().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
}

/// A typical office PC's OCS inventory, as the Unix agent 2.10 sends it, zlib-compressed.
/// Machine `m` has `software` products from the shared catalogue; `upgraded` bumps one of them.
fn body(m: usize, software: usize, upgraded: bool) -> Vec<u8> {
    let mut x = String::with_capacity(software * 300 + 4000);
    let _ = write!(
        x,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<REQUEST>\n<CONTENT>\n\
         <HARDWARE><NAME>BENCH-PC-{m:05}</NAME><WORKGROUP>mairie.local</WORKGROUP><OSNAME>Debian GNU/Linux 12 (bookworm)</OSNAME>\
         <OSVERSION>6.1.0-28-amd64</OSVERSION><ARCH>x86_64</ARCH><MEMORY>15953</MEMORY><UUID>4c4c4544-{:04x}-3010-8052-{m:012x}</UUID>\
         <USERID>agent{m}</USERID><PROCESSORT>Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz</PROCESSORT></HARDWARE>\n\
         <BIOS><SSN>BENCH{m:07}</SSN><SMANUFACTURER>Dell Inc.</SMANUFACTURER><SMODEL>OptiPlex 7060</SMODEL>\
         <BVERSION>1.22.0</BVERSION><BDATE>03/14/2024</BDATE></BIOS>\n\
         <CPUS><NAME>Intel(R) Core(TM) i5-8500 CPU @ 3.00GHz</NAME><MANUFACTURER>Intel</MANUFACTURER><CORES>6</CORES>\
         <LOGICAL_CPUS>6</LOGICAL_CPUS><SPEED>3000</SPEED></CPUS>\n\
         <MEMORIES><CAPACITY>8192</CAPACITY><NUMSLOTS>1</NUMSLOTS><TYPE>DDR4</TYPE><SPEED>2666</SPEED><SERIALNUMBER>M{m:06}A</SERIALNUMBER></MEMORIES>\n\
         <MEMORIES><CAPACITY>8192</CAPACITY><NUMSLOTS>2</NUMSLOTS><TYPE>DDR4</TYPE><SPEED>2666</SPEED><SERIALNUMBER>M{m:06}B</SERIALNUMBER></MEMORIES>\n\
         <STORAGES><NAME>nvme0n1</NAME><MODEL>PM981 NVMe Samsung 256GB</MODEL><SERIALNUMBER>S4{m:08}</SERIALNUMBER><DISKSIZE>256060</DISKSIZE><TYPE>disk</TYPE></STORAGES>\n\
         <DRIVES><TYPE>/</TYPE><FILESYSTEM>ext4</FILESYSTEM><TOTAL>233718</TOTAL><FREE>{}</FREE><VOLUMN>/dev/nvme0n1p2</VOLUMN></DRIVES>\n\
         <NETWORKS><DESCRIPTION>enp1s0</DESCRIPTION><MACADDR>00:1b:21:{:02x}:{:02x}:{:02x}</MACADDR><IPADDRESS>10.{}.{}.{}</IPADDRESS>\
         <IPMASK>255.255.255.0</IPMASK><IPSUBNET>10.{}.{}.0</IPSUBNET><STATUS>Up</STATUS><VIRTUALDEV>0</VIRTUALDEV></NETWORKS>\n\
         <NETWORKS><DESCRIPTION>lo</DESCRIPTION><IPADDRESS>127.0.0.1</IPADDRESS><VIRTUALDEV>1</VIRTUALDEV></NETWORKS>\n\
         <MONITORS><CAPTION>P2419H</CAPTION><MANUFACTURER>Dell Inc.</MANUFACTURER><SERIAL>CN0BENCH{m:05}</SERIAL></MONITORS>\n",
        m / 65536,
        100_000 + m % 1000,
        (m >> 16) & 0xff,
        (m >> 8) & 0xff,
        m & 0xff,
        m / 60000,
        (m / 250) % 250,
        m % 250 + 2,
        m / 60000,
        (m / 250) % 250,
    );
    for i in 0..software {
        // Product 0 is on every machine (phase 2 upgrades it everywhere); the others are distinct
        // per machine since 13 is prime to CATALOGUE - 1.
        let p = if i == 0 { 0 } else { 1 + (m * 7 + i * 13) % (CATALOGUE - 1) };
        let version =
            if upgraded && p == 0 { "2.0-upgraded".to_owned() } else { format!("{}.{}.{}", p % 7 + 1, p % 11, p % 5) };
        let _ = writeln!(
            x,
            "<SOFTWARES><NAME>Bench App {p:04}</NAME><VERSION>{version}</VERSION><PUBLISHER>Publisher {}</PUBLISHER>\
             <INSTALLDATE>2024/{:02}/{:02}</INSTALLDATE><COMMENTS>Office application number {p}</COMMENTS>\
             <FILESIZE>{}</FILESIZE><FROM>deb</FROM></SOFTWARES>",
            p % 40,
            p % 12 + 1,
            p % 28 + 1,
            p * 1024,
        );
    }
    let _ = write!(
        x,
        "</CONTENT>\n<DEVICEID>BENCH-PC-{m:05}-2024-01-01-00-00-00</DEVICEID>\n<QUERY>INVENTORY</QUERY>\n</REQUEST>\n"
    );
    parc_inventory::zlib_compress(x.as_bytes())
}
