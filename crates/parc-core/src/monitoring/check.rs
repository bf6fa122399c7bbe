//! What a check runs: a Nagios-compatible plugin command line, or one of the native checks
//! (TCP, HTTP, TLS certificate expiry, ICMP echo) that `parc-monitor` performs in-process.
//!
//! A [`CheckDefinition`] is stored as JSON and posted by the API, so its serde shape is a
//! contract. [`CheckDefinition::validate`] refuses a bad definition at save time with per-field
//! errors, so that the runner only ever meets definitions that can be prepared.
//!
//! # Command lines
//!
//! A plugin command is a template with Nagios macros (`$HOSTADDRESS$`, `$HOSTNAME$`,
//! `$SERVICEDESC$`, `$ARG1$`..`$ARG32$`, `$USER1$`..`$USER32$`; `$$` is a literal `$`).
//! [`CommandTemplate::parse`] splits it into words with POSIX-shell quoting (`'…'`, `"…"`,
//! `\x`) and notices *shell syntax* (pipes, redirections, `;`, `&`, `$(`, backticks, globs, a
//! leading `~`, `VAR=value` before the program, `$` expansions…):
//!
//! * Without shell syntax the command is run directly as an argv, without `/bin/sh` (cheaper,
//!   and nothing is interpreted). Macros are expanded *after* splitting, so a macro value is
//!   always part of one word: a host address holding spaces or quotes can never add an argument.
//!   This differs on purpose from Nagios, where `$ARG1$` = `-w 1 -c 2` becomes four words: write
//!   such options in the command itself, or one `$ARGn$` per word.
//! * With shell syntax the line is given to `/bin/sh -c`, and every macro value is quoted for
//!   the shell according to where it stands (unquoted, inside `'…'` or inside `"…"`), so a
//!   value is still read as plain text and never as shell code.
//!
//! Everything here is pure: the runner in `parc-monitor` and the web layer's validation share it.

use super::threshold::{Range, Thresholds};
use super::ServiceState;
use crate::validate::ValidationErrors;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// The longest command template accepted, in bytes (Nagios' own buffers are of this order).
pub const MAX_COMMAND_BYTES: usize = 4096;
/// The most `$ARGn$` values a check may have (`$ARG1$`..`$ARG32$`).
pub const MAX_ARGS: usize = 32;
/// The highest `n` of `$USERn$` resource macros.
pub const MAX_USER_MACROS: u8 = 32;
/// The longest `$ARGn$` value, and the longest text to send or expect, in bytes.
pub const MAX_VALUE_BYTES: usize = 4096;
/// The most echo requests one ping check may send.
pub const MAX_PING_PACKETS: u8 = 20;

/// What a check runs. Stored as JSON, tagged by `type`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum CheckDefinition {
    /// Nagios-compatible plugin command line with macros: `$HOSTADDRESS$`, `$HOSTNAME$`,
    /// `$SERVICEDESC$`, `$ARG1$`..`$ARG32$` (from `args`), `$USER1$`..`$USER32$` (resource
    /// macros, `$USER1$` = plugin directory), `$$` = literal `$`.
    Plugin {
        /// The command template, e.g. `$USER1$/check_disk -w $ARG1$ -c $ARG2$ -p /`.
        command: String,
        /// The values of `$ARG1$`, `$ARG2$`, … in order.
        #[serde(default)]
        args: Vec<String>,
    },
    /// TCP connect to the host address, optionally send a string and expect a substring in the
    /// reply; warning/critical are threshold ranges on the connect time in seconds.
    Tcp {
        /// The TCP port.
        port: u16,
        /// Text sent once connected.
        #[serde(default)]
        send: Option<String>,
        /// A substring the reply must hold (a mismatch is WARNING, as with `check_tcp`).
        #[serde(default)]
        expect: Option<String>,
        /// Warning range on the connect time, in seconds (e.g. `0.5`).
        #[serde(default)]
        warning: Option<String>,
        /// Critical range on the connect time, in seconds.
        #[serde(default)]
        critical: Option<String>,
    },
    /// HTTP(S) GET: status expectation (e.g. `200`, `200-399`, `200,301`), optional body
    /// substring, response-time thresholds in seconds.
    Http {
        /// HTTPS rather than HTTP.
        #[serde(default)]
        tls: bool,
        /// The port; 80 or 443 when absent.
        #[serde(default)]
        port: Option<u16>,
        /// The path and query, starting with `/`.
        #[serde(default = "default_http_path")]
        path: String,
        /// The `Host` header (and TLS server name), for name-based virtual hosts.
        #[serde(default)]
        host_header: Option<String>,
        /// Accepted status codes; `200-399` when absent (redirects are not followed).
        #[serde(default)]
        expect_status: Option<String>,
        /// A substring the body must hold.
        #[serde(default)]
        content: Option<String>,
        /// Warning range on the response time, in seconds.
        #[serde(default)]
        warning: Option<String>,
        /// Critical range on the response time, in seconds.
        #[serde(default)]
        critical: Option<String>,
        /// Verify the server certificate (chain and name) against the web PKI roots.
        #[serde(default)]
        verify_certificate: bool,
    },
    /// TLS certificate expiry of the service on `port`: WARNING below `warning_days`, CRITICAL
    /// below `critical_days` (or expired, or the handshake failed).
    TlsCertificate {
        /// The TCP port of the TLS service.
        port: u16,
        /// The server name sent (SNI); the host address when absent.
        #[serde(default)]
        server_name: Option<String>,
        /// WARNING when fewer days are left.
        warning_days: u32,
        /// CRITICAL when fewer days are left.
        critical_days: u32,
    },
    /// ICMP echo: round-trip thresholds in milliseconds and packet loss, in `check_ping`'s
    /// `rta,pl%` syntax, e.g. warning `100,20%`, critical `500,60%`.
    Ping {
        /// Warning round-trip average (ms) and loss (%).
        #[serde(default = "default_ping_warning")]
        warning: String,
        /// Critical round-trip average (ms) and loss (%).
        #[serde(default = "default_ping_critical")]
        critical: String,
        /// How many echo requests to send.
        #[serde(default = "default_ping_packets")]
        packets: u8,
    },
}

fn default_http_path() -> String {
    "/".to_owned()
}

fn default_ping_warning() -> String {
    "100,20%".to_owned()
}

fn default_ping_critical() -> String {
    "500,60%".to_owned()
}

fn default_ping_packets() -> u8 {
    3
}

