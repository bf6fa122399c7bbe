//! The notification decision: whether a host or service problem (or its recovery) is sent to
//! people now, and if not, why not. Nagios' `check_service_notification_viability`, with the
//! clock passed in.
//!
//! # The rules
//!
//! [`on_transition`] is called with the [`Transition`] of each check result, [`renotify`]
//! periodically (every few seconds, as Icinga 2 does) for a problem that stays HARD. Both go
//! through the same filters, in this order; the first that applies gives the [`HoldReason`]:
//!
//! | # | Filter                                                               | Hold reason          |
//! |---|----------------------------------------------------------------------|----------------------|
//! | 1 | notifications disabled for the object                                | `Disabled`           |
//! | 2 | SOFT state (a problem still being confirmed, or a soft recovery)     | `Soft`               |
//! | 3 | the object (or its host) is in a scheduled downtime                  | `Downtime`           |
//! | 4 | a service on a DOWN or UNREACHABLE host: only the host alerts        | `HostProblem`        |
//! | 5 | the host itself is UNREACHABLE (its parent is the root cause), unless notified by policy | `Unreachable`   |
//! | 6 | a service dependency is failed                                       | `DependencyFailed`   |
//! | 7 | the problem is acknowledged (a recovery still goes out)              | `Acknowledged`       |
//! | 8 | the object is flapping                                               | `Flapping`           |
//! | 9 | the state (or recovery) is not among the policy's states             | `StateFiltered`      |
//! |10 | a recovery of a problem nobody was told about                        | `NotNotifiedBefore`  |
//! |11 | a re-notification when the policy notifies once                      | `Once`               |
//! |12 | before `problem_since + first_delay`, or before the re-notification interval is over | `TooSoon` |
//! |13 | outside the policy's time period                                     | `OutsidePeriod`      |
//!
//! When nothing holds it, the notification is sent with its number within the problem (1 for
//! the first) and `escalated` when that number reaches [`NotificationPolicy::escalate_after`]:
//! the escalation contacts are then added. A recovery is escalated when the last problem
//! notification was, so that whoever was told about the problem is told it is over.
//!
//! A hard change from one problem state to another (WARNING → CRITICAL) is news: it is sent
//! whatever the re-notification interval. A HARD problem that does not change is re-notified
//! only after the interval since the last notification; with no interval, only once. A problem
//! that was held (downtime, period, first delay, acknowledgement then unacknowledged…) and is
//! still there is sent by [`renotify`] when the hold ends, numbered 1.
//!
//! The caller keeps the counters: after a sent `Problem`, `notifications_sent = number`,
//! `problem_notified = true`, `last_notification_at = now`; after a recovery, all are reset.
//! The flapping, downtime and acknowledgement notifications ([`on_flap`], [`on_downtime`],
//! [`on_acknowledgement`]) do not count: their `number` is the current count.

use super::timeperiod::TimePeriod;
use super::{FlapEvent, NotificationKind, ServiceState, Transition};
use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

/// Which states a policy notifies. For a host, CRITICAL stands for DOWN and UNKNOWN for
/// UNREACHABLE (see [`HostState::to_service_state`](super::host::HostState::to_service_state)).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct NotifyStates {
    /// A service turning WARNING.
    pub warning: bool,
    /// A service turning CRITICAL.
    pub critical: bool,
    /// A service turning UNKNOWN.
    pub unknown: bool,
    /// Back to OK / UP.
    pub recovery: bool,
    /// A host going DOWN.
    pub down: bool,
    /// A host becoming UNREACHABLE (off by default: its parent's DOWN is the alert).
    pub unreachable: bool,
    /// Flapping starting and stopping.
    pub flapping: bool,
    /// Scheduled downtimes starting and ending.
    pub downtime: bool,
}

impl Default for NotifyStates {
    /// Everything but UNREACHABLE, as Nagios' default options (`w,u,c,r,f,s`) minus `u`: notify
    /// the root cause.
    fn default() -> Self {
        NotifyStates {
            warning: true,
            critical: true,
            unknown: true,
            recovery: true,
            down: true,
            unreachable: false,
            flapping: true,
            downtime: true,
        }
    }
}

