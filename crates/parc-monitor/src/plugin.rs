//! Running a plugin process, the Nagios way, but cheaply and safely.
//!
//! * No shell unless the command needs one: an argv is spawned directly (`posix_spawn` under
//!   the hood, no `/bin/sh` in between), so a check costs one process, not two.
//! * stdin is `/dev/null`; stdout and stderr are pipes read concurrently on the runtime (no
//!   thread per child). Nagios reads stdout; here stderr is used only when stdout is blank,
//!   so that a plugin that only complains on stderr (a Perl or Python traceback, `sh: not
//!   found`) still shows why, without shell noise ever mixing into the performance data.
//! * `LC_ALL=C`: a plugin run under a French locale would print `0,5` in its performance
//!   data, which the guidelines (and graphs) read as garbage.
//! * Each plugin leads its own process group, so that on timeout `SIGKILL` reaches the
//!   children it forked too (`check_by_ssh`'s ssh, a script's `sleep`).
//! * Output is kept up to the limit, then the rest is read and discarded: a plugin printing
//!   50 MB neither blows memory nor blocks on a full pipe.

use crate::{io_message, seconds, Verdict};
use parc_core::monitoring::check::CommandLine;
use parc_core::monitoring::{parse_output, truncate_output, ServiceState};
use std::os::unix::process::ExitStatusExt;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::time::Instant;

/// How long output may still arrive after the plugin exited (children holding the pipes) or
/// was killed, before we stop reading.
const GRACE: Duration = Duration::from_millis(200);

/// What to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProcessSpec(CommandLine);

impl ProcessSpec {
    pub(crate) fn new(line: CommandLine) -> ProcessSpec {
        ProcessSpec(line)
    }

    pub(crate) fn describe(&self) -> String {
        match &self.0 {
            CommandLine::Argv(argv) => argv.join(" "),
            CommandLine::Shell(line) => format!("/bin/sh -c '{}'", line.replace('\'', r"'\''")),
        }
    }

    /// The program named in error messages.
    fn program(&self) -> &str {
        match &self.0 {
            CommandLine::Argv(argv) => argv.first().map_or("", String::as_str),
            CommandLine::Shell(_) => "/bin/sh",
        }
    }

    fn command(&self) -> tokio::process::Command {
        let mut command = match &self.0 {
            CommandLine::Argv(argv) => {
                let mut command = tokio::process::Command::new(self.program());
                command.args(argv.iter().skip(1));
                command
            }
            CommandLine::Shell(line) => {
                let mut command = tokio::process::Command::new("/bin/sh");
                command.arg("-c").arg(line);
                command
            }
        };
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .env("LC_ALL", "C")
            .process_group(0)
            .kill_on_drop(false);
        command
    }
}

/// Runs the process to its end or its timeout. Never fails: see the module documentation.
pub(crate) async fn run(spec: &ProcessSpec, timeout: Duration, max_output: usize) -> Verdict {
    let mut child = match spec.command().spawn() {
        Ok(child) => child,
        Err(e) => {
            return Verdict::message(
                ServiceState::Unknown,
                format!("UNKNOWN: cannot run {}: {}", spec.program(), io_message(&e)),
                String::new(),
            )
        }
    };
    let pid = child.id();
    let mut stdout = child.stdout.take();
    let mut stderr = child.stderr.take();
    // One byte more than kept, so that truncate_output sees the text is longer and marks it.
    let keep = max_output.saturating_add(1);
    let (mut out, mut err) = (Vec::new(), Vec::new());
    let deadline = Instant::now() + timeout;

    let mut status = None;
    let mut timed_out = false;
    let mut leftovers_killed = false;
    {
        let reading =
            async { tokio::join!(drain(stdout.as_mut(), &mut out, keep), drain(stderr.as_mut(), &mut err, keep)) };
        tokio::pin!(reading);
        let sleep = tokio::time::sleep_until(deadline);
        tokio::pin!(sleep);
        let mut read_done = false;
        loop {
            tokio::select! {
                exit = child.wait(), if status.is_none() => {
                    status = Some(exit);
                    if !read_done {
                        sleep.as_mut().reset(deadline.min(Instant::now() + GRACE));
                    }
                }
                _ = &mut reading, if !read_done => read_done = true,
                () = &mut sleep => break,
            }
            if status.is_some() && read_done {
                break;
            }
        }
        if status.is_none() {
            // Timed out while the plugin still runs: it is not reaped, so its pid (and group
            // id) cannot have been reused. Kill the whole group, then reap it.
            timed_out = true;
            kill_group(pid);
            status = tokio::time::timeout(GRACE * 5, child.wait()).await.ok();
            let _ = tokio::time::timeout(GRACE, &mut reading).await;
        } else if !read_done {
            // The plugin exited but processes it started still hold its output open. They
            // keep the group alive (so its id was not reused): kill them, or they would pile
            // up at every run.
            leftovers_killed = true;
            kill_group(pid);
            let _ = tokio::time::timeout(GRACE, &mut reading).await;
        }
    }

    let raw = if out.iter().all(u8::is_ascii_whitespace) { &err } else { &out };
    let text = truncate_output(raw, max_output);
    if timed_out {
        return Verdict::message(
            ServiceState::Unknown,
            format!("UNKNOWN: plugin timed out after {} (process group killed)", seconds(timeout)),
            text.trim_end().to_owned(),
        );
    }
    let Some(status) = status else {
        return Verdict::message(ServiceState::Unknown, "UNKNOWN: plugin vanished".into(), String::new());
    };
    let mut verdict = match status {
        Ok(status) => interpret(status, &text),
        Err(e) => Verdict::message(
            ServiceState::Unknown,
            format!("UNKNOWN: cannot wait for {}: {}", spec.program(), io_message(&e)),
            text.trim_end().to_owned(),
        ),
    };
    if leftovers_killed {
        if !verdict.output.long_output.is_empty() {
            verdict.output.long_output.push('\n');
        }
        verdict.output.long_output.push_str("(processes left running by the plugin were killed)");
    }
    verdict
}

