//! A loaded plugin set (immutable once built) and the registry that swaps it atomically on
//! reload: requests take an `Arc` of the current set, so in-flight requests finish on the old
//! set while new ones use the new.

use std::{
    collections::{BTreeMap, VecDeque},
    path::PathBuf,
    sync::{
        Arc, Mutex, RwLock,
        atomic::{AtomicU64, Ordering},
    },
    time::Duration,
};

use commerce_pipeline::{CartView, RuleOutput};
use sha2::{Digest, Sha256};

use super::{
    cache::{CompileCache, Compiled},
    error::{LoadError, PluginError, PluginErrorKind},
    inspect::{ComponentInfo, World},
    payment_gateway::GatewayPlugin,
    pricing_rule::PricingRulePlugin,
    runtime,
};
use crate::config::{self, Environment, OnError, PluginConfig, PluginLimits, PluginRuntimeConfig, PricingConfig};

/// Call times kept per plugin for the p50/p99 in `GET /admin/plugins`.
const LATENCY_SAMPLES: usize = 1024;

/// One plugin of a set, compiled, linked and with validated settings.
pub struct LoadedPlugin {
    pub name: String,
    pub world: World,
    /// The `commerce:plugin` version it was built for.
    pub version: String,
    pub module: PathBuf,
    pub sha256: String,
    pub size_bytes: u64,
    pub limits: PluginLimits,
    pub on_error: OnError,
    pub compiled: Compiled,
    pub imports: Vec<String>,
    /// Calls through the pricing service (recorded there, where the outcome is known).
    pub stats: CallStats,
    pub runnable: Runnable,
}

/// What a loaded plugin runs, by its world.
pub enum Runnable {
    Rule(PricingRulePlugin),
    /// Boxed: a gateway carries its host context (secrets, HTTP client) beside the linked world.
    Gateway(Box<GatewayPlugin>),
}

impl LoadedPlugin {
    /// One call of the pricing rule in a fresh sandboxed instance. A gateway never reaches here:
    /// the loader refuses one named in `[pricing] chain`.
    pub async fn price(&self, cart: &CartView) -> Result<RuleOutput, PluginError> {
        match &self.runnable {
            Runnable::Rule(rule) => rule.price(cart).await,
            Runnable::Gateway(_) => Err(PluginError::new(&self.name, PluginErrorKind::NotAPricingRule)),
        }
    }

    pub fn rule(&self) -> Option<&PricingRulePlugin> {
        match &self.runnable {
            Runnable::Rule(rule) => Some(rule),
            Runnable::Gateway(_) => None,
        }
    }

    pub fn gateway(&self) -> Option<&GatewayPlugin> {
        match &self.runnable {
            Runnable::Gateway(gateway) => Some(gateway),
            Runnable::Rule(_) => None,
        }
    }

    /// The guest's checks at load: its settings, and a gateway's capabilities.
    async fn check_at_load(&mut self) -> Result<(), PluginError> {
        match &mut self.runnable {
            Runnable::Rule(rule) => rule.validate_settings().await,
            Runnable::Gateway(gateway) => gateway.load().await,
        }
    }
}

/// Calls, failures and recent call times of one plugin in one set.
#[derive(Default)]
pub struct CallStats {
    pub calls: AtomicU64,
    pub failures: AtomicU64,
    recent_micros: Mutex<VecDeque<u64>>,
}

impl CallStats {
    pub fn record(&self, elapsed: Duration, ok: bool) {
        self.calls.fetch_add(1, Ordering::Relaxed);
        if !ok {
            self.failures.fetch_add(1, Ordering::Relaxed);
        }
        let mut recent = self.recent_micros.lock().unwrap_or_else(|p| p.into_inner());
        if recent.len() == LATENCY_SAMPLES {
            recent.pop_front();
        }
        recent.push_back(u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX));
    }

    /// (p50, p99) of the recent call times in microseconds, if there were calls.
    pub fn percentiles_micros(&self) -> Option<(u64, u64)> {
        let mut sorted: Vec<u64> =
            self.recent_micros.lock().unwrap_or_else(|p| p.into_inner()).iter().copied().collect();
        if sorted.is_empty() {
            return None;
        }
        sorted.sort_unstable();
        let at = |q: usize| sorted[(sorted.len() * q / 100).min(sorted.len() - 1)];
        Some((at(50), at(99)))
    }
}

