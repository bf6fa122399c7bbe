//! Import, export and labels, end to end through the in-process router.

use axum::body::Body;
use axum::http::{header, Request, StatusCode};
use axum::Router;
use http_body_util::BodyExt;
use parc_core::assets::AssetInput;
use parc_core::permissions::{Grant, Profile, Scope};
use parc_core::query::AssetQuery;
use parc_core::{EntityId, UserId};
use parc_docs::table::{read_any, write_csv, Limits, Table};
use parc_store::assets::{self, Asset};
use parc_store::entities::{self, EntityInput};
use parc_store::locations::{self, LocationInput};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_store::Actor;
use tower::ServiceExt;

const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

struct App {
    db: TestDb,
    router: Router,
    county: EntityId,
    school_a: EntityId,
    school_b: EntityId,
    admin_token: String,
    admin: UserId,
    tech_token: String,
}

struct Reply {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Reply {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| panic!("not JSON ({e}): {}", self.text()))
    }

    fn header(&self, name: header::HeaderName) -> &str {
        self.headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }
}

fn actor() -> Actor {
    Actor::system("test")
}

async fn setup() -> App {
    let db = TestDb::sqlite().await;
    let mut tx = db.store.write().await.unwrap();
    let entity = |name: &str, parent: Option<EntityId>| EntityInput {
        name: Some(name.into()),
        parent_id: parent.map(|p| p.0),
        comment: None,
    };
    let county = entities::create(&mut tx, &actor(), &entity("Département", None)).await.unwrap().id;
    let school_a = entities::create(&mut tx, &actor(), &entity("École A", Some(county))).await.unwrap().id;
    let school_b = entities::create(&mut tx, &actor(), &entity("École B", Some(county))).await.unwrap().id;
    let user = |login: &str, entity: EntityId| UserInput {
        login: Some(login.into()),
        display_name: Some(format!("User {login}")),
        entity_id: Some(entity.0),
        ..Default::default()
    };
    let admin = users::create(&mut tx, &actor(), &user("admin", county), None).await.unwrap();
    let grant = |entity_id, profile, recursive| Grant { entity_id, profile, recursive };
    users::set_grants(&mut tx, &actor(), admin.id, &[grant(county, Profile::SuperAdmin, true)]).await.unwrap();
    let (_, admin_token) = users::create_token(&mut tx, &actor(), admin.id, "test").await.unwrap();
    let tech = users::create(&mut tx, &actor(), &user("tech.a", school_a), None).await.unwrap();
    users::set_grants(&mut tx, &actor(), tech.id, &[grant(school_a, Profile::Technician, false)]).await.unwrap();
    let (_, tech_token) = users::create_token(&mut tx, &actor(), tech.id, "test").await.unwrap();
    tx.commit().await.unwrap();
    let state = parc_web::AppState::new(db.store.clone(), parc_web::WebConfig::default()).await.unwrap();
    App { router: parc_web::router(state), db, county, school_a, school_b, admin_token, admin: admin.id, tech_token }
}

impl App {
    async fn send(&self, req: axum::http::request::Builder, body: Vec<u8>) -> Reply {
        let resp = self.router.clone().oneshot(req.body(Body::from(body)).unwrap()).await.unwrap();
        let status = resp.status();
        let headers = resp.headers().clone();
        let body = resp.into_body().collect().await.unwrap().to_bytes().to_vec();
        Reply { status, headers, body }
    }

    async fn get(&self, uri: &str, token: &str) -> Reply {
        let req = Request::get(uri).header(header::AUTHORIZATION, format!("Bearer {token}"));
        self.send(req, Vec::new()).await
    }

    async fn post(&self, uri: &str, token: &str, content_type: &str, body: Vec<u8>) -> Reply {
        let req = Request::post(uri)
            .header(header::AUTHORIZATION, format!("Bearer {token}"))
            .header(header::CONTENT_TYPE, content_type);
        self.send(req, body).await
    }

    async fn create(&self, input: AssetInput) -> Asset {
        let mut tx = self.db.store.write().await.unwrap();
        let id =
            assets::create(&mut tx, &actor(), self.db.store.cipher(), &input.validate(None).unwrap()).await.unwrap();
        let a = assets::get(&mut tx, id).await.unwrap().unwrap();
        tx.commit().await.unwrap();
        a
    }

