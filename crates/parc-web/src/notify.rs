//! The e-mails of ticket notifications, rendered from the catalogue (`i18n/*/notify.toml`) in
//! each recipient's language.
//!
//! The store says what happened and to whom ([`parc_store::helpdesk::notify::prepare`]); this
//! module writes the messages: a subject such as "[Parc #1234] Nouveau ticket : Imprimante
//! bloquée", then the event (who did what, the follow-up or solution text, the planned dates or
//! the SLA deadline in Europe/Paris time), the ticket's main fields and a link to it. Every
//! message of a ticket carries the same thread root (`ticket-<id>@<domain>`): the new-ticket
//! e-mail as its Message-ID, the later ones in In-Reply-To/References, so mail clients group a
//! ticket's messages. Plain text only: nothing a user typed is ever interpreted.

use crate::i18n::{I18n, Lang};
use crate::pages::local_time;
use parc_mail::Email;
use parc_store::helpdesk::notify::{Clock, EventKind, Notification, Recipient};
use parc_store::helpdesk::Ticket;
use parc_store::settings::Settings;

/// What every notification e-mail of a round shares.
pub struct Mailer<'a> {
    i18n: &'a I18n,
    /// The settings' public URL without its trailing slash; empty when not set (links are then
    /// paths, which an administrator fixes by setting the public URL).
    base_url: String,
    /// The organisation's language, for users who chose none.
    default_lang: Lang,
    /// Right-hand side of the Message-IDs: the public URL's host, else the sender's domain.
    domain: String,
}