impl CheckDefinition {
    /// Refuses a definition that could not run, with per-field errors (`check.command`,
    /// `check.args`, `check.port`, `check.warning`…) and stable codes. `$USERn$` macros are
    /// accepted here whatever `n` (1..=32): which ones exist is server configuration, checked
    /// when the check is prepared.
    pub fn validate(&self) -> Result<(), ValidationErrors> {
        let mut errors = ValidationErrors::new();
        match self {
            CheckDefinition::Plugin { command, args } => {
                if args.len() > MAX_ARGS {
                    errors.add(
                        "check.args",
                        "check_args_too_many",
                        format!("at most {MAX_ARGS} arguments ($ARG1$..$ARG{MAX_ARGS}$) are allowed"),
                    );
                }
                for (i, arg) in args.iter().enumerate() {
                    if arg.contains('\0') {
                        errors.add("check.args", "check_args_invalid", format!("$ARG{}$ contains a NUL byte", i + 1));
                    } else if arg.len() > MAX_VALUE_BYTES {
                        errors.add(
                            "check.args",
                            "check_args_invalid",
                            format!("$ARG{}$ is longer than {MAX_VALUE_BYTES} bytes", i + 1),
                        );
                    }
                }
                let expanded = CommandTemplate::parse(command)
                    .and_then(|template| template.expand(&MacroValues::for_validation(args)));
                if let Err(e) = expanded {
                    errors.add("check.command", e.code(), e.to_string());
                }
            }
            CheckDefinition::Tcp { port, send, expect, warning, critical } => {
                check_port(&mut errors, *port);
                check_text(&mut errors, "check.send", send.as_deref());
                check_text(&mut errors, "check.expect", expect.as_deref());
                if expect.as_deref() == Some("") {
                    errors.add("check.expect", "check_text_invalid", "the expected text is empty");
                }
                check_thresholds(&mut errors, warning.as_deref(), critical.as_deref());
            }
            CheckDefinition::Http {
                tls: _,
                port,
                path,
                host_header,
                expect_status,
                content,
                warning,
                critical,
                verify_certificate: _,
            } => {
                if let Some(port) = port {
                    check_port(&mut errors, *port);
                }
                if !path.starts_with('/') || path.chars().any(|c| c.is_whitespace() || c.is_control()) {
                    errors.add(
                        "check.path",
                        "check_path_invalid",
                        "the path must start with '/' and hold no spaces or control characters",
                    );
                }
                if let Some(host) = host_header {
                    if !is_host_name(host) {
                        errors.add(
                            "check.host_header",
                            "check_host_invalid",
                            format!("'{}' is not a host name", quote(host)),
                        );
                    }
                }
                if let Some(status) = expect_status {
                    if let Err(e) = StatusExpectation::parse(status) {
                        errors.add("check.expect_status", "check_status_invalid", e.to_string());
                    }
                }
                check_text(&mut errors, "check.content", content.as_deref());
                check_thresholds(&mut errors, warning.as_deref(), critical.as_deref());
            }
            CheckDefinition::TlsCertificate { port, server_name, warning_days, critical_days } => {
                check_port(&mut errors, *port);
                if let Some(name) = server_name {
                    if !is_host_name(name) {
                        errors.add(
                            "check.server_name",
                            "check_host_invalid",
                            format!("'{}' is not a host name", quote(name)),
                        );
                    }
                }
                if critical_days > warning_days {
                    errors.add(
                        "check.critical_days",
                        "check_days_invalid",
                        "the critical number of days must not be above the warning one",
                    );
                }
            }
            CheckDefinition::Ping { warning, critical, packets } => {
                let w = PingThreshold::parse(warning);
                let c = PingThreshold::parse(critical);
                if let Err(e) = &w {
                    errors.add("check.warning", "check_threshold_invalid", e.to_string());
                }
                if let Err(e) = &c {
                    errors.add("check.critical", "check_threshold_invalid", e.to_string());
                }
                if let (Ok(w), Ok(c)) = (w, c) {
                    if w.rta_ms > c.rta_ms || w.loss_percent > c.loss_percent {
                        errors.add(
                            "check.warning",
                            "check_threshold_invalid",
                            "the warning thresholds must not be above the critical ones",
                        );
                    }
                }
                if *packets == 0 || *packets > MAX_PING_PACKETS {
                    errors.add(
                        "check.packets",
                        "check_packets_invalid",
                        format!("send between 1 and {MAX_PING_PACKETS} packets"),
                    );
                }
            }
        }
        errors.into_result()
    }

    /// The stable name of the kind: `plugin`, `tcp`, `http`, `tls_certificate`, `ping` (the
    /// serde tag).
    pub fn kind(&self) -> &'static str {
        match self {
            CheckDefinition::Plugin { .. } => "plugin",
            CheckDefinition::Tcp { .. } => "tcp",
            CheckDefinition::Http { .. } => "http",
            CheckDefinition::TlsCertificate { .. } => "tls_certificate",
            CheckDefinition::Ping { .. } => "ping",
        }
    }

    /// A short human summary for lists: `check_disk -w 10% -c 5% -p /`, `TCP 22`,
    /// `HTTPS :443 /`, `TLS certificate :443`, `Ping (3 packets)`. For a plugin, `$ARGn$` are
    /// shown with their values and the program without its directory; at most 120 characters.
    pub fn summary(&self) -> String {
        match self {
            CheckDefinition::Plugin { command, args } => {
                let mut shown = command.trim().to_owned();
                // Highest first, so that $ARG1$ does not eat the start of $ARG10$.
                for (i, arg) in args.iter().enumerate().rev() {
                    shown = shown.replace(&format!("$ARG{}$", i + 1), arg);
                }
                let (program, rest) = shown.split_once(char::is_whitespace).unwrap_or((&shown, ""));
                let program = program.rsplit('/').next().unwrap_or(program);
                let line = if rest.is_empty() { program.to_owned() } else { format!("{program} {}", rest.trim()) };
                match line.char_indices().nth(119) {
                    Some((cut, _)) => format!("{}…", &line[..cut]),
                    None => line,
                }
            }
            CheckDefinition::Tcp { port, .. } => format!("TCP {port}"),
            CheckDefinition::Http { tls, port, path, host_header, .. } => {
                let scheme = if *tls { "HTTPS" } else { "HTTP" };
                let port = port.unwrap_or(if *tls { 443 } else { 80 });
                format!("{scheme} {}:{port} {path}", host_header.as_deref().unwrap_or(""))
            }
            CheckDefinition::TlsCertificate { port, .. } => format!("TLS certificate :{port}"),
            CheckDefinition::Ping { packets, .. } => {
                format!("Ping ({packets} packet{})", if *packets == 1 { "" } else { "s" })
            }
        }
    }
}

