//! The order lifecycle (issue 10, items 7 and 8): staff moves, owner cancellation, expiry of
//! unpaid orders, the races around them (stock returns exactly once), who may see an order,
//! the staff list, and the order mails.

use std::time::Duration;

use commerce_engine::clock::Clock as _;
use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    carts::call,
    checkout::{checkout, guest_order, karnataka, new_key, ready_guest_cart},
    helpers::{plugins::plugin, *},
    pricing_preview::demo_app,
    products::{id, simple_product},
};

const ADMIN_ORDERS: &str = "/api/v1/admin/orders";

/// A request to an order route, with a bearer token or a guest's `X-Order-Token`.
async fn order_call(
    app: &TestApp,
    method: Method,
    path: &str,
    bearer: Option<&str>,
    order_token: Option<&str>,
    body: Option<Value>,
) -> TestResponse {
    let mut request = app.client.request(method, app.url(path));
    if let Some(token) = bearer {
        request = request.bearer_auth(token);
    }
    if let Some(token) = order_token {
        request = request.header("X-Order-Token", token);
    }
    if let Some(body) = body {
        request = request.json(&body);
    }
    TestApp::read(request.send().await.expect("request sent")).await
}

async fn cancel(app: &TestApp, order: &str, bearer: Option<&str>, order_token: Option<&str>) -> TestResponse {
    let path = format!("/api/v1/orders/{order}/cancel");
    order_call(app, Method::POST, &path, bearer, order_token, Some(json!({"reason": "changed my mind"}))).await
}

/// A cancel as `fetch(url, {method: "POST"})` sends it: no body, no `Content-Type`.
async fn cancel_without_body(app: &TestApp, order: &str, bearer: &str) -> TestResponse {
    let request = app.client.post(app.url(&format!("/api/v1/orders/{order}/cancel"))).bearer_auth(bearer);
    TestApp::read(request.send().await.expect("request sent")).await
}

async fn staff_move(app: &TestApp, staff: &str, order: &str, to: &str) -> TestResponse {
    app.post(&format!("{ADMIN_ORDERS}/{order}/transitions"), Some(staff), json!({"to": to})).await
}

/// The stock of a single-variant product, through the admin product API.
async fn stock(app: &TestApp, staff: &str, product: &Value) -> i64 {
    let read = app.get(&format!("/api/v1/admin/products/{}", id(product)), Some(staff)).await;
    assert_eq!(read.status, 200, "{}", read.text);
    read.body["variants"][0]["stock"].as_i64().expect("stock")
}

fn order_id(order: &Value) -> String {
    order["id"].as_str().expect("order id").to_owned()
}

/// `(to, actor)` of every history entry.
fn history(order: &Value) -> Vec<(String, String)> {
    order["history"]
        .as_array()
        .expect("history")
        .iter()
        .map(|h| (h["to"].as_str().unwrap().to_owned(), h["actor"].as_str().unwrap().to_owned()))
        .collect()
}

/// A customer's order of `variant` × `quantity`, through their own cart.
async fn customer_order(app: &TestApp, access: &str, variant: &str, quantity: i64) -> Value {
    let cart = id(&call(app, Method::POST, "/api/v1/carts", Some(access), None, None).await.body);
    let line = json!({"variant_id": variant, "quantity": quantity});
    let added = call(app, Method::POST, &format!("/api/v1/carts/{cart}/lines"), Some(access), None, Some(line)).await;
    assert_eq!(added.status, 200, "{}", added.text);
    let body = json!({"cart_id": cart, "payment_provider": "manual", "shipping_address": karnataka()});
    let placed = checkout(&app.base, &app.client, Some(&new_key()), Some(access), None, body).await;
    assert_eq!(placed.status, 201, "{}", placed.text);
    placed.body
}

fn expiring(config: &mut commerce_engine::config::Config) {
    config.plugins.insert(
        "manual".to_owned(),
        crate::helpers::plugins::plugin("manual", serde_json::json!({"expire_unpaid": true})),
    );
    config.database.max_connections = 10;
}

