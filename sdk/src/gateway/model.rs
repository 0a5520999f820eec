//! The records a gateway receives and returns: the WIT `gateway` interface, field for field, with
//! currencies parsed (a currency that is not an ISO 4217 code never reaches the gateway's code).

use commerce_pipeline::Currency;

/// What kind of payment a gateway takes, asked once when the plugin loads (after its settings are
/// validated, with the same settings). The engine drives an order's payment by it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Capabilities {
    /// Staff confirm payments by hand (`pending_payment → paid` through the admin transitions)
    /// and record refunds by hand, with no gateway call (bank transfer, cash on delivery).
    pub staff_confirms_payment: bool,
    /// Unpaid orders expire after `orders.payment_timeout` (every online gateway; a manual one
    /// only when its operator says so).
    pub unpaid_orders_expire: bool,
}

impl Capabilities {
    /// An online gateway's: the gateway confirms payments, and unpaid orders expire. What
    /// [`PaymentGateway::capabilities`](super::PaymentGateway::capabilities) answers unless a
    /// gateway says otherwise.
    pub const ONLINE: Self = Self { staff_confirms_payment: false, unpaid_orders_expire: true };
}

/// The engine's order, as the gateway needs it to open a payment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Order {
    /// The engine's order id: put it in the gateway's notes so webhooks can name it.
    pub order_id: String,
    /// The shop's human order number (a receipt field; at most 20 characters).
    pub order_number: String,
    /// Minor units of `currency`.
    pub amount: i64,
    /// What the order must be paid in.
    pub currency: Currency,
    /// The customer's e-mail, to prefill the gateway's form.
    pub customer_email: Option<String>,
    /// The customer's phone, to prefill the gateway's form.
    pub customer_phone: Option<String>,
}

/// What the storefront needs to open the gateway's checkout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// The gateway's id for this payment attempt; the engine stores it and passes it back.
    pub gateway_order_id: String,
    /// JSON for the storefront widget. Public data only: it goes to the browser.
    pub client_payload: String,
}

/// What the widget returned, beside the engine's own record of the order: check the widget's
/// claims against the engine's fields, never the other way round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientResult {
    /// The engine's order id.
    pub order_id: String,
    /// The gateway order id the engine stored (not one the client sent).
    pub gateway_order_id: String,
    /// What the order must be paid with, in minor units.
    pub amount: i64,
    /// The order's currency.
    pub currency: Currency,
    /// The widget's fields (payment id, signature…) as JSON: untrusted until verified.
    pub payload: String,
}

/// Where a payment stands at the gateway.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PaymentState {
    /// Nothing paid yet, or the attempt is still running.
    Pending,
    /// Authorised, not captured: the engine will ask for a capture.
    Authorized,
    /// Paid.
    Captured,
    /// The attempt failed.
    Failed,
    /// Refunded in full.
    Refunded,
    /// Refunded in part.
    PartiallyRefunded,
}

/// A payment as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentStatus {
    /// Where it stands.
    pub state: PaymentState,
    /// The gateway's payment id, once there is one.
    pub gateway_payment_id: Option<String>,
    /// What the gateway says was paid: the engine marks an order paid only when this and
    /// `currency` equal the order's, so report the gateway's figure, not the order's.
    pub amount: i64,
    /// The currency the gateway says it was paid in.
    pub currency: Currency,
    /// Refunded so far (0 when none).
    pub amount_refunded: i64,
}

/// A webhook request as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Webhook {
    /// Header names in lower case.
    pub headers: Vec<(String, String)>,
    /// Byte for byte as received: signatures are over the raw body, so verify before parsing.
    pub body: Vec<u8>,
}

impl Webhook {
    /// The first value of header `name` (lower case).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }
}

/// A refund as the gateway reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundStatus {
    /// The gateway's refund id.
    pub gateway_refund_id: String,
    /// The payment refunded.
    pub gateway_payment_id: String,
    /// Minor units refunded.
    pub amount: i64,
    /// The refund's currency.
    pub currency: Currency,
    /// `Refunded` once processed, `Pending` while the gateway works on it, `Failed`.
    pub state: PaymentState,
}

/// What a verified webhook means for the engine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentEvent {
    /// The gateway's event id: the engine processes each id once, however often it arrives.
    pub event_id: String,
    /// The engine's order id, when the gateway echoes it (from the notes).
    pub order_id: Option<String>,
    /// The gateway order id, when the event names one.
    pub gateway_order_id: Option<String>,
    /// The payment, for a payment event.
    pub payment: Option<PaymentStatus>,
    /// The refund, for a refund event.
    pub refund: Option<RefundStatus>,
}

/// What a webhook with a valid signature says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WebhookOutcome {
    /// An event the engine acts on.
    Event(PaymentEvent),
    /// Verified but of no use to the engine: acknowledged with a 2xx so the gateway neither
    /// retries nor disables the webhook. The text says why, for the log.
    Ignored(String),
}

/// The engine asks for an authorised payment to be captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaptureRequest {
    /// The engine's order id.
    pub order_id: String,
    /// The payment to capture.
    pub gateway_payment_id: String,
    /// Minor units to capture.
    pub amount: i64,
    /// The payment's currency.
    pub currency: Currency,
}

/// The engine asks for a refund.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefundRequest {
    /// The engine's order id.
    pub order_id: String,
    /// The payment to refund.
    pub gateway_payment_id: String,
    /// Minor units to refund.
    pub amount: i64,
    /// The payment's currency.
    pub currency: Currency,
    /// Staff's reason, if any.
    pub reason: Option<String>,
    /// The same for every retry of one refund: pass it to the gateway so it refunds once.
    pub idempotency_key: String,
}

/// Why a gateway operation failed; the engine acts differently on each.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GatewayError {
    /// The gateway refused (declined, below its minimum…); the text may be shown to people.
    #[error("rejected: {0}")]
    Rejected(String),
    /// A signature, amount or currency did not match: an attack or a bug, never paid.
    #[error("verification failed: {0}")]
    VerificationFailed(String),
    /// Unreachable, timed out or an unexpected answer: the engine retries later.
    #[error("unavailable: {0}")]
    Unavailable(String),
}

impl From<crate::gateway::HttpError> for GatewayError {
    /// A request that produced no response is the gateway being unreachable, whatever the cause:
    /// `?` on [`GatewayHost::http_send`](crate::GatewayHost::http_send) gives the retryable error.
    fn from(error: crate::gateway::HttpError) -> Self {
        GatewayError::Unavailable(error.to_string())
    }
}
