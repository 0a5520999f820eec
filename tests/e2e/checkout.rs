//! Checkout (issue 10, items 5 and 6): a cart becomes an order with snapshots, idempotently,
//! with the `manual` provider's session in its 201.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    carts::{add_line, call, guest_cart},
    helpers::*,
    pricing_preview::demo_app,
    products::{id, simple_product},
};

pub const CHECKOUT: &str = "/api/v1/checkout";

pub fn karnataka() -> Value {
    json!({"first_name": "Asha", "last_name": "Rao", "line1": "1 MG Road", "city": "Bengaluru",
        "region": "KA", "postal_code": "560001", "country": "IN"})
}

/// `POST /checkout` with an `Idempotency-Key` and either credential.
pub async fn checkout(
    app_url: &str,
    client: &reqwest::Client,
    key: Option<&str>,
    bearer: Option<&str>,
    cart_token: Option<&str>,
    body: Value,
) -> TestResponse {
    let mut request = client.post(format!("{app_url}{CHECKOUT}")).json(&body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    if let Some(token) = cart_token {
        request = request.header("X-Cart-Token", token);
    }
    TestApp::read(request.send().await.expect("request sent")).await
}

/// A guest's cart holding `lines`, with an email and a Karnataka address: (cart id, token).
pub async fn ready_guest_cart(app: &TestApp, lines: &[(&str, i64)]) -> (String, String) {
    let (cart, token) = guest_cart(app).await;
    for (variant, quantity) in lines {
        let added = add_line(app, &cart, &token, variant, *quantity).await;
        assert_eq!(added.status, 200, "{}", added.text);
    }
    let body = json!({"email": unique_email("guest"), "shipping_address": karnataka()});
    let patched = call(app, Method::PATCH, &format!("/api/v1/carts/{cart}"), None, Some(&token), Some(body)).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    (cart, token)
}

/// A guest checks out a ready cart with the manual provider; the 201's body.
pub async fn guest_order(app: &TestApp, lines: &[(&str, i64)]) -> (Value, String) {
    let (cart, token) = ready_guest_cart(app, lines).await;
    let placed = checkout(
        &app.base,
        &app.client,
        Some(&new_key()),
        None,
        Some(&token),
        json!({"cart_id": cart, "payment_provider": "manual"}),
    )
    .await;
    assert_eq!(placed.status, 201, "{}", placed.text);
    let order_token = placed.body["order_token"].as_str().expect("a guest's order token").to_owned();
    (placed.body, order_token)
}

pub fn new_key() -> String {
    format!("key-{}", ulid::Ulid::new())
}

async fn variant_stock(app: &TestApp, variant: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT stock FROM variants WHERE id = $1")
        .bind(variant)
        .fetch_one(app.state.db.pool())
        .await
        .expect("variant row")
}

/// Guards the worked example end to end for a guest: the order snapshots every figure of the
/// priced cart (total 132988 with WELCOME10 and Karnataka GST), takes the stock, converts the
/// cart, and a later price edit leaves it unchanged; one key twice gives one order and
/// identical answers.
#[tokio::test]
async fn a_guest_checks_out_the_worked_example_once_with_snapshots() {
    let (app, shop, staff) = demo_app().await;
    let (cart, token) = ready_guest_cart(&app, &[(&shop.tshirt, 2), (&shop.novel, 1)]).await;
    let coupon = json!({"code": "WELCOME10"});
    let applied =
        call(&app, Method::POST, &format!("/api/v1/carts/{cart}/coupons"), None, Some(&token), Some(coupon)).await;
    assert_eq!(applied.status, 200, "{}", applied.text);
    assert_eq!(applied.body["total"], 132_988);

    let key = new_key();
    let body = json!({"cart_id": cart, "payment_provider": "manual", "expected_total": 132_988});
    let first = checkout(&app.base, &app.client, Some(&key), None, Some(&token), body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let order = &first.body;
    assert_eq!(order["status"], "pending_payment");
    assert_eq!(
        ["subtotal", "discount_total", "shipping_total", "tax_total", "total"].map(|k| order[k].as_i64()),
        [applied.body["subtotal"].as_i64(), Some(12_980), Some(0), Some(16_168), Some(132_988)],
        "{order:#}"
    );
    assert_eq!(order["coupon_codes"], json!(["WELCOME10"]));
    assert_eq!(order["currency"], "INR");
    assert_eq!(order["shipping_address"]["region"], "KA");
    assert_eq!(order["customer_id"], Value::Null);
    let items = order["items"].as_array().expect("items");
    assert_eq!(items.len(), 2);
    assert_eq!((items[0]["title"].as_str(), items[0]["quantity"].as_i64()), (Some("Cotton T-Shirt"), Some(2)));
    assert_eq!(items[0]["unit_price"], 49_900);
    let plugins: Vec<&str> =
        items[0]["adjustments"].as_array().unwrap().iter().filter_map(|a| a["plugin"].as_str()).collect();
    assert!(plugins.contains(&"coupons") && plugins.contains(&"tax"), "adjustments keep their plugin: {plugins:?}");
    assert!(order["number"].as_i64().is_some_and(|n| n > 1000), "a human number: {}", order["number"]);
    assert_eq!(order["payment"]["provider"], "manual");
    assert_eq!(order["payment_session"]["provider"], "manual");
    assert_eq!(order["payment_session"]["amount"], 132_988);
    assert!(order["payment_session"]["instructions"].as_str().is_some_and(|s| !s.is_empty()));
    assert_eq!(order["payment_error"], Value::Null);
    assert_eq!(order["history"][0]["to"], "pending_payment");
    assert_eq!(order["history"][0]["actor"], "guest");
    let order_token = order["order_token"].as_str().expect("order_token").to_owned();

    // The same key and body: the same answer, marked replayed, no second order.
    let again = checkout(&app.base, &app.client, Some(&key), None, Some(&token), body.clone()).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.header("idempotent-replayed"), Some("true"));
    assert_eq!(again.body, first.body, "a replay returns the first body, the guest's token included");
    assert!(first.header("idempotent-replayed").is_none());
    let orders: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM orders").fetch_one(app.state.db.pool()).await.expect("count");
    assert_eq!(orders, 1);
    assert_eq!((variant_stock(&app, &shop.tshirt).await, variant_stock(&app, &shop.novel).await), (48, 49));

    // The cart is gone from the storefront; a new key on it is 409 `cart_converted`.
    let read = call(&app, Method::GET, &format!("/api/v1/carts/{cart}"), None, Some(&token), None).await;
    read.assert_problem(404, "not_found");
    let converted = checkout(&app.base, &app.client, Some(&new_key()), None, Some(&token), body).await;
    converted.assert_problem(409, "cart_converted");

    // A later price edit leaves the order as sold; the guest reads it with the order token.
    let edited =
        app.patch(&format!("/api/v1/admin/variants/{}", shop.tshirt), Some(&staff), json!({"price": 99_900})).await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    let order_id = order["id"].as_str().unwrap();
    let mut request = app.client.get(app.url(&format!("/api/v1/orders/{order_id}")));
    request = request.header("X-Order-Token", &order_token);
    let read = TestApp::read(request.send().await.unwrap()).await;
    assert_eq!(read.status, 200, "{}", read.text);
    assert_eq!(read.body["items"][0]["unit_price"], 49_900);
    assert_eq!(read.body["total"], 132_988);
}

/// Guards API.md's idempotency rules: the key is required, another body with the same key is
/// 422, refusals of the business logic are stored and replayed, validation is not stored.
#[tokio::test]
async fn idempotency_keys_are_required_scoped_and_replay_refusals() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 1).await["variants"][0]);
    let (cart, token) = ready_guest_cart(&app, &[(&mug, 1)]).await;
    let body = json!({"cart_id": cart, "payment_provider": "manual"});

    let missing = checkout(&app.base, &app.client, None, None, Some(&token), body.clone()).await;
    missing.assert_problem(422, "idempotency_key_required");
    let long = "k".repeat(256);
    let too_long = checkout(&app.base, &app.client, Some(&long), None, Some(&token), body.clone()).await;
    too_long.assert_problem(422, "validation_failed");

    // Validation is not stored: the same key with a fixed body runs.
    let key = new_key();
    let bad = json!({"cart_id": cart, "payment_provider": "bitcoin"});
    let refused = checkout(&app.base, &app.client, Some(&key), None, Some(&token), bad).await;
    refused.assert_problem(422, "validation_failed");
    assert!(refused.text.contains("payment_provider"), "{}", refused.text);

    // Stock runs out under the cart: 409 names the line, and the refusal is replayed as it was.
    let taken = app.patch(&format!("/api/v1/admin/variants/{mug}"), Some(&staff.access), json!({"stock": 0})).await;
    assert_eq!(taken.status, 200, "{}", taken.text);
    let short = checkout(&app.base, &app.client, Some(&key), None, Some(&token), body.clone()).await;
    short.assert_problem(409, "insufficient_stock");
    assert_eq!(short.body["lines"][0]["available"], 0, "{}", short.text);
    assert_eq!(short.body["available"], 0);
    let restocked = app.patch(&format!("/api/v1/admin/variants/{mug}"), Some(&staff.access), json!({"stock": 5})).await;
    assert_eq!(restocked.status, 200);
    let replayed = checkout(&app.base, &app.client, Some(&key), None, Some(&token), body.clone()).await;
    replayed.assert_problem(409, "insufficient_stock");
    assert_eq!(replayed.header("idempotent-replayed"), Some("true"));
    assert_eq!(replayed.body, short.body);

    // The same key with another body is 422; a new key places the order.
    let other = json!({"cart_id": cart, "payment_provider": "manual", "expected_total": 10_000});
    let reused = checkout(&app.base, &app.client, Some(&key), None, Some(&token), other).await;
    reused.assert_problem(422, "idempotency_key_reused");
    let placed = checkout(&app.base, &app.client, Some(&new_key()), None, Some(&token), body).await;
    assert_eq!(placed.status, 201, "{}", placed.text);
}

