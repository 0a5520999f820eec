//! Order rules, one file per use case: `checkout` (cart → order, idempotent), `lifecycle`
//! (transitions, cancellation, expiry, mails), and here the service itself, the reads every
//! route shares, and the guest's order token.

pub mod checkout;
mod idempotency;
pub mod lifecycle;
mod mail;
pub mod payment;
pub mod refunds;

use std::sync::Arc;

use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use super::{
    error::OrderError,
    model::{Order, OrderFilter, OrderRecord},
    store,
};
use crate::{
    carts::CartService,
    catalog::products::ProductService,
    clock::SharedClock,
    config::{OrdersConfig, StoreConfig},
    db::Db,
    ids::is_id,
    payments::PaymentGateways,
    pricing::{
        PricingService,
        cart_builder::CartBuilder,
        history::{HistoryChanges, HistoryFuture, HistorySource, ShopperHistory},
    },
};
use commerce_pipeline::Redemption;

/// Who asks for an order. Every order route answers 404 unless this names the order's owner.
#[derive(Debug, Clone)]
pub enum OrderCredential {
    /// A signed-in user: owns the orders whose `customer_id` is theirs.
    User(String),
    /// A guest's `X-Order-Token`: owns the guest order it was derived for.
    OrderToken(String),
    Anonymous,
}

pub struct OrderService {
    pub(super) db: Db,
    pub(super) clock: SharedClock,
    pub(super) carts: Arc<CartService>,
    pub(super) products: Arc<ProductService>,
    pub(super) builder: Arc<CartBuilder>,
    pub(super) pricing: Arc<PricingService>,
    pub(super) gateways: PaymentGateways,
    pub(super) history_changes: HistoryChanges,
    pub(super) config: OrdersConfig,
    pub(super) store_config: StoreConfig,
    /// The key guest order tokens are derived under, read once from `engine_secrets`.
    token_key: tokio::sync::OnceCell<Vec<u8>>,
}

/// Everything the order service stands on.
pub struct OrderDeps {
    pub db: Db,
    pub clock: SharedClock,
    pub carts: Arc<CartService>,
    pub products: Arc<ProductService>,
    pub builder: Arc<CartBuilder>,
    pub pricing: Arc<PricingService>,
    pub gateways: PaymentGateways,
    /// Bumped after every commit that changes paid-order counts or coupon redemptions, so carts
    /// priced from the old history are not served from memory.
    pub history_changes: HistoryChanges,
    pub config: OrdersConfig,
    pub store_config: StoreConfig,
}

impl OrderService {
    pub fn new(deps: OrderDeps) -> Self {
        let OrderDeps { db, clock, carts, products, builder, pricing, gateways, history_changes, config, store_config } =
            deps;
        Self {
            db,
            clock,
            carts,
            products,
            builder,
            pricing,
            gateways,
            history_changes,
            config,
            store_config,
            token_key: tokio::sync::OnceCell::new(),
        }
    }

    /// `GET /orders/{id}`: the order if `who` owns it; otherwise `NotFound`, whatever the reason.
    pub async fn get(&self, who: &OrderCredential, id: &str) -> Result<OrderRecord, OrderError> {
        let order = self.owned(who, id).await?;
        self.record_of(order).await
    }

    /// `GET /admin/orders/{id}`: any order.
    pub async fn get_any(&self, id: &str) -> Result<OrderRecord, OrderError> {
        if !is_id(id, "ord") {
            return Err(OrderError::NotFound);
        }
        let order = store::orders::order(self.db.pool(), id).await?.ok_or(OrderError::NotFound)?;
        self.record_of(order).await
    }

