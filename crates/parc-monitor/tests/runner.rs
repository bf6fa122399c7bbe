//! The runner against real plugins (Debian's monitoring-plugins-basic), real processes and
//! real local servers on 127.0.0.1:0.
//!
//! Test scripts are run as `/bin/sh script` rather than executed directly: a script just
//! written by one test thread can be inherited, still open for writing, by a process another
//! thread forks at that moment, and exec'ing it would then fail with "Text file busy". The
//! plugin tests exec real binaries directly.

use parc_core::monitoring::{ServiceState, TRUNCATION_MARKER};
use parc_monitor::{CheckDefinition, CheckOutcome, Limits, Macros, Runner, DEFAULT_PLUGIN_DIR};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// The plugin directory, or a failure telling how to get it: these tests must not pass
/// silently on a machine without plugins.
fn plugins() -> &'static str {
    let dummy = Path::new(DEFAULT_PLUGIN_DIR).join("check_dummy");
    assert!(
        dummy.exists(),
        "{} is missing: install the Nagios plugins with `apt-get install -y monitoring-plugins-basic`",
        dummy.display()
    );
    DEFAULT_PLUGIN_DIR
}

fn plugin(command: &str, args: &[&str]) -> CheckDefinition {
    CheckDefinition::Plugin { command: command.into(), args: args.iter().map(|a| a.to_string()).collect() }
}

fn localhost() -> Macros {
    Macros { host_name: "local".into(), host_address: "127.0.0.1".into(), service_description: "test".into() }
}

async fn run_with(runner: &Runner, def: &CheckDefinition, macros: &Macros, timeout: Duration) -> CheckOutcome {
    let check = runner.prepare(def, macros, Some(timeout)).unwrap_or_else(|e| panic!("{def:?}: {e}"));
    runner.run(&check).await
}

async fn run(def: &CheckDefinition) -> CheckOutcome {
    run_with(&Runner::new(Limits::default()), def, &localhost(), Duration::from_secs(10)).await
}

/// Writes an executable shell script.
fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(name);
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    path
}

/// A port nothing listens on (bound, then released).
async fn closed_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    listener.local_addr().unwrap().port()
}

#[tokio::test]
async fn check_dummy_states() {
    plugins();
    for (code, state) in
        [(0, ServiceState::Ok), (1, ServiceState::Warning), (2, ServiceState::Critical), (3, ServiceState::Unknown)]
    {
        let def = plugin("$USER1$/check_dummy $ARG1$ $ARG2$", &[&code.to_string(), "all is well, or not"]);
        let outcome = run(&def).await;
        assert_eq!(outcome.state, state, "{outcome:?}");
        assert_eq!(outcome.exit_code, Some(code));
        assert_eq!(outcome.output.summary, format!("{}: all is well, or not", state.as_str()));
        assert!(outcome.duration < Duration::from_secs(5));
    }
}

#[tokio::test]
async fn missing_plugin_is_unknown() {
    let outcome = run(&plugin("/nonexistent/check_foo -H $HOSTADDRESS$", &[])).await;
    assert_eq!(outcome.state, ServiceState::Unknown);
    assert_eq!(outcome.exit_code, None);
    assert_eq!(outcome.output.summary, "UNKNOWN: cannot run /nonexistent/check_foo: No such file or directory");
}

#[tokio::test]
async fn check_tcp_plugin() {
    plugins();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            drop(socket);
        }
    });
    let def = plugin("$USER1$/check_tcp -H $HOSTADDRESS$ -p $ARG1$", &[&port.to_string()]);
    let outcome = run(&def).await;
    assert_eq!(outcome.state, ServiceState::Ok, "{outcome:?}");
    assert!(outcome.output.perfdata.iter().any(|p| p.label == "time"), "{outcome:?}");

    let def = plugin("$USER1$/check_tcp -H $HOSTADDRESS$ -p $ARG1$", &[&closed_port().await.to_string()]);
    let outcome = run(&def).await;
    assert_eq!(outcome.state, ServiceState::Critical, "{outcome:?}");
    assert!(outcome.output.summary.contains("Connection refused"), "{outcome:?}");
}

