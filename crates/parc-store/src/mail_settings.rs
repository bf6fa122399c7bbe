//! Outgoing e-mail settings, kept in `settings`: the SMTP server under `mail.smtp` (JSON of
//! [`parc_mail::SmtpSettings`], the password apart and encrypted with the store's
//! [`crate::Cipher`]) and the global switch under `mail.enabled` ("1" or "0"; off until an
//! administrator turns it on).
//!
//! The password is write-only: it is decrypted for sending only, never returned to a browser
//! (callers show whether one is stored), never logged, and its changes are audited as
//! "(changed)" without any value.

use parc_core::audit::{AuditAction, FieldChange, ObjectType};
use parc_core::validate::check_text;
use parc_mail::{Security, SmtpSettings};
use serde::{Deserialize, Serialize};
use sqlx::AnyConnection;

use crate::{audit, Actor, Cipher, Result, StoreError, ValidationErrors};

/// Key of the SMTP settings (JSON) in `settings`.
pub const SMTP_KEY: &str = "mail.smtp";
/// Key of the global switch ("1" or "0") in `settings`.
pub const ENABLED_KEY: &str = "mail.enabled";

/// Longest accepted password.
const PASSWORD_MAX_CHARS: usize = 256;

/// The stored e-mail settings.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MailSettings {
    /// Whether Parc sends e-mail. While off, queued e-mails wait (nothing is lost).
    pub enabled: bool,
    /// The SMTP server, with its password decrypted; `None` until an administrator saves one.
    /// (`SmtpSettings`' `Debug` never shows the password.)
    pub smtp: Option<SmtpSettings>,
}

impl MailSettings {
    /// Whether a password is stored (what the forms and the API show instead of it).
    pub fn has_password(&self) -> bool {
        self.smtp.as_ref().is_some_and(|s| s.password.is_some())
    }
}

/// `mail.smtp` as stored: the settings without their password, and the password encrypted.
#[derive(Serialize, Deserialize)]
struct Stored {
    #[serde(flatten)]
    smtp: SmtpSettings,
    #[serde(default)]
    password_enc: Option<String>,
}

/// The e-mail settings, the password decrypted with `cipher`.
pub async fn get(c: &mut AnyConnection, cipher: &Cipher) -> Result<MailSettings> {
    let rows: Vec<(String, String)> = sqlx::query_as("SELECT key, value FROM settings WHERE key IN ($1, $2)")
        .bind(SMTP_KEY)
        .bind(ENABLED_KEY)
        .fetch_all(c)
        .await?;
    let mut out = MailSettings::default();
    for (key, value) in rows {
        if key == ENABLED_KEY {
            out.enabled = value == "1";
        } else if key == SMTP_KEY {
            // serde_json's messages give a position, never the content.
            let stored: Stored = serde_json::from_str(&value)
                .map_err(|e| StoreError::Config(format!("the stored SMTP settings are unreadable: {e}")))?;
            let mut smtp = stored.smtp;
            // Only the encrypted field counts, whatever a hand edit put in `password`.
            smtp.password = stored.password_enc.as_deref().map(|enc| cipher.decrypt(enc)).transpose()?;
            out.smtp = Some(smtp);
        }
    }
    Ok(out)
}

/// Whether sending is on (cheap: for code deciding whether to build a notification).
pub async fn enabled(c: &mut AnyConnection) -> Result<bool> {
    let row: Option<(String,)> =
        sqlx::query_as("SELECT value FROM settings WHERE key = $1").bind(ENABLED_KEY).fetch_optional(c).await?;
    Ok(row.is_some_and(|(v,)| v == "1"))
}

