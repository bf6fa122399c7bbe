//! Parc's monitoring engine: runs checks (Nagios-compatible plugins and native checks) and
//! schedules them. The rules that interpret results (states, thresholds, notifications) are
//! pure and live in `parc_core::monitoring`.
