//! Monitoring configuration pages in-process on every backend: a technician monitors an asset
//! from its page with a template, adds and edits checks (a bad plugin command is refused in
//! French and writes nothing; an edit keeps the check's state), monitors every server of an
//! asset-list filter at once, and creates a remote poller whose token is shown once; a requester
//! and a technician of another school are refused.

use axum::http::StatusCode;
use axum::Router;
use parc_core::assets::AssetInput;
use parc_core::monitoring::ServiceState;
use parc_core::permissions::{Grant, Profile};
use parc_core::{AssetId, EntityId, HostId};
use parc_store::monitoring::schedule::{self, CheckResult};
use parc_store::monitoring::{self, status, HostInput};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_store::{assets, Conn};
use parc_web::{AppState, WebConfig};

#[allow(dead_code)] // the shared helpers this suite does not need
#[macro_use]
mod common;
use common::{csrf_post, entity, page_get, reply, sys, Reply};

type Session = (String, String);

/// A school with two servers with an address, one without and a computer; its technician and a
/// requester; another school's technician.
struct World {
    /// Kept alive: dropping it removes the database.
    db: TestDb,
    app: Router,
    school: EntityId,
    tech: Session,
    parent: Session,
    other_tech: Session,
    srv1: AssetId,
    srv3: AssetId,
}

async fn world(db: TestDb) -> World {
    let mut tx = db.store.write().await.unwrap();
    let school = entity(&mut tx, "Collège A", None).await;
    let other = entity(&mut tx, "Collège B", None).await;
    let mut sessions = Vec::new();
    for (login, e, profile) in [
        ("tech", school, Profile::Technician),
        ("parent", school, Profile::Requester),
        ("tech.b", other, Profile::Technician),
    ] {
        let input = UserInput {
            login: Some(login.into()),
            display_name: Some(login.into()),
            entity_id: Some(e.0),
            language: Some("fr".into()),
            ..Default::default()
        };
        let u = users::create(&mut tx, &sys(), &input, None).await.unwrap();
        users::set_grants(&mut tx, &sys(), u.id, &[Grant { entity_id: e, profile, recursive: true }]).await.unwrap();
        sessions.push(users::create_session(&mut tx, u.id, chrono::Duration::hours(1)).await.unwrap());
    }
    let mut ids = Vec::new();
    for (kind, name, ip) in [
        ("server", "SRV-1", Some("10.0.0.1")),
        ("server", "SRV-2", Some("10.0.0.2")),
        ("server", "SRV-3", None),
        ("computer", "PC-1", Some("10.0.0.10")),
    ] {
        let input = AssetInput {
            kind: Some(kind.into()),
            entity_id: Some(school.0),
            name: Some(name.into()),
            status: Some("in_use".into()),
            ip: ip.map(Into::into),
            ..Default::default()
        };
        ids.push(assets::create(&mut tx, &sys(), db.store.cipher(), &input.validate(None).unwrap()).await.unwrap());
    }
    tx.commit().await.unwrap();
    let [tech, parent, other_tech]: [Session; 3] = sessions.try_into().ok().unwrap();
    let state = AppState::new(db.store.clone(), WebConfig::default()).await.unwrap();
    World { app: parc_web::router(state), db, school, tech, parent, other_tech, srv1: ids[0], srv3: ids[2] }
}

async fn get(w: &World, uri: &str, who: &Session) -> Reply {
    reply(&w.app, page_get(uri, who)).await
}

async fn post(w: &World, uri: &str, who: &Session, fields: &[(&str, &str)]) -> Reply {
    reply(&w.app, csrf_post(uri, who, fields)).await
}

async fn conn(w: &World) -> parc_store::Tx {
    w.db.store.write().await.unwrap()
}

/// Monitors SRV-1 through the store, with a template.
async fn monitored(w: &World, template: Option<&str>) -> HostId {
    let mut tx = conn(w).await;
    let input = HostInput { asset_id: Some(w.srv1.0), template: template.map(Into::into), ..HostInput::default() };
    let h = monitoring::create_host(&mut tx, &sys(), &input).await.unwrap();
    tx.commit().await.unwrap();
    h.id
}

async fn checks_of(c: &mut Conn, h: HostId) -> Vec<monitoring::Service> {
    monitoring::services_of(c, h).await.unwrap()
}

