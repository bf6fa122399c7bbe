//! Planning and signed sheets on every backend: a technician's week (range edges, overlaps,
//! cancelled appointments), the private feed token (created, regenerated, revoked, looked up
//! by hash only), and signing an intervention: the document is stored with its SHA-256 in the
//! audit trail, the task is done, a second signature is refused and documents never change.

mod common;

use chrono::{DateTime, TimeZone, Utc};
use common::{actor, entity};
use parc_core::audit::{AuditAction, ObjectType};
use parc_core::helpdesk::TicketStatus;
use parc_core::permissions::Profile;
use parc_core::{EntityId, TaskId, UserId};
use parc_store::helpdesk::{self, SignatureInput, TaskInput, Ticket, TicketInput};
use parc_store::testing::TestDb;
use parc_store::users::UserInput;
use parc_store::{audit, entities, Store, StoreError};
use sha2::{Digest, Sha256};

async fn technician(store: &Store, login: &str, entity: EntityId) -> UserId {
    let input = UserInput { login: Some(login.into()), entity_id: Some(entity.0), ..Default::default() };
    common::user(store, &input, Some(Profile::Technician)).await
}

fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2030, 3, d, h, m, 0).unwrap()
}

struct Fixture {
    store: Store,
    tree: parc_core::entities::EntityTree,
    ticket: Ticket,
    tech: UserId,
}

impl Fixture {
    async fn new(store: &Store) -> Fixture {
        let root = entity(store, "Mairie", None).await;
        let tech = technician(store, "tech", root).await;
        let mut c = store.read().await.unwrap();
        let (tree, cfg) = (entities::tree(&mut c).await.unwrap(), helpdesk::config(&mut c).await.unwrap());
        drop(c);
        let mut tx = store.write().await.unwrap();
        let input = TicketInput {
            entity_id: Some(root.0),
            title: Some("Imprimante bloquée".into()),
            requester_name: Some("Mme Petit".into()),
            ..Default::default()
        };
        let ticket = helpdesk::create(&mut tx, &actor(), &cfg, &tree, &input).await.unwrap();
        tx.commit().await.unwrap();
        Fixture { store: store.clone(), tree, ticket, tech }
    }

    /// An appointment of the technician on the fixture's ticket.
    async fn appointment(&self, start: DateTime<Utc>, end: DateTime<Utc>, on_site: bool) -> TaskId {
        let mut tx = self.store.write().await.unwrap();
        let input = TaskInput {
            description: Some(format!("RDV {start}")),
            technician_user_id: Some(self.tech.0),
            on_site: Some(on_site),
            planned_start: Some(start.to_rfc3339()),
            planned_end: Some(end.to_rfc3339()),
            ..Default::default()
        };
        let k = helpdesk::save_task(&mut tx, &actor(), &self.tree, self.ticket.id, None, &input).await.unwrap();
        tx.commit().await.unwrap();
        k.id
    }
}

#[tokio::test]
async fn planning_story_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let f = Fixture::new(&db.store).await;
        week(&f).await;
        feed(&f).await;
        signing(&f).await;
    }
}

async fn week(f: &Fixture) {
    // Monday 4 March 2030 to Monday 11 March, UTC.
    let (monday, next) = (at(4, 0, 0), at(11, 0, 0));
    let before = f.appointment(at(3, 22, 0), at(4, 1, 0), false).await; // starts the Sunday before
    let a = f.appointment(at(5, 8, 0), at(5, 10, 0), true).await;
    let b = f.appointment(at(5, 9, 30), at(5, 11, 0), false).await;
    let c = f.appointment(at(5, 11, 0), at(5, 12, 0), false).await; // touches b: no overlap
    let _after = f.appointment(at(11, 0, 0), at(11, 1, 0), false).await; // the next week
    let _ended = f.appointment(at(3, 8, 0), at(4, 0, 0), false).await; // ends as the week starts

    let mut c0 = f.store.read().await.unwrap();
    let list = helpdesk::appointments(&mut c0, f.tech, monday, next).await.unwrap();
    let ids: Vec<TaskId> = list.iter().map(|x| x.task_id).collect();
    assert_eq!(ids, vec![before, a, b, c], "what meets the week, by start");
    let flagged: Vec<TaskId> = list.iter().filter(|x| x.overlaps).map(|x| x.task_id).collect();
    assert_eq!(flagged, vec![a, b]);
    let first = &list[1];
    assert_eq!(
        (first.ticket_id, first.ticket_title.as_str(), first.on_site, first.ticket_status),
        (f.ticket.id, "Imprimante bloquée", true, TicketStatus::Planned),
        "planning moved the ticket to planned"
    );
    assert_eq!(first.planned_start, "2030-03-05T08:00:00.000Z");
    // Another technician's week is empty.
    let other = helpdesk::appointments(&mut c0, UserId(f.tech.0 + 1000), monday, next).await.unwrap();
    assert!(other.is_empty());
}

