//! What the host offers a plugin (logging, its settings), behind a trait so that native tests
//! use a double: wit-bindgen's import functions are `unreachable!()` stubs off `wasm32`.

use std::cell::RefCell;
use std::rc::Rc;

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
