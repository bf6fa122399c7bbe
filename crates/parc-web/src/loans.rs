//! Loans and reservations, shared by the pages (`pages::loans`) and the API (`api::loans`):
//! who may see and lend what (the `Asset` rights: Read to see, Update to reserve, check out
//! and in), reading times and borrowers from input, refusals turned into one clear message in
//! the reader's language, the check-out with its signed sheet and the borrower's single
//! e-mail, check-ins one by one or by scanned codes, and the overdue reminders of the worker.

use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::i18n::{I18n, Lang};
use crate::intervention::{decode_signature, signature_errors};
use crate::pages::assets::visible_asset;
use crate::pages::local_time;
use chrono::{DateTime, NaiveDate, NaiveDateTime, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use parc_core::loans::{check_due, check_reservation, parse_codes, BookingKind, MAX_BULK, MAX_NOTE_CHARS};
use parc_core::permissions::{Action, Object};
use parc_core::{AssetId, UserId, ValidationErrors};
use parc_docs::intervention::check_signature_png;
use parc_docs::loans::{render_loan_sheet, LoanSheet, LoanSheetItem, LoanSheetLabels};
use parc_mail::{Attachment, Email};
use parc_store::assets::Asset;
use parc_store::documents::Document;
use parc_store::loans::{self, CheckoutInput, Loan, Refusal, ReminderPass, Reservation};
use parc_store::users::{self, User};
use parc_store::{jobs, mail_settings, Conn, Store};

/// The entities where the caller sees assets (loan lists are scoped by the asset's entity).
pub fn readable(ctx: &Ctx) -> Vec<i64> {
    ctx.scope(Object::Asset, Action::Read).full.iter().map(|e| e.0).collect()
}

/// Whether the caller may use the loans pages at all.
pub fn require_reader(ctx: &Ctx) -> AppResult<()> {
    if ctx.scope(Object::Asset, Action::Read).full.is_empty() {
        return Err(AppError::Forbidden("your profile does not give access to loans".into()));
    }
    Ok(())
}

/// An instant typed in a form or sent to the API: RFC 3339, a local `YYYY-MM-DDTHH:MM`
/// (Paris time, as `datetime-local` inputs send it), or a `YYYY-MM-DD` date (midnight, Paris).
pub fn parse_instant(field: &str, v: &str) -> Result<DateTime<Utc>, ValidationErrors> {
    let v = v.trim();
    let bad = || ValidationErrors::single(field, "datetime", "must be a date and time (YYYY-MM-DDTHH:MM or RFC 3339)");
    if v.is_empty() {
        return Err(ValidationErrors::single(field, "required", "is required"));
    }
    let t = DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            let local = NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M")
                .or_else(|_| NaiveDateTime::parse_from_str(v, "%Y-%m-%dT%H:%M:%S"))
                .ok()
                .or_else(|| NaiveDate::parse_from_str(v, "%Y-%m-%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)))?;
            Paris.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc))
        })
        .ok_or_else(bad)?;
    if !(2000..=2999).contains(&chrono::Datelike::year(&t)) {
        return Err(bad());
    }
    Ok(t)
}

/// A note or condition text: trimmed, empty is none, at most [`MAX_NOTE_CHARS`].
pub fn note(field: &str, v: Option<&str>) -> Result<Option<String>, ValidationErrors> {
    let v = v.map(str::trim).filter(|v| !v.is_empty());
    let mut e = ValidationErrors::new();
    parc_core::validate::check_text(&mut e, field, v, MAX_NOTE_CHARS, true);
    e.into_result()?;
    Ok(v.map(str::to_owned))
}

/// Whether a scanned code may be looked up (a tag or serial is short printable text).
fn plausible_code(code: &str) -> bool {
    code.chars().count() <= 200 && !code.chars().any(char::is_control)
}

