//! `/admin/mail`: the SMTP settings form, the "send a test e-mail" button and the state of the
//! job queue (pending and failed jobs with their last error, retry buttons). Super-administrators
//! only: the page shows the relay's account and the recipients of failed messages.
//!
//! The password is write-only: the form never carries it back, an empty password field keeps the
//! stored one. The JSON API (`api::mail`) shares the conversion and checks of this module.

use super::{render_status, see_other, Page};
use crate::api::{ApiPath, ApiQuery};
use crate::auth::Ctx;
use crate::error::AppResult;
use crate::forms::{CsrfForm, CsrfOnly, OkQuery};
use crate::jobs::JobWaker;
use crate::pages::admin::require_settings_update;
use crate::AppState;
use askama::Template;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::{get, post};
use axum::{Extension, Router};
use parc_core::ValidationErrors;
use parc_mail::{Email, Security, SmtpSettings};
use parc_store::jobs::{self, Job, JobStats};
use parc_store::mail_settings::{self, security_name, MailSettings};
use parc_store::StoreError;
use serde::Deserialize;

/// Where the page lives.
pub const PAGE_PATH: &str = "/admin/mail";
/// Rows shown in each job list.
const JOBS_SHOWN: i64 = 50;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(PAGE_PATH, get(mail_form).post(mail_save))
        .route("/admin/mail/test", post(mail_test))
        .route("/admin/mail/jobs/{id}/retry", post(job_retry))
        .route("/admin/mail/jobs/retry-failed", post(jobs_retry_all))
}

// ---- shared with the API ----

/// The settings an administrator sent, as [`SmtpSettings`] (password left out), and the
/// problems only the web layer sees (an unknown security mode). A port or time-out out of range
/// becomes 0, which [`mail_settings::check`] reports as `range` on its field.
#[allow(clippy::too_many_arguments)]
pub(crate) fn smtp_input(
    host: &str,
    port: Option<i64>,
    security: &str,
    username: Option<&str>,
    from: &str,
    timeout_secs: Option<i64>,
    accept_invalid_certs: bool,
) -> (SmtpSettings, ValidationErrors) {
    let mut errors = ValidationErrors::new();
    let security = mail_settings::parse_security(security).unwrap_or_else(|| {
        errors.add("security", "unknown_value", "must be none, starttls or tls");
        Security::None
    });
    let smtp = SmtpSettings {
        host: host.to_owned(),
        port: port.and_then(|p| u16::try_from(p).ok()).unwrap_or(0),
        security,
        username: username.map(str::to_owned),
        password: None,
        from: from.to_owned(),
        timeout_secs: timeout_secs.and_then(|t| u64::try_from(t).ok()).unwrap_or(0),
        accept_invalid_certs,
    };
    (smtp, errors)
}

/// Every problem of the settings as they would be saved over `old` (see
/// [`mail_settings::merged`]): `web` first, then the store's checks on other fields.
pub(crate) fn check_input(
    old: &MailSettings,
    smtp: &SmtpSettings,
    new_password: Option<&str>,
    mut web: ValidationErrors,
) -> Result<(), ValidationErrors> {
    let merged = mail_settings::merged(old.smtp.as_ref(), smtp, new_password);
    for f in mail_settings::check(&merged).fields {
        if web.for_field(&f.field).is_none() {
            web.fields.push(f);
        }
    }
    web.into_result()
}

// ---- the page ----

/// The form as the browser sends it: every field text, checkboxes present when ticked.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct MailForm {
    host: String,
    port: String,
    security: String,
    username: String,
    password: String,
    from: String,
    timeout_secs: String,
    accept_invalid_certs: Option<String>,
    enabled: Option<String>,
}

/// What the form fields show.
struct FormValues {
    host: String,
    port: String,
    security: String,
    username: String,
    from: String,
    timeout_secs: String,
    accept_invalid_certs: bool,
    enabled: bool,
}

impl FormValues {
    fn stored(s: &MailSettings) -> FormValues {
        let smtp = s.smtp.clone().unwrap_or_default();
        FormValues {
            host: smtp.host,
            port: smtp.port.to_string(),
            security: security_name(smtp.security).to_owned(),
            username: smtp.username.unwrap_or_default(),
            from: smtp.from,
            timeout_secs: smtp.timeout_secs.to_string(),
            accept_invalid_certs: smtp.accept_invalid_certs,
            enabled: s.enabled,
        }
    }