/// Guards the refusals that change nothing: `price_changed` with the new total, an empty cart,
/// lines that can no longer be sold, a guest without email or address, and the unpaid cap.
#[tokio::test]
async fn checkout_refuses_what_cannot_be_sold_and_changes_nothing() {
    let app = spawn_app_with(|c| c.orders.max_unpaid = 1).await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 10).await["variants"][0]);

    let (cart, token) = ready_guest_cart(&app, &[(&mug, 2)]).await;
    let stale = json!({"cart_id": cart, "payment_provider": "manual", "expected_total": 19_999});
    let changed = checkout(&app.base, &app.client, Some(&new_key()), None, Some(&token), stale).await;
    changed.assert_problem(409, "price_changed");
    assert_eq!((changed.body["total"].as_i64(), changed.body["currency"].as_str()), (Some(20_000), Some("INR")));
    assert_eq!(variant_stock(&app, &mug).await, 10, "nothing taken");

    let (empty, empty_token) = guest_cart(&app).await;
    let body = json!({"cart_id": empty, "payment_provider": "manual", "email": "a@example.com",
        "shipping_address": karnataka()});
    let refused = checkout(&app.base, &app.client, Some(&new_key()), None, Some(&empty_token), body).await;
    refused.assert_problem(422, "cart_empty");

    let (bare, bare_token) = guest_cart(&app).await;
    assert_eq!(add_line(&app, &bare, &bare_token, &mug, 1).await.status, 200);
    let no_email = json!({"cart_id": bare, "payment_provider": "manual", "shipping_address": karnataka()});
    let refused = checkout(&app.base, &app.client, Some(&new_key()), None, Some(&bare_token), no_email).await;
    refused.assert_problem(422, "validation_failed");
    assert!(refused.text.contains("email"), "{}", refused.text);
    let no_address = json!({"cart_id": bare, "payment_provider": "manual", "email": "b@example.com"});
    let refused = checkout(&app.base, &app.client, Some(&new_key()), None, Some(&bare_token), no_address).await;
    refused.assert_problem(422, "validation_failed");
    assert!(refused.text.contains("shipping_address"), "{}", refused.text);

    // An archived product blocks checkout, naming the line.
    let jug = simple_product(&app, &staff.access, "Jug", 5_000, 3).await;
    let (cart2, token2) = ready_guest_cart(&app, &[(&id(&jug["variants"][0]), 1)]).await;
    let archived = app.delete(&format!("/api/v1/admin/products/{}", id(&jug)), Some(&staff.access)).await;
    assert!(archived.status.is_success(), "{}", archived.text);
    let body = json!({"cart_id": cart2, "payment_provider": "manual"});
    let blocked = checkout(&app.base, &app.client, Some(&new_key()), None, Some(&token2), body).await;
    blocked.assert_problem(409, "line_unavailable");
    assert!(blocked.body["lines"][0]["line_id"].as_str().is_some_and(|l| l.starts_with("line_")), "{}", blocked.text);

    // One unpaid order per customer here (`orders.max_unpaid = 1`).
    let (_, _, customer) = app.customer().await;
    let mut carts = Vec::new();
    for _ in 0..2 {
        let cart = call(&app, Method::POST, "/api/v1/carts", Some(&customer.access), None, None).await;
        let cart = id(&cart.body);
        let line = json!({"variant_id": mug, "quantity": 1});
        let path = format!("/api/v1/carts/{cart}/lines");
        assert_eq!(call(&app, Method::POST, &path, Some(&customer.access), None, Some(line)).await.status, 200);
        let body = json!({"cart_id": cart, "payment_provider": "manual", "shipping_address": karnataka()});
        carts.push(checkout(&app.base, &app.client, Some(&new_key()), Some(&customer.access), None, body).await);
    }
    assert_eq!(carts[0].status, 201, "{}", carts[0].text);
    assert_eq!(carts[0].body["email"], customer_email(&app, &customer.access).await);
    assert_eq!(carts[0].body["order_token"], Value::Null, "a customer reads orders with their login");
    carts[1].assert_problem(409, "too_many_unpaid_orders");
}

