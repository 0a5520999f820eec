//! `/api/v1/admin/plugins*`: what this instance runs, and hot reload.

use std::sync::{Arc, atomic::Ordering};

use poem_openapi::{Object, OpenApi, Tags, payload::Json};

use super::{LoadedPlugin, PluginRegistry, PluginSet, set::ReloadError};
use crate::{
    accounts::AccountService,
    http::{
        nullable::Nullable,
        problem::{ApiError, FieldError},
        security::BearerAuth,
    },
};

#[derive(Tags)]
enum PluginTags {
    /// WebAssembly plugins loaded by this instance, and hot reload.
    #[oai(rename = "Admin · Plugins")]
    AdminPlugins,
}

pub struct AdminPluginsApi {
    pub accounts: Arc<AccountService>,
    pub plugins: Arc<PluginRegistry>,
}

/// The plugin set this instance runs.
#[derive(Object)]
pub struct PluginSetView {
    /// A digest of modules, settings, limits and chain: instances showing different versions run
    /// different plugins.
    version: String,
    /// Sets this process has loaded (1 = the one from start-up).
    generation: u64,
    /// When this set was loaded (RFC 3339).
    loaded_at: String,
    /// `[pricing] chain`, in order.
    pricing_chain: Vec<String>,
    plugins: Vec<PluginView>,
}

/// One loaded plugin.
#[derive(Object)]
pub struct PluginView {
    name: String,
    /// `pricing-rule` or `payment-gateway`.
    world: String,
    /// The `commerce:plugin` version it was built for.
    version: String,
    module: String,
    /// SHA-256 of the module file.
    sha256: String,
    size_bytes: u64,
    /// `fresh` (compiled at load) or `cached` (from `plugin_runtime.cache_dir`).
    compiled: String,
    limits: LimitsView,
    /// `fail` or `skip`.
    on_error: String,
    /// Calls since this set was loaded, and how many failed.
    calls: u64,
    failures: u64,
    /// Call time percentiles over the recent calls (microseconds); null before the first call.
    p50_us: Nullable<u64>,
    p99_us: Nullable<u64>,
}

#[derive(Object)]
pub struct LimitsView {
    timeout_ms: u64,
    memory_mib: u32,
    /// Null when fuel metering is off.
    fuel: Nullable<u64>,
}

impl PluginSetView {
    fn of(set: &PluginSet) -> Self {
        Self {
            version: set.version.clone(),
            generation: set.generation,
            loaded_at: crate::clock::from_millis(set.loaded_at).to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            pricing_chain: set.chain.iter().map(|p| p.name.clone()).collect(),
            plugins: set.plugins.values().map(|p| PluginView::of(p)).collect(),
        }
    }
}

impl PluginView {
    fn of(plugin: &LoadedPlugin) -> Self {
        let percentiles = plugin.stats.percentiles_micros();
        Self {
            name: plugin.name.clone(),
            world: plugin.world.as_str().to_owned(),
            version: plugin.version.clone(),
            module: plugin.module.display().to_string(),
            sha256: plugin.sha256.clone(),
            size_bytes: plugin.size_bytes,
            compiled: format!("{:?}", plugin.compiled).to_lowercase(),
            limits: LimitsView {
                timeout_ms: plugin.limits.timeout_ms,
                memory_mib: plugin.limits.memory_mib,
                fuel: plugin.limits.fuel.into(),
            },
            on_error: format!("{:?}", plugin.on_error).to_lowercase(),
            calls: plugin.stats.calls.load(Ordering::Relaxed),
            failures: plugin.stats.failures.load(Ordering::Relaxed),
            p50_us: percentiles.map(|p| p.0).into(),
            p99_us: percentiles.map(|p| p.1).into(),
        }
    }
}

#[OpenApi(prefix_path = "/api/v1/admin/plugins", tag = "PluginTags::AdminPlugins")]
impl AdminPluginsApi {
    /// Loaded plugins
    ///
    /// Each plugin with its world and version, module digest, limits, calls, failures and recent
    /// p50/p99 call time, and the plugin set's version (compare it across instances).
    #[oai(path = "/", method = "get", operation_id = "adminListPlugins")]
    async fn list(&self, auth: BearerAuth) -> Result<Json<PluginSetView>, ApiError> {
        self.accounts.authenticate_staff(auth.token()).await?;
        Ok(Json(PluginSetView::of(&self.plugins.current())))
    }

    /// Reload plugins
    ///
    /// Re-reads the plugin sections of the configuration (`[plugins.*]`, `[pricing]`) and the
    /// modules, compiles off the request path, and swaps the new set in atomically on this
    /// instance: requests in flight finish on the old set. If anything fails the old set stays
    /// and the answer is 422 `plugin_load_failed` with one entry per problem. `SIGHUP` does the
    /// same.
    #[oai(path = "/reload", method = "post", operation_id = "adminReloadPlugins")]
    async fn reload(&self, auth: BearerAuth) -> Result<Json<PluginSetView>, ApiError> {
        let caller = self.accounts.authenticate_staff(auth.token()).await?;
        tracing::info!(by = %caller.user_id, "plugin reload requested");
        match self.plugins.reload().await {
            Ok(set) => Ok(Json(PluginSetView::of(&set))),
            Err(error) => Err(reload_failed(&error)),
        }
    }
}

/// 422 `plugin_load_failed`, one entry per problem, naming the plugin or config key.
pub fn reload_failed(error: &ReloadError) -> ApiError {
    let errors: Vec<FieldError> = match error {
        ReloadError::Config(config) => {
            config.problems.iter().map(|p| FieldError { field: "config".into(), message: p.clone() }).collect()
        }
        ReloadError::Load(load) => load
            .errors
            .iter()
            .map(|e| FieldError { field: format!("plugins.{}", e.plugin), message: e.to_string() })
            .collect(),
    };
    tracing::warn!(%error, "plugin reload failed; the previous set stays in service");
    ApiError::plugin_load_failed(format!("reload failed, the previous plugin set stays in service: {error}"), errors)
}
