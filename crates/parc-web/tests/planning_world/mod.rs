//! The organisation the planning and intervention suites share: a county with two schools, a
//! site with an address in school A, and the people: a hotline operator of school A, a
//! technician of the whole county (both schools), a technician of school B only and a
//! requester of school A, each with an API token and a browser session. Include it with
//! `mod planning_world;`.

use axum::http::{Method, StatusCode};
use axum::Router;
use chrono::{DateTime, Datelike, Duration, NaiveDate, TimeZone, Utc};
use parc_core::permissions::{Grant, Profile};
use parc_core::{EntityId, UserId};
use parc_store::entities::{self, EntityInput};
use parc_store::locations::{self, LocationInput};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_store::{Actor, Store};
use parc_web::{AppState, WebConfig};
use serde_json::{json, Value};

use crate::common::api;

pub struct Person {
    pub id: UserId,
    pub token: String,
    /// Browser session: (cookie value, CSRF token).
    pub session: (String, String),
}

pub struct World {
    pub app: Router,
    pub store: Store,
    pub school_a: EntityId,
    pub school_b: EntityId,
    pub site_a: i64,
    pub hotline_a: Person,
    /// Technician of the county: handles both schools.
    pub tech: Person,
    pub tech_b: Person,
    pub requester_a: Person,
}

async fn person(store: &Store, login: &str, name: &str, entity: EntityId, profile: Profile, lang: &str) -> Person {
    let sys = Actor::system("test");
    let mut tx = store.write().await.unwrap();
    let input = UserInput {
        login: Some(login.into()),
        display_name: Some(name.into()),
        email: Some(format!("{login}@example.org")),
        phone: Some("01 23 45 67 89".into()),
        entity_id: Some(entity.0),
        language: Some(lang.into()),
        ..Default::default()
    };
    let u = users::create(&mut tx, &sys, &input, None).await.unwrap();
    users::set_grants(&mut tx, &sys, u.id, &[Grant { entity_id: entity, profile, recursive: true }]).await.unwrap();
    let (_, token) = users::create_token(&mut tx, &sys, u.id, "tests").await.unwrap();
    let session = users::create_session(&mut tx, u.id, chrono::Duration::hours(1)).await.unwrap();
    tx.commit().await.unwrap();
    Person { id: u.id, token, session }
}

pub async fn world(db: &TestDb) -> World {
    let sys = Actor::system("test");
    let store = db.store.clone();
    let mut tx = store.write().await.unwrap();
    let entity = |name: &str, parent: Option<EntityId>| EntityInput {
        name: Some(name.into()),
        parent_id: parent.map(|p| p.0),
        comment: None,
    };
    let county = entities::create(&mut tx, &sys, &entity("Département", None)).await.unwrap().id;
    let school_a = entities::create(&mut tx, &sys, &entity("Collège Jean Moulin", Some(county))).await.unwrap().id;
    let school_b = entities::create(&mut tx, &sys, &entity("Collège Victor Hugo", Some(county))).await.unwrap().id;
    let site = LocationInput {
        entity_id: Some(school_a.0),
        kind: Some("site".into()),
        name: Some("Bâtiment principal".into()),
        address: Some("3 rue des Écoles, Limoges".into()),
        ..Default::default()
    };
    let site_a = locations::create(&mut tx, &sys, &site).await.unwrap().id.0;
    tx.commit().await.unwrap();
    let hotline_a = person(&store, "hotline.a", "Hélène Hotline", school_a, Profile::Hotline, "fr").await;
    let tech = person(&store, "tech", "Théo Technicien", county, Profile::Technician, "fr").await;
    let tech_b = person(&store, "tech.b", "Bruno Technician", school_b, Profile::Technician, "en").await;
    let requester_a = person(&store, "requester.a", "Rémi Requester", school_a, Profile::Requester, "fr").await;
    let state = AppState::new(store.clone(), WebConfig::default()).await.unwrap();
    World { app: parc_web::router(state), store, school_a, school_b, site_a, hotline_a, tech, tech_b, requester_a }
}

impl World {
    /// Opens a ticket through the API; `extra` fields are merged into the request.
    pub async fn ticket(&self, token: &str, entity: EntityId, title: &str, extra: Value) -> i64 {
        let mut body = json!({"entity_id": entity.0, "title": title, "requester_name": "Mme Dupont",
            "requester_phone": "05 55 12 34 56", "description": "L'écran reste noir au démarrage."});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        let (s, t) = api(&self.app, token, Method::POST, "/tickets", Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{t}");
        t["id"].as_i64().unwrap()
    }

    /// Adds a task through the API.
    pub async fn task(&self, token: &str, ticket: i64, body: Value) -> Value {
        let (s, k) = api(&self.app, token, Method::POST, &format!("/tickets/{ticket}/tasks"), Some(body)).await;
        assert_eq!(s, StatusCode::CREATED, "{k}");
        k
    }
}

/// The Monday, two weeks from now (Paris dates): free of any clock change surprise in tests
/// that only compare within the week, and in the future so that its slots can be booked.
pub fn future_monday() -> NaiveDate {
    let day = Utc::now().date_naive() + Duration::days(14);
    day - Duration::days(i64::from(day.weekday().num_days_from_monday()))
}

/// `day` at `h:m` in Paris, as UTC.
pub fn paris(day: NaiveDate, h: u32, m: u32) -> DateTime<Utc> {
    chrono_tz::Europe::Paris.from_local_datetime(&day.and_hms_opt(h, m, 0).unwrap()).unwrap().with_timezone(&Utc)
}

/// An appointment's JSON for the tasks API.
pub fn appointment(tech: UserId, start: DateTime<Utc>, minutes: i64, on_site: bool, what: &str) -> Value {
    json!({"description": what, "technician_user_id": tech.0, "on_site": on_site,
        "planned_start": start.to_rfc3339(), "planned_end": (start + Duration::minutes(minutes)).to_rfc3339()})
}
