//! Stock of consumables: the rules of movements and of the reorder alert, pure.
//!
//! A store holds a quantity on hand per item. Every change of a quantity is a movement with a
//! signed delta, so the quantity on hand is by construction the sum of the movements of its
//! (store, item): `plan` turns what the user asks (receive 10, issue 2, transfer 3, counted 7)
//! into the delta, refusing what would make a quantity negative. `reorder` decides when the
//! store's manager is told that a level went below its reorder level: once per crossing, re-armed
//! when the level is back at or above it.

use crate::assets::string_enum;
use crate::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use std::str::FromStr;

/// Largest quantity of one movement, level or reorder level.
pub const MAX_QUANTITY: i64 = 1_000_000_000;

string_enum!(
    /// What a movement does.
    MovementKind {
        /// Stock comes in (a delivery).
        Receive = "receive",
        /// Stock goes out to a user, a ticket or a location.
        Issue = "issue",
        /// Stock goes from one store to another (two movements: out of one, into the other).
        Transfer = "transfer",
        /// The quantity on hand is set to what a count found.
        Adjust = "adjust",
    }
);

/// Parses a quantity typed by a user or read from a file: a whole number from 0 to
/// [`MAX_QUANTITY`]. `1.0` (how spreadsheets write integers) is accepted, `1.5` is not.
/// Errors are stable codes: `required`, `not_integer`, `negative`, `too_large`.
pub fn parse_quantity(raw: &str) -> Result<i64, &'static str> {
    let v = raw.trim();
    if v.is_empty() {
        return Err("required");
    }
    let int = match v.strip_suffix(".0").or_else(|| v.strip_suffix(",0")) {
        Some(i) if !i.is_empty() => i,
        _ => v,
    };
    let digits = int.strip_prefix('-').or_else(|| int.strip_prefix('+')).unwrap_or(int);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("not_integer");
    }
    if int.starts_with('-') && digits.bytes().any(|b| b != b'0') {
        return Err("negative");
    }
    match digits.parse::<i64>() {
        Ok(n) if n <= MAX_QUANTITY => Ok(n),
        _ => Err("too_large"),
    }
}

/// Checks a quantity given as a number (API): whole, 0 to [`MAX_QUANTITY`], and at least 1
/// when `positive`.
pub fn check_quantity(errors: &mut ValidationErrors, field: &str, value: i64, positive: bool) {
    if value < 0 {
        errors.add(field, "negative", "must not be negative");
    } else if positive && value == 0 {
        errors.add(field, "zero_quantity", "must be at least 1");
    } else if value > MAX_QUANTITY {
        errors.add(field, "too_large", format!("must be at most {MAX_QUANTITY}"));
    }
}

/// Why a movement cannot be made.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MovementError {
    /// Receive, issue and transfer move at least one unit.
    Zero,
    Negative,
    TooLarge,
    /// Issuing or transferring more than the store has.
    Insufficient {
        on_hand: i64,
    },
}

impl MovementError {
    /// The stable validation code.
    pub fn code(self) -> &'static str {
        match self {
            MovementError::Zero => "zero_quantity",
            MovementError::Negative => "negative",
            MovementError::TooLarge => "too_large",
            MovementError::Insufficient { .. } => "insufficient_stock",
        }
    }

    pub fn message(self) -> String {
        match self {
            MovementError::Zero => "must be at least 1".into(),
            MovementError::Negative => "must not be negative".into(),
            MovementError::TooLarge => format!("must be at most {MAX_QUANTITY}"),
            MovementError::Insufficient { on_hand } => format!("only {on_hand} on hand"),
        }
    }

    /// As per-field validation errors on `field`.
    pub fn into_errors(self, field: &str) -> ValidationErrors {
        ValidationErrors::single(field, self.code(), self.message())
    }
}

