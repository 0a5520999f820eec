//! The engine under test, in a child process.
//!
//! The child is this very binary run as `bench engine --config FILE`: it links the engine
//! library, so `cargo run -p bench` needs no separately built `engine` binary, yet the server
//! gets its own process and its own tokio runtime, built exactly as `engine serve` builds it.
//! The child prints `port=N` on stdout once it listens, and shuts down gracefully when its
//! stdin closes — which also happens if the benchmark dies, so no server is ever left behind.
//!
//! What a suite needs beyond the defaults goes in a [`Setup`]: the database (a SQLite file in
//! the temp dir, or a database of its own on a PostgreSQL server, created here and dropped once
//! the engine has stopped), configuration overrides, and generated products to seed before the
//! engine listens. [`Engine::start_beside`] starts a second engine, configured differently, on a
//! running engine's database, e.g. to measure the same data with and without a cache.

use std::{io::Write as _, path::Path, process::Stdio, time::Duration};

use anyhow::{Context, bail, ensure};
use commerce_engine::{AppState, Application, config, telemetry};
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::{Child, ChildStdin, ChildStdout, Command},
};

use crate::database::{Database, PgDatabase};

/// Prefix of the line announcing the listening port.
const PORT_LINE: &str = "port=";
/// Migrations on a fresh database, the dummy hash and seeding a few hundred products take a
/// few seconds; this only bounds a hung start.
const START_TIMEOUT: Duration = Duration::from_secs(120);
/// Added to [`START_TIMEOUT`] per seeded product: seeding goes through the catalog services
/// (2,000 products took about 3 s on the 2-CPU VM), so 100,000 take minutes. Generous: it only
/// bounds a hung seed.
const START_TIMEOUT_PER_PRODUCT: Duration = Duration::from_millis(20);
/// In-flight requests are all finished when we stop, so shutdown is quick.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// What an engine starts with, beyond [`config_toml`]'s defaults.
pub struct Setup<'a> {
    pub database: &'a Database,
    /// Merged over the bench's configuration, table by table (e.g. `[carts] max_line_quantity`).
    pub overrides: toml::Table,
    /// Generated products to create before listening: `engine seed --products N [--stock S]`.
    pub seed: Option<Seed>,
}

impl<'a> Setup<'a> {
    /// The defaults on `database`: no overrides, no products.
    pub fn new(database: &'a Database) -> Self {
        Self { database, overrides: toml::Table::new(), seed: None }
    }
}

/// `engine seed --products N [--stock S]`, run by the engine process on its own database.
#[derive(Clone, Copy, Debug)]
pub struct Seed {
    pub products: u32,
    /// Units of every variant; `None` keeps the generated stock (0–200, about a tenth sold out).
    pub stock: Option<i64>,
}

/// A running engine with a fresh database; stop it with [`Engine::stop`].
pub struct Engine {
    child: Child,
    stdin: Option<ChildStdin>,
    base_url: String,
    /// What the engine connects to, for suites that check what it stored.
    database_url: String,
    /// The PostgreSQL database created for this engine, dropped once it has stopped.
    postgres: Option<PgDatabase>,
    // Holds the SQLite database and mail directory until the engine is gone.
    _dir: tempfile::TempDir,
}

/// A second engine serving a running [`Engine`]'s database; see [`Engine::start_beside`].
/// It borrows the first, so the first (which owns the database) cannot be stopped, and its
/// database dropped, while this one still runs.
pub struct Beside<'a> {
    engine: Engine,
    _owner: std::marker::PhantomData<&'a Engine>,
}

impl Beside<'_> {
    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        self.engine.base_url()
    }

    /// Stops this engine; the database stays, for the engine it runs beside.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.engine.stop().await
    }
}

