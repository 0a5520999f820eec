//! The plugin host, in process: what one sandboxed pricing-plugin call and the demo pricing chain
//! cost, and how that compares with the same rules compiled natively.
//!
//! No engine process and no HTTP here: the suite loads the plugins of `config/demo.toml` (its
//! `[pricing] chain` and `[plugins.*]` settings) with the engine library and calls them as the
//! pricing service does inside a request, on a runtime built like the engine's.
//!
//! Scenarios, each on an empty, a 10-line and a 100-line cart (see [`carts`]), with wasmtime's
//! pooling allocator (the default) and with on-demand allocation:
//! - `call volume_tiers`, `call tax`: one `LoadedPlugin::price`, i.e. a fresh store and instance,
//!   the cart lowered into the guest, the guest reading and parsing its settings, the output
//!   lifted back. Each plugin gets the cart as the chain hands it over (tax after the discounts).
//! - `chain`: `PricingService::price` through the whole chain (four plugins in the demo).
//! - `chain` / `native`: the same four rules linked as Rust (`commerce_sdk::testing::Chain`), same
//!   settings and pipeline maths, no sandbox. Checked to give the same priced cart.
//! - `chain throughput`: tasks pricing the 10-line cart back to back for a fixed time.
//! - `health during spin`, `refused busy call`: see [`sandbox`] (an engine over HTTP in process).
//!
//! Latency rows time `--plugin-calls` calls one after the other, after `--plugin-warmup-calls`
//! unmeasured ones; `calls/s` there is one caller's rate. Percentiles are nearest-rank.

mod carts;
mod sandbox;

use std::{path::PathBuf, sync::Arc, time::Duration, time::Instant};

use anyhow::{Context, bail, ensure};
use clap::Args as ClapArgs;
use commerce_engine::{
    config::{self, Config, PluginRuntimeConfig},
    plugins::{PluginRegistry, ReloadSource},
    pricing::{PricingService, Purpose},
};
use commerce_pipeline::{Cart, CartView, PricedCart};
use commerce_sdk::testing::Chain;

use crate::{
    load::{self, Outcome, Samples, Window},
    report::{self, MicrosRow},
    stats::Summary,
};

/// From the issue: one plugin call at most 25 µs at the median on a 10-line cart.
const CALL_P50_TARGET: Duration = Duration::from_micros(25);
/// The plugins timed one call at a time.
const CALLED: [&str; 2] = ["volume_tiers", "tax"];
/// Cart sizes: empty shows the fixed cost of a call, 10 and 100 lines what each line adds.
const CART_LINES: [usize; 3] = [0, 10, 100];
/// The cart of the throughput rows and of the target.
const TARGET_LINES: usize = 10;
const DEFAULT_CONFIG: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/demo.toml");

#[derive(ClapArgs, Clone, Debug)]
// Its own group name: `bench all` flattens every suite's `Args`, and clap names a group after
// its struct.
#[group(id = "plugins_args")]
pub struct Args {
    /// The configuration whose `[pricing] chain` and `[plugins.*]` are measured (`--duration`
    /// and `--warmup` do not apply to this suite).
    #[arg(long, default_value = DEFAULT_CONFIG)]
    pub plugins_config: PathBuf,
    /// Measured calls per latency row.
    #[arg(long, default_value_t = 2000)]
    pub plugin_calls: usize,
    /// Unmeasured calls before each latency row.
    #[arg(long, default_value_t = 200)]
    pub plugin_warmup_calls: usize,
    /// Concurrent tasks in the throughput rows (a row with one task is measured too).
    #[arg(long, default_value_t = 4)]
    pub plugin_tasks: usize,
    /// How long each throughput row is measured, after a quarter of that unmeasured.
    #[arg(long, default_value = "2s", value_parser = humantime::parse_duration)]
    pub plugin_load_duration: Duration,
}

impl Default for Args {
    fn default() -> Self {
        Self {
            plugins_config: DEFAULT_CONFIG.into(),
            plugin_calls: 2000,
            plugin_warmup_calls: 200,
            plugin_tasks: 4,
            plugin_load_duration: Duration::from_secs(2),
        }
    }
}

/// wasmtime's instance allocator: the `[plugin_runtime] pooling` switch.
#[derive(Clone, Copy)]
enum Allocator {
    Pooling,
    OnDemand,
}

