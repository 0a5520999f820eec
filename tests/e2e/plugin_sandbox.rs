//! The plugin sandbox over HTTP, with the hostile fixtures (tests/fixtures/plugins) in the pricing
//! chain: a plugin that spins, hoards memory, burns fuel, panics, returns garbage or talks too
//! much fails its own evaluation with 503 `pricing_unavailable` naming it (or, when skippable, is
//! left out of a displayed cart with a notice), and never anything else: other requests keep
//! being served and the next call starts from a fresh instance.

use std::time::{Duration, Instant};

use commerce_engine::config::PluginConfig;
use serde_json::{Value, json};

use crate::{
    helpers::{plugins::*, *},
    products::{id, simple_product},
};

/// 5% off a line of 5 or more: the well-behaved rule next to the hostile ones.
fn tiers() -> PluginConfig {
    plugin("volume-tiers", json!({"tiers": [{"min_quantity": 5, "basis_points": 500}]}))
}

/// A running app whose chain is `plugins`, a staff token, and six pairs of ₹250.00 socks to price.
async fn app_with(plugins: Vec<(&str, PluginConfig)>) -> (TestApp, String, Value) {
    let app = spawn_app_with(|config| chain(config, plugins)).await;
    let staff = app.staff().await.access;
    let socks = id(&simple_product(&app, &staff, "Socks", 25_000, 100).await["variants"][0]);
    let body = cart(&[(&socks, 6)], &[], "KA");
    (app, staff, body)
}

/// Asserts a 503 `pricing_unavailable` naming `plugin` whose detail contains `needle`.
#[track_caller]
fn assert_unavailable(response: &TestResponse, plugin: &str, needle: &str) {
    response.assert_problem(503, "pricing_unavailable");
    assert_eq!(response.body["plugin"], plugin, "{}", response.text);
    let detail = response.body["detail"].as_str().unwrap_or("");
    assert!(detail.contains(&format!("plugin `{plugin}`")), "the detail names the plugin: {detail}");
    assert!(detail.contains(needle), "the detail says `{needle}`: {detail}");
}

/// Prices the socks through a plugin that spins for `timeout_ms`, calling `/health` every 10 ms
/// meanwhile. Returns the preview's response and time, and the latency of each `/health` call
/// that completed while the preview was still pending. The test's runtime has one thread,
/// shared with the server, so the plugin must yield to it for `/health` to be served at all.
async fn spin_and_probe_health(timeout_ms: u64) -> (TestResponse, Duration, Vec<Duration>) {
    let spin = with(plugin("fixture-spin", json!({})), |p| p.limits.timeout_ms = timeout_ms);
    let (app, staff, body) = app_with(vec![("spin", spin)]).await;

    let request = app.client.post(app.url(PREVIEW)).bearer_auth(&staff).json(&body);
    let started = Instant::now();
    let preview = tokio::spawn(async move { TestApp::read(request.send().await.expect("preview sent")).await });
    let mut while_spinning = Vec::new();
    let mut pace = tokio::time::interval(Duration::from_millis(10));
    while !preview.is_finished() {
        pace.tick().await;
        let asked = Instant::now();
        let health = app.get("/health", None).await;
        assert_eq!(health.status, 200, "{}", health.text);
        if !preview.is_finished() {
            while_spinning.push(asked.elapsed());
        }
    }
    let response = preview.await.expect("preview task");
    (response, started.elapsed(), while_spinning)
}

/// The plugin yields on every epoch tick, so other requests on the same (here: only) worker are
/// answered while it spins; a plugin that never yielded would let `/health` answer not at all.
/// How fast they are answered is measured by the bench crate (`plugins-spin`), not asserted here.
#[tokio::test]
async fn a_plugin_that_never_returns_is_stopped_at_its_timeout_while_other_requests_are_answered() {
    let (response, elapsed, health) = spin_and_probe_health(1_000).await;

    assert_unavailable(&response, "spin", "timed out after 1000 ms");
    assert!(elapsed >= Duration::from_millis(1_000), "stopped at the deadline, not before: {elapsed:?}");
    assert!(elapsed < Duration::from_secs(20), "stopped at the deadline, not never: {elapsed:?}");
    assert!(health.len() >= 2, "/health answered {} times during a 1 s spin: {health:?}", health.len());
}

