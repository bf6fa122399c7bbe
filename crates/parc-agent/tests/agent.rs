//! The agent on this machine: what it collects, that Parc's own parser understands it, and how it sends it.
use std::process::Command;
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::IntoResponse;
use axum::routing::post;
use parc_agent::{collect, send, CollectOptions};
use parc_inventory::{AgentMessage, Inventory};
use serde_json::Value;

fn options(dir: &std::path::Path, tag: Option<&str>) -> CollectOptions {
    CollectOptions { tag: tag.map(str::to_owned), state_dir: dir.to_path_buf() }
}

fn command_output(cmd: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(cmd).args(args).output().ok().filter(|o| o.status.success())?;
    Some(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn parsed(doc: &Value) -> Inventory {
    match parc_inventory::parse_glpi_json(&serde_json::to_vec(doc).unwrap()).unwrap() {
        AgentMessage::Inventory(inv) => *inv,
        other => panic!("expected an inventory, got {other:?}"),
    }
}

#[test]
fn collects_this_machine() {
    let dir = tempfile::tempdir().unwrap();
    let doc = collect(&options(dir.path(), Some("site-a"))).unwrap();
    assert_eq!(doc["action"], "inventory");
    assert_eq!(doc["itemtype"], "Computer");
    assert_eq!(doc["tag"], "site-a");
    let c = &doc["content"];
    assert_eq!(c["versionclient"], format!("parc-agent/{}", parc_agent::VERSION));

    let name = c["hardware"]["name"].as_str().expect("hardware.name");
    assert!(!name.is_empty() && !name.contains('.'), "{name}");
    if let Some(expected) = command_output("hostname", &[]) {
        assert_eq!(name, expected.trim().split('.').next().unwrap(), "short host name");
    }
    assert!(doc["deviceid"].as_str().unwrap().starts_with(&format!("{name}-")));
    assert_eq!(c["operatingsystem"]["hostname"], name);

    let os_name = c["operatingsystem"]["name"].as_str().expect("operatingsystem.name");
    assert!(!os_name.is_empty());
    assert!(c["operatingsystem"]["kernel_version"].as_str().is_some_and(|k| !k.is_empty()));
    if let Ok(os_release) = std::fs::read_to_string("/etc/os-release") {
        let name_line = os_release.lines().find_map(|l| l.strip_prefix("NAME=")).unwrap().trim_matches('"');
        assert_eq!(os_name, name_line);
        let pretty = os_release.lines().find_map(|l| l.strip_prefix("PRETTY_NAME=")).unwrap().trim_matches('"');
        assert_eq!(c["operatingsystem"]["full_name"], pretty);
    }

    let cpus = c["cpus"].as_array().expect("cpus");
    assert!(!cpus.is_empty());
    assert!(cpus[0]["name"].as_str().is_some_and(|n| !n.is_empty()), "{:?}", cpus[0]);
    assert!(cpus[0]["core"].as_u64().unwrap() >= 1);
    assert!(cpus[0]["thread"].as_u64().unwrap() >= 1);

    let memory = c["hardware"]["memory"].as_u64().expect("hardware.memory");
    assert!(memory > 0);
    if let Ok(meminfo) = std::fs::read_to_string("/proc/meminfo") {
        let kb: u64 = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|v| v.parse().ok())
            .unwrap();
        assert_eq!(memory, kb / 1024, "MemTotal in MiB");
    }

    let networks = c["networks"].as_array().expect("networks");
    let with_mac: Vec<&Value> = networks.iter().filter(|n| n["mac"].as_str().is_some()).collect();
    assert!(!with_mac.is_empty(), "no network card with a MAC: {networks:#?}");
    for n in networks {
        assert!(n["description"].is_string() && n["virtualdev"].is_boolean(), "{n}");
        assert!(matches!(n["status"].as_str(), Some("up" | "down")), "{n}");
        if n["description"] == "lo" {
            assert_eq!(n["virtualdev"], true);
            assert_eq!(n["type"], "loopback");
            assert!(n.get("mac").is_none(), "loopback's all-zero MAC is not sent");
        }
        if let Some(ip) = n["ipaddress"].as_str() {
            assert!(ip.parse::<std::net::Ipv4Addr>().is_ok(), "{ip}");
            assert!(n["ipmask"].as_str().is_some() && n["ipsubnet"].as_str().is_some(), "{n}");
        }
    }
    if std::path::Path::new("/sys/class/net/lo").exists() {
        let lo = networks.iter().find(|n| n["description"] == "lo").expect("lo listed");
        if lo["ipaddress"].is_string() {
            assert!(networks.iter().any(|n| n["description"] == "lo"
                && n["ipaddress"] == "127.0.0.1"
                && n["ipmask"] == "255.0.0.0"
                && n["ipsubnet"] == "127.0.0.0"));
        }
    }

    if cfg!(target_os = "linux") {
        let drives = c["drives"].as_array().expect("drives");
        let root = drives.iter().find(|d| d["type"] == "/").expect("the root file system");
        assert!(root["total"].as_u64().unwrap() > 0 && root["filesystem"].is_string(), "{root}");
    }

    if std::path::Path::new("/var/lib/dpkg/status").exists() {
        let sw = c["softwares"].as_array().expect("softwares");
        let versioned = sw.iter().filter(|s| s["version"].as_str().is_some_and(|v| !v.is_empty())).count();
        assert!(versioned > 50, "only {versioned} packages with a version");
        // The same count as dpkg's own view of installed packages (want install/hold, state installed).
        if let Some(out) = command_output("dpkg-query", &["-W", "-f", "${db:Status-Abbrev}\n"]) {
            let installed = out.lines().filter(|l| matches!(l.as_bytes(), [b'i' | b'h', b'i', ..])).count();
            let debs = sw.iter().filter(|s| s["from"] == "deb").count();
            assert_eq!(debs, installed);
        }
        let dpkg = sw.iter().find(|s| s["name"] == "dpkg").expect("dpkg itself is installed");
        assert!(dpkg["publisher"].as_str().is_some_and(|p| !p.contains('<')), "{dpkg}");
        assert!(dpkg["install_date"].as_str().is_some_and(|d| d.len() == 10), "{dpkg}");
    }

    for u in c["users"].as_array().expect("users") {
        assert!(u["login"].as_str().is_some_and(|l| !l.is_empty()));
    }
}

#[test]
fn deviceid_is_stable_and_tag_optional() {
    let dir = tempfile::tempdir().unwrap();
    let first = collect(&options(dir.path(), None)).unwrap();
    let second = collect(&options(dir.path(), None)).unwrap();
    assert_eq!(first["deviceid"], second["deviceid"]);
    assert!(first.get("tag").is_none());
    let other = tempfile::tempdir().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let elsewhere = collect(&options(other.path(), None)).unwrap();
    assert_ne!(first["deviceid"], elsewhere["deviceid"], "a fresh state dir gets a fresh deviceid");
}

#[test]
fn parc_parser_reads_what_the_agent_sends() {
    let dir = tempfile::tempdir().unwrap();
    let doc = collect(&options(dir.path(), Some("site-b"))).unwrap();
    let inv = parsed(&doc);
    let c = &doc["content"];
    assert_eq!(inv.device_id, doc["deviceid"].as_str().unwrap());
    assert_eq!(inv.tag.as_deref(), Some("site-b"));
    assert_eq!(inv.name.as_deref(), c["hardware"]["name"].as_str());
    assert!(inv.os_name.as_deref().is_some_and(|n| !n.is_empty()));
    assert_eq!(inv.os_version.as_deref(), c["operatingsystem"]["version"].as_str());
    assert_eq!(inv.os_arch.as_deref(), c["operatingsystem"]["arch"].as_str());
    assert!(!inv.cpus.is_empty());
    assert!(inv.cpus[0].name.is_some() && inv.cpus[0].cores.is_some() && inv.cpus[0].threads.is_some());
    assert!(inv.memory_mb.is_some_and(|m| m > 0));
    assert!(inv.networks.iter().any(|n| n.mac.is_some()), "{:?}", inv.networks);
    // One card per interface after the parser merges the per-address entries.
    let interfaces: std::collections::BTreeSet<&str> =
        c["networks"].as_array().unwrap().iter().filter_map(|n| n["description"].as_str()).collect();
    assert_eq!(inv.networks.len(), interfaces.len());
    let sent_ips = c["networks"].as_array().unwrap().iter().filter(|n| n["ipaddress"].is_string()).count();
    assert!(inv.networks.iter().map(|n| n.ips.len()).sum::<usize>() >= sent_ips);
    assert_eq!(inv.volumes.len(), c["drives"].as_array().unwrap().len());
    if cfg!(target_os = "linux") {
        assert!(inv.volumes.iter().any(|v| v.mount.as_deref() == Some("/")), "{:?}", inv.volumes);
    }
    assert_eq!(inv.software.len(), c["softwares"].as_array().unwrap().len());
    if std::path::Path::new("/var/lib/dpkg/status").exists() {
        assert!(inv.software.len() > 50);
        assert!(inv.software.iter().filter(|s| s.version.is_some()).count() > 50);
        assert!(inv.software.iter().any(|s| s.publisher.is_some() && s.install_date.is_some()));
    }
    assert_eq!(inv.agent_version, Some(format!("parc-agent/{}", parc_agent::VERSION)));
    assert_eq!(inv.disks.len(), c.get("storages").and_then(Value::as_array).map_or(0, Vec::len));
}

/// What the mock server saw.
#[derive(Default)]
struct Seen {
    messages: Vec<(String, String, AgentMessage)>,
}

type Shared = Arc<Mutex<Seen>>;

/// A stand-in for Parc's `/front/inventory.php`, decoding with parc-inventory and answering as GLPI does;
/// a tag `refuse` gets an error.
async fn endpoint(State(seen): State<Shared>, headers: HeaderMap, body: Bytes) -> impl IntoResponse {
    let header = |n: &str| headers.get(n).and_then(|v| v.to_str().ok()).unwrap_or("").to_owned();
    let decoded = parc_inventory::decode_body(&body, 64 << 20).unwrap();
    let msg = parc_inventory::parse_message(&decoded).unwrap();
    let refuse = matches!(&msg, AgentMessage::Contact { tag: Some(t), .. } if t == "refuse");
    let reply = match &msg {
        AgentMessage::Contact { enabled_tasks, .. } => parc_inventory::glpi_contact_reply(24, enabled_tasks),
        _ => parc_inventory::glpi_inventory_reply(24),
    };
    seen.lock().unwrap().messages.push((header("content-type"), header("user-agent"), msg));
    if refuse {
        return (StatusCode::FORBIDDEN, parc_inventory::glpi_error_reply("tag refuse is not accepted here", 24));
    }
    (StatusCode::OK, reply)
}

async fn mock_server() -> (String, Shared) {
    let seen: Shared = Arc::default();
    let app = axum::Router::new().route("/front/inventory.php", post(endpoint)).with_state(seen.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    (format!("http://{addr}"), seen)
}

#[tokio::test]
async fn sends_contact_then_compressed_inventory() {
    let dir = tempfile::tempdir().unwrap();
    let doc = collect(&options(dir.path(), Some("site-c"))).unwrap();
    let (server, seen) = mock_server().await;
    let report = send(&format!("{server}/"), &doc, None).await.unwrap();
    assert_eq!(report.url, format!("{server}/front/inventory.php"));
    assert_eq!(report.expiration_hours, Some(24));
    assert_eq!(report.contact_reply["status"], "ok");
    assert_eq!(report.inventory_reply["status"], "ok");
    assert!(report.inventory_bytes > 0);

    let seen = seen.lock().unwrap();
    assert_eq!(seen.messages.len(), 2);
    let (ct, ua, contact) = &seen.messages[0];
    assert_eq!(ct, "application/json");
    assert_eq!(ua, &format!("parc-agent/{}", parc_agent::VERSION));
    match contact {
        AgentMessage::Contact { device_id, tag, agent_name, agent_version, enabled_tasks } => {
            assert_eq!(device_id, doc["deviceid"].as_str().unwrap());
            assert_eq!(tag.as_deref(), Some("site-c"));
            assert_eq!(agent_name.as_deref(), Some("parc-agent"));
            assert_eq!(agent_version.as_deref(), Some(parc_agent::VERSION));
            assert_eq!(enabled_tasks, &["inventory".to_owned()]);
        }
        other => panic!("first message should be a contact: {other:?}"),
    }
    let (ct, _, inventory) = &seen.messages[1];
    assert_eq!(ct, "application/x-compress-zlib");
    match inventory {
        AgentMessage::Inventory(inv) => {
            assert_eq!(inv.device_id, doc["deviceid"].as_str().unwrap());
            assert_eq!(inv.name.as_deref(), doc["content"]["hardware"]["name"].as_str());
            assert_eq!(inv.tag.as_deref(), Some("site-c"));
        }
        other => panic!("second message should be the inventory: {other:?}"),
    }
}

#[tokio::test]
async fn server_errors_are_reported_with_their_message() {
    let dir = tempfile::tempdir().unwrap();
    let doc = collect(&options(dir.path(), None)).unwrap();
    let (server, seen) = mock_server().await;
    let err = send(&server, &doc, Some("refuse")).await.unwrap_err().to_string();
    assert!(err.contains("tag refuse is not accepted here"), "{err}");
    assert!(err.contains("403"), "{err}");
    assert_eq!(seen.lock().unwrap().messages.len(), 1, "no inventory after a refused contact");

    // Wrong path: axum's plain 404 has no JSON, the error says what came back.
    let err = send(&format!("{server}/nowhere"), &doc, None).await.unwrap_err().to_string();
    assert!(err.contains("404"), "{err}");

    // Nothing listening.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let closed = format!("http://{}", listener.local_addr().unwrap());
    drop(listener);
    let err = send(&closed, &doc, None).await.unwrap_err();
    assert!(format!("{err:#}").contains("sending the contact"), "{err:#}");
}
