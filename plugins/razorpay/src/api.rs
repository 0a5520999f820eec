//! Razorpay's REST API as this gateway uses it: requests with basic auth by secret name, the error
//! policy, and lenient readings of the entities (unknown fields ignored, `notes` as `{}` or `[]`).

use commerce_sdk::gateway::{Auth, GatewayError, PaymentState, PaymentStatus, RefundStatus, Request};
use commerce_sdk::{Currency, GatewayHost, Level, log};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::Settings;

/// What Razorpay answers when a payment is captured already (a retried capture). Documented for
/// `POST /v1/payments/:id/capture`.
pub const ALREADY_CAPTURED: &str =
    "Your payment has been declined as the order is already paid. Please initiate the payment with a new order.";

/// The secret holding the API key secret: basic-auth password and checkout signing key.
pub const KEY_SECRET: &str = "key_secret";

pub fn unavailable(why: impl std::fmt::Display) -> GatewayError {
    GatewayError::Unavailable(why.to_string())
}

/// Sends `request` with basic auth and reads a 2xx body as `T`.
///
/// Error policy: no response, a 5xx, 429 (rate limited: retry later), 409 (a request with the
/// same idempotency key is still in progress: retry later) and 401 (the operator's keys are
/// wrong: nothing the shopper did) are `Unavailable`; any other 4xx is `Rejected` with
/// Razorpay's description, which is written for people.
pub fn send<T: DeserializeOwned>(
    settings: &Settings,
    host: &dyn GatewayHost,
    request: Request,
) -> Result<T, GatewayError> {
    let what = format!("{} {}", request.method.as_str(), request.url);
    let response = host.http_send(&request.auth(Auth::basic(&settings.key_id, KEY_SECRET)))?;
    if response.is_success() {
        return response.json_body().map_err(|e| unavailable(format!("{what}: unexpected answer: {e}")));
    }
    let error = response.json_body::<ErrorBody>().map(|body| body.error).unwrap_or_default();
    let status = response.status.to_string();
    log(Level::Warn, "razorpay refused a request", &[("request", &what), ("status", &status), ("code", &error.code)]);
    let description = error.description.filter(|d| !d.is_empty());
    match (response.status, description) {
        (400..=499, Some(description)) if !matches!(response.status, 401 | 409 | 429) => {
            Err(GatewayError::Rejected(description))
        }
        (_, description) => Err(unavailable(format!(
            "{what}: status {status}: {}",
            description.as_deref().unwrap_or("no error description")
        ))),
    }
}

/// `{"error": {"code", "description", "field", "source", "step", "reason", "metadata"}}`.
#[derive(Deserialize)]
struct ErrorBody {
    #[serde(default)]
    error: ErrorDetail,
}

#[derive(Deserialize, Default)]
struct ErrorDetail {
    #[serde(default)]
    code: String,
    #[serde(default)]
    description: Option<String>,
}

/// A Razorpay id used in a URL path (`order_…`, `pay_…`): only letters, digits and `_`, so an id
/// from a payload cannot change the path or the query.
pub fn path_id(id: &str) -> Result<&str, GatewayError> {
    if !id.is_empty() && id.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        Ok(id)
    } else {
        Err(GatewayError::VerificationFailed(format!("`{id}` is not a Razorpay id")))
    }
}

fn currency(code: &str) -> Result<Currency, GatewayError> {
    Currency::new(code).map_err(|e| unavailable(format!("razorpay sent currency `{code}`: {e}")))
}

/// The order entity (`POST /v1/orders`, `GET /v1/orders/:id`).
#[derive(Deserialize)]
pub struct OrderEntity {
    pub id: String,
    pub currency: String,
}

impl OrderEntity {
    pub fn currency(&self) -> Result<Currency, GatewayError> {
        currency(&self.currency)
    }
}

/// `{"entity": "collection", "count", "items": […]}`.
#[derive(Deserialize)]
pub struct Collection<T> {
    pub items: Vec<T>,
}

/// The payment entity.
#[derive(Deserialize)]
pub struct Payment {
    pub id: String,
    #[serde(default)]
    pub order_id: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub status: String,
    #[serde(default)]
    pub amount_refunded: Option<i64>,
    #[serde(default)]
    pub refund_status: Option<String>,
    /// `{}` with keys, `[]` when empty: read with `Value::get`, which gives `None` on an array.
    #[serde(default)]
    pub notes: Value,
    #[serde(default)]
    pub created_at: i64,
}

impl Payment {
    /// The engine's order id, which `create_session` put in the gateway order's notes (Razorpay
    /// copies them onto its payments).
    pub fn engine_order_id(&self) -> Option<String> {
        self.notes.get("order_id").and_then(Value::as_str).map(str::to_owned)
    }

    pub fn state(&self) -> Result<PaymentState, GatewayError> {
        Ok(match (self.status.as_str(), self.refund_status.as_deref()) {
            ("created", _) => PaymentState::Pending,
            ("authorized", _) => PaymentState::Authorized,
            ("failed", _) => PaymentState::Failed,
            ("refunded", _) | ("captured", Some("full")) => PaymentState::Refunded,
            ("captured", Some("partial")) => PaymentState::PartiallyRefunded,
            ("captured", _) => PaymentState::Captured,
            (other, _) => return Err(unavailable(format!("razorpay sent payment status `{other}`"))),
        })
    }

    /// How good an outcome this payment is for its order: captured (refunds included, they were
    /// captured first), then authorized, then one still running, then a failed one.
    pub fn rank(&self) -> u8 {
        match self.status.as_str() {
            "captured" | "refunded" => 3,
            "authorized" => 2,
            "created" => 1,
            _ => 0,
        }
    }

    pub fn status(&self) -> Result<PaymentStatus, GatewayError> {
        Ok(PaymentStatus {
            state: self.state()?,
            gateway_payment_id: Some(self.id.clone()),
            amount: self.amount,
            currency: currency(&self.currency)?,
            amount_refunded: self.amount_refunded.unwrap_or(0),
        })
    }
}

/// The refund entity.
#[derive(Deserialize)]
pub struct Refund {
    pub id: String,
    pub payment_id: String,
    pub amount: i64,
    pub currency: String,
    pub status: String,
}

impl Refund {
    pub fn status(&self) -> Result<RefundStatus, GatewayError> {
        let state = match self.status.as_str() {
            "pending" => PaymentState::Pending,
            "processed" => PaymentState::Refunded,
            "failed" => PaymentState::Failed,
            other => return Err(unavailable(format!("razorpay sent refund status `{other}`"))),
        };
        Ok(RefundStatus {
            gateway_refund_id: self.id.clone(),
            gateway_payment_id: self.payment_id.clone(),
            amount: self.amount,
            currency: currency(&self.currency)?,
            state,
        })
    }
}

/// A webhook: `{"event", "payload": {"payment": {"entity"}, "refund": {"entity"}, …}}`.
#[derive(Deserialize)]
pub struct Event {
    pub event: String,
    #[serde(default)]
    pub payload: EventPayload,
}

#[derive(Deserialize, Default)]
pub struct EventPayload {
    #[serde(default)]
    pub payment: Option<Wrapped<Payment>>,
    #[serde(default)]
    pub refund: Option<Wrapped<Refund>>,
}

#[derive(Deserialize)]
pub struct Wrapped<T> {
    pub entity: T,
}