#[tokio::test]
async fn a_plugin_that_allocates_without_end_is_stopped_at_its_memory_limit() {
    let bomb = with(plugin("fixture-memory-bomb", json!({})), |p| p.limits.memory_mib = 8);
    let (app, staff, body) = app_with(vec![("bomb", bomb)]).await;

    let response = app.post(PREVIEW, Some(&staff), body).await;

    assert_unavailable(&response, "bomb", "exceeded its memory limit of 8 MiB");
}

#[tokio::test]
async fn a_plugin_that_runs_out_of_fuel_is_stopped_long_before_its_timeout() {
    let spin = with(plugin("fixture-spin", json!({})), |p| {
        p.limits.fuel = Some(5_000_000);
        p.limits.timeout_ms = 30_000;
    });
    let (app, staff, body) = app_with(vec![("spin", spin)]).await;

    let started = Instant::now();
    let response = app.post(PREVIEW, Some(&staff), body).await;

    assert_unavailable(&response, "spin", "ran out of fuel (5000000 units)");
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "fuel, not the 30 s timeout, stopped it: {:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn a_plugin_that_panics_fails_with_its_panic_message() {
    let (app, staff, body) = app_with(vec![("tiers", tiers()), ("panic", plugin("fixture-panic", json!({})))]).await;

    let response = app.post(PREVIEW, Some(&staff), body).await;

    assert_unavailable(&response, "panic", "panicked: fixture panic: the coupon table is on fire");
}

#[tokio::test]
async fn every_kind_of_invalid_output_is_refused_naming_the_plugin_and_the_fault() {
    let modes = [
        ("unknown_line", "the cart has no line `no-such-line`"),
        ("negative", "the amount is negative"),
        ("above_line", "it exceeds the line's current net of 150000"),
        ("unknown_code", "coupon `NEVER-ACCEPTED` is not an accepted code of this cart"),
        ("empty_label", "the label is empty"),
    ];
    for (mode, fault) in modes {
        let (app, staff, body) = app_with(vec![("garbage", plugin("fixture-garbage", json!({"mode": mode})))]).await;

        let response = app.post(PREVIEW, Some(&staff), body).await;

        assert_unavailable(&response, "garbage", "returned an invalid adjustment #0");
        assert_unavailable(&response, "garbage", fault);
    }
}

#[tokio::test]
async fn a_skippable_plugin_that_fails_is_left_out_of_a_displayed_cart_with_a_notice_but_fails_checkout() {
    let garbage = skippable(plugin("fixture-garbage", json!({"mode": "negative"})));
    let (app, staff, body) = app_with(vec![("garbage", garbage), ("tiers", tiers())]).await;

    for display in [body.clone(), with_purpose(body.clone(), "display")] {
        let response = app.post(PREVIEW, Some(&staff), display).await;

        assert_eq!(response.status, 200, "{}", response.text);
        let cart = &response.body;
        assert_eq!(
            (&cart["subtotal"], &cart["discount_total"], &cart["total"]),
            (&json!(150_000), &json!(7_500), &json!(142_500))
        );
        let plugins: Vec<&Value> =
            cart["adjustments"].as_array().expect("adjustments").iter().map(|a| &a["plugin"]).collect();
        assert_eq!(plugins, [&json!("tiers")], "only the remaining rule applied: {cart:#}");
        let notices = cart["notices"].as_array().expect("notices");
        assert_eq!(notices.len(), 1, "{cart:#}");
        assert_eq!((&notices[0]["kind"], &notices[0]["plugin"]), (&json!("rule_skipped"), &json!("garbage")));
        let message = notices[0]["message"].as_str().unwrap_or("");
        assert!(message.contains("the amount is negative"), "the notice says why: {message}");
    }

    let response = app.post(PREVIEW, Some(&staff), with_purpose(body, "checkout")).await;

    assert_unavailable(&response, "garbage", "the amount is negative");
}

