//! Outgoing e-mail: the settings API and page (password write-only, super-admin only, field
//! errors), and the queue worker end to end against a real SMTP server (Python's aiosmtpd
//! running parc-mail's `tests/smtp_sink.py`): an e-mail enqueued while the server is down
//! waits and is retried, then delivered once the server is up.
//!
//! The worker is driven round by round with `run_once` and a moving "now", never by sleeping.
//! Without `python3` + `aiosmtpd` the end-to-end test fails when `CI` is set, and is skipped
//! (with a loud line on stderr) otherwise.

use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use axum::Router;
use chrono::Utc;
use parc_core::permissions::{Grant, Profile};
use parc_core::EntityId;
use parc_mail::{Email, Security};
use parc_store::entities::{self, EntityInput};
use parc_store::jobs::{self, MAIL};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_store::{mail_settings, Actor, Store};
use parc_web::jobs::{run_once, spawn_worker_with, Paused, WorkerOptions};
use parc_web::{AppState, WebConfig};
use serde_json::{json, Value};

#[allow(dead_code)] // the shared helpers this suite does not need
mod common;
#[allow(dead_code)] // the helpers this suite does not need
mod smtp_sink;
use common::{page_get, page_post};
use smtp_sink::{configure, free_port, Sink};

const SECRET: &str = "Tr3s-s3cret-SMTP";

struct World {
    db: TestDb,
    app: Router,
    root_token: String,
    admin_token: String,
    /// The super-admin's browser session: (cookie value, CSRF token).
    root_session: (String, String),
}

fn sys() -> Actor {
    Actor::system("test")
}

/// A county; a super-admin with an e-mail address and an admin of the county.
async fn world(db: TestDb) -> World {
    let mut tx = db.store.write().await.unwrap();
    let county = entities::create(
        &mut tx,
        &sys(),
        &EntityInput { name: Some("Conseil départemental".into()), parent_id: None, comment: None },
    )
    .await
    .unwrap()
    .id;
    let mut user = async |login: &str, email: &str, entity: EntityId, profile: Profile| {
        let u = users::create(
            &mut tx,
            &sys(),
            &UserInput {
                login: Some(login.into()),
                entity_id: Some(entity.0),
                email: Some(email.into()),
                ..Default::default()
            },
            None,
        )
        .await
        .unwrap();
        users::set_grants(&mut tx, &sys(), u.id, &[Grant { entity_id: entity, profile, recursive: true }])
            .await
            .unwrap();
        u.id
    };
    let root = user("root", "root@example.org", county, Profile::SuperAdmin).await;
    let admin = user("admin", "admin@example.org", county, Profile::Admin).await;
    let (_, root_token) = users::create_token(&mut tx, &sys(), root, "tests").await.unwrap();
    let (_, admin_token) = users::create_token(&mut tx, &sys(), admin, "tests").await.unwrap();
    let root_session = users::create_session(&mut tx, root, chrono::Duration::hours(1)).await.unwrap();
    tx.commit().await.unwrap();
    let state = AppState::new(db.store.clone(), WebConfig::default()).await.unwrap();
    World { app: parc_web::router(state), db, root_token, admin_token, root_session }
}

async fn send(app: &Router, req: Request<Body>) -> (StatusCode, String) {
    let (status, body) = common::send(app, req).await;
    (status, String::from_utf8(body).unwrap())
}

/// An API call with a bearer token; the answer as JSON and as raw text.
async fn api(app: &Router, token: &str, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value, String) {
    let (status, text) = send(app, common::api_request(token, method, uri, body)).await;
    let json = serde_json::from_str(&text).unwrap_or_else(|_| panic!("not JSON: {text}"));
    (status, json, text)
}

