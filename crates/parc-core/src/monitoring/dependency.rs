//! Service dependencies (Nagios `servicedependency`): when a master service fails, the services
//! that depend on it stay quiet.
//!
//! # The rules
//!
//! A dependent service (say "application métier") depends on master services (say "base de
//! données"). If a master is in one of the dependency's failure states, the dependent's
//! notifications are suppressed, and, if [`DependencyCriteria::suppress_execution`] is set, its
//! checks are skipped too (Nagios' notification and execution failure criteria, with the
//! same state list for both). Any single failed master is enough.
//!
//! Only HARD master states count: a master that is still confirming a problem (SOFT) does not
//! silence anything yet. Nagios uses the master's last hard state in that case; callers who
//! want exactly that pass `(last_hard_state, Hard)`.
//!
//! Dependencies must not loop; [`dependency_cycle`] finds a loop so that saving it is refused.

use super::{ServiceState, StateType};
use serde::{Deserialize, Serialize};

/// When a dependency counts as failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DependencyCriteria {
    /// The master states that count as failed.
    pub failure_states: Vec<ServiceState>,
    /// Also skip the dependent's checks while the dependency is failed (not only its
    /// notifications).
    pub suppress_execution: bool,
}

impl Default for DependencyCriteria {
    /// Failed when a master is CRITICAL or UNKNOWN; notifications only.
    fn default() -> Self {
        DependencyCriteria {
            failure_states: vec![ServiceState::Critical, ServiceState::Unknown],
            suppress_execution: false,
        }
    }
}

/// Whether the dependency is failed: at least one master is HARD in one of the failure states.
/// The dependent's notifications are then held.
pub fn dependency_failed(master_states: &[(ServiceState, StateType)], criteria: &DependencyCriteria) -> bool {
    master_states
        .iter()
        .any(|&(state, state_type)| state_type == StateType::Hard && criteria.failure_states.contains(&state))
}

/// Whether the dependent's checks should be skipped: the dependency is failed and the criteria
/// ask for execution to be suppressed.
pub fn execution_suppressed(master_states: &[(ServiceState, StateType)], criteria: &DependencyCriteria) -> bool {
    criteria.suppress_execution && dependency_failed(master_states, criteria)
}

/// A loop in `(dependent, master)` edges, reported like
/// [`parent_cycle`](super::host::parent_cycle): the services along it, each the master of the
/// one before, the first repeated at the end.
pub fn dependency_cycle(edges: &[(i64, i64)]) -> Option<Vec<i64>> {
    super::host::find_cycle(edges)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ServiceState::{Critical, Ok, Unknown, Warning};
    use StateType::{Hard, Soft};

    #[test]
    fn failure_criteria() {
        let default = DependencyCriteria::default();
        let with_warning =
            DependencyCriteria { failure_states: vec![Warning, Critical, Unknown], suppress_execution: true };
        // (masters, failed with the default criteria, failed with WARNING too)
        type Masters = &'static [(ServiceState, StateType)];
        let cases: &[(Masters, bool, bool)] = &[
            (&[], false, false),
            (&[(Ok, Hard)], false, false),
            (&[(Critical, Hard)], true, true),
            (&[(Unknown, Hard)], true, true),
            (&[(Warning, Hard)], false, true),
            // SOFT master states do not count.
            (&[(Critical, Soft)], false, false),
            (&[(Warning, Soft)], false, false),
            // Any one failed master is enough.
            (&[(Ok, Hard), (Critical, Hard)], true, true),
            (&[(Ok, Hard), (Critical, Soft), (Warning, Hard)], false, true),
        ];
        for &(masters, failed_default, failed_warning) in cases {
            assert_eq!(dependency_failed(masters, &default), failed_default, "{masters:?}");
            assert_eq!(dependency_failed(masters, &with_warning), failed_warning, "{masters:?}");
            assert!(!execution_suppressed(masters, &default), "{masters:?}");
            assert_eq!(execution_suppressed(masters, &with_warning), failed_warning, "{masters:?}");
        }
        let none = DependencyCriteria { failure_states: vec![], suppress_execution: true };
        assert!(!dependency_failed(&[(Critical, Hard)], &none));
    }

    #[test]
    fn cycles() {
        assert_eq!(dependency_cycle(&[(1, 2), (2, 3), (1, 3)]), None);
        assert_eq!(dependency_cycle(&[(1, 2), (2, 3), (3, 1)]), Some(vec![1, 2, 3, 1]));
        assert_eq!(dependency_cycle(&[(4, 4)]), Some(vec![4, 4]));
    }

    #[test]
    fn criteria_as_json() {
        let json = serde_json::to_value(DependencyCriteria::default()).unwrap();
        assert_eq!(json, serde_json::json!({"failure_states": ["CRITICAL", "UNKNOWN"], "suppress_execution": false}));
    }
}
