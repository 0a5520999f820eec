//! SQL for products and variants (listing queries are in `listing.rs`).

use sqlx::{Any, Executor, FromRow};

use super::model::{Image, Product, ProductOption, Status, Variant};
use crate::db::JsonText;

// Rows decode their status and JSON columns while fetching: a value that does not parse fails
// the query (`sqlx::Error::ColumnDecode`, an opaque 500 naming the column in the log) instead
// of turning into a draft or an empty list that a later write would store for good.
#[derive(Debug, FromRow)]
pub struct ProductRow {
    id: String,
    slug: String,
    name: String,
    description: String,
    #[sqlx(try_from = "String")]
    status: Status,
    category_id: Option<String>,
    #[sqlx(try_from = "String")]
    images: JsonText<Vec<Image>>,
    #[sqlx(try_from = "String")]
    options: JsonText<Vec<ProductOption>>,
    currency: String,
    min_price: Option<i64>,
    max_price: Option<i64>,
    default_variant_id: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl From<ProductRow> for Product {
    fn from(r: ProductRow) -> Self {
        Product {
            status: r.status,
            images: r.images.0,
            options: r.options.0,
            id: r.id,
            slug: r.slug,
            name: r.name,
            description: r.description,
            category_id: r.category_id,
            currency: r.currency,
            min_price: r.min_price,
            max_price: r.max_price,
            default_variant_id: r.default_variant_id,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

pub const PRODUCT_COLUMNS: &str = "id, slug, name, description, status, category_id, images, options, currency, \
     min_price, max_price, default_variant_id, created_at, updated_at";

#[derive(Debug, FromRow)]
pub(super) struct VariantRow {
    id: String,
    product_id: String,
    sku: String,
    title: String,
    #[sqlx(try_from = "String")]
    option_values: JsonText<Vec<String>>,
    price: i64,
    compare_at_price: Option<i64>,
    stock: i64,
    position: i64,
    created_at: i64,
    updated_at: i64,
}

impl From<VariantRow> for Variant {
    fn from(r: VariantRow) -> Self {
        Variant {
            option_values: r.option_values.0,
            id: r.id,
            product_id: r.product_id,
            sku: r.sku,
            title: r.title,
            price: r.price,
            compare_at_price: r.compare_at_price,
            stock: r.stock,
            position: r.position,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

pub(super) const VARIANT_COLUMNS: &str =
    "id, product_id, sku, title, option_values, price, compare_at_price, stock, position, created_at, updated_at";

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "[]".to_owned())
}

pub async fn insert_product<'e>(ex: impl Executor<'e, Database = Any>, p: &Product) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO products (id, slug, name, name_key, description, status, category_id, images, options, currency, \
         created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(&p.id)
    .bind(&p.slug)
    .bind(&p.name)
    .bind(super::model::name_key(&p.name))
    .bind(&p.description)
    .bind(p.status.as_str())
    .bind(p.category_id.as_deref())
    .bind(json(&p.images))
    .bind(json(&p.options))
    .bind(&p.currency)
    .bind(p.created_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// Writes the editable fields of a product (the service merged the change first).
pub async fn update_product<'e>(ex: impl Executor<'e, Database = Any>, p: &Product) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE products SET slug = $1, name = $2, name_key = $3, description = $4, status = $5, category_id = $6, \
         images = $7, options = $8, updated_at = $9 WHERE id = $10",
    )
    .bind(&p.slug)
    .bind(&p.name)
    .bind(super::model::name_key(&p.name))
    .bind(&p.description)
    .bind(p.status.as_str())
    .bind(p.category_id.as_deref())
    .bind(json(&p.images))
    .bind(json(&p.options))
    .bind(p.updated_at)
    .bind(&p.id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Takes the product's row lock (PostgreSQL) for the rest of the transaction, so concurrent
/// variant edits of one product serialise and the price range stays exact. Returns false when
/// the product does not exist.
pub async fn lock_product<'e>(ex: impl Executor<'e, Database = Any>, id: &str, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE products SET updated_at = $1 WHERE id = $2").bind(now).bind(id).execute(ex).await?;
    Ok(done.rows_affected() == 1)
}

/// Recomputes the denormalised price range, default variant and `in_stock` from the live
/// variants (in the transaction that changed them, so the listing never reads them apart).
pub async fn refresh_summary<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE products SET \
           min_price = (SELECT MIN(price) FROM variants WHERE product_id = $1 AND deleted_at IS NULL), \
           max_price = (SELECT MAX(price) FROM variants WHERE product_id = $1 AND deleted_at IS NULL), \
           default_variant_id = (SELECT id FROM variants WHERE product_id = $1 AND deleted_at IS NULL \
                                 ORDER BY position, id LIMIT 1), \
           in_stock = CASE WHEN EXISTS (SELECT 1 FROM variants WHERE product_id = $1 AND deleted_at IS NULL \
                                        AND stock > 0) THEN 1 ELSE 0 END \
         WHERE id = $1",
    )
    .bind(id)
    .execute(ex)
    .await?;
    Ok(())
}

/// What a product's storefront card shows beside its editable fields: compared before and after
/// a variant write to tell whether list pages went stale.
#[derive(Debug, Clone, PartialEq, Eq, FromRow)]
pub struct CardState {
    pub status: String,
    pub min_price: Option<i64>,
    pub max_price: Option<i64>,
    pub default_variant_id: Option<String>,
    pub in_stock: i64,
}

pub async fn card_state<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<Option<CardState>> {
    sqlx::query_as::<_, CardState>(
        "SELECT status, min_price, max_price, default_variant_id, in_stock FROM products WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(ex)
    .await
}

pub async fn product_by_id<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<Option<Product>> {
    let row = sqlx::query_as::<_, ProductRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(Product::from))
}

/// By id or slug (ids never look like slugs).
pub async fn product_by_key<'e>(ex: impl Executor<'e, Database = Any>, key: &str) -> sqlx::Result<Option<Product>> {
    let column = if key.starts_with("prod_") { "id" } else { "slug" };
    let row = sqlx::query_as::<_, ProductRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE {column} = $1"
    )))
    .bind(key)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(Product::from))
}

