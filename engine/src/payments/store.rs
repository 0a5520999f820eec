//! SQL for the payment records. Every function takes the caller's executor or transaction (the
//! seam orders and payments share), and every state change is a guarded UPDATE whose
//! `rows_affected` tells the caller whether it won.

use sqlx::{Any, Executor};

use super::model::{DueEvent, Payment, PaymentState, Refund, RefundCause, RefundState, StoredSession};
use crate::db::Tx;

const PAYMENT_COLUMNS: &str =
    "order_id, provider, amount, currency, state, gateway_payment_id, claimed_at, captured_at, review";
const REFUND_COLUMNS: &str = "id, order_id, provider, gateway_payment_id, amount, currency, cause, reason, state, \
     gateway_refund_id, gateway_key, counts, attempts, last_error, created_by, created_at";

/// The order's payment row, written in checkout's transaction.
pub async fn insert_payment(tx: &mut Tx, payment: &Payment, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO payments (order_id, provider, amount, currency, state, captured_at, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $7)",
    )
    .bind(&payment.order_id)
    .bind(&payment.provider)
    .bind(payment.amount)
    .bind(&payment.currency)
    .bind(payment.state.as_str())
    .bind(payment.captured_at)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

pub async fn payment(ex: impl Executor<'_, Database = Any>, order_id: &str) -> sqlx::Result<Option<Payment>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE order_id = $1")))
        .bind(order_id)
        .fetch_optional(ex)
        .await
}

/// The payments of a page of orders.
pub async fn payments_of(ex: impl Executor<'_, Database = Any>, order_ids: &[&str]) -> sqlx::Result<Vec<Payment>> {
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=order_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!("SELECT {PAYMENT_COLUMNS} FROM payments WHERE order_id IN ({})", placeholders.join(", "));
    let mut query = sqlx::query_as(sqlx::AssertSqlSafe(sql));
    for id in order_ids {
        query = query.bind(*id);
    }
    query.fetch_all(ex).await
}

