//! Host states and the parent graph: UP, DOWN or UNREACHABLE, as Nagios decides them.
//!
//! # The rules
//!
//! A host is checked like a service (a ping or a plugin), and the result is read as Nagios does
//! with its default `use_aggressive_host_checking=0` (`get_host_check_return_code`):
//!
//! | Check result       | Host                                   |
//! |--------------------|----------------------------------------|
//! | OK, WARNING        | UP (a warning ping still answers)      |
//! | CRITICAL, UNKNOWN  | failed: DOWN or UNREACHABLE, see below |
//!
//! A failed host is DOWN when it has no parent, or when at least one of its parents is UP: the
//! path to it works, so the host itself is the problem. It is UNREACHABLE when every parent is
//! DOWN or UNREACHABLE: the monitoring server cannot tell, because something in between failed
//! (Nagios `determine_host_reachability`). So when a switch fails, the switch is DOWN and the
//! servers behind it are UNREACHABLE: only the root cause is notified.
//!
//! A host's SOFT/HARD tracking reuses [`CheckState`](super::CheckState) through
//! [`HostState::to_service_state`] and [`HostState::from_service_state`]:
//! UP ↔ OK, DOWN ↔ CRITICAL, UNREACHABLE ↔ UNKNOWN.
//!
//! Parents form a graph that must not loop (a host cannot be behind itself);
//! [`parent_cycle`] finds a loop so that saving such a parent is refused, and [`host_states`]
//! computes the state of every host from the top of the graph down.

use super::ServiceState;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

/// The state of a host.
///
/// The order ([`Ord`]) is by severity, to sort problems: `UP < UNREACHABLE < DOWN`. A DOWN host
/// is a known outage and the root cause; an UNREACHABLE one is hidden behind it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HostState {
    /// The host answers its check.
    Up,
    /// The host fails its check while the path to it works (or it has no parent).
    Down,
    /// The host fails its check and every one of its parents is DOWN or UNREACHABLE.
    Unreachable,
}

impl HostState {
    /// Every state, in severity order.
    pub const ALL: &'static [HostState] = &[HostState::Up, HostState::Unreachable, HostState::Down];

    /// The stable name used in storage and the API: `UP`, `DOWN`, `UNREACHABLE`.
    pub fn as_str(self) -> &'static str {
        match self {
            HostState::Up => "UP",
            HostState::Down => "DOWN",
            HostState::Unreachable => "UNREACHABLE",
        }
    }

    /// The rank in the severity order: 0 UP, 1 UNREACHABLE, 2 DOWN.
    pub fn severity(self) -> u8 {
        match self {
            HostState::Up => 0,
            HostState::Unreachable => 1,
            HostState::Down => 2,
        }
    }

    /// Anything but UP.
    pub fn is_problem(self) -> bool {
        self != HostState::Up
    }

    /// The service state that stands for this host state in a [`CheckState`](super::CheckState):
    /// UP → OK, DOWN → CRITICAL, UNREACHABLE → UNKNOWN. Feeding these to `CheckState::apply`
    /// gives hosts the same SOFT/HARD rules as services; a change between DOWN and UNREACHABLE
    /// is then a hard state change, as in Nagios.
    pub fn to_service_state(self) -> ServiceState {
        match self {
            HostState::Up => ServiceState::Ok,
            HostState::Down => ServiceState::Critical,
            HostState::Unreachable => ServiceState::Unknown,
        }
    }

    /// The inverse of [`HostState::to_service_state`]: OK → UP, CRITICAL → DOWN,
    /// UNKNOWN → UNREACHABLE. WARNING, which `to_service_state` never produces, reads as UP,
    /// like a WARNING host check result.
    pub fn from_service_state(state: ServiceState) -> HostState {
        match state {
            ServiceState::Ok | ServiceState::Warning => HostState::Up,
            ServiceState::Critical => HostState::Down,
            ServiceState::Unknown => HostState::Unreachable,
        }
    }
}

impl Ord for HostState {
    fn cmp(&self, other: &Self) -> Ordering {
        self.severity().cmp(&other.severity())
    }
}

impl PartialOrd for HostState {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for HostState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A text that is not one of `UP`, `DOWN`, `UNREACHABLE`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown host state '{0}' (expected UP, DOWN or UNREACHABLE)")]
pub struct ParseHostStateError(pub String);

impl FromStr for HostState {
    type Err = ParseHostStateError;

