//! Checkout under concurrency (issue 10, "Done when"): no oversell across instances, no 5xx
//! when carts lock the same variants in opposite orders, one order per idempotency key, and a
//! coupon's last use taken once.

use serde_json::json;

use crate::{
    carts::call,
    checkout::{checkout, new_key, ready_guest_cart},
    helpers::{plugins::plugin, *},
    products::{id, simple_product},
};

/// Enough connections for 100 requests in flight per instance to queue briefly, not time out.
fn roomy(config: &mut commerce_engine::config::Config) {
    config.database.max_connections = 20;
}

async fn stock_of(app: &TestApp, variant: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT stock FROM variants WHERE id = $1")
        .bind(variant)
        .fetch_one(app.state.db.pool())
        .await
        .expect("variant row")
}

/// Counts answers by status; fails on any 5xx, naming it.
fn tally(answers: &[TestResponse]) -> std::collections::BTreeMap<u16, usize> {
    let mut by_status = std::collections::BTreeMap::new();
    for answer in answers {
        assert!(answer.status.as_u16() < 500, "no 5xx: {} {}", answer.status, answer.text);
        *by_status.entry(answer.status.as_u16()).or_insert(0) += 1;
    }
    by_status
}

/// Checks out every `(cart, token)` at once as a guest with `manual`, alternating between `app`
/// and `peer` (another instance on the same database) when there is one.
async fn check_out_at_once(app: &TestApp, peer: Option<&Peer>, carts: &[(String, String)]) -> Vec<TestResponse> {
    futures_join_all(carts.iter().enumerate().map(|(i, (cart, token))| {
        let base = match peer {
            Some(peer) if i % 2 == 1 => peer.base.clone(),
            _ => app.base.clone(),
        };
        let client = app.client.clone();
        async move {
            let body = json!({"cart_id": cart, "payment_provider": "manual"});
            checkout(&base, &client, Some(&new_key()), None, Some(token), body).await
        }
    }))
    .await
}

/// Guards the headline: 200 concurrent checkouts of one unit each, from distinct carts, against
/// stock 25 give exactly 25 orders and 175 × 409 `insufficient_stock`, stock 0, no 5xx. On
/// PostgreSQL the requests are split over two engine instances sharing the database.
#[tokio::test]
async fn two_hundred_checkouts_against_twenty_five_units_sell_exactly_twenty_five() {
    let app = spawn_app_with(roomy).await;
    let staff = app.staff().await;
    let lamp = id(&simple_product(&app, &staff.access, "Lamp", 10_000, 25).await["variants"][0]);
    let peer = if app.state.db.backend() == commerce_engine::db::Backend::Postgres {
        Some(app.peer(roomy).await)
    } else {
        None
    };
    let mut carts = Vec::new();
    for _ in 0..200 {
        carts.push(ready_guest_cart(&app, &[(&lamp, 1)]).await);
    }
    let answers = check_out_at_once(&app, peer.as_ref(), &carts).await;
    let by_status = tally(&answers);
    assert_eq!(by_status.get(&201), Some(&25), "{by_status:?}");
    assert_eq!(by_status.get(&409), Some(&175), "{by_status:?}");
    for refused in answers.iter().filter(|a| a.status == 409) {
        refused.assert_problem(409, "insufficient_stock");
    }
    assert_eq!(stock_of(&app, &lamp).await, 0);
    let sold: i64 =
        sqlx::query_scalar("SELECT CAST(COALESCE(SUM(quantity), 0) AS BIGINT) FROM order_items WHERE variant_id = $1")
            .bind(&lamp)
            .fetch_one(app.state.db.pool())
            .await
            .unwrap();
    assert_eq!(sold, 25);
    let numbers: std::collections::BTreeSet<i64> = answers.iter().filter_map(|a| a.body["number"].as_i64()).collect();
    assert_eq!(numbers.len(), 25, "order numbers are unique across instances");
}

