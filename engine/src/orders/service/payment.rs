//! An order's money coming in: payment sessions, the storefront's checkout result, gateway
//! webhooks and the expiry job's status checks all end in [`OrderService::settle`], the one
//! place an order becomes `paid`.
//!
//! Race safety, whatever the order of verify, webhook, redelivered webhook, status check and
//! expiry (and however many instances):
//! - the payment row is *claimed* by a state-guarded UPDATE (`pending → capturing|captured`):
//!   exactly one caller wins, and only the winner captures (one capture call) and moves the
//!   order (`pending_payment → paid`, itself guarded);
//! - a loser finds the winner's payment id: the same payment is a duplicate (nothing to do), a
//!   different captured payment is a second payment and is refunded (once: `refunds` is unique
//!   per gateway payment for such refunds);
//! - a payment whose order was cancelled meanwhile (expired, or by its owner) is refunded, and
//!   the history and the customer's mail say so.
//!
//! No gateway call runs inside a database transaction.

use std::time::Duration;

use commerce_pipeline::Currency;
use serde::{Deserialize, Serialize};

use super::{OrderCredential, OrderService, refunds::gateway_refund_key};
use crate::{
    db::Tx,
    ids::new_id,
    mail::templates::OrderMailKind,
    orders::{
        error::OrderError,
        model::{Actor, Order, OrderRecord, OrderStatus},
        store,
    },
    payments::{
        self, Gateway, PaymentSession, ProviderError, ProviderErrorKind,
        model::{PaymentState, RefundCause, RefundState},
        store::{NewEvent, NewRefund},
    },
    plugins::payment_gateway::{
        CaptureRequest, ClientResult, PaymentEvent, PaymentState as GatewayState, PaymentStatus, RefundStatus, Webhook,
        WebhookOutcome,
    },
};

/// A capture claim older than this belongs to a request that died; it may be taken again.
const CLAIM_LEASE_MS: i64 = 120_000;
/// A capture that timed out is tried this many times in all (the gateway's "already captured"
/// makes a repeat harmless).
const CAPTURE_ATTEMPTS: u32 = 3;
/// How long a verify waits for another request's capture of the same payment: `SETTLE_WAIT_STEPS`
/// reads, `SETTLE_WAIT_STEP` apart (about as long as three capture attempts take).
const SETTLE_WAIT_STEPS: u32 = 100;
const SETTLE_WAIT_STEP: Duration = Duration::from_millis(100);
/// How long a stored webhook event is held by the instance processing it.
const EVENT_LEASE_MS: i64 = 60_000;
/// A processed webhook's raw body (kept byte for byte for disputes and debugging; it carries the
/// shopper's email and phone) is cleared this long after processing.
pub const KEEP_BODIES_MS: i64 = 30 * 24 * 60 * 60 * 1000;
/// After a failed processing attempt (gateway down), an event is due again after this.
const EVENT_RETRY_MS: i64 = 30_000;

/// What settling a reported payment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// This call moved the order to `paid`.
    Paid,
    /// The order was paid by this payment already (a duplicate report).
    AlreadyPaid,
    /// Another request holds the capture of this payment and will finish it.
    InProgress,
    /// Nothing was paid (pending, failed, or an authorisation left to lapse).
    Unpaid,
    /// The amount or currency is not the order's: never paid, flagged for staff.
    Review(String),
    /// The money came for an order that is cancelled, or twice: it is being refunded.
    Refunding(String),
}

/// A verified webhook as stored in `payment_events.detail` (what the plugin made of it).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredEvent {
    pub event_id: String,
    pub order_id: Option<String>,
    pub gateway_order_id: Option<String>,
    pub payment: Option<StoredPayment>,
    pub refund: Option<StoredRefund>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredPayment {
    pub state: String,
    pub gateway_payment_id: Option<String>,
    pub amount: i64,
    pub currency: String,
    pub amount_refunded: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredRefund {
    pub gateway_refund_id: String,
    pub gateway_payment_id: String,
    pub amount: i64,
    pub currency: String,
    pub state: String,
}

fn state_name(state: GatewayState) -> &'static str {
    match state {
        GatewayState::Pending => "pending",
        GatewayState::Authorized => "authorized",
        GatewayState::Captured => "captured",
        GatewayState::Failed => "failed",
        GatewayState::Refunded => "refunded",
        GatewayState::PartiallyRefunded => "partially_refunded",
    }
}