/// Slugs equal to `base` or of the form `base-N`, to pick a free generated slug.
pub async fn slugs_like<'e>(ex: impl Executor<'e, Database = Any>, base: &str) -> sqlx::Result<Vec<String>> {
    sqlx::query_scalar::<_, String>("SELECT slug FROM products WHERE slug = $1 OR (slug > $2 AND slug < $3)")
        .bind(base)
        .bind(format!("{base}-"))
        .bind(format!("{base}-~"))
        .fetch_all(ex)
        .await
}

pub async fn category_exists<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<bool> {
    let found =
        sqlx::query_scalar::<_, String>("SELECT id FROM categories WHERE id = $1").bind(id).fetch_optional(ex).await?;
    Ok(found.is_some())
}

// ---- variants ----------------------------------------------------------------------------

pub async fn insert_variant<'e>(ex: impl Executor<'e, Database = Any>, v: &Variant) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO variants (id, product_id, sku, title, option_values, combination_key, price, compare_at_price, \
         stock, position, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
    )
    .bind(&v.id)
    .bind(&v.product_id)
    .bind(&v.sku)
    .bind(&v.title)
    .bind(json(&v.option_values))
    .bind(super::model::combination_key(&v.option_values))
    .bind(v.price)
    .bind(v.compare_at_price)
    .bind(v.stock)
    .bind(v.position)
    .bind(v.created_at)
    .execute(ex)
    .await?;
    Ok(())
}

/// Live variants of one product, in display order.
pub async fn variants_of<'e>(ex: impl Executor<'e, Database = Any>, product_id: &str) -> sqlx::Result<Vec<Variant>> {
    let rows = sqlx::query_as::<_, VariantRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {VARIANT_COLUMNS} FROM variants WHERE product_id = $1 AND deleted_at IS NULL ORDER BY position, id"
    )))
    .bind(product_id)
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(Variant::from).collect())
}

pub async fn live_variant<'e>(ex: impl Executor<'e, Database = Any>, id: &str) -> sqlx::Result<Option<Variant>> {
    let row = sqlx::query_as::<_, VariantRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {VARIANT_COLUMNS} FROM variants WHERE id = $1 AND deleted_at IS NULL"
    )))
    .bind(id)
    .fetch_optional(ex)
    .await?;
    Ok(row.map(Variant::from))
}

pub async fn next_variant_position<'e>(ex: impl Executor<'e, Database = Any>, product_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar::<_, i64>("SELECT COALESCE(MAX(position), -1) + 1 FROM variants WHERE product_id = $1")
        .bind(product_id)
        .fetch_one(ex)
        .await
}

