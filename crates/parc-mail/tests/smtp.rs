//! parc-mail against a real SMTP server: Python's aiosmtpd running `tests/smtp_sink.py` on a
//! free loopback port, which writes what it receives to files that these tests parse back.
//!
//! Needs `python3` with the `aiosmtpd` package (`python3 -m pip install aiosmtpd`). Without
//! them the tests that need the server fail when `CI` is set, and are skipped (with a loud line
//! on stderr) otherwise.

use std::fs;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use mail_parser::{MessageParser, MimeHeaders as _};
use parc_mail::{send, test_connection, Attachment, Email, MailError, Security, SmtpSettings};

const USER: &str = "parc";
const PASSWORD: &str = "s3cret-Passw0rd";

/// How the sink secures its connections.
#[derive(Clone, Copy, PartialEq)]
enum SinkTls {
    None,
    /// Offers STARTTLS and requires it before MAIL.
    StartTls,
    /// TLS from the first byte.
    Implicit,
}

/// A running `smtp_sink.py`, killed on drop.
struct Sink {
    child: Child,
    port: u16,
    dir: tempfile::TempDir,
}

/// What the sink recorded of one message.
struct Received {
    meta: serde_json::Value,
    raw: Vec<u8>,
}

impl Sink {
    /// Starts a sink, or returns `None` (test skipped) when aiosmtpd is not installed and `CI`
    /// is not set.
    fn start(tls: SinkTls, auth: bool) -> Option<Sink> {
        if !aiosmtpd_available() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let port = free_port();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/smtp_sink.py");
        let stderr_path = dir.path().join("stderr.log");
        let mut cmd = Command::new("python3");
        cmd.arg(script).arg("--port").arg(port.to_string()).arg("--dir").arg(messages_dir(dir.path()));
        fs::create_dir(messages_dir(dir.path())).unwrap();
        if tls != SinkTls::None {
            let (cert, key) = self_signed_cert(dir.path());
            cmd.arg("--cert").arg(cert).arg("--key").arg(key);
            if tls == SinkTls::Implicit {
                cmd.arg("--implicit-tls");
            }
        }
        if auth {
            cmd.args(["--user", USER, "--password", PASSWORD]);
        }
        let child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr_path).unwrap())
            .spawn()
            .expect("cannot start python3");
        let mut sink = Sink { child, port, dir };
        sink.wait_until_listening(&stderr_path);
        Some(sink)
    }

    /// Polls the port until it accepts a connection, for at most 10 s.
    fn wait_until_listening(&mut self, stderr_path: &Path) {
        let addr = SocketAddr::from(([127, 0, 0, 1], self.port));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "smtp_sink.py exited ({status}) before listening:\n{}",
                    fs::read_to_string(stderr_path).unwrap_or_default()
                );
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "smtp_sink.py not listening on {addr} after 10 s:\n{}",
                fs::read_to_string(stderr_path).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Messages received so far, in order.
    fn received(&self) -> Vec<Received> {
        let dir = messages_dir(self.dir.path());
        (1..)
            .map(|n| (dir.join(format!("{n}.json")), dir.join(format!("{n}.eml"))))
            .take_while(|(meta, _)| meta.exists())
            .map(|(meta, raw)| Received {
                meta: serde_json::from_slice(&fs::read(meta).unwrap()).unwrap(),
                raw: fs::read(raw).unwrap(),
            })
            .collect()
    }

    fn settings(&self, security: Security) -> SmtpSettings {
        SmtpSettings {
            host: "127.0.0.1".into(),
            port: self.port,
            security,
            from: "Parc <parc@example.org>".into(),
            timeout_secs: 10,
            ..SmtpSettings::default()
        }
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn messages_dir(root: &Path) -> PathBuf {
    root.join("messages")
}

/// Whether `python3 -c "import aiosmtpd"` works; when not, fails under CI and warns otherwise.
fn aiosmtpd_available() -> bool {
    static AVAILABLE: OnceLock<Result<(), String>> = OnceLock::new();
    let available = AVAILABLE.get_or_init(|| {
        match Command::new("python3").args(["-c", "import aiosmtpd"]).stderr(Stdio::piped()).output() {
            Ok(out) if out.status.success() => Ok(()),
            Ok(out) => Err(format!(
                "python3 cannot import aiosmtpd: {}",
                String::from_utf8_lossy(&out.stderr).trim().lines().last().unwrap_or("")
            )),
            Err(e) => Err(format!("python3 not found: {e}")),
        }
    });
    match available {
        Ok(()) => true,
        Err(why) if std::env::var_os("CI").is_some() => {
            panic!("{why}; the SMTP tests need it: python3 -m pip install aiosmtpd")
        }
        Err(why) => {
            // Straight to the process's stderr: the test harness captures eprintln!.
            let _ = writeln!(
                std::io::stderr(),
                "\n*** SKIPPED: aiosmtpd not installed ({why}); python3 -m pip install aiosmtpd ***\n"
            );
            false
        }
    }
}

/// A loopback port nothing listens on (now).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Writes a self-signed certificate for 127.0.0.1 and its key as PEM files.
fn self_signed_cert(dir: &Path) -> (PathBuf, PathBuf) {
    let certified = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned(), "localhost".to_owned()]).unwrap();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    fs::write(&cert, certified.cert.pem()).unwrap();
    fs::write(&key, certified.key_pair.serialize_pem()).unwrap();
    (cert, key)
}

