//! The job queue and the e-mail settings, on SQLite and (when reachable) PostgreSQL:
//! transactional enqueue, leases, concurrent claimers, back-off, failure and retry, and the
//! SMTP password kept encrypted and out of the audit trail.

#[allow(dead_code)] // the shared helpers this suite does not need
mod common;

use std::collections::HashSet;
use std::time::Duration;

use chrono::Utc;
use common::actor;
use parc_core::audit::ObjectType;
use parc_mail::{Email, Security, SmtpSettings};
use parc_store::jobs::{self, Retry, MAIL};
use parc_store::testing::TestDb;
use parc_store::{audit, mail_settings, Store, StoreError};
use serde_json::json;

const LEASE: Duration = Duration::from_secs(60);

async fn enqueue(store: &Store, n: usize) -> Vec<i64> {
    let mut tx = store.write().await.unwrap();
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(jobs::enqueue(&mut tx, "test", &json!({ "n": i }), None).await.unwrap());
    }
    tx.commit().await.unwrap();
    ids
}

#[tokio::test]
async fn enqueue_belongs_to_the_callers_transaction() {
    for db in TestDb::all().await {
        let store = &db.store;
        eprintln!("backend: {}", store.backend().name());

        let mut tx = store.write().await.unwrap();
        let id = jobs::enqueue(&mut tx, "test", &json!({"x": 1}), None).await.unwrap();
        drop(tx); // rolled back: the change and its job disappear together
        let mut c = store.read().await.unwrap();
        assert!(matches!(jobs::get(&mut c, id).await, Err(StoreError::NotFound)));
        assert_eq!(jobs::stats(&mut c).await.unwrap().pending, 0);
        drop(c);

        let mut tx = store.write().await.unwrap();
        let id = jobs::enqueue(&mut tx, "test", &json!({"x": 2}), None).await.unwrap();
        tx.commit().await.unwrap();
        let mut c = store.read().await.unwrap();
        let job = jobs::get(&mut c, id).await.unwrap();
        assert_eq!((job.kind.as_str(), job.attempts, job.max_attempts), ("test", 0, 10));
        assert_eq!(job.payload::<serde_json::Value>().unwrap(), json!({"x": 2}));
        assert!(job.is_pending() && job.locked_by.is_none());

        // An empty kind is refused.
        let mut tx = store.write().await.unwrap();
        assert!(matches!(jobs::enqueue(&mut tx, " ", &json!(null), None).await, Err(StoreError::Validation(_))));
    }
}

