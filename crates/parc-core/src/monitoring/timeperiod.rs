//! Time periods: when notifications may go out, as a weekly schedule in a time zone (the
//! Nagios `timeperiod` object, written on one line).
//!
//! # The text
//!
//! Segments separated by `;`:
//!
//! | Segment                          | Meaning                                                    |
//! |----------------------------------|------------------------------------------------------------|
//! | `mon-fri 08:00-12:00,13:30-18:00`| these days, these hours (end excluded)                     |
//! | `sat,sun`                        | these days, all day (`00:00-24:00`)                        |
//! | `24x7`                           | every day, all day                                         |
//! | `never`                          | nothing (a period that is never active, before exceptions) |
//! | `2026-12-25 off`                 | an exception: that date is not in the period               |
//! | `2026-12-24 08:00-12:00`         | an exception: that date has these hours instead            |
//! | `tz=America/Cayenne`             | the IANA time zone (default `Europe/Paris`)                |
//!
//! Days are `mon tue wed thu fri sat sun` (the French `lun mar mer jeu ven sam dim` are read
//! too), alone, in lists (`mon,wed`) or ranges (`mon-fri`, `fri-mon` wraps over the week end).
//! Hours are `HH:MM-HH:MM` with `24:00` as the end of the day; a range cannot cross midnight
//! (write `22:00-24:00` on one day and `00:00-06:00` on the next). A day named in several
//! segments gets the union of their hours. An exception replaces the weekly hours of its date.
//!
//! Like Nagios, hours are wall-clock times in the period's time zone: `08:00` is 08:00 in
//! Paris in winter and in summer. On the night the clocks go forward (last Sunday of March in
//! Europe) the missing hour is simply not in any period and a range starting inside it starts
//! when the clocks land (03:00); on the night they go back (last Sunday of October) the
//! repeated hour is in the period both times.
//!
//! [`Display`](fmt::Display) writes the canonical text (days grouped, `24x7` when it applies),
//! which reads back as the same period; serde reads and writes that text.

use chrono::{DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveTime, TimeZone, Timelike, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

/// The time zone used when the text names none.
pub const DEFAULT_TIME_ZONE: Tz = chrono_tz::Europe::Paris;

/// Minutes in a day: the end of a whole-day range.
const DAY_MINUTES: u16 = 24 * 60;

/// How far [`TimePeriod::next_start`] looks ahead, in days, at most.
const MAX_SEARCH_DAYS: i64 = 3700;

const DAY_NAMES: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
const FRENCH_DAY_NAMES: [&str; 7] = ["lun", "mar", "mer", "jeu", "ven", "sam", "dim"];

/// Why a time period text could not be read. Each error quotes the segment at fault.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimePeriodError {
    /// Nothing was written.
    #[error("empty time period (write for example \"mon-fri 08:00-18:00\" or \"24x7\")")]
    Empty,
    /// A day name is not one of `mon`..`sun`.
    #[error("'{day}' is not a day (expected mon, tue, wed, thu, fri, sat or sun) in '{segment}'")]
    UnknownDay {
        /// The segment at fault.
        segment: String,
        /// The word that is not a day.
        day: String,
    },
    /// A time range is not `HH:MM-HH:MM`.
    #[error("'{range}' is not a time range such as 08:00-12:00 in '{segment}'")]
    BadTimeRange {
        /// The segment at fault.
        segment: String,
        /// The text that is not a time range.
        range: String,
    },
    /// A time range ends at or before its start.
    #[error(
        "'{range}' ends before it starts in '{segment}' (a range cannot cross midnight: \
         write 22:00-24:00 on one day and 00:00-06:00 on the next)"
    )]
    EndBeforeStart {
        /// The segment at fault.
        segment: String,
        /// The time range.
        range: String,
    },
    /// A date is not a valid `YYYY-MM-DD`.
    #[error("'{date}' is not a date YYYY-MM-DD in '{segment}'")]
    BadDate {
        /// The segment at fault.
        segment: String,
        /// The text that is not a date.
        date: String,
    },
    /// The time zone is not an IANA name.
    #[error("'{0}' is not a time zone (expected an IANA name such as Europe/Paris)")]
    UnknownTimeZone(String),
    /// A segment has more than days (or a date) and times.
    #[error("'{0}' should be days then hours, such as 'mon-fri 08:00-18:00'")]
    Malformed(String),
}

