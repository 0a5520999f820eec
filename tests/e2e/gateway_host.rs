//! The host side of the `payment-gateway` world (issue 11, item 1): a gateway plugin loads and is
//! listed, reaches the network only through `outbound-http` (allow-listed hosts, plain http to
//! loopback only in development, timeouts), authenticates and verifies only through `secrets`,
//! and every call stays bounded by `limits.timeout_ms`. The gateway is the `gateway_probe`
//! fixture, written with the SDK (`PaymentGateway`, `export_payment_gateway!`), so these tests
//! also show that an SDK-built gateway loads and runs; the network is the suite's fake Razorpay.

use std::{sync::Arc, time::Duration};

use commerce_engine::{
    config::Config,
    plugins::{
        LoadedPlugin, PluginErrorKind,
        payment_gateway::{
            CaptureRequest, ClientResult, GatewayCallError, GatewayError, Order, PaymentState, RefundRequest, Webhook,
            WebhookOutcome,
        },
    },
};
use secrecy::SecretString;
use serde_json::json;

use crate::helpers::{
    fake_razorpay::{FakeConfig, FakeRazorpay, Fault, PayMethod},
    plugins::{ADMIN_PLUGINS, plugin},
    *,
};

/// `[plugins.razorpay]` as the probe fixture, talking to `fake` (or to `api_base`).
fn gateway(config: &mut Config, fake: &FakeRazorpay, api_base: &str) {
    let mut probe = plugin("fixture-gateway-probe", json!({"api_base": api_base, "key_id": fake_key_id()}));
    probe.secrets =
        [("key_secret", FakeConfig::default().key_secret), ("webhook_secret", FakeConfig::default().webhook_secret)]
            .into_iter()
            .map(|(name, value)| (name.to_owned(), SecretString::from(value)))
            .collect();
    probe.allowed_hosts = vec!["127.0.0.1".to_owned()];
    probe.limits.timeout_ms = 5_000;
    probe.http.timeout = Duration::from_millis(500);
    config.plugins.insert("razorpay".to_owned(), probe);
    let _ = fake;
}

fn fake_key_id() -> String {
    FakeConfig::default().key_id
}

fn loaded(app: &TestApp) -> Arc<LoadedPlugin> {
    app.state.plugins.current().plugins.get("razorpay").cloned().expect("the gateway is loaded")
}

fn order(number: &str, amount: i64) -> Order {
    Order {
        order_id: format!("ord_{number}"),
        order_number: number.to_owned(),
        amount,
        currency: "INR".to_owned(),
        customer_email: Some("asha@example.com".to_owned()),
        customer_phone: None,
    }
}

fn unavailable(result: Result<impl std::fmt::Debug, GatewayCallError>) -> String {
    match result {
        Err(GatewayCallError::Gateway(GatewayError::Unavailable(why))) => why,
        other => panic!("expected unavailable, got {other:?}"),
    }
}

/// Guards the happy path through both host interfaces: the gateway is listed as a
/// payment-gateway, creates the gateway order at the fake with basic auth from its secrets (the
/// fake refuses anything else), verifies the checkout signature and a webhook through
/// `secrets.hmac-verify`, and refuses a tampered one of each.
#[tokio::test]
async fn a_gateway_loads_calls_out_with_its_secrets_and_verifies_signatures() {
    let fake = FakeRazorpay::start(FakeConfig { auto_capture: true, ..FakeConfig::default() }).await;
    let base = fake.base_url();
    let app = spawn_app_with(|config| gateway(config, &fake, &base)).await;

    let staff = app.staff().await;
    let listed = app.get(ADMIN_PLUGINS, Some(&staff.access)).await;
    assert_eq!(listed.status, 200, "{}", listed.text);
    let entry = listed.body["plugins"].as_array().and_then(|p| p.iter().find(|p| p["name"] == "razorpay")).cloned();
    assert_eq!(entry.as_ref().map(|p| &p["world"]), Some(&json!("payment-gateway")), "{}", listed.text);
    assert_eq!(listed.body["pricing_chain"], json!([]), "a gateway is never in the pricing chain");

    let plugin = loaded(&app);
    let gateway = plugin.gateway().expect("a gateway");
    let session = gateway.create_session(&order("1001", 132_988)).await.expect("a session");
    assert!(session.gateway_order_id.starts_with("order_"), "{session:?}");
    assert_eq!(fake.calls("POST /v1/orders"), 1);
    let created = fake.order(&session.gateway_order_id).expect("the fake has it");
    assert_eq!((created["amount"].clone(), created["receipt"].clone()), (json!(132_988), json!("1001")));
    assert_eq!(created["notes"]["order_id"], "ord_1001");
    let payload: serde_json::Value = serde_json::from_str(&session.client_payload).expect("json");
    assert_eq!(
        (payload["key"].clone(), payload["order_id"].clone()),
        (json!(fake_key_id()), json!(session.gateway_order_id))
    );

    let paid = fake.pay(&session.gateway_order_id, PayMethod::Card);
    let result = |payload: serde_json::Value| ClientResult {
        order_id: "ord_1001".to_owned(),
        gateway_order_id: session.gateway_order_id.clone(),
        amount: 132_988,
        currency: "INR".to_owned(),
        payload: payload.to_string(),
    };
    let status = gateway.verify(&result(json!(paid))).await.expect("verified");
    assert_eq!(status.gateway_payment_id.as_deref(), Some(paid.razorpay_payment_id.as_str()));
    let mut forged = json!(paid);
    forged["razorpay_payment_id"] = json!("pay_SomeoneElses01");
    match gateway.verify(&result(forged)).await {
        Err(GatewayCallError::Gateway(GatewayError::VerificationFailed(_))) => {}
        other => panic!("a forged payment id verifies: {other:?}"),
    }

    let captured = fake.webhook("payment.captured", &paid.razorpay_payment_id);
    let headers: Vec<(String, String)> = captured.headers().iter().map(|(n, v)| ((*n).to_owned(), v.clone())).collect();
    let webhook = Webhook { headers: headers.clone(), body: captured.body.clone() };
    match gateway.handle_webhook(&webhook).await.expect("verified") {
        WebhookOutcome::Event(event) => {
            // A payment names its gateway order (its notes are the checkout's, not the order's).
            assert_eq!(event.gateway_order_id.as_deref(), Some(session.gateway_order_id.as_str()));
            assert_eq!(event.event_id, captured.event_id);
            assert_eq!(event.payment.map(|p| (p.amount, p.currency)), Some((132_988, "INR".to_owned())));
        }
        WebhookOutcome::Ignored(why) => panic!("ignored: {why}"),
    }
    let mut tampered = captured.body.clone();
    let at = tampered.iter().position(|b| *b == b'1').expect("a digit");
    tampered[at] = b'9';
    let refused = gateway.handle_webhook(&Webhook { headers, body: tampered }).await;
    assert!(matches!(refused, Err(GatewayCallError::Gateway(GatewayError::VerificationFailed(_)))), "{refused:?}");
}

