//! Parc's monitoring engine: runs checks (Nagios-compatible plugins and native checks) and
//! schedules them. The rules that interpret results (states, thresholds, notifications) are
//! pure and live in `parc_core::monitoring`.
//!
//! # Running a check
//!
//! A [`CheckDefinition`] (validated, stored) is turned by [`Runner::prepare`] into a
//! [`PreparedCheck`] for one host: macros expanded, thresholds read, timeout fixed. Preparing
//! can fail with the same per-field errors as validation (plus `$USERn$` macros this server
//! does not define); running cannot: [`Runner::run`] always yields a [`CheckOutcome`], and
//! every failure of the check itself (plugin missing, timeout, crash, garbage output) is an
//! UNKNOWN outcome whose first line says what happened. A native check that cannot reach the
//! service is CRITICAL, as `check_tcp` or `check_http` would say.
//!
//! Plugins run as processes (module `plugin`): directly from an argv when the command has no
//! shell syntax, each in its own process group so that a timeout kills its children too, at
//! most [`Limits::max_concurrent`] at a time. Native checks (TCP, HTTP, TLS certificate, ICMP
//! echo) run in-process without forking and print Nagios-format output and performance data,
//! read by the same `parse_output`, so that they are stored and graphed like plugin results.

mod http;
mod ping;
mod plugin;
pub mod scheduler;
mod tcp;
mod tls;

use parc_core::monitoring::check::{parse_thresholds, CommandError, CommandTemplate, MacroValues, PingThreshold};
use parc_core::monitoring::{PluginOutput, ServiceState};
use parc_core::ValidationErrors;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub use parc_core::monitoring::check::CheckDefinition;

/// Where Debian's `monitoring-plugins` packages install plugins: the default `$USER1$`.
pub const DEFAULT_PLUGIN_DIR: &str = "/usr/lib/nagios/plugins";

/// The resources a [`Runner`] may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Limits {
    /// The most plugin processes running at once; further checks wait for a slot. Native
    /// checks do not count: they hold a socket, not a process.
    pub max_concurrent: usize,
    /// The timeout of a check prepared without its own.
    pub default_timeout: Duration,
    /// The most output kept per check, in bytes; the rest is read and thrown away.
    pub max_output_bytes: usize,
    /// The `$USERn$` resource macros (Nagios' `resource.cfg`); `$USER1$` is the plugin
    /// directory by convention.
    pub user_macros: BTreeMap<u8, String>,
}

impl Default for Limits {
    /// 256 concurrent processes, 30 s timeout, 64 KiB of output, `$USER1$` =
    /// [`DEFAULT_PLUGIN_DIR`].
    fn default() -> Self {
        Limits {
            max_concurrent: 256,
            default_timeout: Duration::from_secs(30),
            max_output_bytes: 64 * 1024,
            user_macros: BTreeMap::from([(1, DEFAULT_PLUGIN_DIR.to_owned())]),
        }
    }
}

/// The per-host and per-service values of the standard macros.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Macros {
    /// `$HOSTNAME$`: the host's name in Parc.
    pub host_name: String,
    /// `$HOSTADDRESS$`: the address checks connect to (IP or DNS name).
    pub host_address: String,
    /// `$SERVICEDESC$`: the check's name.
    pub service_description: String,
}

/// A check ready to run: the command line (argv or shell line) or the native check's
/// parameters, and its timeout.
#[derive(Debug, Clone)]
pub struct PreparedCheck {
    kind: Kind,
    timeout: Duration,
}

#[derive(Debug, Clone)]
enum Kind {
    Process(plugin::ProcessSpec),
    Tcp(tcp::TcpSpec),
    Http(http::HttpSpec),
    Tls(tls::TlsSpec),
    Ping(ping::PingSpec),
}

impl PreparedCheck {
    /// How long the check may take.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// What will run, for logs and the check's detail page: the argv (words separated by
    /// spaces), `/bin/sh -c '…'`, or the native check and its target.
    pub fn describe(&self) -> String {
        match &self.kind {
            Kind::Process(spec) => spec.describe(),
            Kind::Tcp(spec) => spec.describe(),
            Kind::Http(spec) => spec.describe(),
            Kind::Tls(spec) => spec.describe(),
            Kind::Ping(spec) => spec.describe(),
        }
    }
}