impl NotifyStates {
    /// Whether a problem in `state` is notified, for a host (`is_host`) or a service.
    pub fn allows_problem(&self, state: ServiceState, is_host: bool) -> bool {
        match (state, is_host) {
            (ServiceState::Ok, _) => false,
            (ServiceState::Warning, false) => self.warning,
            (ServiceState::Critical, false) => self.critical,
            (ServiceState::Unknown, false) => self.unknown,
            // A host check WARNING means UP; should it reach here, treat it as DOWN.
            (ServiceState::Warning | ServiceState::Critical, true) => self.down,
            (ServiceState::Unknown, true) => self.unreachable,
        }
    }
}

/// How an object notifies.
#[derive(Debug, Clone, PartialEq)]
pub struct NotificationPolicy {
    /// Notifications are on for this object.
    pub enabled: bool,
    /// Which states are notified.
    pub states: NotifyStates,
    /// Re-notification interval for a problem that lasts; `None`: notify once.
    pub interval: Option<Duration>,
    /// How long a HARD problem must last before its first notification.
    pub first_delay: Duration,
    /// When notifications may go out; `None`: always.
    pub period: Option<TimePeriod>,
    /// The notification number from which the escalation contacts are added; `None`: never.
    pub escalate_after: Option<u32>,
}

impl Default for NotificationPolicy {
    /// On, default states, every 30 minutes (Nagios' `notification_interval`), no delay, always,
    /// no escalation.
    fn default() -> Self {
        NotificationPolicy {
            enabled: true,
            states: NotifyStates::default(),
            interval: Some(Duration::minutes(30)),
            first_delay: Duration::zero(),
            period: None,
            escalate_after: None,
        }
    }
}

/// What is known about the object when deciding.
#[derive(Debug, Clone, PartialEq)]
pub struct NotifyContext {
    /// The object is a host (its states are mapped as in [`NotifyStates`]).
    pub is_host: bool,
    /// The current state is HARD.
    pub state_hard: bool,
    /// The object, or its host, is in a scheduled downtime.
    pub in_downtime: bool,
    /// The current problem is acknowledged.
    pub acknowledged: bool,
    /// The object is flapping.
    pub flapping: bool,
    /// A service whose host is DOWN or UNREACHABLE: only the host alerts.
    pub host_not_up: bool,
    /// The host itself is UNREACHABLE.
    pub unreachable: bool,
    /// A service dependency of the object is failed.
    pub dependency_failed: bool,
    /// When the last problem notification of the current problem went out.
    pub last_notification_at: Option<DateTime<Utc>>,
    /// How many problem notifications went out for the current problem.
    pub notifications_sent: u32,
    /// At least one problem notification went out (a recovery is sent only then).
    pub problem_notified: bool,
    /// When the current problem became HARD.
    pub problem_since: DateTime<Utc>,
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum NotificationType {
    /// A HARD problem, a change to another problem state, or a re-notification.
    Problem,
    /// Back to OK / UP after a notified problem.
    Recovery,
    /// Someone acknowledged the problem.
    Acknowledgement,
    /// The object started flapping.
    FlappingStart,
    /// The object stopped flapping.
    FlappingStop,
    /// A scheduled downtime started.
    DowntimeStart,
    /// A scheduled downtime ended (or was cancelled).
    DowntimeEnd,
}

impl From<NotificationKind> for NotificationType {
    fn from(kind: NotificationKind) -> Self {
        match kind {
            NotificationKind::Problem => NotificationType::Problem,
            NotificationKind::Recovery => NotificationType::Recovery,
        }
    }
}

/// Why a notification is not sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum HoldReason {
    /// Notifications are off for the object.
    Disabled,
    /// Nothing to say: the state is OK and did not just recover.
    NoProblem,
    /// The state is SOFT.
    Soft,
    /// In a scheduled downtime.
    Downtime,
    /// Acknowledged.
    Acknowledged,
    /// Flapping.
    Flapping,
    /// A service on a DOWN or UNREACHABLE host.
    HostProblem,
    /// The host is UNREACHABLE.
    Unreachable,
    /// A service dependency is failed.
    DependencyFailed,
    /// Outside the time period; `next` is when it starts again.
    OutsidePeriod {
        /// The next start of the period, if any.
        next: Option<DateTime<Utc>>,
    },
    /// The policy does not notify this state.
    StateFiltered,
    /// Not before `next` (first delay or re-notification interval).
    TooSoon {
        /// When it may go out.
        next: DateTime<Utc>,
    },
    /// A recovery of a problem that was not notified.
    NotNotifiedBefore,
    /// Already notified, and the policy notifies once.
    Once,
}

