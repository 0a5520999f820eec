//! Payment webhooks (issue 11): how many signed gateway deliveries the engine takes per second,
//! and what a call through a payment-gateway plugin adds to the gateway's own network wait.
//!
//! Both parts run the bundled Razorpay gateway (`plugins/razorpay`, built by
//! `cargo run -q -p xtask -- plugins`) with bench keys and secrets:
//!
//! - [`intake`]: an engine process with `payments.providers = ["razorpay"]`, and clients POSTing
//!   Razorpay-signed `payment.captured` events to `/api/v1/webhooks/razorpay`, each with an event
//!   id of its own (row `webhook_stored`, answered `stored`), then events it stored before sent
//!   again (row `webhook_duplicate`, answered `duplicate`), then events for paid orders of the
//!   shop (row `webhook_matched`, answered `stored`). Over HTTP, `--database` applies.
//! - [`gateway`]: the plugin loaded in this process and called as the payments domain calls it:
//!   `fetch_status` against a local stand-in for Razorpay's API, the same GET made natively, and
//!   `handle_webhook` on a signed body.
//!
//! Two kinds of event. Those of `webhook_stored` and `webhook_duplicate` are for gateway orders
//! the engine never opened (`order_Bench…`): each is verified, matched to nothing and stored as
//! ignored, as another shop's payment on the same Razorpay account would be. Those of
//! `webhook_matched` are for gateway orders of paid orders the bench seeds into the engine's
//! database ([`paid_orders`], `order_BenchM…`), each event reporting the payment that paid its
//! order: verified, matched, stored, answered, then settled after the answer as already paid,
//! which is what every delivery but the first of a payment finds (Razorpay sends
//! `payment.authorized`, `payment.captured` and `order.paid` for one payment).

mod api;
pub mod gateway;
pub mod intake;
mod paid_orders;

use std::path::Path;

use anyhow::{Context, ensure};
use clap::Args as ClapArgs;
use hmac::{Hmac, Mac as _};
use serde_json::{Value, json};
use sha2::Sha256;

/// The component under test. The bench's other in-process suites find their fixtures the same way.
const MODULE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../target/plugins/wasm32-wasip2/plugin/razorpay.wasm");
/// The plugin and provider name: the webhook path is `/api/v1/webhooks/razorpay`.
pub const PROVIDER: &str = "razorpay";
const KEY_ID: &str = "rzp_test_Bench000000001";
const KEY_SECRET: &str = "bench-key-secret";
const WEBHOOK_SECRET: &str = "bench-webhook-secret";
const ACCOUNT_ID: &str = "acc_Bench0000001";
/// When the bench's payments were made: 2026-01-01, fixed so bodies are reproducible.
const CREATED_AT: i64 = 1_767_225_600;

const DEFAULT_WEBHOOK_CLIENTS: usize = 32;
const DEFAULT_WEBHOOK_BODIES: usize = 1000;
const DEFAULT_GATEWAY_CALLS: usize = 2000;
const DEFAULT_GATEWAY_WARMUP_CALLS: usize = 200;

#[derive(ClapArgs, Clone, Debug)]
#[group(id = "webhooks_args")]
pub struct Args {
    /// Concurrent clients delivering webhooks back to back.
    #[arg(long, default_value_t = DEFAULT_WEBHOOK_CLIENTS)]
    pub webhook_clients: usize,
    /// Distinct signed event bodies built before measuring; clients cycle through them, each
    /// delivery with an event id of its own. Also the events re-sent by `webhook_duplicate`, and
    /// the paid orders seeded for `webhook_matched` (one body each).
    #[arg(long, default_value_t = DEFAULT_WEBHOOK_BODIES)]
    pub webhook_bodies: usize,
    /// Measured calls per row of the in-process gateway table (`--duration` does not apply).
    #[arg(long, default_value_t = DEFAULT_GATEWAY_CALLS)]
    pub gateway_calls: usize,
    /// Unmeasured calls before each of those rows.
    #[arg(long, default_value_t = DEFAULT_GATEWAY_WARMUP_CALLS)]
    pub gateway_warmup_calls: usize,
}

