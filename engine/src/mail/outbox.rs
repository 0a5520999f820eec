//! SQL for the mail outbox.

use sqlx::{Any, Executor, FromRow};

pub async fn enqueue<'e>(
    ex: impl Executor<'e, Database = Any>,
    recipient: &str,
    subject: &str,
    body: &str,
    now: i64,
) -> sqlx::Result<String> {
    let id = crate::ids::new_id("mail");
    sqlx::query(
        "INSERT INTO mail_outbox (id, recipient, subject, body, status, attempts, next_attempt_at, created_at) \
         VALUES ($1, $2, $3, $4, 'pending', 0, $5, $5)",
    )
    .bind(&id)
    .bind(recipient)
    .bind(subject)
    .bind(body)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(id)
}

#[derive(Debug, FromRow)]
pub struct OutboxMessage {
    pub id: String,
    pub recipient: String,
    pub subject: String,
    pub body: Option<String>,
    pub attempts: i64,
}

/// Ids of messages due for delivery whose lease (if any) has run out.
pub async fn due<'e>(ex: impl Executor<'e, Database = Any>, now: i64, limit: i64) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar::<_, String>(
        "SELECT id FROM mail_outbox WHERE status = 'pending' AND next_attempt_at <= $1 \
         AND (lease_until IS NULL OR lease_until < $1) ORDER BY next_attempt_at, id LIMIT $2",
    )
    .bind(now)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// Claims one message with a lease. Conditional on the message still being unclaimed (or its
/// lease having run out), so of several instances exactly one gets it.
pub async fn claim<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    owner: &str,
    now: i64,
    lease_until: i64,
) -> sqlx::Result<Option<OutboxMessage>> {
    sqlx::query_as::<_, OutboxMessage>(
        "UPDATE mail_outbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
         WHERE id = $3 AND status = 'pending' AND next_attempt_at <= $4 AND (lease_until IS NULL OR lease_until < $4) \
         RETURNING id, recipient, subject, body, attempts",
    )
    .bind(owner)
    .bind(lease_until)
    .bind(id)
    .bind(now)
    .fetch_optional(ex)
    .await
}

/// Delivered: the body is purged (it may hold a password reset link). False when `owner` no
/// longer holds the lease (nothing was updated).
pub async fn mark_sent<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    owner: &str,
    now: i64,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE mail_outbox SET status = 'sent', body = NULL, sent_at = $1, lease_owner = NULL, lease_until = NULL, \
         last_error = NULL WHERE id = $2 AND lease_owner = $3",
    )
    .bind(now)
    .bind(id)
    .bind(owner)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// A failed attempt: retry at `next_attempt_at`, or park as `failed` (body kept) when `give_up`.
/// False when `owner` no longer holds the lease (nothing was updated).
pub async fn mark_failed<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    owner: &str,
    error: &str,
    next_attempt_at: i64,
    give_up: bool,
) -> sqlx::Result<bool> {
    let done = sqlx::query(
        "UPDATE mail_outbox SET status = CASE WHEN $1 = 1 THEN 'failed' ELSE 'pending' END, \
         last_error = $2, next_attempt_at = $3, lease_owner = NULL, lease_until = NULL \
         WHERE id = $4 AND lease_owner = $5",
    )
    .bind(i64::from(give_up))
    .bind(error)
    .bind(next_attempt_at)
    .bind(id)
    .bind(owner)
    .execute(ex)
    .await?;
    Ok(done.rows_affected() == 1)
}

/// Messages by status, for operators and metrics.
pub async fn count_by_status<'e>(ex: impl Executor<'e, Database = Any>) -> sqlx::Result<Vec<(String, i64)>> {
    sqlx::query_as::<_, (String, i64)>("SELECT status, COUNT(*) FROM mail_outbox GROUP BY status").fetch_all(ex).await
}
