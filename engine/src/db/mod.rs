//! The database handle: one sqlx `Any` pool over SQLite or PostgreSQL.
//!
//! Queries are written once, in the portable subset both backends accept (`$N` placeholders,
//! `RETURNING`, `ON CONFLICT`, conditional updates), and live in each domain's `store` module.
//! Portable column types: `TEXT`, `BIGINT` (integers, booleans as 0/1, times as Unix ms). The
//! `Any` driver cannot decode PostgreSQL's `BOOLEAN`, `TIMESTAMPTZ`, `UUID`, `JSONB` or
//! `NUMERIC` (and SQLite's declared `BOOLEAN`), so we never use them.

use std::{path::Path, time::Duration};

use anyhow::Context;
use secrecy::ExposeSecret;
use std::sync::Arc;

use sqlx::{Any, AnyConnection, AnyPool, Executor, Transaction, any::AnyPoolOptions, migrate::Migrator};

use crate::config::DatabaseConfig;

pub mod changes;
#[cfg(test)]
mod seam_tests;
#[cfg(test)]
pub(crate) mod testing;

static MIGRATIONS_SQLITE: Migrator = sqlx::migrate!("../migrations/sqlite");
static MIGRATIONS_POSTGRES: Migrator = sqlx::migrate!("../migrations/postgres");

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
    /// SQLite only: one write transaction at a time in this process, queued in FIFO order.
    writer: Option<Arc<tokio::sync::Mutex<()>>>,
    /// Where committed transactions report what they made stale (see [`changes`]).
    feed: Arc<changes::ChangeFeed>,
    /// PostgreSQL only: the URL the change listener connects to, outside the pool.
    listen_url: Option<secrecy::SecretString>,
}

/// A write transaction from [`Db::begin`]. Stores take `&mut Tx` where several domains must
/// commit together (checkout: stock, order, coupon redemptions, idempotency record and mail all
/// or nothing); the service that called `begin` owns it, commits it, and lets it drop (rolling
/// back) on any error. An `impl Executor` store function takes it as `&mut *tx` (owned `Tx`) or
/// `&mut **tx` (a `&mut Tx` parameter).
///
/// On SQLite it also holds this process's writer slot (see [`Db::begin`]) until it commits,
/// rolls back or drops. It dereferences to the connection, as sqlx's `Transaction` does.
pub struct Tx {
    inner: Transaction<'static, Any>,
    _writer: Option<tokio::sync::OwnedMutexGuard<()>>,
    /// Cached reads this transaction makes stale, reported at commit (see [`changes`]).
    stale: changes::Stale,
    feed: Arc<changes::ChangeFeed>,
    backend: Backend,
}

impl Tx {
    /// Names a cached read this transaction makes stale. At commit the key goes to every
    /// instance (`NOTIFY` on PostgreSQL, delivered only if the transaction commits) and to this
    /// instance's caches at once; a rolled-back transaction reports nothing.
    pub fn mark_stale(&mut self, key: impl Into<String>) {
        self.stale.mark(key);
    }

    pub async fn commit(mut self) -> Result<(), sqlx::Error> {
        let stale = std::mem::take(&mut self.stale);
        if !stale.is_empty() && self.backend == Backend::Postgres {
            sqlx::query("SELECT pg_notify($1, $2)")
                .bind(changes::CHANNEL)
                .bind(stale.payload(self.feed.origin()))
                .execute(&mut *self.inner)
                .await?;
        }
        self.inner.commit().await?;
        self.feed.deliver(&stale);
        Ok(())
    }

    pub async fn rollback(self) -> Result<(), sqlx::Error> {
        self.inner.rollback().await
    }
}

impl std::ops::Deref for Tx {
    type Target = AnyConnection;

    fn deref(&self) -> &AnyConnection {
        &self.inner
    }
}

impl std::ops::DerefMut for Tx {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        &mut self.inner
    }
}

/// See [`Db::autocommit`]: the pool to run one write on, with SQLite's writer slot held.
pub struct Autocommit<'a> {
    pool: &'a AnyPool,
    _slot: Option<tokio::sync::OwnedMutexGuard<()>>,
}

impl Autocommit<'_> {
    pub fn pool(&self) -> &AnyPool {
        self.pool
    }
}

