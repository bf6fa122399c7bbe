//! Intervention sheets and the calendar feed end to end, on every backend, with real tools:
//!
//! - the private iCal feed fetched over HTTP from a server on 127.0.0.1:0 and parsed by Python's
//!   `icalendar`; malformed, unknown and revoked tokens answer 404 with a short text;
//! - an on-site task mails its sheet to the technician: the real worker round sends it to a real
//!   SMTP server (aiosmtpd), the PDF attachment is read back with `pdftotext`;
//! - signing on the page and through the API: the stored PDF holds the signer's name
//!   (`pdftotext`) and the signature image (`pdfimages -list`), the audit trail holds the SHA-256
//!   of the stored bytes, the task is done; a signature that is not an image is refused (422)
//!   and nothing is written; a second signature is a conflict (409).
//!
//! Without python3 (+ icalendar, aiosmtpd) or poppler-utils a test fails when `CI` is set and
//! is skipped with a loud notice otherwise.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::{Duration, Utc};
use parc_core::assets::AssetInput;
use parc_core::audit::{AuditAction, ObjectType};
use parc_core::TaskId;
use parc_store::helpdesk::{self, CategoryInput};
use parc_store::testing::TestDb;
use parc_store::{assets, audit, Actor};
use parc_web::jobs::run_once;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

#[allow(dead_code)] // the shared helpers this suite does not need
mod common;
#[allow(dead_code)] // the helpers this suite does not need
mod pdf_tools;
#[allow(dead_code)] // the helpers this suite does not need
mod planning_world;
#[allow(dead_code)] // the helpers this suite does not need
mod smtp_sink;
use common::{api, api_request, page_get, page_post, send};
use pdf_tools::{available, run, signature_png};
use planning_world::{appointment, future_monday, paris, world, World};
use smtp_sink::{configure, free_port, Sink};

// ---- real tools ----

fn tools_available() -> bool {
    available("pdftotext", "pdftotext", &["-v"])
        && available("pdfimages", "pdfimages", &["-v"])
        && available("python3 icalendar", "python3", &["-c", "import icalendar"])
}

/// The text of a PDF, by `pdftotext`.
fn pdf_text(pdf: &[u8]) -> String {
    String::from_utf8(run("pdftotext", &["-layout", "-", "-"], Some(pdf))).unwrap()
}

/// The (width, height) of the images embedded in a PDF, by `pdfimages -list`.
fn pdf_images(pdf: &[u8]) -> Vec<(u32, u32)> {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sheet.pdf");
    std::fs::write(&path, pdf).unwrap();
    let list = String::from_utf8(run("pdfimages", &["-list", path.to_str().unwrap()], None)).unwrap();
    list.lines()
        .skip_while(|l| !l.starts_with("---"))
        .skip(1)
        .filter_map(|l| {
            let cols: Vec<&str> = l.split_whitespace().collect();
            Some((cols.get(3)?.parse().ok()?, cols.get(4)?.parse().ok()?))
        })
        .collect()
}

/// Fetches `url` over HTTP and parses it with Python's `icalendar`: the calendar's name and its
/// events' properties.
async fn fetch_calendar(url: String) -> (Value, Vec<u8>) {
    const SCRIPT: &str = r#"
import json, sys, urllib.request
from icalendar import Calendar
raw = urllib.request.urlopen(sys.argv[1]).read()
cal = Calendar.from_ical(raw)
events = []
for e in cal.walk("VEVENT"):
    events.append({k: str(e.get(k, "")) for k in ["UID", "SUMMARY", "LOCATION", "DESCRIPTION", "STATUS", "URL"]}
        | {"start": e.decoded("DTSTART").isoformat(), "end": e.decoded("DTEND").isoformat()})
print(json.dumps({"name": str(cal.get("X-WR-CALNAME")), "events": events, "raw": raw.decode()}))
"#;
    // The server runs on this runtime: wait for Python on a blocking thread.
    let out = tokio::task::spawn_blocking(move || run("python3", &["-c", SCRIPT, &url], None)).await.unwrap();
    let v: Value = serde_json::from_slice(&out).unwrap();
    let raw = v["raw"].as_str().unwrap().as_bytes().to_vec();
    (v, raw)
}

