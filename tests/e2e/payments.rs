//! Payments (issue 11): gateways bound to checkout. The `razorpay` plugin against the suite's
//! fake Razorpay, and `manual`, through the REST surface: sessions, verify, webhooks, the one
//! `paid` transition under races, expiry asking the gateway, late and second payments refunded,
//! staff refunds with idempotency, and review flags for payments that do not match.

use std::time::Duration;

use reqwest::Method;
use secrecy::SecretString;
use serde_json::{Value, json};

use crate::{
    carts::{add_line, call, guest_cart},
    checkout::{checkout, karnataka, new_key},
    helpers::{
        fake_razorpay::{Checkout, FakeConfig, FakeRazorpay, Fault, PayMethod, Webhook},
        plugins::{demo_chain, plugin, wasm},
        *,
    },
    pricing_preview::demo_shop,
    products::{id, simple_product},
};

const CAPTURE: &str = "POST /v1/payments/:id/capture";
const REFUND: &str = "POST /v1/payments/:id/refund";
const CREATE_ORDER: &str = "POST /v1/orders";

/// `[plugins.razorpay]`: the bundled plugin talking to `fake`, with `capture` mode.
pub fn razorpay(config: &mut commerce_engine::config::Config, fake: &FakeRazorpay, capture: &str) {
    let defaults = FakeConfig::default();
    let mut razorpay =
        plugin("razorpay", json!({"key_id": defaults.key_id, "api_base": fake.base_url(), "capture": capture}));
    razorpay.module = wasm("razorpay");
    razorpay.secrets = [("key_secret", defaults.key_secret), ("webhook_secret", defaults.webhook_secret)]
        .into_iter()
        .map(|(name, value)| (name.to_owned(), SecretString::from(value)))
        .collect();
    razorpay.allowed_hosts = vec!["127.0.0.1".to_owned()];
    razorpay.limits.timeout_ms = 10_000;
    razorpay.http.timeout = Duration::from_millis(1_500);
    config.plugins.insert("razorpay".to_owned(), razorpay);
    config.payments.providers = vec!["manual".to_owned(), "razorpay".to_owned()];
}

/// A shop taking Razorpay (`capture`: "automatic" or "manual") and one product (₹500, stock 100):
/// (app, staff token, variant id).
async fn shop(fake: &FakeRazorpay, capture: &str) -> (TestApp, String, String) {
    let app = spawn_app_with(|config| razorpay(config, fake, capture)).await;
    let staff = app.staff().await.access;
    let product = simple_product(&app, &staff, "Kurta", 50_000, 100).await;
    let variant = id(&product["variants"][0]);
    (app, staff, variant)
}

/// A guest checks out `quantity` of `variant` paying with `provider`: (the 201's body, order
/// token).
async fn guest_checkout(app: &TestApp, variant: &str, quantity: i64, provider: &str) -> (Value, String) {
    let (cart, token) = guest_cart(app).await;
    assert_eq!(add_line(app, &cart, &token, variant, quantity).await.status, 200);
    let body = json!({"email": unique_email("payer"), "shipping_address": karnataka()});
    let patched = call(app, Method::PATCH, &format!("/api/v1/carts/{cart}"), None, Some(&token), Some(body)).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let body = json!({"cart_id": cart, "payment_provider": provider});
    let placed = checkout(&app.base, &app.client, Some(&new_key()), None, Some(&token), body).await;
    assert_eq!(placed.status, 201, "{}", placed.text);
    let order_token = placed.body["order_token"].as_str().expect("order token").to_owned();
    (placed.body, order_token)
}

fn gateway_order(placed: &Value) -> String {
    placed["payment_session"]["client_data"]["order_id"]
        .as_str()
        .unwrap_or_else(|| panic!("no gateway order in {placed}"))
        .to_owned()
}

async fn verify(app: &TestApp, order: &str, order_token: &str, paid: &Checkout) -> TestResponse {
    let request = app
        .client
        .post(app.url(&format!("/api/v1/orders/{order}/payment/verify")))
        .header("X-Order-Token", order_token)
        .json(&json!(paid));
    TestApp::read(request.send().await.expect("sent")).await
}

async fn deliver(app: &TestApp, webhook: &Webhook) -> TestResponse {
    deliver_to(&app.client, &app.base, webhook).await
}

/// Delivers `webhook` to the engine at `base` (another instance, for races across instances).
async fn deliver_to(client: &reqwest::Client, base: &str, webhook: &Webhook) -> TestResponse {
    let mut request = client.post(format!("{base}/api/v1/webhooks/razorpay")).body(webhook.body.clone());
    for (name, value) in webhook.headers() {
        request = request.header(name, value);
    }
    TestApp::read(request.send().await.expect("sent")).await
}

async fn order_of(app: &TestApp, order: &str, order_token: &str) -> Value {
    let request = app.client.get(app.url(&format!("/api/v1/orders/{order}"))).header("X-Order-Token", order_token);
    let read = TestApp::read(request.send().await.expect("sent")).await;
    assert_eq!(read.status, 200, "{}", read.text);
    read.body
}

/// How many times the order's history reached `status`.
fn times_reached(order: &Value, status: &str) -> usize {
    order["history"].as_array().expect("history").iter().filter(|h| h["to"] == status && h["from"] != status).count()
}

async fn stock(app: &TestApp, variant: &str) -> i64 {
    sqlx::query_scalar::<_, i64>("SELECT stock FROM variants WHERE id = $1")
        .bind(variant)
        .fetch_one(app.state.db.pool())
        .await
        .expect("stock")
}

