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

mod errors;
mod orders;
mod payments;
mod refunds;
mod routes;
mod webhooks;

use std::{
    collections::HashMap,
    net::SocketAddr,
    sync::{Arc, Mutex, MutexGuard, PoisonError},
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use poem::{
    Server,
    listener::{Acceptor, Listener, TcpListener},
};
use serde_json::{Map, Value, json};

use self::{
    orders::Order,
    payments::Payment,
    refunds::{KeyedRefund, Refund},
    routes::FakeEndpoint,
    webhooks::hmac_hex,
};

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

/// Empty notes come out as `[]`, as the real API (PHP's empty array) sends them (§1).
fn notes_json(notes: &Map<String, Value>) -> Value {
    if notes.is_empty() { json!([]) } else { Value::Object(notes.clone()) }
}
