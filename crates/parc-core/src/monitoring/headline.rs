//! The plain-language line of a status wall, for people who do not read plugin output:
//! "Serveur de fichiers : disque C plein à 93 %" rather than
//! `DISK CRITICAL - free space: C:\ 2 GB (6.7%)`.
//!
//! [`headline`] reads a check's result into a language-neutral [`Headline`]; the web layer
//! words it in the user's language. It recognises the usual monitoring-plugins outputs:
//!
//! | Output                                                        | Headline               |
//! |---------------------------------------------------------------|------------------------|
//! | `check_disk` / NSClient++ drive size problem, from perfdata   | `DiskFull` (the fullest volume) |
//! | ping with all packets lost, "Host Unreachable", a timeout     | `Unreachable`          |
//! | "Connection refused", an HTTP 5xx status                      | `Down`                 |
//! | a response time (`rta`, `time`) beyond its own threshold      | `Slow`                 |
//! | "Certificate … expires in N day(s)" / "expired"               | `CertificateExpires`   |
//! | `check_load` problem                                          | `Load`                 |
//! | anything else, and every OK result                            | `Plain`: the summary without its prefix |
//!
//! Plugins are matched on the check kind and the program name first, then on well-known words
//! of their output (always English: the plugins' language). Nothing here fails: what is not
//! recognised is shown as the plugin wrote it.

use super::perfdata::{PerfData, PluginOutput, Uom};
use super::ServiceState;
use serde::Serialize;

/// What a check result means, in words the web layer translates.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "kind", content = "data", rename_all = "snake_case")]
pub enum Headline {
    /// A disk or volume is filling up.
    DiskFull {
        /// The fullest volume: a mount point (`/var`) or a drive (`C:`).
        volume: String,
        /// How full it is, 0 to 100.
        percent_used: u8,
    },
    /// Nothing answers: the device is off, or the network to it is cut.
    Unreachable,
    /// The device answers but the service refuses or fails (connection refused, HTTP 5xx).
    Down,
    /// The service answers, too slowly.
    Slow {
        /// The response time, in milliseconds.
        millis: u64,
    },
    /// A TLS certificate expires soon.
    CertificateExpires {
        /// Days left; 0 when it expires today, negative when it has expired (−1 when the plugin
        /// does not say since when).
        days: i64,
    },
    /// The machine is overloaded.
    Load {
        /// The load average that raised the alert (1, 5 or 15 minutes).
        value: f64,
    },
    /// The plugin's own summary, without its state prefix.
    Plain(String),
}

/// The headline of a check result.
///
/// `check_kind` is the kind of check (`plugin`, `tcp`, `http`, `tls_certificate`, `ping`);
/// `program` the plugin's program (a name or a path) for plugin checks; `state` the result's
/// state; `output` its parsed output.
pub fn headline(check_kind: &str, program: Option<&str>, state: ServiceState, output: &PluginOutput) -> Headline {
    let summary = output.summary.as_str();
    if !state.is_problem() {
        return Headline::Plain(strip_state_prefix(summary).to_owned());
    }
    let program = program.map(program_name).unwrap_or_default();
    let lower = summary.to_ascii_lowercase();

    let certificate = check_kind == "tls_certificate" || lower.contains("certificate");
    if certificate {
        if let Some(days) = certificate_days(&lower, &output.perfdata) {
            return Headline::CertificateExpires { days };
        }
    }

    let disk = program.starts_with("check_disk")
        || lower.starts_with("disk ")
        || output.perfdata.iter().any(|p| drive_letter(&p.label).is_some());
    if disk {
        if let Some((volume, percent_used)) = fullest_volume(output) {
            return Headline::DiskFull { volume, percent_used };
        }
    }

    if program == "check_load" || lower.contains("load average") {
        if let Some(value) = load_value(output) {
            return Headline::Load { value };
        }
    }

    let ping =
        check_kind == "ping" || matches!(program.as_str(), "check_ping" | "check_icmp" | "check_host" | "check_fping");
    let network = ping
        || matches!(check_kind, "tcp" | "http")
        || matches!(
            program.as_str(),
            "check_tcp" | "check_http" | "check_curl" | "check_nrpe" | "check_nt" | "check_ssh"
        );
    if network {
        if unreachable(&lower) || (ping && all_packets_lost(&lower, &output.perfdata)) {
            return Headline::Unreachable;
        }
        if lower.contains("connection refused") || http_server_error(summary) {
            return Headline::Down;
        }
        if let Some(millis) = slow_response(output) {
            return Headline::Slow { millis };
        }
    }
    Headline::Plain(strip_state_prefix(summary).to_owned())
}

