//! The contacts helper of a phone change (`/contacts`): upload a vCard export, get a summary
//! (contacts read, exact duplicates removed, SIM batches), one merged `.vcf`, or a ZIP of
//! batches of at most 250 contacts. Stateless: nothing is stored. A file Parc cannot read is
//! refused with the reason (422) and the form again. For anyone who may see assets.

use super::attachments::{refusal_status, FormWithFiles, UPLOAD_BODY_MAX};
use super::{render_status, Page};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::AppState;
use askama::Template;
use axum::extract::DefaultBodyLimit;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use parc_core::permissions::{Action, Object};
use parc_docs::vcard::{self, Contact, Summary};
use parc_docs::DocError;
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new().route("/contacts", get(form).post(process).layer(DefaultBodyLimit::max(UPLOAD_BODY_MAX)))
}

/// What the user asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Summary,
    Merged,
    Batches,
}

impl Mode {
    pub fn parse(s: Option<&str>) -> Option<Mode> {
        match s.map(str::trim).unwrap_or("summary") {
            "" | "summary" => Some(Mode::Summary),
            "merged" => Some(Mode::Merged),
            "batches" => Some(Mode::Batches),
            _ => None,
        }
    }
}

/// Reads and de-duplicates an upload; the contacts kept and the summary. Parsing runs on a
/// blocking thread (a 20 MiB file takes a moment).
pub(crate) async fn read(bytes: Vec<u8>) -> AppResult<(Vec<Contact>, Summary)> {
    tokio::task::spawn_blocking(move || {
        let contacts = vcard::parse(&bytes)?;
        let parsed = contacts.len();
        let unique = vcard::dedup(contacts);
        let summary = Summary::of(parsed, unique.len());
        Ok::<_, DocError>((unique, summary))
    })
    .await
    .map_err(|e| AppError::Internal(format!("vCard reading: {e}")))?
    .map_err(|e| match e {
        DocError::TooLarge { .. } => AppError::TooLarge,
        other => AppError::field("file", "malformed", &other.to_string()),
    })
}

/// The file answer of a mode (`None` for the summary).
pub(crate) fn file_response(mode: Mode, contacts: &[Contact]) -> AppResult<Option<Response>> {
    let (content_type, name, bytes) = match mode {
        Mode::Summary => return Ok(None),
        Mode::Merged => ("text/vcard; charset=utf-8", "contacts.vcf", vcard::write(contacts, true).into_bytes()),
        Mode::Batches => (
            "application/zip",
            "contacts-sim.zip",
            vcard::batches_zip(contacts).map_err(|e| AppError::Internal(format!("vCard batches: {e}")))?,
        ),
    };
    let disposition = format!("attachment; filename=\"{name}\"");
    Ok(Some(
        (
            [
                (header::CONTENT_TYPE, content_type.to_owned()),
                (header::CONTENT_DISPOSITION, disposition),
                (header::CACHE_CONTROL, "private, no-store".to_owned()),
            ],
            bytes,
        )
            .into_response(),
    ))
}

pub(crate) fn require(ctx: &Ctx) -> AppResult<()> {
    if ctx.entity_ids(Object::Asset, Action::Read).is_empty() {
        return Err(AppError::Forbidden("your profile does not allow seeing assets".into()));
    }
    Ok(())
}

#[derive(Template)]
#[template(path = "contacts/form.html")]
struct FormPage {
    page: Page,
    mode: String,
    summary: Option<Summary>,
    error: Option<String>,
}

async fn form(ctx: Ctx) -> AppResult<Response> {
    require(&ctx)?;
    let page = Page::new(&ctx, "contacts.title").await;
    Ok(render_status(StatusCode::OK, &FormPage { page, mode: "merged".into(), summary: None, error: None }))
}

#[derive(Deserialize)]
struct Upload {
    mode: Option<String>,
}

async fn process(FormWithFiles(ctx, f, files): FormWithFiles<Upload>) -> AppResult<Response> {
    require(&ctx)?;
    let mode_text = f.mode.clone().unwrap_or_default();
    let page = Page::new(&ctx, "contacts.title").await;
    let refuse = |page: Page, status: StatusCode, error: String| {
        render_status(status, &FormPage { page, mode: mode_text.clone(), summary: None, error: Some(error) })
    };
    let Some(mode) = Mode::parse(f.mode.as_deref()) else {
        return Ok(refuse(page, StatusCode::UNPROCESSABLE_ENTITY, ctx.tr("handover.err.unknown_value").to_owned()));
    };
    let files = match files {
        Ok(files) => files,
        Err(e) => {
            let message = e.fields.first().map(|f| f.message.clone()).unwrap_or_default();
            return Ok(refuse(page, refusal_status(&e), message));
        }
    };
    let Some(file) = files.into_iter().next() else {
        return Ok(refuse(page, StatusCode::UNPROCESSABLE_ENTITY, ctx.tr("contacts.err.required").to_owned()));
    };
    let (contacts, summary) = match read(file.bytes).await {
        Ok(r) => r,
        Err(AppError::Validation(e)) => {
            let detail = e.fields.first().map(|f| f.message.clone()).unwrap_or_default();
            let message = ctx.state.i18n.tf(ctx.lang, "contacts.err.malformed", &[("detail", &detail)]);
            return Ok(refuse(page, StatusCode::UNPROCESSABLE_ENTITY, message));
        }
        Err(e) => return Err(e),
    };
    if let Some(resp) = file_response(mode, &contacts)? {
        return Ok(resp);
    }
    Ok(render_status(StatusCode::OK, &FormPage { page, mode: mode_text, summary: Some(summary), error: None }))
}
