//! The gateway plugin in process: what the sandbox adds to a gateway call that waits on the
//! network, and what verifying a webhook costs.
//!
//! The Razorpay component is loaded with the engine's plugin registry (as `engine serve` loads
//! it, `environment = "development"` so that it may reach [`FakeApi`] on 127.0.0.1 over plain
//! http) and called as the payments domain calls it, one call after the other, on a runtime
//! built like the engine's:
//!
//! - `fetch_status (sandbox)`: `GatewayPlugin::fetch_status`: a fresh instance, the guest
//!   building the request, the host's outbound policy, basic auth from the plugin's secrets,
//!   one `GET /v1/orders/{id}/payments` on a kept-alive connection, the answer read and handed
//!   back, the guest parsing it.
//! - `GET natively (reqwest)`: the same GET with the same credentials from a reqwest client in
//!   this process, body read: the network wait alone. The difference of the two is the overhead.
//! - `handle_webhook (sandbox)`: a signed `payment.captured` body: no network; the guest asks the
//!   host to check the HMAC over the raw bytes under `webhook_secret`, then parses the event.

use std::time::Instant;

use anyhow::{Context, ensure};
use commerce_engine::{
    config::{self, Config},
    plugins::{
        PluginRegistry, ReloadSource,
        payment_gateway::{GatewayPlugin, PaymentState, Webhook, WebhookOutcome},
    },
};

use super::{Args, KEY_ID, KEY_SECRET, PROVIDER, SignedEvent, api::FakeApi};
use crate::{load::Samples, report, stats::Summary};

const FETCH: &str = "fetch_status (sandbox)";
const NATIVE: &str = "GET natively (reqwest)";
const WEBHOOK: &str = "handle_webhook (sandbox)";

/// Loads the plugin against a local API, checks each call's answer once, then times each.
pub async fn run(args: Args) -> anyhow::Result<()> {
    ensure!(args.gateway_calls > 0, "--gateway-calls must be at least 1");
    let api = FakeApi::start().await?;
    let dir = tempfile::tempdir().context("temp dir")?;
    let db = dir.path().join("bench.db").display().to_string();
    let config = gateway_config(&super::module()?, &db, &api.base_url())?;
    let started = Instant::now();
    let source = ReloadSource::Fixed { plugins: config.plugins.clone(), pricing: config.pricing.clone() };
    let registry = PluginRegistry::load(
        config.plugin_runtime.clone(),
        &config.plugins,
        &config.pricing,
        config.environment,
        source,
        Box::new(|| 0),
    )
    .await
    .context("loading the razorpay plugin")?;
    let set = registry.current();
    let plugin = set.plugins.get(PROVIDER).context("no razorpay plugin in the loaded set")?;
    let gateway = plugin.gateway().context("the razorpay plugin is not a payment gateway")?;
    eprintln!("webhooks: razorpay loaded in process in {:.0?}", started.elapsed());

    let native = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .context("building the native client")?;
    let url = api.payments_url();
    let gateway_order = super::gateway_order_id(0);
    let event = SignedEvent::many(1).remove(0);
    let webhook = Webhook {
        headers: vec![
            ("content-type".into(), "application/json".into()),
            ("x-razorpay-event-id".into(), "evt_BenchGateway".into()),
            ("x-razorpay-signature".into(), event.signature.clone()),
        ],
        body: event.body.to_vec(),
    };
    check_answers(gateway, &native, &url, &gateway_order, &webhook).await?;

    eprintln!("webhooks: timing {} gateway calls per row…", args.gateway_calls);
    let rows = vec![
        time_calls(FETCH, &args, || async {
            gateway.fetch_status("ord_bench", &gateway_order).await.map_err(anyhow::Error::from)
        })
        .await?,
        time_calls(NATIVE, &args, || native_get(&native, &url)).await?,
        time_calls(WEBHOOK, &args, || async { gateway.handle_webhook(&webhook).await.map_err(anyhow::Error::from) })
            .await?,
    ];
    print_results(&args, &rows);
    Ok(())
}

/// The configuration of the in-process host: a database URL it never opens, the plugin with
/// the bench keys and `api_base` on the local API, development so plain http to loopback is
/// allowed.
fn gateway_config(module: &str, db_path: &str, api_base: &str) -> anyhow::Result<Config> {
    let mut table: toml::Table =
        format!("environment = \"development\"\n[database]\nurl = {}\n[jobs]\nenabled = false\n", toml_str(db_path))
            .parse()
            .context("the gateway bench's base configuration")?;
    table.extend(super::razorpay_config(module, Some(api_base), "127.0.0.1"));
    let text = toml::to_string(&table).context("writing the gateway bench's configuration")?;
    config::load_from_str(&text).context("the gateway bench's configuration")
}