/// The field errors of a validation answer: (field, code).
fn field_errors(v: &Value) -> Vec<(String, String)> {
    assert_eq!(v["error"]["code"], "validation", "{v}");
    v["error"]["details"]["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| (f["field"].as_str().unwrap().to_owned(), f["code"].as_str().unwrap().to_owned()))
        .collect()
}

#[tokio::test]
async fn settings_api_keeps_the_password_write_only() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let w = world(db).await;
        let (s, v, text) = api(&w.app, &w.root_token, Method::GET, "/settings/mail", None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(
            (v["configured"].clone(), v["enabled"].clone(), v["has_password"].clone()),
            (json!(false), json!(false), json!(false))
        );
        assert!(!text.contains("\"password\""), "{text}");

        let input = json!({
            "enabled": true, "host": "smtp.example.org", "port": 587, "security": "starttls",
            "username": "parc", "password": SECRET, "from": "Parc <parc@example.org>", "timeout_secs": 20
        });
        let (s, v, text) = api(&w.app, &w.root_token, Method::PUT, "/settings/mail", Some(input.clone())).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert!(!text.contains(SECRET) && !text.contains("\"password\""), "{text}");
        assert_eq!(v["has_password"], true);
        assert_eq!(
            (v["security"].as_str(), v["port"].as_i64(), v["configured"].as_bool()),
            (Some("starttls"), Some(587), Some(true))
        );

        // The password is never returned, and a PUT without one keeps it.
        let (_, v, text) = api(&w.app, &w.root_token, Method::GET, "/settings/mail", None).await;
        assert!(!text.contains(SECRET) && v["has_password"] == true, "{text}");
        let mut without = input.clone();
        without.as_object_mut().unwrap().remove("password");
        without["port"] = json!(2525);
        let (s, v, _) = api(&w.app, &w.root_token, Method::PUT, "/settings/mail", Some(without)).await;
        assert_eq!((s, v["has_password"].clone(), v["port"].clone()), (StatusCode::OK, json!(true), json!(2525)));
        let mut c = w.db.store.read().await.unwrap();
        let stored = mail_settings::get(&mut c, w.db.store.cipher()).await.unwrap();
        assert_eq!(stored.smtp.unwrap().password.as_deref(), Some(SECRET));
        drop(c);

        // Only a super-admin reads or changes them; an admin may see the queue counts.
        let (s, v, _) = api(&w.app, &w.admin_token, Method::GET, "/settings/mail", None).await;
        assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
        let (s, _, _) = api(&w.app, &w.admin_token, Method::PUT, "/settings/mail", Some(input.clone())).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let (s, v, _) = api(&w.app, &w.admin_token, Method::GET, "/jobs/stats", None).await;
        assert_eq!(s, StatusCode::OK, "{v}");
        assert_eq!(v, json!({"pending": 0, "retrying": 0, "failed": 0, "done_last_24h": 0}));

        // Invalid values: 422 with one error per field, nothing saved.
        for (port, security, expected) in [
            (json!(0), "starttls", vec![("port", "range")]),
            (json!(70000), "starttls", vec![("port", "range")]),
            (json!(-1), "ssl", vec![("security", "unknown_value"), ("port", "range")]),
        ] {
            let mut bad = input.clone();
            bad["port"] = port;
            bad["security"] = json!(security);
            let (s, v, _) = api(&w.app, &w.root_token, Method::PUT, "/settings/mail", Some(bad)).await;
            assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
            let expected: Vec<(String, String)> =
                expected.iter().map(|(f, c)| ((*f).to_owned(), (*c).to_owned())).collect();
            assert_eq!(field_errors(&v), expected);
        }
        let mut bad = input.clone();
        bad["from"] = json!("pas une adresse");
        bad["username"] = json!("");
        bad["timeout_secs"] = json!(0);
        let (s, v, _) = api(&w.app, &w.root_token, Method::PUT, "/settings/mail", Some(bad)).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
        let fields: Vec<String> = field_errors(&v).into_iter().map(|(f, _)| f).collect();
        assert_eq!(fields, vec!["from", "timeout_secs", "username"], "a new password needs a user name");
        let (_, v, _) = api(&w.app, &w.root_token, Method::GET, "/settings/mail", None).await;
        assert_eq!(v["port"], 2525, "nothing saved");

        // The history names the fields, never the password.
        let mut c = w.db.store.read().await.unwrap();
        let history =
            parc_store::audit::for_object(&mut c, parc_core::audit::ObjectType::Settings, 0, 10).await.unwrap();
        let trail = serde_json::to_string(&history).unwrap();
        assert!(!trail.contains(SECRET) && trail.contains("(changed)") && trail.contains("mail.port"), "{trail}");
        drop(c);

        // The OpenAPI document lists the new paths.
        let (_, doc, _) = api(&w.app, &w.root_token, Method::GET, "/openapi.json", None).await;
        assert!(doc["paths"]["/settings/mail"]["put"].is_object() && doc["paths"]["/jobs/stats"]["get"].is_object());
    }
}

