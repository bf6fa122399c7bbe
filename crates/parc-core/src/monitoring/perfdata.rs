//! The Nagios plugin output grammar
//! (<https://www.monitoring-plugins.org/doc/guidelines.html#AEN200>):
//!
//! ```text
//! TEXT OUTPUT | OPTIONAL PERFDATA
//! LONG TEXT LINE 1
//! LONG TEXT LINE 2
//! LONG TEXT LINE N | PERFDATA LINE 2
//! PERFDATA LINE 3
//! ```
//!
//! The first line is the summary, cut at its first `|`. The following lines are long output
//! up to the first `|` among them; everything after that `|` is more performance data.
//!
//! Performance data is a list of items separated by white space (a `|` also separates):
//!
//! ```text
//! 'label'=value[UOM];[warn];[crit];[min];[max]
//! ```
//!
//! The label is quoted with single quotes when it holds spaces (`''` inside quotes is one
//! quote); trailing fields and their semicolons may be left out; `warn` and `crit` are
//! threshold [`Range`]s; `value` may be `U` when the plugin could not measure it.
//!
//! Reading never fails and never panics: an item that cannot be read becomes a message in
//! [`PluginOutput::perfdata_errors`] and the other items are kept.

use super::threshold::Range;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;

/// The unit of a performance value. The guideline units have their own variant; any other
/// unit a plugin prints (`b/s`, `dBm`, `rpm`, `kB`…) is kept as given in [`Uom::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Uom {
    /// No unit: a plain number (a count of users, a load average).
    None,
    /// `s`: seconds.
    Seconds,
    /// `ms`: milliseconds.
    Milliseconds,
    /// `us`: microseconds.
    Microseconds,
    /// `%`: a percentage.
    Percent,
    /// `B`: bytes.
    Bytes,
    /// `KB`: kilobytes.
    Kilobytes,
    /// `MB`: megabytes.
    Megabytes,
    /// `GB`: gigabytes.
    Gigabytes,
    /// `TB`: terabytes.
    Terabytes,
    /// `c`: a continuous counter (bytes sent since boot, …); graphs show its rate.
    Counter,
    /// Any other unit, exactly as the plugin printed it.
    Other(String),
}

impl Uom {
    /// The unit read from a plugin's text (case-sensitive: `kb` is not `KB`).
    pub fn from_text(text: &str) -> Uom {
        match text {
            "" => Uom::None,
            "s" => Uom::Seconds,
            "ms" => Uom::Milliseconds,
            "us" => Uom::Microseconds,
            "%" => Uom::Percent,
            "B" => Uom::Bytes,
            "KB" => Uom::Kilobytes,
            "MB" => Uom::Megabytes,
            "GB" => Uom::Gigabytes,
            "TB" => Uom::Terabytes,
            "c" => Uom::Counter,
            other => Uom::Other(other.to_owned()),
        }
    }

    /// The unit as a plugin prints it (empty for [`Uom::None`]).
    pub fn as_str(&self) -> &str {
        match self {
            Uom::None => "",
            Uom::Seconds => "s",
            Uom::Milliseconds => "ms",
            Uom::Microseconds => "us",
            Uom::Percent => "%",
            Uom::Bytes => "B",
            Uom::Kilobytes => "KB",
            Uom::Megabytes => "MB",
            Uom::Gigabytes => "GB",
            Uom::Terabytes => "TB",
            Uom::Counter => "c",
            Uom::Other(text) => text,
        }
    }
}

impl fmt::Display for Uom {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for Uom {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for Uom {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Ok(Uom::from_text(&String::deserialize(deserializer)?))
    }
}

/// One performance data item: `'label'=value[UOM];[warn];[crit];[min];[max]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PerfData {
    /// The label, unquoted (`''` already turned into `'`). Never empty.
    pub label: String,
    /// The measured value; `None` when the plugin printed `U` (it could not measure). The item
    /// is kept rather than dropped so that a graph shows a gap for that metric, with its
    /// thresholds, rather than forgetting it.
    pub value: Option<f64>,
    /// The unit of `value`, `warn`, `crit`, `min` and `max`.
    pub uom: Uom,
    /// The warning range, if given.
    pub warn: Option<Range>,
    /// The critical range, if given.
    pub crit: Option<Range>,
    /// The smallest possible value, if given.
    pub min: Option<f64>,
    /// The largest possible value, if given.
    pub max: Option<f64>,
}

