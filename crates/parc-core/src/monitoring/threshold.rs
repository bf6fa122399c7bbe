//! The monitoring-plugins threshold range syntax
//! (<https://www.monitoring-plugins.org/doc/guidelines.html#THRESHOLDFORMAT>).
//!
//! A range is `[@]start:end`. By default the alert is raised when the value is *outside*
//! `start..=end`; with a leading `@` it is raised when the value is *inside* (bounds included).
//!
//! | Text     | Alert when                   |
//! |----------|------------------------------|
//! | `10`     | `< 0` or `> 10`              |
//! | `10:`    | `< 10`                       |
//! | `~:10`   | `> 10`                       |
//! | `10:20`  | `< 10` or `> 20`             |
//! | `@10:20` | `>= 10` and `<= 20`          |
//!
//! An empty start means 0, `~` as start means minus infinity, an empty end means plus
//! infinity. Bounds are decimal numbers, possibly negative (`-5:-1`, `0.5`, `1e3`).

use super::ServiceState;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::str::FromStr;

/// Why a threshold range could not be read.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ThresholdError {
    /// Nothing (or only `@`) was given.
    #[error("empty threshold range")]
    Empty,
    /// A bound is not a finite decimal number.
    #[error("'{0}' is not a number in a threshold range")]
    NotANumber(String),
    /// `~` (minus infinity) was used as the end of a range.
    #[error("'~' (minus infinity) may only start a threshold range, not end it")]
    TildeEnd,
    /// The start is above the end (`20:10`, or `-5`, which means `0:-5`).
    #[error("threshold range start {start} is greater than its end {end}")]
    StartAfterEnd {
        /// The start of the range.
        start: f64,
        /// The end of the range.
        end: f64,
    },
}

/// A threshold range: which values raise an alert.
///
/// `start` may be minus infinity and `end` plus infinity; neither is NaN, and
/// `start <= end`. Parse it with [`Range::parse`] (or [`FromStr`]), print it back with
/// [`Display`](fmt::Display); serde reads and writes the same text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Range {
    start: f64,
    end: f64,
    inside: bool,
}

impl Range {
    /// A range from its parts. `inside` is the `@` form: alert inside `start..=end` rather
    /// than outside. Refuses NaN bounds, `start = +inf`, `end = -inf` and `start > end`.
    pub fn new(start: f64, end: f64, inside: bool) -> Result<Range, ThresholdError> {
        if start.is_nan() || start == f64::INFINITY {
            return Err(ThresholdError::NotANumber(start.to_string()));
        }
        if end.is_nan() {
            return Err(ThresholdError::NotANumber(end.to_string()));
        }
        if end == f64::NEG_INFINITY {
            return Err(ThresholdError::TildeEnd);
        }
        if start > end {
            return Err(ThresholdError::StartAfterEnd { start, end });
        }
        Ok(Range { start, end, inside })
    }

    /// Reads the guideline syntax. Surrounding white space is ignored.
    pub fn parse(text: &str) -> Result<Range, ThresholdError> {
        let text = text.trim();
        let (inside, body) = match text.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        if body.is_empty() {
            return Err(ThresholdError::Empty);
        }
        let (start, end) = match body.split_once(':') {
            Some((start, end)) => {
                let start = match start {
                    "" => 0.0,
                    "~" => f64::NEG_INFINITY,
                    s => number(s)?,
                };
                let end = match end {
                    "" => f64::INFINITY,
                    "~" => return Err(ThresholdError::TildeEnd),
                    s => number(s)?,
                };
                (start, end)
            }
            None if body == "~" => return Err(ThresholdError::TildeEnd),
            None => (0.0, number(body)?),
        };
        Range::new(start, end, inside)
    }

    /// The lower bound (minus infinity for `~`).
    pub fn start(&self) -> f64 {
        self.start
    }

    /// The upper bound (plus infinity when open).
    pub fn end(&self) -> f64 {
        self.end
    }

    /// The `@` form: the alert is raised inside the range rather than outside.
    pub fn is_inside(&self) -> bool {
        self.inside
    }

