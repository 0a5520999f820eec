//! An order's life after checkout: status moves by owner, staff and the expiry job, with
//! API.md's order-state table (`model::check_transition`) deciding who may do what.
//!
//! Every move is one transaction around a state-guarded update (`… WHERE id = $1 AND status =
//! $from`). Only the request whose update moved the order acts on the move: it returns the stock
//! and the coupon uses of a cancelled order, writes the history entry and queues the mail. A
//! request that lost the race moved nothing and answers 409, so stock returns exactly once
//! whatever races (two cancels, a cancel and the expiry job, several instances).

use super::{OrderCredential, OrderService, checkout::is_transient};
use crate::{
    catalog::products::return_stock,
    db::Tx,
    ids::is_id,
    mail::templates::OrderMailKind,
    orders::{
        error::OrderError,
        model::{Actor, Order, OrderRecord, OrderStatus, ProviderRules, check_transition},
        store,
    },
};

/// A move that PostgreSQL aborted as a deadlock or serialization failure ran no part of itself;
/// it is tried again this many times in all.
const MAX_ATTEMPTS: usize = 3;
/// Expired orders read per query by the sweep.
const EXPIRY_BATCH: i64 = 50;
/// Orders one sweep may leave behind (gateway down, paid meanwhile) before it stops.
const MAX_PASSED: usize = 500;
/// The longest `reason` kept in the history.
const MAX_REASON_CHARS: usize = 500;
/// The history's reason for an expired order, and its mail's.
const TIMED_OUT: &str = "payment timed out";

