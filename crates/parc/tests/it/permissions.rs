//! The generated permission matrix: every profile x recursive flag, granted on entity A of the
//! tree R > {A > A1, B}, tries every action on assets of A, A1 and B (and on its own asset),
//! through the API and through the pages. The expectations come from a table written here,
//! independently of parc-core's rules, and no cross-entity read or write may succeed.

use crate::app::{get_json, TestApp};
use parc_core::assets::AssetInput;
use parc_core::permissions::Profile;
use parc_core::{AssetId, EntityId, UserId};
use parc_store::{assets, Actor};
use reqwest::StatusCode;
use serde_json::{json, Value};
use std::collections::BTreeSet;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Act {
    Read,
    Update,
    Delete,
    Reveal,
}

/// The rights table as the product defines it (PRODUCT.md profiles), written independently.
fn profile_may(p: Profile, a: Act) -> bool {
    use Profile::*;
    match a {
        Act::Read => true,
        Act::Update => matches!(p, SuperAdmin | Admin | Technician | Hotline),
        Act::Delete | Act::Reveal => matches!(p, SuperAdmin | Admin | Technician),
    }
}

struct Tree {
    a: EntityId,
    a1: EntityId,
    b: EntityId,
}

#[derive(Clone, Copy, Debug)]
struct Target {
    id: AssetId,
    entity: EntityId,
    owner: Option<UserId>,
}

struct Subject {
    profile: Profile,
    recursive: bool,
    id: UserId,
    token: String,
    session: (String, String),
    /// Assets made for this subject's destructive tests: (in A, in A1, in B, own in A).
    targets: Vec<Target>,
}

fn covers(tree: &Tree, recursive: bool, entity: EntityId) -> bool {
    entity == tree.a || (recursive && entity == tree.a1)
}

/// Whether the subject may see `t` at all.
fn visible(tree: &Tree, s: &Subject, t: &Target) -> bool {
    if !covers(tree, s.recursive, t.entity) {
        return false;
    }
    s.profile != Profile::Requester || t.owner == Some(s.id)
}

async fn sim(app: &TestApp, entity: EntityId, name: &str, owner: Option<UserId>) -> Target {
    let input = AssetInput {
        kind: Some("sim_card".into()),
        entity_id: Some(entity.0),
        name: Some(name.into()),
        asset_tag: Some(name.into()),
        puk: Some("12345678".into()),
        assigned_user_id: owner.map(|u| u.0),
        ..Default::default()
    };
    let mut tx = app.db.store.write().await.unwrap();
    let id = assets::create(&mut tx, &Actor::system("test"), app.db.store.cipher(), &input.validate(None).unwrap())
        .await
        .unwrap();
    tx.commit().await.unwrap();
    Target { id, entity, owner }
}