/// Guards the allow-list from inside a plugin: a host outside `allowed_hosts` is refused by the
/// host before any connection (plain http to loopback outside development is refused the same
/// way; `plugins::outbound`'s unit tests cover each rule).
#[tokio::test]
async fn a_gateway_cannot_reach_a_host_outside_its_allowed_hosts() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let app = spawn_app_with(|config| gateway(config, &fake, "https://evil.example")).await;
    let why = unavailable(loaded(&app).gateway().expect("gateway").create_session(&order("1", 500)).await);
    assert_eq!(why, "forbidden: `evil.example` is not in plugins.razorpay.allowed_hosts");

    assert_eq!(fake.calls("POST /v1/orders"), 0);
}

/// Guards the bounds: a hung gateway API is cut at `http.timeout` and reported as a timeout to
/// the plugin; with a longer `http.timeout`, `limits.timeout_ms` still ends the whole call (the
/// guest was waiting in the host), and the engine goes on serving.
#[tokio::test]
async fn a_hung_gateway_api_is_cut_at_the_request_timeout_and_the_call_deadline() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let base = fake.base_url();
    let app = spawn_app_with(|config| gateway(config, &fake, &base)).await;
    fake.fault_always("POST /v1/orders", Fault::Hang(Duration::from_secs(5)));
    let started = std::time::Instant::now();
    let why = unavailable(loaded(&app).gateway().expect("gateway").create_session(&order("3", 500)).await);
    assert_eq!(why, "timed out");
    assert!(started.elapsed() < Duration::from_secs(3), "cut at http.timeout: {:?}", started.elapsed());

    let long_wait = spawn_app_with(|config| {
        gateway(config, &fake, &base);
        let probe = config.plugins.get_mut("razorpay").expect("configured");
        probe.http.timeout = Duration::from_secs(30);
        probe.limits.timeout_ms = 300;
    })
    .await;
    let started = std::time::Instant::now();
    match loaded(&long_wait).gateway().expect("gateway").create_session(&order("4", 500)).await {
        Err(GatewayCallError::Plugin(error)) => assert_eq!(error.kind, PluginErrorKind::Timeout { timeout_ms: 300 }),
        other => panic!("expected the call deadline, got {other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(3), "cut at limits.timeout_ms: {:?}", started.elapsed());
    assert_eq!(long_wait.get("/health", None).await.status, 200);
}

/// Guards the worlds apart: a gateway named in `[pricing] chain` stops the load, naming it.
#[tokio::test]
async fn a_gateway_in_the_pricing_chain_is_refused_at_load() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let mut config = commerce_engine::config::load_from_str("").expect("defaults");
    gateway(&mut config, &fake, &fake.base_url());
    config.pricing.chain = vec!["razorpay".to_owned()];
    let error = commerce_engine::plugins::PluginSet::load(
        &config.plugin_runtime,
        &config.plugins,
        &config.pricing,
        config.environment,
    )
    .await
    .err()
    .expect("refused");
    assert_eq!(error.errors.len(), 1, "{error}");
    assert_eq!(error.errors[0].kind, PluginErrorKind::NotAPricingRule, "{error}");
    assert!(
        error.to_string().contains("`razorpay` is a payment-gateway plugin, so it cannot be in [pricing] chain"),
        "{error}"
    );
}