/// The PDF attached to a raw e-mail (by Python's `email` package), with its file name.
fn attachment(raw: &str) -> Option<(String, Vec<u8>)> {
    const SCRIPT: &str = r#"
import base64, email, json, sys
from email import policy
m = email.message_from_bytes(sys.stdin.buffer.read(), policy=policy.default)
for part in m.iter_attachments():
    if part.get_content_type() == "application/pdf":
        print(json.dumps({"name": part.get_filename(), "b64": base64.b64encode(part.get_content()).decode()}))
        break
"#;
    let out = run("python3", &["-c", SCRIPT], Some(raw.as_bytes()));
    let v: Value = serde_json::from_slice(&out).ok()?;
    let bytes = base64_decode(v["b64"].as_str()?);
    Some((v["name"].as_str()?.to_owned(), bytes))
}

fn base64_decode(s: &str) -> Vec<u8> {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.decode(s).unwrap()
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

// ---- fixtures ----

/// A ticket of school A with everything the sheet prints: a category, the site, a linked asset
/// with tag and model, the requester and the user it is for.
async fn full_ticket(w: &World) -> i64 {
    let sys = Actor::system("test");
    let mut tx = w.store.write().await.unwrap();
    let cat = CategoryInput { entity_id: Some(w.school_a.0), name: Some("Matériel".into()), ..Default::default() };
    let cat = helpdesk::create_category(&mut tx, &sys, &cat).await.unwrap();
    let input = AssetInput {
        kind: Some("computer".into()),
        entity_id: Some(w.school_a.0),
        name: Some("PC-SECRETARIAT".into()),
        asset_tag: Some("GPI-4242".into()),
        model: Some("OptiPlex 7010".into()),
        ..Default::default()
    };
    let asset = assets::create(&mut tx, &sys, w.store.cipher(), &input.validate(None).unwrap()).await.unwrap();
    tx.commit().await.unwrap();
    let extra = json!({"category_id": cat.id.0, "location_id": w.site_a, "asset_ids": [asset.0],
        "on_behalf_user_id": w.requester_a.id.0, "kind": "incident"});
    w.ticket(&w.hotline_a.token, w.school_a, "Écran noir au secrétariat", extra).await
}

async fn get_bytes(w: &World, req: Request<Body>) -> (StatusCode, Option<String>, Vec<u8>) {
    let resp = tower::ServiceExt::oneshot(w.app.clone(), req).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned());
    let body = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes().to_vec();
    (status, ct, body)
}

#[tokio::test]
async fn intervention_sheets_on_every_backend() {
    if !tools_available() {
        return;
    }
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let w = world(&db).await;
        let ticket = full_ticket(&w).await;
        mailed_sheet(&w, ticket).await;
        signed_on_the_page(&w, ticket).await;
        signed_through_the_api(&w, ticket).await;
    }
}

