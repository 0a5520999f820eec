//! A Razorpay-style gateway written against the SDK, tested natively through
//! `testing::gateway`: the scripted HTTP fake, in-memory secrets with real HMACs, captured logs.

use commerce_sdk::gateway::{
    Auth, Capabilities, CaptureRequest, ClientResult, GatewayError, HmacAlgorithm, HttpError, Order, PaymentEvent,
    PaymentState, PaymentStatus, RefundRequest, RefundStatus, Request, Response, Session, Webhook, WebhookOutcome,
    from_hex, to_hex,
};
use commerce_sdk::testing::TestError;
use commerce_sdk::testing::gateway::{Exchange, TestGateway, order, webhook};
use commerce_sdk::{Currency, GatewayHost, Level, PaymentGateway};
use serde::Deserialize;
use serde_json::{Value, json};

/// The gateway under test.
struct Razorpay;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Settings {
    api_base: String,
    key_id: String,
}

fn unavailable(why: impl std::fmt::Display) -> GatewayError {
    GatewayError::Unavailable(why.to_string())
}

fn currency(code: &str) -> Result<Currency, GatewayError> {
    Currency::new(code).map_err(unavailable)
}

fn check_signature(
    host: &dyn GatewayHost,
    secret: &str,
    message: &[u8],
    signature_hex: Option<&str>,
) -> Result<(), GatewayError> {
    let signature = signature_hex
        .and_then(from_hex)
        .ok_or_else(|| GatewayError::VerificationFailed("no hex signature".to_owned()))?;
    match host.hmac_verify(HmacAlgorithm::Sha256, secret, message, &signature) {
        Ok(true) => Ok(()),
        Ok(false) => Err(GatewayError::VerificationFailed("signature mismatch".to_owned())),
        Err(e) => Err(unavailable(e)),
    }
}

impl Razorpay {
    fn send(settings: &Settings, host: &dyn GatewayHost, request: Request) -> Result<Value, GatewayError> {
        let response = host.http_send(&request.auth(Auth::basic(&settings.key_id, "key_secret")))?;
        let body: Value = response.json_body().map_err(unavailable)?;
        if !response.is_success() {
            let description = body["error"]["description"].as_str().unwrap_or("no description");
            return Err(GatewayError::Rejected(format!("{}: {description}", response.status)));
        }
        Ok(body)
    }

    fn payment(entity: &Value) -> Result<PaymentStatus, GatewayError> {
        let state = match entity["status"].as_str() {
            Some("authorized") => PaymentState::Authorized,
            Some("captured") => PaymentState::Captured,
            Some("refunded") => PaymentState::Refunded,
            Some("failed") => PaymentState::Failed,
            _ => PaymentState::Pending,
        };
        Ok(PaymentStatus {
            state,
            gateway_payment_id: entity["id"].as_str().map(str::to_owned),
            amount: entity["amount"].as_i64().unwrap_or(0),
            currency: currency(entity["currency"].as_str().unwrap_or_default())?,
            amount_refunded: entity["amount_refunded"].as_i64().unwrap_or(0),
        })
    }
}

impl PaymentGateway for Razorpay {
    type Settings = Settings;

    fn validate_settings(settings: &Settings) -> Result<(), String> {
        if !settings.api_base.starts_with("https://") {
            return Err(format!("api_base `{}` is not an https:// URL", settings.api_base));
        }
        Ok(())
    }

    fn create_session(settings: &Settings, host: &dyn GatewayHost, order: &Order) -> Result<Session, GatewayError> {
        let body = json!({"amount": order.amount, "currency": order.currency.as_str(),
            "receipt": order.order_number, "notes": {"order_id": order.order_id}});
        let answer = Self::send(settings, host, Request::post(format!("{}/v1/orders", settings.api_base)).json(&body))?;
        let id = answer["id"].as_str().ok_or_else(|| unavailable("no order id"))?;
        commerce_sdk::log(Level::Info, "gateway order created", &[("gateway_order_id", id)]);
        Ok(Session {
            gateway_order_id: id.to_owned(),
            client_payload: json!({"key": settings.key_id, "order_id": id, "amount": order.amount}).to_string(),
        })
    }