async fn feed(f: &Fixture) {
    let mut c = f.store.read().await.unwrap();
    assert_eq!(helpdesk::feed_created_at(&mut c, f.tech).await.unwrap(), None);
    drop(c);
    let mut tx = f.store.write().await.unwrap();
    let first = helpdesk::create_feed(&mut tx, &actor(), f.tech).await.unwrap();
    tx.commit().await.unwrap();
    assert!(helpdesk::is_feed_token(&first), "{first}");
    let mut c = f.store.read().await.unwrap();
    assert_eq!(helpdesk::feed_owner(&mut c, &first).await.unwrap(), Some(f.tech));
    assert!(helpdesk::feed_created_at(&mut c, f.tech).await.unwrap().is_some());
    // Only the hash is stored.
    let stored: Vec<(String,)> =
        sqlx::query_as("SELECT token_hash FROM calendar_feeds").fetch_all(&mut *c).await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].0 != first && stored[0].0.len() == 64, "{stored:?}");
    drop(c);

    // Regenerating replaces it: the old URL stops working.
    let mut tx = f.store.write().await.unwrap();
    let second = helpdesk::create_feed(&mut tx, &actor(), f.tech).await.unwrap();
    tx.commit().await.unwrap();
    assert_ne!(first, second);
    let mut c = f.store.read().await.unwrap();
    assert_eq!(helpdesk::feed_owner(&mut c, &first).await.unwrap(), None);
    assert_eq!(helpdesk::feed_owner(&mut c, &second).await.unwrap(), Some(f.tech));
    assert_eq!(helpdesk::feed_owner(&mut c, "not-a-token").await.unwrap(), None);
    let trail = audit::for_object(&mut c, ObjectType::User, f.tech.0, 10).await.unwrap();
    let creations = trail.iter().filter(|e| e.action == AuditAction::TokenCreate.as_str()).count();
    assert_eq!(creations, 2, "{trail:?}");
    assert!(!serde_json::to_string(&trail).unwrap().contains(&second), "the token is never audited");
    drop(c);

    // Revoked: gone; revoking again says there was nothing.
    let mut tx = f.store.write().await.unwrap();
    assert!(helpdesk::revoke_feed(&mut tx, &actor(), f.tech).await.unwrap());
    assert!(!helpdesk::revoke_feed(&mut tx, &actor(), f.tech).await.unwrap());
    tx.commit().await.unwrap();
    let mut c = f.store.read().await.unwrap();
    assert_eq!(helpdesk::feed_owner(&mut c, &second).await.unwrap(), None);
    assert_eq!(helpdesk::feed_created_at(&mut c, f.tech).await.unwrap(), None);
}

