//! Loans and reservations on every backend: the pool, reservations with the overlap rule
//! enforced in the transaction (a refusal writes nothing; two overlapping reservations sent at
//! the same time never both succeed), check-out under one signed sheet for several assets (status
//! and user of the assets, the sheet's SHA-256 in the trail), check-in with condition notes, the
//! "who has what" list, and overdue reminders claimed once per loan per day.

mod common;

use chrono::{Duration, Utc};
use common::{actor, entity};
use parc_core::assets::{AssetInput, AssetStatus};
use parc_core::audit::ObjectType;
use parc_core::loans::{BookingKind, Interval};
use parc_core::{AssetId, EntityId};
use parc_store::assets::{self, Asset};
use parc_store::loans::{self, CheckoutInput, Refusal};
use parc_store::testing::TestDb;
use parc_store::users::{self, User, UserInput};
use parc_store::{audit, jobs, Store};
use sha2::{Digest, Sha256};

async fn asset(store: &Store, entity: EntityId, name: &str, tag: &str) -> Asset {
    let input = AssetInput {
        kind: Some("computer".into()),
        entity_id: Some(entity.0),
        name: Some(name.into()),
        asset_tag: Some(tag.into()),
        serial: Some(format!("SN-{tag}")),
        ..Default::default()
    };
    let d = input.validate(None).unwrap();
    let mut tx = store.write().await.unwrap();
    let id = assets::create(&mut tx, &actor(), store.cipher(), &d).await.unwrap();
    let a = assets::get(&mut tx, id).await.unwrap().unwrap();
    tx.commit().await.unwrap();
    a
}

async fn person(store: &Store, login: &str, entity: EntityId) -> User {
    let input = UserInput {
        login: Some(login.into()),
        display_name: Some(format!("M. {login}")),
        email: Some(format!("{login}@example.org")),
        entity_id: Some(entity.0),
        ..Default::default()
    };
    let id = common::user(store, &input, None).await;
    let mut c = store.read().await.unwrap();
    users::get(&mut c, id).await.unwrap().unwrap()
}

async fn get(store: &Store, id: AssetId) -> Asset {
    let mut c = store.read().await.unwrap();
    assets::get(&mut c, id).await.unwrap().unwrap()
}

async fn reserve(store: &Store, a: &Asset, who: &User, from: i64, to: i64) -> Result<loans::Reservation, Vec<Refusal>> {
    let now = Utc::now();
    let period = Interval::new(now + Duration::hours(from), now + Duration::hours(to)).unwrap();
    let mut tx = store.write().await.unwrap();
    let r = loans::reserve(&mut tx, &actor(), a, who, period, Some("cours")).await.unwrap();
    tx.commit().await.unwrap();
    r
}

async fn count(store: &Store, table: &str) -> i64 {
    let mut c = store.read().await.unwrap();
    let (n,): (i64,) = sqlx::query_as(&format!("SELECT COUNT(*) FROM {table}")).fetch_one(&mut *c).await.unwrap();
    n
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loans_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        story(&db.store).await;
        concurrent_reservations(&db.store).await;
        db.store.close().await;
    }
}

