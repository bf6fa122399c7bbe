//! Parc storage: the only crate that speaks SQL.
//!
//! One repository API over two backends through sqlx's `Any` driver: an embedded SQLite file
//! (the default) or PostgreSQL. Queries are written once with `$N` placeholders, which both
//! dialects accept; the few dialect differences (full-text search, the write lock) live in this
//! crate and nowhere else. Migrations are embedded, one folder per backend with identical names.
//!
//! Reads take a pooled connection ([`Store::read`]); every write happens in one transaction
//! ([`Store::write`]) that also appends the audit trail, so a failed request changes nothing.

pub mod assets;
pub mod audit;
pub mod campaigns;
pub mod checklists;
pub mod documents;
pub mod entities;
pub mod handover;
pub mod helpdesk;
pub mod inventory;
pub mod jobs;
pub mod loans;
pub mod locations;
pub mod mail_settings;
pub mod monitoring;
pub mod secrets;
pub mod settings;
mod sql;
pub mod stock;
pub mod testing;
pub mod users;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::pool::PoolConnection;
use sqlx::{Any, AnyConnection, AnyPool, Connection, Executor, Transaction};
use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, OwnedMutexGuard};

pub use parc_core::ValidationErrors;
pub use secrets::Cipher;
/// A database connection, as repositories take it (readers and transactions deref to it).
pub use sqlx::AnyConnection as Conn;

/// What can go wrong in the store. Handlers never match database errors by hand: they get
/// one of these and the web layer maps it to a status code in one place.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("invalid input: {0}")]
    Validation(#[from] ValidationErrors),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    #[error("migration error: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("secret storage error: {0}")]
    Crypto(String),
    #[error("configuration error: {0}")]
    Config(String),
}

impl StoreError {
    /// Maps unique and foreign-key violations to a conflict with a readable reason.
    pub(crate) fn from_write(err: sqlx::Error, what: &str) -> StoreError {
        if let Some(db) = err.as_database_error() {
            if db.is_unique_violation() {
                return StoreError::Conflict(format!("{what} already exists"));
            }
            if db.is_foreign_key_violation() {
                return StoreError::Conflict(format!("{what} is still referenced or refers to something missing"));
            }
        }
        StoreError::Db(err)
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// The database behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

impl Backend {
    pub fn name(self) -> &'static str {
        match self {
            Backend::Sqlite => "sqlite",
            Backend::Postgres => "postgresql",
        }
    }
}

/// A handle on the database, cheap to clone.
#[derive(Clone)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    /// SQLite takes one writer at a time: writers queue here instead of failing with SQLITE_BUSY
    /// when a deferred transaction tries to upgrade its lock.
    write_lock: Option<Arc<Mutex<()>>>,
    cipher: Cipher,
    url_redacted: String,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store").field("backend", &self.backend).field("url", &self.url_redacted).finish_non_exhaustive()
    }
}

/// Hides a password in a database URL for logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_owned(),
    }
}

