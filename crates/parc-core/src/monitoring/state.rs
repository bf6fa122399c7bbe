//! The state logic of a service check, as Nagios applies it: SOFT and HARD states, check
//! attempts, notifications and flap detection.
//!
//! # The rules
//!
//! A check result moves a [`CheckState`] with [`CheckState::apply`]:
//!
//! | Before            | Result            | After                          | Notification |
//! |-------------------|-------------------|--------------------------------|--------------|
//! | HARD OK           | OK                | HARD OK (nothing changes)      | none         |
//! | HARD OK           | problem           | SOFT problem, attempt 1        | none         |
//! | HARD OK           | problem, max 1    | HARD problem                   | Problem      |
//! | SOFT problem      | problem           | attempt + 1; HARD at max       | Problem once HARD |
//! | SOFT problem      | OK                | HARD OK, attempt 1 (soft recovery) | none     |
//! | HARD problem      | OK                | HARD OK, attempt 1 (hard recovery) | Recovery |
//! | HARD problem      | another problem   | HARD new problem (hard state change) | Problem |
//! | HARD problem      | same problem      | nothing changes                | none         |
//!
//! The next check comes after [`CheckSettings::retry_interval`] while the state is a SOFT
//! problem (the problem is being confirmed), after [`CheckSettings::check_interval`] otherwise.
//!
//! # Flap detection
//!
//! The last [`FLAP_HISTORY_LEN`] results (so 20 possible state changes) are kept in a
//! [`FlapHistory`]. Its percent state change weighs each change linearly by its age, from 0.8
//! for the oldest to 1.2 for the newest, so recent changes count more; 20 changes out of 20 is
//! 100 %. A check starts flapping when the percentage goes above [`FlapThresholds::high`] and
//! stops when it goes below [`FlapThresholds::low`]; in between it keeps its flapping status
//! (hysteresis). While a check is flapping its state still changes as above, but
//! [`Transition::notify`] is `None`: notifications are suppressed, as in Nagios. The start and
//! the end of flapping are reported by [`Transition::flap`].
//!
//! Everything here is pure: the time is an argument, nothing is stored or sent.

use super::ServiceState;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::VecDeque;

/// How many results the flap history keeps: 21 results, so 20 possible state changes.
pub const FLAP_HISTORY_LEN: usize = 21;

/// Weight of the oldest of the 20 possible state changes.
const OLDEST_CHANGE_WEIGHT: f64 = 0.8;
/// Weight of the newest of the 20 possible state changes.
const NEWEST_CHANGE_WEIGHT: f64 = 1.2;

/// Whether a state is confirmed (HARD) or still being confirmed by retries (SOFT).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum StateType {
    /// A problem seen fewer than `max_attempts` times in a row: retried, not notified.
    Soft,
    /// A confirmed state: OK, or a problem seen `max_attempts` times in a row.
    Hard,
}

/// What a notification is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum NotificationKind {
    /// The check entered a HARD problem state, or moved from one problem state to another.
    Problem,
    /// The check came back to OK from a HARD problem state.
    Recovery,
}

/// The start or the end of flapping.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum FlapEvent {
    /// The percent state change went above the high threshold.
    Started,
    /// The percent state change went below the low threshold.
    Stopped,
}

/// The flap detection thresholds, in percent state change (0 to 100).
///
/// `low` should not be above `high`; if it is, a check may start and stop flapping on
/// consecutive results.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FlapThresholds {
    /// Flapping stops when the percent state change goes below this value.
    pub low: f64,
    /// Flapping starts when the percent state change goes above this value.
    pub high: f64,
}

impl Default for FlapThresholds {
    /// 20 % and 30 %, Nagios' defaults for services.
    fn default() -> Self {
        FlapThresholds { low: 20.0, high: 30.0 }
    }
}

/// How a service is checked.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CheckSettings {
    /// How many problem results in a row make a HARD problem. At least 1; 0 is treated as 1.
    pub max_attempts: u32,
    /// The delay between checks when the state is OK or a HARD problem.
    pub check_interval: Duration,
    /// The delay between checks while a SOFT problem is being confirmed.
    pub retry_interval: Duration,
    /// When a check is said to be flapping.
    pub flap: FlapThresholds,
}

impl CheckSettings {
    /// `max_attempts` as used by the rules: never below 1.
    fn max_attempts(&self) -> u32 {
        self.max_attempts.max(1)
    }
}

/// The last [`FLAP_HISTORY_LEN`] results of a check, oldest first.
///
/// Serialized as a plain list of states. A stored list longer than [`FLAP_HISTORY_LEN`] is
/// accepted; only its newest entries count.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct FlapHistory {
    states: VecDeque<ServiceState>,
}

