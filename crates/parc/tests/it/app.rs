//! A running Parc on a random local port over a throw-away database.

use parc_core::permissions::{Grant, Profile};
use parc_core::{EntityId, UserId};
use parc_store::entities::{self, EntityInput};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_store::Actor;
use std::net::SocketAddr;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub db: TestDb,
    pub base: String,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl TestApp {
    pub async fn start(db: TestDb) -> TestApp {
        let state = parc_web::AppState::new(db.store.clone(), parc_web::WebConfig::default()).await.unwrap();
        let app = parc_web::router(state);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let server = tokio::spawn(async move {
            axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>()).await.unwrap();
        });
        TestApp { db, base: format!("http://{addr}"), server }
    }

    pub async fn sqlite() -> TestApp {
        TestApp::start(TestDb::sqlite().await).await
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn entity(&self, name: &str, parent: Option<EntityId>) -> EntityId {
        let mut tx = self.db.store.write().await.unwrap();
        let e = entities::create(
            &mut tx,
            &Actor::system("test"),
            &EntityInput { name: Some(name.into()), parent_id: parent.map(|p| p.0), comment: None },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        e.id
    }

    /// A user with a password and the given profiles; returns its id and an API token.
    pub async fn user(&self, login: &str, entity: EntityId, grants: &[(EntityId, Profile, bool)]) -> (UserId, String) {
        let hash = password_hash();
        let mut tx = self.db.store.write().await.unwrap();
        let actor = Actor::system("test");
        let u = users::create(
            &mut tx,
            &actor,
            &UserInput {
                login: Some(login.into()),
                display_name: Some(format!("User {login}")),
                entity_id: Some(entity.0),
                ..Default::default()
            },
            Some(hash),
        )
        .await
        .unwrap();
        let g: Vec<Grant> =
            grants.iter().map(|(e, p, r)| Grant { entity_id: *e, profile: *p, recursive: *r }).collect();
        users::set_grants(&mut tx, &actor, u.id, &g).await.unwrap();
        let (_t, token) = users::create_token(&mut tx, &actor, u.id, "test").await.unwrap();
        tx.commit().await.unwrap();
        (u.id, token)
    }

    /// A session for `user` without going through the sign-in form: (cookie value, csrf token).
    pub async fn session(&self, user: UserId) -> (String, String) {
        let mut tx = self.db.store.write().await.unwrap();
        let s = users::create_session(&mut tx, user, chrono::Duration::hours(1)).await.unwrap();
        tx.commit().await.unwrap();
        s
    }
}

/// One argon2 hash shared by every test user (hashing is deliberately slow).
pub fn password_hash() -> &'static str {
    static H: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    H.get_or_init(|| parc_store::secrets::hash_password(PASSWORD).unwrap())
}

/// A client that keeps cookies and does not follow redirects (tests look at them).
pub fn browser_like_client() -> reqwest::Client {
    reqwest::Client::builder().cookie_store(true).redirect(reqwest::redirect::Policy::none()).build().unwrap()
}

/// The value of `name="csrf"` in a page.
pub fn csrf_in(html: &str) -> String {
    let marker = "name=\"csrf\" value=\"";
    let start = html.find(marker).expect("csrf field in page") + marker.len();
    html[start..].split('"').next().unwrap().to_owned()
}

/// GET a JSON document with an `Authorization` header value.
pub async fn get_json(http: &reqwest::Client, url: &str, authorization: &str) -> serde_json::Value {
    let resp = http.get(url).header("authorization", authorization).send().await.unwrap();
    resp.json().await.unwrap()
}

/// Posts JSON to the API with a bearer token; the JSON answer (the call must succeed).
pub async fn post_json(app: &TestApp, token: &str, path: &str, body: serde_json::Value) -> serde_json::Value {
    let resp = reqwest::Client::new()
        .post(app.url(&format!("/api/v1{path}")))
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{path}: {}", resp.status());
    resp.json().await.unwrap()
}