#[tokio::test]
async fn claim_leases_due_jobs_once_and_expired_leases_again() {
    for db in TestDb::all().await {
        let store = &db.store;
        eprintln!("backend: {}", store.backend().name());
        let ids = enqueue(store, 3).await;
        // A job due later, and one of another kind, are not taken.
        let mut tx = store.write().await.unwrap();
        let later = Utc::now() + chrono::Duration::minutes(10);
        let later_id = jobs::enqueue(&mut tx, "test", &json!({}), Some(later)).await.unwrap();
        jobs::enqueue(&mut tx, "other", &json!({}), None).await.unwrap();
        tx.commit().await.unwrap();

        let first = jobs::claim(store, "w1", &["test"], LEASE, 2).await.unwrap();
        assert_eq!(first.iter().map(|j| j.id).collect::<Vec<_>>(), ids[..2], "oldest first");
        assert!(first.iter().all(|j| j.locked_by.as_deref() == Some("w1") && j.locked_until.is_some()));
        let second = jobs::claim(store, "w2", &["test"], LEASE, 10).await.unwrap();
        assert_eq!(second.iter().map(|j| j.id).collect::<Vec<_>>(), ids[2..]);
        assert!(jobs::claim(store, "w3", &["test"], LEASE, 10).await.unwrap().is_empty(), "all leased");
        assert!(jobs::claim(store, "w3", &[], LEASE, 10).await.unwrap().is_empty());

        // Once due, the later job is claimable; past the lease, w1's jobs are too (w1 died).
        let after_lease = Utc::now() + chrono::Duration::seconds(61);
        let retaken = jobs::claim_at(store, "w3", &["test"], LEASE, 10, after_lease).await.unwrap();
        assert_eq!(retaken.iter().map(|j| j.id).collect::<HashSet<_>>(), ids.iter().copied().collect());
        let due_later = later + chrono::Duration::seconds(1);
        let taken = jobs::claim_at(store, "w4", &["test"], LEASE, 10, due_later).await.unwrap();
        assert!(taken.iter().any(|j| j.id == later_id && j.locked_by.as_deref() == Some("w4")), "{taken:?}");

        let other = jobs::claim(store, "w5", &["other", "test"], LEASE, 10).await.unwrap();
        assert_eq!(other.len(), 1);
        assert_eq!(other[0].kind, "other");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_claimers_get_disjoint_jobs() {
    for db in TestDb::all().await {
        let store = db.store.clone();
        eprintln!("backend: {}", store.backend().name());
        let ids = enqueue(&store, 40).await;
        let claimers: Vec<_> = (0..6)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    let mut mine = Vec::new();
                    loop {
                        let got = jobs::claim(&store, &format!("w{w}"), &["test"], LEASE, 3).await.unwrap();
                        if got.is_empty() {
                            break mine;
                        }
                        for j in got {
                            assert_eq!(j.locked_by.as_deref(), Some(format!("w{w}").as_str()));
                            mine.push(j.id);
                        }
                    }
                })
            })
            .collect();
        let mut seen = HashSet::new();
        for c in claimers {
            for id in c.await.unwrap() {
                assert!(seen.insert(id), "job {id} was claimed twice");
            }
        }
        assert_eq!(seen, ids.into_iter().collect::<HashSet<_>>());
    }
}