async fn count(app: &TestApp, sql: &str) -> i64 {
    sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sql.to_owned()))
        .fetch_one(app.state.db.pool())
        .await
        .expect("count")
}

/// Waits (up to 10 s) until every stored webhook event is processed: by the instance that
/// received it (in the background, right after answering) or by the `payments` job, run here.
async fn settle_events(app: &TestApp) {
    for _ in 0..200 {
        app.run_job("payments").await;
        if count(app, "SELECT COUNT(*) FROM payment_events WHERE state = 'received'").await == 0 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("webhook events still unprocessed after 10 s");
}

/// Waits (up to 10 s) until the order reaches `status`; the order then.
async fn eventually(app: &TestApp, order: &str, order_token: &str, status: &str) -> Value {
    for _ in 0..200 {
        let read = order_of(app, order, order_token).await;
        if read["status"] == status {
            return read;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("order {order} never reached {status}: {}", order_of(app, order, order_token).await)
}

async fn refund(app: &TestApp, staff: &str, order: &str, key: &str, body: Value) -> TestResponse {
    let request = app
        .client
        .post(app.url(&format!("/api/v1/admin/orders/{order}/refunds")))
        .bearer_auth(staff)
        .header("Idempotency-Key", key)
        .json(&body);
    TestApp::read(request.send().await.expect("sent")).await
}

/// Guards the storefront journey with Razorpay: register → cart → WELCOME10 → checkout
/// with `razorpay` (the session carries the key id and gateway order) → pay at the fake → verify
/// → webhooks (delivered twice) → `paid` exactly once → a partial refund keeps it `paid` → the
/// rest cancels it and returns the stock; a replayed refund key refunds nothing more.
#[tokio::test]
async fn the_razorpay_journey_pays_once_and_refunds_to_cancellation() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let app = spawn_app_with(|config| {
        demo_chain(config);
        razorpay(config, &fake, "automatic");
    })
    .await;
    let staff = app.staff().await.access;
    let shop = demo_shop(&app, &staff).await;
    let (email, pw) = (unique_email("rzp"), password());
    assert_eq!(app.register(&email, &pw).await.status, 201);
    let login = app.login(&email, &pw).await;
    let access = login.body["access_token"].as_str().expect("access").to_owned();

    let made = call(&app, Method::POST, "/api/v1/carts", Some(&access), None, None).await;
    let cart = id(&made.body);
    let before = stock(&app, &shop.tshirt).await;
    let line = json!({"variant_id": shop.tshirt, "quantity": 2});
    let added = call(&app, Method::POST, &format!("/api/v1/carts/{cart}/lines"), Some(&access), None, Some(line)).await;
    assert_eq!(added.status, 200, "{}", added.text);
    let coupon = json!({"code": "WELCOME10"});
    let applied =
        call(&app, Method::POST, &format!("/api/v1/carts/{cart}/coupons"), Some(&access), None, Some(coupon)).await;
    assert_eq!(applied.status, 200, "{}", applied.text);
    let address = json!({"shipping_address": karnataka()});
    let patched = call(&app, Method::PATCH, &format!("/api/v1/carts/{cart}"), Some(&access), None, Some(address)).await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    let total = patched.body["total"].as_i64().expect("total");

    let body = json!({"cart_id": cart, "payment_provider": "razorpay"});
    let placed = checkout(&app.base, &app.client, Some(&new_key()), Some(&access), None, body).await;
    assert_eq!(placed.status, 201, "{}", placed.text);
    let order = id(&placed.body);
    let session = &placed.body["payment_session"];
    assert_eq!(session["provider"], "razorpay");
    assert_eq!(session["amount"], total);
    assert_eq!(session["client_data"]["key"], FakeConfig::default().key_id.as_str());
    let gateway_order = gateway_order(&placed.body);
    assert_eq!(fake.order(&gateway_order).expect("created at the gateway")["amount"], total);

    // Asking again reuses the gateway order while it can be paid.
    let again = app.post(&format!("/api/v1/orders/{order}/payment"), Some(&access), json!({})).await;
    assert_eq!(again.status, 200, "{}", again.text);
    assert_eq!(again.body["client_data"]["order_id"], gateway_order.as_str());
    assert_eq!(fake.calls(CREATE_ORDER), 1);

    let paid = fake.pay(&gateway_order, PayMethod::Card);
    let request = app
        .client
        .post(app.url(&format!("/api/v1/orders/{order}/payment/verify")))
        .bearer_auth(&access)
        .json(&json!(paid));
    let verified = TestApp::read(request.send().await.expect("sent")).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    assert_eq!(verified.body["status"], "paid");
    assert_eq!(verified.body["payment"]["gateway_payment_id"], paid.razorpay_payment_id.as_str());
    for webhook in fake.events().iter().chain(fake.events().iter()) {
        let delivered = deliver(&app, webhook).await;
        assert_eq!(delivered.status, 200, "{}", delivered.text);
    }
    settle_events(&app).await;
    let read = app.get(&format!("/api/v1/orders/{order}"), Some(&access)).await;
    assert_eq!(read.body["status"], "paid");
    assert_eq!(times_reached(&read.body, "paid"), 1, "one paid transition: {}", read.text);
    assert_eq!(fake.calls(CAPTURE), 0, "automatic capture: the engine never captures");

    let partial = refund(&app, &staff, &order, "refund-1", json!({"amount": 50_000, "reason": "one shirt back"})).await;
    assert_eq!(partial.status, 201, "{}", partial.text);
    assert_eq!(partial.body["refund"]["state"], "processed", "{}", partial.text);
    assert_eq!(partial.body["order"]["status"], "paid", "a partial refund keeps the status");
    assert_eq!(partial.body["order"]["payment"]["refunded_total"], 50_000);
    assert_eq!(partial.body["order"]["payment"]["status"], "partially_refunded");
    let replayed =
        refund(&app, &staff, &order, "refund-1", json!({"amount": 50_000, "reason": "one shirt back"})).await;
    assert_eq!((replayed.status.as_u16(), replayed.header("idempotent-replayed")), (201, Some("true")));
    assert_eq!(replayed.body, partial.body, "identical replies");
    assert_eq!(fake.calls(REFUND), 1, "the replay refunded nothing");
    let other_body = refund(&app, &staff, &order, "refund-1", json!({"amount": 10_000})).await;
    other_body.assert_problem(422, "idempotency_key_reused");
    let too_much = refund(&app, &staff, &order, "refund-x", json!({"amount": total})).await;
    too_much.assert_problem(422, "validation_failed");

    let rest = refund(&app, &staff, &order, "refund-2", json!({})).await;
    assert_eq!(rest.status, 201, "{}", rest.text);
    assert_eq!(rest.body["refund"]["amount"], total - 50_000);
    assert_eq!(rest.body["order"]["status"], "cancelled", "refunds reaching the total cancel a paid order");
    assert_eq!(rest.body["order"]["payment"]["status"], "refunded");
    assert_eq!(stock(&app, &shop.tshirt).await, before, "the stock came back");
    let payment = fake.payment(&paid.razorpay_payment_id).expect("payment");
    assert_eq!(payment["amount_refunded"], total, "refunded once in full at the gateway");
    let keys: Vec<String> =
        fake.requests(REFUND).iter().filter_map(|r| r.header("x-refund-idempotency").map(str::to_owned)).collect();
    assert_eq!(keys.len(), 2);
    assert!(keys.iter().all(|k| k.starts_with("rk_") && k.len() == 35 && k != "refund-1"), "{keys:?}");

    // The refund webhooks the gateway sends later change nothing further.
    for webhook in fake.events().iter().filter(|w| w.event.starts_with("refund.")) {
        assert_eq!(deliver(&app, webhook).await.status, 200);
    }
    settle_events(&app).await;
    let read = app.get(&format!("/api/v1/orders/{order}"), Some(&access)).await;
    assert_eq!(read.body["payment"]["refunded_total"], total);
    assert_eq!(read.body["payment"]["review"], Value::Null, "{}", read.text);
    app.run_job("mail").await;
    let refund_mails = app.mails().iter().filter(|m| m.contains("We have refunded")).count();
    assert_eq!(refund_mails, 2, "one mail per refund");
}

/// Guards the same journey with `manual`: staff mark the order paid, record a partial refund
/// (no gateway), then the rest, which cancels the order and returns its stock.
#[tokio::test]
async fn the_manual_journey_is_paid_and_refunded_by_staff() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let (app, staff, variant) = shop(&fake, "automatic").await;
    let (placed, token) = guest_checkout(&app, &variant, 2, "manual").await;
    let order = id(&placed);
    assert!(placed["payment_session"]["instructions"].as_str().is_some_and(|i| i.contains("bank transfer")));
    assert_eq!(stock(&app, &variant).await, 98);
    let verify = verify(
        &app,
        &order,
        &token,
        &Checkout {
            razorpay_payment_id: "pay_x".into(),
            razorpay_order_id: "order_x".into(),
            razorpay_signature: "00".into(),
        },
    )
    .await;
    verify.assert_problem(422, "payment_verification_failed");
    let paid =
        app.post(&format!("/api/v1/admin/orders/{order}/transitions"), Some(&staff), json!({"to": "paid"})).await;
    assert_eq!(paid.status, 200, "{}", paid.text);
    let partial = refund(&app, &staff, &order, "m-1", json!({"amount": 30_000})).await;
    assert_eq!(
        (partial.status.as_u16(), partial.body["refund"]["state"].clone()),
        (201, json!("processed")),
        "{}",
        partial.text
    );
    assert_eq!(partial.body["order"]["status"], "paid");
    let rest = refund(&app, &staff, &order, "m-2", json!({"reason": "returned"})).await;
    assert_eq!(rest.status, 201, "{}", rest.text);
    assert_eq!(rest.body["refund"]["amount"], 70_000);
    assert_eq!(rest.body["order"]["status"], "cancelled");
    assert_eq!(stock(&app, &variant).await, 100);
    assert_eq!(fake.calls("*"), 0, "manual payments never call a gateway");
}

/// Opens a gateway order for `amount` at the fake, straight through its API, and records it as
/// another session of `order`: what two sessions opened at once (or one for another amount)
/// leave behind. Its id.
async fn extra_session(app: &TestApp, fake: &FakeRazorpay, order: &str, amount: i64) -> String {
    let created: Value = app
        .client
        .post(format!("{}/v1/orders", fake.base_url()))
        .basic_auth(FakeConfig::default().key_id, Some(FakeConfig::default().key_secret))
        .json(&json!({"amount": amount, "currency": "INR", "receipt": "extra", "notes": {"order_id": order}}))
        .send()
        .await
        .expect("sent")
        .json()
        .await
        .expect("json");
    let gateway_order = created["id"].as_str().expect("id").to_owned();
    sqlx::query(
        "INSERT INTO payment_sessions (provider, gateway_order_id, order_id, client_payload, created_at) \
         VALUES ('razorpay', $1, $2, '{}', 1)",
    )
    .bind(&gateway_order)
    .bind(order)
    .execute(app.state.db.pool())
    .await
    .expect("another session");
    gateway_order
}

/// Guards webhook intake: a bad signature is 401 and keeps nothing; an unknown provider is 404;
/// an event type the shop does not use and an event for no order of ours are acknowledged.
#[tokio::test]
async fn webhooks_are_verified_before_anything_is_kept() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let (app, _, variant) = shop(&fake, "automatic").await;
    let (placed, _) = guest_checkout(&app, &variant, 1, "razorpay").await;
    let paid = fake.pay(&gateway_order(&placed), PayMethod::Upi);
    let mut forged = fake.webhook("payment.captured", &paid.razorpay_payment_id);
    forged.signature = "0".repeat(64);
    deliver(&app, &forged).await.assert_problem(401, "webhook_signature_invalid");
    let mut tampered = fake.webhook("payment.captured", &paid.razorpay_payment_id);
    tampered.body.extend_from_slice(b" ");
    deliver(&app, &tampered).await.assert_problem(401, "webhook_signature_invalid");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_events").await, 0, "nothing kept");

    let mut request = app.client.post(app.url("/api/v1/webhooks/stripe")).body("{}");
    for (name, value) in forged.headers() {
        request = request.header(name, value);
    }
    let unknown = TestApp::read(request.send().await.expect("sent")).await;
    unknown.assert_problem(404, "not_found");
    assert!(unknown.text.contains("payment provider `stripe` is not configured"), "{}", unknown.text);

    // A verified delivery of an event type the shop does not use.
    let captured = fake.webhook("payment.captured", &paid.razorpay_payment_id);
    let text = String::from_utf8(captured.body.clone()).expect("utf-8").replace("payment.captured", "invoice.paid");
    let other = Webhook { body: text.into_bytes(), ..captured.clone() };
    let other = Webhook { signature: sign(&other.body), ..other };
    let ignored = deliver(&app, &other).await;
    assert_eq!((ignored.status.as_u16(), ignored.body["outcome"].clone()), (200, json!("ignored")), "{}", ignored.text);

    let stored = deliver(&app, &captured).await;
    assert_eq!((stored.status.as_u16(), stored.body["outcome"].clone()), (200, json!("stored")));
    let again = deliver(&app, &captured).await;
    assert_eq!((again.status.as_u16(), again.body["outcome"].clone()), (200, json!("duplicate")));
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_events WHERE source = 'webhook'").await, 1);

    // The raw body is kept byte for byte, and forgotten 30 days after processing.
    settle_events(&app).await;
    let kept: Vec<u8> = sqlx::query_scalar::<_, String>("SELECT body FROM payment_events WHERE source = 'webhook'")
        .fetch_one(app.state.db.pool())
        .await
        .expect("body")
        .into_bytes();
    assert_eq!(kept, captured.body);
    app.clock.advance(Duration::from_secs(29 * 24 * 3600));
    app.run_job("payments").await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_events WHERE body IS NOT NULL").await, 1);
    app.clock.advance(Duration::from_secs(2 * 24 * 3600));
    app.run_job("payments").await;
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_events WHERE body IS NOT NULL").await, 0);
}

