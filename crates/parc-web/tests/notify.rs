//! Ticket notifications end to end, on every backend: API calls cause the events, the real
//! worker round (`run_once`) expands them and sends the e-mails to a real SMTP server
//! (aiosmtpd running parc-mail's `tests/smtp_sink.py`), and the test reads back what the server
//! received: recipients, subject and body (parsed by Python's `email` package) of the
//! new-ticket, assignment, follow-up, solution and SLA-breach mails, in each recipient's
//! language. A mail server down at first loses nothing; an opted-out user gets nothing. Also
//! the opt-out API and the account page's "Notifications" fieldset.
//!
//! The worker is driven round by round with a moving "now", never by sleeping. Without
//! `python3` + `aiosmtpd` the end-to-end test fails when `CI` is set and is skipped otherwise.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use chrono::{DateTime, Duration, Utc};
use parc_core::permissions::{Grant, Profile};
use parc_core::{EntityId, UserId};
use parc_store::entities::{self, EntityInput};
use parc_store::helpdesk::notify::{self, EventKind};
use parc_store::locations::{self, LocationInput};
use parc_store::settings::{self, Settings};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_store::{Actor, Store};
use parc_web::jobs::run_once;
use parc_web::{AppState, WebConfig};
use serde_json::{json, Value};

#[allow(dead_code)] // the shared helpers this suite does not need
mod common;
#[allow(dead_code)] // the helpers this suite does not need
mod smtp_sink;
use common::{api, page_get, page_post};
use smtp_sink::{configure, free_port, Message, Sink};

const PUBLIC: &str = "https://parc.mairie.example";

struct Person {
    id: UserId,
    token: String,
}

struct World {
    app: Router,
    store: Store,
    school: EntityId,
    location: i64,
    hotline: Person,
    tech: Person,
    tech2: Person,
    caller: Person,
    /// An observer who does not want to hear about new tickets.
    picky: Person,
    /// The caller's browser session: (cookie, CSRF token).
    caller_session: (String, String),
}