impl Allocator {
    fn name(self) -> &'static str {
        match self {
            Allocator::Pooling => "pooling",
            Allocator::OnDemand => "on-demand",
        }
    }
}

/// The chain loaded on one allocator.
struct Host {
    allocator: Allocator,
    service: Arc<PricingService>,
}

/// Loads the plugins on both allocators, measures every scenario and prints the table.
pub async fn run(args: Args) -> anyhow::Result<()> {
    ensure!(args.plugin_calls > 0, "--plugin-calls must be at least 1");
    ensure!(args.plugin_tasks > 0, "--plugin-tasks must be at least 1");
    let path = &args.plugins_config;
    let (config, _) = config::load(Some(path)).with_context(|| format!("loading {}", path.display()))?;
    ensure!(!config.pricing.chain.is_empty(), "{} has an empty [pricing] chain", path.display());
    let native = native_chain(&config)?;
    let carts = CART_LINES.iter().map(|&n| carts::generate(n, &config.store)).collect::<anyhow::Result<Vec<_>>>()?;

    let mut hosts = Vec::new();
    for allocator in [Allocator::Pooling, Allocator::OnDemand] {
        let (host, took) = load_host(&config, allocator).await?;
        eprintln!(
            "plugins: {} plugins loaded on the {} allocator in {took:.0?}",
            config.plugins.len(),
            allocator.name()
        );
        hosts.push(host);
    }

    let mut rows = Vec::new();
    let mut checked = Vec::new();
    for cart in &carts {
        checked.push(check_against_native(&hosts, &native, cart).await?);
        rows.extend(latency_rows(&hosts, &native, cart, &args).await?);
    }

    let cart = carts.iter().find(|c| c.lines.len() == TARGET_LINES).context("no target-sized cart")?;
    let cart = Arc::new(cart.clone());
    for host in &hosts {
        let task_counts = if args.plugin_tasks == 1 { vec![1] } else { vec![1, args.plugin_tasks] };
        for tasks in task_counts {
            eprintln!("plugins: chain throughput, {} allocator, {tasks} task(s)…", host.allocator.name());
            let summary = throughput(&host.service, &cart, tasks, args.plugin_load_duration).await?;
            rows.push(MicrosRow { lines: TARGET_LINES, runtime: host.allocator.name(), tasks, summary });
        }
    }
    print_results(&config, &args, &rows, &checked);

    eprintln!("plugins: sandbox isolation (a spinning plugin, a full pool)…");
    let isolation = sandbox::run(&config.store).await?;
    println!("{}", report::table("plugins: what a spinning plugin costs other requests", &isolation));
    sandbox::print_targets(&isolation);
    Ok(())
}

/// The one-caller rows of one cart: each called plugin and the chain on every allocator, then
/// the chain natively.
async fn latency_rows(hosts: &[Host], native: &Chain, cart: &Cart, args: &Args) -> anyhow::Result<Vec<MicrosRow>> {
    let lines = cart.lines.len();
    let mut rows = Vec::new();
    for plugin in CALLED {
        eprintln!("plugins: call {plugin}, {lines} lines…");
        for host in hosts {
            let set = host.service.plugins().current();
            let loaded = set.plugins.get(plugin).with_context(|| format!("no plugin `{plugin}` in the config"))?;
            let view = view_for(host, plugin, cart).await?;
            let summary = time_calls(&format!("call {plugin}"), args, || async {
                loaded.price(&view).await.map_err(anyhow::Error::from)
            })
            .await?;
            rows.push(MicrosRow { lines, runtime: host.allocator.name(), tasks: 1, summary });
        }
    }
    eprintln!("plugins: chain, {lines} lines…");
    for host in hosts {
        let summary = time_calls("chain", args, || async {
            host.service.price(cart, Purpose::Display).await.map_err(anyhow::Error::from)
        })
        .await?;
        rows.push(MicrosRow { lines, runtime: host.allocator.name(), tasks: 1, summary });
    }
    let summary = time_calls("chain", args, || async { native.run(cart).map_err(anyhow::Error::from) }).await?;
    rows.push(MicrosRow { lines, runtime: "native", tasks: 1, summary });
    Ok(rows)
}

