//! `coupons`: coupon codes worth a percentage or a fixed amount off, with a minimum spend, a
//! validity window, eligible categories and usage limits.
//!
//! Settings, one entry per code (amounts in minor units, percentages in basis points):
//!
//! ```toml
//! [plugins.coupons.settings]
//! codes = [
//!   { code = "WELCOME10", basis_points = 1000, min_subtotal = 50000 },
//!   { code = "FLAT200", amount = 20000, min_subtotal = 150000 },
//! ]
//! ```
//!
//! Every key of a code, written as one table per code:
//!
//! ```toml
//! [[plugins.coupons.settings.codes]]
//! code = "BOOKS15"             # what the shopper types, compared ignoring case; unique ignoring case
//! basis_points = 1500          # 1..=10000 off, or `amount = 20000` (> 0) off: exactly one of the two
//! min_subtotal = 100000        # minimum running net of the whole cart; optional, default 0
//! starts_at = 1767225600000    # Unix ms, first valid moment; optional
//! ends_at = 1769904000000      # Unix ms, first moment no longer valid; optional, after starts_at
//! categories = ["books"]       # only lines in these categories or below them; optional, default all
//! max_redemptions = 500        # redemptions by everyone; optional
//! max_per_customer = 1         # redemptions by this customer; optional
//! first_order_only = true      # only for a customer with no earlier order; optional, default false
//! ```
//!
//! **Order.** Codes apply in the order the shopper added them, each on the *running net*: the
//! subtotal less every discount so far, including the codes before it. So a minimum is checked
//! against what is left after earlier rules and earlier codes, and two percentage codes compound.
//!
//! **Amounts.** A percentage of the whole cart is one cart discount, rounded once (half away from
//! zero), which the host spreads over the lines. A code limited to `categories` takes its
//! percentage of the eligible lines' running net, rounded once, and spreads it over those lines
//! itself (largest remainder, as the host does) as line discounts. A fixed amount never exceeds
//! the running net it applies to; it is capped there. A percentage that rounds to nothing (10 % of
//! 4 paise) is accepted without an adjustment.
//!
//! **Verdicts.** One per distinct code in the cart. A code not in the settings is rejected
//! `coupon_unknown`; another coupon rule later in the chain may still know it. A known code is
//! rejected `coupon_ineligible`, with a sentence for the shopper, when: the window has not started
//! or is over (`starts_at ≤ now < ends_at`, `now` from the host); `max_redemptions` is reached;
//! `first_order_only` and the customer has earlier orders; `max_per_customer` is reached; no line
//! is in `categories`; the running net is below `min_subtotal`; or nothing is left to discount.
//! Guests: the host reports 0 earlier orders and 0 redemptions by a guest, so a guest passes
//! `first_order_only` and `max_per_customer`; only `max_redemptions` limits guests. A code an
//! earlier rule already accepted, or one entered twice (the cart model refuses that anyway), gets
//! no second verdict and no second discount.
//!
//! Adjustments carry the code as configured and a label such as "10% off with WELCOME10".

mod text;

use commerce_sdk::{
    Adjustment, BASIS_POINTS_PER_WHOLE, CartView, CouponErrorCode, CouponVerdict, PricingRule, RuleOutput, allocate,
    percent_of,
};
use serde::Deserialize;

/// The rule.
pub struct Coupons;

/// The operator's codes.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// The codes, each unique ignoring case.
    pub codes: Vec<Coupon>,
}

/// One code and its conditions.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Coupon {
    /// What the shopper types, compared ignoring ASCII case.
    pub code: String,
    /// Percentage off, in basis points (1 to 10 000); exclusive with `amount`.
    #[serde(default)]
    pub basis_points: Option<u32>,
    /// Fixed amount off, in minor units (above 0); exclusive with `basis_points`.
    #[serde(default)]
    pub amount: Option<i64>,
    /// Minimum running net of the cart, in minor units.
    #[serde(default)]
    pub min_subtotal: i64,
    /// First valid moment, Unix milliseconds.
    #[serde(default)]
    pub starts_at: Option<i64>,
    /// First moment the code is no longer valid, Unix milliseconds.
    #[serde(default)]
    pub ends_at: Option<i64>,
    /// Category slugs whose lines (and descendants' lines) the code applies to; empty: all lines.
    #[serde(default)]
    pub categories: Vec<String>,
    /// Redemptions allowed in total.
    #[serde(default)]
    pub max_redemptions: Option<u32>,
    /// Redemptions allowed per customer.
    #[serde(default)]
    pub max_per_customer: Option<u32>,
    /// Only for customers without an earlier order.
    #[serde(default)]
    pub first_order_only: bool,
}