/// `/usr/lib/nagios/plugins/check_disk` → `check_disk`; lower case, without `.exe`, `.pl`,
/// `.py` or `.sh`.
fn program_name(program: &str) -> String {
    let base = program.rsplit(['/', '\\']).next().unwrap_or(program).to_ascii_lowercase();
    for ext in [".exe", ".pl", ".py", ".sh"] {
        if let Some(stem) = base.strip_suffix(ext) {
            return stem.to_owned();
        }
    }
    base
}

const STATE_WORDS: [&str; 6] = ["OK", "WARNING", "CRITICAL", "UNKNOWN", "WARN", "CRIT"];

/// Removes a leading `[WORD …] STATE` and the `-` or `:` after it: `DISK CRITICAL - free space`
/// → `free space`, `OK - load average` → `load average`, `HTTP OK: HTTP/1.1 200 OK` →
/// `HTTP/1.1 200 OK`. At most three words before the state, all upper case. A summary that is
/// only a prefix is kept whole.
pub fn strip_state_prefix(summary: &str) -> &str {
    let mut rest = summary.trim_start();
    for _ in 0..4 {
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        let word = &rest[..end];
        let bare = word.trim_end_matches([':', ',']);
        if STATE_WORDS.contains(&bare) {
            let after = rest[bare.len()..].trim_start();
            let after = after.strip_prefix([':', '-', '–']).unwrap_or(after).trim_start();
            return if after.is_empty() { summary.trim() } else { after.trim_end() };
        }
        let upper_word = !bare.is_empty()
            && bare.len() == word.len()
            && bare.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_' || c == '-');
        if !upper_word {
            break;
        }
        rest = rest[end..].trim_start();
    }
    summary.trim()
}

/// `C:\ used` → `C:`; `c:` → `C:`.
fn drive_letter(label: &str) -> Option<String> {
    let mut chars = label.chars();
    match (chars.next(), chars.next()) {
        (Some(letter), Some(':')) if letter.is_ascii_alphabetic() => Some(format!("{}:", letter.to_ascii_uppercase())),
        _ => None,
    }
}

/// The fullest volume and its percentage used, from performance data (`/=18500MB;…;0;19660`,
/// `'C:\ used'=27.9GB;…;0;29.9`, `'C:\ used %'=93%`) or, without any, from check_disk's
/// summary (`free space: / 1200 MB (6.1% inode=90%);`).
fn fullest_volume(output: &PluginOutput) -> Option<(String, u8)> {
    let mut volumes: Vec<(String, f64)> = output.perfdata.iter().filter_map(volume_usage).collect();
    if volumes.is_empty() {
        volumes = summary_free_space(&output.summary).into_iter().map(|(v, free)| (v, 100.0 - free)).collect();
    }
    // The first of the fullest, in the plugin's order.
    let mut worst: Option<(String, f64)> = None;
    for (volume, percent) in volumes {
        if percent.is_finite() && worst.as_ref().is_none_or(|(_, w)| percent > *w) {
            worst = Some((volume, percent));
        }
    }
    worst.map(|(volume, percent)| (volume, percent.round().clamp(0.0, 100.0) as u8))
}

