//! An offline fake of Razorpay's REST API (orders, payments, refunds under `/v1`) for end-to-end
//! tests: in memory, one instance per test, on 127.0.0.1 port 0, over plain HTTP.
//!
//! It follows our Razorpay notes (`razorpay.md`, cited as §n), above all §10 "Checklist for the
//! offline fake". Where the notes are silent or mark a fact unverified, the choice is flagged
//! `Unverified:` next to it. The fake is deliberately stricter than Razorpay might be (unknown
//! body fields are refused, JSON amounts must be numbers), so a plugin that passes against it
//! sends only documented requests.
//!
//! Test controls are plain methods, not HTTP: [`FakeRazorpay::pay`] plays the shopper at the
//! Checkout widget, [`FakeRazorpay::webhook`] and [`FakeRazorpay::events`] give signed webhooks,
//! [`FakeRazorpay::fault_next`] injects failures and [`FakeRazorpay::calls`] counts requests.

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, Instant, SystemTime, UNIX_EPOCH},
};

use base64::{Engine as _, engine::general_purpose::STANDARD};
use hmac::{Hmac, Mac};
use poem::{
    Endpoint, Request, Response, Server,
    http::StatusCode,
    listener::{Acceptor, Listener, TcpListener},
};
use serde_json::{Map, Value, json};
use sha2::Sha256;

/// The fake merchant account: API keys and the Dashboard settings the fake honours.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    pub key_id: String,
    pub key_secret: String,
    /// Chosen in the Dashboard, apart from the key secret (§6).
    pub webhook_secret: String,
    /// The Dashboard's "Auto-capture all payments", on by default (§3). An order created with
    /// `payment_capture` overrides it for that order.
    pub auto_capture: bool,
    /// How long [`FakeRazorpay::deliver`] waits for an answer: Razorpay counts no answer within
    /// 5 s as a failed delivery (§6).
    pub webhook_timeout: Duration,
}

impl Default for FakeConfig {
    fn default() -> Self {
        Self {
            key_id: "rzp_test_FakeRazorpay01".into(),
            key_secret: "fakeKeySecret0123456789x".into(),
            webhook_secret: "fake-webhook-secret".into(),
            auto_capture: true,
            webhook_timeout: Duration::from_secs(5),
        }
    }
}

/// How the shopper pays at Checkout; sets the method-specific payment fields (§3).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum PayMethod {
    #[default]
    Netbanking,
    Card,
    Upi,
    Wallet,
}

/// What Checkout hands the storefront after a successful payment (§5).
#[derive(Debug, Clone, serde::Serialize)]
pub struct Checkout {
    pub razorpay_payment_id: String,
    pub razorpay_order_id: String,
    /// hex HMAC-SHA256 of `order_id|payment_id` under the key secret.
    pub razorpay_signature: String,
}

/// A webhook as Razorpay would POST it: the exact body bytes and the headers that go with them.
#[derive(Debug, Clone)]
pub struct Webhook {
    pub event: String,
    /// `X-Razorpay-Event-Id`: the same for every delivery of one event, so receivers can
    /// deduplicate (§6). Unverified: the value format has no sample; the fake sends `evt_…`.
    pub event_id: String,
    pub body: Vec<u8>,
    /// `X-Razorpay-Signature`: hex HMAC-SHA256 of `body` under the webhook secret.
    pub signature: String,
}

