//! The GLPI `deviceid` (`<hostname>-YYYY-MM-DD-HH-MM-SS`), generated once and kept in `<state_dir>/deviceid`.
use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

const FILE: &str = "deviceid";

/// Does `id` look like `<hostname>-YYYY-MM-DD-HH-MM-SS` for this hostname?
pub(crate) fn is_valid_for(id: &str, hostname: &str) -> bool {
    let Some(stamp) = id.strip_prefix(hostname).and_then(|rest| rest.strip_prefix('-')) else { return false };
    let parts: Vec<&str> = stamp.split('-').collect();
    parts.len() == 6
        && parts.iter().enumerate().all(|(i, p)| {
            let len = if i == 0 { 4 } else { 2 };
            p.len() == len && p.chars().all(|c| c.is_ascii_digit())
        })
}

/// A new identifier for `hostname`, stamped with the local time.
pub(crate) fn generate(hostname: &str) -> String {
    format!("{hostname}-{}", chrono::Local::now().format("%Y-%m-%d-%H-%M-%S"))
}

/// The persisted identifier, or a new one written to the state file. As glpi-agent does, a stored identifier
/// made for another hostname (the machine was renamed) is replaced.
pub(crate) fn load_or_create(state_dir: &Path, hostname: &str) -> Result<String> {
    let path = state_dir.join(FILE);
    match fs::read_to_string(&path) {
        Ok(stored) if is_valid_for(stored.trim(), hostname) => return Ok(stored.trim().to_owned()),
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    }
    let id = generate(hostname);
    fs::create_dir_all(state_dir).with_context(|| format!("creating the state directory {}", state_dir.display()))?;
    let tmp = state_dir.join(format!("{FILE}.tmp"));
    fs::write(&tmp, format!("{id}\n")).with_context(|| format!("writing {}", tmp.display()))?;
    fs::rename(&tmp, &path).with_context(|| format!("writing {}", path.display()))?;
    Ok(id)
}

/// Can we create files in `dir` (creating it if needed)?
fn writable(dir: &Path) -> bool {
    if fs::create_dir_all(dir).is_err() {
        return false;
    }
    let probe = dir.join(format!(".probe-{}", std::process::id()));
    let ok = fs::write(&probe, b"").is_ok();
    let _ = fs::remove_file(&probe);
    ok
}

fn env_dir(var: &str) -> Option<PathBuf> {
    std::env::var_os(var).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// The state directory used when none is given: the system one when writable (`/var/lib/parc-agent`;
/// `%ProgramData%\parc-agent` on Windows), else the user's (`$XDG_STATE_HOME/parc-agent`,
/// `~/.local/state/parc-agent`; `%LOCALAPPDATA%\parc-agent` on Windows), else `parc-agent` in the temp dir.
pub fn default_state_dir() -> PathBuf {
    let system = if cfg!(windows) {
        env_dir("ProgramData").map(|d| d.join("parc-agent"))
    } else {
        Some(PathBuf::from("/var/lib/parc-agent"))
    };
    if let Some(dir) = system.filter(|d| writable(d)) {
        return dir;
    }
    let user = if cfg!(windows) {
        env_dir("LOCALAPPDATA")
    } else {
        env_dir("XDG_STATE_HOME").or_else(|| env_dir("HOME").map(|h| h.join(".local").join("state")))
    };
    match user {
        Some(d) => d.join("parc-agent"),
        None => std::env::temp_dir().join("parc-agent"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validity() {
        assert!(is_valid_for("pc-01-2025-04-20-08-15-00", "pc-01"));
        assert!(!is_valid_for("pc-02-2025-04-20-08-15-00", "pc-01"), "other hostname");
        assert!(!is_valid_for("pc-01-2025-04-20-08-15", "pc-01"), "too short");
        assert!(!is_valid_for("pc-01-25-04-20-08-15-00", "pc-01"));
        assert!(!is_valid_for("pc-01-2025-04-20-08-15-0x", "pc-01"));
        assert!(is_valid_for(&generate("host.example"), "host.example"));
    }

    #[test]
    fn persisted_and_renewed_on_rename() {
        let dir = tempfile::tempdir().unwrap();
        let state = dir.path().join("nested").join("state");
        let first = load_or_create(&state, "alpha").unwrap();
        assert!(is_valid_for(&first, "alpha"));
        std::thread::sleep(std::time::Duration::from_millis(1100));
        assert_eq!(load_or_create(&state, "alpha").unwrap(), first);
        let renamed = load_or_create(&state, "beta").unwrap();
        assert!(renamed.starts_with("beta-"));
        assert_eq!(fs::read_to_string(state.join(FILE)).unwrap().trim(), renamed);
    }
}
