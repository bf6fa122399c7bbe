//! Loans and reservations of loanable assets: the overlap rule that keeps two people from
//! holding the same laptop or projector at the same time.
//!
//! Every booking of an asset is a half-open interval `[start, end)`: a reservation ending at
//! 10:00 and another starting at 10:00 do not overlap. An open loan (checked out, not yet
//! checked in) holds its asset from its check-out until its due time, or until now when it is
//! overdue: a late laptop is not available, whatever the due date said.
//!
//! A new reservation may overlap no other reservation and no open loan of the asset. A
//! check-out may overlap no open loan, and no reservation of somebody else: the borrower's own
//! reservation is what the check-out fulfils.

use crate::validate::ValidationErrors;
use crate::UserId;
use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

/// Longest reservation or loan accepted (a school year and a bit).
pub const MAX_DAYS: i64 = 400;
/// How far ahead a reservation may start.
pub const MAX_AHEAD_DAYS: i64 = 730;
/// Longest note or condition text.
pub const MAX_NOTE_CHARS: usize = 2000;
/// Most assets in one bulk check-out or check-in.
pub const MAX_BULK: usize = 500;

/// A half-open interval of time `[start, end)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Interval {
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
}

impl Interval {
    /// The interval, or `None` when it is empty or reversed.
    pub fn new(start: DateTime<Utc>, end: DateTime<Utc>) -> Option<Interval> {
        (start < end).then_some(Interval { start, end })
    }

    /// Whether the two intervals share an instant (touching ends do not).
    pub fn overlaps(&self, other: &Interval) -> bool {
        self.start < other.end && other.start < self.end
    }
}

/// What holds an asset over a period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BookingKind {
    Reservation,
    Loan,
}

/// An existing reservation or open loan of one asset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Booking {
    pub kind: BookingKind,
    pub id: i64,
    pub borrower: UserId,
    pub start: DateTime<Utc>,
    /// The reservation's end, or the loan's due time.
    pub end: DateTime<Utc>,
}

impl Booking {
    /// The period the booking holds its asset, as of `now`: an open loan past its due time
    /// holds it until now (it is not back).
    pub fn held(&self, now: DateTime<Utc>) -> Interval {
        let end = match self.kind {
            BookingKind::Loan => self.end.max(now),
            BookingKind::Reservation => self.end,
        };
        // A loan checked out and due in the same instant still holds its asset until then.
        Interval { start: self.start, end: end.max(self.start + Duration::milliseconds(1)) }
    }
}

/// What is being booked: a reservation, or a check-out by `borrower`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Request {
    pub kind: BookingKind,
    pub borrower: UserId,
    pub period: Interval,
}

/// The existing bookings that `request` would overlap, as of `now` (empty: it may be written).
/// A check-out does not conflict with its borrower's own reservations; a reservation
/// conflicts with every overlapping booking, the same person's included (a duplicate).
pub fn conflicts<'a>(request: &Request, existing: &'a [Booking], now: DateTime<Utc>) -> Vec<&'a Booking> {
    existing
        .iter()
        .filter(|b| {
            let own_reservation = request.kind == BookingKind::Loan
                && b.kind == BookingKind::Reservation
                && b.borrower == request.borrower;
            !own_reservation && request.period.overlaps(&b.held(now))
        })
        .collect()
}

