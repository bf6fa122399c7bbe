//! Intervention sheets (fiches d'intervention) of on-site tasks, shared by the pages and the API:
//!
//! - the sheet itself: every field of the paper sheet, from the ticket, its linked assets and
//!   the task, with captions from the catalogue (`planning.sheet.*`) in the reader's language;
//!   blank (to sign on paper), as it stands, or signed;
//! - the e-mail that sends it to the technician, with a link to the signing page, enqueued in
//!   the transaction that planned the intervention ([`mail_sheet_if_due`]);
//! - signing on screen ([`sign`]): the PNG drawn by the user is checked, the signed PDF is
//!   rendered and stored immutably with its SHA-256 in the audit trail, and the task is done.
//!
//! Access: a sheet is for the people who handle the ticket in full; a stored document is for
//! whoever may read its ticket (and, for a private task, in full). Out of scope: 404.

use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::helpdesk::{visible_ticket, TicketAccess};
use crate::i18n::{I18n, Lang};
use crate::pages::local_time;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use parc_core::{TaskId, TicketId, ValidationErrors};
use parc_docs::intervention::{
    check_signature_png, render_intervention, InterventionLabels, InterventionSheet, MAX_SIGNATURE_BYTES,
};
use parc_docs::DocError;
use parc_mail::{Attachment, Email};
use parc_store::helpdesk::notify::{self, EventKind};
use parc_store::helpdesk::{self, Document, SignatureInput, Task, Ticket};
use parc_store::{jobs, locations, mail_settings, users, Conn};

/// The captions of the sheet in `lang`.
pub fn labels(i18n: &I18n, lang: Lang) -> InterventionLabels {
    let t = |k: &str| i18n.t(lang, &format!("planning.sheet.{k}")).to_owned();
    InterventionLabels {
        title: t("title"),
        file_number: t("file_number"),
        requester: t("requester"),
        user: t("user"),
        phone: t("phone"),
        author: t("author"),
        subject: t("subject"),
        category: t("category"),
        location: t("location"),
        asset_tag: t("asset_tag"),
        model: t("model"),
        hardware_needed: t("hardware_needed"),
        kind: t("kind"),
        notified_on: t("notified_on"),
        planned_on: t("planned_on"),
        technician: t("technician"),
        description: t("description"),
        on_site: t("on_site"),
        time_spent: t("time_spent"),
        work_done: t("work_done"),
        signed_on: t("signed_on"),
        signer: t("signer"),
        user_signature: t("user_signature"),
        technician_signature: t("technician_signature"),
        page: t("page"),
    }
}

/// "1 h 30 min", "2 h", "45 min".
pub fn duration_text(minutes: i64) -> String {
    match (minutes / 60, minutes % 60) {
        (0, m) => format!("{m} min"),
        (h, 0) => format!("{h} h"),
        (h, m) => format!("{h} h {m} min"),
    }
}

/// The on-site block of a sheet (empty fields get room to be written by hand).
#[derive(Debug, Default)]
pub struct OnSite {
    pub time_spent: Option<String>,
    pub work_done: Option<String>,
    pub signed_on: Option<String>,
    pub signer: Option<String>,
}

impl OnSite {
    /// What the task recorded so far (time spent, report), or nothing for a blank sheet.
    pub fn recorded(k: &Task, blank: bool) -> OnSite {
        if blank {
            return OnSite::default();
        }
        OnSite {
            time_spent: (k.duration_minutes > 0).then(|| duration_text(k.duration_minutes)),
            work_done: k.report.clone(),
            ..OnSite::default()
        }
    }
}

/// The file name of a task's sheet.
pub fn sheet_filename(ticket: TicketId, task: TaskId) -> String {
    format!("fiche-intervention-{ticket}-{task}.pdf")
}

/// "12/03/2026 09:00 – 10:30" (the end's date only when it differs).
fn planned_text(lang: Lang, k: &Task) -> Option<String> {
    let start = local_time(lang, k.planned_start.as_deref()?);
    Some(match k.planned_end.as_deref().map(|e| local_time(lang, e)) {
        Some(end) => match (start.split_once(' '), end.split_once(' ')) {
            (Some((d1, _)), Some((d2, time))) if d1 == d2 => format!("{start} – {time}"),
            _ => format!("{start} – {end}"),
        },
        None => start,
    })
}

fn joined(values: impl Iterator<Item = String>) -> Option<String> {
    let v: Vec<String> = values.filter(|s| !s.trim().is_empty()).collect();
    (!v.is_empty()).then(|| v.join(", "))
}

