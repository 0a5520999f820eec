//! Cart SQL (portable subset: `$N`, `ON CONFLICT`, conditional updates).

use sqlx::{Any, Executor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct CartRow {
    pub id: String,
    pub customer_id: Option<String>,
    pub token_hash: Option<String>,
    pub email: Option<String>,
    pub shipping_address: Option<String>,
}

/// Holds the cart's row for the rest of the caller's transaction, so two line changes on one
/// cart (read the lines, then add or count) run one after the other: on PostgreSQL a row lock;
/// SQLite needs none (`Db::begin`'s `BEGIN IMMEDIATE` holds the database's write lock).
pub(crate) async fn lock_cart(tx: &mut crate::db::Tx, cart_id: &str) -> Result<(), sqlx::Error> {
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT id FROM carts WHERE id = $1 FOR UPDATE").bind(cart_id).execute(&mut **tx).await?;
    }
    Ok(())
}

#[derive(Debug, Clone, FromRow)]
pub struct LineRow {
    pub id: String,
    pub variant_id: String,
    pub quantity: i64,
}

pub async fn insert_guest_cart(
    ex: impl Executor<'_, Database = Any>,
    id: &str,
    token_hash: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO carts (id, token_hash, status, created_at, updated_at) VALUES ($1, $2, 'active', $3, $3)")
        .bind(id)
        .bind(token_hash)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

/// Inserts the customer's active cart unless one exists: the partial unique index decides a
/// race between two first requests, and the loser's insert does nothing.
pub async fn insert_customer_cart(
    ex: impl Executor<'_, Database = Any>,
    id: &str,
    customer_id: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO carts (id, customer_id, status, created_at, updated_at) VALUES ($1, $2, 'active', $3, $3) \
         ON CONFLICT DO NOTHING",
    )
    .bind(id)
    .bind(customer_id)
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn active_cart_of(
    ex: impl Executor<'_, Database = Any>,
    customer_id: &str,
) -> Result<Option<CartRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, customer_id, token_hash, email, shipping_address FROM carts WHERE customer_id = $1 AND status = 'active'";
    sqlx::query_as(SQL).bind(customer_id).fetch_optional(ex).await
}

pub async fn active_cart(ex: impl Executor<'_, Database = Any>, id: &str) -> Result<Option<CartRow>, sqlx::Error> {
    const SQL: &str =
        "SELECT id, customer_id, token_hash, email, shipping_address FROM carts WHERE id = $1 AND status = 'active'";
    sqlx::query_as(SQL).bind(id).fetch_optional(ex).await
}

/// A cart row with its status.
#[derive(Debug, Clone, FromRow)]
pub struct CartWithStatus {
    #[sqlx(flatten)]
    pub cart: CartRow,
    pub status: String,
}

/// A cart in any status (checkout tells a converted cart from a missing one), with its status.
pub async fn cart_any_status(
    ex: impl Executor<'_, Database = Any>,
    id: &str,
) -> Result<Option<CartWithStatus>, sqlx::Error> {
    const SQL: &str = "SELECT id, customer_id, token_hash, email, shipping_address, status FROM carts WHERE id = $1";
    sqlx::query_as(SQL).bind(id).fetch_optional(ex).await
}

/// Checkout's end of a cart, in its transaction: false when it is no longer active (another
/// checkout of the same cart converted it first).
pub(crate) async fn convert_cart(tx: &mut crate::db::Tx, cart_id: &str, now: i64) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("UPDATE carts SET status = 'converted', updated_at = $1 WHERE id = $2 AND status = 'active'")
            .bind(now)
            .bind(cart_id)
            .execute(&mut **tx)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Lines in the order they were first added.
pub(crate) async fn lines(ex: impl Executor<'_, Database = Any>, cart_id: &str) -> Result<Vec<LineRow>, sqlx::Error> {
    sqlx::query_as("SELECT id, variant_id, quantity FROM cart_lines WHERE cart_id = $1 ORDER BY created_at, id")
        .bind(cart_id)
        .fetch_all(ex)
        .await
}

pub async fn insert_line(
    ex: impl Executor<'_, Database = Any>,
    id: &str,
    cart_id: &str,
    variant_id: &str,
    quantity: i64,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("INSERT INTO cart_lines (id, cart_id, variant_id, quantity, created_at) VALUES ($1, $2, $3, $4, $5)")
        .bind(id)
        .bind(cart_id)
        .bind(variant_id)
        .bind(quantity)
        .bind(now)
        .execute(ex)
        .await?;
    Ok(())
}

