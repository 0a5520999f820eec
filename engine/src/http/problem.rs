//! The one HTTP error type: RFC 9457 problem details with a stable `code`.
//!
//! Error policy: bad input is a 4xx with a code from the README's table. The only 5xx sent on
//! purpose are 503 (`unavailable`: the database is down; `pricing_unavailable`) and 502
//! (`payment_provider_error`). Anything else is an opaque 500 whose cause goes to the log with the
//! request id and never into the response.

use poem::{IntoResponse, http::StatusCode};
use poem_openapi::{ApiResponse, Object, payload::Json, types::Example};

use crate::validation::FieldProblem;

#[derive(Object, Debug, Clone)]
pub struct FieldError {
    /// The request field, dotted for nested fields (`shipping_address.country`).
    pub field: String,
    pub message: String,
}

/// The API edge of the services' field problems (`crate::validation`): same field, same text.
impl From<FieldProblem> for FieldError {
    fn from(problem: FieldProblem) -> Self {
        Self { field: problem.field, message: problem.message }
    }
}

/// RFC 9457 problem details.
#[derive(Object, Debug, Clone)]
#[oai(example)]
pub struct Problem {
    /// A URI identifying the problem type; `urn:commerce:problem:<code>`.
    #[oai(rename = "type")]
    pub type_: String,
    pub title: String,
    pub status: u16,
    pub detail: String,
    /// Stable, machine-readable error code (see the README's table).
    pub code: String,
    /// Per-field problems, for `validation_failed`.
    #[oai(skip_serializing_if_is_none)]
    pub errors: Option<Vec<FieldError>>,
    /// Units still available, for `insufficient_stock`.
    #[oai(skip_serializing_if_is_none)]
    pub available: Option<i64>,
    /// A reason to show the shopper, for `coupon_ineligible`.
    #[oai(skip_serializing_if_is_none)]
    pub reason: Option<String>,
    /// The plugin at fault, for `pricing_unavailable`.
    #[oai(skip_serializing_if_is_none)]
    pub plugin: Option<String>,
    /// The payment provider at fault, for `payment_provider_error`.
    #[oai(skip_serializing_if_is_none)]
    pub provider: Option<String>,
    /// The cart lines at fault, for checkout's `insufficient_stock` and `line_unavailable`.
    #[oai(skip_serializing_if_is_none)]
    pub lines: Option<Vec<LineProblem>>,
    /// The cart's new total, for `price_changed`.
    #[oai(skip_serializing_if_is_none)]
    pub total: Option<i64>,
    /// The currency of `total`, for `price_changed`.
    #[oai(skip_serializing_if_is_none)]
    pub currency: Option<String>,
}

/// One cart line that blocks checkout.
#[derive(Object, Debug, Clone)]
pub struct LineProblem {
    pub line_id: String,
    #[oai(skip_serializing_if_is_none)]
    pub variant_id: Option<String>,
    /// Units in stock, for `insufficient_stock`.
    #[oai(skip_serializing_if_is_none)]
    pub available: Option<i64>,
}

impl Example for Problem {
    fn example() -> Self {
        let mut problem =
            Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", "email: is not a valid email address");
        problem.errors =
            Some(vec![FieldError { field: "email".into(), message: "is not a valid email address".into() }]);
        problem
    }
}

impl Problem {
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            type_: format!("urn:commerce:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_owned(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_owned(),
            errors: None,
            available: None,
            reason: None,
            plugin: None,
            provider: None,
            lines: None,
            total: None,
            currency: None,
        }
    }
}

#[derive(ApiResponse, Debug)]
pub enum ApiError {
    #[oai(status = 400, content_type = "application/problem+json")]
    BadRequest(Json<Problem>),
    #[oai(status = 401, content_type = "application/problem+json")]
    Unauthorized(Json<Problem>),
    #[oai(status = 403, content_type = "application/problem+json")]
    Forbidden(Json<Problem>),
    #[oai(status = 404, content_type = "application/problem+json")]
    NotFound(Json<Problem>),
    #[oai(status = 409, content_type = "application/problem+json")]
    Conflict(Json<Problem>),
    #[oai(status = 413, content_type = "application/problem+json")]
    PayloadTooLarge(Json<Problem>),
    #[oai(status = 422, content_type = "application/problem+json")]
    Unprocessable(Json<Problem>),
    #[oai(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Json<Problem>, #[oai(header = "Retry-After")] u64),
    #[oai(status = 500, content_type = "application/problem+json")]
    Internal(Json<Problem>),
    #[oai(status = 502, content_type = "application/problem+json")]
    BadGateway(Json<Problem>),
    #[oai(status = 503, content_type = "application/problem+json")]
    Unavailable(Json<Problem>, #[oai(header = "Retry-After")] u64),
}

impl ApiError {
    /// Builds the error for `status` with the given code and detail.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self::from_problem(Problem::new(status, code, detail), 1)
    }

    pub fn from_problem(problem: Problem, retry_after: u64) -> Self {
        let p = Json(problem);
        match p.0.status {
            400 => Self::BadRequest(p),
            401 => Self::Unauthorized(p),
            403 => Self::Forbidden(p),
            404 => Self::NotFound(p),
            409 => Self::Conflict(p),
            413 => Self::PayloadTooLarge(p),
            422 => Self::Unprocessable(p),
            429 => Self::TooManyRequests(p, retry_after),
            502 => Self::BadGateway(p),
            503 => Self::Unavailable(p, retry_after),
            _ => Self::Internal(p),
        }
    }