/// The signed change a movement makes to the quantity on hand of the store it leaves from (for
/// a transfer the receiving store gets the opposite). `quantity` is the count moved, or for
/// `Adjust` the counted quantity.
pub fn plan(kind: MovementKind, quantity: i64, on_hand: i64) -> Result<i64, MovementError> {
    if quantity < 0 {
        return Err(MovementError::Negative);
    }
    if quantity > MAX_QUANTITY {
        return Err(MovementError::TooLarge);
    }
    match kind {
        MovementKind::Adjust => Ok(quantity - on_hand),
        _ if quantity == 0 => Err(MovementError::Zero),
        MovementKind::Receive => {
            if on_hand + quantity > MAX_QUANTITY {
                Err(MovementError::TooLarge)
            } else {
                Ok(quantity)
            }
        }
        MovementKind::Issue | MovementKind::Transfer => {
            if quantity > on_hand {
                Err(MovementError::Insufficient { on_hand })
            } else {
                Ok(-quantity)
            }
        }
    }
}

/// The reorder state of a level after a change: whether it is now flagged as alerted, and
/// whether the alert is to be sent now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reorder {
    pub alerted: bool,
    pub send: bool,
}

/// Whether `on_hand` is below the reorder level (no level: never).
pub fn below(on_hand: i64, reorder_level: Option<i64>) -> bool {
    reorder_level.is_some_and(|r| on_hand < r)
}