impl FlapHistory {
    /// An empty history.
    pub fn new() -> Self {
        FlapHistory::default()
    }

    /// Records a result, forgetting the oldest ones beyond [`FLAP_HISTORY_LEN`].
    pub fn push(&mut self, state: ServiceState) {
        self.states.push_back(state);
        while self.states.len() > FLAP_HISTORY_LEN {
            self.states.pop_front();
        }
    }

    /// The recorded results, oldest first.
    pub fn states(&self) -> impl Iterator<Item = ServiceState> + '_ {
        let skip = self.states.len().saturating_sub(FLAP_HISTORY_LEN);
        self.states.iter().copied().skip(skip)
    }

    /// The weighted percent state change, in `0.0..=100.0`.
    ///
    /// Each of the 20 possible changes between consecutive results has a weight growing
    /// linearly from 0.8 (oldest) to 1.2 (newest); the weights add up to 20, so the percentage
    /// is the sum of the weights of the actual changes times 100 / 20. A history shorter than
    /// [`FLAP_HISTORY_LEN`] counts as if its first result had been repeated before it: the
    /// missing changes are no changes, and the newest change always weighs 1.2.
    pub fn percent_state_change(&self) -> f64 {
        let states: Vec<ServiceState> = self.states().collect();
        let slots = FLAP_HISTORY_LEN - 1;
        // The change between states[j - 1] and states[j] takes slot `offset + j - 1`.
        let offset = FLAP_HISTORY_LEN - states.len().max(1);
        let weighted: f64 = states
            .windows(2)
            .enumerate()
            .filter(|(_, pair)| pair[0] != pair[1])
            .map(|(j, _)| {
                let slot = (offset + j) as f64;
                OLDEST_CHANGE_WEIGHT + (NEWEST_CHANGE_WEIGHT - OLDEST_CHANGE_WEIGHT) * slot / (slots - 1) as f64
            })
            .sum();
        (weighted * 100.0 / slots as f64).clamp(0.0, 100.0)
    }
}

/// The state of one service check, kept between results (stored as JSON).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckState {
    /// The latest state, SOFT or HARD.
    pub state: ServiceState,
    /// Whether [`CheckState::state`] is confirmed.
    pub state_type: StateType,
    /// The current attempt, from 1 to `max_attempts`: 1 when OK, the number of problem
    /// results in a row while SOFT, `max_attempts` once a problem is HARD.
    pub attempt: u32,
    /// The latest HARD state (the one notifications are about).
    pub last_hard_state: ServiceState,
    /// When [`CheckState::state`] last changed, SOFT or HARD.
    pub last_state_change: DateTime<Utc>,
    /// When [`CheckState::last_hard_state`] last changed.
    pub last_hard_state_change: DateTime<Utc>,
    /// The recent results, for flap detection.
    pub history: FlapHistory,
    /// Whether the check is flapping (notifications suppressed).
    pub flapping: bool,
}

/// What one result did to a [`CheckState`].
#[derive(Debug, Clone, PartialEq)]
pub struct Transition {
    /// The state before the result.
    pub from: ServiceState,
    /// The state after the result.
    pub to: ServiceState,
    /// The state (SOFT or HARD) changed.
    pub state_changed: bool,
    /// The HARD state changed: a HARD problem, a hard recovery or a hard state change.
    pub hard_change: bool,
    /// The notification to send: only on a hard change, and never while flapping.
    pub notify: Option<NotificationKind>,
    /// When to run the next check, from now.
    pub next_check_in: Duration,
    /// The percent state change after this result.
    pub percent_state_change: f64,
    /// Flapping started or stopped with this result.
    pub flap: Option<FlapEvent>,
}

impl CheckState {
    /// A check that has not run yet: HARD OK, attempt 1, not flapping, empty history.
    pub fn new(now: DateTime<Utc>) -> Self {
        CheckState {
            state: ServiceState::Ok,
            state_type: StateType::Hard,
            attempt: 1,
            last_hard_state: ServiceState::Ok,
            last_state_change: now,
            last_hard_state_change: now,
            history: FlapHistory::new(),
            flapping: false,
        }
    }

