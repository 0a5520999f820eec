//! Priced carts served from memory (`carts.priced_cache_ttl`): never older than the cart itself,
//! on any instance; a catalogue change made through this instance shows at once, one made
//! through another instance within the TTL; `"0s"` turns the cache off.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    carts::{add_line, call, guest_cart},
    helpers::{plugins::demo_chain, *},
    products::{id, simple_product},
};

/// `method path` on `base` with a guest's cart token.
async fn on(app: &TestApp, base: &str, method: Method, path: &str, token: &str, body: Option<Value>) -> TestResponse {
    let mut request = app.client.request(method, format!("{base}{path}")).header("X-Cart-Token", token);
    if let Some(body) = body {
        request = request.json(&body);
    }
    TestApp::read(request.send().await.expect("request sent")).await
}

/// (variant id, quantity) of each line of a priced cart.
fn lines(cart: &Value) -> Vec<(String, i64)> {
    cart["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| (l["variant_id"].as_str().expect("variant_id").to_owned(), l["quantity"].as_i64().expect("quantity")))
        .collect()
}

/// Guards the cart's version: a cart changed through one instance is never answered as it
/// was by another that priced it earlier (the version is read with the ownership check).
#[tokio::test]
async fn a_cart_changed_through_another_instance_is_never_answered_stale() {
    // The demo chain: the address change below must show as tax.
    let long_ttl = |cfg: &mut commerce_engine::config::Config| {
        demo_chain(cfg);
        cfg.carts.priced_cache_ttl = Duration::from_secs(3600);
    };
    let app = spawn_app_with(long_ttl).await;
    let peer = app.peer(long_ttl).await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 50).await["variants"][0]);
    let cup = id(&simple_product(&app, &staff.access, "Cup", 5_000, 50).await["variants"][0]);
    let (cart, token) = guest_cart(&app).await;
    let path = format!("/api/v1/carts/{cart}");

    assert_eq!(add_line(&app, &cart, &token, &mug, 1).await.status, 200);
    let seen = on(&app, &peer.base, Method::GET, &path, &token, None).await;
    assert_eq!(lines(&seen.body), vec![(mug.clone(), 1)], "{}", seen.text);

    // Changed through the first instance: the peer, which priced it a moment ago, sees it.
    assert_eq!(add_line(&app, &cart, &token, &cup, 2).await.status, 200);
    let seen = on(&app, &peer.base, Method::GET, &path, &token, None).await;
    assert_eq!(lines(&seen.body), vec![(mug.clone(), 1), (cup.clone(), 2)], "{}", seen.text);
    assert_eq!(seen.body["subtotal"], 20_000);

    // And the other way round, for every kind of change.
    let line = seen.body["lines"][0]["id"].as_str().expect("line id").to_owned();
    let changed =
        on(&app, &peer.base, Method::PATCH, &format!("{path}/lines/{line}"), &token, Some(json!({"quantity": 4})))
            .await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let read = call(&app, Method::GET, &path, None, Some(&token), None).await;
    assert_eq!(lines(&read.body), vec![(mug.clone(), 4), (cup.clone(), 2)], "{}", read.text);

    let body = json!({"email": "asha@example.com", "shipping_address": crate::checkout::karnataka()});
    assert_eq!(on(&app, &peer.base, Method::PATCH, &path, &token, Some(body)).await.status, 200);
    let read = call(&app, Method::GET, &path, None, Some(&token), None).await;
    assert_eq!(read.body["email"], "asha@example.com", "{}", read.text);
    assert!(read.body["tax_total"].as_i64().is_some_and(|t| t > 0), "taxed once the address is known: {}", read.text);

    let removed = on(&app, &peer.base, Method::DELETE, &format!("{path}/lines/{line}"), &token, None).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    let read = call(&app, Method::GET, &path, None, Some(&token), None).await;
    assert_eq!(lines(&read.body), vec![(cup.clone(), 2)], "{}", read.text);

    // A change refused inside its transaction (2 + 49 > 50 in stock) rolls back whole.
    let refused = add_line(&app, &cart, &token, &cup, 49).await;
    refused.assert_problem(409, "insufficient_stock");
    let read = on(&app, &peer.base, Method::GET, &path, &token, None).await;
    assert_eq!(lines(&read.body), vec![(cup, 2)], "{}", read.text);
}

