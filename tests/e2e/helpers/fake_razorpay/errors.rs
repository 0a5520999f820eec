//! Razorpay's error bodies (§1): the one error type every route answers with.

use serde_json::{Value, json};

/// A non-200 answer with Razorpay's error body: everything under `error` (§1).
pub(super) struct ApiError {
    pub(super) status: u16,
    pub(super) body: Value,
}

impl ApiError {
    /// A refused request in the validation shape of §1 (source `business`, reason
    /// `input_validation_failed`).
    pub(super) fn invalid(description: impl Into<String>, field: Option<&str>) -> Self {
        let error = json!({
            "code": "BAD_REQUEST_ERROR", "description": description.into(), "field": field, "source": "business",
            "step": "payment_initiation", "reason": "input_validation_failed", "metadata": {},
        });
        Self { status: 400, body: json!({ "error": error }) }
    }

    pub(super) fn required(field: &str) -> Self {
        Self::invalid(format!("The {field} field is required."), Some(field))
    }

    /// §10.3: an unknown (or another account's) id is a 400, never a 404.
    pub(super) fn no_such_id() -> Self {
        Self::invalid("The id provided does not exist", None)
    }

    /// Errors outside input validation carry `NA` as source, step and reason (§1, §7).
    pub(super) fn na(status: u16, description: &str) -> Self {
        let error = json!({
            "code": "BAD_REQUEST_ERROR", "description": description, "source": "NA", "step": "NA", "reason": "NA",
            "metadata": {},
        });
        Self { status, body: json!({ "error": error }) }
    }

    /// §10.1: observed as 401 with only code and description (the status is unverified in the
    /// official docs, which say 400 or 4xx).
    pub(super) fn auth() -> Self {
        Self {
            status: 401,
            body: json!({"error": {"code": "BAD_REQUEST_ERROR", "description": "Authentication failed"}}),
        }
    }

    /// An injected failure. Unverified: the descriptions; the codes are the ones the SDKs know.
    pub(super) fn fault(status: u16) -> Self {
        let (code, description) = match status {
            429 => ("BAD_REQUEST_ERROR", "Too many requests"),
            502 | 504 => ("GATEWAY_ERROR", "The gateway did not respond in time."),
            _ => ("SERVER_ERROR", "The server encountered an error. The incident has been reported to admins."),
        };
        let mut error = Self::na(status, description);
        error.body["error"]["code"] = json!(code);
        error
    }
}
