//! The scheduler against a real database and real plugins: due checks are claimed, run with
//! Debian's check_dummy and recorded; a HARD problem queues its notification; a configuration
//! change is picked up without resetting the state; a restarted scheduler carries on.

use chrono::Utc;
use parc_core::ServiceId;
use parc_monitor::scheduler::{Scheduler, SchedulerConfig, Stats, StoreSource};
use parc_monitor::{Limits, Runner};
use parc_store::monitoring::status;
use parc_store::monitoring::{self, HostInput, ServiceInput};
use parc_store::testing::TestDb;
use parc_store::{entities, Actor, Store};
use std::sync::Arc;
use std::time::Duration;

const CHECK_DUMMY: &str = "/usr/lib/nagios/plugins/check_dummy";

fn require_plugins() {
    assert!(
        std::path::Path::new(CHECK_DUMMY).exists(),
        "{CHECK_DUMMY} is missing: install Debian's plugins with `apt-get install -y monitoring-plugins-basic` (.ci/run does)"
    );
}

fn start(store: &Store, owner: &str) -> Scheduler {
    let runner = Arc::new(Runner::new(Limits::default()));
    let cfg = SchedulerConfig {
        tick: Duration::from_millis(50),
        batch_wait: Duration::from_millis(50),
        ..Default::default()
    };
    let source = StoreSource { store: store.clone(), owner: owner.into(), poller: 0 };
    Scheduler::start(source, runner, cfg, Arc::new(Stats::default()))
}

/// Waits (polling the database, at most 20 s) until the check's last result is newer than `after_ms`.
async fn wait_result(store: &Store, id: ServiceId, after_ms: i64) -> status::ServiceStatus {
    for _ in 0..400 {
        let st = {
            let mut c = store.read().await.unwrap();
            status::status(&mut c, id, Utc::now().timestamp_millis()).await.unwrap().unwrap()
        };
        if st.last_check_ms.is_some_and(|t| t > after_ms) {
            return st;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no result for check {id} within 20 s");
}

async fn make_due(store: &Store, id: ServiceId) {
    let mut tx = store.write().await.unwrap();
    sqlx::query("UPDATE monitor_services SET next_check_ms = $1 WHERE id = $2")
        .bind(Utc::now().timestamp_millis())
        .bind(id.0)
        .execute(&mut *tx)
        .await
        .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn scheduler_runs_real_plugins_on_every_backend() {
    require_plugins();
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        story(&db.store).await;
    }
}

async fn story(store: &Store) {
    let actor = Actor::system("test");
    let (host, disk) = {
        let mut tx = store.write().await.unwrap();
        let e = entities::create(
            &mut tx,
            &actor,
            &entities::EntityInput { name: Some("Mairie".into()), parent_id: None, comment: None },
        )
        .await
        .unwrap();
        let host = monitoring::create_host(
            &mut tx,
            &actor,
            &HostInput {
                entity_id: Some(e.id.0),
                name: Some("srv-fichiers".into()),
                address: Some("127.0.0.1".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let check = serde_json::from_value(serde_json::json!({
            "type": "plugin", "command": "$USER1$/check_dummy 2 '$ARG1$'", "args": ["disque C plein à 93 %"]
        }))
        .unwrap();
        let disk = monitoring::create_service(
            &mut tx,
            &actor,
            host.id,
            &ServiceInput {
                name: Some("Disque C".into()),
                check: Some(check),
                max_attempts: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        (host, disk)
    };
    // Only the disk check is due; the host check (a ping) stays out of the way.
    make_due(store, disk.id).await;
    let t0 = Utc::now().timestamp_millis() - 1;
    let scheduler = start(store, "node-1");
    let st = wait_result(store, disk.id, t0).await;
    assert_eq!((st.state.as_str(), st.state_type.as_str()), ("CRITICAL", "HARD"));
    assert_eq!(st.output.as_deref(), Some("CRITICAL: disque C plein à 93 %"));
    assert!(st.next_check_ms > Utc::now().timestamp_millis() + 200_000, "next run in about 5 minutes");
    {
        let mut c = store.read().await.unwrap();
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM jobs WHERE kind = 'monitor_notify'").fetch_one(&mut *c).await.unwrap();
        assert_eq!(n, 1, "one PROBLEM notification queued");
    }
    scheduler.shutdown().await;

    // A configuration change keeps the state until the next result, which uses the new
    // command; a new scheduler (a restart) carries on from the stored state.
    {
        let mut tx = store.write().await.unwrap();
        let check = serde_json::from_value(
            serde_json::json!({"type": "plugin", "command": "$USER1$/check_dummy 0 'disque C : 40 %'"}),
        )
        .unwrap();
        monitoring::update_service(
            &mut tx,
            &actor,
            disk.id,
            &ServiceInput { check: Some(check), ..Default::default() },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    let st = {
        let mut c = store.read().await.unwrap();
        status::status(&mut c, disk.id, Utc::now().timestamp_millis()).await.unwrap().unwrap()
    };
    assert_eq!(st.state, "CRITICAL", "a configuration change does not reset the state");
    make_due(store, disk.id).await;
    let t1 = Utc::now().timestamp_millis() - 1;
    let scheduler = start(store, "node-2");
    let st = wait_result(store, disk.id, t1).await;
    assert_eq!(st.state, "OK");
    assert_eq!(st.output.as_deref(), Some("OK: disque C : 40 %"));
    scheduler.shutdown().await;
    let _ = host;
}
