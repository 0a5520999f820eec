//! Load benchmarks for the commerce engine.
//!
//! Each HTTP suite starts a fresh engine in a child process (this binary re-executed with the
//! hidden `engine` subcommand, see [`engine`]), prepares data over HTTP, then drives closed-loop
//! load from this process and prints a table. Client and server therefore never share a runtime,
//! a scheduler or an allocator; on a small machine they do share the CPUs, as they would in a
//! single-host deployment. The `plugins` suite has no server: it calls the engine's plugin host
//! in this process, on a runtime built like the engine's.
//!
//! `bench` with no subcommand runs every suite; `bench auth` runs one. A new suite (catalog
//! lists, …) is a module in `scenarios`, a variant of [`Command`] and a line in [`run_all`].

mod engine;
mod load;
mod report;
mod scenarios;
mod stats;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::scenarios::{auth, plugins};

/// Load benchmarks for the commerce engine (release builds only give meaningful numbers).
#[derive(Parser)]
#[command(name = "bench", about)]
struct Cli {
    #[command(flatten)]
    common: Common,
    /// The suite to run; every suite when omitted.
    #[command(subcommand)]
    command: Option<Command>,
}

/// Options every suite understands.
#[derive(Args, Clone, Debug)]
pub struct Common {
    /// How long each measured scenario runs, e.g. `10s`, `1m`.
    #[arg(long, global = true, default_value = "10s", value_parser = humantime::parse_duration)]
    pub duration: Duration,
    /// Load applied before measuring starts, so connections are open and queues are full.
    #[arg(long, global = true, default_value = "2s", value_parser = humantime::parse_duration)]
    pub warmup: Duration,
}

#[derive(Subcommand)]
enum Command {
    /// Every suite, one after the other, each against a fresh engine.
    All(AllArgs),
    /// Logins (argon2id) and whether a burst of them starves other requests.
    Auth(auth::Args),
    /// Pricing-plugin calls and the demo pricing chain, sandboxed and native, in process.
    Plugins(plugins::Args),
    /// Internal: serve the engine from a configuration file until stdin closes.
    #[command(hide = true)]
    Engine {
        #[arg(long)]
        config: PathBuf,
    },
}

/// Every suite's options, so `bench all --users 128` works. Suites must not reuse a name.
#[derive(Args, Default)]
struct AllArgs {
    #[command(flatten)]
    auth: auth::Args,
    #[command(flatten)]
    plugins: plugins::Args,
}

/// The same allocator as the `engine` binary, so in-process suites measure what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // The child process: no client runtime here, the engine builds its own.
        Some(Command::Engine { config }) => engine::serve(&config),
        Some(Command::Auth(args)) => client(|| auth::run(cli.common, args)),
        Some(Command::Plugins(args)) => in_process(|| plugins::run(args)),
        Some(Command::All(all)) => run_all(cli.common, all),
        None => run_all(cli.common, AllArgs::default()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Each suite on its own runtime, one after the other.
fn run_all(common: Common, all: AllArgs) -> anyhow::Result<()> {
    client(|| auth::run(common, all.auth))?;
    in_process(|| plugins::run(all.plugins))
}

/// Runs the load generator on its own runtime. Two workers are plenty: clients mostly wait,
/// and every CPU they do not use is left to the engine.
fn client<F, Fut>(suite: F) -> anyhow::Result<()>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("bench-client")
        .enable_all()
        .build()
        .context("cannot start the client runtime")?;
    runtime.block_on(suite())
}

/// Runs an in-process suite on the runtime `engine serve` builds (multi-thread, one worker per
/// CPU), since the suite measures engine code, not a client.
fn in_process<F, Fut>(suite: F) -> anyhow::Result<()>
where
    F: FnOnce() -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .thread_name("bench-engine")
        .enable_all()
        .build()
        .context("cannot start the engine runtime")?;
    runtime.block_on(suite())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn option_names_do_not_clash_across_suites() {
        Cli::command().debug_assert();
    }
}
