//! The offline Razorpay fake (helpers/fake_razorpay/) against the API facts it imitates, over
//! real HTTP, so the gateway tests that lean on it can trust what it answers.

use std::time::Duration;

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use reqwest::Method;
use serde_json::{Value, json};
use sha2::Sha256;

use crate::helpers::fake_razorpay::{FakeConfig, FakeRazorpay, Fault, PayMethod};

const CAPTURE: &str = "POST /v1/payments/:id/capture";
const ALREADY_CAPTURED: &str =
    "Your payment has been declined as the order is already paid. Please initiate the payment with a new order.";

/// Computed here, apart from the fake's own code, so a signature bug cannot verify itself.
fn hmac_hex(key: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).unwrap();
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

struct Rzp {
    fake: FakeRazorpay,
    config: FakeConfig,
    client: reqwest::Client,
}

impl Rzp {
    async fn start() -> Self {
        Self::with(FakeConfig::default()).await
    }

    /// Manual capture, as a shop that captures only after verifying.
    async fn manual() -> Self {
        Self::with(FakeConfig { auto_capture: false, ..FakeConfig::default() }).await
    }

    async fn with(config: FakeConfig) -> Self {
        let client = reqwest::Client::builder().timeout(Duration::from_secs(10)).build().unwrap();
        Self { fake: FakeRazorpay::start(config.clone()).await, config, client }
    }

    fn request(&self, method: Method, path: &str) -> reqwest::RequestBuilder {
        let url = format!("{}{path}", self.fake.base_url());
        self.client.request(method, url).basic_auth(&self.config.key_id, Some(&self.config.key_secret))
    }

    async fn send(request: reqwest::RequestBuilder) -> (u16, Value) {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap())
    }

    async fn get(&self, path: &str) -> (u16, Value) {
        Self::send(self.request(Method::GET, path)).await
    }

    async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        Self::send(self.request(Method::POST, path).json(&body)).await
    }

    async fn refund(&self, payment_id: &str, key: Option<&str>, body: Value) -> (u16, Value) {
        let mut request = self.request(Method::POST, &format!("/v1/payments/{payment_id}/refund")).json(&body);
        if let Some(key) = key {
            request = request.header("X-Refund-Idempotency", key);
        }
        Self::send(request).await
    }

    async fn order(&self, body: Value) -> String {
        let (status, order) = self.post("/v1/orders", body).await;
        assert_eq!(status, 200, "{order}");
        order["id"].as_str().unwrap().to_owned()
    }

    /// A captured payment of `amount` paise.
    async fn captured(&self, amount: i64) -> String {
        let order_id = self.order(json!({"amount": amount, "currency": "INR", "payment_capture": true})).await;
        self.fake.pay(&order_id, PayMethod::Netbanking).razorpay_payment_id
    }
}

#[track_caller]
fn assert_error(response: &(u16, Value), status: u16, description: &str) {
    assert_eq!(response.0, status, "{}", response.1);
    assert_eq!(response.1["error"]["code"], "BAD_REQUEST_ERROR", "{}", response.1);
    assert_eq!(response.1["error"]["description"], description, "{}", response.1);
}

fn is_id(id: &Value, prefix: &str) -> bool {
    id.as_str()
        .and_then(|id| id.strip_prefix(prefix))
        .is_some_and(|rest| rest.len() == 14 && rest.bytes().all(|b| b.is_ascii_alphanumeric()))
}

#[tokio::test]
async fn requests_without_the_exact_basic_credentials_get_401() {
    let rzp = Rzp::start().await;
    let url = format!("{}/v1/orders/order_00000000000000", rzp.fake.base_url());
    let good = STANDARD.encode(format!("{}:{}", rzp.config.key_id, rzp.config.key_secret));
    let wrong = STANDARD.encode(format!("{}:not-the-secret", rzp.config.key_id));

    for authorization in
        [None, Some(format!("Basic {wrong}")), Some(format!("basic {good}")), Some(format!("BASIC {good}"))]
    {
        let mut request = rzp.client.get(&url);
        if let Some(value) = &authorization {
            request = request.header("Authorization", value);
        }
        let (status, body) = Rzp::send(request).await;

        assert_eq!(status, 401, "{authorization:?}");
        assert_eq!(body, json!({"error": {"code": "BAD_REQUEST_ERROR", "description": "Authentication failed"}}));
    }
    // The right credentials get past auth, to the unknown id's 400.
    assert_error(&rzp.get("/v1/orders/order_00000000000000").await, 400, "The id provided does not exist");
}