impl Engine {
    /// Starts an engine on a free port with a fresh database: a SQLite file in a temporary
    /// directory, or a new database on the PostgreSQL server `setup.database` names.
    pub async fn start(setup: Setup<'_>) -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("commerce-bench-").tempdir().context("creating a temp dir")?;
        let postgres = match setup.database {
            Database::Sqlite => None,
            Database::Postgres(server) => Some(PgDatabase::create(server).await?),
        };
        let db_url = match &postgres {
            Some(db) => db.url().to_owned(),
            None => format!("sqlite://{}", dir.path().join("bench.db").display()),
        };
        let started = Self::spawn(dir, &db_url, setup.overrides, setup.seed).await;
        match (started, postgres) {
            (Ok(engine), postgres) => Ok(Self { postgres, ..engine }),
            (Err(error), Some(db)) => {
                // The child is gone (killed on drop), so the database can go too.
                if let Err(drop_error) = db.drop_database().await {
                    eprintln!("warning: {drop_error:#}");
                }
                Err(error)
            }
            (Err(error), None) => Err(error),
        }
    }

    /// Starts a second engine process on this engine's database, with `overrides` over the
    /// bench's configuration and no seeding: the same data, served differently (another cache
    /// setting, say). On SQLite both processes open the one file. Stop it before this one.
    pub async fn start_beside(&self, overrides: toml::Table) -> anyhow::Result<Beside<'_>> {
        // Its own temp dir for its configuration and mail; the database is this engine's.
        let dir = tempfile::Builder::new().prefix("commerce-bench-").tempdir().context("creating a temp dir")?;
        let engine = Self::spawn(dir, &self.database_url, overrides, None).await?;
        Ok(Beside { engine, _owner: std::marker::PhantomData })
    }

    async fn spawn(
        dir: tempfile::TempDir,
        db_url: &str,
        overrides: toml::Table,
        seed: Option<Seed>,
    ) -> anyhow::Result<Self> {
        let config_path = dir.path().join("engine.toml");
        std::fs::write(&config_path, config_toml(dir.path(), db_url, overrides)?)
            .with_context(|| format!("writing {}", config_path.display()))?;
        let exe = std::env::current_exe().context("locating the bench binary")?;
        let mut command = Command::new(exe);
        command.arg("engine").arg("--config").arg(&config_path);
        if let Some(seed) = seed {
            command.arg("--seed-products").arg(seed.products.to_string());
            if let Some(stock) = seed.stock {
                command.arg("--seed-stock").arg(stock.to_string());
            }
        }
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Engine warnings and errors show up in the benchmark's output.
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("spawning the engine process")?;
        let stdin = child.stdin.take().context("engine stdin is not piped")?;
        let stdout = child.stdout.take().context("engine stdout is not piped")?;
        let seeding = START_TIMEOUT_PER_PRODUCT * seed.map_or(0, |s| s.products);
        let port = tokio::time::timeout(START_TIMEOUT + seeding, read_port(stdout))
            .await
            .context("the engine did not start listening in time")??;
        Ok(Self {
            child,
            stdin: Some(stdin),
            base_url: format!("http://127.0.0.1:{port}"),
            database_url: db_url.to_owned(),
            postgres: None,
            _dir: dir,
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The engine's database URL (`sqlite://…` or `postgres://…`), valid until [`Engine::stop`].
    pub fn database_url(&self) -> &str {
        &self.database_url
    }

    /// Asks for a graceful shutdown, waits for a clean exit, then drops its PostgreSQL
    /// database (also when the exit was not clean).
    pub async fn stop(mut self) -> anyhow::Result<()> {
        drop(self.stdin.take());
        let exited = async {
            let status = tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
                .await
                .context("the engine did not stop in time")?
                .context("waiting for the engine")?;
            ensure!(status.success(), "the engine exited with {status}");
            Ok(())
        }
        .await;
        if exited.is_err() {
            // A hung child still holds connections; FORCE would end them, but a dead one is cleaner.
            let _ = self.child.kill().await;
        }
        let dropped = match self.postgres.take() {
            Some(db) => db.drop_database().await,
            None => Ok(()),
        };
        exited.and(dropped)
    }
}

/// The benchmark's configuration, layered over the engine's defaults, with `overrides` merged
/// over it. Everything that costs CPU per request (argon2 parameters, hash concurrency, pool
/// size) keeps its default.
fn config_toml(dir: &Path, db_url: &str, overrides: toml::Table) -> anyhow::Result<String> {
    let mail_dir = dir.join("mail").display().to_string();
    let base = format!(
        r#"
[server]
bind = "127.0.0.1:0"

[database]
url = {db_url}

# Every client connects from 127.0.0.1, so the per-address limits (meant for one real client
# each) would count all of them as one; the throttle queries still run on every request.
[auth.throttle]
max_failures_per_address = 1000000
max_failures_per_account = 1000000
max_registrations_per_address = 1000000
max_reset_confirms_per_address = 1000000
max_reset_requests_per_address = 1000000

[mail]
transport = "file"
file_dir = {mail_dir}

[jobs]
enabled = false

[log]
level = "warn"
"#,
        db_url = toml_string(db_url),
        mail_dir = toml_string(&mail_dir),
    );
    let mut table: toml::Table = base.parse().context("the bench's base configuration")?;
    merge(&mut table, overrides);
    toml::to_string(&table).context("writing the engine configuration")
}

/// Merges `over` into `base`: tables key by key (recursively), anything else replaced.
fn merge(base: &mut toml::Table, over: toml::Table) {
    for (key, value) in over {
        match (base.get_mut(&key), value) {
            (Some(toml::Value::Table(inner)), toml::Value::Table(value)) => merge(inner, value),
            (_, value) => {
                base.insert(key, value);
            }
        }
    }
}

/// A TOML string literal, escaped whatever the temp dir's path contains.
fn toml_string(value: &str) -> String {
    toml::Value::String(value.to_owned()).to_string()
}

/// Reads the child's stdout until it announces its port, then keeps draining it in the
/// background so a later write can never block the engine on a full pipe.
async fn read_port(stdout: ChildStdout) -> anyhow::Result<u16> {
    let mut lines = BufReader::new(stdout).lines();
    while let Some(line) = lines.next_line().await.context("reading engine output")? {
        if let Some(port) = line.strip_prefix(PORT_LINE) {
            let port = port.trim().parse().with_context(|| format!("engine announced a bad port: {line}"))?;
            tokio::spawn(async move { while let Ok(Some(_)) = lines.next_line().await {} });
            return Ok(port);
        }
    }
    bail!("the engine exited before listening (its error is above)")
}

/// The child side: seeds `seed` (if any) as `engine seed --products N [--stock S]` does, then
/// runs the engine until stdin closes.
pub fn serve(config_path: &Path, seed: Option<Seed>) -> anyhow::Result<()> {
    let toml = std::fs::read_to_string(config_path).with_context(|| format!("reading {}", config_path.display()))?;
    // Only the file counts, not `COMMERCE_*` variables, so runs are reproducible.
    let config = config::load_from_str(&toml)?;
    // stdout carries the port line; logs go to stderr.
    telemetry::init(&config.log, std::io::stderr);
    // The same runtime `engine serve` builds: multi-thread, one worker per CPU.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("engine runtime")?;
    runtime.block_on(async {
        let state = AppState::new(config).await?;
        if let Some(seed) = seed {
            commerce_engine::seed::products(&state, seed.products, seed.stock)
                .await
                .context("seeding the generated products")?;
        }
        let app = Application::from_state(state).await?;
        let stop = app.stop_token();
        // A plain thread: a blocking read of stdin must not hold a runtime thread.
        std::thread::Builder::new()
            .name("bench-engine-stdin".into())
            .spawn(move || {
                // Any outcome (EOF, error) means the parent is done with us.
                let _ = std::io::copy(&mut std::io::stdin().lock(), &mut std::io::sink());
                stop.cancel();
            })
            .context("spawning the stdin watcher")?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{PORT_LINE}{}", app.port()).and_then(|()| out.flush()).context("announcing the port")?;
        drop(out);
        app.run_until_stopped().await
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_merge_into_the_base_configuration_table_by_table() -> anyhow::Result<()> {
        let overrides: toml::Table = "[carts]\nmax_line_quantity = 100000\n[log]\nlevel = \"error\"\n".parse()?;
        let text = config_toml(Path::new("/tmp/x"), "sqlite:///tmp/x/bench.db", overrides)?;
        let config = config::load_from_str(&text)?;
        assert_eq!(config.carts.max_line_quantity, 100_000);
        // Untouched keys of a merged table and of other tables stay as the base has them.
        assert!(!config.jobs.enabled);
        assert_eq!(config.auth.throttle.max_failures_per_address, 1_000_000);
        assert!(text.contains("level = \"error\""), "{text}");
        Ok(())
    }
}
