//! What went wrong, sorted by what the caller should do about it.

use std::error::Error as _;
use std::io;

/// Why a message was not sent. The job queue retries [`MailError::Transient`] only
/// ([`MailError::is_retryable`]).
///
/// Messages may name the server, an address or the SMTP reply, never the password nor a
/// body.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// The settings or the message cannot be sent as they are (an address that does not
    /// parse, no recipient, unusable settings): nothing was sent, and retrying changes
    /// nothing.
    #[error("invalid e-mail: {0}")]
    Invalid(String),
    /// The server could not be reached or asked to come back later (connection refused or
    /// reset, time-out, name resolution, 4xx reply): retry later.
    #[error("temporary SMTP failure: {0}")]
    Transient(String),
    /// The server refused for good (5xx reply: unknown recipient, authentication failed,
    /// STARTTLS demanded) or the connection cannot work as configured (TLS certificate or
    /// protocol mismatch, STARTTLS or AUTH not offered): retrying will not help until someone
    /// changes the settings.
    #[error("SMTP failure: {0}")]
    Permanent(String),
}

impl MailError {
    /// Whether sending the same message again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, MailError::Transient(_))
    }
}

/// Sorts lettre's errors. lettre's own `Display` shows the kind, the reply code and the
/// server's reply text or the I/O error, none of which holds a password or a body.
pub(crate) fn classify(err: &lettre::transport::smtp::Error) -> MailError {
    let text = err.to_string();
    if err.is_permanent() {
        return MailError::Permanent(text);
    }
    if err.is_transient() || err.is_timeout() {
        return MailError::Transient(text);
    }
    // Client-side refusals (STARTTLS or AUTH not offered, 8BITMIME or SMTPUTF8 needed) and
    // TLS set-up errors depend on the settings, not on the moment.
    if err.is_client() || err.is_tls() {
        return MailError::Permanent(text);
    }
    // rustls reports a handshake that failed (untrusted certificate, plain text where TLS was
    // expected) as InvalidData; other I/O errors (refused, reset, unreachable) are transient.
    if source_io_kind(err) == Some(io::ErrorKind::InvalidData) {
        return MailError::Permanent(format!("TLS handshake failed: {text}"));
    }
    MailError::Transient(text)
}

fn source_io_kind(err: &lettre::transport::smtp::Error) -> Option<io::ErrorKind> {
    let mut source = err.source();
    while let Some(e) = source {
        if let Some(io) = e.downcast_ref::<io::Error>() {
            return Some(io.kind());
        }
        source = e.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_transient_is_retryable() {
        assert!(MailError::Transient("x".into()).is_retryable());
        assert!(!MailError::Permanent("x".into()).is_retryable());
        assert!(!MailError::Invalid("x".into()).is_retryable());
    }
}
