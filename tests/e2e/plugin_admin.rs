//! `GET /api/v1/admin/plugins` and `POST /api/v1/admin/plugins/reload`: what the instance runs
//! (digests, limits, call counts) and hot reload: a new set swaps in while previews keep flowing,
//! and a reload that fails answers 422 and leaves the old set pricing. `SIGHUP` to `engine serve`
//! reloads the same way.

use std::{
    path::Path,
    process::Stdio,
    sync::atomic::{AtomicBool, Ordering},
    time::Duration,
};

use commerce_engine::config::PluginConfig;
use reqwest::Method;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader, Lines};

use crate::{
    helpers::{plugins::*, *},
    pricing_preview::demo_app,
    products::{id, simple_product},
};

/// 5% off a line of 5 or more units.
fn tiers_settings() -> Value {
    json!({"tiers": [{"min_quantity": 5, "basis_points": 500}]})
}

async fn reload(app: &TestApp, token: Option<&str>) -> TestResponse {
    app.request(Method::POST, RELOAD, token, None).await
}

/// A staff token and a preview body of six ₹250.00 pairs of socks (no category).
async fn socks(app: &TestApp) -> (String, Value) {
    let staff = app.staff().await.access;
    let variant = id(&simple_product(app, &staff, "Socks", 25_000, 100).await["variants"][0]);
    (staff, cart(&[(&variant, 6)], &[], "KA"))
}

/// An app whose chain is one plugin `rule` with `settings`, read from `dir/rule.wasm` (initially
/// a copy of `package`), so that a test can rewrite the module and reload.
async fn app_with_rule_file(
    dir: &Path,
    package: &str,
    settings: Value,
    change: impl FnOnce(&mut PluginConfig),
) -> TestApp {
    let mut rule = plugin(package, settings);
    rule.module = copy_wasm(package, dir, "rule.wasm");
    change(&mut rule);
    spawn_app_with(|config| chain(config, vec![("rule", rule)])).await
}

#[tokio::test]
async fn the_plugin_list_shows_the_chain_with_each_modules_digest_and_limits_then_counts_calls() {
    let (app, shop, staff) = demo_app().await;

    let listed = app.get(ADMIN_PLUGINS, Some(&staff)).await;

    assert_eq!(listed.status, 200, "{}", listed.text);
    let set = &listed.body;
    assert_eq!(set["pricing_chain"], json!(["volume_tiers", "coupons", "tax", "shipping"]));
    assert_eq!(set["generation"], 1);
    assert!(set["version"].as_str().is_some_and(|v| !v.is_empty()), "{set:#}");
    assert!(chrono::DateTime::parse_from_rfc3339(set["loaded_at"].as_str().unwrap_or("")).is_ok(), "{set:#}");
    let plugins = set["plugins"].as_array().expect("plugins");
    let names: Vec<&str> = plugins.iter().filter_map(|p| p["name"].as_str()).collect();
    assert_eq!(names, ["coupons", "manual", "shipping", "tax", "volume_tiers"], "by name");
    let manual = crate::helpers::plugins::listed(set, "manual");
    assert_eq!((&manual["world"], &manual["limits"]["timeout_ms"]), (&json!("payment-gateway"), &json!(15_000)));
    for plugin in plugins.iter().filter(|p| p["name"] != "manual") {
        let module = Path::new(plugin["module"].as_str().expect("module"));
        assert!(module.ends_with(format!("{}.wasm", plugin["name"].as_str().unwrap_or(""))), "{plugin}");
        assert_eq!(plugin["sha256"], sha256_of(module), "the digest of the file it loaded: {plugin}");
        assert_eq!(plugin["size_bytes"], std::fs::metadata(module).expect("module").len(), "{plugin}");
        assert_eq!((&plugin["world"], &plugin["version"]), (&json!("pricing-rule"), &json!("0.1.0")), "{plugin}");
        assert!(plugin["compiled"] == "fresh" || plugin["compiled"] == "cached", "{plugin}");
        assert_eq!(plugin["limits"], json!({"timeout_ms": 100, "memory_mib": 16, "fuel": null}), "{plugin}");
        assert_eq!(plugin["on_error"], "fail");
        assert_eq!((&plugin["calls"], &plugin["failures"]), (&json!(0), &json!(0)), "{plugin}");
        assert_eq!((&plugin["p50_us"], &plugin["p99_us"]), (&Value::Null, &Value::Null), "{plugin}");
    }

    for _ in 0..2 {
        assert_eq!(app.post(PREVIEW, Some(&staff), cart(&[(&shop.socks, 6)], &["FLAT200"], "MH")).await.status, 200);
    }
    let after = app.get(ADMIN_PLUGINS, Some(&staff)).await;

    for plugin in after.body["plugins"].as_array().expect("plugins").iter().filter(|p| p["name"] != "manual") {
        assert_eq!((&plugin["calls"], &plugin["failures"]), (&json!(2), &json!(0)), "{plugin}");
        let (p50, p99) = (plugin["p50_us"].as_u64(), plugin["p99_us"].as_u64());
        assert!(p50.is_some() && p50 <= p99, "{plugin}");
    }
    assert_eq!(after.body["version"], set["version"], "calls do not change the set");
    let metrics = app.get("/metrics", None).await.text;
    for name in ["volume_tiers", "coupons", "tax", "shipping"] {
        let calls = format!("plugin_calls_total{{outcome=\"ok\",plugin=\"{name}\"}} 2");
        assert!(metrics.contains(&calls), "/metrics counts {name}'s calls: {calls} in\n{metrics}");
        let timed = format!("plugin_call_duration_seconds_count{{plugin=\"{name}\"}} 2");
        assert!(metrics.contains(&timed), "/metrics times {name}'s calls: {timed}");
    }
}

