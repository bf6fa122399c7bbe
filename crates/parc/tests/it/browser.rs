//! A real browser (Debian's headless Chromium through chromedriver, driven by fantoccini):
//! sign in, create an asset, find it with the global search, see its history, switch to English.

use crate::app::{TestApp, PASSWORD};
use crate::chrome::{poll, wait_path, Browser};
use fantoccini::Locator;
use parc_core::permissions::Profile;

#[tokio::test]
async fn browser_sign_in_create_search_history_english() {
    let Some(browser) = Browser::start("browser_sign_in_create_search_history_english").await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let root = app.entity("Mairie de Saint-Aubin", None).await;
    app.user("tech", root, &[(root, Profile::Technician, true)]).await;

    let c = &browser.c;
    let result = async {
        // Sign in.
        c.goto(&app.url("/")).await?;
        assert!(c.current_url().await?.path().starts_with("/login"));
        browser.sign_in(&app.url(""), "tech", PASSWORD).await?;

        // Create an asset.
        c.goto(&app.url("/assets/new")).await?;
        c.find(Locator::Css("#a-kind option[value=computer]")).await?.click().await?;
        c.find(Locator::Id("a-name")).await?.send_keys("PC-ETAT-CIVIL-02").await?;
        c.find(Locator::Id("a-asset_tag")).await?.send_keys("GPI-204551").await?;
        c.find(Locator::Id("a-ip")).await?.send_keys("192.168.207.42").await?;
        c.find(Locator::Css("form.grid button[type=submit]")).await?.click().await?;
        let created = wait_path(c, |p| p.starts_with("/assets/") && p != "/assets/new").await;

        // Find it with the global search from another page.
        c.goto(&app.url("/")).await?;
        c.find(Locator::Id("global-q")).await?.send_keys("GPI-204551").await?;
        c.find(Locator::Css("form.search button")).await?.click().await?;
        assert_eq!(wait_path(c, |p| p.starts_with("/assets/")).await, created, "the search jumps to the asset");
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
    browser.close().await;
    result.expect("browser scenario");
}