/// A plugin's output, read by [`parse_output`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PluginOutput {
    /// The first line before its first `|`, trimmed.
    pub summary: String,
    /// The following lines up to the first `|` among them, without trailing white space.
    /// Lines are joined with `\n` (a `\r\n` ending is read as `\n`).
    pub long_output: String,
    /// The items that could be read, in order, from the first line then the long output.
    pub perfdata: Vec<PerfData>,
    /// One message per item that could not be read, at most [`MAX_PERFDATA_ERRORS`] of them
    /// plus a last one counting the rest.
    pub perfdata_errors: Vec<String>,
}

/// How many items' errors are described one by one; the others are counted in one message, so
/// a plugin printing megabytes of garbage after a `|` yields a bounded list.
pub const MAX_PERFDATA_ERRORS: usize = 20;

/// How much of an unreadable item is quoted in its error message (in characters).
const QUOTE_CHARS: usize = 60;

/// Reads a plugin's text output: summary, long output and performance data.
pub fn parse_output(text: &str) -> PluginOutput {
    let (first, rest) = text.split_once('\n').unwrap_or((text, ""));
    let first = first.strip_suffix('\r').unwrap_or(first);
    let (summary, perf_first) = first.split_once('|').unwrap_or((first, ""));

    let rest = rest.replace("\r\n", "\n");
    let (long_output, perf_long) = rest.split_once('|').unwrap_or((&rest, ""));

    let mut out = PluginOutput {
        summary: summary.trim().to_owned(),
        long_output: long_output.trim_end().to_owned(),
        ..PluginOutput::default()
    };
    let mut failed = 0usize;
    for part in [perf_first, perf_long] {
        for item in split_items(part) {
            match item.and_then(parse_item) {
                Ok(data) => out.perfdata.push(data),
                Err(message) => {
                    failed += 1;
                    if failed <= MAX_PERFDATA_ERRORS {
                        out.perfdata_errors.push(message);
                    }
                }
            }
        }
    }
    if failed > MAX_PERFDATA_ERRORS {
        out.perfdata_errors
            .push(format!("{} more performance data items could not be read", failed - MAX_PERFDATA_ERRORS));
    }
    out
}

/// An item as split from the text: its label (unquoted) and what follows its `=`.
struct RawItem {
    label: String,
    value: String,
    /// The item's text, for error messages.
    text: String,
}

fn is_separator(c: char) -> bool {
    c.is_whitespace() || c == '|'
}

/// The first `QUOTE_CHARS` characters of `text`, with `…` when it was longer.
fn quote(text: &str) -> String {
    let mut chars = text.chars();
    let mut quoted: String = chars.by_ref().take(QUOTE_CHARS).collect();
    if chars.next().is_some() {
        quoted.push('…');
    }
    quoted
}

/// Splits performance data text into items. A quoted label may hold spaces, `=` and `|`;
/// an unquoted label runs up to `=`; the value runs up to the next separator.
fn split_items(text: &str) -> Vec<Result<RawItem, String>> {
    let mut items = Vec::new();
    let mut rest = text;
    loop {
        rest = rest.trim_start_matches(is_separator);
        if rest.is_empty() {
            return items;
        }
        let (label, after_label) = if let Some(quoted) = rest.strip_prefix('\'') {
            match read_quoted(quoted) {
                Some((label, after)) => (label, after),
                None => {
                    // Without its closing quote the label swallows the rest: nothing more to read.
                    items.push(Err(format!("'{}': the quoted label has no closing quote", quote(rest))));
                    return items;
                }
            }
        } else {
            let end = rest.find(|c: char| c == '=' || is_separator(c)).unwrap_or(rest.len());
            (rest[..end].to_owned(), &rest[end..])
        };
        let Some(value_start) = after_label.strip_prefix('=') else {
            // No `=` right after the label: skip this word (up to the next separator).
            let end = after_label.find(is_separator).unwrap_or(after_label.len());
            let consumed = rest.len() - after_label.len() + end;
            items.push(Err(format!("'{}': no '=' between label and value", quote(&rest[..consumed]))));
            rest = &rest[consumed..];
            continue;
        };
        let end = value_start.find(is_separator).unwrap_or(value_start.len());
        let consumed = rest.len() - value_start.len() + end;
        let text = &rest[..consumed];
        let item = RawItem { label, value: value_start[..end].to_owned(), text: text.to_owned() };
        items.push(if item.label.is_empty() {
            Err(format!("'{}': the label is empty", quote(text)))
        } else {
            Ok(item)
        });
        rest = &rest[consumed..];
    }
}

