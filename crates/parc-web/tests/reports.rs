//! Helpdesk dashboard, reports and catalogue pages in-process on every backend: the numbers of
//! `/helpdesk` and the lists they link to agree; a technician of one school sees neither the
//! other school's counts nor its time; the XLSX export reads back with calamine (sheets,
//! translated headers, numbers); categories and groups are created, renamed, moved, filled and
//! deleted through their pages, and refused input changes nothing.

use axum::http::{header, Method, StatusCode};
use axum::Router;
use calamine::{Data, Reader, Xlsx};
use parc_core::permissions::{Grant, Profile};
use parc_core::{EntityId, UserId};
use parc_store::helpdesk::bulk::{self, BulkTask, BulkTicket};
use parc_store::helpdesk::{self, TaskInput, TicketInput};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_store::{entities, Actor};
use parc_web::{AppState, WebConfig};
use serde_json::{json, Value};

#[allow(dead_code)] // the shared helpers this suite does not need
#[macro_use]
mod common;
use common::{api, entity, page_get, page_post, send, sys};

/// A session (cookie, CSRF token) and an API token of one user.
struct Who {
    id: UserId,
    session: (String, String),
    token: String,
}

/// A county and two schools; an administrator of the county, a technician per school, a
/// requester of school A; open tickets in both schools.
struct World {
    /// Kept alive: dropping it removes the database.
    db: TestDb,
    app: Router,
    county: EntityId,
    school_a: EntityId,
    admin: Who,
    tech_a: Who,
    tech_b: Who,
    parent: Who,
    /// School A's ticket with time spent by the technician of school A.
    worked: i64,
}

/// Login, name, profile, entity (index), language.
const PEOPLE: [(&str, &str, Profile, usize, &str); 4] = [
    ("admin", "Alice Admin", Profile::Admin, 0, "fr"),
    ("tech.a", "Théo Tech-A", Profile::Technician, 1, "fr"),
    ("tech.b", "Basile Tech-B", Profile::Technician, 2, "en"),
    ("parent", "Paul Parent", Profile::Requester, 1, "fr"),
];

async fn world(db: TestDb) -> World {
    let mut tx = db.store.write().await.unwrap();
    let mut ents: Vec<EntityId> = Vec::new();
    for name in ["Département", "Collège A", "Collège B"] {
        ents.push(entity(&mut tx, name, ents.first().copied()).await);
    }
    let mut who = Vec::new();
    for (login, name, profile, e, lang) in PEOPLE {
        let input = UserInput {
            login: Some(login.into()),
            display_name: Some(name.into()),
            entity_id: Some(ents[e].0),
            language: Some(lang.into()),
            ..Default::default()
        };
        let u = users::create(&mut tx, &sys(), &input, None).await.unwrap();
        let grant = Grant { entity_id: ents[e], profile, recursive: true };
        users::set_grants(&mut tx, &sys(), u.id, &[grant]).await.unwrap();
        let session = users::create_session(&mut tx, u.id, chrono::Duration::hours(1)).await.unwrap();
        let (_, token) = users::create_token(&mut tx, &sys(), u.id, "tests").await.unwrap();
        who.push(Who { id: u.id, session, token });
    }
    tx.commit().await.unwrap();
    let [admin, tech_a, tech_b, parent]: [Who; 4] = who.try_into().ok().unwrap();
    let worked = tickets(&db, &ents, &tech_a, &tech_b).await;
    let state = AppState::new(db.store.clone(), WebConfig::default()).await.unwrap();
    World {
        app: parc_web::router(state),
        db,
        county: ents[0],
        school_a: ents[1],
        admin,
        tech_a,
        tech_b,
        parent,
        worked,
    }
}

