//! The QR label URL `/r/<token>`: a short "report a problem" form about the labelled asset,
//! already filled with the asset and its location.
//!
//! A signed-in user who may open tickets in the asset's entity (or an entity above it) reports
//! as themselves: they are the requester, the asset is linked and its location set. Without
//! that, the asset's entity (or its nearest ancestor with a setting) must take anonymous
//! reports: the form then also asks a name and a phone number, carries its own CSRF token in a
//! cookie (as the sign-in form does), is small, and is throttled per address (with the sign-in
//! throttle's table); the ticket is opened by nobody (`anonymous` in the audit trail).
//! Otherwise the page offers to sign in and come back. Submitting shows the ticket's number.

use super::account::throttled_for;
use super::tickets::{may_open_in, merge, message, text};
use super::{render_status, Page};
use crate::auth::{anonymous_lang, plain_cookie, request_id, ClientAddr, Ctx};
use crate::error::{AppError, AppResult};
use crate::forms::{constant_time_eq, PlainForm};
use crate::helpdesk::{check_create, visible_ticket};
use crate::AppState;
use askama::Template;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use parc_core::{EntityId, ValidationErrors};
use parc_store::assets::{self, Asset};
use parc_store::helpdesk::{self, TicketInput};
use parc_store::secrets::random_token;
use parc_store::{entities, locations, users, Actor, StoreError};
use serde::Deserialize;

/// The anonymous form's CSRF cookie (the signed-in form uses the session's token).
const REPORT_CSRF_COOKIE: &str = "parc_report_csrf";
/// The largest form accepted: a report is a few lines.
const BODY_LIMIT: usize = 16 * 1024;
/// The longest description of a report.
const MAX_DESCRIPTION: usize = 4000;
/// Anonymous reports an address may send in an hour before each one makes it wait (doubling).
const FREE_REPORTS: i64 = 3;
/// The audit trail's name for the author of an anonymous report.
pub const ANONYMOUS: &str = "anonymous";

pub fn routes() -> Router<AppState> {
    Router::new().route("/r/{token}", get(show).post(submit).layer(DefaultBodyLimit::max(BODY_LIMIT)))
}

/// Who may report, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// Signed in and allowed: reports as themselves, with a ticket in this entity.
    Signed(EntityId),
    /// Anyone, giving a name and a phone number.
    Anonymous,
    /// Not signed in, and the entity takes no anonymous reports: sign in first.
    SignIn,
    /// Signed in but may not open tickets there: call the hotline.
    Refused,
}

impl Mode {
    fn name(self) -> &'static str {
        match self {
            Mode::Signed(_) => "signed",
            Mode::Anonymous => "anonymous",
            Mode::SignIn => "sign_in",
            Mode::Refused => "refused",
        }
    }
}

/// The labelled asset, where it is, and who may report about it.
struct Target {
    asset: Asset,
    location: Option<String>,
    mode: Mode,
}

/// Where a signed-in user's report about `a` goes: the asset's entity, or the nearest entity
/// above it where they may open tickets.
fn report_entity(ctx: &Ctx, a: &Asset) -> Option<EntityId> {
    ctx.tree.path(a.entity_id).into_iter().rev().find(|e| may_open_in(ctx, *e))
}

async fn target(state: &AppState, token: &str, ctx: Option<&Ctx>) -> AppResult<Target> {
    if token.len() > 64 || !token.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        return Err(AppError::NotFound);
    }
    let mut c = state.store.read().await?;
    let asset = assets::get_by_token(&mut c, token).await?.ok_or(AppError::NotFound)?;
    let location = match asset.location_id {
        Some(l) => locations::get(&mut c, l).await?.map(|l| l.path),
        None => None,
    };
    let mode = match ctx.and_then(|ctx| report_entity(ctx, &asset)) {
        Some(e) => Mode::Signed(e),
        None => {
            let tree = entities::tree(&mut c).await?;
            let cfg = helpdesk::config(&mut c).await?;
            if cfg.anonymous_reports_for(&tree, asset.entity_id) {
                Mode::Anonymous
            } else if ctx.is_some() {
                Mode::Refused
            } else {
                Mode::SignIn
            }
        }
    };
    Ok(Target { asset, location, mode })
}

/// The report form as the browser sends it.
#[derive(Debug, Default, Deserialize)]
struct ReportForm {
    csrf: Option<String>,
    title: Option<String>,
    description: Option<String>,
    requester_name: Option<String>,
    requester_phone: Option<String>,
}

#[derive(Default)]
struct Values {
    title: String,
    description: String,
    requester_name: String,
    requester_phone: String,
}