pub fn sign(body: &[u8]) -> String {
    use hmac::{Hmac, Mac};
    let mut mac = Hmac::<sha2::Sha256>::new_from_slice(FakeConfig::default().webhook_secret.as_bytes()).expect("key");
    mac.update(body);
    hex::encode(mac.finalize().into_bytes())
}

/// Guards verification: a tampered signature and a payment made on someone else's gateway order
/// are 422 `payment_verification_failed` and change nothing; the order stays unpaid.
#[tokio::test]
async fn a_result_that_does_not_verify_changes_nothing() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let (app, _, variant) = shop(&fake, "automatic").await;
    let (mine, token) = guest_checkout(&app, &variant, 1, "razorpay").await;
    let (theirs, _) = guest_checkout(&app, &variant, 1, "razorpay").await;
    let order = id(&mine);

    let mut tampered = fake.pay(&gateway_order(&mine), PayMethod::Card);
    let good_signature = tampered.razorpay_signature.clone();
    tampered.razorpay_signature = format!("{}00", &good_signature[..62]);
    verify(&app, &order, &token, &tampered).await.assert_problem(422, "payment_verification_failed");

    // A genuine payment, but on another order's gateway order (same amount): the client names
    // it, the engine checks against its own record.
    let elsewhere = fake.pay(&gateway_order(&theirs), PayMethod::Card);
    verify(&app, &order, &token, &elsewhere).await.assert_problem(422, "payment_verification_failed");
    let read = order_of(&app, &order, &token).await;
    assert_eq!(read["status"], "pending_payment", "{read}");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_events").await, 0);

    tampered.razorpay_signature = good_signature;
    let verified = verify(&app, &order, &token, &tampered).await;
    assert_eq!((verified.status.as_u16(), verified.body["status"].clone()), (200, json!("paid")), "{}", verified.text);
    let again = verify(&app, &order, &token, &tampered).await;
    assert_eq!((again.status.as_u16(), again.body["status"].clone()), (200, json!("paid")), "a retried verify");
}

