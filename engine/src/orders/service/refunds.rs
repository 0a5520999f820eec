//! Money going back: staff refunds (`POST /admin/orders/{id}/refunds`, full or partial,
//! idempotent), the refund a cancelled paid order is owed, and refunds of payments that came
//! too late or twice.
//!
//! A refund is written first, in a transaction that reserves its amount against the order's
//! total (`orders.refunded_total`, a guarded UPDATE, so concurrent refunds never give back more
//! than was paid), and only then sent to the gateway, with a key derived from ours that the
//! gateway deduplicates on. A call that times out leaves the refund `pending`: the `payments`
//! job sends it again with the same key, so it happens once, never lost and never doubled. A
//! refund the gateway refuses is `failed`, its reservation released and the order flagged for
//! review.

use sha2::{Digest, Sha256};

use super::{OrderService, idempotency::Reply};
use crate::{
    db::Tx,
    ids::{is_id, new_id},
    mail::templates::OrderMailKind,
    orders::{
        error::OrderError,
        model::{Actor, Order, OrderRecord, OrderStatus},
        store,
    },
    payments::{
        self,
        model::{Refund, RefundCause, RefundState},
        store::NewRefund,
    },
    plugins::payment_gateway::{PaymentState as GatewayState, RefundRequest},
};

/// How long one instance holds a refund while it calls the gateway.
const REFUND_LEASE_MS: i64 = 60_000;
/// A refund whose call failed is sent again after this (times the attempts so far).
const REFUND_RETRY_MS: i64 = 30_000;
/// The longest refund reason kept.
const MAX_REASON_CHARS: usize = 500;

/// The key a gateway deduplicates a refund on, derived from ours (never passed through raw):
/// `rk_` and 32 hex digits, inside Razorpay's `X-Refund-Idempotency` format (10–40 of
/// `A-Z a-z 0-9 _ -`) and the WIT's promise (16–40).
pub fn gateway_refund_key(seed: &str) -> String {
    let digest = Sha256::digest(seed.as_bytes());
    format!("rk_{}", &hex::encode(digest)[..32])
}

/// `POST /admin/orders/{id}/refunds`: how much (the rest of the total when absent) and why.
#[derive(Debug, Clone)]
pub struct RefundRequestBody {
    pub amount: Option<i64>,
    pub reason: Option<String>,
}

/// A refund made, with the order after it.
#[derive(Debug, Clone)]
pub struct RefundOutcome {
    pub refund: Refund,
    pub record: OrderRecord,
}

pub enum RefundReply {
    Made(Box<RefundOutcome>),
    Replay { status: u16, body: String },
}

impl OrderService {
    /// `POST /admin/orders/{id}/refunds` with `Idempotency-Key` semantics as checkout's (scoped
    /// to the staff member and the order). `render` and `refuse` as for checkout.
    #[allow(clippy::too_many_arguments)]
    pub async fn refund<E>(
        &self,
        staff: &str,
        order_id: &str,
        key: &str,
        request_hash: &str,
        request: RefundRequestBody,
        render: impl Fn(&RefundOutcome) -> String,
        refuse: impl Fn(OrderError) -> (Option<(u16, String)>, E),
    ) -> Result<RefundReply, E> {
        if !is_id(order_id, "ord") {
            return Err(refuse(OrderError::NotFound).1);
        }
        let scope = format!("refund:{staff}:{order_id}");
        let gateway_key = gateway_refund_key(&format!("{scope}:{key}"));
        let run = async |_| self.make_refund(staff, order_id, &gateway_key, request).await;
        Ok(match self.once(&scope, key, request_hash, run, render, refuse).await? {
            Reply::Fresh(outcome) => RefundReply::Made(Box::new(outcome)),
            Reply::Replay { status, body, .. } => RefundReply::Replay { status, body },
        })
    }

