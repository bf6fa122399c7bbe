//! The inventory as people and API clients see it: OCS inventories built here are posted
//! zlib-compressed to the real agent endpoint of a running Parc, then read back through
//! /api/v1 (machine inventory, software catalogue, history, scope, settings, entity rules,
//! refused imports) and the HTML pages (/inventory, /software, the asset page), with
//! the settings and rule forms submitted as a browser does. On SQLite and PostgreSQL.

use crate::app::{csrf_in, get_json, TestApp};
use parc_core::permissions::Profile;
use parc_store::testing::TestDb;
use reqwest::StatusCode;
use serde_json::{json, Value};

/// One machine as an OCS Inventory agent describes it.
struct Pc<'a> {
    name: &'a str,
    device: &'a str,
    uuid: &'a str,
    serial: &'a str,
    mac: &'a str,
    ip: &'a str,
    tag: Option<&'a str>,
    /// (name, version, publisher)
    software: &'a [(&'a str, &'a str, &'a str)],
}

fn ocs_xml(pc: &Pc) -> String {
    let software: String = pc
        .software
        .iter()
        .map(|(n, v, p)| {
            format!(
                "<SOFTWARES><NAME>{n}</NAME><VERSION>{v}</VERSION><PUBLISHER>{p}</PUBLISHER>\
                 <INSTALLDATE>2026/01/02</INSTALLDATE></SOFTWARES>"
            )
        })
        .collect();
    let tag = pc
        .tag
        .map(|t| format!("<ACCOUNTINFO><KEYNAME>TAG</KEYNAME><KEYVALUE>{t}</KEYVALUE></ACCOUNTINFO>"))
        .unwrap_or_default();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><REQUEST><CONTENT>\
         <HARDWARE><NAME>{name}</NAME><WORKGROUP>college.local</WORKGROUP><OSNAME>Microsoft Windows 11 Professionnel</OSNAME>\
         <OSVERSION>10.0.22631</OSVERSION><ARCH>x86_64</ARCH><MEMORY>16384</MEMORY><UUID>{uuid}</UUID><USERID>jdupont</USERID></HARDWARE>\
         <BIOS><SSN>{serial}</SSN><SMANUFACTURER>HP</SMANUFACTURER><SMODEL>EliteDesk 800 G6</SMODEL>\
         <BVERSION>S01 Ver. 02.10.00</BVERSION><BDATE>03/15/2023</BDATE></BIOS>\
         <CPUS><NAME>Intel Core i5-10500</NAME><MANUFACTURER>Intel</MANUFACTURER><CORES>6</CORES><THREADS>12</THREADS><SPEED>3100</SPEED></CPUS>\
         <MEMORIES><CAPTION>DIMM 1</CAPTION><CAPACITY>8192</CAPACITY><TYPE>DDR4</TYPE><SPEED>2666</SPEED></MEMORIES>\
         <MEMORIES><CAPTION>DIMM 2</CAPTION><CAPACITY>8192</CAPACITY><TYPE>DDR4</TYPE><SPEED>2666</SPEED></MEMORIES>\
         <STORAGES><NAME>PhysicalDrive0</NAME><MODEL>Samsung SSD 860</MODEL><SERIALNUMBER>S3Z9NB0K</SERIALNUMBER><DISKSIZE>476940</DISKSIZE></STORAGES>\
         <DRIVES><LETTER>C:</LETTER><FILESYSTEM>NTFS</FILESYSTEM><TOTAL>476000</TOTAL><FREE>23800</FREE></DRIVES>\
         <NETWORKS><DESCRIPTION>Intel Ethernet I219-LM</DESCRIPTION><MACADDR>{mac}</MACADDR><IPADDRESS>{ip}</IPADDRESS>\
         <IPMASK>255.255.255.0</IPMASK><VIRTUALDEV>0</VIRTUALDEV></NETWORKS>\
         <NETWORKS><DESCRIPTION>Hyper-V Virtual Ethernet Adapter</DESCRIPTION><MACADDR>00:15:5d:01:02:03</MACADDR>\
         <IPADDRESS>172.20.0.1</IPADDRESS><IPMASK>255.255.240.0</IPMASK><VIRTUALDEV>1</VIRTUALDEV></NETWORKS>\
         <PRINTERS><NAME>Brother HL-L2350DW</NAME><DRIVER>Brother Laser</DRIVER><PORT>USB001</PORT></PRINTERS>\
         {software}\
         <MONITORS><CAPTION>P2419H</CAPTION><MANUFACTURER>Dell Inc.</MANUFACTURER><SERIAL>CN0{serial}</SERIAL></MONITORS>\
         {tag}<VERSIONCLIENT>OCS-NG_unified_unix_agent_v2.10.0</VERSIONCLIENT>\
         </CONTENT><DEVICEID>{device}</DEVICEID><QUERY>INVENTORY</QUERY></REQUEST>",
        name = pc.name,
        uuid = pc.uuid,
        serial = pc.serial,
        mac = pc.mac,
        ip = pc.ip,
        device = pc.device,
    )
}

