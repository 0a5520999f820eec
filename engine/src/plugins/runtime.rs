//! The wasmtime `Engine`: one per process and runtime configuration, shared by every plugin set
//! (so a reload reuses it and the compile cache stays valid).
//!
//! Fuel metering is an engine-wide switch that changes the compiled code, so a process holds at
//! most two engines per `[plugin_runtime]`: with fuel (when any loaded plugin sets
//! `limits.fuel`) and without. Each engine has a ticker thread that advances its epoch every
//! [`EPOCH_TICK`]; calls set their deadline in ticks and yield to tokio on each one.

use std::{
    collections::HashMap,
    sync::{LazyLock, Mutex},
    time::Duration,
};

use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, OptLevel, PoolingAllocationConfig};

use crate::config::PluginRuntimeConfig;

/// How often the epoch advances: the granularity of timeouts and of yielding to other tasks.
pub const EPOCH_TICK: Duration = Duration::from_millis(1);

/// Core wasm instances a Rust component needs (its module plus wit-component's shims), with room.
const CORE_INSTANCES_PER_COMPONENT: u32 = 8;

#[derive(Clone, PartialEq, Eq, Hash)]
struct EngineKey {
    pooling: bool,
    max_instances: u32,
    max_memory_mib: u32,
    fuel: bool,
}

static ENGINES: LazyLock<Mutex<HashMap<EngineKey, Engine>>> = LazyLock::new(Default::default);

/// The engine for `config`, with or without fuel metering; built (and its ticker started) once.
pub fn engine(config: &PluginRuntimeConfig, fuel: bool) -> anyhow::Result<Engine> {
    let key = EngineKey {
        pooling: config.pooling,
        max_instances: config.max_instances,
        max_memory_mib: config.max_memory_mib,
        fuel,
    };
    let mut engines = ENGINES.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    if let Some(engine) = engines.get(&key) {
        return Ok(engine.clone());
    }
    let engine = Engine::new(&wasmtime_config(&key))?;
    let ticker = engine.clone();
    std::thread::Builder::new().name("plugin-epoch".to_owned()).spawn(move || {
        loop {
            std::thread::sleep(EPOCH_TICK);
            ticker.increment_epoch();
        }
    })?;
    engines.insert(key, engine.clone());
    Ok(engine)
}

fn wasmtime_config(key: &EngineKey) -> Config {
    let mut config = Config::new();
    config.wasm_component_model(true);
    config.epoch_interruption(true);
    config.consume_fuel(key.fuel);
    // Plugins are synchronous guests; without the component-model-async machinery a call costs
    // about a third (measured: a no-op call 369 ns → 114 ns).
    config.concurrency_support(false);
    config.cranelift_opt_level(OptLevel::Speed);
    if key.pooling {
        let n = key.max_instances;
        let mut pool = PoolingAllocationConfig::default();
        pool.total_component_instances(n);
        pool.total_core_instances(n.saturating_mul(CORE_INSTANCES_PER_COMPONENT).max(32));
        pool.total_memories(n.saturating_mul(2).max(8));
        pool.total_tables(n.saturating_mul(CORE_INSTANCES_PER_COMPONENT).max(32));
        pool.total_stacks(n);
        pool.max_memory_size((key.max_memory_mib as usize) << 20);
        // Reset a slot for reuse by rewriting only the pages the last call dirtied (Linux ≥ 6.7
        // PAGEMAP_SCAN) instead of `madvise`-ing it away: no page faults on the next call and no
        // cross-CPU TLB flushes. Where the kernel lacks it, wasmtime falls back to `madvise`.
        pool.pagemap_scan(Enabled::Auto);
        pool.linear_memory_keep_resident((key.max_memory_mib as usize) << 20);
        pool.table_keep_resident(1 << 20);
        config.allocation_strategy(InstanceAllocationStrategy::Pooling(pool));
    }
    config
}
