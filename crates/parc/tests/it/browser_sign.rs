//! Signing an intervention on a tablet-sized headless Chromium: the technician opens the
//! signing page of an on-site task, types the time spent and the user's name, the user draws a
//! stroke on the signature pad (pointer down, moves, up through WebDriver actions), and the
//! submitted sheet is stored with a signature image that is not blank (read back from the PDF
//! with poppler's `pdfimages`).

use crate::app::{post_json as post, TestApp, PASSWORD};
use crate::chrome::{dark_pixels_per_image, poll, wait_path, Browser};
use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
use fantoccini::Locator;
use parc_core::permissions::Profile;
use parc_core::TaskId;
use parc_store::helpdesk;
use serde_json::json;
use std::time::Duration;

#[tokio::test]
async fn browser_signs_an_intervention_on_a_tablet() {
    let Some(browser) = Browser::start_sized("browser_signs_an_intervention_on_a_tablet", 820, 1180).await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let school = app.entity("Collège Jean Moulin", None).await;
    let (tech, token) = app.user("tech", school, &[(school, Profile::Technician, true)]).await;
    let ticket = post(
        &app,
        &token,
        "/tickets",
        json!({"entity_id": school.0, "title": "Écran noir en salle 12",
        "requester_name": "Mme Dupont"}),
    )
    .await;
    let id = ticket["id"].as_i64().unwrap();
    let task = post(
        &app,
        &token,
        &format!("/tickets/{id}/tasks"),
        json!({"description": "Changer l'écran",
        "technician_user_id": tech.0, "on_site": true}),
    )
    .await;
    let task_id = task["id"].as_i64().unwrap();

    let c = &browser.c;
    let result = async {
        browser.sign_in(&app.url(""), "tech", PASSWORD).await?;
        c.goto(&app.url(&format!("/tickets/{id}/tasks/{task_id}/sign"))).await?;
        // The script shows the pad (and hides the paper-only explanation).
        let canvas = poll(|| async {
            let el = c.find(Locator::Id("s-canvas")).await.ok()?;
            el.is_displayed().await.ok()?.then_some(el)
        })
        .await
        .expect("the signature pad is shown");
        c.find(Locator::Id("s-duration")).await?.send_keys("45").await?;
        c.find(Locator::Id("s-signer")).await?.send_keys("Jeanne Martin").await?;

        // A stroke: press left of the centre, move in three segments, release.
        let stroke = MouseActions::new("finger".into())
            .then(PointerAction::MoveToElement { element: canvas.clone(), duration: None, x: -120, y: 10 })
            .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
            .then(PointerAction::MoveBy { duration: Some(Duration::from_millis(150)), x: 80, y: -40 })
            .then(PointerAction::MoveBy { duration: Some(Duration::from_millis(150)), x: 80, y: 50 })
            .then(PointerAction::MoveBy { duration: Some(Duration::from_millis(150)), x: 70, y: -30 })
            .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
        c.perform_actions(stroke).await?;
        let value = c.find(Locator::Id("s-signature")).await?.prop("value").await?.unwrap_or_default();
        assert!(
            value.starts_with("data:image/png;base64,"),
            "the drawing is in the form: {}",
            &value[..value.len().min(40)]
        );
        let _ = std::fs::write(std::env::temp_dir().join("parc-sign-page.png"), c.screenshot().await?);

        c.find(Locator::Css("form.sign-form button[type=submit]")).await?.click().await?;
        wait_path(c, |p| p == format!("/tickets/{id}")).await;
        let notice = c.find(Locator::Css("p.flash")).await?.text().await?;
        assert!(notice.contains("signée"), "{notice}");
        let documents = c.find(Locator::Css("section.documents")).await?.text().await?;
        assert!(documents.contains(".pdf") && documents.contains("SHA-256"), "{documents}");
        Ok::<(), fantoccini::error::CmdError>(())
    }
    .await;
    browser.close().await;
    result.expect("signing scenario");

    // The stored sheet: the task is done, and its signature image is not blank.
    let mut conn = app.db.store.read().await.unwrap();
    let k = helpdesk::task(&mut conn, TaskId(task_id)).await.unwrap().unwrap();
    assert!(k.done && k.signer_name.as_deref() == Some("Jeanne Martin") && k.duration_minutes == 45, "{k:?}");
    let doc = helpdesk::signed_sheet(&mut conn, TaskId(task_id)).await.unwrap().expect("the signed sheet is stored");
    let pdf = helpdesk::document_content(&mut conn, doc.id).await.unwrap().unwrap();
    let _ = std::fs::write(std::env::temp_dir().join("parc-signed-sheet.pdf"), &pdf);
    if let Some(dark) = dark_pixels_per_image(&pdf).map(|d| d.iter().sum::<usize>()) {
        assert!(dark > 50, "the signature image has a visible stroke ({dark} dark pixels)");
    }
}