fn state_of(name: &str) -> GatewayState {
    match name {
        "authorized" => GatewayState::Authorized,
        "captured" => GatewayState::Captured,
        "failed" => GatewayState::Failed,
        "refunded" => GatewayState::Refunded,
        "partially_refunded" => GatewayState::PartiallyRefunded,
        _ => GatewayState::Pending,
    }
}

impl From<&PaymentStatus> for StoredPayment {
    fn from(status: &PaymentStatus) -> Self {
        Self {
            state: state_name(status.state).to_owned(),
            gateway_payment_id: status.gateway_payment_id.clone(),
            amount: status.amount,
            currency: status.currency.clone(),
            amount_refunded: status.amount_refunded,
        }
    }
}

impl StoredPayment {
    fn status(&self) -> PaymentStatus {
        PaymentStatus {
            state: state_of(&self.state),
            gateway_payment_id: self.gateway_payment_id.clone(),
            amount: self.amount,
            currency: self.currency.clone(),
            amount_refunded: self.amount_refunded,
        }
    }
}

impl From<&RefundStatus> for StoredRefund {
    fn from(refund: &RefundStatus) -> Self {
        Self {
            gateway_refund_id: refund.gateway_refund_id.clone(),
            gateway_payment_id: refund.gateway_payment_id.clone(),
            amount: refund.amount,
            currency: refund.currency.clone(),
            state: state_name(refund.state).to_owned(),
        }
    }
}

impl From<&PaymentEvent> for StoredEvent {
    fn from(event: &PaymentEvent) -> Self {
        Self {
            event_id: event.event_id.clone(),
            order_id: event.order_id.clone(),
            gateway_order_id: event.gateway_order_id.clone(),
            payment: event.payment.as_ref().map(StoredPayment::from),
            refund: event.refund.as_ref().map(StoredRefund::from),
        }
    }
}

/// What `POST /webhooks/{provider}` did with a delivery.
#[derive(Debug, Clone)]
pub enum WebhookReceipt {
    /// Stored and held by this instance for a while: process it now with
    /// [`OrderService::process_received`] (the `payments` job takes it if that never happens).
    Stored { event: String, provider: String, order_id: Option<String>, detail: Box<StoredEvent> },
    /// Stored with nothing left to do: a payment of no order of ours, or the payment that
    /// already paid the order.
    Kept,
    /// This event id was stored before: nothing new.
    Duplicate,
    /// Verified, but nothing for this engine.
    Ignored(String),
}

impl OrderService {
    /// `POST /orders/{id}/payment`: the session of the owner's unpaid order (the newest gateway
    /// order opened for it, while the order is unpaid), or a new one from its gateway; the
    /// gateway's failure is 502 `payment_provider_error`.
    pub async fn new_payment_session(&self, who: &OrderCredential, id: &str) -> Result<PaymentSession, OrderError> {
        let order = self.owned(who, id).await?;
        if order.status != OrderStatus::PendingPayment {
            return Err(OrderError::IllegalTransition { from: order.status, to: OrderStatus::Paid });
        }
        self.payment_session(&order).await
    }

    /// A payment session for an unpaid order (no transaction is open): the newest gateway order
    /// kept for it, else a new one, kept before it is handed out.
    pub(super) async fn payment_session(&self, order: &Order) -> Result<PaymentSession, OrderError> {
        let provider = order.payment_provider.as_str();
        let currency: Currency = order.currency.parse().map_err(|_| {
            ProviderError::unavailable(provider, format!("the order's currency `{}` is not valid", order.currency))
        })?;
        let amount = order.total - order.refunded_total;
        if let Some(kept) = payments::store::sessions(self.db.pool(), &order.id).await?.into_iter().next() {
            return Ok(PaymentSession::from_payload(provider, amount, currency, &kept.client_payload));
        }
        let gateway = self.gateways.get(provider)?;
        let opened = gateway
            .create_session(&payments::OrderForPayment {
                order_id: order.id.clone(),
                number: order.number,
                amount,
                currency,
                email: order.email.clone(),
            })
            .await?;
        {
            let write = self.db.autocommit().await;
            payments::store::insert_session(
                write.pool(),
                provider,
                &opened.gateway_order_id,
                &order.id,
                &opened.client_payload,
                self.clock.now_ms(),
            )
            .await?;
        }
        Ok(PaymentSession::from_payload(provider, amount, currency, &opened.client_payload))
    }

