//! What the pricing chain knows of a shopper's past: paid orders ("earlier orders") and live
//! coupon redemptions. The orders domain owns those tables and implements [`HistorySource`];
//! carts ask through this trait, so the dependency points from orders to carts and not back.

use std::{
    future::Future,
    pin::Pin,
    sync::{
        Arc,
        atomic::{AtomicU64, Ordering},
    },
};

use commerce_pipeline::Redemption;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ShopperHistory {
    /// The customer's orders that reached `paid` (0 for a guest).
    pub earlier_orders: u32,
    /// One entry per code that was ever redeemed by an order that is not cancelled.
    pub redemptions: Vec<Redemption>,
}

pub type HistoryFuture<'a> = Pin<Box<dyn Future<Output = sqlx::Result<ShopperHistory>> + Send + 'a>>;

pub trait HistorySource: Send + Sync {
    /// The history of `customer` (None: a guest) for the coupon `codes` on a cart.
    fn history<'a>(&'a self, customer: Option<&'a str>, codes: &'a [String]) -> HistoryFuture<'a>;
}

/// The generation of every shopper's history on this instance: the orders domain bumps it after
/// each commit that changes a paid-order count or a coupon redemption (checkout, payment,
/// cancellation, expiry), and carts compare it before serving a priced cart from memory.
#[derive(Clone, Default)]
pub struct HistoryChanges(Arc<AtomicU64>);

impl HistoryChanges {
    pub fn bump(&self) {
        self.0.fetch_add(1, Ordering::AcqRel);
    }

    pub fn current(&self) -> u64 {
        self.0.load(Ordering::Acquire)
    }
}
