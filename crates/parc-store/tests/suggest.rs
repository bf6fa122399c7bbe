//! Hotline suggestions on every backend: a caller found by name, login and phone number in
//! any of its usual spellings; a computer by asset tag, name, serial and IP address; a phone
//! line by its number; each match filling requester, asset, location and entity; nothing from
//! outside the scope.

mod common;

use common::{actor, entity};
use parc_core::assets::AssetInput;
use parc_core::{AssetId, EntityId, UserId};
use parc_store::helpdesk::suggest::{self, MatchedField, Pick, SuggestScope, Suggestion, SuggestionKind};
use parc_store::locations::{self, LocationInput};
use parc_store::testing::TestDb;
use parc_store::users::{self, UserInput};
use parc_store::{assets, Store};

struct World {
    school_a: EntityId,
    school_b: EntityId,
    marie: UserId,
    pierre: UserId,
    bob: UserId,
    pc: AssetId,
    line: AssetId,
    other_pc: AssetId,
}

async fn user(store: &Store, login: &str, name: &str, phone: &str, entity: EntityId) -> UserId {
    let input = UserInput {
        login: Some(login.into()),
        display_name: Some(name.into()),
        phone: Some(phone.into()),
        entity_id: Some(entity.0),
        ..Default::default()
    };
    common::user(store, &input, None).await
}

async fn asset(store: &Store, input: AssetInput) -> AssetId {
    let mut tx = store.write().await.unwrap();
    let id = assets::create(&mut tx, &actor(), store.cipher(), &input.validate(None).unwrap()).await.unwrap();
    tx.commit().await.unwrap();
    id
}

fn computer(entity: EntityId, name: &str, tag: &str) -> AssetInput {
    AssetInput {
        kind: Some("computer".into()),
        entity_id: Some(entity.0),
        name: Some(name.into()),
        asset_tag: Some(tag.into()),
        status: Some("in_use".into()),
        ..Default::default()
    }
}

async fn room(store: &Store, entity: EntityId) -> i64 {
    let mut tx = store.write().await.unwrap();
    let mut place = async |kind: &str, name: &str, parent: Option<i64>| {
        locations::create(
            &mut tx,
            &actor(),
            &LocationInput {
                entity_id: Some(entity.0),
                parent_id: parent,
                kind: Some(kind.into()),
                name: Some(name.into()),
                ..Default::default()
            },
        )
        .await
        .unwrap()
        .id
        .0
    };
    let site = place("site", "Collège A", None).await;
    let building = place("building", "Bâtiment B", Some(site)).await;
    let room = place("room", "Secrétariat", Some(building)).await;
    tx.commit().await.unwrap();
    room
}

async fn world(store: &Store) -> World {
    let county = entity(store, "Département", None).await;
    let school_a = entity(store, "Collège A", Some(county)).await;
    let school_b = entity(store, "Collège B", Some(county)).await;
    let marie = user(store, "mcurie", "Marie Curie", "+33 1 23 45 67 89", school_a).await;
    let pierre = user(store, "pdupont", "Pierre Dupont", "01.98.76.54.32", school_a).await;
    let bob = user(store, "bmartin", "Bob Martin", "01 23 45 00 00", school_b).await;
    let room = room(store, school_a).await;
    let pc = asset(
        store,
        AssetInput {
            serial: Some("SN-7QX-2231".into()),
            ip: Some("192.168.207.14".into()),
            location_id: Some(room),
            assigned_user_id: Some(marie.0),
            ..computer(school_a, "PC-COMPTA-03", "GPI-204551")
        },
    )
    .await;
    asset(store, AssetInput { assigned_user_id: Some(pierre.0), ..computer(school_a, "PC-CDI-01", "GPI-204552") })
        .await;
    asset(store, AssetInput { assigned_user_id: Some(pierre.0), ..computer(school_a, "PC-CDI-02", "GPI-204553") })
        .await;
    let line = asset(
        store,
        AssetInput {
            kind: Some("phone_line".into()),
            entity_id: Some(school_a.0),
            name: Some("Ligne accueil".into()),
            status: Some("in_use".into()),
            line_type: Some("analog".into()),
            line_number: Some("01 40 50 60 70".into()),
            ..Default::default()
        },
    )
    .await;
    let other_pc = asset(store, computer(school_b, "PC-B-01", "GPI-999001")).await;
    World { school_a, school_b, marie, pierre, bob, pc, line, other_pc }
}