const PDF: &[u8] =
    b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n";

fn ticket_email() -> Email {
    Email {
        to: vec!["Alice Martin <alice@example.org>".into()],
        cc: vec!["bob@example.org".into()],
        subject: "Ticket n°42 : écran noir".into(),
        text: "Bonjour,\n\nL'écran du poste de l'accueil reste noir depuis ce matin.\n".into(),
        html: Some("<p>Bonjour,</p><p>L'écran du poste de l'accueil reste <b>noir</b> depuis ce matin.</p>".into()),
        attachments: vec![Attachment {
            filename: "diagnostic-écran.pdf".into(),
            content_type: "application/pdf".into(),
            bytes: PDF.to_vec(),
        }],
        message_id: Some("ticket-42-3@parc.example.org".into()),
        reply_to_thread: Some("ticket-42@parc.example.org".into()),
        ..Email::default()
    }
}

fn short_email() -> Email {
    Email { to: vec!["alice@example.org".into()], subject: "Test".into(), text: "Test".into(), ..Email::default() }
}

#[tokio::test]
async fn plain_smtp_delivers_a_multipart_french_message() {
    let Some(sink) = Sink::start(SinkTls::None, false) else { return };
    let settings = sink.settings(Security::None);
    send(&settings, &ticket_email()).await.unwrap();

    let received = sink.received();
    assert_eq!(received.len(), 1);
    let Received { meta, raw } = &received[0];
    assert_eq!(meta["mail_from"], "parc@example.org");
    assert_eq!(meta["rcpt_tos"], serde_json::json!(["alice@example.org", "bob@example.org"]));
    assert_eq!(meta["tls"], false);

    let message = MessageParser::default().parse(raw.as_slice()).expect("parsable message");
    assert_eq!(message.subject(), Some("Ticket n°42 : écran noir"));
    let from = message.from().and_then(|a| a.first()).unwrap();
    assert_eq!((from.name(), from.address()), (Some("Parc"), Some("parc@example.org")));
    let to = message.to().and_then(|a| a.first()).unwrap();
    assert_eq!((to.name(), to.address()), (Some("Alice Martin"), Some("alice@example.org")));
    assert_eq!(message.cc().and_then(|a| a.first()).and_then(|a| a.address()), Some("bob@example.org"));
    assert_eq!(message.message_id(), Some("ticket-42-3@parc.example.org"));
    assert_eq!(message.in_reply_to().as_text(), Some("ticket-42@parc.example.org"));
    assert_eq!(message.references().as_text(), Some("ticket-42@parc.example.org"));

    assert_eq!(
        // Text travels with CRLF line breaks.
        message.body_text(0).map(|t| t.replace("\r\n", "\n")).as_deref().map(str::trim_end),
        Some("Bonjour,\n\nL'écran du poste de l'accueil reste noir depuis ce matin.")
    );
    assert!(message.body_html(0).unwrap().contains("reste <b>noir</b>"));
    assert_eq!(message.attachment_count(), 1);
    let pdf = message.attachment(0).unwrap();
    assert_eq!(pdf.attachment_name(), Some("diagnostic-écran.pdf"));
    let ctype = pdf.content_type().unwrap();
    assert_eq!((ctype.ctype(), ctype.subtype()), ("application", Some("pdf")));
    assert_eq!(pdf.contents(), PDF);
}