#[tokio::test]
async fn listing_and_reloading_plugins_is_for_staff_only() {
    let app = spawn_app().await;
    let (_, _, customer) = app.customer().await;

    app.get(ADMIN_PLUGINS, None).await.assert_problem(401, "unauthenticated");
    app.get(ADMIN_PLUGINS, Some(&customer.access)).await.assert_problem(403, "forbidden");
    reload(&app, None).await.assert_problem(401, "unauthenticated");
    reload(&app, Some(&customer.access)).await.assert_problem(403, "forbidden");

    assert_eq!(app.state.plugins.current().generation, 1, "refused reloads load nothing");
}

#[tokio::test]
async fn a_module_rewritten_in_place_is_picked_up_by_a_reload() {
    // `rule` panics (skipped, with a notice) until its file holds a rule that answers.
    let dir = tempfile::tempdir().expect("temp dir");
    let app = app_with_rule_file(dir.path(), "fixture-panic", json!({}), |rule| {
        rule.on_error = commerce_engine::config::OnError::Skip;
        rule.limits.timeout_ms = 5_000;
    })
    .await;
    let (staff, body) = socks(&app).await;
    let before = app.post(PREVIEW, Some(&staff), body.clone()).await;
    assert_eq!(before.body["notices"][0]["plugin"], "rule", "{}", before.text);
    let metrics = app.get("/metrics", None).await.text;
    assert!(metrics.contains("plugin_calls_total{outcome=\"panicked\",plugin=\"rule\"} 1"), "{metrics}");
    let old_version = before.body["pricing_version"].clone();

    let chatty = copy_wasm("fixture-chatty", dir.path(), "rule.wasm");
    let reloaded = reload(&app, Some(&staff)).await;

    assert_eq!(reloaded.status, 200, "{}", reloaded.text);
    assert_eq!(reloaded.body["generation"], 2);
    assert_eq!(crate::helpers::plugins::listed(&reloaded.body, "rule")["sha256"], sha256_of(&chatty));
    assert_ne!(reloaded.body["version"], old_version, "another module is another set");
    let after = app.post(PREVIEW, Some(&staff), body).await;
    assert_eq!(after.status, 200, "{}", after.text);
    assert_eq!(after.body["notices"], json!([]), "the new module answers: {}", after.text);
    assert_eq!(after.body["pricing_version"], reloaded.body["version"]);
}

#[tokio::test]
async fn a_reload_that_fails_answers_422_and_the_old_set_keeps_pricing() {
    let dir = tempfile::tempdir().expect("temp dir");
    let app = app_with_rule_file(dir.path(), "volume-tiers", tiers_settings(), |_| {}).await;
    let (staff, body) = socks(&app).await;
    let version = app.get(ADMIN_PLUGINS, Some(&staff)).await.body["version"].clone();
    let module = dir.path().join("rule.wasm");

    let failures = [
        (b"definitely not wasm".to_vec(), "is not a WebAssembly component"),
        // A rule without settings refuses the tiers table.
        (std::fs::read(wasm("fixture-chatty")).expect("chatty"), "rejected its settings"),
    ];
    for (bytes, reason) in failures {
        std::fs::write(&module, bytes).expect("overwrite module");

        let refused = reload(&app, Some(&staff)).await;

        refused.assert_problem(422, "plugin_load_failed");
        let errors = refused.body["errors"].as_array().expect("errors");
        assert_eq!(errors.len(), 1, "{}", refused.text);
        assert_eq!(errors[0]["field"], "plugins.rule");
        let message = errors[0]["message"].as_str().unwrap_or("");
        assert!(message.contains("plugin `rule`") && message.contains(reason), "{message}");
        let priced = app.post(PREVIEW, Some(&staff), body.clone()).await;
        assert_eq!(priced.status, 200, "{}", priced.text);
        assert_eq!((&priced.body["discount_total"], &priced.body["pricing_version"]), (&json!(7_500), &version));
        let listed = app.get(ADMIN_PLUGINS, Some(&staff)).await;
        assert_eq!((&listed.body["generation"], &listed.body["version"]), (&json!(1), &version), "{}", listed.text);
    }

    copy_wasm("volume-tiers", dir.path(), "rule.wasm");
    let restored = reload(&app, Some(&staff)).await;

    assert_eq!(restored.status, 200, "{}", restored.text);
    assert_eq!(restored.body["generation"], 2, "failed reloads use up no generation");
    assert_eq!(restored.body["version"], version, "the same modules and settings are the same version");
}

