//! Files attached to tickets, shared by the ticket pages and `api::attachments`:
//!
//! - reading an upload ([`read_multipart`]): at most [`ATTACHMENTS_PER_REQUEST`] files of at
//!   most [`ATTACHMENT_MAX_BYTES`] each, an oversized file stopping the read at once (413, nothing
//!   written); [`FormWithFiles`] is the page forms' extractor, multipart or URL-encoded, with the
//!   CSRF check of `forms.rs` either way;
//! - who may attach ([`check_attach`]): what may follow the ticket up, a private follow-up's
//!   files for handlers only, a requester to their own follow-ups only;
//! - serving a file ([`download`], behind `/documents/<id>`): scoped like its ticket, a private
//!   follow-up's file out of a requester's sight (404), with the type sniffed when it was
//!   stored, `Content-Disposition: attachment` (inline for images and PDF) and `nosniff`.
//!
//! The routes are the ticket's follow-up form (`pages::tickets`) and the API; the body limit of
//! those routes is [`UPLOAD_BODY_MAX`] instead of the application's.

use super::Page;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::{check_csrf_value, CsrfForm};
use crate::helpdesk::{require_follow, require_handler, visible_ticket, TicketAccess};
use crate::AppState;
use axum::extract::multipart::MultipartError;
use axum::extract::{FromRequest, Multipart, Request};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use parc_core::{FollowupId, ValidationErrors};
use parc_store::helpdesk::{self, Attachment, Ticket, ATTACHMENTS_PER_REQUEST, ATTACHMENT_MAX_BYTES};
use parc_store::{Actor, Conn, StoreError};
use serde::de::DeserializeOwned;

/// The body limit of the routes that take files: every file at its largest, and room for the
/// other fields.
pub const UPLOAD_BODY_MAX: usize = ATTACHMENTS_PER_REQUEST * ATTACHMENT_MAX_BYTES + 1024 * 1024;
/// Largest text field of an upload.
const TEXT_FIELD_MAX: usize = 1024 * 1024;
/// The form field that carries files (repeated, or `multiple` on the page).
pub const FILE_FIELD: &str = "file";
/// Types a browser may show in place; anything else is downloaded.
const INLINE_TYPES: [&str; 5] = ["image/png", "image/jpeg", "image/gif", "image/webp", "application/pdf"];

/// One uploaded file, as the client named it (the store sanitises the name).
pub struct Upload {
    pub filename: String,
    pub bytes: Vec<u8>,
}

/// The files of a request, or why they are refused (an oversized file: see [`refusal_status`]).
pub type Files = Result<Vec<Upload>, ValidationErrors>;

/// 413 when a file was too large, else 422.
pub fn refusal_status(e: &ValidationErrors) -> StatusCode {
    if e.fields.iter().any(|f| f.code == "file_too_large") {
        StatusCode::PAYLOAD_TOO_LARGE
    } else {
        StatusCode::UNPROCESSABLE_ENTITY
    }
}

fn multipart_error(e: MultipartError) -> AppError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        AppError::TooLarge
    } else {
        AppError::BadRequest(format!("invalid multipart body: {}", e.body_text()))
    }
}

fn too_large(name: &str) -> ValidationErrors {
    let mib = ATTACHMENT_MAX_BYTES / (1024 * 1024);
    ValidationErrors::single(
        FILE_FIELD,
        "file_too_large",
        format!("the file \"{}\" is larger than {mib} MiB", helpdesk::sanitize_filename(name)),
    )
}

