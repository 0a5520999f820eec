//! Cart errors and their exhaustive mapping to problem+json.

use poem::http::StatusCode;

use crate::{
    accounts::error::AccountError,
    catalog::products::error::ProductError,
    http::problem::{ApiError, Problem},
    pricing::{PricingError, api::pricing_error},
    validation::FieldProblem,
};

#[derive(Debug, thiserror::Error)]
pub enum CartError {
    /// No such cart, or not the caller's: the same answer, so ids cannot be probed.
    #[error("cart not found")]
    NotFound,
    #[error("line not found")]
    LineNotFound,
    #[error("no such coupon")]
    CouponUnknown,
    #[error("the coupon does not apply: {reason}")]
    CouponIneligible { reason: String, plugin: Option<String> },
    #[error("this coupon is not on the cart")]
    CouponNotOnCart,
    #[error("validation failed")]
    Validation(Vec<FieldProblem>),
    #[error("not enough stock: {available} available")]
    InsufficientStock { available: i64 },
    #[error(transparent)]
    Account(#[from] AccountError),
    #[error(transparent)]
    Products(#[from] ProductError),
    #[error(transparent)]
    Pricing(#[from] PricingError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl CartError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldProblem::new(field, message)])
    }
}

impl From<CartError> for ApiError {
    fn from(error: CartError) -> Self {
        match error {
            CartError::NotFound => ApiError::not_found("cart"),
            CartError::LineNotFound => ApiError::not_found("line"),
            CartError::CouponUnknown => {
                ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "coupon_unknown", "no coupon has this code")
            }
            CartError::CouponIneligible { reason, plugin } => {
                let mut problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "coupon_ineligible", reason.clone());
                problem.reason = Some(reason);
                problem.plugin = plugin;
                ApiError::Unprocessable(poem_openapi::payload::Json(problem))
            }
            CartError::CouponNotOnCart => ApiError::not_found("coupon"),
            CartError::Validation(problems) => ApiError::validation(problems),
            CartError::InsufficientStock { available } => {
                let mut problem =
                    Problem::new(StatusCode::CONFLICT, "insufficient_stock", format!("only {available} in stock"));
                problem.available = Some(available);
                ApiError::Conflict(poem_openapi::payload::Json(problem))
            }
            CartError::Account(e) => e.into(),
            CartError::Products(e) => e.into(),
            CartError::Pricing(e) => pricing_error(e),
            CartError::Db(e) => e.into(),
        }
    }
}
