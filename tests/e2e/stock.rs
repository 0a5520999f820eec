//! Stock on `PATCH /api/v1/admin/variants/{id}`: `stock` sets it, `stock_adjustment` adds to it
//! atomically and never below zero (409 `insufficient_stock` with `available`), and 100
//! concurrent decrements of a stock of 50 end at exactly 0 with 50 refused.

use serde_json::{Value, json};

use crate::{
    helpers::*,
    products::{PRODUCTS, admin_product, card_of, create_product, id, patch_variant, simple_product, sku},
};

/// A simple product with `stock`; returns (product id, variant id).
async fn stocked(app: &TestApp, token: &str, stock: i64) -> (String, String) {
    let product = simple_product(app, token, "Stocked", 1000, stock).await;
    (id(&product), id(&product["variants"][0]))
}

async fn stock_of(app: &TestApp, token: &str, product_id: &str) -> i64 {
    admin_product(app, token, product_id).await["variants"][0]["stock"].as_i64().expect("stock")
}

#[tokio::test]
async fn setting_stock_replaces_it_and_the_storefront_follows() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let (product, variant) = stocked(&app, &s, 5).await;

    let response = patch_variant(&app, &s, &variant, json!({"stock": 12})).await;

    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["stock"], 12);
    assert_eq!(response.body["in_stock"], true);
    assert_eq!(response.body["id"], variant.as_str());
    assert_eq!(stock_of(&app, &s, &product).await, 12);

    let response = patch_variant(&app, &s, &variant, json!({"stock": 0})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["stock"], 0);
    assert_eq!(response.body["in_stock"], false);
    let page = app.get(&format!("{PRODUCTS}/{product}"), None).await;
    assert_eq!(page.body["variants"][0]["in_stock"], false);
    assert_eq!(page.body["in_stock"], false);
    assert_eq!(card_of(&app, &product).await.unwrap()["in_stock"], false);
    assert!(!page.text.contains("\"stock\""), "no stock levels on the storefront: {}", page.text);

    let response = patch_variant(&app, &s, &variant, json!({"stock": 3})).await;
    assert_eq!(response.body["stock"], 3);
    assert_eq!(card_of(&app, &product).await.unwrap()["in_stock"], true);
}

#[tokio::test]
async fn a_stock_adjustment_adds_to_or_takes_from_the_current_stock() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let (product, variant) = stocked(&app, &s, 10).await;

    let response = patch_variant(&app, &s, &variant, json!({"stock_adjustment": 5})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["stock"], 15);

    let response = patch_variant(&app, &s, &variant, json!({"stock_adjustment": -4})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["stock"], 11);

    let response = patch_variant(&app, &s, &variant, json!({"stock_adjustment": 0})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["stock"], 11, "zero changes nothing");

    let response = patch_variant(&app, &s, &variant, json!({"stock_adjustment": -11})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["stock"], 0, "down to exactly zero is allowed");
    assert_eq!(response.body["in_stock"], false);
    assert_eq!(stock_of(&app, &s, &product).await, 0);

    // Together with other fields.
    let response = patch_variant(&app, &s, &variant, json!({"stock_adjustment": 2, "price": 1500})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["stock"], 2);
    assert_eq!(response.body["price"], 1500);
}

#[tokio::test]
async fn an_adjustment_below_zero_is_409_insufficient_stock_with_the_available_units() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let (product, variant) = stocked(&app, &s, 3).await;

    let response = patch_variant(&app, &s, &variant, json!({"stock_adjustment": -4})).await;

    response.assert_problem(409, "insufficient_stock");
    assert_eq!(response.body["available"], 3, "{}", response.text);
    assert_eq!(response.body["status"], 409);
    assert_eq!(stock_of(&app, &s, &product).await, 3, "nothing was taken");

    let (empty_product, empty) = stocked(&app, &s, 0).await;
    let response = patch_variant(&app, &s, &empty, json!({"stock_adjustment": -1})).await;
    response.assert_problem(409, "insufficient_stock");
    assert_eq!(response.body["available"], 0);
    assert_eq!(stock_of(&app, &s, &empty_product).await, 0);
}

/// Guards: the price and SKU change used to commit before the adjustment was refused, so a
/// 409 followed a change that had been saved. Now both are one transaction.
#[tokio::test]
async fn a_refused_adjustment_leaves_the_price_and_sku_change_unsaved() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let (product, variant) = stocked(&app, &s, 1).await;
    let new_sku = sku("NEW");

    let response =
        patch_variant(&app, &s, &variant, json!({"price": 1999, "sku": new_sku, "stock_adjustment": -5})).await;

    response.assert_problem(409, "insufficient_stock");
    assert_eq!(response.body["available"], 1);
    let saved = &admin_product(&app, &s, &product).await["variants"][0];
    assert_eq!(saved["price"], 1000, "{saved}");
    assert_ne!(saved["sku"], new_sku.as_str(), "{saved}");
    assert_eq!(saved["stock"], 1);
}

#[tokio::test]
async fn stock_and_stock_adjustment_together_are_422() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let (product, variant) = stocked(&app, &s, 5).await;

    let response = patch_variant(&app, &s, &variant, json!({"stock": 10, "stock_adjustment": 1})).await;

    response.assert_problem(422, "validation_failed");
    assert!(response.text.contains("stock_adjustment"), "{}", response.text);
    assert_eq!(stock_of(&app, &s, &product).await, 5);
    // Negative absolute stock and wrong types.
    patch_variant(&app, &s, &variant, json!({"stock": -1})).await.assert_problem(422, "validation_failed");
    patch_variant(&app, &s, &variant, json!({"stock": "ten"})).await.assert_problem(400, "bad_request");
    patch_variant(&app, &s, &variant, json!({"stock_adjustment": 1.5})).await.assert_problem(400, "bad_request");
    assert_eq!(stock_of(&app, &s, &product).await, 5);
}

