//! The native HTTP(S) check, `check_http`'s core: one GET, the status against the
//! expectation, an optional substring of the body, the response time against the thresholds.
//!
//! The runner builds its clients once (a verifying one and one that accepts any certificate,
//! chosen per check), without connection pooling: a reused connection would hide a server
//! that no longer accepts new ones and make response times lie. Redirects are not followed;
//! a 3xx is judged by the status expectation (`200-399` by default, as `check_http`).
//!
//! A `host_header` names the virtual host: it becomes the URL's host (so the `Host` header,
//! TLS SNI and certificate name check use it), and a one-off client resolves that name to the
//! host's address.

use crate::tcp::contains;
use crate::{range_text, seconds, Verdict};
use parc_core::monitoring::check::StatusExpectation;
use parc_core::monitoring::{ServiceState, Thresholds};
use parc_core::ValidationErrors;
use reqwest::{Client, Url};
use std::time::{Duration, Instant};

/// The most body read: enough for a health page, bounded for a check that lands on a download.
const MAX_BODY: usize = 1024 * 1024;

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct HttpSpec {
    url: Url,
    /// The host's address and port, to which the virtual host name resolves.
    resolve: Option<(String, String, u16)>,
    expect: StatusExpectation,
    content: Option<String>,
    thresholds: Thresholds,
    verify: bool,
}

impl HttpSpec {
    #[expect(clippy::too_many_arguments, reason = "the fields of CheckDefinition::Http, one by one")]
    pub(crate) fn new(
        address: &str,
        tls: bool,
        port: Option<u16>,
        path: &str,
        host_header: Option<&str>,
        expect_status: Option<&str>,
        content: Option<String>,
        thresholds: Thresholds,
        verify: bool,
    ) -> Result<HttpSpec, ValidationErrors> {
        let scheme = if tls { "https" } else { "http" };
        let port = port.unwrap_or(if tls { 443 } else { 80 });
        let host = host_header.unwrap_or(address);
        let bracketed = if host.contains(':') { format!("[{host}]") } else { host.to_owned() };
        let url = Url::parse(&format!("{scheme}://{bracketed}:{port}{path}")).map_err(|e| {
            ValidationErrors::single(
                "check.path",
                "check_path_invalid",
                format!("cannot make a URL of this check: {e}"),
            )
        })?;
        let expect = match expect_status {
            Some(text) => StatusExpectation::parse(text)
                .map_err(|e| ValidationErrors::single("check.expect_status", "check_status_invalid", e.to_string()))?,
            None => StatusExpectation::default(),
        };
        Ok(HttpSpec {
            url,
            resolve: host_header.map(|name| (name.to_owned(), address.to_owned(), port)),
            expect,
            content,
            thresholds,
            verify,
        })
    }

    pub(crate) fn describe(&self) -> String {
        match &self.resolve {
            Some((_, address, _)) => format!("GET {} (at {address})", self.url),
            None => format!("GET {}", self.url),
        }
    }
}

/// The runner's shared HTTP clients. Building one can only fail if the TLS backend cannot
/// start; that is reported by every HTTP check rather than by a panic.
pub(crate) struct Clients {
    verifying: Result<Client, String>,
    lenient: Result<Client, String>,
}

fn builder(verify: bool) -> reqwest::ClientBuilder {
    Client::builder()
        .use_rustls_tls()
        .danger_accept_invalid_certs(!verify)
        .redirect(reqwest::redirect::Policy::none())
        .pool_max_idle_per_host(0)
        .user_agent(concat!("parc-monitor/", env!("CARGO_PKG_VERSION")))
}

impl Clients {
    pub(crate) fn new() -> Clients {
        Clients {
            verifying: builder(true).build().map_err(|e| error_text(&e)),
            lenient: builder(false).build().map_err(|e| error_text(&e)),
        }
    }

