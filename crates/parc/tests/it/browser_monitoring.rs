//! The status wall in headless Chromium: a school principal (a requester) keeps the wall open;
//! the real scheduler runs a real plugin script on the file server; when the disk check starts
//! failing, the server's tile turns from green to red without anyone reloading the page, with
//! the plain-language line "disque / plein".

use crate::app::{TestApp, PASSWORD};
use crate::chrome::Browser;
use fantoccini::Locator;
use parc_core::permissions::Profile;
use parc_monitor::scheduler::{Scheduler, SchedulerConfig, Stats, StoreSource};
use parc_monitor::{Limits, Runner};
use parc_store::monitoring::{self, HostInput, ServiceInput};
use parc_store::Actor;
use std::sync::Arc;
use std::time::Duration;

/// The class of the host's tile on the wall, once the page shows it.
async fn tile_class(c: &fantoccini::Client, host: i64) -> Option<String> {
    let tile = c.find(Locator::Css(&format!("[data-host-id='{host}']"))).await.ok()?;
    tile.attr("class").await.ok()?
}

/// Polls the tile's class for up to 40 s until it contains `want`.
async fn wait_tile(c: &fantoccini::Client, host: i64, want: &str) -> String {
    let mut last = None;
    for _ in 0..400 {
        last = tile_class(c, host).await;
        if last.as_deref().is_some_and(|cl| cl.split_whitespace().any(|x| x == want)) {
            return last.unwrap_or_default();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("the tile of host {host} never got class {want}: {last:?}");
}

#[tokio::test]
async fn browser_status_wall_turns_red() {
    let Some(browser) = Browser::start("browser_status_wall_turns_red").await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let root = app.entity("Collège Jean Moulin", None).await;
    app.user("principale", root, &[(root, Profile::Requester, true)]).await;
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("state");
    std::fs::write(&state, "0").unwrap();
    // A plugin whose exit code the test sets (the output is what check_disk prints).
    let script = dir.path().join("check_state.sh");
    std::fs::write(
        &script,
        format!(
            "read code < {}\nif [ \"$code\" = 0 ]; then echo 'DISK OK - free space: / 9000 MB (45%);| /=10000MB;16384;18432;0;19660'; \
             else echo 'DISK CRITICAL - free space: / 1200 MB (6.1%);| /=18500MB;16384;18432;0;19660'; fi\nexit $code\n",
            state.display()
        ),
    )
    .unwrap();
    let (host, disk) = {
        let mut tx = app.db.store.write().await.unwrap();
        let actor = Actor::system("test");
        let host = monitoring::create_host(
            &mut tx,
            &actor,
            &HostInput {
                entity_id: Some(root.0),
                name: Some("SRV-FICHIERS".into()),
                display_name: Some("Serveur de fichiers".into()),
                address: Some("127.0.0.1".into()),
                wall_group: Some("Salle serveur".into()),
                host_check: Some(
                    serde_json::from_value(
                        serde_json::json!({"type": "plugin", "command": "$USER1$/check_dummy 0 'en ligne'"}),
                    )
                    .unwrap(),
                ),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        let check = serde_json::from_value(serde_json::json!({
            "type": "plugin", "command": format!("/bin/sh {}", script.display())
        }))
        .unwrap();
        let disk = monitoring::create_service(
            &mut tx,
            &actor,
            host.id,
            &ServiceInput {
                name: Some("Disque /".into()),
                check: Some(check),
                check_interval_s: Some(10),
                retry_interval_s: Some(5),
                max_attempts: Some(1),
                ..Default::default()
            },
        )
        .await
        .unwrap();
        // The host check and the disk check are due now.
        sqlx::query("UPDATE monitor_services SET next_check_ms = 0").execute(&mut *tx).await.unwrap();
        tx.commit().await.unwrap();
        (host, disk)
    };
    let source = StoreSource { store: app.db.store.clone(), owner: "browser-test".into(), poller: 0 };
    let scheduler = Scheduler::start(
        source,
        Arc::new(Runner::new(Limits::default())),
        SchedulerConfig {
            tick: Duration::from_millis(50),
            batch_wait: Duration::from_millis(50),
            ..Default::default()
        },
        Arc::new(Stats::default()),
    );
    let c = &browser.c;
    let result = async {
        browser.sign_in(&app.url(""), "principale", PASSWORD).await?;
        c.goto(&app.url("/monitoring?refresh=5")).await?;
        let green = wait_tile(c, host.id.0, "tile-ok").await;
        assert!(green.contains("tile-ok"), "{green}");
        // The disk fills up; the next run (made due now) reports CRITICAL.
        std::fs::write(&state, "2").unwrap();
        {
            let mut tx = app.db.store.write().await.unwrap();
            sqlx::query("UPDATE monitor_services SET next_check_ms = 0 WHERE id = $1 AND lease_owner IS NULL")
                .bind(disk.id.0)
                .execute(&mut *tx)
                .await
                .unwrap();
            tx.commit().await.unwrap();
        }
        let url_before = c.current_url().await?;
        let red = wait_tile(c, host.id.0, "tile-critical").await;
        assert!(red.contains("tile-critical"), "{red}");
        let text = c.find(Locator::Css(&format!("[data-host-id='{}']", host.id.0))).await?.text().await?;
        assert!(text.contains("Serveur de fichiers"), "{text}");
        assert!(text.to_lowercase().contains("disque"), "plain-language line: {text}");
        assert_eq!(c.current_url().await?, url_before, "no navigation: the page refreshed itself");
        Ok::<_, fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await;
    scheduler.shutdown().await;
    result.expect("browser scenario");
}
