//! Carts (issue 10, items 1–3): guest carts reached by their token, one active cart per
//! customer, 404 to anyone but the owner, line rules, notices for lines that can no longer be
//! sold, coupons through the demo chain, and the idle-cart cleanup job.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    helpers::*,
    pricing_preview::demo_app,
    products::{id, simple_product},
};

const CARTS: &str = "/api/v1/carts";

/// A request with an optional bearer token and an optional `X-Cart-Token`.
pub async fn call(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    cart_token: Option<&str>,
    body: Option<Value>,
) -> TestResponse {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    if let Some(token) = cart_token {
        request = request.header("X-Cart-Token", token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    TestApp::read(request.send().await.expect("request sent")).await
}

/// A new guest cart: (id, token).
pub async fn guest_cart(app: &TestApp) -> (String, String) {
    let response = call(app, Method::POST, CARTS, None, None, None).await;
    assert_eq!(response.status, 201, "{}", response.text);
    let token = response.body["cart_token"].as_str().expect("cart_token").to_owned();
    (id(&response.body), token)
}

pub async fn add_line(app: &TestApp, cart: &str, token: &str, variant: &str, quantity: i64) -> TestResponse {
    let body = json!({"variant_id": variant, "quantity": quantity});
    call(app, Method::POST, &format!("{CARTS}/{cart}/lines"), None, Some(token), Some(body)).await
}

/// Guards the guest flow: a token of ≥128 bits shown once, stored only as a digest, and the
/// priced cart with stored line ids on every read.
#[tokio::test]
async fn a_guest_builds_a_priced_cart_with_its_token() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 5).await["variants"][0]);

    let (cart, token) = guest_cart(&app).await;
    assert!(token.len() >= 3 + 43, "32 random bytes in base64: {token}");
    let stored: Option<String> = sqlx::query_scalar("SELECT token_hash FROM carts WHERE id = $1")
        .bind(&cart)
        .fetch_one(app.state.db.pool())
        .await
        .expect("cart row");
    assert_ne!(stored.as_deref(), Some(token.as_str()), "the token is stored hashed");

    let added = add_line(&app, &cart, &token, &mug, 2).await;
    assert_eq!(added.status, 200, "{}", added.text);
    let again = add_line(&app, &cart, &token, &mug, 1).await;
    assert_eq!(again.body["lines"].as_array().map(Vec::len), Some(1), "one line per variant: {}", again.text);
    assert_eq!(again.body["lines"][0]["quantity"], 3);

    let read = call(&app, Method::GET, &format!("{CARTS}/{cart}"), None, Some(&token), None).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!((read.body["subtotal"].as_i64(), read.body["total"].as_i64()), (Some(30_000), Some(30_000)));
    assert_eq!(read.body["cart_token"], Value::Null, "the token is shown once");
    let line = read.body["lines"][0]["id"].as_str().expect("line id").to_owned();
    assert!(line.starts_with("line_"), "the stored line's id: {line}");

    let path = format!("{CARTS}/{cart}/lines/{line}");
    let changed = call(&app, Method::PATCH, &path, None, Some(&token), Some(json!({"quantity": 1}))).await;
    assert_eq!(changed.body["lines"][0]["quantity"], 1, "{}", changed.text);
    let removed = call(&app, Method::PATCH, &path, None, Some(&token), Some(json!({"quantity": 0}))).await;
    assert_eq!(removed.body["lines"], json!([]), "0 removes: {}", removed.text);
    let gone = call(&app, Method::DELETE, &path, None, Some(&token), None).await;
    gone.assert_problem(404, "not_found");
}

/// Guards "a customer has at most one active cart": `POST /carts` and `GET /me/cart` return
/// the same cart, and the partial unique index refuses a second active one.
#[tokio::test]
async fn a_customer_has_one_active_cart() {
    let app = spawn_app().await;
    let (_, _, customer) = app.customer().await;

    let first = call(&app, Method::POST, CARTS, Some(&customer.access), None, None).await;
    assert_eq!(first.status, 201, "{}", first.text);
    assert_eq!(first.body["cart_token"], Value::Null, "a customer's cart has no token");
    let second = call(&app, Method::POST, CARTS, Some(&customer.access), None, None).await;
    let mine = app.get("/api/v1/me/cart", Some(&customer.access)).await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!((id(&second.body), id(&mine.body)), (id(&first.body), id(&first.body)));

    let duplicate = sqlx::query(
        "INSERT INTO carts (id, customer_id, status, created_at, updated_at) VALUES ('cart_x', $1, 'active', 0, 0)",
    )
    .bind(&customer.user_id)
    .execute(app.state.db.pool())
    .await;
    assert!(duplicate.is_err(), "the database refuses a second active cart");
}

