//! Attachments on every backend: files attached to a ticket and to its follow-ups are stored in
//! `documents` with a sanitised name, a type sniffed from the bytes and their SHA-256 in the
//! audit trail; private follow-ups' files are listed for handlers only; empty, oversized or
//! misdirected files are refused; stored files never change.

mod common;

use common::{actor, entity};
use parc_core::audit::{AuditAction, ObjectType};
use parc_core::FollowupId;
use parc_store::helpdesk::{self, Ticket, TicketInput, ATTACHMENT_MAX_BYTES};
use parc_store::testing::TestDb;
use parc_store::{audit, entities, Store, StoreError};
use sha2::{Digest, Sha256};

const PNG: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x01";

async fn ticket(store: &Store, title: &str) -> Ticket {
    let root = entity(store, &format!("Mairie {title}"), None).await;
    let mut c = store.read().await.unwrap();
    let (tree, cfg) = (entities::tree(&mut c).await.unwrap(), helpdesk::config(&mut c).await.unwrap());
    drop(c);
    let mut tx = store.write().await.unwrap();
    let input = TicketInput {
        entity_id: Some(root.0),
        title: Some(title.into()),
        requester_name: Some("M. Durand".into()),
        ..Default::default()
    };
    let t = helpdesk::create(&mut tx, &actor(), &cfg, &tree, &input).await.unwrap();
    tx.commit().await.unwrap();
    t
}

async fn followup(store: &Store, t: &Ticket, private: bool) -> FollowupId {
    let mut tx = store.write().await.unwrap();
    let f = helpdesk::add_followup(&mut tx, &actor(), t.id, "Voir la capture", private).await.unwrap();
    tx.commit().await.unwrap();
    f.id
}

#[tokio::test]
async fn attachments_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        story(&db.store).await;
    }
}

async fn story(store: &Store) {
    let t = ticket(store, "Écran bleu").await;
    let other = ticket(store, "Autre").await;
    let public = followup(store, &t, false).await;
    let private = followup(store, &t, true).await;

    let mut tx = store.write().await.unwrap();
    let a = helpdesk::add_attachment(&mut tx, &actor(), &t, None, "../../etc/passwd", PNG).await.unwrap();
    let b = helpdesk::add_attachment(&mut tx, &actor(), &t, Some(public), "log.txt", "erreur 0x7b\n".as_bytes())
        .await
        .unwrap();
    let c_ =
        helpdesk::add_attachment(&mut tx, &actor(), &t, Some(private), "note<1>.html", b"<b>mdp</b>").await.unwrap();
    tx.commit().await.unwrap();
    assert_eq!((a.filename.as_str(), a.content_type.as_str(), a.size), ("passwd", "image/png", PNG.len() as i64));
    assert_eq!(a.sha256, hex::encode(Sha256::digest(PNG)));
    assert_eq!((b.followup_id, b.private, b.content_type.as_str()), (Some(public), false, "text/plain; charset=utf-8"));
    assert_eq!((c_.filename.as_str(), c_.private), ("note_1_.html", true));

    let mut c = store.read().await.unwrap();
    let all = helpdesk::attachments_of(&mut c, t.id, true).await.unwrap();
    assert_eq!(all.iter().map(|x| x.id).collect::<Vec<_>>(), [a.id, b.id, c_.id]);
    let public_only = helpdesk::attachments_of(&mut c, t.id, false).await.unwrap();
    assert_eq!(public_only.iter().map(|x| x.id).collect::<Vec<_>>(), [a.id, b.id]);
    assert!(helpdesk::attachments_of(&mut c, other.id, true).await.unwrap().is_empty());
    assert_eq!(helpdesk::document_content(&mut c, a.id).await.unwrap().as_deref(), Some(PNG));
    assert_eq!(helpdesk::attachment(&mut c, c_.id).await.unwrap().map(|x| x.private), Some(true));
    // The trail names the file, its size and its hash; follow-ups' files go with their events.
    let trail = audit::for_object(&mut c, ObjectType::Ticket, t.id.0, 100).await.unwrap();
    let link = trail.iter().find(|e| e.action == AuditAction::Link.as_str()).expect("a link event");
    let has = |e: &parc_store::audit::AuditEvent, field: &str, v: &str| {
        e.changes.iter().any(|ch| ch.field == field && ch.new.as_deref() == Some(v))
    };
    assert!(has(link, "attachment", &format!("#{} passwd", a.id)), "{link:?}");
    assert!(has(link, "size", &PNG.len().to_string()) && has(link, "sha256", &a.sha256), "{link:?}");
    let with_private =
        trail.iter().find(|e| has(e, "attachment", &format!("#{} note_1_.html", c_.id))).expect("private file event");
    assert_eq!(with_private.action, AuditAction::Followup.as_str());
    drop(c);

    // Refusals: empty, too large, a follow-up of another ticket. Nothing is written.
    let mut tx = store.write().await.unwrap();
    let empty = helpdesk::add_attachment(&mut tx, &actor(), &t, None, "vide.txt", b"").await;
    assert!(matches!(&empty, Err(StoreError::Validation(e)) if e.fields[0].code == "empty_file"), "{empty:?}");
    let big = vec![b'a'; ATTACHMENT_MAX_BYTES + 1];
    let large = helpdesk::add_attachment(&mut tx, &actor(), &t, None, "gros.txt", &big).await;
    assert!(matches!(&large, Err(StoreError::Validation(e)) if e.fields[0].code == "file_too_large"), "{large:?}");
    let misdirected = helpdesk::add_attachment(&mut tx, &actor(), &other, Some(public), "x.txt", b"x").await;
    assert!(
        matches!(&misdirected, Err(StoreError::Validation(e)) if e.fields[0].field == "followup_id"),
        "{misdirected:?}"
    );
    drop(tx);
    let mut c = store.read().await.unwrap();
    assert_eq!(helpdesk::attachments_of(&mut c, t.id, true).await.unwrap().len(), 3);
    assert!(helpdesk::attachments_of(&mut c, other.id, true).await.unwrap().is_empty());
    drop(c);

    // Stored files never change.
    for sql in ["UPDATE documents SET filename = 'autre.txt'", "DELETE FROM documents"] {
        let mut tx = store.write().await.unwrap();
        let r = sqlx::query(sql).execute(&mut *tx).await;
        assert!(r.is_err(), "{sql} must fail");
        drop(tx);
    }
    let mut c = store.read().await.unwrap();
    assert_eq!(helpdesk::attachment(&mut c, a.id).await.unwrap().map(|x| x.filename), Some("passwd".into()));
}
