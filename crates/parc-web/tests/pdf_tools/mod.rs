//! What the suites that read documents back share: whether a tool is installed (a loud SKIPPED
//! outside CI, a failure in CI), running a program on bytes, and a signature PNG as a pad draws.

use std::io::Write as _;
use std::process::{Command, Stdio};

/// Whether `program --version`-like `probe` runs; outside CI a missing tool skips the test.
pub fn available(what: &str, program: &str, args: &[&str]) -> bool {
    let ok = Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "{what} is missing in CI");
        eprintln!(
            "\n*** SKIPPED: {what} is missing (apt-get install poppler-utils; pip install aiosmtpd icalendar) ***\n"
        );
    }
    ok
}

pub fn run(program: &str, args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let mut child = Command::new(program)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    child.stdin.take().unwrap().write_all(stdin.unwrap_or_default()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{program} {args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    out.stdout
}

/// A 200 x 80 transparent PNG with a dark diagonal stroke, base64 (written by Python's
/// standard library: zlib and struct).
pub fn signature_png() -> String {
    const SCRIPT: &str = r#"
import base64, struct, zlib
w, h = 200, 80
rows = b""
for y in range(h):
    row = bytearray(b"\x00" + b"\x00\x00\x00\x00" * w)
    for x in range(w):
        if abs(y - x * h // w) < 3:
            row[1 + 4 * x:5 + 4 * x] = b"\x10\x20\x60\xff"
    rows += bytes(row)
def chunk(t, d):
    return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0)) \
    + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
print(base64.b64encode(png).decode())
"#;
    String::from_utf8(run("python3", &["-c", SCRIPT], None)).unwrap().trim().to_owned()
}
