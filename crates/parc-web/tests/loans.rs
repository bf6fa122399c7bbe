//! Loans over HTTP on every backend: the pool (scoped), reservations with overlap refused
//! (409 with a clear message, nothing written) and bad input (422), a bulk check-out of two
//! assets under one signature (the assets loaned to the borrower), a second check-out refused,
//! "who has what" through the API, its CSV/XLSX export and the page, bulk check-in by scanned
//! codes, the asset calendar page and page forms; then with a real SMTP server: ONE e-mail for
//! a bulk check-out, and the overdue reminder received once per day.

use axum::http::{Method, StatusCode};
use chrono::{Duration, Utc};
use parc_store::testing::TestDb;
use serde_json::{json, Value};

#[allow(dead_code)] // the shared helpers this suite does not need
mod common;
#[allow(dead_code)] // the helpers this suite does not need
mod planning_world;
#[allow(dead_code)] // the helpers this suite does not need
mod smtp_sink;
use common::{api, csrf_post, page_get, reply, send};
use planning_world::{world, World};

/// A valid 1 × 1 PNG, base64.
const PNG: &str = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

fn at(hours: i64) -> String {
    (Utc::now() + Duration::hours(hours)).to_rfc3339()
}

async fn asset(w: &World, entity: i64, name: &str, tag: &str) -> i64 {
    let body =
        json!({"kind": "computer", "entity_id": entity, "name": name, "asset_tag": tag, "serial": format!("SN-{tag}")});
    let (s, a) = api(&w.app, &w.tech.token, Method::POST, "/assets", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{a}");
    a["id"].as_i64().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loans_over_http_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let w = world(&db).await;
        story(&w).await;
        w.store.close().await;
    }
}

