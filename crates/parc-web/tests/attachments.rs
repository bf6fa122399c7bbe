//! Ticket attachments in-process on every backend: files attached with a follow-up from the
//! ticket page and through the API, downloaded byte for byte with the type sniffed from the
//! bytes; requesters' scope (someone else's ticket: 404) and private follow-ups' files (hidden
//! from the requester); an oversized file (413), an empty one (422), too many files, a missing
//! CSRF token: nothing stored; a path in the name is stripped; HTML is served as a download
//! with `nosniff`.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use parc_core::permissions::{Grant, Profile};
use parc_core::{EntityId, TicketId, UserId};
use parc_store::helpdesk::{self, Attachment, TicketInput};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_store::{audit, entities};
use parc_web::{AppState, WebConfig};
use serde_json::Value;

#[allow(dead_code)] // the shared helpers this suite does not need
#[macro_use]
mod common;
use common::{entity, page_get, reply, send, sys, Reply};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01\0\0\0\x01\x08\x06\0\0\0\x1f\x15\xc4\x89";
const MIB: usize = 1024 * 1024;

/// A school with a technician of the county and two requesters.
struct World {
    db: TestDb,
    app: Router,
    school: EntityId,
    tech: UserId,
    alice: UserId,
    /// Browser sessions (cookie value, CSRF token) and API tokens.
    tech_s: (String, String),
    alice_s: (String, String),
    tech_token: String,
    alice_token: String,
    bob_token: String,
}

async fn world(db: TestDb) -> World {
    let mut tx = db.store.write().await.unwrap();
    let county = entity(&mut tx, "Conseil départemental", None).await;
    let school = entity(&mut tx, "Collège A", Some(county)).await;
    let mut people = Vec::new();
    for (login, name, e, profile) in [
        ("tech", "Théo Technicien", county, Profile::Technician),
        ("alice", "Alice Martin", school, Profile::Requester),
        ("bob", "Bob Durand", school, Profile::Requester),
    ] {
        let input = UserInput {
            login: Some(login.into()),
            display_name: Some(name.into()),
            entity_id: Some(e.0),
            ..Default::default()
        };
        let u = users::create(&mut tx, &sys(), &input, None).await.unwrap();
        users::set_grants(&mut tx, &sys(), u.id, &[Grant { entity_id: e, profile, recursive: true }]).await.unwrap();
        let session = users::create_session(&mut tx, u.id, chrono::Duration::hours(1)).await.unwrap();
        let (_, token) = users::create_token(&mut tx, &sys(), u.id, "tests").await.unwrap();
        people.push((u.id, session, token));
    }
    tx.commit().await.unwrap();
    let state = AppState::new(db.store.clone(), WebConfig::default()).await.unwrap();
    let mut it = people.into_iter();
    let (tech, tech_s, tech_token) = it.next().unwrap();
    let (alice, alice_s, alice_token) = it.next().unwrap();
    let (_, _, bob_token) = it.next().unwrap();
    World { app: parc_web::router(state), db, school, tech, alice, tech_s, alice_s, tech_token, alice_token, bob_token }
}

/// Alice's ticket, opened in the store.
async fn alice_ticket(w: &World) -> TicketId {
    let mut tx = w.db.store.write().await.unwrap();
    let cfg = helpdesk::config(&mut tx).await.unwrap();
    let tree = entities::tree(&mut tx).await.unwrap();
    let input = TicketInput {
        entity_id: Some(w.school.0),
        title: Some("Écran bleu au démarrage".into()),
        requester_user_id: Some(w.alice.0),
        ..Default::default()
    };
    let t = helpdesk::create(&mut tx, &sys(), &cfg, &tree, &input).await.unwrap();
    tx.commit().await.unwrap();
    t.id
}

/// What the store holds, private ones included.
async fn stored(w: &World, t: TicketId) -> Vec<Attachment> {
    let mut c = w.db.store.read().await.unwrap();
    helpdesk::attachments_of(&mut c, t, true).await.unwrap()
}

async fn followup_count(w: &World, t: TicketId) -> usize {
    let mut c = w.db.store.read().await.unwrap();
    helpdesk::followups(&mut c, t, true).await.unwrap().len()
}