/// Every configured plugin plus the pricing chain, as one immutable unit.
pub struct PluginSet {
    /// By name.
    pub plugins: BTreeMap<String, Arc<LoadedPlugin>>,
    /// `[pricing] chain`, in order.
    pub chain: Vec<Arc<LoadedPlugin>>,
    /// A digest of what was loaded (module digests, settings, limits, chain): equal on every
    /// instance that runs the same plugins, so drift shows.
    pub version: String,
    /// Sets loaded by this process so far (1 at start-up).
    pub generation: u64,
    /// When it was loaded (Unix ms).
    pub loaded_at: i64,
}

impl PluginSet {
    /// Loads every plugin in `plugins` (compiling off the async runtime) and checks the chain.
    /// Reports every plugin that fails, not just the first. `environment` decides whether a
    /// gateway may use plain http to loopback (development only, see `outbound`).
    pub async fn load(
        runtime_config: &PluginRuntimeConfig,
        plugins: &BTreeMap<String, PluginConfig>,
        pricing: &PricingConfig,
        environment: Environment,
    ) -> Result<Self, LoadError> {
        let fuel = plugins.values().any(|p| p.limits.fuel.is_some());
        let (runtime_config, configs) = (runtime_config.clone(), plugins.clone());
        let prepared = tokio::task::spawn_blocking(move || prepare_all(&runtime_config, &configs, fuel, environment))
            .await
            .map_err(|e| PluginError::new("*", PluginErrorKind::Link { reason: format!("loader crashed: {e}") }))?;

        let mut errors = Vec::new();
        let mut loaded = BTreeMap::new();
        for result in prepared {
            match result {
                Ok(mut plugin) => {
                    if plugin.world == World::PaymentGateway && pricing.chain.contains(&plugin.name) {
                        errors.push(PluginError::new(&plugin.name, PluginErrorKind::NotAPricingRule));
                        continue;
                    }
                    if let Err(error) = plugin.check_at_load().await {
                        errors.push(error);
                        continue;
                    }
                    tracing::info!(
                        plugin = %plugin.name, world = plugin.world.as_str(), sha256 = %plugin.sha256,
                        compiled = ?plugin.compiled, "plugin loaded"
                    );
                    loaded.insert(plugin.name.clone(), Arc::new(plugin));
                }
                Err(error) => errors.push(error),
            }
        }
        if !errors.is_empty() {
            return Err(LoadError { errors });
        }
        // Every chain name is loaded by now: config validation refuses unconfigured ones, and a
        // plugin that failed returned above.
        let chain = pricing.chain.iter().filter_map(|name| loaded.get(name).cloned()).collect();
        Ok(Self {
            version: set_version(&loaded, plugins, pricing),
            plugins: loaded,
            chain,
            generation: 0,
            loaded_at: 0,
        })
    }

    /// A set with no plugins (prices every line at its subtotal).
    pub fn empty() -> Self {
        Self {
            plugins: BTreeMap::new(),
            chain: Vec::new(),
            version: set_version(&BTreeMap::new(), &BTreeMap::new(), &PricingConfig::default()),
            generation: 0,
            loaded_at: 0,
        }
    }
}

fn prepare_all(
    runtime_config: &PluginRuntimeConfig,
    configs: &BTreeMap<String, PluginConfig>,
    fuel: bool,
    environment: Environment,
) -> Vec<Result<LoadedPlugin, PluginError>> {
    if configs.is_empty() {
        // No wasmtime engine (no pool reservation, no cache directory) for a shop without plugins.
        return Vec::new();
    }
    let cache = match CompileCache::open(&runtime_config.cache_dir) {
        Ok(cache) => cache,
        Err(untrusted) => return vec![Err(PluginError::new("*", untrusted.into()))],
    };
    let cache = &cache;
    let engine = match runtime::engine(runtime_config, fuel) {
        Ok(engine) => engine,
        Err(e) => {
            let error =
                PluginError::new("*", PluginErrorKind::Link { reason: format!("cannot start wasmtime: {e:#}") });
            return vec![Err(error)];
        }
    };
    configs.iter().map(|(name, config)| prepare(&engine, cache, name, config, fuel, environment)).collect()
}

