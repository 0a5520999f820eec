//! `limits.timeout_ms` is the wall-clock bound of one guest call, host waits included. A rule
//! that sleeps (a `wasi:clocks` pollable the guest waits on in the host, which epoch interruption
//! does not reach) is stopped at its deadline like one that spins: 503 `pricing_unavailable` from
//! the preview, a `skip` notice on reads, an error from `engine plugin run`, a bounded reload, and
//! its instance slot is back in the pool for the next call.
//!
//! Bounds on elapsed time are far from normal timings (a 100 ms deadline against a 60 s sleep):
//! they tell "stopped at the deadline" from "slept it out", nothing finer; latency belongs in the
//! bench crate.

use std::time::{Duration, Instant};

use commerce_engine::config::PluginConfig;
use serde_json::{Value, json};

use crate::{
    helpers::{plugins::*, *},
    products::{id, simple_product},
};

/// Far below the fixture's 60 s sleep, far above a 100 ms deadline.
const STOPPED_WELL_BEFORE: Duration = Duration::from_secs(20);

fn sleeper(timeout_ms: u64) -> PluginConfig {
    with(plugin("fixture-probe", json!({"mode": "sleep"})), |p| p.limits.timeout_ms = timeout_ms)
}

fn tiers() -> PluginConfig {
    plugin("volume-tiers", json!({"tiers": [{"min_quantity": 5, "basis_points": 500}]}))
}

/// A staff token and six pairs of ₹250.00 socks to price.
async fn socks(app: &TestApp) -> (String, Value) {
    let staff = app.staff().await.access;
    let socks = id(&simple_product(app, &staff, "Socks", 25_000, 100).await["variants"][0]);
    (staff, cart(&[(&socks, 6)], &[], "KA"))
}

