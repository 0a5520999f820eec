//! What a pricing rule returns: adjustments and coupon verdicts.
//!
//! Plain records, one WIT record or enum each, so the host can convert the guest's output field by
//! field. The constructors are conveniences for rule authors and tests; the host validates every
//! adjustment whichever way it was built (see [`PricedCart::apply`](crate::PricedCart::apply)).

use std::fmt;

use serde::{Deserialize, Serialize};

/// The result of one rule over one cart.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleOutput {
    /// Adjustments, applied in this order (a cart discount sees the line discounts before it).
    #[serde(default)]
    pub adjustments: Vec<Adjustment>,
    /// A verdict for each coupon code the rule recognises or rejects.
    #[serde(default)]
    pub coupons: Vec<CouponVerdict>,
}

/// What an adjustment does to the price.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AdjustmentKind {
    /// Money off merchandise: a line or the cart (allocated to lines).
    Discount,
    /// A shipping charge; targets [`Target::Shipping`].
    Shipping,
    /// A cart-level surcharge (cash on delivery, packaging); targets [`Target::Cart`].
    Fee,
    /// Tax on a line, on shipping, or on the whole cart.
    Tax,
}

impl fmt::Display for AdjustmentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Discount => "discount",
            Self::Shipping => "shipping",
            Self::Fee => "fee",
            Self::Tax => "tax",
        })
    }
}

/// What an adjustment applies to. JSON: `{"line": "<line_id>"}`, `"cart"` or `"shipping"`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Target {
    /// The line with this `line_id`.
    Line(String),
    /// The cart as a whole.
    Cart,
    /// The cart's shipping charge.
    Shipping,
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Line(id) => write!(f, "line `{id}`"),
            Self::Cart => f.write_str("the cart"),
            Self::Shipping => f.write_str("shipping"),
        }
    }
}

/// One named part of a tax amount, e.g. CGST and SGST.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaxComponent {
    /// The component's name: `CGST`, `SGST`, `IGST`, `VAT`…
    pub name: String,
    /// Its amount in minor units; the components of a tax sum to the tax.
    pub amount: i64,
}

impl TaxComponent {
    /// A component named `name` of `amount` minor units.
    pub fn new(name: impl Into<String>, amount: i64) -> Self {
        Self { name: name.into(), amount }
    }
}

/// One change a rule makes to the price. Amounts are never negative: the kind says which way.
///
/// Valid combinations of kind and target: discount → line or cart; shipping → shipping;
/// fee → cart; tax → line, shipping or cart. A line fee or a shipping discount would need rules
/// of their own (is it taxed? allocated?) that no bundled rule needs yet; refusing them now keeps
/// the door open without a contract change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Adjustment {
    /// What it does.
    pub kind: AdjustmentKind,
    /// What it applies to.
    pub target: Target,
    /// How much, in minor units, never negative.
    pub amount: i64,
    /// The coupon code that caused it; that code must be accepted (by this rule or an earlier one).
    #[serde(default)]
    pub code: Option<String>,
    /// A label the shopper can read, e.g. "10% off with WELCOME10". Never empty.
    pub label: String,
    /// For a tax: its parts (CGST + SGST, or IGST), summing to `amount`; empty for no breakdown.
    #[serde(default)]
    pub tax_breakdown: Vec<TaxComponent>,
    /// For a tax: the amount is already inside the price, so it is reported but not added.
    #[serde(default)]
    pub inclusive: bool,
}

impl Adjustment {
    fn new(kind: AdjustmentKind, target: Target, amount: i64, label: impl Into<String>) -> Self {
        Self { kind, target, amount, code: None, label: label.into(), tax_breakdown: Vec::new(), inclusive: false }
    }

    /// A discount on one line.
    pub fn line_discount(line_id: impl Into<String>, amount: i64, label: impl Into<String>) -> Self {
        Self::new(AdjustmentKind::Discount, Target::Line(line_id.into()), amount, label)
    }

    /// A discount on the whole cart, which the host allocates to the lines.
    pub fn cart_discount(amount: i64, label: impl Into<String>) -> Self {
        Self::new(AdjustmentKind::Discount, Target::Cart, amount, label)
    }

    /// A shipping charge.
    pub fn shipping(amount: i64, label: impl Into<String>) -> Self {
        Self::new(AdjustmentKind::Shipping, Target::Shipping, amount, label)
    }

    /// A cart-level fee.
    pub fn fee(amount: i64, label: impl Into<String>) -> Self {
        Self::new(AdjustmentKind::Fee, Target::Cart, amount, label)
    }

