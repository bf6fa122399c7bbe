//! The campaign story on every backend: a school's tablets are collected against their
//! expected list; scans are found, duplicates or unexpected; an asset of another school is
//! refused and nothing is written; two scanners at once never double count nor lose a scan;
//! closing stores the report, sets statuses in one go and freezes the campaign; a PC
//! replacement puts each new machine in use with its old one's user and location.

mod common;

use common::{actor, entity};
use parc_core::assets::{AssetInput, AssetStatus};
use parc_core::campaigns::{normalize_code, CampaignKind, ItemCodes, ScanOutcome};
use parc_core::{AssetId, EntityId};
use parc_store::campaigns::{self, Closing, NewCampaign, NewItem};
use parc_store::testing::TestDb;
use parc_store::{assets, Store, StoreError};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn campaign_story_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        story(&db.store).await;
        replacement(&db.store).await;
    }
}

async fn asset(store: &Store, entity: EntityId, kind: &str, name: &str, serial: &str) -> AssetId {
    let mut tx = store.write().await.unwrap();
    let input = AssetInput {
        kind: Some(kind.into()),
        entity_id: Some(entity.0),
        name: Some(name.into()),
        serial: Some(serial.into()),
        asset_tag: Some(format!("T-{serial}")),
        status: Some("in_use".into()),
        ..Default::default()
    };
    let id = assets::create(&mut tx, &actor(), store.cipher(), &input.validate(None).unwrap()).await.unwrap();
    tx.commit().await.unwrap();
    id
}

async fn items_of(store: &Store, ids: &[AssetId]) -> Vec<NewItem> {
    let mut c = store.read().await.unwrap();
    let mut out = Vec::new();
    for id in ids {
        let a = assets::get(&mut c, *id).await.unwrap().unwrap();
        out.push(NewItem {
            asset_id: Some(a.id),
            label: a.name.clone(),
            codes: ItemCodes {
                asset_tag: a.asset_tag.clone(),
                serial: a.serial.clone(),
                imei: a.imei.clone(),
                name: Some(a.name.clone()),
                token: Some(a.public_token.clone()),
            },
        });
    }
    out
}

async fn scan(store: &Store, c: Target<'_>, code: &str) -> Result<campaigns::ScanResult, StoreError> {
    let mut tx = store.write().await.unwrap();
    let campaign = campaigns::get(&mut tx, c.id).await.unwrap().unwrap();
    let r = campaigns::scan(&mut tx, &actor(), &campaign, c.tree, &normalize_code(code).unwrap()).await;
    if r.is_ok() {
        tx.commit().await.unwrap();
    }
    r
}

#[derive(Clone, Copy)]
struct Target<'a> {
    id: parc_core::CampaignId,
    tree: &'a [EntityId],
}

async fn count_scans(store: &Store, id: parc_core::CampaignId) -> i64 {
    let mut c = store.read().await.unwrap();
    campaigns::scan_count(&mut c, id).await.unwrap()
}

