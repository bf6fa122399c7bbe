//! The store's story suite, run against SQLite and (when reachable) PostgreSQL.

mod common;

use common::{actor, entity};
use parc_core::assets::{AssetInput, AssetKind};
use parc_core::permissions::{Action, Grant, Grants, Object, Profile};
use parc_core::query::{AssetField, AssetQuery, FieldFilter, FilterOp};
use parc_core::{EntityId, UserId};
use parc_store::entities::{self, EntityInput};
use parc_store::locations::{self, LocationInput};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_store::{assets, audit, settings, StoreError};

fn computer(entity: EntityId, name: &str, tag: &str) -> AssetInput {
    AssetInput {
        kind: Some("computer".into()),
        entity_id: Some(entity.0),
        name: Some(name.into()),
        asset_tag: Some(tag.into()),
        serial: Some(format!("SN-{tag}")),
        ip: Some("192.168.207.10".into()),
        mac: Some("AA:BB:CC:DD:EE:01".into()),
        ..Default::default()
    }
}

#[tokio::test]
async fn story_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        story(&db).await;
    }
}

async fn story(db: &TestDb) {
    let store = &db.store;
    let county = entity(&db.store, "Conseil départemental", None).await;
    let school = entity(&db.store, "Collège Jean Moulin", Some(county)).await;
    let town = entity(&db.store, "Mairie", None).await;

    // Entity names are unique among siblings; cycles are refused.
    {
        let mut tx = store.write().await.unwrap();
        let err = entities::create(
            &mut tx,
            &actor(),
            &EntityInput { name: Some("Collège Jean Moulin".into()), parent_id: Some(county.0), comment: None },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, StoreError::Validation(ref v) if v.fields[0].code == "name_taken"), "{err:?}");
        drop(tx);
        let mut tx = store.write().await.unwrap();
        let err = entities::update(
            &mut tx,
            &actor(),
            county,
            &EntityInput { parent_id: Some(school.0), ..Default::default() },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, StoreError::Validation(ref v) if v.fields[0].code == "cycle"), "{err:?}");
    }

    // Locations: site > building > room within one entity.
    let mut tx = store.write().await.unwrap();
    let site = locations::create(
        &mut tx,
        &actor(),
        &LocationInput {
            entity_id: Some(school.0),
            kind: Some("site".into()),
            name: Some("Site principal".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let bat = locations::create(
        &mut tx,
        &actor(),
        &LocationInput {
            entity_id: Some(school.0),
            kind: Some("building".into()),
            parent_id: Some(site.id.0),
            name: Some("Bâtiment A".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let room = locations::create(
        &mut tx,
        &actor(),
        &LocationInput {
            entity_id: Some(school.0),
            kind: Some("room".into()),
            parent_id: Some(bat.id.0),
            name: Some("Salle 12".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(room.path, "Site principal > Bâtiment A > Salle 12");
    tx.commit().await.unwrap();
    let mut tx = store.write().await.unwrap();
    let err = locations::create(
        &mut tx,
        &actor(),
        &LocationInput {
            entity_id: Some(town.0),
            kind: Some("room".into()),
            parent_id: Some(bat.id.0),
            name: Some("X".into()),
            ..Default::default()
        },
    )
    .await
    .unwrap_err();
    assert!(matches!(err, StoreError::Validation(_)));
    drop(tx);

    // Users and grants.
    let mut tx = store.write().await.unwrap();
    let _rolled_back = users::create(
        &mut tx,
        &actor(),
        &UserInput {
            login: Some("mdupont".into()),
            display_name: Some("Marie Dupont".into()),
            entity_id: Some(school.0),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    let dup = users::create(
        &mut tx,
        &actor(),
        &UserInput { login: Some("MDUPONT".into()), entity_id: Some(school.0), ..Default::default() },
        None,
    )
    .await
    .unwrap_err();
    assert!(matches!(dup, StoreError::Validation(ref v) if v.fields[0].code == "login_taken"), "{dup:?}");
    drop(tx);
    let mut tx = store.write().await.unwrap();
    let teacher = users::create(
        &mut tx,
        &actor(),
        &UserInput {
            login: Some("mdupont".into()),
            display_name: Some("Marie Dupont".into()),
            entity_id: Some(school.0),
            ..Default::default()
        },
        None,
    )
    .await
    .unwrap();
    users::set_grants(
        &mut tx,
        &actor(),
        teacher.id,
        &[Grant { entity_id: school, profile: Profile::Requester, recursive: false }],
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();

    // Assets: create, unique tag per entity, PUK encrypted.
    let mut tx = store.write().await.unwrap();
    let mut input = computer(school, "PC-CDI-01", "GPI-0001");
    input.location_id = Some(room.id.0);
    input.assigned_user_id = Some(teacher.id.0);
    let _rolled_back = assets::create(&mut tx, &actor(), store.cipher(), &input.validate(None).unwrap()).await.unwrap();
    let again = assets::create(
        &mut tx,
        &actor(),
        store.cipher(),
        &computer(school, "PC-2", "GPI-0001").validate(None).unwrap(),
    )
    .await
    .unwrap_err();
    assert!(matches!(again, StoreError::Validation(ref v) if v.fields[0].code == "tag_taken"), "{again:?}");
    drop(tx);
    let mut tx = store.write().await.unwrap();
    let pc = assets::create(&mut tx, &actor(), store.cipher(), &input.validate(None).unwrap()).await.unwrap();
    // Same tag in another entity is fine.
    assets::create(&mut tx, &actor(), store.cipher(), &computer(town, "PC-MAIRIE", "GPI-0001").validate(None).unwrap())
        .await
        .unwrap();
    let sim_in = AssetInput {
        kind: Some("sim_card".into()),
        entity_id: Some(school.0),
        name: Some("SIM 0612345678".into()),
        iccid: Some("8933150319080000009".into()),
        puk: Some("12345678".into()),
        line_number: Some("0612345678".into()),
        ..Default::default()
    };
    let sim = assets::create(&mut tx, &actor(), store.cipher(), &sim_in.validate(None).unwrap()).await.unwrap();
    let phone_in = AssetInput {
        kind: Some("mobile_phone".into()),
        entity_id: Some(school.0),
        name: Some("Samsung A15".into()),
        imei: Some("490154203237518".into()),
        ..Default::default()
    };
    let phone = assets::create(&mut tx, &actor(), store.cipher(), &phone_in.validate(None).unwrap()).await.unwrap();
    tx.commit().await.unwrap();

    let mut c = store.read().await.unwrap();
    let sim_a = assets::get(&mut c, sim).await.unwrap().unwrap();
    assert!(sim_a.has_puk);
    let (raw,): (Option<String>,) =
        sqlx::query_as("SELECT puk_enc FROM assets WHERE id = $1").bind(sim.0).fetch_one(&mut *c).await.unwrap();
    assert!(!raw.unwrap().contains("12345678"), "PUK is encrypted at rest");
    drop(c);

    // Reveal is audited; links replace the previous one.
    let mut tx = store.write().await.unwrap();
    assert_eq!(
        assets::reveal_puk(&mut tx, &actor(), store.cipher(), &sim_a).await.unwrap().as_deref(),
        Some("12345678")
    );
    let phone_a = assets::get(&mut tx, phone).await.unwrap().unwrap();
    let l = assets::link(&mut tx, &actor(), &sim_a, &phone_a).await.unwrap();
    assert_eq!(l.to_asset_id, phone);
    let pc_a = assets::get(&mut tx, pc).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    let mut tx = store.write().await.unwrap();
    assert!(assets::link(&mut tx, &actor(), &sim_a, &pc_a).await.is_err(), "a SIM does not go in a PC");
    drop(tx);

    // Update: diff audited field by field.
    let mut tx = store.write().await.unwrap();
    let old = assets::get(&mut tx, pc).await.unwrap().unwrap();
    let upd = AssetInput { status: Some("in_repair".into()), ip: Some("192.168.207.11".into()), ..Default::default() };
    let d = upd.validate(Some(&old.to_draft())).unwrap();
    assets::update(&mut tx, &actor(), store.cipher(), &old, &d).await.unwrap();
    tx.commit().await.unwrap();
    let mut c = store.read().await.unwrap();
    let hist = audit::for_object(&mut c, parc_core::audit::ObjectType::Asset, pc.0, 10).await.unwrap();
    assert_eq!(hist[0].action, "update");
    let fields: Vec<&str> = hist[0].changes.iter().map(|ch| ch.field.as_str()).collect();
    assert_eq!(fields, vec!["status", "ip"]);
    let sim_hist = audit::for_object(&mut c, parc_core::audit::ObjectType::Asset, sim.0, 10).await.unwrap();
    assert!(sim_hist.iter().any(|h| h.action == "reveal_secret"));
    assert!(sim_hist.iter().all(|h| h.changes.iter().all(|ch| ch.new.as_deref() != Some("12345678"))));

    // The audit trail cannot be edited or deleted.
    assert!(sqlx::query("UPDATE audit_events SET actor_label = 'x'").execute(&mut *c).await.is_err());
    assert!(sqlx::query("DELETE FROM audit_events").execute(&mut *c).await.is_err());
    assert!(audit::for_object(&mut c, parc_core::audit::ObjectType::Asset, pc.0, 10).await.unwrap().len() >= 2);

    // Lists and search are scoped.
    let tree = entities::tree(&mut c).await.unwrap();
    let admin = Grants(vec![Grant { entity_id: county, profile: Profile::Admin, recursive: true }]);
    let scope = admin.scope(&tree, Object::Asset, Action::Read);
    let page = assets::list(&mut c, store.backend(), &scope, UserId(0), &AssetQuery::default()).await.unwrap();
    assert_eq!(page.total, 3, "county sees the school's 3 assets, not the town hall's");
    for q in ["gpi-0001", "207.11", "aa:bb:cc", "aabbcc", "dupont", "4901542032"] {
        let found = assets::search(&mut c, store.backend(), &scope, UserId(0), q, 20).await.unwrap();
        assert!(!found.is_empty(), "search {q}");
        assert!(found.iter().all(|a| a.entity_id == school), "{q}");
    }
    let q = AssetQuery {
        filters: vec![FieldFilter { field: AssetField::Kind, op: FilterOp::Eq, value: "computer".into() }],
        ..Default::default()
    };
    assert_eq!(assets::list(&mut c, store.backend(), &scope, UserId(0), &q).await.unwrap().total, 1);
    let q = AssetQuery {
        filters: vec![FieldFilter { field: AssetField::Serial, op: FilterOp::Contains, value: "%".into() }],
        ..Default::default()
    };
    assert_eq!(
        assets::list(&mut c, store.backend(), &scope, UserId(0), &q).await.unwrap().total,
        0,
        "LIKE wildcards are escaped"
    );
    let q = AssetQuery {
        filters: vec![FieldFilter { field: AssetField::LocationId, op: FilterOp::Eq, value: "1 OR 1=1".into() }],
        ..Default::default()
    };
    assert!(assets::list(&mut c, store.backend(), &scope, UserId(0), &q).await.is_err());
    let q = AssetQuery { sort: AssetField::Name, desc: true, per_page: 2, page: 2, ..Default::default() };
    let p2 = assets::list(&mut c, store.backend(), &scope, UserId(0), &q).await.unwrap();
    assert_eq!(p2.items.len(), 1);
    assert_eq!(p2.items[0].name, "PC-CDI-01");

    // A requester sees only their own assets.
    let req = users::grants(&mut c, teacher.id).await.unwrap();
    let rs = req.scope(&tree, Object::Asset, Action::Read);
    let mine = assets::list(&mut c, store.backend(), &rs, teacher.id, &AssetQuery::default()).await.unwrap();
    assert_eq!(mine.total, 1);
    assert_eq!(mine.items[0].id, pc);

    // Renaming the user refreshes search.
    drop(c);
    let mut tx = store.write().await.unwrap();
    users::update(
        &mut tx,
        &actor(),
        teacher.id,
        &UserInput { display_name: Some("Marie Durand".into()), ..Default::default() },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    let mut c = store.read().await.unwrap();
    assert_eq!(assets::search(&mut c, store.backend(), &scope, UserId(0), "durand", 5).await.unwrap().len(), 1);

    // Dropped transactions leave nothing behind.
    drop(c);
    {
        let mut tx = store.write().await.unwrap();
        assets::create(
            &mut tx,
            &actor(),
            store.cipher(),
            &computer(school, "ROLLED-BACK", "GPI-RB").validate(None).unwrap(),
        )
        .await
        .unwrap();
    }
    let mut c = store.read().await.unwrap();
    assert!(assets::search(&mut c, store.backend(), &scope, UserId(0), "ROLLED-BACK", 5).await.unwrap().is_empty());

    // Entities holding things cannot be deleted.
    drop(c);
    let mut tx = store.write().await.unwrap();
    assert!(matches!(entities::delete(&mut tx, &actor(), school).await, Err(StoreError::Conflict(_))));
    drop(tx);

    // Settings.
    let mut tx = store.write().await.unwrap();
    let mut s = settings::get(&mut tx).await.unwrap();
    s.hotline_number = "7000".into();
    settings::put(&mut tx, &actor(), &s).await.unwrap();
    tx.commit().await.unwrap();
    let mut c = store.read().await.unwrap();
    assert_eq!(settings::get(&mut c).await.unwrap().hotline_number, "7000");

    // Sessions and tokens.
    drop(c);
    let mut tx = store.write().await.unwrap();
    let (tok, csrf) = users::create_session(&mut tx, teacher.id, chrono::Duration::hours(1)).await.unwrap();
    let (u, c2) = users::session_user(&mut tx, &tok).await.unwrap().unwrap();
    assert_eq!((u.id, c2), (teacher.id, csrf));
    let (_t, secret) = users::create_token(&mut tx, &actor(), teacher.id, "script").await.unwrap();
    assert_eq!(users::token_user(&mut tx, &secret).await.unwrap().unwrap().id, teacher.id);
    assert!(users::token_user(&mut tx, "parc_wrong").await.unwrap().is_none());
    let (stored,): (String,) = sqlx::query_as("SELECT token_hash FROM api_tokens").fetch_one(&mut *tx).await.unwrap();
    assert_ne!(stored, secret);
    // Throttle.
    for _ in 0..5 {
        users::throttle_fail(&mut tx, "login:x", 5).await.unwrap();
    }
    assert!(users::throttle_blocked_until(&mut tx, "login:x").await.unwrap().is_none());
    users::throttle_fail(&mut tx, "login:x", 5).await.unwrap();
    assert!(users::throttle_blocked_until(&mut tx, "login:x").await.unwrap().is_some());
    tx.commit().await.unwrap();
    let _ = AssetKind::Computer;
}

/// A dropped (rolled back) write transaction never makes the next writer fail with
/// "database is locked": the rollback runs asynchronously after the drop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn writes_right_after_a_rollback() {
    let db = TestDb::sqlite().await;
    let e = entity(&db.store, "Mairie", None).await;
    for i in 0..200 {
        {
            // A request that writes, then fails (duplicate tag), and is dropped.
            let mut tx = db.store.write().await.unwrap();
            let d = computer(e, "rolled back", &format!("RB-{i}")).validate(None).unwrap();
            assets::create(&mut tx, &actor(), db.store.cipher(), &d).await.unwrap();
            assert!(assets::create(&mut tx, &actor(), db.store.cipher(), &d).await.is_err());
        }
        let mut tx = db.store.write().await.unwrap();
        let d = computer(e, "kept", &format!("K-{i}")).validate(None).unwrap();
        assets::create(&mut tx, &actor(), db.store.cipher(), &d).await.unwrap();
        tx.commit().await.unwrap();
    }
    let mut c = db.store.read().await.unwrap();
    let scope = parc_core::permissions::Scope { full: [e].into_iter().collect(), own_only: Default::default() };
    let n: i64 = assets::counts(&mut c, &scope, UserId(0)).await.unwrap().iter().map(|x| x.2).sum();
    assert_eq!(n, 200);
}
