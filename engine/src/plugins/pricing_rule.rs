//! The `pricing-rule` world: bindings, host imports and the two calls (`validate-settings` at
//! load, `price` per evaluation), each in a fresh instance inside the sandbox.

use std::{sync::Arc, time::Instant};

use commerce_pipeline::{CartView, RuleOutput};
use wasmtime::{
    Engine, Store,
    component::{Component, HasSelf, Linker},
};

use super::{
    error::{PluginError, PluginErrorKind},
    sandbox::{CallState, guest_text, run_call},
};
use crate::config::PluginLimits;

pub(crate) mod bindings {
    wasmtime::component::bindgen!({
        world: "pricing-rule",
        path: "../sdk/wit",
        exports: { default: async },
    });
}

use bindings::commerce::plugin::{host, types as wit};

commerce_pipeline::impl_wit_conversions!(self::wit);

impl host::Host for CallState {
    fn log(&mut self, level: host::LogLevel, message: String, fields: Vec<(String, String)>) {
        let level = match level {
            host::LogLevel::Trace => tracing::Level::TRACE,
            host::LogLevel::Debug => tracing::Level::DEBUG,
            host::LogLevel::Info => tracing::Level::INFO,
            host::LogLevel::Warn => tracing::Level::WARN,
            host::LogLevel::Error => tracing::Level::ERROR,
        };
        CallState::log(self, level, &message, &fields);
    }

    fn settings(&mut self) -> String {
        self.settings.to_string()
    }
}

impl wit::Host for CallState {}

/// What one call cost.
#[derive(Debug, Clone, Copy)]
pub struct CallReport {
    pub elapsed: std::time::Duration,
    /// Fuel consumed, when the engine meters fuel.
    pub fuel_used: Option<u64>,
}

/// A compiled pricing rule, ready to instantiate per call.
pub struct PricingRulePlugin {
    name: Arc<str>,
    settings: Arc<str>,
    limits: PluginLimits,
    /// Whether the engine meters fuel (some plugin of the set asked for it).
    fuel_metered: bool,
    pre: bindings::PricingRulePre<CallState>,
}

impl PricingRulePlugin {
    /// Links `component` (already checked by [`super::inspect`]) against the host: our imports
    /// plus deny-all WASI.
    pub fn new(
        engine: &Engine,
        component: &Component,
        name: &str,
        settings: Arc<str>,
        limits: PluginLimits,
        fuel_metered: bool,
    ) -> Result<Self, PluginError> {
        let link = |e: wasmtime::Error| PluginError::new(name, PluginErrorKind::Link { reason: format!("{e:#}") });
        let mut linker = Linker::<CallState>::new(engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(link)?;
        bindings::PricingRule::add_to_linker::<_, HasSelf<_>>(&mut linker, |state| state).map_err(link)?;
        let pre = linker.instantiate_pre(component).map_err(link)?;
        let pre = bindings::PricingRulePre::new(pre).map_err(link)?;
        Ok(Self { name: name.into(), settings, limits, fuel_metered, pre })
    }

    /// `validate-settings` with the plugin's settings: at load, so bad settings stop start-up.
    pub async fn validate_settings(&self) -> Result<(), PluginError> {
        let settings = self.settings.to_string();
        let verdict = self
            .call(&mut None, async |store, rule| {
                rule.commerce_plugin_lifecycle().call_validate_settings(store, &settings).await
            })
            .await?;
        verdict.map_err(|message| self.error(PluginErrorKind::SettingsRejected { message: guest_text(&message) }))
    }

    /// Prices `cart` (as priced so far). The output is converted but not yet validated: the
    /// pipeline does that when it applies it.
    pub async fn price(&self, cart: &CartView) -> Result<RuleOutput, PluginError> {
        self.price_with_report(cart).await.0
    }

    /// [`Self::price`], plus what the call cost (for `engine plugin run`).
    pub async fn price_with_report(&self, cart: &CartView) -> (Result<RuleOutput, PluginError>, CallReport) {
        let started = Instant::now();
        let cart = wit::Cart::from(cart);
        let mut fuel_used = None;
        let output = self
            .call(&mut fuel_used, async |store, rule| rule.commerce_plugin_pricing().call_price(store, &cart).await)
            .await;
        let output = output.and_then(|o| {
            o.map(RuleOutput::from)
                .map_err(|message| self.error(PluginErrorKind::Failed { message: guest_text(&message) }))
        });
        (output, CallReport { elapsed: started.elapsed(), fuel_used })
    }

    fn error(&self, kind: PluginErrorKind) -> PluginError {
        PluginError::new(&*self.name, kind)
    }

    /// One call in a fresh instance (see `sandbox::run_call`).
    async fn call<R>(
        &self,
        fuel_used: &mut Option<u64>,
        f: impl AsyncFnOnce(&mut Store<CallState>, &bindings::PricingRule) -> wasmtime::Result<R>,
    ) -> Result<R, PluginError> {
        let state = CallState::new(self.name.clone(), self.settings.clone(), &self.limits);
        let instantiate = async |store: &mut Store<CallState>| self.pre.instantiate_async(store).await;
        run_call(self.pre.engine(), state, &self.limits, self.fuel_metered, fuel_used, instantiate, f)
            .await
            .map_err(|kind| self.error(kind))
    }
}
