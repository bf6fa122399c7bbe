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

/// Every field-operations screen on a 360 px phone: nothing wider than the screen.
#[tokio::test]
async fn browser_field_pages_fit_a_phone() {
    let Some(browser) = Browser::start_sized("browser_field_pages_fit_a_phone", 360, 740).await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let school = app.entity("École élémentaire Jean Moulin", None).await;
    let (_, token) = app.user("tech", school, &[(school, Profile::Technician, true)]).await;
    let store =
        post(&app, &token, "/stock/stores", json!({ "entity_id": school.0, "name": "Armoire du bureau de direction" }))
            .await;
    let item = post(
        &app,
        &token,
        "/stock/items",
        json!({ "entity_id": school.0, "name": "Toner HP 415A noir pour imprimante couleur", "reference": "W2030A" }),
    )
    .await;
    let movement = json!({ "kind": "receive", "store_id": store["id"], "item_id": item["id"], "quantity": 4, "reason": "Bon de livraison 2026-118" });
    post(&app, &token, "/stock/movements", movement).await;
    let laptop = post(
        &app,
        &token,
        "/assets",
        json!({ "kind": "computer", "entity_id": school.0, "name": "PORTABLE-PRET-01", "serial": "5CD1234XYZ", "status": "in_stock" }),
    )
    .await;
    let laptop = laptop["id"].as_i64().unwrap();
    let resp = reqwest::Client::new()
        .put(app.url(&format!("/api/v1/loans/items/{laptop}")))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert!(resp.status().is_success(), "{}", resp.status());
    let campaign = post(
        &app,
        &token,
        "/campaigns",
        json!({ "name": "Inventaire", "kind": "count", "entity_id": school.0, "source": { "filter": "kind=computer" } }),
    )
    .await;
    let pages = [
        "/stock".to_owned(),
        format!("/stock/stores/{}", store["id"]),
        "/stock/import".to_owned(),
        "/loans".to_owned(),
        format!("/loans/items/{laptop}"),
        "/loans/checkout".to_owned(),
        "/checklists".to_owned(),
        "/handover".to_owned(),
        "/handover/new".to_owned(),
        "/contacts".to_owned(),
        "/campaigns".to_owned(),
        format!("/campaigns/{}", campaign["id"]),
        format!("/campaigns/{}/close", campaign["id"]),
    ];
    let c = &browser.c;
    let result = async {
        browser.sign_in(&app.url(""), "tech", PASSWORD).await?;
        let mut wide = Vec::new();
        for page in &pages {
            c.goto(&app.url(page)).await?;
            wait_path(c, |p| p == page.as_str()).await;
            let title = c.find(Locator::Css("main h1")).await?.text().await?;
            assert!(!title.starts_with("Erreur"), "{page} answered an error page: {title}");
            let widths = c.execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![]).await?;
            let (scroll, inner) = (widths[0].as_i64().unwrap(), widths[1].as_i64().unwrap());
            if scroll > inner {
                let name = page.trim_start_matches('/').replace('/', "-");
                let _ =
                    std::fs::write(std::env::temp_dir().join(format!("parc-wide-{name}.png")), c.screenshot().await?);
                wide.push(format!("{page}: {scroll} > {inner}"));
            }
        }
        assert!(wide.is_empty(), "pages wider than a 360 px phone: {wide:?}");
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await;
    result.expect("field pages on a phone");
}
