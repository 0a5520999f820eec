//! The `engine` command line. `main.rs` only calls [`main`]; the same code is linked into the
//! test crate so the end-to-end tests can run the real CLI as a process.

use std::{
    io::{IsTerminal, Read},
    path::PathBuf,
    process::ExitCode,
    sync::Arc,
};

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::{
    accounts::model::{Email, NewPassword},
    app::{AppState, Application},
    clock::SystemClock,
    config::{self, Config},
    plugins::{LoadError, PluginRegistry, ReloadSource, tools},
    pricing::{PricingService, Purpose},
    telemetry,
};

/// Headless commerce engine.
#[derive(Parser)]
#[command(name = "engine", version, about)]
struct Cli {
    /// Configuration file layered over the built-in defaults (see config/default.toml).
    #[arg(long, global = true, env = "COMMERCE_CONFIG", value_name = "FILE")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the HTTP API (and run background jobs when `jobs.enabled`).
    Serve,
    /// Apply pending database migrations, then exit.
    Migrate,
    /// Configuration tools.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Administration tasks.
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Background jobs.
    #[command(subcommand)]
    Jobs(JobsCommand),
    /// Plugin author tools: inspect a component, run one plugin on a cart.
    #[command(subcommand)]
    Plugin(PluginCommand),
    /// Price a cart through the configured pricing chain.
    #[command(subcommand)]
    Pricing(PricingCommand),
    /// Load sample data: the demo shop and/or generated benchmark products. Idempotent (what
    /// exists is skipped, by slug); refused when `environment = "production"`.
    Seed(SeedArgs),
}

#[derive(clap::Args)]
#[command(group(clap::ArgGroup::new("data").required(true).multiple(true)))]
struct SeedArgs {
    /// A small shop: apparel › t-shirts/jeans, books › fiction/non-fiction, home; ~50 products.
    #[arg(long, group = "data")]
    demo: bool,
    /// N generated products over `category-01` … `category-20`; the same N gives the same products.
    #[arg(long, value_name = "N", group = "data")]
    products: Option<u32>,
    /// With `--products`: every variant created gets stock S instead of its generated stock
    /// (which is 0–200, a tenth sold out). Benchmarks that add to carts or check out need
    /// stock for the whole run, e.g. `--stock 1000000`. Existing products are not changed.
    #[arg(long, value_name = "S", requires = "products", value_parser = clap::value_parser!(i64).range(0..=1_000_000_000))]
    stock: Option<i64>,
}

#[derive(Subcommand)]
enum ConfigCommand {
    /// Validate the configuration and print the effective values, secrets redacted.
    Check,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Create a staff account. The password is read from stdin when it is not a terminal,
    /// otherwise prompted for (never taken as an argument, so it stays out of shell history).
    CreateStaff {
        #[arg(long)]
        email: String,
        /// Make it an admin: staff who may also change roles and deactivate staff.
        #[arg(long)]
        admin: bool,
    },
}

#[derive(Subcommand)]
enum PluginCommand {
    /// Show a component's world, version, imports, size and digest, and whether this engine
    /// would load it (exit 1 if not).
    Check { file: PathBuf },
    /// Run one pricing plugin on a cart (cart-JSON, as in the SDK) and print its adjustments,
    /// coupon verdicts, the cart it prices, the time and the fuel used.
    Run {
        /// A `.wasm` file, or the name of a `[plugins.<name>]` in the configuration.
        plugin: String,
        #[arg(long, value_name = "FILE")]
        cart: PathBuf,
        /// Settings for a `.wasm` file: a JSON object, or a TOML table in a `.toml` file.
        #[arg(long, value_name = "FILE")]
        settings: Option<PathBuf>,
        /// Fuel budget (default: large, so that the run reports what it used).
        #[arg(long)]
        fuel: Option<u64>,
        #[arg(long)]
        timeout_ms: Option<u64>,
    },
}