/// Posts a body to the OCS endpoint as the agent does (zlib, `application/x-compress`).
async fn post_agent(http: &reqwest::Client, app: &TestApp, body: Vec<u8>) -> reqwest::Response {
    http.post(app.url("/ocsinventory"))
        .header("content-type", "application/x-compress")
        .header("user-agent", "OCS-NG_unified_unix_agent_v2.10.0")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn send_inventory(http: &reqwest::Client, app: &TestApp, pc: &Pc<'_>) {
    let resp = post_agent(http, app, parc_inventory::zlib_compress(ocs_xml(pc).as_bytes())).await;
    assert_eq!(resp.status(), StatusCode::OK, "inventory of {} refused", pc.name);
}

/// The id of the machine called `name`, seen by `auth`.
async fn machine_id(http: &reqwest::Client, app: &TestApp, auth: &str, name: &str) -> i64 {
    let list = get_json(http, &app.url(&format!("/api/v1/assets?q={name}&kind=computer")), auth).await;
    let items = list["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "one machine {name}: {list}");
    items[0]["id"].as_i64().unwrap()
}

async fn status_of(http: &reqwest::Client, url: &str, auth: &str) -> StatusCode {
    http.get(url).header("authorization", auth).send().await.unwrap().status()
}

/// A page fetched with a session cookie: (status, HTML).
async fn page(http: &reqwest::Client, app: &TestApp, cookie: &str, path: &str) -> (StatusCode, String) {
    let r = http.get(app.url(path)).header("cookie", format!("parc_session={cookie}")).send().await.unwrap();
    (r.status(), r.text().await.unwrap())
}

/// A form posted with a session cookie: (status, Location header, HTML).
async fn form(
    http: &reqwest::Client,
    app: &TestApp,
    cookie: &str,
    path: &str,
    fields: &[(&str, &str)],
) -> (StatusCode, String, String) {
    let r =
        http.post(app.url(path)).header("cookie", format!("parc_session={cookie}")).form(fields).send().await.unwrap();
    let location = r.headers().get("location").map(|l| l.to_str().unwrap().to_owned()).unwrap_or_default();
    (r.status(), location, r.text().await.unwrap())
}

const FIREFOX_115: (&str, &str, &str) = ("Mozilla Firefox", "115.0", "Mozilla");
const FIREFOX_128: (&str, &str, &str) = ("Mozilla Firefox", "128.5", "Mozilla");
const LIBREOFFICE: (&str, &str, &str) = ("LibreOffice", "7.6.4", "The Document Foundation");

const PC_CDI: Pc<'static> = Pc {
    name: "PC-CDI-01",
    device: "PC-CDI-01-2026-01-05-08-00-00",
    uuid: "4C4C4544-0031-3010-8052-B7C04F4B4E31",
    serial: "5CG1234XYZ",
    mac: "3C:52:82:AA:BB:CC",
    ip: "10.4.7.12",
    tag: Some("COLLEGE-JM"),
    software: &[FIREFOX_115, LIBREOFFICE],
};

#[tokio::test]
async fn inventory_through_the_api_and_the_pages() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        story(db).await;
    }
}