impl Webhook {
    /// The request headers. Unverified: the content type is not documented; JSON is assumed.
    pub fn headers(&self) -> [(&'static str, String); 3] {
        [
            ("content-type", "application/json".to_owned()),
            ("x-razorpay-signature", self.signature.clone()),
            ("x-razorpay-event-id", self.event_id.clone()),
        ]
    }
}

/// A failure to inject on a route (see [`FakeRazorpay::fault_next`]).
#[derive(Debug, Clone, Copy)]
pub enum Fault {
    /// Answer this status with Razorpay's error body, doing nothing: 5xx as an outage, 429 as
    /// throttling.
    Status(u16),
    /// Do the work, then hold the answer this long: a client timeout after which the effect
    /// exists (the case that forces a plugin to re-fetch before retrying).
    SlowResponse(Duration),
    /// Hold the request this long, then answer 504 without doing anything: a timeout with no
    /// effect. Either way nothing changes, so it does not matter whether the client waits.
    Hang(Duration),
}

/// One request as the fake received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The route pattern, e.g. `POST /v1/payments/:id/capture`; `METHOD /path` when unrouted.
    pub route: String,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RecordedRequest {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

/// A running fake; the server stops when this is dropped.
pub struct FakeRazorpay {
    shared: Arc<Shared>,
    addr: SocketAddr,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for FakeRazorpay {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl FakeRazorpay {
    pub async fn start(config: FakeConfig) -> Self {
        let acceptor = TcpListener::bind("127.0.0.1:0").into_acceptor().await.expect("fake razorpay binds");
        let addr = acceptor.local_addr().first().and_then(|a| a.as_socket_addr().copied()).expect("a socket address");
        let shared = Arc::new(Shared { config, account_id: new_id("acc_"), state: Mutex::default() });
        let endpoint = FakeEndpoint(shared.clone());
        let server = tokio::spawn(async move {
            // Only an accept error ends it; the test then fails on connection refused.
            let _ = Server::new_with_acceptor(acceptor).run(endpoint).await;
        });
        Self { shared, addr, server }
    }

    /// The gateway's `api_base` (Razorpay's is `https://api.razorpay.com`); paths go under `/v1`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Plays the shopper completing Checkout for `order_id` (§5): a new payment on the order,
    /// `authorized`, or `captured` with the order `paid` when the order's `payment_capture` (or,
    /// without it, [`FakeConfig::auto_capture`]) says so (§3). Emits the events Razorpay would.
    /// Panics if the order does not exist or is paid already (Checkout refuses a paid order).
    pub fn pay(&self, order_id: &str, method: PayMethod) -> Checkout {
        let payment_id = self.shared.attempt(order_id, method, false);
        Checkout {
            razorpay_signature: hmac_hex(&self.shared.config.key_secret, format!("{order_id}|{payment_id}").as_bytes()),
            razorpay_payment_id: payment_id,
            razorpay_order_id: order_id.to_owned(),
        }
    }

    /// Plays an attempt the bank declines: a `failed` payment (the order stays `attempted` and
    /// can be paid again, as on the India API, §2) and a `payment.failed` event. Returns what
    /// Checkout's failure handler receives (`{"error":{…,"metadata":{order_id,payment_id}}}`).
    pub fn fail_payment(&self, order_id: &str, method: PayMethod) -> Value {
        let payment_id = self.shared.attempt(order_id, method, true);
        json!({"error": {"code": "BAD_REQUEST_ERROR", "description": "Payment failed", "source": "bank",
            "step": "payment_authorization", "reason": "payment_failed",
            "metadata": {"order_id": order_id, "payment_id": payment_id}}})
    }

    /// A freshly signed webhook for `event` built from the current state (§6 shapes), with a new
    /// event id. `id` is the payment for `payment.*` and `order.paid`, the refund for `refund.*`.
    /// Panics on an unknown event or id.
    pub fn webhook(&self, event: &str, id: &str) -> Webhook {
        let state = self.shared.lock();
        self.shared.build_webhook(&state, event, id).unwrap_or_else(|| panic!("no webhook {event} for {id}"))
    }

    /// Every event Razorpay would have sent so far, oldest first, each a snapshot of the moment it
    /// happened (so a `payment.authorized` shows the payment before capture). Razorpay does not
    /// promise order or single delivery (§6): tests may deliver these reversed or twice.
    pub fn events(&self) -> Vec<Webhook> {
        self.shared.lock().events.clone()
    }

    /// POSTs `webhook` to `url` as Razorpay does, again at once after a non-2xx answer or no
    /// answer within [`FakeConfig::webhook_timeout`], at most `max_attempts` times (Razorpay backs
    /// off over 24 h, §6; a test has no time for that). One outcome per attempt: the status, or
    /// why there was none.
    pub async fn deliver(&self, url: &str, webhook: &Webhook, max_attempts: usize) -> Vec<Result<u16, String>> {
        let client =
            reqwest::Client::builder().timeout(self.shared.config.webhook_timeout).build().expect("webhook client");
        let mut outcomes = Vec::new();
        for _ in 0..max_attempts {
            let mut request = client.post(url).body(webhook.body.clone());
            for (name, value) in webhook.headers() {
                request = request.header(name, value);
            }
            let outcome = match request.send().await {
                Ok(response) => Ok(response.status().as_u16()),
                Err(e) if e.is_timeout() => Err("no answer in time".to_owned()),
                Err(e) => Err(e.to_string()),
            };
            let delivered = matches!(outcome, Ok(status) if (200..300).contains(&status));
            outcomes.push(outcome);
            if delivered {
                break;
            }
        }
        outcomes
    }

    /// Makes the next `times` requests on `route` (a pattern as in [`Self::calls`], or `*` for
    /// any) fail with `fault`. Rules apply in the order they were added.
    pub fn fault_next(&self, route: &str, times: usize, fault: Fault) {
        self.shared.lock().faults.push(FaultRule { route: route.to_owned(), remaining: Some(times), fault });
    }

    /// Makes every request on `route` fail with `fault` until [`Self::clear_faults`].
    pub fn fault_always(&self, route: &str, fault: Fault) {
        self.shared.lock().faults.push(FaultRule { route: route.to_owned(), remaining: None, fault });
    }

    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// How many requests reached `route`, e.g. `calls("POST /v1/payments/:id/capture")`, counting
    /// refused and faulted ones: what the client sent, not what succeeded.
    pub fn calls(&self, route: &str) -> usize {
        self.shared.lock().requests.iter().filter(|r| r.route == route).count()
    }

    /// The requests that reached `route`, oldest first (`*` for all).
    pub fn requests(&self, route: &str) -> Vec<RecordedRequest> {
        self.shared.lock().requests.iter().filter(|r| route == "*" || r.route == route).cloned().collect()
    }

    /// The order entity as `GET /v1/orders/:id` would answer, without counting as a call.
    pub fn order(&self, id: &str) -> Option<Value> {
        self.shared.lock().orders.get(id).map(Order::to_json)
    }

    /// The payment entity as `GET /v1/payments/:id` would answer, without counting as a call.
    pub fn payment(&self, id: &str) -> Option<Value> {
        self.shared.lock().payments.get(id).map(Payment::to_json)
    }
}

struct Shared {
    config: FakeConfig,
    account_id: String,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    orders: HashMap<String, Order>,
    payments: HashMap<String, Payment>,
    refunds: HashMap<String, Refund>,
    refund_keys: HashMap<String, KeyedRefund>,
    faults: Vec<FaultRule>,
    requests: Vec<RecordedRequest>,
    events: Vec<Webhook>,
}

struct FaultRule {
    route: String,
    remaining: Option<usize>,
    fault: Fault,
}

/// What an `X-Refund-Idempotency` key was first used for (§7).
struct KeyedRefund {
    payment_id: String,
    request: Map<String, Value>,
    refund_id: String,
    /// Until the first answer has gone out (a [`Fault::SlowResponse`]), a retry is "still in
    /// progress"; the instant keeps that right even if the client gave up and the task was dropped.
    answered_at: Instant,
}

impl State {
    fn take_fault(&mut self, route: &str) -> Option<Fault> {
        let rule = self
            .faults
            .iter_mut()
            .find(|f| (f.route == "*" || f.route == route) && f.remaining.is_none_or(|n| n > 0))?;
        if let Some(n) = rule.remaining.as_mut() {
            *n -= 1;
        }
        Some(rule.fault)
    }
}

impl Shared {
    /// Recovers from poisoning: a test that panicked mid-update has failed already, and its
    /// server tasks should not add panics of their own.
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn attempt(&self, order_id: &str, method: PayMethod, fails: bool) -> String {
        let mut state = self.lock();
        let Some(order) = state.orders.get_mut(order_id) else { panic!("Checkout: no order {order_id}") };
        assert_ne!(order.status, "paid", "Checkout refuses order {order_id}: it is paid already");
        // `attempts` counts failed attempts too; the order is `attempted` until a capture (§2).
        order.attempts += 1;
        order.status = "attempted";
        let payment = Payment {
            id: new_id("pay_"),
            order_id: order_id.to_owned(),
            amount: order.amount,
            currency: order.currency.clone(),
            method,
            status: if fails { "failed" } else { "authorized" },
            amount_refunded: 0,
            fee: None,
            refunds: Vec::new(),
            created_at: now(),
        };
        let payment_id = payment.id.clone();
        let capture = !fails && order.payment_capture.unwrap_or(self.config.auto_capture);
        order.payments.push(payment_id.clone());
        state.payments.insert(payment_id.clone(), payment);
        self.emit(&mut state, if fails { "payment.failed" } else { "payment.authorized" }, &payment_id);
        if capture {
            self.capture(&mut state, &payment_id);
        }
        payment_id
    }

    /// Captures an authorized payment (the caller checked): fee and tax, the order `paid`, and
    /// the `payment.captured` and `order.paid` events (§10.6).
    fn capture(&self, state: &mut State, payment_id: &str) {
        let Some(payment) = state.payments.get_mut(payment_id) else { return };
        payment.status = "captured";
        // 2 % plus 18 % GST on it, rounded: reproduces every sample (100 → 2/0, 1000 → 24/4,
        // 500000 → 11800/1800). Unverified as a rule; only the samples are known.
        payment.fee = Some(((payment.amount * 236 + 5000) / 10000, (payment.amount * 36 + 5000) / 10000));
        let (order_id, amount) = (payment.order_id.clone(), payment.amount);
        if let Some(order) = state.orders.get_mut(&order_id) {
            order.status = "paid";
            order.amount_paid = amount;
        }
        self.emit(state, "payment.captured", payment_id);
        self.emit(state, "order.paid", payment_id);
    }

    fn emit(&self, state: &mut State, event: &str, id: &str) {
        if let Some(webhook) = self.build_webhook(state, event, id) {
            state.events.push(webhook);
        }
    }

    fn build_webhook(&self, state: &State, event: &str, id: &str) -> Option<Webhook> {
        let entity = |value: Value| json!({ "entity": value });
        let (contains, payload) = match event {
            "payment.authorized" | "payment.captured" | "payment.failed" => {
                (json!(["payment"]), json!({ "payment": entity(state.payments.get(id)?.to_json()) }))
            }
            "order.paid" => {
                let payment = state.payments.get(id)?;
                let order = state.orders.get(&payment.order_id)?;
                (
                    json!(["payment", "order"]),
                    json!({"payment": entity(payment.to_json()), "order": entity(order.to_json())}),
                )
            }
            "refund.created" | "refund.processed" | "refund.failed" => {
                let refund = state.refunds.get(id)?;
                let mut refund_json = refund.to_json();
                if event == "refund.failed" {
                    refund_json["status"] = json!("failed");
                }
                let payment = state.payments.get(&refund.payment_id)?;
                (
                    json!(["refund", "payment"]),
                    json!({"refund": entity(refund_json), "payment": entity(payment.to_json())}),
                )
            }
            _ => return None,
        };
        // Written by hand to keep the documented key order (§6): a receiver that parses and
        // re-serialises before checking the signature fails here, as it would against Razorpay.
        let body = format!(
            r#"{{"entity":"event","account_id":{},"event":{},"contains":{contains},"payload":{payload},"created_at":{}}}"#,
            Value::from(self.account_id.as_str()),
            Value::from(event),
            now()
        )
        .into_bytes();
        Some(Webhook {
            event: event.to_owned(),
            event_id: new_id("evt_"),
            signature: hmac_hex(&self.config.webhook_secret, &body),
            body,
        })
    }

    /// Basic auth with the exact scheme word `Basic` (§1: `basic …` and `BASIC …` are invalid).
    fn authorised(&self, req: &Request) -> bool {
        let expected = format!("{}:{}", self.config.key_id, self.config.key_secret);
        req.header("authorization")
            .and_then(|h| h.strip_prefix("Basic "))
            .and_then(|b64| STANDARD.decode(b64).ok())
            .is_some_and(|credentials| credentials == expected.as_bytes())
    }

    async fn handle(&self, req: &Request, body: Vec<u8>) -> Response {
        let (method, path) = (req.method().as_str(), req.uri().path());
        let routed = route(method, path);
        let name = routed.as_ref().map_or_else(|| format!("{method} {path}"), |(name, _)| (*name).to_owned());
        let headers = req
            .headers()
            .iter()
            .map(|(n, v)| (n.as_str().to_owned(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect();
        let fault = {
            let mut state = self.lock();
            state.requests.push(RecordedRequest { route: name.clone(), headers, body: body.clone() });
            state.take_fault(&name)
        };
        let delay = match fault {
            Some(Fault::Status(status)) => return respond(Err(ApiError::fault(status))),
            Some(Fault::Hang(delay)) => {
                tokio::time::sleep(delay).await;
                return respond(Err(ApiError::fault(504)));
            }
            Some(Fault::SlowResponse(delay)) => delay,
            None => Duration::ZERO,
        };
        let result = if !self.authorised(req) {
            Err(ApiError::auth())
        } else {
            match routed {
                Some((_, route)) => parse_body(req.content_type(), &body).and_then(|body| {
                    let query = req.uri().query().unwrap_or("");
                    let key = req.header("x-refund-idempotency");
                    self.dispatch(&mut self.lock(), route, Incoming { body, query, key, delay })
                }),
                // §1: a wrong URL or method is a 400, with `NA` everywhere.
                None => Err(ApiError::na(400, "The requested URL was not found on the server.")),
            }
        };
        tokio::time::sleep(delay).await;
        respond(result)
    }
}

struct FakeEndpoint(Arc<Shared>);

impl Endpoint for FakeEndpoint {
    type Output = Response;

    async fn call(&self, mut req: Request) -> poem::Result<Response> {
        // A body that cannot be read is treated as empty; validation then reports what is missing.
        let body = req.take_body().into_vec().await.unwrap_or_default();
        Ok(self.0.handle(&req, body).await)
    }
}

fn respond(result: Result<Value, ApiError>) -> Response {
    let (status, body) = match result {
        // §1: every success is a 200.
        Ok(body) => (200, body),
        Err(e) => (e.status, e.body),
    };
    Response::builder()
        .status(StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR))
        .content_type("application/json")
        .body(body.to_string())
}

/// Seconds since the Unix epoch, as every Razorpay timestamp (§1).
fn now() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// `<prefix><14 case-sensitive alphanumerics>`, as in every sample id (§1).
fn new_id(prefix: &str) -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    // Two ULIDs' 80 random bits each: more than the 14 base-62 digits need (~83 bits).
    let mut n = (ulid::Ulid::new().random() << 48) ^ ulid::Ulid::new().random();
    let mut id = String::from(prefix);
    for _ in 0..14 {
        id.push(char::from(ALPHABET[(n % 62) as usize]));
        n /= 62;
    }
    id
}

fn hmac_hex(key: &str, message: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key.as_bytes()).expect("HMAC takes keys of any length");
    mac.update(message);
    hex::encode(mac.finalize().into_bytes())
}

// ---- Routing and requests ----

enum Route {
    CreateOrder,
    Order(String),
    OrderPayments(String),
    Payment(String),
    Capture(String),
    Refund(String),
    PaymentRefunds(String),
    PaymentRefund(String, String),
    RefundById(String),
}

/// The route and its name for counting; `None` is Razorpay's "URL not found".
fn route(method: &str, path: &str) -> Option<(&'static str, Route)> {
    let segments: Vec<&str> = path.trim_end_matches('/').split('/').skip(1).collect();
    let id = |s: &&str| (*s).to_owned();
    Some(match (method, segments.as_slice()) {
        ("POST", ["v1", "orders"]) => ("POST /v1/orders", Route::CreateOrder),
        ("GET", ["v1", "orders", o]) => ("GET /v1/orders/:id", Route::Order(id(o))),
        ("GET", ["v1", "orders", o, "payments"]) => ("GET /v1/orders/:id/payments", Route::OrderPayments(id(o))),
        ("GET", ["v1", "payments", p]) => ("GET /v1/payments/:id", Route::Payment(id(p))),
        ("POST", ["v1", "payments", p, "capture"]) => ("POST /v1/payments/:id/capture", Route::Capture(id(p))),
        ("POST", ["v1", "payments", p, "refund"]) => ("POST /v1/payments/:id/refund", Route::Refund(id(p))),
        ("GET", ["v1", "payments", p, "refunds"]) => ("GET /v1/payments/:id/refunds", Route::PaymentRefunds(id(p))),
        ("GET", ["v1", "payments", p, "refunds", r]) => {
            ("GET /v1/payments/:id/refunds/:refund_id", Route::PaymentRefund(id(p), id(r)))
        }
        ("GET", ["v1", "refunds", r]) => ("GET /v1/refunds/:id", Route::RefundById(id(r))),
        _ => return None,
    })
}

struct Incoming<'a> {
    body: Map<String, Value>,
    query: &'a str,
    /// `X-Refund-Idempotency`.
    key: Option<&'a str>,
    /// How long the answer will be held ([`Fault::SlowResponse`]).
    delay: Duration,
}

/// JSON as the docs send it, or a form body as older integrations do (§1: a fake should accept
/// both; form values are text, so numbers and flags are read from it here).
fn parse_body(content_type: Option<&str>, bytes: &[u8]) -> Result<Map<String, Value>, ApiError> {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Ok(Map::new());
    }
    if content_type.is_some_and(|c| c.starts_with("application/x-www-form-urlencoded")) {
        let (mut map, mut notes) = (Map::new(), Map::new());
        for (key, value) in url::form_urlencoded::parse(bytes) {
            if let Some(note) = key.strip_prefix("notes[").and_then(|k| k.strip_suffix(']')) {
                notes.insert(note.to_owned(), Value::from(value.as_ref()));
                continue;
            }
            let value = match (key.as_ref(), value.as_ref()) {
                ("amount" | "first_payment_min_amount", v) => {
                    v.parse::<i64>().map_or_else(|_| Value::from(v), Value::from)
                }
                ("payment_capture" | "partial_payment", "1" | "true") => Value::Bool(true),
                ("payment_capture" | "partial_payment", "0" | "false") => Value::Bool(false),
                (_, v) => Value::from(v),
            };
            map.insert(key.into_owned(), value);
        }
        if !notes.is_empty() {
            map.insert("notes".to_owned(), Value::Object(notes));
        }
        return Ok(map);
    }
    match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        // Unverified: the text for a body that is not a JSON object.
        _ => Err(ApiError::invalid("The request body must be a JSON object.", None)),
    }
}

impl Shared {
    fn dispatch(&self, state: &mut State, route: Route, incoming: Incoming<'_>) -> Result<Value, ApiError> {
        let payment =
            |state: &State, id: &str| state.payments.get(id).map(Payment::to_json).ok_or_else(ApiError::no_such_id);
        let refund =
            |state: &State, id: &str| state.refunds.get(id).map(Refund::to_json).ok_or_else(ApiError::no_such_id);
        match route {
            Route::CreateOrder => create_order(state, &incoming.body),
            Route::Order(id) => state.orders.get(&id).map(Order::to_json).ok_or_else(ApiError::no_such_id),
            Route::OrderPayments(id) => {
                let order = state.orders.get(&id).ok_or_else(ApiError::no_such_id)?;
                Ok(collection(order.payments.iter().rev().filter_map(|p| state.payments.get(p)).map(Payment::to_json)))
            }
            Route::Payment(id) => payment(state, &id),
            Route::Capture(id) => self.capture_request(state, &id, &incoming.body),
            Route::Refund(id) => self.refund_request(state, &id, incoming),
            Route::PaymentRefunds(id) => {
                let payment = state.payments.get(&id).ok_or_else(ApiError::no_such_id)?;
                let (count, skip) = page(incoming.query)?;
                let newest_first = payment.refunds.iter().rev().skip(skip).take(count);
                Ok(collection(newest_first.filter_map(|r| state.refunds.get(r)).map(Refund::to_json)))
            }
            Route::PaymentRefund(payment_id, id) => match state.refunds.get(&id) {
                Some(r) if r.payment_id == payment_id => Ok(r.to_json()),
                _ => Err(ApiError::no_such_id()),
            },
            Route::RefundById(id) => refund(state, &id),
        }
    }

