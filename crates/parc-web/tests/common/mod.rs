//! What the web test suites share: sending a request to the in-process router, API calls with
//! a bearer token, and page requests with a session cookie.

use axum::body::Body;
use axum::http::{header, Method, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use serde_json::Value;
use tower::ServiceExt;

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
