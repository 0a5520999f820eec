//! The shop's side of `webhook_matched`: paid orders written straight into the engine's
//! database, and what processing the events for them did.
//!
//! Placing and paying that many orders over HTTP would need a gateway to capture with; an order
//! as checkout and a settled payment leave it is three rows, so the bench writes those: the
//! order (`paid`, with the snapshots its reads decode strictly), its `payments` row (`captured`
//! by the payment the events report) and its `payment_sessions` row (the gateway order the
//! events name, which is how intake matches an event to its order). No items, history or stock:
//! the webhook path never reads them.

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use commerce_engine::ids::new_id;
use sqlx::{AnyConnection, Connection as _};

use super::PROVIDER;

/// Every paid order's total, in paise: what its payment captured.
pub const TOTAL: i64 = 50_000;
pub const CURRENCY: &str = "INR";
/// Order numbers of the seeded orders start here, far above the ones checkout hands out
/// (from 1001); no checkout runs in this suite anyway.
const FIRST_NUMBER: i64 = 900_000;
/// The cart address snapshot, as `orders::store` decodes it (`carts::model::CartAddress`).
const SHIPPING_ADDRESS: &str = r#"{"first_name":"B","last_name":"B","line1":"1 Road","line2":null,"city":"Pune","region":"MH","postal_code":"411001","country":"IN","phone":null}"#;
/// `settle`'s note for a payment that paid its order already (`Settled::AlreadyPaid`).
pub const ALREADY_PAID: &str = "alreadypaid";

pub async fn connect(database_url: &str) -> anyhow::Result<AnyConnection> {
    sqlx::any::install_default_drivers();
    AnyConnection::connect(database_url).await.context("connecting to the engine's database")
}

/// Writes paid orders `0..count`, each with its captured payment and its gateway order, in one
/// transaction.
pub async fn seed(database_url: &str, count: usize) -> anyhow::Result<()> {
    let mut db = connect(database_url).await?;
    let now = i64::try_from(SystemTime::now().duration_since(UNIX_EPOCH)?.as_millis())?;
    let mut tx = db.begin().await?;
    for i in 0..count {
        let order_id = new_id("ord");
        let number = FIRST_NUMBER + i64::try_from(i)?;
        sqlx::query(
            "INSERT INTO orders (id, number, customer_id, cart_id, email, status, currency, subtotal, discount_total, \
             shipping_total, tax_total, fee_total, total, shipping_address, adjustments, coupon_codes, \
             pricing_version, payment_provider, refunded_total, paid_at, expires_at, created_at, updated_at) \
             VALUES ($1, $2, NULL, $3, $4, 'paid', $5, $6, 0, 0, 0, 0, $6, $7, '[]', '[]', 'bench', $8, 0, $9, NULL, \
             $9, $9)",
        )
        .bind(&order_id)
        .bind(number)
        .bind(new_id("cart"))
        .bind(format!("paid{i}@bench.example"))
        .bind(CURRENCY)
        .bind(TOTAL)
        .bind(SHIPPING_ADDRESS)
        .bind(PROVIDER)
        .bind(now)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("seeding paid order {i}"))?;
        sqlx::query(
            "INSERT INTO payments (order_id, provider, amount, currency, state, gateway_payment_id, claimed_at, \
             captured_at, review, created_at, updated_at) VALUES ($1, $2, $3, $4, 'captured', $5, $6, $6, NULL, $6, $6)",
        )
        .bind(&order_id)
        .bind(PROVIDER)
        .bind(TOTAL)
        .bind(CURRENCY)
        .bind(super::matched_payment_id(i))
        .bind(now)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("seeding the payment of paid order {i}"))?;
        sqlx::query(
            "INSERT INTO payment_sessions (provider, gateway_order_id, order_id, client_payload, created_at) \
             VALUES ($1, $2, $3, '{}', $4)",
        )
        .bind(PROVIDER)
        .bind(super::matched_gateway_order_id(i))
        .bind(&order_id)
        .bind(now)
        .execute(&mut *tx)
        .await
        .with_context(|| format!("seeding the gateway order of paid order {i}"))?;
    }
    tx.commit().await.context("committing the paid orders")?;
    let _ = db.close().await;
    Ok(())
}

/// Waits for the engine to process the webhook event `event_id` (processed, or a failed attempt
/// noted) and returns its state and note.
pub async fn processed(db: &mut AnyConnection, event_id: &str, timeout: Duration) -> anyhow::Result<(String, String)> {
    let started = Instant::now();
    loop {
        let row: Option<(String, Option<String>)> =
            sqlx::query_as("SELECT state, note FROM payment_events WHERE provider = $1 AND event_id = $2")
                .bind(PROVIDER)
                .bind(event_id)
                .fetch_optional(&mut *db)
                .await?;
        match row {
            Some((state, note)) if state != "received" || note.is_some() => {
                return Ok((state, note.unwrap_or_default()));
            }
            _ if started.elapsed() > timeout => bail!("event {event_id} was not processed within {timeout:?}"),
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}

/// What processing the events for the paid orders did to them and to the orders.
pub struct Settlement {
    /// Stored events matched to an order of the shop.
    pub matched: i64,
    /// Of those, processed as [`ALREADY_PAID`].
    pub already_paid: i64,
    /// Orders no longer `paid`.
    pub orders_moved: i64,
    /// Status history rows (the seeded orders have none; a status change writes one).
    pub history: i64,
    pub refunds: i64,
    /// Payments no longer `captured`, or flagged for staff.
    pub payments_changed: i64,
}

impl Settlement {
    pub async fn read(db: &mut AnyConnection) -> anyhow::Result<Self> {
        let already_paid = sqlx::query_scalar(
            "SELECT COUNT(*) FROM payment_events WHERE order_id IS NOT NULL AND state = 'processed' AND note = $1",
        )
        .bind(ALREADY_PAID)
        .fetch_one(&mut *db)
        .await
        .context("counting the events settled as already paid")?;
        Ok(Self {
            matched: count(db, "SELECT COUNT(*) FROM payment_events WHERE order_id IS NOT NULL").await?,
            already_paid,
            orders_moved: count(db, "SELECT COUNT(*) FROM orders WHERE status <> 'paid'").await?,
            history: count(db, "SELECT COUNT(*) FROM order_events").await?,
            refunds: count(db, "SELECT COUNT(*) FROM refunds").await?,
            payments_changed: count(
                db,
                "SELECT COUNT(*) FROM payments WHERE state <> 'captured' OR review IS NOT NULL",
            )
            .await?,
        })
    }

    /// Every event settled as already paid, and nothing else changed.
    pub fn ok(&self) -> bool {
        self.matched > 0
            && self.already_paid == self.matched
            && self.orders_moved == 0
            && self.history == 0
            && self.refunds == 0
            && self.payments_changed == 0
    }
}

async fn count(db: &mut AnyConnection, sql: &'static str) -> anyhow::Result<i64> {
    sqlx::query_scalar(sql).fetch_one(db).await.with_context(|| format!("checking: {sql}"))
}
