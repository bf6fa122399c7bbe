//! Server-rendered HTML pages. Each feature has a module here and templates under
//! `templates/<feature>/`; all share the layout in `templates/base.html` through [`Page`].

pub mod account;
pub mod admin;
pub mod assets;
pub mod attachments;
pub mod campaigns;
pub mod checklists;
pub mod contacts;
pub mod entity_helpdesk;
pub mod handover;
pub mod helpdesk_admin;
pub mod hotline;
pub mod intervention;
pub mod inventory;
pub mod io;
pub mod loans;
pub mod mail;
pub mod monitoring;
pub mod monitoring_admin;
pub mod planning;
pub mod report;
pub mod reports;
pub mod stock;
pub mod tickets;

use crate::auth::{anonymous_lang, request_id, Ctx};
use crate::error::{AppError, ErrorInfo};
use crate::i18n::Lang;
use crate::AppState;
use askama::Template;
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::routing::get;
use axum::Router;
use parc_core::permissions::{Action, Object};
use parc_core::{FieldError, ValidationErrors};
use parc_store::settings::Settings;

/// Everything the layout needs, and the translation helpers templates call.
pub struct Page {
    pub lang: Lang,
    pub title: String,
    pub user: Option<UserNav>,
    pub settings: Settings,
    /// A catalogue key shown as a notice (after a redirect: `?ok=key`).
    pub flash: Option<String>,
    pub path: String,
    state: AppState,
}

/// The signed-in user's part of the layout: name, CSRF token and which menus to show.
pub struct UserNav {
    pub name: String,
    pub csrf: String,
    pub entities: bool,
    pub locations: bool,
    pub users: bool,
    pub import: bool,
    pub settings: bool,
    pub tickets: bool,
    /// Opens tickets for others somewhere: the hotline's quick entry.
    pub hotline: bool,
    /// Reads monitoring somewhere (the status wall).
    pub monitoring: bool,
    /// Reads assets somewhere: checklists.
    pub checklists: bool,
}

impl Page {
    pub async fn new(ctx: &Ctx, title_key: &str) -> Page {
        let settings = ctx.state.settings().await;
        let user = Some(UserNav {
            name: ctx.user.display_name.clone(),
            csrf: ctx.csrf.clone().unwrap_or_default(),
            entities: ctx.can_anywhere(Object::Entity, Action::Read),
            locations: ctx.can_anywhere(Object::Location, Action::Read),
            users: ctx.can_anywhere(Object::User, Action::Update),
            import: ctx.can_anywhere(Object::Asset, Action::Create),
            settings: ctx.can_anywhere(Object::Settings, Action::Update),
            tickets: ctx.can_anywhere(Object::Ticket, Action::Read),
            hotline: !ctx.scope(Object::Ticket, Action::Create).full.is_empty(),
            monitoring: ctx.can_anywhere(Object::Monitoring, Action::Read),
            checklists: ctx.can_anywhere(Object::Asset, Action::Read),
        });
        Page {
            lang: ctx.lang,
            title: ctx.state.i18n.t(ctx.lang, title_key).to_owned(),
            user,
            settings,
            flash: None,
            path: ctx.path.clone(),
            state: ctx.state.clone(),
        }
    }

    pub async fn anonymous(state: &AppState, lang: Lang, title_key: &str) -> Page {
        Page {
            lang,
            title: state.i18n.t(lang, title_key).to_owned(),
            user: None,
            settings: state.settings().await,
            flash: None,
            path: String::new(),
            state: state.clone(),
        }
    }

    /// Shows a notice if `key` is a known catalogue key (never arbitrary text from the URL).
    pub fn with_flash(mut self, key: Option<&str>) -> Page {
        if let Some(k) = key.filter(|k| self.state.i18n.has(self.lang, k)) {
            self.flash = Some(self.state.i18n.t(self.lang, k).to_owned());
        }
        self
    }

    pub fn with_title(mut self, title: String) -> Page {
        self.title = title;
        self
    }

    /// The "fix the form" notice, in place of any other, when a form came back with errors.
    pub fn with_form_errors(mut self, errors: &ValidationErrors) -> Page {
        if !errors.is_empty() {
            self.flash = Some(self.t("common.form_errors").to_owned());
        }
        self
    }

