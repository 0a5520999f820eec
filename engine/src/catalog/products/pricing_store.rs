//! SQL for pricing: every variant of a cart in a fixed number of statements, whatever its size
//! (see `ProductService::variants_for_pricing`). Apart from `store.rs` so that file stays small.

use sqlx::{Any, Executor, FromRow};

/// A purchasable variant with what pricing needs of its product (see `variants_for_pricing`).
#[derive(Debug, FromRow)]
pub struct PricingRow {
    pub variant_id: String,
    pub product_id: String,
    pub sku: String,
    pub option_values: String,
    pub price: i64,
    pub stock: i64,
    pub product_name: String,
    pub currency: String,
    /// The category's materialised path (`/cat_A/cat_B/`), when the product has a category.
    pub category_path: Option<String>,
}

/// `$1, $2, …, $n`: an IN list of generated placeholders (never of values), so the SQL is safe
/// to assemble and stays portable.
fn placeholders(n: usize) -> String {
    (1..=n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

/// The live variants among `ids` whose product is active, with their product and category path:
/// one statement whatever the number of ids (the caller bounds it, far below SQLite's 32 766
/// parameters). Ids that match nothing are simply absent.
pub async fn variants_for_pricing<'e>(
    ex: impl Executor<'e, Database = Any>,
    ids: &[&str],
) -> sqlx::Result<Vec<PricingRow>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!(
        "SELECT v.id AS variant_id, v.product_id, v.sku, v.option_values, v.price, v.stock, \
                p.name AS product_name, p.currency, c.path AS category_path \
         FROM variants v JOIN products p ON p.id = v.product_id \
         LEFT JOIN categories c ON c.id = p.category_id \
         WHERE v.id IN ({}) AND v.deleted_at IS NULL AND p.status = 'active'",
        placeholders(ids.len())
    );
    let mut query = sqlx::query_as::<_, PricingRow>(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    query.fetch_all(ex).await
}

/// `(id, slug)` of the categories among `ids`: one statement for every category path of a cart.
pub async fn category_slugs<'e>(
    ex: impl Executor<'e, Database = Any>,
    ids: &[&str],
) -> sqlx::Result<Vec<(String, String)>> {
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    let sql = format!("SELECT id, slug FROM categories WHERE id IN ({})", placeholders(ids.len()));
    let mut query = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql));
    for id in ids {
        query = query.bind(*id);
    }
    query.fetch_all(ex).await
}
