//! Merge on login (issue 10, item 4): `POST /auth/login` with a guest cart's id and token keeps
//! the guest's lines and coupons in the customer's cart, and never fails the login.

use reqwest::Method;
use serde_json::{Value, json};

use crate::{
    carts::{add_line, call, guest_cart},
    helpers::*,
    pricing_preview::demo_app,
    products::{id, simple_product},
};

const CARTS: &str = "/api/v1/carts";

/// Logs in with a guest cart to merge, expecting 200; the token response.
async fn login_with_cart(app: &TestApp, email: &str, password: &str, cart: &str, token: &str) -> Value {
    let body = json!({"email": email, "password": password, "cart_id": cart, "cart_token": token});
    let response = app.post("/api/v1/auth/login", None, body).await;
    assert_eq!(response.status, 200, "a login never fails because of its cart: {}", response.text);
    response.body
}

/// The customer's cart as `GET /me/cart` shows it.
async fn my_cart(app: &TestApp, access: &str) -> Value {
    let response = app.get("/api/v1/me/cart", Some(access)).await;
    assert_eq!(response.status, 200, "{}", response.text);
    response.body
}

/// `variant id → quantity` of a cart's lines, sorted by variant id.
fn quantities(cart: &Value) -> Vec<(String, i64)> {
    let mut lines: Vec<(String, i64)> = cart["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| (l["variant_id"].as_str().expect("variant_id").to_owned(), l["quantity"].as_i64().expect("quantity")))
        .collect();
    lines.sort();
    lines
}

fn pairs(lines: &[(&str, i64)]) -> Vec<(String, i64)> {
    let mut lines: Vec<(String, i64)> = lines.iter().map(|(v, q)| ((*v).to_owned(), *q)).collect();
    lines.sort();
    lines
}

/// A customer's own cart as created by `POST /carts` with their bearer token.
async fn own_cart(app: &TestApp, access: &str) -> String {
    let response = call(app, Method::POST, CARTS, Some(access), None, None).await;
    assert!(response.status.is_success(), "{}", response.text);
    id(&response.body)
}

async fn add_own_line(app: &TestApp, access: &str, cart: &str, variant: &str, quantity: i64) {
    let body = json!({"variant_id": variant, "quantity": quantity});
    let response = call(app, Method::POST, &format!("{CARTS}/{cart}/lines"), Some(access), None, Some(body)).await;
    assert_eq!(response.status, 200, "{}", response.text);
}

/// Guards the first branch: with no cart of their own, the guest cart becomes the customer's
/// (same id, same lines) and its token stops opening it.
#[tokio::test]
async fn a_guest_cart_becomes_the_customers_when_they_have_none() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 5).await["variants"][0]);
    let (cart, token) = guest_cart(&app).await;
    assert_eq!(add_line(&app, &cart, &token, &mug, 2).await.status, 200);
    let (email, password, _) = app.customer().await;

    let session = login_with_cart(&app, &email, &password, &cart, &token).await;

    assert_eq!(session["cart_id"], json!(cart), "{session}");
    let access = session["access_token"].as_str().expect("access_token");
    let mine = my_cart(&app, access).await;
    assert_eq!(mine["id"], json!(cart));
    assert_eq!(quantities(&mine), pairs(&[(&mug, 2)]));
    let as_guest = call(&app, Method::GET, &format!("{CARTS}/{cart}"), None, Some(&token), None).await;
    as_guest.assert_problem(404, "not_found");
}