/// Takes the right to settle payment `payment_id` for the order: `captured` when the gateway has
/// captured it already, else `capturing` (the claim to ask for the capture). Only a payment
/// still `pending` (or a claim older than `stale_before`, whose request died) can be taken, so
/// of every verify, webhook and status check racing on one order exactly one wins.
pub async fn claim_payment(
    tx: &mut Tx,
    order_id: &str,
    payment_id: &str,
    captured: bool,
    now: i64,
    stale_before: i64,
) -> sqlx::Result<bool> {
    let to = if captured { PaymentState::Captured } else { PaymentState::Capturing };
    let done = sqlx::query(
        "UPDATE payments SET state = $1, gateway_payment_id = $2, claimed_at = $3, \
         captured_at = CASE WHEN $1 = 'captured' THEN $3 ELSE NULL END, updated_at = $3 \
         WHERE order_id = $4 AND (state = 'pending' OR (state = 'capturing' AND claimed_at < $5))",
    )
    .bind(to.as_str())
    .bind(payment_id)
    .bind(now)
    .bind(order_id)
    .bind(stale_before)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// `capturing` → `captured` for the claim's holder.
pub async fn finish_capture(tx: &mut Tx, order_id: &str, payment_id: &str, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE payments SET state = 'captured', captured_at = $1, updated_at = $1 \
         WHERE order_id = $2 AND state = 'capturing' AND gateway_payment_id = $3",
    )
    .bind(now)
    .bind(order_id)
    .bind(payment_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a failed capture's claim back, so the next verify, webhook or status check tries again.
pub async fn release_claim(
    ex: impl Executor<'_, Database = Any>,
    order_id: &str,
    payment_id: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE payments SET state = 'pending', gateway_payment_id = NULL, claimed_at = NULL, updated_at = $1 \
         WHERE order_id = $2 AND state = 'capturing' AND gateway_payment_id = $3",
    )
    .bind(now)
    .bind(order_id)
    .bind(payment_id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Flags the order for staff (`GET /admin/orders?payment_review=true`); the first reason stays.
pub async fn flag_review(
    ex: impl Executor<'_, Database = Any>,
    order_id: &str,
    why: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE payments SET review = COALESCE(review, $1), updated_at = $2 WHERE order_id = $3")
        .bind(why)
        .bind(now)
        .bind(order_id)
        .execute(ex)
        .await?;
    Ok(())
}

// --- sessions ---

/// Keeps a gateway order opened for `order_id`.
pub async fn insert_session(
    ex: impl Executor<'_, Database = Any>,
    provider: &str,
    gateway_order_id: &str,
    order_id: &str,
    client_payload: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO payment_sessions (provider, gateway_order_id, order_id, client_payload, created_at) \
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING",
    )
    .bind(provider)
    .bind(gateway_order_id)
    .bind(order_id)
    .bind(client_payload)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

/// The order a gateway order was opened for, with where its payment stands: (order id, payment
/// state, the gateway payment that holds it).
pub async fn match_session(
    ex: impl Executor<'_, Database = Any>,
    provider: &str,
    gateway_order_id: &str,
) -> sqlx::Result<Option<(String, String, Option<String>)>> {
    sqlx::query_as(
        "SELECT s.order_id, p.state, p.gateway_payment_id FROM payment_sessions s \
         JOIN payments p ON p.order_id = s.order_id WHERE s.provider = $1 AND s.gateway_order_id = $2",
    )
    .bind(provider)
    .bind(gateway_order_id)
    .fetch_optional(ex)
    .await
}

/// Every gateway order opened for the order, newest first.
pub async fn sessions(ex: impl Executor<'_, Database = Any>, order_id: &str) -> sqlx::Result<Vec<StoredSession>> {
    sqlx::query_as(
        "SELECT gateway_order_id, client_payload FROM payment_sessions WHERE order_id = $1 \
         ORDER BY created_at DESC, gateway_order_id DESC",
    )
    .bind(order_id)
    .fetch_all(ex)
    .await
}

/// The order a gateway order was opened for.
pub async fn order_of_session(
    ex: impl Executor<'_, Database = Any>,
    provider: &str,
    gateway_order_id: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT order_id FROM payment_sessions WHERE provider = $1 AND gateway_order_id = $2")
        .bind(provider)
        .bind(gateway_order_id)
        .fetch_optional(ex)
        .await
}

// --- events ---

/// A new event to keep.
pub struct NewEvent<'a> {
    pub id: &'a str,
    pub provider: &'a str,
    pub event_id: Option<&'a str>,
    pub source: &'a str,
    pub order_id: Option<&'a str>,
    pub detail: &'a str,
    pub body: Option<&'a str>,
    pub state: &'a str,
    pub note: Option<&'a str>,
    /// For a `received` event: held by the instance that stored it until then (it processes it
    /// right after answering); the `payments` job takes it only once this has passed.
    pub lease_until: Option<i64>,
}

/// Stores an event; false when the gateway's event id was stored already (a redelivery).
pub async fn insert_event(ex: impl Executor<'_, Database = Any>, event: &NewEvent<'_>, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO payment_events (id, provider, event_id, source, order_id, detail, body, state, note, created_at, \
         processed_at, lease_until, attempts) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
         CASE WHEN $8 = 'received' THEN NULL ELSE $10 END, $11, CASE WHEN $11 IS NULL THEN 0 ELSE 1 END) \
         ON CONFLICT DO NOTHING",
    )
    .bind(event.id)
    .bind(event.provider)
    .bind(event.event_id)
    .bind(event.source)
    .bind(event.order_id)
    .bind(event.detail)
    .bind(event.body)
    .bind(event.state)
    .bind(event.note)
    .bind(now)
    .bind(event.lease_until)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Ids of received events nobody is processing, oldest first.
pub async fn due_events(ex: impl Executor<'_, Database = Any>, now: i64, limit: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT id FROM payment_events WHERE state = 'received' AND (lease_until IS NULL OR lease_until < $1) \
         ORDER BY created_at, id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// Claims event `id` for processing until `lease_until`; None when it is done or someone else
/// holds it.
pub async fn claim_event(
    ex: impl Executor<'_, Database = Any> + Copy,
    id: &str,
    now: i64,
    lease_until: i64,
) -> sqlx::Result<Option<DueEvent>> {
    let done = sqlx::query(
        "UPDATE payment_events SET lease_until = $1, attempts = attempts + 1 \
         WHERE id = $2 AND state = 'received' AND (lease_until IS NULL OR lease_until < $3)",
    )
    .bind(lease_until)
    .bind(id)
    .bind(now)
    .execute(ex)
    .await?;
    if done.rows_affected() != 1 {
        return Ok(None);
    }
    sqlx::query_as("SELECT id, provider, detail, attempts FROM payment_events WHERE id = $1")
        .bind(id)
        .fetch_optional(ex)
        .await
}

/// The end of an event's processing: `processed`, `ignored` or `review`.
pub async fn finish_event(
    ex: impl Executor<'_, Database = Any>,
    id: &str,
    state: &str,
    order_id: Option<&str>,
    note: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE payment_events SET state = $1, order_id = COALESCE($2, order_id), note = $3, processed_at = $4, \
         lease_until = NULL WHERE id = $5",
    )
    .bind(state)
    .bind(order_id)
    .bind(note)
    .bind(now)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(())
}

/// A processing attempt failed (the gateway was down for a capture): due again after `retry_at`.
pub async fn retry_event_at(
    ex: impl Executor<'_, Database = Any>,
    id: &str,
    note: &str,
    retry_at: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE payment_events SET note = $1, lease_until = $2 WHERE id = $3")
        .bind(note)
        .bind(retry_at)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

// --- refunds ---

/// A refund to write.
pub struct NewRefund<'a> {
    pub id: &'a str,
    pub order_id: &'a str,
    pub provider: &'a str,
    pub gateway_payment_id: Option<&'a str>,
    pub amount: i64,
    pub currency: &'a str,
    pub cause: RefundCause,
    pub reason: Option<&'a str>,
    pub state: RefundState,
    pub gateway_key: &'a str,
    pub created_by: &'a str,
}

/// Writes a refund; false when one for this late or extra payment exists already.
pub async fn insert_refund(tx: &mut Tx, refund: &NewRefund<'_>, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO refunds (id, order_id, provider, gateway_payment_id, amount, currency, cause, reason, state, \
         gateway_key, counts, created_by, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $13) ON CONFLICT DO NOTHING",
    )
    .bind(refund.id)
    .bind(refund.order_id)
    .bind(refund.provider)
    .bind(refund.gateway_payment_id)
    .bind(refund.amount)
    .bind(refund.currency)
    .bind(refund.cause.as_str())
    .bind(refund.reason)
    .bind(refund.state.as_str())
    .bind(refund.gateway_key)
    .bind(i64::from(refund.cause.counts_toward_order()))
    .bind(refund.created_by)
    .bind(now)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn refund(ex: impl Executor<'_, Database = Any>, id: &str) -> sqlx::Result<Option<Refund>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE id = $1")))
        .bind(id)
        .fetch_optional(ex)
        .await
}

/// The refunds of a page of orders, oldest first.
pub async fn refunds_of(
    ex: impl Executor<'_, Database = Any>,
    order_ids: &[&str],
) -> sqlx::Result<Vec<(String, Refund)>> {
    let columns_from = format!("{REFUND_COLUMNS} FROM refunds");
    crate::orders::store::orders::rows_of_orders(ex, &columns_from, "created_at, id", order_ids).await
}

/// Refunds not yet accepted by their gateway whose lease (if any) ran out, oldest first.
pub async fn due_refunds(ex: impl Executor<'_, Database = Any>, now: i64, limit: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar(
        "SELECT id FROM refunds WHERE state = 'pending' AND (lease_until IS NULL OR lease_until < $1) \
         ORDER BY updated_at, id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// Claims a pending refund for one gateway call until `lease_until`.
pub async fn claim_refund(
    ex: impl Executor<'_, Database = Any>,
    id: &str,
    now: i64,
    lease_until: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE refunds SET lease_until = $1, attempts = attempts + 1, updated_at = $2 \
         WHERE id = $3 AND state = 'pending' AND (lease_until IS NULL OR lease_until < $2)",
    )
    .bind(lease_until)
    .bind(now)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The gateway accepted (or finished) the refund.
pub async fn refund_accepted(
    ex: impl Executor<'_, Database = Any>,
    id: &str,
    gateway_refund_id: Option<&str>,
    state: RefundState,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE refunds SET state = $1, gateway_refund_id = COALESCE($2, gateway_refund_id), lease_until = NULL, \
         last_error = NULL, updated_at = $3 WHERE id = $4 AND state IN ('pending', 'processing')",
    )
    .bind(state.as_str())
    .bind(gateway_refund_id)
    .bind(now)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(())
}

/// A gateway call for the refund failed and may be retried: due again after `retry_at`.
pub async fn refund_retry_at(
    ex: impl Executor<'_, Database = Any>,
    id: &str,
    error: &str,
    retry_at: i64,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("UPDATE refunds SET last_error = $1, lease_until = $2, updated_at = $3 WHERE id = $4")
        .bind(error)
        .bind(retry_at)
        .bind(now)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(())
}

/// The refund failed for good. True when this call moved it (so the caller releases its
/// reservation once). A refund the gateway had reported processed may still be reported failed
/// by its signed webhook, which has the last word.
pub async fn refund_failed(tx: &mut Tx, id: &str, error: &str, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE refunds SET state = 'failed', last_error = $1, lease_until = NULL, updated_at = $2 \
         WHERE id = $3 AND state IN ('pending', 'processing', 'processed')",
    )
    .bind(error)
    .bind(now)
    .bind(id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// The refund a gateway refund id belongs to.
pub async fn refund_by_gateway_id(
    ex: impl Executor<'_, Database = Any>,
    provider: &str,
    gateway_refund_id: &str,
) -> sqlx::Result<Option<Refund>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {REFUND_COLUMNS} FROM refunds WHERE provider = $1 AND gateway_refund_id = $2"
    )))
    .bind(provider)
    .bind(gateway_refund_id)
    .fetch_optional(ex)
    .await
}

