//! Loans pages: `/loans` (who has what, overdue loans, upcoming reservations, the loanable
//! assets, bulk check-in by scanned codes, exports), `/loans/items/<asset>` (an asset's month
//! calendar of reservations, reserving, its open loan and check-in, its loan history) and
//! `/loans/checkout` (one or several assets to one borrower, signed on screen). The work is
//! `crate::loans`, shared with the API.

use super::{local_time, render_status, see_other, Page};
use crate::auth::Ctx;
use crate::error::{AppError, AppResult};
use crate::forms::CsrfForm;
use crate::loans::{self as web, BulkCheckin, CheckoutRequest, ReserveInput};
use crate::pages::assets::visible_asset;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use chrono::{Datelike, Duration, NaiveDate, TimeZone, Utc};
use chrono_tz::Europe::Paris;
use parc_core::permissions::Action;
use parc_core::{AssetId, ValidationErrors};
use parc_store::assets::Asset;
use parc_store::loans::{self, Item, Loan, Reservation};
use parc_store::users::{self, User};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/loans", get(overview))
        .route("/loans/export.csv", get(export_csv))
        .route("/loans/export.xlsx", get(export_xlsx))
        .route("/loans/items", post(pool_add))
        .route("/loans/items/{id}", get(item_page))
        .route("/loans/items/{id}/reserve", post(reserve))
        .route("/loans/items/{id}/remove", post(pool_remove))
        .route("/loans/reservations/{id}/cancel", post(cancel))
        .route("/loans/checkout", get(checkout_page).post(checkout))
        .route("/loans/checkin", post(bulk_checkin))
        .route("/loans/{id}/checkin", post(checkin))
        .route("/loans/documents/{id}", get(sheet))
        .route("/static/loans.css", get(css))
}

const CSS: &str = include_str!("../../static/loans.css");

async fn css() -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], CSS)
        .into_response()
}

fn message(page: &Page, f: &parc_core::FieldError) -> String {
    page.field_message("loans", f)
}

/// The people one may lend to: active users of the caller's entities.
async fn borrowers(ctx: &Ctx, c: &mut parc_store::Conn) -> AppResult<Vec<User>> {
    Ok(users::list(c, &web::readable(ctx), None, 2000).await?.into_iter().filter(|u| u.active).collect())
}

// ---- overview ----

#[derive(Template)]
#[template(path = "loans/index.html")]
struct Overview {
    page: Page,
    open: Vec<Loan>,
    overdue_only: bool,
    overdue: usize,
    upcoming: Vec<Reservation>,
    items: Vec<Item>,
    /// The last bulk check-in's outcome.
    bulk: Option<BulkCheckin>,
    codes: String,
    condition: String,
    errors: ValidationErrors,
}

super::field_errors!(message; Overview);

impl Overview {
    fn out_to(&self, who: &str, due: &str) -> String {
        out_to(&self.page, who, due)
    }
}

#[derive(Deserialize, Default)]
struct OverviewQuery {
    overdue: Option<String>,
    ok: Option<String>,
}

async fn overview_page(
    ctx: &Ctx,
    overdue_only: bool,
    bulk: Option<BulkCheckin>,
    form: (String, String),
    errors: ValidationErrors,
) -> AppResult<Overview> {
    web::require_reader(ctx)?;
    let entities = web::readable(ctx);
    let mut c = ctx.state.store.read().await?;
    let now = Utc::now();
    let all = loans::open_loans(&mut c, &entities, false, now).await?;
    let overdue = all.iter().filter(|l| l.overdue).count();
    let open = if overdue_only { all.into_iter().filter(|l| l.overdue).collect() } else { all };
    let upcoming = loans::upcoming_reservations(&mut c, &entities, now).await?;
    let items = loans::items(&mut c, &entities).await?;
    let page = Page::new(ctx, "loans.title").await.with_form_errors(&errors);
    Ok(Overview { page, open, overdue_only, overdue, upcoming, items, bulk, codes: form.0, condition: form.1, errors })
}

