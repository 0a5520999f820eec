//! SQL for the throttles: one row per key (`account:…`, `address:…`, `register:…`, …) holding
//! a fixed window's count and, for accounts, the time the next login attempt is allowed.
//! Shared by every instance on the database; each change is one atomic statement.

use sqlx::{Any, Executor, FromRow};

#[derive(Debug, FromRow)]
pub struct ThrottleRow {
    pub window_start: i64,
    pub failures: i64,
    pub blocked_until: i64,
}

pub async fn read<'e>(ex: impl Executor<'e, Database = Any>, key: &str) -> sqlx::Result<Option<ThrottleRow>> {
    sqlx::query_as::<_, ThrottleRow>("SELECT window_start, failures, blocked_until FROM login_throttle WHERE key = $1")
        .bind(key)
        .fetch_optional(ex)
        .await
}

/// Counts one event for `key` in its fixed window (a new window starts once the old one is
/// over, forgetting the count and any back-off) and returns `(window_start, count)`. One atomic
/// upsert, so concurrent events on several instances are all counted.
pub async fn count<'e>(
    ex: impl Executor<'e, Database = Any>,
    key: &str,
    now: i64,
    window_ms: i64,
) -> sqlx::Result<(i64, i64)> {
    sqlx::query_as::<_, (i64, i64)>(
        "INSERT INTO login_throttle (key, window_start, failures, blocked_until) VALUES ($1, $2, 1, 0) \
         ON CONFLICT (key) DO UPDATE SET \
           window_start = CASE WHEN login_throttle.window_start <= $3 THEN $2 ELSE login_throttle.window_start END, \
           failures = CASE WHEN login_throttle.window_start <= $3 THEN 1 ELSE login_throttle.failures + 1 END, \
           blocked_until = CASE WHEN login_throttle.window_start <= $3 THEN 0 ELSE login_throttle.blocked_until END \
         RETURNING window_start, failures",
    )
    .bind(key)
    .bind(now)
    .bind(now - window_ms)
    .fetch_one(ex)
    .await
}

/// Claims the next login attempt of a backed-off account: sets the next allowed time to `until`
/// if the current one has passed. Of concurrent attempts exactly one gets `true`.
pub async fn claim<'e>(ex: impl Executor<'e, Database = Any>, key: &str, now: i64, until: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE login_throttle SET blocked_until = $1 WHERE key = $2 AND blocked_until <= $3")
        .bind(until)
        .bind(key)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub async fn block_until<'e>(ex: impl Executor<'e, Database = Any>, key: &str, until: i64) -> sqlx::Result<()> {
    sqlx::query("UPDATE login_throttle SET blocked_until = $1 WHERE key = $2")
        .bind(until)
        .bind(key)
        .execute(ex)
        .await?;
    Ok(())
}

pub async fn clear<'e>(ex: impl Executor<'e, Database = Any>, key: &str) -> sqlx::Result<()> {
    sqlx::query("DELETE FROM login_throttle WHERE key = $1").bind(key).execute(ex).await?;
    Ok(())
}

/// Housekeeping: drops finished windows whose back-off (if any) has passed.
pub async fn purge<'e>(ex: impl Executor<'e, Database = Any>, now: i64, window_ms: i64) -> sqlx::Result<u64> {
    let done = sqlx::query("DELETE FROM login_throttle WHERE window_start < $1 AND blocked_until < $2")
        .bind(now - window_ms)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}
