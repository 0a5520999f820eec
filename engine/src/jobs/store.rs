//! SQL for job schedules and their leases.

use super::JobContext;

/// Claims the job's schedule row for this runner. Conditional on no live lease held by another
/// runner (and, unless `force`, on the job being due), so across all instances one run at a time
/// wins. The row is created on first use.
pub async fn claim(ctx: &JobContext, name: &str, now: i64, force: bool) -> sqlx::Result<bool> {
    let pool = ctx.db.pool();
    sqlx::query("INSERT INTO job_schedules (name, next_run_at, runs) VALUES ($1, $2, 0) ON CONFLICT (name) DO NOTHING")
        .bind(name)
        .bind(now)
        .execute(pool)
        .await?;
    let lease_until = now + crate::clock::millis(ctx.lease);
    let claimed = sqlx::query(
        "UPDATE job_schedules SET lease_owner = $1, lease_until = $2, last_started_at = $3, runs = runs + 1 \
         WHERE name = $4 AND (lease_until IS NULL OR lease_until < $3) AND ($5 = 1 OR next_run_at <= $3)",
    )
    .bind(&ctx.owner)
    .bind(lease_until)
    .bind(now)
    .bind(name)
    .bind(i64::from(force))
    .execute(pool)
    .await?;
    Ok(claimed.rows_affected() == 1)
}

pub async fn release(
    ctx: &JobContext,
    name: &str,
    now: i64,
    next_run_at: i64,
    error: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE job_schedules SET lease_owner = NULL, lease_until = NULL, last_finished_at = $1, next_run_at = $2, \
         last_error = $3 WHERE name = $4 AND lease_owner = $5",
    )
    .bind(now)
    .bind(next_run_at)
    .bind(error)
    .bind(name)
    .bind(&ctx.owner)
    .execute(ctx.db.pool())
    .await?;
    Ok(())
}
