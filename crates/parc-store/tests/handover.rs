//! Phone hand-overs on every backend: the common case (same SIM and line, new phone) moves the
//! SIM into the new phone, keeps the line on it, gives the new phone to the user and puts the
//! old one back in stock, with the receipt stored immutably and its SHA-256 in the audit
//! trail; refused drafts (another entity's SIM, wrong kinds, the same device twice, unknown
//! accessories) write nothing.

mod common;

use common::{actor, entity};
use parc_core::assets::{AssetInput, AssetStatus, LinkKind};
use parc_core::audit::{AuditAction, ObjectType};
use parc_core::{AssetId, EntityId, LocationId, UserId};
use parc_store::handover::{self, HandoverDraft, RECEIPT_KIND};
use parc_store::locations::{self, LocationInput};
use parc_store::testing::TestDb;
use parc_store::users::UserInput;
use parc_store::{assets, audit, documents, Store, StoreError};
use sha2::{Digest, Sha256};

async fn asset(store: &Store, input: AssetInput) -> AssetId {
    let mut tx = store.write().await.unwrap();
    let id = assets::create(&mut tx, &actor(), store.cipher(), &input.validate(None).unwrap()).await.unwrap();
    tx.commit().await.unwrap();
    id
}

fn phone(entity: EntityId, name: &str, imei: &str, status: &str, user: Option<UserId>) -> AssetInput {
    AssetInput {
        kind: Some("mobile_phone".into()),
        entity_id: Some(entity.0),
        name: Some(name.into()),
        manufacturer: Some("Samsung".into()),
        model: Some("Galaxy A15".into()),
        imei: Some(imei.into()),
        status: Some(status.into()),
        assigned_user_id: user.map(|u| u.0),
        ..Default::default()
    }
}

fn sim(entity: EntityId, name: &str, iccid: &str) -> AssetInput {
    AssetInput {
        kind: Some("sim_card".into()),
        entity_id: Some(entity.0),
        name: Some(name.into()),
        iccid: Some(iccid.into()),
        puk: Some("12345678".into()),
        status: Some("in_use".into()),
        ..Default::default()
    }
}

struct World {
    store: Store,
    school: EntityId,
    site: LocationId,
    user: UserId,
    old_phone: AssetId,
    new_phone: AssetId,
    sim: AssetId,
    line: AssetId,
    foreign_sim: AssetId,
}

async fn world(store: &Store) -> World {
    let school = entity(store, "Collège Jean Moulin", None).await;
    let other = entity(store, "Collège Victor Hugo", None).await;
    let input = UserInput {
        login: Some("hdupre".into()),
        display_name: Some("Hélène Dupré".into()),
        email: Some("hdupre@example.org".into()),
        entity_id: Some(school.0),
        ..Default::default()
    };
    let user = common::user(store, &input, None).await;
    let mut tx = store.write().await.unwrap();
    let site = LocationInput {
        entity_id: Some(school.0),
        kind: Some("site".into()),
        name: Some("Bâtiment A".into()),
        ..Default::default()
    };
    let site = locations::create(&mut tx, &actor(), &site).await.unwrap().id;
    tx.commit().await.unwrap();
    let old_phone = asset(store, phone(school, "TEL-OLD", "353456789012348", "in_use", Some(user))).await;
    let new_phone = asset(store, phone(school, "TEL-NEW", "353456789012355", "in_stock", None)).await;
    let sim_id = asset(store, sim(school, "SIM-1", "8933150319012345670")).await;
    let line = asset(
        store,
        AssetInput {
            kind: Some("phone_line".into()),
            entity_id: Some(school.0),
            name: Some("Ligne 06 12 34 56 78".into()),
            line_number: Some("06 12 34 56 78".into()),
            line_type: Some("mobile".into()),
            status: Some("in_use".into()),
            ..Default::default()
        },
    )
    .await;
    let foreign_sim = asset(store, sim(other, "SIM-B", "8933150319012345688")).await;
    // Today: the SIM in the old phone, the line on the SIM.
    let mut tx = store.write().await.unwrap();
    let get = async |c: &mut parc_store::Conn, id| assets::get(c, id).await.unwrap().unwrap();
    let (s, o, l) = (get(&mut tx, sim_id).await, get(&mut tx, old_phone).await, get(&mut tx, line).await);
    assets::link(&mut tx, &actor(), &s, &o).await.unwrap();
    assets::link(&mut tx, &actor(), &l, &s).await.unwrap();
    tx.commit().await.unwrap();
    World { store: store.clone(), school, site, user, old_phone, new_phone, sim: sim_id, line, foreign_sim }
}

