//! `shipping`: a flat shipping rate, free at or above a threshold on the merchandise net.
//!
//! Settings (amounts in minor units):
//!
//! ```toml
//! [plugins.shipping.settings]
//! flat_rate = 4900   # ₹49.00, charged below the threshold; ≥ 0
//! free_at = 99900    # ₹999.00: free at or above it; ≥ 0, optional (absent: always the flat rate)
//! ```
//!
//! The threshold compares with the running `merchandise_net` the rule receives: the subtotal after
//! every discount before it in the chain, before shipping, fees and tax (so in a store whose prices
//! include tax, the tax inside them counts). Exactly `free_at` is free.
//!
//! - A cart without lines gets no adjustment: there is nothing to ship.
//! - Below the threshold: one shipping adjustment of `flat_rate`, labelled "Shipping".
//! - At or above it: a shipping adjustment of 0 labelled "Free shipping", so the priced cart tells
//!   the shopper why shipping costs nothing (likewise with a `flat_rate` of 0).
//!
//! A cart whose lines are all discounted to zero still has goods to ship and pays the flat rate.

use commerce_sdk::{Adjustment, CartView, PricingRule, RuleOutput};
use serde::Deserialize;

/// The rule.
pub struct Shipping;

/// The operator's rates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The charge below the threshold, in minor units; never negative.
    pub flat_rate: i64,
    /// Merchandise net from which shipping is free, in minor units; `None`: never free.
    #[serde(default)]
    pub free_at: Option<i64>,
}

impl PricingRule for Shipping {
    type Settings = Settings;

    fn validate_settings(settings: &Settings) -> Result<(), String> {
        let mut problems = Vec::new();
        if settings.flat_rate < 0 {
            problems.push(format!("flat_rate is {}, must not be negative", settings.flat_rate));
        }
        if let Some(free_at) = settings.free_at
            && free_at < 0
        {
            problems.push(format!("free_at is {free_at}, must not be negative"));
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
    }

    fn price(settings: &Settings, cart: &CartView) -> Result<RuleOutput, String> {
        if cart.lines.is_empty() {
            return Ok(RuleOutput::default());
        }
        let free = settings.flat_rate == 0 || settings.free_at.is_some_and(|free_at| cart.merchandise_net >= free_at);
        let adjustment = if free {
            Adjustment::shipping(0, "Free shipping")
        } else {
            Adjustment::shipping(settings.flat_rate, "Shipping")
        };
        Ok(RuleOutput { adjustments: vec![adjustment], coupons: vec![] })
    }
}

commerce_sdk::export_pricing_rule!(Shipping);

#[cfg(test)]
mod tests;