/// Guards the order-independence of payment reports, with manual capture: the webhook before
/// verify, duplicates and out-of-order events (captured before authorized) end in one capture
/// call and one `paid`.
#[tokio::test]
async fn webhook_before_verify_duplicates_and_reordering_pay_once() {
    let fake = FakeRazorpay::start(FakeConfig { auto_capture: false, ..FakeConfig::default() }).await;
    let (app, _, variant) = shop(&fake, "manual").await;
    let (placed, token) = guest_checkout(&app, &variant, 1, "razorpay").await;
    let order = id(&placed);
    let paid = fake.pay(&gateway_order(&placed), PayMethod::Card);
    let authorized = fake.webhook("payment.authorized", &paid.razorpay_payment_id);
    assert_eq!(deliver(&app, &authorized).await.status, 200);
    let read = eventually(&app, &order, &token, "paid").await;
    assert_eq!(fake.calls(CAPTURE), 1);
    // Everything again, newest first, twice; then the verify.
    let mut later = fake.events();
    later.reverse();
    for webhook in later.iter().chain(later.iter()) {
        assert_eq!(deliver(&app, webhook).await.status, 200);
    }
    let verified = verify(&app, &order, &token, &paid).await;
    assert_eq!(verified.status, 200, "{}", verified.text);
    settle_events(&app).await;
    let read_after = order_of(&app, &order, &token).await;
    assert_eq!(times_reached(&read_after, "paid"), 1, "{read_after}");
    assert_eq!(fake.calls(CAPTURE), 1, "one capture call");
    assert_eq!(read["payment"]["gateway_payment_id"], paid.razorpay_payment_id.as_str());
}