/// A range of minutes in a day, `start..end`, `start < end <= 1440`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Span {
    start: u16,
    end: u16,
}

const WHOLE_DAY: Span = Span { start: 0, end: DAY_MINUTES };

/// A weekly schedule in a time zone, with dated exceptions. See the module documentation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TimePeriod {
    tz: Tz,
    /// Monday first; each list sorted and merged.
    week: [Vec<Span>; 7],
    /// Dates whose hours replace the weekly ones (empty: the date is off).
    exceptions: BTreeMap<NaiveDate, Vec<Span>>,
}

impl Default for TimePeriod {
    /// `24x7` in Europe/Paris.
    fn default() -> Self {
        TimePeriod::always()
    }
}

impl TimePeriod {
    /// Every day, all day (`24x7`), in Europe/Paris.
    pub fn always() -> TimePeriod {
        TimePeriod {
            tz: DEFAULT_TIME_ZONE,
            week: std::array::from_fn(|_| vec![WHOLE_DAY]),
            exceptions: BTreeMap::new(),
        }
    }

    /// Reads the text described in the module documentation.
    pub fn parse(text: &str) -> Result<TimePeriod, TimePeriodError> {
        let mut period = TimePeriod { tz: DEFAULT_TIME_ZONE, week: Default::default(), exceptions: BTreeMap::new() };
        let mut any = false;
        for segment in text.split(';').map(str::trim).filter(|s| !s.is_empty()) {
            any = true;
            let lower = segment.to_ascii_lowercase();
            if lower == "24x7" {
                for day in &mut period.week {
                    day.push(WHOLE_DAY);
                }
                continue;
            }
            if lower == "never" {
                continue;
            }
            if let Some(name) = segment.strip_prefix("tz=") {
                period.tz = name.trim().parse().map_err(|_| TimePeriodError::UnknownTimeZone(name.trim().into()))?;
                continue;
            }
            let mut words = segment.split_whitespace();
            let first = words.next().unwrap_or_default();
            let times = words.next();
            if words.next().is_some() {
                return Err(TimePeriodError::Malformed(segment.into()));
            }
            let starts_with_digit = first.chars().next().is_some_and(|c| c.is_ascii_digit());
            if starts_with_digit {
                let date = NaiveDate::parse_from_str(first, "%Y-%m-%d")
                    .map_err(|_| TimePeriodError::BadDate { segment: segment.into(), date: first.into() })?;
                let spans = match times {
                    Some(t) if t.eq_ignore_ascii_case("off") => Vec::new(),
                    Some(t) => parse_spans(segment, t)?,
                    None => vec![WHOLE_DAY],
                };
                period.exceptions.entry(date).or_default().extend(spans);
            } else {
                let days = parse_days(segment, first)?;
                let spans = match times {
                    Some(t) => parse_spans(segment, t)?,
                    None => vec![WHOLE_DAY],
                };
                for day in days {
                    period.week[day].extend(spans.iter().copied());
                }
            }
        }
        if !any {
            return Err(TimePeriodError::Empty);
        }
        for day in &mut period.week {
            normalize(day);
        }
        for spans in period.exceptions.values_mut() {
            normalize(spans);
        }
        Ok(period)
    }

    /// The time zone the hours are read in.
    pub fn time_zone(&self) -> Tz {
        self.tz
    }

    /// Whether `now` is inside the period (to the minute: `08:00-18:00` holds 17:59:59, not
    /// 18:00:00).
    pub fn contains(&self, now: DateTime<Utc>) -> bool {
        let local = now.with_timezone(&self.tz);
        let minute = (local.hour() * 60 + local.minute()) as u16;
        self.spans_on(local.date_naive()).iter().any(|s| s.start <= minute && minute < s.end)
    }

