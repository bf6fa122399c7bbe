//! Scheduled downtimes and acknowledgements: the two ways a person says "I know, don't alert".
//!
//! # The rules
//!
//! - A [`Downtime`] is a fixed window `[start, end)` (Nagios "fixed" downtime): while it is
//!   active, problem and recovery notifications of the host or service are held. Flexible
//!   downtimes (starting when the problem starts) are not modelled.
//! - An [`Acknowledgement`] says a person is on the problem: problem notifications stop. As in
//!   Nagios (`service_state_or_hard_state_type_change`), it is removed when the object
//!   recovers; a normal one is also removed when the problem changes (WARNING → CRITICAL); a
//!   sticky one stays until the object is OK again. See [`ack_survives`].

use super::{ServiceState, Transition};
use crate::validate::{check_text, ValidationErrors};
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// The longest downtime accepted: one year (366 days, for leap years). Longer means the object
/// should be disabled instead.
pub const MAX_DOWNTIME: Duration = Duration::days(366);

/// The longest comment accepted, in characters.
pub const MAX_COMMENT_CHARS: usize = 2000;

/// The longest author name accepted, in characters.
pub const MAX_AUTHOR_CHARS: usize = 200;

/// A scheduled maintenance window on a host or service: notifications are held inside it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Downtime {
    /// When it starts (included).
    pub start: DateTime<Utc>,
    /// When it ends (excluded).
    pub end: DateTime<Utc>,
    /// Why (required): "remplacement du switch", "mise à jour Windows".
    pub comment: String,
    /// Who scheduled it.
    pub author: String,
}

impl Downtime {
    /// Whether `now` is inside `[start, end)`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        self.start <= now && now < self.end
    }

    /// Checks a downtime before saving it. Field names are `start`, `end`, `comment` and
    /// `author`; codes are `downtime_end_before_start` (end at or before start),
    /// `downtime_too_long` (more than [`MAX_DOWNTIME`]), `downtime_comment_required`,
    /// `downtime_author_required`, and the shared `too_long` / `control_chars`.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        if self.end <= self.start {
            errors.add("end", "downtime_end_before_start", "the end must be after the start");
        } else if self.end - self.start > MAX_DOWNTIME {
            errors.add("end", "downtime_too_long", "a downtime lasts at most one year");
        }
        require_text(&mut errors, "comment", "downtime_comment_required", &self.comment, MAX_COMMENT_CHARS);
        require_text(&mut errors, "author", "downtime_author_required", &self.author, MAX_AUTHOR_CHARS);
        errors.into_result()
    }
}

fn require_text(errors: &mut ValidationErrors, field: &str, code: &str, value: &str, max: usize) {
    if value.trim().is_empty() {
        errors.add(field, code, "required");
    } else {
        check_text(errors, field, Some(value), max, field == "comment");
    }
}

/// Whether any of `downtimes` is active at `now`.
pub fn in_downtime(downtimes: &[Downtime], now: DateTime<Utc>) -> bool {
    downtimes.iter().any(|d| d.is_active(now))
}

/// "Someone is on it": stops the problem notifications of a host or service.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Acknowledgement {
    /// Who acknowledged.
    pub author: String,
    /// What they said (required).
    pub comment: String,
    /// Sticky: kept through changes between problem states, until the object is OK again.
    pub sticky: bool,
    /// When.
    pub at: DateTime<Utc>,
}

impl Acknowledgement {
    /// Checks an acknowledgement before saving it: `comment` and `author` are required
    /// (codes `ack_comment_required`, `ack_author_required`), with the shared `too_long` /
    /// `control_chars` checks.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        require_text(&mut errors, "comment", "ack_comment_required", &self.comment, MAX_COMMENT_CHARS);
        require_text(&mut errors, "author", "ack_author_required", &self.author, MAX_AUTHOR_CHARS);
        errors.into_result()
    }

    /// Whether the object can be acknowledged in `state`: only a problem can.
    pub fn allowed_in(state: ServiceState) -> bool {
        state.is_problem()
    }
}

