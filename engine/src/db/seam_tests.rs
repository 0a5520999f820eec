//! The transaction seam: one `Db::begin` transaction spans several domains' stores and commits
//! or rolls back as one. Runs on SQLite, and on PostgreSQL when `TEST_POSTGRES_URL` is set.

use super::{Db, testing::TestDb};
use crate::{accounts, catalog::products, mail::outbox};

/// A product with one variant holding `stock` units (raw SQL: the product store is private to
/// its domain, and this test is about the seam, not about creating products).
async fn variant_with_stock(db: &Db, id: &str, stock: i64) {
    let product = format!("prod_{id}");
    sqlx::query(
        "INSERT INTO products (id, slug, name, name_key, status, currency, created_at, updated_at) \
         VALUES ($1, $2, 'Lamp', 'lamp', 'active', 'INR', 0, 0)",
    )
    .bind(&product)
    .bind(format!("lamp-{id}"))
    .execute(db.pool())
    .await
    .expect("product");
    sqlx::query(
        "INSERT INTO variants (id, product_id, sku, title, combination_key, price, stock, created_at, updated_at) \
         VALUES ($1, $2, $3, '', '', 129900, $4, 0, 0)",
    )
    .bind(id)
    .bind(&product)
    .bind(format!("SKU-{id}"))
    .bind(stock)
    .execute(db.pool())
    .await
    .expect("variant");
}

async fn stock(db: &Db, id: &str) -> i64 {
    sqlx::query_scalar("SELECT stock FROM variants WHERE id = $1").bind(id).fetch_one(db.pool()).await.expect("stock")
}

async fn mails(db: &Db) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM mail_outbox").fetch_one(db.pool()).await.expect("mails")
}

/// Guards issue 10's transaction seam: the catalog's stock decrement and the mail outbox's
/// enqueue run in the caller's one transaction, so a rollback (dropping the `Tx`) undoes both
/// and a commit keeps both. Before the seam the catalog store was private and every product
/// service call opened its own transaction, so checkout could not do this at all.
#[tokio::test]
async fn one_transaction_spans_the_catalog_and_the_outbox_and_rolls_back_as_one() {
    let test = TestDb::migrated().await;
    let db = &test.db;
    variant_with_stock(db, "var_a", 5).await;
    variant_with_stock(db, "var_b", 1).await;

    // Rolled back: two lines taken, a mail queued, then the second line runs short.
    let mut tx = db.begin().await.expect("begin");
    assert_eq!(products::take_stock(&mut tx, "var_a", 2, 1).await.expect("take"), Some(3));
    outbox::enqueue(&mut *tx, "shopper@example.com", "Order placed", "body", 1).await.expect("enqueue");
    assert_eq!(products::take_stock(&mut tx, "var_b", 2, 1).await.expect("take"), None, "only 1 in stock");
    drop(tx);
    assert_eq!((stock(db, "var_a").await, stock(db, "var_b").await, mails(db).await), (5, 1, 0));

    // Committed: both changes land together.
    let mut tx = db.begin().await.expect("begin");
    let locked = products::lock_variants(&mut tx, &["var_b", "var_a", "var_missing"]).await.expect("lock");
    let ids: Vec<_> = locked.iter().map(|v| (v.id.as_str(), v.stock)).collect();
    assert_eq!(ids, [("var_a", 5), ("var_b", 1)], "live variants, in id order");
    assert_eq!(products::take_stock(&mut tx, "var_a", 5, 2).await.expect("take"), Some(0));
    outbox::enqueue(&mut *tx, "shopper@example.com", "Order placed", "body", 2).await.expect("enqueue");
    tx.commit().await.expect("commit");
    assert_eq!((stock(db, "var_a").await, mails(db).await), (0, 1));

    // A variant whose product was archived after pricing is not for sale inside the transaction.
    sqlx::query("UPDATE products SET status = 'archived' WHERE id = 'prod_var_b'")
        .execute(db.pool())
        .await
        .expect("archive");
    let mut tx = db.begin().await.expect("begin");
    let locked = products::lock_variants(&mut tx, &["var_a", "var_b"]).await.expect("lock");
    assert_eq!(locked.iter().map(|v| v.id.as_str()).collect::<Vec<_>>(), ["var_a"], "var_b's product is archived");
    drop(tx);

    // Returned stock, and nothing is ever taken below zero or by a non-positive quantity.
    let mut tx = db.begin().await.expect("begin");
    assert_eq!(products::take_stock(&mut tx, "var_a", 1, 3).await.expect("take"), None);
    assert_eq!(products::take_stock(&mut tx, "var_b", 0, 3).await.expect("take"), None);
    assert_eq!(products::take_stock(&mut tx, "var_b", -1, 3).await.expect("take"), None);
    assert_eq!(products::return_stock(&mut tx, "var_a", 2, 3).await.expect("return"), Some(2));
    assert_eq!(products::return_stock(&mut tx, "var_missing", 2, 3).await.expect("return"), None);
    tx.commit().await.expect("commit");
    assert_eq!((stock(db, "var_a").await, stock(db, "var_b").await), (2, 1));
}

/// The accounts side of the seam: a user read inside the caller's transaction sees that
/// transaction's own writes, and comes back as the domain `User` (no password hash).
#[tokio::test]
async fn a_user_is_read_inside_the_callers_transaction() {
    let test = TestDb::migrated().await;
    let db = &test.db;
    let mut tx = db.begin().await.expect("begin");
    sqlx::query(
        "INSERT INTO users (id, email, password_hash, role, active, first_name, last_name, created_at, updated_at) \
         VALUES ('usr_1', 'ada@example.com', 'x', 'staff', 1, 'Ada', '', 0, 0)",
    )
    .execute(&mut *tx)
    .await
    .expect("user");
    let user = accounts::read_user(&mut tx, "usr_1").await.expect("read").expect("found in the transaction");
    assert_eq!((user.email.as_str(), user.role), ("ada@example.com", accounts::model::Role::Staff));
    assert!(accounts::read_user(&mut tx, "usr_2").await.expect("read").is_none());
    drop(tx);
    assert!(sqlx::query_scalar::<_, String>("SELECT id FROM users").fetch_optional(db.pool()).await.unwrap().is_none());
}
