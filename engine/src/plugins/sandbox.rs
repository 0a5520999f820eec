//! One call's sandbox: the store data every plugin instance gets, and what a failed call was.
//!
//! WASI is linked (Rust's standard library imports stdio, environment and exit even in a plugin
//! that does no I/O) but denied: no environment, arguments, files or sockets, stdin closed,
//! random bytes fixed, clocks stopped at 0, stdout/stderr captured up to a cap and then dropped
//! silently (a full pipe would make `eprintln!` panic and fail a well-behaved plugin).

use std::{
    pin::Pin,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::Duration,
};

use wasmtime::{ResourceLimiter, Trap, component::ResourceTable};
use wasmtime_wasi::{
    HostMonotonicClock, HostWallClock, WasiCtx, WasiCtxView, WasiView,
    cli::{IsTerminal, StdoutStream},
    p2::{OutputStream, Pollable, StreamResult},
};

use super::error::PluginErrorKind;
use crate::config::PluginLimits;

/// Bytes of stdout + stderr kept per call (the rest is counted and dropped).
const OUTPUT_CAP: usize = 16 * 1024;
/// Log records kept per call; further ones are counted and reported once.
const LOG_RECORDS_CAP: usize = 64;
/// Bytes of log text (messages, field names and values) kept per call: without it, 64 records of
/// 16 fields of 1024 characters each would let one call write megabytes to the engine's log.
const LOG_BYTES_CAP: usize = 16 * 1024;
/// Characters of guest-provided text (a panic message, a plugin's error) kept in an error that
/// reaches an HTTP `detail`, a notice or the CLI; control characters are replaced first.
pub(crate) const DETAIL_TEXT_CAP: usize = 256;
/// Characters kept of a log message, a field name or a field value.
const LOG_TEXT_CAP: usize = 1024;
/// Fields kept per log record.
const LOG_FIELDS_CAP: usize = 16;

/// What a payment gateway's calls get beyond a pricing rule's: its secrets (used on its behalf)
/// and its outbound HTTP. Shared by every call of one loaded gateway.
#[derive(Clone)]
pub(crate) struct GatewayHost {
    pub secrets: super::secrets::PluginSecrets,
    pub http: Arc<super::outbound::OutboundHttp>,
}

/// The store data of one call.
pub(crate) struct CallState {
    pub plugin: Arc<str>,
    pub settings: Arc<str>,
    /// Set for a payment gateway's calls only: a pricing rule never links the imports that use it.
    gateway: Option<GatewayHost>,
    wasi: WasiCtx,
    table: ResourceTable,
    pub limiter: MemoryLimiter,
    output: CapturedOutput,
    logs_dropped: usize,
    logs_kept: usize,
    log_bytes: usize,
}

impl CallState {
    pub fn new(plugin: Arc<str>, settings: Arc<str>, limits: &PluginLimits) -> Self {
        let output = CapturedOutput::default();
        let mut wasi = WasiCtx::builder();
        wasi.stdout(output.clone())
            .stderr(output.clone())
            .secure_random(wasmtime_wasi::Deterministic::new(vec![0x5a]))
            .insecure_random(wasmtime_wasi::Deterministic::new(vec![0xa5]))
            .insecure_random_seed(0)
            .wall_clock(StoppedClock)
            .monotonic_clock(StoppedClock)
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false);
        Self {
            plugin,
            settings,
            gateway: None,
            wasi: wasi.build(),
            table: ResourceTable::new(),
            limiter: MemoryLimiter::new(limits.memory_mib),
            output,
            logs_dropped: 0,
            logs_kept: 0,
            log_bytes: 0,
        }
    }

    /// This call as a payment gateway's (its secrets and outbound HTTP).
    pub fn with_gateway(mut self, host: GatewayHost) -> Self {
        self.gateway = Some(host);
        self
    }

    /// The gateway context; an error (for the guest) in a call that has none.
    pub fn gateway_host(&self) -> Result<&GatewayHost, String> {
        self.gateway.as_ref().ok_or_else(|| "only payment gateways may use this import".to_owned())
    }

    /// Writes what the plugin printed to the engine's log, tagged with the plugin's name, and
    /// returns it (a panic message is in there).
    pub fn flush_output(&mut self) -> String {
        let text = self.output.take();
        if !text.is_empty() {
            tracing::warn!(plugin = %self.plugin, output = %text.trim_end(), "plugin wrote to stdout/stderr");
        }
        if self.logs_dropped > 0 {
            tracing::warn!(plugin = %self.plugin, dropped = self.logs_dropped, "plugin log records dropped over the per-call cap");
            self.logs_dropped = 0;
        }
        text
    }

    pub fn log(&mut self, level: tracing::Level, message: &str, fields: &[(String, String)]) {
        // Cheap refusals first: a chatty plugin's excess records must cost it next to nothing.
        if self.logs_kept >= LOG_RECORDS_CAP || self.log_bytes >= LOG_BYTES_CAP {
            self.logs_dropped += 1;
            return;
        }
        let message = truncate(message, LOG_TEXT_CAP);
        let fields: Vec<String> = fields
            .iter()
            .take(LOG_FIELDS_CAP)
            .map(|(k, v)| format!("{}={}", truncate(k, LOG_TEXT_CAP), truncate(v, LOG_TEXT_CAP)))
            .collect();
        let fields = fields.join(" ");
        let bytes = message.len() + fields.len();
        if self.log_bytes + bytes > LOG_BYTES_CAP {
            // Nothing more fits: later records take the cheap refusal above.
            self.log_bytes = LOG_BYTES_CAP;
            self.logs_dropped += 1;
            return;
        }
        self.logs_kept += 1;
        self.log_bytes += bytes;
        let plugin = &*self.plugin;
        match level {
            tracing::Level::ERROR => tracing::error!(plugin, fields, "{message}"),
            tracing::Level::WARN => tracing::warn!(plugin, fields, "{message}"),
            tracing::Level::INFO => tracing::info!(plugin, fields, "{message}"),
            tracing::Level::DEBUG => tracing::debug!(plugin, fields, "{message}"),
            tracing::Level::TRACE => tracing::trace!(plugin, fields, "{message}"),
        }
    }
}

