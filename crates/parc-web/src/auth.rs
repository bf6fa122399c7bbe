//! Who is calling: the session cookie (pages) or a bearer token (API), their profiles and
//! language, and the cross-origin guard.

use crate::error::AppError;
use crate::i18n::Lang;
use crate::AppState;
use axum::extract::{FromRequestParts, Request};
use axum::http::request::Parts;
use axum::http::{header, HeaderMap, Method};
use axum::middleware::Next;
use axum::response::Response;
use axum_extra::extract::cookie::{Cookie, CookieJar, SameSite};
use parc_core::entities::EntityTree;
use parc_core::permissions::{Action, Grants, Object, Scope};
use parc_core::EntityId;
use parc_store::users::{self, User};
use parc_store::{entities, Actor};

pub const SESSION_COOKIE: &str = "parc_session";
pub const LANG_COOKIE: &str = "parc_lang";
pub const LOGIN_CSRF_COOKIE: &str = "parc_login_csrf";

/// The signed-in user of a request, with everything needed to scope it.
#[derive(Clone)]
pub struct Ctx {
    pub state: AppState,
    pub user: User,
    pub grants: Grants,
    pub tree: EntityTree,
    /// The session's CSRF token; `None` for bearer-token calls, which carry no cookie.
    pub csrf: Option<String>,
    pub session_token: Option<String>,
    pub lang: Lang,
    pub request_id: String,
    /// The requested path and query (pages come back to it after a language switch).
    pub path: String,
}

impl Ctx {
    pub fn actor(&self) -> Actor {
        Actor { user_id: Some(self.user.id), label: self.user.login.clone(), request_id: Some(self.request_id.clone()) }
    }

    pub fn scope(&self, object: Object, action: Action) -> Scope {
        self.grants.scope(&self.tree, object, action)
    }

    pub fn can(&self, object: Object, action: Action, entity: EntityId) -> bool {
        self.grants.can(&self.tree, object, action, entity)
    }

    pub fn can_anywhere(&self, object: Object, action: Action) -> bool {
        self.grants.can_anywhere(object, action)
    }

    /// The entity ids where `action` on `object` is allowed, as a list for SQL.
    pub fn entity_ids(&self, object: Object, action: Action) -> Vec<i64> {
        let s = self.scope(object, action);
        s.full.iter().chain(s.own_only.iter()).map(|e| e.0).collect()
    }

    /// Translation in the caller's language.
    pub fn tr<'a>(&'a self, key: &'a str) -> &'a str {
        self.state.i18n.t(self.lang, key)
    }

    /// 404 unless `action` on an object of `entity` is allowed: an object out of scope does
    /// not exist for the caller.
    pub fn require(&self, object: Object, action: Action, entity: EntityId) -> Result<(), AppError> {
        if self.can(object, action, entity) {
            Ok(())
        } else {
            Err(AppError::NotFound)
        }
    }
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer ").or_else(|| v.strip_prefix("bearer ")))
        .map(str::trim)
}

pub fn request_id(headers: &HeaderMap) -> String {
    headers.get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-").to_owned()
}

/// The language of a request without a signed-in user: cookie, then browser, then setting.
pub fn anonymous_lang(headers: &HeaderMap, default: &str) -> Lang {
    let jar = CookieJar::from_headers(headers);
    jar.get(LANG_COOKIE)
        .and_then(|c| Lang::parse(c.value()))
        .or_else(|| {
            headers.get(header::ACCEPT_LANGUAGE).and_then(|v| v.to_str().ok()).and_then(Lang::from_accept_language)
        })
        .or_else(|| Lang::parse(default))
        .unwrap_or_default()
}