fn check_port(errors: &mut ValidationErrors, port: u16) {
    if port == 0 {
        errors.add("check.port", "check_port_invalid", "the port must be between 1 and 65535");
    }
}

fn check_text(errors: &mut ValidationErrors, field: &str, text: Option<&str>) {
    if let Some(text) = text {
        if text.contains('\0') || text.len() > MAX_VALUE_BYTES {
            errors.add(
                field,
                "check_text_invalid",
                format!("the text must hold no NUL byte and at most {MAX_VALUE_BYTES} bytes"),
            );
        }
    }
}

fn check_thresholds(errors: &mut ValidationErrors, warning: Option<&str>, critical: Option<&str>) {
    for (field, text) in [("check.warning", warning), ("check.critical", critical)] {
        if let Some(Err(e)) = text.map(Range::parse) {
            errors.add(field, "check_threshold_invalid", e.to_string());
        }
    }
}

/// The warning and critical ranges of a TCP or HTTP check. Call it on a validated definition;
/// an unreadable range is returned as the error of its field.
pub fn parse_thresholds(warning: Option<&str>, critical: Option<&str>) -> Result<Thresholds, ValidationErrors> {
    let mut errors = ValidationErrors::new();
    check_thresholds(&mut errors, warning, critical);
    errors.into_result()?;
    Ok(Thresholds {
        warning: warning.map(Range::parse).transpose().ok().flatten(),
        critical: critical.map(Range::parse).transpose().ok().flatten(),
    })
}

/// A DNS name or an IP address literal: letters, digits, `-`, `.`, `:` (IPv6), `_`.
fn is_host_name(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 253
        && text.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | ':' | '_'))
}

/// At most 40 characters of a user's text, for an error message.
fn quote(text: &str) -> String {
    text.chars().take(40).collect()
}

/// Accepted HTTP status codes: `200`, `200-399`, `200,301,302`, or a mix (`200-299,304`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusExpectation(Vec<(u16, u16)>);

/// Why a status expectation could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a status expectation: expected codes from 100 to 599 such as 200, 200-399 or 200,301")]
pub struct StatusExpectationError(String);

impl StatusExpectation {
    /// Reads a comma-separated list of codes and `low-high` ranges (100..=599).
    pub fn parse(text: &str) -> Result<StatusExpectation, StatusExpectationError> {
        let error = || StatusExpectationError(quote(text));
        let code = |s: &str| s.trim().parse::<u16>().ok().filter(|c| (100..=599).contains(c));
        let mut ranges = Vec::new();
        for part in text.split(',') {
            let (low, high) = match part.split_once('-') {
                Some((low, high)) => (code(low).ok_or_else(error)?, code(high).ok_or_else(error)?),
                None => {
                    let c = code(part).ok_or_else(error)?;
                    (c, c)
                }
            };
            if low > high {
                return Err(error());
            }
            ranges.push((low, high));
        }
        Ok(StatusExpectation(ranges))
    }

    /// Whether `status` is accepted.
    pub fn matches(&self, status: u16) -> bool {
        self.0.iter().any(|&(low, high)| (low..=high).contains(&status))
    }
}

impl Default for StatusExpectation {
    /// Any success or redirect (`200-399`), as `check_http` accepts by default.
    fn default() -> Self {
        StatusExpectation(vec![(200, 399)])
    }
}

impl fmt::Display for StatusExpectation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (low, high)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(",")?;
            }
            if low == high {
                write!(f, "{low}")?;
            } else {
                write!(f, "{low}-{high}")?;
            }
        }
        Ok(())
    }
}

/// One `check_ping` threshold: `rta,pl%`, a round-trip average in milliseconds and a packet
/// loss in percent.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PingThreshold {
    /// Round-trip average, in milliseconds.
    pub rta_ms: f64,
    /// Packet loss, in percent (0..=100).
    pub loss_percent: f64,
}

/// Why a ping threshold could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a ping threshold: expected 'round-trip ms,loss%' such as 100,20%")]
pub struct PingThresholdError(String);

impl PingThreshold {
    /// Reads `100,20%` (the `%` is optional).
    pub fn parse(text: &str) -> Result<PingThreshold, PingThresholdError> {
        let error = || PingThresholdError(quote(text));
        let (rta, loss) = text.split_once(',').ok_or_else(error)?;
        let loss = loss.trim();
        let loss = loss.strip_suffix('%').unwrap_or(loss);
        let rta_ms = rta.trim().parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0).ok_or_else(error)?;
        let loss_percent = loss.trim().parse::<f64>().ok().filter(|v| (0.0..=100.0).contains(v)).ok_or_else(error)?;
        Ok(PingThreshold { rta_ms, loss_percent })
    }

    /// Whether a measure crosses this threshold, as `check_ping` judges it: round-trip average
    /// or loss at or above the threshold. `rta_ms` is `None` when no reply came.
    pub fn crossed(&self, rta_ms: Option<f64>, loss_percent: f64) -> bool {
        loss_percent >= self.loss_percent || rta_ms.is_some_and(|rta| rta >= self.rta_ms)
    }
}

impl fmt::Display for PingThreshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{},{}%", self.rta_ms, self.loss_percent)
    }
}

/// The state of a ping measure: CRITICAL when every packet was lost or the critical threshold
/// is crossed, else WARNING when the warning one is, else OK.
pub fn ping_state(
    warning: PingThreshold,
    critical: PingThreshold,
    rta_ms: Option<f64>,
    loss_percent: f64,
) -> ServiceState {
    if rta_ms.is_none() || loss_percent >= 100.0 || critical.crossed(rta_ms, loss_percent) {
        ServiceState::Critical
    } else if warning.crossed(rta_ms, loss_percent) {
        ServiceState::Warning
    } else {
        ServiceState::Ok
    }
}

/// A Nagios macro of a command template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Macro {
    /// `$HOSTADDRESS$`: the address of the host (IP or DNS name).
    HostAddress,
    /// `$HOSTNAME$`: the host's name in Parc.
    HostName,
    /// `$SERVICEDESC$`: the check's name.
    ServiceDesc,
    /// `$ARGn$`, 1..=32: the check's `args[n - 1]`.
    Arg(u8),
    /// `$USERn$`, 1..=32: a resource macro of the server configuration.
    User(u8),
}