#[tokio::test]
async fn starttls_with_auth() {
    let Some(sink) = Sink::start(SinkTls::StartTls, true) else { return };
    let good = SmtpSettings {
        username: Some(USER.into()),
        password: Some(PASSWORD.into()),
        accept_invalid_certs: true,
        ..sink.settings(Security::StartTls)
    };
    test_connection(&good).await.unwrap();
    send(&good, &short_email()).await.unwrap();
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].meta["tls"], true);
    assert_eq!(received[0].meta["login"], USER);

    // A wrong password: the server's 535 is final, and the error does not show the password.
    let wrong = SmtpSettings { password: Some("wr0ng-Passw0rd".into()), ..good.clone() };
    for err in [send(&wrong, &short_email()).await.unwrap_err(), test_connection(&wrong).await.unwrap_err()] {
        assert!(matches!(err, MailError::Permanent(_)) && !err.is_retryable(), "{err:?}");
        let text = err.to_string();
        assert!(text.contains("535") && text.contains("Authentication"), "{text}");
        assert!(!text.contains("wr0ng") && !format!("{err:?}").contains("wr0ng"), "{text}");
    }

    // The self-signed certificate is refused unless accepted explicitly: not worth retrying.
    let strict = SmtpSettings { accept_invalid_certs: false, ..good.clone() };
    let err = send(&strict, &short_email()).await.unwrap_err();
    assert!(matches!(err, MailError::Permanent(_)) && !err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("TLS"), "{err}");

    // Plain text to a server that demands STARTTLS: it offers no AUTH before STARTTLS, and
    // refuses MAIL (530) without it; both for good.
    let plain = SmtpSettings { security: Security::None, ..good.clone() };
    let err = send(&plain, &short_email()).await.unwrap_err();
    assert!(matches!(err, MailError::Permanent(_)) && !err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("authentication mechanism"), "{err}");
    let anonymous = SmtpSettings { username: None, password: None, ..plain };
    let err = send(&anonymous, &short_email()).await.unwrap_err();
    assert!(matches!(err, MailError::Permanent(_)) && !err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("530"), "{err}");

    assert_eq!(sink.received().len(), 1, "nothing else was accepted");
}

#[tokio::test]
async fn implicit_tls() {
    let Some(sink) = Sink::start(SinkTls::Implicit, false) else { return };
    let settings = SmtpSettings { accept_invalid_certs: true, ..sink.settings(Security::Tls) };
    test_connection(&settings).await.unwrap();
    send(&settings, &short_email()).await.unwrap();
    let received = sink.received();
    assert_eq!(received.len(), 1);
    assert_eq!(received[0].meta["tls"], true);

    // Expecting STARTTLS from a server that speaks TLS at once gets no SMTP greeting at all.
    let starttls = SmtpSettings { security: Security::StartTls, timeout_secs: 1, ..settings };
    let err = send(&starttls, &short_email()).await.unwrap_err();
    assert!(matches!(err, MailError::Transient(_)), "{err:?}");
}

#[tokio::test]
async fn nothing_listening_is_retryable() {
    let settings = SmtpSettings { host: "127.0.0.1".into(), port: free_port(), ..SmtpSettings::default() };
    let err = send(&settings, &short_email()).await.unwrap_err();
    assert!(matches!(err, MailError::Transient(_)) && err.is_retryable(), "{err:?}");
    let err = test_connection(&settings).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
}

#[tokio::test]
async fn silent_server_times_out_and_is_retryable() {
    // Accepts the connection (the kernel does, from the backlog) but never greets.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let settings = SmtpSettings {
        host: "127.0.0.1".into(),
        port: listener.local_addr().unwrap().port(),
        timeout_secs: 1,
        ..SmtpSettings::default()
    };
    let started = Instant::now();
    let err = send(&settings, &short_email()).await.unwrap_err();
    assert!(err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("within 4 s"), "{err}");
    assert!(started.elapsed() < Duration::from_secs(8), "{:?}", started.elapsed());
    drop(listener);
}

#[tokio::test]
async fn invalid_addresses_are_invalid_and_final() {
    // Nothing listens on the port: an attempt to connect would give Transient, not Invalid.
    let settings = SmtpSettings { host: "127.0.0.1".into(), port: free_port(), ..SmtpSettings::default() };
    let bad_to = Email { to: vec!["pas une adresse".into()], ..short_email() };
    let err = send(&settings, &bad_to).await.unwrap_err();
    assert!(matches!(err, MailError::Invalid(_)) && !err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("pas une adresse"), "{err}");

    let bad_from = SmtpSettings { from: "Parc <parc@>".into(), ..settings.clone() };
    let err = send(&bad_from, &short_email()).await.unwrap_err();
    assert!(matches!(err, MailError::Invalid(_)) && !err.is_retryable(), "{err:?}");
    assert!(err.to_string().contains("from: email_format"), "{err}");
    assert!(matches!(test_connection(&bad_from).await, Err(MailError::Invalid(_))));
}

#[test]
fn settings_debug_hides_the_password() {
    let settings =
        SmtpSettings { username: Some(USER.into()), password: Some(PASSWORD.into()), ..SmtpSettings::default() };
    for shown in [format!("{settings:?}"), format!("{settings:#?}")] {
        assert!(!shown.contains(PASSWORD), "{shown}");
        assert!(shown.contains(USER), "{shown}");
    }
}
