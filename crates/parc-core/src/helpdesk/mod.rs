//! The helpdesk's pure rules: ticket types and status lifecycle, the urgency x impact priority
//! matrix, business calendars and service level (SLA) deadlines.
//!
//! # The model
//!
//! A ticket is an incident or a request ([`TicketType`]) moving through GLPI's lifecycle
//! ([`TicketStatus`], checked by [`check_transition`]). Its priority (1..=5) comes from its urgency
//! and impact through a [`PriorityMatrix`] (GLPI's default unless edited), or is set by hand,
//! up to 6 ("major").
//!
//! Service levels are counted in business time: the time inside the opening hours of a
//! [`BusinessCalendar`] (weekly opening intervals in a time zone, minus French public holidays
//! and closures). [`SlaTargets`] gives, per priority, a time to own and a time to resolve in
//! business minutes, and the share of a target after which a ticket is "at risk".
//!
//! A ticket does not recompute its deadlines on every read: the store computes them with these
//! functions and keeps them in columns (`own_due_at`, `resolve_due_at`, `resolve_warn_at`, …) so
//! lists can filter and sort in SQL:
//! - on creation (or a priority change), [`SlaTargets::deadlines`] from the opening instant and
//!   the pause accumulated so far;
//! - while the ticket is pending ([`TicketStatus::is_paused`]) the resolution clock is stopped;
//!   when it leaves `pending`, the store adds [`paused_business_time`]`(pending_since, now)` to
//!   the ticket's accumulated pause and recomputes the resolution deadlines ([`due_at`],
//!   [`warn_at`]), which moves them later by exactly that business time;
//! - the displayed state of a target is [`flag`] (`ok`, `at_risk`, `breached`) at the current
//!   instant, or at `pending_since` for a pending ticket.
//!
//! All instants are UTC; the calendar converts to its local time zone itself (opening hours are
//! wall-clock times, so daylight-saving changes are handled there).

pub mod calendar;
pub mod priority;
pub mod sla;
pub mod status;

pub use calendar::{
    alsace_moselle_extra_holidays, easter_sunday, format_interval, french_public_holidays, BusinessCalendar,
    OpeningInterval, MAX_SEARCH_DAYS, WEEKDAY_KEYS,
};
pub use priority::{is_level, is_priority, PriorityError, PriorityMatrix, MAJOR_PRIORITY, MAX_LEVEL, MIN_LEVEL};
pub use sla::{
    due_at, flag, paused_business_time, warn_at, SlaDeadlines, SlaFlag, SlaTarget, SlaTargets, DEFAULT_WARN_RATIO,
    MAX_TARGET_MINUTES,
};
pub use status::{check_transition, TicketStatus, TicketType, TransitionError};
