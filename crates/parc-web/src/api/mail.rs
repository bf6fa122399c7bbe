//! /api/v1/settings/mail (outgoing e-mail settings) and /api/v1/jobs/stats (the job queue).
//!
//! The SMTP password is write-only: answers carry `has_password` instead, and a `PUT` without
//! a password (or with an empty one) keeps the stored one. The rights are those of the
//! `/admin/mail` page (`pages::mail`): super-administrators only, except the queue counts,
//! which any reader of the settings may see.

use super::ApiJson;
use crate::auth::Ctx;
use crate::error::{AppError, AppResult, ErrorBody};
use crate::pages::admin::require_settings_update;
use crate::pages::mail::{check_input, smtp_input};
use crate::AppState;
use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use parc_core::permissions::{Action, Object};
use parc_store::jobs::{self, JobStats};
use parc_store::mail_settings::{self, security_name, MailSettings};
use serde::{Deserialize, Serialize};
use utoipa::{OpenApi, ToSchema};

#[derive(OpenApi)]
#[openapi(paths(mail_get, mail_put, job_stats), components(schemas(MailSettingsView, MailSettingsInput, JobStats)))]
pub struct Doc;

pub fn routes() -> Router<AppState> {
    Router::new().route("/settings/mail", get(mail_get).put(mail_put)).route("/jobs/stats", get(job_stats))
}

/// The outgoing e-mail settings as shown: never the password.
#[derive(Debug, Serialize, ToSchema)]
pub struct MailSettingsView {
    /// Whether Parc sends e-mail notifications (off until turned on; queued e-mails wait).
    pub enabled: bool,
    /// Whether SMTP settings were ever saved (if not, the other fields are the defaults).
    pub configured: bool,
    pub host: String,
    pub port: u16,
    /// `none`, `starttls` (required) or `tls` (implicit TLS).
    #[schema(example = "starttls")]
    pub security: String,
    pub username: Option<String>,
    /// Whether a password is stored (the password itself is never returned).
    pub has_password: bool,
    /// Sender of every message: `Parc <parc@example.org>`.
    pub from: String,
    /// Seconds allowed to connect (the whole conversation may last 4 times as long).
    pub timeout_secs: u64,
    /// Accept any server certificate (internal relays only).
    pub accept_invalid_certs: bool,
}

impl From<&MailSettings> for MailSettingsView {
    fn from(s: &MailSettings) -> Self {
        let smtp = s.smtp.clone().unwrap_or_default();
        MailSettingsView {
            enabled: s.enabled,
            configured: s.smtp.is_some(),
            host: smtp.host,
            port: smtp.port,
            security: security_name(smtp.security).to_owned(),
            username: smtp.username,
            has_password: smtp.password.is_some(),
            from: smtp.from,
            timeout_secs: smtp.timeout_secs,
            accept_invalid_certs: smtp.accept_invalid_certs,
        }
    }
}

fn default_security() -> String {
    "none".into()
}

fn default_timeout() -> i64 {
    30
}

/// New outgoing e-mail settings (they replace the stored ones, except the password).
#[derive(Debug, Deserialize, ToSchema)]
pub struct MailSettingsInput {
    /// Turn sending on or off (default off).
    #[serde(default)]
    pub enabled: bool,
    /// Host name or IP address of the SMTP server.
    #[schema(example = "smtp.example.org")]
    pub host: String,
    /// 1 to 65535.
    #[schema(example = 587)]
    pub port: i64,
    /// `none` (default), `starttls` or `tls`.
    #[serde(default = "default_security")]
    #[schema(example = "starttls")]
    pub security: String,
    /// Account to authenticate with; empty or absent sends without authentication (and drops a
    /// stored password).
    #[serde(default)]
    pub username: Option<String>,
    /// Write-only. Absent, null or empty keeps the stored password.
    #[serde(default)]
    pub password: Option<String>,
    /// Sender of every message, with or without a display name.
    #[schema(example = "Parc <parc@example.org>")]
    pub from: String,
    /// Seconds allowed to connect, 1 to 600 (default 30).
    #[serde(default = "default_timeout")]
    pub timeout_secs: i64,
    /// Accept any server certificate (default false).
    #[serde(default)]
    pub accept_invalid_certs: bool,
}

#[utoipa::path(get, path = "/settings/mail", tag = "settings",
    responses((status = 200, body = MailSettingsView), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn mail_get(ctx: Ctx) -> AppResult<Json<MailSettingsView>> {
    require_settings_update(&ctx)?;
    let mut c = ctx.state.store.read().await?;
    let s = mail_settings::get(&mut c, ctx.state.store.cipher()).await?;
    Ok(Json(MailSettingsView::from(&s)))
}

/// Replaces the outgoing e-mail settings (super-admin only). The change is audited on the
/// settings' history (the password as "(changed)", never its value).
#[utoipa::path(put, path = "/settings/mail", tag = "settings", request_body = MailSettingsInput,
    responses((status = 200, body = MailSettingsView), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 422, body = ErrorBody)))]
async fn mail_put(
    State(state): State<AppState>,
    ctx: Ctx,
    ApiJson(input): ApiJson<MailSettingsInput>,
) -> AppResult<Json<MailSettingsView>> {
    require_settings_update(&ctx)?;
    let (smtp, web_errors) = smtp_input(
        &input.host,
        Some(input.port),
        &input.security,
        input.username.as_deref(),
        &input.from,
        Some(input.timeout_secs),
        input.accept_invalid_certs,
    );
    let password = input.password.as_deref().filter(|p| !p.is_empty());
    let cipher = state.store.cipher();
    let mut tx = state.store.write().await?;
    let old = mail_settings::get(&mut tx, cipher).await?;
    check_input(&old, &smtp, password, web_errors)?;
    mail_settings::put(&mut tx, &ctx.actor(), cipher, input.enabled, &smtp, password).await?;
    let saved = mail_settings::get(&mut tx, cipher).await?;
    tx.commit().await?;
    Ok(Json(MailSettingsView::from(&saved)))
}

/// Counts of the job queue (e-mail notifications): waiting, being retried, failed, done in the
/// last 24 hours.
#[utoipa::path(get, path = "/jobs/stats", tag = "settings",
    responses((status = 200, body = JobStats), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)))]
async fn job_stats(ctx: Ctx) -> AppResult<Json<JobStats>> {
    if !ctx.can_anywhere(Object::Settings, Action::Read) {
        return Err(AppError::Forbidden("reading the job queue needs the right to read the settings".into()));
    }
    let mut c = ctx.state.store.read().await?;
    Ok(Json(jobs::stats(&mut c).await?))
}
