//! The order, its items and its status history: inserts (inside checkout's transaction) and
//! reads.

use sqlx::{Any, Executor};

use self::json_text::ToJsonText as _;

use crate::{
    db::Tx,
    orders::model::{Order, OrderItem, OrderStatus, StatusChange},
};

pub const ORDER_COLUMNS: &str = "id, number, customer_id, cart_id, email, status, currency, subtotal, discount_total, \
     shipping_total, tax_total, fee_total, total, shipping_address, adjustments, coupon_codes, pricing_version, \
     payment_provider, refunded_total, paid_at, expires_at, created_at, updated_at";

const ITEM_COLUMNS: &str = "id, position, variant_id, product_id, sku, title, variant_title, quantity, unit_price, \
     subtotal, discount, net, tax, total, adjustments";

/// The next order number: a sequence on PostgreSQL (instances never wait on one another; a
/// rolled-back checkout leaves a gap), a counter row on SQLite (the transaction already holds the
/// only write lock).
pub async fn next_number(tx: &mut Tx) -> sqlx::Result<i64> {
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query_scalar("SELECT nextval('order_numbers')").fetch_one(&mut **tx).await
    } else {
        sqlx::query_scalar("UPDATE order_numbers SET value = value + 1 WHERE name = 'orders' RETURNING value")
            .fetch_one(&mut **tx)
            .await
    }
}

/// Inserts the order row as given (`status`, totals, snapshots as JSON text already encoded).
pub async fn insert_order(tx: &mut Tx, order: &Order) -> sqlx::Result<()> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "INSERT INTO orders ({ORDER_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, \
         $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
    )))
    .bind(&order.id)
    .bind(order.number)
    .bind(&order.customer_id)
    .bind(&order.cart_id)
    .bind(&order.email)
    .bind(order.status.as_str())
    .bind(&order.currency)
    .bind(order.subtotal)
    .bind(order.discount_total)
    .bind(order.shipping_total)
    .bind(order.tax_total)
    .bind(order.fee_total)
    .bind(order.total)
    .bind(order.shipping_address.0.to_text()?)
    .bind(order.adjustments.0.to_text()?)
    .bind(order.coupon_codes.0.to_text()?)
    .bind(&order.pricing_version)
    .bind(&order.payment_provider)
    .bind(order.refunded_total)
    .bind(order.paid_at)
    .bind(order.expires_at)
    .bind(order.created_at)
    .bind(order.updated_at)
    .execute(&mut **tx)
    .await?;
    Ok(())
}

/// Inserts the items, one statement per item (an order has at most `carts.max_lines`).
pub async fn insert_items(tx: &mut Tx, order_id: &str, items: &[OrderItem]) -> sqlx::Result<()> {
    for item in items {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO order_items (order_id, {ITEM_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, \
             $11, $12, $13, $14, $15, $16)"
        )))
        .bind(order_id)
        .bind(&item.id)
        .bind(item.position)
        .bind(&item.variant_id)
        .bind(&item.product_id)
        .bind(&item.sku)
        .bind(&item.title)
        .bind(&item.variant_title)
        .bind(item.quantity)
        .bind(item.unit_price)
        .bind(item.subtotal)
        .bind(item.discount)
        .bind(item.net)
        .bind(item.tax)
        .bind(item.total)
        .bind(item.adjustments.0.to_text()?)
        .execute(&mut **tx)
        .await?;
    }
    Ok(())
}

/// Appends to the status history.
pub async fn insert_event(
    ex: impl Executor<'_, Database = Any>,
    order_id: &str,
    at: i64,
    actor: &str,
    from: Option<OrderStatus>,
    to: OrderStatus,
    reason: Option<&str>,
) -> sqlx::Result<()> {
    sqlx::query(
        "INSERT INTO order_events (id, order_id, at, actor, from_status, to_status, reason) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(crate::ids::new_id("oev"))
    .bind(order_id)
    .bind(at)
    .bind(actor)
    .bind(from.map(OrderStatus::as_str))
    .bind(to.as_str())
    .bind(reason)
    .execute(ex)
    .await?;
    Ok(())
}

pub async fn order(ex: impl Executor<'_, Database = Any>, id: &str) -> sqlx::Result<Option<Order>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!("SELECT {ORDER_COLUMNS} FROM orders WHERE id = $1")))
        .bind(id)
        .fetch_optional(ex)
        .await
}

pub async fn items(ex: impl Executor<'_, Database = Any>, order_id: &str) -> sqlx::Result<Vec<OrderItem>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ITEM_COLUMNS} FROM order_items WHERE order_id = $1 ORDER BY position"
    )))
    .bind(order_id)
    .fetch_all(ex)
    .await
}

pub async fn history(ex: impl Executor<'_, Database = Any>, order_id: &str) -> sqlx::Result<Vec<StatusChange>> {
    sqlx::query_as(
        "SELECT at, actor, from_status, to_status, reason FROM order_events WHERE order_id = $1 ORDER BY at, id",
    )
    .bind(order_id)
    .fetch_all(ex)
    .await
}

