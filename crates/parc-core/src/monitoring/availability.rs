//! Availability (the SLA percentage) of a host or service over a period, from its log of state
//! changes: how long it was in each state, how much of that was in scheduled downtime, and how
//! much time has no known state at all.
//!
//! # The rules
//!
//! - The state at the start of the period is the `initial` state, replaced by any change logged
//!   at or before the start; each change then holds until the next one or the end of the
//!   period. Changes after the end are ignored; the input need not be sorted.
//! - With no initial state, the time before the first change is *unknown* (the object was not
//!   monitored yet): it is reported separately, in no state, as Centreon's "undetermined".
//! - Downtime windows are counted apart: the "OK + downtime" percentage counts a problem inside a
//!   scheduled downtime as available (planned maintenance is not an outage), the plain one
//!   does not. Overlapping windows count once.
//! - Percentages are of the whole period; [`Availability::known_ok_percent`] leaves the unknown
//!   time out.
//!
//! The period is half-open, `[from, to)`, so consecutive periods (months) add up exactly.
//! Durations are [`chrono::Duration`]; the web layer formats them.

use super::host::HostState;
use super::ServiceState;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A state that counts as available or not.
pub trait AvailabilityState: Copy + Ord {
    /// Whether this state counts as available (OK for a service, UP for a host).
    fn is_ok(self) -> bool;
}

impl AvailabilityState for ServiceState {
    fn is_ok(self) -> bool {
        self == ServiceState::Ok
    }
}

impl AvailabilityState for HostState {
    fn is_ok(self) -> bool {
        self == HostState::Up
    }
}

/// One entry of the state-change log: from `at` on, the object was in `state`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct StateChange<S> {
    /// When the state began.
    pub at: DateTime<Utc>,
    /// The new state.
    pub state: S,
}

/// The time an object spent in each state over a period, computed by [`availability`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Availability<S: Ord> {
    /// Start of the period (included).
    pub from: DateTime<Utc>,
    /// End of the period (excluded).
    pub to: DateTime<Utc>,
    /// Time in each known state (states never seen are absent).
    pub by_state: BTreeMap<S, Duration>,
    /// Time with no known state.
    pub unknown: Duration,
    /// Time inside downtime windows, whatever the state.
    pub downtime: Duration,
    /// Time in a problem state inside a downtime window.
    pub problem_in_downtime: Duration,
}

impl<S: AvailabilityState> Availability<S> {
    /// The length of the period (zero if `to` is not after `from`).
    pub fn period(&self) -> Duration {
        (self.to - self.from).max(Duration::zero())
    }

    /// Time in the available state(s).
    pub fn ok_time(&self) -> Duration {
        self.by_state.iter().filter(|(s, _)| s.is_ok()).map(|(_, d)| *d).sum()
    }

    /// `duration` as a percentage of the period; `None` for an empty period.
    pub fn percent(&self, duration: Duration) -> Option<f64> {
        let period = self.period().num_milliseconds();
        (period > 0).then(|| duration.num_milliseconds() as f64 * 100.0 / period as f64)
    }

    /// The share of the period in `state`.
    pub fn state_percent(&self, state: S) -> Option<f64> {
        self.percent(self.by_state.get(&state).copied().unwrap_or_else(Duration::zero))
    }

    /// Availability: the share of the period in the OK (UP) state. Unknown time counts as not
    /// available.
    pub fn ok_percent(&self) -> Option<f64> {
        self.percent(self.ok_time())
    }

    /// Availability where a problem inside a scheduled downtime counts as available.
    pub fn ok_with_downtime_percent(&self) -> Option<f64> {
        self.percent(self.ok_time() + self.problem_in_downtime)
    }

    /// Availability over the time whose state is known (unknown time left out); `None` when
    /// nothing is known.
    pub fn known_ok_percent(&self) -> Option<f64> {
        let known = (self.period() - self.unknown).num_milliseconds();
        (known > 0).then(|| self.ok_time().num_milliseconds() as f64 * 100.0 / known as f64)
    }

    /// The share of the period with no known state.
    pub fn unknown_percent(&self) -> Option<f64> {
        self.percent(self.unknown)
    }
}

