//! Two real `parc serve` processes on one PostgreSQL database share 1000 checks: in one cycle
//! every check runs exactly once, on one node or the other, never on both (the scheduler's
//! leases). Each check is a shell command line that appends its service name and the node's
//! process id to a file, so the file is the record of who ran what.

use parc_store::monitoring::bulk;
use parc_store::testing::TestDb;
use parc_store::Cipher;
use std::collections::HashMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const BIN: &str = env!("CARGO_BIN_EXE_parc");
const CHECKS: usize = 1000;

struct Node(Child);

impl Node {
    fn start(dir: &std::path::Path, url: &str, key: &str) -> Node {
        let mut child = Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(dir)
            .args(["--database-url", url])
            .env("PARC_SECRET_KEY", key)
            .env("PARC_ADMIN_PASSWORD", "not-used-here-1234")
            .env_remove("PARC_DATABASE_URL")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(dir.join("serve.log")).unwrap())
            .spawn()
            .expect("start parc serve");
        let stdout = child.stdout.take().unwrap();
        let started =
            BufReader::new(stdout).lines().map_while(Result::ok).any(|l| l.starts_with("Parc is running at "));
        assert!(
            started,
            "parc serve did not start: {}",
            std::fs::read_to_string(dir.join("serve.log")).unwrap_or_default()
        );
        Node(child)
    }

    /// Ctrl-C, as an administrator stops it: checks in flight finish and are recorded.
    fn stop(mut self) {
        let _ = Command::new("kill").args(["-INT", &self.0.id().to_string()]).status();
        let _ = self.0.wait();
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[tokio::test]
async fn two_nodes_on_one_postgresql_run_each_check_once() {
    // TestDb prints a loud SKIPPED notice when no PostgreSQL answers.
    let Some(db) = TestDb::postgres().await else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("runs.log");
    std::fs::write(&log, "").unwrap();
    let store = db.store.clone();
    let root = {
        let mut tx = store.write().await.unwrap();
        let e = parc_store::entities::create(
            &mut tx,
            &parc_store::Actor::system("test"),
            &parc_store::entities::EntityInput { name: Some("Département".into()), parent_id: None, comment: None },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        e.id
    };
    // Every check appends "<service> <node pid>" (the shell's parent is the Parc node).
    let check = serde_json::from_value(serde_json::json!({
        "type": "plugin",
        "command": format!("echo $SERVICEDESC$ $$PPID >> {}", log.display()),
    }))
    .unwrap();
    let start = chrono::Utc::now().timestamp_millis() + 5000;
    {
        let mut tx = store.write().await.unwrap();
        bulk::seed(&mut tx, store.backend(), root, 50, CHECKS, &check, "127.0.0.1", 60, start).await.unwrap();
        // All due within ten seconds, next run a minute later: one cycle in the window.
        sqlx::query("UPDATE monitor_services SET next_check_ms = $1 + (id % 1000) * 10 WHERE is_host = 0")
            .bind(start)
            .execute(&mut *tx)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let key = Cipher::key_to_text(&Cipher::generate_key());
    let (d1, d2) = (dir.path().join("node1"), dir.path().join("node2"));
    std::fs::create_dir_all(&d1).unwrap();
    std::fs::create_dir_all(&d2).unwrap();
    let n1 = Node::start(&d1, &db.url, &key);
    let n2 = Node::start(&d2, &db.url, &key);
    let (p1, p2) = (n1.0.id().to_string(), n2.0.id().to_string());
    // The cycle: due from start to start + 10 s; stop well before the next one (start + 60 s).
    let until = start + 22_000 - chrono::Utc::now().timestamp_millis();
    tokio::time::sleep(Duration::from_millis(until.max(0) as u64)).await;
    n1.stop();
    n2.stop();

    let text = std::fs::read_to_string(&log).unwrap();
    let mut runs: HashMap<String, Vec<String>> = HashMap::new();
    for line in text.lines() {
        let (svc, pid) = line.split_once(' ').unwrap_or((line, ""));
        runs.entry(svc.to_owned()).or_default().push(pid.to_owned());
    }
    let twice: Vec<_> = runs.iter().filter(|(_, pids)| pids.len() > 1).collect();
    assert!(twice.is_empty(), "checks run more than once in a cycle: {twice:?}");
    assert_eq!(runs.len(), CHECKS, "every check ran once");
    let by_node = |p: &str| runs.values().filter(|pids| pids[0] == p).count();
    let (c1, c2) = (by_node(&p1), by_node(&p2));
    eprintln!("node 1 ran {c1} checks, node 2 ran {c2}");
    assert_eq!(c1 + c2, CHECKS, "every run came from one of the two nodes");
    assert!(c1 > 0 && c2 > 0, "both nodes took a share: {c1} / {c2}");
    let recorded = {
        let mut c = store.read().await.unwrap();
        parc_store::monitoring::status::count_checks(&mut c, true).await.unwrap()
    };
    assert_eq!(recorded, CHECKS as i64, "every result was recorded");
}

/// `parc poller` (the real binary) runs the checks of the host assigned to it against a live
/// server and pushes the results; the central server never runs them itself, and a poller with
/// a wrong token is refused at start.
// Two worker threads: the test waits for the poller processes while the in-process server
// answers them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_poller_runs_its_site_checks() {
    use crate::app::TestApp;
    use parc_core::permissions::Profile;
    let app = TestApp::sqlite().await;
    let root = app.entity("Collège Jean Moulin", None).await;
    let (_, token) = app.user("tech", root, &[(root, Profile::Technician, true)]).await;
    let http = reqwest::Client::new();
    let call = |method: reqwest::Method, path: &str, body: serde_json::Value| {
        http.request(method, app.url(&format!("/api/v1{path}"))).bearer_auth(&token).json(&body).send()
    };
    let r =
        call(reqwest::Method::POST, "/monitoring/pollers", serde_json::json!({"entity_id": root.0, "name": "Collège"}))
            .await
            .unwrap();
    assert_eq!(r.status(), 201);
    let created: serde_json::Value = r.json().await.unwrap();
    let poller_token = created["token"].as_str().unwrap().to_owned();
    let poller_id = created["poller"]["id"].as_i64().unwrap();
    let r = call(
        reqwest::Method::POST,
        "/monitoring/hosts",
        serde_json::json!({"entity_id": root.0, "name": "SRV-PEDAGO", "address": "127.0.0.1", "poller_id": poller_id,
                           "host_check": {"type": "plugin", "command": "$USER1$/check_dummy 0 'en ligne'"}}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    let host: serde_json::Value = r.json().await.unwrap();
    let r = call(
        reqwest::Method::POST,
        &format!("/monitoring/hosts/{}/services", host["id"]),
        serde_json::json!({"name": "Disque", "check": {"type": "plugin", "command": "$USER1$/check_dummy 1 'disque à 91 %'"}}),
    )
    .await
    .unwrap();
    assert_eq!(r.status(), 201);
    {
        let mut tx = app.db.store.write().await.unwrap();
        sqlx::query("UPDATE monitor_services SET next_check_ms = 0").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
    }

    let wrong = Command::new(BIN)
        .args(["poller", "--server", &app.url(""), "--token", "parcpoll_wrong"])
        .output()
        .expect("run parc poller");
    assert!(!wrong.status.success(), "a wrong token is refused");
    assert!(String::from_utf8_lossy(&wrong.stderr).contains("refused"), "{}", String::from_utf8_lossy(&wrong.stderr));

    let poller = Node(
        Command::new(BIN)
            .args(["poller", "--server", &app.url(""), "--token", &poller_token])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start parc poller"),
    );
    let mut states = serde_json::Value::Null;
    for _ in 0..200 {
        let r =
            call(reqwest::Method::GET, &format!("/monitoring/states?host_id={}", host["id"]), serde_json::json!(null))
                .await
                .unwrap();
        states = r.json().await.unwrap();
        let done = states.as_array().unwrap().iter().all(|s| s["last_check_ms"].is_i64());
        if done {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    poller.stop();
    let by_name = |n: &str| states.as_array().unwrap().iter().find(|s| s["name"] == n).cloned().unwrap();
    assert_eq!(by_name("Host")["state"], "UP", "{states}");
    let disk = by_name("Disque");
    assert_eq!(disk["state"], "WARNING", "{states}");
    assert_eq!(disk["output"], "WARNING: disque à 91 %");
    let r = call(reqwest::Method::GET, "/monitoring/pollers", serde_json::json!(null)).await.unwrap();
    let pollers: serde_json::Value = r.json().await.unwrap();
    assert!(pollers[0]["last_seen_at"].is_string(), "{pollers}");
}
