//! Pricing: a cart through the configured chain of pricing plugins, with the money maths of the
//! shared `commerce-pipeline` crate (the same code the SDK's native test harness runs).
//!
//! The service is used by `POST /api/v1/admin/pricing/preview` now and by carts and checkout
//! later. Failure policy: a plugin that fails (trap, timeout, error, invalid output) fails
//! checkout closed with 503 `pricing_unavailable` naming the plugin, never a wrong price; a cart
//! read fails the same way unless the plugin is `on_error = "skip"`, in which case the rule is
//! left out and the priced cart says so in `notices`.

pub mod api;
pub mod cart_builder;
pub mod dto;
pub mod history;
pub mod model;
#[cfg(test)]
mod query_count_tests;

use std::{sync::Arc, time::Instant};

use commerce_pipeline::{Cart, PipelineError, PricedCart};

use crate::{
    config::OnError,
    metrics::Metrics,
    plugins::{PluginError, PluginRegistry, PluginSet},
};

/// Why the cart is priced: decides what a failing `on_error = "skip"` plugin does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Showing a cart: skippable rules may be skipped, with a notice.
    Display,
    /// Placing an order: every rule must answer.
    Checkout,
}

#[derive(Debug, thiserror::Error)]
pub enum PricingError {
    /// The cart itself is invalid (e.g. a line without quantity): the caller's fault.
    #[error(transparent)]
    InvalidCart(PipelineError),
    /// A plugin failed and no trustworthy price exists.
    #[error("pricing is unavailable: {0}")]
    Unavailable(PluginError),
}

pub struct PricingService {
    plugins: Arc<PluginRegistry>,
    metrics: Metrics,
}

impl PricingService {
    pub fn new(plugins: Arc<PluginRegistry>, metrics: Metrics) -> Self {
        Self { plugins, metrics }
    }

    pub fn plugins(&self) -> &Arc<PluginRegistry> {
        &self.plugins
    }

    /// Prices `cart` through the current chain.
    pub async fn price(&self, cart: &Cart, purpose: Purpose) -> Result<PricedCart, PricingError> {
        self.price_with(&self.plugins.current(), cart, purpose).await
    }

    /// Prices `cart` through `set`'s chain: the whole evaluation uses that one set even if a
    /// reload swaps the current one meanwhile, and the caller can say which set priced it.
    pub async fn price_with(&self, set: &PluginSet, cart: &Cart, purpose: Purpose) -> Result<PricedCart, PricingError> {
        let mut priced = PricedCart::new(cart).map_err(PricingError::InvalidCart)?;
        for plugin in &set.chain {
            let started = Instant::now();
            let result = plugin.price(&priced.view()).await;
            let elapsed = started.elapsed();
            let outcome = result.and_then(|output| {
                priced.apply(&plugin.name, output).map_err(|error| PluginError::invalid_output(&plugin.name, &error))
            });
            // Recorded here, where the outcome is final: an output the pipeline refuses is a
            // failed call, like a trap.
            plugin.stats.record(elapsed, outcome.is_ok());
            let label = outcome.as_ref().map_or_else(|e| e.kind.code(), |()| "ok");
            self.metrics.observe_plugin_call(&plugin.name, label, elapsed.as_secs_f64());
            if let Err(error) = outcome {
                tracing::warn!(plugin = %plugin.name, code = error.kind.code(), %error, "pricing plugin failed");
                if purpose == Purpose::Display && plugin.on_error == OnError::Skip {
                    priced.skip(&plugin.name, error.kind.to_string());
                    continue;
                }
                return Err(PricingError::Unavailable(error));
            }
        }
        Ok(priced)
    }
}
