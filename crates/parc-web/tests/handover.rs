//! Phone hand-over receipts and the contacts helper end to end, on every backend, with real
//! tools:
//!
//! - the form page and a hand-over through the page and the API: the stored receipt read back
//!   with `pdftotext` holds every field of the paper form (PUK included) and both signature
//!   images (`pdfimages`), its SHA-256 is in the audit trail and equals the stored document's,
//!   the SIM moved into the new phone and statuses and users followed;
//! - refusals write nothing: a SIM of another entity (422), a signature that is not a PNG
//!   (422), a device outside the caller's scope (404); the receipt is 404 out of scope;
//! - the receipt e-mail reaches a real SMTP server (aiosmtpd) with the PDF attached;
//! - contacts: a vCard upload through the page (summary) and the API (summary, merged file,
//!   ZIP of batches); a malformed file is a 422 with the reason.
//!
//! Without python3 (+ aiosmtpd) or poppler-utils a test fails when `CI` is set and is skipped
//! with a loud notice otherwise.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::Utc;
use parc_core::assets::{AssetInput, AssetStatus, LinkKind};
use parc_core::audit::{AuditAction, ObjectType};
use parc_core::{AssetId, EntityId, UserId};
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
use common::{api, api_request, page_get, send};
use pdf_tools::{available, run, signature_png};
use planning_world::{world, World};
use smtp_sink::{configure, free_port, Sink};

/// The text of a PDF by `pdftotext -layout`, runs of spaces squeezed.
fn pdf_text(pdf: &[u8]) -> String {
    let text = String::from_utf8(run("pdftotext", &["-layout", "-enc", "UTF-8", "-", "-"], Some(pdf))).unwrap();
    text.lines().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect::<Vec<_>>().join("\n")
}

fn pdf_image_count(pdf: &[u8]) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("receipt.pdf");
    std::fs::write(&path, pdf).unwrap();
    let list = String::from_utf8(run("pdfimages", &["-list", path.to_str().unwrap()], None)).unwrap();
    list.lines().skip_while(|l| !l.starts_with("---")).skip(1).filter(|l| !l.trim().is_empty()).count()
}

/// The PDF attached to a raw e-mail, with its file name.
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
    use base64::Engine;
    let out = run("python3", &["-c", SCRIPT], Some(raw.as_bytes()));
    let v: Value = serde_json::from_slice(&out).ok()?;
    let bytes = base64::engine::general_purpose::STANDARD.decode(v["b64"].as_str()?).ok()?;
    Some((v["name"].as_str()?.to_owned(), bytes))
}

