//! What a provider is told about an order, and what it answers.

use std::collections::BTreeMap;

use commerce_pipeline::Currency;

/// The order as a provider sees it: what to charge and how to recognise it later.
#[derive(Debug, Clone)]
pub struct OrderForPayment {
    pub order_id: String,
    pub number: i64,
    pub amount: i64,
    pub currency: Currency,
    pub email: String,
}

/// A session the shopper pays through: instructions to follow (`manual`), or what a client-side
/// checkout widget needs (a gateway's key id and order id) in `client_data`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaymentSession {
    pub provider: String,
    pub amount: i64,
    pub currency: Currency,
    pub instructions: Option<String>,
    /// Provider-specific values for the storefront's payment widget (none for `manual`).
    pub client_data: BTreeMap<String, String>,
}