#[tokio::test]
async fn retries_back_off_then_fail_and_an_admin_retries() {
    for db in TestDb::all().await {
        let store = &db.store;
        eprintln!("backend: {}", store.backend().name());
        let id = enqueue(store, 1).await[0];
        let mut now = Utc::now();
        for attempt in 1..=10 {
            let claimed = jobs::claim_at(store, "w", &["test"], LEASE, 1, now).await.unwrap();
            assert_eq!(claimed.len(), 1, "attempt {attempt}");
            let before = Utc::now();
            match jobs::retry_later(store, id, &format!("421 try again ({attempt})\r\nlater")).await.unwrap() {
                Retry::Scheduled(at) => {
                    assert!(attempt < 10);
                    let delay = (at - before).num_seconds();
                    let expected = jobs::backoff(attempt).as_secs() as i64;
                    assert!((expected - 1..=expected + 1).contains(&delay), "attempt {attempt}: {delay} s");
                    // Not due before its time, due after.
                    assert!(jobs::claim_at(store, "w", &["test"], LEASE, 1, at - chrono::Duration::seconds(2))
                        .await
                        .unwrap()
                        .is_empty());
                    now = at + chrono::Duration::seconds(1);
                }
                Retry::GaveUp => assert_eq!(attempt, 10),
            }
            let mut c = store.read().await.unwrap();
            let job = jobs::get(&mut c, id).await.unwrap();
            assert_eq!(job.attempts, attempt);
            assert_eq!(job.last_error.as_deref(), Some(format!("421 try again ({attempt})  later").as_str()));
            assert!(job.locked_by.is_none() && job.locked_until.is_none(), "lease released");
        }
        let mut c = store.read().await.unwrap();
        let job = jobs::get(&mut c, id).await.unwrap();
        assert!(job.failed_at.is_some() && !job.is_pending());
        let stats = jobs::stats(&mut c).await.unwrap();
        assert_eq!((stats.pending, stats.failed), (0, 1));
        assert_eq!(jobs::recent_failures(&mut c, 10).await.unwrap()[0].id, id);
        assert!(jobs::claim_at(store, "w", &["test"], LEASE, 1, now + chrono::Duration::days(1))
            .await
            .unwrap()
            .is_empty());
        assert!(matches!(jobs::retry_later(store, id, "x").await, Err(StoreError::NotFound)));

        // The administrator puts it back: due now, attempts reset, its last error still shown.
        jobs::retry_failed(&mut c, id).await.unwrap();
        let job = jobs::get(&mut c, id).await.unwrap();
        assert!(job.is_pending() && job.attempts == 0 && job.last_error.is_some());
        assert!(matches!(jobs::retry_failed(&mut c, id).await, Err(StoreError::NotFound)), "not failed any more");
        drop(c);
        let claimed = jobs::claim(store, "w", &["test"], LEASE, 1).await.unwrap();
        assert_eq!(claimed[0].id, id);
        jobs::complete(store, id).await.unwrap();
        assert!(matches!(jobs::complete(store, id).await, Err(StoreError::NotFound)));
        let mut c = store.read().await.unwrap();
        let stats = jobs::stats(&mut c).await.unwrap();
        assert_eq!(stats, jobs::JobStats { pending: 0, retrying: 0, failed: 0, done_last_24h: 1 });

        // A permanent failure fails at once; "retry all" puts back every failed job.
        drop(c);
        let ids = enqueue(store, 2).await;
        jobs::claim(store, "w", &["test"], LEASE, 2).await.unwrap();
        jobs::retry_later(store, ids[0], "timeout").await.unwrap();
        jobs::fail(store, ids[1], "550 no such user").await.unwrap();
        let mut c = store.read().await.unwrap();
        let stats = jobs::stats(&mut c).await.unwrap();
        assert_eq!((stats.pending, stats.retrying, stats.failed), (1, 1, 1));
        let pending = jobs::pending(&mut c, 10).await.unwrap();
        assert_eq!(pending.iter().map(|j| j.id).collect::<Vec<_>>(), vec![ids[0]]);
        assert_eq!(jobs::retry_all_failed(&mut c, "test").await.unwrap(), 1);
        assert_eq!(jobs::stats(&mut c).await.unwrap().failed, 0);

        // Done jobs are purged after a while, pending ones never.
        assert_eq!(jobs::purge_done(&mut c, Utc::now() - chrono::Duration::days(1)).await.unwrap(), 0);
        assert_eq!(jobs::purge_done(&mut c, Utc::now() + chrono::Duration::seconds(1)).await.unwrap(), 1);
        assert_eq!(jobs::stats(&mut c).await.unwrap().pending, 2);
    }
}

#[tokio::test]
async fn mail_jobs_keep_the_whole_message() {
    for db in TestDb::all().await {
        let store = &db.store;
        let email = Email {
            to: vec!["Alice <alice@example.org>".into()],
            subject: "Ticket n°42".into(),
            text: "Bonjour".into(),
            attachments: vec![parc_mail::Attachment {
                filename: "f.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: vec![0, 159, 255],
            }],
            ..Email::default()
        };
        let mut tx = store.write().await.unwrap();
        let id = jobs::enqueue_mail(&mut tx, &email).await.unwrap();
        assert!(matches!(jobs::enqueue_mail(&mut tx, &Email::default()).await, Err(StoreError::Validation(_))));
        tx.commit().await.unwrap();
        let job = jobs::claim(store, "w", &[MAIL], LEASE, 5).await.unwrap().remove(0);
        assert_eq!((job.id, job.kind.as_str(), job.max_attempts), (id, MAIL, jobs::MAIL_MAX_ATTEMPTS));
        assert_eq!(job.payload::<Email>().unwrap(), email);
    }
}

