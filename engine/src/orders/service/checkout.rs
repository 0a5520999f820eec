//! Checkout: a cart becomes an order.
//!
//! The shape of one attempt: price the cart for checkout (plugins, outside any transaction),
//! then one transaction that re-reads the cart and the variants it sells, takes the stock,
//! takes each coupon use with a compare-and-set, inserts the order with its snapshots, converts
//! the cart and ties the idempotency record to the order; then, after the commit, ask the
//! payment provider for a session. Whatever changed between the pricing and the transaction
//! (a line, a price, a coupon's use count) rolls the attempt back and prices again, a bounded
//! number of times, so the order always holds the prices its transaction saw.

use std::collections::HashMap;

use commerce_pipeline::{AppliedAdjustment, PricedCart, ShippingAddress};

use super::{OrderService, idempotency::Reply};
use crate::{
    carts::{
        self,
        model::{AddressChoice, CartAddress, Credential},
    },
    catalog::products::{lock_variants, take_stock},
    db::{JsonText, Tx},
    ids::new_id,
    mail::templates::OrderMailKind,
    orders::{
        error::{OrderError, ShortLine},
        model::{
            AdjustmentSnapshot, OptionalStatus, Order, OrderItem, OrderRecord, OrderStatus, StatusChange,
            TaxComponentSnapshot,
        },
        store,
    },
    payments::{
        self, PaymentSession, ProviderError,
        model::{Payment, PaymentState},
    },
    pricing::{
        Purpose,
        cart_builder::{CartBuildError, CartRequest, Limits, LineRequest},
        model::{Quantity, kind_name, target_parts},
    },
};

/// How many times an attempt is priced and tried again after something changed under it (or
/// PostgreSQL reported a deadlock or serialization failure) before checkout answers 503.
const MAX_ATTEMPTS: usize = 5;

/// What checkout was asked to do (parsed by the API layer).
#[derive(Debug)]
pub struct CheckoutRequest {
    pub cart_id: String,
    pub payment_provider: String,
    /// A guest's email (a customer's order uses their account's). Falls back to the cart's.
    pub email: Option<String>,
    /// Falls back to the cart's shipping address.
    pub shipping_address: Option<AddressChoice>,
    pub expected_total: Option<i64>,
}

/// The order checkout placed, and what the provider said.
#[derive(Debug)]
pub struct CheckoutOutcome {
    pub record: OrderRecord,
    /// For a guest's order: the token to read it with (`X-Order-Token`).
    pub order_token: Option<String>,
    pub payment_session: Option<PaymentSession>,
    pub payment_error: Option<ProviderError>,
}

/// A checkout that ran, or the stored answer of the first request with this key.
pub enum CheckoutReply {
    Placed(Box<CheckoutOutcome>),
    Replay { status: u16, body: String, guest_order: Option<String> },
}

/// A cart line as it stood when the attempt priced it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct PricedLine {
    line_id: String,
    variant_id: String,
    quantity: i64,
}

/// One priced attempt, ready for the transaction.
struct Attempt {
    /// The cart's version read before its lines and codes: the transaction converts the cart
    /// only at this version, so nothing it priced changed meanwhile.
    cart_version: i64,
    lines: Vec<PricedLine>,
    priced: PricedCart,
    /// The pipeline's line id → the stored cart line.
    by_pipeline_line: HashMap<String, PricedLine>,
    info: HashMap<String, crate::pricing::cart_builder::LineInfo>,
    /// Live uses of each accepted code (upper-case key → (by anyone, by this customer)).
    coupon_uses: Vec<(String, i64, i64)>,
    pricing_version: String,
}

/// Why an attempt's transaction did not commit.
enum Retry {
    /// Something the attempt priced changed; price again.
    Changed,
    /// A coupon's use count moved under it: price again, and refuse if it no longer applies.
    CouponContended(String),
    Failed(OrderError),
}

impl From<sqlx::Error> for Retry {
    fn from(error: sqlx::Error) -> Self {
        if is_transient(&error) { Retry::Changed } else { Retry::Failed(error.into()) }
    }
}