/// Reads a quoted label after its opening quote: `''` is one quote, a lone `'` closes it.
/// Returns the label and the text after the closing quote, or `None` if it never closes.
fn read_quoted(text: &str) -> Option<(String, &str)> {
    let mut label = String::new();
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\'' {
            label.push(c);
        } else if chars.peek().is_some_and(|&(_, next)| next == '\'') {
            chars.next();
            label.push('\'');
        } else {
            return Some((label, &text[i + 1..]));
        }
    }
    None
}

/// Reads `value[UOM];[warn];[crit];[min];[max]` of one item.
fn parse_item(item: RawItem) -> Result<PerfData, String> {
    let fail = |why: String| format!("'{}': {why}", quote(&item.text));
    let fields: Vec<&str> = item.value.split(';').collect();
    if fields.len() > 5 {
        return Err(fail(format!("{} fields, at most 5 (value;warn;crit;min;max)", fields.len())));
    }
    let field = |i: usize| fields.get(i).copied().filter(|f| !f.is_empty());

    let (value, uom) = match fields[0] {
        "" => return Err(fail("the value is empty".into())),
        "U" => (None, Uom::None),
        text => {
            let (number, unit) = text.split_at(number_prefix(text));
            let value = parse_number(number).ok_or_else(|| fail(format!("'{}' is not a number", quote(text))))?;
            if !unit.chars().all(is_unit_char) {
                return Err(fail(format!("'{}' is not a unit", quote(unit))));
            }
            (Some(value), Uom::from_text(unit))
        }
    };
    let range = |i: usize, name: &str| {
        field(i)
            .map(|text| Range::parse(text).map_err(|e| fail(format!("{name} threshold '{}': {e}", quote(text)))))
            .transpose()
    };
    let bound = |i: usize, name: &str| {
        field(i)
            .map(|text| parse_number(text).ok_or_else(|| fail(format!("{name} '{}' is not a number", quote(text)))))
            .transpose()
    };
    Ok(PerfData {
        warn: range(1, "warning")?,
        crit: range(2, "critical")?,
        min: bound(3, "min")?,
        max: bound(4, "max")?,
        label: item.label,
        value,
        uom,
    })
}

/// The length of the numeric start of `text`: sign, digits and point, then an exponent if one
/// follows (`1e3`, `2.5E-4`; the `E` of a unit such as `EB` is not taken as an exponent).
fn number_prefix(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut end = bytes.iter().take_while(|b| b.is_ascii_digit() || matches!(b, b'.' | b'+' | b'-')).count();
    if matches!(bytes.get(end), Some(b'e' | b'E')) {
        let mut exp = end + 1;
        if matches!(bytes.get(exp), Some(b'+' | b'-')) {
            exp += 1;
        }
        let digits = bytes[exp..].iter().take_while(|b| b.is_ascii_digit()).count();
        if digits > 0 {
            end = exp + digits;
        }
    }
    end
}

/// A finite decimal number (not `inf` or `NaN`, which Rust would otherwise accept).
fn parse_number(text: &str) -> Option<f64> {
    text.parse::<f64>().ok().filter(|n| n.is_finite())
}

/// A unit holds no digit, sign, point or comma: `0,5` (a decimal comma) is refused rather than
/// read as 0 with the unit `,5`.
fn is_unit_char(c: char) -> bool {
    !(c.is_ascii_digit() || matches!(c, '.' | ',' | '+' | '-' | '=' | '\''))
}

/// What ends output cut by [`truncate_output`].
pub const TRUNCATION_MARKER: &str = "\n[output truncated]";