/// A customer's orders, newest first (ids are time-ordered ULIDs), after the cursor's id.
pub async fn customer_orders(
    ex: impl Executor<'_, Database = Any>,
    customer_id: &str,
    before_id: Option<&str>,
    limit: i64,
) -> sqlx::Result<Vec<Order>> {
    sqlx::query_as(sqlx::AssertSqlSafe(format!(
        "SELECT {ORDER_COLUMNS} FROM orders WHERE customer_id = $1 AND ($2 IS NULL OR id < $2) \
         ORDER BY id DESC LIMIT $3"
    )))
    .bind(customer_id)
    .bind(before_id)
    .bind(limit)
    .fetch_all(ex)
    .await
}

/// Items of several orders at once (a list page), in order and position.
pub async fn items_of(
    ex: impl Executor<'_, Database = Any>,
    order_ids: &[&str],
) -> sqlx::Result<Vec<(String, OrderItem)>> {
    rows_of_orders(ex, &format!("{ITEM_COLUMNS} FROM order_items"), "position", order_ids).await
}

/// Status histories of several orders at once.
pub async fn histories_of(
    ex: impl Executor<'_, Database = Any>,
    order_ids: &[&str],
) -> sqlx::Result<Vec<(String, StatusChange)>> {
    let from = "at, actor, from_status, to_status, reason FROM order_events";
    rows_of_orders(ex, from, "at, id", order_ids).await
}

/// `SELECT order_id, <columns_from> WHERE order_id IN (…) ORDER BY order_id, <order_by>`: one
/// statement for a whole page of orders, each row with the order it belongs to.
pub(crate) async fn rows_of_orders<T>(
    ex: impl Executor<'_, Database = Any>,
    columns_from: &str,
    order_by: &str,
    order_ids: &[&str],
) -> sqlx::Result<Vec<(String, T)>>
where
    T: for<'r> sqlx::FromRow<'r, sqlx::any::AnyRow>,
{
    if order_ids.is_empty() {
        return Ok(Vec::new());
    }
    let placeholders: Vec<String> = (1..=order_ids.len()).map(|i| format!("${i}")).collect();
    let sql = format!(
        "SELECT order_id, {columns_from} WHERE order_id IN ({}) ORDER BY order_id, {order_by}",
        placeholders.join(", ")
    );
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for id in order_ids {
        query = query.bind(*id);
    }
    let rows = query.fetch_all(ex).await?;
    rows.iter()
        .map(|row| {
            use sqlx::Row;
            Ok((row.try_get::<String, _>("order_id")?, T::from_row(row)?))
        })
        .collect()
}

/// Makes the checkouts of one shopper (`key`: a customer id or a guest's email) take turns for
/// the rest of the caller's transaction, so two of them cannot both see the last unpaid slot
/// free and both take it (`orders.max_unpaid`). On PostgreSQL a transaction-scoped advisory lock
/// on the key's hash (a collision only makes two shoppers take turns); SQLite needs none, as the
/// transaction from `Db::begin` holds the database's write lock. Taken before the variant locks,
/// always in that order, so it adds no deadlock.
pub(crate) async fn lock_shopper(tx: &mut crate::db::Tx, key: &str) -> sqlx::Result<()> {
    if tx.backend_name() == "PostgreSQL" {
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))").bind(key).execute(&mut **tx).await?;
    }
    Ok(())
}

/// Unpaid orders of a customer (by id) or a guest (by email), for `orders.max_unpaid`.
pub async fn unpaid_count(
    ex: impl Executor<'_, Database = Any>,
    customer_id: Option<&str>,
    email: &str,
) -> sqlx::Result<i64> {
    match customer_id {
        Some(customer) => {
            sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE customer_id = $1 AND status = 'pending_payment'")
                .bind(customer)
                .fetch_one(ex)
                .await
        }
        None => {
            sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE email = $1 AND status = 'pending_payment'")
                .bind(email)
                .fetch_one(ex)
                .await
        }
    }
}

/// The customer's orders that reached `paid` (pricing's "earlier orders").
pub async fn paid_count(ex: impl Executor<'_, Database = Any>, customer_id: &str) -> sqlx::Result<i64> {
    sqlx::query_scalar("SELECT COUNT(*) FROM orders WHERE customer_id = $1 AND paid_at IS NOT NULL")
        .bind(customer_id)
        .fetch_one(ex)
        .await
}

/// JSON text of a snapshot. A serialisation failure of our own types is an encode error.
mod json_text {
    pub trait ToJsonText {
        fn to_text(&self) -> sqlx::Result<String>;
    }

    impl<T: serde::Serialize> ToJsonText for T {
        fn to_text(&self) -> sqlx::Result<String> {
            serde_json::to_string(self).map_err(|e| sqlx::Error::Encode(Box::new(e)))
        }
    }
}
