//! Project tasks behind the README's two commands:
//!
//! - `cargo xtask run`  — start the demo shop on SQLite (`config/demo.toml`, seeded on start).
//! - `cargo xtask test` — run the whole test suite (SQLite; set `TEST_POSTGRES_URL` for
//!   PostgreSQL). It tells the tests which backend this run is (`TEST_DATABASE`), so they can
//!   fail instead of quietly testing another one.
//!
//! - `cargo xtask plugins` — only build the WebAssembly plugins (both commands do it first).
//! - `cargo xtask schema` — regenerate `docs/schema.md` (the ER diagram) from the migrations
//!   (see `tests/src/schema.rs`; a unit test fails while it is out of date).
//!
//! Every set-up step a fresh clone needs happens here, so those two commands are all a newcomer
//! types: the `wasm32-wasip2` target is added with rustup, and every plugin crate (the bundled
//! ones in `plugins/` and the test fixtures in `tests/fixtures/plugins/`) is built for it into
//! `target/plugins/wasm32-wasip2/plugin/<crate>.wasm`, where `config/demo.toml` and the tests
//! find them. Plugins build in their own target directory, by package: building the workspace for
//! wasm would try to build wasmtime for wasm, and a nested build in the main target directory
//! would wait forever on its lock.

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
        Some("plugins") => build_plugins(),
        Some("schema") => schema(),
        _ => {
            eprintln!(
                "usage: cargo xtask run [engine serve args…] | cargo xtask test [cargo test args…] | cargo xtask plugins | cargo xtask schema"
            );
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
    build_plugins()?;
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
///
/// The run says which backend it tests in `TEST_DATABASE` (`sqlite` or `postgres`), unless the
/// caller already did (`.ci/run` does): a present `TEST_POSTGRES_URL`, even an empty one, means
/// PostgreSQL, so an empty URL fails the run rather than testing SQLite in its place.
fn test(extra: &[String]) -> anyhow::Result<()> {
    let backend = match std::env::var("TEST_DATABASE") {
        Ok(named) => named,
        Err(_) if std::env::var_os("TEST_POSTGRES_URL").is_some() => "postgres".to_owned(),
        Err(_) => "sqlite".to_owned(),
    };
    let url = std::env::var("TEST_POSTGRES_URL").unwrap_or_default();
    match backend.as_str() {
        "sqlite" => {}
        "postgres" if !url.is_empty() => {}
        "postgres" => bail!("the PostgreSQL run needs TEST_POSTGRES_URL (it is empty or unset)"),
        other => bail!("TEST_DATABASE={other:?}: expected `sqlite` or `postgres`"),
    }
    build_plugins()?;
    eprintln!("xtask: test suite on {backend}");
    let mut command = cargo();
    command.env("TEST_DATABASE", &backend).args(["test", "--workspace"]).args(extra);
    status(command)
}

/// `cargo xtask schema`: regenerates `docs/schema.md` (the `schema-doc` binary of the tests
/// crate, which builds against the engine's sqlx rather than a second copy in xtask).
fn schema() -> anyhow::Result<()> {
    let mut command = cargo();
    command.args(["run", "--quiet", "--package", "commerce-tests", "--bin", "schema-doc"]);
    status(command)
}

/// The target plugins are compiled for.
const WASM_TARGET: &str = "wasm32-wasip2";

/// Adds the wasm target (a no-op when present) and builds every plugin crate for it.
fn build_plugins() -> anyhow::Result<()> {
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", WASM_TARGET]);
    status(rustup).context("cannot add the wasm32-wasip2 target (is rustup installed?)")?;
    let root = workspace_root();
    let mut packages = Vec::new();
    for dir in ["plugins", "tests/fixtures/plugins"] {
        packages.extend(package_names(&root.join(dir))?);
    }
    let mut build = cargo();
    build
        .args(["build", "--profile", "plugin", "--target", WASM_TARGET, "--target-dir"])
        .arg(root.join("target/plugins"));
    for package in &packages {
        build.args(["--package", package]);
    }
    status(build)
}

/// The package names of the crates directly under `dir`, sorted.
fn package_names(dir: &Path) -> anyhow::Result<Vec<String>> {
    let mut names = Vec::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let manifest = entry?.path().join("Cargo.toml");
        let Ok(text) = std::fs::read_to_string(&manifest) else { continue };
        let name = text
            .lines()
            .find_map(|line| line.trim().strip_prefix("name = ").map(|n| n.trim_matches('"').to_owned()))
            .with_context(|| format!("{} has no package name", manifest.display()))?;
        names.push(name);
    }
    names.sort();
    Ok(names)
}