#[tokio::test]
async fn an_order_below_one_rupee_is_refused_with_the_documented_body() {
    let rzp = Rzp::start().await;

    let (status, body) = rzp.post("/v1/orders", json!({"amount": 99, "currency": "INR"})).await;

    assert_eq!(status, 400);
    let expected = json!({"error": {"code": "BAD_REQUEST_ERROR", "description": "The amount must be at least INR 1.00",
        "field": "amount", "source": "business", "step": "payment_initiation", "reason": "input_validation_failed",
        "metadata": {}}});
    assert_eq!(body, expected);
}

#[tokio::test]
async fn order_create_refuses_bad_fields_and_accepts_a_40_character_receipt() {
    let rzp = Rzp::start().await;
    let order = |extra: Value| {
        let mut body = json!({"amount": 50000, "currency": "INR"});
        body.as_object_mut().unwrap().extend(extra.as_object().unwrap().clone());
        rzp.post("/v1/orders", body)
    };

    let receipt_41 = order(json!({"receipt": "r".repeat(41)})).await;
    assert_eq!(receipt_41.0, 400);
    assert_eq!(receipt_41.1["error"]["field"], "receipt");
    let notes_16: serde_json::Map<String, Value> = (0..16).map(|i| (format!("k{i}"), json!("v"))).collect();
    assert_eq!(order(json!({"notes": notes_16})).await.1["error"]["field"], "notes");
    assert_eq!(order(json!({"notes": {"k": "v".repeat(257)}})).await.1["error"]["field"], "notes");
    assert_eq!(order(json!({"amount": "50000"})).await.1["error"]["field"], "amount");
    assert_error(&rzp.post("/v1/orders", json!({"currency": "INR"})).await, 400, "The amount field is required.");
    assert_error(&rzp.post("/v1/orders", json!({"amount": 100})).await, 400, "The currency field is required.");
    assert_error(&order(json!({"colour": "red"})).await, 400, "colour is/are not required and should not be sent.");

    let (status, _) = order(json!({"receipt": "r".repeat(40)})).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn a_created_order_has_the_documented_entity_and_can_be_fetched() {
    let rzp = Rzp::start().await;
    let before = chrono::Utc::now().timestamp();

    let (status, order) =
        rzp.post("/v1/orders", json!({"amount": 29500, "currency": "INR", "receipt": "rcpt-1"})).await;

    assert_eq!(status, 200, "{order}");
    assert!(is_id(&order["id"], "order_"), "{}", order["id"]);
    assert_eq!(order["entity"], "order");
    assert_eq!(order["status"], "created");
    assert_eq!(
        (&order["amount"], &order["amount_paid"], &order["amount_due"]),
        (&json!(29500), &json!(0), &json!(29500))
    );
    assert_eq!(
        (&order["attempts"], &order["receipt"], &order["offer_id"]),
        (&json!(0), &json!("rcpt-1"), &Value::Null)
    );
    assert_eq!(order["notes"], json!([]), "empty notes come out as [] like the real API");
    assert!(order["created_at"].as_i64().unwrap() >= before);
    let id = order["id"].as_str().unwrap();
    assert_eq!(rzp.get(&format!("/v1/orders/{id}")).await, (200, order.clone()));
    assert_eq!(
        rzp.get(&format!("/v1/orders/{id}/payments")).await,
        (200, json!({"entity": "collection", "count": 0, "items": []}))
    );

    // Form bodies too, notes as `notes[key]`.
    let form =
        rzp.request(Method::POST, "/v1/orders").form(&[("amount", "100"), ("currency", "INR"), ("notes[shop]", "x")]);
    let (status, order) = Rzp::send(form).await;
    assert_eq!(status, 200, "{order}");
    assert_eq!((&order["amount"], &order["notes"]), (&json!(100), &json!({"shop": "x"})));
}

#[tokio::test]
async fn paying_gives_a_signature_over_order_and_payment_ids_under_the_key_secret() {
    let rzp = Rzp::manual().await;
    let order_id = rzp.order(json!({"amount": 50000, "currency": "INR"})).await;

    let checkout = rzp.fake.pay(&order_id, PayMethod::Card);

    assert_eq!(checkout.razorpay_order_id, order_id);
    assert!(is_id(&json!(checkout.razorpay_payment_id), "pay_"));
    let message = format!("{order_id}|{}", checkout.razorpay_payment_id);
    assert_eq!(checkout.razorpay_signature, hmac_hex(&rzp.config.key_secret, message.as_bytes()));
    let (_, order) = rzp.get(&format!("/v1/orders/{order_id}")).await;
    assert_eq!(
        (&order["status"], &order["attempts"], &order["amount_paid"]),
        (&json!("attempted"), &json!(1), &json!(0))
    );
    let (_, payments) = rzp.get(&format!("/v1/orders/{order_id}/payments")).await;
    assert_eq!(payments["count"], 1);
    assert_eq!(payments["items"][0]["id"], json!(checkout.razorpay_payment_id));
}

#[tokio::test]
async fn a_fetched_payment_has_the_documented_entity() {
    let rzp = Rzp::manual().await;
    let order_id = rzp.order(json!({"amount": 50000, "currency": "INR"})).await;
    let payment_id = rzp.fake.pay(&order_id, PayMethod::Netbanking).razorpay_payment_id;

    let (status, payment) = rzp.get(&format!("/v1/payments/{payment_id}")).await;

    assert_eq!(status, 200, "{payment}");
    assert_eq!(
        (&payment["id"], &payment["entity"], &payment["order_id"]),
        (&json!(payment_id), &json!("payment"), &json!(order_id))
    );
    assert_eq!(
        (&payment["amount"], &payment["currency"], &payment["status"]),
        (&json!(50000), &json!("INR"), &json!("authorized"))
    );
    assert_eq!(
        (&payment["captured"], &payment["fee"], &payment["refund_status"]),
        (&json!(false), &Value::Null, &Value::Null)
    );
    assert_eq!(
        (&payment["method"], &payment["bank"], &payment["amount_refunded"]),
        (&json!("netbanking"), &json!("HDFC"), &json!(0))
    );
    assert_error(&rzp.get("/v1/payments/pay_00000000000000").await, 400, "The id provided does not exist");
}

#[tokio::test]
async fn auto_capture_is_the_default_and_payment_capture_overrides_it() {
    let rzp = Rzp::start().await;
    let auto = rzp.order(json!({"amount": 1000, "currency": "INR"})).await;
    let manual = rzp.order(json!({"amount": 1000, "currency": "INR", "payment_capture": false})).await;

    let auto_payment = rzp.fake.pay(&auto, PayMethod::Upi).razorpay_payment_id;
    let manual_payment = rzp.fake.pay(&manual, PayMethod::Upi).razorpay_payment_id;

    let captured = rzp.fake.payment(&auto_payment).unwrap();
    assert_eq!((&captured["status"], &captured["fee"], &captured["tax"]), (&json!("captured"), &json!(24), &json!(4)));
    assert_eq!(rzp.fake.order(&auto).unwrap()["status"], "paid");
    assert_eq!(rzp.fake.payment(&manual_payment).unwrap()["status"], "authorized");
    assert_eq!(rzp.fake.calls(CAPTURE), 0, "auto capture is Razorpay's doing, not a request");
}

#[tokio::test]
async fn a_second_capture_gets_the_already_paid_error_and_both_are_counted() {
    let rzp = Rzp::manual().await;
    let order_id = rzp.order(json!({"amount": 50000, "currency": "INR"})).await;
    let payment_id = rzp.fake.pay(&order_id, PayMethod::Netbanking).razorpay_payment_id;
    let capture = format!("/v1/payments/{payment_id}/capture");
    assert_error(
        &rzp.post(&capture, json!({"amount": 40000, "currency": "INR"})).await,
        400,
        "Capture amount must be equal to the amount authorized.",
    );
    assert_error(&rzp.post(&capture, json!({"amount": 50000})).await, 400, "The currency field is required.");

    let (status, payment) = rzp.post(&capture, json!({"amount": 50000, "currency": "INR"})).await;
    let again = rzp.post(&capture, json!({"amount": 50000, "currency": "INR"})).await;

    assert_eq!(status, 200, "{payment}");
    assert_eq!(
        (&payment["status"], &payment["captured"], &payment["fee"]),
        (&json!("captured"), &json!(true), &json!(1180))
    );
    let order = rzp.fake.order(&order_id).unwrap();
    assert_eq!(
        (&order["status"], &order["amount_paid"], &order["amount_due"]),
        (&json!("paid"), &json!(50000), &json!(0))
    );
    assert_error(&again, 400, ALREADY_CAPTURED);
    assert_eq!(rzp.fake.calls(CAPTURE), 4);
}

#[tokio::test]
async fn partial_refunds_add_up_to_a_full_one_and_an_over_refund_is_refused() {
    let rzp = Rzp::start().await;
    let payment_id = rzp.captured(50000).await;

    let (status, first) = rzp.refund(&payment_id, None, json!({"amount": 20000})).await;
    assert_eq!(status, 200, "{first}");
    assert!(is_id(&first["id"], "rfnd_"));
    assert_eq!(
        (&first["amount"], &first["payment_id"], &first["status"]),
        (&json!(20000), &json!(payment_id), &json!("processed"))
    );
    let payment = rzp.fake.payment(&payment_id).unwrap();
    assert_eq!(
        (&payment["status"], &payment["refund_status"], &payment["amount_refunded"]),
        (&json!("captured"), &json!("partial"), &json!(20000))
    );

    let over = rzp.refund(&payment_id, None, json!({"amount": 30001})).await;
    assert_error(&over, 400, "The refund amount provided is greater than amount captured.");

    let (status, rest) = rzp.refund(&payment_id, None, json!({})).await;
    assert_eq!((status, &rest["amount"]), (200, &json!(30000)), "no amount refunds what is left");
    let payment = rzp.fake.payment(&payment_id).unwrap();
    assert_eq!(
        (&payment["status"], &payment["refund_status"], &payment["amount_refunded"]),
        (&json!("refunded"), &json!("full"), &json!(50000))
    );
    assert_error(
        &rzp.refund(&payment_id, None, json!({"amount": 100})).await,
        400,
        "The payment has been fully refunded already.",
    );

    let (_, refunds) = rzp.get(&format!("/v1/payments/{payment_id}/refunds")).await;
    assert_eq!(refunds["count"], 2);
    assert_eq!(refunds["items"][0]["id"], rest["id"], "newest first");
    let rest_id = rest["id"].as_str().unwrap();
    assert_eq!(rzp.get(&format!("/v1/refunds/{rest_id}")).await, (200, rest.clone()));
}

#[tokio::test]
async fn a_refund_retried_with_the_same_idempotency_key_is_made_once() {
    let rzp = Rzp::start().await;
    let payment_id = rzp.captured(50000).await;
    let key = "refund-key-0001";

    let first = rzp.refund(&payment_id, Some(key), json!({"amount": 10000})).await;
    let retry = rzp.refund(&payment_id, Some(key), json!({"amount": 10000})).await;

    assert_eq!(first.0, 200, "{}", first.1);
    assert_eq!(retry, first);
    assert_eq!(rzp.fake.payment(&payment_id).unwrap()["amount_refunded"], 10000);
    let (_, refunds) = rzp.get(&format!("/v1/payments/{payment_id}/refunds")).await;
    assert_eq!(refunds["count"], 1);
    let other_body = rzp.refund(&payment_id, Some(key), json!({"amount": 20000})).await;
    assert_eq!(other_body.0, 409);
    assert_eq!(
        other_body.1["error"]["description"],
        "Different request with the same idempotency key has already been processed."
    );
    assert_error(
        &rzp.refund(&payment_id, Some("short"), json!({})).await,
        400,
        "The idempotency key must be at least 10 characters long.",
    );
    let bad_chars = rzp.refund(&payment_id, Some("has spaces in it"), json!({})).await;
    assert_error(
        &bad_chars,
        400,
        "The idempotency key must only contain alphanumeric characters, underscores, and hyphens",
    );
}

#[tokio::test]
async fn a_refund_retried_before_the_first_answer_went_out_gets_409_in_progress() {
    let rzp = Rzp::start().await;
    let payment_id = rzp.captured(50000).await;
    rzp.fake.fault_next("POST /v1/payments/:id/refund", 1, Fault::SlowResponse(Duration::from_millis(800)));
    let key = "slow-refund-0001";
    let path = format!("/v1/payments/{payment_id}/refund");

    let timed_out = rzp
        .request(Method::POST, &path)
        .header("X-Refund-Idempotency", key)
        .timeout(Duration::from_millis(200))
        .json(&json!({"amount": 1000}))
        .send()
        .await;
    let early = rzp.refund(&payment_id, Some(key), json!({"amount": 1000})).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let late = rzp.refund(&payment_id, Some(key), json!({"amount": 1000})).await;

    assert!(timed_out.is_err_and(|e| e.is_timeout()));
    assert_eq!(early.0, 409, "{}", early.1);
    assert_eq!(early.1["error"]["description"], "Another request with the same idempotency key is still in progress.");
    assert_eq!((late.0, &late.1["amount"]), (200, &json!(1000)), "{}", late.1);
    assert_eq!(rzp.fake.payment(&payment_id).unwrap()["amount_refunded"], 1000);
}

#[tokio::test]
async fn webhooks_are_signed_over_the_raw_body_with_the_webhook_secret() {
    let rzp = Rzp::manual().await;
    let order_id = rzp.order(json!({"amount": 50000, "currency": "INR"})).await;
    let payment_id = rzp.fake.pay(&order_id, PayMethod::Netbanking).razorpay_payment_id;
    rzp.post(&format!("/v1/payments/{payment_id}/capture"), json!({"amount": 50000, "currency": "INR"})).await;

    let webhook = rzp.fake.webhook("order.paid", &payment_id);

    // The test's HMAC against the notes' Node SDK vector, then the fake's signature against it.
    let vector = hmac_hex("123456", br#"{"a":1,"b":2,"c":{"d":3}}"#);
    assert_eq!(vector, "2fe04e22977002e6c7cb553adab8b460cb9e2a4970d5953cb27a8472752e3bbc");
    assert_eq!(webhook.signature, hmac_hex(&rzp.config.webhook_secret, &webhook.body));
    assert!(webhook.body.starts_with(br#"{"entity":"event","account_id":"acc_"#), "the documented key order");
    let body: Value = serde_json::from_slice(&webhook.body).unwrap();
    assert_eq!(
        (&body["entity"], &body["event"], &body["contains"]),
        (&json!("event"), &json!("order.paid"), &json!(["payment", "order"]))
    );
    assert_eq!(body["payload"]["order"]["entity"]["status"], "paid");
    assert_eq!(body["payload"]["payment"]["entity"]["id"], json!(payment_id));
    let headers = webhook.headers();
    assert!(headers.contains(&("x-razorpay-signature", webhook.signature.clone())));
    assert!(headers.contains(&("x-razorpay-event-id", webhook.event_id.clone())));
    // Events as they happened, the authorisation snapshot before the capture.
    let events = rzp.fake.events();
    let names: Vec<&str> = events.iter().map(|e| e.event.as_str()).collect();
    assert_eq!(names, ["payment.authorized", "payment.captured", "order.paid"]);
    let authorized: Value = serde_json::from_slice(&events[0].body).unwrap();
    assert_eq!(authorized["payload"]["payment"]["entity"]["status"], "authorized");
    assert!(events.iter().all(|e| e.signature == hmac_hex(&rzp.config.webhook_secret, &e.body)));
}

#[tokio::test]
async fn deliver_retries_a_failing_receiver_with_the_same_event_id() {
    let rzp = Rzp::start().await;
    let payment_id = rzp.captured(1000).await;
    let webhook = rzp.fake.webhook("payment.captured", &payment_id);
    // A second fake as the receiver: its injected 503, then its 401 (a webhook has no API
    // credentials), are both "not 2xx".
    let receiver = FakeRazorpay::start(FakeConfig::default()).await;
    receiver.fault_next("*", 1, Fault::Status(503));
    let url = format!("{}/hook", receiver.base_url());

    let outcomes = rzp.fake.deliver(&url, &webhook, 3).await;

    assert_eq!(outcomes, [Ok(503), Ok(401), Ok(401)]);
    let received = receiver.requests("POST /hook");
    assert_eq!(received.len(), 3);
    assert!(received.iter().all(|r| r.body == webhook.body));
    assert!(received.iter().all(|r| r.header("x-razorpay-event-id") == Some(webhook.event_id.as_str())));
}

#[tokio::test]
async fn injected_5xx_fail_then_the_fake_recovers() {
    let rzp = Rzp::start().await;
    rzp.fake.fault_next("POST /v1/orders", 2, Fault::Status(503));
    let body = json!({"amount": 1000, "currency": "INR"});

    let first = rzp.post("/v1/orders", body.clone()).await;
    let second = rzp.post("/v1/orders", body.clone()).await;
    let third = rzp.post("/v1/orders", body.clone()).await;

    assert_eq!((first.0, second.0, third.0), (503, 503, 200));
    assert_eq!(first.1["error"]["code"], "SERVER_ERROR");
    assert_eq!(rzp.fake.calls("POST /v1/orders"), 3);
    rzp.fake.fault_always("*", Fault::Status(500));
    assert_eq!(rzp.get("/v1/orders/order_00000000000000").await.0, 500);
    rzp.fake.clear_faults();
    assert_eq!(rzp.get("/v1/orders/order_00000000000000").await.0, 400);
}

#[tokio::test]
async fn a_slow_capture_times_the_client_out_but_still_captures() {
    let rzp = Rzp::manual().await;
    let order_id = rzp.order(json!({"amount": 1000, "currency": "INR"})).await;
    let payment_id = rzp.fake.pay(&order_id, PayMethod::Netbanking).razorpay_payment_id;
    rzp.fake.fault_next(CAPTURE, 1, Fault::SlowResponse(Duration::from_secs(2)));
    let capture = format!("/v1/payments/{payment_id}/capture");

    let timed_out = rzp
        .request(Method::POST, &capture)
        .timeout(Duration::from_millis(200))
        .json(&json!({"amount": 1000, "currency": "INR"}))
        .send()
        .await;

    assert!(timed_out.is_err_and(|e| e.is_timeout()));
    assert_eq!(rzp.get(&format!("/v1/payments/{payment_id}")).await.1["status"], "captured");
    assert_error(&rzp.post(&capture, json!({"amount": 1000, "currency": "INR"})).await, 400, ALREADY_CAPTURED);
    assert_eq!(rzp.fake.calls(CAPTURE), 2);
}

#[tokio::test]
async fn a_hung_request_times_the_client_out_and_changes_nothing() {
    let rzp = Rzp::start().await;
    rzp.fake.fault_next("POST /v1/orders", 1, Fault::Hang(Duration::from_secs(2)));

    let timed_out = rzp
        .request(Method::POST, "/v1/orders")
        .timeout(Duration::from_millis(200))
        .json(&json!({"amount": 1000, "currency": "INR"}))
        .send()
        .await;

    assert!(timed_out.is_err_and(|e| e.is_timeout()));
    assert!(rzp.fake.events().is_empty());
    assert_eq!(rzp.post("/v1/orders", json!({"amount": 1000, "currency": "INR"})).await.0, 200);
}

#[tokio::test]
async fn calls_are_counted_per_route_pattern() {
    let rzp = Rzp::start().await;
    let payment_id = rzp.captured(1000).await;

    rzp.get(&format!("/v1/payments/{payment_id}")).await;
    rzp.get("/v1/payments/pay_00000000000000").await;
    rzp.refund(&payment_id, Some("count-key-0001"), json!({"amount": 100})).await;
    let unknown = rzp.get("/v1/nothing/here").await;

    assert_eq!(rzp.fake.calls("POST /v1/orders"), 1);
    assert_eq!(rzp.fake.calls("GET /v1/payments/:id"), 2);
    assert_eq!(rzp.fake.calls("POST /v1/payments/:id/refund"), 1);
    assert_eq!(rzp.fake.calls(CAPTURE), 0);
    let refund = &rzp.fake.requests("POST /v1/payments/:id/refund")[0];
    assert_eq!(refund.header("X-Refund-Idempotency"), Some("count-key-0001"));
    assert_eq!(rzp.fake.calls("GET /v1/nothing/here"), 1);
    assert_eq!(unknown.0, 400);
    assert_eq!(unknown.1["error"]["description"], "The requested URL was not found on the server.");
}

#[tokio::test]
async fn a_declined_attempt_leaves_the_order_payable() {
    let rzp = Rzp::start().await;
    let order_id = rzp.order(json!({"amount": 1000, "currency": "INR"})).await;

    let declined = rzp.fake.fail_payment(&order_id, PayMethod::Card);
    let checkout = rzp.fake.pay(&order_id, PayMethod::Card);

    let failed_id = declined["error"]["metadata"]["payment_id"].as_str().unwrap();
    let failed = rzp.fake.payment(failed_id).unwrap();
    assert_eq!((&failed["status"], &failed["error_reason"]), (&json!("failed"), &json!("payment_failed")));
    let order = rzp.fake.order(&order_id).unwrap();
    assert_eq!((&order["status"], &order["attempts"]), (&json!("paid"), &json!(2)));
    let (_, payments) = rzp.get(&format!("/v1/orders/{order_id}/payments")).await;
    assert_eq!(payments["count"], 2);
    assert_eq!(rzp.fake.events()[0].event, "payment.failed");
    assert_ne!(checkout.razorpay_payment_id, failed_id);
}