/// The reorder rule, applied after every change of a level's quantity or reorder level: below
/// the level and not yet alerted -> send once and remember; at or above it -> re-arm; below and
/// already alerted -> nothing (not at every movement).
pub fn reorder(alerted: bool, on_hand: i64, reorder_level: Option<i64>) -> Reorder {
    if below(on_hand, reorder_level) {
        Reorder { alerted: true, send: !alerted }
    } else {
        Reorder { alerted: false, send: false }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::HashMap;

    #[test]
    fn quantities_as_typed() {
        assert_eq!(parse_quantity(" 12 "), Ok(12));
        assert_eq!(parse_quantity("3.0"), Ok(3));
        assert_eq!(parse_quantity("0"), Ok(0));
        assert_eq!(parse_quantity("-0"), Ok(0));
        assert_eq!(parse_quantity("1.5"), Err("not_integer"));
        assert_eq!(parse_quantity("1,5"), Err("not_integer"));
        assert_eq!(parse_quantity("abc"), Err("not_integer"));
        assert_eq!(parse_quantity("1e3"), Err("not_integer"));
        assert_eq!(parse_quantity("-2"), Err("negative"));
        assert_eq!(parse_quantity(""), Err("required"));
        assert_eq!(parse_quantity("99999999999999999999"), Err("too_large"));
        assert_eq!(parse_quantity("1000000001"), Err("too_large"));
    }

    #[test]
    fn plans() {
        use MovementKind::*;
        assert_eq!(plan(Receive, 5, 0), Ok(5));
        assert_eq!(plan(Issue, 5, 5), Ok(-5));
        assert_eq!(plan(Issue, 6, 5), Err(MovementError::Insufficient { on_hand: 5 }));
        assert_eq!(plan(Transfer, 1, 0), Err(MovementError::Insufficient { on_hand: 0 }));
        assert_eq!(plan(Adjust, 3, 5), Ok(-2));
        assert_eq!(plan(Adjust, 0, 5), Ok(-5));
        assert_eq!(plan(Receive, 0, 5), Err(MovementError::Zero));
        assert_eq!(plan(Issue, -1, 5), Err(MovementError::Negative));
        assert_eq!(plan(Receive, MAX_QUANTITY, 1), Err(MovementError::TooLarge));
    }

    #[test]
    fn reorder_alerts_once_per_crossing() {
        // 10 on hand, level 5: issue to 4 (send), to 2 (nothing), receive to 6 (re-arm), issue to 3 (send).
        let mut alerted = false;
        let mut sent = 0;
        for q in [10, 4, 2, 6, 3] {
            let r = reorder(alerted, q, Some(5));
            alerted = r.alerted;
            sent += usize::from(r.send);
        }
        assert_eq!(sent, 2);
        assert!(!reorder(false, 0, None).send);
        assert!(!reorder(false, 5, Some(5)).send, "at the level is not below it");
    }

    /// The pure model of a set of stores: levels and the movements that made them.
    #[derive(Default)]
    struct Ledger {
        levels: HashMap<(u8, u8), (i64, bool)>,
        movements: Vec<((u8, u8), i64)>,
        reorder_level: HashMap<(u8, u8), i64>,
        alerts: usize,
    }

    impl Ledger {
        fn change(&mut self, at: (u8, u8), delta: i64) {
            let level = self.levels.entry(at).or_default();
            level.0 += delta;
            let r = reorder(level.1, level.0, self.reorder_level.get(&at).copied());
            level.1 = r.alerted;
            self.alerts += usize::from(r.send);
            self.movements.push((at, delta));
        }

        fn apply(&mut self, op: &Op) -> Result<(), MovementError> {
            let on_hand = |l: &Ledger, at| l.levels.get(&at).map_or(0, |v| v.0);
            let from = (op.store, op.item);
            let delta = plan(op.kind, op.quantity, on_hand(self, from))?;
            if op.kind == MovementKind::Transfer {
                let to = (op.other, op.item);
                if to == from {
                    return Ok(());
                }
                plan(MovementKind::Receive, op.quantity, on_hand(self, to))?;
                self.change(to, -delta);
            }
            self.change(from, delta);
            Ok(())
        }

        fn sum(&self, at: (u8, u8)) -> i64 {
            self.movements.iter().filter(|m| m.0 == at).map(|m| m.1).sum()
        }
    }

    #[derive(Debug, Clone)]
    struct Op {
        kind: MovementKind,
        store: u8,
        other: u8,
        item: u8,
        quantity: i64,
    }

    fn op() -> impl Strategy<Value = Op> {
        (0..4usize, 0..3u8, 0..3u8, 0..2u8, -3..20i64).prop_map(|(k, store, other, item, quantity)| Op {
            kind: MovementKind::ALL[k],
            store,
            other,
            item,
            quantity,
        })
    }

    proptest! {
        #[test]
        fn on_hand_is_the_sum_of_movements_and_never_negative(ops in proptest::collection::vec(op(), 0..80), level in 0..10i64) {
            let mut l = Ledger::default();
            for s in 0..3 { for i in 0..2 { l.reorder_level.insert((s, i), level); } }
            let mut total_before: i64 = 0;
            for o in &ops {
                let before: HashMap<_, _> = l.levels.clone();
                let count = l.movements.len();
                match l.apply(o) {
                    Err(e) => {
                        // A refused movement changes nothing.
                        prop_assert_eq!(&before, &l.levels);
                        prop_assert_eq!(count, l.movements.len());
                        if o.quantity < 0 { prop_assert_eq!(e, MovementError::Negative); }
                    }
                    Ok(()) => {
                        let total: i64 = l.levels.values().map(|v| v.0).sum();
                        // Transfers keep the total; receive/issue/adjust change it by their delta.
                        if o.kind == MovementKind::Transfer { prop_assert_eq!(total, total_before); }
                        if o.kind == MovementKind::Adjust {
                            prop_assert_eq!(l.levels[&(o.store, o.item)].0, o.quantity);
                        }
                    }
                }
                total_before = l.levels.values().map(|v| v.0).sum();
                for (at, (q, _)) in &l.levels {
                    prop_assert!(*q >= 0);
                    prop_assert_eq!(*q, l.sum(*at));
                }
            }
            // An alert per crossing below the level: never more than the movements that went below it.
            let crossings = l.levels.values().filter(|v| v.1).count();
            prop_assert!(l.alerts >= crossings);
        }

        #[test]
        fn an_alert_is_sent_exactly_at_each_downward_crossing(qs in proptest::collection::vec(0..20i64, 1..60), level in 0..12i64) {
            let mut alerted = false;
            let mut prev = i64::MAX;
            for q in qs {
                let r = reorder(alerted, q, Some(level));
                let crossed = prev >= level && q < level;
                prop_assert_eq!(r.send, crossed);
                alerted = r.alerted;
                prev = q;
            }
        }
    }
}
