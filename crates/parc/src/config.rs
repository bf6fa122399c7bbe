//! Configuration: defaults, then a TOML file (`--config`), then `PARC_*` environment variables
//! (and `PARC_*_FILE` for secrets), then command-line flags. Invalid values fail at start.

use anyhow::{bail, Context, Result};
use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Where the SQLite database and the secret key live.
    pub data_dir: PathBuf,
    /// Address and port to listen on.
    pub listen: String,
    /// `sqlite://PATH` or `postgres://user:pass@host/db`; empty: SQLite in data_dir.
    pub database_url: String,
    /// Key encrypting secrets at rest (base64 of 32 bytes). Empty: `secret_key_file`, or
    /// `<data_dir>/secret.key` created on first start. Several nodes must share the same key.
    pub secret_key: String,
    pub secret_key_file: String,
    /// Password of the `admin` account created at first start; empty: a random one is printed.
    pub admin_password: String,
    /// Set when Parc is reached over HTTPS (directly or behind a proxy): cookies get `Secure`.
    pub secure_cookies: bool,
    pub session_hours: i64,
    pub max_body_mb: usize,
    /// `text` or `json`.
    pub log_format: String,
    /// A tracing filter, e.g. `info` or `parc_web=debug,info`.
    pub log: String,
    /// Run the monitoring checks on this node (several nodes share them through leases).
    pub monitoring: bool,
    /// Most plugin processes and native checks running at once on this node.
    pub monitoring_concurrency: usize,
    /// `$USER1$` of plugin command lines: where the Nagios plugins are.
    pub plugin_dir: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./parc-data"),
            listen: "127.0.0.1:8080".into(),
            database_url: String::new(),
            secret_key: String::new(),
            secret_key_file: String::new(),
            admin_password: String::new(),
            secure_cookies: false,
            session_hours: 12,
            max_body_mb: 25,
            log_format: "text".into(),
            log: "info".into(),
            monitoring: true,
            monitoring_concurrency: 512,
            plugin_dir: "/usr/lib/nagios/plugins".into(),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let redact = |s: &str| if s.is_empty() { "" } else { "***" };
        f.debug_struct("Config")
            .field("data_dir", &self.data_dir)
            .field("listen", &self.listen)
            .field("database_url", &parc_store::redact_url(&self.database_url))
            .field("secret_key", &redact(&self.secret_key))
            .field("secret_key_file", &self.secret_key_file)
            .field("admin_password", &redact(&self.admin_password))
            .field("secure_cookies", &self.secure_cookies)
            .field("session_hours", &self.session_hours)
            .field("max_body_mb", &self.max_body_mb)
            .field("log_format", &self.log_format)
            .field("log", &self.log)
            .field("monitoring", &self.monitoring)
            .field("monitoring_concurrency", &self.monitoring_concurrency)
            .field("plugin_dir", &self.plugin_dir)
            .finish()
    }
}

const KEYS: &[&str] = &[
    "data_dir",
    "listen",
    "database_url",
    "secret_key",
    "secret_key_file",
    "admin_password",
    "secure_cookies",
    "session_hours",
    "max_body_mb",
    "log_format",
    "log",
    "monitoring",
    "monitoring_concurrency",
    "plugin_dir",
];
/// Secrets that may also come from a file named by `PARC_<KEY>_FILE`.
const SECRET_KEYS: &[&str] = &["database_url", "secret_key", "admin_password"];

/// Flags given on the command line (they win over everything else).
#[derive(Default, Serialize)]
pub struct Overrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub listen: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub database_url: Option<String>,
}

impl Config {
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config> {
        let mut fig = Figment::from(Serialized::defaults(Config::default()));
        if let Some(f) = file {
            if !f.exists() {
                bail!("configuration file {} not found", f.display());
            }
            fig = fig.merge(Toml::file(f));
        }
        fig = fig.merge(Env::prefixed("PARC_").only(KEYS));
        let mut cfg: Config = fig.merge(Serialized::defaults(overrides)).extract().context("invalid configuration")?;
        for key in SECRET_KEYS {
            let var = format!("PARC_{}_FILE", key.to_uppercase());
            if let Ok(path) = std::env::var(&var) {
                let value = std::fs::read_to_string(&path).with_context(|| format!("{var}: cannot read {path}"))?;
                let value = value.trim().to_owned();
                match *key {
                    "database_url" => cfg.database_url = value,
                    "secret_key" => cfg.secret_key = value,
                    _ => cfg.admin_password = value,
                }
            }
        }
        cfg.validate()?;
        Ok(cfg)
    }

    fn validate(&self) -> Result<()> {
        if self.listen.parse::<std::net::SocketAddr>().is_err() {
            bail!("listen: '{}' is not an address:port such as 127.0.0.1:8080", self.listen);
        }
        if !matches!(self.log_format.as_str(), "text" | "json") {
            bail!("log_format must be text or json");
        }
        if !(1..=24 * 30).contains(&self.session_hours) {
            bail!("session_hours must be between 1 and 720");
        }
        if !(1..=1024).contains(&self.max_body_mb) {
            bail!("max_body_mb must be between 1 and 1024");
        }
        if !(1..=10_000).contains(&self.monitoring_concurrency) {
            bail!("monitoring_concurrency must be between 1 and 10000");
        }
        if !self.plugin_dir.starts_with('/') {
            bail!("plugin_dir must be an absolute path such as /usr/lib/nagios/plugins");
        }
        if !self.database_url.is_empty()
            && !["sqlite:", "postgres://", "postgresql://"].iter().any(|p| self.database_url.starts_with(p))
        {
            bail!("database_url must start with sqlite:// or postgres://");
        }
        Ok(())
    }