/// Creating an on-site appointment e-mails the sheet; the worker sends it to the SMTP server.
async fn mailed_sheet(w: &World, ticket: i64) {
    let port = free_port();
    let Some(sink) = Sink::start(port) else { return };
    // Sending off: nothing is enqueued for the sheet.
    let start = paris(future_monday() + Duration::days(3), 14, 0);
    let quiet =
        w.task(&w.hotline_a.token, ticket, appointment(w.tech.id, start, 60, true, "Avant la messagerie")).await;
    let mut c = w.store.read().await.unwrap();
    let pending = parc_store::jobs::pending(&mut c, 1000).await.unwrap();
    drop(c);
    assert!(!pending.iter().any(|j| j.payload.contains("application/pdf")), "no sheet while sending is off: {quiet}");
    configure(&w.store, port, true).await;

    // Through the page's task form (on site, with the hardware to bring).
    let day = future_monday() + Duration::days(1);
    let csrf = &w.hotline_a.session.1;
    let form = format!(
        "csrf={csrf}&description=Remplacer+l%27%C3%A9cran&technician_user_id={}&planned_start={day}T09%3A00&planned_end={day}T10%3A30&on_site=1&hardware_needed=C%C3%A2ble+HDMI",
        w.tech.id
    );
    let (s, _) = send(&w.app, page_post(&format!("/tickets/{ticket}/tasks"), &w.hotline_a.session, &form)).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    // A remote task sends no sheet.
    w.task(
        &w.hotline_a.token,
        ticket,
        json!({"description": "Prise en main à distance", "technician_user_id": w.tech.id.0}),
    )
    .await;

    for _ in 0..5 {
        let r = run_once(&w.store, "test-worker", 50, Utc::now()).await.unwrap();
        if r.claimed == 0 && r.notices == 0 {
            break;
        }
    }
    let with_sheet: Vec<(Vec<String>, String)> =
        sink.received().into_iter().filter(|(_, raw)| raw.contains("application/pdf")).collect();
    assert_eq!(with_sheet.len(), 1, "one sheet e-mail");
    let (rcpt, raw) = &with_sheet[0];
    assert_eq!(rcpt, &vec!["tech@example.org".to_owned()]);
    let message = sink.messages().into_iter().find(|m| m.subject.starts_with("Intervention sur site")).unwrap();
    assert_eq!(message.subject, format!("Intervention sur site : ticket #{ticket} – Écran noir au secrétariat"));
    assert!(message.body.contains("/sign") && message.body.contains(&format!("/tickets/{ticket}")), "{}", message.body);
    let (name, pdf) = attachment(raw).expect("a PDF attachment");
    assert!(name.starts_with(&format!("fiche-intervention-{ticket}-")) && name.ends_with(".pdf"), "{name}");
    let text = pdf_text(&pdf);
    for field in [
        "Fiche d'intervention",
        &format!("#{ticket}"),
        "Mme Dupont",
        "05 55 12 34 56",
        "Rémi Requester",
        "01 23 45 67 89",
        "Hélène Hotline",
        "Écran noir au secrétariat",
        "Matériel",
        "Bâtiment principal",
        "GPI-4242",
        "OptiPlex 7010",
        "Câble HDMI",
        "Incident",
        "Théo Technicien",
        "L'écran reste noir au démarrage.",
        &format!("{}", day.format("%d/%m/%Y")),
        "Signature de l'usager",
    ] {
        assert!(text.contains(field), "{field:?} missing from the sheet:\n{text}");
    }
    configure(&w.store, port, false).await;
}

async fn on_site_task(w: &World, ticket: i64, what: &str) -> i64 {
    let start = paris(future_monday() + Duration::days(2), 15, 0);
    w.task(&w.tech.token, ticket, appointment(w.tech.id, start, 60, true, what)).await["id"].as_i64().unwrap()
}

/// The audit's SHA-256 of the signature of `task`.
async fn audited_sha(w: &World, ticket: i64, task: i64) -> Option<String> {
    let mut c = w.store.read().await.unwrap();
    let trail = audit::for_object(&mut c, ObjectType::Ticket, ticket, 500).await.unwrap();
    trail
        .iter()
        .filter(|e| e.action == AuditAction::Sign.as_str())
        .find(|e| e.changes.iter().any(|ch| ch.field == "task" && ch.new.as_deref() == Some(&format!("#{task}"))))
        .and_then(|e| e.changes.iter().find(|ch| ch.field == "sha256").and_then(|ch| ch.new.clone()))
}

