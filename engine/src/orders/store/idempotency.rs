//! Idempotency records (API.md): claimed with a lease, tied to the order inside checkout's
//! transaction, completed with the stored answer.

use sqlx::{Any, Executor, FromRow};

use crate::db::Tx;

#[derive(Debug, FromRow)]
pub struct Record {
    pub request_hash: String,
    pub state: String,
    pub lease_until: i64,
    pub order_id: Option<String>,
    pub response_status: Option<i64>,
    pub response_body: Option<String>,
}

/// Claims the key: inserts an in-progress record, or replaces one that has expired (records
/// are kept 24 hours, then the key starts afresh). False when a live record exists. One atomic
/// statement on both backends: two requests cannot both claim.
#[allow(clippy::too_many_arguments)]
pub async fn claim(
    ex: impl Executor<'_, Database = Any>,
    scope: &str,
    key: &str,
    request_hash: &str,
    now: i64,
    lease_until: i64,
    expires_at: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "INSERT INTO idempotency_keys (scope, key, request_hash, state, lease_until, created_at, expires_at) \
         VALUES ($1, $2, $3, 'in_progress', $4, $5, $6) \
         ON CONFLICT (scope, key) DO UPDATE SET request_hash = excluded.request_hash, state = 'in_progress', \
             lease_until = excluded.lease_until, order_id = NULL, response_status = NULL, response_body = NULL, \
             created_at = excluded.created_at, expires_at = excluded.expires_at \
         WHERE idempotency_keys.expires_at < excluded.created_at",
    )
    .bind(scope)
    .bind(key)
    .bind(request_hash)
    .bind(lease_until)
    .bind(now)
    .bind(expires_at)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn read(ex: impl Executor<'_, Database = Any>, scope: &str, key: &str) -> sqlx::Result<Option<Record>> {
    sqlx::query_as(
        "SELECT request_hash, state, lease_until, order_id, response_status, response_body \
         FROM idempotency_keys WHERE scope = $1 AND key = $2",
    )
    .bind(scope)
    .bind(key)
    .fetch_optional(ex)
    .await
}

/// Takes over a claim whose lease ran out (its request died mid-way): `Some(order id, if its
/// order was committed)`, read in the same statement; `None` when another request took it
/// first or it completed.
pub async fn take_over(
    ex: impl Executor<'_, Database = Any>,
    scope: &str,
    key: &str,
    now: i64,
    lease_until: i64,
) -> sqlx::Result<Option<Option<String>>> {
    sqlx::query_scalar(
        "UPDATE idempotency_keys SET lease_until = $1 \
         WHERE scope = $2 AND key = $3 AND state = 'in_progress' AND lease_until < $4 RETURNING order_id",
    )
    .bind(lease_until)
    .bind(scope)
    .bind(key)
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// Ties the claim to the order, in checkout's transaction: from its commit on, a retry of this
/// key finds the order instead of creating another.
pub async fn attach_order(tx: &mut Tx, scope: &str, key: &str, order_id: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE idempotency_keys SET order_id = $1 WHERE scope = $2 AND key = $3")
        .bind(order_id)
        .bind(scope)
        .bind(key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// Stores the answer; replays return it from now on.
pub async fn complete(
    ex: impl Executor<'_, Database = Any>,
    scope: &str,
    key: &str,
    status: u16,
    body: &str,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE idempotency_keys SET state = 'done', response_status = $1, response_body = $2 \
         WHERE scope = $3 AND key = $4",
    )
    .bind(i64::from(status))
    .bind(body)
    .bind(scope)
    .bind(key)
    .execute(ex)
    .await?;
    Ok(())
}

/// Drops a claim whose request ended without an answer worth storing (validation, 5xx): a
/// retry runs again. A claim already tied to an order is kept (its order exists).
pub async fn release(ex: impl Executor<'_, Database = Any>, scope: &str, key: &str) -> sqlx::Result<()> {
    sqlx::query(
        "DELETE FROM idempotency_keys WHERE scope = $1 AND key = $2 AND state = 'in_progress' AND order_id IS NULL",
    )
    .bind(scope)
    .bind(key)
    .execute(ex)
    .await?;
    Ok(())
}

/// Housekeeping: records older than a day.
pub async fn purge_expired(ex: impl Executor<'_, Database = Any>, now: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM idempotency_keys WHERE expires_at < $1").bind(now).execute(ex).await?;
    Ok(done.rows_affected())
}