/// Guards the race: for 50 orders, verify, the webhook and a duplicate of it arrive at
/// once (on PostgreSQL the duplicate at a second instance); each order ends with exactly one
/// capture call and one `paid` transition, and every verify answers the paid order.
#[tokio::test]
async fn fifty_orders_racing_verify_and_webhooks_capture_and_pay_once_each() {
    let fake = FakeRazorpay::start(FakeConfig { auto_capture: false, ..FakeConfig::default() }).await;
    let (app, _, variant) = shop(&fake, "manual").await;
    // On PostgreSQL the duplicate goes to a second engine instance on the same database.
    let peer = match app.state.db.backend() {
        commerce_engine::db::Backend::Postgres => Some(app.peer(|config| razorpay(config, &fake, "manual")).await),
        _ => None,
    };
    let duplicate_base = peer.as_ref().map_or(app.base.clone(), |p| p.base.clone());
    let mut orders = Vec::new();
    for _ in 0..50 {
        let (placed, token) = guest_checkout(&app, &variant, 1, "razorpay").await;
        let paid = fake.pay(&gateway_order(&placed), PayMethod::Card);
        let webhook = fake.webhook("payment.authorized", &paid.razorpay_payment_id);
        orders.push((id(&placed), token, paid, webhook));
    }
    let races = orders.iter().map(|(order, token, paid, webhook)| {
        let (app, duplicate_base) = (&app, &duplicate_base);
        async move {
            let (verified, first, second) = tokio::join!(
                verify(app, order, token, paid),
                deliver(app, webhook),
                deliver_to(&app.client, duplicate_base, webhook)
            );
            assert_eq!(verified.status, 200, "{}", verified.text);
            assert_eq!(verified.body["status"], "paid", "verify answers once the capture is done");
            assert_eq!((first.status.as_u16(), second.status.as_u16()), (200, 200));
        }
    });
    futures_join_all(races).await;
    settle_events(&app).await;
    for (order, token, paid, _) in &orders {
        let read = eventually(&app, order, token, "paid").await;
        assert_eq!(times_reached(&read, "paid"), 1, "{read}");
        assert_eq!(fake.payment(&paid.razorpay_payment_id).expect("payment")["status"], "captured");
    }
    assert_eq!(fake.calls(CAPTURE), 50, "exactly one capture call per order");
    let paid_moves = count(&app, "SELECT COUNT(*) FROM order_events WHERE to_status = 'paid'").await;
    assert_eq!(paid_moves, 50, "exactly one paid transition per order");
}

/// Guards a gateway outage at session creation: the checkout still answers 201, the order stays
/// `pending_payment` with `payment_error`, and `POST /orders/{id}/payment` succeeds once the
/// gateway is back; a timeout behaves the same.
#[tokio::test]
async fn a_gateway_down_at_checkout_leaves_an_unpaid_order_that_can_pay_later() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let (app, _, variant) = shop(&fake, "automatic").await;
    fake.fault_next(CREATE_ORDER, 1, Fault::Status(503));
    let (placed, token) = guest_checkout(&app, &variant, 1, "razorpay").await;
    assert_eq!(placed["status"], "pending_payment");
    assert_eq!(placed["payment_session"], Value::Null);
    assert_eq!(placed["payment_error"]["code"], "payment_provider_error");
    assert_eq!(placed["payment_error"]["provider"], "razorpay");
    let order = id(&placed);
    let path = format!("/api/v1/orders/{order}/payment");
    let ask = |app: &TestApp| {
        let request = app.client.post(app.url(&path)).header("X-Order-Token", token.clone());
        async move { TestApp::read(request.send().await.expect("sent")).await }
    };
    fake.fault_next(CREATE_ORDER, 1, Fault::Hang(Duration::from_secs(3)));
    ask(&app).await.assert_problem(502, "payment_provider_error");
    let session = ask(&app).await;
    assert_eq!(session.status, 200, "{}", session.text);
    let gateway_order = session.body["client_data"]["order_id"].as_str().expect("gateway order").to_owned();
    let paid = fake.pay(&gateway_order, PayMethod::Card);
    let verified = verify(&app, &order, &token, &paid).await;
    assert_eq!((verified.status.as_u16(), verified.body["status"].clone()), (200, json!("paid")), "{}", verified.text);
}