/// PostgreSQL's deadlock (40P01) and serialization failure (40001): the transaction did
/// nothing and may simply run again. Locking variants in id order makes them rare.
pub(super) fn is_transient(error: &sqlx::Error) -> bool {
    error.as_database_error().and_then(|e| e.code()).is_some_and(|code| code == "40P01" || code == "40001")
}

impl OrderService {
    /// `POST /checkout`. `who` is the caller's credential, `key` the `Idempotency-Key` and
    /// `request_hash` the digest of the canonical request body. `render` turns the outcome into
    /// the body the idempotency record stores (the API's JSON, without the guest's token);
    /// `refuse` turns a refusal into the caller's error and, when API.md says it is stored, its
    /// status and body (`None`: validation and 5xx, which a retry runs again).
    pub async fn checkout<E>(
        &self,
        who: &Credential,
        key: &str,
        request_hash: &str,
        request: CheckoutRequest,
        render: impl Fn(&CheckoutOutcome) -> String,
        refuse: impl Fn(OrderError) -> (Option<(u16, String)>, E),
    ) -> Result<CheckoutReply, E> {
        let cart = self.carts.checkout_cart(who, &request.cart_id).await.map_err(|e| refuse(e.into()).1)?;
        // Scoped to the caller: the customer, or the guest's cart.
        let scope = match &cart.customer_id {
            Some(customer) => format!("checkout:{customer}"),
            None => format!("checkout:{}", cart.id),
        };
        let run = async |resume: Option<String>| match resume {
            // The first request committed its order and died before answering.
            Some(order_id) => self.after_commit(self.get_any(&order_id).await?).await,
            None => self.place(&cart, &scope, key, request).await,
        };
        Ok(match self.once(&scope, key, request_hash, run, render, refuse).await? {
            Reply::Fresh(outcome) => CheckoutReply::Placed(Box::new(outcome)),
            Reply::Replay { status, body, order_id } => {
                let guest_order = order_id.filter(|_| cart.customer_id.is_none());
                CheckoutReply::Replay { status, body, guest_order }
            }
        })
    }

    async fn place(
        &self,
        cart: &carts::model::CheckoutCart,
        scope: &str,
        key: &str,
        request: CheckoutRequest,
    ) -> Result<CheckoutOutcome, OrderError> {
        if !cart.active {
            return Err(OrderError::CartConverted);
        }
        let provider = match self.gateways.accepts(&request.payment_provider) {
            true => self.gateways.get(&request.payment_provider).ok(),
            false => None,
        };
        let provider = provider.ok_or_else(|| {
            let names: Vec<&str> = self.gateways.names().collect();
            let names = if names.is_empty() { "none are configured".to_owned() } else { names.join(", ") };
            OrderError::field("payment_provider", format!("must be one of: {names}"))
        })?;
        let email = match &cart.customer_id {
            Some(customer) => self.carts.customer_email(customer).await?,
            None => {
                let given = request
                    .email
                    .as_deref()
                    .or(cart.email.as_deref())
                    .ok_or_else(|| OrderError::field("email", "is required for a guest (here or on the cart)"))?;
                crate::accounts::model::Email::parse(given)
                    .map_err(|message| OrderError::field("email", message))?
                    .as_str()
                    .to_owned()
            }
        };
        let address = match request.shipping_address {
            Some(choice) => self.carts.resolve_address(cart.customer_id.as_deref(), choice).await?,
            None => cart
                .shipping_address
                .clone()
                .ok_or_else(|| OrderError::field("shipping_address", "is required (here or on the cart)"))?,
        };

        // The placed mail's link carries a guest's token: load its key before any transaction.
        self.token_key().await?;
        let mut contended: Option<String> = None;
        // The first attempt prices from the version read with the cart; a retry reads it again.
        let mut version = Some(cart.version);
        for _ in 0..MAX_ATTEMPTS {
            let attempt = self.price(cart, &address, version.take()).await?;
            if let Some(code) = &contended {
                // The code lost a race for a use; if it no longer applies, that is the answer.
                if let Some(verdict) =
                    attempt.priced.coupons().iter().find(|c| c.code.eq_ignore_ascii_case(code) && !c.accepted)
                {
                    return Err(OrderError::CouponIneligible {
                        code: verdict.code.clone(),
                        reason: verdict.reason.clone().unwrap_or_else(|| "its last use was taken".to_owned()),
                        plugin: verdict.plugin.clone(),
                    });
                }
            }
            if let Some(expected) = request.expected_total
                && expected != attempt.priced.total()
            {
                return Err(OrderError::PriceChanged {
                    total: attempt.priced.total(),
                    currency: attempt.priced.currency().as_str().to_owned(),
                });
            }
            let mut tx = self.db.begin().await?;
            match self.write_order(&mut tx, cart, &attempt, &email, &address, &provider, scope, key).await {
                Ok(record) => {
                    tx.commit().await?;
                    // The list cache shows `in_stock`: this instance's pages go stale now; so do
                    // priced carts that counted these coupon redemptions.
                    self.products.stock_changed();
                    self.history_changes.bump();
                    return self.after_commit(record).await;
                }
                Err(Retry::Changed) => {}
                Err(Retry::CouponContended(code)) => contended = Some(code),
                Err(Retry::Failed(error)) => return Err(error),
            }
            // Dropping `tx` rolled it back.
        }
        tracing::warn!(cart = cart.id, "checkout gave up after {MAX_ATTEMPTS} attempts");
        Err(OrderError::Busy)
    }

