//! A real SMTP server for the web suites that check e-mail end to end: parc-mail's
//! `tests/smtp_sink.py` (Python's aiosmtpd), started on a loopback port and read back from the
//! files it writes, and the mail settings pointing Parc at it. Include it with `mod smtp_sink;`.
//!
//! Without `python3` + `aiosmtpd` a test fails when `CI` is set, and is skipped (with a loud
//! line on stderr) otherwise.

use std::fs;
use std::io::Write as _;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use parc_mail::{Security, SmtpSettings};
use parc_store::{mail_settings, Actor, Store};
use serde_json::Value;

/// A running `smtp_sink.py` (parc-mail's test server), killed on drop.
pub struct Sink {
    child: Child,
    dir: tempfile::TempDir,
}

impl Sink {
    /// Starts the sink on `port`, or returns `None` (test skipped) when aiosmtpd is missing and
    /// `CI` is not set.
    pub fn start(port: u16) -> Option<Sink> {
        if !aiosmtpd_available() {
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir(dir.path().join("messages")).unwrap();
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../parc-mail/tests/smtp_sink.py");
        let stderr_path = dir.path().join("stderr.log");
        let child = Command::new("python3")
            .arg(script)
            .args(["--port", &port.to_string(), "--dir"])
            .arg(dir.path().join("messages"))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(fs::File::create(&stderr_path).unwrap())
            .spawn()
            .expect("cannot start python3");
        let mut sink = Sink { child, dir };
        let addr = SocketAddr::from(([127, 0, 0, 1], port));
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = sink.child.try_wait().unwrap() {
                panic!("smtp_sink.py exited ({status}):\n{}", fs::read_to_string(&stderr_path).unwrap_or_default());
            }
            if TcpStream::connect_timeout(&addr, Duration::from_millis(200)).is_ok() {
                return Some(sink);
            }
            assert!(Instant::now() < deadline, "smtp_sink.py not listening on {addr} after 10 s");
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// (envelope recipients, raw message) of each message received, in order.
    pub fn received(&self) -> Vec<(Vec<String>, String)> {
        let dir: PathBuf = self.dir.path().join("messages");
        (1..)
            .map(|n| (dir.join(format!("{n}.json")), dir.join(format!("{n}.eml"))))
            .take_while(|(meta, _)| meta.exists())
            .map(|(meta, raw)| {
                let meta: Value = serde_json::from_slice(&fs::read(meta).unwrap()).unwrap();
                let rcpt =
                    meta["rcpt_tos"].as_array().unwrap().iter().map(|r| r.as_str().unwrap().to_owned()).collect();
                (rcpt, String::from_utf8_lossy(&fs::read(raw).unwrap()).into_owned())
            })
            .collect()
    }
}

impl Drop for Sink {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn aiosmtpd_available() -> bool {
    let why = match Command::new("python3").args(["-c", "import aiosmtpd"]).stderr(Stdio::null()).status() {
        Ok(s) if s.success() => return true,
        Ok(_) => "python3 cannot import aiosmtpd".to_owned(),
        Err(e) => format!("python3 not found: {e}"),
    };
    if std::env::var_os("CI").is_some() {
        panic!("{why}; the e-mail queue tests need it: python3 -m pip install aiosmtpd");
    }
    let _ = writeln!(std::io::stderr(), "\n*** SKIPPED: {why}; python3 -m pip install aiosmtpd ***\n");
    false
}

/// A loopback port nothing listens on (now).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Points Parc's mail settings at the sink on `port` (plain SMTP), sending on or off.
pub async fn configure(store: &Store, port: u16, enabled: bool) {
    let smtp = SmtpSettings {
        host: "127.0.0.1".into(),
        port,
        security: Security::None,
        from: "Parc <parc@example.org>".into(),
        timeout_secs: 5,
        ..SmtpSettings::default()
    };
    let mut tx = store.write().await.unwrap();
    mail_settings::put(&mut tx, &Actor::system("test"), store.cipher(), enabled, &smtp, None).await.unwrap();
    tx.commit().await.unwrap();
}

/// A received message as Python's `email` package reads it: headers decoded (RFC 2047), the
/// plain text body decoded from its transfer encoding.
#[derive(Debug, Clone)]
pub struct Message {
    /// Envelope recipients.
    pub rcpt: Vec<String>,
    pub subject: String,
    pub message_id: String,
    pub in_reply_to: Option<String>,
    pub body: String,
}

const PARSE: &str = r#"
import email, json, os, sys
from email import policy
d, out, n = sys.argv[1], [], 1
while os.path.exists(os.path.join(d, f"{n}.json")):
    with open(os.path.join(d, f"{n}.json")) as f:
        meta = json.load(f)
    with open(os.path.join(d, f"{n}.eml"), "rb") as f:
        m = email.message_from_binary_file(f, policy=policy.default)
    out.append({
        "rcpt": meta["rcpt_tos"],
        "subject": str(m["subject"]),
        "message_id": str(m["message-id"]),
        "in_reply_to": str(m["in-reply-to"]) if m["in-reply-to"] else None,
        "body": m.get_body(("plain",)).get_content(),
    })
    n += 1
print(json.dumps(out))
"#;

impl Sink {
    /// The messages received so far, in order, parsed by Python's `email` package.
    pub fn messages(&self) -> Vec<Message> {
        let out = Command::new("python3")
            .args(["-c", PARSE])
            .arg(self.dir.path().join("messages"))
            .output()
            .expect("cannot run python3");
        assert!(out.status.success(), "parsing the messages failed: {}", String::from_utf8_lossy(&out.stderr));
        let list: Value = serde_json::from_slice(&out.stdout).unwrap();
        let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
        list.as_array()
            .unwrap()
            .iter()
            .map(|m| Message {
                rcpt: m["rcpt"].as_array().unwrap().iter().map(text).collect(),
                subject: text(&m["subject"]),
                message_id: text(&m["message_id"]),
                in_reply_to: m["in_reply_to"].as_str().map(str::to_owned),
                body: text(&m["body"]),
            })
            .collect()
    }
}
