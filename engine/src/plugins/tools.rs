//! `engine plugin check` and `engine plugin run`: a plugin author's playground (like Shopify's
//! function runner), on the same host code as the engine.

use std::{collections::BTreeMap, path::Path, process::ExitCode};

use anyhow::Context;
use commerce_pipeline::{Cart, PricedCart};
use sha2::{Digest, Sha256};
use wasmtime::{Engine, component::Component};

use super::{
    PluginError, PluginErrorKind,
    cache::CompileCache,
    inspect::{ComponentInfo, World},
    payment_gateway::GatewayPlugin,
    runtime,
    set::{GATEWAY_TIMEOUT_MS, PluginSet, compile},
};
use crate::config::{Config, OnError, PluginConfig, PluginLimits, PricingConfig};

/// Fuel budget of `plugin run` when none is given: large enough for any sane rule, metered so
/// the run can report what the call used.
const DEFAULT_RUN_FUEL: u64 = 10_000_000_000;

/// `engine plugin check <file.wasm>`: world, version, imports, size and the loader's verdict.
/// Exit 0 when the engine would load it (settings aside), 1 when it would refuse it.
pub fn check(config: &Config, file: &Path) -> anyhow::Result<ExitCode> {
    let wasm = std::fs::read(file).with_context(|| format!("cannot read {}", file.display()))?;
    let sha256 = hex::encode(Sha256::digest(&wasm));
    println!("file:     {}", file.display());
    println!("size:     {} bytes", wasm.len());
    println!("sha256:   {sha256}");
    let engine = runtime::engine(&config.plugin_runtime, false)?;
    let cache = CompileCache::open(&config.plugin_runtime.cache_dir)?;
    let component = match compile(&engine, &cache, &wasm, &sha256) {
        Ok((component, _)) => component,
        Err(kind) => {
            println!("verdict:  refused: {kind}");
            return Ok(ExitCode::FAILURE);
        }
    };
    let info = ComponentInfo::of(&engine, &component);
    println!("version:  commerce:plugin@{}", info.version().unwrap_or("? (no commerce:plugin interface)"));
    println!("exports:");
    for export in &info.exports {
        println!("  {export}");
    }
    println!("imports:");
    for import in &info.imports {
        println!("  {import}");
    }
    match info.check() {
        Ok(World::PricingRule) => {
            println!("world:    pricing-rule");
            println!("verdict:  ok: loadable as a pricing rule (settings are checked by `plugin run` and at start-up)");
            Ok(ExitCode::SUCCESS)
        }
        Ok(World::PaymentGateway) => {
            println!("world:    payment-gateway");
            print_capabilities(config, &engine, &component, file);
            println!(
                "verdict:  ok: loadable as a payment gateway (settings and secrets are checked at start-up; it \
                 reaches only its allowed_hosts)"
            );
            Ok(ExitCode::SUCCESS)
        }
        Err(kind) => {
            println!("verdict:  refused: {kind}");
            Ok(ExitCode::FAILURE)
        }
    }
}

/// A gateway's capabilities, asked as the loader asks them (after `validate-settings`) but with
/// default settings (`{}`): the engine asks again at start-up, with the configured ones. Neither
/// answer changes the verdict, which is about the component.
fn print_capabilities(config: &Config, engine: &Engine, component: &Component, file: &Path) {
    let mut plugin = file_config(file, serde_json::Map::new());
    plugin.limits.timeout_ms = GATEWAY_TIMEOUT_MS;
    let name = plugin_name(file);
    let load = async || {
        let mut gateway = GatewayPlugin::new(engine, component, &name, &plugin, config.environment, false)?;
        gateway.load().await.map(|()| gateway.capabilities())
    };
    // `check` is synchronous and runs inside the CLI's runtime, which cannot be blocked on from
    // within; a thread of its own with a runtime of its own can.
    let asked = std::thread::scope(|scope| {
        scope
            .spawn(|| match tokio::runtime::Builder::new_current_thread().enable_all().build() {
                Ok(runtime) => runtime.block_on(load()),
                Err(e) => Err(PluginError::new(&name, PluginErrorKind::Link { reason: e.to_string() })),
            })
            .join()
    });
    match asked {
        Ok(Ok(capabilities)) => {
            println!("capabilities (with default settings; asked again at start-up with the configured ones):");
            println!("  staff_confirms_payment: {}", capabilities.staff_confirms_payment);
            println!("  unpaid_orders_expire:   {}", capabilities.unpaid_orders_expire);
        }
        Ok(Err(PluginError { kind: PluginErrorKind::SettingsRejected { message }, .. })) => println!(
            "capabilities: not asked: its default settings are refused ({message}); the engine asks at start-up, \
             with the configured ones"
        ),
        Ok(Err(error)) => {
            println!("capabilities: failed with default settings: {error} (a failure at start-up refuses the load)")
        }
        Err(_) => println!("capabilities: failed: the host thread asking them panicked"),
    }
}