    /// Applies one check result received at `now` and says what changed (see the module
    /// documentation for the rules).
    pub fn apply(&mut self, result: ServiceState, settings: &CheckSettings, now: DateTime<Utc>) -> Transition {
        let max_attempts = settings.max_attempts();
        let from = self.state;
        let hard_before = self.last_hard_state;

        if !result.is_problem() {
            // OK again, a soft recovery or a hard recovery: all end as HARD OK.
            self.state_type = StateType::Hard;
            self.attempt = 1;
        } else if self.is_soft() || !self.state.is_problem() {
            // A new problem, or one more problem result while SOFT: count the attempt.
            self.attempt = if self.is_soft() { self.attempt.saturating_add(1) } else { 1 };
            if self.attempt >= max_attempts {
                self.attempt = max_attempts;
                self.state_type = StateType::Hard;
            } else {
                self.state_type = StateType::Soft;
            }
        } else {
            // A HARD problem stays a HARD problem, the same one or another.
            self.attempt = self.attempt.clamp(1, max_attempts);
        }
        self.state = result;
        if self.state_type == StateType::Hard {
            self.last_hard_state = result;
        }

        let state_changed = from != result;
        let hard_change = hard_before != self.last_hard_state;
        if state_changed {
            self.last_state_change = now;
        }
        if hard_change {
            self.last_hard_state_change = now;
        }

        self.history.push(result);
        let percent_state_change = self.history.percent_state_change();
        let flap = if !self.flapping && percent_state_change > settings.flap.high {
            self.flapping = true;
            Some(FlapEvent::Started)
        } else if self.flapping && percent_state_change < settings.flap.low {
            self.flapping = false;
            Some(FlapEvent::Stopped)
        } else {
            None
        };

        let notify = match (hard_change, self.flapping) {
            (false, _) | (true, true) => None,
            (true, false) if result.is_problem() => Some(NotificationKind::Problem),
            (true, false) => Some(NotificationKind::Recovery),
        };
        let next_check_in = if self.is_soft() { settings.retry_interval } else { settings.check_interval };

        Transition { from, to: result, state_changed, hard_change, notify, next_check_in, percent_state_change, flap }
    }