/// Guards the bundled `razorpay` plugin in the engine against the fake Razorpay, manual capture:
/// a session creates the gateway order, a checkout result verifies against the stored gateway
/// order id and the payment as the fake reports it, capture happens once (a second capture is the
/// gateway's "already captured", answered as captured), the captured webhook verifies, and a
/// refund passes the engine's idempotency key so a retry refunds once.
#[tokio::test]
async fn the_razorpay_plugin_pays_captures_and_refunds_through_the_host() {
    let fake = FakeRazorpay::start(FakeConfig { auto_capture: false, ..FakeConfig::default() }).await;
    let base = fake.base_url();
    let app = spawn_app_with(|config| {
        gateway(config, &fake, &base);
        let razorpay = config.plugins.get_mut("razorpay").expect("configured");
        razorpay.module = crate::helpers::plugins::wasm("razorpay");
        razorpay.settings.insert("capture".to_owned(), json!("manual"));
    })
    .await;
    let plugin = loaded(&app);
    let gateway = plugin.gateway().expect("a gateway");

    let session = gateway.create_session(&order("1002", 50_000)).await.expect("a session");
    let paid = fake.pay(&session.gateway_order_id, PayMethod::Upi);
    let result = ClientResult {
        order_id: "ord_1002".to_owned(),
        gateway_order_id: session.gateway_order_id.clone(),
        amount: 50_000,
        currency: "INR".to_owned(),
        payload: json!(paid).to_string(),
    };
    let status = gateway.verify(&result).await.expect("verified");
    assert_eq!((status.state, status.amount), (PaymentState::Authorized, 50_000), "{status:?}");
    let wrong_amount = ClientResult { amount: 40_000, ..result };
    assert!(
        matches!(
            gateway.verify(&wrong_amount).await,
            Err(GatewayCallError::Gateway(GatewayError::VerificationFailed(_)))
        ),
        "an amount the order does not have never verifies"
    );

    let payment_id = paid.razorpay_payment_id.clone();
    let capture = CaptureRequest {
        order_id: "ord_1002".to_owned(),
        gateway_payment_id: payment_id.clone(),
        amount: 50_000,
        currency: "INR".to_owned(),
    };
    assert_eq!(gateway.capture(&capture).await.expect("captured").state, PaymentState::Captured);
    assert_eq!(gateway.capture(&capture).await.expect("already captured").state, PaymentState::Captured);
    assert_eq!(fake.payment(&payment_id).expect("payment")["status"], "captured");

    let captured = fake.webhook("payment.captured", &payment_id);
    let headers = captured.headers().iter().map(|(n, v)| ((*n).to_owned(), v.clone())).collect();
    match gateway.handle_webhook(&Webhook { headers, body: captured.body.clone() }).await.expect("verified") {
        WebhookOutcome::Event(event) => {
            assert_eq!(event.gateway_order_id.as_deref(), Some(session.gateway_order_id.as_str()));
            assert_eq!(event.payment.map(|p| p.state), Some(PaymentState::Captured));
        }
        WebhookOutcome::Ignored(why) => panic!("ignored: {why}"),
    }

    let refund = RefundRequest {
        order_id: "ord_1002".to_owned(),
        gateway_payment_id: payment_id.clone(),
        amount: 20_000,
        currency: "INR".to_owned(),
        reason: Some("one item back".to_owned()),
        idempotency_key: "rf_ord_1002_0001".to_owned(),
    };
    let first = gateway.refund(&refund).await.expect("refunded");
    let again = gateway.refund(&refund).await.expect("the same refund");
    assert_eq!((first.gateway_refund_id.clone(), first.amount), (again.gateway_refund_id, 20_000));
    assert_eq!(fake.payment(&payment_id).expect("payment")["amount_refunded"], 20_000, "refunded once");
}

/// Guards the gateway's default call budget: left at the pricing default (100 ms), a gateway
/// gets 15 s, as its calls wait on the network; a value the operator chose is kept.
#[tokio::test]
async fn a_gateway_left_at_the_pricing_timeout_gets_a_network_budget() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let base = fake.base_url();
    let defaults = spawn_app_with(|config| {
        gateway(config, &fake, &base);
        let probe = config.plugins.get_mut("razorpay").expect("configured");
        probe.limits = commerce_engine::config::PluginLimits::default();
    })
    .await;
    assert_eq!(loaded(&defaults).limits.timeout_ms, 15_000);
    let chosen = spawn_app_with(|config| gateway(config, &fake, &base)).await;
    assert_eq!(loaded(&chosen).limits.timeout_ms, 5_000, "the operator's value");
}
