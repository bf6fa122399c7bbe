//! Stock on every backend: receive, issue, transfer and adjust keep each level equal to the sum
//! of its movements (also over a long pseudo-random sequence), a refused movement writes nothing,
//! the reorder alert comes once per crossing, and concurrent issues never take more than on hand.

mod common;

use common::{actor, entity};
use parc_core::stock::MovementKind;
use parc_core::{EntityId, StockItemId};
use parc_store::stock::{self, ItemInput, MovementInput, Recorded, StockItem, StockStore, StoreInput};
use parc_store::testing::TestDb;
use parc_store::{entities, Store, StoreError};

async fn new_store(store: &Store, e: EntityId, name: &str) -> StockStore {
    let mut tx = store.write().await.unwrap();
    let input = StoreInput { entity_id: Some(e.0), name: Some(name.into()), ..Default::default() };
    let s = stock::create_store(&mut tx, &actor(), &input).await.unwrap();
    tx.commit().await.unwrap();
    s
}

async fn new_item(store: &Store, e: EntityId, name: &str) -> StockItem {
    let mut tx = store.write().await.unwrap();
    let input =
        ItemInput { entity_id: Some(e.0), name: Some(name.into()), unit: Some("pièce".into()), ..Default::default() };
    let i = stock::create_item(&mut tx, &actor(), &input).await.unwrap();
    tx.commit().await.unwrap();
    i
}

fn input(kind: MovementKind, from: &StockStore, item: &StockItem, quantity: i64) -> MovementInput {
    MovementInput {
        kind,
        store_id: from.id.0,
        item_id: item.id.0,
        quantity,
        to_store_id: None,
        issued_to_user_id: None,
        issued_to_ticket_id: None,
        issued_to_location_id: None,
        reason: Some("test".into()),
    }
}

async fn mv(
    store: &Store,
    kind: MovementKind,
    from: &StockStore,
    to: Option<&StockStore>,
    item: &StockItem,
    quantity: i64,
) -> Result<Recorded, StoreError> {
    let mut c = store.read().await.unwrap();
    let tree = entities::tree(&mut c).await.unwrap();
    drop(c);
    let mut tx = store.write().await.unwrap();
    let mut i = input(kind, from, item, quantity);
    i.to_store_id = to.map(|s| s.id.0);
    let r = stock::record(&mut tx, &actor(), &tree, &stock::Target { store: from, to_store: to, item }, &i).await?;
    tx.commit().await.unwrap();
    Ok(r)
}

async fn quantity(store: &Store, s: &StockStore, item: StockItemId) -> i64 {
    let mut c = store.read().await.unwrap();
    stock::get_level(&mut c, s.id, item).await.unwrap().map_or(0, |l| l.quantity)
}

async fn assert_sums(store: &Store) {
    let mut c = store.read().await.unwrap();
    let sums = stock::level_sums(&mut c).await.unwrap();
    assert!(!sums.is_empty());
    for (s, i, q, sum) in sums {
        assert_eq!(q, sum, "store {s} item {i}: level {q}, movements sum to {sum}");
        assert!(q >= 0);
    }
}

async fn movement_count(store: &Store) -> usize {
    let mut c = store.read().await.unwrap();
    stock::list_movements(&mut c, &[1, 2, 3, 4, 5, 6, 7, 8], None, None, 5000).await.unwrap().len()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn stock_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        story(&db.store).await;
        random_sequence(&db.store).await;
        concurrent_issues(&db.store).await;
        db.store.close().await;
    }
}

