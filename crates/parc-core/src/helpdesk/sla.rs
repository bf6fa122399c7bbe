//! Service level targets (time to own, time to resolve) and the deadline arithmetic over a
//! [`BusinessCalendar`].
//!
//! Targets are in business minutes. A ticket's deadlines are instants computed once (and stored
//! so that lists filter in SQL): `due = start + target` in business time, pushed back by the
//! business time the ticket spent pending. The "at risk" instant is the same with
//! `warn_ratio * target`.

use super::calendar::BusinessCalendar;
use super::priority::{is_priority, MAJOR_PRIORITY};
use crate::assets::string_enum;
use crate::validate::ValidationErrors;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::str::FromStr;

/// The longest accepted target: one year of minutes (far beyond any service level).
pub const MAX_TARGET_MINUTES: i64 = 366 * 24 * 60;

/// The default "at risk" ratio: 75 % of the target consumed.
pub const DEFAULT_WARN_RATIO: f64 = 0.75;

/// The targets of one priority, in business minutes; `None` = no target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaTarget {
    /// Time to own: until a technician takes the ticket.
    #[serde(default)]
    pub own_minutes: Option<i64>,
    /// Time to resolve: until the ticket is solved (pending time excluded).
    #[serde(default)]
    pub resolve_minutes: Option<i64>,
}

impl SlaTarget {
    const fn new(own_minutes: i64, resolve_minutes: i64) -> Self {
        Self { own_minutes: Some(own_minutes), resolve_minutes: Some(resolve_minutes) }
    }
}

/// The service level targets per priority (1..=6) and the "at risk" ratio.
///
/// Serialized (serde) as `{"warn_ratio": 0.75, "priorities": {"1": {"own_minutes": 960,
/// "resolve_minutes": 4800}, ..., "6": {...}}}`: a missing priority or minutes field means no
/// target (`null` is written back), `warn_ratio` defaults to 0.75, unknown keys are refused, and
/// deserializing runs [`SlaTargets::validate`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(into = "SlaJson", try_from = "SlaJson")]
pub struct SlaTargets {
    /// `priorities[p - 1]` = the targets of priority `p`.
    pub priorities: [SlaTarget; 6],
    /// Share of a target after which a ticket is "at risk", in `(0, 1]`.
    pub warn_ratio: f64,
}

impl Default for SlaTargets {
    /// For a local authority's IT service, in business time: priority 6 (major) own 30 min /
    /// resolve 4 h; 5: 1 h / 8 h; 4: 2 h / 16 h; 3: 4 h / 24 h; 2: 8 h / 40 h; 1: 16 h / 80 h.
    fn default() -> Self {
        Self {
            priorities: [
                SlaTarget::new(16 * 60, 80 * 60),
                SlaTarget::new(8 * 60, 40 * 60),
                SlaTarget::new(4 * 60, 24 * 60),
                SlaTarget::new(2 * 60, 16 * 60),
                SlaTarget::new(60, 8 * 60),
                SlaTarget::new(30, 4 * 60),
            ],
            warn_ratio: DEFAULT_WARN_RATIO,
        }
    }
}

/// The deadlines of one ticket (`None` = no target, or not reachable by the calendar).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlaDeadlines {
    pub own_due_at: Option<DateTime<Utc>>,
    pub own_warn_at: Option<DateTime<Utc>>,
    pub resolve_due_at: Option<DateTime<Utc>>,
    pub resolve_warn_at: Option<DateTime<Utc>>,
}

impl SlaDeadlines {
    /// The time-to-own flag; `owned_at` = when a technician took the ticket.
    pub fn own_flag(&self, now: DateTime<Utc>, owned_at: Option<DateTime<Utc>>) -> SlaFlag {
        flag(now, self.own_warn_at, self.own_due_at, owned_at)
    }

    /// The time-to-resolve flag; `solved_at` = when the ticket was solved. For a pending ticket
    /// pass `now = pending_since` (its clock is stopped).
    pub fn resolve_flag(&self, now: DateTime<Utc>, solved_at: Option<DateTime<Utc>>) -> SlaFlag {
        flag(now, self.resolve_warn_at, self.resolve_due_at, solved_at)
    }
}