/// Turns a plugin's raw output into text of at most `max_bytes` bytes (UTF-8).
///
/// Invalid UTF-8 sequences and NUL characters (which PostgreSQL text refuses) become U+FFFD.
/// When the text is longer than `max_bytes`, it is cut at a character boundary and
/// [`TRUNCATION_MARKER`] is appended, the whole staying within `max_bytes`; if `max_bytes` is
/// smaller than the marker, the result is the marker alone.
pub fn truncate_output(raw: &[u8], max_bytes: usize) -> String {
    const REPLACEMENT: char = char::REPLACEMENT_CHARACTER;
    let mut out = String::with_capacity(raw.len().min(max_bytes));
    for chunk in raw.utf8_chunks() {
        let valid = chunk.valid().chars().map(|c| if c == '\0' { REPLACEMENT } else { c });
        let invalid = (!chunk.invalid().is_empty()).then_some(REPLACEMENT);
        for c in valid.chain(invalid) {
            if out.len() + c.len_utf8() > max_bytes {
                let mut cut = max_bytes.saturating_sub(TRUNCATION_MARKER.len()).min(out.len());
                while !out.is_char_boundary(cut) {
                    cut -= 1;
                }
                out.truncate(cut);
                out.push_str(TRUNCATION_MARKER);
                return out;
            }
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn range(text: &str) -> Option<Range> {
        Some(Range::parse(text).unwrap())
    }

    /// An item with only a label, value and unit.
    fn item(label: &str, value: f64, uom: Uom) -> PerfData {
        PerfData { label: label.into(), value: Some(value), uom, warn: None, crit: None, min: None, max: None }
    }

    /// Parses `text` as the first line's performance data, expecting no error.
    fn perf(text: &str) -> Vec<PerfData> {
        let out = parse_output(&format!("OK | {text}"));
        assert!(out.perfdata_errors.is_empty(), "{text}: {:?}", out.perfdata_errors);
        out.perfdata
    }

    #[test]
    fn guideline_examples() {
        assert_eq!(
            perf("time=0.06s;;;0.000000 size=2767B;;;0"),
            vec![
                PerfData { min: Some(0.0), ..item("time", 0.06, Uom::Seconds) },
                PerfData { min: Some(0.0), ..item("size", 2767.0, Uom::Bytes) },
            ]
        );
        assert_eq!(
            perf("'/'=2643MB;5948;5958;0;5968"),
            vec![PerfData {
                warn: range("5948"),
                crit: range("5958"),
                min: Some(0.0),
                max: Some(5968.0),
                ..item("/", 2643.0, Uom::Megabytes)
            }]
        );
        assert_eq!(
            perf("rta=0.072000ms;3000.000000;5000.000000;0.000000 pl=0%;80;100;0"),
            vec![
                PerfData {
                    warn: range("3000"),
                    crit: range("5000"),
                    min: Some(0.0),
                    ..item("rta", 0.072, Uom::Milliseconds)
                },
                PerfData { warn: range("80"), crit: range("100"), min: Some(0.0), ..item("pl", 0.0, Uom::Percent) },
            ]
        );
    }

    #[test]
    fn check_disk_with_long_output() {
        let text = "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968\n\
                    / 15272 MB (77%);\n\
                    /boot 68 MB (69%);\n\
                    /home 69357 MB (27%);\n\
                    /var/log 819 MB (84%); | /boot=68MB;88;93;0;98\n\
                    /home=69357MB;253404;253409;0;253414\n\
                    /var/log=818MB;970;975;0;980\n";
        let out = parse_output(text);
        assert_eq!(out.summary, "DISK OK - free space: / 3326 MB (56%);");
        assert_eq!(
            out.long_output,
            "/ 15272 MB (77%);\n/boot 68 MB (69%);\n/home 69357 MB (27%);\n/var/log 819 MB (84%);"
        );
        assert_eq!(out.perfdata_errors, Vec::<String>::new());
        let summary: Vec<_> = out
            .perfdata
            .iter()
            .map(|p| (p.label.as_str(), p.value, p.uom.as_str(), p.warn.map(|r| r.to_string()), p.max))
            .collect();
        assert_eq!(
            summary,
            vec![
                ("/", Some(2643.0), "MB", Some("5948".into()), Some(5968.0)),
                ("/boot", Some(68.0), "MB", Some("88".into()), Some(98.0)),
                ("/home", Some(69357.0), "MB", Some("253404".into()), Some(253414.0)),
                ("/var/log", Some(818.0), "MB", Some("970".into()), Some(980.0)),
            ]
        );
    }

    #[test]
    fn outputs() {
        // (text, summary, long output, labels of the perfdata, number of errors)
        let cases: &[(&str, &str, &str, &[&str], usize)] = &[
            ("", "", "", &[], 0),
            ("OK", "OK", "", &[], 0),
            ("OK\n", "OK", "", &[], 0),
            ("PING OK - rta 0.07ms |", "PING OK - rta 0.07ms", "", &[], 0),
            ("OK|a=1", "OK", "", &["a"], 0),
            ("  OK - spaced  | a=1 b=2  ", "OK - spaced", "", &["a", "b"], 0),
            ("OK | a=1\r\nline 1\r\nline 2\r\n", "OK", "line 1\nline 2", &["a"], 0),
            ("OK\nline 1\nline 2 | b=2\nc=3", "OK", "line 1\nline 2", &["b", "c"], 0),
            ("OK\n\nafter a blank line\n", "OK", "\nafter a blank line", &[], 0),
            ("OK | a=1 | b=2", "OK", "", &["a", "b"], 0),
            ("OK | a=1\nlong | b=2 | c=3", "OK", "long", &["a", "b", "c"], 0),
            ("CRITICAL - no perfdata but | garbage here", "CRITICAL - no perfdata but", "", &[], 2),
            ("OK | a=1 junk b=2", "OK", "", &["a", "b"], 1),
            ("OK | a=1 b=x c=3", "OK", "", &["a", "c"], 1),
        ];
        for &(text, summary, long_output, labels, errors) in cases {
            let out = parse_output(text);
            assert_eq!(out.summary, summary, "{text:?}");
            assert_eq!(out.long_output, long_output, "{text:?}");
            let got: Vec<_> = out.perfdata.iter().map(|p| p.label.as_str()).collect();
            assert_eq!(got, labels, "{text:?}");
            assert_eq!(out.perfdata_errors.len(), errors, "{text:?}: {:?}", out.perfdata_errors);
        }
    }

    #[test]
    fn labels() {
        let cases: &[(&str, &[&str])] = &[
            ("'label with spaces'=1", &["label with spaces"]),
            ("'it''s'=1", &["it's"]),
            ("'''quoted'''=1", &["'quoted'"]),
            ("'a=b'=1 'c|d'=2", &["a=b", "c|d"]),
            ("'C:\\ Label: Serial Number 1234'=20GB;;;0;40", &["C:\\ Label: Serial Number 1234"]),
            ("/=1MB /boot=2MB 'Disk D:'=3MB", &["/", "/boot", "Disk D:"]),
            ("été=1 'température °C'=21", &["été", "température °C"]),
            ("a=1\tb=2\n", &["a", "b"]),
        ];
        for &(text, labels) in cases {
            let got: Vec<_> = perf(text).into_iter().map(|p| p.label).collect();
            assert_eq!(got, labels, "{text}");
        }
    }

    #[test]
    fn values_units_and_fields() {
        let p = |text: &str| perf(text).remove(0);
        let cases: &[(&str, Option<f64>, Uom)] = &[
            ("a=1", Some(1.0), Uom::None),
            ("a=-3.5", Some(-3.5), Uom::None),
            ("a=+2", Some(2.0), Uom::None),
            ("a=.5s", Some(0.5), Uom::Seconds),
            ("a=1e3ms", Some(1000.0), Uom::Milliseconds),
            ("a=2.5E-1us", Some(0.25), Uom::Microseconds),
            ("a=99%", Some(99.0), Uom::Percent),
            ("a=1KB", Some(1.0), Uom::Kilobytes),
            ("a=1GB", Some(1.0), Uom::Gigabytes),
            ("a=1TB", Some(1.0), Uom::Terabytes),
            ("a=123456c", Some(123456.0), Uom::Counter),
            ("a=5EB", Some(5.0), Uom::Other("EB".into())),
            ("a=10b/s", Some(10.0), Uom::Other("b/s".into())),
            ("a=-70dBm", Some(-70.0), Uom::Other("dBm".into())),
            ("a=3kB", Some(3.0), Uom::Other("kB".into())),
            ("a=U", None, Uom::None),
            ("a=U;1;2;0;10", None, Uom::None),
        ];
        for (text, value, uom) in cases {
            let got = p(text);
            assert_eq!((got.value, &got.uom), (*value, uom), "{text}");
        }

        // Trailing semicolons and empty fields are optional.
        for text in ["load1=0.5", "load1=0.5;", "load1=0.5;;", "load1=0.5;;;", "load1=0.5;;;;"] {
            assert_eq!(p(text), item("load1", 0.5, Uom::None), "{text}");
        }
        let full = p("users=3;@2:5;~:10;-1.5;20.25");
        assert_eq!(full.warn, range("@2:5"));
        assert_eq!(full.crit, range("~:10"));
        assert_eq!((full.min, full.max), (Some(-1.5), Some(20.25)));
        assert_eq!(p("a=1;;10:").crit, range("10:"));
    }

    #[test]
    fn unreadable_items_are_reported() {
        // (perfdata text, expected error)
        let cases: &[(&str, &str)] = &[
            ("junk", "'junk': no '=' between label and value"),
            ("=1", "'=1': the label is empty"),
            ("''=1", "'''=1': the label is empty"),
            ("a=", "'a=': the value is empty"),
            ("a=;1;2", "'a=;1;2': the value is empty"),
            ("a=x", "'a=x': 'x' is not a number"),
            ("a=inf", "'a=inf': 'inf' is not a number"),
            ("a=NaN", "'a=NaN': 'NaN' is not a number"),
            ("a=1e999", "'a=1e999': '1e999' is not a number"),
            ("a=1.2.3", "'a=1.2.3': '1.2.3' is not a number"),
            ("a=0,5", "'a=0,5': ',5' is not a unit"),
            ("a=1;2;3;4;5;6", "'a=1;2;3;4;5;6': 6 fields, at most 5 (value;warn;crit;min;max)"),
            ("a=1;x", "'a=1;x': warning threshold 'x': 'x' is not a number in a threshold range"),
            (
                "a=1;;20:10",
                "'a=1;;20:10': critical threshold '20:10': threshold range start 20 is greater than its end 10",
            ),
            ("a=1;;;z", "'a=1;;;z': min 'z' is not a number"),
            ("a=1;;;;5MB", "'a=1;;;;5MB': max '5MB' is not a number"),
            ("'open=1", "''open=1': the quoted label has no closing quote"),
            ("'lbl' =1", "''lbl'': no '=' between label and value"),
        ];
        for &(text, error) in cases {
            let out = parse_output(&format!("OK | {text}"));
            assert_eq!(out.perfdata_errors.first().map(String::as_str), Some(error), "{text}");
            assert!(out.perfdata.is_empty(), "{text}: {:?}", out.perfdata);
        }
        // The other items around a bad one are kept.
        let out = parse_output("OK | a=1 b=2;oops c=3s 'unterminated=4 d=5");
        let labels: Vec<_> = out.perfdata.iter().map(|p| p.label.as_str()).collect();
        assert_eq!(labels, ["a", "c"]);
        assert_eq!(out.perfdata_errors.len(), 2, "{:?}", out.perfdata_errors);
        // Long garbage is quoted briefly.
        let out = parse_output(&format!("OK | {}", "x".repeat(1000)));
        assert_eq!(out.perfdata_errors, [format!("'{}…': no '=' between label and value", "x".repeat(60))]);
    }

    #[test]
    fn errors_are_bounded() {
        let text = format!("OK | {}", "bad ".repeat(1000));
        let out = parse_output(&text);
        assert_eq!(out.perfdata_errors.len(), MAX_PERFDATA_ERRORS + 1);
        assert_eq!(out.perfdata_errors.last().unwrap(), "980 more performance data items could not be read");
    }

    #[test]
    fn uom_text_round_trips() {
        for text in ["", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c", "b/s", "dBm"] {
            let uom = Uom::from_text(text);
            assert_eq!(uom.as_str(), text);
            assert_eq!(uom.to_string(), text);
            let json = serde_json::to_string(&uom).unwrap();
            assert_eq!(serde_json::from_str::<Uom>(&json).unwrap(), uom);
        }
        assert_eq!(Uom::from_text("KB"), Uom::Kilobytes);
        assert_eq!(Uom::from_text("kb"), Uom::Other("kb".into()));
    }

    #[test]
    fn output_serializes() {
        let out = parse_output("OK | a=1s;2;3");
        let json = serde_json::to_value(&out).unwrap();
        assert_eq!(
            json,
            serde_json::json!({
                "summary": "OK",
                "long_output": "",
                "perfdata": [{"label": "a", "value": 1.0, "uom": "s", "warn": "2", "crit": "3", "min": null, "max": null}],
                "perfdata_errors": [],
            })
        );
        assert_eq!(serde_json::from_value::<PluginOutput>(json).unwrap(), out);
    }

    #[test]
    fn truncation() {
        let m = TRUNCATION_MARKER;
        // (raw bytes, max_bytes, expected)
        let cases: Vec<(&[u8], usize, String)> = vec![
            (b"", 0, String::new()),
            (b"short", 100, "short".into()),
            (b"exact", 5, "exact".into()),
            (b"OK - all good\nline two", 1000, "OK - all good\nline two".into()),
            (b"bad \xff\xfe bytes", 100, "bad \u{fffd}\u{fffd} bytes".into()),
            (b"nul\0inside", 100, "nul\u{fffd}inside".into()),
            (b"cut \xe2\x82", 100, "cut \u{fffd}".into()),
            (&[b'a'; 100], 20 + m.len(), format!("{}{m}", "a".repeat(20))),
            (b"tiny but too long", 3, m.into()),
        ];
        for (raw, max, expected) in cases {
            assert_eq!(truncate_output(raw, max), expected, "{:?} / {max}", String::from_utf8_lossy(raw));
        }
        // Never inside a character: "é" is two bytes, the cut falls back to its start.
        let raw = "aéé".repeat(10);
        let out = truncate_output(raw.as_bytes(), 2 + m.len());
        assert_eq!(out, format!("a{m}"));
        let out = truncate_output(raw.as_bytes(), 3 + m.len());
        assert_eq!(out, format!("aé{m}"));
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn parse_never_panics(text in "\\PC{0,200}") {
            let out = parse_output(&text);
            prop_assert!(out.perfdata_errors.len() <= MAX_PERFDATA_ERRORS + 1);
            prop_assert!(out.perfdata.iter().all(|p| !p.label.is_empty()));
        }

        #[test]
        fn parse_never_panics_on_perfdata_like_text(text in "[a-z' =;:@~|.0-9U%\\n\\r-]{0,120}") {
            let out = parse_output(&text);
            prop_assert!(out.perfdata.iter().all(|p| p.value.is_none_or(f64::is_finite)));
        }

        #[test]
        fn formatted_items_read_back(
            label in "[a-zA-Z0-9_/ ']{1,20}",
            value in -1e9f64..1e9,
            uom in prop::sample::select(vec!["", "s", "ms", "us", "%", "B", "KB", "MB", "GB", "TB", "c", "b/s"]),
            warn in prop::option::of(0u32..100),
            max in prop::option::of(0u32..1000),
        ) {
            let quoted = format!("'{}'", label.replace('\'', "''"));
            let warn_text = warn.map(|w| w.to_string()).unwrap_or_default();
            let max_text = max.map(|m| m.to_string()).unwrap_or_default();
            let text = format!("OK | x=1 {quoted}={value}{uom};{warn_text};;;{max_text} y=2");
            let out = parse_output(&text);
            prop_assert!(out.perfdata_errors.is_empty(), "{:?}", out.perfdata_errors);
            prop_assert_eq!(out.perfdata.len(), 3);
            let p = &out.perfdata[1];
            prop_assert_eq!(&p.label, &label);
            prop_assert_eq!(p.value, Some(value));
            prop_assert_eq!(p.uom.as_str(), uom);
            prop_assert_eq!(p.warn, warn.map(|w| Range::new(0.0, f64::from(w), false).unwrap()));
            prop_assert_eq!(p.max, max.map(f64::from));
        }

        #[test]
        fn truncation_is_bounded_and_a_prefix(raw in prop::collection::vec(any::<u8>(), 0..300), max in 0usize..400) {
            let out = truncate_output(&raw, max);
            prop_assert!(out.len() <= max.max(TRUNCATION_MARKER.len()));
            let full = String::from_utf8_lossy(&raw).replace('\0', "\u{fffd}");
            if full.len() <= max {
                prop_assert_eq!(out, full);
            } else {
                let kept = out.strip_suffix(TRUNCATION_MARKER).expect("marker");
                prop_assert!(full.starts_with(kept));
            }
        }
    }
}
