//! The plugin author's tools, run as a process: `engine plugin check` (would the engine load
//! this component?), `engine plugin run` (one rule on one cart, with time and fuel) and
//! `engine pricing run` (the configured chain on a cart, no database) on the demo config.

use serde_json::json;

use crate::helpers::plugins::*;

/// A cart file of the pipeline's worked examples (`sdk/pipeline/tests/carts/`).
fn cart_file(name: &str) -> String {
    workspace_root().join("sdk/pipeline/tests/carts").join(name).display().to_string()
}

fn path(package: &str) -> String {
    wasm(package).display().to_string()
}

#[tokio::test]
async fn plugin_check_accepts_a_pricing_rule_and_shows_what_it_is() {
    let dir = tempfile::tempdir().expect("temp dir");

    let run = engine_cli(dir.path(), &["plugin", "check", &path("volume-tiers")]).await;

    assert_eq!(run.code, Some(0), "{}", run.output());
    for line in [
        format!("sha256:   {}", sha256_of(&wasm("volume-tiers"))),
        "version:  commerce:plugin@0.1.0".to_owned(),
        "world:    pricing-rule".to_owned(),
        "verdict:  ok".to_owned(),
    ] {
        assert!(run.stdout.contains(&line), "stdout has `{line}`:\n{}", run.output());
    }
}