/// The sheet of task `k` of ticket `t`: every field of the paper sheet, captions in `lang`.
pub async fn sheet(
    c: &mut Conn,
    i18n: &I18n,
    lang: Lang,
    organisation: &str,
    t: &Ticket,
    k: &Task,
    on_site: OnSite,
) -> AppResult<InterventionSheet> {
    let person = async |c: &mut Conn, id: Option<parc_core::UserId>| -> AppResult<Option<users::User>> {
        Ok(match id {
            Some(id) => users::get(c, id).await?,
            None => None,
        })
    };
    let on_behalf = person(c, t.on_behalf_user_id).await?;
    let author = person(c, t.created_by_user_id).await?.map(|u| u.display_name);
    let category = match t.category_id {
        Some(id) => helpdesk::category(c, id).await?.map(|x| x.path),
        None => None,
    };
    let location = match t.location_id {
        Some(id) => locations::get(c, id).await?.map(|l| match l.address {
            Some(a) if !a.trim().is_empty() => format!("{} ({a})", l.path),
            _ => l.path,
        }),
        None => None,
    };
    let assets = helpdesk::assets_of(c, t.id).await?;
    let mut description = t.description.trim().to_owned();
    if !k.description.trim().is_empty() && k.description.trim() != description {
        let task = i18n.t(lang, "planning.sheet.task");
        description = format!("{description}\n\n{task} : {}", k.description.trim()).trim().to_owned();
    }
    Ok(InterventionSheet {
        labels: labels(i18n, lang),
        organisation: organisation.to_owned(),
        file_number: format!("#{}", t.id),
        requester: t.requester_label.clone(),
        requester_phone: t.requester_phone.clone(),
        user: t.on_behalf_label.clone(),
        user_phone: on_behalf.and_then(|u| u.phone),
        author: author.or_else(|| Some(t.created_by_label.clone())),
        subject: t.title.clone(),
        category: category.or_else(|| t.category_name.clone()),
        location: location.or_else(|| t.location_name.clone()),
        asset_tag: joined(assets.iter().map(|a| a.asset_tag.clone().unwrap_or_else(|| a.name.clone()))),
        model: joined(assets.iter().filter_map(|a| a.model.clone())),
        hardware_needed: k.hardware_needed.clone(),
        kind: Some(i18n.t(lang, &format!("ticket_type.{}", t.kind.as_str())).to_owned()),
        notified_on: Some(local_time(lang, &t.created_at)),
        planned_on: planned_text(lang, k),
        technician: k.technician_label.clone(),
        description,
        time_spent: on_site.time_spent,
        work_done: on_site.work_done,
        signed_on: on_site.signed_on,
        signer: on_site.signer,
    })
}

fn render(sheet: &InterventionSheet, signature: Option<&[u8]>) -> AppResult<Vec<u8>> {
    render_intervention(sheet, signature).map_err(|e| match e {
        DocError::TooLarge { .. } | DocError::InvalidImage(_) => {
            AppError::Validation(signature_errors("signature", &e))
        }
        other => AppError::Internal(format!("intervention sheet: {other}")),
    })
}

/// A PDF answer (shown in the browser, with its file name for saving).
pub fn pdf_response(filename: &str, bytes: Vec<u8>) -> Response {
    let disposition = format!("inline; filename=\"{filename}\"");
    (
        [
            (header::CONTENT_TYPE, "application/pdf".to_owned()),
            (header::CONTENT_DISPOSITION, disposition),
            (header::CACHE_CONTROL, "private, no-store".to_owned()),
        ],
        bytes,
    )
        .into_response()
}

/// The ticket and its task, for someone who reads the ticket in full.
async fn ticket_and_task(ctx: &Ctx, c: &mut Conn, ticket: TicketId, task: TaskId) -> AppResult<(Ticket, Task)> {
    let (t, access) = visible_ticket(ctx, c, ticket).await?;
    let full = access == TicketAccess::Full;
    let k = helpdesk::task(c, task).await?.filter(|k| k.ticket_id == t.id && (full || !k.is_private));
    let k = k.ok_or(AppError::NotFound)?;
    if !full {
        return Err(AppError::Forbidden("intervention sheets are for technicians".into()));
    }
    Ok((t, k))
}