/// Guards the review flag: a payment whose amount is not the order's never pays it; the event is
/// kept and `GET /admin/orders?payment_review=true` finds the order. (The gateway order was
/// opened for another amount, as a gateway that reports a different amount would.)
#[tokio::test]
async fn a_payment_of_the_wrong_amount_is_flagged_never_paid() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let (app, staff, variant) = shop(&fake, "automatic").await;
    let (placed, token) = guest_checkout(&app, &variant, 1, "razorpay").await;
    let order = id(&placed);
    let cheap_order = extra_session(&app, &fake, &order, 100).await;
    let paid = fake.pay(&cheap_order, PayMethod::Card);
    let captured = fake.webhook("payment.captured", &paid.razorpay_payment_id);
    assert_eq!(deliver(&app, &captured).await.status, 200);
    settle_events(&app).await;
    let read = order_of(&app, &order, &token).await;
    assert_eq!(read["status"], "pending_payment", "{read}");
    assert!(read["payment"]["review"].as_str().is_some_and(|r| r.contains("100 INR")), "{read}");
    let flagged = app.get("/api/v1/admin/orders?payment_review=true", Some(&staff)).await;
    let ids: Vec<&str> =
        flagged.body["items"].as_array().expect("items").iter().filter_map(|o| o["id"].as_str()).collect();
    assert_eq!(ids, vec![order.as_str()], "{}", flagged.text);
    let event_state = count(&app, "SELECT COUNT(*) FROM payment_events WHERE state = 'review'").await;
    assert_eq!(event_state, 1, "the event is kept");
}

/// Guards expiry against the gateway: an order paid at the gateway with no verify and no webhook
/// is settled (paid), not cancelled; one never paid is cancelled; a payment arriving after that
/// is refunded automatically, and the order's history and the shopper's mail say so.
#[tokio::test]
async fn expiry_asks_the_gateway_and_late_payments_are_refunded() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let (app, _, variant) = shop(&fake, "automatic").await;
    let (paid_quietly, paid_token) = guest_checkout(&app, &variant, 1, "razorpay").await;
    let (unpaid, unpaid_token) = guest_checkout(&app, &variant, 1, "razorpay").await;
    fake.pay(&gateway_order(&paid_quietly), PayMethod::Card);
    app.clock.advance(Duration::from_secs(31 * 60));
    app.run_job("order_expiry").await;
    let kept = order_of(&app, &id(&paid_quietly), &paid_token).await;
    assert_eq!(kept["status"], "paid", "{kept}");
    let order = id(&unpaid);
    let expired = order_of(&app, &order, &unpaid_token).await;
    assert_eq!(expired["status"], "cancelled");
    assert_eq!(stock(&app, &variant).await, 99);

    let late = fake.pay(&gateway_order(&unpaid), PayMethod::Upi);
    let captured = fake.webhook("payment.captured", &late.razorpay_payment_id);
    assert_eq!(deliver(&app, &captured).await.status, 200);
    settle_events(&app).await;
    let read = order_of(&app, &order, &unpaid_token).await;
    assert_eq!(read["status"], "cancelled");
    let refunds = read["payment"]["refunds"].as_array().expect("refunds").clone();
    assert_eq!(refunds.len(), 1, "{read}");
    assert_eq!((refunds[0]["cause"].clone(), refunds[0]["amount"].clone()), (json!("late_payment"), json!(50_000)));
    assert_eq!(fake.payment(&late.razorpay_payment_id).expect("payment")["amount_refunded"], 50_000);
    assert!(
        read["history"]
            .as_array()
            .expect("history")
            .iter()
            .any(|h| h["reason"].as_str().is_some_and(|r| r.contains("arrived after the order was cancelled")))
    );
    // The same event again refunds nothing more.
    assert_eq!(deliver(&app, &fake.webhook("payment.captured", &late.razorpay_payment_id)).await.status, 200);
    settle_events(&app).await;
    assert_eq!(fake.calls(REFUND), 1);
    app.run_job("mail").await;
    assert!(app.mails().iter().any(|m| m.contains("We have refunded") && m.contains("arrived after")));
}

/// Guards the owner's cancellation of a paid Razorpay order: refunded in full through the
/// gateway, stock back once.
#[tokio::test]
async fn a_customer_cancelling_a_paid_order_is_refunded_through_the_gateway() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let (app, _, variant) = shop(&fake, "automatic").await;
    let (placed, token) = guest_checkout(&app, &variant, 3, "razorpay").await;
    let order = id(&placed);
    let paid = fake.pay(&gateway_order(&placed), PayMethod::Card);
    assert_eq!(verify(&app, &order, &token, &paid).await.status, 200);
    let request = app.client.post(app.url(&format!("/api/v1/orders/{order}/cancel"))).header("X-Order-Token", &token);
    let cancelled = TestApp::read(request.send().await.expect("sent")).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["payment"]["refunds"][0]["cause"], "cancellation");
    assert_eq!(cancelled.body["payment"]["refunds"][0]["state"], "processed", "{}", cancelled.text);
    assert_eq!(fake.payment(&paid.razorpay_payment_id).expect("payment")["amount_refunded"], 150_000);
    assert_eq!(stock(&app, &variant).await, 100);
}

