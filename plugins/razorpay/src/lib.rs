//! `razorpay`: a payment gateway for Razorpay (orders API, Standard Checkout, webhooks).
//!
//! Settings and secrets:
//!
//! ```toml
//! [plugins.razorpay]
//! allowed_hosts = ["api.razorpay.com"]
//! limits = { timeout_ms = 15000 }
//! [plugins.razorpay.settings]
//! key_id = "rzp_live_…"                 # public; required
//! api_base = "https://api.razorpay.com" # default; https, or http://127.0.0.1 / localhost for a fake
//! capture = "automatic"                 # "automatic" (default) | "manual": the engine captures
//! # [plugins.razorpay.secrets] from the environment, never in a file:
//! #   COMMERCE_PLUGINS__RAZORPAY__SECRETS__KEY_SECRET, …__WEBHOOK_SECRET
//! ```
//!
//! **Trust.** Ids come from the engine. The checkout payload is signed (`order|payment` under
//! `key_secret`) and then checked against the payment Razorpay reports: its order, amount and
//! currency must be the engine's. Webhooks are signed over the raw body under `webhook_secret`,
//! which the merchant chooses in the Dashboard and need not be the API secret.

mod api;

use commerce_sdk::gateway::{
    CaptureRequest, ClientResult, GatewayError, HmacAlgorithm, Order, PaymentEvent, PaymentState, PaymentStatus,
    RefundRequest, RefundStatus, Request, Session, Webhook, WebhookOutcome, from_hex,
};
use commerce_sdk::{GatewayHost, Level, PaymentGateway, log};
use serde::Deserialize;
use serde_json::json;

use api::{ALREADY_CAPTURED, Collection, Event, KEY_SECRET, OrderEntity, Payment, Refund, path_id, send, unavailable};

/// The secret signing webhooks.
const WEBHOOK_SECRET: &str = "webhook_secret";
/// Razorpay's limit on an order's `receipt`.
const RECEIPT_MAX_CHARS: usize = 40;
/// Razorpay's limit on a `notes` value.
const NOTE_MAX_CHARS: usize = 256;
/// Razorpay's minimum order, INR 1.00.
const MIN_INR_PAISE: i64 = 100;

/// The gateway.
pub struct Razorpay;

/// `[plugins.razorpay.settings]`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The public key id (`rzp_test_…`, `rzp_live_…`): basic-auth username, and Checkout's `key`.
    key_id: String,
    #[serde(default = "default_api_base")]
    api_base: String,
    #[serde(default)]
    capture: Capture,
}

/// Whether Razorpay captures a payment once authorised, or leaves it to the engine's `capture`.
#[derive(Deserialize, Default, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
enum Capture {
    #[default]
    Automatic,
    Manual,
}

fn default_api_base() -> String {
    "https://api.razorpay.com".to_owned()
}

impl Settings {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.api_base.trim_end_matches('/'))
    }
}

/// Plain http only to this machine, for a local fake; the host allows even that only in
/// development.
fn is_local_http(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else { return false };
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority.rsplit_once(':').map_or(authority, |(host, _port)| host);
    matches!(host, "127.0.0.1" | "localhost")
}

fn verification_failed(why: impl Into<String>) -> GatewayError {
    GatewayError::VerificationFailed(why.into())
}

/// An HMAC-SHA256 check under a named secret; a missing or non-hex signature fails too.
fn check_signature(
    host: &dyn GatewayHost,
    secret: &str,
    message: &[u8],
    signature_hex: Option<&str>,
) -> Result<(), GatewayError> {
    let signature = signature_hex.and_then(from_hex).ok_or_else(|| verification_failed("no hex signature"))?;
    match host.hmac_verify(HmacAlgorithm::Sha256, secret, message, &signature) {
        Ok(true) => Ok(()),
        Ok(false) => Err(verification_failed("signature mismatch")),
        Err(e) => Err(unavailable(e)),
    }
}

fn fetch_payment(settings: &Settings, host: &dyn GatewayHost, payment_id: &str) -> Result<Payment, GatewayError> {
    send(settings, host, Request::get(settings.url(&format!("/v1/payments/{}", path_id(payment_id)?))))
}

