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
         ORDER BY id DESC LIMIT $6"
    )))
    .bind(filter.status.map(OrderStatus::as_str))
    .bind(filter.email.as_deref())
    .bind(filter.created_from)
    .bind(filter.created_to)
    .bind(before_id)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// Unpaid orders whose payment time ran out, oldest deadline first. On PostgreSQL the rows stay
/// locked for the caller's transaction and rows another instance holds are skipped (`SKIP
/// LOCKED`), so instances sweeping at once split the work instead of queueing on it. SQLite
/// needs no row locks: `Db::begin` already holds the only write lock.
pub async fn expired_unpaid(tx: &mut Tx, now: i64, limit: i64) -> sqlx::Result<Vec<String>> {
    let lock = if tx.backend_name() == "PostgreSQL" { " FOR UPDATE SKIP LOCKED" } else { "" };
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT id FROM orders WHERE status = 'pending_payment' AND expires_at IS NOT NULL AND expires_at < $1 \
         ORDER BY expires_at, id LIMIT $2{lock}"
    )))
    .bind(now)
    .bind(limit)
    .fetch_all(&mut **tx)
    .await
}