/// Guards the IDOR rule: every cart route answers 404 to another customer, staff, no
/// credential and a wrong cart token; an expired access token is 401, not 404.
#[tokio::test]
async fn cart_routes_answer_404_to_anyone_but_the_owner_and_401_to_an_expired_token() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 5).await["variants"][0]);
    let (_, _, owner) = app.customer().await;
    let (_, _, other) = app.customer().await;
    let customer_cart = id(&call(&app, Method::POST, CARTS, Some(&owner.access), None, None).await.body);
    let (guest, token) = guest_cart(&app).await;
    assert_eq!(add_line(&app, &guest, &token, &mug, 1).await.status, 200);
    let line =
        call(&app, Method::GET, &format!("{CARTS}/{guest}"), None, Some(&token), None).await.body["lines"][0]["id"]
            .as_str()
            .expect("line")
            .to_owned();

    let add = json!({"variant_id": mug, "quantity": 1});
    for cart in [&customer_cart, &guest] {
        let routes = [
            (Method::GET, format!("{CARTS}/{cart}"), None),
            (Method::POST, format!("{CARTS}/{cart}/lines"), Some(add.clone())),
            (Method::PATCH, format!("{CARTS}/{cart}/lines/{line}"), Some(json!({"quantity": 1}))),
            (Method::DELETE, format!("{CARTS}/{cart}/lines/{line}"), None),
        ];
        for (method, path, body) in routes {
            let strangers: [(Option<&str>, Option<&str>); 4] =
                [(Some(&other.access), None), (Some(&staff.access), None), (None, None), (None, Some("ct_wrong"))];
            for (bearer, cart_token) in strangers {
                let response = call(&app, method.clone(), &path, bearer, cart_token, body.clone()).await;
                assert_eq!(response.status, 404, "{method} {path} as {bearer:?}/{cart_token:?}: {}", response.text);
            }
        }
    }
    // The guest's token does not open the customer's cart either.
    let response = call(&app, Method::GET, &format!("{CARTS}/{customer_cart}"), None, Some(&token), None).await;
    response.assert_problem(404, "not_found");

    app.clock.advance(Duration::from_secs(16 * 60));
    let expired = call(&app, Method::GET, &format!("{CARTS}/{customer_cart}"), Some(&owner.access), None, None).await;
    expired.assert_problem(401, "unauthenticated");
}

/// Guards the line rules: unknown variant and quantities outside 1..=max are 422, more than in
/// stock is 409 `insufficient_stock` with `available`, and `carts.max_lines` bounds the lines.
#[tokio::test]
async fn lines_hold_live_variants_within_the_quantity_stock_and_line_limits() {
    let app = spawn_app_with(|c| c.carts.max_lines = 1).await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 150).await["variants"][0]);
    let cup = id(&simple_product(&app, &staff.access, "Cup", 5_000, 3).await["variants"][0]);
    let (cart, token) = guest_cart(&app).await;

    add_line(&app, &cart, &token, "var_01JAAAAAAAAAAAAAAAAAAAAAAA", 1).await.assert_problem(422, "validation_failed");
    add_line(&app, &cart, &token, &mug, 0).await.assert_problem(422, "validation_failed");
    add_line(&app, &cart, &token, &mug, 101).await.assert_problem(422, "validation_failed");
    assert_eq!(add_line(&app, &cart, &token, &mug, 100).await.status, 200);
    add_line(&app, &cart, &token, &mug, 1).await.assert_problem(422, "validation_failed");

    let too_many = add_line(&app, &cart, &token, &cup, 1).await;
    too_many.assert_problem(422, "validation_failed");
    assert!(too_many.text.contains("at most 1 lines"), "{}", too_many.text);

    let (other, other_token) = guest_cart(&app).await;
    let short = add_line(&app, &other, &other_token, &cup, 4).await;
    short.assert_problem(409, "insufficient_stock");
    assert_eq!(short.body["available"], 3);
}