    /// `POST /orders/{id}/payment/verify`: the storefront's checkout result, checked by the
    /// gateway plugin against each gateway order the engine opened for this order (never one the
    /// client names), then settled. A result that does not verify is `PaymentVerificationFailed`
    /// and changes nothing.
    #[tracing::instrument(skip_all, fields(order = id))]
    pub async fn verify_payment(
        &self,
        who: &OrderCredential,
        id: &str,
        payload: String,
    ) -> Result<OrderRecord, OrderError> {
        let order = self.owned(who, id).await?;
        if order.paid_at.is_some() {
            // A retried verify after success: the order says where it stands.
            return self.record_of(order).await;
        }
        let gateway = self.gateways.get(&order.payment_provider)?;
        let sessions = payments::store::sessions(self.db.pool(), &order.id).await?;
        if sessions.is_empty() {
            return Err(OrderError::PaymentVerificationFailed("no payment was opened for this order".to_owned()));
        }
        let mut refused = String::new();
        for session in sessions {
            let result = ClientResult {
                order_id: order.id.clone(),
                gateway_order_id: session.gateway_order_id.clone(),
                amount: order.total - order.refunded_total,
                currency: order.currency.clone(),
                payload: payload.clone(),
            };
            match gateway.verify(&result).await {
                Ok(status) => {
                    self.keep_event(&gateway, "verify", Some(&order.id), &StoredPayment::from(&status), None).await?;
                    return match self.settle(&gateway, &order.id, &status).await? {
                        Settled::Review(why) => Err(OrderError::PaymentVerificationFailed(why)),
                        // A webhook for this payment holds the capture: answer once it is done.
                        Settled::InProgress => self.when_settled(id).await,
                        _ => self.get_any(id).await,
                    };
                }
                Err(e) if matches!(e.kind, ProviderErrorKind::VerificationFailed | ProviderErrorKind::Rejected) => {
                    refused = e.detail;
                }
                Err(e) => return Err(e.into()),
            }
        }
        tracing::warn!(order = id, why = %refused, "a checkout result did not verify");
        Err(OrderError::PaymentVerificationFailed(refused))
    }

    /// The order once the request holding its capture has finished (or after the bound, as it
    /// stands), so a verify that lost the race to a webhook still answers the paid order.
    async fn when_settled(&self, id: &str) -> Result<OrderRecord, OrderError> {
        for _ in 0..SETTLE_WAIT_STEPS {
            let payment = payments::store::payment(self.db.pool(), id).await?;
            if payment.is_none_or(|p| p.state != PaymentState::Capturing) {
                break;
            }
            tokio::time::sleep(SETTLE_WAIT_STEP).await;
        }
        self.get_any(id).await
    }