/// Writes price, compare-at price, SKU and (absolute) stock.
pub async fn update_variant<'e>(ex: impl Executor<'e, Database = Any>, v: &Variant) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE variants SET sku = $1, price = $2, compare_at_price = $3, stock = $4, updated_at = $5 \
         WHERE id = $6 AND deleted_at IS NULL",
    )
    .bind(&v.sku)
    .bind(v.price)
    .bind(v.compare_at_price)
    .bind(v.stock)
    .bind(v.updated_at)
    .bind(&v.id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Adds `delta` (negative to take) to the stock in one conditional statement: it never goes
/// below zero nor above `max`, and concurrent adjustments all count. `None` when refused (or no
/// such variant).
pub async fn adjust_stock<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    delta: i64,
    max: i64,
    now: i64,
) -> sqlx::Result<Option<i64>> {
    sqlx::query_scalar::<_, i64>(
        "UPDATE variants SET stock = stock + $1, updated_at = $2 \
         WHERE id = $3 AND deleted_at IS NULL AND stock + $1 >= 0 AND stock + $1 <= $4 RETURNING stock",
    )
    .bind(delta)
    .bind(now)
    .bind(id)
    .bind(max)
    .fetch_optional(ex)
    .await
}

/// Rewrites a variant's option values, title and combination key (after its product's options
/// were reordered or respelt).
pub async fn set_variant_values<'e>(
    ex: impl Executor<'e, Database = Any>,
    id: &str,
    values: &[String],
    combination_key: &str,
    now: i64,
) -> sqlx::Result<()> {
    sqlx::query(
        "UPDATE variants SET option_values = $1, title = $2, combination_key = $3, updated_at = $4 \
         WHERE id = $5 AND deleted_at IS NULL",
    )
    .bind(json(&values))
    .bind(super::model::variant_title(values))
    .bind(combination_key)
    .bind(now)
    .bind(id)
    .execute(ex)
    .await?;
    Ok(())
}

/// Hides a variant (orders keep referring to it) and frees its SKU and combination.
pub async fn remove_variant<'e>(ex: impl Executor<'e, Database = Any>, id: &str, now: i64) -> sqlx::Result<bool> {
    let done = sqlx::query("UPDATE variants SET deleted_at = $1, updated_at = $1 WHERE id = $2 AND deleted_at IS NULL")
        .bind(now)
        .bind(id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// The category and its ancestors (root first) for a product page: one query on the path.
pub async fn category_chain(
    conn: &mut sqlx::AnyConnection,
    category_id: &str,
) -> sqlx::Result<Vec<(String, String, String)>> {
    let path = sqlx::query_scalar::<_, String>("SELECT path FROM categories WHERE id = $1")
        .bind(category_id)
        .fetch_optional(&mut *conn)
        .await?;
    let Some(path) = path else { return Ok(Vec::new()) };
    let ids: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut rows = Vec::with_capacity(ids.len());
    // Paths are short (tree depth); fetch them in one statement.
    let placeholders: Vec<String> = (1..=ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!("SELECT id, slug, name FROM categories WHERE id IN ({})", placeholders.join(", "));
    let mut query = sqlx::query_as::<_, (String, String, String)>(sqlx::AssertSqlSafe(sql));
    for id in &ids {
        query = query.bind(*id);
    }
    let found = query.fetch_all(&mut *conn).await?;
    for id in ids {
        if let Some(row) = found.iter().find(|r| r.0 == id) {
            rows.push(row.clone());
        }
    }
    Ok(rows)
}

/// Staff listing page: newest first, optionally one status, after `after_id`.
pub async fn admin_page<'e>(
    ex: impl Executor<'e, Database = Any>,
    status: Option<Status>,
    after_id: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<Product>> {
    let rows = sqlx::query_as::<_, ProductRow>(sqlx::AssertSqlSafe(format!(
        "SELECT {PRODUCT_COLUMNS} FROM products WHERE ($1 = '' OR status = $1) AND ($2 = '' OR id < $2) \
         ORDER BY id DESC LIMIT $3"
    )))
    .bind(status.map_or("", Status::as_str))
    .bind(after_id.unwrap_or(""))
    .bind(limit)
    .fetch_all(ex)
    .await?;
    Ok(rows.into_iter().map(Product::from).collect())
}