async fn overview(ctx: Ctx, Query(q): Query<OverviewQuery>) -> AppResult<Response> {
    let only = q.overdue.as_deref().is_some_and(|v| !matches!(v, "" | "0" | "false"));
    let mut body = overview_page(&ctx, only, None, Default::default(), ValidationErrors::new()).await?;
    body.page = body.page.with_flash(q.ok.as_deref());
    Ok(render_status(StatusCode::OK, &body))
}

async fn sheet(ctx: Ctx, Path(id): Path<i64>) -> AppResult<Response> {
    web::sheet_response(&ctx, id).await
}

async fn export_csv(ctx: Ctx, Query(q): Query<OverviewQuery>) -> AppResult<Response> {
    crate::api::loans::export_file(&ctx, "csv", q.overdue.is_some_and(|v| v == "1")).await
}

async fn export_xlsx(ctx: Ctx, Query(q): Query<OverviewQuery>) -> AppResult<Response> {
    crate::api::loans::export_file(&ctx, "xlsx", q.overdue.is_some_and(|v| v == "1")).await
}

#[derive(Deserialize, Default)]
struct CodeForm {
    code: Option<String>,
}

/// Makes the asset of a tag or serial number loanable.
async fn pool_add(CsrfForm(ctx, f): CsrfForm<CodeForm>) -> AppResult<Response> {
    let mut tx = ctx.state.store.write().await?;
    let (found, unknown) = web::resolve_codes(&ctx, &mut tx, f.code.as_deref().unwrap_or("")).await?;
    let [id] = found[..] else {
        drop(tx);
        let mut e = ValidationErrors::new();
        let text = if unknown.is_empty() { f.code.clone().unwrap_or_default() } else { unknown.join(", ") };
        e.add("codes", if text.trim().is_empty() { "required" } else { "unknown_code" }, text);
        let body = overview_page(&ctx, false, None, Default::default(), e).await?;
        return Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &body));
    };
    let a = visible_asset(&ctx, &mut tx, id, Action::Update).await?;
    loans::set_loanable(&mut tx, &ctx.actor(), &a, true).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/loans/items/{}", a.id), Some("loans.added")))
}

#[derive(Deserialize, Default)]
struct BulkForm {
    codes: Option<String>,
    condition_notes: Option<String>,
}

async fn bulk_checkin(CsrfForm(ctx, f): CsrfForm<BulkForm>) -> AppResult<Response> {
    let codes = f.codes.clone().unwrap_or_default();
    let mut tx = ctx.state.store.write().await?;
    match web::bulk_checkin(&ctx, &mut tx, &codes, f.condition_notes.as_deref()).await {
        Ok(out) => {
            tx.commit().await?;
            let mut body = overview_page(&ctx, false, Some(out), Default::default(), ValidationErrors::new()).await?;
            let n = body.bulk.as_ref().map_or(0, |b| b.checked_in.len()).to_string();
            body.page.flash = Some(body.page.tf("loans.bulk_done", &[("count", &n)]));
            Ok(render_status(StatusCode::OK, &body))
        }
        Err(AppError::Validation(e)) => {
            drop(tx);
            let form = (codes, f.condition_notes.unwrap_or_default());
            let body = overview_page(&ctx, false, None, form, e).await?;
            Ok(render_status(StatusCode::UNPROCESSABLE_ENTITY, &body))
        }
        Err(e) => Err(e),
    }
}

// ---- an asset's calendar ----

/// One day of the month grid.
struct Day {
    /// Day of the month; 0 for the padding before the 1st.
    number: u32,
    today: bool,
    /// "10:00–12:00 M. Dupont" lines of the reservations meeting that day.
    lines: Vec<String>,
    /// The open loan covers that day.
    loaned: bool,
}

#[derive(Template)]
#[template(path = "loans/item.html")]
struct ItemPage {
    page: Page,
    a: Asset,
    loanable: bool,
    can_change: bool,
    open: Option<Loan>,
    reservations: Vec<Reservation>,
    history: Vec<Loan>,
    month_title: String,
    prev: String,
    next: String,
    days: Vec<Day>,
    day_names: Vec<String>,
    borrowers: Vec<User>,
    form: ReserveForm,
    errors: ValidationErrors,
}

