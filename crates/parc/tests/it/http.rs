//! End-to-end HTTP over a real socket: sign-in, sessions, CSRF, throttling, the asset API and
//! its bad inputs, on SQLite and PostgreSQL.

use crate::app::{browser_like_client, csrf_in, get_json, TestApp, PASSWORD};
use parc_core::permissions::Profile;
use parc_store::testing::TestDb;
use reqwest::StatusCode;
use serde_json::{json, Value};

async fn sign_in(app: &TestApp, login: &str, password: &str) -> (reqwest::Client, reqwest::Response) {
    let client = browser_like_client();
    let page = client.get(app.url("/login")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let csrf = csrf_in(&page.text().await.unwrap());
    let resp = client
        .post(app.url("/login"))
        .form(&[("login", login), ("password", password), ("csrf", csrf.as_str()), ("next", "/assets")])
        .send()
        .await
        .unwrap();
    (client, resp)
}

#[tokio::test]
async fn sign_in_session_and_sign_out() {
    let app = TestApp::sqlite().await;
    let root = app.entity("Mairie", None).await;
    app.user("agent", root, &[(root, Profile::Technician, true)]).await;

    // Wrong password and unknown account answer the same way.
    let (_, bad) = sign_in(&app, "agent", "wrong password!").await;
    assert_eq!(bad.status(), StatusCode::UNAUTHORIZED);
    let bad_text = bad.text().await.unwrap();
    let (_, unknown) = sign_in(&app, "nobody", "wrong password!").await;
    assert_eq!(unknown.status(), StatusCode::UNAUTHORIZED);
    assert!(bad_text.contains("Identifiant ou mot de passe incorrect"));
    assert!(unknown.text().await.unwrap().contains("Identifiant ou mot de passe incorrect"));

    let (client, ok) = sign_in(&app, "agent", PASSWORD).await;
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    assert_eq!(ok.headers()["location"], "/assets");
    let cookie = ok
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("parc_session="))
        .unwrap();
    assert!(cookie.contains("HttpOnly") && cookie.contains("SameSite=Lax"), "{cookie}");
    assert!(!cookie.contains("Secure"), "plain HTTP: no Secure flag");
    // Behind a TLS-terminating proxy the cookie is Secure.
    let client2 = browser_like_client();
    let csrf2 = csrf_in(&client2.get(app.url("/login")).send().await.unwrap().text().await.unwrap());
    let tls = client2
        .post(app.url("/login"))
        .header("x-forwarded-proto", "https")
        .form(&[("login", "agent"), ("password", PASSWORD), ("csrf", csrf2.as_str())])
        .send()
        .await
        .unwrap();
    let tls_cookie = tls
        .headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap().to_owned())
        .find(|c| c.starts_with("parc_session="))
        .unwrap();
    assert!(tls_cookie.contains("Secure"), "{tls_cookie}");

    let dash = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(dash.status(), StatusCode::OK);
    let html = dash.text().await.unwrap();
    assert!(html.contains("Tableau de bord"));
    let csrf = csrf_in(&html);

    // A state-changing form without the CSRF token, or from another origin, is refused.
    let no_csrf = client.post(app.url("/logout")).form(&[("x", "1")]).send().await.unwrap();
    assert_eq!(no_csrf.status(), StatusCode::FORBIDDEN);
    let cross = client
        .post(app.url("/logout"))
        .header("origin", "https://evil.example")
        .form(&[("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(cross.status(), StatusCode::FORBIDDEN);

    let out = client.post(app.url("/logout")).form(&[("csrf", csrf.as_str())]).send().await.unwrap();
    assert_eq!(out.status(), StatusCode::SEE_OTHER);
    let after = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(after.status(), StatusCode::SEE_OTHER);
    assert!(after.headers()["location"].to_str().unwrap().starts_with("/login"));
}

#[tokio::test]
async fn repeated_failures_are_slowed_down() {
    let app = TestApp::sqlite().await;
    let root = app.entity("Mairie", None).await;
    app.user("victim", root, &[(root, Profile::Observer, false)]).await;
    for _ in 0..5 {
        let (_, r) = sign_in(&app, "victim", "not the password").await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    }
    let (_, r) = sign_in(&app, "victim", "not the password").await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    // Now blocked, even with the right password.
    let (_, r) = sign_in(&app, "VICTIM", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);
    assert!(r.headers().contains_key("retry-after"));
}

async fn api_story(app: &TestApp) {
    let county = app.entity("Département", None).await;
    let school = app.entity("Collège Jean Moulin", Some(county)).await;
    let (_, token) = app.user("tech", county, &[(county, Profile::Technician, true)]).await;
    let http = reqwest::Client::new();
    let auth = format!("Bearer {token}");
    let count = || async {
        let v: Value = get_json(&http, &app.url("/api/v1/assets"), &auth).await;
        v["total"].as_i64().unwrap()
    };

    let created = http
        .post(app.url("/api/v1/assets"))
        .header("authorization", &auth)
        .json(&json!({"kind": "mobile_phone", "entity_id": school.0, "name": "Galaxy A15 CPE", "asset_tag": "GPI-0042", "imei": "490154203237518"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    let a: Value = created.json().await.unwrap();
    let id = a["id"].as_i64().unwrap();
    assert_eq!(a["entity_name"], "Collège Jean Moulin");
    assert_eq!(count().await, 1);

    // Bad inputs: clear 4xx, nothing written.
    let cases: Vec<(reqwest::RequestBuilder, StatusCode)> = vec![
        (http.post(app.url("/api/v1/assets")).json(&json!({"kind": "mobile_phone", "entity_id": school.0, "name": "x", "imei": "490154203237519"})), StatusCode::UNPROCESSABLE_ENTITY),
        (http.post(app.url("/api/v1/assets")).json(&json!({"kind": "toaster", "entity_id": school.0, "name": "x"})), StatusCode::UNPROCESSABLE_ENTITY),
        (http.post(app.url("/api/v1/assets")).json(&json!({"kind": "computer", "entity_id": "one", "name": "x"})), StatusCode::BAD_REQUEST),
        (http.post(app.url("/api/v1/assets")).json(&json!({"kind": "computer", "entity_id": school.0, "name": "x", "colour": "red"})), StatusCode::BAD_REQUEST),
        (http.post(app.url("/api/v1/assets")).header("content-type", "application/json").body("{\"kind\": \"computer\","), StatusCode::BAD_REQUEST),
        (http.post(app.url("/api/v1/assets")).header("content-type", "application/json").body(vec![b'{', b'"', 0xff, 0xfe, b'"', b':', b'1', b'}']), StatusCode::BAD_REQUEST),
        (http.post(app.url("/api/v1/assets")).header("content-type", "application/json").body(vec![b' '; 30 * 1024 * 1024]), StatusCode::PAYLOAD_TOO_LARGE),
        (http.post(app.url("/api/v1/assets")).json(&json!({"kind": "computer", "entity_id": school.0, "name": "dup", "asset_tag": "GPI-0042"})), StatusCode::UNPROCESSABLE_ENTITY),
        (http.post(app.url("/api/v1/assets")).json(&json!({"kind": "computer", "entity_id": school.0, "name": "x'); DROP TABLE assets;--", "ip": "1.2.3.4; DROP TABLE assets"})), StatusCode::UNPROCESSABLE_ENTITY),
        (http.get(app.url("/api/v1/assets?sort=password")), StatusCode::UNPROCESSABLE_ENTITY),
        (http.get(app.url("/api/v1/assets?entity_id=1%20OR%201=1")), StatusCode::UNPROCESSABLE_ENTITY),
        (http.get(app.url("/api/v1/assets/abc")), StatusCode::BAD_REQUEST),
        (http.get(app.url("/api/v1/assets/999999")), StatusCode::NOT_FOUND),
    ];
    for (i, (req, want)) in cases.into_iter().enumerate() {
        let r = req.header("authorization", &auth).send().await.unwrap();
        assert_eq!(r.status(), want, "case {i}");
        if r.status() != StatusCode::PAYLOAD_TOO_LARGE {
            let body: Value = r.json().await.unwrap_or_else(|e| panic!("case {i}: error body is JSON: {e}"));
            assert!(body["error"]["code"].is_string(), "case {i}: {body}");
            assert!(body["error"]["message"].is_string(), "case {i}: {body}");
        }
    }
    let v: Value = http
        .post(app.url("/api/v1/assets"))
        .header("authorization", &auth)
        .json(&json!({"kind": "mobile_phone", "entity_id": school.0, "name": "x", "imei": "490154203237519"}))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["error"]["code"], "validation");
    assert_eq!(v["error"]["details"]["fields"][0]["field"], "imei");
    assert_eq!(v["error"]["details"]["fields"][0]["code"], "imei_luhn");
    assert_eq!(count().await, 1, "failed requests wrote nothing");

    // Update, history, search.
    let r = http
        .patch(app.url(&format!("/api/v1/assets/{id}")))
        .header("authorization", &auth)
        .json(&json!({"status": "in_repair"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
    let h: Value = get_json(&http, &app.url(&format!("/api/v1/assets/{id}/history")), &auth).await;
    assert_eq!(h[0]["action"], "update");
    assert_eq!(h[0]["changes"][0]["field"], "status");
    assert_eq!(h[0]["changes"][0]["old"], "in_stock");
    assert_eq!(h[0]["actor_label"], "tech");
    let s: Value = get_json(&http, &app.url("/api/v1/search?q=4901542032"), &auth).await;
    assert_eq!(s["items"][0]["id"], id);

    // Without a token: 401 in the error shape.
    let r = http.get(app.url("/api/v1/assets")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "unauthorized");

    // The OpenAPI document is served and lists the asset paths.
    let doc: Value = http.get(app.url("/api/v1/openapi.json")).send().await.unwrap().json().await.unwrap();
    assert!(doc["paths"]["/assets"]["get"].is_object());
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."));

    let r = http.delete(app.url(&format!("/api/v1/assets/{id}"))).header("authorization", &auth).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::NO_CONTENT);
    assert_eq!(count().await, 0);
}

#[tokio::test]
async fn api_on_sqlite() {
    api_story(&TestApp::sqlite().await).await;
}

#[tokio::test]
async fn api_on_postgres() {
    match TestDb::postgres().await {
        Some(db) => api_story(&TestApp::start(db).await).await,
        None => eprintln!("SKIPPED api_on_postgres: PostgreSQL unreachable"),
    }
}

#[tokio::test]
async fn health_and_internal_errors() {
    let app = TestApp::sqlite().await;
    let root = app.entity("Mairie", None).await;
    let (_, token) = app.user("tech", root, &[(root, Profile::Technician, true)]).await;
    let http = reqwest::Client::new();
    assert_eq!(http.get(app.url("/healthz")).send().await.unwrap().status(), StatusCode::OK);
    // With the database gone, health says so and errors carry a request id.
    app.db.store.close().await;
    assert_eq!(http.get(app.url("/healthz")).send().await.unwrap().status(), StatusCode::SERVICE_UNAVAILABLE);
    let r =
        http.get(app.url("/api/v1/assets")).header("authorization", format!("Bearer {token}")).send().await.unwrap();
    assert_eq!(r.status(), StatusCode::INTERNAL_SERVER_ERROR);
    let rid = r.headers()["x-request-id"].to_str().unwrap().to_owned();
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["details"]["request_id"], rid.as_str());
    assert!(!v.to_string().contains("sqlite"), "no internal detail leaks: {v}");
}

#[tokio::test]
async fn asset_pages_end_to_end() {
    let app = TestApp::sqlite().await;
    let root = app.entity("Mairie de Saint-Aubin", None).await;
    let (uid, _) = app.user("tech", root, &[(root, Profile::Technician, true)]).await;
    let (_, r) = sign_in(&app, "tech", PASSWORD).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let _ = uid;
    let (client, _) = sign_in(&app, "tech", PASSWORD).await;
    let form = client.get(app.url("/assets/new")).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_in(&form);
    let root_s = root.0.to_string();
    // An invalid MAC re-displays the form with the message next to the field.
    let bad = client
        .post(app.url("/assets/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("kind", "computer"),
            ("entity_id", root_s.as_str()),
            ("name", "PC-ACCUEIL-01"),
            ("mac", "zz:zz"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(bad.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let html = bad.text().await.unwrap();
    assert!(html.contains("Adresse MAC invalide"), "{html}");
    assert!(html.contains("PC-ACCUEIL-01"), "values are kept");
    let ok = client
        .post(app.url("/assets/new"))
        .form(&[
            ("csrf", csrf.as_str()),
            ("kind", "computer"),
            ("entity_id", root_s.as_str()),
            ("name", "PC-ACCUEIL-01"),
            ("asset_tag", "GPI-7"),
            ("mac", "AA-BB-CC-00-11-22"),
            ("ip", "192.168.207.14"),
            ("status", "in_use"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(ok.status(), StatusCode::SEE_OTHER);
    let loc = ok.headers()["location"].to_str().unwrap().to_owned();
    let page = client.get(app.url(&loc)).send().await.unwrap().text().await.unwrap();
    assert!(page.contains("aa:bb:cc:00:11:22") && page.contains("Historique"));
    assert!(
        page.contains("<td>En service</td>") && !page.contains("<td>in_use</td>"),
        "history shows translated codes"
    );
    // The dashboard lists the latest changes (the creation), not sign-ins.
    let dash = client.get(app.url("/")).send().await.unwrap().text().await.unwrap();
    assert!(dash.contains("Création") && !dash.contains("Connexion"), "{dash}");
    // The global search goes straight to an exact hit.
    let s = client.get(app.url("/search?q=192.168.207.14")).send().await.unwrap();
    assert_eq!(s.status(), StatusCode::SEE_OTHER);
    let list = client.get(app.url("/assets?q=accueil")).send().await.unwrap().text().await.unwrap();
    assert!(list.contains("PC-ACCUEIL-01"));
    // English on demand.
    let csrf = csrf_in(&list);
    let sw =
        client.post(app.url("/lang/en")).form(&[("csrf", csrf.as_str()), ("next", "/assets")]).send().await.unwrap();
    assert_eq!(sw.status(), StatusCode::SEE_OTHER);
    let en = client.get(app.url("/assets")).send().await.unwrap().text().await.unwrap();
    assert!(en.contains("<html lang=\"en\">") && en.contains("Assets"));
    // Unknown pages: a 404 page in the user's language.
    let nf = client.get(app.url("/no/such/page")).send().await.unwrap();
    assert_eq!(nf.status(), StatusCode::NOT_FOUND);
    assert!(nf.text().await.unwrap().contains("<html"));
}

#[tokio::test]
async fn links_never_reveal_assets_out_of_scope() {
    let app = TestApp::sqlite().await;
    let county = app.entity("Département", None).await;
    let a = app.entity("Collège A", Some(county)).await;
    let b = app.entity("Collège B", Some(county)).await;
    let (_, county_tok) = app.user("dsi", county, &[(county, Profile::Technician, true)]).await;
    let (a_user, a_tok) = app.user("tech-a", a, &[(a, Profile::Technician, false)]).await;
    let http = reqwest::Client::new();
    let create = |body: Value| {
        let http = http.clone();
        let url = app.url("/api/v1/assets");
        let tok = county_tok.clone();
        async move { http.post(url).bearer_auth(tok).json(&body).send().await.unwrap().json::<Value>().await.unwrap() }
    };
    let sim = create(json!({"kind": "sim_card", "entity_id": a.0, "name": "SIM A"})).await;
    let phone = create(json!({"kind": "mobile_phone", "entity_id": b.0, "name": "Secret phone of B"})).await;
    let r = http
        .post(app.url(&format!("/api/v1/assets/{}/links", sim["id"])))
        .bearer_auth(&county_tok)
        .json(&json!({"to_asset_id": phone["id"]}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::CREATED);
    let links: Value =
        get_json(&http, &app.url(&format!("/api/v1/assets/{}/links", sim["id"])), &format!("Bearer {a_tok}")).await;
    assert_eq!(links.as_array().unwrap().len(), 0, "{links}");
    let (cookie, _) = app.session(a_user).await;
    let page = http
        .get(app.url(&format!("/assets/{}", sim["id"])))
        .header("cookie", format!("parc_session={cookie}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains("SIM A") && !page.contains("Secret phone of B"));
    let county_links: Value =
        get_json(&http, &app.url(&format!("/api/v1/assets/{}/links", sim["id"])), &format!("Bearer {county_tok}"))
            .await;
    assert_eq!(county_links[0]["to_name"], "Secret phone of B");
}