    /// The first instant at or after `now` inside the period: `now` itself when
    /// [`TimePeriod::contains`] it, else the next start of a range. This is when a notification
    /// held because it fell outside the period may go out. `None` when the period is never
    /// active again (`never`, or only past exceptions), looking at most about ten years ahead.
    pub fn next_start(&self, now: DateTime<Utc>) -> Option<DateTime<Utc>> {
        if self.contains(now) {
            return Some(now);
        }
        let today = now.with_timezone(&self.tz).date_naive();
        let last_exception = self.exceptions.keys().next_back().map_or(0, |d| (*d - today).num_days());
        let horizon = (last_exception.max(0) + 8).min(MAX_SEARCH_DAYS);
        let mut best: Option<DateTime<Utc>> = None;
        let mut found_on: Option<i64> = None;
        for offset in 0..=horizon {
            // Once a start is found, one more day is looked at: where the clocks go back at
            // midnight, the next local date may begin before the end of this one.
            if found_on.is_some_and(|f| offset > f + 1) {
                break;
            }
            let date = today + Duration::days(offset);
            for span in self.spans_on(date) {
                for start in self.local_starts(date, *span) {
                    if start >= now && best.is_none_or(|b| start < b) {
                        best = Some(start);
                        found_on.get_or_insert(offset);
                    }
                }
            }
        }
        best
    }

    /// The ranges of a local date: its exception if it has one, else its weekday's.
    fn spans_on(&self, date: NaiveDate) -> &[Span] {
        match self.exceptions.get(&date) {
            Some(spans) => spans,
            None => &self.week[date.weekday().num_days_from_monday() as usize],
        }
    }

    /// The instants a range starts on a local date: one normally, two when its start time
    /// happens twice (clocks going back), and the end of the gap when its start time does not
    /// exist (clocks going forward) but a later minute of the range does.
    fn local_starts(&self, date: NaiveDate, span: Span) -> Vec<DateTime<Utc>> {
        for minute in span.start..span.end {
            let Some(time) = NaiveTime::from_hms_opt(u32::from(minute / 60), u32::from(minute % 60), 0) else {
                continue;
            };
            match self.tz.from_local_datetime(&date.and_time(time)) {
                LocalResult::Single(t) => return vec![t.with_timezone(&Utc)],
                LocalResult::Ambiguous(a, b) => return vec![a.with_timezone(&Utc), b.with_timezone(&Utc)],
                LocalResult::None => {}
            }
        }
        Vec::new()
    }
}

/// Sorts and merges overlapping or touching ranges.
fn normalize(spans: &mut Vec<Span>) {
    spans.sort();
    let mut merged: Vec<Span> = Vec::with_capacity(spans.len());
    for span in spans.drain(..) {
        match merged.last_mut() {
            Some(last) if span.start <= last.end => last.end = last.end.max(span.end),
            _ => merged.push(span),
        }
    }
    *spans = merged;
}

fn day_index(segment: &str, word: &str) -> Result<usize, TimePeriodError> {
    let lower = word.to_ascii_lowercase();
    DAY_NAMES
        .iter()
        .position(|d| *d == lower)
        .or_else(|| FRENCH_DAY_NAMES.iter().position(|d| *d == lower))
        .ok_or_else(|| TimePeriodError::UnknownDay { segment: segment.into(), day: word.into() })
}

/// `mon`, `mon-fri`, `sat,sun`, `fri-mon` (wraps): the day indexes, Monday = 0.
fn parse_days(segment: &str, text: &str) -> Result<Vec<usize>, TimePeriodError> {
    let mut days = Vec::new();
    for item in text.split(',') {
        match item.split_once('-') {
            Some((from, to)) => {
                let (from, to) = (day_index(segment, from)?, day_index(segment, to)?);
                let mut day = from;
                loop {
                    days.push(day);
                    if day == to {
                        break;
                    }
                    day = (day + 1) % 7;
                }
            }
            None => days.push(day_index(segment, item)?),
        }
    }
    Ok(days)
}