    /// What was typed (never the password).
    fn typed(f: &MailForm) -> FormValues {
        FormValues {
            host: f.host.clone(),
            port: f.port.clone(),
            security: f.security.clone(),
            username: f.username.clone(),
            from: f.from.clone(),
            timeout_secs: f.timeout_secs.clone(),
            accept_invalid_certs: f.accept_invalid_certs.is_some(),
            enabled: f.enabled.is_some(),
        }
    }
}

/// One job in a list: for an e-mail its recipients and subject, never its body.
struct JobRow {
    id: i64,
    kind: String,
    to: String,
    subject: String,
    attempts: i64,
    max_attempts: i64,
    run_at: String,
    failed_at: String,
    last_error: String,
}

impl JobRow {
    fn new(job: Job) -> JobRow {
        let (to, subject) = if job.kind == jobs::MAIL {
            match job.payload::<Email>() {
                Ok(e) => (e.to.iter().chain(&e.cc).cloned().collect::<Vec<_>>().join(", "), e.subject),
                Err(_) => (String::new(), String::new()),
            }
        } else {
            (String::new(), String::new())
        };
        JobRow {
            id: job.id,
            kind: job.kind,
            to,
            subject,
            attempts: job.attempts,
            max_attempts: job.max_attempts,
            run_at: job.run_at,
            failed_at: job.failed_at.unwrap_or_default(),
            last_error: job.last_error.unwrap_or_default(),
        }
    }
}

/// The outcome of the test button.
struct TestResult {
    ok: bool,
    message: String,
}

#[derive(Template)]
#[template(path = "admin/mail.html")]
struct MailPage {
    page: Page,
    v: FormValues,
    configured: bool,
    has_password: bool,
    errors: ValidationErrors,
    securities: Vec<(&'static str, String)>,
    test: Option<TestResult>,
    test_hint: String,
    stats: JobStats,
    failed: Vec<JobRow>,
    pending: Vec<JobRow>,
}

impl MailPage {
    /// The translated message of a field's first error: `mail.err.<field>_<code>`, then
    /// `mail.err.<code>`, then `err.<code>`, then the English text of the check.
    fn err(&self, field: &str) -> Option<String> {
        self.errors.for_field(field).map(|f| {
            let keys =
                [format!("mail.err.{field}_{}", f.code), format!("mail.err.{}", f.code), format!("err.{}", f.code)];
            for key in keys {
                let text = self.page.t(&key);
                if text != key {
                    return text.to_owned();
                }
            }
            f.message.clone()
        })
    }

