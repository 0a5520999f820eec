//! The in-memory cache of storefront list pages: hot pages skip the database, a committed staff
//! change on the instance shows at once (a refused or read-only request does not clear it),
//! pages expire after `catalog.list_cache_ttl`, and `"0s"` turns the cache off.

use std::time::Duration;

use serde_json::json;

use crate::{helpers::*, products::simple_product};

async fn names(app: &TestApp) -> Vec<String> {
    let page = app.get("/api/v1/products?limit=100", None).await;
    assert_eq!(page.status, 200, "{}", page.text);
    page.body["items"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect()
}

/// Renames a product behind the engine's back, as another instance would.
async fn rename_in_database(app: &TestApp, product_id: &str, name: &str) {
    sqlx::query("UPDATE products SET name = $1 WHERE id = $2")
        .bind(name)
        .bind(product_id)
        .execute(app.state.db.pool())
        .await
        .unwrap();
}

#[tokio::test]
async fn a_cached_page_is_served_until_a_staff_change_on_this_instance() {
    let app = spawn_app_with(|cfg| cfg.catalog.list_cache_ttl = Duration::from_secs(60)).await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 1000, 1).await;
    let lamp_id = lamp["id"].as_str().unwrap();
    assert_eq!(names(&app).await, ["Lamp"]);

    // Another instance's change is not seen while the page is cached…
    rename_in_database(&app, lamp_id, "Renamed elsewhere").await;
    assert_eq!(names(&app).await, ["Lamp"]);

    // …but any staff change here clears the cache at once.
    simple_product(&app, &staff.access, "Chair", 2000, 1).await;
    let mut seen = names(&app).await;
    seen.sort();
    assert_eq!(seen, ["Chair", "Renamed elsewhere"]);
}

/// Guards: the expiry claim was untested; pages now expire on the engine's (manual) clock.
#[tokio::test]
async fn a_cached_page_expires_after_the_ttl() {
    let app = spawn_app_with(|cfg| cfg.catalog.list_cache_ttl = Duration::from_secs(60)).await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 1000, 1).await;
    assert_eq!(names(&app).await, ["Lamp"]);
    rename_in_database(&app, lamp["id"].as_str().unwrap(), "Renamed elsewhere").await;

    app.clock.advance(Duration::from_secs(59));
    assert_eq!(names(&app).await, ["Lamp"], "still within the TTL");
    app.clock.advance(Duration::from_secs(1));
    assert_eq!(names(&app).await, ["Renamed elsewhere"], "expired after 60 s");
}

/// Guards: any non-GET under /api/v1/admin/ used to clear the cache, even an anonymous 401,
/// a refused write and the read-only pricing preview; only a committed write clears it now.
#[tokio::test]
async fn refused_and_read_only_admin_requests_leave_the_cache_alone() {
    let app = spawn_app_with(|cfg| cfg.catalog.list_cache_ttl = Duration::from_secs(60)).await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 1000, 1).await;
    let variant = lamp["variants"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(names(&app).await, ["Lamp"]);
    rename_in_database(&app, lamp["id"].as_str().unwrap(), "Renamed elsewhere").await;

    let anonymous = app.post("/api/v1/admin/products", None, json!({"name": "X", "price": 1, "sku": "X-1"})).await;
    assert_eq!(anonymous.status, 401, "{}", anonymous.text);
    let refused = app.post("/api/v1/admin/products", Some(&staff.access), json!({"name": "", "price": -1})).await;
    assert_eq!(refused.status, 422, "{}", refused.text);
    let too_few = app
        .patch(&format!("/api/v1/admin/variants/{variant}"), Some(&staff.access), json!({"stock_adjustment": -5}))
        .await;
    assert_eq!(too_few.status, 409, "{}", too_few.text);
    let preview = app
        .post(
            "/api/v1/admin/pricing/preview",
            Some(&staff.access),
            json!({"lines": [{"variant_id": variant, "quantity": 1}]}),
        )
        .await;
    assert_eq!(preview.status, 200, "{}", preview.text);
    assert_eq!(names(&app).await, ["Lamp"], "nothing was written");

    let renamed = app
        .patch(
            &format!("/api/v1/admin/products/{}", lamp["id"].as_str().unwrap()),
            Some(&staff.access),
            json!({"name": "Lamp 2"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.text);
    assert_eq!(names(&app).await, ["Lamp 2"]);
}

#[tokio::test]
async fn a_zero_ttl_turns_the_cache_off() {
    let app = spawn_app_with(|cfg| cfg.catalog.list_cache_ttl = Duration::ZERO).await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 1000, 1).await;
    assert_eq!(names(&app).await, ["Lamp"]);
    rename_in_database(&app, lamp["id"].as_str().unwrap(), "Renamed elsewhere").await;
    assert_eq!(names(&app).await, ["Renamed elsewhere"]);
}

#[tokio::test]
async fn stock_changes_by_staff_show_on_cards_at_once() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 1000, 1).await;
    let card = |body: &serde_json::Value| body["items"][0]["in_stock"].as_bool().unwrap();
    assert!(card(&app.get("/api/v1/products", None).await.body));
    let variant = lamp["variants"][0]["id"].as_str().unwrap();
    let r = app
        .patch(&format!("/api/v1/admin/variants/{variant}"), Some(&staff.access), json!({"stock_adjustment": -1}))
        .await;
    assert_eq!(r.status, 200, "{}", r.text);
    assert!(!card(&app.get("/api/v1/products", None).await.body));
}
