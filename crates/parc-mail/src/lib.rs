//! Parc's outgoing e-mail: builds a MIME message from plain values and sends it over SMTP.
//!
//! This crate knows nothing of tickets, users or the database. Notifications are enqueued as
//! jobs in the same transaction as the change that causes them; the job queue in `parc-store`
//! then calls [`send`], and decides from [`MailError::is_retryable`] whether to try again
//! later or to give up. The web layer never sends inline: a request must not wait on, nor
//! fail because of, a mail server. Its only direct use is [`test_connection`], behind the
//! "send a test" button of the settings page.
//!
//! One call opens one connection (no pool): [`SmtpSettings::security`] chooses plain text,
//! required STARTTLS or implicit TLS (rustls, no OpenSSL); AUTH PLAIN/LOGIN is used when a
//! user name is set. [`SmtpSettings::timeout_secs`] bounds connecting, and
//! [`CONVERSATION_TIMEOUT_FACTOR`] times it the whole conversation.
//!
//! Neither the password nor a message body ever appears in a `Debug` output or an error.

mod email;
mod error;
mod settings;

use std::future::Future;
use std::time::Duration;

use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};

pub use email::{Attachment, Email};
pub use error::MailError;
pub use settings::{Security, SmtpSettings, CONVERSATION_TIMEOUT_FACTOR, MAX_TIMEOUT_SECS};

/// Sends `email` from [`SmtpSettings::from`] through the server of `settings`.
///
/// `Ok` means the server accepted the message for delivery. Invalid settings or message give
/// [`MailError::Invalid`] before any connection is made.
pub async fn send(settings: &SmtpSettings, email: &Email) -> Result<(), MailError> {
    let from = checked_from(settings)?;
    let message = email::build_message(from, email)?;
    let transport = transport(settings)?;
    within_deadline(settings, transport.send(message)).await?.map(drop).map_err(|e| error::classify(&e))
}

/// Connects to the server of `settings`, secures the connection and authenticates as
/// configured, checks that it answers NOOP, then says QUIT. Sends nothing.
pub async fn test_connection(settings: &SmtpSettings) -> Result<(), MailError> {
    checked_from(settings)?;
    let transport = transport(settings)?;
    match within_deadline(settings, transport.test_connection()).await? {
        Ok(true) => Ok(()),
        Ok(false) => Err(MailError::Transient(format!(
            "{}:{} accepted the connection but did not answer NOOP",
            settings.host, settings.port
        ))),
        Err(e) => Err(error::classify(&e)),
    }
}

/// Validates `settings`, returning the parsed sender.
fn checked_from(settings: &SmtpSettings) -> Result<lettre::message::Mailbox, MailError> {
    let errors = settings.validate();
    if !errors.is_empty() {
        let list: Vec<String> = errors.iter().map(|(field, code)| format!("{field}: {code}")).collect();
        return Err(MailError::Invalid(format!("invalid SMTP settings ({})", list.join(", "))));
    }
    settings.sender_mailbox().ok_or_else(|| MailError::Invalid("invalid SMTP settings (from: email_format)".to_owned()))
}

fn transport(settings: &SmtpSettings) -> Result<AsyncSmtpTransport<Tokio1Executor>, MailError> {
    let host = settings.host.trim();
    let tls = match settings.security {
        Security::None => Tls::None,
        Security::StartTls => Tls::Required(tls_parameters(settings)?),
        Security::Tls => Tls::Wrapper(tls_parameters(settings)?),
    };
    let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(settings.port)
        .tls(tls)
        .timeout(Some(Duration::from_secs(settings.timeout_secs)));
    if let Some(user) = settings.username.as_deref().filter(|u| !u.is_empty()) {
        builder = builder.credentials(Credentials::new(user.to_owned(), settings.password.clone().unwrap_or_default()));
    }
    Ok(builder.build())
}

fn tls_parameters(settings: &SmtpSettings) -> Result<TlsParameters, MailError> {
    TlsParameters::builder(settings.host.trim().to_owned())
        .dangerous_accept_invalid_certs(settings.accept_invalid_certs)
        .build()
        .map_err(|e| MailError::Permanent(format!("TLS set-up: {e}")))
}

/// Runs `fut`, giving up with [`MailError::Transient`] after the conversation deadline.
async fn within_deadline<T>(settings: &SmtpSettings, fut: impl Future<Output = T>) -> Result<T, MailError> {
    let limit = Duration::from_secs(settings.timeout_secs) * CONVERSATION_TIMEOUT_FACTOR;
    tokio::time::timeout(limit, fut).await.map_err(|_| {
        MailError::Transient(format!(
            "{}:{} did not finish the SMTP conversation within {} s",
            settings.host,
            settings.port,
            limit.as_secs()
        ))
    })
}
