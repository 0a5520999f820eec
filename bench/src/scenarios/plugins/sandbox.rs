//! What a misbehaving plugin costs everyone else, measured here rather than asserted in tests
//! (tests only check that other requests are answered and that a busy call is refused):
//!
//! - `health during spin`: `/health` back to back over HTTP, to an engine in this process whose
//!   only plugin spins until its 1 s deadline on the same runtime (the engine's: one worker per
//!   CPU; the epoch callback yields on every 1 ms tick, so the spinning call shares its worker).
//!   Target: p50 < 50 ms. The e2e test runs the same on a one-thread runtime, the harder case,
//!   and only checks that `/health` is answered.
//! - `refused busy call`: with `plugin_runtime.max_instances = 1` and the slot held by a spinning
//!   call, how long a second call takes to be refused (it must not queue for the slot).
//!   Target: < 900 ms, i.e. well before the first call's deadline.

use std::{
    path::Path,
    time::{Duration, Instant},
};

use anyhow::{Context, ensure};
use commerce_engine::{
    AppState, Application,
    config::{self, Config, OnError, PluginConfig, PluginLimits, StoreConfig},
    pricing::Purpose,
};
use commerce_pipeline::Cart;

use crate::{load::Samples, report, stats::Summary};

/// The spinning plugin's deadline: one sample window.
const SPIN: Duration = Duration::from_secs(1);
pub const HEALTH_P50_TARGET: Duration = Duration::from_millis(50);
pub const REFUSED_TARGET: Duration = Duration::from_millis(900);

fn spin_module() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/plugins/wasm32-wasip2/plugin/fixture_spin.wasm")
}

/// A config with a fresh SQLite file under `dir` and `spin` as the whole chain.
fn config(dir: &Path, max_instances: u32) -> anyhow::Result<Config> {
    let toml = format!("[database]\nurl = \"sqlite://{}\"\n[jobs]\nenabled = false\n", dir.join("bench.db").display());
    let mut config = config::load_from_str(&toml).context("bench config")?;
    config.plugin_runtime.max_instances = max_instances;
    let spin = PluginConfig {
        module: spin_module(),
        sha256: None,
        settings: serde_json::Map::new(),
        secrets: Default::default(),
        limits: PluginLimits { timeout_ms: SPIN.as_millis() as u64, ..PluginLimits::default() },
        on_error: OnError::Fail,
        allowed_hosts: Vec::new(),
        http: Default::default(),
    };
    config.plugins.insert("spin".into(), spin);
    config.pricing.chain = vec!["spin".into()];
    Ok(config)
}

/// Both scenarios, each on its own engine (the pool size is fixed per engine).
pub async fn run(store: &StoreConfig) -> anyhow::Result<Vec<Summary>> {
    ensure!(spin_module().is_file(), "{} is missing: run `cargo xtask plugins`", spin_module().display());
    let cart = super::carts::generate(10, store)?;
    let dir = tempfile::tempdir().context("temp dir")?;
    Ok(vec![
        health_during_spin(&dir.path().join("health"), &cart).await?,
        refused(&dir.path().join("busy"), &cart).await?,
    ])
}

async fn health_during_spin(dir: &Path, cart: &Cart) -> anyhow::Result<Summary> {
    std::fs::create_dir_all(dir)?;
    let state = AppState::new(config(dir, 8)?).await?;
    let app = Application::from_state(state.clone()).await?;
    let url = format!("http://127.0.0.1:{}/health", app.port());
    let stop = app.stop_token();
    let server = tokio::spawn(app.run_until_stopped());
    let http = super::super::http_client()?;
    http.get(&url).send().await?.error_for_status()?;

    let pricing = state.pricing.clone();
    let cart = cart.clone();
    let started = Instant::now();
    let spin = tokio::spawn(async move { pricing.price(&cart, Purpose::Display).await.is_err() });
    let mut samples = Samples::default();
    while !spin.is_finished() {
        let sent = Instant::now();
        let ok = http.get(&url).send().await?.status().is_success();
        if !spin.is_finished() {
            match ok {
                true => samples.latencies.push(sent.elapsed()),
                false => samples.errors += 1,
            }
        }
    }
    let elapsed = started.elapsed();
    ensure!(spin.await?, "the spinning plugin was not stopped");
    stop.cancel();
    server.await??;
    Ok(Summary::new("health during spin", samples, elapsed))
}

async fn refused(dir: &Path, cart: &Cart) -> anyhow::Result<Summary> {
    std::fs::create_dir_all(dir)?;
    let state = AppState::new(config(dir, 1)?).await?;
    let mut samples = Samples::default();
    let started = Instant::now();
    for _ in 0..3 {
        let holder = state.pricing.clone();
        let held_cart = cart.clone();
        let holding = tokio::spawn(async move { holder.price(&held_cart, Purpose::Display).await });
        // Let the first call take the slot.
        tokio::time::sleep(Duration::from_millis(20)).await;
        let asked = Instant::now();
        let second = state.pricing.price(cart, Purpose::Display).await;
        let took = asked.elapsed();
        match second {
            Err(error) if error.to_string().contains("no free instance slot") => samples.latencies.push(took),
            _ => samples.errors += 1,
        }
        let _ = holding.await?;
    }
    Ok(Summary::new("refused busy call", samples, started.elapsed()))
}

/// The verdict lines of both targets.
pub fn print_targets(rows: &[Summary]) {
    if let Some(health) = rows.iter().find(|r| r.scenario == "health during spin") {
        let verdict = if health.requests > 0 && health.p50 < HEALTH_P50_TARGET { "MET" } else { "NOT MET" };
        println!(
            "target: /health p50 < {} ms while a plugin spins {:?} on the same runtime: {verdict} (p50 {:.2} ms, max {:.2} ms, {} requests)",
            report::millis(HEALTH_P50_TARGET),
            SPIN,
            report::millis(health.p50),
            report::millis(health.max),
            health.requests
        );
    }
    if let Some(busy) = rows.iter().find(|r| r.scenario == "refused busy call") {
        let verdict =
            if busy.requests > 0 && busy.errors == 0 && busy.max < REFUSED_TARGET { "MET" } else { "NOT MET" };
        println!(
            "target: a call beyond the instance pool refused in < {} ms: {verdict} (max {:.2} ms, {} refused, {} not refused)",
            report::millis(REFUSED_TARGET),
            report::millis(busy.max),
            busy.requests,
            busy.errors
        );
    }
}
