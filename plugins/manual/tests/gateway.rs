//! The manual gateway driven as the engine drives it, through `testing::gateway`: no HTTP is
//! scripted, so any request it sent would fail the test.

use commerce_sdk::Currency;
use commerce_sdk::gateway::{Capabilities, CaptureRequest, ClientResult, GatewayError, RefundRequest, WebhookOutcome};
use commerce_sdk::testing::gateway::{TestGateway, order, webhook};
use manual::{INSTRUCTIONS_MAX_CHARS, Manual};
use serde_json::{Value, json};

const DEFAULT_INSTRUCTIONS: &str = "Pay by bank transfer or cash on delivery; we ship once the payment is received.";

fn gateway_with(settings: &str) -> TestGateway<Manual> {
    TestGateway::<Manual>::new(settings).expect("the settings are valid")
}

fn gateway() -> TestGateway<Manual> {
    gateway_with("{}")
}

fn inr() -> Currency {
    Currency::new("INR").expect("INR is a currency")
}

fn rejection(result: Result<impl std::fmt::Debug, GatewayError>) -> String {
    match result {
        Err(GatewayError::Rejected(why)) => why,
        other => panic!("expected a rejection, got {other:?}"),
    }
}

// Settings

#[test]
fn settings_default_to_generic_instructions_and_no_expiry() {
    let gateway = gateway();

    let session = gateway.create_session(&order("ord_1", 50_000, "INR")).unwrap();

    let payload: Value = serde_json::from_str(&session.client_payload).unwrap();
    assert_eq!(payload, json!({"instructions": DEFAULT_INSTRUCTIONS}));
    assert!(!gateway.capabilities().unpaid_orders_expire);
}

#[test]
fn settings_refuse_blank_instructions() {
    let err = TestGateway::<Manual>::new(r#"{"instructions": "  \n "}"#).err().unwrap();

    assert_eq!(err.to_string(), "plugin `gateway` rejected its settings: instructions must not be blank");
}

#[test]
fn settings_refuse_instructions_over_a_thousand_characters() {
    let at_most = json!({"instructions": "é".repeat(INSTRUCTIONS_MAX_CHARS)}).to_string();
    let too_long = json!({"instructions": "é".repeat(INSTRUCTIONS_MAX_CHARS + 1)}).to_string();

    assert!(TestGateway::<Manual>::new(&at_most).is_ok(), "1000 characters (2000 bytes) are allowed");
    let err = TestGateway::<Manual>::new(&too_long).err().unwrap();
    assert!(err.to_string().contains("instructions are 1001 characters long, at most 1000"), "{err}");
}

#[test]
fn settings_refuse_unknown_keys_and_wrong_types() {
    let err = TestGateway::<Manual>::new(r#"{"instruction": "typo"}"#).err().unwrap();
    assert!(err.to_string().contains("unknown field `instruction`"), "{err}");
    let err = TestGateway::<Manual>::new(r#"{"expire_unpaid": "yes"}"#).err().unwrap();
    assert!(err.to_string().contains("invalid type"), "{err}");
}

// capabilities

#[test]
fn staff_confirm_payments_and_unpaid_orders_do_not_expire_by_default() {
    assert_eq!(gateway().capabilities(), Capabilities { staff_confirms_payment: true, unpaid_orders_expire: false });
}

#[test]
fn unpaid_orders_expire_when_the_operator_says_so() {
    let gateway = gateway_with(r#"{"expire_unpaid": true}"#);

    assert_eq!(gateway.capabilities(), Capabilities { staff_confirms_payment: true, unpaid_orders_expire: true });
}

// create_session

#[test]
fn create_session_names_the_order_and_hands_over_the_instructions_without_a_call() {
    let gateway = gateway_with(r#"{"instructions": "IBAN DE00 1234; reference: your order number"}"#);

    let session = gateway.create_session(&order("ord_1", 50_000, "INR")).unwrap();

    assert_eq!(session.gateway_order_id, "manual_ord_1");
    let payload: Value = serde_json::from_str(&session.client_payload).unwrap();
    assert_eq!(payload, json!({"instructions": "IBAN DE00 1234; reference: your order number"}));
    assert!(gateway.sent().is_empty());
}

// What staff do by hand

#[test]
fn verify_is_refused_because_staff_confirm_payments() {
    let outcome = ClientResult {
        order_id: "ord_1".to_owned(),
        gateway_order_id: "manual_ord_1".to_owned(),
        amount: 50_000,
        currency: inr(),
        payload: r#"{"paid": true}"#.to_owned(),
    };

    let why = rejection(gateway().verify(&outcome));

    assert_eq!(why, "manual payments are confirmed by staff, not by the storefront");
}

#[test]
fn webhooks_are_acknowledged_and_ignored() {
    let outcome = gateway().handle_webhook(&webhook(&[("x-signature", "x")], r#"{"event": "paid"}"#)).unwrap();

    assert_eq!(outcome, WebhookOutcome::Ignored("manual payments have no webhooks".to_owned()));
}

#[test]
fn fetch_status_is_refused_because_no_gateway_knows() {
    let why = rejection(gateway().fetch_status("ord_1", "manual_ord_1"));

    assert!(why.contains("staff confirm them by hand"), "{why}");
}

#[test]
fn capture_is_refused_because_staff_confirm_payments() {
    let request = CaptureRequest {
        order_id: "ord_1".to_owned(),
        gateway_payment_id: "manual_ord_1".to_owned(),
        amount: 50_000,
        currency: inr(),
    };

    let why = rejection(gateway().capture(&request));

    assert!(why.contains("staff confirm them by hand"), "{why}");
}

#[test]
fn refund_is_refused_because_staff_record_refunds() {
    let request = RefundRequest {
        order_id: "ord_1".to_owned(),
        gateway_payment_id: "manual_ord_1".to_owned(),
        amount: 10_000,
        currency: inr(),
        reason: Some("damaged".to_owned()),
        idempotency_key: "refund_key_0123456789".to_owned(),
    };

    let why = rejection(gateway().refund(&request));

    assert!(why.contains("recorded by hand"), "{why}");
}
