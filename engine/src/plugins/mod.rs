//! The WebAssembly plugin host: loads the operator's `[plugins.*]` into a [`PluginSet`] and calls
//! them in a sandbox. Pricing rules are the first world implemented; payment gateways are
//! recognised and will run on the same host (see `sdk/wit/commerce-plugin.wit`).
//!
//! Pieces, each small:
//! - [`runtime`]: the one wasmtime `Engine` per process (pooling allocator, epoch ticker, fuel).
//! - [`cache`]: compiled components on disk, keyed by module digest and engine build, loaded
//!   only from a private directory and when the digest recorded on writing matches.
//! - [`inspect`]: what a component is (world, version, imports) and whether it may load.
//! - [`sandbox`]: the per-call store (deny-all WASI, memory limiter, capped logs and stderr) and
//!   how a failed call is classified.
//! - [`pricing_rule`]: the `pricing-rule` world's bindings and its two calls.
//! - [`payment_gateway`]: the `payment-gateway` world's bindings, its host imports and its calls.
//! - [`outbound`]: a gateway's outbound HTTP (the WIT `outbound-http` interface): allow-listed
//!   hosts, https only, no redirects, timeouts and a response-size cap.
//! - [`secrets`]: a gateway's configured secrets, used on its behalf (HMAC, authorization
//!   headers) and never handed to it: the host side of the WIT `secrets` interface.
//! - [`set`]: a loaded, immutable set of plugins and the registry that swaps it on reload.
//!
//! Invariants the host keeps (each has an end-to-end test with a hostile fixture):
//! - every call runs in a fresh instance, so no state leaks from one evaluation to the next and
//!   an instance that trapped is never used again;
//! - every call is bounded by its plugin's `timeout_ms` in wall time, host waits included (an
//!   epoch deadline for running code, yielding to tokio on each tick so a slow plugin never
//!   blocks other requests; a dropped call future for a guest waiting in the host), by
//!   `memory_mib` over all its memories and by optional `fuel`;
//! - every failure is a [`PluginError`] naming the plugin; nothing a plugin does can panic the
//!   engine or fail an unrelated request.

pub mod api;
pub mod cache;
mod error;
pub mod inspect;
pub mod outbound;
pub mod payment_gateway;
pub mod pricing_rule;
pub mod runtime;
mod sandbox;
pub mod secrets;
pub mod set;
pub mod tools;

pub use error::{LoadError, PluginError, PluginErrorKind};
pub use set::{LoadedPlugin, PluginRegistry, PluginSet, ReloadSource};