async fn customer_email(app: &TestApp, access: &str) -> Value {
    app.get("/api/v1/me", Some(access)).await.body["email"].clone()
}

/// Guards the checkout side of the IDOR rule: someone else's cart, a wrong cart token or no
/// credential is 404 and places nothing; an invalid access token is 401.
#[tokio::test]
async fn checkout_of_someone_elses_cart_is_404() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 10).await["variants"][0]);
    let (cart, _token) = ready_guest_cart(&app, &[(&mug, 1)]).await;
    let (_, _, stranger) = app.customer().await;
    let body = json!({"cart_id": cart, "payment_provider": "manual"});
    for (bearer, cart_token) in [(Some(stranger.access.as_str()), None), (None, Some("ct_wrong")), (None, None)] {
        let refused = checkout(&app.base, &app.client, Some(&new_key()), bearer, cart_token, body.clone()).await;
        refused.assert_problem(404, "not_found");
    }
    let (_, staff_cart_token) = guest_cart(&app).await;
    let refused = checkout(&app.base, &app.client, Some(&new_key()), None, Some(&staff_cart_token), body.clone()).await;
    refused.assert_problem(404, "not_found");
    let expired = checkout(&app.base, &app.client, Some(&new_key()), Some("not-a-jwt"), None, body).await;
    expired.assert_problem(401, "unauthenticated");
    assert_eq!(variant_stock(&app, &mug).await, 10);
}