impl Store {
    /// Connects (creating the SQLite file if needed) and runs pending migrations.
    pub async fn open(url: &str, cipher: Cipher) -> Result<Store> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::Config(format!(
                "unsupported database URL '{}': use sqlite://PATH or postgres://...",
                redact_url(url)
            )));
        };
        let mut url = url.to_owned();
        if backend == Backend::Sqlite {
            if let Some(path) = sqlite_path(&url) {
                if let Some(dir) = std::path::Path::new(&path).parent() {
                    if !dir.as_os_str().is_empty() {
                        std::fs::create_dir_all(dir)
                            .map_err(|e| StoreError::Config(format!("cannot create {}: {e}", dir.display())))?;
                    }
                }
            }
            if !url.contains("mode=") {
                url.push_str(if url.contains('?') { "&mode=rwc" } else { "?mode=rwc" });
            }
        }
        let options = AnyConnectOptions::from_str(&url)?;
        let pool_options = match backend {
            Backend::Sqlite => {
                AnyPoolOptions::new().max_connections(6).min_connections(1).after_connect(|conn, _meta| {
                    Box::pin(async move {
                        conn.execute(
                            "PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; \
                             PRAGMA synchronous = NORMAL; PRAGMA temp_store = MEMORY; \
                             PRAGMA cache_size = -32000; PRAGMA wal_autocheckpoint = 8000",
                        )
                        .await?;
                        Ok(())
                    })
                })
            }
            Backend::Postgres => AnyPoolOptions::new().max_connections(16).acquire_timeout(Duration::from_secs(10)),
        };
        let pool = pool_options.connect_with(options).await?;
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode = WAL").execute(&pool).await?;
        }
        let store = Store {
            pool,
            backend,
            write_lock: (backend == Backend::Sqlite).then(|| Arc::new(Mutex::new(()))),
            cipher,
            url_redacted: redact_url(&url),
        };
        store.migrate().await?;
        if backend == Backend::Sqlite {
            // Refresh the planner's statistics where they are stale (cheap, recommended at start).
            sqlx::query("PRAGMA optimize").execute(&store.pool).await?;
        }
        Ok(store)
    }

    /// Applies the embedded migrations of this backend.
    pub async fn migrate(&self) -> Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => sqlx::migrate!("./migrations/sqlite"),
            Backend::Postgres => sqlx::migrate!("./migrations/postgres"),
        };
        migrator.run(&self.pool).await?;
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn cipher(&self) -> &Cipher {
        &self.cipher
    }

    /// A connection for reads.
    pub async fn read(&self) -> Result<PoolConnection<Any>> {
        Ok(self.pool.acquire().await?)
    }

    /// A write transaction: commit it, or drop it to roll everything back.
    pub async fn write(&self) -> Result<Tx> {
        let guard = match &self.write_lock {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let tx = match self.backend {
            // Take SQLite's write lock at BEGIN, where the busy timeout applies: a deferred
            // transaction that reads first and then writes gets SQLITE_BUSY at once when the
            // previous writer's rollback (run asynchronously after a dropped Tx) is not done yet.
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx { tx, _guard: guard })
    }

    /// Refreshes the query planner's statistics (after a bulk load; autovacuum and
    /// `PRAGMA optimize` do it over time).
    pub async fn analyze(&self) -> Result<()> {
        let sql = match self.backend {
            Backend::Sqlite => "ANALYZE",
            Backend::Postgres => "VACUUM ANALYZE",
        };
        sqlx::query(sql).execute(&self.pool).await?;
        Ok(())
    }

    /// Answers when the database is reachable (for /healthz).
    pub async fn ping(&self) -> Result<()> {
        let mut c = self.read().await?;
        c.ping().await?;
        Ok(())
    }

    /// A consistent copy of a live SQLite database (`VACUUM INTO`).
    pub async fn backup(&self, dest: &std::path::Path) -> Result<()> {
        if self.backend != Backend::Sqlite {
            return Err(StoreError::Config("parc backup copies SQLite databases; use pg_dump for PostgreSQL".into()));
        }
        if dest.exists() {
            return Err(StoreError::Config(format!("{} already exists", dest.display())));
        }
        let path = dest.to_string_lossy().into_owned();
        sqlx::query("VACUUM INTO $1").bind(path).execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The file path inside a `sqlite://` URL.
pub fn sqlite_path(url: &str) -> Option<String> {
    let rest = url.strip_prefix("sqlite://").or_else(|| url.strip_prefix("sqlite:"))?;
    let path = rest.split('?').next().unwrap_or(rest);
    (!path.is_empty() && path != ":memory:").then(|| path.to_owned())
}

/// A write transaction (holding the SQLite write lock while it lives).
pub struct Tx {
    tx: Transaction<'static, Any>,
    _guard: Option<OwnedMutexGuard<()>>,
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        self.tx.commit().await?;
        Ok(())
    }
}

impl Deref for Tx {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        &self.tx
    }
}

impl DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.tx
    }
}

/// Now, as stored: UTC RFC 3339 with milliseconds, so text order is time order.
pub fn now() -> String {
    fmt_time(chrono::Utc::now())
}

pub fn fmt_time(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()
}

/// Who does a change, for the audit trail.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Option<parc_core::UserId>,
    pub label: String,
    pub request_id: Option<String>,
}

impl Actor {
    /// Changes made by Parc itself (command line, migrations, demo data).
    pub fn system(label: &str) -> Actor {
        Actor { user_id: None, label: label.to_owned(), request_id: None }
    }
}