/// Guards: concurrent adds of one variant to one cart all count (one line, quantities summed,
/// no lost update, no 5xx from the (cart, variant) unique index on PostgreSQL).
#[tokio::test]
async fn concurrent_adds_of_one_variant_make_one_line_holding_every_unit() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 150).await["variants"][0]);
    let (cart, token) = guest_cart(&app).await;
    let adds = (0..10).map(|_| add_line(&app, &cart, &token, &mug, 1));
    for answer in futures_join_all(adds).await {
        assert_eq!(answer.status, 200, "{}", answer.text);
    }
    let read = call(&app, Method::GET, &format!("{CARTS}/{cart}"), None, Some(&token), None).await;
    let lines = read.body["lines"].as_array().expect("lines");
    assert_eq!(lines.len(), 1, "{}", read.text);
    assert_eq!(lines[0]["quantity"], 10, "{}", read.text);
}

/// Guards: a line whose product was archived, or whose stock fell below its quantity, stays on
/// the cart with a notice naming it, and the read still answers 200.
#[tokio::test]
async fn a_line_of_an_archived_product_or_with_too_little_stock_stays_with_a_notice() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = simple_product(&app, &staff.access, "Mug", 10_000, 5).await;
    let cup = simple_product(&app, &staff.access, "Cup", 5_000, 5).await;
    let (cart, token) = guest_cart(&app).await;
    assert_eq!(add_line(&app, &cart, &token, &id(&mug["variants"][0]), 1).await.status, 200);
    assert_eq!(add_line(&app, &cart, &token, &id(&cup["variants"][0]), 4).await.status, 200);

    let archived = app.delete(&format!("/api/v1/admin/products/{}", id(&mug)), Some(&staff.access)).await;
    assert!(archived.status.is_success(), "{}", archived.text);
    let cup_variant = id(&cup["variants"][0]);
    let lowered =
        app.patch(&format!("/api/v1/admin/variants/{cup_variant}"), Some(&staff.access), json!({"stock": 2})).await;
    assert_eq!(lowered.status, 200, "{}", lowered.text);

    let read = call(&app, Method::GET, &format!("{CARTS}/{cart}"), None, Some(&token), None).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["subtotal"], 20_000, "only the cup is priced: {}", read.text);
    let notices = read.body["line_notices"].as_array().expect("line_notices");
    let kinds: Vec<(&str, &str)> =
        notices.iter().map(|n| (n["kind"].as_str().unwrap_or(""), n["variant_id"].as_str().unwrap_or(""))).collect();
    let mug_variant = id(&mug["variants"][0]);
    assert!(kinds.contains(&("line_unavailable", mug_variant.as_str())), "{notices:?}");
    assert!(kinds.contains(&("insufficient_stock", cup_variant.as_str())), "{notices:?}");
    assert!(notices.iter().any(|n| n["available"] == 2), "{notices:?}");
}

/// Guards the `cart_cleanup` job: a cart idle for longer than `carts.ttl` is deleted, a recent
/// one stays.
#[tokio::test]
async fn the_cleanup_job_deletes_carts_idle_for_longer_than_the_ttl() {
    let app = spawn_app().await;
    let (old, old_token) = guest_cart(&app).await;
    app.clock.advance(Duration::from_secs(29 * 24 * 3600));
    let (recent, recent_token) = guest_cart(&app).await;
    app.clock.advance(Duration::from_secs(2 * 24 * 3600));

    let report = app.run_job("cart_cleanup").await;

    assert_eq!(report.processed, 1);
    let gone = call(&app, Method::GET, &format!("{CARTS}/{old}"), None, Some(&old_token), None).await;
    gone.assert_problem(404, "not_found");
    let kept = call(&app, Method::GET, &format!("{CARTS}/{recent}"), None, Some(&recent_token), None).await;
    assert_eq!(kept.status, 200, "{}", kept.text);
}