/// The outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    /// Send it now.
    Send {
        /// What about.
        kind: NotificationType,
        /// Its number in the current problem (1 for the first problem notification).
        number: u32,
        /// Add the escalation contacts.
        escalated: bool,
    },
    /// Do not send it now.
    Hold(HoldReason),
}

impl Decision {
    /// Whether to send.
    pub fn is_send(&self) -> bool {
        matches!(self, Decision::Send { .. })
    }
}

/// The decision for the result that just came (see the module documentation).
pub fn on_transition(t: &Transition, ctx: &NotifyContext, policy: &NotificationPolicy, now: DateTime<Utc>) -> Decision {
    if !policy.enabled {
        return Decision::Hold(HoldReason::Disabled);
    }
    if !t.hard_change {
        return if t.to.is_problem() && ctx.state_hard {
            renotify(t.to, ctx, policy, now)
        } else if t.to.is_problem() || t.state_changed {
            Decision::Hold(HoldReason::Soft)
        } else {
            Decision::Hold(HoldReason::NoProblem)
        };
    }
    if !ctx.state_hard {
        return Decision::Hold(HoldReason::Soft);
    }
    if !t.to.is_problem() {
        return recovery(ctx, policy, now);
    }
    decide_problem(t.to, ctx, policy, now, true)
}

/// The periodic decision for a problem that is still there: re-notify after the interval, and
/// send a first notification whose hold (downtime, period, delay…) has ended.
pub fn renotify(
    current: ServiceState,
    ctx: &NotifyContext,
    policy: &NotificationPolicy,
    now: DateTime<Utc>,
) -> Decision {
    if !policy.enabled {
        return Decision::Hold(HoldReason::Disabled);
    }
    if !current.is_problem() {
        return Decision::Hold(HoldReason::NoProblem);
    }
    if !ctx.state_hard {
        return Decision::Hold(HoldReason::Soft);
    }
    decide_problem(current, ctx, policy, now, false)
}

/// The flapping start or stop notification (sent only if the policy notifies flapping, outside
/// downtimes, inside the period).
pub fn on_flap(event: FlapEvent, ctx: &NotifyContext, policy: &NotificationPolicy, now: DateTime<Utc>) -> Decision {
    if !policy.enabled {
        return Decision::Hold(HoldReason::Disabled);
    }
    if ctx.in_downtime {
        return Decision::Hold(HoldReason::Downtime);
    }
    if !policy.states.flapping {
        return Decision::Hold(HoldReason::StateFiltered);
    }
    if let Some(hold) = outside_period(policy, now) {
        return Decision::Hold(hold);
    }
    let kind = match event {
        FlapEvent::Started => NotificationType::FlappingStart,
        FlapEvent::Stopped => NotificationType::FlappingStop,
    };
    Decision::Send { kind, number: ctx.notifications_sent, escalated: false }
}

/// The downtime start or end notification (Nagios DOWNTIMESTART / DOWNTIMEEND): sent only if
/// the policy notifies downtimes, inside the period. `started` is true when the downtime begins.
pub fn on_downtime(started: bool, ctx: &NotifyContext, policy: &NotificationPolicy, now: DateTime<Utc>) -> Decision {
    if !policy.enabled {
        return Decision::Hold(HoldReason::Disabled);
    }
    if !policy.states.downtime {
        return Decision::Hold(HoldReason::StateFiltered);
    }
    if let Some(hold) = outside_period(policy, now) {
        return Decision::Hold(hold);
    }
    let kind = if started { NotificationType::DowntimeStart } else { NotificationType::DowntimeEnd };
    Decision::Send { kind, number: ctx.notifications_sent, escalated: false }
}

/// The "someone is on it" notification when a problem is acknowledged: only for a problem,
/// inside the period; it goes to the same people as the last problem notification.
pub fn on_acknowledgement(
    current: ServiceState,
    ctx: &NotifyContext,
    policy: &NotificationPolicy,
    now: DateTime<Utc>,
) -> Decision {
    if !policy.enabled {
        return Decision::Hold(HoldReason::Disabled);
    }
    if !current.is_problem() {
        return Decision::Hold(HoldReason::NoProblem);
    }
    if let Some(hold) = outside_period(policy, now) {
        return Decision::Hold(hold);
    }
    let number = ctx.notifications_sent;
    Decision::Send { kind: NotificationType::Acknowledgement, number, escalated: escalated(policy, number) }
}