/// Reads a multipart body: its text fields, and the files of the [`FILE_FIELD`] fields (a
/// browser's empty file input, no name and no bytes, is no file). Stops at the first file over
/// [`ATTACHMENT_MAX_BYTES`] or past [`ATTACHMENTS_PER_REQUEST`]; the fields read so far are
/// returned with the refusal. A malformed body is a 400.
pub async fn read_multipart(mut mp: Multipart) -> AppResult<(Vec<(String, String)>, Files)> {
    let mut fields = Vec::new();
    let mut files = Vec::new();
    while let Some(mut field) = mp.next_field().await.map_err(multipart_error)? {
        let name = field.name().unwrap_or_default().to_owned();
        if name == FILE_FIELD {
            let filename = field.file_name().unwrap_or_default().to_owned();
            let mut bytes = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                if bytes.len() + chunk.len() > ATTACHMENT_MAX_BYTES {
                    return Ok((fields, Err(too_large(&filename))));
                }
                bytes.extend_from_slice(&chunk);
            }
            if filename.is_empty() && bytes.is_empty() {
                continue;
            }
            if files.len() == ATTACHMENTS_PER_REQUEST {
                let message = format!("at most {ATTACHMENTS_PER_REQUEST} files at a time");
                return Ok((fields, Err(ValidationErrors::single(FILE_FIELD, "too_many_files", message))));
            }
            files.push(Upload { filename, bytes });
        } else {
            let mut value = Vec::new();
            while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
                if value.len() + chunk.len() > TEXT_FIELD_MAX {
                    return Err(AppError::TooLarge);
                }
                value.extend_from_slice(&chunk);
            }
            let value = String::from_utf8(value)
                .map_err(|_| AppError::BadRequest(format!("the field \"{name}\" is not UTF-8 text")))?;
            fields.push((name, value));
        }
    }
    Ok((fields, Ok(files)))
}

/// A page form that may carry files: `multipart/form-data` (its fields decoded as `T`, its
/// files in [`Files`]) or URL-encoded (no files). The `csrf` field must match the session's
/// either way, as with [`CsrfForm`].
pub struct FormWithFiles<T>(pub Ctx, pub T, pub Files);

impl<T: DeserializeOwned> FromRequest<AppState> for FormWithFiles<T> {
    type Rejection = AppError;

    async fn from_request(req: Request, state: &AppState) -> Result<Self, Self::Rejection> {
        let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
        if !content_type.trim_start().to_ascii_lowercase().starts_with("multipart/form-data") {
            let CsrfForm(ctx, value) = CsrfForm::<T>::from_request(req, state).await?;
            return Ok(FormWithFiles(ctx, value, Ok(Vec::new())));
        }
        let (mut parts, body) = req.into_parts();
        let ctx = <Ctx as axum::extract::FromRequestParts<AppState>>::from_request_parts(&mut parts, state).await?;
        let mp = Multipart::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| AppError::BadRequest(e.body_text()))?;
        let (fields, files) = read_multipart(mp).await?;
        check_csrf_value(&ctx, fields.iter().find(|(k, _)| k == "csrf").map(|(_, v)| v.as_str()))?;
        let encoded = serde_urlencoded::to_string(&fields).map_err(|e| AppError::BadRequest(e.to_string()))?;
        let value = serde_urlencoded::from_str::<T>(&encoded)
            .map_err(|e| AppError::BadRequest(format!("invalid form: {e}")))?;
        Ok(FormWithFiles(ctx, value, files))
    }
}

/// Whether the caller may attach files to ticket `t` (read with `access`), on its follow-up
/// `followup` if given: as for a public follow-up when none; a private follow-up's files are
/// for handlers (one the reader cannot see is "not found"); a requester attaches to their own
/// follow-ups only.
pub async fn check_attach(
    ctx: &Ctx,
    c: &mut Conn,
    t: &Ticket,
    access: TicketAccess,
    followup: Option<FollowupId>,
) -> AppResult<()> {
    let Some(id) = followup else { return require_follow(ctx, t, access) };
    let f = helpdesk::followup_of_ticket(c, t.id, id)
        .await?
        .filter(|f| access == TicketAccess::Full || !f.is_private)
        .ok_or_else(|| AppError::field("followup_id", "not_found", "is not a follow-up of this ticket"))?;
    if f.is_private || require_handler(ctx, t).is_ok() {
        return require_handler(ctx, t);
    }
    require_follow(ctx, t, access)?;
    if f.author_user_id != Some(ctx.user.id) {
        return Err(AppError::Forbidden("you may attach files to your own follow-ups only".into()));
    }
    Ok(())
}

