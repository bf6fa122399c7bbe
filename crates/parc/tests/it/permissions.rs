//! The generated permission matrix: every profile x recursive flag, granted on entity A of the
//! tree R > {A > A1, B}, tries every action on assets of A, A1 and B (and on its own asset),
//! through the API and through the pages. The expectations come from a table written here,
//! independently of parc-core's rules, and no cross-entity read or write may succeed.

use crate::app::TestApp;
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
    let id = assets::create(&mut tx, &Actor::system("test"), app.db.store.cipher(), &input.validate(None).unwrap()).await.unwrap();
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
        let v: Value = http.get(app.url("/api/v1/assets?per_page=500")).header("authorization", &bearer).send().await.unwrap().json().await.unwrap();
        let listed: BTreeSet<i64> = v["items"].as_array().unwrap().iter().map(|a| a["id"].as_i64().unwrap()).collect();
        let expected: BTreeSet<i64> = all.iter().filter(|t| !deleted.contains(&t.id.0) && visible(&tree, s, t)).map(|t| t.id.0).collect();
        assert_eq!(listed, expected, "{who}: API list");
        let html = http.get(app.url("/assets?per_page=500")).header("cookie", &cookie).send().await.unwrap().text().await.unwrap();
        for t in all.iter().filter(|t| !deleted.contains(&t.id.0)) {
            let shown = html.contains(&format!("href=\"/assets/{}\"", t.id));
            assert_eq!(shown, visible(&tree, s, t), "{who}: page list, asset {:?}", t);
        }
        let b_tag = format!("{}-{}-B", s.profile.as_str(), s.recursive);
        let found: Value = http.get(app.url(&format!("/api/v1/search?q={b_tag}"))).header("authorization", &bearer).send().await.unwrap().json().await.unwrap();
        assert!(found["items"].as_array().unwrap().is_empty(), "{who}: search leaks B");
        checked += 3;

        for t in &s.targets {
            let vis = visible(&tree, s, t);
            for act in [Act::Read, Act::Update, Act::Reveal, Act::Delete] {
                let allowed = vis && profile_may(s.profile, act);
                let expect_api = if !vis { StatusCode::NOT_FOUND } else if allowed {
                    match act { Act::Delete => StatusCode::NO_CONTENT, _ => StatusCode::OK }
                } else { StatusCode::FORBIDDEN };
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
                    Act::Update => http.post(app.url(&format!("{page}/edit"))).header("cookie", &cookie)
                        .form(&[("csrf", s.session.1.as_str()), ("comment", "page edit")]).send().await.unwrap(),
                    Act::Reveal => http.post(app.url(&format!("{page}/puk"))).header("cookie", &cookie)
                        .form(&[("csrf", s.session.1.as_str())]).send().await.unwrap(),
                    Act::Delete => {
                        // Refused deletes must refuse on the page too (allowed ones were done by the API).
                        http.post(app.url(&format!("{page}/delete"))).header("cookie", &cookie)
                            .form(&[("csrf", s.session.1.as_str())]).send().await.unwrap()
                    }
                };
                let expect_page = if !vis { StatusCode::NOT_FOUND } else if allowed {
                    match act { Act::Update => StatusCode::SEE_OTHER, _ => StatusCode::OK }
                } else { StatusCode::FORBIDDEN };
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