    /// Whether `value` raises the alert. Bounds belong to the range: `10:20` does not alert
    /// at 10 or 20, `@10:20` does. NaN never alerts (see [`Thresholds::state`]).
    pub fn alerts(&self, value: f64) -> bool {
        if value.is_nan() {
            return false;
        }
        let within = self.start <= value && value <= self.end;
        within == self.inside
    }
}

/// A finite decimal number; `inf`, `NaN` and the like are refused even though Rust reads them.
fn number(text: &str) -> Result<f64, ThresholdError> {
    match text.parse::<f64>() {
        Ok(n) if n.is_finite() => Ok(n),
        _ => Err(ThresholdError::NotANumber(text.chars().take(40).collect())),
    }
}

impl fmt::Display for Range {
    /// The canonical text: `@` if inside, then `end` alone when the start is 0, `start:` when
    /// the end is open, `~` for minus infinity, `start:end` otherwise. Reading it back gives
    /// the same range.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.inside {
            f.write_str("@")?;
        }
        if self.start == f64::NEG_INFINITY {
            f.write_str("~:")?;
        } else if self.end == f64::INFINITY || self.start != 0.0 {
            write!(f, "{}:", self.start)?;
        }
        if self.end != f64::INFINITY {
            write!(f, "{}", self.end)?;
        }
        Ok(())
    }
}

impl FromStr for Range {
    type Err = ThresholdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Range::parse(s)
    }
}