/// Guards the second branch on the demo chain: quantities add (T-shirt 1 + 2), new lines and
/// WELCOME10 carry over, the guest cart is closed, and logging in again with it merges nothing
/// a second time.
#[tokio::test]
async fn a_guest_cart_merges_into_the_customers_cart_with_its_coupon() {
    let (app, shop, _) = demo_app().await;
    let (email, password, customer) = app.customer().await;
    let mine = own_cart(&app, &customer.access).await;
    add_own_line(&app, &customer.access, &mine, &shop.tshirt, 1).await;
    let (cart, token) = guest_cart(&app).await;
    assert_eq!(add_line(&app, &cart, &token, &shop.tshirt, 2).await.status, 200);
    assert_eq!(add_line(&app, &cart, &token, &shop.novel, 1).await.status, 200);
    let coupon = json!({"code": "WELCOME10"});
    let applied = call(&app, Method::POST, &format!("{CARTS}/{cart}/coupons"), None, Some(&token), Some(coupon)).await;
    assert_eq!(applied.status, 200, "{}", applied.text);

    let session = login_with_cart(&app, &email, &password, &cart, &token).await;

    assert_eq!(session["cart_id"], json!(mine), "{session}");
    let merged = my_cart(&app, &customer.access).await;
    assert_eq!(merged["id"], json!(mine));
    assert_eq!(quantities(&merged), pairs(&[(&shop.tshirt, 3), (&shop.novel, 1)]));
    assert_eq!(merged["coupon_codes"], json!(["WELCOME10"]), "{merged}");
    // 3 × ₹499 + ₹300 = ₹1,797.00, and WELCOME10 takes 10 % of it.
    assert_eq!((merged["subtotal"].as_i64(), merged["discount_total"].as_i64()), (Some(179_700), Some(17_970)));
    let as_guest = call(&app, Method::GET, &format!("{CARTS}/{cart}"), None, Some(&token), None).await;
    as_guest.assert_problem(404, "not_found");
    let status: String = sqlx::query_scalar("SELECT status FROM carts WHERE id = $1")
        .bind(&cart)
        .fetch_one(app.state.db.pool())
        .await
        .expect("guest cart row");
    assert_eq!(status, "merged");

    let again = login_with_cart(&app, &email, &password, &cart, &token).await;
    assert_eq!(again["cart_id"], json!(mine));
    let unchanged = my_cart(&app, &customer.access).await;
    assert_eq!(quantities(&unchanged), pairs(&[(&shop.tshirt, 3), (&shop.novel, 1)]), "merged once only");
}

/// Guards the caps: a merged line holds at most the stock (Mug: 2 + 3 wanted, 3 in stock) and
/// `carts.max_line_quantity` (Pen: 3 + 3 wanted, at most 4), and a line past `carts.max_lines`
/// is left out (Cup, on a cart that already holds two lines).
#[tokio::test]
async fn merged_lines_are_capped_at_stock_and_the_cart_limits() {
    let app = spawn_app_with(|config| {
        config.carts.max_line_quantity = 4;
        config.carts.max_lines = 2;
    })
    .await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 3).await["variants"][0]);
    let pen = id(&simple_product(&app, &staff.access, "Pen", 1_000, 100).await["variants"][0]);
    let cup = id(&simple_product(&app, &staff.access, "Cup", 5_000, 100).await["variants"][0]);
    let (email, password, customer) = app.customer().await;
    let mine = own_cart(&app, &customer.access).await;
    add_own_line(&app, &customer.access, &mine, &mug, 2).await;
    add_own_line(&app, &customer.access, &mine, &pen, 3).await;
    let (cart, token) = guest_cart(&app).await;
    for (variant, quantity) in [(&mug, 3), (&pen, 3)] {
        let added = add_line(&app, &cart, &token, variant, quantity).await;
        assert_eq!(added.status, 200, "{}", added.text);
    }
    // `max_lines = 2` holds for guest carts too: Cup comes in a second guest cart.
    let (cup_cart, cup_token) = guest_cart(&app).await;
    assert_eq!(add_line(&app, &cup_cart, &cup_token, &cup, 1).await.status, 200);

    let session = login_with_cart(&app, &email, &password, &cart, &token).await;
    assert_eq!(session["cart_id"], json!(mine));
    let merged = my_cart(&app, &customer.access).await;
    assert_eq!(quantities(&merged), pairs(&[(&mug, 3), (&pen, 4)]));
    // Both lines were capped, and the cart says so: what was wanted, per line.
    let capped: Vec<(String, &str, i64, &Value)> = merged["line_notices"]
        .as_array()
        .expect("line_notices")
        .iter()
        .map(|n| {
            let variant = n["variant_id"].as_str().expect("variant_id").to_owned();
            (variant, n["kind"].as_str().expect("kind"), n["requested"].as_i64().expect("requested"), &n["available"])
        })
        .collect();
    assert_eq!(
        capped,
        vec![(mug.clone(), "quantity_capped", 5, &Value::Null), (pen.clone(), "quantity_capped", 6, &Value::Null)],
        "{merged}"
    );
    // The shopper's next change of a line clears its notice; the other stays.
    let pen_line = merged["lines"].as_array().expect("lines").iter().find(|l| l["variant_id"] == json!(pen));
    let pen_line = pen_line.expect("pen line")["id"].as_str().expect("line id").to_owned();
    let path = format!("{CARTS}/{mine}/lines/{pen_line}");
    let changed = call(&app, Method::PATCH, &path, Some(&customer.access), None, Some(json!({"quantity": 2}))).await;
    assert_eq!(changed.status, 200, "{}", changed.text);
    let kinds: Vec<(&str, &str)> = changed.body["line_notices"]
        .as_array()
        .expect("line_notices")
        .iter()
        .map(|n| (n["variant_id"].as_str().expect("variant"), n["kind"].as_str().expect("kind")))
        .collect();
    assert_eq!(kinds, vec![(mug.as_str(), "quantity_capped")], "{}", changed.text);
    let path = format!("{CARTS}/{mine}/lines/{pen_line}");
    let back = call(&app, Method::PATCH, &path, Some(&customer.access), None, Some(json!({"quantity": 4}))).await;
    assert_eq!(back.status, 200, "{}", back.text);

    let session = login_with_cart(&app, &email, &password, &cup_cart, &cup_token).await;
    assert_eq!(session["cart_id"], json!(mine));
    assert_eq!(quantities(&my_cart(&app, &customer.access).await), pairs(&[(&mug, 3), (&pen, 4)]), "no third line");
    let closed = call(&app, Method::GET, &format!("{CARTS}/{cup_cart}"), None, Some(&cup_token), None).await;
    closed.assert_problem(404, "not_found");
}