/// The problems of `smtp` as it would be saved (with its `password` field as the password that
/// would be kept), per field with stable codes: `required`, `host_format`, `range`,
/// `email_format`, `too_long`, `control_chars`.
pub fn check(smtp: &SmtpSettings) -> ValidationErrors {
    let mut e = ValidationErrors::new();
    for (field, code) in smtp.validate() {
        let message = match (field, code) {
            ("username", "required") => "is required to send a password",
            (_, "required") => "is required",
            ("host", _) => "must be a host name or an IP address, without spaces",
            ("port", _) => "must be between 1 and 65535",
            ("from", _) => "must be an e-mail address, with or without a name: Parc <parc@example.org>",
            ("timeout_secs", _) => "must be between 1 and 600 seconds",
            _ => "is invalid",
        };
        e.add(field, code, message);
    }
    check_text(&mut e, "host", Some(&smtp.host), 253, false);
    check_text(&mut e, "username", smtp.username.as_deref(), 254, false);
    check_text(&mut e, "from", Some(&smtp.from), 300, false);
    if smtp.password.as_deref().is_some_and(|p| p.chars().count() > PASSWORD_MAX_CHARS) {
        e.add("password", "too_long", format!("must be at most {PASSWORD_MAX_CHARS} characters"));
    }
    e
}

/// The settings `put` would store: trimmed, an empty user name as none, and the password
/// `new_password` when given (non-empty), else the stored one — dropped when there is no user
/// name any more (no authentication, no password).
pub fn merged(old: Option<&SmtpSettings>, new: &SmtpSettings, new_password: Option<&str>) -> SmtpSettings {
    let mut smtp = new.clone();
    smtp.host = smtp.host.trim().to_owned();
    smtp.from = smtp.from.trim().to_owned();
    smtp.username = smtp.username.as_deref().map(str::trim).filter(|u| !u.is_empty()).map(str::to_owned);
    smtp.password = match new_password.filter(|p| !p.is_empty()) {
        Some(p) => Some(p.to_owned()),
        None if smtp.username.is_some() => old.and_then(|o| o.password.clone()),
        None => None,
    };
    smtp
}