const TIERS_CONFIG: &str = r#"
[pricing]
chain = ["rule"]
[plugins.rule]
module = "tiers.wasm"
settings = { tiers = [{ min_quantity = 5, basis_points = 500 }] }
"#;

/// The same plugin name, now another module with other settings: ₹49 shipping on every cart.
const SHIPPING_CONFIG: &str = r#"
[pricing]
chain = ["rule"]
[plugins.rule]
module = "shipping.wasm"
settings = { flat_rate = 4900 }
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reload_swaps_the_set_while_previews_keep_flowing_and_none_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_wasm("volume-tiers", dir.path(), "tiers.wasm");
    let shipping = copy_wasm("shipping", dir.path(), "shipping.wasm");
    let file = dir.path().join("plugins.toml");
    std::fs::write(&file, TIERS_CONFIG).expect("write config");
    let app = spawn_app_reloading_from(&file).await;
    let (staff, body) = socks(&app).await;
    let (sent, mut progress) = tokio::sync::watch::channel(0_usize);
    let reloaded = AtomicBool::new(false);

    // Previews one after another until at least 50 are done and 10 of them started after the
    // reload had answered; the reload goes in once 10 have been answered.
    let traffic = async {
        let (mut answers, mut after_reload) = (Vec::new(), 0);
        while answers.len() < 50 || after_reload < 10 {
            let started_after_reload = reloaded.load(Ordering::SeqCst);
            let response = app.post(PREVIEW, Some(&staff), body.clone()).await;
            answers.push((
                response.status.as_u16(),
                response.body["total"].clone(),
                response.body["pricing_version"].clone(),
            ));
            after_reload += usize::from(started_after_reload);
            sent.send_replace(answers.len());
        }
        answers
    };
    let operator = async {
        progress.wait_for(|answered| *answered >= 10).await.expect("traffic runs");
        std::fs::write(&file, SHIPPING_CONFIG).expect("rewrite config");
        let response = reload(&app, Some(&staff)).await;
        reloaded.store(true, Ordering::SeqCst);
        response
    };
    let (answers, reload) = tokio::join!(traffic, operator);

    assert_eq!(reload.status, 200, "{}", reload.text);
    assert_eq!(reload.body["generation"], 2);
    assert_eq!(reload.body["pricing_chain"], json!(["rule"]));
    assert_eq!(reload.body["plugins"][0]["sha256"], sha256_of(&shipping));
    let new_version = reload.body["version"].clone();
    let failed: Vec<_> = answers.iter().filter(|(status, ..)| *status != 200).collect();
    assert!(failed.is_empty(), "{} of {} previews failed during the reload: {failed:?}", failed.len(), answers.len());
    // Old set: 5% off (142 500); new set: ₹49 shipping (154 900). Each preview is priced by one
    // set, stamped with its version, and once the new set answers the old one never does again.
    let old_version = answers[0].2.clone();
    let priced: Vec<(i64, bool)> = answers
        .iter()
        .map(|(_, total, version)| {
            let total = total.as_i64().expect("total");
            match total {
                142_500 => assert_eq!(version, &old_version),
                154_900 => assert_eq!(version, &new_version),
                other => panic!("a total from neither set: {other}"),
            }
            (total, total == 154_900)
        })
        .collect();
    let switched = priced.iter().position(|(_, new)| *new).expect("the new set priced some previews");
    assert!(switched >= 10, "the first 10 previews ran before the reload");
    assert!(priced[switched..].iter().all(|(_, new)| *new), "never back to the old set: {priced:?}");
    let listed = app.get(ADMIN_PLUGINS, Some(&staff)).await;
    assert_eq!((&listed.body["generation"], &listed.body["version"]), (&json!(2), &new_version));
}