    /// Settles a payment the gateway reported (verified result, webhook, status check) for
    /// order `order_id`: the one path to `paid`. See the module comment for why it is race-safe.
    pub(super) async fn settle(
        &self,
        gateway: &Gateway,
        order_id: &str,
        status: &PaymentStatus,
    ) -> Result<Settled, OrderError> {
        let captured = match status.state {
            GatewayState::Pending | GatewayState::Failed => return Ok(Settled::Unpaid),
            GatewayState::Authorized => false,
            GatewayState::Captured | GatewayState::Refunded | GatewayState::PartiallyRefunded => true,
        };
        let Some(payment_id) = status.gateway_payment_id.clone() else { return Ok(Settled::Unpaid) };
        let order = store::orders::order(self.db.pool(), order_id).await?.ok_or(OrderError::NotFound)?;
        let due = order.total;
        if status.amount != due || !status.currency.eq_ignore_ascii_case(&order.currency) {
            let why = format!(
                "{} reported payment {payment_id} of {} {}; the order is {due} {}",
                gateway.name(),
                status.amount,
                status.currency,
                order.currency
            );
            tracing::warn!(order = order_id, %why, "payment does not match its order; flagged for review");
            let write = self.db.autocommit().await;
            payments::store::flag_review(write.pool(), order_id, &why, self.clock.now_ms()).await?;
            return Ok(Settled::Review(why));
        }

        // The payment that already paid the order, reported again: one read, no transaction.
        let current = payments::store::payment(self.db.pool(), order_id).await?;
        if current.as_ref().is_some_and(|p| {
            p.state == PaymentState::Captured && p.gateway_payment_id.as_deref() == Some(payment_id.as_str())
        }) {
            return Ok(Settled::AlreadyPaid);
        }
        // The mails' links carry a guest's token: load its key before any transaction.
        self.token_key().await?;
        let now = self.clock.now_ms();
        let mut tx = self.db.begin().await?;
        if !payments::store::claim_payment(&mut tx, order_id, &payment_id, captured, now, now - CLAIM_LEASE_MS).await? {
            drop(tx);
            return self.lost_claim(gateway, &order, &payment_id, status).await;
        }
        if captured {
            let settled = self.mark_paid(&mut tx, gateway, &order, &payment_id, status.amount, now).await?;
            tx.commit().await?;
            return self.after_settle(settled).await;
        }
        tx.commit().await?;

        // Authorised only: this request holds the claim, so it alone asks for the capture.
        let request = CaptureRequest {
            order_id: order.id.clone(),
            gateway_payment_id: payment_id.clone(),
            amount: status.amount,
            currency: status.currency.clone(),
        };
        let mut attempt = 0;
        let capture = loop {
            attempt += 1;
            match gateway.capture(&request).await {
                Err(e) if e.is_transient() && attempt < CAPTURE_ATTEMPTS => {
                    tracing::warn!(order = order_id, payment = payment_id, detail = %e.detail, "capture failed; retrying");
                    tokio::time::sleep(Duration::from_millis(250 * u64::from(attempt))).await;
                }
                other => break other,
            }
        };
        let capture = capture.and_then(|s| match s.state {
            GatewayState::Captured | GatewayState::Refunded | GatewayState::PartiallyRefunded => Ok(s),
            other => Err(ProviderError::unavailable(
                gateway.name(),
                format!("the capture left the payment {}", state_name(other)),
            )),
        });
        if let Err(error) = capture {
            let write = self.db.autocommit().await;
            payments::store::release_claim(write.pool(), order_id, &payment_id, self.clock.now_ms()).await?;
            return Err(error.into());
        }
        let now = self.clock.now_ms();
        let mut tx = self.db.begin().await?;
        if !payments::store::finish_capture(&mut tx, order_id, &payment_id, now).await? {
            // The claim ran out and another request took it over; it finishes the payment.
            return Ok(Settled::InProgress);
        }
        let order = store::orders::order(&mut *tx, order_id).await?.ok_or(OrderError::NotFound)?;
        let settled = self.mark_paid(&mut tx, gateway, &order, &payment_id, status.amount, now).await?;
        tx.commit().await?;
        self.after_settle(settled).await
    }

    /// Another request claimed the order's payment first.
    async fn lost_claim(
        &self,
        gateway: &Gateway,
        order: &Order,
        payment_id: &str,
        status: &PaymentStatus,
    ) -> Result<Settled, OrderError> {
        let payment = payments::store::payment(self.db.pool(), &order.id).await?.ok_or(OrderError::NotFound)?;
        if payment.gateway_payment_id.as_deref() == Some(payment_id) {
            return Ok(match payment.state {
                PaymentState::Captured => Settled::AlreadyPaid,
                _ => Settled::InProgress,
            });
        }
        if !matches!(status.state, GatewayState::Captured) {
            // A second authorisation is never captured: the gateway lets it lapse and releases
            // the shopper's money.
            tracing::info!(order = order.id, payment = payment_id, "a second authorisation is left uncaptured");
            return Ok(Settled::Unpaid);
        }
        let why = format!("a second payment ({payment_id}) for an order already paid; refunded");
        let now = self.clock.now_ms();
        let refund_id = new_id("ref");
        let mut tx = self.db.begin().await?;
        let written = payments::store::insert_refund(
            &mut tx,
            &NewRefund {
                id: &refund_id,
                order_id: &order.id,
                provider: gateway.name(),
                gateway_payment_id: Some(payment_id),
                amount: status.amount,
                currency: &status.currency,
                cause: RefundCause::ExtraPayment,
                reason: Some(&why),
                state: RefundState::Pending,
                gateway_key: &gateway_refund_key(&format!("extra:{}:{payment_id}", gateway.name())),
                created_by: "system",
            },
            now,
        )
        .await?;
        if written {
            let actor = Actor::Provider(gateway.name().to_owned()).label(false);
            store::orders::insert_event(&mut *tx, &order.id, now, &actor, Some(order.status), order.status, Some(&why))
                .await?;
        }
        tx.commit().await?;
        if written {
            tracing::warn!(order = order.id, payment = payment_id, "second payment; refunding it");
            self.run_refund(&refund_id).await;
        }
        Ok(Settled::Refunding(why))
    }

