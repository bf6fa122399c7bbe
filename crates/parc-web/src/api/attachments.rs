//! /api/v1/tickets/{id}/attachments: the files of a ticket (JSON list) and attaching files
//! (multipart, field `file` repeated up to 5 times, optional `followup_id`). A file is
//! downloaded at /api/v1/documents/{id}. The rules are the pages': see `pages::attachments`.

use super::ApiPath;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult, ErrorBody, ErrorContent};
use crate::helpdesk::{visible_ticket, TicketAccess};
use crate::pages::attachments::{attach, check_attach, read_multipart, refusal_status, FILE_FIELD, UPLOAD_BODY_MAX};
use axum::extract::multipart::MultipartRejection;
use axum::extract::{DefaultBodyLimit, Multipart};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use parc_core::{FollowupId, TicketId, ValidationErrors};
use parc_store::helpdesk::{self, Attachment};
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(paths(attachments_list, attachments_add), components(schemas(Attachment, AttachmentUpload)))]
pub struct Doc;

pub fn routes() -> Router<crate::AppState> {
    Router::new().route(
        "/tickets/{id}/attachments",
        get(attachments_list).post(attachments_add).layer(DefaultBodyLimit::max(UPLOAD_BODY_MAX)),
    )
}

/// The multipart body of an upload.
#[derive(ToSchema)]
#[expect(dead_code, reason = "documents the multipart body; the handler reads the parts one by one")]
pub struct AttachmentUpload {
    /// A file of at most 10 MiB; repeat the field for up to 5 files. Its type is decided from
    /// its bytes, its name stripped of any path.
    #[schema(value_type = String, format = Binary)]
    file: Vec<u8>,
    /// A follow-up of the ticket the files come with (a private one's files are for handlers).
    followup_id: Option<i64>,
}

/// The files attached to a ticket, oldest first (those of private follow-ups for handlers only).
#[utoipa::path(get, path = "/tickets/{id}/attachments", tag = "helpdesk", params(("id" = i64, Path)),
    responses((status = 200, body = [Attachment]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 404, body = ErrorBody)))]
async fn attachments_list(ctx: Ctx, ApiPath(id): ApiPath<i64>) -> AppResult<Json<Vec<Attachment>>> {
    let mut c = ctx.state.store.read().await?;
    let (t, access) = visible_ticket(&ctx, &mut c, TicketId(id)).await?;
    Ok(Json(helpdesk::attachments_of(&mut c, t.id, access == TicketAccess::Full).await?))
}

/// Attaches files to a ticket, or to one of its follow-ups: all of them or none. A file over
/// 10 MiB answers 413, an empty one 422.
#[utoipa::path(post, path = "/tickets/{id}/attachments", tag = "helpdesk", params(("id" = i64, Path)),
    request_body(content = AttachmentUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = [Attachment]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody), (status = 413, body = ErrorBody),
        (status = 422, body = ErrorBody)))]
async fn attachments_add(
    ctx: Ctx,
    ApiPath(id): ApiPath<i64>,
    mp: Result<Multipart, MultipartRejection>,
) -> AppResult<Response> {
    let mp = mp.map_err(|e| AppError::BadRequest(e.body_text()))?;
    let (fields, files) = read_multipart(mp).await?;
    let followup = match fields.iter().find(|(k, _)| k == "followup_id").map(|(_, v)| v.trim()) {
        None | Some("") => None,
        Some(v) => Some(FollowupId(v.parse::<i64>().map_err(|_| {
            AppError::field("followup_id", "not_a_number", "must be the number of a follow-up of this ticket")
        })?)),
    };
    let mut tx = ctx.state.store.write().await?;
    let (t, access) = visible_ticket(&ctx, &mut tx, TicketId(id)).await?;
    check_attach(&ctx, &mut tx, &t, access, followup).await?;
    let files = match files {
        Ok(f) if f.is_empty() => {
            return Err(AppError::field(FILE_FIELD, "required", "send at least one file in the \"file\" field"))
        }
        Ok(f) => f,
        Err(e) if refusal_status(&e) == StatusCode::PAYLOAD_TOO_LARGE => return Ok(too_large(e)),
        Err(e) => return Err(AppError::Validation(e)),
    };
    let list = attach(&mut tx, &ctx.actor(), &t, followup, &files).await?;
    tx.commit().await?;
    Ok((StatusCode::CREATED, Json(list)).into_response())
}

/// 413 in the API's error shape, saying which file and the limit.
fn too_large(e: ValidationErrors) -> Response {
    let message = e.fields.first().map(|f| f.message.clone()).unwrap_or_else(|| AppError::TooLarge.to_string());
    let body = ErrorBody {
        error: ErrorContent { code: "too_large".into(), message, details: serde_json::json!({ "fields": e.fields }) },
    };
    (StatusCode::PAYLOAD_TOO_LARGE, Json(body)).into_response()
}
