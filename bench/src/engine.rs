//! The engine under test, in a child process.
//!
//! The child is this very binary run as `bench engine --config FILE`: it links the engine
//! library, so `cargo run -p bench` needs no separately built `engine` binary, yet the server
//! gets its own process and its own tokio runtime, built exactly as `engine serve` builds it.
//! The child prints `port=N` on stdout once it listens, and shuts down gracefully when its
//! stdin closes — which also happens if the benchmark dies, so no server is ever left behind.

use std::{io::Write as _, path::Path, process::Stdio, time::Duration};

use anyhow::{Context, bail, ensure};
use commerce_engine::{Application, config, telemetry};
use tokio::{
    io::{AsyncBufReadExt as _, BufReader},
    process::{Child, ChildStdin, ChildStdout, Command},
};

/// Prefix of the line announcing the listening port.
const PORT_LINE: &str = "port=";
/// Migrations on a fresh SQLite file and the dummy hash take well under a second; this only
/// bounds a hung start.
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// In-flight requests are all finished when we stop, so shutdown is quick.
const STOP_TIMEOUT: Duration = Duration::from_secs(30);

/// A running engine with a fresh database; stop it with [`Engine::stop`].
pub struct Engine {
    child: Child,
    stdin: Option<ChildStdin>,
    base_url: String,
    // Holds the database and mail directory until the engine is gone.
    _dir: tempfile::TempDir,
}

impl Engine {
    /// Starts an engine on a free port with a fresh SQLite database in a temporary directory.
    pub async fn start() -> anyhow::Result<Self> {
        let dir = tempfile::Builder::new().prefix("commerce-bench-").tempdir().context("creating a temp dir")?;
        let config_path = dir.path().join("engine.toml");
        std::fs::write(&config_path, config_toml(dir.path()))
            .with_context(|| format!("writing {}", config_path.display()))?;
        let exe = std::env::current_exe().context("locating the bench binary")?;
        let mut child = Command::new(exe)
            .arg("engine")
            .arg("--config")
            .arg(&config_path)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            // Engine warnings and errors show up in the benchmark's output.
            .stderr(Stdio::inherit())
            .kill_on_drop(true)
            .spawn()
            .context("spawning the engine process")?;
        let stdin = child.stdin.take().context("engine stdin is not piped")?;
        let stdout = child.stdout.take().context("engine stdout is not piped")?;
        let port = tokio::time::timeout(START_TIMEOUT, read_port(stdout))
            .await
            .context("the engine did not start listening in time")??;
        Ok(Self { child, stdin: Some(stdin), base_url: format!("http://127.0.0.1:{port}"), _dir: dir })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// Asks for a graceful shutdown and waits for a clean exit.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        drop(self.stdin.take());
        let status = tokio::time::timeout(STOP_TIMEOUT, self.child.wait())
            .await
            .context("the engine did not stop in time")?
            .context("waiting for the engine")?;
        ensure!(status.success(), "the engine exited with {status}");
        Ok(())
    }
}

/// The benchmark's configuration, layered over the engine's defaults. Everything that costs
/// CPU per request (argon2 parameters, hash concurrency, pool size) keeps its default.
fn config_toml(dir: &Path) -> String {
    let db_url = format!("sqlite://{}", dir.join("bench.db").display());
    let mail_dir = dir.join("mail").display().to_string();
    format!(
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
        db_url = toml_string(&db_url),
        mail_dir = toml_string(&mail_dir),
    )
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

/// The child side: runs the engine until stdin closes.
pub fn serve(config_path: &Path) -> anyhow::Result<()> {
    let toml = std::fs::read_to_string(config_path).with_context(|| format!("reading {}", config_path.display()))?;
    // Only the file counts, not `COMMERCE_*` variables, so runs are reproducible.
    let config = config::load_from_str(&toml)?;
    // stdout carries the port line; logs go to stderr.
    telemetry::init(&config.log, std::io::stderr);
    // The same runtime `engine serve` builds: multi-thread, one worker per CPU.
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().context("engine runtime")?;
    runtime.block_on(async {
        let app = Application::build(config).await?;
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