#[derive(Subcommand)]
enum PricingCommand {
    /// Price a cart through `[pricing] chain` of the configuration (`--config`) and print the
    /// priced cart as JSON.
    Run {
        #[arg(long, value_name = "FILE")]
        cart: PathBuf,
        /// Price as checkout does: no plugin may be skipped.
        #[arg(long)]
        checkout: bool,
    },
}

#[derive(Subcommand)]
enum JobsCommand {
    /// Run one background job once, now (e.g. `mail` to deliver queued messages).
    Run { name: String },
    /// List the jobs this engine knows.
    List,
}

/// Exit code for configuration errors.
const EXIT_CONFIG: u8 = 2;

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match config::load(cli.config.as_deref()) {
        Ok((config, _)) => config,
        Err(error) => {
            eprintln!("{error}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if let Command::Config(ConfigCommand::Check) = cli.command {
        print!("{}", config.to_redacted_toml());
        eprintln!("configuration is valid");
        return ExitCode::SUCCESS;
    }
    // Tools that print JSON keep stdout for it; their logs go to stderr.
    if matches!(cli.command, Command::Plugin(_) | Command::Pricing(_)) {
        telemetry::init(&config.log, std::io::stderr);
    } else {
        telemetry::init(&config.log, std::io::stdout);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command, config, cli.config)) {
        Ok(code) => code,
        Err(error) if error.downcast_ref::<LoadError>().is_some() => {
            tracing::error!(error = %format!("{error:#}"), "plugins failed to load");
            eprintln!("{error:#}");
            ExitCode::from(EXIT_CONFIG)
        }
        Err(error) => {
            tracing::error!(error = %format!("{error:#}"), "command failed");
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

async fn run(command: Command, config: Config, config_file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve => serve(config, config_file).await,
        Command::Plugin(PluginCommand::Check { file }) => tools::check(&config, &file),
        Command::Plugin(PluginCommand::Run { plugin, cart, settings, fuel, timeout_ms }) => {
            let options =
                tools::RunOptions { plugin: &plugin, cart: &cart, settings: settings.as_deref(), fuel, timeout_ms };
            tools::run(&config, options).await
        }
        Command::Pricing(PricingCommand::Run { cart, checkout }) => pricing_run(config, &cart, checkout).await,
        Command::Migrate => {
            let db = crate::db::Db::connect(&config.database)?;
            db.migrate().await?;
            println!("migrations applied");
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Check) => Ok(ExitCode::SUCCESS),
        Command::Admin(AdminCommand::CreateStaff { email, admin }) => create_staff(config, &email, admin).await,
        Command::Jobs(JobsCommand::List) => {
            let state = AppState::new(config).await?;
            for name in state.jobs.names() {
                println!("{name}");
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Jobs(JobsCommand::Run { name }) => {
            let state = AppState::new(config).await?;
            let report = state.jobs.run_once(&name).await?;
            println!("job {name}: {} processed, {} failed", report.processed, report.failed);
            Ok(if report.failed == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE })
        }
        Command::Seed(args) => seed(config, args).await,
    }
}

async fn seed(config: Config, args: SeedArgs) -> anyhow::Result<ExitCode> {
    crate::seed::ensure_allowed(&config)?;
    let state = AppState::new(config).await?;
    if args.demo {
        let report = crate::seed::demo(&state).await?;
        println!("demo shop: {report}");
    }
    if let Some(n) = args.products {
        let started = std::time::Instant::now();
        let report = crate::seed::products(&state, n, args.stock).await?;
        println!("{n} generated products: {report} ({:.1} s)", started.elapsed().as_secs_f64());
    }
    state.db.close().await;
    Ok(ExitCode::SUCCESS)
}

async fn serve(config: Config, config_file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    let state =
        AppState::with_reload_source(config, Arc::new(SystemClock), ReloadSource::ConfigFile(config_file)).await?;
    let plugins = state.plugins.clone();
    let app = Application::from_state(state).await?;
    let stop = app.stop_token();
    // Installed before "listening" is logged: until then, SIGHUP's default action would end the
    // process.
    #[cfg(unix)]
    match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) {
        Ok(hangups) => drop(tokio::spawn(reload_on_sighup(hangups, plugins))),
        Err(error) => tracing::warn!(%error, "cannot listen for SIGHUP; reload with POST /api/v1/admin/plugins/reload"),
    }
    #[cfg(not(unix))]
    drop(plugins);
    let shutdown = shutdown_signal();
    tracing::info!(address = %app.addr(), docs = %format!("http://{}/docs", app.addr()), "engine listening");
    tokio::spawn(async move {
        shutdown.await;
        tracing::info!("shutdown requested; finishing in-flight requests");
        stop.cancel();
    });
    app.run_until_stopped().await?;
    tracing::info!("engine stopped");
    Ok(ExitCode::SUCCESS)
}

/// `kill -HUP <pid>` reloads the plugins as `POST /api/v1/admin/plugins/reload` does.
#[cfg(unix)]
async fn reload_on_sighup(mut hangups: tokio::signal::unix::Signal, plugins: Arc<PluginRegistry>) {
    while hangups.recv().await.is_some() {
        tracing::info!("SIGHUP: reloading plugins");
        if let Err(error) = plugins.reload().await {
            tracing::error!(%error, "plugin reload failed; the previous set stays in service");
        }
    }
}

/// `engine pricing run`: the configured chain on one cart, no database.
async fn pricing_run(config: Config, cart: &std::path::Path, checkout: bool) -> anyhow::Result<ExitCode> {
    let cart = tools::read_cart(cart)?;
    let source = ReloadSource::Fixed { plugins: config.plugins.clone(), pricing: config.pricing.clone() };
    let registry = PluginRegistry::load(
        config.plugin_runtime.clone(),
        &config.plugins,
        &config.pricing,
        config.environment,
        source,
        Box::new(|| chrono::Utc::now().timestamp_millis()),
    )
    .await?;
    let pricing = PricingService::new(Arc::new(registry), crate::metrics::Metrics::new());
    let purpose = if checkout { Purpose::Checkout } else { Purpose::Display };
    match pricing.price(&cart, purpose).await {
        Ok(priced) => {
            println!("{}", serde_json::to_string_pretty(&priced)?);
            Ok(ExitCode::SUCCESS)
        }
        Err(error) => {
            eprintln!("error: {error}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// Resolves on Ctrl-C or SIGTERM. The SIGTERM handler is installed when this is called, not when
/// the future is first polled, so an orchestrator's stop right after start-up is graceful too.
fn shutdown_signal() -> impl Future<Output = ()> {
    #[cfg(unix)]
    let term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let ctrl_c = tokio::signal::ctrl_c();
    async move {
        #[cfg(unix)]
        let term = async {
            match term {
                Some(mut term) => drop(term.recv().await),
                None => std::future::pending::<()>().await,
            }
        };
        #[cfg(not(unix))]
        let term = std::future::pending::<()>();
        tokio::select! { _ = ctrl_c => {}, _ = term => {} }
    }
}

async fn create_staff(config: Config, raw_email: &str, admin: bool) -> anyhow::Result<ExitCode> {
    let email = Email::parse(raw_email).map_err(|m| anyhow::anyhow!("--email {m}"))?;
    let password = read_password()?;
    let password = NewPassword::parse(password).map_err(|m| anyhow::anyhow!("password {m}"))?;
    let state = AppState::new(config).await?;
    let user = state.accounts.create_staff(email, password, admin).await.map_err(|e| anyhow::anyhow!("{e}"))?;
    let kind = if admin { "admin" } else { "staff" };
    println!("created {kind} account {} ({})", user.email, user.id);
    Ok(ExitCode::SUCCESS)
}

fn read_password() -> anyhow::Result<String> {
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ").context("reading password")?;
        let second = rpassword::prompt_password("Repeat password: ").context("reading password")?;
        anyhow::ensure!(first == second, "the passwords differ");
        Ok(first)
    } else {
        let mut input = String::new();
        std::io::stdin().read_to_string(&mut input).context("reading password from stdin")?;
        // One password per input; a trailing newline from `echo` is not part of it.
        Ok(input.trim_end_matches(['\r', '\n']).to_owned())
    }
}