    fn verify(_: &Settings, host: &dyn GatewayHost, outcome: &ClientResult) -> Result<PaymentStatus, GatewayError> {
        let payload: Value = serde_json::from_str(&outcome.payload)
            .map_err(|e| GatewayError::VerificationFailed(format!("payload: {e}")))?;
        let payment_id = payload["razorpay_payment_id"].as_str().unwrap_or_default();
        // The engine's gateway order id, never one from the payload.
        let message = format!("{}|{payment_id}", outcome.gateway_order_id);
        check_signature(host, "key_secret", message.as_bytes(), payload["razorpay_signature"].as_str())?;
        Ok(PaymentStatus {
            state: PaymentState::Authorized,
            gateway_payment_id: Some(payment_id.to_owned()),
            amount: outcome.amount,
            currency: outcome.currency,
            amount_refunded: 0,
        })
    }

    fn handle_webhook(_: &Settings, host: &dyn GatewayHost, webhook: &Webhook) -> Result<WebhookOutcome, GatewayError> {
        check_signature(host, "webhook_secret", &webhook.body, webhook.header("x-razorpay-signature"))?;
        let event: Value = serde_json::from_slice(&webhook.body).map_err(unavailable)?;
        if event["event"] != "payment.captured" {
            return Ok(WebhookOutcome::Ignored(format!("event {}", event["event"])));
        }
        let entity = &event["payload"]["payment"]["entity"];
        Ok(WebhookOutcome::Event(PaymentEvent {
            event_id: webhook.header("x-razorpay-event-id").unwrap_or_default().to_owned(),
            order_id: entity["notes"]["order_id"].as_str().map(str::to_owned),
            gateway_order_id: entity["order_id"].as_str().map(str::to_owned),
            payment: Some(Self::payment(entity)?),
            refund: None,
        }))
    }

    fn fetch_status(
        settings: &Settings,
        host: &dyn GatewayHost,
        _: &str,
        gateway_order_id: &str,
    ) -> Result<PaymentStatus, GatewayError> {
        let url = format!("{}/v1/orders/{gateway_order_id}", settings.api_base);
        let order = Self::send(settings, host, Request::get(url))?;
        let state = if order["status"] == "paid" { PaymentState::Captured } else { PaymentState::Pending };
        Ok(PaymentStatus {
            state,
            gateway_payment_id: None,
            amount: order["amount_paid"].as_i64().unwrap_or(0),
            currency: currency(order["currency"].as_str().unwrap_or_default())?,
            amount_refunded: 0,
        })
    }

    fn capture(
        settings: &Settings,
        host: &dyn GatewayHost,
        request: &CaptureRequest,
    ) -> Result<PaymentStatus, GatewayError> {
        let url = format!("{}/v1/payments/{}/capture", settings.api_base, request.gateway_payment_id);
        let body = json!({"amount": request.amount, "currency": request.currency.as_str()});
        Self::payment(&Self::send(settings, host, Request::post(url).json(&body))?)
    }

    fn refund(
        settings: &Settings,
        host: &dyn GatewayHost,
        request: &RefundRequest,
    ) -> Result<RefundStatus, GatewayError> {
        let url = format!("{}/v1/payments/{}/refund", settings.api_base, request.gateway_payment_id);
        let post = Request::post(url)
            .header("x-refund-idempotency", &request.idempotency_key)
            .json(&json!({"amount": request.amount}));
        let refund = Self::send(settings, host, post)?;
        Ok(RefundStatus {
            gateway_refund_id: refund["id"].as_str().unwrap_or_default().to_owned(),
            gateway_payment_id: request.gateway_payment_id.clone(),
            amount: refund["amount"].as_i64().unwrap_or(0),
            currency: currency(refund["currency"].as_str().unwrap_or_default())?,
            state: if refund["status"] == "processed" { PaymentState::Refunded } else { PaymentState::Pending },
        })
    }
}