/// What a code is worth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Benefit {
    Percent(u32),
    Fixed(i64),
}

/// A known code's decision for this cart.
enum Decision {
    /// The adjustments to emit, and the discount each line takes from them.
    Accept { adjustments: Vec<Adjustment>, shares: Vec<i64> },
    /// Ineligible, for this reason.
    Reject(String),
}

impl Settings {
    fn find(&self, entered: &str) -> Option<&Coupon> {
        self.codes.iter().find(|c| c.code.eq_ignore_ascii_case(entered))
    }
}

impl PricingRule for Coupons {
    type Settings = Settings;

    fn validate_settings(settings: &Settings) -> Result<(), String> {
        let mut problems = Vec::new();
        if settings.codes.is_empty() {
            problems.push("codes: the list is empty; list at least one code".to_owned());
        }
        for (index, coupon) in settings.codes.iter().enumerate() {
            coupon.validate(&format!("codes[{index}]"), &mut problems);
            if let Some(earlier) =
                settings.codes[..index].iter().position(|c| c.code.eq_ignore_ascii_case(&coupon.code))
            {
                problems.push(format!(
                    "codes[{index}].code {:?} repeats codes[{earlier}].code (codes are compared ignoring case)",
                    coupon.code
                ));
            }
        }
        if problems.is_empty() { Ok(()) } else { Err(problems.join("; ")) }
    }

    fn price(settings: &Settings, cart: &CartView) -> Result<RuleOutput, String> {
        let mut nets: Vec<i64> = cart.lines.iter().map(|l| l.net).collect();
        let mut output = RuleOutput::default();
        let mut judged: Vec<&str> = Vec::new();
        for entered in &cart.coupon_codes {
            if cart.is_accepted(entered) || judged.iter().any(|c| c.eq_ignore_ascii_case(entered)) {
                continue;
            }
            judged.push(entered);
            let Some(coupon) = settings.find(entered) else {
                // The shopper's input is not echoed: it is unbounded and unescaped.
                let reason = "We don't recognise this code. Check it for typos.";
                output.coupons.push(CouponVerdict::rejected(entered, CouponErrorCode::Unknown, reason));
                continue;
            };
            match coupon.decide(cart, &nets)? {
                Decision::Accept { adjustments, shares } => {
                    for (net, share) in nets.iter_mut().zip(shares) {
                        *net -= share;
                    }
                    output.adjustments.extend(adjustments);
                    output.coupons.push(CouponVerdict::accepted(entered));
                }
                Decision::Reject(reason) => {
                    output.coupons.push(CouponVerdict::rejected(entered, CouponErrorCode::Ineligible, reason));
                }
            }
        }
        Ok(output)
    }
}

commerce_sdk::export_pricing_rule!(Coupons);

impl Coupon {
    fn validate(&self, key: &str, problems: &mut Vec<String>) {
        if self.code.trim().is_empty() {
            problems.push(format!("{key}.code is empty"));
        } else if self.code.trim() != self.code {
            problems.push(format!("{key}.code {:?} has leading or trailing spaces", self.code));
        }
        match (self.basis_points, self.amount) {
            (Some(_), Some(_)) | (None, None) => {
                problems
                    .push(format!("{key}: give exactly one of basis_points (percentage off) and amount (fixed off)"));
            }
            (Some(bp), None) if bp == 0 || bp > BASIS_POINTS_PER_WHOLE => {
                problems.push(format!("{key}.basis_points is {bp}, must be 1 to {BASIS_POINTS_PER_WHOLE} (100%)"));
            }
            (None, Some(amount)) if amount <= 0 => {
                problems.push(format!("{key}.amount is {amount}, must be above 0"));
            }
            _ => {}
        }
        if self.min_subtotal < 0 {
            problems.push(format!("{key}.min_subtotal is {}, must not be negative", self.min_subtotal));
        }
        if let (Some(starts), Some(ends)) = (self.starts_at, self.ends_at)
            && ends <= starts
        {
            problems.push(format!("{key}.ends_at ({ends}) must be after {key}.starts_at ({starts})"));
        }
        for (index, slug) in self.categories.iter().enumerate() {
            if slug.trim().is_empty() || slug.trim() != slug {
                problems.push(format!("{key}.categories[{index}] {slug:?} is not a category slug"));
            }
        }
        for (name, limit) in [("max_redemptions", self.max_redemptions), ("max_per_customer", self.max_per_customer)] {
            if limit == Some(0) {
                problems.push(format!("{key}.{name} is 0, must be at least 1 (remove the code to retire it)"));
            }
        }
    }