fn scope(entities: &[EntityId]) -> SuggestScope {
    SuggestScope { callers: entities.to_vec(), assets: entities.to_vec(), readable_users: entities.to_vec() }
}

async fn find(store: &Store, scope: &SuggestScope, text: &str) -> Vec<Suggestion> {
    let mut c = store.read().await.unwrap();
    suggest::suggest(&mut c, store.backend(), scope, text, 10).await.unwrap()
}

fn requester(s: &Suggestion) -> Option<UserId> {
    s.requester.as_ref().map(|u| u.id)
}

fn asset_of(s: &Suggestion) -> Option<AssetId> {
    s.asset.as_ref().map(|a| a.id)
}

#[tokio::test]
async fn suggestions_on_every_backend() {
    for db in TestDb::all().await {
        eprintln!("backend: {}", db.store.backend().name());
        let w = world(&db.store).await;
        by_name_and_login(&db.store, &w).await;
        by_phone_in_any_spelling(&db.store, &w).await;
        by_asset_fields(&db.store, &w).await;
        scoped(&db.store, &w).await;
        picks(&db.store, &w).await;
        renamed_and_inactive(&db.store, &w).await;
        db.store.close().await;
    }
}

async fn by_name_and_login(store: &Store, w: &World) {
    let a = scope(&[w.school_a]);
    let found = find(store, &a, "curie").await;
    let s = found.iter().find(|s| s.kind == SuggestionKind::User).expect("Marie by her name");
    assert_eq!(requester(s), Some(w.marie));
    assert_eq!(s.matched, MatchedField::Name);
    assert_eq!(s.requester.as_ref().unwrap().phone.as_deref(), Some("+33 1 23 45 67 89"));
    // Her only computer, its room and its entity come with her.
    assert_eq!(asset_of(s), Some(w.pc));
    assert_eq!(s.location.as_ref().unwrap().path, "Collège A > Bâtiment B > Secrétariat");
    assert_eq!((s.entity.id, s.entity.name.as_str()), (w.school_a, "Collège A"));

    // Word order and case do not matter; the login is found too, exact first.
    let found = find(store, &a, "CURIE marie").await;
    assert_eq!(requester(&found[0]), Some(w.marie));
    let found = find(store, &a, "mcurie").await;
    assert_eq!((requester(&found[0]), found[0].matched), (Some(w.marie), MatchedField::Login));

    // Two computers: which one is meant is not guessed.
    let found = find(store, &a, "dupont").await;
    let s = found.iter().find(|s| requester(s) == Some(w.pierre)).unwrap();
    assert_eq!((asset_of(s), s.location.is_none()), (None, true));
    assert_eq!(s.entity.id, w.school_a);

    // Under two characters, nothing.
    assert!(find(store, &a, "m").await.is_empty());
    assert!(find(store, &a, "   ").await.is_empty());
}

async fn by_phone_in_any_spelling(store: &Store, w: &World) {
    let a = scope(&[w.school_a]);
    for typed in ["0123456789", "01 23 45 67 89", "01.23.45", "+33 1 23 45", "0033 1 23 45 67 89", "+33123"] {
        let found = find(store, &a, typed).await;
        let s = found.first().unwrap_or_else(|| panic!("nothing for {typed}"));
        assert_eq!((requester(s), s.matched), (Some(w.marie), MatchedField::Phone), "{typed}");
        assert_eq!(asset_of(s), Some(w.pc), "{typed}");
    }
    // Bob's number starts the same way but he belongs to school B.
    let found = find(store, &a, "01 23 45").await;
    assert!(found.iter().all(|s| requester(s) != Some(w.bob)));
    let both = scope(&[w.school_a, w.school_b]);
    let found = find(store, &both, "01 23 45").await;
    assert!(found.iter().any(|s| requester(s) == Some(w.bob)));
    assert!(found.iter().any(|s| requester(s) == Some(w.marie)));
    // A phone line by its number.
    let found = find(store, &a, "01 40 50 60").await;
    let s = found.iter().find(|s| asset_of(s) == Some(w.line)).expect("the line by its number");
    assert_eq!((s.kind, s.matched), (SuggestionKind::Asset, MatchedField::LineNumber));
}

