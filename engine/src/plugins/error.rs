//! What can go wrong with a plugin, always naming it.

use std::fmt;

/// A plugin failed to load or to answer a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("plugin `{plugin}` {kind}")]
pub struct PluginError {
    /// The plugin's name (`[plugins.<name>]`), or the file name for `engine plugin check`.
    pub plugin: String,
    pub kind: PluginErrorKind,
}

impl PluginError {
    pub fn new(plugin: impl Into<String>, kind: PluginErrorKind) -> Self {
        Self { plugin: plugin.into(), kind }
    }

    /// The pipeline refused `plugin`'s output (it validates before applying anything).
    pub fn invalid_output(plugin: &str, error: &commerce_pipeline::PipelineError) -> Self {
        let text = error.to_string();
        let message = match text.strip_prefix(&format!("plugin `{plugin}` returned ")) {
            Some(rest) => rest.to_owned(),
            None => format!("an invalid result: {text}"),
        };
        Self::new(plugin, PluginErrorKind::InvalidOutput { message })
    }
}

/// Why; the `Display` text completes "plugin `x` …".
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PluginErrorKind {
    // --- at load (start-up, reload, `engine plugin check`) ---
    #[error("cannot read its module {path}: {reason}")]
    ModuleUnreadable { path: String, reason: String },
    #[error("module digest mismatch: sha256 is pinned to {expected} but the file's is {actual}")]
    DigestMismatch { expected: String, actual: String },
    #[error("is not a WebAssembly component ({reason}); build it with `--target wasm32-wasip2`")]
    NotAComponent { reason: String },
    #[error("was built for commerce:plugin@{found}, host supports {supported}")]
    UnsupportedVersion { found: String, supported: String },
    #[error("is not a {expected} plugin: {found}")]
    WrongWorld { expected: String, found: String },
    #[error("imports `{import}`, which plugins may not use ({why})")]
    ForbiddenImport { import: String, why: String },
    #[error("is a payment-gateway plugin, so it cannot be in [pricing] chain")]
    NotAPricingRule,
    #[error("rejected its settings: {message}")]
    SettingsRejected { message: String },
    #[error("could not be prepared: {reason}")]
    Link { reason: String },
    /// `plugin_runtime.cache_dir` is not safe to load native code from (reported for plugin `*`).
    #[error("{0}")]
    UntrustedCache(#[from] super::cache::UntrustedCache),

    // --- during a call ---
    #[error("timed out after {timeout_ms} ms")]
    Timeout { timeout_ms: u64 },
    #[error("ran out of fuel ({fuel} units)")]
    OutOfFuel { fuel: u64 },
    #[error("exceeded its memory limit of {limit_mib} MiB")]
    MemoryExceeded { limit_mib: u32 },
    #[error("panicked: {message}")]
    Panicked { message: String },
    #[error("trapped: {message}")]
    Trapped { message: String },
    #[error("failed: {message}")]
    Failed { message: String },
    /// `message` reads on from "returned", e.g. "an invalid adjustment #0 (…): …".
    #[error("returned {message}")]
    InvalidOutput { message: String },
    #[error("has no free instance slot (plugin_runtime.max_instances); retry shortly")]
    Busy,
}

impl PluginErrorKind {
    /// A stable machine-readable name, for logs, metrics and the admin API.
    pub fn code(&self) -> &'static str {
        match self {
            Self::ModuleUnreadable { .. } => "module_unreadable",
            Self::DigestMismatch { .. } => "digest_mismatch",
            Self::NotAComponent { .. } => "not_a_component",
            Self::UnsupportedVersion { .. } => "unsupported_version",
            Self::WrongWorld { .. } => "wrong_world",
            Self::ForbiddenImport { .. } => "forbidden_import",
            Self::NotAPricingRule => "not_a_pricing_rule",
            Self::SettingsRejected { .. } => "settings_rejected",
            Self::Link { .. } => "link_failed",
            Self::UntrustedCache(_) => "untrusted_cache",
            Self::Timeout { .. } => "timeout",
            Self::OutOfFuel { .. } => "out_of_fuel",
            Self::MemoryExceeded { .. } => "memory_exceeded",
            Self::Panicked { .. } => "panicked",
            Self::Trapped { .. } => "trapped",
            Self::Failed { .. } => "failed",
            Self::InvalidOutput { .. } => "invalid_output",
            Self::Busy => "busy",
        }
    }
}

/// Every plugin that failed to load, so one start-up attempt reports them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadError {
    pub errors: Vec<PluginError>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot load plugins:")?;
        for error in &self.errors {
            write!(f, "\n  - {error}")?;
        }
        Ok(())
    }
}

impl std::error::Error for LoadError {}

impl From<PluginError> for LoadError {
    fn from(error: PluginError) -> Self {
        Self { errors: vec![error] }
    }
}
