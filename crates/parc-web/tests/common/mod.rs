//! What the web test suites share: the fixtures' actor and entities, sending a request to the
//! in-process router, API calls with a bearer token, page requests with a session cookie, and
//! running each scenario on every backend (`on_every_backend!`, for suites that declare
//! `#[macro_use] mod common;`).

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use parc_core::{EntityId, TicketId};
use parc_store::entities::{self, EntityInput};
use parc_store::{Actor, Conn};
use serde_json::Value;
use tower::ServiceExt;

/// Who writes the fixtures.
#[allow(dead_code)] // not every suite uses it
pub fn sys() -> Actor {
    Actor::system("test")
}

/// Creates an entity for a fixture, below `parent`.
#[allow(dead_code)] // not every suite uses it
pub async fn entity(c: &mut Conn, name: &str, parent: Option<EntityId>) -> EntityId {
    let input = EntityInput { name: Some(name.into()), parent_id: parent.map(|p| p.0), comment: None };
    entities::create(c, &sys(), &input).await.unwrap().id
}

/// Sends one request; the status and the raw body.
pub async fn send(app: &Router, req: Request<Body>) -> (StatusCode, Vec<u8>) {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, body)
}

/// An API request with a bearer token and an optional JSON body.
pub fn api_request(token: &str, method: Method, uri: &str, body: Option<Value>) -> Request<Body> {
    let mut req = Request::builder()
        .method(method)
        .uri(format!("/api/v1{uri}"))
        .header(header::AUTHORIZATION, format!("Bearer {token}"));
    let body = match body {
        Some(v) => {
            req = req.header(header::CONTENT_TYPE, "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    req.body(body).unwrap()
}

/// An API call; the answer as JSON (`Null` when empty).
pub async fn api(app: &Router, token: &str, method: Method, uri: &str, body: Option<Value>) -> (StatusCode, Value) {
    let (status, bytes) = send(app, api_request(token, method, uri, body)).await;
    let json = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or_else(|_| panic!("not JSON: {}", String::from_utf8_lossy(&bytes)))
    };
    (status, json)
}

/// A page GET with the session cookie of `session` (cookie value, CSRF token).
pub fn page_get(uri: &str, session: &(String, String)) -> Request<Body> {
    Request::builder()
        .uri(uri)
        .header(header::COOKIE, format!("parc_session={}", session.0))
        .body(Body::empty())
        .unwrap()
}

/// A form POST (URL-encoded, as given) with the session cookie.
pub fn page_post(uri: &str, session: &(String, String), form: &str) -> Request<Body> {
    Request::builder()
        .method(Method::POST)
        .uri(uri)
        .header(header::COOKIE, format!("parc_session={}", session.0))
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Body::from(form.to_owned()))
        .unwrap()
}

/// A form POST of `fields` with the session cookie and the session's CSRF token.
#[allow(dead_code)] // not every suite uses it
pub fn csrf_post(uri: &str, session: &(String, String), fields: &[(&str, &str)]) -> Request<Body> {
    let mut all: Vec<(&str, &str)> = vec![("csrf", session.1.as_str())];
    all.extend_from_slice(fields);
    page_post(uri, session, &serde_urlencoded::to_string(&all).unwrap())
}

/// A page's answer: status, headers and the body as text.
#[allow(dead_code)] // not every suite uses it
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub body: String,
}

#[allow(dead_code)] // not every suite uses it
impl Reply {
    /// Where a redirect points ("" when it is not one).
    pub fn location(&self) -> &str {
        self.headers.get(header::LOCATION).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

/// The ticket a 303 after a ticket form points to.
#[allow(dead_code)] // not every suite uses it
pub fn created_id(r: &Reply) -> TicketId {
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let id = r.location().trim_start_matches("/tickets/").split('?').next().unwrap();
    TicketId(id.parse().unwrap())
}

/// Sends one request and reads the answer as text.
#[allow(dead_code)] // not every suite uses it
pub async fn reply(app: &Router, req: Request<Body>) -> Reply {
    let resp = app.clone().oneshot(req).await.unwrap();
    let (status, headers) = (resp.status(), resp.headers().clone());
    let body = String::from_utf8(resp.into_body().collect().await.unwrap().to_bytes().to_vec()).unwrap();
    Reply { status, headers, body }
}

/// Runs each scenario `name(&World)` on SQLite, and on PostgreSQL when one is reachable: the
/// suite defines `world(TestDb) -> World` with a `db` field.
#[allow(unused_macros)] // not every suite uses it
macro_rules! on_every_backend {
    ($($name:ident),* $(,)?) => {
        mod backends {
            use super::*;
            $(
                // Several threads, and the pool closed before the database is dropped: dropping
                // a `TestDb` blocks its thread, which must not be the only one that can finish
                // returning connections to the pool.
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    for db in TestDb::all().await {
                        eprintln!("backend: {}", db.store.backend().name());
                        let w = world(db).await;
                        super::$name(&w).await;
                        w.db.store.close().await;
                    }
                }
            )*
        }
    };
}
