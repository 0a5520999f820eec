//! Runs a [`PaymentGateway`] natively, as the engine would call it, with a host double that
//! holds secrets in memory (real HMAC-SHA256/512), answers HTTP from a script and captures logs.
//!
//! Each call goes through the same export glue as in a component: settings from the host, parsed
//! and validated; records converted to the WIT types and back. Only the sandbox is missing.
//!
//! ```
//! # use commerce_sdk::gateway::*;
//! # use commerce_sdk::{GatewayHost, NoSettings, PaymentGateway};
//! # struct Pinger;
//! # impl PaymentGateway for Pinger {
//! #     type Settings = NoSettings;
//! #     fn create_session(_: &NoSettings, host: &dyn GatewayHost, order: &Order) -> Result<Session, GatewayError> {
//! #         let response = host.http_send(&Request::get("https://pay.example/ping").auth(Auth::bearer("api_key")))?;
//! #         Ok(Session { gateway_order_id: String::from_utf8_lossy(&response.body).into_owned(), client_payload: "{}".into() })
//! #     }
//! #     fn verify(_: &NoSettings, _: &dyn GatewayHost, _: &ClientResult) -> Result<PaymentStatus, GatewayError> { unimplemented!() }
//! #     fn handle_webhook(_: &NoSettings, _: &dyn GatewayHost, _: &Webhook) -> Result<WebhookOutcome, GatewayError> { unimplemented!() }
//! #     fn fetch_status(_: &NoSettings, _: &dyn GatewayHost, _: &str, _: &str) -> Result<PaymentStatus, GatewayError> { unimplemented!() }
//! #     fn capture(_: &NoSettings, _: &dyn GatewayHost, _: &CaptureRequest) -> Result<PaymentStatus, GatewayError> { unimplemented!() }
//! #     fn refund(_: &NoSettings, _: &dyn GatewayHost, _: &RefundRequest) -> Result<RefundStatus, GatewayError> { unimplemented!() }
//! # }
//! use commerce_sdk::testing::gateway::{Exchange, TestGateway, order};
//!
//! let gateway = TestGateway::<Pinger>::new("{}")?.secret("api_key", "sk_test");
//! gateway.expect(
//!     Exchange::get("https://pay.example/ping").auth(Auth::bearer("api_key")).respond(Response::new(200, "go_1")),
//! );
//! let session = gateway.create_session(&order("o1", 100, "INR"))?;
//! assert_eq!(session.gateway_order_id, "go_1");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::cell::RefCell;
use std::collections::HashMap;
use std::marker::PhantomData;
use std::rc::Rc;

use commerce_pipeline::Currency;
use hmac::{Hmac, Mac};
use sha2::{Sha256, Sha512};

pub use super::scripted_http::Exchange;
use super::scripted_http::ScriptedHttp;
use super::{LogRecord, TestError};
use crate::gateway::{
    Capabilities, CaptureRequest, ClientResult, GatewayError, HmacAlgorithm, HttpError, Order, PaymentGateway,
    PaymentStatus, RefundRequest, RefundStatus, Request, Response, Session, Webhook, WebhookOutcome, exports,
    validate_settings_export,
};
use crate::host::{GatewayHost, Host, Level};

/// The plugin name the harness logs under.
const PLUGIN: &str = "gateway";

/// The host double.
#[derive(Debug, Default)]
struct GatewayTestHost {
    settings: String,
    secrets: RefCell<HashMap<String, Vec<u8>>>,
    http: RefCell<ScriptedHttp>,
    logs: RefCell<Vec<LogRecord>>,
}

impl GatewayTestHost {
    fn key(&self, secret_name: &str) -> Result<Vec<u8>, String> {
        self.secrets.borrow().get(secret_name).cloned().ok_or_else(|| format!("unknown secret `{secret_name}`"))
    }
}