#[tokio::test]
async fn check_disk_root() {
    plugins();
    let outcome = run(&plugin("$USER1$/check_disk -w 10% -c 5% -p /", &[])).await;
    assert!(matches!(outcome.exit_code, Some(0..=2)), "{outcome:?}");
    assert_eq!(outcome.state, ServiceState::from_exit_code(outcome.exit_code.unwrap()));
    assert!(outcome.output.summary.starts_with("DISK "), "{outcome:?}");
    let root = outcome.output.perfdata.iter().find(|p| p.label == "/");
    assert!(root.is_some_and(|p| p.value.is_some() && p.warn.is_some()), "{outcome:?}");
}

#[tokio::test]
async fn timeout_kills_the_process_group() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("child.pid");
    let hang = script(dir.path(), "hang", "sleep 1000 &\necho $! > \"$1\"\necho 'still working'\nsleep 1000");
    let def = plugin(&format!("/bin/sh {} $ARG1$", hang.display()), &[pid_file.to_str().unwrap()]);
    let runner = Runner::new(Limits::default());
    let start = Instant::now();
    let outcome = run_with(&runner, &def, &localhost(), Duration::from_secs(1)).await;
    let elapsed = start.elapsed();
    assert_eq!(outcome.state, ServiceState::Unknown, "{outcome:?}");
    assert_eq!(outcome.output.summary, "UNKNOWN: plugin timed out after 1 s (process group killed)");
    assert_eq!(outcome.output.long_output, "still working");
    assert!(elapsed < Duration::from_secs(2), "took {elapsed:?}");
    assert_eq!(runner.running(), 0);

    // The background `sleep` died with its group (it may linger as a zombie until whoever
    // adopted it reaps it, which counts as dead).
    let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_owned();
    let stat = Path::new("/proc").join(&pid).join("stat");
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let alive = std::fs::read_to_string(&stat)
            .map(|s| s.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')))
            .unwrap_or(false);
        if !alive {
            break;
        }
        assert!(Instant::now() < deadline, "the plugin's child {pid} survived the timeout");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn exiting_plugin_leaves_no_children_holding_its_output() {
    let dir = tempfile::tempdir().unwrap();
    let pid_file = dir.path().join("child.pid");
    let leak = script(dir.path(), "leak", "sleep 1000 &\necho $! > \"$1\"\necho 'OK - done'\nexit 0");
    let def = plugin(&format!("/bin/sh {} $ARG1$", leak.display()), &[pid_file.to_str().unwrap()]);
    let start = Instant::now();
    let outcome = run_with(&Runner::new(Limits::default()), &def, &localhost(), Duration::from_secs(10)).await;
    assert!(start.elapsed() < Duration::from_secs(2), "waited for the leftover child");
    assert_eq!(outcome.state, ServiceState::Ok, "{outcome:?}");
    assert_eq!(outcome.output.summary, "OK - done");
    assert_eq!(outcome.output.long_output, "(processes left running by the plugin were killed)");
    let pid = std::fs::read_to_string(&pid_file).unwrap().trim().to_owned();
    let stat = Path::new("/proc").join(&pid).join("stat");
    tokio::time::sleep(Duration::from_millis(200)).await;
    let alive =
        std::fs::read_to_string(&stat).is_ok_and(|s| !s.rsplit_once(')').unwrap().1.trim_start().starts_with('Z'));
    assert!(!alive, "the leftover child {pid} survives");
}

#[tokio::test]
async fn garbage_output_is_bounded() {
    let dir = tempfile::tempdir().unwrap();
    let garbage = script(
        dir.path(),
        "garbage",
        r"printf 'WARNING \377\376 bad\000nul | broken=;;;; =1 ok=1s a=b;c\n'
head -c 5000000 /dev/zero | tr '\000' 'x'
exit 1",
    );
    let limits = Limits { max_output_bytes: 4096, ..Limits::default() };
    let runner = Runner::new(limits);
    let def = plugin(&format!("/bin/sh {}", garbage.display()), &[]);
    let start = Instant::now();
    let outcome = run_with(&runner, &def, &localhost(), Duration::from_secs(20)).await;
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(outcome.state, ServiceState::Warning, "{:?}", outcome.output.summary);
    assert_eq!(outcome.exit_code, Some(1));
    assert_eq!(outcome.output.summary, "WARNING \u{fffd}\u{fffd} bad\u{fffd}nul");
    assert_eq!(outcome.output.perfdata.iter().map(|p| p.label.as_str()).collect::<Vec<_>>(), ["ok"]);
    assert!(!outcome.output.perfdata_errors.is_empty());
    assert!(outcome.output.long_output.ends_with(TRUNCATION_MARKER.trim_start()), "not marked truncated");
    assert!(outcome.output.summary.len() + outcome.output.long_output.len() <= 4096);

    for (code, summary) in [
        (137, "UNKNOWN: plugin exited with unexpected code 137 (128 + 9: probably killed by SIGKILL)"),
        (255, "UNKNOWN: plugin exited with unexpected code 255"),
    ] {
        let exit = script(dir.path(), &format!("exit{code}"), &format!("echo 'OK - lying'\nexit {code}"));
        let outcome = run(&plugin(&format!("/bin/sh {}", exit.display()), &[])).await;
        assert_eq!((outcome.state, outcome.exit_code), (ServiceState::Unknown, Some(code)));
        assert_eq!(outcome.output.summary, summary);
        assert_eq!(outcome.output.long_output, "OK - lying");
    }

    let killed = script(dir.path(), "killed", "kill -9 $$");
    let outcome = run(&plugin(&format!("/bin/sh {}", killed.display()), &[])).await;
    assert_eq!((outcome.state, outcome.exit_code), (ServiceState::Unknown, None));
    assert_eq!(outcome.output.summary, "UNKNOWN: plugin killed by signal 9 (SIGKILL)");

    let silent = script(dir.path(), "silent", "echo 'oops: on stderr' >&2\nexit 2");
    let outcome = run(&plugin(&format!("/bin/sh {}", silent.display()), &[])).await;
    assert_eq!(outcome.state, ServiceState::Critical);
    assert_eq!(outcome.output.summary, "oops: on stderr");
}

#[tokio::test]
async fn concurrency_is_capped() {
    let dir = tempfile::tempdir().unwrap();
    let running = dir.path().join("running");
    std::fs::create_dir(&running).unwrap();
    // Each run registers itself, counts who is running alongside, then leaves.
    let slow = script(
        dir.path(),
        "slow",
        "touch \"$1/$$\"\nls \"$1\" | wc -l >> \"$1.seen\"\nsleep 0.3\nrm \"$1/$$\"\necho OK",
    );
    let runner = Arc::new(Runner::new(Limits { max_concurrent: 2, ..Limits::default() }));
    let def = plugin(&format!("/bin/sh {} $ARG1$", slow.display()), &[running.to_str().unwrap()]);
    let check = runner.prepare(&def, &localhost(), Some(Duration::from_secs(20))).unwrap();
    let start = Instant::now();
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (runner, check) = (runner.clone(), check.clone());
            tokio::spawn(async move { runner.run(&check).await })
        })
        .collect();
    let mut most = 0;
    while !tasks.iter().all(|t| t.is_finished()) {
        most = most.max(runner.running());
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for task in tasks {
        assert_eq!(task.await.unwrap().state, ServiceState::Ok);
    }
    assert_eq!(most, 2, "the runner never ran 2 at once, or ran more");
    assert!(start.elapsed() >= Duration::from_millis(1200), "8 runs of 0.3 s, 2 at a time");
    let seen = std::fs::read_to_string(dir.path().join("running.seen")).unwrap();
    let counts: Vec<usize> = seen.lines().map(|l| l.trim().parse().unwrap()).collect();
    assert_eq!(counts.len(), 8);
    assert!(counts.iter().all(|&n| (1..=2).contains(&n)), "processes seen running together: {counts:?}");
    assert_eq!(runner.running(), 0);
}

