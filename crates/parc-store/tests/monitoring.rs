//! The monitoring story on every backend: a server asset is monitored with a template behind a
//! switch; bad commands and parent loops are refused; checks are leased to one scheduler at a
//! time; results go SOFT then HARD; the switch going DOWN makes the server UNREACHABLE and
//! only the switch alerts; acknowledgements, downtimes, recoveries, performance data,
//! availability and roll-ups behave as Nagios users expect.

mod common;

use chrono::{Duration, Utc};
use common::{actor, entity};
use parc_core::assets::AssetInput;
use parc_core::monitoring::notify::NotificationType;
use parc_core::monitoring::{parse_output, ServiceState, StateType};
use parc_core::ServiceId;
use parc_store::jobs;
use parc_store::monitoring::schedule::{self, CheckResult, MONITOR_NOTIFY};
use parc_store::monitoring::status::{self, AckInput, DowntimeInput, StatusFilter};
use parc_store::monitoring::{self, HostInput, ServiceInput};
use parc_store::testing::TestDb;
use parc_store::{assets, Store, StoreError};
use std::collections::HashSet;

#[tokio::test]
async fn monitoring_story_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        story(&db.store).await;
    }
}

#[tokio::test]
async fn concurrent_schedulers_never_share_a_check() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        concurrent_claims(&db.store).await;
    }
}

fn result(id: ServiceId, state: ServiceState, text: &str) -> CheckResult {
    let out = parse_output(text);
    CheckResult {
        service_id: id,
        owner: None,
        state,
        summary: out.summary,
        long_output: out.long_output,
        perfdata: out.perfdata,
        started_at: Utc::now(),
        duration_ms: 12,
    }
}

/// Records passive results one at a time, each in its own transaction.
async fn feed(store: &Store, id: ServiceId, state: ServiceState, text: &str, times: usize) -> Vec<schedule::Recorded> {
    let mut out = Vec::new();
    for _ in 0..times {
        let mut tx = store.write().await.unwrap();
        out.extend(schedule::record(&mut tx, &[result(id, state, text)], Utc::now()).await.unwrap());
        tx.commit().await.unwrap();
    }
    out
}

async fn notices(store: &Store) -> Vec<schedule::Notice> {
    let mut c = store.read().await.unwrap();
    let rows: Vec<(String,)> = sqlx::query_as("SELECT payload FROM jobs WHERE kind = $1 ORDER BY id")
        .bind(MONITOR_NOTIFY)
        .fetch_all(&mut *c)
        .await
        .unwrap();
    rows.into_iter().map(|(p,)| serde_json::from_str(&p).unwrap()).collect()
}

async fn state_of(store: &Store, id: ServiceId) -> status::ServiceStatus {
    let mut c = store.read().await.unwrap();
    status::status(&mut c, id, Utc::now().timestamp_millis()).await.unwrap().unwrap()
}

