//! `tax`: a tax on each line's net, by category, exclusive or inclusive, with the Indian GST split.
//!
//! Settings (rates in basis points: 1800 = 18 %):
//!
//! ```toml
//! [plugins.tax.settings]
//! default_basis_points = 1800      # every line without a listed category; ≤ 10000
//! mode = "exclusive"               # "exclusive" | "inclusive"; optional, see below
//! categories = { books = 0 }       # category slug → rate, for the category and its descendants
//! gst = { enabled = true }         # report CGST + SGST or IGST; optional, off by default
//! label = "GST"                    # optional: "GST" when the split is on, "Tax" otherwise
//! ```
//!
//! **Rate.** A line's rate is that of its own category if listed, else of its nearest listed
//! ancestor, else `default_basis_points`: with `{books = 0, crime = 500}` a line in
//! books › fiction › crime is taxed 5 %, one in books › fiction 0 %.
//!
//! **Amount.** Per line, on the line's net after every discount before this rule, rounded once per
//! line, half away from zero. In `exclusive` mode the tax is `net × rate / 10000` and is added to
//! the price. In `inclusive` mode the net already contains the tax, which is
//! `net × rate / (10000 + rate)`; it is reported (`inclusive`), not added. Without `mode` the rule
//! follows the store: `inclusive` when `store.prices_include_tax`, else `exclusive`. Shipping is not
//! taxed. Every line gets an adjustment, a 0 one for a 0 % rate, so an invoice can show the line as
//! zero-rated.
//!
//! **GST split.** With `gst.enabled`, each line's rounded tax carries a breakdown: CGST + SGST
//! (the first half rounded half away from zero, the second the rest) when the cart ships within
//! the store's country to its `origin_region`, IGST when it ships to another region or country.
//! Until the cart has a shipping address with a region, or when the store has no `origin_region`,
//! the place of supply is unknown: the tax is reported without a breakdown (the amount is the same
//! either way) and, for a store without an `origin_region`, a warning is logged.
//!
//! Labels read "GST 18%", or "GST 18% (included)" in inclusive mode.

use std::collections::BTreeMap;

use commerce_sdk::{
    Adjustment, BASIS_POINTS_PER_WHOLE, CartView, Level, LineView, PricingRule, RuleOutput, Target, TaxComponent,
    gst_breakdown, percent_of,
};
use serde::Deserialize;

/// The rule.
pub struct Tax;

/// Whether prices contain the tax.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mode {
    /// Tax is added on top of the net.
    Exclusive,
    /// Tax is inside the net; reported, not added.
    Inclusive,
}

/// The Indian GST breakdown.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Gst {
    /// Report CGST + SGST within the store's region, IGST across regions.
    pub enabled: bool,
}

/// The operator's tax table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// Rate of a line with no listed category, in basis points.
    pub default_basis_points: u32,
    /// Exclusive or inclusive; `None` follows `store.prices_include_tax`.
    #[serde(default)]
    pub mode: Option<Mode>,
    /// Rates by category slug, applying to the category and its descendants.
    #[serde(default)]
    pub categories: BTreeMap<String, u32>,
    /// The GST split.
    #[serde(default)]
    pub gst: Gst,
    /// The tax's name in labels; defaults to "GST" with the split on, "Tax" otherwise.
    #[serde(default)]
    pub label: Option<String>,
}

impl Settings {
    /// The rate of `line`: its category's, its nearest listed ancestor's, or the default.
    fn rate_for(&self, line: &LineView) -> u32 {
        line.categories().find_map(|slug| self.categories.get(slug).copied()).unwrap_or(self.default_basis_points)
    }

    fn mode(&self, cart: &CartView) -> Mode {
        self.mode.unwrap_or(if cart.store.prices_include_tax { Mode::Inclusive } else { Mode::Exclusive })
    }

    fn name(&self) -> &str {
        match &self.label {
            Some(label) => label,
            None if self.gst.enabled => "GST",
            None => "Tax",
        }
    }
}

impl PricingRule for Tax {
    type Settings = Settings;

