//! `manual`: payments the shop takes outside the engine (bank transfer, cash on delivery). Staff
//! confirm them by hand (`pending_payment → paid` through the admin transitions) and record
//! refunds by hand; the plugin never calls out, so it needs no `allowed_hosts` and no secrets.
//!
//! It replaces the engine's former built-in manual provider and its `[payments.manual]` table:
//!
//! ```toml
//! [plugins.manual]
//! module = "target/plugins/wasm32-wasip2/plugin/manual.wasm"
//! [plugins.manual.settings]
//! instructions = "Pay by bank transfer to …; we ship once the payment is received."  # shown at checkout
//! expire_unpaid = false  # true: unpaid orders expire after `orders.payment_timeout`
//! ```
//!
//! `create_session` hands the storefront the instructions; every call a gateway would answer
//! (`verify`, `fetch_status`, `capture`, `refund`) is refused, since staff do that work, and
//! webhooks are acknowledged and ignored.

use commerce_sdk::gateway::{
    Capabilities, CaptureRequest, ClientResult, GatewayError, Order, PaymentStatus, RefundRequest, RefundStatus,
    Session, Webhook, WebhookOutcome,
};
use commerce_sdk::{GatewayHost, PaymentGateway};
use serde::Deserialize;
use serde_json::json;

/// The most `instructions` may hold, in characters: a paragraph for the checkout page.
pub const INSTRUCTIONS_MAX_CHARS: usize = 1000;

/// The gateway.
pub struct Manual;

/// `[plugins.manual.settings]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// How to pay, shown to the shopper at checkout (in the session's client payload).
    #[serde(default = "default_instructions")]
    instructions: String,
    /// Whether unpaid orders expire after `orders.payment_timeout`. Off by default: a bank
    /// transfer can take days, and cash on delivery is paid at the door.
    #[serde(default)]
    expire_unpaid: bool,
}

fn default_instructions() -> String {
    "Pay by bank transfer or cash on delivery; we ship once the payment is received.".to_owned()
}

fn rejected(why: &str) -> GatewayError {
    GatewayError::Rejected(why.to_owned())
}

impl PaymentGateway for Manual {
    type Settings = Settings;

    fn validate_settings(settings: &Settings) -> Result<(), String> {
        let mut problems = Vec::new();
        if settings.instructions.trim().is_empty() {
            problems.push("instructions must not be blank".to_owned());
        }
        let chars = settings.instructions.chars().count();
        if chars > INSTRUCTIONS_MAX_CHARS {
            problems.push(format!("instructions are {chars} characters long, at most {INSTRUCTIONS_MAX_CHARS}"));
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
    }

    fn capabilities(settings: &Settings) -> Capabilities {
        Capabilities { staff_confirms_payment: true, unpaid_orders_expire: settings.expire_unpaid }
    }

    fn create_session(settings: &Settings, _: &dyn GatewayHost, order: &Order) -> Result<Session, GatewayError> {
        Ok(Session {
            gateway_order_id: format!("manual_{}", order.order_id),
            client_payload: json!({"instructions": settings.instructions}).to_string(),
        })
    }

    fn verify(_: &Settings, _: &dyn GatewayHost, _: &ClientResult) -> Result<PaymentStatus, GatewayError> {
        Err(rejected("manual payments are confirmed by staff, not by the storefront"))
    }

    fn handle_webhook(_: &Settings, _: &dyn GatewayHost, _: &Webhook) -> Result<WebhookOutcome, GatewayError> {
        Ok(WebhookOutcome::Ignored("manual payments have no webhooks".to_owned()))
    }

    fn fetch_status(_: &Settings, _: &dyn GatewayHost, _: &str, _: &str) -> Result<PaymentStatus, GatewayError> {
        Err(rejected("manual payments have no gateway to ask: staff confirm them by hand"))
    }

    fn capture(_: &Settings, _: &dyn GatewayHost, _: &CaptureRequest) -> Result<PaymentStatus, GatewayError> {
        Err(rejected("manual payments are not captured: staff confirm them by hand once received"))
    }

    fn refund(_: &Settings, _: &dyn GatewayHost, _: &RefundRequest) -> Result<RefundStatus, GatewayError> {
        Err(rejected("manual payments are refunded by staff outside the engine and recorded by hand"))
    }
}

commerce_sdk::export_payment_gateway!(Manual);