impl Db {
    /// Opens the pool lazily, so an instance can start (and answer `/ready` with 503) while
    /// PostgreSQL is still down. SQLite files and their directory are created on first use.
    pub fn connect(config: &DatabaseConfig) -> anyhow::Result<Self> {
        sqlx::any::install_default_drivers();
        let raw = config.url.expose_secret();
        let (backend, url) = if let Some(path) = raw.strip_prefix("sqlite://").or_else(|| raw.strip_prefix("sqlite:")) {
            let path = path.split('?').next().unwrap_or(path);
            if let Some(dir) = Path::new(path).parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)
                    .with_context(|| format!("cannot create database directory {}", dir.display()))?;
            }
            (Backend::Sqlite, format!("sqlite://{path}?mode=rwc"))
        } else {
            (Backend::Postgres, raw.to_owned())
        };
        let options = AnyPoolOptions::new()
            .max_connections(config.max_connections)
            .acquire_timeout(config.acquire_timeout)
            // No liveness ping on every checkout: it is a full round trip per query (~15 % of
            // the CPU of a product list). A dead connection fails its query instead, which maps
            // to 503 `unavailable`; idle and aged connections are recycled by the pool.
            .test_before_acquire(false)
            .idle_timeout(Some(std::time::Duration::from_secs(300)))
            .max_lifetime(Some(std::time::Duration::from_secs(1800)))
            .after_connect(move |conn, _meta| {
                Box::pin(async move {
                    if backend == Backend::Sqlite {
                        // WAL lets readers run beside the writer; busy_timeout makes writers
                        // queue instead of failing; foreign keys are off by default in SQLite.
                        conn.execute("PRAGMA journal_mode = WAL").await?;
                        conn.execute("PRAGMA busy_timeout = 5000").await?;
                        conn.execute("PRAGMA foreign_keys = ON").await?;
                        conn.execute("PRAGMA synchronous = NORMAL").await?;
                        // No `mmap_size`: every checkpoint grows the file and every connection
                        // then remaps it (munmap, TLB shootdowns on every CPU); measured on the
                        // cart bench, 2,790 req/s without the map against 2,400 with 256 MiB.
                    }
                    Ok(())
                })
            });
        let pool = options.connect_lazy(&url).context("invalid database.url")?;
        let writer = (backend == Backend::Sqlite).then(|| Arc::new(tokio::sync::Mutex::new(())));
        let feed = changes::ChangeFeed::new(backend == Backend::Sqlite);
        let listen_url = (backend == Backend::Postgres).then(|| config.url.clone());
        Ok(Self { pool, backend, writer, feed, listen_url })
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Where committed writes report what they made stale (see [`changes`]).
    pub fn changes(&self) -> &Arc<changes::ChangeFeed> {
        &self.feed
    }

    /// Starts listening for other instances' changes (PostgreSQL; nothing to do on SQLite) until
    /// `stop`. Until the listener has subscribed, [`changes::ChangeFeed::live`] is false.
    pub fn listen_for_changes(&self, stop: tokio_util::sync::CancellationToken) -> Option<tokio::task::JoinHandle<()>> {
        let url = self.listen_url.clone()?;
        Some(tokio::spawn(changes::listen(url, self.feed.clone(), stop)))
    }

    /// Starts a transaction that will write. On SQLite it takes the write lock up front
    /// (`BEGIN IMMEDIATE`): a deferred transaction that reads and then writes fails with
    /// SQLITE_BUSY under concurrency instead of waiting its turn.
    ///
    /// No plugin call, payment gateway call or other outbound request ever runs while a `Tx`
    /// is open. On SQLite this transaction holds the database's only write lock, so every other
    /// writer of every instance waits for it (and fails after `busy_timeout`); on PostgreSQL it
    /// holds row locks and a pooled connection. Price first, then open the transaction, write,
    /// commit, and only then call out (checkout asks the payment provider after its commit).
    ///
    /// SQLite writers of this process also queue on an in-process lock first. Without it, a
    /// writer that finds the database locked sleeps in SQLite's busy handler (1, 2, 5 … 100 ms
    /// steps) while the lock may already be free: under 32 concurrent cart writes that left the
    /// lock idle most of the time (p99 0.6 s, max 2.8 s in the cart bench). Queued in FIFO order
    /// on a tokio mutex, the next writer starts the moment the last one commits; `busy_timeout`
    /// still covers writers in other processes (`engine` CLI commands) and single statements run
    /// outside a transaction.
    pub async fn begin(&self) -> Result<Tx, sqlx::Error> {
        let writer = match &self.writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        let inner = match self.backend {
            Backend::Sqlite => self.pool.begin_with("BEGIN IMMEDIATE").await?,
            Backend::Postgres => self.pool.begin().await?,
        };
        Ok(Tx {
            inner,
            _writer: writer,
            stale: changes::Stale::default(),
            feed: self.feed.clone(),
            backend: self.backend,
        })
    }

    /// A single-statement write without a transaction: one round trip instead of `BEGIN`,
    /// statement, `COMMIT`. On SQLite it first takes this process's writer slot, as [`Db::begin`]
    /// does, so it queues behind open write transactions instead of sleeping in SQLite's busy
    /// handler; the statement then runs in autocommit on the pool. Only for a write that is
    /// complete and atomic on its own (a conditional update, an upsert).
    pub async fn autocommit(&self) -> Autocommit<'_> {
        let slot = match &self.writer {
            Some(lock) => Some(lock.clone().lock_owned().await),
            None => None,
        };
        Autocommit { pool: &self.pool, _slot: slot }
    }

    pub async fn migrate(&self) -> anyhow::Result<()> {
        let migrator = match self.backend {
            Backend::Sqlite => &MIGRATIONS_SQLITE,
            Backend::Postgres => &MIGRATIONS_POSTGRES,
        };
        migrator.run(&self.pool).await.context("running database migrations")?;
        Ok(())
    }

    /// A round trip to the database, bounded so `/ready` answers quickly when it is down.
    pub async fn ping(&self) -> Result<(), sqlx::Error> {
        let probe = sqlx::query_scalar::<_, i64>("SELECT 1").fetch_one(&self.pool);
        match tokio::time::timeout(Duration::from_secs(2), probe).await {
            Ok(result) => result.map(|_| ()),
            Err(_) => Err(sqlx::Error::PoolTimedOut),
        }
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// A stored text that names none of the values its column may hold (a corrupted row, or one
/// written by a newer engine). Used as the `TryFrom<String>` error of row fields declared with
/// `#[sqlx(try_from = "String")]`, so the fetch fails with `sqlx::Error::ColumnDecode` naming
/// the column instead of the row decoding to a silent default.
#[derive(Debug, thiserror::Error)]
#[error("unknown {what} `{value}` in a stored row")]
pub struct UnknownValue {
    pub what: &'static str,
    pub value: String,
}

/// A JSON text column decoded into `T` (`#[sqlx(try_from = "String")] images: JsonText<Vec<Image>>`):
/// malformed JSON fails the fetch like any other decode error. `sqlx::types::Json` does not go
/// through the `Any` driver (FACTS.md), so the column is TEXT and this does the parsing.
#[derive(Debug, Clone, PartialEq)]
pub struct JsonText<T>(pub T);

impl<T: serde::de::DeserializeOwned> TryFrom<String> for JsonText<T> {
    type Error = serde_json::Error;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        serde_json::from_str(&text).map(JsonText)
    }
}

/// Whether a database error means "the database is not there right now" (→ 503 `unavailable`)
/// rather than a bug.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::Tls(_) => true,
        sqlx::Error::WorkerCrashed => true,
        // SQLITE_BUSY / SQLITE_LOCKED after the busy timeout: overloaded, try again.
        sqlx::Error::Database(db) => {
            matches!(db.code().as_deref(), Some("5" | "6" | "517" | "57P01" | "57P03" | "53300"))
        }
        _ => false,
    }
}

/// The constraint or message of a unique violation, if `error` is one. PostgreSQL names the
/// constraint; SQLite only says `UNIQUE constraint failed: table.column` in the message.
pub fn unique_violation(error: &sqlx::Error) -> Option<String> {
    match error {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            Some(db.constraint().map(str::to_owned).unwrap_or_else(|| db.message().to_owned()))
        }
        _ => None,
    }
}