fn sha256(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

async fn get_bytes(w: &World, req: Request<Body>) -> (StatusCode, Option<String>, Vec<u8>) {
    let resp = tower::ServiceExt::oneshot(w.app.clone(), req).await.unwrap();
    let status = resp.status();
    let ct = resp.headers().get(header::CONTENT_TYPE).map(|v| v.to_str().unwrap().to_owned());
    let body = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes().to_vec();
    (status, ct, body)
}

// ---- fixtures ----

struct Phones {
    old: AssetId,
    new: AssetId,
    sim: AssetId,
    line: AssetId,
    sim_b: AssetId,
    phone_b: AssetId,
}

async fn create(w: &World, input: AssetInput) -> AssetId {
    let mut tx = w.store.write().await.unwrap();
    let id = assets::create(&mut tx, &Actor::system("test"), w.store.cipher(), &input.validate(None).unwrap()).await;
    tx.commit().await.unwrap();
    id.unwrap()
}

fn device(entity: EntityId, name: &str, tag: &str, imei: &str, user: Option<UserId>) -> AssetInput {
    AssetInput {
        kind: Some("mobile_phone".into()),
        entity_id: Some(entity.0),
        name: Some(name.into()),
        asset_tag: Some(tag.into()),
        manufacturer: Some("Samsung".into()),
        model: Some("Galaxy A15".into()),
        imei: Some(imei.into()),
        status: Some(if user.is_some() { "in_use" } else { "in_stock" }.into()),
        assigned_user_id: user.map(|u| u.0),
        ..Default::default()
    }
}

fn sim(entity: EntityId, name: &str, iccid: &str, puk: &str) -> AssetInput {
    AssetInput {
        kind: Some("sim_card".into()),
        entity_id: Some(entity.0),
        name: Some(name.into()),
        iccid: Some(iccid.into()),
        puk: Some(puk.into()),
        status: Some("in_use".into()),
        ..Default::default()
    }
}

async fn phones(w: &World) -> Phones {
    let user = Some(w.requester_a.id);
    let old = create(w, device(w.school_a, "TEL-ANCIEN", "GPI-0101", "353456789012348", user)).await;
    let new = create(w, device(w.school_a, "TEL-NEUF", "GPI-0202", "353456789012355", None)).await;
    let sim_id = create(w, sim(w.school_a, "SIM Orange", "8933150319012345670", "87654321")).await;
    let line = create(
        w,
        AssetInput {
            kind: Some("phone_line".into()),
            entity_id: Some(w.school_a.0),
            name: Some("Ligne Rémi".into()),
            line_number: Some("06 12 34 56 78".into()),
            line_type: Some("mobile".into()),
            status: Some("in_use".into()),
            ..Default::default()
        },
    )
    .await;
    let sim_b = create(w, sim(w.school_b, "SIM B", "8933150319012345688", "11112222")).await;
    let phone_b = create(w, device(w.school_b, "TEL-B", "GPI-0909", "490154203237518", None)).await;
    let sys = Actor::system("test");
    let mut tx = w.store.write().await.unwrap();
    let s = assets::get(&mut tx, sim_id).await.unwrap().unwrap();
    let o = assets::get(&mut tx, old).await.unwrap().unwrap();
    let l = assets::get(&mut tx, line).await.unwrap().unwrap();
    assets::link(&mut tx, &sys, &s, &o).await.unwrap();
    assets::link(&mut tx, &sys, &l, &s).await.unwrap();
    tx.commit().await.unwrap();
    Phones { old, new, sim: sim_id, line, sim_b, phone_b }
}

fn body(w: &World, p: &Phones, signature: &str) -> Value {
    json!({
        "recipient_user_id": w.requester_a.id.0,
        "department": "Vie scolaire",
        "location_id": w.site_a,
        "reason": "Écran cassé",
        "delivered_asset_id": p.new.0,
        "delivered_sim_id": p.sim.0,
        "delivered_line_id": p.line.0,
        "returned_asset_id": p.old.0,
        "accessories_delivered": ["charger", "hands_free", "box"],
        "accessories_returned": ["charger"],
        "returned_reset": true,
        "user_signature": signature,
        "technician_signature": format!("data:image/png;base64,{signature}"),
    })
}

async fn handover_count(w: &World) -> usize {
    let (s, list) = api(&w.app, &w.tech.token, Method::GET, "/handovers", None).await;
    assert_eq!(s, StatusCode::OK, "{list}");
    list.as_array().unwrap().len()
}

async fn audited_sha(w: &World, id: i64) -> Option<String> {
    let mut c = w.store.read().await.unwrap();
    let trail = audit::for_object(&mut c, ObjectType::Handover, id, 10).await.unwrap();
    let created = trail.into_iter().find(|e| e.action == AuditAction::Create.as_str())?;
    created.changes.into_iter().find(|ch| ch.field == "sha256").and_then(|ch| ch.new)
}

#[tokio::test]
async fn handover_and_contacts_on_every_backend() {
    if !(available("pdftotext", "pdftotext", &["-v"]) && available("pdfimages", "pdfimages", &["-v"])) {
        return;
    }
    let png = signature_png();
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let w = world(&db).await;
        let p = phones(&w).await;
        form_page(&w, &p).await;
        refusals(&w, &p, &png).await;
        let port = free_port();
        let sink = Sink::start(port);
        if sink.is_some() {
            configure(&w.store, port, true).await;
        }
        let id = through_the_api(&w, &p, &png).await;
        if let Some(sink) = sink {
            mailed_receipt(&w, &sink, id).await;
        }
        through_the_page(&w, &png).await;
        contacts(&w).await;
        w.store.close().await;
    }
}