/// The borrower `id`: an active user of an entity where the caller sees assets (else 422,
/// without telling whether such a user exists elsewhere).
pub async fn borrower(ctx: &Ctx, c: &mut Conn, id: i64, field: &str) -> AppResult<User> {
    let visible = readable(ctx);
    users::get(c, UserId(id))
        .await?
        .filter(|u| u.active && visible.contains(&u.entity_id.0))
        .ok_or_else(|| AppError::field(field, "unknown_user", "no such active user in your entities"))
}

/// A loanable asset the caller may lend (404 outside their scope, 403 read-only).
pub async fn lendable(ctx: &Ctx, c: &mut Conn, id: AssetId) -> AppResult<Asset> {
    visible_asset(ctx, c, id, Action::Update).await
}

/// The refusals of a reservation or check-out as one sentence per problem, in `lang`.
pub fn refusal_message(i18n: &I18n, lang: Lang, refusals: &[Refusal]) -> String {
    refusals
        .iter()
        .map(|r| match r {
            Refusal::NotLoanable { asset_name, .. } => {
                i18n.tf(lang, "loans.refused.not_loanable", &[("asset", asset_name)])
            }
            Refusal::Unavailable { asset_name, status, .. } => {
                let status = i18n.t(lang, &format!("status.{}", status.as_str())).to_owned();
                i18n.tf(lang, "loans.refused.unavailable", &[("asset", asset_name), ("status", &status)])
            }
            Refusal::Booked { asset_name, kind, borrower_name, starts_at, ends_at, .. } => {
                let key = match kind {
                    BookingKind::Reservation => "loans.refused.reserved",
                    BookingKind::Loan => "loans.refused.loaned",
                };
                let (from, to) = (local_time(lang, starts_at), local_time(lang, ends_at));
                i18n.tf(lang, key, &[("asset", asset_name), ("who", borrower_name), ("from", &from), ("to", &to)])
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn refused(ctx: &Ctx, refusals: &[Refusal]) -> AppError {
    AppError::Conflict(refusal_message(&ctx.state.i18n, ctx.lang, refusals))
}

/// What a reservation request holds, as typed.
pub struct ReserveInput<'a> {
    pub asset: AssetId,
    pub borrower: Option<i64>,
    pub starts_at: &'a str,
    pub ends_at: &'a str,
    pub note: Option<&'a str>,
}

/// Reserves an asset in the caller's transaction `c`: 422 for bad input, 409 with the reason
/// when it would overlap another reservation or a loan (nothing written).
pub async fn reserve(ctx: &Ctx, c: &mut Conn, i: &ReserveInput<'_>) -> AppResult<Reservation> {
    let a = lendable(ctx, c, i.asset).await?;
    let mut e = ValidationErrors::new();
    let start = parse_instant("starts_at", i.starts_at).map_err(|x| e.fields.extend(x.fields)).ok();
    let end = parse_instant("ends_at", i.ends_at).map_err(|x| e.fields.extend(x.fields)).ok();
    let text = note("note", i.note).map_err(|x| e.fields.extend(x.fields)).ok().flatten();
    if i.borrower.is_none() {
        e.add("borrower_user_id", "required", "is required");
    }
    let period = match (start, end) {
        (Some(s), Some(t)) => check_reservation(s, t, Utc::now()).map_err(|x| e.fields.extend(x.fields)).ok(),
        _ => None,
    };
    e.into_result()?;
    let (Some(period), Some(who)) = (period, i.borrower) else { return Err(AppError::BadRequest("period".into())) };
    let who = borrower(ctx, c, who, "borrower_user_id").await?;
    match loans::reserve(c, &ctx.actor(), &a, &who, period, text.as_deref()).await? {
        Ok(r) => Ok(r),
        Err(refusals) => Err(refused(ctx, &refusals)),
    }
}

/// A reservation the caller may see (404 otherwise); `change`: one they may cancel (403).
pub async fn visible_reservation(ctx: &Ctx, c: &mut Conn, id: i64, change: bool) -> AppResult<Reservation> {
    let r = loans::reservation(c, id).await?.ok_or(AppError::NotFound)?;
    let action = if change { Action::Update } else { Action::Read };
    visible_asset(ctx, c, r.asset_id, action).await?;
    Ok(r)
}

/// What a check-out holds, as typed.
pub struct CheckoutRequest<'a> {
    /// Assets by id, and/or by tag or serial number (scanned, one per line).
    pub asset_ids: Vec<i64>,
    pub codes: &'a str,
    pub borrower: Option<i64>,
    pub due_at: &'a str,
    pub note: Option<&'a str>,
    /// The borrower's signature: a PNG, base64 or a data URL.
    pub signature: &'a str,
    /// The signature's field name in errors.
    pub signature_field: &'a str,
}

/// The assets of scanned codes (tags or serial numbers), in the caller's entities; the codes
/// that match nothing, or more than one asset, are returned apart.
pub async fn resolve_codes(ctx: &Ctx, c: &mut Conn, text: &str) -> AppResult<(Vec<AssetId>, Vec<String>)> {
    let codes = parse_codes(text);
    if codes.len() > MAX_BULK {
        return Err(AppError::field("codes", "too_many", "at most 500 assets at once"));
    }
    let entities = readable(ctx);
    let (mut found, mut unknown) = (Vec::new(), Vec::new());
    for code in codes {
        if !plausible_code(&code) {
            unknown.push(code);
            continue;
        }
        match loans::find_by_code(c, &entities, &code).await?[..] {
            [one] => found.push(one),
            _ => unknown.push(code),
        }
    }
    Ok((found, unknown))
}

/// Checks out one or several assets to a borrower under one signed sheet, in `c`: the sheet
/// (PDF, caller's language) is stored, the assets go out, and the borrower gets ONE e-mail with
/// the sheet (in their language) when sending is on. 422 for bad input or unknown codes, 409
/// when an asset is not free (nothing written).
pub async fn checkout(ctx: &Ctx, c: &mut Conn, r: &CheckoutRequest<'_>) -> AppResult<(Vec<Loan>, Document)> {
    let mut e = ValidationErrors::new();
    let now = Utc::now();
    let due = match parse_instant("due_at", r.due_at) {
        Ok(d) => check_due(d, now).map_err(|x| e.fields.extend(x.fields)).ok().map(|_| d),
        Err(x) => {
            e.fields.extend(x.fields);
            None
        }
    };
    let text = note("note", r.note).map_err(|x| e.fields.extend(x.fields)).ok().flatten();
    if r.borrower.is_none() {
        e.add("borrower_user_id", "required", "is required");
    }
    let (mut ids, unknown) = resolve_codes(ctx, c, r.codes).await?;
    if !unknown.is_empty() {
        e.add("codes", "unknown_code", format!("unknown or ambiguous: {}", unknown.join(", ")));
    }
    ids.extend(r.asset_ids.iter().map(|i| AssetId(*i)));
    let mut seen = std::collections::BTreeSet::new();
    ids.retain(|i| seen.insert(*i));
    if ids.is_empty() && unknown.is_empty() {
        e.add("codes", "required", "give at least one asset");
    }
    if ids.len() > MAX_BULK {
        e.add("codes", "too_many", "at most 500 assets at once");
    }
    let png = match decode_signature(r.signature) {
        Ok(png) => match check_signature_png(&png) {
            Ok(_) => Some(png),
            Err(x) => {
                e.fields.extend(signature_errors(r.signature_field, &x).fields);
                None
            }
        },
        Err(code) => {
            e.add(r.signature_field, code, "the borrower's signature must be a PNG image drawn on the screen");
            None
        }
    };
    e.into_result()?;
    let (Some(due), Some(png), Some(who)) = (due, png, r.borrower) else {
        return Err(AppError::BadRequest("incomplete check-out".into()));
    };
    let who = borrower(ctx, c, who, "borrower_user_id").await?;
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        out.push(lendable(ctx, c, id).await?);
    }
    let settings = ctx.state.settings().await;
    let sheet = sheet(&ctx.state.i18n, ctx.lang, &settings.organisation_name, &who, &out, now, due, text.as_deref());
    let pdf = render_loan_sheet(&sheet, Some(&png)).map_err(|x| AppError::Internal(format!("loan sheet: {x}")))?;
    let filename = format!("pret-{}.pdf", now.format("%Y%m%d-%H%M%S"));
    let input = CheckoutInput { borrower: &who, due, note: text.as_deref(), sheet: &pdf, filename: &filename };
    let (loans_out, doc) = match loans::checkout(c, &ctx.actor(), ctx.state.store.cipher(), &out, &input, now).await? {
        Ok(done) => done,
        Err(refusals) => return Err(refused(ctx, &refusals)),
    };
    mail_sheet(ctx, c, &who, &out, now, due, text.as_deref(), &filename, &pdf).await?;
    Ok((loans_out, doc))
}

fn user_lang(u: &User, default: &str) -> Lang {
    u.language.as_deref().and_then(Lang::parse).or(Lang::parse(default)).unwrap_or_default()
}

#[expect(clippy::too_many_arguments, reason = "the parts of one sheet")]
fn sheet(
    i18n: &I18n,
    lang: Lang,
    organisation: &str,
    who: &User,
    items: &[Asset],
    now: DateTime<Utc>,
    due: DateTime<Utc>,
    note: Option<&str>,
) -> LoanSheet {
    let t = |k: &str| i18n.t(lang, &format!("loans.sheet.{k}")).to_owned();
    LoanSheet {
        labels: LoanSheetLabels {
            title: t("title"),
            borrower: t("borrower"),
            checked_out: t("checked_out"),
            due: t("due"),
            note: t("note"),
            items: t("items"),
            name: t("name"),
            tag: t("tag"),
            serial: t("serial"),
            statement: t("statement"),
            signature: t("signature"),
            page: t("page"),
        },
        organisation: organisation.to_owned(),
        borrower: who.display_name.clone(),
        checked_out_on: local_time(lang, &parc_store::fmt_time(now)),
        due_on: local_time(lang, &parc_store::fmt_time(due)),
        note: note.unwrap_or_default().to_owned(),
        items: items
            .iter()
            .map(|a| LoanSheetItem {
                name: a.name.clone(),
                tag: a.asset_tag.clone().unwrap_or_default(),
                serial: a.serial.clone().unwrap_or_default(),
            })
            .collect(),
    }
}

/// Queues the borrower's one e-mail of a check-out, with the signed sheet, when sending is on
/// and they have an address.
#[expect(clippy::too_many_arguments, reason = "the parts of one e-mail")]
async fn mail_sheet(
    ctx: &Ctx,
    c: &mut Conn,
    who: &User,
    items: &[Asset],
    now: DateTime<Utc>,
    due: DateTime<Utc>,
    note: Option<&str>,
    filename: &str,
    pdf: &[u8],
) -> AppResult<()> {
    let Some(address) = who.email.clone().filter(|e| !e.trim().is_empty()) else { return Ok(()) };
    if !mail_settings::enabled(c).await? {
        return Ok(());
    }
    let settings = ctx.state.settings().await;
    let lang = user_lang(who, &settings.default_language);
    let i18n = &ctx.state.i18n;
    let list: Vec<String> =
        items.iter().map(|a| format!("- {}", item_label(&a.name, a.asset_tag.as_deref()))).collect();
    let (count, due_s) = (items.len().to_string(), local_time(lang, &parc_store::fmt_time(due)));
    let out_s = local_time(lang, &parc_store::fmt_time(now));
    let args = [
        ("name", who.display_name.as_str()),
        ("count", count.as_str()),
        ("items", &list.join("\n")),
        ("due", due_s.as_str()),
        ("out", out_s.as_str()),
        ("note", note.unwrap_or("-")),
        ("organisation", settings.organisation_name.as_str()),
    ];
    let email = Email {
        to: vec![address],
        subject: i18n.tf(lang, "loans.mail.checkout_subject", &args),
        text: i18n.tf(lang, "loans.mail.checkout_body", &args),
        attachments: vec![Attachment {
            filename: filename.to_owned(),
            content_type: "application/pdf".into(),
            bytes: pdf.to_vec(),
        }],
        ..Email::default()
    };
    jobs::enqueue_mail(c, &email).await?;
    Ok(())
}

fn item_label(name: &str, tag: Option<&str>) -> String {
    match tag {
        Some(t) if !t.is_empty() => format!("{name} ({t})"),
        _ => name.to_owned(),
    }
}

/// An open loan the caller may check in (404 outside their scope, 403 read-only, 409 if
/// already back).
pub async fn checkin(ctx: &Ctx, c: &mut Conn, id: i64, condition: Option<&str>) -> AppResult<Loan> {
    let condition = note("condition_notes", condition)?;
    let l = loans::loan(c, id).await?.ok_or(AppError::NotFound)?;
    visible_asset(ctx, c, l.asset_id, Action::Update).await?;
    Ok(loans::checkin(c, &ctx.actor(), ctx.state.store.cipher(), &l, condition.as_deref()).await?)
}

/// What a bulk check-in did.
#[derive(Debug, Default, serde::Serialize, utoipa::ToSchema)]
pub struct BulkCheckin {
    /// The loans closed.
    pub checked_in: Vec<Loan>,
    /// Codes that match no asset (or several) of the caller's entities.
    pub unknown: Vec<String>,
    /// Codes of assets that were not on loan.
    pub not_on_loan: Vec<String>,
}

/// Checks in every asset of `codes` (tags or serial numbers, one per line, as scanned) with
/// the same condition notes. All in `c`: a code that matches nothing is reported, not fatal.
pub async fn bulk_checkin(ctx: &Ctx, c: &mut Conn, codes: &str, condition: Option<&str>) -> AppResult<BulkCheckin> {
    let condition = note("condition_notes", condition)?;
    let list = parse_codes(codes);
    if list.is_empty() {
        return Err(AppError::field("codes", "required", "give at least one asset tag or serial number"));
    }
    if list.len() > MAX_BULK {
        return Err(AppError::field("codes", "too_many", "at most 500 assets at once"));
    }
    let entities = readable(ctx);
    let mut out = BulkCheckin::default();
    for code in list {
        if !plausible_code(&code) {
            out.unknown.push(code);
            continue;
        }
        let found = loans::find_by_code(c, &entities, &code).await?;
        let [id] = found[..] else {
            out.unknown.push(code);
            continue;
        };
        visible_asset(ctx, c, id, Action::Update).await?;
        match loans::open_loan_of(c, id).await? {
            Some(l) => {
                let back = loans::checkin(c, &ctx.actor(), ctx.state.store.cipher(), &l, condition.as_deref()).await?;
                out.checked_in.push(back);
            }
            None => out.not_on_loan.push(code),
        }
    }
    Ok(out)
}

/// A signed loan sheet, for whoever sees an asset it lent (404 otherwise).
pub async fn sheet_response(ctx: &Ctx, id: i64) -> AppResult<axum::response::Response> {
    let mut c = ctx.state.store.read().await?;
    let asset = loans::asset_of_sheet(&mut c, id).await?.ok_or(AppError::NotFound)?;
    visible_asset(ctx, &mut c, asset, Action::Read).await?;
    let doc = parc_store::documents::document(&mut c, id).await?.ok_or(AppError::NotFound)?;
    let bytes = parc_store::documents::document_content(&mut c, id).await?.ok_or(AppError::NotFound)?;
    Ok(crate::intervention::pdf_response(&doc.filename, bytes))
}

/// The "who has what" table: headers and rows in `lang`.
pub fn table(i18n: &I18n, lang: Lang, list: &[Loan]) -> (Vec<String>, Vec<Vec<String>>) {
    let h = |k: &str| i18n.t(lang, &format!("loans.col.{k}")).to_owned();
    let headers =
        ["borrower", "asset", "tag", "serial", "since", "due", "overdue", "note"].iter().map(|k| h(k)).collect();
    let (yes, no) = (i18n.t(lang, "common.yes").to_owned(), i18n.t(lang, "common.no").to_owned());
    let rows = list
        .iter()
        .map(|l| {
            vec![
                l.borrower_name.clone(),
                l.asset_name.clone(),
                l.asset_tag.clone().unwrap_or_default(),
                l.asset_serial.clone().unwrap_or_default(),
                local_time(lang, &l.checked_out_at),
                local_time(lang, &l.due_at),
                if l.overdue { yes.clone() } else { no.clone() },
                l.note.clone().unwrap_or_default(),
            ]
        })
        .collect();
    (headers, rows)
}

/// The Paris date of `now` (`YYYY-MM-DD`): reminders are at most daily in local days.
pub fn paris_day(now: DateTime<Utc>) -> String {
    now.with_timezone(&Paris).format("%Y-%m-%d").to_string()
}

/// One pass of the overdue watcher: every overdue loan not reminded today gets its borrower
/// one e-mail (all their late items in it), in their language. Run by the worker.
pub async fn remind_overdue(store: &Store, i18n: &I18n, now: DateTime<Utc>) -> parc_store::Result<ReminderPass> {
    let site = {
        let mut c = store.read().await?;
        if !mail_settings::enabled(&mut c).await? {
            return Ok(ReminderPass::default());
        }
        parc_store::settings::get(&mut c).await?
    };
    let base = site.public_url.trim().trim_end_matches('/').to_owned();
    loans::remind_overdue(store, now, &paris_day(now), |group: &[Loan]| {
        let first = group.first()?;
        let address = first.borrower_email.clone().filter(|e| !e.trim().is_empty())?;
        let lang = first
            .borrower_language
            .as_deref()
            .and_then(Lang::parse)
            .or(Lang::parse(&site.default_language))
            .unwrap_or_default();
        let list: Vec<String> = group
            .iter()
            .map(|l| {
                let due = local_time(lang, &l.due_at);
                format!(
                    "- {} — {}",
                    item_label(&l.asset_name, l.asset_tag.as_deref()),
                    i18n.tf(lang, "loans.mail.due_on", &[("due", &due)])
                )
            })
            .collect();
        let count = group.len().to_string();
        let args = [
            ("name", first.borrower_name.as_str()),
            ("count", count.as_str()),
            ("items", &list.join("\n")),
            ("organisation", site.organisation_name.as_str()),
            ("url", &format!("{base}/loans")),
        ];
        Some(Email {
            to: vec![address],
            subject: i18n.tf(lang, "loans.mail.overdue_subject", &args),
            text: i18n.tf(lang, "loans.mail.overdue_body", &args),
            ..Email::default()
        })
    })
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instants() {
        let t = parse_instant("x", "2026-07-01T10:30").unwrap();
        assert_eq!(parc_store::fmt_time(t), "2026-07-01T08:30:00.000Z", "Paris summer time");
        assert_eq!(parse_instant("x", "2026-01-01").unwrap().to_rfc3339(), "2025-12-31T23:00:00+00:00");
        assert!(parse_instant("x", "2026-07-01T08:30:00Z").is_ok());
        assert_eq!(parse_instant("x", "demain").unwrap_err().fields[0].code, "datetime");
        assert_eq!(parse_instant("x", " ").unwrap_err().fields[0].code, "required");
        assert_eq!(parse_instant("x", "0001-01-01").unwrap_err().fields[0].code, "datetime");
        assert_eq!(paris_day(parse_instant("x", "2026-07-01T23:30:00Z").unwrap()), "2026-07-02");
    }
}
