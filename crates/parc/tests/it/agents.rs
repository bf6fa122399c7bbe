//! End to end with the real, unmodified agents from Debian's packages: ocsinventory-agent 2.10
//! and fusioninventory-agent 2.6 talk to a running Parc; the native `parc agent` speaks the GLPI
//! agent JSON protocol. Everything is checked through the API, on both backends.

use crate::app::{get_json, TestApp};
use parc_core::permissions::Profile;
use parc_store::inventory::{self, EntityRuleKind};
use parc_store::testing::TestDb;
use parc_store::Actor;
use serde_json::Value;
use std::path::Path;
use std::process::Stdio;

/// Whether a Debian agent can run here. Missing under CI is a failure (.ci/run installs and
/// configures them); elsewhere the test says loudly that it skips.
fn agent_ready(bin: &str) -> bool {
    let found = std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).any(|d| d.join(bin).is_file());
    let mut why = (!found).then(|| format!("{bin} is not installed (apt-get install -y {bin})"));
    if found && bin == "ocsinventory-agent" {
        // The Debian package's default configuration (debconf method "local") forces local mode.
        let cfg = std::fs::read_to_string("/etc/ocsinventory/ocsinventory-agent.cfg").unwrap_or_default();
        if cfg.lines().any(|l| l.trim_start().starts_with("local")) {
            why = Some(
                "/etc/ocsinventory/ocsinventory-agent.cfg says local=: configure the package for a server \
                 (debconf ocsinventory-agent/method http, as .ci/run does)"
                    .into(),
            );
        }
    }
    match why {
        None => true,
        Some(w) if std::env::var_os("CI").is_some() => panic!("{w}"),
        Some(w) => {
            eprintln!("\n*** SKIPPED: real agent test: {w} ***\n");
            false
        }
    }
}

async fn run(cmd: &mut tokio::process::Command, what: &str) -> String {
    let out = cmd.stdin(Stdio::null()).output().await.unwrap_or_else(|e| panic!("{what}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed ({}):\n{text}", out.status);
    text
}

async fn machines(http: &reqwest::Client, app: &TestApp, auth: &str) -> Vec<Value> {
    let list = get_json(http, &app.url("/api/v1/assets?kind=computer&per_page=100"), auth).await;
    let mut items = list["items"].as_array().cloned().unwrap_or_default();
    let servers = get_json(http, &app.url("/api/v1/assets?kind=server&per_page=100"), auth).await;
    items.extend(servers["items"].as_array().cloned().unwrap_or_default());
    items
}

fn ocs_agent(app: &TestApp, dir: &Path, tag: &str) -> tokio::process::Command {
    let mut c = tokio::process::Command::new("ocsinventory-agent");
    c.arg(format!("--server={}", app.url("/ocsinventory")))
        .arg(format!("--basevardir={}", dir.join("ocs").display()))
        .arg(format!("--logfile={}", dir.join("ocs.log").display()))
        .arg(format!("--tag={tag}"))
        .arg("--debug");
    c
}

#[tokio::test]
async fn real_agents_fill_a_computer_page() {
    if !agent_ready("ocsinventory-agent") || !agent_ready("fusioninventory-agent") {
        return;
    }
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        real_agents(db).await;
    }
}