    /// `POST /v1/payments/:id/capture` (§3): both fields mandatory, only `authorized` payments.
    fn capture_request(&self, state: &mut State, id: &str, body: &Map<String, Value>) -> Result<Value, ApiError> {
        let payment = state.payments.get(id).ok_or_else(ApiError::no_such_id)?;
        reject_unknown(body, &["amount", "currency"])?;
        let amount = int_field(body, "amount")?.ok_or_else(|| ApiError::required("amount"))?;
        let currency = string_field(body, "currency")?.ok_or_else(|| ApiError::required("currency"))?;
        match payment.status {
            "authorized" => {}
            // The documented answer to a second capture; a plugin may read it as success.
            "captured" | "refunded" => return Err(ApiError::invalid(ALREADY_CAPTURED, None)),
            // Unverified: the text for capturing a failed payment.
            _ => {
                return Err(ApiError::invalid(
                    "Only payments which have been authorized and not yet captured can be captured",
                    None,
                ));
            }
        }
        if amount != payment.amount {
            return Err(ApiError::invalid("Capture amount must be equal to the amount authorized.", Some("amount")));
        }
        if currency != payment.currency {
            // Unverified: the text for a currency that differs from the payment's.
            return Err(ApiError::invalid("The currency must be the payment's currency.", Some("currency")));
        }
        self.capture(state, id);
        state.payments.get(id).map(Payment::to_json).ok_or_else(ApiError::no_such_id)
    }