/// Filters 3 to 9 of the module documentation; an acknowledgement holds problems only.
fn object_hold(
    state: ServiceState,
    problem: bool,
    ctx: &NotifyContext,
    policy: &NotificationPolicy,
) -> Option<HoldReason> {
    let allowed = if problem { policy.states.allows_problem(state, ctx.is_host) } else { policy.states.recovery };
    if ctx.in_downtime {
        Some(HoldReason::Downtime)
    } else if ctx.host_not_up {
        Some(HoldReason::HostProblem)
    } else if ctx.unreachable && !policy.states.unreachable {
        Some(HoldReason::Unreachable)
    } else if ctx.dependency_failed {
        Some(HoldReason::DependencyFailed)
    } else if problem && ctx.acknowledged {
        Some(HoldReason::Acknowledged)
    } else if ctx.flapping {
        Some(HoldReason::Flapping)
    } else if !allowed {
        Some(HoldReason::StateFiltered)
    } else {
        None
    }
}

fn decide_problem(
    state: ServiceState,
    ctx: &NotifyContext,
    policy: &NotificationPolicy,
    now: DateTime<Utc>,
    hard_change: bool,
) -> Decision {
    if let Some(hold) = object_hold(state, true, ctx, policy) {
        return Decision::Hold(hold);
    }
    if ctx.notifications_sent == 0 {
        let due = ctx.problem_since + policy.first_delay;
        if now < due {
            return Decision::Hold(HoldReason::TooSoon { next: due });
        }
    } else if !hard_change {
        let Some(interval) = policy.interval else {
            return Decision::Hold(HoldReason::Once);
        };
        let next = ctx.last_notification_at.unwrap_or(ctx.problem_since) + interval;
        if now < next {
            return Decision::Hold(HoldReason::TooSoon { next });
        }
    }
    if let Some(hold) = outside_period(policy, now) {
        return Decision::Hold(hold);
    }
    let number = ctx.notifications_sent.saturating_add(1);
    Decision::Send { kind: NotificationType::Problem, number, escalated: escalated(policy, number) }
}

fn recovery(ctx: &NotifyContext, policy: &NotificationPolicy, now: DateTime<Utc>) -> Decision {
    if let Some(hold) = object_hold(ServiceState::Ok, false, ctx, policy) {
        return Decision::Hold(hold);
    }
    if !ctx.problem_notified {
        return Decision::Hold(HoldReason::NotNotifiedBefore);
    }
    if let Some(hold) = outside_period(policy, now) {
        return Decision::Hold(hold);
    }
    Decision::Send {
        kind: NotificationType::Recovery,
        number: ctx.notifications_sent.saturating_add(1),
        escalated: escalated(policy, ctx.notifications_sent),
    }
}

fn escalated(policy: &NotificationPolicy, number: u32) -> bool {
    policy.escalate_after.is_some_and(|after| number >= after)
}