/// Loads the configured plugins on a plugin runtime that differs from the config's only in the
/// allocator. The engine keeps one wasmtime `Engine` per runtime configuration, so the two
/// hosts do not share instance slots.
async fn load_host(config: &Config, allocator: Allocator) -> anyhow::Result<(Host, Duration)> {
    let runtime =
        PluginRuntimeConfig { pooling: matches!(allocator, Allocator::Pooling), ..config.plugin_runtime.clone() };
    let source = ReloadSource::Fixed { plugins: config.plugins.clone(), pricing: config.pricing.clone() };
    let started = Instant::now();
    let registry =
        PluginRegistry::load(runtime, &config.plugins, &config.pricing, config.environment, source, Box::new(|| 0))
            .await
            .context("are the plugins built? `cargo run -q -p xtask -- plugins` builds them")?;
    let service = Arc::new(PricingService::new(Arc::new(registry), commerce_engine::metrics::Metrics::new()));
    Ok((Host { allocator, service }, started.elapsed()))
}

/// The chain of `config` as native rules: the bundled plugins linked as Rust, with the same
/// settings JSON the engine hands the components.
fn native_chain(config: &Config) -> anyhow::Result<Chain> {
    let mut chain = Chain::new();
    for name in &config.pricing.chain {
        let plugin = config.plugins.get(name).with_context(|| format!("no [plugins.{name}]"))?;
        let settings = serde_json::Value::Object(plugin.settings.clone()).to_string();
        chain = match name.as_str() {
            "volume_tiers" => chain.rule::<volume_tiers::VolumeTiers>(name, &settings),
            "coupons" => chain.rule::<coupons::Coupons>(name, &settings),
            "tax" => chain.rule::<tax::Tax>(name, &settings),
            "shipping" => chain.rule::<shipping::Shipping>(name, &settings),
            other => bail!("no native build of plugin `{other}`: the suite knows the bundled plugins only"),
        }?;
    }
    Ok(chain)
}

/// Prices `cart` in the sandbox on every allocator and natively, and fails unless all give the
/// same priced cart: otherwise the comparison would not be like for like.
async fn check_against_native(hosts: &[Host], native: &Chain, cart: &Cart) -> anyhow::Result<PricedCart> {
    let expected = native.run(cart)?;
    for host in hosts {
        let sandboxed = host.service.price(cart, Purpose::Checkout).await?;
        if sandboxed != expected {
            bail!(
                "the {} chain and the native chain disagree on the {}-line cart: total {} vs {}",
                host.allocator.name(),
                cart.lines.len(),
                sandboxed.total(),
                expected.total()
            );
        }
    }
    Ok(expected)
}

/// The cart as `plugin` receives it in the chain: priced by every plugin before it.
async fn view_for(host: &Host, plugin: &str, cart: &Cart) -> anyhow::Result<CartView> {
    let set = host.service.plugins().current();
    let mut priced = PricedCart::new(cart)?;
    for step in &set.chain {
        if step.name == plugin {
            break;
        }
        let output = step.price(&priced.view()).await?;
        priced.apply(&step.name, output)?;
    }
    Ok(priced.view())
}

/// Times `call`, one call after the other, after the warm-up calls; any failure aborts.
async fn time_calls<F, Fut, T>(scenario: &str, args: &Args, mut call: F) -> anyhow::Result<Summary>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    for _ in 0..args.plugin_warmup_calls {
        call().await?;
    }
    let mut latencies = Vec::with_capacity(args.plugin_calls);
    let started = Instant::now();
    for _ in 0..args.plugin_calls {
        let sent = Instant::now();
        call().await?;
        latencies.push(sent.elapsed());
    }
    Ok(Summary::new(scenario, Samples { latencies, errors: 0 }, started.elapsed()))
}

/// `tasks` tasks pricing `cart` through the chain back to back: chains per second.
async fn throughput(
    service: &Arc<PricingService>,
    cart: &Arc<Cart>,
    tasks: usize,
    duration: Duration,
) -> anyhow::Result<Summary> {
    let window = Window::after(duration / 4, duration);
    let samples = load::clients(tasks, |_| {
        let (service, cart) = (service.clone(), cart.clone());
        async move {
            load::client(window, || async {
                service.price(&cart, Purpose::Display).await?;
                Ok(Outcome::Ok)
            })
            .await
        }
    })
    .await?;
    Ok(Summary::new("chain throughput", samples, window.duration()))
}

