//! Ticket types and the status lifecycle (GLPI's: new, assigned, planned, pending, solved, closed).

use crate::assets::string_enum;
use crate::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

string_enum!(
    /// What a ticket asks for.
    TicketType {
        /// Something is broken or degraded (an unplanned interruption).
        Incident = "incident",
        /// A user asks for something new (an access, an equipment, an information).
        Request = "request",
    }
);

string_enum!(
    /// Where a ticket is in its life. See [`TicketStatus::allowed_next`] for the lifecycle.
    TicketStatus {
        /// Opened, nobody assigned yet.
        New = "new",
        /// At least one technician or group is in charge.
        Assigned = "assigned",
        /// Work is scheduled (a planned task).
        Planned = "planned",
        /// Waiting for the requester or a third party: the resolution clock is paused.
        Pending = "pending",
        /// A solution was proposed; the requester may accept (closed) or refuse (reopened).
        Solved = "solved",
        /// Final: the solution was accepted or the ticket was closed automatically.
        Closed = "closed",
    }
);

impl TicketStatus {
    /// The status of a newly opened ticket.
    pub const INITIAL: TicketStatus = TicketStatus::New;

    /// The statuses this one may move to (never itself). `Closed` is final: empty.
    ///
    /// - new -> assigned | planned | pending | solved
    /// - assigned -> new (unassigned) | planned | pending | solved
    /// - planned -> assigned | pending | solved
    /// - pending -> new | assigned | planned | solved
    /// - solved -> closed (accepted / auto-close) | new | assigned (solution refused)
    /// - closed -> nothing
    pub fn allowed_next(self) -> &'static [TicketStatus] {
        use TicketStatus::*;
        match self {
            New => &[Assigned, Planned, Pending, Solved],
            Assigned => &[New, Planned, Pending, Solved],
            Planned => &[Assigned, Pending, Solved],
            Pending => &[New, Assigned, Planned, Solved],
            Solved => &[Closed, New, Assigned],
            Closed => &[],
        }
    }

    /// Whether `self -> to` is an allowed transition. Staying in the same status is not one.
    pub fn can_move_to(self, to: TicketStatus) -> bool {
        self.allowed_next().contains(&to)
    }

    /// Still to be dealt with: neither solved nor closed.
    pub fn is_open(self) -> bool {
        !matches!(self, TicketStatus::Solved | TicketStatus::Closed)
    }

    /// The SLA resolution clock is stopped (pending).
    pub fn is_paused(self) -> bool {
        self == TicketStatus::Pending
    }

    /// No transition leaves this status (closed).
    pub fn is_final(self) -> bool {
        self.allowed_next().is_empty()
    }

    /// The status a solved ticket returns to when its solution is refused: `Assigned` if
    /// someone (technician or group) is still assigned, else `New`.
    pub fn reopened(has_assignee: bool) -> TicketStatus {
        if has_assignee {
            TicketStatus::Assigned
        } else {
            TicketStatus::New
        }
    }

    /// The automatic status change when the assignees of a ticket change: a `New` ticket that
    /// gets an assignee becomes `Assigned`, an `Assigned` ticket that loses its last one goes back
    /// to `New`; every other status is kept.
    pub fn after_assignment_change(self, has_assignee: bool) -> TicketStatus {
        match (self, has_assignee) {
            (TicketStatus::New, true) => TicketStatus::Assigned,
            (TicketStatus::Assigned, false) => TicketStatus::New,
            (s, _) => s,
        }
    }
}

/// A refused status change.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TransitionError {
    /// The ticket already has this status.
    #[error("the ticket is already '{0}'")]
    Unchanged(TicketStatus),
    /// The lifecycle does not allow this move.
    #[error("a ticket cannot go from '{from}' to '{to}'")]
    NotAllowed { from: TicketStatus, to: TicketStatus },
}

impl TransitionError {
    /// Stable error code (catalogue key `err.<code>`): `status_unchanged` or `status_transition`.
    pub fn code(&self) -> &'static str {
        match self {
            TransitionError::Unchanged(_) => "status_unchanged",
            TransitionError::NotAllowed { .. } => "status_transition",
        }
    }
}

impl From<TransitionError> for ValidationErrors {
    /// A per-field error on the field `status`.
    fn from(e: TransitionError) -> Self {
        ValidationErrors::single("status", e.code(), e.to_string())
    }
}

