//! Stock over HTTP on every backend: stores, items and movements through the API and the
//! pages, bad input refused with a clear message and nothing written (negative and fractional
//! quantities, issuing more than on hand, an XLSX with wrong columns), scope (another entity's
//! store is 404, a requester sees no stock), the dashboard's below-reorder list, the XLSX export
//! and import, and the reorder e-mail received exactly once by a real SMTP server (aiosmtpd).

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use chrono::Utc;
use parc_core::permissions::{Grant, Profile};
use parc_core::EntityId;
use parc_docs::table::{read_any, write_xlsx, Limits};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_web::jobs::run_once;
use parc_web::{AppState, WebConfig};
use serde_json::{json, Value};

#[macro_use]
#[allow(dead_code)] // the shared helpers this suite does not need
mod common;
#[allow(dead_code)] // the helpers this suite does not need
mod smtp_sink;
use common::{api, csrf_post, page_get, reply, send, sys};
use smtp_sink::{configure, free_port, Sink};

struct World {
    db: TestDb,
    app: axum::Router,
    town: EntityId,
    /// Technician of the town, manager of the stores, reads English.
    manager: String,
    manager_id: i64,
    manager_session: (String, String),
    /// Technician of another entity.
    other: String,
    requester: String,
}

async fn world(db: TestDb) -> World {
    let store = db.store.clone();
    let mut tx = store.write().await.unwrap();
    let town = common::entity(&mut tx, "Mairie", None).await;
    let other_entity = common::entity(&mut tx, "CCAS", None).await;
    let mut tokens = Vec::new();
    let mut session = None;
    let mut ids = Vec::new();
    for (login, entity, profile) in [
        ("gestionnaire", town, Profile::Technician),
        ("autre", other_entity, Profile::Technician),
        ("agent", town, Profile::Requester),
    ] {
        let input = UserInput {
            login: Some(login.into()),
            display_name: Some(login.into()),
            email: Some(format!("{login}@example.org")),
            language: Some("en".into()),
            entity_id: Some(entity.0),
            ..Default::default()
        };
        let u = users::create(&mut tx, &sys(), &input, None).await.unwrap();
        users::set_grants(&mut tx, &sys(), u.id, &[Grant { entity_id: entity, profile, recursive: true }])
            .await
            .unwrap();
        ids.push(u.id.0);
        tokens.push(users::create_token(&mut tx, &sys(), u.id, "tests").await.unwrap().1);
        if session.is_none() {
            session = Some(users::create_session(&mut tx, u.id, chrono::Duration::hours(1)).await.unwrap());
        }
    }
    tx.commit().await.unwrap();
    let app = parc_web::router(AppState::new(store, WebConfig::default()).await.unwrap());
    let [manager, other, requester]: [String; 3] = tokens.try_into().unwrap();
    World { db, app, town, manager, manager_id: ids[0], manager_session: session.unwrap(), other, requester }
}

on_every_backend!(api_story, reorder_mail_once, pages_and_import);

async fn post(w: &World, token: &str, uri: &str, body: Value) -> (StatusCode, Value) {
    api(&w.app, token, Method::POST, uri, Some(body)).await
}

async fn get(w: &World, token: &str, uri: &str) -> Value {
    let (s, v) = api(&w.app, token, Method::GET, uri, None).await;
    assert_eq!(s, StatusCode::OK, "{uri}: {v}");
    v
}

/// A store of the town managed by the manager, and an item of the town's catalogue.
async fn store_and_item(w: &World, name: &str, item: &str) -> (i64, i64) {
    let (s, st) = post(
        w,
        &w.manager,
        "/stock/stores",
        json!({"entity_id": w.town.0, "name": name, "manager_user_id": w.manager_id}),
    )
    .await;
    assert_eq!(s, StatusCode::CREATED, "{st}");
    let (s, it) =
        post(w, &w.manager, "/stock/items", json!({"entity_id": w.town.0, "name": item, "unit": "pièce"})).await;
    assert_eq!(s, StatusCode::CREATED, "{it}");
    (st["id"].as_i64().unwrap(), it["id"].as_i64().unwrap())
}