#[tokio::test]
async fn a_reload_of_a_config_file_with_mistakes_is_422_naming_each_and_keeps_the_set() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_wasm("volume-tiers", dir.path(), "tiers.wasm");
    let file = dir.path().join("plugins.toml");
    std::fs::write(&file, TIERS_CONFIG).expect("write config");
    let app = spawn_app_reloading_from(&file).await;
    let (staff, body) = socks(&app).await;
    let mistaken = TIERS_CONFIG
        .replace(r#"chain = ["rule"]"#, r#"chain = ["rule", "coupons"]"#)
        .replace("module =", "modul = \"typo\"\nmodule =");
    std::fs::write(&file, mistaken).expect("rewrite config");

    let refused = reload(&app, Some(&staff)).await;

    refused.assert_problem(422, "plugin_load_failed");
    let errors = refused.body["errors"].as_array().expect("errors");
    assert!(errors.iter().all(|e| e["field"] == "config"), "{}", refused.text);
    let messages: Vec<&str> = errors.iter().filter_map(|e| e["message"].as_str()).collect();
    assert!(messages.iter().any(|m| m.contains("modul")), "the unknown key is named: {messages:?}");
    assert!(messages.iter().any(|m| m.contains("`coupons` is not a configured plugin")), "{messages:?}");
    let priced = app.post(PREVIEW, Some(&staff), body).await;
    assert_eq!((priced.status.as_u16(), &priced.body["total"]), (200, &json!(142_500)), "{}", priced.text);
    assert_eq!(app.state.plugins.current().generation, 1);
}

/// The next JSON log line of `engine serve` whose message is `message` (others are skipped).
async fn log_line(lines: &mut Lines<BufReader<tokio::process::ChildStdout>>, message: &str) -> Value {
    let wanted = async {
        while let Some(line) = lines.next_line().await.expect("engine stdout") {
            let record: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
            if record["fields"]["message"] == message {
                return record;
            }
        }
        panic!("engine serve exited before logging `{message}`");
    };
    tokio::time::timeout(Duration::from_secs(30), wanted).await.unwrap_or_else(|_| panic!("no `{message}` within 30 s"))
}

fn signal(child: &tokio::process::Child, name: &str) {
    let pid = child.id().expect("engine still running").to_string();
    let status = std::process::Command::new("kill").args(["-s", name, &pid]).status().expect("kill runs");
    assert!(status.success(), "kill -s {name} {pid}");
}

#[cfg(unix)]
#[tokio::test]
async fn engine_serve_reloads_its_plugins_on_sighup_and_keeps_them_when_the_new_config_is_broken() {
    let dir = tempfile::tempdir().expect("temp dir");
    copy_wasm("volume-tiers", dir.path(), "tiers.wasm");
    copy_wasm("shipping", dir.path(), "shipping.wasm");
    let file = dir.path().join("engine.toml");
    let server = format!(
        "[server]\nbind = \"127.0.0.1:0\"\n[database]\nurl = \"sqlite://{}\"\n[jobs]\nenabled = false\n\
         [log]\nformat = \"json\"\nlevel = \"info\"\n",
        dir.path().join("engine.db").display()
    );
    std::fs::write(&file, format!("{server}{TIERS_CONFIG}")).expect("write config");
    let mut command = tokio::process::Command::new(engine_bin());
    command.args(["--config", &file.display().to_string(), "serve"]).current_dir(dir.path());
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::null()).kill_on_drop(true);
    for (key, _) in std::env::vars_os().filter(|(k, _)| k.to_string_lossy().starts_with("COMMERCE_")) {
        command.env_remove(key);
    }
    let mut engine = command.spawn().expect("engine starts");
    let mut logs = BufReader::new(engine.stdout.take().expect("stdout")).lines();
    let listening = log_line(&mut logs, "engine listening").await;
    let health = format!("http://{}/health", listening["fields"]["address"].as_str().expect("address"));
    // Also gives the SIGHUP handler, installed by a task spawned just before that log line, time
    // to be registered.
    assert_eq!(reqwest::get(&health).await.expect("health").status(), 200);

    std::fs::write(&file, format!("{server}{SHIPPING_CONFIG}")).expect("rewrite config");
    signal(&engine, "HUP");
    let reloaded = log_line(&mut logs, "plugin set reloaded").await;
    assert_eq!(reloaded["fields"]["generation"], 2, "{reloaded}");

    std::fs::write(&file, format!("{server}[pricing]\nchain = [\"nowhere\"]\n")).expect("break config");
    signal(&engine, "HUP");
    let failed = log_line(&mut logs, "plugin reload failed; the previous set stays in service").await;
    assert!(failed["fields"]["error"].as_str().is_some_and(|e| e.contains("`nowhere`")), "{failed}");
    assert_eq!(reqwest::get(&health).await.expect("health").status(), 200, "still serving");

    signal(&engine, "TERM");
    let status = tokio::time::timeout(Duration::from_secs(30), engine.wait()).await.expect("stops").expect("status");
    assert!(status.success(), "{status:?}");
}