impl Default for Args {
    fn default() -> Self {
        Self {
            webhook_clients: DEFAULT_WEBHOOK_CLIENTS,
            webhook_bodies: DEFAULT_WEBHOOK_BODIES,
            gateway_calls: DEFAULT_GATEWAY_CALLS,
            gateway_warmup_calls: DEFAULT_GATEWAY_WARMUP_CALLS,
        }
    }
}

/// The built component's absolute path, or how to build it.
fn module() -> anyhow::Result<String> {
    let path = Path::new(MODULE);
    ensure!(
        path.is_file(),
        "{} is not built; build the plugins first: cargo run -q -p xtask -- plugins",
        path.display()
    );
    let absolute = path.canonicalize().with_context(|| format!("resolving {}", path.display()))?;
    Ok(absolute.display().to_string())
}

/// `[payments]` and `[plugins.razorpay]` as configuration overrides: the component at `module`,
/// the bench keys, the API at `api_base` (Razorpay's own when `None`) and `allowed_hosts` to
/// reach it.
fn razorpay_config(module: &str, api_base: Option<&str>, allowed_host: &str) -> toml::Table {
    let mut settings = toml::Table::new();
    settings.insert("key_id".into(), KEY_ID.into());
    if let Some(base) = api_base {
        settings.insert("api_base".into(), base.into());
    }
    let mut secrets = toml::Table::new();
    secrets.insert("key_secret".into(), KEY_SECRET.into());
    secrets.insert("webhook_secret".into(), WEBHOOK_SECRET.into());
    let mut limits = toml::Table::new();
    limits.insert("timeout_ms".into(), 15_000.into());
    let mut plugin = toml::Table::new();
    plugin.insert("module".into(), module.into());
    plugin.insert("allowed_hosts".into(), toml::Value::Array(vec![allowed_host.into()]));
    plugin.insert("limits".into(), limits.into());
    plugin.insert("settings".into(), settings.into());
    plugin.insert("secrets".into(), secrets.into());
    let mut plugins = toml::Table::new();
    plugins.insert(PROVIDER.into(), plugin.into());
    let mut payments = toml::Table::new();
    payments.insert("providers".into(), toml::Value::Array(vec![PROVIDER.into()]));
    let mut config = toml::Table::new();
    config.insert("payments".into(), payments.into());
    config.insert("plugins".into(), plugins.into());
    config
}

/// Bench payment `i`'s gateway order id: a valid Razorpay id the engine never opened.
fn gateway_order_id(i: usize) -> String {
    format!("order_Bench{i:09}")
}

/// Paid order `i` of the bench shop ([`paid_orders`]): its gateway order (a session of the
/// order) and the payment that paid it. As long as the ids above, so bodies are the same size.
fn matched_gateway_order_id(i: usize) -> String {
    format!("order_BenchM{i:08}")
}

fn matched_payment_id(i: usize) -> String {
    format!("pay_BenchM{i:010}")
}

/// A captured UPI payment of bench payment `i`, shaped like Razorpay's payment entity.
fn payment_entity(i: usize) -> Value {
    captured_payment(&format!("pay_Bench{i:011}"), &gateway_order_id(i), 49_900 + i as i64 % 1000)
}

/// The payment of paid order `i`, as captured: its id, gateway order and amount are the order's.
fn matched_payment_entity(i: usize) -> Value {
    captured_payment(&matched_payment_id(i), &matched_gateway_order_id(i), paid_orders::TOTAL)
}

fn captured_payment(id: &str, gateway_order: &str, amount: i64) -> Value {
    json!({
        "id": id, "entity": "payment", "amount": amount,
        "currency": "INR", "status": "captured", "order_id": gateway_order, "invoice_id": null,
        "international": false, "method": "upi", "amount_refunded": 0, "refund_status": null,
        "captured": true, "description": null, "card_id": null, "bank": null, "wallet": null,
        "vpa": "gaurav.kumar@exampleupi", "email": "gaurav.kumar@example.com", "contact": "+919876543210",
        "notes": {}, "fee": 1178, "tax": 180, "error_code": null, "error_description": null,
        "error_source": null, "error_step": null, "error_reason": null,
        "acquirer_data": { "rrn": "326818425631", "upi_transaction_id": "BENCHUPI0000000000001" },
        "created_at": CREATED_AT, "base_amount": amount, "amount_transferred": 0,
    })
}

