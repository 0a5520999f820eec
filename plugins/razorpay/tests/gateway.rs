//! The Razorpay gateway driven as the engine drives it, against `testing::gateway`'s scripted HTTP
//! fake, with real HMACs over in-memory secrets.

use commerce_sdk::Currency;
use commerce_sdk::gateway::{
    Auth, CaptureRequest, ClientResult, GatewayError, HmacAlgorithm, HttpError, PaymentState, RefundRequest, Response,
    Webhook, WebhookOutcome, to_hex,
};
use commerce_sdk::testing::gateway::{Exchange, TestGateway, order, webhook};
use razorpay::Razorpay;
use serde_json::{Value, json};

const API: &str = "https://api.razorpay.test";
const SETTINGS: &str = r#"{"key_id": "rzp_test_key", "api_base": "https://api.razorpay.test"}"#;
/// Razorpay's published checkout example: this secret signs `GATEWAY_ORDER|PAYMENT` to `SIGNATURE`.
const KEY_SECRET: &str = "EnLs21M47BllR3X8PSFtjtbd";
const GATEWAY_ORDER: &str = "order_IEIaMR65cu6nz3";
const PAYMENT: &str = "pay_IH4NVgf4Dreq1l";
const SIGNATURE: &str = "0d4e745a1838664ad6c9c9902212a32d627d68e917290b0ad5f08ff4561bc50f";
const ALREADY_CAPTURED: &str =
    "Your payment has been declined as the order is already paid. Please initiate the payment with a new order.";

fn gateway_with(settings: &str) -> TestGateway<Razorpay> {
    TestGateway::<Razorpay>::new(settings)
        .expect("the settings are valid")
        .secret("key_secret", KEY_SECRET)
        .secret("webhook_secret", "whsec_test")
}

fn gateway() -> TestGateway<Razorpay> {
    gateway_with(SETTINGS)
}

fn auth() -> Auth {
    Auth::basic("rzp_test_key", "key_secret")
}

fn inr() -> Currency {
    Currency::new("INR").expect("INR is a currency")
}

fn payment(order_id: &str, status: &str, amount: i64) -> Value {
    json!({"id": PAYMENT, "entity": "payment", "order_id": order_id, "amount": amount, "currency": "INR",
        "status": status, "amount_refunded": 0, "refund_status": null, "notes": [], "created_at": 1_567_674_599})
}

fn client_result(payload: Value) -> ClientResult {
    ClientResult {
        order_id: "ord_1".to_owned(),
        gateway_order_id: GATEWAY_ORDER.to_owned(),
        amount: 50_000,
        currency: inr(),
        payload: payload.to_string(),
    }
}

fn checkout_payload(signature: &str) -> Value {
    json!({"razorpay_payment_id": PAYMENT, "razorpay_order_id": GATEWAY_ORDER, "razorpay_signature": signature})
}

fn expect_payment_fetch(gateway: &TestGateway<Razorpay>, reply: Value) {
    gateway.expect(
        Exchange::get(format!("{API}/v1/payments/{PAYMENT}")).auth(auth()).respond(Response::json(200, &reply)),
    );
}

fn signed_webhook(gateway: &TestGateway<Razorpay>, body: &Value) -> Webhook {
    let body = body.to_string().into_bytes();
    let signature = to_hex(&gateway.sign(HmacAlgorithm::Sha256, "webhook_secret", &body).expect("configured"));
    webhook(&[("x-razorpay-signature", &signature), ("x-razorpay-event-id", "evt_1")], body)
}

fn event(name: &str, payload: Value) -> Value {
    json!({"entity": "event", "account_id": "acc_BFQ7uQEaa7j2z7", "event": name, "payload": payload,
        "created_at": 1_567_674_606})
}

// Settings