/// Guards API.md's "one step at a time" for staff: pending_payment → paid → processing →
/// shipped → delivered, each in the history with its actor; a skipped step, a move out of
/// `delivered`, an unknown status, a customer on the admin route and no token are refused.
#[tokio::test]
async fn staff_walk_an_order_to_delivered_one_step_at_a_time() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = simple_product(&app, &staff.access, "Mug", 10_000, 10).await;
    let (order, _) = guest_order(&app, &[(&id(&mug["variants"][0]), 1)]).await;
    let order = order_id(&order);

    let skipped = staff_move(&app, &staff.access, &order, "shipped").await;
    skipped.assert_problem(409, "illegal_transition");
    let mut last = Value::Null;
    for to in ["paid", "processing", "shipped", "delivered"] {
        let moved = staff_move(&app, &staff.access, &order, to).await;
        assert_eq!(moved.status, 200, "{to}: {}", moved.text);
        assert_eq!(moved.body["status"], to);
        last = moved.body;
    }
    let by_staff = format!("staff:{}", staff.user_id);
    let expected: Vec<(String, String)> = [
        ("pending_payment", "guest"),
        ("paid", by_staff.as_str()),
        ("processing", by_staff.as_str()),
        ("shipped", by_staff.as_str()),
        ("delivered", by_staff.as_str()),
    ]
    .iter()
    .map(|(to, actor)| ((*to).to_owned(), (*actor).to_owned()))
    .collect();
    assert_eq!(history(&last), expected);
    assert_eq!(last["history"][1]["from"], "pending_payment");
    assert_eq!(last["payment"]["status"], "paid");
    assert!(last["payment"]["paid_at"].is_string(), "{last:#}");

    for to in ["cancelled", "shipped", "paid"] {
        staff_move(&app, &staff.access, &order, to).await.assert_problem(409, "illegal_transition");
    }
    let unknown = staff_move(&app, &staff.access, &order, "teleported").await;
    unknown.assert_problem(422, "validation_failed");
    assert!(unknown.text.contains("\"to\""), "names the field: {}", unknown.text);
    let (_, _, customer) = app.customer().await;
    staff_move(&app, &customer.access, &order, "cancelled").await.assert_problem(403, "forbidden");
    app.get(&format!("{ADMIN_ORDERS}/{order}"), Some(&customer.access)).await.assert_problem(403, "forbidden");
    app.get(ADMIN_ORDERS, None).await.assert_problem(401, "unauthenticated");
    let missing = format!("ord_{}", ulid::Ulid::new());
    staff_move(&app, &staff.access, &missing, "paid").await.assert_problem(404, "not_found");
    let read = app.get(&format!("{ADMIN_ORDERS}/{order}"), Some(&staff.access)).await;
    assert_eq!((read.status.as_u16(), read.body["status"].as_str()), (200, Some("delivered")));
}

