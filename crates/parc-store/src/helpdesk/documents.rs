//! Signed documents (intervention sheets): written once, never changed — database triggers
//! refuse any UPDATE or DELETE of `documents` on both backends. Signing an on-site task stores
//! the signed PDF, records its SHA-256 in the audit trail and closes the intervention (the task
//! is done, with its time spent, report and signer), all in the caller's transaction.
//! Files attached to a ticket or a follow-up (kind [`ATTACHMENT`]) live in the same table.

use super::{task, Followup, Ticket};
use crate::{audit, now, Actor, Result, StoreError};
use parc_core::audit::{AuditAction, FieldChange, ObjectType};
use parc_core::helpdesk::TicketStatus;
use parc_core::validate::{check_text, clean, ValidationErrors};
use parc_core::{FollowupId, TaskId, TicketId, UserId};
use serde::Serialize;
use sha2::{Digest, Sha256};
use sqlx::AnyConnection;

/// Kind of the signed intervention sheet of a task (one per task).
pub const SIGNED_SHEET: &str = "intervention_sheet";
/// Longest signer name.
pub const SIGNER_MAX_CHARS: usize = 200;
/// Longest report of the work done.
pub const REPORT_MAX_CHARS: usize = 50_000;
/// Most minutes one intervention may record.
pub const DURATION_MAX_MINUTES: i64 = 100_000;

/// A stored document, without its bytes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Document {
    pub id: i64,
    pub ticket_id: Option<TicketId>,
    pub task_id: Option<TaskId>,
    pub kind: String,
    pub filename: String,
    pub content_type: String,
    /// SHA-256 of the content, lowercase hex (also in the ticket's audit trail).
    pub sha256: String,
    /// Size in bytes.
    pub size: i64,
    pub created_by_user_id: Option<UserId>,
    pub created_at: String,
}

type Row = (i64, Option<i64>, Option<i64>, String, String, String, String, i64, Option<i64>, String);

fn document_of(r: Row) -> Document {
    Document {
        id: r.0,
        ticket_id: r.1.map(TicketId),
        task_id: r.2.map(TaskId),
        kind: r.3,
        filename: r.4,
        content_type: r.5,
        sha256: r.6,
        size: r.7,
        created_by_user_id: r.8.map(UserId),
        created_at: r.9,
    }
}

const SELECT: &str = "SELECT id, ticket_id, task_id, kind, filename, content_type, sha256, length(content), \
    created_by_user_id, created_at FROM documents";

pub async fn document(c: &mut AnyConnection, id: i64) -> Result<Option<Document>> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE id = $1")).bind(id).fetch_optional(c).await?;
    Ok(row.map(document_of))
}

/// The bytes of a document.
pub async fn document_content(c: &mut AnyConnection, id: i64) -> Result<Option<Vec<u8>>> {
    let row: Option<(Vec<u8>,)> =
        sqlx::query_as("SELECT content FROM documents WHERE id = $1").bind(id).fetch_optional(c).await?;
    Ok(row.map(|r| r.0))
}

/// The documents of a ticket, oldest first.
pub async fn documents_of(c: &mut AnyConnection, ticket: TicketId) -> Result<Vec<Document>> {
    let rows: Vec<Row> =
        sqlx::query_as(&format!("{SELECT} WHERE ticket_id = $1 ORDER BY id")).bind(ticket.0).fetch_all(c).await?;
    Ok(rows.into_iter().map(document_of).collect())
}

/// The signed sheet of a task, if it was signed.
pub async fn signed_sheet(c: &mut AnyConnection, task: TaskId) -> Result<Option<Document>> {
    let row: Option<Row> = sqlx::query_as(&format!("{SELECT} WHERE task_id = $1 AND kind = $2"))
        .bind(task.0)
        .bind(SIGNED_SHEET)
        .fetch_optional(c)
        .await?;
    Ok(row.map(document_of))
}

/// What the technician and the user enter when signing.
#[derive(Debug, Clone, Default)]
pub struct SignatureInput {
    pub signer_name: String,
    pub duration_minutes: i64,
    pub report: Option<String>,
}