/// Computes the availability over `[from, to)` from the state at the start (`None`: unknown),
/// the state changes and the downtime windows `(start, end)` (see the module documentation).
pub fn availability<S: AvailabilityState>(
    initial: Option<S>,
    changes: &[StateChange<S>],
    downtimes: &[(DateTime<Utc>, DateTime<Utc>)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Availability<S> {
    let mut result = Availability {
        from,
        to,
        by_state: BTreeMap::new(),
        unknown: Duration::zero(),
        downtime: Duration::zero(),
        problem_in_downtime: Duration::zero(),
    };
    if to <= from {
        return result;
    }
    let windows = merged_windows(downtimes, from, to);
    result.downtime = windows.iter().map(|&(start, end)| end - start).sum();

    let mut sorted: Vec<StateChange<S>> = changes.iter().copied().filter(|c| c.at < to).collect();
    sorted.sort_by_key(|c| c.at);
    let mut state = initial;
    let mut cursor = from;
    for change in sorted {
        if change.at > cursor {
            result.add(state, cursor, change.at, &windows);
            cursor = change.at;
        }
        state = Some(change.state);
    }
    result.add(state, cursor, to, &windows);
    result
}

impl<S: AvailabilityState> Availability<S> {
    fn add(
        &mut self,
        state: Option<S>,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        windows: &[(DateTime<Utc>, DateTime<Utc>)],
    ) {
        let length = end - start;
        match state {
            None => self.unknown += length,
            Some(s) => {
                *self.by_state.entry(s).or_insert_with(Duration::zero) += length;
                if !s.is_ok() {
                    self.problem_in_downtime += overlap(windows, start, end);
                }
            }
        }
    }
}

/// The windows clipped to `[from, to)`, sorted, with overlapping or touching ones merged.
fn merged_windows(
    windows: &[(DateTime<Utc>, DateTime<Utc>)],
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
    let mut clipped: Vec<_> = windows.iter().map(|&(s, e)| (s.max(from), e.min(to))).filter(|(s, e)| s < e).collect();
    clipped.sort();
    let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(clipped.len());
    for (s, e) in clipped {
        match merged.last_mut() {
            Some(last) if s <= last.1 => last.1 = last.1.max(e),
            _ => merged.push((s, e)),
        }
    }
    merged
}

/// How much of `[start, end)` the merged windows cover.
fn overlap(windows: &[(DateTime<Utc>, DateTime<Utc>)], start: DateTime<Utc>, end: DateTime<Utc>) -> Duration {
    windows.iter().map(|&(s, e)| (e.min(end) - s.max(start)).max(Duration::zero())).sum()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use ServiceState::{Critical, Ok, Warning};

    fn t0() -> DateTime<Utc> {
        DateTime::parse_from_rfc3339("2026-01-01T00:00:00Z").unwrap().with_timezone(&Utc)
    }

    fn h(hours: i64) -> DateTime<Utc> {
        t0() + Duration::hours(hours)
    }

    fn ch<S>(hours: i64, state: S) -> StateChange<S> {
        StateChange { at: h(hours), state }
    }

    fn close(a: Option<f64>, b: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() < 1e-9)
    }

    #[test]
    fn a_month_with_an_outage_partly_in_downtime() {
        // January: 744 hours. CRITICAL for 3 hours from hour 100, one of them in a downtime;
        // WARNING for 2 hours from hour 300.
        let changes = [ch(100, Critical), ch(103, Ok), ch(300, Warning), ch(302, Ok)];
        let downtimes = [(h(102), h(104)), (h(500), h(501))];
        let a = availability(Some(Ok), &changes, &downtimes, h(0), h(744));
        assert_eq!(a.period(), Duration::hours(744));
        assert_eq!(
            a.by_state,
            BTreeMap::from([(Ok, Duration::hours(739)), (Warning, Duration::hours(2)), (Critical, Duration::hours(3))])
        );
        assert_eq!(a.unknown, Duration::zero());
        assert_eq!(a.downtime, Duration::hours(3));
        assert_eq!(a.problem_in_downtime, Duration::hours(1));
        assert!(close(a.ok_percent(), 739.0 / 744.0 * 100.0));
        assert!(close(a.ok_with_downtime_percent(), 740.0 / 744.0 * 100.0));
        assert!(close(a.state_percent(Critical), 3.0 / 744.0 * 100.0));
        assert!(close(a.state_percent(ServiceState::Unknown), 0.0));
        assert!(close(a.known_ok_percent(), 739.0 / 744.0 * 100.0));
    }

    #[test]
    fn unknown_before_the_first_state() {
        // Monitored from hour 6 of a 24-hour day, UP then DOWN for the last 2 hours.
        let changes = [ch(6, HostState::Up), ch(22, HostState::Down)];
        let a = availability(None, &changes, &[], h(0), h(24));
        assert_eq!(a.unknown, Duration::hours(6));
        assert_eq!(a.ok_time(), Duration::hours(16));
        assert!(close(a.unknown_percent(), 25.0));
        assert!(close(a.ok_percent(), 16.0 / 24.0 * 100.0));
        assert!(close(a.known_ok_percent(), 16.0 / 18.0 * 100.0));

        // Nothing known at all.
        let a = availability::<HostState>(None, &[], &[], h(0), h(24));
        assert_eq!(a.unknown, Duration::hours(24));
        assert_eq!(a.known_ok_percent(), None);
        assert!(close(a.ok_percent(), 0.0));
    }

    #[test]
    fn changes_outside_the_period_and_unsorted() {
        // A change before the period sets the initial state; one after the end is ignored.
        let changes = [ch(30, Ok), ch(-5, Critical), ch(10, Ok), ch(-10, Warning)];
        let a = availability(Some(Ok), &changes, &[], h(0), h(24));
        assert_eq!(a.by_state, BTreeMap::from([(Ok, Duration::hours(14)), (Critical, Duration::hours(10))]));
        // A change exactly at the start is the starting state; one exactly at the end is not counted.
        let a = availability(None, &[ch(0, Warning), ch(24, Critical)], &[], h(0), h(24));
        assert_eq!(a.by_state, BTreeMap::from([(Warning, Duration::hours(24))]));
        // Two changes at the same instant: the later in the log wins.
        let a = availability(Some(Ok), &[ch(12, Critical), ch(12, Warning)], &[], h(0), h(24));
        assert_eq!(a.by_state, BTreeMap::from([(Ok, Duration::hours(12)), (Warning, Duration::hours(12))]));
    }

    #[test]
    fn downtimes_clipped_and_merged() {
        let downtimes = [(h(-5), h(2)), (h(1), h(3)), (h(20), h(30)), (h(10), h(9))];
        let a = availability(Some(Critical), &[], &downtimes, h(0), h(24));
        assert_eq!(a.downtime, Duration::hours(3 + 4));
        assert_eq!(a.problem_in_downtime, Duration::hours(7));
        assert!(close(a.ok_percent(), 0.0));
        assert!(close(a.ok_with_downtime_percent(), 7.0 / 24.0 * 100.0));
    }

    #[test]
    fn empty_period() {
        let a = availability(Some(Ok), &[ch(1, Critical)], &[(h(0), h(5))], h(5), h(5));
        assert_eq!(a.period(), Duration::zero());
        assert!(a.by_state.is_empty());
        assert_eq!((a.ok_percent(), a.ok_with_downtime_percent(), a.known_ok_percent()), (None, None, None));
        let a = availability(Some(Ok), &[], &[], h(5), h(1));
        assert_eq!(a.period(), Duration::zero());
        assert_eq!(a.ok_percent(), None);
    }

    fn arb_state() -> impl Strategy<Value = ServiceState> {
        prop::sample::select(ServiceState::ALL.to_vec())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        /// Durations add up to the period, and every figure matches a second-by-second count.
        #[test]
        fn matches_a_second_by_second_count(
            initial in prop::option::of(arb_state()),
            changes in prop::collection::vec((-50i64..250, arb_state()), 0..12),
            downtimes in prop::collection::vec((-50i64..250, 0i64..80), 0..4),
            from in 0i64..50,
            len in 0i64..200,
        ) {
            let s = |x: i64| t0() + Duration::seconds(x);
            let log: Vec<StateChange<ServiceState>> =
                changes.iter().map(|&(at, state)| StateChange { at: s(at), state }).collect();
            let windows: Vec<_> = downtimes.iter().map(|&(start, l)| (s(start), s(start + l))).collect();
            let a = availability(initial, &log, &windows, s(from), s(from + len));

            let total: Duration = a.by_state.values().copied().sum::<Duration>() + a.unknown;
            prop_assert_eq!(total, Duration::seconds(len));
            prop_assert!(a.problem_in_downtime <= a.downtime && a.downtime <= a.period());

            // The same by brute force.
            let mut by_state: BTreeMap<ServiceState, Duration> = BTreeMap::new();
            let (mut unknown, mut downtime, mut problem_in_downtime) = (0, 0, 0);
            for second in from..from + len {
                let mut state = initial;
                let mut sorted = changes.clone();
                sorted.sort_by_key(|c| c.0);
                for &(at, st) in &sorted {
                    if at <= second {
                        state = Some(st);
                    }
                }
                let in_downtime = downtimes.iter().any(|&(start, l)| start <= second && second < start + l);
                downtime += i64::from(in_downtime);
                match state {
                    None => unknown += 1,
                    Some(st) => {
                        *by_state.entry(st).or_insert_with(Duration::zero) += Duration::seconds(1);
                        problem_in_downtime += i64::from(in_downtime && st.is_problem());
                    }
                }
            }
            prop_assert_eq!(&a.by_state, &by_state);
            prop_assert_eq!(a.unknown, Duration::seconds(unknown));
            prop_assert_eq!(a.downtime, Duration::seconds(downtime));
            prop_assert_eq!(a.problem_in_downtime, Duration::seconds(problem_in_downtime));
            if len > 0 {
                let ok = a.ok_percent().unwrap();
                let with_downtime = a.ok_with_downtime_percent().unwrap();
                prop_assert!((0.0..=100.0).contains(&ok) && ok <= with_downtime && with_downtime <= 100.0 + 1e-9);
            }
        }
    }
}