impl SlaTargets {
    /// The targets of a priority; `None` outside 1..=6.
    pub fn target(&self, priority: u8) -> Option<SlaTarget> {
        if is_priority(priority) {
            self.priorities.get(usize::from(priority - 1)).copied()
        } else {
            None
        }
    }

    /// The deadlines of a ticket of this priority opened at `opened_at`, `paused` being the
    /// business time it spent pending so far. The pause only delays the resolution (time to own
    /// is not paused). A priority outside 1..=6 has no deadlines.
    pub fn deadlines(
        &self,
        cal: &BusinessCalendar,
        priority: u8,
        opened_at: DateTime<Utc>,
        paused: Duration,
    ) -> SlaDeadlines {
        let Some(t) = self.target(priority) else { return SlaDeadlines::default() };
        let zero = Duration::zero();
        SlaDeadlines {
            own_due_at: t.own_minutes.and_then(|m| due_at(cal, opened_at, m, zero)),
            own_warn_at: t.own_minutes.and_then(|m| warn_at(cal, opened_at, m, self.warn_ratio, zero)),
            resolve_due_at: t.resolve_minutes.and_then(|m| due_at(cal, opened_at, m, paused)),
            resolve_warn_at: t.resolve_minutes.and_then(|m| warn_at(cal, opened_at, m, self.warn_ratio, paused)),
        }
    }

    /// Checks the targets. Fields and codes:
    /// - `sla.priorities.<p>.own_minutes` / `.resolve_minutes` `target_range`: not in
    ///   1..=[`MAX_TARGET_MINUTES`];
    /// - `sla.priorities.<p>.own_minutes` `own_after_resolve`: longer than the time to resolve;
    /// - `sla.warn_ratio` `warn_ratio_range`: not a number in `(0, 1]`.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        for (i, t) in self.priorities.iter().enumerate() {
            let p = i + 1;
            for (name, value) in [("own_minutes", t.own_minutes), ("resolve_minutes", t.resolve_minutes)] {
                if let Some(v) = value.filter(|v| !(1..=MAX_TARGET_MINUTES).contains(v)) {
                    errors.add(
                        &format!("sla.priorities.{p}.{name}"),
                        "target_range",
                        format!("must be between 1 and {MAX_TARGET_MINUTES} minutes (got {v})"),
                    );
                }
            }
            if let (Some(own), Some(resolve)) = (t.own_minutes, t.resolve_minutes) {
                if own > resolve {
                    errors.add(
                        &format!("sla.priorities.{p}.own_minutes"),
                        "own_after_resolve",
                        format!("the time to own ({own} min) must not exceed the time to resolve ({resolve} min)"),
                    );
                }
            }
        }
        if !(self.warn_ratio.is_finite() && self.warn_ratio > 0.0 && self.warn_ratio <= 1.0) {
            errors.add("sla.warn_ratio", "warn_ratio_range", "must be a number above 0 and at most 1");
        }
        errors.into_result()
    }

    /// Parses and validates the JSON form. Besides [`Self::validate`]'s errors: `sla`
    /// `json_format` (syntax, types, unknown keys) and `sla.priorities` `priority_key` (a key
    /// other than "1".."6").
    pub fn from_json(json: &str) -> Result<Self, ValidationErrors> {
        let raw: SlaJson = serde_json::from_str(json)
            .map_err(|e| ValidationErrors::single("sla", "json_format", format!("invalid SLA JSON: {e}")))?;
        Self::try_from(raw)
    }

    /// The JSON form (compact).
    pub fn to_json(&self) -> String {
        serde_json::to_string(self).unwrap_or_default()
    }
}