impl SignatureInput {
    /// The per-field problems: `signer_name` required and short, `duration_minutes` from 1 to
    /// [`DURATION_MAX_MINUTES`], `report` at most [`REPORT_MAX_CHARS`].
    pub fn check(&self) -> ValidationErrors {
        let mut e = ValidationErrors::new();
        check_text(&mut e, "signer_name", Some(&self.signer_name), SIGNER_MAX_CHARS, false);
        if self.signer_name.trim().is_empty() {
            e.add("signer_name", "required", "the person who signs must give their name");
        }
        if !(1..=DURATION_MAX_MINUTES).contains(&self.duration_minutes) {
            e.add("duration_minutes", "range", "must be between 1 and 100000 minutes");
        }
        check_text(&mut e, "report", self.report.as_deref(), REPORT_MAX_CHARS, true);
        e
    }
}

/// Why a task cannot be signed now, if it cannot: not an on-site task of this ticket
/// (`NotFound` when it is not the ticket's), a closed ticket (validation), already signed
/// (conflict).
pub async fn check_signable(c: &mut AnyConnection, ticket: &Ticket, task_id: TaskId) -> Result<super::Task> {
    let k = task(c, task_id).await?.filter(|k| k.ticket_id == ticket.id).ok_or(StoreError::NotFound)?;
    if k.signer_name.is_some() || signed_sheet(c, task_id).await?.is_some() {
        return Err(StoreError::Conflict("this intervention is already signed".into()));
    }
    let mut e = ValidationErrors::new();
    if !k.on_site {
        e.add("task", "not_on_site", "only an on-site intervention is signed");
    }
    if ticket.status == TicketStatus::Closed {
        e.add("ticket", "closed", "a closed ticket takes no more signatures");
    }
    e.into_result()?;
    Ok(k)
}

/// Stores the signed sheet `pdf` of an on-site task and closes the intervention: the task is
/// done with the time spent, report and signer; the SHA-256 of the PDF goes to the ticket's
/// audit trail. Everything in the caller's transaction.
pub async fn sign_task(
    c: &mut AnyConnection,
    actor: &Actor,
    ticket: &Ticket,
    task_id: TaskId,
    input: &SignatureInput,
    filename: &str,
    pdf: &[u8],
) -> Result<Document> {
    input.check().into_result()?;
    let old = check_signable(c, ticket, task_id).await?;
    let sha256 = hex::encode(Sha256::digest(pdf));
    let at = now();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO documents (ticket_id, task_id, kind, filename, content_type, sha256, content, created_by_user_id, created_at) \
         VALUES ($1, $2, $3, $4, 'application/pdf', $5, $6, $7, $8) RETURNING id",
    )
    .bind(ticket.id.0)
    .bind(task_id.0)
    .bind(SIGNED_SHEET)
    .bind(filename)
    .bind(&sha256)
    .bind(pdf)
    .bind(actor.user_id.map(|u| u.0))
    .bind(&at)
    .fetch_one(&mut *c)
    .await
    .map_err(|e| StoreError::from_write(e, "the signed sheet of this intervention"))?;
    let signer = input.signer_name.trim().to_owned();
    let report = clean(input.report.as_deref());
    sqlx::query(
        "UPDATE ticket_tasks SET done = 1, done_at = $1, duration_minutes = $2, report = $3, signer_name = $4, \
         updated_at = $1 WHERE id = $5",
    )
    .bind(&at)
    .bind(input.duration_minutes)
    .bind(&report)
    .bind(&signer)
    .bind(task_id.0)
    .execute(&mut *c)
    .await?;
    super::tickets::touch(c, ticket.id, &at).await?;
    let change =
        |field: &str, old: Option<String>, new: String| FieldChange { field: field.into(), old, new: Some(new) };
    let changes = [
        change("task", None, format!("#{}", task_id.0)),
        change("document", None, format!("#{id}")),
        change("sha256", None, sha256.clone()),
        change("signer_name", None, signer),
        change("duration_minutes", Some(old.duration_minutes.to_string()), input.duration_minutes.to_string()),
        change("done", Some(old.done.to_string()), "true".into()),
    ];
    audit::record(c, actor, ObjectType::Ticket, ticket.id.0, Some(ticket.entity_id), AuditAction::Sign, &changes)
        .await?;
    document(c, id).await?.ok_or(StoreError::NotFound)
}