#[test]
fn settings_default_to_the_live_api_and_automatic_capture() {
    let gateway = gateway_with(r#"{"key_id": "rzp_test_key"}"#);
    gateway.expect(
        Exchange::post("https://api.razorpay.com/v1/orders")
            .json_body(json!({"amount": 50_000, "currency": "INR", "receipt": "ord_1",
                "notes": {"order_id": "ord_1"}, "payment_capture": true}))
            .auth(auth())
            .respond(Response::json(200, &json!({"id": GATEWAY_ORDER, "currency": "INR", "notes": []}))),
    );

    gateway.create_session(&order("ord_1", 50_000, "INR")).unwrap();
}

#[test]
fn settings_report_every_problem_at_once() {
    let err = TestGateway::<Razorpay>::new(r#"{"key_id": " ", "api_base": "http://api.razorpay.com"}"#).err().unwrap();

    let message = err.to_string();
    assert!(message.contains("key_id must not be empty"), "{message}");
    assert!(message.contains("api_base `http://api.razorpay.com` must be an https:// URL"), "{message}");
}

#[test]
fn settings_allow_plain_http_to_this_machine_only() {
    assert!(TestGateway::<Razorpay>::new(r#"{"key_id": "k", "api_base": "http://127.0.0.1:9000"}"#).is_ok());
    assert!(TestGateway::<Razorpay>::new(r#"{"key_id": "k", "api_base": "http://localhost.evil.test"}"#).is_err());
    let err = TestGateway::<Razorpay>::new(r#"{"key_id": "k", "capture": "later"}"#).err().unwrap();
    assert!(err.to_string().contains("unknown variant `later`"), "{err}");
}

// create_session

#[test]
fn create_session_posts_the_order_with_basic_auth_by_secret_name() {
    let gateway =
        gateway_with(r#"{"key_id": "rzp_test_key", "api_base": "https://api.razorpay.test/", "capture": "manual"}"#);
    let mut order = order("ord_1", 50_000, "INR");
    order.order_number = "N".repeat(45);
    gateway.expect(
        Exchange::post(format!("{API}/v1/orders"))
            .header("content-type", "application/json")
            .json_body(json!({"amount": 50_000, "currency": "INR", "receipt": "N".repeat(40),
                "notes": {"order_id": "ord_1"}, "payment_capture": false}))
            .auth(auth())
            .respond(Response::json(
                200,
                &json!({"id": GATEWAY_ORDER, "entity": "order", "amount": 50_000,
                "currency": "INR", "status": "created", "notes": {"order_id": "ord_1"}}),
            )),
    );

    let session = gateway.create_session(&order).unwrap();

    assert_eq!(session.gateway_order_id, GATEWAY_ORDER);
    let payload: Value = serde_json::from_str(&session.client_payload).unwrap();
    assert_eq!(payload, json!({"key": "rzp_test_key", "order_id": GATEWAY_ORDER, "amount": 50_000, "currency": "INR"}));
}

#[test]
fn create_session_refuses_less_than_one_rupee_without_calling_razorpay() {
    let gateway = gateway();

    let err = gateway.create_session(&order("ord_1", 99, "INR")).unwrap_err();

    assert_eq!(err, GatewayError::Rejected("Razorpay needs at least ₹1.00 (100 paise)".to_owned()));
    assert!(gateway.sent().is_empty());
}

#[test]
fn create_session_is_rejected_with_razorpays_description_on_a_4xx() {
    let gateway = gateway();
    gateway.expect(Exchange::post(format!("{API}/v1/orders")).auth(auth()).respond(Response::json(
        400,
        &json!({"error": {"code": "BAD_REQUEST_ERROR", "description": "The amount is invalid", "field": "amount"}}),
    )));

    let err = gateway.create_session(&order("ord_1", 50_000, "INR")).unwrap_err();

    assert_eq!(err, GatewayError::Rejected("The amount is invalid".to_owned()));
}

#[test]
fn create_session_is_unavailable_on_a_5xx_or_a_timeout() {
    let gateway = gateway();
    gateway.expect(Exchange::post(format!("{API}/v1/orders")).auth(auth()).respond(Response::json(
        502,
        &json!({"error": {"code": "SERVER_ERROR", "description": "The server encountered an error"}}),
    )));
    gateway.expect(Exchange::post(format!("{API}/v1/orders")).auth(auth()).fail(HttpError::Timeout));

    let first = gateway.create_session(&order("ord_1", 50_000, "INR")).unwrap_err();
    let second = gateway.create_session(&order("ord_1", 50_000, "INR")).unwrap_err();

    assert!(matches!(first, GatewayError::Unavailable(_)), "{first}");
    assert_eq!(second, GatewayError::Unavailable("timed out".to_owned()));
}

// verify

#[test]
fn verify_accepts_razorpays_published_signature_and_reports_the_payment() {
    let gateway = gateway();
    expect_payment_fetch(&gateway, payment(GATEWAY_ORDER, "captured", 50_000));

    let status = gateway.verify(&client_result(checkout_payload(SIGNATURE))).unwrap();

    assert_eq!(status.state, PaymentState::Captured);
    assert_eq!(status.gateway_payment_id.as_deref(), Some(PAYMENT));
    assert_eq!((status.amount, status.currency, status.amount_refunded), (50_000, inr(), 0));
}

#[test]
fn verify_fails_on_a_tampered_signature_without_calling_razorpay() {
    let gateway = gateway();
    let tampered = SIGNATURE.replace('0', "1");

    let err = gateway.verify(&client_result(checkout_payload(&tampered))).unwrap_err();

    assert_eq!(err, GatewayError::VerificationFailed("signature mismatch".to_owned()));
    assert!(gateway.sent().is_empty());
}

#[test]
fn verify_fails_when_the_payload_names_another_gateway_order() {
    let payload = json!({"razorpay_payment_id": PAYMENT, "razorpay_order_id": "order_Other000000000",
        "razorpay_signature": SIGNATURE});

    let err = gateway().verify(&client_result(payload)).unwrap_err();

    assert!(matches!(err, GatewayError::VerificationFailed(_)), "{err}");
}

#[test]
fn verify_refuses_a_payment_of_another_order() {
    let gateway = gateway();
    expect_payment_fetch(&gateway, payment("order_Other000000000", "captured", 50_000));

    let err = gateway.verify(&client_result(checkout_payload(SIGNATURE))).unwrap_err();

    assert_eq!(err, GatewayError::VerificationFailed("the payment belongs to another gateway order".to_owned()));
}

#[test]
fn verify_refuses_a_payment_of_another_amount() {
    let gateway = gateway();
    expect_payment_fetch(&gateway, payment(GATEWAY_ORDER, "captured", 100));

    let err = gateway.verify(&client_result(checkout_payload(SIGNATURE))).unwrap_err();

    assert_eq!(err, GatewayError::VerificationFailed("the payment is 100 INR, the order 50000 INR".to_owned()));
}

// handle_webhook

#[test]
fn a_payment_webhook_with_empty_notes_is_an_event() {
    let gateway = gateway();
    let body =
        event("payment.authorized", json!({"payment": {"entity": payment(GATEWAY_ORDER, "authorized", 50_000)}}));

    let outcome = gateway.handle_webhook(&signed_webhook(&gateway, &body)).unwrap();

    let WebhookOutcome::Event(event) = outcome else { panic!("expected an event, got {outcome:?}") };
    assert_eq!(event.event_id, "evt_1");
    assert_eq!((event.order_id, event.gateway_order_id.as_deref()), (None, Some(GATEWAY_ORDER)));
    let payment = event.payment.unwrap();
    assert_eq!((payment.state, payment.amount), (PaymentState::Authorized, 50_000));
    assert_eq!(event.refund, None);
}

#[test]
fn order_paid_carries_the_engine_order_id_from_the_notes() {
    let gateway = gateway();
    let mut entity = payment(GATEWAY_ORDER, "captured", 50_000);
    entity["notes"] = json!({"order_id": "ord_1"});
    let body = event("order.paid", json!({"payment": {"entity": entity}, "order": {"entity": {"id": GATEWAY_ORDER}}}));

    let outcome = gateway.handle_webhook(&signed_webhook(&gateway, &body)).unwrap();

    let WebhookOutcome::Event(event) = outcome else { panic!("expected an event, got {outcome:?}") };
    assert_eq!(event.order_id.as_deref(), Some("ord_1"));
    assert_eq!(event.payment.unwrap().state, PaymentState::Captured);
}

#[test]
fn a_refund_webhook_fills_the_refund_and_the_payment() {
    let gateway = gateway();
    let mut entity = payment(GATEWAY_ORDER, "captured", 50_000);
    entity["refund_status"] = json!("partial");
    entity["amount_refunded"] = json!(1_000);
    let refund = json!({"id": "rfnd_FS8TWyPrCsa0OB", "entity": "refund", "amount": 1_000, "currency": "INR",
        "payment_id": PAYMENT, "notes": [], "status": "processed"});
    let body = event("refund.processed", json!({"refund": {"entity": refund}, "payment": {"entity": entity}}));

    let outcome = gateway.handle_webhook(&signed_webhook(&gateway, &body)).unwrap();

    let WebhookOutcome::Event(event) = outcome else { panic!("expected an event, got {outcome:?}") };
    let refund = event.refund.unwrap();
    assert_eq!(
        (refund.gateway_refund_id.as_str(), refund.amount, refund.state),
        ("rfnd_FS8TWyPrCsa0OB", 1_000, PaymentState::Refunded)
    );
    let payment = event.payment.unwrap();
    assert_eq!((payment.state, payment.amount_refunded), (PaymentState::PartiallyRefunded, 1_000));
}

#[test]
fn a_verified_webhook_of_another_event_is_ignored() {
    let gateway = gateway();
    let body = event("refund.speed_changed", json!({}));

    let outcome = gateway.handle_webhook(&signed_webhook(&gateway, &body)).unwrap();

    assert_eq!(outcome, WebhookOutcome::Ignored("event `refund.speed_changed`".to_owned()));
}

#[test]
fn a_tampered_or_unsigned_webhook_fails_verification() {
    let gateway = gateway();
    let body = event("payment.captured", json!({"payment": {"entity": payment(GATEWAY_ORDER, "captured", 50_000)}}));
    let mut tampered = signed_webhook(&gateway, &body);
    tampered.body = String::from_utf8(tampered.body).unwrap().replace("50000", "100").into_bytes();

    let err = gateway.handle_webhook(&tampered).unwrap_err();
    let unsigned = gateway.handle_webhook(&webhook(&[], body.to_string())).unwrap_err();

    assert_eq!(err, GatewayError::VerificationFailed("signature mismatch".to_owned()));
    assert!(matches!(unsigned, GatewayError::VerificationFailed(_)), "{unsigned}");
}

// fetch_status

#[test]
fn fetch_status_reports_the_best_payment_of_the_order() {
    let gateway = gateway();
    let mut failed = payment(GATEWAY_ORDER, "failed", 50_000);
    failed["id"] = json!("pay_Failed00000000");
    failed["created_at"] = json!(1_567_674_700);
    gateway.expect(Exchange::get(format!("{API}/v1/orders/{GATEWAY_ORDER}/payments")).auth(auth()).respond(
        Response::json(
            200,
            &json!({"entity": "collection", "count": 2,
            "items": [failed, payment(GATEWAY_ORDER, "authorized", 50_000)]}),
        ),
    ));

    let status = gateway.fetch_status("ord_1", GATEWAY_ORDER).unwrap();

    assert_eq!((status.state, status.gateway_payment_id.as_deref()), (PaymentState::Authorized, Some(PAYMENT)));
}

#[test]
fn fetch_status_is_pending_when_nobody_paid_yet() {
    let gateway = gateway();
    gateway.expect(
        Exchange::get(format!("{API}/v1/orders/{GATEWAY_ORDER}/payments"))
            .auth(auth())
            .respond(Response::json(200, &json!({"entity": "collection", "count": 0, "items": []}))),
    );
    gateway.expect(
        Exchange::get(format!("{API}/v1/orders/{GATEWAY_ORDER}"))
            .auth(auth())
            .respond(Response::json(200, &json!({"id": GATEWAY_ORDER, "amount": 50_000, "currency": "INR"}))),
    );

    let status = gateway.fetch_status("ord_1", GATEWAY_ORDER).unwrap();

    assert_eq!((status.state, status.gateway_payment_id, status.currency), (PaymentState::Pending, None, inr()));
}

// capture and refund

fn capture_request() -> CaptureRequest {
    CaptureRequest {
        order_id: "ord_1".to_owned(),
        gateway_payment_id: PAYMENT.to_owned(),
        amount: 50_000,
        currency: inr(),
    }
}

#[test]
fn capture_posts_the_amount_and_currency() {
    let gateway = gateway();
    gateway.expect(
        Exchange::post(format!("{API}/v1/payments/{PAYMENT}/capture"))
            .json_body(json!({"amount": 50_000, "currency": "INR"}))
            .auth(auth())
            .respond(Response::json(200, &payment(GATEWAY_ORDER, "captured", 50_000))),
    );

    let status = gateway.capture(&capture_request()).unwrap();

    assert_eq!(status.state, PaymentState::Captured);
}

#[test]
fn capturing_an_already_captured_payment_succeeds() {
    let gateway = gateway();
    gateway.expect(Exchange::post(format!("{API}/v1/payments/{PAYMENT}/capture")).auth(auth()).respond(
        Response::json(400, &json!({"error": {"code": "BAD_REQUEST_ERROR", "description": ALREADY_CAPTURED}})),
    ));
    expect_payment_fetch(&gateway, payment(GATEWAY_ORDER, "captured", 50_000));

    let status = gateway.capture(&capture_request()).unwrap();

    assert_eq!(status.state, PaymentState::Captured);
}

#[test]
fn refund_posts_the_amount_and_reason_with_the_engines_idempotency_key() {
    let gateway = gateway();
    gateway.expect(
        Exchange::post(format!("{API}/v1/payments/{PAYMENT}/refund"))
            .header("X-Refund-Idempotency", "refund_key_0123456789")
            .json_body(json!({"amount": 1_000, "notes": {"reason": "damaged"}}))
            .auth(auth())
            .respond(Response::json(
                200,
                &json!({"id": "rfnd_FP8QHiV938haTz", "entity": "refund", "amount": 1_000,
                "currency": "INR", "payment_id": PAYMENT, "notes": {"reason": "damaged"}, "status": "pending"}),
            )),
    );
    let request = RefundRequest {
        order_id: "ord_1".to_owned(),
        gateway_payment_id: PAYMENT.to_owned(),
        amount: 1_000,
        currency: inr(),
        reason: Some("damaged".to_owned()),
        idempotency_key: "refund_key_0123456789".to_owned(),
    };

    let refund = gateway.refund(&request).unwrap();

    assert_eq!((refund.gateway_refund_id.as_str(), refund.amount), ("rfnd_FP8QHiV938haTz", 1_000));
    assert_eq!((refund.gateway_payment_id.as_str(), refund.state), (PAYMENT, PaymentState::Pending));
}