    /// A field problem in the reader's language: the feature's `<section>.err.<code>`, then the
    /// common `err.<code>`, then the store's English text.
    pub fn field_message(&self, section: &str, f: &FieldError) -> String {
        for key in [format!("{section}.err.{}", f.code), format!("err.{}", f.code)] {
            let text = self.t(&key);
            if text != key {
                return text.to_owned();
            }
        }
        f.message.clone()
    }

    pub fn t<'a>(&'a self, key: &'a str) -> &'a str {
        self.state.i18n.t(self.lang, key)
    }

    /// Translation of a key built from parts, e.g. `tk("kind", "computer")`.
    pub fn tk(&self, prefix: &str, value: &str) -> String {
        let key = format!("{prefix}.{value}");
        self.state.i18n.t(self.lang, &key).to_owned()
    }

    pub fn tf(&self, key: &str, args: &[(&str, &str)]) -> String {
        self.state.i18n.tf(self.lang, key, args)
    }

    /// The session's CSRF token, for hidden form fields.
    pub fn csrf(&self) -> &str {
        self.user.as_ref().map(|u| u.csrf.as_str()).unwrap_or_default()
    }

    /// A stored UTC timestamp as local time (Europe/Paris), e.g. "24/11/2026 14:05".
    pub fn when(&self, stored: &str) -> String {
        local_time(self.lang, stored)
    }

    /// Where the inventory overview lives (for links from any template).
    pub fn inventory_path(&self) -> &'static str {
        inventory::PAGE_PATH
    }

    pub fn lang_code(&self) -> &'static str {
        self.lang.code()
    }

    /// The other language, for the switch in the header.
    pub fn other_lang(&self) -> &'static str {
        match self.lang {
            Lang::Fr => "en",
            Lang::En => "fr",
        }
    }
}

/// Gives each form page (a struct with `page` and `errors` fields) the `err(field)` its
/// template calls: the translated problem with that field, read by `$message(page, error)`.
macro_rules! field_errors {
    ($message:path; $($t:ty),*) => {$(
        impl $t {
            fn err(&self, field: &str) -> Option<String> {
                self.errors.for_field(field).map(|f| $message(&self.page, f))
            }
        }
    )*};
}
pub(crate) use field_errors;

/// A stored UTC timestamp as local time (Europe/Paris) in `lang`'s usual form, e.g.
/// "24/11/2026 14:05"; text that is not a timestamp is returned as is.
pub(crate) fn local_time(lang: Lang, stored: &str) -> String {
    match chrono::DateTime::parse_from_rfc3339(stored) {
        Ok(t) => {
            let local = t.with_timezone(&chrono_tz::Europe::Paris);
            match lang {
                Lang::Fr => local.format("%d/%m/%Y %H:%M").to_string(),
                Lang::En => local.format("%Y-%m-%d %H:%M").to_string(),
            }
        }
        Err(_) => stored.to_owned(),
    }
}

/// Renders a template into a response (a template error is an internal error).
/// `public_url` of the settings, or this server as the request names it (no trailing slash):
/// the base of QR label links and of the URLs given to inventory agents.
pub(crate) fn base_url(public_url: &str, headers: &axum::http::HeaderMap) -> String {
    if public_url.is_empty() {
        let host = headers.get(header::HOST).and_then(|h| h.to_str().ok()).unwrap_or("localhost");
        format!("http://{host}")
    } else {
        public_url.trim_end_matches('/').to_owned()
    }
}

/// The "previous / page N of M / next" bar under a paged list (`templates/pager.html`).
pub struct Pager {
    pub text: String,
    pub prev: Option<String>,
    pub next: Option<String>,
}

impl Pager {
    /// `link(n)` is the URL of page `n`.
    pub fn new<T>(page: &Page, result: &parc_store::assets::Page<T>, link: impl Fn(u32) -> String) -> Pager {
        let pages = ((result.total.max(0) as u64).div_ceil(u64::from(result.per_page.max(1)))).max(1) as u32;
        Pager {
            text: page.tf("common.page_of", &[("page", &result.page.to_string()), ("pages", &pages.to_string())]),
            prev: (result.page > 1).then(|| link(result.page - 1)),
            next: (result.page < pages).then(|| link(result.page + 1)),
        }
    }
}

pub fn render<T: Template>(t: &T) -> Response {
    match t.render() {
        Ok(html) => Html(html).into_response(),
        Err(e) => AppError::Internal(format!("template: {e}")).into_response(),
    }
}