fn default_warn_ratio() -> f64 {
    DEFAULT_WARN_RATIO
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlaJson {
    #[serde(default = "default_warn_ratio")]
    warn_ratio: f64,
    #[serde(default)]
    priorities: BTreeMap<String, SlaTarget>,
}

impl From<SlaTargets> for SlaJson {
    fn from(s: SlaTargets) -> Self {
        SlaJson {
            warn_ratio: s.warn_ratio,
            priorities: s.priorities.iter().enumerate().map(|(i, t)| ((i + 1).to_string(), *t)).collect(),
        }
    }
}

impl TryFrom<SlaJson> for SlaTargets {
    type Error = ValidationErrors;

    fn try_from(raw: SlaJson) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let mut priorities = [SlaTarget::default(); 6];
        for (key, target) in raw.priorities {
            match key.parse::<u8>().ok().filter(|p| is_priority(*p) && key.len() == 1) {
                Some(p) => priorities[usize::from(p - 1)] = target,
                None => errors.add(
                    "sla.priorities",
                    "priority_key",
                    format!(
                        "unknown priority '{}' (expected 1 to {MAJOR_PRIORITY})",
                        key.chars().take(20).collect::<String>()
                    ),
                ),
            }
        }
        let targets = SlaTargets { priorities, warn_ratio: raw.warn_ratio };
        if let Err(more) = targets.validate() {
            errors.fields.extend(more.fields);
        }
        errors.into_result()?;
        Ok(targets)
    }
}

/// The instant when the business time elapsed since `start`, minus `paused` (business time
/// spent pending), reaches `target_minutes`: `cal.add_business_time(start, target + paused)`.
/// `None` for a negative target or when the calendar cannot reach it (see
/// [`BusinessCalendar::add_business_time`]). A negative `paused` counts as zero.
pub fn due_at(
    cal: &BusinessCalendar,
    start: DateTime<Utc>,
    target_minutes: i64,
    paused: Duration,
) -> Option<DateTime<Utc>> {
    if target_minutes < 0 {
        return None;
    }
    let target = Duration::try_minutes(target_minutes)?;
    cal.add_business_time(start, target.checked_add(&paused.max(Duration::zero()))?)
}

/// Like [`due_at`] with `warn_ratio * target` (rounded to the second): the instant the ticket
/// becomes "at risk". The ratio is clamped to `[0, 1]` (NaN counts as 1, so the warning is the
/// due date).
pub fn warn_at(
    cal: &BusinessCalendar,
    start: DateTime<Utc>,
    target_minutes: i64,
    warn_ratio: f64,
    paused: Duration,
) -> Option<DateTime<Utc>> {
    if target_minutes < 0 {
        return None;
    }
    let ratio = if warn_ratio.is_nan() { 1.0 } else { warn_ratio.clamp(0.0, 1.0) };
    // target_minutes * 60 * ratio <= target_minutes * 60 fits an i64 whenever the minutes
    // convert to a Duration; the float rounding stays below the target.
    let target = Duration::try_minutes(target_minutes)?;
    let seconds = ((target.num_seconds() as f64) * ratio).round() as i64;
    let warn = Duration::try_seconds(seconds.min(target.num_seconds()))?;
    cal.add_business_time(start, warn.checked_add(&paused.max(Duration::zero()))?)
}

/// The business time of a pause: from `pending_since` to `now` (zero if `now` is not later).
/// Add it to the ticket's accumulated pause when it leaves `pending`, then recompute the
/// resolution deadlines with [`due_at`] / [`warn_at`].
pub fn paused_business_time(cal: &BusinessCalendar, pending_since: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    cal.business_time_between(pending_since, now)
}

string_enum!(
    /// Where a ticket stands against one target.
    SlaFlag {
        /// Within the target (or no target).
        Ok = "ok",
        /// Not done and the warning instant has passed.
        AtRisk = "at_risk",
        /// Done after the due date, or not done and the due date has passed.
        Breached = "breached",
    }
);