// ---- attachments ----
//
// Files attached to a ticket or to one of its follow-ups, kept in `documents` with kind
// [`ATTACHMENT`] (migration 0009 adds `followup_id`). The stored name is sanitised and the
// content type is decided here from the bytes, never from what the client declared.

/// Kind of a file attached to a ticket or a follow-up.
pub const ATTACHMENT: &str = "attachment";
/// Largest attached file, in bytes (10 MiB).
pub const ATTACHMENT_MAX_BYTES: usize = 10 * 1024 * 1024;
/// Most files attached by one request.
pub const ATTACHMENTS_PER_REQUEST: usize = 5;
/// Longest stored file name, in characters.
pub const FILENAME_MAX_CHARS: usize = 120;

/// A file attached to a ticket (or one of its follow-ups), without its bytes.
#[derive(Debug, Clone, Serialize, utoipa::ToSchema)]
pub struct Attachment {
    /// The document id: download it at `/api/v1/documents/{id}` (or `/documents/{id}`).
    pub id: i64,
    pub ticket_id: TicketId,
    /// The follow-up it came with, if any.
    pub followup_id: Option<FollowupId>,
    /// Sanitised: no path, no control characters, at most 120 characters.
    pub filename: String,
    /// Decided from the bytes (PNG, JPEG, GIF, WebP, PDF, ZIP, UTF-8 text, else
    /// `application/octet-stream`).
    pub content_type: String,
    /// SHA-256 of the content, lowercase hex (also in the ticket's audit trail).
    pub sha256: String,
    /// Size in bytes.
    pub size: i64,
    pub created_by_user_id: Option<UserId>,
    /// The uploader's name ("" when unknown).
    pub created_by_name: String,
    /// Attached to a private follow-up: for the ticket's handlers only.
    pub private: bool,
    pub created_at: String,
}

type AttachmentRow = (i64, i64, Option<i64>, String, String, String, i64, Option<i64>, Option<String>, i64, String);

fn attachment_of(r: AttachmentRow) -> Attachment {
    Attachment {
        id: r.0,
        ticket_id: TicketId(r.1),
        followup_id: r.2.map(FollowupId),
        filename: r.3,
        content_type: r.4,
        sha256: r.5,
        size: r.6,
        created_by_user_id: r.7.map(UserId),
        created_by_name: r.8.unwrap_or_default(),
        private: r.9 != 0,
        created_at: r.10,
    }
}

const SELECT_ATTACHMENT: &str = "SELECT d.id, d.ticket_id, d.followup_id, d.filename, d.content_type, d.sha256, \
    length(d.content), d.created_by_user_id, u.display_name, COALESCE(f.is_private, 0), d.created_at \
    FROM documents d LEFT JOIN users u ON u.id = d.created_by_user_id \
    LEFT JOIN ticket_followups f ON f.id = d.followup_id";

/// The content type of `bytes`, from their first bytes: the image formats browsers show, PDF,
/// ZIP (office files too), text when the whole is UTF-8 without NUL, else
/// `application/octet-stream`. HTML or SVG come out as text, never as markup.
pub fn sniff_content_type(bytes: &[u8]) -> &'static str {
    const MAGIC: [(&[u8], &str); 7] = [
        (b"\x89PNG\r\n\x1a\n", "image/png"),
        (b"\xff\xd8\xff", "image/jpeg"),
        (b"GIF87a", "image/gif"),
        (b"GIF89a", "image/gif"),
        (b"%PDF-", "application/pdf"),
        (b"PK\x03\x04", "application/zip"),
        (b"PK\x05\x06", "application/zip"),
    ];
    if let Some((_, t)) = MAGIC.iter().find(|(m, _)| bytes.starts_with(m)) {
        return t;
    }
    if bytes.len() >= 12 && &bytes[..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        return "image/webp";
    }
    if !bytes.contains(&0) && std::str::from_utf8(bytes).is_ok() {
        return "text/plain; charset=utf-8";
    }
    "application/octet-stream"
}

