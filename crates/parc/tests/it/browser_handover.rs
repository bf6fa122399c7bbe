//! A phone hand-over on a 360 px wide headless Chromium: the technician opens the form from the
//! new phone's page, picks the user, ticks accessories, the user and the technician each draw
//! a stroke on their signature pad (WebDriver pointer actions), and the receipt is stored with
//! two signature images that are not blank; the page never scrolls sideways.

use crate::app::{post_json as post, TestApp, PASSWORD};
use crate::chrome::{dark_pixels_per_image, draw, poll, wait_path, Browser};
use fantoccini::Locator;
use parc_core::assets::AssetStatus;
use parc_core::permissions::Profile;
use parc_core::AssetId;
use parc_store::{assets, documents, handover};
use serde_json::json;

#[tokio::test]
async fn browser_records_a_phone_handover_with_two_signatures() {
    let Some(browser) = Browser::start_sized("browser_records_a_phone_handover_with_two_signatures", 360, 780).await
    else {
        return;
    };
    let app = TestApp::sqlite().await;
    let school = app.entity("Collège Jean Moulin", None).await;
    let (_, token) = app.user("tech", school, &[(school, Profile::Technician, true)]).await;
    let (agent, _) = app.user("agent", school, &[]).await;
    let phone = post(
        &app,
        &token,
        "/assets",
        json!({"kind": "mobile_phone", "entity_id": school.0, "name": "TEL-NEUF", "asset_tag": "GPI-0202",
            "manufacturer": "Samsung", "model": "Galaxy A15", "imei": "353456789012355", "status": "in_stock"}),
    )
    .await;
    let phone = phone["id"].as_i64().unwrap();

    let c = &browser.c;
    let result = async {
        browser.sign_in(&app.url(""), "tech", PASSWORD).await?;
        c.goto(&app.url(&format!("/assets/{phone}"))).await?;
        c.find(Locator::Css(&format!("a[href='/handover/new?asset={phone}']"))).await?.click().await?;
        wait_path(c, |p| p == "/handover/new").await;
        let user_canvas = poll(|| async {
            let el = c.find(Locator::Id("h-user-canvas")).await.ok()?;
            el.is_displayed().await.ok()?.then_some(el)
        })
        .await
        .expect("the signature pads are shown");
        c.find(Locator::Id("h-recipient")).await?.select_by_value(&agent.0.to_string()).await?;
        c.find(Locator::Id("h-reason")).await?.send_keys("Nouvel agent").await?;
        c.find(Locator::Css("input[name=delivered_charger]")).await?.click().await?;
        c.find(Locator::Css("input[name=delivered_box]")).await?.click().await?;
        draw(c, &user_canvas, "finger").await?;
        let tech_canvas = c.find(Locator::Id("h-tech-canvas")).await?;
        draw(c, &tech_canvas, "stylus").await?;
        for field in ["h-user-signature", "h-tech-signature"] {
            let value = c.find(Locator::Id(field)).await?.prop("value").await?.unwrap_or_default();
            assert!(value.starts_with("data:image/png;base64,"), "{field}: {}", &value[..value.len().min(40)]);
        }
        // Usable on a phone: nothing wider than the screen.
        let widths = c.execute("return [document.documentElement.scrollWidth, window.innerWidth];", vec![]).await?;
        let (scroll, inner) = (widths[0].as_i64().unwrap(), widths[1].as_i64().unwrap());
        assert!(scroll <= inner, "the form scrolls sideways: {scroll} > {inner}");
        let _ = std::fs::write(std::env::temp_dir().join("parc-handover-page.png"), c.screenshot().await?);

        c.find(Locator::Css("form.handover-form button[type=submit]")).await?.click().await?;
        wait_path(c, |p| p == "/handover").await;
        let notice = c.find(Locator::Css("p.flash")).await?.text().await?;
        assert!(notice.contains("enregistrée"), "{notice}");
        let list = c.find(Locator::Css("ul.handover-list")).await?.text().await?;
        assert!(list.contains("User agent") && list.contains("SHA-256"), "{list}");
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await;
    result.expect("hand-over scenario");

    let mut conn = app.db.store.read().await.unwrap();
    let list = handover::list(&mut conn, &[school.0], 10).await.unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0].accessories_delivered, ["charger", "box"]);
    let a = assets::get(&mut conn, AssetId(phone)).await.unwrap().unwrap();
    assert_eq!((a.status, a.assigned_user_id), (AssetStatus::InUse, Some(agent)));
    let pdf = documents::document_content(&mut conn, list[0].document_id.unwrap()).await.unwrap().unwrap();
    let _ = std::fs::write(std::env::temp_dir().join("parc-handover-receipt.pdf"), &pdf);
    if let Some(inked) = dark_pixels_per_image(&pdf).map(|d| d.iter().filter(|&&n| n > 50).count()) {
        assert_eq!(inked, 2, "both signatures have a visible stroke");
    }
}