    /// `POST /v1/payments/:id/refund` (§4) with `X-Refund-Idempotency` (§7).
    fn refund_request(&self, state: &mut State, payment_id: &str, incoming: Incoming<'_>) -> Result<Value, ApiError> {
        let Incoming { body, key, delay, .. } = incoming;
        if let Some(key) = key {
            check_idempotency_key(key)?;
        }
        let payment = state.payments.get(payment_id).ok_or_else(ApiError::no_such_id)?;
        reject_unknown(&body, &["amount", "speed", "notes", "receipt"])?;
        // A replay is answered before the state checks: after a full refund, a retry of it must
        // still get the refund, not "fully refunded already".
        if let Some(seen) = key.and_then(|k| state.refund_keys.get(k)) {
            if Instant::now() < seen.answered_at {
                return Err(ApiError::na(409, "Another request with the same idempotency key is still in progress."));
            }
            if seen.payment_id != payment_id || seen.request != body {
                return Err(ApiError::na(
                    409,
                    "Different request with the same idempotency key has already been processed.",
                ));
            }
            return state.refunds.get(&seen.refund_id).map(Refund::to_json).ok_or_else(ApiError::no_such_id);
        }
        match payment.status {
            "captured" => {}
            "refunded" => return Err(ApiError::invalid("The payment has been fully refunded already.", None)),
            // Unverified: the text for refunding a payment that is not captured.
            _ => return Err(ApiError::invalid("Only captured payments can be refunded.", None)),
        }
        let remaining = payment.amount - payment.amount_refunded;
        let amount = match int_field(&body, "amount")? {
            None => remaining,
            Some(a) if a < minimum(&payment.currency) => {
                return Err(ApiError::invalid("The amount must be at least INR 1.00.", Some("amount")));
            }
            Some(a) if a > remaining => {
                return Err(ApiError::invalid(
                    "The refund amount provided is greater than amount captured.",
                    Some("amount"),
                ));
            }
            Some(a) => a,
        };
        let speed = match body.get("speed") {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s == "normal" || s == "optimum" => Some(s.clone()),
            // Unverified: the text for an unknown speed.
            Some(_) => return Err(ApiError::invalid("The selected speed is invalid.", Some("speed"))),
        };
        let refund = Refund {
            id: new_id("rfnd_"),
            payment_id: payment_id.to_owned(),
            amount,
            currency: payment.currency.clone(),
            notes: parse_notes(body.get("notes"))?,
            receipt: string_field(&body, "receipt")?,
            speed,
            created_at: now(),
        };
        let refund_id = refund.id.clone();
        let answer = refund.to_json();
        if let Some(payment) = state.payments.get_mut(payment_id) {
            payment.amount_refunded += amount;
            payment.refunds.push(refund_id.clone());
            // §3: a full refund makes the payment `refunded`; a partial one keeps it `captured`.
            if payment.amount_refunded == payment.amount {
                payment.status = "refunded";
            }
        }
        state.refunds.insert(refund_id.clone(), refund);
        if let Some(key) = key {
            let answered_at = Instant::now() + delay;
            let seen = KeyedRefund {
                payment_id: payment_id.to_owned(),
                request: body,
                refund_id: refund_id.clone(),
                answered_at,
            };
            state.refund_keys.insert(key.to_owned(), seen);
        }
        // Refunds are `processed` at once (the fake has no bank to wait for).
        self.emit(state, "refund.created", &refund_id);
        self.emit(state, "refund.processed", &refund_id);
        Ok(answer)
    }
}

const ALREADY_CAPTURED: &str =
    "Your payment has been declined as the order is already paid. Please initiate the payment with a new order.";

/// `POST /v1/orders` (§2, §10.4).
fn create_order(state: &mut State, body: &Map<String, Value>) -> Result<Value, ApiError> {
    // Unverified for orders (documented for refunds): unknown fields are refused.
    let known =
        ["amount", "currency", "receipt", "notes", "partial_payment", "first_payment_min_amount", "payment_capture"];
    reject_unknown(body, &known)?;
    let amount = int_field(body, "amount")?.ok_or_else(|| ApiError::required("amount"))?;
    // Unverified: server-side defaulting to INR; the fake requires the field, as documented.
    let currency = string_field(body, "currency")?.ok_or_else(|| ApiError::required("currency"))?;
    if currency.len() != 3 || !currency.bytes().all(|b| b.is_ascii_uppercase()) {
        // Unverified: the text for a malformed currency.
        return Err(ApiError::invalid("The selected currency is invalid.", Some("currency")));
    }
    if amount < minimum(&currency) {
        // §2 gives the INR text only; other currencies reuse its shape (unverified).
        let text = if currency == "INR" {
            "The amount must be at least INR 1.00".to_owned()
        } else {
            format!("The amount must be at least {currency} 1")
        };
        return Err(ApiError::invalid(text, Some("amount")));
    }
    if matches!(currency.as_str(), "KWD" | "BHD" | "OMR") && amount % 10 != 0 {
        // Unverified: the text; §2 only says 3-decimal amounts must end in 0.
        return Err(ApiError::invalid("The amount must end in 0 for this currency.", Some("amount")));
    }
    let receipt = string_field(body, "receipt")?;
    if receipt.as_ref().is_some_and(|r| r.chars().count() > 40) {
        // Unverified: the text; the 40-character limit is documented.
        return Err(ApiError::invalid("The receipt may not be greater than 40 characters.", Some("receipt")));
    }
    let notes = parse_notes(body.get("notes"))?;
    bool_field(body, "partial_payment")?;
    int_field(body, "first_payment_min_amount")?;
    // Unverified whether Razorpay refuses a duplicate `receipt` (§7); the fake accepts it, so a
    // plugin cannot lean on receipts for idempotency.
    let order = Order {
        id: new_id("order_"),
        amount,
        currency,
        receipt,
        notes,
        status: "created",
        amount_paid: 0,
        attempts: 0,
        payment_capture: bool_field(body, "payment_capture")?,
        payments: Vec::new(),
        created_at: now(),
    };
    let answer = order.to_json();
    state.orders.insert(order.id.clone(), order);
    Ok(answer)
}

/// INR 1.00 (§2, §4); unverified for other currencies, where the fake asks for one subunit.
fn minimum(currency: &str) -> i64 {
    if currency == "INR" { 100 } else { 1 }
}

fn reject_unknown(body: &Map<String, Value>, known: &[&str]) -> Result<(), ApiError> {
    match body.keys().find(|k| !known.contains(&k.as_str())) {
        Some(extra) => {
            Err(ApiError::invalid(format!("{extra} is/are not required and should not be sent."), Some(extra)))
        }
        None => Ok(()),
    }
}

/// An integer, or absent; a JSON string is refused even if it holds digits (stricter than
/// Razorpay may be: a plugin should send numbers).
fn int_field(body: &Map<String, Value>, name: &str) -> Result<Option<i64>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) if n.is_i64() => Ok(n.as_i64()),
        Some(_) => Err(ApiError::invalid(format!("The {name} must be an integer."), Some(name))),
    }
}

