//! What the host offers a plugin (logging, its settings), behind a trait so that native tests
//! use a double: wit-bindgen's import functions are `unreachable!()` stubs off `wasm32`.

use std::cell::RefCell;
use std::rc::Rc;

use crate::gateway::{HmacAlgorithm, HttpError, Request, Response};

/// Severity of a log record.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Step-by-step detail.
    Trace,
    /// Detail useful when diagnosing a rule.
    Debug,
    /// Something worth knowing.
    Info,
    /// Something looks wrong but the rule carried on.
    Warn,
    /// The rule is failing.
    Error,
}

/// The host side of the plugin contract: the engine in a component, a double in native tests.
pub trait Host {
    /// Writes a log record; the host tags it with the plugin's name and caps its size.
    fn log(&self, level: Level, message: &str, fields: &[(&str, &str)]);
    /// The plugin's settings as JSON, as the operator configured them.
    fn settings(&self) -> String;
}

/// What the host offers a payment gateway on top of [`Host`]: HTTP and HMACs, both by secret
/// name. The engine holds the keys and does the work, so a compromised or buggy plugin can use a
/// key but never read or leak it. In a component these are the `outbound-http` and `secrets`
/// imports; natively, [`testing::gateway`](crate::testing::gateway)'s double.
pub trait GatewayHost: Host {
    /// Sends `request` (HTTPS to the plugin's allowed hosts, the operator's timeouts and size
    /// cap). Any status is a response; an [`HttpError`](crate::gateway::HttpError) means no
    /// response at all.
    fn http_send(&self, request: &Request) -> Result<Response, HttpError>;
    /// The HMAC of `message` keyed with secret `secret_name`; an error names an unknown secret.
    fn hmac_sign(&self, algorithm: HmacAlgorithm, secret_name: &str, message: &[u8]) -> Result<Vec<u8>, String>;
    /// Whether `signature` is the HMAC of `message` under secret `secret_name`, compared in
    /// constant time by the host (comparing a [`hmac_sign`](Self::hmac_sign) result in the
    /// plugin would leak timing).
    fn hmac_verify(
        &self,
        algorithm: HmacAlgorithm,
        secret_name: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, String>;
}

thread_local! {
    /// The host of the call in progress, when it is not the component's own (native tests).
    static CURRENT: RefCell<Option<Rc<dyn Host>>> = const { RefCell::new(None) };
}

/// Runs `f` with `host` as the host that [`log`] writes to, restoring the previous one after.
pub(crate) fn with_host<T>(host: Rc<dyn Host>, f: impl FnOnce() -> T) -> T {
    struct Restore(Option<Rc<dyn Host>>);
    impl Drop for Restore {
        fn drop(&mut self) {
            let previous = self.0.take();
            CURRENT.with(|current| *current.borrow_mut() = previous);
        }
    }
    let _restore = Restore(CURRENT.with(|current| current.borrow_mut().replace(host)));
    f()
}

/// Writes a log record through the host: the engine's log (tagged with the plugin's name) in a
/// component, [`testing`](crate::testing)'s capture in native tests. `fields` are key–value pairs.
///
/// Outside a call (natively, with no test host installed) the record is dropped.
pub fn log(level: Level, message: &str, fields: &[(&str, &str)]) {
    let current = CURRENT.with(|current| current.borrow().clone());
    match current {
        Some(host) => host.log(level, message, fields),
        None => default_log(level, message, fields),
    }
}

#[cfg(target_arch = "wasm32")]
fn default_log(level: Level, message: &str, fields: &[(&str, &str)]) {
    WasmHost.log(level, message, fields);
}

#[cfg(not(target_arch = "wasm32"))]
fn default_log(_level: Level, _message: &str, _fields: &[(&str, &str)]) {}

/// The real host: the component's imports.
#[cfg(target_arch = "wasm32")]
pub struct WasmHost;

#[cfg(target_arch = "wasm32")]
impl Host for WasmHost {
    fn log(&self, level: Level, message: &str, fields: &[(&str, &str)]) {
        use crate::bindings::commerce::plugin::host::{self, LogLevel};
        let level = match level {
            Level::Trace => LogLevel::Trace,
            Level::Debug => LogLevel::Debug,
            Level::Info => LogLevel::Info,
            Level::Warn => LogLevel::Warn,
            Level::Error => LogLevel::Error,
        };
        let fields: Vec<(String, String)> = fields.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        host::log(level, message, &fields);
    }

    fn settings(&self) -> String {
        crate::bindings::commerce::plugin::host::settings()
    }
}

#[cfg(target_arch = "wasm32")]
impl GatewayHost for WasmHost {
    fn http_send(&self, request: &Request) -> Result<Response, HttpError> {
        use commerce_sdk_gateway_bindings::commerce::plugin::outbound_http;
        outbound_http::send(&request.clone().into()).map(Response::from).map_err(HttpError::from)
    }

    fn hmac_sign(&self, algorithm: HmacAlgorithm, secret_name: &str, message: &[u8]) -> Result<Vec<u8>, String> {
        commerce_sdk_gateway_bindings::commerce::plugin::secrets::hmac_sign(algorithm.into(), secret_name, message)
    }

    fn hmac_verify(
        &self,
        algorithm: HmacAlgorithm,
        secret_name: &str,
        message: &[u8],
        signature: &[u8],
    ) -> Result<bool, String> {
        commerce_sdk_gateway_bindings::commerce::plugin::secrets::hmac_verify(
            algorithm.into(),
            secret_name,
            message,
            signature,
        )
    }
}