/// Checks the period of a new reservation: start before end, at most [`MAX_DAYS`] long, not
/// ending in the past and starting at most [`MAX_AHEAD_DAYS`] ahead. Field names are the API's.
pub fn check_reservation(
    start: DateTime<Utc>,
    end: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Interval, ValidationErrors> {
    let mut e = ValidationErrors::new();
    if end <= start {
        e.add("ends_at", "end_before_start", "the end must be after the start");
    } else if end - start > Duration::days(MAX_DAYS) {
        e.add("ends_at", "too_long", "a reservation lasts at most 400 days");
    }
    if end <= now {
        e.add("ends_at", "in_the_past", "the reservation would be over already");
    }
    if start > now + Duration::days(MAX_AHEAD_DAYS) {
        e.add("starts_at", "too_far", "a reservation starts at most two years ahead");
    }
    if e.is_empty() {
        Ok(Interval { start, end })
    } else {
        Err(e)
    }
}

/// Checks the due time of a check-out made `now`: in the future, at most [`MAX_DAYS`] away.
pub fn check_due(due: DateTime<Utc>, now: DateTime<Utc>) -> Result<Interval, ValidationErrors> {
    if due <= now {
        Err(ValidationErrors::single("due_at", "in_the_past", "the expected return must be in the future"))
    } else if due - now > Duration::days(MAX_DAYS) {
        Err(ValidationErrors::single("due_at", "too_long", "a loan lasts at most 400 days"))
    } else {
        Ok(Interval { start: now, end: due })
    }
}

/// The asset tags or serial numbers of a bulk check-in or check-out, as typed or scanned one
/// per line (commas, semicolons and tabs also separate): trimmed, blank lines dropped, each once
/// in the order first seen.
pub fn parse_codes(text: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for code in text.split(['\n', '\r', ',', ';', '\t']).map(str::trim).filter(|c| !c.is_empty()) {
        if !out.iter().any(|c| c.eq_ignore_ascii_case(code)) {
            out.push(code.to_owned());
        }
    }
    out
}

/// Whether an open loan due at `due` is overdue at `now`.
pub fn is_overdue(due: DateTime<Utc>, now: DateTime<Utc>) -> bool {
    due <= now
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn at(h: i64) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 9, 0, 0, 0).unwrap() + Duration::hours(h)
    }

    fn booking(kind: BookingKind, id: i64, who: i64, start: i64, end: i64) -> Booking {
        Booking { kind, id, borrower: UserId(who), start: at(start), end: at(end) }
    }

    use BookingKind::{Loan, Reservation};

    #[test]
    fn overlap_rules() {
        // Existing: Alice reserves 10-12; Bob holds a loan 14-16; Carol reserves 20-22.
        let existing =
            [booking(Reservation, 1, 1, 10, 12), booking(Loan, 2, 2, 14, 16), booking(Reservation, 3, 3, 20, 22)];
        let now = at(0);
        // (what, who, start, end, conflicting ids)
        let cases: &[(BookingKind, i64, i64, i64, &[i64])] = &[
            (Reservation, 9, 8, 10, &[]),        // touches Alice's start
            (Reservation, 9, 12, 14, &[]),       // between Alice and Bob, touching both
            (Reservation, 9, 11, 13, &[1]),      // inside Alice's end
            (Reservation, 9, 9, 23, &[1, 2, 3]), // covers everything
            (Reservation, 1, 11, 12, &[1]),      // Alice again: a duplicate
            (Reservation, 9, 15, 15 + 1, &[2]),  // inside Bob's loan
            (Reservation, 9, 16, 20, &[]),       // after Bob's due, before Carol
            (Loan, 1, 10, 12, &[]),              // Alice takes what she reserved
            (Loan, 1, 10, 15, &[2]),             // ... but keeps it into Bob's loan
            (Loan, 9, 11, 12, &[1]),             // somebody else during Alice's reservation
            (Loan, 2, 15, 17, &[2]),             // Bob cannot take it twice
        ];
        for (kind, who, start, end, expected) in cases {
            let r =
                Request { kind: *kind, borrower: UserId(*who), period: Interval::new(at(*start), at(*end)).unwrap() };
            let got: Vec<i64> = conflicts(&r, &existing, now).iter().map(|b| b.id).collect();
            assert_eq!(&got, expected, "{kind:?} by {who} {start}-{end}");
        }
    }

    #[test]
    fn an_overdue_loan_holds_its_asset_until_it_is_back() {
        let late = [booking(Loan, 1, 1, 0, 10)];
        let want = Request { kind: Reservation, borrower: UserId(2), period: Interval::new(at(11), at(13)).unwrap() };
        assert!(conflicts(&want, &late, at(5)).is_empty(), "not late yet");
        assert_eq!(conflicts(&want, &late, at(12)).len(), 1, "late: still out at 12:00");
        let later = Request { period: Interval::new(at(30), at(31)).unwrap(), ..want };
        assert!(conflicts(&later, &late, at(12)).is_empty(), "a reservation after now is fine");
        assert!(is_overdue(at(10), at(10)) && !is_overdue(at(10), at(9)));
    }

    #[test]
    fn periods_are_checked() {
        let now = at(0);
        assert!(check_reservation(at(1), at(2), now).is_ok());
        let e = check_reservation(at(2), at(2), now).unwrap_err();
        assert_eq!(e.for_field("ends_at").unwrap().code, "end_before_start");
        let e = check_reservation(at(-5), at(-1), now).unwrap_err();
        assert_eq!(e.for_field("ends_at").unwrap().code, "in_the_past");
        let e = check_reservation(at(1), at(1) + Duration::days(MAX_DAYS + 1), now).unwrap_err();
        assert_eq!(e.for_field("ends_at").unwrap().code, "too_long");
        let e = check_reservation(now + Duration::days(800), now + Duration::days(801), now).unwrap_err();
        assert_eq!(e.for_field("starts_at").unwrap().code, "too_far");
        assert!(check_reservation(at(-1), at(1), now).is_ok(), "a reservation already started may be recorded");
        assert_eq!(check_due(at(0), now).unwrap_err().for_field("due_at").unwrap().code, "in_the_past");
        assert_eq!(
            check_due(now + Duration::days(401), now).unwrap_err().for_field("due_at").unwrap().code,
            "too_long"
        );
        assert_eq!(check_due(at(3), now).unwrap(), Interval { start: now, end: at(3) });
        assert!(Interval::new(at(1), at(1)).is_none());
    }

    #[test]
    fn scanned_codes() {
        assert_eq!(
            parse_codes(" CB-001\r\nCB-002\n\ncb-001\tCB-003; CB-004,"),
            vec!["CB-001", "CB-002", "CB-003", "CB-004"]
        );
        assert!(parse_codes("\n \n").is_empty());
    }

    proptest! {
        /// The rule agrees with a minute-by-minute check, and is symmetric.
        #[test]
        fn overlap_is_sharing_a_minute(a in 0i64..200, la in 1i64..60, b in 0i64..200, lb in 1i64..60) {
            let base = at(0);
            let m = |x: i64| base + Duration::minutes(x);
            let x = Interval::new(m(a), m(a + la)).unwrap();
            let y = Interval::new(m(b), m(b + lb)).unwrap();
            let shared = (a..a + la).any(|t| t >= b && t < b + lb);
            prop_assert_eq!(x.overlaps(&y), shared);
            prop_assert_eq!(x.overlaps(&y), y.overlaps(&x));
        }

        /// Whatever was booked before, an accepted reservation never overlaps another accepted
        /// one: writing only what `conflicts` admits keeps the calendar free of double bookings.
        #[test]
        fn accepted_reservations_never_overlap(requests in proptest::collection::vec((0i64..100, 1i64..20, 1i64..4), 1..30)) {
            let now = at(0);
            let mut accepted: Vec<Booking> = Vec::new();
            for (i, (start, len, who)) in requests.into_iter().enumerate() {
                let r = Request { kind: Reservation, borrower: UserId(who), period: Interval::new(at(start), at(start + len)).unwrap() };
                if conflicts(&r, &accepted, now).is_empty() {
                    accepted.push(booking(Reservation, i as i64, who, start, start + len));
                }
            }
            for (i, x) in accepted.iter().enumerate() {
                for y in &accepted[i + 1..] {
                    prop_assert!(!x.held(now).overlaps(&y.held(now)), "{:?} and {:?}", x, y);
                }
            }
        }
    }
}