/// Rows changed: 0 when the line is not on this cart.
pub async fn set_quantity(
    ex: impl Executor<'_, Database = Any>,
    cart_id: &str,
    line_id: &str,
    quantity: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("UPDATE cart_lines SET quantity = $1 WHERE id = $2 AND cart_id = $3")
        .bind(quantity)
        .bind(line_id)
        .bind(cart_id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}

pub async fn delete_line(
    ex: impl Executor<'_, Database = Any>,
    cart_id: &str,
    line_id: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM cart_lines WHERE id = $1 AND cart_id = $2")
        .bind(line_id)
        .bind(cart_id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}

/// Sets what is given (`None` keeps the stored value) and marks the cart changed.
pub async fn set_details(
    ex: impl Executor<'_, Database = Any>,
    cart_id: &str,
    email: Option<&str>,
    shipping_address: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE carts SET email = COALESCE($1, email), shipping_address = COALESCE($2, shipping_address), \
         updated_at = $3 WHERE id = $4",
    )
    .bind(email)
    .bind(shipping_address)
    .bind(now)
    .bind(cart_id)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn touch(ex: impl Executor<'_, Database = Any>, cart_id: &str, now: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE carts SET updated_at = $1 WHERE id = $2").bind(now).bind(cart_id).execute(ex).await?;
    Ok(())
}

/// Deletes carts idle since before `before` (their lines go by the cascade).
pub async fn delete_idle(ex: impl Executor<'_, Database = Any>, before: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM carts WHERE updated_at < $1").bind(before).execute(ex).await?;
    Ok(done.rows_affected())
}

/// The cart's coupon codes in the order they were added.
pub(crate) async fn coupons(ex: impl Executor<'_, Database = Any>, cart_id: &str) -> Result<Vec<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT code FROM cart_coupons WHERE cart_id = $1 ORDER BY created_at, code_key")
        .bind(cart_id)
        .fetch_all(ex)
        .await
}

/// Adds a code; one already there (in any case) is left as it is.
pub async fn insert_coupon(
    ex: impl Executor<'_, Database = Any>,
    cart_id: &str,
    code: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO cart_coupons (cart_id, code, code_key, created_at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
    )
    .bind(cart_id)
    .bind(code)
    .bind(code.to_ascii_uppercase())
    .bind(now)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn delete_coupon(
    ex: impl Executor<'_, Database = Any>,
    cart_id: &str,
    code: &str,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM cart_coupons WHERE cart_id = $1 AND code_key = $2")
        .bind(cart_id)
        .bind(code.to_ascii_uppercase())
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}

// ---- Merge on login (issue 10, item 4) ----

/// Gives an active guest cart to `customer_id` (its token stops working). 0 rows when it is no
/// longer an active guest cart; on PostgreSQL a unique violation when the customer got an active
/// cart meanwhile (the caller retries as a merge).
pub async fn adopt_guest_cart(
    ex: impl Executor<'_, Database = Any>,
    cart_id: &str,
    customer_id: &str,
    now: i64,
) -> Result<u64, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE carts SET customer_id = $1, token_hash = NULL, updated_at = $2 \
         WHERE id = $3 AND status = 'active' AND customer_id IS NULL",
    )
    .bind(customer_id)
    .bind(now)
    .bind(cart_id)
    .execute(ex)
    .await?;
    Ok(done.rows_affected())
}

/// Closes a guest cart whose lines went into a customer's cart: no route opens it again, and the
/// cleanup job deletes it once idle.
pub async fn close_merged(ex: impl Executor<'_, Database = Any>, cart_id: &str, now: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("UPDATE carts SET status = 'merged', updated_at = $1 WHERE id = $2 AND status = 'active'")
        .bind(now)
        .bind(cart_id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}

/// Copies `from`'s coupon codes onto `to`; a code already there (in any case) stays as it is.
pub async fn copy_coupons(
    ex: impl Executor<'_, Database = Any>,
    from: &str,
    to: &str,
    now: i64,
) -> Result<(), sqlx::Error> {
    // SQLite needs the WHERE clause here: without one, `ON CONFLICT` after `INSERT … SELECT`
    // is parsed as a join constraint.
    sqlx::query(
        "INSERT INTO cart_coupons (cart_id, code, code_key, created_at) \
         SELECT $1, code, code_key, $2 FROM cart_coupons WHERE cart_id = $3 ON CONFLICT DO NOTHING",
    )
    .bind(to)
    .bind(now)
    .bind(from)
    .execute(ex)
    .await?;
    Ok(())
}

/// Keeps the cart's shipping address if it has one, else takes `address` (the guest cart's), and
/// marks the cart changed.
pub async fn keep_or_set_address(
    ex: impl Executor<'_, Database = Any>,
    cart_id: &str,
    address: Option<&str>,
    now: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE carts SET shipping_address = COALESCE(shipping_address, $1), updated_at = $2 WHERE id = $3")
        .bind(address)
        .bind(now)
        .bind(cart_id)
        .execute(ex)
        .await?;
    Ok(())
}