async fn real_agents(db: TestDb) {
    let app = TestApp::start(db).await;
    let root = app.entity("Département", None).await;
    let college = app.entity("Collège Jean Moulin", Some(root)).await;
    let (_, token) = app.user("admin", root, &[(root, Profile::SuperAdmin, true)]).await;
    let auth = format!("Bearer {token}");
    {
        let mut tx = app.db.store.write().await.unwrap();
        inventory::add_entity_rule(&mut tx, &Actor::system("test"), EntityRuleKind::Tag, "COLLEGE-JM", college)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let http = reqwest::Client::new();
    let dir = tempfile::tempdir().unwrap();

    // 1. OCS Inventory agent: PROLOG, then the zlib-compressed INVENTORY; the agent succeeds.
    run(&mut ocs_agent(&app, dir.path(), "COLLEGE-JM"), "ocsinventory-agent").await;
    let log = std::fs::read_to_string(dir.path().join("ocs.log")).unwrap();
    assert!(log.contains("<RESPONSE>SEND</RESPONSE>"), "the PROLOG answer asks for the inventory:\n{log}");
    assert!(log.contains("NO_ACCOUNT_UPDATE"), "the inventory was acknowledged:\n{log}");
    for bad in ["[error]", "Cannot establish communication", "Failed to uncompress"] {
        assert!(!log.contains(bad), "the agent complained ({bad}):\n{log}");
    }
    let list = machines(&http, &app, &auth).await;
    assert_eq!(list.len(), 1, "one computer: {list:?}");
    let pc = &list[0];
    let id = pc["id"].as_i64().unwrap();
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname").unwrap_or_default();
    assert_eq!(pc["name"].as_str().unwrap().to_lowercase(), hostname.trim().to_lowercase());
    assert_eq!(pc["entity_id"].as_i64(), Some(college.0), "the TAG rule placed it");
    let inv = get_json(&http, &app.url(&format!("/api/v1/assets/{id}/inventory")), &auth).await;
    let software = inv["software"].as_array().expect("software list");
    assert!(software.len() > 50, "a Debian machine has many packages: {}", software.len());
    assert!(software.iter().any(|s| s["name"] == "perl"), "perl is installed, the agent needs it");
    let networks = inv["networks"].as_array().unwrap();
    assert!(networks.iter().any(|n| n["mac"].as_str().is_some_and(|m| m.len() == 17)), "{networks:?}");
    assert!(inv["os_name"].as_str().is_some_and(|o| !o.is_empty()));
    assert!(inv["memory_mb"].as_i64().unwrap_or(0) > 0);
    assert!(!inv["cpus"].as_array().unwrap().is_empty());
    let catalogue = get_json(&http, &app.url("/api/v1/software?q=perl"), &auth).await;
    assert!(catalogue["total"].as_i64().unwrap() >= 1);

    // 2. FusionInventory agent on the same machine, with a monitor declared through its own
    //    --additional-content option (a headless machine has no EDID to read).
    let extra = dir.path().join("extra.xml");
    std::fs::write(
        &extra,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><REQUEST><CONTENT><MONITORS><CAPTION>P2419H</CAPTION>\
         <MANUFACTURER>Dell Inc.</MANUFACTURER><SERIAL>CN0ABC12345</SERIAL><DESCRIPTION>Dell P2419H</DESCRIPTION>\
         </MONITORS></CONTENT></REQUEST>",
    )
    .unwrap();
    let out = run(
        tokio::process::Command::new("fusioninventory-agent")
            .arg(format!("--server={}", app.url("/plugins/fusioninventory/")))
            .args(["--tasks=inventory", "--force", "--logger=stderr", "--debug"])
            .arg(format!("--additional-content={}", extra.display())),
        "fusioninventory-agent",
    )
    .await;
    for bad in ["[error]", "communication error", "No answer from", "Unexpected"] {
        assert!(!out.contains(bad), "fusioninventory-agent complained ({bad}):\n{out}");
    }
    let list = machines(&http, &app, &auth).await;
    assert_eq!(list.len(), 1, "the second agent updated the same computer: {list:?}");
    let links = get_json(&http, &app.url(&format!("/api/v1/assets/{id}/links")), &auth).await;
    let links = links.as_array().cloned().unwrap_or_else(|| links["items"].as_array().cloned().unwrap_or_default());
    assert!(
        links.iter().any(|l| l["from_kind"] == "monitor" && l["from_name"].as_str().unwrap_or("").contains("Dell")),
        "the monitor became a linked asset: {links:?}"
    );
    let monitors = get_json(&http, &app.url("/api/v1/assets?kind=monitor"), &auth).await;
    assert_eq!(monitors["items"][0]["serial"], "CN0ABC12345");

    // 3. A second OCS run updates, never duplicates; the history holds one entry per inventory.
    let history_before = get_json(&http, &app.url(&format!("/api/v1/assets/{id}/history")), &auth).await;
    run(&mut ocs_agent(&app, dir.path(), "COLLEGE-JM"), "ocsinventory-agent (again)").await;
    let list = machines(&http, &app, &auth).await;
    assert_eq!(list.len(), 1);
    let history = get_json(&http, &app.url(&format!("/api/v1/assets/{id}/history")), &auth).await;
    let count = |h: &Value| h.as_array().map(Vec::len).unwrap_or_else(|| h["items"].as_array().map_or(0, Vec::len));
    assert!(count(&history) <= count(&history_before) + 1, "at most one grouped entry per inventory");

    // 4. The native agent speaks the GLPI JSON protocol to /front/inventory.php.
    let state = dir.path().join("parc-agent");
    run(
        tokio::process::Command::new(env!("CARGO_BIN_EXE_parc"))
            .args(["agent", "--server", &app.base, "--tag", "COLLEGE-JM", "--state-dir"])
            .arg(&state),
        "parc agent",
    )
    .await;
    let list = machines(&http, &app, &auth).await;
    assert_eq!(list.len(), 1, "the native agent found the same machine: {list:?}");
    let imports = get_json(&http, &app.url(&format!("/api/v1/assets/{id}/inventory")), &auth).await;
    assert!(imports["agent"].as_str().is_some_and(|a| a.contains("parc-agent")), "{:?}", imports["agent"]);
}