super::field_errors!(message; ItemPage);

impl ItemPage {
    fn out_to(&self, who: &str, due: &str) -> String {
        out_to(&self.page, who, due)
    }
}

impl ItemPage {
    fn selected(&self, id: &i64) -> bool {
        self.form.borrower_user_id.as_deref() == Some(id.to_string().as_str())
    }
}

#[derive(Deserialize, Default, Clone)]
struct MonthQuery {
    month: Option<String>,
    ok: Option<String>,
}

#[derive(Deserialize, Default, Clone)]
struct ReserveForm {
    borrower_user_id: Option<String>,
    starts_at: Option<String>,
    ends_at: Option<String>,
    note: Option<String>,
}

fn month_start(q: Option<&str>) -> NaiveDate {
    q.and_then(|m| NaiveDate::parse_from_str(&format!("{}-01", m.trim()), "%Y-%m-%d").ok())
        .filter(|d| (2000..=2999).contains(&d.year()))
        .unwrap_or_else(|| {
            let t = Utc::now().with_timezone(&Paris).date_naive();
            t.with_day(1).unwrap_or(t)
        })
}

fn paris_midnight(d: NaiveDate) -> chrono::DateTime<Utc> {
    let local = d.and_hms_opt(0, 0, 0).unwrap_or_default();
    Paris.from_local_datetime(&local).earliest().map(|t| t.with_timezone(&Utc)).unwrap_or_else(|| local.and_utc())
}

fn hhmm(stored: &str) -> String {
    chrono::DateTime::parse_from_rfc3339(stored)
        .map(|t| t.with_timezone(&Paris).format("%H:%M").to_string())
        .unwrap_or_default()
}

async fn item_render(
    ctx: &Ctx,
    id: i64,
    month: Option<&str>,
    form: ReserveForm,
    errors: ValidationErrors,
    status: StatusCode,
    flash: Option<String>,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let a = visible_asset(ctx, &mut c, AssetId(id), Action::Read).await?;
    let first = month_start(month);
    let next_first = (first + Duration::days(32)).with_day(1).unwrap_or(first);
    let prev_first = (first - Duration::days(1)).with_day(1).unwrap_or(first);
    let (from, to) = (paris_midnight(first), paris_midnight(next_first));
    let reservations = loans::reservations_of(&mut c, a.id, from, to).await?;
    let open = loans::open_loan_of(&mut c, a.id).await?;
    let history = loans::loans_of(&mut c, a.id, 50).await?;
    let loanable = loans::is_loanable(&mut c, a.id).await?;
    let people = borrowers(ctx, &mut c).await?;
    drop(c);
    let today = Utc::now().with_timezone(&Paris).date_naive();
    let mut days: Vec<Day> = (0..first.weekday().num_days_from_monday())
        .map(|_| Day { number: 0, today: false, lines: Vec::new(), loaned: false })
        .collect();
    let mut d = first;
    while d < next_first {
        let (start, end) =
            (parc_store::fmt_time(paris_midnight(d)), parc_store::fmt_time(paris_midnight(d + Duration::days(1))));
        let lines = reservations
            .iter()
            .filter(|r| r.starts_at < end && r.ends_at > start)
            .map(|r| format!("{}–{} {}", hhmm(&r.starts_at), hhmm(&r.ends_at), r.borrower_name))
            .collect();
        let loaned = open.as_ref().is_some_and(|l| {
            l.checked_out_at < end && (l.due_at.as_str() > start.as_str() || (l.overdue && d <= today))
        });
        days.push(Day { number: d.day(), today: d == today, lines, loaned });
        d += Duration::days(1);
    }
    let day_names = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
        .iter()
        .map(|k| ctx.tr(&format!("loans.day.{k}")).to_owned())
        .collect();
    let month_title = format!("{:02}/{}", first.month(), first.year());
    let mut page = Page::new(ctx, "loans.calendar").await.with_title(a.name.clone()).with_form_errors(&errors);
    if errors.is_empty() {
        if let Some(f) = flash {
            page.flash = Some(f);
        }
    }
    let body = ItemPage {
        can_change: ctx.can(parc_core::permissions::Object::Asset, Action::Update, a.entity_id),
        page,
        a,
        loanable,
        open,
        reservations,
        history,
        month_title,
        prev: prev_first.format("%Y-%m").to_string(),
        next: next_first.format("%Y-%m").to_string(),
        days,
        day_names,
        borrowers: people,
        form,
        errors,
    };
    Ok(render_status(status, &body))
}

