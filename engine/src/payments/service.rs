//! The provider trait, the built-in `manual` provider, and the registry checkout consults.

use std::{collections::BTreeMap, future::Future, pin::Pin, sync::Arc};

use super::{
    error::ProviderError,
    model::{OrderForPayment, PaymentSession},
};
use crate::config::PaymentsConfig;

pub type ProviderFuture<'a> = Pin<Box<dyn Future<Output = Result<PaymentSession, ProviderError>> + Send + 'a>>;

/// One way to take money. Implementations call out (a gateway's API), so they are only ever
/// called with no database transaction open.
pub trait PaymentProvider: Send + Sync {
    fn name(&self) -> &str;
    /// Whether an unpaid order expires after `orders.payment_timeout` (a gateway: yes; `manual`:
    /// no, the money may come days later).
    fn unpaid_orders_expire(&self) -> bool;
    /// Whether staff confirm payments by hand (`pending_payment → paid` by staff).
    fn staff_confirms_payment(&self) -> bool;
    /// Opens (or reopens) a payment session for an unpaid order.
    fn create_session<'a>(&'a self, order: &'a OrderForPayment) -> ProviderFuture<'a>;
}

/// Bank transfer or cash on delivery: the session carries the operator's instructions, staff
/// mark the order paid, and it never expires unless `payments.manual.expire_unpaid` says so.
pub struct ManualProvider {
    instructions: String,
    expire_unpaid: bool,
}

impl ManualProvider {
    pub const NAME: &'static str = "manual";

    pub fn new(instructions: impl Into<String>, expire_unpaid: bool) -> Self {
        Self { instructions: instructions.into(), expire_unpaid }
    }
}

impl PaymentProvider for ManualProvider {
    fn name(&self) -> &str {
        Self::NAME
    }

    fn unpaid_orders_expire(&self) -> bool {
        self.expire_unpaid
    }

    fn staff_confirms_payment(&self) -> bool {
        true
    }

    fn create_session<'a>(&'a self, order: &'a OrderForPayment) -> ProviderFuture<'a> {
        Box::pin(async move {
            Ok(PaymentSession {
                provider: Self::NAME.to_owned(),
                amount: order.amount,
                currency: order.currency,
                instructions: Some(self.instructions.clone()),
                client_data: BTreeMap::new(),
            })
        })
    }
}

/// The providers checkout accepts (`payments.providers`), by name.
#[derive(Clone)]
pub struct PaymentProviders {
    by_name: BTreeMap<String, Arc<dyn PaymentProvider>>,
}

impl PaymentProviders {
    /// The configured providers. Config validation has refused unknown names already.
    pub fn from_config(config: &PaymentsConfig) -> Self {
        let mut by_name: BTreeMap<String, Arc<dyn PaymentProvider>> = BTreeMap::new();
        for name in &config.providers {
            if name == ManualProvider::NAME {
                by_name.insert(
                    name.clone(),
                    Arc::new(ManualProvider::new(config.manual.instructions.clone(), config.manual.expire_unpaid)),
                );
            }
        }
        Self { by_name }
    }

    /// Also for tests and the payments issue: a registry of any providers.
    pub fn of(providers: Vec<Arc<dyn PaymentProvider>>) -> Self {
        Self { by_name: providers.into_iter().map(|p| (p.name().to_owned(), p)).collect() }
    }

    pub fn get(&self, name: &str) -> Option<&Arc<dyn PaymentProvider>> {
        self.by_name.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}