async fn signed_on_the_page(w: &World, ticket: i64) {
    let task = on_site_task(w, ticket, "Intervention à signer sur la tablette").await;
    let uri = format!("/tickets/{ticket}/tasks/{task}/sign");
    let (s, html) = send(&w.app, page_get(&uri, &w.tech.session)).await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("data-signature-pad") && html.contains("/static/signature.js"), "{html}");
    assert!(html.contains(&format!("/tickets/{ticket}/tasks/{task}/sheet.pdf?blank=1")), "the paper way: {html}");
    let (s, _, js) = get_bytes(w, page_get("/static/signature.js", &w.tech.session)).await;
    assert!(s == StatusCode::OK && String::from_utf8_lossy(&js).contains("pointerdown"));

    // Not an image: 422 and nothing written.
    let csrf = &w.tech.session.1;
    let form = |sig: &str| {
        format!(
            "csrf={csrf}&duration_minutes=75&signer_name=Jeanne+Martin&report=%C3%89cran+remplac%C3%A9&signature={}",
            urlencode(sig)
        )
    };
    let (s, html) =
        send(&w.app, page_post(&uri, &w.tech.session, &form("data:image/png;base64,SGVsbG8gd29ybGQ="))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{}", String::from_utf8_lossy(&html));
    assert!(String::from_utf8(html).unwrap().contains("La signature doit être une image PNG"));
    assert_eq!(audited_sha(w, ticket, task).await, None);

    // Signed: back to the ticket, which lists the signed sheet with its SHA-256.
    let png = signature_png();
    let (s, _) = send(&w.app, page_post(&uri, &w.tech.session, &form(&format!("data:image/png;base64,{png}")))).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let sha = audited_sha(w, ticket, task).await.expect("the SHA-256 is in the audit trail");
    let (_, html) = send(&w.app, page_get(&format!("/tickets/{ticket}"), &w.tech.session)).await;
    let html = String::from_utf8(html).unwrap();
    let link = html.find("href=\"/documents/").expect("a link to the signed sheet");
    let doc: i64 = html[link + 17..].split('"').next().unwrap().parse().unwrap();
    assert!(html.contains(&sha), "the ticket page shows the SHA-256: {html}");

    let (s, ct, pdf) = get_bytes(w, page_get(&format!("/documents/{doc}"), &w.tech.session)).await;
    assert_eq!((s, ct.as_deref()), (StatusCode::OK, Some("application/pdf")));
    assert_eq!(sha256(&pdf), sha, "the audited SHA-256 is the stored document's");
    let text = pdf_text(&pdf);
    assert!(text.contains("Jeanne Martin") && text.contains("1 h 15 min") && text.contains("Écran remplacé"), "{text}");
    assert!(pdf_images(&pdf).contains(&(200, 80)), "the signature image is embedded");
    let (_, t) = api(&w.app, &w.tech.token, Method::GET, &format!("/tickets/{ticket}"), None).await;
    let k = t["tasks"].as_array().unwrap().iter().find(|k| k["id"] == task).unwrap().clone();
    assert_eq!(
        (k["done"].clone(), k["signer_name"].clone(), k["duration_minutes"].clone()),
        (json!(true), json!("Jeanne Martin"), json!(75))
    );

    // Signing again: 409 with the message; the sheet download is the stored one.
    let (s, html) = send(&w.app, page_post(&uri, &w.tech.session, &form(&png))).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(String::from_utf8(html).unwrap().contains("Cette intervention est déjà signée."));
    let (_, _, sheet) =
        get_bytes(w, page_get(&format!("/tickets/{ticket}/tasks/{task}/sheet.pdf"), &w.tech.session)).await;
    assert_eq!(sha256(&sheet), sha);

    // Scope: a technician of school B does not see it; the user the ticket is for may open the
    // signed sheet of a public task, but not the technicians' sheets.
    let (s, _, _) = get_bytes(w, page_get(&format!("/documents/{doc}"), &w.tech_b.session)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = get_bytes(w, api_request(&w.tech_b.token, Method::GET, &format!("/documents/{doc}"), None)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) =
        get_bytes(w, api_request(&w.requester_a.token, Method::GET, &format!("/documents/{doc}"), None)).await;
    assert_eq!(s, StatusCode::OK);
    let sheet_uri = format!("/tickets/{ticket}/tasks/{task}/sheet.pdf");
    let (s, _, _) = get_bytes(w, api_request(&w.requester_a.token, Method::GET, &sheet_uri, None)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

async fn signed_through_the_api(w: &World, ticket: i64) {
    let task = on_site_task(w, ticket, "Intervention signée par l'API").await;
    let uri = format!("/tickets/{ticket}/tasks/{task}/signature");
    let body = |sig: &str| json!({"signer_name": "Paul Durand", "duration_minutes": 30, "report": "RAS", "signature_png": sig});

    // Not images: 422 on the field, nothing written.
    let jpeg = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/";
    for bad in ["pas du base64 !", "SGVsbG8=", jpeg, ""] {
        let (s, e) = api(&w.app, &w.tech.token, Method::POST, &uri, Some(body(bad))).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{bad}: {e}");
        assert_eq!(e["error"]["details"]["fields"][0]["field"], "signature_png", "{e}");
    }
    let (s, e) = api(
        &w.app,
        &w.tech.token,
        Method::POST,
        &uri,
        Some(json!({"signer_name": "", "duration_minutes": 0, "signature_png": signature_png()})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let fields: Vec<&str> =
        e["error"]["details"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, vec!["signer_name", "duration_minutes"]);
    let mut c = w.store.read().await.unwrap();
    assert!(helpdesk::signed_sheet(&mut c, TaskId(task)).await.unwrap().is_none());
    assert!(!helpdesk::task(&mut c, TaskId(task)).await.unwrap().unwrap().done);
    drop(c);
    assert_eq!(audited_sha(w, ticket, task).await, None);

    // Unsigned, the sheet is the current one; blank, it has no signature nor on-site values.
    let sheet_uri = format!("/tickets/{ticket}/tasks/{task}/sheet.pdf");
    let (s, ct, blank) =
        get_bytes(w, api_request(&w.hotline_a.token, Method::GET, &format!("{sheet_uri}?blank=true"), None)).await;
    assert_eq!((s, ct.as_deref()), (StatusCode::OK, Some("application/pdf")));
    assert!(pdf_images(&blank).is_empty() && pdf_text(&blank).contains("GPI-4242"));

    // Signed: 201 with the document; its bytes hash to the audited SHA-256.
    let (s, doc) = api(&w.app, &w.tech.token, Method::POST, &uri, Some(body(&signature_png()))).await;
    assert_eq!(s, StatusCode::CREATED, "{doc}");
    let sha = audited_sha(w, ticket, task).await.unwrap();
    assert_eq!(doc["sha256"], sha);
    let (s, ct, pdf) =
        get_bytes(w, api_request(&w.tech.token, Method::GET, &format!("/documents/{}", doc["id"]), None)).await;
    assert_eq!((s, ct.as_deref()), (StatusCode::OK, Some("application/pdf")));
    assert_eq!((sha256(&pdf), pdf.len() as i64), (sha.clone(), doc["size"].as_i64().unwrap()));
    assert!(pdf_text(&pdf).contains("Paul Durand") && pdf_images(&pdf).contains(&(200, 80)));
    let (_, _, sheet) = get_bytes(w, api_request(&w.tech.token, Method::GET, &sheet_uri, None)).await;
    assert_eq!(sheet, pdf, "once signed, the sheet is the stored document");
    let (s, e) = api(&w.app, &w.tech.token, Method::POST, &uri, Some(body(&signature_png()))).await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")));

    // Out of scope and unknown: 404; not a technician of the entity: 403.
    let (s, _) = api(&w.app, &w.tech_b.token, Method::POST, &uri, Some(body(&signature_png()))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api(&w.app, &w.requester_a.token, Method::POST, &uri, Some(body(&signature_png()))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _, _) = get_bytes(w, api_request(&w.tech.token, Method::GET, "/documents/999999", None)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _, _) = get_bytes(
        w,
        api_request(&w.tech.token, Method::GET, &format!("/tickets/{ticket}/tasks/999999/sheet.pdf"), None),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // A remote task is not signed.
    let remote = w.task(&w.tech.token, ticket, json!({"description": "À distance"})).await["id"].as_i64().unwrap();
    let (s, e) = api(
        &w.app,
        &w.tech.token,
        Method::POST,
        &format!("/tickets/{ticket}/tasks/{remote}/signature"),
        Some(body(&signature_png())),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(e["error"]["details"]["fields"][0]["code"], "not_on_site");
}

// ---- the calendar feed over HTTP ----

#[tokio::test]
async fn calendar_feed_over_http() {
    if !tools_available() {
        return;
    }
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let w = world(&db).await;
        feed(&w).await;
    }
}

async fn feed(w: &World) {
    let monday = future_monday();
    let a =
        w.ticket(&w.hotline_a.token, w.school_a, "Vidéoprojecteur, salle 12", json!({"location_id": w.site_a})).await;
    let b = w.ticket(&w.tech.token, w.school_b, "Imprimante; bac 2", json!({})).await;
    let k1 =
        w.task(&w.hotline_a.token, a, appointment(w.tech.id, paris(monday, 9, 0), 90, true, "Changer la lampe")).await;
    let k2 = w.task(&w.tech.token, b, appointment(w.tech.id, paris(monday, 14, 0), 30, false, "Bourrage")).await;
    // Ticket b is solved: its open appointment will not take place.
    let (s, v) = api(
        &w.app,
        &w.tech.token,
        Method::POST,
        &format!("/tickets/{b}/status"),
        Some(json!({"status": "solved", "solution": "Réglé par téléphone"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{v}");
    // Too old for the feed (more than 30 days ago), and someone else's appointment.
    let old = Utc::now() - Duration::days(40);
    w.task(&w.tech.token, a, appointment(w.tech.id, old, 30, false, "Ancien")).await;
    w.task(&w.hotline_a.token, a, appointment(w.hotline_a.id, paris(monday, 9, 0), 30, false, "Autre")).await;

    let (s, v) = api(&w.app, &w.tech.token, Method::POST, "/planning/feed", None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let path = v["url"].as_str().unwrap().split("/ical/").nth(1).unwrap().to_owned();

    // A real server on a loopback port, fetched by Python and parsed with `icalendar`.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = w.app.clone();
    let server = tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let url = format!("http://{addr}/ical/{path}");
    let (cal, raw) = fetch_calendar(url.clone()).await;
    assert_eq!(cal["name"], "Planning Théo Technicien");
    let events = cal["events"].as_array().unwrap();
    assert_eq!(events.len(), 2, "{cal}");
    let e1 =
        events.iter().find(|e| e["UID"] == format!("parc-task-{}@127.0.0.1", k1["id"])).expect("stable UID per task");
    assert_eq!(e1["SUMMARY"], format!("#{a} Vidéoprojecteur, salle 12"));
    assert_eq!(e1["LOCATION"], "Bâtiment principal, 3 rue des Écoles, Limoges");
    assert!(e1["DESCRIPTION"].as_str().unwrap().contains(&format!("http://{addr}/tickets/{a}")), "{e1}");
    assert_eq!(e1["start"], paris(monday, 9, 0).to_rfc3339());
    assert_eq!(e1["end"], paris(monday, 10, 30).to_rfc3339());
    assert_eq!(e1["STATUS"], "CONFIRMED");
    let e2 = events.iter().find(|e| e["UID"] == format!("parc-task-{}@127.0.0.1", k2["id"])).unwrap();
    assert_eq!(
        (e2["SUMMARY"].as_str(), e2["STATUS"].as_str()),
        (Some(format!("#{b} Imprimante; bac 2").as_str()), Some("CANCELLED"))
    );
    // Byte-identical on the next request.
    let (_, again) = fetch_calendar(url).await;
    assert_eq!(raw, again);
    server.abort();

    // Malformed, unknown and (after regeneration) old tokens: 404 with a short text.
    let (s, v) = api(&w.app, &w.tech.token, Method::POST, "/planning/feed", None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let unknown = "A".repeat(43);
    for bad in [
        "abc.ics",
        &format!("{unknown}.ics"),
        path.trim_end_matches(".ics"),
        &path,
        "..%2F..%2Fetc%2Fpasswd.ics",
        &format!("{}x.ics", &unknown[..42]),
    ] {
        let req = Request::builder().uri(format!("/ical/{bad}")).body(Body::empty()).unwrap();
        let (s, ct, body) = get_bytes(w, req).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{bad}");
        assert_eq!(ct.as_deref(), Some("text/plain; charset=utf-8"), "{bad}");
        assert!(String::from_utf8(body).unwrap().contains("Flux d'agenda inconnu"), "{bad}");
    }
    let fresh = v["url"].as_str().unwrap().split("/ical/").nth(1).unwrap().to_owned();
    let req = Request::builder().uri(format!("/ical/{fresh}")).body(Body::empty()).unwrap();
    let (s, ct, _) = get_bytes(w, req).await;
    assert_eq!((s, ct.as_deref()), (StatusCode::OK, Some("text/calendar; charset=utf-8")));
}
