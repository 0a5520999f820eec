//! Cart SQL (portable subset: `$N`, `ON CONFLICT`, conditional updates).

use sqlx::{Any, Executor, FromRow};

#[derive(Debug, Clone, FromRow)]
pub struct CartRow {
    pub id: String,
    pub customer_id: Option<String>,
    pub token_hash: Option<String>,
    pub email: Option<String>,
    pub shipping_address: Option<String>,
    /// Raised by every change (see `open_for_change`); priced carts are cached by it.
    pub version: i64,
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
    /// What a cart merge wanted when it capped this line (see `mark_capped`); cleared by the
    /// line's next change.
    pub merge_wanted: Option<i64>,
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
    const SQL: &str = "SELECT id, customer_id, token_hash, email, shipping_address, version FROM carts \
                       WHERE customer_id = $1 AND status = 'active'";
    sqlx::query_as(SQL).bind(customer_id).fetch_optional(ex).await
}

pub async fn active_cart(ex: impl Executor<'_, Database = Any>, id: &str) -> Result<Option<CartRow>, sqlx::Error> {
    const SQL: &str = "SELECT id, customer_id, token_hash, email, shipping_address, version FROM carts \
                       WHERE id = $1 AND status = 'active'";
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
    const SQL: &str =
        "SELECT id, customer_id, token_hash, email, shipping_address, version, status FROM carts WHERE id = $1";
    sqlx::query_as(SQL).bind(id).fetch_optional(ex).await
}

/// Checkout's end of a cart, in its transaction, as its first statement: converts the cart only
/// if it is still active and at `version` (the one checkout priced: any change to lines or codes
/// raised it). On PostgreSQL the row lock is then held to the commit. False when it was not
/// converted; [`cart_is_active`] tells "changed" from "already converted".
pub(crate) async fn convert_cart(
    tx: &mut crate::db::Tx,
    cart_id: &str,
    version: i64,
    now: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE carts SET status = 'converted', version = version + 1, updated_at = $1 \
         WHERE id = $2 AND status = 'active' AND version = $3",
    )
    .bind(now)
    .bind(cart_id)
    .bind(version)
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(crate) async fn cart_is_active(ex: impl Executor<'_, Database = Any>, cart_id: &str) -> Result<bool, sqlx::Error> {
    let status: Option<String> =
        sqlx::query_scalar("SELECT status FROM carts WHERE id = $1").bind(cart_id).fetch_optional(ex).await?;
    Ok(status.as_deref() == Some("active"))
}

/// The cart's version (any status); `None` when the cart is gone.
pub(crate) async fn cart_version(
    ex: impl Executor<'_, Database = Any>,
    cart_id: &str,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar("SELECT version FROM carts WHERE id = $1").bind(cart_id).fetch_optional(ex).await
}

/// Lines in the order they were first added.
pub(crate) async fn lines(ex: impl Executor<'_, Database = Any>, cart_id: &str) -> Result<Vec<LineRow>, sqlx::Error> {
    sqlx::query_as(
        "SELECT id, variant_id, quantity, merge_wanted FROM cart_lines WHERE cart_id = $1 ORDER BY created_at, id",
    )
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
    let done = sqlx::query("UPDATE cart_lines SET quantity = $1, merge_wanted = NULL WHERE id = $2 AND cart_id = $3")
        .bind(quantity)
        .bind(line_id)
        .bind(cart_id)
        .execute(ex)
        .await?;
    Ok(done.rows_affected())
}

