//! Monitoring alerts end to end, on every backend: a script reports a service through the
//! passive-result API; the third CRITICAL in a row makes it HARD and the real worker round
//! sends the PROBLEM e-mail to the host's contact group through a real SMTP server (aiosmtpd);
//! the recovery sends the RECOVERY, in each recipient's language, threaded together. Also the
//! API's refusals: bad exit codes, empty output, invalid check commands (nothing written),
//! another entity's host (404) and a requester (403).

use axum::http::{Method, StatusCode};
use chrono::Utc;
use parc_core::permissions::{Grant, Profile};
use parc_store::entities::{self, EntityInput};
use parc_store::helpdesk::{self, GroupInput};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_store::Actor;
use parc_web::jobs::{monitor_tickets, run_once};
use parc_web::{AppState, WebConfig};
use serde_json::json;

#[allow(dead_code)] // the shared helpers this suite does not need
mod common;
#[allow(dead_code)] // the helpers this suite does not need
mod smtp_sink;
use common::api;
use smtp_sink::{configure, free_port, Sink};

#[tokio::test]
async fn a_critical_service_reaches_the_mailbox_and_its_recovery_too() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let store = db.store.clone();
        let sys = Actor::system("test");
        let mut tx = store.write().await.unwrap();
        let new_entity =
            |name: &str, parent: Option<i64>| EntityInput { name: Some(name.into()), parent_id: parent, comment: None };
        let town = entities::create(&mut tx, &sys, &new_entity("Mairie", None)).await.unwrap().id;
        let library = entities::create(&mut tx, &sys, &new_entity("Médiathèque", Some(town.0))).await.unwrap().id;
        let mut tokens = Vec::new();
        let mut ids = Vec::new();
        for (login, entity, profile, lang) in [
            ("tech", town, Profile::Technician, Some("fr")),
            ("astreinte", town, Profile::Technician, Some("en")),
            ("bibliothecaire", library, Profile::Technician, None),
            ("agent", town, Profile::Requester, None),
        ] {
            let u = users::create(
                &mut tx,
                &sys,
                &UserInput {
                    login: Some(login.into()),
                    display_name: Some(login.into()),
                    email: Some(format!("{login}@example.org")),
                    language: lang.map(Into::into),
                    entity_id: Some(entity.0),
                    ..Default::default()
                },
                None,
            )
            .await
            .unwrap();
            users::set_grants(&mut tx, &sys, u.id, &[Grant { entity_id: entity, profile, recursive: true }])
                .await
                .unwrap();
            tokens.push(users::create_token(&mut tx, &sys, u.id, "tests").await.unwrap().1);
            ids.push(u.id.0);
        }
        let group = helpdesk::create_group(
            &mut tx,
            &sys,
            &GroupInput {
                entity_id: Some(town.0),
                name: Some("Astreinte serveurs".into()),
                member_ids: Some(vec![ids[0], ids[1]]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        let app = parc_web::router(AppState::new(store.clone(), WebConfig::default()).await.unwrap());
        let (tech, librarian, agent) = (&tokens[0], &tokens[2], &tokens[3]);

        // A host with a passive service, its alerts to the on-call group.
        let (s, host) = api(
            &app,
            tech,
            Method::POST,
            "/monitoring/hosts",
            Some(json!({"entity_id": town.0, "name": "SRV-FICHIERS", "display_name": "Serveur de fichiers",
                        "address": "192.168.201.10", "contact_group_id": group.id.0, "open_tickets": true})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{host}");
        let host_id = host["id"].as_i64().unwrap();
        let (s, svc) = api(
            &app,
            tech,
            Method::POST,
            &format!("/monitoring/hosts/{host_id}/services"),
            Some(json!({"name": "Disque C", "check": {"type": "plugin", "command": "$USER1$/check_dummy 0"},
                        "enabled": false, "max_attempts": 3})),
        )
        .await;
        assert_eq!(s, StatusCode::CREATED, "{svc}");
        let sid = svc["id"].as_i64().unwrap();

        // Refusals, nothing written.
        let (s, v) = api(
            &app,
            tech,
            Method::POST,
            &format!("/monitoring/hosts/{host_id}/services"),
            Some(json!({"name": "Mauvais", "check": {"type": "plugin", "command": "$USER1$/check_disk -p $DISQUE$"}})),
        )
        .await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
        assert_eq!(v["error"]["details"]["fields"][0]["code"], "check_command_unknown_macro", "{v}");
        let (_, list) = api(&app, tech, Method::GET, &format!("/monitoring/hosts/{host_id}/services"), None).await;
        assert_eq!(list.as_array().unwrap().len(), 2, "host check + Disque C: {list}");
        let result = |code: i64, output: &str| json!({"exit_code": code, "output": output});
        let uri = format!("/monitoring/services/{sid}/result");
        for (body, status) in [
            (result(7, "x"), StatusCode::UNPROCESSABLE_ENTITY),
            (result(2, "  "), StatusCode::UNPROCESSABLE_ENTITY),
            (json!({"exit_code": "two", "output": "x"}), StatusCode::BAD_REQUEST),
            (json!({"output": "x"}), StatusCode::BAD_REQUEST),
        ] {
            let (s, v) = api(&app, tech, Method::POST, &uri, Some(body)).await;
            assert_eq!(s, status, "{v}");
        }
        let (s, _) = api(&app, librarian, Method::POST, &uri, Some(result(2, "x"))).await;
        assert_eq!(s, StatusCode::NOT_FOUND, "another entity's check does not exist for the library");
        let (s, _) = api(&app, agent, Method::POST, &uri, Some(result(2, "x"))).await;
        assert_eq!(s, StatusCode::FORBIDDEN, "a requester reads the wall but reports nothing");
        let (s, st) = api(&app, agent, Method::GET, "/monitoring/states?problems=true", None).await;
        assert_eq!((s, st.as_array().unwrap().len()), (StatusCode::OK, 0), "{st}");

        // Three CRITICAL results: SOFT, SOFT, HARD; one PROBLEM mail per member of the group.
        let port = free_port();
        let Some(sink) = Sink::start(port) else { return };
        configure(&store, port, true).await;
        let critical = "DISK CRITICAL - free space: C:\\ 1.2 GB (7% inode=-);| 'C:\\ used'=74.8GB;64;72;0;80";
        for expected in ["SOFT", "SOFT", "HARD"] {
            let (s, v) = api(&app, tech, Method::POST, &uri, Some(result(2, critical))).await;
            assert_eq!(s, StatusCode::OK, "{v}");
            assert_eq!((v["state"].as_str(), v["state_type"].as_str()), (Some("CRITICAL"), Some(expected)), "{v}");
        }
        let (_, st) = api(&app, agent, Method::GET, "/monitoring/states?problems=true", None).await;
        assert_eq!(st[0]["id"], sid, "the requester's wall shows the problem: {st}");
        let r = run_once(&store, "test-worker", 50, Utc::now()).await.unwrap();
        assert_eq!((r.notices, r.sent), (1, 2), "{r:?}");
        let mail = sink.messages();
        assert_eq!(mail.len(), 2, "{mail:?}");
        let fr = mail.iter().find(|m| m.rcpt == ["tech@example.org"]).unwrap();
        // The HARD CRITICAL opened a helpdesk ticket for the on-call group, in French.
        let i18n = parc_web::i18n::I18n::load();
        assert_eq!(monitor_tickets(&store, &i18n, "test-worker", 10, Utc::now()).await.unwrap(), 1);
        let (_, st) = api(&app, tech, Method::GET, &format!("/monitoring/states?host_id={host_id}"), None).await;
        let ticket = st.as_array().unwrap().iter().find(|x| x["id"] == sid).unwrap()["ticket_id"].as_i64();
        let ticket = ticket.expect("a ticket was opened");
        let (s, t) = api(&app, tech, Method::GET, &format!("/tickets/{ticket}"), None).await;
        assert_eq!(s, StatusCode::OK, "{t}");
        let t = &t["ticket"];
        assert_eq!(t["title"], "[Supervision] Serveur de fichiers / Disque C : CRITIQUE", "{t}");
        assert_eq!(
            (t["source"].as_str(), t["assignee_group_id"].as_i64()),
            (Some("monitoring"), Some(group.id.0)),
            "{t}"
        );
        let en = mail.iter().find(|m| m.rcpt == ["astreinte@example.org"]).unwrap();
        assert_eq!(fr.subject, "** PROBLÈME : Serveur de fichiers / Disque C est CRITIQUE **");
        assert_eq!(en.subject, "** PROBLEM: Serveur de fichiers / Disque C is CRITICAL **");
        assert!(fr.body.contains("DISK CRITICAL - free space: C:\\ 1.2 GB"), "{}", fr.body);
        assert!(fr.body.contains("192.168.201.10") && fr.body.contains(&format!("/monitoring/services/{sid}")));

        // Still CRITICAL: no second mail. Then OK: the RECOVERY, in the same thread.
        let (s, _) = api(&app, tech, Method::POST, &uri, Some(result(2, critical))).await;
        assert_eq!(s, StatusCode::OK);
        let (s, v) = api(&app, tech, Method::POST, &uri, Some(result(0, "DISK OK - free space: C:\\ 40 GB"))).await;
        assert_eq!((s, v["state"].as_str()), (StatusCode::OK, Some("OK")), "{v}");
        // The recovery's alert, and the new ticket's notification (opened above).
        let r = run_once(&store, "test-worker", 50, Utc::now()).await.unwrap();
        assert_eq!((r.notices, r.sent), (2, 4), "{r:?}");
        let mail: Vec<_> = sink.messages().into_iter().filter(|m| m.subject.starts_with("** ")).collect();
        assert_eq!(mail.len(), 4, "{mail:?}");
        let recovery = mail[2..].iter().find(|m| m.rcpt == ["tech@example.org"]).unwrap();
        assert_eq!(recovery.subject, "** RÉTABLISSEMENT : Serveur de fichiers / Disque C est OK **");
        assert_eq!(recovery.in_reply_to, fr.in_reply_to, "one thread per check");
        // The recovery follows up on the ticket.
        assert_eq!(monitor_tickets(&store, &i18n, "test-worker", 10, Utc::now()).await.unwrap(), 1);
        let (s, t) = api(&app, tech, Method::GET, &format!("/tickets/{ticket}"), None).await;
        assert_eq!(s, StatusCode::OK, "{t}");
        assert!(t["followups"].to_string().contains("Rétabli : Serveur de fichiers / Disque C est OK"), "{t}");

        // The state-change log and availability over the last hour.
        let (s, ev) = api(&app, agent, Method::GET, &format!("/monitoring/services/{sid}/events"), None).await;
        assert_eq!(s, StatusCode::OK);
        let states: Vec<&str> = ev.as_array().unwrap().iter().map(|e| e["state"].as_str().unwrap()).collect();
        assert_eq!(states.first(), Some(&"OK"), "{ev}");
        assert!(states.contains(&"CRITICAL"));
        let (s, av) = api(&app, agent, Method::GET, &format!("/monitoring/services/{sid}/availability"), None).await;
        assert_eq!(s, StatusCode::OK, "{av}");
        assert!(av["availability_percent"].as_f64().is_some_and(|p| p < 100.0), "{av}");

        // An absent field is kept, a null one removed.
        let uri = format!("/monitoring/hosts/{host_id}");
        let (s, h) = api(&app, tech, Method::PATCH, &uri, Some(json!({"wall_group": "Hôtel de ville"}))).await;
        assert_eq!((s, h["contact_group_id"].as_i64()), (StatusCode::OK, Some(group.id.0)), "{h}");
        let (s, h) = api(&app, tech, Method::PATCH, &uri, Some(json!({"contact_group_id": null}))).await;
        assert_eq!((s, h["contact_group_id"].clone()), (StatusCode::OK, json!(null)), "{h}");
        assert_eq!(h["wall_group"], "Hôtel de ville");
    }
}
