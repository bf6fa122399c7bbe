//! The tickets API in-process on every backend: a technician and a requester of two schools,
//! the lifecycle, scope, requester restrictions, bad input that writes nothing.

use axum::http::{Method, StatusCode};
use axum::Router;
use parc_core::permissions::{Grant, Profile};
use parc_core::EntityId;
use parc_store::entities::{self, EntityInput};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_store::Actor;
use parc_web::{AppState, WebConfig};
use serde_json::json;

#[allow(dead_code)] // the shared helpers this suite does not need
mod common;
use common::api;

struct World {
    app: Router,
    school_a: EntityId,
    school_b: EntityId,
    tech: String,
    tech_id: i64,
    parent_a: String,
    parent_a_id: i64,
    parent_b: String,
    root: String,
}

async fn world(db: &TestDb) -> World {
    let sys = Actor::system("test");
    let mut tx = db.store.write().await.unwrap();
    let county =
        entities::create(&mut tx, &sys, &EntityInput { name: Some("Département".into()), ..Default::default() })
            .await
            .unwrap()
            .id;
    let school_a = entities::create(
        &mut tx,
        &sys,
        &EntityInput { name: Some("Collège A".into()), parent_id: Some(county.0), comment: None },
    )
    .await
    .unwrap()
    .id;
    let school_b = entities::create(
        &mut tx,
        &sys,
        &EntityInput { name: Some("Collège B".into()), parent_id: Some(county.0), comment: None },
    )
    .await
    .unwrap()
    .id;
    let mut users_tokens = Vec::new();
    for (login, entity, profile) in [
        ("root", county, Profile::SuperAdmin),
        ("tech", county, Profile::Technician),
        ("parent.a", school_a, Profile::Requester),
        ("parent.b", school_b, Profile::Requester),
    ] {
        let u = users::create(
            &mut tx,
            &sys,
            &UserInput { login: Some(login.into()), entity_id: Some(entity.0), ..Default::default() },
            None,
        )
        .await
        .unwrap();
        users::set_grants(&mut tx, &sys, u.id, &[Grant { entity_id: entity, profile, recursive: true }]).await.unwrap();
        let (_, token) = users::create_token(&mut tx, &sys, u.id, "tests").await.unwrap();
        users_tokens.push((u.id.0, token));
    }
    tx.commit().await.unwrap();
    let state = AppState::new(db.store.clone(), WebConfig::default()).await.unwrap();
    let mut it = users_tokens.into_iter();
    let (_, root) = it.next().unwrap();
    let (tech_id, tech) = it.next().unwrap();
    let (parent_a_id, parent_a) = it.next().unwrap();
    let (_, parent_b) = it.next().unwrap();
    World { app: parc_web::router(state), school_a, school_b, tech, tech_id, parent_a, parent_a_id, parent_b, root }
}

#[tokio::test]
async fn tickets_api_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        story(&world(&db).await).await;
    }
}