/// The result of one run.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckOutcome {
    /// The state: from the exit code for a plugin, from the measure for a native check.
    pub state: ServiceState,
    /// The output read (summary, long output, performance data).
    pub output: PluginOutput,
    /// The plugin's exit code; `None` for native checks, signals and processes never started.
    pub exit_code: Option<i32>,
    /// When the check started (after waiting for a process slot).
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// How long it ran.
    pub duration: Duration,
}

/// A state and Nagios-format text, before timing is added: what every kind of check produces.
#[derive(Debug, Clone, PartialEq)]
struct Verdict {
    state: ServiceState,
    output: PluginOutput,
    exit_code: Option<i32>,
}

impl Verdict {
    /// A native check's result: `text` is read like a plugin's output.
    fn native(state: ServiceState, text: &str) -> Verdict {
        Verdict { state, output: parc_core::monitoring::parse_output(text), exit_code: None }
    }

    /// A result whose summary is written by the runner, never parsed (it may quote a command
    /// holding `|`); `details` becomes the long output.
    fn message(state: ServiceState, summary: String, details: String) -> Verdict {
        Verdict {
            state,
            output: PluginOutput { summary, long_output: details, ..PluginOutput::default() },
            exit_code: None,
        }
    }
}

/// Runs checks. Share one behind an `Arc`: it holds the process semaphore and the HTTP clients.
pub struct Runner {
    limits: Limits,
    slots: tokio::sync::Semaphore,
    running: AtomicUsize,
    http: http::Clients,
    native_ping: bool,
    ping_sequence: AtomicU16,
}

impl std::fmt::Debug for Runner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runner")
            .field("limits", &self.limits)
            .field("running", &self.running())
            .field("native_ping", &self.native_ping)
            .finish_non_exhaustive()
    }
}

impl Runner {
    /// A runner with these limits (a `max_concurrent` of 0 is taken as 1).
    pub fn new(limits: Limits) -> Runner {
        Runner {
            slots: tokio::sync::Semaphore::new(limits.max_concurrent.max(1)),
            limits,
            running: AtomicUsize::new(0),
            http: http::Clients::new(),
            native_ping: true,
            ping_sequence: AtomicU16::new(0),
        }
    }

    /// Ping checks always run `$USER1$/check_ping` instead of sending ICMP echo requests
    /// themselves (for hosts where ICMP sockets behave oddly, and to test that path).
    pub fn without_native_ping(mut self) -> Runner {
        self.native_ping = false;
        self
    }