/// Saves the e-mail settings and audits the changed fields (`mail.*`, on the settings object;
/// the password as "(changed)" or "(removed)", never its value).
///
/// `smtp.password` is ignored: `new_password` replaces the stored password when given and
/// non-empty, otherwise the stored one is kept (see [`merged`]). Invalid settings give
/// [`StoreError::Validation`] and change nothing.
pub async fn put(
    c: &mut AnyConnection,
    actor: &Actor,
    cipher: &Cipher,
    enabled: bool,
    smtp: &SmtpSettings,
    new_password: Option<&str>,
) -> Result<()> {
    let old = get(c, cipher).await?;
    let smtp = merged(old.smtp.as_ref(), smtp, new_password);
    let errors = check(&smtp);
    if !errors.is_empty() {
        return Err(errors.into());
    }

    let changes = changes(&old, enabled, &smtp);
    if changes.is_empty() {
        return Ok(());
    }
    let stored = Stored {
        smtp: SmtpSettings { password: None, ..smtp.clone() },
        password_enc: smtp.password.as_deref().map(|p| cipher.encrypt(p)).transpose()?,
    };
    let json = serde_json::to_string(&stored).map_err(|e| StoreError::Config(format!("SMTP settings: {e}")))?;
    for (key, value) in [(SMTP_KEY, json.as_str()), (ENABLED_KEY, if enabled { "1" } else { "0" })] {
        sqlx::query(
            "INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        )
        .bind(key)
        .bind(value)
        .execute(&mut *c)
        .await?;
    }
    audit::record(c, actor, ObjectType::Settings, 0, None, AuditAction::Update, &changes).await?;
    Ok(())
}

/// The audited differences between the stored settings and the new ones.
fn changes(old: &MailSettings, enabled: bool, new: &SmtpSettings) -> Vec<FieldChange> {
    let flag = |b: bool| Some(if b { "1" } else { "0" }.to_owned());
    let mut out = Vec::new();
    if old.enabled != enabled {
        out.push(FieldChange { field: ENABLED_KEY.into(), old: flag(old.enabled), new: flag(enabled) });
    }
    let fields = |s: Option<&SmtpSettings>| -> [(&'static str, Option<String>); 7] {
        [
            ("mail.host", s.map(|s| s.host.clone())),
            ("mail.port", s.map(|s| s.port.to_string())),
            ("mail.security", s.map(|s| security_name(s.security).to_owned())),
            ("mail.username", s.and_then(|s| s.username.clone())),
            ("mail.from", s.map(|s| s.from.clone())),
            ("mail.timeout_secs", s.map(|s| s.timeout_secs.to_string())),
            ("mail.accept_invalid_certs", s.map(|s| if s.accept_invalid_certs { "1" } else { "0" }.to_owned())),
        ]
    };
    out.extend(parc_core::audit::diff(&fields(old.smtp.as_ref()), &fields(Some(new))));
    let old_password = old.smtp.as_ref().and_then(|s| s.password.as_deref());
    match (old_password, new.password.as_deref()) {
        (Some(o), Some(n)) if o == n => {}
        (None, None) => {}
        (_, Some(_)) => {
            out.push(FieldChange { field: "mail.password".into(), old: None, new: Some("(changed)".into()) })
        }
        (Some(_), None) => {
            out.push(FieldChange { field: "mail.password".into(), old: None, new: Some("(removed)".into()) })
        }
    }
    out
}

/// The name of a [`Security`] mode, as in the JSON settings and the forms.
pub fn security_name(s: Security) -> &'static str {
    match s {
        Security::None => "none",
        Security::StartTls => "starttls",
        Security::Tls => "tls",
    }
}

/// The [`Security`] mode named `name` (`none`, `starttls` or `tls`).
pub fn parse_security(name: &str) -> Option<Security> {
    match name.trim().to_ascii_lowercase().as_str() {
        "none" => Some(Security::None),
        "starttls" => Some(Security::StartTls),
        "tls" => Some(Security::Tls),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn security_names_round_trip() {
        for s in [Security::None, Security::StartTls, Security::Tls] {
            assert_eq!(parse_security(security_name(s)), Some(s));
            let json = serde_json::to_string(&s).unwrap();
            assert_eq!(json, format!("\"{}\"", security_name(s)));
        }
        assert_eq!(parse_security("ssl"), None);
    }

    #[test]
    fn password_is_kept_replaced_or_dropped_with_the_user_name() {
        let old = SmtpSettings { username: Some("parc".into()), password: Some("old".into()), ..Default::default() };
        let new = SmtpSettings { host: " relay ".into(), username: Some(" parc ".into()), ..Default::default() };
        let kept = merged(Some(&old), &new, Some(""));
        assert_eq!((kept.host.as_str(), kept.username.as_deref()), ("relay", Some("parc")));
        assert_eq!(kept.password.as_deref(), Some("old"));
        assert_eq!(merged(Some(&old), &new, Some("new")).password.as_deref(), Some("new"));
        let no_user = SmtpSettings { username: Some(" ".into()), ..Default::default() };
        let dropped = merged(Some(&old), &no_user, None);
        assert_eq!((dropped.username, dropped.password), (None, None));
        // A new password without a user name is an error, not silently dropped.
        let orphan = merged(Some(&old), &no_user, Some("new"));
        assert_eq!(check(&orphan).for_field("username").map(|f| f.code.as_str()), Some("required"));
    }

    #[test]
    fn audit_changes_never_hold_the_password() {
        let old = MailSettings {
            enabled: false,
            smtp: Some(SmtpSettings {
                username: Some("u".into()),
                password: Some("s3cret-old".into()),
                ..Default::default()
            }),
        };
        let new = SmtpSettings {
            port: 587,
            username: Some("u".into()),
            password: Some("s3cret-new".into()),
            ..Default::default()
        };
        let c = changes(&old, true, &new);
        let shown = serde_json::to_string(&c).unwrap();
        assert!(!shown.contains("s3cret"), "{shown}");
        let fields: Vec<&str> = c.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(fields, vec!["mail.enabled", "mail.port", "mail.password"]);
        assert_eq!(c[2].new.as_deref(), Some("(changed)"));
    }
}