    /// An exclusive tax on `target`; see [`Adjustment::inclusive`] for tax inside the price.
    pub fn tax(target: Target, amount: i64, label: impl Into<String>) -> Self {
        Self::new(AdjustmentKind::Tax, target, amount, label)
    }

    /// The same adjustment, caused by coupon `code`.
    #[must_use]
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into());
        self
    }

    /// The same tax, with its breakdown.
    #[must_use]
    pub fn with_breakdown(mut self, components: Vec<TaxComponent>) -> Self {
        self.tax_breakdown = components;
        self
    }

    /// The same tax, marked as already inside the price.
    #[must_use]
    pub fn inclusive(mut self) -> Self {
        self.inclusive = true;
        self
    }
}

impl fmt::Display for Adjustment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inclusive = if self.inclusive { "inclusive " } else { "" };
        write!(f, "{inclusive}{} of {} on {}", self.kind, self.amount, self.target)?;
        match &self.code {
            Some(code) => write!(f, " (code `{code}`)"),
            None => Ok(()),
        }
    }
}

/// Why a coupon code was rejected; the stable code API clients switch on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CouponErrorCode {
    /// No rule knows the code.
    #[serde(rename = "coupon_unknown")]
    Unknown,
    /// The code exists but this cart does not qualify (minimum, window, category, usage limit).
    #[serde(rename = "coupon_ineligible")]
    Ineligible,
}

impl CouponErrorCode {
    /// The code as it appears in JSON and problem documents.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Unknown => "coupon_unknown",
            Self::Ineligible => "coupon_ineligible",
        }
    }
}

/// A rule's decision on one of the cart's coupon codes.
///
/// Flat rather than an enum with payloads so it maps onto one WIT record. The host checks the
/// combinations: rejected verdicts carry an error code and a reason, accepted ones no error code.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CouponVerdict {
    /// The code, as in the cart (compared ignoring ASCII case).
    pub code: String,
    /// Whether the code applies to this cart.
    pub accepted: bool,
    /// A sentence the shopper can read: required when rejected, optional when accepted.
    #[serde(default)]
    pub reason: Option<String>,
    /// Why it was rejected; `None` when accepted.
    #[serde(default)]
    pub error_code: Option<CouponErrorCode>,
}

impl CouponVerdict {
    /// `code` applies.
    pub fn accepted(code: impl Into<String>) -> Self {
        Self { code: code.into(), accepted: true, reason: None, error_code: None }
    }

    /// `code` does not apply, for `reason` (shown to the shopper).
    pub fn rejected(code: impl Into<String>, error_code: CouponErrorCode, reason: impl Into<String>) -> Self {
        Self { code: code.into(), accepted: false, reason: Some(reason.into()), error_code: Some(error_code) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn adjustments_read_naturally_in_json() {
        let json = r#"{"adjustments": [
            {"kind": "discount", "target": {"line": "l1"}, "amount": 7500, "label": "Volume 5%"},
            {"kind": "discount", "target": "cart", "amount": 100, "label": "10% off", "code": "WELCOME10"},
            {"kind": "tax", "target": {"line": "l1"}, "amount": 2, "label": "GST",
             "tax_breakdown": [{"name": "CGST", "amount": 1}, {"name": "SGST", "amount": 1}]}
        ], "coupons": [{"code": "FLAT200", "accepted": false, "reason": "Spend ₹1,500", "error_code": "coupon_ineligible"}]}"#;
        let output: RuleOutput = serde_json::from_str(json).unwrap();
        assert_eq!(output.adjustments[0], Adjustment::line_discount("l1", 7500, "Volume 5%"));
        assert_eq!(output.adjustments[1], Adjustment::cart_discount(100, "10% off").with_code("WELCOME10"));
        assert_eq!(
            output.adjustments[2],
            Adjustment::tax(Target::Line("l1".into()), 2, "GST")
                .with_breakdown(vec![TaxComponent::new("CGST", 1), TaxComponent::new("SGST", 1)])
        );
        assert_eq!(output.coupons[0], CouponVerdict::rejected("FLAT200", CouponErrorCode::Ineligible, "Spend ₹1,500"));
        let back: RuleOutput = serde_json::from_str(&serde_json::to_string(&output).unwrap()).unwrap();
        assert_eq!(back, output);
    }

    #[test]
    fn an_adjustment_describes_itself_for_error_messages() {
        let adjustment = Adjustment::cart_discount(500, "x").with_code("WELCOME10");
        assert_eq!(adjustment.to_string(), "discount of 500 on the cart (code `WELCOME10`)");
        let tax = Adjustment::tax(Target::Line("l1".into()), 9, "GST").inclusive();
        assert_eq!(tax.to_string(), "inclusive tax of 9 on line `l1`");
    }
}
