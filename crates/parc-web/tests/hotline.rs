//! The hotline's quick entry, the QR "report a problem" form and an entity's helpdesk
//! settings, in-process on every backend: suggestions fill requester, asset, location and
//! entity; the hotline form opens the ticket they describe (with or without the suggestion
//! list); a QR label takes a signed-in report and, where the entity allows it, an anonymous
//! one; refused input of any kind writes nothing.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use parc_core::assets::AssetInput;
use parc_core::audit::ObjectType;
use parc_core::helpdesk::BusinessCalendar;
use parc_core::permissions::{Grant, Profile, Scope};
use parc_core::{AssetId, EntityId, TicketId, UserId};
use parc_store::helpdesk::{self, Ticket, TicketQuery};
use parc_store::locations::{self, LocationInput};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_store::{assets, audit};
use parc_web::{AppState, WebConfig};
use serde_json::{json, Value};

#[allow(dead_code)] // the shared helpers this suite does not need
#[macro_use]
mod common;
use common::{api, created_id, csrf_post, entity, page_get, page_post, sys, Reply};

/// A county with two schools. School A has a room, Alice's computer in it and (later) takes
/// anonymous reports; school B does not.
struct World {
    db: TestDb,
    app: Router,
    county: EntityId,
    school_a: EntityId,
    school_b: EntityId,
    room: i64,
    alice: UserId,
    pc: AssetId,
    pc_token: String,
    other_pc: AssetId,
    other_token: String,
    /// Hotline operator of the county: API token and browser session (cookie, CSRF token).
    hot: String,
    hot_s: (String, String),
    /// A requester of school A.
    alice_t: String,
    alice_s: (String, String),
    /// A requester of school B.
    bob_s: (String, String),
    /// The administrator of school A.
    adm: String,
    adm_s: (String, String),
}

async fn world(db: TestDb) -> World {
    let mut tx = db.store.write().await.unwrap();
    let county = entity(&mut tx, "Conseil départemental", None).await;
    let school_a = entity(&mut tx, "Collège A", Some(county)).await;
    let school_b = entity(&mut tx, "Collège B", Some(county)).await;
    let mut user = async |login: &str, name: &str, phone: Option<&str>, entity: EntityId, p: Profile| {
        let input = UserInput {
            login: Some(login.into()),
            display_name: Some(name.into()),
            phone: phone.map(Into::into),
            entity_id: Some(entity.0),
            ..Default::default()
        };
        let u = users::create(&mut tx, &sys(), &input, None).await.unwrap();
        let grant = Grant { entity_id: entity, profile: p, recursive: true };
        users::set_grants(&mut tx, &sys(), u.id, &[grant]).await.unwrap();
        let (_, token) = users::create_token(&mut tx, &sys(), u.id, "test").await.unwrap();
        let session = users::create_session(&mut tx, u.id, chrono::Duration::hours(1)).await.unwrap();
        (u.id, token, session)
    };
    let (_, hot, hot_s) = user("hotline", "Hugo Hotline", None, county, Profile::Hotline).await;
    let (alice, alice_t, alice_s) =
        user("alice", "Alice Martin", Some("+33 3 88 12 34 56"), school_a, Profile::Requester).await;
    let (_, _, bob_s) = user("bob", "Bob Durand", Some("03 89 00 11 22"), school_b, Profile::Requester).await;
    let (_, adm, adm_s) = user("adm", "Ada Admin", None, school_a, Profile::Admin).await;
    let room = {
        let mut place = async |kind: &str, name: &str, parent: Option<i64>| {
            let input = LocationInput {
                entity_id: Some(school_a.0),
                parent_id: parent,
                kind: Some(kind.into()),
                name: Some(name.into()),
                ..Default::default()
            };
            locations::create(&mut tx, &sys(), &input).await.unwrap().id.0
        };
        let site = place("site", "Collège A", None).await;
        let building = place("building", "Bâtiment principal", Some(site)).await;
        place("room", "Salle 12", Some(building)).await
    };
    let mut computer = async |entity: EntityId, name: &str, tag: &str, user: Option<UserId>, room: Option<i64>| {
        let input = AssetInput {
            kind: Some("computer".into()),
            entity_id: Some(entity.0),
            name: Some(name.into()),
            asset_tag: Some(tag.into()),
            status: Some("in_use".into()),
            ip: Some("10.1.2.34".into()),
            assigned_user_id: user.map(|u| u.0),
            location_id: room,
            ..Default::default()
        };
        let id = assets::create(&mut tx, &sys(), db.store.cipher(), &input.validate(None).unwrap()).await.unwrap();
        let token = assets::get(&mut tx, id).await.unwrap().unwrap().public_token;
        (id, token)
    };
    let (pc, pc_token) = computer(school_a, "PC-SALLE12-01", "GPI-310001", Some(alice), Some(room)).await;
    let (other_pc, other_token) = computer(school_b, "PC-B-01", "GPI-320001", None, None).await;
    tx.commit().await.unwrap();
    let state = AppState::new(db.store.clone(), WebConfig::default()).await.unwrap();
    World {
        app: parc_web::router(state),
        db,
        county,
        school_a,
        school_b,
        room,
        alice,
        pc,
        pc_token,
        other_pc,
        other_token,
        hot,
        hot_s,
        alice_t,
        alice_s,
        bob_s,
        adm,
        adm_s,
    }
}

