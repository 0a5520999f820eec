//! Category errors and their exhaustive mapping to problem+json.

use crate::{http::problem::ApiError, validation::FieldProblem};

#[derive(Debug, thiserror::Error)]
pub enum CategoryError {
    #[error("validation failed")]
    Validation(Vec<FieldProblem>),
    #[error("category not found")]
    NotFound,
    #[error("a category with slug `{0}` already exists")]
    SlugTaken(String),
    #[error("a category cannot move under itself or one of its descendants")]
    Cycle,
    #[error("the category still has {0}; move or delete them first")]
    NotEmpty(&'static str),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl CategoryError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldProblem::new(field, message)])
    }
}

impl From<CategoryError> for ApiError {
    fn from(error: CategoryError) -> Self {
        let detail = error.to_string();
        match error {
            CategoryError::Validation(errors) => ApiError::validation(errors),
            CategoryError::NotFound => ApiError::not_found("category"),
            CategoryError::SlugTaken(_) => ApiError::conflict("slug_taken", detail),
            CategoryError::Cycle => ApiError::conflict("category_cycle", detail),
            CategoryError::NotEmpty(_) => ApiError::conflict("category_not_empty", detail),
            CategoryError::Db(e) => e.into(),
        }
    }
}