/// Reads, verifies, compiles (or loads from the cache), inspects and links one plugin.
fn prepare(
    engine: &wasmtime::Engine,
    cache: &CompileCache,
    name: &str,
    config: &PluginConfig,
    fuel_metered: bool,
    environment: Environment,
) -> Result<LoadedPlugin, PluginError> {
    let fail = |kind| PluginError::new(name, kind);
    let wasm = std::fs::read(&config.module).map_err(|e| {
        fail(PluginErrorKind::ModuleUnreadable { path: config.module.display().to_string(), reason: e.to_string() })
    })?;
    let sha256 = hex::encode(Sha256::digest(&wasm));
    if let Some(pin) = &config.sha256
        && !pin.eq_ignore_ascii_case(&sha256)
    {
        return Err(fail(PluginErrorKind::DigestMismatch { expected: pin.to_lowercase(), actual: sha256 }));
    }
    let (component, compiled) = compile(engine, cache, &wasm, &sha256).map_err(fail)?;
    let info = ComponentInfo::of(engine, &component);
    let world = info.check().map_err(fail)?;
    let settings: Arc<str> = serde_json::Value::Object(config.settings.clone()).to_string().into();
    let limits = effective_limits(world, config.limits);
    let runnable = match world {
        World::PricingRule => {
            Runnable::Rule(PricingRulePlugin::new(engine, &component, name, settings, limits, fuel_metered)?)
        }
        World::PaymentGateway => {
            let config = PluginConfig { limits, ..config.clone() };
            Runnable::Gateway(Box::new(GatewayPlugin::new(
                engine,
                &component,
                name,
                &config,
                environment,
                fuel_metered,
            )?))
        }
    };
    Ok(LoadedPlugin {
        name: name.to_owned(),
        world,
        version: info.version().unwrap_or("?").to_owned(),
        module: config.module.clone(),
        sha256,
        size_bytes: wasm.len() as u64,
        limits,
        on_error: config.on_error,
        compiled,
        imports: info.imports,
        stats: CallStats::default(),
        runnable,
    })
}

/// A gateway's call waits on the network, so one left at the pricing default of
/// `limits.timeout_ms` (100 ms, a rule's budget) gets [`GATEWAY_TIMEOUT_MS`] instead; any other
/// value is the operator's and is kept.
pub const GATEWAY_TIMEOUT_MS: u64 = 15_000;

fn effective_limits(world: World, limits: PluginLimits) -> PluginLimits {
    match world {
        World::PaymentGateway if limits.timeout_ms == PluginLimits::default().timeout_ms => {
            PluginLimits { timeout_ms: GATEWAY_TIMEOUT_MS, ..limits }
        }
        _ => limits,
    }
}

/// Compiles `wasm` through the cache, telling "not a component" apart from other failures.
pub fn compile(
    engine: &wasmtime::Engine,
    cache: &CompileCache,
    wasm: &[u8],
    sha256: &str,
) -> Result<(wasmtime::component::Component, Compiled), PluginErrorKind> {
    if !wasm.starts_with(b"\0asm") {
        return Err(PluginErrorKind::NotAComponent { reason: "the file does not start with the wasm magic".into() });
    }
    cache.load_or_compile(engine, wasm, sha256).map_err(|e| {
        let reason = format!("{e:#}");
        let reason = reason.lines().next().unwrap_or("invalid").to_owned();
        PluginErrorKind::NotAComponent { reason }
    })
}

