//! Checklists over HTTP on every backend: built-ins in the reader's language, templates and who
//! may write them, a run on a phone, the asset API refusing the hand-over (422 on `status`,
//! nothing written) until every mandatory step is ticked, value and photo evidence (image types
//! only), un-ticking, the audit entries with who and when, scope (404), and the pages: the run
//! page ticked by form, the asset page's box and the template editor.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use parc_store::testing::TestDb;
use serde_json::{json, Value};

#[allow(dead_code)] // the shared helpers this suite does not need
mod common;
#[allow(dead_code)] // the helpers this suite does not need
mod planning_world;
use common::{api, csrf_post, page_get, reply, send};
use planning_world::{world, World};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRfake-but-sniffed-as-png";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checklists_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let w = world(&db).await;
        let phone = new_phone(&w, "Téléphone accueil").await;
        templates(&w).await;
        handover(&w, phone).await;
        pages(&w).await;
        w.store.close().await;
    }
}

async fn new_phone(w: &World, name: &str) -> i64 {
    let body = json!({"kind": "mobile_phone", "entity_id": w.school_a.0, "name": name, "status": "in_stock"});
    let (s, a) = api(&w.app, &w.tech.token, Method::POST, "/assets", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    a["id"].as_i64().unwrap()
}

/// A multipart body with a `file` part (and an optional `value`), as a photo tick sends it.
fn multipart(token: &str, uri: &str, filename: &str, bytes: &[u8], value: Option<&str>) -> Request<Body> {
    let boundary = "XparcBoundary42";
    let mut body = Vec::new();
    if let Some(v) = value {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"value\"\r\n\r\n{v}\r\n").as_bytes(),
        );
    }
    body.extend_from_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: application/octet-stream\r\n\r\n"
        )
        .as_bytes(),
    );
    body.extend_from_slice(bytes);
    body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1{uri}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap()
}