#[tokio::test]
async fn macros_never_split_or_inject() {
    let dir = tempfile::tempdir().unwrap();
    let args = script(dir.path(), "args", "printf '%s\\n' \"$#\" \"$@\"");
    let address = "a b 'c' \"d\" $(touch /tmp/parc-injected) ; e";
    let macros = Macros { host_address: address.into(), ..localhost() };
    let def = plugin(&format!("/bin/sh {} $HOSTADDRESS$ $ARG1$", args.display()), &["-w 1 -c 2"]);
    let outcome = run_with(&Runner::new(Limits::default()), &def, &macros, Duration::from_secs(10)).await;
    assert_eq!(outcome.output.summary, "2");
    assert_eq!(outcome.output.long_output, format!("{address}\n-w 1 -c 2"));

    // Shell syntax: run through sh, the value still one quoted word.
    let def = plugin("echo OK $HOSTADDRESS$ | cat", &[]);
    let outcome = run_with(&Runner::new(Limits::default()), &def, &macros, Duration::from_secs(10)).await;
    assert_eq!(outcome.state, ServiceState::Ok, "{outcome:?}");
    assert_eq!(outcome.output.summary, format!("OK {address}"));
    assert!(!Path::new("/tmp/parc-injected").exists());
}

/// A TCP server answering every connection with `banner`.
async fn banner_server(banner: &'static [u8]) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let _ = socket.write_all(banner).await;
        }
    });
    port
}

