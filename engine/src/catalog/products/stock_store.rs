//! The transaction seam of the catalog: stock changes and variant reads inside another
//! domain's transaction. Checkout (and order cancellation and expiry) change stock in the same
//! transaction as the order, its coupon redemptions and its idempotency record, so these take the
//! caller's `&mut Tx`; they are re-exported as `catalog::products::{take_stock, return_stock,
//! lock_variants}`. The caller owns the transaction (`Db::begin`) and bumps the catalog's
//! generation for carts (`CatalogChanges`) after its commit.
//!
//! Storefront pages show whether a variant and a product are in stock, never how many: a change
//! that empties a variant or brings one back marks its product's page stale in the transaction
//! (and the list pages when the product's stored `in_stock` flips with it), and every other
//! stock change marks nothing, so a busy checkout does not flush the catalog cache (see
//! `catalog::cache`).

use super::{
    model::Variant,
    store::{VARIANT_COLUMNS, VariantRow},
};
use crate::{
    catalog::cache::{LISTS, product_key},
    db::Tx,
};

/// Takes `quantity` (≥ 1) units in one conditional statement that never lets stock go below
/// zero, whatever runs beside it. `None` when there are not enough units (or the variant was
/// removed): the caller reports the line short and rolls back its transaction.
pub(crate) async fn take_stock(tx: &mut Tx, variant_id: &str, quantity: i64, now: i64) -> sqlx::Result<Option<i64>> {
    let taken = sqlx::query_as::<_, (i64, String)>(
        "UPDATE variants SET stock = stock - $1, updated_at = $2 \
         WHERE id = $3 AND deleted_at IS NULL AND $1 > 0 AND stock >= $1 RETURNING stock, product_id",
    )
    .bind(quantity)
    .bind(now)
    .bind(variant_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((stock, product_id)) = taken else { return Ok(None) };
    if stock == 0 {
        // The variant went out of stock: its page changed; the card only if no variant is left.
        tx.mark_stale(product_key(&product_id));
        let emptied = sqlx::query_scalar::<_, String>(
            "UPDATE products SET in_stock = 0 WHERE id = $1 AND in_stock = 1 AND NOT EXISTS \
             (SELECT 1 FROM variants WHERE product_id = $1 AND deleted_at IS NULL AND stock > 0) RETURNING status",
        )
        .bind(&product_id)
        .fetch_optional(&mut **tx)
        .await?;
        if emptied.as_deref() == Some("active") {
            tx.mark_stale(LISTS);
        }
    }
    Ok(Some(stock))
}

/// Puts `quantity` (≥ 1) units back (a cancelled or expired order), removed variants included so
/// that restoring one later restores its count. `None` when no such variant exists.
pub(crate) async fn return_stock(tx: &mut Tx, variant_id: &str, quantity: i64, now: i64) -> sqlx::Result<Option<i64>> {
    let returned = sqlx::query_as::<_, (i64, String, i64)>(
        "UPDATE variants SET stock = stock + $1, updated_at = $2 WHERE id = $3 AND $1 > 0 \
         RETURNING stock, product_id, CASE WHEN deleted_at IS NULL THEN 1 ELSE 0 END",
    )
    .bind(quantity)
    .bind(now)
    .bind(variant_id)
    .fetch_optional(&mut **tx)
    .await?;
    let Some((stock, product_id, live)) = returned else { return Ok(None) };
    if stock == quantity && live == 1 {
        // Back in stock from zero: its page changed; the card if the product was out of stock.
        tx.mark_stale(product_key(&product_id));
        let refilled = sqlx::query_scalar::<_, String>(
            "UPDATE products SET in_stock = 1 WHERE id = $1 AND in_stock = 0 RETURNING status",
        )
        .bind(&product_id)
        .fetch_optional(&mut **tx)
        .await?;
        if refilled.as_deref() == Some("active") {
            tx.mark_stale(LISTS);
        }
    }
    Ok(Some(stock))
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
