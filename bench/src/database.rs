//! Which database the engine under test runs on, and the PostgreSQL databases the bench creates
//! for it.
//!
//! On PostgreSQL every engine gets a database of its own, named `commerce_bench_<pid>_<n>`, so a
//! run never reads another run's data and never touches a database it did not create. It is
//! dropped when the engine has stopped; a bench killed midway leaves it behind, and the prefix
//! says what it is.

use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{Context, bail};
use sqlx::{AnyConnection, Connection as _, Executor as _};

/// `--database`: `sqlite`, or the URL of a PostgreSQL server.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Database {
    /// A fresh SQLite file in the engine's temp dir.
    Sqlite,
    /// A server URL such as `postgres://postgres@127.0.0.1:5432/postgres`; the bench connects
    /// to it to create and drop its own databases (so its role needs `CREATEDB`).
    Postgres(String),
}

impl Database {
    /// Parses `--database`.
    pub fn parse(value: &str) -> Result<Self, String> {
        if value == "sqlite" {
            return Ok(Self::Sqlite);
        }
        let url = url::Url::parse(value).map_err(|e| format!("`{value}`: {e}"))?;
        match url.scheme() {
            "postgres" | "postgresql" => Ok(Self::Postgres(value.to_owned())),
            other => Err(format!("`{other}:` is neither `sqlite` nor a postgres:// server URL")),
        }
    }

    /// `SQLite` or `PostgreSQL`, for titles.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Sqlite => "SQLite",
            Self::Postgres(_) => "PostgreSQL",
        }
    }
}

/// A database the bench created on a PostgreSQL server.
pub struct PgDatabase {
    /// The server URL it was created through (`--database`).
    server: String,
    name: String,
    /// The server URL with this database as its path: what the engine connects to.
    url: String,
}

impl PgDatabase {
    /// Creates an empty database on `server`; the engine migrates it when it starts.
    pub async fn create(server: &str) -> anyhow::Result<Self> {
        static NEXT: AtomicU32 = AtomicU32::new(1);
        let name = format!("commerce_bench_{}_{}", std::process::id(), NEXT.fetch_add(1, Ordering::Relaxed));
        let mut url = url::Url::parse(server).context("--database")?;
        url.set_path(&format!("/{name}"));
        let mut admin = connect(server).await?;
        // The name is ours (digits and underscores), never input, so it may go into the text.
        admin
            .execute(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
            .await
            .with_context(|| format!("creating database {name} on {}", redacted(server)))?;
        let _ = admin.close().await;
        Ok(Self { server: server.to_owned(), name, url: url.to_string() })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    /// Drops the database, ending any connection still open to it.
    pub async fn drop_database(self) -> anyhow::Result<()> {
        let mut admin = connect(&self.server).await?;
        admin
            .execute(sqlx::AssertSqlSafe(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name)))
            .await
            .with_context(|| format!("dropping database {} (drop it by hand)", self.name))?;
        let _ = admin.close().await;
        Ok(())
    }
}

async fn connect(server: &str) -> anyhow::Result<AnyConnection> {
    sqlx::any::install_default_drivers();
    match AnyConnection::connect(server).await {
        Ok(conn) => Ok(conn),
        Err(e) => bail!("cannot connect to the PostgreSQL server {}: {e}", redacted(server)),
    }
}

/// The URL without its password, for messages.
fn redacted(server: &str) -> String {
    match url::Url::parse(server) {
        Ok(mut url) if url.password().is_some() => {
            let _ = url.set_password(Some("***"));
            url.to_string()
        }
        _ => server.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sqlite_and_postgres_server_urls_only() {
        assert_eq!(Database::parse("sqlite"), Ok(Database::Sqlite));
        let pg = "postgres://postgres@127.0.0.1:5432/postgres";
        assert_eq!(Database::parse(pg), Ok(Database::Postgres(pg.to_owned())));
        assert!(Database::parse("mysql://x@y/z").is_err());
        assert!(Database::parse("postgres").is_err());
    }

    #[test]
    fn messages_hide_the_password() {
        assert_eq!(redacted("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redacted("postgres://u@h/db"), "postgres://u@h/db");
    }
}
