//! The planning on every backend: a technician's week through the API and the page (overlaps
//! flagged, tickets outside the reader's scope shown as busy only), who may look at whose
//! planning (404 out of scope, 403 for a requester), bad periods (422), booking a free slot for
//! a ticket (the ticket's task form comes back filled in) and the calendar feed's page flow.

use axum::http::{Method, StatusCode};
use chrono::Duration;
use parc_store::testing::TestDb;
use serde_json::{json, Value};

#[allow(dead_code)] // the shared helpers this suite does not need
mod common;
#[allow(dead_code)] // the helpers this suite does not need
mod planning_world;
use common::{api, page_get, page_post, send};
use planning_world::{appointment, future_monday, paris, world, World};

async fn page(w: &World, uri: &str, session: &(String, String)) -> (StatusCode, String) {
    let (s, body) = send(&w.app, page_get(uri, session)).await;
    (s, String::from_utf8(body).unwrap().replace("&#39;", "'"))
}

#[tokio::test]
async fn planning_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let w = world(&db).await;
        week(&w).await;
        booking(&w).await;
        feed_page(&w).await;
    }
}

/// The items of `user`'s planning for the week of `from`, as `reader` sees them.
async fn items(w: &World, reader: &str, query: &str) -> (StatusCode, Value) {
    api(&w.app, reader, Method::GET, &format!("/planning?{query}"), None).await
}

