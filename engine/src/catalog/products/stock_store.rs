//! The transaction seam of the catalog: stock changes and variant reads inside another
//! domain's transaction. Checkout (and order cancellation and expiry) change stock in the same
//! transaction as the order, its coupon redemptions and its idempotency record, so these take the
//! caller's `&mut Tx`; they are re-exported as `catalog::products::{take_stock, return_stock,
//! lock_variants}`. The caller owns the transaction (`Db::begin`) and bumps the catalog's
//! list-cache generation (`CatalogChanges`) after its commit.

use super::{
    model::Variant,
    store::{VARIANT_COLUMNS, VariantRow},
};
use crate::db::Tx;

/// Takes `quantity` (≥ 1) units in one conditional statement that never lets stock go below
/// zero, whatever runs beside it. `None` when there are not enough units (or the variant was
/// removed): the caller reports the line short and rolls back its transaction.
pub(crate) async fn take_stock(tx: &mut Tx, variant_id: &str, quantity: i64, now: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar::<_, i64>(
        "UPDATE variants SET stock = stock - $1, updated_at = $2 \
         WHERE id = $3 AND deleted_at IS NULL AND $1 > 0 AND stock >= $1 RETURNING stock",
    )
    .bind(quantity)
    .bind(now)
    .bind(variant_id)
    .fetch_optional(&mut **tx)
    .await
}

/// Puts `quantity` (≥ 1) units back (a cancelled or expired order), removed variants included so
/// that restoring one later restores its count. `None` when no such variant exists.
pub(crate) async fn return_stock(tx: &mut Tx, variant_id: &str, quantity: i64, now: i64) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar::<_, i64>(
        "UPDATE variants SET stock = stock + $1, updated_at = $2 WHERE id = $3 AND $1 > 0 RETURNING stock",
    )
    .bind(quantity)
    .bind(now)
    .bind(variant_id)
    .fetch_optional(&mut **tx)
    .await
}

/// The variants among `ids` that can be sold now: not removed, of an active product (in id
/// order, one statement). Checkout prices from reads taken before its transaction, so a product
/// archived in between is caught here and its line refused, not sold. Locked for the rest of the
/// transaction on PostgreSQL (`FOR UPDATE`, taken in id order so two checkouts holding the same
/// variants in opposite orders queue instead of deadlocking; only the variant rows are locked).
/// SQLite needs no row locks: the transaction from `Db::begin` already holds the database's write
/// lock. Unknown, removed and unsellable ids are absent.
pub(crate) async fn lock_variants(tx: &mut Tx, ids: &[&str]) -> sqlx::Result<Vec<Variant>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let lock = if tx.backend_name() == "PostgreSQL" { " FOR UPDATE" } else { "" };
    let sql = format!(
        "SELECT {VARIANT_COLUMNS} FROM variants WHERE id IN ({}) AND deleted_at IS NULL \
         AND product_id IN (SELECT id FROM products WHERE status = 'active') ORDER BY id{lock}",
        placeholders.join(", ")
    );
    let mut query = sqlx::query_as::<_, VariantRow>(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    Ok(query.fetch_all(&mut **tx).await?.into_iter().map(Variant::from).collect())
}
