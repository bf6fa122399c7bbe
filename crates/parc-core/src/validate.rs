//! Validation errors with per-field messages, and the syntax checks shared by every feature.

use serde::Serialize;
use std::net::IpAddr;

/// One problem with one field. `code` is a stable key the web layer translates
/// (catalogue key `err.<code>`); `message` is the English fallback.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct FieldError {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// All the problems found in one input. Empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct ValidationErrors {
    pub fields: Vec<FieldError>,
}

impl ValidationErrors {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn single(field: &str, code: &str, message: impl Into<String>) -> Self {
        let mut e = Self::new();
        e.add(field, code, message);
        e
    }

    pub fn add(&mut self, field: &str, code: &str, message: impl Into<String>) {
        self.fields.push(FieldError { field: field.to_owned(), code: code.to_owned(), message: message.into() });
    }

    pub fn is_empty(&self) -> bool {
        self.fields.is_empty()
    }

    pub fn for_field(&self, field: &str) -> Option<&FieldError> {
        self.fields.iter().find(|f| f.field == field)
    }

    /// `Ok(())` when no error was recorded.
    pub fn into_result(self) -> Result<(), Self> {
        if self.is_empty() {
            Ok(())
        } else {
            Err(self)
        }
    }
}

impl std::fmt::Display for ValidationErrors {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let parts: Vec<String> = self.fields.iter().map(|e| format!("{}: {}", e.field, e.message)).collect();
        f.write_str(&parts.join("; "))
    }
}

impl std::error::Error for ValidationErrors {}

/// Trims a free-text value; `None` when empty.
pub fn clean(value: Option<&str>) -> Option<String> {
    value.map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned)
}

/// Rejects control characters (except tab/newline in long texts) and over-long values.
pub fn check_text(errors: &mut ValidationErrors, field: &str, value: Option<&str>, max: usize, multiline: bool) {
    let Some(v) = value else { return };
    if v.chars().count() > max {
        errors.add(field, "too_long", format!("must be at most {max} characters"));
    }
    let bad = v.chars().any(|c| c.is_control() && !(multiline && (c == '\n' || c == '\r' || c == '\t')));
    if bad {
        errors.add(field, "control_chars", "must not contain control characters");
    }
}

/// The Luhn check digit to append to `payload` (ASCII digits), or `None` for non-digits.
pub fn luhn_check_digit(payload: &str) -> Option<u8> {
    if !payload.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let sum: u32 = payload
        .bytes()
        .rev()
        .enumerate()
        .map(|(i, b)| {
            let d = u32::from(b - b'0');
            // Counted from the check digit that will follow: every second digit is doubled.
            if i % 2 == 0 {
                let dd = d * 2;
                if dd > 9 {
                    dd - 9
                } else {
                    dd
                }
            } else {
                d
            }
        })
        .sum();
    Some(((10 - sum % 10) % 10) as u8)
}

/// Luhn checksum over a string of ASCII digits (the last one being the check digit).
pub fn luhn_valid(digits: &str) -> bool {
    match digits.len().checked_sub(1) {
        Some(n) if n > 0 => {
            let last = digits.as_bytes()[n];
            last.is_ascii_digit() && luhn_check_digit(&digits[..n]) == Some(last - b'0')
        }
        _ => false,
    }
}

/// An IMEI is 15 digits whose last one is a Luhn check digit. Spaces and dashes are ignored.
pub fn normalize_imei(raw: &str) -> Result<String, &'static str> {
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if digits.len() != 15 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("imei_format");
    }
    if !luhn_valid(&digits) {
        return Err("imei_luhn");
    }
    Ok(digits)
}

/// An ICCID (SIM serial) is 18 to 22 digits ending with a Luhn check digit (ITU-T E.118).
pub fn normalize_iccid(raw: &str) -> Result<String, &'static str> {
    let digits: String = raw.chars().filter(|c| !matches!(c, ' ' | '-')).collect();
    if !(18..=22).contains(&digits.len()) || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err("iccid_format");
    }
    if !luhn_valid(&digits) {
        return Err("iccid_luhn");
    }
    Ok(digits)
}

/// A MAC address in any usual notation (`aa:bb:..`, `AA-BB-..`, `aabb.ccdd.eeff`, 12 hex digits),
/// normalized to lower-case colon form.
pub fn normalize_mac(raw: &str) -> Result<String, &'static str> {
    let hex: String = raw.chars().filter(|c| !matches!(c, ':' | '-' | '.')).collect();
    let separators_ok = raw.chars().all(|c| c.is_ascii_hexdigit() || matches!(c, ':' | '-' | '.'));
    if hex.len() != 12 || !separators_ok || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("mac_format");
    }
    let lower = hex.to_ascii_lowercase();
    let parts: Vec<&str> = (0..6).map(|i| &lower[i * 2..i * 2 + 2]).collect();
    Ok(parts.join(":"))
}