fn volume_usage(p: &PerfData) -> Option<(String, f64)> {
    let label = p.label.trim();
    let lower = label.to_ascii_lowercase();
    if lower.contains("inode") {
        return None;
    }
    let value = p.value?;
    let free = lower.contains("free");
    let percent = match p.uom {
        Uom::Bytes | Uom::Kilobytes | Uom::Megabytes | Uom::Gigabytes | Uom::Terabytes => {
            let max = p.max.filter(|m| *m > 0.0)?;
            value / max * 100.0
        }
        Uom::Percent if free || lower.contains("used") => value,
        _ => return None,
    };
    let percent = if free { 100.0 - percent } else { percent };
    let mut name = label;
    for suffix in ["%", "used", "free", "space"] {
        name = name.trim_end().strip_suffix(suffix).unwrap_or(name).trim_end();
    }
    let volume = drive_letter(name).unwrap_or_else(|| name.to_owned());
    (!volume.is_empty()).then_some((volume, percent))
}

/// `free space: / 1200 MB (6.1% inode=90%); /boot 50 MB (40% inode=99%);` → the volumes with
/// their free percentage.
fn summary_free_space(summary: &str) -> Vec<(String, f64)> {
    let Some((_, list)) = summary.split_once("free space:") else {
        return Vec::new();
    };
    list.split(';')
        .filter_map(|item| {
            let volume = item.split_whitespace().next()?.to_owned();
            let (_, paren) = item.split_once('(')?;
            let free: f64 = paren.split('%').next()?.trim().parse().ok()?;
            Some((volume, free))
        })
        .collect()
}

/// The load average that raised the alert: the first of `load1`, `load5`, `load15` beyond its
/// critical threshold, else beyond its warning threshold, else `load1`; from the summary's
/// `load average: 0.10, 0.20, 0.30` when there is no performance data.
fn load_value(output: &PluginOutput) -> Option<f64> {
    let loads: Vec<(&PerfData, f64)> = ["load1", "load5", "load15"]
        .iter()
        .filter_map(|label| output.perfdata.iter().find(|p| p.label == *label))
        .filter_map(|p| p.value.map(|v| (p, v)))
        .collect();
    let beyond = |pick: fn(&PerfData) -> Option<super::Range>| {
        loads.iter().find(|(p, v)| pick(p).is_some_and(|r| r.alerts(*v))).map(|(_, v)| *v)
    };
    if let Some(v) = beyond(|p| p.crit).or_else(|| beyond(|p| p.warn)).or(loads.first().map(|(_, v)| *v)) {
        return Some(v);
    }
    let (_, list) = output.summary.split_once("load average:")?;
    list.split(',')
        .map(str::trim)
        .map(|s| s.parse::<f64>().ok())
        .collect::<Option<Vec<f64>>>()?
        .into_iter()
        .reduce(f64::max)
}

fn unreachable(lower: &str) -> bool {
    ["unreachable", "timed out", "timeout", "no route to host", "host is down"].iter().any(|w| lower.contains(w))
}

/// `Packet loss = 100%`, `lost 100%`, or a `pl` item at 100.
fn all_packets_lost(lower: &str, perfdata: &[PerfData]) -> bool {
    perfdata.iter().any(|p| p.label == "pl" && p.value.is_some_and(|v| v >= 100.0))
        || lower.contains("packet loss = 100%")
        || lower.contains("lost 100%")
}

/// An `HTTP/1.x 5xx` status in the summary.
fn http_server_error(summary: &str) -> bool {
    summary.match_indices("HTTP/").any(|(i, _)| {
        let after = &summary[i..];
        let status = after.split_whitespace().nth(1).unwrap_or_default();
        status.len() == 3 && status.starts_with('5') && status.bytes().all(|b| b.is_ascii_digit())
    })
}