/// Guards lock ordering: carts holding the same two variants, added in opposite orders, check
/// out concurrently with no 5xx (PostgreSQL locks variants in id order, so none deadlocks).
#[tokio::test]
async fn carts_with_the_same_variants_in_opposite_orders_check_out_without_5xx() {
    let app = spawn_app_with(roomy).await;
    let staff = app.staff().await;
    let a = id(&simple_product(&app, &staff.access, "Cup", 1_000, 1_000).await["variants"][0]);
    let b = id(&simple_product(&app, &staff.access, "Saucer", 1_000, 1_000).await["variants"][0]);
    let mut carts = Vec::new();
    for i in 0..30 {
        let lines = if i % 2 == 0 { [(a.as_str(), 1), (b.as_str(), 1)] } else { [(b.as_str(), 1), (a.as_str(), 1)] };
        carts.push(ready_guest_cart(&app, &lines).await);
    }
    let answers = futures_join_all(carts.iter().map(|(cart, token)| {
        let body = json!({"cart_id": cart, "payment_provider": "manual"});
        let (base, client) = (app.base.clone(), app.client.clone());
        async move { checkout(&base, &client, Some(&new_key()), None, Some(token), body).await }
    }))
    .await;
    assert_eq!(tally(&answers).get(&201), Some(&30));
    assert_eq!((stock_of(&app, &a).await, stock_of(&app, &b).await), (970, 970));
}

/// Guards "20 concurrent requests with one key make one order": every answer is the order
/// (first or replayed) or 409 `idempotency_in_progress`.
#[tokio::test]
async fn twenty_concurrent_requests_with_one_key_make_one_order() {
    let app = spawn_app_with(roomy).await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 50).await["variants"][0]);
    let (cart, token) = ready_guest_cart(&app, &[(&mug, 1)]).await;
    let key = new_key();
    let body = json!({"cart_id": cart, "payment_provider": "manual"});
    let answers = futures_join_all((0..20).map(|_| {
        let (base, client, body, key, token) =
            (app.base.clone(), app.client.clone(), body.clone(), key.clone(), token.clone());
        async move { checkout(&base, &client, Some(&key), None, Some(&token), body).await }
    }))
    .await;
    let by_status = tally(&answers);
    let placed: Vec<&TestResponse> = answers.iter().filter(|a| a.status == 201).collect();
    assert!(!placed.is_empty(), "{by_status:?}");
    let ids: std::collections::BTreeSet<&str> = placed.iter().filter_map(|a| a.body["id"].as_str()).collect();
    assert_eq!(ids.len(), 1, "one order: {ids:?}");
    for other in answers.iter().filter(|a| a.status != 201) {
        other.assert_problem(409, "idempotency_in_progress");
    }
    let orders: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(app.state.db.pool()).await.expect("count");
    assert_eq!(orders, 1);
    assert_eq!(stock_of(&app, &mug).await, 49);
}