async fn send(w: &World, req: Request<Body>) -> Reply {
    common::reply(&w.app, req).await
}

async fn post(w: &World, uri: &str, s: &(String, String), fields: &[(&str, &str)]) -> Reply {
    send(w, csrf_post(uri, s, fields)).await
}

/// A request without a session, with the given cookies.
fn anonymous(method: Method, uri: &str, cookie: Option<&str>, form: Option<&[(&str, &str)]>) -> Request<Body> {
    let mut req = Request::builder().method(method).uri(uri);
    if let Some(c) = cookie {
        req = req.header(header::COOKIE, c);
    }
    match form {
        Some(f) => req
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(serde_urlencoded::to_string(f).unwrap()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    }
}

/// The ticket number a report's confirmation shows.
fn reported_id(r: &Reply) -> TicketId {
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let marker = "id=\"ticket-number\">#";
    let start = r.body.find(marker).expect("a ticket number") + marker.len();
    TicketId(r.body[start..].split('<').next().unwrap().parse().unwrap())
}

async fn tickets(w: &World) -> i64 {
    let mut c = w.db.store.read().await.unwrap();
    let scope = Scope { full: [w.county, w.school_a, w.school_b].into_iter().collect(), own_only: Default::default() };
    let q = TicketQuery { status: Some("all".into()), ..Default::default() };
    helpdesk::list(&mut c, w.db.store.backend(), &scope, w.alice, &q).await.unwrap().total
}

async fn ticket(w: &World, id: TicketId) -> (Ticket, Vec<AssetId>) {
    let mut c = w.db.store.read().await.unwrap();
    let t = helpdesk::get(&mut c, id).await.unwrap().unwrap();
    let linked = helpdesk::assets_of(&mut c, id).await.unwrap().into_iter().map(|a| a.asset_id).collect();
    (t, linked)
}

async fn set_anonymous(w: &World, entity: EntityId, on: Option<bool>) {
    let mut tx = w.db.store.write().await.unwrap();
    helpdesk::put_entity_settings(&mut tx, &sys(), entity, None, on).await.unwrap();
    tx.commit().await.unwrap();
}

// ---- suggestions ----

async fn suggestions_fill_the_ticket(w: &World) {
    let (status, v) = api(&w.app, &w.hot, Method::GET, "/helpdesk/suggest?q=03%2088%2012", None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    let s = &v["items"][0];
    assert_eq!((s["kind"].as_str(), s["matched"].as_str()), (Some("user"), Some("phone")), "{v}");
    assert_eq!(s["requester"]["id"], json!(w.alice.0));
    assert_eq!(s["asset"]["id"], json!(w.pc.0));
    assert_eq!(s["location"]["path"], json!("Collège A > Bâtiment principal > Salle 12"));
    assert_eq!(s["entity"], json!({"id": w.school_a.0, "name": "Collège A"}));

    let (_, v) = api(&w.app, &w.hot, Method::GET, "/helpdesk/suggest?q=GPI-310001&limit=3", None).await;
    let s = &v["items"][0];
    assert_eq!((s["kind"].as_str(), s["matched"].as_str()), (Some("asset"), Some("asset_tag")), "{v}");
    assert_eq!((s["asset"]["id"].clone(), s["requester"]["id"].clone()), (json!(w.pc.0), json!(w.alice.0)));
    assert_eq!(s["location"]["id"], json!(w.room));

    // Nothing typed, nothing found; odd input is still a clean answer.
    let (status, v) = api(&w.app, &w.hot, Method::GET, "/helpdesk/suggest", None).await;
    assert_eq!((status, v), (StatusCode::OK, json!({"items": []})));
    let (status, _) = api(&w.app, &w.hot, Method::GET, "/helpdesk/suggest?q=%00%22%27%25_%5C*", None).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _) = api(&w.app, &w.hot, Method::GET, "/helpdesk/suggest?q=pc&limit=lots", None).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    // A requester opens tickets for themselves only: no caller suggestions.
    let (status, _) = api(&w.app, &w.alice_t, Method::GET, "/helpdesk/suggest?q=GPI-310001", None).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) = api(&w.app, "not-a-token", Method::GET, "/helpdesk/suggest?q=GPI", None).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
}