/// The checkout handler's fields (`razorpay_payment_id`, `razorpay_order_id`, `razorpay_signature`).
#[derive(Deserialize)]
struct CheckoutResult {
    razorpay_payment_id: String,
    #[serde(default)]
    razorpay_order_id: Option<String>,
    razorpay_signature: String,
}

impl PaymentGateway for Razorpay {
    type Settings = Settings;

    fn validate_settings(settings: &Settings) -> Result<(), String> {
        let mut problems = Vec::new();
        if settings.key_id.trim().is_empty() {
            problems.push("key_id must not be empty".to_owned());
        }
        if !settings.api_base.starts_with("https://") && !is_local_http(&settings.api_base) {
            problems.push(format!(
                "api_base `{}` must be an https:// URL (or http://127.0.0.1 / http://localhost for a local fake)",
                settings.api_base
            ));
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
    }

    fn create_session(settings: &Settings, host: &dyn GatewayHost, order: &Order) -> Result<Session, GatewayError> {
        if order.currency.as_str() == "INR" && order.amount < MIN_INR_PAISE {
            return Err(GatewayError::Rejected("Razorpay needs at least ₹1.00 (100 paise)".to_owned()));
        }
        let receipt: String = order.order_number.chars().take(RECEIPT_MAX_CHARS).collect();
        let body = json!({
            "amount": order.amount,
            "currency": order.currency.as_str(),
            "receipt": receipt,
            "notes": {"order_id": order.order_id},
            "payment_capture": settings.capture == Capture::Automatic,
        });
        let created: OrderEntity = send(settings, host, Request::post(settings.url("/v1/orders")).json(&body))?;
        log(Level::Info, "razorpay order created", &[("order_id", &order.order_id), ("gateway_order_id", &created.id)]);
        let payload = json!({"key": settings.key_id, "order_id": created.id, "amount": order.amount,
            "currency": order.currency.as_str()});
        Ok(Session { gateway_order_id: created.id, client_payload: payload.to_string() })
    }

    fn verify(
        settings: &Settings,
        host: &dyn GatewayHost,
        outcome: &ClientResult,
    ) -> Result<PaymentStatus, GatewayError> {
        let result: CheckoutResult = serde_json::from_str(&outcome.payload)
            .map_err(|e| verification_failed(format!("checkout payload: {e}")))?;
        if result.razorpay_order_id.as_ref().is_some_and(|id| *id != outcome.gateway_order_id) {
            return Err(verification_failed("the payload names another gateway order"));
        }
        // Signed over the gateway order id the engine stored, never one from the payload.
        let message = format!("{}|{}", outcome.gateway_order_id, result.razorpay_payment_id);
        check_signature(host, KEY_SECRET, message.as_bytes(), Some(&result.razorpay_signature))?;

        let payment = fetch_payment(settings, host, &result.razorpay_payment_id)?;
        if payment.order_id.as_deref() != Some(outcome.gateway_order_id.as_str()) {
            return Err(verification_failed("the payment belongs to another gateway order"));
        }
        if payment.amount != outcome.amount || payment.currency != outcome.currency.as_str() {
            return Err(verification_failed(format!(
                "the payment is {} {}, the order {} {}",
                payment.amount,
                payment.currency,
                outcome.amount,
                outcome.currency.as_str()
            )));
        }
        payment.status()
    }

    fn handle_webhook(_: &Settings, host: &dyn GatewayHost, webhook: &Webhook) -> Result<WebhookOutcome, GatewayError> {
        check_signature(host, WEBHOOK_SECRET, &webhook.body, webhook.header("x-razorpay-signature"))?;
        let event: Event =
            serde_json::from_slice(&webhook.body).map_err(|e| unavailable(format!("webhook body: {e}")))?;
        let payment = event.payload.payment.map(|p| p.entity);
        let refund = event.payload.refund.map(|r| r.entity);
        let (payment, refund) = match event.event.as_str() {
            "payment.authorized" | "payment.captured" | "payment.failed" | "order.paid" => {
                let payment = payment.ok_or_else(|| unavailable(format!("{} without a payment", event.event)))?;
                (Some(payment), None)
            }
            "refund.created" | "refund.processed" | "refund.failed" => {
                let refund = refund.ok_or_else(|| unavailable(format!("{} without a refund", event.event)))?;
                (payment, Some(refund))
            }
            other => return Ok(WebhookOutcome::Ignored(format!("event `{other}`"))),
        };
        // Razorpay sends a unique `x-razorpay-event-id`; without one, the event and entity still
        // identify a retried delivery.
        let event_id = match webhook.header("x-razorpay-event-id") {
            Some(id) if !id.is_empty() => id.to_owned(),
            _ => {
                let entity = refund.as_ref().map(|r| &r.id).or(payment.as_ref().map(|p| &p.id));
                format!("{}:{}", event.event, entity.map_or("", String::as_str))
            }
        };
        Ok(WebhookOutcome::Event(PaymentEvent {
            event_id,
            order_id: payment.as_ref().and_then(Payment::engine_order_id),
            gateway_order_id: payment.as_ref().and_then(|p| p.order_id.clone()),
            payment: payment.as_ref().map(Payment::status).transpose()?,
            refund: refund.as_ref().map(Refund::status).transpose()?,
        }))
    }

    fn fetch_status(
        settings: &Settings,
        host: &dyn GatewayHost,
        _: &str,
        gateway_order_id: &str,
    ) -> Result<PaymentStatus, GatewayError> {
        let id = path_id(gateway_order_id)?;
        let payments: Collection<Payment> =
            send(settings, host, Request::get(settings.url(&format!("/v1/orders/{id}/payments"))))?;
        let best = payments.items.iter().max_by_key(|p| (p.rank(), p.created_at));
        if let Some(payment) = best {
            return payment.status();
        }
        // No attempt yet: the order itself gives the currency a status needs.
        let order: OrderEntity = send(settings, host, Request::get(settings.url(&format!("/v1/orders/{id}"))))?;
        Ok(PaymentStatus {
            state: PaymentState::Pending,
            gateway_payment_id: None,
            amount: 0,
            currency: order.currency()?,
            amount_refunded: 0,
        })
    }

    fn capture(
        settings: &Settings,
        host: &dyn GatewayHost,
        request: &CaptureRequest,
    ) -> Result<PaymentStatus, GatewayError> {
        let id = path_id(&request.gateway_payment_id)?;
        let body = json!({"amount": request.amount, "currency": request.currency.as_str()});
        let url = settings.url(&format!("/v1/payments/{id}/capture"));
        match send::<Payment>(settings, host, Request::post(url).json(&body)) {
            Ok(payment) => payment.status(),
            // A retried capture: the payment says where it stands.
            Err(GatewayError::Rejected(description)) if description == ALREADY_CAPTURED => {
                fetch_payment(settings, host, id)?.status()
            }
            Err(e) => Err(e),
        }
    }

    fn refund(
        settings: &Settings,
        host: &dyn GatewayHost,
        request: &RefundRequest,
    ) -> Result<RefundStatus, GatewayError> {
        let id = path_id(&request.gateway_payment_id)?;
        let mut body = json!({"amount": request.amount});
        if let Some(reason) = &request.reason {
            body["notes"] = json!({"reason": reason.chars().take(NOTE_MAX_CHARS).collect::<String>()});
        }
        let post = Request::post(settings.url(&format!("/v1/payments/{id}/refund")))
            .header("X-Refund-Idempotency", &request.idempotency_key)
            .json(&body);
        send::<Refund>(settings, host, post)?.status()
    }
}

commerce_sdk::export_payment_gateway!(Razorpay);

#[cfg(test)]
mod tests {
    use super::is_local_http;

    #[test]
    fn only_this_machine_may_be_reached_over_plain_http() {
        assert!(is_local_http("http://127.0.0.1:8099"));
        assert!(is_local_http("http://localhost/x"));
        assert!(!is_local_http("http://localhost.example.com"));
        assert!(!is_local_http("http://127.0.0.1.example.com:80"));
        assert!(!is_local_http("http://api.razorpay.com"));
    }
}