    fn paused_notice(&self) -> Option<&str> {
        if !self.configured {
            Some(self.page.t("mail.not_configured"))
        } else if !self.v.enabled && self.errors.is_empty() {
            Some(self.page.t("mail.disabled_notice"))
        } else {
            None
        }
    }
}

/// Renders the page: `v` in the form, the stored state for the rest.
async fn render_page(
    ctx: &Ctx,
    stored: &MailSettings,
    v: FormValues,
    errors: ValidationErrors,
    test: Option<TestResult>,
    flash: Option<&str>,
    status: StatusCode,
) -> AppResult<Response> {
    let mut c = ctx.state.store.read().await?;
    let stats = jobs::stats(&mut c).await?;
    let failed = jobs::recent_failures(&mut c, JOBS_SHOWN).await?.into_iter().map(JobRow::new).collect();
    let pending = jobs::pending(&mut c, JOBS_SHOWN).await?.into_iter().map(JobRow::new).collect();
    drop(c);
    let mut page = Page::new(ctx, "mail.title").await.with_flash(flash);
    if !errors.is_empty() {
        page.flash = Some(ctx.tr("common.form_errors").to_owned());
    }
    let securities = ["none", "starttls", "tls"].into_iter().map(|s| (s, page.tk("mail.security", s))).collect();
    let test_hint = match &ctx.user.email {
        Some(to) => page.tf("mail.test_help", &[("to", to)]),
        None => page.t("mail.test_no_address").to_owned(),
    };
    let view = MailPage {
        page,
        v,
        configured: stored.smtp.is_some(),
        has_password: stored.has_password(),
        errors,
        securities,
        test,
        test_hint,
        stats,
        failed,
        pending,
    };
    Ok(render_status(status, &view))
}

async fn load(ctx: &Ctx) -> AppResult<MailSettings> {
    let mut c = ctx.state.store.read().await?;
    Ok(mail_settings::get(&mut c, ctx.state.store.cipher()).await?)
}

async fn mail_form(ctx: Ctx, ApiQuery(q): ApiQuery<OkQuery>) -> AppResult<Response> {
    require_settings_update(&ctx)?;
    let stored = load(&ctx).await?;
    let v = FormValues::stored(&stored);
    render_page(&ctx, &stored, v, ValidationErrors::new(), None, q.ok.as_deref(), StatusCode::OK).await
}

async fn mail_save(State(state): State<AppState>, CsrfForm(ctx, f): CsrfForm<MailForm>) -> AppResult<Response> {
    require_settings_update(&ctx)?;
    let number = |s: &str| s.trim().parse::<i64>().ok();
    let (smtp, web_errors) = smtp_input(
        &f.host,
        number(&f.port),
        &f.security,
        Some(f.username.as_str()),
        &f.from,
        number(&f.timeout_secs),
        f.accept_invalid_certs.is_some(),
    );
    let password = Some(f.password.as_str()).filter(|p| !p.is_empty());
    let enabled = f.enabled.is_some();
    let mut tx = state.store.write().await?;
    let old = mail_settings::get(&mut tx, state.store.cipher()).await?;
    let saved = match check_input(&old, &smtp, password, web_errors) {
        Ok(()) => match mail_settings::put(&mut tx, &ctx.actor(), state.store.cipher(), enabled, &smtp, password).await
        {
            Ok(()) => Ok(()),
            Err(StoreError::Validation(v)) => Err(v),
            Err(e) => return Err(e.into()),
        },
        Err(v) => Err(v),
    };
    match saved {
        Ok(()) => {
            tx.commit().await?;
            Ok(see_other(PAGE_PATH, Some("mail.saved")))
        }
        Err(errors) => {
            drop(tx);
            render_page(&ctx, &old, FormValues::typed(&f), errors, None, None, StatusCode::UNPROCESSABLE_ENTITY).await
        }
    }
}

/// Sends a test e-mail to the administrator's own address with the saved settings, now (not
/// through the queue, and whether sending is on or not), and shows the outcome.
async fn mail_test(CsrfForm(ctx, _): CsrfForm<CsrfOnly>) -> AppResult<Response> {
    require_settings_update(&ctx)?;
    let stored = load(&ctx).await?;
    let result = match (&stored.smtp, ctx.user.email.as_deref().filter(|e| !e.trim().is_empty())) {
        (None, _) => TestResult { ok: false, message: ctx.tr("mail.test_not_configured").to_owned() },
        (_, None) => TestResult { ok: false, message: ctx.tr("mail.test_no_address").to_owned() },
        (Some(smtp), Some(to)) => {
            let org = ctx.state.settings().await.organisation_name;
            let email = Email {
                to: vec![to.to_owned()],
                subject: format!("{org}: {}", ctx.tr("mail.test_subject")),
                text: ctx.state.i18n.tf(ctx.lang, "mail.test_body", &[("login", &ctx.user.login)]),
                ..Email::default()
            };
            match parc_mail::send(smtp, &email).await {
                Ok(()) => {
                    tracing::info!(by = %ctx.user.login, "test e-mail sent");
                    TestResult { ok: true, message: ctx.state.i18n.tf(ctx.lang, "mail.test_sent", &[("to", to)]) }
                }
                Err(e) => {
                    tracing::warn!(by = %ctx.user.login, error = %e, "test e-mail not sent");
                    TestResult { ok: false, message: format!("{} {e}", ctx.tr("mail.test_failed")) }
                }
            }
        }
    };
    let v = FormValues::stored(&stored);
    render_page(&ctx, &stored, v, ValidationErrors::new(), Some(result), None, StatusCode::OK).await
}

async fn job_retry(
    State(state): State<AppState>,
    waker: Option<Extension<JobWaker>>,
    ApiPath(id): ApiPath<i64>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    require_settings_update(&ctx)?;
    let mut tx = state.store.write().await?;
    jobs::retry_failed(&mut tx, id).await?;
    tx.commit().await?;
    tracing::info!(job = id, by = %ctx.user.login, "failed job put back in the queue");
    if let Some(Extension(w)) = waker {
        w.wake();
    }
    Ok(see_other(PAGE_PATH, Some("mail.retried")))
}

async fn jobs_retry_all(
    State(state): State<AppState>,
    waker: Option<Extension<JobWaker>>,
    CsrfForm(ctx, _): CsrfForm<CsrfOnly>,
) -> AppResult<Response> {
    require_settings_update(&ctx)?;
    let mut tx = state.store.write().await?;
    let n = jobs::retry_all_failed(&mut tx, jobs::MAIL).await?;
    tx.commit().await?;
    tracing::info!(count = n, by = %ctx.user.login, "failed e-mails put back in the queue");
    if let Some(Extension(w)) = waker {
        w.wake();
    }
    Ok(see_other(PAGE_PATH, Some("mail.retried_all")))
}
