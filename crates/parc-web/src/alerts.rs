//! The e-mails of monitoring notifications (PROBLEM and RECOVERY, Nagios-style), rendered from
//! the catalogue (`i18n/*/alerts.toml`) in each recipient's language.
//!
//! The store says what happened and to whom ([`parc_store::monitoring::alerts::prepare`]); this
//! module writes the messages. All the messages about one check share a thread root
//! (`monitor-<service>@<domain>`), so a problem, its reminders and its recovery group together
//! in a mail client. Plain text only.

use crate::i18n::{I18n, Lang};
use crate::pages::local_time;
use parc_mail::Email;
use parc_store::helpdesk::notify::Recipient;
use parc_store::monitoring::alerts::Alert;

/// Writes the e-mails of alerts (built per round, like [`crate::notify::Mailer`]).
pub struct AlertMailer<'a> {
    pub i18n: &'a I18n,
    /// The public URL without its trailing slash (links are paths when it is not set).
    pub base_url: String,
    pub default_lang: Lang,
    /// Right-hand side of the Message-IDs.
    pub domain: String,
}

impl AlertMailer<'_> {
    /// One e-mail per recipient of `a`, the alert of job `job_id`.
    pub fn emails(&self, a: &Alert, job_id: i64) -> Vec<Email> {
        a.recipients.iter().map(|to| self.email(a, job_id, to)).collect()
    }

    fn email(&self, a: &Alert, job_id: i64, to: &Recipient) -> Email {
        let lang = to.language.as_deref().and_then(Lang::parse).unwrap_or(self.default_lang);
        let n = &a.notice;
        let t = |key: &str| self.i18n.t(lang, key).to_owned();
        let kind = if n.kind == "RECOVERY" { t("alerts.recovery") } else { t("alerts.problem") };
        let host = a.host_display_name.clone().unwrap_or_else(|| a.host_name.clone());
        let what = if n.is_host {
            self.i18n.tf(lang, "alerts.host_what", &[("host", &host)])
        } else {
            self.i18n.tf(lang, "alerts.service_what", &[("host", &host), ("service", &a.service_name)])
        };
        let state = t(&format!("alerts.state.{}", n.state));
        let subject = self.i18n.tf(lang, "alerts.subject", &[("kind", &kind), ("what", &what), ("state", &state)]);
        let when = chrono::DateTime::from_timestamp_millis(n.at_ms).map(parc_store::fmt_time).unwrap_or_default();
        let mut lines = vec![
            t(if n.kind == "RECOVERY" { "alerts.intro_recovery" } else { "alerts.intro_problem" }),
            String::new(),
            self.i18n.tf(lang, "alerts.line_host", &[("host", &host), ("address", &a.address)]),
        ];
        if !n.is_host {
            lines.push(self.i18n.tf(lang, "alerts.line_service", &[("service", &a.service_name)]));
        }
        lines.push(self.i18n.tf(lang, "alerts.line_state", &[("state", &state)]));
        lines.push(self.i18n.tf(lang, "alerts.line_when", &[("when", &local_time(lang, &when))]));
        lines.push(self.i18n.tf(lang, "alerts.line_output", &[("output", &n.output)]));
        if let Some(long) = &a.long_output {
            lines.push(long.clone());
        }
        if n.kind != "RECOVERY" {
            lines.push(self.i18n.tf(lang, "alerts.line_number", &[("number", &n.number.to_string())]));
        }
        if n.escalated {
            lines.push(t("alerts.escalated"));
        }
        let link = format!("{}/monitoring/services/{}", self.base_url, n.service_id);
        lines.extend([String::new(), self.i18n.tf(lang, "alerts.link", &[("url", &link)]), String::new()]);
        lines.extend(["-- ".to_owned(), t("alerts.footer")]);
        let mut text = lines.join("\n");
        text.push('\n');
        let root = format!("monitor-{}@{}", n.service_id, self.domain);
        Email {
            to: vec![to.email.clone()],
            subject,
            text,
            message_id: Some(format!("monitor-{}-{job_id}-{}@{}", n.service_id, to.user_id, self.domain)),
            reply_to_thread: Some(root),
            ..Email::default()
        }
    }
}