impl Macro {
    /// The macro named `name` (between the `$`), if it is one.
    pub fn from_name(name: &str) -> Option<Macro> {
        let numbered = |prefix: &str| {
            let digits = name.strip_prefix(prefix)?;
            if digits.starts_with('0') {
                return None;
            }
            digits.parse::<u8>().ok().filter(|n| (1..=32).contains(n))
        };
        match name {
            "HOSTADDRESS" => Some(Macro::HostAddress),
            "HOSTNAME" => Some(Macro::HostName),
            "SERVICEDESC" => Some(Macro::ServiceDesc),
            _ => numbered("ARG").map(Macro::Arg).or_else(|| numbered("USER").map(Macro::User)),
        }
    }
}

impl fmt::Display for Macro {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Macro::HostAddress => f.write_str("$HOSTADDRESS$"),
            Macro::HostName => f.write_str("$HOSTNAME$"),
            Macro::ServiceDesc => f.write_str("$SERVICEDESC$"),
            Macro::Arg(n) => write!(f, "$ARG{n}$"),
            Macro::User(n) => write!(f, "$USER{n}$"),
        }
    }
}

/// Why a command template cannot be parsed or expanded. [`CommandError::code`] is the stable
/// code of the `check.command` field error.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// Nothing but white space, or a command that expands to no program.
    #[error("the command is empty")]
    Empty,
    /// Longer than [`MAX_COMMAND_BYTES`].
    #[error("the command is longer than {MAX_COMMAND_BYTES} bytes")]
    TooLong,
    /// A NUL byte, which no process argument can hold.
    #[error("the command contains a NUL byte")]
    Nul,
    /// A quote that is never closed, or a lone backslash at the end.
    #[error("{0}")]
    Unbalanced(&'static str),
    /// `$NAME$` that is not a known macro.
    #[error("unknown macro {0} (known: $HOSTADDRESS$, $HOSTNAME$, $SERVICEDESC$, $ARGn$, $USERn$; write $$ for a literal $)")]
    UnknownMacro(String),
    /// `$ARGn$` beyond the arguments given.
    #[error("the command uses $ARG{0}$ but only {1} argument(s) are given")]
    MissingArg(u8, usize),
    /// `$USERn$` that the server does not define.
    #[error("$USER{0}$ is not defined in this server's configuration")]
    UndefinedUserMacro(u8),
    /// A program given by a relative path (`./check_x`, `plugins/check_x`).
    #[error("the program '{0}' must be an absolute path, start with $USERn$, or be a bare name found in PATH")]
    NotAbsolute(String),
    /// A macro value holding a NUL byte.
    #[error("the value of {0} contains a NUL byte")]
    NulInValue(Macro),
}

impl CommandError {
    /// The stable code of the field error (`check_command_…`), translated by the web layer.
    pub fn code(&self) -> &'static str {
        match self {
            CommandError::Empty => "check_command_empty",
            CommandError::TooLong => "check_command_too_long",
            CommandError::Nul | CommandError::NulInValue(_) => "check_command_invalid_character",
            CommandError::Unbalanced(_) => "check_command_unbalanced_quote",
            CommandError::UnknownMacro(_) | CommandError::UndefinedUserMacro(_) => "check_command_unknown_macro",
            CommandError::MissingArg(..) => "check_command_missing_arg",
            CommandError::NotAbsolute(_) => "check_command_not_absolute",
        }
    }

    /// The error as the `check.command` field error of a [`ValidationErrors`].
    pub fn into_validation(self) -> ValidationErrors {
        ValidationErrors::single("check.command", self.code(), self.to_string())
    }
}

/// Where a macro stands in the template, which decides how its value is quoted for the shell.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Quoting {
    None,
    Single,
    Double,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Macro(Macro),
}

/// One argv word before expansion.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
struct Word {
    segments: Vec<Segment>,
    /// Some part was quoted or escaped: the word exists even when it expands to nothing.
    quoted: bool,
    /// Everything so far is unquoted literal text (for `NAME=value` detection).
    plain: bool,
    /// An unquoted `NAME=` starts the word: an environment assignment for the shell.
    assignment: bool,
}

impl Word {
    fn new() -> Word {
        Word { plain: true, ..Word::default() }
    }

    fn push_char(&mut self, c: char) {
        match self.segments.last_mut() {
            Some(Segment::Text(text)) => text.push(c),
            _ => self.segments.push(Segment::Text(c.to_string())),
        }
    }
}

/// A piece of the shell line: template text kept as written, or a macro to quote.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Raw(String),
    Macro(Macro, Quoting),
}

/// A parsed command template: argv words, or a shell line when it uses shell syntax.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommandTemplate {
    words: Vec<Word>,
    pieces: Vec<Piece>,
    shell: bool,
}

/// The values macros expand to.
#[derive(Debug, Clone, Copy)]
pub struct MacroValues<'a> {
    /// `$HOSTNAME$`.
    pub host_name: &'a str,
    /// `$HOSTADDRESS$`.
    pub host_address: &'a str,
    /// `$SERVICEDESC$`.
    pub service_description: &'a str,
    /// `$ARG1$`, `$ARG2$`, …
    pub args: &'a [String],
    /// `$USERn$`; `None` at validation time, when any `$USERn$` is accepted and stands for a
    /// directory.
    pub user: Option<&'a BTreeMap<u8, String>>,
}

impl<'a> MacroValues<'a> {
    /// Values to validate a template at save time: the check's own arguments and placeholders
    /// for what is only known when it runs (host, resource macros).
    pub fn for_validation(args: &'a [String]) -> MacroValues<'a> {
        MacroValues { host_name: "host", host_address: "host", service_description: "service", args, user: None }
    }

    fn get(&self, m: Macro) -> Result<&'a str, CommandError> {
        let value = match m {
            Macro::HostAddress => self.host_address,
            Macro::HostName => self.host_name,
            Macro::ServiceDesc => self.service_description,
            Macro::Arg(n) => self.args.get(usize::from(n) - 1).ok_or(CommandError::MissingArg(n, self.args.len()))?,
            Macro::User(n) => match self.user {
                Some(user) => user.get(&n).ok_or(CommandError::UndefinedUserMacro(n))?,
                None => "/usr/lib/nagios/plugins",
            },
        };
        if value.contains('\0') {
            return Err(CommandError::NulInValue(m));
        }
        Ok(value)
    }
}

/// A command ready to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CommandLine {
    /// Run directly: the program and its arguments.
    Argv(Vec<String>),
    /// Run through `/bin/sh -c` with this line.
    Shell(String),
}

/// Characters that make an unquoted word shell syntax.
const SHELL_CHARS: &[char] = &['|', '&', ';', '<', '>', '(', ')', '`', '*', '?', '['];