impl OrderService {
    /// Moves order `id` to `to` for `actor`. The owner (`Actor::Owner`) must be `who` (anyone
    /// else: `NotFound`); staff reach any order. A move the state table refuses, or one another
    /// request made first, is `IllegalTransition` naming the status the order is in.
    #[tracing::instrument(skip_all, fields(order = id, to = to.as_str()))]
    pub async fn transition(
        &self,
        actor: Actor,
        who: Option<&OrderCredential>,
        id: &str,
        to: OrderStatus,
        reason: Option<String>,
    ) -> Result<OrderRecord, OrderError> {
        let order = match (&actor, who) {
            (Actor::Owner, Some(who)) => self.owned(who, id).await?,
            (Actor::Owner, None) => return Err(OrderError::NotFound),
            _ => self.any_order(id).await?,
        };
        let reason = reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
        if reason.as_ref().is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
            return Err(OrderError::field("reason", format!("must be at most {MAX_REASON_CHARS} characters")));
        }
        check_transition(&actor, order.status, to, self.rules(&order.payment_provider))
            .map_err(|refused| OrderError::IllegalTransition { from: refused.from, to: refused.to })?;
        let history_reason = self.with_refund_note(&order, to, reason.clone());
        let actor = actor.label(order.is_guest());
        // The mail's link carries a guest's token: load its key before the transaction.
        self.token_key().await?;
        let mut attempt = 0;
        let (moved, refund) = loop {
            attempt += 1;
            let mut tx = self.db.begin().await?;
            let now = self.clock.now_ms();
            let result = self.apply(&mut tx, &order, &actor, to, history_reason.as_deref(), reason.clone(), now).await;
            let result = match result {
                Ok(true) => {
                    // A paid gateway order is owed its money: the refund is written with the
                    // cancellation and sent once it has committed.
                    let refund = match to {
                        OrderStatus::Cancelled => self.refund_on_cancel(&mut tx, &order, &actor, now).await,
                        _ => Ok(None),
                    };
                    match refund {
                        Ok(refund) => tx.commit().await.map(|()| (true, refund)).map_err(OrderError::from),
                        Err(e) => Err(e),
                    }
                }
                Ok(false) => Ok((false, None)),
                Err(e) => Err(e),
            };
            match result {
                Err(OrderError::Db(e)) if is_transient(&e) && attempt < MAX_ATTEMPTS => continue,
                other => break other?,
            }
        };
        if let Some(refund) = refund {
            self.run_refund(&refund).await;
        }
        if !moved {
            // Another request moved it first: answer from where it is now.
            let now = store::orders::order(self.db.pool(), id).await?.map_or(order.status, |o| o.status);
            return Err(OrderError::IllegalTransition { from: now, to });
        }
        // Paid orders and coupon redemptions count in priced carts.
        self.history_changes.bump();
        if to == OrderStatus::Cancelled {
            // The list cache shows `in_stock`: this instance's pages go stale now.
            self.products.stock_changed();
        }
        self.get_any(id).await
    }

    /// `POST /orders/{id}/cancel`: the owner cancels an order that has not gone to processing.
    pub async fn cancel(
        &self,
        who: &OrderCredential,
        id: &str,
        reason: Option<String>,
    ) -> Result<OrderRecord, OrderError> {
        self.transition(Actor::Owner, Some(who), id, OrderStatus::Cancelled, reason).await
    }

    /// The `order_expiry` job's sweep: cancels every unpaid order whose `expires_at` has passed,
    /// as `system`, restocking each once. Returns how many it cancelled.
    ///
    /// Checkout set `expires_at` only for providers whose unpaid orders expire, and the shopper
    /// was shown it. An order with gateway sessions is first checked at its gateway (no
    /// transaction open): one that was paid is settled instead, and one whose gateway cannot say
    /// is left for the next sweep. Each cancellation is its own guarded move, so instances
    /// sweeping at once, and payments settling at once, never both act on one order.
    #[tracing::instrument(skip_all)]
    pub async fn expire_unpaid(&self) -> Result<u64, OrderError> {
        self.token_key().await?;
        let actor = Actor::System.label(false);
        let mut expired = 0;
        let mut passed: Vec<String> = Vec::new();
        loop {
            let now = self.clock.now_ms();
            let ids = store::lifecycle::expired_unpaid(self.db.pool(), now, EXPIRY_BATCH, &passed).await?;
            // `passed` grows only while gateways cannot answer; a sweep stops before its list does.
            if ids.is_empty() || passed.len() >= MAX_PASSED {
                return Ok(expired);
            }
            for id in ids {
                // Read after the selection: another request may have moved it meanwhile, and the
                // move below is guarded on the status read here.
                let order = store::orders::order(self.db.pool(), &id).await?;
                let Some(order) = order.filter(|o| o.status == OrderStatus::PendingPayment) else {
                    passed.push(id);
                    continue;
                };
                match self.paid_at_gateway(&order).await {
                    Ok(false) => {}
                    Ok(true) => {
                        passed.push(id);
                        continue;
                    }
                    Err(error) => {
                        tracing::warn!(order = id, error = %error, "gateway status unknown; the order expires later");
                        passed.push(id);
                        continue;
                    }
                }
                let now = self.clock.now_ms();
                let mut tx = self.db.begin().await?;
                let mail_reason = Some(TIMED_OUT.to_owned());
                let moved = self
                    .apply(&mut tx, &order, &actor, OrderStatus::Cancelled, Some(TIMED_OUT), mail_reason, now)
                    .await?;
                tx.commit().await?;
                if moved {
                    expired += 1;
                    self.products.stock_changed();
                    self.history_changes.bump();
                } else {
                    passed.push(id);
                }
            }
        }
    }

    /// The move inside the caller's transaction. False when the order was no longer in its
    /// status (another request moved it): then nothing else happened.
    #[expect(clippy::too_many_arguments, reason = "one move's facts, each used once")]
    pub(super) async fn apply(
        &self,
        tx: &mut Tx,
        order: &Order,
        actor: &str,
        to: OrderStatus,
        history_reason: Option<&str>,
        mail_reason: Option<String>,
        now: i64,
    ) -> Result<bool, OrderError> {
        // A move to where the order is would pass the guard and act twice (restock, mail).
        if order.status == to || !store::lifecycle::move_status(tx, &order.id, order.status, to, now).await? {
            return Ok(false);
        }
        if to == OrderStatus::Paid {
            crate::payments::store::mark_captured(tx, &order.id, now).await?;
        }
        if to == OrderStatus::Cancelled {
            let mut items = store::orders::items(&mut **tx, &order.id).await?;
            // In variant id order, as checkout locks them, so the two never deadlock.
            items.sort_by(|a, b| a.variant_id.cmp(&b.variant_id));
            for item in &items {
                if return_stock(tx, &item.variant_id, item.quantity, now).await?.is_none() {
                    tracing::warn!(order = order.id, variant = item.variant_id, "a cancelled item's variant is gone");
                }
            }
            // In key order, as checkout takes them.
            for code in store::coupons::order_codes(&mut **tx, &order.id).await? {
                store::coupons::release_use(tx, &code).await?;
            }
        }
        store::orders::insert_event(&mut **tx, &order.id, now, actor, Some(order.status), to, history_reason).await?;
        let mail = match to {
            OrderStatus::Paid => Some(OrderMailKind::Paid),
            OrderStatus::Shipped => Some(OrderMailKind::Shipped),
            OrderStatus::Cancelled => Some(OrderMailKind::Cancelled { reason: mail_reason }),
            _ => None,
        };
        if let Some(kind) = mail {
            self.enqueue_order_mail(tx, &order.id, kind).await?;
        }
        Ok(true)
    }

    /// Any order by id (staff).
    async fn any_order(&self, id: &str) -> Result<Order, OrderError> {
        if !is_id(id, "ord") {
            return Err(OrderError::NotFound);
        }
        store::orders::order(self.db.pool(), id).await?.ok_or(OrderError::NotFound)
    }

    /// What the order's provider allows; a provider no longer configured allows neither.
    fn rules(&self, provider: &str) -> ProviderRules {
        self.gateways.rules(provider)
    }

    /// Cancelling a paid order owes the shopper the money: a gateway refunds it (see
    /// `refunds::refund_on_cancel`); for manual payments the history says staff must, and no
    /// refund is recorded that did not happen.
    fn with_refund_note(&self, order: &Order, to: OrderStatus, reason: Option<String>) -> Option<String> {
        if to != OrderStatus::Cancelled || order.paid_at.is_none() {
            return reason;
        }
        let due = order.total - order.refunded_total;
        let note = if self.rules(&order.payment_provider).staff_confirms_payment {
            format!("refund due: {due} {} to be refunded by staff by hand (manual payment)", order.currency)
        } else {
            format!("refund of {due} {} through {}", order.currency, order.payment_provider)
        };
        Some(match reason {
            Some(reason) => format!("{reason}; {note}"),
            None => note,
        })
    }
}
