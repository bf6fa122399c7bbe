//! An iCalendar (RFC 5545) feed, e.g. the planned interventions of a
//! technician, to subscribe to from Thunderbird, Outlook or a phone.
//!
//! Written by hand rather than with the `icalendar` crate: what a read-only
//! feed needs is a few fixed properties, and the parts that matter are
//! exactly the ones this module must control and test — CRLF line endings,
//! folding at 75 *octets* without splitting a UTF-8 character, TEXT escaping,
//! UTC date-times — plus a deterministic output (that crate stamps `DTSTAMP`
//! with the current time, which would change the feed, and its `ETag`, on
//! every request). It is about a hundred lines with no new dependency.
//!
//! All date-times are written in UTC ("Z" form), so no `VTIMEZONE` is needed.
//! There is no `METHOD` property, so `DTSTAMP` is, as RFC 5545 §3.8.7.2 says
//! for that case, the time the event was last revised: `last_modified`.

use std::fmt::Write as _;

use chrono::{DateTime, Utc};

/// `PRODID` of the calendars produced here.
pub const PRODID: &str = "-//Parc//Parc helpdesk//FR";
/// Longest content line, in octets, excluding the CRLF (RFC 5545 §3.1).
const LINE_LIMIT: usize = 75;

/// The `STATUS` of an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventStatus {
    /// `CONFIRMED`: the event will take place.
    Confirmed,
    /// `CANCELLED`: kept in the feed so that clients remove or strike it.
    Cancelled,
}

impl EventStatus {
    /// The RFC 5545 value, e.g. `"CONFIRMED"`.
    pub fn as_str(&self) -> &'static str {
        match self {
            EventStatus::Confirmed => "CONFIRMED",
            EventStatus::Cancelled => "CANCELLED",
        }
    }
}

/// One `VEVENT` of the feed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CalendarEvent {
    /// Globally unique and stable identifier, e.g.
    /// `"ticket-42-task-7@parc.mairie.example"`.
    pub uid: String,
    /// Title shown in the calendar.
    pub summary: String,
    /// Longer text; line breaks are kept.
    pub description: Option<String>,
    /// Where it takes place.
    pub location: Option<String>,
    /// Start.
    pub start: DateTime<Utc>,
    /// End; ignored unless after `start` (the event then has no duration).
    pub end: DateTime<Utc>,
    /// Link back to the ticket.
    pub url: Option<String>,
    /// Last change of the event, written as `LAST-MODIFIED` and `DTSTAMP`.
    pub last_modified: DateTime<Utc>,
    /// `STATUS`, omitted when `None`.
    pub status: Option<EventStatus>,
}

/// Renders a `VCALENDAR` named `name` (`X-WR-CALNAME`, omitted when empty)
/// holding `events`, as RFC 5545 text with CRLF line endings.
///
/// Texts are escaped and may hold anything: control characters other than
/// tabs and line breaks are dropped. The output is deterministic, so it can
/// be hashed for an `ETag`.
pub fn render_calendar(name: &str, events: &[CalendarEvent]) -> String {
    let mut out = String::new();
    line(&mut out, "BEGIN:VCALENDAR");
    line(&mut out, "VERSION:2.0");
    line(&mut out, &format!("PRODID:{PRODID}"));
    line(&mut out, "CALSCALE:GREGORIAN");
    if !name.trim().is_empty() {
        line(&mut out, &format!("X-WR-CALNAME:{}", escape_text(name.trim())));
    }
    for event in events {
        line(&mut out, "BEGIN:VEVENT");
        line(&mut out, &format!("UID:{}", escape_text(&event.uid)));
        line(&mut out, &format!("DTSTAMP:{}", utc(&event.last_modified)));
        line(&mut out, &format!("DTSTART:{}", utc(&event.start)));
        if event.end > event.start {
            line(&mut out, &format!("DTEND:{}", utc(&event.end)));
        }
        line(&mut out, &format!("SUMMARY:{}", escape_text(&event.summary)));
        let texts = [("DESCRIPTION", &event.description), ("LOCATION", &event.location)];
        for (property, value) in texts {
            if let Some(value) = value.as_deref().filter(|v| !v.trim().is_empty()) {
                line(&mut out, &format!("{property}:{}", escape_text(value)));
            }
        }
        if let Some(url) = event.url.as_deref().map(uri).filter(|u| !u.is_empty()) {
            line(&mut out, &format!("URL:{url}"));
        }
        if let Some(status) = event.status {
            line(&mut out, &format!("STATUS:{}", status.as_str()));
        }
        line(&mut out, &format!("LAST-MODIFIED:{}", utc(&event.last_modified)));
        line(&mut out, "END:VEVENT");
    }
    line(&mut out, "END:VCALENDAR");
    out
}

/// A UTC DATE-TIME value, e.g. `20260312T083000Z`.
fn utc(time: &DateTime<Utc>) -> String {
    let mut out = String::with_capacity(16);
    // Writing to a String cannot fail.
    let _ = write!(out, "{}", time.format("%Y%m%dT%H%M%SZ"));
    out
}