impl<'a> Mailer<'a> {
    /// `sender` is the SMTP settings' `from` (its domain names the threads when the public URL
    /// is not set).
    pub fn new(i18n: &'a I18n, settings: &Settings, sender: &str) -> Mailer<'a> {
        let base_url = settings.public_url.trim().trim_end_matches('/').to_owned();
        let url_host = base_url.split_once("://").and_then(|(_, rest)| rest.split(['/', ':', '?', '#']).next());
        let sender_domain = sender.rsplit_once('@').map(|(_, d)| d.trim_end_matches('>'));
        let domain = [url_host, sender_domain]
            .into_iter()
            .flatten()
            .map(|d| d.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-')).collect::<String>())
            .find(|d| !d.is_empty())
            .unwrap_or_else(|| "parc.invalid".to_owned());
        Mailer { i18n, base_url, default_lang: Lang::parse(&settings.default_language).unwrap_or_default(), domain }
    }

    /// The writer of monitoring alerts, with the same links, language and thread domain.
    pub fn alert_mailer(&self) -> crate::alerts::AlertMailer<'a> {
        crate::alerts::AlertMailer {
            i18n: self.i18n,
            base_url: self.base_url.clone(),
            default_lang: self.default_lang,
            domain: self.domain.clone(),
        }
    }

    /// One e-mail per recipient of `n`, the notification of job `job_id`.
    pub fn emails(&self, n: &Notification, job_id: i64) -> Vec<Email> {
        n.recipients.iter().map(|to| self.email(n, job_id, to)).collect()
    }

    fn email(&self, n: &Notification, job_id: i64, to: &Recipient) -> Email {
        let lang = to.language.as_deref().and_then(Lang::parse).unwrap_or(self.default_lang);
        let t = &n.ticket;
        let event = self.t(lang, &format!("notify.event.{}", n.notice.event.as_str()));
        let id = t.id.to_string();
        let subject = self.i18n.tf(lang, "notify.subject", &[("id", &id), ("event", &event), ("title", &t.title)]);
        let root = format!("ticket-{}@{}", t.id, self.domain);
        let (message_id, reply_to_thread) = match n.notice.event {
            EventKind::NewTicket => (root, None),
            _ => (format!("ticket-{}-{job_id}-{}@{}", t.id, to.user_id, self.domain), Some(root)),
        };
        Email {
            to: vec![to.email.clone()],
            subject,
            text: self.body(lang, n, to),
            message_id: Some(message_id),
            reply_to_thread,
            ..Email::default()
        }
    }

    fn t(&self, lang: Lang, key: &str) -> String {
        self.i18n.t(lang, key).to_owned()
    }

    fn body(&self, lang: Lang, n: &Notification, to: &Recipient) -> String {
        let t = &n.ticket;
        let mut lines = self.event_lines(lang, n, to);
        lines.push(String::new());
        lines.extend(self.ticket_lines(lang, t));
        if n.notice.event == EventKind::NewTicket && !t.description.is_empty() {
            lines.extend([String::new(), self.t(lang, "notify.line.description"), t.description.clone()]);
        }
        let link = format!("{}/tickets/{}", self.base_url, t.id);
        let account = format!("{}/account", self.base_url);
        lines.extend([
            String::new(),
            self.i18n.tf(lang, "notify.line.link", &[("url", &link)]),
            String::new(),
            "-- ".to_owned(),
            self.i18n.tf(lang, "notify.line.footer", &[("url", &account)]),
        ]);
        let mut text = lines.join("\n");
        text.push('\n');
        text
    }

    /// What happened, in a sentence, followed by its text (follow-up, solution, task).
    fn event_lines(&self, lang: Lang, n: &Notification, to: &Recipient) -> Vec<String> {
        let t = &n.ticket;
        let actor = n
            .actor_name
            .clone()
            .or_else(|| n.followup.as_ref().map(|f| f.author_label.clone()))
            .unwrap_or_else(|| self.t(lang, "notify.someone"));
        let headline = |key: &str, more: &[(&str, &str)]| {
            let mut args = vec![("actor", actor.as_str())];
            args.extend_from_slice(more);
            self.i18n.tf(lang, &format!("notify.headline.{key}"), &args)
        };
        match n.notice.event {
            EventKind::NewTicket => vec![headline("new_ticket", &[])],
            EventKind::Assignment => vec![headline("assignment", &[("assignee", &self.assignees(lang, t))])],
            EventKind::Followup => match &n.followup {
                Some(f) => {
                    vec![headline(if f.is_private { "followup_private" } else { "followup" }, &[]), f.body.clone()]
                }
                None => Vec::new(),
            },
            EventKind::Solution => {
                let mut v = vec![headline("solution", &[]), t.solution.clone().unwrap_or_default()];
                if t.concerns(to.user_id) {
                    v.extend([String::new(), self.t(lang, "notify.headline.solution_hint")]);
                }
                v
            }
            EventKind::SlaWarning | EventKind::SlaBreach => {
                let (clock, due) = match n.notice.clock {
                    Some(Clock::Own) => ("own", &t.own_due_at),
                    _ => ("resolve", &t.resolve_due_at),
                };
                let level = if n.notice.event == EventKind::SlaBreach { "breach" } else { "warning" };
                let when = due.as_deref().map(|d| local_time(lang, d)).unwrap_or_default();
                vec![headline(&format!("{clock}_{level}"), &[("when", &when)])]
            }
            EventKind::Planning => match &n.task {
                Some(k) => {
                    let when = |v: &Option<String>| v.as_deref().map(|d| local_time(lang, d)).unwrap_or_default();
                    let technician = k.technician_label.clone().unwrap_or_default();
                    let (start, end) = (when(&k.planned_start), when(&k.planned_end));
                    let mut v =
                        vec![headline("planning", &[("start", &start), ("end", &end), ("technician", &technician)])];
                    if k.on_site {
                        v.push(self.t(lang, "notify.headline.on_site"));
                    }
                    if let Some(h) = &k.hardware_needed {
                        v.push(self.i18n.tf(lang, "notify.headline.hardware", &[("hardware", h)]));
                    }
                    v.push(k.description.clone());
                    v
                }
                None => Vec::new(),
            },
        }
    }

    /// The technician and the group a ticket is assigned to ("nobody" when neither).
    fn assignees(&self, lang: Lang, t: &Ticket) -> String {
        let names: Vec<&str> =
            [t.assignee_label.as_deref(), t.assignee_group_name.as_deref()].into_iter().flatten().collect();
        if names.is_empty() {
            self.t(lang, "notify.nobody")
        } else {
            names.join(" / ")
        }
    }

    /// The ticket's main fields, one per line.
    fn ticket_lines(&self, lang: Lang, t: &Ticket) -> Vec<String> {
        let id = t.id.to_string();
        let mut lines = vec![self.i18n.tf(lang, "notify.line.ticket", &[("id", &id), ("title", &t.title)])];
        let requester = t.requester_label.as_ref().map(|name| match &t.requester_phone {
            Some(phone) => format!("{name} ({phone})"),
            None => name.clone(),
        });
        let assignees =
            (t.assignee_user_id.is_some() || t.assignee_group_id.is_some()).then(|| self.assignees(lang, t));
        let fields = [
            ("kind", Some(self.t(lang, &format!("ticket_type.{}", t.kind.as_str())))),
            ("status", Some(self.t(lang, &format!("ticket_status.{}", t.status.as_str())))),
            ("priority", Some(self.t(lang, &format!("helpdesk.priority.{}", t.priority)))),
            ("requester", requester),
            ("on_behalf", t.on_behalf_label.clone()),
            ("location", t.location_name.clone()),
            ("category", t.category_name.clone()),
            ("assignee", assignees),
        ];
        for (key, value) in fields {
            if let Some(v) = value {
                lines.push(self.i18n.tf(lang, &format!("notify.line.{key}"), &[("value", &v)]));
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mailer<'a>(i18n: &'a I18n, public_url: &str, sender: &str) -> Mailer<'a> {
        let settings = Settings { public_url: public_url.into(), ..Settings::default() };
        Mailer::new(i18n, &settings, sender)
    }

    #[test]
    fn threads_are_named_after_the_public_host_or_the_sender() {
        let i18n = I18n::load();
        assert_eq!(mailer(&i18n, "https://parc.mairie.example:8443/", "x@y.org").domain, "parc.mairie.example");
        assert_eq!(mailer(&i18n, "", "Parc <parc@example.org>").domain, "example.org");
        assert_eq!(mailer(&i18n, "", "nobody").domain, "parc.invalid");
        assert_eq!(mailer(&i18n, "https://parc.example/", "x@y.org").base_url, "https://parc.example");
    }
}