/// Guards the wall-clock bound: before it, the preview waited out the guest's 60 s sleep (the
/// test client gives up after 30 s) while `/health` was served only because the sleep was async.
#[tokio::test]
async fn a_rule_that_sleeps_in_the_host_is_stopped_at_its_timeout_while_health_answers() {
    let app = spawn_app_with(|config| chain(config, vec![("sleeper", sleeper(1_000))])).await;
    let (staff, body) = socks(&app).await;

    let request = app.client.post(app.url(PREVIEW)).bearer_auth(&staff).json(&body);
    let started = Instant::now();
    let preview = tokio::spawn(async move { TestApp::read(request.send().await.expect("preview sent")).await });
    let mut health_while_sleeping = 0;
    while !preview.is_finished() {
        let health = app.get("/health", None).await;
        assert_eq!(health.status, 200, "{}", health.text);
        if !preview.is_finished() {
            health_while_sleeping += 1;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let response = preview.await.expect("preview task");
    let elapsed = started.elapsed();

    response.assert_problem(503, "pricing_unavailable");
    assert_eq!(response.body["plugin"], "sleeper", "{}", response.text);
    assert!(response.body["detail"].as_str().unwrap_or("").contains("timed out after 1000 ms"), "{}", response.text);
    assert!(elapsed < STOPPED_WELL_BEFORE, "stopped at its deadline, not after the sleep: {elapsed:?}");
    assert!(health_while_sleeping >= 1, "/health answered while the rule slept");
}

/// Guards that a stopped call gives its instance slot (and fiber stack) back: with one slot, a
/// sleeping skippable rule followed by a well-behaved one must price every time; a slot kept by
/// the abandoned call would make the next rule (and every later read) fail as busy.
#[tokio::test]
async fn a_skippable_rule_that_sleeps_is_skipped_with_a_notice_and_frees_its_slot() {
    let app = spawn_app_with(|config| {
        config.plugin_runtime.max_instances = 1;
        chain(config, vec![("sleeper", skippable(sleeper(100))), ("tiers", tiers())]);
    })
    .await;
    let (staff, body) = socks(&app).await;

    let started = Instant::now();
    for _ in 0..3 {
        let response = app.post(PREVIEW, Some(&staff), body.clone()).await;

        assert_eq!(response.status, 200, "{}", response.text);
        assert_eq!(response.body["total"], 142_500, "tiers priced after the sleeper was stopped: {}", response.text);
        let notices = response.body["notices"].as_array().expect("notices");
        assert_eq!(notices.len(), 1, "{}", response.text);
        assert_eq!((&notices[0]["kind"], &notices[0]["plugin"]), (&json!("rule_skipped"), &json!("sleeper")));
        assert!(notices[0]["message"].as_str().unwrap_or("").contains("timed out after 100 ms"), "{}", response.text);
    }
    assert!(started.elapsed() < STOPPED_WELL_BEFORE, "three reads took {:?}", started.elapsed());

    let checkout = app.post(PREVIEW, Some(&staff), with_purpose(body, "checkout")).await;
    checkout.assert_problem(503, "pricing_unavailable");
    assert_eq!(checkout.body["plugin"], "sleeper", "{}", checkout.text);
}

/// Guards the bound in the author's tool: before, `plugin run` slept the full 60 s and then
/// reported "timed out".
#[tokio::test]
async fn plugin_run_stops_a_rule_that_sleeps_at_its_timeout() {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = dir.path().join("sleep.json");
    std::fs::write(&settings, r#"{"mode": "sleep"}"#).expect("settings");
    let cart = workspace_root().join("sdk/pipeline/tests/carts/socks.json");
    let module = wasm("fixture-probe");
    let args = ["plugin", "run", module.to_str().expect("path"), "--cart", cart.to_str().expect("path")];
    let settings = settings.display().to_string();
    let args = [&args[..], &["--settings", &settings, "--timeout-ms", "100"]].concat();

    let started = Instant::now();
    let run = engine_cli(dir.path(), &args).await;

    assert_eq!(run.code, Some(1), "{}", run.output());
    let error = run.json()["error"].as_str().map(str::to_owned).unwrap_or_else(|| panic!("{}", run.output()));
    assert!(error.contains("plugin `fixture_probe` timed out after 100 ms"), "{error}");
    assert!(started.elapsed() < STOPPED_WELL_BEFORE, "took {:?}: {}", started.elapsed(), run.output());
}

/// Guards that a reload holds its lock no longer than its plugins' validate deadlines: a new
/// rule whose `validate-settings` sleeps 60 s fails the reload at its 100 ms deadline, and the
/// old set keeps pricing.
#[tokio::test]
async fn a_reload_whose_validate_sleeps_fails_at_the_deadline_and_keeps_the_old_set() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("plugins.toml");
    let tiers_toml = format!(
        "[pricing]\nchain = [\"rule\"]\n[plugins.rule]\nmodule = {:?}\nsettings = {{ tiers = [{{ min_quantity = 5, basis_points = 500 }}] }}\n",
        wasm("volume-tiers").display().to_string()
    );
    std::fs::write(&file, &tiers_toml).expect("config file");
    let app = spawn_app_reloading_from(&file).await;
    let (staff, body) = socks(&app).await;
    let sleepy = format!(
        "[pricing]\nchain = [\"rule\"]\n[plugins.rule]\nmodule = {:?}\nsettings = {{ mode = \"sleep_validate\" }}\nlimits = {{ timeout_ms = 100 }}\n",
        wasm("fixture-probe").display().to_string()
    );
    std::fs::write(&file, sleepy).expect("config file");

    let started = Instant::now();
    let reloaded = app.request(reqwest::Method::POST, RELOAD, Some(&staff), None).await;

    reloaded.assert_problem(422, "plugin_load_failed");
    assert!(reloaded.text.contains("plugin `rule` timed out after 100 ms"), "{}", reloaded.text);
    assert!(started.elapsed() < STOPPED_WELL_BEFORE, "the reload took {:?}", started.elapsed());
    let priced = app.post(PREVIEW, Some(&staff), body).await;
    assert_eq!((priced.status.as_u16(), &priced.body["total"]), (200, &json!(142_500)), "{}", priced.text);
}