/// `08:00-12:00,13:30-18:00`.
fn parse_spans(segment: &str, text: &str) -> Result<Vec<Span>, TimePeriodError> {
    text.split(',')
        .map(|range| {
            let bad = || TimePeriodError::BadTimeRange { segment: segment.into(), range: range.into() };
            let (start, end) = range.split_once('-').ok_or_else(bad)?;
            let (start, end) = (parse_minute(start).ok_or_else(bad)?, parse_minute(end).ok_or_else(bad)?);
            if start >= end {
                return Err(TimePeriodError::EndBeforeStart { segment: segment.into(), range: range.into() });
            }
            Ok(Span { start, end })
        })
        .collect()
}

/// `HH:MM` (or `H:MM`) as minutes since midnight; `24:00` is the end of the day.
fn parse_minute(text: &str) -> Option<u16> {
    let (h, m) = text.split_once(':')?;
    let digits =
        |s: &str, len: std::ops::RangeInclusive<usize>| len.contains(&s.len()) && s.bytes().all(|b| b.is_ascii_digit());
    if !digits(h, 1..=2) || !digits(m, 2..=2) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    match (h, m) {
        (24, 0) => Some(DAY_MINUTES),
        (0..=23, 0..=59) => Some(h * 60 + m),
        _ => None,
    }
}

fn write_spans(f: &mut fmt::Formatter<'_>, spans: &[Span]) -> fmt::Result {
    for (i, span) in spans.iter().enumerate() {
        if i > 0 {
            f.write_str(",")?;
        }
        write!(f, "{:02}:{:02}-{:02}:{:02}", span.start / 60, span.start % 60, span.end / 60, span.end % 60)?;
    }
    Ok(())
}

impl fmt::Display for TimePeriod {
    /// The canonical text: the time zone first when it is not Europe/Paris, then `24x7`, or the
    /// days grouped into runs with the same hours (`mon-fri 08:00-18:00; sat 09:00-12:00`), or
    /// `never`, then the exceptions by date.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut parts_written = 0;
        let mut sep = |f: &mut fmt::Formatter<'_>| {
            parts_written += 1;
            if parts_written > 1 {
                f.write_str("; ")
            } else {
                Ok(())
            }
        };
        if self.tz != DEFAULT_TIME_ZONE {
            sep(f)?;
            write!(f, "tz={}", self.tz.name())?;
        }
        if self.week.iter().all(|d| d.as_slice() == [WHOLE_DAY]) {
            sep(f)?;
            f.write_str("24x7")?;
        } else if self.week.iter().all(Vec::is_empty) {
            sep(f)?;
            f.write_str("never")?;
        } else {
            let mut day = 0;
            while day < 7 {
                let spans = &self.week[day];
                let mut last = day;
                while last + 1 < 7 && self.week[last + 1] == *spans {
                    last += 1;
                }
                if !spans.is_empty() {
                    sep(f)?;
                    f.write_str(DAY_NAMES[day])?;
                    if last > day {
                        write!(f, "-{}", DAY_NAMES[last])?;
                    }
                    f.write_str(" ")?;
                    write_spans(f, spans)?;
                }
                day = last + 1;
            }
        }
        for (date, spans) in &self.exceptions {
            sep(f)?;
            write!(f, "{} ", date.format("%Y-%m-%d"))?;
            if spans.is_empty() {
                f.write_str("off")?;
            } else {
                write_spans(f, spans)?;
            }
        }
        Ok(())
    }
}

impl FromStr for TimePeriod {
    type Err = TimePeriodError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        TimePeriod::parse(s)
    }
}

impl Serialize for TimePeriod {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for TimePeriod {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        TimePeriod::parse(&text).map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn utc(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).unwrap().with_timezone(&Utc)
    }

    fn p(text: &str) -> TimePeriod {
        TimePeriod::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"))
    }

