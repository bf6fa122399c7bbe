//! Intervention pages: the sheet of a task as a PDF (`sheet.pdf`, `?blank=1` for the paper
//! sheet), the signing page for a phone or a tablet (time spent, report, the user's name and
//! signature drawn on screen by `static/signature.js`), and stored documents (`/documents/<id>`).
//! The work itself is `crate::intervention`, shared with the API.

use super::tickets::message;
use super::{render_status, see_other, Page};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::CsrfForm;
use crate::helpdesk::{require_handler, visible_ticket};
use crate::intervention;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use axum::Router;
use parc_core::{TaskId, TicketId, ValidationErrors};
use parc_store::helpdesk::{self, Document, SignatureInput, Task, Ticket};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/tickets/{id}/tasks/{task}/sheet.pdf", get(sheet))
        .route("/tickets/{id}/tasks/{task}/sign", get(sign_page).post(sign))
        .route("/documents/{id}", get(document))
}

#[derive(Deserialize)]
struct SheetQuery {
    blank: Option<String>,
}

async fn sheet(ctx: Ctx, Path((id, task)): Path<(i64, i64)>, Query(q): Query<SheetQuery>) -> AppResult<Response> {
    let blank = q.blank.as_deref().is_some_and(|b| !matches!(b.trim(), "" | "0" | "false"));
    intervention::sheet_pdf(&ctx, TicketId(id), TaskId(task), blank).await
}

async fn document(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    intervention::document_response(&ctx, id).await
}

/// What the signing form sends.
#[derive(Debug, Default, Deserialize)]
struct SignForm {
    duration_minutes: Option<String>,
    report: Option<String>,
    signer_name: Option<String>,
    /// The PNG drawn on the pad, as a data URL.
    signature: Option<String>,
}

#[derive(Template)]
#[template(path = "tickets/sign.html")]
struct SignPage {
    page: Page,
    t: Ticket,
    k: Task,
    /// The stored signed sheet, once signed.
    signed: Option<Document>,
    blank_href: String,
    /// What was typed (shown again after a refusal).
    duration: String,
    report: String,
    signer: String,
    errors: ValidationErrors,
}

impl SignPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.for_field(field).map(|f| message(&self.page, f))
    }
}

/// The ticket and task of a signing page, for a technician of the ticket's entity.
async fn load(ctx: &Ctx, c: &mut parc_store::Conn, id: i64, task: i64) -> AppResult<(Ticket, Task)> {
    let (t, _) = visible_ticket(ctx, c, TicketId(id)).await?;
    let k = helpdesk::task(c, TaskId(task)).await?.filter(|k| k.ticket_id == t.id).ok_or(AppError::NotFound)?;
    require_handler(ctx, &t)?;
    Ok((t, k))
}

async fn render(
    ctx: &Ctx,
    id: i64,
    task: i64,
    form: &SignForm,
    errors: ValidationErrors,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let (t, k) = load(ctx, &mut c, id, task).await?;
    let signed = helpdesk::signed_sheet(&mut c, k.id).await?;
    drop(c);
    let mut page = Page::new(ctx, "planning.signing.title").await.with_title(format!("#{} {}", t.id, t.title));
    if !errors.is_empty() {
        page.flash = Some(ctx.tr("common.form_errors").to_owned());
    }
    let keep = |v: &Option<String>, default: String| v.clone().unwrap_or(default);
    let body = SignPage {
        blank_href: format!("/tickets/{}/tasks/{}/sheet.pdf?blank=1", t.id, k.id),
        duration: keep(
            &form.duration_minutes,
            if k.duration_minutes > 0 { k.duration_minutes.to_string() } else { String::new() },
        ),
        report: keep(&form.report, k.report.clone().unwrap_or_default()),
        signer: keep(&form.signer_name, String::new()),
        page,
        signed,
        errors,
        t,
        k,
    };
    Ok(render_status(status, &body))
}

async fn sign_page(ctx: Ctx, Path((id, task)): Path<(i64, i64)>) -> AppResult<Response> {
    render(&ctx, id, task, &SignForm::default(), ValidationErrors::new(), StatusCode::OK).await
}

async fn sign(
    State(state): State<AppState>,
    Path((id, task)): Path<(i64, i64)>,
    CsrfForm(ctx, f): CsrfForm<SignForm>,
) -> AppResult<Response> {
    let mut errors = ValidationErrors::new();
    let duration = match f.duration_minutes.as_deref().map(str::trim).filter(|d| !d.is_empty()) {
        None => 0,
        Some(d) => d.parse::<i64>().unwrap_or_else(|_| {
            errors.add("duration_minutes", "range", "must be a number of minutes");
            0
        }),
    };
    let input = SignatureInput {
        signer_name: f.signer_name.clone().unwrap_or_default(),
        duration_minutes: duration,
        report: f.report.clone(),
    };
    let mut tx = state.store.write().await?;
    let (t, k) = load(&ctx, &mut tx, id, task).await?;
    let result = if errors.is_empty() {
        intervention::sign(&ctx, &mut tx, &t, k.id, &input, f.signature.as_deref().unwrap_or(""), "signature").await
    } else {
        Err(AppError::Validation(errors))
    };
    match result {
        Ok(_) => {
            tx.commit().await?;
            Ok(see_other(&format!("/tickets/{}", t.id), Some("planning.signing.done")))
        }
        Err(AppError::Validation(e)) => {
            drop(tx);
            render(&ctx, id, task, &f, e, StatusCode::UNPROCESSABLE_ENTITY).await
        }
        Err(AppError::Conflict(_)) => {
            drop(tx);
            render(&ctx, id, task, &f, ValidationErrors::new(), StatusCode::CONFLICT).await
        }
        Err(e) => Err(e),
    }
}