/// The configuration `check` and `run` give a plugin file: its settings, nothing granted.
fn file_config(module: &Path, settings: serde_json::Map<String, serde_json::Value>) -> PluginConfig {
    PluginConfig {
        module: module.to_path_buf(),
        sha256: None,
        settings,
        secrets: BTreeMap::new(),
        limits: PluginLimits::default(),
        on_error: OnError::Fail,
        allowed_hosts: Vec::new(),
        http: Default::default(),
    }
}

/// A plugin file's name in messages: its file stem.
fn plugin_name(file: &Path) -> String {
    file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "plugin".into())
}

/// Options of `engine plugin run`.
pub struct RunOptions<'a> {
    /// A `.wasm` path, or the name of a configured `[plugins.<name>]`.
    pub plugin: &'a str,
    pub cart: &'a Path,
    /// Settings JSON (or TOML) file for a `.wasm` path; a configured plugin uses its own.
    pub settings: Option<&'a Path>,
    pub fuel: Option<u64>,
    pub timeout_ms: Option<u64>,
}

/// `engine plugin run`: one call on a cart, printed as JSON (output, time, fuel). Exit 1 when
/// the plugin fails or its output is invalid.
pub async fn run(config: &Config, options: RunOptions<'_>) -> anyhow::Result<ExitCode> {
    let cart = read_cart(options.cart)?;
    let (name, mut plugin_config) = match config.plugins.get(options.plugin) {
        Some(configured) if !is_module_path(options.plugin) => (options.plugin.to_owned(), configured.clone()),
        _ => {
            let path = Path::new(options.plugin);
            let settings = match options.settings {
                Some(file) => read_settings(file)?,
                None => serde_json::Map::new(),
            };
            (plugin_name(path), file_config(path, settings))
        }
    };
    plugin_config.limits.fuel = options.fuel.or(plugin_config.limits.fuel).or(Some(DEFAULT_RUN_FUEL));
    if let Some(timeout_ms) = options.timeout_ms {
        plugin_config.limits.timeout_ms = timeout_ms;
    }
    let plugins = BTreeMap::from([(name.clone(), plugin_config)]);
    let set =
        match PluginSet::load(&config.plugin_runtime, &plugins, &PricingConfig::default(), config.environment).await {
            Ok(set) => set,
            Err(error) => {
                eprintln!("{error}");
                return Ok(ExitCode::FAILURE);
            }
        };
    let plugin = set.plugins.get(&name).context("plugin missing from its own set")?;
    let Some(rule) = plugin.rule() else {
        eprintln!("plugin `{name}` is a payment gateway: `plugin run` prices a cart with a pricing rule");
        return Ok(ExitCode::FAILURE);
    };
    let mut priced = PricedCart::new(&cart)?;
    let (output, report) = rule.price_with_report(&priced.view()).await;
    let mut answer = serde_json::json!({
        "plugin": name,
        "time_us": report.elapsed.as_micros() as u64,
        "fuel_used": report.fuel_used,
    });
    let code = match output {
        Ok(output) => {
            answer["output"] = serde_json::to_value(&output)?;
            match priced.apply(&name, output) {
                Ok(()) => {
                    answer["priced"] = serde_json::to_value(&priced)?;
                    ExitCode::SUCCESS
                }
                Err(error) => {
                    answer["error"] = super::PluginError::invalid_output(&name, &error).to_string().into();
                    ExitCode::FAILURE
                }
            }
        }
        Err(error) => {
            answer["error"] = error.to_string().into();
            ExitCode::FAILURE
        }
    };
    println!("{}", serde_json::to_string_pretty(&answer)?);
    Ok(code)
}

/// Whether the `plugin run` argument is a file rather than a configured plugin's name.
fn is_module_path(arg: &str) -> bool {
    arg.ends_with(".wasm") || Path::new(arg).components().count() > 1
}

/// Reads a cart in the cart-JSON format shared with the SDK (`commerce_sdk::Cart::from_json`).
pub fn read_cart(path: &Path) -> anyhow::Result<Cart> {
    let json = std::fs::read_to_string(path).with_context(|| format!("cannot read cart {}", path.display()))?;
    Cart::from_json(&json).with_context(|| format!("cart {} is not a valid cart", path.display()))
}

/// Settings for a plugin file: a JSON object, or a TOML table when the file ends in `.toml`.
fn read_settings(path: &Path) -> anyhow::Result<serde_json::Map<String, serde_json::Value>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read settings {}", path.display()))?;
    let value: serde_json::Value = if path.extension().is_some_and(|e| e == "toml") {
        serde_json::to_value(toml::from_str::<toml::Table>(&text)?)?
    } else {
        serde_json::from_str(&text)?
    };
    match value {
        serde_json::Value::Object(map) => Ok(map),
        _ => anyhow::bail!("settings {} must be an object", path.display()),
    }
}