commerce_sdk::export_payment_gateway!(Razorpay);

const SETTINGS: &str = r#"{"api_base": "https://api.razorpay.test", "key_id": "rzp_test_key"}"#;
/// Razorpay's published checkout example: this secret signs `order|payment` to `SIGNATURE`.
const KEY_SECRET: &str = "EnLs21M47BllR3X8PSFtjtbd";
const GATEWAY_ORDER: &str = "order_IEIaMR65cu6nz3";
const PAYMENT: &str = "pay_IH4NVgf4Dreq1l";
const SIGNATURE: &str = "0d4e745a1838664ad6c9c9902212a32d627d68e917290b0ad5f08ff4561bc50f";
const WEBHOOK_SECRET: &str = "whsec_test";

fn gateway() -> TestGateway<Razorpay> {
    TestGateway::<Razorpay>::new(SETTINGS)
        .expect("the settings are valid")
        .secret("key_secret", KEY_SECRET)
        .secret("webhook_secret", WEBHOOK_SECRET)
}

fn inr() -> Currency {
    Currency::new("INR").expect("INR is a currency")
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

fn captured_event(event: &str) -> Vec<u8> {
    json!({"event": event, "payload": {"payment": {"entity": {"id": PAYMENT, "order_id": GATEWAY_ORDER,
        "status": "captured", "amount": 50_000, "currency": "INR", "notes": {"order_id": "ord_1"}}}}})
    .to_string()
    .into_bytes()
}

fn signed_webhook(gateway: &TestGateway<Razorpay>, body: &[u8]) -> Webhook {
    let signature =
        to_hex(&gateway.sign(HmacAlgorithm::Sha256, "webhook_secret", body).expect("the secret is configured"));
    webhook(&[("x-razorpay-signature", &signature), ("x-razorpay-event-id", "evt_1")], body.to_vec())
}

#[test]
fn create_session_posts_the_order_with_basic_auth_by_secret_name() {
    let gateway = gateway();
    gateway.expect(
        Exchange::post("https://api.razorpay.test/v1/orders")
            .header("content-type", "application/json")
            .json_body(json!({"amount": 50_000, "currency": "INR", "receipt": "ord_1", "notes": {"order_id": "ord_1"}}))
            .auth(Auth::basic("rzp_test_key", "key_secret"))
            .respond(Response::json(200, &json!({"id": GATEWAY_ORDER, "status": "created"}))),
    );

    let session = gateway.create_session(&order("ord_1", 50_000, "INR")).unwrap();

    assert_eq!(session.gateway_order_id, GATEWAY_ORDER);
    let payload: Value = serde_json::from_str(&session.client_payload).unwrap();
    assert_eq!(payload, json!({"key": "rzp_test_key", "order_id": GATEWAY_ORDER, "amount": 50_000}));
    assert!(!session.client_payload.contains(KEY_SECRET));
    let logs = gateway.logs();
    assert_eq!((logs.len(), logs[0].message.as_str()), (1, "gateway order created"));
    assert_eq!(logs[0].fields, [("gateway_order_id".to_owned(), GATEWAY_ORDER.to_owned())]);
}

#[test]
fn create_session_is_rejected_when_the_gateway_answers_4xx() {
    let gateway = gateway();
    gateway.expect(
        Exchange::post("https://api.razorpay.test/v1/orders")
            .auth(Auth::basic("rzp_test_key", "key_secret"))
            .respond(Response::json(400, &json!({"error": {"description": "amount below minimum"}}))),
    );

    let err = gateway.create_session(&order("ord_1", 50, "INR")).unwrap_err();

    assert_eq!(err, GatewayError::Rejected("400: amount below minimum".to_owned()));
}

#[test]
fn create_session_is_unavailable_when_the_request_times_out() {
    let gateway = gateway();
    gateway.expect(
        Exchange::post("https://api.razorpay.test/v1/orders")
            .auth(Auth::basic("rzp_test_key", "key_secret"))
            .fail(HttpError::Timeout),
    );

    let err = gateway.create_session(&order("ord_1", 50_000, "INR")).unwrap_err();

    assert_eq!(err, GatewayError::Unavailable("timed out".to_owned()));
}

#[test]
fn a_secret_the_operator_did_not_configure_fails_before_anything_is_sent() {
    let gateway = TestGateway::<Razorpay>::new(SETTINGS).unwrap();

    let err = gateway.create_session(&order("ord_1", 50_000, "INR")).unwrap_err();

    assert_eq!(err, GatewayError::Unavailable("unknown secret `key_secret`".to_owned()));
    assert!(gateway.sent().is_empty());
}

#[test]
fn verify_accepts_razorpays_published_checkout_signature() {
    let status = gateway()
        .verify(&client_result(json!({"razorpay_payment_id": PAYMENT, "razorpay_signature": SIGNATURE})))
        .unwrap();

    assert_eq!(status.state, PaymentState::Authorized);
    assert_eq!(status.gateway_payment_id.as_deref(), Some(PAYMENT));
    assert_eq!((status.amount, status.currency), (50_000, inr()));
}

#[test]
fn verify_fails_when_the_signature_is_for_another_payment() {
    let err = gateway()
        .verify(&client_result(json!({"razorpay_payment_id": "pay_other", "razorpay_signature": SIGNATURE})))
        .unwrap_err();

    assert_eq!(err, GatewayError::VerificationFailed("signature mismatch".to_owned()));
}

#[test]
fn verify_fails_under_another_key() {
    let gateway = TestGateway::<Razorpay>::new(SETTINGS).unwrap().secret("key_secret", "not-the-key");

    let err = gateway
        .verify(&client_result(json!({"razorpay_payment_id": PAYMENT, "razorpay_signature": SIGNATURE})))
        .unwrap_err();

    assert!(matches!(err, GatewayError::VerificationFailed(_)), "{err}");
}

#[test]
fn a_verified_payment_captured_webhook_is_an_event() {
    let gateway = gateway();
    let webhook = signed_webhook(&gateway, &captured_event("payment.captured"));

    let outcome = gateway.handle_webhook(&webhook).unwrap();

    let WebhookOutcome::Event(event) = outcome else { panic!("expected an event, got {outcome:?}") };
    assert_eq!(event.event_id, "evt_1");
    assert_eq!((event.order_id.as_deref(), event.gateway_order_id.as_deref()), (Some("ord_1"), Some(GATEWAY_ORDER)));
    let payment = event.payment.unwrap();
    assert_eq!((payment.state, payment.amount, payment.currency), (PaymentState::Captured, 50_000, inr()));
}

#[test]
fn a_tampered_webhook_fails_verification() {
    let gateway = gateway();
    let mut webhook = signed_webhook(&gateway, &captured_event("payment.captured"));
    webhook.body = String::from_utf8(webhook.body).unwrap().replace("50000", "1").into_bytes();

    let err = gateway.handle_webhook(&webhook).unwrap_err();

    assert_eq!(err, GatewayError::VerificationFailed("signature mismatch".to_owned()));
}

#[test]
fn a_webhook_without_a_signature_fails_verification() {
    let err = gateway().handle_webhook(&webhook(&[], captured_event("payment.captured"))).unwrap_err();

    assert!(matches!(err, GatewayError::VerificationFailed(_)), "{err}");
}

#[test]
fn a_verified_webhook_of_another_event_is_ignored() {
    let gateway = gateway();
    let webhook = signed_webhook(&gateway, &captured_event("order.paid"));

    let outcome = gateway.handle_webhook(&webhook).unwrap();

    assert_eq!(outcome, WebhookOutcome::Ignored(r#"event "order.paid""#.to_owned()));
}

#[test]
fn fetch_status_reads_the_gateway_order() {
    let gateway = gateway();
    gateway.expect(
        Exchange::get(format!("https://api.razorpay.test/v1/orders/{GATEWAY_ORDER}"))
            .auth(Auth::basic("rzp_test_key", "key_secret"))
            .respond(Response::json(200, &json!({"status": "paid", "amount_paid": 50_000, "currency": "INR"}))),
    );

    let status = gateway.fetch_status("ord_1", GATEWAY_ORDER).unwrap();

    assert_eq!((status.state, status.amount), (PaymentState::Captured, 50_000));
}

#[test]
fn capture_posts_the_amount_and_returns_the_captured_payment() {
    let gateway = gateway();
    gateway.expect(
        Exchange::post(format!("https://api.razorpay.test/v1/payments/{PAYMENT}/capture"))
            .json_body(json!({"amount": 50_000, "currency": "INR"}))
            .auth(Auth::basic("rzp_test_key", "key_secret"))
            .respond(Response::json(
                200,
                &json!({"id": PAYMENT, "status": "captured", "amount": 50_000, "currency": "INR"}),
            )),
    );
    let request = CaptureRequest {
        order_id: "ord_1".to_owned(),
        gateway_payment_id: PAYMENT.to_owned(),
        amount: 50_000,
        currency: inr(),
    };

    let status = gateway.capture(&request).unwrap();

    assert_eq!(status.state, PaymentState::Captured);
}

#[test]
fn refund_passes_the_idempotency_key_on() {
    let gateway = gateway();
    gateway.expect(
        Exchange::post(format!("https://api.razorpay.test/v1/payments/{PAYMENT}/refund"))
            .header("x-refund-idempotency", "refund_key_0123456789")
            .json_body(json!({"amount": 1_000}))
            .auth(Auth::basic("rzp_test_key", "key_secret"))
            .respond(Response::json(
                200,
                &json!({"id": "rfnd_1", "amount": 1_000, "currency": "INR", "status": "processed"}),
            )),
    );
    let request = RefundRequest {
        order_id: "ord_1".to_owned(),
        gateway_payment_id: PAYMENT.to_owned(),
        amount: 1_000,
        currency: inr(),
        reason: None,
        idempotency_key: "refund_key_0123456789".to_owned(),
    };

    let refund = gateway.refund(&request).unwrap();

    assert_eq!((refund.gateway_refund_id.as_str(), refund.state), ("rfnd_1", PaymentState::Refunded));
}

#[test]
fn settings_are_validated_as_at_load() {
    let err = TestGateway::<Razorpay>::new(r#"{"api_base": "http://plain", "key_id": "k"}"#).err().unwrap();
    assert_eq!(
        err,
        TestError::Settings {
            plugin: "gateway".to_owned(),
            message: "api_base `http://plain` is not an https:// URL".to_owned()
        }
    );
    let err = TestGateway::<Razorpay>::new(r#"{"api_base": "https://x", "key_id": "k", "typo": 1}"#).err().unwrap();
    assert!(err.to_string().contains("unknown field `typo`"), "{err}");
}

// Capabilities

#[test]
fn a_gateway_that_does_not_declare_capabilities_is_an_online_one() {
    let gateway = gateway();

    let capabilities = gateway.capabilities();

    assert_eq!(capabilities, Capabilities { staff_confirms_payment: false, unpaid_orders_expire: true });
    assert_eq!(capabilities, Capabilities::ONLINE);
    assert!(gateway.sent().is_empty());
}

/// Cash on delivery: staff confirm; whether unpaid orders expire is the operator's choice.
struct CashOnDelivery;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CodSettings {
    #[serde(default)]
    expire_unpaid: bool,
}

fn by_staff<T>() -> Result<T, GatewayError> {
    Err(GatewayError::Rejected("confirmed by staff".to_owned()))
}

impl PaymentGateway for CashOnDelivery {
    type Settings = CodSettings;

    fn capabilities(settings: &CodSettings) -> Capabilities {
        Capabilities { staff_confirms_payment: true, unpaid_orders_expire: settings.expire_unpaid }
    }

    fn create_session(_: &CodSettings, _: &dyn GatewayHost, order: &Order) -> Result<Session, GatewayError> {
        Ok(Session { gateway_order_id: format!("cod_{}", order.order_id), client_payload: "{}".to_owned() })
    }

    fn verify(_: &CodSettings, _: &dyn GatewayHost, _: &ClientResult) -> Result<PaymentStatus, GatewayError> {
        by_staff()
    }

    fn handle_webhook(_: &CodSettings, _: &dyn GatewayHost, _: &Webhook) -> Result<WebhookOutcome, GatewayError> {
        Ok(WebhookOutcome::Ignored("no webhooks".to_owned()))
    }

    fn fetch_status(_: &CodSettings, _: &dyn GatewayHost, _: &str, _: &str) -> Result<PaymentStatus, GatewayError> {
        by_staff()
    }

    fn capture(_: &CodSettings, _: &dyn GatewayHost, _: &CaptureRequest) -> Result<PaymentStatus, GatewayError> {
        by_staff()
    }

    fn refund(_: &CodSettings, _: &dyn GatewayHost, _: &RefundRequest) -> Result<RefundStatus, GatewayError> {
        by_staff()
    }
}

#[test]
fn a_gateway_declares_its_capabilities_from_its_settings() {
    let by_default = TestGateway::<CashOnDelivery>::new("{}").unwrap();
    let expiring = TestGateway::<CashOnDelivery>::new(r#"{"expire_unpaid": true}"#).unwrap();

    assert_eq!(by_default.capabilities(), Capabilities { staff_confirms_payment: true, unpaid_orders_expire: false });
    assert_eq!(expiring.capabilities(), Capabilities { staff_confirms_payment: true, unpaid_orders_expire: true });
}

// The fake itself: a wrong or missing request must fail the test, saying why.

#[test]
#[should_panic(
    expected = "auth: expected Some(Basic { username: \"rzp_test_key\", password_secret: \"other_secret\" })"
)]
fn a_request_with_other_auth_than_scripted_fails_the_test() {
    let gateway = gateway();
    gateway.expect(
        Exchange::post("https://api.razorpay.test/v1/orders").auth(Auth::basic("rzp_test_key", "other_secret")),
    );
    let _ = gateway.create_session(&order("ord_1", 50_000, "INR"));
}

#[test]
#[should_panic(expected = "json body: expected")]
fn a_request_with_another_body_than_scripted_fails_the_test() {
    let gateway = gateway();
    gateway.expect(
        Exchange::post("https://api.razorpay.test/v1/orders")
            .json_body(json!({"amount": 1}))
            .auth(Auth::basic("rzp_test_key", "key_secret")),
    );
    let _ = gateway.create_session(&order("ord_1", 50_000, "INR"));
}

#[test]
#[should_panic(
    expected = "request #1 (POST https://api.razorpay.test/v1/orders) was not expected: the script is exhausted"
)]
fn a_request_after_the_script_ran_out_fails_the_test() {
    let _ = gateway().create_session(&order("ord_1", 50_000, "INR"));
}

#[test]
#[should_panic(expected = "1 scripted request(s) never sent: GET https://api.razorpay.test/v1/orders/x")]
fn a_scripted_request_never_sent_fails_the_test() {
    let gateway = gateway();
    gateway.expect(Exchange::get("https://api.razorpay.test/v1/orders/x"));
}