    /// Inside the claim's transaction: `pending_payment → paid`, or, for an order cancelled
    /// meanwhile, a refund of the payment that came too late.
    async fn mark_paid(
        &self,
        tx: &mut Tx,
        gateway: &Gateway,
        order: &Order,
        payment_id: &str,
        amount: i64,
        now: i64,
    ) -> Result<(Settled, Option<String>), OrderError> {
        let actor = Actor::Provider(gateway.name().to_owned()).label(false);
        if order.status == OrderStatus::PendingPayment {
            let reason = format!("payment {payment_id}");
            if self.apply(tx, order, &actor, OrderStatus::Paid, Some(&reason), None, now).await? {
                return Ok((Settled::Paid, None));
            }
        }
        // Cancelled before the money came (expired, or by its owner): its stock is gone.
        let current = store::orders::order(&mut **tx, &order.id).await?.ok_or(OrderError::NotFound)?;
        let why = format!("payment {payment_id} arrived after the order was {}; refunded", current.status.as_str());
        let refund_id = new_id("ref");
        let written = payments::store::insert_refund(
            tx,
            &NewRefund {
                id: &refund_id,
                order_id: &order.id,
                provider: gateway.name(),
                gateway_payment_id: Some(payment_id),
                amount,
                currency: &order.currency,
                cause: RefundCause::LatePayment,
                reason: Some(&why),
                state: RefundState::Pending,
                gateway_key: &gateway_refund_key(&format!("late:{}:{payment_id}", gateway.name())),
                created_by: "system",
            },
            now,
        )
        .await?;
        if !written {
            return Ok((Settled::Refunding(why), None));
        }
        store::orders::insert_event(
            &mut **tx,
            &order.id,
            now,
            &actor,
            Some(current.status),
            current.status,
            Some(&why),
        )
        .await?;
        self.enqueue_order_mail(tx, &order.id, OrderMailKind::Refunded { amount, reason: Some(why.clone()) }).await?;
        tracing::warn!(order = order.id, payment = payment_id, "payment for a cancelled order; refunding it");
        Ok((Settled::Refunding(why), Some(refund_id)))
    }

    async fn after_settle(&self, (settled, refund): (Settled, Option<String>)) -> Result<Settled, OrderError> {
        if settled == Settled::Paid {
            // Paid orders count in priced carts (first-order coupons, volume history).
            self.history_changes.bump();
        }
        if let Some(refund) = refund {
            self.run_refund(&refund).await;
        }
        Ok(settled)
    }

    /// Keeps a record of what a gateway reported outside a webhook (verify, status checks).
    async fn keep_event(
        &self,
        gateway: &Gateway,
        source: &str,
        order_id: Option<&str>,
        payment: &StoredPayment,
        note: Option<&str>,
    ) -> Result<(), OrderError> {
        let detail = serde_json::json!({ "payment": payment }).to_string();
        let write = self.db.autocommit().await;
        payments::store::insert_event(
            write.pool(),
            &NewEvent {
                id: &new_id("pev"),
                provider: gateway.name(),
                event_id: None,
                source,
                order_id,
                detail: &detail,
                body: None,
                state: "processed",
                note,
                lease_until: None,
            },
            self.clock.now_ms(),
        )
        .await?;
        Ok(())
    }

    // --- webhooks ---