async fn templates(w: &World) {
    // Built-ins, in each reader's language.
    let (s, b) = api(&w.app, &w.tech.token, Method::GET, "/checklists/builtins", None).await;
    assert_eq!(s, StatusCode::OK, "{b}");
    let names: Vec<&str> = b.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["Préparer un téléphone mobile", "Préparer un PC pointeuse"]);
    let (_, b) = api(&w.app, &w.tech_b.token, Method::GET, "/checklists/builtins", None).await;
    assert_eq!(b[1]["name"], "Prepare a time-clock PC");
    assert_eq!(b[1]["steps"].as_array().unwrap().len(), 6);
    assert_eq!(b[0]["steps"][0]["hint"], "Android version");

    // The county's technician writes a template for the whole county.
    let body = json!({"entity_id": w.school_a.0 - 1, "name": "Tablette élève", "asset_kind": "tablet",
        "steps": [{"label": "Installer le MDM", "mandatory": true},
                  {"label": "Numéro de série relevé", "mandatory": true, "evidence": "value", "hint": "Série"},
                  {"label": "Housse", "mandatory": false}]});
    let (s, t) = api(&w.app, &w.tech.token, Method::POST, "/checklists/templates", Some(body.clone())).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(t["steps"].as_array().unwrap().len(), 3);
    assert_eq!(t["steps"][1]["position"], 2);
    let id = t["id"].as_i64().unwrap();
    // Same name again: 422 on name.
    let (s, e) = api(&w.app, &w.tech.token, Method::POST, "/checklists/templates", Some(body)).await;
    assert_eq!(
        (s, e["error"]["details"]["fields"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("name_taken")),
        "{e}"
    );
    // Bad steps: every problem named.
    let bad = json!({"entity_id": w.school_a.0, "name": "", "steps": [{"label": "", "evidence": "selfie"}]});
    let (s, e) = api(&w.app, &w.tech.token, Method::POST, "/checklists/templates", Some(bad)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let fields: Vec<&str> =
        e["error"]["details"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["name", "steps[0].label", "steps[0].evidence"]);
    // The hotline of school A may not write templates, but reads the county's.
    let hot = json!({"entity_id": w.school_a.0, "name": "X", "steps": [{"label": "Y"}]});
    let (s, e) = api(&w.app, &w.hotline_a.token, Method::POST, "/checklists/templates", Some(hot)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["details"]["fields"][0]["field"], "entity_id");
    let (s, _) = api(&w.app, &w.hotline_a.token, Method::GET, &format!("/checklists/templates/{id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    let upd = json!({"name": "Tablette élève", "steps": [{"label": "Installer le MDM", "mandatory": true}]});
    let (s, _) =
        api(&w.app, &w.hotline_a.token, Method::PUT, &format!("/checklists/templates/{id}"), Some(upd.clone())).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, t) = api(&w.app, &w.tech.token, Method::PUT, &format!("/checklists/templates/{id}"), Some(upd)).await;
    assert_eq!((s, t["steps"].as_array().unwrap().len()), (StatusCode::OK, 1), "{t}");
    // A school A template is out of school B's sight.
    let own = json!({"entity_id": w.school_a.0, "name": "PC du CDI", "steps": [{"label": "Antivirus"}]});
    let (s, t) = api(&w.app, &w.tech.token, Method::POST, "/checklists/templates", Some(own)).await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    let own_id = t["id"].as_i64().unwrap();
    let (s, _) = api(&w.app, &w.tech_b.token, Method::GET, &format!("/checklists/templates/{own_id}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (_, list) = api(&w.app, &w.tech_b.token, Method::GET, "/checklists/templates", None).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "{list}");
    let (s, _) = api(&w.app, &w.tech.token, Method::DELETE, &format!("/checklists/templates/{own_id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
}

async fn asset(w: &World, id: i64) -> Value {
    let (s, a) = api(&w.app, &w.tech.token, Method::GET, &format!("/assets/{id}"), None).await;
    assert_eq!(s, StatusCode::OK);
    a
}

async fn handover(w: &World, phone: i64) {
    // The hotline starts the built-in phone checklist.
    let start = json!({"asset_id": phone, "builtin": "mobile_phone"});
    let (s, run) = api(&w.app, &w.hotline_a.token, Method::POST, "/checklists/runs", Some(start)).await;
    assert_eq!(s, StatusCode::CREATED, "{run}");
    assert_eq!(run["name"], "Préparer un téléphone mobile");
    assert_eq!((run["open_mandatory"].as_i64(), run["started_by_label"].as_str()), (Some(6), Some("hotline.a")));
    let rid = run["id"].as_i64().unwrap();
    let steps: Vec<i64> = run["steps"].as_array().unwrap().iter().map(|s| s["id"].as_i64().unwrap()).collect();
    // Neither or both sources: 422.
    let (s, _) = api(&w.app, &w.tech.token, Method::POST, "/checklists/runs", Some(json!({"asset_id": phone}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = api(
        &w.app,
        &w.tech.token,
        Method::POST,
        "/checklists/runs",
        Some(json!({"asset_id": phone, "builtin": "toaster"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    // School B's technician does not see the asset nor the run.
    let (s, _) = api(&w.app, &w.tech_b.token, Method::GET, &format!("/checklists/runs/{rid}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api(
        &w.app,
        &w.tech_b.token,
        Method::POST,
        &format!("/checklists/runs/{rid}/steps/{}/tick", steps[1]),
        Some(json!({})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The hand-over through the asset API is refused, naming the open steps; nothing written.
    let before = api(&w.app, &w.tech.token, Method::GET, &format!("/assets/{phone}/history"), None).await.1;
    let (s, e) = api(
        &w.app,
        &w.tech.token,
        Method::PATCH,
        &format!("/assets/{phone}"),
        Some(json!({"status": "in_use", "comment": "remis"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let f = &e["error"]["details"]["fields"][0];
    assert_eq!((f["field"].as_str(), f["code"].as_str()), (Some("status"), Some("checklist_open")));
    assert!(f["message"].as_str().unwrap().contains("Mettre Android à jour"), "{f}");
    let a = asset(w, phone).await;
    assert_eq!((a["status"].as_str(), a["comment"].as_str()), (Some("in_stock"), None));
    let after = api(&w.app, &w.tech.token, Method::GET, &format!("/assets/{phone}/history"), None).await.1;
    assert_eq!(before, after);
    let (s, b) = api(&w.app, &w.tech.token, Method::GET, &format!("/checklists/blockers?asset_id={phone}"), None).await;
    assert_eq!((s, b.as_array().unwrap().len()), (StatusCode::OK, 6), "{b}");

    // Value evidence.
    let tick = |step: i64| format!("/checklists/runs/{rid}/steps/{step}/tick");
    let (s, e) = api(&w.app, &w.hotline_a.token, Method::POST, &tick(steps[0]), Some(json!({"value": "  "}))).await;
    assert_eq!(
        (s, e["error"]["details"]["fields"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("value"))
    );
    let (s, st) =
        api(&w.app, &w.hotline_a.token, Method::POST, &tick(steps[0]), Some(json!({"value": "Android 14"}))).await;
    assert_eq!(s, StatusCode::OK, "{st}");
    assert_eq!(
        (st["done"].as_bool(), st["value"].as_str(), st["done_by_label"].as_str()),
        (Some(true), Some("Android 14"), Some("hotline.a"))
    );
    assert!(st["done_at"].as_str().unwrap().ends_with('Z'));
    // A step of no run of this one: 404.
    let (s, _) = api(&w.app, &w.hotline_a.token, Method::POST, &tick(999_999), Some(json!({}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Photo evidence: not through JSON, not a text file, a PNG yes.
    let (s, e) = api(&w.app, &w.hotline_a.token, Method::POST, &tick(steps[2]), Some(json!({}))).await;
    assert_eq!(
        (s, e["error"]["details"]["fields"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("photo"))
    );
    let photo_uri = |step: i64| format!("/checklists/runs/{rid}/steps/{step}/photo");
    let (s, body) =
        send(&w.app, multipart(&w.hotline_a.token, &photo_uri(steps[2]), "notes.txt", b"hello", None)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&body));
    assert!(String::from_utf8_lossy(&body).contains("not_an_image"));
    let (s, body) = send(&w.app, multipart(&w.hotline_a.token, &photo_uri(steps[2]), "fond.png", PNG, None)).await;
    assert_eq!(s, StatusCode::OK, "{}", String::from_utf8_lossy(&body));
    let st: Value = serde_json::from_slice(&body).unwrap();
    let sha = st["photo_sha256"].as_str().unwrap().to_owned();
    assert_eq!(sha.len(), 64);
    let get = Request::builder()
        .uri(format!("/api/v1{}", photo_uri(steps[2])))
        .header(header::AUTHORIZATION, format!("Bearer {}", w.tech.token))
        .body(Body::empty())
        .unwrap();
    let resp = tower::ServiceExt::oneshot(w.app.clone(), get).await.unwrap();
    assert_eq!((resp.status(), resp.headers()[header::CONTENT_TYPE].to_str().unwrap()), (StatusCode::OK, "image/png"));
    let bytes = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
    assert_eq!(&bytes[..], PNG);
    let other = Request::builder()
        .uri(format!("/api/v1{}", photo_uri(steps[2])))
        .header(header::AUTHORIZATION, format!("Bearer {}", w.tech_b.token))
        .body(Body::empty())
        .unwrap();
    let (s, _) = send(&w.app, other).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The other steps; then the hand-over goes through.
    for (i, step) in steps.iter().enumerate().skip(1) {
        if i == 2 {
            continue;
        }
        if i == 3 {
            let (s, _) =
                send(&w.app, multipart(&w.tech.token, &photo_uri(*step), "verre.jpg", b"\xff\xd8\xff\xe0jpeg", None))
                    .await;
            assert_eq!(s, StatusCode::OK);
            continue;
        }
        let (s, st) = api(&w.app, &w.tech.token, Method::POST, &tick(*step), Some(json!({}))).await;
        assert_eq!(s, StatusCode::OK, "{st}");
    }
    let (_, run) = api(&w.app, &w.tech.token, Method::GET, &format!("/checklists/runs/{rid}"), None).await;
    assert_eq!((run["open_mandatory"].as_i64(), run["done_count"].as_i64()), (Some(0), Some(6)), "{run}");
    assert!(run["completed_at"].is_string());
    // Un-ticking gates again.
    let (s, st) =
        api(&w.app, &w.tech.token, Method::POST, &format!("/checklists/runs/{rid}/steps/{}/untick", steps[5]), None)
            .await;
    assert_eq!((s, st["done"].as_bool()), (StatusCode::OK, Some(false)), "{st}");
    let (s, _) =
        api(&w.app, &w.tech.token, Method::PATCH, &format!("/assets/{phone}"), Some(json!({"status": "in_use"}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) = api(&w.app, &w.tech.token, Method::POST, &tick(steps[5]), Some(json!({}))).await;
    assert_eq!(s, StatusCode::OK);
    let (s, a) =
        api(&w.app, &w.tech.token, Method::PATCH, &format!("/assets/{phone}"), Some(json!({"status": "in_use"}))).await;
    assert_eq!((s, a["status"].as_str()), (StatusCode::OK, Some("in_use")), "{a}");

    // Every tick and un-tick is in the asset's history: who, when, which step, the value.
    let (_, h) = api(&w.app, &w.tech.token, Method::GET, &format!("/assets/{phone}/history"), None).await;
    let cl: Vec<&Value> = h.as_array().unwrap().iter().filter(|e| e["action"] == "checklist").collect();
    assert_eq!(cl.len(), 1 + 6 + 1 + 1, "start, six ticks, an un-tick and a tick again: {h}");
    assert!(cl.iter().all(|e| e["at"].as_str().is_some_and(|a| a.ends_with('Z'))));
    let android = cl
        .iter()
        .find(|e| e["changes"].as_array().unwrap().iter().any(|c| c["new"] == "Android 14"))
        .expect("the value in the trail");
    assert_eq!(android["actor_label"], "hotline.a");
    assert!(android["changes"][0]["new"].as_str().unwrap().contains("Mettre Android à jour"));
    assert!(cl.iter().any(|e| e["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["field"] == "checklist_photo" && c["new"] == sha.as_str())));
    assert!(cl.iter().any(|e| e["changes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["field"] == "checklist_done" && c["new"] == "false")));
    let (s, _) = api(&w.app, &w.hotline_a.token, Method::DELETE, &format!("/checklists/runs/{rid}"), None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "the hotline may not abandon a checklist");
}

fn entity_of(w: &World) -> String {
    w.school_a.0.to_string()
}

async fn pages(w: &World) {
    let phone = new_phone(w, "Téléphone DGS").await;
    let session = &w.tech.session;
    // The asset page offers the built-ins; starting one opens the run page.
    let r = reply(&w.app, page_get(&format!("/assets/{phone}"), session)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Préparer un téléphone mobile") && r.body.contains("b:mobile_phone"), "{}", r.body);
    let r = reply(&w.app, csrf_post(&format!("/assets/{phone}/checklists"), session, &[("source", "b:mobile_phone")]))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let run_path = r.location().to_owned();
    let rid: i64 = run_path.trim_start_matches("/checklists/runs/").parse().unwrap();
    let (_, run) = api(&w.app, &w.tech.token, Method::GET, &format!("/checklists/runs/{rid}"), None).await;
    let first = run["steps"][0]["id"].as_i64().unwrap();
    let r = reply(&w.app, page_get(&run_path, session)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Version d&#39;Android") || r.body.contains("Version d'Android"), "{}", r.body);
    assert!(r.body.contains("/static/checklists.css"));
    // A tick without its value comes back with the message; with it, done by the technician.
    let tick = format!("{run_path}/steps/{first}/tick");
    let r = reply(&w.app, csrf_post(&tick, session, &[("value", "")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Ce champ est obligatoire"), "{}", r.body);
    let r = reply(&w.app, csrf_post(&tick, session, &[("value", "Android 15")])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = reply(&w.app, page_get(&run_path, session)).await;
    assert!(r.body.contains("Android 15") && r.body.contains("Fait par tech le"), "{}", r.body);
    let school = entity_of(w);
    // The asset page names the open steps; the asset form refuses the hand-over, saying why.
    let r = reply(&w.app, page_get(&format!("/assets/{phone}"), session)).await;
    assert!(r.body.contains("Remise impossible") && r.body.contains("Poser le verre de protection"), "{}", r.body);
    let edit =
        [("kind", "mobile_phone"), ("entity_id", school.as_str()), ("name", "Téléphone DGS"), ("status", "in_use")];
    let r = reply(&w.app, csrf_post(&format!("/assets/{phone}/edit"), session, &edit)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("terminez-la avant de remettre le matériel"), "{}", r.body);
    assert_eq!(asset(w, phone).await["status"], "in_stock");
    // The template editor: rows reordered by their numbers, blank rows dropped.
    let r = reply(&w.app, page_get("/checklists/new", session)).await;
    assert_eq!(r.status, StatusCode::OK);
    let entity = w.school_a.0.to_string();
    let form = [
        ("entity_id", entity.as_str()),
        ("name", "PC de la médiathèque"),
        ("asset_kind", "computer"),
        ("pos_0", "2"),
        ("label_0", "Compte invité"),
        ("evidence_0", "tick"),
        ("pos_1", "1"),
        ("label_1", "Windows à jour"),
        ("mandatory_1", "1"),
        ("evidence_1", "value"),
        ("hint_1", "Build"),
        ("pos_2", "3"),
        ("label_2", ""),
        ("evidence_2", "tick"),
    ];
    let r = reply(&w.app, csrf_post("/checklists/new", session, &form)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (_, list) = api(&w.app, &w.tech.token, Method::GET, "/checklists/templates", None).await;
    let t = list.as_array().unwrap().iter().find(|t| t["name"] == "PC de la médiathèque").unwrap();
    let labels: Vec<&str> = t["steps"].as_array().unwrap().iter().map(|s| s["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["Windows à jour", "Compte invité"]);
    assert_eq!((t["steps"][0]["mandatory"].as_bool(), t["steps"][1]["mandatory"].as_bool()), (Some(true), Some(false)));
    let r = reply(&w.app, page_get("/checklists", session)).await;
    assert!(r.body.contains("PC de la médiathèque") && r.body.contains("Préparer un PC pointeuse"));
    // A missing label is named on its row.
    let r =
        reply(&w.app, csrf_post("/checklists/new", session, &[("entity_id", entity.as_str()), ("name", "Vide")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
}
