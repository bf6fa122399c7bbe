//! One message to send, and how it becomes MIME.

use std::fmt;

use base64::Engine as _;
use lettre::message::header::ContentType;
use lettre::message::{Mailbox, MultiPart, SinglePart};
use lettre::Message;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::MailError;

/// A message to send. The sender comes from [`crate::SmtpSettings::from`].
///
/// Serialisable so that the job queue can keep it until it is sent (attachment bytes as
/// base64). `Debug` shows the addresses and subject but only the sizes of the bodies.
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Email {
    /// Recipients, each `name@domain` or `Name <name@domain>`.
    pub to: Vec<String>,
    /// Copy recipients, same forms as `to`.
    pub cc: Vec<String>,
    /// Address replies should go to (`Reply-To`), when not the sender.
    pub reply_to: Option<String>,
    /// Subject, any Unicode: non-ASCII is sent as RFC 2047 encoded words.
    pub subject: String,
    /// Plain text body, always present.
    pub text: String,
    /// HTML alternative of `text`, if any.
    pub html: Option<String>,
    /// Files attached after the body.
    pub attachments: Vec<Attachment>,
    /// `Message-ID` to give the message, with or without the angle brackets
    /// (`ticket-42-7@parc.example.org`); `None` generates a unique one.
    pub message_id: Option<String>,
    /// `Message-ID` of the message this one follows in a thread (the ticket's first
    /// notification): sets `In-Reply-To` and `References`, so mail clients group them.
    pub reply_to_thread: Option<String>,
}

/// A file attached to an [`Email`].
#[derive(Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// File name shown to the recipient (any Unicode).
    pub filename: String,
    /// MIME type, such as `application/pdf`.
    pub content_type: String,
    /// Content of the file.
    #[serde(serialize_with = "to_base64", deserialize_with = "from_base64")]
    pub bytes: Vec<u8>,
}

impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Email")
            .field("to", &self.to)
            .field("cc", &self.cc)
            .field("reply_to", &self.reply_to)
            .field("subject", &self.subject)
            .field("text_len", &self.text.len())
            .field("html_len", &self.html.as_ref().map(String::len))
            .field("attachments", &self.attachments)
            .field("message_id", &self.message_id)
            .field("reply_to_thread", &self.reply_to_thread)
            .finish()
    }
}

impl fmt::Debug for Attachment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Attachment")
            .field("filename", &self.filename)
            .field("content_type", &self.content_type)
            .field("len", &self.bytes.len())
            .finish()
    }
}

fn to_base64<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(bytes))
}

fn from_base64<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
    let text = String::deserialize(d)?;
    base64::engine::general_purpose::STANDARD.decode(text).map_err(serde::de::Error::custom)
}

/// Builds the MIME message: `text` alone, or `multipart/alternative` text + HTML, wrapped in
/// `multipart/mixed` with the attachments when there are any. Every error is
/// [`MailError::Invalid`] and names the offending field, never a body.
pub(crate) fn build_message(from: Mailbox, email: &Email) -> Result<Message, MailError> {
    if email.to.is_empty() && email.cc.is_empty() {
        return Err(MailError::Invalid("the message has no recipient".to_owned()));
    }
    let mut builder = Message::builder().from(from).subject(one_line(&email.subject));
    for to in &email.to {
        builder = builder.to(mailbox("recipient", to)?);
    }
    for cc in &email.cc {
        builder = builder.cc(mailbox("copy recipient", cc)?);
    }
    if let Some(reply_to) = &email.reply_to {
        builder = builder.reply_to(mailbox("reply-to", reply_to)?);
    }
    builder = builder.message_id(email.message_id.as_deref().map(|id| msg_id("Message-ID", id)).transpose()?);
    if let Some(parent) = &email.reply_to_thread {
        let parent = msg_id("thread Message-ID", parent)?;
        builder = builder.in_reply_to(parent.clone()).references(parent);
    }

    let body = match &email.html {
        Some(html) => Body::Multi(MultiPart::alternative_plain_html(email.text.clone(), html.clone())),
        None => Body::Single(SinglePart::plain(email.text.clone())),
    };
    let body = if email.attachments.is_empty() {
        body
    } else {
        let mut mixed = match body {
            Body::Multi(alternative) => MultiPart::mixed().multipart(alternative),
            Body::Single(text) => MultiPart::mixed().singlepart(text),
        };
        for a in &email.attachments {
            let content_type = ContentType::parse(&a.content_type).map_err(|_| {
                MailError::Invalid(format!("attachment {:?}: invalid content type {:?}", a.filename, a.content_type))
            })?;
            mixed = mixed.singlepart(
                lettre::message::Attachment::new(one_line(&a.filename)).body(a.bytes.clone(), content_type),
            );
        }
        Body::Multi(mixed)
    };
    match body {
        Body::Single(part) => builder.singlepart(part),
        Body::Multi(part) => builder.multipart(part),
    }
    .map_err(|e| MailError::Invalid(format!("cannot build the message: {e}")))
}

enum Body {
    Single(SinglePart),
    Multi(MultiPart),
}