/// Guards the catalogue stamp: a price or stock change made through this instance shows in
/// its next cart read; one made through another instance shows once the TTL has passed.
#[tokio::test]
async fn catalogue_changes_show_at_once_here_and_within_the_ttl_elsewhere() {
    let app = spawn_app().await; // the default TTL, 2 s, on the test's manual clock
    let peer = app.peer(|_| {}).await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 50).await["variants"][0]);
    let (cart, token) = guest_cart(&app).await;
    let path = format!("/api/v1/carts/{cart}");
    assert_eq!(add_line(&app, &cart, &token, &mug, 2).await.status, 200);
    let read = call(&app, Method::GET, &path, None, Some(&token), None).await;
    assert_eq!(read.body["subtotal"], 20_000);

    let variant = format!("/api/v1/admin/variants/{mug}");
    let edited = app.patch(&variant, Some(&staff.access), json!({"price": 12_500})).await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    let read = call(&app, Method::GET, &path, None, Some(&token), None).await;
    assert_eq!(read.body["subtotal"], 25_000, "a change made here shows at once: {}", read.text);

    let edited = app
        .client
        .patch(peer.url(&variant))
        .bearer_auth(&staff.access)
        .json(&json!({"price": 15_000, "stock": 1}))
        .send()
        .await
        .expect("peer edit");
    assert_eq!(edited.status(), 200);
    app.clock.advance(Duration::from_secs(2));
    let read = call(&app, Method::GET, &path, None, Some(&token), None).await;
    assert_eq!(read.body["subtotal"], 30_000, "another instance's change shows within the TTL: {}", read.text);
    assert_eq!(read.body["line_notices"][0]["kind"], "insufficient_stock", "{}", read.text);
}

/// Guards `"0s"`: every read prices the cart afresh, so even another instance's change shows
/// at once.
#[tokio::test]
async fn a_ttl_of_zero_prices_every_read_afresh() {
    let app = spawn_app_with(|cfg| cfg.carts.priced_cache_ttl = Duration::ZERO).await;
    let peer = app.peer(|_| {}).await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 50).await["variants"][0]);
    let (cart, token) = guest_cart(&app).await;
    assert_eq!(add_line(&app, &cart, &token, &mug, 1).await.status, 200);
    let edited = app
        .client
        .patch(peer.url(&format!("/api/v1/admin/variants/{mug}")))
        .bearer_auth(&staff.access)
        .json(&json!({"price": 11_000}))
        .send()
        .await
        .expect("peer edit");
    assert_eq!(edited.status(), 200);
    let read = call(&app, Method::GET, &format!("/api/v1/carts/{cart}"), None, Some(&token), None).await;
    assert_eq!(read.body["subtotal"], 11_000, "{}", read.text);
}

/// Guards "checkout never reads from memory": while this instance still shows a price another
/// instance changed (inside the TTL), checkout prices from the database: the total the shopper
/// was shown is answered 409 `price_changed` with the real one, and with no expectation the
/// order holds the new price and the stock another instance set.
#[tokio::test]
async fn checkout_prices_from_the_database_while_a_cart_shows_an_older_price() {
    let app = spawn_app_with(|cfg| cfg.carts.priced_cache_ttl = Duration::from_secs(3600)).await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 50).await["variants"][0]);
    let (cart, token) = crate::checkout::ready_guest_cart(&app, &[(&mug, 1)]).await;
    let shown = call(&app, Method::GET, &format!("/api/v1/carts/{cart}"), None, Some(&token), None).await;
    let shown_total = shown.body["total"].as_i64().expect("total");

    // A change no instance announces (SQL by hand; a change through another instance now
    // reaches this one's carts by NOTIFY within milliseconds): the display lags inside its TTL.
    sqlx::query("UPDATE variants SET price = 20000 WHERE id = $1")
        .bind(&mug)
        .execute(app.state.db.pool())
        .await
        .expect("price changed behind the engine's back");
    let still = call(&app, Method::GET, &format!("/api/v1/carts/{cart}"), None, Some(&token), None).await;
    assert_eq!(still.body["total"].as_i64(), Some(shown_total), "the display may lag inside the TTL");

    let body = json!({"cart_id": cart, "payment_provider": "manual", "expected_total": shown_total});
    let refused =
        crate::checkout::checkout(&app.base, &app.client, Some(&crate::checkout::new_key()), None, Some(&token), body)
            .await;
    refused.assert_problem(409, "price_changed");
    assert_ne!(refused.body["total"].as_i64(), Some(shown_total), "{}", refused.text);

    let body = json!({"cart_id": cart, "payment_provider": "manual"});
    let placed =
        crate::checkout::checkout(&app.base, &app.client, Some(&crate::checkout::new_key()), None, Some(&token), body)
            .await;
    assert_eq!(placed.status, 201, "{}", placed.text);
    assert_eq!(placed.body["items"][0]["unit_price"], 20_000, "{}", placed.text);
    assert_eq!(placed.body["total"], refused.body["total"], "{}", placed.text);
}

/// Guards the rendering kept with a cached read: the token shown when a guest cart is created
/// is never repeated by a read served from memory, and a repeated read sends the same JSON.
#[tokio::test]
async fn a_cart_read_from_memory_never_repeats_the_cart_token() {
    let app = spawn_app().await;
    let (cart, token) = guest_cart(&app).await;
    let path = format!("/api/v1/carts/{cart}");
    let first = call(&app, Method::GET, &path, None, Some(&token), None).await;
    let again = call(&app, Method::GET, &path, None, Some(&token), None).await;
    assert_eq!((first.status.as_u16(), again.status.as_u16()), (200, 200), "{}", first.text);
    assert_eq!(first.body["cart_token"], Value::Null, "{}", first.text);
    assert_eq!(first.text, again.text);
    assert_eq!(
        first.headers.get("content-type").and_then(|v| v.to_str().ok()),
        Some("application/json; charset=utf-8")
    );
}