async fn by_asset_fields(store: &Store, w: &World) {
    let a = scope(&[w.school_a]);
    for (typed, field) in [
        ("GPI-204551", MatchedField::AssetTag),
        ("gpi-204551", MatchedField::AssetTag),
        ("compta", MatchedField::AssetName),
        ("PC-COMPTA-03", MatchedField::AssetName),
        ("SN-7QX-2231", MatchedField::Serial),
        ("192.168.207.14", MatchedField::Ip),
        ("192.168.207", MatchedField::Ip),
    ] {
        let found = find(store, &a, typed).await;
        let s = found.iter().find(|s| s.kind == SuggestionKind::Asset).unwrap_or_else(|| panic!("{typed}"));
        assert_eq!((asset_of(s), s.matched), (Some(w.pc), field), "{typed}");
        // The computer fills its user, its room and its entity.
        assert_eq!(requester(s), Some(w.marie), "{typed}");
        assert_eq!(s.location.as_ref().map(|l| l.path.as_str()), Some("Collège A > Bâtiment B > Secrétariat"));
        assert_eq!(s.entity.id, w.school_a);
    }
    // The exact tag comes before the tags that merely start like it.
    let found = find(store, &a, "GPI-20455").await;
    assert!(found.len() >= 3, "{found:?}");
    let exact = find(store, &a, "GPI-204552").await;
    assert_eq!(exact[0].asset.as_ref().unwrap().tag.as_deref(), Some("GPI-204552"));
    assert_eq!(requester(&exact[0]), Some(w.pierre));
}

async fn scoped(store: &Store, w: &World) {
    let a = scope(&[w.school_a]);
    assert!(find(store, &a, "GPI-999001").await.is_empty(), "school B's computer is out of scope");
    assert!(find(store, &a, "bmartin").await.is_empty(), "school B's user is out of scope");
    let b = scope(&[w.school_b]);
    assert_eq!(asset_of(&find(store, &b, "GPI-999001").await[0]), Some(w.other_pc));
    // Reading school A's assets but not its users: the computer comes without its user.
    let no_users = SuggestScope { callers: vec![], assets: vec![w.school_a], readable_users: vec![] };
    let found = find(store, &no_users, "GPI-204551").await;
    assert_eq!((asset_of(&found[0]), requester(&found[0])), (Some(w.pc), None));
    assert!(find(store, &no_users, "curie").await.iter().all(|s| s.kind == SuggestionKind::Asset));
    assert!(find(store, &SuggestScope::default(), "curie").await.is_empty());
}

async fn picks(store: &Store, w: &World) {
    let a = scope(&[w.school_a]);
    let mut c = store.read().await.unwrap();
    let s = suggest::resolve(&mut c, &a, Pick::Asset(w.pc)).await.unwrap().unwrap();
    assert_eq!((asset_of(&s), requester(&s)), (Some(w.pc), Some(w.marie)));
    assert_eq!(Pick::of(&s), Some(Pick::Asset(w.pc)));
    let s = suggest::resolve(&mut c, &a, Pick::User(w.marie)).await.unwrap().unwrap();
    assert_eq!((requester(&s), asset_of(&s)), (Some(w.marie), Some(w.pc)));
    assert!(suggest::resolve(&mut c, &a, Pick::Asset(w.other_pc)).await.unwrap().is_none());
    assert!(suggest::resolve(&mut c, &a, Pick::User(w.bob)).await.unwrap().is_none());
}

async fn renamed_and_inactive(store: &Store, w: &World) {
    let a = scope(&[w.school_a]);
    let mut tx = store.write().await.unwrap();
    let input = UserInput { display_name: Some("Marie Skłodowska-Curie".into()), ..Default::default() };
    users::update(&mut tx, &actor(), w.marie, &input).await.unwrap();
    let input = UserInput { active: Some(false), ..Default::default() };
    users::update(&mut tx, &actor(), w.pierre, &input).await.unwrap();
    tx.commit().await.unwrap();
    let found = find(store, &a, "skłodowska").await;
    assert_eq!(requester(&found[0]), Some(w.marie), "the name index follows a rename");
    assert!(find(store, &a, "dupont").await.iter().all(|s| s.kind == SuggestionKind::Asset), "inactive user");
}