fn outside_period(policy: &NotificationPolicy, now: DateTime<Utc>) -> Option<HoldReason> {
    match &policy.period {
        Some(period) if !period.contains(now) => Some(HoldReason::OutsidePeriod { next: period.next_start(now) }),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::super::downtime::{ack_survives, Acknowledgement};
    use super::super::{CheckSettings, CheckState, FlapThresholds};
    use super::*;
    use HoldReason::*;
    use NotificationType::{Problem, Recovery};
    use ServiceState::{Critical, Ok, Unknown, Warning};

    /// Wednesday 2026-01-14 10:00 UTC (11:00 in Paris).
    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-14T10:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn at(minutes: i64) -> DateTime<Utc> {
        t0() + Duration::minutes(minutes)
    }

    fn ctx() -> NotifyContext {
        NotifyContext {
            is_host: false,
            state_hard: true,
            in_downtime: false,
            acknowledged: false,
            flapping: false,
            host_not_up: false,
            unreachable: false,
            dependency_failed: false,
            last_notification_at: None,
            notifications_sent: 0,
            problem_notified: false,
            problem_since: t0(),
        }
    }

    fn policy() -> NotificationPolicy {
        NotificationPolicy { escalate_after: Some(3), ..NotificationPolicy::default() }
    }

    /// A transition; `hard` says whether the hard state changed.
    fn tr(from: ServiceState, to: ServiceState, hard: bool) -> Transition {
        Transition {
            from,
            to,
            state_changed: from != to,
            hard_change: hard,
            notify: None,
            next_check_in: Duration::minutes(5),
            percent_state_change: 0.0,
            flap: None,
        }
    }

    fn send(kind: NotificationType, number: u32, escalated: bool) -> Decision {
        Decision::Send { kind, number, escalated }
    }

    fn hold(reason: HoldReason) -> Decision {
        Decision::Hold(reason)
    }

    /// After one problem notification 10 minutes ago.
    fn notified(c: &mut NotifyContext) {
        c.notifications_sent = 1;
        c.problem_notified = true;
        c.last_notification_at = Some(at(0));
    }

    type Case = (&'static str, Transition, fn(&mut NotifyContext), fn(&mut NotificationPolicy), i64, Decision);

    #[test]
    fn on_transition_table() {
        let none: fn(&mut NotifyContext) = |_| {};
        let default: fn(&mut NotificationPolicy) = |_| {};
        let cases: Vec<Case> = vec![
            ("hard problem", tr(Ok, Critical, true), none, default, 0, send(Problem, 1, false)),
            ("hard warning", tr(Ok, Warning, true), none, default, 0, send(Problem, 1, false)),
            ("disabled", tr(Ok, Critical, true), none, |p| p.enabled = false, 0, hold(Disabled)),
            ("soft problem", tr(Ok, Critical, false), |c| c.state_hard = false, default, 0, hold(Soft)),
            ("soft recovery", tr(Critical, Ok, false), none, default, 0, hold(Soft)),
            ("steady OK", tr(Ok, Ok, false), none, default, 0, hold(NoProblem)),
            ("downtime", tr(Ok, Critical, true), |c| c.in_downtime = true, default, 0, hold(Downtime)),
            (
                "recovery in downtime",
                tr(Critical, Ok, true),
                |c| {
                    notified(c);
                    c.in_downtime = true;
                },
                default,
                10,
                hold(Downtime),
            ),
            ("service on a down host", tr(Ok, Critical, true), |c| c.host_not_up = true, default, 0, hold(HostProblem)),
            (
                "unreachable host",
                tr(Ok, Unknown, true),
                |c| {
                    c.is_host = true;
                    c.unreachable = true;
                },
                default,
                0,
                hold(Unreachable),
            ),
            (
                "unreachable host, policy notifies unreachable",
                tr(Ok, Unknown, true),
                |c| {
                    c.is_host = true;
                    c.unreachable = true;
                },
                |p| p.states.unreachable = true,
                0,
                send(Problem, 1, false),
            ),
            ("host down", tr(Ok, Critical, true), |c| c.is_host = true, default, 0, send(Problem, 1, false)),
            (
                "host down filtered",
                tr(Ok, Critical, true),
                |c| c.is_host = true,
                |p| p.states.down = false,
                0,
                hold(StateFiltered),
            ),
            (
                "dependency failed",
                tr(Ok, Critical, true),
                |c| c.dependency_failed = true,
                default,
                0,
                hold(DependencyFailed),
            ),
            (
                "acknowledged (sticky) change",
                tr(Warning, Critical, true),
                |c| {
                    notified(c);
                    c.acknowledged = true;
                },
                default,
                10,
                hold(Acknowledged),
            ),
            (
                "recovery while acknowledged",
                tr(Critical, Ok, true),
                |c| {
                    notified(c);
                    c.acknowledged = true;
                },
                default,
                10,
                send(Recovery, 2, false),
            ),
            ("flapping", tr(Ok, Critical, true), |c| c.flapping = true, default, 0, hold(Flapping)),
            ("warning filtered", tr(Ok, Warning, true), none, |p| p.states.warning = false, 0, hold(StateFiltered)),
            (
                "recovery filtered",
                tr(Critical, Ok, true),
                notified,
                |p| p.states.recovery = false,
                10,
                hold(StateFiltered),
            ),
            ("recovery of an unnotified problem", tr(Critical, Ok, true), none, default, 10, hold(NotNotifiedBefore)),
            ("recovery", tr(Critical, Ok, true), notified, default, 10, send(Recovery, 2, false)),
            (
                "recovery after escalation",
                tr(Critical, Ok, true),
                |c| {
                    notified(c);
                    c.notifications_sent = 3;
                },
                default,
                10,
                send(Recovery, 4, true),
            ),
            (
                "first delay not over",
                tr(Ok, Critical, true),
                none,
                |p| p.first_delay = Duration::minutes(15),
                0,
                hold(TooSoon { next: at(15) }),
            ),
            (
                "first delay over",
                tr(Ok, Critical, true),
                none,
                |p| p.first_delay = Duration::minutes(15),
                15,
                send(Problem, 1, false),
            ),
            (
                "hard state change ignores the interval",
                tr(Warning, Critical, true),
                notified,
                default,
                1,
                send(Problem, 2, false),
            ),
            (
                "hard state change when notifying once",
                tr(Warning, Critical, true),
                notified,
                |p| p.interval = None,
                1,
                send(Problem, 2, false),
            ),
            (
                "same hard problem: too soon",
                tr(Critical, Critical, false),
                notified,
                default,
                10,
                hold(TooSoon { next: at(30) }),
            ),
            (
                "same hard problem: interval over",
                tr(Critical, Critical, false),
                notified,
                default,
                30,
                send(Problem, 2, false),
            ),
            (
                "same hard problem: once",
                tr(Critical, Critical, false),
                notified,
                |p| p.interval = None,
                300,
                hold(Once),
            ),
            (
                "escalated from the 3rd",
                tr(Unknown, Critical, true),
                |c| {
                    notified(c);
                    c.notifications_sent = 2;
                },
                default,
                5,
                send(Problem, 3, true),
            ),
            (
                "no escalation configured",
                tr(Unknown, Critical, true),
                |c| {
                    notified(c);
                    c.notifications_sent = 7;
                },
                |p| p.escalate_after = None,
                5,
                send(Problem, 8, false),
            ),
            // Saturday: outside office hours, held until Monday 08:00 Paris (07:00 UTC).
            (
                "outside the period",
                tr(Ok, Critical, true),
                none,
                |p| p.period = Some(TimePeriod::parse("mon-fri 08:00-18:00").unwrap()),
                3 * 24 * 60,
                hold(OutsidePeriod { next: Some("2026-01-19T07:00:00Z".parse().unwrap()) }),
            ),
            (
                "inside the period",
                tr(Ok, Critical, true),
                none,
                |p| p.period = Some(TimePeriod::parse("mon-fri 08:00-18:00").unwrap()),
                0,
                send(Problem, 1, false),
            ),
            (
                "recovery outside the period",
                tr(Critical, Ok, true),
                notified,
                |p| p.period = Some(TimePeriod::parse("never").unwrap()),
                10,
                hold(OutsidePeriod { next: None }),
            ),
            // Order: downtime wins over acknowledged, flapping and period.
            (
                "several holds",
                tr(Ok, Critical, true),
                |c| {
                    c.in_downtime = true;
                    c.acknowledged = true;
                    c.flapping = true;
                },
                |p| p.period = Some(TimePeriod::parse("never").unwrap()),
                0,
                hold(Downtime),
            ),
        ];
        for (name, t, edit_ctx, edit_policy, minutes, expected) in cases {
            let mut c = ctx();
            edit_ctx(&mut c);
            let mut p = policy();
            edit_policy(&mut p);
            assert_eq!(on_transition(&t, &c, &p, at(minutes)), expected, "{name}");
        }
    }

    #[test]
    fn renotify_table() {
        type Row = (&'static str, ServiceState, fn(&mut NotifyContext), fn(&mut NotificationPolicy), i64, Decision);
        let default: fn(&mut NotificationPolicy) = |_| {};
        let cases: Vec<Row> = vec![
            ("OK: nothing", Ok, notified, default, 60, hold(NoProblem)),
            ("soft", Critical, |c| c.state_hard = false, default, 60, hold(Soft)),
            ("disabled", Critical, notified, |p| p.enabled = false, 60, hold(Disabled)),
            ("interval not over", Critical, notified, default, 29, hold(TooSoon { next: at(30) })),
            ("interval over", Critical, notified, default, 30, send(Problem, 2, false)),
            (
                "interval counted from the last one",
                Critical,
                |c| {
                    notified(c);
                    c.notifications_sent = 2;
                    c.last_notification_at = Some(at(30));
                },
                default,
                59,
                hold(TooSoon { next: at(60) }),
            ),
            (
                "escalated at the 3rd",
                Critical,
                |c| {
                    notified(c);
                    c.notifications_sent = 2;
                    c.last_notification_at = Some(at(30));
                },
                default,
                60,
                send(Problem, 3, true),
            ),
            (
                "still escalated after",
                Critical,
                |c| {
                    notified(c);
                    c.notifications_sent = 5;
                },
                default,
                30,
                send(Problem, 6, true),
            ),
            ("once", Critical, notified, |p| p.interval = None, 600, hold(Once)),
            (
                "acknowledged",
                Critical,
                |c| {
                    notified(c);
                    c.acknowledged = true;
                },
                default,
                60,
                hold(Acknowledged),
            ),
            (
                "in downtime",
                Critical,
                |c| {
                    notified(c);
                    c.in_downtime = true;
                },
                default,
                60,
                hold(Downtime),
            ),
            // Held during a downtime, never notified: sent as number 1 once the downtime ends.
            ("after a downtime", Critical, |c| c.problem_since = at(-120), default, 0, send(Problem, 1, false)),
            (
                "first delay",
                Warning,
                |_| {},
                |p| p.first_delay = Duration::minutes(5),
                4,
                hold(TooSoon { next: at(5) }),
            ),
            ("first delay over", Warning, |_| {}, |p| p.first_delay = Duration::minutes(5), 5, send(Problem, 1, false)),
            (
                "outside the period",
                Critical,
                notified,
                |p| p.period = Some(TimePeriod::parse("mon-fri 08:00-09:00").unwrap()),
                60,
                hold(OutsidePeriod { next: Some("2026-01-15T07:00:00Z".parse().unwrap()) }),
            ),
            (
                "unreachable child",
                Unknown,
                |c| {
                    c.is_host = true;
                    c.unreachable = true;
                },
                default,
                60,
                hold(Unreachable),
            ),
        ];
        for (name, state, edit_ctx, edit_policy, minutes, expected) in cases {
            let mut c = ctx();
            edit_ctx(&mut c);
            let mut p = policy();
            edit_policy(&mut p);
            assert_eq!(renotify(state, &c, &p, at(minutes)), expected, "{name}");
        }
    }

    #[test]
    fn flap_and_acknowledgement_notifications() {
        let p = policy();
        let c = NotifyContext { notifications_sent: 3, ..ctx() };
        assert_eq!(on_flap(FlapEvent::Started, &c, &p, t0()), send(NotificationType::FlappingStart, 3, false));
        assert_eq!(on_flap(FlapEvent::Stopped, &c, &p, t0()), send(NotificationType::FlappingStop, 3, false));
        let off =
            NotificationPolicy { states: NotifyStates { flapping: false, ..NotifyStates::default() }, ..policy() };
        assert_eq!(on_flap(FlapEvent::Started, &c, &off, t0()), hold(StateFiltered));
        let down = NotifyContext { in_downtime: true, ..c.clone() };
        assert_eq!(on_flap(FlapEvent::Started, &down, &p, t0()), hold(Downtime));

        assert_eq!(on_acknowledgement(Critical, &c, &p, t0()), send(NotificationType::Acknowledgement, 3, true));
        assert_eq!(on_acknowledgement(Ok, &c, &p, t0()), hold(NoProblem));
        let disabled = NotificationPolicy { enabled: false, ..policy() };
        assert_eq!(on_acknowledgement(Critical, &c, &disabled, t0()), hold(Disabled));
        assert_eq!(on_flap(FlapEvent::Started, &c, &disabled, t0()), hold(Disabled));

        assert_eq!(on_downtime(true, &c, &p, t0()), send(NotificationType::DowntimeStart, 3, false));
        assert_eq!(on_downtime(false, &c, &p, t0()), send(NotificationType::DowntimeEnd, 3, false));
        let quiet =
            NotificationPolicy { states: NotifyStates { downtime: false, ..NotifyStates::default() }, ..policy() };
        assert_eq!(on_downtime(true, &c, &quiet, t0()), hold(StateFiltered));
        assert_eq!(on_downtime(true, &c, &disabled, t0()), hold(Disabled));
        let never = NotificationPolicy { period: Some(TimePeriod::parse("never").unwrap()), ..policy() };
        assert_eq!(on_downtime(false, &c, &never, t0()), hold(OutsidePeriod { next: None }));
        assert_eq!(on_flap(FlapEvent::Stopped, &c, &never, t0()), hold(OutsidePeriod { next: None }));
    }

    /// A whole problem through the real state machine: SOFT, HARD, re-notifications, escalation,
    /// acknowledgement, recovery (still notified, and the acknowledgement cleared).
    #[test]
    fn a_problem_from_start_to_recovery() {
        let settings = CheckSettings {
            max_attempts: 2,
            check_interval: Duration::minutes(5),
            retry_interval: Duration::minutes(1),
            flap: FlapThresholds { low: 0.0, high: 100.0 },
        };
        let p = policy();
        let mut check = CheckState::new(at(-10));
        let mut c = ctx();
        let mut ack: Option<Acknowledgement> = None;
        let mut sent = Vec::new();

        let apply = |check: &mut CheckState, c: &mut NotifyContext, ack: &mut Option<Acknowledgement>, result, m| {
            let t = check.apply(result, &settings, at(m));
            c.state_hard = check.state_type == super::super::StateType::Hard;
            if t.hard_change && result.is_problem() && c.notifications_sent == 0 {
                c.problem_since = at(m);
            }
            if let Some(a) = ack.as_ref() {
                if !ack_survives(a, &t) {
                    *ack = None;
                }
            }
            c.acknowledged = ack.is_some();
            on_transition(&t, c, &p, at(m))
        };
        let record = |c: &mut NotifyContext, d: Decision, m: i64, sent: &mut Vec<(i64, Decision)>| {
            if let Decision::Send { kind: Problem, number, .. } = d {
                c.notifications_sent = number;
                c.problem_notified = true;
                c.last_notification_at = Some(at(m));
            }
            if d.is_send() {
                sent.push((m, d));
            }
        };

        let d = apply(&mut check, &mut c, &mut ack, Critical, 0);
        assert_eq!(d, hold(Soft));
        let d = apply(&mut check, &mut c, &mut ack, Critical, 1);
        assert_eq!(d, send(Problem, 1, false));
        record(&mut c, d, 1, &mut sent);
        for m in [6, 11, 16, 21, 26, 31, 36, 41, 46, 51, 56, 61] {
            let d = apply(&mut check, &mut c, &mut ack, Critical, m);
            record(&mut c, d, m, &mut sent);
        }
        // Re-notified at the first check after 30 minutes, escalated from the third.
        assert_eq!(
            sent,
            vec![(1, send(Problem, 1, false)), (31, send(Problem, 2, false)), (61, send(Problem, 3, true))]
        );

        ack = Some(Acknowledgement {
            author: "paul".into(),
            comment: "je m'en occupe".into(),
            sticky: false,
            at: at(62),
        });
        c.acknowledged = true;
        assert_eq!(on_acknowledgement(check.state, &c, &p, at(62)), send(NotificationType::Acknowledgement, 3, true));
        let d = apply(&mut check, &mut c, &mut ack, Critical, 95);
        assert_eq!(d, hold(Acknowledged));
        assert!(ack.is_some());

        let d = apply(&mut check, &mut c, &mut ack, Ok, 100);
        assert_eq!(d, send(Recovery, 4, true));
        assert!(ack.is_none(), "the recovery removes the acknowledgement");
    }

    #[test]
    fn decisions_serialize() {
        let d = send(Problem, 2, true);
        assert_eq!(
            serde_json::to_value(d).unwrap(),
            serde_json::json!({"decision": "send", "kind": "PROBLEM", "number": 2, "escalated": true})
        );
        let d = hold(TooSoon { next: at(30) });
        assert_eq!(
            serde_json::to_value(d).unwrap(),
            serde_json::json!({"decision": "hold", "reason": "too_soon", "next": "2026-01-14T10:30:00Z"})
        );
        assert_eq!(NotificationType::from(NotificationKind::Recovery), Recovery);
    }
}