/// Guards "stock goes back once": the owner cancels a pending order, its units return, a
/// second cancel is 409 and returns nothing; the history names the guest and the reason.
/// A customer cancels their paid order (the refund is noted for staff), not a processing one.
#[tokio::test]
async fn the_owner_cancels_and_the_stock_returns_exactly_once() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 10_000, 10).await;
    let variant = id(&lamp["variants"][0]);
    let (order, order_token) = guest_order(&app, &[(&variant, 3)]).await;
    assert_eq!(stock(&app, &staff.access, &lamp).await, 7);

    let cancelled = cancel(&app, &order_id(&order), None, Some(&order_token)).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    assert_eq!(cancelled.body["status"], "cancelled");
    assert_eq!(cancelled.body["payment"]["status"], "cancelled");
    assert_eq!(cancelled.body["expires_at"], Value::Null);
    let last = cancelled.body["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["actor"].as_str(), last["from"].as_str()), (Some("guest"), Some("pending_payment")));
    assert_eq!(last["reason"], "changed my mind");
    assert_eq!(stock(&app, &staff.access, &lamp).await, 10);

    cancel(&app, &order_id(&order), None, Some(&order_token)).await.assert_problem(409, "illegal_transition");
    assert_eq!(stock(&app, &staff.access, &lamp).await, 10, "a second cancel returns nothing");

    // A customer's paid order: cancelled by its owner, the manual refund left to staff.
    let (_, _, customer) = app.customer().await;
    let paid = customer_order(&app, &customer.access, &variant, 2).await;
    assert_eq!(staff_move(&app, &staff.access, &order_id(&paid), "paid").await.status, 200);
    let cancelled = cancel_without_body(&app, &order_id(&paid), &customer.access).await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.text);
    let last = cancelled.body["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["actor"].as_str(), last["from"].as_str()), (Some("customer"), Some("paid")));
    let reason = last["reason"].as_str().unwrap_or_default();
    assert!(reason.contains("refund"), "{reason}");
    assert_eq!(cancelled.body["payment"]["refunded_total"], 0, "no refund is invented");
    assert_eq!(stock(&app, &staff.access, &lamp).await, 10);

    // Once staff process it, the owner can no longer cancel; staff still can.
    let processing = customer_order(&app, &customer.access, &variant, 1).await;
    for to in ["paid", "processing"] {
        assert_eq!(staff_move(&app, &staff.access, &order_id(&processing), to).await.status, 200);
    }
    cancel(&app, &order_id(&processing), Some(&customer.access), None).await.assert_problem(409, "illegal_transition");
    assert_eq!(stock(&app, &staff.access, &lamp).await, 9);
    assert_eq!(staff_move(&app, &staff.access, &order_id(&processing), "cancelled").await.status, 200);
    assert_eq!(stock(&app, &staff.access, &lamp).await, 10);
}

/// Guards "a cancellation releases its coupon redemptions": a code with one use is taken by an
/// order; after that order is cancelled another shopper can redeem it.
#[tokio::test]
async fn a_cancelled_order_gives_its_coupon_use_back() {
    let app = spawn_app_with(|config| {
        let codes = json!({"codes": [{"code": "ONCE", "amount": 1_000, "max_redemptions": 1}]});
        config.pricing.chain = vec!["coupons".to_owned()];
        config.plugins = [("coupons".to_owned(), plugin("coupons", codes))].into_iter().collect();
    })
    .await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 10).await["variants"][0]);
    let coupon = |cart: String, token: String| {
        let app = &app;
        async move {
            let path = format!("/api/v1/carts/{cart}/coupons");
            call(app, Method::POST, &path, None, Some(&token), Some(json!({"code": "ONCE"}))).await
        }
    };
    let (first_cart, first_token) = ready_guest_cart(&app, &[(&mug, 1)]).await;
    assert_eq!(coupon(first_cart.clone(), first_token.clone()).await.status, 200);
    let body = json!({"cart_id": first_cart, "payment_provider": "manual"});
    let placed = checkout(&app.base, &app.client, Some(&new_key()), None, Some(&first_token), body).await;
    assert_eq!(placed.body["coupon_codes"], json!(["ONCE"]), "{}", placed.text);

    let (second_cart, second_token) = ready_guest_cart(&app, &[(&mug, 1)]).await;
    coupon(second_cart.clone(), second_token.clone()).await.assert_problem(422, "coupon_ineligible");

    let order_token = placed.body["order_token"].as_str().unwrap();
    assert_eq!(cancel(&app, &order_id(&placed.body), None, Some(order_token)).await.status, 200);
    assert_eq!(coupon(second_cart.clone(), second_token.clone()).await.status, 200);
    let body = json!({"cart_id": second_cart, "payment_provider": "manual"});
    let again = checkout(&app.base, &app.client, Some(&new_key()), None, Some(&second_token), body).await;
    assert_eq!(again.status, 201, "{}", again.text);
    assert_eq!(again.body["coupon_codes"], json!(["ONCE"]), "the released use is taken again");
}