    /// Reads the exact upper-case names of [`HostState::as_str`].
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "UP" => Ok(HostState::Up),
            "DOWN" => Ok(HostState::Down),
            "UNREACHABLE" => Ok(HostState::Unreachable),
            _ => Err(ParseHostStateError(s.chars().take(40).collect())),
        }
    }
}

/// Whether a host check result means the host failed: CRITICAL and UNKNOWN do; OK and WARNING
/// do not (Nagios without aggressive host checking).
pub fn check_failed(result: ServiceState) -> bool {
    matches!(result, ServiceState::Critical | ServiceState::Unknown)
}

/// The state of a host from its own check result and the current states of its parents.
///
/// A result that is not a failure ([`check_failed`]) is UP. A failure is DOWN when there is no
/// parent or at least one parent is UP, UNREACHABLE when every parent is DOWN or UNREACHABLE.
pub fn host_state(result: ServiceState, parents: &[HostState]) -> HostState {
    if !check_failed(result) {
        HostState::Up
    } else if parents.is_empty() || parents.contains(&HostState::Up) {
        HostState::Down
    } else {
        HostState::Unreachable
    }
}

/// A loop in a graph of `(child, parent)` edges, if there is one.
///
/// The loop is returned as the hosts along it, each one the parent of the one before, with the
/// first host repeated at the end: `[1, 2, 3, 1]` means 2 is a parent of 1, 3 of 2 and 1 of 3.
/// A host that is its own parent gives `[h, h]`. The search is deterministic (smallest ids
/// first), so the same graph always reports the same loop. Duplicate edges are harmless.
pub fn parent_cycle(edges: &[(i64, i64)]) -> Option<Vec<i64>> {
    find_cycle(edges)
}

/// The cycle search shared with service dependencies: an iterative depth-first search (no
/// recursion, so a long chain cannot overflow the stack).
pub(crate) fn find_cycle(edges: &[(i64, i64)]) -> Option<Vec<i64>> {
    let mut next: BTreeMap<i64, BTreeSet<i64>> = BTreeMap::new();
    for &(from, to) in edges {
        next.entry(from).or_default().insert(to);
        next.entry(to).or_default();
    }
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark: BTreeMap<i64, Mark> = next.keys().map(|&k| (k, Mark::New)).collect();
    for &root in next.keys() {
        if mark[&root] != Mark::New {
            continue;
        }
        // The current path, each node with the iterator over what it points to.
        let mut path: Vec<(i64, std::collections::btree_set::Iter<'_, i64>)> = vec![(root, next[&root].iter())];
        mark.insert(root, Mark::OnPath);
        while let Some((node, iter)) = path.last_mut() {
            let node = *node;
            match iter.next() {
                Some(&to) => match mark[&to] {
                    Mark::New => {
                        mark.insert(to, Mark::OnPath);
                        path.push((to, next[&to].iter()));
                    }
                    Mark::OnPath => {
                        let start = path.iter().position(|(n, _)| *n == to).unwrap_or(0);
                        let mut cycle: Vec<i64> = path[start..].iter().map(|(n, _)| *n).collect();
                        cycle.push(to);
                        return Some(cycle);
                    }
                    Mark::Done => {}
                },
                None => {
                    mark.insert(node, Mark::Done);
                    path.pop();
                }
            }
        }
    }
    None
}

/// One host for [`host_states`]: its id, its parents and whether its own check failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostCheck {
    /// The host.
    pub id: i64,
    /// Its parent hosts (the switches or routers in front of it).
    pub parents: Vec<i64>,
    /// Its own check failed (see [`check_failed`]).
    pub failed: bool,
}

/// The parent graph loops; the hosts along the loop, as [`parent_cycle`] gives them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the host parents form a loop: {}", format_cycle(.0))]
pub struct ParentCycleError(pub Vec<i64>);

fn format_cycle(ids: &[i64]) -> String {
    ids.iter().map(i64::to_string).collect::<Vec<_>>().join(" -> ")
}