    /// Every asset of an entity, straight from the store.
    async fn assets_of(&self, entity: EntityId) -> Vec<Asset> {
        let mut c = self.db.store.read().await.unwrap();
        let scope = Scope { full: [entity].into(), own_only: Default::default() };
        let q = AssetQuery::default();
        assets::list_all(&mut c, self.db.store.backend(), &scope, self.admin, &q, 100_000).await.unwrap()
    }

    async fn site(&self, entity: EntityId, name: &str) {
        let mut tx = self.db.store.write().await.unwrap();
        let input = LocationInput {
            entity_id: Some(entity.0),
            kind: Some("site".into()),
            name: Some(name.into()),
            ..Default::default()
        };
        locations::create(&mut tx, &actor(), &input).await.unwrap();
        tx.commit().await.unwrap();
    }
}

fn asset(entity: EntityId, kind: &str, name: &str, tag: &str) -> AssetInput {
    AssetInput {
        kind: Some(kind.into()),
        entity_id: Some(entity.0),
        name: Some(name.into()),
        asset_tag: (!tag.is_empty()).then(|| tag.into()),
        status: Some("in_use".into()),
        ..Default::default()
    }
}

fn table(bytes: &[u8]) -> Table {
    read_any(bytes, &Limits::default()).expect("a readable export")
}

/// The rows of an export without the columns that differ between entities (id, entity).
fn comparable(t: &Table) -> Vec<Vec<String>> {
    let skip = [t.column("id").unwrap(), t.column("entity").unwrap()];
    let mut rows: Vec<Vec<String>> = t
        .rows
        .iter()
        .map(|r| r.cells.iter().enumerate().filter(|(i, _)| !skip.contains(i)).map(|(_, c)| c.clone()).collect())
        .collect();
    rows.sort();
    rows
}

/// The export without its `entity` column, so that an import puts the rows in its default entity.
fn without_entity(t: &Table) -> Vec<u8> {
    let e = t.column("entity").unwrap();
    let keep = |cells: &[String]| {
        cells.iter().enumerate().filter(|(i, _)| *i != e).map(|(_, c)| c.clone()).collect::<Vec<_>>()
    };
    let rows: Vec<Vec<String>> = t.rows.iter().map(|r| keep(&r.cells)).collect();
    write_csv(&keep(&t.headers), &rows)
}

async fn sample_assets(app: &App) {
    app.site(app.school_a, "Site principal").await;
    let site = {
        let mut c = app.db.store.read().await.unwrap();
        locations::list(&mut c, &[app.school_a.0]).await.unwrap()[0].id
    };
    let mut pc = asset(app.school_a, "computer", "PC-CDI-01", "GPI-0001");
    pc.serial = Some("SN-001".into());
    pc.manufacturer = Some("Dell".into());
    pc.model = Some("OptiPlex 7010".into());
    pc.ip = Some("192.168.207.10".into());
    pc.mac = Some("aa:bb:cc:dd:ee:01".into());
    pc.location_id = Some(site.0);
    pc.assigned_user_id = Some(app.admin.0);
    pc.purchase_date = Some("2023-09-01".into());
    pc.warranty_end = Some("2026-09-01".into());
    pc.supplier = Some("UGAP".into());
    pc.comment = Some("Écran « 27\" », salle 2;\nclé =SOMME(A1)".into());
    app.create(pc).await;
    let mut phone = asset(app.school_a, "mobile_phone", "Samsung A15", "GPI-0002");
    phone.imei = Some("490154203237518".into());
    app.create(phone).await;
    let mut sim = asset(app.school_a, "sim_card", "SIM 06", "");
    sim.iccid = Some("8933150319080000009".into());
    sim.line_number = Some("06 12 34 56 78".into());
    sim.puk = Some("12345678".into());
    app.create(sim).await;
    let mut line = asset(app.school_a, "phone_line", "Ligne accueil", "L-01");
    line.line_type = Some("sip".into());
    line.line_number = Some("1014".into());
    app.create(line).await;
}