    /// Prices the cart's current lines and coupons for checkout: every rule must answer.
    async fn price(
        &self,
        cart: &carts::model::CheckoutCart,
        address: &CartAddress,
        known_version: Option<i64>,
    ) -> Result<Attempt, OrderError> {
        let cart_version = match known_version {
            Some(version) => version,
            None => carts::cart_version(self.db.pool(), &cart.id).await?.ok_or(OrderError::CartConverted)?,
        };
        let (stored, coupon_codes) = carts::cart_contents(self.db.pool(), &cart.id).await?;
        if stored.is_empty() {
            return Err(OrderError::CartEmpty);
        }
        let customer = cart.customer_id.as_deref();
        let history = super::OrderHistory::new(self.db.clone()).load(customer, &coupon_codes).await?;
        let request = CartRequest {
            lines: stored
                .iter()
                .map(|l| LineRequest {
                    variant_id: l.variant_id.clone(),
                    quantity: Quantity::parse(l.quantity, u32::MAX)
                        .unwrap_or_else(|_| unreachable!("stored quantities are checked on the way in")),
                })
                .collect(),
            coupon_codes,
            redemptions: history.redemptions.clone(),
            customer_id: cart.customer_id.clone(),
            earlier_orders: history.earlier_orders,
            shipping: Some(ShippingAddress {
                country: address.country.clone(),
                region: address.region.as_ref().map(|r| r.trim().to_uppercase()),
                postal_code: Some(address.postal_code.clone()),
            }),
        };
        let limits = Limits { max_lines: stored.len(), max_quantity: u32::MAX };
        let built = match self.builder.build(request, limits).await {
            Ok(built) => built,
            Err(CartBuildError::BadLines(bad)) => {
                return Err(OrderError::LinesUnavailable(bad.iter().map(|b| stored[b.index].id.clone()).collect()));
            }
            Err(CartBuildError::TooManyLines { .. }) => unreachable!("the limit is the cart's own line count"),
            Err(CartBuildError::Products(e)) => return Err(carts::error::CartError::from(e).into()),
        };
        // Lines holding more than is in stock block checkout before any transaction.
        let short: Vec<ShortLine> = stored
            .iter()
            .filter_map(|l| {
                let available = built.variants.get(&l.variant_id).map_or(0, |v| v.stock);
                (available < l.quantity).then(|| ShortLine {
                    line_id: l.id.clone(),
                    variant_id: l.variant_id.clone(),
                    requested: l.quantity,
                    available: available.max(0),
                })
            })
            .collect();
        if !short.is_empty() {
            return Err(OrderError::InsufficientStock(short));
        }
        let set = self.pricing.plugins().current();
        let priced = self
            .pricing
            .price_with(&set, &built.cart, Purpose::Checkout)
            .await
            .map_err(|e| OrderError::Cart(e.into()))?;
        let lines: Vec<PricedLine> = stored
            .iter()
            .map(|l| PricedLine { line_id: l.id.clone(), variant_id: l.variant_id.clone(), quantity: l.quantity })
            .collect();
        let by_pipeline_line = built
            .lines
            .iter()
            .filter_map(|(pipeline_id, info)| {
                lines.iter().find(|l| l.variant_id == info.variant_id).map(|l| (pipeline_id.clone(), l.clone()))
            })
            .collect();
        // In key order, so two checkouts taking the same codes lock their rows in one order.
        let mut coupon_uses: Vec<(String, i64, i64)> = priced
            .coupons()
            .iter()
            .filter(|c| c.accepted)
            .map(|c| {
                let key = c.code.to_ascii_uppercase();
                let seen = history.redemptions.iter().find(|r| r.code.eq_ignore_ascii_case(&c.code));
                (key, seen.map_or(0, |r| i64::from(r.total)), seen.map_or(0, |r| i64::from(r.by_customer)))
            })
            .collect();
        coupon_uses.sort();
        Ok(Attempt {
            cart_version,
            lines,
            priced,
            by_pipeline_line,
            info: built.lines,
            coupon_uses,
            pricing_version: set.version.clone(),
        })
    }