/// A response time (`rta`, `time`, `rtmax`) beyond its own warning or critical threshold, in
/// milliseconds.
fn slow_response(output: &PluginOutput) -> Option<u64> {
    output.perfdata.iter().filter(|p| matches!(p.label.as_str(), "rta" | "time" | "rtmax")).find_map(|p| {
        let value = p.value?;
        let alerts = p.crit.is_some_and(|r| r.alerts(value)) || p.warn.is_some_and(|r| r.alerts(value));
        let millis = match p.uom {
            Uom::Seconds => value * 1000.0,
            Uom::Milliseconds => value,
            Uom::Microseconds => value / 1000.0,
            _ => return None,
        };
        (alerts && millis >= 0.0).then(|| millis.round() as u64)
    })
}

/// Days left from `expires in 12 day(s)`, `expires in 5 hour(s)` (0), `expires today` (0),
/// `expired` (−1, or −N for `expired N days ago`), else a performance data item whose label
/// speaks of days.
fn certificate_days(lower: &str, perfdata: &[PerfData]) -> Option<i64> {
    if let Some((_, rest)) = lower.split_once("expires in ").or_else(|| lower.split_once("will expire in ")) {
        let mut words = rest.split_whitespace();
        let n: i64 = words.next()?.parse().ok()?;
        let unit = words.next().unwrap_or_default();
        return Some(if unit.starts_with("day") { n } else { 0 });
    }
    if lower.contains("expires today") {
        return Some(0);
    }
    if let Some((_, rest)) = lower.split_once("expired") {
        let mut words = rest.split_whitespace();
        if let (Some(n), Some(unit), Some("ago")) = (words.next(), words.next(), words.next()) {
            if let (Ok(n), true) = (n.parse::<i64>(), unit.starts_with("day")) {
                return Some(-n);
            }
        }
        return Some(-1);
    }
    perfdata
        .iter()
        .find(|p| p.label.to_ascii_lowercase().contains("day"))
        .and_then(|p| p.value)
        .map(|v| v.floor() as i64)
}

#[cfg(test)]
mod tests {
    use super::super::perfdata::parse_output;
    use super::*;
    use ServiceState::{Critical, Ok, Unknown, Warning};