fn toml_str(value: &str) -> String {
    toml::Value::String(format!("sqlite://{value}")).to_string()
}

/// The same GET the plugin makes, with the same credentials; the body is read.
async fn native_get(http: &reqwest::Client, url: &str) -> anyhow::Result<()> {
    let response = http.get(url).basic_auth(KEY_ID, Some(KEY_SECRET)).send().await.context("native GET")?;
    let status = response.status();
    response.bytes().await.context("reading the native GET's body")?;
    ensure!(status.is_success(), "the native GET answered {status}");
    Ok(())
}

/// Each call once, its answer checked: the timed calls must do the work they are named for.
async fn check_answers(
    gateway: &GatewayPlugin,
    native: &reqwest::Client,
    url: &str,
    gateway_order: &str,
    webhook: &Webhook,
) -> anyhow::Result<()> {
    let status = gateway.fetch_status("ord_bench", gateway_order).await.context("fetch_status")?;
    ensure!(
        status.state == PaymentState::Captured && status.gateway_payment_id.as_deref() == Some("pay_Bench00000000000"),
        "fetch_status did not read the captured payment: {status:?}"
    );
    native_get(native, url).await?;
    match gateway.handle_webhook(webhook).await.context("handle_webhook")? {
        WebhookOutcome::Event(event) => ensure!(
            event.event_id == "evt_BenchGateway"
                && event.gateway_order_id.as_deref() == Some(gateway_order)
                && event.payment.as_ref().is_some_and(|p| p.state == PaymentState::Captured),
            "handle_webhook read another event: {event:?}"
        ),
        WebhookOutcome::Ignored(why) => anyhow::bail!("handle_webhook ignored the event: {why}"),
    }
    Ok(())
}

/// Times `call`, one call after the other, after the warm-up calls; any failure aborts.
async fn time_calls<F, Fut, T>(scenario: &str, args: &Args, mut call: F) -> anyhow::Result<Summary>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<T>>,
{
    for _ in 0..args.gateway_warmup_calls {
        call().await?;
    }
    let mut latencies = Vec::with_capacity(args.gateway_calls);
    let started = Instant::now();
    for _ in 0..args.gateway_calls {
        let sent = Instant::now();
        call().await?;
        latencies.push(sent.elapsed());
    }
    Ok(Summary::new(scenario, Samples { latencies, errors: 0 }, started.elapsed()))
}

fn print_results(args: &Args, rows: &[Summary]) {
    let title = format!(
        "webhooks: the razorpay gateway in process, {} CPUs (one runtime worker each), {} calls per row after {} warm-up",
        report::cpu_count(),
        args.gateway_calls,
        args.gateway_warmup_calls
    );
    println!("{}", report::calls_table(&title, rows));
    let find = |scenario: &str| rows.iter().find(|r| r.scenario == scenario);
    if let (Some(fetch), Some(native)) = (find(FETCH), find(NATIVE)) {
        let diff = |a: std::time::Duration, b: std::time::Duration| report::micros(a) - report::micros(b);
        println!(
            "gateway overhead: fetch_status p50 {:.1} µs in the sandbox vs {:.1} µs for the GET alone: +{:.1} µs per call \
             (p99 {:.1} vs {:.1} µs: +{:.1} µs)",
            report::micros(fetch.p50),
            report::micros(native.p50),
            diff(fetch.p50, native.p50),
            report::micros(fetch.p99),
            report::micros(native.p99),
            diff(fetch.p99, native.p99)
        );
    }
    if let Some(webhook) = find(WEBHOOK) {
        println!(
            "handle_webhook: p50 {:.1} µs, p99 {:.1} µs per verified event (instance, host HMAC over {} bytes, parse)",
            report::micros(webhook.p50),
            report::micros(webhook.p99),
            SignedEvent::many(1).first().map_or(0, |e| e.body.len())
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_gateway_configuration_loads_in_development_with_the_local_api() -> anyhow::Result<()> {
        // The configuration names the component; nothing opens it here.
        let config = gateway_config("/tmp/x/razorpay.wasm", "/tmp/x/bench.db", "http://127.0.0.1:9")?;
        assert_eq!(config.environment, config::Environment::Development);
        assert_eq!(config.payments.providers, [PROVIDER]);
        let plugin = &config.plugins[PROVIDER];
        assert_eq!(plugin.allowed_hosts, ["127.0.0.1"]);
        assert_eq!(plugin.settings["api_base"], "http://127.0.0.1:9");
        assert_eq!(plugin.limits.timeout_ms, 15_000);
        assert!(plugin.secrets.contains_key("webhook_secret") && plugin.secrets.contains_key("key_secret"));
        Ok(())
    }
}
