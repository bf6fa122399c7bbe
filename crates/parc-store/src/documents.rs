//! Documents that belong to no ticket: hand-over receipts, loan check-out sheets, campaign
//! reconciliation reports. They live in the same `documents` table as the signed intervention
//! sheets (ticket and task left empty), so the same triggers make them immutable on both
//! backends; the feature that creates one keeps its id in its own table and writes the SHA-256
//! into its own audit entry.

use crate::{now, Actor, Result};
use sqlx::AnyConnection;

pub use crate::helpdesk::{document, document_content, Document};

/// Stores `content` as a new immutable document of `kind` and returns it (id and SHA-256 set).
pub async fn insert(
    c: &mut AnyConnection,
    actor: &Actor,
    kind: &str,
    filename: &str,
    content_type: &str,
    content: &[u8],
) -> Result<Document> {
    use sha2::{Digest, Sha256};
    let sha256 = hex::encode(Sha256::digest(content));
    let at = now();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO documents (ticket_id, task_id, kind, filename, content_type, sha256, content, created_by_user_id, created_at) \
         VALUES (NULL, NULL, $1, $2, $3, $4, $5, $6, $7) RETURNING id",
    )
    .bind(kind)
    .bind(filename)
    .bind(content_type)
    .bind(&sha256)
    .bind(content)
    .bind(actor.user_id.map(|u| u.0))
    .bind(&at)
    .fetch_one(&mut *c)
    .await?;
    Ok(Document {
        id,
        ticket_id: None,
        task_id: None,
        kind: kind.to_owned(),
        filename: filename.to_owned(),
        content_type: content_type.to_owned(),
        sha256,
        size: content.len() as i64,
        created_by_user_id: actor.user_id,
        created_at: at,
    })
}