    #[test]
    fn real_plugin_outputs() {
        // (check kind, program, state, output, headline)
        let cases: Vec<(&str, Option<&str>, ServiceState, &str, Headline)> = vec![
            (
                "plugin",
                Some("/usr/lib/nagios/plugins/check_disk"),
                Critical,
                "DISK CRITICAL - free space: / 1200 MB (6.1% inode=90%);| /=18500MB;16384;18432;0;19660",
                Headline::DiskFull { volume: "/".into(), percent_used: 94 },
            ),
            (
                "plugin",
                Some("check_disk"),
                Warning,
                "DISK WARNING - free space: / 3326 MB (56%); /var 500 MB (9%); | /=2643MB;5948;5958;0;5968\n\
                 / 15272 MB (77%);\n/var 500 MB (9%); | /var=5000MB;4500;5000;0;5500",
                Headline::DiskFull { volume: "/var".into(), percent_used: 91 },
            ),
            (
                "plugin",
                Some("check_disk"),
                Critical,
                "DISK CRITICAL - free space: /srv 1200 MB (6.1% inode=90%); /home 9000 MB (45% inode=99%);",
                Headline::DiskFull { volume: "/srv".into(), percent_used: 94 },
            ),
            (
                "plugin",
                Some("check_nrpe"),
                Critical,
                "CRITICAL: C:\\: 27.9GB/29.9GB used|'C:\\ used'=27.9GB;23.9;26.9;0;29.9 'C:\\ used %'=93%;79;89;0;100 \
                 'D:\\ used'=10GB;80;90;0;100",
                Headline::DiskFull { volume: "C:".into(), percent_used: 93 },
            ),
            (
                "ping",
                None,
                Critical,
                "PING CRITICAL - Packet loss = 100%|rta=5000.000000ms;100.000000;500.000000;0.000000 pl=100%;20;60;0",
                Headline::Unreachable,
            ),
            ("plugin", Some("check_ping"), Critical, "CRITICAL - Host Unreachable (10.1.2.3)", Headline::Unreachable),
            (
                "plugin",
                Some("check_icmp"),
                Critical,
                "CRITICAL - 10.1.2.3: rta nan, lost 100%|rta=0.000ms;200.000;500.000;0; pl=100%;40;80;;",
                Headline::Unreachable,
            ),
            (
                "ping",
                None,
                Warning,
                "PING WARNING - Packet loss = 0%, RTA = 150.23 ms|rta=150.230000ms;100.000000;500.000000;0.000000 pl=0%;20;60;0",
                Headline::Slow { millis: 150 },
            ),
            (
                "ping",
                None,
                Warning,
                "PING WARNING - Packet loss = 30%, RTA = 0.05 ms|rta=0.050000ms;100.000000;500.000000;0.000000 pl=30%;20;60;0",
                Headline::Plain("Packet loss = 30%, RTA = 0.05 ms".into()),
            ),
            (
                "http",
                None,
                Critical,
                "HTTP CRITICAL - Invalid HTTP response received from host on port 443: HTTP/1.1 503 Service Unavailable",
                Headline::Down,
            ),
            (
                "plugin",
                Some("check_http"),
                Critical,
                "HTTP CRITICAL: HTTP/1.1 500 Internal Server Error - 397 bytes in 0.002 second response time \
                 |time=0.002062s;;;0.000000;10.000000 size=397B;;;0",
                Headline::Down,
            ),
            (
                "http",
                None,
                Critical,
                "HTTP CRITICAL: HTTP/1.1 404 Not Found - 397 bytes in 0.002 second response time",
                Headline::Plain("HTTP/1.1 404 Not Found - 397 bytes in 0.002 second response time".into()),
            ),
            (
                "http",
                None,
                Warning,
                "HTTP WARNING: HTTP/1.1 200 OK - 10975 bytes in 3.042 second response time \
                 |time=3.042062s;2.000000;5.000000;0.000000;10.000000 size=10975B;;;0",
                Headline::Slow { millis: 3042 },
            ),
            ("tcp", None, Critical, "connect to address 10.1.2.3 and port 445: Connection refused", Headline::Down),
            ("tcp", None, Critical, "CRITICAL - Socket timeout after 10 seconds", Headline::Unreachable),
            ("plugin", Some("check_tcp"), Critical, "No route to host", Headline::Unreachable),
            (
                "plugin",
                Some("check_load"),
                Critical,
                "CRITICAL - load average: 12.10, 5.20, 3.30|load1=12.100;5.000;10.000;0; load5=5.200;4.000;6.000;0; \
                 load15=3.300;3.000;4.000;0;",
                Headline::Load { value: 12.1 },
            ),
            (
                "plugin",
                Some("check_load"),
                Warning,
                "WARNING - load average: 0.10, 4.50, 0.30|load1=0.100;5.000;10.000;0; load5=4.500;4.000;6.000;0; \
                 load15=0.300;3.000;4.000;0;",
                Headline::Load { value: 4.5 },
            ),
            (
                "plugin",
                Some("check_load"),
                Warning,
                "WARNING - load average: 0.10, 4.50, 0.30",
                Headline::Load { value: 4.5 },
            ),
            (
                "tls_certificate",
                None,
                Warning,
                "SSL WARNING - Certificate 'mairie.example.fr' expires in 12 day(s) (Fri 18 Dec 2026 10:00:00 AM GMT +0000).",
                Headline::CertificateExpires { days: 12 },
            ),
            (
                "plugin",
                Some("check_http"),
                Critical,
                "SSL CRITICAL - Certificate 'mairie.example.fr' expires in 5 hour(s) (Sun 06 Dec 2026 15:00:00 PM GMT +0000).",
                Headline::CertificateExpires { days: 0 },
            ),
            (
                "tls_certificate",
                None,
                Critical,
                "SSL CRITICAL - Certificate 'mairie.example.fr' expired on 2026-11-30 10:00 +0000.",
                Headline::CertificateExpires { days: -1 },
            ),
            (
                "tls_certificate",
                None,
                Critical,
                "CRITICAL - certificate expired 3 days ago",
                Headline::CertificateExpires { days: -3 },
            ),
            (
                "plugin",
                Some("check_procs"),
                Critical,
                "PROCS CRITICAL: 0 processes with command name 'smbd' | procs=0;;1:;0;",
                Headline::Plain("0 processes with command name 'smbd'".into()),
            ),
            (
                "plugin",
                Some("check_disk"),
                Unknown,
                "DISK UNKNOWN - /data is not accessible: No such file or directory",
                Headline::Plain("/data is not accessible: No such file or directory".into()),
            ),
            // OK results are shown as the plugin says, without the prefix.
            (
                "ping",
                None,
                Ok,
                "PING OK - Packet loss = 0%, RTA = 0.05 ms|rta=0.050000ms;100.000000;500.000000;0.000000 pl=0%;20;60;0",
                Headline::Plain("Packet loss = 0%, RTA = 0.05 ms".into()),
            ),
            (
                "plugin",
                Some("check_load"),
                Ok,
                "OK - load average: 0.10, 0.20, 0.30|load1=0.100;5.000;10.000;0; load5=0.200;4.000;6.000;0; load15=0.300;3.000;4.000;0;",
                Headline::Plain("load average: 0.10, 0.20, 0.30".into()),
            ),
            (
                "plugin",
                Some("check_disk"),
                Ok,
                "DISK OK - free space: / 3326 MB (56%); | /=2643MB;5948;5958;0;5968",
                Headline::Plain("free space: / 3326 MB (56%);".into()),
            ),
        ];
        for (kind, program, state, text, expected) in cases {
            let output = parse_output(text);
            assert_eq!(headline(kind, program, state, &output), expected, "{text}");
        }
    }

