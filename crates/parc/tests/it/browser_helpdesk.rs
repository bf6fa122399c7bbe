//! The helpdesk's key flows in headless Chromium: the hotline opens a ticket for a caller with
//! the keyboard alone (part of a phone number, ↓, Enter, the problem, Enter); a passer-by
//! scans a QR label on a phone and reports a problem without an account.

use crate::app::{TestApp, PASSWORD};
use crate::chrome::{poll, wait_path, Browser};
use fantoccini::key::Key;
use fantoccini::{Client, Locator};
use parc_core::assets::AssetInput;
use parc_core::permissions::Profile;
use parc_core::{AssetId, EntityId, TicketId, UserId};
use parc_store::helpdesk;
use parc_store::locations::{self, LocationInput};
use parc_store::users::{self, UserInput};
use parc_store::{assets, Actor};

fn sys() -> Actor {
    Actor::system("test")
}

/// A caller with a phone number and the computer assigned to them, in a room of `entity`;
/// returns the computer and its QR token.
async fn caller_and_computer(app: &TestApp, entity: EntityId) -> (UserId, AssetId, String) {
    let mut tx = app.db.store.write().await.unwrap();
    let input = UserInput {
        login: Some("mcurie".into()),
        display_name: Some("Marie Curie".into()),
        phone: Some("01 45 67 89 10".into()),
        entity_id: Some(entity.0),
        ..Default::default()
    };
    let marie = users::create(&mut tx, &sys(), &input, None).await.unwrap().id;
    let room = LocationInput {
        entity_id: Some(entity.0),
        kind: Some("site".into()),
        name: Some("Hôtel de ville".into()),
        ..Default::default()
    };
    let room = locations::create(&mut tx, &sys(), &room).await.unwrap().id;
    let pc = AssetInput {
        kind: Some("computer".into()),
        entity_id: Some(entity.0),
        name: Some("PC-ACCUEIL-02".into()),
        asset_tag: Some("GPI-771204".into()),
        status: Some("in_use".into()),
        assigned_user_id: Some(marie.0),
        location_id: Some(room.0),
        ..Default::default()
    };
    let pc = assets::create(&mut tx, &sys(), app.db.store.cipher(), &pc.validate(None).unwrap()).await.unwrap();
    let token = assets::get(&mut tx, pc).await.unwrap().unwrap().public_token;
    tx.commit().await.unwrap();
    (marie, pc, token)
}

/// Types into whatever has the focus: the keyboard, not the mouse.
async fn type_keys(c: &Client, keys: &str) -> Result<(), fantoccini::error::CmdError> {
    c.active_element().await?.send_keys(keys).await
}

async fn focused_id(c: &Client) -> Option<String> {
    c.active_element().await.ok()?.attr("id").await.ok()?
}

#[tokio::test]
async fn browser_hotline_quick_entry_by_keyboard() {
    let Some(browser) = Browser::start("browser_hotline_quick_entry_by_keyboard").await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let root = app.entity("Mairie de Saint-Aubin", None).await;
    app.user("hotline", root, &[(root, Profile::Hotline, true)]).await;
    let (marie, pc, _) = caller_and_computer(&app, root).await;
    let c = &browser.c;
    let result = async {
        browser.sign_in(&app.url(""), "hotline", PASSWORD).await?;
        c.goto(&app.url("/hotline")).await?;
        wait_path(c, |p| p == "/hotline").await;
        // The phone rings: the caller field has the focus.
        assert_eq!(focused_id(c).await.as_deref(), Some("h-q"));
        type_keys(c, "01 45 67").await?;
        let first = poll(|| async { c.find(Locator::Css("#h-list li")).await.ok()?.text().await.ok() })
            .await
            .expect("suggestions under the caller field");
        assert!(first.contains("Marie Curie"), "{first}");
        type_keys(c, &Key::Down.to_string()).await?;
        type_keys(c, &Key::Enter.to_string()).await?;
        // Picking filled the ticket and moved on to the problem.
        poll(|| async { (focused_id(c).await.as_deref() == Some("h-title")).then_some(()) })
            .await
            .expect("the problem field has the focus");
        let filled = c.find(Locator::Id("h-p-asset")).await?.text().await?;
        assert!(filled.contains("GPI-771204"), "{filled}");
        type_keys(c, "Imprimante hors ligne").await?;
        type_keys(c, &Key::Enter.to_string()).await?;
        let path = wait_path(c, |p| p.starts_with("/tickets/") && p != "/tickets/new").await;
        let body = c.find(Locator::Css("main")).await?.text().await?;
        assert!(body.contains("Imprimante hors ligne") && body.contains("Marie Curie"), "{body}");
        assert!(body.contains("PC-ACCUEIL-02"), "{body}");
        let id = TicketId(path.trim_start_matches("/tickets/").parse().unwrap());
        Ok::<_, fantoccini::error::CmdError>(id)
    }
    .await;
    browser.close().await;
    let id = result.expect("browser scenario");
    let mut c = app.db.store.read().await.unwrap();
    let t = helpdesk::get(&mut c, id).await.unwrap().unwrap();
    assert_eq!((t.requester_user_id, t.entity_id, t.source.as_str()), (Some(marie), root, "hotline"));
    let linked: Vec<AssetId> = helpdesk::assets_of(&mut c, id).await.unwrap().into_iter().map(|a| a.asset_id).collect();
    assert_eq!(linked, vec![pc]);
}