/// School A: "Écran A1" (Théo's, priority 5, 90 min of work), "Clavier A2" (nobody's), "Réseau
/// A3" (nobody's, time to own breached), "Imprimante A4" (Théo's, resolution at risk, 30 min);
/// school B: "Téléphone B1" (Basile's, 45 min).
async fn tickets(db: &TestDb, ents: &[EntityId], tech_a: &Who, tech_b: &Who) -> i64 {
    let mut tx = db.store.write().await.unwrap();
    let cfg = helpdesk::config(&mut tx).await.unwrap();
    let tree = entities::tree(&mut tx).await.unwrap();
    let mut ids = Vec::new();
    for (e, title, tech, level) in
        [(1, "Écran A1", Some(tech_a.id), 5), (1, "Clavier A2", None, 3), (2, "Téléphone B1", Some(tech_b.id), 3)]
    {
        let input = TicketInput {
            entity_id: Some(ents[e].0),
            title: Some(title.into()),
            requester_name: Some("M. Appelant".into()),
            assignee_user_id: tech.map(|u| u.0),
            urgency: Some(level),
            impact: Some(level),
            ..Default::default()
        };
        ids.push(helpdesk::create(&mut tx, &sys(), &cfg, &tree, &input).await.unwrap().id);
    }
    for (ticket, by, minutes) in [(ids[0], tech_a.id, 90), (ids[2], tech_b.id, 45)] {
        let me = Actor { user_id: Some(by), label: "tech".into(), request_id: None };
        let input = TaskInput {
            description: Some("Intervention".into()),
            duration_minutes: Some(minutes),
            ..Default::default()
        };
        helpdesk::save_task(&mut tx, &me, &tree, ticket, None, &input).await.unwrap();
    }
    // Deadlines the store would only reach with time: loaded as stored rows.
    let now = parc_store::now();
    let row = |title: &str, status: &'static str| BulkTicket {
        entity_id: ents[1].0,
        kind: "incident",
        status,
        title: title.into(),
        requester_name: Some("Mme Appelante".into()),
        urgency: 3,
        impact: 3,
        priority: 3,
        created_at: now.clone(),
        updated_at: now.clone(),
        ..Default::default()
    };
    let breached = BulkTicket {
        own_warn_at: Some("2020-01-01T08:00:00.000Z".into()),
        own_due_at: Some("2020-01-01T09:00:00.000Z".into()),
        ..row("Réseau A3", "new")
    };
    let at_risk = BulkTicket {
        assignee_user_id: Some(tech_a.id.0),
        owned_at: Some(now.clone()),
        resolve_warn_at: Some("2020-01-01T08:00:00.000Z".into()),
        resolve_due_at: Some("2999-01-01T08:00:00.000Z".into()),
        tasks: vec![BulkTask {
            technician_user_id: tech_a.id.0,
            description: "Toner".into(),
            duration_minutes: 30,
            created_at: now.clone(),
            ..Default::default()
        }],
        ..row("Imprimante A4", "assigned")
    };
    bulk::insert_tickets(&mut tx, db.store.backend(), &[breached, at_risk]).await.unwrap();
    tx.commit().await.unwrap();
    ids[0].0
}

async fn get(w: &World, uri: &str, who: &Who) -> (StatusCode, String) {
    let (s, b) = send(&w.app, page_get(uri, &who.session)).await;
    (s, String::from_utf8(b).unwrap())
}

/// Posts a form (with the CSRF token); the status, the redirect and the body.
async fn post(w: &World, uri: &str, who: &Who, fields: &[(&str, &str)]) -> (StatusCode, Option<String>, String) {
    let mut all = vec![("csrf", who.session.1.as_str())];
    all.extend_from_slice(fields);
    let req = page_post(uri, &who.session, &serde_urlencoded::to_string(&all).unwrap());
    let resp = tower::ServiceExt::oneshot(w.app.clone(), req).await.unwrap();
    let status = resp.status();
    let location = resp.headers().get(header::LOCATION).map(|v| v.to_str().unwrap().to_owned());
    let body = http_body_util::BodyExt::collect(resp.into_body()).await.unwrap().to_bytes();
    (status, location, String::from_utf8(body.to_vec()).unwrap())
}

async fn call(w: &World, who: &Who, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    api(&w.app, &who.token, method, uri, body).await
}

/// The number a dashboard line shows for the link `href`.
fn count_at(body: &str, href: &str) -> i64 {
    let at = body.find(&format!("<a href=\"{href}\">")).unwrap_or_else(|| panic!("no link to {href}"));
    let rest = &body[at..];
    let link = format!("<td class=\"num\"><a href=\"{href}\">");
    let start = rest.find(&link).map(|i| i + link.len()).unwrap_or_else(|| panic!("no count for {href}"));
    rest[start..].split('<').next().unwrap().trim().parse().unwrap()
}