    /// The attempt's transaction. Returns the new order as written; nothing is committed here.
    #[allow(clippy::too_many_arguments)]
    async fn write_order(
        &self,
        tx: &mut Tx,
        cart: &carts::model::CheckoutCart,
        attempt: &Attempt,
        email: &str,
        address: &CartAddress,
        provider: &crate::payments::Gateway,
        scope: &str,
        key: &str,
    ) -> Result<OrderRecord, Retry> {
        let now = self.clock.now_ms();
        // The cart first: converted only if unchanged since it was priced (its version), and on
        // PostgreSQL held for the rest of the transaction.
        if !carts::convert_cart(tx, &cart.id, attempt.cart_version, now).await? {
            return Err(if carts::cart_is_active(&mut **tx, &cart.id).await? {
                Retry::Changed
            } else {
                Retry::Failed(OrderError::CartConverted)
            });
        }
        let lines = &attempt.lines;
        // The variants: locked in id order (PostgreSQL), then checked against the prices the
        // attempt used and the stock the lines need.
        let mut ids: Vec<&str> = lines.iter().map(|l| l.variant_id.as_str()).collect();
        ids.sort_unstable();
        // The shopper first (their unpaid cap is counted below), then the variants.
        let shopper = match &cart.customer_id {
            Some(customer) => format!("customer:{customer}"),
            None => format!("email:{email}"),
        };
        store::orders::lock_shopper(tx, &shopper).await?;
        let variants = lock_variants(tx, &ids).await?;
        let mut short = Vec::new();
        for line in lines {
            let Some(variant) = variants.iter().find(|v| v.id == line.variant_id) else {
                return Err(Retry::Failed(OrderError::LinesUnavailable(vec![line.line_id.clone()])));
            };
            let priced_at = attempt
                .priced
                .lines()
                .iter()
                .find(|p| attempt.by_pipeline_line.get(&p.line_id).is_some_and(|l| l.line_id == line.line_id))
                .map(|p| p.unit_price);
            if priced_at != Some(variant.price) {
                return Err(Retry::Changed);
            }
            if variant.stock < line.quantity {
                short.push(ShortLine {
                    line_id: line.line_id.clone(),
                    variant_id: line.variant_id.clone(),
                    requested: line.quantity,
                    available: variant.stock.max(0),
                });
            }
        }
        if !short.is_empty() {
            return Err(Retry::Failed(OrderError::InsufficientStock(short)));
        }
        for line in lines {
            // Conditional on the stock (never below zero), whatever runs beside it.
            if take_stock(tx, &line.variant_id, line.quantity, now).await?.is_none() {
                return Err(Retry::Changed);
            }
        }
        // Unpaid orders per shopper are capped, so nobody hoards stock.
        let unpaid = store::orders::unpaid_count(&mut **tx, cart.customer_id.as_deref(), email).await?;
        if unpaid >= i64::from(self.config.max_unpaid) {
            return Err(Retry::Failed(OrderError::TooManyUnpaid { max: self.config.max_unpaid }));
        }
        // Each accepted coupon: one use, only if its count is still what pricing saw.
        for (code_key, total, mine) in &attempt.coupon_uses {
            if !store::coupons::take_use(tx, code_key, *total).await? {
                return Err(Retry::CouponContended(code_key.clone()));
            }
            if let Some(customer) = &cart.customer_id
                && store::coupons::customer_uses(tx, code_key, customer).await? != *mine
            {
                return Err(Retry::CouponContended(code_key.clone()));
            }
        }

        let order_id = new_id("ord");
        let number = store::orders::next_number(tx).await?;
        let (order, items) = self.snapshot(&order_id, number, cart, attempt, email, address, provider, now);
        store::orders::insert_order(tx, &order).await?;
        store::orders::insert_items(tx, &order_id, &items).await?;
        let payment = Payment {
            order_id: order_id.clone(),
            provider: order.payment_provider.clone(),
            amount: order.total,
            currency: order.currency.clone(),
            state: if order.total == 0 { PaymentState::NotRequired } else { PaymentState::Pending },
            gateway_payment_id: None,
            claimed_at: None,
            captured_at: order.paid_at,
            review: None,
        };
        payments::store::insert_payment(tx, &payment, now).await?;
        let actor = if cart.customer_id.is_some() { "customer" } else { "guest" };
        let mut history = vec![StatusChange {
            at: now,
            actor: actor.to_owned(),
            from_status: OptionalStatus(None),
            to_status: OrderStatus::PendingPayment,
            reason: None,
        }];
        if order.status == OrderStatus::Paid {
            history.push(StatusChange {
                at: now,
                actor: "system".to_owned(),
                from_status: OptionalStatus(Some(OrderStatus::PendingPayment)),
                to_status: OrderStatus::Paid,
                reason: Some("the total is 0".to_owned()),
            });
        }
        for change in &history {
            let StatusChange { at, actor, from_status, to_status, reason } = change;
            store::orders::insert_event(&mut **tx, &order_id, *at, actor, from_status.0, *to_status, reason.as_deref())
                .await?;
        }
        for (code_key, _, _) in &attempt.coupon_uses {
            store::coupons::insert_redemption(tx, &order_id, code_key, cart.customer_id.as_deref(), now).await?;
        }
        store::idempotency::attach_order(tx, scope, key, &order_id).await?;
        // Queued with the order, so the mails exist exactly when it commits; rendered from the
        // rows just written rather than read back.
        let mail_failed = |error: OrderError| match error {
            OrderError::Db(e) => Retry::from(e),
            other => Retry::Failed(other),
        };
        self.enqueue_mail_of(tx, &order, &items, OrderMailKind::Placed).await.map_err(mail_failed)?;
        if order.status == OrderStatus::Paid {
            self.enqueue_mail_of(tx, &order, &items, OrderMailKind::Paid).await.map_err(mail_failed)?;
        }
        // Exactly what `get_any` reads back after the commit.
        Ok(OrderRecord { order, items, history, payment: Some(payment), refunds: Vec::new() })
    }

