//! Project tasks behind the README's two commands:
//!
//! - `cargo xtask run`  — start the demo shop on SQLite (`config/demo.toml`, seeded on start).
//! - `cargo xtask test` — run the whole test suite (SQLite; set `TEST_POSTGRES_URL` for
//!   PostgreSQL).
//!
//! Every set-up step a fresh clone needs happens here, so those two commands are all a newcomer
//! types. (Plugin builds and the `wasm32-wasip2` target join this list with the plugin platform.)

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

use anyhow::{Context, bail};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("run") => run(&args[1..]),
        Some("test") => test(&args[1..]),
        _ => {
            eprintln!("usage: cargo xtask run [engine serve args…] | cargo xtask test [cargo test args…]");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(Path::to_path_buf).unwrap_or_default()
}

fn cargo() -> Command {
    let mut command = Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()));
    command.current_dir(workspace_root());
    command
}

fn status(mut command: Command) -> anyhow::Result<()> {
    let shown = format!("{command:?}");
    let status = command.status().with_context(|| format!("cannot start {shown}"))?;
    if !status.success() {
        bail!("{shown} failed ({status})");
    }
    Ok(())
}

/// `cargo xtask run`: the demo shop on SQLite (`config/demo.toml`, `data/demo.db`), seeded with
/// the demo data before it serves (`engine seed --demo` is idempotent, so every run may do it).
/// With `COMMERCE_CONFIG` set, that configuration is served as it is, without seeding.
fn run(extra: &[String]) -> anyhow::Result<()> {
    let root = workspace_root();
    let engine = || {
        let mut command = cargo();
        command.args(["run", "--package", "commerce-engine", "--bin", "engine", "--"]);
        command
    };
    let demo = root.join("config/demo.toml");
    let use_demo = demo.is_file() && std::env::var_os("COMMERCE_CONFIG").is_none();
    if use_demo {
        let mut seed = engine();
        seed.arg("--config").arg(&demo).args(["seed", "--demo"]);
        status(seed)?;
    }
    let mut serve = engine();
    if use_demo {
        serve.arg("--config").arg(&demo);
    }
    serve.arg("serve").args(extra);
    status(serve)
}

/// `cargo xtask test`: unit tests, the end-to-end suite and doc tests of every crate.
fn test(extra: &[String]) -> anyhow::Result<()> {
    let mut command = cargo();
    command.args(["test", "--workspace"]).args(extra);
    status(command)
}