/// Whether an acknowledgement is kept after a check result (Nagios rule):
///
/// | Result                                  | Normal ack | Sticky ack |
/// |-----------------------------------------|------------|------------|
/// | back to OK (soft or hard recovery)      | removed    | removed    |
/// | same problem state                      | kept       | kept       |
/// | another problem state (WARNING→CRITICAL)| removed    | kept       |
///
/// For a host, use the [`Transition`] of its mapped states (DOWN ↔ CRITICAL,
/// UNREACHABLE ↔ UNKNOWN): a DOWN → UNREACHABLE change removes a normal acknowledgement too.
pub fn ack_survives(ack: &Acknowledgement, transition: &Transition) -> bool {
    if !transition.to.is_problem() {
        return false;
    }
    ack.sticky || transition.from == transition.to
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServiceState::{Critical, Ok, Unknown, Warning};

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_780_000_000, 0).unwrap()
    }

    fn downtime(start: i64, end_minutes: i64) -> Downtime {
        Downtime {
            start: t0() + Duration::minutes(start),
            end: t0() + Duration::minutes(end_minutes),
            comment: "Remplacement du switch".into(),
            author: "marie".into(),
        }
    }

    #[test]
    fn active_window_is_half_open() {
        let d = downtime(0, 60);
        let at = |m| t0() + Duration::minutes(m);
        assert!(!d.is_active(at(-1)));
        assert!(d.is_active(at(0)));
        assert!(d.is_active(at(59)));
        assert!(!d.is_active(at(60)));
        assert!(in_downtime(&[downtime(-120, -60), d.clone()], at(30)));
        assert!(!in_downtime(&[downtime(-120, -60), d], at(90)));
        assert!(!in_downtime(&[], at(0)));
    }

    #[test]
    fn validation() {
        let codes = |d: &Downtime| -> Vec<(String, String)> {
            match d.validate() {
                Result::Ok(()) => vec![],
                Err(e) => e.fields.into_iter().map(|f| (f.field, f.code)).collect(),
            }
        };
        let pair = |f: &str, c: &str| (f.to_owned(), c.to_owned());
        assert_eq!(codes(&downtime(0, 60)), vec![]);
        assert_eq!(codes(&downtime(60, 0)), vec![pair("end", "downtime_end_before_start")]);
        assert_eq!(codes(&downtime(60, 60)), vec![pair("end", "downtime_end_before_start")]);
        let year = MAX_DOWNTIME.num_minutes();
        assert_eq!(codes(&downtime(0, year)), vec![]);
        assert_eq!(codes(&downtime(0, year + 1)), vec![pair("end", "downtime_too_long")]);
        let blank = Downtime { comment: "  ".into(), author: String::new(), ..downtime(0, 60) };
        assert_eq!(
            codes(&blank),
            vec![pair("comment", "downtime_comment_required"), pair("author", "downtime_author_required")]
        );
        let long = Downtime { comment: "x".repeat(MAX_COMMENT_CHARS + 1), ..downtime(0, 60) };
        assert_eq!(codes(&long), vec![pair("comment", "too_long")]);
        let multiline = Downtime { comment: "ligne 1\nligne 2".into(), ..downtime(0, 60) };
        assert_eq!(codes(&multiline), vec![]);
        let control = Downtime { author: "a\u{7}b".into(), ..downtime(0, 60) };
        assert_eq!(codes(&control), vec![pair("author", "control_chars")]);

        let ack = Acknowledgement { author: "".into(), comment: "".into(), sticky: false, at: t0() };
        let err = ack.validate().unwrap_err();
        let got: Vec<_> = err.fields.iter().map(|f| f.code.as_str()).collect();
        assert_eq!(got, ["ack_comment_required", "ack_author_required"]);
        assert!(Acknowledgement { author: "paul".into(), comment: "j'y vais".into(), ..ack }.validate().is_ok());
        assert!(!Acknowledgement::allowed_in(Ok) && Acknowledgement::allowed_in(Warning));
    }

    fn transition(from: ServiceState, to: ServiceState) -> Transition {
        Transition {
            from,
            to,
            state_changed: from != to,
            hard_change: from != to,
            notify: None,
            next_check_in: Duration::minutes(5),
            percent_state_change: 0.0,
            flap: None,
        }
    }

    #[test]
    fn acknowledgement_lifetime() {
        // (from, to, normal survives, sticky survives)
        let cases = [
            (Critical, Critical, true, true),
            (Warning, Warning, true, true),
            (Critical, Ok, false, false),
            (Warning, Ok, false, false),
            (Warning, Critical, false, true),
            (Critical, Warning, false, true),
            (Critical, Unknown, false, true),
            (Ok, Ok, false, false),
        ];
        for (from, to, normal, sticky) in cases {
            let ack = Acknowledgement { author: "paul".into(), comment: "on it".into(), sticky: false, at: t0() };
            assert_eq!(ack_survives(&ack, &transition(from, to)), normal, "normal {from} -> {to}");
            let ack = Acknowledgement { sticky: true, ..ack };
            assert_eq!(ack_survives(&ack, &transition(from, to)), sticky, "sticky {from} -> {to}");
        }
    }
}