async fn form_page(w: &World, p: &Phones) {
    let (s, html) = send(&w.app, page_get(&format!("/handover/new?asset={}", p.new), &w.tech.session)).await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!(s, StatusCode::OK, "{html}");
    assert_eq!(html.matches("data-signature-pad").count(), 2, "two signature pads");
    assert!(html.contains(&format!("<option value=\"{}\" selected>GPI-0202", p.new)), "pre-selected: {html}");
    for name in ["delivered_charger", "returned_case", "returned_reset", "location_id", "department", "reason"] {
        assert!(html.contains(&format!("name=\"{name}\"")), "{name} missing");
    }
    assert!(html.contains("/static/signature.js") && html.contains("/static/handover.css"));
    let (s, _, css) = get_bytes(w, page_get("/static/handover.css", &w.tech.session)).await;
    assert!(s == StatusCode::OK && String::from_utf8_lossy(&css).contains("@media"));
    // The phone's page links to the form.
    let (_, html) = send(&w.app, page_get(&format!("/assets/{}", p.new), &w.tech.session)).await;
    assert!(String::from_utf8(html).unwrap().contains(&format!("/handover/new?asset={}", p.new)));
    // A requester may not record hand-overs.
    let (s, _) = send(&w.app, page_get("/handover/new", &w.requester_a.session)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn refusals(w: &World, p: &Phones, png: &str) {
    let uri = "/handovers";
    // Another school's SIM: 422 on the field.
    let mut b = body(w, p, png);
    b["delivered_sim_id"] = json!(p.sim_b.0);
    let (s, e) = api(&w.app, &w.tech.token, Method::POST, uri, Some(b)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["details"]["fields"][0]["field"], "delivered_sim_id", "{e}");
    assert_eq!(e["error"]["details"]["fields"][0]["code"], "other_entity", "{e}");
    // Another school's phone given back: the same.
    let mut b = body(w, p, png);
    b["returned_asset_id"] = json!(p.phone_b.0);
    let (s, e) = api(&w.app, &w.tech.token, Method::POST, uri, Some(b)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["details"]["fields"][0]["field"], "returned_asset_id", "{e}");
    // Signatures that are not PNG images.
    let mut b = body(w, p, png);
    b["user_signature"] = json!("SGVsbG8gd29ybGQ=");
    b["technician_signature"] = json!("");
    let (s, e) = api(&w.app, &w.tech.token, Method::POST, uri, Some(b)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    let fields: Vec<&str> =
        e["error"]["details"]["fields"].as_array().unwrap().iter().map(|f| f["field"].as_str().unwrap()).collect();
    assert_eq!(fields, ["user_signature", "technician_signature"]);
    // A device of school B for a technician of school A's scope only? tech_b cannot see school A.
    let (s, e) = api(&w.app, &w.tech_b.token, Method::POST, uri, Some(body(w, p, png))).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "{e}");
    // Unknown accessories and wrong kinds.
    let mut b = body(w, p, png);
    b["accessories_delivered"] = json!(["jetpack"]);
    b["delivered_asset_id"] = json!(p.sim.0);
    let (s, e) = api(&w.app, &w.tech.token, Method::POST, uri, Some(b)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    // The new phone's preparation checklist has open mandatory steps: it cannot be handed over.
    let run = json!({ "asset_id": p.new.0, "builtin": "mobile_phone" });
    let (s, run) = api(&w.app, &w.tech.token, Method::POST, "/checklists/runs", Some(run)).await;
    assert_eq!(s, StatusCode::CREATED, "{run}");
    let (s, e) = api(&w.app, &w.tech.token, Method::POST, uri, Some(body(w, p, png))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["details"]["fields"][0]["code"], "checklist_open", "{e}");
    // Abandoned (audited), the checklist no longer holds the phone back.
    let run_uri = format!("/checklists/runs/{}", run["id"]);
    assert_eq!(api(&w.app, &w.tech.token, Method::DELETE, &run_uri, None).await.0, StatusCode::NO_CONTENT);
    // Nothing was written: no hand-over, the SIM still in the old phone, the new phone in stock.
    assert_eq!(handover_count(w).await, 0);
    let mut c = w.store.read().await.unwrap();
    let links = assets::links_of(&mut c, p.sim).await.unwrap();
    assert!(links.iter().any(|l| l.kind == LinkKind::SimIn && l.to_asset_id == p.old));
    assert_eq!(assets::get(&mut c, p.new).await.unwrap().unwrap().status, AssetStatus::InStock);
    let jobs = parc_store::jobs::pending(&mut c, 100).await.unwrap();
    assert!(!jobs.iter().any(|j| j.payload.contains("application/pdf")), "no e-mail");
}

async fn through_the_api(w: &World, p: &Phones, png: &str) -> i64 {
    let (s, h) = api(&w.app, &w.tech.token, Method::POST, "/handovers", Some(body(w, p, png))).await;
    assert_eq!(s, StatusCode::CREATED, "{h}");
    let id = h["id"].as_i64().unwrap();
    assert_eq!(h["recipient_name"], "Rémi Requester");
    assert_eq!(h["technician_name"], "Théo Technicien", "the caller by default");
    let (s, ct, pdf) =
        get_bytes(w, api_request(&w.tech.token, Method::GET, &format!("/handovers/{id}/receipt.pdf"), None)).await;
    assert_eq!((s, ct.as_deref()), (StatusCode::OK, Some("application/pdf")));
    let sha = sha256(&pdf);
    assert_eq!(h["sha256"].as_str(), Some(sha.as_str()));
    assert_eq!(audited_sha(w, id).await.as_deref(), Some(sha.as_str()), "the audit holds the stored PDF's SHA-256");
    let text = pdf_text(&pdf);
    for field in [
        "Bordereau de remise de téléphone mobile",
        &format!("R-{id:06}"),
        "Direction / service Vie scolaire",
        "Site Bâtiment principal",
        "Utilisateur Rémi Requester",
        "Technicien Théo Technicien",
        "Motif Écran cassé",
        "Matériel remis",
        "Matériel restitué",
        "Type Téléphone mobile",
        "Marque et modèle Samsung Galaxy A15",
        "N° d'inventaire GPI-0202",
        "N° d'inventaire GPI-0101",
        "IMEI 353456789012355",
        "IMEI 353456789012348",
        "N° de ligne 06 12 34 56 78",
        "N° de carte SIM 8933150319012345670",
        "Code PUK 87654321",
        "X Chargeur",
        "X Kit mains libres",
        "X Boîte",
        "X Appareil restitué réinitialisé par le technicien",
        "Signature de l'usager",
        "Signature du technicien",
    ] {
        assert!(text.contains(field), "{field:?} missing from the receipt:\n{text}");
    }
    assert!(!text.contains("X Étui"), "an unticked accessory has no mark:\n{text}");
    assert_eq!(pdf_image_count(&pdf), 2, "both signatures are embedded");

    let mut c = w.store.read().await.unwrap();
    let new = assets::get(&mut c, p.new).await.unwrap().unwrap();
    assert_eq!((new.status, new.assigned_user_id), (AssetStatus::InUse, Some(w.requester_a.id)));
    assert_eq!(new.location_id.map(|l| l.0), Some(w.site_a));
    let old = assets::get(&mut c, p.old).await.unwrap().unwrap();
    assert_eq!((old.status, old.assigned_user_id), (AssetStatus::InStock, None));
    let links = assets::links_of(&mut c, p.sim).await.unwrap();
    assert!(links.iter().any(|l| l.kind == LinkKind::SimIn && l.to_asset_id == p.new), "{links:?}");
    assert!(links.iter().any(|l| l.kind == LinkKind::LineOn && l.from_asset_id == p.line), "{links:?}");
    drop(c);

    // Out of scope: 404 for the receipt, the hand-over, and the list does not show it.
    for uri in [format!("/handovers/{id}/receipt.pdf"), format!("/handovers/{id}")] {
        let (s, _, _) = get_bytes(w, api_request(&w.tech_b.token, Method::GET, &uri, None)).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "{uri}");
    }
    let (_, list) = api(&w.app, &w.tech_b.token, Method::GET, "/handovers", None).await;
    assert_eq!(list, json!([]));
    let (s, _, _) = get_bytes(w, page_get(&format!("/handover/{id}/receipt.pdf"), &w.tech_b.session)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    // The list page shows it with its SHA-256.
    let (_, html) = send(&w.app, page_get("/handover", &w.tech.session)).await;
    let html = String::from_utf8(html).unwrap();
    assert!(html.contains(&sha) && html.contains(&format!("/handover/{id}/receipt.pdf")), "{html}");
    // The OpenAPI document describes the endpoints.
    let (_, doc) = api(&w.app, &w.tech.token, Method::GET, "/openapi.json", None).await;
    for path in ["/handovers", "/handovers/{id}", "/handovers/{id}/receipt.pdf", "/contacts/vcard"] {
        assert!(doc["paths"][path].is_object(), "{path} missing from the OpenAPI document");
    }
    id
}

async fn mailed_receipt(w: &World, sink: &Sink, id: i64) {
    for _ in 0..5 {
        let r = run_once(&w.store, "test-worker", 50, Utc::now()).await.unwrap();
        if r.claimed == 0 && r.notices == 0 {
            break;
        }
    }
    let mails: Vec<(Vec<String>, String)> =
        sink.received().into_iter().filter(|(_, raw)| raw.contains("application/pdf")).collect();
    assert_eq!(mails.len(), 1, "one receipt e-mail");
    assert_eq!(mails[0].0, vec!["requester.a@example.org".to_owned()]);
    let message = sink.messages().into_iter().find(|m| m.subject.contains(&format!("R-{id:06}"))).expect("subject");
    assert_eq!(message.subject, format!("Bordereau de remise R-{id:06} : TEL-NEUF"));
    assert!(message.body.contains("Bonjour Rémi Requester"), "{}", message.body);
    let (name, pdf) = attachment(&mails[0].1).expect("a PDF attachment");
    assert_eq!(name, format!("bordereau-remise-R-{id:06}.pdf"));
    assert_eq!(audited_sha(w, id).await, Some(sha256(&pdf)), "the mailed PDF is the stored one");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A second hand-over through the page: the user gets the old phone back (nothing returned).
async fn through_the_page(w: &World, png: &str) {
    let phone = create(w, device(w.school_a, "TEL-PRET", "GPI-0303", "353456789012363", None)).await;
    let before = handover_count(w).await;
    let form = |user_sig: &str| {
        format!(
            "csrf={}&recipient_user_id={}&technician_user_id={}&delivered_asset_id={phone}&delivered_charger=1&reason=Pr%C3%AAt&user_signature={}&technician_signature={}",
            w.tech.session.1,
            w.requester_a.id,
            w.tech.id,
            urlencode(user_sig),
            urlencode(&format!("data:image/png;base64,{png}"))
        )
    };
    let (s, html) =
        send(&w.app, common::page_post("/handover/new", &w.tech.session, &form("data:image/png;base64,AAAA"))).await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{html}");
    assert!(html.contains("Pr\u{ea}t") && html.contains("La signature doit être dessinée à l&#39;écran."), "{html}");
    assert_eq!(handover_count(w).await, before, "nothing written");
    let (s, _) = send(&w.app, common::page_post("/handover/new", &w.tech.session, &form(png))).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    assert_eq!(handover_count(w).await, before + 1);
    let mut c = w.store.read().await.unwrap();
    assert_eq!(assets::get(&mut c, phone).await.unwrap().unwrap().status, AssetStatus::InUse);
}

async fn contacts(w: &World) {
    let vcf = "BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=UTF-8;ENCODING=QUOTED-PRINTABLE:Dupr=C3=A9;H=C3=A9l=C3=A8ne\r\nTEL;CELL:06 12 34 56 78\r\nEND:VCARD\r\n\
               BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Hélène Dupré\r\nN:Dupré;Hélène;;;\r\nTEL;TYPE=CELL:06.12.34.56.78\r\nEND:VCARD\r\n\
               BEGIN:VCARD\r\nVERSION:4.0\r\nFN:Paul Martin\r\nTEL;VALUE=uri;TYPE=cell:tel:+33-6-00-00-00-01\r\nEND:VCARD\r\n";
    let post = |mode: &str, body: &[u8]| {
        Request::builder()
            .method(Method::POST)
            .uri(format!("/api/v1/contacts/vcard?mode={mode}"))
            .header(header::AUTHORIZATION, format!("Bearer {}", w.tech.token))
            .header(header::CONTENT_TYPE, "text/vcard")
            .body(Body::from(body.to_vec()))
            .unwrap()
    };
    let (s, _, json) = get_bytes(w, post("summary", vcf.as_bytes())).await;
    assert_eq!(s, StatusCode::OK);
    let summary: Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(summary, json!({"parsed": 3, "duplicates": 1, "unique": 2, "batches": 1}));
    let (s, ct, merged) = get_bytes(w, post("merged", vcf.as_bytes())).await;
    assert_eq!((s, ct.as_deref()), (StatusCode::OK, Some("text/vcard; charset=utf-8")));
    let merged = String::from_utf8(merged).unwrap();
    assert_eq!(merged.matches("BEGIN:VCARD").count(), 2);
    assert!(merged.contains("FN:Hélène Dupré") && merged.contains("VERSION:3.0"), "{merged}");
    let (s, ct, zip) = get_bytes(w, post("batches", vcf.as_bytes())).await;
    assert_eq!((s, ct.as_deref()), (StatusCode::OK, Some("application/zip")));
    assert!(zip.starts_with(b"PK"));
    let (s, _, e) = get_bytes(w, post("summary", "BEGIN:VCARD\r\nFN:Coupé\r\n".as_bytes())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(String::from_utf8_lossy(&e).contains("has no END:VCARD"), "{}", String::from_utf8_lossy(&e));
    let (s, _, _) = get_bytes(w, post("everything", vcf.as_bytes())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // The page: a multipart upload, the summary shown.
    let boundary = "----parcboundary";
    let multipart = |mode: &str, file: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"mode\"\r\n\r\n{mode}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"contacts.vcf\"\r\nContent-Type: text/vcard\r\n\r\n{file}\r\n--{boundary}--\r\n",
            w.tech.session.1
        )
    };
    let page = |body: String| {
        Request::builder()
            .method(Method::POST)
            .uri("/contacts")
            .header(header::COOKIE, format!("parc_session={}", w.tech.session.0))
            .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
            .body(Body::from(body))
            .unwrap()
    };
    let (s, html) = send(&w.app, page(multipart("summary", vcf))).await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("<dd data-parsed>3</dd>") && html.contains("<dd data-duplicates>1</dd>"), "{html}");
    let (s, html) = send(&w.app, page(multipart("merged", "Nom;Téléphone\nJean;0600000000\n"))).await;
    let html = String::from_utf8(html).unwrap();
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("n&#39;est pas un export vCard lisible") && html.contains("line 1"), "{html}");
    let (s, _) = send(&w.app, page_get("/contacts", &w.tech.session)).await;
    assert_eq!(s, StatusCode::OK);
}