/// Guards "an order whose total is 0 is `paid` at once": no session is needed.
#[tokio::test]
async fn a_free_order_is_paid_at_once() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let sample = id(&simple_product(&app, &staff.access, "Sample", 0, 3).await["variants"][0]);
    let (order, _) = guest_order(&app, &[(&sample, 1)]).await;
    assert_eq!(order["status"], "paid", "{order:#}");
    assert_eq!(order["payment"]["status"], "paid");
    assert_eq!(order["payment_session"], Value::Null);
    let history: Vec<(&str, &str)> = order["history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| (h["to"].as_str().unwrap(), h["actor"].as_str().unwrap()))
        .collect();
    assert_eq!(history, [("pending_payment", "guest"), ("paid", "system")]);
}

/// Guards `POST /orders/{id}/payment`: the owner gets a new session for an unpaid order; anyone
/// else 404.
#[tokio::test]
async fn the_owner_asks_for_a_payment_session_again() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 10).await["variants"][0]);
    let (order, order_token) = guest_order(&app, &[(&mug, 1)]).await;
    let path = format!("/api/v1/orders/{}/payment", order["id"].as_str().unwrap());
    let asked =
        TestApp::read(app.client.post(app.url(&path)).header("X-Order-Token", &order_token).send().await.unwrap())
            .await;
    assert_eq!(asked.status, 200, "{}", asked.text);
    assert_eq!((asked.body["provider"].as_str(), asked.body["amount"].as_i64()), (Some("manual"), Some(10_000)));
    let stranger =
        TestApp::read(app.client.post(app.url(&path)).header("X-Order-Token", "ot_nope").send().await.unwrap()).await;
    stranger.assert_problem(404, "not_found");
}