async fn technician_monitors_an_asset_from_its_page(w: &World) {
    let asset_page = format!("/assets/{}", w.srv1);
    let r = get(w, &asset_page, &w.tech).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let link = format!("/monitoring/hosts/new?asset_id={}", w.srv1);
    assert!(r.body.contains(&link), "the asset page offers to monitor it");
    assert!(r.body.contains("Superviser cet équipement"));
    // Without an address, nothing to monitor.
    let r = get(w, &format!("/assets/{}", w.srv3), &w.tech).await;
    assert!(!r.body.contains("/monitoring/hosts/new?asset_id="), "no link without an IP address");

    let r = get(w, &link, &w.tech).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("value=\"SRV-1\"") && r.body.contains("value=\"10.0.0.1\""), "prefilled from the asset");
    assert!(r.body.contains("Serveur Linux"), "templates are named in French");

    let school = w.school.0.to_string();
    let asset = w.srv1.0.to_string();
    let r = post(
        w,
        "/monitoring/hosts/new",
        &w.tech,
        &[
            ("entity_id", &school),
            ("asset_id", &asset),
            ("template", "linux_server"),
            ("name", "SRV-1"),
            ("display_name", "Serveur du CDI"),
            ("address", "10.0.0.1"),
            ("notification_period", "lun-ven 08:00-18:00"),
            ("renotify_interval_min", "60"),
            ("enabled", "1"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut tx = conn(w).await;
    let h = monitoring::host_of_asset(&mut tx, w.srv1).await.unwrap().expect("the asset is monitored");
    assert_eq!(h.display_name.as_deref(), Some("Serveur du CDI"));
    assert_eq!(h.renotify_interval_min, 60);
    assert!(h.enabled && !h.open_tickets);
    let checks = checks_of(&mut tx, h.id).await;
    drop(tx);
    let services: Vec<&str> = checks.iter().filter(|s| !s.is_host).map(|s| s.name.as_str()).collect();
    assert_eq!(services.len(), 3, "the linux_server template's services: {services:?}");
    assert!(services.contains(&"SSH"));
    assert!(r.location().starts_with(&format!("/monitoring/hosts/{}/edit", h.id)), "{}", r.location());

    // Its edit page lists the checks; a bad period is refused in French and changes nothing.
    let edit = format!("/monitoring/hosts/{}/edit", h.id);
    let r = get(w, &edit, &w.tech).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("SSH") && r.body.contains("Disque /"));
    let r = post(
        w,
        &edit,
        &w.tech,
        &[("name", "SRV-1"), ("address", "10.0.0.1"), ("notification_period", "tous les jours"), ("enabled", "1")],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Période invalide"), "{}", r.body);
    let mut tx = conn(w).await;
    let same = monitoring::host(&mut tx, h.id).await.unwrap().unwrap();
    drop(tx);
    assert_eq!(same.notification_period, h.notification_period);

    // The asset page now shows its state and links to the host.
    let r = get(w, &asset_page, &w.tech).await;
    assert!(r.body.contains("badge mon-PENDING"), "{}", r.body);
    assert!(r.body.contains(&format!("href=\"/monitoring/hosts/{}\"", h.id)));
    assert!(!r.body.contains(&link), "no second monitoring");
}

async fn an_invalid_plugin_command_is_refused(w: &World) {
    let h = monitored(w, None).await;
    let uri = format!("/monitoring/hosts/{h}/services/new");
    let r = get(w, &uri, &w.tech).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("$HOSTADDRESS$"), "the macros are listed");
    let r = post(
        w,
        &uri,
        &w.tech,
        &[
            ("name", "Disque"),
            ("kind", "plugin"),
            ("command", "$USER1$/check_disk -p $FOO$"),
            ("check_interval_s", "300"),
            ("retry_interval_s", "60"),
            ("max_attempts", "3"),
            ("timeout_s", "30"),
            ("enabled", "1"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Macro inconnue"), "{}", r.body);
    assert!(r.body.contains("$FOO$"), "the typed command is kept");
    let mut tx = conn(w).await;
    assert_eq!(checks_of(&mut tx, h).await.len(), 1, "only the host check");
    drop(tx);

    // Fixed, the check is added; a port that is not a number is refused on a TCP check.
    let r = post(
        w,
        &uri,
        &w.tech,
        &[("name", "Disque"), ("kind", "plugin"), ("command", "$USER1$/check_disk -p $ARG1$"), ("args", "/var")],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = post(w, &uri, &w.tech, &[("name", "Web"), ("kind", "tcp"), ("tcp_port", "quatre-vingts")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Entrez un nombre entier valide."), "{}", r.body);
    let mut tx = conn(w).await;
    let checks = checks_of(&mut tx, h).await;
    drop(tx);
    assert_eq!(checks.len(), 2);
    assert_eq!(
        checks[1].check,
        serde_json::from_value(
            serde_json::json!({"type": "plugin", "command": "$USER1$/check_disk -p $ARG1$", "args": ["/var"]})
        )
        .unwrap()
    );
}

async fn bulk_form_monitors_the_servers_with_an_address(w: &World) {
    let r = get(w, "/monitoring/hosts?filter=kind%3Dserver", &w.tech).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("Superviser une sélection de matériels"));
    assert!(r.body.contains("value=\"kind=server\""), "the filter is prefilled");
    let r =
        post(w, "/monitoring/hosts/bulk", &w.tech, &[("filter", "kind=server"), ("template", "windows_server")]).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("SRV-1") && r.body.contains("SRV-2"));
    assert!(r.body.contains("Sans adresse IP (1)") && r.body.contains("SRV-3"), "{}", r.body);
    assert!(!r.body.contains("PC-1"), "the filter keeps servers only");
    let mut tx = conn(w).await;
    let hosts = monitoring::hosts(&mut tx, &[w.school.0]).await.unwrap();
    let names: Vec<&str> = hosts.iter().map(|h| h.name.as_str()).collect();
    assert_eq!(names, ["SRV-1", "SRV-2"]);
    assert_eq!(checks_of(&mut tx, hosts[0].id).await.len(), 3, "host check and the template's two services");
    drop(tx);

    // Again: both are already monitored; the list shows them.
    let r = post(w, "/monitoring/hosts/bulk", &w.tech, &[("filter", "kind=server")]).await;
    assert!(r.body.contains("Déjà supervisés (2)"), "{}", r.body);
    let r = get(w, "/monitoring/hosts", &w.tech).await;
    assert!(r.body.contains(&format!("href=\"/monitoring/hosts/{}\"", hosts[0].id)));
    // A filter the asset list does not know is refused on the form.
    let r = post(w, "/monitoring/hosts/bulk", &w.tech, &[("filter", "colour=blue")]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
}

async fn editing_a_check_keeps_its_state(w: &World) {
    let h = monitored(w, Some("linux_server")).await;
    let mut tx = conn(w).await;
    let ssh = checks_of(&mut tx, h).await.into_iter().find(|s| s.name == "SSH").unwrap();
    let result = CheckResult {
        service_id: ssh.id,
        owner: None,
        state: ServiceState::Critical,
        summary: "Connection refused".into(),
        long_output: String::new(),
        perfdata: Vec::new(),
        started_at: chrono::Utc::now(),
        duration_ms: 3,
    };
    schedule::record(&mut tx, &[result], chrono::Utc::now()).await.unwrap();
    tx.commit().await.unwrap();

    let uri = format!("/monitoring/services/{}/edit", ssh.id);
    let r = get(w, &uri, &w.tech).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("value=\"22\"") && r.body.contains("value=\"SSH-\""), "the TCP fields are filled");
    let r = post(
        w,
        &uri,
        &w.tech,
        &[
            ("name", "SSH admin"),
            ("kind", "tcp"),
            ("tcp_port", "2222"),
            ("tcp_expect", "SSH-"),
            ("check_interval_s", "120"),
            ("retry_interval_s", "30"),
            ("max_attempts", "4"),
            ("timeout_s", "10"),
            ("enabled", "1"),
        ],
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let mut c = w.db.store.read().await.unwrap();
    let s = monitoring::service(&mut c, ssh.id).await.unwrap().unwrap();
    assert_eq!(s.name, "SSH admin");
    assert_eq!((s.check_interval_s, s.max_attempts), (120, 4));
    assert!(!s.notifications_enabled, "an unticked box is off");
    assert!(matches!(s.check, parc_core::monitoring::check::CheckDefinition::Tcp { port: 2222, .. }));
    let st = status::status(&mut c, ssh.id, chrono::Utc::now().timestamp_millis()).await.unwrap().unwrap();
    assert_eq!(st.state, "CRITICAL", "the running problem stays");
    drop(c);

    // The host check cannot be deleted from its form; a service can, once confirmed.
    let r = post(w, &format!("/monitoring/services/{}/delete", ssh.id), &w.tech, &[]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let mut c = w.db.store.read().await.unwrap();
    assert!(monitoring::service(&mut c, ssh.id).await.unwrap().is_some(), "not without confirming");
    drop(c);
    let r = post(w, &format!("/monitoring/services/{}/delete", ssh.id), &w.tech, &[("confirm", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let mut c = w.db.store.read().await.unwrap();
    assert!(monitoring::service(&mut c, ssh.id).await.unwrap().is_none());
    let host_check = monitoring::host(&mut c, h).await.unwrap().unwrap().check_id;
    drop(c);
    let r = get(w, &format!("/monitoring/services/{host_check}/edit"), &w.tech).await;
    assert!(!r.body.contains("/delete"), "no delete button for the host check");
    let r = post(w, &format!("/monitoring/services/{host_check}/delete"), &w.tech, &[("confirm", "1")]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
}

async fn others_are_refused(w: &World) {
    let h = monitored(w, None).await;
    let mut c = w.db.store.read().await.unwrap();
    let check = monitoring::host(&mut c, h).await.unwrap().unwrap().check_id;
    drop(c);
    let pages = [
        "/monitoring/hosts/new".to_owned(),
        format!("/monitoring/hosts/{h}/edit"),
        format!("/monitoring/hosts/{h}/services/new"),
        format!("/monitoring/services/{check}/edit"),
    ];
    for uri in &pages {
        let r = get(w, uri, &w.parent).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "requester on {uri}");
        let r = post(w, uri, &w.parent, &[("name", "x")]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "requester posting {uri}");
    }
    for uri in &pages[1..] {
        assert_eq!(get(w, uri, &w.other_tech).await.status, StatusCode::NOT_FOUND, "other school on {uri}");
    }
    let r = post(w, &format!("/monitoring/hosts/{h}/delete"), &w.parent, &[("confirm", "1")]).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    // The requester reads the list, without the forms.
    let r = get(w, "/monitoring/hosts", &w.parent).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("SRV-1") && !r.body.contains("/monitoring/hosts/bulk"));
    // A technician deletes the host once confirmed.
    let r = post(w, &format!("/monitoring/hosts/{h}/delete"), &w.tech, &[("confirm", "1")]).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let mut c = w.db.store.read().await.unwrap();
    assert!(monitoring::host(&mut c, h).await.unwrap().is_none());
}

async fn a_new_poller_shows_its_token_once(w: &World) {
    let school = w.school.0.to_string();
    let r = post(w, "/monitoring/pollers", &w.tech, &[("name", "Poller du collège"), ("entity_id", &school)]).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let start = r.body.find("parcpoll_").expect("the token is shown");
    let token: String =
        r.body[start..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-').collect();
    assert!(r.body.contains("parc poller --server http://"), "{}", r.body);
    assert!(r.body.contains(&format!("--token {token}")));
    let r = get(w, "/monitoring/pollers", &w.tech).await;
    assert!(r.body.contains("Poller du collège"));
    assert!(!r.body.contains(&token), "shown once only");
    // An empty name is refused in French.
    let r = post(w, "/monitoring/pollers", &w.tech, &[("name", " "), ("entity_id", &school)]).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Ce champ est obligatoire."));
    assert_eq!(
        post(w, "/monitoring/pollers", &w.parent, &[("name", "x"), ("entity_id", &school)]).await.status,
        StatusCode::FORBIDDEN
    );
}

on_every_backend!(
    technician_monitors_an_asset_from_its_page,
    an_invalid_plugin_command_is_refused,
    bulk_form_monitors_the_servers_with_an_address,
    editing_a_check_keeps_its_state,
    others_are_refused,
    a_new_poller_shows_its_token_once,
);