    pub fn problem(&self) -> &Problem {
        match self {
            Self::BadRequest(p)
            | Self::Unauthorized(p)
            | Self::Forbidden(p)
            | Self::NotFound(p)
            | Self::Conflict(p)
            | Self::PayloadTooLarge(p)
            | Self::Unprocessable(p)
            | Self::TooManyRequests(p, _)
            | Self::Internal(p)
            | Self::BadGateway(p)
            | Self::Unavailable(p, _) => &p.0,
        }
    }

    pub fn bad_request(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "bad_request", detail)
    }

    pub fn unauthenticated(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::UNAUTHORIZED, "unauthenticated", detail)
    }

    pub fn forbidden(detail: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", detail)
    }

    pub fn not_found(what: &str) -> Self {
        Self::new(StatusCode::NOT_FOUND, "not_found", format!("{what} not found"))
    }

    pub fn conflict(code: &str, detail: impl Into<String>) -> Self {
        Self::new(StatusCode::CONFLICT, code, detail)
    }

    /// 422 `plugin_load_failed`: a plugin reload was refused, one entry per problem.
    pub fn plugin_load_failed(detail: impl Into<String>, errors: Vec<FieldError>) -> Self {
        let mut problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "plugin_load_failed", detail);
        problem.errors = Some(errors);
        Self::from_problem(problem, 0)
    }

    /// 422 `validation_failed` listing every bad field: the API layer's own `FieldError`s or a
    /// service's `FieldProblem`s.
    pub fn validation(errors: impl IntoIterator<Item = impl Into<FieldError>>) -> Self {
        let errors: Vec<FieldError> = errors.into_iter().map(Into::into).collect();
        let detail = errors.iter().map(|e| format!("{}: {}", e.field, e.message)).collect::<Vec<_>>().join("; ");
        let mut problem = Problem::new(StatusCode::UNPROCESSABLE_ENTITY, "validation_failed", detail);
        problem.errors = Some(errors);
        Self::from_problem(problem, 0)
    }

    pub fn invalid_field(field: &str, message: impl Into<String>) -> Self {
        Self::validation(vec![FieldError { field: field.to_owned(), message: message.into() }])
    }

    pub fn rate_limited(retry_after_secs: u64) -> Self {
        let problem = Problem::new(
            StatusCode::TOO_MANY_REQUESTS,
            "rate_limited",
            format!("too many attempts; try again in {retry_after_secs} s"),
        );
        Self::from_problem(problem, retry_after_secs.max(1))
    }

    /// 503 `pricing_unavailable`: a pricing plugin failed and prices cannot be trusted.
    pub fn pricing_unavailable(plugin: &str, detail: impl Into<String>) -> Self {
        let mut problem = Problem::new(StatusCode::SERVICE_UNAVAILABLE, "pricing_unavailable", detail);
        problem.plugin = Some(plugin.to_owned());
        Self::from_problem(problem, 1)
    }

    pub fn unavailable(detail: impl Into<String>) -> Self {
        Self::from_problem(Problem::new(StatusCode::SERVICE_UNAVAILABLE, "unavailable", detail), 5)
    }

    /// An opaque 500: the cause is logged (with the request id from the span), never returned.
    pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Self {
        tracing::error!(error = %error_chain(cause), "internal error");
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal",
            "internal error; the request id identifies it in the logs",
        )
    }
}

impl From<sqlx::Error> for ApiError {
    fn from(error: sqlx::Error) -> Self {
        if crate::db::is_unavailable(&error) {
            tracing::warn!(error = %error_chain(&error), "database unavailable");
            Self::unavailable("the database is unavailable; try again shortly")
        } else {
            // Includes `ColumnDecode`: a stored row that does not parse (an unknown role or
            // status, malformed JSON). An opaque 500 is right only there, for a corrupted row;
            // input that can be refused is refused before it reaches the database.
            Self::internal(&error)
        }
    }
}

/// `outer: inner: innermost`, for one log line per failure.
pub fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

/// The problem+json response for an error raised by poem or poem-openapi itself (bad JSON,
/// missing security header, unknown route, wrong method, …), keeping its status.
pub fn from_poem_error(error: &poem::Error) -> poem::Response {
    let status = error.status();
    let code = match status.as_u16() {
        400 => "bad_request",
        401 => "unauthenticated",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        406 => "not_acceptable",
        413 => "payload_too_large",
        415 => "unsupported_media_type",
        422 => "validation_failed",
        429 => "rate_limited",
        _ if status.is_client_error() => "bad_request",
        _ => "internal",
    };
    if status.is_server_error() {
        tracing::error!(error = %error, "unhandled server error");
        return ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", "internal error").into_response();
    }
    let detail = match status.as_u16() {
        // poem-openapi's parse errors name Rust types; the detail names the parameter instead.
        400 => super::openapi::describe_bad_request(error).unwrap_or_else(|| error.to_string()),
        401 => "missing or invalid access token".to_owned(),
        404 => "no such resource".to_owned(),
        _ => error.to_string(),
    };
    problem_response(Problem::new(status, code, detail))
}

/// Renders any problem as a response with its own status (for statuses `ApiError` does not
/// list, such as 405 and 415 raised by the framework).
pub fn problem_response(problem: Problem) -> poem::Response {
    let status = StatusCode::from_u16(problem.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = poem_openapi::types::ToJSON::to_json_string(&problem);
    poem::Response::builder().status(status).content_type("application/problem+json").body(body)
}