    pub(crate) async fn run(&self, spec: &HttpSpec, timeout: Duration) -> Verdict {
        let start = Instant::now();
        let client = match &spec.resolve {
            None if spec.verify => self.verifying.clone(),
            None => self.lenient.clone(),
            Some((name, address, port)) => {
                match tokio::time::timeout(timeout, tokio::net::lookup_host((address.as_str(), *port))).await {
                    Ok(Ok(addrs)) => {
                        let addrs: Vec<_> = addrs.collect();
                        builder(spec.verify).resolve_to_addrs(name, &addrs).build().map_err(|e| error_text(&e))
                    }
                    Ok(Err(e)) => {
                        return Verdict::native(
                            ServiceState::Critical,
                            &format!("HTTP CRITICAL - cannot resolve {address}: {}", crate::io_message(&e)),
                        )
                    }
                    Err(_) => {
                        return Verdict::native(
                            ServiceState::Critical,
                            &format!("HTTP CRITICAL - cannot resolve {address} within {}", seconds(timeout)),
                        )
                    }
                }
            }
        };
        let client = match client {
            Ok(client) => client,
            Err(e) => return Verdict::native(ServiceState::Unknown, &format!("UNKNOWN: no HTTP client: {e}")),
        };
        let remaining = timeout.saturating_sub(start.elapsed()).max(Duration::from_millis(1));
        let mut response = match client.get(spec.url.clone()).timeout(remaining).send().await {
            Ok(response) => response,
            Err(e) if e.is_timeout() => {
                return Verdict::native(
                    ServiceState::Critical,
                    &format!("HTTP CRITICAL - no answer from {} within {}", spec.url, seconds(timeout)),
                )
            }
            Err(e) => {
                return Verdict::native(
                    ServiceState::Critical,
                    &format!("HTTP CRITICAL - {} failed: {}", spec.url, error_text(&e)),
                )
            }
        };
        let status = response.status();
        let version = response.version();
        let mut body = Vec::new();
        let mut body_problem = None;
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_BODY.saturating_sub(body.len());
                    body.extend_from_slice(&chunk[..chunk.len().min(room)]);
                    if body.len() >= MAX_BODY {
                        break;
                    }
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => {
                    body_problem = Some(format!("body not received within {}", seconds(timeout)));
                    break;
                }
                Err(e) => {
                    body_problem = Some(format!("body cut: {}", error_text(&e)));
                    break;
                }
            }
        }
        let elapsed = start.elapsed().as_secs_f64();

        let (state, problem) = if !spec.expect.matches(status.as_u16()) {
            (ServiceState::Critical, format!(" (expected status {})", spec.expect))
        } else if let Some(problem) = body_problem {
            (ServiceState::Critical, format!(", {problem}"))
        } else if let Some(content) = spec.content.as_ref().filter(|c| !contains(&body, c.as_bytes())) {
            let shown: String = content.chars().take(60).collect();
            (ServiceState::Critical, format!(", {shown:?} not found in the body"))
        } else {
            (spec.thresholds.state(elapsed), String::new())
        };
        let size = body.len();
        let more = if size >= MAX_BODY { "+" } else { "" };
        let text = format!(
            "HTTP {state} - {version:?} {status}{problem} - {size}{more} bytes in {elapsed:.3} second response time|time={elapsed:.6}s;{};{};0; size={size}B;;;0",
            range_text(spec.thresholds.warning),
            range_text(spec.thresholds.critical),
        );
        Verdict::native(state, &text)
    }
}

/// A reqwest error with its causes, the useful part being the innermost: `error sending
/// request: client error (Connect): tcp connect error: Connection refused`.
fn error_text(error: &reqwest::Error) -> String {
    // The outer message only repeats the URL ("error sending request for url (…)"): start
    // from the causes when there are some.
    let mut text = String::new();
    let mut source = std::error::Error::source(error);
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            if !text.is_empty() {
                text.push_str(": ");
            }
            text.push_str(&cause_text);
        }
        source = cause.source();
    }
    if text.is_empty() {
        text = error.to_string();
    }
    match text.find(" (os error ") {
        Some(cut) => {
            let end = text[cut..].find(')').map_or(text.len(), |i| cut + i + 1);
            format!("{}{}", &text[..cut], &text[end..])
        }
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_urls() {
        let spec =
            HttpSpec::new("10.0.0.1", false, None, "/health?x=1", None, None, None, Thresholds::default(), false)
                .unwrap();
        assert_eq!(spec.describe(), "GET http://10.0.0.1/health?x=1");
        let spec =
            HttpSpec::new("::1", true, Some(8443), "/", None, Some("200"), None, Thresholds::default(), true).unwrap();
        assert_eq!(spec.describe(), "GET https://[::1]:8443/");
        let spec = HttpSpec::new(
            "10.0.0.1",
            true,
            None,
            "/",
            Some("www.example.org"),
            None,
            None,
            Thresholds::default(),
            true,
        )
        .unwrap();
        assert_eq!(spec.describe(), "GET https://www.example.org/ (at 10.0.0.1)");
    }
}
