//! The trait a pricing rule implements, and the glue between it and the component exports.

use std::rc::Rc;

use commerce_pipeline::{CartView, RuleOutput};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::bindings::commerce::plugin::types as wit;
use crate::host::{Host, with_host};

/// A pricing rule: given the cart as priced by the rules before it, the adjustments and coupon
/// verdicts it adds.
///
/// Rules are plain functions of their settings and the cart: no state survives from one call to
/// the next (the engine prices each cart in a fresh instance), and there is no clock, network or
/// randomness (`cart.now` is the time). Return `Err` only when the rule cannot price at all: the
/// engine then fails checkout closed, naming the plugin.
pub trait PricingRule {
    /// The operator's `[plugins.<name>.settings]` table, parsed from JSON with serde. Use
    /// `#[serde(deny_unknown_fields)]` so a typo stops start-up instead of being ignored, and
    /// [`NoSettings`] for a rule without settings.
    type Settings: DeserializeOwned;

    /// Checks what serde cannot (order, ranges, duplicates). The engine calls it at load, so an
    /// error here stops start-up (or a reload) with the message, naming the plugin.
    fn validate_settings(settings: &Self::Settings) -> Result<(), String> {
        let _ = settings;
        Ok(())
    }

    /// Prices `cart`. Amounts are minor units; percentages basis points ([`crate::percent_of`]
    /// rounds half away from zero). The host validates the output and refuses all of it if one
    /// adjustment or verdict is invalid.
    fn price(settings: &Self::Settings, cart: &CartView) -> Result<RuleOutput, String>;
}

/// Settings of a rule that has none: accepts `{}` (and refuses anything else).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NoSettings {}

/// Parses settings JSON into `R::Settings` and validates them, exactly as the engine does at load.
pub fn parse_settings<R: PricingRule>(json: &str) -> Result<R::Settings, String> {
    parse_validated(json, R::validate_settings)
}

/// Settings parsing shared by rules and gateways, so both report a bad table in the same words.
pub(crate) fn parse_validated<S: DeserializeOwned>(
    json: &str,
    validate: impl FnOnce(&S) -> Result<(), String>,
) -> Result<S, String> {
    let settings: S = serde_json::from_str(json).map_err(|e| format!("invalid settings: {e}"))?;
    validate(&settings)?;
    Ok(settings)
}

/// The `validate-settings` export.
pub fn validate_settings_export<R: PricingRule>(json: &str) -> Result<(), String> {
    parse_settings::<R>(json).map(drop)
}

/// The `price` export: settings from the host, the cart from WIT, the output back to WIT. The
/// native test harness calls it too, with its double as the host, so both paths share the
/// conversions.
pub fn price_export<R: PricingRule>(host: Rc<dyn Host>, cart: wit::Cart) -> Result<wit::RuleOutput, String> {
    with_host(Rc::clone(&host), || {
        let settings = parse_settings::<R>(&host.settings())?;
        let view = CartView::try_from(cart).map_err(|e| format!("the host sent an invalid cart: {e}"))?;
        R::price(&settings, &view).map(wit::RuleOutput::from)
    })
}
