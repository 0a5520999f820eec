//! A fresh database per test: a temp SQLite file, or (with `TEST_POSTGRES_URL`) a PostgreSQL
//! database cloned from a migrated template and dropped when the test ends.
//!
//! The template is named after a digest of the PostgreSQL migrations, so it is built once per
//! migration set and reused by later runs; cloning it takes milliseconds where migrating takes
//! much longer.
//!
//! Which backend: `TEST_DATABASE=sqlite|postgres` says so explicitly (`cargo xtask test` and
//! `.ci/run` set it). With `CI` set it is required, so a CI run states which backend it is and a
//! forgotten, empty or unreachable `TEST_POSTGRES_URL` fails the run instead of quietly testing
//! SQLite. Without `CI` and without `TEST_DATABASE`, a non-empty `TEST_POSTGRES_URL` means
//! PostgreSQL. A set but empty `TEST_POSTGRES_URL` is always an error.

use std::{path::Path, sync::OnceLock};

use sha2::{Digest, Sha256};
use sqlx::{AnyConnection, Connection, Executor};

pub struct TestDb {
    pub url: String,
    /// (server URL, database name) to drop afterwards, for PostgreSQL.
    drop_on_exit: Option<(String, String)>,
}

static TEMPLATE: OnceLock<String> = OnceLock::new();

/// The backend the suite runs on, as the environment asks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TestBackend {
    Sqlite,
    /// The server URL (`TEST_POSTGRES_URL`).
    Postgres(String),
}

impl TestBackend {
    /// The name `Db::backend()` reports for it.
    pub fn backend(&self) -> commerce_engine::db::Backend {
        match self {
            Self::Sqlite => commerce_engine::db::Backend::Sqlite,
            Self::Postgres(_) => commerce_engine::db::Backend::Postgres,
        }
    }
}

/// Decides the backend from `TEST_DATABASE`, `TEST_POSTGRES_URL` and whether `CI` is set; an
/// `Err` says what is wrong and fails the test that asked.
pub fn choose_backend(
    test_database: Option<&str>,
    postgres_url: Option<&str>,
    ci: bool,
) -> Result<TestBackend, String> {
    let url = match postgres_url {
        Some("") => return Err("TEST_POSTGRES_URL is set but empty; unset it or give the server's URL".into()),
        url => url,
    };
    match (test_database, url) {
        (Some("sqlite"), _) => Ok(TestBackend::Sqlite),
        (Some("postgres"), Some(url)) => Ok(TestBackend::Postgres(url.to_owned())),
        (Some("postgres"), None) => Err("TEST_DATABASE=postgres needs TEST_POSTGRES_URL".into()),
        (Some(other), _) => Err(format!("TEST_DATABASE={other:?}: expected `sqlite` or `postgres`")),
        (None, _) if ci => Err("CI is set: TEST_DATABASE=sqlite|postgres must say which backend this run tests".into()),
        (None, Some(url)) => Ok(TestBackend::Postgres(url.to_owned())),
        (None, None) => Ok(TestBackend::Sqlite),
    }
}

/// The backend of this run (read once; a bad environment fails every test that needs a database).
pub fn test_backend() -> TestBackend {
    static CHOSEN: OnceLock<Result<TestBackend, String>> = OnceLock::new();
    let chosen = CHOSEN.get_or_init(|| {
        let var = |name: &str| std::env::var(name).ok();
        let ci = std::env::var_os("CI").is_some_and(|v| !v.is_empty());
        choose_backend(var("TEST_DATABASE").as_deref(), var("TEST_POSTGRES_URL").as_deref(), ci)
    });
    chosen.clone().unwrap_or_else(|problem| panic!("{problem}"))
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
        // Never a fallback to SQLite: a PostgreSQL run that cannot reach its server fails.
        Err(e) => panic!("the PostgreSQL run cannot reach TEST_POSTGRES_URL: {e}"),
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
        let TestBackend::Postgres(server) = test_backend() else {
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

impl TestDb {
    /// A database with nothing in it, not even migrations (for `engine migrate` and `seed`
    /// run as processes): a SQLite file not yet created, or a new, empty PostgreSQL database.
    pub async fn create_empty(dir: &Path) -> Self {
        let TestBackend::Postgres(server) = test_backend() else {
            let path = dir.join(format!("empty-{}.db", ulid::Ulid::new()));
            return Self { url: format!("sqlite://{}", path.display()), drop_on_exit: None };
        };
        let name = format!("commerce_test_{}", ulid::Ulid::new().to_string().to_lowercase());
        let mut admin = admin_connection(&server).await;
        admin.execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).await.expect("create empty database");
        let _ = admin.close().await;
        Self { url: with_database(&server, &name), drop_on_exit: Some((server, name)) }
    }

    pub fn is_postgres(&self) -> bool {
        self.drop_on_exit.is_some()
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

#[cfg(test)]
mod tests {
    use super::{TestBackend, choose_backend};

    const URL: &str = "postgres://postgres@127.0.0.1:5432/postgres";

    /// Guards item 14 of issue 8: an empty or missing URL for a PostgreSQL run used to mean
    /// "SQLite", so a CI run meant for PostgreSQL could pass without touching it.
    #[test]
    fn a_postgres_run_never_falls_back_to_sqlite() {
        assert!(choose_backend(Some("postgres"), None, true).is_err());
        assert!(choose_backend(Some("postgres"), Some(""), true).is_err());
        assert!(choose_backend(Some("postgres"), Some(""), false).is_err());
        assert!(choose_backend(None, Some(""), false).is_err(), "set but empty is a mistake, not SQLite");
        assert_eq!(choose_backend(Some("postgres"), Some(URL), true), Ok(TestBackend::Postgres(URL.into())));
    }

    #[test]
    fn with_ci_set_the_run_must_name_its_backend() {
        assert!(choose_backend(None, None, true).is_err());
        assert!(choose_backend(None, Some(URL), true).is_err());
        assert!(choose_backend(Some("mysql"), None, true).is_err());
        assert_eq!(choose_backend(Some("sqlite"), None, true), Ok(TestBackend::Sqlite));
        // Locally the URL alone still selects PostgreSQL, as the README shows.
        assert_eq!(choose_backend(None, Some(URL), false), Ok(TestBackend::Postgres(URL.into())));
        assert_eq!(choose_backend(None, None, false), Ok(TestBackend::Sqlite));
    }
}
