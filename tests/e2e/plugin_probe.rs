//! What the sandbox shows a pricing rule, read back from the `probe` fixture: a clock stopped at
//! 0, random bytes that are the same in every instance, no environment or arguments, its settings
//! and never its secrets; and what a failing guest can put in an error: a named trap, a panic
//! message short and free of control characters, log records capped in bytes.

use commerce_engine::config::PluginConfig;
use serde_json::{Value, json};

use crate::{
    helpers::{plugins::*, *},
    products::{id, simple_product},
};

/// A running app whose chain is `plugins`, a staff token, and six pairs of socks to price.
async fn app_with(plugins: Vec<(&str, PluginConfig)>, pooling: bool) -> (TestApp, String, Value) {
    let app = spawn_app_with(|config| {
        config.plugin_runtime.pooling = pooling;
        chain(config, plugins);
    })
    .await;
    let staff = app.staff().await.access;
    let socks = id(&simple_product(&app, &staff, "Socks", 25_000, 100).await["variants"][0]);
    let body = cart(&[(&socks, 6)], &[], "KA");
    (app, staff, body)
}

fn probe(mode: &str) -> PluginConfig {
    plugin("fixture-probe", json!({"mode": mode}))
}

/// The `detail` of a 503 `pricing_unavailable` naming `plugin`.
#[track_caller]
fn detail_of(response: &TestResponse, plugin: &str) -> String {
    response.assert_problem(503, "pricing_unavailable");
    assert_eq!(response.body["plugin"], plugin, "{}", response.text);
    response.body["detail"].as_str().unwrap_or_default().to_owned()
}

/// The value after `key=` in the probe's report, up to the next space.
fn field<'a>(report: &'a str, key: &str) -> &'a str {
    let start = report.find(&format!("{key}=")).unwrap_or_else(|| panic!("no {key} in {report}")) + key.len() + 1;
    report[start..].split(' ').next().unwrap_or_default()
}

/// The promises of the README's sandbox section, each read back from inside a real component.
#[tokio::test]
async fn a_rule_sees_a_stopped_clock_fixed_random_bytes_no_environment_and_never_its_secrets() {
    let secret = "s3cret-canary-7f1d";
    let probe = with(plugin("fixture-probe", json!({"mode": "report", "canary": "visible-setting"})), |p| {
        p.secrets.insert("api_key".into(), secret.to_owned().into());
    });
    let (app, staff, body) = app_with(vec![("probe_seen", probe)], true).await;

    let first = detail_of(&app.post(PREVIEW, Some(&staff), body.clone()).await, "probe_seen");
    let second = detail_of(&app.post(PREVIEW, Some(&staff), body).await, "probe_seen");

    assert_eq!(field(&first, "wall_ns"), "0", "{first}");
    assert_eq!(field(&first, "elapsed_ns"), "0", "{first}");
    assert_eq!(field(&first, "env"), "[]", "{first}");
    assert_eq!(field(&first, "args"), "[]", "{first}");
    assert!(first.contains(r#""canary":"visible-setting""#), "the settings reach the rule: {first}");
    assert_eq!(field(&first, "seed"), field(&second, "seed"), "a fresh instance draws the same random bytes");
    assert!(!first.contains(secret), "{first}");
    let logs = captured_logs();
    assert!(logs.contains("probe_seen"), "the probe's own records were logged");
    assert!(!logs.contains(secret), "the secret never reaches the logs");
}

/// Guards the trap description: a guest that overflowed its stack was reported as "trapped:
/// error while executing at wasm backtrace:" with nothing said.
#[tokio::test]
async fn a_rule_that_overflows_its_stack_is_reported_as_such() {
    let (app, staff, body) = app_with(vec![("deep", probe("recurse"))], true).await;

    let detail = detail_of(&app.post(PREVIEW, Some(&staff), body).await, "deep");

    assert_eq!(detail, "plugin `deep` trapped: call stack exhausted");
}

/// Guards the panic message in a 503: it was cut at 1024 characters and kept escape sequences,
/// tabs and NULs, which then reached clients, logs and terminals.
#[tokio::test]
async fn a_panic_message_in_a_detail_is_short_and_free_of_control_characters() {
    let (app, staff, body) = app_with(vec![("noisy", probe("noisy_panic"))], true).await;

    let detail = detail_of(&app.post(PREVIEW, Some(&staff), body).await, "noisy");

    assert!(detail.starts_with("plugin `noisy` panicked: noisy  [2J [31mALERT "), "escapes are spaces: {detail}");
    assert!(!detail.chars().any(char::is_control), "{detail:?}");
    assert!(detail.chars().count() < 320, "{} characters: {detail}", detail.chars().count());
    assert!(detail.ends_with('…'), "marked as cut: {detail}");
}

/// Guards the per-call byte cap on logs: `chatty` writes 1000 records of 10 KiB; 64 records of
/// 1 KiB (the record cap alone) were kept before, 64 KiB of log lines per call.
#[tokio::test]
async fn a_chatty_rule_gets_its_log_records_capped_in_bytes_and_the_rest_counted() {
    // A deadline far from the call's ~40 ms, which a loaded machine stretches several times.
    let chatty = with(plugin("fixture-chatty", json!({})), |p| p.limits.timeout_ms = 5_000);
    let (app, staff, body) = app_with(vec![("chatty_bytes", chatty)], true).await;

    let response = app.post(PREVIEW, Some(&staff), body).await;

    assert_eq!(response.status, 200, "{}", response.text);
    let records: Vec<Value> = captured_logs()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|record| record["fields"]["plugin"] == "chatty_bytes")
        .collect();
    let kept: Vec<&Value> = records.iter().filter(|r| r["fields"]["fields"].as_str().is_some()).collect();
    let kept_bytes: usize = kept.iter().map(|r| r["fields"]["message"].as_str().unwrap_or("").len()).sum();
    assert!(!kept.is_empty() && kept.len() < 64, "{} records kept", kept.len());
    assert!(kept_bytes <= 16 * 1024, "{kept_bytes} bytes kept");
    let dropped = records
        .iter()
        .find(|r| r["fields"]["message"] == "plugin log records dropped over the per-call cap")
        .unwrap_or_else(|| panic!("no drop count for chatty_bytes"));
    assert_eq!(dropped["fields"]["dropped"].as_u64(), Some(1_000 - kept.len() as u64), "{dropped}");
}

/// `plugin_runtime.pooling = false` (instances allocated on demand) prices like the pool does
/// and still stops a rule at its deadline.
#[tokio::test]
async fn without_the_pooling_allocator_rules_price_and_are_stopped_alike() {
    let tiers = plugin("volume-tiers", json!({"tiers": [{"min_quantity": 5, "basis_points": 500}]}));
    let sleeper = with(skippable(probe("sleep")), |p| p.limits.timeout_ms = 100);
    let (app, staff, body) = app_with(vec![("sleeper", sleeper), ("tiers", tiers)], false).await;

    let response = app.post(PREVIEW, Some(&staff), body).await;

    assert_eq!((response.status.as_u16(), &response.body["total"]), (200, &json!(142_500)), "{}", response.text);
    assert_eq!(response.body["notices"][0]["plugin"], "sleeper", "{}", response.text);
}
