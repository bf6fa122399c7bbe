//! Monitoring pages in-process on every backend: the status wall colours a host's tile by the
//! worst state of its checks and words it plainly ("disque / plein à 94 %"), hides other
//! schools' hosts; the problems list puts CRITICAL before WARNING; a check's page draws its
//! performance data as SVG; acknowledgements and downtimes go through the page forms with
//! their rights and refusals; the pages render in English after the language switch.

use axum::http::StatusCode;
use axum::Router;
use parc_core::monitoring::check::CheckDefinition;
use parc_core::monitoring::{parse_output, ServiceState};
use parc_core::permissions::{Grant, Profile};
use parc_core::{EntityId, HostId, ServiceId};
use parc_store::monitoring::schedule::{self, CheckResult};
use parc_store::monitoring::status;
use parc_store::monitoring::{self, HostInput, ServiceInput};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_web::{AppState, WebConfig};

#[allow(dead_code)] // the shared helpers this suite does not need
#[macro_use]
mod common;
use common::{csrf_post, entity, page_get, reply, sys, Reply};

/// Two schools; a technician and a principal (requester) of school A, a principal of school
/// B; a monitored server of school A with a disk check and a load check.
struct World {
    /// Kept alive: dropping it removes the database.
    db: TestDb,
    app: Router,
    school_a: EntityId,
    tech_a: (String, String),
    principal_a: (String, String),
    principal_b: (String, String),
    host: HostId,
    host_check: ServiceId,
    disk: ServiceId,
    load: ServiceId,
}

const DISK_CRITICAL: &str = "DISK CRITICAL - free space: / 1200 MB (6.1% inode=90%);| /=18500MB;16384;18432;0;19660";
const DISK_OK: &str = "DISK OK - free space: / 9000 MB (45.8% inode=90%);| /=10660MB;16384;18432;0;19660";
const LOAD_WARNING: &str =
    "WARNING - load average: 6.10, 5.20, 4.00|load1=6.100;5.000;10.000;0; load5=5.200;4.000;8.000;0; \
     load15=4.000;3.000;6.000;0;";