    /// `GET /orders`: the customer's orders, newest first; `before` is the last id of the
    /// previous page. Fetches `limit + 1` so the caller can tell whether a next page exists.
    pub async fn list_mine(
        &self,
        user: &str,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OrderRecord>, OrderError> {
        let orders = store::orders::customer_orders(self.db.pool(), user, before, limit + 1).await?;
        self.records_of(orders).await
    }

    /// `GET /admin/orders`: every order matching `filter`, newest first; `before` is the last id
    /// of the previous page. Fetches `limit + 1` so the caller can tell whether a next page exists.
    pub async fn list_all(
        &self,
        filter: &OrderFilter,
        before: Option<&str>,
        limit: i64,
    ) -> Result<Vec<OrderRecord>, OrderError> {
        let orders = store::lifecycle::list(self.db.pool(), filter, before, limit + 1).await?;
        self.records_of(orders).await
    }

    /// The order `id` if `who` owns it: the customer, or a guest whose token was derived for
    /// this order (compared in constant time). Anyone else: `NotFound`.
    pub(super) async fn owned(&self, who: &OrderCredential, id: &str) -> Result<Order, OrderError> {
        if !is_id(id, "ord") {
            return Err(OrderError::NotFound);
        }
        let order = store::orders::order(self.db.pool(), id).await?.ok_or(OrderError::NotFound)?;
        let owns = match (who, &order.customer_id) {
            (OrderCredential::User(user), Some(owner)) => user == owner,
            (OrderCredential::OrderToken(token), None) => {
                let expected = self.order_token(&order.id).await?;
                bool::from(expected.as_bytes().ct_eq(token.as_bytes()))
            }
            _ => false,
        };
        if owns { Ok(order) } else { Err(OrderError::NotFound) }
    }

    /// A guest's order token: an HMAC-SHA256 of the order id under a server key (kept in
    /// `engine_secrets`, generated by the first instance that needs it and shared by all). It is
    /// derived rather than stored, so a checkout replay can return it again and a leaked
    /// database holds no tokens.
    pub async fn order_token(&self, order_id: &str) -> Result<String, OrderError> {
        let key = self.token_key().await?;
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        mac.update(b"order-token:");
        mac.update(order_id.as_bytes());
        Ok(format!("ot_{}", hex::encode(mac.finalize().into_bytes())))
    }

    /// The order-token key, read (or made) once per process on a pool connection of its own.
    /// Call it before opening a transaction that mails a guest order (the link carries the
    /// token): on SQLite that transaction holds the only write lock, which the first read's
    /// insert would wait for until it timed out.
    pub(super) async fn token_key(&self) -> Result<&[u8], OrderError> {
        let key = self
            .token_key
            .get_or_try_init(|| async {
                let candidate = hex::encode(rand::random::<[u8; 32]>());
                let hex_key =
                    crate::accounts::ensure_secret(self.db.pool(), "order_token_key", &candidate, self.clock.now_ms())
                        .await?;
                Ok::<_, sqlx::Error>(hex_key.into_bytes())
            })
            .await?;
        Ok(key)
    }

    pub(super) async fn record_of(&self, order: Order) -> Result<OrderRecord, OrderError> {
        let items = store::orders::items(self.db.pool(), &order.id).await?;
        let history = store::orders::history(self.db.pool(), &order.id).await?;
        let payment = crate::payments::store::payment(self.db.pool(), &order.id).await?;
        let refunds = crate::payments::store::refunds_of(self.db.pool(), &[&order.id])
            .await?
            .into_iter()
            .map(|(_, r)| r)
            .collect();
        Ok(OrderRecord { order, items, history, payment, refunds })
    }

    /// Records of a list page: items and histories in one query each, whatever the page size.
    pub(super) async fn records_of(&self, orders: Vec<Order>) -> Result<Vec<OrderRecord>, OrderError> {
        let ids: Vec<&str> = orders.iter().map(|o| o.id.as_str()).collect();
        let mut items = store::orders::items_of(self.db.pool(), &ids).await?;
        let mut history = store::orders::histories_of(self.db.pool(), &ids).await?;
        let mut payments = crate::payments::store::payments_of(self.db.pool(), &ids).await?;
        let mut refunds = crate::payments::store::refunds_of(self.db.pool(), &ids).await?;
        Ok(orders
            .into_iter()
            .map(|order| {
                let (mine, rest): (Vec<_>, Vec<_>) =
                    std::mem::take(&mut items).into_iter().partition(|(id, _)| *id == order.id);
                items = rest;
                let (changes, rest): (Vec<_>, Vec<_>) =
                    std::mem::take(&mut history).into_iter().partition(|(id, _)| *id == order.id);
                history = rest;
                let payment = payments.iter().position(|p| p.order_id == order.id).map(|at| payments.swap_remove(at));
                let (its_refunds, rest): (Vec<_>, Vec<_>) =
                    std::mem::take(&mut refunds).into_iter().partition(|(id, _)| *id == order.id);
                refunds = rest;
                OrderRecord {
                    order,
                    items: mine.into_iter().map(|(_, item)| item).collect(),
                    history: changes.into_iter().map(|(_, change)| change).collect(),
                    payment,
                    refunds: its_refunds.into_iter().map(|(_, refund)| refund).collect(),
                }
            })
            .collect())
    }
}

/// The orders side of [`HistorySource`]: paid orders and live coupon redemptions, for the
/// pricing chain (carts on every read, checkout before its transaction).
pub struct OrderHistory {
    db: Db,
}

impl OrderHistory {
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    pub async fn load(&self, customer: Option<&str>, codes: &[String]) -> sqlx::Result<ShopperHistory> {
        let earlier_orders = match customer {
            Some(customer) => {
                u32::try_from(store::orders::paid_count(self.db.pool(), customer).await?).unwrap_or(u32::MAX)
            }
            None => 0,
        };
        let keys: Vec<String> = codes.iter().map(|c| c.to_ascii_uppercase()).collect();
        let counts = store::coupons::counts(self.db.pool(), &keys, customer).await?;
        let redemptions = codes
            .iter()
            .zip(&keys)
            .filter_map(|(code, key)| {
                counts.iter().find(|(k, _, _)| k == key).map(|(_, total, mine)| Redemption {
                    code: code.clone(),
                    total: u32::try_from(*total).unwrap_or(u32::MAX),
                    by_customer: u32::try_from(*mine).unwrap_or(u32::MAX),
                })
            })
            .collect();
        Ok(ShopperHistory { earlier_orders, redemptions })
    }
}

impl HistorySource for OrderHistory {
    fn history<'a>(&'a self, customer: Option<&'a str>, codes: &'a [String]) -> HistoryFuture<'a> {
        Box::pin(self.load(customer, codes))
    }
}
