//! Payments: the seam between orders and whoever takes the money.
//!
//! A [`PaymentProvider`] opens a payment session for an order. Checkout asks for one only after
//! its transaction has committed (never inside it), and `POST /orders/{id}/payment` asks again
//! after a failure. `manual` (bank transfer, cash on delivery) is built in; the WebAssembly
//! `payment-gateway` world (Razorpay) plugs in behind the same trait in the payments issue.
//! `payments.providers` lists the providers checkout accepts.

pub mod error;
pub mod model;
pub mod service;

pub use error::ProviderError;
pub use model::{OrderForPayment, PaymentSession};
pub use service::{ManualProvider, PaymentProvider, PaymentProviders};