/// A `payment.captured` delivery as Razorpay sends it: signed over these exact bytes.
#[derive(Clone, Debug)]
pub struct SignedEvent {
    pub body: bytes::Bytes,
    /// Lower-case hex HMAC-SHA256 of `body` under the webhook secret: `X-Razorpay-Signature`.
    pub signature: String,
}

impl SignedEvent {
    /// The event for bench payment `i` (of no order of the shop).
    fn captured(i: usize) -> Self {
        Self::payment_captured(payment_entity(i), i)
    }

    /// The event for the payment of paid order `i` of the shop.
    fn matched(i: usize) -> Self {
        Self::payment_captured(matched_payment_entity(i), i)
    }

    fn payment_captured(entity: Value, i: usize) -> Self {
        let payload = json!({ "payment": { "entity": entity } });
        // Razorpay's key order, written out as the fake in tests/e2e does: a receiver has to
        // check the bytes it got, whatever their order.
        let body = format!(
            r#"{{"entity":"event","account_id":{},"event":"payment.captured","contains":["payment"],"payload":{payload},"created_at":{}}}"#,
            Value::from(ACCOUNT_ID),
            CREATED_AT + i as i64 % 1000,
        );
        let signature = sign(body.as_bytes());
        Self { body: body.into(), signature }
    }

    /// Events for bench payments `0..count`.
    pub fn many(count: usize) -> Vec<Self> {
        (0..count).map(Self::captured).collect()
    }

    /// Events for the payments of paid orders `0..count` of the shop.
    pub fn matched_many(count: usize) -> Vec<Self> {
        (0..count).map(Self::matched).collect()
    }
}

fn sign(body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_are_signed_over_their_exact_bytes() {
        let event = SignedEvent::captured(7);
        let mut mac = Hmac::<Sha256>::new_from_slice(WEBHOOK_SECRET.as_bytes()).expect("key");
        mac.update(&event.body);
        let expected = hex::decode(&event.signature).expect("hex");
        assert!(mac.verify_slice(&expected).is_ok());
        assert_eq!(event.signature.len(), 64);
        assert_ne!(event.signature, SignedEvent::captured(8).signature);
    }

    #[test]
    fn events_have_razorpay_shape_and_name_no_order_of_ours() {
        let event = SignedEvent::captured(3);
        let text = std::str::from_utf8(&event.body).expect("UTF-8");
        assert!(text.starts_with(r#"{"entity":"event","account_id":"acc_Bench0000001","event":"payment.captured""#));
        let parsed: Value = serde_json::from_str(text).expect("JSON");
        assert_eq!(parsed["contains"], json!(["payment"]));
        let payment = &parsed["payload"]["payment"]["entity"];
        assert_eq!(payment["order_id"], "order_Bench000000003");
        assert_eq!(payment["status"], "captured");
        assert_eq!(payment["notes"], json!({}));
        assert!(payment["id"].as_str().is_some_and(|id| id.starts_with("pay_") && id.len() == 20));
    }

    #[test]
    fn matched_events_report_the_payment_of_their_paid_order_in_bodies_of_the_same_size() {
        let event = SignedEvent::matched(3);
        let parsed: Value = serde_json::from_slice(&event.body).expect("JSON");
        assert_eq!(parsed["event"], "payment.captured");
        let payment = &parsed["payload"]["payment"]["entity"];
        assert_eq!(payment["order_id"], matched_gateway_order_id(3));
        assert_eq!(payment["id"], matched_payment_id(3));
        assert_eq!(payment["amount"], paid_orders::TOTAL);
        assert_eq!(payment["currency"], paid_orders::CURRENCY);
        assert_eq!(payment["status"], "captured");
        assert_eq!(event.body.len(), SignedEvent::captured(3).body.len());
        assert_ne!(matched_gateway_order_id(3), gateway_order_id(3));
    }
}