/// The sheet of a task as a PDF: the stored signed sheet once signed (unless `blank`), else the
/// sheet as it stands; `blank` prints the fields with empty on-site and signature boxes.
pub async fn sheet_pdf(ctx: &Ctx, ticket: TicketId, task: TaskId, blank: bool) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let (t, k) = ticket_and_task(ctx, &mut c, ticket, task).await?;
    let filename = sheet_filename(t.id, k.id);
    if !blank {
        if let Some(doc) = helpdesk::signed_sheet(&mut c, k.id).await? {
            let bytes = helpdesk::document_content(&mut c, doc.id).await?.ok_or(AppError::NotFound)?;
            return Ok(pdf_response(&doc.filename, bytes));
        }
    }
    let settings = ctx.state.settings().await;
    let on_site = OnSite::recorded(&k, blank);
    let s = sheet(&mut c, &ctx.state.i18n, ctx.lang, &settings.organisation_name, &t, &k, on_site).await?;
    drop(c);
    Ok(pdf_response(&filename, render(&s, None)?))
}

/// A stored document, for whoever may read its ticket (a private task's: in full); an attachment
/// as `pages::attachments::download` serves it.
pub async fn document_response(ctx: &Ctx, id: i64) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let doc = helpdesk::document(&mut c, id).await?.ok_or(AppError::NotFound)?;
    if doc.kind == helpdesk::ATTACHMENT {
        return crate::pages::attachments::download(ctx, &mut c, doc.id).await;
    }
    let ticket = doc.ticket_id.ok_or(AppError::NotFound)?;
    let (_, access) = visible_ticket(ctx, &mut c, ticket).await?;
    if access != TicketAccess::Full {
        let task = match doc.task_id {
            Some(k) => helpdesk::task(&mut c, k).await?,
            None => None,
        };
        if task.is_none_or(|k| k.is_private) {
            return Err(AppError::NotFound);
        }
    }
    let bytes = helpdesk::document_content(&mut c, doc.id).await?.ok_or(AppError::NotFound)?;
    Ok(pdf_response(&doc.filename, bytes))
}

/// The documents of a ticket its reader may open (see [`document_response`]): all of them in
/// full, else those of the tasks the reader sees (`visible_tasks`).
pub fn readable_documents(docs: Vec<Document>, visible_tasks: &[TaskId], access: TicketAccess) -> Vec<Document> {
    docs.into_iter()
        .filter(|d| access == TicketAccess::Full || d.task_id.is_some_and(|id| visible_tasks.contains(&id)))
        .collect()
}

/// Enqueues the e-mail that sends the sheet to the technician of an on-site task, when it was
/// just planned: created, or its technician, appointment or on-site flag changed (`before` is
/// the task before the change). Only while e-mail sending is on, to a technician with an
/// address who did not opt out of planning notifications. Call it in the transaction that
/// saved the task: the e-mail is sent after the commit, or never.
pub async fn mail_sheet_if_due(ctx: &Ctx, c: &mut Conn, before: Option<&Task>, k: &Task) -> AppResult<()> {
    let changed = before.is_none_or(|b| {
        !b.on_site
            || b.technician_user_id != k.technician_user_id
            || b.planned_start != k.planned_start
            || b.planned_end != k.planned_end
    });
    let Some(tech) = k.technician_user_id.filter(|_| changed && k.on_site && !k.done && k.signer_name.is_none()) else {
        return Ok(());
    };
    if !mail_settings::enabled(c).await? || notify::optouts(c, tech).await?.contains(&EventKind::Planning) {
        return Ok(());
    }
    let Some(user) = users::get(c, tech).await?.filter(|u| u.active) else { return Ok(()) };
    let Some(address) = user.email.clone().filter(|e| !e.trim().is_empty()) else { return Ok(()) };
    let t = helpdesk::get(c, k.ticket_id).await?.ok_or(AppError::NotFound)?;
    let settings = ctx.state.settings().await;
    let lang = user.language.as_deref().and_then(Lang::parse).or(Lang::parse(&settings.default_language));
    let lang = lang.unwrap_or_default();
    let i18n = &ctx.state.i18n;
    let s = sheet(c, i18n, lang, &settings.organisation_name, &t, k, OnSite::default()).await?;
    let pdf = render(&s, None)?;
    let base = settings.public_url.trim().trim_end_matches('/');
    let id = t.id.to_string();
    let when = s.planned_on.clone().unwrap_or_else(|| i18n.t(lang, "planning.mail.unplanned").to_owned());
    let args = [
        ("id", id.as_str()),
        ("title", t.title.as_str()),
        ("when", when.as_str()),
        ("location", s.location.as_deref().unwrap_or("-")),
        ("sign", &format!("{base}/tickets/{}/tasks/{}/sign", t.id, k.id)),
        ("ticket", &format!("{base}/tickets/{}", t.id)),
    ];
    let email = Email {
        to: vec![address],
        subject: i18n.tf(lang, "planning.mail.subject", &args),
        text: i18n.tf(lang, "planning.mail.body", &args),
        attachments: vec![Attachment {
            filename: sheet_filename(t.id, k.id),
            content_type: "application/pdf".into(),
            bytes: pdf,
        }],
        ..Email::default()
    };
    jobs::enqueue_mail(c, &email).await?;
    Ok(())
}