    fn benefit(&self) -> Result<Benefit, String> {
        match (self.basis_points, self.amount) {
            (Some(bp), None) => Ok(Benefit::Percent(bp)),
            (None, Some(amount)) => Ok(Benefit::Fixed(amount)),
            _ => {
                Err(format!("code {}: settings were not validated (exactly one of basis_points and amount)", self.code))
            }
        }
    }

    fn label(&self, currency: commerce_sdk::Currency) -> Result<String, String> {
        let worth = match self.benefit()? {
            Benefit::Percent(bp) => commerce_sdk::format_basis_points(bp),
            Benefit::Fixed(amount) => text::money(amount, currency),
        };
        Ok(format!("{worth} off with {}", self.code))
    }

    /// Whether the code applies to `cart`, whose lines have the running `nets` (after the codes
    /// before this one), and if so its adjustments. `Err` only for a rule failure.
    fn decide(&self, cart: &CartView, nets: &[i64]) -> Result<Decision, String> {
        let code = &self.code;
        let currency = cart.store.currency;
        if let Some(starts) = self.starts_at
            && cart.now < starts
        {
            return Ok(Decision::Reject(format!("{code} can be used from {}.", text::moment(starts))));
        }
        if let Some(ends) = self.ends_at
            && cart.now >= ends
        {
            return Ok(Decision::Reject(format!("{code} expired on {}.", text::moment(ends))));
        }
        let used = cart.redemptions_of(code);
        if self.max_redemptions.is_some_and(|max| used.total >= max) {
            return Ok(Decision::Reject(format!("{code} has been fully redeemed.")));
        }
        if self.first_order_only && cart.earlier_orders > 0 {
            return Ok(Decision::Reject(format!("{code} is for a first order only.")));
        }
        if let Some(max) = self.max_per_customer
            && used.by_customer >= max
        {
            let times = if max == 1 { String::new() } else { format!(" {max} times, the most allowed") };
            return Ok(Decision::Reject(format!("You have already used {code}{times}.")));
        }
        let eligible: Vec<bool> = cart
            .lines
            .iter()
            .map(|line| self.categories.is_empty() || self.categories.iter().any(|slug| line.in_category(slug)))
            .collect();
        if !self.categories.is_empty() && !eligible.contains(&true) {
            let categories = self.categories.join(" or ");
            return Ok(Decision::Reject(format!("{code} applies only to {categories}, and none is in your cart.")));
        }
        let running_net: i64 = nets.iter().sum();
        if running_net < self.min_subtotal {
            return Ok(Decision::Reject(format!(
                "Add {} more to use {code} (minimum {} after discounts).",
                text::money(self.min_subtotal - running_net, currency),
                text::money(self.min_subtotal, currency)
            )));
        }
        let weights: Vec<i64> = nets.iter().zip(&eligible).map(|(net, ok)| if *ok { *net } else { 0 }).collect();
        let eligible_net: i64 = weights.iter().sum();
        if eligible_net == 0 {
            return Ok(Decision::Reject(format!("{code} has nothing left to discount in your cart.")));
        }
        let amount = match self.benefit()? {
            Benefit::Percent(bp) => percent_of(eligible_net, bp).map_err(|e| format!("code {code}: {e}"))?,
            Benefit::Fixed(amount) => amount.min(eligible_net),
        };
        // The same split the host makes of a cart discount, so the running nets stay exact.
        let shares = allocate(amount, &weights).map_err(|e| format!("code {code}: {e}"))?;
        let label = self.label(currency)?;
        let adjustments = if amount == 0 {
            Vec::new()
        } else if self.categories.is_empty() {
            vec![Adjustment::cart_discount(amount, label).with_code(code)]
        } else {
            cart.lines
                .iter()
                .zip(&shares)
                .filter(|(_, share)| **share > 0)
                .map(|(line, share)| Adjustment::line_discount(&line.line_id, *share, &label).with_code(code))
                .collect()
        };
        Ok(Decision::Accept { adjustments, shares })
    }
}

#[cfg(test)]
mod tests;