/// Reads `reader` to its end, keeping the first `keep` bytes in `buf`.
async fn drain<R: AsyncRead + Unpin>(reader: Option<&mut R>, buf: &mut Vec<u8>, keep: usize) {
    let Some(reader) = reader else { return };
    let mut chunk = [0u8; 8192];
    loop {
        match reader.read(&mut chunk).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                let room = keep.saturating_sub(buf.len());
                buf.extend_from_slice(&chunk[..n.min(room)]);
            }
        }
    }
}

fn kill_group(pid: Option<u32>) {
    let Some(pid) = pid.and_then(|p| i32::try_from(p).ok()).and_then(rustix::process::Pid::from_raw) else {
        return;
    };
    if let Err(e) = rustix::process::kill_process_group(pid, rustix::process::Signal::KILL) {
        // ESRCH: the group is already gone, which is what we wanted.
        if e != rustix::io::Errno::SRCH {
            tracing::warn!(pid = pid.as_raw_nonzero().get(), error = %e, "cannot kill a plugin's process group");
        }
    }
}

/// The verdict of a finished plugin: exit codes 0..=3 as Nagios reads them; any other code
/// or a signal is UNKNOWN, saying which, with the plugin's output kept as long output.
fn interpret(status: ExitStatus, text: &str) -> Verdict {
    match (status.code(), status.signal()) {
        (Some(code @ 0..=3), _) => {
            let mut output = parse_output(text);
            if output.summary.is_empty() && output.long_output.is_empty() {
                output.summary = "(no output returned from plugin)".into();
            }
            Verdict { state: ServiceState::from_exit_code(code), output, exit_code: Some(code) }
        }
        (Some(code), _) => {
            let hint = match code {
                126 => " (permission denied or not executable)".to_owned(),
                127 => " (command not found)".to_owned(),
                129..=159 => match signal_name(code - 128) {
                    Some(name) => format!(" (128 + {}: probably killed by {name})", code - 128),
                    None => String::new(),
                },
                _ => String::new(),
            };
            Verdict {
                exit_code: Some(code),
                ..Verdict::message(
                    ServiceState::Unknown,
                    format!("UNKNOWN: plugin exited with unexpected code {code}{hint}"),
                    text.trim_end().to_owned(),
                )
            }
        }
        (None, Some(signal)) => {
            let name = signal_name(signal).map(|n| format!(" ({n})")).unwrap_or_default();
            Verdict::message(
                ServiceState::Unknown,
                format!("UNKNOWN: plugin killed by signal {signal}{name}"),
                text.trim_end().to_owned(),
            )
        }
        (None, None) => Verdict::message(
            ServiceState::Unknown,
            format!("UNKNOWN: plugin ended abnormally ({status})"),
            text.trim_end().to_owned(),
        ),
    }
}

/// The name of the common Linux signals.
fn signal_name(signal: i32) -> Option<&'static str> {
    Some(match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        14 => "SIGALRM",
        15 => "SIGTERM",
        24 => "SIGXCPU",
        25 => "SIGXFSZ",
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interprets_exit_statuses() {
        let cases: &[(i32, ServiceState, Option<i32>, &str)] = &[
            (0, ServiceState::Ok, Some(0), "OK - fine"),
            (1 << 8, ServiceState::Warning, Some(1), "OK - fine"),
            (2 << 8, ServiceState::Critical, Some(2), "OK - fine"),
            (3 << 8, ServiceState::Unknown, Some(3), "OK - fine"),
            (4 << 8, ServiceState::Unknown, Some(4), "UNKNOWN: plugin exited with unexpected code 4"),
            (
                137 << 8,
                ServiceState::Unknown,
                Some(137),
                "UNKNOWN: plugin exited with unexpected code 137 (128 + 9: probably killed by SIGKILL)",
            ),
            (255 << 8, ServiceState::Unknown, Some(255), "UNKNOWN: plugin exited with unexpected code 255"),
            (
                127 << 8,
                ServiceState::Unknown,
                Some(127),
                "UNKNOWN: plugin exited with unexpected code 127 (command not found)",
            ),
            (9, ServiceState::Unknown, None, "UNKNOWN: plugin killed by signal 9 (SIGKILL)"),
            (11, ServiceState::Unknown, None, "UNKNOWN: plugin killed by signal 11 (SIGSEGV)"),
        ];
        for &(raw, state, code, summary) in cases {
            let verdict = interpret(ExitStatus::from_raw(raw), "OK - fine | x=1\n");
            assert_eq!((verdict.state, verdict.exit_code), (state, code), "{raw}");
            assert_eq!(verdict.output.summary, summary, "{raw}");
        }
        let empty = interpret(ExitStatus::from_raw(0), " \n");
        assert_eq!(empty.output.summary, "(no output returned from plugin)");
        let crashed = interpret(ExitStatus::from_raw(255 << 8), "Traceback | boom\n");
        assert_eq!(crashed.output.long_output, "Traceback | boom");
        assert!(crashed.output.perfdata.is_empty());
    }

    #[test]
    fn describes_command_lines() {
        let argv = ProcessSpec::new(CommandLine::Argv(vec!["/bin/echo".into(), "a b".into()]));
        assert_eq!(argv.describe(), "/bin/echo a b");
        let shell = ProcessSpec::new(CommandLine::Shell("echo 'x' | cat".into()));
        assert_eq!(shell.describe(), r"/bin/sh -c 'echo '\''x'\'' | cat'");
    }
}
