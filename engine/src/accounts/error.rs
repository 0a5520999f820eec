//! Account errors and their exhaustive mapping to problem+json.

use poem::http::StatusCode;

use super::{password::HashError, tokens::TokenError};
use crate::{http::problem::ApiError, validation::FieldProblem};

#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("validation failed")]
    Validation(Vec<FieldProblem>),
    #[error("an account with this email already exists")]
    EmailTaken,
    #[error("email or password is wrong")]
    InvalidCredentials,
    #[error("the token is unknown, used or expired")]
    TokenInvalid,
    #[error("this refresh token was already used; all sessions of its login were revoked")]
    TokenReused,
    #[error("access token: {0}")]
    Unauthenticated(&'static str),
    #[error("this account is disabled")]
    AccountDisabled,
    #[error("staff only")]
    Forbidden,
    #[error("only an admin may change roles or deactivate staff")]
    AdminOnly,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("too many attempts")]
    RateLimited { retry_after_secs: u64 },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
    #[error(transparent)]
    Hash(#[from] HashError),
    #[error("cannot sign token: {0}")]
    Jwt(#[from] jsonwebtoken::errors::Error),
}

impl AccountError {
    pub fn field(field: &str, message: impl Into<String>) -> Self {
        Self::Validation(vec![FieldProblem::new(field, message)])
    }
}

impl From<TokenError> for AccountError {
    fn from(error: TokenError) -> Self {
        match error {
            TokenError::Invalid => Self::Unauthenticated("invalid access token"),
            TokenError::Expired => Self::Unauthenticated("access token has expired"),
        }
    }
}

impl From<AccountError> for ApiError {
    fn from(error: AccountError) -> Self {
        let detail = error.to_string();
        match error {
            AccountError::Validation(errors) => ApiError::validation(errors),
            AccountError::EmailTaken => ApiError::conflict("email_taken", detail),
            AccountError::InvalidCredentials => ApiError::new(StatusCode::UNAUTHORIZED, "invalid_credentials", detail),
            AccountError::TokenInvalid => ApiError::new(StatusCode::UNAUTHORIZED, "token_invalid", detail),
            AccountError::TokenReused => ApiError::new(StatusCode::UNAUTHORIZED, "token_reused", detail),
            AccountError::Unauthenticated(reason) => ApiError::unauthenticated(reason),
            AccountError::AccountDisabled => ApiError::new(StatusCode::FORBIDDEN, "account_disabled", detail),
            AccountError::Forbidden => ApiError::forbidden("this endpoint needs a staff account"),
            AccountError::AdminOnly => ApiError::forbidden(detail),
            AccountError::NotFound(what) => ApiError::not_found(what),
            AccountError::RateLimited { retry_after_secs } => ApiError::rate_limited(retry_after_secs),
            AccountError::Db(e) => e.into(),
            AccountError::Hash(e) => ApiError::internal(&e),
            AccountError::Jwt(e) => ApiError::internal(&e),
        }
    }
}