impl WasiView for CallState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView { ctx: &mut self.wasi, table: &mut self.table }
    }
}

fn truncate(text: &str, max: usize) -> &str {
    match text.char_indices().nth(max) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// Refuses memory growth past the plugin's `memory_mib` and remembers that it did, so the trap
/// that follows (Rust aborts when an allocation fails) is reported as what it is.
///
/// The limit is on the sum of every linear memory of the call's instance (a component may hold
/// several core instances, each with its own memories; multi-memory modules have several too),
/// not on each: wasmtime asks per memory (creation is a growth from 0), so the limiter keeps the
/// running total. A growth wasmtime fails after we allowed it leaves the total high, which only
/// errs on the safe side.
pub(crate) struct MemoryLimiter {
    max_bytes: usize,
    total_bytes: usize,
    pub exceeded: bool,
}

impl MemoryLimiter {
    pub(crate) fn new(memory_mib: u32) -> Self {
        Self { max_bytes: (memory_mib as usize) << 20, total_bytes: 0, exceeded: false }
    }
}

impl ResourceLimiter for MemoryLimiter {
    fn memory_growing(&mut self, current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        let total = self.total_bytes.saturating_sub(current).saturating_add(desired);
        if total > self.max_bytes {
            self.exceeded = true;
            return Ok(false);
        }
        self.total_bytes = total;
        Ok(true)
    }

    fn table_growing(&mut self, _current: usize, desired: usize, _maximum: Option<usize>) -> wasmtime::Result<bool> {
        Ok(desired <= 100_000)
    }
}

/// A clock that never moves: plugins get the time from the cart (`now`), never from the host.
struct StoppedClock;

impl HostWallClock for StoppedClock {
    fn resolution(&self) -> Duration {
        Duration::from_secs(1)
    }
    fn now(&self) -> Duration {
        Duration::ZERO
    }
}

impl HostMonotonicClock for StoppedClock {
    fn resolution(&self) -> u64 {
        1_000_000_000
    }
    fn now(&self) -> u64 {
        0
    }
}

/// stdout and stderr of one call, kept up to [`OUTPUT_CAP`] bytes; later bytes are accepted and
/// dropped.
#[derive(Clone, Default)]
struct CapturedOutput(Arc<Mutex<Vec<u8>>>);

impl CapturedOutput {
    fn take(&self) -> String {
        let bytes = std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()));
        String::from_utf8_lossy(&bytes).into_owned()
    }
}

impl IsTerminal for CapturedOutput {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl CapturedOutput {
    fn keep(&self, bytes: &[u8]) {
        let mut kept = self.0.lock().unwrap_or_else(|p| p.into_inner());
        let room = OUTPUT_CAP.saturating_sub(kept.len());
        kept.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }
}

impl StdoutStream for CapturedOutput {
    /// Written to synchronously: the default adapter would hand every 8 KiB to a tokio task, and
    /// a plugin printing a lot would spend its time budget waiting for it.
    fn p2_stream(&self) -> Box<dyn OutputStream> {
        Box::new(self.clone())
    }

    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

#[wasmtime_wasi::async_trait]
impl Pollable for CapturedOutput {
    async fn ready(&mut self) {}
}

impl OutputStream for CapturedOutput {
    fn write(&mut self, bytes: bytes::Bytes) -> StreamResult<()> {
        self.keep(&bytes);
        Ok(())
    }