/// A file name safe to store and to send back: the last path component only, without control
/// characters or the ones file systems refuse (`<>:"/\|?*` become `_`), without leading dots or
/// spaces, at most [`FILENAME_MAX_CHARS`] characters (the extension kept); "attachment" when
/// nothing is left.
pub fn sanitize_filename(raw: &str) -> String {
    let base = raw.rsplit(['/', '\\']).next().unwrap_or_default();
    let cleaned: String =
        base.chars().filter(|c| !c.is_control()).map(|c| if "<>:\"|?*".contains(c) { '_' } else { c }).collect();
    let cleaned = cleaned.trim().trim_start_matches(['.', ' ']).trim_end_matches(['.', ' ']);
    if cleaned.is_empty() {
        return ATTACHMENT.to_owned();
    }
    if cleaned.chars().count() <= FILENAME_MAX_CHARS {
        return cleaned.to_owned();
    }
    let ext = match cleaned.rsplit_once('.') {
        Some((_, e)) if !e.is_empty() && e.chars().count() <= 10 => format!(".{e}"),
        _ => String::new(),
    };
    let stem: String = cleaned.chars().take(FILENAME_MAX_CHARS - ext.chars().count()).collect();
    format!("{}{ext}", stem.trim_end())
}

/// The follow-up `id` if it belongs to `ticket`.
pub async fn followup_of_ticket(c: &mut AnyConnection, ticket: TicketId, id: FollowupId) -> Result<Option<Followup>> {
    let row: Option<(i64, Option<i64>, String, i64, String, String)> = sqlx::query_as(
        "SELECT id, author_user_id, author_label, is_private, body, created_at FROM ticket_followups \
         WHERE id = $1 AND ticket_id = $2",
    )
    .bind(id.0)
    .bind(ticket.0)
    .fetch_optional(c)
    .await?;
    Ok(row.map(|r| Followup {
        id: FollowupId(r.0),
        ticket_id: ticket,
        author_user_id: r.1.map(UserId),
        author_label: r.2,
        is_private: r.3 != 0,
        body: r.4,
        created_at: r.5,
    }))
}

/// Attaches a file to `ticket`, or to its follow-up `followup`, in the caller's transaction:
/// refused when empty, larger than [`ATTACHMENT_MAX_BYTES`], on a closed ticket or for a
/// follow-up of another ticket. The name is sanitised, the type sniffed from the bytes; the
/// ticket's audit trail gets the file name, size and SHA-256 (with the follow-up's events,
/// which requesters do not see, when it comes with a follow-up; else as a `link`).
pub async fn add_attachment(
    c: &mut AnyConnection,
    actor: &Actor,
    ticket: &Ticket,
    followup: Option<FollowupId>,
    filename: &str,
    bytes: &[u8],
) -> Result<Attachment> {
    let mut e = ValidationErrors::new();
    if bytes.is_empty() {
        e.add("file", "empty_file", format!("the file \"{}\" is empty", sanitize_filename(filename)));
    }
    if bytes.len() > ATTACHMENT_MAX_BYTES {
        e.add("file", "file_too_large", "a file may not be larger than 10 MiB");
    }
    if ticket.status == TicketStatus::Closed {
        e.add("file", "closed", "a closed ticket takes no more files");
    }
    if let Some(f) = followup {
        if followup_of_ticket(c, ticket.id, f).await?.is_none() {
            e.add("followup_id", "not_found", "is not a follow-up of this ticket");
        }
    }
    e.into_result()?;
    let name = sanitize_filename(filename);
    let sha256 = hex::encode(Sha256::digest(bytes));
    let at = now();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO documents (ticket_id, followup_id, kind, filename, content_type, sha256, content, \
         created_by_user_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING id",
    )
    .bind(ticket.id.0)
    .bind(followup.map(|f| f.0))
    .bind(ATTACHMENT)
    .bind(&name)
    .bind(sniff_content_type(bytes))
    .bind(&sha256)
    .bind(bytes)
    .bind(actor.user_id.map(|u| u.0))
    .bind(&at)
    .fetch_one(&mut *c)
    .await?;
    super::tickets::touch(c, ticket.id, &at).await?;
    let new = |field: &str, v: String| FieldChange { field: field.into(), old: None, new: Some(v) };
    let mut changes =
        vec![new("attachment", format!("#{id} {name}")), new("size", bytes.len().to_string()), new("sha256", sha256)];
    let action = match followup {
        Some(f) => {
            changes.push(new("followup", format!("#{}", f.0)));
            AuditAction::Followup
        }
        None => AuditAction::Link,
    };
    audit::record(c, actor, ObjectType::Ticket, ticket.id.0, Some(ticket.entity_id), action, &changes).await?;
    attachment(c, id).await?.ok_or(StoreError::NotFound)
}

