//! The shared headless-browser harness: Debian's Chromium through chromedriver, driven by
//! fantoccini. [`Browser::start`] gives `None` (and says so loudly) when chromedriver is not
//! installed outside CI; in CI a missing driver fails the test.

use fantoccini::{Client, ClientBuilder, Locator};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

struct Driver(Child);

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn find_binary(names: &[&str]) -> Option<String> {
    names.iter().find(|p| std::path::Path::new(p).exists()).map(|p| (*p).to_owned())
}

/// A running chromedriver and one headless Chromium session on it, in French, 1280x900
/// (or the size given to [`Browser::start_sized`]). Dropped: the driver is killed.
pub struct Browser {
    pub c: Client,
    _driver: Driver,
    _profile: tempfile::TempDir,
}

impl Browser {
    /// A desktop-sized browser, or `None` when chromedriver is missing (outside CI only).
    pub async fn start(test: &str) -> Option<Browser> {
        Browser::start_sized(test, 1280, 900).await
    }

    /// A browser with the given window size (e.g. 390x844 for a phone).
    pub async fn start_sized(test: &str, width: u32, height: u32) -> Option<Browser> {
        let Some(driver_bin) = find_binary(&["/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver"]) else {
            assert!(std::env::var("CI").is_err(), "chromedriver is missing in CI: .ci/run installs chromium-driver");
            eprintln!(
                "\n*** SKIPPED browser test {test}: chromedriver not installed (apt-get install chromium chromium-driver) ***\n"
            );
            return None;
        };
        let port = free_port();
        let driver = Driver(
            Command::new(driver_bin)
                .arg(format!("--port={port}"))
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("start chromedriver"),
        );
        let profile = tempfile::tempdir().unwrap();
        let caps: serde_json::Map<String, serde_json::Value> = serde_json::from_value(serde_json::json!({
            "goog:chromeOptions": {
                "binary": "/usr/bin/chromium",
                "prefs": { "intl.accept_languages": "fr-FR,fr" },
                "args": ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage", "--no-first-run",
                         format!("--window-size={width},{height}"), "--lang=fr-FR",
                         format!("--user-data-dir={}", profile.path().display())]
            }
        }))
        .unwrap();
        for _ in 0..50 {
            match ClientBuilder::native().capabilities(caps.clone()).connect(&format!("http://127.0.0.1:{port}")).await
            {
                Ok(c) => return Some(Browser { c, _driver: driver, _profile: profile }),
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
        panic!("could not connect to chromedriver");
    }

    /// Signs in through the login form and waits for the dashboard.
    pub async fn sign_in(
        &self,
        base_url: &str,
        login: &str,
        password: &str,
    ) -> Result<(), fantoccini::error::CmdError> {
        let c = &self.c;
        c.goto(&format!("{base_url}/login")).await?;
        c.find(Locator::Id("login")).await?.send_keys(login).await?;
        c.find(Locator::Id("password")).await?.send_keys(password).await?;
        c.find(Locator::Css("form.stack button[type=submit]")).await?.click().await?;
        wait_path(c, |p| p == "/").await;
        Ok(())
    }

    /// Ends the session (the driver stops when `self` drops).
    pub async fn close(self) {
        let _ = self.c.close().await;
    }
}

/// Retries `f` until it gives a value (pages load asynchronously after a click), 10 s at most.
pub async fn poll<T, F, Fut>(f: F) -> Option<T>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    for _ in 0..200 {
        if let Some(v) = f().await {
            return Some(v);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    None
}

/// Waits until the browser is on a path that satisfies `pred` with its `main h1` loaded, and
/// returns the path.
pub async fn wait_path(c: &Client, pred: impl Fn(&str) -> bool) -> String {
    poll(|| async {
        let url = c.current_url().await.ok()?;
        c.find(Locator::Css("main h1")).await.ok()?;
        pred(url.path()).then(|| url.path().to_owned())
    })
    .await
    .expect("the browser reached the expected page")
}

/// Scrolls `canvas` (a signature pad) to the middle of the screen and draws a zigzag on it with
/// pointer actions from `source` ("finger", "stylus"…).
pub async fn draw(
    c: &Client,
    canvas: &fantoccini::elements::Element,
    source: &str,
) -> Result<(), fantoccini::error::CmdError> {
    use fantoccini::actions::{InputSource, MouseActions, PointerAction, MOUSE_BUTTON_LEFT};
    c.execute("arguments[0].scrollIntoView({block: 'center'});", vec![serde_json::to_value(canvas)?]).await?;
    let stroke = MouseActions::new(source.into())
        .then(PointerAction::MoveToElement { element: canvas.clone(), duration: None, x: -90, y: 10 })
        .then(PointerAction::Down { button: MOUSE_BUTTON_LEFT })
        .then(PointerAction::MoveBy { duration: Some(Duration::from_millis(120)), x: 60, y: -40 })
        .then(PointerAction::MoveBy { duration: Some(Duration::from_millis(120)), x: 60, y: 50 })
        .then(PointerAction::MoveBy { duration: Some(Duration::from_millis(120)), x: 50, y: -30 })
        .then(PointerAction::Up { button: MOUSE_BUTTON_LEFT });
    c.perform_actions(stroke).await
}

/// How many pixels darker than mid-grey each image embedded in `pdf` has (extracted as PNM by
/// poppler's `pdfimages`); `None` without poppler-utils (outside CI only).
pub fn dark_pixels_per_image(pdf: &[u8]) -> Option<Vec<usize>> {
    use std::process::Command;
    if Command::new("pdfimages").arg("-v").output().is_err() {
        assert!(std::env::var_os("CI").is_none(), "pdfimages is missing in CI: apt-get install poppler-utils");
        eprintln!("\n*** SKIPPED the signature image check: pdfimages missing (apt-get install poppler-utils) ***\n");
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("document.pdf");
    std::fs::write(&file, pdf).unwrap();
    assert!(Command::new("pdfimages").arg(&file).arg(dir.path().join("img")).status().unwrap().success());
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir.path()).unwrap().flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !(name.ends_with(".ppm") || name.ends_with(".pgm")) {
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        // "P6\n<w> <h>\n<max>\n" then the samples (3 per pixel for P6, 1 for P5).
        let (mut fields, mut at) = (0, 0);
        while fields < 4 {
            while bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            while !bytes[at].is_ascii_whitespace() {
                at += 1;
            }
            fields += 1;
        }
        let per_pixel = if bytes.starts_with(b"P6") { 3 } else { 1 };
        out.push(bytes[at + 1..].chunks(per_pixel).filter(|p| p.iter().all(|s| *s < 128)).count());
    }
    Some(out)
}
