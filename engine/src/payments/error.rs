//! Provider failures. They never fail a checkout (its 201 carries them as `payment_error`);
//! `POST /orders/{id}/payment` answers them with 502 `payment_provider_error`.

#[derive(Debug, Clone, thiserror::Error)]
#[error("payment provider `{provider}` failed: {detail}")]
pub struct ProviderError {
    pub provider: String,
    pub detail: String,
}