#[tokio::test]
async fn adjustments_beyond_the_stock_limit_are_422_and_change_nothing() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let (product, variant) = stocked(&app, &s, 5).await;

    for delta in [i64::MAX, i64::MIN, 1_000_000_001, -1_000_000_001] {
        let response = patch_variant(&app, &s, &variant, json!({"stock_adjustment": delta})).await;
        response.assert_problem(422, "validation_failed");
        assert!(response.text.contains("stock_adjustment"), "{}", response.text);
    }
    // Within the range of one adjustment, but past the most a stock can be.
    let response = patch_variant(&app, &s, &variant, json!({"stock_adjustment": 1_000_000_000})).await;
    response.assert_problem(422, "validation_failed");
    assert_eq!(stock_of(&app, &s, &product).await, 5);
    // Up to the limit exactly is fine, as it is for an absolute stock.
    let response = patch_variant(&app, &s, &variant, json!({"stock_adjustment": 999_999_995})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["stock"], 1_000_000_000);
    patch_variant(&app, &s, &variant, json!({"stock": 1_000_000_001})).await.assert_problem(422, "validation_failed");
    let response = patch_variant(&app, &s, &variant, json!({"stock_adjustment": -1_000_000_000})).await;
    assert_eq!(response.status, 200, "{}", response.text);
    assert_eq!(response.body["stock"], 0);
}

#[tokio::test]
async fn stock_changes_to_unknown_or_removed_variants_are_404() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let tee = create_product(
        &app,
        &s,
        json!({"name": "Tee", "options": [{"name": "Size", "values": ["S", "M"]}], "variants": [
            {"sku": sku("S"), "price": 100, "stock": 5, "options": {"Size": "S"}},
            {"sku": sku("M"), "price": 100, "stock": 5, "options": {"Size": "M"}}
        ]}),
    )
    .await;
    let removed = id(&tee["variants"][0]);
    let response = app.delete(&format!("/api/v1/admin/variants/{removed}"), Some(&s)).await;
    assert_eq!(response.status, 204, "{}", response.text);

    for variant in [removed.as_str(), "var_01JZZZZZZZZZZZZZZZZZZZZZZZ", "nope"] {
        for body in [json!({"stock": 1}), json!({"stock_adjustment": 1}), json!({"stock_adjustment": -1})] {
            patch_variant(&app, &s, variant, body).await.assert_problem(404, "not_found");
        }
    }
    let other = &admin_product(&app, &s, &id(&tee)).await["variants"][0];
    assert_eq!(other["stock"], 5, "the live variant is untouched");
}

/// Staff token, base URL and client for requests sent from spawned tasks.
async fn adjust(client: reqwest::Client, url: String, token: String, delta: i64) -> (u16, Value) {
    let response =
        client.patch(url).bearer_auth(token).json(&json!({"stock_adjustment": delta})).send().await.expect("sent");
    let status = response.status().as_u16();
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (status, body)
}

// Several worker threads: the server and the requests really run in parallel.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hundred_concurrent_decrements_of_a_stock_of_fifty_end_at_zero_with_fifty_refused() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let (product, variant) = stocked(&app, &s, 50).await;
    let url = app.url(&format!("/api/v1/admin/variants/{variant}"));

    let tasks: Vec<_> =
        (0..100).map(|_| tokio::spawn(adjust(app.client.clone(), url.clone(), s.clone(), -1))).collect();
    let mut results = Vec::with_capacity(tasks.len());
    for task in tasks {
        results.push(task.await.expect("task"));
    }

    let ok = results.iter().filter(|(status, _)| *status == 200).count();
    let refused: Vec<&Value> = results.iter().filter(|(status, _)| *status == 409).map(|(_, body)| body).collect();
    let other: Vec<&(u16, Value)> = results.iter().filter(|(status, _)| *status != 200 && *status != 409).collect();
    assert!(other.is_empty(), "every request is 200 or 409: {other:?}");
    assert_eq!(ok, 50, "exactly the stock was taken");
    assert_eq!(refused.len(), 50);
    for body in &refused {
        assert_eq!(body["code"], "insufficient_stock", "{body}");
        assert_eq!(body["available"], 0, "{body}");
    }
    for (_, body) in results.iter().filter(|(status, _)| *status == 200) {
        let left = body["stock"].as_i64().expect("stock");
        assert!((0..50).contains(&left), "{body}");
    }
    assert_eq!(stock_of(&app, &s, &product).await, 0);
    assert_eq!(card_of(&app, &product).await.unwrap()["in_stock"], false);
}

// Several worker threads: the server and the requests really run in parallel.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_increments_and_decrements_all_count() {
    let app = spawn_app().await;
    let s = app.staff().await.access;
    let (product, variant) = stocked(&app, &s, 100).await;
    let url = app.url(&format!("/api/v1/admin/variants/{variant}"));

    // 60 × −1 and 40 × +2 on 100: never near zero, so every one succeeds: 100 − 60 + 80.
    let tasks: Vec<_> = (0..100)
        .map(|i| {
            let delta = if i % 5 < 3 { -1 } else { 2 };
            tokio::spawn(adjust(app.client.clone(), url.clone(), s.clone(), delta))
        })
        .collect();
    for task in tasks {
        let (status, body) = task.await.expect("task");
        assert_eq!(status, 200, "{body}");
    }

    assert_eq!(stock_of(&app, &s, &product).await, 120);
}