fn string_field(body: &Map<String, Value>, name: &str) -> Result<Option<String>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        // Unverified: the text.
        Some(_) => Err(ApiError::invalid(format!("The {name} must be a string."), Some(name))),
    }
}

/// `true`/`false`, or `1`/`0` as legacy integrations send `payment_capture` (§2).
fn bool_field(body: &Map<String, Value>, name: &str) -> Result<Option<bool>, ApiError> {
    match body.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Number(n)) if n.as_u64() == Some(0) || n.as_u64() == Some(1) => Ok(Some(n.as_u64() == Some(1))),
        // Unverified: the text.
        Some(_) => Err(ApiError::invalid(format!("The {name} field must be true or false."), Some(name))),
    }
}

/// At most 15 pairs of at most 256 characters (§1); `[]` is the API's own empty notes.
fn parse_notes(value: Option<&Value>) -> Result<Map<String, Value>, ApiError> {
    // Unverified: all three texts.
    let notes = match value {
        None | Some(Value::Null) => return Ok(Map::new()),
        Some(Value::Array(a)) if a.is_empty() => return Ok(Map::new()),
        Some(Value::Object(notes)) => notes,
        Some(_) => return Err(ApiError::invalid("The notes must be a key-value object.", Some("notes"))),
    };
    if notes.len() > 15 {
        return Err(ApiError::invalid("The notes may not have more than 15 keys.", Some("notes")));
    }
    let too_long = |v: &Value| match v {
        Value::String(s) => s.chars().count() > 256,
        Value::Number(_) | Value::Bool(_) | Value::Null => false,
        Value::Array(_) | Value::Object(_) => true,
    };
    if notes.values().any(too_long) {
        return Err(ApiError::invalid("Each notes value must be text of at most 256 characters.", Some("notes")));
    }
    Ok(notes.clone())
}