/// The state of every host, from the top of the parent graph down.
///
/// Parents are decided before their children, so a failure propagates: in a chain
/// router ← switch ← server where all three fail, the router is DOWN and the switch and the
/// server UNREACHABLE (only the top-most failed host is DOWN). A host whose own check passes is
/// UP whatever its parents (it answered, maybe through another path). A parent id that is not
/// in `hosts` counts as UP, so that a missing record never hides a failure. The parent graph
/// must not loop; if it does, the loop is returned.
pub fn host_states(hosts: &[HostCheck]) -> Result<BTreeMap<i64, HostState>, ParentCycleError> {
    let edges: Vec<(i64, i64)> = hosts.iter().flat_map(|h| h.parents.iter().map(move |&p| (h.id, p))).collect();
    if let Some(cycle) = parent_cycle(&edges) {
        return Err(ParentCycleError(cycle));
    }
    let by_id: BTreeMap<i64, &HostCheck> = hosts.iter().map(|h| (h.id, h)).collect();
    let mut states: BTreeMap<i64, HostState> = BTreeMap::new();
    for host in hosts {
        // Depth-first, parents before children; no loop, so this ends.
        let mut stack = vec![host.id];
        while let Some(&id) = stack.last() {
            if states.contains_key(&id) {
                stack.pop();
                continue;
            }
            let Some(h) = by_id.get(&id) else {
                stack.pop();
                continue;
            };
            let pending: Vec<i64> =
                h.parents.iter().copied().filter(|p| by_id.contains_key(p) && !states.contains_key(p)).collect();
            if !pending.is_empty() {
                stack.extend(pending);
                continue;
            }
            let parents: Vec<HostState> =
                h.parents.iter().map(|p| states.get(p).copied().unwrap_or(HostState::Up)).collect();
            let result = if h.failed { ServiceState::Critical } else { ServiceState::Ok };
            states.insert(id, host_state(result, &parents));
            stack.pop();
        }
    }
    Ok(states)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use HostState::{Down, Unreachable, Up};

    #[test]
    fn names_order_and_mapping() {
        for &state in HostState::ALL {
            assert_eq!(state.as_str().parse::<HostState>(), Ok(state));
            assert_eq!(state.to_string(), state.as_str());
            let json = serde_json::to_string(&state).unwrap();
            assert_eq!(json, format!("\"{}\"", state.as_str()));
            assert_eq!(serde_json::from_str::<HostState>(&json).unwrap(), state);
            assert_eq!(HostState::from_service_state(state.to_service_state()), state);
        }
        for bad in ["", "up", "Down", "PENDING", "OK"] {
            assert!(bad.parse::<HostState>().is_err(), "{bad:?}");
        }
        let mut states = vec![Down, Up, Unreachable];
        states.sort();
        assert_eq!(states, HostState::ALL);
        assert_eq!(Unreachable.max(Down), Down);
        assert!(!Up.is_problem() && Down.is_problem() && Unreachable.is_problem());
        assert_eq!(Up.to_service_state(), ServiceState::Ok);
        assert_eq!(Down.to_service_state(), ServiceState::Critical);
        assert_eq!(Unreachable.to_service_state(), ServiceState::Unknown);
        assert_eq!(HostState::from_service_state(ServiceState::Warning), Up);
    }

    #[test]
    fn state_from_result_and_parents() {
        use ServiceState::{Critical, Ok, Unknown, Warning};
        let cases: &[(ServiceState, &[HostState], HostState)] = &[
            (Ok, &[], Up),
            (Warning, &[], Up),
            (Ok, &[Down], Up),
            (Warning, &[Unreachable, Down], Up),
            (Critical, &[], Down),
            (Unknown, &[], Down),
            (Critical, &[Up], Down),
            // Two parents, one up: the path works through it, the host itself is down.
            (Critical, &[Down, Up], Down),
            (Critical, &[Unreachable, Up], Down),
            (Critical, &[Down], Unreachable),
            (Unknown, &[Unreachable], Unreachable),
            (Critical, &[Down, Unreachable], Unreachable),
        ];
        for &(result, parents, expected) in cases {
            assert_eq!(host_state(result, parents), expected, "{result} with parents {parents:?}");
        }
    }

    fn h(id: i64, parents: &[i64], failed: bool) -> HostCheck {
        HostCheck { id, parents: parents.to_vec(), failed }
    }

    #[test]
    fn switch_down_hides_the_servers_behind_it() {
        // 1 = router (up), 2 = switch (failed), 3 and 4 = servers behind the switch (failed),
        // 5 = server on the router (up).
        let hosts = [h(3, &[2], true), h(4, &[2], true), h(2, &[1], true), h(1, &[], false), h(5, &[1], false)];
        let states = host_states(&hosts).unwrap();
        let expected = BTreeMap::from([(1, Up), (2, Down), (3, Unreachable), (4, Unreachable), (5, Up)]);
        assert_eq!(states, expected);
    }

    #[test]
    fn chains_and_redundant_paths() {
        // Chain 1 <- 2 <- 3 <- 4, all failed: only the top is DOWN.
        let chain = [h(4, &[3], true), h(3, &[2], true), h(2, &[1], true), h(1, &[], true)];
        let states = host_states(&chain).unwrap();
        assert_eq!(states, BTreeMap::from([(1, Down), (2, Unreachable), (3, Unreachable), (4, Unreachable)]));

        // The middle of the chain answers: the failure below it is a real DOWN.
        let chain = [h(4, &[3], true), h(3, &[2], false), h(2, &[1], true), h(1, &[], true)];
        let states = host_states(&chain).unwrap();
        assert_eq!(states, BTreeMap::from([(1, Down), (2, Unreachable), (3, Up), (4, Down)]));

        // Two uplinks (switches 1 and 2); one is up, so the failed server is DOWN.
        let redundant = [h(1, &[], true), h(2, &[], false), h(3, &[1, 2], true)];
        assert_eq!(host_states(&redundant).unwrap()[&3], Down);
        // Both uplinks down: UNREACHABLE.
        let redundant = [h(1, &[], true), h(2, &[], true), h(3, &[1, 2], true)];
        assert_eq!(host_states(&redundant).unwrap()[&3], Unreachable);

        // A parent missing from the list counts as UP.
        assert_eq!(host_states(&[h(7, &[99], true)]).unwrap(), BTreeMap::from([(7, Down)]));
        assert_eq!(host_states(&[]).unwrap(), BTreeMap::new());
    }

    #[test]
    fn cycles_are_found() {
        type Edges = &'static [(i64, i64)];
        let cases: &[(Edges, Option<&[i64]>)] = &[
            (&[], None),
            (&[(1, 2), (2, 3)], None),
            (&[(1, 2), (1, 3), (2, 4), (3, 4)], None), // a diamond is not a loop
            (&[(1, 1)], Some(&[1, 1])),
            (&[(1, 2), (2, 1)], Some(&[1, 2, 1])),
            (&[(1, 2), (2, 3), (3, 1)], Some(&[1, 2, 3, 1])),
            (&[(10, 1), (1, 2), (2, 3), (3, 2)], Some(&[2, 3, 2])),
            (&[(5, 6), (6, 7), (7, 5), (1, 2)], Some(&[5, 6, 7, 5])),
        ];
        for &(edges, expected) in cases {
            assert_eq!(parent_cycle(edges).as_deref(), expected, "{edges:?}");
        }
        let err = host_states(&[h(1, &[2], true), h(2, &[1], false)]).unwrap_err();
        assert_eq!(err, ParentCycleError(vec![1, 2, 1]));
        assert_eq!(err.to_string(), "the host parents form a loop: 1 -> 2 -> 1");

        // A long chain does not overflow the stack.
        let long: Vec<(i64, i64)> = (0..100_000).map(|i| (i, i + 1)).collect();
        assert_eq!(parent_cycle(&long), None);
        let mut looped = long.clone();
        looped.push((100_000, 0));
        assert_eq!(parent_cycle(&looped).map(|c| c.len()), Some(100_002));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// On any graph without a loop (parents have smaller ids), every host gets a state that
        /// follows `host_state` from its parents' states; a reported loop is a real loop.
        #[test]
        fn states_follow_the_rule(
            spec in prop::collection::vec((prop::collection::vec(0usize..20, 0..3), any::<bool>()), 1..20),
            extra in prop::collection::vec((0i64..20, 0i64..20), 0..4),
        ) {
            let hosts: Vec<HostCheck> = spec
                .iter()
                .enumerate()
                .map(|(i, (parents, failed))| {
                    let parents = parents.iter().filter(|&&p| p < i).map(|&p| p as i64).collect();
                    HostCheck { id: i as i64, parents, failed: *failed }
                })
                .collect();
            let states = host_states(&hosts).unwrap();
            prop_assert_eq!(states.len(), hosts.len());
            for host in &hosts {
                let parents: Vec<HostState> = host.parents.iter().map(|p| states[p]).collect();
                let result = if host.failed { ServiceState::Critical } else { ServiceState::Ok };
                prop_assert_eq!(states[&host.id], host_state(result, &parents));
            }

            let mut edges: Vec<(i64, i64)> =
                hosts.iter().flat_map(|h| h.parents.iter().map(move |&p| (h.id, p))).collect();
            edges.extend(extra);
            if let Some(cycle) = parent_cycle(&edges) {
                prop_assert!(cycle.len() >= 2);
                prop_assert_eq!(cycle.first(), cycle.last());
                for pair in cycle.windows(2) {
                    prop_assert!(edges.contains(&(pair[0], pair[1])));
                }
            } else {
                prop_assert!(host_states(&hosts).is_ok());
            }
        }
    }
}