/// Stores `files` on ticket `t` (on its follow-up `followup` if given) in the caller's
/// transaction; the first refused file refuses them all (the caller drops the transaction).
pub async fn attach(
    c: &mut Conn,
    actor: &Actor,
    t: &Ticket,
    followup: Option<FollowupId>,
    files: &[Upload],
) -> Result<Vec<Attachment>, StoreError> {
    let mut out = Vec::with_capacity(files.len());
    for f in files {
        out.push(helpdesk::add_attachment(c, actor, t, followup, &f.filename, &f.bytes).await?);
    }
    Ok(out)
}

/// The attachment with document id `id` for a reader of its ticket: 404 outside the ticket's
/// scope and, for a requester, when it belongs to a private follow-up.
pub async fn download(ctx: &Ctx, c: &mut Conn, id: i64) -> AppResult<Response> {
    let a = helpdesk::attachment(c, id).await?.ok_or(AppError::NotFound)?;
    let (_, access) = visible_ticket(ctx, c, a.ticket_id).await?;
    if a.private && access != TicketAccess::Full {
        return Err(AppError::NotFound);
    }
    let bytes = helpdesk::document_content(c, a.id).await?.ok_or(AppError::NotFound)?;
    Ok(file_response(&a, bytes))
}

fn file_response(a: &Attachment, bytes: Vec<u8>) -> Response {
    let inline = INLINE_TYPES.contains(&a.content_type.as_str());
    let content_type =
        HeaderValue::from_str(&a.content_type).unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream"));
    let disposition = content_disposition(if inline { "inline" } else { "attachment" }, &a.filename);
    (
        [
            (header::CONTENT_TYPE, content_type),
            (header::CONTENT_DISPOSITION, disposition),
            (header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff")),
            (header::CACHE_CONTROL, HeaderValue::from_static("private, no-store")),
        ],
        bytes,
    )
        .into_response()
}

/// `attachment; filename="<ASCII>"; filename*=UTF-8''<percent-encoded>` (RFC 6266): the plain
/// name with anything but printable ASCII, quotes and backslashes replaced, and the exact one.
fn content_disposition(kind: &str, filename: &str) -> HeaderValue {
    let ascii: String = filename
        .chars()
        .map(|c| if c.is_ascii_graphic() && c != '"' && c != '\\' || c == ' ' { c } else { '_' })
        .collect();
    let value = format!("{kind}; filename=\"{ascii}\"; filename*=UTF-8''{}", urlencoding::encode(filename));
    HeaderValue::from_str(&value).unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// "532 o", "12,5 Kio", "3,2 Mio" in the page's language.
pub fn size_text(page: &Page, bytes: i64) -> String {
    const KIB: f64 = 1024.0;
    let b = bytes as f64;
    let (key, n) = if b < KIB {
        ("attachments.bytes", bytes.to_string())
    } else if b < KIB * KIB {
        ("attachments.kib", format!("{:.1}", b / KIB))
    } else {
        ("attachments.mib", format!("{:.1}", b / (KIB * KIB)))
    };
    let n = if page.lang == crate::i18n::Lang::Fr { n.replace('.', ",") } else { n };
    page.tf(key, &[("n", &n)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dispositions_keep_the_name_and_stay_ascii() {
        let d = content_disposition("attachment", "écran \"bleu\".png");
        assert_eq!(
            d.to_str().unwrap(),
            "attachment; filename=\"_cran _bleu_.png\"; filename*=UTF-8''%C3%A9cran%20%22bleu%22.png"
        );
        assert_eq!(
            content_disposition("inline", "a.pdf").to_str().unwrap(),
            "inline; filename=\"a.pdf\"; filename*=UTF-8''a.pdf"
        );
    }

    #[test]
    fn too_large_is_413_and_the_rest_422() {
        assert_eq!(refusal_status(&too_large("x")), StatusCode::PAYLOAD_TOO_LARGE);
        let empty = ValidationErrors::single(FILE_FIELD, "empty_file", "empty");
        assert_eq!(refusal_status(&empty), StatusCode::UNPROCESSABLE_ENTITY);
    }
}
