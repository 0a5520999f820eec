//! What a gateway is told about an order, what it answers, and the payment records the engine
//! keeps (`payments`, `payment_sessions`, `payment_events`, `refunds`).

use std::collections::BTreeMap;

use commerce_pipeline::Currency;

use crate::db::UnknownValue;

/// The order as a gateway sees it: what to charge and how to recognise it later.
#[derive(Debug, Clone)]
pub struct OrderForPayment {
    pub order_id: String,
    pub number: i64,
    pub amount: i64,
    pub currency: Currency,
    pub email: String,
}

/// A session the shopper pays through: instructions to follow (`manual`), or what a client-side
/// checkout widget needs (a gateway's key id and order id) in `client_data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSession {
    pub provider: String,
    pub amount: i64,
    pub currency: Currency,
    pub instructions: Option<String>,
    /// Provider-specific values for the storefront's payment widget (none for `manual`).
    pub client_data: BTreeMap<String, String>,
}

impl PaymentSession {
    /// The session as the storefront gets it, from the plugin's client payload (a JSON object):
    /// its `instructions` string, and every other scalar as text in `client_data`.
    pub fn from_payload(provider: &str, amount: i64, currency: Currency, payload: &str) -> Self {
        let mut instructions = None;
        let mut client_data = BTreeMap::new();
        if let Ok(serde_json::Value::Object(fields)) = serde_json::from_str::<serde_json::Value>(payload) {
            for (key, value) in fields {
                match (key.as_str(), value) {
                    ("instructions", serde_json::Value::String(text)) => instructions = Some(text),
                    (_, serde_json::Value::String(text)) => {
                        client_data.insert(key, text);
                    }
                    (_, value @ (serde_json::Value::Number(_) | serde_json::Value::Bool(_))) => {
                        client_data.insert(key, value.to_string());
                    }
                    _ => {}
                }
            }
        }
        Self { provider: provider.to_owned(), amount, currency, instructions, client_data }
    }
}

/// Where an order's money stands (`payments.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaymentState {
    Pending,
    /// One request holds the claim to capture `gateway_payment_id`.
    Capturing,
    Captured,
    /// A total of 0.
    NotRequired,
}

impl PaymentState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Capturing => "capturing",
            Self::Captured => "captured",
            Self::NotRequired => "not_required",
        }
    }
}

impl TryFrom<String> for PaymentState {
    type Error = UnknownValue;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        [Self::Pending, Self::Capturing, Self::Captured, Self::NotRequired]
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or(UnknownValue { what: "payment state", value })
    }
}

/// An order's `payments` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Payment {
    pub order_id: String,
    pub provider: String,
    pub amount: i64,
    pub currency: String,
    #[sqlx(try_from = "String")]
    pub state: PaymentState,
    pub gateway_payment_id: Option<String>,
    pub claimed_at: Option<i64>,
    pub captured_at: Option<i64>,
    pub review: Option<String>,
}

/// A gateway order opened for an order (`payment_sessions`).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct StoredSession {
    pub gateway_order_id: String,
    pub client_payload: String,
}

/// Why a refund was made (`refunds.cause`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundCause {
    /// `POST /admin/orders/{id}/refunds`.
    Staff,
    /// A paid order was cancelled (by its owner or staff).
    Cancellation,
    /// The payment arrived after the order was cancelled (its stock is gone).
    LatePayment,
    /// A second payment for an order already paid.
    ExtraPayment,
}

impl RefundCause {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Staff => "staff",
            Self::Cancellation => "cancellation",
            Self::LatePayment => "late_payment",
            Self::ExtraPayment => "extra_payment",
        }
    }

    /// Whether the refund gives back the order's own payment (and so counts in
    /// `orders.refunded_total`), rather than money the order never kept.
    pub fn counts_toward_order(self) -> bool {
        matches!(self, Self::Staff | Self::Cancellation)
    }
}

/// A refund's progress (`refunds.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefundState {
    /// Written, not yet accepted by the gateway: the `payments` job retries it.
    Pending,
    /// Accepted by the gateway, not yet settled.
    Processing,
    Processed,
    Failed,
}

impl RefundState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Processing => "processing",
            Self::Processed => "processed",
            Self::Failed => "failed",
        }
    }
}

impl TryFrom<String> for RefundState {
    type Error = UnknownValue;

    fn try_from(value: String) -> Result<Self, Self::Error> {
        [Self::Pending, Self::Processing, Self::Processed, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == value)
            .ok_or(UnknownValue { what: "refund state", value })
    }
}

/// A `refunds` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct Refund {
    pub id: String,
    pub order_id: String,
    pub provider: String,
    pub gateway_payment_id: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub cause: String,
    pub reason: Option<String>,
    #[sqlx(try_from = "String")]
    pub state: RefundState,
    pub gateway_refund_id: Option<String>,
    pub gateway_key: String,
    /// 1 when it gives back the order's own payment (see [`RefundCause::counts_toward_order`]).
    pub counts: i64,
    pub attempts: i64,
    pub last_error: Option<String>,
    pub created_by: String,
    pub created_at: i64,
}

impl Refund {
    /// Whether it counts in `orders.refunded_total` (staff and cancellation refunds), as written.
    pub fn counts_toward_order(&self) -> bool {
        self.counts == 1
    }
}

/// A stored `payment_events` row that is due for processing.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct DueEvent {
    pub id: String,
    pub provider: String,
    pub detail: String,
    pub attempts: i64,
}