    #[tracing::instrument(skip_all, fields(order = order_id))]
    async fn make_refund(
        &self,
        staff: &str,
        order_id: &str,
        gateway_key: &str,
        request: RefundRequestBody,
    ) -> Result<RefundOutcome, OrderError> {
        // A retry of a request whose gateway call failed finds its refund and sends it again.
        if let Some(existing) = payments::store::refund_by_key(self.db.pool(), gateway_key).await? {
            return self.send_and_report(existing.id).await;
        }
        let reason = request.reason.map(|r| r.trim().to_owned()).filter(|r| !r.is_empty());
        if reason.as_ref().is_some_and(|r| r.chars().count() > MAX_REASON_CHARS) {
            return Err(OrderError::field("reason", format!("must be at most {MAX_REASON_CHARS} characters")));
        }
        let order = store::orders::order(self.db.pool(), order_id).await?.ok_or(OrderError::NotFound)?;
        if order.paid_at.is_none() || order.status == OrderStatus::Refunded {
            return Err(OrderError::IllegalTransition { from: order.status, to: OrderStatus::Refunded });
        }
        let remaining = order.total - order.refunded_total;
        let amount = request.amount.unwrap_or(remaining);
        if amount <= 0 || amount > remaining {
            let message = if remaining == 0 {
                "nothing is left to refund".to_owned()
            } else {
                format!("must be between 1 and {remaining} (what is left to refund)")
            };
            return Err(OrderError::field("amount", message));
        }
        let gateway = self.gateways.get(&order.payment_provider)?;
        let by_staff = gateway.rules().staff_confirms_payment;
        let payment = payments::store::payment(self.db.pool(), order_id).await?.ok_or(OrderError::NotFound)?;
        let payment_id = match (by_staff, payment.gateway_payment_id) {
            (true, _) => None,
            (false, Some(id)) => Some(id),
            (false, None) => {
                return Err(OrderError::IllegalTransition { from: order.status, to: OrderStatus::Refunded });
            }
        };
        let actor = Actor::Staff(staff.to_owned()).label(false);
        let refund_id = new_id("ref");
        self.token_key().await?;
        let now = self.clock.now_ms();
        let mut tx = self.db.begin().await?;
        if !payments::store::reserve_refund(&mut tx, order_id, amount, now).await? {
            // Another refund took part of what was left since the read above.
            return Err(OrderError::field("amount", "exceeds what is left to refund"));
        }
        payments::store::insert_refund(
            &mut tx,
            &NewRefund {
                id: &refund_id,
                order_id,
                provider: &order.payment_provider,
                gateway_payment_id: payment_id.as_deref(),
                amount,
                currency: &order.currency,
                cause: RefundCause::Staff,
                reason: reason.as_deref(),
                // Manual payments: staff gave the money back themselves and record it here.
                state: if by_staff { RefundState::Processed } else { RefundState::Pending },
                gateway_key,
                created_by: &actor,
            },
            now,
        )
        .await?;
        let note = format!("refund {refund_id} of {amount} {}", order.currency);
        let note = match &reason {
            Some(reason) => format!("{note}: {reason}"),
            None => note,
        };
        store::orders::insert_event(&mut *tx, order_id, now, &actor, Some(order.status), order.status, Some(&note))
            .await?;
        if by_staff {
            self.enqueue_order_mail(&mut tx, order_id, OrderMailKind::Refunded { amount, reason: reason.clone() })
                .await?;
        }
        tx.commit().await?;
        if by_staff {
            self.refunds_reached_total(order_id, &actor).await?;
        }
        self.send_and_report(refund_id).await
    }

    /// Sends a staff refund (if it still needs sending) and reports it with its order. A
    /// gateway refusal is the caller's 502; a call that only failed to answer leaves the refund
    /// `pending`, reported as such and retried by the `payments` job.
    async fn send_and_report(&self, refund_id: String) -> Result<RefundOutcome, OrderError> {
        if let Err(error) = self.execute_refund(&refund_id).await {
            match error {
                OrderError::Provider(e) if !e.is_transient() => return Err(OrderError::Provider(e)),
                other => tracing::warn!(refund = refund_id, error = %other, "refund not sent yet; it is retried"),
            }
        }
        let refund = payments::store::refund(self.db.pool(), &refund_id).await?.ok_or(OrderError::NotFound)?;
        let record = self.get_any(&refund.order_id).await?;
        Ok(RefundOutcome { refund, record })
    }