fn print_results(config: &Config, args: &Args, rows: &[MicrosRow], checked: &[PricedCart]) {
    let title = format!(
        "plugins: {} CPUs (one runtime worker each), chain {:?}, {} calls per row after {} warm-up, throughput {:?} after {:?}",
        report::cpu_count(),
        config.pricing.chain,
        args.plugin_calls,
        args.plugin_warmup_calls,
        args.plugin_load_duration,
        args.plugin_load_duration / 4
    );
    println!("{}", report::micros_table(&title, rows));

    // One line per cart, so the reader sees the rules actually did something.
    for priced in checked {
        let lines = priced.lines().len();
        let tiered = priced.lines().iter().filter(|l| l.adjustments.iter().any(|a| a.plugin == "volume_tiers")).count();
        println!(
            "cart {lines:>3} lines: subtotal {}, discounts {} (volume tiers on {tiered} lines, coupons {:?}), tax {}, \
             shipping {}, total {} paise; sandboxed = native",
            priced.subtotal(),
            priced.discount_total(),
            priced.coupon_codes(),
            priced.tax_total(),
            priced.shipping_total(),
            priced.total()
        );
    }

    let find = |scenario: &str, runtime: &str, lines: usize| {
        rows.iter().find(|r| r.summary.scenario == scenario && r.runtime == runtime && r.lines == lines && r.tasks == 1)
    };
    if let (Some(wasm), Some(native)) = (find("chain", "pooling", TARGET_LINES), find("chain", "native", TARGET_LINES))
    {
        let steps = config.pricing.chain.len().max(1) as f64;
        let overhead = report::micros(wasm.summary.p50.saturating_sub(native.summary.p50)) / steps;
        println!(
            "sandbox: chain on {TARGET_LINES} lines p50 {:.1} µs sandboxed (pooling) vs {:.1} µs native: ×{:.0}, ≈ {overhead:.1} µs per plugin call",
            report::micros(wasm.summary.p50),
            report::micros(native.summary.p50),
            report::micros(wasm.summary.p50) / report::micros(native.summary.p50).max(0.001)
        );
    }

    if let (Some(empty), Some(ten), Some(hundred)) = (
        find("call volume_tiers", "pooling", 0),
        find("call volume_tiers", "pooling", 10),
        find("call volume_tiers", "pooling", 100),
    ) {
        let per_line = (report::micros(hundred.summary.p50) - report::micros(ten.summary.p50)) / 90.0;
        println!(
            "per call (volume_tiers, pooling): {:.1} µs p50 on an empty cart (instance, settings, conversions), \
             then ≈ {per_line:.2} µs per line",
            report::micros(empty.summary.p50)
        );
    }
    // The host creates error values on the happy path (today two per call: `set_fuel` and
    // `get_fuel` on an engine without fuel); with this set, each captures a backtrace.
    for variable in ["RUST_BACKTRACE", "RUST_LIB_BACKTRACE"] {
        if let Ok(value) = std::env::var(variable)
            && value != "0"
        {
            println!(
                "note: {variable}={value} is set, so errors the host creates on every call capture backtraces; \
                 compare with {variable}=0"
            );
        }
    }

    let calls: Vec<&MicrosRow> =
        CALLED.iter().filter_map(|plugin| find(&format!("call {plugin}"), "pooling", TARGET_LINES)).collect();
    let worst = calls.iter().map(|r| r.summary.p50).max().unwrap_or_default();
    let verdict = if !calls.is_empty() && worst <= CALL_P50_TARGET { "MET" } else { "NOT MET" };
    let detail: Vec<String> = calls
        .iter()
        .map(|r| {
            format!("{} p50 {:.1} µs", r.summary.scenario.trim_start_matches("call "), report::micros(r.summary.p50))
        })
        .collect();
    println!(
        "target: ≤ {} µs p50 per plugin call on a {TARGET_LINES}-line cart (pooling allocator, the default): {verdict} ({})",
        report::micros(CALL_P50_TARGET),
        detail.join(", ")
    );
}
