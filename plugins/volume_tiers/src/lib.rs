//! `volume_tiers`: per line, a percentage of the line's subtotal chosen by its quantity.
//!
//! Settings: `{"tiers": [{"min_quantity": 5, "basis_points": 500}, {"min_quantity": 10,
//! "basis_points": 1000}]}`. A line gets the tier with the highest `min_quantity` it reaches; the
//! discount is rounded once per line (half away from zero) and never exceeds the line's running
//! net, so the rule stays valid wherever it sits in the chain.

use commerce_sdk::{Adjustment, BASIS_POINTS_PER_WHOLE, CartView, PricingRule, RuleOutput, percent_of};
use serde::Deserialize;

/// The rule.
pub struct VolumeTiers;

/// The operator's tier table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Tiers by strictly increasing `min_quantity`.
    pub tiers: Vec<Tier>,
}

/// One threshold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tier {
    /// Lines with at least this many units get this tier; at least 1.
    pub min_quantity: u32,
    /// Discount in basis points of the line's subtotal, at most 10 000.
    pub basis_points: u32,
}

impl Settings {
    /// The tier a line of `quantity` units reaches, if any.
    fn tier_for(&self, quantity: u32) -> Option<&Tier> {
        self.tiers.iter().rev().find(|tier| quantity >= tier.min_quantity)
    }
}

impl PricingRule for VolumeTiers {
    type Settings = Settings;

    fn validate_settings(settings: &Settings) -> Result<(), String> {
        if settings.tiers.is_empty() {
            return Err("tiers: the table is empty; list at least one tier".to_owned());
        }
        for (index, tier) in settings.tiers.iter().enumerate() {
            if tier.min_quantity == 0 {
                return Err(format!("tiers[{index}].min_quantity must be at least 1"));
            }
            if tier.basis_points > BASIS_POINTS_PER_WHOLE {
                return Err(format!(
                    "tiers[{index}].basis_points is {}, above {BASIS_POINTS_PER_WHOLE} (100%)",
                    tier.basis_points
                ));
            }
            if let Some(previous) = index.checked_sub(1).map(|i| settings.tiers[i])
                && tier.min_quantity <= previous.min_quantity
            {
                return Err(format!(
                    "tiers[{index}].min_quantity ({}) must be above tiers[{}].min_quantity ({}): \
                     list tiers by increasing quantity, each threshold once",
                    tier.min_quantity,
                    index - 1,
                    previous.min_quantity
                ));
            }
        }
        Ok(())
    }

    fn price(settings: &Settings, cart: &CartView) -> Result<RuleOutput, String> {
        let mut output = RuleOutput::default();
        for line in &cart.lines {
            let Some(tier) = settings.tier_for(line.quantity) else { continue };
            let amount = percent_of(line.subtotal, tier.basis_points).map_err(|e| e.to_string())?.min(line.net);
            if amount > 0 {
                let label = format!(
                    "{} off for {} or more",
                    commerce_sdk::format_basis_points(tier.basis_points),
                    tier.min_quantity
                );
                output.adjustments.push(Adjustment::line_discount(&line.line_id, amount, label));
            }
        }
        Ok(output)
    }
}

commerce_sdk::export_pricing_rule!(VolumeTiers);

#[cfg(test)]
mod tests;