    /// In a cancellation's transaction: the refund a paid gateway order is owed (the rest of its
    /// total). Manual payments are refunded by staff by hand, so none is written for them.
    pub(super) async fn refund_on_cancel(
        &self,
        tx: &mut Tx,
        order: &Order,
        actor: &str,
        now: i64,
    ) -> Result<Option<String>, OrderError> {
        let due = order.total - order.refunded_total;
        if order.paid_at.is_none() || due <= 0 {
            return Ok(None);
        }
        let Ok(gateway) = self.gateways.get(&order.payment_provider) else { return Ok(None) };
        if gateway.rules().staff_confirms_payment {
            return Ok(None);
        }
        let Some(payment_id) = payments::store::payment(&mut **tx, &order.id).await?.and_then(|p| p.gateway_payment_id)
        else {
            return Ok(None);
        };
        if !payments::store::reserve_refund(tx, &order.id, due, now).await? {
            return Ok(None);
        }
        let refund_id = new_id("ref");
        payments::store::insert_refund(
            tx,
            &NewRefund {
                id: &refund_id,
                order_id: &order.id,
                provider: &order.payment_provider,
                gateway_payment_id: Some(&payment_id),
                amount: due,
                currency: &order.currency,
                cause: RefundCause::Cancellation,
                reason: Some("order cancelled"),
                state: RefundState::Pending,
                gateway_key: &gateway_refund_key(&format!("cancel:{}", order.id)),
                created_by: actor,
            },
            now,
        )
        .await?;
        Ok(Some(refund_id))
    }

    /// Sends refund `id` and logs a failure (it is retried by the `payments` job).
    pub(super) async fn run_refund(&self, id: &str) {
        if let Err(error) = self.execute_refund(id).await {
            tracing::warn!(refund = id, error = %error, "refund not completed");
        }
    }

    /// One gateway call for a pending refund, if this instance can claim it. Transient failures
    /// leave it pending (due again later) and are `Ok`; a refusal fails it for good.
    pub async fn execute_refund(&self, id: &str) -> Result<(), OrderError> {
        let now = self.clock.now_ms();
        let claimed = {
            let write = self.db.autocommit().await;
            payments::store::claim_refund(write.pool(), id, now, now + REFUND_LEASE_MS).await?
        };
        if !claimed {
            return Ok(());
        }
        let refund = payments::store::refund(self.db.pool(), id).await?.ok_or(OrderError::NotFound)?;
        let retry_at = now + REFUND_RETRY_MS * refund.attempts.max(1);
        let gateway = match self.gateways.get(&refund.provider) {
            Ok(gateway) => gateway,
            Err(e) => {
                let write = self.db.autocommit().await;
                payments::store::refund_retry_at(write.pool(), id, &e.detail, retry_at, now).await?;
                return Ok(());
            }
        };
        let Some(payment_id) = refund.gateway_payment_id.clone() else {
            let write = self.db.autocommit().await;
            payments::store::refund_accepted(write.pool(), id, None, RefundState::Processed, now).await?;
            return Ok(());
        };
        let sent = gateway
            .refund(&RefundRequest {
                order_id: refund.order_id.clone(),
                gateway_payment_id: payment_id,
                amount: refund.amount,
                currency: refund.currency.clone(),
                reason: refund.reason.clone(),
                idempotency_key: refund.gateway_key.clone(),
            })
            .await;
        let now = self.clock.now_ms();
        match sent {
            Ok(status) if status.state != GatewayState::Failed => {
                let state = if status.state == GatewayState::Refunded {
                    RefundState::Processed
                } else {
                    RefundState::Processing
                };
                {
                    let write = self.db.autocommit().await;
                    payments::store::refund_accepted(write.pool(), id, Some(&status.gateway_refund_id), state, now)
                        .await?;
                }
                tracing::info!(refund = id, order = refund.order_id, amount = refund.amount, "refund accepted");
                if refund.counts_toward_order() {
                    // Late and second payments were announced when they were found.
                    self.token_key().await?;
                    let mut tx = self.db.begin().await?;
                    let mail = OrderMailKind::Refunded { amount: refund.amount, reason: refund.reason.clone() };
                    self.enqueue_order_mail(&mut tx, &refund.order_id, mail).await?;
                    tx.commit().await?;
                }
                if refund.cause == RefundCause::Staff.as_str() {
                    let actor = refund.created_by.clone();
                    self.refunds_reached_total(&refund.order_id, &actor).await?;
                }
                Ok(())
            }
            Ok(_) => {
                self.fail_refund(&refund, "the gateway reports the refund failed").await?;
                Err(payments::ProviderError::new(
                    gateway.name(),
                    payments::ProviderErrorKind::Rejected,
                    "the refund failed at the gateway",
                )
                .into())
            }
            Err(e) if e.is_transient() => {
                let write = self.db.autocommit().await;
                payments::store::refund_retry_at(write.pool(), id, &e.detail, retry_at, now).await?;
                Err(e.into())
            }
            Err(e) => {
                self.fail_refund(&refund, &e.detail).await?;
                Err(e.into())
            }
        }
    }