async fn movement(w: &World, token: &str, body: Value) -> (StatusCode, Value) {
    post(w, token, "/stock/movements", body).await
}

async fn on_hand(w: &World, store: i64) -> Vec<(String, i64)> {
    let levels = get(w, &w.manager, &format!("/stock/levels?store_id={store}")).await;
    levels
        .as_array()
        .unwrap()
        .iter()
        .map(|l| (l["item_name"].as_str().unwrap().to_owned(), l["quantity"].as_i64().unwrap()))
        .collect()
}

async fn api_story(w: &World) {
    let (store, toner) = store_and_item(w, "Magasin central", "Toner HP 305A").await;
    let (s, st2) = post(w, &w.manager, "/stock/stores", json!({"entity_id": w.town.0, "name": "Armoire mairie"})).await;
    assert_eq!(s, StatusCode::CREATED, "{st2}");
    let store2 = st2["id"].as_i64().unwrap();
    let m = |kind: &str, q: Value| json!({"kind": kind, "store_id": store, "item_id": toner, "quantity": q, "reason": "livraison"});
    let (s, v) = movement(w, &w.manager, m("receive", json!(10))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    assert_eq!((v[0]["delta"].as_i64(), v[0]["quantity_after"].as_i64()), (Some(10), Some(10)));
    let (s, v) = movement(w, &w.manager, m("issue", json!(3))).await;
    assert_eq!(s, StatusCode::CREATED, "{v}");
    let mut t = m("transfer", json!(2));
    t["to_store_id"] = json!(store2);
    let (s, v) = movement(w, &w.manager, t).await;
    assert_eq!((s, v.as_array().map(Vec::len)), (StatusCode::CREATED, Some(2)), "{v}");
    assert_eq!(on_hand(w, store).await, vec![("Toner HP 305A".to_owned(), 5)]);
    assert_eq!(on_hand(w, store2).await, vec![("Toner HP 305A".to_owned(), 2)]);

    // Bad input: a clear 4xx, nothing written.
    let count = get(w, &w.manager, "/stock/movements?limit=5000").await.as_array().unwrap().len();
    for (body, status, code) in [
        (m("receive", json!(-4)), StatusCode::UNPROCESSABLE_ENTITY, Some("negative")),
        (m("receive", json!(1.5)), StatusCode::UNPROCESSABLE_ENTITY, Some("not_integer")),
        (m("issue", json!(0)), StatusCode::UNPROCESSABLE_ENTITY, Some("zero_quantity")),
        (m("issue", json!(6)), StatusCode::UNPROCESSABLE_ENTITY, Some("insufficient_stock")),
        (m("adjust", json!(-1)), StatusCode::UNPROCESSABLE_ENTITY, Some("negative")),
        (m("transfer", json!(1)), StatusCode::UNPROCESSABLE_ENTITY, Some("required")),
        (m("issue", json!("3")), StatusCode::BAD_REQUEST, None),
        (m("steal", json!(1)), StatusCode::BAD_REQUEST, None),
    ] {
        let (s, v) = movement(w, &w.manager, body.clone()).await;
        assert_eq!(s, status, "{body}: {v}");
        if let Some(code) = code {
            assert_eq!(v["error"]["details"]["fields"][0]["code"], code, "{v}");
        }
        assert!(!v["error"]["message"].as_str().unwrap_or_default().is_empty());
    }
    let (_, v) = movement(w, &w.manager, m("issue", json!(6))).await;
    assert_eq!(v["error"]["details"]["fields"][0]["message"], "only 5 on hand", "{v}");
    assert_eq!(get(w, &w.manager, "/stock/movements?limit=5000").await.as_array().unwrap().len(), count);
    assert_eq!(on_hand(w, store).await, vec![("Toner HP 305A".to_owned(), 5)]);

    // Scope: another entity's technician does not see the store; a requester sees no stock and
    // records nothing.
    let (s, _) = api(&w.app, &w.other, Method::GET, &format!("/stock/stores/{store}"), None).await;
    assert_eq!(s, StatusCode::NOT_FOUND);
    let (s, v) = movement(w, &w.other, m("issue", json!(1))).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "an unknown store for them: {v}");
    assert_eq!(get(w, &w.other, "/stock/stores").await, json!([]));
    assert_eq!(get(w, &w.requester, "/stock/levels").await, json!([]));
    let (s, _) = movement(w, &w.requester, m("issue", json!(1))).await;
    assert!(s == StatusCode::UNPROCESSABLE_ENTITY || s == StatusCode::FORBIDDEN, "{s}");
    let (s, v) = post(w, &w.requester, "/stock/stores", json!({"entity_id": w.town.0, "name": "X"})).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "the entity's stock is not theirs: {v}");
    assert_eq!(v["error"]["details"]["fields"][0]["field"], "entity_id");
    assert_eq!(on_hand(w, store).await, vec![("Toner HP 305A".to_owned(), 5)]);

    // A store with movements is kept (409); an empty one goes.
    let (s, _) = api(&w.app, &w.manager, Method::DELETE, &format!("/stock/stores/{store}"), None).await;
    assert_eq!(s, StatusCode::CONFLICT);

    // Export: two sheets; the first lists the levels.
    let (s, bytes) = send(
        &w.app,
        Request::builder()
            .uri("/api/v1/stock/export")
            .header(header::AUTHORIZATION, format!("Bearer {}", w.manager))
            .body(Body::empty())
            .unwrap(),
    )
    .await;
    assert_eq!(s, StatusCode::OK);
    let t = read_any(&bytes, &Limits::default()).unwrap();
    assert_eq!(t.headers[..2], ["Store".to_owned(), "Item".to_owned()]);
    let rows: Vec<(String, String)> = t.rows.iter().map(|r| (r.cells[0].clone(), r.cells[4].clone())).collect();
    assert!(rows.contains(&("Magasin central".into(), "5".into())), "{rows:?}");

    // The OpenAPI document lists the stock operations.
    let doc = get(w, &w.manager, "/openapi.json").await;
    assert!(doc["paths"]["/stock/movements"]["post"].is_object());
}