/// A town hall and its school, a location, the public URL; a hotline operator (French), two
/// technicians (one reading English), a caller and an observer.
async fn world(db: &TestDb) -> World {
    let sys = Actor::system("test");
    let store = db.store.clone();
    let mut tx = store.write().await.unwrap();
    let new_entity = |name: &str, parent: Option<EntityId>| EntityInput {
        name: Some(name.into()),
        parent_id: parent.map(|p| p.0),
        comment: None,
    };
    let town = entities::create(&mut tx, &sys, &new_entity("Mairie", None)).await.unwrap().id;
    let school = entities::create(&mut tx, &sys, &new_entity("École Jules Ferry", Some(town))).await.unwrap().id;
    let location = locations::create(
        &mut tx,
        &sys,
        &LocationInput {
            entity_id: Some(school.0),
            kind: Some("site".into()),
            name: Some("Secrétariat".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap()
    .id;
    settings::put(&mut tx, &sys, &Settings { public_url: format!("{PUBLIC}/"), ..Settings::default() }).await.unwrap();
    let mut people = Vec::new();
    for (login, name, entity, profile, language) in [
        ("hotline", "Hélène Hotline", town, Profile::Hotline, Some("fr")),
        ("tech", "Theo Tech", town, Profile::Technician, Some("en")),
        ("tech2", "Tina Technicienne", town, Profile::Technician, None),
        ("caller", "Camille Martin", school, Profile::Requester, Some("fr")),
        ("picky", "Paul Observateur", school, Profile::Requester, None),
    ] {
        let input = UserInput {
            login: Some(login.into()),
            display_name: Some(name.into()),
            email: Some(format!("{login}@example.org")),
            language: language.map(Into::into),
            entity_id: Some(entity.0),
            ..Default::default()
        };
        let u = users::create(&mut tx, &sys, &input, None).await.unwrap();
        users::set_grants(&mut tx, &sys, u.id, &[Grant { entity_id: entity, profile, recursive: true }]).await.unwrap();
        let (_, token) = users::create_token(&mut tx, &sys, u.id, "tests").await.unwrap();
        people.push(Person { id: u.id, token });
    }
    let caller_session = users::create_session(&mut tx, people[3].id, chrono::Duration::hours(1)).await.unwrap();
    tx.commit().await.unwrap();
    let state = AppState::new(store.clone(), WebConfig::default()).await.unwrap();
    let mut people = people.into_iter();
    let mut next = || people.next().unwrap();
    World {
        app: parc_web::router(state),
        store,
        school,
        location: location.0,
        hotline: next(),
        tech: next(),
        tech2: next(),
        caller: next(),
        picky: next(),
        caller_session,
    }
}

impl World {
    async fn call(&self, who: &Person, method: Method, uri: &str, body: Value) -> Value {
        let (status, v) = api(&self.app, &who.token, method, uri, Some(body)).await;
        assert!(status.is_success(), "{uri}: {status} {v}");
        v
    }

    /// One worker round as if it were `now`: (notices expanded, e-mails sent, e-mails retried).
    async fn round(&self, now: DateTime<Utc>) -> (usize, usize, usize) {
        let r = run_once(&self.store, "test-worker", 50, now).await.unwrap();
        (r.notices, r.sent, r.retried)
    }
}

/// The messages received since `from` (an index into everything received), by recipient.
fn new_mail(sink: &Sink, from: &mut usize) -> Vec<Message> {
    let all = sink.messages();
    let fresh = all[*from..].to_vec();
    *from = all.len();
    let mut fresh = fresh;
    fresh.sort_by(|a, b| a.rcpt.cmp(&b.rcpt));
    fresh
}

fn rcpts(mail: &[Message]) -> Vec<String> {
    mail.iter().flat_map(|m| m.rcpt.clone()).collect()
}

fn to<'a>(mail: &'a [Message], login: &str) -> &'a Message {
    let address = format!("{login}@example.org");
    mail.iter().find(|m| m.rcpt == [address.clone()]).unwrap_or_else(|| panic!("nothing to {address}: {mail:?}"))
}

fn has(m: &Message, needles: &[&str]) {
    for n in needles {
        assert!(m.body.contains(n) || m.subject.contains(n), "{n:?} not in {m:#?}");
    }
}

#[tokio::test]
async fn notifications_reach_the_right_people_through_a_real_mail_server() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let w = world(&db).await;
        let port = free_port();
        // Sending on, but the mail server is down.
        configure(&w.store, port, true).await;
        let (s, v) = api(
            &w.app,
            &w.picky.token,
            Method::PUT,
            "/account/notifications",
            Some(json!({"opted_out": ["new_ticket"]})),
        )
        .await;
        assert_eq!((s, v["opted_out"].clone()), (StatusCode::OK, json!(["new_ticket"])), "{v}");

        // The hotline opens a ticket: its e-mails wait while the server is down.
        let t = w
            .call(
                &w.hotline,
                Method::POST,
                "/tickets",
                json!({"entity_id": w.school.0, "title": "Imprimante bloquée", "description": "Bourrage papier au secrétariat.",
                       "requester_user_id": w.caller.id.0, "location_id": w.location, "urgency": 4,
                       "observer_ids": [w.picky.id.0]}),
            )
            .await;
        let id = t["id"].as_i64().unwrap();
        let now = Utc::now();
        assert_eq!(w.round(now).await, (1, 0, 3), "expanded into 3 e-mails, none sent");
        assert_eq!(w.round(now).await, (0, 0, 0), "they wait for their back-off");

        // The server comes up: the e-mails are delivered after the back-off, nothing lost.
        let Some(sink) = Sink::start(port) else { return };
        let later = now + Duration::hours(1);
        assert_eq!(w.round(later).await, (0, 3, 0));
        let mut seen = 0;
        let mail = new_mail(&sink, &mut seen);
        // The caller and the technicians of the school (the hotline is the actor; the observer
        // opted out of new tickets).
        assert_eq!(rcpts(&mail), ["caller@example.org", "tech2@example.org", "tech@example.org"]);
        let root = format!("<ticket-{id}@parc.mairie.example>");
        let fr = to(&mail, "caller");
        assert_eq!(fr.subject, format!("[Parc #{id}] Nouveau ticket : Imprimante bloquée"));
        has(
            fr,
            &[
                "Hélène Hotline a ouvert un nouveau ticket.",
                "Statut : Nouveau",
                "Priorité : Haute",
                "Demandeur : Camille Martin",
                "Lieu : Secrétariat",
                "Bourrage papier au secrétariat.",
                &format!("{PUBLIC}/tickets/{id}"),
                &format!("{PUBLIC}/account"),
            ],
        );
        assert_eq!((fr.message_id.as_str(), fr.in_reply_to.as_deref()), (root.as_str(), None));
        let en = to(&mail, "tech");
        assert_eq!(en.subject, format!("[Parc #{id}] New ticket: Imprimante bloquée"));
        has(en, &["Hélène Hotline opened a new ticket.", "Status: New", "Priority: High", "Location: Secrétariat"]);
        has(to(&mail, "tech2"), &["Statut : Nouveau"]);

        // Assigned to tech2: the requester side and tech2, threaded under the first message.
        w.call(&w.hotline, Method::PATCH, &format!("/tickets/{id}"), json!({"assignee_user_id": w.tech2.id.0})).await;
        assert_eq!(w.round(Utc::now()).await, (1, 3, 0));
        let mail = new_mail(&sink, &mut seen);
        assert_eq!(rcpts(&mail), ["caller@example.org", "picky@example.org", "tech2@example.org"]);
        let m = to(&mail, "tech2");
        assert_eq!(m.subject, format!("[Parc #{id}] Ticket attribué : Imprimante bloquée"));
        has(m, &["Hélène Hotline a attribué le ticket à : Tina Technicienne.", "Attribué à : Tina Technicienne"]);
        assert_eq!(m.in_reply_to.as_deref(), Some(root.as_str()));
        assert_ne!(m.message_id, root);

        // The caller follows up: the observer and the technician, with the text.
        let text = "Toujours bloquée : le voyant orange clignote.";
        w.call(&w.caller, Method::POST, &format!("/tickets/{id}/followups"), json!({"body": text})).await;
        assert_eq!(w.round(Utc::now()).await, (1, 2, 0));
        let mail = new_mail(&sink, &mut seen);
        assert_eq!(rcpts(&mail), ["picky@example.org", "tech2@example.org"]);
        has(to(&mail, "tech2"), &["Nouveau suivi : Imprimante bloquée", "Camille Martin a ajouté un suivi :", text]);

        // A private follow-up by tech2 reaches no one (no other handler).
        w.call(
            &w.tech2,
            Method::POST,
            &format!("/tickets/{id}/followups"),
            json!({"body": "Note interne", "private": true}),
        )
        .await;
        assert_eq!(w.round(Utc::now()).await, (1, 0, 0));

        // tech2 solves it: the requester side, with the solution and how to refuse it.
        let solution = "Rouleau d'entraînement remplacé.";
        w.call(
            &w.tech2,
            Method::POST,
            &format!("/tickets/{id}/status"),
            json!({"status": "solved", "solution": solution}),
        )
        .await;
        assert_eq!(w.round(Utc::now()).await, (1, 2, 0));
        let mail = new_mail(&sink, &mut seen);
        assert_eq!(rcpts(&mail), ["caller@example.org", "picky@example.org"]);
        let m = to(&mail, "caller");
        has(m, &["Ticket résolu : Imprimante bloquée", "Tina Technicienne a résolu le ticket.", solution, "refuser"]);
        assert!(!to(&mail, "picky").body.contains("refuser"), "only the requester may refuse");

        // An SLA breach on a ticket assigned to tech: tech is told, in English, with the
        // deadline in Paris time.
        let t2 = w
            .call(
                &w.hotline,
                Method::POST,
                "/tickets",
                json!({"entity_id": w.school.0, "title": "Poste fixe muet", "requester_name": "M. Durand",
                       "assignee_user_id": w.tech.id.0}),
            )
            .await;
        assert_eq!(w.round(Utc::now()).await, (1, 1, 0));
        assert_eq!(rcpts(&new_mail(&sink, &mut seen)), ["tech@example.org"]);
        let due = DateTime::parse_from_rfc3339(t2["resolve_due_at"].as_str().unwrap()).unwrap().with_timezone(&Utc);
        let pass = notify::watch_sla(&w.store, due + Duration::minutes(1)).await.unwrap();
        assert_eq!((pass.warnings, pass.breaches), (0, 1));
        assert_eq!(w.round(Utc::now()).await, (1, 1, 0));
        let mail = new_mail(&sink, &mut seen);
        let m = to(&mail, "tech");
        let t2_id = t2["id"].as_i64().unwrap();
        assert_eq!(m.subject, format!("[Parc #{t2_id}] Deadline passed: Poste fixe muet"));
        let paris = due.with_timezone(&chrono_tz::Europe::Paris).format("%Y-%m-%d %H:%M").to_string();
        has(m, &[&format!("The time to resolve the ticket ended on {paris} (Paris time)."), "Requester: M. Durand"]);
        // Once only.
        assert_eq!(notify::watch_sla(&w.store, due + Duration::minutes(2)).await.unwrap(), notify::SlaPass::default());
        assert_eq!(w.round(Utc::now()).await, (0, 0, 0));
        assert!(sink.messages().iter().all(|m| !m.body.contains("Note interne")));
    }
}