impl Serialize for Range {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Range {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Range::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The warning and critical ranges of a check (`-w` and `-c` of a plugin).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Thresholds {
    /// Alert range for WARNING, if any.
    pub warning: Option<Range>,
    /// Alert range for CRITICAL, if any.
    pub critical: Option<Range>,
}

impl Thresholds {
    /// The state of `value`: CRITICAL if the critical range alerts (critical wins), else
    /// WARNING if the warning range alerts, else OK. A NaN value cannot be judged: UNKNOWN.
    pub fn state(&self, value: f64) -> ServiceState {
        if value.is_nan() {
            ServiceState::Unknown
        } else if self.critical.is_some_and(|r| r.alerts(value)) {
            ServiceState::Critical
        } else if self.warning.is_some_and(|r| r.alerts(value)) {
            ServiceState::Warning
        } else {
            ServiceState::Ok
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const INF: f64 = f64::INFINITY;

    #[test]
    fn parses_the_guideline_forms() {
        let cases: &[(&str, f64, f64, bool)] = &[
            ("10", 0.0, 10.0, false),
            ("10:", 10.0, INF, false),
            ("~:10", -INF, 10.0, false),
            ("10:20", 10.0, 20.0, false),
            ("@10:20", 10.0, 20.0, true),
            (":10", 0.0, 10.0, false),
            (":", 0.0, INF, false),
            ("~:", -INF, INF, false),
            ("0.5", 0.0, 0.5, false),
            ("-5:-1", -5.0, -1.0, false),
            ("-2.5:3.75", -2.5, 3.75, false),
            ("@~:-3", -INF, -3.0, true),
            ("@0", 0.0, 0.0, true),
            ("1e3", 0.0, 1000.0, false),
            ("  5:7 ", 5.0, 7.0, false),
            ("3000.000000", 0.0, 3000.0, false),
        ];
        for &(text, start, end, inside) in cases {
            let r = Range::parse(text).unwrap_or_else(|e| panic!("{text}: {e}"));
            assert_eq!((r.start(), r.end(), r.is_inside()), (start, end, inside), "{text}");
        }
    }

    #[test]
    fn alert_semantics() {
        // (range, values that alert, values that do not)
        let cases: &[(&str, &[f64], &[f64])] = &[
            ("10", &[-0.1, -5.0, 10.1, 11.0, 1e9], &[0.0, 5.0, 10.0]),
            ("10:", &[9.99, 0.0, -1.0], &[10.0, 10.5, 1e9]),
            ("~:10", &[10.01, 11.0, 1e9], &[10.0, 0.0, -1e9, f64::NEG_INFINITY]),
            ("10:20", &[9.0, 20.5, -1.0], &[10.0, 15.0, 20.0]),
            ("@10:20", &[10.0, 15.0, 20.0], &[9.99, 20.01, -1.0]),
            ("@~:0", &[0.0, -1.0, f64::NEG_INFINITY], &[0.01, 5.0]),
            ("-5:-1", &[0.0, -0.5, -5.5], &[-5.0, -3.0, -1.0]),
            ("~:", &[], &[-1e300, 0.0, 1e300, INF]),
            ("@0", &[0.0, -0.0], &[0.001, -0.001]),
            ("0.5", &[0.51, -0.01], &[0.0, 0.25, 0.5]),
        ];
        for &(text, alerting, quiet) in cases {
            let r = Range::parse(text).unwrap();
            for &v in alerting {
                assert!(r.alerts(v), "{text} should alert at {v}");
            }
            for &v in quiet {
                assert!(!r.alerts(v), "{text} should not alert at {v}");
            }
            assert!(!r.alerts(f64::NAN), "{text} at NaN");
        }
    }

    #[test]
    fn errors() {
        let cases: &[(&str, ThresholdError)] = &[
            ("", ThresholdError::Empty),
            ("   ", ThresholdError::Empty),
            ("@", ThresholdError::Empty),
            ("abc", ThresholdError::NotANumber("abc".into())),
            ("10:abc", ThresholdError::NotANumber("abc".into())),
            ("1,5", ThresholdError::NotANumber("1,5".into())),
            ("10:20:30", ThresholdError::NotANumber("20:30".into())),
            ("inf", ThresholdError::NotANumber("inf".into())),
            ("NaN:", ThresholdError::NotANumber("NaN".into())),
            ("@@10", ThresholdError::NotANumber("@10".into())),
            ("10%", ThresholdError::NotANumber("10%".into())),
            ("1e999", ThresholdError::NotANumber("1e999".into())),
            ("~", ThresholdError::TildeEnd),
            ("5:~", ThresholdError::TildeEnd),
            ("20:10", ThresholdError::StartAfterEnd { start: 20.0, end: 10.0 }),
            ("-5", ThresholdError::StartAfterEnd { start: 0.0, end: -5.0 }),
            ("@3:-3", ThresholdError::StartAfterEnd { start: 3.0, end: -3.0 }),
        ];
        for (text, expected) in cases {
            assert_eq!(&Range::parse(text).unwrap_err(), expected, "{text:?}");
        }
        assert_eq!(Range::parse("").unwrap_err().to_string(), "empty threshold range");
        assert_eq!(Range::parse("x:1").unwrap_err().to_string(), "'x' is not a number in a threshold range");
        assert_eq!(
            Range::parse("20:10").unwrap_err().to_string(),
            "threshold range start 20 is greater than its end 10"
        );
        let long = "z".repeat(500);
        assert_eq!(Range::parse(&long).unwrap_err(), ThresholdError::NotANumber("z".repeat(40)));
    }

    #[test]
    fn new_validates() {
        assert!(Range::new(f64::NAN, 1.0, false).is_err());
        assert!(Range::new(0.0, f64::NAN, false).is_err());
        assert!(Range::new(INF, INF, false).is_err());
        assert_eq!(Range::new(f64::NEG_INFINITY, f64::NEG_INFINITY, false), Err(ThresholdError::TildeEnd));
        assert!(Range::new(2.0, 1.0, true).is_err());
        assert!(Range::new(f64::NEG_INFINITY, INF, true).is_ok());
    }

    #[test]
    fn canonical_display() {
        let cases = [
            ("10", "10"),
            ("0:10", "10"),
            (":10", "10"),
            ("10:", "10:"),
            (":", "0:"),
            ("~:10", "~:10"),
            ("~:", "~:"),
            ("10:20", "10:20"),
            ("@10:20", "@10:20"),
            ("@10", "@10"),
            ("3000.000000", "3000"),
            ("-2.50:-1", "-2.5:-1"),
            ("1e3:", "1000:"),
            (" @~:0.25 ", "@~:0.25"),
        ];
        for (text, canonical) in cases {
            let r = Range::parse(text).unwrap();
            assert_eq!(r.to_string(), canonical, "{text}");
            assert_eq!(Range::parse(canonical).unwrap(), r, "{text}");
        }
    }

    #[test]
    fn serde_as_text() {
        let r = Range::parse("@10:20").unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"@10:20\"");
        assert_eq!(serde_json::from_str::<Range>("\"~:5\"").unwrap(), Range::parse("~:5").unwrap());
        let err = serde_json::from_str::<Range>("\"20:10\"").unwrap_err();
        assert!(err.to_string().contains("greater than its end"), "{err}");
        assert!(serde_json::from_str::<Range>("10").is_err());

        let t = Thresholds { warning: Some(Range::parse("80").unwrap()), critical: None };
        let json = serde_json::to_string(&t).unwrap();
        assert_eq!(json, r#"{"warning":"80","critical":null}"#);
        assert_eq!(serde_json::from_str::<Thresholds>(&json).unwrap(), t);
    }

    #[test]
    fn thresholds_state() {
        let t = |w: Option<&str>, c: Option<&str>| Thresholds {
            warning: w.map(|s| Range::parse(s).unwrap()),
            critical: c.map(|s| Range::parse(s).unwrap()),
        };
        let cases: &[(Thresholds, f64, ServiceState)] = &[
            (t(Some("80"), Some("90")), 50.0, ServiceState::Ok),
            (t(Some("80"), Some("90")), 80.0, ServiceState::Ok),
            (t(Some("80"), Some("90")), 85.0, ServiceState::Warning),
            (t(Some("80"), Some("90")), 95.0, ServiceState::Critical),
            (t(Some("80"), Some("90")), -1.0, ServiceState::Critical),
            // Critical wins even when the warning range would not alert.
            (t(Some("@0:10"), Some("50:")), 20.0, ServiceState::Critical),
            (t(Some("@0:10"), Some("50:")), 5.0, ServiceState::Critical),
            (t(Some("@0:10"), Some("1:")), 5.0, ServiceState::Warning),
            (t(None, Some("10")), 11.0, ServiceState::Critical),
            (t(Some("10"), None), 11.0, ServiceState::Warning),
            (t(None, None), 1e300, ServiceState::Ok),
            (t(Some("80"), Some("90")), f64::NAN, ServiceState::Unknown),
            // Packet loss style: warn at 80 %, critical at 100 %.
            (t(Some("80"), Some("100")), 100.0, ServiceState::Warning),
        ];
        for (i, (thresholds, value, state)) in cases.iter().enumerate() {
            assert_eq!(thresholds.state(*value), *state, "case {i}: {value}");
        }
    }

    /// Finite numbers of several magnitudes, including integers, decimals and extremes.
    fn arb_bound() -> impl Strategy<Value = f64> {
        prop_oneof![
            (-1000i32..1000).prop_map(f64::from),
            (-1e6f64..1e6),
            any::<f64>().prop_filter("finite", |f| f.is_finite()),
        ]
    }

    fn arb_range() -> impl Strategy<Value = Range> {
        (arb_bound(), arb_bound(), any::<bool>(), 0u8..4).prop_map(|(a, b, inside, shape)| {
            let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
            let (start, end) = match shape {
                0 => (lo, hi),
                1 => (0.0f64.min(hi), hi.max(0.0)),
                2 => (f64::NEG_INFINITY, hi),
                _ => (lo, f64::INFINITY),
            };
            Range::new(start, end, inside).unwrap()
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn display_then_parse_round_trips(r in arb_range()) {
            let text = r.to_string();
            prop_assert_eq!(Range::parse(&text), Ok(r), "{}", text);
        }

        #[test]
        fn parse_never_panics(text in ".{0,40}") {
            if let Ok(r) = Range::parse(&text) {
                prop_assert!(r.start() <= r.end());
                prop_assert_eq!(Range::parse(&r.to_string()), Ok(r));
            }
        }

        #[test]
        fn parse_never_panics_on_range_like_text(text in "[@~:0-9.eE+-]{0,12}") {
            let _ = Range::parse(&text);
        }

        #[test]
        fn inside_is_the_negation_of_outside(r in arb_range(), v in arb_bound()) {
            let flipped = Range::new(r.start(), r.end(), !r.is_inside()).unwrap();
            prop_assert_ne!(r.alerts(v), flipped.alerts(v));
        }
    }
}