    /// `POST /webhooks/{provider}`: the plugin checks the signature over the raw body first (a
    /// bad one is `WebhookSignature`, nothing kept); a verified event is stored once per gateway
    /// event id and processed after the answer.
    #[tracing::instrument(skip_all, fields(provider))]
    pub async fn receive_webhook(
        &self,
        provider: &str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    ) -> Result<WebhookReceipt, OrderError> {
        let gateway = self.gateways.get(provider).map_err(|_| OrderError::UnknownProvider(provider.to_owned()))?;
        let text = String::from_utf8(body.clone()).ok();
        let outcome = gateway.handle_webhook(&Webhook { headers, body }).await.map_err(|e| match e.kind {
            ProviderErrorKind::VerificationFailed => OrderError::WebhookSignature(e.detail),
            _ => OrderError::WebhookUnavailable(e.detail),
        })?;
        let event = match outcome {
            WebhookOutcome::Ignored(why) => {
                tracing::info!(provider, %why, "webhook verified and ignored");
                return Ok(WebhookReceipt::Ignored(why));
            }
            WebhookOutcome::Event(event) => event,
        };
        let stored = StoredEvent::from(&event);
        let detail = serde_json::to_string(&stored).map_err(|e| sqlx::Error::Protocol(e.to_string()))?;
        // Matched to its order now (one indexed read). Only a gateway order the engine opened
        // names an order: an id echoed in the event's notes is never trusted on its own. A
        // payment event for no order of ours is kept as acknowledged, with nothing left to do;
        // refund events are matched by their refund when processed.
        let matched = match (&stored.refund, &stored.gateway_order_id) {
            (None, Some(gateway_order)) => {
                payments::store::match_session(self.db.pool(), provider, gateway_order).await?
            }
            _ => None,
        };
        // A redelivery, or another event about the payment that already paid the order
        // (Razorpay sends `payment.authorized`, `payment.captured` and `order.paid` for one
        // payment): settling it would find exactly that, so it is kept as processed.
        let already_paid = matches!(
            (&matched, &stored.payment),
            (Some((_, state, Some(holder))), Some(payment))
                if state == PaymentState::Captured.as_str()
                    && payment.gateway_payment_id.as_deref() == Some(holder.as_str())
                    && payment.state != "failed"
        );
        let order_id = matched.map(|(order, _, _)| order);
        let ours = stored.refund.is_some() || order_id.is_some();
        if !ours {
            tracing::info!(provider, event = event.event_id, "webhook for no order of ours; acknowledged");
        }
        let (state, note) = match (ours, already_paid) {
            (false, _) => ("ignored", Some("no order of ours")),
            (true, true) => ("processed", Some("alreadypaid")),
            (true, false) => ("received", None),
        };
        let id = new_id("pev");
        let now = self.clock.now_ms();
        let write = self.db.autocommit().await;
        let inserted = payments::store::insert_event(
            write.pool(),
            &NewEvent {
                id: &id,
                provider,
                event_id: Some(&event.event_id),
                source: "webhook",
                order_id: order_id.as_deref(),
                detail: &detail,
                body: text.as_deref(),
                state,
                note,
                lease_until: (state == "received").then_some(now + EVENT_LEASE_MS),
            },
            now,
        )
        .await?;
        Ok(match (inserted, state) {
            (false, _) => WebhookReceipt::Duplicate,
            (true, "ignored" | "processed") => WebhookReceipt::Kept,
            (true, _) => {
                WebhookReceipt::Stored { event: id, provider: provider.to_owned(), order_id, detail: Box::new(stored) }
            }
        })
    }

    /// For the `payments` job: clears webhook bodies kept longer than [`KEEP_BODIES_MS`].
    pub async fn forget_old_webhook_bodies(&self) -> Result<u64, OrderError> {
        let write = self.db.autocommit().await;
        Ok(payments::store::forget_bodies(write.pool(), self.clock.now_ms() - KEEP_BODIES_MS).await?)
    }

    /// Processes every stored event that is due (the `payments` job); returns (done, failed).
    pub async fn process_due_events(&self, limit: i64) -> Result<(u64, u64), OrderError> {
        let ids = payments::store::due_events(self.db.pool(), self.clock.now_ms(), limit).await?;
        let (mut done, mut failed) = (0, 0);
        for id in ids {
            match self.process_event(&id).await {
                Ok(true) => done += 1,
                Ok(false) => {}
                Err(e) => {
                    failed += 1;
                    tracing::warn!(event = id, error = %e, "payment event not processed; it is retried");
                }
            }
        }
        Ok((done, failed))
    }

