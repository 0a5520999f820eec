//! Order errors and their exhaustive mapping to problem+json.

use poem::http::StatusCode;

use crate::{
    carts::error::CartError,
    http::problem::{ApiError, LineProblem, Problem},
    orders::model::OrderStatus,
    payments::ProviderError,
    validation::FieldProblem,
};

/// One cart line that cannot be sold as asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShortLine {
    pub line_id: String,
    pub variant_id: String,
    pub requested: i64,
    pub available: i64,
}

#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    /// No such order, or not the caller's: the same answer, so ids cannot be probed.
    #[error("order not found")]
    NotFound,
    #[error("validation failed")]
    Validation(Vec<FieldProblem>),
    #[error("the cart is empty")]
    CartEmpty,
    #[error("the cart was already checked out")]
    CartConverted,
    /// Lines that block checkout (archived product, removed variant): remove them first.
    #[error("some lines cannot be sold")]
    LinesUnavailable(Vec<String>),
    #[error("not enough stock")]
    InsufficientStock(Vec<ShortLine>),
    #[error("the total changed to {total}")]
    PriceChanged { total: i64, currency: String },
    #[error("the coupon does not apply: {reason}")]
    CouponIneligible { code: String, reason: String, plugin: Option<String> },
    #[error("at most {max} unpaid orders")]
    TooManyUnpaid { max: u32 },
    #[error("an order cannot move from {} to {}", .from.as_str(), .to.as_str())]
    IllegalTransition { from: OrderStatus, to: OrderStatus },
    #[error("Idempotency-Key is required")]
    IdempotencyKeyRequired,
    #[error("this Idempotency-Key was used with another request body")]
    IdempotencyKeyReused,
    #[error("a request with this Idempotency-Key is still running")]
    IdempotencyInProgress,
    /// A busy moment outlasted the bounded retries (deadlocks, a changing cart): try again.
    #[error("checkout is busy; retry")]
    Busy,
    #[error(transparent)]
    Provider(#[from] ProviderError),
    /// The storefront's checkout result did not verify (signature, gateway order, amount).
    #[error("the payment did not verify: {0}")]
    PaymentVerificationFailed(String),
    /// `POST /webhooks/{provider}` for a provider that is not loaded.
    #[error("payment provider `{0}` is not configured")]
    UnknownProvider(String),
    /// `POST /webhooks/{provider}`: the signature did not verify; nothing was kept.
    #[error("the webhook's signature did not verify: {0}")]
    WebhookSignature(String),
    /// The webhook verified but the plugin could not read it, or is failing: the gateway
    /// should deliver it again later.
    #[error("the webhook could not be processed now: {0}")]
    WebhookUnavailable(String),
    #[error(transparent)]
    Cart(#[from] CartError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl OrderError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldProblem::new(field, message)])
    }
}

impl From<OrderError> for ApiError {
    fn from(error: OrderError) -> Self {
        let conflict = |code: &str, detail: String| ApiError::new(StatusCode::CONFLICT, code, detail);
        let unprocessable = |code: &str, detail: String| ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, code, detail);
        let detail = error.to_string();
        match error {
            OrderError::NotFound => ApiError::not_found("order"),
            OrderError::Validation(problems) => ApiError::validation(problems),
            OrderError::CartEmpty => unprocessable("cart_empty", detail),
            OrderError::CartConverted => conflict("cart_converted", detail),
            OrderError::LinesUnavailable(lines) => {
                let mut problem = Problem::new(
                    StatusCode::CONFLICT,
                    "line_unavailable",
                    format!("remove the lines that are no longer sold: {}", lines.join(", ")),
                );
                problem.lines = Some(
                    lines
                        .into_iter()
                        .map(|line_id| LineProblem { line_id, variant_id: None, available: None })
                        .collect(),
                );
                ApiError::Conflict(poem_openapi::payload::Json(problem))
            }
            OrderError::InsufficientStock(short) => {
                let names: Vec<String> =
                    short.iter().map(|s| format!("{} ({} of {})", s.line_id, s.available, s.requested)).collect();
                let mut problem = Problem::new(
                    StatusCode::CONFLICT,
                    "insufficient_stock",
                    format!("not enough stock for: {}", names.join(", ")),
                );
                // With one short line, `available` is its count (as the cart routes answer).
                problem.available = short.first().filter(|_| short.len() == 1).map(|s| s.available);
                problem.lines = Some(
                    short
                        .into_iter()
                        .map(|s| LineProblem {
                            line_id: s.line_id,
                            variant_id: Some(s.variant_id),
                            available: Some(s.available),
                        })
                        .collect(),
                );
                ApiError::Conflict(poem_openapi::payload::Json(problem))
            }
            OrderError::PriceChanged { total, currency } => {
                let mut problem = Problem::new(
                    StatusCode::CONFLICT,
                    "price_changed",
                    format!("the cart's total is now {total} {currency}; show it and confirm again"),
                );
                problem.total = Some(total);
                problem.currency = Some(currency);
                ApiError::Conflict(poem_openapi::payload::Json(problem))
            }
            OrderError::CouponIneligible { code, reason, plugin } => {
                let mut problem =
                    Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "coupon_ineligible", format!("{code}: {reason}"));
                problem.reason = Some(reason);
                problem.plugin = plugin;
                ApiError::Unprocessable(poem_openapi::payload::Json(problem))
            }
            OrderError::TooManyUnpaid { .. } => {
                conflict("too_many_unpaid_orders", format!("{detail}: pay or cancel one before checking out again"))
            }
            OrderError::IllegalTransition { .. } => conflict("illegal_transition", detail),
            OrderError::IdempotencyKeyRequired => unprocessable("idempotency_key_required", detail),
            OrderError::IdempotencyKeyReused => unprocessable("idempotency_key_reused", detail),
            OrderError::IdempotencyInProgress => conflict("idempotency_in_progress", detail),
            OrderError::Busy => ApiError::unavailable(detail),
            OrderError::Provider(e) => {
                let mut problem = Problem::new(StatusCode::BAD_GATEWAY, "payment_provider_error", e.detail.clone());
                problem.provider = Some(e.provider);
                ApiError::BadGateway(poem_openapi::payload::Json(problem))
            }
            OrderError::PaymentVerificationFailed(_) => unprocessable("payment_verification_failed", detail),
            OrderError::UnknownProvider(_) => ApiError::new(StatusCode::NOT_FOUND, "not_found", detail),
            OrderError::WebhookSignature(_) => {
                ApiError::new(StatusCode::UNAUTHORIZED, "webhook_signature_invalid", detail)
            }
            OrderError::WebhookUnavailable(_) => ApiError::unavailable(detail),
            OrderError::Cart(e) => e.into(),
            OrderError::Db(e) => e.into(),
        }
    }
}