fn common_case(w: &World) -> HandoverDraft {
    HandoverDraft {
        recipient_user_id: Some(w.user),
        technician_user_id: None,
        department: Some("  Vie scolaire ".into()),
        location_id: Some(w.site),
        reason: Some("Écran cassé".into()),
        delivered_asset_id: Some(w.new_phone),
        delivered_sim_id: Some(w.sim),
        delivered_line_id: Some(w.line),
        returned_asset_id: Some(w.old_phone),
        accessories_delivered: vec!["box".into(), "charger".into(), "charger".into()],
        accessories_returned: vec!["charger".into()],
        returned_reset: true,
        ..Default::default()
    }
}

async fn count(store: &Store) -> i64 {
    let mut c = store.read().await.unwrap();
    sqlx::query_as::<_, (i64,)>("SELECT COUNT(*) FROM handovers").fetch_one(&mut *c).await.unwrap().0
}

async fn refused(w: &World, draft: HandoverDraft) -> Vec<(String, String)> {
    let mut tx = w.store.write().await.unwrap();
    let err = handover::open(&mut tx, &actor(), &draft).await.unwrap_err();
    drop(tx);
    let StoreError::Validation(e) = err else { panic!("{err:?}") };
    assert_eq!(count(&w.store).await, 0, "nothing written");
    e.fields.into_iter().map(|f| (f.field, f.code)).collect()
}

#[tokio::test]
async fn handover_story_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let w = world(&db.store).await;
        refusals(&w).await;
        common_phone_change(&w).await;
    }
}

async fn refusals(w: &World) {
    let pair = |f: &str, c: &str| (f.to_owned(), c.to_owned());
    let foreign = HandoverDraft { delivered_sim_id: Some(w.foreign_sim), ..common_case(w) };
    assert_eq!(refused(w, foreign).await, vec![pair("delivered_sim_id", "other_entity")]);
    let kinds = HandoverDraft { delivered_asset_id: Some(w.sim), returned_sim_id: Some(w.old_phone), ..common_case(w) };
    let fields = refused(w, kinds).await;
    assert!(fields.contains(&pair("delivered_asset_id", "wrong_kind")), "{fields:?}");
    assert!(fields.contains(&pair("returned_sim_id", "wrong_kind")), "{fields:?}");
    let same = HandoverDraft { returned_asset_id: Some(w.new_phone), ..common_case(w) };
    assert_eq!(refused(w, same).await, vec![pair("returned_asset_id", "same_device")]);
    let odd =
        HandoverDraft { accessories_delivered: vec!["jetpack".into()], recipient_user_id: None, ..common_case(w) };
    let fields = refused(w, odd).await;
    assert!(fields.contains(&pair("accessories_delivered", "unknown_value")), "{fields:?}");
    assert!(fields.contains(&pair("recipient_user_id", "required")), "{fields:?}");
    let nothing = HandoverDraft { recipient_user_id: Some(w.user), ..Default::default() };
    assert_eq!(refused(w, nothing).await, vec![pair("delivered_asset_id", "required")]);
    // A receipt that fails after open (e.g. the caller's checks) leaves nothing either: the
    // transaction is dropped.
    let mut tx = w.store.write().await.unwrap();
    handover::open(&mut tx, &actor(), &common_case(w)).await.unwrap();
    drop(tx);
    assert_eq!(count(&w.store).await, 0);
}