impl CommandTemplate {
    /// Splits a template into words (POSIX quoting) and finds its macros and shell syntax.
    pub fn parse(command: &str) -> Result<CommandTemplate, CommandError> {
        if command.len() > MAX_COMMAND_BYTES {
            return Err(CommandError::TooLong);
        }
        if command.contains('\0') {
            return Err(CommandError::Nul);
        }
        if command.trim().is_empty() {
            return Err(CommandError::Empty);
        }
        let mut parser = Parser { chars: command.chars().collect(), ..Parser::default() };
        parser.run()?;
        let shell = parser.shell || parser.words.first().is_some_and(|w| w.assignment);
        Ok(CommandTemplate { words: parser.words, pieces: parser.pieces, shell })
    }

    /// Whether the command needs `/bin/sh`.
    pub fn uses_shell(&self) -> bool {
        self.shell
    }

    /// Every macro the template uses, in order.
    pub fn macros(&self) -> impl Iterator<Item = Macro> + '_ {
        self.pieces.iter().filter_map(|p| match p {
            Piece::Macro(m, _) => Some(*m),
            Piece::Raw(_) => None,
        })
    }

    /// Expands the macros: into argv words (a value never splits or merges words; an unquoted
    /// word that expands to nothing is dropped, as the shell would), or into a shell line with
    /// every value quoted for its place.
    pub fn expand(&self, values: &MacroValues<'_>) -> Result<CommandLine, CommandError> {
        if self.shell {
            let mut line = String::new();
            for piece in &self.pieces {
                match piece {
                    Piece::Raw(text) => line.push_str(text),
                    Piece::Macro(m, quoting) => shell_quote_into(&mut line, values.get(*m)?, *quoting),
                }
            }
            return Ok(CommandLine::Shell(line));
        }
        let mut argv = Vec::with_capacity(self.words.len());
        for word in &self.words {
            let mut text = String::new();
            for segment in &word.segments {
                match segment {
                    Segment::Text(t) => text.push_str(t),
                    Segment::Macro(m) => text.push_str(values.get(*m)?),
                }
            }
            if word.quoted || !text.is_empty() {
                argv.push(text);
            }
        }
        match argv.first() {
            None => Err(CommandError::Empty),
            Some(program) if program.is_empty() => Err(CommandError::Empty),
            Some(program) if program.contains('/') && !program.starts_with('/') => {
                Err(CommandError::NotAbsolute(quote(program)))
            }
            Some(_) => Ok(CommandLine::Argv(argv)),
        }
    }
}

/// Appends `value` to a shell line so that the shell reads it as plain text.
fn shell_quote_into(line: &mut String, value: &str, quoting: Quoting) {
    match quoting {
        Quoting::None => {
            line.push('\'');
            line.push_str(&value.replace('\'', r"'\''"));
            line.push('\'');
        }
        Quoting::Single => line.push_str(&value.replace('\'', r"'\''")),
        Quoting::Double => {
            for c in value.chars() {
                if matches!(c, '$' | '`' | '"' | '\\') {
                    line.push('\\');
                }
                line.push(c);
            }
        }
    }
}

/// The template scanner's state.
#[derive(Default)]
struct Parser {
    chars: Vec<char>,
    pos: usize,
    words: Vec<Word>,
    current: Option<Word>,
    pieces: Vec<Piece>,
    shell: bool,
}

impl Parser {
    fn peek(&self, offset: usize) -> Option<char> {
        self.chars.get(self.pos + offset).copied()
    }

    fn raw(&mut self, c: char) {
        match self.pieces.last_mut() {
            Some(Piece::Raw(text)) => text.push(c),
            _ => self.pieces.push(Piece::Raw(c.to_string())),
        }
    }

    fn word(&mut self) -> &mut Word {
        self.current.get_or_insert_with(Word::new)
    }

    fn finish_word(&mut self) {
        if let Some(word) = self.current.take() {
            self.words.push(word);
        }
    }

    /// A literal character of the current word.
    fn literal(&mut self, c: char, quoting: Quoting) {
        let word = self.word();
        if quoting != Quoting::None {
            word.quoted = true;
            word.plain = false;
        }
        word.push_char(c);
    }

    fn run(&mut self) -> Result<(), CommandError> {
        let mut quoting = Quoting::None;
        while let Some(c) = self.peek(0) {
            match (quoting, c) {
                (Quoting::None, ' ' | '\t') => {
                    self.finish_word();
                    self.raw(c);
                }
                (Quoting::None, '\n' | '\r') => {
                    self.shell = true;
                    self.finish_word();
                    self.raw(c);
                }
                (Quoting::None, '\'') => {
                    quoting = Quoting::Single;
                    self.literal_mark_quoted();
                    self.raw(c);
                }
                (Quoting::None | Quoting::Double, '"') => {
                    quoting = if quoting == Quoting::None { Quoting::Double } else { Quoting::None };
                    self.literal_mark_quoted();
                    self.raw(c);
                }
                (Quoting::Single, '\'') => {
                    quoting = Quoting::None;
                    self.raw(c);
                }
                (Quoting::None, '\\') => {
                    let Some(next) = self.peek(1) else {
                        return Err(CommandError::Unbalanced("the command ends with a lone backslash"));
                    };
                    self.raw(c);
                    self.raw(next);
                    self.pos += 1;
                    if next != '\n' {
                        self.literal(next, Quoting::Double);
                    }
                }
                (Quoting::Double, '\\') => match self.peek(1) {
                    Some(next @ ('$' | '`' | '"' | '\\' | '\n')) => {
                        self.raw(c);
                        self.raw(next);
                        self.pos += 1;
                        if next != '\n' {
                            self.literal(next, Quoting::Double);
                        }
                    }
                    _ => {
                        self.raw(c);
                        self.literal(c, Quoting::Double);
                    }
                },
                (_, '$') => {
                    self.dollar(quoting)?;
                    continue;
                }
                (Quoting::Double, '`') => {
                    self.shell = true;
                    self.raw(c);
                    self.literal(c, quoting);
                }
                (Quoting::None, _) => {
                    let starts_word = self.current.is_none();
                    let next = self.peek(1);
                    let ends_word = next.is_none_or(|n| n == ' ' || n == '\t');
                    let special = SHELL_CHARS.contains(&c)
                        || (starts_word && c == '#')
                        || (starts_word && c == '!' && ends_word)
                        || (starts_word
                            && c == '~'
                            && (ends_word || next.is_some_and(|n| n == '/' || n.is_alphanumeric() || n == '_')));
                    if special {
                        self.shell = true;
                    }
                    if c == '=' && !starts_word {
                        let word = self.word();
                        if word.plain && word.segments.len() == 1 {
                            if let Some(Segment::Text(name)) = word.segments.first() {
                                let mut chars = name.chars();
                                let valid = chars.next().is_some_and(|f| f.is_ascii_alphabetic() || f == '_')
                                    && chars.all(|c| c.is_ascii_alphanumeric() || c == '_');
                                word.assignment |= valid;
                            }
                        }
                    }
                    self.raw(c);
                    self.literal(c, Quoting::None);
                }
                (_, _) => {
                    self.raw(c);
                    self.literal(c, quoting);
                }
            }
            self.pos += 1;
        }
        match quoting {
            Quoting::None => {
                self.finish_word();
                Ok(())
            }
            Quoting::Single => Err(CommandError::Unbalanced("a single quote (') is never closed")),
            Quoting::Double => Err(CommandError::Unbalanced("a double quote (\") is never closed")),
        }
    }