/// Guards the coupon routes on the worked example through the demo chain: WELCOME10 takes 10 %
/// off, applying it again (in another case) is a 200 no-op, an unknown code is 422
/// `coupon_unknown`, FLAT200 below its minimum is 422 `coupon_ineligible` with the plugin's
/// reason, and removing a code gives the discount back.
#[tokio::test]
async fn coupons_apply_once_and_unknown_or_ineligible_codes_are_422() {
    let (app, shop, _) = demo_app().await;
    let (cart, token) = guest_cart(&app).await;
    assert_eq!(add_line(&app, &cart, &token, &shop.tshirt, 2).await.status, 200);
    assert_eq!(add_line(&app, &cart, &token, &shop.novel, 1).await.status, 200);
    let coupons = format!("{CARTS}/{cart}/coupons");
    let apply =
        |code: &'static str| call(&app, Method::POST, &coupons, None, Some(&token), Some(json!({"code": code})));

    let applied = apply("WELCOME10").await;
    assert_eq!(applied.status, 200, "{}", applied.text);
    assert_eq!(
        (applied.body["subtotal"].as_i64(), applied.body["discount_total"].as_i64()),
        (Some(129_800), Some(12_980))
    );
    let again = apply("welcome10").await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["coupons"].as_array().map(Vec::len), Some(1), "no second code: {}", again.text);
    assert_eq!(again.body["discount_total"], 12_980);

    apply("NOPE").await.assert_problem(422, "coupon_unknown");
    let flat = apply("FLAT200").await;
    flat.assert_problem(422, "coupon_ineligible");
    assert_eq!(flat.body["plugin"], "coupons", "{}", flat.text);
    assert!(flat.body["reason"].as_str().is_some_and(|r| r.contains("FLAT200")), "{}", flat.text);
    let read = call(&app, Method::GET, &format!("{CARTS}/{cart}"), None, Some(&token), None).await;
    assert_eq!(read.body["coupon_codes"], json!(["WELCOME10"]), "refused codes are not kept: {}", read.text);

    let removed = call(&app, Method::DELETE, &format!("{coupons}/WELCOME10"), None, Some(&token), None).await;
    assert_eq!(removed.status, 200, "{}", removed.text);
    assert_eq!(removed.body["discount_total"], 0);
    let missing = call(&app, Method::DELETE, &format!("{coupons}/WELCOME10"), None, Some(&token), None).await;
    missing.assert_problem(404, "not_found");
}

/// Guards `PATCH /carts/{id}`: the email and a Karnataka address (inline for a guest, a saved
/// one for a customer) reach the pricing chain, so the worked example with WELCOME10 totals
/// 132988 with GST; a bad email or someone else's address id is 422.
#[tokio::test]
async fn an_address_on_the_cart_prices_the_worked_example_to_132988() {
    let (app, shop, _) = demo_app().await;
    let karnataka = json!({"first_name": "Asha", "last_name": "Rao", "line1": "1 MG Road", "city": "Bengaluru",
        "region": "KA", "postal_code": "560001", "country": "in"});

    let (cart, token) = guest_cart(&app).await;
    assert_eq!(add_line(&app, &cart, &token, &shop.tshirt, 2).await.status, 200);
    assert_eq!(add_line(&app, &cart, &token, &shop.novel, 1).await.status, 200);
    let coupon = json!({"code": "WELCOME10"});
    let applied = call(&app, Method::POST, &format!("{CARTS}/{cart}/coupons"), None, Some(&token), Some(coupon)).await;
    assert_eq!(applied.status, 200, "{}", applied.text);
    let path = format!("{CARTS}/{cart}");
    let bad = call(&app, Method::PATCH, &path, None, Some(&token), Some(json!({"email": "nope"}))).await;
    bad.assert_problem(422, "validation_failed");
    let body = json!({"email": "asha@example.com", "shipping_address": karnataka});
    let patched = call(&app, Method::PATCH, &path, None, Some(&token), Some(body)).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["email"], "asha@example.com");
    assert_eq!(patched.body["shipping_address"]["country"], "IN");
    assert_eq!((patched.body["tax_total"].as_i64(), patched.body["total"].as_i64()), (Some(16_168), Some(132_988)));

    let (_, _, customer) = app.customer().await;
    let (_, _, other) = app.customer().await;
    let saved = app.post("/api/v1/me/addresses", Some(&customer.access), karnataka.clone()).await;
    assert_eq!(saved.status, 201, "{}", saved.text);
    let mine = id(&call(&app, Method::POST, CARTS, Some(&customer.access), None, None).await.body);
    let by_id = json!({"shipping_address_id": id(&saved.body)});
    let stranger = id(&call(&app, Method::POST, CARTS, Some(&other.access), None, None).await.body);
    let refused =
        call(&app, Method::PATCH, &format!("{CARTS}/{stranger}"), Some(&other.access), None, Some(by_id.clone())).await;
    refused.assert_problem(422, "validation_failed");
    let patched =
        call(&app, Method::PATCH, &format!("{CARTS}/{mine}"), Some(&customer.access), None, Some(by_id)).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(patched.body["shipping_address"]["region"], "KA");
}
