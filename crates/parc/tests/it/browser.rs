//! A real browser (Debian's headless Chromium through chromedriver, driven by fantoccini):
//! sign in, create an asset, find it with the global search, see its history, switch to English.

use crate::app::{TestApp, PASSWORD};
use fantoccini::{ClientBuilder, Locator};
use parc_core::permissions::Profile;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn find_binary(names: &[&str]) -> Option<String> {
    names.iter().find(|p| std::path::Path::new(p).exists()).map(|p| (*p).to_owned())
}

#[tokio::test]
async fn browser_sign_in_create_search_history_english() {
    let Some(driver_bin) = find_binary(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]) else {
        assert!(std::env::var("CI").is_err(), "chromedriver is missing in CI: .ci/run installs chromium-driver");
        eprintln!(
            "\n*** SKIPPED browser test: chromedriver not installed (apt-get install chromium chromium-driver) ***\n"
        );
        return;
    };
    let app = TestApp::sqlite().await;
    let root = app.entity("Mairie de Saint-Aubin", None).await;
    app.user("tech", root, &[(root, Profile::Technician, true)]).await;

    let port = free_port();
    let driver = Driver(
        Command::new(driver_bin)
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver"),
    );
    let profile = tempfile::tempdir().unwrap();
    let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
        "goog:chromeOptions": {
            "binary": "/usr/bin/chromium",
            "prefs": { "intl.accept_languages": "fr-FR,fr" },
            "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                     "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--no-first-run",
                     "--window-size=1280,900", "--lang=fr-FR", format!("--user-data-dir={}", profile.path().display())]
        }
    }))
    .unwrap();
    let mut client = None;
    for _ in 0..50 {
        match ClientBuilder::native().capabilities(caps.clone()).connect(&format!("http://127.0.0.1:{port}")).await {
            Ok(c) => {
                client = Some(c);
                break;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    }
    let c = client.expect("connect to chromedriver");
    let result = async {
        // Sign in.
        c.goto(&app.url("/")).await?;
        assert!(c.current_url().await?.path().starts_with("/login"));
        c.find(Locator::Id("login")).await?.send_keys("tech").await?;
        c.find(Locator::Id("password")).await?.send_keys(PASSWORD).await?;
        c.find(Locator::Css("form.stack button[type=submit]")).await?.click().await?;
        wait_path(&c, |p| p == "/").await;

        // Create an asset.
        c.goto(&app.url("/assets/new")).await?;
        c.find(Locator::Css("#a-kind option[value=computer]")).await?.click().await?;
        c.find(Locator::Id("a-name")).await?.send_keys("PC-ETAT-CIVIL-02").await?;
        c.find(Locator::Id("a-asset_tag")).await?.send_keys("GPI-204551").await?;
        c.find(Locator::Id("a-ip")).await?.send_keys("192.168.207.42").await?;
        c.find(Locator::Css("form.grid button[type=submit]")).await?.click().await?;
        let created = wait_path(&c, |p| p.starts_with("/assets/") && p != "/assets/new").await;

        // Find it with the global search from another page.
        c.goto(&app.url("/")).await?;
        c.find(Locator::Id("global-q")).await?.send_keys("GPI-204551").await?;
        c.find(Locator::Css("form.search button")).await?.click().await?;
        assert_eq!(wait_path(&c, |p| p.starts_with("/assets/")).await, created, "the search jumps to the asset");
        let h1 = c.find(Locator::Css("h1")).await?.text().await?;
        assert!(h1.contains("PC-ETAT-CIVIL-02"), "search landed on {h1}");

        // Its history shows the creation.
        let history = c.find(Locator::Css("table.history")).await?.text().await?;
        assert!(history.contains("Création") && history.contains("tech"), "{history}");
        let shot = c.screenshot().await?;
        let _ = std::fs::write(std::env::temp_dir().join("parc-asset-page.png"), shot);

        // Switch to English from the menu: the same page comes back in English.
        c.find(Locator::Css("details.menu summary")).await?.click().await?;
        c.find(Locator::Css("button[lang=en]")).await?.click().await?;
        let history = poll(|| async {
            let lang = c.find(Locator::Css("html")).await.ok()?.attr("lang").await.ok()??;
            let text = c.find(Locator::Css("table.history")).await.ok()?.text().await.ok()?;
            (lang == "en").then_some(text)
        })
        .await
        .expect("the page switched to English");
        assert!(history.contains("Created"), "{history}");
        assert_eq!(c.current_url().await?.path(), created, "back on the same page");
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    let _ = c.close().await;
    drop(driver);
    result.expect("browser scenario");
}

/// Retries `f` until it gives a value (pages load asynchronously after a click), 10 s at most.
async fn poll<T, F, Fut>(f: F) -> Option<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(v) = f().await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Waits until the browser is on a path that satisfies `pred`, and returns it.
async fn wait_path(c: &fantoccini::Client, pred: impl Fn(&str) -> bool) -> String {
    poll(|| async {
        let url = c.current_url().await.ok()?;
        // The page must also have finished loading its main heading.
        c.find(Locator::Css("main h1")).await.ok()?;
        pred(url.path()).then(|| url.path().to_owned())
    })
    .await
    .expect("the browser reached the expected page")
}