pub(crate) fn signature_errors(field: &str, e: &DocError) -> ValidationErrors {
    let code = match e {
        DocError::TooLarge { .. } => "signature_too_large",
        _ => "not_png",
    };
    ValidationErrors::single(field, code, e.to_string())
}

/// The checked PNG of a signature field (base64 or data URL), or its problem added to `errors`
/// under `field`.
pub(crate) fn decode_signature_field(text: &str, field: &str, errors: &mut ValidationErrors) -> Option<Vec<u8>> {
    match decode_signature(text) {
        Ok(png) => match check_signature_png(&png) {
            Ok(_) => Some(png),
            Err(e) => {
                errors.fields.extend(signature_errors(field, &e).fields);
                None
            }
        },
        Err(code) => {
            errors.add(field, code, "the signature must be a PNG image drawn on the screen");
            None
        }
    }
}

/// The PNG of a signature sent as base64, with or without its `data:image/png;base64,` prefix.
pub(crate) fn decode_signature(text: &str) -> Result<Vec<u8>, &'static str> {
    let b64 = text.trim();
    let b64 = b64.strip_prefix("data:image/png;base64,").unwrap_or(b64);
    if b64.is_empty() {
        return Err("required");
    }
    if b64.len() > MAX_SIGNATURE_BYTES.div_ceil(3) * 4 {
        return Err("signature_too_large");
    }
    base64::engine::general_purpose::STANDARD.decode(b64).map_err(|_| "not_png")
}

/// Signs an on-site task: checks the input and the signature (a PNG, `field` naming it in the
/// errors), renders the signed sheet in the caller's language, stores it with its SHA-256 in
/// the audit trail and closes the intervention. Everything in the caller's transaction `c`.
pub async fn sign(
    ctx: &Ctx,
    c: &mut Conn,
    t: &Ticket,
    task: TaskId,
    input: &SignatureInput,
    signature: &str,
    field: &str,
) -> AppResult<Document> {
    let mut errors = input.check();
    let png = match decode_signature(signature) {
        Ok(png) => match check_signature_png(&png) {
            Ok(_) => Some(png),
            Err(e) => {
                errors.fields.extend(signature_errors(field, &e).fields);
                None
            }
        },
        Err(code) => {
            errors.add(field, code, "the signature must be a PNG image drawn on the screen");
            None
        }
    };
    let (Some(png), true) = (png, errors.is_empty()) else { return Err(AppError::Validation(errors)) };
    let k = helpdesk::check_signable(c, t, task).await?;
    let settings = ctx.state.settings().await;
    let on_site = OnSite {
        time_spent: Some(duration_text(input.duration_minutes)),
        work_done: input.report.clone().filter(|r| !r.trim().is_empty()),
        signed_on: Some(local_time(ctx.lang, &parc_store::now())),
        signer: Some(input.signer_name.trim().to_owned()),
    };
    let s = sheet(c, &ctx.state.i18n, ctx.lang, &settings.organisation_name, t, &k, on_site).await?;
    let pdf = render(&s, Some(&png))?;
    let doc = helpdesk::sign_task(c, &ctx.actor(), t, k.id, input, &sheet_filename(t.id, k.id), &pdf).await?;
    Ok(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(duration_text(45), "45 min");
        assert_eq!(duration_text(120), "2 h");
        assert_eq!(duration_text(90), "1 h 30 min");
    }

    #[test]
    fn signatures_are_base64_pngs_with_or_without_a_data_url() {
        assert_eq!(decode_signature("data:image/png;base64,iVBORw0K").unwrap()[..4], [0x89, b'P', b'N', b'G']);
        assert_eq!(decode_signature("iVBORw0K").unwrap()[..4], [0x89, b'P', b'N', b'G']);
        assert_eq!(decode_signature("  "), Err("required"));
        assert_eq!(decode_signature("pas du base64 !"), Err("not_png"));
        assert_eq!(decode_signature(&"A".repeat(3_000_000)), Err("signature_too_large"));
    }

    #[test]
    fn every_caption_is_in_the_catalogue() {
        let i18n = I18n::load();
        for lang in [Lang::Fr, Lang::En] {
            let l = labels(&i18n, lang);
            assert!(!l.title.starts_with("planning.") && !l.page.starts_with("planning."), "{l:?}");
        }
    }
}