fn check_idempotency_key(key: &str) -> Result<(), ApiError> {
    if key.len() < 10 {
        return Err(ApiError::invalid("The idempotency key must be at least 10 characters long.", None));
    }
    if !key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
        return Err(ApiError::invalid(
            "The idempotency key must only contain alphanumeric characters, underscores, and hyphens",
            None,
        ));
    }
    Ok(())
}

/// `count` (default 10, at most 100) and `skip` (§1).
fn page(query: &str) -> Result<(usize, usize), ApiError> {
    let (mut count, mut skip) = (10, 0);
    for (key, value) in url::form_urlencoded::parse(query.as_bytes()) {
        // Unverified: both texts.
        match key.as_ref() {
            "count" => {
                count = value
                    .parse()
                    .ok()
                    .filter(|c| (1..=100).contains(c))
                    .ok_or_else(|| ApiError::invalid("The count must be between 1 and 100.", Some("count")))?;
            }
            "skip" => {
                skip = value.parse().map_err(|_| ApiError::invalid("The skip must be an integer.", Some("skip")))?;
            }
            _ => {}
        }
    }
    Ok((count, skip))
}

fn collection(items: impl Iterator<Item = Value>) -> Value {
    let items: Vec<Value> = items.collect();
    json!({"entity": "collection", "count": items.len(), "items": items})
}