async fn story(store: &Store) {
    let root = entity(store, "Mairie", None).await;
    let school = entity(store, "Collège Victor Hugo", Some(root)).await;

    let asset = {
        let mut tx = store.write().await.unwrap();
        let input = AssetInput {
            kind: Some("server".into()),
            entity_id: Some(school.0),
            name: Some("SRV-FICHIERS".into()),
            ip: Some("192.168.201.10".into()),
            ..Default::default()
        };
        let id = assets::create(&mut tx, &actor(), store.cipher(), &input.validate(None).unwrap()).await.unwrap();
        tx.commit().await.unwrap();
        id
    };

    // The switch, then the server from its asset with the Linux template, behind the switch.
    let (switch, server) = {
        let mut tx = store.write().await.unwrap();
        let switch = monitoring::create_host(
            &mut tx,
            &actor(),
            &HostInput {
                entity_id: Some(school.0),
                name: Some("SW-CORE".into()),
                address: Some("192.168.201.1".into()),
                template: Some("switch".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let server = monitoring::create_host(
            &mut tx,
            &actor(),
            &HostInput {
                asset_id: Some(asset.0),
                display_name: Some("Serveur de fichiers".into()),
                template: Some("linux_server".into()),
                parents: Some(vec![switch.id.0]),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        (switch, server)
    };
    assert_eq!(server.name, "SRV-FICHIERS");
    assert_eq!(server.address, "192.168.201.10");
    assert_eq!(server.entity_id, school);
    assert_eq!(server.parents, vec![switch.id]);
    assert_eq!(server.state, "PENDING");
    let services = {
        let mut c = store.read().await.unwrap();
        monitoring::services_of(&mut c, server.id).await.unwrap()
    };
    assert_eq!(services.len(), 4, "host check + disk, load, SSH");
    assert!(services[0].is_host);
    let disk = services.iter().find(|s| s.name == "Disque /").unwrap().id;

    // A second host on the same asset is a conflict; nothing is written.
    {
        let mut tx = store.write().await.unwrap();
        let err =
            monitoring::create_host(&mut tx, &actor(), &HostInput { asset_id: Some(asset.0), ..Default::default() })
                .await
                .unwrap_err();
        assert!(matches!(err, StoreError::Conflict(_)), "{err:?}");
    }

    // Invalid commands and macros are refused at save time, with the field named.
    {
        let mut tx = store.write().await.unwrap();
        for (command, code) in [
            ("$USER1$/check_disk -w 10% -p $FOO$", "check_command_unknown_macro"),
            ("$USER1$/check_disk -p '/", "check_command_unbalanced_quote"),
            ("", "check_command_empty"),
        ] {
            let check = serde_json::from_value(serde_json::json!({"type": "plugin", "command": command})).unwrap();
            let err = monitoring::create_service(
                &mut tx,
                &actor(),
                server.id,
                &ServiceInput { name: Some("Bad".into()), check: Some(check), ..Default::default() },
            )
            .await
            .unwrap_err();
            let StoreError::Validation(v) = err else { panic!("{command}: {err:?}") };
            assert!(v.fields.iter().any(|f| f.code == code), "{command}: {v:?}");
        }
        let err = monitoring::create_service(
            &mut tx,
            &actor(),
            server.id,
            &ServiceInput {
                name: Some("Slow".into()),
                check: Some(serde_json::from_value(serde_json::json!({"type": "tcp", "port": 22})).unwrap()),
                check_interval_s: Some(0),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, StoreError::Validation(ref v) if v.for_field("check_interval_s").is_some()), "{err:?}");
        // A parent loop: the switch behind the server behind the switch.
        let err = monitoring::update_host(
            &mut tx,
            &actor(),
            switch.id,
            &HostInput { parents: Some(vec![server.id.0]), ..Default::default() },
        )
        .await
        .unwrap_err();
        assert!(matches!(err, StoreError::Validation(ref v) if v.fields[0].code == "monitor_parent_cycle"), "{err:?}");
    }
    {
        let mut c = store.read().await.unwrap();
        assert_eq!(monitoring::services_of(&mut c, server.id).await.unwrap().len(), 4, "nothing written");
    }

    // Leases: one scheduler claims the due checks, a second one gets none of them, and a
    // result from a scheduler that does not hold the lease is refused.
    {
        let mut tx = store.write().await.unwrap();
        sqlx::query("UPDATE monitor_services SET next_check_ms = 0").execute(&mut *tx).await.unwrap();
        let far = Utc::now().timestamp_millis() + 3_600_000;
        let a = schedule::claim(&mut tx, store.backend(), "node-a", 0, far, 100).await.unwrap();
        assert_eq!(a.len(), 5, "2 host checks + 3 services");
        let b = schedule::claim(&mut tx, store.backend(), "node-b", 0, far, 100).await.unwrap();
        assert!(b.is_empty(), "{b:?}");
        let mut r = result(disk, ServiceState::Ok, "DISK OK");
        r.owner = Some("node-b".into());
        let rec = schedule::record(&mut tx, &[r.clone()], Utc::now()).await.unwrap();
        assert!(!rec[0].accepted);
        r.owner = Some("node-a".into());
        let rec = schedule::record(&mut tx, &[r], Utc::now()).await.unwrap();
        assert!(rec[0].accepted);
        let configs = schedule::configs(&mut tx, &[disk]).await.unwrap();
        assert_eq!(configs[0].host_address, "192.168.201.10");
        // What node-a did not run goes back at once.
        assert_eq!(schedule::release(&mut tx, "node-a").await.unwrap(), 4);
        tx.commit().await.unwrap();
    }

    // A disk problem: SOFT twice, then HARD and one PROBLEM notification.
    let text = "DISK CRITICAL - free space: / 1200 MB (6.1% inode=90%);| /=18500MB;16384;18432;0;19660";
    let rec = feed(store, disk, ServiceState::Critical, text, 3).await;
    assert_eq!(
        rec.iter().map(|r| r.state_type).collect::<Vec<_>>(),
        [StateType::Soft, StateType::Soft, StateType::Hard]
    );
    assert_eq!(rec[2].notified, Some(NotificationType::Problem));
    let n = notices(store).await;
    assert_eq!(n.len(), 1);
    assert_eq!((n[0].kind.as_str(), n[0].state.as_str(), n[0].service_id), ("PROBLEM", "CRITICAL", disk.0));
    let st = state_of(store, disk).await;
    assert_eq!((st.state.as_str(), st.state_type.as_str()), ("CRITICAL", "HARD"));
    assert!(st.output.as_deref().unwrap().starts_with("DISK CRITICAL"));
    assert_eq!(st.perfdata[0].label, "/");

    // Still CRITICAL: no new notification (no re-notification interval set).
    feed(store, disk, ServiceState::Critical, text, 2).await;
    assert_eq!(notices(store).await.len(), 1);

    // Acknowledged, then recovered: the RECOVERY goes out and the acknowledgement ends.
    {
        let mut tx = store.write().await.unwrap();
        let err =
            status::acknowledge(&mut tx, &actor(), disk, &AckInput { comment: None, sticky: None }).await.unwrap_err();
        assert!(matches!(err, StoreError::Validation(_)));
        let st = status::acknowledge(
            &mut tx,
            &actor(),
            disk,
            &AckInput { comment: Some("Disque commandé".into()), sticky: Some(true) },
        )
        .await
        .unwrap();
        assert!(st.acknowledged());
        tx.commit().await.unwrap();
    }
    let rec =
        feed(store, disk, ServiceState::Ok, "DISK OK - free space: / 9000 MB|/=10000MB;16384;18432;0;19660", 1).await;
    assert_eq!(rec[0].notified, Some(NotificationType::Recovery));
    let st = state_of(store, disk).await;
    assert_eq!(st.state, "OK");
    assert!(!st.acknowledged());
    assert_eq!(notices(store).await.len(), 2);

    // The switch goes DOWN: its host check alerts; the server behind it is UNREACHABLE and
    // does not; the server's services on an unreachable host do not alert either.
    let switch_check = switch.check_id;
    feed(store, switch_check, ServiceState::Critical, "PING CRITICAL - Packet loss = 100%", 3).await;
    assert_eq!(state_of(store, switch_check).await.state, "DOWN");
    let rec = feed(store, server.check_id, ServiceState::Critical, "PING CRITICAL - Packet loss = 100%", 3).await;
    assert_eq!(rec[2].state, "UNREACHABLE");
    assert_eq!(rec[2].notified, None);
    feed(store, disk, ServiceState::Critical, text, 3).await;
    let n = notices(store).await;
    assert_eq!(n.len(), 3, "only the switch's DOWN: {n:?}");
    assert_eq!((n[2].state.as_str(), n[2].is_host), ("DOWN", true));

    // The switch comes back; during a downtime the server's problems are not notified.
    feed(store, switch_check, ServiceState::Ok, "PING OK - Packet loss = 0%", 1).await;
    feed(store, server.check_id, ServiceState::Ok, "PING OK - Packet loss = 0%", 1).await;
    let before = notices(store).await.len();
    {
        let mut tx = store.write().await.unwrap();
        let bad = DowntimeInput {
            host_id: Some(server.id.0),
            start: Some(Utc::now().to_rfc3339()),
            end: Some((Utc::now() - Duration::hours(1)).to_rfc3339()),
            comment: Some("Maintenance".into()),
            ..Default::default()
        };
        let err = status::create_downtime(&mut tx, &actor(), &bad).await.unwrap_err();
        assert!(matches!(err, StoreError::Validation(ref v) if v.fields[0].code == "downtime_end_before_start"));
        let d = status::create_downtime(
            &mut tx,
            &actor(),
            &DowntimeInput {
                host_id: Some(server.id.0),
                start: Some((Utc::now() - Duration::minutes(1)).to_rfc3339()),
                end: Some((Utc::now() + Duration::hours(2)).to_rfc3339()),
                comment: Some("Mise à jour du noyau".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        assert_eq!(d.host_name, "SRV-FICHIERS");
        tx.commit().await.unwrap();
    }
    assert!(state_of(store, disk).await.in_downtime);
    let ssh = services.iter().find(|s| s.name == "SSH").unwrap().id;
    feed(store, ssh, ServiceState::Critical, "connect to address 192.168.201.10 and port 22: Connection refused", 3)
        .await;
    assert_eq!(state_of(store, ssh).await.state_type, "HARD");
    let n = notices(store).await;
    assert_eq!(n.len(), before, "a downtime holds the notifications: {n:?}");

    // The problems list: worst first, within the reader's entities only.
    {
        let mut c = store.read().await.unwrap();
        let now = Utc::now().timestamp_millis();
        let f = StatusFilter { entities: vec![school.0], problems_only: true, ..Default::default() };
        let problems = status::statuses(&mut c, &f, now).await.unwrap();
        assert!(problems.iter().any(|p| p.id == disk && p.state == "CRITICAL"));
        assert!(problems.windows(2).all(|w| w[0].severity() >= w[1].severity()));
        let f = StatusFilter { entities: vec![root.0], problems_only: true, ..Default::default() };
        assert!(status::statuses(&mut c, &f, now).await.unwrap().is_empty(), "other entities see nothing");

        // The state-change log and the performance data.
        let events = status::events(&mut c, &[school.0], Some(disk), None, 50).await.unwrap();
        assert!(events.iter().any(|e| e.state == "OK") && events.iter().any(|e| e.state == "CRITICAL"));
        let series = status::series(
            &mut c,
            disk,
            Utc::now().timestamp() - 3600,
            Utc::now().timestamp() + 60,
            Utc::now().timestamp(),
        )
        .await
        .unwrap();
        assert_eq!(series.len(), 1);
        assert_eq!((series[0].label.as_str(), series[0].uom.as_str(), series[0].max), ("/", "MB", Some(19660.0)));
        assert!(!series[0].points.is_empty());
    }

    // Old samples roll up into 5-minute and hourly averages and leave the raw table.
    {
        let mut tx = store.write().await.unwrap();
        let (sid,): (i64,) = sqlx::query_as("SELECT id FROM monitor_series LIMIT 1").fetch_one(&mut *tx).await.unwrap();
        let old = Utc::now().timestamp() - 5 * 86_400;
        let old = old - old % 3600;
        for (i, v) in [10.0, 20.0, 30.0].iter().enumerate() {
            sqlx::query("INSERT INTO monitor_samples (series_id, at_s, value) VALUES ($1, $2, $3)")
                .bind(sid)
                .bind(old + 60 * i as i64)
                .bind(*v)
                .execute(&mut *tx)
                .await
                .unwrap();
        }
        assert_eq!(status::maintain(&mut tx, Utc::now().timestamp()).await.unwrap(), 3);
        let (avg, min, max, n): (f64, f64, f64, i64) = sqlx::query_as(
            "SELECT avg, min, max, n FROM monitor_rollups WHERE series_id = $1 AND step_s = 3600 AND at_s = $2",
        )
        .bind(sid)
        .bind(old)
        .fetch_one(&mut *tx)
        .await
        .unwrap();
        assert_eq!((avg, min, max, n), (20.0, 10.0, 30.0, 3));
        tx.commit().await.unwrap();
    }

    // Deleting the host takes its checks along; the audit trail keeps the story.
    {
        let mut tx = store.write().await.unwrap();
        monitoring::delete_host(&mut tx, &actor(), server.id).await.unwrap();
        tx.commit().await.unwrap();
        let mut c = store.read().await.unwrap();
        assert!(monitoring::service(&mut c, disk).await.unwrap().is_none());
        let (n,): (i64,) =
            sqlx::query_as("SELECT COUNT(*) FROM audit_events WHERE object_type = 'monitor_host' AND object_id = $1")
                .bind(server.id.0)
                .fetch_one(&mut *c)
                .await
                .unwrap();
        assert!(n >= 3, "create, downtime, delete: {n}");
    }
    let _ = jobs::MAIL;
}

/// Two schedulers claiming at the same time from 1000 due checks: every check is claimed
/// exactly once.
async fn concurrent_claims(store: &Store) {
    let root = entity(store, "Département", None).await;
    let check = serde_json::from_value(serde_json::json!({"type": "tcp", "port": 22})).unwrap();
    {
        let mut tx = store.write().await.unwrap();
        parc_store::monitoring::bulk::seed(&mut tx, store.backend(), root, 50, 1000, &check, "127.0.0.1", 60, 0)
            .await
            .unwrap();
        tx.commit().await.unwrap();
    }
    let claim = |owner: &'static str| {
        let store = store.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            loop {
                let mut tx = store.write().await.unwrap();
                let got = schedule::claim(&mut tx, store.backend(), owner, 0, Utc::now().timestamp_millis() + 1000, 37)
                    .await
                    .unwrap();
                tx.commit().await.unwrap();
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|c| c.id.0));
            }
        })
    };
    let (a, b) = (claim("node-a"), claim("node-b"));
    let (a, b) = (a.await.unwrap(), b.await.unwrap());
    let sa: HashSet<i64> = a.iter().copied().collect();
    let sb: HashSet<i64> = b.iter().copied().collect();
    assert_eq!(sa.len(), a.len(), "node-a claimed a check twice");
    assert_eq!(sb.len(), b.len(), "node-b claimed a check twice");
    assert!(sa.is_disjoint(&sb), "a check claimed by both nodes");
    assert_eq!(sa.len() + sb.len(), 1000);
    eprintln!("node-a {} checks, node-b {} checks", sa.len(), sb.len());
}

#[tokio::test]
async fn lasting_problems_are_renotified_then_escalated_until_acknowledged() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        renotifications(&db.store).await;
    }
}

async fn renotifications(store: &Store) {
    use parc_store::monitoring::alerts;
    let root = entity(store, "Mairie", None).await;
    let (host, svc) = {
        let mut tx = store.write().await.unwrap();
        let host = monitoring::create_host(
            &mut tx,
            &actor(),
            &HostInput {
                entity_id: Some(root.0),
                name: Some("SRV-MESSAGERIE".into()),
                address: Some("10.0.0.5".into()),
                renotify_interval_min: Some(30),
                escalate_after: Some(Some(3)),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let check = serde_json::from_value(serde_json::json!({"type": "tcp", "port": 25})).unwrap();
        let svc = monitoring::create_service(
            &mut tx,
            &actor(),
            host.id,
            &ServiceInput {
                name: Some("SMTP".into()),
                check: Some(check),
                max_attempts: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        (host, svc.id)
    };
    // The host is DOWN first: the service's problem is held (only the host alerts). Its
    // performance data has no maximum (stored as NULL).
    feed(
        store,
        host.check_id,
        ServiceState::Critical,
        "PING CRITICAL - Packet loss = 100%|rta=0ms;3000;5000;0 pl=100%;80;100",
        3,
    )
    .await;
    feed(store, svc, ServiceState::Critical, "connect to address 10.0.0.5 and port 25: Connection refused", 1).await;
    let services = |n: &[schedule::Notice]| n.iter().filter(|x| x.service_id == svc.0).count();
    assert_eq!(services(&notices(store).await), 0);
    let now = Utc::now();
    assert_eq!(alerts::watch(store, now).await.unwrap().sent, 0, "still held while the host is DOWN");
    // The host comes back, the service stays CRITICAL: the held notification goes out as number 1.
    feed(store, host.check_id, ServiceState::Ok, "PING OK", 1).await;
    assert_eq!(alerts::watch(store, now).await.unwrap().sent, 1);
    assert_eq!(alerts::watch(store, now).await.unwrap().sent, 0, "not twice");
    // Every 30 minutes a reminder; the third one is escalated.
    assert_eq!(alerts::watch(store, now + Duration::minutes(10)).await.unwrap().sent, 0);
    assert_eq!(alerts::watch(store, now + Duration::minutes(31)).await.unwrap().sent, 1);
    assert_eq!(alerts::watch(store, now + Duration::minutes(62)).await.unwrap().sent, 1);
    let n: Vec<_> = notices(store).await.into_iter().filter(|x| x.service_id == svc.0).collect();
    assert_eq!(n.iter().map(|x| (x.number, x.escalated)).collect::<Vec<_>>(), [(1, false), (2, false), (3, true)]);
    // Acknowledged: no more reminders.
    {
        let mut tx = store.write().await.unwrap();
        status::acknowledge(
            &mut tx,
            &actor(),
            svc,
            &AckInput { comment: Some("Relais en panne".into()), sticky: None },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
    }
    assert_eq!(alerts::watch(store, now + Duration::minutes(120)).await.unwrap().sent, 0);
}