// ---- the hotline form ----

async fn the_hotline_opens_the_ticket_it_describes(w: &World) {
    let r = send(w, page_get("/hotline", &w.hot_s)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("id=\"h-q\"") && r.body.contains("autofocus"), "the caller field has the focus");
    assert!(r.body.contains("/static/hotline.js"));
    let js = send(w, page_get("/static/hotline.js", &w.hot_s)).await;
    assert_eq!(js.status, StatusCode::OK);
    assert!(js.headers[header::CONTENT_TYPE].to_str().unwrap().starts_with("text/javascript"));

    // What the suggestion list fills, as hidden fields.
    let (pc, room, entity, alice) = (w.pc.to_string(), w.room.to_string(), w.school_a.to_string(), w.alice.to_string());
    let r = post(
        w,
        "/hotline",
        &w.hot_s,
        &[
            ("action", "create"),
            ("q", "Alice Martin"),
            ("requester_user_id", &alice),
            ("asset_id", &pc),
            ("location_id", &room),
            ("entity_id", &entity),
            ("title", "Écran noir au démarrage"),
            ("kind", "incident"),
            ("urgency", "4"),
            ("description", ""),
            ("requester_name", ""),
            ("requester_phone", ""),
        ],
    )
    .await;
    let id = created_id(&r);
    assert!(r.location().contains("ok=helpdesk.created"));
    let (t, linked) = ticket(w, id).await;
    assert_eq!(
        (t.requester_user_id, t.entity_id, t.location_id.map(|l| l.0)),
        (Some(w.alice), w.school_a, Some(w.room))
    );
    assert_eq!((linked, t.source.as_str(), t.urgency), (vec![w.pc], "hotline", 4));
    let page = send(w, page_get(&format!("/tickets/{id}"), &w.hot_s)).await;
    assert!(page.body.contains("Alice Martin") && page.body.contains("PC-SALLE12-01"));

    // Without JavaScript: search, then pick a match.
    let r = post(w, "/hotline", &w.hot_s, &[("action", "search"), ("q", "GPI-310001")]).await;
    assert_eq!(r.status, StatusCode::OK);
    let pick = format!("asset:{}", w.pc);
    assert!(r.body.contains(&format!("value=\"{pick}\"")), "the match is a radio choice");
    let r = post(
        w,
        "/hotline",
        &w.hot_s,
        &[("action", "create"), ("q", "GPI-310001"), ("pick", &pick), ("title", "Souris cassée"), ("entity_id", "")],
    )
    .await;
    let (t, linked) = ticket(w, created_id(&r)).await;
    assert_eq!((t.requester_user_id, t.entity_id, linked), (Some(w.alice), w.school_a, vec![w.pc]));

    // A caller nobody matches: the typed name, and a phone number.
    let r = post(
        w,
        "/hotline",
        &w.hot_s,
        &[
            ("q", "Mme Lefèvre"),
            ("requester_phone", "06 12 34 56 78"),
            ("entity_id", &entity),
            ("title", "Plus de tonalité"),
            ("kind", "incident"),
            ("urgency", "3"),
        ],
    )
    .await;
    let (t, _) = ticket(w, created_id(&r)).await;
    assert_eq!((t.requester_user_id, t.requester_label.as_deref()), (None, Some("Mme Lefèvre")));
    assert_eq!(t.requester_phone.as_deref(), Some("06 12 34 56 78"));
}