    /// Unknown `PARC_*` variables are probably typos: say so.
    pub fn warn_unknown_env() {
        for (k, _) in std::env::vars() {
            let Some(rest) = k.strip_prefix("PARC_") else { continue };
            let key = rest.to_lowercase();
            let known = KEYS.contains(&key.as_str())
                || key.strip_suffix("_file").is_some_and(|k| SECRET_KEYS.contains(&k))
                || key.starts_with("test_");
            if !known {
                tracing::warn!(variable = %k, "unknown PARC_* environment variable ignored");
            }
        }
    }

    pub fn database_url(&self) -> String {
        if self.database_url.is_empty() {
            format!("sqlite://{}", self.data_dir.join("parc.sqlite").display())
        } else {
            self.database_url.clone()
        }
    }

    /// The secret key: configured, from a file, or created in the data directory.
    pub fn secret_key(&self) -> Result<[u8; 32]> {
        if !self.secret_key.is_empty() {
            return Ok(parc_store::Cipher::parse_key(&self.secret_key)?);
        }
        let path = if self.secret_key_file.is_empty() {
            self.data_dir.join("secret.key")
        } else {
            PathBuf::from(&self.secret_key_file)
        };
        if path.exists() {
            let text = std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
            return Ok(parc_store::Cipher::parse_key(&text)?);
        }
        if !self.database_url.is_empty() && !self.database_url.starts_with("sqlite:") {
            tracing::warn!(path = %path.display(), "creating a new secret key: every node on this PostgreSQL database must use the same one");
        }
        let key = parc_store::Cipher::generate_key();
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        }
        write_private(&path, &parc_store::Cipher::key_to_text(&key))?;
        Ok(key)
    }
}

#[cfg(unix)]
fn write_private(path: &Path, text: &str) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .with_context(|| format!("creating {}", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("creating {}", path.display()))
}

pub const EXAMPLE: &str = r#"# Parc configuration. Every key is optional; PARC_<KEY> environment variables override
# this file (PARC_DATA_DIR, PARC_LISTEN, ...), and command-line flags override both.
# Secrets can also be read from files: PARC_DATABASE_URL_FILE, PARC_SECRET_KEY_FILE,
# PARC_ADMIN_PASSWORD_FILE.

# Where the SQLite database and the secret key are kept.
data_dir = "./parc-data"

# Address and port to listen on. Use 0.0.0.0:8080 to accept other machines.
listen = "127.0.0.1:8080"

# Empty: an SQLite file in data_dir. For several Parc nodes, one PostgreSQL:
# database_url = "postgres://parc:secret@db.example/parc"
database_url = ""

# Key that encrypts secrets (PUK codes) at rest: base64 of 32 random bytes
# (e.g. `head -c32 /dev/urandom | base64`). Empty: read secret_key_file, or create
# data_dir/secret.key on first start. Every node of one database needs the same key,
# and a backup is useless without it.
secret_key = ""
secret_key_file = ""

# Password of the `admin` account created on first start. Empty: a random one is printed once.
admin_password = ""

# Set to true when users reach Parc over HTTPS (cookies are then marked Secure).
secure_cookies = false

# How long a sign-in lasts, in hours.
session_hours = 12

# Largest accepted request body (uploads), in MiB.
max_body_mb = 25

# Logs: "text" or "json", and a tracing filter.
log_format = "text"
log = "info"

# Monitoring: whether this node runs checks (with several nodes on one PostgreSQL each check
# runs on exactly one of them), how many at once, and where the Nagios plugins are ($USER1$;
# Debian's monitoring-plugins package installs them there).
monitoring = true
monitoring_concurrency = 512
plugin_dir = "/usr/lib/nagios/plugins"
"#;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_parses_to_defaults() {
        let cfg: Config = toml::from_str(EXAMPLE).unwrap();
        assert_eq!(cfg.listen, Config::default().listen);
        assert!(cfg.validate().is_ok());
    }

    #[test]
    fn invalid_values_fail_fast() {
        let c = Config { listen: "nowhere".into(), ..Default::default() };
        assert!(c.validate().is_err());
        let c = Config { database_url: "mysql://x".into(), ..Default::default() };
        assert!(c.validate().is_err());
    }

    #[test]
    fn file_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("parc.toml");
        std::fs::write(&file, "listen = \"127.0.0.1:9999\"\ndata_dir = \"/from/file\"\nsession_hours = 8\n").unwrap();
        let flags = Overrides { data_dir: Some("/from/flag".into()), ..Default::default() };
        let cfg = Config::load(Some(&file), &flags).unwrap();
        assert_eq!(cfg.listen, "127.0.0.1:9999", "the file overrides the default");
        assert_eq!(cfg.session_hours, 8);
        assert_eq!(cfg.data_dir, PathBuf::from("/from/flag"), "a flag overrides the file");
        assert_eq!(cfg.database_url(), "sqlite:///from/flag/parc.sqlite");
        std::fs::write(&file, "colour = \"red\"\n").unwrap();
        assert!(Config::load(Some(&file), &Overrides::default()).is_err(), "unknown keys fail fast");
        assert!(Config::load(Some(&dir.path().join("missing.toml")), &Overrides::default()).is_err());
    }

    #[test]
    fn debug_redacts_secrets() {
        let c = Config {
            admin_password: "hunter2hunter2".into(),
            database_url: "postgres://u:pw@h/db".into(),
            ..Default::default()
        };
        let d = format!("{c:?}");
        assert!(!d.contains("hunter2"));
        assert!(!d.contains(":pw@"));
    }
}