fn mac(algorithm: HmacAlgorithm, key: &[u8], message: &[u8]) -> Result<Vec<u8>, String> {
    // HMAC takes keys of any length, so `new_from_slice` cannot fail; mapped, not unwrapped.
    Ok(match algorithm {
        HmacAlgorithm::Sha256 => {
            let mut mac = Hmac::<Sha256>::new_from_slice(key).map_err(|e| e.to_string())?;
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
        HmacAlgorithm::Sha512 => {
            let mut mac = Hmac::<Sha512>::new_from_slice(key).map_err(|e| e.to_string())?;
            mac.update(message);
            mac.finalize().into_bytes().to_vec()
        }
    })
}

impl Host for GatewayTestHost {
    fn log(&self, level: Level, message: &str, fields: &[(&str, &str)]) {
        self.logs.borrow_mut().push(LogRecord {
            plugin: PLUGIN.to_owned(),
            level,
            message: message.to_owned(),
            fields: fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
        });
    }

    fn settings(&self) -> String {
        self.settings.clone()
    }
}

impl GatewayHost for GatewayTestHost {
    fn http_send(&self, request: &Request) -> Result<Response, HttpError> {
        // As the host: a secret the operator did not configure fails before anything is sent.
        let named = match &request.auth {
            Some(crate::gateway::Auth::Basic { password_secret, .. }) => Some(password_secret),
            Some(crate::gateway::Auth::Bearer { secret_name } | crate::gateway::Auth::Header { secret_name, .. }) => {
                Some(secret_name)
            }
            None => None,
        };
        if let Some(name) = named
            && !self.secrets.borrow().contains_key(name)
        {
            return Err(HttpError::UnknownSecret(name.clone()));
        }
        self.http.borrow_mut().send(request)
    }

    fn hmac_sign(&self, algorithm: HmacAlgorithm, secret_name: &str, message: &[u8]) -> Result<Vec<u8>, String> {
        mac(algorithm, &self.key(secret_name)?, message)
    }

    fn hmac_verify(
        &self,
        algorithm: HmacAlgorithm,
        secret_name: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, String> {
        let key = self.key(secret_name)?;
        // `verify_slice` compares in constant time, as the engine does.
        Ok(match algorithm {
            HmacAlgorithm::Sha256 => {
                let mut mac = Hmac::<Sha256>::new_from_slice(&key).map_err(|e| e.to_string())?;
                mac.update(message);
                mac.verify_slice(signature).is_ok()
            }
            HmacAlgorithm::Sha512 => {
                let mut mac = Hmac::<Sha512>::new_from_slice(&key).map_err(|e| e.to_string())?;
                mac.update(message);
                mac.verify_slice(signature).is_ok()
            }
        })
    }
}

/// A gateway `G` with its settings, secrets, an HTTP script and a log capture.
///
/// Dropping it with scripted requests still unsent panics (unless the test is already failing):
/// a request the gateway should have made and did not is a failure too.
pub struct TestGateway<G> {
    host: Rc<GatewayTestHost>,
    gateway: PhantomData<G>,
}

impl<G: PaymentGateway> TestGateway<G> {
    /// `G` with `settings` (JSON), validated as the engine does at load.
    pub fn new(settings: &str) -> Result<Self, TestError> {
        validate_settings_export::<G>(settings)
            .map_err(|message| TestError::Settings { plugin: PLUGIN.to_owned(), message })?;
        let host = GatewayTestHost { settings: settings.to_owned(), ..GatewayTestHost::default() };
        Ok(Self { host: Rc::new(host), gateway: PhantomData })
    }

    /// Configures secret `name`, as the operator's `[plugins.<name>.secrets]` would. The gateway
    /// still sees only the name.
    pub fn secret(self, name: &str, value: impl AsRef<[u8]>) -> Self {
        self.host.secrets.borrow_mut().insert(name.to_owned(), value.as_ref().to_vec());
        self
    }

    /// Queues an expected request and its reply, after those already queued.
    pub fn expect(&self, exchange: Exchange) -> &Self {
        self.host.http.borrow_mut().push(exchange);
        self
    }

    /// The HMAC of `message` under secret `secret_name`, e.g. to sign a test webhook.
    pub fn sign(&self, algorithm: HmacAlgorithm, secret_name: &str, message: &[u8]) -> Result<Vec<u8>, String> {
        self.host.hmac_sign(algorithm, secret_name, message)
    }

    /// Every request the gateway sent, oldest first (matched or not).
    pub fn sent(&self) -> Vec<Request> {
        self.host.http.borrow().sent().to_vec()
    }

    /// Every record the gateway logged, oldest first.
    pub fn logs(&self) -> Vec<LogRecord> {
        self.host.logs.borrow().clone()
    }

    fn host(&self) -> Rc<dyn GatewayHost> {
        self.host.clone()
    }

    /// `capabilities`, as the engine asks it once at load.
    pub fn capabilities(&self) -> Capabilities {
        exports::capabilities::<G>(self.host()).into()
    }

    /// `create-session`, as the engine calls it after the order commits.
    pub fn create_session(&self, order: &Order) -> Result<Session, GatewayError> {
        exports::create_session::<G>(self.host(), order.clone().into()).map(Into::into).map_err(Into::into)
    }

    /// `verify`, with the widget's result beside the engine's record of the order.
    pub fn verify(&self, outcome: &ClientResult) -> Result<PaymentStatus, GatewayError> {
        exports::verify::<G>(self.host(), outcome.clone().into()).map_err(GatewayError::from).and_then(from_wire)
    }

    /// `handle-webhook`, with the request as received.
    pub fn handle_webhook(&self, webhook: &Webhook) -> Result<WebhookOutcome, GatewayError> {
        exports::handle_webhook::<G>(self.host(), webhook.clone().into())
            .map_err(GatewayError::from)
            .and_then(from_wire)
    }

    /// `fetch-status`.
    pub fn fetch_status(&self, order_id: &str, gateway_order_id: &str) -> Result<PaymentStatus, GatewayError> {
        exports::fetch_status::<G>(self.host(), order_id.to_owned(), gateway_order_id.to_owned())
            .map_err(GatewayError::from)
            .and_then(from_wire)
    }

    /// `capture`.
    pub fn capture(&self, request: &CaptureRequest) -> Result<PaymentStatus, GatewayError> {
        exports::capture::<G>(self.host(), request.clone().into()).map_err(GatewayError::from).and_then(from_wire)
    }

    /// `refund`.
    pub fn refund(&self, request: &RefundRequest) -> Result<RefundStatus, GatewayError> {
        exports::refund::<G>(self.host(), request.clone().into()).map_err(GatewayError::from).and_then(from_wire)
    }
}

/// A wire record the gateway returned, back in SDK types. It was built from SDK types, so a
/// failure means the conversions disagree; reported rather than unwrapped.
fn from_wire<W, T: TryFrom<W, Error = commerce_pipeline::CurrencyError>>(wire: W) -> Result<T, GatewayError> {
    T::try_from(wire).map_err(|e| GatewayError::Unavailable(format!("the gateway returned an invalid record: {e}")))
}

impl<G> Drop for TestGateway<G> {
    fn drop(&mut self) {
        if std::thread::panicking() {
            return;
        }
        let http = self.host.http.borrow();
        let left: Vec<String> = http.remaining().map(Exchange::describe).collect();
        if !left.is_empty() {
            panic!("scripted HTTP: {} scripted request(s) never sent: {}", left.len(), left.join(", "));
        }
    }
}

/// An order for tests: `order_id` doubles as the order number, no contact details.
///
/// # Panics
///
/// If `currency` is not an ISO 4217 code (a mistake in the test).
pub fn order(order_id: &str, amount: i64, currency: &str) -> Order {
    Order {
        order_id: order_id.to_owned(),
        order_number: order_id.to_owned(),
        amount,
        currency: test_currency(currency),
        customer_email: None,
        customer_phone: None,
    }
}

/// A webhook with `headers` (names as given) and `body`.
pub fn webhook(headers: &[(&str, &str)], body: impl Into<Vec<u8>>) -> Webhook {
    Webhook { headers: headers.iter().map(|(n, v)| ((*n).to_owned(), (*v).to_owned())).collect(), body: body.into() }
}

fn test_currency(code: &str) -> Currency {
    match Currency::new(code) {
        Ok(currency) => currency,
        Err(e) => panic!("{e}"),
    }
}
