//! A tablet collection on a 360 px wide phone in headless Chromium: the technician types scans
//! into the field as a USB scanner would (code then Enter); each answer shows at once with its
//! colour (found, duplicate, unexpected) and the counts move without a reload; a colleague's
//! scan from another device arrives through the live view; the principal then signs the
//! report on the closing page, and the campaign is closed with its signed PDF stored.

use crate::app::{post_json as post, TestApp, PASSWORD};
use crate::chrome::{draw, poll, wait_path, Browser};
use fantoccini::{Client, Locator};
use parc_core::permissions::Profile;
use serde_json::json;

/// Types a code and Enter into the scan field, then waits for the banner to say `outcome`.
async fn scan(c: &Client, code: &str, outcome: &str) -> Result<String, fantoccini::error::CmdError> {
    let before = c.find(Locator::Css("#scan-feed li")).await.ok();
    let before = match before {
        Some(li) => li.text().await?,
        None => String::new(),
    };
    c.find(Locator::Id("scan-code")).await?.send_keys(&format!("{code}\u{E007}")).await?;
    let banner = poll(|| async {
        let b = c.find(Locator::Id("scan-result")).await.ok()?;
        let class = b.attr("class").await.ok()??;
        let first = c.find(Locator::Css("#scan-feed li")).await.ok()?.text().await.ok()?;
        (class.split_whitespace().any(|x| x == outcome) && first != before).then_some(b)
    })
    .await
    .unwrap_or_else(|| panic!("the banner never said {outcome} for {code}"));
    banner.text().await
}

async fn count(c: &Client, what: &str) -> String {
    c.find(Locator::Css(&format!("#tally [data-count='{what}']"))).await.unwrap().text().await.unwrap()
}

#[tokio::test]
async fn browser_reconciles_tablets_on_a_phone() {
    let Some(browser) = Browser::start_sized("browser_reconciles_tablets_on_a_phone", 360, 740).await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let school = app.entity("École Jean Moulin", None).await;
    let (_, token) = app.user("tech", school, &[(school, Profile::Technician, true)]).await;
    let (_, colleague) = app.user("collegue", school, &[(school, Profile::Technician, true)]).await;
    for i in 0..5 {
        post(
            &app,
            &token,
            "/assets",
            json!({ "kind": "tablet", "entity_id": school.0, "name": format!("Tablette {i}"), "serial": format!("DMP{i:03}"), "status": "loaned" }),
        )
        .await;
    }
    let campaign = post(
        &app,
        &token,
        "/campaigns",
        json!({ "name": "Ramassage des tablettes", "kind": "tablet_collection", "entity_id": school.0, "source": { "filter": "kind=tablet" } }),
    )
    .await;
    let id = campaign["id"].as_i64().unwrap();

    let c = &browser.c;
    let result = async {
        browser.sign_in(&app.url(""), "tech", PASSWORD).await?;
        c.goto(&app.url(&format!("/campaigns/{id}"))).await?;
        wait_path(c, |p| p == format!("/campaigns/{id}")).await;
        assert_eq!(count(c, "missing").await, "5");

        let text = scan(c, "dmp000", "found").await?;
        assert!(text.contains("Tablette 0"), "{text}");
        assert_eq!(count(c, "found").await, "1");
        assert_eq!(count(c, "missing").await, "4");
        scan(c, "DMP-000", "duplicate").await?;
        assert_eq!(count(c, "duplicates").await, "1");
        let text = scan(c, "CHARGEUR-12", "unexpected").await?;
        assert!(text.contains("CHARGEUR-12"), "{text}");
        scan(c, "DMP001", "found").await?;
        // The field is cleared and ready for the next scan.
        assert_eq!(c.find(Locator::Id("scan-code")).await?.prop("value").await?.unwrap_or_default(), "");

        // A colleague scans from another phone: the live view shows it without a reload.
        post(&app, &colleague, &format!("/campaigns/{id}/scans"), json!({ "code": "DMP002" })).await;
        poll(|| async { (count(c, "found").await == "3").then_some(()) }).await.expect("the colleague's scan arrives");
        let feed = c.find(Locator::Id("scan-feed")).await?.text().await?;
        assert!(feed.contains("Tablette 2"), "{feed}");
        let missing = c.find(Locator::Id("list-missing")).await?.text().await?;
        assert!(!missing.contains("Tablette 2") && missing.contains("Tablette 4"), "{missing}");
        let _ = std::fs::write(std::env::temp_dir().join("parc-campaign-phone.png"), c.screenshot().await?);

        // The principal signs the report on the same phone.
        c.goto(&app.url(&format!("/campaigns/{id}/close"))).await?;
        let canvas = poll(|| async {
            let el = c.find(Locator::Id("c-canvas")).await.ok()?;
            el.is_displayed().await.ok()?.then_some(el)
        })
        .await
        .expect("the signature pad is shown");
        c.find(Locator::Id("c-signer")).await?.send_keys("Mme Martin").await?;
        draw(c, &canvas, "finger").await?;
        c.find(Locator::Css("form.card button[type=submit]")).await?.click().await?;
        wait_path(c, |p| p == format!("/campaigns/{id}")).await;
        let notice = c.find(Locator::Css("p.flash")).await?.text().await?;
        assert!(notice.contains("clôturée"), "{notice}");
        c.find(Locator::Css(&format!("a[href='/campaigns/{id}/report.pdf']"))).await?;
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await;
    result.expect("reconciliation scenario");

    let mut conn = app.db.store.read().await.unwrap();
    let closed = parc_store::campaigns::get(&mut conn, parc_core::CampaignId(id)).await.unwrap().unwrap();
    assert_eq!(closed.signer_name.as_deref(), Some("Mme Martin"));
    assert_eq!(
        (closed.tally.found, closed.tally.missing, closed.tally.unexpected, closed.tally.duplicates),
        (3, 2, 1, 1)
    );
    let doc = closed.document_id.expect("the signed report is stored");
    let pdf = parc_store::documents::document_content(&mut conn, doc).await.unwrap().unwrap();
    assert!(pdf.starts_with(b"%PDF"));
}