async fn story(store: &Store) {
    let town = entity(store, "Mairie", None).await;
    let school = entity(store, "École Jules Ferry", Some(town)).await;
    let other = entity(store, "CCAS", None).await;
    let a = new_store(store, school, "Armoire école").await;
    let b = new_store(store, town, "Magasin central").await;
    let c_store = new_store(store, other, "Magasin CCAS").await;
    // The town's catalogue serves the school's store too.
    let toner = new_item(store, town, "Toner HP 305A").await;
    let school_item = new_item(store, school, "Câble HDMI").await;

    // Same name in the same entity: refused.
    let mut tx = store.write().await.unwrap();
    let dup = StoreInput { entity_id: Some(school.0), name: Some("Armoire école".into()), ..Default::default() };
    let e = stock::create_store(&mut tx, &actor(), &dup).await.unwrap_err();
    assert!(matches!(&e, StoreError::Validation(v) if v.fields[0].code == "taken"), "{e:?}");
    drop(tx);

    mv(store, MovementKind::Receive, &a, None, &toner, 10).await.unwrap();
    mv(store, MovementKind::Issue, &a, None, &toner, 3).await.unwrap();
    let r = mv(store, MovementKind::Transfer, &a, Some(&b), &toner, 2).await.unwrap();
    assert_eq!(r.movements.len(), 2);
    assert_eq!((r.movements[0].delta, r.movements[1].delta), (-2, 2));
    assert_eq!(r.movements[1].other_store_id, Some(a.id));
    assert_eq!((quantity(store, &a, toner.id).await, quantity(store, &b, toner.id).await), (5, 2));
    mv(store, MovementKind::Adjust, &a, None, &toner, 4).await.unwrap();
    assert_eq!(quantity(store, &a, toner.id).await, 4);

    // Refusals write nothing.
    let before = movement_count(store).await;
    for (kind, q, code) in [
        (MovementKind::Issue, 5, "insufficient_stock"),
        (MovementKind::Issue, -1, "negative"),
        (MovementKind::Receive, 0, "zero_quantity"),
        (MovementKind::Adjust, -3, "negative"),
        (MovementKind::Transfer, 100, "insufficient_stock"),
    ] {
        let to = (kind == MovementKind::Transfer).then_some(&b);
        let e = mv(store, kind, &a, to, &toner, q).await.unwrap_err();
        assert!(matches!(&e, StoreError::Validation(v) if v.fields[0].code == code), "{kind:?} {q}: {e:?}");
    }
    // A school item cannot go to the town's store (not in its catalogue), nor to the same store.
    let e = mv(store, MovementKind::Receive, &b, None, &school_item, 1).await.unwrap_err();
    assert!(matches!(&e, StoreError::Validation(v) if v.fields[0].code == "other_entity"), "{e:?}");
    let e = mv(store, MovementKind::Transfer, &a, Some(&a), &toner, 1).await.unwrap_err();
    assert!(matches!(&e, StoreError::Validation(v) if v.fields[0].code == "same_store"), "{e:?}");
    let e = mv(store, MovementKind::Receive, &c_store, None, &toner, 1).await.unwrap_err();
    assert!(matches!(&e, StoreError::Validation(_)), "another tree's catalogue: {e:?}");
    assert_eq!(movement_count(store).await, before);
    assert_eq!(quantity(store, &a, toner.id).await, 4);

    // Reorder level 3: alert when going below, not again while below, re-armed above.
    let mut c = store.read().await.unwrap();
    let tree = entities::tree(&mut c).await.unwrap();
    drop(c);
    let mut tx = store.write().await.unwrap();
    let alert = stock::set_reorder_level(&mut tx, &actor(), &tree, &a, &toner, Some(3)).await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(alert, None, "4 is not below 3");
    let r = mv(store, MovementKind::Issue, &a, None, &toner, 2).await.unwrap();
    assert_eq!(r.alerts.len(), 1);
    assert_eq!((r.alerts[0].quantity, r.alerts[0].reorder_level), (2, 3));
    let r = mv(store, MovementKind::Issue, &a, None, &toner, 1).await.unwrap();
    assert!(r.alerts.is_empty(), "already alerted");
    let mut c = store.read().await.unwrap();
    let below = stock::list_levels(&mut c, &[school.0, town.0], None, true).await.unwrap();
    drop(c);
    assert_eq!(below.len(), 1);
    assert_eq!((below[0].store_id, below[0].quantity), (a.id, 1));
    let r = mv(store, MovementKind::Receive, &a, None, &toner, 5).await.unwrap();
    assert!(r.alerts.is_empty());
    let r = mv(store, MovementKind::Adjust, &a, None, &toner, 0).await.unwrap();
    assert_eq!(r.alerts.len(), 1, "re-armed at 6, alerted again at 0");
    assert_sums(store).await;

    // A store with history is not deleted; an empty one is.
    let mut tx = store.write().await.unwrap();
    assert!(matches!(stock::delete_store(&mut tx, &actor(), &a).await, Err(StoreError::Conflict(_))));
    drop(tx);
    let mut tx = store.write().await.unwrap();
    stock::delete_store(&mut tx, &actor(), &c_store).await.unwrap();
    tx.commit().await.unwrap();
}

/// A long pseudo-random sequence of movements over two stores and two items; after it, every
/// level equals the sum of its movements and none is negative.
async fn random_sequence(store: &Store) {
    let e = entity(store, "Séquence", None).await;
    let stores = [new_store(store, e, "S1").await, new_store(store, e, "S2").await];
    let items = [new_item(store, e, "I1").await, new_item(store, e, "I2").await];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    let (mut ok, mut refused) = (0, 0);
    for _ in 0..80 {
        let kind = MovementKind::ALL[next(4) as usize];
        let (s, o) = (next(2) as usize, next(2) as usize);
        let item = &items[next(2) as usize];
        let q = next(12) as i64 - 1;
        let to = (kind == MovementKind::Transfer).then_some(&stores[1 - s]);
        let before = (quantity(store, &stores[s], item.id).await, quantity(store, &stores[o], item.id).await);
        match mv(store, kind, &stores[s], to, item, q).await {
            Ok(_) => ok += 1,
            Err(StoreError::Validation(_)) => {
                refused += 1;
                let after = (quantity(store, &stores[s], item.id).await, quantity(store, &stores[o], item.id).await);
                assert_eq!(before, after, "a refused movement changes nothing");
            }
            Err(e) => panic!("{e:?}"),
        }
    }
    assert!(ok > 20 && refused > 5, "{ok} {refused}");
    assert_sums(store).await;
}

/// Twenty concurrent issues of one unit from a level of 7: exactly 7 succeed.
async fn concurrent_issues(store: &Store) {
    let e = entity(store, "Concurrence", None).await;
    let s = new_store(store, e, "Magasin").await;
    let item = new_item(store, e, "Chargeur USB-C").await;
    mv(store, MovementKind::Receive, &s, None, &item, 7).await.unwrap();
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (store, s, item) = (store.clone(), s.clone(), item.clone());
        tasks.push(tokio::spawn(async move { mv(&store, MovementKind::Issue, &s, None, &item, 1).await.is_ok() }));
    }
    let mut done = 0;
    for t in tasks {
        done += usize::from(t.await.unwrap());
    }
    assert_eq!(done, 7);
    assert_eq!(quantity(store, &s, item.id).await, 0);
    assert_sums(store).await;
}