/// Guards the storefront journey end to end: a guest builds the worked example's cart
/// and applies WELCOME10, logs in (the guest cart becomes the customer's), sets a Karnataka
/// address, checks out twice with one `Idempotency-Key` (one order, identical replies), and the
/// order's snapshot totals 132988; a later price edit leaves it unchanged; the customer lists it.
#[tokio::test]
async fn the_storefront_journey_guest_cart_login_merge_checkout_once() {
    let (app, shop, staff) = demo_app().await;
    let (email, pw) = (unique_email("journey"), password());
    assert_eq!(app.register(&email, &pw).await.status, 201);

    let (cart, token) = guest_cart(&app).await;
    assert_eq!(add_line(&app, &cart, &token, &shop.tshirt, 2).await.status, 200);
    assert_eq!(add_line(&app, &cart, &token, &shop.novel, 1).await.status, 200);
    let path = format!("/api/v1/carts/{cart}/coupons");
    let applied = call(&app, Method::POST, &path, None, Some(&token), Some(json!({"code": "WELCOME10"}))).await;
    assert_eq!(applied.status, 200, "{}", applied.text);

    let login = app
        .post("/api/v1/auth/login", None, json!({"email": email, "password": pw, "cart_id": cart, "cart_token": token}))
        .await;
    assert_eq!(login.status, 200, "{}", login.text);
    assert_eq!(login.body["cart_id"], cart.as_str(), "the guest cart became the customer's");
    let access = login.body["access_token"].as_str().unwrap().to_owned();

    let cart_path = format!("/api/v1/carts/{cart}");
    let body = json!({"shipping_address": karnataka()});
    let patched = call(&app, Method::PATCH, &cart_path, Some(&access), None, Some(body)).await;
    assert_eq!((patched.status.as_u16(), patched.body["total"].as_i64()), (200, Some(132_988)), "{}", patched.text);

    let key = new_key();
    let body = json!({"cart_id": cart, "payment_provider": "manual", "expected_total": 132_988});
    let first = checkout(&app.base, &app.client, Some(&key), Some(&access), None, body.clone()).await;
    assert_eq!(first.status, 201, "{}", first.text);
    let second = checkout(&app.base, &app.client, Some(&key), Some(&access), None, body).await;
    assert_eq!(second.status, 201, "{}", second.text);
    assert_eq!(second.body, first.body, "identical replies");
    assert_eq!(second.header("idempotent-replayed"), Some("true"));
    let order = &first.body;
    assert_eq!(order["email"], email.as_str());
    assert_eq!(order["customer_id"], login.body["user"]["id"]);
    assert_eq!(
        ["subtotal", "discount_total", "shipping_total", "tax_total", "fee_total", "total"].map(|k| order[k].as_i64()),
        [Some(129_800), Some(12_980), Some(0), Some(16_168), Some(0), Some(132_988)],
        "{order:#}"
    );
    assert_eq!(order["coupon_codes"], json!(["WELCOME10"]));

    // The confirmation mail, once: the replay queued nothing.
    app.run_job("mail").await;
    let number = format!("#{}", order["number"]);
    let mails: Vec<String> =
        app.mails().iter().map(|m| crate::orders::readable(m)).filter(|m| m.contains(&number)).collect();
    assert_eq!(mails.len(), 1, "{mails:#?}");
    assert!(mails[0].contains("₹1,329.88") && mails[0].contains(&email), "{}", mails[0]);

    let edited =
        app.patch(&format!("/api/v1/admin/variants/{}", shop.novel), Some(&staff), json!({"price": 10_000})).await;
    assert_eq!(edited.status, 200, "{}", edited.text);
    let mine = app.get("/api/v1/orders", Some(&access)).await;
    assert_eq!(mine.status, 200, "{}", mine.text);
    assert_eq!(mine.body["items"].as_array().map(Vec::len), Some(1), "one order: {}", mine.text);
    assert_eq!(mine.body["items"][0]["total"], 132_988);
    assert_eq!(mine.body["items"][0]["items"][1]["unit_price"], 30_000, "the novel as sold");
    assert_eq!(mine.body["next_cursor"], Value::Null);
}

/// Guards "stock changes reach the catalog's list cache on this instance at once": a cached
/// list page shows the last unit in stock; after it is sold the next read says sold out, well
/// inside the cache's TTL.
#[tokio::test]
async fn selling_the_last_unit_refreshes_the_cached_product_list() {
    let app = spawn_app_with(|c| c.catalog.cache_ttl = std::time::Duration::from_secs(600)).await;
    let staff = app.staff().await;
    let vase = id(&simple_product(&app, &staff.access, "Vase", 10_000, 1).await["variants"][0]);
    let in_stock = |body: &Value| body["items"][0]["in_stock"].as_bool();
    assert_eq!(in_stock(&app.get("/api/v1/products", None).await.body), Some(true));
    guest_order(&app, &[(&vase, 1)]).await;
    assert_eq!(in_stock(&app.get("/api/v1/products", None).await.body), Some(false), "not the cached page");
}