/// Guards expiry: with the manual plugin's `expire_unpaid = true` an unpaid order gets an
/// `expires_at`, and once `orders.payment_timeout` has passed the `order_expiry` job cancels it
/// as `system` and returns its stock, once.
#[tokio::test]
async fn unpaid_orders_expire_after_the_payment_timeout_when_configured() {
    let app = spawn_app_with(expiring).await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 10_000, 10).await;
    let (order, order_token) = guest_order(&app, &[(&id(&lamp["variants"][0]), 4)]).await;
    assert!(order["expires_at"].is_string(), "{order:#}");

    assert_eq!(app.run_job("order_expiry").await.processed, 0, "not before its time");
    app.clock.advance(Duration::from_secs(31 * 60));
    assert_eq!(app.run_job("order_expiry").await.processed, 1);
    assert_eq!(app.run_job("order_expiry").await.processed, 0);

    let read =
        order_call(&app, Method::GET, &format!("/api/v1/orders/{}", order_id(&order)), None, Some(&order_token), None)
            .await;
    assert_eq!(read.body["status"], "cancelled", "{}", read.text);
    let last = read.body["history"].as_array().unwrap().last().unwrap().clone();
    assert_eq!((last["actor"].as_str(), last["reason"].as_str()), (Some("system"), Some("payment timed out")));
    // The staff token above has expired with the clock; a fresh login reads the stock.
    let staff = app.staff().await;
    assert_eq!(stock(&app, &staff.access, &lamp).await, 10);
}

/// Guards the default: unpaid `manual` orders never expire (a bank transfer may take days).
#[tokio::test]
async fn the_expiry_job_leaves_manual_orders_alone_by_default() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 10_000, 10).await;
    let (order, order_token) = guest_order(&app, &[(&id(&lamp["variants"][0]), 4)]).await;
    assert_eq!(order["expires_at"], Value::Null);
    app.clock.advance(Duration::from_secs(48 * 3600));
    assert_eq!(app.run_job("order_expiry").await.processed, 0);
    let read =
        order_call(&app, Method::GET, &format!("/api/v1/orders/{}", order_id(&order)), None, Some(&order_token), None)
            .await;
    assert_eq!(read.body["status"], "pending_payment");
    let staff = app.staff().await;
    assert_eq!(stock(&app, &staff.access, &lamp).await, 6);
}

/// How many times each order reached `cancelled` in its history.
async fn cancellations(app: &TestApp, order: &str) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM order_events WHERE order_id = $1 AND to_status = 'cancelled'")
        .bind(order)
        .fetch_one(app.state.db.pool())
        .await
        .expect("count")
}

/// Guards "stock returns exactly once, whatever races": owners cancel expired orders while the
/// expiry sweep runs (on PostgreSQL on two instances at once, which split the work with `SKIP
/// LOCKED`); every order is cancelled once and the stock is back to where it started.
#[tokio::test]
async fn owner_cancels_racing_the_expiry_sweep_return_stock_once() {
    let app = spawn_app_with(expiring).await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 10_000, 100).await;
    let variant = id(&lamp["variants"][0]);
    let mut orders = Vec::new();
    for _ in 0..8 {
        orders.push(guest_order(&app, &[(&variant, 2)]).await);
    }
    app.clock.advance(Duration::from_secs(31 * 60));
    let peer = if app.state.db.backend() == commerce_engine::db::Backend::Postgres {
        Some(app.peer(expiring).await)
    } else {
        None
    };
    let sweeps = async {
        let here = app.state.orders.expire_unpaid();
        let there = async {
            match &peer {
                Some(peer) => peer.state.orders.expire_unpaid().await.expect("peer sweep"),
                None => 0,
            }
        };
        let (here, there) = tokio::join!(here, there);
        here.expect("sweep") + there
    };
    let cancels = futures_join_all(
        orders.iter().map(|(order, token)| cancel(&app, order["id"].as_str().unwrap(), None, Some(token))),
    );
    let (swept, answers) = tokio::join!(sweeps, cancels);
    let owner_wins = answers.iter().filter(|a| a.status == 200).count();
    for answer in answers.iter().filter(|a| a.status != 200) {
        answer.assert_problem(409, "illegal_transition");
    }
    assert_eq!(
        owner_wins + usize::try_from(swept).unwrap(),
        orders.len(),
        "each order moved by exactly one (owners {owner_wins}, sweep {swept})"
    );
    for (order, _) in &orders {
        assert_eq!(cancellations(&app, &order_id(order)).await, 1);
    }
    let staff = app.staff().await;
    assert_eq!(stock(&app, &staff.access, &lamp).await, 100);
}