async fn week(w: &World) {
    let monday = future_monday();
    let a = w.ticket(&w.hotline_a.token, w.school_a, "Écran noir en salle 12", json!({"location_id": w.site_a})).await;
    let b = w.ticket(&w.tech.token, w.school_b, "Imprimante du CDI", json!({})).await;
    let tuesday = monday + Duration::days(1);
    w.task(&w.hotline_a.token, a, appointment(w.tech.id, paris(tuesday, 9, 0), 60, true, "Changer l'écran")).await;
    w.task(&w.tech.token, b, appointment(w.tech.id, paris(tuesday, 9, 30), 90, false, "Bourrage")).await;
    w.task(&w.tech.token, b, appointment(w.tech.id, paris(tuesday, 14, 0), 30, false, "Toner")).await;
    // Next week: not in this one.
    w.task(&w.tech.token, b, appointment(w.tech.id, paris(monday + Duration::days(7), 9, 0), 30, false, "Plus tard"))
        .await;

    // The technician sees their whole week, overlaps flagged.
    let q = format!("from={monday}");
    let (s, p) = items(w, &w.tech.token, &q).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    assert_eq!((p["user_id"].as_i64(), p["user_name"].as_str()), (Some(w.tech.id.0), Some("Théo Technicien")));
    let list = p["items"].as_array().unwrap();
    assert_eq!(list.len(), 3, "{p}");
    assert_eq!(list[0]["title"], format!("#{a} Écran noir en salle 12"));
    assert_eq!(list[0]["location"], "Bâtiment principal, 3 rue des Écoles, Limoges");
    assert_eq!(list[0]["start"], paris(tuesday, 9, 0).format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string());
    let overlaps: Vec<bool> = list.iter().map(|i| i["overlaps"].as_bool().unwrap()).collect();
    assert_eq!(overlaps, vec![true, true, false]);
    assert!(list.iter().all(|i| i["busy_only"] == false));

    // The hotline of school A looks at the technician's week: school B's tickets are only busy.
    let (s, p) = items(w, &w.hotline_a.token, &format!("user={}&{q}", w.tech.id)).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let list = p["items"].as_array().unwrap();
    assert_eq!(list[0]["ticket_id"], a);
    for busy in &list[1..] {
        assert_eq!(
            (busy["busy_only"].clone(), busy["title"].clone(), busy["ticket_id"].clone()),
            (json!(true), Value::Null, Value::Null)
        );
    }
    assert!(!p.to_string().contains("Imprimante") && !p.to_string().contains("Bourrage"), "{p}");

    // School B's technician sees the county technician too (he works in school B), the other
    // way round: school A's ticket is busy.
    let (s, p) = items(w, &w.tech_b.token, &format!("user={}&{q}", w.tech.id)).await;
    assert_eq!(s, StatusCode::OK, "{p}");
    let busy: Vec<bool> = p["items"].as_array().unwrap().iter().map(|i| i["busy_only"].as_bool().unwrap()).collect();
    assert_eq!(busy, vec![true, false, false]);
    // Out of scope: school B's technician does not see school A's hotline operator (404), nor
    // unknown users; a requester has no planning (403).
    let (s, _) = items(w, &w.tech_b.token, &format!("user={}", w.hotline_a.id)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = items(w, &w.tech.token, "user=999999").await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, e) = items(w, &w.requester_a.token, "").await;
    assert_eq!((s, e["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    // A technician of school A's hotline cannot see school B's technician either.
    let (s, _) = items(w, &w.hotline_a.token, &format!("user={}", w.tech_b.id)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Bad periods: 422 with the field; a wrongly typed user: 400.
    for (query, field) in
        [("from=demain", "from"), ("from=2026-03-09&to=2026-03-01", "to"), ("from=2026-01-01&to=2027-06-01", "to")]
    {
        let (s, e) = items(w, &w.tech.token, query).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{query}: {e}");
        assert_eq!(e["error"]["details"]["fields"][0]["field"], field);
    }
    let (s, _) = items(w, &w.tech.token, "user=moi").await;
    assert_eq!(s, StatusCode::BAD_REQUEST);

    // The page: the day-by-day week, the overlap flagged, busy slots without their ticket.
    let uri = format!("/planning?user={}&week={}", w.tech.id, tuesday);
    let (s, html) = page(w, &uri, &w.hotline_a.session).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains(&format!("href=\"/tickets/{a}\"")) && html.contains("Écran noir en salle 12"), "{html}");
    assert!(html.contains("appt overlap") && html.contains("Chevauchement"), "{html}");
    assert!(html.contains("Occupé (ticket hors de votre périmètre)") && !html.contains("Imprimante"), "{html}");
    assert!(html.contains("mardi") && html.contains("dimanche"), "Monday to Sunday: {html}");
    let prev = format!("week={}", monday - Duration::days(7));
    assert!(html.contains(&prev), "previous week link: {html}");
    assert!(html.contains(&format!("<option value=\"{}\" selected", w.tech.id)), "the picker: {html}");
    let (s, _) = page(w, "/planning", &w.requester_a.session).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = page(w, &format!("/planning?user={}", w.hotline_a.id), &w.tech_b.session).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = page(w, "/planning?week=lundi", &w.tech.session).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
}

async fn booking(w: &World) {
    let monday = future_monday();
    let wednesday = monday + Duration::days(2);
    let t = w.ticket(&w.hotline_a.token, w.school_a, "Téléphone sans tonalité", json!({})).await;
    // The technician is busy 10:00-11:00 on Wednesday.
    w.task(&w.tech.token, t, appointment(w.tech.id, paris(wednesday, 10, 0), 60, false, "Déjà pris")).await;

    // From the ticket page, the hotline goes to the planning.
    let (_, html) = page(w, &format!("/tickets/{t}"), &w.hotline_a.session).await;
    assert!(html.contains(&format!("href=\"/planning?ticket={t}\"")), "{html}");
    let uri = format!("/planning?ticket={t}&user={}&week={wednesday}", w.tech.id);
    let (s, html) = page(w, &uri, &w.hotline_a.session).await;
    assert_eq!(s, StatusCode::OK, "{html}");
    assert!(html.contains(&format!("ticket #{t}")), "{html}");
    let slot = |h: u32| format!("/tickets/{t}?book_user={}&#38;book_start={wednesday}T{h:02}:00#task-form", w.tech.id);
    assert!(html.contains(&slot(9)) && html.contains(&slot(11)), "free slots: {html}");
    assert!(!html.contains(&slot(10)), "10:00 is taken: {html}");

    // The slot opens the ticket with the task form filled in.
    let href = slot(9).replace("&#38;", "&").replace("#task-form", "");
    let (s, html) = page(w, &href, &w.hotline_a.session).await;
    assert_eq!(s, StatusCode::OK);
    assert!(
        html.contains(&format!("value=\"{wednesday}T09:00\""))
            && html.contains(&format!("value=\"{wednesday}T10:00\"")),
        "{html}"
    );
    assert!(html.contains(&format!("<option value=\"{}\" selected", w.tech.id)), "{html}");
    let csrf = &w.hotline_a.session.1;
    let form = format!(
        "csrf={csrf}&description=Intervention&technician_user_id={}&planned_start={wednesday}T09%3A00&planned_end={wednesday}T10%3A00&on_site=1",
        w.tech.id
    );
    let (s, _) = send(&w.app, page_post(&format!("/tickets/{t}/tasks"), &w.hotline_a.session, &form)).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = page(w, &uri, &w.hotline_a.session).await;
    assert!(!html.contains(&slot(9)), "9:00 is now booked: {html}");

    // A technician who does not handle the ticket's entity is offered no slot.
    let uri = format!("/planning?ticket={t}&user={}&week={wednesday}", w.tech_b.id);
    let (s, _) = page(w, &uri, &w.hotline_a.session).await;
    assert_eq!(s, StatusCode::NOT_FOUND, "outside the hotline's scope");
    // A requester cannot book.
    let (s, _) = page(w, &format!("/planning?ticket={t}"), &w.requester_a.session).await;
    assert!(s == StatusCode::FORBIDDEN || s == StatusCode::NOT_FOUND, "{s}");
}

async fn feed_page(w: &World) {
    let (_, html) = page(w, "/planning", &w.tech.session).await;
    assert!(html.contains("Créer mon adresse d'agenda") && html.contains("action=\"/planning/feed\""), "{html}");
    // Without the CSRF token: refused.
    let (s, _) = send(&w.app, page_post("/planning/feed", &w.tech.session, "")).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let csrf = format!("csrf={}", w.tech.session.1);
    let (s, body) = send(&w.app, page_post("/planning/feed", &w.tech.session, &csrf)).await;
    let html = String::from_utf8(body).unwrap();
    assert_eq!(s, StatusCode::OK, "{html}");
    let start = html.find("/ical/").expect("the feed URL is shown once");
    let token = &html[start + 6..start + 6 + 43];
    assert!(html[start..].starts_with(&format!("/ical/{token}.ics")), "{html}");
    // Afterwards the page only says it exists.
    let (_, html) = page(w, "/planning", &w.tech.session).await;
    assert!(!html.contains(token) && html.contains("Régénérer"), "{html}");
    // Someone else's planning page offers no feed form.
    let (_, html) = page(w, &format!("/planning?user={}", w.tech.id), &w.hotline_a.session).await;
    assert!(!html.contains("action=\"/planning/feed\""), "{html}");
    // Revoked.
    let (s, _) = send(&w.app, page_post("/planning/feed/revoke", &w.tech.session, &csrf)).await;
    assert_eq!(s, StatusCode::SEE_OTHER);
    let (_, html) = page(w, "/planning?ok=planning.feed_revoked", &w.tech.session).await;
    assert!(html.contains("Adresse d'agenda supprimée.") && html.contains("Créer mon adresse d'agenda"), "{html}");

    // The API: create (201 with the URL), revoke (204), revoke again (404); not for requesters.
    let (s, v) = api(&w.app, &w.tech.token, Method::POST, "/planning/feed", None).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert!(v["url"].as_str().unwrap().contains("/ical/") && v["url"].as_str().unwrap().ends_with(".ics"), "{v}");
    let (s, _) = api(&w.app, &w.tech.token, Method::DELETE, "/planning/feed", None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api(&w.app, &w.tech.token, Method::DELETE, "/planning/feed", None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api(&w.app, &w.requester_a.token, Method::POST, "/planning/feed", None).await;
    assert_eq!(s, StatusCode::FORBIDDEN);

    // The OpenAPI document lists the new paths.
    let (_, doc) = api(&w.app, &w.tech.token, Method::GET, "/openapi.json", None).await;
    for path in ["/planning", "/planning/feed", "/tickets/{id}/tasks/{task_id}/signature", "/documents/{id}"] {
        assert!(doc["paths"][path].is_object(), "{path} missing");
    }
    assert!(doc["paths"]["/tickets/{id}/tasks/{task_id}/sheet.pdf"]["get"]["responses"]["200"]["content"]
        ["application/pdf"]
        .is_object());
}
