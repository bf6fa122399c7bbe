//! Business calendar: opening hours per weekday in a time zone, French public holidays and
//! closures, and the arithmetic of business time between UTC instants.
//!
//! Opening intervals are local wall-clock times: a Monday after a daylight-saving change still
//! opens at 08:30 local, whatever its UTC offset. Mapping a local time to an instant:
//! - a time that does not exist (spring-forward gap) maps to the first valid instant after it
//!   (the transition itself), so an interval 02:00-04:00 on that day lasts one hour;
//! - an ambiguous time (autumn fold) maps to its earliest instant.
//!
//! An interval ending at `00:00` (written `"24:00"` in JSON) runs until midnight at the end of the
//! day, so `00:00-24:00` is the whole day.

use crate::validate::ValidationErrors;
use chrono::{
    DateTime, Datelike, Duration, LocalResult, NaiveDate, NaiveDateTime, NaiveTime, Offset, TimeZone, Timelike, Utc,
    Weekday,
};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// How far [`BusinessCalendar::add_business_time`] looks ahead (local days after `from`) before
/// giving up: about three years.
pub const MAX_SEARCH_DAYS: u32 = 3 * 366;

/// The JSON keys of the weekdays, Monday first (index = `Weekday::num_days_from_monday`).
pub const WEEKDAY_KEYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

/// One opening interval of a day, local wall-clock `[start, end)`; `end == 00:00` means midnight
/// at the end of the day.
pub type OpeningInterval = (NaiveTime, NaiveTime);

/// When the service is open. See the module documentation for the time model.
///
/// Serialized (serde) as a human-editable JSON object; every key but `week` may be omitted
/// (defaults: `"Europe/Paris"`, `true`, `false`, `[]`), a missing weekday is closed, unknown keys
/// are refused:
///
/// ```json
/// {"tz": "Europe/Paris",
///  "week": {"mon": [["08:30", "12:00"], ["13:30", "17:30"]], "tue": [...], "sat": [], "sun": []},
///  "french_holidays": true, "alsace_moselle": false,
///  "closures": [["2026-12-24", "2026-12-31"], "2026-05-15"]}
/// ```
///
/// A closure is an inclusive date range `[first, last]` or a single date (always written back as
/// a pair). Deserializing sorts each day's intervals and runs [`BusinessCalendar::validate`];
/// [`BusinessCalendar::from_json`] gives the same checks as per-field errors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "CalendarJson", try_from = "CalendarJson")]
pub struct BusinessCalendar {
    /// The time zone of the opening hours, holidays and closures.
    pub tz: Tz,
    /// Opening intervals per weekday, Monday first; sorted and non-overlapping.
    pub week: [Vec<OpeningInterval>; 7],
    /// Closed on the French public holidays ([`french_public_holidays`]).
    pub french_holidays: bool,
    /// Also closed on Good Friday and 26 December (Alsace-Moselle local law); only with
    /// `french_holidays`.
    pub alsace_moselle: bool,
    /// Inclusive date ranges `(first, last)` when the service is closed.
    pub closures: Vec<(NaiveDate, NaiveDate)>,
}

fn hm(h: u32, m: u32) -> NaiveTime {
    NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN)
}

impl Default for BusinessCalendar {
    /// Europe/Paris, Monday to Friday 08:30-12:00 and 13:30-17:30, French holidays, no closures.
    fn default() -> Self {
        let day = vec![(hm(8, 30), hm(12, 0)), (hm(13, 30), hm(17, 30))];
        Self {
            tz: chrono_tz::Europe::Paris,
            week: [day.clone(), day.clone(), day.clone(), day.clone(), day, Vec::new(), Vec::new()],
            french_holidays: true,
            alsace_moselle: false,
            closures: Vec::new(),
        }
    }
}

/// Easter Sunday of a Gregorian year (anonymous Gregorian algorithm, Meeus/Jones/Butcher).
/// `None` only for years chrono cannot represent.
pub fn easter_sunday(year: i32) -> Option<NaiveDate> {
    let a = year.rem_euclid(19);
    let b = year.div_euclid(100);
    let c = year.rem_euclid(100);
    let d = b.div_euclid(4);
    let e = b.rem_euclid(4);
    let f = (b + 8).div_euclid(25);
    let g = (b - f + 1).div_euclid(3);
    let h = (19 * a + b - d - g + 15).rem_euclid(30);
    let i = c.div_euclid(4);
    let k = c.rem_euclid(4);
    let l = (32 + 2 * e + 2 * i - h - k).rem_euclid(7);
    let m = (a + 11 * h + 22 * l).div_euclid(451);
    let month = (h + l - 7 * m + 114).div_euclid(31);
    let day = (h + l - 7 * m + 114).rem_euclid(31) + 1;
    NaiveDate::from_ymd_opt(year, u32::try_from(month).ok()?, u32::try_from(day).ok()?)
}

/// The eleven French public holidays of a year, sorted: 1 January, Easter Monday, 1 May, 8 May,
/// Ascension Thursday, Whit Monday, 14 July, 15 August, 1 November, 11 November, 25 December.
/// (Empty for a year chrono cannot represent.)
pub fn french_public_holidays(year: i32) -> Vec<NaiveDate> {
    let Some(easter) = easter_sunday(year) else { return Vec::new() };
    let fixed = |m: u32, d: u32| NaiveDate::from_ymd_opt(year, m, d);
    let after_easter = |days: i64| easter.checked_add_signed(Duration::days(days));
    let mut days: Vec<NaiveDate> = [
        fixed(1, 1),
        after_easter(1),  // Easter Monday
        fixed(5, 1),      // Labour Day
        fixed(5, 8),      // Victory in Europe Day
        after_easter(39), // Ascension Thursday
        after_easter(50), // Whit Monday
        fixed(7, 14),     // Bastille Day
        fixed(8, 15),     // Assumption
        fixed(11, 1),     // All Saints' Day
        fixed(11, 11),    // Armistice Day
        fixed(12, 25),    // Christmas
    ]
    .into_iter()
    .flatten()
    .collect();
    days.sort();
    days
}

/// The two extra public holidays of Alsace-Moselle: Good Friday and 26 December.
pub fn alsace_moselle_extra_holidays(year: i32) -> Vec<NaiveDate> {
    let good_friday = easter_sunday(year).and_then(|e| e.checked_sub_signed(Duration::days(2)));
    [good_friday, NaiveDate::from_ymd_opt(year, 12, 26)].into_iter().flatten().collect()
}