fn mailbox(what: &str, address: &str) -> Result<Mailbox, MailError> {
    address.trim().parse().map_err(|_| MailError::Invalid(format!("invalid {what} address {address:?}")))
}

/// A header value on one line: line breaks and other control characters become spaces.
fn one_line(value: &str) -> String {
    value.chars().map(|c| if c.is_control() { ' ' } else { c }).collect()
}

/// `<id>` from `id` or `<id>`; an id has one `@`, no spaces, control characters or brackets
/// inside (RFC 5322 msg-id, simplified).
fn msg_id(what: &str, id: &str) -> Result<String, MailError> {
    let id = id.trim();
    let bare = id.strip_prefix('<').and_then(|i| i.strip_suffix('>')).unwrap_or(id);
    let valid = bare.is_ascii()
        && bare.matches('@').count() == 1
        && !bare.starts_with('@')
        && !bare.ends_with('@')
        && !bare.chars().any(|c| c.is_ascii_whitespace() || c.is_ascii_control() || "<>".contains(c));
    if valid {
        Ok(format!("<{bare}>"))
    } else {
        Err(MailError::Invalid(format!("invalid {what} {id:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn from() -> Mailbox {
        "Parc <parc@example.org>".parse().unwrap()
    }

    fn formatted(email: &Email) -> String {
        String::from_utf8(build_message(from(), email).unwrap().formatted()).unwrap()
    }

    #[test]
    fn text_only_message_is_a_single_part() {
        let raw = formatted(&Email {
            to: vec!["a@example.org".into()],
            subject: "Bonjour".into(),
            text: "Corps".into(),
            ..Email::default()
        });
        assert!(raw.contains("Content-Type: text/plain; charset=utf-8"), "{raw}");
        assert!(!raw.contains("multipart"), "{raw}");
        assert!(raw.contains("Message-ID: <"), "a Message-ID is generated: {raw}");
    }

    #[test]
    fn threading_headers() {
        let raw = formatted(&Email {
            to: vec!["a@example.org".into()],
            text: "x".into(),
            message_id: Some("ticket-42-2@parc.example.org".into()),
            reply_to_thread: Some("<ticket-42@parc.example.org>".into()),
            reply_to: Some("Support <support@example.org>".into()),
            ..Email::default()
        });
        assert!(raw.contains("Message-ID: <ticket-42-2@parc.example.org>\r\n"), "{raw}");
        assert!(raw.contains("In-Reply-To: <ticket-42@parc.example.org>\r\n"), "{raw}");
        assert!(raw.contains("References: <ticket-42@parc.example.org>\r\n"), "{raw}");
        assert!(raw.contains("Reply-To: Support <support@example.org>\r\n"), "{raw}");
    }

    #[test]
    fn subject_line_breaks_cannot_inject_headers() {
        let raw = formatted(&Email {
            to: vec!["a@example.org".into()],
            subject: "Panne\r\nBcc: victim@example.org".into(),
            text: "x".into(),
            ..Email::default()
        });
        assert!(!raw.contains("\r\nBcc:"), "{raw}");
    }

    #[test]
    fn invalid_inputs_are_invalid_and_name_the_field() {
        let ok = Email { to: vec!["a@example.org".into()], text: "x".into(), ..Email::default() };
        let cases = [
            (Email { to: vec![], ..ok.clone() }, "no recipient"),
            (Email { to: vec!["pas une adresse".into()], ..ok.clone() }, "recipient"),
            (Email { cc: vec!["x@".into()], ..ok.clone() }, "copy recipient"),
            (Email { message_id: Some("no at sign".into()), ..ok.clone() }, "Message-ID"),
            (Email { reply_to_thread: Some("a b@c".into()), ..ok.clone() }, "thread"),
            (
                Email {
                    attachments: vec![Attachment {
                        filename: "a.bin".into(),
                        content_type: "not a type".into(),
                        bytes: vec![1],
                    }],
                    ..ok.clone()
                },
                "content type",
            ),
        ];
        for (email, needle) in cases {
            let err = build_message(from(), &email).unwrap_err();
            assert!(matches!(err, MailError::Invalid(_)), "{err:?}");
            assert!(err.to_string().contains(needle), "{err} should mention {needle}");
        }
    }

    #[test]
    fn debug_hides_bodies_and_serde_round_trips() {
        let email = Email {
            to: vec!["a@example.org".into()],
            subject: "Sujet".into(),
            text: "corps confidentiel".into(),
            html: Some("<p>corps confidentiel</p>".into()),
            attachments: vec![Attachment {
                filename: "f.pdf".into(),
                content_type: "application/pdf".into(),
                bytes: b"%PDF-1.4 secret".to_vec(),
            }],
            ..Email::default()
        };
        let shown = format!("{email:?}");
        assert!(!shown.contains("confidentiel") && !shown.contains("secret"), "{shown}");
        assert!(shown.contains("Sujet") && shown.contains("f.pdf"), "{shown}");
        let json = serde_json::to_string(&email).unwrap();
        assert!(json.contains(r#""bytes":"JVBERi0xLjQgc2VjcmV0""#), "{json}");
        assert_eq!(serde_json::from_str::<Email>(&json).unwrap(), email);
    }
}