async fn story(w: &World) {
    let hot = &w.hotline_a.token;
    let borrower = w.requester_a.id.0;
    let pc1 = asset(w, w.school_a.0, "Portable 1", "PC-1").await;
    let pc2 = asset(w, w.school_a.0, "Portable 2", "PC-2").await;
    let pcb = asset(w, w.school_b.0, "Portable B", "PC-B").await;

    // The pool: school A's hotline adds its laptops; school B's is out of its scope.
    for id in [pc1, pc2] {
        let (s, v) = api(&w.app, hot, Method::PUT, &format!("/loans/items/{id}"), None).await;
        assert_eq!(s, StatusCode::NO_CONTENT, "{v}");
    }
    let (s, _) = api(&w.app, hot, Method::PUT, &format!("/loans/items/{pcb}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, items) = api(&w.app, hot, Method::GET, "/loans/items", None).await;
    assert_eq!((s, items.as_array().unwrap().len()), (StatusCode::OK, 2), "{items}");
    let (s, _) = api(&w.app, &w.requester_a.token, Method::GET, "/loans/items", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN, "a requester does not manage loans");

    // A reservation, then an overlapping one: 409 with who and when, nothing written.
    let reserve = |from: i64, to: i64| json!({"asset_id": pc1, "borrower_user_id": borrower, "starts_at": at(from), "ends_at": at(to), "note": "Sortie"});
    let (s, r) = api(&w.app, hot, Method::POST, "/loans/reservations", Some(reserve(48, 72))).await;
    assert_eq!(s, StatusCode::CREATED, "{r}");
    assert_eq!(r["borrower_name"], "Rémi Requester");
    let (s, e) = api(&w.app, &w.tech.token, Method::POST, "/loans/reservations", Some(reserve(60, 80))).await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    let msg = e["error"]["message"].as_str().unwrap();
    assert!(msg.contains("Portable 1") && msg.contains("Rémi Requester") && msg.contains("réservé"), "{msg}");
    let (_, list) = api(&w.app, hot, Method::GET, &format!("/loans/items/{pc1}/reservations"), None).await;
    assert_eq!(list.as_array().unwrap().len(), 1, "nothing written: {list}");
    // Touching is not overlapping.
    let (s, r2) = api(&w.app, hot, Method::POST, "/loans/reservations", Some(reserve(72, 73))).await;
    assert_eq!(s, StatusCode::CREATED, "{r2}");
    let (s, _) = api(&w.app, hot, Method::DELETE, &format!("/loans/reservations/{}", r2["id"]), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);

    // Bad input: 422 per field.
    let (s, e) = api(&w.app, hot, Method::POST, "/loans/reservations", Some(reserve(10, 5))).await;
    assert_eq!(
        (s, e["error"]["details"]["fields"][0]["code"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("end_before_start")),
        "{e}"
    );
    let mut bad = reserve(1, 2);
    bad["borrower_user_id"] = json!(w.tech_b.id.0);
    let (s, e) = api(&w.app, hot, Method::POST, "/loans/reservations", Some(bad)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a borrower outside the caller's entities: {e}");
    let mut bad = reserve(1, 2);
    bad["starts_at"] = json!("demain");
    let (s, _) = api(&w.app, hot, Method::POST, "/loans/reservations", Some(bad)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let mut bad = reserve(1, 2);
    bad["note"] = json!("a\u{0}b");
    let (s, _) = api(&w.app, hot, Method::POST, "/loans/reservations", Some(bad)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "control characters");
    let (s, v) = api(&w.app, hot, Method::POST, "/loans/checkin", Some(json!({"codes": ["A\u{0}B"]}))).await;
    assert_eq!((s, v["unknown"].as_array().map(Vec::len)), (StatusCode::OK, Some(1)), "never looked up: {v}");

    // Bulk check-out of both laptops by scanned tags, one signature.
    let out = |codes: Value, due: String, sig: &str| json!({"codes": codes, "borrower_user_id": borrower, "due_at": due, "note": "Classe verte", "signature_png": sig});
    let (s, e) =
        api(&w.app, hot, Method::POST, "/loans/checkout", Some(out(json!(["PC-1", "PC-2"]), at(24), "pas une image")))
            .await;
    assert_eq!(
        (s, e["error"]["details"]["fields"][0]["field"].as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, Some("signature_png"))
    );
    // Until after the reservation starts: the borrower's own reservation does not stand in the way.
    let (s, done) =
        api(&w.app, hot, Method::POST, "/loans/checkout", Some(out(json!(["PC-1", "sn-pc-2", "PC-2"]), at(50), PNG)))
            .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "serials are exact: {done}");
    let (s, done) =
        api(&w.app, hot, Method::POST, "/loans/checkout", Some(out(json!(["PC-1", "SN-PC-2", "PC-2"]), at(50), PNG)))
            .await;
    assert_eq!(s, StatusCode::CREATED, "{done}");
    assert_eq!(done["loans"].as_array().unwrap().len(), 2, "{done}");
    let doc = done["document"]["id"].as_i64().unwrap();
    assert!(done["loans"].as_array().unwrap().iter().all(|l| l["document_id"] == doc));
    let (_, a) = api(&w.app, hot, Method::GET, &format!("/assets/{pc1}"), None).await;
    assert_eq!((a["status"].as_str(), a["assigned_user_id"].as_i64()), (Some("loaned"), Some(borrower)), "{a}");
    let (s, bytes) = send(&w.app, page_get(&format!("/loans/documents/{doc}"), &w.hotline_a.session)).await;
    assert!(s == StatusCode::OK && bytes.starts_with(b"%PDF"), "{s}");

    // Somebody else cannot take it now: 409, nothing written.
    let mut again = out(json!(["PC-1"]), at(5), PNG);
    again["borrower_user_id"] = json!(w.hotline_a.id.0);
    let (s, e) = api(&w.app, hot, Method::POST, "/loans/checkout", Some(again)).await;
    assert_eq!(s, StatusCode::CONFLICT, "{e}");
    assert!(e["error"]["message"].as_str().unwrap().contains("prêté"), "{e}");

    // Who has what.
    let (s, open) = api(&w.app, hot, Method::GET, "/loans", None).await;
    assert_eq!((s, open.as_array().unwrap().len()), (StatusCode::OK, 2), "{open}");
    let (_, late) = api(&w.app, hot, Method::GET, "/loans?overdue=true", None).await;
    assert!(late.as_array().unwrap().is_empty());
    let (_, other) = api(&w.app, &w.tech_b.token, Method::GET, "/loans", None).await;
    assert!(other.as_array().unwrap().is_empty(), "school B sees none of school A's loans");
    let (s, csv) = send(&w.app, page_get("/loans/export.csv", &w.hotline_a.session)).await;
    let csv = String::from_utf8(csv).unwrap();
    assert!(
        s == StatusCode::OK && csv.contains("Rémi Requester") && csv.contains("PC-2") && csv.contains("Emprunteur"),
        "{csv}"
    );
    let (s, xlsx) = send(&w.app, common::api_request(hot, Method::GET, "/loans/export?format=xlsx", None)).await;
    assert!(s == StatusCode::OK && xlsx.starts_with(b"PK"), "{s}");
    let (s, _) = api(&w.app, hot, Method::GET, "/loans/export?format=pdf", None).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let r = reply(&w.app, page_get("/loans", &w.hotline_a.session)).await;
    assert!(
        r.status == StatusCode::OK && r.body.contains("Portable 2") && r.body.contains("Rémi Requester"),
        "{}",
        r.body
    );
    let r = reply(&w.app, page_get(&format!("/loans/items/{pc1}"), &w.hotline_a.session)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("loans-cal") && r.body.contains(&format!("/loans/{}/checkin", done["loans"][0]["id"])));
    let r = reply(&w.app, page_get("/loans", &w.requester_a.session)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Bulk check-in by scanned codes on the page: one unknown code is reported, not fatal.
    let form = [("codes", "PC-1\r\nPC-2\r\nNOPE-9\r\n"), ("condition_notes", "RAS")];
    let r = reply(&w.app, csrf_post("/loans/checkin", &w.hotline_a.session, &form)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("2 retour(s)") && r.body.contains("NOPE-9"), "{}", r.body);
    let (_, open) = api(&w.app, hot, Method::GET, "/loans", None).await;
    assert!(open.as_array().unwrap().is_empty(), "{open}");
    let (_, a) = api(&w.app, hot, Method::GET, &format!("/assets/{pc2}"), None).await;
    assert_eq!((a["status"].as_str(), a["assigned_user_id"].as_i64()), (Some("in_stock"), None));
    let loan = done["loans"][0]["id"].as_i64().unwrap();
    let (s, _) = api(&w.app, hot, Method::POST, &format!("/loans/{loan}/checkin"), Some(json!({}))).await;
    assert_eq!(s, StatusCode::CONFLICT, "already back");

    // Page forms: an overlapping reservation comes back with the reason (409), a check-out
    // through the page with a signature goes through.
    let start = (Utc::now() + Duration::hours(49))
        .with_timezone(&chrono_tz::Europe::Paris)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let end = (Utc::now() + Duration::hours(51))
        .with_timezone(&chrono_tz::Europe::Paris)
        .format("%Y-%m-%dT%H:%M")
        .to_string();
    let who = w.hotline_a.id.0.to_string();
    let form = [("borrower_user_id", who.as_str()), ("starts_at", &start), ("ends_at", &end), ("note", "")];
    let r = reply(&w.app, csrf_post(&format!("/loans/items/{pc1}/reserve"), &w.hotline_a.session, &form)).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.replace("&#39;", "'").contains("déjà réservé par Rémi Requester"), "{}", r.body);
    let due =
        (Utc::now() + Duration::hours(3)).with_timezone(&chrono_tz::Europe::Paris).format("%Y-%m-%dT%H:%M").to_string();
    let sig = format!("data:image/png;base64,{PNG}");
    let form =
        [("codes", "PC-2"), ("borrower_user_id", who.as_str()), ("due_at", &due), ("note", ""), ("signature", &sig)];
    let r = reply(&w.app, csrf_post("/loans/checkout", &w.hotline_a.session, &form)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let form =
        [("codes", "PC-1"), ("borrower_user_id", who.as_str()), ("due_at", &due), ("note", ""), ("signature", "")];
    let r = reply(&w.app, csrf_post("/loans/checkout", &w.hotline_a.session, &form)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "no signature");
    let (_, open) = api(&w.app, hot, Method::GET, "/loans", None).await;
    assert_eq!(open.as_array().unwrap().len(), 1, "{open}");
}

/// Real SMTP: a bulk check-out sends the borrower ONE e-mail with the signed sheet, and the
/// overdue reminder arrives once per day.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loan_mail_through_a_real_smtp_server() {
    let port = smtp_sink::free_port();
    let Some(sink) = smtp_sink::Sink::start(port) else { return };
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let w = world(&db).await;
        smtp_sink::configure(&w.store, port, true).await;
        let before = sink.messages().len();
        let hot = &w.hotline_a.token;
        let mut ids = Vec::new();
        for (name, tag) in [("Chromebook 1", "CB-1"), ("Chromebook 2", "CB-2"), ("Chromebook 3", "CB-3")] {
            let id = asset(&w, w.school_a.0, name, tag).await;
            api(&w.app, hot, Method::PUT, &format!("/loans/items/{id}"), None).await;
            ids.push(id);
        }
        let body =
            json!({"asset_ids": ids, "borrower_user_id": w.requester_a.id.0, "due_at": at(2), "signature_png": PNG});
        let (s, v) = api(&w.app, hot, Method::POST, "/loans/checkout", Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{v}");
        let round = parc_web::jobs::run_once(&w.store, "test", 50, Utc::now()).await.unwrap();
        assert_eq!(round.sent, 1, "one e-mail for three assets");
        let got = sink.messages();
        assert_eq!(got.len(), before + 1);
        let m = &got[before];
        assert_eq!(m.rcpt, vec!["requester.a@example.org"]);
        assert!(m.subject.contains("3 élément"), "{}", m.subject);
        assert!(m.body.contains("Chromebook 1") && m.body.contains("CB-3"), "{}", m.body);
        let raw = &sink.received()[before].1;
        assert!(raw.contains("application/pdf"), "the signed sheet is attached");

        // Overdue: the watcher, as the worker runs it, at +3 h, twice the same day, then the next day.
        let i18n = parc_web::i18n::I18n::load();
        let later = Utc::now() + Duration::hours(3);
        let pass = parc_web::loans::remind_overdue(&w.store, &i18n, later).await.unwrap();
        assert_eq!((pass.loans, pass.emails), (3, 1));
        let pass = parc_web::loans::remind_overdue(&w.store, &i18n, later + Duration::minutes(5)).await.unwrap();
        assert_eq!((pass.loans, pass.emails), (0, 0), "once per day");
        let round = parc_web::jobs::run_once(&w.store, "test", 50, later).await.unwrap();
        assert_eq!(round.sent, 1);
        let got = sink.messages();
        assert_eq!(got.len(), before + 2);
        let m = &got[before + 1];
        assert_eq!(m.rcpt, vec!["requester.a@example.org"]);
        assert!(m.subject.contains("en retard") && m.body.contains("Chromebook 2"), "{} {}", m.subject, m.body);
        let pass = parc_web::loans::remind_overdue(&w.store, &i18n, later + Duration::days(1)).await.unwrap();
        assert_eq!((pass.loans, pass.emails), (3, 1), "again the next day");
        w.store.close().await;
    }
}