/// Guards "a bad token still logs in and merges nothing": `cart_id` is null for a customer
/// without a cart, their own cart otherwise; the guest cart is untouched; a plain login says
/// null; a malformed cart id is no error either.
#[tokio::test]
async fn a_wrong_cart_token_logs_in_and_merges_nothing() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 5).await["variants"][0]);
    let (cart, token) = guest_cart(&app).await;
    assert_eq!(add_line(&app, &cart, &token, &mug, 2).await.status, 200);
    let (email, password, customer) = app.customer().await;

    let plain = app.login(&email, &password).await;
    assert_eq!((plain.status.as_u16(), &plain.body["cart_id"]), (200, &Value::Null), "{}", plain.text);
    let wrong = login_with_cart(&app, &email, &password, &cart, "ct_not-the-token").await;
    assert_eq!(wrong["cart_id"], Value::Null, "no cart of their own: {wrong}");
    let malformed = login_with_cart(&app, &email, &password, "not-a-cart-id", "x").await;
    assert_eq!(malformed["cart_id"], Value::Null);

    let mine = own_cart(&app, &customer.access).await;
    let wrong = login_with_cart(&app, &email, &password, &cart, "ct_not-the-token").await;
    assert_eq!(wrong["cart_id"], json!(mine), "their own cart: {wrong}");
    assert_eq!(quantities(&my_cart(&app, &customer.access).await), Vec::new(), "nothing merged");
    let guest = call(&app, Method::GET, &format!("{CARTS}/{cart}"), None, Some(&token), None).await;
    assert_eq!(guest.status, 200, "the guest cart is untouched: {}", guest.text);
    assert_eq!(quantities(&guest.body), pairs(&[(&mug, 2)]));
}

/// Guards against taking someone else's cart: a customer's cart id with any token merges
/// nothing, whichever token is sent, and stays its owner's.
#[tokio::test]
async fn another_customers_cart_is_never_merged() {
    let app = spawn_app().await;
    let staff = app.staff().await;
    let mug = id(&simple_product(&app, &staff.access, "Mug", 10_000, 5).await["variants"][0]);
    let (_, _, owner) = app.customer().await;
    let theirs = own_cart(&app, &owner.access).await;
    add_own_line(&app, &owner.access, &theirs, &mug, 1).await;
    let (email, password, _) = app.customer().await;

    for token in ["", "anything", owner.access.as_str(), owner.refresh.as_str()] {
        let session = login_with_cart(&app, &email, &password, &theirs, token).await;
        assert_eq!(session["cart_id"], Value::Null, "token {token:?}: {session}");
    }

    let kept = my_cart(&app, &owner.access).await;
    assert_eq!(kept["id"], json!(theirs));
    assert_eq!(quantities(&kept), pairs(&[(&mug, 1)]));
}
