//! Status moves, the staff list and the expiry sweep's selection.

use sqlx::{Any, Executor};

use super::orders::ORDER_COLUMNS;
use crate::{
    db::Tx,
    orders::model::{Order, OrderFilter, OrderStatus},
};

/// The state-guarded move: `from` → `to` only if the order is still in `from`. True when this
/// call moved it. Whatever races with it (two cancels, a cancel and the expiry job, two
/// instances), exactly one caller sees true, and only that caller restocks, releases coupons
/// and mails. Reaching `paid` stamps `paid_at`; `paid` and `cancelled` end the expiry clock.
pub async fn move_status(tx: &mut Tx, id: &str, from: OrderStatus, to: OrderStatus, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE orders SET status = $1, updated_at = $2, \
         paid_at = CASE WHEN $1 = 'paid' THEN $2 ELSE paid_at END, \
         expires_at = CASE WHEN $1 IN ('paid', 'cancelled') THEN NULL ELSE expires_at END \
         WHERE id = $3 AND status = $4",
    )
    .bind(to.as_str())
    .bind(now)
    .bind(id)
    .bind(from.as_str())
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Every order matching `filter`, newest first (ids are time-ordered), after the cursor's id.
pub async fn list(
    ex: impl Executor<'_, Database = Any>,
    filter: &OrderFilter,
    before_id: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<Order>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE ($1 IS NULL OR status = $1) AND ($2 IS NULL OR email = $2) \
         AND ($3 IS NULL OR created_at >= $3) AND ($4 IS NULL OR created_at < $4) AND ($5 IS NULL OR id < $5) \
         AND ($7 IS NULL OR (CASE WHEN EXISTS (SELECT 1 FROM payments p WHERE p.order_id = orders.id \
         AND p.review IS NOT NULL) THEN 1 ELSE 0 END) = $7) \
         ORDER BY id DESC LIMIT $6"
    )))
    .bind(filter.status.map(OrderStatus::as_str))
    .bind(filter.email.as_deref())
    .bind(filter.created_from)
    .bind(filter.created_to)
    .bind(before_id)
    .bind(limit)
    .bind(filter.payment_review.map(i64::from))
    .fetch_all(ex)
    .await
}

/// Unpaid orders whose payment time ran out, oldest deadline first, leaving out `passed` (those
/// this sweep already looked at and left). No lock: each cancellation is a guarded move.
pub async fn expired_unpaid(
    ex: impl Executor<'_, Database = Any>,
    now: i64,
    limit: i64,
    passed: &[String],
) -> sqlx::Result<Vec<String>> {
    let skip: Vec<String> = (0..passed.len()).map(|i| format!("${}", i + 3)).collect();
    let skip = if skip.is_empty() { String::new() } else { format!(" AND id NOT IN ({})", skip.join(", ")) };
    let mut query = sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM orders WHERE status = 'pending_payment' AND expires_at IS NOT NULL AND expires_at < $1{skip} \
         ORDER BY expires_at, id LIMIT $2"
    )))
    .bind(now)
    .bind(limit);
    for id in passed {
        query = query.bind(id.as_str());
    }
    query.fetch_all(ex).await
}
