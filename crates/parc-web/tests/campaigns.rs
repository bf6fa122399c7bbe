//! Campaigns over HTTP on every backend: a technician opens a tablet collection from an asset
//! filter or an MDM export, scans through the API and the page forms (found, duplicate,
//! unexpected), another school's tablet is refused and nothing is written, two scanners at once
//! never double count nor lose a scan, an observer reads but cannot scan, another school sees
//! nothing; closing with the principal's drawn signature stores a report whose text
//! (`pdftotext`) lists what was found and missing, with its SHA-256 in the trail, and sets the
//! tablets' statuses.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use base64::Engine;
use parc_core::assets::AssetInput;
use parc_core::permissions::{Grant, Profile};
use parc_core::{AssetId, EntityId};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_store::{assets, Conn};
use parc_web::{AppState, WebConfig};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

#[allow(dead_code)] // the shared helpers this suite does not need
#[macro_use]
mod common;
use common::{api, csrf_post, entity, page_get, reply, send, sys};

struct World {
    db: TestDb,
    app: Router,
    school_a: EntityId,
    tech_a: String,
    tech_a_session: (String, String),
    observer_a: String,
    tech_b: String,
    tablets: Vec<AssetId>,
}

async fn tablet(c: &mut Conn, store: &parc_store::Store, entity: EntityId, i: usize) -> AssetId {
    let input = AssetInput {
        kind: Some("tablet".into()),
        entity_id: Some(entity.0),
        name: Some(format!("Tablette {:02}", i)),
        serial: Some(format!("TAB{:04}", i)),
        status: Some("loaned".into()),
        ..Default::default()
    };
    assets::create(c, &sys(), store.cipher(), &input.validate(None).unwrap()).await.unwrap()
}

async fn world(db: TestDb) -> World {
    let mut tx = db.store.write().await.unwrap();
    let root = entity(&mut tx, "Mairie", None).await;
    let school_a = entity(&mut tx, "École A", Some(root)).await;
    let school_b = entity(&mut tx, "École B", Some(root)).await;
    let mut tokens = Vec::new();
    let mut sessions = Vec::new();
    for (login, profile, ent) in [
        ("tech.a", Profile::Technician, school_a),
        ("observer.a", Profile::Observer, school_a),
        ("tech.b", Profile::Technician, school_b),
    ] {
        let input = UserInput {
            login: Some(login.into()),
            display_name: Some(format!("Agent {login}")),
            entity_id: Some(ent.0),
            language: Some("fr".into()),
            ..Default::default()
        };
        let u = users::create(&mut tx, &sys(), &input, None).await.unwrap();
        users::set_grants(&mut tx, &sys(), u.id, &[Grant { entity_id: ent, profile, recursive: true }]).await.unwrap();
        tokens.push(users::create_token(&mut tx, &sys(), u.id, "t").await.unwrap().1);
        sessions.push(users::create_session(&mut tx, u.id, chrono::Duration::hours(1)).await.unwrap());
    }
    let mut tablets = Vec::new();
    for i in 0..12 {
        tablets.push(tablet(&mut tx, &db.store, school_a, i).await);
    }
    tablet(&mut tx, &db.store, school_b, 99).await;
    tx.commit().await.unwrap();
    let state = AppState::new(db.store.clone(), WebConfig::default()).await.unwrap();
    let app = parc_web::router(state);
    World {
        db,
        app,
        school_a,
        tech_a: tokens[0].clone(),
        tech_a_session: sessions[0].clone(),
        observer_a: tokens[1].clone(),
        tech_b: tokens[2].clone(),
        tablets,
    }
}

on_every_backend!(api_story, concurrent_scanners, page_story);

async fn open(w: &World, source: Value) -> i64 {
    let body =
        json!({ "name": "Ramassage CM2", "kind": "tablet_collection", "entity_id": w.school_a.0, "source": source });
    let (s, c) = api(&w.app, &w.tech_a, Method::POST, "/campaigns", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{c}");
    c["id"].as_i64().unwrap()
}

async fn scan(w: &World, token: &str, id: i64, code: &str) -> (StatusCode, Value) {
    api(&w.app, token, Method::POST, &format!("/campaigns/{id}/scans"), Some(json!({ "code": code }))).await
}

/// A 160 x 60 signature: a dark stroke on a transparent background, as the signature pad draws.
fn signature() -> String {
    let (w, h) = (160u32, 60u32);
    let mut pixels = vec![0u8; (w * h * 4) as usize];
    for x in 0..w {
        let y = 10 + (x * 40 / w);
        for dy in 0..3 {
            let at = (((y + dy) * w + x) * 4) as usize;
            pixels[at..at + 4].copy_from_slice(&[0x0b, 0x2a, 0x5b, 0xff]);
        }
    }
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgba);
        enc.set_depth(png::BitDepth::Eight);
        enc.write_header().unwrap().write_image_data(&pixels).unwrap();
    }
    format!("data:image/png;base64,{}", base64::engine::general_purpose::STANDARD.encode(out))
}

