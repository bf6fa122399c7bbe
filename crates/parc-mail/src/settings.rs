//! Where and how to reach the SMTP server.

use std::fmt;

use lettre::message::Mailbox;
use serde::{Deserialize, Serialize};

/// How the connection to the SMTP server is secured.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Security {
    /// Plain text for the whole conversation (a trusted relay on the local network, port 25).
    #[default]
    None,
    /// Plain text connection upgraded with STARTTLS, which is required: a server that does not
    /// offer it is an error, never a silent fall-back to plain text (submission, port 587).
    StartTls,
    /// TLS from the first byte ("implicit TLS", SMTPS, port 465).
    Tls,
}

/// Settings of the SMTP server that sends Parc's e-mail.
///
/// The application stores these itself (the password encrypted apart), so both serde
/// directions keep every field; a missing field takes its [`Default`] value. `Debug` never
/// shows the password.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SmtpSettings {
    /// Host name or IP address of the server.
    pub host: String,
    /// TCP port: usually 25 ([`Security::None`]), 587 ([`Security::StartTls`]) or 465
    /// ([`Security::Tls`]).
    pub port: u16,
    /// How the connection is secured.
    pub security: Security,
    /// Account to authenticate with (AUTH PLAIN or LOGIN); `None` sends without
    /// authenticating.
    pub username: Option<String>,
    /// Password of `username`.
    pub password: Option<String>,
    /// Sender of every message, with or without a display name: `Parc <parc@example.org>`.
    pub from: String,
    /// Seconds allowed to connect; the whole conversation is allowed
    /// [`CONVERSATION_TIMEOUT_FACTOR`] times as long.
    pub timeout_secs: u64,
    /// Accept any server certificate (self-signed, expired, other name). Only for an internal
    /// relay whose certificate cannot be trusted otherwise: it removes the protection against
    /// an intercepted connection.
    pub accept_invalid_certs: bool,
}

/// The whole SMTP conversation (connect, TLS, AUTH, transfer, QUIT) may last this many times
/// [`SmtpSettings::timeout_secs`], so that a server that stalls never holds a queue worker.
pub const CONVERSATION_TIMEOUT_FACTOR: u32 = 4;

/// Longest accepted [`SmtpSettings::timeout_secs`].
pub const MAX_TIMEOUT_SECS: u64 = 600;

impl Default for SmtpSettings {
    fn default() -> Self {
        Self {
            host: "localhost".to_owned(),
            port: 25,
            security: Security::None,
            username: None,
            password: None,
            from: "Parc <parc@localhost>".to_owned(),
            timeout_secs: 30,
            accept_invalid_certs: false,
        }
    }
}

impl fmt::Debug for SmtpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSettings")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("security", &self.security)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .field("from", &self.from)
            .field("timeout_secs", &self.timeout_secs)
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .finish()
    }
}

impl SmtpSettings {
    /// Checks the settings before they are stored or used. Returns one `(field, code)` pair
    /// per problem, empty when the settings are usable. The codes are stable (the same as
    /// `parc_core::validate`'s where they mean the same): `required`, `range`,
    /// `host_format`, `email_format`.
    pub fn validate(&self) -> Vec<(&'static str, &'static str)> {
        let mut errors = Vec::new();
        let host = self.host.trim();
        if host.is_empty() {
            errors.push(("host", "required"));
        } else if host.chars().any(|c| c.is_whitespace() || c.is_control()) {
            errors.push(("host", "host_format"));
        }
        if self.port == 0 {
            errors.push(("port", "range"));
        }
        if self.from.trim().is_empty() {
            errors.push(("from", "required"));
        } else if self.sender_mailbox().is_none() {
            errors.push(("from", "email_format"));
        }
        if self.timeout_secs == 0 || self.timeout_secs > MAX_TIMEOUT_SECS {
            errors.push(("timeout_secs", "range"));
        }
        if self.password.is_some() && self.username.as_deref().is_none_or(|u| u.trim().is_empty()) {
            errors.push(("username", "required"));
        }
        errors
    }

    /// The sender, parsed; `None` when [`SmtpSettings::from`] is not an address.
    pub(crate) fn sender_mailbox(&self) -> Option<Mailbox> {
        self.from.trim().parse().ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_is_a_local_relay_and_valid() {
        let s = SmtpSettings::default();
        assert_eq!((s.host.as_str(), s.port, s.security), ("localhost", 25, Security::None));
        assert_eq!(s.validate(), vec![]);
    }

    #[test]
    fn validate_reports_each_field() {
        let s = SmtpSettings {
            host: " ".into(),
            port: 0,
            from: "Parc <pas une adresse>".into(),
            timeout_secs: 0,
            password: Some("secret".into()),
            ..SmtpSettings::default()
        };
        assert_eq!(
            s.validate(),
            vec![
                ("host", "required"),
                ("port", "range"),
                ("from", "email_format"),
                ("timeout_secs", "range"),
                ("username", "required"),
            ]
        );
        let s = SmtpSettings { host: "smtp example".into(), from: String::new(), ..SmtpSettings::default() };
        assert_eq!(s.validate(), vec![("host", "host_format"), ("from", "required")]);
    }

    #[test]
    fn from_accepts_display_names_with_accents() {
        for from in ["parc@example.org", "Parc <parc@example.org>", "\"Mairie d'Évry\" <parc@example.org>"] {
            let s = SmtpSettings { from: from.into(), ..SmtpSettings::default() };
            assert_eq!(s.validate(), vec![], "{from}");
        }
    }

    #[test]
    fn debug_redacts_the_password() {
        let s = SmtpSettings {
            username: Some("parc".into()),
            password: Some("tr3s-s3cret".into()),
            ..SmtpSettings::default()
        };
        let shown = format!("{s:?} {s:#?}");
        assert!(!shown.contains("tr3s-s3cret"), "{shown}");
        assert!(shown.contains("<redacted>") && shown.contains("parc"), "{shown}");
        let none = format!("{:?}", SmtpSettings::default());
        assert!(none.contains("password: None"), "{none}");
    }

    #[test]
    fn serde_keeps_every_field_and_defaults_missing_ones() {
        let s = SmtpSettings {
            host: "smtp.example.org".into(),
            port: 587,
            security: Security::StartTls,
            username: Some("parc".into()),
            password: Some("secret".into()),
            accept_invalid_certs: true,
            ..SmtpSettings::default()
        };
        let json = serde_json::to_string(&s).unwrap();
        assert!(json.contains(r#""security":"starttls""#), "{json}");
        assert_eq!(serde_json::from_str::<SmtpSettings>(&json).unwrap(), s);
        let partial: SmtpSettings = serde_json::from_str(r#"{"host":"relay","security":"tls","port":465}"#).unwrap();
        assert_eq!(
            partial,
            SmtpSettings { host: "relay".into(), port: 465, security: Security::Tls, ..SmtpSettings::default() }
        );
    }
}