/// Guards issue 11's "`engine plugin check` shows the gateway world and its imports": a gateway
/// is accepted, with `secrets` and `outbound-http` among its imports.
#[tokio::test]
async fn plugin_check_accepts_a_payment_gateway_and_shows_its_imports() {
    let dir = tempfile::tempdir().expect("temp dir");

    let run = engine_cli(dir.path(), &["plugin", "check", &path("fixture-gateway-probe")]).await;

    assert_eq!(run.code, Some(0), "{}", run.output());
    for line in [
        "world:    payment-gateway",
        "  commerce:plugin/secrets@0.1.0",
        "  commerce:plugin/outbound-http@0.1.0",
        "  commerce:plugin/gateway@0.1.0",
        "verdict:  ok: loadable as a payment gateway",
    ] {
        assert!(run.stdout.contains(line), "stdout has `{line}`:\n{}", run.output());
    }
    // A gateway prices nothing: `plugin run` says so instead of calling it.
    let cart = cart_file("socks.json");
    let settings = dir.path().join("gateway.json");
    std::fs::write(&settings, r#"{"api_base": "https://api.razorpay.com", "key_id": "rzp_test_x"}"#).expect("settings");
    let settings = settings.display().to_string();
    let args = ["plugin", "run", &path("fixture-gateway-probe"), "--cart", &cart, "--settings", &settings];
    let run = engine_cli(dir.path(), &args).await;
    assert_eq!(run.code, Some(1), "{}", run.output());
    assert!(
        run.stderr.contains("is a payment gateway: `plugin run` prices a cart with a pricing rule"),
        "{}",
        run.output()
    );
}

#[tokio::test]
async fn plugin_check_refuses_a_component_that_reads_files_naming_the_import() {
    let dir = tempfile::tempdir().expect("temp dir");

    let run = engine_cli(dir.path(), &["plugin", "check", &path("fixture-forbidden-fs")]).await;

    assert_eq!(run.code, Some(1), "{}", run.output());
    let verdict = run.stdout.lines().find(|l| l.starts_with("verdict:")).unwrap_or_else(|| panic!("{}", run.output()));
    assert!(verdict.contains("refused: imports `wasi:filesystem/"), "{verdict}");
    assert!(verdict.contains("plugins get no file system"), "{verdict}");
}

#[tokio::test]
async fn plugin_run_prices_the_socks_with_volume_tiers_and_reports_time_and_fuel() {
    let dir = tempfile::tempdir().expect("temp dir");
    let settings = dir.path().join("tiers.json");
    let tiers =
        json!({"tiers": [{"min_quantity": 5, "basis_points": 500}, {"min_quantity": 10, "basis_points": 1000}]});
    std::fs::write(&settings, tiers.to_string()).expect("settings file");

    let run = engine_cli(
        dir.path(),
        &[
            "plugin",
            "run",
            &path("volume-tiers"),
            "--cart",
            &cart_file("socks.json"),
            "--settings",
            &settings.display().to_string(),
        ],
    )
    .await;

    assert_eq!(run.code, Some(0), "{}", run.output());
    let answer = run.json();
    assert_eq!(answer["error"], serde_json::Value::Null, "{answer:#}");
    let adjustments = answer["output"]["adjustments"].as_array().expect("adjustments");
    assert_eq!(adjustments.len(), 1, "{answer:#}");
    assert_eq!((&adjustments[0]["kind"], &adjustments[0]["amount"]), (&json!("discount"), &json!(7_500)));
    assert_eq!((&answer["priced"]["discount_total"], &answer["priced"]["total"]), (&json!(7_500), &json!(142_500)));
    assert!(answer["fuel_used"].as_u64().is_some_and(|f| f > 0), "fuel is metered: {answer:#}");
    assert!(answer["time_us"].as_u64().is_some(), "{answer:#}");
}

#[tokio::test]
async fn plugin_run_reports_a_plugin_that_never_returns_as_timed_out() {
    let dir = tempfile::tempdir().expect("temp dir");

    let run = engine_cli(
        dir.path(),
        &["plugin", "run", &path("fixture-spin"), "--cart", &cart_file("socks.json"), "--timeout-ms", "50"],
    )
    .await;

    assert_eq!(run.code, Some(1), "{}", run.output());
    let answer = run.json();
    let error = answer["error"].as_str().unwrap_or_else(|| panic!("{answer:#}"));
    assert!(error.contains("timed out after 50 ms"), "{error}");
}

#[tokio::test]
async fn pricing_run_with_the_demo_config_reproduces_both_worked_examples() {
    let root = workspace_root();
    let price = async |cart: &str| {
        let run =
            engine_cli(&root, &["--config", "config/demo.toml", "pricing", "run", "--cart", &cart_file(cart)]).await;
        assert_eq!(run.code, Some(0), "{}", run.output());
        run.json()
    };
    let totals = |cart: &serde_json::Value| {
        ["subtotal", "discount_total", "shipping_total", "tax_total", "total"]
            .map(|key| cart[key].as_i64().unwrap_or(-1))
    };
    let per_line = |cart: &serde_json::Value, key: &str| -> Vec<i64> {
        cart["lines"].as_array().expect("lines").iter().map(|l| l[key].as_i64().unwrap_or(-1)).collect()
    };

    let tshirts = price("tshirt_and_novel.json").await;
    let socks = price("socks.json").await;

    assert_eq!(totals(&tshirts), [129_800, 12_980, 0, 16_168, 132_988], "{tshirts:#}");
    assert_eq!(per_line(&tshirts, "discount"), [9_980, 3_000]);
    assert_eq!(per_line(&tshirts, "tax"), [16_168, 0]);
    assert_eq!(
        (&tshirts["coupons"][0]["code"], &tshirts["coupons"][0]["accepted"]),
        (&json!("WELCOME10"), &json!(true))
    );

    assert_eq!(totals(&socks), [150_000, 7_500, 0, 25_650, 168_150], "{socks:#}");
    assert_eq!(per_line(&socks, "discount"), [7_500]);
    assert_eq!(per_line(&socks, "tax"), [25_650]);
    let flat = &socks["coupons"][0];
    assert_eq!(
        (&flat["code"], &flat["accepted"], &flat["error_code"]),
        (&json!("FLAT200"), &json!(false), &json!("coupon_ineligible"))
    );
}

/// `pricing run --checkout` prices as checkout does: a failing `on_error = "skip"` rule is left
/// out of a displayed cart with a notice, but fails the checkout run, naming the rule.
#[tokio::test]
async fn pricing_run_with_checkout_fails_on_a_rule_a_display_run_skips() {
    let dir = tempfile::tempdir().expect("temp dir");
    let file = dir.path().join("engine.toml");
    let toml = format!(
        "[pricing]\nchain = [\"garbage\", \"tiers\"]\n\
         [plugins.garbage]\nmodule = {:?}\non_error = \"skip\"\nsettings = {{ mode = \"negative\" }}\n\
         [plugins.tiers]\nmodule = {:?}\nsettings = {{ tiers = [{{ min_quantity = 5, basis_points = 500 }}] }}\n",
        path("fixture-garbage"),
        path("volume-tiers"),
    );
    std::fs::write(&file, toml).expect("config file");
    let config = file.display().to_string();
    let cart = cart_file("socks.json");

    let display = engine_cli(dir.path(), &["--config", &config, "pricing", "run", "--cart", &cart]).await;
    let checkout =
        engine_cli(dir.path(), &["--config", &config, "pricing", "run", "--cart", &cart, "--checkout"]).await;

    assert_eq!(display.code, Some(0), "{}", display.output());
    let priced = display.json();
    assert_eq!(priced["total"], 142_500, "tiers applied: {priced:#}");
    assert_eq!(
        (&priced["notices"][0]["kind"], &priced["notices"][0]["plugin"]),
        (&json!("rule_skipped"), &json!("garbage"))
    );
    assert_eq!(checkout.code, Some(1), "{}", checkout.output());
    assert!(checkout.stdout.is_empty(), "no priced cart: {}", checkout.output());
    assert!(
        checkout.stderr.contains("pricing is unavailable: plugin `garbage` returned an invalid adjustment #0"),
        "{}",
        checkout.output()
    );
}