#[derive(Template)]
#[template(path = "tickets/report.html")]
struct ReportPage {
    page: Page,
    token: String,
    a_name: String,
    a_tag: String,
    location: Option<String>,
    mode: &'static str,
    csrf: String,
    v: Values,
    errors: ValidationErrors,
    /// How to reach the hotline instead.
    call: String,
}

impl ReportPage {
    fn err(&self, field: &str) -> Option<String> {
        self.errors.for_field(field).map(|f| message(&self.page, f))
    }

    /// Errors of fields the form does not show.
    fn other_errors(&self) -> Vec<String> {
        const SHOWN: [&str; 4] = ["title", "description", "requester_name", "requester_phone"];
        self.errors
            .fields
            .iter()
            .filter(|f| !SHOWN.contains(&f.field.as_str()))
            .map(|f| message(&self.page, f))
            .collect()
    }
}

#[derive(Template)]
#[template(path = "tickets/report_sent.html")]
struct SentPage {
    page: Page,
    number: String,
    a_name: String,
    /// The ticket's page, for a signed-in reporter who may follow it.
    follow: Option<String>,
    /// "The hotline will call you back at …" (anonymous reports).
    call_back: Option<String>,
}

async fn page_for(state: &AppState, headers: &HeaderMap, ctx: Option<&Ctx>) -> Page {
    match ctx {
        Some(ctx) => Page::new(ctx, "report.title").await,
        None => {
            let settings = state.settings().await;
            Page::anonymous(state, anonymous_lang(headers, &settings.default_language), "report.title").await
        }
    }
}

