//! Coupon redemptions and the live use counts checkout guards with a compare-and-set.

use sqlx::{Any, Executor};

use crate::db::Tx;

/// Live uses of each code, by anyone (`coupon_usage`, the number checkout's guard compares and
/// sets, so pricing and the guard can never disagree) and by `customer` (redemptions of orders
/// that are not cancelled). Codes are compared by their upper-case key; codes never redeemed are
/// absent. Two statements whatever the number of codes.
pub async fn counts(
    ex: impl Executor<'_, Database = Any> + Copy,
    code_keys: &[String],
    customer_id: Option<&str>,
) -> sqlx::Result<Vec<(String, i64, i64)>> {
    if code_keys.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders = |from: usize| -> String {
        (from..from + code_keys.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
    };
    let sql = format!("SELECT code_key, uses FROM coupon_usage WHERE code_key IN ({})", placeholders(1));
    let mut query = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql));
    for key in code_keys {
        query = query.bind(key);
    }
    let totals = query.fetch_all(ex).await?;
    let mine: Vec<(String, i64)> = match customer_id {
        None => Vec::new(),
        Some(customer) => {
            let sql = format!(
                "SELECT r.code_key, COUNT(*) FROM coupon_redemptions r JOIN orders o ON o.id = r.order_id \
                 WHERE o.status <> 'cancelled' AND r.customer_id = $1 AND r.code_key IN ({}) GROUP BY r.code_key",
                placeholders(2)
            );
            let mut query = sqlx::query_as::<_, (String, i64)>(sqlx::AssertSqlSafe(sql)).bind(customer);
            for key in code_keys {
                query = query.bind(key);
            }
            query.fetch_all(ex).await?
        }
    };
    Ok(totals
        .into_iter()
        .map(|(key, total)| {
            let by_customer = mine.iter().find(|(k, _)| *k == key).map_or(0, |(_, n)| *n);
            (key, total, by_customer)
        })
        .collect())
}

/// The guard: takes one use of `code_key` only if the live count is still `expected` (what the
/// checkout priced with). False when another order took or released a use in between: the
/// caller rolls back and prices again, so a coupon's last use goes to exactly one order.
/// On PostgreSQL the updated row stays locked until commit, which serialises checkouts of one
/// code (and makes the by-customer recount below exact).
pub async fn take_use(tx: &mut Tx, code_key: &str, expected: i64) -> sqlx::Result<bool> {
    sqlx::query("INSERT INTO coupon_usage (code_key, uses) VALUES ($1, 0) ON CONFLICT (code_key) DO NOTHING")
        .bind(code_key)
        .execute(&mut **tx)
        .await?;
    let done = sqlx::query("UPDATE coupon_usage SET uses = uses + 1 WHERE code_key = $1 AND uses = $2")
        .bind(code_key)
        .bind(expected)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Gives a use back (the order was cancelled), in the cancelling transaction.
pub async fn release_use(tx: &mut Tx, code_key: &str) -> sqlx::Result<()> {
    sqlx::query("UPDATE coupon_usage SET uses = uses - 1 WHERE code_key = $1 AND uses > 0")
        .bind(code_key)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The customer's live uses of one code, read inside the transaction that holds its usage row.
pub async fn customer_uses(tx: &mut Tx, code_key: &str, customer_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar(
        "SELECT COUNT(*) FROM coupon_redemptions r JOIN orders o ON o.id = r.order_id \
         WHERE o.status <> 'cancelled' AND r.code_key = $1 AND r.customer_id = $2",
    )
    .bind(code_key)
    .bind(customer_id)
    .fetch_one(&mut **tx)
    .await
}

pub async fn insert_redemption(
    tx: &mut Tx,
    order_id: &str,
    code_key: &str,
    customer_id: Option<&str>,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query("INSERT INTO coupon_redemptions (order_id, code_key, customer_id, created_at) VALUES ($1, $2, $3, $4)")
        .bind(order_id)
        .bind(code_key)
        .bind(customer_id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(())
}

/// The codes an order redeemed (a cancellation releases each).
pub async fn order_codes(ex: impl Executor<'_, Database = Any>, order_id: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar("SELECT code_key FROM coupon_redemptions WHERE order_id = $1 ORDER BY code_key")
        .bind(order_id)
        .fetch_all(ex)
        .await
}
