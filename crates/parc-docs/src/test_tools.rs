//! Helpers for tests that call external programs (poppler-utils, Python).

use std::path::Path;
use std::process::Command;

/// Whether the external `program` needed by `test` can be used, `probe`
/// being arguments that succeed when it is installed (e.g. `-v`).
///
/// When it cannot: under CI (the `CI` variable is set) the test fails,
/// since CI installs it; elsewhere a loud `SKIPPED` line is printed and the
/// test should return early.
pub(crate) fn available(test: &str, program: &str, probe: &[&str], install: &str) -> bool {
    let works = Command::new(program).args(probe).output().is_ok_and(|out| out.status.success());
    if works {
        return true;
    }
    let message = format!("`{program} {}` failed; install it with: {install}", probe.join(" "));
    assert!(std::env::var_os("CI").is_none(), "{test}: {message}");
    eprintln!("\n*** SKIPPED {test}: {message} ***\n");
    false
}

/// Runs `program` with `args`, then `file`, then `after`, and returns its
/// standard output; panics with its standard error on failure (tests only).
pub(crate) fn run(program: &str, args: &[&str], file: &Path, after: &[&str]) -> String {
    let out = Command::new(program).args(args).arg(file).args(after).output().expect("the program runs");
    assert!(out.status.success(), "{program} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("UTF-8 output")
}