/// The text of a PDF by poppler's `pdftotext`, or `None` (loudly) where it is not installed
/// outside CI.
fn pdf_text(pdf: &[u8]) -> Option<String> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.pdf");
    std::fs::write(&path, pdf).unwrap();
    match std::process::Command::new("pdftotext").arg("-layout").arg(&path).arg("-").output() {
        Ok(out) if out.status.success() => Some(String::from_utf8_lossy(&out.stdout).into_owned()),
        other => {
            assert!(std::env::var_os("CI").is_none(), "pdftotext is missing in CI: {other:?}");
            eprintln!("\n*** SKIPPED: pdftotext is missing (apt-get install poppler-utils) ***\n");
            None
        }
    }
}

async fn api_story(w: &World) {
    // Bad input: no name, an unknown kind, another school, a filter that selects nothing.
    let base = json!({ "name": "x", "kind": "tablet_collection", "entity_id": w.school_a.0, "source": { "filter": "kind=tablet" } });
    let mut b = base.clone();
    b["name"] = json!("  ");
    let (s, e) = api(&w.app, &w.tech_a, Method::POST, "/campaigns", Some(b)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let mut b = base.clone();
    b["kind"] = json!("picnic");
    assert_eq!(api(&w.app, &w.tech_a, Method::POST, "/campaigns", Some(b)).await.0, StatusCode::BAD_REQUEST);
    assert_eq!(
        api(&w.app, &w.tech_b, Method::POST, "/campaigns", Some(base.clone())).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    let mut b = base.clone();
    b["source"] = json!({ "filter": "kind=projector" });
    let (s, e) = api(&w.app, &w.tech_a, Method::POST, "/campaigns", Some(b)).await;
    assert_eq!(
        (s, e["error"]["details"]["fields"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("empty_list")),
        "{e}"
    );
    let (_, list) = api(&w.app, &w.tech_a, Method::GET, "/campaigns", None).await;
    assert_eq!(list.as_array().unwrap().len(), 0, "a refused campaign leaves nothing behind");

    // From the asset filter: only school A's twelve tablets.
    let id = open(w, json!({ "filter": "kind=tablet" })).await;
    let (_, c) = api(&w.app, &w.tech_a, Method::GET, &format!("/campaigns/{id}"), None).await;
    assert_eq!(c["tally"]["expected"], 12);
    let (s, r) = scan(w, &w.tech_a, id, "tab0001").await;
    assert_eq!((s, r["scan"]["outcome"].as_str()), (StatusCode::OK, Some("found")), "{r}");
    assert_eq!(r["scan"]["user_name"], "Agent tech.a");
    assert_eq!(scan(w, &w.tech_a, id, " TAB-0001 ").await.1["scan"]["outcome"], "duplicate");
    assert_eq!(scan(w, &w.tech_a, id, "NOT-ON-LIST").await.1["scan"]["outcome"], "unexpected");
    let (s, e) = scan(w, &w.tech_a, id, "TAB0099").await;
    assert_eq!(
        (s, e["error"]["details"]["fields"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("other_entity"))
    );
    assert_eq!(scan(w, &w.tech_a, id, "   ").await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, feed) = api(&w.app, &w.tech_a, Method::GET, &format!("/campaigns/{id}/scans?after=0"), None).await;
    assert_eq!(feed["scans"].as_array().unwrap().len(), 3, "refused scans are not recorded: {feed}");
    assert_eq!(feed["tally"]["found"], 1);
    assert_eq!(feed["tally"]["duplicates"], 1);
    assert_eq!(
        api(&w.app, &w.tech_a, Method::GET, &format!("/campaigns/{id}/scans?limit=0"), None).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );

    // Rights: an observer reads but cannot scan; another school does not see it.
    assert_eq!(
        api(&w.app, &w.observer_a, Method::GET, &format!("/campaigns/{id}/items"), None).await.0,
        StatusCode::OK
    );
    assert_eq!(scan(w, &w.observer_a, id, "TAB0002").await.0, StatusCode::FORBIDDEN);
    assert_eq!(api(&w.app, &w.tech_b, Method::GET, &format!("/campaigns/{id}"), None).await.0, StatusCode::NOT_FOUND);
    assert_eq!(scan(w, &w.tech_b, id, "TAB0002").await.0, StatusCode::NOT_FOUND);

    // The "wiped via the MDM" step, on a found tablet only.
    let (_, items) = api(&w.app, &w.tech_a, Method::GET, &format!("/campaigns/{id}/items"), None).await;
    let item_of =
        |tag: &str| items.as_array().unwrap().iter().find(|i| i["serial"] == tag).unwrap()["id"].as_i64().unwrap();
    let uri = format!("/campaigns/{id}/items/{}/step", item_of("TAB0001"));
    let (s, it) = api(&w.app, &w.tech_a, Method::PUT, &uri, Some(json!({ "done": true }))).await;
    assert_eq!(s, StatusCode::OK, "{it}");
    assert!(it["step_done_at"].is_string());
    let uri = format!("/campaigns/{id}/items/{}/step", item_of("TAB0002"));
    assert_eq!(
        api(&w.app, &w.tech_a, Method::PUT, &uri, Some(json!({ "done": true }))).await.0,
        StatusCode::UNPROCESSABLE_ENTITY
    );
    scan(w, &w.tech_a, id, "TAB0002").await;

    // Closing: a bad signature changes nothing; a drawn one closes, stores the report, sets statuses.
    let close = format!("/campaigns/{id}/close");
    let bad = json!({ "signer_name": "Mme Martin", "signature": "data:image/png;base64,SGVsbG8=" });
    assert_eq!(api(&w.app, &w.tech_a, Method::POST, &close, Some(bad)).await.0, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, c) = api(&w.app, &w.tech_a, Method::GET, &format!("/campaigns/{id}"), None).await;
    assert_eq!(c["status"], "open");
    assert_eq!(
        api(&w.app, &w.tech_a, Method::GET, &format!("/campaigns/{id}/report.pdf"), None).await.0,
        StatusCode::NOT_FOUND
    );
    let good = json!({ "signer_name": "Mme Martin, directrice", "signature": signature() });
    let (s, c) = api(&w.app, &w.tech_a, Method::POST, &close, Some(good.clone())).await;
    assert_eq!(s, StatusCode::OK, "{c}");
    assert_eq!((c["status"].as_str(), c["signer_name"].as_str()), (Some("closed"), Some("Mme Martin, directrice")));
    assert_eq!(api(&w.app, &w.tech_a, Method::POST, &close, Some(good)).await.0, StatusCode::CONFLICT);
    assert_eq!(scan(w, &w.tech_a, id, "TAB0003").await.0, StatusCode::CONFLICT);

    let (s, pdf) =
        send(&w.app, common::api_request(&w.tech_a, Method::GET, &format!("/campaigns/{id}/report.pdf"), None)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(pdf.starts_with(b"%PDF"));
    let sha = hex::encode(Sha256::digest(&pdf));
    let (_, trail) = api(&w.app, &w.tech_a, Method::GET, &format!("/campaigns/{id}/history"), None).await;
    assert!(trail.to_string().contains(&sha), "the report's SHA-256 is in the trail: {trail}");
    if let Some(text) = pdf_text(&pdf) {
        for needle in [
            "Rapport de pointage",
            "Ramassage CM2",
            "Mme Martin, directrice",
            "Manquants (10)",
            "Trouvés (2)",
            "TAB0005",
            "NOT-ON-LIST",
            "Agent tech.a",
        ] {
            assert!(text.contains(needle), "{needle:?} missing from the report:\n{text}");
        }
    }
    let mut c = w.db.store.read().await.unwrap();
    let status = |a: parc_store::assets::Asset| a.status.as_str().to_owned();
    assert_eq!(status(assets::get(&mut c, w.tablets[1]).await.unwrap().unwrap()), "wiped");
    assert_eq!(status(assets::get(&mut c, w.tablets[2]).await.unwrap().unwrap()), "returned");
    assert_eq!(status(assets::get(&mut c, w.tablets[5]).await.unwrap().unwrap()), "loaned", "missing: unchanged");

    // From an MDM export: rows matching the registry are linked, others kept as typed.
    let id = open(w, json!({ "rows": [{ "serial": "TAB0007", "name": "iPad 7" }, { "imei": "356938035643809", "name": "iPad inconnu" }] })).await;
    let (_, items) = api(&w.app, &w.tech_a, Method::GET, &format!("/campaigns/{id}/items"), None).await;
    assert_eq!(items[0]["asset_id"], w.tablets[7].0);
    assert_eq!(items[0]["label"], "Tablette 07");
    assert!(items[1]["asset_id"].is_null());
    assert_eq!(scan(w, &w.tech_a, id, "35-693803-564380-9").await.1["scan"]["outcome"], "found");
    let bad =
        json!({ "name": "x", "kind": "count", "entity_id": w.school_a.0, "source": { "rows": [{ "name": " " }] } });
    assert_eq!(api(&w.app, &w.tech_a, Method::POST, "/campaigns", Some(bad)).await.0, StatusCode::UNPROCESSABLE_ENTITY);
}

async fn concurrent_scanners(w: &World) {
    let id = open(w, json!({ "filter": "kind=tablet" })).await;
    let codes: Vec<String> = (0..12).map(|i| format!("TAB{i:04}")).collect();
    let mut tasks = Vec::new();
    for scanner in 0..2 {
        let app = w.app.clone();
        let token = w.tech_a.clone();
        let mut codes = codes.clone();
        if scanner == 1 {
            codes.reverse();
        }
        tasks.push(tokio::spawn(async move {
            let mut found = 0;
            for code in codes {
                let (s, r) =
                    api(&app, &token, Method::POST, &format!("/campaigns/{id}/scans"), Some(json!({ "code": code })))
                        .await;
                assert_eq!(s, StatusCode::OK, "{r}");
                if r["scan"]["outcome"] == "found" {
                    found += 1;
                }
            }
            found
        }));
    }
    let mut found = 0;
    for t in tasks {
        found += t.await.unwrap();
    }
    assert_eq!(found, 12, "each tablet is found once");
    let (_, feed) = api(&w.app, &w.tech_a, Method::GET, &format!("/campaigns/{id}/scans?limit=1000"), None).await;
    assert_eq!(feed["scans"].as_array().unwrap().len(), 24, "no scan is lost");
    assert_eq!((feed["tally"]["found"].as_i64(), feed["tally"]["duplicates"].as_i64()), (Some(12), Some(12)));
}

async fn page_story(w: &World) {
    let s = &w.tech_a_session;
    let r = reply(&w.app, page_get("/campaigns", s)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Nouvelle campagne"));

    // A form without a list is refused with its message; with the filter it opens.
    let school = w.school_a.0.to_string();
    let fields = [
        ("name", "Inventaire école A"),
        ("kind", "count"),
        ("entity_id", school.as_str()),
        ("location_id", ""),
        ("filter", ""),
    ];
    let r = reply(&w.app, csrf_post("/campaigns/new", s, &fields)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("filtre"), "{}", r.body);
    let fields = [
        ("name", "Inventaire école A"),
        ("kind", "count"),
        ("entity_id", school.as_str()),
        ("location_id", ""),
        ("filter", "kind=tablet"),
    ];
    let r = reply(&w.app, csrf_post("/campaigns/new", s, &fields)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = r.location().split('?').next().unwrap().to_owned();

    // A scan without JavaScript: back to the page with the banner.
    let r = reply(&w.app, csrf_post(&format!("{page}/scan"), s, &[("code", "TAB0004")])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let r = reply(&w.app, page_get(r.location(), s)).await;
    assert!(r.body.contains("scan-result found") && r.body.contains("Tablette 04"), "{}", r.body);
    let r = reply(&w.app, csrf_post(&format!("{page}/scan"), s, &[("code", "TAB0099")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("autre entité"), "{}", r.body);

    // An MDM export uploaded as CSV.
    let csv = "Device Name;Serial Number;IMEI\niPad 1;TAB0001;\niPad 2;TAB0002;\n";
    let boundary = "campaign-test-boundary";
    let mut body = String::new();
    for (k, v) in [
        ("csrf", s.1.as_str()),
        ("name", "Export MDM"),
        ("kind", "tablet_collection"),
        ("entity_id", school.as_str()),
        ("filter", ""),
    ] {
        body.push_str(&format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n"));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"mdm.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    ));
    let req = Request::builder()
        .method(Method::POST)
        .uri("/campaigns/new")
        .header(header::COOKIE, format!("parc_session={}", s.0))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap();
    let r = reply(&w.app, req).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = reply(&w.app, page_get(r.location(), s)).await;
    assert!(r.body.contains("data-count=\"expected\">2<"), "{}", r.body);
    assert!(r.body.contains("Tablette 01"));

    // The closing page asks for the signature; the scanning script and styles are served.
    let r = reply(&w.app, page_get(&format!("{page}/close"), s)).await;
    assert!(r.body.contains("data-signature-pad"));
    let r = reply(&w.app, page_get("/static/campaign.js", s)).await;
    assert!(r.body.contains("BarcodeDetector"));
}