async fn story(w: &World) {
    let app = &w.app;
    // A technician opens a ticket for a caller without an account.
    let (s, t) = api(
        app,
        &w.tech,
        Method::POST,
        "/tickets",
        Some(json!({
            "entity_id": w.school_a.0, "kind": "incident", "title": "Vidéoprojecteur salle 12 en panne",
            "requester_name": "M. Durand", "requester_phone": "05 55 00 11 22", "urgency": 5, "impact": 4
        })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{t}");
    assert_eq!(t["priority"], 5);
    assert_eq!(t["status"], "new");
    assert_eq!(t["source"], "api");
    let id = t["id"].as_i64().unwrap();

    // Bad input: a clear 4xx and nothing written.
    let (s, e) = api(
        app,
        &w.tech,
        Method::POST,
        "/tickets",
        Some(json!({"entity_id": w.school_a.0, "title": "", "requester_name": "X"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["details"]["fields"][0]["field"], "title");
    let (s, _) = api(
        app,
        &w.tech,
        Method::POST,
        "/tickets",
        Some(json!({"entity_id": w.school_a.0, "title": "x", "requester_name": "X", "urgency": "high"})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let (s, _) = api(
        app,
        &w.tech,
        Method::POST,
        "/tickets",
        Some(json!({"entity_id": w.school_a.0, "title": "x", "requester_name": "X", "colour": 1})),
    )
    .await;
    assert_eq!(s, StatusCode::BAD_REQUEST, "unknown fields are refused");
    let (s, e) =
        api(app, &w.tech, Method::POST, &format!("/tickets/{id}/status"), Some(json!({"status": "closed"}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{e}");
    assert_eq!(e["error"]["details"]["fields"][0]["code"], "status_transition");
    let (_, list) = api(app, &w.tech, Method::GET, "/tickets?status=all", None).await;
    assert_eq!(list["total"], 1, "{list}");

    // Assign, then solve; the requester-less ticket is closed by the technician.
    let (s, t) =
        api(app, &w.tech, Method::PATCH, &format!("/tickets/{id}"), Some(json!({"assignee_user_id": w.tech_id}))).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["status"], "assigned");
    let (s, k) = api(
        app,
        &w.tech,
        Method::POST,
        &format!("/tickets/{id}/tasks"),
        Some(json!({"description": "Lampe changée", "duration_minutes": 30, "done": true})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{k}");
    let (s, t) = api(
        app,
        &w.tech,
        Method::POST,
        &format!("/tickets/{id}/status"),
        Some(json!({"status": "solved", "solution": "Lampe remplacée"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["status"], "solved");

    // A requester opens their own ticket: assignment fields are ignored, the requester is them.
    let (s, mine) = api(app, &w.parent_a, Method::POST, "/tickets", Some(json!({
        "entity_id": w.school_a.0, "title": "Mot de passe ENT oublié", "requester_name": "Quelqu'un d'autre", "assignee_user_id": w.tech_id
    }))).await;
    assert_eq!(s, StatusCode::CREATED, "{mine}");
    assert_eq!(mine["requester_user_id"], w.parent_a_id);
    assert!(mine["assignee_user_id"].is_null());
    let mine_id = mine["id"].as_i64().unwrap();
    // Not in another school.
    let (s, _) =
        api(app, &w.parent_a, Method::POST, "/tickets", Some(json!({"entity_id": w.school_b.0, "title": "x"}))).await;
    assert!(s.is_client_error());

    // Scope: the requester sees only their own ticket; another school's requester sees nothing.
    let (_, list) = api(app, &w.parent_a, Method::GET, "/tickets?status=all", None).await;
    assert_eq!(list["total"], 1, "{list}");
    let (s, _) = api(app, &w.parent_a, Method::GET, &format!("/tickets/{id}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api(app, &w.parent_b, Method::GET, &format!("/tickets/{mine_id}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // The requester follows up, but cannot change the status nor write privately.
    let (s, _) = api(
        app,
        &w.parent_a,
        Method::POST,
        &format!("/tickets/{mine_id}/followups"),
        Some(json!({"body": "Toujours bloqué"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let (s, _) = api(
        app,
        &w.parent_a,
        Method::POST,
        &format!("/tickets/{mine_id}/followups"),
        Some(json!({"body": "secret", "private": true})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (s, _) = api(
        app,
        &w.parent_a,
        Method::POST,
        &format!("/tickets/{mine_id}/status"),
        Some(json!({"status": "solved", "solution": "x"})),
    )
    .await;
    assert_eq!(s, StatusCode::FORBIDDEN);
    let (_, f) = api(
        app,
        &w.tech,
        Method::POST,
        &format!("/tickets/{mine_id}/followups"),
        Some(json!({"body": "Note interne", "private": true})),
    )
    .await;
    assert_eq!(f["is_private"], true);
    let (_, detail) = api(app, &w.parent_a, Method::GET, &format!("/tickets/{mine_id}"), None).await;
    assert_eq!(detail["followups"].as_array().unwrap().len(), 1, "private follow-ups hidden: {detail}");
    let (_, detail) = api(app, &w.tech, Method::GET, &format!("/tickets/{mine_id}"), None).await;
    assert_eq!(detail["followups"].as_array().unwrap().len(), 2);

    // Solve, the requester refuses (reopens), then accepts and rates.
    api(
        app,
        &w.tech,
        Method::POST,
        &format!("/tickets/{mine_id}/status"),
        Some(json!({"status": "solved", "solution": "Mot de passe réinitialisé"})),
    )
    .await;
    let (s, t) = api(
        app,
        &w.parent_a,
        Method::POST,
        &format!("/tickets/{mine_id}/refuse"),
        Some(json!({"reason": "Le nouveau ne marche pas"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["status"], "new");
    api(
        app,
        &w.tech,
        Method::POST,
        &format!("/tickets/{mine_id}/status"),
        Some(json!({"status": "solved", "solution": "Compte débloqué"})),
    )
    .await;
    let (s, t) = api(app, &w.parent_a, Method::POST, &format!("/tickets/{mine_id}/accept"), None).await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["status"], "closed");
    let (s, _) =
        api(app, &w.parent_a, Method::POST, &format!("/tickets/{mine_id}/rate"), Some(json!({"score": 9}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    let (s, t) = api(
        app,
        &w.parent_a,
        Method::POST,
        &format!("/tickets/{mine_id}/rate"),
        Some(json!({"score": 5, "comment": "Rapide"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK, "{t}");
    assert_eq!(t["satisfaction"], 5);

    // Settings: super-admin only, validated.
    let (s, _) =
        api(app, &w.tech, Method::PUT, "/helpdesk/settings", Some(json!({"priority_matrix": {}, "sla": {}}))).await;
    assert!(s == StatusCode::FORBIDDEN || s == StatusCode::BAD_REQUEST, "{s}");
    let (_, cur) = api(app, &w.root, Method::GET, "/helpdesk/settings", None).await;
    assert_eq!(cur["priority_matrix"]["5"]["5"], 5, "{cur}");
    let (s, _) = api(app, &w.root, Method::PUT, "/helpdesk/settings", Some(cur.clone())).await;
    assert_eq!(s, StatusCode::OK);
    let mut bad = cur.clone();
    bad["priority_matrix"]["5"]["5"] = json!(9);
    let (s, _) = api(app, &w.root, Method::PUT, "/helpdesk/settings", Some(bad)).await;
    assert!(s.is_client_error());

    // History for technicians.
    let (s, h) = api(app, &w.tech, Method::GET, &format!("/tickets/{mine_id}/history"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert!(h.as_array().unwrap().len() >= 5, "{h}");
}
