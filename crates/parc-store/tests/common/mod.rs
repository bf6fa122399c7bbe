//! What the store's test suites share.

use parc_core::EntityId;
use parc_store::entities::{self, EntityInput};
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
