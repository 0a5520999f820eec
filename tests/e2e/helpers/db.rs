//! A fresh database per test: a temp SQLite file, or (with `TEST_POSTGRES_URL`) a PostgreSQL
//! database cloned from a migrated template and dropped when the test ends.
//!
//! The template is named after a digest of the PostgreSQL migrations, so it is built once per
//! migration set and reused by later runs; cloning it takes milliseconds where migrating takes
//! much longer. With `CI` set, an unreachable PostgreSQL fails the run instead of skipping.

use std::{path::Path, sync::OnceLock};

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Connection, Executor};

pub struct TestDb {
    pub url: String,
    /// (server URL, database name) to drop afterwards, for PostgreSQL.
    drop_on_exit: Option<(String, String)>,
}

static TEMPLATE: OnceLock<String> = OnceLock::new();

fn postgres_server() -> Option<String> {
    std::env::var("TEST_POSTGRES_URL").ok().filter(|u| !u.is_empty())
}

/// `postgres://user@host:port/anything` → the same server with another database.
fn with_database(server: &str, database: &str) -> String {
    let mut url = url::Url::parse(server).expect("TEST_POSTGRES_URL is a URL");
    url.set_path(&format!("/{database}"));
    url.to_string()
}

fn migrations_digest() -> String {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../migrations/postgres");
    let mut files: Vec<_> =
        std::fs::read_dir(&dir).expect("migrations dir").filter_map(Result::ok).map(|e| e.path()).collect();
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.file_name().unwrap_or_default().as_encoded_bytes());
        hasher.update(std::fs::read(&file).expect("migration file"));
    }
    hex::encode(&hasher.finalize()[..6])
}

async fn admin_connection(server: &str) -> AnyConnection {
    sqlx::any::install_default_drivers();
    match AnyConnection::connect(&with_database(server, "postgres")).await {
        Ok(conn) => conn,
        Err(e) if std::env::var_os("CI").is_some() => panic!("CI is set and PostgreSQL is unreachable: {e}"),
        Err(e) => panic!("TEST_POSTGRES_URL is set but PostgreSQL is unreachable: {e}"),
    }
}

/// Builds the template once per process (and once per migration set across processes; an
/// advisory lock keeps two test processes from building it at the same time).
fn ensure_template(server: &str) -> String {
    TEMPLATE
        .get_or_init(|| {
            let server = server.to_owned();
            std::thread::spawn(move || {
                let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
                runtime.block_on(async move {
                    let name = format!("commerce_test_tpl_{}", migrations_digest());
                    let mut admin = admin_connection(&server).await;
                    admin.execute("SELECT pg_advisory_lock(727274)").await.expect("advisory lock");
                    let exists: Option<i64> =
                        sqlx::query_scalar("SELECT 1::BIGINT FROM pg_database WHERE datname = $1")
                            .bind(&name)
                            .fetch_optional(&mut admin)
                            .await
                            .expect("check template");
                    if exists.is_none() {
                        admin
                            .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name}_build WITH (FORCE)")))
                            .await
                            .expect("drop");
                        admin
                            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}_build")))
                            .await
                            .expect("create template");
                        let url = with_database(&server, &format!("{name}_build"));
                        let toml = format!("[database]\nurl = \"{url}\"\nmax_connections = 1\n");
                        let config = commerce_engine::config::load_from_str(&toml).expect("config");
                        let db = commerce_engine::db::Db::connect(&config.database).expect("connect template");
                        db.migrate().await.expect("migrate template");
                        db.close().await;
                        admin
                            .execute(sqlx::AssertSqlSafe(format!("ALTER DATABASE {name}_build RENAME TO {name}")))
                            .await
                            .expect("rename");
                    }
                    admin.execute("SELECT pg_advisory_unlock(727274)").await.expect("unlock");
                    name
                })
            })
            .join()
            .expect("template thread")
        })
        .clone()
}

impl TestDb {
    pub async fn create(dir: &Path) -> Self {
        let Some(server) = postgres_server() else {
            let path = dir.join("test.db");
            return Self { url: format!("sqlite://{}", path.display()), drop_on_exit: None };
        };
        let template = ensure_template(&server);
        let name = format!("commerce_test_{}", ulid::Ulid::new().to_string().to_lowercase());
        let mut admin = admin_connection(&server).await;
        // Cloning needs the template to have no other sessions; retry if one is closing.
        let mut attempt = 0;
        loop {
            match admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name} TEMPLATE {template}"))).await {
                Ok(_) => break,
                Err(e) if attempt < 20 => {
                    attempt += 1;
                    let _ = e;
                    tokio::time::sleep(std::time::Duration::from_millis(50 * attempt)).await;
                }
                Err(e) => panic!("cannot create test database: {e}"),
            }
        }
        let _ = admin.close().await;
        Self { url: with_database(&server, &name), drop_on_exit: Some((server, name)) }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let Some((server, name)) = self.drop_on_exit.take() else { return };
        // Drop runs inside the test's runtime; use a thread with its own to do async work.
        let _ = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("runtime");
            runtime.block_on(async move {
                let mut admin = admin_connection(&server).await;
                let _ =
                    admin.execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))).await;
            });
        })
        .join();
    }
}
