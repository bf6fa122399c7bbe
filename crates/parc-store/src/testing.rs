//! Throw-away databases for tests: a fresh SQLite file, or a fresh PostgreSQL database on the
//! server named by `PARC_TEST_POSTGRES_URL` (default `postgres://postgres@127.0.0.1:5432/postgres`).
//! Both are removed when the [`TestDb`] is dropped. When PostgreSQL is unreachable the caller
//! gets `None` and a loud notice on stderr: the PostgreSQL half of a suite is skipped, never
//! silently passed.

use crate::{Cipher, Store};
use sqlx::{Connection, Executor};
use std::sync::atomic::{AtomicU32, Ordering};

static COUNTER: AtomicU32 = AtomicU32::new(0);

pub fn postgres_admin_url() -> String {
    std::env::var("PARC_TEST_POSTGRES_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".to_owned())
}

/// A database that disappears when dropped.
pub struct TestDb {
    pub url: String,
    pub store: Store,
    cleanup: Cleanup,
}

enum Cleanup {
    File(std::path::PathBuf),
    Postgres { admin_url: String, name: String },
}

fn unique_name() -> String {
    format!(
        "parc_test_{}_{}_{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        crate::secrets::random_token(6).to_lowercase().replace(['-', '_'], "x")
    )
}

impl TestDb {
    pub async fn sqlite() -> TestDb {
        let dir = std::env::temp_dir().join(unique_name());
        std::fs::create_dir_all(&dir).expect("temp dir");
        let url = format!("sqlite://{}", dir.join("parc.sqlite").display());
        let store = Store::open(&url, Cipher::new(Cipher::generate_key())).await.expect("open sqlite test store");
        TestDb { url, store, cleanup: Cleanup::File(dir) }
    }

    /// A fresh PostgreSQL database, or `None` (with a notice) when no server answers.
    pub async fn postgres() -> Option<TestDb> {
        let admin_url = postgres_admin_url();
        let mut admin = match sqlx::PgConnection::connect(&admin_url).await {
            Ok(c) => c,
            Err(e) => {
                eprintln!(
                    "\n*** SKIPPED: PostgreSQL tests: no server at {} ({e}). Set PARC_TEST_POSTGRES_URL. ***\n",
                    crate::redact_url(&admin_url)
                );
                return None;
            }
        };
        let name = unique_name();
        admin.execute(format!("CREATE DATABASE {name}").as_str()).await.expect("create test database");
        let _ = admin.close().await;
        let mut url = url::Url::parse(&admin_url).expect("postgres url");
        url.set_path(&name);
        let url = url.to_string();
        let store = Store::open(&url, Cipher::new(Cipher::generate_key())).await.expect("open postgres test store");
        Some(TestDb { url, store, cleanup: Cleanup::Postgres { admin_url, name } })
    }

    /// SQLite always, PostgreSQL when reachable.
    pub async fn all() -> Vec<TestDb> {
        let mut v = vec![TestDb::sqlite().await];
        v.extend(TestDb::postgres().await);
        v
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        match &self.cleanup {
            Cleanup::File(dir) => {
                let _ = std::fs::remove_dir_all(dir);
            }
            Cleanup::Postgres { admin_url, name } => {
                let (admin_url, name) = (admin_url.clone(), name.clone());
                // Drop cannot await, and the test's own runtime may be the thread we block:
                // a separate thread with its own runtime drops the database, and FORCE ends the
                // pool's connections server-side (closing the pool here could wait forever on
                // tasks of the blocked runtime).
                let _ = std::thread::spawn(move || {
                    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
                    if let Ok(rt) = rt {
                        rt.block_on(async move {
                            if let Ok(mut c) = sqlx::PgConnection::connect(&admin_url).await {
                                let _ =
                                    c.execute(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)").as_str()).await;
                            }
                        });
                    }
                })
                .join();
            }
        }
    }
}