fn tcp(port: u16, expect: Option<&str>) -> CheckDefinition {
    CheckDefinition::Tcp {
        port,
        send: None,
        expect: expect.map(Into::into),
        warning: Some("5".into()),
        critical: Some("9".into()),
    }
}

#[tokio::test]
async fn native_tcp() {
    let port = banner_server(b"SSH-2.0-test\r\n").await;
    let outcome = run(&tcp(port, Some("SSH-2.0"))).await;
    assert_eq!(outcome.state, ServiceState::Ok, "{outcome:?}");
    assert!(outcome.output.summary.starts_with("TCP OK - 0.0"), "{outcome:?}");
    let time = &outcome.output.perfdata[0];
    assert_eq!((time.label.as_str(), time.uom.as_str(), time.min), ("time", "s", Some(0.0)));
    assert_eq!(time.crit.map(|r| r.to_string()), Some("9".into()));

    let outcome = run(&tcp(port, Some("HTTP/1.1"))).await;
    assert_eq!(outcome.state, ServiceState::Warning, "{outcome:?}");
    assert!(outcome.output.summary.contains("unexpected answer \"SSH-2.0-test\""), "{outcome:?}");

    let closed = closed_port().await;
    let outcome = run(&tcp(closed, None)).await;
    assert_eq!(outcome.state, ServiceState::Critical);
    assert_eq!(
        outcome.output.summary,
        format!("TCP CRITICAL - cannot connect to 127.0.0.1 port {closed}: Connection refused")
    );
}

/// A tiny HTTP/1.1 server: `/ok` answers 200 with a body naming the Host header, anything
/// else 500.
async fn http_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                let mut chunk = [0u8; 1024];
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&chunk[..n]),
                    }
                }
                let request = String::from_utf8_lossy(&request);
                let host = request
                    .lines()
                    .find_map(|l| l.strip_prefix("host: ").or_else(|| l.strip_prefix("Host: ")))
                    .unwrap_or("");
                let (status, body) = if request.starts_with("GET /ok ") {
                    ("200 OK", format!("hello parc host={host}"))
                } else {
                    ("500 Internal Server Error", "broken".to_owned())
                };
                let reply =
                    format!("HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}", body.len());
                let _ = socket.write_all(reply.as_bytes()).await;
            });
        }
    });
    port
}

fn http(port: u16, path: &str, fields: serde_json::Value) -> CheckDefinition {
    let mut json = serde_json::json!({"type": "http", "port": port, "path": path});
    json.as_object_mut().unwrap().extend(fields.as_object().unwrap().clone());
    serde_json::from_value(json).unwrap()
}

#[tokio::test]
async fn native_http() {
    let port = http_server().await;
    let outcome = run(&http(port, "/ok", serde_json::json!({"expect_status": "200", "content": "parc"}))).await;
    assert_eq!(outcome.state, ServiceState::Ok, "{outcome:?}");
    assert!(outcome.output.summary.starts_with("HTTP OK - HTTP/1.1 200 OK - "), "{outcome:?}");
    let labels: Vec<_> = outcome.output.perfdata.iter().map(|p| p.label.as_str()).collect();
    assert_eq!(labels, ["time", "size"]);

    let outcome = run(&http(port, "/ok", serde_json::json!({"content": "missing"}))).await;
    assert_eq!(outcome.state, ServiceState::Critical);
    assert!(outcome.output.summary.contains("\"missing\" not found in the body"), "{outcome:?}");

    let outcome = run(&http(port, "/fail", serde_json::json!({}))).await;
    assert_eq!(outcome.state, ServiceState::Critical);
    assert!(outcome.output.summary.contains("500 Internal Server Error (expected status 200-399)"), "{outcome:?}");

    let outcome = run(&http(port, "/fail", serde_json::json!({"expect_status": "500,503"}))).await;
    assert_eq!(outcome.state, ServiceState::Ok, "{outcome:?}");

    // A virtual host: the name is sent, the connection goes to the host's address.
    let vhost = serde_json::json!({"host_header": "www.example.test", "content": "host=www.example.test"});
    let outcome = run(&http(port, "/ok", vhost)).await;
    assert_eq!(outcome.state, ServiceState::Ok, "{outcome:?}");

    let outcome = run(&http(closed_port().await, "/", serde_json::json!({}))).await;
    assert_eq!(outcome.state, ServiceState::Critical);
    assert!(outcome.output.summary.contains("Connection refused"), "{outcome:?}");
}

