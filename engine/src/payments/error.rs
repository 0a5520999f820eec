//! Gateway failures as the payments and orders domains see them. They never fail a checkout (its
//! 201 carries them as `payment_error`); `POST /orders/{id}/payment` and refunds answer them with
//! 502 `payment_provider_error`, and a checkout result that does not verify is 422
//! `payment_verification_failed`.

/// Why a gateway call failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderErrorKind {
    /// The gateway refused (declined, below its minimum amount, not supported by this provider).
    Rejected,
    /// A signature, amount or currency did not match: never paid.
    VerificationFailed,
    /// Unreachable, timed out, answered unexpectedly, or the plugin itself failed (trap,
    /// timeout): try again later.
    Unavailable,
}

#[derive(Debug, Clone, thiserror::Error)]
#[error("payment provider `{provider}` failed: {detail}")]
pub struct ProviderError {
    pub provider: String,
    pub kind: ProviderErrorKind,
    pub detail: String,
}

impl ProviderError {
    pub fn new(provider: &str, kind: ProviderErrorKind, detail: impl Into<String>) -> Self {
        Self { provider: provider.to_owned(), kind, detail: detail.into() }
    }

    pub fn unavailable(provider: &str, detail: impl Into<String>) -> Self {
        Self::new(provider, ProviderErrorKind::Unavailable, detail)
    }

    /// Whether trying the same call again may succeed.
    pub fn is_transient(&self) -> bool {
        self.kind == ProviderErrorKind::Unavailable
    }
}