#[tokio::test]
async fn opting_out_by_api_and_on_the_account_page() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let w = world(&db).await;
        let (s, v) = api(&w.app, &w.caller.token, Method::GET, "/account/notifications", None).await;
        assert_eq!(s, StatusCode::OK);
        assert_eq!((v["opted_out"].clone(), v["email"].clone()), (json!([]), json!("caller@example.org")));
        assert_eq!(v["events"].as_array().unwrap().len(), EventKind::ALL.len());

        // Bad input: 400, nothing changed.
        for bad in [json!({"opted_out": ["spam"]}), json!({"opted_out": "followup"}), json!({"other": []})] {
            let (s, v) = api(&w.app, &w.caller.token, Method::PUT, "/account/notifications", Some(bad)).await;
            assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")), "{v}");
        }
        let (s, v) = api(
            &w.app,
            &w.caller.token,
            Method::PUT,
            "/account/notifications",
            Some(json!({"opted_out": ["planning", "followup"]})),
        )
        .await;
        assert_eq!((s, v["opted_out"].clone()), (StatusCode::OK, json!(["followup", "planning"])));
        // Not signed in: 401.
        let anonymous = Request::builder()
            .uri("/api/v1/account/notifications")
            .header(header::ACCEPT, "application/json")
            .body(Body::empty())
            .unwrap();
        assert_eq!(common::send(&w.app, anonymous).await.0, StatusCode::UNAUTHORIZED);
        let (_, doc) = api(&w.app, &w.caller.token, Method::GET, "/openapi.json", None).await;
        let path = &doc["paths"]["/account/notifications"];
        assert!(path["get"].is_object() && path["put"].is_object(), "{path}");

        // The account page shows one checkbox per kind, ticked unless opted out.
        let (s, html) = common::send(&w.app, page_get("/account", &w.caller_session)).await;
        let html = String::from_utf8(html).unwrap();
        assert_eq!(s, StatusCode::OK);
        assert!(html.contains("action=\"/account/notifications\""), "{html}");
        assert!(html.contains(r#"value="new_ticket" checked"#) && html.contains(r#"value="followup" >"#), "{html}");
        // Saving it: the boxes left unticked are the opt-outs; without the CSRF token, refused.
        let form = "notify=new_ticket&notify=solution";
        let (s, _) = common::send(&w.app, page_post("/account/notifications", &w.caller_session, form)).await;
        assert_eq!(s, StatusCode::FORBIDDEN);
        let form = format!("csrf={}&{form}", w.caller_session.1);
        let (s, _) = common::send(&w.app, page_post("/account/notifications", &w.caller_session, &form)).await;
        assert_eq!(s, StatusCode::SEE_OTHER);
        let mut c = w.store.read().await.unwrap();
        let off = notify::optouts(&mut c, w.caller.id).await.unwrap();
        let expected: Vec<EventKind> = EventKind::ALL
            .iter()
            .copied()
            .filter(|k| ![EventKind::NewTicket, EventKind::Solution].contains(k))
            .collect();
        assert_eq!(off, expected);
    }
}