/// A `multipart/form-data` body: text fields, then files (name, bytes) in the field `file`.
fn multipart(fields: &[(&str, &str)], files: &[(&str, &[u8])]) -> (String, Vec<u8>) {
    let boundary = "----parc-test-boundary-7MA4YWxkTrZu0gW";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").as_bytes(),
        );
    }
    for (filename, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
                 Content-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

/// The follow-up form of the ticket page, with its CSRF token.
async fn post_followup(
    w: &World,
    t: TicketId,
    s: &(String, String),
    fields: &[(&str, &str)],
    files: &[(&str, &[u8])],
) -> Reply {
    post_page(w, &format!("/tickets/{t}/followups"), s, fields, files).await
}

/// A page form posted as `multipart/form-data` in the session `s`, with its CSRF token.
async fn post_page(
    w: &World,
    uri: &str,
    s: &(String, String),
    fields: &[(&str, &str)],
    files: &[(&str, &[u8])],
) -> Reply {
    let mut all = vec![("csrf", s.1.as_str())];
    all.extend_from_slice(fields);
    let (content_type, body) = multipart(&all, files);
    let req = Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::COOKIE, format!("parc_session={}", s.0))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    reply(&w.app, req).await
}

/// The attachments API: upload `files` (with `fields`) as the token's owner.
async fn api_upload(
    w: &World,
    token: &str,
    t: TicketId,
    fields: &[(&str, &str)],
    files: &[(&str, &[u8])],
) -> (StatusCode, Value) {
    let (content_type, body) = multipart(fields, files);
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/tickets/{t}/attachments"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    let (status, bytes) = send(&w.app, req).await;
    (status, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

async fn api_get(w: &World, token: &str, uri: &str) -> (StatusCode, axum::http::HeaderMap, Vec<u8>) {
    let req = common::api_request(token, Method::GET, uri, None);
    let resp = tower::ServiceExt::oneshot(w.app.clone(), req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes().to_vec();
    (status, headers, body)
}

fn header_of(h: &axum::http::HeaderMap, name: header::HeaderName) -> &str {
    h.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
}

async fn a_requester_attaches_files_from_the_ticket_page(w: &World) {
    let t = alice_ticket(w).await;
    let log = "0x0000007B INACCESSIBLE_BOOT_DEVICE\n".as_bytes();
    let files: [(&str, &[u8]); 2] = [("capture.png", PNG), ("../../etc/passwd", log)];
    let r = post_followup(w, t, &w.alice_s, &[("body", "Voici la capture et le journal")], &files).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let list = stored(w, t).await;
    assert_eq!(list.len(), 2, "{list:?}");
    let (png, passwd) = (&list[0], &list[1]);
    assert_eq!(
        (png.filename.as_str(), png.content_type.as_str(), png.size),
        ("capture.png", "image/png", PNG.len() as i64)
    );
    assert_eq!((passwd.filename.as_str(), passwd.content_type.as_str()), ("passwd", "text/plain; charset=utf-8"));
    assert!(png.followup_id.is_some() && png.followup_id == passwd.followup_id && !png.private);
    assert_eq!(png.created_by_user_id, Some(w.alice));

    // The ticket page lists them with their size and uploader, under the follow-up too.
    let page = reply(&w.app, page_get(&format!("/tickets/{t}"), &w.alice_s)).await;
    assert_eq!(page.status, StatusCode::OK);
    for needle in
        [format!("href=\"/documents/{}\"", png.id), "capture.png".into(), "passwd".into(), "Alice Martin".into()]
    {
        assert!(page.body.contains(&needle), "{needle} missing");
    }
    assert!(page.body.contains(&format!("{} o", PNG.len())), "size shown");
    assert!(page.body.contains("enctype=\"multipart/form-data\""));

    // Downloads: the same bytes, the sniffed type, inline only for the image.
    let (status, h, body) = api_get(w, &w.alice_token, &format!("/documents/{}", png.id)).await;
    assert_eq!((status, body.as_slice()), (StatusCode::OK, PNG));
    assert_eq!(header_of(&h, header::CONTENT_TYPE), "image/png");
    assert!(header_of(&h, header::CONTENT_DISPOSITION).starts_with("inline; filename=\"capture.png\""));
    assert_eq!(header_of(&h, header::X_CONTENT_TYPE_OPTIONS), "nosniff");
    let page_dl = reply(&w.app, page_get(&format!("/documents/{}", passwd.id), &w.alice_s)).await;
    assert_eq!((page_dl.status, page_dl.body.as_bytes()), (StatusCode::OK, log));
    assert_eq!(header_of(&page_dl.headers, header::CONTENT_TYPE), "text/plain; charset=utf-8");
    assert!(header_of(&page_dl.headers, header::CONTENT_DISPOSITION).starts_with("attachment; filename=\"passwd\""));

    // The trail has the file's name, size and SHA-256.
    let mut c = w.db.store.read().await.unwrap();
    let trail = audit::for_object(&mut c, parc_core::audit::ObjectType::Ticket, t.0, 50).await.unwrap();
    assert!(trail
        .iter()
        .flat_map(|e| &e.changes)
        .any(|ch| ch.field == "sha256" && ch.new.as_deref() == Some(&png.sha256)));
}

async fn a_technician_attaches_files_through_the_api(w: &World) {
    let t = alice_ticket(w).await;
    let html = b"<html><body><script>alert(document.cookie)</script></body></html>";
    let files: [(&str, &[u8]); 2] = [("devis.pdf", b"%PDF-1.4\n%fake quote\n"), ("page.html", html)];
    let (status, body) = api_upload(w, &w.tech_token, t, &[], &files).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(body.as_array().map(Vec::len), Some(2), "{body}");
    assert_eq!(body[0]["content_type"], "application/pdf");
    assert_eq!(body[1]["filename"], "page.html");
    let html_id = body[1]["id"].as_i64().unwrap();

    // The requester lists and downloads them; HTML comes back as a download, never as a page.
    let (status, _, list) = api_get(w, &w.alice_token, &format!("/tickets/{t}/attachments")).await;
    assert_eq!(status, StatusCode::OK);
    let list: Value = serde_json::from_slice(&list).unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    assert_eq!(list[0]["created_by_name"], "Théo Technicien");
    let (status, h, bytes) = api_get(w, &w.alice_token, &format!("/documents/{html_id}")).await;
    assert_eq!((status, bytes.as_slice()), (StatusCode::OK, html.as_slice()));
    assert_eq!(header_of(&h, header::CONTENT_TYPE), "text/plain; charset=utf-8");
    assert!(header_of(&h, header::CONTENT_DISPOSITION).starts_with("attachment;"));
    assert_eq!(header_of(&h, header::X_CONTENT_TYPE_OPTIONS), "nosniff");

    // Someone else's ticket does not exist for Bob: list, download and upload answer 404.
    let (status, _, _) = api_get(w, &w.bob_token, &format!("/tickets/{t}/attachments")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _, _) = api_get(w, &w.bob_token, &format!("/documents/{html_id}")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api_upload(w, &w.bob_token, t, &[], &[("x.txt", b"x")]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(stored(w, t).await.len(), 2);
}

async fn private_followup_files_stay_with_the_handlers(w: &World) {
    let t = alice_ticket(w).await;
    let files: [(&str, &[u8]); 1] = [("mots-de-passe.txt", b"BIOS: 1234")];
    let r = post_followup(w, t, &w.tech_s, &[("body", "Note interne"), ("private", "1")], &files).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let list = stored(w, t).await;
    assert_eq!(list.len(), 1);
    let secret = &list[0];
    assert!(secret.private);

    // The technician sees it; Alice neither in the list, nor on the page, nor by its URL.
    let (_, _, tech_list) = api_get(w, &w.tech_token, &format!("/tickets/{t}/attachments")).await;
    assert!(String::from_utf8_lossy(&tech_list).contains("mots-de-passe.txt"));
    let (status, _, alice_list) = api_get(w, &w.alice_token, &format!("/tickets/{t}/attachments")).await;
    assert_eq!((status, alice_list.as_slice()), (StatusCode::OK, b"[]".as_slice()));
    let page = reply(&w.app, page_get(&format!("/tickets/{t}"), &w.alice_s)).await;
    assert!(!page.body.contains("mots-de-passe.txt"));
    let (status, _, _) = api_get(w, &w.alice_token, &format!("/documents/{}", secret.id)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Alice cannot attach to the private follow-up (she does not see it), nor to the
    // technician's public one (not hers); she can to her own.
    let fid = secret.followup_id.unwrap().0.to_string();
    let (status, body) = api_upload(w, &w.alice_token, t, &[("followup_id", &fid)], &[("a.txt", b"a")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let mut tx = w.db.store.write().await.unwrap();
    let tech_actor = parc_store::Actor { user_id: Some(w.tech), label: "tech".into(), request_id: None };
    let public = helpdesk::add_followup(&mut tx, &tech_actor, t, "Pouvez-vous redémarrer ?", false).await.unwrap();
    tx.commit().await.unwrap();
    let (status, body) =
        api_upload(w, &w.alice_token, t, &[("followup_id", &public.id.0.to_string())], &[("a.txt", b"a")]).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    let r = post_followup(w, t, &w.alice_s, &[("body", "Redémarré")], &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut c = w.db.store.read().await.unwrap();
    let mine = helpdesk::followups(&mut c, t, false).await.unwrap().into_iter().last().unwrap();
    drop(c);
    let (status, body) =
        api_upload(w, &w.alice_token, t, &[("followup_id", &mine.id.0.to_string())], &[("b.txt", b"b")]).await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    assert_eq!(stored(w, t).await.len(), 2);
}

async fn bad_files_store_nothing(w: &World) {
    let t = alice_ticket(w).await;
    let big = vec![b'a'; 11 * MIB];
    // Over 10 MiB: 413 with a clear message, and neither the file nor the follow-up is stored.
    let (status, body) = api_upload(w, &w.tech_token, t, &[], &[("ok.txt", b"fine"), ("gros.log", &big)]).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE, "{body}");
    assert_eq!(body["error"]["code"], "too_large");
    assert!(body["error"]["message"].as_str().unwrap().contains("gros.log"), "{body}");
    let r = post_followup(w, t, &w.alice_s, &[("body", "Le journal complet")], &[("gros.log", &big)]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.body.contains("10 Mio"), "the page says why");
    assert!(r.body.contains("Le journal complet"), "what was typed is kept");
    // Empty: 422, through the API and the page (the follow-up is not stored either).
    let (status, body) = api_upload(w, &w.tech_token, t, &[], &[("vide.txt", b"")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    assert_eq!(body["error"]["details"]["fields"][0]["code"], "empty_file");
    let r = post_followup(w, t, &w.alice_s, &[("body", "Fichier vide")], &[("vide.txt", b"")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Le fichier est vide."));
    // No file at all, six files, a follow-up of nowhere, no CSRF token: refused.
    let (status, _) = api_upload(w, &w.tech_token, t, &[], &[]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let six: Vec<(&str, &[u8])> = (0..6).map(|_| ("x.txt", b"x".as_slice())).collect();
    let (status, body) = api_upload(w, &w.tech_token, t, &[], &six).await;
    assert_eq!(
        (status, &body["error"]["details"]["fields"][0]["code"]),
        (StatusCode::UNPROCESSABLE_ENTITY, &"too_many_files".into())
    );
    let (status, _) = api_upload(w, &w.tech_token, t, &[("followup_id", "abc")], &[("x.txt", b"x")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (status, _) = api_upload(w, &w.tech_token, t, &[("followup_id", "999999")], &[("x.txt", b"x")]).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (content_type, body) = multipart(&[("body", "Sans jeton")], &[("x.txt", b"x")]);
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/tickets/{t}/followups"))
        .header(header::COOKIE, format!("parc_session={}", w.alice_s.0))
        .header(header::CONTENT_TYPE, content_type)
        .body(Body::from(body))
        .unwrap();
    assert_eq!(reply(&w.app, req).await.status, StatusCode::FORBIDDEN);
    // Not multipart at all: a clear 400.
    let req = common::api_request(
        &w.tech_token,
        Method::POST,
        &format!("/tickets/{t}/attachments"),
        Some(serde_json::json!({})),
    );
    assert_eq!(send(&w.app, req).await.0, StatusCode::BAD_REQUEST);
    assert!(stored(w, t).await.is_empty());
    assert_eq!(followup_count(w, t).await, 0);
}

/// The new-ticket form takes files too: the ticket and its files are stored together, and a
/// refused file opens no ticket.
async fn a_new_ticket_comes_with_its_files(w: &World) {
    let school = w.school.0.to_string();
    let fields = [("entity_id", school.as_str()), ("kind", "incident"), ("title", "Imprimante en erreur")];
    let count = || async {
        let mut c = w.db.store.read().await.unwrap();
        let scope = parc_core::permissions::Scope { full: [w.school].into_iter().collect(), ..Default::default() };
        let q = helpdesk::TicketQuery { status: Some("all".into()), ..Default::default() };
        helpdesk::list(&mut c, w.db.store.backend(), &scope, w.tech, &q).await.unwrap().total
    };
    let r = post_page(w, "/tickets/new", &w.alice_s, &fields, &[("vide.txt", b"")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "an empty file is refused");
    assert!(r.body.contains("id=\"e-file\""), "the form shows the error at the file field");
    assert_eq!(count().await, 0, "and no ticket was opened");

    let r = post_page(w, "/tickets/new", &w.alice_s, &fields, &[("ecran.png", PNG)]).await;
    let list = stored(w, common::created_id(&r)).await;
    assert_eq!(list.len(), 1, "{list:?}");
    assert_eq!((list[0].filename.as_str(), list[0].followup_id), ("ecran.png", None));

    // No file chosen: the browser still sends an empty, nameless part.
    let r = post_page(w, "/tickets/new", &w.alice_s, &fields, &[("", b"")]).await;
    assert!(stored(w, common::created_id(&r)).await.is_empty());
    assert_eq!(count().await, 2);
}

on_every_backend!(
    a_new_ticket_comes_with_its_files,
    a_requester_attaches_files_from_the_ticket_page,
    a_technician_attaches_files_through_the_api,
    private_followup_files_stay_with_the_handlers,
    bad_files_store_nothing,
);