pub fn render_status<T: Template>(status: StatusCode, t: &T) -> Response {
    let mut r = render(t);
    if r.status() == StatusCode::OK {
        *r.status_mut() = status;
    }
    r
}

/// A 303 redirect with an optional notice key.
pub fn see_other(path: &str, ok: Option<&str>) -> Response {
    let url = match ok {
        Some(k) => format!("{path}{}ok={k}", if path.contains('?') { '&' } else { '?' }),
        None => path.to_owned(),
    };
    Redirect::to(&url).into_response()
}

#[derive(Template)]
#[template(path = "error.html")]
struct ErrorPage {
    page: Page,
    status: u16,
    message: String,
    fields: Vec<(String, String)>,
    request_id: Option<String>,
}

/// Turns the error responses of page routes into HTML pages, and "sign in first" into a
/// redirect to the login page.
pub async fn html_errors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let path_and_query = req.uri().path_and_query().map(|p| p.as_str().to_owned()).unwrap_or_default();
    let resp = next.run(req).await;
    let Some(info) = resp.extensions().get::<ErrorInfo>().cloned() else {
        return resp;
    };
    if info.status == StatusCode::UNAUTHORIZED {
        let next = urlencoding::encode(&path_and_query).into_owned();
        return Redirect::to(&format!("/login?next={next}")).into_response();
    }
    let settings = state.settings().await;
    let lang = anonymous_lang(&headers, &settings.default_language);
    let page = Page::anonymous(&state, lang, "err.title").await;
    let i18n = &state.i18n;
    let message = match info.code {
        "conflict" | "bad_request" | "forbidden" => {
            format!("{} {}", i18n.t(lang, &format!("err.{}", info.code)), info.message)
        }
        code => i18n.t(lang, &format!("err.{code}")).to_owned(),
    };
    let fields = info
        .details
        .map(|v| {
            v.fields
                .into_iter()
                .map(|f| {
                    let key = format!("err.{}", f.code);
                    let msg = if i18n.has(lang, &key) { i18n.t(lang, &key).to_owned() } else { f.message };
                    (i18n.t(lang, &format!("field.{}", f.field)).to_owned(), msg)
                })
                .collect()
        })
        .unwrap_or_default();
    let request_id = (info.status == StatusCode::INTERNAL_SERVER_ERROR).then(|| request_id(&headers));
    let mut r =
        render_status(info.status, &ErrorPage { page, status: info.status.as_u16(), message, fields, request_id });
    if let Some(ra) = resp.headers().get(header::RETRY_AFTER) {
        r.headers_mut().insert(header::RETRY_AFTER, ra.clone());
    }
    r
}

const CSS: &str = include_str!("../../static/parc.css");
const JS: &str = include_str!("../../static/parc.js");
const HOTLINE_JS: &str = include_str!("../../static/hotline.js");
const HOTLINE_CSS: &str = include_str!("../../static/hotline.css");

fn stylesheet(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/css; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], body)
        .into_response()
}

fn script(body: &'static str) -> Response {
    ([(header::CONTENT_TYPE, "text/javascript; charset=utf-8"), (header::CACHE_CONTROL, "public, max-age=3600")], body)
        .into_response()
}

async fn css() -> Response {
    stylesheet(CSS)
}

async fn js() -> Response {
    script(JS)
}

/// Every page route, with HTML error rendering.
pub fn routes(state: AppState) -> Router<AppState> {
    Router::new()
        .route("/static/parc.css", get(css))
        .route("/static/parc.js", get(js))
        .route("/static/hotline.js", get(|| async { script(HOTLINE_JS) }))
        .route("/static/hotline.css", get(|| async { stylesheet(HOTLINE_CSS) }))
        .merge(account::routes())
        .merge(assets::routes())
        .merge(admin::routes())
        .merge(io::routes())
        .merge(inventory::routes())
        .merge(mail::routes())
        .merge(tickets::routes())
        .merge(planning::routes())
        .merge(intervention::routes())
        .merge(hotline::routes())
        .merge(report::routes())
        .merge(reports::routes())
        .merge(helpdesk_admin::routes())
        .merge(entity_helpdesk::routes())
        .merge(monitoring::routes())
        .merge(monitoring_admin::routes())
        .merge(campaigns::routes())
        .merge(stock::routes())
        .merge(loans::routes())
        .merge(checklists::routes())
        .merge(handover::routes())
        .merge(contacts::routes())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(state, html_errors))
}

async fn not_found() -> AppError {
    AppError::NotFound
}