    #[test]
    fn state_prefixes() {
        let cases = [
            ("DISK CRITICAL - free space: / 1200 MB", "free space: / 1200 MB"),
            ("HTTP OK: HTTP/1.1 200 OK - 10975 bytes", "HTTP/1.1 200 OK - 10975 bytes"),
            ("OK - load average: 0.10", "load average: 0.10"),
            ("CRITICAL: C:\\: 93% used", "C:\\: 93% used"),
            ("SSL WARNING - Certificate expires", "Certificate expires"),
            ("CHECK_NRPE STATE CRITICAL: Socket timeout", "Socket timeout"),
            ("TCP OK - 0.001 second response time", "0.001 second response time"),
            ("WARN – slow", "slow"),
            ("CRITICAL", "CRITICAL"),
            ("PING OK -", "PING OK -"),
            (
                "connect to address 10.1.2.3 and port 445: Connection refused",
                "connect to address 10.1.2.3 and port 445: Connection refused",
            ),
            ("Service is OK", "Service is OK"),
            ("ALL IS WELL AND OK - but four words", "ALL IS WELL AND OK - but four words"),
            ("  OK - spaced  ", "spaced"),
            ("", ""),
        ];
        for (summary, expected) in cases {
            assert_eq!(strip_state_prefix(summary), expected, "{summary:?}");
        }
    }

    #[test]
    fn headline_json() {
        let h = Headline::DiskFull { volume: "C:".into(), percent_used: 93 };
        assert_eq!(
            serde_json::to_value(&h).unwrap(),
            serde_json::json!({"kind": "disk_full", "data": {"volume": "C:", "percent_used": 93}})
        );
        assert_eq!(serde_json::to_value(Headline::Unreachable).unwrap(), serde_json::json!({"kind": "unreachable"}));
        assert_eq!(
            serde_json::to_value(Headline::Plain("x".into())).unwrap(),
            serde_json::json!({"kind": "plain", "data": "x"})
        );
        assert_eq!(program_name("C:\\Program Files\\NSClient++\\check_nt.exe"), "check_nt");
        assert_eq!(program_name("/usr/local/bin/Check_Foo.py"), "check_foo");
    }
}