/// Seconds since the start of the day of an interval end (`00:00` = 86 400, the end of the day).
fn end_secs(end: NaiveTime) -> u32 {
    if end == NaiveTime::MIN {
        86_400
    } else {
        end.num_seconds_from_midnight()
    }
}

impl BusinessCalendar {
    /// The calendar's public holidays of a year (empty when `french_holidays` is off), sorted.
    pub fn holidays(&self, year: i32) -> Vec<NaiveDate> {
        if !self.french_holidays {
            return Vec::new();
        }
        let mut days = french_public_holidays(year);
        if self.alsace_moselle {
            days.extend(alsace_moselle_extra_holidays(year));
            days.sort();
        }
        days
    }

    /// Whether `date` is a public holiday of this calendar.
    pub fn is_holiday(&self, date: NaiveDate) -> bool {
        self.french_holidays && self.holidays(date.year()).contains(&date)
    }

    /// Whether `date` falls in one of the closures.
    pub fn is_closed(&self, date: NaiveDate) -> bool {
        self.closures.iter().any(|&(first, last)| first <= date && date <= last)
    }

    /// The opening intervals of a weekday.
    pub fn intervals(&self, weekday: Weekday) -> &[OpeningInterval] {
        &self.week[weekday.num_days_from_monday() as usize]
    }

    /// Whether the service opens on `date` (local): its weekday has opening hours and it is
    /// neither a holiday nor in a closure.
    pub fn is_business_day(&self, date: NaiveDate) -> bool {
        !self.intervals(date.weekday()).is_empty() && !self.is_holiday(date) && !self.is_closed(date)
    }

    /// Whether some weekday has a non-empty opening interval.
    pub fn has_open_hours(&self) -> bool {
        self.week.iter().flatten().any(|&(s, e)| s.num_seconds_from_midnight() < end_secs(e))
    }