    /// The order row and items as sold: names, prices and every adjustment copied, so later
    /// catalogue or plugin changes never alter them.
    #[allow(clippy::too_many_arguments)]
    fn snapshot(
        &self,
        order_id: &str,
        number: i64,
        cart: &carts::model::CheckoutCart,
        attempt: &Attempt,
        email: &str,
        address: &CartAddress,
        provider: &crate::payments::Gateway,
        now: i64,
    ) -> (Order, Vec<OrderItem>) {
        let priced = &attempt.priced;
        // Pipeline line ids → the order item ids that replace them in adjustments.
        let item_ids: HashMap<&str, String> =
            priced.lines().iter().map(|l| (l.line_id.as_str(), new_id("oitem"))).collect();
        let items = priced
            .lines()
            .iter()
            .enumerate()
            .map(|(position, line)| {
                let info = attempt.info.get(&line.line_id);
                OrderItem {
                    id: item_ids[line.line_id.as_str()].clone(),
                    position: i64::try_from(position).unwrap_or(i64::MAX),
                    variant_id: attempt
                        .by_pipeline_line
                        .get(&line.line_id)
                        .map(|l| l.variant_id.clone())
                        .unwrap_or_default(),
                    product_id: info.map(|i| i.product_id.clone()).unwrap_or_default(),
                    sku: line.sku.clone(),
                    title: info.map(|i| i.title.clone()).unwrap_or_default(),
                    variant_title: info.map(|i| i.variant_title.clone()).unwrap_or_default(),
                    quantity: i64::from(line.quantity),
                    unit_price: line.unit_price,
                    subtotal: line.subtotal,
                    discount: line.discount,
                    net: line.net,
                    tax: line.tax,
                    total: line.total,
                    adjustments: JsonText(line.adjustments.iter().map(|a| adjustment_snapshot(a, &item_ids)).collect()),
                }
            })
            .collect();
        let paid = priced.total() == 0;
        let expires_at = (!paid && provider.rules().unpaid_orders_expire)
            .then(|| now.saturating_add(i64::try_from(self.config.payment_timeout.as_millis()).unwrap_or(i64::MAX)));
        let order = Order {
            id: order_id.to_owned(),
            number,
            customer_id: cart.customer_id.clone(),
            cart_id: cart.id.clone(),
            email: email.to_owned(),
            status: if paid { OrderStatus::Paid } else { OrderStatus::PendingPayment },
            currency: priced.currency().as_str().to_owned(),
            subtotal: priced.subtotal(),
            discount_total: priced.discount_total(),
            shipping_total: priced.shipping_total(),
            tax_total: priced.tax_total(),
            fee_total: priced.fee_total(),
            total: priced.total(),
            shipping_address: JsonText(address.clone()),
            adjustments: JsonText(priced.adjustments().iter().map(|a| adjustment_snapshot(a, &item_ids)).collect()),
            coupon_codes: JsonText(priced.coupons().iter().filter(|c| c.accepted).map(|c| c.code.clone()).collect()),
            pricing_version: attempt.pricing_version.clone(),
            payment_provider: provider.name().to_owned(),
            refunded_total: 0,
            paid_at: paid.then_some(now),
            expires_at,
            created_at: now,
            updated_at: now,
        };
        (order, items)
    }

