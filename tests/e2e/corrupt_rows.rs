//! A stored row whose values the engine does not know is an error (an opaque 500 whose cause,
//! naming the column, goes to the log), never a silent default that a later write would keep.

use commerce_engine::db::Backend;
use sqlx::Executor;

use crate::{
    helpers::{TestApp, spawn_app},
    products::{ADMIN_PRODUCTS, id, simple_product},
};

/// Writes a value the table's CHECK constraint refuses, as a newer engine (which allows more
/// values) or a hand edit could have left it: SQLite can skip CHECKs per connection; on
/// PostgreSQL the test drops the constraint (`<table>_<column>_check`) of its own database.
async fn corrupt(app: &TestApp, table: &str, column: &str, value: &str, id: &str) {
    let sql = format!("UPDATE {table} SET {column} = $1 WHERE id = $2");
    let mut conn = app.state.db.pool().acquire().await.expect("connection");
    match app.state.db.backend() {
        Backend::Sqlite => conn.execute("PRAGMA ignore_check_constraints = ON").await.map(|_| ()),
        Backend::Postgres => conn
            .execute(sqlx::AssertSqlSafe(format!(
                "ALTER TABLE {table} DROP CONSTRAINT IF EXISTS {table}_{column}_check"
            )))
            .await
            .map(|_| ()),
    }
    .expect("allow the corrupt value");
    sqlx::query(sqlx::AssertSqlSafe(sql)).bind(value).bind(id).execute(&mut *conn).await.expect("corrupt the row");
    if app.state.db.backend() == Backend::Sqlite {
        conn.execute("PRAGMA ignore_check_constraints = OFF").await.expect("restore CHECKs");
    }
}

/// Guards issue 10 ("a row that fails to decode is an error"): `Role::parse(..).unwrap_or(Customer)`
/// used to read an unknown stored role as `customer`, so the token kept working (200) for an
/// account whose row was corrupted.
#[tokio::test]
async fn a_user_whose_stored_role_is_unknown_gets_an_opaque_500_not_a_customer_session() {
    let app = spawn_app().await;
    let (_, _, tokens) = app.customer().await;
    assert_eq!(app.get("/api/v1/me", Some(&tokens.access)).await.status, 200);

    corrupt(&app, "users", "role", "superuser", &tokens.user_id).await;
    let response = app.get("/api/v1/me", Some(&tokens.access)).await;

    response.assert_problem(500, "internal");
    assert!(!response.text.contains("superuser"), "the stored value stays in the log: {}", response.text);
}

/// Guards issue 10: an unknown product status read as `draft`, and malformed images JSON read as
/// no images; a staff edit would then have written the guess back.
#[tokio::test]
async fn a_product_whose_stored_status_or_images_do_not_parse_is_a_500_not_a_draft() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let product = id(&simple_product(&app, &staff.access, "Brass Lamp", 129_900, 3).await);
    let path = format!("{ADMIN_PRODUCTS}/{product}");

    corrupt(&app, "products", "status", "hidden", &product).await;
    app.get(&path, Some(&staff.access)).await.assert_problem(500, "internal");

    corrupt(&app, "products", "status", "active", &product).await;
    corrupt(&app, "products", "images", "[{\"url\":", &product).await;
    app.get(&path, Some(&staff.access)).await.assert_problem(500, "internal");
    app.get(&format!("/api/v1/products/{product}"), None).await.assert_problem(500, "internal");
}