    /// A refund failed for good: its reservation goes back and staff are told.
    async fn fail_refund(&self, refund: &Refund, why: &str) -> Result<(), OrderError> {
        let now = self.clock.now_ms();
        let mut tx = self.db.begin().await?;
        if payments::store::refund_failed(&mut tx, &refund.id, why, now).await? {
            if refund.counts_toward_order() {
                payments::store::release_refund(&mut tx, &refund.order_id, refund.amount, now).await?;
            }
            let review = format!("refund {} of {} {} failed: {why}", refund.id, refund.amount, refund.currency);
            payments::store::flag_review(&mut *tx, &refund.order_id, &review, now).await?;
            tracing::warn!(refund = refund.id, order = refund.order_id, %why, "refund failed; flagged for review");
        }
        tx.commit().await?;
        Ok(())
    }

    /// After a staff refund: when the refunds reach the total, a `paid` or `processing` order is
    /// cancelled (its stock returns) and a `delivered` one becomes `refunded` (API.md).
    async fn refunds_reached_total(&self, order_id: &str, actor: &str) -> Result<(), OrderError> {
        let Some(order) = store::orders::order(self.db.pool(), order_id).await? else { return Ok(()) };
        if order.total == 0 || order.refunded_total < order.total {
            return Ok(());
        }
        let to = match order.status {
            OrderStatus::Paid | OrderStatus::Processing => OrderStatus::Cancelled,
            OrderStatus::Delivered => OrderStatus::Refunded,
            _ => return Ok(()),
        };
        self.token_key().await?;
        let reason = "refunds reached the order's total";
        let mut tx = self.db.begin().await?;
        let moved =
            self.apply(&mut tx, &order, actor, to, Some(reason), Some(reason.to_owned()), self.clock.now_ms()).await?;
        tx.commit().await?;
        if moved && to == OrderStatus::Cancelled {
            self.products.stock_changed();
            self.history_changes.bump();
        }
        Ok(())
    }

    /// A refund webhook: the refund it names moves on; one the engine did not make (from the
    /// gateway's dashboard) flags its order for review.
    pub(super) async fn refund_event(
        &self,
        gateway: &payments::Gateway,
        event: &super::payment::StoredRefund,
    ) -> Result<(&'static str, Option<String>, Option<String>), OrderError> {
        let provider = gateway.name();
        let known = payments::store::refund_by_gateway_id(self.db.pool(), provider, &event.gateway_refund_id).await?;
        let now = self.clock.now_ms();
        match known {
            Some(refund) => {
                match event.state.as_str() {
                    "refunded" => {
                        let write = self.db.autocommit().await;
                        payments::store::refund_accepted(write.pool(), &refund.id, None, RefundState::Processed, now)
                            .await?;
                    }
                    "failed" => self.fail_refund(&refund, "the gateway reports the refund failed").await?,
                    _ => {}
                }
                Ok(("processed", Some(refund.order_id), Some(format!("refund {} {}", refund.id, event.state))))
            }
            None => {
                let order =
                    payments::store::order_of_payment(self.db.pool(), provider, &event.gateway_payment_id).await?;
                let Some(order) = order else {
                    return Ok(("ignored", None, Some("a refund of no payment of ours".to_owned())));
                };
                // Our own refund whose answer was lost carries no gateway id yet: the retry with
                // the same key reports it. Anything else was made outside the engine.
                let why = format!(
                    "refund {} of {} {} was made at the gateway, not through the engine",
                    event.gateway_refund_id, event.amount, event.currency
                );
                let write = self.db.autocommit().await;
                payments::store::flag_review(write.pool(), &order, &why, now).await?;
                Ok(("review", Some(order), Some(why)))
            }
        }
    }

    /// The `payments` job: sends every refund that is due again; returns (sent, failed).
    pub async fn process_due_refunds(&self, limit: i64) -> Result<(u64, u64), OrderError> {
        let ids = payments::store::due_refunds(self.db.pool(), self.clock.now_ms(), limit).await?;
        let (mut sent, mut failed) = (0, 0);
        for id in ids {
            match self.execute_refund(&id).await {
                Ok(()) => sent += 1,
                Err(_) => failed += 1,
            }
        }
        Ok((sent, failed))
    }
}