/// An attachment by its document id (`None` for another kind of document).
pub async fn attachment(c: &mut AnyConnection, id: i64) -> Result<Option<Attachment>> {
    let row: Option<AttachmentRow> = sqlx::query_as(&format!("{SELECT_ATTACHMENT} WHERE d.id = $1 AND d.kind = $2"))
        .bind(id)
        .bind(ATTACHMENT)
        .fetch_optional(c)
        .await?;
    Ok(row.map(attachment_of))
}

/// The attachments of a ticket, oldest first; those of private follow-ups only `with_private`.
pub async fn attachments_of(c: &mut AnyConnection, ticket: TicketId, with_private: bool) -> Result<Vec<Attachment>> {
    let rows: Vec<AttachmentRow> = sqlx::query_as(&format!(
        "{SELECT_ATTACHMENT} WHERE d.ticket_id = $1 AND d.kind = $2 AND (COALESCE(f.is_private, 0) = 0 OR $3 = 1) \
         ORDER BY d.id"
    ))
    .bind(ticket.0)
    .bind(ATTACHMENT)
    .bind(i64::from(with_private))
    .fetch_all(c)
    .await?;
    Ok(rows.into_iter().map(attachment_of).collect())
}

#[cfg(test)]
mod attachment_tests {
    use super::*;

    #[test]
    fn content_types_come_from_the_bytes() {
        assert_eq!(sniff_content_type(b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR"), "image/png");
        assert_eq!(sniff_content_type(b"\xff\xd8\xff\xe0\0\x10JFIF"), "image/jpeg");
        assert_eq!(sniff_content_type(b"GIF89a\x01\0"), "image/gif");
        assert_eq!(sniff_content_type(b"RIFF\x24\0\0\0WEBPVP8 "), "image/webp");
        assert_eq!(sniff_content_type(b"%PDF-1.7\n"), "application/pdf");
        assert_eq!(sniff_content_type(b"PK\x03\x04\x14\0"), "application/zip");
        assert_eq!(sniff_content_type("<html><script>alert(1)</script>é".as_bytes()), "text/plain; charset=utf-8");
        assert_eq!(sniff_content_type(b"text\0with nul"), "application/octet-stream");
        assert_eq!(sniff_content_type(b"\xff\xfe\x00"), "application/octet-stream");
        assert_eq!(sniff_content_type(b"RIFF\0\0\0\0WAVE"), "application/octet-stream");
    }

    #[test]
    fn file_names_lose_paths_and_control_characters() {
        assert_eq!(sanitize_filename("../../etc/passwd"), "passwd");
        assert_eq!(sanitize_filename("C:\\Users\\moi\\écran bleu.png"), "écran bleu.png");
        assert_eq!(sanitize_filename("a\u{0}b\r\nc\u{7f}.txt"), "abc.txt");
        assert_eq!(sanitize_filename("ré\"sumé<1>.pdf"), "ré_sumé_1_.pdf");
        assert_eq!(sanitize_filename(".."), "attachment");
        assert_eq!(sanitize_filename("  .bashrc "), "bashrc");
        assert_eq!(sanitize_filename("/"), "attachment");
        let long = format!("{}.jpeg", "x".repeat(300));
        let s = sanitize_filename(&long);
        assert_eq!(s.chars().count(), FILENAME_MAX_CHARS);
        assert!(s.ends_with("x.jpeg"));
        assert_eq!(sanitize_filename(&"é".repeat(200)).chars().count(), FILENAME_MAX_CHARS);
    }
}