async fn world(db: TestDb) -> World {
    let mut tx = db.store.write().await.unwrap();
    let root = entity(&mut tx, "Département", None).await;
    let school_a = entity(&mut tx, "Collège A", Some(root)).await;
    let school_b = entity(&mut tx, "Collège B", Some(root)).await;
    let mut sessions = Vec::new();
    for (login, profile, ent) in [
        ("tech.a", Profile::Technician, school_a),
        ("principal.a", Profile::Requester, school_a),
        ("principal.b", Profile::Requester, school_b),
    ] {
        let input = UserInput {
            login: Some(login.into()),
            display_name: Some(login.into()),
            entity_id: Some(ent.0),
            language: Some("fr".into()),
            ..Default::default()
        };
        let u = users::create(&mut tx, &sys(), &input, None).await.unwrap();
        users::set_grants(&mut tx, &sys(), u.id, &[Grant { entity_id: ent, profile, recursive: true }]).await.unwrap();
        sessions.push(users::create_session(&mut tx, u.id, chrono::Duration::hours(1)).await.unwrap());
    }
    let host = monitoring::create_host(
        &mut tx,
        &sys(),
        &HostInput {
            entity_id: Some(school_a.0),
            name: Some("srv-peda-a".into()),
            display_name: Some("Serveur pédagogique".into()),
            address: Some("10.1.0.5".into()),
            wall_group: Some("Collège A".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let service = |name: &str, command: &str| ServiceInput {
        name: Some(name.into()),
        check: Some(CheckDefinition::Plugin { command: command.into(), args: Vec::new() }),
        ..Default::default()
    };
    let disk = monitoring::create_service(
        &mut tx,
        &sys(),
        host.id,
        &service("Disque /", "$USER1$/check_disk -w 10% -c 5% -p /"),
    )
    .await
    .unwrap()
    .id;
    let load = monitoring::create_service(
        &mut tx,
        &sys(),
        host.id,
        &service("Charge", "$USER1$/check_load -w 5,4,3 -c 10,8,6"),
    )
    .await
    .unwrap()
    .id;
    tx.commit().await.unwrap();
    let state = AppState::new(db.store.clone(), WebConfig::default()).await.unwrap();
    let [tech_a, principal_a, principal_b]: [(String, String); 3] = sessions.try_into().unwrap();
    World {
        app: parc_web::router(state),
        db,
        school_a,
        tech_a,
        principal_a,
        principal_b,
        host: host.id,
        host_check: host.check_id,
        disk,
        load,
    }
}

/// Records a plugin-style result for a check, `ago_s` seconds ago.
async fn result(w: &World, id: ServiceId, state: ServiceState, output: &str, ago_s: i64) {
    let out = parse_output(output);
    let now = chrono::Utc::now();
    let r = CheckResult {
        service_id: id,
        owner: None,
        state,
        summary: out.summary,
        long_output: out.long_output,
        perfdata: out.perfdata,
        started_at: now - chrono::Duration::seconds(ago_s),
        duration_ms: 10,
    };
    let mut tx = w.db.store.write().await.unwrap();
    let recorded = schedule::record(&mut tx, &[r], now).await.unwrap();
    assert!(recorded[0].accepted);
    tx.commit().await.unwrap();
}

async fn get(w: &World, uri: &str, who: &(String, String)) -> Reply {
    reply(&w.app, page_get(uri, who)).await
}

/// The `<li>` of a host's tile on the wall, if any.
fn tile(body: &str, host: HostId) -> Option<&str> {
    let marker = format!("data-host-id=\"{host}\"");
    let at = body.find(&marker)?;
    let start = body[..at].rfind("<li")?;
    let end = at + body[at..].find("</li>")?;
    Some(&body[start..end])
}

async fn acknowledged(w: &World, id: ServiceId) -> bool {
    let mut c = w.db.store.read().await.unwrap();
    status::status(&mut c, id, chrono::Utc::now().timestamp_millis()).await.unwrap().unwrap().acknowledged()
}

async fn downtimes(w: &World) -> usize {
    let mut c = w.db.store.read().await.unwrap();
    status::downtimes(&mut c, &[w.school_a.0], None, chrono::Utc::now().timestamp_millis()).await.unwrap().len()
}

async fn wall_colours_and_words_tiles(w: &World) {
    result(w, w.host_check, ServiceState::Ok, "PING OK - Packet loss = 0%, RTA = 0.80 ms", 30).await;
    // Pending checks leave the host grey.
    let r = get(w, "/monitoring", &w.tech_a).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(tile(&r.body, w.host).unwrap().contains("tile-unknown"), "{}", r.body);

    result(w, w.disk, ServiceState::Critical, DISK_CRITICAL, 20).await;
    result(w, w.load, ServiceState::Ok, "OK - load average: 0.10, 0.20, 0.30", 20).await;
    let r = get(w, "/monitoring", &w.principal_a).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let t = tile(&r.body, w.host).expect("the principal of the school sees the tile");
    assert!(t.contains("tile-critical") && !t.contains("muted"), "{t}");
    assert!(t.contains("Serveur pédagogique"), "{t}");
    assert!(t.contains("disque / plein à 94 %"), "{t}");
    assert!(r.body.contains("<h2>Collège A</h2>"), "grouped by wall group");
    assert!(r.body.contains(r#"<meta http-equiv="refresh" content="30">"#));
    assert!(r.body.contains(r#"data-refresh="30""#) && r.body.contains("/static/wall.js"));
    assert!(!r.body.contains("style="), "the CSP forbids inline styles");

    // The principal of the other school sees no tile, and the host's pages do not exist for them.
    let r = get(w, "/monitoring", &w.principal_b).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(tile(&r.body, w.host).is_none(), "{}", r.body);
    assert!(r.body.contains("Aucun équipement supervisé"));
    for uri in [format!("/monitoring/hosts/{}", w.host), format!("/monitoring/services/{}", w.disk)] {
        assert_eq!(get(w, &uri, &w.principal_b).await.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(get(w, &uri, &w.principal_a).await.status, StatusCode::OK, "{uri}");
    }

    // Kiosk: no menu, bounded refresh period.
    let r = get(w, "/monitoring?kiosk=1&refresh=2", &w.principal_a).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body.contains(r#"class="menu""#) && r.body.contains("kiosk"), "{}", r.body);
    assert!(r.body.contains(r#"content="5""#) && tile(&r.body, w.host).is_some());

    // Recovery: green and "all good".
    result(w, w.disk, ServiceState::Ok, DISK_OK, 10).await;
    let r = get(w, "/monitoring", &w.principal_a).await;
    let t = tile(&r.body, w.host).unwrap();
    assert!(t.contains("tile-ok") && t.contains("Tout fonctionne"), "{t}");

    // The assets served for the wall.
    for (uri, kind) in [("/static/wall.js", "javascript"), ("/static/monitoring.css", "text/css")] {
        let r = get(w, uri, &w.principal_a).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(r.headers["content-type"].to_str().unwrap().contains(kind));
    }
}

async fn problems_worst_first(w: &World) {
    result(w, w.host_check, ServiceState::Ok, "PING OK - Packet loss = 0%, RTA = 0.80 ms", 60).await;
    // "Charge" sorts before "Disque /" by name; the list must put the CRITICAL one first.
    result(w, w.load, ServiceState::Warning, LOAD_WARNING, 50).await;
    result(w, w.disk, ServiceState::Critical, DISK_CRITICAL, 40).await;
    let r = get(w, "/monitoring/problems", &w.tech_a).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let disk = r.body.find(&format!("data-service-id=\"{}\"", w.disk)).expect("the disk problem is listed");
    let load = r.body.find(&format!("data-service-id=\"{}\"", w.load)).expect("the load problem is listed");
    assert!(disk < load, "CRITICAL before WARNING");
    assert!(!r.body.contains(&format!("data-service-id=\"{}\"", w.host_check)), "UP is no problem");
    assert!(r.body.contains("Critique") && r.body.contains("Avertissement") && r.body.contains("SOFT 1/3"));

    // The wall shows the worst one, worded; the other school's principal sees no problem.
    let r = get(w, "/monitoring", &w.tech_a).await;
    assert!(tile(&r.body, w.host).unwrap().contains("disque / plein à 94 %"));
    let r = get(w, "/monitoring/problems", &w.principal_b).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body.contains("data-service-id"), "{}", r.body);

    // The log lists the state changes, the availability report every check.
    let r = get(w, "/monitoring/log", &w.tech_a).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(&format!("/monitoring/services/{}", w.disk)) && r.body.contains("Critique"));
    let r = get(w, "/monitoring/log", &w.principal_b).await;
    assert!(!r.body.contains(&format!("/monitoring/services/{}", w.disk)));
    let r = get(w, "/monitoring/availability", &w.tech_a).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains(&format!("data-service-id=\"{}\"", w.disk)));
    let r = get(w, "/monitoring/availability?from=2026-03-10&to=2026-03-01", &w.tech_a).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("La fin ne peut pas précéder le début."), "{}", r.body);
}

async fn service_page_graph(w: &World) {
    result(w, w.disk, ServiceState::Ok, DISK_OK, 120).await;
    result(w, w.disk, ServiceState::Critical, DISK_CRITICAL, 60).await;
    let r = get(w, &format!("/monitoring/services/{}", w.disk), &w.principal_a).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let svg = &r.body[r.body.find("<svg").expect("a graph")..r.body.find("</svg>").unwrap()];
    let points = svg.split("class=\"series\" points=\"").nth(1).unwrap().split('"').next().unwrap();
    assert_eq!(points.split(' ').count(), 2, "one point per result: {points}");
    assert!(svg.contains("th-warn") && svg.contains("th-crit"), "threshold lines: {svg}");
    assert!(svg.contains("19\u{a0}660 MB") || svg.contains("19660 MB"), "the axis goes to the maximum: {svg}");
    assert!(r.body.contains("18\u{a0}500") || r.body.contains("18500"), "perfdata table");
    assert!(r.body.contains("check_disk -w 10% -c 5% -p /"));
    // A requester reads, but gets no forms.
    assert!(!r.body.contains("/acknowledge\""));
    let r = get(w, &format!("/monitoring/services/{}?period=week", w.disk), &w.tech_a).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("<svg") && r.body.contains(&format!("/monitoring/services/{}/acknowledge", w.disk)));
    // The host page lists the checks, with the technician's links.
    let r = get(w, &format!("/monitoring/hosts/{}", w.host), &w.tech_a).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(&format!("/monitoring/hosts/{}/edit", w.host)));
    assert!(r.body.contains(&format!("/monitoring/hosts/{}/services/new", w.host)));
    assert!(r.body.contains(&format!("data-service-id=\"{}\"", w.load)) && r.body.contains("10.1.0.5"));
    let r = get(w, &format!("/monitoring/hosts/{}", w.host), &w.principal_a).await;
    assert!(!r.body.contains("/edit\""), "no edit link for a requester");
}

async fn acknowledge_through_the_form(w: &World) {
    result(w, w.disk, ServiceState::Critical, DISK_CRITICAL, 30).await;
    let uri = format!("/monitoring/services/{}/acknowledge", w.disk);
    let form = [("comment", "Disque commandé"), ("sticky", "1")];
    // The principal reads the check but may not acknowledge it; the other school's does not see it.
    let r = reply(&w.app, csrf_post(&uri, &w.principal_a, &form)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let r = reply(&w.app, csrf_post(&uri, &w.principal_b, &form)).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(!acknowledged(w, w.disk).await);
    // Without a comment: the form again with the problem, nothing written.
    let r = reply(&w.app, csrf_post(&uri, &w.tech_a, &[("comment", " ")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("err-ack-comment") && r.body.contains("Ce champ est obligatoire."), "{}", r.body);
    assert!(!acknowledged(w, w.disk).await);
    // The technician acknowledges.
    let r = reply(&w.app, csrf_post(&uri, &w.tech_a, &form)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.location(), format!("/monitoring/services/{}?ok=monitoring.flash.acknowledged", w.disk));
    assert!(acknowledged(w, w.disk).await);
    let r = get(w, r.location(), &w.tech_a).await;
    assert!(r.body.contains("Problème pris en charge.") && r.body.contains("Disque commandé"), "{}", r.body);
    assert!(r.body.contains(&format!("/monitoring/services/{}/unacknowledge", w.disk)));
    // The wall mutes the tile and says why.
    let r = get(w, "/monitoring", &w.principal_a).await;
    let t = tile(&r.body, w.host).unwrap();
    assert!(t.contains("tile-critical") && t.contains("muted") && t.contains("pris en charge"), "{t}");
    // And the acknowledgement can be removed.
    let r = reply(&w.app, csrf_post(&format!("/monitoring/services/{}/unacknowledge", w.disk), &w.tech_a, &[])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert!(!acknowledged(w, w.disk).await);
}

async fn downtime_form_refuses_and_schedules(w: &World) {
    let uri = format!("/monitoring/services/{}/downtime", w.disk);
    // Tomorrow, Paris wall-clock time, as a datetime-local field sends it.
    let day = (chrono::Utc::now() + chrono::Duration::days(1)).with_timezone(&chrono_tz::Europe::Paris);
    let (eight, ten) = (day.format("%Y-%m-%dT08:00").to_string(), day.format("%Y-%m-%dT10:00").to_string());
    let backwards = [("start", ten.as_str()), ("end", eight.as_str()), ("comment", "Remplacement"), ("scope", "host")];
    let r = reply(&w.app, csrf_post(&uri, &w.tech_a, &backwards)).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("err-dt-end") && r.body.contains("La fin doit être après le début."), "{}", r.body);
    assert!(r.body.contains(&format!(r#"value="{eight}""#)), "the values typed come back");
    assert_eq!(downtimes(w).await, 0);
    // A requester may not schedule one.
    let fields = [("start", eight.as_str()), ("end", ten.as_str()), ("comment", "Remplacement"), ("scope", "host")];
    let r = reply(&w.app, csrf_post(&uri, &w.principal_a, &fields)).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert_eq!(downtimes(w).await, 0);
    // The technician schedules one for the whole host, then cancels it from the host page.
    let r = reply(&w.app, csrf_post(&uri, &w.tech_a, &fields)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(downtimes(w).await, 1);
    let r = get(w, &format!("/monitoring/hosts/{}", w.host), &w.tech_a).await;
    assert!(r.body.contains(&day.format("%d/%m/%Y 08:00").to_string()), "Paris time: {}", r.body);
    assert!(r.body.contains("Tout l&#39;équipement") || r.body.contains("Tout l'équipement"));
    let id: i64 = r.body.split("data-downtime-id=\"").nth(1).unwrap().split('"').next().unwrap().parse().unwrap();
    let cancel = format!("/monitoring/downtimes/{id}/cancel");
    let r = reply(&w.app, csrf_post(&cancel, &w.principal_b, &[])).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = reply(&w.app, csrf_post(&cancel, &w.tech_a, &[("back", "https://evil.example/")])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    assert_eq!(r.location(), format!("/monitoring/hosts/{}?ok=monitoring.flash.downtime_cancelled", w.host));
    assert_eq!(downtimes(w).await, 0);
}

async fn english_after_the_switch(w: &World) {
    result(w, w.host_check, ServiceState::Ok, "PING OK - Packet loss = 0%, RTA = 0.80 ms", 30).await;
    result(w, w.disk, ServiceState::Critical, DISK_CRITICAL, 20).await;
    let r = reply(&w.app, csrf_post("/lang/en", &w.principal_a, &[("next", "/monitoring")])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = get(w, "/monitoring", &w.principal_a).await;
    assert!(r.body.contains(r#"<html lang="en">"#) && r.body.contains("Service status"), "{}", r.body);
    assert!(tile(&r.body, w.host).unwrap().contains("disk / 94% full"));
    let r = get(w, &format!("/monitoring/services/{}", w.disk), &w.principal_a).await;
    assert!(r.body.contains("Critical") && r.body.contains("Performance data"));
}

on_every_backend!(
    wall_colours_and_words_tiles,
    problems_worst_first,
    service_page_graph,
    acknowledge_through_the_form,
    downtime_form_refuses_and_schedules,
    english_after_the_switch,
);