    /// Checks the calendar. Fields and codes:
    /// - `week.<day>.<n>` `interval_order`: start not before end;
    /// - `week.<day>.<n>` `interval_overlap`: starts before the previous interval ends (intervals
    ///   must be sorted and disjoint);
    /// - `week` `no_open_hours`: no opening at all in the week;
    /// - `closures.<n>` `closure_order`: first date after the last one.
    ///
    /// (An unknown time zone or a malformed time/date can only occur in JSON: see
    /// [`Self::from_json`].)
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        for (day, intervals) in WEEKDAY_KEYS.iter().zip(&self.week) {
            let mut previous_end: Option<u32> = None;
            for (n, &(start, end)) in intervals.iter().enumerate() {
                let field = format!("week.{day}.{n}");
                let (s, e) = (start.num_seconds_from_midnight(), end_secs(end));
                if s >= e {
                    errors.add(
                        &field,
                        "interval_order",
                        format!("the interval {} must start before it ends", format_interval(start, end)),
                    );
                }
                if previous_end.is_some_and(|p| s < p) {
                    errors.add(
                        &field,
                        "interval_overlap",
                        format!("the interval {} overlaps or precedes the previous one", format_interval(start, end)),
                    );
                }
                previous_end = Some(previous_end.map_or(e, |p| p.max(e)));
            }
        }
        if !self.has_open_hours() {
            errors.add("week", "no_open_hours", "the calendar must open at least once a week");
        }
        for (n, &(first, last)) in self.closures.iter().enumerate() {
            if first > last {
                errors.add(
                    &format!("closures.{n}"),
                    "closure_order",
                    format!("the closure must not end ({last}) before it starts ({first})"),
                );
            }
        }
        errors.into_result()
    }

    /// Parses the JSON form (see the type documentation), sorting each day's intervals, and
    /// validates it. Besides [`Self::validate`]'s errors: `calendar` `json_format` (syntax, types,
    /// unknown keys), `tz` `tz_unknown`, `week.<day>.<n>` `time_format` (not `HH:MM`,
    /// `HH:MM:SS` or `24:00` as an end), `closures.<n>` `date_format` (not `YYYY-MM-DD`).
    pub fn from_json(json: &str) -> Result<Self, ValidationErrors> {
        let raw: CalendarJson = serde_json::from_str(json)
            .map_err(|e| ValidationErrors::single("calendar", "json_format", format!("invalid calendar JSON: {e}")))?;
        Self::try_from(raw)
    }

    /// The JSON form (pretty-printed, for a settings editor).
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(&CalendarJson::from(self.clone())).unwrap_or_default()
    }

    /// The local date of an instant in this calendar's time zone (the UTC date at the very ends
    /// of chrono's range, where the local date cannot be represented).
    pub fn local_date(&self, at: DateTime<Utc>) -> NaiveDate {
        let utc = at.naive_utc();
        let offset = self.tz.offset_from_utc_datetime(&utc).fix();
        utc.checked_add_offset(offset).map_or(utc.date(), |local| local.date())
    }

    /// The instant of a local wall-clock time: earliest instant when ambiguous, first valid
    /// instant after it when it falls in a gap. `None` only past chrono's range.
    fn to_instant(&self, local: NaiveDateTime) -> Option<DateTime<Utc>> {
        match self.tz.from_local_datetime(&local) {
            LocalResult::Single(t) => Some(t.with_timezone(&Utc)),
            LocalResult::Ambiguous(a, b) => Some(a.min(b).with_timezone(&Utc)),
            LocalResult::None => {
                // In a gap: the first existing local minute after it is the transition instant
                // (transitions happen on whole minutes). Gaps last at most a day.
                let mut t = local.with_second(0)?.with_nanosecond(0)?;
                for _ in 0..(2 * 24 * 60) {
                    t = t.checked_add_signed(Duration::minutes(1))?;
                    if let Some(i) = self.tz.from_local_datetime(&t).earliest() {
                        return Some(i.with_timezone(&Utc));
                    }
                }
                None
            }
        }
    }

    /// The opening intervals of a local date as UTC instants `[start, end)`, sorted, merged,
    /// empty ones dropped; empty when the date is not a business day.
    pub fn open_intervals_on(&self, date: NaiveDate) -> Vec<(DateTime<Utc>, DateTime<Utc>)> {
        if !self.is_business_day(date) {
            return Vec::new();
        }
        let mut out: Vec<(DateTime<Utc>, DateTime<Utc>)> = self
            .intervals(date.weekday())
            .iter()
            .filter_map(|&(start, end)| {
                let s = self.to_instant(date.and_time(start))?;
                let e = if end == NaiveTime::MIN {
                    self.to_instant(date.succ_opt()?.and_time(NaiveTime::MIN))?
                } else {
                    self.to_instant(date.and_time(end))?
                };
                (s < e).then_some((s, e))
            })
            .collect();
        out.sort();
        let mut merged: Vec<(DateTime<Utc>, DateTime<Utc>)> = Vec::with_capacity(out.len());
        for (s, e) in out {
            match merged.last_mut() {
                Some(last) if s <= last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        merged
    }

    /// Whether the service is open at this instant (inside an interval `[start, end)`).
    pub fn is_open_at(&self, at: DateTime<Utc>) -> bool {
        self.open_intervals_on(self.local_date(at)).iter().any(|&(s, e)| s <= at && at < e)
    }

    /// The business time (time inside opening intervals) between two instants; zero when
    /// `to <= from`.
    pub fn business_time_between(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Duration {
        let mut total = Duration::zero();
        if to <= from || !self.has_open_hours() {
            return total;
        }
        let last = self.local_date(to);
        let mut date = self.local_date(from);
        // Never count an instant twice, even if a pathological zone made two days overlap.
        let mut cursor = from;
        while date <= last {
            for (s, e) in self.open_intervals_on(date) {
                let a = s.max(cursor);
                let b = e.min(to);
                if a < b {
                    total += b - a;
                    cursor = b;
                }
            }
            match date.succ_opt() {
                Some(d) => date = d,
                None => break,
            }
        }
        total
    }

    /// The instant at which `d` of business time has elapsed since `from`.
    ///
    /// Counting starts at `from` if the service is open then, else at the next opening. So
    /// `d = 0` gives `from` itself when open, else the next opening instant; a negative `d` counts
    /// as zero. When the time runs out exactly at the end of an interval, that end is returned
    /// (not the next opening). Always `business_time_between(from, result) == d`.
    ///
    /// `None` when the instant is not reached within [`MAX_SEARCH_DAYS`] local days after `from`
    /// (a calendar without opening hours, endless closures, an absurd duration).
    pub fn add_business_time(&self, from: DateTime<Utc>, d: Duration) -> Option<DateTime<Utc>> {
        if !self.has_open_hours() {
            return None;
        }
        let mut remaining = d.max(Duration::zero());
        let mut date = self.local_date(from);
        let mut cursor = from;
        for _ in 0..MAX_SEARCH_DAYS {
            for (s, e) in self.open_intervals_on(date) {
                let s = s.max(cursor);
                if s >= e {
                    continue;
                }
                let available = e - s;
                if remaining <= available {
                    return s.checked_add_signed(remaining);
                }
                remaining -= available;
                cursor = e;
            }
            date = date.succ_opt()?;
        }
        None
    }

    /// The first instant at or after `from` when the service is open (`add_business_time(from, 0)`).
    pub fn next_opening(&self, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
        self.add_business_time(from, Duration::zero())
    }
}

fn format_time(t: NaiveTime) -> String {
    if t.second() == 0 {
        t.format("%H:%M").to_string()
    } else {
        t.format("%H:%M:%S").to_string()
    }
}

fn format_end(t: NaiveTime) -> String {
    if t == NaiveTime::MIN {
        "24:00".to_owned()
    } else {
        format_time(t)
    }
}

/// An opening interval as written in forms and messages: "08:30-12:00" (seconds only when
/// there are some; an interval ending at midnight ends at "24:00").
pub fn format_interval(start: NaiveTime, end: NaiveTime) -> String {
    format!("{}-{}", format_time(start), format_end(end))
}

fn parse_time(raw: &str, is_end: bool) -> Option<NaiveTime> {
    let raw = raw.trim();
    if is_end && (raw == "24:00" || raw == "24:00:00") {
        return Some(NaiveTime::MIN);
    }
    NaiveTime::parse_from_str(raw, "%H:%M:%S").or_else(|_| NaiveTime::parse_from_str(raw, "%H:%M")).ok()
}

/// The JSON form of one week: intervals as `["HH:MM", "HH:MM"]` pairs per weekday.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeekJson {
    #[serde(default)]
    mon: Vec<(String, String)>,
    #[serde(default)]
    tue: Vec<(String, String)>,
    #[serde(default)]
    wed: Vec<(String, String)>,
    #[serde(default)]
    thu: Vec<(String, String)>,
    #[serde(default)]
    fri: Vec<(String, String)>,
    #[serde(default)]
    sat: Vec<(String, String)>,
    #[serde(default)]
    sun: Vec<(String, String)>,
}

impl WeekJson {
    fn days(self) -> [Vec<(String, String)>; 7] {
        [self.mon, self.tue, self.wed, self.thu, self.fri, self.sat, self.sun]
    }
}

/// A closure in JSON: a single date or an inclusive `[first, last]` pair.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(untagged)]
enum ClosureJson {
    Range(String, String),
    Day(String),
}

fn default_tz_name() -> String {
    "Europe/Paris".to_owned()
}

fn yes() -> bool {
    true
}

/// The JSON form of a [`BusinessCalendar`].
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct CalendarJson {
    #[serde(default = "default_tz_name")]
    tz: String,
    week: WeekJson,
    #[serde(default = "yes")]
    french_holidays: bool,
    #[serde(default)]
    alsace_moselle: bool,
    #[serde(default)]
    closures: Vec<ClosureJson>,
}

impl From<BusinessCalendar> for CalendarJson {
    fn from(c: BusinessCalendar) -> Self {
        let day = |i: usize| -> Vec<(String, String)> {
            c.week[i].iter().map(|&(s, e)| (format_time(s), format_end(e))).collect()
        };
        CalendarJson {
            tz: c.tz.name().to_owned(),
            week: WeekJson {
                mon: day(0),
                tue: day(1),
                wed: day(2),
                thu: day(3),
                fri: day(4),
                sat: day(5),
                sun: day(6),
            },
            french_holidays: c.french_holidays,
            alsace_moselle: c.alsace_moselle,
            closures: c.closures.iter().map(|(f, l)| ClosureJson::Range(f.to_string(), l.to_string())).collect(),
        }
    }
}

impl TryFrom<CalendarJson> for BusinessCalendar {
    type Error = ValidationErrors;

    fn try_from(raw: CalendarJson) -> Result<Self, Self::Error> {
        let mut errors = ValidationErrors::new();
        let tz = match raw.tz.trim().parse::<Tz>() {
            Ok(tz) => tz,
            Err(_) => {
                let shown: String = raw.tz.chars().take(60).collect();
                errors.add("tz", "tz_unknown", format!("unknown time zone '{shown}' (expected an IANA name)"));
                chrono_tz::Europe::Paris
            }
        };
        let mut week: [Vec<OpeningInterval>; 7] = Default::default();
        for ((key, slot), intervals) in WEEKDAY_KEYS.iter().zip(week.iter_mut()).zip(raw.week.days()) {
            for (n, (s, e)) in intervals.iter().enumerate() {
                match (parse_time(s, false), parse_time(e, true)) {
                    (Some(s), Some(e)) => slot.push((s, e)),
                    _ => errors.add(
                        &format!("week.{key}.{n}"),
                        "time_format",
                        format!(
                            "expected HH:MM times, got [{}, {}]",
                            s.chars().take(12).collect::<String>(),
                            e.chars().take(12).collect::<String>()
                        ),
                    ),
                }
            }
            slot.sort_by_key(|&(s, e)| (s, end_secs(e)));
        }
        let mut closures = Vec::with_capacity(raw.closures.len());
        for (n, c) in raw.closures.iter().enumerate() {
            let (first, last) = match c {
                ClosureJson::Range(f, l) => (f.as_str(), l.as_str()),
                ClosureJson::Day(d) => (d.as_str(), d.as_str()),
            };
            match (crate::validate::parse_date(first), crate::validate::parse_date(last)) {
                (Ok(f), Ok(l)) => closures.push((f, l)),
                _ => errors.add(&format!("closures.{n}"), "date_format", "expected YYYY-MM-DD dates"),
            }
        }
        let calendar = BusinessCalendar {
            tz,
            week,
            french_holidays: raw.french_holidays,
            alsace_moselle: raw.alsace_moselle,
            closures,
        };
        if errors.is_empty() {
            calendar.validate()?;
        } else if let Err(more) = calendar.validate() {
            // Report the structural problems too, except those caused by the refused entries.
            errors.fields.extend(more.fields.into_iter().filter(|f| f.code != "no_open_hours"));
        }
        errors.into_result()?;
        Ok(calendar)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    /// An instant from a Paris wall-clock time (must exist and be unambiguous).
    fn paris(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        chrono_tz::Europe::Paris.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap().with_timezone(&Utc)
    }

    fn utc(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().unwrap()
    }

    fn hours(h: i64) -> Duration {
        Duration::hours(h)
    }

    fn mins(m: i64) -> Duration {
        Duration::minutes(m)
    }

    #[test]
    fn easter_dates() {
        let known = [
            (2000, 4, 23),
            (2008, 3, 23),
            (2011, 4, 24),
            (2019, 4, 21),
            (2024, 3, 31),
            (2025, 4, 20),
            (2026, 4, 5),
            (2027, 3, 28),
            (2038, 4, 25),
            (2285, 3, 22),
            (1818, 3, 22),
        ];
        for (y, m, d) in known {
            assert_eq!(easter_sunday(y), Some(date(y, m, d)), "{y}");
        }
        for y in 1900..2200 {
            let e = easter_sunday(y).unwrap();
            assert_eq!(e.weekday(), Weekday::Sun);
            assert!(e >= date(y, 3, 22) && e <= date(y, 4, 25));
        }
    }

    #[test]
    fn french_holidays_2026() {
        let h = french_public_holidays(2026);
        let expected = [
            date(2026, 1, 1),
            date(2026, 4, 6),
            date(2026, 5, 1),
            date(2026, 5, 8),
            date(2026, 5, 14),
            date(2026, 5, 25),
            date(2026, 7, 14),
            date(2026, 8, 15),
            date(2026, 11, 1),
            date(2026, 11, 11),
            date(2026, 12, 25),
        ];
        assert_eq!(h, expected);
        assert_eq!(alsace_moselle_extra_holidays(2026), vec![date(2026, 4, 3), date(2026, 12, 26)]);
        // Ascension 2024 fell on 9 May, Whit Monday on 20 May.
        let h = french_public_holidays(2024);
        assert!(h.contains(&date(2024, 5, 9)) && h.contains(&date(2024, 5, 20)) && h.contains(&date(2024, 4, 1)));
    }

    #[test]
    fn holidays_follow_the_flags() {
        let mut cal = BusinessCalendar::default();
        assert!(cal.is_holiday(date(2026, 7, 14)));
        assert!(!cal.is_business_day(date(2026, 7, 14)));
        assert!(!cal.is_holiday(date(2026, 4, 3)));
        assert!(cal.is_business_day(date(2026, 4, 3)));
        assert!(cal.is_business_day(date(2026, 12, 28)));
        cal.alsace_moselle = true;
        assert!(cal.is_holiday(date(2026, 4, 3)));
        assert!(cal.is_holiday(date(2026, 12, 25)));
        assert_eq!(cal.holidays(2026).len(), 13);
        cal.french_holidays = false;
        assert!(cal.holidays(2026).is_empty());
        assert!(cal.is_business_day(date(2026, 7, 14)));
        assert!(cal.is_business_day(date(2026, 4, 3)));
    }

    #[test]
    fn business_days() {
        let cal = BusinessCalendar::default();
        assert!(cal.is_business_day(date(2026, 3, 2))); // Monday
        assert!(!cal.is_business_day(date(2026, 3, 7))); // Saturday
        assert!(!cal.is_business_day(date(2026, 3, 8))); // Sunday
        assert!(!cal.is_business_day(date(2026, 4, 6))); // Easter Monday
        assert!(!cal.is_business_day(date(2026, 5, 14))); // Ascension
        let mut cal = cal;
        cal.closures.push((date(2026, 12, 24), date(2026, 12, 31)));
        assert!(cal.is_closed(date(2026, 12, 24)) && cal.is_closed(date(2026, 12, 31)));
        assert!(!cal.is_closed(date(2026, 12, 23)) && !cal.is_closed(date(2027, 1, 1)));
        assert!(!cal.is_business_day(date(2026, 12, 28)));
        assert!(cal.is_business_day(date(2026, 12, 23)));
    }

    #[test]
    fn default_calendar_shape() {
        let cal = BusinessCalendar::default();
        assert_eq!(cal.tz, chrono_tz::Europe::Paris);
        assert_eq!(cal.intervals(Weekday::Mon), &[(hm(8, 30), hm(12, 0)), (hm(13, 30), hm(17, 30))]);
        assert_eq!(cal.intervals(Weekday::Fri).len(), 2);
        assert!(cal.intervals(Weekday::Sat).is_empty() && cal.intervals(Weekday::Sun).is_empty());
        assert!(cal.french_holidays && !cal.alsace_moselle && cal.closures.is_empty());
        assert!(cal.validate().is_ok());
        // 7.5 business hours a day, 37.5 a week.
        assert_eq!(cal.business_time_between(paris(2026, 3, 2, 0, 0), paris(2026, 3, 9, 0, 0)), mins(37 * 60 + 30));
    }

    #[test]
    fn within_a_day_and_lunch_break() {
        let cal = BusinessCalendar::default();
        // Tuesday 3 March 2026 (winter time, UTC+1).
        assert_eq!(cal.business_time_between(paris(2026, 3, 3, 9, 0), paris(2026, 3, 3, 11, 0)), hours(2));
        assert_eq!(cal.business_time_between(paris(2026, 3, 3, 11, 0), paris(2026, 3, 3, 14, 0)), hours(1) + mins(30));
        assert_eq!(cal.business_time_between(paris(2026, 3, 3, 12, 0), paris(2026, 3, 3, 13, 30)), Duration::zero());
        assert_eq!(cal.add_business_time(paris(2026, 3, 3, 11, 0), hours(2)), Some(paris(2026, 3, 3, 14, 30)));
        // Exactly consumed at 12:00: the end of the morning, not the afternoon opening.
        assert_eq!(cal.add_business_time(paris(2026, 3, 3, 11, 0), hours(1)), Some(paris(2026, 3, 3, 12, 0)));
        assert_eq!(
            cal.add_business_time(paris(2026, 3, 3, 11, 0), hours(1) + mins(1)),
            Some(paris(2026, 3, 3, 13, 31))
        );
        // During lunch: counting starts at 13:30.
        assert_eq!(cal.add_business_time(paris(2026, 3, 3, 12, 45), hours(1)), Some(paris(2026, 3, 3, 14, 30)));
        assert!(cal.is_open_at(paris(2026, 3, 3, 8, 30)));
        assert!(!cal.is_open_at(paris(2026, 3, 3, 12, 0)));
        assert!(!cal.is_open_at(paris(2026, 3, 3, 8, 29)));
    }

    #[test]
    fn reversed_or_empty_spans_are_zero() {
        let cal = BusinessCalendar::default();
        let a = paris(2026, 3, 3, 9, 0);
        assert_eq!(cal.business_time_between(a, a), Duration::zero());
        assert_eq!(cal.business_time_between(a, a - hours(5)), Duration::zero());
    }

    #[test]
    fn start_outside_hours() {
        let cal = BusinessCalendar::default();
        // Tuesday 07:00 + 1h -> 09:30; Tuesday 19:00 + 1h -> Wednesday 09:30.
        assert_eq!(cal.add_business_time(paris(2026, 3, 3, 7, 0), hours(1)), Some(paris(2026, 3, 3, 9, 30)));
        assert_eq!(cal.add_business_time(paris(2026, 3, 3, 19, 0), hours(1)), Some(paris(2026, 3, 4, 9, 30)));
        // Zero duration: itself when open, else the next opening.
        let open = paris(2026, 3, 3, 10, 17);
        assert_eq!(cal.add_business_time(open, Duration::zero()), Some(open));
        assert_eq!(cal.next_opening(paris(2026, 3, 3, 19, 0)), Some(paris(2026, 3, 4, 8, 30)));
        assert_eq!(cal.next_opening(paris(2026, 3, 3, 12, 0)), Some(paris(2026, 3, 3, 13, 30)));
        assert_eq!(cal.add_business_time(open, -hours(3)), Some(open));
    }

    #[test]
    fn weekends() {
        let cal = BusinessCalendar::default();
        // Friday 6 March 16:30 + 2h -> Monday 9 March 09:30.
        assert_eq!(cal.add_business_time(paris(2026, 3, 6, 16, 30), hours(2)), Some(paris(2026, 3, 9, 9, 30)));
        // Saturday + 1h -> Monday 09:30.
        assert_eq!(cal.add_business_time(paris(2026, 3, 7, 10, 0), hours(1)), Some(paris(2026, 3, 9, 9, 30)));
        assert_eq!(cal.business_time_between(paris(2026, 3, 6, 17, 0), paris(2026, 3, 9, 9, 0)), hours(1));
        // A full week of business time from Monday 08:30 ends on Friday 17:30 (not the next Monday).
        assert_eq!(
            cal.add_business_time(paris(2026, 3, 2, 8, 30), mins(37 * 60 + 30)),
            Some(paris(2026, 3, 6, 17, 30))
        );
    }

    #[test]
    fn french_holidays_are_skipped() {
        let cal = BusinessCalendar::default();
        // Monday 13 July 2026 17:00 + 1h: 14 July (Tuesday) is a holiday -> Wednesday 15 09:00.
        assert_eq!(cal.add_business_time(paris(2026, 7, 13, 17, 0), hours(1)), Some(paris(2026, 7, 15, 9, 0)));
        assert_eq!(cal.business_time_between(paris(2026, 7, 14, 0, 0), paris(2026, 7, 15, 0, 0)), Duration::zero());
        // Friday 3 April 16:30 + 2h: weekend then Easter Monday 6 April -> Tuesday 7 April 09:30.
        assert_eq!(cal.add_business_time(paris(2026, 4, 3, 16, 30), hours(2)), Some(paris(2026, 4, 7, 9, 30)));
        // Wednesday 13 May 17:00 + 1h: Ascension Thursday 14 May -> Friday 15 May 09:00.
        assert_eq!(cal.add_business_time(paris(2026, 5, 13, 17, 0), hours(1)), Some(paris(2026, 5, 15, 9, 0)));
        // With Alsace-Moselle, Good Friday 3 April is closed too.
        let mut am = cal.clone();
        am.alsace_moselle = true;
        assert_eq!(am.add_business_time(paris(2026, 4, 2, 17, 0), hours(1)), Some(paris(2026, 4, 7, 9, 0)));
        assert_eq!(cal.add_business_time(paris(2026, 4, 2, 17, 0), hours(1)), Some(paris(2026, 4, 3, 9, 0)));
    }

    #[test]
    fn closures_are_skipped() {
        let mut cal = BusinessCalendar::default();
        cal.closures.push((date(2026, 12, 24), date(2026, 12, 31)));
        // Wednesday 23 December 17:00 + 1h: closed 24-31, then 1 January 2027 (a Friday) is a
        // holiday, then the weekend: Monday 4 January 09:00.
        let got = cal.add_business_time(paris(2026, 12, 23, 17, 0), hours(1)).unwrap();
        assert_eq!(date(2027, 1, 1).weekday(), Weekday::Fri);
        assert_eq!(got, paris(2027, 1, 4, 9, 0));
        assert_eq!(cal.business_time_between(paris(2026, 12, 23, 17, 0), paris(2027, 1, 4, 9, 0)), hours(1));
        // A single-day closure.
        let mut cal = BusinessCalendar::default();
        cal.closures.push((date(2026, 3, 4), date(2026, 3, 4)));
        assert_eq!(cal.add_business_time(paris(2026, 3, 3, 17, 0), hours(1)), Some(paris(2026, 3, 5, 9, 0)));
    }

    #[test]
    fn dst_spring_forward_weekend() {
        let cal = BusinessCalendar::default();
        // Europe/Paris goes to summer time on Sunday 29 March 2026.
        let friday = paris(2026, 3, 27, 16, 30);
        assert_eq!(friday, utc(2026, 3, 27, 15, 30)); // UTC+1
        let due = cal.add_business_time(friday, hours(2)).unwrap();
        assert_eq!(due, paris(2026, 3, 30, 9, 30));
        assert_eq!(due, utc(2026, 3, 30, 7, 30)); // UTC+2
        assert_eq!(cal.business_time_between(friday, due), hours(2));
        // The weekend is 63 wall-clock hours but only 62 real ones; still no business time.
        assert_eq!(cal.business_time_between(paris(2026, 3, 27, 17, 30), paris(2026, 3, 30, 8, 30)), Duration::zero());
    }

    #[test]
    fn dst_fall_back_weekend() {
        let cal = BusinessCalendar::default();
        // Europe/Paris goes back to winter time on Sunday 25 October 2026.
        let friday = paris(2026, 10, 23, 16, 30);
        assert_eq!(friday, utc(2026, 10, 23, 14, 30)); // UTC+2
        let due = cal.add_business_time(friday, hours(2)).unwrap();
        assert_eq!(due, paris(2026, 10, 26, 9, 30));
        assert_eq!(due, utc(2026, 10, 26, 8, 30)); // UTC+1
        assert_eq!(cal.business_time_between(friday, due), hours(2));
    }

    #[test]
    fn dst_day_itself_counts_real_hours() {
        // A calendar open all Sunday: the spring-forward Sunday has 23 real hours, the autumn one 25.
        let mut cal = BusinessCalendar { french_holidays: false, ..BusinessCalendar::default() };
        cal.week[6] = vec![(NaiveTime::MIN, NaiveTime::MIN)];
        let spring = cal.open_intervals_on(date(2026, 3, 29));
        assert_eq!(spring, vec![(utc(2026, 3, 28, 23, 0), utc(2026, 3, 29, 22, 0))]);
        assert_eq!(spring[0].1 - spring[0].0, hours(23));
        let autumn = cal.open_intervals_on(date(2026, 10, 25));
        assert_eq!(autumn[0].1 - autumn[0].0, hours(25));
        // Saturday to Monday 00:00 local (Monday itself is open 08:30).
        assert_eq!(cal.business_time_between(utc(2026, 10, 24, 0, 0), utc(2026, 10, 25, 23, 0)), hours(25));
        assert_eq!(cal.business_time_between(utc(2026, 3, 28, 0, 0), utc(2026, 3, 29, 22, 0)), hours(23));
        assert_eq!(cal.business_time_between(utc(2026, 3, 28, 0, 0), utc(2026, 3, 31, 0, 0)), hours(23) + mins(450));
    }

    #[test]
    fn interval_boundaries_in_a_gap_or_a_fold() {
        let mut cal = BusinessCalendar { french_holidays: false, ..BusinessCalendar::default() };
        // 02:00 and 02:30 do not exist on 29 March 2026 (02:00 -> 03:00); 02:30 exists twice on
        // 25 October 2026 (03:00 -> 02:00).
        cal.week[6] = vec![(hm(2, 0), hm(4, 0))];
        let spring = cal.open_intervals_on(date(2026, 3, 29));
        // Starts at the transition (03:00 local = 01:00 UTC), ends 04:00 local = 02:00 UTC: one hour.
        assert_eq!(spring, vec![(utc(2026, 3, 29, 1, 0), utc(2026, 3, 29, 2, 0))]);
        let autumn = cal.open_intervals_on(date(2026, 10, 25));
        // 02:00 is ambiguous: earliest (UTC+2) = 00:00 UTC; 04:00 (UTC+1) = 03:00 UTC: three hours.
        assert_eq!(autumn, vec![(utc(2026, 10, 25, 0, 0), utc(2026, 10, 25, 3, 0))]);
        cal.week[6] = vec![(hm(1, 0), hm(2, 30))];
        let spring = cal.open_intervals_on(date(2026, 3, 29));
        // 01:00 (UTC+1) = 00:00 UTC; 02:30 is in the gap -> 01:00 UTC.
        assert_eq!(spring, vec![(utc(2026, 3, 29, 0, 0), utc(2026, 3, 29, 1, 0))]);
        cal.week[6] = vec![(hm(2, 15), hm(2, 45))];
        // Entirely inside the gap: nothing.
        assert!(cal.open_intervals_on(date(2026, 3, 29)).is_empty());
        assert!(cal.validate().is_ok());
    }

    #[test]
    fn other_time_zones() {
        let mut cal = BusinessCalendar {
            tz: chrono_tz::America::New_York,
            french_holidays: false,
            ..BusinessCalendar::default()
        };
        // US summer time starts on 8 March 2026: Monday 9 March 08:30 EDT = 12:30 UTC.
        assert_eq!(cal.next_opening(utc(2026, 3, 7, 12, 0)), Some(utc(2026, 3, 9, 12, 30)));
        assert_eq!(cal.next_opening(utc(2026, 3, 2, 0, 0)), Some(utc(2026, 3, 2, 13, 30)));
        cal.tz = chrono_tz::Pacific::Noumea;
        assert_eq!(cal.next_opening(utc(2026, 3, 1, 0, 0)), Some(utc(2026, 3, 1, 21, 30)));
    }

    #[test]
    fn no_open_hours_never_loops() {
        let cal = BusinessCalendar { week: Default::default(), ..BusinessCalendar::default() };
        let e = cal.validate().unwrap_err();
        assert_eq!(e.for_field("week").unwrap().code, "no_open_hours");
        let t = utc(2026, 3, 3, 9, 0);
        assert_eq!(cal.add_business_time(t, hours(1)), None);
        assert_eq!(cal.next_opening(t), None);
        assert_eq!(cal.business_time_between(t, t + Duration::days(3650)), Duration::zero());
        // Open hours but closed for ever: gives up after about three years.
        let mut closed = BusinessCalendar::default();
        closed.closures.push((date(2000, 1, 1), date(2100, 1, 1)));
        assert_eq!(closed.add_business_time(t, hours(1)), None);
        // An absurd duration on a valid calendar.
        let cal = BusinessCalendar::default();
        assert_eq!(cal.add_business_time(t, hours(24 * 365 * 3)), None);
        // Near the end of chrono's range: no panic.
        assert_eq!(cal.add_business_time(DateTime::<Utc>::MAX_UTC - Duration::days(2), hours(1000)), None);
        let _ = cal.business_time_between(DateTime::<Utc>::MAX_UTC - Duration::days(2), DateTime::<Utc>::MAX_UTC);
        let _ = cal.business_time_between(DateTime::<Utc>::MIN_UTC, DateTime::<Utc>::MIN_UTC + Duration::days(2));
    }

    #[test]
    fn validation_errors_per_field() {
        let mut cal = BusinessCalendar::default();
        cal.week[0] = vec![(hm(12, 0), hm(8, 0))];
        cal.week[1] = vec![(hm(8, 0), hm(12, 0)), (hm(11, 0), hm(14, 0))];
        cal.week[2] = vec![(hm(9, 0), hm(9, 0))];
        cal.closures = vec![(date(2026, 5, 2), date(2026, 5, 1))];
        let e = cal.validate().unwrap_err();
        assert_eq!(e.for_field("week.mon.0").unwrap().code, "interval_order");
        assert_eq!(e.for_field("week.tue.1").unwrap().code, "interval_overlap");
        assert_eq!(e.for_field("week.wed.0").unwrap().code, "interval_order");
        assert_eq!(e.for_field("closures.0").unwrap().code, "closure_order");
        assert_eq!(e.fields.len(), 4);
        // Touching intervals are fine; an interval up to midnight too.
        let mut cal = BusinessCalendar::default();
        cal.week[5] = vec![(hm(8, 0), hm(12, 0)), (hm(12, 0), NaiveTime::MIN)];
        assert!(cal.validate().is_ok());
        // Unsorted intervals are refused by validate (from_json sorts them).
        cal.week[5] = vec![(hm(14, 0), hm(16, 0)), (hm(8, 0), hm(12, 0))];
        assert_eq!(cal.validate().unwrap_err().for_field("week.sat.1").unwrap().code, "interval_overlap");
    }

    #[test]
    fn arithmetic_tolerates_an_unvalidated_calendar() {
        // Unsorted, overlapping and inverted intervals: counted once, inverted ones ignored.
        let mut cal = BusinessCalendar { french_holidays: false, ..BusinessCalendar::default() };
        cal.week[0] =
            vec![(hm(14, 0), hm(16, 0)), (hm(9, 0), hm(12, 0)), (hm(11, 0), hm(15, 0)), (hm(18, 0), hm(17, 0))];
        let monday = date(2026, 3, 2);
        assert_eq!(cal.open_intervals_on(monday), vec![(paris(2026, 3, 2, 9, 0), paris(2026, 3, 2, 16, 0))]);
        assert_eq!(cal.business_time_between(paris(2026, 3, 2, 0, 0), paris(2026, 3, 3, 0, 0)), hours(7));
    }

    #[test]
    fn json_shape_and_round_trip() {
        let cal = BusinessCalendar::default();
        let v = serde_json::to_value(&cal).unwrap();
        assert_eq!(v["tz"], "Europe/Paris");
        assert_eq!(v["week"]["mon"], serde_json::json!([["08:30", "12:00"], ["13:30", "17:30"]]));
        assert_eq!(v["week"]["sun"], serde_json::json!([]));
        assert_eq!(v["french_holidays"], true);
        assert_eq!(v["alsace_moselle"], false);
        assert_eq!(v["closures"], serde_json::json!([]));
        assert_eq!(serde_json::from_value::<BusinessCalendar>(v).unwrap(), cal);
        assert_eq!(BusinessCalendar::from_json(&cal.to_json()).unwrap(), cal);

        let mut custom = BusinessCalendar { tz: chrono_tz::Europe::Brussels, alsace_moselle: true, ..cal };
        custom.week[6] = vec![(hm(22, 0), NaiveTime::MIN)];
        custom.week[5] = vec![(NaiveTime::from_hms_opt(7, 15, 30).unwrap(), hm(9, 0))];
        custom.closures = vec![(date(2026, 8, 10), date(2026, 8, 21))];
        let json = serde_json::to_string(&custom).unwrap();
        assert!(json.contains(r#""sun":[["22:00","24:00"]]"#), "{json}");
        assert!(json.contains(r#""sat":[["07:15:30","09:00"]]"#), "{json}");
        assert!(json.contains(r#""closures":[["2026-08-10","2026-08-21"]]"#), "{json}");
        assert_eq!(serde_json::from_str::<BusinessCalendar>(&json).unwrap(), custom);
    }

    #[test]
    fn json_defaults_sorting_and_single_day_closures() {
        let cal = BusinessCalendar::from_json(
            r#"{"week": {"fri": [["13:30", "17:00"], [" 8:30", "12:00"]]}, "closures": ["2026-05-15", ["2026-12-24", "2026-12-31"]]}"#,
        )
        .unwrap();
        assert_eq!(cal.tz, chrono_tz::Europe::Paris);
        assert!(cal.french_holidays && !cal.alsace_moselle);
        assert_eq!(cal.intervals(Weekday::Fri), &[(hm(8, 30), hm(12, 0)), (hm(13, 30), hm(17, 0))]);
        assert!(cal.intervals(Weekday::Mon).is_empty());
        assert_eq!(
            cal.closures,
            vec![(date(2026, 5, 15), date(2026, 5, 15)), (date(2026, 12, 24), date(2026, 12, 31))]
        );
    }

    #[test]
    fn json_errors_per_field() {
        let e = BusinessCalendar::from_json("{").unwrap_err();
        assert_eq!(e.for_field("calendar").unwrap().code, "json_format");
        let e = BusinessCalendar::from_json(r#"{"week": {"mon": [["08:00","12:00"]]}, "weekk": 1}"#).unwrap_err();
        assert_eq!(e.for_field("calendar").unwrap().code, "json_format");
        let e = BusinessCalendar::from_json(r#"{"week": {"lun": [["08:00","12:00"]]}}"#).unwrap_err();
        assert_eq!(e.for_field("calendar").unwrap().code, "json_format");
        let e = BusinessCalendar::from_json(r#"{"tz": "Europe/Pariss", "week": {"mon": [["08:00","12:00"]]}}"#)
            .unwrap_err();
        assert_eq!(e.fields.len(), 1);
        assert_eq!(e.for_field("tz").unwrap().code, "tz_unknown");
        let e = BusinessCalendar::from_json(
            r#"{"week": {"mon": [["08:00","12:00"], ["8h","25:00"]], "tue": [["10:00","09:00"]], "wed": [["24:00","10:00"]]},
                "closures": ["2026-02-30", ["2026-05-02", "2026-05-01"]]}"#,
        )
        .unwrap_err();
        assert_eq!(e.for_field("week.mon.1").unwrap().code, "time_format");
        assert_eq!(e.for_field("week.tue.0").unwrap().code, "interval_order");
        assert_eq!(e.for_field("week.wed.0").unwrap().code, "time_format");
        assert_eq!(e.for_field("closures.0").unwrap().code, "date_format");
        assert!(e.fields.iter().any(|f| f.code == "closure_order"));
        let e = BusinessCalendar::from_json(r#"{"week": {}}"#).unwrap_err();
        assert_eq!(e.for_field("week").unwrap().code, "no_open_hours");
        let e =
            BusinessCalendar::from_json(r#"{"week": {"mon": [["09:00","12:00"], ["11:00","13:00"]]}}"#).unwrap_err();
        assert_eq!(e.for_field("week.mon.1").unwrap().code, "interval_overlap");
        // Through serde directly, the same checks refuse the value.
        assert!(serde_json::from_str::<BusinessCalendar>(r#"{"week": {}}"#).is_err());
    }

    /// Random calendars: 0-3 intervals a day on a 15-minute grid, random holidays flags.
    fn arb_calendar() -> impl Strategy<Value = BusinessCalendar> {
        let day = proptest::collection::vec((0u32..96, 1u32..24), 0..3).prop_map(|raw| {
            let mut out = Vec::new();
            let mut cursor = 0u32;
            for (gap, len) in raw {
                let s = cursor + gap % 16;
                let e = (s + len).min(96);
                if s >= 96 || s >= e {
                    break;
                }
                let t = |q: u32| if q == 96 { NaiveTime::MIN } else { hm(q / 4, (q % 4) * 15) };
                out.push((t(s), t(e)));
                cursor = e;
            }
            out
        });
        (proptest::array::uniform7(day), any::<bool>(), any::<bool>(), 0usize..3).prop_filter_map(
            "needs open hours",
            |(week, french_holidays, alsace_moselle, zone)| {
                let tz =
                    [chrono_tz::Europe::Paris, chrono_tz::America::New_York, chrono_tz::Australia::Lord_Howe][zone];
                let cal = BusinessCalendar { tz, week, french_holidays, alsace_moselle, closures: Vec::new() };
                cal.has_open_hours().then_some(cal)
            },
        )
    }

    /// Instants around 2026, with a bias towards the DST weekends.
    fn arb_instant() -> impl Strategy<Value = DateTime<Utc>> {
        prop_oneof![
            (0i64..(366 * 24 * 60)).prop_map(|m| utc(2026, 1, 1, 0, 0) + mins(m)),
            (0i64..(4 * 24 * 60)).prop_map(|m| utc(2026, 3, 27, 0, 0) + mins(m)),
            (0i64..(4 * 24 * 60)).prop_map(|m| utc(2026, 10, 23, 0, 0) + mins(m)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn add_then_measure_is_identity(from in arb_instant(), minutes in 0i64..(200 * 60), seconds in 0i64..60) {
            let cal = BusinessCalendar::default();
            let d = mins(minutes) + Duration::seconds(seconds);
            let to = cal.add_business_time(from, d).unwrap();
            prop_assert!(to >= from);
            prop_assert_eq!(cal.business_time_between(from, to), d);
            // Minimal: one second earlier, less business time has elapsed (unless d is zero).
            if d > Duration::zero() {
                prop_assert!(cal.business_time_between(from, to - Duration::seconds(1)) < d);
            }
        }

        #[test]
        fn identity_on_random_calendars(cal in arb_calendar(), from in arb_instant(), minutes in 0i64..(60 * 60)) {
            let d = mins(minutes);
            match cal.add_business_time(from, d) {
                Some(to) => {
                    prop_assert_eq!(cal.business_time_between(from, to), d);
                    prop_assert!(cal.is_open_at(to) || d > Duration::zero());
                }
                // A sparse calendar may not reach the target within the search horizon.
                None => {
                    let horizon = from + Duration::days(i64::from(MAX_SEARCH_DAYS) - 1);
                    prop_assert!(cal.business_time_between(from, horizon) < d);
                }
            }
        }

        #[test]
        fn between_is_additive(a in arb_instant(), b in arb_instant(), c in arb_instant()) {
            let cal = BusinessCalendar::default();
            let mut v = [a, b, c];
            v.sort();
            let [a, b, c] = v;
            prop_assert_eq!(cal.business_time_between(a, b) + cal.business_time_between(b, c), cal.business_time_between(a, c));
            prop_assert!(cal.business_time_between(a, c) <= c - a);
        }

        #[test]
        fn add_is_monotonic(from in arb_instant(), m1 in 0i64..(100 * 60), m2 in 0i64..(100 * 60)) {
            let cal = BusinessCalendar::default();
            let (lo, hi) = if m1 <= m2 { (m1, m2) } else { (m2, m1) };
            prop_assert!(cal.add_business_time(from, mins(lo)).unwrap() <= cal.add_business_time(from, mins(hi)).unwrap());
        }
    }
}
