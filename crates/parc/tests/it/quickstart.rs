//! The real `parc` binary, as a new user runs it: first start prints the URL and the admin's
//! one-time password, which signs in; the other subcommands work on the same data directory.

use crate::app::{browser_like_client, csrf_in};
use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

const BIN: &str = env!("CARGO_BIN_EXE_parc");

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn parc(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(BIN)
        .args(args)
        .arg("--data-dir")
        .arg(dir)
        .env_remove("PARC_ADMIN_PASSWORD")
        .env_remove("PARC_DATABASE_URL")
        .output()
        .expect("run parc")
}

/// Starts `parc serve` and reads its banner: (server, base URL, printed password line).
fn serve(dir: &std::path::Path, extra: &[&str]) -> (Server, String, Vec<String>) {
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(dir)
        .args(extra)
        .env_remove("PARC_ADMIN_PASSWORD")
        .env_remove("PARC_DATABASE_URL")
        .env("PARC_LOG", "debug")
        .stdout(Stdio::piped())
        .stderr(std::fs::OpenOptions::new().create(true).append(true).open(dir.join("serve.log")).unwrap())
        .spawn()
        .expect("start parc serve");
    let stdout = child.stdout.take().unwrap();
    let mut lines = Vec::new();
    let mut url = String::new();
    // The banner ends with the URL line.
    for line in BufReader::new(stdout).lines() {
        let line = line.unwrap();
        lines.push(line.clone());
        if let Some(rest) = line.strip_prefix("Parc is running at ") {
            url = rest.split_whitespace().next().unwrap().trim_end_matches('/').to_owned();
            break;
        }
    }
    assert!(!url.is_empty(), "no URL in banner: {lines:?}");
    (Server(child), url, lines)
}

#[tokio::test]
async fn first_start_prints_a_working_admin_password() {
    let dir = tempfile::tempdir().unwrap();
    let (server, url, lines) = serve(dir.path(), &[]);
    let pw_line = lines.iter().find(|l| l.contains("one-time password")).expect("password printed");
    let password = pw_line.rsplit(": ").next().unwrap().trim().to_owned();
    assert!(password.len() >= 10);

    let client = browser_like_client();
    let page = client.get(format!("{url}/login")).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_in(&page);
    let r = client
        .post(format!("{url}/login"))
        .form(&[("login", "admin"), ("password", password.as_str()), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303);
    let dash = client.get(format!("{url}/")).send().await.unwrap();
    assert_eq!(dash.status(), 200);
    drop(server);

    // A second start keeps the account and prints no new password.
    let (server, _url, lines) = serve(dir.path(), &[]);
    assert!(!lines.iter().any(|l| l.contains("one-time password")), "{lines:?}");
    drop(server);

    // The administration subcommands on the same data directory.
    let out = parc(dir.path(), &["migrate"]);
    assert!(out.status.success(), "{out:?}");
    let mut child = Command::new(BIN)
        .args([
            "user",
            "add",
            "jdupont",
            "--name",
            "Jeanne Dupont",
            "--profile",
            "technician",
            "--recursive",
            "--password-stdin",
            "--data-dir",
        ])
        .arg(dir.path())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(b"un mot de passe solide\n").unwrap();
    assert!(child.wait_with_output().unwrap().status.success());
    let list = parc(dir.path(), &["user", "list"]);
    let text = String::from_utf8_lossy(&list.stdout);
    assert!(text.contains("jdupont") && text.contains("technician@1+"), "{text}");
    let tok = parc(dir.path(), &["token", "create", "jdupont"]);
    assert!(tok.status.success());
    let token = String::from_utf8_lossy(&tok.stdout).trim().to_owned();
    assert!(token.starts_with("parc_"));
    let backup = dir.path().join("copy.sqlite");
    let b = parc(dir.path(), &["backup", backup.to_str().unwrap()]);
    assert!(b.status.success(), "{b:?}");
    assert!(std::fs::metadata(&backup).unwrap().len() > 0);
    let cfg = parc(dir.path(), &["default-config"]);
    assert!(String::from_utf8_lossy(&cfg.stdout).contains("listen = \"127.0.0.1:8080\""));
    let bad = Command::new(BIN).args(["migrate", "--database-url", "mysql://x"]).output().unwrap();
    assert!(!bad.status.success(), "invalid config fails fast");

    // The token works against a running server, and the secret never reaches the logs.
    let (server, url, _) = serve(dir.path(), &[]);
    let me: serde_json::Value = reqwest::Client::new()
        .get(format!("{url}/api/v1/me"))
        .bearer_auth(&token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(me["user"]["login"], "jdupont");
    drop(server);
    let logs = std::fs::read_to_string(dir.path().join("serve.log")).unwrap();
    assert!(logs.contains("signed in"), "the server logged at debug level");
    assert!(!logs.contains(&password) && !logs.contains(&token), "logs contain a secret");
}

#[tokio::test]
async fn demo_organisation() {
    let dir = tempfile::tempdir().unwrap();
    let out = parc(dir.path(), &["demo"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Demo loaded"), "{text}");
    let (server, url, _) = serve(dir.path(), &["--demo"]);
    let client = browser_like_client();
    let page = client.get(format!("{url}/login")).send().await.unwrap().text().await.unwrap();
    let csrf = csrf_in(&page);
    let list = parc(dir.path(), &["user", "list"]);
    let users = String::from_utf8_lossy(&list.stdout);
    let login = users
        .lines()
        .map(|l| l.split('\t').nth(1).unwrap_or(""))
        .find(|l| *l != "admin")
        .expect("demo users")
        .to_owned();
    let r = client
        .post(format!("{url}/login"))
        .form(&[("login", login.as_str()), ("password", "password"), ("csrf", csrf.as_str())])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 303, "demo user {login} signs in");
    drop(server);
}