#[tokio::test]
async fn browser_qr_report_on_a_phone() {
    let Some(browser) = Browser::start_sized("browser_qr_report_on_a_phone", 390, 844).await else {
        return;
    };
    let app = TestApp::sqlite().await;
    let root = app.entity("Mairie de Saint-Aubin", None).await;
    let (_, pc, token) = caller_and_computer(&app, root).await;
    {
        let mut tx = app.db.store.write().await.unwrap();
        helpdesk::put_entity_settings(&mut tx, &sys(), root, None, Some(true)).await.unwrap();
        tx.commit().await.unwrap();
    }
    let c = &browser.c;
    let result = async {
        c.goto(&app.url(&format!("/r/{token}"))).await?;
        wait_path(c, |p| p.starts_with("/r/")).await;
        let about = c.find(Locator::Css(".report .asset")).await?.text().await?;
        assert!(about.contains("PC-ACCUEIL-02") && about.contains("Hôtel de ville"), "{about}");
        // Nothing sticks out of a phone's screen (headless Chromium keeps its window at least 500
        // px wide, so the page itself is narrowed to 360 px to check).
        let overflow = "var m = document.querySelector('main'); m.style.width = '360px'; \
            var w = m.scrollWidth; m.style.width = ''; return w;";
        let width = c.execute(overflow, vec![]).await?;
        assert!(width.as_i64().unwrap() <= 360, "the page needs {width} px");
        c.find(Locator::Id("r-title")).await?.send_keys("L'écran reste noir").await?;
        c.find(Locator::Id("r-requester_name")).await?.send_keys("Claire Dubois").await?;
        c.find(Locator::Id("r-requester_phone")).await?.send_keys("06 11 22 33 44").await?;
        c.find(Locator::Css(".report button[type=submit]")).await?.click().await?;
        let number = poll(|| async { c.find(Locator::Id("ticket-number")).await.ok()?.text().await.ok() })
            .await
            .expect("the confirmation with the ticket number");
        Ok::<_, fantoccini::error::CmdError>(number)
    }
    .await;
    browser.close().await;
    let number = result.expect("browser scenario");
    let id = TicketId(number.trim_start_matches('#').parse().expect("a ticket number"));
    let mut c = app.db.store.read().await.unwrap();
    let t = helpdesk::get(&mut c, id).await.unwrap().unwrap();
    assert_eq!(
        (t.requester_label.as_deref(), t.requester_phone.as_deref()),
        (Some("Claire Dubois"), Some("06 11 22 33 44"))
    );
    assert_eq!((t.title.as_str(), t.source.as_str(), t.created_by_user_id), ("L'écran reste noir", "qr", None));
    let linked: Vec<AssetId> = helpdesk::assets_of(&mut c, id).await.unwrap().into_iter().map(|a| a.asset_id).collect();
    assert_eq!(linked, vec![pc]);
}
