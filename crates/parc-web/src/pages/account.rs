//! Sign-in, sign-out, language, and the user's own account (password, language, API tokens).

use super::{render_status, see_other, Page};
use crate::auth::{
    self, anonymous_lang, plain_cookie, removal, session_cookie, ClientAddr, Ctx, LANG_COOKIE, LOGIN_CSRF_COOKIE,
};
use crate::error::{AppError, AppResult};
use crate::forms::{constant_time_eq, CsrfForm, CsrfOnly, OkQuery, PlainForm};
use crate::i18n::Lang;
use crate::AppState;
use askama::Template;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use axum_extra::extract::cookie::CookieJar;
use parc_core::TokenId;
use parc_store::helpdesk::notify::{self as notices, EventKind};
use parc_store::secrets::{self, random_token};
use parc_store::users::{self, ApiToken, UserInput};
use parc_store::{Actor, Conn};
use serde::Deserialize;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/login", get(login_form).post(login))
        .route("/logout", post(logout))
        .route("/lang/{code}", get(switch_lang_anonymous).post(switch_lang))
        .route("/account", get(account))
        .route("/account/password", post(change_password))
        .route("/account/language", post(set_language))
        .route("/account/notifications", post(set_notifications))
        .route("/account/tokens", post(create_token))
        .route("/account/tokens/{id}/revoke", post(revoke_token))
}

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    page: Page,
    csrf: String,
    next: String,
    login: String,
    error: Option<String>,
}

#[derive(Deserialize)]
pub struct NextQuery {
    next: Option<String>,
    ok: Option<String>,
}

/// Only local paths may be redirected to after sign-in (no open redirect).
fn safe_next(next: Option<&str>) -> String {
    match next {
        Some(n) if n.starts_with('/') && !n.starts_with("//") && !n.starts_with("/\\") => n.to_owned(),
        _ => "/".to_owned(),
    }
}

/// What the sign-in page shows besides the form.
struct LoginView<'a> {
    next: String,
    login: String,
    error: Option<String>,
    status: StatusCode,
    flash: Option<&'a str>,
}

