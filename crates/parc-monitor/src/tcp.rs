//! The native TCP check, `check_tcp`'s core: connect, optionally send a text and expect a
//! substring of the reply; the connect time is judged by the thresholds.

use crate::{io_message, range_text, seconds, Verdict};
use parc_core::monitoring::{ServiceState, Thresholds};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{timeout_at, Instant};

/// The most reply read while looking for the expected text.
const MAX_REPLY: usize = 4096;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct TcpSpec {
    pub(crate) host: String,
    pub(crate) port: u16,
    pub(crate) send: Option<String>,
    pub(crate) expect: Option<String>,
    pub(crate) thresholds: Thresholds,
}

impl TcpSpec {
    pub(crate) fn describe(&self) -> String {
        format!("TCP connect to {} port {}", self.host, self.port)
    }
}

/// Connects and judges. Cannot connect (refused, unreachable, unknown name, timeout):
/// CRITICAL. Reply without the expected text: WARNING, as `check_tcp` does by default.
pub(crate) async fn run(spec: &TcpSpec, timeout: Duration) -> Verdict {
    let start = Instant::now();
    let deadline = start + timeout;
    let target = format!("{} port {}", spec.host, spec.port);
    let mut stream = match timeout_at(deadline, TcpStream::connect((spec.host.as_str(), spec.port))).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            return Verdict::native(
                ServiceState::Critical,
                &format!("TCP CRITICAL - cannot connect to {target}: {}", io_message(&e)),
            )
        }
        Err(_) => {
            return Verdict::native(
                ServiceState::Critical,
                &format!("TCP CRITICAL - no connection to {target} within {}", seconds(timeout)),
            )
        }
    };
    let connect_time = start.elapsed().as_secs_f64();
    let mut state = spec.thresholds.state(connect_time);
    let mut problem = String::new();

    if let Some(send) = &spec.send {
        match timeout_at(deadline, stream.write_all(send.as_bytes())).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                state = ServiceState::Critical;
                problem = format!(", cannot send: {}", io_message(&e));
            }
            Err(_) => {
                state = ServiceState::Critical;
                problem = format!(", cannot send within {}", seconds(timeout));
            }
        }
    }
    if let (Some(expect), true) = (&spec.expect, problem.is_empty()) {
        let mut reply = Vec::new();
        let mut chunk = [0u8; 1024];
        let found = loop {
            if contains(&reply, expect.as_bytes()) {
                break true;
            }
            if reply.len() >= MAX_REPLY {
                break false;
            }
            match timeout_at(deadline, stream.read(&mut chunk)).await {
                Ok(Ok(0)) | Ok(Err(_)) | Err(_) => break false,
                Ok(Ok(n)) => reply.extend_from_slice(&chunk[..n]),
            }
        };
        if !found {
            state = state.max(ServiceState::Warning);
            let answer: String = String::from_utf8_lossy(&reply).chars().take(60).collect();
            problem = format!(", unexpected answer {:?} (expected {:?})", answer.trim(), expect);
        }
    }
    let text = format!(
        "TCP {state} - {connect_time:.3} second response time on {target}{problem}|time={connect_time:.6}s;{};{};0;",
        range_text(spec.thresholds.warning),
        range_text(spec.thresholds.critical),
    );
    Verdict::native(state, &text)
}

/// Whether `haystack` holds `needle` (an empty needle is found).
pub(crate) fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    needle.is_empty() || haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_substrings() {
        assert!(contains(b"SSH-2.0-OpenSSH", b"SSH-2.0"));
        assert!(contains(b"abc", b""));
        assert!(!contains(b"ab", b"abc"));
        assert!(!contains(b"", b"a"));
    }
}