/// An IPv4 or IPv6 address, normalized to its canonical text.
pub fn normalize_ip(raw: &str) -> Result<String, &'static str> {
    raw.trim().parse::<IpAddr>().map(|ip| ip.to_string()).map_err(|_| "ip_format")
}

/// A phone number: digits, spaces, dots, dashes, parentheses and one leading '+'.
pub fn normalize_phone(raw: &str) -> Result<String, &'static str> {
    let v = raw.trim();
    let body = v.strip_prefix('+').unwrap_or(v);
    let ok = !body.is_empty()
        && body.chars().all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | '-' | '(' | ')'))
        && body.chars().filter(char::is_ascii_digit).count() >= 2
        && v.len() <= 32;
    if ok {
        Ok(v.to_owned())
    } else {
        Err("phone_format")
    }
}

/// A calendar date `YYYY-MM-DD`.
pub fn parse_date(raw: &str) -> Result<chrono::NaiveDate, &'static str> {
    chrono::NaiveDate::parse_from_str(raw.trim(), "%Y-%m-%d").map_err(|_| "date_format")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_and_imei() {
        assert!(luhn_valid("79927398713"));
        assert_eq!(luhn_check_digit("7992739871"), Some(3));
        assert_eq!(luhn_check_digit("12a"), None);
        assert!(!luhn_valid("7"));
        assert!(!luhn_valid("79927398710"));
        assert_eq!(normalize_imei("490154203237518").unwrap(), "490154203237518");
        assert_eq!(normalize_imei("49-015420-323751-8").unwrap(), "490154203237518");
        assert_eq!(normalize_imei("490154203237517"), Err("imei_luhn"));
        assert_eq!(normalize_imei("49015420323751"), Err("imei_format"));
        assert_eq!(normalize_imei("49015420323751x"), Err("imei_format"));
    }

    #[test]
    fn iccid() {
        assert_eq!(normalize_iccid("8933150319080000009").unwrap(), "8933150319080000009");
        assert_eq!(normalize_iccid("8933150319080000006"), Err("iccid_luhn"));
        assert_eq!(normalize_iccid("1234"), Err("iccid_format"));
    }

    #[test]
    fn mac_forms() {
        for raw in ["AA:BB:CC:00:11:22", "aa-bb-cc-00-11-22", "aabb.cc00.1122", "AABBCC001122"] {
            assert_eq!(normalize_mac(raw).unwrap(), "aa:bb:cc:00:11:22", "{raw}");
        }
        assert_eq!(normalize_mac("aa:bb:cc:00:11"), Err("mac_format"));
        assert_eq!(normalize_mac("gg:bb:cc:00:11:22"), Err("mac_format"));
        assert_eq!(normalize_mac("aa bb cc 00 11 22"), Err("mac_format"));
    }

    #[test]
    fn ip_forms() {
        assert_eq!(normalize_ip(" 192.168.207.12 ").unwrap(), "192.168.207.12");
        assert_eq!(normalize_ip("2001:DB8::1").unwrap(), "2001:db8::1");
        assert_eq!(normalize_ip("192.168.1.300"), Err("ip_format"));
        assert_eq!(normalize_ip("1.2.3.4'; DROP TABLE assets;--"), Err("ip_format"));
    }

    #[test]
    fn phones_and_dates() {
        assert!(normalize_phone("+33 4 70 00 00 00").is_ok());
        assert!(normalize_phone("7000").is_ok());
        assert!(normalize_phone("abc").is_err());
        assert!(parse_date("2024-02-29").is_ok());
        assert!(parse_date("2023-02-29").is_err());
    }

    #[test]
    fn text_checks() {
        let mut e = ValidationErrors::new();
        check_text(&mut e, "name", Some("ok"), 10, false);
        assert!(e.is_empty());
        check_text(&mut e, "name", Some("a\u{0}b"), 10, false);
        check_text(&mut e, "comment", Some("line\nline"), 100, true);
        check_text(&mut e, "tag", Some("0123456789ab"), 10, false);
        assert_eq!(e.fields.len(), 2);
        assert_eq!(e.for_field("tag").unwrap().code, "too_long");
    }
}