    /// An opening quote: the word exists even if empty (`''`), and is no longer plain text.
    fn literal_mark_quoted(&mut self) {
        let word = self.word();
        word.quoted = true;
        word.plain = false;
    }

    /// A `$` at `pos`: `$$` (a literal `$`), a `$MACRO$`, or the shell's own `$`. Moves past it.
    fn dollar(&mut self, quoting: Quoting) -> Result<(), CommandError> {
        if self.peek(1) == Some('$') {
            self.pos += 2;
            self.raw('$');
            self.literal('$', quoting);
            // The shell sees a `$` it will expand, except inside single quotes.
            self.shell |= quoting != Quoting::Single;
            return Ok(());
        }
        let name_len =
            self.chars[self.pos + 1..].iter().take_while(|c| c.is_ascii_alphanumeric() || **c == '_').count();
        if name_len > 0 && self.peek(1 + name_len) == Some('$') {
            let name: String = self.chars[self.pos + 1..self.pos + 1 + name_len].iter().collect();
            let m = Macro::from_name(&name).ok_or_else(|| CommandError::UnknownMacro(format!("${}$", quote(&name))))?;
            self.pos += name_len + 2;
            let word = self.word();
            word.segments.push(Segment::Macro(m));
            word.plain = false;
            self.pieces.push(Piece::Macro(m, quoting));
            return Ok(());
        }
        self.pos += 1;
        self.raw('$');
        self.literal('$', quoting);
        self.shell |= quoting != Quoting::Single;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn argv(words: &[&str]) -> CommandLine {
        CommandLine::Argv(words.iter().map(|w| w.to_string()).collect())
    }

    fn expand_with(command: &str, address: &str, args: &[&str]) -> Result<CommandLine, CommandError> {
        let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
        let user = BTreeMap::from([(1, "/plugins".to_owned()), (2, "/opt/my plugins".to_owned())]);
        let values = MacroValues {
            host_name: "web-1",
            host_address: address,
            service_description: "Disk /",
            args: &args,
            user: Some(&user),
        };
        CommandTemplate::parse(command)?.expand(&values)
    }

    #[test]
    fn splits_without_shell() {
        let cases: &[(&str, &[&str])] = &[
            ("/usr/lib/nagios/plugins/check_dummy 0 OK", &["/usr/lib/nagios/plugins/check_dummy", "0", "OK"]),
            ("  check_disk   -w 10% -c 5%\t-p / ", &["check_disk", "-w", "10%", "-c", "5%", "-p", "/"]),
            ("echo 'a b' \"c d\" e\\ f", &["echo", "a b", "c d", "e f"]),
            ("echo '' \"\" x", &["echo", "", "", "x"]),
            ("echo 'it'\\''s'", &["echo", "it's"]),
            ("echo \"a\\\"b\\$c\\d\"", &["echo", "a\"b$c\\d"]),
            ("check_x -w ~:10 -c @5:9", &["check_x", "-w", "~:10", "-c", "@5:9"]),
            ("echo '$(not a shell)' 'a|b;c'", &["echo", "$(not a shell)", "a|b;c"]),
            ("echo 'cost: $$5'", &["echo", "cost: $5"]),
            ("'A'=b x", &["A=b", "x"]),
            ("x A=b", &["x", "A=b"]),
            ("echo a\\\nb", &["echo", "ab"]),
            ("check_http -u /a#b", &["check_http", "-u", "/a#b"]),
        ];
        for (command, words) in cases {
            let template = CommandTemplate::parse(command).unwrap();
            assert!(!template.uses_shell(), "{command:?} should not need a shell");
            assert_eq!(expand_with(command, "h", &[]).unwrap(), argv(words), "{command:?}");
        }
    }

    #[test]
    fn detects_shell_syntax() {
        let cases = [
            "echo OK | cat",
            "check_x > /dev/null",
            "check_x 2>&1",
            "a; b",
            "a && b",
            "a & b",
            "echo $(id)",
            "echo `id`",
            "echo \"`id`\"",
            "ls *.log",
            "ls file?",
            "ls [ab]",
            "~/bin/check_x",
            "cat ~",
            "LANG=C check_x",
            "_X1=2 check_x",
            "echo $$HOME",
            "echo \"$$HOME\"",
            "echo ${HOME}",
            "echo $HOME",
            "(check_x)",
            "check_x # a comment",
            "! check_x",
            "check_x\ncheck_y",
        ];
        for command in cases {
            let template = CommandTemplate::parse(command).unwrap();
            assert!(template.uses_shell(), "{command:?} should need a shell");
        }
    }

    #[test]
    fn expands_macros_into_single_words() {
        let nasty = "a b'c\"d $(rm -rf /) `x` ;|";
        assert_eq!(
            expand_with("$USER1$/check_tcp -H $HOSTADDRESS$ -p $ARG1$", nasty, &["22"]).unwrap(),
            argv(&["/plugins/check_tcp", "-H", nasty, "-p", "22"])
        );
        assert_eq!(
            expand_with("$USER2$/check_x --name=$HOSTNAME$:$SERVICEDESC$", "h", &[]).unwrap(),
            argv(&["/opt/my plugins/check_x", "--name=web-1:Disk /"])
        );
        // An unquoted macro expanding to nothing disappears; a quoted one stays an empty word.
        assert_eq!(expand_with("x $ARG1$ y", "h", &[""]).unwrap(), argv(&["x", "y"]));
        assert_eq!(expand_with("x '$ARG1$' y", "h", &[""]).unwrap(), argv(&["x", "", "y"]));
        assert_eq!(expand_with("x \"$ARG1$\"", "h", &["a b"]).unwrap(), argv(&["x", "a b"]));
        // A value with spaces is one word, never several options.
        assert_eq!(expand_with("x $ARG1$", "h", &["-w 1 -c 2"]).unwrap(), argv(&["x", "-w 1 -c 2"]));
        assert_eq!(
            expand_with("x $ARG10$ $ARG1$", "h", &["1", "", "", "", "", "", "", "", "", "10"]).unwrap(),
            argv(&["x", "10", "1"])
        );
    }

    #[test]
    fn quotes_macros_for_the_shell() {
        let value = "a b'c\"d$e`f\\g";
        let cases = [
            ("echo $HOSTADDRESS$ | cat", r#"echo 'a b'\''c"d$e`f\g' | cat"#),
            ("echo '$HOSTADDRESS$' | cat", r#"echo 'a b'\''c"d$e`f\g' | cat"#),
            ("echo \"$HOSTADDRESS$\" | cat", r#"echo "a b'c\"d\$e\`f\\g" | cat"#),
            ("echo x$HOSTADDRESS$y; true", r#"echo x'a b'\''c"d$e`f\g'y; true"#),
            ("echo $$HOME $HOSTNAME$", "echo $HOME 'web-1'"),
        ];
        for (command, line) in cases {
            assert_eq!(expand_with(command, value, &[]).unwrap(), CommandLine::Shell(line.to_owned()), "{command:?}");
        }
    }

    #[test]
    fn refuses_bad_templates() {
        let long = format!("check_x {}", "a".repeat(MAX_COMMAND_BYTES));
        let cases: &[(&str, &[&str], &str)] = &[
            ("", &[], "check_command_empty"),
            ("  \t ", &[], "check_command_empty"),
            ("$ARG1$", &[""], "check_command_empty"),
            (&long, &[], "check_command_too_long"),
            ("check_x\0", &[], "check_command_invalid_character"),
            ("check_x 'a", &[], "check_command_unbalanced_quote"),
            ("check_x \"a", &[], "check_command_unbalanced_quote"),
            ("check_x \"a'", &[], "check_command_unbalanced_quote"),
            ("check_x a\\", &[], "check_command_unbalanced_quote"),
            ("check_x $FOO$", &[], "check_command_unknown_macro"),
            ("check_x $hostaddress$", &[], "check_command_unknown_macro"),
            ("check_x $ARG0$", &[], "check_command_unknown_macro"),
            ("check_x $ARG33$", &[], "check_command_unknown_macro"),
            ("check_x $ARG01$", &[], "check_command_unknown_macro"),
            ("check_x $USER3$", &[], "check_command_unknown_macro"),
            ("check_x $ARG2$", &["1"], "check_command_missing_arg"),
            ("./check_x", &[], "check_command_not_absolute"),
            ("plugins/check_x -H $HOSTADDRESS$", &[], "check_command_not_absolute"),
            ("$ARG1$ -v", &["bin/check"], "check_command_not_absolute"),
            ("check_x $ARG1$", &["a\0b"], "check_command_invalid_character"),
        ];
        for (command, args, code) in cases {
            let err = expand_with(command, "h", args).unwrap_err();
            assert_eq!(err.code(), *code, "{command:?}: {err}");
        }
        assert_eq!(
            CommandTemplate::parse("check_x $FOO$").unwrap_err().to_string(),
            "unknown macro $FOO$ (known: $HOSTADDRESS$, $HOSTNAME$, $SERVICEDESC$, $ARGn$, $USERn$; write $$ for a literal $)"
        );
        let nul_address = expand_with("check_x $HOSTADDRESS$", "a\0", &[]).unwrap_err();
        assert_eq!(nul_address.to_string(), "the value of $HOSTADDRESS$ contains a NUL byte");
    }

    #[test]
    fn lists_macros() {
        let template = CommandTemplate::parse("$USER1$/x -H '$HOSTADDRESS$' -w $ARG2$ $$").unwrap();
        assert_eq!(template.macros().collect::<Vec<_>>(), vec![Macro::User(1), Macro::HostAddress, Macro::Arg(2)]);
        for m in [Macro::HostAddress, Macro::HostName, Macro::ServiceDesc, Macro::Arg(32), Macro::User(1)] {
            let text = m.to_string();
            assert_eq!(Macro::from_name(&text[1..text.len() - 1]), Some(m));
        }
    }

    fn plugin(command: &str, args: &[&str]) -> CheckDefinition {
        CheckDefinition::Plugin { command: command.into(), args: args.iter().map(|a| a.to_string()).collect() }
    }

    fn http() -> CheckDefinition {
        http_with(serde_json::json!({}))
    }

    /// An HTTP check with these fields, the others defaulted.
    fn http_with(fields: serde_json::Value) -> CheckDefinition {
        let mut json = serde_json::json!({"type": "http"});
        if let (Some(json), Some(fields)) = (json.as_object_mut(), fields.as_object()) {
            json.extend(fields.clone());
        }
        serde_json::from_value(json).unwrap()
    }

    fn codes(def: &CheckDefinition) -> Vec<(String, String)> {
        match def.validate() {
            Ok(()) => vec![],
            Err(e) => e.fields.into_iter().map(|f| (f.field, f.code)).collect(),
        }
    }

    #[test]
    fn validates_definitions() {
        let ok = [
            plugin("$USER1$/check_disk -w $ARG1$ -c $ARG2$ -p /", &["10%", "5%"]),
            plugin("/bin/echo OK | cat", &[]),
            plugin("$USER7$/check_x", &[]),
            CheckDefinition::Tcp {
                port: 22,
                send: None,
                expect: Some("SSH".into()),
                warning: Some("1".into()),
                critical: Some("~:5".into()),
            },
            http(),
            CheckDefinition::TlsCertificate {
                port: 443,
                server_name: Some("example.org".into()),
                warning_days: 30,
                critical_days: 7,
            },
            serde_json::from_str(r#"{"type":"ping"}"#).unwrap(),
        ];
        for def in ok {
            assert_eq!(def.validate(), Ok(()), "{def:?}");
        }
        let too_many: Vec<&str> = vec!["x"; 33];
        let cases: Vec<(CheckDefinition, &str, &str)> = vec![
            (plugin("check_x $FOO$", &[]), "check.command", "check_command_unknown_macro"),
            (plugin("check_x 'a", &[]), "check.command", "check_command_unbalanced_quote"),
            (plugin("", &[]), "check.command", "check_command_empty"),
            (plugin("check_x $ARG3$", &["1"]), "check.command", "check_command_missing_arg"),
            (plugin("check_x", &too_many), "check.args", "check_args_too_many"),
            (plugin("check_x $ARG1$", &["a\0"]), "check.args", "check_args_invalid"),
            (
                CheckDefinition::Tcp { port: 0, send: None, expect: None, warning: None, critical: None },
                "check.port",
                "check_port_invalid",
            ),
            (
                CheckDefinition::Tcp { port: 1, send: None, expect: None, warning: Some("x".into()), critical: None },
                "check.warning",
                "check_threshold_invalid",
            ),
            (
                CheckDefinition::Tcp { port: 1, send: None, expect: None, warning: None, critical: Some("5:1".into()) },
                "check.critical",
                "check_threshold_invalid",
            ),
            (
                CheckDefinition::Tcp {
                    port: 1,
                    send: None,
                    expect: Some(String::new()),
                    warning: None,
                    critical: None,
                },
                "check.expect",
                "check_text_invalid",
            ),
            (http_with(serde_json::json!({"expect_status": "600"})), "check.expect_status", "check_status_invalid"),
            (http_with(serde_json::json!({"expect_status": "300-200"})), "check.expect_status", "check_status_invalid"),
            (http_with(serde_json::json!({"path": "index.html"})), "check.path", "check_path_invalid"),
            (http_with(serde_json::json!({"path": "/a b"})), "check.path", "check_path_invalid"),
            (http_with(serde_json::json!({"host_header": "a b"})), "check.host_header", "check_host_invalid"),
            (http_with(serde_json::json!({"port": 0})), "check.port", "check_port_invalid"),
            (
                CheckDefinition::TlsCertificate { port: 443, server_name: None, warning_days: 7, critical_days: 30 },
                "check.critical_days",
                "check_days_invalid",
            ),
            (
                CheckDefinition::Ping { warning: "100".into(), critical: "500,60%".into(), packets: 3 },
                "check.warning",
                "check_threshold_invalid",
            ),
            (
                CheckDefinition::Ping { warning: "100,20%".into(), critical: "500,160%".into(), packets: 3 },
                "check.critical",
                "check_threshold_invalid",
            ),
            (
                CheckDefinition::Ping { warning: "900,20%".into(), critical: "500,60%".into(), packets: 3 },
                "check.warning",
                "check_threshold_invalid",
            ),
            (
                CheckDefinition::Ping { warning: "100,20%".into(), critical: "500,60%".into(), packets: 0 },
                "check.packets",
                "check_packets_invalid",
            ),
        ];
        for (def, field, code) in cases {
            assert!(codes(&def).contains(&(field.to_owned(), code.to_owned())), "{def:?}: {:?}", codes(&def));
        }
    }

    #[test]
    fn serde_shape() {
        let def: CheckDefinition = serde_json::from_str(r#"{"type":"ping"}"#).unwrap();
        assert_eq!(def, CheckDefinition::Ping { warning: "100,20%".into(), critical: "500,60%".into(), packets: 3 });
        let CheckDefinition::Http { tls, port, path, verify_certificate, .. } = http() else { panic!("not http") };
        assert_eq!((tls, port, path.as_str(), verify_certificate), (false, None, "/", false));
        let def = plugin("$USER1$/check_dummy 0", &[]);
        let json = serde_json::to_value(&def).unwrap();
        assert_eq!(json, serde_json::json!({"type": "plugin", "command": "$USER1$/check_dummy 0", "args": []}));
        let tls: CheckDefinition =
            serde_json::from_str(r#"{"type":"tls_certificate","port":443,"warning_days":30,"critical_days":7}"#)
                .unwrap();
        assert_eq!(tls.kind(), "tls_certificate");
        assert!(serde_json::from_str::<CheckDefinition>(r#"{"type":"smtp"}"#).is_err());
    }

    #[test]
    fn summaries() {
        let cases = [
            (plugin("$USER1$/check_disk -w $ARG1$ -c $ARG2$ -p /", &["10%", "5%"]), "check_disk -w 10% -c 5% -p /"),
            (plugin("/usr/lib/nagios/plugins/check_load", &[]), "check_load"),
            (CheckDefinition::Tcp { port: 22, send: None, expect: None, warning: None, critical: None }, "TCP 22"),
            (http_with(serde_json::json!({"tls": true})), "HTTPS :443 /"),
            (http_with(serde_json::json!({"port": 8080, "path": "/health"})), "HTTP :8080 /health"),
            (
                CheckDefinition::TlsCertificate { port: 443, server_name: None, warning_days: 30, critical_days: 7 },
                "TLS certificate :443",
            ),
            (CheckDefinition::Ping { warning: String::new(), critical: String::new(), packets: 1 }, "Ping (1 packet)"),
        ];
        for (def, summary) in cases {
            assert_eq!(def.summary(), summary);
        }
        assert_eq!(plugin(&format!("check_x {}", "a".repeat(300)), &[]).summary().chars().count(), 120);
    }

    #[test]
    fn status_expectations() {
        let e = StatusExpectation::parse("200-299, 301,304").unwrap();
        assert_eq!(e.to_string(), "200-299,301,304");
        for (code, ok) in [(200, true), (250, true), (299, true), (300, false), (301, true), (304, true), (500, false)]
        {
            assert_eq!(e.matches(code), ok, "{code}");
        }
        assert!(StatusExpectation::default().matches(302) && !StatusExpectation::default().matches(404));
        for bad in ["", "abc", "99", "600", "200-", "-200", "300-200", "200,,301"] {
            assert!(StatusExpectation::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn ping_thresholds() {
        let w = PingThreshold::parse("100,20%").unwrap();
        let c = PingThreshold::parse(" 500.5 , 60 ").unwrap();
        assert_eq!(c, PingThreshold { rta_ms: 500.5, loss_percent: 60.0 });
        let cases = [
            (Some(1.0), 0.0, ServiceState::Ok),
            (Some(100.0), 0.0, ServiceState::Warning),
            (Some(1.0), 20.0, ServiceState::Warning),
            (Some(600.0), 0.0, ServiceState::Critical),
            (Some(1.0), 66.6, ServiceState::Critical),
            (None, 100.0, ServiceState::Critical),
        ];
        for (rta, loss, state) in cases {
            assert_eq!(ping_state(w, c, rta, loss), state, "{rta:?} {loss}");
        }
        for bad in ["", "100", "100,", ",20%", "-1,20%", "100,101%", "abc,20%", "inf,20%"] {
            assert!(PingThreshold::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn thresholds_parse() {
        let t = parse_thresholds(Some("0.5"), None).unwrap();
        assert_eq!(t.state(0.7), ServiceState::Warning);
        let err = parse_thresholds(None, Some("bad")).unwrap_err();
        assert_eq!(err.fields[0].field, "check.critical");
    }
}
