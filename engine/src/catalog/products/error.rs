//! Product errors and their mapping to problem+json.

use poem::http::StatusCode;

use crate::{
    http::problem::{ApiError, Problem},
    validation::FieldProblem,
};

#[derive(Debug, thiserror::Error)]
pub enum ProductError {
    #[error("validation failed")]
    Validation(Vec<FieldProblem>),
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("the slug `{0}` is taken")]
    SlugTaken(String),
    #[error("the SKU `{0}` is taken")]
    SkuTaken(String),
    #[error("a variant with these option values already exists")]
    VariantExists,
    #[error("not enough stock: {available} available")]
    InsufficientStock { available: i64 },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl ProductError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldProblem::new(field, message)])
    }
}

impl From<ProductError> for ApiError {
    fn from(error: ProductError) -> Self {
        let detail = error.to_string();
        match error {
            ProductError::Validation(errors) => ApiError::validation(errors),
            ProductError::NotFound(what) => ApiError::not_found(what),
            ProductError::SlugTaken(_) => ApiError::conflict("slug_taken", detail),
            ProductError::SkuTaken(_) => ApiError::conflict("sku_taken", detail),
            ProductError::VariantExists => ApiError::conflict("variant_exists", detail),
            ProductError::InsufficientStock { available } => {
                let mut problem = Problem::new(StatusCode::CONFLICT, "insufficient_stock", detail);
                problem.available = Some(available);
                ApiError::Conflict(poem_openapi::payload::Json(problem))
            }
            ProductError::Db(e) => e.into(),
        }
    }
}