async fn story(store: &Store) {
    let root = entity(store, "Mairie", None).await;
    let school = entity(store, "École Jean Moulin", Some(root)).await;
    let other = entity(store, "École Pasteur", Some(root)).await;
    let mut tablets = Vec::new();
    for i in 0..30 {
        tablets.push(asset(store, school, "tablet", &format!("Tablette CM{}", i % 5), &format!("DMP{i:04}")).await);
    }
    let foreign = asset(store, other, "tablet", "Tablette Pasteur", "PAS0001").await;

    // An empty list or a nameless campaign is refused.
    {
        let mut tx = store.write().await.unwrap();
        let n = NewCampaign {
            entity_id: school,
            location_id: None,
            kind: CampaignKind::TabletCollection,
            name: " ".into(),
        };
        match campaigns::create(&mut tx, &actor(), &n, &[]).await {
            Err(StoreError::Validation(e)) => {
                assert!(e.for_field("name").is_some() && e.for_field("items").is_some(), "{e:?}")
            }
            other => panic!("expected a validation error, got {other:?}"),
        }
    }
    let items = items_of(store, &tablets).await;
    let id = {
        let mut tx = store.write().await.unwrap();
        let n = NewCampaign {
            entity_id: school,
            location_id: None,
            kind: CampaignKind::TabletCollection,
            name: "Ramassage des tablettes".into(),
        };
        let id = campaigns::create(&mut tx, &actor(), &n, &items).await.unwrap();
        tx.commit().await.unwrap();
        id
    };
    let tree = [school];
    let c = Target { id, tree: &tree };

    // Found by serial, typed another way: a duplicate; found by its label's URL; unexpected.
    let r = scan(store, c, "dmp-0000").await.unwrap();
    assert_eq!(r.scan.outcome, ScanOutcome::Found);
    assert_eq!(r.item.as_ref().unwrap().label, "Tablette CM0");
    assert_eq!(scan(store, c, "DMP0000").await.unwrap().scan.outcome, ScanOutcome::Duplicate);
    let token = {
        let mut conn = store.read().await.unwrap();
        assets::get(&mut conn, tablets[1]).await.unwrap().unwrap().public_token
    };
    let r = scan(store, c, &format!("https://parc.mairie.fr/r/{token}")).await.unwrap();
    assert_eq!(r.scan.outcome, ScanOutcome::Found);
    assert_eq!(r.item.unwrap().asset_id, Some(tablets[1]));
    // The shared name "Tablette CM2" names six tablets: it identifies none of them.
    assert_eq!(scan(store, c, "Tablette CM2").await.unwrap().scan.outcome, ScanOutcome::Unexpected);
    assert_eq!(scan(store, c, "ZZZ-9").await.unwrap().scan.outcome, ScanOutcome::Unexpected);
    let r = scan(store, c, "zzz9").await.unwrap();
    assert_eq!(r.scan.outcome, ScanOutcome::Duplicate);
    assert_eq!((r.tally.found, r.tally.missing, r.tally.unexpected, r.tally.duplicates), (2, 28, 2, 2));

    // Another school's tablet: refused, nothing written.
    let before = count_scans(store, id).await;
    match scan(store, c, "PAS0001").await {
        Err(StoreError::Validation(e)) => assert_eq!(e.for_field("code").unwrap().code, "other_entity"),
        other => panic!("expected other_entity, got {other:?}"),
    }
    assert_eq!(count_scans(store, id).await, before);
    let _ = foreign;

    // Steps: only on found items.
    {
        let mut tx = store.write().await.unwrap();
        let campaign = campaigns::get(&mut tx, id).await.unwrap().unwrap();
        let all = campaigns::items(&mut tx, id).await.unwrap();
        let found = all.iter().find(|i| i.asset_id == Some(tablets[0])).unwrap();
        let missing = all.iter().find(|i| i.asset_id == Some(tablets[5])).unwrap();
        let done = campaigns::set_step(&mut tx, &actor(), &campaign, found, true).await.unwrap();
        assert!(done.step_done_at.is_some());
        assert!(matches!(
            campaigns::set_step(&mut tx, &actor(), &campaign, missing, true).await,
            Err(StoreError::Validation(_))
        ));
        tx.commit().await.unwrap();
    }

    // Two technicians scan the rest at once, each the whole list: every tablet found once,
    // every scan kept, the second sighting of each a duplicate.
    let before = count_scans(store, id).await;
    let codes: Vec<String> = (2..30).map(|i| format!("DMP{i:04}")).collect();
    let mut tasks = Vec::new();
    for scanner in 0..2 {
        let store = store.clone();
        let mut codes = codes.clone();
        if scanner == 1 {
            codes.reverse();
        }
        tasks.push(tokio::spawn(async move {
            let tree = [school];
            let c = Target { id, tree: &tree };
            let mut firsts = 0;
            for code in codes {
                if scan(&store, c, &code).await.unwrap().scan.outcome == ScanOutcome::Found {
                    firsts += 1;
                }
            }
            firsts
        }));
    }
    let mut firsts = 0;
    for t in tasks {
        firsts += t.await.unwrap();
    }
    assert_eq!(firsts, 28, "each tablet is found exactly once");
    assert_eq!(count_scans(store, id).await, before + 56, "no scan is lost");
    let t = {
        let mut conn = store.read().await.unwrap();
        campaigns::tally(&mut conn, id).await.unwrap()
    };
    assert_eq!((t.expected, t.found, t.missing, t.unexpected, t.duplicates, t.step_done), (30, 30, 0, 2, 30, 1));

    // Closing: the report is stored, statuses set (wiped when ticked, else returned), frozen.
    {
        let mut tx = store.write().await.unwrap();
        let campaign = campaigns::get(&mut tx, id).await.unwrap().unwrap();
        let closing = Closing {
            signer_name: "Mme Martin, directrice".into(),
            found_status: None,
            keep_statuses: false,
            report_pdf: b"%PDF-1.4 report".to_vec(),
            report_filename: "rapport.pdf".into(),
        };
        let changed = campaigns::close(&mut tx, &actor(), store.cipher(), &campaign, &closing).await.unwrap();
        assert_eq!(changed, 30);
        tx.commit().await.unwrap();
    }
    let mut conn = store.read().await.unwrap();
    assert_eq!(assets::get(&mut conn, tablets[0]).await.unwrap().unwrap().status, AssetStatus::Wiped);
    assert_eq!(assets::get(&mut conn, tablets[7]).await.unwrap().unwrap().status, AssetStatus::Returned);
    let closed = campaigns::get(&mut conn, id).await.unwrap().unwrap();
    assert_eq!(closed.signer_name.as_deref(), Some("Mme Martin, directrice"));
    let doc = parc_store::documents::document(&mut conn, closed.document_id.unwrap()).await.unwrap().unwrap();
    let trail: Vec<(String,)> = sqlx::query_as(
        "SELECT changes FROM audit_events WHERE object_type = 'campaign' AND object_id = $1 AND action = 'sign'",
    )
    .bind(id.0)
    .fetch_all(&mut *conn)
    .await
    .unwrap();
    assert!(trail[0].0.contains(&doc.sha256), "the report's SHA-256 is in the trail");
    drop(conn);
    assert!(matches!(scan(store, c, "DMP0001").await, Err(StoreError::Conflict(_))));
}