/// Escapes a TEXT value (RFC 5545 §3.3.11): backslash, semicolon and comma
/// are backslash-escaped, line breaks (CRLF, CR or LF) become `\n`, and
/// control characters other than the tab, which TEXT does not allow, are
/// dropped.
fn escape_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\r' => {
                chars.next_if_eq(&'\n');
                out.push_str("\\n");
            }
            '\n' => out.push_str("\\n"),
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// A URI value: URIs are not escaped, so characters that cannot appear in
/// one (controls, which would break the line structure) are dropped and
/// spaces percent-encoded.
fn uri(url: &str) -> String {
    url.trim().chars().filter(|c| !c.is_control()).fold(String::with_capacity(url.len()), |mut out, c| {
        if c == ' ' {
            out.push_str("%20");
        } else {
            out.push(c);
        }
        out
    })
}

/// Appends one content line, folded (RFC 5545 §3.1): no physical line is
/// longer than 75 octets, continuation lines start with one space (which
/// counts), and a UTF-8 character is never split.
fn line(out: &mut String, content: &str) {
    let mut width = 0;
    for c in content.chars() {
        let octets = c.len_utf8();
        if width + octets > LINE_LIMIT {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += octets;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 3, 12, h, m, 0).unwrap()
    }

    fn event(uid: &str, summary: &str) -> CalendarEvent {
        CalendarEvent {
            uid: uid.into(),
            summary: summary.into(),
            description: None,
            location: None,
            start: at(8, 30),
            end: at(10, 0),
            url: None,
            last_modified: at(7, 5),
            status: None,
        }
    }

    /// Undoes the folding: removes every CRLF followed by a space.
    fn unfold(text: &str) -> String {
        text.replace("\r\n ", "")
    }

    #[test]
    fn structure() {
        let mut e = event("ticket-42@parc.example", "Écran noir");
        e.url = Some("https://parc.example/helpdesk/tickets/42".into());
        e.status = Some(EventStatus::Confirmed);
        let ics = render_calendar("Interventions — Jean", &[e]);
        assert!(ics.ends_with("END:VCALENDAR\r\n"));
        assert!(!ics.replace("\r\n", "").contains('\n'), "bare LF in {ics:?}");
        assert!(!ics.replace("\r\n", "").contains('\r'), "bare CR in {ics:?}");
        let lines: Vec<&str> = ics.split("\r\n").collect();
        for expected in [
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//Parc//Parc helpdesk//FR",
            "CALSCALE:GREGORIAN",
            "X-WR-CALNAME:Interventions — Jean",
            "BEGIN:VEVENT",
            "UID:ticket-42@parc.example",
            "DTSTAMP:20260312T070500Z",
            "DTSTART:20260312T083000Z",
            "DTEND:20260312T100000Z",
            "SUMMARY:Écran noir",
            "URL:https://parc.example/helpdesk/tickets/42",
            "STATUS:CONFIRMED",
            "LAST-MODIFIED:20260312T070500Z",
            "END:VEVENT",
        ] {
            assert!(lines.contains(&expected), "missing {expected:?} in {ics}");
        }
        // Optional properties are left out.
        assert!(!ics.contains("DESCRIPTION") && !ics.contains("LOCATION"));

        let mut cancelled = event("x", "y");
        cancelled.status = Some(EventStatus::Cancelled);
        cancelled.end = cancelled.start;
        let ics = render_calendar("", &[cancelled]);
        assert!(ics.contains("\r\nSTATUS:CANCELLED\r\n"));
        assert!(!ics.contains("DTEND"), "an empty duration has no DTEND");
        assert!(!ics.contains("X-WR-CALNAME"));
    }

    #[test]
    fn folds_at_75_octets_without_splitting_characters() {
        let summary: String =
            "Réparation de l’écran à l’accueil, bâtiment Œuvre — ".repeat(4).chars().take(200).collect();
        assert_eq!(summary.chars().count(), 200);
        let ics = render_calendar("Parc", &[event("long", &summary)]);
        for physical in ics.split("\r\n") {
            assert!(physical.len() <= LINE_LIMIT, "{} octets: {physical:?}", physical.len());
        }
        // The pieces are valid UTF-8 (split on str boundaries) and the
        // summary comes back whole once unfolded.
        let unfolded = unfold(&ics);
        let expected = format!("SUMMARY:{}", escape_text(&summary));
        assert!(unfolded.split("\r\n").any(|l| l == expected), "{unfolded}");
        let folded = ics.split("\r\n").filter(|l| l.starts_with(' ')).count();
        assert!(folded >= 3, "a 200-character summary spans several lines: {ics}");

        // A line of exactly 75 octets is not folded; one more octet is.
        let mut out = String::new();
        line(&mut out, &"a".repeat(75));
        assert_eq!(out, format!("{}\r\n", "a".repeat(75)));
        out.clear();
        line(&mut out, &format!("{}é", "a".repeat(74)));
        assert_eq!(out, format!("{}\r\n é\r\n", "a".repeat(74)));
    }

    #[test]
    fn escapes_text() {
        assert_eq!(escape_text(r"a\b;c,d"), r"a\\b\;c\,d");
        assert_eq!(escape_text("l1\r\nl2\nl3\rl4"), r"l1\nl2\nl3\nl4");
        assert_eq!(escape_text("tab\there\u{7}bell"), "tab\therebell");
        assert_eq!(escape_text("a\u{0}b"), "ab");
        let mut e = event("uid;1,2", "Réunion; point, suite");
        e.description = Some("Ligne 1\nLigne 2 \\ fin".into());
        e.location = Some("Mairie, salle 3".into());
        e.url = Some("https://parc.example/a b\r\nINJECTED:1".into());
        let ics = unfold(&render_calendar("A, B; C", &[e]));
        let lines: Vec<&str> = ics.split("\r\n").collect();
        assert!(lines.contains(&r"UID:uid\;1\,2"), "{ics}");
        assert!(lines.contains(&r"SUMMARY:Réunion\; point\, suite"), "{ics}");
        assert!(lines.contains(&r"DESCRIPTION:Ligne 1\nLigne 2 \\ fin"), "{ics}");
        assert!(lines.contains(&r"LOCATION:Mairie\, salle 3"), "{ics}");
        assert!(lines.contains(&r"X-WR-CALNAME:A\, B\; C"), "{ics}");
        assert!(lines.contains(&"URL:https://parc.example/a%20bINJECTED:1"), "{ics}");
        assert!(!lines.iter().any(|l| l.starts_with("INJECTED")));
    }

    #[test]
    fn empty_calendar() {
        let ics = render_calendar("Vide", &[]);
        assert_eq!(
            ics,
            "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Parc//Parc helpdesk//FR\r\nCALSCALE:GREGORIAN\r\n\
             X-WR-CALNAME:Vide\r\nEND:VCALENDAR\r\n"
        );
    }

    /// Parses the feed with Python's `icalendar` package, an independent
    /// implementation, and compares what it reads back.
    #[test]
    fn round_trips_through_python_icalendar() {
        let test = "ical::round_trips_through_python_icalendar";
        let install = "python3 -m pip install icalendar";
        if !crate::test_tools::available(test, "python3", &["-c", "import icalendar"], install) {
            return;
        }
        let long: String =
            "Remplacement de l’écran, du clavier; et de la souris — ".repeat(5).chars().take(200).collect();
        let mut first = event("ticket-42-1@parc.example", &long);
        first.description = Some("Ligne 1\nLigne 2, avec virgule; point-virgule \\ barre".into());
        first.location = Some("Mairie > Bâtiment A > Salle 12".into());
        first.url = Some("https://parc.example/helpdesk/tickets/42".into());
        first.status = Some(EventStatus::Confirmed);
        let mut second = event("ticket-43-1@parc.example", "Écran noir après mise à jour");
        second.start = Utc.with_ymd_and_hms(2026, 12, 31, 23, 45, 0).unwrap();
        second.end = Utc.with_ymd_and_hms(2027, 1, 1, 0, 15, 0).unwrap();
        second.status = Some(EventStatus::Cancelled);
        let events = [first, second];

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("feed.ics");
        std::fs::write(&path, render_calendar("Interventions", &events)).unwrap();
        let script = r#"
import json, sys, icalendar
with open(sys.argv[1], "rb") as f:
    cal = icalendar.Calendar.from_ical(f.read())
out = {"name": str(cal.get("X-WR-CALNAME")), "prodid": str(cal.get("PRODID")), "events": []}
for e in cal.walk("VEVENT"):
    out["events"].append({
        "uid": str(e.get("UID")),
        "summary": str(e.get("SUMMARY")),
        "description": str(e.get("DESCRIPTION")),
        "location": str(e.get("LOCATION")),
        "start": e.decoded("DTSTART").isoformat(),
        "end": e.decoded("DTEND").isoformat(),
        "status": str(e.get("STATUS")),
    })
print(json.dumps(out, ensure_ascii=False))
"#;
        let json = crate::test_tools::run("python3", &["-c", script], &path, &[]);
        let parsed: serde_json::Value = serde_json::from_str(json.trim()).expect("JSON from python");
        assert_eq!(parsed["name"], "Interventions");
        assert_eq!(parsed["prodid"], PRODID);
        let read = parsed["events"].as_array().expect("events");
        assert_eq!(read.len(), 2);
        for (read, event) in read.iter().zip(&events) {
            assert_eq!(read["uid"], event.uid.as_str());
            assert_eq!(read["summary"], event.summary.as_str());
            assert_eq!(read["start"], event.start.format("%Y-%m-%dT%H:%M:%S+00:00").to_string());
            assert_eq!(read["end"], event.end.format("%Y-%m-%dT%H:%M:%S+00:00").to_string());
            assert_eq!(read["status"], event.status.map(|s| s.as_str()).unwrap_or("None"));
        }
        assert_eq!(read[0]["description"], events[0].description.as_deref().unwrap());
        assert_eq!(read[0]["location"], "Mairie > Bâtiment A > Salle 12");
    }
}