/// `Ok(())` when `from -> to` is allowed by the lifecycle, else why not.
pub fn check_transition(from: TicketStatus, to: TicketStatus) -> Result<(), TransitionError> {
    if from == to {
        Err(TransitionError::Unchanged(from))
    } else if from.can_move_to(to) {
        Ok(())
    } else {
        Err(TransitionError::NotAllowed { from, to })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TicketStatus::*;

    #[test]
    fn names_round_trip() {
        for s in TicketStatus::ALL {
            assert_eq!(s.as_str().parse::<TicketStatus>().unwrap(), *s);
            assert_eq!(serde_json::to_string(s).unwrap(), format!("\"{}\"", s.as_str()));
        }
        for t in TicketType::ALL {
            assert_eq!(t.as_str().parse::<TicketType>().unwrap(), *t);
        }
        assert_eq!(serde_json::from_str::<TicketStatus>("\"pending\"").unwrap(), Pending);
        assert!("waiting".parse::<TicketStatus>().is_err());
        assert_eq!(TicketType::ALL.len(), 2);
        assert_eq!(TicketStatus::INITIAL, New);
    }

    #[test]
    fn full_transition_table() {
        // Every (from, to) pair of the lifecycle, spelled out.
        let allowed: &[(TicketStatus, TicketStatus)] = &[
            (New, Assigned),
            (New, Planned),
            (New, Pending),
            (New, Solved),
            (Assigned, New),
            (Assigned, Planned),
            (Assigned, Pending),
            (Assigned, Solved),
            (Planned, Assigned),
            (Planned, Pending),
            (Planned, Solved),
            (Pending, New),
            (Pending, Assigned),
            (Pending, Planned),
            (Pending, Solved),
            (Solved, Closed),
            (Solved, New),
            (Solved, Assigned),
        ];
        for &from in TicketStatus::ALL {
            for &to in TicketStatus::ALL {
                let expected = allowed.contains(&(from, to));
                assert_eq!(from.can_move_to(to), expected, "{from} -> {to}");
                assert_eq!(check_transition(from, to).is_ok(), expected, "{from} -> {to}");
            }
        }
    }

    #[test]
    fn same_status_is_not_a_transition() {
        for &s in TicketStatus::ALL {
            assert!(!s.can_move_to(s));
            assert!(!s.allowed_next().contains(&s));
            assert_eq!(check_transition(s, s), Err(TransitionError::Unchanged(s)));
        }
    }

    #[test]
    fn closed_is_final_and_only_closed() {
        for &s in TicketStatus::ALL {
            assert_eq!(s.is_final(), s == Closed);
        }
        assert!(Closed.allowed_next().is_empty());
        // Only a solved ticket can be closed.
        for &s in TicketStatus::ALL {
            assert_eq!(s.can_move_to(Closed), s == Solved, "{s}");
        }
    }

    #[test]
    fn open_and_paused() {
        assert!(New.is_open() && Assigned.is_open() && Planned.is_open() && Pending.is_open());
        assert!(!Solved.is_open() && !Closed.is_open());
        for &s in TicketStatus::ALL {
            assert_eq!(s.is_paused(), s == Pending);
        }
    }

    #[test]
    fn error_messages_name_both_statuses() {
        let e = check_transition(Closed, New).unwrap_err();
        assert_eq!(e, TransitionError::NotAllowed { from: Closed, to: New });
        assert_eq!(e.to_string(), "a ticket cannot go from 'closed' to 'new'");
        assert_eq!(e.code(), "status_transition");
        let v: ValidationErrors = e.into();
        assert_eq!(v.for_field("status").unwrap().code, "status_transition");
        let e = check_transition(Planned, New).unwrap_err();
        assert!(e.to_string().contains("planned") && e.to_string().contains("new"));
        assert_eq!(check_transition(New, New).unwrap_err().code(), "status_unchanged");
    }

    #[test]
    fn refusal_and_assignment_helpers() {
        assert_eq!(TicketStatus::reopened(true), Assigned);
        assert_eq!(TicketStatus::reopened(false), New);
        assert!(Solved.can_move_to(TicketStatus::reopened(true)));
        assert!(Solved.can_move_to(TicketStatus::reopened(false)));
        assert_eq!(New.after_assignment_change(true), Assigned);
        assert_eq!(New.after_assignment_change(false), New);
        assert_eq!(Assigned.after_assignment_change(false), New);
        assert_eq!(Assigned.after_assignment_change(true), Assigned);
        for s in [Planned, Pending, Solved, Closed] {
            assert_eq!(s.after_assignment_change(true), s);
            assert_eq!(s.after_assignment_change(false), s);
        }
    }
}