    #[test]
    fn canonical_text() {
        let cases = [
            ("24x7", "24x7"),
            ("  24X7 ;", "24x7"),
            ("mon-sun", "24x7"),
            ("mon-sun 00:00-24:00", "24x7"),
            ("never", "never"),
            ("mon-fri 08:00-12:00,13:30-18:00; sat 09:00-12:00", "mon-fri 08:00-12:00,13:30-18:00; sat 09:00-12:00"),
            ("mon,tue,wed,thu,fri 8:00-18:00", "mon-fri 08:00-18:00"),
            ("lun-ven 08:00-18:00", "mon-fri 08:00-18:00"),
            ("fri-mon 10:00-11:00", "mon 10:00-11:00; fri-sun 10:00-11:00"),
            ("sat,sun", "sat-sun 00:00-24:00"),
            ("mon 13:00-18:00; mon 08:00-12:00", "mon 08:00-12:00,13:00-18:00"),
            ("mon 08:00-12:00,11:00-14:00,14:00-15:00", "mon 08:00-15:00"),
            ("mon 08:00-12:00; wed 08:00-12:00", "mon 08:00-12:00; wed 08:00-12:00"),
            ("tz=America/Cayenne; mon-fri 07:30-17:00", "tz=America/Cayenne; mon-fri 07:30-17:00"),
            ("tz=Europe/Paris; 24x7", "24x7"),
            (
                "mon-fri 08:00-18:00; 2026-12-25 off; 2026-12-24 08:00-12:00",
                "mon-fri 08:00-18:00; 2026-12-24 08:00-12:00; 2026-12-25 off",
            ),
            ("never; 2026-07-14", "never; 2026-07-14 00:00-24:00"),
        ];
        for (text, canonical) in cases {
            let period = p(text);
            assert_eq!(period.to_string(), canonical, "{text}");
            assert_eq!(p(canonical), period, "{text}");
        }
        assert_eq!(TimePeriod::default(), p("24x7"));
        assert_eq!(p("tz=America/Cayenne; 24x7").time_zone(), chrono_tz::America::Cayenne);
    }

    #[test]
    fn errors() {
        let cases: &[(&str, &str)] = &[
            ("", "empty time period (write for example \"mon-fri 08:00-18:00\" or \"24x7\")"),
            (" ; ;", "empty time period (write for example \"mon-fri 08:00-18:00\" or \"24x7\")"),
            (
                "mon-fry 08:00-12:00",
                "'fry' is not a day (expected mon, tue, wed, thu, fri, sat or sun) in 'mon-fry 08:00-12:00'",
            ),
            (
                "monday 08:00-12:00",
                "'monday' is not a day (expected mon, tue, wed, thu, fri, sat or sun) in 'monday 08:00-12:00'",
            ),
            ("mon 8-12", "'8-12' is not a time range such as 08:00-12:00 in 'mon 8-12'"),
            ("mon 08:00", "'08:00' is not a time range such as 08:00-12:00 in 'mon 08:00'"),
            ("mon 08:60-09:00", "'08:60-09:00' is not a time range such as 08:00-12:00 in 'mon 08:60-09:00'"),
            ("mon 08:00-24:30", "'08:00-24:30' is not a time range such as 08:00-12:00 in 'mon 08:00-24:30'"),
            (
                "mon 22:00-06:00",
                "'22:00-06:00' ends before it starts in 'mon 22:00-06:00' (a range cannot cross midnight: \
                 write 22:00-24:00 on one day and 00:00-06:00 on the next)",
            ),
            (
                "mon 08:00-08:00",
                "'08:00-08:00' ends before it starts in 'mon 08:00-08:00' (a range cannot cross midnight: \
                 write 22:00-24:00 on one day and 00:00-06:00 on the next)",
            ),
            (
                "mon 08:00-12:00 13:00-18:00",
                "'mon 08:00-12:00 13:00-18:00' should be days then hours, such as 'mon-fri 08:00-18:00'",
            ),
            ("2026-02-30 off", "'2026-02-30' is not a date YYYY-MM-DD in '2026-02-30 off'"),
            ("tz=Europe/Lutece", "'Europe/Lutece' is not a time zone (expected an IANA name such as Europe/Paris)"),
        ];
        for (text, message) in cases {
            let err = TimePeriod::parse(text).unwrap_err();
            assert_eq!(err.to_string(), *message, "{text}");
        }
        assert!(serde_json::from_str::<TimePeriod>("\"mon 25:00-26:00\"").is_err());
    }

