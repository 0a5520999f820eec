//! Configuration: typed settings, layered with figment (built-in defaults → file → environment).
//!
//! Loading and error reporting live in [`load`]; semantic checks in [`validate`]. Secrets are
//! `secrecy` types and serialize as `[redacted]`, so `engine config check` and logs can never
//! print them.

mod load;
mod serde_helpers;
mod validate;

use std::{net::SocketAddr, path::PathBuf, time::Duration};

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

pub use load::{ConfigError, load, load_from_str};
use serde_helpers::{duration, redacted, redacted_url};

/// The built-in defaults: `config/default.toml`, compiled in so there is one source of truth.
pub const DEFAULT_TOML: &str = include_str!("../../../config/default.toml");

/// The development JWT secret shipped in `default.toml`; refused in production.
pub const DEVELOPMENT_JWT_SECRET: &str = "development-only-jwt-secret-do-not-use-in-production";

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
    pub jobs: JobsConfig,
    pub log: LogConfig,
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
    pub trust_forwarded_for: bool,
    pub cors: CorsConfig,
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
    #[serde(with = "redacted")]
    pub jwt_secret: SecretString,
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
    pub max_failures_per_account: u32,
    pub max_failures_per_address: u32,
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
    pub currency: String,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct CatalogConfig {
    /// How long a storefront product-list page may be served from this instance's memory.
    #[serde(with = "duration")]
    pub list_cache_ttl: Duration,
    /// Most list pages kept in memory.
    pub list_cache_entries: usize,
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