async fn common_phone_change(w: &World) {
    let pdf = b"%PDF-1.3 receipt bytes".to_vec();
    let mut tx = w.store.write().await.unwrap();
    let (id, parties, draft) = handover::open(&mut tx, &actor(), &common_case(w)).await.unwrap();
    assert_eq!(parties.entity_id, w.school);
    assert_eq!(draft.department.as_deref(), Some("Vie scolaire"));
    assert_eq!(draft.accessories_delivered, ["charger", "box"], "print order, each once");
    let h = handover::seal(&mut tx, &actor(), w.store.cipher(), id, &draft, &parties, ("r.pdf", &pdf)).await.unwrap();
    tx.commit().await.unwrap();

    let sha = hex::encode(Sha256::digest(&pdf));
    assert_eq!(h.sha256.as_deref(), Some(sha.as_str()));
    assert_eq!((h.recipient_name.as_str(), h.delivered_name.as_deref()), ("Hélène Dupré", Some("TEL-NEW")));
    assert!(h.returned_reset);
    let mut c = w.store.read().await.unwrap();
    let doc = documents::document(&mut c, h.document_id.unwrap()).await.unwrap().unwrap();
    assert_eq!((doc.kind.as_str(), doc.sha256.as_str()), (RECEIPT_KIND, sha.as_str()));
    assert_eq!(documents::document_content(&mut c, doc.id).await.unwrap().unwrap(), pdf);

    let new = assets::get(&mut c, w.new_phone).await.unwrap().unwrap();
    assert_eq!((new.status, new.assigned_user_id, new.location_id), (AssetStatus::InUse, Some(w.user), Some(w.site)));
    let old = assets::get(&mut c, w.old_phone).await.unwrap().unwrap();
    assert_eq!((old.status, old.assigned_user_id), (AssetStatus::InStock, None));
    let sim = assets::get(&mut c, w.sim).await.unwrap().unwrap();
    assert_eq!((sim.status, sim.assigned_user_id), (AssetStatus::InUse, Some(w.user)));
    let links = assets::links_of(&mut c, w.sim).await.unwrap();
    let sim_in: Vec<AssetId> = links.iter().filter(|l| l.kind == LinkKind::SimIn).map(|l| l.to_asset_id).collect();
    assert_eq!(sim_in, vec![w.new_phone], "the SIM moved into the new phone");
    assert!(links.iter().any(|l| l.kind == LinkKind::LineOn && l.from_asset_id == w.line), "the line stays on the SIM");
    assert!(assets::links_of(&mut c, w.old_phone).await.unwrap().is_empty(), "the old phone is empty");

    let trail = audit::for_object(&mut c, ObjectType::Handover, id, 10).await.unwrap();
    let created = trail.iter().find(|e| e.action == AuditAction::Create.as_str()).expect("creation audited");
    let field = |name: &str| created.changes.iter().find(|ch| ch.field == name).and_then(|ch| ch.new.clone());
    assert_eq!(field("sha256").as_deref(), Some(sha.as_str()));
    assert_eq!(field("document"), Some(format!("#{}", doc.id)));
    for device in [w.new_phone, w.old_phone] {
        let trail = audit::for_object(&mut c, ObjectType::Asset, device.0, 20).await.unwrap();
        let signed = trail.iter().find(|e| e.action == AuditAction::Sign.as_str()).expect("sign entry on the device");
        assert!(signed.changes.iter().any(|ch| ch.new.as_deref() == Some(sha.as_str())));
    }
    assert_eq!(handover::for_asset(&mut c, w.old_phone).await.unwrap()[0].id, id);
    assert_eq!(handover::list(&mut c, &[w.school.0], 10).await.unwrap().len(), 1);
    // The receipt never changes.
    let tamper = sqlx::query("UPDATE documents SET content = $1 WHERE id = $2")
        .bind(b"forged".to_vec())
        .bind(doc.id)
        .execute(&mut *c)
        .await;
    assert!(tamper.is_err(), "documents are immutable");
}
