//! Payments: the seam between orders and the gateways that take the money.
//!
//! Every provider is a WebAssembly `payment-gateway` plugin (`plugins/manual` for bank transfer
//! and cash on delivery, `plugins/razorpay`), named in `payments.providers` and configured under
//! `[plugins.<name>]`. [`gateways`] binds those names to the current plugin set (a reload swaps
//! them), [`store`] holds the payment records, and the order service drives the flows
//! (`orders::service::payment`, `orders::service::refunds`). Gateways are only ever called with
//! no database transaction open.

pub mod api;
pub mod error;
pub mod gateways;
pub mod model;
pub mod store;

pub use error::{ProviderError, ProviderErrorKind};
pub use gateways::{Gateway, PaymentGateways};
pub use model::{OrderForPayment, PaymentSession};