async fn login_page(state: &AppState, headers: &HeaderMap, jar: CookieJar, v: LoginView<'_>) -> Response {
    let s = state.settings().await;
    let lang = anonymous_lang(headers, &s.default_language);
    let csrf = jar.get(LOGIN_CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_else(|| random_token(24));
    let jar = jar.add(plain_cookie(state, LOGIN_CSRF_COOKIE, csrf.clone(), true));
    let page = Page::anonymous(state, lang, "login.title").await.with_flash(v.flash);
    let body = LoginPage { page, csrf, next: v.next, login: v.login, error: v.error };
    (jar, render_status(v.status, &body)).into_response()
}

async fn login_form(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    Query(q): Query<NextQuery>,
) -> Response {
    let view = LoginView {
        next: safe_next(q.next.as_deref()),
        login: String::new(),
        error: None,
        status: StatusCode::OK,
        flash: q.ok.as_deref(),
    };
    login_page(&state, &headers, jar, view).await
}

#[derive(Deserialize)]
struct LoginForm {
    login: String,
    password: String,
    csrf: String,
    next: Option<String>,
}

const ACCOUNT_FREE_FAILURES: i64 = 5;
const ADDRESS_FREE_FAILURES: i64 = 20;

async fn login(
    State(state): State<AppState>,
    headers: HeaderMap,
    jar: CookieJar,
    ClientAddr(addr): ClientAddr,
    PlainForm(form): PlainForm<LoginForm>,
) -> AppResult<Response> {
    do_login(&state, &headers, jar, &addr, form).await
}

/// How many seconds (at least one) `key` must wait before its next try, when the throttle
/// blocks it now. Shared with the anonymous QR reports, which use the same table.
pub(crate) async fn throttled_for(c: &mut Conn, key: &str) -> AppResult<Option<i64>> {
    let Some(until) = users::throttle_blocked_until(c, key).await? else { return Ok(None) };
    let secs = chrono::DateTime::parse_from_rfc3339(&until)
        .map(|t| (t.with_timezone(&chrono::Utc) - chrono::Utc::now()).num_seconds().max(1))
        .unwrap_or(60);
    Ok(Some(secs))
}

async fn do_login(
    state: &AppState,
    headers: &HeaderMap,
    jar: CookieJar,
    addr: &str,
    f: LoginForm,
) -> AppResult<Response> {
    let next = safe_next(f.next.as_deref());
    let expected = jar.get(LOGIN_CSRF_COOKIE).map(|c| c.value().to_owned()).unwrap_or_default();
    if expected.is_empty() || !constant_time_eq(expected.as_bytes(), f.csrf.as_bytes()) {
        return Err(AppError::Forbidden("the sign-in form has expired; reload the page".into()));
    }
    let s = state.settings().await;
    let lang = anonymous_lang(headers, &s.default_language);
    let login = f.login.trim().chars().take(100).collect::<String>();
    let account_key = format!("login:{}", login.to_lowercase());
    let address_key = format!("ip:{addr}");
    let mut c = state.store.read().await?;
    for key in [&account_key, &address_key] {
        if let Some(secs) = throttled_for(&mut c, key).await? {
            let msg = state.i18n.tf(lang, "login.throttled", &[("secs", &secs.to_string())]);
            let view = LoginView { next, login, error: Some(msg), status: StatusCode::TOO_MANY_REQUESTS, flash: None };
            let mut r = login_page(state, headers, jar, view).await;
            if let Ok(v) = secs.to_string().parse() {
                r.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
            return Ok(r);
        }
    }
    let found = users::by_login(&mut c, &login).await?;
    drop(c);
    let hash = found.as_ref().and_then(|(_, h)| h.clone()).unwrap_or_else(|| secrets::dummy_hash().to_owned());
    let password = f.password.clone();
    let ok = tokio::task::spawn_blocking(move || secrets::verify_password(&password, &hash)).await.unwrap_or(false);
    let user = match found {
        Some((u, _)) if ok && u.active => u,
        _ => {
            let mut tx = state.store.write().await?;
            users::throttle_fail(&mut tx, &account_key, ACCOUNT_FREE_FAILURES).await?;
            users::throttle_fail(&mut tx, &address_key, ADDRESS_FREE_FAILURES).await?;
            tx.commit().await?;
            tracing::info!(reason = "bad credentials", "sign-in refused");
            let msg = state.i18n.t(lang, "login.failed").to_owned();
            let view = LoginView { next, login, error: Some(msg), status: StatusCode::UNAUTHORIZED, flash: None };
            return Ok(login_page(state, headers, jar, view).await);
        }
    };
    let mut tx = state.store.write().await?;
    users::throttle_clear(&mut tx, &account_key).await?;
    let (token, _csrf) =
        users::create_session(&mut tx, user.id, chrono::Duration::hours(state.config.session_hours)).await?;
    let actor =
        Actor { user_id: Some(user.id), label: user.login.clone(), request_id: Some(auth::request_id(headers)) };
    parc_store::audit::record(
        &mut tx,
        &actor,
        parc_core::audit::ObjectType::User,
        user.id.0,
        Some(user.entity_id),
        parc_core::audit::AuditAction::Login,
        &[],
    )
    .await?;
    tx.commit().await?;
    tracing::info!(user.id = user.id.0, "signed in");
    let mut jar = jar.add(session_cookie(state, headers, token)).remove(removal(LOGIN_CSRF_COOKIE));
    if let Some(l) = &user.language {
        jar = jar.add(plain_cookie(state, LANG_COOKIE, l.clone(), false));
    }
    Ok((jar, see_other(&next, None)).into_response())
}

async fn logout(
    State(state): State<AppState>,
    jar: CookieJar,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    if let Some(tok) = &ctx.session_token {
        let mut tx = state.store.write().await?;
        users::end_session(&mut tx, tok).await?;
        tx.commit().await?;
    }
    Ok((jar.remove(removal(auth::SESSION_COOKIE)), see_other("/login", Some("login.signed_out"))).into_response())
}

#[derive(Deserialize)]
struct LangQuery {
    next: Option<String>,
}

/// Anonymous language switch (login page): only a cookie.
async fn switch_lang_anonymous(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(code): Path<String>,
    Query(q): Query<LangQuery>,
) -> AppResult<Response> {
    let lang = Lang::parse(&code).ok_or(AppError::NotFound)?;
    let jar = jar.add(plain_cookie(&state, LANG_COOKIE, lang.code().into(), false));
    Ok((jar, see_other(&safe_next(q.next.as_deref()), None)).into_response())
}

#[derive(Deserialize)]
struct LangForm {
    next: Option<String>,
}

/// Signed-in language switch: stored as the user's choice.
async fn switch_lang(
    State(state): State<AppState>,
    jar: CookieJar,
    Path(code): Path<String>,
    CsrfForm(ctx, f): CsrfForm<LangForm>,
) -> AppResult<Response> {
    let lang = Lang::parse(&code).ok_or(AppError::NotFound)?;
    let mut tx = state.store.write().await?;
    users::update(
        &mut tx,
        &ctx.actor(),
        ctx.user.id,
        &UserInput { language: Some(lang.code().into()), ..Default::default() },
    )
    .await?;
    tx.commit().await?;
    let jar = jar.add(plain_cookie(&state, LANG_COOKIE, lang.code().into(), false));
    Ok((jar, see_other(&safe_next(f.next.as_deref()), None)).into_response())
}

#[derive(Template)]
#[template(path = "account.html")]
struct AccountPage {
    page: Page,
    login: String,
    language: String,
    tokens: Vec<ApiToken>,
    new_token: Option<String>,
    error: Option<String>,
    /// Each kind of notification (its name) and whether the user receives it.
    notifications: Vec<(&'static str, bool)>,
    has_email: bool,
}

async fn account_page(
    ctx: &Ctx,
    flash: Option<&str>,
    new_token: Option<String>,
    error: Option<String>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let tokens = users::tokens_of(&mut c, ctx.user.id).await?;
    let off = notices::optouts(&mut c, ctx.user.id).await?;
    let notifications = EventKind::ALL.iter().map(|k| (k.as_str(), !off.contains(k))).collect();
    let page = Page::new(ctx, "account.title").await.with_flash(flash);
    Ok(render_status(
        status,
        &AccountPage {
            page,
            login: ctx.user.login.clone(),
            language: ctx.user.language.clone().unwrap_or_default(),
            tokens,
            new_token,
            error,
            notifications,
            has_email: ctx.user.email.as_deref().is_some_and(|e| !e.trim().is_empty()),
        },
    ))
}

async fn account(ctx: Ctx, Query(q): Query<OkQuery>) -> AppResult<Response> {
    account_page(&ctx, q.ok.as_deref(), None, None, StatusCode::OK).await
}

#[derive(Deserialize)]
struct PasswordForm {
    current: String,
    new: String,
    confirm: String,
}

async fn change_password(
    State(state): State<AppState>,
    CsrfForm(ctx, f): CsrfForm<PasswordForm>,
) -> AppResult<Response> {
    let fail = |key: &str| ctx.tr(key).to_owned();
    if f.new != f.confirm {
        return account_page(&ctx, None, None, Some(fail("account.mismatch")), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    if let Err(code) = secrets::check_password_policy(&f.new) {
        let msg = ctx.state.i18n.t(ctx.lang, &format!("err.{code}")).to_owned();
        return account_page(&ctx, None, None, Some(msg), StatusCode::UNPROCESSABLE_ENTITY).await;
    }
    let mut c = state.store.read().await?;
    let hash = users::by_login(&mut c, &ctx.user.login).await?.and_then(|(_, h)| h).unwrap_or_default();
    drop(c);
    let (current, new) = (f.current.clone(), f.new.clone());
    let verified = tokio::task::spawn_blocking(move || {
        if !secrets::verify_password(&current, &hash) {
            return Ok(None);
        }
        secrets::hash_password(&new).map(Some)
    })
    .await
    .map_err(|e| AppError::Internal(e.to_string()))??;
    let Some(new_hash) = verified else {
        return account_page(&ctx, None, None, Some(fail("account.wrong_current")), StatusCode::UNPROCESSABLE_ENTITY)
            .await;
    };
    let mut tx = state.store.write().await?;
    users::set_password(&mut tx, &ctx.actor(), ctx.user.id, &new_hash, ctx.session_token.as_deref()).await?;
    tx.commit().await?;
    Ok(see_other("/account", Some("account.changed")))
}

#[derive(Deserialize)]
struct LanguageForm {
    language: String,
}

async fn set_language(
    State(state): State<AppState>,
    jar: CookieJar,
    CsrfForm(ctx, f): CsrfForm<LanguageForm>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    users::update(
        &mut tx,
        &ctx.actor(),
        ctx.user.id,
        &UserInput { language: Some(f.language.clone()), ..Default::default() },
    )
    .await?;
    tx.commit().await?;
    let jar = match Lang::parse(&f.language) {
        Some(l) => jar.add(plain_cookie(&state, LANG_COOKIE, l.code().into(), false)),
        None => jar.remove(removal(LANG_COOKIE)),
    };
    Ok((jar, see_other("/account", Some("account.saved"))).into_response())
}

/// The "Notifications" fieldset: one `notify` checkbox per kind received; the others are
/// opted out of.
async fn set_notifications(
    State(state): State<AppState>,
    CsrfForm(ctx, f): CsrfForm<Vec<(String, String)>>,
) -> AppResult<Response> {
    let on: Vec<EventKind> = f.iter().filter(|(k, _)| k == "notify").filter_map(|(_, v)| EventKind::parse(v)).collect();
    let off: Vec<EventKind> = EventKind::ALL.iter().copied().filter(|k| !on.contains(k)).collect();
    let mut tx = state.store.write().await?;
    notices::set_optouts(&mut tx, &ctx.actor(), ctx.user.id, &off).await?;
    tx.commit().await?;
    Ok(see_other("/account", Some("notify.account.saved")))
}

#[derive(Deserialize)]
struct TokenForm {
    name: String,
}

async fn create_token(State(state): State<AppState>, CsrfForm(ctx, f): CsrfForm<TokenForm>) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    let (_t, secret) = users::create_token(&mut tx, &ctx.actor(), ctx.user.id, &f.name).await?;
    tx.commit().await?;
    account_page(&ctx, None, Some(secret), None, StatusCode::OK).await
}

async fn revoke_token(
    State(state): State<AppState>,
    Path(id): Path<i64>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    let mut tx = state.store.write().await?;
    users::revoke_token(&mut tx, &ctx.actor(), ctx.user.id, TokenId(id)).await?;
    tx.commit().await?;
    Ok(see_other("/account", Some("common.saved")))
}