async fn item_page(ctx: Ctx, Path(id): Path<i64>, Query(q): Query<MonthQuery>) -> AppResult<Response> {
    let flash = q.ok.as_deref().filter(|k| ctx.state.i18n.has(ctx.lang, k)).map(|k| ctx.tr(k).to_owned());
    item_render(&ctx, id, q.month.as_deref(), ReserveForm::default(), ValidationErrors::new(), StatusCode::OK, flash)
        .await
}

async fn reserve(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<ReserveForm>) -> AppResult<Response> {
    let borrower = match f.borrower_user_id.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => Some(v.parse::<i64>().map_err(|_| AppError::field("borrower_user_id", "unknown_user", "unknown"))?),
    };
    let input = ReserveInput {
        asset: AssetId(id),
        borrower,
        starts_at: f.starts_at.as_deref().unwrap_or(""),
        ends_at: f.ends_at.as_deref().unwrap_or(""),
        note: f.note.as_deref(),
    };
    let mut tx = ctx.state.store.write().await?;
    match web::reserve(&ctx, &mut tx, &input).await {
        Ok(r) => {
            tx.commit().await?;
            let month = chrono::DateTime::parse_from_rfc3339(&r.starts_at)
                .map(|t| t.with_timezone(&Paris).format("%Y-%m").to_string())
                .unwrap_or_default();
            Ok(see_other(&format!("/loans/items/{id}?month={month}"), Some("loans.reserved")))
        }
        Err(AppError::Validation(e)) => {
            drop(tx);
            item_render(&ctx, id, None, f, e, StatusCode::UNPROCESSABLE_ENTITY, None).await
        }
        Err(AppError::Conflict(m)) => {
            drop(tx);
            item_render(&ctx, id, None, f, ValidationErrors::new(), StatusCode::CONFLICT, Some(m)).await
        }
        Err(e) => Err(e),
    }
}

async fn pool_remove(Path(id): Path<i64>, CsrfForm(ctx, _f): CsrfForm<CodeForm>) -> AppResult<Response> {
    let mut tx = ctx.state.store.write().await?;
    let a = visible_asset(&ctx, &mut tx, AssetId(id), Action::Update).await?;
    loans::set_loanable(&mut tx, &ctx.actor(), &a, false).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/loans/items/{id}"), Some("loans.removed")))
}

async fn cancel(Path(id): Path<i64>, CsrfForm(ctx, _f): CsrfForm<CodeForm>) -> AppResult<Response> {
    let mut tx = ctx.state.store.write().await?;
    let r = web::visible_reservation(&ctx, &mut tx, id, true).await?;
    loans::cancel_reservation(&mut tx, &ctx.actor(), &r).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/loans/items/{}", r.asset_id), Some("loans.cancelled")))
}

#[derive(Deserialize, Default)]
struct CheckinForm {
    condition_notes: Option<String>,
}

async fn checkin(Path(id): Path<i64>, CsrfForm(ctx, f): CsrfForm<CheckinForm>) -> AppResult<Response> {
    let mut tx = ctx.state.store.write().await?;
    let l = web::checkin(&ctx, &mut tx, id, f.condition_notes.as_deref()).await?;
    tx.commit().await?;
    Ok(see_other(&format!("/loans/items/{}", l.asset_id), Some("loans.checked_in")))
}