#[tokio::test]
async fn no_cross_entity_read_or_write() {
    let app = TestApp::sqlite().await;
    let r = app.entity("R", None).await;
    let tree = Tree { a: app.entity("A", Some(r)).await, a1: EntityId(0), b: app.entity("B", Some(r)).await };
    let tree = Tree { a1: app.entity("A1", Some(tree.a)).await, ..tree };

    let mut subjects = Vec::new();
    for profile in Profile::ALL {
        for recursive in [false, true] {
            let login = format!("{}-{}", profile.as_str(), recursive);
            let (id, token) = app.user(&login, tree.a, &[(tree.a, *profile, recursive)]).await;
            let session = app.session(id).await;
            let mut targets = Vec::new();
            for (e, tag) in [(tree.a, "A"), (tree.a1, "A1"), (tree.b, "B")] {
                targets.push(sim(&app, e, &format!("{login}-{tag}"), None).await);
            }
            targets.push(sim(&app, tree.a, &format!("{login}-own"), Some(id)).await);
            subjects.push(Subject { profile: *profile, recursive, id, token, session, targets });
        }
    }
    let all: Vec<Target> = subjects.iter().flat_map(|s| s.targets.clone()).collect();
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let mut checked = 0;
    let mut deleted: BTreeSet<i64> = BTreeSet::new();

    for s in &subjects {
        let who = format!("{:?} recursive={}", s.profile, s.recursive);
        let bearer = format!("Bearer {}", s.token);
        let cookie = format!("parc_session={}", s.session.0);

        // Lists and search show exactly the visible assets.
        let v: Value = get_json(&http, &app.url("/api/v1/assets?per_page=500"), &bearer).await;
        let listed: BTreeSet<i64> = v["items"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
        let expected: BTreeSet<i64> =
            all.iter().filter(|t| !deleted.contains(&t.id.0) && visible(&tree, s, t)).map(|t| t.id.0).collect();
        assert_eq!(listed, expected, "{who}: API list");
        let html = http
            .get(app.url("/assets?per_page=500"))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for t in all.iter().filter(|t| !deleted.contains(&t.id.0)) {
            let shown = html.contains(&format!("href=\"/assets/{}\"", t.id));
            assert_eq!(shown, visible(&tree, s, t), "{who}: page list, asset {:?}", t);
        }
        let b_tag = format!("{}-{}-B", s.profile.as_str(), s.recursive);
        let found: Value = get_json(&http, &app.url(&format!("/api/v1/search?q={b_tag}")), &bearer).await;
        assert!(found["items"].as_array().unwrap().is_empty(), "{who}: search leaks B");
        checked += 3;

        for t in &s.targets {
            let vis = visible(&tree, s, t);
            for act in [Act::Read, Act::Update, Act::Reveal, Act::Delete] {
                let allowed = vis && profile_may(s.profile, act);
                let expect_api = if !vis {
                    StatusCode::NOT_FOUND
                } else if allowed {
                    match act {
                        Act::Delete => StatusCode::NO_CONTENT,
                        _ => StatusCode::OK,
                    }
                } else {
                    StatusCode::FORBIDDEN
                };
                let url = app.url(&format!("/api/v1/assets/{}", t.id));
                // The API.
                let resp = match act {
                    Act::Read => http.get(&url),
                    Act::Update => http.patch(&url).json(&json!({"comment": format!("by {who}")})),
                    Act::Reveal => http.post(format!("{url}/reveal-puk")),
                    Act::Delete => http.delete(&url),
                }
                .header("authorization", &bearer)
                .send()
                .await
                .unwrap();
                assert_eq!(resp.status(), expect_api, "{who}: API {act:?} on {t:?}");
                let body = resp.text().await.unwrap();
                if !vis {
                    assert!(!body.contains(&format!("\"id\":{}", t.id)), "{who}: 404 body leaks data");
                }
                if act == Act::Reveal && !allowed {
                    assert!(!body.contains("12345678"), "{who}: PUK leaked");
                }
                checked += 1;
                if act == Act::Delete && allowed {
                    deleted.insert(t.id.0);
                    continue; // gone: the page checks below would only see 404
                }
                // The pages (session cookie + CSRF token).
                let page = format!("/assets/{}", t.id);
                let resp = match act {
                    Act::Read => http.get(app.url(&page)).header("cookie", &cookie).send().await.unwrap(),
                    Act::Update => http
                        .post(app.url(&format!("{page}/edit")))
                        .header("cookie", &cookie)
                        .form(&[("csrf", s.session.1.as_str()), ("comment", "page edit")])
                        .send()
                        .await
                        .unwrap(),
                    Act::Reveal => http
                        .post(app.url(&format!("{page}/puk")))
                        .header("cookie", &cookie)
                        .form(&[("csrf", s.session.1.as_str())])
                        .send()
                        .await
                        .unwrap(),
                    Act::Delete => {
                        // Refused deletes must refuse on the page too (allowed ones were done by the API).
                        http.post(app.url(&format!("{page}/delete")))
                            .header("cookie", &cookie)
                            .form(&[("csrf", s.session.1.as_str())])
                            .send()
                            .await
                            .unwrap()
                    }
                };
                let expect_page = if !vis {
                    StatusCode::NOT_FOUND
                } else if allowed {
                    match act {
                        Act::Update => StatusCode::SEE_OTHER,
                        _ => StatusCode::OK,
                    }
                } else {
                    StatusCode::FORBIDDEN
                };
                assert_eq!(resp.status(), expect_page, "{who}: page {act:?} on {t:?}");
                let body = resp.text().await.unwrap();
                if act == Act::Reveal && !allowed {
                    assert!(!body.contains("12345678"), "{who}: PUK leaked on page");
                }
                checked += 1;
            }
        }
    }
    // Every refused write left the objects untouched: B's assets were never changed.
    let mut c = app.db.store.read().await.unwrap();
    for t in all.iter().filter(|t| t.entity == tree.b) {
        let a = assets::get(&mut c, t.id).await.unwrap().expect("B's assets are never deleted");
        assert_eq!(a.comment, None, "B's asset {:?} was modified", t);
    }
    eprintln!("permission matrix: {checked} checks");
    assert!(checked > 300);
}

/// The same matrix for entities, locations and users (API and pages).
#[tokio::test]
async fn no_cross_entity_access_to_entities_locations_users() {
    use parc_store::locations::{self, LocationInput};
    use parc_store::users::{self as store_users, UserInput};

    #[derive(Clone, Copy, Debug, PartialEq)]
    enum Kind {
        Entity,
        Location,
        User,
    }
    /// The product's rights for these objects, written independently of parc-core.
    fn may(p: Profile, k: Kind, a: Act) -> bool {
        use Profile::*;
        match (k, a) {
            (Kind::User, Act::Read) => p != Requester,
            (_, Act::Read) => true,
            (Kind::Entity, Act::Update) | (Kind::User, Act::Update) => matches!(p, SuperAdmin | Admin),
            (Kind::Location, Act::Update) => matches!(p, SuperAdmin | Admin | Technician),
            (Kind::Location, Act::Delete) => matches!(p, SuperAdmin | Admin),
            _ => false,
        }
    }

    let app = TestApp::sqlite().await;
    let r = app.entity("R", None).await;
    let a = app.entity("A", Some(r)).await;
    let a1 = app.entity("A1", Some(a)).await;
    let b = app.entity("B", Some(r)).await;
    let tree = Tree { a, a1, b };
    let http = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let actor = Actor::system("test");
    let mut checked = 0;

    for profile in Profile::ALL {
        for recursive in [false, true] {
            let login = format!("{}-{}", profile.as_str(), recursive);
            let (uid, token) = app.user(&login, a, &[(a, *profile, recursive)]).await;
            let (cookie, _) = app.session(uid).await;
            let bearer = format!("Bearer {token}");
            let cookie = format!("parc_session={cookie}");
            let who = format!("{profile:?} recursive={recursive}");
            // Throw-away objects of this subject in A, A1 and B.
            let mut objects: Vec<(Kind, i64, EntityId)> =
                vec![(Kind::Entity, a.0, a), (Kind::Entity, a1.0, a1), (Kind::Entity, b.0, b)];
            for e in [a, a1, b] {
                let mut tx = app.db.store.write().await.unwrap();
                let l = locations::create(
                    &mut tx,
                    &actor,
                    &LocationInput {
                        entity_id: Some(e.0),
                        kind: Some("site".into()),
                        name: Some(format!("site {login} {e}")),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
                let u = store_users::create(
                    &mut tx,
                    &actor,
                    &UserInput { login: Some(format!("u-{login}-{e}")), entity_id: Some(e.0), ..Default::default() },
                    None,
                )
                .await
                .unwrap();
                tx.commit().await.unwrap();
                objects.push((Kind::Location, l.id.0, e));
                objects.push((Kind::User, u.id.0, e));
            }
            // Lists show nothing of B (nor of A1 without recursion).
            for (path, kind) in [
                ("/api/v1/entities", Kind::Entity),
                ("/api/v1/locations", Kind::Location),
                ("/api/v1/users?limit=500", Kind::User),
            ] {
                let resp = http.get(app.url(path)).header("authorization", &bearer).send().await.unwrap();
                let v: Value = resp.json().await.unwrap();
                let items = v.get("items").cloned().unwrap_or(v.clone());
                let listed: BTreeSet<i64> =
                    items.as_array().map(|x| x.iter().filter_map(|i| i["id"].as_i64()).collect()).unwrap_or_default();
                for (k, id, e) in objects.iter().filter(|o| o.0 == kind) {
                    let expect = covers(&tree, recursive, *e) && may(*profile, *k, Act::Read);
                    assert_eq!(listed.contains(id), expect, "{who}: {path} lists {k:?} {id} in {e}");
                    checked += 1;
                }
            }
            for (kind, id, e) in &objects {
                let base = match kind {
                    Kind::Entity => "entities",
                    Kind::Location => "locations",
                    Kind::User => "users",
                };
                let url = app.url(&format!("/api/v1/{base}/{id}"));
                let visible = covers(&tree, recursive, *e) && may(*profile, *kind, Act::Read);
                let acts: &[Act] = match kind {
                    Kind::Location => &[Act::Read, Act::Update, Act::Delete],
                    _ => &[Act::Read, Act::Update],
                };
                for act in acts {
                    let allowed = visible && may(*profile, *kind, *act);
                    let body = match kind {
                        Kind::User => json!({"phone": "7000"}),
                        _ => json!({"comment": format!("by {who}")}),
                    };
                    let resp = match act {
                        Act::Read => http.get(&url),
                        Act::Update => http.patch(&url).json(&body),
                        _ => http.delete(&url),
                    }
                    .header("authorization", &bearer)
                    .send()
                    .await
                    .unwrap();
                    let want = if !visible {
                        StatusCode::NOT_FOUND
                    } else if !allowed {
                        StatusCode::FORBIDDEN
                    } else if *act == Act::Delete {
                        StatusCode::NO_CONTENT
                    } else {
                        StatusCode::OK
                    };
                    assert_eq!(resp.status(), want, "{who}: API {act:?} {kind:?} {id} in {e}");
                    checked += 1;
                }
                // The object's page.
                if !(kind == &Kind::Location && visible && may(*profile, *kind, Act::Delete)) {
                    let page =
                        http.get(app.url(&format!("/{base}/{id}"))).header("cookie", &cookie).send().await.unwrap();
                    let want = if visible { StatusCode::OK } else { StatusCode::NOT_FOUND };
                    assert_eq!(page.status(), want, "{who}: page {kind:?} {id} in {e}");
                    checked += 1;
                }
            }
        }
    }
    // B's entity was never changed by anyone without rights on B.
    let mut c = app.db.store.read().await.unwrap();
    assert_eq!(parc_store::entities::get(&mut c, b).await.unwrap().unwrap().comment, None);
    eprintln!("entity/location/user matrix: {checked} checks");
    assert!(checked > 300);
}
