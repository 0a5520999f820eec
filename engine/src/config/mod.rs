//! Configuration: typed settings, layered with figment (built-in defaults → file → environment).
//!
//! Loading and error reporting live in [`load`]; semantic checks in [`validate`]. Secrets are
//! `secrecy` types and serialize as `[redacted]`, so `engine config check` and logs can never
//! print them.

mod load;
mod serde_helpers;
mod validate;

use std::{collections::BTreeMap, net::SocketAddr, path::PathBuf, time::Duration};

use commerce_pipeline::Currency;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

pub use load::{ConfigError, load, load_from_str};
use serde_helpers::{duration, redacted, redacted_map, redacted_option, redacted_url};

/// The built-in defaults: `config/default.toml`, compiled in so there is one source of truth.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    pub environment: Environment,
    pub server: ServerConfig,
    pub database: DatabaseConfig,
    pub auth: AuthConfig,
    pub mail: MailConfig,
    pub store: StoreConfig,
    pub catalog: CatalogConfig,
    pub carts: CartsConfig,
    pub orders: OrdersConfig,
    pub payments: PaymentsConfig,
    pub jobs: JobsConfig,
    pub log: LogConfig,
    pub plugin_runtime: PluginRuntimeConfig,
    pub pricing: PricingConfig,
    /// `[plugins.<name>]`: every plugin the engine loads, by name (`[a-z0-9_]`, so that
    /// `COMMERCE_PLUGINS__<NAME>__…` environment overrides reach it).
    #[serde(default)]
    pub plugins: BTreeMap<String, PluginConfig>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Environment {
    Development,
    Production,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ServerConfig {
    pub bind: SocketAddr,
    pub body_limit: usize,
    #[serde(with = "duration")]
    pub shutdown_timeout: Duration,
    /// Reverse proxies (CIDRs) whose `X-Forwarded-For` entries are believed: the client address
    /// is the right-most entry not in this list. Empty: the TCP peer, the header ignored.
    pub trusted_proxies: Vec<String>,
    /// Replaced by `trusted_proxies`; present only so that a configuration still setting it is
    /// refused with a message naming the new key (instead of "unknown key").
    #[serde(default, skip_serializing)]
    pub trust_forwarded_for: Option<bool>,
    /// Who may read `/metrics`.
    pub metrics: MetricsAccess,
    /// The bearer token `/metrics` wants when `metrics = "token"`.
    #[serde(with = "redacted")]
    pub metrics_token: SecretString,
    pub cors: CorsConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MetricsAccess {
    /// Anyone who reaches the port (the default, as before).
    Public,
    /// Only with `Authorization: Bearer <server.metrics_token>`.
    Token,
    /// Not served: 404.
    Off,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CorsConfig {
    pub allowed_origins: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct DatabaseConfig {
    /// May hold a password, so it is a secret; `config check` shows it with the password masked.
    #[serde(with = "redacted_url")]
    pub url: SecretString,
    pub max_connections: u32,
    #[serde(with = "duration")]
    pub acquire_timeout: Duration,
    pub auto_migrate: bool,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct AuthConfig {
    /// `None` in development: a random secret is generated once and kept in the database.
    #[serde(default, with = "redacted_option", skip_serializing_if = "Option::is_none")]
    pub jwt_secret: Option<SecretString>,
    pub issuer: String,
    pub audience: String,
    #[serde(with = "duration")]
    pub access_ttl: Duration,
    #[serde(with = "duration")]
    pub refresh_ttl: Duration,
    #[serde(with = "duration")]
    pub leeway: Duration,
    #[serde(with = "duration")]
    pub password_reset_ttl: Duration,
    pub password_reset_url: String,
    pub max_concurrent_hashes: usize,
    pub argon2: Argon2Config,
    pub throttle: ThrottleConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Argon2Config {
    pub memory_kib: u32,
    pub iterations: u32,
    pub parallelism: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct ThrottleConfig {
    #[serde(with = "duration")]
    pub window: Duration,
    /// Failed logins of one account before each further attempt waits a back-off.
    pub max_failures_per_account: u32,
    /// Longest back-off of an account (the wait doubles from 1 s up to this).
    #[serde(with = "duration")]
    pub max_backoff: Duration,
    /// Failed logins from one client address per window before it gets 429.
    pub max_failures_per_address: u32,
    /// Registrations from one client address per window.
    pub max_registrations_per_address: u32,
    /// Password-reset confirmations from one client address per window.
    pub max_reset_confirms_per_address: u32,
    /// Password-reset requests per email per window (beyond it: 202, nothing sent).
    pub max_reset_requests_per_email: u32,
    /// Password-reset requests from one client address per window (beyond it: 202, nothing sent).
    pub max_reset_requests_per_address: u32,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct MailConfig {
    pub from: String,
    pub transport: MailTransportKind,
    pub file_dir: PathBuf,
    pub max_attempts: u32,
    pub smtp: SmtpConfig,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailTransportKind {
    Log,
    File,
    Smtp,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    pub host: String,
    pub port: u16,
    pub security: SmtpSecurity,
    pub username: String,
    #[serde(with = "redacted")]
    pub password: SecretString,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SmtpSecurity {
    Starttls,
    Tls,
    None,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct StoreConfig {
    /// ISO 4217 code, parsed when the configuration loads: a bad code is a configuration error
    /// naming `store.currency`, so nothing after start-up handles an invalid currency.
    pub currency: Currency,
    /// ISO 3166-1 alpha-2 country the store ships from (handed to pricing plugins).
    pub origin_country: String,
    /// Region (state) the store ships from, e.g. `KA`; tax rules compare it with the shipping
    /// region (Indian GST: same region → CGST + SGST).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_region: Option<String>,
    /// Whether catalogue prices already include tax.
    pub prices_include_tax: bool,
    /// The storefront page of an order, linked from order mails: `{id}`, and `{token}` for a
    /// guest's order token (empty for a customer).
    pub order_url: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// The longest a cached storefront answer is kept (a safety net: changes the engine makes
    /// invalidate it at once on every instance). Zero turns the cache off.
    #[serde(with = "duration")]
    pub cache_ttl: Duration,
    /// Most bytes of rendered storefront answers kept in memory.
    pub cache_max_bytes: u64,
}

/// `[carts]`: limits of a shopper's cart and how long an idle one is kept.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CartsConfig {
    /// A cart not changed for this long is deleted by the `cart_cleanup` job.
    #[serde(with = "duration")]
    pub ttl: Duration,
    /// Most lines (distinct variants) on one cart.
    pub max_lines: usize,
    /// Most units of one variant on one cart.
    pub max_line_quantity: u32,
    /// How long a priced cart may be answered from this instance's memory while nothing it
    /// depends on changed here (see `carts::service::cache`); `0s` turns it off.
    #[serde(with = "duration")]
    pub priced_cache_ttl: Duration,
    /// Most priced carts kept in memory.
    pub priced_cache_entries: usize,
}

/// `[orders]`: how many unpaid orders one shopper may hold, and how long one waits for payment.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct OrdersConfig {
    /// Most `pending_payment` orders per customer or guest email.
    pub max_unpaid: u32,
    /// An unpaid order (not `manual`) is cancelled this long after checkout.
    #[serde(with = "duration")]
    pub payment_timeout: Duration,
}

/// `[payments]`: the providers checkout accepts.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PaymentsConfig {
    /// Provider names checkout accepts, e.g. `["manual", "razorpay"]`: each a `payment-gateway`
    /// plugin configured as `[plugins.<name>]` (plugins/manual, plugins/razorpay).
    pub providers: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct JobsConfig {
    pub enabled: bool,
    #[serde(with = "duration")]
    pub poll_interval: Duration,
    #[serde(with = "duration")]
    pub lease: Duration,
}

/// The one wasmtime engine this process runs plugins on (not reloadable: a change needs a
/// restart).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PluginRuntimeConfig {
    /// Pre-allocate instance slots (fast instantiation, the default) instead of allocating
    /// each instance on demand.
    pub pooling: bool,
    /// Plugin instances alive at once on this instance (pool size); a call beyond it fails
    /// with 503 rather than queueing without bound.
    pub max_instances: u32,
    /// Largest `limits.memory_mib` any plugin may ask for (the size of a pool slot).
    pub max_memory_mib: u32,
    /// Where compiled plugins are cached (keyed by module digest and engine build). Empty:
    /// `data/plugin-cache`, relative to the working directory. The engine runs the native code
    /// it finds there, so it creates it `0700` and refuses it when another user owns it or group
    /// or others may write to it (`plugins::cache`).
    pub cache_dir: PathBuf,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PricingConfig {
    /// Pricing plugins in the order they run; each sees the cart as priced by those before.
    pub chain: Vec<String>,
}

/// `[plugins.<name>]`: one WebAssembly plugin and what it may do.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct PluginConfig {
    /// The component (`.wasm`). A relative path is relative to the config file that names it
    /// (resolved at load, so this holds the absolute path afterwards).
    pub module: PathBuf,
    /// Optional pin: the module's SHA-256 in hex; a different file refuses to load.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Handed to the plugin as JSON (its `settings` import and `validate-settings`).
    #[serde(default)]
    pub settings: serde_json::Map<String, serde_json::Value>,
    /// Values the host keeps and uses on the plugin's behalf (gateways sign and authenticate by
    /// secret name); never handed to the plugin, never logged. Set them from the environment:
    /// `COMMERCE_PLUGINS__<NAME>__SECRETS__<KEY>`.
    #[serde(default, with = "redacted_map")]
    pub secrets: BTreeMap<String, SecretString>,
    #[serde(default)]
    pub limits: PluginLimits,
    #[serde(default)]
    pub on_error: OnError,
    /// Hosts a gateway plugin may call over HTTPS (pricing plugins get no network at all).
    #[serde(default)]
    pub allowed_hosts: Vec<String>,
    /// Timeouts and the response-size cap of a gateway's outbound requests.
    #[serde(default)]
    pub http: PluginHttp,
}

/// `[plugins.<name>.http]`: bounds of each outbound request of a gateway plugin. The whole guest
/// call stays bounded by `limits.timeout_ms` (waits included), so `timeout` should be below it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginHttp {
    /// Establishing the connection (DNS, TCP, TLS).
    #[serde(with = "duration")]
    pub connect_timeout: Duration,
    /// One request, from connecting until the last byte of the response body.
    #[serde(with = "duration")]
    pub timeout: Duration,
    /// A longer response body fails the request (`too-large`) instead of filling memory.
    pub max_response_bytes: usize,
}

impl Default for PluginHttp {
    fn default() -> Self {
        Self { connect_timeout: Duration::from_secs(5), timeout: Duration::from_secs(10), max_response_bytes: 1 << 20 }
    }
}

/// What one call of a plugin may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct PluginLimits {
    /// Wall-clock bound of one guest call, instantiation and host waits included: a guest
    /// waiting in the host is abandoned at it as a running one is interrupted.
    pub timeout_ms: u64,
    /// Linear memory the plugin may grow to, all memories of the call's instance together.
    pub memory_mib: u32,
    /// Optional instruction budget (wasmtime fuel) of one call: deterministic, unlike time.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fuel: Option<u64>,
}

impl Default for PluginLimits {
    fn default() -> Self {
        Self { timeout_ms: 100, memory_mib: 16, fuel: None }
    }
}

/// What a failing pricing plugin does to a cart read (checkout always fails closed).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum OnError {
    /// The read fails with 503 `pricing_unavailable`, naming the plugin.
    #[default]
    Fail,
    /// The read goes on without the rule and lists it in the priced cart's `notices`.
    Skip,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct LogConfig {
    pub format: LogFormat,
    pub level: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    Pretty,
    Json,
}

impl Config {
    /// The effective configuration as TOML, secrets redacted (for `engine config check`).
    pub fn to_redacted_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_else(|e| format!("# cannot render: {e}"))
    }

    pub fn is_production(&self) -> bool {
        self.environment == Environment::Production
    }
}