#[tokio::test]
async fn admin_mail_page_form() {
    let w = world(TestDb::sqlite().await).await;
    let (s, html) = send(&w.app, page_get("/admin/mail", &w.root_session)).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains("name=\"host\"") && html.contains("action=\"/admin/mail/test\""), "{html}");
    let (_, settings) = send(&w.app, page_get("/settings", &w.root_session)).await;
    assert!(settings.contains("href=\"/admin/mail\""), "linked from the settings page");

    let csrf = &w.root_session.1;
    let form = |password: &str, port: &str| {
        format!(
            "csrf={csrf}&enabled=1&host=relay.example.org&port={port}&security=tls&username=parc&password={password}\
             &from=Parc+%3Cparc%40example.org%3E&timeout_secs=15"
        )
    };
    // Without the CSRF token: refused.
    let (s, _) = send(&w.app, page_post("/admin/mail", &w.root_session, "host=x&port=25")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    // An invalid port re-renders the form with the error, and never the typed password.
    let (s, html) = send(&w.app, page_post("/admin/mail", &w.root_session, &form(SECRET, "99999"))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("id=\"err-port\"") && !html.contains(SECRET), "{html}");
    let (s, _) = send(&w.app, page_post("/admin/mail", &w.root_session, &form(SECRET, "465"))).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (s, html) = send(&w.app, page_get("/admin/mail?ok=mail.saved", &w.root_session)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!html.contains(SECRET) && html.contains("value=\"relay.example.org\""), "{html}");
    assert!(html.contains("Leave empty to keep it") || html.contains("Laisser vide pour le conserver"), "{html}");
    // An empty password field keeps the stored password.
    let (s, _) = send(&w.app, page_post("/admin/mail", &w.root_session, &form("", "465"))).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let mut c = w.db.store.read().await.unwrap();
    let stored = mail_settings::get(&mut c, w.db.store.cipher()).await.unwrap();
    let smtp = stored.smtp.unwrap();
    assert!(stored.enabled);
    assert_eq!((smtp.security, smtp.port, smtp.password.as_deref()), (Security::Tls, 465, Some(SECRET)));
}

// ---- end to end with a real SMTP server ----