/// A TLS server presenting a self-signed certificate valid until `not_after`.
async fn tls_server(not_after: chrono::NaiveDate) -> u16 {
    use chrono::Datelike;
    let mut params = rcgen::CertificateParams::new(vec!["parc.test".into()]).unwrap();
    params.distinguished_name.push(rcgen::DnType::CommonName, "parc.test");
    params.not_before = rcgen::date_time_ymd(2020, 1, 1);
    params.not_after = rcgen::date_time_ymd(not_after.year(), not_after.month() as u8, not_after.day() as u8);
    let key = rcgen::KeyPair::generate().unwrap();
    let cert = params.self_signed(&key).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.der().clone()], rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()))
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let _ = acceptor.accept(socket).await;
            });
        }
    });
    port
}

#[tokio::test]
async fn native_tls_certificate() {
    let in_ten_days = (chrono::Utc::now() + chrono::Duration::days(10)).date_naive();
    let port = tls_server(in_ten_days).await;
    let cert = |warning_days, critical_days| CheckDefinition::TlsCertificate {
        port,
        server_name: Some("parc.test".into()),
        warning_days,
        critical_days,
    };
    let outcome = run(&cert(30, 5)).await;
    assert_eq!(outcome.state, ServiceState::Warning, "{outcome:?}");
    assert!(
        outcome.output.summary.starts_with("TLS WARNING - certificate for 'parc.test' expires in 9 days"),
        "{outcome:?}"
    );
    let days = outcome.output.perfdata[0].value.unwrap();
    assert!((9.0..=10.0).contains(&days), "{days}");
    assert_eq!(run(&cert(5, 3)).await.state, ServiceState::Ok);
    assert_eq!(run(&cert(30, 20)).await.state, ServiceState::Critical);

    let expired = tls_server((chrono::Utc::now() - chrono::Duration::days(2)).date_naive()).await;
    let outcome =
        run(&CheckDefinition::TlsCertificate { port: expired, server_name: None, warning_days: 30, critical_days: 5 })
            .await;
    assert_eq!(outcome.state, ServiceState::Critical);
    assert!(outcome.output.summary.contains("expired on"), "{outcome:?}");

    // Not TLS at all: the handshake fails.
    let plain = banner_server(b"SSH-2.0-test\r\n").await;
    let outcome =
        run(&CheckDefinition::TlsCertificate { port: plain, server_name: None, warning_days: 30, critical_days: 5 })
            .await;
    assert_eq!(outcome.state, ServiceState::Critical);
    assert!(outcome.output.summary.starts_with("TLS CRITICAL - handshake with 127.0.0.1 port"), "{outcome:?}");
}

#[tokio::test]
async fn ping_localhost() {
    let def: CheckDefinition = serde_json::from_str(r#"{"type":"ping","packets":2}"#).unwrap();
    let outcome = run(&def).await;
    let path =
        if outcome.output.long_output.starts_with("native ICMP echo") { "native" } else { "check_ping fallback" };
    println!("ping path: {path}: {} / {}", outcome.output.summary, outcome.output.long_output);
    assert_eq!(outcome.state, ServiceState::Ok, "{outcome:?}");
    assert!(outcome.output.perfdata.iter().any(|p| p.label == "rta"), "{outcome:?}");
    assert!(outcome.output.perfdata.iter().any(|p| p.label == "pl" && p.value == Some(0.0)), "{outcome:?}");

    plugins();
    let runner = Runner::new(Limits::default()).without_native_ping();
    let outcome = run_with(&runner, &def, &localhost(), Duration::from_secs(10)).await;
    println!("forced fallback: {} / {}", outcome.output.summary, outcome.output.long_output);
    assert_eq!(outcome.state, ServiceState::Ok, "{outcome:?}");
    assert_eq!(outcome.exit_code, Some(0), "check_ping ran");
    assert!(outcome.output.perfdata.iter().any(|p| p.label == "rta"), "{outcome:?}");
}