    #[test]
    fn serde_as_text() {
        let period = p("mon-fri 08:00-18:00; 2026-12-25 off");
        let json = serde_json::to_string(&period).unwrap();
        assert_eq!(json, "\"mon-fri 08:00-18:00; 2026-12-25 off\"");
        assert_eq!(serde_json::from_str::<TimePeriod>(&json).unwrap(), period);
    }

    #[test]
    fn office_hours_in_paris() {
        let office = p("mon-fri 08:00-12:00,13:30-18:00; sat 09:00-12:00; 2026-12-25 off");
        // (instant, inside, next start)
        let cases = [
            // Wednesday 2026-01-14, winter (UTC+1).
            ("2026-01-14T06:59:59Z", false, "2026-01-14T07:00:00Z"),
            ("2026-01-14T07:00:00Z", true, "2026-01-14T07:00:00Z"),
            ("2026-01-14T10:59:59Z", true, "2026-01-14T10:59:59Z"),
            ("2026-01-14T11:00:00Z", false, "2026-01-14T12:30:00Z"),
            ("2026-01-14T17:00:00Z", false, "2026-01-15T07:00:00Z"),
            // Saturday then Sunday: Monday morning.
            ("2026-01-17T08:30:00Z", true, "2026-01-17T08:30:00Z"),
            ("2026-01-17T11:00:00Z", false, "2026-01-19T07:00:00Z"),
            ("2026-01-18T12:00:00Z", false, "2026-01-19T07:00:00Z"),
            // Summer (UTC+2).
            ("2026-07-15T06:30:00Z", true, "2026-07-15T06:30:00Z"),
            ("2026-07-15T05:59:00Z", false, "2026-07-15T06:00:00Z"),
            // Christmas Friday is off: next is Saturday 26 at 09:00.
            ("2026-12-25T09:00:00Z", false, "2026-12-26T08:00:00Z"),
        ];
        for (now, inside, next) in cases {
            assert_eq!(office.contains(utc(now)), inside, "{now}");
            assert_eq!(office.next_start(utc(now)), Some(utc(next)), "{now}");
        }
    }

    #[test]
    fn clocks_going_forward_last_sunday_of_march() {
        // 2026-03-29: at 01:00 UTC Paris goes from 02:00 CET to 03:00 CEST.
        let office = p("mon-fri 08:00-18:00");
        // Friday evening before the change: Monday 08:00 is now 06:00 UTC, not 07:00.
        assert_eq!(office.next_start(utc("2026-03-27T17:00:00Z")), Some(utc("2026-03-30T06:00:00Z")));
        assert!(office.contains(utc("2026-03-30T06:00:00Z")));
        assert!(!office.contains(utc("2026-03-30T05:59:00Z")));

        // A range starting in the missing hour starts when the clocks land at 03:00.
        let night = p("sun 02:30-04:00");
        assert_eq!(night.next_start(utc("2026-03-28T12:00:00Z")), Some(utc("2026-03-29T01:00:00Z")));
        assert!(!night.contains(utc("2026-03-29T00:59:00Z")));
        assert!(night.contains(utc("2026-03-29T01:00:00Z")));
        assert!(night.contains(utc("2026-03-29T01:59:00Z")));
        assert!(!night.contains(utc("2026-03-29T02:00:00Z")));
        // A range entirely in the missing hour does not happen that day; next week it does.
        let gap = p("sun 02:00-03:00");
        assert_eq!(gap.next_start(utc("2026-03-28T12:00:00Z")), Some(utc("2026-04-05T00:00:00Z")));
    }