/// Guards a refund the gateway could not answer: it is kept `pending` and the `payments` job
/// sends it again with the same key, so it happens once.
#[tokio::test]
async fn a_refund_the_gateway_did_not_answer_is_retried_once() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let (app, staff, variant) = shop(&fake, "automatic").await;
    let (placed, token) = guest_checkout(&app, &variant, 1, "razorpay").await;
    let order = id(&placed);
    let paid = fake.pay(&gateway_order(&placed), PayMethod::Card);
    assert_eq!(verify(&app, &order, &token, &paid).await.status, 200);
    fake.fault_next(REFUND, 1, Fault::SlowResponse(Duration::from_secs(3)));
    let made = refund(&app, &staff, &order, "slow", json!({"amount": 10_000})).await;
    assert_eq!(made.status, 201, "{}", made.text);
    assert_eq!(made.body["refund"]["state"], "pending");
    // The gateway finishes the first request (the refund exists there), then the job resends.
    tokio::time::sleep(Duration::from_millis(3_200)).await;
    app.clock.advance(Duration::from_secs(120));
    settle_events(&app).await;
    let read = order_of(&app, &order, &token).await;
    assert_eq!(read["payment"]["refunds"][0]["state"], "processed", "{read}");
    assert_eq!(fake.payment(&paid.razorpay_payment_id).expect("payment")["amount_refunded"], 10_000, "once");
    assert_eq!(fake.calls(REFUND), 2, "sent twice, refunded once");
}

/// Guards a provider whose plugin may not reach its API host: the checkout's 201 reports the
/// refusal and nothing is called.
#[tokio::test]
async fn a_gateway_outside_its_allowed_hosts_cannot_open_a_session() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let app = spawn_app_with(|config| {
        razorpay(config, &fake, "automatic");
        config.plugins.get_mut("razorpay").expect("razorpay").allowed_hosts = vec!["api.razorpay.com".to_owned()];
    })
    .await;
    let staff = app.staff().await.access;
    let variant = id(&simple_product(&app, &staff, "Kurta", 50_000, 10).await["variants"][0]);
    let (placed, _) = guest_checkout(&app, &variant, 1, "razorpay").await;
    assert_eq!(placed["payment_error"]["code"], "payment_provider_error", "{placed}");
    assert_eq!(fake.calls("*"), 0);
}

/// Guards a capture that times out after the gateway captured: it is retried, the gateway's
/// "already captured" counts as success, and the order is paid once.
#[tokio::test]
async fn a_capture_that_timed_out_is_retried_and_already_captured_is_success() {
    let fake = FakeRazorpay::start(FakeConfig { auto_capture: false, ..FakeConfig::default() }).await;
    let (app, _, variant) = shop(&fake, "manual").await;
    let (placed, token) = guest_checkout(&app, &variant, 1, "razorpay").await;
    let order = id(&placed);
    let paid = fake.pay(&gateway_order(&placed), PayMethod::Card);
    fake.fault_next(CAPTURE, 1, Fault::SlowResponse(Duration::from_secs(3)));
    let verified = verify(&app, &order, &token, &paid).await;
    assert_eq!((verified.status.as_u16(), verified.body["status"].clone()), (200, json!("paid")), "{}", verified.text);
    assert_eq!(fake.calls(CAPTURE), 2, "timed out once, retried once");
    assert_eq!(fake.payment(&paid.razorpay_payment_id).expect("payment")["status"], "captured");
    assert_eq!(times_reached(&verified.body, "paid"), 1);
}

/// Guards Razorpay's minimum: an order under ₹1.00 gets no session and a clear `payment_error`
/// in its 201, never a 5xx, and no gateway call.
#[tokio::test]
async fn an_order_under_razorpays_minimum_gets_a_clear_payment_error() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let app = spawn_app_with(|config| razorpay(config, &fake, "automatic")).await;
    let staff = app.staff().await.access;
    let variant = id(&simple_product(&app, &staff, "Sticker", 50, 10).await["variants"][0]);
    let (placed, _) = guest_checkout(&app, &variant, 1, "razorpay").await;
    assert_eq!(placed["payment_session"], Value::Null);
    assert_eq!(placed["payment_error"]["code"], "payment_provider_error");
    assert!(placed["payment_error"]["detail"].as_str().is_some_and(|d| d.contains("₹1.00")), "{placed}");
    assert_eq!(fake.calls(CREATE_ORDER), 0);
}

