//! Load benchmarks for the commerce engine.
//!
//! Each HTTP suite starts a fresh engine in a child process (this binary re-executed with the
//! hidden `engine` subcommand, see [`engine`]), prepares data over HTTP, then drives closed-loop
//! load from this process and prints a table. Client and server therefore never share a runtime,
//! a scheduler or an allocator; on a small machine they do share the CPUs, as they would in a
//! single-host deployment. The `plugins` suite has no server: it calls the engine's plugin host
//! in this process, on a runtime built like the engine's; so does the second half of `webhooks`.
//!
//! `bench` with no subcommand runs every suite; `bench auth` runs one. The suites: `auth`,
//! `plugins`, `carts`, `checkout`, `webhooks` and `catalog` (storefront reads on a large
//! catalogue, with and without the engine's cache). A new suite is a module in `scenarios`, a
//! variant of [`Command`] and a line in [`run_all`].

mod database;
mod engine;
mod load;
mod report;
mod scenarios;
mod stats;

use std::{path::PathBuf, process::ExitCode, time::Duration};

use anyhow::Context;
use clap::{Args, Parser, Subcommand};

use crate::{
    database::Database,
    engine::Seed,
    scenarios::{auth, carts, catalog, checkout, plugins, webhooks},
};

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
    /// The engine's database: `sqlite` (a fresh file per suite) or a PostgreSQL server URL such
    /// as `postgres://postgres@127.0.0.1:5432/postgres`, on which each suite creates a database
    /// of its own and drops it afterwards.
    #[arg(long, global = true, default_value = "sqlite", value_parser = Database::parse)]
    pub database: Database,
}

#[derive(Subcommand)]
enum Command {
    /// Every suite, one after the other, each against a fresh engine.
    All(AllArgs),
    /// Logins (argon2id) and whether a burst of them starves other requests.
    Auth(auth::Args),
    /// Pricing-plugin calls and the demo pricing chain, sandboxed and native, in process.
    Plugins(plugins::Args),
    /// Guest carts priced through the demo plugin chain: load.sh's `cart_flow` (add a line, read the cart).
    Carts(carts::Args),
    /// Guest checkouts: cart, line, address, then `POST /api/v1/checkout`; orders per second.
    Checkout(checkout::Args),
    /// Razorpay webhooks over HTTP (deliveries per second), then the gateway plugin in process
    /// (sandbox overhead on a gateway call, webhook verification).
    Webhooks(webhooks::Args),
    /// Storefront reads on a large generated catalogue (100,000 products): hot lists, search and
    /// product pages against `/health`, then the same with the engine's cache off, and deep cursors.
    Catalog(catalog::Args),
    /// Internal: serve the engine from a configuration file until stdin closes.
    #[command(hide = true)]
    Engine {
        #[arg(long)]
        config: PathBuf,
        /// Generated products to seed before listening (`engine seed --products N`).
        #[arg(long)]
        seed_products: Option<u32>,
        /// Their stock (`engine seed --stock S`); without it, the generated stock.
        #[arg(long, requires = "seed_products")]
        seed_stock: Option<i64>,
    },
}

/// Every suite's options, so `bench all --users 128` works. Suites must not reuse a name.
#[derive(Args, Default)]
struct AllArgs {
    #[command(flatten)]
    auth: auth::Args,
    #[command(flatten)]
    plugins: plugins::Args,
    #[command(flatten)]
    carts: carts::Args,
    #[command(flatten)]
    checkout: checkout::Args,
    #[command(flatten)]
    webhooks: webhooks::Args,
    #[command(flatten)]
    catalog: catalog::Args,
}

/// The same allocator as the `engine` binary, so in-process suites measure what it runs.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // The child process: no client runtime here, the engine builds its own.
        Some(Command::Engine { config, seed_products, seed_stock }) => {
            let seed = seed_products.map(|products| Seed { products, stock: seed_stock });
            engine::serve(&config, seed)
        }
        Some(Command::Auth(args)) => client(|| auth::run(cli.common, args)),
        Some(Command::Plugins(args)) => in_process(|| plugins::run(args)),
        Some(Command::Carts(args)) => client(|| carts::run(cli.common, args)),
        Some(Command::Checkout(args)) => client(|| checkout::run(cli.common, args)),
        Some(Command::Webhooks(args)) => run_webhooks(cli.common, args),
        Some(Command::Catalog(args)) => client(|| catalog::run(cli.common, args)),
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
    client(|| auth::run(common.clone(), all.auth))?;
    in_process(|| plugins::run(all.plugins))?;
    client(|| carts::run(common.clone(), all.carts))?;
    client(|| checkout::run(common.clone(), all.checkout))?;
    run_webhooks(common.clone(), all.webhooks)?;
    client(|| catalog::run(common, all.catalog))
}

/// The webhook suite's two parts: intake against an engine process, then the gateway in process.
fn run_webhooks(common: Common, args: webhooks::Args) -> anyhow::Result<()> {
    client(|| webhooks::intake::run(common, args.clone()))?;
    in_process(|| webhooks::gateway::run(args))
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