async fn replacement(store: &Store) {
    let school = entity(store, "École Curie", None).await;
    let old1 = asset(store, school, "computer", "PC-CM1-01", "OLD001").await;
    let old2 = asset(store, school, "computer", "PC-CM1-02", "OLD002").await;
    let new1 = asset(store, school, "computer", "PC-CM1-01-NEW", "NEW001").await;
    {
        // The new machine waits in stock.
        let mut tx = store.write().await.unwrap();
        let a = assets::get(&mut tx, new1).await.unwrap().unwrap();
        let mut d = a.to_draft();
        d.status = AssetStatus::InStock;
        assets::update(&mut tx, &actor(), store.cipher(), &a, &d).await.unwrap();
        tx.commit().await.unwrap();
    }
    let items = items_of(store, &[old1, old2]).await;
    let mut tx = store.write().await.unwrap();
    let n =
        NewCampaign { entity_id: school, location_id: None, kind: CampaignKind::PcReplacement, name: "PC 2026".into() };
    let id = campaigns::create(&mut tx, &actor(), &n, &items).await.unwrap();
    tx.commit().await.unwrap();
    let tree = [school];
    let c = Target { id, tree: &tree };
    assert_eq!(scan(store, c, "OLD001").await.unwrap().scan.outcome, ScanOutcome::Found);

    let mut tx = store.write().await.unwrap();
    let campaign = campaigns::get(&mut tx, id).await.unwrap().unwrap();
    let all = campaigns::items(&mut tx, id).await.unwrap();
    let new_asset = assets::get(&mut tx, new1).await.unwrap().unwrap();
    let old_asset = assets::get(&mut tx, old1).await.unwrap().unwrap();
    // A machine cannot replace itself.
    assert!(matches!(
        campaigns::set_replacement(&mut tx, &actor(), &campaign, &all[0], Some(&old_asset), &tree).await,
        Err(StoreError::Validation(_))
    ));
    let paired =
        campaigns::set_replacement(&mut tx, &actor(), &campaign, &all[0], Some(&new_asset), &tree).await.unwrap();
    assert_eq!(paired.replacement_label.as_deref(), Some("PC-CM1-01-NEW"));
    let closing = Closing {
        signer_name: "M. Durand".into(),
        found_status: None,
        keep_statuses: false,
        report_pdf: b"%PDF-1.4 r".to_vec(),
        report_filename: "r.pdf".into(),
    };
    campaigns::close(&mut tx, &actor(), store.cipher(), &campaign, &closing).await.unwrap();
    tx.commit().await.unwrap();
    let mut conn = store.read().await.unwrap();
    assert_eq!(assets::get(&mut conn, old1).await.unwrap().unwrap().status, AssetStatus::Returned);
    assert_eq!(assets::get(&mut conn, old2).await.unwrap().unwrap().status, AssetStatus::InUse, "missing: unchanged");
    assert_eq!(assets::get(&mut conn, new1).await.unwrap().unwrap().status, AssetStatus::InUse);
}