async fn story(store: &Store) {
    let school = entity(store, "École Jules Ferry", None).await;
    let alice = person(store, "alice", school).await;
    let bob = person(store, "bob", school).await;
    let laptop = asset(store, school, "Portable 1", "PC-001").await;
    let projector = asset(store, school, "Vidéoprojecteur", "VP-001").await;

    // Not in the pool: refused.
    let r = reserve(store, &laptop, &alice, 1, 3).await.unwrap_err();
    assert!(matches!(r[0], Refusal::NotLoanable { .. }), "{r:?}");
    for a in [&laptop, &projector] {
        let mut tx = store.write().await.unwrap();
        assert!(loans::set_loanable(&mut tx, &actor(), a, true).await.unwrap());
        assert!(!loans::set_loanable(&mut tx, &actor(), a, true).await.unwrap(), "already in");
        tx.commit().await.unwrap();
    }
    let mut c = store.read().await.unwrap();
    let pool = loans::items(&mut c, &[school.0]).await.unwrap();
    assert_eq!(pool.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["Portable 1", "Vidéoprojecteur"]);
    drop(c);

    // Alice reserves the laptop from +1 h to +3 h; Bob's overlapping one is refused, touching ones are fine.
    let mine = reserve(store, &laptop, &alice, 1, 3).await.unwrap();
    let before = count(store, "loan_reservations").await;
    let audit_before = count(store, "audit_events").await;
    let refused = reserve(store, &laptop, &bob, 2, 4).await.unwrap_err();
    match &refused[..] {
        [Refusal::Booked { kind: BookingKind::Reservation, booking_id, borrower_name, .. }] => {
            assert_eq!((*booking_id, borrower_name.as_str()), (mine.id, "M. alice"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(count(store, "loan_reservations").await, before, "nothing written");
    assert_eq!(count(store, "audit_events").await, audit_before, "nothing audited");
    reserve(store, &laptop, &bob, 3, 5).await.unwrap();
    reserve(store, &projector, &bob, 2, 4).await.unwrap();

    // Bob cannot take the laptop now until +2 h (Alice's reservation); Alice can take it until +3 h.
    let sheet = b"%PDF-1.4 loan sheet".to_vec();
    fn out<'a>(who: &'a User, minutes: i64, sheet: &'a [u8]) -> CheckoutInput<'a> {
        CheckoutInput {
            borrower: who,
            due: Utc::now() + Duration::minutes(minutes),
            note: None,
            sheet,
            filename: "pret.pdf",
        }
    }
    let mut tx = store.write().await.unwrap();
    let r = loans::checkout(
        &mut tx,
        &actor(),
        store.cipher(),
        std::slice::from_ref(&laptop),
        &out(&bob, 120, &sheet),
        Utc::now(),
    )
    .await
    .unwrap();
    assert!(matches!(r.unwrap_err()[..], [Refusal::Booked { .. }]));
    drop(tx);
    assert_eq!(count(store, "loans").await, 0);

    // Bulk: Alice takes both until +2 h 30... but Bob reserved the projector from +2 h: all or nothing.
    let mut tx = store.write().await.unwrap();
    let both = [laptop.clone(), projector.clone()];
    let r =
        loans::checkout(&mut tx, &actor(), store.cipher(), &both, &out(&alice, 150, &sheet), Utc::now()).await.unwrap();
    assert_eq!(r.unwrap_err().len(), 1, "only the projector conflicts");
    drop(tx);
    assert_eq!((count(store, "loans").await, count(store, "documents").await), (0, 0));

    let mut tx = store.write().await.unwrap();
    let r =
        loans::checkout(&mut tx, &actor(), store.cipher(), &both, &out(&alice, 60, &sheet), Utc::now()).await.unwrap();
    let (out_loans, doc) = r.unwrap();
    tx.commit().await.unwrap();
    assert_eq!(out_loans.len(), 2);
    assert!(out_loans.iter().all(|l| l.document_id == Some(doc.id) && !l.overdue && l.borrower_user_id == alice.id));
    assert_eq!(doc.sha256, hex::encode(Sha256::digest(&sheet)));
    let l = get(store, laptop.id).await;
    assert_eq!((l.status, l.assigned_user_id), (AssetStatus::Loaned, Some(alice.id)));
    let mut c = store.read().await.unwrap();
    let trail = audit::for_object(&mut c, ObjectType::Asset, laptop.id.0, 50).await.unwrap();
    let checkout = trail.iter().find(|e| e.action == "checkout").expect("a checkout entry");
    assert!(checkout.changes.iter().any(|ch| ch.field == "sha256" && ch.new.as_deref() == Some(doc.sha256.as_str())));
    assert!(checkout.changes.iter().any(|ch| ch.field == "status" && ch.new.as_deref() == Some("loaned")));
    let open = loans::open_loans(&mut c, &[school.0], false, Utc::now()).await.unwrap();
    assert_eq!(open.len(), 2);
    assert!(loans::open_loans(&mut c, &[school.0], true, Utc::now()).await.unwrap().is_empty());
    let overdue_later = loans::open_loans(&mut c, &[school.0], true, Utc::now() + Duration::hours(2)).await.unwrap();
    assert_eq!(overdue_later.len(), 2);
    assert!(loans::open_loans(&mut c, &[school.0 + 999], false, Utc::now()).await.unwrap().is_empty(), "scoped");
    assert_eq!(loans::find_by_code(&mut c, &[school.0], "SN-PC-001").await.unwrap(), vec![laptop.id]);
    assert_eq!(loans::find_by_code(&mut c, &[school.0], "PC-001").await.unwrap(), vec![laptop.id]);
    assert!(loans::find_by_code(&mut c, &[school.0 + 999], "PC-001").await.unwrap().is_empty());
    drop(c);

    // Out of the pool while on loan: refused.
    let mut tx = store.write().await.unwrap();
    assert!(loans::set_loanable(&mut tx, &actor(), &get(store, laptop.id).await, false).await.is_err());
    drop(tx);

    // Overdue reminders: once per loan per day, one e-mail per borrower for all their loans.
    let later = Utc::now() + Duration::hours(2);
    let jobs_before = count(store, "jobs").await;
    let compose = |ls: &[loans::Loan]| {
        Some(parc_mail::Email {
            to: vec![ls[0].borrower_email.clone().unwrap()],
            subject: format!("{} en retard", ls.len()),
            text: "Merci de rapporter le matériel.".into(),
            ..Default::default()
        })
    };
    let pass = loans::remind_overdue(store, later, "2030-01-01", compose).await.unwrap();
    assert_eq!((pass.loans, pass.emails), (2, 1));
    let pass = loans::remind_overdue(store, later, "2030-01-01", compose).await.unwrap();
    assert_eq!((pass.loans, pass.emails), (0, 0), "not twice the same day");
    let pass = loans::remind_overdue(store, later, "2030-01-02", compose).await.unwrap();
    assert_eq!((pass.loans, pass.emails), (2, 1), "again the next day");
    assert_eq!(count(store, "jobs").await, jobs_before + 2);
    let mut c = store.read().await.unwrap();
    let pending = jobs::pending(&mut c, 10).await.unwrap();
    assert!(pending.iter().any(|j| j.payload.contains("alice@example.org")), "{pending:?}");
    drop(c);

    // Check-in: the laptop comes back with a note, the projector is still out.
    let mut c = store.read().await.unwrap();
    let l = loans::open_loan_of(&mut c, laptop.id).await.unwrap().unwrap();
    drop(c);
    let mut tx = store.write().await.unwrap();
    let back = loans::checkin(&mut tx, &actor(), store.cipher(), &l, Some("Rayure sur le capot")).await.unwrap();
    tx.commit().await.unwrap();
    assert!(back.checked_in_at.is_some() && back.condition_notes.as_deref() == Some("Rayure sur le capot"));
    let a = get(store, laptop.id).await;
    assert_eq!((a.status, a.assigned_user_id), (AssetStatus::InStock, None));
    let mut tx = store.write().await.unwrap();
    assert!(loans::checkin(&mut tx, &actor(), store.cipher(), &l, None).await.is_err(), "only once");
    drop(tx);
    let mut c = store.read().await.unwrap();
    assert_eq!(loans::open_loans(&mut c, &[school.0], false, Utc::now()).await.unwrap().len(), 1);
    assert_eq!(loans::loans_of(&mut c, laptop.id, 10).await.unwrap().len(), 1);
    let trail = audit::for_object(&mut c, ObjectType::Asset, laptop.id.0, 50).await.unwrap();
    assert!(trail.iter().any(|e| e.action == "checkin"));
    drop(c);

    // Cancelling a reservation.
    let mut tx = store.write().await.unwrap();
    loans::cancel_reservation(&mut tx, &actor(), &mine).await.unwrap();
    tx.commit().await.unwrap();
    let mut c = store.read().await.unwrap();
    assert!(loans::reservation(&mut c, mine.id).await.unwrap().is_none());
}

/// Two overlapping reservations of one asset sent at the same time: exactly one is written.
async fn concurrent_reservations(store: &Store) {
    let e = entity(store, "Collège", None).await;
    let who = person(store, "carol", e).await;
    let other = person(store, "dave", e).await;
    let a = asset(store, e, "Tablette", "TB-001").await;
    let mut tx = store.write().await.unwrap();
    loans::set_loanable(&mut tx, &actor(), &a, true).await.unwrap();
    tx.commit().await.unwrap();
    for round in 0..5 {
        let base = 10 * (round + 1);
        let tasks = [who.clone(), other.clone()].map(|u| {
            let (store, a) = (store.clone(), a.clone());
            tokio::spawn(async move { reserve(&store, &a, &u, base, base + 2).await.is_ok() })
        });
        let mut ok = 0;
        for t in tasks {
            ok += usize::from(t.await.unwrap());
        }
        assert_eq!(ok, 1, "round {round}: exactly one of two overlapping reservations");
    }
}