async fn signing(f: &Fixture) {
    let on_site = f.appointment(at(20, 9, 0), at(20, 10, 0), true).await;
    let remote = f.appointment(at(20, 14, 0), at(20, 15, 0), false).await;
    let pdf = b"%PDF-1.4 signed sheet".to_vec();
    let input =
        SignatureInput {
            signer_name: "Mme Petit".into(), duration_minutes: 45, report: Some("Rouleau changé".into())
        };

    // Bad input and a task that is not on site: refused, nothing written.
    let mut tx = f.store.write().await.unwrap();
    let bad = SignatureInput { signer_name: " ".into(), duration_minutes: 0, report: None };
    let r = helpdesk::sign_task(&mut tx, &actor(), &f.ticket, on_site, &bad, "x.pdf", &pdf).await;
    let Err(StoreError::Validation(e)) = r else { panic!("{r:?}") };
    let fields: Vec<&str> = e.fields.iter().map(|x| x.field.as_str()).collect();
    assert_eq!(fields, vec!["signer_name", "duration_minutes"]);
    let r = helpdesk::sign_task(&mut tx, &actor(), &f.ticket, remote, &input, "x.pdf", &pdf).await;
    assert!(matches!(&r, Err(StoreError::Validation(e)) if e.fields[0].code == "not_on_site"), "{r:?}");
    drop(tx);

    let mut tx = f.store.write().await.unwrap();
    let doc = helpdesk::sign_task(&mut tx, &actor(), &f.ticket, on_site, &input, "fiche-1.pdf", &pdf).await.unwrap();
    tx.commit().await.unwrap();
    let sha = hex::encode(Sha256::digest(&pdf));
    assert_eq!((doc.sha256.as_str(), doc.size, doc.task_id), (sha.as_str(), pdf.len() as i64, Some(on_site)));

    let mut c = f.store.read().await.unwrap();
    assert_eq!(helpdesk::document_content(&mut c, doc.id).await.unwrap(), Some(pdf.clone()));
    assert_eq!(helpdesk::documents_of(&mut c, f.ticket.id).await.unwrap().len(), 1);
    assert_eq!(helpdesk::signed_sheet(&mut c, on_site).await.unwrap().map(|d| d.id), Some(doc.id));
    let k = helpdesk::task(&mut c, on_site).await.unwrap().unwrap();
    assert!(k.done && k.done_at.is_some(), "{k:?}");
    assert_eq!(
        (k.duration_minutes, k.signer_name.as_deref(), k.report.as_deref()),
        (45, Some("Mme Petit"), Some("Rouleau changé"))
    );
    let trail = audit::for_object(&mut c, ObjectType::Ticket, f.ticket.id.0, 100).await.unwrap();
    let sign = trail.iter().find(|e| e.action == AuditAction::Sign.as_str()).expect("a sign event");
    assert!(sign.changes.iter().any(|ch| ch.field == "sha256" && ch.new.as_deref() == Some(sha.as_str())), "{sign:?}");
    // The signed intervention is done: the week no longer flags it as cancelled, and it is signed.
    let list = helpdesk::appointments(&mut c, f.tech, at(20, 0, 0), at(21, 0, 0)).await.unwrap();
    assert!(list.iter().any(|x| x.task_id == on_site && x.signed && x.done));
    drop(c);

    // A second signature: a conflict. A signed task cannot be changed either.
    let mut tx = f.store.write().await.unwrap();
    let again = helpdesk::sign_task(&mut tx, &actor(), &f.ticket, on_site, &input, "x.pdf", &pdf).await;
    assert!(matches!(again, Err(StoreError::Conflict(_))), "{again:?}");
    let change = TaskInput { duration_minutes: Some(5), ..Default::default() };
    let r = helpdesk::save_task(&mut tx, &actor(), &f.tree, f.ticket.id, Some(on_site), &change).await;
    assert!(matches!(r, Err(StoreError::Validation(_))), "{r:?}");
    drop(tx);

    // Documents are immutable: the database refuses updates and deletes.
    for sql in ["UPDATE documents SET filename = 'autre.pdf'", "DELETE FROM documents"] {
        let mut tx = f.store.write().await.unwrap();
        let r = sqlx::query(sql).execute(&mut *tx).await;
        assert!(r.is_err(), "{sql} must fail");
        drop(tx);
    }
    let mut c = f.store.read().await.unwrap();
    let d = helpdesk::document(&mut c, doc.id).await.unwrap().unwrap();
    assert_eq!((d.filename.as_str(), d.sha256.as_str()), ("fiche-1.pdf", sha.as_str()));
}