    /// The limits this runner was made with.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Expands macros and reads thresholds. The errors are those of
    /// [`CheckDefinition::validate`], plus `$USERn$` macros this server does not define and a
    /// native check on a host without an address (`host.address`).
    pub fn prepare(
        &self,
        def: &CheckDefinition,
        macros: &Macros,
        timeout: Option<Duration>,
    ) -> Result<PreparedCheck, ValidationErrors> {
        def.validate()?;
        let timeout = timeout.unwrap_or(self.limits.default_timeout).max(Duration::from_millis(1));
        let address = macros.host_address.trim();
        if !matches!(def, CheckDefinition::Plugin { .. }) && address.is_empty() {
            return Err(ValidationErrors::single(
                "host.address",
                "check_host_address_missing",
                "the host has no address to check",
            ));
        }
        let kind = match def {
            CheckDefinition::Plugin { command, args } => {
                let values = MacroValues {
                    host_name: &macros.host_name,
                    host_address: &macros.host_address,
                    service_description: &macros.service_description,
                    args,
                    user: Some(&self.limits.user_macros),
                };
                let line = CommandTemplate::parse(command)
                    .and_then(|template| template.expand(&values))
                    .map_err(CommandError::into_validation)?;
                Kind::Process(plugin::ProcessSpec::new(line))
            }
            CheckDefinition::Tcp { port, send, expect, warning, critical } => Kind::Tcp(tcp::TcpSpec {
                host: address.to_owned(),
                port: *port,
                send: send.clone(),
                expect: expect.clone(),
                thresholds: parse_thresholds(warning.as_deref(), critical.as_deref())?,
            }),
            CheckDefinition::Http {
                tls,
                port,
                path,
                host_header,
                expect_status,
                content,
                warning,
                critical,
                verify_certificate,
            } => Kind::Http(http::HttpSpec::new(
                address,
                *tls,
                *port,
                path,
                host_header.as_deref(),
                expect_status.as_deref(),
                content.clone(),
                parse_thresholds(warning.as_deref(), critical.as_deref())?,
                *verify_certificate,
            )?),
            CheckDefinition::TlsCertificate { port, server_name, warning_days, critical_days } => {
                Kind::Tls(tls::TlsSpec {
                    host: address.to_owned(),
                    port: *port,
                    server_name: server_name.clone().unwrap_or_else(|| address.to_owned()),
                    warning_days: *warning_days,
                    critical_days: *critical_days,
                })
            }
            CheckDefinition::Ping { warning, critical, packets } => {
                let threshold = |text: &str, field: &str| {
                    PingThreshold::parse(text)
                        .map_err(|e| ValidationErrors::single(field, "check_threshold_invalid", e.to_string()))
                };
                let warning = threshold(warning, "check.warning")?;
                let critical = threshold(critical, "check.critical")?;
                let fallback = self.limits.user_macros.get(&1).map(|dir| {
                    plugin::ProcessSpec::new(parc_core::monitoring::check::CommandLine::Argv(vec![
                        format!("{}/check_ping", dir.trim_end_matches('/')),
                        "-H".into(),
                        address.to_owned(),
                        "-w".into(),
                        warning.to_string(),
                        "-c".into(),
                        critical.to_string(),
                        "-p".into(),
                        packets.to_string(),
                        "-t".into(),
                        timeout.as_secs().max(1).to_string(),
                    ]))
                });
                Kind::Ping(ping::PingSpec {
                    address: address.to_owned(),
                    warning,
                    critical,
                    packets: *packets,
                    fallback,
                })
            }
        };
        Ok(PreparedCheck { kind, timeout })
    }

    /// Runs a check. Never fails: a check that could not run is an UNKNOWN outcome (CRITICAL
    /// when a native check cannot reach its service) whose summary says why.
    pub async fn run(&self, check: &PreparedCheck) -> CheckOutcome {
        let started_at = chrono::Utc::now();
        let start = Instant::now();
        let result = match &check.kind {
            Kind::Process(spec) => return self.run_process(spec, check.timeout).await,
            Kind::Tcp(spec) => tcp::run(spec, check.timeout).await,
            Kind::Http(spec) => self.http.run(spec, check.timeout).await,
            Kind::Tls(spec) => tls::run(spec, check.timeout).await,
            Kind::Ping(spec) => {
                let native = if self.native_ping {
                    let id = self.ping_sequence.fetch_add(1, Ordering::Relaxed);
                    ping::run(spec, check.timeout, id).await
                } else {
                    Err("native ping disabled".to_owned())
                };
                match (native, &spec.fallback) {
                    (Ok(result), _) => result,
                    (Err(reason), Some(fallback)) => {
                        tracing::debug!(reason, "native ping unavailable, running check_ping");
                        return self.run_process(fallback, check.timeout).await;
                    }
                    (Err(reason), None) => Verdict::message(
                        ServiceState::Unknown,
                        format!(
                            "UNKNOWN: cannot ping ({reason}) and $USER1$ (the check_ping directory) is not defined"
                        ),
                        String::new(),
                    ),
                }
            }
        };
        CheckOutcome {
            state: result.state,
            output: result.output,
            exit_code: result.exit_code,
            started_at,
            duration: start.elapsed(),
        }
    }

    /// Plugin processes running now (not those waiting for a slot).
    pub fn running(&self) -> usize {
        self.running.load(Ordering::Relaxed)
    }

    async fn run_process(&self, spec: &plugin::ProcessSpec, timeout: Duration) -> CheckOutcome {
        // The semaphore is never closed; should it be, the check runs without a slot rather
        // than failing.
        let _slot = self.slots.acquire().await.ok();
        let _running = RunningGuard::new(&self.running);
        let started_at = chrono::Utc::now();
        let start = Instant::now();
        let result = plugin::run(spec, timeout, self.limits.max_output_bytes).await;
        CheckOutcome {
            state: result.state,
            output: result.output,
            exit_code: result.exit_code,
            started_at,
            duration: start.elapsed(),
        }
    }
}

