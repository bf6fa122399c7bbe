//! Administration API and pages, in-process: entities, locations, users and profiles,
//! settings, scoping between schools, CSRF and error shapes.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use parc_core::permissions::{Grant, Profile};
use parc_core::{EntityId, UserId};
use parc_store::locations::{self, LocationInput};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_web::{AppState, WebConfig};
use serde_json::{json, Value};

#[macro_use]
mod common;
use common::{api, entity, page_get, page_post, send, sys};

/// A county with two schools; a super-admin on the county, an admin of each school, a
/// teacher in each school, and a room in school B.
struct World {
    db: TestDb,
    app: Router,
    county: EntityId,
    school_a: EntityId,
    school_b: EntityId,
    root_token: String,
    admin_a: UserId,
    admin_a_token: String,
    teacher_a: UserId,
    teacher_b: UserId,
    room_b: i64,
    /// The super-admin's browser session: (cookie value, CSRF token).
    root_session: (String, String),
}

async fn world(db: TestDb) -> World {
    let mut tx = db.store.write().await.unwrap();
    let county = entity(&mut tx, "Conseil départemental", None).await;
    let school_a = entity(&mut tx, "Collège A", Some(county)).await;
    let school_b = entity(&mut tx, "Collège B", Some(county)).await;
    let mut user = async |login: &str, entity: EntityId, grant: Option<Profile>| {
        let u = users::create(
            &mut tx,
            &sys(),
            &UserInput { login: Some(login.into()), entity_id: Some(entity.0), ..Default::default() },
            None,
        )
        .await
        .unwrap();
        if let Some(p) = grant {
            users::set_grants(&mut tx, &sys(), u.id, &[Grant { entity_id: entity, profile: p, recursive: true }])
                .await
                .unwrap();
        }
        u.id
    };
    let root = user("root", county, Some(Profile::SuperAdmin)).await;
    let admin_a = user("admin.a", school_a, Some(Profile::Admin)).await;
    let teacher_a = user("prof.a", school_a, None).await;
    let teacher_b = user("prof.b", school_b, None).await;
    let (_, root_token) = users::create_token(&mut tx, &sys(), root, "tests").await.unwrap();
    let (_, admin_a_token) = users::create_token(&mut tx, &sys(), admin_a, "tests").await.unwrap();
    let root_session = users::create_session(&mut tx, root, chrono::Duration::hours(1)).await.unwrap();
    let site = locations::create(
        &mut tx,
        &sys(),
        &LocationInput {
            entity_id: Some(school_b.0),
            kind: Some("site".into()),
            name: Some("Site B".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let building = locations::create(
        &mut tx,
        &sys(),
        &LocationInput {
            entity_id: Some(school_b.0),
            kind: Some("building".into()),
            parent_id: Some(site.id.0),
            name: Some("Bât. 1".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let room = locations::create(
        &mut tx,
        &sys(),
        &LocationInput {
            entity_id: Some(school_b.0),
            kind: Some("room".into()),
            parent_id: Some(building.id.0),
            name: Some("Salle 3".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let state = AppState::new(db.store.clone(), WebConfig::default()).await.unwrap();
    World {
        app: parc_web::router(state),
        db,
        county,
        school_a,
        school_b,
        root_token,
        admin_a,
        admin_a_token,
        teacher_a,
        teacher_b,
        room_b: room.id.0,
        root_session,
    }
}

/// The first field error of a validation answer: (field, code).
fn field_error(v: &Value) -> (String, String) {
    assert_eq!(v["error"]["code"], "validation", "{v}");
    let f = &v["error"]["details"]["fields"][0];
    (f["field"].as_str().unwrap().to_owned(), f["code"].as_str().unwrap().to_owned())
}

async fn entity_crud_cycles_and_non_empty_delete(w: &World) {
    let (s, top) = api(
        &w.app,
        &w.root_token,
        Method::POST,
        "/entities",
        Some(json!({"name": "Mairie", "comment": "Hôtel de ville"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{top}");
    let top_id = top["id"].as_i64().unwrap();
    let (s, child) = api(
        &w.app,
        &w.root_token,
        Method::POST,
        "/entities",
        Some(json!({"name": "Service informatique", "parent_id": top_id})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let child_id = child["id"].as_i64().unwrap();

    let (s, got) = api(&w.app, &w.root_token, Method::GET, &format!("/entities/{child_id}"), None).await;
    assert_eq!((s, got["parent_id"].as_i64()), (StatusCode::OK, Some(top_id)));
    let (s, renamed) =
        api(&w.app, &w.root_token, Method::PATCH, &format!("/entities/{child_id}"), Some(json!({"name": "DSI"}))).await;
    assert_eq!((s, renamed["name"].as_str()), (StatusCode::OK, Some("DSI")));

    // Placing an entity below its own child is refused, per field.
    let (s, err) =
        api(&w.app, &w.root_token, Method::PATCH, &format!("/entities/{top_id}"), Some(json!({"parent_id": child_id})))
            .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&err), ("parent_id".into(), "cycle".into()));

    // A non-empty entity is kept.
    let (s, err) = api(&w.app, &w.root_token, Method::DELETE, &format!("/entities/{top_id}"), None).await;
    assert_eq!(s, StatusCode::CONFLICT);
    assert_eq!(err["error"]["code"], "conflict");

    let (s, history) = api(&w.app, &w.root_token, Method::GET, &format!("/entities/{child_id}/history"), None).await;
    assert_eq!(s, StatusCode::OK);
    let actions: Vec<&str> = history.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["update", "create"]);

    let (s, _) = api(&w.app, &w.root_token, Method::DELETE, &format!("/entities/{child_id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api(&w.app, &w.root_token, Method::DELETE, &format!("/entities/{top_id}"), None).await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, _) = api(&w.app, &w.root_token, Method::GET, &format!("/entities/{top_id}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Only a super-admin creates a top-level entity; an admin creates below their school.
    let (s, err) = api(&w.app, &w.admin_a_token, Method::POST, "/entities", Some(json!({"name": "Rogue"}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&err), ("parent_id".into(), "forbidden_root".into()));
    let (s, _) = api(
        &w.app,
        &w.admin_a_token,
        Method::POST,
        "/entities",
        Some(json!({"name": "Annexe", "parent_id": w.school_a.0})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
}

async fn location_hierarchy_errors_are_per_field(w: &World) {
    let a = w.school_a.0;
    let (s, site) = api(
        &w.app,
        &w.admin_a_token,
        Method::POST,
        "/locations",
        Some(json!({"entity_id": a, "kind": "site", "name": "Site A"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{site}");
    let site_id = site["id"].as_i64().unwrap();
    let (s, bat) = api(
        &w.app,
        &w.admin_a_token,
        Method::POST,
        "/locations",
        Some(json!({"entity_id": a, "kind": "building", "parent_id": site_id, "name": "Bât. A"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    let bat_id = bat["id"].as_i64().unwrap();
    let (s, room) = api(
        &w.app,
        &w.admin_a_token,
        Method::POST,
        "/locations",
        Some(json!({"entity_id": a, "kind": "room", "parent_id": bat_id, "name": "Salle 12"})),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED);
    assert_eq!(room["path"], "Site A > Bât. A > Salle 12");

    for (body, field, code) in [
        (json!({"entity_id": a, "kind": "room", "parent_id": site_id, "name": "X"}), "parent_id", "parent_kind"),
        (json!({"entity_id": a, "kind": "site", "parent_id": site_id, "name": "X"}), "parent_id", "site_no_parent"),
        (json!({"entity_id": a, "kind": "building", "name": "X"}), "parent_id", "required"),
        (json!({"entity_id": a, "kind": "floor", "name": "X"}), "kind", "unknown_value"),
    ] {
        let (s, err) = api(&w.app, &w.admin_a_token, Method::POST, "/locations", Some(body.clone())).await;
        assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
        assert_eq!(field_error(&err), (field.into(), code.into()), "{body}");
    }

    let (s, list) = api(&w.app, &w.admin_a_token, Method::GET, &format!("/locations?entity_id={a}"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    let (s, err) = api(&w.app, &w.admin_a_token, Method::DELETE, &format!("/locations/{site_id}"), None).await;
    assert_eq!((s, err["error"]["code"].as_str()), (StatusCode::CONFLICT, Some("conflict")));
    let (s, _) = api(
        &w.app,
        &w.admin_a_token,
        Method::PATCH,
        &format!("/locations/{bat_id}"),
        Some(json!({"name": "Bâtiment A"})),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let (_, room) = api(&w.app, &w.admin_a_token, Method::GET, &format!("/locations/{}", room["id"]), None).await;
    assert_eq!(room["path"], "Site A > Bâtiment A > Salle 12");
}

async fn user_creation_with_grants_and_password(w: &World) {
    let body = json!({
        "login": "tech.a", "display_name": "Technicien A", "email": "tech.a@example.fr", "entity_id": w.school_a.0,
        "language": "fr", "password": "un mot de passe solide",
        "grants": [{"entity_id": w.school_a.0, "profile": "technician", "recursive": true}]
    });
    let (s, u) = api(&w.app, &w.admin_a_token, Method::POST, "/users", Some(body)).await;
    assert_eq!(s, StatusCode::CREATED, "{u}");
    let id = u["id"].as_i64().unwrap();
    let (s, grants) = api(&w.app, &w.admin_a_token, Method::GET, &format!("/users/{id}/grants"), None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(grants, json!([{"entity_id": w.school_a.0, "profile": "technician", "recursive": true}]));

    // The asset form's suggestions.
    let (s, found) = api(&w.app, &w.admin_a_token, Method::GET, "/users?limit=10&q=tech", None).await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(found["items"][0]["login"], "tech.a");
    assert_eq!(found["items"][0]["display_name"], "Technicien A");

    // A short password and a duplicate login are per-field errors, and nothing is created.
    let (s, err) = api(
        &w.app,
        &w.admin_a_token,
        Method::POST,
        "/users",
        Some(json!({"login": "x.a", "entity_id": w.school_a.0, "password": "court"})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&err), ("password".into(), "password_short".into()));
    let (s, err) = api(
        &w.app,
        &w.admin_a_token,
        Method::POST,
        "/users",
        Some(json!({"login": "TECH.A", "entity_id": w.school_a.0})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&err), ("login".into(), "login_taken".into()));
    let (_, found) = api(&w.app, &w.admin_a_token, Method::GET, "/users?q=x.a", None).await;
    assert!(found["items"].as_array().unwrap().is_empty());

    // Setting a password for someone, then deactivating them; not oneself.
    let (s, _) = api(
        &w.app,
        &w.admin_a_token,
        Method::PUT,
        &format!("/users/{id}/password"),
        Some(json!({"password": "encore plus solide"})),
    )
    .await;
    assert_eq!(s, StatusCode::NO_CONTENT);
    let (s, u) =
        api(&w.app, &w.admin_a_token, Method::PATCH, &format!("/users/{id}"), Some(json!({"active": false}))).await;
    assert_eq!((s, u["active"].as_bool()), (StatusCode::OK, Some(false)));
    let (s, err) = api(
        &w.app,
        &w.admin_a_token,
        Method::PATCH,
        &format!("/users/{}", w.admin_a.0),
        Some(json!({"active": false})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&err), ("active".into(), "self_deactivate".into()));

    let (s, history) = api(&w.app, &w.admin_a_token, Method::GET, &format!("/users/{id}/history"), None).await;
    assert_eq!(s, StatusCode::OK);
    let actions: Vec<&str> = history.as_array().unwrap().iter().map(|e| e["action"].as_str().unwrap()).collect();
    assert_eq!(actions, vec!["update", "password_change", "update", "create"]);
}

async fn a_school_admin_does_not_see_another_school(w: &World) {
    let t = &w.admin_a_token;
    let b = w.school_b.0;
    for uri in [
        format!("/entities/{b}"),
        format!("/users/{}", w.teacher_b.0),
        format!("/locations/{}", w.room_b),
        format!("/entities/{}", w.county.0),
    ] {
        let (s, err) = api(&w.app, t, Method::GET, &uri, None).await;
        assert_eq!((s, err["error"]["code"].as_str()), (StatusCode::NOT_FOUND, Some("not_found")), "{uri}");
    }
    let (s, _) = api(&w.app, t, Method::PATCH, &format!("/entities/{b}"), Some(json!({"name": "Pwned"}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api(&w.app, t, Method::DELETE, &format!("/entities/{b}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) =
        api(&w.app, t, Method::PATCH, &format!("/users/{}", w.teacher_b.0), Some(json!({"display_name": "Pwned"})))
            .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api(
        &w.app,
        t,
        Method::PUT,
        &format!("/users/{}/password", w.teacher_b.0),
        Some(json!({"password": "0123456789abc"})),
    )
    .await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) =
        api(&w.app, t, Method::PATCH, &format!("/locations/{}", w.room_b), Some(json!({"name": "Pwned"}))).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = api(&w.app, t, Method::DELETE, &format!("/locations/{}", w.room_b), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);

    // Nor create there, nor move their own things there.
    let (s, err) =
        api(&w.app, t, Method::POST, "/locations", Some(json!({"entity_id": b, "kind": "site", "name": "X"}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&err), ("entity_id".into(), "not_found".into()));
    let (s, err) = api(&w.app, t, Method::POST, "/entities", Some(json!({"name": "X", "parent_id": b}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&err), ("parent_id".into(), "not_found".into()));
    let (s, err) =
        api(&w.app, t, Method::PATCH, &format!("/users/{}", w.teacher_a.0), Some(json!({"entity_id": b}))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&err), ("entity_id".into(), "not_found".into()));

    // Lists only hold school A.
    let (_, list) = api(&w.app, t, Method::GET, "/users?limit=500", None).await;
    let logins: Vec<&str> = list["items"].as_array().unwrap().iter().map(|u| u["login"].as_str().unwrap()).collect();
    assert_eq!(logins, vec!["admin.a", "prof.a"]);
    let (_, list) = api(&w.app, t, Method::GET, &format!("/users?entity_id={b}"), None).await;
    assert!(list["items"].as_array().unwrap().is_empty());
    let (_, list) = api(&w.app, t, Method::GET, "/entities", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let (_, list) = api(&w.app, t, Method::GET, "/locations", None).await;
    assert!(list["items"].as_array().unwrap().is_empty());

    // The same on the pages.
    let mut tx = w.db.store.write().await.unwrap();
    let session = users::create_session(&mut tx, w.admin_a, chrono::Duration::hours(1)).await.unwrap();
    tx.commit().await.unwrap();
    let (s, _) = send(&w.app, page_get(&format!("/entities/{b}"), &session)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, _) = send(&w.app, page_get(&format!("/users/{}", w.teacher_b.0), &session)).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, html) = send(&w.app, page_get("/users", &session)).await;
    assert_eq!(s, StatusCode::OK);
    assert!(!String::from_utf8_lossy(&html).contains("prof.b"));
}

async fn profiles_beyond_the_granter_are_refused(w: &World) {
    let t = &w.admin_a_token;
    let uri = format!("/users/{}/grants", w.teacher_a.0);
    let ok = json!([{"entity_id": w.school_a.0, "profile": "observer", "recursive": false}]);
    let (s, saved) = api(&w.app, t, Method::PUT, &uri, Some(ok.clone())).await;
    assert_eq!((s, saved), (StatusCode::OK, ok.clone()));

    let too_much = json!([
        {"entity_id": w.school_a.0, "profile": "observer", "recursive": false},
        {"entity_id": w.school_a.0, "profile": "super_admin", "recursive": true}
    ]);
    let (s, err) = api(&w.app, t, Method::PUT, &uri, Some(too_much)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&err), ("grants[1]".into(), "forbidden_grant".into()));
    let (_, kept) = api(&w.app, t, Method::GET, &uri, None).await;
    assert_eq!(kept, ok, "a refused request changes nothing");

    // An account holding more than the admin is out of their hands.
    let (s, err) = api(
        &w.app,
        &w.root_token,
        Method::POST,
        "/users",
        Some(json!({
            "login": "chef.a", "entity_id": w.school_a.0,
            "grants": [{"entity_id": w.county.0, "profile": "super_admin", "recursive": true}]
        })),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{err}");
    let boss = err["id"].as_i64().unwrap();
    let (s, _) = api(&w.app, t, Method::GET, &format!("/users/{boss}"), None).await;
    assert_eq!(s, StatusCode::OK, "visible in school A");
    let (s, err) =
        api(&w.app, t, Method::PUT, &format!("/users/{boss}/password"), Some(json!({"password": "0123456789abc"})))
            .await;
    assert_eq!((s, err["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (s, _) = api(&w.app, t, Method::PUT, &format!("/users/{boss}/grants"), Some(json!([]))).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

async fn settings_are_for_super_admins(w: &World) {
    let (s, current) = api(&w.app, &w.admin_a_token, Method::GET, "/settings", None).await;
    assert_eq!(s, StatusCode::OK);
    let mut new = current.clone();
    new["organisation_name"] = json!("Département de Test");
    new["hotline_number"] = json!("7000");
    let (s, err) = api(&w.app, &w.admin_a_token, Method::PUT, "/settings", Some(new.clone())).await;
    assert_eq!((s, err["error"]["code"].as_str()), (StatusCode::FORBIDDEN, Some("forbidden")));
    let (s, saved) = api(&w.app, &w.root_token, Method::PUT, "/settings", Some(new.clone())).await;
    assert_eq!((s, saved["hotline_number"].as_str()), (StatusCode::OK, Some("7000")));

    // A logo must be what it claims to be.
    new["logo_data_url"] = json!("data:image/png;base64,R0lGODlhAQABAAAAACw=");
    let (s, err) = api(&w.app, &w.root_token, Method::PUT, "/settings", Some(new.clone())).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&err), ("logo".into(), "image_format".into()));
    new["public_url"] = json!("ftp://x");
    new["logo_data_url"] = json!("");
    let (s, err) = api(&w.app, &w.root_token, Method::PUT, "/settings", Some(new)).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(field_error(&err), ("public_url".into(), "url_format".into()));

    // The page: forbidden to the school admin.
    let mut tx = w.db.store.write().await.unwrap();
    let session = users::create_session(&mut tx, w.admin_a, chrono::Duration::hours(1)).await.unwrap();
    tx.commit().await.unwrap();
    let (s, _) = send(&w.app, page_get("/settings", &session)).await;
    assert_eq!(s, StatusCode::FORBIDDEN);
}

fn multipart(session: &(String, String), fields: &[(&str, &str)], logo: Option<&[u8]>) -> Request<Body> {
    let boundary = "parc-test-boundary";
    let mut body: Vec<u8> = Vec::new();
    for (k, v) in fields {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n").as_bytes());
    }
    if let Some(bytes) = logo {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"logo\"; filename=\"logo.png\"\r\nContent-Type: image/png\r\n\r\n").as_bytes());
        body.extend(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").as_bytes());
    Request::builder()
        .method(Method::POST)
        .uri("/settings")
        .header(header::COOKIE, format!("parc_session={}", session.0))
        .header(header::CONTENT_TYPE, format!("multipart/form-data; boundary={boundary}"))
        .body(Body::from(body))
        .unwrap()
}

async fn settings_page_uploads_a_checked_logo(w: &World) {
    let s = &w.root_session;
    let csrf = s.1.as_str();
    let base =
        [("organisation_name", "Mairie"), ("hotline_number", "7777"), ("default_language", "fr"), ("public_url", "")];
    let png = b"\x89PNG\r\n\x1a\n0000";

    let (status, _) = send(&w.app, multipart(s, &base, Some(png))).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "no CSRF field");
    let with_csrf: Vec<(&str, &str)> = std::iter::once(("csrf", csrf)).chain(base).collect();
    let (status, html) = send(&w.app, multipart(s, &with_csrf, Some(b"GIF89a\x01\x00"))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(String::from_utf8_lossy(&html).contains("Image PNG, JPEG ou SVG attendue."));
    let (status, _) = send(&w.app, multipart(s, &with_csrf, Some(&vec![0x89; 600 * 1024]))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);

    let (status, _) = send(&w.app, multipart(s, &with_csrf, Some(png))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, settings) = api(&w.app, &w.root_token, Method::GET, "/settings", None).await;
    assert_eq!(settings["organisation_name"], "Mairie");
    assert!(settings["logo_data_url"].as_str().unwrap().starts_with("data:image/png;base64,"));
    // The layout shows the new name at once.
    let (_, html) = send(&w.app, page_get("/entities", s)).await;
    assert!(String::from_utf8_lossy(&html).contains("Mairie"));

    // Saving without a new file keeps the logo; removing it clears it.
    let (status, _) = send(&w.app, multipart(s, &with_csrf, None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, settings) = api(&w.app, &w.root_token, Method::GET, "/settings", None).await;
    assert!(!settings["logo_data_url"].as_str().unwrap().is_empty());
    let (status, _) = send(&w.app, page_post("/settings/logo/delete", s, &format!("csrf={csrf}"))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, settings) = api(&w.app, &w.root_token, Method::GET, "/settings", None).await;
    assert_eq!(settings["logo_data_url"], "");
}

async fn page_forms_need_the_csrf_token(w: &World) {
    let s = &w.root_session;
    let parent = w.county.0;
    let (status, _) = send(&w.app, page_post("/entities/new", s, &format!("name=Sans+jeton&parent_id={parent}"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, _) =
        send(&w.app, page_post("/entities/new", s, &format!("csrf=wrong&name=Sans+jeton&parent_id={parent}"))).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (_, list) = api(&w.app, &w.root_token, Method::GET, "/entities", None).await;
    assert_eq!(list["items"].as_array().unwrap().len(), 3, "nothing created");

    let (status, _) =
        send(&w.app, page_post("/entities/new", s, &format!("csrf={}&name=Avec+jeton&parent_id={parent}", s.1))).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    // A form error comes back next to its field, in French.
    let (status, html) =
        send(&w.app, page_post("/entities/new", s, &format!("csrf={}&name=&parent_id={parent}", s.1))).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(String::from_utf8_lossy(&html).contains(r#"<p class="error" id="err-name">Ce champ est obligatoire.</p>"#));
    // Deleting a non-empty entity shows why.
    let (status, html) =
        send(&w.app, page_post(&format!("/entities/{}/delete", w.school_a.0), s, &format!("csrf={}", s.1))).await;
    assert_eq!(status, StatusCode::CONFLICT);
    assert!(String::from_utf8_lossy(&html).contains("ne peut pas être supprimée"));
}

async fn pages_render(w: &World) {
    let s = &w.root_session;
    for uri in [
        "/entities".to_owned(),
        "/entities/new".to_owned(),
        format!("/entities/{}", w.school_b.0),
        format!("/entities/{}/edit", w.school_b.0),
        "/locations".to_owned(),
        format!("/locations?entity_id={}", w.school_b.0),
        "/locations/new".to_owned(),
        format!("/locations/{}", w.room_b),
        format!("/locations/{}/edit", w.room_b),
        "/users".to_owned(),
        "/users?q=prof&entity_id=".to_owned(),
        "/users/new".to_owned(),
        format!("/users/{}", w.admin_a.0),
        format!("/users/{}/edit", w.admin_a.0),
        "/settings".to_owned(),
    ] {
        let (status, html) = send(&w.app, page_get(&uri, s)).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {}", String::from_utf8_lossy(&html));
    }
    let (_, html) = send(&w.app, page_get("/entities", s)).await;
    let html = String::from_utf8_lossy(&html);
    assert!(html.contains("└\u{a0}Collège A"), "indented tree");
    let (_, html) = send(&w.app, page_get(&format!("/locations/{}", w.room_b), s)).await;
    assert!(
        String::from_utf8_lossy(&html).contains("Site B &gt; Bât. 1 &gt; Salle 3")
            || String::from_utf8_lossy(&html).contains("Site B &#62; Bât. 1")
    );

    // Profiles form: add a row, then refuse a bad one next to its row.
    let user = w.teacher_a.0;
    let form = format!("csrf={}&rows=1&entity_0={}&profile_0=technician&recursive_0=1", s.1, w.school_a.0);
    let (status, _) = send(&w.app, page_post(&format!("/users/{user}/grants"), s, &form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    let (_, grants) = api(&w.app, &w.root_token, Method::GET, &format!("/users/{user}/grants"), None).await;
    assert_eq!(grants[0]["profile"], "technician");
    let form = format!(
        "csrf={}&rows=2&entity_0={}&profile_0=technician&remove_0=1&entity_1=999999&profile_1=observer",
        s.1, w.school_a.0
    );
    let (status, _) = send(&w.app, page_post(&format!("/users/{user}/grants"), s, &form)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let (_, grants) = api(&w.app, &w.root_token, Method::GET, &format!("/users/{user}/grants"), None).await;
    assert_eq!(grants.as_array().unwrap().len(), 1, "unchanged");

    // Admin password reset with confirmation.
    let form = format!("csrf={}&password=0123456789ab&confirm=0123456789ac", s.1);
    let (status, html) = send(&w.app, page_post(&format!("/users/{user}/password"), s, &form)).await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(String::from_utf8_lossy(&html).contains("Les deux mots de passe ne correspondent pas."));
}

async fn malformed_requests_get_the_error_shape(w: &World) {
    let req = Request::builder()
        .method(Method::POST)
        .uri("/api/v1/entities")
        .header(header::AUTHORIZATION, format!("Bearer {}", w.root_token))
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from("{\"name\": "))
        .unwrap();
    let (s, body) = send(&w.app, req).await;
    assert_eq!(s, StatusCode::BAD_REQUEST);
    let v: Value = serde_json::from_slice(&body).unwrap();
    assert_eq!(v["error"]["code"], "bad_request");
    assert!(v["error"]["message"].is_string());

    let (s, v) =
        api(&w.app, &w.root_token, Method::POST, "/entities", Some(json!({"name": "X", "colour": "blue"}))).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
    let (s, v) = api(
        &w.app,
        &w.root_token,
        Method::PUT,
        &format!("/users/{}/grants", w.teacher_a.0),
        Some(json!([{"entity_id": 1, "profile": "king", "recursive": false}])),
    )
    .await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
    let (s, v) = api(&w.app, &w.root_token, Method::GET, "/entities/abc", None).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::BAD_REQUEST, Some("bad_request")));
    let (s, v) = api(&w.app, "wrong", Method::GET, "/entities", None).await;
    assert_eq!((s, v["error"]["code"].as_str()), (StatusCode::UNAUTHORIZED, Some("unauthorized")));

    // Every admin path is in the OpenAPI document.
    let (_, doc) = api(&w.app, &w.root_token, Method::GET, "/openapi.json", None).await;
    for p in [
        "/entities",
        "/entities/{id}",
        "/entities/{id}/history",
        "/locations",
        "/locations/{id}",
        "/users",
        "/users/{id}",
        "/users/{id}/grants",
        "/users/{id}/password",
        "/users/{id}/history",
        "/settings",
    ] {
        assert!(doc["paths"][p].is_object(), "{p} missing from the OpenAPI document");
    }
}

on_every_backend!(
    entity_crud_cycles_and_non_empty_delete,
    location_hierarchy_errors_are_per_field,
    user_creation_with_grants_and_password,
    a_school_admin_does_not_see_another_school,
    profiles_beyond_the_granter_are_refused,
    settings_are_for_super_admins,
    settings_page_uploads_a_checked_logo,
    page_forms_need_the_csrf_token,
    pages_render,
    malformed_requests_get_the_error_shape
);