    /// After the commit: the order as stored, its guest token, and a payment session (asked for
    /// outside any transaction; a failure is reported inside the 201, never as an error).
    async fn after_commit(&self, record: OrderRecord) -> Result<CheckoutOutcome, OrderError> {
        let order_id = record.order.id.as_str();
        let order_token = match record.order.customer_id {
            None => Some(self.order_token(order_id).await?),
            Some(_) => None,
        };
        let (payment_session, payment_error) = if record.order.status == OrderStatus::PendingPayment {
            match self.payment_session(&record.order).await {
                Ok(session) => (Some(session), None),
                Err(OrderError::Provider(error)) => {
                    tracing::warn!(order = order_id, provider = %error.provider, detail = %error.detail, "payment session failed");
                    (None, Some(error))
                }
                Err(other) => return Err(other),
            }
        } else {
            (None, None)
        };
        Ok(CheckoutOutcome { record, order_token, payment_session, payment_error })
    }
}

fn adjustment_snapshot(a: &AppliedAdjustment, item_ids: &HashMap<&str, String>) -> AdjustmentSnapshot {
    let (target, line) = target_parts(&a.target);
    AdjustmentSnapshot {
        plugin: a.plugin.clone(),
        kind: kind_name(a.kind).to_owned(),
        target: target.to_owned(),
        // The pipeline's line id becomes the order item's.
        line_id: line.map(|id| item_ids.get(id.as_str()).cloned().unwrap_or_else(|| id.clone())),
        amount: a.amount,
        code: a.code.clone(),
        label: a.label.clone(),
        tax_breakdown: a
            .tax_breakdown
            .iter()
            .map(|c| TaxComponentSnapshot { name: c.name.clone(), amount: c.amount })
            .collect(),
        inclusive: a.inclusive,
    }
}