async fn reorder_mail_once(w: &World) {
    let port = free_port();
    let Some(sink) = Sink::start(port) else { return };
    configure(&w.db.store, port, true).await;
    let (store, item) = store_and_item(w, "Magasin école", "Chargeur USB-C").await;
    let m = |kind: &str, q: i64| json!({"kind": kind, "store_id": store, "item_id": item, "quantity": q});
    assert_eq!(movement(w, &w.manager, m("receive", 10)).await.0, StatusCode::CREATED);
    let (s, v) = api(
        &w.app,
        &w.manager,
        Method::PUT,
        &format!("/stock/stores/{store}/levels/{item}"),
        Some(json!({"reorder_level": 5})),
    )
    .await;
    assert_eq!((s, v["reorder_level"].as_i64(), v["below"].as_bool()), (StatusCode::OK, Some(5), Some(false)), "{v}");
    let (s, v) = api(
        &w.app,
        &w.manager,
        Method::PUT,
        &format!("/stock/stores/{store}/levels/{item}"),
        Some(json!({"reorder_level": -2})),
    )
    .await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    // 10 -> 6: no alert; -> 4: the alert; -> 3, -> 1: nothing more.
    for q in [4, 2, 1, 2] {
        assert_eq!(movement(w, &w.manager, m("issue", q)).await.0, StatusCode::CREATED);
    }
    let r = run_once(&w.db.store, "test-worker", 50, Utc::now()).await.unwrap();
    assert_eq!(r.sent, 1, "{r:?}");
    let r = run_once(&w.db.store, "test-worker", 50, Utc::now()).await.unwrap();
    assert_eq!(r.sent, 0, "{r:?}");
    let mail = sink.messages();
    assert_eq!(mail.len(), 1, "{mail:?}");
    assert_eq!(mail[0].rcpt, ["gestionnaire@example.org"]);
    assert_eq!(mail[0].subject, "Low stock: Chargeur USB-C (Magasin école)");
    assert!(mail[0].body.contains("4 on hand for a level of 5"), "{}", mail[0].body);
    assert!(mail[0].body.contains(&format!("/stock/stores/{store}")), "{}", mail[0].body);

    // The dashboard lists it, linking to the store.
    let r = reply(&w.app, page_get("/", &w.manager_session)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains(&format!("/stock/stores/{store}")) && r.body.contains("Chargeur USB-C"), "{}", r.body);

    // Back above the level re-arms it: the next crossing sends one more.
    assert_eq!(movement(w, &w.manager, m("receive", 10)).await.0, StatusCode::CREATED);
    assert_eq!(movement(w, &w.manager, m("issue", 9)).await.0, StatusCode::CREATED);
    let r = run_once(&w.db.store, "test-worker", 50, Utc::now()).await.unwrap();
    assert_eq!(r.sent, 1, "{r:?}");
    assert_eq!(sink.messages().len(), 2);
}