/// Guards the coupon guard: a code with one use left, applied to 10 carts that check out at
/// once, is redeemed by exactly one order; the others either lose the race (422
/// `coupon_ineligible`) or, priced after it, see it no longer applying (201 without it).
#[tokio::test]
async fn a_coupons_last_use_is_taken_once() {
    let coupons = |config: &mut commerce_engine::config::Config| {
        roomy(config);
        let codes = json!({"codes": [{"code": "LAST1", "amount": 1_000, "max_redemptions": 1}]});
        config.pricing.chain = vec!["coupons".to_owned()];
        config.plugins = [("coupons".to_owned(), plugin("coupons", codes))].into_iter().collect();
    };
    let app = spawn_app_with(coupons).await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 50).await["variants"][0]);
    let mut carts = Vec::new();
    for _ in 0..10 {
        let (cart, token) = ready_guest_cart(&app, &[(&mug, 1)]).await;
        let path = format!("/api/v1/carts/{cart}/coupons");
        let applied =
            call(&app, reqwest::Method::POST, &path, None, Some(&token), Some(json!({"code": "LAST1"}))).await;
        assert_eq!(applied.status, 200, "{}", applied.text);
        carts.push((cart, token));
    }
    let answers = futures_join_all(carts.iter().map(|(cart, token)| {
        let body = json!({"cart_id": cart, "payment_provider": "manual"});
        let (base, client) = (app.base.clone(), app.client.clone());
        async move { checkout(&base, &client, Some(&new_key()), None, Some(token), body).await }
    }))
    .await;
    tally(&answers);
    let with_code = answers.iter().filter(|a| a.status == 201 && a.body["coupon_codes"] == json!(["LAST1"])).count();
    assert_eq!(with_code, 1, "exactly one order redeems the last use");
    for answer in &answers {
        match answer.status.as_u16() {
            201 => assert!(answer.body["coupon_codes"] == json!(["LAST1"]) || answer.body["coupon_codes"] == json!([])),
            _ => answer.assert_problem(422, "coupon_ineligible"),
        }
    }
    let redeemed: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM coupon_redemptions WHERE code_key = 'LAST1'")
        .fetch_one(app.state.db.pool())
        .await
        .unwrap();
    assert_eq!(redeemed, 1);

    // Carts see the real count now: the code is used up.
    let (cart, token) = ready_guest_cart(&app, &[(&mug, 1)]).await;
    let path = format!("/api/v1/carts/{cart}/coupons");
    let refused = call(&app, reqwest::Method::POST, &path, None, Some(&token), Some(json!({"code": "LAST1"}))).await;
    refused.assert_problem(422, "coupon_ineligible");
}

/// Guards `orders.max_unpaid` under concurrency: one guest email checking out eight carts at
/// once with a cap of 3 gets exactly 3 orders and 5 × 409 `too_many_unpaid_orders` (on
/// PostgreSQL over two instances: the count and the insert are one turn per shopper). Each cart
/// holds its own product, so no variant lock lines the checkouts up by accident.
#[tokio::test]
async fn concurrent_checkouts_of_one_shopper_never_pass_the_unpaid_cap() {
    let capped = |config: &mut commerce_engine::config::Config| {
        roomy(config);
        config.orders.max_unpaid = 3;
    };
    let app = spawn_app_with(capped).await;
    let staff = app.staff().await;
    let mut lamps = Vec::new();
    for i in 0..8 {
        lamps.push(id(&simple_product(&app, &staff.access, &format!("Lamp {i}"), 10_000, 10).await["variants"][0]));
    }
    let peer = if app.state.db.backend() == commerce_engine::db::Backend::Postgres {
        Some(app.peer(capped).await)
    } else {
        None
    };
    let email = unique_email("hoarder");
    let mut carts = Vec::new();
    for lamp in &lamps {
        let (cart, token) = crate::carts::guest_cart(&app).await;
        assert_eq!(crate::carts::add_line(&app, &cart, &token, lamp, 1).await.status, 200);
        let body = json!({"email": email, "shipping_address": crate::checkout::karnataka()});
        let path = format!("/api/v1/carts/{cart}");
        let patched = call(&app, reqwest::Method::PATCH, &path, None, Some(&token), Some(body)).await;
        assert_eq!(patched.status, 200, "{}", patched.text);
        carts.push((cart, token));
    }
    let answers = check_out_at_once(&app, peer.as_ref(), &carts).await;
    let by_status = tally(&answers);
    assert_eq!((by_status.get(&201), by_status.get(&409)), (Some(&3), Some(&5)), "{by_status:?}");
    for refused in answers.iter().filter(|a| a.status == 409) {
        refused.assert_problem(409, "too_many_unpaid_orders");
    }
    let mut left = 0;
    for lamp in &lamps {
        left += stock_of(&app, lamp).await;
    }
    assert_eq!(left, 8 * 10 - 3, "stock taken by the 3 orders only");
}