    fn flush(&mut self) -> StreamResult<()> {
        Ok(())
    }

    fn check_write(&mut self) -> StreamResult<usize> {
        Ok(1 << 20)
    }
}

impl tokio::io::AsyncWrite for CapturedOutput {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, bytes: &[u8]) -> Poll<std::io::Result<usize>> {
        self.keep(bytes);
        Poll::Ready(Ok(bytes.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Runs one guest call (instantiation included) until `deadline`; `None` when the deadline came
/// first. Every call of every world goes through it (pricing rules now, gateway calls next), so
/// `limits.timeout_ms` means one thing: wall time, host waits included.
///
/// Epochs interrupt only running guest code, so a guest parked in a host future (a
/// `wasi:clocks` pollable behind `std::thread::sleep`, later an outbound HTTP call) would
/// otherwise outlive its deadline and hold its pool slot. Dropping wasmtime's call future at the
/// deadline is safe: its `Drop` (`FiberFuture` → `StoreFiber::dispose`, wasmtime 48
/// `runtime/fiber.rs`) resumes the fiber with a "future dropped" error so the guest unwinds, and
/// returns the fiber stack to the pool. The caller then drops the store, which frees the
/// instance's pool slot; the instance is never called again.
pub(crate) async fn within_deadline<T>(deadline: std::time::Instant, call: impl Future<Output = T>) -> Option<T> {
    tokio::time::timeout_at(deadline.into(), call).await.ok()
}

/// What a failed wasmtime call means, from the error and what the sandbox saw.
pub(crate) fn classify(
    error: &wasmtime::Error,
    limits: &PluginLimits,
    memory_exceeded: bool,
    output: &str,
) -> PluginErrorKind {
    match error.downcast_ref::<Trap>() {
        Some(Trap::Interrupt) => return PluginErrorKind::Timeout { timeout_ms: limits.timeout_ms },
        Some(Trap::OutOfFuel) => return PluginErrorKind::OutOfFuel { fuel: limits.fuel.unwrap_or(0) },
        _ => {}
    }
    if memory_exceeded {
        return PluginErrorKind::MemoryExceeded { limit_mib: limits.memory_mib };
    }
    if let Some(message) = panic_message(output) {
        return PluginErrorKind::Panicked { message: guest_text(&message) };
    }
    // A trap's own description ("call stack exhausted", "integer divide by zero", …); the
    // error's outer context is only "error while executing at wasm backtrace:" and the frames.
    if let Some(trap) = error.downcast_ref::<Trap>() {
        let text = trap.to_string();
        let message = text.strip_prefix("wasm trap: ").unwrap_or(&text).to_owned();
        return PluginErrorKind::Trapped { message };
    }
    let text = format!("{error:#}");
    if text.contains("maximum concurrent limit") {
        return PluginErrorKind::Busy;
    }
    PluginErrorKind::Trapped { message: guest_text(text.lines().next().unwrap_or("trap")) }
}

/// Text that came from a guest, made fit for an error that reaches an HTTP `detail`, a notice, a
/// log line or a terminal: control characters (escape sequences, newlines, NUL) become spaces and
/// it is cut at [`DETAIL_TEXT_CAP`] characters, marked with `…`.
pub(crate) fn guest_text(text: &str) -> String {
    let cleaned: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    let cleaned = cleaned.trim();
    match cleaned.char_indices().nth(DETAIL_TEXT_CAP) {
        Some((end, _)) => format!("{}…", &cleaned[..end]),
        None => cleaned.to_owned(),
    }
}

/// The message of a Rust panic from the guest's stderr: the line after `panicked at <file>:`.
/// One guest call of any world in a fresh instance of its own store: the memory limiter, the
/// optional fuel, the wall-clock deadline (epoch ticks for running code, [`within_deadline`] for
/// a guest waiting in the host) and the classification of a failure. `instantiate` makes the
/// world's instance, `call` runs the export; `fuel_used` is set when the engine meters fuel.
/// Both worlds go through here, so every plugin call is bounded the same way.
pub(crate) async fn run_call<B, R>(
    engine: &wasmtime::Engine,
    state: CallState,
    limits: &PluginLimits,
    fuel_metered: bool,
    fuel_used: &mut Option<u64>,
    instantiate: impl AsyncFnOnce(&mut wasmtime::Store<CallState>) -> wasmtime::Result<B>,
    call: impl AsyncFnOnce(&mut wasmtime::Store<CallState>, &B) -> wasmtime::Result<R>,
) -> Result<R, PluginErrorKind> {
    let mut store = wasmtime::Store::new(engine, state);
    store.limiter(|state| &mut state.limiter);
    // Only on an engine that meters fuel: elsewhere the calls fail, and building their errors
    // (with a backtrace when RUST_BACKTRACE is set) cost microseconds per call.
    let initial_fuel = fuel_metered.then(|| limits.fuel.unwrap_or(u64::MAX));
    if let Some(fuel) = initial_fuel {
        store.set_fuel(fuel).map_err(|e| PluginErrorKind::Link { reason: e.to_string() })?;
    }
    // Check the clock on every epoch tick; yield to tokio in between so that a CPU-bound
    // plugin shares its worker thread until its time is up, then interrupt it.
    let deadline = std::time::Instant::now() + Duration::from_millis(limits.timeout_ms);
    store.set_epoch_deadline(1);
    // `tokio::task::yield_now` (rather than `Yield`, which wakes the task at once) lets the
    // worker poll its I/O driver before resuming the plugin, so other requests' I/O on this
    // thread is not held back by a spinning plugin (measured: /health 260 ms → a few ms).
    store.epoch_deadline_callback(move |_| {
        Ok(if std::time::Instant::now() >= deadline {
            wasmtime::UpdateDeadline::Interrupt
        } else {
            wasmtime::UpdateDeadline::YieldCustom(1, Box::pin(tokio::task::yield_now()))
        })
    });

    // Epochs stop running guest code; `within_deadline` also stops a guest waiting in the host.
    let run = async {
        match instantiate(&mut store).await {
            Ok(instance) => call(&mut store, &instance).await,
            Err(error) => Err(error),
        }
    };
    let Some(result) = within_deadline(deadline, run).await else {
        store.data_mut().flush_output();
        return Err(PluginErrorKind::Timeout { timeout_ms: limits.timeout_ms });
    };
    if let Some(start) = initial_fuel
        && let Ok(left) = store.get_fuel()
    {
        *fuel_used = Some(start - left.min(start));
    }
    let output = store.data_mut().flush_output();
    result.map_err(|error| {
        let exceeded = store.data().limiter.exceeded;
        classify(&error, limits, exceeded, &output)
    })
}

fn panic_message(output: &str) -> Option<String> {
    let start = output.find("panicked at ")?;
    let rest = &output[start..];
    let message = rest.lines().nth(1).map(str::trim).filter(|line| !line.is_empty());
    Some(truncate(message.unwrap_or(rest.lines().next().unwrap_or(rest)), LOG_TEXT_CAP).to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rust_panic_message_is_found_in_stderr() {
        let stderr = "\nthread '<unnamed>' panicked at src/lib.rs:12:5:\nfixture panic: the coupon table is on fire\nnote: run with `RUST_BACKTRACE=1`\n";
        assert_eq!(panic_message(stderr).as_deref(), Some("fixture panic: the coupon table is on fire"));
        assert_eq!(panic_message("just noise"), None);
    }

    /// Guards that `memory_mib` bounds a call's memories in total: two memories of 6.25 MiB each
    /// fit a per-memory limit of 8 MiB (the old check) but not the total.
    #[test]
    fn the_memory_limit_holds_across_all_memories_of_an_instance() {
        let engine = wasmtime::Engine::default();
        let two = wasmtime::Module::new(&engine, "(module (memory 100) (memory 100))").expect("module");
        let one = wasmtime::Module::new(&engine, "(module (memory 100) (memory 0))").expect("module");
        let instantiate = |module: &wasmtime::Module| {
            let mut store = wasmtime::Store::new(&engine, MemoryLimiter::new(8));
            store.limiter(|limiter| limiter);
            let result = wasmtime::Instance::new(&mut store, module, &[]);
            (result.is_ok(), store.data().exceeded)
        };

        assert_eq!(instantiate(&one), (true, false), "6.25 MiB in total fits 8 MiB");
        assert_eq!(instantiate(&two), (false, true), "12.5 MiB in total does not");
    }

    /// Guards that guest text in an error cannot inject escape sequences or lines into a 503
    /// `detail`, a log line or a terminal, and cannot make it arbitrarily long.
    #[test]
    fn guest_text_is_stripped_of_control_characters_and_capped() {
        assert_eq!(guest_text("\u{1b}[31mred\u{1b}[0m\nline\0"), "[31mred [0m line");
        let long = guest_text(&"é".repeat(10_000));
        assert_eq!(long.chars().count(), DETAIL_TEXT_CAP + 1);
        assert!(long.ends_with('…'));
    }

    #[test]
    fn truncation_respects_characters() {
        assert_eq!(truncate("₹₹₹", 2), "₹₹");
        assert_eq!(truncate("ab", 5), "ab");
    }
}