async fn enqueue(store: &Store, to: &str, subject: &str) -> i64 {
    let email = Email {
        to: vec![to.into()],
        subject: subject.into(),
        text: "L'écran de l'accueil reste noir.".into(),
        ..Email::default()
    };
    let mut tx = store.write().await.unwrap();
    let id = jobs::enqueue_mail(&mut tx, &email).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn job(store: &Store, id: i64) -> jobs::Job {
    let mut c = store.read().await.unwrap();
    jobs::get(&mut c, id).await.unwrap()
}

#[tokio::test]
async fn a_down_mail_server_loses_no_email() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let w = world(db).await;
        let store = &w.db.store;
        let port = free_port();
        let id = enqueue(store, "Alice Martin <alice@example.org>", "Ticket 42 : ecran noir").await;

        // Sending off (the default) or on without a server: nothing is claimed, nothing counted.
        let round = run_once(store, "test-worker", 5, Utc::now()).await.unwrap();
        assert_eq!((round.paused, round.claimed), (Some(Paused::Disabled), 0));
        configure(store, port, false).await;
        assert_eq!(run_once(store, "test-worker", 5, Utc::now()).await.unwrap().paused, Some(Paused::Disabled));
        assert_eq!(job(store, id).await.attempts, 0);

        // On, server down: a temporary failure, retried later; the job waits with its error.
        configure(store, port, true).await;
        let round = run_once(store, "test-worker", 5, Utc::now()).await.unwrap();
        assert_eq!((round.paused, round.claimed, round.retried, round.sent), (None, 1, 1, 0), "{round:?}");
        let j = job(store, id).await;
        assert!(j.kind == MAIL && j.is_pending() && j.attempts == 1 && j.locked_by.is_none(), "{j:?}");
        assert!(j.last_error.as_deref().is_some_and(|e| e.contains("temporary")), "{j:?}");
        assert!(j.run_at > parc_store::now(), "backed off: {j:?}");
        let round = run_once(store, "test-worker", 5, Utc::now()).await.unwrap();
        assert_eq!(round.claimed, 0, "not due before its back-off");

        // The server comes up; once the back-off is over the e-mail is delivered.
        let Some(sink) = Sink::start(port) else { return };
        let later = Utc::now() + chrono::Duration::hours(1);
        let round = run_once(store, "test-worker", 5, later).await.unwrap();
        assert_eq!((round.claimed, round.sent), (1, 1), "{round:?}");
        let j = job(store, id).await;
        assert!(j.done_at.is_some() && j.attempts == 2, "{j:?}");
        let received = sink.received();
        assert_eq!(received.len(), 1);
        let (rcpt, raw) = &received[0];
        assert_eq!(rcpt, &vec!["alice@example.org".to_owned()]);
        assert!(raw.contains("Subject: Ticket 42 : ecran noir"), "{raw}");
        assert!(
            raw.contains("To: \"Alice Martin\" <alice@example.org>")
                || raw.contains("To: Alice Martin <alice@example.org>"),
            "{raw}"
        );

        // A message that can never be sent fails at once and shows on the admin page with its
        // error; the administrator can put it back.
        let bad = enqueue(store, "pas une adresse", "Ticket 43").await;
        let round = run_once(store, "test-worker", 5, Utc::now()).await.unwrap();
        assert_eq!((round.claimed, round.failed), (1, 1), "{round:?}");
        let j = job(store, bad).await;
        assert!(j.failed_at.is_some() && j.last_error.as_deref().is_some_and(|e| e.contains("recipient")), "{j:?}");
        let (s, html) = send(&w.app, page_get("/admin/mail", &w.root_session)).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("pas une adresse") && html.contains(&format!("/admin/mail/jobs/{bad}/retry")), "{html}");
        assert!(!html.contains("reste noir"), "bodies are never shown");
        let (_, stats, _) = api(&w.app, &w.root_token, Method::GET, "/jobs/stats", None).await;
        assert_eq!((stats["failed"].as_i64(), stats["done_last_24h"].as_i64()), (Some(1), Some(1)), "{stats}");
        let retry = format!("csrf={}", w.root_session.1);
        let (s, _) = send(&w.app, page_post(&format!("/admin/mail/jobs/{bad}/retry"), &w.root_session, &retry)).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let j = job(store, bad).await;
        assert!(j.is_pending() && j.attempts == 0, "{j:?}");
        let (s, _) = send(&w.app, page_post(&format!("/admin/mail/jobs/{bad}/retry"), &w.root_session, &retry)).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "only a failed job is retried");

        // The test button sends at once to the administrator's own address.
        let (s, html) = send(&w.app, page_post("/admin/mail/test", &w.root_session, &retry)).await;
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("root@example.org") && html.contains("class=\"flash\""), "{html}");
        let received = sink.received();
        assert_eq!(received.last().unwrap().0, vec!["root@example.org".to_owned()]);

        // The real worker loop: woken after an enqueue, it sends without waiting for its poll.
        let worker = spawn_worker_with(
            store.clone(),
            WorkerOptions { id: "loop-worker".into(), batch: 5, idle_poll: Duration::from_secs(3600) },
        );
        // Its first round runs at once (and fails the bad job again); then it sleeps.
        let deadline = Instant::now() + Duration::from_secs(20);
        while job(store, bad).await.failed_at.is_none() {
            assert!(Instant::now() < deadline, "the worker did not run its first round");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let woken = enqueue(store, "bob@example.org", "Ticket 44").await;
        worker.waker().wake();
        while job(store, woken).await.done_at.is_none() {
            assert!(Instant::now() < deadline, "the woken worker did not send");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        worker.shutdown().await;
        let received = sink.received();
        assert_eq!(received.last().unwrap().0, vec!["bob@example.org".to_owned()]);
        assert!(received.last().unwrap().1.contains("Subject: Ticket 44"));
    }
}