/// Counts a running process for as long as it lives, even if the future is dropped.
struct RunningGuard<'a>(&'a AtomicUsize);

impl<'a> RunningGuard<'a> {
    fn new(counter: &'a AtomicUsize) -> Self {
        counter.fetch_add(1, Ordering::Relaxed);
        RunningGuard(counter)
    }
}

impl Drop for RunningGuard<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A duration as the user reads it: `10 s`, `0.25 s`.
fn seconds(duration: Duration) -> String {
    format!("{} s", (duration.as_secs_f64() * 1000.0).round() / 1000.0)
}

/// An I/O error without Rust's ` (os error N)` suffix: `No such file or directory`.
fn io_message(error: &std::io::Error) -> String {
    let text = error.to_string();
    match text.find(" (os error ") {
        Some(cut) => text[..cut].to_owned(),
        None => text,
    }
}

/// A threshold range as perfdata prints it: empty when absent.
fn range_text(range: Option<parc_core::monitoring::Range>) -> String {
    range.map(|r| r.to_string()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runner_is_shareable() {
        fn shareable<T: Send + Sync + 'static>() {}
        shareable::<Runner>();
        shareable::<PreparedCheck>();
    }

    #[test]
    fn helpers() {
        assert_eq!(seconds(Duration::from_secs(10)), "10 s");
        assert_eq!(seconds(Duration::from_millis(250)), "0.25 s");
        let e = std::io::Error::from_raw_os_error(2);
        assert_eq!(io_message(&e), "No such file or directory");
        assert_eq!(range_text(None), "");
        assert_eq!(range_text(parc_core::monitoring::Range::parse("~:5").ok()), "~:5");
    }

    #[test]
    fn prepare_refuses_undefined_user_macros_and_missing_addresses() {
        let runner = Runner::new(Limits::default());
        let def = CheckDefinition::Plugin { command: "$USER2$/check_x".into(), args: vec![] };
        let err = runner.prepare(&def, &Macros::default(), None).unwrap_err();
        assert_eq!(err.fields[0].code, "check_command_unknown_macro");
        assert_eq!(err.fields[0].message, "$USER2$ is not defined in this server's configuration");
        let tcp = CheckDefinition::Tcp { port: 22, send: None, expect: None, warning: None, critical: None };
        let err = runner.prepare(&tcp, &Macros::default(), None).unwrap_err();
        assert_eq!(err.fields[0].field, "host.address");
        let bad = CheckDefinition::Plugin { command: "check_x $FOO$".into(), args: vec![] };
        assert_eq!(runner.prepare(&bad, &Macros::default(), None).unwrap_err(), bad.validate().unwrap_err());
    }

    #[test]
    fn prepare_expands_and_describes() {
        let runner = Runner::new(Limits::default());
        let macros = Macros { host_address: "10.0.0.1".into(), ..Macros::default() };
        let def = CheckDefinition::Plugin {
            command: "$USER1$/check_tcp -H $HOSTADDRESS$ -p $ARG1$".into(),
            args: vec!["22".into()],
        };
        let check = runner.prepare(&def, &macros, Some(Duration::from_secs(5))).unwrap();
        assert_eq!(check.describe(), "/usr/lib/nagios/plugins/check_tcp -H 10.0.0.1 -p 22");
        assert_eq!(check.timeout(), Duration::from_secs(5));
        let shell = CheckDefinition::Plugin { command: "echo $HOSTADDRESS$ | cat".into(), args: vec![] };
        let check = runner.prepare(&shell, &macros, None).unwrap();
        assert_eq!(check.describe(), "/bin/sh -c 'echo '\\''10.0.0.1'\\'' | cat'");
        assert_eq!(check.timeout(), Duration::from_secs(30));
        let ping: CheckDefinition = serde_json::from_str(r#"{"type":"ping"}"#).unwrap();
        assert_eq!(runner.prepare(&ping, &macros, None).unwrap().describe(), "ICMP echo to 10.0.0.1 (3 packets)");
    }
}