impl FromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        if let Some(ctx) = parts.extensions.get::<Ctx>() {
            return Ok(ctx.clone());
        }
        let mut c = state.store.read().await?;
        let (user, csrf, session_token) = if let Some(tok) = bearer(&parts.headers) {
            let u = users::token_user(&mut c, tok).await?.ok_or(AppError::Unauthorized)?;
            (u, None, None)
        } else {
            let jar = CookieJar::from_headers(&parts.headers);
            let tok = jar.get(SESSION_COOKIE).map(|c| c.value().to_owned()).ok_or(AppError::Unauthorized)?;
            let (u, csrf) = users::session_user(&mut c, &tok).await?.ok_or(AppError::Unauthorized)?;
            // Cookie-authenticated API writes must prove they come from our pages.
            let is_api = parts.uri.path().starts_with("/api/");
            let safe = matches!(parts.method, Method::GET | Method::HEAD | Method::OPTIONS);
            if is_api && !safe {
                let sent = parts.headers.get("x-csrf-token").and_then(|v| v.to_str().ok());
                if sent != Some(csrf.as_str()) {
                    return Err(AppError::Forbidden("missing or wrong X-CSRF-Token header".into()));
                }
            }
            (u, Some(csrf), Some(tok))
        };
        let grants = users::grants(&mut c, user.id).await?;
        let tree = entities::tree(&mut c).await?;
        drop(c);
        let lang = match user.language.as_deref().and_then(Lang::parse) {
            Some(l) => l,
            None => anonymous_lang(&parts.headers, &state.settings().await.default_language),
        };
        let ctx = Ctx {
            state: state.clone(),
            user,
            grants,
            tree,
            csrf,
            session_token,
            lang,
            request_id: request_id(&parts.headers),
            path: parts.uri.path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_else(|| "/".into()),
        };
        parts.extensions.insert(ctx.clone());
        Ok(ctx)
    }
}

/// Pages open to everyone (the QR target) take `Option<Ctx>`: signed in or not, never an error
/// for lack of a session.
impl axum::extract::OptionalFromRequestParts<AppState> for Ctx {
    type Rejection = AppError;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &AppState,
    ) -> Result<Option<Self>, Self::Rejection> {
        match <Ctx as axum::extract::FromRequestParts<AppState>>::from_request_parts(parts, state).await {
            Ok(c) => Ok(Some(c)),
            Err(AppError::Unauthorized) => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// Refuses state-changing requests sent by another site (a second line of defence besides the
/// CSRF token): `Sec-Fetch-Site: cross-site`, or an `Origin` whose host is not ours.
pub async fn cross_origin_guard(req: Request, next: Next) -> Response {
    let safe = matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if !safe {
        let h = req.headers();
        let cross_site = h.get("sec-fetch-site").and_then(|v| v.to_str().ok()) == Some("cross-site");
        let host = h.get(header::HOST).and_then(|v| v.to_str().ok());
        let origin_mismatch = match (h.get(header::ORIGIN).and_then(|v| v.to_str().ok()), host) {
            (Some("null"), _) => true,
            (Some(o), Some(host)) => {
                let o_host = o.split("://").nth(1).unwrap_or(o);
                o_host != host
            }
            _ => false,
        };
        if cross_site || origin_mismatch {
            return axum::response::IntoResponse::into_response(AppError::Forbidden(
                "cross-site request refused".into(),
            ));
        }
    }
    next.run(req).await
}

/// Whether the browser reached us over HTTPS: configured, or said by a TLS-terminating proxy.
pub fn over_tls(state: &AppState, headers: &HeaderMap) -> bool {
    state.config.secure_cookies
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.eq_ignore_ascii_case("https"))
}

/// The session cookie: HttpOnly, SameSite=Lax, Secure when served over TLS.
pub fn session_cookie(state: &AppState, headers: &HeaderMap, token: String) -> Cookie<'static> {
    Cookie::build((SESSION_COOKIE, token))
        .http_only(true)
        .same_site(SameSite::Lax)
        .secure(over_tls(state, headers))
        .path("/")
        .max_age(time_duration_hours(state.config.session_hours))
        .build()
}

pub fn plain_cookie(state: &AppState, name: &'static str, value: String, http_only: bool) -> Cookie<'static> {
    Cookie::build((name, value))
        .http_only(http_only)
        .same_site(SameSite::Lax)
        .secure(state.config.secure_cookies)
        .path("/")
        .build()
}

fn time_duration_hours(h: i64) -> time::Duration {
    time::Duration::hours(h)
}

/// The client's address (from the socket; Parc does not trust X-Forwarded-For).
pub struct ClientAddr(pub String);

impl<S: Send + Sync> FromRequestParts<S> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
                .map(|c| c.0.ip().to_string())
                .unwrap_or_else(|| "local".into()),
        ))
    }
}

/// Removal cookie for `name`.
pub fn removal(name: &'static str) -> Cookie<'static> {
    let mut c = Cookie::from(name);
    c.set_path("/");
    c.make_removal();
    c
}
