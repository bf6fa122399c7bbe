//! What the store's test suites share.

use parc_core::permissions::{Grant, Profile};
use parc_core::{EntityId, UserId};
use parc_store::entities::{self, EntityInput};
use parc_store::users::{self, UserInput};
use parc_store::{Actor, Store};

pub fn actor() -> Actor {
    Actor::system("test")
}

/// Creates an entity in its own transaction.
pub async fn entity(store: &Store, name: &str, parent: Option<EntityId>) -> EntityId {
    let mut tx = store.write().await.unwrap();
    let e = entities::create(
        &mut tx,
        &actor(),
        &EntityInput { name: Some(name.into()), parent_id: parent.map(|p| p.0), comment: None },
    )
    .await
    .unwrap();
    tx.commit().await.unwrap();
    e.id
}

/// Creates a user in its own transaction; with `profile`, granted it (recursively) on the
/// user's entity.
#[allow(dead_code)] // not every suite uses it
pub async fn user(store: &Store, input: &UserInput, profile: Option<Profile>) -> UserId {
    let mut tx = store.write().await.unwrap();
    let u = users::create(&mut tx, &actor(), input, None).await.unwrap();
    if let Some(profile) = profile {
        let entity_id = EntityId(input.entity_id.expect("a user's entity"));
        users::set_grants(&mut tx, &actor(), u.id, &[Grant { entity_id, profile, recursive: true }]).await.unwrap();
    }
    tx.commit().await.unwrap();
    u.id
}