#[tokio::test]
async fn smtp_password_is_encrypted_write_only_and_never_audited() {
    for db in TestDb::all().await {
        let store = &db.store;
        eprintln!("backend: {}", store.backend().name());
        let mut c = store.read().await.unwrap();
        assert_eq!(mail_settings::get(&mut c, store.cipher()).await.unwrap(), mail_settings::MailSettings::default());
        assert!(!mail_settings::enabled(&mut c).await.unwrap(), "off until configured");
        drop(c);

        let smtp = SmtpSettings {
            host: "smtp.example.org".into(),
            port: 587,
            security: Security::StartTls,
            username: Some("parc".into()),
            from: "Parc <parc@example.org>".into(),
            ..SmtpSettings::default()
        };
        let mut tx = store.write().await.unwrap();
        mail_settings::put(&mut tx, &actor(), store.cipher(), true, &smtp, Some("Tr3s-s3cret")).await.unwrap();
        tx.commit().await.unwrap();

        let mut c = store.read().await.unwrap();
        let got = mail_settings::get(&mut c, store.cipher()).await.unwrap();
        assert!(got.enabled && got.has_password());
        assert_eq!(got.smtp, Some(SmtpSettings { password: Some("Tr3s-s3cret".into()), ..smtp.clone() }));
        assert!(mail_settings::enabled(&mut c).await.unwrap());
        let (raw,): (String,) =
            sqlx::query_as("SELECT value FROM settings WHERE key = 'mail.smtp'").fetch_one(&mut *c).await.unwrap();
        assert!(!raw.contains("Tr3s-s3cret") && raw.contains("\"password_enc\":\"v1:"), "{raw}");
        let history = audit::for_object(&mut c, ObjectType::Settings, 0, 10).await.unwrap();
        let trail = serde_json::to_string(&history).unwrap();
        assert!(!trail.contains("Tr3s-s3cret"), "{trail}");
        assert!(trail.contains(r#""field":"mail.password","old":null,"new":"(changed)""#), "{trail}");
        assert!(trail.contains(r#""field":"mail.host""#), "{trail}");
        drop(c);

        // No new password: the stored one stays; the same values again change (and audit) nothing.
        let mut tx = store.write().await.unwrap();
        mail_settings::put(&mut tx, &actor(), store.cipher(), true, &smtp, None).await.unwrap();
        mail_settings::put(&mut tx, &actor(), store.cipher(), true, &smtp, Some("")).await.unwrap();
        tx.commit().await.unwrap();
        let mut c = store.read().await.unwrap();
        assert_eq!(audit::for_object(&mut c, ObjectType::Settings, 0, 10).await.unwrap().len(), 1);
        let got = mail_settings::get(&mut c, store.cipher()).await.unwrap();
        assert_eq!(got.smtp.unwrap().password.as_deref(), Some("Tr3s-s3cret"));
        drop(c);

        // Invalid settings change nothing; no user name any more drops the password.
        let mut tx = store.write().await.unwrap();
        let bad = SmtpSettings { port: 0, from: "nobody".into(), ..smtp.clone() };
        let err = mail_settings::put(&mut tx, &actor(), store.cipher(), true, &bad, None).await.unwrap_err();
        let StoreError::Validation(v) = err else { panic!("{err:?}") };
        let fields: Vec<(&str, &str)> = v.fields.iter().map(|f| (f.field.as_str(), f.code.as_str())).collect();
        assert_eq!(fields, vec![("port", "range"), ("from", "email_format")]);
        let anonymous = SmtpSettings { username: None, ..smtp.clone() };
        mail_settings::put(&mut tx, &actor(), store.cipher(), false, &anonymous, None).await.unwrap();
        tx.commit().await.unwrap();
        let mut c = store.read().await.unwrap();
        let got = mail_settings::get(&mut c, store.cipher()).await.unwrap();
        assert!(!got.enabled && !got.has_password());
        let history = audit::for_object(&mut c, ObjectType::Settings, 0, 10).await.unwrap();
        let trail = serde_json::to_string(&history[0].changes).unwrap();
        assert!(trail.contains(r#""new":"(removed)""#) && trail.contains("mail.enabled"), "{trail}");
    }
}