async fn bad_hotline_input_writes_nothing(w: &World) {
    let before = tickets(w).await;
    let (pc, entity, alice) = (w.pc.to_string(), w.school_a.to_string(), w.alice.to_string());
    // No title.
    let r = post(
        w,
        "/hotline",
        &w.hot_s,
        &[
            ("action", "create"),
            ("requester_user_id", &alice),
            ("asset_id", &pc),
            ("entity_id", &entity),
            ("title", ""),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("id=\"e-title\""), "the title is marked");
    assert!(r.body.contains("PC-SALLE12-01"), "what was picked is still shown");
    // School B's computer on a ticket of school A.
    let other = w.other_pc.to_string();
    let r = post(
        w,
        "/hotline",
        &w.hot_s,
        &[
            ("action", "create"),
            ("requester_user_id", &alice),
            ("asset_id", &other),
            ("entity_id", &entity),
            ("title", "x"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // A pick that does not exist; a level out of range; no requester at all.
    let (entity, alice) = (entity.as_str(), alice.as_str());
    for fields in [
        vec![("pick", "asset:999999"), ("title", "x")],
        vec![("pick", "user:abc"), ("q", ""), ("entity_id", entity), ("title", "x")],
        vec![("requester_user_id", alice), ("entity_id", entity), ("title", "x"), ("urgency", "9")],
        vec![("entity_id", entity), ("title", "x"), ("requester_phone", "not a phone")],
    ] {
        let r = post(w, "/hotline", &w.hot_s, &fields).await;
        assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{fields:?}");
    }
    // No CSRF token; a requester.
    let form = format!("title=x&entity_id={entity}&requester_user_id={alice}");
    assert_eq!(send(w, page_post("/hotline", &w.hot_s, &form)).await.status, StatusCode::FORBIDDEN);
    assert_eq!(send(w, page_get("/hotline", &w.alice_s)).await.status, StatusCode::FORBIDDEN);
    let r =
        post(w, "/hotline", &w.alice_s, &[("requester_user_id", alice), ("entity_id", entity), ("title", "x")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(tickets(w).await, before, "nothing was written");
}

// ---- QR labels ----

async fn a_signed_in_requester_reports_from_the_label(w: &World) {
    let uri = format!("/r/{}", w.pc_token);
    let r = send(w, page_get(&uri, &w.alice_s)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("PC-SALLE12-01") && r.body.contains("GPI-310001"));
    assert!(r.body.contains("Collège A &#62; Bâtiment principal &#62; Salle 12"), "{}", r.body);
    assert!(r.body.contains("name=\"title\"") && !r.body.contains("name=\"requester_phone\""));
    let before = tickets(w).await;
    let r = post(w, &uri, &w.alice_s, &[("title", "")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = post(w, &uri, &w.alice_s, &[("title", "x"), ("description", &"d".repeat(5000))]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = send(w, page_post(&uri, &w.alice_s, "title=x")).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "no CSRF token");
    assert_eq!(tickets(w).await, before);

    let r = post(w, &uri, &w.alice_s, &[("title", "L'écran clignote"), ("description", "Depuis ce matin.")]).await;
    let id = reported_id(&r);
    assert!(r.body.contains(&format!("href=\"/tickets/{id}\"")), "she may follow it");
    let (t, linked) = ticket(w, id).await;
    assert_eq!(
        (t.requester_user_id, t.entity_id, t.location_id.map(|l| l.0)),
        (Some(w.alice), w.school_a, Some(w.room))
    );
    assert_eq!((linked, t.source.as_str(), t.title.as_str()), (vec![w.pc], "qr", "L'écran clignote"));
}

async fn anonymous_reports_where_the_entity_takes_them(w: &World) {
    let uri = format!("/r/{}", w.pc_token);
    // Not yet allowed: sign in first (and come back here).
    let r = send(w, anonymous(Method::GET, &uri, None, None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(&format!("/login?next=/r/{}", w.pc_token)) && !r.body.contains("name=\"title\""));
    let before = tickets(w).await;
    let r = send(w, anonymous(Method::POST, &uri, None, Some(&[("title", "x")]))).await;
    assert_eq!((r.status, r.location().starts_with("/login")), (StatusCode::SEE_OTHER, true));
    assert_eq!(tickets(w).await, before);

    // Allowed on the county: school A inherits it.
    set_anonymous(w, w.county, Some(true)).await;
    let r = send(w, anonymous(Method::GET, &uri, None, None)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("name=\"requester_name\"") && r.body.contains("name=\"requester_phone\""));
    let cookie = r.headers[header::SET_COOKIE].to_str().unwrap().split(';').next().unwrap().to_owned();
    assert!(cookie.starts_with("parc_report_csrf="));
    let csrf = cookie.trim_start_matches("parc_report_csrf=").to_owned();
    let report = |fields: Vec<(&'static str, String)>| {
        let cookie = cookie.clone();
        let uri = uri.clone();
        async move {
            let f: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
            send(w, anonymous(Method::POST, &uri, Some(&cookie), Some(&f))).await
        }
    };
    let full = |csrf: &str, phone: &str| {
        vec![
            ("csrf", csrf.to_owned()),
            ("title", "Le vidéoprojecteur ne s'allume plus".to_owned()),
            ("requester_name", "Claire Dubois".to_owned()),
            ("requester_phone", phone.to_owned()),
        ]
    };
    // A missing phone, a bad phone, a wrong CSRF token: refused, nothing written.
    assert_eq!(report(full(&csrf, "")).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(report(full(&csrf, "call me")).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(report(full("forged", "06 11 22 33 44")).await.status, StatusCode::FORBIDDEN);
    let big = vec![("csrf", csrf.clone()), ("title", "x".repeat(20_000))];
    assert!(report(big).await.status.is_client_error(), "an oversized form");
    assert_eq!(tickets(w).await, before);

    let r = report(full(&csrf, "06 11 22 33 44")).await;
    let id = reported_id(&r);
    assert!(r.body.contains("06 11 22 33 44") && !r.body.contains("/tickets/"));
    let (t, linked) = ticket(w, id).await;
    assert_eq!((t.requester_user_id, t.requester_label.as_deref()), (None, Some("Claire Dubois")));
    assert_eq!((t.requester_phone.as_deref(), t.entity_id, linked), (Some("06 11 22 33 44"), w.school_a, vec![w.pc]));
    assert_eq!((t.source.as_str(), t.created_by_user_id, t.created_by_label.as_str()), ("qr", None, "anonymous"));
    let mut c = w.db.store.read().await.unwrap();
    let events = audit::for_object(&mut c, ObjectType::Ticket, id.0, 10).await.unwrap();
    assert_eq!((events[0].actor_user_id, events[0].actor_label.as_str()), (None, "anonymous"));
    drop(c);

    // A signed-in user of another school: the anonymous form, already named.
    let r = send(w, page_get(&uri, &w.bob_s)).await;
    assert!(r.body.contains("value=\"Bob Durand\"") && r.body.contains("value=\"03 89 00 11 22\""));

    // Throttled: an address that sent too many reports waits, and nothing is written.
    let mut tx = w.db.store.write().await.unwrap();
    for _ in 0..12 {
        users::throttle_fail(&mut tx, "report:local", 3).await.unwrap();
    }
    tx.commit().await.unwrap();
    let count = tickets(w).await;
    let r = report(full(&csrf, "06 11 22 33 44")).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers.contains_key(header::RETRY_AFTER));
    assert_eq!(tickets(w).await, count);

    // School B says no, whatever the county says.
    set_anonymous(w, w.school_b, Some(false)).await;
    let r = send(w, anonymous(Method::GET, &format!("/r/{}", w.other_token), None, None)).await;
    assert!(!r.body.contains("name=\"requester_phone\""));
    let r = send(w, anonymous(Method::GET, "/r/no-such-token", None, None)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    set_anonymous(w, w.county, None).await;
    set_anonymous(w, w.school_b, None).await;
}

// ---- entity settings ----

async fn an_admin_sets_the_entitys_helpdesk(w: &World) {
    let a = w.school_a.0;
    let (status, v) = api(&w.app, &w.adm, Method::GET, &format!("/entities/{a}/helpdesk"), None).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!((v["calendar"].clone(), v["calendar_from"].clone()), (Value::Null, Value::Null), "the default");
    assert_eq!(v["effective_anonymous_reports"], json!(false));

    // The page: inherited (here, the defaults) until the entity has its own.
    let uri = format!("/entities/{a}/helpdesk");
    let r = send(w, page_get(&uri, &w.adm_s)).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("value=\"08:30-12:00, 13:30-17:30\""), "the calendar in force is shown");
    let entity_page = send(w, page_get(&format!("/entities/{a}"), &w.adm_s)).await;
    assert!(entity_page.body.contains(&format!("href=\"/entities/{a}/helpdesk\"")));

    let own = [
        ("calendar_mode", "own"),
        ("tz", "Europe/Paris"),
        ("mon", "08:00-12:00, 14:00-18:00"),
        ("tue", "08:00-12:00"),
        ("wed", ""),
        ("thu", "08:00-12:00"),
        ("fri", "08:00-12:00"),
        ("sat", ""),
        ("sun", ""),
        ("french_holidays", "1"),
        ("alsace_moselle", "1"),
        ("closures", "2026-12-24 2026-12-31\n2026-05-15"),
        ("anonymous", "yes"),
    ];
    // A day that ends before it starts, and an unknown choice: refused, nothing changed.
    let mut bad = own.to_vec();
    bad[2] = ("mon", "17:00-09:00");
    let r = post(w, &uri, &w.adm_s, &bad).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("value=\"17:00-09:00\""), "the input comes back");
    let mut bad = own.to_vec();
    bad[12] = ("anonymous", "perhaps");
    assert_eq!(post(w, &uri, &w.adm_s, &bad).await.status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, v) = api(&w.app, &w.adm, Method::GET, &format!("/entities/{a}/helpdesk"), None).await;
    assert_eq!(v["calendar"], Value::Null);

    let r = post(w, &uri, &w.adm_s, &own).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let (_, v) = api(&w.app, &w.adm, Method::GET, &format!("/entities/{a}/helpdesk"), None).await;
    assert_eq!((v["anonymous_reports"].clone(), v["calendar_from"].clone()), (json!(true), json!(a)));
    let cal = BusinessCalendar::from_json(&v["calendar"].to_string()).unwrap();
    assert!(cal.alsace_moselle && cal.week[2].is_empty() && cal.closures.len() == 2);
    let r = send(w, page_get(&uri, &w.adm_s)).await;
    assert!(r.body.contains("value=\"08:00-12:00, 14:00-18:00\""));

    // The API: bad calendars are 422 and change nothing; null goes back to inheriting.
    for body in [json!({"calendar": {"week": {"mon": [["18:00", "08:00"]]}}}), json!({"calendar": 3}), json!({"x": 1})]
    {
        let (status, _) = api(&w.app, &w.adm, Method::PUT, &format!("/entities/{a}/helpdesk"), Some(body)).await;
        assert!(status == StatusCode::UNPROCESSABLE_ENTITY || status == StatusCode::BAD_REQUEST, "{status}");
    }
    let (_, v) = api(&w.app, &w.adm, Method::GET, &format!("/entities/{a}/helpdesk"), None).await;
    assert_eq!(v["anonymous_reports"], json!(true));
    set_anonymous(w, w.county, Some(false)).await;
    let body = json!({"calendar": null, "anonymous_reports": null});
    let (status, v) = api(&w.app, &w.adm, Method::PUT, &format!("/entities/{a}/helpdesk"), Some(body)).await;
    assert_eq!(status, StatusCode::OK, "{v}");
    assert_eq!((v["calendar"].clone(), v["anonymous_reports"].clone()), (Value::Null, Value::Null));
    assert_eq!(
        (v["anonymous_reports_from"].clone(), v["effective_anonymous_reports"].clone()),
        (json!(w.county.0), json!(false))
    );
    let r = send(w, page_get(&uri, &w.adm_s)).await;
    assert!(r.body.contains("Conseil départemental"), "inherited from the county");
    set_anonymous(w, w.county, None).await;

    // Rights: a requester reads but does not change; school B does not exist for school A's admin.
    let (status, _) = api(&w.app, &w.alice_t, Method::PUT, &format!("/entities/{a}/helpdesk"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(send(w, page_get(&uri, &w.alice_s)).await.status, StatusCode::FORBIDDEN);
    let b = w.school_b.0;
    let (status, _) = api(&w.app, &w.adm, Method::PUT, &format!("/entities/{b}/helpdesk"), Some(json!({}))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    let (status, _) = api(&w.app, &w.adm, Method::GET, &format!("/entities/{b}/helpdesk"), None).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

on_every_backend!(
    suggestions_fill_the_ticket,
    the_hotline_opens_the_ticket_it_describes,
    bad_hotline_input_writes_nothing,
    a_signed_in_requester_reports_from_the_label,
    anonymous_reports_where_the_entity_takes_them,
    an_admin_sets_the_entitys_helpdesk,
);
