//! A migrated database for unit tests that need SQL (the transaction seam across domains):
//! a temp SQLite file, or, when `TEST_POSTGRES_URL` is set, a fresh PostgreSQL database on that
//! server, dropped afterwards. The e2e suite has the full helper (`tests/e2e/helpers/db.rs`,
//! with a cloned template and `TEST_DATABASE`); this one is small on purpose.

use sqlx::{AnyConnection, Connection, Executor};

use super::Db;

pub(crate) struct TestDb {
    pub db: Db,
    /// (server URL, database name) of a PostgreSQL database to drop.
    drop_on_exit: Option<(String, String)>,
    _dir: tempfile::TempDir,
}

fn with_database(server: &str, database: &str) -> String {
    let mut url = url::Url::parse(server).expect("TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

async fn admin(server: &str) -> AnyConnection {
    sqlx::any::install_default_drivers();
    AnyConnection::connect(&with_database(server, "postgres")).await.expect("reach TEST_POSTGRES_URL")
}

impl TestDb {
    pub(crate) async fn migrated() -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = std::env::var("TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty());
        let (url, drop_on_exit) = match server {
            None => (format!("sqlite://{}", dir.path().join("unit.db").display()), None),
            Some(server) => {
                let name = format!("commerce_unit_{}", ulid::Ulid::new().to_string().to_lowercase());
                let mut conn = admin(&server).await;
                conn.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create database");
                let _ = conn.close().await;
                (with_database(&server, &name), Some((server, name)))
            }
        };
        let config = crate::config::load_from_str(&format!("[database]\nurl = \"{url}\"\nmax_connections = 4\n"))
            .expect("test config");
        let db = Db::connect(&config.database).expect("connect");
        db.migrate().await.expect("migrate");
        Self { db, drop_on_exit, _dir: dir }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((server, name)) = self.drop_on_exit.take() else { return };
        // Drop runs inside the test's runtime; a thread with its own runtime does the async work.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let mut conn = admin(&server).await;
                let _ = conn.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await;
            });
        })
        .join();
    }
}