async fn the_dashboard_counts_what_the_lists_show(w: &World) {
    let (s, body) = get(w, "/helpdesk", &w.tech_a).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let tech = format!("/tickets?technician={}", w.tech_a.id);
    assert_eq!(count_at(&body, &tech), 2);
    assert_eq!(count_at(&body, "/tickets?technician=none"), 2);
    assert_eq!(count_at(&body, "/tickets?priority=5"), 1);
    assert_eq!(count_at(&body, "/tickets?status=new"), 2);
    assert!(body.contains("Théo Tech-A") && !body.contains("Basile Tech-B"), "school B stays out of sight");
    assert!(body.contains(r#"href="/tickets?sla=breached"><strong>1</strong>"#), "{body}");
    assert!(body.contains(r#"href="/tickets?sla=at_risk"><strong>1</strong>"#));
    assert!(body.contains(r#"href="/tickets?status=open"><strong>4</strong>"#));
    // Each link lists exactly the tickets counted.
    for (href, shown, hidden) in [
        (tech.as_str(), &["Écran A1", "Imprimante A4"][..], &["Clavier A2", "Réseau A3"][..]),
        ("/tickets?technician=none", &["Clavier A2", "Réseau A3"], &["Écran A1", "Imprimante A4"]),
        ("/tickets?sla=breached", &["Réseau A3"], &["Imprimante A4", "Clavier A2"]),
        ("/tickets?sla=at_risk", &["Imprimante A4"], &["Réseau A3", "Écran A1"]),
        ("/tickets?priority=5", &["Écran A1"], &["Clavier A2"]),
    ] {
        let (s, list) = get(w, href, &w.tech_a).await;
        assert_eq!(s, StatusCode::OK, "{href}: {list}");
        for t in shown {
            assert!(list.contains(t), "{href} lists {t}");
        }
        for t in hidden {
            assert!(!list.contains(t), "{href} does not list {t}");
        }
    }
    let (s, _) = get(w, "/tickets?technician=someone", &w.tech_a).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // School B's technician counts school B only; the API gives the same numbers.
    let (s, d) = call(w, &w.tech_b, Method::GET, "/helpdesk/dashboard", None).await;
    assert_eq!(s, StatusCode::OK, "{d}");
    assert_eq!((d["open"].as_i64(), d["sla_breached"].as_i64()), (Some(1), Some(0)));
    assert_eq!(d["by_technician"], json!([{"id": w.tech_b.id.0, "name": "Basile Tech-B", "count": 1}]));
    let (_, d) = call(w, &w.tech_a, Method::GET, "/helpdesk/dashboard", None).await;
    assert_eq!(
        (d["open"].as_i64(), d["sla_at_risk"].as_i64(), d["sla_breached"].as_i64()),
        (Some(4), Some(1), Some(1))
    );
    assert_eq!(d["by_priority"][1], json!({"id": 5, "name": null, "count": 1}));
    // The county's administrator sees both schools; the home page sums them up.
    let (_, d) = call(w, &w.admin, Method::GET, "/helpdesk/dashboard", None).await;
    assert_eq!(d["open"], 5);
    let (s, home) = get(w, "/", &w.tech_a).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        home.contains(r#"href="/tickets?sla=breached"><strong>1</strong>"#) && home.contains(r#"href="/helpdesk""#)
    );
    // A requester counts their own tickets (none) and gets no reports.
    let (_, d) = call(w, &w.parent, Method::GET, "/helpdesk/dashboard", None).await;
    assert_eq!(d["open"], 0);
    let (s, _) = call(w, &w.parent, Method::GET, "/helpdesk/reports/time", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = get(w, "/helpdesk/reports", &w.parent).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn reports_show_time_per_technician(w: &World) {
    let (s, body) = get(w, "/helpdesk/reports", &w.tech_a).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    // 90 + 30 minutes this month, by Théo, in school A.
    assert!(body.contains("Théo Tech-A") && body.contains("<strong>2:00</strong>"), "{body}");
    assert!(!body.contains("Basile Tech-B") && !body.contains("0:45"), "school B's time stays out");
    assert!(body.contains("Sans catégorie"));
    let (_, r) = call(w, &w.admin, Method::GET, "/helpdesk/reports/time", None).await;
    assert_eq!(r["time"]["months"].as_array().unwrap().len(), 12);
    assert_eq!(r["time"]["grand_total_minutes"], 165);
    let people: Vec<(Value, Value)> = r["time"]["by_technician"]
        .as_array()
        .unwrap()
        .iter()
        .map(|x| (x["name"].clone(), x["total_minutes"].clone()))
        .collect();
    assert_eq!(people, [(json!("Basile Tech-B"), json!(45)), (json!("Théo Tech-A"), json!(120))]);
    assert_eq!(r["tickets"][11]["opened"], 5, "the current month is last");

    // Bad periods: 422 with the field, on the API and the page.
    for (q, field) in [("from=2026-13", "from"), ("from=2026-05&to=2026-01", "to"), ("from=1999-01&to=2026-01", "from")]
    {
        let (s, e) = call(w, &w.admin, Method::GET, &format!("/helpdesk/reports/time?{q}"), None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}: {e}");
        assert_eq!(e["error"]["details"]["fields"][0]["field"], field, "{q}");
        let (s, _) = call(w, &w.admin, Method::GET, &format!("/helpdesk/reports/time.xlsx?{q}"), None).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{q}");
    }
    let (s, body) = get(w, "/helpdesk/reports?from=demain", &w.admin).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Mois invalide (AAAA-MM)."), "{body}");
}

fn read_workbook(bytes: Vec<u8>) -> Xlsx<std::io::Cursor<Vec<u8>>> {
    Xlsx::new(std::io::Cursor::new(bytes)).unwrap()
}

async fn the_export_reads_back(w: &World) {
    let (s, bytes) = send(&w.app, page_get("/helpdesk/reports.xlsx", &w.tech_a.session)).await;
    assert_eq!(s, StatusCode::OK);
    let mut wb = read_workbook(bytes);
    assert_eq!(wb.sheet_names(), ["Temps par technicien (h)", "Temps par catégorie (h)", "Tickets par mois"]);
    let sheet = wb.worksheet_range("Temps par technicien (h)").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(rows[0][0], Data::String("Technicien".into()));
    assert_eq!(rows[0].len(), 14, "name, twelve months, total");
    assert_eq!(rows[0][13], Data::String("Total (h)".into()));
    assert_eq!(rows[1][0], Data::String("Théo Tech-A".into()));
    assert_eq!(rows[1][12], Data::Float(2.0), "this month, in hours");
    assert_eq!(rows[1][1], Data::Float(0.0));
    assert_eq!(rows.last().unwrap()[0], Data::String("Total".into()));
    assert_eq!(rows.len(), 3, "one technician and the totals: school B is not in it");
    let sheet = wb.worksheet_range("Tickets par mois").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(
        rows[0][..3],
        [Data::String("Mois".into()), Data::String("Ouverts".into()), Data::String("Résolus".into())]
    );
    assert_eq!(rows[12][1], Data::Float(4.0));

    // The API's workbook, in the caller's language, with the caller's school only.
    let req =
        common::api_request(&w.tech_b.token, Method::GET, "/helpdesk/reports/time.xlsx?from=2026-01&to=2026-03", None);
    let (s, bytes) = send(&w.app, req).await;
    assert_eq!(s, StatusCode::OK);
    let mut wb = read_workbook(bytes);
    assert_eq!(wb.sheet_names(), ["Time per technician (h)", "Time per category (h)", "Tickets per month"]);
    let sheet = wb.worksheet_range("Time per technician (h)").unwrap();
    let rows: Vec<&[Data]> = sheet.rows().collect();
    assert_eq!(
        rows[0].iter().map(|c| c.to_string()).collect::<Vec<_>>(),
        ["Technician", "Jan 2026", "Feb 2026", "Mar 2026", "Total (h)"]
    );
    assert_eq!(rows.len(), 2, "no time in that period: the totals only");
    assert_eq!(rows[1][4], Data::Float(0.0));
}

/// The ids of the categories the API lists, by name.
async fn category_id(w: &World, name: &str) -> Option<i64> {
    let (_, l) = call(w, &w.admin, Method::GET, "/ticket-categories", None).await;
    l["items"].as_array().unwrap().iter().find(|x| x["name"] == name).and_then(|x| x["id"].as_i64())
}

async fn categories_are_managed_from_their_page(w: &World) {
    let county = w.county.to_string();
    let (s, body) = get(w, "/helpdesk/categories", &w.admin).await;
    assert_eq!(s, StatusCode::OK, "{body}");
    let (s, loc, body) = post(w, "/helpdesk/categories", &w.admin, &[("entity_id", &county), ("name", "Réseau")]).await;
    assert_eq!(
        (s, loc.as_deref()),
        (StatusCode::SEE_OTHER, Some("/helpdesk/categories?ok=hdcat.category_created")),
        "{body}"
    );
    let reseau = category_id(w, "Réseau").await.unwrap().to_string();
    let fields = [("entity_id", county.as_str()), ("parent_id", reseau.as_str()), ("name", "Brassage")];
    let (s, _, _) = post(w, "/helpdesk/categories", &w.admin, &fields).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, body) = get(w, "/helpdesk/categories", &w.admin).await;
    assert!(body.contains("Réseau") && body.contains("\u{a0}Brassage"), "the child is indented: {body}");

    // Refused: an empty name (422), a name taken (409), an entity not administered (422).
    let (s, _, body) = post(w, "/helpdesk/categories", &w.admin, &[("entity_id", &county), ("name", " ")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Ce champ est obligatoire."), "{body}");
    let (s, _, _) = post(w, "/helpdesk/categories", &w.admin, &[("entity_id", &county), ("name", "réseau")]).await;
    assert_eq!(s, StatusCode::CONFLICT);
    let a = w.school_a.to_string();
    let (s, _, _) = post(w, "/helpdesk/categories", &w.tech_a, &[("entity_id", &a), ("name", "Wifi")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, l) = call(w, &w.admin, Method::GET, "/ticket-categories", None).await;
    assert_eq!(l["items"].as_array().unwrap().len(), 2, "nothing more was written");

    // Rename, and a move under its own child is refused.
    let brassage = category_id(w, "Brassage").await.unwrap();
    let uri = format!("/helpdesk/categories/{brassage}");
    let (s, _, _) = post(w, &uri, &w.admin, &[("name", "Baie de brassage"), ("parent_id", &reseau)]).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, x) = call(w, &w.admin, Method::GET, &format!("/ticket-categories/{brassage}"), None).await;
    assert_eq!(x["path"], "Réseau > Baie de brassage");
    let (s, _, body) = post(
        w,
        &format!("/helpdesk/categories/{reseau}"),
        &w.admin,
        &[("name", "Réseau"), ("parent_id", &brassage.to_string())],
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("Une catégorie ne peut pas être placée sous elle-même."), "{body}");
    let (s, _) =
        call(w, &w.admin, Method::PATCH, &format!("/ticket-categories/{brassage}"), Some(json!({"name": ""}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);

    // Rights: a technician reads the county's categories but does not change them; school B's
    // technician does not see a category of school A.
    let (s, _) = get(w, &uri, &w.tech_a).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) =
        call(w, &w.tech_a, Method::PATCH, &format!("/ticket-categories/{brassage}"), Some(json!({"name": "X"}))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, x) =
        call(w, &w.admin, Method::POST, "/ticket-categories", Some(json!({"entity_id": w.school_a.0, "name": "Wifi"})))
            .await;
    assert_eq!(s, StatusCode::CREATED, "{x}");
    let wifi = x["id"].as_i64().unwrap();
    let (s, _) = call(w, &w.tech_b, Method::GET, &format!("/ticket-categories/{wifi}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = get(w, &format!("/helpdesk/categories/{wifi}"), &w.tech_b).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Delete: refused while tickets use it or it holds another one, done once unused.
    let (s, t) =
        call(w, &w.admin, Method::PATCH, &format!("/tickets/{}", w.worked), Some(json!({"category_id": brassage})))
            .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    let (s, _, body) = post(w, &format!("{uri}/delete"), &w.admin, &[]).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert!(body.contains("utilisée par des tickets"), "{body}");
    let (s, _) = call(w, &w.admin, Method::DELETE, &format!("/ticket-categories/{reseau}"), None).await;
    assert_eq!(s, StatusCode::CONFLICT, "it holds Brassage");
    let (s, _) = get(w, "/helpdesk/reports", &w.admin).await;
    assert_eq!(s, StatusCode::OK);
    let (s, loc, _) = post(w, &format!("/helpdesk/categories/{wifi}/delete"), &w.admin, &[]).await;
    assert_eq!((s, loc.as_deref()), (StatusCode::SEE_OTHER, Some("/helpdesk/categories?ok=hdcat.category_deleted")));
    assert_eq!(category_id(w, "Wifi").await, None);
    assert!(category_id(w, "Baie de brassage").await.is_some());
    // The report now names the category of the 90 minutes.
    let (_, body) = get(w, "/helpdesk/reports", &w.tech_a).await;
    assert!(body.contains("Baie de brassage"), "{body}");
}

async fn groups_are_managed_from_their_page(w: &World) {
    let a = w.school_a.to_string();
    let (s, loc, body) = post(w, "/helpdesk/groups", &w.admin, &[("entity_id", &a), ("name", "Support A")]).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let loc = loc.unwrap();
    let id: i64 = loc.trim_start_matches("/helpdesk/groups/").split('?').next().unwrap().parse().unwrap();
    let uri = format!("/helpdesk/groups/{id}");
    let (s, body) = get(w, &uri, &w.admin).await;
    assert_eq!(s, StatusCode::OK);
    assert!(body.contains("Théo Tech-A") && !body.contains("Basile Tech-B"), "school A's technicians are offered");

    let tech_a = w.tech_a.id.to_string();
    let fields = [("name", "Support A (N2)"), ("comment", "Astreinte"), ("member_ids", tech_a.as_str())];
    let (s, _, body) = post(w, &uri, &w.admin, &fields).await;
    assert_eq!(s, StatusCode::SEE_OTHER, "{body}");
    let (_, g) = call(w, &w.admin, Method::GET, &format!("/groups/{id}"), None).await;
    assert_eq!((g["name"].as_str(), g["comment"].as_str()), (Some("Support A (N2)"), Some("Astreinte")));
    assert_eq!(g["members"], json!([{"user_id": w.tech_a.id.0, "display_name": "Théo Tech-A"}]));

    // Refused, nothing changed: school B's technician as a member, an empty name.
    let tech_b = w.tech_b.id.to_string();
    let (s, _, body) = post(w, &uri, &w.admin, &[("name", "Autre"), ("member_ids", &tech_b)]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(body.contains("pas technicien de cette entité"), "{body}");
    let (s, _, _) = post(w, &uri, &w.admin, &[("name", ""), ("member_ids", &tech_a)]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, _) =
        call(w, &w.admin, Method::PATCH, &format!("/groups/{id}"), Some(json!({"member_ids": [w.tech_b.id.0]}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, g) = call(w, &w.admin, Method::GET, &format!("/groups/{id}"), None).await;
    assert_eq!(g["name"], "Support A (N2)");
    assert_eq!(g["members"].as_array().unwrap().len(), 1);
    // Emptied through the API; a technician may not change it; school B does not see it.
    let (s, g) = call(w, &w.admin, Method::PATCH, &format!("/groups/{id}"), Some(json!({"member_ids": []}))).await;
    assert_eq!((s, g["members"].clone()), (StatusCode::OK, json!([])));
    let (s, _) = get(w, &uri, &w.tech_a).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = call(w, &w.tech_b, Method::GET, &format!("/groups/{id}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, list) = get(w, "/helpdesk/groups", &w.tech_a).await;
    assert_eq!(s, StatusCode::OK);
    assert!(list.contains("Support A (N2)") && !list.contains(&format!("href=\"{uri}\"")), "listed, not editable");
    let (s, _, _) = post(w, "/helpdesk/groups", &w.tech_a, &[("entity_id", &a), ("name", "X")]).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "a technician does not manage users");
}

on_every_backend!(
    the_dashboard_counts_what_the_lists_show,
    reports_show_time_per_technician,
    the_export_reads_back,
    categories_are_managed_from_their_page,
    groups_are_managed_from_their_page,
);