    #[test]
    fn clocks_going_back_last_sunday_of_october() {
        // 2026-10-25: at 01:00 UTC Paris goes from 03:00 CEST back to 02:00 CET.
        let office = p("mon-fri 08:00-18:00");
        assert_eq!(office.next_start(utc("2026-10-23T17:00:00Z")), Some(utc("2026-10-26T07:00:00Z")));
        assert!(!office.contains(utc("2026-10-26T06:30:00Z")));

        // 02:15-02:45 happens twice: 00:15-00:45 UTC (CEST), then 01:15-01:45 UTC (CET).
        let night = p("sun 02:15-02:45");
        assert!(night.contains(utc("2026-10-25T00:30:00Z")));
        assert!(!night.contains(utc("2026-10-25T00:50:00Z")));
        assert!(night.contains(utc("2026-10-25T01:30:00Z")));
        assert!(!night.contains(utc("2026-10-25T01:50:00Z")));
        assert_eq!(night.next_start(utc("2026-10-24T12:00:00Z")), Some(utc("2026-10-25T00:15:00Z")));
        assert_eq!(night.next_start(utc("2026-10-25T00:50:00Z")), Some(utc("2026-10-25T01:15:00Z")));
        assert_eq!(night.next_start(utc("2026-10-25T01:50:00Z")), Some(utc("2026-11-01T01:15:00Z")));
    }

    #[test]
    fn other_zones_and_never() {
        let cayenne = p("tz=America/Cayenne; mon-fri 08:00-17:00");
        // Cayenne is UTC-3 all year.
        assert!(cayenne.contains(utc("2026-01-14T11:00:00Z")));
        assert!(!cayenne.contains(utc("2026-01-14T10:59:00Z")));
        assert_eq!(cayenne.next_start(utc("2026-01-14T05:00:00Z")), Some(utc("2026-01-14T11:00:00Z")));

        let never = p("never");
        assert!(!never.contains(utc("2026-01-14T11:00:00Z")));
        assert_eq!(never.next_start(utc("2026-01-14T11:00:00Z")), None);
        // Only a past exception: never again.
        assert_eq!(p("never; 2025-05-01").next_start(utc("2026-01-14T11:00:00Z")), None);
        // A future exception far ahead is found.
        assert_eq!(
            p("never; 2028-05-01 10:00-11:00").next_start(utc("2026-01-14T11:00:00Z")),
            Some(utc("2028-05-01T08:00:00Z"))
        );
        let always = TimePeriod::always();
        assert!(always.contains(utc("2026-03-29T01:30:00Z")));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        /// Any schedule prints as text that reads back the same, and `next_start` is an
        /// instant inside the period, not before `now`, with nothing inside the period between
        /// `now` and it (checked minute by minute over the first hours).
        #[test]
        fn next_start_is_the_first_instant_inside(
            days in prop::collection::vec((0usize..7, 0u16..1439, 1u16..600), 0..6),
            secs in 1_735_689_600i64..1_798_761_600, // 2025-01-01 .. 2027-01-01
        ) {
            let text: Vec<String> = days
                .iter()
                .map(|&(d, start, len)| {
                    let end = (start + len).min(DAY_MINUTES);
                    format!("{} {:02}:{:02}-{:02}:{:02}", DAY_NAMES[d], start / 60, start % 60, end / 60, end % 60)
                })
                .collect();
            let text = if text.is_empty() { "never".to_owned() } else { text.join("; ") };
            let period = TimePeriod::parse(&text).unwrap();
            prop_assert_eq!(TimePeriod::parse(&period.to_string()).unwrap(), period.clone());

            let now = DateTime::from_timestamp(secs - secs % 60, 0).unwrap();
            match period.next_start(now) {
                Some(next) => {
                    prop_assert!(next >= now);
                    prop_assert!(period.contains(next), "{} from {}: {}", text, now, next);
                    let mut t = now;
                    while t < next && t < now + Duration::hours(12) {
                        prop_assert!(!period.contains(t), "{} inside at {} before {}", text, t, next);
                        t += Duration::minutes(1);
                    }
                }
                None => prop_assert!(days.is_empty()),
            }
        }
    }
}