// ---- check-out ----

#[derive(Template)]
#[template(path = "loans/checkout.html")]
struct CheckoutPage {
    page: Page,
    borrowers: Vec<User>,
    form: CheckoutForm,
    /// Suggested due date (a week from now, 17:00 Paris).
    errors: ValidationErrors,
}

super::field_errors!(message; CheckoutPage);

impl CheckoutPage {
    fn selected(&self, id: &i64) -> bool {
        self.form.borrower_user_id.as_deref() == Some(id.to_string().as_str())
    }
}

#[derive(Deserialize, Default, Clone)]
struct CheckoutForm {
    codes: Option<String>,
    borrower_user_id: Option<String>,
    due_at: Option<String>,
    note: Option<String>,
    signature: Option<String>,
}

#[derive(Deserialize, Default)]
struct CheckoutQuery {
    asset: Option<i64>,
}

async fn checkout_render(
    ctx: &Ctx,
    mut form: CheckoutForm,
    errors: ValidationErrors,
    status: StatusCode,
    flash: Option<String>,
) -> AppResult<Response> {
    web::require_reader(ctx)?;
    let mut c = ctx.state.store.read().await?;
    let people = borrowers(ctx, &mut c).await?;
    drop(c);
    if form.due_at.is_none() {
        let due = (Utc::now().with_timezone(&Paris) + Duration::days(7)).date_naive();
        form.due_at = Some(format!("{}T17:00", due.format("%Y-%m-%d")));
    }
    form.signature = None;
    let mut page = Page::new(ctx, "loans.checkout").await.with_form_errors(&errors);
    if let Some(f) = flash {
        page.flash = Some(f);
    }
    Ok(render_status(status, &CheckoutPage { page, borrowers: people, form, errors }))
}

async fn checkout_page(ctx: Ctx, Query(q): Query<CheckoutQuery>) -> AppResult<Response> {
    let mut form = CheckoutForm::default();
    if let Some(id) = q.asset {
        let mut c = ctx.state.store.read().await?;
        let a = visible_asset(&ctx, &mut c, AssetId(id), Action::Read).await?;
        form.codes = a.asset_tag.clone().or(a.serial.clone());
    }
    checkout_render(&ctx, form, ValidationErrors::new(), StatusCode::OK, None).await
}

async fn checkout(CsrfForm(ctx, f): CsrfForm<CheckoutForm>) -> AppResult<Response> {
    let borrower = match f.borrower_user_id.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
        None => None,
        Some(v) => v.parse::<i64>().ok().or(Some(0)),
    };
    let request = CheckoutRequest {
        asset_ids: Vec::new(),
        codes: f.codes.as_deref().unwrap_or(""),
        borrower,
        due_at: f.due_at.as_deref().unwrap_or(""),
        note: f.note.as_deref(),
        signature: f.signature.as_deref().unwrap_or(""),
        signature_field: "signature",
    };
    let mut tx = ctx.state.store.write().await?;
    match web::checkout(&ctx, &mut tx, &request).await {
        Ok((out, _doc)) => {
            tx.commit().await?;
            match &out[..] {
                [one] => Ok(see_other(&format!("/loans/items/{}", one.asset_id), Some("loans.checked_out"))),
                _ => Ok(see_other("/loans", Some("loans.checked_out"))),
            }
        }
        Err(AppError::Validation(e)) => {
            drop(tx);
            checkout_render(&ctx, f, e, StatusCode::UNPROCESSABLE_ENTITY, None).await
        }
        Err(AppError::Conflict(m)) => {
            drop(tx);
            checkout_render(&ctx, f, ValidationErrors::new(), StatusCode::CONFLICT, Some(m)).await
        }
        Err(e) => Err(e),
    }
}

/// "Lent to X until Y" for a list row.
pub(crate) fn out_to(page: &Page, who: &str, due: &str) -> String {
    page.tf("loans.out_to", &[("who", who), ("due", &local_time(page.lang, due))])
}