    /// Processes stored event `id` if it is due and nobody else holds it. True when this call
    /// finished it.
    #[tracing::instrument(skip_all, fields(event = id))]
    pub async fn process_event(&self, id: &str) -> Result<bool, OrderError> {
        let now = self.clock.now_ms();
        let claimed = {
            let write = self.db.autocommit().await;
            payments::store::claim_event(write.pool(), id, now, now + EVENT_LEASE_MS).await?
        };
        let Some(due) = claimed else { return Ok(false) };
        let result = match serde_json::from_str::<StoredEvent>(&due.detail) {
            Ok(event) => self.handle_event(&due.provider, &event, None).await,
            Err(e) => Ok(("ignored", None, Some(format!("unreadable: {e}")))),
        };
        self.finish_processing(id, result).await
    }

    /// Processes an event this instance has just stored (and holds): no claim to take, the
    /// event in hand. True when it finished.
    pub async fn process_received(
        &self,
        id: &str,
        provider: &str,
        order_id: Option<String>,
        event: &StoredEvent,
    ) -> Result<bool, OrderError> {
        let result = self.handle_event(provider, event, order_id).await;
        self.finish_processing(id, result).await
    }

    /// Records how processing event `id` ended: done, or due again later.
    async fn finish_processing(
        &self,
        id: &str,
        result: Result<(&'static str, Option<String>, Option<String>), OrderError>,
    ) -> Result<bool, OrderError> {
        let write = self.db.autocommit().await;
        let now = self.clock.now_ms();
        match result {
            Ok((state, order_id, note)) => {
                payments::store::finish_event(write.pool(), id, state, order_id.as_deref(), note.as_deref(), now)
                    .await?;
                Ok(true)
            }
            Err(error) => {
                let note = error.to_string();
                payments::store::retry_event_at(write.pool(), id, &note, now + EVENT_RETRY_MS).await?;
                Err(error)
            }
        }
    }

    /// What a stored event means: (its final state, the order it concerns, a note).
    async fn handle_event(
        &self,
        provider: &str,
        event: &StoredEvent,
        matched: Option<String>,
    ) -> Result<(&'static str, Option<String>, Option<String>), OrderError> {
        let gateway = self.gateways.get(provider)?;
        if let Some(refund) = &event.refund {
            return self.refund_event(&gateway, refund).await;
        }
        // Matched at intake, or here (see `receive_webhook`).
        let order_id = match (matched, &event.gateway_order_id) {
            (Some(order), _) => Some(order),
            (None, Some(gateway_order)) => {
                payments::store::order_of_session(self.db.pool(), provider, gateway_order).await?
            }
            (None, None) => None,
        };
        let Some(order_id) = order_id else {
            tracing::info!(provider, event = event.event_id, "webhook for no order of ours; acknowledged");
            return Ok(("ignored", None, Some("no order of ours".to_owned())));
        };
        let Some(payment) = &event.payment else {
            return Ok(("ignored", Some(order_id), Some("no payment in the event".to_owned())));
        };
        Ok(match self.settle(&gateway, &order_id, &payment.status()).await? {
            Settled::Review(why) => ("review", Some(order_id), Some(why)),
            Settled::Refunding(why) => ("processed", Some(order_id), Some(why)),
            settled => ("processed", Some(order_id), Some(format!("{settled:?}").to_lowercase())),
        })
    }

    // --- expiry ---

    /// Before the expiry job cancels an unpaid order that has gateway sessions, it asks the
    /// gateway whether it was paid. Ok(true): the order was paid (settled now) or is being
    /// settled, so it must not be cancelled; Err: the gateway could not say (try next sweep).
    pub(super) async fn paid_at_gateway(&self, order: &Order) -> Result<bool, OrderError> {
        let gateway = self.gateways.get(&order.payment_provider)?;
        if gateway.rules().staff_confirms_payment {
            return Ok(false);
        }
        for session in payments::store::sessions(self.db.pool(), &order.id).await? {
            let status = gateway.fetch_status(&order.id, &session.gateway_order_id).await?;
            if matches!(status.state, GatewayState::Pending | GatewayState::Failed) {
                continue;
            }
            self.keep_event(&gateway, "status_check", Some(&order.id), &StoredPayment::from(&status), None).await?;
            return Ok(match self.settle(&gateway, &order.id, &status).await? {
                // A payment that does not match waits for staff rather than being cancelled.
                Settled::Paid | Settled::AlreadyPaid | Settled::InProgress => true,
                Settled::Review(_) => true,
                Settled::Unpaid | Settled::Refunding(_) => false,
            });
        }
        Ok(false)
    }
}