/// Guards a second payment for an order already paid (on another gateway order the engine
/// opened for it): refunded automatically, once however often it is reported, and recorded.
#[tokio::test]
async fn a_second_payment_for_a_paid_order_is_refunded_once() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let (app, _, variant) = shop(&fake, "automatic").await;
    let (placed, token) = guest_checkout(&app, &variant, 1, "razorpay").await;
    let order = id(&placed);
    let first = fake.pay(&gateway_order(&placed), PayMethod::Card);
    assert_eq!(verify(&app, &order, &token, &first).await.status, 200);
    // A second gateway order for the same order (two tabs asking for a session at once).
    let second_order = extra_session(&app, &fake, &order, 50_000).await;
    let second = fake.pay(&second_order, PayMethod::Upi);
    let captured = fake.webhook("payment.captured", &second.razorpay_payment_id);
    for _ in 0..2 {
        assert_eq!(deliver(&app, &fake.webhook("payment.captured", &second.razorpay_payment_id)).await.status, 200);
    }
    assert_eq!(deliver(&app, &captured).await.status, 200);
    settle_events(&app).await;
    let read = order_of(&app, &order, &token).await;
    assert_eq!(read["status"], "paid");
    assert_eq!(read["payment"]["gateway_payment_id"], first.razorpay_payment_id.as_str(), "the first payment stays");
    assert_eq!(read["payment"]["refunded_total"], 0, "the order's own payment is untouched");
    let refunds = read["payment"]["refunds"].as_array().expect("refunds");
    assert_eq!(refunds.len(), 1, "{read}");
    assert_eq!(refunds[0]["cause"], "extra_payment");
    assert_eq!(fake.payment(&second.razorpay_payment_id).expect("payment")["amount_refunded"], 50_000);
    assert_eq!(fake.calls(REFUND), 1, "refunded once");
}

/// Guards API.md's last row: refunds reaching the total of a `delivered` order move it to
/// `refunded` (its stock stays sold); manual payments, recorded by staff.
#[tokio::test]
async fn refunds_reaching_the_total_of_a_delivered_order_make_it_refunded() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let (app, staff, variant) = shop(&fake, "automatic").await;
    let (placed, _) = guest_checkout(&app, &variant, 1, "manual").await;
    let order = id(&placed);
    for to in ["paid", "processing", "shipped", "delivered"] {
        let moved =
            app.post(&format!("/api/v1/admin/orders/{order}/transitions"), Some(&staff), json!({"to": to})).await;
        assert_eq!(moved.status, 200, "{}", moved.text);
    }
    let refunded = refund(&app, &staff, &order, "returned", json!({"reason": "returned after delivery"})).await;
    assert_eq!(refunded.status, 201, "{}", refunded.text);
    assert_eq!(refunded.body["order"]["status"], "refunded");
    assert_eq!(stock(&app, &variant).await, 99, "a delivered order's stock is not returned");
    let again = refund(&app, &staff, &order, "again", json!({"amount": 1})).await;
    again.assert_problem(409, "illegal_transition");
}

/// Guards refund webhooks: a refund the gateway later reports failed is marked `failed`, its
/// amount is no longer counted as refunded, and the order is flagged for review.
#[tokio::test]
async fn a_refund_the_gateway_reports_failed_is_released_and_flagged() {
    let fake = FakeRazorpay::start(FakeConfig::default()).await;
    let (app, staff, variant) = shop(&fake, "automatic").await;
    let (placed, token) = guest_checkout(&app, &variant, 1, "razorpay").await;
    let order = id(&placed);
    let paid = fake.pay(&gateway_order(&placed), PayMethod::Card);
    assert_eq!(verify(&app, &order, &token, &paid).await.status, 200);
    let made = refund(&app, &staff, &order, "part", json!({"amount": 20_000})).await;
    assert_eq!(made.status, 201, "{}", made.text);
    let gateway_refund = made.body["refund"]["gateway_refund_id"].as_str().expect("gateway refund id").to_owned();
    let failed = fake.webhook("refund.failed", &gateway_refund);
    assert_eq!(deliver(&app, &failed).await.status, 200);
    settle_events(&app).await;
    let read = order_of(&app, &order, &token).await;
    assert_eq!(read["payment"]["refunds"][0]["state"], "failed", "{read}");
    assert_eq!(read["payment"]["refunded_total"], 0);
    assert!(read["payment"]["review"].as_str().is_some_and(|r| r.contains("failed")), "{read}");
    assert_eq!(read["status"], "paid");
}

/// Guards the `payments` job: an event whose processing failed (the gateway refused every
/// capture attempt) stays stored and is processed again by the job once it is due, which pays
/// the order; nothing is lost when the gateway is down.
#[tokio::test]
async fn an_event_the_gateway_was_down_for_is_processed_later_by_the_job() {
    let fake = FakeRazorpay::start(FakeConfig { auto_capture: false, ..FakeConfig::default() }).await;
    let (app, _, variant) = shop(&fake, "manual").await;
    let (placed, token) = guest_checkout(&app, &variant, 1, "razorpay").await;
    let order = id(&placed);
    let paid = fake.pay(&gateway_order(&placed), PayMethod::Card);
    fake.fault_next(CAPTURE, 3, Fault::Status(503));
    assert_eq!(deliver(&app, &fake.webhook("payment.authorized", &paid.razorpay_payment_id)).await.status, 200);
    for _ in 0..200 {
        if fake.calls(CAPTURE) == 3
            && count(&app, "SELECT COUNT(*) FROM payment_events WHERE note IS NOT NULL").await == 1
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(order_of(&app, &order, &token).await["status"], "pending_payment");
    assert_eq!(count(&app, "SELECT COUNT(*) FROM payment_events WHERE state = 'received'").await, 1, "kept");
    app.run_job("payments").await;
    assert_eq!(fake.calls(CAPTURE), 3, "not due yet");
    app.clock.advance(Duration::from_secs(61));
    app.run_job("payments").await;
    let read = order_of(&app, &order, &token).await;
    assert_eq!(read["status"], "paid", "{read}");
    assert_eq!(fake.calls(CAPTURE), 4);
}