/// Guards the guarded update: 20 concurrent cancels of one order (on PostgreSQL over two
/// instances) give one 200 and 19 × 409, one history entry, the stock back once.
#[tokio::test]
async fn twenty_concurrent_cancels_move_the_order_once() {
    let roomy = |config: &mut commerce_engine::config::Config| config.database.max_connections = 10;
    let app = spawn_app_with(roomy).await;
    let staff = app.staff().await;
    let lamp = simple_product(&app, &staff.access, "Lamp", 10_000, 10).await;
    let (order, order_token) = guest_order(&app, &[(&id(&lamp["variants"][0]), 5)]).await;
    let peer = if app.state.db.backend() == commerce_engine::db::Backend::Postgres {
        Some(app.peer(roomy).await)
    } else {
        None
    };
    let order = order_id(&order);
    let answers = futures_join_all((0..20).map(|i| {
        let url = match &peer {
            Some(peer) if i % 2 == 1 => peer.url(&format!("/api/v1/orders/{order}/cancel")),
            _ => app.url(&format!("/api/v1/orders/{order}/cancel")),
        };
        let request = app.client.post(url).header("X-Order-Token", &order_token).json(&json!({}));
        async move { TestApp::read(request.send().await.expect("sent")).await }
    }))
    .await;
    assert_eq!(answers.iter().filter(|a| a.status == 200).count(), 1, "exactly one cancel moves it");
    for answer in answers.iter().filter(|a| a.status != 200) {
        answer.assert_problem(409, "illegal_transition");
    }
    assert_eq!(cancellations(&app, &order).await, 1);
    assert_eq!(stock(&app, &staff.access, &lamp).await, 10);
}

/// Guards the IDOR rule on order routes: another customer, a guest without or with a wrong
/// `X-Order-Token`, and no credential get 404 from GET, cancel and payment, and change nothing;
/// the guest with the right token reads the order.
#[tokio::test]
async fn other_peoples_orders_are_404_on_every_order_route() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 10).await["variants"][0]);
    let (_, _, owner) = app.customer().await;
    let (_, _, stranger) = app.customer().await;
    let customers = order_id(&customer_order(&app, &owner.access, &mug, 1).await);
    let (guest, guest_token) = guest_order(&app, &[(&mug, 1)]).await;
    let guests = order_id(&guest);

    let intruders: [(&str, Option<&str>, Option<&str>); 6] = [
        (&customers, Some(&stranger.access), None),
        (&customers, None, Some(&guest_token)),
        (&customers, None, None),
        (&guests, Some(&stranger.access), None),
        (&guests, None, Some("ot_wrong")),
        (&guests, None, None),
    ];
    for (order, bearer, token) in intruders {
        for (method, path) in [
            (Method::GET, format!("/api/v1/orders/{order}")),
            (Method::POST, format!("/api/v1/orders/{order}/cancel")),
            (Method::POST, format!("/api/v1/orders/{order}/payment")),
        ] {
            let body = (method == Method::POST).then(|| json!({}));
            let refused = order_call(&app, method.clone(), &path, bearer, token, body).await;
            refused.assert_problem(404, "not_found");
        }
    }
    let expired =
        order_call(&app, Method::GET, &format!("/api/v1/orders/{guests}"), Some("not-a-jwt"), None, None).await;
    expired.assert_problem(401, "unauthenticated");
    let read = order_call(&app, Method::GET, &format!("/api/v1/orders/{guests}"), None, Some(&guest_token), None).await;
    assert_eq!((read.status.as_u16(), read.body["status"].as_str()), (200, Some("pending_payment")), "{}", read.text);
    let mine =
        order_call(&app, Method::GET, &format!("/api/v1/orders/{customers}"), Some(&owner.access), None, None).await;
    assert_eq!((mine.status.as_u16(), mine.body["status"].as_str()), (200, Some("pending_payment")));
}