// ---- Entities ----

struct Order {
    id: String,
    amount: i64,
    currency: String,
    receipt: Option<String>,
    notes: Map<String, Value>,
    status: &'static str,
    amount_paid: i64,
    attempts: u32,
    /// The order's own capture setting; `None` follows the account (§3).
    payment_capture: Option<bool>,
    payments: Vec<String>,
    created_at: i64,
}

struct Payment {
    id: String,
    order_id: String,
    amount: i64,
    currency: String,
    method: PayMethod,
    status: &'static str,
    amount_refunded: i64,
    /// (fee, tax), set on capture.
    fee: Option<(i64, i64)>,
    refunds: Vec<String>,
    created_at: i64,
}

struct Refund {
    id: String,
    payment_id: String,
    amount: i64,
    currency: String,
    notes: Map<String, Value>,
    receipt: Option<String>,
    speed: Option<String>,
    created_at: i64,
}

/// Empty notes come out as `[]`, as the real API (PHP's empty array) sends them (§1).
fn notes_json(notes: &Map<String, Value>) -> Value {
    if notes.is_empty() { json!([]) } else { Value::Object(notes.clone()) }
}

impl Order {
    fn to_json(&self) -> Value {
        json!({
            "id": self.id, "entity": "order", "amount": self.amount, "amount_paid": self.amount_paid,
            "amount_due": self.amount - self.amount_paid, "currency": self.currency, "receipt": self.receipt,
            "offer_id": null, "status": self.status, "attempts": self.attempts, "notes": notes_json(&self.notes),
            "created_at": self.created_at,
        })
    }
}