/// Adds `amount` to the order's refunded total if that stays within its total: the guard that
/// keeps concurrent refunds from giving back more than was paid. True when it was reserved.
pub async fn reserve_refund(tx: &mut Tx, order_id: &str, amount: i64, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE orders SET refunded_total = refunded_total + $1, updated_at = $2 \
         WHERE id = $3 AND paid_at IS NOT NULL AND refunded_total + $1 <= total",
    )
    .bind(amount)
    .bind(now)
    .bind(order_id)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives back a reservation whose refund failed.
pub async fn release_refund(tx: &mut Tx, order_id: &str, amount: i64, now: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE orders SET refunded_total = refunded_total - $1, updated_at = $2 WHERE id = $3")
        .bind(amount)
        .bind(now)
        .bind(order_id)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The order whose payment is `gateway_payment_id`.
pub async fn order_of_payment(
    ex: impl Executor<'_, Database = Any>,
    provider: &str,
    gateway_payment_id: &str,
) -> sqlx::Result<Option<String>> {
    sqlx::query_scalar("SELECT order_id FROM payments WHERE provider = $1 AND gateway_payment_id = $2")
        .bind(provider)
        .bind(gateway_payment_id)
        .fetch_optional(ex)
        .await
}

/// The refund a staff request's derived key made.
pub async fn refund_by_key(ex: impl Executor<'_, Database = Any>, gateway_key: &str) -> sqlx::Result<Option<Refund>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {REFUND_COLUMNS} FROM refunds WHERE gateway_key = $1")))
        .bind(gateway_key)
        .fetch_optional(ex)
        .await
}

/// Staff marked a manual order paid: its payment is taken (a gateway's was claimed already).
pub async fn mark_captured(tx: &mut Tx, order_id: &str, now: i64) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE payments SET state = 'captured', captured_at = $1, updated_at = $1 WHERE order_id = $2 AND state = 'pending'",
    )
    .bind(now)
    .bind(order_id)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Forgets the raw bodies of webhook events processed before `before` (they carry the shopper's
/// contact details); what the plugin made of each event stays. How many were cleared.
pub async fn forget_bodies(ex: impl Executor<'_, Database = Any>, before: i64) -> sqlx::Result<u64> {
    let done = sqlx::query(
        "UPDATE payment_events SET body = NULL WHERE body IS NOT NULL AND processed_at IS NOT NULL AND processed_at < $1",
    )
    .bind(before)
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}