async fn story(db: TestDb) {
    let app = TestApp::start(db).await;
    let root = app.entity("Département", None).await;
    let college = app.entity("Collège Jean Moulin", Some(root)).await;
    let mairie = app.entity("Mairie", Some(root)).await;
    let (admin_id, admin_token) = app.user("admin", root, &[(root, Profile::SuperAdmin, true)]).await;
    let (_, tech_token) = app.user("tech", root, &[(root, Profile::Technician, true)]).await;
    let (cdi_id, cdi_token) = app.user("cdi", college, &[(college, Profile::Technician, false)]).await;
    let (_, other_token) = app.user("other", mairie, &[(mairie, Profile::Technician, false)]).await;
    let admin = format!("Bearer {admin_token}");
    let tech = format!("Bearer {tech_token}");
    let cdi = format!("Bearer {cdi_token}");
    let other = format!("Bearer {other_token}");
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();

    // An entity rule on the agent's TAG, added through the API by the super-admin only.
    let rule = json!({"kind": "tag", "pattern": "COLLEGE-JM", "entity_id": college.0});
    let r = http.post(app.url("/api/v1/inventory/entity-rules")).header("authorization", &tech).json(&rule).send();
    assert_eq!(r.await.unwrap().status(), StatusCode::FORBIDDEN);
    let r = http.post(app.url("/api/v1/inventory/entity-rules")).header("authorization", &admin).json(&rule).send();
    let r = r.await.unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let created: Value = r.json().await.unwrap();
    assert_eq!((created["kind"].as_str(), created["entity_name"].as_str()), (Some("tag"), Some("Collège Jean Moulin")));
    let bad = json!({"kind": "subnet", "pattern": "10.4.300.0/24", "entity_id": college.0});
    let r = http.post(app.url("/api/v1/inventory/entity-rules")).header("authorization", &admin).json(&bad).send();
    let r = r.await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["details"]["fields"][0]["field"], "pattern");

    // 1. Two machines report: the tagged one lands in the college, the other at the top.
    send_inventory(&http, &app, &PC_CDI).await;
    let mairie_pc = Pc {
        name: "PC-ACCUEIL",
        device: "PC-ACCUEIL-2026-01-05-09-00-00",
        uuid: "0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0",
        serial: "CZC9876543",
        mac: "3c:52:82:11:22:33",
        ip: "10.9.0.20",
        tag: None,
        software: &[FIREFOX_115],
    };
    send_inventory(&http, &app, &mairie_pc).await;
    let cdi_pc = machine_id(&http, &app, &admin, "PC-CDI-01").await;
    let accueil = machine_id(&http, &app, &admin, "PC-ACCUEIL").await;
    let a = get_json(&http, &app.url(&format!("/api/v1/assets/{cdi_pc}")), &admin).await;
    assert_eq!(a["entity_id"].as_i64(), Some(college.0), "the TAG rule placed the new machine");
    let b = get_json(&http, &app.url(&format!("/api/v1/assets/{accueil}")), &admin).await;
    assert_eq!(b["entity_id"].as_i64(), Some(root.0), "no rule: the top-level entity");

    // 2. The machine's inventory: software, networks, details, and its imports.
    let inv = get_json(&http, &app.url(&format!("/api/v1/assets/{cdi_pc}/inventory")), &admin).await;
    let names: Vec<&str> = inv["software"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["LibreOffice", "Mozilla Firefox"], "{inv}");
    let nets = inv["networks"].as_array().unwrap();
    assert_eq!(nets.len(), 2);
    let physical = nets.iter().find(|n| n["is_virtual"] == 0).unwrap();
    assert_eq!(physical["mac"], "3c:52:82:aa:bb:cc");
    assert_eq!(physical["ips"], "10.4.7.12");
    assert_eq!(physical["subnet"], "10.4.7.0/24");
    assert!(nets.iter().any(|n| n["is_virtual"] == 1 && n["mac"] == "00:15:5d:01:02:03"));
    assert_eq!(inv["memory_mb"], 16384);
    assert_eq!(inv["domain"], "college.local");
    assert_eq!(inv["tag"], "COLLEGE-JM");
    assert_eq!(inv["cpus"][0]["name"], "Intel Core i5-10500");
    assert_eq!(inv["memory_modules"].as_array().unwrap().len(), 2);
    assert_eq!(inv["volumes"][0]["free_mb"], 23800);
    assert_eq!(inv["matched_rule"], "new");
    let imports = inv["imports"].as_array().unwrap();
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0]["outcome"], "created");
    assert_eq!(imports[0]["entity_rule"], created["id"].as_i64().unwrap().to_string());
    let monitors = get_json(&http, &app.url("/api/v1/assets?kind=monitor"), &admin).await;
    assert_eq!(monitors["total"], 2, "each machine's monitor became an asset");

    // 3. The catalogue counts installations and versions in the caller's scope.
    let firefox = get_json(&http, &app.url("/api/v1/software?q=firefox"), &admin).await;
    assert_eq!(firefox["total"], 1, "{firefox}");
    assert_eq!(
        (firefox["items"][0]["installs"].as_i64(), firefox["items"][0]["versions"].as_i64()),
        (Some(2), Some(1))
    );
    let firefox_id = firefox["items"][0]["id"].as_i64().unwrap();
    let all = get_json(&http, &app.url("/api/v1/software?per_page=1&page=2"), &admin).await;
    assert_eq!((all["total"].as_i64(), all["items"][0]["name"].as_str()), (Some(2), Some("Mozilla Firefox")));
    let seen_by_cdi = get_json(&http, &app.url("/api/v1/software?q=firefox"), &cdi).await;
    assert_eq!(seen_by_cdi["items"][0]["installs"], 1, "the college sees its own machine only");
    let stats = get_json(&http, &app.url("/api/v1/inventory/stats"), &admin).await;
    assert_eq!(
        (stats["computers"].as_i64(), stats["software"].as_i64(), stats["installs"].as_i64()),
        (Some(2), Some(2), Some(3))
    );
    let stats = get_json(&http, &app.url("/api/v1/inventory/stats"), &cdi).await;
    assert_eq!(
        (stats["computers"].as_i64(), stats["installs"].as_i64(), stats["rejected"].as_i64()),
        (Some(1), Some(2), Some(0))
    );

    // 4. An upgrade: one grouped `inventory` history entry naming the change.
    let history = |auth: String| {
        let http = http.clone();
        let url = app.url(&format!("/api/v1/assets/{cdi_pc}/history"));
        async move { get_json(&http, &url, &auth).await.as_array().unwrap().clone() }
    };
    let before = history(admin.clone()).await;
    let upgraded = Pc { software: &[FIREFOX_128, LIBREOFFICE], ..PC_CDI };
    send_inventory(&http, &app, &upgraded).await;
    let after = history(admin.clone()).await;
    assert_eq!(after.len(), before.len() + 1, "one entry per inventory: {after:?}");
    let entry = &after[0];
    assert_eq!(entry["action"], "inventory");
    let changes = entry["changes"].as_array().unwrap();
    assert_eq!(changes.len(), 1, "{changes:?}");
    assert_eq!(
        (changes[0]["field"].as_str(), changes[0]["old"].as_str(), changes[0]["new"].as_str()),
        (Some("software"), Some("Mozilla Firefox 115.0"), Some("Mozilla Firefox 128.5"))
    );
    assert_eq!(machine_id(&http, &app, &admin, "PC-CDI-01").await, cdi_pc, "matched, not duplicated");
    let detail = get_json(&http, &app.url(&format!("/api/v1/software/{firefox_id}")), &admin).await;
    let versions: Vec<(&str, i64)> = detail["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| (v["version"].as_str().unwrap(), v["installs"].as_i64().unwrap()))
        .collect();
    assert_eq!(versions, [("115.0", 1), ("128.5", 1)]);
    assert_eq!(detail["total_installations"], 2);
    let inv = get_json(&http, &app.url(&format!("/api/v1/assets/{cdi_pc}/inventory")), &admin).await;
    assert_eq!(inv["matched_rule"], "uuid");
    assert_eq!(inv["imports"][0]["outcome"], "updated");

    // 5. Scope: another entity's user does not see the machine nor its software.
    let url = app.url(&format!("/api/v1/assets/{cdi_pc}/inventory"));
    assert_eq!(status_of(&http, &url, &other).await, StatusCode::NOT_FOUND);
    assert_eq!(status_of(&http, &url, &cdi).await, StatusCode::OK);
    let url = app.url(&format!("/api/v1/assets/{accueil}/inventory"));
    assert_eq!(status_of(&http, &url, &cdi).await, StatusCode::NOT_FOUND);
    assert_eq!(get_json(&http, &app.url("/api/v1/software"), &other).await["total"], 0);
    assert_eq!(
        status_of(&http, &app.url(&format!("/api/v1/software/{firefox_id}")), &other).await,
        StatusCode::NOT_FOUND
    );
    let agents = get_json(&http, &app.url("/api/v1/inventory/agents"), &cdi).await;
    assert_eq!(agents["total"], 1);
    assert_eq!(agents["items"][0]["name"], "PC-CDI-01");
    let agents = get_json(&http, &app.url("/api/v1/inventory/agents?stale=true"), &admin).await;
    assert_eq!((agents["total"].as_i64(), agents["stale_days"].as_i64()), (Some(0), Some(30)), "both just reported");
    // A machine with no inventory answers 404 too.
    let plain = http
        .post(app.url("/api/v1/assets"))
        .header("authorization", &admin)
        .json(&json!({"kind": "computer", "name": "PC-SANS-AGENT", "entity_id": college.0}))
        .send()
        .await
        .unwrap();
    let plain = plain.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    let url = app.url(&format!("/api/v1/assets/{plain}/inventory"));
    assert_eq!(status_of(&http, &url, &admin).await, StatusCode::NOT_FOUND);

    // 6. Settings: a duplicate rule is refused per field, a technician may not change them.
    let put = |auth: &str, body: Value| {
        http.put(app.url("/api/v1/inventory/settings")).header("authorization", auth).json(&body).send()
    };
    let dup = json!({"match_rules": ["uuid", "serial", "uuid"], "default_entity_id": null, "stale_days": 30, "prolog_freq_hours": 24});
    let r = put(&admin, dup).await.unwrap();
    assert_eq!(r.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let v: Value = r.json().await.unwrap();
    assert_eq!(
        (v["error"]["details"]["fields"][0]["field"].as_str(), v["error"]["details"]["fields"][0]["code"].as_str()),
        (Some("match_rules"), Some("duplicate"))
    );
    let unknown = json!({"match_rules": ["uuid", "horoscope"], "default_entity_id": null, "stale_days": 30, "prolog_freq_hours": 24});
    assert_eq!(put(&admin, unknown).await.unwrap().status(), StatusCode::BAD_REQUEST);
    let good = json!({"match_rules": ["serial", "uuid", "mac"], "default_entity_id": mairie.0, "stale_days": 10, "prolog_freq_hours": 12});
    assert_eq!(put(&tech, good.clone()).await.unwrap().status(), StatusCode::FORBIDDEN);
    let r = put(&admin, good.clone()).await.unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    assert_eq!(r.json::<Value>().await.unwrap(), good);
    assert_eq!(get_json(&http, &app.url("/api/v1/inventory/settings"), &tech).await, good);

    // 7. A malformed body is refused and logged; only who reads the whole organisation sees it.
    let r =
        post_agent(&http, &app, parc_inventory::zlib_compress(b"<REQUEST><QUERY>INVENTORY</QUERY></REQUEST>")).await;
    assert!(r.status().is_client_error(), "{}", r.status());
    let r = post_agent(&http, &app, b"this is not an inventory".to_vec()).await;
    assert!(r.status().is_client_error(), "{}", r.status());
    let rejected = get_json(&http, &app.url("/api/v1/inventory/imports?outcome=rejected"), &admin).await;
    let rejected = rejected["items"].as_array().unwrap();
    assert_eq!(rejected.len(), 2, "{rejected:?}");
    assert!(rejected
        .iter()
        .all(|r| r["outcome"] == "rejected" && r["source_ip"] == "127.0.0.1" && r["entity_id"].is_null()));
    assert!(rejected[1]["error"].as_str().unwrap().contains("DEVICEID"), "{:?}", rejected[1]);
    let url = app.url("/api/v1/inventory/imports?outcome=rejected");
    assert_eq!(status_of(&http, &url, &cdi).await, StatusCode::FORBIDDEN);
    assert_eq!(status_of(&http, &url, &tech).await, StatusCode::OK, "the technician reads the whole organisation");
    let accepted = get_json(&http, &app.url("/api/v1/inventory/imports?outcome=accepted"), &cdi).await;
    assert_eq!(accepted["items"].as_array().unwrap().len(), 2, "the college machine's two imports only");
    let url = app.url("/api/v1/inventory/imports?outcome=lost");
    assert_eq!(status_of(&http, &url, &admin).await, StatusCode::BAD_REQUEST);
    assert_eq!(get_json(&http, &app.url("/api/v1/inventory/stats"), &admin).await["rejected"], 2);

    // 8. Everything is in the OpenAPI document.
    let doc = get_json(&http, &app.url("/api/v1/openapi.json"), &admin).await;
    for p in [
        "/assets/{id}/inventory",
        "/software",
        "/software/{id}",
        "/inventory/agents",
        "/inventory/imports",
        "/inventory/stats",
        "/inventory/settings",
        "/inventory/entity-rules",
        "/inventory/entity-rules/{id}",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} missing from the OpenAPI document");
    }

    // 9. The pages, as the super-admin.
    let (cookie, _) = app.session(admin_id).await;
    let (s, html) = page(&http, &app, &cookie, "/inventory").await;
    assert_eq!(s, StatusCode::OK);
    let host = app.base.trim_start_matches("http://");
    for expected in [
        format!("http://{host}/ocsinventory"),
        format!("http://{host}/plugins/fusioninventory/"),
        format!("http://{host}/front/inventory.php"),
        format!("parc agent --server http://{host}/"),
        "PC-CDI-01".into(),
        "PC-ACCUEIL".into(),
        "Seulement les machines non vues depuis 10 jours".into(),
        "Inventaires refusés".into(),
        "DEVICEID".into(),
        "Règles de rapprochement".into(),
        "Nouvelle machine".into(),
        "<code>tag: COLLEGE-JM</code>".into(),
    ] {
        assert!(html.contains(&expected), "/inventory lacks {expected}");
    }
    assert!(html.contains("href=\"/inventory\""), "the menu links to the page");
    let (_, stale) = page(&http, &app, &cookie, "/inventory?stale=1").await;
    assert!(stale.contains("0 résultat(s)"), "no machine is silent yet");

    // The settings form: positions order the rules, "off" leaves one out.
    let csrf = csrf_in(&html);
    let settings = |uuid: &'static str, serial: &'static str| {
        vec![
            ("csrf", csrf.clone()),
            ("rule_uuid", uuid.to_owned()),
            ("rule_serial", serial.to_owned()),
            ("rule_mac", "3".to_owned()),
            ("rule_name", "off".to_owned()),
            ("rule_device_id", "off".to_owned()),
            ("stale_days", "15".to_owned()),
            ("prolog_freq_hours", "6".to_owned()),
            ("default_entity_id", String::new()),
        ]
    };
    let fields = settings("1", "1");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, _, body) = form(&http, &app, &cookie, "/inventory/settings", &fields).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Deux règles ont la même position."), "the problem is shown in the page");
    let fields = settings("1", "2");
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let (s, location, _) = form(&http, &app, &cookie, "/inventory/settings", &fields).await;
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/inventory?ok=common.saved"));
    let saved = get_json(&http, &app.url("/api/v1/inventory/settings"), &admin).await;
    assert_eq!(
        saved,
        json!({"match_rules": ["uuid", "serial", "mac"], "default_entity_id": null, "stale_days": 15, "prolog_freq_hours": 6})
    );
    let (_, html) = page(&http, &app, &cookie, "/inventory?ok=common.saved").await;
    assert!(html.contains("Enregistré.") && html.contains("non vues depuis 15 jours"));
    let no_csrf = [("rule_uuid", "1"), ("stale_days", "15"), ("prolog_freq_hours", "6")];
    assert_eq!(form(&http, &app, &cookie, "/inventory/settings", &no_csrf).await.0, StatusCode::FORBIDDEN);

    // The entity rule form: a bad subnet is explained, a good rule is added then deleted.
    let mairie_id = mairie.0.to_string();
    let bad =
        [("csrf", csrf.as_str()), ("kind", "subnet"), ("pattern", "10.9.0.0/33"), ("entity_id", mairie_id.as_str())];
    let (s, _, body) = form(&http, &app, &cookie, "/inventory/entity-rules", &bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Sous-réseau invalide"), "the pattern's problem is shown");
    assert!(body.contains("value=\"10.9.0.0/33\""), "what was typed stays");
    let good =
        [("csrf", csrf.as_str()), ("kind", "subnet"), ("pattern", "10.9.0.0/16"), ("entity_id", mairie_id.as_str())];
    let (s, location, _) = form(&http, &app, &cookie, "/inventory/entity-rules", &good).await;
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/inventory?ok=inventory.rule_added"));
    let rules = get_json(&http, &app.url("/api/v1/inventory/entity-rules"), &admin).await;
    let rules = rules["items"].as_array().unwrap();
    assert_eq!(rules.len(), 2);
    assert_eq!((rules[1]["pattern"].as_str(), rules[1]["entity_id"].as_i64()), (Some("10.9.0.0/16"), Some(mairie.0)));
    let id = rules[1]["id"].as_i64().unwrap();
    // The new rule applies to the very next inventory (the agents' cached rules were dropped).
    let town_pc = Pc {
        name: "PC-MAIRIE-02",
        device: "PC-MAIRIE-02-2026-02-01-09-00-00",
        uuid: "6A1B2C3D-4E5F-6071-8293-A4B5C6D7E8F9",
        serial: "CZC1111111",
        mac: "3c:52:82:44:55:66",
        ip: "10.9.0.21",
        tag: None,
        software: &[],
    };
    send_inventory(&http, &app, &town_pc).await;
    let town = machine_id(&http, &app, &admin, "PC-MAIRIE-02").await;
    let town = get_json(&http, &app.url(&format!("/api/v1/assets/{town}")), &admin).await;
    assert_eq!(town["entity_id"].as_i64(), Some(mairie.0), "placed by the subnet rule");
    let path = format!("/inventory/entity-rules/{id}/delete");
    let (s, location, _) = form(&http, &app, &cookie, &path, &[("csrf", csrf.as_str())]).await;
    assert_eq!((s, location.as_str()), (StatusCode::SEE_OTHER, "/inventory?ok=inventory.rule_deleted"));
    let r =
        http.delete(app.url(&format!("/api/v1/inventory/entity-rules/{id}"))).header("authorization", &admin).send();
    assert_eq!(r.await.unwrap().status(), StatusCode::NOT_FOUND, "already gone");
    // Settings changes are in the settings' history, with readable labels.
    let (_, html) = page(&http, &app, &cookie, "/settings").await;
    assert!(html.contains("Inventaire : règles de rapprochement") && html.contains("affectation</td>"));

    // The catalogue pages.
    let (s, html) = page(&http, &app, &cookie, "/software").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("Mozilla Firefox") && html.contains("LibreOffice"));
    let (_, html) = page(&http, &app, &cookie, "/software?q=libre").await;
    assert!(html.contains("LibreOffice") && !html.contains("Mozilla Firefox"));
    let (s, html) = page(&http, &app, &cookie, &format!("/software/{firefox_id}")).await;
    assert_eq!(s, StatusCode::OK);
    for expected in ["115.0", "128.5", &format!("href=\"/assets/{cdi_pc}\""), &format!("href=\"/assets/{accueil}\"")] {
        assert!(html.contains(expected), "/software/{firefox_id} lacks {expected}");
    }

    // The asset page's inventory section.
    let (s, html) = page(&http, &app, &cookie, &format!("/assets/{cdi_pc}")).await;
    assert_eq!(s, StatusCode::OK);
    for expected in [
        "id=\"inventory\"",
        "Microsoft Windows 11 Professionnel 10.0.22631",
        "college.local",
        "S01 Ver. 02.10.00",
        "16,0\u{a0}Go",
        "Intel Core i5-10500",
        "DIMM 2",
        "Samsung SSD 860",
        "23,2\u{a0}Go (5 %)",
        "3c:52:82:aa:bb:cc",
        "10.4.7.0/24",
        "virtuelle",
        "Brother HL-L2350DW",
        "jdupont",
        "OCS-NG_unified_unix_agent_v2.10.0",
        "127.0.0.1",
        "UUID matériel",
        "<details class=\"software\">",
        "Logiciels installés (2)",
        "2026-01-02",
        "Inventaire agent",
        "Mozilla Firefox 128.5",
    ] {
        assert!(html.contains(expected), "the asset page lacks {expected}");
    }
    assert!(html.contains(&format!("href=\"/software/{firefox_id}\"")));
    let (_, html) = page(&http, &app, &cookie, &format!("/assets/{plain}")).await;
    assert!(!html.contains("id=\"inventory\""), "no section without an agent");

    // 10. A college technician: their machines, no refused imports, no settings forms.
    let (cookie, _) = app.session(cdi_id).await;
    let (s, html) = page(&http, &app, &cookie, "/inventory").await;
    assert_eq!(s, StatusCode::OK);
    assert!(html.contains("PC-CDI-01") && !html.contains("PC-ACCUEIL"));
    assert!(!html.contains("id=\"rejected\"") && !html.contains("action=\"/inventory/settings\""));
    assert!(html.contains("Chiffres limités aux entités auxquelles vous avez accès."));
    let csrf = csrf_in(&html);
    let fields = [("csrf", csrf.as_str()), ("rule_uuid", "1"), ("stale_days", "5"), ("prolog_freq_hours", "6")];
    assert_eq!(form(&http, &app, &cookie, "/inventory/settings", &fields).await.0, StatusCode::FORBIDDEN);
    let (s, _) = page(&http, &app, &cookie, &format!("/assets/{accueil}")).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, html) = page(&http, &app, &cookie, &format!("/software/{firefox_id}")).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains(&format!("href=\"/assets/{accueil}\"")), "another entity's machine is not listed");
}