#[tokio::test]
async fn export_then_import_recreates_assets_elsewhere() {
    let app = setup().await;
    sample_assets(&app).await;
    let school_c = {
        let mut tx = app.db.store.write().await.unwrap();
        let input = EntityInput { name: Some("École C".into()), parent_id: Some(app.county.0), comment: None };
        let e = entities::create(&mut tx, &actor(), &input).await.unwrap().id;
        tx.commit().await.unwrap();
        e
    };
    app.site(app.school_b, "Site principal").await;
    app.site(school_c, "Site principal").await;

    // CSV export of school A.
    let csv = app.get(&format!("/api/v1/assets/export?format=csv&entity_id={}", app.school_a), &app.admin_token).await;
    assert_eq!(csv.status, StatusCode::OK, "{}", csv.text());
    assert!(csv.header(header::CONTENT_TYPE).starts_with("text/csv"));
    let disposition = csv.header(header::CONTENT_DISPOSITION);
    assert!(
        disposition.starts_with("attachment; filename=\"parc-assets-20") && disposition.ends_with(".csv\""),
        "{disposition}"
    );
    assert!(!csv.text().contains("12345678"), "the PUK is never exported");
    let exported = table(&csv.body);
    let expected =
        "id kind name asset_tag serial manufacturer model status entity location assigned_user purchase_date \
                    warranty_end supplier comment imei iccid line_number line_type ip mac";
    assert_eq!(exported.headers.join(" "), expected);
    assert_eq!(exported.rows.len(), 4);
    let pc = exported.rows.iter().find(|r| r.cells.contains(&"GPI-0001".to_owned())).unwrap();
    let cell = |name: &str| pc.cells[exported.column(name).unwrap()].clone();
    assert_eq!(cell("entity"), "École A");
    assert_eq!(cell("location"), "Site principal");
    assert_eq!(cell("assigned_user"), "admin");

    // Dry run into school B: all valid, nothing written.
    let body = without_entity(&exported);
    let uri = format!("/api/v1/assets/import?entity_id={}&dry_run=true", app.school_b);
    let r = app.post(&uri, &app.admin_token, "text/csv", body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let j = r.json();
    assert_eq!((j["created"].as_u64(), j["valid"].as_u64(), j["rows"].as_u64()), (Some(0), Some(4), Some(4)));
    assert_eq!(j["errors"], serde_json::json!([]));
    assert!(app.assets_of(app.school_b).await.is_empty());

    // Commit.
    let uri = format!("/api/v1/assets/import?entity_id={}", app.school_b);
    let r = app.post(&uri, &app.admin_token, "text/csv", body.clone()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    assert_eq!(r.json()["created"], 4);
    let b = app.get(&format!("/api/v1/assets/export?format=xlsx&entity_id={}", app.school_b), &app.admin_token).await;
    assert_eq!(b.header(header::CONTENT_TYPE), XLSX);
    assert_eq!(comparable(&table(&b.body)), comparable(&exported));
    // Importing the same file again: every tag is taken now.
    let r = app.post(&uri, &app.admin_token, "text/csv", body).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"].as_array().unwrap().len(), 3, "{}", r.text());
    assert_eq!(app.assets_of(app.school_b).await.len(), 4);

    // XLSX export of A, imported as is (with its entity column, named by id) into C.
    let xlsx =
        app.get(&format!("/api/v1/assets/export?format=xlsx&entity_id={}", app.school_a), &app.admin_token).await;
    assert_eq!(xlsx.status, StatusCode::OK);
    assert!(xlsx.body.starts_with(b"PK\x03\x04"));
    assert!(xlsx.header(header::CONTENT_DISPOSITION).ends_with(".xlsx\""));
    let mut t = table(&xlsx.body);
    let e = t.column("entity").unwrap();
    for row in &mut t.rows {
        row.cells[e] = school_c.to_string();
    }
    let body =
        parc_docs::table::write_xlsx("Parc", &t.headers, &t.rows.iter().map(|r| r.cells.clone()).collect::<Vec<_>>())
            .unwrap();
    let r = app.post("/api/v1/assets/import?dry_run=false", &app.admin_token, XLSX, body).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let c = app.get(&format!("/api/v1/assets/export?entity_id={school_c}"), &app.admin_token).await;
    assert_eq!(comparable(&table(&c.body)), comparable(&exported));
    assert_eq!(app.assets_of(app.school_a).await.len(), 4, "the source is untouched");
}

#[tokio::test]
async fn one_bad_row_creates_nothing() {
    let app = setup().await;
    app.create(asset(app.school_a, "computer", "Existing", "EXIST")).await;
    let csv = "Type;Nom;Code GPI;IMEI;Statut;N° de série\n\
               mobile_phone;Phone 1;T-1;490154203237518;in_use;S1\n\
               mobile_phone;Phone 2;T-2;490154203237519;En service;S2\n\
               Ordinateur;PC;T-1;;in_use;S3\n\
               computer;PC2;EXIST;;lost;S4\n";
    let uri = format!("/api/v1/assets/import?entity_id={}", app.school_a);
    let r = app.post(&uri, &app.admin_token, "text/csv; charset=utf-8", csv.into()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());
    let j = r.json();
    assert_eq!(j["created"], 0);
    let errors: Vec<(u64, String, String)> = j["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["line"].as_u64().unwrap(),
                e["column"].as_str().unwrap().to_owned(),
                e["code"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let expect = |line: u64, column: &str, code: &str| (line, column.to_owned(), code.to_owned());
    assert_eq!(
        errors,
        vec![
            expect(3, "IMEI", "imei_luhn"),
            expect(4, "Code GPI", "duplicate_in_file"),
            expect(5, "Statut", "unknown_value"),
            expect(5, "Code GPI", "tag_taken"),
        ],
        "{}",
        r.text()
    );
    assert!(j["errors"][0]["message"].as_str().unwrap().contains("IMEI"));
    assert_eq!(app.assets_of(app.school_a).await.len(), 1, "nothing was created");

    // Unknown and missing columns are reported on the header line.
    let r = app.post(&uri, &app.admin_token, "text/csv", "nom;prix\nPC;12\n".into()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let j = r.json();
    let codes: Vec<&str> = j["errors"].as_array().unwrap().iter().map(|e| e["code"].as_str().unwrap()).collect();
    assert_eq!(codes, ["unknown_column", "missing_column"]);
    assert_eq!((j["errors"][0]["line"].as_u64(), j["errors"][0]["column"].as_str()), (Some(1), Some("prix")));

    // A technician of school A cannot import into school B, not even through the entity column.
    let body = "kind;name;entity\ncomputer;PC;École B\n";
    let r = app.post(&uri, &app.tech_token, "text/csv", body.into()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.json()["errors"][0]["code"], "forbidden_entity");
    let uri_b = format!("/api/v1/assets/import?entity_id={}", app.school_b);
    let r = app.post(&uri_b, &app.tech_token, "text/csv", "kind;name\ncomputer;PC\n".into()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(app.assets_of(app.school_b).await.is_empty());
}

/// A zip archive whose directory declares a 200 MiB worksheet compressed into 16 bytes.
fn zip_bomb() -> Vec<u8> {
    let name = b"xl/worksheets/sheet1.xml";
    let data = [0u8; 16];
    let declared: u32 = 200 * 1024 * 1024;
    let u16le = |v: u16| v.to_le_bytes().to_vec();
    let u32le = |v: u32| v.to_le_bytes().to_vec();
    let mut local = [u32le(0x0403_4b50), u16le(20), u16le(0), u16le(8), u16le(0), u16le(0x21), u32le(0)].concat();
    local.extend([u32le(data.len() as u32), u32le(declared), u16le(name.len() as u16), u16le(0)].concat());
    local.extend_from_slice(name);
    local.extend_from_slice(&data);
    let mut central =
        [u32le(0x0201_4b50), u16le(20), u16le(20), u16le(0), u16le(8), u16le(0), u16le(0x21), u32le(0)].concat();
    central.extend([u32le(data.len() as u32), u32le(declared), u16le(name.len() as u16), u16le(0), u16le(0)].concat());
    central.extend([u16le(0), u16le(0), u32le(0), u32le(0)].concat());
    central.extend_from_slice(name);
    let end = [u32le(0x0605_4b50), u16le(0), u16le(0), u16le(1), u16le(1)].concat();
    let end = [end, u32le(central.len() as u32), u32le(local.len() as u32), u16le(0)].concat();
    [local, central, end].concat()
}

#[tokio::test]
async fn unreadable_files_are_refused_and_write_nothing() {
    let app = setup().await;
    let uri = format!("/api/v1/assets/import?entity_id={}", app.school_a);
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (XLSX, zip_bomb(), "refused for safety"),
        ("text/csv", b"kind;name\x00\x01\xff\xfe garbage".to_vec(), "encoding"),
        (XLSX, b"PK\x03\x04 not really a zip".to_vec(), "malformed"),
        ("application/vnd.ms-excel", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1rest".to_vec(), "legacy Excel"),
        ("text/csv", Vec::new(), "empty"),
        ("text/csv", b"kind;name\n".to_vec(), "empty"),
        ("multipart/form-data; boundary=x", b"--x--".to_vec(), "request body"),
    ];
    for (content_type, body, needle) in cases {
        let r = app.post(&uri, &app.admin_token, content_type, body).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{needle}: {}", r.text());
        let message = r.json()["error"]["message"].as_str().unwrap().to_owned();
        assert!(message.contains(needle), "{needle}: {message}");
    }
    // Above the body limit.
    let big = vec![b'a'; 26 * 1024 * 1024];
    let r = app.post(&uri, &app.admin_token, "text/csv", big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert!(app.assets_of(app.school_a).await.is_empty());
}

#[tokio::test]
async fn exports_stay_in_scope() {
    let app = setup().await;
    app.create(asset(app.school_a, "computer", "PC A", "A-1")).await;
    let b = app.create(asset(app.school_b, "computer", "PC B", "B-1")).await;
    for (format, uri) in
        [("csv", "/export/assets.csv"), ("xlsx", "/export/assets.xlsx"), ("csv", "/api/v1/assets/export")]
    {
        let r = app.get(uri, &app.tech_token).await;
        assert_eq!(r.status, StatusCode::OK, "{format} {uri}");
        let t = table(&r.body);
        let tags: Vec<&str> = t.rows.iter().map(|r| r.cells[t.column("asset_tag").unwrap()].as_str()).collect();
        assert_eq!(tags, ["A-1"], "{uri}");
    }
    let r = app.get(&format!("/api/v1/assets/export?entity_id={}", app.school_b), &app.tech_token).await;
    assert_eq!(table(&r.body).rows.len(), 0);
    let r = app.get(&format!("/api/v1/assets/export?id={}", b.id), &app.tech_token).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get(&format!("/api/v1/labels.pdf?id={}", b.id), &app.tech_token).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    let r = app.get("/api/v1/assets/export?format=pdf", &app.tech_token).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    // Documented.
    let doc = app.get("/api/v1/openapi.json", &app.tech_token).await.json();
    for path in ["/assets/export", "/assets/import", "/labels.pdf"] {
        assert!(doc["paths"][path].is_object(), "{path}");
    }
    let r = app
        .post("/api/v1/assets/import", &app.tech_token, "text/csv", "kind;name;entity\ncomputer;PC;Nowhere\n".into())
        .await;
    assert_eq!(r.json()["errors"][0]["code"], "unknown_entity");
    // The admin sees both.
    let r = app.get("/export/assets.csv", &app.admin_token).await;
    assert_eq!(table(&r.body).rows.len(), 2);
}

/// Pages of a PDF, counted on its page objects.
fn pages(pdf: &[u8]) -> usize {
    let text = String::from_utf8_lossy(pdf).replace("/Type/Page", "/Type /Page");
    text.matches("/Type /Page").count() - text.matches("/Type /Pages").count()
}

#[tokio::test]
async fn labels_pdf() {
    let app = setup().await;
    let mut first = None;
    for i in 1..=30 {
        let a = app.create(asset(app.school_a, "computer", &format!("PC {i}"), &format!("GPI-{i:03}"))).await;
        first.get_or_insert(a);
    }
    let first = first.unwrap();
    let base = format!("/api/v1/labels.pdf?entity_id={}", app.school_a);
    for (query, expected) in [("", 2), ("&layout=3x8&skip=0", 2), ("&layout=2x7", 3), ("&layout=3x8&skip=20", 3)] {
        let r = app.get(&format!("{base}{query}"), &app.tech_token).await;
        assert_eq!(r.status, StatusCode::OK, "{query}: {}", r.text());
        assert_eq!(r.header(header::CONTENT_TYPE), "application/pdf");
        assert!(r.body.starts_with(b"%PDF"));
        assert_eq!(pages(&r.body), expected, "{query}");
    }
    // As linked from an asset's page; twice the same on a partly used sheet: one per sheet.
    let r = app.get(&format!("/labels.pdf?id={}", first.id), &app.tech_token).await;
    assert_eq!((r.status, pages(&r.body)), (StatusCode::OK, 1));
    let r = app.get(&format!("/labels.pdf?id={0}&id={0}&skip=23", first.id), &app.tech_token).await;
    assert_eq!((r.status, pages(&r.body)), (StatusCode::OK, 2));
    // Errors.
    for query in ["&layout=4x4", "&skip=24", "&skip=-1", "&kind=toaster"] {
        let r = app.get(&format!("{base}{query}"), &app.tech_token).await;
        assert!(r.status.is_client_error(), "{query}: {}", r.status);
    }
    let r = app.get(&format!("/api/v1/labels.pdf?entity_id={}", app.school_b), &app.tech_token).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "no asset matches");
    let many: String = (0..5001).map(|i| format!("id={i}&")).collect();
    let r = app.get(&format!("/api/v1/labels.pdf?{many}"), &app.tech_token).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.json()["error"]["message"].as_str().unwrap().contains("5000"));

    // The page counts the selection and carries it to the PDF link.
    let r = app.get(&format!("/labels?entity_id={}&kind=computer", app.school_a), &app.tech_token).await;
    assert_eq!(r.status, StatusCode::OK);
    let html = r.text();
    assert!(html.contains("30 matériel(s)"), "{html}");
    assert!(html.contains("action=\"/labels.pdf\""));
    assert!(html.contains("name=\"kind\" value=\"computer\""));
    assert!(html.contains("value=\"2x7\""));
}

/// A multipart body with text fields and an optional file.
fn multipart(fields: &[(&str, &str)], file: Option<&[u8]>) -> (String, Vec<u8>) {
    let boundary = "----parc-test-boundary";
    let mut body = Vec::new();
    for (name, value) in fields {
        body.extend(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n").into_bytes(),
        );
    }
    if let Some(bytes) = file {
        body.extend(format!("--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"parc.csv\"\r\nContent-Type: text/csv\r\n\r\n").into_bytes());
        body.extend_from_slice(bytes);
        body.extend(b"\r\n");
    }
    body.extend(format!("--{boundary}--\r\n").into_bytes());
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn unescape(s: &str) -> String {
    s.replace("&#34;", "\"")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn page_preview_then_commit() {
    let app = setup().await;
    let (session, csrf) = {
        let mut tx = app.db.store.write().await.unwrap();
        let s = users::create_session(&mut tx, app.admin, chrono::Duration::hours(1)).await.unwrap();
        tx.commit().await.unwrap();
        s
    };
    let post = |fields: Vec<(&'static str, String)>, file: Option<Vec<u8>>| {
        let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let (content_type, body) = multipart(&fields, file.as_deref());
        let req = Request::post("/import")
            .header(header::COOKIE, format!("parc_session={session}"))
            .header(header::CONTENT_TYPE, content_type);
        app.send(req, body)
    };
    let entity = app.school_a.to_string();
    let csv = "kind;name;asset_tag;imei\nmobile_phone;Phone 1;P-1;490154203237518\ncomputer;PC 1;P-2;\n";

    // Without the CSRF token: refused.
    let r = post(vec![("entity_id", entity.clone())], Some(csv.into())).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // Preview: the rows, and a commit form carrying them.
    let r = post(vec![("csrf", csrf.clone()), ("entity_id", entity.clone())], Some(csv.into())).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let html = r.text();
    assert!(html.contains("2 ligne(s) lue(s), toutes valides"), "{html}");
    assert!(html.contains("Phone 1") && html.contains("Importer 2 matériel(s)"));
    let start = html.find("name=\"data\" value=\"").expect("carried table") + "name=\"data\" value=\"".len();
    let data = unescape(&html[start..start + html[start..].find('"').unwrap()]);
    assert!(app.assets_of(app.school_a).await.is_empty(), "a preview writes nothing");

    // A tampered carried table is checked again: nothing is created.
    let bad = data.replace("490154203237518", "490154203237519");
    let r =
        post(vec![("csrf", csrf.clone()), ("entity_id", entity.clone()), ("commit", "1".into()), ("data", bad)], None)
            .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("IMEI invalide"), "{}", r.text());
    assert!(app.assets_of(app.school_a).await.is_empty());

    // Commit.
    let r = post(
        vec![("csrf", csrf.clone()), ("entity_id", entity.clone()), ("commit", "1".into()), ("data", data.clone())],
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.text());
    assert_eq!(r.header(header::LOCATION), "/import?created=2");
    assert_eq!(app.assets_of(app.school_a).await.len(), 2);

    // The same again: the tags are taken now; the errors are listed, nothing more is created.
    let r =
        post(vec![("csrf", csrf.clone()), ("entity_id", entity.clone()), ("commit", "1".into()), ("data", data)], None)
            .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.text().contains("Ce code GPI est déjà utilisé"));
    assert_eq!(app.assets_of(app.school_a).await.len(), 2);

    // An unreadable file: a translated message on the import page.
    let r = post(vec![("csrf", csrf.clone()), ("entity_id", entity.clone())], Some(zip_bomb())).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("refusé par sécurité"), "{}", r.text());

    let r = app
        .send(Request::get("/import?created=2").header(header::COOKIE, format!("parc_session={session}")), Vec::new())
        .await;
    assert!(r.text().contains("2 matériel(s) importé(s)."));
}