/// The form (or what to do instead), with the anonymous form's CSRF cookie when it has one;
/// 422 when it comes back with errors.
async fn respond(
    state: &AppState,
    headers: &HeaderMap,
    jar: CookieJar,
    ctx: Option<&Ctx>,
    t: &Target,
    v: Values,
    errors: ValidationErrors,
) -> Response {
    let status = if errors.is_empty() { StatusCode::OK } else { StatusCode::UNPROCESSABLE_ENTITY };
    let mut page = page_for(state, headers, ctx).await;
    if !errors.is_empty() {
        page.flash = Some(page.t("common.form_errors").to_owned());
    }
    let settings = state.settings().await;
    let tag = t.asset.asset_tag.clone().unwrap_or_else(|| format!("#{}", t.asset.id));
    let call = if settings.hotline_number.is_empty() {
        page.tf("report.call_no_hotline", &[("tag", &tag)])
    } else {
        page.tf("report.call", &[("hotline", &settings.hotline_number), ("tag", &tag)])
    };
    let (jar, csrf) = match t.mode {
        Mode::Anonymous => {
            let token = jar.get(REPORT_CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_else(|| random_token(24));
            (jar.add(plain_cookie(state, REPORT_CSRF_COOKIE, token.clone(), true)), token)
        }
        _ => (jar, page.csrf().to_owned()),
    };
    let body = ReportPage {
        page,
        token: t.asset.public_token.clone(),
        a_name: t.asset.name.clone(),
        a_tag: tag,
        location: t.location.clone(),
        mode: t.mode.name(),
        csrf,
        v,
        errors,
        call,
    };
    (jar, render_status(status, &body)).into_response()
}

async fn show(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Path(token): Path<String>,
    ctx: Option<Ctx>,
) -> AppResult<Response> {
    let t = target(&state, &token, ctx.as_ref()).await?;
    // A signed-in reporter of an anonymous form is named already.
    let v = match (&ctx, t.mode) {
        (Some(ctx), Mode::Anonymous) => Values {
            requester_name: ctx.user.display_name.clone(),
            requester_phone: ctx.user.phone.clone().unwrap_or_default(),
            ..Default::default()
        },
        _ => Values::default(),
    };
    Ok(respond(&state, &headers, jar, ctx.as_ref(), &t, v, ValidationErrors::new()).await)
}

fn values(f: &ReportForm) -> Values {
    let s = |v: &Option<String>| v.clone().unwrap_or_default();
    Values {
        title: s(&f.title),
        description: s(&f.description),
        requester_name: s(&f.requester_name),
        requester_phone: s(&f.requester_phone),
    }
}

/// What the store does not check: a report's size, and an anonymous reporter's phone number
/// (the hotline must be able to call back).
fn form_errors(f: &ReportForm, anonymous: bool) -> ValidationErrors {
    let mut e = ValidationErrors::new();
    if f.description.as_deref().is_some_and(|d| d.chars().count() > MAX_DESCRIPTION) {
        e.add("description", "too_long", "is too long");
    }
    if anonymous && text(&f.requester_phone).is_none() {
        e.add("requester_phone", "required", "is required to call you back");
    }
    e
}

fn csrf_matches(expected: Option<&str>, sent: Option<&str>) -> bool {
    matches!((expected, sent), (Some(e), Some(s)) if !e.is_empty() && constant_time_eq(e.as_bytes(), s.as_bytes()))
}

async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    ClientAddr(addr): ClientAddr,
    Path(token): Path<String>,
    ctx: Option<Ctx>,
    PlainForm(f): PlainForm<ReportForm>,
) -> AppResult<Response> {
    let t = target(&state, &token, ctx.as_ref()).await?;
    let given = f.csrf.as_deref();
    let throttle = format!("report:{addr}");
    let mut input = TicketInput {
        kind: Some("incident".into()),
        title: Some(f.title.clone().unwrap_or_default()),
        description: f.description.clone(),
        location_id: t.asset.location_id.map(|l| l.0),
        asset_ids: Some(vec![t.asset.id.0]),
        source: Some("qr".into()),
        ..Default::default()
    };
    let actor = match (t.mode, &ctx) {
        (Mode::Signed(entity), Some(ctx)) => {
            if !csrf_matches(ctx.csrf.as_deref(), given) {
                return Err(AppError::Forbidden("the form has expired; reload the page".into()));
            }
            input.entity_id = Some(entity.0);
            input.requester_user_id = Some(ctx.user.id.0);
            check_create(ctx, &mut input)?;
            ctx.actor()
        }
        (Mode::Anonymous, _) => {
            let expected = jar.get(REPORT_CSRF_COOKIE).map(|c| c.value().to_owned());
            if !csrf_matches(expected.as_deref(), given) {
                return Err(AppError::Forbidden("the form has expired; reload the page".into()));
            }
            let mut c = state.store.read().await?;
            if let Some(secs) = throttled_for(&mut c, &throttle).await? {
                return Err(AppError::TooManyRequests { retry_after_secs: secs });
            }
            input.entity_id = Some(t.asset.entity_id.0);
            input.requester_name = Some(f.requester_name.clone().unwrap_or_default());
            input.requester_phone = text(&f.requester_phone);
            match &ctx {
                Some(ctx) => ctx.actor(),
                None => Actor { user_id: None, label: ANONYMOUS.into(), request_id: Some(request_id(&headers)) },
            }
        }
        (Mode::SignIn, _) | (Mode::Signed(_), None) => return Err(AppError::Unauthorized),
        (Mode::Refused, _) => {
            return Err(AppError::Forbidden("you may not report problems about this asset: call the hotline".into()))
        }
    };
    let anonymous = t.mode == Mode::Anonymous;
    let before = form_errors(&f, anonymous);
    let mut tx = state.store.write().await?;
    let cfg = helpdesk::config(&mut tx).await?;
    let tree = entities::tree(&mut tx).await?;
    let errors = match helpdesk::create(&mut tx, &actor, &cfg, &tree, &input).await {
        Ok(ticket) if before.is_empty() => {
            if anonymous {
                users::throttle_fail(&mut tx, &throttle, FREE_REPORTS).await?;
            }
            tx.commit().await?;
            tracing::info!(ticket.id = ticket.id.0, asset.id = t.asset.id.0, anonymous, "problem reported");
            return sent(&state, &headers, ctx.as_ref(), &t, ticket.id, input.requester_phone).await;
        }
        Ok(_) => before,
        Err(StoreError::Validation(v)) => merge(before, v),
        Err(e) => return Err(e.into()),
    };
    drop(tx);
    Ok(respond(&state, &headers, jar, ctx.as_ref(), &t, values(&f), errors).await)
}

/// The confirmation: the ticket's number, and for a signed-in reporter who may read it, a link.
async fn sent(
    state: &AppState,
    headers: &HeaderMap,
    ctx: Option<&Ctx>,
    t: &Target,
    id: parc_core::TicketId,
    phone: Option<String>,
) -> AppResult<Response> {
    let follow = match ctx {
        Some(ctx) => {
            let mut c = state.store.read().await?;
            visible_ticket(ctx, &mut c, id).await.ok().map(|_| format!("/tickets/{id}"))
        }
        None => None,
    };
    let mut page = page_for(state, headers, ctx).await;
    page.title = page.t("qr.sent_title").to_owned();
    let call_back = phone.map(|p| page.tf("qr.call_back", &[("phone", &p)]));
    Ok(render_status(
        StatusCode::OK,
        &SentPage { page, number: format!("#{id}"), a_name: t.asset.name.clone(), follow, call_back },
    ))
}