/// A multipart body with text fields and an optional file.
fn multipart(fields: &[(&str, &str)], file: Option<&[u8]>) -> (String, Vec<u8>) {
    let boundary = "----parc-stock-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").into_bytes(),
        );
    }
    if let Some(bytes) = file {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"stock.xlsx\"\r\nContent-Type: application/octet-stream\r\n\r\n").into_bytes());
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").into_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn xlsx(headers: &[&str], rows: &[&[&str]]) -> Vec<u8> {
    let headers: Vec<String> = headers.iter().map(|s| s.to_string()).collect();
    let rows: Vec<Vec<String>> = rows.iter().map(|r| r.iter().map(|s| s.to_string()).collect()).collect();
    write_xlsx("Stock", &headers, &rows).unwrap()
}

async fn import_api(w: &World, query: &str, file: Vec<u8>) -> (StatusCode, Value) {
    let req = Request::builder()
        .method(Method::POST)
        .uri(format!("/api/v1/stock/import?{query}"))
        .header(header::AUTHORIZATION, format!("Bearer {}", w.manager))
        .header(header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
        .body(Body::from(file))
        .unwrap();
    let (s, b) = send(&w.app, req).await;
    (s, serde_json::from_slice(&b).unwrap_or(Value::Null))
}

async fn pages_and_import(w: &World) {
    let (store, item) = store_and_item(w, "Réserve", "Câble HDMI 2 m").await;
    let session = &w.manager_session;
    let r = reply(&w.app, page_get("/stock", session)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Réserve") && r.body.contains("/static/stock.css"));

    // The movement form: 1.5 and issuing more than on hand come back with a message.
    let uri = format!("/stock/stores/{store}/movements");
    let item_s = item.to_string();
    let r = reply(&w.app, csrf_post(&uri, session, &[("kind", "receive"), ("item_id", &item_s), ("quantity", "1.5")]))
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Enter a whole number"), "{}", r.body);
    let r =
        reply(&w.app, csrf_post(&uri, session, &[("kind", "receive"), ("item_id", &item_s), ("quantity", "8")])).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r =
        reply(&w.app, csrf_post(&uri, session, &[("kind", "issue"), ("item_id", &item_s), ("quantity", "9")])).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("Not enough in stock"), "{}", r.body);
    let r = reply(
        &w.app,
        csrf_post(
            &uri,
            session,
            &[("kind", "issue"), ("item_id", &item_s), ("quantity", "2"), ("issued_to_user", "agent")],
        ),
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let r = reply(&w.app, page_get(&format!("/stock/stores/{store}"), session)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Câble HDMI 2 m") && r.body.contains(">6 pièce<"), "{}", r.body);
    assert_eq!(on_hand(w, store).await, vec![("Câble HDMI 2 m".to_owned(), 6)]);

    // Import through the API: wrong columns and bad rows write nothing.
    let good = xlsx(
        &["Désignation", "Qté", "Seuil", "Magasin"],
        &[&["Câble HDMI 2 m", "20", "5", "Réserve"], &["Souris USB", "7", "", "Réserve"]],
    );
    let (s, v) = import_api(w, "item=Article&quantity=Qté", good.clone()).await;
    assert_eq!((s, v["errors"][0]["code"].as_str()), (StatusCode::UNPROCESSABLE_ENTITY, Some("unknown_column")), "{v}");
    let wrong = xlsx(&["Nom du produit", "Couleur"], &[&["Câble", "bleu"]]);
    let (s, v) = import_api(w, "", wrong).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    assert!(v["errors"].as_array().unwrap().iter().any(|e| e["code"] == "missing_column"), "{v}");
    let bad = xlsx(&["Désignation", "Qté"], &[&["Câble HDMI 2 m", "20"], &["Souris USB", "1.5"], &["Clavier", "-2"]]);
    let (s, v) = import_api(w, &format!("store_id={store}"), bad).await;
    assert_eq!(s, StatusCode::UNPROCESSABLE_ENTITY, "{v}");
    let codes: Vec<(i64, &str)> = v["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["line"].as_i64().unwrap(), e["code"].as_str().unwrap()))
        .collect();
    assert_eq!(codes, vec![(3, "not_integer"), (4, "negative")]);
    assert_eq!(on_hand(w, store).await, vec![("Câble HDMI 2 m".to_owned(), 6)], "all or nothing");
    let (s, v) = import_api(w, "dry_run=true", good.clone()).await;
    assert_eq!((s, v["imported"].as_i64()), (StatusCode::OK, Some(0)), "{v}");
    let (s, v) = import_api(w, "", good).await;
    assert_eq!((s, v["imported"].as_i64()), (StatusCode::CREATED, Some(2)), "{v}");
    assert_eq!(on_hand(w, store).await, vec![("Câble HDMI 2 m".to_owned(), 20), ("Souris USB".to_owned(), 7)]);

    // The import page: upload -> column mapping (guessed) -> preview with row errors.
    let file = xlsx(&["Article", "Quantité"], &[&["Toner", "3"], &["Papier", "x"]]);
    let store_s = store.to_string();
    let (ct, body) = multipart(&[("csrf", &session.1), ("store_id", &store_s)], Some(&file));
    let req = Request::builder()
        .method(Method::POST)
        .uri("/stock/import")
        .header(header::COOKIE, format!("parc_session={}", session.0))
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(body))
        .unwrap();
    let r = reply(&w.app, req).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("name=\"map_item\"") && r.body.contains("name=\"step\" value=\"preview\""), "{}", r.body);
    // Carry the table on to the preview, as the mapping form does.
    let data = r.body.split("name=\"data\" value=\"").nth(1).unwrap().split('"').next().unwrap();
    let data = data.replace("&quot;", "\"").replace("&#34;", "\"").replace("&amp;", "&");
    let (ct, body) = multipart(
        &[
            ("csrf", &session.1),
            ("store_id", &store_s),
            ("data", &data),
            ("step", "commit"),
            ("map_item", "0"),
            ("map_quantity", "1"),
        ],
        None,
    );
    let req = Request::builder()
        .method(Method::POST)
        .uri("/stock/import")
        .header(header::COOKIE, format!("parc_session={}", session.0))
        .header(header::CONTENT_TYPE, ct)
        .body(Body::from(body))
        .unwrap();
    let r = reply(&w.app, req).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert!(r.body.contains("Enter a whole number"), "{}", r.body);
    assert_eq!(on_hand(w, store).await.len(), 2, "nothing imported");
}