/// Guards `GET /admin/orders`: newest first, filters by status, email (any case) and the
/// created range, a cursor that pages and belongs to its filters, 422 for a bad range.
#[tokio::test]
async fn staff_list_orders_by_status_email_and_time_with_a_cursor() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 50).await["variants"][0]);
    let start = app.clock.now();
    let mut orders = Vec::new();
    for _ in 0..3 {
        orders.push(guest_order(&app, &[(&mug, 1)]).await.0);
        app.clock.advance(Duration::from_secs(3600));
        crate::products::tick().await;
    }
    let staff = app.staff().await;
    assert_eq!(staff_move(&app, &staff.access, &order_id(&orders[1]), "paid").await.status, 200);
    let ids = |page: &TestResponse| -> Vec<String> {
        page.body["items"].as_array().expect("items").iter().map(order_id).collect()
    };

    let all = app.get(ADMIN_ORDERS, Some(&staff.access)).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(ids(&all), orders.iter().rev().map(order_id).collect::<Vec<_>>(), "newest first");
    let paid = app.get(&format!("{ADMIN_ORDERS}?status=paid"), Some(&staff.access)).await;
    assert_eq!(ids(&paid), [order_id(&orders[1])]);
    let email = orders[2]["email"].as_str().unwrap().to_uppercase();
    let by_email = app.get(&format!("{ADMIN_ORDERS}?email={email}"), Some(&staff.access)).await;
    assert_eq!(ids(&by_email), [order_id(&orders[2])]);
    let at = |hours: i64| (start + chrono::Duration::hours(hours)).to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
    let range = format!("{ADMIN_ORDERS}?created_from={}&created_to={}", at(1), at(2));
    let in_range = app.get(&range.replace('+', "%2B"), Some(&staff.access)).await;
    assert_eq!(ids(&in_range), [order_id(&orders[1])], "from inclusive, to exclusive: {}", in_range.text);

    let first = app.get(&format!("{ADMIN_ORDERS}?limit=2"), Some(&staff.access)).await;
    assert_eq!(ids(&first).len(), 2);
    let cursor = first.body["next_cursor"].as_str().expect("a next page").to_owned();
    let second = app.get(&format!("{ADMIN_ORDERS}?limit=2&cursor={cursor}"), Some(&staff.access)).await;
    assert_eq!(ids(&second), [order_id(&orders[0])]);
    assert_eq!(second.body["next_cursor"], Value::Null);
    let foreign = app.get(&format!("{ADMIN_ORDERS}?status=paid&cursor={cursor}"), Some(&staff.access)).await;
    foreign.assert_problem(400, "invalid_cursor");

    let garbled = app.get(&format!("{ADMIN_ORDERS}?created_from=yesterday"), Some(&staff.access)).await;
    garbled.assert_problem(422, "validation_failed");
    assert!(garbled.text.contains("created_from"), "{}", garbled.text);
    let backwards = format!("{ADMIN_ORDERS}?created_from={}&created_to={}", at(2), at(1));
    let backwards = app.get(&backwards, Some(&staff.access)).await;
    backwards.assert_problem(422, "validation_failed");
    assert!(backwards.text.contains("created_from"), "{}", backwards.text);
    app.get(&format!("{ADMIN_ORDERS}?status=lost"), Some(&staff.access)).await.assert_problem(400, "bad_request");
}