/// The digest of what a set runs: each plugin's module digest (as loaded), settings, limits,
/// error policy, allowed hosts and HTTP bounds, and the chain. Paths and load times are left out
/// so that instances compare.
fn set_version(
    loaded: &BTreeMap<String, Arc<LoadedPlugin>>,
    plugins: &BTreeMap<String, PluginConfig>,
    pricing: &PricingConfig,
) -> String {
    let mut hasher = Sha256::new();
    for (name, plugin) in plugins {
        let module_digest = loaded.get(name).map(|p| p.sha256.as_str()).unwrap_or_default();
        let described = serde_json::json!({
            "name": name, "module": module_digest, "settings": plugin.settings,
            "limits": plugin.limits, "on_error": plugin.on_error, "allowed_hosts": plugin.allowed_hosts,
            "http": plugin.http,
        });
        hasher.update(described.to_string().as_bytes());
        hasher.update([0]);
    }
    hasher.update(pricing.chain.join(",").as_bytes());
    hex::encode(&hasher.finalize()[..8])
}

/// Where a reload reads the plugin configuration from.
#[derive(Debug, Clone)]
pub enum ReloadSource {
    /// Defaults → this file → environment, as at start-up (`engine serve`).
    ConfigFile(Option<PathBuf>),
    /// This configuration, unchanged: a reload re-reads only the module files (embedding, tests).
    Fixed { plugins: BTreeMap<String, PluginConfig>, pricing: PricingConfig },
}

/// Why a reload failed; the old set stays in service.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Load(#[from] LoadError),
}

/// The current plugin set of this instance.
pub struct PluginRegistry {
    current: RwLock<Arc<PluginSet>>,
    runtime: PluginRuntimeConfig,
    source: ReloadSource,
    /// The engine's `environment` at start-up (a reload keeps it).
    environment: Environment,
    generation: AtomicU64,
    /// One reload at a time; requests never wait for it.
    reloading: tokio::sync::Mutex<()>,
    now_ms: Box<dyn Fn() -> i64 + Send + Sync>,
}

impl PluginRegistry {
    /// Loads the initial set; an error here stops start-up.
    pub async fn load(
        runtime: PluginRuntimeConfig,
        plugins: &BTreeMap<String, PluginConfig>,
        pricing: &PricingConfig,
        environment: Environment,
        source: ReloadSource,
        now_ms: Box<dyn Fn() -> i64 + Send + Sync>,
    ) -> Result<Self, LoadError> {
        let mut set = PluginSet::load(&runtime, plugins, pricing, environment).await?;
        set.generation = 1;
        set.loaded_at = now_ms();
        Ok(Self {
            current: RwLock::new(Arc::new(set)),
            runtime,
            source,
            environment,
            generation: AtomicU64::new(1),
            reloading: tokio::sync::Mutex::new(()),
            now_ms,
        })
    }

    /// The set to use for one request (or evaluation): keep the `Arc` for its whole duration.
    pub fn current(&self) -> Arc<PluginSet> {
        self.current.read().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Re-reads the plugin configuration and modules, loads a new set, and swaps it in. On any
    /// error the old set stays.
    pub async fn reload(&self) -> Result<Arc<PluginSet>, ReloadError> {
        let _one_at_a_time = self.reloading.lock().await;
        let (plugins, pricing) = match &self.source {
            ReloadSource::ConfigFile(file) => {
                let file = file.clone();
                let (config, _) = tokio::task::spawn_blocking(move || config::load(file.as_deref()))
                    .await
                    .map_err(|e| config::ConfigError { problems: vec![format!("config reader crashed: {e}")] })??;
                if config.plugin_runtime != self.runtime {
                    tracing::warn!("[plugin_runtime] changed; it takes effect at the next restart, not on reload");
                }
                (config.plugins, config.pricing)
            }
            ReloadSource::Fixed { plugins, pricing } => (plugins.clone(), pricing.clone()),
        };
        let mut set = PluginSet::load(&self.runtime, &plugins, &pricing, self.environment).await?;
        set.generation = self.generation.fetch_add(1, Ordering::Relaxed) + 1;
        set.loaded_at = (self.now_ms)();
        let set = Arc::new(set);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = set.clone();
        tracing::info!(version = %set.version, generation = set.generation, plugins = set.plugins.len(), "plugin set reloaded");
        Ok(set)
    }
}