/// Records that a cart merge wanted `wanted` units on the line and had to give fewer, so the
/// cart says so (a `quantity_capped` notice) until the line is next changed.
pub async fn mark_capped(ex: impl Executor<'_, Database = Any>, line_id: &str, wanted: i64) -> Result<(), sqlx::Error> {
    sqlx::query("UPDATE cart_lines SET merge_wanted = $1 WHERE id = $2").bind(wanted).bind(line_id).execute(ex).await?;
    Ok(())
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

/// Sets what is given (`None` keeps the stored value) and returns the row as it now is.
pub async fn set_details(
    ex: impl Executor<'_, Database = Any>,
    cart_id: &str,
    email: Option<&str>,
    shipping_address: Option<&str>,
    now: i64,
) -> Result<CartRow, sqlx::Error> {
    sqlx::query_as(
        "UPDATE carts SET email = COALESCE($1, email), shipping_address = COALESCE($2, shipping_address), \
         updated_at = $3 WHERE id = $4 RETURNING id, customer_id, token_hash, email, shipping_address, version",
    )
    .bind(email)
    .bind(shipping_address)
    .bind(now)
    .bind(cart_id)
    .fetch_one(ex)
    .await
}

/// The first statement of a line change: bumps the active cart `id` and returns its row as it
/// now is, or `None` when there is no such active cart. On PostgreSQL the update holds the row
/// lock for the rest of the transaction, so two changes of one cart run one after the other (on
/// SQLite, `Db::begin` holds the database's write lock). The caller checks ownership and drops
/// the transaction (rolling the bump back) when the caller does not own it.
pub(crate) async fn open_for_change(
    tx: &mut crate::db::Tx,
    id: &str,
    now: i64,
) -> Result<Option<CartRow>, sqlx::Error> {
    sqlx::query_as(
        "UPDATE carts SET version = version + 1, updated_at = $1 WHERE id = $2 AND status = 'active' \
         RETURNING id, customer_id, token_hash, email, shipping_address, version",
    )
    .bind(now)
    .bind(id)
    .fetch_optional(&mut **tx)
    .await
}

/// Adds `quantity` units of a variant: a new line, or more on the variant's existing line (one
/// line per variant: `UNIQUE (cart_id, variant_id)`). Returns the line's quantity now.
pub async fn add_to_line(
    ex: impl Executor<'_, Database = Any>,
    new_line_id: &str,
    cart_id: &str,
    variant_id: &str,
    quantity: i64,
    now: i64,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar(
        "INSERT INTO cart_lines (id, cart_id, variant_id, quantity, created_at) VALUES ($1, $2, $3, $4, $5) \
         ON CONFLICT (cart_id, variant_id) DO UPDATE SET quantity = cart_lines.quantity + excluded.quantity, \
         merge_wanted = NULL \
         RETURNING quantity",
    )
    .bind(new_line_id)
    .bind(cart_id)
    .bind(variant_id)
    .bind(quantity)
    .bind(now)
    .fetch_one(ex)
    .await
}

/// How many lines the cart has.
pub async fn line_count(ex: impl Executor<'_, Database = Any>, cart_id: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar("SELECT COUNT(*) FROM cart_lines WHERE cart_id = $1").bind(cart_id).fetch_one(ex).await
}

/// Deletes carts idle since before `before` (their lines go by the cascade).
pub async fn delete_idle(ex: impl Executor<'_, Database = Any>, before: i64) -> Result<u64, sqlx::Error> {
    let done = sqlx::query("DELETE FROM carts WHERE updated_at < $1").bind(before).execute(ex).await?;
    Ok(done.rows_affected())
}

/// A cart's lines (in the order they were first added) and coupon codes (in the order they
/// were added), in one statement: a cart read is one round trip instead of two.
pub(crate) async fn contents(
    ex: impl Executor<'_, Database = Any>,
    cart_id: &str,
) -> Result<(Vec<LineRow>, Vec<String>), sqlx::Error> {
    #[derive(FromRow)]
    struct Item {
        kind: String,
        key: String,
        value: String,
        quantity: i64,
        merge_wanted: Option<i64>,
    }
    let items: Vec<Item> = sqlx::query_as(
        "SELECT 'line' AS kind, id AS key, variant_id AS value, quantity, merge_wanted, created_at FROM cart_lines \
         WHERE cart_id = $1 \
         UNION ALL \
         SELECT 'code' AS kind, code_key AS key, code AS value, 0 AS quantity, NULL AS merge_wanted, created_at \
         FROM cart_coupons \
         WHERE cart_id = $1 \
         ORDER BY kind, created_at, key",
    )
    .bind(cart_id)
    .fetch_all(ex)
    .await?;
    let (mut lines, mut codes) = (Vec::new(), Vec::new());
    for item in items {
        match item.kind.as_str() {
            "line" => lines.push(LineRow {
                id: item.key,
                variant_id: item.value,
                quantity: item.quantity,
                merge_wanted: item.merge_wanted,
            }),
            _ => codes.push(item.value),
        }
    }
    Ok((lines, codes))
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
        "UPDATE carts SET customer_id = $1, token_hash = NULL, version = version + 1, updated_at = $2 \
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
    sqlx::query(
        "UPDATE carts SET shipping_address = COALESCE(shipping_address, $1), version = version + 1, updated_at = $2 \
         WHERE id = $3",
    )
    .bind(address)
    .bind(now)
    .bind(cart_id)
    .execute(ex)
    .await?;
    Ok(())
}