    fn validate_settings(settings: &Settings) -> Result<(), String> {
        let mut problems = Vec::new();
        let rate_problem = |key: &str, rate: u32| {
            (rate > BASIS_POINTS_PER_WHOLE).then(|| format!("{key} is {rate}, above {BASIS_POINTS_PER_WHOLE} (100%)"))
        };
        problems.extend(rate_problem("default_basis_points", settings.default_basis_points));
        for (slug, rate) in &settings.categories {
            if slug.trim().is_empty() || slug.trim() != slug {
                problems.push(format!("categories: {slug:?} is not a category slug (empty or padded with spaces)"));
            }
            problems.extend(rate_problem(&format!("categories.{slug}"), *rate));
        }
        if settings.label.as_deref().is_some_and(|label| label.trim().is_empty()) {
            problems.push("label is empty; leave it out for the default".to_owned());
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
    }

    fn price(settings: &Settings, cart: &CartView) -> Result<RuleOutput, String> {
        let mode = settings.mode(cart);
        let place = if settings.gst.enabled { place_of_supply(cart) } else { Place::NoBreakdown };
        let mut output = RuleOutput::default();
        for line in &cart.lines {
            let rate = settings.rate_for(line);
            let amount = match mode {
                Mode::Exclusive => percent_of(line.net, rate).map_err(|e| format!("line `{}`: {e}", line.line_id))?,
                Mode::Inclusive => tax_inside(line.net, rate),
            };
            let mut label = format!("{} {}", settings.name(), commerce_sdk::format_basis_points(rate));
            if mode == Mode::Inclusive {
                label.push_str(" (included)");
            }
            let mut adjustment = Adjustment::tax(Target::Line(line.line_id.clone()), amount, label)
                .with_breakdown(place.breakdown(amount));
            if mode == Mode::Inclusive {
                adjustment = adjustment.inclusive();
            }
            output.adjustments.push(adjustment);
        }
        Ok(output)
    }
}

commerce_sdk::export_pricing_rule!(Tax);

/// Where the supply goes, for the GST breakdown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Place {
    /// Same country and region as the store: CGST + SGST.
    IntraState,
    /// Another region or country: IGST.
    InterState,
    /// Unknown, or no split wanted.
    NoBreakdown,
}

impl Place {
    fn breakdown(self, tax: i64) -> Vec<TaxComponent> {
        match self {
            Place::IntraState => gst_breakdown(tax, true),
            Place::InterState => gst_breakdown(tax, false),
            Place::NoBreakdown => Vec::new(),
        }
    }
}

fn place_of_supply(cart: &CartView) -> Place {
    let Some(origin) = cart.store.origin_region.as_deref().map(str::trim).filter(|r| !r.is_empty()) else {
        commerce_sdk::log(
            Level::Warn,
            "GST split is enabled but the store has no origin_region; reporting tax without CGST/SGST/IGST",
            &[],
        );
        return Place::NoBreakdown;
    };
    let Some(address) = &cart.shipping else { return Place::NoBreakdown };
    let Some(region) = address.region.as_deref().map(str::trim).filter(|r| !r.is_empty()) else {
        return Place::NoBreakdown;
    };
    let same_country = address.country.trim().eq_ignore_ascii_case(cart.store.origin_country.trim());
    if same_country && region.eq_ignore_ascii_case(origin) { Place::IntraState } else { Place::InterState }
}

/// The tax contained in `net` at `rate` basis points: `net × rate / (10000 + rate)`, rounded half
/// away from zero. Exact in `i128`; the result is at most `|net|`, so it fits back into `i64`.
fn tax_inside(net: i64, rate: u32) -> i64 {
    let numerator = i128::from(net) * i128::from(rate);
    let denominator = i128::from(BASIS_POINTS_PER_WHOLE) + i128::from(rate);
    let quotient = numerator / denominator;
    let remainder = numerator % denominator;
    let rounded = if 2 * remainder.abs() >= denominator { quotient + numerator.signum() } else { quotient };
    i64::try_from(rounded).unwrap_or(net)
}

#[cfg(test)]
mod tests;