/// The state of one target at `now`. `done_at` = when it was met (owned / solved).
/// - No due date: `Ok`.
/// - Done: `Breached` if done strictly after the due date, else `Ok`.
/// - Not done: `Breached` if `now` is strictly after the due date, `AtRisk` if `now` is at or
///   after the warning instant, else `Ok`.
///
/// For a paused (pending) ticket, pass `now = pending_since`: its clock is stopped.
pub fn flag(
    now: DateTime<Utc>,
    warn_at: Option<DateTime<Utc>>,
    due_at: Option<DateTime<Utc>>,
    done_at: Option<DateTime<Utc>>,
) -> SlaFlag {
    let Some(due) = due_at else { return SlaFlag::Ok };
    match done_at {
        Some(done) if done > due => SlaFlag::Breached,
        Some(_) => SlaFlag::Ok,
        None if now > due => SlaFlag::Breached,
        None if warn_at.is_some_and(|w| now >= w) => SlaFlag::AtRisk,
        None => SlaFlag::Ok,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn paris(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        chrono_tz::Europe::Paris.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap().with_timezone(&Utc)
    }

    fn mins(m: i64) -> Duration {
        Duration::minutes(m)
    }

    #[test]
    fn default_targets() {
        let s = SlaTargets::default();
        assert!(s.validate().is_ok());
        assert_eq!(s.warn_ratio, 0.75);
        assert_eq!(s.target(6), Some(SlaTarget { own_minutes: Some(30), resolve_minutes: Some(240) }));
        assert_eq!(s.target(5), Some(SlaTarget { own_minutes: Some(60), resolve_minutes: Some(480) }));
        assert_eq!(s.target(4), Some(SlaTarget { own_minutes: Some(120), resolve_minutes: Some(960) }));
        assert_eq!(s.target(3), Some(SlaTarget { own_minutes: Some(240), resolve_minutes: Some(1440) }));
        assert_eq!(s.target(2), Some(SlaTarget { own_minutes: Some(480), resolve_minutes: Some(2400) }));
        assert_eq!(s.target(1), Some(SlaTarget { own_minutes: Some(960), resolve_minutes: Some(4800) }));
        assert_eq!(s.target(0), None);
        assert_eq!(s.target(7), None);
    }

    #[test]
    fn due_and_warn() {
        let cal = BusinessCalendar::default();
        let start = paris(2026, 3, 3, 9, 0); // Tuesday
                                             // 4 h: 09:00-12:00 (3 h), 13:30-14:30.
        assert_eq!(due_at(&cal, start, 240, Duration::zero()), Some(paris(2026, 3, 3, 14, 30)));
        // 75 % = 3 h: exactly 12:00.
        assert_eq!(warn_at(&cal, start, 240, 0.75, Duration::zero()), Some(paris(2026, 3, 3, 12, 0)));
        // A pause of 1 h business pushes both back by one business hour.
        assert_eq!(due_at(&cal, start, 240, mins(60)), Some(paris(2026, 3, 3, 15, 30)));
        assert_eq!(warn_at(&cal, start, 240, 0.75, mins(60)), Some(paris(2026, 3, 3, 14, 30)));
        assert_eq!(due_at(&cal, start, 240, mins(60)), cal.add_business_time(start, mins(300)));
        // Friday 16:00: 1 h 30 ends at the Friday closing, 2 h on Monday 09:00.
        assert_eq!(due_at(&cal, paris(2026, 3, 6, 16, 0), 90, Duration::zero()), Some(paris(2026, 3, 6, 17, 30)));
        assert_eq!(due_at(&cal, paris(2026, 3, 6, 16, 0), 120, Duration::zero()), Some(paris(2026, 3, 9, 9, 0)));
        // Odd ratio rounds to the second: 7 min * 1/3 = 140 s.
        assert_eq!(warn_at(&cal, start, 7, 1.0 / 3.0, Duration::zero()), Some(start + Duration::seconds(140)));
    }

    #[test]
    fn degenerate_inputs() {
        let cal = BusinessCalendar::default();
        let start = paris(2026, 3, 3, 9, 0);
        assert_eq!(due_at(&cal, start, -1, Duration::zero()), None);
        assert_eq!(warn_at(&cal, start, -1, 0.5, Duration::zero()), None);
        assert_eq!(due_at(&cal, start, i64::MAX, Duration::zero()), None);
        assert_eq!(warn_at(&cal, start, i64::MAX, 0.5, Duration::zero()), None);
        assert_eq!(due_at(&cal, start, 0, Duration::zero()), Some(start));
        assert_eq!(due_at(&cal, start, 60, -mins(30)), due_at(&cal, start, 60, Duration::zero()));
        assert_eq!(warn_at(&cal, start, 60, f64::NAN, Duration::zero()), due_at(&cal, start, 60, Duration::zero()));
        assert_eq!(warn_at(&cal, start, 60, 7.0, Duration::zero()), due_at(&cal, start, 60, Duration::zero()));
        assert_eq!(warn_at(&cal, start, 60, -1.0, Duration::zero()), Some(start));
        let closed = BusinessCalendar { week: Default::default(), ..BusinessCalendar::default() };
        assert_eq!(due_at(&closed, start, 60, Duration::zero()), None);
    }

    #[test]
    fn deadlines_of_a_ticket() {
        let cal = BusinessCalendar::default();
        let s = SlaTargets::default();
        let opened = paris(2026, 3, 3, 9, 0);
        let d = s.deadlines(&cal, 6, opened, Duration::zero());
        assert_eq!(d.own_due_at, Some(paris(2026, 3, 3, 9, 30)));
        assert_eq!(d.own_warn_at, Some(paris(2026, 3, 3, 9, 22) + Duration::seconds(30)));
        assert_eq!(d.resolve_due_at, Some(paris(2026, 3, 3, 14, 30)));
        assert_eq!(d.resolve_warn_at, Some(paris(2026, 3, 3, 12, 0)));
        // The pause delays the resolution only.
        let p = s.deadlines(&cal, 6, opened, mins(30));
        assert_eq!(p.own_due_at, d.own_due_at);
        assert_eq!(p.resolve_due_at, Some(paris(2026, 3, 3, 15, 0)));
        assert_eq!(s.deadlines(&cal, 9, opened, Duration::zero()), SlaDeadlines::default());
        let mut partial = s.clone();
        partial.priorities[2] = SlaTarget { own_minutes: None, resolve_minutes: Some(60) };
        let d = partial.deadlines(&cal, 3, opened, Duration::zero());
        assert_eq!(d.own_due_at, None);
        assert_eq!(d.own_warn_at, None);
        assert_eq!(d.resolve_due_at, Some(paris(2026, 3, 3, 10, 0)));
        assert_eq!(d.own_flag(paris(2027, 1, 1, 0, 0), None), SlaFlag::Ok);
        assert_eq!(d.resolve_flag(paris(2026, 3, 3, 9, 50), None), SlaFlag::AtRisk);
        assert_eq!(d.resolve_flag(paris(2026, 3, 3, 11, 0), Some(paris(2026, 3, 3, 9, 59))), SlaFlag::Ok);
    }

    #[test]
    fn flags() {
        let t = |h: u32| paris(2026, 3, 3, h, 0);
        let (warn, due) = (Some(t(12)), Some(t(14)));
        assert_eq!(flag(t(9), warn, due, None), SlaFlag::Ok);
        assert_eq!(flag(t(12), warn, due, None), SlaFlag::AtRisk);
        assert_eq!(flag(t(14), warn, due, None), SlaFlag::AtRisk);
        assert_eq!(flag(t(15), warn, due, None), SlaFlag::Breached);
        assert_eq!(flag(t(15), warn, due, Some(t(13))), SlaFlag::Ok);
        assert_eq!(flag(t(15), warn, due, Some(t(14))), SlaFlag::Ok);
        assert_eq!(flag(t(9), warn, due, Some(t(16))), SlaFlag::Breached);
        assert_eq!(flag(t(15), None, due, None), SlaFlag::Breached);
        assert_eq!(flag(t(13), None, due, None), SlaFlag::Ok);
        assert_eq!(flag(t(23), warn, None, None), SlaFlag::Ok);
        assert_eq!(SlaFlag::AtRisk.as_str(), "at_risk");
        assert_eq!("breached".parse::<SlaFlag>(), Ok(SlaFlag::Breached));
        assert_eq!(serde_json::to_string(&SlaFlag::Ok).unwrap(), "\"ok\"");
    }

    #[test]
    fn pause_then_resume() {
        let cal = BusinessCalendar::default();
        let opened = paris(2026, 3, 3, 9, 0);
        // Pending from Tuesday 11:00 to Wednesday 10:00: 1 h + 4 h + 1 h 30 = 6 h 30 of business time.
        let pause = paused_business_time(&cal, paris(2026, 3, 3, 11, 0), paris(2026, 3, 4, 10, 0));
        assert_eq!(pause, mins(6 * 60 + 30));
        assert_eq!(paused_business_time(&cal, paris(2026, 3, 4, 10, 0), paris(2026, 3, 3, 11, 0)), Duration::zero());
        // Resolve in 4 h: 2 h before the pause, 2 h after the resume (Wednesday 10:00 -> 12:00).
        assert_eq!(due_at(&cal, opened, 240, pause), Some(paris(2026, 3, 4, 12, 0)));
        // A pause over a weekend costs no business time.
        assert_eq!(paused_business_time(&cal, paris(2026, 3, 6, 18, 0), paris(2026, 3, 9, 8, 0)), Duration::zero());
    }

    #[test]
    fn json_round_trip_and_shape() {
        let s = SlaTargets::default();
        let v = serde_json::to_value(&s).unwrap();
        assert_eq!(v["warn_ratio"], 0.75);
        assert_eq!(v["priorities"]["6"], serde_json::json!({"own_minutes": 30, "resolve_minutes": 240}));
        assert_eq!(v["priorities"]["1"]["resolve_minutes"], 4800);
        assert_eq!(SlaTargets::from_json(&s.to_json()).unwrap(), s);
        assert_eq!(serde_json::from_value::<SlaTargets>(v).unwrap(), s);
        // Missing keys: no target, default ratio.
        let p = SlaTargets::from_json(r#"{"priorities": {"5": {"resolve_minutes": 60}}}"#).unwrap();
        assert_eq!(p.warn_ratio, 0.75);
        assert_eq!(p.target(5), Some(SlaTarget { own_minutes: None, resolve_minutes: Some(60) }));
        assert_eq!(p.target(1), Some(SlaTarget::default()));
        let json = p.to_json();
        assert!(json.contains(r#""1":{"own_minutes":null,"resolve_minutes":null}"#), "{json}");
        assert_eq!(SlaTargets::from_json(&json).unwrap(), p);
    }

    #[test]
    fn validation_errors_per_field() {
        let e = SlaTargets::from_json("[").unwrap_err();
        assert_eq!(e.for_field("sla").unwrap().code, "json_format");
        let e = SlaTargets::from_json(r#"{"priorities": {"1": {"own": 3}}}"#).unwrap_err();
        assert_eq!(e.for_field("sla").unwrap().code, "json_format");
        let e = SlaTargets::from_json(
            r#"{"warn_ratio": 1.5, "priorities": {"0": {}, "7": {}, "3": {"own_minutes": 0, "resolve_minutes": 9999999}, "4": {"own_minutes": 120, "resolve_minutes": 60}}}"#,
        )
        .unwrap_err();
        assert_eq!(e.fields.iter().filter(|f| f.code == "priority_key").count(), 2);
        assert_eq!(e.for_field("sla.priorities.3.own_minutes").unwrap().code, "target_range");
        assert_eq!(e.for_field("sla.priorities.3.resolve_minutes").unwrap().code, "target_range");
        assert_eq!(e.for_field("sla.priorities.4.own_minutes").unwrap().code, "own_after_resolve");
        assert_eq!(e.for_field("sla.warn_ratio").unwrap().code, "warn_ratio_range");
        let mut s = SlaTargets::default();
        for bad in [0.0, -0.5, f64::NAN, f64::INFINITY, 1.01] {
            s.warn_ratio = bad;
            assert!(s.validate().is_err(), "{bad}");
        }
        s.warn_ratio = 1.0;
        assert!(s.validate().is_ok());
        assert!(serde_json::from_str::<SlaTargets>(r#"{"warn_ratio": 0}"#).is_err());
    }
}
