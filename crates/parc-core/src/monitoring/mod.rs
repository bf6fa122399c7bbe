//! Monitoring's pure rules (Nagios/Centreon-like): service states, the threshold range syntax
//! and the grammar of plugin output.
//!
//! # The model
//!
//! A check runs a Nagios-compatible plugin (the runner lives in `parc-monitor`). The plugin
//! answers with an exit code, read by [`ServiceState::from_exit_code`], and a text, read by
//! [`parse_output`] into a [`PluginOutput`]: a one-line summary, optional long output and
//! performance data ([`PerfData`]: a labelled value with its unit, warning and critical
//! [`Range`]s, minimum and maximum). Raw process output is first made into bounded text by
//! [`truncate_output`].
//!
//! Thresholds follow the monitoring-plugins guidelines: a [`Range`] (`10`, `10:`, `~:10`,
//! `10:20`, `@10:20`) says which values raise an alert, and [`Thresholds`] turns a value into a
//! state with its warning and critical ranges (critical wins).
//!
//! A check's results then move its [`CheckState`] (module [`state`]): SOFT and HARD states,
//! retries up to `max_attempts`, notifications on hard changes and flap detection.
//!
//! Everything here is pure: no process, no clock, no storage. Malformed plugin output never
//! panics; what cannot be read is reported next to what could.

pub mod availability;
pub mod check;
pub mod dependency;
pub mod downtime;
pub mod headline;
pub mod host;
pub mod notify;
pub mod perfdata;
pub mod state;
pub mod templates;
pub mod threshold;
pub mod timeperiod;

use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::fmt;
use std::str::FromStr;

pub use perfdata::{
    parse_output, truncate_output, PerfData, PluginOutput, Uom, MAX_PERFDATA_ERRORS, TRUNCATION_MARKER,
};
pub use state::{
    CheckSettings, CheckState, FlapEvent, FlapHistory, FlapThresholds, NotificationKind, StateType, Transition,
    FLAP_HISTORY_LEN,
};
pub use threshold::{Range, ThresholdError, Thresholds};

/// The state of a service check, as a Nagios plugin reports it through its exit code.
///
/// The order ([`Ord`]) is by severity, the way Centreon sorts problems:
/// `OK < WARNING < UNKNOWN < CRITICAL`. An unknown state (the check itself failed: plugin
/// missing, timeout, bad arguments) is worse than a warning, because nobody knows whether the
/// service works, but better than a critical, which is a known outage. Nagios' own numeric
/// order (0, 1, 2, 3) would rank UNKNOWN above CRITICAL; use [`ServiceState::exit_code`] for
/// that. So `a.max(b)` is the worse of two states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum ServiceState {
    /// Exit code 0: the service works as expected.
    Ok,
    /// Exit code 1: a warning threshold was crossed, or the service degraded.
    Warning,
    /// Exit code 2: a critical threshold was crossed, or the service is down.
    Critical,
    /// Exit code 3 (or any other code): the check could not tell.
    Unknown,
}

impl ServiceState {
    /// Every state, in severity order.
    pub const ALL: &'static [ServiceState] =
        &[ServiceState::Ok, ServiceState::Warning, ServiceState::Unknown, ServiceState::Critical];

    /// The state a plugin's exit code means: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN. Any other
    /// code (a crash, 126/127 from the shell, 137 after SIGKILL, 255, a negative value) is
    /// UNKNOWN, as in Nagios.
    pub fn from_exit_code(code: i32) -> ServiceState {
        match code {
            0 => ServiceState::Ok,
            1 => ServiceState::Warning,
            2 => ServiceState::Critical,
            _ => ServiceState::Unknown,
        }
    }

    /// The plugin exit code of this state (0..=3).
    pub fn exit_code(self) -> i32 {
        match self {
            ServiceState::Ok => 0,
            ServiceState::Warning => 1,
            ServiceState::Critical => 2,
            ServiceState::Unknown => 3,
        }
    }

    /// The stable name used in storage and the API: `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            ServiceState::Ok => "OK",
            ServiceState::Warning => "WARNING",
            ServiceState::Critical => "CRITICAL",
            ServiceState::Unknown => "UNKNOWN",
        }
    }

    /// The rank in the severity order: 0 OK, 1 WARNING, 2 UNKNOWN, 3 CRITICAL.
    pub fn severity(self) -> u8 {
        match self {
            ServiceState::Ok => 0,
            ServiceState::Warning => 1,
            ServiceState::Unknown => 2,
            ServiceState::Critical => 3,
        }
    }

    /// Anything but OK.
    pub fn is_problem(self) -> bool {
        self != ServiceState::Ok
    }
}

impl Ord for ServiceState {
    fn cmp(&self, other: &Self) -> Ordering {
        self.severity().cmp(&other.severity())
    }
}

impl PartialOrd for ServiceState {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for ServiceState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text that is not one of `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown service state '{0}' (expected OK, WARNING, CRITICAL or UNKNOWN)")]
pub struct ParseServiceStateError(pub String);

impl FromStr for ServiceState {
    type Err = ParseServiceStateError;

    /// Reads the exact upper-case names of [`ServiceState::as_str`]; nothing else, so a stored
    /// value has one spelling.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "OK" => Ok(ServiceState::Ok),
            "WARNING" => Ok(ServiceState::Warning),
            "CRITICAL" => Ok(ServiceState::Critical),
            "UNKNOWN" => Ok(ServiceState::Unknown),
            _ => Err(ParseServiceStateError(s.chars().take(40).collect())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes() {
        let cases = [
            (0, ServiceState::Ok),
            (1, ServiceState::Warning),
            (2, ServiceState::Critical),
            (3, ServiceState::Unknown),
            (4, ServiceState::Unknown),
            (-1, ServiceState::Unknown),
            (126, ServiceState::Unknown),
            (127, ServiceState::Unknown),
            (137, ServiceState::Unknown),
            (255, ServiceState::Unknown),
            (i32::MAX, ServiceState::Unknown),
            (i32::MIN, ServiceState::Unknown),
        ];
        for (code, state) in cases {
            assert_eq!(ServiceState::from_exit_code(code), state, "exit code {code}");
        }
        for &state in ServiceState::ALL {
            assert_eq!(ServiceState::from_exit_code(state.exit_code()), state);
        }
    }

    #[test]
    fn names_round_trip() {
        for &state in ServiceState::ALL {
            assert_eq!(state.as_str().parse::<ServiceState>(), Ok(state));
            assert_eq!(state.to_string(), state.as_str());
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert_eq!(serde_json::from_str::<ServiceState>(&json).unwrap(), state);
        }
        for bad in ["", "ok", "Ok", "WARN", "CRIT", " OK", "PENDING"] {
            assert!(bad.parse::<ServiceState>().is_err(), "{bad:?}");
        }
        let err = "PENDING".parse::<ServiceState>().unwrap_err();
        assert_eq!(err.to_string(), "unknown service state 'PENDING' (expected OK, WARNING, CRITICAL or UNKNOWN)");
    }

    #[test]
    fn severity_order() {
        use ServiceState::*;
        assert!(Ok < Warning && Warning < Unknown && Unknown < Critical);
        let mut states = vec![Critical, Ok, Unknown, Warning];
        states.sort();
        assert_eq!(states, ServiceState::ALL);
        assert_eq!(Warning.max(Unknown), Unknown);
        assert_eq!(Unknown.max(Critical), Critical);
        assert_eq!([Ok, Warning, Ok].into_iter().max(), Some(Warning));
        assert!(!Ok.is_problem() && Warning.is_problem() && Unknown.is_problem() && Critical.is_problem());
    }
}