/// The text of a delivered mail: headers as they are, the body decoded from its transfer
/// encoding (quoted-printable or base64), so the test reads what the shopper reads.
pub fn readable(mail: &str) -> String {
    let (headers, body) = mail.split_once("\r\n\r\n").or_else(|| mail.split_once("\n\n")).unwrap_or((mail, ""));
    let lower = headers.to_ascii_lowercase();
    let decoded = if lower.contains("content-transfer-encoding: base64") {
        use base64::Engine as _;
        let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
        base64::engine::general_purpose::STANDARD
            .decode(compact)
            .map(|b| String::from_utf8_lossy(&b).into_owned())
            .unwrap_or_default()
    } else if lower.contains("content-transfer-encoding: quoted-printable") {
        let unfolded = body.replace("=\r\n", "").replace("=\n", "");
        let mut out = Vec::new();
        let mut rest = unfolded.as_bytes();
        while let Some((&first, tail)) = rest.split_first() {
            let escaped = tail.get(..2).and_then(|hex| u8::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok());
            match (first, escaped) {
                (b'=', Some(byte)) => {
                    out.push(byte);
                    rest = &tail[2..];
                }
                _ => {
                    out.push(first);
                    rest = tail;
                }
            }
        }
        String::from_utf8_lossy(&out).into_owned()
    } else {
        body.to_owned()
    };
    format!("{headers}\n\n{decoded}")
}

/// Guards issue 10 item 8: placed, paid and shipped mails to the order's email carry the order
/// number, the amounts as an Indian shopper reads them (₹1,329.88) and the link that opens the
/// guest's order (`store.order_url` with its id and token).
#[tokio::test]
async fn order_mails_carry_the_number_rupee_amounts_and_the_link() {
    let (app, shop, staff) = demo_app().await;
    let (cart, token) = ready_guest_cart(&app, &[(&shop.tshirt, 2), (&shop.novel, 1)]).await;
    let coupon = json!({"code": "WELCOME10"});
    let applied =
        call(&app, Method::POST, &format!("/api/v1/carts/{cart}/coupons"), None, Some(&token), Some(coupon)).await;
    assert_eq!(applied.body["total"], 132_988, "{}", applied.text);
    let body = json!({"cart_id": cart, "payment_provider": "manual"});
    let placed = checkout(&app.base, &app.client, Some(&new_key()), None, Some(&token), body).await;
    assert_eq!(placed.status, 201, "{}", placed.text);
    let order = order_id(&placed.body);
    let number = placed.body["number"].as_i64().unwrap();
    let email = placed.body["email"].as_str().unwrap().to_owned();
    let order_token = placed.body["order_token"].as_str().unwrap().to_owned();
    for to in ["paid", "processing", "shipped"] {
        assert_eq!(staff_move(&app, &staff, &order, to).await.status, 200);
    }
    app.run_job("mail").await;

    let mails: Vec<String> = app.mails().iter().map(|m| readable(m)).filter(|m| m.contains(&email)).collect();
    assert_eq!(mails.len(), 3, "placed, paid, shipped (none for processing): {mails:#?}");
    let link = format!("http://localhost:3000/orders/{order}?token={order_token}");
    for (mail, word) in mails.iter().zip(["placed", "paid", "shipped"]) {
        assert!(mail.contains(&format!("#{number}")), "the number: {mail}");
        assert!(mail.contains(word), "{word}: {mail}");
        assert!(mail.contains("₹1,329.88"), "the total in rupees: {mail}");
        assert!(mail.contains(&link), "the link with the guest's token: {mail}");
    }
}