impl Payment {
    /// The entity of §3, with the field set of the netbanking webhook samples (§6).
    fn to_json(&self) -> Value {
        let captured = matches!(self.status, "captured" | "refunded");
        let refund_status = match self.amount_refunded {
            0 => Value::Null,
            n if n == self.amount => json!("full"),
            _ => json!("partial"),
        };
        let failed = self.status == "failed";
        let error = |text: &str| if failed { json!(text) } else { Value::Null };
        let mut payment = json!({
            "id": self.id, "entity": "payment", "amount": self.amount, "currency": self.currency,
            "status": self.status, "order_id": self.order_id, "invoice_id": null, "international": false,
            "method": self.method.code(), "amount_refunded": self.amount_refunded, "refund_status": refund_status,
            "captured": captured, "description": null, "card_id": null, "bank": null, "wallet": null, "vpa": null,
            "email": "gaurav.kumar@example.com", "contact": "+919876543210", "notes": [],
            "fee": self.fee.map(|(fee, _)| fee), "tax": self.fee.map(|(_, tax)| tax),
            "error_code": error("BAD_REQUEST_ERROR"), "error_description": error("Payment failed"),
            "error_source": error("bank"), "error_step": error("payment_authorization"),
            "error_reason": error("payment_failed"), "acquirer_data": {}, "created_at": self.created_at,
        });
        if captured {
            payment["base_amount"] = json!(self.amount);
            payment["amount_transferred"] = json!(0);
        }
        match self.method {
            PayMethod::Netbanking => {
                payment["bank"] = json!("HDFC");
                payment["acquirer_data"] =
                    json!({"bank_transaction_id": if failed { None } else { Some("0125836177") }});
            }
            PayMethod::Card => {
                let card_id = self.id.replacen("pay_", "card_", 1);
                payment["card"] = json!({
                    "id": card_id, "entity": "card", "name": "Gaurav Kumar", "last4": "1007", "network": "Visa",
                    "type": "credit", "issuer": null, "international": false, "emi": false, "sub_type": "consumer",
                    "token_iin": null,
                });
                payment["card_id"] = json!(card_id);
                payment["acquirer_data"] = json!({"auth_code": "064381"});
            }
            PayMethod::Upi => {
                payment["vpa"] = json!("success@razorpay");
                payment["upi"] =
                    json!({"payer_account_type": "bank_account", "vpa": "success@razorpay", "flow": "collect"});
                payment["acquirer_data"] = json!({"rrn": "033814379298"});
            }
            PayMethod::Wallet => payment["wallet"] = json!("paytm"),
        }
        payment
    }
}

impl PayMethod {
    fn code(self) -> &'static str {
        match self {
            Self::Netbanking => "netbanking",
            Self::Card => "card",
            Self::Upi => "upi",
            Self::Wallet => "wallet",
        }
    }
}

impl Refund {
    /// The entity of §4; the speed fields appear only when a speed was asked for.
    fn to_json(&self) -> Value {
        let mut refund = json!({
            "id": self.id, "entity": "refund", "amount": self.amount, "currency": self.currency,
            "payment_id": self.payment_id, "notes": notes_json(&self.notes), "receipt": self.receipt,
            "acquirer_data": {"arn": null}, "created_at": self.created_at, "batch_id": null, "status": "processed",
        });
        if let Some(speed) = &self.speed {
            refund["speed_requested"] = json!(speed);
            // As in the webhook sample: `optimum` asked, `normal` done.
            refund["speed_processed"] = json!("normal");
        }
        refund
    }
}

// ---- Errors ----

/// A non-200 answer with Razorpay's error body: everything under `error` (§1).
struct ApiError {
    status: u16,
    body: Value,
}

impl ApiError {
    /// A refused request in the validation shape of §1 (source `business`, reason
    /// `input_validation_failed`).
    fn invalid(description: impl Into<String>, field: Option<&str>) -> Self {
        let error = json!({
            "code": "BAD_REQUEST_ERROR", "description": description.into(), "field": field, "source": "business",
            "step": "payment_initiation", "reason": "input_validation_failed", "metadata": {},
        });
        Self { status: 400, body: json!({ "error": error }) }
    }

    fn required(field: &str) -> Self {
        Self::invalid(format!("The {field} field is required."), Some(field))
    }

    /// §10.3: an unknown (or another account's) id is a 400, never a 404.
    fn no_such_id() -> Self {
        Self::invalid("The id provided does not exist", None)
    }

    /// Errors outside input validation carry `NA` as source, step and reason (§1, §7).
    fn na(status: u16, description: &str) -> Self {
        let error = json!({
            "code": "BAD_REQUEST_ERROR", "description": description, "source": "NA", "step": "NA", "reason": "NA",
            "metadata": {},
        });
        Self { status, body: json!({ "error": error }) }
    }

    /// §10.1: observed as 401 with only code and description (the status is unverified in the
    /// official docs, which say 400 or 4xx).
    fn auth() -> Self {
        Self {
            status: 401,
            body: json!({"error": {"code": "BAD_REQUEST_ERROR", "description": "Authentication failed"}}),
        }
    }

    /// An injected failure. Unverified: the descriptions; the codes are the ones the SDKs know.
    fn fault(status: u16) -> Self {
        let (code, description) = match status {
            429 => ("BAD_REQUEST_ERROR", "Too many requests"),
            502 | 504 => ("GATEWAY_ERROR", "The gateway did not respond in time."),
            _ => ("SERVER_ERROR", "The server encountered an error. The incident has been reported to admins."),
        };
        let mut error = Self::na(status, description);
        error.body["error"]["code"] = json!(code);
        error
    }
}