#[tokio::test]
async fn a_plugin_that_logs_and_prints_far_too_much_still_answers() {
    // The call itself takes ~40 ms (10 MB of log text lowered into the host) and several times
    // that on a loaded machine, so the deadline is far from it: this test is about answering,
    // what the excess costs is for the bench.
    let chatty = with(plugin("fixture-chatty", json!({})), |p| p.limits.timeout_ms = 5_000);
    let (app, staff, body) = app_with(vec![("chatty_answers", chatty), ("tiers", tiers())]).await;

    let response = app.post(PREVIEW, Some(&staff), body).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["total"], 142_500, "{}", response.text);
    assert_eq!(response.body["notices"], json!([]));
    // This plugin's own count, not any plugin's: the log is shared by the whole test process.
    let counted = captured_logs().lines().filter_map(|line| serde_json::from_str::<Value>(line).ok()).any(|r| {
        r["fields"]["plugin"] == "chatty_answers"
            && r["fields"]["message"] == "plugin log records dropped over the per-call cap"
            && r["fields"]["dropped"].as_u64().is_some_and(|n| n > 0)
    });
    assert!(counted, "the excess of chatty_answers is counted, not kept");
}

#[tokio::test]
async fn after_a_trap_the_next_evaluation_starts_from_a_fresh_instance() {
    let (app, staff, body) =
        app_with(vec![("panic", skippable(plugin("fixture-panic", json!({})))), ("tiers", tiers())]).await;

    let mut answers = Vec::new();
    for _ in 0..3 {
        let response = app.post(PREVIEW, Some(&staff), body.clone()).await;
        assert_eq!(response.status, 200, "{}", response.text);
        answers.push(response.body);
    }

    for answer in &answers {
        assert_eq!(answer["total"], 142_500, "{answer:#}");
        assert_eq!(answer["notices"].as_array().map(Vec::len), Some(1), "{answer:#}");
        assert_eq!(answer["notices"][0]["plugin"], "panic");
    }
    assert_eq!(answers[0], answers[2], "the same cart prices the same after the plugin trapped twice");
    let plugins = app.get(ADMIN_PLUGINS, Some(&staff)).await;
    let stats: Vec<(&Value, &Value, &Value)> = plugins.body["plugins"]
        .as_array()
        .expect("plugins")
        .iter()
        .filter(|p| p["name"] != "manual")
        .map(|p| (&p["name"], &p["calls"], &p["failures"]))
        .collect();
    assert_eq!(
        stats,
        [(&json!("panic"), &json!(3), &json!(3)), (&json!("tiers"), &json!(3), &json!(0))],
        "{}",
        plugins.text
    );
}

#[tokio::test]
async fn a_call_beyond_the_instance_pool_fails_at_once_instead_of_queueing() {
    // A long deadline, so "refused at once" and "waited for the slot" are seconds apart.
    let spin = with(plugin("fixture-spin", json!({})), |p| p.limits.timeout_ms = 5_000);
    let app = spawn_app_with(|config| {
        config.plugin_runtime.max_instances = 1;
        chain(config, vec![("spin", spin)]);
    })
    .await;
    let staff = app.staff().await.access;
    let socks = id(&simple_product(&app, &staff, "Socks", 25_000, 100).await["variants"][0]);
    let body = cart(&[(&socks, 6)], &[], "KA");

    let started = Instant::now();
    let timed = async || {
        let response = app.post(PREVIEW, Some(&staff), body.clone()).await;
        (response, started.elapsed())
    };
    let (first, second) = tokio::join!(timed(), timed());

    let mut answers: Vec<(String, Duration)> = [&first, &second]
        .iter()
        .map(|(response, took)| {
            assert_unavailable(response, "spin", "plugin `spin`");
            (response.body["detail"].as_str().unwrap_or("").to_owned(), *took)
        })
        .collect();
    answers.sort();
    let ((busy, busy_took), (timed_out, _)) = (&answers[0], &answers[1]);
    assert!(busy.contains("has no free instance slot (plugin_runtime.max_instances)"), "{answers:?}");
    assert!(*busy_took < Duration::from_secs(4), "the second call did not wait for the slot: {answers:?}");
    assert!(timed_out.contains("timed out after 5000 ms"), "{answers:?}");
}