    /// A SOFT problem: the state being confirmed by retries.
    fn is_soft(&self) -> bool {
        self.state_type == StateType::Soft && self.state.is_problem()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ServiceState::{Critical, Ok, Unknown, Warning};

    const CHECK: Duration = Duration::minutes(5);
    const RETRY: Duration = Duration::minutes(1);
    /// Thresholds that never start flapping (the percentage is never above 100).
    const NO_FLAP: FlapThresholds = FlapThresholds { low: 0.0, high: 100.0 };

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_700_000_000, 0).unwrap()
    }

    fn settings(max_attempts: u32, flap: FlapThresholds) -> CheckSettings {
        CheckSettings { max_attempts, check_interval: CHECK, retry_interval: RETRY, flap }
    }

    fn history(states: &[ServiceState]) -> FlapHistory {
        let mut h = FlapHistory::new();
        for &s in states {
            h.push(s);
        }
        h
    }

    /// One expected step: the result, then the state, type and attempt after it, whether the
    /// state and the hard state changed, the notification and the next delay.
    type Step = (ServiceState, ServiceState, StateType, u32, bool, bool, Option<NotificationKind>, Duration);

    #[test]
    fn transitions() {
        use NotificationKind::{Problem, Recovery};
        use StateType::{Hard, Soft};
        let cases: &[(&str, u32, &[Step])] = &[
            (
                "steady OK",
                3,
                &[(Ok, Ok, Hard, 1, false, false, None, CHECK), (Ok, Ok, Hard, 1, false, false, None, CHECK)],
            ),
            (
                "soft counting up to a hard problem",
                3,
                &[
                    (Critical, Critical, Soft, 1, true, false, None, RETRY),
                    (Critical, Critical, Soft, 2, false, false, None, RETRY),
                    (Critical, Critical, Hard, 3, false, true, Some(Problem), CHECK),
                    (Critical, Critical, Hard, 3, false, false, None, CHECK),
                ],
            ),
            ("max_attempts 1: hard at once", 1, &[(Warning, Warning, Hard, 1, true, true, Some(Problem), CHECK)]),
            ("max_attempts 0 acts as 1", 0, &[(Unknown, Unknown, Hard, 1, true, true, Some(Problem), CHECK)]),
            (
                "soft recovery",
                3,
                &[
                    (Warning, Warning, Soft, 1, true, false, None, RETRY),
                    (Warning, Warning, Soft, 2, false, false, None, RETRY),
                    (Ok, Ok, Hard, 1, true, false, None, CHECK),
                ],
            ),
            (
                "hard recovery",
                2,
                &[
                    (Critical, Critical, Soft, 1, true, false, None, RETRY),
                    (Critical, Critical, Hard, 2, false, true, Some(Problem), CHECK),
                    (Ok, Ok, Hard, 1, true, true, Some(Recovery), CHECK),
                ],
            ),
            (
                "hard state change",
                1,
                &[
                    (Warning, Warning, Hard, 1, true, true, Some(Problem), CHECK),
                    (Critical, Critical, Hard, 1, true, true, Some(Problem), CHECK),
                    (Critical, Critical, Hard, 1, false, false, None, CHECK),
                    (Unknown, Unknown, Hard, 1, true, true, Some(Problem), CHECK),
                ],
            ),
            (
                "soft state change keeps counting",
                3,
                &[
                    (Warning, Warning, Soft, 1, true, false, None, RETRY),
                    (Critical, Critical, Soft, 2, true, false, None, RETRY),
                    (Critical, Critical, Hard, 3, false, true, Some(Problem), CHECK),
                    (Warning, Warning, Hard, 3, true, true, Some(Problem), CHECK),
                    (Warning, Warning, Hard, 3, false, false, None, CHECK),
                ],
            ),
        ];
        for &(name, max_attempts, steps) in cases {
            let settings = settings(max_attempts, NO_FLAP);
            let mut check = CheckState::new(t0());
            for (i, &(result, state, state_type, attempt, changed, hard, notify, delay)) in steps.iter().enumerate() {
                let from = check.state;
                let tr = check.apply(result, &settings, t0());
                let ctx = format!("{name}, step {i}");
                assert_eq!((check.state, check.state_type, check.attempt), (state, state_type, attempt), "{ctx}");
                assert_eq!((tr.from, tr.to), (from, result), "{ctx}");
                assert_eq!((tr.state_changed, tr.hard_change, tr.notify), (changed, hard, notify), "{ctx}");
                assert_eq!(tr.next_check_in, delay, "{ctx}");
                assert_eq!(tr.flap, None, "{ctx}");
                if state_type == Hard {
                    assert_eq!(check.last_hard_state, state, "{ctx}");
                }
            }
        }
    }

    #[test]
    fn change_times() {
        let settings = settings(2, NO_FLAP);
        let at = |m| t0() + Duration::minutes(m);
        let mut check = CheckState::new(t0());
        check.apply(Critical, &settings, at(1));
        assert_eq!((check.last_state_change, check.last_hard_state_change), (at(1), t0()));
        check.apply(Critical, &settings, at(2));
        assert_eq!((check.last_state_change, check.last_hard_state_change), (at(1), at(2)));
        check.apply(Critical, &settings, at(3));
        assert_eq!((check.last_state_change, check.last_hard_state_change), (at(1), at(2)));
        check.apply(Ok, &settings, at(4));
        assert_eq!((check.last_state_change, check.last_hard_state_change), (at(4), at(4)));
        assert_eq!(check.last_hard_state, Ok);
    }

    #[test]
    fn lowered_max_attempts_hardens_a_soft_problem() {
        let mut check = CheckState::new(t0());
        for _ in 0..3 {
            check.apply(Critical, &settings(5, NO_FLAP), t0());
        }
        assert_eq!((check.state_type, check.attempt), (StateType::Soft, 3));
        let tr = check.apply(Critical, &settings(2, NO_FLAP), t0());
        assert_eq!((check.state_type, check.attempt), (StateType::Hard, 2));
        assert_eq!(tr.notify, Some(NotificationKind::Problem));
    }

    #[test]
    fn flap_percent_on_known_sequences() {
        let alternating: Vec<_> = (0..FLAP_HISTORY_LEN).map(|i| if i % 2 == 0 { Ok } else { Critical }).collect();
        let cases: &[(&str, Vec<ServiceState>, f64)] = &[
            ("empty", vec![], 0.0),
            ("one result", vec![Critical], 0.0),
            ("steady", vec![Ok; 21], 0.0),
            ("steady problem", vec![Critical; 30], 0.0),
            ("alternating", alternating.clone(), 100.0),
            ("alternating, longer than the window", [alternating.clone(), alternating].concat(), 100.0),
            ("newest change only", [vec![Ok; 20], vec![Critical]].concat(), 6.0),
            ("oldest change only", [vec![Critical], vec![Ok; 20]].concat(), 4.0),
            ("short history: newest change weighs 1.2", vec![Ok, Warning], 6.0),
            // Changes in slots 18 and 19: (1.2 - 0.4 / 19 + 1.2) * 5.
            ("two newest changes", [vec![Ok; 19], vec![Warning, Ok]].concat(), (2.4 - 0.4 / 19.0) * 5.0),
        ];
        for (name, states, expected) in cases {
            let got = history(states).percent_state_change();
            assert!((got - expected).abs() < 1e-9, "{name}: {got} != {expected}");
        }
        // The oldest results beyond the window are forgotten.
        let h = history(&[[Critical].as_slice(), &[Ok; 21]].concat());
        assert_eq!(h.states().count(), FLAP_HISTORY_LEN);
        assert_eq!(h.percent_state_change(), 0.0);
    }

    #[test]
    fn flapping_has_hysteresis_and_suppresses_notifications() {
        let thresholds = FlapThresholds::default();
        let settings = settings(1, thresholds);
        let mut check = CheckState::new(t0());
        check.apply(Ok, &settings, t0());

        // Alternate until flapping starts, just above the high threshold.
        let mut started = None;
        for i in 0..FLAP_HISTORY_LEN {
            let result = if i % 2 == 0 { Critical } else { Ok };
            let tr = check.apply(result, &settings, t0());
            assert!(tr.hard_change);
            if tr.flap == Some(FlapEvent::Started) {
                assert!(tr.percent_state_change > thresholds.high);
                assert_eq!(tr.notify, None, "notifications are suppressed while flapping");
                started = Some(i);
                break;
            }
            assert!(tr.percent_state_change <= thresholds.high);
            assert!(tr.notify.is_some());
        }
        assert!(started.is_some() && check.flapping);

        // Keep alternating: still flapping, still silent.
        let next = if check.state == Ok { Critical } else { Ok };
        let tr = check.apply(next, &settings, t0());
        assert!(tr.hard_change && tr.flap.is_none() && tr.notify.is_none() && check.flapping);

        // Then a steady state: the percentage decays; between the thresholds it keeps flapping.
        let mut seen_between = false;
        let mut stopped = false;
        for _ in 0..FLAP_HISTORY_LEN {
            let tr = check.apply(Ok, &settings, t0());
            let p = tr.percent_state_change;
            if (thresholds.low..=thresholds.high).contains(&p) {
                seen_between = true;
                assert!(check.flapping, "{p}% is between the thresholds: keeps flapping");
            }
            if tr.flap == Some(FlapEvent::Stopped) {
                assert!(p < thresholds.low);
                stopped = true;
                break;
            }
        }
        assert!(seen_between && stopped && !check.flapping);

        // Notifications come back once flapping stopped.
        let tr = check.apply(Critical, &settings, t0());
        assert_eq!(tr.notify, Some(NotificationKind::Problem));
        assert_eq!(tr.flap, None);
    }

    #[test]
    fn stored_as_json() {
        let settings = settings(3, NO_FLAP);
        let mut check = CheckState::new(t0());
        for result in [Warning, Critical, Ok, Unknown] {
            check.apply(result, &settings, t0());
        }
        let json = serde_json::to_value(&check).unwrap();
        assert_eq!(json["state"], "UNKNOWN");
        assert_eq!(json["state_type"], "SOFT");
        assert_eq!(json["history"], serde_json::json!(["WARNING", "CRITICAL", "OK", "UNKNOWN"]));
        let back: CheckState = serde_json::from_value(json).unwrap();
        assert_eq!(back, check);
    }

    fn arb_state() -> impl Strategy<Value = ServiceState> {
        prop_oneof![Just(Ok), Just(Warning), Just(Critical), Just(Unknown)]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn invariants_hold(
            steps in prop::collection::vec((arb_state(), 0u32..6), 1..80),
            low in 0.0f64..60.0,
            width in 0.0f64..40.0,
        ) {
            let flap = FlapThresholds { low, high: low + width };
            let mut check = CheckState::new(t0());
            for (result, max_attempts) in steps {
                let settings = settings(max_attempts, flap);
                let hard_before = check.last_hard_state;
                let tr = check.apply(result, &settings, t0());
                prop_assert!(check.attempt >= 1 && check.attempt <= max_attempts.max(1));
                prop_assert_eq!(tr.hard_change, check.last_hard_state != hard_before);
                prop_assert!(tr.notify.is_none() || tr.hard_change);
                prop_assert!(tr.notify.is_none() || !check.flapping);
                prop_assert!((0.0..=100.0).contains(&tr.percent_state_change));
                prop_assert_eq!(check.state, result);
                if check.state_type == StateType::Hard {
                    prop_assert_eq!(check.last_hard_state, check.state);
                } else {
                    prop_assert!(check.state.is_problem());
                }
                let expected_delay = if check.state_type == StateType::Soft { RETRY } else { CHECK };
                prop_assert_eq!(tr.next_check_in, expected_delay);
            }
        }
    }
}
